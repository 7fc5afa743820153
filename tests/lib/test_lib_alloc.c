/*
 * test_lib_alloc.c -- issue 11 #5: the public calls of src/lib route their own allocations
 * through the allocator given at open (they used plain malloc/strdup, so the failing-allocator
 * loops never reached them): every allocation of summary, print, engine record JSON and write
 * is counted by the test allocator, and failing each one in turn gives PT2C_ENOMEM, no output and
 * no leak; the hand-outs (freed with pt2c_free) come from that allocator too.
 */
#include <stdlib.h>

#include "harness.h"
#include "pt2c.h"

typedef int (*text_call)(const pt2c_program *p, char **out, size_t *len);
static int summary_text(const pt2c_program *p, char **o, size_t *n) { return pt2c_program_summary(p, 0, o, n); }
static int summary_json(const pt2c_program *p, char **o, size_t *n) { return pt2c_program_summary(p, 1, o, n); }
static int record_json(const pt2c_program *p, char **o, size_t *n) { return pt2c_program_engine_record_json(p, 0, o, n); }

static void each_failure(test_alloc *ta, const pt2c_program *p, const char *what, text_call call)
{
	char *ref = NULL;
	size_t ref_len = 0;
	test_alloc_arm(ta, -1);
	int rc = call(p, &ref, &ref_len);
	long calls = ta->calls;
	test_alloc_disarm(ta);
	REQUIRE(rc == 0 && ref);
	CHECK_MSG(calls > 0, "%s: no allocation went through the program's allocator", what);
	long k = 0;
	for (;; k++) {
		char *out = (char *)1;
		size_t len = 0;
		test_alloc_arm(ta, k);
		rc = call(p, &out, &len);
		test_alloc_disarm(ta);
		if (!ta->failed) {
			CHECK_MSG(rc == 0 && len == ref_len && memcmp(out, ref, len) == 0, "%s: run without failures differs", what);
			pt2c_free(out);
			break;
		}
		CHECK_MSG(rc == PT2C_ENOMEM, "%s: failure %ld gave %d", what, k, rc);
		CHECK(out == NULL);
	}
	CHECK_EQ_INT(k, calls);
	pt2c_free(ref);
}

static void test_lib_calls_use_the_allocator(void)
{
	test_alloc ta;
	test_alloc_init(&ta);
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = &ta.a;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_open(&p, shared_path("fixtures/torch-2.11/hybrid_gated_fallback.normal.pt2"), &ro, &err) == 0);
	each_failure(&ta, p, "summary", summary_text);
	each_failure(&ta, p, "summary --json", summary_json);
	each_failure(&ta, p, "program print", pt2c_program_print);
	each_failure(&ta, p, "engine record json", record_json);

	/* writing: the archive root name (was strdup/malloc) and everything else from the allocator */
	const char *path = scratch_path("lib_alloc_out.pt2");
	REQUIRE(pt2c_program_write(p, path, NULL, &err) == 0);
	size_t ref_len = 0, len = 0;
	uint8_t *ref = read_file(path, &ref_len);
	REQUIRE(ref);
	remove(path);
	for (long k = 0;; k++) {
		test_alloc_arm(&ta, k);
		err = (pt2c_error)PT2C_ERROR_INIT;
		int rc = pt2c_program_write(p, path, NULL, &err);
		test_alloc_disarm(&ta);
		if (rc == 0) {
			/* the last run, or a failure absorbed (the progress total's engine size): same bytes */
			uint8_t *got = read_file(path, &len);
			CHECK_MSG(got && len == ref_len && memcmp(got, ref, len) == 0, "write: run %ld wrote other bytes", k);
			free(got);
			remove(path);
			if (!ta.failed) {
				CHECK(k > 0);
				break;
			}
			continue;
		}
		CHECK_MSG(rc == PT2C_ENOMEM, "write: failure %ld gave %d (%s)", k, rc, err.message);
		CHECK_MSG(strstr(err.message, "out of memory") != NULL, "write: failure %ld: %s", k, err.message);
		CHECK(!file_exists(path));
	}
	free(ref);
	remove(path);
	pt2c_program_free(p);
	CHECK_EQ_INT(ta.live, 0);
}

PT2C_TEST_MAIN({
	RUN(test_lib_calls_use_the_allocator);
})
