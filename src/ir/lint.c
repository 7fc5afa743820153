/* lint.c -- linear graph invariant checks; the message names the first violating node. */
#include "ir/ir.h"

typedef struct lint_ctx {
	pt2c_graph *g;
	const uint32_t *pos; /* node id -> order position, PT2C_NONE if not in the order */
	uint32_t node;       /* node being checked */
	uint32_t bad;        /* offending value id */
	int why;             /* 1 out of range, 2 no live producer, 3 later producer, 4 wrong producer */
} lint_ctx;

/* Inputs: the resolved value must be defined by a live node placed earlier. */
static int cb_lint_input(uint32_t *ref, void *payload)
{
	lint_ctx *lc = payload;
	pt2c_graph *g = lc->g;
	uint32_t v = pt2c__value_resolve(g, *ref);
	lc->bad = v;
	if (v >= g->n_values) {
		lc->why = 1;
		return PT2C_EGRAPH;
	}
	uint32_t p = g->values[v].producer;
	if (p >= g->n_nodes || lc->pos[p] == PT2C_NONE) {
		lc->why = 2;
		return PT2C_EGRAPH;
	}
	if (lc->pos[p] >= lc->pos[lc->node]) {
		lc->why = 3;
		return PT2C_EGRAPH;
	}
	return 0;
}

/* Outputs: every defined value records this node as its producer. */
static int cb_lint_output(uint32_t *ref, void *payload)
{
	lint_ctx *lc = payload;
	lc->bad = *ref;
	if (*ref >= lc->g->n_values) {
		lc->why = 1;
		return PT2C_EGRAPH;
	}
	if (lc->g->values[*ref].producer != lc->node) {
		lc->why = 4;
		return PT2C_EGRAPH;
	}
	return 0;
}

/* The message for a failed reference check. */
static int ref_error(const lint_ctx *lc, const pt2c_node *nd, int rc, pt2c_error *err)
{
	const pt2c_graph *g = lc->g;
	if (rc != PT2C_EGRAPH)
		return pt2c__err(err, rc, "node '%s' has an argument nested too deeply", nd->name);
	if (lc->why == 1)
		return pt2c__err(err, PT2C_EGRAPH, "node '%s' refers to unknown value id %u", nd->name, lc->bad);
	const pt2c_value *v = &g->values[lc->bad];
	if (lc->why == 2)
		return pt2c__err(err, PT2C_EGRAPH, "node '%s' uses '%s', which no live node defines", nd->name, v->name);
	if (lc->why == 3)
		return pt2c__err(err, PT2C_EGRAPH, "node '%s' uses '%s' before it is defined", nd->name, v->name);
	const char *other = v->producer < g->n_nodes ? g->nodes[v->producer].name : "(none)";
	return pt2c__err(err, PT2C_EGRAPH, "node '%s' lists output '%s', whose producer is '%s'", nd->name, v->name,
	                 other);
}

static int lint_graph(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, pt2c_error *err);

/* HOP subgraphs (as_graph inputs) must be valid graphs of their own; nesting is capped. */
static int lint_subgraphs(pt2c_node *nd, int depth, pt2c_error *err)
{
	for (uint32_t i = 0; i < nd->n_inputs; i++) {
		const pt2c_arg *a = &nd->inputs[i].arg;
		if (a->kind != PT2C_ARG_GRAPH || !a->u.g.graph)
			continue;
		const char *gname = a->u.g.name ? a->u.g.name : "?";
		if (depth >= 16)
			return pt2c__err(err, PT2C_EUNSUPPORTED, "subgraph '%s' of node '%s' is nested too deeply", gname, nd->name);
		pt2c_error inner = PT2C_ERROR_INIT;
		int rc = lint_graph(a->u.g.graph, NULL, NULL, depth + 1, &inner);
		if (rc)
			return pt2c__err(err, rc, "subgraph '%s' of node '%s': %s", gname, nd->name, inner.message);
	}
	return 0;
}

int pt2c__graph_lint(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, pt2c_error *err)
{
	return lint_graph(g, resolve_target, payload, 0, err);
}

/* pt2c__graph_lint at a subgraph nesting depth. */
static int lint_graph(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, pt2c_error *err)
{
	PT2C_ASSERT_ARG(g);
	const pt2c_allocator *a = g->ctx->alloc;
	uint32_t *pos = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *pos);
	if (!pos)
		return pt2c__err_oom(err);
	for (uint32_t i = 0; i < g->n_nodes; i++)
		pos[i] = PT2C_NONE;
	/*
	 * Duplicate names: a table of node ids hashed by name (4 bytes a slot, at most half full)
	 * rather than a pt2c_map (24 bytes a slot, copied when it grows): lint runs at the export's
	 * memory peak.
	 */
	size_t cap = 16;
	while (cap < 2 * (size_t)g->n_nodes)
		cap *= 2;
	uint32_t *seen = pt2c__malloc(a, cap * sizeof *seen);
	if (!seen) {
		pt2c__free(a, pos);
		return pt2c__err_oom(err);
	}
	memset(seen, 0xff, cap * sizeof *seen); /* PT2C_NONE */
	int rc = 0;

	/* pass 1: the order list itself, names, targets, placeholder/output placement */
	uint32_t n = 0, output = PT2C_NONE, first_other = PT2C_NONE;
	uint32_t prev = PT2C_NONE;
	for (uint32_t id = g->first; id != PT2C_NONE; id = g->nodes[id].next) {
		if (id >= g->n_nodes || pos[id] != PT2C_NONE || g->nodes[id].prev != prev) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node order list is broken at node id %u", id);
			goto out;
		}
		pt2c_node *nd = &g->nodes[id];
		pos[id] = n++;
		prev = id;
		if (nd->flags & PT2C_NODE_ERASED) {
			rc = pt2c__err(err, PT2C_EGRAPH, "erased node '%s' is still in the order", nd->name ? nd->name : "");
			goto out;
		}
		if (!nd->name || !nd->name[0]) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node at position %u has no name", n - 1);
			goto out;
		}
		bool dup = false;
		size_t len = strlen(nd->name);
		for (size_t h = pt2c__hash(nd->name, len) & (cap - 1);; h = (h + 1) & (cap - 1)) {
			if (seen[h] == PT2C_NONE) {
				seen[h] = id;
				break;
			}
			if (strcmp(g->nodes[seen[h]].name, nd->name) == 0) {
				dup = true;
				break;
			}
		}
		if (dup) {
			rc = pt2c__err(err, PT2C_EGRAPH, "duplicate node name '%s'", nd->name);
			goto out;
		}
		if (nd->op >= PT2C_OP__COUNT) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node '%s' has unknown op %u", nd->name, nd->op);
			goto out;
		}
		if (nd->op != PT2C_OP_OUTPUT && (!nd->target || !nd->target[0])) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node '%s' has an empty target", nd->name);
			goto out;
		}
		if (output != PT2C_NONE) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node '%s' comes after the output node '%s'", nd->name,
			               g->nodes[output].name);
			goto out;
		}
		if (nd->op == PT2C_OP_PLACEHOLDER && first_other != PT2C_NONE) {
			rc = pt2c__err(err, PT2C_EGRAPH, "placeholder '%s' comes after node '%s'", nd->name,
			               g->nodes[first_other].name);
			goto out;
		}
		if (nd->op != PT2C_OP_PLACEHOLDER && first_other == PT2C_NONE)
			first_other = id;
		if (nd->op == PT2C_OP_OUTPUT)
			output = id;
		if (resolve_target && (nd->op == PT2C_OP_GET_ATTR || nd->op == PT2C_OP_CALL_MODULE) &&
		    !resolve_target(nd, payload)) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node '%s' has target '%s', which does not resolve", nd->name,
			               nd->target);
			goto out;
		}
	}
	if (prev != g->last) {
		rc = pt2c__err(err, PT2C_EGRAPH, "node order list does not end at the last node");
		goto out;
	}
	if (output == PT2C_NONE) {
		rc = pt2c__err(err, PT2C_EGRAPH, "graph has no output node");
		goto out;
	}

	/* pass 2: def before use (which also rules out cycles) and consistent producers */
	lint_ctx lc = { g, pos, 0, 0, 0 };
	for (uint32_t id = g->first; id != PT2C_NONE; id = g->nodes[id].next) {
		pt2c_node *nd = &g->nodes[id];
		lc.node = id;
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			if ((rc = pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_lint_input, &lc))) {
				rc = ref_error(&lc, nd, rc, err);
				goto out;
			}
		for (uint32_t i = 0; i < nd->n_outputs; i++)
			if ((rc = pt2c__arg_foreach_ref(&nd->outputs[i], cb_lint_output, &lc))) {
				rc = ref_error(&lc, nd, rc, err);
				goto out;
			}
		if ((rc = lint_subgraphs(nd, depth, err)))
			goto out;
	}
out:
	pt2c__free(a, seen);
	pt2c__free(a, pos);
	return rc;
}
