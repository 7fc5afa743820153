/*
 * json_ahead.c -- the items of a lazy JSON array parsed on a helper thread, ahead of the reader
 * that consumes them (see json.h, pt2c__json_ahead_*).
 *
 * A graph of a million nodes is read one node DOM at a time: parsing a node's text and building
 * the node from its DOM take turns on one core. Here a helper thread parses batches of items
 * into a ring of scratch arenas while the caller builds nodes from the batch before, so the two
 * overlap. Order, positions, DOMs and errors are exactly those of pt2c__json_raw_next: the helper
 * runs that very function over the same cursor sequence, and stops at its first error, which the
 * caller gets after the items before it.
 *
 * Memory: AHEAD_BATCHES arenas of one batch each (a few MiB in all however long the array), all
 * allocated on the calling thread except the chunks an arena grows by, which the helper
 * allocates -- hence the allocator condition of pt2c__helper_threads.
 */
#include <pthread.h>

#include "util/json.h"

#define AHEAD_BATCHES 4
#define AHEAD_ITEMS 256 /* items a batch: ~100 KB of node DOM */

typedef struct ahead_batch {
	pt2c_arena arena;                 /* the items' DOMs */
	pt2c_json *items[AHEAD_ITEMS];
	uint64_t ends[AHEAD_ITEMS];       /* the cursor after each item */
	uint32_t n;
	bool full;                        /* filled by the helper, not yet given back by the reader */
	bool last;                        /* no batch follows: the array ended, or rc */
	uint64_t end;                     /* last: the cursor pt2c__json_raw_next left at the end */
	int rc;                           /* after the n items: the error pt2c__json_raw_next returned */
	pt2c_error err;
} ahead_batch;

struct pt2c_json_ahead {
	const char *data;
	size_t len;
	const pt2c_json *raw;
	pt2c_json_opts opts;
	const pt2c_allocator *alloc;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t filled, emptied;
	bool quit;
	uint32_t cur, pos;                /* the reader's batch and its next item in it */
	bool have;                        /* the reader holds batch cur (it saw it full) */
	ahead_batch b[AHEAD_BATCHES];
};

static void *helper(void *arg)
{
	pt2c_json_ahead *a = arg;
	uint64_t cursor = 0;
	for (uint32_t k = 0;; k = (k + 1) % AHEAD_BATCHES) {
		ahead_batch *b = &a->b[k];
		pthread_mutex_lock(&a->mu);
		while (b->full && !a->quit)
			pthread_cond_wait(&a->emptied, &a->mu);
		bool quit = a->quit;
		pthread_mutex_unlock(&a->mu);
		if (quit)
			return NULL;
		/* the batch is the helper's alone until it is marked full */
		pt2c__arena_reset(&b->arena);
		b->n = 0;
		b->rc = 0;
		b->last = false;
		while (b->n < AHEAD_ITEMS) {
			pt2c_json *e = NULL;
			b->rc = pt2c__json_raw_next(a->data, a->len, a->raw, &cursor, &a->opts, &b->arena, &e, &b->err);
			if (b->rc || !e) {
				b->last = true;
				b->end = cursor;
				break;
			}
			b->items[b->n] = e;
			b->ends[b->n++] = cursor;
		}
		bool last = b->last;
		pthread_mutex_lock(&a->mu);
		b->full = true;
		pthread_cond_signal(&a->filled);
		pthread_mutex_unlock(&a->mu);
		if (last)
			return NULL;
	}
}

pt2c_json_ahead *pt2c__json_ahead_start(const char *data, size_t len, const pt2c_json *raw, const pt2c_json_opts *opts,
                                        const pt2c_allocator *alloc)
{
	if (!data || !raw || raw->type != PT2C_JSON_RAW || !opts)
		return NULL;
	/* the helper allocates arena chunks: only through an allocator that may be called from any thread */
	if (pt2c__helper_threads(alloc, raw->n, 1) == 0 || raw->pos >= len || data[raw->pos] != '[')
		return NULL;
	pt2c_json_ahead *a = pt2c__calloc(alloc, 1, sizeof *a);
	if (!a)
		return NULL; /* the caller parses on its own: slower, not wrong */
	a->data = data;
	a->len = len;
	a->raw = raw;
	a->opts = *opts;
	a->alloc = alloc;
	for (size_t k = 0; k < AHEAD_BATCHES; k++) {
		pt2c__arena_init(&a->b[k].arena, alloc);
		a->b[k].err = (pt2c_error)PT2C_ERROR_INIT;
	}
	int made = 0; /* how many of mutex, two condvars, thread exist */
	if (pthread_mutex_init(&a->mu, NULL) == 0 && ++made && pthread_cond_init(&a->filled, NULL) == 0 && ++made &&
	    pthread_cond_init(&a->emptied, NULL) == 0 && ++made && pthread_create(&a->tid, NULL, helper, a) == 0)
		return a;
	if (made > 2) pthread_cond_destroy(&a->emptied);
	if (made > 1) pthread_cond_destroy(&a->filled);
	if (made > 0) pthread_mutex_destroy(&a->mu);
	pt2c__free(alloc, a);
	return NULL;
}

int pt2c__json_ahead_next(pt2c_json_ahead *a, pt2c_json **out, uint64_t *cursor, pt2c_error *err)
{
	PT2C_ASSERT_ARG(a && out && cursor);
	*out = NULL;
	for (;;) {
		ahead_batch *b = &a->b[a->cur];
		if (!a->have) {
			pthread_mutex_lock(&a->mu);
			while (!b->full)
				pthread_cond_wait(&a->filled, &a->mu);
			pthread_mutex_unlock(&a->mu);
			a->have = true;
			a->pos = 0;
		}
		if (a->pos < b->n) {
			*cursor = b->ends[a->pos];
			*out = b->items[a->pos++];
			return 0;
		}
		if (b->last) { /* after the last item: the end, or the error the helper stopped at */
			if (b->rc && err)
				*err = b->err;
			if (!b->rc)
				*cursor = b->end;
			return b->rc;
		}
		/* done with this batch (its DOMs too): back to the helper */
		pthread_mutex_lock(&a->mu);
		b->full = false;
		pthread_cond_signal(&a->emptied);
		pthread_mutex_unlock(&a->mu);
		a->have = false;
		a->cur = (a->cur + 1) % AHEAD_BATCHES;
	}
}

void pt2c__json_ahead_stop(pt2c_json_ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_broadcast(&a->emptied);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->tid, NULL);
	pthread_cond_destroy(&a->emptied);
	pthread_cond_destroy(&a->filled);
	pthread_mutex_destroy(&a->mu);
	for (size_t k = 0; k < AHEAD_BATCHES; k++)
		pt2c__arena_free(&a->b[k].arena);
	pt2c__free(a->alloc, a);
}
