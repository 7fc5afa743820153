/*
 * The pickle VM: values and sharing of hand-assembled pickles (byte layouts from Python's
 * pickletools), the real data.pkl of a fixture engine blob, and malformed input (every
 * truncation, bad opcodes, huge lengths, deep MARK nesting, memo misuse, random flips).
 */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "serde/pickle.h"

/* MARK: a little pickle assembler */

static void op(pt2c_buf *b, uint8_t o) { pt2c__buf_u8(b, o); }
static void ustr(pt2c_buf *b, const char *s)
{
	op(b, 'X');
	pt2c__buf_u32le(b, (uint32_t)strlen(s));
	pt2c__buf_puts(b, s);
}
static void binint1(pt2c_buf *b, uint8_t v) { op(b, 'K'); op(b, v); }

static int parse(pt2c_buf *b, pt2c_py **out, pt2c_arena *a, pt2c_error *err)
{
	return pt2c__pickle_parse(out, (const uint8_t *)b->data, b->len, a, err);
}

static const pt2c_py *dict_get(const pt2c_py *d, const char *key)
{
	if (!d || d->type != PT2C_PY_DICT)
		return NULL;
	for (uint32_t i = 0; i < d->n; i++) {
		const pt2c_py *k = d->items[2 * i];
		if (k->type == PT2C_PY_STR && k->n == strlen(key) && memcmp(k->s, key, k->n) == 0)
			return d->items[2 * i + 1];
	}
	return NULL;
}

/* A pickle touching most opcodes; see test_values for what it holds. */
static void build_sample(pt2c_buf *b)
{
	op(b, 0x80); op(b, 2);                          /* PROTO 2 */
	op(b, '}');                                    /* EMPTY_DICT */
	op(b, 'q'); op(b, 0);
	op(b, '(');                                    /* MARK */
	op(b, 0x8c); op(b, 1); pt2c__buf_puts(b, "a"); /* SHORT_BINUNICODE 'a' */
	binint1(b, 200);
	ustr(b, "b"); op(b, 'M'); pt2c__buf_u16le(b, 0xBEEF);
	ustr(b, "c"); op(b, 'J'); pt2c__buf_u32le(b, (uint32_t)-7);
	ustr(b, "d"); op(b, 0x8a); op(b, 8); pt2c__buf_u64le(b, (uint64_t)INT64_MIN);
	ustr(b, "e"); op(b, 0x8a); op(b, 2); op(b, 0x00); op(b, 0xff); /* LONG1 -256 */
	ustr(b, "f"); op(b, 'G');                       /* BINFLOAT 1.5, big-endian */
	static const uint8_t one5[8] = { 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 };
	pt2c__buf_put(b, one5, 8);
	ustr(b, "g"); op(b, 0x88);
	ustr(b, "h"); op(b, 'N');
	ustr(b, "i"); op(b, 'C'); op(b, 3); pt2c__buf_put(b, "\x00\x01\x02", 3);
	ustr(b, "l"); op(b, ']'); op(b, 'q'); op(b, 1); /* EMPTY_LIST, BINPUT 1 */
	op(b, '('); binint1(b, 1); binint1(b, 2); op(b, 'e'); /* APPENDS */
	ustr(b, "l2"); op(b, 'h'); op(b, 1);           /* BINGET 1: the same list */
	ustr(b, "t"); binint1(b, 1); binint1(b, 2); binint1(b, 3); op(b, 0x87); /* TUPLE3 */
	ustr(b, "g2"); op(b, 0x8c); op(b, 5); pt2c__buf_puts(b, "torch"); op(b, 0x8c); op(b, 9);
	pt2c__buf_puts(b, "FloatType"); op(b, 0x93);   /* STACK_GLOBAL */
	op(b, 'u');                                    /* SETITEMS */
	op(b, 'h'); op(b, 1); binint1(b, 3); op(b, 'a'); op(b, '0'); /* list.append(3) via the memo, POP */
	op(b, '.');
}

static void test_values(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	build_sample(&b);
	REQUIRE(!b.err);
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_py *o = NULL;
	REQUIRE(parse(&b, &o, &a, &err) == 0);
	REQUIRE(o && o->type == PT2C_PY_DICT);
	CHECK_EQ_INT(o->n, 13);
	const pt2c_py *v;
	CHECK((v = dict_get(o, "a")) && v->type == PT2C_PY_INT && v->i == 200);
	CHECK((v = dict_get(o, "b")) && v->type == PT2C_PY_INT && v->i == 0xBEEF);
	CHECK((v = dict_get(o, "c")) && v->type == PT2C_PY_INT && v->i == -7);
	CHECK((v = dict_get(o, "d")) && v->type == PT2C_PY_INT && v->i == INT64_MIN);
	CHECK((v = dict_get(o, "e")) && v->type == PT2C_PY_INT && v->i == -256);
	CHECK((v = dict_get(o, "f")) && v->type == PT2C_PY_FLOAT && v->f == 1.5);
	CHECK((v = dict_get(o, "g")) && v->type == PT2C_PY_BOOL && v->i == 1);
	CHECK((v = dict_get(o, "h")) && v->type == PT2C_PY_NONE);
	CHECK((v = dict_get(o, "i")) && v->type == PT2C_PY_BYTES && v->n == 3 && memcmp(v->s, "\x00\x01\x02", 3) == 0);
	const pt2c_py *l = dict_get(o, "l");
	CHECK(l && l->type == PT2C_PY_LIST && l->n == 3 && l->items[2]->i == 3); /* APPEND after STOP's dict was built */
	CHECK(dict_get(o, "l2") == l);
	CHECK((v = dict_get(o, "t")) && v->type == PT2C_PY_TUPLE && v->n == 3 && v->items[2]->i == 3);
	CHECK((v = dict_get(o, "g2")) && v->type == PT2C_PY_GLOBAL && strcmp(v->s, "torch") == 0 &&
	      strcmp(v->s2, "FloatType") == 0);
	/* string views point into the input */
	v = o->items[0];
	CHECK(v->s >= b.data && v->s < b.data + b.len);
	pt2c__arena_free(&a);
	pt2c__buf_free(&b);
}

/* The less common opcodes: 8-byte lengths, protocol-0/1 strings, DICT/LIST from a MARK, DUP, POP_MARK. */
static void test_more_opcodes(void)
{
	static const uint8_t p[] = {
		0x80, 2, '(',
		0x8d, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c',      /* BINUNICODE8 'abc' */
		0x8e, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2,                /* BINBYTES8 */
		'U', 2, 'h', 'i',                                  /* SHORT_BINSTRING */
		'T', 1, 0, 0, 0, 'x',                              /* BINSTRING */
		'(', 'N', 'N', '1',                                /* MARK, 2 items, POP_MARK */
		'(', 'K', 1, 'K', 2, 'd',                          /* DICT {1: 2} */
		'(', 'K', 7, '2', 'l',                             /* LIST [7, 7] via DUP */
		'B', 1, 0, 0, 0, 'z',                              /* BINBYTES */
		0x89,                                              /* NEWFALSE */
		't', '.',
	};
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_py *o = NULL;
	int rc = pt2c__pickle_parse(&o, p, sizeof p, &a, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	REQUIRE(o && o->type == PT2C_PY_TUPLE);
	CHECK_EQ_INT(o->n, 8);
	if (o->n == 8) {
		CHECK(o->items[0]->type == PT2C_PY_STR && o->items[0]->n == 3 && o->items[0]->i == 3 &&
		      memcmp(o->items[0]->s, "abc", 3) == 0);
		CHECK(o->items[1]->type == PT2C_PY_BYTES && o->items[1]->n == 2 && o->items[1]->s[1] == 2);
		CHECK(o->items[2]->type == PT2C_PY_STR && o->items[2]->n == 2);
		CHECK(o->items[3]->type == PT2C_PY_STR && o->items[3]->n == 1 && o->items[3]->s[0] == 'x');
		CHECK(o->items[4]->type == PT2C_PY_DICT && o->items[4]->n == 1 && o->items[4]->items[1]->i == 2);
		CHECK(o->items[5]->type == PT2C_PY_LIST && o->items[5]->n == 2 && o->items[5]->items[0] == o->items[5]->items[1]);
		CHECK(o->items[6]->type == PT2C_PY_BYTES && o->items[6]->n == 1);
		CHECK(o->items[7]->type == PT2C_PY_BOOL && o->items[7]->i == 0);
		CHECK_EQ_INT(o->items[4]->pos, 45); /* the offset of its DICT opcode */
	}
	pt2c__arena_free(&a);
}

/* Lists and dicts keep growing past their first arena block (and stay shared through the memo). */
static void test_growth(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	op(&b, 0x80); op(&b, 2);
	op(&b, ']'); op(&b, 'q'); op(&b, 0);
	for (int i = 0; i < 1000; i++) {
		op(&b, 'h'); op(&b, 0);
		op(&b, 'J'); pt2c__buf_u32le(&b, (uint32_t)i);
		op(&b, 'a'); op(&b, '0');
	}
	op(&b, 'h'); op(&b, 0);
	op(&b, '.');
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_py *o = NULL;
	REQUIRE(parse(&b, &o, &a, &err) == 0);
	REQUIRE(o->type == PT2C_PY_LIST);
	CHECK_EQ_INT(o->n, 1000);
	bool ok = true;
	for (uint32_t i = 0; i < o->n; i++)
		ok = ok && o->items[i]->i == (int64_t)i;
	CHECK(ok);
	pt2c__arena_free(&a);
	pt2c__buf_free(&b);
}

static void expect_fail(const void *p, size_t n, int code, const char *msg_part)
{
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_py *o = (pt2c_py *)1;
	int rc = pt2c__pickle_parse(&o, p, n, &a, &err);
	CHECK_MSG(rc == code, "rc %d, expected %d (%s)", rc, code, err.message);
	CHECK(code ? o == NULL : o != NULL);
	if (msg_part)
		CHECK_MSG(strstr(err.message, msg_part) != NULL, "message \"%s\" lacks \"%s\"", err.message, msg_part);
	pt2c__arena_free(&a);
}

static void test_truncations(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	build_sample(&b);
	for (size_t cut = 0; cut < b.len; cut++)
		expect_fail(b.data, cut, PT2C_ECORRUPT, NULL);
	pt2c__buf_free(&b);
}

static void test_malformed(void)
{
	expect_fail("\x80\x02\xff.", 4, PT2C_ECORRUPT, "0xff");
	expect_fail("\x80\x02I01\n.", 7, PT2C_EUNSUPPORTED, "INT is not supported");
	expect_fail("\x80\x02X\xff\xff\xff\xff" "abcdefghijkl.", 20, PT2C_ECORRUPT,
	            "BINUNICODE length 4294967295 exceeds the 13 bytes left");
	expect_fail("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", 12, PT2C_ECORRUPT, "BINUNICODE8 length");
	expect_fail("\x80\x02\x8e\x00\x00\x00\x00\x00\x00\x00\x80.", 12, PT2C_ECORRUPT, "BINBYTES8 length");
	expect_fail("\x80\x02T\xff\xff\xff\xff.", 8, PT2C_ECORRUPT, "BINSTRING negative length");
	expect_fail("\x80\x02h\x05.", 4, PT2C_ECORRUPT, "BINGET memo index 5");
	expect_fail("\x80\x02Nr\xff\xff\xff\xff.", 8, PT2C_ECORRUPT, "LONG_BINPUT memo index");
	expect_fail("\x80\x02Nj\x00\x00\x00\x01.", 8, PT2C_ECORRUPT, "LONG_BINGET");
	expect_fail("\x80\x02N\x86.", 5, PT2C_ECORRUPT, "TUPLE2 needs 2");
	expect_fail("\x80\x02]Ne.", 6, PT2C_ECORRUPT, "APPENDS without a MARK");
	expect_fail("\x80\x02}(Nu.", 7, PT2C_ECORRUPT, "odd number");
	expect_fail("\x80\x02(N.", 5, 0, NULL); /* an open MARK at STOP is fine, as in CPython */
	expect_fail("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.", 14, PT2C_EUNSUPPORTED, "LONG1");
	expect_fail("\x80\x02N", 3, PT2C_ECORRUPT, "without STOP");
	expect_fail("\x80\x02.", 3, PT2C_ECORRUPT, "empty stack");
	expect_fail("\x80\x09N.", 4, PT2C_EUNSUPPORTED, "protocol 9");
	expect_fail("\x80\x02" "ctorch\nFloat", 14, PT2C_ECORRUPT, "GLOBAL name has no newline");
	expect_fail("\x80\x02NNR.", 6, PT2C_ECORRUPT, "REDUCE arguments are not a tuple");
	expect_fail("\x80\x02NNa.", 6, PT2C_EUNSUPPORTED, "APPEND on an object that is not a list");
	expect_fail("\x80\x02(N(N0NN\x86t.", 12, 0, NULL);
	expect_fail("\x80\x02(N1\x85.", 7, PT2C_ECORRUPT, "TUPLE1 needs 1"); /* POP_MARK leaves nothing */
	expect_fail("\x80\x02N(\x85.", 6, PT2C_ECORRUPT, "TUPLE1 needs 1");  /* items below a MARK are out of reach */
	expect_fail("", 0, PT2C_ECORRUPT, "without STOP");

	/* deep MARK nesting is capped, not recursed */
	size_t n = 200000;
	uint8_t *deep = malloc(n + 3);
	deep[0] = 0x80;
	deep[1] = 2;
	memset(deep + 2, '(', n);
	deep[n + 2] = '.';
	expect_fail(deep, n + 3, PT2C_ECORRUPT, "MARK nests deeper");
	free(deep);
}

/* Random byte flips of a valid pickle never crash (run under ASan/UBSan in CI). */
static void test_random_flips(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	build_sample(&b);
	uint8_t *copy = malloc(b.len);
	uint32_t seed = 7;
	int ok = 0;
	for (int it = 0; it < 20000; it++) {
		memcpy(copy, b.data, b.len);
		for (int k = 0; k < 1 + it % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % b.len;
			seed = seed * 1103515245u + 12345u;
			copy[at] = (uint8_t)(seed >> 16);
		}
		pt2c_arena a;
		pt2c__arena_init(&a, NULL);
		pt2c_py *o = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__pickle_parse(&o, copy, b.len, &a, &err);
		CHECK((rc == 0) == (o != NULL));
		if (rc)
			CHECK(err.code == rc && err.message[0] && err.offset <= b.len);
		ok += rc == 0;
		pt2c__arena_free(&a);
	}
	CHECK(ok > 0);
	free(copy);
	pt2c__buf_free(&b);
}

/* The data.pkl that PyTorch wrote for an engine custom object parses to BUILD(NEWOBJ(...), tagged list). */
static void test_fixture_engine_pickle(void)
{
	size_t len = 0;
	uint8_t *file = read_file(shared_path("fixtures/torch-2.11/full_engine_folded.normal.pt2"), &len);
	REQUIRE(file);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip z, inner;
	REQUIRE(pt2c__zip_parse(&z, file, len, NULL, NULL, &err) == 0);
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(&z, "data/constants/custom_obj_0");
	REQUIRE(e);
	REQUIRE(pt2c__zip_parse(&inner, pt2c__zip_data(&z, e), e->size, NULL, NULL, &err) == 0);
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_py *o = NULL;
	REQUIRE(pt2c__pickle_parse_data_pkl(&o, &inner, &a, &err) == 0);
	CHECK(o->type == PT2C_PY_BUILD);
	CHECK(o->items[0]->type == PT2C_PY_NEWOBJ);
	CHECK(pt2c__py_is_global(o->items[0]->items[0], "__torch__.torch.classes.tensorrt", "Engine"));
	const pt2c_py *st = o->items[1];
	CHECK(st->type == PT2C_PY_REDUCE && pt2c__py_is_global(st->items[0], "torch.jit._pickle", "restore_type_tag"));
	const pt2c_py *args = st->items[1];
	REQUIRE(args->type == PT2C_PY_TUPLE && args->n == 2);
	CHECK(args->items[0]->type == PT2C_PY_LIST && args->items[0]->n == 9);
	CHECK(args->items[1]->type == PT2C_PY_STR && args->items[1]->n == 9 && memcmp(args->items[1]->s, "List[str]", 9) == 0);
	/* offsets of nodes are opcode offsets: the tagged list is REDUCE at 9331 (pickletools.dis) */
	CHECK_EQ_INT(st->pos, 9331);
	const pt2c_py *bind = args->items[0]->items[5];
	CHECK(bind->n == 17 && memcmp(bind->s, "output_0%output_1", 17) == 0);
	pt2c__arena_free(&a);
	pt2c__zip_free(&inner);
	pt2c__zip_free(&z);
	free(file);
}

/* Pickles written by CPython (protocol 2 and 4: FRAME, MEMOIZE, STACK_GLOBAL) from the fuzz corpus. */
static uint8_t *read_corpus(const char *name, size_t *len)
{
	const char *src = getenv("PT2C_SOURCE");
	char path[1024];
	snprintf(path, sizeof path, "%s/fuzzers/corpora/pickle/%s", src ? src : "..", name);
	return read_file(path, len);
}

static void test_cpython_pickles(void)
{
	size_t len = 0;
	uint8_t *d = read_corpus("ordered_p4.pkl", &len);
	REQUIRE(d);
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_py *o = NULL;
	CHECK_EQ_INT(pt2c__pickle_parse(&o, d, len, &a, &err), 0);
	/* OrderedDict() REDUCE + SETITEMS is read as a dict */
	REQUIRE(o && o->type == PT2C_PY_DICT && o->n == 2);
	const pt2c_py *v = dict_get(o, "a");
	CHECK(v && v->type == PT2C_PY_LIST && v->n == 2 && v->items[1]->i == 2);
	v = dict_get(o, "b");
	CHECK(v && v->type == PT2C_PY_DICT && v->n == 1 && dict_get(v, "x") && dict_get(v, "x")->i == 1);
	free(d);

	d = read_corpus("dict_p2.pkl", &len);
	REQUIRE(d);
	o = NULL;
	CHECK_EQ_INT(pt2c__pickle_parse(&o, d, len, &a, &err), 0);
	REQUIRE(o && o->type == PT2C_PY_DICT && o->n == 7);
	CHECK((v = dict_get(o, "f")) && v->type == PT2C_PY_INT && v->i == -(INT64_C(1) << 40));
	CHECK((v = dict_get(o, "g")) && v->type == PT2C_PY_STR && v->n == 300);
	v = dict_get(o, "b");
	CHECK(v && v->n == 3 && v->items[2]->type == PT2C_PY_TUPLE && v->items[2]->items[1]->f == 4.5);
	v = dict_get(o, "c"); /* bytes in protocol 2: _codecs.encode('xy', 'latin1') */
	CHECK(v && v->type == PT2C_PY_REDUCE && pt2c__py_is_global(v->items[0], "_codecs", "encode"));
	free(d);
	pt2c__arena_free(&a);
}

PT2C_TEST_MAIN({
	RUN(test_cpython_pickles);
	RUN(test_values);
	RUN(test_more_opcodes);
	RUN(test_growth);
	RUN(test_truncations);
	RUN(test_malformed);
	RUN(test_random_flips);
	RUN(test_fixture_engine_pickle);
})
