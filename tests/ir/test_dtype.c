/* test_dtype.c -- dtype tables, symbol names, tensor metadata helpers. */
#include <stdio.h>

#include "harness.h"
#include "ir/ir.h"

static void test_dtype_tables(void)
{
	/* PT2 schema numbering with torch's names and ExportedProgram short forms */
	static const struct { int code; const char *name, *short_name; size_t size; } T[] = {
		{ 1, "uint8", "u8", 1 },       { 2, "int8", "i8", 1 },           { 3, "int16", "i16", 2 },
		{ 4, "int32", "i32", 4 },      { 5, "int64", "i64", 8 },         { 6, "float16", "f16", 2 },
		{ 7, "float32", "f32", 4 },    { 8, "float64", "f64", 8 },       { 9, "complex32", "c32", 4 },
		{ 10, "complex64", "c64", 8 }, { 11, "complex128", "c128", 16 }, { 12, "bool", "b8", 1 },
		{ 13, "bfloat16", "bf16", 2 }, { 28, "uint16", "u16", 2 },       { 29, "float8_e4m3fn", "f8e4m3fn", 1 },
		{ 30, "float8_e5m2", "f8e5m2", 1 }, { 31, "float8_e4m3fnuz", "f8e4m3fnuz", 1 },
		{ 32, "float8_e5m2fnuz", "f8e5m2fnuz", 1 },
	};
	for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
		CHECK(pt2c__dtype_valid(T[i].code));
		CHECK_STR(pt2c__dtype_name(T[i].code), T[i].name);
		CHECK_STR(pt2c__dtype_short(T[i].code), T[i].short_name);
		CHECK_EQ_INT(pt2c__dtype_size(T[i].code), T[i].size);
		CHECK_EQ_INT(pt2c__dtype_from_name(T[i].name, strlen(T[i].name)), T[i].code);
		char torch_name[64];
		snprintf(torch_name, sizeof torch_name, "torch.%s", T[i].name);
		CHECK_EQ_INT(pt2c__dtype_from_name(torch_name, strlen(torch_name)), T[i].code);
	}
	/* unused codes and out of range */
	static const int64_t BAD[] = { 0, 14, 27, 33, -1, 255, INT64_MAX };
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
		CHECK(!pt2c__dtype_valid(BAD[i]));
	CHECK_EQ_INT(pt2c__dtype_size(14), 0);
	CHECK_STR(pt2c__dtype_name(20), "unknown");
	CHECK_EQ_INT(pt2c__dtype_from_name("float", 5), PT2C_DTYPE_FLOAT32);
	CHECK_EQ_INT(pt2c__dtype_from_name("torch.half", 10), PT2C_DTYPE_FLOAT16);
	CHECK_EQ_INT(pt2c__dtype_from_name("float33", 7), -1);
	CHECK_EQ_INT(pt2c__dtype_from_name("torch.", 6), -1);
	CHECK_EQ_INT(pt2c__dtype_from_name("", 0), -1);
}

static void test_symbol_name(void)
{
	size_t n = 99;
	const char *s = pt2c__sym_symbol_name("s77", &n);
	REQUIRE(s);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(s, "s77", 3) == 0);
	s = pt2c__sym_symbol_name("Symbol('s77', positive=True, integer=True)", &n);
	REQUIRE(s);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(s, "s77", 3) == 0);
	s = pt2c__sym_symbol_name("Symbol('u0')", &n);
	REQUIRE(s);
	CHECK_EQ_INT(n, 2);
	CHECK(pt2c__sym_symbol_name("2*s77", &n) == NULL);
	CHECK_EQ_INT(n, 0);
	CHECK(pt2c__sym_symbol_name("Mul(Integer(2), Symbol('s77', positive=True, integer=True))", &n) == NULL);
	CHECK(pt2c__sym_symbol_name("Symbol('s77', positive=True) + 1", &n) == NULL);
	CHECK(pt2c__sym_symbol_name("Symbol('s 7')", &n) == NULL);
	CHECK(pt2c__sym_symbol_name("", &n) == NULL);
	CHECK(pt2c__sym_symbol_name("7", &n) == NULL);
	CHECK(pt2c__sym_symbol_name(NULL, &n) == NULL);
}

static void test_meta(void)
{
	pt2c_ctx *ctx;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_sym sizes[3] = { pt2c__sym_int(2), pt2c__sym_int(3), pt2c__sym_int(4) };
	pt2c_tensor_meta m;
	memset(&m, 0, sizeof m);
	m.dtype = PT2C_DTYPE_FLOAT32;
	m.layout = PT2C_LAYOUT_STRIDED;
	m.ndim = 3;
	m.sizes = sizes;
	m.storage_offset = pt2c__sym_int(0);
	REQUIRE(pt2c__meta_contiguous_strides(ctx, &m) == 0);
	CHECK_EQ_INT(m.strides[0].i, 12);
	CHECK_EQ_INT(m.strides[1].i, 4);
	CHECK_EQ_INT(m.strides[2].i, 1);
	uint64_t bytes = 0;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__meta_storage_bytes(&m, &bytes, &err) == 0);
	CHECK_EQ_INT(bytes, 96);
	/* a transposed view with an offset: (5 + 1 + 1*1 + 2*3) elements of 4 bytes */
	pt2c_sym st[2] = { pt2c__sym_int(1), pt2c__sym_int(3) };
	pt2c_sym sz[2] = { pt2c__sym_int(2), pt2c__sym_int(3) };
	pt2c_tensor_meta v = m;
	v.ndim = 2;
	v.sizes = sz;
	v.strides = st;
	v.storage_offset = pt2c__sym_int(5);
	REQUIRE(pt2c__meta_storage_bytes(&v, &bytes, &err) == 0);
	CHECK_EQ_INT(bytes, 52);
	/* 0-d: one element */
	v.ndim = 0;
	v.storage_offset = pt2c__sym_int(0);
	REQUIRE(pt2c__meta_storage_bytes(&v, &bytes, &err) == 0);
	CHECK_EQ_INT(bytes, 4);
	/* empty */
	v.ndim = 2;
	sz[0] = pt2c__sym_int(0);
	REQUIRE(pt2c__meta_storage_bytes(&v, &bytes, &err) == 0);
	CHECK_EQ_INT(bytes, 0);
	/* overflow and negatives are corrupt */
	sz[0] = pt2c__sym_int(INT64_MAX);
	st[0] = pt2c__sym_int(INT64_MAX);
	CHECK_EQ_INT(pt2c__meta_storage_bytes(&v, &bytes, &err), PT2C_ECORRUPT);
	st[0] = pt2c__sym_int(-1);
	sz[0] = pt2c__sym_int(2);
	CHECK_EQ_INT(pt2c__meta_storage_bytes(&v, &bytes, &err), PT2C_ECORRUPT);
	/* symbolic sizes */
	pt2c_sym dyn[2] = { { PT2C_SYM_EXPR, PT2C_HINT_INT, 5, 0.0, "s77" }, pt2c__sym_int(3) };
	pt2c_tensor_meta d = m;
	d.ndim = 2;
	d.sizes = dyn;
	d.strides = st;
	CHECK_EQ_INT(pt2c__meta_storage_bytes(&d, &bytes, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(pt2c__meta_contiguous_strides(ctx, &d), PT2C_EUNSUPPORTED);
	/* copy and equality */
	pt2c_tensor_meta c;
	REQUIRE(pt2c__meta_copy(ctx, &c, &m) == 0);
	CHECK(c.sizes != m.sizes);
	CHECK(pt2c__meta_equal(&c, &m));
	c.sizes[1] = pt2c__sym_int(5);
	CHECK(!pt2c__meta_equal(&c, &m));
	CHECK_EQ_INT(sizes[1].i, 3);
	/* printing */
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__meta_print(&b, &d);
	pt2c__buf_puts(&b, " ");
	dyn[0].expr = "Symbol('s27', positive=True, integer=True)";
	d.dtype = PT2C_DTYPE_BFLOAT16;
	pt2c__meta_print(&b, &d);
	pt2c__buf_puts(&b, " ");
	dyn[0].expr = "Mul(Integer(2), Symbol('s27', positive=True, integer=True))";
	pt2c__meta_print(&b, &d);
	pt2c__buf_puts(&b, " ");
	dyn[0].expr = "Add(Integer(-1), Symbol('s27', positive=True, integer=True))";
	pt2c__meta_print(&b, &d);
	pt2c__buf_puts(&b, " ");
	v.ndim = 0;
	v.dtype = PT2C_DTYPE_INT64;
	pt2c__meta_print(&b, &v);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "f32[s77, 3] bf16[s27, 3] bf16[2*s27, 3] bf16[s27 - 1, 3] i64[]");
	pt2c__buf_free(&b);
	pt2c__ctx_unref(ctx);
}

/* The expression parser's memory failing: the buffer fails (it printed the srepr text instead). */
static void test_expr_print_oom(void)
{
	pt2c_sym s = { PT2C_SYM_EXPR, PT2C_HINT_NONE, 0, 0.0, "Mul(Integer(2), Symbol('s0', positive=True, integer=True))" };
	pt2c_tensor_meta m;
	memset(&m, 0, sizeof m);
	m.dtype = PT2C_DTYPE_INT64;
	m.ndim = 1;
	m.sizes = &s;
	test_alloc ta;
	test_alloc_init(&ta);
	long k = 0;
	for (;; k++) {
		pt2c_buf b;
		pt2c__buf_init(&b, &ta.a);
		test_alloc_arm(&ta, k);
		pt2c__meta_print(&b, &m);
		pt2c__buf_cstr(&b);
		test_alloc_disarm(&ta);
		if (!ta.failed) {
			CHECK(b.err == 0 && b.data && strcmp(b.data, "i64[2*s0]") == 0);
			pt2c__buf_free(&b);
			break;
		}
		CHECK_MSG(b.err == PT2C_ENOMEM, "failing allocation %ld: buffer error %d", k, b.err);
		pt2c__buf_free(&b);
	}
	CHECK(k >= 2); /* the buffer and the parser */
	CHECK_EQ_INT(ta.live, 0);
}

/* sympy 1.14: srepr(e) and str(e) for expressions of the kind torch puts in shapes. */
static void test_expr_print(void)
{
	static const struct { const char *srepr, *str; } T[] = {
		{ "Symbol('s0', positive=True, integer=True)",
		  "s0" },
		{ "Mul(Integer(2), Symbol('s0', positive=True, integer=True))",
		  "2*s0" },
		{ "Add(Symbol('s0', positive=True, integer=True), Integer(1))",
		  "s0 + 1" },
		{ "Add(Symbol('s0', positive=True, integer=True), Integer(-1))",
		  "s0 - 1" },
		{ "Add(Mul(Integer(2), Symbol('s0', positive=True, integer=True)), Integer(3))",
		  "2*s0 + 3" },
		{ "Mul(Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True))",
		  "s0*s1" },
		{ "Add(Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True))",
		  "s0 + s1" },
		{ "Add(Mul(Integer(2), Symbol('s0', positive=True, integer=True)), Integer(-2))",
		  "2*s0 - 2" },
		{ "Add(Integer(5), Mul(Integer(-1), Symbol('s0', positive=True, integer=True)))",
		  "5 - s0" },
		{ "Pow(Symbol('s0', positive=True, integer=True), Integer(2))",
		  "s0**2" },
		{ "Add(Mul(Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True)), Integer(1))",
		  "s0*s1 + 1" },
		{ "Mul(Integer(3), Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True))",
		  "3*s0*s1" },
		{ "Add(Pow(Symbol('s0', positive=True, integer=True), Integer(2)), Mul(Integer(2), Symbol('s0', positive=True, integer=True)), Integer(1))",
		  "s0**2 + 2*s0 + 1" },
		{ "Max(Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True))",
		  "Max(s0, s1)" },
		{ "Mod(Symbol('s0', positive=True, integer=True), Integer(2))",
		  "Mod(s0, 2)" },
		{ "Mul(Symbol('s0', positive=True, integer=True), Add(Symbol('s1', positive=True, integer=True), Integer(1)))",
		  "s0*(s1 + 1)" },
		{ "Add(Integer(1), Mul(Integer(-1), Integer(2), Symbol('s0', positive=True, integer=True)))",
		  "1 - 2*s0" },
		{ "Add(Symbol('s0', positive=True, integer=True), Mul(Integer(-1), Symbol('s1', positive=True, integer=True)))",
		  "s0 - s1" },
		{ "Add(Integer(4), Mul(Integer(-1), Symbol('s0', positive=True, integer=True)))",
		  "4 - s0" },
		{ "Add(Symbol('s0', positive=True, integer=True), Symbol('u0', integer=True), Integer(-1))",
		  "s0 + u0 - 1" },
		{ "Add(Mul(Integer(-1), Symbol('s0', positive=True, integer=True)), Integer(-1))",
		  "-s0 - 1" },
		{ "Add(Mul(Integer(-1), Symbol('s0', positive=True, integer=True)), Symbol('s1', positive=True, integer=True))",
		  "-s0 + s1" },
		{ "Add(Integer(3), Mul(Integer(-1), Pow(Symbol('s0', positive=True, integer=True), Integer(2))))",
		  "3 - s0**2" },
		{ "Add(Pow(Symbol('s0', positive=True, integer=True), Integer(2)), Mul(Integer(-1), Symbol('s0', positive=True, integer=True)))",
		  "s0**2 - s0" },
		{ "Add(Mul(Integer(-1), Pow(Symbol('s0', positive=True, integer=True), Integer(2))), Symbol('s0', positive=True, integer=True))",
		  "-s0**2 + s0" },
		{ "Add(Mul(Integer(-1), Integer(2), Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True)), Symbol('s0', positive=True, integer=True), Integer(1))",
		  "-2*s0*s1 + s0 + 1" },
		{ "Mul(Integer(64), Symbol('s0', positive=True, integer=True))",
		  "64*s0" },
		{ "Mul(Symbol('s0', positive=True, integer=True), Symbol('s1', positive=True, integer=True), Symbol('u0', integer=True))",
		  "s0*s1*u0" },
		{ "Pow(Add(Symbol('s0', positive=True, integer=True), Integer(1)), Integer(2))",
		  "(s0 + 1)**2" },
		{ "Mul(Symbol('s1', positive=True, integer=True), Add(Mul(Integer(2), Symbol('s0', positive=True, integer=True)), Integer(2)))",
		  "s1*(2*s0 + 2)" },
	};
	for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
		pt2c_sym s = { PT2C_SYM_EXPR, PT2C_HINT_NONE, 0, 0.0, T[i].srepr };
		pt2c_tensor_meta m;
		memset(&m, 0, sizeof m);
		m.dtype = PT2C_DTYPE_INT64;
		m.ndim = 1;
		m.sizes = &s;
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__meta_print(&b, &m);
		pt2c__buf_cstr(&b);
		char want[256];
		snprintf(want, sizeof want, "i64[%s]", T[i].str);
		CHECK_STR(b.data, want);
		pt2c__buf_free(&b);
	}
	/* what cannot be parsed is shown as written */
	pt2c_sym s = { PT2C_SYM_EXPR, PT2C_HINT_NONE, 0, 0.0, "Mul(Integer(2), " };
	pt2c_tensor_meta m;
	memset(&m, 0, sizeof m);
	m.dtype = PT2C_DTYPE_INT64;
	m.ndim = 1;
	m.sizes = &s;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__meta_print(&b, &m);
	pt2c__buf_cstr(&b);
	CHECK_STR(b.data, "i64[Mul(Integer(2), ]");
	pt2c__buf_free(&b);
}

PT2C_TEST_MAIN({
	RUN(test_dtype_tables);
	RUN(test_symbol_name);
	RUN(test_meta);
	RUN(test_expr_print);
	RUN(test_expr_print_oom);
})
