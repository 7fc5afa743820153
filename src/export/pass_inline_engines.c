/*
 * pass_inline_engines.c -- engine segments (`call_module _run_on_acc_N`) become
 * `tensorrt.execute_engine(inputs, engine)` calls on a `<segment>_engine` attribute, or in
 * cross-compile mode `tensorrt.no_op_placeholder_for_execute_engine(inputs, *record)` calls.
 *
 * Unlike the seed exporter, every output index gets exactly one getitem value whose metadata is
 * element i of the segment's output list (defect 9), also for one output; the partitioner's own
 * getitem nodes are reused so their names survive. The new node is PT2-shaped at once: its
 * outputs are [as_tensors(getitem, getitem_1, ...)], so no getitem node is left to fold later.
 */
#include "export/export.h"

#include <stdio.h>

/* True for `_operator.getitem(value, int)` nodes (fx-style). */
static bool is_getitem(const pt2c_node *nd)
{
	return nd->op == PT2C_OP_CALL_FUNCTION && nd->target &&
	       (strcmp(nd->target, PT2C_TARGET_GETITEM) == 0 || strcmp(nd->target, "operator.getitem") == 0) &&
	       nd->n_inputs == 2 && nd->inputs[0].arg.kind == PT2C_ARG_FX_NODE && nd->inputs[1].arg.kind == PT2C_ARG_INT;
}

int pt2c__export_getitem_index(pt2c_graph *g, uint32_t **head_out, uint32_t **next_out, pt2c_error *err)
{
	const pt2c_allocator *a = g->ctx->alloc;
	uint32_t *head = pt2c__malloc(a, ((size_t)g->n_values + 1) * sizeof *head);
	uint32_t *next = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *next);
	if (!head || !next) {
		pt2c__free(a, head);
		pt2c__free(a, next);
		return pt2c__err_oom(err);
	}
	for (uint32_t v = 0; v < g->n_values; v++) head[v] = PT2C_NONE;
	/* walk backwards so each chain lists its getitems in graph order */
	for (uint32_t id = g->last; id != PT2C_NONE; id = g->nodes[id].prev) {
		next[id] = PT2C_NONE;
		const pt2c_node *nd = &g->nodes[id];
		if (!is_getitem(nd)) continue;
		uint32_t src = pt2c__value_resolve(g, nd->inputs[0].arg.u.ref);
		if (src >= g->n_values) continue;
		next[id] = head[src];
		head[src] = id;
	}
	*head_out = head;
	*next_out = next;
	return 0;
}

/*
 * Give node `en` one getitem value per element of the list value `v` (metadata by index), reuse
 * the getitem nodes on v (erasing them), redirect direct uses of a one-element list, and set
 * en's outputs to [as_tensors(...)]. head/next come from pt2c__export_getitem_index.
 */
static int wire_outputs(pt2c_graph *g, uint32_t en, uint32_t v, const uint32_t *head, const uint32_t *next,
                        const char *what, pt2c_error *err)
{
	pt2c_ctx *ctx = g->ctx;
	uint32_t nout = g->values[v].u.list.n;
	const pt2c_tensor_meta *metas = g->values[v].u.list.items;
	uint32_t *outs = pt2c__arena_calloc(&ctx->arena, nout, sizeof *outs);
	pt2c_arg *items = pt2c__arena_calloc(&ctx->arena, nout, sizeof *items);
	if (!outs || !items) return pt2c__err_oom(err);
	for (uint32_t i = 0; i < nout; i++) outs[i] = PT2C_NONE;
	uint32_t n_gi = 0;
	for (uint32_t gi = head[v]; gi != PT2C_NONE; gi = next[gi]) {
		pt2c_node *nd = &g->nodes[gi];
		if (nd->flags & PT2C_NODE_ERASED) continue;
		int64_t idx = nd->inputs[1].arg.u.i;
		if (idx < 0 || idx >= (int64_t)nout)
			return pt2c__err(err, PT2C_EGRAPH, "getitem '%s' reads output %lld of '%s', which has %u outputs",
			                 nd->name, (long long)idx, what, nout);
		uint32_t gv = pt2c__node_value(g, gi);
		if (gv == PT2C_NONE) return pt2c__err(err, PT2C_EGRAPH, "getitem '%s' defines no value", nd->name);
		n_gi++;
		if (outs[idx] == PT2C_NONE) outs[idx] = gv;
		else pt2c__graph_replace_uses(g, gv, outs[idx]);
		pt2c__graph_erase_node(g, gi);
	}
	uint32_t direct = g->values[v].n_uses;
	if (direct > 0 && nout != 1)
		return pt2c__err(err, PT2C_EUNSUPPORTED, "the output list of '%s' (%u outputs) is used other than through getitem",
		                 what, nout);
	for (uint32_t i = 0; i < nout; i++) {
		if (outs[i] == PT2C_NONE) {
			int rc = pt2c__graph_add_value(g, "getitem", false, PT2C_VAL_TENSOR, &outs[i]);
			if (rc) return pt2c__err(err, rc, "cannot add a getitem value for '%s'", what);
		}
		pt2c_value *ov = &g->values[outs[i]];
		ov->kind = PT2C_VAL_TENSOR;
		ov->has_meta = true;
		ov->forward = PT2C_NONE;
		ov->u.tensor = &metas[i]; /* the list value's items: arena, stable */
		items[i].kind = PT2C_ARG_TENSOR;
		items[i].u.ref = outs[i];
	}
	if (direct > 0) pt2c__graph_replace_uses(g, v, outs[0]);
	pt2c_arg out;
	memset(&out, 0, sizeof out);
	out.kind = PT2C_ARG_TENSORS;
	out.n = nout;
	out.u.items = items;
	(void)n_gi;
	if (pt2c__node_set_outputs(g, en, &out, 1)) return pt2c__err_oom(err);
	return 0;
}

/* The call's positional arguments as one FX_LIST (the Tensor[] first argument of both ops). */
static int args_list(pt2c_graph *g, uint32_t call, pt2c_arg *out, pt2c_error *err)
{
	const pt2c_node *nd = &g->nodes[call];
	uint32_t npos = 0;
	for (uint32_t i = 0; i < nd->n_inputs; i++) {
		if (nd->inputs[i].name) return pt2c__err(err, PT2C_EUNSUPPORTED, "engine call '%s' has a keyword argument '%s'",
		                                         nd->name, nd->inputs[i].name);
		npos++;
	}
	pt2c_arg *items = npos ? pt2c__arena_calloc(&g->ctx->arena, npos, sizeof *items) : NULL;
	if (npos && !items) return pt2c__err_oom(err);
	for (uint32_t i = 0; i < npos; i++) items[i] = nd->inputs[i].arg;
	memset(out, 0, sizeof *out);
	out->kind = PT2C_ARG_FX_LIST;
	out->n = npos;
	out->u.items = items;
	return 0;
}

/*
 * MARK: aliased I/O (ABI 10 records, docs/generations.md E)
 *
 * What upstream's legacy exporter does for an engine whose record declares aliased I/O
 * (`_expose_aliased_buffer_mutations`, HEAD:py/torch_tensorrt/dynamo/_exporter.py, #4445): for
 * every output binding (in binding order) named in the ALIASED_IO map (`out@in@kind` records
 * joined by '%', kind not consulted, a later record for the same output wins, a record without
 * exactly three '@' fields skipped), the input binding `in` (first of that name) selects the
 * engine call's argument at its index; when that argument is a get_attr of a registered buffer
 * not yet exposed by an earlier engine, a getitem of the output index becomes a graph output,
 * tagged as a mutation of that buffer. The engine's output metadata grows to cover the index
 * (entries added on the way take the buffer's metadata, as upstream's padding does). An `in` that
 * is no input binding, or whose index has no argument, is refused (upstream raises); an argument
 * that is not a buffer's get_attr is left undeclared (upstream warns). Each engine's outputs are
 * prepended to the graph outputs, so the last engine's come first.
 */

typedef struct span { const char *p; uint32_t n; } span;

/*
 * The segments of p[0..n) separated by `delim`, one per call: *pos starts at 0; returns false
 * once every segment was given (n == 0 gives one empty segment).
 */
static bool next_segment(const char *p, uint32_t n, uint64_t *pos, char delim, span *out)
{
	if (*pos > n) return false;
	uint32_t i = (uint32_t)*pos;
	uint32_t j = i;
	while (j < n && p[j] != delim) j++;
	out->p = p + i;
	out->n = j - i;
	*pos = (uint64_t)j + 1;
	return true;
}

typedef struct exposure { uint32_t oi; const pt2c_attr *buf; } exposure;

static int expose_aliased(pt2c_module *m, uint32_t en, const pt2c_engine_record *rec, const pt2c_arg *inputs_list,
                          pt2c_map *exposed, const char *cname, pt2c_error *err)
{
	if (rec->n_fields <= PT2C_EF_ALIASED_IO || rec->fields[PT2C_EF_ALIASED_IO].n == 0) return 0;
	pt2c_graph *g = m->graph;
	pt2c_ctx *ctx = m->ctx;
	const pt2c_allocator *a = ctx->alloc;
	pt2c_map alias, in_idx;
	pt2c__map_init(&alias, a);
	pt2c__map_init(&in_idx, a);
	span *in_of = NULL;           /* per ALIASED_IO record: its input binding */
	exposure *ex = NULL;
	size_t n_ex = 0, cap_ex = 0;
	int rc = 0;

	/* ALIASED_IO: out -> index of its (last) record */
	const char *ap = rec->fields[PT2C_EF_ALIASED_IO].p;
	uint32_t an = rec->fields[PT2C_EF_ALIASED_IO].n;
	size_t n_rec = 1;
	for (uint32_t i = 0; i < an; i++) n_rec += ap[i] == '%';
	in_of = pt2c__malloc(a, n_rec * sizeof *in_of);
	if (!in_of) { rc = pt2c__err_oom(err); goto out; }
	span rs, out_name, in_name, kind, extra;
	uint64_t pos = 0;
	for (uint32_t r = 0; next_segment(ap, an, &pos, '%', &rs); r++) {
		uint64_t fp = 0;
		if (!next_segment(rs.p, rs.n, &fp, '@', &out_name) || !next_segment(rs.p, rs.n, &fp, '@', &in_name) ||
		    !next_segment(rs.p, rs.n, &fp, '@', &kind) || next_segment(rs.p, rs.n, &fp, '@', &extra))
			continue; /* not exactly three fields: skipped, as upstream's deserialize_aliased_io does */
		in_of[r] = in_name;
		if (pt2c__map_put(&alias, out_name.p, out_name.n, r, true, NULL)) { rc = pt2c__err_oom(err); goto out; }
	}
	/* input bindings: name -> first index ("" is no binding at all) */
	const char *ip = rec->fields[PT2C_EF_IN_BINDINGS].p;
	uint32_t inn = rec->fields[PT2C_EF_IN_BINDINGS].n;
	span s;
	pos = 0;
	for (uint64_t i = 0; inn && next_segment(ip, inn, &pos, '%', &s); i++)
		if (pt2c__map_put(&in_idx, s.p, s.n, i, false, NULL)) { rc = pt2c__err_oom(err); goto out; }
	/* output bindings in order */
	const char *op = rec->fields[PT2C_EF_OUT_BINDINGS].p;
	uint32_t onn = rec->fields[PT2C_EF_OUT_BINDINGS].n;
	pos = 0;
	for (uint64_t oi = 0; onn && next_segment(op, onn, &pos, '%', &out_name); oi++) {
		uint64_t r, ii;
		if (!pt2c__map_get(&alias, out_name.p, out_name.n, &r)) continue;
		in_name = in_of[r];
		if (!pt2c__map_get(&in_idx, in_name.p, in_name.n, &ii)) {
			rc = pt2c__err(err, PT2C_ECORRUPT,
			               "engine '%s': aliased output '%.*s' references input '%.*s', which is not an input binding",
			               cname, (int)(out_name.n > 200 ? 200 : out_name.n), out_name.p,
			               (int)(in_name.n > 200 ? 200 : in_name.n), in_name.p);
			goto out;
		}
		if (ii >= inputs_list->n) {
			rc = pt2c__err(err, PT2C_ECORRUPT,
			               "engine '%s': aliased output '%.*s' maps to input %llu, but the call has %u arguments", cname,
			               (int)(out_name.n > 200 ? 200 : out_name.n), out_name.p, (unsigned long long)ii, inputs_list->n);
			goto out;
		}
		const pt2c_arg *arg = &inputs_list->u.items[ii];
		if (arg->kind != PT2C_ARG_FX_NODE) continue;
		uint32_t v = pt2c__value_resolve(g, arg->u.ref);
		uint32_t prod = v < g->n_values ? g->values[v].producer : PT2C_NONE;
		if (prod == PT2C_NONE || g->nodes[prod].op != PT2C_OP_GET_ATTR || !g->nodes[prod].target) continue;
		const pt2c_attr *at = pt2c__module_find_attr(m, g->nodes[prod].target);
		if (!at || at->kind != PT2C_ATTR_BUFFER) continue; /* only registered buffers can be mutation targets */
		bool was;
		if (pt2c__map_put(exposed, at->fqn, strlen(at->fqn), 1, false, &was)) { rc = pt2c__err_oom(err); goto out; }
		if (was) continue; /* declared by an earlier engine */
		if (pt2c__grow(a, (void **)&ex, &cap_ex, n_ex + 1, sizeof *ex)) { rc = pt2c__err_oom(err); goto out; }
		ex[n_ex].oi = (uint32_t)oi; /* oi < onn: fits */
		ex[n_ex].buf = at;
		n_ex++;
	}
	if (!n_ex) goto out;

	/* the engine's outputs, grown to cover every exposed index (upstream's val_list) */
	const pt2c_node *nd = &g->nodes[en];
	if (nd->n_outputs != 1 || nd->outputs[0].kind != PT2C_ARG_TENSORS) {
		rc = pt2c__err(err, PT2C_EGRAPH, "engine call '%s' has no output list", cname);
		goto out;
	}
	uint32_t nout = nd->outputs[0].n, new_n = nout;
	for (size_t k = 0; k < n_ex; k++)
		if (ex[k].oi + 1 > new_n) new_n = ex[k].oi + 1;
	pt2c_tensor_meta *metas = pt2c__arena_calloc(&ctx->arena, new_n, sizeof *metas);
	pt2c_arg *items = pt2c__arena_calloc(&ctx->arena, new_n, sizeof *items);
	const char **targets = pt2c__arena_calloc(&ctx->arena, n_ex + m->n_mutation_outputs, sizeof *targets);
	uint32_t *mut = pt2c__malloc(a, n_ex * sizeof *mut);
	if (!metas || !items || !targets || !mut) { pt2c__free(a, mut); rc = pt2c__err_oom(err); goto out; }
	for (uint32_t i = 0; i < nout; i++) {
		items[i] = nd->outputs[0].u.items[i];
		metas[i] = *g->values[items[i].u.ref].u.tensor;
	}
	uint32_t len = nout;
	for (size_t k = 0; k < n_ex; k++) {
		while (len <= ex[k].oi) metas[len++] = ex[k].buf->tensor.meta;
		metas[ex[k].oi] = ex[k].buf->tensor.meta;
	}
	/* values: the exposed indices first (in binding order, as upstream creates its getitems), then
	 * one for every padding index (pt2c gives every output index a value) */
	for (size_t k = 0; k < n_ex && !rc; k++) {
		uint32_t i = ex[k].oi;
		if (i < nout) { mut[k] = items[i].u.ref; continue; } /* the engine also returns it: that value */
		if ((rc = pt2c__graph_add_value(g, "getitem", false, PT2C_VAL_TENSOR, &mut[k]))) break;
		items[i].kind = PT2C_ARG_TENSOR;
		items[i].u.ref = mut[k];
	}
	for (uint32_t i = nout; i < new_n && !rc; i++) {
		if (items[i].kind != PT2C_ARG_NONE) continue;
		if ((rc = pt2c__graph_add_value(g, "getitem", false, PT2C_VAL_TENSOR, &items[i].u.ref))) break;
		items[i].kind = PT2C_ARG_TENSOR;
	}
	if (rc) { pt2c__free(a, mut); rc = pt2c__err(err, rc, "cannot add the aliased outputs of '%s'", cname); goto out; }
	for (uint32_t i = 0; i < new_n; i++) {
		pt2c_value *ov = &g->values[items[i].u.ref];
		ov->kind = PT2C_VAL_TENSOR;
		ov->has_meta = true;
		ov->forward = PT2C_NONE;
		ov->u.tensor = &metas[i];
	}
	pt2c_arg outs;
	memset(&outs, 0, sizeof outs);
	outs.kind = PT2C_ARG_TENSORS;
	outs.n = new_n;
	outs.u.items = items;
	if (pt2c__node_set_outputs(g, en, &outs, 1)) { pt2c__free(a, mut); rc = pt2c__err_oom(err); goto out; }

	/* prepend to the graph outputs (a tuple, as upstream makes it) */
	uint32_t on = pt2c__graph_output_node(g);
	if (on == PT2C_NONE || g->nodes[on].n_inputs != 1) {
		pt2c__free(a, mut);
		rc = pt2c__err(err, PT2C_EGRAPH, "the graph has no output node with one argument");
		goto out;
	}
	const pt2c_arg *old = &g->nodes[on].inputs[0].arg;
	bool seq = old->kind == PT2C_ARG_FX_LIST || old->kind == PT2C_ARG_FX_TUPLE;
	uint32_t n_old = seq ? old->n : 1;
	pt2c_arg *res = pt2c__arena_calloc(&ctx->arena, (size_t)n_ex + n_old, sizeof *res);
	if (!res) { pt2c__free(a, mut); rc = pt2c__err_oom(err); goto out; }
	for (size_t k = 0; k < n_ex; k++) {
		res[k].kind = PT2C_ARG_FX_NODE;
		res[k].u.ref = mut[k];
		targets[k] = ex[k].buf->fqn;
	}
	pt2c__free(a, mut);
	for (uint32_t i = 0; i < n_old; i++) res[n_ex + i] = seq ? old->u.items[i] : *old;
	for (uint32_t i = 0; i < m->n_mutation_outputs; i++) targets[n_ex + i] = m->mutation_targets[i];
	pt2c_named_arg in = g->nodes[on].inputs[0];
	memset(&in.arg, 0, sizeof in.arg);
	in.arg.kind = PT2C_ARG_FX_TUPLE;
	in.arg.n = (uint32_t)n_ex + n_old;
	in.arg.u.items = res;
	if (pt2c__node_set_inputs(g, on, &in, 1)) { rc = pt2c__err_oom(err); goto out; }
	m->mutation_targets = targets;
	m->n_mutation_outputs += (uint32_t)n_ex;
out:
	pt2c__free(a, ex);
	pt2c__free(a, in_of);
	pt2c__map_free(&alias);
	pt2c__map_free(&in_idx);
	return rc;
}

/* Inline one engine call node. */
static int inline_one(pt2c_module *m, uint32_t call, pt2c_submodule *sub, bool cross, const uint32_t *head,
                      const uint32_t *next, pt2c_map *exposed, pt2c_error *err)
{
	pt2c_graph *g = m->graph;
	pt2c_ctx *ctx = m->ctx;
	const char *cname = g->nodes[call].name;
	uint32_t v = pt2c__node_value(g, call);
	if (v == PT2C_NONE || g->values[v].kind != PT2C_VAL_TENSOR_LIST || !g->values[v].has_meta ||
	    g->values[v].u.list.n == 0)
		return pt2c__err(err, PT2C_ECORRUPT, "engine call '%s' has no list of output metadata", cname);
	pt2c_arg inputs_list;
	int rc = args_list(g, call, &inputs_list, err);
	if (rc) return rc;

	uint32_t en;
	const pt2c_engine_record *run_rec = NULL; /* the record the execute_engine call runs */
	if (!cross) {
		char fqn_buf[512];
		int fl = snprintf(fqn_buf, sizeof fqn_buf, "%s_engine", sub->name);
		if (fl < 0 || (size_t)fl >= sizeof fqn_buf) return pt2c__err(err, PT2C_EUNSUPPORTED, "segment name too long");
		pt2c_attr *at = pt2c__module_find_attr(m, fqn_buf);
		if (!at) {
			if (!sub->engine) return pt2c__err(err, PT2C_ECORRUPT, "engine segment '%s' has no engine record", sub->name);
			if (pt2c__module_add_attr(m, fqn_buf, PT2C_ATTR_CUSTOM_OBJ, &at)) return pt2c__err_oom(err);
			/* shared: the attribute takes its own reference (the segment keeps its record until removed) */
			at->engine = sub->engine;
			if (sub->engine->engine) pt2c__storage_ref(sub->engine->engine);
			at->class_fqn = pt2c__ctx_interns(ctx, PT2C_ENGINE_CLASS_FQN);
			at->persistent = false;
			if (!at->class_fqn) return pt2c__err_oom(err);
		} else if (at->kind != PT2C_ATTR_CUSTOM_OBJ || !at->engine) {
			return pt2c__err(err, PT2C_EGRAPH, "attribute '%s' already exists and is not an engine", fqn_buf);
		}
		run_rec = at->engine;
		const char *fqn = at->fqn;
		uint32_t ga, ev;
		if ((rc = pt2c__graph_add_node(g, PT2C_OP_GET_ATTR, fqn, false, fqn, call, &ga)) ||
		    (rc = pt2c__node_define_value(g, ga, PT2C_VAL_CUSTOM_OBJ, &ev)))
			return pt2c__err(err, rc, "cannot add the engine attribute node for '%s'", cname);
		pt2c_value *evv = &g->values[ev];
		evv->has_meta = true;
		evv->u.obj.name = g->nodes[ga].name;
		evv->u.obj.class_fqn = at->class_fqn;
		if ((rc = pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "execute_engine_default", false,
		                               pt2c__ctx_interns(ctx, PT2C_TARGET_EXECUTE_ENGINE), call, &en)))
			return pt2c__err(err, rc, "cannot add execute_engine for '%s'", cname);
		pt2c_named_arg in[2];
		memset(in, 0, sizeof in);
		in[0].kind = in[1].kind = PT2C_ARGKIND_POSITIONAL;
		in[0].arg = inputs_list;
		in[1].arg.kind = PT2C_ARG_FX_NODE;
		in[1].arg.u.ref = ev;
		if (pt2c__node_set_inputs(g, en, in, 2)) return pt2c__err_oom(err);
	} else {
		const pt2c_engine_record *rec = sub->engine;
		if (!rec) return pt2c__err(err, PT2C_ECORRUPT, "engine segment '%s' has no engine record", sub->name);
		if (rec->n_fields < PT2C_EF_PLATFORM + 1 || rec->n_fields > PT2C_EF_MAX)
			return pt2c__err(err, PT2C_ECORRUPT, "engine record of '%s' has %u fields", sub->name, rec->n_fields);
		if ((rc = pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "no_op_placeholder_for_execute_engine_default", false,
		                               pt2c__ctx_interns(ctx, PT2C_TARGET_NO_OP_PLACEHOLDER), call, &en)))
			return pt2c__err(err, rc, "cannot add the cross-compile placeholder for '%s'", cname);
		uint32_t n = 1 + rec->n_fields;
		pt2c_named_arg *in = pt2c__arena_calloc(&ctx->arena, n, sizeof *in);
		if (!in) return pt2c__err_oom(err);
		in[0].kind = PT2C_ARGKIND_POSITIONAL;
		in[0].arg = inputs_list;
		for (uint32_t f = 0; f < rec->n_fields; f++) {
			pt2c_named_arg *a = &in[1 + f];
			a->kind = PT2C_ARGKIND_POSITIONAL;
			if (f == PT2C_EF_ENGINE) {
				/* base64 is produced only while writing: no copy of the engine here */
				a->arg.kind = PT2C_ARG_ENGINE_B64;
				a->arg.u.engine = rec;
			} else {
				a->arg.kind = PT2C_ARG_STRING;
				a->arg.u.s = rec->fields[f].p ? rec->fields[f].p : "";
				a->arg.n = rec->fields[f].n;
			}
		}
		if (pt2c__node_set_inputs(g, en, in, n)) return pt2c__err_oom(err);
	}
	if ((rc = wire_outputs(g, en, v, head, next, cname, err))) return rc;
	/* upstream exposes aliased outputs in normal mode only (inline_trt_modules) */
	if (run_rec && (rc = expose_aliased(m, en, run_rec, &inputs_list, exposed, cname, err))) return rc;
	pt2c__graph_erase_node(g, call);
	return 0;
}

static int pass_inline_engines_impl(pt2c_module *m, bool cross_compile, pt2c_error *err, bool compact)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_graph *g = m->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	uint32_t *calls = NULL, n_calls = 0;
	int rc = pt2c__export_segment_calls(m, PT2C_SUB_ENGINE, &calls, &n_calls, err);
	if (rc || !n_calls)
		return rc;
	pt2c__graph_recount_uses(g);
	uint32_t *head = NULL, *next = NULL;
	pt2c_map exposed; /* buffers declared mutated so far: one declaration per buffer */
	pt2c__map_init(&exposed, a);
	for (uint32_t i = 0; !rc && i < m->n_mutation_outputs; i++)
		if (pt2c__map_put(&exposed, m->mutation_targets[i], strlen(m->mutation_targets[i]), 1, false, NULL))
			rc = pt2c__err_oom(err);
	if (!rc) rc = pt2c__export_getitem_index(g, &head, &next, err);
	for (uint32_t i = 0; !rc && i < n_calls; i++) {
		pt2c_submodule *sub = pt2c__module_find_sub(m, g->nodes[calls[i]].target);
		rc = inline_one(m, calls[i], sub, cross_compile, head, next, &exposed, err);
	}
	pt2c__map_free(&exposed);
	pt2c__free(a, head);
	pt2c__free(a, next);
	pt2c__free(a, calls);
	if (!rc && compact) rc = pt2c__graph_compact(g, err);
	return rc;
}

/* The public pass: any failure leaves the module as it was. */
int pt2c__pass_inline_engines(pt2c_module *m, bool cross_compile, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_module_undo u;
	if (pt2c__module_save(m, &u)) return pt2c__err_oom(err);
	int rc = pass_inline_engines_impl(m, cross_compile, err, true);
	if (rc) pt2c__module_restore(m, &u);
	else pt2c__module_undo_free(m, &u);
	return rc;
}

/* Without the final compaction (pt2c__export_module compacts once, after DCE). */
int pt2c__pass_inline_engines_nocompact(pt2c_module *m, bool cross_compile, pt2c_error *err)
{
	return pass_inline_engines_impl(m, cross_compile, err, false);
}
