#define _GNU_SOURCE /* dladdr */
#include "harness.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util/json.h"

int pt2c_test_failures_in_current;
int pt2c_test_passed, pt2c_test_failed;
static const char *current;

void pt2c_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s (%s:%d): ", current ? current : "?", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pt2c_test_failures_in_current++;
}

void pt2c_test_run(const char *name, void (*fn)(void))
{
	current = name;
	pt2c_test_failures_in_current = 0;
	fn();
	if (pt2c_test_failures_in_current) {
		pt2c_test_failed++;
	} else {
		pt2c_test_passed++;
		printf("ok %s\n", name);
	}
	current = NULL;
}

int pt2c_test_finish(void)
{
	printf("%d passed, %d failed\n", pt2c_test_passed, pt2c_test_failed);
	return pt2c_test_failed ? 1 : 0;
}

static char slots[8][4096];
static int slot;

const char *shared_path(const char *rel)
{
	const char *base = getenv("PT2C_SHARED");
	char *out = slots[slot++ & 7];
	snprintf(out, 4096, "%s/%s", base ? base : "../shared", rel);
	return out;
}

const char *scratch_path(const char *rel)
{
	const char *base = getenv("PT2C_BUILD");
	char *out = slots[slot++ & 7];
	/* the ahead/ run of a test runs beside its plain run (ctest -j): files of its own */
	const char *ahead = getenv("PT2C_TEST_AHEAD");
	snprintf(out, 4096, "%s/tests/%s%s", base ? base : ".", ahead && strcmp(ahead, "1") == 0 ? "ahead-" : "", rel);
	return out;
}

uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
	long n = ftell(f);
	if (n < 0) { fclose(f); return NULL; }
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
	fclose(f);
	if (buf) { buf[n] = 0; *len = (size_t)n; }
	return buf;
}

bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* MARK: the failing allocator */

/*
 * With PT2C_OOM_SITES=FILE set, every refused allocation appends its call stack to FILE as
 * "<object file> <offset> <offset> ..." (return addresses relative to the object's load
 * address), for tools/oom_sites.py to map to source lines and count the distinct sites.
 */
static void record_site(void)
{
	static int enabled = -1;
	static FILE *out;
	if (enabled < 0) {
		const char *path = getenv("PT2C_OOM_SITES");
		out = path && *path ? fopen(path, "a") : NULL;
		enabled = out != NULL;
	}
	if (!enabled)
		return;
	void *frames[24];
	int n = backtrace(frames, 24);
	Dl_info info;
	if (n <= 0 || !dladdr(frames[0], &info) || !info.dli_fname)
		return;
	char exe[4096];
	fprintf(out, "%s", realpath(info.dli_fname, exe) ? exe : info.dli_fname);
	for (int i = 1; i < n; i++) {
		Dl_info fi;
		if (!dladdr(frames[i], &fi) || !fi.dli_fname || strcmp(fi.dli_fname, info.dli_fname) != 0)
			break;
		fprintf(out, " %#lx", (unsigned long)((uintptr_t)frames[i] - (uintptr_t)fi.dli_fbase));
	}
	fputc('\n', out);
	fflush(out);
}

/* One lock for every test allocator: library calls may allocate from their worker threads. */
static pthread_mutex_t ta_lock = PTHREAD_MUTEX_INITIALIZER;

static bool ta_refuse(test_alloc *t)
{
	pthread_mutex_lock(&ta_lock);
	bool refuse = false;
	if (t->armed) {
		long k = t->calls++;
		if (t->fail_at >= 0 && (k == t->fail_at || (t->fail_all && k > t->fail_at))) {
			t->failed++;
			record_site();
			refuse = true;
		}
	}
	pthread_mutex_unlock(&ta_lock);
	return refuse;
}

static void ta_count(test_alloc *t, long d)
{
	pthread_mutex_lock(&ta_lock);
	t->live += d;
	pthread_mutex_unlock(&ta_lock);
}

static void *ta_malloc(void *ctx, size_t n)
{
	test_alloc *t = ctx;
	if (ta_refuse(t))
		return NULL;
	void *p = malloc(n ? n : 1);
	if (p)
		ta_count(t, 1);
	return p;
}

static void *ta_realloc(void *ctx, void *p, size_t old_n, size_t n)
{
	test_alloc *t = ctx;
	if (ta_refuse(t))
		return NULL;
	void *q = malloc(n ? n : 1);
	if (!q)
		return NULL;
	if (p) {
		memcpy(q, p, old_n < n ? old_n : n);
		free(p);
	} else {
		ta_count(t, 1);
	}
	return q;
}

static void ta_free(void *ctx, void *p)
{
	test_alloc *t = ctx;
	if (p)
		ta_count(t, -1);
	free(p);
}

void test_alloc_init(test_alloc *t)
{
	memset(t, 0, sizeof *t);
	t->a.malloc = ta_malloc;
	t->a.realloc = ta_realloc;
	t->a.free = ta_free;
	t->a.ctx = t;
	t->fail_at = -1;
}

void test_alloc_arm(test_alloc *t, long fail_at)
{
	t->armed = true;
	t->fail_at = fail_at;
	t->calls = 0;
	t->failed = 0;
}

void test_alloc_disarm(test_alloc *t)
{
	t->armed = false;
}

/* One run of c with allocation k failing (-1: none): the states before and after, the rc, and whether one failed. */
static int oom_run(const test_oom_case *c, long k, char **before, char **after, bool *failed, long *live)
{
	test_alloc ta;
	test_alloc_init(&ta);
	*before = *after = NULL;
	void *st = c->setup(c->ctx, &ta.a);
	if (!st)
		return PT2C_EINVALID;
	*before = c->show(c->ctx, st);
	test_alloc_arm(&ta, k);
	int rc = c->step(c->ctx, st);
	test_alloc_disarm(&ta);
	*failed = ta.failed != 0;
	*after = c->show(c->ctx, st);
	c->teardown(c->ctx, st);
	*live = ta.live;
	return rc;
}

long test_oom_state_unchanged(const test_oom_case *c)
{
	long max = c->max_points ? c->max_points : 1000000;
	char *before = NULL, *want = NULL;
	bool failed = false;
	long live = 0;
	int rc = oom_run(c, -1, &before, &want, &failed, &live);
	free(before);
	if (rc || !want) {
		pt2c_test_fail(__FILE__, __LINE__, "%s: the run without a failure gave %d", c->name, rc);
		free(want);
		return 0;
	}
	int reported = 0;
	for (long k = 0; k < max && reported < 5; k++) {
		char *after = NULL;
		rc = oom_run(c, k, &before, &after, &failed, &live);
		if (!before || !after) {
			pt2c_test_fail(__FILE__, __LINE__, "%s: setup or printing failed (failure point %ld)", c->name, k);
			reported++;
		} else if (!failed) {
			/* every failure point has been tried */
			if (rc != 0 || strcmp(after, want) != 0)
				pt2c_test_fail(__FILE__, __LINE__, "%s: the last run gave %d or another result", c->name, rc);
			free(before);
			free(after);
			free(want);
			return k;
		} else if (rc == 0) {
			/* a failure the call could absorb (an optional reservation): then the result is the full one */
			if (strcmp(after, want) != 0) {
				pt2c_test_fail(__FILE__, __LINE__, "%s: failing allocation %ld was absorbed, but the result differs:\n--- want\n%s\n--- got\n%s",
				               c->name, k, want, after);
				reported++;
			}
		} else {
			if (rc != PT2C_ENOMEM) {
				pt2c_test_fail(__FILE__, __LINE__, "%s: failing allocation %ld gave %d, not PT2C_ENOMEM", c->name, k, rc);
				reported++;
			}
			if (strcmp(before, after) != 0) {
				pt2c_test_fail(__FILE__, __LINE__, "%s: failing allocation %ld changed the state:\n--- before\n%s\n--- after\n%s",
				               c->name, k, before, after);
				reported++;
			}
		}
		if (live != 0) {
			pt2c_test_fail(__FILE__, __LINE__, "%s: failing allocation %ld: %ld blocks leaked", c->name, k, live);
			reported++;
		}
		free(before);
		free(after);
	}
	free(want);
	if (reported < 5)
		pt2c_test_fail(__FILE__, __LINE__, "%s: still failing after %ld failure points", c->name, max);
	return max;
}

/*
 * PT2C_TEST_AHEAD=1: the work that goes to helper threads for large graphs does so from two
 * items on (node arrays parsed ahead, util/json.h; model.json rendered in chunks of two nodes,
 * util.h; graphs checked and names renumbered in ranges of two, ir/lint.c, ir/graph_compact.c;
 * JSON skimmed in chunks of 64 bytes, util/json_skim.c),
 * also through the test allocator, which is thread-safe; the ahead/ tests run part of the suite so,
 * to check those paths' results, errors and allocation failures against the same assertions.
 */
__attribute__((constructor)) static void ahead_from_env(void)
{
	const char *v = getenv("PT2C_TEST_AHEAD");
	if (v && strcmp(v, "1") == 0) {
		pt2c__thread_tuning.min_items = 2;
		pt2c__thread_tuning.any_allocator = true;
		pt2c__thread_tuning.chunk_items = 2;
		pt2c__thread_tuning.skim_bytes = 64;
	}
}
