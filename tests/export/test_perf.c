/*
 * test_perf.c -- scale: a 100k-node module (engine -> fallback holding a chain of 100k aten.add
 * -> engine) exports correctly in both modes. The times are printed, not asserted: speed is
 * checked by the benchmarks (bench/), where a loaded CI machine cannot make a test flaky.
 */
#include <time.h>

#include "export_test_util.h"

#define CHAIN 100000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The partitioned JSON of the synthetic module. */
static char *make_json(size_t *len)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "{\"graph\": [" PH("x", M_F32_23) ","
	                   CM("_run_on_acc_0", "[" N("x") "]", "[" M_F32_23 "]") ","
	                   CM("_run_on_gpu_1", "[" N("_run_on_acc_0") "]", M_F32_23) ","
	                   CM("_run_on_acc_2", "[" N("_run_on_gpu_1") ", " N("x") "]", "[" M_F32_23 ", " M_F32_23 "]") ","
	                   GI("getitem", "_run_on_acc_2", 0, M_F32_23) "," GI("getitem_1", "_run_on_acc_2", 1, M_F32_23) ","
	                   OUT("[" N("getitem") ", " N("getitem_1") "]") "], \"submodules\": {"
	                   "\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "},"
	                   "\"_run_on_acc_2\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_2_engine") "},"
	                   "\"_run_on_gpu_1\": {\"kind\": \"graph\", \"graph\": [" PH("a", M_F32_23) "," GA("w", "w", M_F32_23));
	for (int i = 0; i < CHAIN; i++) {
		char prev[32];
		if (i == 0) snprintf(prev, sizeof prev, "a");
		else snprintf(prev, sizeof prev, "add_%d", i - 1);
		pt2c__buf_printf(&b, ",{\"op\": \"call_function\", \"name\": \"add_%d\", \"target\": \"torch.ops.aten.add.Tensor\", "
		                     "\"args\": [{\"node\": \"%s\"}, {\"node\": \"w\"}], \"kwargs\": {}, \"val\": " M_F32_23 "}", i, prev);
	}
	pt2c__buf_printf(&b, "," OUT("{\"node\": \"add_%d\"}") "], \"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], "
	                     "\"strides\": [3, 1], " ZEROS24 "}}, \"buffers\": {}}}, \"parameters\": {}, \"buffers\": {}}", CHAIN - 1);
	pt2c__buf_cstr(&b);
	return pt2c__buf_detach(&b, len);
}

static void test_100k_nodes(void)
{
	size_t len = 0;
	char *json = make_json(&len);
	REQUIRE(json);
	for (int cross = 0; cross < 2; cross++) {
		double t0 = now();
		pt2c_module *m = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_json_read(&m, json, len, NULL, &err);
		CHECK_MSG(rc == 0, "%s", err.message);
		if (rc) break;
		double t1 = now();
		pt2c_program *p = NULL;
		rc = pt2c__export_module(&p, &m, cross != 0, NULL, &err);
		double t2 = now();
		CHECK_MSG(rc == 0, "%s", err.message);
		if (rc) break;
		printf("%s export of %d-node chain: read %.3f s, passes+program %.3f s\n", cross ? "cross" : "normal", CHAIN,
		       t1 - t0, t2 - t1);
		/* x, w (+2 engines) placeholders, 2 engine calls, the chain, output */
		CHECK_EQ_INT(p->mod->graph->n_live, (cross ? 2 : 4) + 2 + CHAIN + 1);
		CHECK_EQ_INT(p->n_inputs, cross ? 2 : 4);
		CHECK_EQ_INT(p->n_outputs, 2);
		if (!cross) {
			rc = pt2c__program_lint(p, &err);
			CHECK_MSG(rc == 0, "%s", err.message);
		}
		pt2c__program_free(p);
	}
	free(json);
}

PT2C_TEST_MAIN({ RUN(test_100k_nodes); })
