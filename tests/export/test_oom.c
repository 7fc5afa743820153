/*
 * test_oom.c -- fail the N-th allocation of read -> export (both modes) -> resolve for every N
 * until the run succeeds: each failure must come back as a clean PT2C_ENOMEM and nothing may leak
 * (the harness's allocator counts live blocks; sanitizer builds also catch double frees).
 */
#include "export_test_util.h"

/* One full run with allocation `fail_at` failing (-1: never). Returns the rc; nothing may leak. */
static int run(const char *json, size_t len, bool cross, long fail_at, long *calls)
{
	test_alloc ta; /* the harness's failing allocator */
	test_alloc_init(&ta);
	test_alloc_arm(&ta, fail_at);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, json, len, &ta.a, &err);
	if (!rc) {
		pt2c_program *p = NULL;
		rc = pt2c__export_module(&p, &m, cross, NULL, &err);
		CHECK(m == NULL);
		if (!rc && cross) rc = pt2c__program_resolve_cross(p, &err);
		pt2c__program_free(p);
	}
	test_alloc_disarm(&ta);
	CHECK_MSG(ta.live == 0, "failing allocation %ld: %ld blocks leaked", fail_at, ta.live);
	if (calls) *calls = ta.calls;
	return rc;
}

static void check_path(const char *name, const char *path)
{
	size_t len = 0;
	uint8_t *json = read_file(path, &len);
	REQUIRE(json);
	for (int cross = 0; cross < 2; cross++) {
		long total = 0;
		CHECK_EQ_INT(run((const char *)json, len, cross != 0, -1, &total), 0);
		int n_fail = 0;
		for (long k = 0; k < total; k++) {
			int rc = run((const char *)json, len, cross != 0, k, NULL);
			if (rc != PT2C_ENOMEM && rc != 0 && n_fail++ < 5)
				pt2c_test_fail(__FILE__, __LINE__, "%s %s: failing allocation %ld gave %d, not ENOMEM", name,
				               cross ? "cross" : "normal", k, rc);
		}
	}
	free(json);
}

static void check_all(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.partitioned.json", name);
	check_path(name, shared_path(rel));
}

static void test_oom_hybrid(void) { check_all("hybrid_gated_fallback"); }
/* renaming colliding fallback attributes (tests/export/data, see test_collisions.c) */
static void test_oom_collisions(void)
{
	char path[1024];
	const char *src = getenv("PT2C_SOURCE");
	snprintf(path, sizeof path, "%s/tests/export/data/attr_collision.partitioned.json", src ? src : "../..");
	check_path("attr_collision", path);
}
static void test_oom_two_outputs(void) { check_all("full_engine_two_outputs"); }
/* aliased KV-cache outputs declared as buffer mutations (tests/export/data, see test_aliased.c) */
static void test_oom_kv_cache(void)
{
	char path[1024];
	const char *src = getenv("PT2C_SOURCE");
	snprintf(path, sizeof path, "%s/tests/export/data/kv_cache.partitioned.json", src ? src : "../..");
	check_path("kv_cache", path);
}

PT2C_TEST_MAIN({
	RUN(test_oom_hybrid);
	RUN(test_oom_two_outputs);
	RUN(test_oom_collisions);
	RUN(test_oom_kv_cache);
})
