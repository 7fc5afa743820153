/*
 * test_json.c -- the strict JSON reader (valid/invalid inputs, positions, depth cap, UTF-8,
 * numbers) and the Python-compatible writers (float repr table and string escapes computed with
 * CPython 3 json.dumps/repr), plus byte-exact rewriting of the real model.json files that
 * PyTorch 2.11 wrote into the fixture archives.
 */
#include "harness.h"
#include "util/json.h"

#include <math.h>
#include <stdlib.h>

static pt2c_arena A;

/* Parse a NUL-terminated document with the given flags/depth; returns the code. */
static int parse(const char *s, pt2c_json **out, unsigned flags, uint32_t depth, pt2c_error *err)
{
	pt2c_json_opts o = { flags, depth };
	return pt2c__json_parse(out, s, strlen(s), &o, &A, err);
}

static void test_valid_values(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	const char *doc = " {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {}, \"c\": [], \"d\": 9}\n";
	REQUIRE(parse(doc, &v, 0, 0, &err) == 0);
	CHECK_EQ_INT(v->type, PT2C_JSON_OBJECT);
	CHECK_EQ_INT(v->n, 4);
	CHECK_EQ_INT(v->pos, 1);
	const pt2c_json *a = pt2c__json_get(v, "a");
	REQUIRE(pt2c__json_is(a, PT2C_JSON_ARRAY));
	CHECK_EQ_INT(a->n, 7);
	CHECK_EQ_INT(a->pos, 7);
	CHECK_EQ_INT(pt2c__json_at(a, 0)->u.i, 1);
	CHECK_EQ_INT(pt2c__json_at(a, 1)->type, PT2C_JSON_INT);
	CHECK_EQ_INT(pt2c__json_at(a, 1)->u.i, -2);
	CHECK_EQ_INT(pt2c__json_at(a, 1)->pos, 11);
	CHECK_EQ_INT(pt2c__json_at(a, 2)->type, PT2C_JSON_REAL);
	CHECK(pt2c__json_at(a, 2)->u.d == 3.5);
	CHECK_EQ_INT(pt2c__json_at(a, 3)->type, PT2C_JSON_TRUE);
	CHECK_EQ_INT(pt2c__json_at(a, 4)->type, PT2C_JSON_FALSE);
	CHECK_EQ_INT(pt2c__json_at(a, 5)->type, PT2C_JSON_NULL);
	CHECK(pt2c__json_streq(pt2c__json_at(a, 6), "x"));
	CHECK(pt2c__json_at(a, 7) == NULL);
	CHECK_EQ_INT(pt2c__json_get(v, "b")->type, PT2C_JSON_OBJECT);
	CHECK_EQ_INT(pt2c__json_get(v, "b")->n, 0);
	CHECK_EQ_INT(pt2c__json_get(v, "c")->n, 0);
	CHECK(pt2c__json_get(v, "zz") == NULL);
	CHECK(pt2c__json_get(NULL, "a") == NULL);
	CHECK(pt2c__json_get(a, "a") == NULL);
	CHECK(pt2c__json_at(v, 0) == NULL);
	CHECK(pt2c__json_streq(pt2c__json_key(v, 3), "d"));
	CHECK_EQ_INT(pt2c__json_val(v, 3)->u.i, 9);

	/* scalar roots */
	REQUIRE(parse("  42 ", &v, 0, 0, &err) == 0);
	CHECK_EQ_INT(v->u.i, 42);
	REQUIRE(parse("\"\"", &v, 0, 0, &err) == 0);
	CHECK_EQ_INT(v->type, PT2C_JSON_STRING);
	CHECK_EQ_INT(v->n, 0);
	pt2c__arena_free(&A);
}

static void test_numbers(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(parse("[9223372036854775807, -9223372036854775808, 9223372036854775808.0, -9223372036854775809e0,"
	              " -0, -0.0, 1E2, 1e-2, 0.5e+1, 1e400, 123456789012345678901234567890.0]", &v, 0, 0, &err) == 0);
	CHECK_EQ_INT(v->u.items[0].type, PT2C_JSON_INT);
	CHECK(v->u.items[0].u.i == INT64_MAX);
	CHECK_EQ_INT(v->u.items[1].type, PT2C_JSON_INT);
	CHECK(v->u.items[1].u.i == INT64_MIN);
	CHECK_EQ_INT(v->u.items[2].type, PT2C_JSON_REAL);
	CHECK(v->u.items[2].u.d == 9223372036854775808.0);
	CHECK_EQ_INT(v->u.items[3].type, PT2C_JSON_REAL);
	CHECK_EQ_INT(v->u.items[4].type, PT2C_JSON_INT);
	CHECK_EQ_INT(v->u.items[4].u.i, 0);
	CHECK_EQ_INT(v->u.items[5].type, PT2C_JSON_REAL);
	CHECK(v->u.items[5].u.d == 0 && signbit(v->u.items[5].u.d));
	CHECK(v->u.items[6].type == PT2C_JSON_REAL && v->u.items[6].u.d == 100.0);
	CHECK(v->u.items[7].u.d == 0.01);
	CHECK(v->u.items[8].u.d == 5.0);
	CHECK(isinf(v->u.items[9].u.d));
	CHECK(v->u.items[10].type == PT2C_JSON_REAL && v->u.items[10].u.d == 123456789012345678901234567890.0);
	/* integers outside int64 are refused, not rounded to a double (issue 11 #9), in lazy spans too */
	static const struct { const char *doc; size_t at; } big[] = {
		{ "[9223372036854775808]", 1 },
		{ "[1, -9223372036854775809]", 4 },
		{ "{\"a\": 123456789012345678901234567890}", 6 },
		{ "{\"nodes\": [0, 18446744073709551616]}", 14 },
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(big); i++) {
		err = (pt2c_error)PT2C_ERROR_INIT;
		CHECK_EQ_INT(parse(big[i].doc, &v, 0, 0, &err), PT2C_ECORRUPT);
		CHECK_MSG(strstr(err.message, "outside the 64-bit range") != NULL, "%s: %s", big[i].doc, err.message);
		CHECK_EQ_INT(err.offset, big[i].at);
		pt2c_json_lazy lz = { "nodes", false };
		pt2c_json_opts o = { 0, 0 };
		err = (pt2c_error)PT2C_ERROR_INIT;
		CHECK_EQ_INT(pt2c__json_parse_lazy(&v, big[i].doc, strlen(big[i].doc), &o, &lz, 1, &A, &err), PT2C_ECORRUPT);
		CHECK_EQ_INT(err.offset, big[i].at);
	}

	/* non-finite tokens only with the flag */
	CHECK_EQ_INT(parse("[NaN]", &v, 0, 0, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(parse("[Infinity]", &v, 0, 0, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(parse("[-Infinity]", &v, 0, 0, &err), PT2C_ECORRUPT);
	REQUIRE(parse("[NaN, Infinity, -Infinity, 1]", &v, PT2C_JSON_ALLOW_NONFINITE, 0, &err) == 0);
	CHECK(isnan(v->u.items[0].u.d));
	CHECK(isinf(v->u.items[1].u.d) && v->u.items[1].u.d > 0);
	CHECK(isinf(v->u.items[2].u.d) && v->u.items[2].u.d < 0);
	CHECK_EQ_INT(parse("[-Inf]", &v, PT2C_JSON_ALLOW_NONFINITE, 0, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(parse("[nan]", &v, PT2C_JSON_ALLOW_NONFINITE, 0, &err), PT2C_ECORRUPT);
	pt2c__arena_free(&A);
}

static void test_strings(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	/* raw UTF-8 without escapes: a view into the input */
	const char *doc = "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", "
	                  "\"\\u00e9\\u20AC\\ud83d\\ude00\\u0000z\"]";
	REQUIRE(parse(doc, &v, 0, 0, &err) == 0);
	const pt2c_json *s0 = &v->u.items[0];
	CHECK(s0->u.s == doc + 2);
	CHECK_EQ_INT(s0->n, 14);
	const pt2c_json *s1 = &v->u.items[1];
	CHECK_EQ_INT(s1->n, 12);
	CHECK(memcmp(s1->u.s, "a\"b\\c/d\b\f\n\r\t", 12) == 0);
	const pt2c_json *s2 = &v->u.items[2];
	CHECK_EQ_INT(s2->n, 11);
	CHECK(memcmp(s2->u.s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z", 11) == 0);

	/* round trip through the ensure_ascii writer (expected text from Python json.dumps) */
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__json_write_str(&b, s0->u.s, s0->n);
	pt2c__buf_putc(&b, '|');
	pt2c__json_write_str(&b, s1->u.s, s1->n);
	pt2c__buf_putc(&b, '|');
	pt2c__json_write_str(&b, s2->u.s, s2->n);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"caf\\u00e9 \\u20ac \\ud83d\\ude00\"|\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"|"
	                  "\"\\u00e9\\u20ac\\ud83d\\ude00\\u0000z\"");
	pt2c__buf_free(&b);
	pt2c__arena_free(&A);
}

static void test_write_str(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	/* json.dumps('a"b\\c/d\n\r\t\b\f\x01\x1f\x7f') */
	pt2c__json_write_cstr(&b, "a\"b\\c/d\n\r\t\b\f\x01\x1f\x7f");
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"");
	b.len = 0;
	pt2c__json_write_str(&b, "\0", 1);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"\\u0000\"");
	/* invalid UTF-8 bytes are written as their Latin-1 code points (documented in json.c) */
	b.len = 0;
	pt2c__json_write_cstr(&b, "x\xff\xc3(\xed\xa0\x80");
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"x\\u00ff\\u00c3(\\u00ed\\u00a0\\u0080\"");
	b.len = 0;
	pt2c__json_write_cstr(&b, "");
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"\"");
	pt2c__buf_free(&b);
}

static void test_write_numbers(void)
{
	/* expected strings are CPython repr() of the same literals */
	static const struct { double d; const char *py; } table[] = {
		{ 0.1, "0.1" },
		{ 1e-05, "1e-05" },
		{ 1e16, "1e+16" },
		{ 123456789012345678.0, "1.2345678901234568e+17" },
		{ 2.5e-320, "2.5e-320" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 0.30000000000000004, "0.30000000000000004" },
		{ -0.0, "-0.0" },
		{ 1e22, "1e+22" },
		{ 5e-324, "5e-324" },
		{ 1e15, "1000000000000000.0" },
		{ 1e-4, "0.0001" },
		{ 2.0, "2.0" },
		{ 100.0, "100.0" },
		{ 1234567890123456.0, "1234567890123456.0" },
		{ 9999999999999998.0, "9999999999999998.0" },
		{ 1.5e300, "1.5e+300" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
		{ 9007199254740992.0, "9007199254740992.0" },
		{ -1.5, "-1.5" },
		{ 123.456, "123.456" },
		{ 1e23, "1e+23" },
		{ 5e-5, "5e-05" },
		{ 0.00012345, "0.00012345" },
		{ 12345678901234567890.0, "1.2345678901234567e+19" },
		{ 1e-7, "1e-07" },
		{ 8.41e21, "8.41e+21" },
		{ 2.675, "2.675" },
		{ -2.5e-10, "-2.5e-10" },
		{ 6.290184345309701e-235, "6.290184345309701e-235" }, /* lopsided interval: 16 digits, not 17 */
		{ 0.0, "0.0" },
		{ 1.0, "1.0" },
		{ 3.0e-5, "3e-05" },
	};
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	for (size_t k = 0; k < PT2C_ARRAY_LEN(table); k++) {
		b.len = 0;
		pt2c__json_write_double(&b, table[k].d);
		pt2c__buf_cstr(&b);
		CHECK_STR(b.data, table[k].py);
	}
	b.len = 0;
	pt2c__json_write_double(&b, INFINITY);
	pt2c__buf_putc(&b, ' ');
	pt2c__json_write_double(&b, -INFINITY);
	pt2c__buf_putc(&b, ' ');
	pt2c__json_write_double(&b, NAN);
	pt2c__buf_putc(&b, ' ');
	pt2c__json_write_int(&b, INT64_MIN);
	pt2c__buf_putc(&b, ' ');
	pt2c__json_write_int(&b, 0);
	pt2c__buf_putc(&b, ' ');
	pt2c__json_write_int(&b, INT64_MAX);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "\"Infinity\" \"-Infinity\" \"NaN\" -9223372036854775808 0 9223372036854775807");
	pt2c__buf_free(&b);
}

static void test_write_value(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	/* expected: json.dumps(json.loads(doc)) with the non-finite values as strings (PT2 rule) */
	const char *doc = "{ \"a\" :[ ],\"b\":{},\"c\":[1E2,-0,\"\\u00e9\\/\"],\"d\":{\"e\":[[null,true,false]]},\"f\":[NaN,-Infinity]}";
	REQUIRE(parse(doc, &v, PT2C_JSON_ALLOW_NONFINITE, 0, &err) == 0);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__json_write_value(&b, v);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "{\"a\": [], \"b\": {}, \"c\": [100.0, 0, \"\\u00e9/\"], \"d\": {\"e\": [[null, true, false]]}, "
	                  "\"f\": [\"NaN\", \"-Infinity\"]}");
	CHECK_EQ_INT(pt2c__json_strlen(pt2c__json_at(pt2c__json_get(v, "c"), 2)), 3);
	CHECK_EQ_INT(pt2c__json_strlen(pt2c__json_get(v, "a")), 0);
	CHECK_EQ_INT(pt2c__json_strlen(NULL), 0);
	pt2c__buf_free(&b);
	pt2c__arena_free(&A);
}

static void test_invalid(void)
{
	static const struct { const char *doc; uint64_t offset; } bad[] = {
		{ "", 0 },
		{ "   ", 3 },
		{ "[1,]", 3 },
		{ "{\"a\":1,}", 7 },
		{ "[1 2]", 3 },
		{ "{\"a\" 1}", 5 },
		{ "{1: 2}", 1 },
		{ "{'a': 1}", 1 },
		{ "[01]", 1 },
		{ "[-01]", 1 },
		{ "[1.]", 3 },
		{ "[.5]", 1 },
		{ "[1e]", 3 },
		{ "[1e+]", 4 },
		{ "[-]", 2 },
		{ "[+1]", 1 },
		{ "[0x10]", 2 },
		{ "[tru]", 1 },
		{ "[nul]", 1 },
		{ "[True]", 1 },
		{ "[\"a\nb\"]", 3 },
		{ "[\"a\tb\"]", 3 },
		{ "[\"\\x41\"]", 2 },
		{ "[\"\\u12G4\"]", 2 },
		{ "[\"\\ud800\"]", 2 },
		{ "[\"\\ud800\\u0041\"]", 2 },
		{ "[\"\\udc00\"]", 2 },
		{ "[\"x\\ud83d\"]", 3 },
		{ "[\"\xc0\x80\"]", 2 },         /* overlong NUL */
		{ "[\"\xe0\x80\xaf\"]", 2 },     /* overlong '/' */
		{ "[\"\xed\xa0\x80\"]", 2 },     /* UTF-8 encoded surrogate */
		{ "[\"\xf4\x90\x80\x80\"]", 2 }, /* above U+10FFFF */
		{ "[\"\x80\"]", 2 },             /* stray continuation */
		{ "[\"\xe2\x82\"]", 2 },         /* truncated sequence */
		{ "[\"\xff\"]", 2 },
		{ "\xef\xbb\xbf[]", 0 },         /* BOM */
		{ "[1] x", 4 },
		{ "[1]]", 3 },
		{ "{} {}", 3 },
		{ "[\"abc", 1 },
		{ "{\"a\":", 5 },
		{ "[1, 2", 5 },
		{ "[\x01]", 1 },
		{ "[NaN]", 1 },
	};
	pt2c__arena_init(&A, NULL);
	for (size_t k = 0; k < PT2C_ARRAY_LEN(bad); k++) {
		pt2c_json *v = (pt2c_json *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = parse(bad[k].doc, &v, 0, 0, &err);
		CHECK_MSG(rc == PT2C_ECORRUPT, "case %zu (%s): rc %d", k, bad[k].doc, rc);
		CHECK(v == NULL);
		CHECK_EQ_INT(err.code, PT2C_ECORRUPT);
		CHECK_MSG(err.offset == bad[k].offset, "case %zu (%s): offset %llu, expected %llu (%s)", k, bad[k].doc,
		          (unsigned long long)err.offset, (unsigned long long)bad[k].offset, err.message);
		CHECK_MSG(strstr(err.message, " at line 1 column ") != NULL, "case %zu: %s", k, err.message);
	}
	pt2c__arena_free(&A);
}

/* Two equal keys (Python's json keeps the last, a first-match lookup the first): refused with the
 * JSON pointer of the duplicate and its offset, in full and lazy parses alike; keys compare decoded. */
static void dup_case(const char *doc, const char *ptr, size_t at, bool lazy_too)
{
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(parse(doc, &v, 0, 0, &err), PT2C_ECORRUPT);
	CHECK_MSG(strstr(err.message, "duplicate key") && strstr(err.message, ptr), "%s: %s", doc, err.message);
	CHECK_STR(err.member, ptr);
	CHECK_EQ_INT(err.offset, at);
	if (!lazy_too) return;
	pt2c_json_lazy lz[] = { { "nodes", false }, { "m", true } };
	pt2c_error e2 = PT2C_ERROR_INIT;
	pt2c_json_opts o = { 0, 0 };
	CHECK_EQ_INT(pt2c__json_parse_lazy(&v, doc, strlen(doc), &o, lz, 2, &A, &e2), PT2C_ECORRUPT);
	CHECK_STR(e2.message, err.message);
	CHECK_STR(e2.member, ptr);
	CHECK_EQ_INT(e2.offset, at);
}

static void test_duplicate_keys(void)
{
	pt2c__arena_init(&A, NULL);
	dup_case("{\"a\": 1, \"a\": 2}", "/a", 9, true);
	dup_case("{\"x\": {\"b\": 1, \"c\": 2, \"b\": 3}}", "/x/b", 23, true);
	/* escapes are compared decoded: "\u0061" is "a" */
	dup_case("{\"a\": 1, \"\\u0061\": 2}", "/a", 9, true);
	/* inside lazy arrays and objects (never stored) */
	dup_case("{\"nodes\": [{\"k\": 1}, {\"t\": 0, \"t\": 1}]}", "/nodes/1/t", 30, true);
	dup_case("{\"m\": {\"p\": [], \"q/~\": {\"z\": 1, \"z\": 2}}}", "/m/q~1~0/z", 32, true);
	/* many keys (sorted check): the duplicate among 40 */
	char big[1024];
	size_t o = 0;
	o += (size_t)snprintf(big + o, sizeof big - o, "{");
	for (int i = 0; i < 40; i++) o += (size_t)snprintf(big + o, sizeof big - o, "%s\"k%d\": %d", i ? ", " : "", i, i);
	size_t at = o + 2;
	snprintf(big + o, sizeof big - o, ", \"k17\": 0}");
	dup_case(big, "/k17", at, true);
	/* many keys (hashed check), the duplicate spelled with an escape: "k\u0031\u0037" is "k17" */
	snprintf(big + o, sizeof big - o, ", \"k\\u0031\\u0037\": 0}");
	dup_case(big, "/k17", at, true);
	/* and the first of the two escaped, the second plain */
	o = 0;
	o += (size_t)snprintf(big + o, sizeof big - o, "{\"\\u006b3\": 0");
	for (int i = 0; i < 40; i++) o += (size_t)snprintf(big + o, sizeof big - o, ", \"j%d\": %d", i, i);
	at = o + 2;
	snprintf(big + o, sizeof big - o, ", \"k3\": 0}");
	dup_case(big, "/k3", at, true);
	/* not duplicates: different bytes, same key in sibling objects, a prefix */
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(parse("{\"a\": {\"k\": 1}, \"b\": {\"k\": 2}, \"ab\": 0, \"A\": 1, \"\\u00e9\": 1, \"\\u00e8\": 2}", &v, 0, 0, &err), 0);
	pt2c__arena_free(&A);
}

static void test_positions(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	const char *doc = "{\n  \"a\": [1,\n        tru]\n}";
	CHECK_EQ_INT(parse(doc, &v, 0, 0, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(err.offset, 21);
	CHECK_MSG(strstr(err.message, "line 3 column 9") != NULL, "%s", err.message);
	uint32_t line, col;
	pt2c__json_line_col(doc, strlen(doc), 0, &line, &col);
	CHECK(line == 1 && col == 1);
	pt2c__json_line_col(doc, strlen(doc), 2, &line, &col);
	CHECK(line == 2 && col == 1);
	pt2c__json_line_col(doc, strlen(doc), 1000, &line, &col);
	CHECK(line == 4 && col == 2);

	const char *ok = "{\n  \"k\": \"v\",\n  \"n\": [10]\n}";
	REQUIRE(parse(ok, &v, 0, 0, &err) == 0);
	CHECK_EQ_INT(pt2c__json_key(v, 0)->pos, 4);
	CHECK_EQ_INT(pt2c__json_get(v, "k")->pos, 9);
	CHECK_EQ_INT(pt2c__json_get(v, "n")->pos, 21);
	CHECK_EQ_INT(pt2c__json_at(pt2c__json_get(v, "n"), 0)->pos, 22);
	pt2c__arena_free(&A);
}

static void test_depth(void)
{
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	size_t deep = 100000;
	char *s = malloc(2 * deep + 1);
	REQUIRE(s);
	/* 512 levels pass with the default cap, 513 fail */
	for (size_t k = 0; k < 513; k++) { s[k] = '['; s[1026 - k - 1] = ']'; }
	s[1026] = 0;
	CHECK_EQ_INT(pt2c__json_parse(&v, s + 1, 1024, NULL, &A, &err), 0);
	CHECK_EQ_INT(pt2c__json_parse(&v, s, 1026, NULL, &A, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(err.offset, 512);
	CHECK_MSG(strstr(err.message, "nesting deeper than 512") != NULL, "%s", err.message);
	/* a custom cap, objects count too */
	CHECK_EQ_INT(parse("{\"a\": [{\"b\": 1}]}", &v, 0, 3, &err), 0);
	CHECK_EQ_INT(parse("{\"a\": [{\"b\": []}]}", &v, 0, 3, &err), PT2C_ECORRUPT);
	/* very deep input with a huge cap: no recursion, so no stack overflow */
	for (size_t k = 0; k < deep; k++) { s[k] = '['; s[2 * deep - k - 1] = ']'; }
	s[2 * deep] = 0;
	CHECK_EQ_INT(parse(s, &v, 0, UINT32_MAX, &err), 0);
	CHECK_EQ_INT(parse(s, &v, 0, 0, &err), PT2C_ECORRUPT);
	free(s);
	pt2c__arena_free(&A);
}

static void test_truncations(void)
{
	const char *doc = "{\"graph\": [{\"op\": \"call_function\", \"args\": [{\"node\": \"x\"}, -1.5e3, true, null,"
	                  " \"\\u00e9\\ud83d\\ude00\", \"\xc3\xa9\"], \"n\": 12}], \"z\": false}";
	size_t n = strlen(doc);
	pt2c__arena_init(&A, NULL);
	pt2c_json *v;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__json_parse(&v, doc, n, NULL, &A, &err) == 0);
	for (size_t k = 0; k < n; k++) {
		/* a heap copy of exactly k bytes so ASan catches any read past the end */
		char *cut = malloc(k ? k : 1);
		REQUIRE(cut);
		memcpy(cut, doc, k);
		int rc = pt2c__json_parse(&v, cut, k, NULL, &A, &err);
		CHECK_MSG(rc == PT2C_ECORRUPT, "prefix of %zu bytes: rc %d", k, rc);
		CHECK(err.offset <= k);
		free(cut);
	}
	pt2c__arena_free(&A);
}

/* The stored bytes of the archive member ending in `suffix`, found through the central directory. */
static const uint8_t *stored_member(const uint8_t *z, size_t n, const char *suffix, size_t *len)
{
	size_t sl = strlen(suffix);
	for (size_t k = 0; k + 46 <= n; k++) {
		if (memcmp(z + k, "PK\1\2", 4) != 0) continue;
		const uint8_t *c = z + k;
		uint32_t method = (uint32_t)(c[10] | c[11] << 8);
		uint32_t csize = (uint32_t)c[20] | (uint32_t)c[21] << 8 | (uint32_t)c[22] << 16 | (uint32_t)c[23] << 24;
		uint32_t nlen = (uint32_t)(c[28] | c[29] << 8);
		uint32_t lho = (uint32_t)c[42] | (uint32_t)c[43] << 8 | (uint32_t)c[44] << 16 | (uint32_t)c[45] << 24;
		if (k + 46 + nlen > n || nlen < sl || memcmp(c + 46 + nlen - sl, suffix, sl) != 0) continue;
		if (method != 0 || (size_t)lho + 30 > n) return NULL;
		const uint8_t *l = z + lho;
		size_t data = (size_t)lho + 30 + (uint32_t)(l[26] | l[27] << 8) + (uint32_t)(l[28] | l[29] << 8);
		if (data + csize > n) return NULL;
		*len = csize;
		return z + data;
	}
	return NULL;
}

static void test_fixture_model_json_rewrites_byte_exact(void)
{
	static const char *names[] = {
		"mlp_bn", "conv_block", "dyn_batch", "arange_const", "dtypes", "attn",
		"full_engine_folded.cross", "full_engine_two_outputs.normal", "hybrid_gated_fallback.cross",
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(names); k++) {
		char rel[128];
		snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", names[k]);
		size_t zn;
		uint8_t *z = read_file(shared_path(rel), &zn);
		REQUIRE(z);
		size_t jn = 0;
		const uint8_t *j = stored_member(z, zn, "models/model.json", &jn);
		CHECK_MSG(j != NULL, "%s: no stored model.json", names[k]);
		if (j) {
			pt2c__arena_init(&A, NULL);
			pt2c_json *v;
			pt2c_error err = PT2C_ERROR_INIT;
			int rc = pt2c__json_parse(&v, (const char *)j, jn, NULL, &A, &err);
			CHECK_MSG(rc == 0, "%s: %s", names[k], err.message);
			if (rc == 0) {
				CHECK(pt2c__json_is(pt2c__json_get(pt2c__json_get(v, "graph_module"), "graph"), PT2C_JSON_OBJECT));
				CHECK_EQ_INT(pt2c__json_get(pt2c__json_get(v, "schema_version"), "major")->u.i, 8);
				/* json.dumps output re-written by our writer is byte-identical */
				pt2c_buf b;
				pt2c__buf_init(&b, NULL);
				pt2c__json_write_value(&b, v);
				CHECK_EQ_INT(b.err, 0);
				CHECK_EQ_INT(b.len, jn);
				if (b.len == jn) CHECK_MSG(memcmp(b.data, j, jn) == 0, "%s: rewrite differs", names[k]);
				pt2c__buf_free(&b);
			}
			pt2c__arena_free(&A);
		}
		free(z);
	}
}

static void test_fixture_partitioned_json(void)
{
	static const struct { const char *rel; uint32_t nodes; } cases[] = {
		{ "fixtures/torch-2.11/full_engine_folded.partitioned.json", 5 },
		{ "fixtures/torch-2.11/full_engine_two_outputs.partitioned.json", 9 },
		{ "fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json", 5 },
		{ "fixtures/torch-2.11/no_engine.partitioned.json", 3 },
		{ "fixtures/partitioned/example_hybrid.partitioned.json", 5 },
		{ "fixtures/partitioned/example_hybrid_dynamic.partitioned.json", 5 },
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(cases); k++) {
		size_t n;
		uint8_t *d = read_file(shared_path(cases[k].rel), &n);
		REQUIRE(d);
		pt2c__arena_init(&A, NULL);
		pt2c_json *v;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__json_parse(&v, (const char *)d, n, NULL, &A, &err);
		CHECK_MSG(rc == 0, "%s: %s", cases[k].rel, err.message);
		if (rc == 0) {
			const pt2c_json *g = pt2c__json_get(v, "graph");
			CHECK_EQ_INT(g ? g->n : 0, cases[k].nodes);
			CHECK(pt2c__json_streq(pt2c__json_get(pt2c__json_at(g, 0), "op"), "placeholder"));
			CHECK(pt2c__json_streq(pt2c__json_get(pt2c__json_at(g, cases[k].nodes - 1), "op"), "output"));
			CHECK(pt2c__json_is(pt2c__json_get(v, "submodules"), PT2C_JSON_OBJECT));
		}
		pt2c__arena_free(&A);
		free(d);
	}
}

/*
 * Every allocation of a parse may fail, with PT2C_ENOMEM and nothing leaked -- also the table
 * that finds duplicate keys among more than 16 (the archive readers no longer validate their
 * large tables up front, so only a parse like this one reaches it in the allocation tests).
 */
static void test_allocation_failures(void)
{
	char doc[4096];
	size_t k = (size_t)snprintf(doc, sizeof doc, "{");
	for (int i = 0; i < 40; i++)
		k += (size_t)snprintf(doc + k, sizeof doc - k, "%s\"key_%d\": [%d, {\"x\": \"v\\u00e9\"}]", i ? ", " : "", i, i);
	snprintf(doc + k, sizeof doc - k, "}");
	test_alloc ta;
	test_alloc_init(&ta);
	long points = 0;
	for (long at = 0;; at++) {
		pt2c_arena arena;
		pt2c__arena_init(&arena, &ta.a);
		pt2c_json *v = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		test_alloc_arm(&ta, at);
		int rc = pt2c__json_parse(&v, doc, strlen(doc), NULL, &arena, &err);
		test_alloc_disarm(&ta);
		bool failed = ta.failed != 0;
		if (failed) {
			CHECK_MSG(rc == PT2C_ENOMEM, "allocation %ld: rc %d (%s)", at, rc, err.message);
			points++;
		} else {
			CHECK_EQ_INT(rc, 0);
			CHECK(pt2c__json_is(v, PT2C_JSON_OBJECT) && v->n == 40);
		}
		pt2c__arena_free(&arena);
		CHECK_EQ_INT(ta.live, 0);
		if (!failed)
			break;
	}
	CHECK(points >= 2); /* the arena's chunk and the duplicate-key table, at least */
}

PT2C_TEST_MAIN({
	RUN(test_valid_values);
	RUN(test_numbers);
	RUN(test_strings);
	RUN(test_write_str);
	RUN(test_write_numbers);
	RUN(test_write_value);
	RUN(test_invalid);
	RUN(test_duplicate_keys);
	RUN(test_positions);
	RUN(test_depth);
	RUN(test_truncations);
	RUN(test_fixture_model_json_rewrites_byte_exact);
	RUN(test_fixture_partitioned_json);
	RUN(test_allocation_failures);
})
