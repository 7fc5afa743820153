/*
 * alloc.c -- allocation through an optional pt2c_allocator (NULL = the C library).
 */
#define _DEFAULT_SOURCE /* madvise */
#include <pthread.h>
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

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif

/*
 * A large zeroed block is mostly a hash table (names, strings, metadata) read at random: each
 * lookup in a table of 4 KiB pages also misses the TLB, and a page walk can cost as much as the
 * miss (a prefetch waits for it). Transparent huge pages, where the system allows them on
 * request ("madvise" or "always"), make that one TLB entry per 2 MiB: the 1M-node export on the
 * accelerator host took 3.01-3.28 s with them against 3.08-3.55 s without. A calloc'd block is
 * written in full at once, so huge pages cost no memory that the zeroing did not.
 */
static void advise_huge(const pt2c_allocator *a, void *p, size_t n)
{
	if ((a && a->malloc) || n < ((size_t)8 << 20))
		return;
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static void *prefault_main(void *arg)
{
	pt2c_prefault_bg *bg = arg;
	for (int i = 0; i < 2; i++)
		pt2c__prefault(NULL, bg->p[i], bg->n[i]);
	return NULL;
}

void pt2c__prefault_start(pt2c_prefault_bg *bg, const pt2c_allocator *a, void *p0, size_t n0, void *p1, size_t n1)
{
	memset(bg, 0, sizeof *bg);
	if ((a && a->malloc) || n0 + n1 < ((size_t)4 << 20) || pt2c__cpu_count() < 2)
		return;
	bg->p[0] = p0;
	bg->n[0] = p0 ? n0 : 0;
	bg->p[1] = p1;
	bg->n[1] = p1 ? n1 : 0;
	bg->started = pthread_create(&bg->tid, NULL, prefault_main, bg) == 0;
}

void pt2c__prefault_join(pt2c_prefault_bg *bg)
{
	if (bg->started)
		pthread_join(bg->tid, NULL);
	bg->started = false;
}

void *pt2c__malloc(const pt2c_allocator *a, size_t n)
{
	if (n == 0)
		n = 1; /* a zero-size request still yields a unique, freeable pointer */
	if (a && a->malloc)
		return a->malloc(a->ctx, n);
	return malloc(n);
}

void *pt2c__malloc_filled(const pt2c_allocator *a, size_t count, size_t size, int byte)
{
	size_t n;
	if (pt2c__mul_ovf_sz(count, size, &n))
		return NULL;
	void *p = pt2c__malloc(a, n);
	if (p) {
		advise_huge(a, p, n);
		pt2c__prefault(a, p, n);
		memset(p, byte, n ? n : 1);
	}
	return p;
}

void *pt2c__calloc(const pt2c_allocator *a, size_t count, size_t size)
{
	return pt2c__malloc_filled(a, count, size, 0);
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
