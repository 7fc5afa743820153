/* program.c -- exported programs: a module plus the export signature and archive extras. */
#include "ir/ir.h"

int pt2c__program_new(pt2c_ctx *ctx, pt2c_program **out)
{
	PT2C_ASSERT_ARG(ctx && out);
	*out = NULL;
	pt2c_program *p = pt2c__calloc(ctx->alloc, 1, sizeof *p);
	if (!p)
		return PT2C_ENOMEM;
	int rc = pt2c__module_new(ctx, &p->mod);
	if (rc) {
		pt2c__free(ctx->alloc, p);
		return rc;
	}
	p->ctx = pt2c__ctx_ref(ctx);
	p->schema_major = 8;
	p->schema_minor = 17;
	p->opsets = pt2c__arena_zalloc(&ctx->arena, sizeof *p->opsets);
	if (!p->opsets || !(p->opsets[0].name = pt2c__ctx_interns(ctx, "aten"))) {
		pt2c__program_free(p);
		return PT2C_ENOMEM;
	}
	p->opsets[0].version = 10;
	p->n_opsets = 1;
	*out = p;
	return 0;
}

/* Free the subgraphs reachable from g's node inputs (depth-first), clearing the references. */
static void free_subgraphs(pt2c_graph *g, uint32_t depth)
{
	for (uint32_t i = 0; i < g->n_nodes; i++) {
		for (uint32_t j = 0; j < g->nodes[i].n_inputs; j++) {
			pt2c_arg *a = &g->nodes[i].inputs[j].arg;
			pt2c_arg *items = a;
			uint32_t n = 1;
			if (a->kind == PT2C_ARG_STRING_TO_ARGUMENT) {
				items = a->u.map->items;
				n = a->n;
			}
			for (uint32_t k = 0; k < n; k++) {
				pt2c_arg *s = &items[k];
				if (s->kind != PT2C_ARG_GRAPH || !s->u.g.graph)
					continue;
				if (depth < PT2C_SUBGRAPH_MAX_DEPTH)
					free_subgraphs(s->u.g.graph, depth + 1);
				pt2c__graph_free(s->u.g.graph);
				s->u.g.graph = NULL;
			}
		}
	}
}

void pt2c__program_free_subgraphs(pt2c_program *p)
{
	if (p && p->ctx->has_subgraphs && p->mod && p->mod->graph)
		free_subgraphs(p->mod->graph, 0);
}

void pt2c__program_free(pt2c_program *p)
{
	if (!p)
		return;
	pt2c__program_free_subgraphs(p);
	pt2c_ctx *ctx = p->ctx;
	pt2c__module_free(p->mod);
	for (uint32_t i = 0; i < p->n_extra; i++)
		pt2c__storage_unref(p->extra[i].data);
	if (p->cap_extra)
		pt2c__free(ctx->alloc, p->extra);
	pt2c__storage_unref(p->sample_inputs);
	pt2c__free(ctx->alloc, p);
	pt2c__ctx_unref(ctx);
}

typedef struct remap_ctx { const uint32_t *map; uint32_t n; } remap_ctx;

/* Rewrite a signature ref through the compaction map; PT2C_EGRAPH if dropped. */
static int cb_remap(uint32_t *ref, void *payload)
{
	const remap_ctx *rc = payload;
	if (*ref >= rc->n || rc->map[*ref] == PT2C_NONE)
		return PT2C_EGRAPH;
	*ref = rc->map[*ref];
	return 0;
}

int pt2c__program_compact(pt2c_program *p, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph);
	pt2c_graph *g = p->mod->graph;
	uint32_t n = g->n_values;
	uint32_t *map = pt2c__malloc(p->ctx->alloc, ((size_t)n + 1) * sizeof *map);
	if (!map)
		return pt2c__err_oom(err);
	int rc = pt2c__graph_compact_map(g, map, err);
	remap_ctx rm = { map, n };
	for (uint32_t i = 0; !rc && i < p->n_inputs; i++)
		if (pt2c__arg_foreach_ref(&p->inputs[i].arg, cb_remap, &rm))
			rc = pt2c__err(err, PT2C_EGRAPH, "input spec %u refers to a value that is no longer defined", i);
	for (uint32_t i = 0; !rc && i < p->n_outputs; i++)
		if (pt2c__arg_foreach_ref(&p->outputs[i].arg, cb_remap, &rm))
			rc = pt2c__err(err, PT2C_EGRAPH, "output spec %u refers to a value that is no longer defined", i);
	pt2c__free(p->ctx->alloc, map);
	return rc;
}
