/* meta.c -- tensor metadata helpers: strides, copies, storage extents, equality. */
#include "ir/ir.h"

int pt2c__meta_contiguous_strides(pt2c_ctx *ctx, pt2c_tensor_meta *m)
{
	PT2C_ASSERT_ARG(ctx && m);
	for (uint32_t i = 0; i < m->ndim; i++)
		if (m->sizes[i].kind != PT2C_SYM_INT)
			return PT2C_EUNSUPPORTED;
	pt2c_sym *st = m->ndim ? pt2c__arena_calloc(&ctx->arena, m->ndim, sizeof *st) : NULL;
	if (m->ndim && !st)
		return PT2C_ENOMEM;
	int64_t acc = 1;
	for (uint32_t i = m->ndim; i-- > 0;) {
		st[i] = pt2c__sym_int(acc);
		/* torch uses max(size, 1) so that zero-size dims keep meaningful strides */
		int64_t s = m->sizes[i].i > 1 ? m->sizes[i].i : 1;
		if (__builtin_mul_overflow(acc, s, &acc))
			return PT2C_EUNSUPPORTED;
	}
	m->strides = st;
	return 0;
}

int pt2c__meta_copy(pt2c_ctx *ctx, pt2c_tensor_meta *dst, const pt2c_tensor_meta *src)
{
	PT2C_ASSERT_ARG(ctx && dst && src);
	pt2c_tensor_meta m = *src;
	if (src->ndim) {
		m.sizes = pt2c__arena_memdup(&ctx->arena, src->sizes, (size_t)src->ndim * sizeof(pt2c_sym));
		m.strides = src->strides ? pt2c__arena_memdup(&ctx->arena, src->strides, (size_t)src->ndim * sizeof(pt2c_sym)) : NULL;
		if (!m.sizes || (src->strides && !m.strides))
			return PT2C_ENOMEM;
	}
	*dst = m;
	return 0;
}

int pt2c__meta_storage_bytes(const pt2c_tensor_meta *m, uint64_t *out, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && out);
	*out = 0;
	size_t elem = pt2c__dtype_size(m->dtype);
	if (!elem)
		return pt2c__err(err, PT2C_ECORRUPT, "tensor has invalid dtype %d", m->dtype);
	if (m->storage_offset.kind != PT2C_SYM_INT || m->storage_offset.i < 0)
		return pt2c__err(err, PT2C_ECORRUPT, "tensor storage offset is symbolic or negative");
	if (m->ndim && (!m->sizes || !m->strides))
		return pt2c__err(err, PT2C_ECORRUPT, "tensor has no sizes or strides");
	uint64_t span = 0;
	for (uint32_t i = 0; i < m->ndim; i++) {
		const pt2c_sym *sz = &m->sizes[i], *st = &m->strides[i];
		if (sz->kind != PT2C_SYM_INT || st->kind != PT2C_SYM_INT)
			return pt2c__err(err, PT2C_ECORRUPT, "tensor dimension %u is symbolic", i);
		if (sz->i < 0 || st->i < 0)
			return pt2c__err(err, PT2C_ECORRUPT, "tensor dimension %u has negative size or stride", i);
		if (sz->i == 0)
			return 0; /* empty tensor: no bytes */
	}
	for (uint32_t i = 0; i < m->ndim; i++) {
		uint64_t t;
		if (pt2c__mul_ovf((uint64_t)(m->sizes[i].i - 1), (uint64_t)m->strides[i].i, &t) || pt2c__add_ovf(span, t, &span))
			return pt2c__err(err, PT2C_ECORRUPT, "tensor extent overflows");
	}
	if (pt2c__add_ovf(span, (uint64_t)m->storage_offset.i + 1u, &span) || pt2c__mul_ovf(span, elem, &span))
		return pt2c__err(err, PT2C_ECORRUPT, "tensor extent overflows");
	*out = span;
	return 0;
}

/* Symbolic scalars are equal when kind and value agree (expressions compared textually). */
static bool sym_equal(const pt2c_sym *a, const pt2c_sym *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PT2C_SYM_INT:
	case PT2C_SYM_BOOL:
		return a->i == b->i;
	case PT2C_SYM_FLOAT:
		return a->f == b->f || (a->f != a->f && b->f != b->f);
	default:
		return a->expr == b->expr || (a->expr && b->expr && strcmp(a->expr, b->expr) == 0);
	}
}

bool pt2c__meta_equal(const pt2c_tensor_meta *a, const pt2c_tensor_meta *b)
{
	if (a->dtype != b->dtype || a->layout != b->layout || a->requires_grad != b->requires_grad || a->ndim != b->ndim)
		return false;
	if (a->device.index != b->device.index)
		return false;
	if (a->device.type != b->device.type &&
	    (!a->device.type || !b->device.type || strcmp(a->device.type, b->device.type) != 0))
		return false;
	if (!sym_equal(&a->storage_offset, &b->storage_offset))
		return false;
	for (uint32_t i = 0; i < a->ndim; i++) {
		if (!sym_equal(&a->sizes[i], &b->sizes[i]))
			return false;
		if ((a->strides == NULL) != (b->strides == NULL))
			return false;
		if (a->strides && !sym_equal(&a->strides[i], &b->strides[i]))
			return false;
	}
	return true;
}

/* MARK: shared metadata */

/* A symbolic scalar as key bytes (no padding, so equal scalars give equal keys). */
#define SYM_KEY_BYTES 26
static void sym_key(uint8_t *e, const pt2c_sym *y)
{
	e[0] = y->kind;
	e[1] = y->hint_kind;
	memcpy(e + 2, &y->i, 8);
	memcpy(e + 10, &y->f, 8);
	memcpy(e + 18, &y->expr, 8); /* interned: equal expressions are one pointer */
	_Static_assert(sizeof y->expr <= 8, "pointer fits the key");
}

void pt2c__meta_pool_init(pt2c_meta_pool *mp, const pt2c_allocator *alloc)
{
	memset(mp, 0, sizeof *mp);
	mp->alloc = alloc;
	pt2c__arena_init(&mp->keys, alloc);
	pt2c__map_init(&mp->dims, alloc);
	pt2c__map_init(&mp->metas, alloc);
}

void pt2c__meta_pool_free(pt2c_meta_pool *mp)
{
	pt2c__arena_free(&mp->keys);
	pt2c__map_free(&mp->dims);
	pt2c__map_free(&mp->metas);
	pt2c__free(mp->alloc, mp->buf);
	mp->buf = NULL;
	mp->cap = 0;
}

/* The pointer stored under key[0..n) in m, else NULL. */
static void *pool_find(const pt2c_map *m, const uint8_t *key, size_t n)
{
	uint64_t v;
	return pt2c__map_get(m, (const char *)key, n, &v) ? (void *)(uintptr_t)v : NULL;
}

static int pool_add(pt2c_meta_pool *mp, pt2c_map *m, const uint8_t *key, size_t n, void *val)
{
	const char *k = pt2c__arena_memdup(&mp->keys, key, n);
	if (!k || pt2c__map_put(m, k, n, (uint64_t)(uintptr_t)val, false, NULL))
		return PT2C_ENOMEM;
	return 0;
}

int pt2c__meta_pool_dims(pt2c_meta_pool *mp, pt2c_ctx *ctx, const pt2c_sym *a, uint32_t n, pt2c_sym **out)
{
	*out = NULL;
	if (!n)
		return 0;
	size_t kn;
	if (pt2c__mul_ovf_sz(n, SYM_KEY_BYTES, &kn))
		return PT2C_ENOMEM;
	if (kn > mp->cap) {
		uint8_t *b = pt2c__malloc(mp->alloc, kn);
		if (!b)
			return PT2C_ENOMEM;
		pt2c__free(mp->alloc, mp->buf);
		mp->buf = b;
		mp->cap = kn;
	}
	for (uint32_t i = 0; i < n; i++)
		sym_key(mp->buf + (size_t)i * SYM_KEY_BYTES, &a[i]);
	pt2c_sym *c = pool_find(&mp->dims, mp->buf, kn);
	if (!c && (!(c = pt2c__arena_memdup(&ctx->arena, a, (size_t)n * sizeof *a)) || pool_add(mp, &mp->dims, mp->buf, kn, c)))
		return PT2C_ENOMEM;
	*out = c;
	return 0;
}

int pt2c__meta_pool_intern(pt2c_meta_pool *mp, pt2c_ctx *ctx, const pt2c_tensor_meta *m, const pt2c_tensor_meta **out)
{
	pt2c_tensor_meta t = *m;
	int rc;
	if ((rc = pt2c__meta_pool_dims(mp, ctx, m->sizes, m->ndim, &t.sizes)) ||
	    (rc = pt2c__meta_pool_dims(mp, ctx, m->strides, m->ndim, &t.strides)))
		return rc;
	uint8_t k[3 + 8 + 4 + 4 + 8 + 8 + SYM_KEY_BYTES];
	k[0] = t.dtype;
	k[1] = t.layout;
	k[2] = t.requires_grad;
	memcpy(k + 3, &t.device.type, 8);
	memcpy(k + 11, &t.device.index, 4);
	memcpy(k + 15, &t.ndim, 4);
	memcpy(k + 19, &t.sizes, 8); /* shared arrays: equal contents are one pointer */
	memcpy(k + 27, &t.strides, 8);
	sym_key(k + 35, &t.storage_offset);
	pt2c_tensor_meta *c = pool_find(&mp->metas, k, sizeof k);
	if (!c && (!(c = pt2c__arena_memdup(&ctx->arena, &t, sizeof t)) || pool_add(mp, &mp->metas, k, sizeof k, c)))
		return PT2C_ENOMEM;
	*out = c;
	return 0;
}
