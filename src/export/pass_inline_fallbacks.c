/*
 * pass_inline_fallbacks.c -- fallback segments (`call_module _run_on_gpu_N`) are inlined: their
 * nodes are copied in front of the call, their placeholders are wired BY POSITION to the call's
 * arguments (the seed matched them by name and miswired colliding names: defect 3), a tuple of
 * outputs replaces the call's getitem users one by one (defect 2), and their parameters and
 * buffers move into the top module under the same FQN (storage shared, never copied).
 */
#include "export/export.h"

/* Same tensor: same storage, or storages with equal bytes, and equal metadata. */
static bool same_tensor(const pt2c_tensor *a, const pt2c_tensor *b)
{
	if (!pt2c__meta_equal(&a->meta, &b->meta)) return false;
	if (a->storage == b->storage) return true;
	if (!a->storage || !b->storage) return false;
	if (a->storage->nbytes != b->storage->nbytes) return false;
	return a->storage->nbytes == 0 || memcmp(a->storage->data, b->storage->data, (size_t)a->storage->nbytes) == 0;
}

/* Move f's attributes into m (same FQN); an existing FQN must hold the same tensor. */
static int merge_attrs(pt2c_module *m, pt2c_module *f, const char *subname, pt2c_error *err)
{
	for (uint32_t i = 0; i < f->n_attrs; i++) {
		pt2c_attr *a = &f->attrs[i];
		pt2c_attr *t = pt2c__module_find_attr(m, a->fqn);
		if (t) {
			bool ok = t->kind == a->kind;
			if (ok && a->kind == PT2C_ATTR_CUSTOM_OBJ) ok = (a->engine == NULL && a->blob == t->blob) || a->engine == t->engine;
			else if (ok) ok = same_tensor(&t->tensor, &a->tensor);
			if (!ok)
				return pt2c__err(err, PT2C_EGRAPH, "attribute '%s' of '%s' differs from the top module's", a->fqn, subname);
			continue;
		}
		int rc = pt2c__module_add_attr(m, a->fqn, a->kind, &t);
		if (rc) return rc == PT2C_ENOMEM ? pt2c__err_oom(err) : pt2c__err(err, rc, "cannot add attribute '%s'", a->fqn);
		t->persistent = a->persistent;
		t->tensor = a->tensor;
		if (m->ctx != f->ctx) {
			if (pt2c__meta_copy(m->ctx, &t->tensor.meta, &a->tensor.meta)) return pt2c__err_oom(err);
			if (a->class_fqn && !(t->class_fqn = pt2c__ctx_interns(m->ctx, a->class_fqn))) return pt2c__err_oom(err);
		} else {
			t->class_fqn = a->class_fqn;
		}
		t->tensor.storage = a->tensor.storage ? pt2c__storage_ref(a->tensor.storage) : NULL;
		t->blob = a->blob ? pt2c__storage_ref(a->blob) : NULL;
		/* shared (its own reference), not moved: the segment stays as it was until it is removed */
		t->engine = a->engine;
		if (a->engine && a->engine->engine) pt2c__storage_ref(a->engine->engine);
	}
	return 0;
}

/*
 * Inline one fallback call node. head/next: getitem chains of the top graph. move: the call is
 * the segment's only one, so its nodes are moved rather than copied and the segment is removed
 * afterwards (the export's peak memory would otherwise hold every fallback graph twice).
 */
static int inline_one(pt2c_module *m, uint32_t call, pt2c_submodule *sub, const uint32_t *head, const uint32_t *next,
                      bool move, pt2c_error *err)
{
	pt2c_graph *g = m->graph;
	pt2c_module *f = sub->fallback;
	if (!f || !f->graph) return pt2c__err(err, PT2C_ECORRUPT, "fallback segment '%s' has no graph", sub->name);
	pt2c_graph *fg = f->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	const char *cname = g->nodes[call].name;

	uint32_t npos = 0, nkw = 0, nph = 0;
	for (uint32_t i = 0; i < g->nodes[call].n_inputs; i++) {
		if (g->nodes[call].inputs[i].name) nkw++;
		else npos++;
	}
	PT2C_GRAPH_FOREACH(fg, id) if (fg->nodes[id].op == PT2C_OP_PLACEHOLDER) nph++;
	if (npos + nkw != nph)
		return pt2c__err(err, PT2C_EGRAPH, "fallback '%s' takes %u inputs, call '%s' passes %u", sub->name, nph, cname,
		                 npos + nkw);
	uint32_t *map = pt2c__malloc(a, ((size_t)fg->n_values + 1) * sizeof *map);
	if (!map) return pt2c__err_oom(err);
	for (uint32_t v = 0; v < fg->n_values; v++) map[v] = PT2C_NONE;
	int rc = 0;
	uint32_t k = 0;
	PT2C_GRAPH_FOREACH(fg, id) {
		const pt2c_node *ph = &fg->nodes[id];
		if (ph->op != PT2C_OP_PLACEHOLDER) continue;
		const pt2c_node *cn = &g->nodes[call];
		const pt2c_arg *arg = NULL;
		if (k < npos) {
			uint32_t seen = 0;
			for (uint32_t i = 0; i < cn->n_inputs && !arg; i++)
				if (!cn->inputs[i].name && seen++ == k) arg = &cn->inputs[i].arg;
		} else {
			for (uint32_t i = 0; i < cn->n_inputs && !arg; i++)
				if (cn->inputs[i].name && ph->target && strcmp(cn->inputs[i].name, ph->target) == 0) arg = &cn->inputs[i].arg;
		}
		uint32_t pv = pt2c__node_value(fg, id);
		if (!arg || arg->kind != PT2C_ARG_FX_NODE || pv == PT2C_NONE) {
			rc = pt2c__err(err, PT2C_EUNSUPPORTED, "input %u ('%s') of fallback '%s' is not given a node", k,
			               ph->name, sub->name);
			goto out;
		}
		map[pv] = pt2c__value_resolve(g, arg->u.ref);
		k++;
	}
	move = move && f->ctx == m->ctx;
	if (pt2c__graph_reserve(g, fg->n_nodes, fg->n_values)) {
		rc = pt2c__err_oom(err);
		goto out;
	}
	if ((rc = move ? pt2c__graph_move_into(g, fg, call, map, err) : pt2c__graph_copy_into(g, fg, call, map, err)))
		goto out;

	uint32_t on = pt2c__graph_output_node(fg);
	if (on == PT2C_NONE || fg->nodes[on].n_inputs < 1) {
		rc = pt2c__err(err, PT2C_EGRAPH, "fallback '%s' has no output", sub->name);
		goto out;
	}
	const pt2c_arg *oa = &fg->nodes[on].inputs[0].arg;
	uint32_t cv = pt2c__node_value(g, call);
	if (cv != PT2C_NONE) {
		if (oa->kind == PT2C_ARG_FX_NODE) {
			uint32_t r = map[pt2c__value_resolve(fg, oa->u.ref)];
			if (r == PT2C_NONE) { rc = pt2c__err(err, PT2C_EGRAPH, "output of fallback '%s' is undefined", sub->name); goto out; }
			pt2c__graph_replace_uses(g, cv, r);
		} else if (oa->kind == PT2C_ARG_FX_LIST || oa->kind == PT2C_ARG_FX_TUPLE) {
			for (uint32_t gi = head[cv]; gi != PT2C_NONE; gi = next[gi]) {
				const pt2c_node *gn = &g->nodes[gi];
				if (gn->flags & PT2C_NODE_ERASED) continue;
				int64_t idx = gn->inputs[1].arg.u.i;
				if (idx < 0 || idx >= (int64_t)oa->n || oa->u.items[idx].kind != PT2C_ARG_FX_NODE) {
					rc = pt2c__err(err, PT2C_EGRAPH, "getitem '%s' reads output %lld of fallback '%s', which is not a node",
					               gn->name, (long long)idx, sub->name);
					goto out;
				}
				uint32_t r = map[pt2c__value_resolve(fg, oa->u.items[idx].u.ref)];
				uint32_t gv = pt2c__node_value(g, gi);
				if (r == PT2C_NONE || gv == PT2C_NONE) {
					rc = pt2c__err(err, PT2C_EGRAPH, "output %lld of fallback '%s' is undefined", (long long)idx, sub->name);
					goto out;
				}
				pt2c__graph_replace_uses(g, gv, r);
				pt2c__graph_erase_node(g, gi);
			}
			if (g->values[cv].n_uses) {
				if (oa->n == 1 && oa->u.items[0].kind == PT2C_ARG_FX_NODE &&
				    map[pt2c__value_resolve(fg, oa->u.items[0].u.ref)] != PT2C_NONE) {
					pt2c__graph_replace_uses(g, cv, map[pt2c__value_resolve(fg, oa->u.items[0].u.ref)]);
				} else {
					rc = pt2c__err(err, PT2C_EUNSUPPORTED, "the outputs of fallback '%s' are used other than through getitem",
					               sub->name);
					goto out;
				}
			}
		} else if (g->values[cv].n_uses) {
			rc = pt2c__err(err, PT2C_EUNSUPPORTED, "fallback '%s' returns a constant that is used", sub->name);
			goto out;
		}
	}
	if ((rc = merge_attrs(m, f, sub->name, err))) goto out;
	pt2c__graph_erase_node(g, call);
	if (move) pt2c__module_remove_sub(m, sub->name);
out:
	pt2c__free(a, map);
	return rc;
}

/* export: called by pt2c__export_module, which wants no compaction and owns the submodules. */
static int pass_inline_fallbacks_impl(pt2c_module *m, pt2c_error *err, bool export)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_graph *g = m->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	uint32_t *calls = NULL, n_calls = 0;
	int rc = pt2c__export_segment_calls(m, PT2C_SUB_FALLBACK, &calls, &n_calls, err);
	if (rc || !n_calls)
		return rc;
	pt2c__graph_recount_uses(g);
	uint32_t *head = NULL, *next = NULL;
	rc = pt2c__export_getitem_index(g, &head, &next, err);
	pt2c_map n_calls_of; /* target -> number of calls */
	pt2c__map_init(&n_calls_of, a);
	for (uint32_t i = 0; !rc && i < n_calls; i++) {
		const char *t = g->nodes[calls[i]].target;
		bool seen;
		uint64_t *cnt = pt2c__map_upsert(&n_calls_of, t, strlen(t), 0, &seen);
		if (!cnt) rc = pt2c__err_oom(err);
		else ++*cnt;
	}
	/*
	 * The top graph ends up with every segment's names, and renamed copies of colliding ones
	 * become new strings: size the name table and the string pool once, up front (at most one
	 * doubling more than needed), since a table that grows briefly holds its old and new slots.
	 */
	size_t more = 0;
	for (uint32_t i = 0; export && i < m->n_subs; i++)
		if (m->subs[i].kind == PT2C_SUB_FALLBACK && m->subs[i].fallback && m->subs[i].fallback->graph) {
			more += m->subs[i].fallback->graph->n_values;
			/* only read from now on (moved or copied, then removed): its namespace can go */
			pt2c__graph_drop_names(m->subs[i].fallback->graph);
		}
	if (!rc && more && (pt2c__map32_reserve(&g->names, g->names.count + more) || pt2c__strpool_reserve(&m->ctx->strings, more)))
		rc = pt2c__err_oom(err);
	for (uint32_t i = 0; !rc && i < n_calls; i++) {
		const char *t = g->nodes[calls[i]].target;
		uint64_t cnt = 0;
		(void)pt2c__map_get(&n_calls_of, t, strlen(t), &cnt);
		rc = inline_one(m, calls[i], pt2c__module_find_sub(m, t), head, next, export && cnt == 1, err);
	}
	pt2c__map_free(&n_calls_of);
	pt2c__free(a, head);
	pt2c__free(a, next);
	pt2c__free(a, calls);
	if (!rc && !export) rc = pt2c__graph_compact(g, err);
	return rc;
}

/* The public pass: any failure leaves the module as it was. */
int pt2c__pass_inline_fallbacks(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_module_undo u;
	if (pt2c__module_save(m, &u)) return pt2c__err_oom(err);
	int rc = pass_inline_fallbacks_impl(m, err, false);
	if (rc) pt2c__module_restore(m, &u);
	else pt2c__module_undo_free(m, &u);
	return rc;
}

/*
 * For pt2c__export_module: no final compaction (it compacts once, after DCE), and a segment
 * called once is moved into the top graph and removed at once.
 */
int pt2c__pass_inline_fallbacks_nocompact(pt2c_module *m, pt2c_error *err)
{
	return pass_inline_fallbacks_impl(m, err, true);
}
