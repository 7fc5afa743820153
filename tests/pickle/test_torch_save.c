/*
 * torch.save state dicts: a hand-built archive laid out as pt2-format.md §6 describes (OrderedDict
 * of _rebuild_parameter / _rebuild_tensor_v2 / _rebuild_tensor_v3 over persistent-id storages),
 * and the TorchScript archives that stand in for engines in the partitioned fixtures.
 */
#include <stdlib.h>

#include "harness.h"
#include "serde/pickle.h"

static void op(pt2c_buf *b, uint8_t o) { pt2c__buf_u8(b, o); }
static void ustr(pt2c_buf *b, const char *s)
{
	op(b, 'X');
	pt2c__buf_u32le(b, (uint32_t)strlen(s));
	pt2c__buf_puts(b, s);
}
static void glob(pt2c_buf *b, const char *m, const char *n)
{
	op(b, 'c');
	pt2c__buf_printf(b, "%s\n%s\n", m, n);
}
static void binint1(pt2c_buf *b, uint8_t v) { op(b, 'K'); op(b, v); }
static void ordered_dict(pt2c_buf *b) { glob(b, "collections", "OrderedDict"); op(b, ')'); op(b, 'R'); }

/* ('storage', torch.<cls>, key, loc, numel) BINPERSID; memo slot `put` keeps it for reuse. */
static void storage(pt2c_buf *b, const char *cls, const char *key, const char *loc, uint8_t numel, uint8_t put)
{
	op(b, '(');
	ustr(b, "storage");
	glob(b, "torch", cls);
	ustr(b, key);
	ustr(b, loc);
	binint1(b, numel);
	op(b, 't');
	op(b, 'Q');
	op(b, 'q');
	op(b, put);
}

/* _rebuild_tensor_v2(<storage already pushed>, off, sizes, strides, False, OrderedDict()) */
static void rebuild_tail(pt2c_buf *b, uint8_t off, const uint8_t *sizes, const uint8_t *strides, int nd)
{
	binint1(b, off);
	op(b, '(');
	for (int i = 0; i < nd; i++)
		binint1(b, sizes[i]);
	op(b, 't');
	op(b, '(');
	for (int i = 0; i < nd; i++)
		binint1(b, strides[i]);
	op(b, 't');
	op(b, 0x89);
	ordered_dict(b);
}

static void build_state_dict_pickle(pt2c_buf *b)
{
	static const uint8_t s23[] = { 2, 3 }, st23[] = { 3, 1 }, s3[] = { 3 }, st1[] = { 1 }, s6[] = { 6 }, s4[] = { 4 };
	op(b, 0x80); op(b, 2);
	ordered_dict(b);
	op(b, 'q'); op(b, 0);
	op(b, '(');
	/* "w": Parameter(float32 [2,3]) over data/0 */
	ustr(b, "w");
	glob(b, "torch._utils", "_rebuild_parameter");
	op(b, '(');
	glob(b, "torch._utils", "_rebuild_tensor_v2");
	op(b, 'q'); op(b, 1);
	op(b, '(');
	storage(b, "FloatStorage", "0", "cpu", 6, 2);
	rebuild_tail(b, 0, s23, st23, 2);
	op(b, 't'); op(b, 'R');
	op(b, 0x88);
	ordered_dict(b);
	op(b, 't'); op(b, 'R');
	/* "b": int64 [3] at offset 1 of data/1, on cuda:0 */
	ustr(b, "b");
	op(b, 'h'); op(b, 1);
	op(b, '(');
	storage(b, "LongStorage", "1", "cuda:0", 4, 3);
	rebuild_tail(b, 1, s3, st1, 1);
	op(b, 't'); op(b, 'R');
	/* "tied": a flat view of w's storage (memo slot 2) */
	ustr(b, "tied");
	op(b, 'h'); op(b, 1);
	op(b, '(');
	op(b, 'h'); op(b, 2);
	rebuild_tail(b, 0, s6, st1, 1);
	op(b, 't'); op(b, 'R');
	/* "f8": float8_e4m3fn [4] through _rebuild_tensor_v3 and an UntypedStorage */
	ustr(b, "f8");
	glob(b, "torch._utils", "_rebuild_tensor_v3");
	op(b, '(');
	storage(b, "UntypedStorage", "2", "cpu", 4, 4);
	rebuild_tail(b, 0, s4, st1, 1);
	glob(b, "torch", "float8_e4m3fn");
	op(b, 't'); op(b, 'R');
	/* a None entry is skipped */
	ustr(b, "nothing");
	op(b, 'N');
	op(b, 'u');
	op(b, '.');
}

static void add_member(pt2c_zipw *w, const char *name, const void *p, size_t n)
{
	CHECK_EQ_INT(pt2c__zipw_add(w, name, p, n), 0);
}

/* The archive torch.save would write (member order of §6). */
static void build_archive(pt2c_buf *zb, const pt2c_buf *pkl, size_t data1_len)
{
	static const float w[6] = { 1, 2, 3, 4, 5, 6 };
	static const int64_t l[4] = { 10, 20, 30, 40 };
	static const uint8_t f8[4] = { 0x38, 0x40, 0x44, 0x48 };
	pt2c_zipw zw;
	pt2c__zipw_init(&zw, pt2c__sink_buf(zb), NULL);
	add_member(&zw, "sd/data.pkl", pkl->data, pkl->len);
	add_member(&zw, "sd/.format_version", "1", 1);
	add_member(&zw, "sd/.storage_alignment", "64", 2);
	add_member(&zw, "sd/byteorder", "little", 6);
	add_member(&zw, "sd/data/0", w, sizeof w);
	add_member(&zw, "sd/data/1", l, data1_len);
	add_member(&zw, "sd/data/2", f8, sizeof f8);
	add_member(&zw, "sd/version", "3\n", 2);
	add_member(&zw, "sd/.data/serialization_id", "0000000000000000000000000000000000000000", 40);
	CHECK_EQ_INT(pt2c__zipw_finish(&zw), 0);
	pt2c__zipw_free(&zw);
}

static void test_state_dict(void)
{
	pt2c_buf pkl, zb;
	pt2c__buf_init(&pkl, NULL);
	pt2c__buf_init(&zb, NULL);
	build_state_dict_pickle(&pkl);
	build_archive(&zb, &pkl, 32);
	REQUIRE(!pkl.err && !zb.err);

	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_module *m = NULL;
	REQUIRE(pt2c__module_new(ctx, &m) == 0);
	pt2c__ctx_unref(ctx); /* the module holds its own reference */
	pt2c_storage *backing = NULL;
	REQUIRE(pt2c__storage_copy(NULL, zb.data, zb.len, &backing) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__torch_save_read_state_dict(m, PT2C_ATTR_BUFFER, backing->data, backing->nbytes, backing, &err);
	CHECK_MSG(rc == 0, "read: %s", err.message);
	CHECK_EQ_INT(m->n_attrs, 4);

	pt2c_attr *w = pt2c__module_find_attr(m, "w");
	REQUIRE(w);
	CHECK_EQ_INT(w->kind, PT2C_ATTR_PARAMETER);
	CHECK_EQ_INT(w->tensor.meta.dtype, PT2C_DTYPE_FLOAT32);
	CHECK(w->tensor.meta.requires_grad); /* from _rebuild_parameter's flag, not the inner tensor's */
	CHECK_EQ_INT(w->tensor.meta.ndim, 2);
	CHECK(w->tensor.meta.sizes[0].i == 2 && w->tensor.meta.sizes[1].i == 3);
	CHECK(w->tensor.meta.strides[0].i == 3 && w->tensor.meta.strides[1].i == 1);
	CHECK_STR(w->tensor.meta.device.type, "cpu");
	REQUIRE(w->tensor.storage);
	CHECK_EQ_INT(w->tensor.storage->nbytes, 24);
	float f[6];
	memcpy(f, w->tensor.storage->data, sizeof f);
	CHECK(f[0] == 1 && f[5] == 6);
	/* zero-copy: the storage is a view of the archive bytes */
	CHECK(w->tensor.storage->data > backing->data && w->tensor.storage->data < backing->data + backing->nbytes);
	CHECK_EQ_INT((w->tensor.storage->data - backing->data) % 64, 0);

	pt2c_attr *b = pt2c__module_find_attr(m, "b");
	REQUIRE(b);
	CHECK_EQ_INT(b->kind, PT2C_ATTR_BUFFER);
	CHECK(b->persistent);
	CHECK_EQ_INT(b->tensor.meta.dtype, PT2C_DTYPE_INT64);
	CHECK(!b->tensor.meta.requires_grad);
	CHECK_EQ_INT(b->tensor.meta.storage_offset.i, 1);
	CHECK_STR(b->tensor.meta.device.type, "cuda");
	CHECK_EQ_INT(b->tensor.meta.device.index, 0);

	pt2c_attr *tied = pt2c__module_find_attr(m, "tied");
	REQUIRE(tied);
	CHECK(tied->tensor.storage == w->tensor.storage); /* one storage per key */
	CHECK_EQ_INT(tied->tensor.meta.sizes[0].i, 6);

	pt2c_attr *f8 = pt2c__module_find_attr(m, "f8");
	REQUIRE(f8);
	CHECK_EQ_INT(f8->tensor.meta.dtype, PT2C_DTYPE_FLOAT8_E4M3FN);
	CHECK(pt2c__module_find_attr(m, "nothing") == NULL);

	pt2c__module_free(m);
	pt2c__storage_unref(backing);
	pt2c__buf_free(&pkl);
	pt2c__buf_free(&zb);
}

/* A view that needs more bytes than its data/<key> member holds is corrupt. */
static void test_view_too_large(void)
{
	pt2c_buf pkl, zb;
	pt2c__buf_init(&pkl, NULL);
	pt2c__buf_init(&zb, NULL);
	build_state_dict_pickle(&pkl);
	build_archive(&zb, &pkl, 24); /* "b" needs (1 + 3) * 8 = 32 bytes */
	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_module *m = NULL;
	REQUIRE(pt2c__module_new(ctx, &m) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__torch_save_read_state_dict(m, PT2C_ATTR_BUFFER, (const uint8_t *)zb.data, zb.len, NULL, &err);
	CHECK_EQ_INT(rc, PT2C_ECORRUPT);
	CHECK_MSG(strstr(err.message, "needs 32 bytes") != NULL, "message: %s", err.message);
	CHECK_STR(err.member, "sd/data.pkl");
	pt2c__module_free(m);
	pt2c__buf_free(&pkl);
	pt2c__buf_free(&zb);
}

/*
 * Issue 11 #5: the state-dict reader with every allocation failing in turn gives PT2C_ENOMEM and
 * leaks nothing. Its caller (the program reader) discards the module on failure, so no state is
 * compared; the run without failures must read the 4 attributes.
 */
static pt2c_buf sd_zip;
static void *sd_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	pt2c_ctx *c = NULL;
	pt2c_module *m = NULL;
	if (pt2c__ctx_new(&c, a)) return NULL;
	int rc = pt2c__module_new(c, &m);
	pt2c__ctx_unref(c);
	return rc ? NULL : m;
}
static int sd_step(void *ctx, void *state)
{
	(void)ctx;
	pt2c_module *m = state;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__torch_save_read_state_dict(m, PT2C_ATTR_BUFFER, (const uint8_t *)sd_zip.data, sd_zip.len, NULL, &err);
	if (!rc && m->n_attrs != 4) return PT2C_EINVALID;
	if (rc && err.code != rc) {
		fprintf(stderr, "returned %d, err says %d: %s\n", rc, err.code, err.message);
		return PT2C_EINVALID;
	}
	return rc;
}
static char *sd_show(void *ctx, void *state) { (void)ctx; (void)state; return strdup("-"); }
static void sd_teardown(void *ctx, void *state) { (void)ctx; pt2c__module_free(state); }

static void test_state_dict_oom(void)
{
	pt2c_buf pkl;
	pt2c__buf_init(&pkl, NULL);
	pt2c__buf_init(&sd_zip, NULL);
	build_state_dict_pickle(&pkl);
	build_archive(&sd_zip, &pkl, 32);
	REQUIRE(!pkl.err && !sd_zip.err);
	test_oom_case oc = { "torch.save state dict", sd_setup, sd_step, sd_show, sd_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %ld failure points\n", n);
	CHECK(n > 0);
	pt2c__buf_free(&pkl);
	pt2c__buf_free(&sd_zip);
}

typedef struct sv { const char *p; size_t n; } sv;

/* Field 3 of submodule `sub`'s engine_record in a partitioned JSON text (no escapes there). */
static bool json_engine_b64(const char *json, const char *sub, sv *out)
{
	char key[128];
	snprintf(key, sizeof key, "\"%s\": {", sub);
	const char *p = strstr(json, key);
	if (!p || !(p = strstr(p, "\"engine_record\": [")))
		return false;
	p = strchr(p, '[');
	for (int i = 0; i < 4; i++) {
		const char *open = strchr(p, '"');
		const char *close = open ? strchr(open + 1, '"') : NULL;
		if (!close)
			return false;
		out->p = open + 1;
		out->n = (size_t)(close - open - 1);
		p = close + 1;
	}
	return true;
}

/* Collect every _rebuild_tensor_v2 REDUCE reachable from o (explicit stack, no recursion). */
static size_t find_tensors(const pt2c_py *root, const pt2c_py **out, size_t max)
{
	const pt2c_py *stack[4096];
	size_t sn = 0, n = 0;
	stack[sn++] = root;
	while (sn) {
		const pt2c_py *o = stack[--sn];
		if (o->type == PT2C_PY_REDUCE && pt2c__py_is_global(o->items[0], "torch._utils", "_rebuild_tensor_v2")) {
			if (n < max)
				out[n++] = o;
			continue;
		}
		uint32_t k = 0;
		switch (o->type) {
		case PT2C_PY_TUPLE: case PT2C_PY_LIST: k = o->n; break;
		case PT2C_PY_DICT: k = 2 * o->n; break;
		case PT2C_PY_REDUCE: case PT2C_PY_BUILD: case PT2C_PY_NEWOBJ: k = 2; break;
		case PT2C_PY_PERSID: k = 1; break;
		default: break;
		}
		for (uint32_t i = 0; i < k && sn < PT2C_ARRAY_LEN(stack); i++)
			stack[sn++] = o->items[i];
	}
	return n;
}

/* The engine stand-ins are real TorchScript archives: their data.pkl names conv.weight/bias storages. */
static void test_engine_standin(void)
{
	size_t jlen = 0;
	char *json = (char *)read_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"), &jlen);
	REQUIRE(json);
	sv b64;
	REQUIRE(json_engine_b64(json, "_run_on_acc_0", &b64));
	CHECK_EQ_INT(b64.n, 7504);
	size_t rawn = pt2c__b64_decoded_len(b64.p, b64.n);
	REQUIRE(rawn == 5627);
	uint8_t *raw = malloc(rawn);
	size_t bad = 0;
	REQUIRE(pt2c__b64_decode(raw, b64.p, b64.n, &bad) == 0);

	/* TorchScript archives deflate their code/ members, which the zip reader refuses, so find
	 * data.pkl's local header by hand (pickle parsing stops at STOP; trailing bytes are ignored). */
	const uint8_t *pkl = NULL;
	for (size_t i = 0; i + 46 < rawn && !pkl; i++)
		if (memcmp(raw + i, "PK\x03\x04", 4) == 0 && pt2c__rd16le(raw + i + 26) == 16 &&
		    memcmp(raw + i + 30, "archive/data.pkl", 16) == 0)
			pkl = raw + i + 30 + 16 + pt2c__rd16le(raw + i + 28);
	REQUIRE(pkl);
	CHECK_EQ_INT(pkl - raw, 1152); /* zipfile: header at 1072, data 64-byte aligned */
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_arena a;
	pt2c__arena_init(&a, NULL);
	pt2c_py *top = NULL;
	int rc = pt2c__pickle_parse(&top, pkl, rawn - (size_t)(pkl - raw), &a, &err);
	CHECK_MSG(rc == 0, "stand-in data.pkl: %s", err.message);
	REQUIRE(rc == 0);
	REQUIRE(top->type == PT2C_PY_BUILD && top->items[0]->type == PT2C_PY_NEWOBJ);
	CHECK(pt2c__py_is_global(top->items[0]->items[0], "__torch__.torch.fx.graph_module.___torch_mangle_9", "GraphModule"));

	const pt2c_py *t[8];
	size_t nt = find_tensors(top, t, 8);
	CHECK_EQ_INT(nt, 2);
	static const int64_t want_sizes[2][4] = { { 8, 3, 3, 3 }, { 8 } };
	static const int64_t want_strides[2][4] = { { 27, 9, 3, 1 }, { 1 } };
	static const uint32_t want_nd[2] = { 4, 1 };
	for (size_t i = 0; i < nt && i < 2; i++) {
		/* find_tensors pops in reverse dict order: bias first */
		size_t w = nt - 1 - i;
		const pt2c_py *args = t[i]->items[1];
		REQUIRE(args->type == PT2C_PY_TUPLE && args->n == 6);
		const pt2c_py *pid = args->items[0]->items[0];
		REQUIRE(pid->type == PT2C_PY_TUPLE && pid->n == 5);
		CHECK(pt2c__py_is_global(pid->items[1], "torch", "FloatStorage"));
		CHECK(pid->items[2]->n == 1 && pid->items[2]->s[0] == (char)('0' + w));
		const pt2c_py *sz = args->items[2], *sd = args->items[3];
		CHECK_EQ_INT(sz->n, want_nd[w]);
		for (uint32_t d = 0; d < sz->n && d < 4; d++) {
			CHECK_EQ_INT(sz->items[d]->i, want_sizes[w][d]);
			CHECK_EQ_INT(sd->items[d]->i, want_strides[w][d]);
		}
		/* numel * 4 bytes is exactly the storage member (zipfile: data/0 864 bytes, data/1 32) */
		static const int64_t member_size[2] = { 864, 32 };
		CHECK_EQ_INT(pid->items[4]->i * 4, member_size[w]);
	}
	pt2c__arena_free(&a);
	free(raw);
	free(json);
}

PT2C_TEST_MAIN({
	RUN(test_state_dict);
	RUN(test_view_too_large);
	RUN(test_state_dict_oom);
	RUN(test_engine_standin);
})
