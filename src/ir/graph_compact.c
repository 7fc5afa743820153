/*
 * graph_compact.c -- compaction: renumber the live nodes and values of a graph in order, in place.
 */
#include <assert.h>

#include "ir/graph_internal.h"

/* MARK: compaction */

typedef struct compact_ctx {
	pt2c_graph *g;
	uint32_t *value_new; /* old value id -> new id or NONE */
	uint32_t node_new;   /* new id of the node being visited */
	uint32_t n_new_values;
	uint32_t bad;        /* first offending old value id (for the message) */
	bool rewrite;
	bool shared;         /* on a helper thread: resolve without changing the graph */
} compact_ctx;

/* Pass 1 over outputs: number the values defined by live nodes in definition order. */
static int cb_number_output(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	if (*ref >= cc->g->n_values) {
		cc->bad = *ref;
		return PT2C_EGRAPH;
	}
	if (cc->value_new[*ref] == PT2C_NONE)
		cc->value_new[*ref] = cc->n_new_values++;
	return 0;
}

/* Inputs: resolve forwards, check the value survives, and (second pass) rewrite the ref. */
static int cb_check_input(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	uint32_t v = cc->shared ? pt2c__value_resolve_const(cc->g, *ref) : pt2c__value_resolve(cc->g, *ref);
	if (cc->shared && v < cc->g->n_values && cc->g->values[v].forward != PT2C_NONE)
		return PT2C_EGRAPH; /* a forwarding cycle: left to the pass in order */
	if (v >= cc->g->n_values || cc->value_new[v] == PT2C_NONE) {
		cc->bad = v;
		return PT2C_EGRAPH;
	}
	if (cc->rewrite)
		*ref = cc->value_new[v];
	return 0;
}

/* Outputs are not resolved: they name the value the node itself defines. */
static int cb_rewrite_output(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	*ref = cc->value_new[*ref];
	return 0;
}

/*
 * Move element i of base (n elements of `size` bytes) to position dest[i], for every i with
 * dest[i] != PT2C_NONE; dest must be injective. Elements not given a position are dropped.
 * Follows each chain of displacements once (O(n), two elements of scratch); dest is consumed
 * (left all PT2C_NONE).
 */
static void permute(void *base, size_t size, uint32_t n, uint32_t *dest)
{
	union { pt2c_node node; pt2c_value value; } t[2];
	assert(size <= sizeof t[0]);
	unsigned char *b = base, *cur = (unsigned char *)&t[0], *nxt = (unsigned char *)&t[1];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t d = dest[i];
		dest[i] = PT2C_NONE;
		if (d == PT2C_NONE || d == i)
			continue;
		memcpy(cur, b + (size_t)i * size, size);
		/* a slot whose dest is NONE holds a dropped or already moved element: it ends the chain */
		while (d != PT2C_NONE) {
			uint32_t dd = dest[d];
			dest[d] = PT2C_NONE;
			memcpy(nxt, b + (size_t)d * size, size);
			memcpy(b + (size_t)d * size, cur, size);
			unsigned char *sw = cur;
			cur = nxt;
			nxt = sw;
			d = dd;
		}
	}
}

/*
 * The names entries of values [begin, end) get their (new) ids. Value names are unique, so no
 * two values share an entry: ranges can run at once (the stores are atomic all the same, so a
 * graph that breaks that rule gets some id rather than a data race).
 */
static int renumber_names(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	pt2c_graph *g = ctx;
	enum { AHEAD = 8 }; /* each entry is a cache miss: load the one AHEAD values on meanwhile */
	uint32_t ring[AHEAD];
	size_t len[AHEAD];
	for (size_t v = begin; v < end && v < begin + AHEAD; v++) {
		len[v % AHEAD] = strlen(g->values[v].name);
		ring[v % AHEAD] = pt2c__hash(g->values[v].name, len[v % AHEAD]);
	}
	for (size_t v = begin; v < end; v++) {
		uint32_t h = ring[v % AHEAD];
		size_t n = len[v % AHEAD];
		if (v + AHEAD < end) {
			const char *an = g->values[v + AHEAD].name;
			size_t k = (v + AHEAD) % AHEAD;
			len[k] = strlen(an);
			ring[k] = pt2c__hash(an, len[k]);
			pt2c__map32_prefetch_h(&g->names, ring[k]);
		}
		uint32_t *e = pt2c__map32_find_h(&g->names, g->values[v].name, n, h, true);
		if (e)
			__atomic_store_n(e, NAME_WITH_VID(__atomic_load_n(e, __ATOMIC_RELAXED), (uint32_t)v), __ATOMIC_RELAXED);
	}
	return 0;
}

/*
 * The passes over every node's arguments, for the positions [begin, end) of the order list, on
 * helper threads: checking the inputs (read only: a failure is reported by the caller's check in
 * order), then rewriting inputs and outputs (each node's own arrays).
 */
typedef struct compact_par {
	pt2c_graph *g;
	const uint32_t *order;
	uint32_t *value_new;
	bool rewrite;
} compact_par;

static unsigned long checked_on_helpers; /* compactions whose inputs passed compact_range (atomic) */

unsigned long pt2c__graph_compact_par_count(void)
{
	return __atomic_load_n(&checked_on_helpers, __ATOMIC_RELAXED);
}

static int compact_range(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	compact_par *cp = ctx;
	compact_ctx cc = { cp->g, cp->value_new, 0, 0, PT2C_NONE, cp->rewrite, true };
	for (size_t p = begin; p < end; p++) {
		pt2c_node *nd = &cp->g->nodes[cp->order[p]];
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			if (pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_check_input, &cc))
				return PT2C_EGRAPH;
		for (uint32_t i = 0; cp->rewrite && i < nd->n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&nd->outputs[i], cb_rewrite_output, &cc);
	}
	return 0;
}

int pt2c__graph_compact_map(pt2c_graph *g, uint32_t *value_map_out, pt2c_error *err)
{
	PT2C_ASSERT_ARG(g);
	const pt2c_allocator *a = g->ctx->alloc;
	uint32_t nv = g->n_values;
	compact_ctx cc = { g, NULL, 0, 0, PT2C_NONE, false, false };
	cc.value_new = pt2c__malloc(a, ((size_t)nv + 1) * sizeof(uint32_t));
	if (!cc.value_new)
		return pt2c__err_oom(err);
	for (uint32_t v = 0; v < nv; v++)
		cc.value_new[v] = PT2C_NONE;

	/*
	 * Every allocation comes before the first change: an allocation failure must leave the graph
	 * as it was (rewriting the inputs first and then failing left them naming new ids).
	 */
	uint32_t *node_new = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *node_new);
	/* the order list as an array (position -> node id), for the passes on helper threads */
	unsigned helpers = pt2c__helper_threads(a, g->n_nodes, 15);
	uint32_t *order = helpers ? pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *order) : NULL;
	if (!node_new) {
		pt2c__free(a, order);
		pt2c__free(a, cc.value_new);
		return pt2c__err_oom(err);
	}
	int rc = 0;
	uint32_t visited = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		if (++visited > g->n_nodes) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node order list is cyclic");
			goto out;
		}
		if (order)
			order[visited - 1] = id;
		for (uint32_t i = 0; i < nd->n_outputs; i++) {
			if ((rc = pt2c__arg_foreach_ref(&nd->outputs[i], cb_number_output, &cc))) {
				if (rc == PT2C_EGRAPH)
					rc = pt2c__err(err, rc, "node '%s' defines an unknown value id %u", nd->name, cc.bad);
				else
					rc = pt2c__err(err, rc, "node '%s' has an output tree nested too deeply", nd->name);
				goto out;
			}
		}
	}
	/* check every input before changing anything, so a failure leaves the graph as it was */
	compact_par cp = { g, order, cc.value_new, false };
	pt2c_par_job job = { visited, pt2c__thread_tuning.chunk_items, compact_range, &cp, a, helpers };
	bool done = order && pt2c__par_run(&job) == 0; /* else checked in order below, for the message */
	if (done) {
		__atomic_add_fetch(&checked_on_helpers, 1, __ATOMIC_RELAXED);
		cp.rewrite = true; /* inputs and outputs, which cannot fail now */
		(void)pt2c__par_run(&job);
	}
	for (int pass = 0; pass < 2 && !done; pass++) {
		/* pass 1 rewrites: nothing after it may fail (it cannot: pass 0 saw the same trees) */
		cc.rewrite = pass == 1;
		PT2C_GRAPH_FOREACH(g, id) {
			pt2c_node *nd = &g->nodes[id];
			for (uint32_t i = 0; i < nd->n_inputs; i++) {
				if ((rc = pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_check_input, &cc))) {
					if (rc != PT2C_EGRAPH)
						rc = pt2c__err(err, rc, "node '%s' has an argument nested too deeply", nd->name);
					else if (cc.bad < nv)
						rc = pt2c__err(err, rc, "node '%s' uses '%s', which no live node defines", nd->name,
						               g->values[cc.bad].name);
					else
						rc = pt2c__err(err, rc, "node '%s' uses an unknown value id %u", nd->name, cc.bad);
					goto out;
				}
			}
		}
	}

	/* new node ids: position in order */
	for (uint32_t id = 0; id < g->n_nodes; id++)
		node_new[id] = PT2C_NONE;
	uint32_t n = 0;
	PT2C_GRAPH_FOREACH(g, id)
		node_new[id] = n++;
	/* From here on nothing fails. */
	if (!done) {
		PT2C_GRAPH_FOREACH(g, id) {
			pt2c_node *nd = &g->nodes[id];
			for (uint32_t i = 0; i < nd->n_outputs; i++)
				(void)pt2c__arg_foreach_ref(&nd->outputs[i], cb_rewrite_output, &cc);
		}
	}
	/* names of dropped nodes/values stay reserved; only their node/value bits go */
	for (uint32_t id = 0; id < g->n_nodes; id++)
		if ((g->nodes[id].flags & PT2C_NODE_ERASED) && g->nodes[id].name)
			pt2c__name_unmark(g, g->nodes[id].name, NAME_NODE);
	for (uint32_t v = 0; v < nv; v++)
		if (cc.value_new[v] == PT2C_NONE && g->values[v].name)
			pt2c__name_unmark(g, g->values[v].name, NAME_VALUE);
	if (value_map_out) {
		for (uint32_t v = 0; v < nv; v++) {
			uint32_t r = pt2c__value_resolve(g, v);
			value_map_out[v] = r < nv ? cc.value_new[r] : PT2C_NONE;
		}
	}
	/* in place: new arrays would double the graph's memory at the export's peak */
	permute(g->nodes, sizeof *g->nodes, g->n_nodes, node_new);
	permute(g->values, sizeof *g->values, nv, cc.value_new);
	g->n_nodes = n;
	g->n_values = cc.n_new_values;
	g->first = n ? 0 : PT2C_NONE;
	g->last = n ? n - 1 : PT2C_NONE;
	g->n_live = n;
	for (uint32_t id = 0; id < n; id++) {
		g->nodes[id].prev = id ? id - 1 : PT2C_NONE;
		g->nodes[id].next = id + 1 < n ? id + 1 : PT2C_NONE;
	}
	for (uint32_t v = 0; v < g->n_values; v++)
		g->values[v].forward = PT2C_NONE;
	/* producers: the new id of the node listing the value in its outputs */
	for (uint32_t id = 0; id < n; id++) {
		producer_ctx pc = { g, id };
		for (uint32_t i = 0; i < g->nodes[id].n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&g->nodes[id].outputs[i], pt2c__cb_set_producer, &pc);
	}
	/*
	 * value ids changed: overwrite in place. Only names the table holds are touched (a graph
	 * whose names were dropped keeps an empty table), so nothing is inserted or allocated. Each
	 * is a lookup in a table of every name: on helper threads for a large graph (the job's
	 * bookkeeping is the caller's to allocate; without it, the loop runs here).
	 */
	if (g->names.count) {
		pt2c_par_job names_job = { g->n_values, pt2c__thread_tuning.chunk_items, renumber_names, g, a,
		                           pt2c__helper_threads(a, g->n_values, 15) };
		(void)pt2c__par_run(&names_job); /* cannot fail */
	}
	/* each kept value keeps its count: every use was of a kept value (checked above), forwards included */
	assert(pt2c__graph_uses_exact(g));
out:
	pt2c__free(a, order);
	pt2c__free(a, node_new);
	pt2c__free(a, cc.value_new);
	return rc;
}

int pt2c__graph_compact(pt2c_graph *g, pt2c_error *err)
{
	return pt2c__graph_compact_map(g, NULL, err);
}
