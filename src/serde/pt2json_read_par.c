/*
 * pt2json_read_par.c -- model.json reader: the nodes and tensor_values of a large graph read on
 * worker threads.
 *
 * A graph-heavy model.json is mostly one "nodes" array that the skim has only delimited. Reading
 * a node is parsing its text and building its arguments (independent per node), then adding it
 * to the graph: its name, the values it refers to and those it defines (in order: a value is
 * defined by a node before it, or the reference dangles). So the array is cut into chunks;
 * workers read chunks into node records (read_node with a worker's reader, r->defer: the names
 * are recorded, not resolved), and the calling thread adds the records in order with the calls
 * read_node makes. Every string comes from the graph ctx's pool (shared meanwhile, the workers
 * interning through fronts), and every object lives in a front whose arena the ctx adopts, so
 * the graph is the one reading in order gives.
 *
 * Where the chunks start is guessed: the text after a ',' that starts like the array's first
 * item (boundary()). A chunk's records are used when it starts exactly where the items added so
 * far end. Where a chunk failed on its worker (any error), or a guess was not an item's start
 * (a node with a subgraph holds ", {\"target\"" too), the calling thread reads in order up to
 * the next chunk's start, and skips a chunk it went past: an error is then reported by reading
 * in order, as it always was. A node the workers cannot record (a subgraph, a definition of a
 * symbol or object) and a node whose names do not check out (a duplicate, a dangling
 * reference) are read with read_node in their place, which gives the error reading in order
 * gives.
 *
 * A large tensor_values table is read the same way, before the nodes: workers parse the entries
 * and their metadata; the calling thread interns the names and adds them in order (a duplicate
 * stops it there: reading in order reports it).
 */
#include <pthread.h>

#include "serde/pt2json_read.h"

/* A tensor_values entry read on a worker. */
typedef struct tv_rec {
	const char *key; /* the text's bytes, or a copy in the worker's front (a key with escapes) */
	uint32_t len, hash;
	const pt2c_tensor_meta *meta;
	uint64_t start; /* the cursor before it */
} tv_rec;

typedef struct chunk {
	uint64_t begin; /* the cursor it starts from: 0 (the array's start) or a guessed ',' (boundary()) */
	uint64_t limit; /* the next chunk's begin (0: none, read to the array's end) */
	uint64_t end;   /* the cursor after its last node */
	pdefer d;        /* nodes */
	tv_rec *tv;      /* tensor_values entries */
	size_t n_tv, cap_tv;
	bool ready;     /* read (to its limit, the span's end, or a failure) */
} chunk;

typedef struct par {
	rd *r; /* the caller's reader (settings only, from the workers) */
	gst *s;
	const pt2c_json *span; /* an array of nodes, or a tensor_values object */
	bool tv;
	chunk *ch;
	size_t n_ch;
	pthread_mutex_t mu; /* next, added, quit, ready */
	pthread_cond_t cv;
	size_t next;  /* the next chunk a worker takes */
	size_t added; /* chunks added by the calling thread */
	size_t ahead; /* chunks taken at most beyond added */
	bool quit;
	tv_state tvs;    /* tensor_values read in order by the calling thread */
	uint64_t first;  /* where the first item starts */
	const char *pat; /* what an item starts with (boundary()) */
	size_t pat_len;
} par;

typedef struct worker {
	par *p;
	rd r; /* the caller's settings; its own ctx front, error and scratch */
	pt2c_error err;
	pt2c_ctx *front;
	tv_state tvs; /* tensor_values: the worker's own */
	pthread_t th;
	bool started;
} worker;

static uint64_t spans_on_workers, nodes_in_order, chunks_skipped; /* pt2c__pt2json_par_counts */

void pt2c__pt2json_par_counts(uint64_t *spans, uint64_t *in_order, uint64_t *skipped)
{
	*spans = __atomic_load_n(&spans_on_workers, __ATOMIC_RELAXED);
	*in_order = __atomic_load_n(&nodes_in_order, __ATOMIC_RELAXED);
	*skipped = __atomic_load_n(&chunks_skipped, __ATOMIC_RELAXED);
}

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static uint64_t skip_ws(const char *d, uint64_t i, uint64_t end)
{
	while (i < end && is_ws(d[i]))
		i++;
	return i;
}

/*
 * Where chunk k (>= 1) of n begins: the first ',' at or after 1/n-th k of the span that is
 * followed by an item (array) or member (object) whose value starts like the first one's (its
 * '{' and first key; a JSON string cannot hold an unescaped '"', so a match is the start of an
 * object; whether it is an item is confirmed while reading); 0 when there is none. A function
 * of the text, so the workers of chunks k - 1 and k find the same place, each near the text it
 * reads: finding all of them first faulted in pages all over the text (300 MiB of a 400 MiB
 * array, with what the kernel maps around each fault).
 */
static uint64_t boundary(const par *p, size_t k)
{
	const char *d = p->r->src;
	uint64_t open = p->span->pos, close = open + p->span->u.raw_len - 1;
	uint64_t i = open + (uint64_t)((double)p->span->u.raw_len * (double)k / (double)p->n_ch);
	if (i <= p->first)
		i = p->first + 1;
	while (i + p->pat_len <= close) {
		const char *m = memchr(d + i, '{', (size_t)(close - p->pat_len + 1 - i));
		if (!m)
			break;
		i = (uint64_t)(m - d);
		if (memcmp(m, p->pat, p->pat_len) == 0) {
			uint64_t j = i;
			while (j > p->first && is_ws(d[j - 1]))
				j--;
			if (p->tv) { /* back over ':' and the member's key */
				if (j <= p->first || d[j - 1] != ':')
					goto next;
				j--;
				while (j > p->first && is_ws(d[j - 1]))
					j--;
				if (j <= p->first || d[j - 1] != '"')
					goto next;
				j--;
				/* the key's opening quote: one with an even number of backslashes before it */
				for (;;) {
					while (j > p->first && d[j - 1] != '"')
						j--;
					if (j <= p->first)
						goto next;
					uint64_t b = j - 1, nb = 0;
					while (b > p->first && d[b - 1] == '\\')
						b--, nb++;
					j--;
					if (nb % 2 == 0)
						break;
				}
				while (j > p->first && is_ws(d[j - 1]))
					j--;
			}
			if (j > p->first + 1 && d[j - 1] == ',')
				return j - 1;
		}
next:
		i++;
	}
	return 0;
}

/* The pattern of boundary(): the first value's '{', blanks, and first key with its quotes. */
static bool pattern(par *p)
{
	const char *d = p->r->src;
	uint64_t open = p->span->pos, close = open + p->span->u.raw_len - 1;
	uint64_t q = skip_ws(d, open + 1, close);
	p->first = q;
	if (p->tv) { /* past the first member's key and ':' */
		if (q >= close || d[q] != '"')
			return false;
		q++;
		while (q < close && d[q] != '"')
			q += d[q] == '\\' ? 2 : 1;
		q = skip_ws(d, q + 1, close);
		if (q >= close || d[q] != ':')
			return false;
		q = skip_ws(d, q + 1, close);
	}
	if (q >= close || d[q] != '{')
		return false;
	uint64_t k = skip_ws(d, q + 1, close);
	if (k >= close || d[k] != '"')
		return false;
	uint64_t e = k + 1;
	while (e < close && d[e] != '"' && d[e] != '\\' && e - q < 64)
		e++;
	if (e >= close || d[e] != '"')
		return false;
	p->pat = d + q;
	p->pat_len = (size_t)(e + 1 - q);
	return true;
}

/* The node after *cursor into c's records (*end: none is left); nonzero: it failed. */
static int node_item(worker *w, chunk *c, pt2c_arena *dom, uint64_t *cursor, bool *end)
{
	rd *r = &w->r;
	pt2c_json *nv = NULL;
	uint64_t before = *cursor;
	pt2c__arena_reset(dom);
	int rc = pt2c__json_raw_next(r->src, r->src_len, w->p->span, cursor, &r->jopts, dom, &nv, r->err);
	if (rc || !nv) {
		*end = !rc;
		return rc;
	}
	size_t n0 = c->d.n, p0 = c->d.n_pend;
	rc = read_node(r, w->p->s, nv);
	if (rc == PT2C__EDEFER && c->d.n == n0 + 1) {
		c->d.nodes[n0].in_order = true;
		c->d.n_pend = p0;
		rc = 0;
	}
	if (rc) {
		c->d.n = n0;
		c->d.n_pend = p0;
		return rc;
	}
	c->d.nodes[n0].start = before;
	return 0;
}

/* The tensor_values entry after *cursor into c's records, as pt2c__pt2json_tv_next reads it. */
static int tv_item(worker *w, chunk *c, uint64_t *cursor, bool *end)
{
	rd *r = &w->r;
	uint64_t before = *cursor;
	const pt2c_json *k = NULL;
	const pt2c_tensor_meta *meta = NULL;
	int rc = pt2c__pt2json_tv_next(r, &w->tvs, w->p->span, cursor, &k, &meta);
	if (rc || !k) {
		*end = !rc;
		return rc;
	}
	const char *key = NULL; /* (one decoded from escapes lies in the entry's DOM: copied) */
	uint32_t len = 0;
	if ((rc = view_str(r, k, &key, &len)))
		return rc;
	if (pt2c__grow(r->ctx->alloc, (void **)&c->tv, &c->cap_tv, c->n_tv + 1, sizeof *c->tv))
		return PT2C_ENOMEM;
	c->tv[c->n_tv++] = (tv_rec){ key, len, pt2c__hash(key, len), meta, before };
	return 0;
}

/* Read chunk c into its records (a worker's reader). */
static void read_chunk(worker *w, chunk *c)
{
	rd *r = &w->r;
	par *p = w->p;
	const pt2c_json *span = p->span;
	uint64_t close = span->pos + span->u.raw_len - 1;
	size_t k = (size_t)(c - p->ch);
	c->begin = k ? boundary(p, k) : 0;
	c->limit = k + 1 < p->n_ch ? boundary(p, k + 1) : 0;
	if (k && !c->begin)
		return; /* no item begins after 1/n-th k: the chunk before reads to the end */
	pt2c_arena dom;
	pt2c__arena_init(&dom, r->ctx->alloc);
	uint64_t cursor = c->begin;
	r->defer = &c->d;
	c->d.alloc = r->ctx->alloc;
	w->tvs.prev = NULL; /* (the chunk's own values only) */
	/* up to the next chunk's start (the item that reaches it or goes past it is the last), the
	 * span's end, or a failure: whether the next chunk starts there is the adding thread's check */
	for (;;) {
		if (c->limit && skip_ws(r->src, cursor, close) >= c->limit)
			break;
		bool end = false;
		if ((p->tv ? tv_item(w, c, &cursor, &end) : node_item(w, c, &dom, &cursor, &end)) || end)
			break;
		c->end = cursor;
	}
	r->defer = NULL;
	pt2c__arena_free(&dom);
}

static void *work(void *arg)
{
	worker *w = arg;
	par *p = w->p;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->quit && p->next < p->n_ch && p->next >= p->added + p->ahead)
			pthread_cond_wait(&p->cv, &p->mu);
		size_t k = p->quit ? p->n_ch : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (k >= p->n_ch)
			break;
		read_chunk(w, &p->ch[k]);
		pthread_mutex_lock(&p->mu);
		p->ch[k].ready = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/*
 * Add the recorded node pn as read_node would. *in_order: its names do not check out (a
 * reference to no value, a definition of a value that exists, a duplicate node name), so
 * nothing was added and read_node reads it, which reports what is wrong. The checks come first,
 * so that adding cannot fail but for memory: a reference resolves to the same value before the
 * node's name is taken as after (a node's name holds no value), and a definition is refused
 * exactly when its name already holds a value or comes twice in the node.
 */
static int add_recorded(rd *r, gst *s, pt2c_pnode *pn, pt2c_pend *pend, bool *in_order)
{
	pt2c_graph *g = s->g;
	*in_order = true;
	for (uint32_t k = pn->pend0; k < pn->pend1; k++) {
		pt2c_pend *e = &pend[k];
		uint32_t v = pt2c__graph_find_value_interned(g, e->name, e->len, e->hash);
		if (!e->def) {
			if (v == PT2C_NONE)
				return 0;
			*e->slot = v;
			continue;
		}
		if (v != PT2C_NONE)
			return 0;
		for (uint32_t j = pn->pend0; j < k; j++)
			if (pend[j].def && pend[j].name == e->name)
				return 0;
	}
	uint32_t id = 0;
	int rc = pn->no_name ? pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, pn->name, false, pn->target, PT2C_NONE, &id)
	                     : pt2c__graph_add_node_interned(g, PT2C_OP_CALL_FUNCTION, pn->name, pn->len, pn->hash, pn->target, &id);
	if (rc == PT2C_EGRAPH)
		return 0; /* a duplicate node name: nothing was added */
	*in_order = false;
	if (rc)
		return pt2c__err_oom(r->err);
	pt2c_node *node = pt2c__node(g, id);
	if (pn->no_name)
		node->flags |= PT2C_NODE_NO_NAME;
	node->hop_single_tensor_return = pn->hop;
	pt2c__node_adopt_inputs(g, id, pn->inputs, pn->n_inputs);
	for (uint32_t k = pn->pend0; k < pn->pend1; k++) {
		pt2c_pend *e = &pend[k];
		if (!e->def)
			continue;
		uint32_t v = 0;
		if (pt2c__graph_add_value(g, e->name, true, e->def, &v))
			return pt2c__err_oom(r->err); /* (checked above: only memory can fail) */
		if (e->meta) {
			pt2c_value *val = pt2c__value(g, v);
			val->u.tensor = e->meta;
			val->has_meta = true;
		}
		*e->slot = v;
	}
	if (pt2c__node_adopt_outputs(g, id, pn->outputs, pn->n_outputs))
		return pt2c__err_oom(r->err);
	pt2c__node_adopt_meta(g, id, pn->meta, pn->n_meta);
	return 0;
}

/* Adding a node mostly waits for its names' table entries (a million names: far beyond the
 * caches); they are asked for this many nodes ahead. */
#define PREFETCH 8

static void prefetch(const pt2c_graph *g, const pt2c_pnode *pn, const pt2c_pend *pend)
{
	if (!pn->no_name)
		pt2c__map32_prefetch_h(&g->names, pn->hash);
	for (uint32_t k = pn->pend0; k < pn->pend1; k++)
		pt2c__map32_prefetch_h(&g->names, pend[k].hash);
}

/*
 * One item read in order at *cursor by the calling thread, as the reading in order that follows
 * the workers would (*end: the span ended there): a node with read_node (node *i), an entry of
 * tensor_values with pt2c__pt2json_tv_next and _tv_add.
 */
static int step_node(par *p, pt2c_arena *dom, uint64_t *cursor, uint32_t *i, bool *end)
{
	rd *r = p->r;
	pt2c_graph *g = p->s->g;
	pt2c_json *nv = NULL;
	pt2c__arena_reset(dom);
	int rc = pt2c__json_raw_next(r->src, r->src_len, p->span, cursor, &r->jopts, dom, &nv, r->err);
	if (rc || !nv) {
		*end = !rc;
		return rc;
	}
	__atomic_add_fetch(&nodes_in_order, 1, __ATOMIC_RELAXED);
	pt2c_ctx *mfront = g->ctx;
	g->ctx = r->ctx; /* (read_node as reading in order runs it: the graph in r->ctx) */
	{
		AT_IDX(r, *i);
		rc = read_node(r, p->s, nv);
	}
	g->ctx = mfront;
	if (!rc)
		++*i;
	return rc;
}

static int step_tv(par *p, pt2c_arena *dom, uint64_t *cursor, uint32_t *i, bool *end)
{
	(void)dom;
	(void)i;
	rd *r = p->r;
	uint32_t depth = r->jr.depth;
	const pt2c_json *k = NULL;
	const pt2c_tensor_meta *meta = NULL;
	int rc = pt2c__pt2json_tv_next(r, &p->tvs, p->span, cursor, &k, &meta);
	if (!rc && k)
		rc = pt2c__pt2json_tv_add(r, p->s, k, meta);
	*end = !rc && !k;
	r->jr.depth = depth;
	return rc;
}

/* A worker's reader: the caller's settings, everything it writes its own. */
static int worker_init(rd *r, worker *w, par *p)
{
	memset(w, 0, sizeof *w);
	w->err = (pt2c_error)PT2C_ERROR_INIT;
	w->p = p;
	if (pt2c__ctx_new_front(r->ctx, &w->front))
		return PT2C_ENOMEM;
	rd *wr = &w->r;
	pt2c__jr_init(&wr->jr, r->src, r->src_len, NULL, &w->err);
	wr->ctx = w->front;
	wr->err = &w->err;
	wr->src = r->src;
	wr->src_len = r->src_len;
	wr->jopts = r->jopts;
	wr->file_mapped = r->file_mapped;
	wr->graph_depth = r->graph_depth;
	pt2c__pt2json_tv_init(&w->tvs, r->ctx->alloc);
	return 0;
}

/*
 * Add chunk c's records in order, as reading in order would (the calling thread), setting
 * *cursor after each; where one cannot be added, stop there (reading in order goes on).
 */
typedef int (*add_fn)(par *p, chunk *c, pt2c_arena *dom, uint64_t *cursor, uint32_t *i);
typedef int (*step_fn)(par *p, pt2c_arena *dom, uint64_t *cursor, uint32_t *i, bool *end);

static int add_nodes(par *p, chunk *c, pt2c_arena *dom, uint64_t *cursor, uint32_t *i)
{
	rd *r = p->r;
	gst *s = p->s;
	pt2c_graph *g = s->g;
	int rc = 0;
	for (size_t j = 0; j < c->d.n && !rc; j++) {
		pt2c_pnode *pn = &c->d.nodes[j];
		if (j + PREFETCH < c->d.n) /* the names table entries that node will look up */
			prefetch(g, &c->d.nodes[j + PREFETCH], c->d.pend);
		bool in_order = pn->in_order;
		if (!in_order && (rc = add_recorded(r, s, pn, c->d.pend, &in_order)))
			break;
		if (in_order) {
			uint64_t at = pn->start;
			bool end = false;
			if ((rc = step_node(p, dom, &at, i, &end)))
				break;
			if (end) /* (a worker read an item there) */
				rc = pt2c__err(r->err, PT2C_EINVALID, "internal: a node read on a worker is not there again");
		} else {
			++*i;
		}
		if (!rc)
			*cursor = j + 1 < c->d.n ? c->d.nodes[j + 1].start : c->end;
	}
	return rc;
}

static int add_tv(par *p, chunk *c, pt2c_arena *dom, uint64_t *cursor, uint32_t *i)
{
	(void)dom;
	(void)i;
	rd *r = p->r;
	pt2c_map *mtv = &p->s->mm.mtv;
	pt2c_strpool *pool = &r->ctx->strings;
	for (size_t j = 0; j < c->n_tv; j++) {
		const tv_rec *e = &c->tv[j];
		if (j + PREFETCH < c->n_tv) { /* where interning and adding that entry look first */
			pt2c__strpool_prefetch_h(pool, e[PREFETCH].hash);
			pt2c__map_prefetch_h(mtv, e[PREFETCH].hash);
		}
		bool dup = false;
		const char *name = pt2c__intern_h(pool, e->key, e->len, e->hash);
		if (!name || pt2c__map_put_h(mtv, name, e->len, e->hash, (uint64_t)(uintptr_t)e->meta, false, &dup))
			return pt2c__err_oom(r->err);
		if (dup)
			return 0; /* reading in order from there reports it */
		*cursor = j + 1 < c->n_tv ? e[1].start : c->end;
	}
	return 0;
}

/*
 * Read the span on workers (their count: nw) and add what they read in order with `add`, as far
 * as it goes: the driver of pt2c__pt2json_nodes_par and pt2c__pt2json_tv_par.
 */
static int run(par *p, unsigned nw, add_fn add, step_fn step, uint64_t *cursor, uint32_t *i, uint64_t *dropped)
{
	rd *r = p->r;
	pt2c_graph *g = p->s->g;
	const pt2c_allocator *a = r->ctx->alloc;
	p->ahead = 2 * (size_t)nw + 2;
	p->ch = pt2c__calloc(a, p->n_ch, sizeof *p->ch);
	worker *ws = pt2c__calloc(a, nw, sizeof *ws);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	if (!p->ch || !ws || !pattern(p) || pt2c__strpool_share(&r->ctx->strings, &lock)) {
		pt2c__free(a, p->ch);
		pt2c__free(a, ws);
		return 0; /* (reading in order needs no memory of these) */
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pt2c__pt2json_tv_init(&p->tvs, a);
	pt2c_ctx *mfront = NULL;
	size_t ready = 0, started = 0;
	if (pt2c__ctx_new_front(r->ctx, &mfront) == 0)
		while (ready < nw && worker_init(r, &ws[ready], p) == 0)
			ready++;
	for (size_t k = 0; k < ready; k++)
		if ((ws[k].started = pthread_create(&ws[k].th, NULL, work, &ws[k]) == 0))
			started++;
	int rc = 0;
	if (started) {
		__atomic_add_fetch(&spans_on_workers, 1, __ATOMIC_RELAXED);
		/* the graph's names and arrays through the calling thread's own front meanwhile */
		g->ctx = mfront;
		pt2c_arena dom;
		pt2c__arena_init(&dom, a);
		bool end = false;
		uint64_t close = p->span->pos + p->span->u.raw_len - 1;
		for (size_t k = 0; k < p->n_ch && !rc && !end; k++) {
			chunk *c = &p->ch[k];
			pthread_mutex_lock(&p->mu);
			while (!c->ready)
				pthread_cond_wait(&p->cv, &p->mu);
			pthread_mutex_unlock(&p->mu);
			/*
			 * Chunk k's records are the items from where it begins when that is where the
			 * items added so far end: read in order up to there (what a chunk before could not
			 * give: it failed, or its start was not an item's). Past it, the chunk is skipped.
			 */
			bool valid = k == 0 || c->begin != 0;
			while (k > 0 && valid && !rc) {
				uint64_t at = skip_ws(r->src, *cursor ? *cursor : p->span->pos + 1, close);
				if (at >= c->begin) {
					valid = at == c->begin;
					break;
				}
				if ((rc = step(p, &dom, cursor, i, &end)) || end)
					break;
			}
			if (!valid)
				__atomic_add_fetch(&chunks_skipped, 1, __ATOMIC_RELAXED);
			if (valid && !rc && !end)
				rc = add(p, c, &dom, cursor, i);
			/* the text of what was added (not before: the records hold views of it) */
			drop_behind(r, dropped, *cursor, false);
			pt2c__free(a, c->d.nodes);
			pt2c__free(a, c->d.pend);
			pt2c__free(a, c->tv);
			c->d.nodes = NULL;
			c->d.pend = NULL;
			c->tv = NULL;
			pthread_mutex_lock(&p->mu);
			p->added = k + 1;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		g->ctx = r->ctx;
		pt2c__arena_free(&dom);
	}
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t k = 0; k < ready; k++)
		if (ws[k].started)
			pthread_join(ws[k].th, NULL);
	for (size_t k = 0; k < p->n_ch; k++) {
		pt2c__free(a, p->ch[k].d.nodes);
		pt2c__free(a, p->ch[k].d.pend);
		pt2c__free(a, p->ch[k].tv);
	}
	/* the workers' objects (the nodes' arrays, metadata and new strings) belong to the ctx from now on */
	for (size_t k = 0; k < ready; k++) {
		pt2c__pt2json_tv_free(&ws[k].tvs);
		pt2c__ctx_adopt(r->ctx, ws[k].front);
	}
	if (mfront)
		pt2c__ctx_adopt(r->ctx, mfront);
	pt2c__strpool_unshare(&r->ctx->strings);
	pt2c__pt2json_tv_free(&p->tvs);
	pthread_mutex_destroy(&lock);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pt2c__free(a, p->ch);
	pt2c__free(a, ws);
	if (*cursor > *dropped)
		drop_behind(r, dropped, *cursor, true);
	return rc;
}

/* Read span (a node array, or a tensor_values table) on workers when it is large and there are CPUs for it. */
static int read_span(rd *r, gst *s, const pt2c_json *span, bool tv, uint64_t *cursor, uint32_t *i, uint64_t *dropped)
{
	par p;
	memset(&p, 0, sizeof p);
	p.r = r;
	p.s = s;
	p.span = span;
	p.tv = tv;
	size_t want = span->n / (pt2c__thread_tuning.chunk_items ? pt2c__thread_tuning.chunk_items : 1);
	/* small chunks: the records of a few per worker are all that exist at once */
	p.n_ch = want > 4096 ? 4096 : want;
	unsigned nw = want < 2 || r->ctx->strings.lock || r->ctx->strings.shared ? 0
	                                                                        : pt2c__helper_threads(r->ctx->alloc, span->n, 15);
	return nw ? run(&p, nw, tv ? add_tv : add_nodes, tv ? step_tv : step_node, cursor, i, dropped) : 0;
}

int pt2c__pt2json_nodes_par(rd *r, gst *s, const pt2c_json *nodes, uint64_t *cursor, uint32_t *i, uint64_t *dropped)
{
	/* (the names a node defines are checked against tensor_values read up front) */
	return s->mm.tv_read ? read_span(r, s, nodes, false, cursor, i, dropped) : 0;
}

int pt2c__pt2json_tv_par(rd *r, gst *s, const pt2c_json *raw, uint64_t *cursor, uint64_t *dropped)
{
	uint32_t i = 0; /* (entries are not counted) */
	return read_span(r, s, raw, true, cursor, &i, dropped);
}
