/*
 * test_core.c -- allocation, errors, arena, hash map, string pool, buffers and cursors.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/util.h"

/* MARK: the harness's failing allocator, failing the fail_at-th call (1-based; 0 = never) */

typedef test_alloc failing_alloc;

static pt2c_allocator fa_make(failing_alloc *fa, long fail_at)
{
	test_alloc_init(fa);
	test_alloc_arm(fa, fail_at ? fail_at - 1 : -1);
	return fa->a;
}

/* MARK: allocation */

static void test_calloc_overflow(void)
{
	CHECK(pt2c__calloc(NULL, SIZE_MAX / 2, 3) == NULL);
	uint32_t *p = pt2c__calloc(NULL, 100, sizeof(uint32_t));
	REQUIRE(p);
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(p[i], 0);
	pt2c__free(NULL, p);

	failing_alloc fa;
	pt2c_allocator a = fa_make(&fa, 0);
	void *q = pt2c__malloc(&a, 10);
	CHECK_EQ_INT(fa.live, 1);
	q = pt2c__realloc(&a, q, 10, 1000);
	REQUIRE(q);
	pt2c__free(&a, q);
	CHECK_EQ_INT(fa.live, 0);
}

static void test_grow(void)
{
	int *v = NULL;
	size_t cap = 0;
	for (int i = 0; i < 1000; i++) {
		REQUIRE(pt2c__grow(NULL, (void **)&v, &cap, (size_t)i + 1, sizeof *v) == 0);
		CHECK(cap >= (size_t)i + 1);
		v[i] = i;
	}
	long sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += v[i];
	CHECK_EQ_INT(sum, 999 * 1000 / 2);
	/* Failure leaves the array as it was. */
	failing_alloc fa;
	pt2c_allocator a = fa_make(&fa, 2);
	int *w = NULL;
	size_t wcap = 0;
	REQUIRE(pt2c__grow(&a, (void **)&w, &wcap, 4, sizeof *w) == 0);
	int *before = w;
	size_t before_cap = wcap;
	CHECK_EQ_INT(pt2c__grow(&a, (void **)&w, &wcap, 1000, sizeof *w), PT2C_ENOMEM);
	CHECK(w == before);
	CHECK_EQ_INT(wcap, before_cap);
	/* Overflowing size requests fail cleanly. */
	CHECK_EQ_INT(pt2c__grow(&a, (void **)&w, &wcap, SIZE_MAX / 2, 16), PT2C_ENOMEM);
	pt2c__free(&a, w);
	CHECK_EQ_INT(fa.live, 0);
	pt2c__free(NULL, v);
}

/* MARK: errors */

static void test_err_fields(void)
{
	pt2c_error e = PT2C_ERROR_INIT;
	pt2c__err_set_file(&e, "model.pt2");
	CHECK_EQ_INT(pt2c__err_at(&e, PT2C_ECORRUPT, "archive/data/0", 1234, "bad %s %d", "thing", 7), PT2C_ECORRUPT);
	CHECK_EQ_INT(e.code, PT2C_ECORRUPT);
	CHECK_STR(e.message, "bad thing 7");
	CHECK_STR(e.member, "archive/data/0");
	CHECK(e.offset == 1234);
	CHECK_STR(e.file, "model.pt2");
	/* Inner layers win: set_member does not overwrite. */
	pt2c__err_set_member(&e, "outer");
	CHECK_STR(e.member, "archive/data/0");
	/* pt2c__err clears member and offset but keeps file. */
	CHECK_EQ_INT(pt2c__err(&e, PT2C_EUNSUPPORTED, "nope"), PT2C_EUNSUPPORTED);
	CHECK_STR(e.member, "");
	CHECK(e.offset == UINT64_MAX);
	CHECK_STR(e.file, "model.pt2");
	pt2c__err_set_member(&e, "outer");
	CHECK_STR(e.member, "outer");
	/* NULL err is allowed everywhere. */
	CHECK_EQ_INT(pt2c__err(NULL, PT2C_EIO, "x"), PT2C_EIO);
	CHECK_EQ_INT(pt2c__err_at(NULL, PT2C_EIO, "m", 1, "x"), PT2C_EIO);
	CHECK_EQ_INT(pt2c__err_oom(NULL), PT2C_ENOMEM);
	pt2c__err_set_file(NULL, "x");
	pt2c__err_set_member(NULL, "x");
	CHECK_EQ_INT(pt2c__err_oom(&e), PT2C_ENOMEM);
	CHECK_STR(e.message, "out of memory");
}

static void test_err_truncation(void)
{
	pt2c_error e = PT2C_ERROR_INIT;
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pt2c__err_at(&e, PT2C_ECORRUPT, big, 5, "%s", big);
	CHECK_EQ_INT(strlen(e.message), PT2C_ERROR_MESSAGE_MAX - 1);
	CHECK_EQ_INT(strlen(e.member), PT2C_ERROR_WHERE_MAX - 1);
	pt2c__err_set_file(&e, big);
	CHECK_EQ_INT(strlen(e.file), PT2C_ERROR_WHERE_MAX - 1);
	/* Messages stay on one line. */
	pt2c__err(&e, PT2C_ECORRUPT, "a\nb");
	CHECK_STR(e.message, "a b");
}

static void test_error_format(void)
{
	pt2c_error e = PT2C_ERROR_INIT;
	char out[1024];
	pt2c__err_set_file(&e, "m.pt2");
	pt2c__err_at(&e, PT2C_ECORRUPT, "archive/models/model.json", 42, "unexpected character");
	int n = pt2c_error_format(&e, out, sizeof out);
	CHECK_STR(out, "m.pt2: archive/models/model.json: unexpected character (at byte 42)");
	CHECK_EQ_INT(n, strlen(out));
	/* Empty parts are left out. */
	pt2c_error e2 = PT2C_ERROR_INIT;
	pt2c__err(&e2, PT2C_EIO, "disk on fire");
	pt2c_error_format(&e2, out, sizeof out);
	CHECK_STR(out, "disk on fire");
	pt2c__err_at(&e2, PT2C_ECORRUPT, NULL, 0, "bad");
	pt2c_error_format(&e2, out, sizeof out);
	CHECK_STR(out, "bad (at byte 0)");
	pt2c__err_set_file(&e2, "f");
	pt2c__err(&e2, PT2C_ECORRUPT, "bad");
	pt2c_error_format(&e2, out, sizeof out);
	CHECK_STR(out, "f: bad");
	/* snprintf semantics: truncation, and the needed length is returned. */
	char small[8];
	n = pt2c_error_format(&e, small, sizeof small);
	CHECK_EQ_INT(n, strlen("m.pt2: archive/models/model.json: unexpected character (at byte 42)"));
	CHECK_STR(small, "m.pt2: ");
	CHECK_EQ_INT(pt2c_error_format(&e, NULL, 0), n);
	CHECK_STR(pt2c_strerror(PT2C_ECORRUPT), "corrupt input");
	CHECK(pt2c_strerror(12345) != NULL);
	CHECK_STR(pt2c_version(), "0.1.0");
}

/* MARK: arena */

static void test_arena(void)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	for (size_t i = 1; i < 3000; i++) {
		uint8_t *p = pt2c__arena_alloc(&a, i % 97 + 1);
		REQUIRE(p);
		CHECK_EQ_INT((uintptr_t)p % 8, 0);
		memset(p, 0xAB, i % 97 + 1);
	}
	/* A big request gets its own chunk and does not waste the current one. */
	size_t used_before = a.used;
	pt2c_arena_chunk *head_before = a.head;
	uint8_t *big = pt2c__arena_alloc(&a, 10u << 20);
	REQUIRE(big);
	CHECK_EQ_INT((uintptr_t)big % 8, 0);
	memset(big, 1, 10u << 20);
	CHECK(a.head == head_before);
	CHECK_EQ_INT(a.used, used_before);
	CHECK(a.total >= (10u << 20));
	uint8_t *z = pt2c__arena_zalloc(&a, 100);
	REQUIRE(z);
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(z[i], 0);
	CHECK(pt2c__arena_calloc(&a, SIZE_MAX / 4, 8) == NULL);
	CHECK(pt2c__arena_alloc(&a, SIZE_MAX - 3) == NULL);
	char *s = pt2c__arena_strndup(&a, "hello world", 5);
	CHECK_STR(s, "hello");
	char *e = pt2c__arena_strndup(&a, NULL, 0);
	CHECK_STR(e, "");
	int nums[3] = { 1, 2, 3 };
	int *d = pt2c__arena_memdup(&a, nums, sizeof nums);
	REQUIRE(d);
	CHECK_EQ_INT(d[2], 3);
	pt2c__arena_free(&a);
	CHECK(a.head == NULL);
	/* Reusable after free. */
	CHECK(pt2c__arena_alloc(&a, 8) != NULL);
	pt2c__arena_free(&a);
}

static void test_arena_first_big(void)
{
	failing_alloc fa;
	pt2c_allocator al = fa_make(&fa, 0);
	pt2c_arena a;
	pt2c__arena_init(&a, &al);
	void *big = pt2c__arena_alloc(&a, 1u << 20);
	REQUIRE(big);
	for (int i = 0; i < 1000; i++) {
		void *p = pt2c__arena_alloc(&a, 24);
		REQUIRE(p);
		CHECK((uint8_t *)p + 24 <= (uint8_t *)big || (uint8_t *)p >= (uint8_t *)big + (1u << 20));
	}
	pt2c__arena_free(&a);
	CHECK_EQ_INT(fa.live, 0);
	/* OOM yields NULL, not a crash. */
	pt2c_allocator al2 = fa_make(&fa, 1);
	pt2c__arena_init(&a, &al2);
	CHECK(pt2c__arena_alloc(&a, 10) == NULL);
	CHECK(pt2c__arena_alloc(&a, 10) != NULL);
	pt2c__arena_free(&a);
	CHECK_EQ_INT(fa.live, 0);
}

/* An allocator whose blocks are 8 but never 16-byte aligned. */
static void *odd_malloc(void *ctx, size_t n)
{
	(void)ctx;
	uint8_t *p = malloc(n + 8);
	return p ? p + 8 : NULL;
}

static void odd_free(void *ctx, void *p)
{
	(void)ctx;
	if (p)
		free((uint8_t *)p - 8);
}

static void test_arena_weak_allocator(void)
{
	pt2c_allocator odd = { odd_malloc, NULL, odd_free, NULL };
	pt2c_arena a;
	pt2c__arena_init(&a, &odd);
	for (int i = 0; i < 500; i++) {
		void *p = pt2c__arena_alloc(&a, (size_t)(i % 7) * 100 + 1);
		REQUIRE(p);
		CHECK_EQ_INT((uintptr_t)p % 8, 0);
	}
	void *big = pt2c__arena_alloc(&a, 3u << 20);
	REQUIRE(big);
	CHECK_EQ_INT((uintptr_t)big % 8, 0);
	pt2c__arena_free(&a);
}

/* MARK: hash map */

static void test_map_200k(void)
{
	enum { N = 200000 };
	char *keys = malloc((size_t)N * 24);
	REQUIRE(keys);
	pt2c_map m;
	pt2c__map_init(&m, NULL);
	for (int i = 0; i < N; i++) {
		char *k = keys + (size_t)i * 24;
		snprintf(k, 24, "node_%d", i);
		bool existed = true;
		REQUIRE(pt2c__map_put(&m, k, strlen(k), (uint64_t)i * 3, false, &existed) == 0);
		CHECK(!existed);
	}
	CHECK_EQ_INT(m.count, N);
	CHECK_EQ_INT(m.cap & (m.cap - 1), 0);
	CHECK(m.count * 10 <= m.cap * 7);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char k[24];
		snprintf(k, sizeof k, "node_%d", i);
		uint64_t v = 0;
		if (!pt2c__map_gets(&m, k, &v) || v != (uint64_t)i * 3)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* Misses, including prefixes and near-misses of present keys. */
	uint64_t v = 77;
	CHECK(!pt2c__map_gets(&m, "node_200000", &v));
	CHECK(!pt2c__map_get(&m, "node_1", 4, &v));
	CHECK(!pt2c__map_gets(&m, "", &v));
	CHECK_EQ_INT(v, 77);
	/* existed + no overwrite keeps the old value; overwrite replaces it. */
	bool existed = false;
	REQUIRE(pt2c__map_put(&m, "node_5", 6, 999, false, &existed) == 0);
	CHECK(existed);
	CHECK(pt2c__map_gets(&m, "node_5", &v) && v == 15);
	REQUIRE(pt2c__map_put(&m, "node_5", 6, 999, true, &existed) == 0);
	CHECK(existed);
	CHECK(pt2c__map_gets(&m, "node_5", &v) && v == 999);
	CHECK_EQ_INT(m.count, N);
	/* Keys with embedded NULs and the empty key. */
	REQUIRE(pt2c__map_put(&m, "a\0b", 3, 1, true, NULL) == 0);
	REQUIRE(pt2c__map_put(&m, "a\0c", 3, 2, true, NULL) == 0);
	REQUIRE(pt2c__map_put(&m, "", 0, 3, true, NULL) == 0);
	CHECK(pt2c__map_get(&m, "a\0b", 3, &v) && v == 1);
	CHECK(pt2c__map_get(&m, "a\0c", 3, &v) && v == 2);
	CHECK(pt2c__map_gets(&m, "", &v) && v == 3);
	pt2c__map_free(&m);
	CHECK(!pt2c__map_gets(&m, "node_1", &v));
	free(keys);
}

/* The compact map: pt2c_map's find-or-insert for C-string keys, in 16-byte slots. */
static void test_map32(void)
{
	enum { N = 200000 };
	CHECK_EQ_INT(sizeof(pt2c_map32_slot), 16);
	char *keys = malloc((size_t)N * 24);
	REQUIRE(keys);
	pt2c_map32 m;
	pt2c__map32_init(&m, NULL);
	uint32_t v = 77;
	CHECK(!pt2c__map32_get(&m, "x", 1, &v)); /* empty map */
	for (int i = 0; i < N; i++) {
		char *k = keys + (size_t)i * 24;
		snprintf(k, 24, "node_%d", i);
		bool existed = true;
		uint32_t *slot = pt2c__map32_upsert(&m, k, strlen(k), 5, &existed);
		REQUIRE(slot);
		CHECK(!existed && *slot == 5);
		*slot = (uint32_t)i * 3;
	}
	CHECK_EQ_INT(m.count, N);
	CHECK(m.count * 10 <= m.cap * 7);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char k[24];
		snprintf(k, sizeof k, "node_%d", i);
		if (!pt2c__map32_get(&m, k, strlen(k), &v) || v != (uint32_t)i * 3)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(!pt2c__map32_get(&m, "node_200000", 11, &v));
	CHECK(!pt2c__map32_get(&m, "node_1", 4, &v)); /* a prefix of present keys */
	bool existed = false;
	uint32_t *slot = pt2c__map32_upsert(&m, "node_5", 6, 1, &existed);
	CHECK(slot && existed && *slot == 15);
	CHECK_EQ_INT(m.count, N);
	/* keys are C strings: one with a NUL inside is refused and never found; "" is a key */
	CHECK(pt2c__map32_upsert(&m, "a\0b", 3, 1, &existed) == NULL);
	CHECK(pt2c__map32_upsert(&m, "ab", 1, 1, &existed) == NULL); /* not terminated at len */
	REQUIRE(pt2c__map32_upsert(&m, "a", 1, 2, &existed) && !existed);
	REQUIRE(pt2c__map32_upsert(&m, "", 0, 3, &existed) && !existed);
	CHECK(!pt2c__map32_get(&m, "a\0b", 3, &v));
	CHECK(pt2c__map32_get(&m, "a", 1, &v) && v == 2);
	CHECK(pt2c__map32_get(&m, "ab", 1, &v) && v == 2); /* the first len bytes are the key */
	CHECK(pt2c__map32_get(&m, "", 0, &v) && v == 3);
	CHECK(!pt2c__map32_get(&m, "node_", 5, &v));
	/* upsert_copy: a key from a scratch buffer is stored as the arena's copy, only when new */
	pt2c_arena ar;
	pt2c__arena_init(&ar, NULL);
	char scratch[24];
	snprintf(scratch, sizeof scratch, "node_%d", N + 1);
	const char *stored = NULL;
	existed = true;
	slot = pt2c__map32_upsert_copy_h(&m, &ar, scratch, strlen(scratch), pt2c__hash(scratch, strlen(scratch)), 9,
	                                 &stored, &existed);
	REQUIRE(slot && stored);
	CHECK(!existed && *slot == 9 && stored != scratch && strcmp(stored, scratch) == 0);
	memset(scratch, 'x', sizeof scratch - 1); /* the buffer is reused: the table keeps its copy */
	CHECK(pt2c__map32_get(&m, stored, strlen(stored), &v) && v == 9);
	snprintf(scratch, sizeof scratch, "node_%d", 7); /* present: the table's key, nothing copied */
	const char *again = NULL;
	slot = pt2c__map32_upsert_copy_h(&m, &ar, scratch, strlen(scratch), pt2c__hash(scratch, strlen(scratch)), 1,
	                                 &again, &existed);
	CHECK(slot && existed && *slot == 21 && again == keys + (size_t)7 * 24);
	pt2c__arena_free(&ar);
	pt2c__map32_free(&m);
	CHECK(!pt2c__map32_get(&m, "node_1", 6, &v));
	/* reserve: sized once, no growth while filling up to the reserved count */
	pt2c__map32_init(&m, NULL);
	REQUIRE(pt2c__map32_reserve(&m, 1000) == 0);
	size_t cap = m.cap;
	CHECK(cap >= 1000 && cap * 7 / 10 >= 1000 && (cap & (cap - 1)) == 0);
	for (int i = 0; i < 1000; i++)
		REQUIRE(pt2c__map32_upsert(&m, keys + (size_t)i * 24, strlen(keys + (size_t)i * 24), (uint32_t)i, &existed));
	CHECK_EQ_INT(m.cap, cap);
	CHECK(pt2c__map32_get(&m, "node_999", 8, &v) && v == 999);
	REQUIRE(pt2c__map32_reserve(&m, 10) == 0); /* never shrinks */
	CHECK_EQ_INT(m.cap, cap);
	pt2c__map32_free(&m);
	free(keys);
}

static void test_map_oom(void)
{
	/* Every failure point during growth gives ENOMEM and leaves the map usable and leak-free. */
	for (long fail = 1; fail <= 5; fail++) { /* 100 keys need tables of 16..256 slots */
		failing_alloc fa;
		pt2c_allocator al = fa_make(&fa, fail);
		pt2c_map m;
		pt2c__map_init(&m, &al);
		static char keys[100][16];
		int failures = 0, stored = 0;
		for (int i = 0; i < 100; i++) {
			snprintf(keys[i], sizeof keys[i], "k%d", i);
			int rc = pt2c__map_put(&m, keys[i], strlen(keys[i]), (uint64_t)i, true, NULL);
			if (rc) {
				CHECK_EQ_INT(rc, PT2C_ENOMEM);
				failures++;
			} else {
				stored++;
			}
		}
		CHECK_EQ_INT(failures, 1);
		CHECK_EQ_INT(m.count, stored);
		for (int i = 0; i < 100; i++) {
			uint64_t v;
			if (pt2c__map_gets(&m, keys[i], &v))
				CHECK_EQ_INT(v, i);
		}
		pt2c__map_free(&m);
		CHECK_EQ_INT(fa.live, 0);
	}
}

static void test_hash_spread(void)
{
	/* Sequential names must spread over the low bits the map uses for indexing. */
	enum { BUCKETS = 1024, N = 65536 };
	static int hist[BUCKETS];
	memset(hist, 0, sizeof hist);
	for (int i = 0; i < N; i++) {
		char k[32];
		int n = snprintf(k, sizeof k, "p_layer%d_weight", i);
		hist[pt2c__hash(k, (size_t)n) & (BUCKETS - 1)]++;
	}
	int maxb = 0;
	for (int i = 0; i < BUCKETS; i++)
		if (hist[i] > maxb)
			maxb = hist[i];
	/* Expected 64 per bucket; a decent hash stays far below 2x. */
	CHECK_MSG(maxb < 128, "worst bucket %d", maxb);
	CHECK(pt2c__hash("abc", 3) == pt2c__hash("abc", 3));
	CHECK(pt2c__hash("abc", 3) != pt2c__hash("abd", 3));
	CHECK(pt2c__hash("", 0) != pt2c__hash("\0", 1));
}

/* MARK: string pool */

static void test_strpool(void)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_strpool sp;
	pt2c__strpool_init(&sp, &a, NULL);
	char buf1[] = "aten.linear.default";
	char buf2[] = "aten.linear.default";
	const char *x = pt2c__interns(&sp, buf1);
	const char *y = pt2c__interns(&sp, buf2);
	REQUIRE(x && y);
	CHECK(x == y);
	CHECK(x != buf1);
	CHECK_STR(x, "aten.linear.default");
	/* Changing the caller's buffer must not change the interned copy. */
	buf1[0] = 'X';
	CHECK_STR(x, "aten.linear.default");
	const char *p = pt2c__intern(&sp, "aten.linear.defaultXYZ", 10);
	CHECK_STR(p, "aten.linea");
	CHECK(p != x);
	CHECK(pt2c__intern(&sp, "aten.linea", 10) == p);
	const char *e1 = pt2c__intern(&sp, "", 0);
	const char *e2 = pt2c__interns(&sp, "");
	CHECK(e1 && e1 == e2);
	CHECK_STR(e1, "");
	/* reserve keeps the strings and stops growth while filling up */
	REQUIRE(pt2c__strpool_reserve(&sp, 5000) == 0);
	size_t pcap = sp.cap;
	CHECK(pt2c__interns(&sp, "aten.linear.default") == x);
	for (int i = 0; i < 4000; i++) {
		char k[32];
		snprintf(k, sizeof k, "r%d", i);
		REQUIRE(pt2c__interns(&sp, k));
	}
	CHECK_EQ_INT(sp.cap, pcap);
	/* bytes with NULs inside are strings of their own, told apart by length */
	const char *n1 = pt2c__intern(&sp, "a\0b", 3), *n2 = pt2c__intern(&sp, "a\0c", 3), *n3 = pt2c__intern(&sp, "a", 1);
	REQUIRE(n1 && n2 && n3);
	CHECK(n1 != n2 && n1 != n3 && n2 != n3);
	CHECK(memcmp(n1, "a\0b", 4) == 0 && memcmp(n2, "a\0c", 4) == 0);
	CHECK(pt2c__intern(&sp, "a\0b", 3) == n1 && pt2c__interns(&sp, "a") == n3);
	/* Many strings: still canonical. */
	const char *first[1000];
	for (int i = 0; i < 1000; i++) {
		char k[32];
		snprintf(k, sizeof k, "s%d", i);
		first[i] = pt2c__interns(&sp, k);
	}
	int bad = 0;
	for (int i = 0; i < 1000; i++) {
		char k[32];
		snprintf(k, sizeof k, "s%d", i);
		if (pt2c__interns(&sp, k) != first[i] || strcmp(first[i], k) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	pt2c__strpool_free(&sp);
	pt2c__arena_free(&a);
}

/* MARK: buffers */

static void test_buf_basic(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "ab");
	pt2c__buf_putc(&b, 'c');
	pt2c__buf_printf(&b, "%d-%s", 42, "x");
	pt2c__buf_u8(&b, 0xFE);
	pt2c__buf_u16le(&b, 0x0102);
	pt2c__buf_u32le(&b, 0x03040506);
	pt2c__buf_u64le(&b, 0x0708090A0B0C0D0Eull);
	static const uint8_t want[] = { 'a', 'b', 'c', '4', '2', '-', 'x', 0xFE, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03,
		0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07 };
	CHECK_EQ_INT(b.len, sizeof want);
	CHECK(memcmp(b.data, want, sizeof want) == 0);
	CHECK_EQ_INT(b.err, 0);
	/* Long printf output goes through the second path. */
	char longs[1000];
	memset(longs, 'q', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	size_t before = b.len;
	pt2c__buf_printf(&b, "[%s]", longs);
	CHECK_EQ_INT(b.len - before, 1001);
	CHECK_EQ_INT(b.data[b.len - 1], ']');
	char *r = pt2c__buf_reserve(&b, 10);
	REQUIRE(r);
	memcpy(r, "0123456789", 10);
	b.len += 10;
	pt2c__buf_cstr(&b);
	CHECK_EQ_INT(b.data[b.len], '\0');
	CHECK_EQ_INT(strlen(b.data + sizeof want), 1011);
	size_t len = 0;
	char *d = pt2c__buf_detach(&b, &len);
	REQUIRE(d);
	CHECK_EQ_INT(len, sizeof want + 1011);
	CHECK(b.data == NULL && b.len == 0);
	pt2c__free(NULL, d);
	/* An empty buffer detaches to an empty string, not NULL. */
	d = pt2c__buf_detach(&b, &len);
	REQUIRE(d);
	CHECK_EQ_INT(len, 0);
	CHECK_STR(d, "");
	pt2c__free(NULL, d);
	pt2c__buf_free(&b);
}

static void test_buf_sticky(void)
{
	for (long fail = 1; fail <= 6; fail++) {
		failing_alloc fa;
		pt2c_allocator al = fa_make(&fa, fail);
		pt2c_buf b;
		pt2c__buf_init(&b, &al);
		char chunk[100];
		memset(chunk, 'z', sizeof chunk);
		for (int i = 0; i < 2000; i++)
			pt2c__buf_put(&b, chunk, sizeof chunk);
		/* Growth needs about 12 allocations for 200 KB, so failure N always happens. */
		CHECK_EQ_INT(b.err, PT2C_ENOMEM);
		size_t len = b.len;
		CHECK(len < 200000);
		/* Sticky: later appends of any kind do nothing, even though the allocator works again. */
		pt2c__buf_putc(&b, 'a');
		pt2c__buf_puts(&b, "abc");
		pt2c__buf_printf(&b, "%d", 5);
		pt2c__buf_u64le(&b, 1);
		CHECK(pt2c__buf_reserve(&b, 1) == NULL);
		CHECK_EQ_INT(b.len, len);
		size_t dl = 99;
		CHECK(pt2c__buf_detach(&b, &dl) == NULL);
		CHECK_EQ_INT(dl, 0);
		CHECK_EQ_INT(fa.live, 0);
		pt2c__buf_free(&b);
	}
	/* A size that overflows sets the error without allocating. */
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_putc(&b, 'x');
	CHECK(pt2c__buf_reserve(&b, SIZE_MAX) == NULL);
	CHECK_EQ_INT(b.err, PT2C_ENOMEM);
	pt2c__buf_free(&b);
}

/* MARK: cursors */

static void test_cursor(void)
{
	static const uint8_t bytes[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
		0x0D, 0x0E, 0x0F };
	pt2c_cursor c = pt2c__cur(bytes, sizeof bytes);
	CHECK_EQ_INT(pt2c__cur_u8(&c), 0x01);
	CHECK_EQ_INT(pt2c__cur_u16le(&c), 0x0302);
	CHECK_EQ_INT(pt2c__cur_u32le(&c), 0x07060504);
	CHECK(pt2c__cur_u64le(&c) == 0x0F0E0D0C0B0A0908ull);
	CHECK(!c.fail);
	CHECK_EQ_INT(c.left, 0);
	CHECK_EQ_INT(pt2c__cur_u8(&c), 0);
	CHECK(c.fail);
	/* A short read fails without consuming, and failure sticks even for reads that would fit. */
	c = pt2c__cur(bytes, 3);
	CHECK_EQ_INT(pt2c__cur_u32le(&c), 0);
	CHECK(c.fail);
	CHECK_EQ_INT(c.left, 3);
	CHECK_EQ_INT(pt2c__cur_u8(&c), 0);
	c = pt2c__cur(bytes, 5);
	CHECK(pt2c__cur_take(&c, 4) == bytes);
	CHECK(pt2c__cur_take(&c, 2) == NULL);
	CHECK(c.fail);
	c = pt2c__cur(bytes, 4);
	CHECK(pt2c__cur_take(&c, SIZE_MAX) == NULL);
	CHECK(c.fail);
	CHECK_EQ_INT(pt2c__rd16le(bytes), 0x0201);
	CHECK_EQ_INT(pt2c__rd32le(bytes), 0x04030201);
	CHECK(pt2c__rd64le(bytes) == 0x0807060504030201ull);
}

static void test_overflow_helpers(void)
{
	uint64_t r;
	CHECK(pt2c__add_ovf(UINT64_MAX, 1, &r));
	CHECK(!pt2c__add_ovf(1, 2, &r) && r == 3);
	CHECK(pt2c__mul_ovf(UINT64_MAX / 2 + 1, 2, &r));
	size_t s;
	CHECK(pt2c__mul_ovf_sz(SIZE_MAX, 2, &s));
	CHECK(!pt2c__add_ovf_sz(5, 6, &s) && s == 11);
}

/* cgroup v2 cpu.max text as CPUs (rounded up), and the count with the affinity mask narrowed. */
static void test_cpu_count(void)
{
	/* a child process whose affinity allows one CPU counts one (first: the count is taken once a
	 * process, and a child inherits it) */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
		if (sched_setaffinity(0, sizeof one, &one) != 0)
			_exit(2);
		_exit(pt2c__cpu_count() == 1 ? 0 : 1);
	}
	int st = 0;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %d", st);
	static const struct { const char *text; unsigned want; } cases[] = {
		{ "max 100000\n", 0 }, { "200000 100000\n", 2 }, { "150000 100000", 2 }, { "50000 100000\n", 1 },
		{ "100000 100000", 1 }, { "", 0 }, { "abc", 0 }, { "100 0\n", 0 }, { "0 100000\n", 0 },
		{ "100000\n", 0 }, { "100000 100000 1\n", 0 }, { "-5 100000", 0 }, { "99999999999999 1", 4096 },
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(cases); i++)
		CHECK_MSG(pt2c__cpu_max_parse(cases[i].text) == cases[i].want, "\"%s\": %u, want %u", cases[i].text,
		          pt2c__cpu_max_parse(cases[i].text), cases[i].want);
	CHECK(pt2c__cpu_max_parse(NULL) == 0);
	unsigned n = pt2c__cpu_count();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK(n >= 1 && (online < 1 || n <= (unsigned)online));
	CHECK(pt2c__cpu_count() == n);
}

/*
 * A pool shared by threads through fronts (pt2c__strpool_front): every thread gets the shared
 * pool's strings (one pointer per string across all threads, the one interning it again on the
 * owner's thread gives), new strings live in the front's arena, and the shared table grows while
 * other threads look strings up in it without the lock.
 */
enum { SH_THREADS = 4, SH_COMMON = 2999, SH_OWN = 2000 }; /* SH_COMMON prime: every stride visits all */

typedef struct sh_worker {
	pt2c_strpool *shared;
	pt2c_arena arena;
	pt2c_strpool front;
	int k;
	bool ok;
	const char *common[SH_COMMON]; /* "c<i>": every thread, in its own order */
	const char *own[SH_OWN];       /* "w<k>_<i>": this thread only */
} sh_worker;

static void *sh_run(void *arg)
{
	sh_worker *w = arg;
	w->ok = true;
	for (int round = 0; round < 2; round++) /* the second round hits the front's cache */
		for (int j = 0; j < SH_COMMON; j++) {
			int i = (j * (2 * w->k + 1) + w->k * 7) % SH_COMMON; /* a different order per thread */
			char b[32];
			snprintf(b, sizeof b, "c%d", i);
			const char *p = pt2c__interns(&w->front, b);
			if (!p || strcmp(p, b) != 0 || (w->common[i] && w->common[i] != p)) w->ok = false;
			w->common[i] = p;
			if (j < SH_OWN) {
				snprintf(b, sizeof b, "w%d_%d", w->k, j);
				if (!(w->own[j] = pt2c__interns(&w->front, b)) || strcmp(w->own[j], b) != 0) w->ok = false;
			}
		}
	return NULL;
}

static void test_strpool_shared(void)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_strpool sp;
	pt2c__strpool_init(&sp, &a, NULL);
	const char *before = pt2c__interns(&sp, "c7"); /* interned before sharing: fronts find it */
	REQUIRE(before);
	size_t cap = sp.cap; /* small: the table grows several times while shared */
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	REQUIRE(pt2c__strpool_share(&sp, &mu) == 0);
	CHECK(pt2c__strpool_reserve(&sp, 100000) == 0 && sp.cap == cap); /* shared: grows only as strings come */
	static sh_worker w[SH_THREADS];
	pthread_t th[SH_THREADS];
	for (int k = 0; k < SH_THREADS; k++) {
		memset(&w[k], 0, sizeof w[k]);
		w[k].shared = &sp;
		w[k].k = k;
		pt2c__arena_init(&w[k].arena, NULL);
		pt2c__strpool_init(&w[k].front, &w[k].arena, NULL);
		REQUIRE(pt2c__strpool_front(&w[k].front, &sp) == 0);
	}
	for (int k = 0; k < SH_THREADS; k++)
		REQUIRE(pthread_create(&th[k], NULL, sh_run, &w[k]) == 0);
	for (int k = 0; k < SH_THREADS; k++)
		pthread_join(th[k], NULL);
	pt2c__strpool_unshare(&sp);
	CHECK(sp.lock == NULL && sp.tab == NULL);
	for (int k = 0; k < SH_THREADS; k++) {
		CHECK_MSG(w[k].ok, "thread %d got a wrong string", k);
		pt2c__strpool_free(&w[k].front);
		pt2c__arena_splice(&a, &w[k].arena); /* the owner keeps the strings the fronts made */
		CHECK(w[k].arena.head == NULL && w[k].arena.total == 0);
	}
	CHECK(sp.cap >= 8 * cap); /* grew while shared */
	CHECK_EQ_INT(sp.count, SH_COMMON + SH_THREADS * SH_OWN);
	CHECK(w[0].common[7] == before);
	bool same = true;
	for (int i = 0; i < SH_COMMON; i++) {
		char b[32];
		snprintf(b, sizeof b, "c%d", i);
		for (int k = 0; k < SH_THREADS; k++)
			if (w[k].common[i] != w[0].common[i]) same = false;
		if (pt2c__interns(&sp, b) != w[0].common[i]) same = false;
	}
	for (int k = 0; k < SH_THREADS; k++)
		for (int j = 0; j < SH_OWN; j++) {
			char b[32];
			snprintf(b, sizeof b, "w%d_%d", k, j);
			if (pt2c__interns(&sp, b) != w[k].own[j]) same = false;
		}
	CHECK_MSG(same, "a string has two pointers");
	pthread_mutex_destroy(&mu);
	pt2c__strpool_free(&sp);
	pt2c__arena_free(&a);
}

/* pt2c__arena_splice: blocks move (same addresses), into an empty or a used arena. */
/* pt2c__par_run: every item once, on several threads; a failing range stops the rest. */
typedef struct par_probe {
	uint8_t *hits;   /* per item, atomic */
	unsigned mask;   /* bit w: worker w ran a range (atomic) */
	size_t fail_at;  /* the range holding this item fails */
	size_t ranges;   /* atomic */
} par_probe;

static int par_fn(void *ctx, size_t begin, size_t end, unsigned worker)
{
	par_probe *pp = ctx;
	__atomic_add_fetch(&pp->ranges, 1, __ATOMIC_RELAXED);
	__atomic_or_fetch(&pp->mask, 1u << (worker < 31 ? worker : 31), __ATOMIC_RELAXED);
	for (size_t i = begin; i < end; i++) {
		__atomic_add_fetch(&pp->hits[i], 1, __ATOMIC_RELAXED);
		if (i == pp->fail_at)
			return PT2C_EGRAPH;
	}
	return 0;
}

static void test_par_run(void)
{
	enum { N = 100003 };
	par_probe pp = { calloc(N, 1), 0, SIZE_MAX, 0 };
	REQUIRE(pp.hits);
	for (unsigned helpers = 0; helpers <= 3; helpers++) {
		memset(pp.hits, 0, N);
		pp.mask = 0;
		pp.ranges = 0;
		pt2c_par_job job = { N, 97, par_fn, &pp, NULL, helpers };
		CHECK_EQ_INT(pt2c__par_run(&job), 0);
		size_t once = 0;
		for (size_t i = 0; i < N; i++)
			once += pp.hits[i] == 1;
		CHECK_EQ_INT(once, N);
		CHECK_EQ_INT(pp.ranges, (N + 96) / 97);
		CHECK(pp.mask != 0 && pp.mask < (2u << helpers)); /* workers 0..helpers, no other */
	}
	/* a failure: its code comes back, and no item is done twice */
	memset(pp.hits, 0, N);
	pp.fail_at = 5000;
	pt2c_par_job job = { N, 97, par_fn, &pp, NULL, 3 };
	CHECK_EQ_INT(pt2c__par_run(&job), PT2C_EGRAPH);
	size_t twice = 0;
	for (size_t i = 0; i < N; i++)
		twice += pp.hits[i] > 1;
	CHECK_EQ_INT(twice, 0);
	CHECK_EQ_INT(pp.hits[5000], 1);
	/* nothing to do */
	job.n = 0;
	CHECK_EQ_INT(pt2c__par_run(&job), 0);
	free(pp.hits);
}

/* pt2c__ordered_run's probe: chunk c is "<c>:" plus a little work; consumed text is appended. */
typedef struct ordered_probe {
	pthread_t caller;
	size_t on_caller;     /* chunks rendered on the calling thread (atomic) */
	size_t fail_produce, fail_consume;
	pt2c_buf out;
	size_t next;          /* the chunk consume expects */
	bool out_of_order;
} ordered_probe;

static int ordered_produce(void *ctx, size_t c, pt2c_buf *out)
{
	ordered_probe *op = ctx;
	if (pthread_equal(pthread_self(), op->caller))
		__atomic_add_fetch(&op->on_caller, 1, __ATOMIC_RELAXED);
	if (c == op->fail_produce)
		return PT2C_EIO;
	volatile uint64_t x = c; /* some work, so that the caller finds chunks nobody has taken */
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ull + 1;
	char t[32];
	int n = snprintf(t, sizeof t, "%zu:", c);
	pt2c__buf_put(out, t, (size_t)n);
	return out->err ? PT2C_ENOMEM : 0;
}

static int ordered_consume(void *ctx, size_t c, const char *data, size_t len)
{
	ordered_probe *op = ctx;
	if (c != op->next++)
		op->out_of_order = true;
	if (c == op->fail_consume)
		return PT2C_EGRAPH;
	pt2c__buf_put(&op->out, data, len);
	return op->out.err ? PT2C_ENOMEM : 0;
}

/*
 * Chunks made on helpers and the calling thread come out in order, the same text as one after
 * another; the calling thread renders chunks while the one it needs is not ready (one helper:
 * it would otherwise mostly wait); a failing produce or consume stops the run with its code,
 * and nothing after it is consumed.
 */
static void test_ordered_run(void)
{
	enum { N = 2000 };
	pt2c_buf want;
	pt2c__buf_init(&want, NULL);
	for (size_t c = 0; c < N; c++) {
		char t[32];
		int n = snprintf(t, sizeof t, "%zu:", c);
		pt2c__buf_put(&want, t, (size_t)n);
	}
	REQUIRE(want.err == 0);
	for (unsigned helpers = 0; helpers <= 3; helpers++) {
		ordered_probe op = { pthread_self(), 0, SIZE_MAX, SIZE_MAX, { 0 }, 0, false };
		pt2c__buf_init(&op.out, NULL);
		pt2c_ordered_job job = { N, ordered_produce, ordered_consume, &op, NULL, helpers };
		CHECK_EQ_INT(pt2c__ordered_run(&job), 0);
		CHECK(!op.out_of_order);
		CHECK(op.out.len == want.len && memcmp(op.out.data, want.data, want.len) == 0);
		if (helpers == 1)
			CHECK_MSG(op.on_caller > 0 && op.on_caller < N, "calling thread rendered %zu of %d", op.on_caller, N);
		pt2c__buf_free(&op.out);
	}
	for (int which = 0; which < 2; which++) {
		ordered_probe op = { pthread_self(), 0, which ? SIZE_MAX : 700, which ? 700 : SIZE_MAX, { 0 }, 0, false };
		pt2c__buf_init(&op.out, NULL);
		pt2c_ordered_job job = { N, ordered_produce, ordered_consume, &op, NULL, 2 };
		CHECK_EQ_INT(pt2c__ordered_run(&job), which ? PT2C_EGRAPH : PT2C_EIO);
		CHECK_EQ_INT(op.next, which ? 701 : 700); /* chunks 0..699 consumed, and the failing one */
		pt2c__buf_free(&op.out);
	}
	pt2c__buf_free(&want);
}

/* Faulting pages in on a helper thread while this one writes them changes none of the bytes. */
static void test_prefault_bg(void)
{
	size_t n = (size_t)24 << 20;
	uint8_t *p = malloc(n), *q = malloc(n / 2);
	REQUIRE(p && q);
	pt2c_prefault_bg bg;
	pt2c__prefault_start(&bg, NULL, p, n, q, n / 2);
	CHECK(bg.started == (pt2c__cpu_count() >= 2));
	for (size_t i = 0; i < n; i += 4096)
		p[i] = (uint8_t)(i >> 12);
	for (size_t i = 0; i < n / 2; i += 4096)
		q[i] = (uint8_t)~(i >> 12);
	pt2c__prefault_join(&bg);
	pt2c__prefault_join(&bg); /* twice: a no-op */
	size_t bad = 0;
	for (size_t i = 0; i < n; i += 4096)
		bad += p[i] != (uint8_t)(i >> 12);
	for (size_t i = 0; i < n / 2; i += 4096)
		bad += q[i] != (uint8_t)~(i >> 12);
	CHECK_EQ_INT(bad, 0);
	/* nothing is started for small blocks or a caller's allocator */
	pt2c__prefault_start(&bg, NULL, p, 4096, NULL, 0);
	CHECK(!bg.started);
	pt2c__prefault_join(&bg);
	free(q);
	free(p);
}

static void test_arena_splice(void)
{
	test_alloc ta;
	test_alloc_init(&ta);
	/* the sources hold copies of the callbacks that are gone before d frees the blocks */
	pt2c_allocator *copy = malloc(sizeof *copy);
	REQUIRE(copy);
	*copy = ta.a;
	pt2c_arena d, s1, s2;
	pt2c__arena_init(&d, &ta.a);
	pt2c__arena_init(&s1, copy);
	pt2c__arena_init(&s2, copy);
	pt2c__arena_splice(&d, &s1); /* nothing to move */
	CHECK(d.head == NULL);
	char *p1 = pt2c__arena_strndup(&s1, "first", 5);
	char *big = pt2c__arena_alloc(&s1, 100000); /* a chunk of its own */
	REQUIRE(p1 && big);
	memset(big, 7, 100000);
	size_t t1 = s1.total;
	pt2c__arena_splice(&d, &s1); /* into an empty arena: d takes s1's head */
	CHECK(s1.head == NULL && s1.total == 0 && d.total == t1);
	CHECK(d.alloc == &ta.a); /* d keeps its own pointer to the callbacks */
	char *p2 = pt2c__arena_strndup(&s2, "second", 6);
	REQUIRE(p2);
	size_t t2 = s2.total;
	size_t used = d.used;
	pt2c__arena_splice(&d, &s2); /* behind d's head: d keeps filling its own */
	CHECK(d.total == t1 + t2 && d.used == used);
	char *p3 = pt2c__arena_strndup(&d, "third", 5);
	REQUIRE(p3);
	CHECK_STR(p1, "first");
	CHECK_STR(p2, "second");
	CHECK_STR(p3, "third");
	CHECK(big[0] == 7 && big[99999] == 7);
	memset(copy, 0, sizeof *copy);
	free(copy);
	pt2c__arena_free(&d); /* frees every block once, through d's callbacks */
	pt2c__arena_free(&s1);
	pt2c__arena_free(&s2);
	CHECK_EQ_INT(ta.live, 0);
}

PT2C_TEST_MAIN({
	RUN(test_cpu_count); /* first: no call before it may have counted the CPUs */
	RUN(test_calloc_overflow);
	RUN(test_grow);
	RUN(test_err_fields);
	RUN(test_err_truncation);
	RUN(test_error_format);
	RUN(test_arena);
	RUN(test_arena_first_big);
	RUN(test_arena_weak_allocator);
	RUN(test_map_200k);
	RUN(test_map32);
	RUN(test_map_oom);
	RUN(test_hash_spread);
	RUN(test_strpool);
	RUN(test_strpool_shared);
	RUN(test_arena_splice);
	RUN(test_par_run);
	RUN(test_ordered_run);
	RUN(test_prefault_bg);
	RUN(test_buf_basic);
	RUN(test_buf_sticky);
	RUN(test_cursor);
	RUN(test_overflow_helpers);
})
