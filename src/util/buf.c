/*
 * buf.c -- growable byte buffer whose first allocation failure sticks, so writers append
 * freely and check b->err once at the end.
 */
#include <stdio.h>

#include "util/util.h"

void pt2c__buf_init(pt2c_buf *b, const pt2c_allocator *alloc)
{
	b->alloc = alloc;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
	b->flush = NULL;
	b->flush_ctx = NULL;
	b->flush_at = 0;
}

void pt2c__buf_set_flush(pt2c_buf *b, int (*flush)(void *ctx, const void *p, size_t n), void *ctx, size_t flush_at)
{
	b->flush = flush;
	b->flush_ctx = ctx;
	b->flush_at = flush_at ? flush_at : (size_t)1 << 20;
}

int pt2c__buf_flush(pt2c_buf *b)
{
	if (!b->err && b->flush && b->len) {
		int rc = b->flush(b->flush_ctx, b->data, b->len);
		if (rc)
			b->err = rc;
		b->len = 0;
	}
	return b->err;
}

void pt2c__buf_put_through(pt2c_buf *b, const void *p, size_t n)
{
	if (!b->flush || n < b->flush_at / 4 || b->err) {
		pt2c__buf_put(b, p, n);
		return;
	}
	if (pt2c__buf_flush(b))
		return;
	int rc = b->flush(b->flush_ctx, p, n);
	if (rc)
		b->err = rc;
}

void pt2c__buf_free(pt2c_buf *b)
{
	pt2c__free(b->alloc, b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

char *pt2c__buf_reserve(pt2c_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	/* Streaming: drain before growing, so cap stays near flush_at (a single larger request
	 * still gets the room it needs). */
	if (b->flush && b->len && (n >= b->flush_at || b->len > b->flush_at - n) && pt2c__buf_flush(b))
		return NULL;
	size_t need;
	/* +1 keeps room for pt2c__buf_cstr's NUL without another reallocation. */
	if (pt2c__add_ovf_sz(b->len, n, &need) || pt2c__add_ovf_sz(need, 1, &need)) {
		b->err = PT2C_ENOMEM;
		return NULL;
	}
	if (need > b->cap) {
		size_t ncap = b->cap < 64 ? 64 : b->cap;
		while (ncap < need) {
			if (ncap > SIZE_MAX / 2) {
				ncap = need;
				break;
			}
			ncap *= 2;
		}
		char *p = pt2c__realloc(b->alloc, b->data, b->cap, ncap);
		if (!p) {
			b->err = PT2C_ENOMEM;
			return NULL;
		}
		b->data = p;
		b->cap = ncap;
	}
	return b->data + b->len;
}

void pt2c__buf_put_slow(pt2c_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	char *dst = pt2c__buf_reserve(b, n);
	if (!dst)
		return;
	memcpy(dst, p, n);
	b->len += n;
}

void pt2c__buf_puts(pt2c_buf *b, const char *s)
{
	pt2c__buf_put(b, s, strlen(s));
}

void pt2c__buf_putc(pt2c_buf *b, char c)
{
	if (!b->err && b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		return;
	}
	pt2c__buf_put(b, &c, 1);
}

void pt2c__buf_printf(pt2c_buf *b, const char *fmt, ...)
{
	if (b->err)
		return;
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = PT2C_EINVALID;
		return;
	}
	if ((size_t)n < sizeof small) {
		pt2c__buf_put(b, small, (size_t)n);
		return;
	}
	/* Too long for the stack buffer: format straight into the reserved space. */
	char *dst = pt2c__buf_reserve(b, (size_t)n);
	if (!dst)
		return;
	va_start(ap, fmt);
	vsnprintf(dst, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void pt2c__buf_u8(pt2c_buf *b, uint8_t v)
{
	pt2c__buf_put(b, &v, 1);
}

void pt2c__buf_u16le(pt2c_buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	pt2c__buf_put(b, t, 2);
}

void pt2c__buf_u32le(pt2c_buf *b, uint32_t v)
{
	uint8_t t[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	pt2c__buf_put(b, t, 4);
}

void pt2c__buf_u64le(pt2c_buf *b, uint64_t v)
{
	pt2c__buf_u32le(b, (uint32_t)v);
	pt2c__buf_u32le(b, (uint32_t)(v >> 32));
}

void pt2c__buf_cstr(pt2c_buf *b)
{
	if (pt2c__buf_reserve(b, 0))
		b->data[b->len] = '\0';
}

char *pt2c__buf_detach(pt2c_buf *b, size_t *len)
{
	/* NUL-terminate so the result is usable as a C string; an empty buffer still gets storage,
	 * so NULL always means failure. */
	pt2c__buf_cstr(b);
	char *p = b->err ? NULL : b->data;
	if (len)
		*len = p ? b->len : 0;
	if (!p)
		pt2c__free(b->alloc, b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
	return p;
}
