/*
 * lint.c -- linear graph invariant checks; the message names the first violating node.
 *
 * A large graph is checked on helper threads first (lint_par_run): the order list is walked on the
 * calling thread, then ranges of it are checked at once (names, targets, references). Only a
 * graph that passes is taken from there; any failure (or a lack of memory) checks it again in
 * order, which reports the first violation as it always did.
 */
#include "ir/ir.h"

typedef struct lint_ctx {
	pt2c_graph *g;
	const uint32_t *pos; /* node id -> order position, PT2C_NONE if not in the order */
	uint32_t node;       /* node being checked */
	uint32_t bad;        /* offending value id */
	int why;             /* 1 out of range, 2 no live producer, 3 later producer, 4 wrong producer */
	bool shared;         /* on a helper thread: resolve without changing the graph */
} lint_ctx;

/* Inputs: the resolved value must be defined by a live node placed earlier. */
static int cb_lint_input(uint32_t *ref, void *payload)
{
	lint_ctx *lc = payload;
	pt2c_graph *g = lc->g;
	uint32_t v = lc->shared ? pt2c__value_resolve_const(g, *ref) : pt2c__value_resolve(g, *ref);
	if (lc->shared && v < g->n_values && g->values[v].forward != PT2C_NONE)
		return PT2C_EGRAPH; /* a forwarding cycle: left to the check in order */
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
static int lint_serial(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, pt2c_error *err);

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

/*
 * Duplicate names: a table of (name hash << 32 | node id) slots, all ones when free, at most
 * half full -- 8 bytes a slot rather than a pt2c_map's 24 (lint runs at the export's memory
 * peak; a pt2c_map would also be copied as it grows), and the hash in the slot spares reading
 * another node's name unless the hashes match.
 * Filled with compare-and-swap, so ranges of nodes can claim their names at once.
 */
typedef struct seen_table { uint64_t *slots; size_t mask; } seen_table;

static int seen_init(seen_table *t, const pt2c_allocator *a, uint32_t n)
{
	size_t cap = 16;
	while (cap < 2 * (size_t)n)
		cap *= 2;
	t->mask = cap - 1;
	t->slots = pt2c__malloc_filled(a, cap, sizeof *t->slots, 0xff);
	return t->slots ? 0 : PT2C_ENOMEM;
}

/* Claim node id's name (hash h): false if another node has it. The nodes are only read. */
static bool seen_claim(const seen_table *t, const pt2c_node *nodes, uint32_t id, uint32_t h)
{
	uint64_t mine = (uint64_t)h << 32 | id;
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint64_t cur = UINT64_MAX;
		if (__atomic_compare_exchange_n(&t->slots[i], &cur, mine, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
		if ((uint32_t)(cur >> 32) == h && strcmp(nodes[(uint32_t)cur].name, nodes[id].name) == 0)
			return false;
	}
}

static uint32_t name_hash(const char *name)
{
	return pt2c__hash(name, strlen(name));
}

/* MARK: on helper threads */

static unsigned long passed_on_helpers; /* graphs that passed lint_par_run (atomic) */

unsigned long pt2c__graph_lint_par_count(void)
{
	return __atomic_load_n(&passed_on_helpers, __ATOMIC_RELAXED);
}

typedef struct lint_par {
	pt2c_graph *g;
	const uint32_t *pos, *order; /* node id -> position; position -> node id */
	seen_table seen;
	pt2c_target_cb resolve_target;
	void *payload;
	int depth;
} lint_par;

/* The checks of both passes that the walk of the order list left, for positions [begin, end). */
static int lint_range(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	lint_par *lp = ctx;
	pt2c_graph *g = lp->g;
	lint_ctx lc = { g, lp->pos, 0, 0, 0, true };
	/*
	 * Each name and its table slot are a cache miss: the name AHEAD2 nodes on is loaded, the
	 * slot of the one AHEAD nodes on (its hash kept in a ring) while this node is checked.
	 */
	enum { AHEAD = 8, AHEAD2 = 16 };
	uint32_t ring[AHEAD];
	for (size_t p = begin; p < end && p < begin + AHEAD2; p++)
		__builtin_prefetch(g->nodes[lp->order[p]].name);
	for (size_t p = begin; p < end && p < begin + AHEAD; p++)
		ring[p % AHEAD] = name_hash(g->nodes[lp->order[p]].name);
	for (size_t p = begin; p < end; p++) {
		uint32_t id = lp->order[p];
		pt2c_node *nd = &g->nodes[id];
		uint32_t h = ring[p % AHEAD];
		if (p + AHEAD2 < end)
			__builtin_prefetch(g->nodes[lp->order[p + AHEAD2]].name);
		if (p + AHEAD < end) {
			uint32_t ha = name_hash(g->nodes[lp->order[p + AHEAD]].name);
			ring[(p + AHEAD) % AHEAD] = ha;
			__builtin_prefetch(&lp->seen.slots[ha & lp->seen.mask]);
		}
		if (!seen_claim(&lp->seen, g->nodes, id, h))
			return PT2C_EGRAPH;
		if (lp->resolve_target && (nd->op == PT2C_OP_GET_ATTR || nd->op == PT2C_OP_CALL_MODULE) &&
		    !lp->resolve_target(nd, lp->payload))
			return PT2C_EGRAPH;
		lc.node = id;
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			if (pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_lint_input, &lc))
				return PT2C_EGRAPH;
		for (uint32_t i = 0; i < nd->n_outputs; i++)
			if (pt2c__arg_foreach_ref(&nd->outputs[i], cb_lint_output, &lc))
				return PT2C_EGRAPH;
		pt2c_error inner = PT2C_ERROR_INIT;
		if (lint_subgraphs(nd, lp->depth, &inner))
			return PT2C_EGRAPH;
	}
	return 0;
}

/*
 * 0 when g passes every check of lint_graph, checked on `helpers` helper threads; nonzero when
 * it does not or memory ran out (the caller then checks in order and reports).
 */
static int lint_par_run(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, unsigned helpers)
{
	const pt2c_allocator *a = g->ctx->alloc;
	seen_table seen = { NULL, 0 };
	uint32_t *pos = pt2c__malloc_filled(a, (size_t)g->n_nodes + 1, sizeof *pos, 0xff); /* PT2C_NONE */
	uint32_t *order = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *order);
	pt2c__prefault(a, order, ((size_t)g->n_nodes + 1) * sizeof *order);
	int rc = pos && order ? seen_init(&seen, a, g->n_nodes) : PT2C_ENOMEM;
	if (rc)
		goto out;
	/* pass 1 without the names table and the targets: the order list and each node's own fields */
	uint32_t n = 0, prev = PT2C_NONE;
	bool output = false, other = false;
	for (uint32_t id = g->first; id != PT2C_NONE; id = g->nodes[id].next) {
		if (id >= g->n_nodes || pos[id] != PT2C_NONE || g->nodes[id].prev != prev) {
			rc = PT2C_EGRAPH;
			goto out;
		}
		const pt2c_node *nd = &g->nodes[id];
		pos[id] = n;
		order[n++] = id;
		prev = id;
		if ((nd->flags & PT2C_NODE_ERASED) || !nd->name || !nd->name[0] || nd->op >= PT2C_OP__COUNT ||
		    (nd->op != PT2C_OP_OUTPUT && (!nd->target || !nd->target[0])) || output ||
		    (nd->op == PT2C_OP_PLACEHOLDER && other)) {
			rc = PT2C_EGRAPH;
			goto out;
		}
		other = other || nd->op != PT2C_OP_PLACEHOLDER;
		output = nd->op == PT2C_OP_OUTPUT;
	}
	if (prev != g->last || !output) {
		rc = PT2C_EGRAPH;
		goto out;
	}
	lint_par lp = { g, pos, order, seen, resolve_target, payload, depth };
	pt2c_par_job job = { n, pt2c__thread_tuning.chunk_items, lint_range, &lp, a, helpers };
	rc = pt2c__par_run(&job);
	if (!rc)
		__atomic_add_fetch(&passed_on_helpers, 1, __ATOMIC_RELAXED);
out:
	pt2c__free(a, seen.slots);
	pt2c__free(a, order);
	pt2c__free(a, pos);
	return rc;
}

/* MARK: in order */

/* pt2c__graph_lint at a subgraph nesting depth. */
static int lint_graph(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, pt2c_error *err)
{
	PT2C_ASSERT_ARG(g);
	/* the top graph only: a subgraph is checked within one range of its node's graph */
	unsigned helpers = depth == 0 ? pt2c__helper_threads(g->ctx->alloc, g->n_nodes, 15) : 0;
	if (helpers && lint_par_run(g, resolve_target, payload, depth, helpers) == 0)
		return 0;
	return lint_serial(g, resolve_target, payload, depth, err);
}

/* lint_graph in order, on the calling thread. */
static int lint_serial(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, int depth, pt2c_error *err)
{
	PT2C_ASSERT_ARG(g);
	const pt2c_allocator *a = g->ctx->alloc;
	uint32_t *pos = pt2c__malloc_filled(a, (size_t)g->n_nodes + 1, sizeof *pos, 0xff); /* PT2C_NONE */
	if (!pos)
		return pt2c__err_oom(err);
	seen_table seen; /* duplicate names (see seen_table) */
	if (seen_init(&seen, a, g->n_nodes)) {
		pt2c__free(a, pos);
		return pt2c__err_oom(err);
	}
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
		if (!seen_claim(&seen, g->nodes, id, name_hash(nd->name))) {
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
	lint_ctx lc = { g, pos, 0, 0, 0, false };
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
	pt2c__free(a, seen.slots);
	pt2c__free(a, pos);
	return rc;
}
