/*
 * harness.h -- the tiny test harness: CHECK records a failure with file:line and goes on;
 * REQUIRE returns from the current test. Each test file defines test functions and a main()
 * built with PT2C_TEST_MAIN({ RUN(test_a); RUN(test_b); }). The run ends with the line
 * "N passed, N failed" and exits nonzero on any failure.
 */
#ifndef PT2C_TEST_HARNESS_H
#define PT2C_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int pt2c_test_failures_in_current;
extern int pt2c_test_passed, pt2c_test_failed;

void pt2c_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pt2c_test_run(const char *name, void (*fn)(void));
int pt2c_test_finish(void);

#define CHECK(cond) do { if (!(cond)) pt2c_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) pt2c_test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define REQUIRE(cond) do { if (!(cond)) { pt2c_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond); return; } } while (0)
#define CHECK_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) pt2c_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b); } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b) != 0) pt2c_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define RUN(fn) pt2c_test_run(#fn, fn)
#define PT2C_TEST_MAIN(body) int main(void) { body; return pt2c_test_finish(); }

/** Path of a file under ../shared (env PT2C_SHARED); returns a static buffer (one per call slot). */
const char *shared_path(const char *rel);
/** Path under the build folder's tests/ (env PT2C_BUILD) for scratch files ("ahead-" before the name under PT2C_TEST_AHEAD=1). */
const char *scratch_path(const char *rel);
/** Read a whole file into malloc'd memory; NULL on failure. */
uint8_t *read_file(const char *path, size_t *len);
bool file_exists(const char *path);

/*
 * The failing allocator, one for every test: counts the allocations (malloc and realloc calls)
 * made while it is armed and fails the `fail_at`-th of them (0-based; -1 never), and, with
 * fail_all, every later one too. It counts live blocks whether armed or not, so a test can check
 * that nothing leaked. Use it as:
 *
 *   test_alloc ta; test_alloc_init(&ta);
 *   ... build with &ta.a (nothing fails while disarmed) ...
 *   for (long k = 0;; k++) {
 *       test_alloc_arm(&ta, k);  rc = call(...);  test_alloc_disarm(&ta);
 *       if (!ta.failed) break;   // ran to the end: every failure point has been tried
 *       ... compare the printed state with the one before ...
 *   }
 *
 * Its realloc always moves the block (like a debug allocator), so stale pointers show up under ASan.
 * It may be called from several threads (one lock); read its counters once the call returned.
 */
#include "pt2c/common.h"

typedef struct test_alloc {
	pt2c_allocator a;  /* pass &ta.a to the library */
	bool armed;
	bool fail_all;     /* once one allocation failed, fail every later one while armed */
	long fail_at;      /* index among the armed allocations that fails; -1 never */
	long calls;        /* allocations counted while armed */
	long failed;       /* allocations refused since the last arm */
	long live;         /* blocks allocated and not yet freed */
} test_alloc;

void test_alloc_init(test_alloc *t);
/** Start counting from 0 and fail allocation number fail_at (-1: none). */
void test_alloc_arm(test_alloc *t, long fail_at);
void test_alloc_disarm(test_alloc *t);

/**
 * Run `step` with allocation k failing for k = 0, 1, ... until a run makes no failed allocation;
 * each run gets a fresh state from `setup` and gives it back to `teardown`. After a failed run
 * the state printed by `show` (a malloc'd string) must equal the one before it and the call
 * must have returned PT2C_ENOMEM; a run that absorbed the failure (returned 0) must print what
 * a run without failures prints. Nothing may leak. Returns the number of failure points tried.
 * `ctx` is passed through to the callbacks.
 */
typedef struct test_oom_case {
	const char *name;
	void *(*setup)(void *ctx, const pt2c_allocator *a);  /* NULL on failure */
	int (*step)(void *ctx, void *state);
	char *(*show)(void *ctx, void *state);                 /* NULL on failure */
	void (*teardown)(void *ctx, void *state);
	void *ctx;
	long max_points;  /* stop after this many failure points (0: 1,000,000) */
} test_oom_case;
long test_oom_state_unchanged(const test_oom_case *c);

#endif
