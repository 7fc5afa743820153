/*
 * test_parch.c -- the partitioned-module archive form and the partitioned writers: every fixture
 * goes JSON -> archive -> module and JSON -> JSON -> module and must come back equal to the
 * module read from the fixture (graph, value metadata, attributes and bytes, engine records and
 * engine bytes, specs, symbols, op schemas), archive-read weights and engines must be views into
 * the archive bytes, and hand-built archives that break one rule of docs/partitioned-format.md
 * must fail with the documented code and a member/JSON path naming the culprit.
 */
#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

/* MARK: helpers */

static pt2c_module *read_json_file(const char *path)
{
	size_t n;
	uint8_t *d = read_file(path, &n);
	if (!d) return NULL;
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__partitioned_json_read(&m, (const char *)d, n, NULL, &err) != 0)
		fprintf(stderr, "%s: %s: %s\n", path, err.member, err.message);
	free(d);
	return m;
}

static const char *vname(const pt2c_graph *g, uint32_t ref)
{
	return ref < g->n_values ? g->values[ref].name : "(bad ref)";
}

static bool sym_eq(const pt2c_sym *a, const pt2c_sym *b)
{
	if (a->kind != b->kind) return false;
	if (a->kind == PT2C_SYM_EXPR) return a->expr && b->expr && strcmp(a->expr, b->expr) == 0;
	if (a->kind == PT2C_SYM_FLOAT) return a->f == b->f || (isnan(a->f) && isnan(b->f));
	return a->i == b->i;
}

static bool meta_eq(const pt2c_tensor_meta *a, const pt2c_tensor_meta *b)
{
	if (a->dtype != b->dtype || a->layout != b->layout || a->requires_grad != b->requires_grad || a->ndim != b->ndim)
		return false;
	if (!a->device.type || !b->device.type || strcmp(a->device.type, b->device.type) != 0 || a->device.index != b->device.index)
		return false;
	for (uint32_t k = 0; k < a->ndim; k++)
		if (!sym_eq(&a->sizes[k], &b->sizes[k]) || !sym_eq(&a->strides[k], &b->strides[k])) return false;
	return sym_eq(&a->storage_offset, &b->storage_offset);
}

static bool float_eq(double a, double b)
{
	if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
	return a == b && signbit(a) == signbit(b);
}

/* Structural equality of argument trees, references compared by value name (FX tuples read back as lists). */
static bool arg_eq(const pt2c_graph *ga, const pt2c_arg *a, const pt2c_graph *gb, const pt2c_arg *b)
{
	int ka = a->kind == PT2C_ARG_FX_TUPLE ? PT2C_ARG_FX_LIST : a->kind;
	int kb = b->kind == PT2C_ARG_FX_TUPLE ? PT2C_ARG_FX_LIST : b->kind;
	if (ka != kb) return false;
	switch (ka) {
	case PT2C_ARG_NONE: return true;
	case PT2C_ARG_INT:
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_LAYOUT:
	case PT2C_ARG_MEMORY_FORMAT: return a->u.i == b->u.i;
	case PT2C_ARG_BOOL: return a->u.b == b->u.b;
	case PT2C_ARG_FLOAT: return float_eq(a->u.f, b->u.f);
	case PT2C_ARG_STRING: return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
	case PT2C_ARG_FX_NODE:
	case PT2C_ARG_TENSOR: return strcmp(vname(ga, a->u.ref), vname(gb, b->u.ref)) == 0;
	case PT2C_ARG_SYM_INT:
		if ((a->flags & PT2C_ARGF_LITERAL) != (b->flags & PT2C_ARGF_LITERAL)) return false;
		return (a->flags & PT2C_ARGF_LITERAL) ? a->u.i == b->u.i : strcmp(vname(ga, a->u.ref), vname(gb, b->u.ref)) == 0;
	case PT2C_ARG_DEVICE:
		return strcmp(a->u.dev.type, b->u.dev.type) == 0 && a->u.dev.index == b->u.dev.index;
	default:
		if (!pt2c__arg_is_list(ka) && ka != PT2C_ARG_FX_LIST) return false;
		if (a->n != b->n) return false;
		for (uint32_t k = 0; k < a->n; k++)
			if (!arg_eq(ga, &a->u.items[k], gb, &b->u.items[k])) return false;
		return true;
	}
}

static bool value_eq(const pt2c_value *a, const pt2c_value *b)
{
	if (strcmp(a->name, b->name) != 0 || a->kind != b->kind || a->has_meta != b->has_meta) return false;
	if (!a->has_meta) return true;
	switch (a->kind) {
	case PT2C_VAL_TENSOR: return meta_eq(a->u.tensor, b->u.tensor);
	case PT2C_VAL_TENSOR_LIST:
		if (a->u.list.n != b->u.list.n) return false;
		for (uint32_t k = 0; k < a->u.list.n; k++)
			if (!meta_eq(&a->u.list.items[k], &b->u.list.items[k])) return false;
		return true;
	case PT2C_VAL_SYM_INT:
	case PT2C_VAL_SYM_BOOL:
	case PT2C_VAL_SYM_FLOAT: return sym_eq(&a->u.sym, &b->u.sym);
	default: return true;
	}
}

/* Compare two graphs node by node; reports the first difference. */
static void check_graph_eq(const char *what, const pt2c_graph *a, const pt2c_graph *b)
{
	CHECK_MSG(a->n_live == b->n_live, "%s: %u vs %u nodes", what, a->n_live, b->n_live);
	uint32_t ib = b->first;
	PT2C_GRAPH_FOREACH(a, ia) {
		if (ib == PT2C_NONE) return;
		const pt2c_node *na = &a->nodes[ia], *nb = &b->nodes[ib];
		if (strcmp(na->name, nb->name) || strcmp(na->target, nb->target) || na->op != nb->op || na->n_inputs != nb->n_inputs) {
			CHECK_MSG(0, "%s: node %s/%s differs (name, target, op or input count)", what, na->name, nb->name);
			return;
		}
		for (uint32_t k = 0; k < na->n_inputs; k++) {
			const pt2c_named_arg *x = &na->inputs[k], *y = &nb->inputs[k];
			bool names = (x->name == NULL) == (y->name == NULL) && (!x->name || strcmp(x->name, y->name) == 0);
			if (!names || !arg_eq(a, &x->arg, b, &y->arg)) {
				CHECK_MSG(0, "%s: node %s input %u differs", what, na->name, k);
				return;
			}
		}
		uint32_t va = pt2c__node_value(a, ia), vb = pt2c__node_value(b, ib);
		if ((va == PT2C_NONE) != (vb == PT2C_NONE) || (va != PT2C_NONE && !value_eq(&a->values[va], &b->values[vb]))) {
			CHECK_MSG(0, "%s: value of node %s differs", what, na->name);
			return;
		}
		ib = nb->next;
	}
}

/* The bytes a tensor views (from its storage offset to the end of its span). */
static bool tensor_bytes_eq(const pt2c_tensor *a, const pt2c_tensor *b)
{
	uint64_t wa, wb;
	if (pt2c__meta_storage_bytes(&a->meta, &wa, NULL) || pt2c__meta_storage_bytes(&b->meta, &wb, NULL)) return false;
	size_t es = pt2c__dtype_size(a->meta.dtype);
	uint64_t sa = wa ? (uint64_t)a->meta.storage_offset.i * es : 0, sb = wb ? (uint64_t)b->meta.storage_offset.i * es : 0;
	if (wa - sa != wb - sb) return false;
	if (wa == sa) return true;
	if (!a->storage || !b->storage || a->storage->nbytes < wa || b->storage->nbytes < wb) return false;
	return memcmp(a->storage->data + sa, b->storage->data + sb, (size_t)(wa - sa)) == 0;
}

static void check_attrs_eq(const char *what, const pt2c_module *a, const pt2c_module *b)
{
	CHECK_MSG(a->n_attrs == b->n_attrs, "%s: %u vs %u attributes", what, a->n_attrs, b->n_attrs);
	for (uint32_t k = 0; k < a->n_attrs && k < b->n_attrs; k++) {
		const pt2c_attr *x = &a->attrs[k], *y = &b->attrs[k];
		CHECK_MSG(strcmp(x->fqn, y->fqn) == 0 && x->kind == y->kind && x->persistent == y->persistent,
		          "%s: attribute %s vs %s", what, x->fqn, y->fqn);
		/* metadata without the storage offset (archive views may differ there), then bytes */
		pt2c_tensor_meta mx = x->tensor.meta, my = y->tensor.meta;
		mx.storage_offset = my.storage_offset = pt2c__sym_int(0);
		CHECK_MSG(meta_eq(&mx, &my), "%s: metadata of %s", what, x->fqn);
		CHECK_MSG(tensor_bytes_eq(&x->tensor, &y->tensor), "%s: bytes of %s", what, x->fqn);
	}
}

static void check_engine_eq(const char *what, const pt2c_engine_record *a, const pt2c_engine_record *b)
{
	CHECK_MSG(a->abi == b->abi && a->n_fields == b->n_fields, "%s: abi/field count", what);
	for (uint32_t f = 0; f < a->n_fields && f < PT2C_EF_MAX; f++) {
		if (f == PT2C_EF_ENGINE) continue;
		CHECK_MSG(a->fields[f].n == b->fields[f].n && memcmp(a->fields[f].p, b->fields[f].p, a->fields[f].n) == 0,
		          "%s: field %u", what, f);
	}
	pt2c_storage *ra = NULL, *rb = NULL;
	REQUIRE(pt2c__engine_record_raw(a, NULL, &ra, NULL) == 0);
	REQUIRE(pt2c__engine_record_raw(b, NULL, &rb, NULL) == 0);
	uint64_t na = ra ? ra->nbytes : 0, nb = rb ? rb->nbytes : 0;
	CHECK_MSG(na == nb && (na == 0 || memcmp(ra->data, rb->data, (size_t)na) == 0), "%s: engine bytes", what);
	CHECK(na > 0);
	pt2c__storage_unref(ra);
	pt2c__storage_unref(rb);
}

static bool str_eq_null(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static void check_module_eq(const char *what, const pt2c_module *a, const pt2c_module *b)
{
	check_graph_eq(what, a->graph, b->graph);
	check_attrs_eq(what, a, b);
	CHECK_MSG(a->n_subs == b->n_subs, "%s: submodule count", what);
	for (uint32_t k = 0; k < a->n_subs && k < b->n_subs; k++) {
		const pt2c_submodule *x = &a->subs[k], *y = &b->subs[k];
		CHECK_MSG(strcmp(x->name, y->name) == 0 && x->kind == y->kind, "%s: submodule %s", what, x->name);
		if (x->kind != y->kind) continue;
		if (x->kind == PT2C_SUB_ENGINE) {
			check_engine_eq(x->name, x->engine, y->engine);
		} else {
			check_graph_eq(x->name, x->fallback->graph, y->fallback->graph);
			check_attrs_eq(x->name, x->fallback, y->fallback);
		}
	}
	CHECK_MSG(str_eq_null(a->in_spec, b->in_spec) && str_eq_null(a->out_spec, b->out_spec), "%s: specs", what);
	CHECK_MSG(a->n_symbols == b->n_symbols, "%s: symbol count", what);
	for (uint32_t k = 0; k < a->n_symbols && k < b->n_symbols; k++) {
		const pt2c_symrange *x = &a->symbols[k], *y = &b->symbols[k];
		CHECK_MSG(strcmp(x->name, y->name) == 0 && x->has_min == y->has_min && x->has_max == y->has_max &&
		          (!x->has_min || x->min == y->min) && (!x->has_max || x->max == y->max), "%s: symbol %s", what, x->name);
	}
	CHECK_MSG(a->op_schemas.count == b->op_schemas.count, "%s: op schema count", what);
	for (size_t k = 0; k < a->op_schemas.cap; k++) {
		const pt2c_map_slot *s = &a->op_schemas.slots[k];
		uint64_t v;
		if (!s->key) continue;
		CHECK_MSG(pt2c__map_get(&b->op_schemas, s->key, s->len, &v) &&
		          strcmp((const char *)(uintptr_t)v, (const char *)(uintptr_t)s->value) == 0, "%s: schema of %s", what, s->key);
	}
}

static bool inside(const uint8_t *p, const pt2c_buf *b) { return p >= (const uint8_t *)b->data && p < (const uint8_t *)b->data + b->len; }

/* Every weight and engine storage of m points into the archive bytes. */
static void check_zero_copy(const pt2c_module *m, const pt2c_buf *arch, const char *what)
{
	for (uint32_t k = 0; k < m->n_attrs; k++)
		if (m->attrs[k].tensor.storage)
			CHECK_MSG(inside(m->attrs[k].tensor.storage->data, arch), "%s: %s is a copy", what, m->attrs[k].fqn);
	for (uint32_t k = 0; k < m->n_subs; k++) {
		const pt2c_submodule *s = &m->subs[k];
		if (s->kind == PT2C_SUB_ENGINE) {
			CHECK_MSG(s->engine->engine && !s->engine->engine_b64 && inside(s->engine->engine->data, arch), "%s: engine of %s", what, s->name);
		} else {
			check_zero_copy(s->fallback, arch, s->name);
		}
	}
}

static int write_archive(const pt2c_module *m, pt2c_buf *out)
{
	pt2c__buf_init(out, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_archive_write(m, pt2c__sink_buf(out), &err);
	if (rc) fprintf(stderr, "archive write: %s: %s\n", err.member, err.message);
	return rc;
}

static int read_archive(const pt2c_buf *b, pt2c_storage *backing, pt2c_module **m, pt2c_error *err)
{
	*err = (pt2c_error)PT2C_ERROR_INIT;
	return pt2c__partitioned_archive_read(m, (const uint8_t *)b->data, b->len, backing, NULL, err);
}

/* MARK: fixtures */

static const char *const FIXTURES[] = {
	"fixtures/torch-2.11/no_engine.partitioned.json",
	"fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json",
	"fixtures/torch-2.11/full_engine_two_outputs.partitioned.json",
	"fixtures/torch-2.11/full_engine_folded.partitioned.json",
	"fixtures/partitioned/example_hybrid.partitioned.json",
	"fixtures/partitioned/example_hybrid_dynamic.partitioned.json",
	NULL, /* examples/tiny_hybrid.partitioned.json, from the source tree */
};

static const char *fixture_path(size_t k)
{
	static char buf[4096];
	if (FIXTURES[k]) return shared_path(FIXTURES[k]);
	const char *src = getenv("PT2C_SOURCE");
	snprintf(buf, sizeof buf, "%s/examples/tiny_hybrid.partitioned.json", src ? src : ".");
	return buf;
}

static void test_fixtures_archive_round_trip(void)
{
	for (size_t k = 0; k < PT2C_ARRAY_LEN(FIXTURES); k++) {
		const char *path = fixture_path(k);
		pt2c_module *m1 = read_json_file(path);
		CHECK_MSG(m1 != NULL, "%s", path);
		if (!m1) continue;
		pt2c_buf arch;
		REQUIRE(write_archive(m1, &arch) == 0);
		/* the backing storage stands for the mapped file: every view must hold it */
		pt2c_storage *backing = NULL;
		REQUIRE(pt2c__storage_new(NULL, (const uint8_t *)arch.data, arch.len, NULL, NULL, &backing) == 0);
		pt2c_module *m2 = NULL;
		pt2c_error err;
		int rc = read_archive(&arch, backing, &m2, &err);
		CHECK_MSG(rc == 0, "%s: %s: %s", path, err.member, err.message);
		if (m2) {
			check_module_eq(path, m1, m2);
			check_zero_copy(m2, &arch, path);
			bool has_bytes = m2->n_subs > 0 || m2->n_attrs > 0;
			CHECK_MSG(!has_bytes || backing->refcount > 1, "%s: views do not hold the backing storage", path);
			/* archive -> JSON with inline base64 -> module: same again */
			pt2c_buf js;
			pt2c__buf_init(&js, NULL);
			CHECK(pt2c__partitioned_json_write(&js, m2, false) == 0);
			pt2c_module *m3 = NULL;
			err = (pt2c_error)PT2C_ERROR_INIT;
			CHECK_MSG(pt2c__partitioned_json_read(&m3, js.data, js.len, NULL, &err) == 0, "%s: %s", err.member, err.message);
			if (m3) check_module_eq("archive->json", m1, m3);
			pt2c__module_free(m3);
			pt2c__buf_free(&js);
			pt2c__module_free(m2);
		}
		CHECK_EQ_INT(backing->refcount, 1);
		pt2c__storage_unref(backing);
		pt2c__buf_free(&arch);
		pt2c__module_free(m1);
	}
}

static void test_fixtures_json_round_trip(void)
{
	for (size_t k = 0; k < PT2C_ARRAY_LEN(FIXTURES); k++) {
		const char *path = fixture_path(k);
		pt2c_module *m1 = read_json_file(path);
		CHECK_MSG(m1 != NULL, "%s", path);
		if (!m1) continue;
		pt2c_buf j1, j2;
		pt2c__buf_init(&j1, NULL);
		pt2c__buf_init(&j2, NULL);
		CHECK(pt2c__partitioned_json_write(&j1, m1, false) == 0);
		pt2c_module *m2 = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_json_read(&m2, j1.data, j1.len, NULL, &err);
		CHECK_MSG(rc == 0, "%s: %s: %s", path, err.member, err.message);
		if (m2) {
			check_module_eq(path, m1, m2);
			/* writing is deterministic: the re-read module writes the same text */
			CHECK(pt2c__partitioned_json_write(&j2, m2, false) == 0);
			CHECK_MSG(j1.len == j2.len && memcmp(j1.data, j2.data, j1.len) == 0, "%s: second write differs", path);
		}
		/* the member form without an archive is refused, naming the reference */
		pt2c_buf jm;
		pt2c__buf_init(&jm, NULL);
		CHECK(pt2c__partitioned_json_write(&jm, m1, true) == 0);
		pt2c_module *m3 = NULL;
		err = (pt2c_error)PT2C_ERROR_INIT;
		rc = pt2c__partitioned_json_read(&m3, jm.data, jm.len, NULL, &err);
		if (m1->n_attrs || m1->n_subs) {
			CHECK_EQ_INT(rc, PT2C_ECORRUPT);
			CHECK_MSG(strstr(err.message, "outside a partitioned archive") != NULL, "%s", err.message);
		}
		pt2c__module_free(m3);
		pt2c__buf_free(&jm);
		pt2c__module_free(m2);
		pt2c__buf_free(&j1);
		pt2c__buf_free(&j2);
		pt2c__module_free(m1);
	}
}

/* The archive layout itself: member order, root, format/version bytes, 64-byte alignment. */
static void test_archive_layout(void)
{
	pt2c_module *m = read_json_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"));
	REQUIRE(m);
	pt2c_buf arch;
	REQUIRE(write_archive(m, &arch) == 0);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, (const uint8_t *)arch.data, arch.len, &(pt2c_zip_opts){ PT2C_ZIP_VERIFY_CRC, 0, NULL }, NULL, NULL) == 0);
	REQUIRE(z.n >= 4);
	CHECK(z.entries[0].name_len == 18 && memcmp(z.entries[0].name, "partitioned/format", 18) == 0);
	CHECK(z.entries[0].size == 16 && memcmp(pt2c__zip_data(&z, &z.entries[0]), "pt2c-partitioned", 16) == 0);
	CHECK(z.entries[1].size == 1 && pt2c__zip_data(&z, &z.entries[1])[0] == '1');
	const pt2c_zip_entry *last = &z.entries[z.n - 1];
	CHECK(last->name_len == 23 && memcmp(last->name, "partitioned/module.json", 23) == 0);
	/* one weights member per attribute here (no ties), and one engine member per engine */
	uint32_t n_w = 0, n_e = 0, n_attrs = m->n_attrs, n_eng = 0;
	for (uint32_t k = 0; k < m->n_subs; k++) {
		if (m->subs[k].kind == PT2C_SUB_ENGINE) n_eng++;
		else n_attrs += m->subs[k].fallback->n_attrs;
	}
	for (uint32_t k = 0; k < z.n; k++) {
		const pt2c_zip_entry *e = &z.entries[k];
		if (e->name_len > 20 && memcmp(e->name, "partitioned/weights/", 20) == 0) n_w++;
		if (e->name_len > 20 && memcmp(e->name, "partitioned/engines/", 20) == 0) n_e++;
		CHECK_MSG(e->data_off % 64 == 0, "member %u data at %llu", k, (unsigned long long)e->data_off);
	}
	CHECK_EQ_INT(n_w, n_attrs);
	CHECK_EQ_INT(n_e, n_eng);
	CHECK(n_eng == 2);
	CHECK(pt2c__zip_find(&z, "partitioned/engines/_run_on_acc_0", 33) != NULL);
	pt2c__zip_free(&z);
	pt2c__buf_free(&arch);
	pt2c__module_free(m);
}

/* MARK: hand-built archives */

typedef struct mem { const char *name; const char *data; size_t len; } mem;

static void build(pt2c_buf *out, const mem *ms, size_t n)
{
	pt2c__buf_init(out, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(out), NULL);
	for (size_t k = 0; k < n; k++)
		CHECK(pt2c__zipw_add(&w, ms[k].name, ms[k].data, ms[k].len == (size_t)-1 ? strlen(ms[k].data) : ms[k].len) == 0);
	CHECK(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);
}

#define PH "{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1]}}"
#define OUT "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[{\"node\": \"x\"}]]}"
#define W(name, dtype, sizes, strides, rest) "\"" name "\": {\"dtype\": \"" dtype "\", \"sizes\": " sizes ", \"strides\": " strides rest "}"

static const char WEIGHTS0[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* Tied weights and views: several weights share one member, each a view with its own offset. */
static void test_shared_member_views(void)
{
	const char *json = "{\"graph\": [" PH ", " OUT "], \"parameters\": {"
		W("a", "float32", "[4]", "[1]", ", \"data_member\": \"weights/0\"") ", "
		W("b", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\", \"storage_offset\": 2") ", "
		W("t", "float32", "[2, 2]", "[1, 2]", ", \"data_member\": \"weights/0\"") "}, "
		"\"buffers\": {" W("nb", "uint8", "[3]", "[1]", ", \"data_member\": \"weights/x\", \"persistent\": false") "}}";
	mem ms[] = { { "p/format", "pt2c-partitioned", (size_t)-1 }, { "p/version", "1", (size_t)-1 },
	             { "p/weights/0", WEIGHTS0, 16 }, { "p/weights/x", "abc", 3 }, { "p/module.json", json, (size_t)-1 } };
	pt2c_buf arch;
	build(&arch, ms, PT2C_ARRAY_LEN(ms));
	pt2c_module *m = NULL;
	pt2c_error err;
	int rc = read_archive(&arch, NULL, &m, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(m);
	REQUIRE(m->n_attrs == 4);
	pt2c_attr *a = pt2c__module_find_attr(m, "a"), *b = pt2c__module_find_attr(m, "b"), *t = pt2c__module_find_attr(m, "t");
	pt2c_attr *nb = pt2c__module_find_attr(m, "nb");
	REQUIRE(a && b && t && nb);
	CHECK(a->tensor.storage == b->tensor.storage && a->tensor.storage == t->tensor.storage);
	CHECK(a->tensor.storage->nbytes == 16 && inside(a->tensor.storage->data, &arch));
	CHECK_EQ_INT(b->tensor.meta.storage_offset.i, 2);
	CHECK(!nb->persistent && nb->tensor.storage->nbytes == 3 && memcmp(nb->tensor.storage->data, "abc", 3) == 0);
	CHECK_EQ_INT(a->tensor.storage->refcount, 3); /* the reader's own reference is gone */

	/* written back: one weights member for the shared storage, offsets kept */
	pt2c_buf again;
	REQUIRE(write_archive(m, &again) == 0);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, (const uint8_t *)again.data, again.len, NULL, NULL, NULL) == 0);
	CHECK(pt2c__zip_find(&z, "partitioned/weights/0", 21) && pt2c__zip_find(&z, "partitioned/weights/1", 21));
	CHECK(pt2c__zip_find(&z, "partitioned/weights/2", 21) == NULL);
	pt2c__zip_free(&z);
	pt2c_module *m2 = NULL;
	rc = read_archive(&again, NULL, &m2, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (m2) {
		check_module_eq("tied", m, m2);
		CHECK(m2->attrs[0].tensor.storage == m2->attrs[1].tensor.storage);
		CHECK_EQ_INT(pt2c__module_find_attr(m2, "b")->tensor.meta.storage_offset.i, 2);
	}
	pt2c__module_free(m2);

	/* JSON form: each view becomes its own span of bytes */
	pt2c_buf js;
	pt2c__buf_init(&js, NULL);
	REQUIRE(pt2c__partitioned_json_write(&js, m, false) == 0);
	pt2c_module *m3 = NULL;
	err = (pt2c_error)PT2C_ERROR_INIT;
	rc = pt2c__partitioned_json_read(&m3, js.data, js.len, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (m3) {
		pt2c_attr *b3 = pt2c__module_find_attr(m3, "b");
		REQUIRE(b3 && b3->tensor.storage);
		CHECK(b3->tensor.storage->nbytes == 8 && memcmp(b3->tensor.storage->data, WEIGHTS0 + 8, 8) == 0);
		check_module_eq("views->json", m, m3);
	}
	pt2c__module_free(m3);
	pt2c__buf_free(&js);
	pt2c__buf_free(&again);
	pt2c__module_free(m);
	pt2c__buf_free(&arch);
}

#define ENGINE_SUB(field3) "\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": [\"6\", \"e\", " \
	"\"0%9%0%1%NVIDIA H100\", " field3 ", \"input_0\", \"output_0\", \"0\", \"\", \"linux_x86_64\"]}}"

static void expect_fail(const char *label, const mem *ms, size_t n, int code, const char *member, const char *msg)
{
	pt2c_buf arch;
	build(&arch, ms, n);
	pt2c_module *m = (pt2c_module *)1;
	pt2c_error err;
	int rc = read_archive(&arch, NULL, &m, &err);
	CHECK_MSG(rc == code, "%s: rc %d, expected %d (%s)", label, rc, code, err.message);
	CHECK_MSG(m == NULL, "%s: *out not cleared", label);
	CHECK_MSG(strcmp(err.member, member) == 0, "%s: member \"%s\", expected \"%s\"", label, err.member, member);
	CHECK_MSG(strstr(err.message, msg) != NULL, "%s: message \"%s\" lacks \"%s\"", label, err.message, msg);
	if (rc == 0 && m) pt2c__module_free(m);
	pt2c__buf_free(&arch);
}

static void test_engine_member(void)
{
	const char *json = "{\"graph\": [" PH ", {\"op\": \"call_module\", \"name\": \"_run_on_acc_0\", \"target\": \"_run_on_acc_0\", "
		"\"args\": [{\"node\": \"x\"}], \"val\": [{\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1]}]}, " OUT "], "
		ENGINE_SUB("{\"member\": \"engines/_run_on_acc_0\"}") "}";
	mem ms[] = { { "r/format", "pt2c-partitioned", (size_t)-1 }, { "r/version", "1", (size_t)-1 },
	             { "r/engines/_run_on_acc_0", "ENGINE-BYTES", (size_t)-1 }, { "r/module.json", json, (size_t)-1 } };
	pt2c_buf arch;
	build(&arch, ms, PT2C_ARRAY_LEN(ms));
	pt2c_module *m = NULL;
	pt2c_error err;
	int rc = read_archive(&arch, NULL, &m, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(m);
	pt2c_submodule *s = pt2c__module_find_sub(m, "_run_on_acc_0");
	REQUIRE(s && s->engine && s->engine->engine);
	CHECK(s->engine->engine->nbytes == 12 && memcmp(s->engine->engine->data, "ENGINE-BYTES", 12) == 0);
	CHECK(inside(s->engine->engine->data, &arch));
	CHECK_EQ_INT(s->engine->abi, 6);
	pt2c__module_free(m);
	pt2c__buf_free(&arch);

	/* missing engine member: the reference's JSON path inside module.json */
	mem miss[] = { ms[0], ms[1], ms[3] };
	expect_fail("engine missing", miss, 3, PT2C_ECORRUPT, "r/module.json:/submodules/_run_on_acc_0/engine_record/3/member",
	            "member engines/_run_on_acc_0 does not exist");
	/* an engine reference must stay under engines/ */
	const char *json2 = "{\"graph\": [" PH ", " OUT "], " ENGINE_SUB("{\"member\": \"module.json\"}") "}";
	mem bad[] = { ms[0], ms[1], { "r/module.json", json2, (size_t)-1 } };
	expect_fail("engine outside engines/", bad, 3, PT2C_ECORRUPT, "r/module.json:/submodules/_run_on_acc_0/engine_record/3/member",
	            "under engines/");
}

static void test_errors(void)
{
	const char *ok_json = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\"") "}}";
	mem F = { "partitioned/format", "pt2c-partitioned", (size_t)-1 }, V = { "partitioned/version", "1", (size_t)-1 };
	mem W0 = { "partitioned/weights/0", WEIGHTS0, 8 }, J = { "partitioned/module.json", ok_json, (size_t)-1 };
	{
		mem ms[] = { F, V, W0, J };
		pt2c_buf arch;
		build(&arch, ms, 4);
		pt2c_module *m = NULL;
		pt2c_error err;
		CHECK_MSG(read_archive(&arch, NULL, &m, &err) == 0, "baseline: %s: %s", err.member, err.message);
		pt2c__module_free(m);
		pt2c__buf_free(&arch);
	}
	{
		mem ms[] = { V, W0, J };
		expect_fail("no format", ms, 3, PT2C_ECORRUPT, "partitioned/format", "member partitioned/format is missing");
	}
	{
		mem ms[] = { { "partitioned/format", "pt2c-partitioned\n", (size_t)-1 }, V, W0, J };
		expect_fail("bad format", ms, 4, PT2C_ECORRUPT, "partitioned/format", "expected \"pt2c-partitioned\"");
	}
	{
		mem ms[] = { F, { "partitioned/version", "2", (size_t)-1 }, W0, J };
		expect_fail("version 2", ms, 4, PT2C_EUNSUPPORTED, "partitioned/version", "version \"2\" is not supported");
	}
	{
		mem ms[] = { F, W0, J };
		expect_fail("no version", ms, 3, PT2C_ECORRUPT, "partitioned/version", "missing");
	}
	{
		mem ms[] = { F, V, W0 };
		expect_fail("no module.json", ms, 3, PT2C_ECORRUPT, "partitioned/module.json", "missing");
	}
	{
		mem ms[] = { F, V, J };
		expect_fail("weight member missing", ms, 3, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w/data_member",
		            "member weights/0 does not exist");
	}
	{
		mem ms[] = { F, V, { "partitioned/weights/0", WEIGHTS0, 7 }, J };
		expect_fail("view too large", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w/data_member",
		            "parameter w needs 8 bytes (storage_offset 0) but member weights/0 has 7");
	}
	{
		const char *j = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\", \"storage_offset\": 1") "}}";
		mem ms[] = { F, V, W0, { "partitioned/module.json", j, (size_t)-1 } };
		expect_fail("offset view too large", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w/data_member",
		            "needs 12 bytes (storage_offset 1)");
	}
	{
		const char *j = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\", \"storage_offset\": -1") "}}";
		mem ms[] = { F, V, W0, { "partitioned/module.json", j, (size_t)-1 } };
		expect_fail("negative offset", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w/storage_offset", "negative storage_offset");
	}
	{
		const char *j = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\"") ", "
			W("v", "int32", "[2]", "[1]", ", \"data_member\": \"weights/0\"") "}}";
		mem ms[] = { F, V, W0, { "partitioned/module.json", j, (size_t)-1 } };
		expect_fail("dtype clash", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/v/data_member", "share a dtype");
	}
	{
		const char *j = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"version\"") "}}";
		mem ms[] = { F, V, W0, { "partitioned/module.json", j, (size_t)-1 } };
		expect_fail("weight outside weights/", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w/data_member", "under weights/");
	}
	{
		const char *j = "{\"graph\": [" PH ", " OUT "], \"parameters\": {" W("w", "float32", "[2]", "[1]", ", \"data_member\": \"weights/0\", \"data_b64\": \"AAAAAAAAAAA=\"") "}}";
		mem ms[] = { F, V, W0, { "partitioned/module.json", j, (size_t)-1 } };
		expect_fail("both sources", ms, 4, PT2C_ECORRUPT, "partitioned/module.json:/parameters/w", "both data_b64 and data_member");
	}
	{
		mem ms[] = { F, V, W0, { "partitioned/module.json", "{\"graph\": [", (size_t)-1 } };
		expect_fail("bad module.json", ms, 4, PT2C_ECORRUPT, "partitioned/module.json", "line 1 column");
	}
	{
		mem ms[] = { { "format", "pt2c-partitioned", (size_t)-1 }, V, W0, J };
		expect_fail("no root folder", ms, 4, PT2C_ECORRUPT, "central directory", "not inside a root folder");
	}
	{
		/* the root comes from the first entry: other roots are foreign members */
		mem ms[] = { F, V, W0, { "other/module.json", ok_json, (size_t)-1 } };
		expect_fail("module.json under another root", ms, 4, PT2C_ECORRUPT, "partitioned/module.json", "missing");
	}
	{
		mem ms[] = { F, V, W0, J, { "partitioned/weights/0", "dup", 3 } };
		pt2c_buf arch;
		pt2c__buf_init(&arch, NULL);
		pt2c_zipw w;
		pt2c__zipw_init(&w, pt2c__sink_buf(&arch), NULL);
		for (size_t k = 0; k < 4; k++) pt2c__zipw_add(&w, ms[k].name, ms[k].data, ms[k].len == (size_t)-1 ? strlen(ms[k].data) : ms[k].len);
		CHECK_EQ_INT(pt2c__zipw_add(&w, ms[4].name, "dup", 3), PT2C_EINVALID); /* the writer refuses duplicates */
		pt2c__zipw_free(&w);
		pt2c__buf_free(&arch);
	}
	/* zip-level junk: not an archive at all */
	{
		const char junk[] = "this is not a zip file, just some bytes that go on for a while......";
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_archive_read(&m, (const uint8_t *)junk, sizeof junk - 1, NULL, NULL, &err);
		CHECK_EQ_INT(rc, PT2C_ECORRUPT);
		CHECK(m == NULL);
		CHECK_MSG(strcmp(err.member, "end of central directory") == 0, "junk: member \"%s\" (%s)", err.member, err.message);
		rc = pt2c__partitioned_archive_read(&m, NULL, 0, NULL, NULL, &err);
		CHECK_EQ_INT(rc, PT2C_ECORRUPT);
	}
	/* an empty but valid zip */
	{
		pt2c_buf arch;
		build(&arch, NULL, 0);
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err;
		CHECK_EQ_INT(read_archive(&arch, NULL, &m, &err), PT2C_ECORRUPT);
		CHECK_MSG(strstr(err.message, "empty") != NULL, "%s", err.message);
		pt2c__buf_free(&arch);
	}
}

/* Every prefix and a byte flip at every 13th position of a real archive: errors, never crashes. */
static void test_truncated_and_flipped(void)
{
	pt2c_module *m = read_json_file(shared_path("fixtures/torch-2.11/full_engine_two_outputs.partitioned.json"));
	REQUIRE(m);
	pt2c_buf arch;
	REQUIRE(write_archive(m, &arch) == 0);
	pt2c__module_free(m);
	for (size_t k = 0; k < arch.len; k += 5) {
		uint8_t *cut = malloc(k ? k : 1);
		REQUIRE(cut);
		memcpy(cut, arch.data, k);
		pt2c_module *mm = (pt2c_module *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_archive_read(&mm, cut, k, NULL, NULL, &err);
		CHECK_MSG(rc != 0 && mm == NULL, "prefix %zu: rc %d", k, rc);
		free(cut);
	}
	uint8_t *copy = malloc(arch.len);
	REQUIRE(copy);
	size_t accepted = 0;
	for (size_t k = 0; k < arch.len; k += 13) {
		memcpy(copy, arch.data, arch.len);
		copy[k] ^= 0x5a;
		pt2c_module *mm = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		if (pt2c__partitioned_archive_read(&mm, copy, arch.len, NULL, NULL, &err) == 0) {
			accepted++; /* a flip inside weight bytes or padding is not detectable without CRCs */
			pt2c__module_free(mm);
		} else {
			CHECK(mm == NULL && err.message[0]);
		}
	}
	CHECK(accepted < arch.len / 13);
	free(copy);
	pt2c__buf_free(&arch);
}

/*
 * An archive written by tools/python/pt2c_bridge.py (module.json first, compact separators,
 * ZIP64 extras after "FB" padding; made from the fake storages of its offline test):
 * fuzzers/corpora/parch/ok_python_bridge.zip.
 */
static void test_python_bridge_archive(void)
{
	const char *src = getenv("PT2C_SOURCE");
	char path[4096];
	snprintf(path, sizeof path, "%s/fuzzers/corpora/parch/ok_python_bridge.zip", src ? src : ".");
	size_t n;
	uint8_t *d = read_file(path, &n);
	REQUIRE(d);
	pt2c_buf arch = { .alloc = NULL, .data = (char *)d, .len = n, .cap = n };
	pt2c_module *m = NULL;
	pt2c_error err;
	int rc = read_archive(&arch, NULL, &m, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (!m) { free(d); return; }
	check_zero_copy(m, &arch, "bridge");
	pt2c_submodule *gpu = pt2c__module_find_sub(m, "_run_on_gpu_1"), *acc = pt2c__module_find_sub(m, "_run_on_acc_0");
	REQUIRE(gpu && acc && gpu->fallback && acc->engine && acc->engine->engine);
	pt2c_attr *w = pt2c__module_find_attr(gpu->fallback, "w"), *wt = pt2c__module_find_attr(gpu->fallback, "w_tied");
	pt2c_attr *row2 = pt2c__module_find_attr(gpu->fallback, "row2");
	REQUIRE(w && wt && row2);
	CHECK(w->tensor.storage == wt->tensor.storage && w->tensor.storage == row2->tensor.storage);
	CHECK(w->tensor.storage->nbytes == 64 && w->tensor.storage->data[63] == 63);
	CHECK_EQ_INT(row2->tensor.meta.storage_offset.i, 8);
	pt2c_attr *h = pt2c__module_find_attr(m, "h"), *count = pt2c__module_find_attr(m, "count"), *empty = pt2c__module_find_attr(m, "empty");
	REQUIRE(h && count && empty);
	CHECK(h->tensor.meta.dtype == PT2C_DTYPE_FLOAT16 && h->tensor.storage != w->tensor.storage && h->tensor.storage->nbytes == 64);
	CHECK(count->kind == PT2C_ATTR_BUFFER && !count->persistent && count->tensor.storage->nbytes == 24);
	CHECK(empty->tensor.storage && empty->tensor.storage->nbytes == 0);
	CHECK(acc->engine->engine->nbytes == 300 && memcmp(acc->engine->engine->data, "PLAN-0PLAN-0", 12) == 0);
	const pt2c_graph *g = m->graph;
	const pt2c_value *to = &g->values[pt2c__graph_find_value(g, "to", 2)];
	CHECK(to->kind == PT2C_VAL_SYM_INT && to->u.sym.kind == PT2C_SYM_EXPR);
	/* rewritten by pt2c: the same module, the tied storage once */
	pt2c_buf again;
	REQUIRE(write_archive(m, &again) == 0);
	pt2c_module *m2 = NULL;
	rc = read_archive(&again, NULL, &m2, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (m2) check_module_eq("bridge rewrite", m, m2);
	pt2c__module_free(m2);
	pt2c__buf_free(&again);
	pt2c__module_free(m);
	free(d);
}

/* Argument kinds, non-finite floats, symbols, op schemas and devices survive JSON and archive round trips. */
static void test_args_round_trip(void)
{
	const char *doc =
		"{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", "
		"\"val\": {\"dtype\": \"bfloat16\", \"sizes\": [\"s0\", 3], \"strides\": [3, 1], \"device\": \"cuda:1\", \"requires_grad\": true}}, "
		"{\"op\": \"call_function\", \"name\": \"to\", \"target\": \"torch.ops.aten._to_copy.default\", "
		"\"args\": [{\"node\": \"x\"}, 1e300, -0.0, 2.5e-8, 3.0], \"kwargs\": {\"dtype\": {\"as_scalar_type\": 6}, \"dt2\": {\"dtype\": \"torch.int64\"}, "
		"\"device\": {\"as_device\": {\"type\": \"cuda\", \"index\": 0}}, \"dev2\": {\"as_device\": {\"type\": \"cpu\", \"index\": null}}, "
		"\"layout\": {\"as_layout\": 7}, \"mf\": {\"as_memory_format\": 2}, \"ninf\": {\"as_float\": \"-Infinity\"}, \"pinf\": Infinity, "
		"\"nan\": NaN, \"dims\": {\"as_ints\": [1, -2, 9007199254740993]}, \"fl\": {\"as_floats\": [0.1, \"Infinity\", \"NaN\"]}, "
		"\"bl\": {\"as_bools\": [true, false]}, \"ss\": {\"as_strings\": [\"a\", \"\\u0000b\\n\"]}, "
		"\"s\": \"a\\u00e9\\ud83d\\ude00\\\"\", \"b\": true, \"none\": null, \"big\": -9223372036854775808, "
		"\"si\": {\"as_sym_int\": {\"as_int\": 5}}, \"sn\": {\"as_sym_int\": {\"as_name\": \"x\"}}, \"tt\": {\"as_tensor\": {\"name\": \"x\"}}}, "
		"\"val\": {\"dtype\": \"float16\", \"sizes\": [\"s0\", 3], \"strides\": [3, 1], \"device\": {\"type\": \"cuda\", \"index\": 0}}}, "
		"{\"op\": \"call_function\", \"name\": \"sz\", \"target\": \"torch.ops.aten.sym_size.int\", \"args\": [{\"node\": \"to\"}, 0], \"val\": \"s0\"}, "
		"{\"op\": \"call_function\", \"name\": \"k\", \"target\": \"f\", \"args\": [], \"val\": 7}, "
		"{\"op\": \"call_function\", \"name\": \"bb\", \"target\": \"f\", \"args\": [], \"val\": false}, "
		"{\"op\": \"call_function\", \"name\": \"ff\", \"target\": \"f\", \"args\": [], \"val\": 0.25}, "
		"{\"op\": \"call_function\", \"name\": \"fi\", \"target\": \"f\", \"args\": [], \"val\": -Infinity}, "
		"{\"op\": \"call_function\", \"name\": \"t\", \"target\": \"f\", \"args\": [[[{\"node\": \"sz\"}], [], [[[null]]]]]}, "
		"{\"op\": \"get_attr\", \"name\": \"c\", \"target\": \"sub.c\", \"val\": {\"dtype\": \"int64\", \"sizes\": [], \"strides\": []}}, "
		"{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[{\"node\": \"to\"}, {\"node\": \"t\"}]]}], "
		"\"constants\": {\"sub.c\": {\"dtype\": \"int64\", \"sizes\": [], \"strides\": [], \"data_b64\": \"KgAAAAAAAAA=\"}}, "
		"\"parameters\": {\"e\": {\"dtype\": \"float32\", \"sizes\": [0, 4], \"strides\": [4, 1], \"requires_grad\": true}}, "
		"\"in_spec\": \"[1, {\\\"type\\\": null}]\", \"out_spec\": null, "
		"\"symbols\": {\"s0\": [2, null], \"s1\": [null, 8]}, \"op_schemas\": {\"f\": \"f(Tensor x) -> Tensor\", \"g::h\": \"g::h() -> ()\"}}";
	pt2c_module *m1 = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m1, doc, strlen(doc), NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(m1);
	pt2c_buf js;
	pt2c__buf_init(&js, NULL);
	REQUIRE(pt2c__partitioned_json_write(&js, m1, false) == 0);
	pt2c_module *m2 = NULL;
	rc = pt2c__partitioned_json_read(&m2, js.data, js.len, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s\n%.*s", err.member, err.message, (int)js.len, js.data);
	if (m2) check_module_eq("args json", m1, m2);
	pt2c_buf arch;
	REQUIRE(write_archive(m1, &arch) == 0);
	pt2c_module *m3 = NULL;
	rc = read_archive(&arch, NULL, &m3, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (m3) {
		check_module_eq("args archive", m1, m3);
		pt2c_attr *c = pt2c__module_find_attr(m3, "sub.c");
		REQUIRE(c && c->tensor.storage);
		CHECK(c->kind == PT2C_ATTR_CONSTANT && c->tensor.storage->nbytes == 8 && c->tensor.storage->data[0] == 42);
	}
	/* the writer's spellings: a scalar type as {"dtype": ...}, a non-finite float tagged */
	pt2c__buf_cstr(&js);
	CHECK(strstr(js.data, "\"dt2\": {\"dtype\": \"int64\"}") != NULL);
	CHECK(strstr(js.data, "\"ninf\": {\"as_float\": \"-Infinity\"}") != NULL);
	CHECK(strstr(js.data, "\"device\": \"cuda:1\"") != NULL);
	pt2c__module_free(m3);
	pt2c__buf_free(&arch);
	pt2c__module_free(m2);
	pt2c__buf_free(&js);
	pt2c__module_free(m1);
}

/* describe()'s non-tensor spellings: {"symint": ...} vals, {"repr": ...} vals and arguments. */
static void test_describe_spellings(void)
{
	const char *doc = "{\"graph\": [" PH ", "
		"{\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [], \"val\": {\"symint\": \"s0\"}}, "
		"{\"op\": \"call_function\", \"name\": \"b\", \"target\": \"f\", \"args\": [], \"val\": {\"symint\": -3}}, "
		"{\"op\": \"call_function\", \"name\": \"c\", \"target\": \"f\", \"args\": [], \"val\": {\"repr\": \"slice(None, None, None)\"}}, "
		"{\"op\": \"call_function\", \"name\": \"d\", \"target\": \"f\", \"args\": [], \"val\": "
		"[{\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1]}, {\"symint\": 4}]}, " OUT "]}";
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, doc, strlen(doc), NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(m);
	pt2c_graph *g = m->graph;
	const pt2c_value *a = &g->values[pt2c__graph_find_value(g, "a", 1)], *b = &g->values[pt2c__graph_find_value(g, "b", 1)];
	const pt2c_value *c = &g->values[pt2c__graph_find_value(g, "c", 1)], *d = &g->values[pt2c__graph_find_value(g, "d", 1)];
	CHECK(a->kind == PT2C_VAL_SYM_INT && a->u.sym.kind == PT2C_SYM_EXPR && strcmp(a->u.sym.expr, "s0") == 0);
	CHECK(b->kind == PT2C_VAL_SYM_INT && b->u.sym.kind == PT2C_SYM_INT && b->u.sym.i == -3);
	CHECK(c->kind == PT2C_VAL_OTHER && !c->has_meta);
	CHECK(d->kind == PT2C_VAL_OTHER && !d->has_meta);
	/* and they survive a write */
	pt2c_buf js;
	pt2c__buf_init(&js, NULL);
	REQUIRE(pt2c__partitioned_json_write(&js, m, false) == 0);
	pt2c_module *m2 = NULL;
	rc = pt2c__partitioned_json_read(&m2, js.data, js.len, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (m2) check_module_eq("describe spellings", m, m2);
	pt2c__module_free(m2);
	pt2c__buf_free(&js);
	pt2c__module_free(m);

	const char *bad = "{\"graph\": [" PH ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", "
		"\"args\": [{\"node\": \"x\"}, {\"repr\": \"Ellipsis\"}]}, " OUT "]}";
	m = (pt2c_module *)1;
	err = (pt2c_error)PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__partitioned_json_read(&m, bad, strlen(bad), NULL, &err), PT2C_EUNSUPPORTED);
	CHECK(m == NULL);
	CHECK_STR(err.member, "/graph/1/args/1");
	CHECK_MSG(strstr(err.message, "argument Ellipsis of node a has no pt2c equivalent") != NULL, "%s", err.message);
}

/* Kinds without a partitioned spelling are refused, not silently dropped. */
static void test_unsupported_kinds(void)
{
	pt2c_module *m = read_json_file(shared_path("fixtures/torch-2.11/no_engine.partitioned.json"));
	REQUIRE(m);
	pt2c_graph *g = m->graph;
	uint32_t out = pt2c__graph_output_node(g);
	REQUIRE(out != PT2C_NONE && g->nodes[out].n_inputs == 1);
	pt2c_arg saved = g->nodes[out].inputs[0].arg;
	g->nodes[out].inputs[0].arg.kind = PT2C_ARG_COMPLEX;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	CHECK_EQ_INT(pt2c__partitioned_json_write(&b, m, false), PT2C_EUNSUPPORTED);
	pt2c__buf_free(&b);
	pt2c__buf_init(&b, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__partitioned_archive_write(m, pt2c__sink_buf(&b), &err), PT2C_EUNSUPPORTED);
	CHECK_EQ_INT(b.len, 0); /* nothing reached the sink */
	CHECK(strstr(err.message, "cannot express") != NULL);
	pt2c__buf_free(&b);
	g->nodes[out].inputs[0].arg = saved;
	pt2c__module_free(m);
}


/* Fail the N-th allocation for every N: always ENOMEM, no leak (ASan), no reference left on backing. */
static void test_archive_read_out_of_memory(void)
{
	pt2c_module *m0 = read_json_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"));
	REQUIRE(m0);
	pt2c_buf arch;
	REQUIRE(write_archive(m0, &arch) == 0);
	pt2c__module_free(m0);
	pt2c_storage *backing = NULL;
	REQUIRE(pt2c__storage_new(NULL, (const uint8_t *)arch.data, arch.len, NULL, NULL, &backing) == 0);
	test_alloc fa; /* the harness's failing allocator */
	test_alloc_init(&fa);
	fa.fail_all = true; /* every allocation after the first failure fails too */
	const pt2c_allocator a = fa.a;
	long limit;
	for (limit = 0; limit < 100000; limit++) {
		test_alloc_arm(&fa, limit);
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_archive_read(&m, (const uint8_t *)arch.data, arch.len, backing, &a, &err);
		if (rc == 0) {
			REQUIRE(m != NULL);
			CHECK_EQ_INT(m->graph->n_live, 5);
			CHECK(backing->refcount > 1);
			test_alloc_disarm(&fa);
			pt2c__module_free(m);
			CHECK_EQ_INT(backing->refcount, 1);
			break;
		}
		CHECK_MSG(rc == PT2C_ENOMEM, "allocation %ld: rc %d (%s)", limit, rc, err.message);
		CHECK(m == NULL);
		CHECK_MSG(backing->refcount == 1, "allocation %ld: backing refcount %u", limit, backing->refcount);
	}
	CHECK(limit > 10 && limit < 100000);
	CHECK_EQ_INT(fa.live, 0);
	pt2c__storage_unref(backing);
	pt2c__buf_free(&arch);
}

/* The writer under allocation failure (it used libc, not the module's allocator, for its tables). */
static void *pw_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c_module_load_json(&m, shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"), a, &err))
		return NULL;
	pt2c_buf *out = calloc(1, sizeof *out);
	if (!out) {
		pt2c__module_free(m);
		return NULL;
	}
	pt2c__buf_init(out, NULL);
	void **st = calloc(2, sizeof *st);
	if (!st) {
		free(out);
		pt2c__module_free(m);
		return NULL;
	}
	st[0] = m;
	st[1] = out;
	return st;
}

static int pw_step(void *ctx, void *state)
{
	(void)ctx;
	void **st = state;
	pt2c_buf *out = st[1];
	pt2c__buf_free(out);
	pt2c__buf_init(out, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_archive_write(st[0], pt2c__sink_buf(out), &err);
	if (rc) { /* what reached the sink before a failure is the caller's to drop (files: removed) */
		pt2c__buf_free(out);
		pt2c__buf_init(out, NULL);
	}
	return rc && err.code != rc ? PT2C_EINVALID : rc;
}

/* The module as printed, then the archive written (its size and bytes summed) on success. */
static char *pw_show(void *ctx, void *state)
{
	(void)ctx;
	void **st = state;
	char *text = NULL;
	size_t len = 0;
	if (pt2c_module_print(st[0], &text, &len)) return NULL;
	const pt2c_buf *out = st[1];
	uint64_t sum = 0;
	for (size_t i = 0; i < out->len; i++) sum = sum * 31 + (uint8_t)out->data[i];
	char *s = malloc(len + 64);
	if (s) snprintf(s, len + 64, "%s\narchive %zu %016llx\n", text, out->len, (unsigned long long)sum);
	pt2c_free(text);
	return s;
}

static void pw_teardown(void *ctx, void *state)
{
	(void)ctx;
	void **st = state;
	pt2c__module_free(st[0]);
	pt2c__buf_free(st[1]);
	free(st[1]);
	free(st);
}

static void test_archive_write_out_of_memory(void)
{
	test_oom_case c = { "partitioned archive write", pw_setup, pw_step, pw_show, pw_teardown, NULL, 0 };
	CHECK(test_oom_state_unchanged(&c) > 3); /* the storage table, its index, the JSON, the zip writer */
}

typedef struct failing_sink {
	long left; /* writes that still succeed */
	pt2c_buf *b;
} failing_sink;

static int fs_write(void *ctx, const void *p, size_t n)
{
	failing_sink *f = ctx;
	if (f->left-- <= 0) return PT2C_EIO;
	pt2c__buf_put(f->b, p, n);
	return 0;
}

/* A sink that fails at write N: the writer returns its code and names the member it was writing. */
static void test_archive_write_sink_failure(void)
{
	pt2c_module *m = read_json_file(shared_path("fixtures/torch-2.11/full_engine_two_outputs.partitioned.json"));
	REQUIRE(m);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	failing_sink fs = { 1L << 30, &b };
	pt2c_sink sink = { fs_write, &fs };
	REQUIRE(pt2c__partitioned_archive_write(m, sink, NULL) == 0);
	long writes = (1L << 30) - fs.left;
	CHECK(writes > 5);
	bool saw_weights = false, saw_json = false;
	for (long k = 0; k < writes; k++) {
		b.len = 0;
		fs.left = k;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_archive_write(m, sink, &err);
		CHECK_MSG(rc == PT2C_EIO, "write %ld: rc %d", k, rc);
		CHECK_MSG(strstr(err.message, "writing partitioned archive member partitioned/") != NULL, "write %ld: %s", k, err.message);
		saw_weights |= strstr(err.member, "partitioned/weights/") != NULL;
		saw_json |= strcmp(err.member, "partitioned/module.json") == 0;
	}
	CHECK(saw_weights && saw_json);
	pt2c__buf_free(&b);
	pt2c__module_free(m);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 100k nodes: write + read of both forms (times printed, not asserted: speed is measured in bench/). */
static void test_large_round_trip(void)
{
	const long N = 100000;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "{\"graph\": [" PH);
	for (long i = 1; i < N; i++)
		pt2c__buf_printf(&b, ", {\"op\": \"call_function\", \"name\": \"n%ld\", \"target\": \"torch.ops.aten.add.Tensor\", "
		                 "\"args\": [{\"node\": \"%s%ld\"}, {\"node\": \"x\"}], \"kwargs\": {\"alpha\": 2}, "
		                 "\"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1]}}",
		                 i, i == 1 ? "x" : "n", i == 1 ? 0L : i - 1);
	pt2c__buf_printf(&b, ", {\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [{\"node\": \"n%ld\"}]}], "
	                 "\"parameters\": {\"w\": {\"dtype\": \"uint8\", \"sizes\": [3], \"strides\": [1], \"data_b64\": \"AQID\"}}}", N - 1);
	REQUIRE(b.err == 0);
	/* fix the first reference ("x0" -> "x") */
	char *x0 = strstr(b.data, "\"x0\"");
	REQUIRE(x0);
	memmove(x0 + 2, x0 + 3, b.len - (size_t)(x0 + 3 - b.data));
	b.len--;
	pt2c_module *m1 = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m1, b.data, b.len, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(m1);
	double t0 = now();
	pt2c_buf arch;
	REQUIRE(write_archive(m1, &arch) == 0);
	double tw = now();
	pt2c_module *m2 = NULL;
	rc = read_archive(&arch, NULL, &m2, &err);
	double t1 = now();
	printf("  write %.3f s, read %.3f s\n", tw - t0, t1 - tw);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	printf("  100k-node archive round trip: %.3f s (%zu bytes)\n", t1 - t0, arch.len);
	if (m2) {
		CHECK_EQ_INT(m2->graph->n_live, N + 1);
		check_module_eq("large", m1, m2);
	}
	pt2c__module_free(m2);
	pt2c__buf_free(&arch);
	pt2c__module_free(m1);
	pt2c__buf_free(&b);
}

PT2C_TEST_MAIN({
	RUN(test_fixtures_archive_round_trip);
	RUN(test_fixtures_json_round_trip);
	RUN(test_archive_layout);
	RUN(test_shared_member_views);
	RUN(test_engine_member);
	RUN(test_errors);
	RUN(test_truncated_and_flipped);
	RUN(test_python_bridge_archive);
	RUN(test_args_round_trip);
	RUN(test_describe_spellings);
	RUN(test_unsupported_kinds);
	RUN(test_archive_read_out_of_memory);
	RUN(test_archive_write_out_of_memory);
	RUN(test_archive_write_sink_failure);
	RUN(test_large_round_trip);
})
