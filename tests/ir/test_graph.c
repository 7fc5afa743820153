/* test_graph.c -- graph editing, forwarding + compaction, copy_into, lint, and scale. */
#include <stdlib.h>

#include "harness.h"

#include "ir/graph_internal.h"
#include "ir/ir.h"

static pt2c_arg tensor_ref(uint32_t v)
{
	pt2c_arg a;
	memset(&a, 0, sizeof a);
	a.kind = PT2C_ARG_TENSOR;
	a.u.ref = v;
	return a;
}

/* A placeholder defining one tensor value; returns the value id. */
static uint32_t add_input(pt2c_graph *g, const char *name, uint32_t *node_out)
{
	uint32_t n, v;
	if (pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, name, true, name, PT2C_NONE, &n))
		return PT2C_NONE;
	if (pt2c__graph_add_value(g, name, true, PT2C_VAL_TENSOR, &v))
		return PT2C_NONE;
	pt2c_arg o = tensor_ref(v);
	if (pt2c__node_set_outputs(g, n, &o, 1))
		return PT2C_NONE;
	if (node_out)
		*node_out = n;
	return v;
}

/* A PT2-style call with positional tensor inputs, inserted before `before`; returns the value. */
static uint32_t add_call(pt2c_graph *g, const char *name, const char *target, const uint32_t *ins, uint32_t n_in,
                         uint32_t before, uint32_t *node_out)
{
	uint32_t n, v;
	if (pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, name, false, target, before, &n))
		return PT2C_NONE;
	pt2c_named_arg args[4];
	memset(args, 0, sizeof args);
	static const char *const NAMES[] = { "self", "other", "a", "b" };
	for (uint32_t i = 0; i < n_in && i < 4; i++) {
		args[i].name = pt2c__ctx_interns(g->ctx, NAMES[i]);
		args[i].kind = PT2C_ARGKIND_POSITIONAL;
		args[i].arg = tensor_ref(ins[i]);
	}
	if (pt2c__node_set_inputs(g, n, args, n_in))
		return PT2C_NONE;
	if (pt2c__graph_add_value(g, g->nodes[n].name, true, PT2C_VAL_TENSOR, &v))
		return PT2C_NONE;
	pt2c_arg o = tensor_ref(v);
	if (pt2c__node_set_outputs(g, n, &o, 1))
		return PT2C_NONE;
	if (node_out)
		*node_out = n;
	return v;
}

static uint32_t add_output(pt2c_graph *g, const uint32_t *vals, uint32_t n_vals)
{
	uint32_t n;
	if (pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", false, "output", PT2C_NONE, &n))
		return PT2C_NONE;
	pt2c_named_arg args[4];
	memset(args, 0, sizeof args);
	for (uint32_t i = 0; i < n_vals && i < 4; i++)
		args[i].arg = tensor_ref(vals[i]);
	if (pt2c__node_set_inputs(g, n, args, n_vals))
		return PT2C_NONE;
	return n;
}

/* The node names in order, joined by ' '. */
static const char *order(pt2c_graph *g)
{
	static char buf[1024];
	size_t o = 0;
	buf[0] = '\0';
	PT2C_GRAPH_FOREACH(g, id) {
		int w = snprintf(buf + o, sizeof buf - o, "%s%s", o ? " " : "", g->nodes[id].name);
		if (w < 0 || (size_t)w >= sizeof buf - o)
			break;
		o += (size_t)w;
	}
	return buf;
}

static void test_insert_before_after(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	uint32_t x = add_input(g, "x", NULL);
	uint32_t relu_n, out_n;
	uint32_t relu = add_call(g, "relu", "torch.ops.aten.relu.default", &x, 1, PT2C_NONE, &relu_n);
	out_n = add_output(g, &relu, 1);
	REQUIRE(out_n != PT2C_NONE);
	CHECK_STR(order(g), "x relu output");
	/* insert before relu and after relu */
	uint32_t a_n, b_n;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "neg", false, "torch.ops.aten.neg.default", relu_n, &a_n) == 0);
	REQUIRE(pt2c__graph_add_node_after(g, PT2C_OP_CALL_FUNCTION, "neg", false, "torch.ops.aten.neg.default", relu_n, &b_n) == 0);
	CHECK_STR(order(g), "x neg relu neg_1 output");
	/* after NONE inserts at the front */
	uint32_t c_n;
	REQUIRE(pt2c__graph_add_node_after(g, PT2C_OP_PLACEHOLDER, "y", true, "y", PT2C_NONE, &c_n) == 0);
	CHECK_STR(order(g), "y x neg relu neg_1 output");
	CHECK_EQ_INT(g->n_live, 6);
	CHECK_EQ_INT(pt2c__graph_output_node(g), out_n);
	pt2c__graph_move_before(g, b_n, a_n);
	CHECK_STR(order(g), "y x neg_1 neg relu output");
	pt2c__graph_erase_node(g, a_n);
	pt2c__graph_erase_node(g, b_n);
	CHECK_STR(order(g), "y x relu output");
	CHECK_EQ_INT(g->n_live, 4);
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static void test_replace_uses_and_compact(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	uint32_t x = add_input(g, "x", NULL);
	uint32_t mul_n, add_n, neg_n;
	uint32_t xx[2] = { x, x };
	uint32_t mul = add_call(g, "mul", "torch.ops.aten.mul.Tensor", xx, 2, PT2C_NONE, &mul_n);
	uint32_t ma[2] = { mul, x };
	uint32_t add = add_call(g, "add", "torch.ops.aten.add.Tensor", ma, 2, PT2C_NONE, &add_n);
	uint32_t outs[2] = { add, mul };
	uint32_t out_n = add_output(g, outs, 2);
	REQUIRE(out_n != PT2C_NONE);
	CHECK_EQ_INT(g->values[x].n_uses, 3);
	CHECK_EQ_INT(g->values[mul].n_uses, 2);

	/* rewrite mul(x, x) as neg(x) inserted before mul, then drop mul */
	uint32_t neg = add_call(g, "neg", "torch.ops.aten.neg.default", &x, 1, mul_n, &neg_n);
	pt2c__graph_replace_uses(g, mul, neg);
	CHECK_EQ_INT(pt2c__value_resolve(g, mul), neg);
	CHECK_EQ_INT(g->values[neg].n_uses, 2);
	CHECK_EQ_INT(g->values[mul].n_uses, 0);
	pt2c__graph_erase_node(g, mul_n);
	CHECK_EQ_INT(g->values[x].n_uses, 2); /* neg + add */

	pt2c_error err = PT2C_ERROR_INIT;
	uint32_t old_n_values = g->n_values;
	uint32_t map[8];
	REQUIRE(old_n_values <= 8);
	REQUIRE(pt2c__graph_compact_map(g, map, &err) == 0);
	CHECK_STR(order(g), "x neg add output");
	CHECK_EQ_INT(g->n_nodes, 4);
	CHECK_EQ_INT(g->n_values, 3);
	CHECK_EQ_INT(g->first, 0);
	CHECK_EQ_INT(g->last, 3);
	/* ids are renumbered into order; refs point at the surviving value */
	CHECK_STR(g->values[g->nodes[2].inputs[0].arg.u.ref].name, "neg");
	CHECK_STR(g->values[g->nodes[3].inputs[1].arg.u.ref].name, "neg");
	CHECK_STR(g->values[g->nodes[3].inputs[0].arg.u.ref].name, "add");
	CHECK_EQ_INT(map[mul], map[neg]);
	CHECK_STR(g->values[map[add]].name, "add");
	CHECK_EQ_INT(g->values[map[neg]].producer, 1);
	CHECK_EQ_INT(g->values[map[neg]].n_uses, 2);
	CHECK_EQ_INT(pt2c__graph_find_value(g, "neg", 3), map[neg]);
	CHECK_EQ_INT(pt2c__graph_find_value(g, "mul", 3), PT2C_NONE);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);
	/* the dropped name stays reserved for fresh names, but can be taken exactly */
	CHECK_STR(pt2c__graph_unique_name(g, "mul"), "mul_1");
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static void test_compact_rejects_dangling(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	uint32_t x = add_input(g, "x", NULL);
	uint32_t relu_n;
	uint32_t relu = add_call(g, "relu", "torch.ops.aten.relu.default", &x, 1, PT2C_NONE, &relu_n);
	add_output(g, &relu, 1);
	pt2c__graph_erase_node(g, relu_n); /* still used by output */
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_compact(g, &err), PT2C_EGRAPH);
	CHECK_MSG(strstr(err.message, "'output' uses 'relu'") != NULL, "message: %s", err.message);
	/* nothing changed: the graph still has its 3 node slots */
	CHECK_EQ_INT(g->n_nodes, 3);
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

/* The two graphs of the copy/move tests, in one ctx. */
typedef struct copy_case {
	pt2c_ctx *ctx;
	pt2c_graph *src, *dst;
	uint32_t a, smul, srelu, smul_n, srelu_n, src_out; /* src: a -> mul(a, a) -> relu -> output */
	uint32_t dmul, out_n;                              /* dst: x -> mul(x, x) -> [here] -> output(mul) */
	uint32_t map[8];                                   /* src value -> dst value; a -> dst's mul */
} copy_case;

static void copy_case_init(copy_case *c)
{
	memset(c, 0, sizeof *c);
	REQUIRE(pt2c__ctx_new(&c->ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(c->ctx, &c->src) == 0);
	REQUIRE(pt2c__graph_new(c->ctx, &c->dst) == 0);
	c->a = add_input(c->src, "a", NULL);
	uint32_t aa[2] = { c->a, c->a };
	c->smul = add_call(c->src, "mul", "torch.ops.aten.mul.Tensor", aa, 2, PT2C_NONE, &c->smul_n);
	c->srelu = add_call(c->src, "relu", "torch.ops.aten.relu.default", &c->smul, 1, PT2C_NONE, &c->srelu_n);
	c->src_out = add_output(c->src, &c->srelu, 1);
	uint32_t x = add_input(c->dst, "x", NULL);
	uint32_t xx[2] = { x, x };
	c->dmul = add_call(c->dst, "mul", "torch.ops.aten.mul.Tensor", xx, 2, PT2C_NONE, NULL);
	c->out_n = add_output(c->dst, &c->dmul, 1);
	for (int i = 0; i < 8; i++)
		c->map[i] = PT2C_NONE;
	c->map[c->a] = c->dmul;
}

/* Route dst's output through the copy, the way an inliner would; lint must pass. */
static void copy_case_finish(copy_case *c)
{
	pt2c_named_arg o;
	memset(&o, 0, sizeof o);
	o.arg = tensor_ref(c->map[c->srelu]);
	REQUIRE(pt2c__node_set_inputs(c->dst, c->out_n, &o, 1) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_lint(c->dst, NULL, NULL, &err), 0);
	pt2c__graph_free(c->src);
	pt2c__graph_free(c->dst);
	pt2c__ctx_unref(c->ctx);
}

static void test_copy_into(void)
{
	copy_case c;
	copy_case_init(&c);
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__graph_copy_into(c.dst, c.src, c.out_n, c.map, &err) == 0);
	CHECK_STR(order(c.dst), "x mul mul_1 relu output");
	CHECK_STR(c.dst->values[c.map[c.smul]].name, "mul_1");
	CHECK_STR(c.dst->values[c.map[c.srelu]].name, "relu");
	/* the copied mul reads the mapped placeholder value */
	uint32_t copied = c.dst->values[c.map[c.smul]].producer;
	CHECK_EQ_INT(c.dst->nodes[copied].inputs[0].arg.u.ref, c.dmul);
	CHECK_EQ_INT(c.dst->nodes[copied].inputs[1].arg.u.ref, c.dmul);
	/* src is untouched */
	CHECK_EQ_INT(c.src->nodes[1].inputs[0].arg.u.ref, c.a);
	CHECK(c.dst->nodes[copied].inputs != c.src->nodes[c.smul_n].inputs);
	copy_case_finish(&c);
}

/* move_into: the same result as copy_into, with src's argument arrays taken over, not copied. */
static void test_move_into(void)
{
	copy_case c;
	copy_case_init(&c);
	const pt2c_named_arg *mul_args = c.src->nodes[c.smul_n].inputs;
	const pt2c_arg *relu_outs = c.src->nodes[c.srelu_n].outputs;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__graph_move_into(c.dst, c.src, c.out_n, c.map, &err) == 0);
	CHECK_STR(order(c.dst), "x mul mul_1 relu output");
	CHECK_STR(c.dst->values[c.map[c.smul]].name, "mul_1");
	uint32_t moved_mul = c.dst->values[c.map[c.smul]].producer, moved_relu = c.dst->values[c.map[c.srelu]].producer;
	CHECK(c.dst->nodes[moved_mul].inputs == mul_args); /* taken over */
	CHECK(c.dst->nodes[moved_relu].outputs == relu_outs);
	CHECK_EQ_INT(c.dst->nodes[moved_mul].inputs[0].arg.u.ref, c.dmul); /* rewritten in place */
	CHECK_EQ_INT(c.dst->nodes[moved_relu].inputs[0].arg.u.ref, c.map[c.smul]);
	CHECK_EQ_INT(c.dst->values[c.dmul].n_uses, 3); /* the output and the moved mul's two inputs */
	/* what an inliner still reads of src: its output node (not moved) and its values */
	CHECK_EQ_INT(c.src->nodes[c.src_out].inputs[0].arg.u.ref, c.srelu);
	CHECK_STR(c.src->values[c.srelu].name, "relu");
	copy_case_finish(&c);
}

/*
 * In-place compaction against a reference: nodes created in a scrambled order (each inserted
 * before a pseudo-random live node), chained in list order, every 5th one forwarded and erased.
 * After compaction the ids must be the list positions and every input must name the value that
 * the reference says it reads.
 */
static void test_compact_scrambled(void)
{
	enum { N = 3000 };
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	uint32_t x_n;
	uint32_t x = add_input(g, "x", &x_n);
	uint32_t out_n = add_output(g, &x, 1);
	uint32_t *ids = calloc(N, sizeof *ids);
	uint32_t seed = 12345;
	for (uint32_t k = 0; k < N; k++) {
		/* before the output, or before a pseudo-random earlier call */
		seed = seed * 1103515245u + 12345u;
		uint32_t before = k ? ids[(seed >> 8) % k] : out_n;
		char name[32];
		snprintf(name, sizeof name, "n%u", k);
		REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, name, true, "torch.ops.aten.relu.default", before, &ids[k]) == 0);
		REQUIRE(pt2c__node_define_value(g, ids[k], PT2C_VAL_TENSOR, NULL) == 0);
	}
	/* chain in list order: each call reads the value of the node before it */
	uint32_t prev = x;
	PT2C_GRAPH_FOREACH(g, id) {
		if (g->nodes[id].op != PT2C_OP_CALL_FUNCTION)
			continue;
		pt2c_named_arg in;
		memset(&in, 0, sizeof in);
		in.arg = tensor_ref(prev);
		REQUIRE(pt2c__node_set_inputs(g, id, &in, 1) == 0);
		prev = pt2c__node_value(g, id);
	}
	pt2c_named_arg o;
	memset(&o, 0, sizeof o);
	o.arg = tensor_ref(prev);
	REQUIRE(pt2c__node_set_inputs(g, out_n, &o, 1) == 0);
	/* erase every 5th call in list order, forwarding its value to its input */
	uint32_t pos = 0;
	char erased[16] = "";
	for (uint32_t id = g->first; id != PT2C_NONE;) {
		uint32_t next = g->nodes[id].next;
		if (g->nodes[id].op == PT2C_OP_CALL_FUNCTION && pos++ % 5 == 2) {
			snprintf(erased, sizeof erased, "%s", g->nodes[id].name);
			pt2c__graph_replace_uses(g, pt2c__node_value(g, id), g->nodes[id].inputs[0].arg.u.ref);
			pt2c__graph_erase_node(g, id);
		}
		id = next;
	}
	/* the reference: names in order, and the name each node reads */
	char (*want)[2][16] = calloc(N + 2, sizeof *want);
	uint32_t n_live = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		snprintf(want[n_live][0], 16, "%s", g->nodes[id].name);
		if (g->nodes[id].n_inputs)
			snprintf(want[n_live][1], 16, "%s", g->values[pt2c__value_resolve(g, g->nodes[id].inputs[0].arg.u.ref)].name);
		n_live++;
	}
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__graph_compact(g, &err) == 0);
	CHECK_EQ_INT(g->n_nodes, n_live);
	CHECK_EQ_INT(g->n_values, n_live - 1); /* every node but the output defines one */
	uint32_t k = 0, bad = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (id != k || strcmp(nd->name, want[k][0]) != 0)
			bad++;
		else if (nd->n_inputs && strcmp(g->values[nd->inputs[0].arg.u.ref].name, want[k][1]) != 0)
			bad++;
		else if (nd->n_outputs && g->values[nd->outputs[0].u.ref].producer != id)
			bad++;
		k++;
	}
	CHECK_EQ_INT(k, n_live);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);
	/* names map follows the new value ids */
	CHECK_EQ_INT(pt2c__graph_find_value(g, want[1][0], strlen(want[1][0])), g->nodes[1].outputs[0].u.ref);
	CHECK_EQ_INT(pt2c__graph_find_value(g, erased, strlen(erased)), PT2C_NONE); /* dropped with its node */
	free(want);
	free(ids);
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static void test_copy_into_unmapped_input(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *src, *dst;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &src) == 0);
	REQUIRE(pt2c__graph_new(ctx, &dst) == 0);
	uint32_t a = add_input(src, "a", NULL);
	uint32_t r = add_call(src, "relu", "torch.ops.aten.relu.default", &a, 1, PT2C_NONE, NULL);
	add_output(src, &r, 1);
	uint32_t map[4] = { PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE };
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_copy_into(dst, src, PT2C_NONE, map, &err), PT2C_EGRAPH);
	CHECK_MSG(strstr(err.message, "'a'") != NULL, "message: %s", err.message);
	pt2c__graph_free(src);
	pt2c__graph_free(dst);
	pt2c__ctx_unref(ctx);
}

/* Build x -> relu -> neg -> output for the lint cases. */
static pt2c_graph *small_graph(pt2c_ctx *ctx, uint32_t *relu_n, uint32_t *neg_n, uint32_t *out_n)
{
	pt2c_graph *g;
	if (pt2c__graph_new(ctx, &g))
		return NULL;
	uint32_t x = add_input(g, "x", NULL);
	uint32_t relu = add_call(g, "relu", "torch.ops.aten.relu.default", &x, 1, PT2C_NONE, relu_n);
	uint32_t neg = add_call(g, "neg", "torch.ops.aten.neg.default", &relu, 1, PT2C_NONE, neg_n);
	*out_n = add_output(g, &neg, 1);
	return g;
}

static void test_lint(void)
{
	pt2c_ctx *ctx;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	uint32_t relu_n, neg_n, out_n;
	pt2c_error err = PT2C_ERROR_INIT;

	pt2c_graph *g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	REQUIRE(g);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);

	/* use before def: move neg before relu */
	pt2c__graph_move_before(g, neg_n, relu_n);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "node 'neg' uses 'relu' before it is defined");
	pt2c__graph_move_before(g, relu_n, neg_n);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);

	/* a cycle made by forwarding relu's uses to neg: neg now reads itself */
	pt2c__graph_replace_uses(g, g->nodes[relu_n].outputs[0].u.ref, g->nodes[neg_n].outputs[0].u.ref);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "node 'neg' uses 'neg' before it is defined");
	pt2c__graph_free(g);

	/* duplicate name */
	g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	g->nodes[neg_n].name = g->nodes[relu_n].name;
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "duplicate node name 'relu'");
	pt2c__graph_free(g);

	/* missing output */
	g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	pt2c__graph_erase_node(g, out_n);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "graph has no output node");
	/* output not last */
	uint32_t o2;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", false, "output", neg_n, &o2) == 0);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "node 'neg' comes after the output node 'output_1'");
	pt2c__graph_free(g);

	/* placeholder after a call */
	g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	uint32_t late;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "late", true, "late", out_n, &late) == 0);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "placeholder 'late' comes after node 'relu'");
	pt2c__graph_free(g);

	/* erased producer still used */
	g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	pt2c__graph_erase_node(g, relu_n);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "node 'neg' uses 'relu', which no live node defines");
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static void test_lint_subgraph(void)
{
	pt2c_ctx *ctx;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	uint32_t relu_n, neg_n, out_n;
	pt2c_graph *g = small_graph(ctx, &relu_n, &neg_n, &out_n);
	pt2c_graph *sub = small_graph(ctx, &relu_n, &neg_n, &out_n);
	REQUIRE(g && sub);
	/* neg gets a subgraph argument, as a cond branch would */
	pt2c_named_arg in[2];
	memcpy(in, g->nodes[2].inputs, sizeof in[0]);
	memset(&in[1], 0, sizeof in[1]);
	in[1].arg.kind = PT2C_ARG_GRAPH;
	in[1].arg.u.g.name = "true_graph_0";
	in[1].arg.u.g.graph = sub;
	REQUIRE(pt2c__node_set_inputs(g, 2, in, 2) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);
	pt2c__graph_move_before(sub, neg_n, relu_n);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "subgraph 'true_graph_0' of node 'neg': node 'neg' uses 'relu' before it is defined");
	pt2c__graph_free(sub);
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static bool only_weight(const pt2c_node *n, void *payload)
{
	(void)payload;
	return strcmp(n->target, "weight") == 0;
}

static void test_lint_targets(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	uint32_t w_n, b_n, w, bb;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_GET_ATTR, "weight", true, "weight", PT2C_NONE, &w_n) == 0);
	REQUIRE(pt2c__node_define_value(g, w_n, PT2C_VAL_TENSOR, &w) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_GET_ATTR, "bias", true, "lin.bias", PT2C_NONE, &b_n) == 0);
	REQUIRE(pt2c__node_define_value(g, b_n, PT2C_VAL_TENSOR, &bb) == 0);
	uint32_t outs[2] = { w, bb };
	add_output(g, outs, 2);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);
	CHECK_EQ_INT(pt2c__graph_lint(g, only_weight, NULL, &err), PT2C_EGRAPH);
	CHECK_STR(err.message, "node 'bias' has target 'lin.bias', which does not resolve");
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}


static int cb_count(uint32_t *ref, void *payload)
{
	(void)ref;
	(*(int *)payload)++;
	return 0;
}

static void test_foreach_ref(void)
{
	pt2c_arg levels[100];
	memset(levels, 0, sizeof levels);
	for (int i = 0; i < 99; i++) {
		levels[i].kind = PT2C_ARG_FX_LIST;
		levels[i].n = 1;
		levels[i].u.items = &levels[i + 1];
	}
	levels[99].kind = PT2C_ARG_FX_NODE;
	int count = 0;
	CHECK_EQ_INT(pt2c__arg_foreach_ref(&levels[0], cb_count, &count), PT2C_EUNSUPPORTED);
	/* 30 deep is fine */
	count = 0;
	CHECK_EQ_INT(pt2c__arg_foreach_ref(&levels[70], cb_count, &count), 0);
	CHECK_EQ_INT(count, 1);
	/* wide lists: every leaf once, literals skipped */
	pt2c_arg items[5];
	memset(items, 0, sizeof items);
	items[0].kind = PT2C_ARG_TENSOR;
	items[1].kind = PT2C_ARG_SYM_INT;
	items[1].flags = PT2C_ARGF_LITERAL;
	items[2].kind = PT2C_ARG_SYM_INT;
	items[3].kind = PT2C_ARG_NONE;
	items[4].kind = PT2C_ARG_CUSTOM_OBJ;
	pt2c_arg list;
	memset(&list, 0, sizeof list);
	list.kind = PT2C_ARG_FX_TUPLE;
	list.n = 5;
	list.u.items = items;
	count = 0;
	CHECK_EQ_INT(pt2c__arg_foreach_ref(&list, cb_count, &count), 0);
	CHECK_EQ_INT(count, 3);
	/* copy + equality */
	pt2c_ctx *ctx;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_arg copy;
	REQUIRE(pt2c__arg_copy(ctx, &copy, &list) == 0);
	CHECK(copy.u.items != list.u.items);
	CHECK(pt2c__arg_equal(&copy, &list));
	copy.u.items[2].u.ref = 7;
	CHECK(!pt2c__arg_equal(&copy, &list));
	CHECK_EQ_INT(items[2].u.ref, 0);
	pt2c__ctx_unref(ctx);
}

/* Build, edit, compact, copy and lint under allocation failure at every possible point. */
static int oom_scenario(const pt2c_allocator *alloc)
{
	pt2c_ctx *ctx;
	int rc = pt2c__ctx_new(&ctx, alloc);
	if (rc)
		return rc;
	pt2c_graph *g = NULL, *h = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if ((rc = pt2c__graph_new(ctx, &g)) || (rc = pt2c__graph_new(ctx, &h)))
		goto out;
	uint32_t prev = add_input(g, "x", NULL);
	for (int i = 0; i < 40 && prev != PT2C_NONE; i++) {
		uint32_t n;
		prev = add_call(g, "relu", "torch.ops.aten.relu.default", &prev, 1, PT2C_NONE, &n);
		if (prev != PT2C_NONE && i % 3 == 0) {
			pt2c__graph_replace_uses(g, prev, g->nodes[n].inputs[0].arg.u.ref);
			pt2c__graph_erase_node(g, n);
		}
	}
	if (prev == PT2C_NONE || add_output(g, &prev, 1) == PT2C_NONE) {
		rc = PT2C_ENOMEM;
		goto out;
	}
	if ((rc = pt2c__graph_compact(g, &err)) || (rc = pt2c__graph_lint(g, NULL, NULL, &err)))
		goto out;
	uint32_t hx = add_input(h, "y", NULL);
	if (hx == PT2C_NONE) {
		rc = PT2C_ENOMEM;
		goto out;
	}
	uint32_t map[64];
	map[0] = hx;
	rc = pt2c__graph_copy_into(h, g, PT2C_NONE, map, &err);
out:
	pt2c__graph_free(g);
	pt2c__graph_free(h);
	pt2c__ctx_unref(ctx);
	return rc;
}

static void test_oom_everywhere(void)
{
	int failures = 0;
	for (long k = 0; k < 10000; k++) {
		test_alloc ta;
		test_alloc_init(&ta);
		ta.fail_all = true;
		test_alloc_arm(&ta, k);
		int rc = oom_scenario(&ta.a);
		CHECK_EQ_INT(ta.live, 0);
		if (!ta.failed) {
			CHECK_EQ_INT(rc, 0);
			CHECK(failures > 10);
			return;
		}
		CHECK_EQ_INT(rc, PT2C_ENOMEM);
		failures++;
	}
	CHECK_MSG(0, "scenario never succeeded");
}

/*
 * Compaction with its N-th allocation failing, for every N: the graph prints as before (issue 11:
 * compaction rewrote the inputs to the new ids before its last allocation, so a failure left
 * `relu` reading another value).
 */
typedef struct compact_state { pt2c_ctx *ctx; pt2c_module *m; } compact_state;

static void *compact_setup(void *c, const pt2c_allocator *a)
{
	(void)c;
	compact_state *st = calloc(1, sizeof *st);
	if (!st || pt2c__ctx_new(&st->ctx, a) || pt2c__module_new(st->ctx, &st->m)) goto fail;
	pt2c_graph *g = st->m->graph;
	uint32_t prev = add_input(g, "x", NULL), keep = prev;
	for (int i = 0; i < 12 && prev != PT2C_NONE; i++) {
		uint32_t n;
		prev = add_call(g, i % 2 ? "relu" : "neg", i % 2 ? "torch.ops.aten.relu.default" : "torch.ops.aten.neg.default", &prev,
		                1, PT2C_NONE, &n);
		/* erase every third node, forwarding its value to its input */
		if (prev != PT2C_NONE && i % 3 == 1) {
			pt2c__graph_replace_uses(g, prev, g->nodes[n].inputs[0].arg.u.ref);
			pt2c__graph_erase_node(g, n);
			prev = g->nodes[n].inputs[0].arg.u.ref;
		}
	}
	uint32_t outs[2] = { prev, keep };
	if (prev == PT2C_NONE || add_output(g, outs, 2) == PT2C_NONE) goto fail;
	return st;
fail:
	if (st) {
		pt2c__module_free(st->m);
		pt2c__ctx_unref(st->ctx);
	}
	free(st);
	return NULL;
}

static int compact_step(void *c, void *state)
{
	(void)c;
	compact_state *st = state;
	pt2c_error err = PT2C_ERROR_INIT;
	return pt2c__graph_compact(st->m->graph, &err);
}

static char *compact_show(void *c, void *state)
{
	(void)c;
	compact_state *st = state;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	if (pt2c__module_print(&b, st->m)) {
		pt2c__buf_free(&b);
		return NULL;
	}
	const pt2c_graph *g = st->m->graph;
	pt2c__buf_printf(&b, "\nnodes %u live %u values %u\n", g->n_nodes, g->n_live, g->n_values);
	char *out = malloc(b.len + 1);
	if (out) {
		memcpy(out, b.data, b.len);
		out[b.len] = 0;
	}
	pt2c__buf_free(&b);
	return out;
}

static void compact_teardown(void *c, void *state)
{
	(void)c;
	compact_state *st = state;
	pt2c__module_free(st->m);
	pt2c__ctx_unref(st->ctx);
	free(st);
}

static void test_compact_failure_leaves_graph(void)
{
	test_oom_case c = { "compact", compact_setup, compact_step, compact_show, compact_teardown, NULL, 0 };
	CHECK(test_oom_state_unchanged(&c) >= 2); /* its two allocations */
}

static void test_chain_100k(void)
{
	pt2c_ctx *ctx;
	pt2c_graph *g;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__graph_new(ctx, &g) == 0);
	/* functional only: its speed is measured in bench/ (a wall-clock assert here was flaky) */
	enum { N = 100000 };
	uint32_t prev = add_input(g, "x", NULL);
	for (int i = 0; i < N; i++) {
		uint32_t n;
		prev = add_call(g, "relu", "torch.ops.aten.relu.default", &prev, 1, PT2C_NONE, &n);
		REQUIRE(prev != PT2C_NONE);
		/* erase every other node, forwarding its value to its input */
		if (i % 2 == 1) {
			uint32_t in = g->nodes[n].inputs[0].arg.u.ref;
			pt2c__graph_replace_uses(g, prev, in);
			pt2c__graph_erase_node(g, n);
		}
	}
	add_output(g, &prev, 1);
	CHECK_STR(g->nodes[N].name, "relu_99999");
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__graph_compact(g, &err) == 0);
	CHECK_EQ_INT(g->n_nodes, N / 2 + 2);
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);
	/* the output reads the last surviving relu */
	uint32_t out = pt2c__graph_output_node(g);
	CHECK_STR(g->values[g->nodes[out].inputs[0].arg.u.ref].name, "relu_99998");
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

/* MARK: claims in a run */

/* A deterministic pseudo-random number (the test's own: the same on every C library). */
static uint32_t next_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* A node name of the kinds fx meets: plain, suffixed, zero-padded, huge suffixes, keywords, unsanitised, long. */
static const char *random_name(uint64_t *s, char *buf, size_t cap)
{
	static const char *const BASES[] = { "add", "add_tensor", "mul", "x", "for", "list", "_", "a.b", "1x",
		                                 "conv.weight", "getitem", "", "torch", "a__b", "Z9", "relu_", "x_1" };
	const char *base = BASES[next_rand(s) % (sizeof BASES / sizeof BASES[0])];
	char longb[200];
	if (next_rand(s) % 16 == 0) { /* longer than a plain candidate may be */
		memset(longb, 'q', 170);
		longb[170] = '\0';
		base = longb;
	}
	switch (next_rand(s) % 8) {
	case 0: case 1: snprintf(buf, cap, "%s", base); break;
	case 2: case 3: snprintf(buf, cap, "%s_%u", base, next_rand(s) % 12); break;
	case 4: snprintf(buf, cap, "%s_0", base); break;
	case 5: snprintf(buf, cap, "%s_00%u", base, next_rand(s) % 3); break;
	case 6: snprintf(buf, cap, "%s_1234567890123456789", base); break;
	default: snprintf(buf, cap, "%s_%u", base, 1000 + next_rand(s) % 4); break;
	}
	return buf;
}

/* Every node and value name of a and b, in id order, the same. */
static void check_same_names(const pt2c_graph *a, const pt2c_graph *b, uint64_t seed)
{
	CHECK_EQ_INT(a->n_nodes, b->n_nodes);
	CHECK_EQ_INT(a->n_values, b->n_values);
	for (uint32_t i = 0; i < a->n_nodes && i < b->n_nodes; i++)
		CHECK_MSG(strcmp(a->nodes[i].name, b->nodes[i].name) == 0, "seed %llu node %u: %s vs %s",
		          (unsigned long long)seed, i, a->nodes[i].name, b->nodes[i].name);
	for (uint32_t i = 0; i < a->n_values && i < b->n_values; i++)
		CHECK_MSG(strcmp(a->values[i].name, b->values[i].name) == 0, "seed %llu value %u: %s vs %s",
		          (unsigned long long)seed, i, a->values[i].name, b->values[i].name);
}

/* REQUIRE for the builders below, which return a value: a broken set-up ends the test program. */
#define MUST(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* The source of test_copy_claims_in_a_run: a placeholder, then nodes reading earlier values, defining one or two. */
static pt2c_graph *random_src(pt2c_ctx *ctx, uint64_t seed, bool forward_use, uint32_t *p_value)
{
	uint64_t s = seed * 7919u;
	char buf[256];
	pt2c_graph *src = NULL;
	MUST(pt2c__graph_new(ctx, &src) == 0);
	uint32_t vals[128], n_vals = 0;
	vals[n_vals++] = *p_value = add_input(src, "p", NULL);
	uint32_t n_nodes = 1 + next_rand(&s) % 60;
	for (uint32_t i = 0; i < n_nodes; i++) {
		const char *nm = random_name(&s, buf, sizeof buf);
		uint32_t n;
		if (pt2c__graph_add_node(src, PT2C_OP_CALL_FUNCTION, nm, true, "t", PT2C_NONE, &n))
			MUST(pt2c__graph_add_node(src, PT2C_OP_CALL_FUNCTION, nm, false, "t", PT2C_NONE, &n) == 0);
		pt2c_named_arg in[2];
		memset(in, 0, sizeof in);
		uint32_t n_in = 1 + next_rand(&s) % 2;
		for (uint32_t k = 0; k < n_in; k++)
			in[k].arg = tensor_ref(vals[next_rand(&s) % n_vals]);
		MUST(pt2c__node_set_inputs(src, n, in, n_in) == 0);
		pt2c_arg outs[2];
		uint32_t n_out = 1 + (next_rand(&s) % 4 == 0);
		for (uint32_t k = 0; k < n_out; k++) {
			/* mostly named like the node (fx's convention: the node's own name), else a name of its own */
			bool like = k == 0 && next_rand(&s) % 5;
			const char *vn = like ? src->nodes[n].name : random_name(&s, buf, sizeof buf);
			uint32_t v;
			int arc = pt2c__graph_add_value(src, vn, like, PT2C_VAL_TENSOR, &v);
			if (arc == PT2C_EGRAPH) /* a value holds the node's name already: a fresh one, as copying does */
				arc = pt2c__graph_add_value(src, vn, false, PT2C_VAL_TENSOR, &v);
			MUST(arc == 0);
			outs[k] = tensor_ref(v);
			if (n_vals < 128)
				vals[n_vals++] = v;
		}
		MUST(pt2c__node_set_outputs(src, n, outs, n_out) == 0);
	}
	if (forward_use) { /* the first node also reads the last value: defined only later */
		uint32_t first = src->nodes[src->first].next;
		src->nodes[first].inputs[0].arg.u.ref = vals[n_vals - 1];
	}
	MUST(add_output(src, &vals[n_vals - 1], 1) != PT2C_NONE);
	return src;
}

/* A target holding names already (fresh and exact ones, from the seed), with a placeholder x first. */
static pt2c_graph *random_dst(pt2c_ctx *ctx, uint64_t seed, uint32_t *x)
{
	uint64_t s = seed;
	char buf[256];
	pt2c_graph *g = NULL;
	MUST(pt2c__graph_new(ctx, &g) == 0);
	*x = add_input(g, "x", NULL);
	uint32_t n_have = next_rand(&s) % 40;
	for (uint32_t i = 0; i < n_have; i++) {
		const char *nm = random_name(&s, buf, sizeof buf);
		bool exact = next_rand(&s) % 3 == 0;
		uint32_t n;
		(void)pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, nm, exact, "t", PT2C_NONE, &n);
	}
	return g;
}

/* Copy (move: move) src into g with its placeholder's value mapped to x. */
static int copy_src(pt2c_graph *g, pt2c_graph *src, uint32_t p, uint32_t x, bool move, pt2c_error *err)
{
	uint32_t map[160];
	for (int i = 0; i < 160; i++)
		map[i] = PT2C_NONE;
	map[p] = x;
	return move ? pt2c__graph_move_into(g, src, PT2C_NONE, map, err) : pt2c__graph_copy_into(g, src, PT2C_NONE, map, err);
}

/*
 * g's name table holds each name once (every key found at its own slot), every node's name as a
 * node's, and every value under its id.
 */
static void check_names_table(const pt2c_graph *g, uint64_t seed)
{
	size_t keys = 0, misplaced = 0, bad = 0;
	for (size_t i = 0; i < g->names.cap; i++) {
		const pt2c_map32_slot *sl = &g->names.slots[i];
		uint32_t v;
		if (!sl->key)
			continue;
		keys++;
		if (!pt2c__map32_get(&g->names, sl->key, strlen(sl->key), &v) || v != sl->value)
			misplaced++;
	}
	for (uint32_t i = 0; i < g->n_nodes; i++) {
		uint32_t e = 0;
		if (!pt2c__map32_get(&g->names, g->nodes[i].name, strlen(g->nodes[i].name), &e) || !(e & NAME_NODE))
			bad++;
	}
	for (uint32_t v = 0; v < g->n_values; v++)
		if (pt2c__graph_find_value(g, g->values[v].name, strlen(g->values[v].name)) != v)
			bad++;
	CHECK_MSG(keys == g->names.count && misplaced == 0 && bad == 0, "seed %llu: %zu keys (count %zu), %zu twice, %zu unnamed",
	          (unsigned long long)seed, keys, g->names.count, misplaced, bad);
}

/* a and b alike field by field: nodes (order, names, targets, arguments' references), values (names, producers, uses). */
static void check_same_graph(const pt2c_graph *a, const pt2c_graph *b, uint64_t seed)
{
	check_same_names(a, b, seed);
	CHECK_EQ_INT(a->first, b->first);
	CHECK_EQ_INT(a->last, b->last);
	CHECK_EQ_INT(a->n_live, b->n_live);
	for (uint32_t i = 0; i < a->n_nodes && i < b->n_nodes; i++) {
		const pt2c_node *x = &a->nodes[i], *y = &b->nodes[i];
		CHECK_MSG(x->op == y->op && x->flags == y->flags && x->prev == y->prev && x->next == y->next &&
		              strcmp(x->target, y->target) == 0 && x->n_inputs == y->n_inputs && x->n_outputs == y->n_outputs,
		          "seed %llu node %u differs", (unsigned long long)seed, i);
		for (uint32_t k = 0; k < x->n_inputs && k < y->n_inputs; k++)
			CHECK_EQ_INT(x->inputs[k].arg.u.ref, y->inputs[k].arg.u.ref);
		for (uint32_t k = 0; k < x->n_outputs && k < y->n_outputs; k++)
			CHECK_EQ_INT(x->outputs[k].u.ref, y->outputs[k].u.ref);
	}
	for (uint32_t i = 0; i < a->n_values && i < b->n_values; i++)
		CHECK_MSG(a->values[i].producer == b->values[i].producer && a->values[i].n_uses == b->values[i].n_uses &&
		              a->values[i].kind == b->values[i].kind && a->values[i].forward == b->values[i].forward,
		          "seed %llu value %u differs", (unsigned long long)seed, i);
}

/*
 * copy_into and move_into into a graph of the source's own context claim its names in a run
 * (each claim worked out beforehand: on helper threads under PT2C_TEST_AHEAD); into a graph of
 * another context, one names_fresh at a time. All must agree: the same random graph (hostile
 * names included) copied, then moved, into a graph of its own context gives, field for field,
 * what copying it twice gives; a graph of another context gets the same names; fresh names
 * claimed afterwards agree too (the bases' counts). A graph with an input defined only later
 * fails to move as it fails to copy.
 */
static void test_copy_claims_in_a_run(void)
{
	for (uint64_t seed = 1; seed <= 300; seed++) {
		char buf[256];
		pt2c_ctx *ca = NULL, *cb = NULL;
		REQUIRE(pt2c__ctx_new(&ca, NULL) == 0 && pt2c__ctx_new(&cb, NULL) == 0);
		uint32_t xm, xc, xb, p1, p2, p3, p4;
		pt2c_graph *dm = random_dst(ca, seed, &xm), *dc = random_dst(ca, seed, &xc), *db = random_dst(cb, seed, &xb);
		pt2c_graph *s1 = random_src(ca, seed, false, &p1), *s2 = random_src(ca, seed, false, &p2);
		pt2c_graph *s3 = random_src(ca, seed, false, &p3), *s4 = random_src(ca, seed, false, &p4);
		pt2c_error e = PT2C_ERROR_INIT;
		CHECK_EQ_INT(copy_src(dm, s1, p1, xm, false, &e), 0);
		CHECK_EQ_INT(copy_src(dm, s2, p2, xm, true, &e), 0);
		CHECK_EQ_INT(copy_src(dc, s3, p3, xc, false, &e), 0);
		CHECK_EQ_INT(copy_src(dc, s4, p4, xc, false, &e), 0);
		CHECK_EQ_INT(copy_src(db, s3, p3, xb, false, &e), 0);
		CHECK_EQ_INT(copy_src(db, s4, p4, xb, false, &e), 0);
		check_same_graph(dm, dc, seed);
		check_same_names(dm, db, seed);
		check_names_table(dm, seed);
		check_names_table(dc, seed);
		CHECK(pt2c__graph_uses_exact(dm));
		uint64_t s = seed ^ 0x5eed;
		for (int i = 0; i < 8; i++) {
			const char *nm = random_name(&s, buf, sizeof buf);
			const char *m = pt2c__graph_unique_name(dm, nm), *c = pt2c__graph_unique_name(dc, nm);
			const char *o = pt2c__graph_unique_name(db, nm);
			REQUIRE(m && c && o);
			CHECK_MSG(strcmp(m, c) == 0 && strcmp(m, o) == 0, "seed %llu, after: %s, %s, %s", (unsigned long long)seed,
			          m, c, o);
		}
		/* not regular: moved node by node, the copy's error */
		pt2c_graph *s5 = random_src(ca, seed, true, &p1), *s6 = random_src(ca, seed, true, &p2);
		pt2c_error em = PT2C_ERROR_INIT, ec = PT2C_ERROR_INIT;
		int rm = copy_src(dm, s5, p1, xm, true, &em), rc = copy_src(dc, s6, p2, xc, false, &ec);
		CHECK_EQ_INT(rm, rc);
		CHECK_MSG(rm == 0 || strcmp(em.message, ec.message) == 0, "seed %llu: %s vs %s", (unsigned long long)seed,
		          em.message, ec.message);
		pt2c_graph *all[] = { s1, s2, s3, s4, s5, s6, dm, dc, db };
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
			pt2c__graph_free(all[i]);
		pt2c__ctx_unref(ca);
		pt2c__ctx_unref(cb);
	}
}

/*
 * The claims of a run that could meet a name the run deferred (claimed without a lookup, not yet
 * in the table): a free candidate with a suffix the base has handed out ("add_5" after "add"
 * became add_5), a candidate names_fresh sanitises into one ("add.5"), a value's own name
 * ("add_5"), a second value named like the node (its output listed twice). Each must find the
 * deferred name taken, as one claim at a time does (a graph of another context).
 */
static void test_copy_claims_meet_deferred(void)
{
	static const char *const LATER[][2] = { { "add_5", NULL }, { "add.5", NULL }, { "mul", "add_5" }, { "mul", NULL } };
	for (int c = 0; c < 4; c++) {
		pt2c_ctx *ca = NULL, *cb = NULL;
		REQUIRE(pt2c__ctx_new(&ca, NULL) == 0 && pt2c__ctx_new(&cb, NULL) == 0);
		pt2c_graph *g[2] = { NULL, NULL }, *src = NULL;
		uint32_t x[2];
		REQUIRE(pt2c__graph_new(ca, &g[0]) == 0 && pt2c__graph_new(cb, &g[1]) == 0 && pt2c__graph_new(ca, &src) == 0);
		for (int t = 0; t < 2; t++) {
			x[t] = add_input(g[t], "x", NULL);
			for (int i = 0; i < 5; i++) /* add, add_1 .. add_4: the base's count is 4 */
				REQUIRE(add_call(g[t], "add", "t", &x[t], 1, PT2C_NONE, NULL) != PT2C_NONE);
		}
		uint32_t p = add_input(src, "p", NULL);
		uint32_t n1, v1 = add_call(src, "add", "t", &p, 1, PT2C_NONE, &n1); /* taken: becomes add_5, deferred */
		if (c == 3) { /* its value listed twice: the second use of the name is a fresh one */
			pt2c_arg twice[2] = { tensor_ref(v1), tensor_ref(v1) };
			REQUIRE(pt2c__node_set_outputs(src, n1, twice, 2) == 0);
		}
		uint32_t n2, v2;
		REQUIRE(pt2c__graph_add_node(src, PT2C_OP_CALL_FUNCTION, LATER[c][0], true, "t", PT2C_NONE, &n2) == 0);
		pt2c_named_arg in;
		memset(&in, 0, sizeof in);
		in.arg = tensor_ref(v1);
		REQUIRE(pt2c__node_set_inputs(src, n2, &in, 1) == 0);
		REQUIRE(pt2c__graph_add_value(src, LATER[c][1] ? LATER[c][1] : src->nodes[n2].name, false, PT2C_VAL_TENSOR, &v2) == 0);
		pt2c_arg o = tensor_ref(v2);
		REQUIRE(pt2c__node_set_outputs(src, n2, &o, 1) == 0);
		REQUIRE(add_output(src, &v2, 1) != PT2C_NONE);
		pt2c_error e = PT2C_ERROR_INIT;
		for (int t = 0; t < 2; t++) {
			uint32_t map[8] = { PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE, PT2C_NONE };
			map[p] = x[t];
			CHECK_EQ_INT(pt2c__graph_copy_into(g[t], src, PT2C_NONE, map, &e), 0);
		}
		check_same_names(g[0], g[1], (uint64_t)c);
		check_names_table(g[0], (uint64_t)c);
		CHECK(pt2c__graph_uses_exact(g[0]));
		/* every name once in the table, each value found under its own */
		for (uint32_t v = 0; v < g[0]->n_values; v++)
			CHECK_EQ_INT(pt2c__graph_find_value(g[0], g[0]->values[v].name, strlen(g[0]->values[v].name)), v);
		pt2c__graph_free(src);
		pt2c__graph_free(g[0]);
		pt2c__graph_free(g[1]);
		pt2c__ctx_unref(ca);
		pt2c__ctx_unref(cb);
	}
}

/*
 * Memory running out anywhere in a copy whose run defers names and also claims names of its
 * own (values named apart, a candidate to sanitise): whatever fails, no copied node or value is
 * left without its entry in the table (the run sized the table for every claim up front, so
 * the deferred names always go in), and nothing leaks.
 */
static void test_copy_claims_oom(void)
{
	enum { NV = 100, ND = 200 }; /* enough values named apart to outgrow a table sized for the nodes alone */
	static uint32_t map[NV * 4 + ND + 8];
	long k;
	for (k = 0; k < 100000; k++) {
		test_alloc ta;
		test_alloc_init(&ta);
		pt2c_ctx *ctx = NULL;
		pt2c_graph *dst = NULL, *src = NULL;
		REQUIRE(pt2c__ctx_new(&ctx, &ta.a) == 0);
		REQUIRE(pt2c__graph_new(ctx, &dst) == 0 && pt2c__graph_new(ctx, &src) == 0);
		uint32_t x = add_input(dst, "x", NULL);
		for (int i = 0; i < ND; i++) /* add .. add_199 */
			REQUIRE(add_call(dst, "add", "t", &x, 1, PT2C_NONE, NULL) != PT2C_NONE);
		uint32_t p = add_input(src, "p", NULL), last = p;
		for (int i = 0; i < NV; i++) { /* three values named apart each: claims the run does not defer */
			uint32_t n;
			REQUIRE(pt2c__graph_add_node(src, PT2C_OP_CALL_FUNCTION, "v", false, "t", PT2C_NONE, &n) == 0);
			pt2c_named_arg in;
			memset(&in, 0, sizeof in);
			in.arg = tensor_ref(p);
			REQUIRE(pt2c__node_set_inputs(src, n, &in, 1) == 0);
			pt2c_arg outs[3];
			for (int j = 0; j < 3; j++) {
				char nm[32];
				uint32_t v;
				snprintf(nm, sizeof nm, "w%d_%d", i, j);
				REQUIRE(pt2c__graph_add_value(src, nm, true, PT2C_VAL_TENSOR, &v) == 0);
				outs[j] = tensor_ref(v);
			}
			REQUIRE(pt2c__node_set_outputs(src, n, outs, 3) == 0);
		}
		for (int i = 0; i < ND; i++) /* taken in dst: deferred */
			REQUIRE((last = add_call(src, "add", "t", &last, 1, PT2C_NONE, NULL)) != PT2C_NONE);
		uint32_t nn; /* not plain: the deferred names are flushed before it */
		REQUIRE(pt2c__graph_add_node(src, PT2C_OP_CALL_FUNCTION, "a.b", false, "t", PT2C_NONE, &nn) == 0);
		REQUIRE(add_output(src, &last, 1) != PT2C_NONE);
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			map[i] = PT2C_NONE;
		map[p] = x;
		pt2c_error e = PT2C_ERROR_INIT;
		ta.fail_all = true;
		test_alloc_arm(&ta, k);
		int rc = pt2c__graph_copy_into(dst, src, PT2C_NONE, map, &e);
		test_alloc_disarm(&ta);
		bool failed = ta.failed;
		check_names_table(dst, (uint64_t)k); /* "seed" k: the failure point */
		pt2c__graph_free(src);
		pt2c__graph_free(dst);
		pt2c__ctx_unref(ctx);
		CHECK_EQ_INT(ta.live, 0);
		if (!failed) {
			CHECK_EQ_INT(rc, 0);
			break;
		}
	}
	CHECK_MSG(k > 5, "%ld failure points", k); /* the copy allocates: the loop ran through them */
}

PT2C_TEST_MAIN({
	RUN(test_insert_before_after);
	RUN(test_compact_failure_leaves_graph);
	RUN(test_replace_uses_and_compact);
	RUN(test_compact_rejects_dangling);
	RUN(test_copy_into);
	RUN(test_copy_into_unmapped_input);
	RUN(test_move_into);
	RUN(test_copy_claims_in_a_run);
	RUN(test_copy_claims_meet_deferred);
	RUN(test_copy_claims_oom);
	RUN(test_compact_scrambled);
	RUN(test_lint);
	RUN(test_lint_targets);
	RUN(test_lint_subgraph);
	RUN(test_foreach_ref);
	RUN(test_oom_everywhere);
	RUN(test_chain_100k);
})
