/*
 * pass_inline_fallbacks.c -- fallback segments (`call_module _run_on_gpu_N`) are inlined: their
 * nodes are copied in front of the call, their placeholders are wired BY POSITION to the call's
 * arguments (the seed matched them by name and miswired colliding names: defect 3), a tuple of
 * outputs replaces the call's getitem users one by one (defect 2), and their parameters and
 * buffers move into the top module under the same FQN (storage shared, never copied).
 *
 * Attribute name collisions (defect 12: the seed let the second segment's `w0` replace the
 * first's): an attribute whose FQN is already taken in the top module (by a top-level attribute,
 * an engine object or an earlier segment's attribute) by a DIFFERENT attribute is renamed before
 * inlining with torch.fx's unique suffix (`w0` -> `w0_1`, `lin.weight` -> `lin.weight_1`,
 * `w0_1` -> `w0_2`), and the segment's get_attr nodes follow, so the program's signature targets
 * and state-dict keys say which is which. The first owner keeps the name.
 * One FQN stays one attribute only when both are the same tensor: same kind, same persistence,
 * same view (dtype, sizes, strides, offset, device, requires_grad) and the same bytes (one storage
 * object, or equal contents). That is what a partitioner hands over when one module attribute
 * is seen twice: Torch-TensorRT's segments own the original module's attributes under their
 * original FQNs while the top module keeps them too, and a weight used by two segments is in
 * both; users expect it once, under its own name. Equal contents cannot change a result, so
 * sharing them never changes outputs; any difference (one value, the view, the kind) renames.
 */
#include <stdio.h>

#include "export/export.h"

/*
 * The same tensor: the same view (metadata) of the same storage object, or of storages with
 * equal bytes (the JSON form gives every weight its own storage, so identity is not visible
 * there; equal contents under one FQN are one attribute seen twice). Comparing pulled storages
 * needs scratch memory: PT2C_ENOMEM is returned (never taken for "different", which would
 * rename the attribute and change the output); a failing pull compares unequal (writing will
 * report it).
 */
static int same_tensor(const pt2c_tensor *a, const pt2c_tensor *b, bool *same)
{
	*same = false;
	if (!pt2c__meta_equal(&a->meta, &b->meta)) return 0;
	if (a->storage == b->storage) {
		*same = true;
		return 0;
	}
	if (!a->storage || !b->storage) return 0;
	int rc = pt2c__storage_equal(a->storage, b->storage, a->storage->alloc, same);
	if (rc == PT2C_ENOMEM) return rc;
	if (rc) *same = false;
	return 0;
}

/* May f's attribute `a` share the top module's attribute `t` of the same FQN? 0 or PT2C_ENOMEM. */
static int same_attr(const pt2c_attr *t, const pt2c_attr *a, bool *same)
{
	*same = false;
	if (t->kind != a->kind)
		return 0;
	if (a->kind == PT2C_ATTR_CUSTOM_OBJ) {
		*same = (a->engine == NULL && t->engine == NULL && a->blob == t->blob) || (a->engine && a->engine == t->engine);
		return 0;
	}
	if (t->persistent != a->persistent)
		return 0;
	return same_tensor(&t->tensor, &a->tensor, same);
}

/*
 * A free FQN for a colliding attribute, as torch.fx's _Namespace.create_name derives one: the
 * last component "base" or "base_N" becomes "base_M" with the smallest M > N (M >= 1) that names
 * no attribute of m or of f. Interned in f's ctx; NULL on OOM.
 */
static const char *unique_attr_name(const pt2c_module *m, pt2c_module *f, const char *fqn)
{
	size_t n = strlen(fqn), base = n;
	uint64_t num = 0;
	size_t d = n;
	while (d > 0 && fqn[d - 1] >= '0' && fqn[d - 1] <= '9')
		d--;
	if (d < n && d > 0 && fqn[d - 1] == '_' && n - d <= 9 && (d - 1 == 0 || fqn[d - 2] != '.')) {
		base = d - 1;
		for (size_t i = d; i < n; i++)
			num = num * 10 + (uint64_t)(fqn[i] - '0');
	}
	char *buf = pt2c__malloc(f->ctx->alloc, base + 24);
	if (!buf)
		return NULL;
	const char *r = NULL;
	/* each taken candidate is one attribute: the loop ends within n_attrs(m) + n_attrs(f) + 1 steps */
	for (;;) {
		num++;
		int k = snprintf(buf, base + 24, "%.*s_%llu", (int)base, fqn, (unsigned long long)num);
		if (k < 0)
			break;
		if (!pt2c__module_find_attr(m, buf) && !pt2c__module_find_attr(f, buf)) {
			r = pt2c__ctx_intern(f->ctx, buf, (size_t)k);
			break;
		}
	}
	pt2c__free(f->ctx->alloc, buf);
	return r;
}

/*
 * Rename f's attributes whose FQN is taken in m by a different attribute (see the top of this
 * file), and point f's get_attr nodes at the new names. Done on the segment itself, so a segment
 * that is called twice maps to the same names both times (the second call then shares them).
 */
static int rename_colliding_attrs(pt2c_module *m, pt2c_module *f, pt2c_error *err)
{
	const pt2c_allocator *al = f->ctx->alloc;
	/* the attributes to rename, compared once (comparing pulled weights reads them in full) */
	uint32_t *idx = NULL, n_ren = 0;
	size_t cap_idx = 0;
	int rc = 0;
	for (uint32_t i = 0; i < f->n_attrs && !rc; i++) {
		const pt2c_attr *t = pt2c__module_find_attr(m, f->attrs[i].fqn);
		bool same = true;
		if (t && same_attr(t, &f->attrs[i], &same))
			rc = pt2c__err_oom(err);
		else if (t && !same && pt2c__grow(al, (void **)&idx, &cap_idx, (size_t)n_ren + 1, sizeof *idx))
			rc = pt2c__err_oom(err);
		else if (t && !same)
			idx[n_ren++] = i;
	}
	if (rc || !n_ren) {
		pt2c__free(al, idx);
		return rc;
	}
	pt2c_map ren; /* old fqn -> k: f->attrs[idx[k]] becomes fresh[k] */
	pt2c__map_init(&ren, al);
	const char **fresh = pt2c__malloc(al, (size_t)n_ren * sizeof *fresh);
	rc = fresh ? 0 : pt2c__err_oom(err);
	uint32_t k = 0;
	/* pick every new name before renaming anything; each is reserved in f at once, so that the
	 * next pick (which avoids f's names too) cannot hand it out again */
	for (; k < n_ren && !rc; k++) {
		const pt2c_attr *a = &f->attrs[idx[k]];
		const char *nm = unique_attr_name(m, f, a->fqn);
		if (!nm || pt2c__map_put(&f->attr_by_fqn, nm, strlen(nm), idx[k], true, NULL) ||
		    pt2c__map_put(&ren, a->fqn, strlen(a->fqn), k, true, NULL)) {
			rc = pt2c__err_oom(err);
			break;
		}
		fresh[k] = nm;
	}
	pt2c_map fresh_map; /* the map cannot delete: f's attributes by their final names */
	pt2c__map_init(&fresh_map, al);
	for (uint32_t i = 0; i < f->n_attrs && !rc; i++) {
		const char *fqn = f->attrs[i].fqn;
		uint64_t v;
		if (pt2c__map_gets(&ren, fqn, &v) && idx[v] == i)
			fqn = fresh[v];
		if (pt2c__map_put(&fresh_map, fqn, strlen(fqn), i, true, NULL))
			rc = pt2c__err_oom(err);
	}
	if (!rc) { /* nothing can fail from here on */
		for (uint32_t j = 0; j < k; j++)
			f->attrs[idx[j]].fqn = fresh[j];
		PT2C_GRAPH_FOREACH(f->graph, id) {
			pt2c_node *nd = &f->graph->nodes[id];
			uint64_t v;
			if (nd->op == PT2C_OP_GET_ATTR && nd->target && pt2c__map_gets(&ren, nd->target, &v))
				nd->target = fresh[v];
		}
		pt2c__map_free(&f->attr_by_fqn);
		f->attr_by_fqn = fresh_map;
	} else {
		pt2c__map_free(&fresh_map);
	}
	pt2c__map_free(&ren);
	pt2c__free(al, fresh);
	pt2c__free(al, idx);
	return rc;
}

/* Move f's attributes into m (same FQN); an existing FQN must hold the same tensor. */
static int merge_attrs(pt2c_module *m, pt2c_module *f, const char *subname, pt2c_error *err)
{
	for (uint32_t i = 0; i < f->n_attrs; i++) {
		pt2c_attr *a = &f->attrs[i];
		pt2c_attr *t = pt2c__module_find_attr(m, a->fqn);
		if (t) { /* rename_colliding_attrs left only the very same attribute under a taken name */
			bool same = false;
			if (same_attr(t, a, &same))
				return pt2c__err_oom(err);
			if (!same)
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
	if ((rc = rename_colliding_attrs(m, f, err)))
		goto out;
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
	 * The top graph ends up with every segment's names: size its name table once, up front (at
	 * most one doubling more than needed), since a table that grows briefly holds its old and
	 * new slots. (Renamed copies are new strings of the context's arena, not of its pool.)
	 */
	size_t more = 0, more_nodes = 0;
	for (uint32_t i = 0; export && i < m->n_subs; i++)
		if (m->subs[i].kind == PT2C_SUB_FALLBACK && m->subs[i].fallback && m->subs[i].fallback->graph) {
			more += m->subs[i].fallback->graph->n_values;
			more_nodes += m->subs[i].fallback->graph->n_nodes;
			/* only read from now on (moved or copied, then removed): its namespace can go */
			pt2c__graph_drop_names(m->subs[i].fallback->graph);
		}
	if (!rc && more && pt2c__map32_reserve(&g->names, g->names.count + more))
		rc = pt2c__err_oom(err);
	/* and the node and value arrays (growing them segment by segment copied them each time), with
	 * room for the placeholders the program builder adds for the attributes (lift): growing for
	 * those would move the arrays again (a realloc of their whole size, or an mremap, which costs
	 * a fault a page on the next pass under some hypervisors) */
	if (more) {
		more += m->n_attrs;
		more_nodes += m->n_attrs;
	}
	if (!rc && more && (more_nodes > UINT32_MAX || more > UINT32_MAX ||
	                    pt2c__graph_reserve(g, (uint32_t)more_nodes, (uint32_t)more)))
		rc = pt2c__err_oom(err);
	pt2c_prefault_bg bg;
	memset(&bg, 0, sizeof bg);
	for (uint32_t i = 0; !rc && i < n_calls; i++) {
		const char *t = g->nodes[calls[i]].target;
		uint64_t cnt = 0;
		(void)pt2c__map_get(&n_calls_of, t, strlen(t), &cnt);
		pt2c_submodule *sub = pt2c__module_find_sub(m, t);
		/*
		 * The top graph's arrays were reserved for every segment (they do not move): while this
		 * segment is copied, the pages the next one will fill are faulted in on a helper thread.
		 * One segment ahead, not all: the segments moved so far give their memory back meanwhile.
		 */
		pt2c__prefault_join(&bg);
		const pt2c_submodule *nx = i + 1 < n_calls ? pt2c__module_find_sub(m, g->nodes[calls[i + 1]].target) : NULL;
		const pt2c_graph *cur = sub && sub->fallback ? sub->fallback->graph : NULL;
		const pt2c_graph *nxg = nx && nx->fallback ? nx->fallback->graph : NULL;
		if (export && more && cur && nxg) {
			uint64_t n0 = (uint64_t)g->n_nodes + cur->n_nodes, v0 = (uint64_t)g->n_values + cur->n_values;
			uint64_t n1 = n0 + nxg->n_nodes, v1 = v0 + nxg->n_values;
			if (n1 > g->cap_nodes) n1 = g->cap_nodes;
			if (v1 > g->cap_values) v1 = g->cap_values;
			if (n0 < n1 && v0 < v1)
				pt2c__prefault_start(&bg, a, g->nodes + n0, (size_t)(n1 - n0) * sizeof *g->nodes, g->values + v0,
				                     (size_t)(v1 - v0) * sizeof *g->values);
		}
		rc = inline_one(m, calls[i], sub, head, next, export && cnt == 1, err);
	}
	pt2c__prefault_join(&bg);
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
