/*
 * test_stream.c -- the streaming mode of pt2c_buf (flush callback) and the one-probe map
 * find-or-insert used by interning: the pieces models/model.json streaming and the graph
 * namespace rely on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "util/json.h"
#include "util/util.h"

typedef struct sink_state {
	pt2c_buf all;  /* everything flushed, in order */
	int calls;
	size_t max_piece;
	int fail_on;   /* 1-based flush call that fails with PT2C_EIO; 0 = never */
} sink_state;

static int collect(void *ctx, const void *p, size_t n)
{
	sink_state *s = ctx;
	s->calls++;
	if (s->fail_on && s->calls == s->fail_on)
		return PT2C_EIO;
	if (n > s->max_piece)
		s->max_piece = n;
	pt2c__buf_put(&s->all, p, n);
	return 0;
}

/* Bytes come out complete and in order, in pieces near flush_at, with memory bounded by it. */
static void test_flush_order_and_bound(void)
{
	sink_state s = { .calls = 0 };
	pt2c__buf_init(&s.all, NULL);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_set_flush(&b, collect, &s, 100);
	pt2c_buf ref;
	pt2c__buf_init(&ref, NULL);
	for (int i = 0; i < 1000; i++) {
		pt2c__buf_printf(&b, "item %d, ", i);
		pt2c__buf_printf(&ref, "item %d, ", i);
		pt2c__json_write_int(&b, -i);
		pt2c__json_write_int(&ref, -i);
	}
	char big[300];
	memset(big, 'x', sizeof big);
	pt2c__buf_put(&b, big, sizeof big); /* larger than flush_at: still goes through whole */
	pt2c__buf_put(&ref, big, sizeof big);
	pt2c__buf_putc(&b, '!');
	pt2c__buf_putc(&ref, '!');
	CHECK_EQ_INT(pt2c__buf_flush(&b), 0);
	CHECK_EQ_INT(b.len, 0);
	CHECK(b.cap <= 1024); /* grew for the 300-byte piece, never towards the ~16 KB total */
	CHECK(s.calls > 100);
	CHECK(s.max_piece >= sizeof big && s.max_piece <= sizeof big + 1); /* putc may ride along in spare room */
	REQUIRE(s.all.len == ref.len);
	CHECK(memcmp(s.all.data, ref.data, ref.len) == 0);
	pt2c__buf_free(&b);
	pt2c__buf_free(&ref);
	pt2c__buf_free(&s.all);
}

/* put_through: a large piece reaches the sink as it is (the same pointer, one call) after the
 * pending bytes; small ones are copied in; the bytes come out complete and in order; a failing
 * sink's code sticks. */
static const void *last_piece;
static int collect_ptr(void *ctx, const void *p, size_t n)
{
	last_piece = p;
	return collect(ctx, p, n);
}

static void test_put_through(void)
{
	sink_state s = { .calls = 0 };
	pt2c__buf_init(&s.all, NULL);
	pt2c_buf b, ref;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_init(&ref, NULL);
	pt2c__buf_set_flush(&b, collect_ptr, &s, 100);
	char big[300];
	for (int i = 0; i < 50; i++) {
		memset(big, 'a' + i % 26, sizeof big);
		size_t n = (size_t)(i * 37 % 300) + 1; /* below and above flush_at / 4 */
		pt2c__buf_printf(&b, "<%d>", i);
		pt2c__buf_printf(&ref, "<%d>", i);
		int calls = s.calls;
		pt2c__buf_put_through(&b, big, n);
		pt2c__buf_put(&ref, big, n);
		if (n >= 25) /* passed through: the pending bytes first, then the piece itself */
			CHECK_MSG(last_piece == big && s.calls >= calls + 1 && b.len == 0, "piece %d of %zu bytes", i, n);
	}
	CHECK_EQ_INT(pt2c__buf_flush(&b), 0);
	REQUIRE(s.all.len == ref.len);
	CHECK(memcmp(s.all.data, ref.data, ref.len) == 0);
	/* without a sink it is an ordinary append */
	pt2c_buf plain;
	pt2c__buf_init(&plain, NULL);
	pt2c__buf_put_through(&plain, big, sizeof big);
	CHECK(plain.len == sizeof big && memcmp(plain.data, big, sizeof big) == 0);
	pt2c__buf_free(&plain);
	/* a failing sink */
	sink_state f = { .fail_on = 1 };
	pt2c__buf_init(&f.all, NULL);
	pt2c_buf e;
	pt2c__buf_init(&e, NULL);
	pt2c__buf_set_flush(&e, collect_ptr, &f, 100);
	pt2c__buf_put_through(&e, big, sizeof big);
	CHECK_EQ_INT(e.err, PT2C_EIO);
	pt2c__buf_put_through(&e, big, sizeof big);
	CHECK_EQ_INT(f.calls, 1);
	pt2c__buf_free(&e);
	pt2c__buf_free(&f.all);
	pt2c__buf_free(&b);
	pt2c__buf_free(&ref);
	pt2c__buf_free(&s.all);
}

/* Integers are formatted by hand now: the extremes must still match %lld. */
static void test_write_int_extremes(void)
{
	static const int64_t V[] = { 0, 1, -1, 9, 10, -10, 262144, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__json_write_int(&b, V[i]);
		pt2c__buf_cstr(&b);
		char want[32];
		snprintf(want, sizeof want, "%lld", (long long)V[i]);
		REQUIRE(!b.err);
		CHECK_STR(b.data, want);
		pt2c__buf_free(&b);
	}
}

/* A failing sink's code sticks in b->err and later appends are no-ops. */
static void test_flush_error_sticks(void)
{
	sink_state s = { .fail_on = 2 };
	pt2c__buf_init(&s.all, NULL);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_set_flush(&b, collect, &s, 16);
	for (int i = 0; i < 20; i++)
		pt2c__buf_puts(&b, "0123456789");
	CHECK_EQ_INT(b.err, PT2C_EIO);
	CHECK_EQ_INT(s.calls, 2);
	CHECK_EQ_INT(pt2c__buf_flush(&b), PT2C_EIO);
	CHECK_EQ_INT(s.calls, 2);
	pt2c__buf_free(&b);
	pt2c__buf_free(&s.all);
}

/* upsert: inserts once with the initial value, then hands back the same slot. */
static void test_map_upsert(void)
{
	pt2c_map m;
	pt2c__map_init(&m, NULL);
	char keys[2000][8];
	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		bool existed = true;
		uint64_t *v = pt2c__map_upsert(&m, keys[i], strlen(keys[i]), 7, &existed);
		REQUIRE(v);
		CHECK(!existed);
		CHECK_EQ_INT(*v, 7);
		*v = (uint64_t)i;
	}
	CHECK_EQ_INT(m.count, 2000);
	for (int i = 0; i < 2000; i++) {
		bool existed = false;
		uint64_t *v = pt2c__map_upsert(&m, keys[i], strlen(keys[i]), 7, &existed);
		REQUIRE(v);
		CHECK(existed);
		CHECK_EQ_INT(*v, i);
		uint64_t got = 0;
		CHECK(pt2c__map_get(&m, keys[i], strlen(keys[i]), &got) && got == (uint64_t)i);
	}
	CHECK_EQ_INT(m.count, 2000);
	pt2c__map_free(&m);

	/* interning through the same path: one canonical copy per string */
	pt2c_arena ar;
	pt2c__arena_init(&ar, NULL);
	pt2c_strpool sp;
	pt2c__strpool_init(&sp, &ar, NULL);
	char tmp[16];
	snprintf(tmp, sizeof tmp, "add_tensor");
	const char *a = pt2c__intern(&sp, tmp, 3);
	const char *b = pt2c__interns(&sp, "add");
	REQUIRE(a && b);
	CHECK(a == b && a != tmp);
	CHECK_STR(a, "add");
	CHECK(pt2c__interns(&sp, "add_tensor") != a);
	pt2c__strpool_free(&sp);
	pt2c__arena_free(&ar);
}

PT2C_TEST_MAIN({
	RUN(test_flush_order_and_bound);
	RUN(test_flush_error_sticks);
	RUN(test_put_through);
	RUN(test_write_int_extremes);
	RUN(test_map_upsert);
})
