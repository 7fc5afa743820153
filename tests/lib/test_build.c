/*
 * test_build.c -- pt2c_module_build, the in-process door into the exporter: a module.json plus
 * member bytes that the caller supplies (borrowed memory or pull callbacks). Every partitioned
 * fixture is written as a partitioned archive, and its module.json + members are handed to
 * pt2c_module_build: exporting and writing that module must give exactly the bytes of exporting
 * the archive opened from disk (normal and cross-compile), with weights as memory and as pull
 * callbacks. Plus: a callback failing midway (PT2C_EIO naming the member, no output file), every
 * allocation failure (PT2C_ENOMEM, nothing leaked, every release callback called once), misuse
 * (duplicate names, engine as a pull callback, a missing member), and release timing.
 */
#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"
#include "serde/zip.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *const FIXTURES[] = {
	"fixtures/torch-2.11/full_engine_folded.partitioned.json",
	"fixtures/torch-2.11/full_engine_two_outputs.partitioned.json",
	"fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json",
	"fixtures/torch-2.11/no_engine.partitioned.json",
	"fixtures/partitioned/example_hybrid.partitioned.json",
	"fixtures/partitioned/example_hybrid_dynamic.partitioned.json",
};
#define N_FIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

/* An archive made from a fixture, and its members as sources. */
typedef struct parts {
	pt2c_buf arch;
	pt2c_zip z;
	const char *json;
	size_t json_len;
	pt2c_member_source *src;
	char **names;
	size_t n;
} parts;

/* Counts what the callbacks saw, per member. */
typedef struct probe {
	const uint8_t *bytes; /* the member's true bytes */
	uint64_t size;
	uint64_t next;        /* next offset expected */
	int released;
	int fail_at_call;     /* 0: never; k: the k-th call fails */
	int calls;
	bool out_of_order;
	bool off_thread;      /* called on another thread than the test's */
} probe;

static pthread_t test_thread;

static int pull_cb(void *ctx, uint64_t off, void *buf, size_t n)
{
	probe *p = ctx;
	p->calls++;
	if (p->fail_at_call && p->calls == p->fail_at_call) return -1;
	if ((off != p->next && off != 0) || off + n > p->size || n == 0) p->out_of_order = true;
	if (!pthread_equal(pthread_self(), test_thread)) p->off_thread = true; /* pulls stay on the caller's thread */
	if (off + n > p->size) return -1;
	memcpy(buf, p->bytes + off, n);
	p->next = off + n;
	if (p->next == p->size) p->next = 0; /* ready for another write */
	return 0;
}

static void release_cb(void *ctx) { ((probe *)ctx)->released++; }

static void parts_free(parts *pp)
{
	for (size_t k = 0; k < pp->n; k++) free(pp->names[k]);
	free(pp->names);
	free(pp->src);
	pt2c__zip_free(&pp->z);
	pt2c__buf_free(&pp->arch);
}

/* Fixture -> partitioned archive in memory -> module.json and member sources (data views). */
static bool parts_make(parts *pp, const char *fixture, const char *archive_path)
{
	memset(pp, 0, sizeof *pp);
	pt2c__buf_init(&pp->arch, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_module *m = NULL;
	if (pt2c_module_load_json(&m, shared_path(fixture), NULL, &err)) {
		fprintf(stderr, "%s: %s\n", fixture, err.message);
		return false;
	}
	int rc = pt2c__partitioned_archive_write(m, pt2c__sink_buf(&pp->arch), &err);
	pt2c_module_free(m);
	if (rc || pp->arch.err) return false;
	FILE *f = fopen(archive_path, "wb");
	if (!f || fwrite(pp->arch.data, 1, pp->arch.len, f) != pp->arch.len) { if (f) fclose(f); return false; }
	fclose(f);
	if (pt2c__zip_parse(&pp->z, (const uint8_t *)pp->arch.data, pp->arch.len, NULL, NULL, &err)) return false;
	pp->src = calloc(pp->z.n, sizeof *pp->src);
	pp->names = calloc(pp->z.n, sizeof *pp->names);
	if (!pp->src || !pp->names) return false;
	const char *root = "partitioned/";
	size_t rl = strlen(root);
	for (uint32_t k = 0; k < pp->z.n; k++) {
		const pt2c_zip_entry *e = &pp->z.entries[k];
		if (e->name_len <= rl || memcmp(e->name, root, rl) != 0) return false;
		const char *rel = e->name + rl;
		size_t rn = e->name_len - rl;
		const uint8_t *d = pt2c__zip_data(&pp->z, e);
		if (rn == 11 && memcmp(rel, "module.json", 11) == 0) {
			pp->json = (const char *)d;
			pp->json_len = (size_t)e->size;
			continue;
		}
		if (!(rn > 8 && (memcmp(rel, "weights/", 8) == 0 || memcmp(rel, "engines/", 8) == 0))) continue;
		char *name = malloc(rn + 1);
		if (!name) return false;
		memcpy(name, rel, rn);
		name[rn] = 0;
		pp->names[pp->n] = name;
		pp->src[pp->n] = (pt2c_member_source){ name, d, e->size, NULL, NULL, NULL };
		pp->n++;
	}
	return pp->json != NULL;
}

static uint8_t *export_to(pt2c_module *m, bool cross, const char *path, size_t *len, pt2c_error *err)
{
	pt2c_program *p = NULL;
	pt2c_export_options o = PT2C_EXPORT_OPTIONS_INIT;
	o.cross_compile = cross;
	if (pt2c_export(&p, &m, &o, err)) return NULL;
	int rc = pt2c_program_write(p, path, NULL, err);
	pt2c_program_free(p);
	return rc ? NULL : read_file(path, len);
}

static void mkdirs(void)
{
	mkdir(scratch_path("build_a"), 0755);
	mkdir(scratch_path("build_b"), 0755);
}

/* Number of entries of dir whose name contains ".tmp." (leftover temporaries). */
static int count_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp.")) n++;
	closedir(d);
	return n;
}

/* One writer, two doors: open(archive) vs build(module.json, members), memory and pull. */
static void test_same_bytes_as_archive(void)
{
	mkdirs();
	for (size_t f = 0; f < N_FIXTURES; f++) {
		for (int cross = 0; cross < 2; cross++) {
			parts pp;
			const char *apath = scratch_path("build_a/m.pt2c-partitioned");
			if (!parts_make(&pp, FIXTURES[f], apath)) {
				CHECK_MSG(false, "%s: could not make its archive", FIXTURES[f]);
				parts_free(&pp);
				continue;
			}
			pt2c_error err = PT2C_ERROR_INIT;
			pt2c_module *ma = NULL, *mb = NULL, *mc = NULL;
			size_t la = 0, lb = 0, lc = 0;
			uint8_t *a = NULL, *b = NULL, *c = NULL;
			if (pt2c_module_open(&ma, apath, NULL, &err) == 0)
				a = export_to(ma, cross, scratch_path("build_a/out.pt2"), &la, &err);
			CHECK_MSG(a, "%s: archive door: %s", FIXTURES[f], err.message);
			if (pt2c_module_build(&mb, pp.json, pp.json_len, pp.src, pp.n, NULL, &err) == 0)
				b = export_to(mb, cross, scratch_path("build_b/out.pt2"), &lb, &err);
			CHECK_MSG(b, "%s: build door: %s", FIXTURES[f], err.message);
			CHECK_MSG(a && b && la == lb && memcmp(a, b, la) == 0, "%s (cross %d): build output differs from archive export",
			          FIXTURES[f], cross);
			/* the same with every weight pulled through a callback */
			probe *pr = calloc(pp.n ? pp.n : 1, sizeof *pr);
			REQUIRE(pr);
			size_t n_pull = 0;
			for (size_t k = 0; k < pp.n; k++) {
				pr[k] = (probe){ pp.src[k].data, pp.src[k].size, 0, 0, 0, 0, false, false };
				pp.src[k].release = release_cb;
				pp.src[k].ctx = &pr[k];
				if (memcmp(pp.src[k].name, "weights/", 8) == 0 && pp.src[k].size) {
					pp.src[k].data = NULL;
					pp.src[k].pull = pull_cb;
					n_pull++;
				}
			}
			if (pt2c_module_build(&mc, pp.json, pp.json_len, pp.src, pp.n, NULL, &err) == 0)
				c = export_to(mc, cross, scratch_path("build_b/out.pt2"), &lc, &err);
			CHECK_MSG(c, "%s: pull door: %s", FIXTURES[f], err.message);
			CHECK_MSG(a && c && la == lc && memcmp(a, c, la) == 0, "%s (cross %d): pulled output differs", FIXTURES[f], cross);
			for (size_t k = 0; k < pp.n; k++) {
				CHECK_EQ_INT(pr[k].released, 1); /* program freed: every member released once */
				CHECK(!pr[k].out_of_order);
				if (pp.src[k].pull) CHECK(pr[k].calls >= 1 && !pr[k].off_thread);
			}
			if (f == 2) CHECK(n_pull > 0); /* hybrid_gated_fallback has weights */
			free(pr);
			free(a);
			free(b);
			free(c);
			parts_free(&pp);
		}
	}
}

/* A callback that fails midway: PT2C_EIO naming the member and offset, no file, no temporary. */
static void test_pull_failure_leaves_nothing(void)
{
	mkdirs();
	parts pp;
	REQUIRE(parts_make(&pp, FIXTURES[2], scratch_path("build_a/m.pt2c-partitioned")));
	probe pr[64];
	REQUIRE(pp.n <= 64);
	size_t victim = SIZE_MAX;
	for (size_t k = 0; k < pp.n; k++) {
		pr[k] = (probe){ pp.src[k].data, pp.src[k].size, 0, 0, 0, 0, false, false };
		pp.src[k].ctx = &pr[k];
		pp.src[k].release = release_cb;
		if (memcmp(pp.src[k].name, "weights/", 8) == 0 && pp.src[k].size && victim == SIZE_MAX) {
			victim = k;
			pp.src[k].data = NULL;
			pp.src[k].pull = pull_cb;
		}
	}
	REQUIRE(victim != SIZE_MAX);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_module *m = NULL;
	REQUIRE(pt2c_module_build(&m, pp.json, pp.json_len, pp.src, pp.n, NULL, &err) == 0);
	pt2c_program *p = NULL;
	REQUIRE(pt2c_export(&p, &m, NULL, &err) == 0);
	pr[victim].fail_at_call = pr[victim].calls + 1; /* the first call made by the writer */
	const char *out = scratch_path("build_b/failing.pt2");
	remove(out);
	int rc = pt2c_program_write(p, out, NULL, &err);
	CHECK_EQ_INT(rc, PT2C_EIO);
	CHECK(strstr(err.message, "data source") != NULL);
	CHECK(strstr(err.member, "data/weights/weight_") != NULL);
	CHECK_EQ_INT(err.offset, 0);
	CHECK(!file_exists(out));
	CHECK_EQ_INT(count_tmp(scratch_path("build_b")), 0);
	/* the second attempt gets past that call: the source is asked again from offset 0 */
	pr[victim].next = 0;
	CHECK_EQ_INT(pt2c_program_write(p, out, NULL, &err), 0);
	CHECK(file_exists(out));
	CHECK_EQ_INT(pr[victim].released, 0); /* still held by the program */
	pt2c_program_free(p);
	for (size_t k = 0; k < pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	parts_free(&pp);
}

/* Every allocation failure in pt2c_module_build: ENOMEM, nothing leaked, releases exactly once. */
static void test_build_oom(void)
{
	mkdirs();
	parts pp;
	REQUIRE(parts_make(&pp, FIXTURES[2], scratch_path("build_a/m.pt2c-partitioned")));
	probe pr[64];
	REQUIRE(pp.n <= 64);
	bool done = false;
	int failures = 0;
	for (long k = 0; k < 100000 && !done; k++) {
		for (size_t j = 0; j < pp.n; j++) {
			pr[j] = (probe){ pp.src[j].data, pp.src[j].size, 0, 0, 0, 0, false, false };
			pp.src[j].ctx = &pr[j];
			pp.src[j].release = release_cb;
		}
		test_alloc fa; /* the harness's failing allocator */
		test_alloc_init(&fa);
		fa.fail_all = true; /* every allocation after the first failure fails too */
		test_alloc_arm(&fa, k);
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_module *m = NULL;
		int rc = pt2c_module_build(&m, pp.json, pp.json_len, pp.src, pp.n, &fa.a, &err);
		test_alloc_disarm(&fa);
		if (rc == 0) {
			done = true;
			CHECK(m != NULL);
			pt2c_module_free(m);
		} else {
			failures++;
			CHECK_EQ_INT(rc, PT2C_ENOMEM);
			CHECK(m == NULL);
		}
		CHECK_EQ_INT(fa.live, 0);
		for (size_t j = 0; j < pp.n; j++) CHECK_EQ_INT(pr[j].released, 1);
	}
	CHECK(done);
	CHECK(failures > 10);
	parts_free(&pp);
}

/* Misuse: clear codes, every release callback still called once. */
static void test_build_errors(void)
{
	mkdirs();
	parts pp;
	REQUIRE(parts_make(&pp, FIXTURES[0], scratch_path("build_a/m.pt2c-partitioned")));
	REQUIRE(pp.n >= 1);
	probe pr[64];
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_module *m = NULL;
	pt2c_member_source *s = calloc(pp.n + 1, sizeof *s);
	REQUIRE(s);
	/* the engine as a pull callback */
	size_t eng = SIZE_MAX;
	for (size_t k = 0; k < pp.n; k++) {
		s[k] = pp.src[k];
		pr[k] = (probe){ s[k].data, s[k].size, 0, 0, 0, 0, false, false };
		s[k].ctx = &pr[k];
		s[k].release = release_cb;
		if (memcmp(s[k].name, "engines/", 8) == 0) eng = k;
	}
	REQUIRE(eng != SIZE_MAX);
	s[eng].data = NULL;
	s[eng].pull = pull_cb;
	CHECK_EQ_INT(pt2c_module_build(&m, pp.json, pp.json_len, s, pp.n, NULL, &err), PT2C_EUNSUPPORTED);
	CHECK(strstr(err.message, "pull callback") != NULL);
	CHECK(strstr(err.member, "module.json:") == err.member);
	for (size_t k = 0; k < pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	/* a duplicate name */
	for (size_t k = 0; k < pp.n; k++) { s[k] = pp.src[k]; pr[k].released = 0; s[k].ctx = &pr[k]; s[k].release = release_cb; }
	s[pp.n] = s[0];
	pr[pp.n] = pr[0];
	s[pp.n].ctx = &pr[pp.n];
	pr[pp.n].released = 0;
	CHECK_EQ_INT(pt2c_module_build(&m, pp.json, pp.json_len, s, pp.n + 1, NULL, &err), PT2C_EINVALID);
	CHECK(strstr(err.message, "two members") != NULL);
	for (size_t k = 0; k <= pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	/* a member the JSON names is missing */
	for (size_t k = 0; k < pp.n; k++) { s[k] = pp.src[k]; pr[k].released = 0; s[k].ctx = &pr[k]; s[k].release = release_cb; }
	CHECK_EQ_INT(pt2c_module_build(&m, pp.json, pp.json_len, s, pp.n - 1, NULL, &err), PT2C_ECORRUPT);
	CHECK(strstr(err.message, "does not exist") != NULL);
	for (size_t k = 0; k + 1 < pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	CHECK_EQ_INT(pr[pp.n - 1].released, 0); /* not passed in: not ours */
	/* data and pull at once; no bytes at all */
	for (size_t k = 0; k < pp.n; k++) { s[k] = pp.src[k]; pr[k].released = 0; s[k].ctx = &pr[k]; s[k].release = release_cb; }
	s[0].pull = pull_cb;
	CHECK_EQ_INT(pt2c_module_build(&m, pp.json, pp.json_len, s, pp.n, NULL, &err), PT2C_EINVALID);
	for (size_t k = 0; k < pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	CHECK(m == NULL);
	/* an unused member is released before the call returns; a used one when the module goes */
	for (size_t k = 0; k < pp.n; k++) { s[k] = pp.src[k]; pr[k].released = 0; s[k].ctx = &pr[k]; s[k].release = release_cb; }
	static const char extra_bytes[] = "unused";
	probe extra = { 0 };
	s[pp.n] = (pt2c_member_source){ "weights/unused", extra_bytes, 6, NULL, release_cb, &extra };
	REQUIRE(pt2c_module_build(&m, pp.json, pp.json_len, s, pp.n + 1, NULL, &err) == 0);
	CHECK_EQ_INT(extra.released, 1);
	for (size_t k = 0; k < pp.n; k++) CHECK_EQ_INT(pr[k].released, 0);
	pt2c_module_free(m);
	for (size_t k = 0; k < pp.n; k++) CHECK_EQ_INT(pr[k].released, 1);
	free(s);
	parts_free(&pp);
}

PT2C_TEST_MAIN({
	test_thread = pthread_self();
	RUN(test_same_bytes_as_archive);
	RUN(test_pull_failure_leaves_nothing);
	RUN(test_build_oom);
	RUN(test_build_errors);
})
