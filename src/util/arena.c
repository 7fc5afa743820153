/*
 * arena.c -- chunked bump allocator. Small requests share chunks that grow geometrically; a
 * request larger than a quarter of the default chunk gets a chunk of its own, linked behind the
 * head so the head's free space is not wasted.
 */
#include "util/util.h"

/* 8: every type kept in an arena (pointers, int64, double) needs no more, and 16 cost a tenth of
 * a large graph's memory in padding. Strings take no alignment at all. */
#define ARENA_ALIGN 8
#define ARENA_MIN_CHUNK ((size_t)4096)
#define ARENA_MAX_CHUNK ((size_t)1 << 20)

struct pt2c_arena_chunk {
	pt2c_arena_chunk *next;
	size_t size;   /* payload bytes at data */
	uint8_t *data; /* ARENA_ALIGN-aligned start of the payload, even if the allocator aligns less */
};

void pt2c__arena_init(pt2c_arena *a, const pt2c_allocator *alloc)
{
	a->alloc = alloc;
	a->head = NULL;
	a->used = 0;
	a->cap = 0;
	a->total = 0;
}

/* Allocate a chunk with `payload` bytes; NULL on overflow or OOM. */
static pt2c_arena_chunk *chunk_new(pt2c_arena *a, size_t payload)
{
	size_t bytes;
	if (pt2c__add_ovf_sz(sizeof(pt2c_arena_chunk) + ARENA_ALIGN - 1, payload, &bytes))
		return NULL;
	pt2c_arena_chunk *c = pt2c__malloc(a->alloc, bytes);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = payload;
	uintptr_t start = (uintptr_t)(c + 1);
	c->data = (uint8_t *)c + (((start + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1)) - (uintptr_t)c);
	a->total += bytes;
	pt2c__prefault(a->alloc, c->data, payload);
	return c;
}

/* n bytes at an offset that is a multiple of align (a power of two <= ARENA_ALIGN). */
static void *arena_alloc_aligned(pt2c_arena *a, size_t n, size_t align)
{
	if (n == 0)
		n = 1;
	size_t rounded;
	if (pt2c__add_ovf_sz(n, ARENA_ALIGN - 1, &rounded))
		return NULL;
	rounded &= ~(size_t)(ARENA_ALIGN - 1); /* for sizing chunks only */
	if (a->head) {
		size_t off = (a->used + align - 1) & ~(align - 1);
		if (off <= a->cap && a->cap - off >= n) {
			a->used = off + n;
			return a->head->data + off;
		}
	}
	/* Next shared chunk size: double the current one, capped. */
	size_t next = a->cap ? a->cap * 2 : ARENA_MIN_CHUNK;
	if (next > ARENA_MAX_CHUNK)
		next = ARENA_MAX_CHUNK;
	if (rounded > next / 4) {
		/* Big request: a dedicated chunk behind the head keeps the head's free space usable. */
		pt2c_arena_chunk *c = chunk_new(a, rounded);
		if (!c)
			return NULL;
		if (a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			/* No head yet: this chunk becomes the (full) head. */
			a->head = c;
			a->used = rounded;
			a->cap = rounded;
		}
		return c->data;
	}
	pt2c_arena_chunk *c = chunk_new(a, next);
	if (!c)
		return NULL;
	c->next = a->head;
	a->head = c;
	a->cap = next;
	a->used = rounded;
	return c->data;
}

void *pt2c__arena_alloc(pt2c_arena *a, size_t n)
{
	return arena_alloc_aligned(a, n, ARENA_ALIGN);
}

void *pt2c__arena_zalloc(pt2c_arena *a, size_t n)
{
	void *p = pt2c__arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *pt2c__arena_calloc(pt2c_arena *a, size_t count, size_t size)
{
	size_t n;
	if (pt2c__mul_ovf_sz(count, size, &n))
		return NULL;
	return pt2c__arena_zalloc(a, n);
}

char *pt2c__arena_strndup(pt2c_arena *a, const char *s, size_t n)
{
	size_t bytes;
	if (pt2c__add_ovf_sz(n, 1, &bytes))
		return NULL;
	char *p = arena_alloc_aligned(a, bytes, 1); /* strings need no alignment */
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *pt2c__arena_memdup(pt2c_arena *a, const void *p, size_t n)
{
	void *q = pt2c__arena_alloc(a, n);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

void pt2c__arena_splice(pt2c_arena *dst, pt2c_arena *src)
{
	if (!src->head)
		return;
	if (!dst->head) {
		const pt2c_allocator *keep = dst->alloc; /* src's may be gone with its owner (a ctx front) */
		*dst = *src;
		dst->alloc = keep;
	} else {
		/* behind dst's head, like a big request's chunk: dst keeps filling its own head */
		pt2c_arena_chunk *last = src->head;
		while (last->next)
			last = last->next;
		last->next = dst->head->next;
		dst->head->next = src->head;
		dst->total += src->total;
	}
	pt2c__arena_init(src, src->alloc);
}

void pt2c__arena_free(pt2c_arena *a)
{
	pt2c_arena_chunk *c = a->head;
	while (c) {
		pt2c_arena_chunk *next = c->next;
		pt2c__free(a->alloc, c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
	a->cap = 0;
	a->total = 0;
}

void pt2c__arena_reset(pt2c_arena *a)
{
	if (!a->head)
		return;
	pt2c_arena_chunk *c = a->head->next;
	while (c) {
		pt2c_arena_chunk *next = c->next;
		pt2c__free(a->alloc, c);
		c = next;
	}
	a->head->next = NULL;
	a->used = 0;
	a->cap = a->head->size;
	a->total = sizeof(pt2c_arena_chunk) + ARENA_ALIGN - 1 + a->head->size;
}
