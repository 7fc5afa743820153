/*
 * partitioned_json.c -- read the JSON form of a Torch-TensorRT partitioned module
 * (../shared/fixtures/torch-2.11/README.md) into a pt2c_module.
 *
 * Accepted document (unknown keys are ignored everywhere):
 *   { "graph": [node...], "submodules": {name: sub}, "parameters": {fqn: attr},
 *     "buffers": {fqn: attr}, "constants": {fqn: attr}, "in_spec": str|null, "out_spec": str|null,
 *     "symbols": {name: [min|null, max|null]}, "op_schemas": {target: schema} }
 *   node = { "op": placeholder|get_attr|call_function|call_module|output, "name": str,
 *            "target": str, "args": [arg...], "kwargs": {key: arg}, "val": val }
 *   sub  = { "kind": "engine", "engine_record": [str...] }   (field 3 = base64 engine bytes)
 *        | { "kind": "graph", "graph": [...], "parameters": {...}, "buffers": {...}, "constants": {...} }
 *   attr = tensor meta + "data_b64": base64 of the raw little-endian bytes + optional
 *          "persistent": bool (buffers; default true)
 *   meta = { "dtype": "float32"|"torch.float32"|..., "sizes": [int|symbol], "strides": [int|symbol],
 *            "device": "cpu"|"cuda:0"|{"type": str, "index": int|null} (default cpu),
 *            "requires_grad": bool (default false) }
 *   val  = meta (TENSOR) | [meta...] (TENSOR_LIST) | null/absent (OTHER, no metadata)
 *        | int or symbol string or {"symint": int|expr} (SYM_INT) | bool (SYM_BOOL) | float (SYM_FLOAT)
 *        | {"repr": s}, or a list holding one (OTHER, no metadata: the IR has no mixed tuples)
 *   arg  = {"node": name}           -> FX_NODE (the node must come earlier in the graph)
 *        | [arg...]                 -> FX_LIST
 *        | int | float | bool | null | string -> INT | FLOAT | BOOL | NONE | STRING
 *        | one-key PT2 Argument objects: {"as_none": _}, {"as_int": i}, {"as_float": f or
 *          "Infinity"/"-Infinity"/"NaN"}, {"as_bool": b}, {"as_string": s},
 *          {"as_ints"|"as_floats"|"as_bools"|"as_strings": [...]}, {"as_scalar_type": i},
 *          {"as_layout": i}, {"as_memory_format": i}, {"as_device": {"type": s, "index": i|null}},
 *          {"as_sym_int": i | {"as_int": i} | {"as_name": value}},
 *          {"as_tensor": {"name": value}}
 * Bare NaN/Infinity tokens are accepted (Python's json.dump writes them).
 *
 * Archive form (docs/partitioned-format.md, entry pt2c__partitioned_json_read_ex with a member
 * resolver; partitioned_archive.c supplies one): an attribute may give "data_member": "weights/..."
 * plus optional "storage_offset" (elements) instead of data_b64, a view that must fit inside the
 * member; engine record field 3 may be {"member": "engines/..."}. Both become zero-copy storages
 * from the resolver. Without a resolver both forms are PT2C_ECORRUPT. Also accepted everywhere:
 * {"dtype": "float32"} as a SCALAR_TYPE argument.
 *
 * Errors: malformed structure is PT2C_ECORRUPT with err->member = a JSON pointer to the offending
 * value ("/graph/3/args/0") and err->offset = its byte offset; graph violations found while
 * reading (duplicate names, references to undefined or later nodes) are PT2C_EGRAPH, placed the
 * same way. Everything the module keeps is copied into its ctx, so `data` may be freed after the
 * call; weights and engines are decoded straight into their owned storages (one allocation each).
 */
#include "serde/serde.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define ARG_MAX_DEPTH 64 /* matches the IR's walk limit (arg.c) */
#define PATH_MAX_SEGS 96

/* MARK: reader state and error placement */

typedef struct pseg {
	const char *key; /* NULL: an array index */
	uint32_t klen;
	uint32_t idx;
} pseg;

typedef struct prd {
	pt2c_ctx *ctx;
	const pt2c_allocator *alloc; /* the caller's: frees storages even after ctx is gone */
	const char *data;
	size_t len;
	pt2c_error *err;
	pseg path[PATH_MAX_SEGS];
	uint32_t depth;
	pt2c_named_arg *tmp_in; /* scratch for one node's inputs */
	size_t tmp_cap;
	const char *cpu; /* interned "cpu", the default device */
	const pt2c_member_resolver *res; /* archive form: resolves data_member / engine members; NULL for plain JSON */
	pt2c_arena *dom;      /* the document's DOM, in which "graph" arrays are left lazy (RAW) */
	pt2c_arena node_dom;  /* one graph node's DOM at a time, reset per node: nothing the module keeps points here */
	pt2c_json_opts opts;
	pt2c_meta_pool metas; /* shared metadata of tensor values, and shared sizes/strides arrays */
	pt2c_sym *tmp_dims;   /* scratch for one sizes/strides array */
	size_t tmp_dims_cap;
} prd;

static void push_key(prd *r, const char *k, size_t n)
{
	if (r->depth < PATH_MAX_SEGS) {
		r->path[r->depth].key = k;
		r->path[r->depth].klen = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	}
	r->depth++;
}

static void push_idx(prd *r, uint32_t i)
{
	if (r->depth < PATH_MAX_SEGS) {
		r->path[r->depth].key = NULL;
		r->path[r->depth].idx = i;
	}
	r->depth++;
}

static void pop(prd *r) { r->depth--; }

/* The current path as a JSON pointer ('~' -> "~0", '/' -> "~1"), truncated to fit. */
static void format_path(const prd *r, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = 0;
	if (r->res && r->res->member) {
		/* inside an archive: "partitioned/module.json:/parameters/w" */
		int w = snprintf(buf, cap, "%s:", r->res->member);
		o = w > 0 ? (size_t)w : 0;
		if (o >= cap) o = cap - 1;
	}
	size_t start = o;
	uint32_t n = r->depth < PATH_MAX_SEGS ? r->depth : PATH_MAX_SEGS;
	for (uint32_t s = 0; s < n && o + 2 < cap; s++) {
		buf[o++] = '/';
		if (!r->path[s].key) {
			int w = snprintf(buf + o, cap - o, "%" PRIu32, r->path[s].idx);
			o += w > 0 ? (size_t)w : 0;
			if (o >= cap) o = cap - 1;
			continue;
		}
		for (uint32_t k = 0; k < r->path[s].klen && o + 3 < cap; k++) {
			char c = r->path[s].key[k];
			if (c == '~' || c == '/') {
				buf[o++] = '~';
				buf[o++] = c == '~' ? '0' : '1';
			} else {
				buf[o++] = c;
			}
		}
	}
	if (o == start && o + 1 < cap) buf[o++] = '/';
	buf[o < cap ? o : cap - 1] = 0;
}

/* Fail with `code` at value `at` (NULL: position unknown) under the current path. */
__attribute__((format(printf, 4, 5)))
static int fail(prd *r, int code, const pt2c_json *at, const char *fmt, ...)
{
	char msg[PT2C_ERROR_MESSAGE_MAX - 48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char path[PT2C_ERROR_WHERE_MAX];
	format_path(r, path, sizeof path);
	if (!at) return pt2c__err_at(r->err, code, path, UINT64_MAX, "%s", msg);
	uint32_t line, col;
	pt2c__json_line_col(r->data, r->len, at->pos, &line, &col);
	return pt2c__err_at(r->err, code, path, at->pos, "%s at line %" PRIu32 " column %" PRIu32, msg, line, col);
}

static int oom(prd *r) { return pt2c__err_oom(r->err); }

/* A JSON type name for messages. */
static const char *jtype(const pt2c_json *v)
{
	if (!v) return "nothing";
	switch (v->type) {
	case PT2C_JSON_NULL: return "null";
	case PT2C_JSON_FALSE:
	case PT2C_JSON_TRUE: return "a boolean";
	case PT2C_JSON_INT: return "an integer";
	case PT2C_JSON_REAL: return "a number";
	case PT2C_JSON_STRING: return "a string";
	case PT2C_JSON_ARRAY:
	case PT2C_JSON_RAW: return "an array";
	default: return "an object";
	}
}

/* Printable prefix length of a string value for "%.*s" (names in messages stay short). */
static int shown(const pt2c_json *s) { return (int)(s->n > 64 ? 64 : s->n); }

/* Interned copy of a string value that may be used as a C string (no embedded NUL); NULL + error otherwise. */
static const char *intern_name(prd *r, const pt2c_json *s, int *rc)
{
	if (memchr(s->u.s, 0, s->n)) {
		*rc = fail(r, PT2C_ECORRUPT, s, "name contains a NUL character");
		return NULL;
	}
	const char *p = pt2c__ctx_intern(r->ctx, s->u.s, s->n);
	if (!p) *rc = oom(r);
	return p;
}

/*
 * Member `key` of obj into *out, required to have JSON type `type` (TRUE: any boolean; REAL: any
 * number). If `optional`, an absent or null member gives *out = NULL and success.
 */
static int need(prd *r, const pt2c_json *obj, const char *key, int type, bool optional, const pt2c_json **out)
{
	const pt2c_json *v = pt2c__json_get(obj, key);
	*out = NULL;
	if (!v || (optional && v->type == PT2C_JSON_NULL)) {
		if (optional) return 0;
		return fail(r, PT2C_ECORRUPT, obj, "missing key \"%s\"", key);
	}
	bool ok = v->type == type || (type == PT2C_JSON_TRUE && v->type == PT2C_JSON_FALSE) ||
	          (type == PT2C_JSON_REAL && v->type == PT2C_JSON_INT) ||
	          (type == PT2C_JSON_ARRAY && v->type == PT2C_JSON_RAW);
	if (!ok) {
		push_key(r, key, strlen(key));
		static const char *const names[] = { "null", "a boolean", "a boolean", "an integer", "a number",
		                                     "a string", "an array", "an object" };
		int rc = fail(r, PT2C_ECORRUPT, v, "\"%s\" is %s, expected %s", key, jtype(v), names[type]);
		pop(r);
		return rc;
	}
	*out = v;
	return 0;
}

/* MARK: storages decoded from base64 */

typedef struct b64_block {
	pt2c_allocator alloc; /* copy, so release never depends on the caller's struct */
	bool custom;
} b64_block;

/* The decoded bytes start this far into the block, so they are as aligned as malloc's result. */
#define B64_DATA_OFFSET 64
_Static_assert(sizeof(b64_block) <= B64_DATA_OFFSET, "b64_block header too large");

static void b64_block_release(void *p)
{
	b64_block *h = p;
	pt2c_allocator a = h->alloc;
	pt2c__free(h->custom ? &a : NULL, h);
}

/*
 * Decode base64 string value s into a new owned storage (*out NULL for zero bytes). The bytes are
 * decoded straight into one block after a small header (which frees it): no second copy.
 */
static int decode_b64(prd *r, const pt2c_json *s, const char *what, pt2c_storage **out)
{
	*out = NULL;
	uint64_t full = pt2c__json_strlen(s);
	if (full > SIZE_MAX) return oom(r);
	size_t n = (size_t)full;
	size_t dlen = pt2c__b64_decoded_len(s->u.s, n);
	if (dlen == SIZE_MAX)
		return fail(r, PT2C_ECORRUPT, s, "%s is not valid base64 (length %zu is not a multiple of 4)", what, n);
	if (dlen == 0 && n == 0) return 0;
	size_t total;
	if (pt2c__add_ovf_sz(B64_DATA_OFFSET, dlen, &total)) return oom(r);
	b64_block *h = pt2c__malloc(r->alloc, total);
	if (!h) return oom(r);
	memset(h, 0, sizeof *h);
	if (r->alloc) {
		h->alloc = *r->alloc;
		h->custom = true;
	}
	uint8_t *dst = (uint8_t *)h + B64_DATA_OFFSET;
	size_t bad = 0;
	if (pt2c__b64_decode(dst, s->u.s, n, &bad) != 0) {
		pt2c__free(r->alloc, h);
		return fail(r, PT2C_ECORRUPT, s, "%s is not valid base64 (bad character at index %zu)", what, bad);
	}
	if (dlen == 0) {
		pt2c__free(r->alloc, h);
		return 0;
	}
	if (pt2c__storage_new(r->alloc, dst, dlen, b64_block_release, h, out) != 0) {
		pt2c__free(r->alloc, h);
		return oom(r);
	}
	return 0;
}

/*
 * Archive form: the zero-copy storage of member string value `name` (new reference in *out), via
 * the resolver; PT2C_ECORRUPT naming the member when it is missing or unusable.
 */
static int resolve_member(prd *r, const pt2c_json *name, bool engine, int dtype, pt2c_storage **out)
{
	*out = NULL;
	const char *why = NULL;
	int rc = r->res->resolve(r->res->ctx, engine, name->u.s, name->n, dtype, out, &why);
	if (rc == PT2C_ENOMEM) return oom(r);
	if (rc == PT2C_ENOTFOUND)
		return fail(r, PT2C_ECORRUPT, name, "member %.*s does not exist in the archive", shown(name), name->u.s);
	if (rc) return fail(r, rc, name, "member %.*s: %s", shown(name), name->u.s, why ? why : "unusable");
	return 0;
}

/* MARK: tensor metadata */

/* One size or stride: an int >= 0 or a symbol string. */
static int read_dim(prd *r, const pt2c_json *v, pt2c_sym *out)
{
	if (v->type == PT2C_JSON_INT) {
		if (v->u.i < 0) return fail(r, PT2C_ECORRUPT, v, "negative size or stride %" PRId64, v->u.i);
		*out = pt2c__sym_int(v->u.i);
		return 0;
	}
	if (v->type == PT2C_JSON_STRING && v->n > 0) {
		int rc = 0;
		const char *e = intern_name(r, v, &rc);
		if (!e) return rc;
		memset(out, 0, sizeof *out);
		out->kind = PT2C_SYM_EXPR;
		out->expr = e;
		return 0;
	}
	return fail(r, PT2C_ECORRUPT, v, "size or stride is %s, expected an integer or a symbol name", jtype(v));
}

/* A device string "cpu", "cuda:0" or object {type, index}. */
static int read_device(prd *r, const pt2c_json *v, pt2c_device *d)
{
	d->index = -1;
	const char *s;
	size_t n;
	const pt2c_json *idx = NULL;
	if (v->type == PT2C_JSON_STRING) {
		s = v->u.s;
		n = v->n;
		const char *colon = memchr(s, ':', n);
		if (colon) {
			const char *q = colon + 1;
			size_t qn = n - (size_t)(q - s);
			int64_t ix = 0;
			if (qn == 0 || qn > 9) return fail(r, PT2C_ECORRUPT, v, "bad device index in \"%.*s\"", shown(v), v->u.s);
			for (size_t k = 0; k < qn; k++) {
				if (q[k] < '0' || q[k] > '9') return fail(r, PT2C_ECORRUPT, v, "bad device index in \"%.*s\"", shown(v), v->u.s);
				ix = ix * 10 + (q[k] - '0');
			}
			d->index = (int32_t)ix;
			n = (size_t)(colon - s);
		}
	} else if (v->type == PT2C_JSON_OBJECT) {
		const pt2c_json *t;
		int rc = need(r, v, "type", PT2C_JSON_STRING, false, &t);
		if (rc) return rc;
		s = t->u.s;
		n = t->n;
		if ((rc = need(r, v, "index", PT2C_JSON_INT, true, &idx)) != 0) return rc;
		if (idx) {
			if (idx->u.i < 0 || idx->u.i > INT32_MAX) return fail(r, PT2C_ECORRUPT, idx, "bad device index");
			d->index = (int32_t)idx->u.i;
		}
	} else {
		return fail(r, PT2C_ECORRUPT, v, "device is %s, expected a string or an object", jtype(v));
	}
	if (n == 0 || memchr(s, 0, n)) return fail(r, PT2C_ECORRUPT, v, "empty or invalid device type");
	d->type = pt2c__ctx_intern(r->ctx, s, n);
	return d->type ? 0 : oom(r);
}

/*
 * Sizes or strides array `key` of meta object v into *out (*ndim entries). Equal arrays are
 * shared (r->metas): a graph repeats a handful of shapes, and an array per value was an eighth of
 * the export's peak memory. Nothing writes into a sizes/strides array once read (pt2c__meta_copy
 * and the passes make new ones).
 */
static int read_dims(prd *r, const pt2c_json *v, const char *key, uint32_t *ndim, bool have_ndim, pt2c_sym **out)
{
	const pt2c_json *a;
	int rc = need(r, v, key, PT2C_JSON_ARRAY, false, &a);
	if (rc) return rc;
	push_key(r, key, strlen(key));
	if (have_ndim && a->n != *ndim) {
		rc = fail(r, PT2C_ECORRUPT, a, "%s has %" PRIu32 " entries but sizes has %" PRIu32, key, a->n, *ndim);
		pop(r);
		return rc;
	}
	*ndim = a->n;
	*out = NULL;
	if (a->n > r->tmp_dims_cap) { /* a->n items were parsed from the input: the size is bounded by it */
		pt2c_sym *d = pt2c__malloc(r->alloc, (size_t)a->n * sizeof *d);
		if (!d) {
			pop(r);
			return oom(r);
		}
		pt2c__free(r->alloc, r->tmp_dims);
		r->tmp_dims = d;
		r->tmp_dims_cap = a->n;
	}
	for (uint32_t k = 0; k < a->n && !rc; k++) {
		push_idx(r, k);
		rc = read_dim(r, &a->u.items[k], &r->tmp_dims[k]);
		pop(r);
	}
	if (!rc && pt2c__meta_pool_dims(&r->metas, r->ctx, r->tmp_dims, a->n, out))
		rc = oom(r);
	pop(r);
	return rc;
}

/* Tensor metadata from object v (layout strided, storage offset 0). */
static int read_meta(prd *r, const pt2c_json *v, pt2c_tensor_meta *m)
{
	memset(m, 0, sizeof *m);
	if (v->type != PT2C_JSON_OBJECT) return fail(r, PT2C_ECORRUPT, v, "tensor metadata is %s, expected an object", jtype(v));
	const pt2c_json *dt, *dev, *rg;
	int rc = need(r, v, "dtype", PT2C_JSON_STRING, false, &dt);
	if (rc) return rc;
	int code = pt2c__dtype_from_name(dt->u.s, dt->n);
	if (code < 0 || !pt2c__dtype_valid(code)) {
		push_key(r, "dtype", 5);
		rc = fail(r, PT2C_ECORRUPT, dt, "unknown dtype \"%.*s\"", shown(dt), dt->u.s);
		pop(r);
		return rc;
	}
	m->dtype = (uint8_t)code;
	m->layout = PT2C_LAYOUT_STRIDED;
	m->storage_offset = pt2c__sym_int(0);
	if ((rc = read_dims(r, v, "sizes", &m->ndim, false, &m->sizes)) != 0) return rc;
	if ((rc = read_dims(r, v, "strides", &m->ndim, true, &m->strides)) != 0) return rc;
	dev = pt2c__json_get(v, "device");
	if (dev && dev->type != PT2C_JSON_NULL) {
		push_key(r, "device", 6);
		rc = read_device(r, dev, &m->device);
		pop(r);
		if (rc) return rc;
	} else {
		if (!r->cpu) r->cpu = pt2c__ctx_interns(r->ctx, "cpu"); /* once: most metas omit the device */
		m->device.type = r->cpu;
		m->device.index = -1;
		if (!m->device.type) return oom(r);
	}
	if ((rc = need(r, v, "requires_grad", PT2C_JSON_TRUE, true, &rg)) != 0) return rc;
	m->requires_grad = rg && rg->type == PT2C_JSON_TRUE;
	return 0;
}

/* MARK: arguments */

/* Value id of the node named by string s, which must already be defined. */
static int node_ref(prd *r, pt2c_graph *g, const pt2c_json *s, const char *user, uint32_t *out)
{
	if (s->type != PT2C_JSON_STRING)
		return fail(r, PT2C_ECORRUPT, s, "node reference is %s, expected a string", jtype(s));
	uint32_t v = pt2c__graph_find_value(g, s->u.s, s->n);
	if (v == PT2C_NONE)
		return fail(r, PT2C_EGRAPH, s, "node %s refers to undefined node %.*s", user, shown(s), s->u.s);
	*out = v;
	return 0;
}

/* A float from a number or the strings "Infinity", "-Infinity", "NaN". */
static int read_float(prd *r, const pt2c_json *v, double *out)
{
	if (v->type == PT2C_JSON_REAL) { *out = v->u.d; return 0; }
	if (v->type == PT2C_JSON_INT) { *out = (double)v->u.i; return 0; }
	if (pt2c__json_streq(v, "Infinity")) { *out = INFINITY; return 0; }
	if (pt2c__json_streq(v, "-Infinity")) { *out = -INFINITY; return 0; }
	if (pt2c__json_streq(v, "NaN")) { *out = NAN; return 0; }
	return fail(r, PT2C_ECORRUPT, v, "expected a float, got %s", jtype(v));
}

/* Arena copy of a string value as an argument string (embedded NULs allowed: length kept). */
static int read_string_arg(prd *r, const pt2c_json *v, pt2c_arg *out)
{
	if (v->type != PT2C_JSON_STRING) return fail(r, PT2C_ECORRUPT, v, "expected a string, got %s", jtype(v));
	if (v->n == UINT32_MAX) return fail(r, PT2C_EUNSUPPORTED, v, "string argument of 4 GiB or more");
	out->kind = PT2C_ARG_STRING;
	out->n = v->n;
	out->u.s = pt2c__arena_strndup(&r->ctx->arena, v->u.s, v->n);
	return out->u.s ? 0 : oom(r);
}

/* A scalar of list-element kind `kind` (INT, FLOAT, BOOL, STRING) from v. */
static int read_typed_scalar(prd *r, const pt2c_json *v, int kind, pt2c_arg *out)
{
	memset(out, 0, sizeof *out);
	out->kind = (uint8_t)kind;
	switch (kind) {
	case PT2C_ARG_INT:
		if (v->type != PT2C_JSON_INT) return fail(r, PT2C_ECORRUPT, v, "expected an integer, got %s", jtype(v));
		out->u.i = v->u.i;
		return 0;
	case PT2C_ARG_FLOAT:
		return read_float(r, v, &out->u.f);
	case PT2C_ARG_BOOL:
		if (v->type != PT2C_JSON_TRUE && v->type != PT2C_JSON_FALSE)
			return fail(r, PT2C_ECORRUPT, v, "expected a boolean, got %s", jtype(v));
		out->u.b = v->type == PT2C_JSON_TRUE;
		return 0;
	default:
		return read_string_arg(r, v, out);
	}
}

static int read_arg(prd *r, pt2c_graph *g, const pt2c_json *v, const char *user, int depth, pt2c_arg *out);

/* A one-key object {"as_...": x} with a PT2 Argument tag. */
static int read_tagged(prd *r, pt2c_graph *g, const pt2c_json *obj, const char *user, pt2c_arg *out)
{
	const pt2c_json *key = pt2c__json_key(obj, 0), *v = pt2c__json_val(obj, 0);
	int kind = pt2c__arg_kind_from_tag(key->u.s, key->n);
	int rc = 0;
	memset(out, 0, sizeof *out);
	push_key(r, key->u.s, key->n);
	switch (kind) {
	case PT2C_ARG_NONE:
		out->kind = PT2C_ARG_NONE;
		break;
	case PT2C_ARG_INT:
	case PT2C_ARG_FLOAT:
	case PT2C_ARG_BOOL:
	case PT2C_ARG_STRING:
		rc = read_typed_scalar(r, v, kind, out);
		break;
	case PT2C_ARG_INTS:
	case PT2C_ARG_FLOATS:
	case PT2C_ARG_BOOLS:
	case PT2C_ARG_STRINGS: {
		if (v->type != PT2C_JSON_ARRAY) { rc = fail(r, PT2C_ECORRUPT, v, "expected an array, got %s", jtype(v)); break; }
		int elem = kind == PT2C_ARG_INTS ? PT2C_ARG_INT : kind == PT2C_ARG_FLOATS ? PT2C_ARG_FLOAT
		         : kind == PT2C_ARG_BOOLS ? PT2C_ARG_BOOL : PT2C_ARG_STRING;
		out->kind = (uint8_t)kind;
		out->n = v->n;
		if (v->n && !(out->u.items = pt2c__arena_calloc(&r->ctx->arena, v->n, sizeof(pt2c_arg)))) { rc = oom(r); break; }
		for (uint32_t k = 0; k < v->n && !rc; k++) {
			push_idx(r, k);
			rc = read_typed_scalar(r, &v->u.items[k], elem, &out->u.items[k]);
			pop(r);
		}
		break;
	}
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_LAYOUT:
	case PT2C_ARG_MEMORY_FORMAT: {
		if (v->type != PT2C_JSON_INT) { rc = fail(r, PT2C_ECORRUPT, v, "expected an integer, got %s", jtype(v)); break; }
		bool ok = kind == PT2C_ARG_SCALAR_TYPE ? pt2c__dtype_valid(v->u.i)
		        : kind == PT2C_ARG_LAYOUT ? (v->u.i >= 0 && v->u.i <= PT2C_LAYOUT_MAX)
		        : (v->u.i >= 0 && v->u.i <= PT2C_MEMFMT_MAX);
		if (!ok) { rc = fail(r, PT2C_ECORRUPT, v, "%.*s value %" PRId64 " is out of range", (int)key->n, key->u.s, v->u.i); break; }
		out->kind = (uint8_t)kind;
		out->u.i = v->u.i;
		break;
	}
	case PT2C_ARG_DEVICE:
		if (v->type != PT2C_JSON_OBJECT) { rc = fail(r, PT2C_ECORRUPT, v, "expected a device object, got %s", jtype(v)); break; }
		out->kind = PT2C_ARG_DEVICE;
		rc = read_device(r, v, &out->u.dev);
		break;
	case PT2C_ARG_SYM_INT: {
		out->kind = PT2C_ARG_SYM_INT;
		const pt2c_json *inner = v;
		if (v->type == PT2C_JSON_OBJECT && v->n == 1 && pt2c__json_streq(pt2c__json_key(v, 0), "as_int"))
			inner = pt2c__json_val(v, 0);
		if (inner->type == PT2C_JSON_INT) {
			out->flags = PT2C_ARGF_LITERAL;
			out->u.i = inner->u.i;
		} else if (v->type == PT2C_JSON_OBJECT && v->n == 1 && pt2c__json_streq(pt2c__json_key(v, 0), "as_name")) {
			rc = node_ref(r, g, pt2c__json_val(v, 0), user, &out->u.ref);
		} else {
			rc = fail(r, PT2C_ECORRUPT, v, "as_sym_int is %s, expected an integer, {\"as_int\": i} or {\"as_name\": s}", jtype(v));
		}
		break;
	}
	case PT2C_ARG_TENSOR: {
		const pt2c_json *nm = pt2c__json_get(v, "name");
		if (!nm) { rc = fail(r, PT2C_ECORRUPT, v, "as_tensor needs {\"name\": value}"); break; }
		out->kind = PT2C_ARG_TENSOR;
		rc = node_ref(r, g, nm, user, &out->u.ref);
		break;
	}
	default:
		pop(r); /* the object itself is at fault, not its member */
		if (kind < 0)
			return fail(r, PT2C_ECORRUPT, obj, "unknown argument object key \"%.*s\"", shown(key), key->u.s);
		return fail(r, PT2C_EUNSUPPORTED, obj, "argument tag %.*s is not supported in a partitioned module", shown(key), key->u.s);
	}
	pop(r);
	return rc;
}

/* One fx argument (see the grammar at the top). Depth-capped recursion over lists. */
static int read_arg(prd *r, pt2c_graph *g, const pt2c_json *v, const char *user, int depth, pt2c_arg *out)
{
	memset(out, 0, sizeof *out);
	switch (v->type) {
	case PT2C_JSON_NULL: out->kind = PT2C_ARG_NONE; return 0;
	case PT2C_JSON_FALSE:
	case PT2C_JSON_TRUE: out->kind = PT2C_ARG_BOOL; out->u.b = v->type == PT2C_JSON_TRUE; return 0;
	case PT2C_JSON_INT: out->kind = PT2C_ARG_INT; out->u.i = v->u.i; return 0;
	case PT2C_JSON_REAL: out->kind = PT2C_ARG_FLOAT; out->u.f = v->u.d; return 0;
	case PT2C_JSON_STRING: return read_string_arg(r, v, out);
	case PT2C_JSON_ARRAY: {
		if (depth >= ARG_MAX_DEPTH)
			return fail(r, PT2C_EUNSUPPORTED, v, "argument lists nested deeper than %d", ARG_MAX_DEPTH);
		out->kind = PT2C_ARG_FX_LIST;
		out->n = v->n;
		if (v->n && !(out->u.items = pt2c__arena_calloc(&r->ctx->arena, v->n, sizeof(pt2c_arg)))) return oom(r);
		for (uint32_t k = 0; k < v->n; k++) {
			push_idx(r, k);
			int rc = read_arg(r, g, &v->u.items[k], user, depth + 1, &out->u.items[k]);
			pop(r);
			if (rc) return rc;
		}
		return 0;
	}
	default:
		break;
	}
	if (v->n != 1) return fail(r, PT2C_ECORRUPT, v, "argument object must have exactly one key, has %" PRIu32, v->n);
	if (pt2c__json_streq(pt2c__json_key(v, 0), "node")) {
		push_key(r, "node", 4);
		out->kind = PT2C_ARG_FX_NODE;
		int rc = node_ref(r, g, pt2c__json_val(v, 0), user, &out->u.ref);
		pop(r);
		return rc;
	}
	if (pt2c__json_streq(pt2c__json_key(v, 0), "dtype")) {
		const pt2c_json *d = pt2c__json_val(v, 0);
		int code = d->type == PT2C_JSON_STRING ? pt2c__dtype_from_name(d->u.s, d->n) : -1;
		int rc = 0;
		push_key(r, "dtype", 5);
		if (d->type != PT2C_JSON_STRING) rc = fail(r, PT2C_ECORRUPT, d, "dtype is %s, expected a string", jtype(d));
		else if (code < 0 || !pt2c__dtype_valid(code)) rc = fail(r, PT2C_ECORRUPT, d, "unknown dtype \"%.*s\"", shown(d), d->u.s);
		pop(r);
		if (rc) return rc;
		out->kind = PT2C_ARG_SCALAR_TYPE;
		out->u.i = code;
		return 0;
	}
	if (pt2c__json_streq(pt2c__json_key(v, 0), "repr")) {
		/* describe() writes {"repr": ...} for Python values it has no spelling for */
		const pt2c_json *t = pt2c__json_val(v, 0);
		bool str = t->type == PT2C_JSON_STRING;
		return fail(r, PT2C_EUNSUPPORTED, v, "argument %.*s of node %s has no pt2c equivalent", str ? shown(t) : 6,
		            str ? t->u.s : "(repr)", user);
	}
	return read_tagged(r, g, v, user, out);
}

/* MARK: nodes and graphs */

static const char *const OPS[PT2C_OP__COUNT] = {
	[PT2C_OP_PLACEHOLDER] = "placeholder", [PT2C_OP_GET_ATTR] = "get_attr",
	[PT2C_OP_CALL_FUNCTION] = "call_function", [PT2C_OP_CALL_MODULE] = "call_module",
	[PT2C_OP_OUTPUT] = "output",
};

/* Fill value `vid` from the node's "val" (see the grammar at the top). */
static int read_val(prd *r, pt2c_graph *g, uint32_t vid, const pt2c_json *val)
{
	pt2c_value *v = &g->values[vid];
	int rc = 0;
	if (!val || val->type == PT2C_JSON_NULL) {
		v->kind = PT2C_VAL_OTHER;
		v->has_meta = false;
		return 0;
	}
	push_key(r, "val", 3);
	/* describe()'s spellings for what is not a tensor: {"repr": "..."} -- alone or inside a list --
	   carries no metadata; {"symint": expr} is a symbolic int */
	if (val->type == PT2C_JSON_ARRAY) {
		for (uint32_t k = 0; k < val->n; k++) {
			const pt2c_json *it = &val->u.items[k];
			if (it->type == PT2C_JSON_OBJECT && !pt2c__json_get(it, "dtype") &&
			    (pt2c__json_get(it, "repr") || pt2c__json_get(it, "symint"))) {
				pop(r);
				v->kind = PT2C_VAL_OTHER; /* a mixed tuple: the IR keeps lists of tensors only */
				v->has_meta = false;
				return 0;
			}
		}
	}
	if (val->type == PT2C_JSON_OBJECT && val->n == 1 && pt2c__json_get(val, "repr")) {
		pop(r);
		v->kind = PT2C_VAL_OTHER;
		v->has_meta = false;
		return 0;
	}
	if (val->type == PT2C_JSON_OBJECT && val->n == 1 && pt2c__json_get(val, "symint")) {
		const pt2c_json *e = pt2c__json_val(val, 0);
		pt2c_sym s = pt2c__sym_int(0);
		push_key(r, "symint", 6);
		if (e->type == PT2C_JSON_INT) s.i = e->u.i; /* a concrete value may be negative */
		else if (e->type == PT2C_JSON_STRING) rc = read_dim(r, e, &s);
		else rc = fail(r, PT2C_ECORRUPT, e, "symint is %s, expected an integer or an expression", jtype(e));
		pop(r);
		pop(r);
		if (rc) return rc;
		v = &g->values[vid];
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = s;
		return 0;
	}
	switch (val->type) {
	case PT2C_JSON_OBJECT: {
		pt2c_tensor_meta m;
		rc = read_meta(r, val, &m);
		v = &g->values[vid];
		const pt2c_tensor_meta *sm = NULL;
		if (!rc && pt2c__meta_pool_intern(&r->metas, r->ctx, &m, &sm)) rc = oom(r);
		if (!rc) { v->kind = PT2C_VAL_TENSOR; v->has_meta = true; v->u.tensor = sm; }
		break;
	}
	case PT2C_JSON_ARRAY: {
		pt2c_tensor_meta *items = NULL;
		if (val->n && !(items = pt2c__arena_calloc(&r->ctx->arena, val->n, sizeof *items))) { rc = oom(r); break; }
		for (uint32_t k = 0; k < val->n && !rc; k++) {
			push_idx(r, k);
			rc = read_meta(r, &val->u.items[k], &items[k]);
			pop(r);
		}
		if (rc) break;
		v = &g->values[vid];
		v->kind = PT2C_VAL_TENSOR_LIST;
		v->has_meta = true;
		v->u.list.n = val->n;
		v->u.list.items = items;
		break;
	}
	case PT2C_JSON_INT:
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = pt2c__sym_int(val->u.i);
		break;
	case PT2C_JSON_STRING: {
		pt2c_sym s;
		rc = read_dim(r, val, &s);
		if (rc) break;
		v = &g->values[vid];
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = s;
		break;
	}
	case PT2C_JSON_TRUE:
	case PT2C_JSON_FALSE:
		v->kind = PT2C_VAL_SYM_BOOL;
		v->has_meta = true;
		v->u.sym.kind = PT2C_SYM_BOOL;
		v->u.sym.i = val->type == PT2C_JSON_TRUE;
		break;
	default: /* REAL */
		v->kind = PT2C_VAL_SYM_FLOAT;
		v->has_meta = true;
		v->u.sym.kind = PT2C_SYM_FLOAT;
		v->u.sym.f = val->u.d;
		break;
	}
	pop(r);
	return rc;
}

/* Room for n named inputs in the scratch array. */
static int tmp_inputs(prd *r, size_t n)
{
	if (n <= r->tmp_cap) return 0;
	void *p = r->tmp_in;
	if (pt2c__grow(r->ctx->alloc, &p, &r->tmp_cap, n, sizeof(pt2c_named_arg))) return oom(r);
	r->tmp_in = p;
	return 0;
}

/* Node i of the graph array (path already points at it). */
static int read_node(prd *r, pt2c_graph *g, const pt2c_json *n, bool *saw_output)
{
	if (n->type != PT2C_JSON_OBJECT) return fail(r, PT2C_ECORRUPT, n, "node is %s, expected an object", jtype(n));
	const pt2c_json *opj, *namej, *targetj, *args, *kwargs;
	int rc;
	if ((rc = need(r, n, "op", PT2C_JSON_STRING, false, &opj)) != 0) return rc;
	if ((rc = need(r, n, "name", PT2C_JSON_STRING, false, &namej)) != 0) return rc;
	if ((rc = need(r, n, "target", PT2C_JSON_STRING, false, &targetj)) != 0) return rc;
	if ((rc = need(r, n, "args", PT2C_JSON_ARRAY, true, &args)) != 0) return rc;
	if ((rc = need(r, n, "kwargs", PT2C_JSON_OBJECT, true, &kwargs)) != 0) return rc;
	int op = -1;
	for (int k = 0; k < PT2C_OP__COUNT; k++)
		if (pt2c__json_streq(opj, OPS[k])) op = k;
	if (op < 0) {
		push_key(r, "op", 2);
		rc = fail(r, PT2C_ECORRUPT, opj, "unknown op \"%.*s\"", shown(opj), opj->u.s);
		pop(r);
		return rc;
	}
	if (namej->n == 0 || targetj->n == 0) {
		push_key(r, namej->n == 0 ? "name" : "target", namej->n == 0 ? 4 : 6);
		rc = fail(r, PT2C_ECORRUPT, namej->n == 0 ? namej : targetj, "empty node %s", namej->n == 0 ? "name" : "target");
		pop(r);
		return rc;
	}
	if (*saw_output) return fail(r, PT2C_EGRAPH, n, "node %.*s comes after the output node", shown(namej), namej->u.s);
	push_key(r, "name", 4);
	const char *name = intern_name(r, namej, &rc);
	pop(r);
	if (!name) return rc;
	push_key(r, "target", 6);
	const char *target = intern_name(r, targetj, &rc);
	pop(r);
	if (!target) return rc;
	uint32_t id;
	rc = pt2c__graph_add_node(g, op, name, true, target, PT2C_NONE, &id);
	if (rc == PT2C_EGRAPH) {
		push_key(r, "name", 4);
		rc = fail(r, PT2C_EGRAPH, namej, "duplicate node name %s", name);
		pop(r);
		return rc;
	}
	if (rc) return oom(r);

	uint32_t nargs = args ? args->n : 0, nkw = kwargs ? kwargs->n : 0;
	if (op == PT2C_OP_OUTPUT) {
		*saw_output = true;
		if (nargs != 1) {
			push_key(r, "args", 4);
			rc = fail(r, PT2C_ECORRUPT, args ? args : n, "output node has %" PRIu32 " arguments, expected 1", nargs);
			pop(r);
			return rc;
		}
		nkw = 0;
	}
	if ((rc = tmp_inputs(r, (size_t)nargs + nkw)) != 0) return rc;
	if (nargs) {
		push_key(r, "args", 4);
		for (uint32_t k = 0; k < nargs && !rc; k++) {
			pt2c_named_arg *na = &r->tmp_in[k];
			na->name = NULL;
			na->kind = PT2C_ARGKIND_POSITIONAL;
			push_idx(r, k);
			rc = read_arg(r, g, &args->u.items[k], name, 0, &na->arg);
			pop(r);
		}
		pop(r);
		if (rc) return rc;
	}
	if (nkw) {
		push_key(r, "kwargs", 6);
		for (uint32_t k = 0; k < nkw && !rc; k++) {
			const pt2c_json *key = pt2c__json_key(kwargs, k);
			pt2c_named_arg *na = &r->tmp_in[nargs + k];
			push_key(r, key->u.s, key->n);
			na->kind = PT2C_ARGKIND_KEYWORD;
			na->name = intern_name(r, key, &rc);
			if (na->name) rc = read_arg(r, g, pt2c__json_val(kwargs, k), name, 0, &na->arg);
			pop(r);
		}
		pop(r);
		if (rc) return rc;
	}
	if (pt2c__node_set_inputs(g, id, r->tmp_in, nargs + nkw)) return oom(r);
	if (op == PT2C_OP_OUTPUT) return 0;
	uint32_t vid;
	rc = pt2c__node_define_value(g, id, PT2C_VAL_OTHER, &vid);
	if (rc == PT2C_EGRAPH) return fail(r, PT2C_EGRAPH, namej, "value name %s is already taken", name);
	if (rc) return oom(r);
	return read_val(r, g, vid, pt2c__json_get(n, "val"));
}

/* The "graph" array of obj into g (path points at obj). */
static int read_graph(prd *r, pt2c_graph *g, const pt2c_json *obj)
{
	const pt2c_json *arr;
	int rc = need(r, obj, "graph", PT2C_JSON_ARRAY, false, &arr);
	if (rc) return rc;
	push_key(r, "graph", 5);
	bool saw_output = false;
	if (arr->type == PT2C_JSON_RAW) {
		/* each node gets its own small DOM: the whole graph's DOM would dwarf the module built from it */
		uint64_t cursor = 0, dropped = arr->pos;
		bool drop = r->res && r->res->file_mapped;
		/* room for all of them at once (a node is far more than 32 bytes of JSON: the count is bounded by the text) */
		if (arr->n <= arr->u.raw_len / 32 && pt2c__graph_presize(g, arr->n)) rc = oom(r);
		for (uint32_t k = 0; !rc; k++) {
			pt2c_json *n = NULL;
			pt2c__arena_reset(&r->node_dom);
			rc = pt2c__json_raw_next(r->data, r->len, arr, &cursor, &r->opts, &r->node_dom, &n, r->err);
			if (rc || !n) break;
			push_idx(r, k);
			rc = read_node(r, g, n, &saw_output);
			pop(r);
			/*
			 * Give the parsed text's pages back every few MiB: the graph read from it would
			 * otherwise sit in memory next to all of its JSON. Views into it (metadata strings)
			 * page in again from the file when read.
			 */
			if (drop) pt2c__drop_behind(r->data, &dropped, cursor, false);
		}
		if (drop) pt2c__drop_behind(r->data, &dropped, cursor, true);
		pt2c__arena_reset(&r->node_dom);
	} else {
		for (uint32_t k = 0; k < arr->n && !rc; k++) {
			push_idx(r, k);
			rc = read_node(r, g, &arr->u.items[k], &saw_output);
			pop(r);
		}
	}
	if (!rc && !saw_output) rc = fail(r, PT2C_EGRAPH, arr, "graph has no output node");
	pop(r);
	return rc;
}

/* MARK: attributes, submodules, module fields */

/* Map `key` of obj (fqn -> tensor) as attributes of `kind`. */
static int read_attrs(prd *r, pt2c_module *m, const pt2c_json *obj, const char *key, int kind)
{
	const pt2c_json *map;
	int rc = need(r, obj, key, PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	push_key(r, key, strlen(key));
	const char *what = kind == PT2C_ATTR_PARAMETER ? "parameter" : kind == PT2C_ATTR_BUFFER ? "buffer" : "constant";
	for (uint32_t k = 0; k < map->n && !rc; k++) {
		const pt2c_json *kj = pt2c__json_key(map, k), *v = pt2c__json_val(map, k);
		push_key(r, kj->u.s, kj->n);
		const char *fqn = NULL;
		pt2c_tensor_meta meta;
		const pt2c_json *b64 = NULL, *pers = NULL, *dm = NULL, *so = NULL;
		pt2c_storage *st = NULL;
		uint64_t want = 0;
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty %s name", what);
		if (!rc) fqn = intern_name(r, kj, &rc);
		if (!rc) rc = read_meta(r, v, &meta);
		if (!rc) rc = need(r, v, "data_b64", PT2C_JSON_STRING, true, &b64);
		if (!rc) rc = need(r, v, "data_member", PT2C_JSON_STRING, true, &dm);
		if (!rc) rc = need(r, v, "persistent", PT2C_JSON_TRUE, true, &pers);
		if (!rc && dm) {
			if (b64) rc = fail(r, PT2C_ECORRUPT, v, "%s %s has both data_b64 and data_member", what, fqn);
			else if (!r->res) {
				push_key(r, "data_member", 11);
				rc = fail(r, PT2C_ECORRUPT, dm, "%s %s names a data_member outside a partitioned archive", what, fqn);
				pop(r);
			}
		}
		/* a view into the storage, for data_member and data_b64 alike (issue 11 #9: it was
		 * ignored with data_b64, however far out of range) */
		if (!rc) rc = need(r, v, "storage_offset", PT2C_JSON_INT, true, &so);
		if (!rc && so && so->u.i < 0) {
			push_key(r, "storage_offset", 14);
			rc = fail(r, PT2C_ECORRUPT, so, "%s %s has negative storage_offset %" PRId64, what, fqn, so->u.i);
			pop(r);
		}
		if (!rc && so) meta.storage_offset = pt2c__sym_int(so->u.i);
		if (!rc && pt2c__meta_storage_bytes(&meta, &want, NULL) != 0)
			rc = fail(r, PT2C_ECORRUPT, v, "%s %s has a size that overflows", what, fqn);
		if (!rc && dm) {
			/* archive form: a zero-copy view; the member may be larger (tied weights, views) */
			push_key(r, "data_member", 11);
			rc = resolve_member(r, dm, false, meta.dtype, &st);
			if (!rc && st->nbytes < want)
				rc = fail(r, PT2C_ECORRUPT, dm, "%s %s needs %" PRIu64 " bytes (storage_offset %" PRId64
				          ") but member %.*s has %" PRIu64, what, fqn, want, meta.storage_offset.i, shown(dm), dm->u.s,
				          st->nbytes);
			pop(r);
		}
		if (!rc && b64) {
			push_key(r, "data_b64", 8);
			char label[96];
			snprintf(label, sizeof label, "data_b64 of %s %.60s", what, fqn);
			rc = decode_b64(r, b64, label, &st);
			pop(r);
		}
		uint64_t got = st ? st->nbytes : 0;
		if (!rc && !dm && so && so->u.i > 0 && got < want) {
			push_key(r, "storage_offset", 14);
			rc = fail(r, PT2C_ECORRUPT, so, "%s %s needs %" PRIu64 " bytes (storage_offset %" PRId64
			          ") but its data_b64 has %" PRIu64, what, fqn, want, so->u.i, got);
			pop(r);
		} else if (!rc && !dm && !(so && so->u.i > 0) && got != want) {
			if (b64) push_key(r, "data_b64", 8);
			rc = fail(r, PT2C_ECORRUPT, b64 ? b64 : v, "%s %s has %" PRIu64 " bytes of data, its metadata needs %" PRIu64,
			          what, fqn, got, want);
			if (b64) pop(r);
		}
		if (!rc) {
			pt2c_attr *at;
			int arc = pt2c__module_add_attr(m, fqn, kind, &at);
			if (arc == PT2C_EGRAPH) rc = fail(r, PT2C_EGRAPH, kj, "duplicate attribute %s", fqn);
			else if (arc) rc = oom(r);
			else {
				at->tensor.meta = meta;
				at->tensor.storage = st;
				st = NULL;
				at->persistent = !(pers && pers->type == PT2C_JSON_FALSE);
			}
		}
		pt2c__storage_unref(st);
		pop(r);
	}
	pop(r);
	return rc;
}

/* Graph plus attributes of a module object (top level or a fallback submodule). */
static int read_module_body(prd *r, pt2c_module *m, const pt2c_json *obj)
{
	int rc = read_graph(r, m->graph, obj);
	if (!rc) rc = read_attrs(r, m, obj, "parameters", PT2C_ATTR_PARAMETER);
	if (!rc) rc = read_attrs(r, m, obj, "buffers", PT2C_ATTR_BUFFER);
	if (!rc) rc = read_attrs(r, m, obj, "constants", PT2C_ATTR_CONSTANT);
	return rc;
}

/* An engine submodule's "engine_record" into a new arena record (*out); storage owned by it. */
static int read_engine(prd *r, const pt2c_json *sub, const char *subname, pt2c_engine_record **out)
{
	const pt2c_json *rec;
	int rc = need(r, sub, "engine_record", PT2C_JSON_ARRAY, false, &rec);
	if (rc) return rc;
	push_key(r, "engine_record", 13);
	if (rec->n <= PT2C_EF_ENGINE || rec->n > PT2C_EF_MAX) {
		const pt2c_json *a0 = rec->n ? &rec->u.items[0] : NULL;
		bool txt = a0 && a0->type == PT2C_JSON_STRING;
		rc = fail(r, PT2C_ECORRUPT, rec, "engine record of %s has %" PRIu32 " fields (ABI \"%.*s\"), expected 9 to %d; supported are %s",
		          subname, rec->n, txt ? (int)(a0->n > 8 ? 8 : a0->n) : 0, txt ? a0->u.s : "", PT2C_EF_MAX,
		          pt2c__generation_abi_list());
		pop(r);
		return rc;
	}
	pt2c_engine_record *e = pt2c__arena_zalloc(&r->ctx->arena, sizeof *e);
	if (!e) { pop(r); return oom(r); }
	e->n_fields = rec->n;
	for (uint32_t k = 0; k < rec->n && !rc; k++) {
		const pt2c_json *f = &rec->u.items[k];
		push_idx(r, k);
		if (k == PT2C_EF_ENGINE && f->type == PT2C_JSON_OBJECT) {
			/* archive form: {"member": "engines/<name>"} */
			const pt2c_json *mem;
			if (!r->res)
				rc = fail(r, PT2C_ECORRUPT, f, "engine bytes of %s name a member outside a partitioned archive", subname);
			if (!rc) rc = need(r, f, "member", PT2C_JSON_STRING, false, &mem);
			if (!rc) {
				push_key(r, "member", 6);
				rc = resolve_member(r, mem, true, 0, &e->engine);
				pop(r);
			}
		} else if (f->type != PT2C_JSON_STRING) {
			rc = fail(r, PT2C_ECORRUPT, f, "engine record field %s is %s, expected a string",
			          pt2c__engine_field_name((int)k), jtype(f));
		} else if (k != PT2C_EF_ENGINE && f->n == UINT32_MAX) {
			rc = fail(r, PT2C_EUNSUPPORTED, f, "engine record field %s is 4 GiB or more", pt2c__engine_field_name((int)k));
		} else if (k == PT2C_EF_ENGINE) {
			rc = decode_b64(r, f, "engine bytes (field serialized_engine)", &e->engine);
		} else {
			e->fields[k].n = f->n;
			e->fields[k].p = pt2c__arena_strndup(&r->ctx->arena, f->u.s, f->n);
			if (!e->fields[k].p) rc = oom(r);
		}
		pop(r);
	}
	if (!rc) {
		/* ABI from field 0 ("6".."10"); anything else leaves 0, which validation names */
		uint32_t abi = 0;
		const char *p = e->fields[PT2C_EF_ABI].p;
		uint32_t n = e->fields[PT2C_EF_ABI].n;
		for (uint32_t k = 0; k < n && n <= 2; k++) {
			if (p[k] < '0' || p[k] > '9') { abi = 0; break; }
			abi = abi * 10 + (uint32_t)(p[k] - '0');
		}
		e->abi = abi;
		pt2c_error tmp = PT2C_ERROR_INIT;
		int vrc = pt2c__engine_record_validate(e, &tmp);
		if (vrc) rc = fail(r, vrc, rec, "submodule %s: %s", subname, tmp.message);
	}
	pop(r);
	if (rc) {
		pt2c__storage_unref(e->engine);
		return rc;
	}
	*out = e;
	return 0;
}

/* The "submodules" map of the top module. */
static int read_submodules(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "submodules", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	push_key(r, "submodules", 10);
	for (uint32_t k = 0; k < map->n && !rc; k++) {
		const pt2c_json *kj = pt2c__json_key(map, k), *sub = pt2c__json_val(map, k);
		push_key(r, kj->u.s, kj->n);
		const char *name = NULL;
		const pt2c_json *kind = NULL;
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty submodule name");
		if (!rc) name = intern_name(r, kj, &rc);
		if (!rc && sub->type != PT2C_JSON_OBJECT)
			rc = fail(r, PT2C_ECORRUPT, sub, "submodule %s is %s, expected an object", name, jtype(sub));
		if (!rc) rc = need(r, sub, "kind", PT2C_JSON_STRING, false, &kind);
		if (!rc && pt2c__module_find_sub(m, name)) rc = fail(r, PT2C_EGRAPH, kj, "duplicate submodule %s", name);
		if (!rc && pt2c__json_streq(kind, "engine")) {
			pt2c_engine_record *e = NULL;
			pt2c_submodule *s;
			rc = read_engine(r, sub, name, &e);
			if (!rc && pt2c__module_add_sub(m, name, PT2C_SUB_ENGINE, &s) != 0) {
				pt2c__storage_unref(e->engine);
				rc = oom(r);
			}
			if (!rc) s->engine = e;
		} else if (!rc && pt2c__json_streq(kind, "graph")) {
			pt2c_module *fb = NULL;
			pt2c_submodule *s;
			if (pt2c__module_new(r->ctx, &fb) != 0) rc = oom(r);
			if (!rc) rc = read_module_body(r, fb, sub);
			if (!rc && pt2c__module_add_sub(m, name, PT2C_SUB_FALLBACK, &s) != 0) rc = oom(r);
			if (!rc) s->fallback = fb;
			else pt2c__module_free(fb);
		} else if (!rc) {
			push_key(r, "kind", 4);
			rc = fail(r, PT2C_ECORRUPT, kind, "submodule %s has unknown kind \"%.*s\"", name, shown(kind), kind->u.s);
			pop(r);
		}
		pop(r);
	}
	pop(r);
	return rc;
}

/* A treespec string (or null/absent) as an arena C string. */
static int read_spec(prd *r, const pt2c_json *root, const char *key, const char **out)
{
	const pt2c_json *s;
	*out = NULL;
	int rc = need(r, root, key, PT2C_JSON_STRING, true, &s);
	if (rc || !s) return rc;
	*out = pt2c__arena_strndup(&r->ctx->arena, s->u.s, s->n);
	return *out ? 0 : oom(r);
}

/* One bound of a symbol range: int, or null / +-infinity for none. */
static int read_bound(prd *r, const pt2c_json *v, bool *has, int64_t *val)
{
	*has = false;
	if (v->type == PT2C_JSON_NULL || (v->type == PT2C_JSON_REAL && isinf(v->u.d))) return 0;
	if (v->type != PT2C_JSON_INT) return fail(r, PT2C_ECORRUPT, v, "symbol bound is %s, expected an integer or null", jtype(v));
	*has = true;
	*val = v->u.i;
	return 0;
}

/* A symbol named "graph" was left lazy like the graphs: its elements as an ordinary ARRAY node in r->dom. */
static int expand_raw(prd *r, const pt2c_json **v)
{
	const pt2c_json *raw = *v;
	pt2c_json *arr = pt2c__arena_zalloc(r->dom, sizeof *arr);
	if (!arr || (raw->n && !(arr->u.items = pt2c__arena_calloc(r->dom, raw->n, sizeof(pt2c_json))))) return oom(r);
	arr->type = PT2C_JSON_ARRAY;
	arr->pos = raw->pos;
	arr->n = raw->n;
	uint64_t cursor = 0;
	for (uint32_t k = 0; k < raw->n; k++) {
		pt2c_json *e = NULL;
		int rc = pt2c__json_raw_next(r->data, r->len, raw, &cursor, &r->opts, r->dom, &e, r->err);
		if (rc) return rc;
		if (!e) return fail(r, PT2C_ECORRUPT, raw, "array ends early");
		arr->u.items[k] = *e;
	}
	*v = arr;
	return 0;
}

static int read_symbols(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "symbols", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map || map->n == 0) return rc;
	push_key(r, "symbols", 7);
	m->symbols = pt2c__arena_calloc(&r->ctx->arena, map->n, sizeof *m->symbols);
	if (!m->symbols) { pop(r); return oom(r); }
	for (uint32_t k = 0; k < map->n && !rc; k++) {
		const pt2c_json *kj = pt2c__json_key(map, k), *v = pt2c__json_val(map, k);
		pt2c_symrange *s = &m->symbols[k];
		push_key(r, kj->u.s, kj->n);
		if (v->type == PT2C_JSON_RAW && (rc = expand_raw(r, &v)) != 0) { pop(r); break; }
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty symbol name");
		else if (v->type != PT2C_JSON_ARRAY || v->n != 2)
			rc = fail(r, PT2C_ECORRUPT, v, "symbol range is %s, expected [min, max]", v->type == PT2C_JSON_ARRAY ? "not a pair" : jtype(v));
		if (!rc) s->name = intern_name(r, kj, &rc);
		if (!rc) { push_idx(r, 0); rc = read_bound(r, &v->u.items[0], &s->has_min, &s->min); pop(r); }
		if (!rc) { push_idx(r, 1); rc = read_bound(r, &v->u.items[1], &s->has_max, &s->max); pop(r); }
		if (!rc && s->has_min && s->has_max && s->min > s->max)
			rc = fail(r, PT2C_ECORRUPT, v, "symbol %s has min %" PRId64 " > max %" PRId64, s->name, s->min, s->max);
		if (!rc) m->n_symbols = k + 1;
		pop(r);
	}
	pop(r);
	return rc;
}

static int read_op_schemas(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "op_schemas", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	push_key(r, "op_schemas", 10);
	for (uint32_t k = 0; k < map->n && !rc; k++) {
		const pt2c_json *kj = pt2c__json_key(map, k), *v = pt2c__json_val(map, k);
		push_key(r, kj->u.s, kj->n);
		const char *target = NULL, *schema = NULL;
		if (v->type != PT2C_JSON_STRING) rc = fail(r, PT2C_ECORRUPT, v, "schema is %s, expected a string", jtype(v));
		if (!rc) target = intern_name(r, kj, &rc);
		if (!rc) schema = intern_name(r, v, &rc);
		if (!rc && pt2c__map_put(&m->op_schemas, target, strlen(target), (uint64_t)(uintptr_t)schema, true, NULL))
			rc = oom(r);
		pop(r);
	}
	pop(r);
	return rc;
}

/* MARK: entry point */

int pt2c__partitioned_json_read(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                                pt2c_error *err)
{
	return pt2c__partitioned_json_read_ex(out, data, len, NULL, alloc, err);
}

int pt2c__partitioned_json_read_ex(pt2c_module **out, const char *data, size_t len, const pt2c_member_resolver *res,
                                   const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && (data || len == 0) && (!res || res->resolve));
	*out = NULL;
	pt2c_arena dom;
	pt2c__arena_init(&dom, alloc);
	pt2c_json *root = NULL;
	pt2c_json_opts opts = { PT2C_JSON_ALLOW_NONFINITE, 0 };
	/* "graph" arrays stay unexpanded: read_graph parses one node at a time */
	static const pt2c_json_lazy lazy = { "graph", false };
	pt2c_json_opts scan = opts;
	if (res && res->file_mapped)
		scan.flags |= PT2C_JSON_DROP_PAGES; /* the scan reads all of it: give pages back as it goes */
	int rc = pt2c__json_parse_lazy(&root, data, len, &scan, &lazy, 1, &dom, err);
	if (rc) {
		if (res && res->member) pt2c__err_set_member(err, res->member);
		pt2c__arena_free(&dom);
		return rc;
	}
	/* the scan touched every page; the graph arrays page in again one by one as they are read */
	if (res && res->file_mapped) pt2c__drop_file_pages(data, len);
	prd *r = pt2c__calloc(alloc, 1, sizeof *r); /* the path stack is a few KB: keep it off the stack */
	pt2c_ctx *ctx = NULL;
	pt2c_module *m = NULL;
	if (!r || pt2c__ctx_new(&ctx, alloc) != 0 || pt2c__module_new(ctx, &m) != 0) {
		rc = pt2c__err_oom(err);
		goto done;
	}
	r->ctx = ctx;
	r->alloc = alloc;
	r->data = data;
	r->len = len;
	r->err = err;
	r->res = res;
	r->dom = &dom;
	r->opts = opts;
	pt2c__arena_init(&r->node_dom, alloc);
	pt2c__meta_pool_init(&r->metas, alloc);
	if (root->type != PT2C_JSON_OBJECT) {
		rc = fail(r, PT2C_ECORRUPT, root, "partitioned module JSON is %s, expected an object", jtype(root));
		goto done;
	}
	/* submodules first: they own no graph references of the top graph, and failures there are cheap */
	rc = read_submodules(r, m, root);
	if (!rc) rc = read_module_body(r, m, root);
	if (!rc) rc = read_spec(r, root, "in_spec", &m->in_spec);
	if (!rc) rc = read_spec(r, root, "out_spec", &m->out_spec);
	if (!rc) rc = read_symbols(r, m, root);
	if (!rc) rc = read_op_schemas(r, m, root);
done:
	if (r) {
		pt2c__free(ctx ? ctx->alloc : alloc, r->tmp_in);
		pt2c__free(alloc, r->tmp_dims);
		pt2c__meta_pool_free(&r->metas);
		pt2c__arena_free(&r->node_dom); /* zeroed by calloc when never initialised */
	}
	pt2c__free(alloc, r);
	pt2c__arena_free(&dom);
	if (rc) {
		pt2c__module_free(m);
	} else {
		*out = m;
	}
	pt2c__ctx_unref(ctx);
	return rc;
}
