/*
 * pt2_write_par.c -- the parallel .pt2 writer (pt2c__pt2_write_par): the layout planned by
 * pt2_write.c on the calling thread, the large spans of member data checksummed, base64-encoded
 * and written by worker threads with positional writes, CRC-32s of the pieces combined.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "serde/pickle.h"
#include "serde/pt2_write.h"

/*
 * MARK: parallel writing
 *
 * pt2c__pt2_write_par runs the same planning code as pt2c__pt2_write (write_all: every member's
 * header is produced by the same zip writer, in the same order, at the same offset), with three
 * differences: the zip writer's sink is plan_sink, which places the bytes it gets (headers, small
 * data, model.json, pulled weights) at the writer's offset through a combining buffer; large spans
 * of member data are not passed to the zip writer but accounted for with pt2c__zipw_skip and queued
 * as tasks (`part`s) for worker threads; and no CRC is computed by the zip writer (no_crc): each
 * piece of member data gets its own CRC (plan_sink's literal pieces on the calling thread, tasks on
 * whichever thread runs them), and par_finish joins them per member with pt2c__crc32_combine, makes
 * the engine objects' tails (which depend on their data.pkl's CRC), patches the data descriptors
 * and hands back to write_all for the serialization id and central directory.
 *
 * Threads: the calling thread plans and writes literal pieces, and at par_finish works through the
 * remaining tasks too; `threads - 1` workers start with the first task. Pull storages never reach
 * a worker: record_pull pulls and writes on the calling thread (one call at a time).
 * Locking: one mutex guards the queue, the parts array (which only the calling thread grows, under
 * the mutex; workers read and write parts only under it) and the first error.
 */

#define PAR_TASK_DEFAULT ((uint64_t)16 << 20)
#define PAR_STEP ((size_t)1 << 20)         /* a worker's scratch buffer: base64 produced at a time */
#define PAR_STEP_RAW (PAR_STEP / 4 * 3)     /* raw bytes encoded per step (a multiple of 3) */
#define PAR_DROP ((uint64_t)PAR_STEP * 4)   /* input bytes between page give-backs (a multiple of PAR_STEP) */
#define PAR_DROP_RAW ((uint64_t)PAR_STEP_RAW * 4)
#define PAR_SUB_RAW ((size_t)48 << 10)      /* raw bytes encoded and checksummed at a time (64 KiB of text) */
#define LIT_CAP ((size_t)256 << 10)         /* the combining buffer of literal pieces */
#define PAR_MAX_THREADS 256u

enum { PART_LIT, PART_MEM, PART_B64, PART_TAIL };

typedef struct part {
	uint64_t off, len;             /* where in the output; bytes there */
	const uint8_t *src;            /* MEM: len bytes; B64: src_n raw bytes encoding to len */
	uint64_t src_n;
	const pt2c_engine_record *rec; /* TAIL: the engine object */
	uint64_t pkl_size;             /* TAIL */
	size_t pkl_first;              /* TAIL: the first part of its data.pkl */
	size_t member;                 /* index into the zip writer's entries */
	uint32_t crc;                  /* CRC-32 of the len bytes, once written */
	uint8_t kind;
	bool drop;                     /* src lies in a file mapping: give its pages back once written */
	bool counted;                  /* counts towards progress */
} part;

typedef struct worker_arg {
	aw *a;
	uint8_t *buf;
} worker_arg;

struct par {
	pt2c_psink out;
	const pt2c_allocator *alloc;   /* parts and queue grow through it, on the calling thread */
	unsigned workers;              /* to start (the calling thread is one more) */
	uint64_t task_bytes;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	part *parts;
	size_t n_parts, cap_parts;
	size_t *queue;
	size_t n_queue, cap_queue, next, pending;
	bool closed, spawned;
	int err, err_errno;            /* first failure of a task */
	size_t err_part;
	uint64_t err_off;
	uint64_t done_bytes;           /* progress of finished tasks */
	pthread_t *tids;
	unsigned n_tids;
	worker_arg *args;
	uint8_t *own_buf;              /* the calling thread's scratch buffer */
	uint8_t *lit;                  /* literal pieces, combined (calling thread only) */
	size_t lit_len;
	uint64_t lit_off;
	uint64_t wb_off, wb_len;       /* member data written as literal pieces, writeback not yet started */
	bool new_part;                 /* the next literal member data starts a new part */
};

/* Progress, on the calling thread: inline bytes plus those of finished tasks. */
void pt2c__pw_report(aw *a)
{
	if (!a->opts || !a->opts->progress)
		return;
	uint64_t done = a->done;
	if (a->par) {
		pthread_mutex_lock(&a->par->mu);
		done += a->par->done_bytes;
		pthread_mutex_unlock(&a->par->mu);
	}
	a->opts->progress(done > a->total ? a->total : done, a->total, a->opts->payload);
}

/* MARK: literal pieces (calling thread) */

/*
 * Member data [off, off+n), written as a literal piece, is final (headers and data descriptors
 * are patched later, member data never): start its writeback once 8 MiB of it lie together.
 * model.json is most of a large graph's archive, and the commit's fsync would otherwise write all
 * of it while nothing else runs.
 */
#define LIT_WRITEBACK ((uint64_t)8 << 20)
static void lit_written(par *q, uint64_t off, size_t n)
{
	if (!q->out.written)
		return;
	if (q->wb_len && off != q->wb_off + q->wb_len) {
		q->out.written(q->out.ctx, q->wb_off, q->wb_len);
		q->wb_len = 0;
	}
	if (!q->wb_len)
		q->wb_off = off;
	q->wb_len += n;
	if (q->wb_len >= LIT_WRITEBACK) {
		q->out.written(q->out.ctx, q->wb_off, q->wb_len);
		q->wb_len = 0;
	}
}

static int lit_flush(par *q)
{
	if (!q->lit_len)
		return 0;
	size_t n = q->lit_len;
	q->lit_len = 0;
	return q->out.pwrite(q->out.ctx, q->lit, n, q->lit_off);
}

/* Place p[0..n) at off: appended to the combining buffer when contiguous. Returns 0 or errno.
 * data: the bytes are member data (final once written). */
static int lit_write(par *q, const void *p, size_t n, uint64_t off, bool data)
{
	if (n == 0)
		return 0;
	if (q->lit_len && off == q->lit_off + q->lit_len && n <= LIT_CAP - q->lit_len) {
		memcpy(q->lit + q->lit_len, p, n);
		q->lit_len += n;
		return 0;
	}
	int e = lit_flush(q);
	if (e)
		return e;
	if (n >= LIT_CAP / 2) {
		if ((e = q->out.pwrite(q->out.ctx, p, n, off)) == 0 && data)
			lit_written(q, off, n);
		return e;
	}
	memcpy(q->lit, p, n);
	q->lit_len = n;
	q->lit_off = off;
	return 0;
}

/* Append a part (under the lock: workers may be reading the array). Returns its index or SIZE_MAX. */
static size_t add_part(par *q, const part *t)
{
	pthread_mutex_lock(&q->mu);
	size_t i = SIZE_MAX;
	if (!pt2c__grow(q->alloc, (void **)&q->parts, &q->cap_parts, q->n_parts + 1, sizeof *q->parts)) {
		i = q->n_parts++;
		q->parts[i] = *t;
	}
	pthread_mutex_unlock(&q->mu);
	return i;
}

/*
 * The zip writer's sink while planning: bytes go to their offset (the writer's, before it
 * advances); member data among them is checksummed into the member's current literal part.
 */
static int plan_sink_write(void *ctx, const void *p, size_t n)
{
	aw *a = ctx;
	par *q = a->par;
	uint64_t off = a->w.offset;
	if (a->w.in_member) {
		size_t m = a->w.n - 1, last = q->n_parts - 1; /* (parts only grow on this thread) */
		if (q->new_part || q->n_parts == 0 || q->parts[last].kind != PART_LIT || q->parts[last].member != m ||
		    q->parts[last].off + q->parts[last].len != off) {
			part t;
			memset(&t, 0, sizeof t);
			t.kind = PART_LIT;
			t.off = off;
			t.member = m;
			if ((last = add_part(q, &t)) == SIZE_MAX)
				return PT2C_ENOMEM;
			q->new_part = false;
		}
		part *t = &q->parts[last];
		t->crc = pt2c__crc32(t->crc, p, n);
		t->len += n;
	}
	int e = lit_write(q, p, n, off, a->w.in_member);
	if (e) {
		a->os_errno = e;
		return PT2C_EIO;
	}
	return 0;
}

/* MARK: tasks */

/*
 * Checksum and write one task's bytes (any thread). Returns 0 or errno with *bad_off.
 * Input pages of a file mapping are given back every PAR_DROP bytes (not only at the end of the
 * task), so a worker holds at most that much of them: peak RSS grows by 4 MiB a thread, where
 * whole 16 MiB tasks made 256 MiB at 16 threads. (Not every step: each madvise is a TLB
 * shootdown across the threads.)
 * Base64 is encoded and checksummed PAR_SUB raw bytes at a time, the CRC reading the text while
 * it is still in the core's cache; the step's text is then written with one pwrite.
 */
static int run_task(const par *q, const part *t, uint8_t *buf, uint32_t *crc_out, uint64_t *bad_off)
{
	uint32_t crc = 0;
	int e = 0;
	if (t->drop) /* a file view: read ahead what this task reads, should the input not be cached */
		pt2c__willneed_file_pages(t->src, (size_t)(t->kind == PART_MEM ? t->len : t->src_n));
	if (t->kind == PART_MEM) {
		for (uint64_t o = 0; o < t->len && !e; o += PAR_STEP) {
			size_t k = t->len - o < PAR_STEP ? (size_t)(t->len - o) : PAR_STEP;
			crc = pt2c__crc32(crc, t->src + o, k);
			if ((e = q->out.pwrite(q->out.ctx, t->src + o, k, t->off + o)))
				*bad_off = t->off + o;
			else if (t->drop && ((o + k) % PAR_DROP == 0 || o + k == t->len))
				pt2c__drop_file_pages(t->src + (o + k - 1) / PAR_DROP * PAR_DROP, (o + k - 1) % PAR_DROP + 1);
		}
	} else { /* PART_B64 */
		uint64_t wo = 0;
		for (uint64_t o = 0; o < t->src_n && !e; o += PAR_STEP_RAW) {
			size_t k = t->src_n - o < PAR_STEP_RAW ? (size_t)(t->src_n - o) : PAR_STEP_RAW;
			size_t en = pt2c__b64_encoded_len(k);
			for (size_t so = 0; so < k; so += PAR_SUB_RAW) { /* (k - so: a multiple of 3 until the last) */
				size_t sk = k - so < PAR_SUB_RAW ? k - so : PAR_SUB_RAW;
				char *dst = (char *)buf + so / 3 * 4;
				pt2c__b64_encode(dst, t->src + o + so, sk);
				crc = pt2c__crc32(crc, dst, pt2c__b64_encoded_len(sk));
			}
			if ((e = q->out.pwrite(q->out.ctx, buf, en, t->off + wo)))
				*bad_off = t->off + wo;
			else if (t->drop && ((o + k) % PAR_DROP_RAW == 0 || o + k == t->src_n))
				pt2c__drop_file_pages(t->src + (o + k - 1) / PAR_DROP_RAW * PAR_DROP_RAW, (o + k - 1) % PAR_DROP_RAW + 1);
			wo += en;
		}
	}
	if (!e && t->drop) /* the pages straddling two steps */
		pt2c__drop_file_pages(t->src, (size_t)(t->kind == PART_MEM ? t->len : t->src_n));
	if (!e && q->out.written) /* final bytes: their writeback overlaps the rest of the work */
		q->out.written(q->out.ctx, t->off, t->len);
	*crc_out = crc;
	return e;
}

/* Take the next queued task and run it; called and returns with q->mu held. */
static void take_task(par *q, uint8_t *buf)
{
	size_t i = q->queue[q->next++];
	part t = q->parts[i];
	bool skip = q->err != 0; /* after a failure the rest is only drained */
	pthread_mutex_unlock(&q->mu);
	uint32_t crc = 0;
	uint64_t bad = 0;
	int e = skip ? 0 : run_task(q, &t, buf, &crc, &bad);
	pthread_mutex_lock(&q->mu);
	q->parts[i].crc = crc;
	if (e && !q->err) {
		q->err = PT2C_EIO;
		q->err_errno = e;
		q->err_part = i;
		q->err_off = bad;
	}
	if (t.counted)
		q->done_bytes += t.len;
	q->pending--;
	pthread_cond_broadcast(&q->cv_done);
}

static void *worker_main(void *arg)
{
	worker_arg *w = arg;
	par *q = w->a->par;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->next == q->n_queue && !q->closed)
			pthread_cond_wait(&q->cv_work, &q->mu);
		if (q->next == q->n_queue)
			break; /* closed and empty */
		take_task(q, w->buf);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Start the workers (with the first task). Fewer than asked when threads cannot be created. */
static int par_spawn(aw *a)
{
	par *q = a->par;
	q->spawned = true;
	q->own_buf = pt2c__malloc(a->alloc, PAR_STEP);
	if (!q->own_buf)
		return PT2C_ENOMEM;
	if (!q->workers)
		return 0;
	q->tids = pt2c__calloc(a->alloc, q->workers, sizeof *q->tids);
	q->args = pt2c__calloc(a->alloc, q->workers, sizeof *q->args);
	if (!q->tids || !q->args)
		return PT2C_ENOMEM;
	for (unsigned i = 0; i < q->workers; i++) {
		q->args[i].a = a;
		q->args[i].buf = pt2c__malloc(a->alloc, PAR_STEP);
		if (!q->args[i].buf)
			return PT2C_ENOMEM;
		if (pthread_create(&q->tids[q->n_tids], NULL, worker_main, &q->args[i]) != 0)
			break; /* the calling thread does the rest at par_finish */
		q->n_tids++;
	}
	return 0;
}

/* Close the queue (aborting: every remaining task is skipped) and join the workers. */
static void par_join(par *q, bool abort_rest)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	if (abort_rest && !q->err) { /* the write failed elsewhere: remaining tasks are skipped */
		q->err = PT2C_EIO;
		q->err_errno = ECANCELED;
	}
	pthread_cond_broadcast(&q->cv_work);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->n_tids; i++)
		pthread_join(q->tids[i], NULL);
	q->n_tids = 0;
}

/*
 * Member data from memory that outlives the write (storages, engine bytes): n bytes at src, or
 * the base64 of src_n bytes (out_n = its length). Spans of task_bytes or more are queued in
 * pieces of about task_bytes; shorter ones are written now. The zip writer skips over them.
 */
int pt2c__pw_queue_span(aw *a, bool b64, const uint8_t *src, uint64_t src_n, uint64_t out_n, bool counted)
{
	par *q = a->par;
	if (out_n < q->task_bytes) {
		if (!b64)
			return pt2c__pw_data_inline(a, src, src_n);
		char chunk[4096];
		for (uint64_t o = 0; o < src_n;) {
			size_t k = src_n - o < 3072 ? (size_t)(src_n - o) : 3072;
			pt2c__b64_encode(chunk, src + o, k);
			int rc = pt2c__zipw_data(&a->w, chunk, pt2c__b64_encoded_len(k));
			if (rc)
				return pt2c__pw_fail(a, rc);
			o += k;
		}
		if (counted) {
			a->done += out_n;
			pt2c__pw_report(a);
		}
		return 0;
	}
	if (!q->spawned) {
		int rc = par_spawn(a);
		if (rc)
			return pt2c__pw_fail(a, rc);
	}
	uint64_t step = b64 ? (q->task_bytes / 4 * 3 / 3 * 3) : q->task_bytes; /* raw bytes a task */
	if (step < 3)
		step = 3;
	uint64_t off = a->w.offset;
	for (uint64_t o = 0; o < src_n; o += step) {
		part t;
		memset(&t, 0, sizeof t);
		t.kind = b64 ? PART_B64 : PART_MEM;
		t.member = a->w.n - 1;
		t.off = off;
		t.src = src + o;
		t.src_n = src_n - o < step ? src_n - o : step;
		t.len = b64 ? pt2c__b64_encoded_len((size_t)t.src_n) : t.src_n;
		t.drop = a->file_pages;
		t.counted = counted;
		off += t.len;
		pthread_mutex_lock(&q->mu);
		int rc = 0;
		if (pt2c__grow(q->alloc, (void **)&q->parts, &q->cap_parts, q->n_parts + 1, sizeof *q->parts)) {
			rc = PT2C_ENOMEM;
		} else if (pt2c__grow(q->alloc, (void **)&q->queue, &q->cap_queue, q->n_queue + 1, sizeof *q->queue)) {
			rc = PT2C_ENOMEM;
		} else {
			q->parts[q->n_parts] = t;
			q->queue[q->n_queue++] = q->n_parts++;
			q->pending++;
			pthread_cond_signal(&q->cv_work);
		}
		pthread_mutex_unlock(&q->mu);
		if (rc)
			return pt2c__pw_fail(a, rc);
	}
	int rc = pt2c__zipw_skip(&a->w, out_n, 0);
	return rc ? pt2c__pw_fail(a, rc) : 0;
}

/* An engine constant's member (begun): head and mid now, the engine text queued, the tail last. */
int pt2c__pw_par_engine(aw *a, const pt2c_engine_record *r, uint64_t sz, bool opaque)
{
	par *q = a->par;
	pt2c_engine_split s;
	int rc = opaque ? pt2c__engine_opaque_split(r, &s, a->alloc) : pt2c__engine_obj_split(r, &s, a->alloc);
	if (rc)
		return pt2c__pw_fail(a, rc);
	if ((rc = pt2c__zipw_data(&a->w, s.head.data, s.pkl_off))) /* the nested zip's local header */
		goto fail;
	q->new_part = true; /* data.pkl: its CRC is needed apart for the tail */
	size_t pkl_first = q->n_parts;
	if ((rc = pt2c__zipw_data(&a->w, s.head.data + s.pkl_off, s.head.len - s.pkl_off)))
		goto fail;
	a->file_pages = r->engine && r->engine->file_pages;
	rc = s.text_n ? pt2c__pw_queue_span(a, s.encode, s.src, s.src_n, s.text_n, false) : 0;
	a->file_pages = false;
	if (rc) {
		pt2c__engine_split_free(&s);
		return rc; /* reported */
	}
	if ((rc = pt2c__zipw_data(&a->w, s.mid.data, s.mid.len)))
		goto fail;
	if (!opaque) {
		part t;
		memset(&t, 0, sizeof t);
		t.kind = PART_TAIL;
		t.off = a->w.offset;
		t.len = s.tail_n;
		t.rec = r;
		t.pkl_size = s.pkl_size;
		t.pkl_first = pkl_first;
		t.member = a->w.n - 1;
		if (add_part(q, &t) == SIZE_MAX) {
			rc = PT2C_ENOMEM;
			goto fail;
		}
		if ((rc = pt2c__zipw_skip(&a->w, s.tail_n, 0)))
			goto fail;
	}
	a->done += sz; /* (the engine text is not counted by its tasks) */
	pt2c__pw_report(a);
	pt2c__engine_split_free(&s);
	return 0;
fail:
	pt2c__engine_split_free(&s);
	return pt2c__pw_fail(a, rc);
}

static void put32le(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/*
 * Before the serialization id: run what is left of the queue on this thread, wait for the workers,
 * then join every member's CRC from its parts in order (making engine tails on the way), patch the
 * data descriptors and fold the CRCs as end() does; later members are checksummed inline.
 */
int pt2c__pw_par_finish(aw *a)
{
	par *q = a->par;
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv_work);
	while (q->next < q->n_queue || q->pending) {
		if (q->next < q->n_queue)
			take_task(q, q->own_buf);
		else
			pthread_cond_wait(&q->cv_done, &q->mu);
		pthread_mutex_unlock(&q->mu);
		pt2c__pw_report(a);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	par_join(q, false);
	if (q->err) {
		const part *t = &q->parts[q->err_part];
		const pt2c_zipw_entry *e = &a->w.entries[t->member];
		const char *rel = e->name + strlen(a->root) + 1;
		return pt2c__err_at(a->err, PT2C_EIO, rel, q->err_off, "writing archive member %s failed at byte %" PRIu64 " (%s)",
		                    e->name, q->err_off, strerror(q->err_errno));
	}
	int rc = 0;
	pt2c_buf tail;
	pt2c__buf_init(&tail, a->alloc);
	for (size_t i = 0; i < q->n_parts && !rc; i++) {
		part *t = &q->parts[i];
		if (t->kind == PART_TAIL) {
			uint32_t pkl_crc = 0;
			for (size_t j = t->pkl_first; j < i; j++)
				pkl_crc = pt2c__crc32_combine(pkl_crc, q->parts[j].crc, q->parts[j].len);
			tail.len = 0;
			rc = pt2c__engine_obj_tail(t->rec, t->pkl_size, pkl_crc, &tail, a->alloc);
			if (!rc && tail.len != t->len)
				rc = PT2C_EINVALID; /* cannot happen: the split measured it */
			if (!rc) {
				t->crc = pt2c__crc32(0, tail.data, tail.len);
				if ((a->os_errno = lit_write(q, tail.data, tail.len, t->off, false)))
					rc = PT2C_EIO;
			}
			if (rc) {
				a->rel = a->w.entries[t->member].name + strlen(a->root) + 1;
				break;
			}
		}
		pt2c_zipw_entry *e = &a->w.entries[t->member];
		e->crc = pt2c__crc32_combine(e->crc, t->crc, t->len);
	}
	pt2c__buf_free(&tail);
	if (rc)
		return pt2c__pw_fail(a, rc);
	a->rel = "(data descriptors)";
	for (size_t m = 0; m < a->w.n; m++) {
		const pt2c_zipw_entry *e = &a->w.entries[m];
		if (e->dd_off != UINT64_MAX) {
			uint8_t c[4];
			put32le(c, e->crc);
			if ((a->os_errno = lit_write(q, c, 4, e->dd_off + 4, false)))
				return pt2c__pw_fail(a, PT2C_EIO);
		}
		if (e->size) /* as end(): torch folds in the CRC of non-empty records only */
			a->crc_comb = pt2c__pw_hash_combine(a->crc_comb, e->crc);
	}
	a->deferred = false;
	a->w.no_crc = false;
	return 0;
}

static unsigned default_threads(void)
{
	unsigned n = pt2c__cpu_count();
	return n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
}

int pt2c__pt2_write_par(const pt2c_program *p, pt2c_psink out, const pt2c_pt2_write_opts *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph && out.pwrite);
	aw a;
	int src = pt2c__pw_start(&a, p, opts, err);
	if (src)
		return src;
	par q;
	memset(&q, 0, sizeof q);
	q.out = out;
	q.alloc = a.alloc;
	unsigned threads = opts && opts->threads ? opts->threads : default_threads();
	q.workers = (threads > PAR_MAX_THREADS ? PAR_MAX_THREADS : threads) - 1;
	q.task_bytes = opts && opts->task_bytes ? opts->task_bytes : PAR_TASK_DEFAULT;
	q.lit = pt2c__malloc(a.alloc, LIT_CAP);
	if (!q.lit)
		return pt2c__err_oom(err);
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv_work, NULL);
	pthread_cond_init(&q.cv_done, NULL);
	a.par = &q;
	a.deferred = true;
	pt2c_sink sink = { plan_sink_write, &a };
	pt2c__zipw_init(&a.w, sink, a.alloc);
	a.w.no_crc = true;
	int rc = pt2c__pw_write_all(&a, p);
	if (!rc && (a.os_errno = lit_flush(&q))) {
		a.rel = "(central directory)";
		rc = pt2c__pw_fail(&a, PT2C_EIO);
	}
	par_join(&q, rc != 0); /* (after par_finish: nothing left to join) */
	pthread_cond_destroy(&q.cv_done);
	pthread_cond_destroy(&q.cv_work);
	pthread_mutex_destroy(&q.mu);
	for (unsigned i = 0; q.args && i < q.workers; i++)
		pt2c__free(a.alloc, q.args[i].buf);
	pt2c__free(a.alloc, q.args);
	pt2c__free(a.alloc, q.tids);
	pt2c__free(a.alloc, q.own_buf);
	pt2c__free(a.alloc, q.lit);
	pt2c__free(a.alloc, q.parts);
	pt2c__free(a.alloc, q.queue);
	pt2c__zipw_free(&a.w);
	pt2c__free(a.alloc, a.name);
	pt2c__free(a.alloc, a.hashes);
	return rc;
}
