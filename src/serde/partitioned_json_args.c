/*
 * partitioned_json_args.c -- partitioned-module JSON reader: tensor metadata ("val" and attribute
 * metadata), devices, and fx arguments (plain JSON values, {"node": name}, PT2 Argument objects).
 * See partitioned_json.h.
 */
#include <math.h>

#include "serde/partitioned_json.h"

/* MARK: tensor metadata */

/* One size or stride: an int >= 0 or a symbol string. */
int read_dim(prd *r, const pt2c_json *v, pt2c_sym *out)
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
	return type_error(r, v, "an integer or a symbol name");
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
		return type_error(r, v, "a device string or object");
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
	AT(r, key);
	if (have_ndim && a->n != *ndim)
		return fail(r, PT2C_ECORRUPT, a, "%s has %" PRIu32 " entries but sizes has %" PRIu32, key, a->n, *ndim);
	*ndim = a->n;
	*out = NULL;
	if (a->n > r->tmp_dims_cap) { /* a->n items were parsed from the input: the size is bounded by it */
		pt2c_sym *d = pt2c__malloc(r->alloc, (size_t)a->n * sizeof *d);
		if (!d) return oom(r);
		pt2c__free(r->alloc, r->tmp_dims);
		r->tmp_dims = d;
		r->tmp_dims_cap = a->n;
	}
	EACH(r, it, a, !rc)
		rc = read_dim(r, it.val, &r->tmp_dims[it.i]);
	if (!rc && pt2c__meta_pool_dims(&r->metas, r->ctx, r->tmp_dims, a->n, out))
		rc = oom(r);
	return rc;
}

/* Tensor metadata from object v (layout strided, storage offset 0). */
int read_meta(prd *r, const pt2c_json *v, pt2c_tensor_meta *m)
{
	memset(m, 0, sizeof *m);
	if (v->type != PT2C_JSON_OBJECT) return type_error(r, v, "a tensor metadata object");
	const pt2c_json *dt, *dev, *rg;
	int rc = need(r, v, "dtype", PT2C_JSON_STRING, false, &dt);
	if (rc) return rc;
	int code = pt2c__dtype_from_name(dt->u.s, dt->n);
	if (code < 0 || !pt2c__dtype_valid(code)) {
		AT(r, "dtype");
		return fail(r, PT2C_ECORRUPT, dt, "unknown dtype \"%.*s\"", shown(dt), dt->u.s);
	}
	m->dtype = (uint8_t)code;
	m->layout = PT2C_LAYOUT_STRIDED;
	m->storage_offset = pt2c__sym_int(0);
	if ((rc = read_dims(r, v, "sizes", &m->ndim, false, &m->sizes)) != 0) return rc;
	if ((rc = read_dims(r, v, "strides", &m->ndim, true, &m->strides)) != 0) return rc;
	dev = pt2c__json_get(v, "device");
	if (dev && dev->type != PT2C_JSON_NULL) {
		AT(r, "device");
		if ((rc = read_device(r, dev, &m->device))) return rc;
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
		return type_error(r, s, "a node name string");
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
	return type_error(r, v, "a float");
}

/* Arena copy of a string value as an argument string (embedded NULs allowed: length kept). */
static int read_string_arg(prd *r, const pt2c_json *v, pt2c_arg *out)
{
	if (v->type != PT2C_JSON_STRING) return type_error(r, v, "a string");
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
		if (v->type != PT2C_JSON_INT) return type_error(r, v, "an integer");
		out->u.i = v->u.i;
		return 0;
	case PT2C_ARG_FLOAT:
		return read_float(r, v, &out->u.f);
	case PT2C_ARG_BOOL:
		if (v->type != PT2C_JSON_TRUE && v->type != PT2C_JSON_FALSE)
			return type_error(r, v, "a boolean");
		out->u.b = v->type == PT2C_JSON_TRUE;
		return 0;
	default:
		return read_string_arg(r, v, out);
	}
}

/* A one-key object {"as_...": x} with a PT2 Argument tag. */
static int read_tagged(prd *r, pt2c_graph *g, const pt2c_json *obj, const char *user, pt2c_arg *out)
{
	const pt2c_json *key = pt2c__json_key(obj, 0), *v = pt2c__json_val(obj, 0);
	int kind = pt2c__arg_kind_from_tag(key->u.s, key->n);
	int rc = 0;
	memset(out, 0, sizeof *out);
	pt2c_jr_scope at PT2C_JR_SCOPED = pt2c__jr_key(&r->jr, key->u.s, key->n);
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
		if (v->type != PT2C_JSON_ARRAY) { rc = type_error(r, v, "an array"); break; }
		int elem = kind == PT2C_ARG_INTS ? PT2C_ARG_INT : kind == PT2C_ARG_FLOATS ? PT2C_ARG_FLOAT
		         : kind == PT2C_ARG_BOOLS ? PT2C_ARG_BOOL : PT2C_ARG_STRING;
		out->kind = (uint8_t)kind;
		out->n = v->n;
		if (v->n && !(out->u.items = pt2c__arena_calloc(&r->ctx->arena, v->n, sizeof(pt2c_arg)))) { rc = oom(r); break; }
		EACH(r, it, v, !rc)
			rc = read_typed_scalar(r, it.val, elem, &out->u.items[it.i]);
		break;
	}
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_LAYOUT:
	case PT2C_ARG_MEMORY_FORMAT: {
		if (v->type != PT2C_JSON_INT) { rc = type_error(r, v, "an integer"); break; }
		bool ok = kind == PT2C_ARG_SCALAR_TYPE ? pt2c__dtype_valid(v->u.i)
		        : kind == PT2C_ARG_LAYOUT ? (v->u.i >= 0 && v->u.i <= PT2C_LAYOUT_MAX)
		        : (v->u.i >= 0 && v->u.i <= PT2C_MEMFMT_MAX);
		if (!ok) { rc = fail(r, PT2C_ECORRUPT, v, "%.*s value %" PRId64 " is out of range", (int)key->n, key->u.s, v->u.i); break; }
		out->kind = (uint8_t)kind;
		out->u.i = v->u.i;
		break;
	}
	case PT2C_ARG_DEVICE:
		if (v->type != PT2C_JSON_OBJECT) { rc = type_error(r, v, "a device object"); break; }
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
			rc = type_error(r, v, "an integer, {\"as_int\": i} or {\"as_name\": s}");
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
		pt2c__jr_leave(&at); /* the object itself is at fault, not its member */
		if (kind < 0)
			return fail(r, PT2C_ECORRUPT, obj, "unknown argument object key \"%.*s\"", shown(key), key->u.s);
		return fail(r, PT2C_EUNSUPPORTED, obj, "argument tag %.*s is not supported in a partitioned module", shown(key), key->u.s);
	}
	return rc;
}

/* One fx argument (see the grammar in partitioned_json.c). Depth-capped recursion over lists. */
int read_arg(prd *r, pt2c_graph *g, const pt2c_json *v, const char *user, int depth, pt2c_arg *out)
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
		int rc = 0;
		EACH(r, it, v, !rc)
			rc = read_arg(r, g, it.val, user, depth + 1, &out->u.items[it.i]);
		return rc;
	}
	default:
		break;
	}
	if (v->n != 1) return fail(r, PT2C_ECORRUPT, v, "argument object must have exactly one key, has %" PRIu32, v->n);
	if (pt2c__json_streq(pt2c__json_key(v, 0), "node")) {
		AT(r, "node");
		out->kind = PT2C_ARG_FX_NODE;
		return node_ref(r, g, pt2c__json_val(v, 0), user, &out->u.ref);
	}
	if (pt2c__json_streq(pt2c__json_key(v, 0), "dtype")) {
		const pt2c_json *d = pt2c__json_val(v, 0);
		int code = d->type == PT2C_JSON_STRING ? pt2c__dtype_from_name(d->u.s, d->n) : -1;
		{
			AT(r, "dtype");
			if (d->type != PT2C_JSON_STRING) return type_error(r, d, "a dtype string");
			if (code < 0 || !pt2c__dtype_valid(code))
				return fail(r, PT2C_ECORRUPT, d, "unknown dtype \"%.*s\"", shown(d), d->u.s);
		}
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

