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
