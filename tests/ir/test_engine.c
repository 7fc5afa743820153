/* test_engine.c -- Torch-TensorRT engine records (fixture records of ABI 6 and 8) and storages. */
#include <stdlib.h>

#include "harness.h"
#include "ir/ir.h"
#include "util/json.h"

typedef struct fixture {
	uint8_t *text;
	pt2c_arena arena;
	pt2c_json *root;
} fixture;

static bool load(fixture *f, const char *rel)
{
	size_t len;
	memset(f, 0, sizeof *f);
	f->text = read_file(shared_path(rel), &len);
	if (!f->text)
		return false;
	pt2c__arena_init(&f->arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	return pt2c__json_parse(&f->root, (const char *)f->text, len, NULL, &f->arena, &err) == 0;
}

static void unload(fixture *f)
{
	pt2c__arena_free(&f->arena);
	free(f->text);
}

/* Fill r from the fixture's submodules[name].engine_record (field 3 = base64 engine). */
static bool record_from(const fixture *f, const char *name, pt2c_engine_record *r)
{
	const pt2c_json *arr = pt2c__json_get(pt2c__json_get(pt2c__json_get(f->root, "submodules"), name), "engine_record");
	if (!pt2c__json_is(arr, PT2C_JSON_ARRAY) || arr->n > PT2C_EF_MAX)
		return false;
	memset(r, 0, sizeof *r);
	r->n_fields = arr->n;
	for (uint32_t i = 0; i < arr->n; i++) {
		const pt2c_json *s = pt2c__json_at(arr, i);
		if (!pt2c__json_is(s, PT2C_JSON_STRING))
			return false;
		r->fields[i].p = s->u.s;
		r->fields[i].n = s->n;
	}
	r->abi = (uint32_t)atoi(r->fields[0].p);
	r->engine_b64 = true;
	return pt2c__storage_new(NULL, (const uint8_t *)r->fields[PT2C_EF_ENGINE].p, r->fields[PT2C_EF_ENGINE].n, NULL,
	                         NULL, &r->engine) == 0;
}

static void set_field(pt2c_engine_record *r, int idx, const char *s)
{
	r->fields[idx].p = s;
	r->fields[idx].n = (uint32_t)strlen(s);
}

static void expect_bad(const pt2c_engine_record *r, const char *needle)
{
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__engine_record_validate(r, &err);
	CHECK_EQ_INT(rc, PT2C_ECORRUPT);
	CHECK_MSG(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
}

static void test_abi_table(void)
{
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(6), 9);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(7), 10);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(8), 11);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(9), 12);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(10), 13);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(5), 0);
	CHECK_EQ_INT(pt2c__engine_fields_for_abi(11), 0);
	CHECK_STR(pt2c__engine_field_name(PT2C_EF_DEVICE), "serialized_device_info");
	CHECK_STR(pt2c__engine_field_name(PT2C_EF_REQUIRES_OUTPUT_ALLOCATOR), "serialized_require_output_allocator");
}

static void test_fixture_abi6(void)
{
	fixture f;
	REQUIRE(load(&f, "fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"));
	pt2c_engine_record r;
	REQUIRE(record_from(&f, "_run_on_acc_0", &r));
	CHECK_EQ_INT(r.abi, 6);
	CHECK_EQ_INT(r.n_fields, 9);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__engine_record_validate(&r, &err), 0);
	/* the engine is a TorchScript zip: decoded bytes start with "PK\3\4" */
	pt2c_storage *raw = NULL;
	REQUIRE(pt2c__engine_record_raw(&r, NULL, &raw, &err) == 0);
	CHECK_EQ_INT(raw->nbytes, pt2c__b64_decoded_len(r.fields[PT2C_EF_ENGINE].p, r.fields[PT2C_EF_ENGINE].n));
	CHECK(raw->nbytes > 4 && memcmp(raw->data, "PK\3\4", 4) == 0);
	pt2c__storage_unref(raw);

	/* each kind of invalid record */
	pt2c_engine_record b = r;
	b.n_fields = 10;
	expect_bad(&b, "has 10 fields, expected 9");
	b = r;
	b.abi = 5;
	expect_bad(&b, "unknown ABI version 5");
	b = r;
	set_field(&b, PT2C_EF_ABI, "7");
	expect_bad(&b, "abi_version");
	b = r;
	set_field(&b, PT2C_EF_HW_COMPATIBLE, "");
	expect_bad(&b, "serialized_hardware_compatible is not a decimal number");
	b = r;
	set_field(&b, PT2C_EF_HW_COMPATIBLE, "yes");
	expect_bad(&b, "serialized_hardware_compatible");
	b = r;
	set_field(&b, PT2C_EF_DEVICE, "0%9%0%1");
	expect_bad(&b, "has 4 '%'-separated tokens, expected 5");
	b = r;
	set_field(&b, PT2C_EF_DEVICE, "0%9%0%1%NVIDIA%H100");
	expect_bad(&b, "has 6 '%'-separated tokens");
	b = r;
	set_field(&b, PT2C_EF_DEVICE, "0%nine%0%1%NVIDIA H100");
	expect_bad(&b, "token 2 is not a decimal number");
	b = r;
	set_field(&b, PT2C_EF_DEVICE, "");
	expect_bad(&b, "serialized_device_info");
	b = r;
	set_field(&b, PT2C_EF_PLATFORM, "unknown");
	expect_bad(&b, "unknown platform 'unknown'");
	b = r;
	set_field(&b, PT2C_EF_PLATFORM, "win_x86_64");
	expect_bad(&b, "unknown platform 'win_x86_64'");
	b = r;
	set_field(&b, PT2C_EF_IN_BINDINGS, "x%%y");
	expect_bad(&b, "serialized_in_binding_names has an empty binding name");
	b = r;
	set_field(&b, PT2C_EF_OUT_BINDINGS, "output_0%");
	expect_bad(&b, "serialized_out_binding_names");
	/* empty binding lists are fine (C++ derives the order from the engine) */
	b = r;
	set_field(&b, PT2C_EF_IN_BINDINGS, "");
	set_field(&b, PT2C_EF_OUT_BINDINGS, "output_0%output_1");
	CHECK_EQ_INT(pt2c__engine_record_validate(&b, &err), 0);
	/* other accepted platforms */
	set_field(&b, PT2C_EF_PLATFORM, "windows_x86_64");
	CHECK_EQ_INT(pt2c__engine_record_validate(&b, &err), 0);
	/* bad base64 */
	b = r;
	pt2c_storage *bad_b64;
	REQUIRE(pt2c__storage_copy(NULL, "QUJD*A==", 8, &bad_b64) == 0);
	b.engine = bad_b64;
	CHECK_EQ_INT(pt2c__engine_record_raw(&b, NULL, &raw, &err), PT2C_ECORRUPT);
	CHECK(raw == NULL);
	CHECK_EQ_INT(err.offset, 4);
	pt2c__storage_unref(bad_b64);
	/* raw (not base64) engines are shared, not copied */
	b = r;
	b.engine_b64 = false;
	REQUIRE(pt2c__engine_record_raw(&b, NULL, &raw, &err) == 0);
	CHECK(raw == r.engine);
	CHECK_EQ_INT(r.engine->refcount, 2);
	pt2c__storage_unref(raw);
	pt2c__storage_unref(r.engine);
	unload(&f);
}

static void test_fixture_abi8(void)
{
	fixture f;
	REQUIRE(load(&f, "fixtures/partitioned/example_hybrid.partitioned.json"));
	pt2c_engine_record r;
	REQUIRE(record_from(&f, "_run_on_acc_1", &r));
	CHECK_EQ_INT(r.abi, 8);
	CHECK_EQ_INT(r.n_fields, 11);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__engine_record_validate(&r, &err), 0);
	pt2c_engine_record b = r;
	set_field(&b, PT2C_EF_RESOURCE_ALLOCATION, "");
	expect_bad(&b, "serialized_resource_allocation_strategy");
	b = r;
	set_field(&b, PT2C_EF_REQUIRES_OUTPUT_ALLOCATOR, "-1");
	expect_bad(&b, "serialized_require_output_allocator");
	b = r;
	b.n_fields = 9;
	expect_bad(&b, "expected 11");
	/* ABI 10 with aliased I/O records */
	static const char *ten = "10";
	b = r;
	b.abi = 10;
	b.n_fields = 13;
	set_field(&b, PT2C_EF_ABI, ten);
	set_field(&b, PT2C_EF_NATIVE_MULTIDEVICE, "0");
	set_field(&b, PT2C_EF_ALIASED_IO, "");
	CHECK_EQ_INT(pt2c__engine_record_validate(&b, &err), 0);
	set_field(&b, PT2C_EF_ALIASED_IO, "output_0@input_0@user%output_1@input_1@kv_cache_update");
	CHECK_EQ_INT(pt2c__engine_record_validate(&b, &err), 0);
	set_field(&b, PT2C_EF_ALIASED_IO, "output_0@input_0@other");
	expect_bad(&b, "serialized_aliased_io");
	set_field(&b, PT2C_EF_NATIVE_MULTIDEVICE, "");
	expect_bad(&b, "serialized_requires_native_multidevice");
	pt2c__storage_unref(r.engine);
	unload(&f);
}

static int released;
static void on_release(void *p)
{
	released++;
	CHECK(p == &released);
}

static void test_storage_refcount(void)
{
	static const uint8_t bytes[4] = { 1, 2, 3, 4 };
	pt2c_storage *s = NULL;
	released = 0;
	REQUIRE(pt2c__storage_new(NULL, bytes, sizeof bytes, on_release, &released, &s) == 0);
	CHECK(s->data == bytes); /* borrowed, not copied */
	CHECK(pt2c__storage_ref(s) == s);
	pt2c__storage_ref(s);
	pt2c__storage_unref(s);
	pt2c__storage_unref(s);
	CHECK_EQ_INT(released, 0);
	pt2c__storage_unref(s);
	CHECK_EQ_INT(released, 1);
	pt2c__storage_unref(NULL);
	/* an owned copy */
	REQUIRE(pt2c__storage_copy(NULL, bytes, sizeof bytes, &s) == 0);
	CHECK(s->data != bytes);
	CHECK(memcmp(s->data, bytes, 4) == 0);
	pt2c__storage_unref(s);
	/* modules own one reference per attribute tensor and engine record */
	pt2c_ctx *ctx;
	pt2c_module *m;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__module_new(ctx, &m) == 0);
	CHECK_EQ_INT(ctx->refcount, 2);
	pt2c_storage *w;
	released = 0;
	REQUIRE(pt2c__storage_new(NULL, bytes, sizeof bytes, on_release, &released, &w) == 0);
	pt2c_attr *a1, *a2;
	REQUIRE(pt2c__module_add_attr(m, "lin.weight", PT2C_ATTR_PARAMETER, &a1) == 0);
	a1->tensor.storage = w;
	REQUIRE(pt2c__module_add_attr(m, "tied.weight", PT2C_ATTR_PARAMETER, &a2) == 0);
	a2->tensor.storage = pt2c__storage_ref(w);
	CHECK_EQ_INT(pt2c__module_add_attr(m, "lin.weight", PT2C_ATTR_BUFFER, NULL), PT2C_EGRAPH);
	CHECK(pt2c__module_find_attr(m, "tied.weight") == &m->attrs[1]);
	CHECK(pt2c__module_find_attr(m, "nope") == NULL);
	/* a fallback submodule shares the ctx and is freed with its parent */
	pt2c_submodule *sub;
	REQUIRE(pt2c__module_add_sub(m, "_run_on_gpu_0", PT2C_SUB_FALLBACK, &sub) == 0);
	REQUIRE(pt2c__module_new(ctx, &sub->fallback) == 0);
	CHECK_EQ_INT(ctx->refcount, 3);
	pt2c_storage *sw;
	REQUIRE(pt2c__storage_new(NULL, bytes, sizeof bytes, on_release, &released, &sw) == 0);
	pt2c_attr *sa;
	REQUIRE(pt2c__module_add_attr(sub->fallback, "gate", PT2C_ATTR_PARAMETER, &sa) == 0);
	sa->tensor.storage = sw;
	REQUIRE(pt2c__module_add_sub(m, "_run_on_gpu_1", PT2C_SUB_FALLBACK, &sub) == 0);
	REQUIRE(pt2c__module_new(ctx, &sub->fallback) == 0);
	CHECK_EQ_INT(ctx->refcount, 4);
	pt2c__module_remove_sub(m, "_run_on_gpu_1");
	CHECK_EQ_INT(ctx->refcount, 3);
	CHECK(pt2c__module_find_sub(m, "_run_on_gpu_1") == NULL);
	CHECK(pt2c__module_find_sub(m, "_run_on_gpu_0") == &m->subs[0]);
	pt2c__ctx_unref(ctx); /* the modules keep it alive */
	CHECK_EQ_INT(released, 0);
	pt2c__module_free(m);
	CHECK_EQ_INT(released, 2); /* each storage exactly once */
}

static void test_program_new(void)
{
	pt2c_ctx *ctx;
	pt2c_program *p;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__program_new(ctx, &p) == 0);
	pt2c__ctx_unref(ctx);
	CHECK_EQ_INT(p->schema_major, 8);
	CHECK_EQ_INT(p->schema_minor, 17);
	REQUIRE(p->n_opsets == 1);
	CHECK_STR(p->opsets[0].name, "aten");
	CHECK_EQ_INT(p->opsets[0].version, 10);
	CHECK(p->mod && p->mod->graph && p->mod->ctx == p->ctx);
	released = 0;
	static const uint8_t bytes[1] = { 0 };
	REQUIRE(pt2c__storage_new(NULL, bytes, 1, on_release, &released, &p->sample_inputs) == 0);
	pt2c__program_free(p);
	CHECK_EQ_INT(released, 1);
	pt2c__program_free(NULL);
	pt2c__module_free(NULL);
}

PT2C_TEST_MAIN({
	RUN(test_abi_table);
	RUN(test_fixture_abi6);
	RUN(test_fixture_abi8);
	RUN(test_storage_refcount);
	RUN(test_program_new);
})
