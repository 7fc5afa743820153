/*
 * pt2json_read.c -- models/model.json (ExportedProgram, schema 8.17) -> program IR.
 *
 * Every PT2 struct is read with unknown keys ignored and the defaults of pt2-format.md §4.3 for
 * absent keys. Errors name the JSON pointer of the offending value (err->member, prefixed by the
 * archive member when called through pt2c__pt2json_read_ex) and its byte offset.
 *
 * Values are created as they are defined (placeholders first, then node outputs in order), so a
 * reference to a name not yet defined is a dangling reference: that is exactly torch's rule.
 */
#include <math.h>
#include <stdio.h>

#include "serde/serde.h"

#define GRAPH_MAX_DEPTH 32 /* nested HOP subgraphs */
#define ARG_MAX_DEPTH 64   /* nested argument containers (string_to_argument maps) */
#define PATH_MAX_SEGS 256

/* One step of the JSON pointer we are at; only turned into text when an error is reported. */
typedef struct seg {
	const char *key; /* NULL = array index */
	uint32_t key_len;
	uint64_t idx;
} seg;

/* Per-graph lookup tables: name -> index of the member in the metadata objects. */
typedef struct meta_maps {
	const pt2c_json *tv, *si, *sb, *sf, *co;
	pt2c_map mtv, msi, msb, msf, mco;
	bool tv_read; /* tensor_values was a lazy span, read up front: mtv maps a name to its pt2c_tensor_meta */
} meta_maps;

typedef struct rd {
	pt2c_ctx *ctx;
	pt2c_error *err;
	const char *src; /* string bytes inside [src, src+src_len) are kept as views; others copied */
	size_t src_len;
	const char *prefix; /* "models/model.json:" or "" */
	seg path[PATH_MAX_SEGS];
	uint32_t depth;       /* path depth (may exceed PATH_MAX_SEGS; extra segments are not recorded) */
	uint32_t graph_depth; /* nested graphs */
	uint32_t arg_depth;
	uint32_t gdepth;       /* path depth of the graph being read */
	pt2c_graph **subs;     /* every subgraph created, freed again if the read fails */
	size_t n_subs, cap_subs;
	const char *cur_node;  /* for dangling-reference messages */
	const char *cur_input;
	pt2c_json_opts jopts;  /* the document's parse options (lazy spans are parsed with them) */
	pt2c_arena *sym_arena; /* when set, sizes/strides are read here instead of the ctx arena */
	bool file_mapped;      /* src lies in an mmap of a file: drop_behind may give its pages back */
} rd;

/* pt2c__drop_behind for src when it is a file view: a graph-heavy model.json is larger than the program read from it. */
static void drop_behind(rd *r, uint64_t *done, uint64_t upto, bool final)
{
	if (r->file_mapped && upto <= r->src_len)
		pt2c__drop_behind(r->src, done, upto, final);
}

static void push_key(rd *r, const char *k)
{
	if (r->depth < PATH_MAX_SEGS) {
		r->path[r->depth].key = k;
		r->path[r->depth].key_len = (uint32_t)strlen(k);
	}
	r->depth++;
}

static void push_keyn(rd *r, const char *k, uint32_t n)
{
	if (r->depth < PATH_MAX_SEGS) {
		r->path[r->depth].key = k;
		r->path[r->depth].key_len = n;
	}
	r->depth++;
}

static void push_idx(rd *r, uint64_t i)
{
	if (r->depth < PATH_MAX_SEGS) {
		r->path[r->depth].key = NULL;
		r->path[r->depth].idx = i;
	}
	r->depth++;
}

static void pop(rd *r) { r->depth--; }

/* Report `code` at JSON value v (or the current path when v is NULL); returns code. */
static int fail_code(rd *r, int code, const pt2c_json *v, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_code(rd *r, int code, const pt2c_json *v, const char *fmt, ...)
{
	char msg[PT2C_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char member[PT2C_ERROR_WHERE_MAX];
	size_t n = (size_t)snprintf(member, sizeof member, "%s", r->prefix ? r->prefix : "");
	uint32_t d = r->depth < PATH_MAX_SEGS ? r->depth : PATH_MAX_SEGS;
	for (uint32_t i = 0; i < d && n < sizeof member; i++) {
		if (r->path[i].key)
			n += (size_t)snprintf(member + n, sizeof member - n, "/%.*s", (int)r->path[i].key_len, r->path[i].key);
		else
			n += (size_t)snprintf(member + n, sizeof member - n, "/%llu", (unsigned long long)r->path[i].idx);
	}
	if (d == 0 && n < sizeof member)
		snprintf(member + n, sizeof member - n, "/");
	return pt2c__err_at(r->err, code, member, v ? v->pos : UINT64_MAX, "%s", msg);
}
#define FAIL(r, v, ...) fail_code((r), PT2C_ECORRUPT, (v), __VA_ARGS__)

static const char *type_name(const pt2c_json *v)
{
	if (!v)
		return "nothing";
	switch (v->type) {
	case PT2C_JSON_NULL: return "null";
	case PT2C_JSON_FALSE:
	case PT2C_JSON_TRUE: return "a boolean";
	case PT2C_JSON_INT: return "an integer";
	case PT2C_JSON_REAL: return "a float";
	case PT2C_JSON_STRING: return "a string";
	case PT2C_JSON_ARRAY: return "a list";
	default: return "an object";
	}
}

/* MARK: typed field access */

/* Required member `key` of object o (which must be an object); on absence fails naming the key. */
static int req(rd *r, const pt2c_json *o, const char *key, const pt2c_json **out)
{
	if (!pt2c__json_is(o, PT2C_JSON_OBJECT))
		return FAIL(r, o, "expected an object, got %s", type_name(o));
	const pt2c_json *v = pt2c__json_get(o, key);
	if (!v) {
		/* the path names the missing member; the offset is its object's */
		push_key(r, key);
		int rc = FAIL(r, o, "missing required key '%s'", key);
		pop(r);
		return rc;
	}
	*out = v;
	return 0;
}

/* Optional member: NULL when absent or null. */
static const pt2c_json *opt(const pt2c_json *o, const char *key)
{
	const pt2c_json *v = pt2c__json_get(o, key);
	return (v && v->type != PT2C_JSON_NULL) ? v : NULL;
}

static int want(rd *r, const pt2c_json *v, int type, const char *what)
{
	if (!pt2c__json_is(v, type))
		return FAIL(r, v, "expected %s, got %s", what, type_name(v));
	return 0;
}

static int get_int(rd *r, const pt2c_json *v, int64_t *out)
{
	if (!pt2c__json_is(v, PT2C_JSON_INT))
		return FAIL(r, v, "expected an integer, got %s", type_name(v));
	*out = v->u.i;
	return 0;
}

static int get_bool(rd *r, const pt2c_json *v, bool *out)
{
	if (!v || (v->type != PT2C_JSON_TRUE && v->type != PT2C_JSON_FALSE))
		return FAIL(r, v, "expected a boolean, got %s", type_name(v));
	*out = v->type == PT2C_JSON_TRUE;
	return 0;
}

static bool str_is(const pt2c_json *v, const char *s)
{
	size_t n = strlen(s);
	return v->n == n && memcmp(v->u.s, s, n) == 0;
}

/* Python float(): numbers, and the non-finite spellings json/float() accept. */
static int get_float(rd *r, const pt2c_json *v, double *out)
{
	if (pt2c__json_is(v, PT2C_JSON_REAL)) {
		*out = v->u.d;
		return 0;
	}
	if (pt2c__json_is(v, PT2C_JSON_INT)) {
		*out = (double)v->u.i;
		return 0;
	}
	if (pt2c__json_is(v, PT2C_JSON_STRING)) {
		if (str_is(v, "Infinity") || str_is(v, "inf") || str_is(v, "Inf") || str_is(v, "infinity")) {
			*out = INFINITY;
			return 0;
		}
		if (str_is(v, "-Infinity") || str_is(v, "-inf") || str_is(v, "-Inf") || str_is(v, "-infinity")) {
			*out = -INFINITY;
			return 0;
		}
		if (str_is(v, "NaN") || str_is(v, "nan") || str_is(v, "-NaN") || str_is(v, "-nan")) {
			*out = NAN;
			return 0;
		}
		return FAIL(r, v, "expected a float, got the string \"%.*s\"", (int)(v->n > 40 ? 40 : v->n), v->u.s);
	}
	return FAIL(r, v, "expected a float, got %s", type_name(v));
}

static int intern_str(rd *r, const pt2c_json *v, const char **out)
{
	if (!pt2c__json_is(v, PT2C_JSON_STRING))
		return FAIL(r, v, "expected a string, got %s", type_name(v));
	const char *s = pt2c__ctx_intern(r->ctx, v->u.s, v->n);
	if (!s)
		return pt2c__err_oom(r->err);
	*out = s;
	return 0;
}

/* A string kept as a view when it lies in the source text, else copied into the arena. */
static int view_str(rd *r, const pt2c_json *v, const char **out, uint32_t *len)
{
	if (!pt2c__json_is(v, PT2C_JSON_STRING))
		return FAIL(r, v, "expected a string, got %s", type_name(v));
	if (!r->src || (v->u.s >= r->src && v->u.s + v->n <= r->src + r->src_len)) {
		*out = v->u.s;
	} else {
		char *c = pt2c__arena_strndup(&r->ctx->arena, v->u.s, v->n);
		if (!c)
			return pt2c__err_oom(r->err);
		*out = c;
	}
	*len = v->n;
	return 0;
}

static int req_int(rd *r, const pt2c_json *o, const char *key, int64_t *out)
{
	const pt2c_json *v = NULL;
	int rc = req(r, o, key, &v);
	if (rc)
		return rc;
	push_key(r, key);
	rc = get_int(r, v, out);
	pop(r);
	return rc;
}

static int req_intern(rd *r, const pt2c_json *o, const char *key, const char **out)
{
	const pt2c_json *v = NULL;
	int rc = req(r, o, key, &v);
	if (rc)
		return rc;
	push_key(r, key);
	rc = intern_str(r, v, out);
	pop(r);
	return rc;
}

/* Single-key union object: the tag and its value. */
static int union_of(rd *r, const pt2c_json *v, const pt2c_json **tag, const pt2c_json **val)
{
	if (!pt2c__json_is(v, PT2C_JSON_OBJECT))
		return FAIL(r, v, "expected a union object, got %s", type_name(v));
	if (v->n != 1)
		return FAIL(r, v, "a union must have exactly one key, got %u", v->n);
	*tag = pt2c__json_key(v, 0);
	*val = pt2c__json_val(v, 0);
	return 0;
}

static void *arena_array(rd *r, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	return pt2c__arena_calloc(&r->ctx->arena, n, size);
}

/* MARK: symbolic scalars and tensor metadata */

/* SymInt/SymBool/SymFloat union: {"as_int"|"as_bool"|"as_float": v} or {"as_expr": SymExpr}. */
static int read_sym(rd *r, const pt2c_json *v, int sym_kind, pt2c_sym *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	push_keyn(r, tag->u.s, tag->n);
	if (str_is(tag, "as_expr")) {
		out->kind = PT2C_SYM_EXPR;
		const pt2c_json *e = NULL;
		if ((rc = req(r, val, "expr_str", &e)))
			goto done;
		push_key(r, "expr_str");
		rc = intern_str(r, e, &out->expr);
		pop(r);
		if (rc)
			goto done;
		const pt2c_json *h = opt(val, "hint");
		if (h) {
			const pt2c_json *ht = NULL, *hv = NULL;
			push_key(r, "hint");
			rc = union_of(r, h, &ht, &hv);
			if (!rc) {
				if (str_is(ht, "as_int")) {
					out->hint_kind = PT2C_HINT_INT;
					rc = get_int(r, hv, &out->i);
				} else if (str_is(ht, "as_bool")) {
					bool b = false;
					out->hint_kind = PT2C_HINT_BOOL;
					rc = get_bool(r, hv, &b);
					out->i = b;
				} else if (str_is(ht, "as_float")) {
					out->hint_kind = PT2C_HINT_FLOAT;
					rc = get_float(r, hv, &out->f);
				} else {
					rc = FAIL(r, ht, "unknown hint tag '%.*s'", (int)ht->n, ht->u.s);
				}
			}
			pop(r);
		}
	} else if (sym_kind == PT2C_SYM_INT && str_is(tag, "as_int")) {
		out->kind = PT2C_SYM_INT;
		rc = get_int(r, val, &out->i);
	} else if (sym_kind == PT2C_SYM_BOOL && str_is(tag, "as_bool")) {
		bool b = false;
		out->kind = PT2C_SYM_BOOL;
		rc = get_bool(r, val, &b);
		out->i = b;
	} else if (sym_kind == PT2C_SYM_FLOAT && str_is(tag, "as_float")) {
		out->kind = PT2C_SYM_FLOAT;
		rc = get_float(r, val, &out->f);
	} else {
		rc = FAIL(r, tag, "unknown tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	}
done:
	pop(r);
	return rc;
}

static int read_device(rd *r, const pt2c_json *v, pt2c_device *d)
{
	int rc = req_intern(r, v, "type", &d->type);
	if (rc)
		return rc;
	d->index = -1;
	const pt2c_json *ix = opt(v, "index");
	if (ix) {
		int64_t i = 0;
		push_key(r, "index");
		rc = get_int(r, ix, &i);
		if (!rc && (i < 0 || i > INT32_MAX))
			rc = FAIL(r, ix, "device index %lld out of range", (long long)i);
		pop(r);
		if (rc)
			return rc;
		d->index = (int32_t)i;
	}
	return 0;
}

/* A list of SymInts; with `nonneg`, concrete values must be >= 0 (sizes). */
static int read_sym_list(rd *r, const pt2c_json *o, const char *key, pt2c_sym **out, uint32_t *n, bool nonneg)
{
	const pt2c_json *l = NULL;
	int rc = req(r, o, key, &l);
	if (rc)
		return rc;
	push_key(r, key);
	if ((rc = want(r, l, PT2C_JSON_ARRAY, "a list")))
		goto done;
	*n = l->n;
	*out = r->sym_arena ? (l->n ? pt2c__arena_calloc(r->sym_arena, l->n, sizeof(pt2c_sym)) : NULL)
	                    : arena_array(r, l->n, sizeof(pt2c_sym));
	if (l->n && !*out) {
		rc = pt2c__err_oom(r->err);
		goto done;
	}
	for (uint32_t i = 0; i < l->n && !rc; i++) {
		push_idx(r, i);
		rc = read_sym(r, &l->u.items[i], PT2C_SYM_INT, &(*out)[i]);
		if (!rc && nonneg && (*out)[i].kind == PT2C_SYM_INT && (*out)[i].i < 0)
			rc = FAIL(r, &l->u.items[i], "negative value %lld", (long long)(*out)[i].i);
		pop(r);
	}
done:
	pop(r);
	return rc;
}

/*
 * A tensor whose concrete sizes, strides and offset need more than 2^63 - 1 elements or bytes
 * (PyTorch: "Storage size calculation overflowed") is refused; symbolic dimensions are not
 * checked (their values are not known here).
 */
static int check_extent(rd *r, const pt2c_json *v, const pt2c_tensor_meta *m)
{
	uint64_t numel = 1, last = 0, t;
	bool ovf = false, concrete = m->storage_offset.kind == PT2C_SYM_INT;
	for (uint32_t i = 0; i < m->ndim && concrete; i++) {
		if (m->sizes[i].kind != PT2C_SYM_INT || m->strides[i].kind != PT2C_SYM_INT) {
			concrete = false;
			break;
		}
		uint64_t sz = (uint64_t)m->sizes[i].i, st = (uint64_t)m->strides[i].i;
		ovf |= pt2c__mul_ovf(numel, sz, &numel);
		if (sz)
			ovf |= pt2c__mul_ovf(sz - 1, st, &t) || pt2c__add_ovf(last, t, &last);
	}
	if (!concrete)
		return 0;
	uint64_t bytes = 0, isz = pt2c__dtype_size(m->dtype);
	if (!ovf && numel)
		ovf = pt2c__add_ovf(last, (uint64_t)m->storage_offset.i + 1, &last) ||
		      pt2c__mul_ovf(last, isz ? isz : 1, &bytes) || bytes > (uint64_t)INT64_MAX;
	if (!ovf && numel > (uint64_t)INT64_MAX)
		ovf = true;
	if (ovf)
		return FAIL(r, v, "tensor of %u dimensions needs more than 2^63-1 elements or bytes (sizes, strides and storage offset overflow)",
		            (unsigned)m->ndim);
	return 0;
}

static int read_meta(rd *r, const pt2c_json *v, pt2c_tensor_meta *m)
{
	memset(m, 0, sizeof *m);
	if (!pt2c__json_is(v, PT2C_JSON_OBJECT))
		return FAIL(r, v, "expected a TensorMeta object, got %s", type_name(v));
	int64_t dt = 0, layout = 0;
	int rc = req_int(r, v, "dtype", &dt);
	if (rc)
		return rc;
	if (!pt2c__dtype_valid(dt)) {
		push_key(r, "dtype");
		rc = FAIL(r, pt2c__json_get(v, "dtype"), "dtype %lld out of range", (long long)dt);
		pop(r);
		return rc;
	}
	m->dtype = (uint8_t)dt;
	uint32_t ns = 0, nst = 0;
	if ((rc = read_sym_list(r, v, "sizes", &m->sizes, &ns, true)))
		return rc;
	const pt2c_json *rg = NULL;
	if ((rc = req(r, v, "requires_grad", &rg)))
		return rc;
	push_key(r, "requires_grad");
	rc = get_bool(r, rg, &m->requires_grad);
	pop(r);
	if (rc)
		return rc;
	const pt2c_json *dv = NULL;
	if ((rc = req(r, v, "device", &dv)))
		return rc;
	push_key(r, "device");
	rc = read_device(r, dv, &m->device);
	pop(r);
	if (rc)
		return rc;
	/* PyTorch has no negative strides (as_strided refuses them) */
	if ((rc = read_sym_list(r, v, "strides", &m->strides, &nst, true)))
		return rc;
	if (nst != ns)
		return FAIL(r, v, "%u strides for %u sizes", nst, ns);
	m->ndim = ns;
	const pt2c_json *so = NULL;
	if ((rc = req(r, v, "storage_offset", &so)))
		return rc;
	push_key(r, "storage_offset");
	rc = read_sym(r, so, PT2C_SYM_INT, &m->storage_offset);
	if (!rc && m->storage_offset.kind == PT2C_SYM_INT && m->storage_offset.i < 0)
		rc = FAIL(r, so, "negative storage offset %lld", (long long)m->storage_offset.i);
	pop(r);
	if (rc)
		return rc;
	if ((rc = req_int(r, v, "layout", &layout)))
		return rc;
	if (layout < 0 || layout > PT2C_LAYOUT_MAX) {
		push_key(r, "layout");
		rc = FAIL(r, pt2c__json_get(v, "layout"), "layout %lld out of range", (long long)layout);
		pop(r);
		return rc;
	}
	m->layout = (uint8_t)layout;
	return check_extent(r, v, m);
}

int pt2c__json_read_meta(pt2c_ctx *ctx, const pt2c_json *v, pt2c_tensor_meta *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG(ctx && m);
	rd r;
	memset(&r, 0, sizeof r);
	r.ctx = ctx;
	r.err = err;
	r.prefix = "";
	return read_meta(&r, v, m);
}

/* MARK: arguments */

enum { MODE_REF = 0, MODE_DEF = 1 };

typedef struct gst {
	pt2c_graph *g;
	meta_maps mm;
} gst;

/* Define value `name` of kind `vk` (with metadata from the graph's tables) or look it up. */
static int name_ref(rd *r, gst *s, const pt2c_json *namev, int mode, int vk, uint32_t *ref)
{
	if (!pt2c__json_is(namev, PT2C_JSON_STRING))
		return FAIL(r, namev, "expected a value name string, got %s", type_name(namev));
	pt2c_graph *g = s->g;
	if (mode == MODE_REF) {
		uint32_t id = pt2c__graph_find_value(g, namev->u.s, namev->n);
		if (id == PT2C_NONE)
			return fail_code(r, PT2C_EGRAPH, namev, "node '%s' input '%s' refers to undefined value '%.*s'",
			                 r->cur_node ? r->cur_node : "?", r->cur_input ? r->cur_input : "?",
			                 (int)(namev->n > 100 ? 100 : namev->n), namev->u.s);
		*ref = id;
		return 0;
	}
	const char *name = pt2c__ctx_intern(r->ctx, namev->u.s, namev->n);
	if (!name)
		return pt2c__err_oom(r->err);
	uint32_t id = 0;
	/* add_value refuses a defined name with PT2C_EGRAPH: no separate lookup first (hot path) */
	int rc = pt2c__graph_add_value(g, name, true, vk, &id);
	if (rc == PT2C_ENOMEM)
		return pt2c__err_oom(r->err);
	if (rc == PT2C_EGRAPH)
		return fail_code(r, PT2C_EGRAPH, namev, "value '%s' is defined twice", name);
	if (rc)
		return fail_code(r, rc, namev, "cannot define value '%s'", name);
	pt2c_value *val = pt2c__value(g, id);
	uint64_t mi = 0;
	const pt2c_json *mv = NULL;
	const pt2c_json *tab = NULL;
	const pt2c_map *map = NULL;
	const char *tabname = NULL;
	switch (vk) {
	case PT2C_VAL_TENSOR: tab = s->mm.tv; map = &s->mm.mtv; tabname = "tensor_values"; break;
	case PT2C_VAL_SYM_INT: tab = s->mm.si; map = &s->mm.msi; tabname = "sym_int_values"; break;
	case PT2C_VAL_SYM_BOOL: tab = s->mm.sb; map = &s->mm.msb; tabname = "sym_bool_values"; break;
	case PT2C_VAL_SYM_FLOAT: tab = s->mm.sf; map = &s->mm.msf; tabname = "sym_float_values"; break;
	case PT2C_VAL_CUSTOM_OBJ: tab = s->mm.co; map = &s->mm.mco; tabname = "custom_obj_values"; break;
	default: break;
	}
	if (vk == PT2C_VAL_TENSOR && s->mm.tv_read) { /* read up front: copy the shared metadata */
		if (pt2c__map_get(map, namev->u.s, namev->n, &mi)) {
			val->u.tensor = (const pt2c_tensor_meta *)(uintptr_t)mi;
			val->has_meta = true;
		}
		*ref = id;
		return 0;
	}
	if (!tab || !pt2c__map_get(map, namev->u.s, namev->n, &mi)) {
		*ref = id;
		return 0;
	}
	mv = pt2c__json_val(tab, mi);
	/* the metadata path: <graph>/<table>/<name> */
	uint32_t saved = r->depth;
	seg keep[2];
	bool kept = r->gdepth + 2 <= PATH_MAX_SEGS;
	if (kept)
		memcpy(keep, &r->path[r->gdepth], sizeof keep);
	r->depth = r->gdepth;
	push_key(r, tabname);
	push_keyn(r, name, namev->n);
	val = pt2c__value(g, id);
	switch (vk) {
	case PT2C_VAL_TENSOR: {
		pt2c_tensor_meta *tm = pt2c__arena_zalloc(&r->ctx->arena, sizeof *tm);
		rc = tm ? read_meta(r, mv, tm) : pt2c__err_oom(r->err);
		val->u.tensor = tm;
		break;
	}
	case PT2C_VAL_SYM_INT: rc = read_sym(r, mv, PT2C_SYM_INT, &val->u.sym); break;
	case PT2C_VAL_SYM_BOOL: rc = read_sym(r, mv, PT2C_SYM_BOOL, &val->u.sym); break;
	case PT2C_VAL_SYM_FLOAT: rc = read_sym(r, mv, PT2C_SYM_FLOAT, &val->u.sym); break;
	case PT2C_VAL_CUSTOM_OBJ:
		if ((rc = req_intern(r, mv, "name", &val->u.obj.name)) == 0)
			rc = req_intern(r, mv, "class_fqn", &val->u.obj.class_fqn);
		break;
	default: break;
	}
	r->depth = saved;
	if (kept)
		memcpy(&r->path[r->gdepth], keep, sizeof keep);
	if (rc)
		return rc;
	val->has_meta = true;
	*ref = id;
	return 0;
}

static int read_graph(rd *r, const pt2c_json *v, pt2c_graph *g);

static int read_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out);

/* {"name": str} TensorArgument/TokenArgument. */
static int tensor_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *nm = NULL;
	int rc = req(r, v, "name", &nm);
	if (rc)
		return rc;
	push_key(r, "name");
	out->kind = PT2C_ARG_TENSOR;
	rc = name_ref(r, s, nm, mode, PT2C_VAL_TENSOR, &out->u.ref);
	pop(r);
	return rc;
}

/* {"as_name": str} | {"as_<lit>": v}: the SymInt/SymBool/SymFloat argument forms. */
static int sym_arg(rd *r, gst *s, const pt2c_json *v, int mode, int kind, pt2c_arg *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	out->kind = (uint8_t)kind;
	push_keyn(r, tag->u.s, tag->n);
	if (str_is(tag, "as_name")) {
		int vk = kind == PT2C_ARG_SYM_INT ? PT2C_VAL_SYM_INT : kind == PT2C_ARG_SYM_BOOL ? PT2C_VAL_SYM_BOOL : PT2C_VAL_SYM_FLOAT;
		rc = name_ref(r, s, val, mode, vk, &out->u.ref);
	} else if (kind == PT2C_ARG_SYM_INT && str_is(tag, "as_int")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_int(r, val, &out->u.i);
	} else if (kind == PT2C_ARG_SYM_BOOL && str_is(tag, "as_bool")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_bool(r, val, &out->u.b);
	} else if (kind == PT2C_ARG_SYM_FLOAT && str_is(tag, "as_float")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_float(r, val, &out->u.f);
	} else {
		rc = FAIL(r, tag, "unknown tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	}
	pop(r);
	return rc;
}

static int custom_obj_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *nm = NULL;
	int rc = req(r, v, "name", &nm);
	if (rc)
		return rc;
	out->kind = PT2C_ARG_CUSTOM_OBJ;
	if ((rc = req_intern(r, v, "class_fqn", &out->u.obj.class_fqn)))
		return rc;
	push_key(r, "name");
	rc = name_ref(r, s, nm, mode, PT2C_VAL_CUSTOM_OBJ, &out->u.obj.ref);
	pop(r);
	if (rc)
		return rc;
	if (mode == MODE_DEF) {
		pt2c_value *val = pt2c__value(s->g, out->u.obj.ref);
		if (!val->has_meta) { /* no custom_obj_values entry: the argument itself is the metadata */
			val->u.obj.name = val->name;
			val->u.obj.class_fqn = out->u.obj.class_fqn;
		}
	}
	return 0;
}

static int check_enum(rd *r, const pt2c_json *v, int64_t i, int kind)
{
	bool ok = false;
	if (kind == PT2C_ARG_SCALAR_TYPE)
		ok = i == 0 || pt2c__dtype_valid(i);
	else if (kind == PT2C_ARG_MEMORY_FORMAT)
		ok = i >= 0 && i <= PT2C_MEMFMT_MAX;
	else
		ok = i >= 0 && i <= PT2C_LAYOUT_MAX;
	if (!ok)
		return FAIL(r, v, "%s %lld out of range", kind == PT2C_ARG_SCALAR_TYPE ? "dtype" :
		            kind == PT2C_ARG_MEMORY_FORMAT ? "memory format" : "layout", (long long)i);
	return 0;
}

/* Item i of a list argument: one JSON element read per the list kind. */
static int list_item(rd *r, gst *s, int kind, const pt2c_json *e, int mode, pt2c_arg *it)
{
	int rc;
	switch (kind) {
	case PT2C_ARG_TENSORS:
		return tensor_arg(r, s, e, mode, it);
	case PT2C_ARG_INTS:
		it->kind = PT2C_ARG_INT;
		return get_int(r, e, &it->u.i);
	case PT2C_ARG_FLOATS:
		it->kind = PT2C_ARG_FLOAT;
		return get_float(r, e, &it->u.f);
	case PT2C_ARG_STRINGS:
		it->kind = PT2C_ARG_STRING;
		return view_str(r, e, &it->u.s, &it->n);
	case PT2C_ARG_BOOLS:
		it->kind = PT2C_ARG_BOOL;
		return get_bool(r, e, &it->u.b);
	case PT2C_ARG_SYM_INTS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_INT, it);
	case PT2C_ARG_SYM_BOOLS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_BOOL, it);
	case PT2C_ARG_SYM_FLOATS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_FLOAT, it);
	case PT2C_ARG_OPTIONAL_TENSORS: {
		const pt2c_json *tag = NULL, *val = NULL;
		if ((rc = union_of(r, e, &tag, &val)))
			return rc;
		if (str_is(tag, "as_none")) {
			it->kind = PT2C_ARG_NONE;
			return 0;
		}
		if (!str_is(tag, "as_tensor"))
			return FAIL(r, tag, "unknown tag '%.*s' in optional tensors", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
		push_key(r, "as_tensor");
		rc = tensor_arg(r, s, val, mode, it);
		pop(r);
		return rc;
	}
	case PT2C_ARG_NESTED_TENSORS:
	case PT2C_ARG_INT_LISTS: {
		if ((rc = want(r, e, PT2C_JSON_ARRAY, "a list")))
			return rc;
		int sub = kind == PT2C_ARG_NESTED_TENSORS ? PT2C_ARG_TENSORS : PT2C_ARG_INTS;
		it->kind = (uint8_t)sub;
		it->n = e->n;
		it->u.items = arena_array(r, e->n, sizeof(pt2c_arg));
		if (e->n && !it->u.items)
			return pt2c__err_oom(r->err);
		for (uint32_t j = 0; j < e->n; j++) {
			push_idx(r, j);
			rc = list_item(r, s, sub, &e->u.items[j], mode, &it->u.items[j]);
			pop(r);
			if (rc)
				return rc;
		}
		return 0;
	}
	default:
		return FAIL(r, e, "internal: not a list kind");
	}
}

static int read_arg_inner(rd *r, gst *s, const pt2c_json *tag, const pt2c_json *val, int mode, pt2c_arg *out)
{
	int kind = pt2c__arg_kind_from_tag(tag->u.s, tag->n);
	if (kind < 0)
		return FAIL(r, tag, "unknown Argument tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	memset(out, 0, sizeof *out);
	out->kind = (uint8_t)kind;
	int rc;
	switch (kind) {
	case PT2C_ARG_NONE:
		return 0; /* torch writes true; the value is not checked by its loader either */
	case PT2C_ARG_TENSOR:
		return tensor_arg(r, s, val, mode, out);
	case PT2C_ARG_INT:
		return get_int(r, val, &out->u.i);
	case PT2C_ARG_FLOAT:
		return get_float(r, val, &out->u.f);
	case PT2C_ARG_STRING:
	case PT2C_ARG_OPERATOR:
		return view_str(r, val, &out->u.s, &out->n);
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		return sym_arg(r, s, val, mode, kind, out);
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_MEMORY_FORMAT:
	case PT2C_ARG_LAYOUT:
		if ((rc = get_int(r, val, &out->u.i)))
			return rc;
		return check_enum(r, val, out->u.i, kind);
	case PT2C_ARG_DEVICE:
		return read_device(r, val, &out->u.dev);
	case PT2C_ARG_BOOL:
		return get_bool(r, val, &out->u.b);
	case PT2C_ARG_CUSTOM_OBJ:
		return custom_obj_arg(r, s, val, mode, out);
	case PT2C_ARG_COMPLEX: {
		const pt2c_json *re = NULL, *im = NULL;
		if ((rc = req(r, val, "real", &re)) || (rc = req(r, val, "imag", &im)))
			return rc;
		push_key(r, "real");
		rc = get_float(r, re, &out->u.c.re);
		pop(r);
		if (rc)
			return rc;
		push_key(r, "imag");
		rc = get_float(r, im, &out->u.c.im);
		pop(r);
		return rc;
	}
	case PT2C_ARG_GRAPH: {
		const pt2c_json *gv = NULL;
		if ((rc = req_intern(r, val, "name", &out->u.g.name)) || (rc = req(r, val, "graph", &gv)))
			return rc;
		if (r->graph_depth >= GRAPH_MAX_DEPTH)
			return fail_code(r, PT2C_EUNSUPPORTED, gv, "subgraphs nested deeper than %d", GRAPH_MAX_DEPTH);
		pt2c_graph *sub;
		if ((rc = pt2c__graph_new(r->ctx, &sub)))
			return pt2c__err_oom(r->err);
		void *arr = r->subs;
		if (pt2c__grow(r->ctx->alloc, &arr, &r->cap_subs, r->n_subs + 1, sizeof *r->subs)) {
			pt2c__graph_free(sub);
			return pt2c__err_oom(r->err);
		}
		r->subs = arr;
		r->subs[r->n_subs++] = sub;
		out->u.g.graph = sub;
		push_key(r, "graph");
		const char *sn = r->cur_node, *si = r->cur_input;
		r->graph_depth++;
		rc = read_graph(r, gv, sub);
		r->graph_depth--;
		r->cur_node = sn;
		r->cur_input = si;
		pop(r);
		return rc;
	}
	case PT2C_ARG_OPTIONAL_TENSOR: {
		out->n = 1;
		out->u.items = arena_array(r, 1, sizeof(pt2c_arg));
		if (!out->u.items)
			return pt2c__err_oom(r->err);
		return list_item(r, s, PT2C_ARG_OPTIONAL_TENSORS, val, mode, &out->u.items[0]);
	}
	case PT2C_ARG_STRING_TO_ARGUMENT: {
		if ((rc = want(r, val, PT2C_JSON_OBJECT, "an object")))
			return rc;
		uint32_t n = val->n;
		out->n = n;
		if (n) {
			if (!(out->u.map = arena_array(r, 1, sizeof *out->u.map)))
				return pt2c__err_oom(r->err);
			out->u.map->keys = arena_array(r, n, sizeof(const char *));
			out->u.map->key_lens = arena_array(r, n, sizeof(uint32_t));
			out->u.map->items = arena_array(r, n, sizeof(pt2c_arg));
			if (!out->u.map->keys || !out->u.map->key_lens || !out->u.map->items)
				return pt2c__err_oom(r->err);
		}
		for (uint32_t i = 0; i < n; i++) {
			const pt2c_json *k = pt2c__json_key(val, i);
			if ((rc = view_str(r, k, &out->u.map->keys[i], &out->u.map->key_lens[i])))
				return rc;
			push_keyn(r, k->u.s, k->n);
			rc = read_arg(r, s, pt2c__json_val(val, i), mode, &out->u.map->items[i]);
			pop(r);
			if (rc)
				return rc;
		}
		return 0;
	}
	default:
		break;
	}
	/* the remaining kinds are lists */
	if ((rc = want(r, val, PT2C_JSON_ARRAY, "a list")))
		return rc;
	out->n = val->n;
	out->u.items = arena_array(r, val->n, sizeof(pt2c_arg));
	if (val->n && !out->u.items)
		return pt2c__err_oom(r->err);
	for (uint32_t i = 0; i < val->n; i++) {
		push_idx(r, i);
		rc = list_item(r, s, kind, &val->u.items[i], mode, &out->u.items[i]);
		pop(r);
		if (rc)
			return rc;
	}
	return 0;
}

/* One Argument union; in MODE_DEF its names define values, in MODE_REF they must exist. */
static int read_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	if (r->arg_depth >= ARG_MAX_DEPTH)
		return fail_code(r, PT2C_EUNSUPPORTED, v, "arguments nested deeper than %d", ARG_MAX_DEPTH);
	r->arg_depth++;
	push_keyn(r, tag->u.s, tag->n);
	rc = read_arg_inner(r, s, tag, val, mode, out);
	pop(r);
	r->arg_depth--;
	return rc;
}

/* MARK: graphs */

static int build_map(rd *r, const pt2c_json *obj, pt2c_map *m)
{
	pt2c__map_init(m, r->ctx->alloc);
	if (!obj)
		return 0;
	for (uint32_t i = 0; i < obj->n; i++) {
		const pt2c_json *k = pt2c__json_key(obj, i);
		/* first occurrence wins, as for json lookups */
		if (pt2c__map_put(m, k->u.s, k->n, i, false, NULL))
			return pt2c__err_oom(r->err);
	}
	return 0;
}

static void free_maps(meta_maps *mm)
{
	pt2c__map_free(&mm->mtv);
	pt2c__map_free(&mm->msi);
	pt2c__map_free(&mm->msb);
	pt2c__map_free(&mm->msf);
	pt2c__map_free(&mm->mco);
}

/* Metadata table `key`: required tables must be objects, optional ones may be absent/null. */
static int meta_table(rd *r, const pt2c_json *gv, const char *key, bool required, const pt2c_json **out)
{
	const pt2c_json *t = pt2c__json_get(gv, key);
	*out = NULL;
	if (!t) {
		if (!required)
			return 0;
		push_key(r, key);
		int rc = FAIL(r, gv, "missing required key '%s'", key);
		pop(r);
		return rc;
	}
	if (t->type == PT2C_JSON_NULL && !required)
		return 0;
	*out = t;
	if (t->type == PT2C_JSON_RAW && r->src && t->pos < r->src_len && r->src[t->pos] == '{')
		return 0; /* left lazy by pt2c__pt2json_read_text: read_tensor_values reads it */
	push_key(r, key);
	int rc = want(r, t, PT2C_JSON_OBJECT, "an object");
	pop(r);
	*out = t;
	return rc;
}

/* MARK: lazy tensor_values */

/*
 * A graph's tensor_values left lazy: read every entry once, in order, into s->mm.mtv (name ->
 * metadata). Entries are parsed one at a time and equal metadata (and equal sizes/strides) is
 * stored once: the table of a graph-heavy program is a third of its model.json, and a DOM of it
 * was most of the reader's memory. Every entry is checked, used or not, as torch does.
 */
static int read_tensor_values(rd *r, gst *s, const pt2c_json *raw)
{
	const pt2c_allocator *a = r->ctx->alloc;
	pt2c_meta_pool mp;
	pt2c__meta_pool_init(&mp, a);
	pt2c_arena dom, syms;
	pt2c__arena_init(&dom, a);
	pt2c__arena_init(&syms, a);
	uint64_t cursor = 0, dropped = raw->pos;
	uint32_t saved = r->depth;
	int rc = 0;
	/* the text of the last value read and what it gave: values of equal text are not parsed again */
	uint64_t prev_at = 0, prev_len = 0;
	const pt2c_tensor_meta *prev = NULL;
	for (;;) {
		drop_behind(r, &dropped, cursor, false);
		pt2c_json *k = NULL, *v = NULL;
		pt2c__arena_reset(&dom);
		pt2c__arena_reset(&syms);
		r->depth = r->gdepth;
		push_key(r, "tensor_values");
		uint64_t at, n;
		bool same;
		if ((rc = pt2c__json_raw_next_member_memo(r->src, r->src_len, raw, &cursor, &r->jopts, &dom, prev ? prev_at : 0,
		                                          prev ? prev_len : 0, &k, &v, &at, &n, &same, r->err)) || !k)
			break; /* the span was validated whole: only OOM fails here */
		push_keyn(r, k->u.s, k->n);
		const pt2c_tensor_meta *shared = same ? prev : NULL;
		const char *name = NULL;
		if (!same) {
			pt2c_tensor_meta m;
			r->sym_arena = &syms;
			rc = read_meta(r, v, &m);
			r->sym_arena = NULL;
			if (!rc && pt2c__meta_pool_intern(&mp, r->ctx, &m, &shared))
				rc = pt2c__err_oom(r->err);
			prev = rc ? NULL : shared;
			prev_at = at;
			prev_len = n;
		}
		if (!rc && (!(name = pt2c__ctx_intern(r->ctx, k->u.s, k->n)) ||
		            pt2c__map_put(&s->mm.mtv, name, k->n, (uint64_t)(uintptr_t)shared, false, NULL)))
			rc = pt2c__err_oom(r->err); /* first occurrence wins, as for json lookups */
		if (rc)
			break;
	}
	drop_behind(r, &dropped, cursor, true);
	r->depth = saved;
	s->mm.tv_read = true;
	pt2c__arena_free(&dom);
	pt2c__arena_free(&syms);
	pt2c__meta_pool_free(&mp);
	return rc;
}

/* The name of the first value an outputs list defines (for nodes without a name), or NULL. */
static const pt2c_json *first_output_name(const pt2c_json *items, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const pt2c_json *a = &items[i];
		if (!pt2c__json_is(a, PT2C_JSON_OBJECT) || a->n != 1)
			continue;
		const pt2c_json *v = pt2c__json_val(a, 0);
		const pt2c_json *nm = pt2c__json_get(v, "name");
		if (!nm)
			nm = pt2c__json_get(v, "as_name");
		if (!nm && pt2c__json_is(v, PT2C_JSON_ARRAY) && v->n)
			nm = pt2c__json_get(&v->u.items[0], "name");
		if (pt2c__json_is(nm, PT2C_JSON_STRING))
			return nm;
	}
	return NULL;
}

static int read_node(rd *r, gst *s, const pt2c_json *nv)
{
	pt2c_graph *g = s->g;
	const char *target = NULL;
	int rc = req_intern(r, nv, "target", &target);
	if (rc)
		return rc;
	const pt2c_json *ins = NULL, *outs = NULL, *meta = NULL;
	if ((rc = req(r, nv, "inputs", &ins)) || (rc = req(r, nv, "outputs", &outs)) || (rc = req(r, nv, "metadata", &meta)))
		return rc;
	push_key(r, "inputs");
	rc = want(r, ins, PT2C_JSON_ARRAY, "a list");
	pop(r);
	if (rc)
		return rc;
	push_key(r, "outputs");
	rc = want(r, outs, PT2C_JSON_ARRAY, "a list");
	pop(r);
	if (rc)
		return rc;
	push_key(r, "metadata");
	rc = want(r, meta, PT2C_JSON_OBJECT, "an object");
	pop(r);
	if (rc)
		return rc;

	const pt2c_json *namev = opt(nv, "name");
	bool no_name = namev == NULL;
	const char *name = NULL;
	if (namev) {
		push_key(r, "name");
		rc = intern_str(r, namev, &name);
		pop(r);
		if (rc)
			return rc;
	} else {
		const pt2c_json *fo = first_output_name(outs->u.items, outs->n);
		name = pt2c__ctx_intern(r->ctx, fo ? fo->u.s : "node", fo ? fo->n : 4);
		if (!name)
			return pt2c__err_oom(r->err);
	}
	uint32_t id = 0;
	rc = pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, name, !no_name, target, PT2C_NONE, &id);
	if (rc == PT2C_ENOMEM)
		return pt2c__err_oom(r->err);
	if (rc)
		return fail_code(r, rc, namev ? namev : nv, "duplicate node name '%s'", name);
	pt2c_node *node = pt2c__node(g, id);
	if (no_name)
		node->flags |= PT2C_NODE_NO_NAME;
	node->hop_single_tensor_return = -1;
	const pt2c_json *hop = opt(nv, "is_hop_single_tensor_return");
	if (hop) {
		bool b = false;
		push_key(r, "is_hop_single_tensor_return");
		rc = get_bool(r, hop, &b);
		pop(r);
		if (rc)
			return rc;
		node->hop_single_tensor_return = b ? 1 : 0;
	}
	r->cur_node = pt2c__node(g, id)->name;

	/* inputs */
	pt2c_named_arg *nas = arena_array(r, ins->n, sizeof *nas);
	if (ins->n && !nas)
		return pt2c__err_oom(r->err);
	push_key(r, "inputs");
	for (uint32_t i = 0; i < ins->n && !rc; i++) {
		const pt2c_json *na = &ins->u.items[i], *av, *kv;
		push_idx(r, i);
		if (!(rc = req_intern(r, na, "name", &nas[i].name)) && !(rc = req(r, na, "arg", &av))) {
			r->cur_input = nas[i].name;
			push_key(r, "arg");
			rc = read_arg(r, s, av, MODE_REF, &nas[i].arg);
			pop(r);
			kv = opt(na, "kind");
			if (!rc && kv) {
				int64_t k = 0;
				push_key(r, "kind");
				rc = get_int(r, kv, &k);
				if (!rc && (k < 0 || k > 2))
					rc = FAIL(r, kv, "argument kind %lld out of range", (long long)k);
				pop(r);
				nas[i].kind = (uint8_t)(rc ? 0 : k);
			}
		}
		pop(r);
	}
	pop(r);
	if (rc)
		return rc;
	pt2c__node_adopt_inputs(g, id, nas, ins->n);

	/* outputs define values */
	pt2c_arg *oa = arena_array(r, outs->n, sizeof *oa);
	if (outs->n && !oa)
		return pt2c__err_oom(r->err);
	push_key(r, "outputs");
	for (uint32_t i = 0; i < outs->n && !rc; i++) {
		push_idx(r, i);
		rc = read_arg(r, s, &outs->u.items[i], MODE_DEF, &oa[i]);
		pop(r);
	}
	pop(r);
	if (rc)
		return rc;
	if ((rc = pt2c__node_adopt_outputs(g, id, oa, outs->n)))
		return pt2c__err_oom(r->err);

	/* metadata: string views */
	if (meta->n) {
		pt2c_kv *kvs = arena_array(r, meta->n, sizeof *kvs);
		if (!kvs)
			return pt2c__err_oom(r->err);
		push_key(r, "metadata");
		for (uint32_t i = 0; i < meta->n && !rc; i++) {
			const pt2c_json *k = pt2c__json_key(meta, i);
			push_keyn(r, k->u.s, k->n);
			rc = intern_str(r, k, &kvs[i].key);
			if (!rc)
				rc = view_str(r, pt2c__json_val(meta, i), &kvs[i].val, &kvs[i].val_len);
			pop(r);
		}
		pop(r);
		if (rc)
			return rc;
		if ((rc = pt2c__node_set_meta(g, id, kvs, meta->n)))
			return pt2c__err_oom(r->err);
	}
	return 0;
}

static int read_graph(rd *r, const pt2c_json *gv, pt2c_graph *g)
{
	if (!pt2c__json_is(gv, PT2C_JSON_OBJECT))
		return FAIL(r, gv, "expected a Graph object, got %s", type_name(gv));
	const pt2c_json *ins = NULL, *outs = NULL, *nodes = NULL;
	int rc;
	if ((rc = req(r, gv, "inputs", &ins)) || (rc = req(r, gv, "outputs", &outs)) || (rc = req(r, gv, "nodes", &nodes)))
		return rc;
	gst s;
	memset(&s, 0, sizeof s);
	s.g = g;
	uint32_t saved_gdepth = r->gdepth;
	r->gdepth = r->depth;
	if ((rc = meta_table(r, gv, "tensor_values", true, &s.mm.tv)) ||
	    (rc = meta_table(r, gv, "sym_int_values", true, &s.mm.si)) ||
	    (rc = meta_table(r, gv, "sym_bool_values", true, &s.mm.sb)) ||
	    (rc = meta_table(r, gv, "sym_float_values", false, &s.mm.sf)) ||
	    (rc = meta_table(r, gv, "custom_obj_values", false, &s.mm.co))) {
		r->gdepth = saved_gdepth;
		return rc;
	}
	const pt2c_json *tv_raw = s.mm.tv && s.mm.tv->type == PT2C_JSON_RAW ? s.mm.tv : NULL;
	if (tv_raw)
		s.mm.tv = NULL;
	if ((rc = build_map(r, s.mm.tv, &s.mm.mtv)) | build_map(r, s.mm.si, &s.mm.msi) | build_map(r, s.mm.sb, &s.mm.msb) |
	    build_map(r, s.mm.sf, &s.mm.msf) | build_map(r, s.mm.co, &s.mm.mco)) {
		free_maps(&s.mm);
		r->gdepth = saved_gdepth;
		return pt2c__err_oom(r->err);
	}
	if (tv_raw && (rc = read_tensor_values(r, &s, tv_raw)))
		goto out;
	const pt2c_json *istr = opt(gv, "is_single_tensor_return");
	if (istr) {
		push_key(r, "is_single_tensor_return");
		rc = get_bool(r, istr, &g->is_single_tensor_return);
		pop(r);
		if (rc)
			goto out;
	}
	/* placeholders */
	push_key(r, "inputs");
	if ((rc = want(r, ins, PT2C_JSON_ARRAY, "a list"))) {
		pop(r);
		goto out;
	}
	for (uint32_t i = 0; i < ins->n && !rc; i++) {
		pt2c_arg a;
		push_idx(r, i);
		r->cur_node = "input";
		r->cur_input = "";
		/* the node first, so that its name is taken before the value of the same name */
		const pt2c_json *nmv = first_output_name(ins->u.items + i, 1);
		bool exact = nmv != NULL;
		const char *nm = pt2c__ctx_intern(r->ctx, exact ? nmv->u.s : "arg", exact ? nmv->n : 3);
		uint32_t id = PT2C_NONE;
		if (!nm)
			rc = pt2c__err_oom(r->err);
		else if ((rc = pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, nm, exact, nm, PT2C_NONE, &id)) == PT2C_ENOMEM)
			rc = pt2c__err_oom(r->err);
		else if (rc)
			rc = fail_code(r, rc, &ins->u.items[i], "duplicate placeholder '%s'", nm);
		if (!rc) {
			pt2c_node *pn = pt2c__node(g, id);
			pn->target = pn->name;
			pn->hop_single_tensor_return = -1;
			rc = read_arg(r, &s, &ins->u.items[i], MODE_DEF, &a);
		}
		if (!rc && pt2c__node_set_outputs(g, id, &a, 1))
			rc = pt2c__err_oom(r->err);
		pop(r);
	}
	pop(r);
	if (rc)
		goto out;
	/* nodes */
	push_key(r, "nodes");
	if (nodes->type == PT2C_JSON_RAW && r->src && nodes->pos < r->src_len && r->src[nodes->pos] == '[') {
		/* left lazy by pt2c__pt2json_read_text: one node's DOM at a time (nothing read keeps pointers into it) */
		pt2c_arena dom;
		pt2c__arena_init(&dom, r->ctx->alloc);
		uint64_t cursor = 0, dropped = nodes->pos;
		/* room for all of them at once (a node is far more than 32 bytes of JSON: the count is bounded by the text) */
		if (nodes->n <= nodes->u.raw_len / 32 && pt2c__graph_reserve(g, nodes->n, nodes->n))
			rc = pt2c__err_oom(r->err);
		for (uint32_t i = 0; !rc; i++) {
			pt2c_json *nv = NULL;
			drop_behind(r, &dropped, cursor, false);
			pt2c__arena_reset(&dom);
			if ((rc = pt2c__json_raw_next(r->src, r->src_len, nodes, &cursor, &r->jopts, &dom, &nv, r->err)) || !nv)
				break;
			push_idx(r, i);
			rc = read_node(r, &s, nv);
			pop(r);
		}
		drop_behind(r, &dropped, cursor, true);
		pt2c__arena_free(&dom);
	} else if ((rc = want(r, nodes, PT2C_JSON_ARRAY, "a list")) == 0) {
		for (uint32_t i = 0; i < nodes->n && !rc; i++) {
			push_idx(r, i);
			rc = read_node(r, &s, &nodes->u.items[i]);
			pop(r);
		}
	}
	pop(r);
	if (rc)
		goto out;
	/* outputs */
	push_key(r, "outputs");
	if ((rc = want(r, outs, PT2C_JSON_ARRAY, "a list"))) {
		pop(r);
		goto out;
	}
	pt2c_named_arg *oa = arena_array(r, outs->n, sizeof *oa);
	if (outs->n && !oa)
		rc = pt2c__err_oom(r->err);
	r->cur_node = "output";
	for (uint32_t i = 0; i < outs->n && !rc; i++) {
		push_idx(r, i);
		r->cur_input = "";
		rc = read_arg(r, &s, &outs->u.items[i], MODE_REF, &oa[i].arg);
		pop(r);
	}
	pop(r);
	if (rc)
		goto out;
	uint32_t oid = 0;
	if ((rc = pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", false, "output", PT2C_NONE, &oid)) ||
	    (rc = pt2c__node_set_inputs(g, oid, oa, outs->n))) {
		rc = pt2c__err_oom(r->err);
		goto out;
	}
	pt2c__node(g, oid)->hop_single_tensor_return = -1;
out:
	free_maps(&s.mm);
	r->gdepth = saved_gdepth;
	return rc;
}

/* MARK: signature, call graph, header */

static int read_input_spec(rd *r, gst *s, const pt2c_json *v, pt2c_input_spec *out)
{
	const pt2c_json *tag = NULL, *val = NULL, *av = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	push_keyn(r, tag->u.s, tag->n);
	r->cur_node = "input_specs";
	r->cur_input = "arg";
	const char *tkey = NULL;
	bool tensor = true;
	if (str_is(tag, "user_input")) {
		out->kind = PT2C_IN_USER_INPUT;
		tensor = false;
	} else if (str_is(tag, "parameter")) {
		out->kind = PT2C_IN_PARAMETER;
		tkey = "parameter_name";
	} else if (str_is(tag, "buffer")) {
		out->kind = PT2C_IN_BUFFER;
		tkey = "buffer_name";
	} else if (str_is(tag, "tensor_constant")) {
		out->kind = PT2C_IN_TENSOR_CONSTANT;
		tkey = "tensor_constant_name";
	} else if (str_is(tag, "custom_obj")) {
		out->kind = PT2C_IN_CUSTOM_OBJ;
		tkey = "custom_obj_name";
	} else if (str_is(tag, "token")) {
		out->kind = PT2C_IN_TOKEN;
	} else if (str_is(tag, "constant_input")) {
		out->kind = PT2C_IN_CONSTANT_INPUT;
	} else {
		rc = FAIL(r, tag, "unknown InputSpec tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
		goto done;
	}
	if (out->kind == PT2C_IN_CONSTANT_INPUT) {
		if ((rc = req_intern(r, val, "name", &out->target)) || (rc = req(r, val, "value", &av)))
			goto done;
		push_key(r, "value");
		rc = read_arg(r, s, av, MODE_REF, &out->arg);
		pop(r);
		goto done;
	}
	if ((rc = req(r, val, "arg", &av)))
		goto done;
	push_key(r, "arg");
	if (!tensor)
		rc = read_arg(r, s, av, MODE_REF, &out->arg);
	else if (out->kind == PT2C_IN_CUSTOM_OBJ)
		rc = custom_obj_arg(r, s, av, MODE_REF, &out->arg);
	else
		rc = tensor_arg(r, s, av, MODE_REF, &out->arg);
	pop(r);
	if (rc)
		goto done;
	if (tkey && (rc = req_intern(r, val, tkey, &out->target)))
		goto done;
	if (out->kind == PT2C_IN_BUFFER) {
		const pt2c_json *pv = NULL;
		if ((rc = req(r, val, "persistent", &pv)))
			goto done;
		push_key(r, "persistent");
		rc = get_bool(r, pv, &out->persistent);
		pop(r);
	}
done:
	pop(r);
	return rc;
}

static int read_output_spec(rd *r, gst *s, const pt2c_json *v, pt2c_output_spec *out)
{
	static const struct { const char *tag; uint8_t kind; const char *tkey; } T[] = {
		{ "user_output", PT2C_OUT_USER_OUTPUT, NULL },
		{ "loss_output", PT2C_OUT_LOSS_OUTPUT, NULL },
		{ "buffer_mutation", PT2C_OUT_BUFFER_MUTATION, "buffer_name" },
		{ "gradient_to_parameter", PT2C_OUT_GRADIENT_TO_PARAMETER, "parameter_name" },
		{ "gradient_to_user_input", PT2C_OUT_GRADIENT_TO_USER_INPUT, "user_input_name" },
		{ "user_input_mutation", PT2C_OUT_USER_INPUT_MUTATION, "user_input_name" },
		{ "token", PT2C_OUT_TOKEN, NULL },
		{ "parameter_mutation", PT2C_OUT_PARAMETER_MUTATION, "parameter_name" },
	};
	const pt2c_json *tag = NULL, *val = NULL, *av = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	size_t k = 0;
	for (k = 0; k < PT2C_ARRAY_LEN(T); k++)
		if (str_is(tag, T[k].tag))
			break;
	if (k == PT2C_ARRAY_LEN(T))
		return FAIL(r, tag, "unknown OutputSpec tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	out->kind = T[k].kind;
	push_keyn(r, tag->u.s, tag->n);
	r->cur_node = "output_specs";
	r->cur_input = "arg";
	if (!(rc = req(r, val, "arg", &av))) {
		push_key(r, "arg");
		rc = out->kind == PT2C_OUT_USER_OUTPUT ? read_arg(r, s, av, MODE_REF, &out->arg)
		                                      : tensor_arg(r, s, av, MODE_REF, &out->arg);
		pop(r);
	}
	if (!rc && T[k].tkey)
		rc = req_intern(r, val, T[k].tkey, &out->target);
	pop(r);
	return rc;
}

static int read_str_list(rd *r, const pt2c_json *l, const char ***out, uint32_t *n)
{
	int rc = want(r, l, PT2C_JSON_ARRAY, "a list");
	if (rc)
		return rc;
	*n = l->n;
	*out = arena_array(r, l->n, sizeof(const char *));
	if (l->n && !*out)
		return pt2c__err_oom(r->err);
	for (uint32_t i = 0; i < l->n && !rc; i++) {
		push_idx(r, i);
		rc = intern_str(r, &l->u.items[i], &(*out)[i]);
		pop(r);
	}
	return rc;
}

/*
 * A treespec string (torch.utils._pytree protocol 1: `[1, node]`, node = {"type": str | null,
 * "context": str | null, "children_spec": [node...]}, a leaf has type null and no children) is
 * parsed far enough to check its structure and count its leaves; want >= 0: the count it must
 * have (the root call's user inputs / outputs). `v` is the string in the document (for the
 * position), `key` the field named in messages.
 */
static int check_treespec(rd *r, const pt2c_json *v, const char *key, const char *spec, int64_t want)
{
	pt2c_arena a;
	pt2c__arena_init(&a, r->ctx->alloc);
	pt2c_error e = PT2C_ERROR_INIT;
	pt2c_json *root = NULL;
	pt2c_json_opts jo = { 0, r->jopts.max_depth };
	const pt2c_json **stack = NULL;
	size_t n = 0, cap = 0;
	int64_t leaves = 0;
	push_key(r, key);
	int rc = pt2c__json_parse(&root, spec, strlen(spec), &jo, &a, &e);
	if (rc == PT2C_ENOMEM) {
		rc = pt2c__err_oom(r->err);
		goto done;
	}
	if (rc) {
		rc = FAIL(r, v, "not a treespec: %s (at byte %llu of the string)", e.message, (unsigned long long)e.offset);
		goto done;
	}
	const pt2c_json *proto = pt2c__json_at(root, 0);
	if (!pt2c__json_is(root, PT2C_JSON_ARRAY) || root->n != 2 || !pt2c__json_is(proto, PT2C_JSON_INT)) {
		rc = FAIL(r, v, "not a treespec: expected [protocol, spec]");
		goto done;
	}
	if (proto->u.i != 1) {
		rc = FAIL(r, v, "treespec protocol %lld is not supported (1 expected)", (long long)proto->u.i);
		goto done;
	}
	if (pt2c__grow(r->ctx->alloc, (void **)&stack, &cap, 1, sizeof *stack)) {
		rc = pt2c__err_oom(r->err);
		goto done;
	}
	stack[n++] = pt2c__json_at(root, 1);
	while (n && !rc) {
		const pt2c_json *node = stack[--n];
		const pt2c_json *ty = pt2c__json_get(node, "type"), *cx = pt2c__json_get(node, "context");
		const pt2c_json *ch = pt2c__json_get(node, "children_spec");
		if (!pt2c__json_is(node, PT2C_JSON_OBJECT) || node->n != 3 || !ch || !cx || !ty ||
		    !(pt2c__json_is(ty, PT2C_JSON_NULL) || pt2c__json_is(ty, PT2C_JSON_STRING)) ||
		    !(pt2c__json_is(cx, PT2C_JSON_NULL) || pt2c__json_is(cx, PT2C_JSON_STRING)) ||
		    !pt2c__json_is(ch, PT2C_JSON_ARRAY)) {
			rc = FAIL(r, v, "not a treespec: the node at byte %llu of the string is not "
			          "{\"type\": str|null, \"context\": str|null, \"children_spec\": [...]}",
			          (unsigned long long)(node ? node->pos : 0));
			break;
		}
		if (pt2c__json_is(ty, PT2C_JSON_NULL)) {
			if (ch->n) {
				rc = FAIL(r, v, "not a treespec: a leaf (type null) with %u children at byte %llu of the string",
				          (unsigned)ch->n, (unsigned long long)node->pos);
				break;
			}
			leaves++;
			continue;
		}
		if (n + ch->n > cap && pt2c__grow(r->ctx->alloc, (void **)&stack, &cap, n + ch->n, sizeof *stack)) {
			rc = pt2c__err_oom(r->err);
			break;
		}
		for (uint32_t i = 0; i < ch->n; i++)
			stack[n++] = &ch->u.items[i];
	}
	if (!rc && want >= 0 && leaves != want)
		rc = FAIL(r, v, "treespec has %lld leaves, the graph signature %lld user %s", (long long)leaves,
		          (long long)want, strcmp(key, "in_spec") == 0 ? "inputs" : "outputs");
done:
	pop(r);
	pt2c__free(r->ctx->alloc, stack);
	pt2c__arena_free(&a);
	return rc;
}

static int read_calls(rd *r, pt2c_program *p, gst *s, const pt2c_json *l)
{
	int rc = want(r, l, PT2C_JSON_ARRAY, "a list");
	if (rc)
		return rc;
	p->n_calls = l->n;
	p->calls = arena_array(r, l->n, sizeof *p->calls);
	if (l->n && !p->calls)
		return pt2c__err_oom(r->err);
	r->cur_node = "module_call_graph";
	for (uint32_t i = 0; i < l->n && !rc; i++) {
		pt2c_module_call *c = &p->calls[i];
		const pt2c_json *e = &l->u.items[i];
		push_idx(r, i);
		if ((rc = req_intern(r, e, "fqn", &c->fqn)))
			goto next;
		const pt2c_json *sg = opt(e, "signature");
		if (!sg)
			goto next;
		push_key(r, "signature");
		c->has_signature = true;
		const pt2c_json *ia = NULL, *oa = NULL, *fa = NULL;
		if ((rc = req(r, sg, "inputs", &ia)) || (rc = req(r, sg, "outputs", &oa)) ||
		    (rc = req_intern(r, sg, "in_spec", &c->in_spec)) || (rc = req_intern(r, sg, "out_spec", &c->out_spec)))
			goto sig_done;
		{
			/* the root call's specs flatten to the program's user inputs and outputs */
			bool root = c->fqn[0] == '\0';
			int64_t n_in = 0, n_out = 0;
			for (uint32_t j = 0; j < p->n_inputs; j++)
				n_in += p->inputs[j].kind == PT2C_IN_USER_INPUT || p->inputs[j].kind == PT2C_IN_CONSTANT_INPUT;
			for (uint32_t j = 0; j < p->n_outputs; j++)
				n_out += p->outputs[j].kind == PT2C_OUT_USER_OUTPUT;
			if ((rc = check_treespec(r, pt2c__json_get(sg, "in_spec"), "in_spec", c->in_spec, root ? n_in : -1)) ||
			    (rc = check_treespec(r, pt2c__json_get(sg, "out_spec"), "out_spec", c->out_spec, root ? n_out : -1)))
				goto sig_done;
		}
		for (int pass = 0; pass < 2 && !rc; pass++) {
			const pt2c_json *al = pass ? oa : ia;
			push_key(r, pass ? "outputs" : "inputs");
			if (!(rc = want(r, al, PT2C_JSON_ARRAY, "a list"))) {
				pt2c_arg *arr = arena_array(r, al->n, sizeof(pt2c_arg));
				if (al->n && !arr)
					rc = pt2c__err_oom(r->err);
				for (uint32_t j = 0; j < al->n && !rc; j++) {
					push_idx(r, j);
					r->cur_input = pass ? "outputs" : "inputs";
					rc = read_arg(r, s, &al->u.items[j], MODE_REF, &arr[j]);
					pop(r);
				}
				if (pass) {
					c->outputs = arr;
					c->n_outputs = al->n;
				} else {
					c->inputs = arr;
					c->n_inputs = al->n;
				}
			}
			pop(r);
		}
		if (rc)
			goto sig_done;
		fa = opt(sg, "forward_arg_names");
		if (fa) {
			c->has_forward_arg_names = true;
			push_key(r, "forward_arg_names");
			rc = read_str_list(r, fa, &c->forward_arg_names, &c->n_forward_arg_names);
			pop(r);
		}
	sig_done:
		pop(r);
	next:
		pop(r);
	}
	return rc;
}

static int read_kvs(rd *r, const pt2c_json *o, pt2c_kv **out, uint32_t *n)
{
	int rc = want(r, o, PT2C_JSON_OBJECT, "an object");
	if (rc)
		return rc;
	*n = o->n;
	*out = arena_array(r, o->n, sizeof(pt2c_kv));
	if (o->n && !*out)
		return pt2c__err_oom(r->err);
	for (uint32_t i = 0; i < o->n && !rc; i++) {
		const pt2c_json *k = pt2c__json_key(o, i);
		push_keyn(r, k->u.s, k->n);
		rc = intern_str(r, k, &(*out)[i].key);
		if (!rc)
			rc = view_str(r, pt2c__json_val(o, i), &(*out)[i].val, &(*out)[i].val_len);
		pop(r);
	}
	return rc;
}

static int read_program(rd *r, pt2c_program *p, const pt2c_json *root)
{
	if (!pt2c__json_is(root, PT2C_JSON_OBJECT))
		return FAIL(r, root, "expected an ExportedProgram object, got %s", type_name(root));
	const pt2c_json *gm = NULL, *opset = NULL, *ranges = NULL, *sv = NULL, *gv = NULL, *sig = NULL, *mcg = NULL;
	int rc;
	if ((rc = req(r, root, "graph_module", &gm)) || (rc = req(r, root, "opset_version", &opset)) ||
	    (rc = req(r, root, "range_constraints", &ranges)) || (rc = req(r, root, "schema_version", &sv)))
		return rc;
	/* schema version first: it decides whether the rest can be understood */
	push_key(r, "schema_version");
	if ((rc = req_int(r, sv, "major", &p->schema_major)) || (rc = req_int(r, sv, "minor", &p->schema_minor))) {
		pop(r);
		return rc;
	}
	if (p->schema_major != 8 && !(p->schema_major == 0 && p->schema_minor == 0))
		rc = fail_code(r, PT2C_EUNSUPPORTED, sv, "schema version %lld.%lld is not supported (major 8 expected)",
		               (long long)p->schema_major, (long long)p->schema_minor);
	pop(r);
	if (rc)
		return rc;

	push_key(r, "graph_module");
	if ((rc = req(r, gm, "graph", &gv)) || (rc = req(r, gm, "signature", &sig)) ||
	    (rc = req(r, gm, "module_call_graph", &mcg))) {
		pop(r);
		return rc;
	}
	pt2c_graph *g = p->mod->graph;
	if (!g) {
		if (pt2c__graph_new(p->ctx, &p->mod->graph)) {
			pop(r);
			return pt2c__err_oom(r->err);
		}
		g = p->mod->graph;
	}
	push_key(r, "graph");
	rc = read_graph(r, gv, g);
	pop(r);
	if (rc) {
		pop(r);
		return rc;
	}
	/* the signature and call graph reference top-level values; no new definitions */
	gst s;
	memset(&s, 0, sizeof s);
	s.g = g;
	push_key(r, "signature");
	const pt2c_json *is = NULL, *os = NULL;
	if (!(rc = req(r, sig, "input_specs", &is)) && !(rc = req(r, sig, "output_specs", &os))) {
		push_key(r, "input_specs");
		if (!(rc = want(r, is, PT2C_JSON_ARRAY, "a list"))) {
			p->n_inputs = is->n;
			p->inputs = arena_array(r, is->n, sizeof *p->inputs);
			if (is->n && !p->inputs)
				rc = pt2c__err_oom(r->err);
			for (uint32_t i = 0; i < is->n && !rc; i++) {
				push_idx(r, i);
				rc = read_input_spec(r, &s, &is->u.items[i], &p->inputs[i]);
				pop(r);
			}
		}
		pop(r);
		if (!rc) {
			push_key(r, "output_specs");
			if (!(rc = want(r, os, PT2C_JSON_ARRAY, "a list"))) {
				p->n_outputs = os->n;
				p->outputs = arena_array(r, os->n, sizeof *p->outputs);
				if (os->n && !p->outputs)
					rc = pt2c__err_oom(r->err);
				for (uint32_t i = 0; i < os->n && !rc; i++) {
					push_idx(r, i);
					rc = read_output_spec(r, &s, &os->u.items[i], &p->outputs[i]);
					pop(r);
				}
			}
			pop(r);
		}
	}
	pop(r);
	if (!rc) {
		push_key(r, "module_call_graph");
		rc = read_calls(r, p, &s, mcg);
		pop(r);
	}
	const pt2c_json *md = opt(gm, "metadata");
	if (!rc && md) {
		push_key(r, "metadata");
		rc = read_kvs(r, md, &p->gm_meta, &p->n_gm_meta);
		pop(r);
	}
	const pt2c_json *nt = opt(gm, "treespec_namedtuple_fields");
	if (!rc && nt) {
		push_key(r, "treespec_namedtuple_fields");
		if (!(rc = want(r, nt, PT2C_JSON_OBJECT, "an object"))) {
			p->n_namedtuples = nt->n;
			p->namedtuples = arena_array(r, nt->n, sizeof *p->namedtuples);
			if (nt->n && !p->namedtuples)
				rc = pt2c__err_oom(r->err);
			for (uint32_t i = 0; i < nt->n && !rc; i++) {
				const pt2c_json *k = pt2c__json_key(nt, i), *fl;
				push_keyn(r, k->u.s, k->n);
				if (!(rc = intern_str(r, k, &p->namedtuples[i].type)) &&
				    !(rc = req(r, pt2c__json_val(nt, i), "field_names", &fl))) {
					push_key(r, "field_names");
					rc = read_str_list(r, fl, &p->namedtuples[i].fields, &p->namedtuples[i].n);
					pop(r);
				}
				pop(r);
			}
		}
		pop(r);
	}
	pop(r); /* graph_module */
	if (rc)
		return rc;

	/* opset_version */
	push_key(r, "opset_version");
	if (!(rc = want(r, opset, PT2C_JSON_OBJECT, "an object"))) {
		p->n_opsets = opset->n;
		p->opsets = arena_array(r, opset->n, sizeof *p->opsets);
		if (opset->n && !p->opsets)
			rc = pt2c__err_oom(r->err);
		for (uint32_t i = 0; i < opset->n && !rc; i++) {
			const pt2c_json *k = pt2c__json_key(opset, i);
			push_keyn(r, k->u.s, k->n);
			if (!(rc = intern_str(r, k, &p->opsets[i].name)))
				rc = get_int(r, pt2c__json_val(opset, i), &p->opsets[i].version);
			pop(r);
		}
	}
	pop(r);
	if (rc)
		return rc;
	/* range_constraints */
	push_key(r, "range_constraints");
	if (!(rc = want(r, ranges, PT2C_JSON_OBJECT, "an object"))) {
		p->n_ranges = ranges->n;
		p->ranges = arena_array(r, ranges->n, sizeof *p->ranges);
		if (ranges->n && !p->ranges)
			rc = pt2c__err_oom(r->err);
		for (uint32_t i = 0; i < ranges->n && !rc; i++) {
			const pt2c_json *k = pt2c__json_key(ranges, i), *rv = pt2c__json_val(ranges, i), *mn, *mx;
			pt2c_symrange *sr = &p->ranges[i];
			push_keyn(r, k->u.s, k->n);
			if (!(rc = intern_str(r, k, &sr->name)) && !(rc = req(r, rv, "min_val", &mn)) &&
			    !(rc = req(r, rv, "max_val", &mx))) {
				if (mn->type != PT2C_JSON_NULL) {
					push_key(r, "min_val");
					rc = get_int(r, mn, &sr->min);
					sr->has_min = true;
					pop(r);
				}
				if (!rc && mx->type != PT2C_JSON_NULL) {
					push_key(r, "max_val");
					rc = get_int(r, mx, &sr->max);
					sr->has_max = true;
					pop(r);
				}
			}
			pop(r);
		}
	}
	pop(r);
	if (rc)
		return rc;
	/* defaulted header fields */
	const pt2c_json *ver = opt(root, "verifiers"), *tv = opt(root, "torch_version"), *gc = opt(root, "guards_code");
	p->n_verifiers = 0;
	p->verifiers = NULL;
	if (ver) {
		push_key(r, "verifiers");
		rc = read_str_list(r, ver, &p->verifiers, &p->n_verifiers);
		pop(r);
		if (rc)
			return rc;
	}
	p->torch_version = NULL;
	if (tv) {
		push_key(r, "torch_version");
		rc = intern_str(r, tv, &p->torch_version);
		pop(r);
		if (rc)
			return rc;
	}
	p->n_guards = 0;
	p->guards_code = NULL;
	if (gc) {
		push_key(r, "guards_code");
		rc = read_str_list(r, gc, &p->guards_code, &p->n_guards);
		pop(r);
	}
	return rc;
}

/* Clear GRAPH arguments (in node inputs, maps included) so that freed subgraphs are not referenced. */
static void drop_arg_graphs(pt2c_arg *a, uint32_t depth)
{
	if (depth > ARG_MAX_DEPTH)
		return;
	if (a->kind == PT2C_ARG_GRAPH)
		a->u.g.graph = NULL;
	else if (a->kind == PT2C_ARG_STRING_TO_ARGUMENT)
		for (uint32_t i = 0; i < a->n; i++)
			drop_arg_graphs(&a->u.map->items[i], depth + 1);
}

static void drop_graph_refs(pt2c_graph *g)
{
	for (uint32_t i = 0; i < g->n_nodes; i++)
		for (uint32_t j = 0; j < g->nodes[i].n_inputs; j++)
			drop_arg_graphs(&g->nodes[i].inputs[j].arg, 0);
}

static int read_ex(pt2c_program *p, const pt2c_json *root, const char *src, size_t src_len,
                   const pt2c_json_opts *jopts, bool file_mapped, const char *member, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->ctx && p->mod);
	rd *r = pt2c__calloc(p->ctx->alloc, 1, sizeof *r);
	if (!r)
		return pt2c__err_oom(err);
	r->ctx = p->ctx;
	r->err = err;
	r->src = src;
	r->src_len = src_len;
	r->jopts = *jopts;
	r->file_mapped = file_mapped;
	char prefix[PT2C_ERROR_WHERE_MAX];
	snprintf(prefix, sizeof prefix, "%s%s", member ? member : "", member ? ":" : "");
	r->prefix = prefix;
	int rc = read_program(r, p, root);
	if (rc && r->n_subs) {
		/* nothing may keep pointing at the subgraphs freed here */
		if (p->mod->graph)
			drop_graph_refs(p->mod->graph);
		for (size_t i = 0; i < r->n_subs; i++)
			drop_graph_refs(r->subs[i]);
		for (size_t i = 0; i < r->n_subs; i++)
			pt2c__graph_free(r->subs[i]);
	}
	pt2c__free(p->ctx->alloc, r->subs);
	pt2c__free(p->ctx->alloc, r);
	return rc;
}

int pt2c__pt2json_read_ex(pt2c_program *p, const pt2c_json *root, const char *src, size_t src_len,
                          const char *member, pt2c_error *err)
{
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 0 };
	return read_ex(p, root, src, src_len, &jo, false, member, err);
}

int pt2c__pt2json_read_text(pt2c_program *p, const char *src, size_t src_len, const pt2c_json_opts *opts,
                            bool file_mapped, const char *member, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->ctx && (src || src_len == 0));
	static const pt2c_json_lazy lazy[] = { { "nodes", false }, { "tensor_values", true } };
	pt2c_arena arena;
	pt2c__arena_init(&arena, p->ctx->alloc);
	pt2c_json *root = NULL;
	pt2c_json_opts jo = opts ? *opts : (pt2c_json_opts){ PT2C_JSON_ALLOW_NONFINITE, 0 };
	pt2c_json_opts scan = jo;
	if (file_mapped)
		scan.flags |= PT2C_JSON_DROP_PAGES; /* the scan reads all of it: give pages back as it goes */
	int rc = pt2c__json_parse_lazy(&root, src, src_len, &scan, lazy, sizeof lazy / sizeof lazy[0], &arena, err);
	if (rc) {
		if (member && rc != PT2C_ENOMEM)
			pt2c__err_set_member(err, member);
	} else {
		/* the scan touched every page; the lazy spans page in again one by one as they are read */
		if (file_mapped)
			pt2c__drop_file_pages(src, src_len);
		rc = read_ex(p, root, src, src_len, &jo, file_mapped, member, err);
	}
	pt2c__arena_free(&arena);
	return rc;
}

int pt2c__pt2json_read(pt2c_program *p, const pt2c_json *root, pt2c_error *err)
{
	return pt2c__pt2json_read_ex(p, root, NULL, 0, NULL, err);
}
