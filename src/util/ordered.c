/*
 * ordered.c -- how many threads to use (pt2c__cpu_count, pt2c__helper_threads), and text made in
 * chunks on helper threads and handed on in order on the calling thread (pt2c__ordered_run; see
 * util.h).
 *
 * Helpers take the next chunk number and render it into one of a ring of 2 x helpers buffers;
 * the caller consumes chunk 0, 1, 2, ... as each is ready and frees its slot. A helper never
 * runs more than a ring ahead of the caller, so memory is the ring whatever the chunk count.
 * The first error in chunk order is the result, as a loop over the chunks would give it.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

pt2c_thread_tuning pt2c__thread_tuning = { 4096, false, 1024, 1u << 20 };

unsigned pt2c__cpu_max_parse(const char *text)
{
	if (!text || text[0] < '0' || text[0] > '9') /* "max", or not a number (strtoull would take "-5") */
		return 0;
	char *end;
	errno = 0;
	unsigned long long quota = strtoull(text, &end, 10), period;
	if (errno || end == text || *end != ' ')
		return 0;
	const char *p = end + 1;
	if (*p < '0' || *p > '9')
		return 0;
	period = strtoull(p, &end, 10);
	if (errno || end == p || period == 0 || quota == 0 || (*end != '\n' && *end != '\0'))
		return 0;
	unsigned long long n = quota / period + (quota % period != 0);
	return n > 4096 ? 4096 : (unsigned)n;
}

static unsigned cpus_once;
static pthread_once_t cpus_guard = PTHREAD_ONCE_INIT;

static void count_cpus(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = online < 1 ? 1 : online > 4096 ? 4096 : (unsigned)online;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int k = CPU_COUNT(&set);
		if (k >= 1 && (unsigned)k < n)
			n = (unsigned)k;
	}
	FILE *f = fopen("/sys/fs/cgroup/cpu.max", "re");
	if (f) {
		char line[64];
		unsigned q = fgets(line, sizeof line, f) ? pt2c__cpu_max_parse(line) : 0;
		fclose(f);
		if (q >= 1 && q < n)
			n = q;
	}
	cpus_once = n;
}

unsigned pt2c__cpu_count(void)
{
	pthread_once(&cpus_guard, count_cpus);
	return cpus_once;
}

unsigned pt2c__helper_threads(const pt2c_allocator *alloc, size_t items, unsigned max)
{
	if ((alloc && alloc->malloc && !pt2c__thread_tuning.any_allocator) || items < pt2c__thread_tuning.min_items)
		return 0;
	unsigned n = pt2c__cpu_count();
	if (n < 2)
		return 0;
	return n - 1 < max ? n - 1 : max;
}

#define RING_MAX 32

typedef struct oslot {
	pt2c_buf buf;
	size_t chunk;
	bool ready;
	int rc;
} oslot;

typedef struct orun {
	const pt2c_ordered_job *job;
	pthread_mutex_t mu;
	pthread_cond_t ready, freed;
	size_t next;     /* the next chunk to hand out */
	size_t consumed; /* chunks the caller is done with */
	size_t ring;
	bool quit;
	oslot slots[RING_MAX];
} orun;

/* Render chunk c (taken from o->next, called without the lock) into its slot and mark it ready. */
static void produce_slot(orun *o, size_t c)
{
	oslot *s = &o->slots[c % o->ring];
	/* the slot is this thread's until it is marked ready: chunk c - ring was consumed */
	s->buf.len = 0;
	s->buf.err = 0;
	int rc = o->job->produce(o->job->ctx, c, &s->buf);
	pthread_mutex_lock(&o->mu);
	s->chunk = c;
	s->rc = rc;
	s->ready = true;
	pthread_cond_broadcast(&o->ready);
	pthread_mutex_unlock(&o->mu);
}

/* A chunk nobody has taken whose slot is free (o->mu held): taken, true; else false. */
static bool take_chunk(orun *o, size_t *c)
{
	if (o->quit || o->next >= o->job->n_chunks || o->next >= o->consumed + o->ring)
		return false;
	*c = o->next++;
	return true;
}

static void *helper(void *arg)
{
	orun *o = arg;
	for (;;) {
		pthread_mutex_lock(&o->mu);
		while (!o->quit && o->next < o->job->n_chunks && o->next >= o->consumed + o->ring)
			pthread_cond_wait(&o->freed, &o->mu);
		size_t c;
		bool took = take_chunk(o, &c);
		pthread_mutex_unlock(&o->mu);
		if (!took)
			return NULL;
		produce_slot(o, c);
	}
}

/* One chunk after another on the calling thread. */
static int run_serial(const pt2c_ordered_job *job)
{
	pt2c_buf b;
	pt2c__buf_init(&b, job->alloc);
	int rc = 0;
	for (size_t c = 0; c < job->n_chunks && !rc; c++) {
		b.len = 0;
		rc = job->produce(job->ctx, c, &b);
		if (!rc)
			rc = job->consume(job->ctx, c, b.data, b.len);
	}
	pt2c__buf_free(&b);
	return rc;
}

int pt2c__ordered_run(const pt2c_ordered_job *job)
{
	PT2C_ASSERT_ARG(job && job->produce && job->consume);
	unsigned helpers = job->helpers;
	if (helpers > RING_MAX / 2)
		helpers = RING_MAX / 2;
	if (helpers == 0 || job->n_chunks < 2)
		return run_serial(job);
	orun *o = pt2c__calloc(job->alloc, 1, sizeof *o);
	pthread_t *tids = pt2c__calloc(job->alloc, helpers, sizeof *tids);
	if (!o || !tids) {
		pt2c__free(job->alloc, tids);
		pt2c__free(job->alloc, o);
		return run_serial(job); /* slower, not wrong */
	}
	o->job = job;
	o->ring = 2u * helpers;
	for (size_t k = 0; k < o->ring; k++)
		pt2c__buf_init(&o->slots[k].buf, job->alloc);
	int made = 0;
	unsigned started = 0;
	if (pthread_mutex_init(&o->mu, NULL) == 0 && ++made && pthread_cond_init(&o->ready, NULL) == 0 && ++made &&
	    pthread_cond_init(&o->freed, NULL) == 0 && ++made)
		while (started < helpers && pthread_create(&tids[started], NULL, helper, o) == 0)
			started++;
	int rc = 0;
	if (started == 0) {
		rc = run_serial(job);
	} else {
		for (size_t c = 0; c < job->n_chunks && !rc; c++) {
			oslot *s = &o->slots[c % o->ring];
			pthread_mutex_lock(&o->mu);
			while (!(s->ready && s->chunk == c)) {
				/* rather than wait, render the next chunk nobody has taken (perhaps c itself):
				 * with few helpers (two CPUs: one) the caller would otherwise mostly wait */
				size_t c2;
				if (take_chunk(o, &c2)) {
					pthread_mutex_unlock(&o->mu);
					produce_slot(o, c2);
					pthread_mutex_lock(&o->mu);
				} else {
					pthread_cond_wait(&o->ready, &o->mu);
				}
			}
			pthread_mutex_unlock(&o->mu);
			rc = s->rc ? s->rc : job->consume(job->ctx, c, s->buf.data, s->buf.len);
			pthread_mutex_lock(&o->mu);
			s->ready = false;
			o->consumed = c + 1;
			if (rc)
				o->quit = true; /* the helpers stop after their current chunk */
			pthread_cond_broadcast(&o->freed);
			pthread_mutex_unlock(&o->mu);
		}
		for (unsigned k = 0; k < started; k++)
			pthread_join(tids[k], NULL);
	}
	if (made > 2) pthread_cond_destroy(&o->freed);
	if (made > 1) pthread_cond_destroy(&o->ready);
	if (made > 0) pthread_mutex_destroy(&o->mu);
	for (size_t k = 0; k < o->ring; k++)
		pt2c__buf_free(&o->slots[k].buf);
	pt2c__free(job->alloc, tids);
	pt2c__free(job->alloc, o);
	return rc;
}

/* MARK: ranges on helper threads */

typedef struct prun {
	const pt2c_par_job *job;
	size_t next;    /* the next chunk to hand out (atomic) */
	size_t n_chunks;
	int rc;         /* the first failure seen (atomic; 0 while none) */
} prun;

typedef struct pworker {
	prun *r;
	unsigned worker;
	pthread_t tid;
	bool started;
} pworker;

static void *par_worker(void *arg)
{
	pworker *w = arg;
	prun *r = w->r;
	const pt2c_par_job *job = r->job;
	for (;;) {
		if (__atomic_load_n(&r->rc, __ATOMIC_RELAXED))
			break; /* some range failed: the result is decided */
		size_t c = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
		if (c >= r->n_chunks)
			break;
		size_t begin = c * job->chunk, end = begin + job->chunk < job->n ? begin + job->chunk : job->n;
		int rc = job->fn(job->ctx, begin, end, w->worker);
		if (rc) {
			int zero = 0;
			__atomic_compare_exchange_n(&r->rc, &zero, rc, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			break;
		}
	}
	return NULL;
}

int pt2c__par_run(const pt2c_par_job *job)
{
	PT2C_ASSERT_ARG(job && job->fn && job->chunk > 0);
	if (job->n == 0)
		return 0;
	prun r = { job, 0, (job->n - 1) / job->chunk + 1, 0 };
	unsigned helpers = job->helpers;
	if ((size_t)helpers + 1 > r.n_chunks)
		helpers = (unsigned)(r.n_chunks - 1);
	pworker self = { &r, 0, 0, false }, *ws = helpers ? pt2c__calloc(job->alloc, helpers, sizeof *ws) : NULL;
	if (!ws)
		helpers = 0; /* slower, not wrong */
	for (unsigned k = 0; k < helpers; k++) { /* ws[k] is worker k + 1 */
		ws[k].r = &r;
		ws[k].worker = k + 1;
		ws[k].started = pthread_create(&ws[k].tid, NULL, par_worker, &ws[k]) == 0;
	}
	par_worker(&self);
	for (unsigned k = 0; k < helpers; k++)
		if (ws[k].started)
			pthread_join(ws[k].tid, NULL);
	pt2c__free(job->alloc, ws);
	return r.rc;
}
