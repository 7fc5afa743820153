/* module.c -- modules: a graph plus attributes and submodules, all in one refcounted ctx. */
#include "ir/ir.h"

int pt2c__module_new(pt2c_ctx *ctx, pt2c_module **out)
{
	PT2C_ASSERT_ARG(ctx && out);
	*out = NULL;
	pt2c_module *m = pt2c__calloc(ctx->alloc, 1, sizeof *m);
	if (!m)
		return PT2C_ENOMEM;
	int rc = pt2c__graph_new(ctx, &m->graph);
	if (rc) {
		pt2c__free(ctx->alloc, m);
		return rc;
	}
	m->ctx = pt2c__ctx_ref(ctx);
	pt2c__map_init(&m->attr_by_fqn, ctx->alloc);
	pt2c__map_init(&m->sub_by_name, ctx->alloc);
	pt2c__map_init(&m->op_schemas, ctx->alloc);
	*out = m;
	return 0;
}

/* Drop the references an engine record holder owns (one on its engine storage). */
static void engine_release(pt2c_engine_record *e)
{
	if (e)
		pt2c__storage_unref(e->engine);
}

void pt2c__module_free(pt2c_module *m)
{
	if (!m)
		return;
	pt2c_ctx *ctx = m->ctx;
	const pt2c_allocator *a = ctx->alloc;
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		pt2c__storage_unref(m->attrs[i].tensor.storage);
		pt2c__storage_unref(m->attrs[i].blob);
		engine_release(m->attrs[i].engine);
	}
	for (uint32_t i = 0; i < m->n_subs; i++) {
		engine_release(m->subs[i].engine);
		pt2c__module_free(m->subs[i].fallback);
	}
	pt2c__free(a, m->attrs);
	pt2c__free(a, m->subs);
	pt2c__map_free(&m->attr_by_fqn);
	pt2c__map_free(&m->sub_by_name);
	pt2c__map_free(&m->op_schemas);
	pt2c__graph_free(m->graph);
	pt2c__free(a, m);
	pt2c__ctx_unref(ctx);
}

int pt2c__module_add_attr(pt2c_module *m, const char *fqn, int kind, pt2c_attr **out)
{
	PT2C_ASSERT_ARG(m && fqn);
	if (out)
		*out = NULL;
	size_t n = strlen(fqn);
	uint64_t idx;
	if (pt2c__map_get(&m->attr_by_fqn, fqn, n, &idx))
		return PT2C_EGRAPH;
	const char *s = pt2c__ctx_intern(m->ctx, fqn, n);
	if (!s)
		return PT2C_ENOMEM;
	size_t cap = m->cap_attrs;
	void *p = m->attrs;
	if (m->n_attrs == UINT32_MAX || pt2c__grow(m->ctx->alloc, &p, &cap, (size_t)m->n_attrs + 1, sizeof(pt2c_attr)))
		return PT2C_ENOMEM;
	m->attrs = p;
	m->cap_attrs = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	if (pt2c__map_put(&m->attr_by_fqn, s, n, m->n_attrs, true, NULL))
		return PT2C_ENOMEM;
	pt2c_attr *at = &m->attrs[m->n_attrs++];
	memset(at, 0, sizeof *at);
	at->fqn = s;
	at->kind = (uint8_t)kind;
	at->persistent = true;
	if (out)
		*out = at;
	return 0;
}

pt2c_attr *pt2c__module_find_attr(const pt2c_module *m, const char *fqn)
{
	uint64_t idx;
	if (!m || !fqn || !pt2c__map_gets(&m->attr_by_fqn, fqn, &idx) || idx >= m->n_attrs)
		return NULL;
	return &m->attrs[idx];
}

int pt2c__module_add_sub(pt2c_module *m, const char *name, int kind, pt2c_submodule **out)
{
	PT2C_ASSERT_ARG(m && name);
	if (out)
		*out = NULL;
	size_t n = strlen(name);
	uint64_t idx;
	if (pt2c__map_get(&m->sub_by_name, name, n, &idx))
		return PT2C_EGRAPH;
	const char *s = pt2c__ctx_intern(m->ctx, name, n);
	if (!s)
		return PT2C_ENOMEM;
	size_t cap = m->cap_subs;
	void *p = m->subs;
	if (m->n_subs == UINT32_MAX || pt2c__grow(m->ctx->alloc, &p, &cap, (size_t)m->n_subs + 1, sizeof(pt2c_submodule)))
		return PT2C_ENOMEM;
	m->subs = p;
	m->cap_subs = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	if (pt2c__map_put(&m->sub_by_name, s, n, m->n_subs, true, NULL))
		return PT2C_ENOMEM;
	pt2c_submodule *sub = &m->subs[m->n_subs++];
	memset(sub, 0, sizeof *sub);
	sub->name = s;
	sub->kind = (uint8_t)kind;
	if (out)
		*out = sub;
	return 0;
}

pt2c_submodule *pt2c__module_find_sub(const pt2c_module *m, const char *name)
{
	uint64_t idx;
	if (!m || !name || !pt2c__map_gets(&m->sub_by_name, name, &idx) || idx >= m->n_subs)
		return NULL;
	return &m->subs[idx];
}

void pt2c__module_remove_sub(pt2c_module *m, const char *name)
{
	pt2c_submodule *sub = pt2c__module_find_sub(m, name);
	if (!sub)
		return;
	uint32_t idx = (uint32_t)(sub - m->subs);
	engine_release(sub->engine);
	pt2c__module_free(sub->fallback);
	memmove(&m->subs[idx], &m->subs[idx + 1], (size_t)(m->n_subs - idx - 1) * sizeof *sub);
	m->n_subs--;
	/* the map cannot delete: rebuild it in its own slots (fewer keys than before: no allocation) */
	pt2c__map_clear(&m->sub_by_name);
	for (uint32_t i = 0; i < m->n_subs; i++)
		(void)pt2c__map_put(&m->sub_by_name, m->subs[i].name, strlen(m->subs[i].name), i, true, NULL);
}

/* MARK: undo */

int pt2c__module_save(const pt2c_module *m, pt2c_module_undo *u)
{
	PT2C_ASSERT_ARG(m && m->graph && u);
	const pt2c_graph *g = m->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	memset(u, 0, sizeof *u);
	u->n_nodes = g->n_nodes;
	u->n_values = g->n_values;
	u->first = g->first;
	u->last = g->last;
	u->n_live = g->n_live;
	u->is_single_tensor_return = g->is_single_tensor_return;
	u->n_attrs = m->n_attrs;
	u->mutation_targets = m->mutation_targets;
	u->n_mutation_outputs = m->n_mutation_outputs;
	u->nodes = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *u->nodes);
	u->values = pt2c__malloc(a, ((size_t)g->n_values + 1) * sizeof *u->values);
	int rc = !u->nodes || !u->values ? PT2C_ENOMEM : 0;
	if (!rc)
		rc = pt2c__map32_clone(&u->names, &g->names);
	if (!rc && (rc = pt2c__map_clone(&u->base_count, &g->base_count)))
		pt2c__map32_free(&u->names);
	if (!rc && (rc = pt2c__map_clone(&u->attr_by_fqn, &m->attr_by_fqn))) {
		pt2c__map32_free(&u->names);
		pt2c__map_free(&u->base_count);
	}
	if (rc) {
		pt2c__free(a, u->nodes);
		pt2c__free(a, u->values);
		memset(u, 0, sizeof *u);
		return PT2C_ENOMEM;
	}
	if (g->n_nodes)
		memcpy(u->nodes, g->nodes, (size_t)g->n_nodes * sizeof *u->nodes);
	if (g->n_values)
		memcpy(u->values, g->values, (size_t)g->n_values * sizeof *u->values);
	return 0;
}

void pt2c__module_undo_free(const pt2c_module *m, pt2c_module_undo *u)
{
	const pt2c_allocator *a = m->ctx->alloc;
	pt2c__free(a, u->nodes);
	pt2c__free(a, u->values);
	pt2c__map32_free(&u->names);
	pt2c__map_free(&u->base_count);
	pt2c__map_free(&u->attr_by_fqn);
	memset(u, 0, sizeof *u);
}

void pt2c__module_restore(pt2c_module *m, pt2c_module_undo *u)
{
	pt2c_graph *g = m->graph;
	const pt2c_allocator *a = m->ctx->alloc;
	/* the saved arrays replace the current ones (their capacity is what was saved, plus one) */
	pt2c__free(a, g->nodes);
	pt2c__free(a, g->values);
	g->nodes = u->nodes;
	g->values = u->values;
	g->n_nodes = u->n_nodes;
	g->cap_nodes = u->n_nodes + 1;
	g->n_values = u->n_values;
	g->cap_values = u->n_values + 1;
	g->first = u->first;
	g->last = u->last;
	g->n_live = u->n_live;
	g->is_single_tensor_return = u->is_single_tensor_return;
	pt2c__map32_free(&g->names);
	g->names = u->names;
	g->memo_name = NULL; /* its entry pointed into the table just freed */
	g->memo_slot = NULL;
	pt2c__map_free(&g->base_count);
	g->base_count = u->base_count;
	/* attributes added since: drop the references they took */
	for (uint32_t i = u->n_attrs; i < m->n_attrs; i++) {
		pt2c__storage_unref(m->attrs[i].tensor.storage);
		pt2c__storage_unref(m->attrs[i].blob);
		engine_release(m->attrs[i].engine);
	}
	m->n_attrs = u->n_attrs;
	m->mutation_targets = u->mutation_targets;
	m->n_mutation_outputs = u->n_mutation_outputs;
	pt2c__map_free(&m->attr_by_fqn);
	m->attr_by_fqn = u->attr_by_fqn;
	memset(u, 0, sizeof *u);
}
