/*
 * resolve_cross.c -- load side of cross-compiled programs: every
 * `tensorrt.no_op_placeholder_for_execute_engine(inputs, *record)` node becomes
 * `tensorrt.execute_engine(inputs, engine)` on a lifted engine object. The node's existing outputs
 * (its getitem values) are kept as they are, so no second getitem appears after single-output
 * engines (upstream #3400, defect 4), and a program without placeholders is simply left alone.
 * The engine text is not decoded: the record keeps a view of the base64 (engine_b64).
 */
#include "export/export.h"

#include <stdio.h>

static void unref_storage(void *payload)
{
	pt2c__storage_unref((pt2c_storage *)payload);
}

/*
 * A tensor-typed serialized_engine (the Torch-TensorRT 2.13+ schema, upstream #4277): the
 * argument names a lifted uint8 buffer/constant whose bytes are the raw engine. *out is a view
 * of the attribute's storage (no copy).
 */
int pt2c__cross_engine_from_tensor(const pt2c_program *p, const pt2c_node *nd, const pt2c_arg *a, pt2c_storage **out,
                                   pt2c_error *err)
{
	*out = NULL;
	uint32_t v = pt2c__arg_ref(a);
	const pt2c_input_spec *spec = NULL;
	for (uint32_t i = 0; v != PT2C_NONE && i < p->n_inputs && !spec; i++)
		if (pt2c__arg_ref(&p->inputs[i].arg) == v) spec = &p->inputs[i];
	if (!spec || !spec->target || (spec->kind != PT2C_IN_BUFFER && spec->kind != PT2C_IN_TENSOR_CONSTANT &&
	                               spec->kind != PT2C_IN_PARAMETER))
		return pt2c__err(err, PT2C_ECORRUPT,
		                 "serialized_engine of cross-compile placeholder '%s' is a tensor that is not a lifted buffer or constant",
		                 nd->name);
	const pt2c_attr *at = pt2c__module_find_attr(p->mod, spec->target);
	if (!at || at->kind == PT2C_ATTR_CUSTOM_OBJ)
		return pt2c__err(err, PT2C_ECORRUPT, "serialized_engine of '%s' names '%s', which has no tensor", nd->name, spec->target);
	const pt2c_tensor_meta *m = &at->tensor.meta;
	if (m->dtype != PT2C_DTYPE_UINT8 || m->ndim != 1 || m->sizes[0].kind != PT2C_SYM_INT ||
	    m->strides[0].kind != PT2C_SYM_INT || (m->strides[0].i != 1 && m->sizes[0].i > 1) ||
	    m->storage_offset.kind != PT2C_SYM_INT)
		return pt2c__err(err, PT2C_ECORRUPT, "serialized_engine tensor '%s' of '%s' is not a contiguous 1-D uint8 tensor",
		                 spec->target, nd->name);
	int64_t off = m->storage_offset.i, n = m->sizes[0].i;
	const pt2c_storage *st = at->tensor.storage;
	uint64_t have = st ? st->nbytes : 0;
	if (off < 0 || n < 0 || (uint64_t)off > have || (uint64_t)n > have - (uint64_t)off)
		return pt2c__err(err, PT2C_ECORRUPT, "serialized_engine tensor '%s' of '%s' needs %lld bytes at %lld, its storage has %llu",
		                 spec->target, nd->name, (long long)n, (long long)off, (unsigned long long)have);
	if (!st || n == 0)
		return pt2c__err(err, PT2C_ECORRUPT, "serialized_engine tensor '%s' of '%s' is empty", spec->target, nd->name);
	pt2c_storage *ref = pt2c__storage_ref(at->tensor.storage);
	if (pt2c__storage_new(p->ctx->alloc, st->data + off, (uint64_t)n, unref_storage, ref, out)) {
		pt2c__storage_unref(ref);
		return pt2c__err_oom(err);
	}
	return 0;
}

/* Build the engine record from the placeholder's string arguments. */
static int decode_record(pt2c_program *p, const pt2c_node *nd, pt2c_engine_record **out, pt2c_error *err)
{
	pt2c_ctx *ctx = p->ctx;
	*out = NULL;
	if (nd->n_inputs < 2 || nd->inputs[1].arg.kind != PT2C_ARG_STRING)
		return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has no ABI argument", nd->name);
	const pt2c_arg *abi_arg = &nd->inputs[1].arg;
	uint32_t abi = 0;
	for (uint32_t i = 0; i < abi_arg->n; i++) {
		char c = abi_arg->u.s[i];
		if (c < '0' || c > '9' || abi > 1000) { abi = 0; break; }
		abi = abi * 10 + (uint32_t)(c - '0');
	}
	uint32_t nf = abi_arg->n ? pt2c__engine_fields_for_abi(abi) : 0;
	if (!nf) return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has unknown engine ABI \"%.*s\"; supported are %s",
	                          nd->name, (int)(abi_arg->n > 16 ? 16 : abi_arg->n), abi_arg->u.s, pt2c__generation_abi_list());
	if (nd->n_inputs - 1 != nf)
		return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has %u record fields, ABI %u needs %u", nd->name,
		                 nd->n_inputs - 1, abi, nf);
	pt2c_engine_record *r = pt2c__arena_zalloc(&ctx->arena, sizeof *r);
	if (!r) return pt2c__err_oom(err);
	r->abi = abi;
	r->n_fields = nf;
	for (uint32_t f = 0; f < nf; f++) {
		const pt2c_arg *a = &nd->inputs[1 + f].arg;
		if (f == PT2C_EF_ENGINE && a->kind == PT2C_ARG_ENGINE_B64 && a->u.engine) {
			r->engine = a->u.engine->engine ? pt2c__storage_ref(a->u.engine->engine) : NULL;
			r->engine_b64 = a->u.engine->engine_b64;
			continue;
		}
		if (f == PT2C_EF_ENGINE && a->kind == PT2C_ARG_TENSOR) {
			int trc = pt2c__cross_engine_from_tensor(p, nd, a, &r->engine, err);
			if (trc) return trc;
			r->engine_b64 = false;
			continue;
		}
		if (a->kind != PT2C_ARG_STRING) {
			pt2c__storage_unref(r->engine);
			return pt2c__err(err, PT2C_ECORRUPT, "field %u (%s) of cross-compile placeholder '%s' is not a string", f,
			                 pt2c__engine_field_name((int)f), nd->name);
		}
		if (f == PT2C_EF_ENGINE) {
			/* a view of the base64 text, which lives as long as the program's input */
			if (pt2c__storage_new(ctx->alloc, (const uint8_t *)a->u.s, a->n, NULL, NULL, &r->engine)) return pt2c__err_oom(err);
			r->engine_b64 = true;
		} else {
			r->fields[f].p = a->u.s;
			r->fields[f].n = a->n;
		}
	}
	int rc = pt2c__engine_record_validate(r, err);
	if (rc) {
		pt2c__storage_unref(r->engine);
		return rc;
	}
	*out = r;
	return 0;
}

/* Replace one placeholder node; spec_at is where the custom_obj input spec goes. */
static int resolve_one(pt2c_program *p, uint32_t id, pt2c_error *err)
{
	pt2c_module *m = p->mod;
	pt2c_graph *g = m->graph;
	pt2c_ctx *ctx = p->ctx;
	pt2c_engine_record *r;
	int rc = decode_record(p, &g->nodes[id], &r, err);
	if (rc) return rc;
	/* attribute named by the record's name field (made unique) */
	char fqn[512];
	int fl = snprintf(fqn, sizeof fqn, "%.*s", (int)(r->fields[PT2C_EF_NAME].n > 400 ? 400 : r->fields[PT2C_EF_NAME].n),
	                  r->fields[PT2C_EF_NAME].p ? r->fields[PT2C_EF_NAME].p : "");
	if (fl <= 0) fl = snprintf(fqn, sizeof fqn, "tensorrt_engine");
	for (uint32_t k = 1; pt2c__module_find_attr(m, fqn); k++) snprintf(fqn + fl, sizeof fqn - (size_t)fl, "_%u", k);
	pt2c_attr *at;
	if (pt2c__module_add_attr(m, fqn, PT2C_ATTR_CUSTOM_OBJ, &at)) {
		pt2c__storage_unref(r->engine);
		return pt2c__err_oom(err);
	}
	at->engine = r;
	at->persistent = false;
	const pt2c_generation *gen = pt2c__generation_for_abi(r->abi);
	at->engine_opaque = gen && gen->opaque; /* ABI 10: the head's encoding; ABI 9 stays 2.12's TorchBind */
	at->class_fqn = pt2c__ctx_interns(ctx, PT2C_ENGINE_CLASS_FQN);
	if (!at->class_fqn) return pt2c__err_oom(err);
	const char *attr_fqn = at->fqn, *cls = at->class_fqn;

	/* the placeholder goes right before the user inputs, its spec before theirs */
	uint32_t spec_at = p->n_inputs;
	for (uint32_t i = 0; i < p->n_inputs; i++)
		if (p->inputs[i].kind == PT2C_IN_USER_INPUT) { spec_at = i; break; }
	uint32_t anchor = PT2C_NONE;
	if (spec_at < p->n_inputs) {
		uint32_t v = pt2c__arg_ref(&p->inputs[spec_at].arg);
		if (v != PT2C_NONE && v < g->n_values) anchor = g->values[pt2c__value_resolve(g, v)].producer;
	}
	if (anchor == PT2C_NONE) {
		anchor = g->first;
		while (anchor != PT2C_NONE && g->nodes[anchor].op == PT2C_OP_PLACEHOLDER) anchor = g->nodes[anchor].next;
	}
	char cand[512];
	for (size_t j = 0; j <= strlen(attr_fqn) && j < sizeof cand; j++) cand[j] = attr_fqn[j] == '.' ? '_' : attr_fqn[j];
	cand[sizeof cand - 1] = 0;
	uint32_t ph, pv;
	const char *tgt = pt2c__ctx_interns(ctx, cand);
	if (!tgt || (rc = pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, cand, false, tgt, anchor, &ph)) ||
	    (rc = pt2c__graph_add_value(g, g->nodes[ph].name, true, PT2C_VAL_CUSTOM_OBJ, &pv)))
		return pt2c__err(err, rc ? rc : PT2C_ENOMEM, "cannot add the engine input for '%s'", attr_fqn);
	g->values[pv].has_meta = true;
	g->values[pv].u.obj.name = g->nodes[ph].name;
	g->values[pv].u.obj.class_fqn = cls;
	pt2c_arg obj;
	memset(&obj, 0, sizeof obj);
	obj.kind = PT2C_ARG_CUSTOM_OBJ;
	obj.u.obj.ref = pv;
	obj.u.obj.class_fqn = cls;
	if (pt2c__node_set_outputs(g, ph, &obj, 1)) return pt2c__err_oom(err);

	pt2c_input_spec *ins = pt2c__arena_calloc(&ctx->arena, (size_t)p->n_inputs + 1, sizeof *ins);
	if (!ins) return pt2c__err_oom(err);
	if (spec_at) memcpy(ins, p->inputs, spec_at * sizeof *ins);
	ins[spec_at].kind = PT2C_IN_CUSTOM_OBJ;
	ins[spec_at].arg = obj;
	ins[spec_at].target = attr_fqn;
	if (p->n_inputs > spec_at) memcpy(ins + spec_at + 1, p->inputs + spec_at, (p->n_inputs - spec_at) * sizeof *ins);
	p->inputs = ins;
	p->n_inputs++;

	uint32_t en;
	if ((rc = pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "execute_engine_default", false,
	                               pt2c__ctx_interns(ctx, PT2C_TARGET_EXECUTE_ENGINE), id, &en)))
		return pt2c__err(err, rc, "cannot add execute_engine for '%s'", g->nodes[id].name);
	pt2c_named_arg in[2];
	memset(in, 0, sizeof in);
	in[0].name = pt2c__ctx_interns(ctx, "input_tensors");
	in[0].kind = PT2C_ARGKIND_POSITIONAL;
	in[0].arg = g->nodes[id].inputs[0].arg;
	in[1].name = pt2c__ctx_interns(ctx, "engine");
	in[1].kind = PT2C_ARGKIND_POSITIONAL;
	in[1].arg = obj;
	if (!in[0].name || !in[1].name || pt2c__node_set_inputs(g, en, in, 2)) return pt2c__err_oom(err);
	g->nodes[en].meta = g->nodes[id].meta;
	g->nodes[en].n_meta = g->nodes[id].n_meta;
	/* keep the existing output values: no extra getitem (defect 4) */
	if (pt2c__node_set_outputs(g, en, g->nodes[id].outputs, g->nodes[id].n_outputs)) return pt2c__err_oom(err);
	pt2c__graph_erase_node(g, id);
	return 0;
}

int pt2c__program_resolve_cross(pt2c_program *p, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph);
	pt2c_graph *g = p->mod->graph;
	uint32_t n = 0;
	PT2C_GRAPH_FOREACH(g, id)
		if (g->nodes[id].op == PT2C_OP_CALL_FUNCTION && g->nodes[id].target &&
		    strcmp(g->nodes[id].target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0) n++;
	if (!n) return 0; /* nothing to do, also for a program with no inputs at all (defect 4) */
	const pt2c_allocator *a = p->ctx->alloc;
	uint32_t *ids = pt2c__malloc(a, (size_t)n * sizeof *ids);
	if (!ids) return pt2c__err_oom(err);
	n = 0;
	PT2C_GRAPH_FOREACH(g, id)
		if (g->nodes[id].op == PT2C_OP_CALL_FUNCTION && g->nodes[id].target &&
		    strcmp(g->nodes[id].target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0) ids[n++] = id;
	/*
	 * All or nothing (issue 11): a failure on the second placeholder, or in the compaction,
	 * used to leave the first one resolved. The module's undo record puts the graph and the
	 * attributes back; the input specs are replaced (never edited in place), so the old array
	 * is kept. Compaction rewrites argument trees only once it cannot fail any more.
	 */
	pt2c_module_undo u;
	if (pt2c__module_save(p->mod, &u)) {
		pt2c__free(a, ids);
		return pt2c__err_oom(err);
	}
	pt2c_input_spec *inputs = p->inputs;
	uint32_t n_inputs = p->n_inputs;
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) rc = resolve_one(p, ids[i], err);
	pt2c__free(a, ids);
	if (!rc) rc = pt2c__program_compact(p, err);
	if (!rc) rc = pt2c__pass_remove_unused_submodules(p->mod, err); /* a program has no submodules: cannot fail */
	if (rc) {
		pt2c__module_restore(p->mod, &u);
		p->inputs = inputs;
		p->n_inputs = n_inputs;
	} else {
		pt2c__module_undo_free(p->mod, &u);
	}
	return rc;
}
