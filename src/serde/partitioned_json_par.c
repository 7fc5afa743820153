/*
 * partitioned_json_par.c -- partitioned-module JSON reader: large fallback graphs read on worker
 * threads (see partitioned_json.h). A partitioned module of a large model is mostly its fallback
 * graphs, each a separate "graph" array that the skim has only delimited; reading them is
 * parsing and building nodes, independent per graph. Each worker reads whole graphs, into the
 * module's ctx through a front of it: its own arena (handed to the ctx afterwards) and the ctx's
 * string pool, shared meanwhile (pt2c__strpool_share: lookups without a lock, inserts under
 * one), so every string is the one reading in order would have interned.
 */
#include <pthread.h>

#include "serde/partitioned_json.h"

typedef struct prd_job {
	pt2c_module *fb;      /* the fallback whose graph is read (its attributes are read in order) */
	const pt2c_json *obj; /* its submodule object */
	size_t n;             /* nodes, as the skim counted them */
} prd_job;

typedef struct worker {
	struct pool *pool;
	prd r;          /* the caller's reader, with its own ctx front, scratch and error */
	pt2c_error err; /* discarded: a failure is read again in order */
	pt2c_ctx *front;
	pthread_t th;
	bool started;
} worker;

typedef struct pool {
	prd_job *jobs;
	size_t n_jobs;
	pthread_mutex_t mu; /* next, failed */
	size_t next;
	bool failed;
} pool;

static uint64_t graphs_on_workers, reread; /* pt2c__partitioned_par_counts */

void pt2c__partitioned_par_counts(uint64_t *graphs, uint64_t *again)
{
	*graphs = __atomic_load_n(&graphs_on_workers, __ATOMIC_RELAXED);
	*again = __atomic_load_n(&reread, __ATOMIC_RELAXED);
}

void pt2c__partitioned_count_reread(void)
{
	__atomic_add_fetch(&reread, 1, __ATOMIC_RELAXED);
}

void jobs_free(prd *r)
{
	pt2c__free(r->alloc, r->jobs);
	r->jobs = NULL;
	r->n_jobs = r->cap_jobs = 0;
}

void scratch_free(prd *r)
{
	pt2c__free(r->ctx ? r->ctx->alloc : r->alloc, r->tmp_in); /* grown with the ctx's allocator */
	pt2c__free(r->alloc, r->tmp_dims);
	pt2c__meta_pool_free(&r->metas);
	pt2c__arena_free(&r->node_dom); /* zeroed by calloc when never initialised */
	jobs_free(r);
}

int defer_graph(prd *r, pt2c_module *fb, const pt2c_json *obj, bool *taken)
{
	*taken = false;
	const pt2c_json *arr = obj->type == PT2C_JSON_OBJECT ? pt2c__json_get(obj, "graph") : NULL;
	/* large lazy arrays only; a count beyond what the text can hold is left to read_graph's errors */
	if (!arr || arr->type != PT2C_JSON_RAW || arr->n > arr->u.raw_len / 32 ||
	    pt2c__helper_threads(r->alloc, arr->n, 1) == 0)
		return 0;
	if (pt2c__grow(r->alloc, (void **)&r->jobs, &r->cap_jobs, r->n_jobs + 1, sizeof *r->jobs))
		return oom(r);
	r->jobs[r->n_jobs++] = (prd_job){ fb, obj, arr->n };
	r->deferred = true;
	*taken = true;
	return 0;
}

/* Take jobs until none is left or one failed. */
static void *work(void *arg)
{
	worker *w = arg;
	pool *p = w->pool;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t k = p->failed ? p->n_jobs : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (k >= p->n_jobs)
			break;
		__atomic_add_fetch(&graphs_on_workers, 1, __ATOMIC_RELAXED);
		pt2c_graph *g = p->jobs[k].fb->graph;
		g->ctx = w->front; /* until run_deferred hands the front's objects to the module's ctx */
		if (read_graph(&w->r, g, p->jobs[k].obj)) {
			pthread_mutex_lock(&p->mu);
			p->failed = true;
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
	return NULL;
}

/* A worker's reader: the caller's settings, everything it writes its own. */
static int worker_init(prd *r, worker *w, pool *p, bool no_ahead, uint64_t drop_step)
{
	memset(w, 0, sizeof *w);
	w->err = (pt2c_error)PT2C_ERROR_INIT;
	w->pool = p;
	if (pt2c__ctx_new_front(r->ctx, &w->front))
		return PT2C_ENOMEM; /* w->front stays NULL */
	prd *wr = &w->r;
	wr->ctx = w->front;
	wr->alloc = r->alloc;
	wr->data = r->data;
	wr->len = r->len;
	wr->err = &w->err;
	wr->cpu = r->cpu;
	wr->res = r->res;
	wr->dom = NULL; /* graphs parse one node at a time into node_dom */
	wr->opts = r->opts;
	wr->no_ahead = no_ahead;
	wr->drop_step = drop_step;
	pt2c__jr_init(&wr->jr, r->data, r->len, r->res ? r->res->member : NULL, &w->err);
	pt2c__arena_init(&wr->node_dom, r->alloc);
	pt2c__meta_pool_init(&wr->metas, r->alloc);
	return 0;
}

/* The worker's scratch; its objects go to the module's ctx (the graphs it read point into them). */
static void worker_done(prd *r, worker *w)
{
	prd *wr = &w->r;
	scratch_free(wr);
	r->raw_done += wr->raw_done;
	pt2c__ctx_adopt(r->ctx, w->front);
}

int run_deferred(prd *r)
{
	/* the largest graphs first, so that no large one is left for last (insertion: a few jobs) */
	for (size_t i = 1; i < r->n_jobs; i++)
		for (size_t j = i; j > 0 && r->jobs[j - 1].n < r->jobs[j].n; j--) {
			prd_job t = r->jobs[j];
			r->jobs[j] = r->jobs[j - 1];
			r->jobs[j - 1] = t;
		}
	pool p = { r->jobs, r->n_jobs, PTHREAD_MUTEX_INITIALIZER, 0, false };
	/* one worker per two usable CPUs, each with its own parsing helper; on fewer CPUs, workers
	 * without helpers (at least two: the calling thread and one more) */
	unsigned cpus = pt2c__cpu_count();
	size_t nw = cpus / 2 < 2 ? 2 : cpus / 2;
	if (nw > p.n_jobs)
		nw = p.n_jobs;
	bool no_ahead = 2 * nw > cpus;
	/* the workers' text in memory at once stays what one reader keeps (at least 1 MiB each) */
	uint64_t drop_step = PT2C_DROP_STEP / nw < ((uint64_t)1 << 20) ? (uint64_t)1 << 20 : PT2C_DROP_STEP / nw;
	/* the nodes' names are most of the new strings: room for them before the lock is shared */
	size_t names = 0;
	for (size_t k = 0; k < p.n_jobs; k++)
		names += p.jobs[k].n;
	names += names / 4; /* and a few more: targets, argument names, symbols */
	worker *ws = pt2c__calloc(r->alloc, nw, sizeof *ws);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	/* the module's strings are shared by the workers' fronts until they are done */
	int rc = ws && !pt2c__strpool_reserve(&r->ctx->strings, names) && !pt2c__strpool_share(&r->ctx->strings, &lock)
	             ? 0 : oom(r);
	bool shared = rc == 0;
	size_t ready = 0; /* workers with a front */
	while (!rc && ready < nw) {
		if (worker_init(r, &ws[ready], &p, no_ahead, drop_step)) rc = oom(r);
		else ready++;
	}
	if (!rc) {
		/* a thread that cannot start leaves its share to the others; the caller is worker 0 */
		for (size_t i = 1; i < nw; i++)
			ws[i].started = pthread_create(&ws[i].th, NULL, work, &ws[i]) == 0;
		work(&ws[0]);
		for (size_t i = 1; i < nw; i++)
			if (ws[i].started) pthread_join(ws[i].th, NULL);
		if (p.failed) /* the read in order that follows places the error */
			rc = pt2c__err(r->err, PT2C_ECORRUPT, "a fallback graph read on a worker thread failed");
	}
	/* graphs read (or begun) by a worker belong to the module's ctx again, with their objects */
	for (size_t k = 0; k < p.n_jobs; k++)
		p.jobs[k].fb->graph->ctx = r->ctx;
	for (size_t i = 0; i < ready; i++)
		worker_done(r, &ws[i]);
	if (shared) pt2c__strpool_unshare(&r->ctx->strings);
	pthread_mutex_destroy(&lock);
	pt2c__free(r->alloc, ws);
	pthread_mutex_destroy(&p.mu);
	jobs_free(r);
	if (!rc) r->deferred = false;
	return rc;
}
