/*
 * test_pt2_parallel.c -- the parallel .pt2 writer (pt2c__pt2_write_par) against the serial one
 * (pt2c__pt2_write): for every fixture program (PyTorch 2.11 archives as read, the same at the
 * 2.13 generation with Python-pickled engine constants, and every partitioned fixture exported
 * normally and cross-compiled, whose engines are base64-encoded while written) the output must be
 * byte-identical at 1, 2, 3 and 8 threads and with tasks cut to 1 or 64 bytes or the default.
 * Plus: CRC-32 combining against a direct CRC on random data; a write failing on a worker thread
 * (every such write in turn) fails cleanly with the member and offset, and through
 * pt2c_program_write (a file size limit) leaves neither the output nor a temporary file; a
 * 4.5 GiB weight (ZIP64 sizes and offsets) gives the same bytes (compared by length and CRC-32 of
 * the whole output, data never materialized).
 */
#define _GNU_SOURCE /* MAP_NORESERVE */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"
#include "serde/zip.h"

static const char *const PT2_FIXTURES[] = {
	"mlp_bn", "conv_block", "dyn_batch", "arange_const", "dtypes", "attn",
	"full_engine_folded.normal", "full_engine_folded.cross", "full_engine_two_outputs.normal",
	"full_engine_two_outputs.cross", "hybrid_gated_fallback.normal", "hybrid_gated_fallback.cross",
	"no_engine.normal", "no_engine.cross",
};
static const char *const PARTITIONED[] = {
	"fixtures/torch-2.11/full_engine_folded.partitioned.json",
	"fixtures/torch-2.11/full_engine_two_outputs.partitioned.json",
	"fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json",
	"fixtures/torch-2.11/no_engine.partitioned.json",
	"fixtures/partitioned/example_hybrid.partitioned.json",
	"fixtures/partitioned/example_hybrid_dynamic.partitioned.json",
};

/* MARK: an output image in memory, written positionally from several threads */

typedef struct image {
	pthread_mutex_t mu;
	uint8_t *data;
	size_t len, cap;
	pthread_t main;
	int worker_calls;   /* pwrite calls made off the main thread */
	int fail_worker_at; /* 0: never; k: the k-th call off the main thread fails with ENOSPC */
	bool failed;
	uint64_t (*final)[2]; /* ranges the writer called final (psink.written): never written again */
	size_t n_final, cap_final;
	int rewrites;         /* writes into a range already called final */
} image;

static void image_init(image *im)
{
	memset(im, 0, sizeof *im);
	pthread_mutex_init(&im->mu, NULL);
	im->main = pthread_self();
}

static void image_free(image *im)
{
	free(im->data);
	free(im->final);
	pthread_mutex_destroy(&im->mu);
}

static int image_pwrite(void *ctx, const void *p, size_t n, uint64_t off)
{
	image *im = ctx;
	int rc = 0;
	pthread_mutex_lock(&im->mu);
	if (!pthread_equal(pthread_self(), im->main) && ++im->worker_calls == im->fail_worker_at) {
		im->failed = true;
		rc = ENOSPC;
	} else if (off + n > im->cap) {
		size_t cap = im->cap ? im->cap : 4096;
		while (cap < off + n)
			cap *= 2;
		uint8_t *d = realloc(im->data, cap);
		if (!d) {
			rc = ENOMEM;
		} else {
			memset(d + im->cap, 0xEE, cap - im->cap); /* holes show up as 0xEE */
			im->data = d;
			im->cap = cap;
		}
	}
	if (!rc) {
		memcpy(im->data + off, p, n);
		if (off + n > im->len)
			im->len = off + n;
		for (size_t i = 0; i < im->n_final; i++)
			if (off < im->final[i][0] + im->final[i][1] && im->final[i][0] < off + n)
				im->rewrites++;
	}
	pthread_mutex_unlock(&im->mu);
	return rc;
}

static void image_written(void *ctx, uint64_t off, uint64_t n)
{
	image *im = ctx;
	pthread_mutex_lock(&im->mu);
	if (im->n_final == im->cap_final) {
		size_t cap = im->cap_final ? 2 * im->cap_final : 64;
		void *f = realloc(im->final, cap * sizeof *im->final);
		if (!f) {
			im->rewrites++; /* cannot track: fail the check rather than pass it */
			pthread_mutex_unlock(&im->mu);
			return;
		}
		im->final = f;
		im->cap_final = cap;
	}
	im->final[im->n_final][0] = off;
	im->final[im->n_final][1] = n;
	im->n_final++;
	pthread_mutex_unlock(&im->mu);
}

/* MARK: programs */

typedef struct progs {
	pt2c_program *p[64];
	const char *label[64];
	char names[64][96];
	int n;
} progs;

static void add_prog(progs *ps, pt2c_program *p, const char *label, const char *suffix)
{
	if (ps->n >= 64) {
		pt2c_program_free(p);
		return;
	}
	snprintf(ps->names[ps->n], sizeof ps->names[0], "%s%s", label, suffix);
	ps->label[ps->n] = ps->names[ps->n];
	ps->p[ps->n++] = p;
}

static void load_all(progs *ps)
{
	memset(ps, 0, sizeof *ps);
	char rel[256];
	for (size_t f = 0; f < PT2C_ARRAY_LEN(PT2_FIXTURES); f++) {
		snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", PT2_FIXTURES[f]);
		for (int gen = 0; gen < 2; gen++) {
			pt2c_error err = PT2C_ERROR_INIT;
			pt2c_program *p = NULL;
			int rc = pt2c_program_open(&p, shared_path(rel), NULL, &err);
			CHECK_MSG(rc == 0, "%s: %s", rel, err.message);
			if (rc)
				break;
			if (gen == 1 && pt2c_program_set_target(p, "2.13", &err) != 0) {
				pt2c_program_free(p); /* no engines to move to the 2.13 form */
				continue;
			}
			add_prog(ps, p, PT2_FIXTURES[f], gen ? " at 2.13" : "");
		}
	}
	for (size_t f = 0; f < PT2C_ARRAY_LEN(PARTITIONED); f++) {
		for (int cross = 0; cross < 2; cross++) {
			pt2c_error err = PT2C_ERROR_INIT;
			pt2c_module *m = NULL;
			pt2c_program *p = NULL;
			int rc = pt2c_module_open(&m, shared_path(PARTITIONED[f]), NULL, &err);
			CHECK_MSG(rc == 0, "%s: %s", PARTITIONED[f], err.message);
			if (rc)
				continue;
			pt2c_export_options eo = PT2C_EXPORT_OPTIONS_INIT;
			eo.cross_compile = cross;
			rc = pt2c_export(&p, &m, &eo, &err);
			CHECK_MSG(rc == 0, "%s: export: %s", PARTITIONED[f], err.message);
			if (!rc)
				add_prog(ps, p, strrchr(PARTITIONED[f], '/') + 1, cross ? " exported cross" : " exported");
		}
	}
	CHECK(ps->n >= 30);
}

static void free_all(progs *ps)
{
	for (int i = 0; i < ps->n; i++)
		pt2c_program_free(ps->p[i]);
}

/* MARK: tests */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_crc32_combine(void)
{
	size_t n = 1 << 20;
	uint8_t *d = malloc(n);
	REQUIRE(d);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)rnd();
	uint32_t whole = pt2c__crc32(0, d, n);
	for (int t = 0; t < 200; t++) {
		/* cut into up to 9 pieces at random points (empty pieces included) and join them */
		size_t cuts[10];
		int k = 1 + (int)(rnd() % 9);
		cuts[0] = 0;
		for (int i = 1; i < k; i++)
			cuts[i] = (size_t)(rnd() % (n + 1));
		cuts[k] = n;
		for (int i = 1; i < k; i++) /* sort */
			for (int j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
				size_t x = cuts[j];
				cuts[j] = cuts[j - 1];
				cuts[j - 1] = x;
			}
		uint32_t c = 0;
		for (int i = 0; i < k; i++)
			c = pt2c__crc32_combine(c, pt2c__crc32(0, d + cuts[i], cuts[i + 1] - cuts[i]), cuts[i + 1] - cuts[i]);
		CHECK_MSG(c == whole, "pieces %d: %08x != %08x", k, c, whole);
	}
	/* small lengths, and the known value of "123456789" */
	static const char check[] = "123456789";
	CHECK_EQ_INT(pt2c__crc32(0, check, 9), 0xCBF43926u);
	for (size_t a = 0; a <= 9; a++)
		CHECK_EQ_INT(pt2c__crc32_combine(pt2c__crc32(0, check, a), pt2c__crc32(0, &check[a], 9 - a), 9 - a), 0xCBF43926u);
	CHECK_EQ_INT(pt2c__crc32_combine(whole, 0, 0), whole); /* nothing appended */
	free(d);
}

static bool write_par(const pt2c_program *p, const char *root, unsigned threads, uint64_t task, image *im,
                      pt2c_error *err, int *rc_out)
{
	image_init(im);
	pt2c_pt2_write_opts o = { root, NULL, NULL, threads, task };
	pt2c_psink ps = { image_pwrite, im, image_written };
	*err = (pt2c_error)PT2C_ERROR_INIT;
	*rc_out = pt2c__pt2_write_par(p, ps, &o, err);
	return *rc_out == 0;
}

static void test_same_bytes_as_serial(void)
{
	progs ps;
	load_all(&ps);
	static const unsigned THREADS[] = { 1, 2, 3, 8 };
	static const uint64_t TASKS[] = { 1, 64, 0 };
	int compared = 0, finals = 0;
	for (int i = 0; i < ps.n; i++) {
		pt2c_buf ser;
		pt2c__buf_init(&ser, NULL);
		pt2c_pt2_write_opts so = { "model", NULL, NULL, 0, 0 };
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__pt2_write(ps.p[i], pt2c__sink_buf(&ser), &so, &err);
		CHECK_MSG(rc == 0, "%s: serial: %s", ps.label[i], err.message);
		for (size_t t = 0; !rc && t < PT2C_ARRAY_LEN(THREADS); t++)
			for (size_t k = 0; k < PT2C_ARRAY_LEN(TASKS); k++) {
				image im;
				int prc;
				bool ok = write_par(ps.p[i], "model", THREADS[t], TASKS[k], &im, &err, &prc);
				CHECK_MSG(ok, "%s: parallel (%u threads, tasks %llu): %d %s", ps.label[i], THREADS[t],
				          (unsigned long long)TASKS[k], prc, err.message);
				if (ok) {
					size_t d = 0;
					while (d < ser.len && d < im.len && (uint8_t)ser.data[d] == im.data[d])
						d++;
					CHECK_MSG(im.len == ser.len && d == ser.len, "%s (%u threads, tasks %llu): differs at byte %zu (sizes %zu vs %zu)",
					          ps.label[i], THREADS[t], (unsigned long long)TASKS[k], d, im.len, ser.len);
					CHECK_MSG(im.rewrites == 0, "%s (%u threads, tasks %llu): %d writes into ranges called final",
					          ps.label[i], THREADS[t], (unsigned long long)TASKS[k], im.rewrites);
					if (TASKS[k] == 1) /* every span is a task: some ranges are called final */
						finals += im.n_final > 0;
					compared++;
				}
				image_free(&im);
			}
		pt2c__buf_free(&ser);
	}
	CHECK(compared >= 30 * 12);
	CHECK(finals >= 30 * 4);
	free_all(&ps);
}

/* The program of fixture `name` with its first weight's storage swapped for n bytes of `fill`. */
static pt2c_program *with_big_weight(const char *name, uint64_t n, uint8_t **mem)
{
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", name);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	if (pt2c_program_open(&p, shared_path(rel), NULL, &err))
		return NULL;
	for (uint32_t i = 0; i < p->mod->n_attrs; i++) {
		pt2c_attr *at = &p->mod->attrs[i];
		if (at->kind != PT2C_ATTR_PARAMETER || !at->tensor.storage)
			continue;
		pt2c_storage *s = NULL;
		if (pt2c__storage_new(NULL, *mem, n, NULL, NULL, &s)) {
			pt2c_program_free(p);
			return NULL;
		}
		pt2c__storage_unref(at->tensor.storage);
		at->tensor.storage = s;
		return p;
	}
	pt2c_program_free(p);
	return NULL;
}

static void test_worker_write_failure(void)
{
	size_t n = 3u << 20;
	uint8_t *mem = malloc(n);
	REQUIRE(mem);
	for (size_t i = 0; i < n; i++)
		mem[i] = (uint8_t)rnd();
	pt2c_program *p = with_big_weight("mlp_bn", n, &mem);
	REQUIRE(p);
	/* every pwrite a worker makes fails in turn (tasks of 256 KiB: 12 of them, 1 write each) */
	int tried = 0;
	for (int k = 1; k < 100; k++) {
		image im;
		image_init(&im);
		im.fail_worker_at = k;
		pt2c_pt2_write_opts o = { "model", NULL, NULL, 4, 256 << 10 };
		pt2c_psink ps = { image_pwrite, &im, image_written };
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__pt2_write_par(p, ps, &o, &err);
		bool failed = im.failed;
		image_free(&im);
		if (!failed) { /* no k-th worker write: the workers made fewer calls */
			CHECK_EQ_INT(rc, 0);
			break;
		}
		tried++;
		CHECK_EQ_INT(rc, PT2C_EIO);
		CHECK_MSG(strstr(err.message, "No space left on device") && strstr(err.message, "model/data/weights/weight_0"),
		          "k=%d: %s", k, err.message);
		CHECK_STR(err.member, "data/weights/weight_0");
		CHECK(err.offset >= 64 && err.offset < 64 + n);
	}
	CHECK_MSG(tried >= 2, "only %d worker writes", tried); /* with 4 threads: at least one worker ran */
	pt2c_program_free(p);
	free(mem);
}

static void test_program_write_failure_leaves_nothing(void)
{
	size_t n = 40u << 20; /* more than one default task (16 MiB) */
	uint8_t *mem = calloc(1, n);
	REQUIRE(mem);
	pt2c_program *p = with_big_weight("mlp_bn", n, &mem);
	REQUIRE(p);
	char dir[512];
	snprintf(dir, sizeof dir, "%s", scratch_path("par_fail"));
	mkdir(dir, 0777);
	char out[600];
	snprintf(out, sizeof out, "%s/out.pt2", dir);
	struct rlimit old;
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead */
	struct rlimit lim = old;
	lim.rlim_cur = 20u << 20; /* inside the weight: a worker's piece fails */
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (unsigned threads = 1; threads <= 4; threads++) {
		pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
		wo.threads = threads;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c_program_write(p, out, &wo, &err);
		CHECK_EQ_INT(rc, PT2C_EIO);
		CHECK_MSG(strstr(err.message, "File too large") != NULL, "%s", err.message);
		DIR *d = opendir(dir);
		REQUIRE(d);
		struct dirent *e;
		int left = 0;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				left++;
		closedir(d);
		CHECK_MSG(left == 0, "%d files left behind with %u threads", left, threads);
	}
	setrlimit(RLIMIT_FSIZE, &old);
	/* and with the limit lifted it is written, equal to the serial bytes */
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c_program_write(p, out, &wo, &err), 0);
	size_t len = 0;
	uint8_t *got = read_file(out, &len);
	pt2c_buf ser;
	pt2c__buf_init(&ser, NULL);
	pt2c_pt2_write_opts so = { "out", NULL, NULL, 0, 0 };
	CHECK_EQ_INT(pt2c__pt2_write(p, pt2c__sink_buf(&ser), &so, &err), 0);
	CHECK(got && len == ser.len && memcmp(got, ser.data, len) == 0);
	free(got);
	pt2c__buf_free(&ser);
	remove(out);
	rmdir(dir);
	pt2c_program_free(p);
	free(mem);
}

/* MARK: > 4 GiB */

/* The serial side: length and CRC-32 of everything written. */
typedef struct crc_sink {
	uint64_t len;
	uint32_t crc;
} crc_sink;

static int crc_sink_write(void *ctx, const void *p, size_t n)
{
	crc_sink *c = ctx;
	c->crc = pt2c__crc32(c->crc, p, n);
	c->len += n;
	return 0;
}

/* The parallel side: writes of 1 MiB or more are kept as (offset, length, CRC), smaller ones as
 * bytes (a later small write may patch an earlier one: the data descriptors). */
typedef struct piece {
	uint64_t off, len;
	uint32_t crc;
	uint8_t *bytes; /* small pieces */
} piece;

typedef struct crc_image {
	pthread_mutex_t mu;
	piece *v;
	size_t n, cap;
	bool bad;
} crc_image;

static int crc_image_pwrite(void *ctx, const void *p, size_t n, uint64_t off)
{
	crc_image *ci = ctx;
	piece pc = { off, n, 0, NULL };
	if (n >= (1u << 20)) {
		pc.crc = pt2c__crc32(0, p, n);
	} else {
		pc.bytes = malloc(n);
		if (!pc.bytes)
			return ENOMEM;
		memcpy(pc.bytes, p, n);
	}
	pthread_mutex_lock(&ci->mu);
	bool patched = false;
	if (pc.bytes) /* a rewrite inside an earlier small piece */
		for (size_t i = 0; i < ci->n && !patched; i++)
			if (ci->v[i].bytes && off >= ci->v[i].off && off + n <= ci->v[i].off + ci->v[i].len) {
				memcpy(ci->v[i].bytes + (off - ci->v[i].off), p, n);
				patched = true;
			}
	if (!patched) {
		if (ci->n == ci->cap) {
			ci->cap = ci->cap ? 2 * ci->cap : 64;
			piece *nv = realloc(ci->v, ci->cap * sizeof *nv);
			if (!nv) {
				ci->bad = true;
				pthread_mutex_unlock(&ci->mu);
				free(pc.bytes);
				return ENOMEM;
			}
			ci->v = nv;
		}
		ci->v[ci->n++] = pc;
	} else {
		free(pc.bytes);
	}
	pthread_mutex_unlock(&ci->mu);
	return 0;
}

static int piece_cmp(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void test_member_over_4gib(void)
{
	uint64_t n = (9ull << 30) / 2; /* 4.5 GiB of zero pages, never touched for writing */
	void *m = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE(m != MAP_FAILED);
	uint8_t *mem = m;
	pt2c_program *p = with_big_weight("mlp_bn", n, &mem);
	REQUIRE(p);
	crc_sink cs = { 0, 0 };
	pt2c_sink sink = { crc_sink_write, &cs };
	pt2c_pt2_write_opts so = { "model", NULL, NULL, 0, 0 };
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__pt2_write(p, sink, &so, &err), 0);
	CHECK(cs.len > n);

	crc_image ci;
	memset(&ci, 0, sizeof ci);
	pthread_mutex_init(&ci.mu, NULL);
	pt2c_pt2_write_opts po = { "model", NULL, NULL, 3, 0 };
	pt2c_psink ps = { crc_image_pwrite, &ci, NULL };
	CHECK_EQ_INT(pt2c__pt2_write_par(p, ps, &po, &err), 0);
	qsort(ci.v, ci.n, sizeof *ci.v, piece_cmp);
	uint64_t at = 0;
	uint32_t crc = 0;
	bool contiguous = !ci.bad;
	for (size_t i = 0; i < ci.n; i++) {
		const piece *pc = &ci.v[i];
		if (pc->off != at)
			contiguous = false;
		uint32_t c = pc->bytes ? pt2c__crc32(0, pc->bytes, (size_t)pc->len) : pc->crc;
		crc = pt2c__crc32_combine(crc, c, pc->len);
		at = pc->off + pc->len;
		free(pc->bytes);
	}
	CHECK_MSG(contiguous, "the pieces leave holes or overlap");
	CHECK_EQ_INT(at, cs.len);
	CHECK_EQ_INT(crc, cs.crc);
	free(ci.v);
	pthread_mutex_destroy(&ci.mu);
	pt2c_program_free(p);
	munmap(m, (size_t)n);
}

/*
 * A program whose models/model.json is some MiB (mlp_bn with 40000 more nodes, each a copy of its
 * first operator on new values): written in parallel it gives the serial bytes, its model.json
 * goes out in large literal pieces whose writeback the writer starts (psink.written) -- most of
 * the member called final, and nothing called final written again.
 */
static void test_large_model_json_written_early(void)
{
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	REQUIRE(pt2c_program_open(&p, shared_path("fixtures/torch-2.11/mlp_bn.pt2"), NULL, &err) == 0);
	pt2c_graph *g = p->mod->graph;
	uint32_t src = PT2C_NONE, out = pt2c__graph_output_node(g);
	PT2C_GRAPH_FOREACH(g, id)
		if (src == PT2C_NONE && g->nodes[id].op == PT2C_OP_CALL_FUNCTION && g->nodes[id].n_outputs == 1 &&
		    pt2c__arg_ref(&g->nodes[id].outputs[0]) != PT2C_NONE)
			src = id;
	REQUIRE(src != PT2C_NONE && out != PT2C_NONE);
	for (int k = 0; k < 40000; k++) {
		const pt2c_node *sn = &g->nodes[src];
		pt2c_value sv = g->values[pt2c__arg_ref(&sn->outputs[0])];
		pt2c_arg o = sn->outputs[0];
		uint32_t id, v;
		REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, sn->name, false, sn->target, out, &id) == 0);
		REQUIRE(pt2c__node_set_inputs(g, id, g->nodes[src].inputs, g->nodes[src].n_inputs) == 0);
		REQUIRE(pt2c__graph_add_value(g, g->nodes[id].name, true, sv.kind, &v) == 0);
		g->values[v].has_meta = sv.has_meta;
		g->values[v].u = sv.u;
		o.u.ref = v;
		REQUIRE(pt2c__node_set_outputs(g, id, &o, 1) == 0);
	}
	pt2c_buf ser;
	pt2c__buf_init(&ser, NULL);
	pt2c_pt2_write_opts so = { "model", NULL, NULL, 0, 0 };
	REQUIRE(pt2c__pt2_write(p, pt2c__sink_buf(&ser), &so, &err) == 0);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, (const uint8_t *)ser.data, ser.len, NULL, NULL, &err) == 0);
	const pt2c_zip_entry *mj = pt2c__zip_find(&z, "model/models/model.json", strlen("model/models/model.json"));
	REQUIRE(mj && mj->size > ((uint64_t)16 << 20));
	for (unsigned threads = 1; threads <= 4; threads *= 2) {
		image im;
		int prc;
		bool ok = write_par(p, "model", threads, 0, &im, &err, &prc);
		CHECK_MSG(ok, "%u threads: %d %s", threads, prc, err.message);
		if (ok) {
			CHECK_MSG(im.len == ser.len && memcmp(im.data, ser.data, ser.len) == 0, "%u threads: other bytes", threads);
			CHECK_EQ_INT(im.rewrites, 0);
			uint64_t in_json = 0; /* bytes of model.json called final */
			for (size_t i = 0; i < im.n_final; i++) {
				uint64_t lo = im.final[i][0], hi = lo + im.final[i][1];
				if (lo < mj->data_off) lo = mj->data_off;
				if (hi > mj->data_off + mj->size) hi = mj->data_off + mj->size;
				in_json += hi > lo ? hi - lo : 0;
			}
			CHECK_MSG(in_json > mj->size / 2, "%u threads: %llu of %llu bytes of model.json called final", threads,
			          (unsigned long long)in_json, (unsigned long long)mj->size);
		}
		image_free(&im);
	}
	pt2c__zip_free(&z);
	pt2c__buf_free(&ser);
	pt2c_program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_crc32_combine);
	RUN(test_same_bytes_as_serial);
	RUN(test_worker_write_failure);
	RUN(test_program_write_failure_leaves_nothing);
	RUN(test_member_over_4gib);
	RUN(test_large_model_json_written_early);
})
