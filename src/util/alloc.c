/*
 * alloc.c -- allocation through an optional pt2c_allocator (NULL = the C library).
 */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <sys/mman.h>

#include "util/util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it (EINVAL), which costs nothing */
#endif

/*
 * A large block is written page by page right after it is made (zeroed, or filled with graph
 * nodes), and each first touch of a page is a fault: a million-node graph takes ~100k of them,
 * a tenth of its reading time on a virtual machine. One madvise faults the block in at once.
 * Only memory from the C library (a caller's allocator may hand out anything), only large blocks.
 */
void pt2c__prefault(const pt2c_allocator *a, void *p, size_t n)
{
	if ((a && a->malloc) || !p || n < ((size_t)256 << 10))
		return;
	uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

void *pt2c__malloc(const pt2c_allocator *a, size_t n)
{
	if (n == 0)
		n = 1; /* a zero-size request still yields a unique, freeable pointer */
	if (a && a->malloc)
		return a->malloc(a->ctx, n);
	return malloc(n);
}

void *pt2c__calloc(const pt2c_allocator *a, size_t count, size_t size)
{
	size_t n;
	if (pt2c__mul_ovf_sz(count, size, &n))
		return NULL;
	void *p = pt2c__malloc(a, n);
	if (p) {
		pt2c__prefault(a, p, n);
		memset(p, 0, n ? n : 1);
	}
	return p;
}

void *pt2c__realloc(const pt2c_allocator *a, void *p, size_t old_n, size_t new_n)
{
	if (new_n == 0)
		new_n = 1;
	if (!p)
		return pt2c__malloc(a, new_n);
	if (a && a->realloc)
		return a->realloc(a->ctx, p, old_n, new_n);
	if (a && a->malloc) {
		/* A custom allocator without realloc: emulate it with malloc + copy + free. */
		void *q = a->malloc(a->ctx, new_n);
		if (!q)
			return NULL;
		memcpy(q, p, old_n < new_n ? old_n : new_n);
		if (a->free)
			a->free(a->ctx, p);
		return q;
	}
	return realloc(p, new_n);
}

void pt2c__free(const pt2c_allocator *a, void *p)
{
	if (!p)
		return;
	if (a && a->malloc) {
		if (a->free)
			a->free(a->ctx, p);
		return;
	}
	free(p);
}

int pt2c__grow(const pt2c_allocator *a, void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	if (elem == 0)
		return PT2C_EINVALID;
	size_t ncap = *cap < 8 ? 8 : *cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	size_t old_bytes, new_bytes;
	if (pt2c__mul_ovf_sz(*cap, elem, &old_bytes) || pt2c__mul_ovf_sz(ncap, elem, &new_bytes))
		return PT2C_ENOMEM;
	void *q = pt2c__realloc(a, *p, old_bytes, new_bytes);
	if (!q)
		return PT2C_ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}
