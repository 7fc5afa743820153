/*
 * test_atomic.c -- every public module pass, run with the N-th allocation failing for every N:
 * the failure comes back as PT2C_ENOMEM and the module prints exactly as before the call (graph,
 * attributes, submodules), nothing leaks. Reproduces the compaction bug of issue 11: compaction
 * rewrote input references before its last allocation, so a failure there left `relu` reading
 * the wrong value. Driven through the public API (pt2c_module_* with a custom allocator).
 */
#include <stdlib.h>

#include "harness.h"
#include "pt2c.h"
#include "ir/ir.h"
#include "util/util.h"

typedef struct pass_case {
	const char *fixture;
	int pass; /* PASS_* */
	int prepare; /* passes run (without failures) before the one under test: PASS_* bit set */
} pass_case;

enum { PASS_ENGINES = 1, PASS_ENGINES_CROSS = 2, PASS_FALLBACKS = 4, PASS_REMOVE_SUBS = 8, PASS_DCE = 16 };

static int run_pass(pt2c_module *m, int pass, pt2c_error *err)
{
	switch (pass) {
	case PASS_ENGINES: return pt2c_module_inline_engines(m, 0, err);
	case PASS_ENGINES_CROSS: return pt2c_module_inline_engines(m, 1, err);
	case PASS_FALLBACKS: return pt2c_module_inline_fallbacks(m, err);
	case PASS_REMOVE_SUBS: return pt2c_module_remove_unused_submodules(m, err);
	case PASS_DCE: return pt2c_module_eliminate_dead_code(m, err);
	default: return PT2C_EINVALID;
	}
}

static void *setup(void *ctx, const pt2c_allocator *a)
{
	const pass_case *c = ctx;
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.partitioned.json", c->fixture);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c_module_load_json(&m, shared_path(rel), a, &err)) {
		fprintf(stderr, "%s: %s\n", rel, err.message);
		return NULL;
	}
	for (int p = 1; p <= PASS_DCE; p <<= 1) {
		if ((c->prepare & p) && run_pass(m, p, &err)) {
			fprintf(stderr, "%s: prepare pass %d: %s\n", rel, p, err.message);
			pt2c_module_free(m);
			return NULL;
		}
	}
	return m;
}

static int step(void *ctx, void *state)
{
	const pass_case *c = ctx;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = run_pass(state, c->pass, &err);
	if (rc && err.code != rc) return PT2C_EINVALID; /* the error must be filled */
	return rc;
}

/* The printed module, then its attributes and submodules. */
static char *show(void *ctx, void *state)
{
	(void)ctx;
	pt2c_module *m = state;
	char *text = NULL;
	size_t len = 0;
	if (pt2c_module_print(m, &text, &len)) return NULL;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, text);
	pt2c_free(text);
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_attr *at = &m->attrs[i];
		pt2c__buf_printf(&b, "attr %s kind %d storage %d blob %d engine %d\n", at->fqn, at->kind, at->tensor.storage != NULL,
		                 at->blob != NULL, at->engine != NULL);
	}
	for (uint32_t i = 0; i < m->n_subs; i++)
		pt2c__buf_printf(&b, "sub %s kind %d engine %d fallback %d\n", m->subs[i].name, m->subs[i].kind, m->subs[i].engine != NULL,
		                 m->subs[i].fallback != NULL);
	pt2c__buf_printf(&b, "nodes %u live %u values %u\n", m->graph->n_nodes, m->graph->n_live, m->graph->n_values);
	if (b.err) {
		pt2c__buf_free(&b);
		return NULL;
	}
	char *out = malloc(b.len + 1);
	if (out) {
		memcpy(out, b.data, b.len);
		out[b.len] = 0;
	}
	pt2c__buf_free(&b);
	return out;
}

static void teardown(void *ctx, void *state)
{
	(void)ctx;
	pt2c_module_free(state);
}

static long check(const char *fixture, int pass, int prepare)
{
	pass_case pc = { fixture, pass, prepare };
	char name[128];
	snprintf(name, sizeof name, "%s pass %d after %d", fixture, pass, prepare);
	test_oom_case c = { name, setup, step, show, teardown, &pc, 0 };
	return test_oom_state_unchanged(&c);
}

static const char *const fixtures[] = { "hybrid_gated_fallback", "full_engine_two_outputs", "full_engine_folded", "no_engine" };

/* The bug of issue 11: inline_fallbacks' compaction failing after it rewired inputs. */
static void test_inline_fallbacks_state_unchanged(void)
{
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
		long n = check(fixtures[i], PASS_FALLBACKS, 0);
		if (!strcmp(fixtures[i], "hybrid_gated_fallback")) CHECK(n > 10); /* it has fallbacks to inline */
	}
	/* after the engines are inlined too, as the exporter orders them */
	CHECK(check("hybrid_gated_fallback", PASS_FALLBACKS, PASS_ENGINES) > 10);
}

static void test_inline_engines_state_unchanged(void)
{
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
		long n = check(fixtures[i], PASS_ENGINES, 0);
		long nc = check(fixtures[i], PASS_ENGINES_CROSS, 0);
		if (strcmp(fixtures[i], "no_engine")) {
			CHECK(n > 5);
			CHECK(nc > 5);
		}
	}
}

static void test_dce_and_remove_state_unchanged(void)
{
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
		check(fixtures[i], PASS_DCE, PASS_ENGINES | PASS_FALLBACKS);
		check(fixtures[i], PASS_REMOVE_SUBS, PASS_ENGINES | PASS_FALLBACKS);
	}
	CHECK(check("hybrid_gated_fallback", PASS_DCE, PASS_ENGINES | PASS_FALLBACKS) > 0);
	CHECK(check("hybrid_gated_fallback", PASS_REMOVE_SUBS, PASS_ENGINES | PASS_FALLBACKS) > 0);
}

PT2C_TEST_MAIN({
	RUN(test_inline_fallbacks_state_unchanged);
	RUN(test_inline_engines_state_unchanged);
	RUN(test_dce_and_remove_state_unchanged);
})
