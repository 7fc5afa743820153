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
/** Path under the build folder's tests/ (env PT2C_BUILD) for scratch files. */
const char *scratch_path(const char *rel);
/** Read a whole file into malloc'd memory; NULL on failure. */
uint8_t *read_file(const char *path, size_t *len);
bool file_exists(const char *path);

#endif
