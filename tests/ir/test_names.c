/* test_names.c -- the fx namespace (torch.fx.graph._Namespace.create_name) and value naming. */
#include "harness.h"
#include "ir/ir.h"

static pt2c_ctx *ctx;
static pt2c_graph *g;

static void setup(void)
{
	ctx = NULL;
	g = NULL;
	pt2c__ctx_new(&ctx, NULL);
	pt2c__graph_new(ctx, &g);
}

static void teardown(void)
{
	pt2c__graph_free(g);
	pt2c__ctx_unref(ctx);
}

static void test_repeat_base(void)
{
	setup();
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add");
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add_1");
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add_2");
	/* a suffixed candidate that is free is taken as is */
	CHECK_STR(pt2c__graph_unique_name(g, "mul_5"), "mul_5");
	/* base_count["mul"] is now 5: the plain base is still free */
	CHECK_STR(pt2c__graph_unique_name(g, "mul"), "mul");
	CHECK_STR(pt2c__graph_unique_name(g, "mul"), "mul_6");
	teardown();
}

static void test_suffix_taken_first(void)
{
	setup();
	CHECK_STR(pt2c__graph_unique_name(g, "add_1"), "add_1");
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add");
	/* next after add (count 1 from add_1) skips the taken add_1 */
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add_2");
	CHECK_STR(pt2c__graph_unique_name(g, "add_1"), "add_3");
	teardown();
}

static void test_sanitize(void)
{
	setup();
	CHECK_STR(pt2c__graph_unique_name(g, "1x"), "_1x");
	CHECK_STR(pt2c__graph_unique_name(g, "a.b"), "a_b");
	/* a run of illegal characters collapses to one '_' */
	CHECK_STR(pt2c__graph_unique_name(g, "a..-b"), "a_b_1");
	CHECK_STR(pt2c__graph_unique_name(g, ""), "_unnamed");
	CHECK_STR(pt2c__graph_unique_name(g, "conv.weight"), "conv_weight");
	/* leading zeros of a suffix are normalised like int() does */
	CHECK_STR(pt2c__graph_unique_name(g, "x_01"), "x_1");
	CHECK_STR(pt2c__graph_unique_name(g, "y_0"), "y_0");
	CHECK_STR(pt2c__graph_unique_name(g, "y"), "y");
	CHECK_STR(pt2c__graph_unique_name(g, "y"), "y_1");
	teardown();
}

static void test_keywords_and_builtins(void)
{
	setup();
	CHECK_STR(pt2c__graph_unique_name(g, "if"), "if_1");
	CHECK_STR(pt2c__graph_unique_name(g, "None"), "None_1");
	/* builtins fx refuses to shadow: input, sum, max */
	CHECK_STR(pt2c__graph_unique_name(g, "input"), "input_1");
	CHECK_STR(pt2c__graph_unique_name(g, "sum"), "sum_1");
	CHECK_STR(pt2c__graph_unique_name(g, "torch"), "torch_1");
	CHECK_STR(pt2c__graph_unique_name(g, "inputs"), "inputs");
	teardown();
}

static void test_reserve_and_values(void)
{
	setup();
	CHECK_EQ_INT(pt2c__graph_reserve_name(g, "x"), 0);
	CHECK_EQ_INT(pt2c__graph_reserve_name(g, "x"), PT2C_EGRAPH);
	CHECK_STR(pt2c__graph_unique_name(g, "x"), "x_1");

	uint32_t n, v, v2;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "mul", true, "torch.ops.aten.mul.Tensor", PT2C_NONE, &n) == 0);
	/* same exact node name again is a duplicate */
	uint32_t n2;
	CHECK_EQ_INT(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "mul", true, "t", PT2C_NONE, &n2), PT2C_EGRAPH);
	/* the node's value shares its name (fx convention), without a second reservation */
	REQUIRE(pt2c__node_define_value(g, n, PT2C_VAL_TENSOR, &v) == 0);
	CHECK_STR(g->values[v].name, "mul");
	CHECK_EQ_INT(g->values[v].producer, n);
	CHECK_EQ_INT(pt2c__graph_find_value(g, "mul", 3), v);
	CHECK_EQ_INT(pt2c__node_value(g, n), v);
	/* a second value named exactly "mul" is refused; a derived one moves on */
	CHECK_EQ_INT(pt2c__graph_add_value(g, "mul", true, PT2C_VAL_TENSOR, &v2), PT2C_EGRAPH);
	REQUIRE(pt2c__graph_add_value(g, "mul", false, PT2C_VAL_TENSOR, &v2) == 0);
	CHECK_STR(g->values[v2].name, "mul_1");
	/* non-exact node names come from the same namespace */
	uint32_t n3;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "mul", false, "t", PT2C_NONE, &n3) == 0);
	CHECK_STR(g->nodes[n3].name, "mul_2");
	CHECK_EQ_INT(pt2c__graph_find_value(g, "nope", 4), PT2C_NONE);
	teardown();
}

/* Exact names (as read from files) leave the namespace as create_name would have. */
static void test_exact_names_count(void)
{
	setup();
	uint32_t n;
	static const char *const NAMES[] = { "add", "add_1", "add_2", "add_3", "relu_5" };
	for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
		REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, NAMES[i], true, "t", PT2C_NONE, &n) == 0);
	CHECK_STR(pt2c__graph_unique_name(g, "add"), "add_4");
	CHECK_STR(pt2c__graph_unique_name(g, "relu"), "relu");
	CHECK_STR(pt2c__graph_unique_name(g, "relu"), "relu_6");
	uint32_t v;
	REQUIRE(pt2c__graph_add_value(g, "getitem_7", true, PT2C_VAL_TENSOR, &v) == 0);
	CHECK_STR(pt2c__graph_unique_name(g, "getitem"), "getitem");
	CHECK_STR(pt2c__graph_unique_name(g, "getitem"), "getitem_8");
	teardown();
}

PT2C_TEST_MAIN({
	RUN(test_repeat_base);
	RUN(test_suffix_taken_first);
	RUN(test_sanitize);
	RUN(test_keywords_and_builtins);
	RUN(test_reserve_and_values);
	RUN(test_exact_names_count);
})
