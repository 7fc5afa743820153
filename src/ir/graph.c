/*
 * graph.c -- graphs of nodes and values: O(1) order edits, forwarding replace-all-uses, and the
 * linear copy pass. The fx namespace is in names.c, compaction in graph_compact.c.
 */
#include <assert.h>

#include "ir/graph_internal.h"

static const char *const OP_NAMES[PT2C_OP__COUNT] = {
	[PT2C_OP_PLACEHOLDER] = "placeholder",
	[PT2C_OP_GET_ATTR] = "get_attr",
	[PT2C_OP_CALL_FUNCTION] = "call_function",
	[PT2C_OP_CALL_MODULE] = "call_module",
	[PT2C_OP_OUTPUT] = "output",
};

const char *pt2c__op_name(int op)
{
	return op >= 0 && op < PT2C_OP__COUNT ? OP_NAMES[op] : "unknown";
}

int pt2c__graph_new(pt2c_ctx *ctx, pt2c_graph **out)
{
	PT2C_ASSERT_ARG(ctx && out);
	*out = NULL;
	pt2c_graph *g = pt2c__calloc(ctx->alloc, 1, sizeof *g);
	if (!g)
		return PT2C_ENOMEM;
	g->ctx = ctx;
	g->first = g->last = PT2C_NONE;
	pt2c__map32_init(&g->names, ctx->alloc);
	pt2c__map_init(&g->base_count, ctx->alloc);
	*out = g;
	return 0;
}

int pt2c__graph_new_sub(pt2c_ctx *ctx, pt2c_graph **out)
{
	int rc = pt2c__graph_new(ctx, out);
	if (rc == 0)
		ctx->has_subgraphs = true;
	return rc;
}

void pt2c__graph_free(pt2c_graph *g)
{
	if (!g)
		return;
	const pt2c_allocator *a = g->ctx->alloc;
	pt2c__free(a, g->nodes);
	pt2c__free(a, g->values);
	pt2c__map32_free(&g->names);
	pt2c__map_free(&g->base_count);
	pt2c__free(a, g);
}

/* MARK: order links */

/* Remove a node from the order list, fixing first/last. */
static void unlink_node(pt2c_graph *g, uint32_t id)
{
	pt2c_node *nd = &g->nodes[id];
	if (nd->prev != PT2C_NONE)
		g->nodes[nd->prev].next = nd->next;
	else
		g->first = nd->next;
	if (nd->next != PT2C_NONE)
		g->nodes[nd->next].prev = nd->prev;
	else
		g->last = nd->prev;
	nd->prev = nd->next = PT2C_NONE;
}

/* Link an unlinked node before `before` (PT2C_NONE = at the end). */
static void link_before(pt2c_graph *g, uint32_t id, uint32_t before)
{
	pt2c_node *nd = &g->nodes[id];
	if (before == PT2C_NONE) {
		nd->prev = g->last;
		nd->next = PT2C_NONE;
		if (g->last != PT2C_NONE)
			g->nodes[g->last].next = id;
		else
			g->first = id;
		g->last = id;
		return;
	}
	pt2c_node *b = &g->nodes[before];
	nd->next = before;
	nd->prev = b->prev;
	if (b->prev != PT2C_NONE)
		g->nodes[b->prev].next = id;
	else
		g->first = id;
	b->prev = id;
}

/* MARK: nodes and values */

/* Room for one more element in a graph array whose count and capacity are uint32 (ids). */
static int grow32(pt2c_graph *g, void **arr, uint32_t *cap32, uint32_t n, size_t elem)
{
	if (n >= UINT32_MAX - 1)
		return PT2C_ENOMEM;
	size_t cap = *cap32;
	void *p = *arr;
	if (pt2c__grow(g->ctx->alloc, &p, &cap, (size_t)n + 1, elem))
		return PT2C_ENOMEM;
	*arr = p;
	*cap32 = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	return 0;
}

/* Grow an array of *cap32 elements to hold `need`, by at least an eighth (amortised linear). */
static int reserve32(pt2c_graph *g, void **arr, uint32_t *cap32, uint64_t need, size_t elem)
{
	if (need <= *cap32)
		return 0;
	if (need >= UINT32_MAX - 1)
		return PT2C_ENOMEM;
	uint64_t ncap = (uint64_t)*cap32 + *cap32 / 8;
	if (ncap < need)
		ncap = need;
	if (ncap > UINT32_MAX - 1)
		ncap = UINT32_MAX - 1;
	size_t old_bytes = (size_t)*cap32 * elem, new_bytes;
	if (pt2c__mul_ovf_sz((size_t)ncap, elem, &new_bytes))
		return PT2C_ENOMEM;
	void *p = pt2c__realloc(g->ctx->alloc, *arr, old_bytes, new_bytes);
	if (!p)
		return PT2C_ENOMEM;
	*arr = p;
	*cap32 = (uint32_t)ncap;
	return 0;
}

int pt2c__graph_reserve(pt2c_graph *g, uint32_t more_nodes, uint32_t more_values)
{
	PT2C_ASSERT_ARG(g);
	if (reserve32(g, (void **)&g->nodes, &g->cap_nodes, (uint64_t)g->n_nodes + more_nodes, sizeof(pt2c_node)) ||
	    reserve32(g, (void **)&g->values, &g->cap_values, (uint64_t)g->n_values + more_values, sizeof(pt2c_value)))
		return PT2C_ENOMEM;
	return 0;
}

void pt2c__graph_prefault(pt2c_graph *g)
{
	if (g->nodes) /* (an empty graph has no arrays yet) */
		pt2c__prefault(g->ctx->alloc, g->nodes + g->n_nodes, (size_t)(g->cap_nodes - g->n_nodes) * sizeof *g->nodes);
	if (g->values)
		pt2c__prefault(g->ctx->alloc, g->values + g->n_values, (size_t)(g->cap_values - g->n_values) * sizeof *g->values);
}

int pt2c__graph_presize(pt2c_graph *g, uint32_t more_nodes)
{
	PT2C_ASSERT_ARG(g);
	if (pt2c__graph_reserve(g, more_nodes, more_nodes) || pt2c__map32_reserve(&g->names, g->names.count + more_nodes) ||
	    pt2c__strpool_reserve(&g->ctx->strings, more_nodes))
		return PT2C_ENOMEM;
	return 0;
}

/* Create an unlinked node; its name per `exact`. */
/* interned: name and target are strings of g->ctx's pool (copied from a graph of the same context). */
/* hashed (exact and interned only): name's length and pt2c__hash, known to the caller. */
typedef struct name_hash { size_t len; uint32_t hash; } name_hash;

static int new_node(pt2c_graph *g, int op, const char *name, bool exact, const char *target, bool interned,
                    const name_hash *hashed, pt2c_names_run *run, uint32_t k, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && op >= 0 && op < PT2C_OP__COUNT && out);
	if (grow32(g, (void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof(pt2c_node)))
		return PT2C_ENOMEM;
	const char *nm = name;
	if (exact) {
		PT2C_ASSERT_ARG(name);
		uint32_t *cur = hashed ? pt2c__names_claim_interned(g, name, hashed->len, hashed->hash)
		                       : pt2c__names_claim_exact(g, name, &nm);
		if (!cur)
			return PT2C_ENOMEM;
		if (*cur & NAME_NODE)
			return PT2C_EGRAPH;
		*cur |= NAME_NODE;
	} else {
		/* run: a copy's claims, candidate k of its run (the candidate is name or target) */
		nm = run ? pt2c__names_run_claim(g, run, k, NAME_NODE)
		   : interned ? pt2c__names_fresh_interned(g, name ? name : target, NAME_NODE, NULL)
		              : pt2c__names_fresh(g, name ? name : target, NAME_NODE, NULL);
		if (!nm)
			return PT2C_ENOMEM;
	}
	const char *tg = NULL;
	if (target && !(tg = interned ? target : pt2c__ctx_interns(g->ctx, target)))
		return PT2C_ENOMEM;
	uint32_t id = g->n_nodes++;
	pt2c_node *nd = &g->nodes[id];
	memset(nd, 0, sizeof *nd);
	nd->op = (uint8_t)op;
	nd->hop_single_tensor_return = -1;
	nd->name = nm;
	nd->target = tg;
	nd->prev = nd->next = PT2C_NONE;
	g->n_live++;
	*out = id;
	return 0;
}

/* A valid node id that is not erased. */
static bool node_live(const pt2c_graph *g, uint32_t id)
{
	return id < g->n_nodes && !(g->nodes[id].flags & PT2C_NODE_ERASED);
}

int pt2c__graph_add_node(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                         uint32_t before, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	PT2C_ASSERT_ARG(before == PT2C_NONE || node_live(g, before));
	int rc = new_node(g, op, name, exact, target, false, NULL, NULL, 0, out);
	if (rc)
		return rc;
	link_before(g, *out, before);
	return 0;
}

int pt2c__graph_add_node_interned(pt2c_graph *g, int op, const char *name, size_t len, uint32_t hash,
                                  const char *target, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && name && target && out);
	name_hash h = { len, hash };
	int rc = new_node(g, op, name, true, target, true, &h, NULL, 0, out);
	if (rc)
		return rc;
	link_before(g, *out, PT2C_NONE);
	return 0;
}

uint32_t pt2c__graph_find_value_interned(const pt2c_graph *g, const char *name, size_t len, uint32_t hash)
{
	uint32_t e;
	return pt2c__map32_get_h(&g->names, name, len, hash, true, &e) ? NAME_VID(e) : PT2C_NONE;
}

int pt2c__graph_add_node_after(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                               uint32_t after, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	PT2C_ASSERT_ARG(after == PT2C_NONE || node_live(g, after));
	int rc = new_node(g, op, name, exact, target, false, NULL, NULL, 0, out);
	if (rc)
		return rc;
	/* after == NONE inserts at the front */
	link_before(g, *out, after == PT2C_NONE ? g->first : g->nodes[after].next);
	return 0;
}

/* A new value of `kind`, without a name yet (its id is the graph's next). */
static int value_push(pt2c_graph *g, int kind, uint32_t *out)
{
	if (g->n_values >= NAME_MAX_VALUES || /* the name table keeps value ids in 29 bits */
	    grow32(g, (void **)&g->values, &g->cap_values, g->n_values, sizeof(pt2c_value)))
		return PT2C_ENOMEM;
	uint32_t id = g->n_values++;
	pt2c_value *v = &g->values[id];
	memset(v, 0, sizeof *v);
	v->kind = (uint8_t)kind;
	v->producer = PT2C_NONE;
	v->forward = PT2C_NONE;
	*out = id;
	return 0;
}

/*
 * Name value `id` in g's names (exact: as it is, else fresh from it), recording the id there.
 * PT2C_EGRAPH: exact and held by a value already; PT2C_ENOMEM.
 */
static int claim_value_name(pt2c_graph *g, const char *name, bool exact, uint32_t id)
{
	const char *nm;
	if (exact) {
		PT2C_ASSERT_ARG(name);
		uint32_t *cur = pt2c__names_claim_exact(g, name, &nm);
		if (!cur)
			return PT2C_ENOMEM;
		if (NAME_VID(*cur) != PT2C_NONE)
			return PT2C_EGRAPH;
		*cur = NAME_WITH_VID(*cur | NAME_VALUE, id);
	} else {
		uint32_t *cur = NULL;
		if (!(nm = pt2c__names_fresh(g, name, NAME_VALUE, &cur)))
			return PT2C_ENOMEM;
		*cur = NAME_WITH_VID(*cur, id);
	}
	g->values[id].name = nm;
	return 0;
}

int pt2c__graph_add_value(pt2c_graph *g, const char *name, bool exact, int kind, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	PT2C_ASSERT_ARG(!exact || name);
	uint32_t id;
	int rc = value_push(g, kind, &id);
	if (!rc && (rc = claim_value_name(g, name, exact, id)))
		g->n_values--; /* as it was */
	if (!rc)
		*out = id;
	return rc;
}

uint32_t pt2c__graph_find_value(const pt2c_graph *g, const char *name, size_t len)
{
	uint32_t e;
	if (!g || !name || !pt2c__map32_get(&g->names, name, len, &e))
		return PT2C_NONE;
	return NAME_VID(e);
}

uint32_t pt2c__value_resolve(pt2c_graph *g, uint32_t id)
{
	if (id >= g->n_values)
		return id;
	uint32_t root = id;
	uint32_t steps = 0;
	while (g->values[root].forward != PT2C_NONE && g->values[root].forward < g->n_values) {
		root = g->values[root].forward;
		if (++steps > g->n_values)
			return root; /* a forwarding cycle (API misuse): stop rather than spin */
	}
	while (id != root) {
		uint32_t next = g->values[id].forward;
		g->values[id].forward = root;
		id = next;
	}
	return root;
}

uint32_t pt2c__value_resolve_const(const pt2c_graph *g, uint32_t id)
{
	uint32_t steps = 0;
	while (id < g->n_values && g->values[id].forward != PT2C_NONE && steps++ <= g->n_values)
		id = g->values[id].forward;
	return id;
}

/* Count one use of the resolved value. */
static int cb_use_inc(uint32_t *ref, void *payload)
{
	pt2c_graph *g = payload;
	uint32_t v = pt2c__value_resolve(g, *ref);
	if (v < g->n_values)
		g->values[v].n_uses++;
	return 0;
}

/* Drop one use of the resolved value (never below zero). */
static int cb_use_dec(uint32_t *ref, void *payload)
{
	pt2c_graph *g = payload;
	uint32_t v = pt2c__value_resolve(g, *ref);
	if (v < g->n_values && g->values[v].n_uses > 0)
		g->values[v].n_uses--;
	return 0;
}

/* Apply a use-count callback to every input reference of a node (too-deep trees are skipped). */
static void node_uses(pt2c_graph *g, pt2c_node *nd, pt2c_ref_cb cb)
{
	for (uint32_t i = 0; i < nd->n_inputs; i++)
		(void)pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb, g);
}

int pt2c__node_set_inputs(pt2c_graph *g, uint32_t node, const pt2c_named_arg *inputs, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (inputs || n == 0));
	pt2c_named_arg *copy = NULL;
	if (n) {
		copy = pt2c__arena_memdup(&g->ctx->arena, inputs, (size_t)n * sizeof *copy);
		if (!copy)
			return PT2C_ENOMEM;
	}
	pt2c__node_adopt_inputs(g, node, copy, n);
	return 0;
}

void pt2c__node_adopt_inputs(pt2c_graph *g, uint32_t node, pt2c_named_arg *inputs, uint32_t n)
{
	pt2c_node *nd = &g->nodes[node];
	bool live = !(nd->flags & PT2C_NODE_ERASED);
	if (live)
		node_uses(g, nd, cb_use_dec);
	nd->inputs = n ? inputs : NULL;
	nd->n_inputs = n;
	if (live)
		node_uses(g, nd, cb_use_inc);
}

/* Record the visiting node as producer of an output value. */
int pt2c__cb_set_producer(uint32_t *ref, void *payload)
{
	producer_ctx *pc = payload;
	if (*ref < pc->g->n_values)
		pc->g->values[*ref].producer = pc->node;
	return 0;
}

int pt2c__node_set_outputs(pt2c_graph *g, uint32_t node, const pt2c_arg *outputs, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (outputs || n == 0));
	pt2c_arg *copy = NULL;
	if (n) {
		copy = pt2c__arena_memdup(&g->ctx->arena, outputs, (size_t)n * sizeof *copy);
		if (!copy)
			return PT2C_ENOMEM;
	}
	return pt2c__node_adopt_outputs(g, node, copy, n);
}

int pt2c__node_adopt_outputs(pt2c_graph *g, uint32_t node, pt2c_arg *outputs, uint32_t n)
{
	pt2c_node *nd = &g->nodes[node];
	nd->outputs = n ? outputs : NULL;
	nd->n_outputs = n;
	producer_ctx pc = { g, node };
	for (uint32_t i = 0; i < n; i++) {
		int rc = pt2c__arg_foreach_ref(&outputs[i], pt2c__cb_set_producer, &pc);
		if (rc)
			return rc;
	}
	return 0;
}

int pt2c__node_define_value(pt2c_graph *g, uint32_t node, int kind, uint32_t *value_out)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes);
	uint32_t v;
	int rc = pt2c__graph_add_value(g, g->nodes[node].name, true, kind, &v);
	if (rc)
		return rc;
	pt2c_arg out;
	memset(&out, 0, sizeof out);
	out.kind = PT2C_ARG_FX_NODE;
	out.u.ref = v;
	rc = pt2c__node_set_outputs(g, node, &out, 1);
	if (rc)
		return rc;
	if (value_out)
		*value_out = v;
	return 0;
}

int pt2c__node_set_meta(pt2c_graph *g, uint32_t node, const pt2c_kv *kv, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (kv || n == 0));
	pt2c_kv *copy = NULL;
	if (n && !(copy = pt2c__arena_memdup(&g->ctx->arena, kv, (size_t)n * sizeof *copy)))
		return PT2C_ENOMEM;
	g->nodes[node].meta = copy;
	g->nodes[node].n_meta = n;
	return 0;
}

void pt2c__node_adopt_meta(pt2c_graph *g, uint32_t node, pt2c_kv *kv, uint32_t n)
{
	assert(g && node < g->n_nodes && (kv || n == 0));
	g->nodes[node].meta = n ? kv : NULL;
	g->nodes[node].n_meta = n;
}

typedef struct leaf_count { uint32_t n, ref; } leaf_count;

/* Count output leaves, remembering the last one. */
static int cb_count_leaf(uint32_t *ref, void *payload)
{
	leaf_count *lc = payload;
	lc->n++;
	lc->ref = *ref;
	return 0;
}

uint32_t pt2c__node_value(const pt2c_graph *g, uint32_t node)
{
	if (!g || node >= g->n_nodes)
		return PT2C_NONE;
	const pt2c_node *nd = &g->nodes[node];
	leaf_count lc = { 0, PT2C_NONE };
	for (uint32_t i = 0; i < nd->n_outputs; i++)
		if (pt2c__arg_foreach_ref(&nd->outputs[i], cb_count_leaf, &lc))
			return PT2C_NONE;
	return lc.n == 1 ? lc.ref : PT2C_NONE;
}

/* MARK: edits */

void pt2c__graph_replace_uses(pt2c_graph *g, uint32_t from, uint32_t to)
{
	if (!g || from >= g->n_values || to >= g->n_values)
		return;
	uint32_t f = pt2c__value_resolve(g, from), t = pt2c__value_resolve(g, to);
	if (f == t)
		return;
	g->values[f].forward = t;
	g->values[t].n_uses += g->values[f].n_uses;
	g->values[f].n_uses = 0;
}

void pt2c__graph_erase_node(pt2c_graph *g, uint32_t node)
{
	if (!g || !node_live(g, node))
		return;
	pt2c_node *nd = &g->nodes[node];
	node_uses(g, nd, cb_use_dec);
	unlink_node(g, node);
	nd->flags |= PT2C_NODE_ERASED;
	g->n_live--;
}

void pt2c__graph_move_before(pt2c_graph *g, uint32_t node, uint32_t before)
{
	if (!g || !node_live(g, node) || node == before || (before != PT2C_NONE && !node_live(g, before)))
		return;
	unlink_node(g, node);
	link_before(g, node, before);
}

void pt2c__graph_recount_uses(pt2c_graph *g)
{
	if (!g)
		return;
	for (uint32_t v = 0; v < g->n_values; v++)
		g->values[v].n_uses = 0;
	PT2C_GRAPH_FOREACH(g, id)
		node_uses(g, &g->nodes[id], cb_use_inc);
}

/* Count one use of the resolved value in a separate array (pt2c__graph_uses_exact). */
typedef struct use_tally { const pt2c_graph *g; uint32_t *count; } use_tally;

static int cb_tally(uint32_t *ref, void *payload)
{
	use_tally *t = payload;
	uint32_t v = pt2c__value_resolve_const(t->g, *ref);
	if (v < t->g->n_values)
		t->count[v]++;
	return 0;
}

bool pt2c__graph_uses_exact(const pt2c_graph *g)
{
	if (!g)
		return true;
	use_tally t = { g, pt2c__calloc(g->ctx->alloc, (size_t)g->n_values + 1, sizeof *t.count) };
	if (!t.count)
		return true; /* cannot tell */
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			(void)pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_tally, &t);
	}
	bool exact = true;
	for (uint32_t v = 0; v < g->n_values && exact; v++)
		exact = g->values[v].n_uses == (g->values[v].forward == PT2C_NONE ? t.count[v] : 0);
	pt2c__free(g->ctx->alloc, t.count);
	return exact;
}

uint32_t pt2c__graph_output_node(const pt2c_graph *g)
{
	if (!g)
		return PT2C_NONE;
	for (uint32_t id = g->last; id != PT2C_NONE; id = g->nodes[id].prev)
		if (g->nodes[id].op == PT2C_OP_OUTPUT)
			return id;
	return PT2C_NONE;
}

/* MARK: copy_into */

typedef struct copy_ctx {
	const pt2c_graph *src;
	const uint32_t *map;
	uint32_t bad;
} copy_ctx;

/* Rewrite a copied input ref through value_map; PT2C_EGRAPH if unmapped. */
static int cb_map_input(uint32_t *ref, void *payload)
{
	copy_ctx *c = payload;
	uint32_t v = pt2c__value_resolve_const(c->src, *ref);
	if (v >= c->src->n_values || c->map[v] == PT2C_NONE) {
		c->bad = v;
		return PT2C_EGRAPH;
	}
	*ref = c->map[v];
	return 0;
}

typedef struct out_ctx {
	pt2c_graph *dst;
	const pt2c_graph *src;
	uint32_t *map;
	const char *src_node_name, *dst_node_name;
	pt2c_names_run *run; /* the names' run (same context), or NULL */
	uint64_t n_leaves;    /* output references of the nodes to copy (cb_clear_map) */
	int rc;
} out_ctx;

/* Before a claim that could meet a name the copy's run deferred: put them in the table. */
static int flush_run(const out_ctx *oc)
{
	return oc->run ? pt2c__names_run_flush(oc->dst, oc->run) : 0;
}

/* Create the dst value for a src output value and rewrite the ref. */
static int cb_map_output(uint32_t *ref, void *payload)
{
	out_ctx *oc = payload;
	if (*ref >= oc->src->n_values)
		return PT2C_EGRAPH;
	const pt2c_value *sv = &oc->src->values[*ref];
	uint32_t nv;
	/* fx convention: a value named like its node keeps following the node's (new) name */
	int rc = value_push(oc->dst, sv->kind, &nv);
	if (rc)
		return rc;
	if (sv->name == oc->src_node_name || (sv->name && strcmp(sv->name, oc->src_node_name) == 0)) {
		/* the node's name, claimed in a run and not yet in the table: the run records the value */
		int r = oc->run ? pt2c__names_run_value(oc->run, oc->dst_node_name, nv) : 0;
		if (r > 0) {
			oc->dst->values[nv].name = oc->dst_node_name;
		} else {
			rc = r < 0 ? PT2C_EGRAPH : claim_value_name(oc->dst, oc->dst_node_name, true, nv);
			if (rc == PT2C_EGRAPH && !(rc = flush_run(oc))) /* held by a value: a fresh one */
				rc = claim_value_name(oc->dst, oc->dst_node_name, false, nv);
		}
	} else if (!(rc = flush_run(oc))) { /* a fresh name of any form */
		rc = claim_value_name(oc->dst, sv->name, false, nv);
	}
	if (rc) {
		oc->dst->n_values--; /* as it was */
		return rc;
	}
	pt2c_value *dv = &oc->dst->values[nv];
	dv->has_meta = sv->has_meta;
	dv->u = sv->u;
	if (oc->dst->ctx != oc->src->ctx && sv->has_meta) {
		if (sv->kind == PT2C_VAL_TENSOR) {
			pt2c_tensor_meta *tm = pt2c__arena_zalloc(&oc->dst->ctx->arena, sizeof *tm);
			rc = tm ? pt2c__meta_copy(oc->dst->ctx, tm, sv->u.tensor) : PT2C_ENOMEM;
			dv->u.tensor = tm;
		} else if (sv->kind == PT2C_VAL_TENSOR_LIST && sv->u.list.n) {
			pt2c_tensor_meta *items = pt2c__arena_calloc(&oc->dst->ctx->arena, sv->u.list.n, sizeof *items);
			rc = items ? 0 : PT2C_ENOMEM;
			for (uint32_t i = 0; !rc && i < sv->u.list.n; i++)
				rc = pt2c__meta_copy(oc->dst->ctx, &items[i], &sv->u.list.items[i]);
			dv->u.list.items = items;
		}
		if (rc)
			return rc;
	}
	oc->map[*ref] = nv;
	*ref = nv;
	return 0;
}

/* Mark a value that the copy will define as not yet mapped. */
static int cb_clear_map(uint32_t *ref, void *payload)
{
	out_ctx *oc = payload;
	if (*ref < oc->src->n_values)
		oc->map[*ref] = PT2C_NONE;
	oc->n_leaves++;
	return 0;
}

/* The candidate for a copied node's name (new_node's). */
static const char *name_candidate(const pt2c_node *sn)
{
	return sn->name ? sn->name : sn->target;
}

/* pt2c__names_pre of the candidates of the nodes to copy (copy_into), on helper threads. */
typedef struct pre_names_job {
	const pt2c_graph *dst, *src;
	const uint32_t *ord;
	pt2c_name_pre *pre;
} pre_names_job;

static int pre_names_range(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	const pre_names_job *j = ctx;
	for (size_t k = begin; k < end; k++) {
		const pt2c_node *sn = &j->src->nodes[j->ord[k]];
		pt2c__names_pre(j->dst, name_candidate(sn), &j->pre[k]);
	}
	return 0;
}

/* Copy (steal: move) node sn of src before `before` (copy_into's loop); its name is claim k of oc->run, if any. */
static int copy_node(pt2c_graph *dst, pt2c_graph *src, const pt2c_node *sn, uint32_t k, uint32_t before, out_ctx *oc,
                     bool steal, pt2c_error *err)
{
	pt2c_ctx *ctx = dst->ctx;
	uint32_t dn;
	int rc = new_node(dst, sn->op, sn->name, false, sn->target, dst->ctx == src->ctx, NULL, oc->run, k, &dn);
	if (!rc)
		link_before(dst, dn, before);
	if (rc)
		return pt2c__err(err, rc, "cannot copy node '%s'", sn->name);
	pt2c_node *d = &dst->nodes[dn];
	d->flags = sn->flags & PT2C_NODE_NO_NAME;
	d->hop_single_tensor_return = sn->hop_single_tensor_return;
	d->meta = sn->meta;
	d->n_meta = sn->n_meta;
	if (sn->n_inputs) {
		pt2c_named_arg *in = steal ? sn->inputs : pt2c__arena_calloc(&ctx->arena, sn->n_inputs, sizeof *in);
		if (!in)
			return pt2c__err_oom(err);
		copy_ctx cc = { src, oc->map, PT2C_NONE };
		for (uint32_t i = 0; i < sn->n_inputs; i++) {
			if (!steal) {
				in[i].name = sn->inputs[i].name;
				in[i].kind = sn->inputs[i].kind;
				if ((rc = pt2c__arg_copy(ctx, &in[i].arg, &sn->inputs[i].arg)))
					return pt2c__err(err, rc, "cannot copy the arguments of node '%s'", sn->name);
			}
			if ((rc = pt2c__arg_foreach_ref(&in[i].arg, cb_map_input, &cc))) {
				if (rc == PT2C_EGRAPH && cc.bad < src->n_values)
					return pt2c__err(err, rc, "node '%s' uses '%s', which has no value in the target graph", sn->name,
					                 src->values[cc.bad].name);
				return pt2c__err(err, rc, "node '%s' has a bad argument", sn->name);
			}
		}
		pt2c__node_adopt_inputs(dst, dn, in, sn->n_inputs);
		d = &dst->nodes[dn];
	}
	if (sn->n_outputs) {
		pt2c_arg *outs = steal ? sn->outputs : pt2c__arena_calloc(&ctx->arena, sn->n_outputs, sizeof *outs);
		if (!outs)
			return pt2c__err_oom(err);
		oc->src_node_name = sn->name;
		oc->dst_node_name = d->name;
		for (uint32_t i = 0; i < sn->n_outputs; i++) {
			if ((!steal && (rc = pt2c__arg_copy(ctx, &outs[i], &sn->outputs[i]))) ||
			    (rc = pt2c__arg_foreach_ref(&outs[i], cb_map_output, oc)))
				return pt2c__err(err, rc, "cannot copy the outputs of node '%s'", sn->name);
		}
		if ((rc = pt2c__node_adopt_outputs(dst, dn, outs, sn->n_outputs)))
			return pt2c__err_oom(err);
	}
	return 0;
}

static int copy_into(pt2c_graph *dst, pt2c_graph *src, uint32_t before, uint32_t *value_map, bool steal,
                     pt2c_error *err)
{
	PT2C_ASSERT_ARG(dst && src && dst != src && (value_map || src->n_values == 0));
	PT2C_ASSERT_ARG(!steal || dst->ctx == src->ctx);
	PT2C_ASSERT_ARG(before == PT2C_NONE || node_live(dst, before));
	const pt2c_allocator *a = dst->ctx->alloc;
	/* the nodes to copy, in order (n_live of them at most: a looping order list stops there) */
	uint32_t n_copy = 0, *ord = pt2c__malloc(a, ((size_t)src->n_live + 1) * sizeof *ord);
	if (!ord)
		return pt2c__err_oom(err);
	/* values defined by copied nodes start unmapped so a use before its definition is caught */
	out_ctx oc = { dst, src, value_map, NULL, NULL, NULL, 0, 0 };
	for (uint32_t id = src->first; id != PT2C_NONE && n_copy < src->n_live; id = src->nodes[id].next) {
		const pt2c_node *sn = &src->nodes[id];
		if (sn->op == PT2C_OP_PLACEHOLDER || sn->op == PT2C_OP_OUTPUT)
			continue;
		ord[n_copy++] = id;
		for (uint32_t i = 0; i < sn->n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&sn->outputs[i], cb_clear_map, &oc);
	}
	/*
	 * Same context (names are its strings already): the names are claimed in a run, each claim
	 * worked out beforehand for all nodes at once (on helper threads for a large graph: it only
	 * reads dst; names.c, "claims in a run").
	 */
	pt2c_name_pre *pre = NULL;
	pt2c_names_run run;
	if (dst->ctx == src->ctx && n_copy) {
		if (!(pre = pt2c__malloc(a, (size_t)n_copy * sizeof *pre))) {
			pt2c__free(a, ord);
			return pt2c__err_oom(err);
		}
		pre_names_job pj = { dst, src, ord, pre };
		pt2c_par_job job = { n_copy, pt2c__thread_tuning.chunk_items, pre_names_range, &pj, a,
		                     pt2c__helper_threads(a, n_copy, 15) };
		(void)pt2c__par_run(&job); /* pre_names_range cannot fail */
		pt2c__names_run_begin(dst, &run, pre, n_copy, oc.n_leaves); /* a value claims one name at most */
		oc.run = &run;
	}
	int rc = 0;
	for (uint32_t k = 0; k < n_copy && !rc; k++)
		rc = copy_node(dst, src, &src->nodes[ord[k]], k, before, &oc, steal, err);
	/* the deferred names go into the table, whatever happened (run_begin sized it for every claim) */
	if (oc.run && pt2c__names_run_end(dst, &run) && !rc)
		rc = pt2c__err_oom(err);
	pt2c__free(a, pre);
	pt2c__free(a, ord);
	return rc;
}

int pt2c__graph_copy_into(pt2c_graph *dst, const pt2c_graph *src, uint32_t before, uint32_t *value_map,
                          pt2c_error *err)
{
	return copy_into(dst, (pt2c_graph *)src, before, value_map, false, err); /* src is only read */
}

int pt2c__graph_move_into(pt2c_graph *dst, pt2c_graph *src, uint32_t before, uint32_t *value_map, pt2c_error *err)
{
	return copy_into(dst, src, before, value_map, true, err);
}
