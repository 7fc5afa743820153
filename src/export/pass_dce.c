/*
 * pass_dce.c -- dead-code elimination (a worklist over zero-use pure nodes, linear in the graph)
 * and removal of submodules no node refers to.
 */
#include <assert.h>

#include "export/export.h"

/*
 * Ops that must stay even when their results are unused: in-place/out variants and asserts
 * (torch.fx's is_impure keeps mutating schemas and side-effectful functions).
 */
static bool is_impure(const pt2c_node *nd)
{
	if (nd->op == PT2C_OP_PLACEHOLDER || nd->op == PT2C_OP_OUTPUT) return true;
	if (nd->op == PT2C_OP_GET_ATTR || nd->op == PT2C_OP_CALL_MODULE) return false;
	const char *t = nd->target;
	if (!t) return true;
	if (strstr(t, "_assert") || strstr(t, "print") || strstr(t, "record_function") || strstr(t, "profiler")) return true;
	if (strncmp(t, "torch.ops.", 10) != 0) return false;
	/* torch.ops.<ns>.<op>.<overload>: an op name ending in '_' mutates, and "out" overloads write */
	const char *last = strrchr(t, '.');
	if (!last || last == t) return true;
	if (strcmp(last + 1, "out") == 0 || strncmp(last + 1, "out_", 4) == 0) return true;
	const char *op = last;
	while (op > t && op[-1] != '.') op--;
	size_t n = (size_t)(last - op);
	if (n >= 4 && op[0] == '_' && op[1] == '_' && op[n - 1] == '_' && op[n - 2] == '_')
		return op[2] == 'i'; /* dunders: only the "__iand__" family mutates */
	return n > 0 && op[n - 1] == '_'; /* the in-place convention: "relu_" */
}

/*
 * is_impure by target: a graph has few distinct targets, each an interned string, and the DCE
 * asks for every node (four substring searches each): remembered by pointer, direct-mapped.
 */
typedef struct impure_cache { const char *target[64]; uint8_t op[64], impure[64]; } impure_cache;

static bool is_impure_cached(impure_cache *c, const pt2c_node *nd)
{
	if (!nd->target) return is_impure(nd);
	size_t k = ((uintptr_t)nd->target >> 4) % PT2C_ARRAY_LEN(c->target);
	if (c->target[k] != nd->target || c->op[k] != nd->op) {
		c->target[k] = nd->target;
		c->op[k] = nd->op;
		c->impure[k] = is_impure(nd);
	}
	return c->impure[k];
}

typedef struct dce_ctx { pt2c_graph *g; uint32_t *stack; size_t n, cap; bool oom; impure_cache impure; } dce_ctx;

/* True if every value node `id` defines is unused (a node defining nothing is never dead). */
static bool node_dead(dce_ctx *c, uint32_t id)
{
	pt2c_graph *g = c->g;
	const pt2c_node *nd = &g->nodes[id];
	if ((nd->flags & PT2C_NODE_ERASED) || nd->n_outputs == 0 || is_impure_cached(&c->impure, nd)) return false;
	uint32_t v = pt2c__node_value(g, id);
	if (v != PT2C_NONE) return g->values[v].n_uses == 0;
	/* several outputs: all of them must be unused; walk the top-level leaves */
	for (uint32_t i = 0; i < nd->n_outputs; i++) {
		const pt2c_arg *o = &nd->outputs[i];
		if (pt2c__arg_is_list(o->kind)) {
			for (uint32_t j = 0; j < o->n; j++)
				if (o->u.items[j].kind != PT2C_ARG_NONE && o->u.items[j].u.ref < g->n_values &&
				    g->values[pt2c__value_resolve(g, o->u.items[j].u.ref)].n_uses)
					return false;
		} else if (o->kind != PT2C_ARG_NONE && o->u.ref < g->n_values &&
		           g->values[pt2c__value_resolve(g, o->u.ref)].n_uses) {
			return false;
		}
	}
	return true;
}

/* After an input's use count dropped: push its producer if that became dead. */
static int cb_release(uint32_t *ref, void *payload)
{
	dce_ctx *c = payload;
	pt2c_graph *g = c->g;
	uint32_t v = pt2c__value_resolve(g, *ref);
	if (v >= g->n_values) return 0;
	uint32_t p = g->values[v].producer;
	if (p == PT2C_NONE || p >= g->n_nodes || !node_dead(c, p)) return 0;
	if (pt2c__grow(g->ctx->alloc, (void **)&c->stack, &c->cap, c->n + 1, sizeof *c->stack)) { c->oom = true; return PT2C_ENOMEM; }
	c->stack[c->n++] = p;
	return 0;
}

static int dce_impl(pt2c_module *m, bool compact, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_graph *g = m->graph;
	assert(pt2c__graph_uses_exact(g)); /* kept by every edit: dead nodes are those with none */
	dce_ctx c;
	memset(&c, 0, sizeof c);
	c.g = g;
	/* seed in reverse order so chains die in one sweep */
	for (uint32_t id = g->last; id != PT2C_NONE; id = g->nodes[id].prev) {
		if (!node_dead(&c, id)) continue;
		if (pt2c__grow(g->ctx->alloc, (void **)&c.stack, &c.cap, c.n + 1, sizeof *c.stack)) { c.oom = true; break; }
		c.stack[c.n++] = id;
	}
	while (!c.oom && c.n) {
		uint32_t id = c.stack[--c.n];
		if (!node_dead(&c, id)) continue; /* pushed twice, or revived */
		pt2c_node *nd = &g->nodes[id];
		uint32_t n_in = nd->n_inputs;
		pt2c_named_arg *in = nd->inputs;
		pt2c__graph_erase_node(g, id); /* decrements the inputs' use counts */
		for (uint32_t i = 0; i < n_in && !c.oom; i++) (void)pt2c__arg_foreach_ref(&in[i].arg, cb_release, &c);
	}
	pt2c__free(g->ctx->alloc, c.stack);
	if (c.oom) return pt2c__err_oom(err);
	return compact ? pt2c__graph_compact(g, err) : 0;
}

/* The public pass: any failure leaves the module as it was. */
int pt2c__pass_dce(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	pt2c_module_undo u;
	if (pt2c__module_save(m, &u)) return pt2c__err_oom(err);
	int rc = dce_impl(m, true, err);
	if (rc) pt2c__module_restore(m, &u);
	else pt2c__module_undo_free(m, &u);
	return rc;
}
int pt2c__pass_dce_nocompact(pt2c_module *m, pt2c_error *err) { return dce_impl(m, false, err); }

/* Is an ENGINE_B64 argument of some live node pointing at this record? */
static bool record_referenced(pt2c_graph *g, const pt2c_map *recs, const pt2c_engine_record *r)
{
	(void)g;
	uintptr_t key = (uintptr_t)r;
	uint64_t v;
	return r && pt2c__map_get(recs, (const char *)&key, sizeof key, &v);
}

int pt2c__pass_remove_unused_submodules(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	if (!m->n_subs) return 0;
	pt2c_graph *g = m->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	uint8_t *used = pt2c__calloc(a, m->n_subs, 1);
	/* record pointers referenced by cross-compile placeholders, as map keys that live in this array */
	size_t cap_keys = 0, n_keys = 0;
	uintptr_t *keys = NULL;
	pt2c_map recs;
	pt2c__map_init(&recs, a);
	int rc = used ? 0 : PT2C_ENOMEM;
	PT2C_GRAPH_FOREACH(g, id) {
		if (rc) break;
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op == PT2C_OP_CALL_MODULE) {
			pt2c_submodule *s = pt2c__module_find_sub(m, nd->target);
			if (s) used[s - m->subs] = 1;
		}
		for (uint32_t i = 0; i < nd->n_inputs; i++) {
			if (nd->inputs[i].arg.kind != PT2C_ARG_ENGINE_B64) continue;
			if (pt2c__grow(a, (void **)&keys, &cap_keys, n_keys + 1, sizeof *keys)) { rc = PT2C_ENOMEM; break; }
			keys[n_keys++] = (uintptr_t)nd->inputs[i].arg.u.engine;
		}
	}
	/* keys no longer move: insert them now */
	for (size_t i = 0; !rc && i < n_keys; i++)
		if (pt2c__map_put(&recs, (const char *)&keys[i], sizeof keys[i], 1, true, NULL)) rc = PT2C_ENOMEM;
	if (!rc) {
		for (uint32_t i = m->n_subs; i-- > 0;) {
			if (used[i] || record_referenced(g, &recs, m->subs[i].engine)) continue;
			pt2c__module_remove_sub(m, m->subs[i].name);
		}
	}
	pt2c__map_free(&recs);
	pt2c__free(a, keys);
	pt2c__free(a, used);
	return rc ? pt2c__err_oom(err) : 0;
}

int pt2c__export_segment_calls(pt2c_module *m, int kind, uint32_t **out, uint32_t *n, pt2c_error *err)
{
	pt2c_graph *g = m->graph;
	*out = NULL;
	*n = 0;
	uint32_t count = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		const pt2c_submodule *sub = nd->op == PT2C_OP_CALL_MODULE ? pt2c__module_find_sub(m, nd->target) : NULL;
		if (sub && sub->kind == kind)
			count++;
	}
	if (!count)
		return 0;
	uint32_t *calls = pt2c__malloc(m->ctx->alloc, (size_t)count * sizeof *calls);
	if (!calls)
		return pt2c__err_oom(err);
	count = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		const pt2c_submodule *sub = nd->op == PT2C_OP_CALL_MODULE ? pt2c__module_find_sub(m, nd->target) : NULL;
		if (sub && sub->kind == kind)
			calls[count++] = id;
	}
	*out = calls;
	*n = count;
	return 0;
}
