/*
 * test_robust.c -- graphs as a careless or hostile reader could build them (dangling ids,
 * values defined twice, outputs anywhere, forwards to erased values): lint, compact and both
 * printers must answer with an error or text, never crash or read out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "ir/ir.h"

static uint64_t rng_state;
static int n_lint_ok, n_lint_bad, n_compact_ok, n_compact_bad, n_par_checked, n_compact_par;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return n ? (uint32_t)((rng_state >> 33) % n) : 0;
}

/* A random argument tree of bounded size whose refs may dangle. */
static void random_arg(pt2c_ctx *ctx, pt2c_arg *a, uint32_t n_values, int depth)
{
	memset(a, 0, sizeof *a);
	static const uint8_t KINDS[] = { PT2C_ARG_NONE, PT2C_ARG_TENSOR, PT2C_ARG_INT, PT2C_ARG_FLOAT, PT2C_ARG_STRING,
	                                 PT2C_ARG_SYM_INT, PT2C_ARG_FX_NODE, PT2C_ARG_FX_LIST, PT2C_ARG_FX_TUPLE,
	                                 PT2C_ARG_TENSORS, PT2C_ARG_DEVICE, PT2C_ARG_SCALAR_TYPE, PT2C_ARG_CUSTOM_OBJ,
	                                 PT2C_ARG_OPTIONAL_TENSORS, PT2C_ARG_BOOL };
	a->kind = KINDS[rnd(sizeof KINDS)];
	uint32_t ref = rnd(n_values + 3); /* sometimes out of range */
	switch (a->kind) {
	case PT2C_ARG_TENSOR:
	case PT2C_ARG_FX_NODE:
	case PT2C_ARG_SYM_INT:
		a->u.ref = ref;
		if (a->kind == PT2C_ARG_SYM_INT && rnd(2))
			a->flags = PT2C_ARGF_LITERAL;
		break;
	case PT2C_ARG_CUSTOM_OBJ:
		a->u.obj.ref = ref;
		break;
	case PT2C_ARG_INT:
		a->u.i = (int64_t)rnd(1000) - 500;
		break;
	case PT2C_ARG_FLOAT:
		a->u.f = rnd(2) ? 0.1 * rnd(100) : 1e300 * 1e300;
		break;
	case PT2C_ARG_STRING:
		a->u.s = "it's \"q\"\n";
		a->n = 9;
		break;
	case PT2C_ARG_DEVICE:
		a->u.dev.type = pt2c__ctx_interns(ctx, "cuda");
		a->u.dev.index = (int32_t)rnd(3) - 1;
		break;
	case PT2C_ARG_SCALAR_TYPE:
		a->u.i = (int64_t)rnd(40) - 2;
		break;
	case PT2C_ARG_FX_LIST:
	case PT2C_ARG_FX_TUPLE:
	case PT2C_ARG_TENSORS:
	case PT2C_ARG_OPTIONAL_TENSORS:
		if (depth < 3) {
			a->n = rnd(4);
			a->u.items = a->n ? pt2c__arena_calloc(&ctx->arena, a->n, sizeof *a->u.items) : NULL;
			for (uint32_t i = 0; i < a->n; i++)
				random_arg(ctx, &a->u.items[i], n_values, depth + 1);
		}
		break;
	default:
		break;
	}
}

/* A random graph of at most 12 nodes, the same for the same seed (*out stays NULL on failure). */
static void random_program(uint32_t seed, pt2c_program **out)
{
	*out = NULL;
	rng_state = seed;
	pt2c_ctx *ctx;
	pt2c_program *p;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__program_new(ctx, &p) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_graph *g = p->mod->graph;
	uint32_t n_nodes = 1 + rnd(12);
	for (uint32_t i = 0; i < n_nodes; i++) {
		uint32_t id, v;
		int op = (int)rnd(PT2C_OP__COUNT);
		REQUIRE(pt2c__graph_add_node(g, op, rnd(3) ? "n" : "input", false, rnd(5) ? "torch.ops.aten.add.Tensor" : "",
		                             rnd(2) && g->n_live ? g->first : PT2C_NONE, &id) == 0);
		if (op != PT2C_OP_OUTPUT || rnd(4) == 0) {
			REQUIRE(pt2c__graph_add_value(g, "v", false, (int)rnd(9), &v) == 0);
			pt2c_arg outs[2];
			uint32_t n_out = 1 + rnd(2);
			for (uint32_t k = 0; k < n_out; k++) {
				memset(&outs[k], 0, sizeof outs[k]);
				outs[k].kind = rnd(2) ? PT2C_ARG_TENSOR : PT2C_ARG_FX_NODE;
				outs[k].u.ref = rnd(4) ? v : rnd(g->n_values + 2);
			}
			REQUIRE(pt2c__node_set_outputs(g, id, outs, n_out) == 0);
		}
		pt2c_named_arg in[3];
		uint32_t n_in = rnd(4);
		for (uint32_t k = 0; k < n_in; k++) {
			in[k].name = rnd(2) ? pt2c__ctx_interns(ctx, "alpha") : NULL;
			in[k].kind = (uint8_t)rnd(3);
			random_arg(ctx, &in[k].arg, g->n_values, 0);
		}
		REQUIRE(pt2c__node_set_inputs(g, id, in, n_in) == 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		if (g->n_values >= 2 && rnd(2))
			pt2c__graph_replace_uses(g, rnd(g->n_values), rnd(g->n_values));
		if (rnd(3) == 0)
			pt2c__graph_erase_node(g, rnd(g->n_nodes));
		if (rnd(3) == 0)
			pt2c__graph_move_before(g, rnd(g->n_nodes), rnd(2) ? PT2C_NONE : rnd(g->n_nodes));
	}
	*out = p;
}

/* Compaction of the seed's graph on helper threads (ranges of two nodes): its code, message and text. */
static void compact_on_helpers(uint32_t seed, int *rc, pt2c_error *err, pt2c_buf *text)
{
	pt2c_program *p;
	random_program(seed, &p);
	REQUIRE(p);
	pt2c_thread_tuning saved = pt2c__thread_tuning;
	pt2c__thread_tuning.min_items = 2;
	pt2c__thread_tuning.chunk_items = 2;
	pt2c__graph_recount_uses(p->mod->graph);
	unsigned long before = pt2c__graph_compact_par_count();
	*rc = pt2c__graph_compact(p->mod->graph, err);
	n_compact_par += pt2c__graph_compact_par_count() > before;
	pt2c__thread_tuning = saved;
	CHECK_EQ_INT(pt2c__program_print(text, p), 0);
	pt2c__program_free(p);
}

static void one_round(uint32_t seed)
{
	pt2c_program *p;
	random_program(seed, &p);
	REQUIRE(p);
	pt2c_graph *g = p->mod->graph;
	pt2c_error err = PT2C_ERROR_INIT;
	/*
	 * On helper threads first (ranges of two nodes; it leaves the graph as it was): a graph
	 * passes there exactly when it passes in order, and what it reports is the same.
	 */
	pt2c_thread_tuning saved = pt2c__thread_tuning;
	pt2c__thread_tuning.min_items = 2;
	pt2c__thread_tuning.chunk_items = 2;
	unsigned long passed = pt2c__graph_lint_par_count();
	pt2c_error perr = PT2C_ERROR_INIT;
	int prc = pt2c__graph_lint(g, NULL, NULL, &perr);
	bool on_helpers = pt2c__graph_lint_par_count() > passed;
	pt2c__thread_tuning.min_items = UINT32_MAX; /* in order */
	int rc = pt2c__graph_lint(g, NULL, NULL, &err);
	pt2c__thread_tuning = saved;
	CHECK_EQ_INT(prc, rc);
	CHECK_STR(perr.message, err.message);
	if (g->n_nodes >= 2 && pt2c__cpu_count() >= 2)
		CHECK(on_helpers == (rc == 0));
	n_par_checked += on_helpers;
	CHECK(rc == 0 || rc == PT2C_EGRAPH || rc == PT2C_EUNSUPPORTED);
	*(rc ? &n_lint_bad : &n_lint_ok) += 1;
	CHECK(rc == 0 || err.message[0] != '\0');
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	CHECK_EQ_INT(pt2c__module_print(&b, p->mod), 0);
	CHECK_EQ_INT(pt2c__program_print(&b, p), 0);
	pt2c__buf_free(&b);
	pt2c__graph_recount_uses(g);
	pt2c__thread_tuning.min_items = UINT32_MAX; /* in order */
	rc = pt2c__graph_compact(g, &err);
	pt2c__thread_tuning = saved;
	CHECK(rc == 0 || rc == PT2C_EGRAPH || rc == PT2C_EUNSUPPORTED);
	*(rc ? &n_compact_bad : &n_compact_ok) += 1;
	/* on helper threads: the same result, message and program */
	pt2c_error herr = PT2C_ERROR_INIT;
	pt2c_buf want, have;
	pt2c__buf_init(&want, NULL);
	pt2c__buf_init(&have, NULL);
	int hrc = -1;
	compact_on_helpers(seed, &hrc, &herr, &have);
	CHECK_EQ_INT(hrc, rc);
	if (rc)
		CHECK_STR(herr.message, err.message);
	CHECK_EQ_INT(pt2c__program_print(&want, p), 0);
	CHECK(want.len == have.len && memcmp(want.data, have.data, want.len) == 0);
	pt2c__buf_free(&want);
	pt2c__buf_free(&have);
	if (rc == 0) {
		/* after a successful compaction every input resolves to a kept value */
		for (uint32_t id = 0; id < g->n_nodes; id++)
			CHECK(!(g->nodes[id].flags & PT2C_NODE_ERASED));
		rc = pt2c__graph_lint(g, NULL, NULL, &err);
		CHECK(rc == 0 || rc == PT2C_EGRAPH);
	}
	pt2c__buf_init(&b, NULL);
	CHECK_EQ_INT(pt2c__program_print(&b, p), 0);
	pt2c__buf_free(&b);
	pt2c__program_free(p);
}

static void test_random_graphs(void)
{
	for (uint32_t seed = 1; seed <= 3000; seed++)
		one_round(seed);
	printf("lint ok %d (%d on helper threads) / failed %d, compact ok %d / failed %d (%d on helper threads)\n",
	       n_lint_ok, n_par_checked, n_lint_bad, n_compact_ok, n_compact_bad, n_compact_par);
	if (pt2c__cpu_count() >= 2)
		CHECK(n_compact_par > n_compact_ok / 2); /* most graphs that compact have 2+ nodes */
	/* both outcomes must have been exercised */
	CHECK(n_lint_ok > 0 && n_lint_bad > 0 && n_compact_ok > 0 && n_compact_bad > 0);
}

/* Printers under allocation failure: ENOMEM or the full text, and nothing leaked. */
static void test_print_oom(void)
{
	pt2c_ctx *ctx;
	pt2c_program *p;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__program_new(ctx, &p) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_graph *g = p->mod->graph;
	uint32_t prev = PT2C_NONE;
	for (int i = 0; i < 30; i++) {
		uint32_t n, v;
		REQUIRE(pt2c__graph_add_node(g, i ? PT2C_OP_CALL_FUNCTION : PT2C_OP_PLACEHOLDER, "n", false, "t", PT2C_NONE, &n) == 0);
		REQUIRE(pt2c__node_define_value(g, n, PT2C_VAL_TENSOR, &v) == 0);
		if (prev != PT2C_NONE) {
			pt2c_named_arg in;
			memset(&in, 0, sizeof in);
			in.arg.kind = PT2C_ARG_TENSOR;
			in.arg.u.ref = prev;
			REQUIRE(pt2c__node_set_inputs(g, n, &in, 1) == 0);
		}
		prev = v;
	}
	uint32_t o;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", true, "output", PT2C_NONE, &o) == 0);
	pt2c_buf ref;
	pt2c__buf_init(&ref, NULL);
	REQUIRE(pt2c__program_print(&ref, p) == 0);
	int successes = 0;
	for (long budget = 0; budget < 200 && successes < 2; budget++) {
		for (int which = 0; which < 2; which++) {
			test_alloc f; /* the harness's failing allocator: allocation `budget` and every later one fail */
			test_alloc_init(&f);
			f.fail_all = true;
			test_alloc_arm(&f, budget);
			const pt2c_allocator a = f.a;
			pt2c_buf b;
			pt2c__buf_init(&b, &a);
			int rc = which ? pt2c__module_print(&b, p->mod) : pt2c__program_print(&b, p);
			CHECK(rc == 0 || rc == PT2C_ENOMEM);
			if (rc == 0 && which == 0) {
				successes++;
				CHECK(b.len == ref.len && memcmp(b.data, ref.data, ref.len) == 0);
			}
			pt2c__buf_free(&b);
			CHECK_EQ_INT(f.live, 0);
		}
	}
	CHECK(successes > 0);
	pt2c__buf_free(&ref);
	pt2c__program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_random_graphs);
	RUN(test_print_oom);
})
