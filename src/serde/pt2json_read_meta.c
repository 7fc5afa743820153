/*
 * pt2json_read_meta.c -- model.json reader: symbolic scalars (SymInt/SymBool/SymFloat), devices and
 * tensor metadata (TensorMeta). See pt2json_read.h.
 */
#include <math.h>

#include "serde/pt2json_read.h"

/* MARK: symbolic scalars and tensor metadata */

/* Python float(): numbers, and the non-finite spellings json/float() accept. */
int get_float(rd *r, const pt2c_json *v, double *out)
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
	return pt2c__jr_type_error(&r->jr, v, "a float");
}

/* SymInt/SymBool/SymFloat union: {"as_int"|"as_bool"|"as_float": v} or {"as_expr": SymExpr}. */
int read_sym(rd *r, const pt2c_json *v, int sym_kind, pt2c_sym *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	AT_N(r, tag->u.s, tag->n);
	if (str_is(tag, "as_expr")) {
		out->kind = PT2C_SYM_EXPR;
		if ((rc = req_intern(r, val, "expr_str", &out->expr)))
			return rc;
		const pt2c_json *h = opt(val, "hint");
		if (h) {
			const pt2c_json *ht = NULL, *hv = NULL;
			AT(r, "hint");
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
	return rc;
}

int read_device(rd *r, const pt2c_json *v, pt2c_device *d)
{
	int rc = req_intern(r, v, "type", &d->type);
	if (rc)
		return rc;
	d->index = -1;
	const pt2c_json *ix = opt(v, "index");
	if (ix) {
		int64_t i = 0;
		AT(r, "index");
		rc = get_int(r, ix, &i);
		if (!rc && (i < 0 || i > INT32_MAX))
			rc = FAIL(r, ix, "device index %lld out of range", (long long)i);
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
	int rc = pt2c__jr_field(&r->jr, o, key, PT2C_JSON_ARRAY, 0, &l);
	if (rc)
		return rc;
	AT(r, key);
	*n = l->n;
	*out = r->sym_arena ? (l->n ? pt2c__arena_calloc(r->sym_arena, l->n, sizeof(pt2c_sym)) : NULL)
	                    : arena_array(r, l->n, sizeof(pt2c_sym));
	if (l->n && !*out)
		return pt2c__err_oom(r->err);
	EACH(r, it, l, !rc) {
		uint32_t i = it.i;
		rc = read_sym(r, it.val, PT2C_SYM_INT, &(*out)[i]);
		if (!rc && nonneg && (*out)[i].kind == PT2C_SYM_INT && (*out)[i].i < 0)
			rc = FAIL(r, it.val, "negative value %lld", (long long)(*out)[i].i);
	}
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

int read_meta(rd *r, const pt2c_json *v, pt2c_tensor_meta *m)
{
	memset(m, 0, sizeof *m);
	if (!pt2c__json_is(v, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(&r->jr, v, "a TensorMeta object");
	int64_t dt = 0, layout = 0;
	int rc = req_int(r, v, "dtype", &dt);
	if (rc)
		return rc;
	if (!pt2c__dtype_valid(dt)) {
		AT(r, "dtype");
		return FAIL(r, pt2c__json_get(v, "dtype"), "dtype %lld out of range", (long long)dt);
	}
	m->dtype = (uint8_t)dt;
	uint32_t ns = 0, nst = 0;
	if ((rc = read_sym_list(r, v, "sizes", &m->sizes, &ns, true)))
		return rc;
	if ((rc = pt2c__jr_field_bool(&r->jr, v, "requires_grad", 0, &m->requires_grad, NULL)))
		return rc;
	const pt2c_json *dv = NULL;
	if ((rc = req(r, v, "device", &dv)))
		return rc;
	{
		AT(r, "device");
		if ((rc = read_device(r, dv, &m->device)))
			return rc;
	}
	/* PyTorch has no negative strides (as_strided refuses them) */
	if ((rc = read_sym_list(r, v, "strides", &m->strides, &nst, true)))
		return rc;
	if (nst != ns)
		return FAIL(r, v, "%u strides for %u sizes", nst, ns);
	m->ndim = ns;
	const pt2c_json *so = NULL;
	if ((rc = req(r, v, "storage_offset", &so)))
		return rc;
	{
		AT(r, "storage_offset");
		rc = read_sym(r, so, PT2C_SYM_INT, &m->storage_offset);
		if (!rc && m->storage_offset.kind == PT2C_SYM_INT && m->storage_offset.i < 0)
			rc = FAIL(r, so, "negative storage offset %lld", (long long)m->storage_offset.i);
		if (rc)
			return rc;
	}
	if ((rc = req_int(r, v, "layout", &layout)))
		return rc;
	if (layout < 0 || layout > PT2C_LAYOUT_MAX) {
		AT(r, "layout");
		return FAIL(r, pt2c__json_get(v, "layout"), "layout %lld out of range", (long long)layout);
	}
	m->layout = (uint8_t)layout;
	return check_extent(r, v, m);
}

int pt2c__json_read_meta(pt2c_ctx *ctx, const pt2c_json *v, pt2c_tensor_meta *m, pt2c_jr *jr)
{
	PT2C_ASSERT_ARG(ctx && m && jr);
	rd r;
	memset(&r, 0, sizeof r);
	r.jr = *jr;
	r.ctx = ctx;
	r.err = jr->err;
	return read_meta(&r, v, m);
}

