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

/* Inline one engine call node. */
static int inline_one(pt2c_module *m, uint32_t call, pt2c_submodule *sub, bool cross, const uint32_t *head,
                      const uint32_t *next, pt2c_error *err)
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
	rc = pt2c__export_getitem_index(g, &head, &next, err);
	for (uint32_t i = 0; !rc && i < n_calls; i++) {
		pt2c_submodule *sub = pt2c__module_find_sub(m, g->nodes[calls[i]].target);
		rc = inline_one(m, calls[i], sub, cross_compile, head, next, err);
	}
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
