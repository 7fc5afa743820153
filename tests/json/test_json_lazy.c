/*
 * test_json_lazy.c -- pt2c__json_parse_lazy (arrays or objects under given keys kept as RAW
 * spans) and pt2c__json_raw_next / _member (their elements or members parsed one at a time): the
 * same acceptance, errors and absolute positions as the full parser, at no DOM cost for the lazy
 * containers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "util/json.h"
#include "util/util.h"

static const pt2c_json_opts OPTS = { PT2C_JSON_ALLOW_NONFINITE, 0 };
static const pt2c_json_lazy GRAPH = { "graph", false };

static void test_raw_span_and_elements(void)
{
	pt2c_arena a, s;
	pt2c__arena_init(&a, NULL);
	pt2c__arena_init(&s, NULL);
	const char *doc = "{\"x\": 1, \"graph\": [ {\"n\": \"a\\u00e9\"} ,[1, 2],\n 3.5, NaN ], \"graph2\": [1], \"y\": {\"graph\": 7}}";
	pt2c_json *root;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__json_parse_lazy(&root, doc, strlen(doc), &OPTS, &GRAPH, 1, &a, &err) == 0);
	const pt2c_json *g = pt2c__json_get(root, "graph");
	REQUIRE(pt2c__json_is(g, PT2C_JSON_RAW));
	const char *open = strchr(doc, '[');
	const char *close = strstr(doc, "], \"graph2\"");
	CHECK_EQ_INT(g->pos, open - doc);
	CHECK_EQ_INT(g->n, 4);
	CHECK_EQ_INT(g->u.raw_len, close - open + 1);
	/* only the exact key is lazy, and only when its value is an array */
	CHECK(pt2c__json_is(pt2c__json_get(root, "graph2"), PT2C_JSON_ARRAY));
	CHECK(pt2c__json_is(pt2c__json_get(pt2c__json_get(root, "y"), "graph"), PT2C_JSON_INT));

	uint64_t cur = 0;
	pt2c_json *e;
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0 && e);
	REQUIRE(pt2c__json_is(e, PT2C_JSON_OBJECT));
	CHECK_EQ_INT(e->pos, strstr(doc, "{\"n\"") - doc);
	const pt2c_json *nv = pt2c__json_get(e, "n");
	REQUIRE(nv && nv->n == 3);
	CHECK(memcmp(nv->u.s, "a\xc3\xa9", 3) == 0);
	CHECK_EQ_INT(nv->pos, strstr(doc, "\"a\\u") - doc);
	pt2c__arena_reset(&s);
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0 && e);
	REQUIRE(pt2c__json_is(e, PT2C_JSON_ARRAY) && e->n == 2);
	CHECK_EQ_INT(pt2c__json_at(e, 1)->u.i, 2);
	CHECK_EQ_INT(pt2c__json_at(e, 1)->pos, strstr(doc, "2]") - doc);
	pt2c__arena_reset(&s);
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0 && e);
	CHECK(e->type == PT2C_JSON_REAL && e->u.d == 3.5);
	CHECK_EQ_INT(e->pos, strstr(doc, "3.5") - doc);
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0 && e);
	CHECK(e->type == PT2C_JSON_REAL && e->u.d != e->u.d);
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0);
	CHECK(e == NULL);
	REQUIRE(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &s, &e, &err) == 0);
	CHECK(e == NULL); /* stays at the end */
	pt2c__arena_free(&s);
	pt2c__arena_free(&a);
}

static void test_empty_and_escaped_key(void)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	const char *doc = "[{\"gr\\u0061ph\": [ ]}, {\"graph\": []}]";
	pt2c_json *root;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__json_parse_lazy(&root, doc, strlen(doc), &OPTS, &GRAPH, 1, &a, &err) == 0);
	for (size_t k = 0; k < 2; k++) {
		const pt2c_json *g = pt2c__json_get(pt2c__json_at(root, k), "graph");
		REQUIRE(pt2c__json_is(g, PT2C_JSON_RAW));
		CHECK_EQ_INT(g->n, 0);
		uint64_t cur = 0;
		pt2c_json *e = (pt2c_json *)&err;
		CHECK(pt2c__json_raw_next(doc, strlen(doc), g, &cur, &OPTS, &a, &e, &err) == 0);
		CHECK(e == NULL);
	}
	CHECK_EQ_INT(pt2c__json_get(pt2c__json_at(root, 0), "graph")->u.raw_len, 3);
	pt2c__arena_free(&a);
}

/* Malformed input inside a lazy span fails exactly as the full parser fails. */
static void test_same_errors(void)
{
	static const char *const bad[] = {
		"{\"graph\": [1, 2,]}",
		"{\"graph\": [1 2]}",
		"{\"graph\": [{\"a\" 1}]}",
		"{\"graph\": [\"\\x\"]}",
		"{\"graph\": [\"\\ud800\"]}",
		"{\"graph\": [\"\xff\"]}",
		"{\"graph\": [01]}",
		"{\"graph\": [1.]}",
		"{\"graph\": [tru]}",
		"{\"graph\": [[[[[[[[[[1]]]]]]]]]]}",
		"{\"graph\": [1]",
		"{\"graph\": [1]}}",
		"{\"graph\": [{\"graph\": [1,]}]}",
		"{\"graph\": [\"a\nb\"]}",
		"{\"graph\": [-]}",
		"{\"graph\": [Infinity, -Infinity, nan]}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		for (int depth = 0; depth < 2; depth++) {
			pt2c_json_opts o = { PT2C_JSON_ALLOW_NONFINITE, depth ? 6u : 0u };
			pt2c_arena a;
			pt2c__arena_init(&a, NULL);
			pt2c_json *r1 = NULL, *r2 = NULL;
			pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
			int rc1 = pt2c__json_parse(&r1, bad[k], strlen(bad[k]), &o, &a, &e1);
			int rc2 = pt2c__json_parse_lazy(&r2, bad[k], strlen(bad[k]), &o, &GRAPH, 1, &a, &e2);
			CHECK_MSG(rc1 == rc2, "case %zu/%d: rc %d vs %d", k, depth, rc1, rc2);
			if (rc1 == 0) { /* only too deep for the small cap */
				CHECK(k == 9 && depth == 0 && r2 != NULL);
				pt2c__arena_free(&a);
				continue;
			}
			CHECK_MSG(e1.offset == e2.offset, "case %zu/%d: offset %llu vs %llu", k, depth,
			          (unsigned long long)e1.offset, (unsigned long long)e2.offset);
			CHECK_MSG(strcmp(e1.message, e2.message) == 0, "case %zu/%d: \"%s\" vs \"%s\"", k, depth, e1.message, e2.message);
			CHECK(r2 == NULL);
			pt2c__arena_free(&a);
		}
	}
}

/* Objects under an object key and arrays under an array key, together; kinds must match. */
static void test_lazy_objects(void)
{
	pt2c_arena a, s;
	pt2c__arena_init(&a, NULL);
	pt2c__arena_init(&s, NULL);
	const char *doc = "{\"tv\": {\"a\": {\"d\": 7}, \"b\\u00e9\" : [1, {\"x\": 2}], \"c\":null}, \"nodes\": [{}],"
	                  " \"o\": {\"tv\": [1], \"nodes\": {\"k\": 1}}, \"e\": {\"tv\": {}}}";
	static const pt2c_json_lazy lz[] = { { "tv", true }, { "nodes", false } };
	pt2c_json *root;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__json_parse_lazy(&root, doc, strlen(doc), &OPTS, lz, 2, &a, &err) == 0);
	const pt2c_json *tv = pt2c__json_get(root, "tv");
	REQUIRE(pt2c__json_is(tv, PT2C_JSON_RAW));
	CHECK_EQ_INT(tv->n, 3);
	CHECK_EQ_INT(doc[tv->pos], '{');
	CHECK(pt2c__json_is(pt2c__json_get(root, "nodes"), PT2C_JSON_RAW));
	/* wrong kinds stay expanded */
	const pt2c_json *o = pt2c__json_get(root, "o");
	CHECK(pt2c__json_is(pt2c__json_get(o, "tv"), PT2C_JSON_ARRAY));
	CHECK(pt2c__json_is(pt2c__json_get(o, "nodes"), PT2C_JSON_OBJECT));
	const pt2c_json *etv = pt2c__json_get(pt2c__json_get(root, "e"), "tv");
	REQUIRE(pt2c__json_is(etv, PT2C_JSON_RAW));
	CHECK_EQ_INT(etv->n, 0);

	uint64_t cur = 0;
	pt2c_json *k, *v;
	REQUIRE(pt2c__json_raw_next_member(doc, strlen(doc), tv, &cur, &OPTS, &s, &k, &v, &err) == 0 && k && v);
	CHECK(k->type == PT2C_JSON_STRING && k->n == 1 && k->u.s[0] == 'a');
	CHECK_EQ_INT(pt2c__json_get(v, "d")->u.i, 7);
	CHECK_EQ_INT(v->pos, strstr(doc, "{\"d\"") - doc);
	pt2c__arena_reset(&s);
	REQUIRE(pt2c__json_raw_next_member(doc, strlen(doc), tv, &cur, &OPTS, &s, &k, &v, &err) == 0 && k && v);
	CHECK(k->n == 3 && memcmp(k->u.s, "b\xc3\xa9", 3) == 0);
	REQUIRE(pt2c__json_is(v, PT2C_JSON_ARRAY) && v->n == 2);
	CHECK_EQ_INT(pt2c__json_get(pt2c__json_at(v, 1), "x")->u.i, 2);
	REQUIRE(pt2c__json_raw_next_member(doc, strlen(doc), tv, &cur, &OPTS, &s, &k, &v, &err) == 0 && k && v);
	CHECK(v->type == PT2C_JSON_NULL);
	REQUIRE(pt2c__json_raw_next_member(doc, strlen(doc), tv, &cur, &OPTS, &s, &k, &v, &err) == 0);
	CHECK(k == NULL && v == NULL);
	cur = 0;
	REQUIRE(pt2c__json_raw_next_member(doc, strlen(doc), etv, &cur, &OPTS, &s, &k, &v, &err) == 0);
	CHECK(k == NULL && v == NULL);
	/* the element iterator refuses an object span and vice versa */
	cur = 0;
	pt2c_json *e;
	CHECK_EQ_INT(pt2c__json_raw_next(doc, strlen(doc), tv, &cur, &OPTS, &s, &e, &err), PT2C_EINVALID);
	cur = 0;
	CHECK_EQ_INT(pt2c__json_raw_next_member(doc, strlen(doc), pt2c__json_get(root, "nodes"), &cur, &OPTS, &s, &k, &v, &err),
	             PT2C_EINVALID);
	/* a broken lazy object is refused exactly like by the full parser */
	const char *bad = "{\"tv\": {\"a\": 1,}}";
	pt2c_json *r1, *r2;
	pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
	int rc1 = pt2c__json_parse(&r1, bad, strlen(bad), &OPTS, &a, &e1);
	int rc2 = pt2c__json_parse_lazy(&r2, bad, strlen(bad), &OPTS, lz, 2, &a, &e2);
	CHECK(rc1 != 0 && rc1 == rc2);
	CHECK_EQ_INT(e1.offset, e2.offset);
	CHECK_STR(e1.message, e2.message);
	pt2c__arena_free(&s);
	pt2c__arena_free(&a);
}

/*
 * PT2C_JSON_DROP_PAGES on a mapped file: the parser gives back pages it has read past, and every
 * value (string views into the file included) still reads back right, lazily or not.
 */
static void test_drop_pages_while_parsing(void)
{
	char path[] = "/tmp/pt2c_json_drop_XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "w");
	REQUIRE(f);
	enum { N = 400000 }; /* about 20 MB */
	fputs("{\"head\": \"first\", \"graph\": [", f);
	for (int i = 0; i < N; i++)
		fprintf(f, "%s{\"name\": \"node_%d\", \"v\": %d}", i ? ", " : "", i, i * 3);
	fputs("], \"tail\": \"last\"}", f);
	fclose(f);
	pt2c_mapped m;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__map_path(&m, path, NULL, &err) == 0);
	REQUIRE(pt2c__mapped_is_file(&m));
	pt2c_json_opts drop = { PT2C_JSON_DROP_PAGES, 0 };
	for (int lazy = 0; lazy < 2; lazy++) {
		pt2c_arena a, s;
		pt2c__arena_init(&a, NULL);
		pt2c__arena_init(&s, NULL);
		pt2c_json *root = NULL;
		REQUIRE(pt2c__json_parse_lazy(&root, (const char *)m.data, m.size, &drop, &GRAPH, lazy ? 1 : 0, &a, &err) == 0);
		CHECK(pt2c__json_streq(pt2c__json_get(root, "head"), "first"));
		CHECK(pt2c__json_streq(pt2c__json_get(root, "tail"), "last"));
		const pt2c_json *g = pt2c__json_get(root, "graph");
		int bad = 0, n = 0;
		if (lazy) {
			REQUIRE(pt2c__json_is(g, PT2C_JSON_RAW));
			uint64_t cur = 0;
			pt2c_json *e;
			while (pt2c__json_raw_next((const char *)m.data, m.size, g, &cur, &drop, &s, &e, &err) == 0 && e) {
				char want[32];
				snprintf(want, sizeof want, "node_%d", n);
				if (!pt2c__json_streq(pt2c__json_get(e, "name"), want) || pt2c__json_get(e, "v")->u.i != n * 3)
					bad++;
				n++;
				pt2c__arena_reset(&s);
			}
		} else {
			REQUIRE(pt2c__json_is(g, PT2C_JSON_ARRAY));
			for (; n < (int)g->n; n++) {
				char want[32];
				snprintf(want, sizeof want, "node_%d", n);
				const pt2c_json *e = pt2c__json_at(g, (size_t)n);
				if (!pt2c__json_streq(pt2c__json_get(e, "name"), want) || pt2c__json_get(e, "v")->u.i != n * 3)
					bad++;
			}
		}
		CHECK_EQ_INT(n, N);
		CHECK_EQ_INT(bad, 0);
		pt2c__arena_free(&s);
		pt2c__arena_free(&a);
	}
	pt2c__unmap(&m);
	unlink(path);
}

/* An arena reset keeps working storage and drops everything else. */
static void test_arena_reset(void)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c__arena_reset(&a); /* empty: no-op */
	size_t kept = 0;
	for (int round = 0; round < 3; round++) {
		char *big = pt2c__arena_alloc(&a, 100000); /* a dedicated chunk */
		char *small = pt2c__arena_alloc(&a, 100);
		REQUIRE(big && small);
		memset(big, 1, 100000);
		memset(small, 2, 100);
		pt2c__arena_reset(&a);
		CHECK(a.used == 0);
		if (round == 0) kept = a.total;
		CHECK(a.total == kept); /* only the head chunk stays: no growth per round */
		CHECK(kept < 300000);
	}
	pt2c__arena_free(&a);
}

/*
 * pt2c__json_parse_skim delimits the lazy spans without validating them; on valid text its spans
 * are the validating scan's, wherever the escapes, quotes and brackets fall relative to its
 * 64-byte blocks (the padding moves them across every block boundary).
 */
static void test_skim_matches_lazy(void)
{
	static const pt2c_json_lazy LZ[] = { { "graph", false }, { "tv", true } };
	for (size_t pad = 0; pad < 140; pad++) {
		char doc[1024];
		char p[160];
		memset(p, 'a', pad);
		p[pad] = 0;
		snprintf(doc, sizeof doc,
		         "{\"pad\": \"%s\", \"graph\": [\"x\\\\\\\\\", \"\\\\\\\"]\", [{\"k\": \"\\\\\\\\\\\\\\\"\"}, [], {}], \"%s}\", 7],"
		         " \"tv\": {\"q\\\"\": \"}\", \"r\": [\"]\", {\"graph\": [1]}]}, \"z\": [\"%s\\\\\"]}", p, p, p);
		pt2c_arena a;
		pt2c__arena_init(&a, NULL);
		pt2c_json *r1 = NULL, *r2 = NULL;
		pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
		size_t ns = 99;
		REQUIRE(pt2c__json_parse_lazy(&r1, doc, strlen(doc), &OPTS, LZ, 2, &a, &e1) == 0);
		REQUIRE(pt2c__json_parse_skim(&r2, doc, strlen(doc), &OPTS, LZ, 2, &a, &ns, &e2) == 0);
		CHECK_EQ_INT(ns, 2);
		for (size_t k = 0; k < 2; k++) {
			const pt2c_json *x = pt2c__json_get(r1, LZ[k].key), *y = pt2c__json_get(r2, LZ[k].key);
			REQUIRE(pt2c__json_is(x, PT2C_JSON_RAW) && pt2c__json_is(y, PT2C_JSON_RAW));
			CHECK_MSG(x->pos == y->pos && x->n == y->n && x->u.raw_len == y->u.raw_len, "pad %zu key %s: %u/%llu vs %u/%llu",
			          pad, LZ[k].key, x->n, (unsigned long long)x->u.raw_len, y->n, (unsigned long long)y->u.raw_len);
		}
		CHECK_EQ_INT(pt2c__json_get(r2, "graph")->n, 5);
		CHECK_EQ_INT(pt2c__json_get(r2, "tv")->n, 2);
		CHECK(pt2c__json_is(pt2c__json_get(r2, "z"), PT2C_JSON_ARRAY));
		pt2c__arena_free(&a);
	}
	/* what it cannot delimit goes to the validating scan: the same error */
	static const char *const bad[] = { "{\"graph\": [1, \"]", "{\"graph\": [1, 2}}", "{\"graph\": [[[[[[[[1]]]]]]]]}" };
	for (size_t k = 0; k < PT2C_ARRAY_LEN(bad); k++) {
		pt2c_json_opts o = { 0, 6 };
		pt2c_arena a;
		pt2c__arena_init(&a, NULL);
		pt2c_json *r1 = NULL, *r2 = NULL;
		pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
		size_t ns = 99;
		int rc1 = pt2c__json_parse_lazy(&r1, bad[k], strlen(bad[k]), &o, LZ, 2, &a, &e1);
		int rc2 = pt2c__json_parse_skim(&r2, bad[k], strlen(bad[k]), &o, LZ, 2, &a, &ns, &e2);
		CHECK_EQ_INT(rc1, PT2C_ECORRUPT);
		CHECK_EQ_INT(rc2, rc1);
		CHECK_EQ_INT(ns, 0);
		CHECK_MSG(strcmp(e1.message, e2.message) == 0 && e1.offset == e2.offset, "case %zu: '%s' vs '%s'", k, e1.message, e2.message);
		pt2c__arena_free(&a);
	}
}

/* MARK: skimming on helper threads */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) /* 0..n-1 */
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33) % n;
}

/* A JSON value with the bytes that steer a skim: strings holding brackets, commas, escaped
 * quotes and runs of backslashes, nested arrays and objects. */
static void gen_value(pt2c_buf *b, int depth)
{
	uint32_t k = depth > 9 ? rnd(3) : rnd(6);
	if (k == 0) {
		pt2c__buf_printf(b, "%u", rnd(1000));
	} else if (k == 1 || k == 2) {
		pt2c__buf_putc(b, '"');
		for (uint32_t i = 0, n = rnd(12); i < n; i++) {
			static const char *const bits[] = { "a", "]", "[", "{", "}", ",", "\\\"", "\\\\", "\\\\\\\\", "x y", "\\n" };
			pt2c__buf_puts(b, bits[rnd(PT2C_ARRAY_LEN(bits))]);
		}
		pt2c__buf_putc(b, '"');
	} else if (k == 3 || k == 4) {
		pt2c__buf_putc(b, '[');
		for (uint32_t i = 0, n = rnd(5); i < n; i++) {
			if (i) pt2c__buf_puts(b, rnd(2) ? ", " : ",");
			gen_value(b, depth + 1);
		}
		pt2c__buf_putc(b, ']');
	} else {
		pt2c__buf_putc(b, '{');
		for (uint32_t i = 0, n = rnd(4); i < n; i++) {
			pt2c__buf_printf(b, "%s\"k%u\\\"\": ", i ? ", " : "", i);
			gen_value(b, depth + 1);
		}
		pt2c__buf_putc(b, '}');
	}
}

static bool same_spans(const pt2c_json *a, const pt2c_json *b)
{
	if (!a || !b) return a == b;
	if (a->type != b->type || a->pos != b->pos) return false;
	if (a->type == PT2C_JSON_RAW) return a->n == b->n && a->u.raw_len == b->u.raw_len;
	if (a->type != PT2C_JSON_ARRAY && a->type != PT2C_JSON_OBJECT) return true;
	if (a->n != b->n) return false;
	size_t k = a->type == PT2C_JSON_OBJECT ? 2u * a->n : a->n;
	for (size_t i = 0; i < k; i++)
		if (!same_spans(&a->u.items[i], &b->u.items[i])) return false;
	return true;
}

/*
 * A skim on helper threads (text summarised in chunks of 64 to 320 bytes) gives what the skim in
 * order gives -- code, spans, counts, message and offset -- on generated documents and on their
 * mutations (cut short, a byte changed, a long run of backslashes, a small depth limit), wherever
 * the chunk boundaries fall.
 */
static void test_skim_on_helpers(void)
{
	static const pt2c_json_lazy LZ[] = { { "graph", false }, { "tv", true } };
	pt2c_thread_tuning keep = pt2c__thread_tuning;
	unsigned long grids0 = pt2c__json_skim_grids();
	rng_state = 12345;
	size_t docs = 0, accepted = 0;
	for (int d = 0; d < 300; d++) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__buf_printf(&b, "{\"pad\": \"%.*s\", \"graph\": [", (int)rnd(70), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		for (uint32_t i = 0, n = 1 + rnd(40); i < n; i++) {
			if (i) pt2c__buf_puts(&b, ", ");
			gen_value(&b, 1);
		}
		pt2c__buf_puts(&b, "], \"mid\": [1, \"]\"], \"tv\": {");
		for (uint32_t i = 0, n = rnd(20); i < n; i++) {
			pt2c__buf_printf(&b, "%s\"v%u\": ", i ? ", " : "", i);
			gen_value(&b, 1);
		}
		pt2c__buf_puts(&b, "}, \"z\": 1}");
		REQUIRE(!b.err);
		uint32_t mut = rnd(5);
		if (mut == 1 && b.len > 2) { /* cut short */
			b.len = 1 + rnd((uint32_t)b.len - 1);
		} else if (mut == 2) { /* one byte changed to a steering one */
			static const char steer[] = "[]{},\"\\";
			b.data[rnd((uint32_t)b.len)] = steer[rnd(7)];
		} else if (mut == 3) { /* a run of backslashes too long to count before a chunk */
			pt2c_buf c;
			pt2c__buf_init(&c, NULL);
			size_t at = 20 + rnd((uint32_t)b.len - 20);
			pt2c__buf_put(&c, b.data, at);
			for (uint32_t i = 0, n = 4000 + rnd(400); i < n; i++) pt2c__buf_putc(&c, '\\');
			pt2c__buf_put(&c, b.data + at, b.len - at);
			pt2c__buf_free(&b);
			b = c;
			REQUIRE(!b.err);
		}
		pt2c_json_opts o = { PT2C_JSON_ALLOW_NONFINITE, rnd(4) == 0 ? 6u : 0u };
		pt2c_arena a;
		pt2c__arena_init(&a, NULL);
		pt2c_json *r1 = NULL;
		pt2c_error e1 = PT2C_ERROR_INIT;
		size_t n1 = 99;
		pt2c__thread_tuning.min_items = UINT32_MAX; /* in order */
		int rc1 = pt2c__json_parse_skim(&r1, b.data, b.len, &o, LZ, 2, &a, &n1, &e1);
		static const uint32_t chunk[] = { 64, 128, 320 };
		for (size_t c = 0; c < PT2C_ARRAY_LEN(chunk); c++) {
			pt2c__thread_tuning = (pt2c_thread_tuning){ 2, true, 2, chunk[c] };
			pt2c_json *r2 = NULL;
			pt2c_error e2 = PT2C_ERROR_INIT;
			size_t n2 = 99;
			int rc2 = pt2c__json_parse_skim(&r2, b.data, b.len, &o, LZ, 2, &a, &n2, &e2);
			CHECK_MSG(rc1 == rc2 && n1 == n2, "doc %d chunk %u: %d/%zu vs %d/%zu", d, chunk[c], rc1, n1, rc2, n2);
			if (rc1 == 0 && rc2 == 0)
				CHECK_MSG(same_spans(r1, r2), "doc %d chunk %u: other spans", d, chunk[c]);
			else
				CHECK_MSG(strcmp(e1.message, e2.message) == 0 && e1.offset == e2.offset, "doc %d chunk %u: '%s' vs '%s'",
				          d, chunk[c], e1.message, e2.message);
		}
		pt2c__thread_tuning = keep;
		docs++;
		accepted += rc1 == 0;
		pt2c__arena_free(&a);
		pt2c__buf_free(&b);
	}
	/* both kinds met, and the chunks were summarised on helper threads where there are two CPUs */
	CHECK_MSG(accepted > docs / 3 && accepted < docs, "%zu of %zu accepted", accepted, docs);
	if (pt2c__cpu_count() >= 2)
		CHECK_MSG(pt2c__json_skim_grids() - grids0 >= 2 * docs, "%lu skims on helpers", pt2c__json_skim_grids() - grids0);
}

PT2C_TEST_MAIN({
	RUN(test_raw_span_and_elements);
	RUN(test_empty_and_escaped_key);
	RUN(test_lazy_objects);
	RUN(test_drop_pages_while_parsing);
	RUN(test_same_errors);
	RUN(test_skim_matches_lazy);
	RUN(test_skim_on_helpers);
	RUN(test_arena_reset);
})
