/*
 * test_api_oom.c -- issue 11 #1/#5: every public call that allocates, run with the N-th
 * allocation failing for N = 0, 1, ... until a run makes no failed allocation (the harness's
 * test_oom_state_unchanged and its one failing allocator). Each failure must come back as
 * PT2C_ENOMEM (the error filled with that code where the call takes one), the object the call
 * was made on must show exactly as before (module printout; program printout, summary JSON,
 * engine records, extra files and the bytes pt2c_program_write gives), outputs must be NULL,
 * and nothing may leak (live blocks counted). pt2c_export consumes its module on failure too
 * (documented): there the module must be gone and no program made.
 *
 * The module passes are also run over every fixture in tests/export/test_atomic.c; here each
 * public function appears at least once. With PT2C_OOM_SITES=FILE the harness records the call
 * stack of every refused allocation (tools/oom_sites.py counts the distinct source sites).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"
#include "serde/zip.h"
#include "util/util.h"

#define FIX(x) "fixtures/torch-2.11/" x
#define HYBRID_JSON FIX("hybrid_gated_fallback.partitioned.json")
#define HYBRID_NORMAL FIX("hybrid_gated_fallback.normal.pt2")
#define HYBRID_CROSS FIX("hybrid_gated_fallback.cross.pt2")
#define TENSOR_ENGINE "tests/generations/data/hybrid_gated_fallback.tensor_engine.2_13.pt2" /* under the source tree */

static long total_points;

/* MARK: state printouts */

/* Append a hand-out string (freed here) or a marker when the call failed. */
static void put_text(pt2c_buf *b, const char *what, int rc, char *text, size_t len)
{
	pt2c__buf_printf(b, "--- %s (%d)\n", what, rc);
	if (!rc)
		pt2c__buf_put(b, text, len);
	pt2c_free(text);
}

static char *take(pt2c_buf *b)
{
	char *out = NULL;
	if (!b->err) {
		out = malloc(b->len + 1);
		if (out) {
			memcpy(out, b->data, b->len);
			out[b->len] = 0;
		}
	}
	pt2c__buf_free(b);
	return out;
}

static void show_module(pt2c_buf *b, const pt2c_module *m)
{
	char *text = NULL;
	size_t len = 0;
	int rc = pt2c_module_print(m, &text, &len);
	put_text(b, "module", rc, text, len);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* Everything a program shows: its listing, summary, engines, extra files and written bytes. */
static void show_program(pt2c_buf *b, const pt2c_program *p, bool light)
{
	char *text = NULL;
	size_t len = 0;
	int rc = pt2c_program_print(p, &text, &len);
	put_text(b, "program", rc, text, len);
	if (light)
		return;
	rc = pt2c_program_summary(p, 1, &text, &len);
	put_text(b, "summary", rc, text, len);
	size_t ne = pt2c_program_engine_count(p);
	for (size_t i = 0; i < ne; i++) {
		rc = pt2c_program_engine_record_json(p, i, &text, &len);
		put_text(b, "engine", rc, text, len);
	}
	size_t nx = pt2c_program_extra_file_count(p);
	for (size_t i = 0; i < nx; i++) {
		const char *name = NULL;
		const uint8_t *data = NULL;
		if (pt2c_program_extra_file(p, i, &name, &data, &len) == 0)
			pt2c__buf_printf(b, "extra %s %zu %016llx\n", name, len, (unsigned long long)fnv(data, len));
	}
	const char *path = scratch_path("api_oom_show.pt2");
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	wo.threads = 1;
	pt2c_error err = PT2C_ERROR_INIT;
	rc = pt2c_program_write(p, path, &wo, &err);
	uint8_t *bytes = rc ? NULL : read_file(path, &len);
	pt2c__buf_printf(b, "--- written (%d) %zu %016llx\n", rc, bytes ? len : 0,
	                 (unsigned long long)(bytes ? fnv(bytes, len) : 0));
	free(bytes);
	remove(path);
}

/* MARK: the cases */

struct holder;
static int c_export(struct holder *h, pt2c_error *err);
static int c_export_cross(struct holder *h, pt2c_error *err);

typedef struct holder {
	const struct api_case *c;
	const pt2c_allocator *a;
	pt2c_module *m;
	pt2c_program *p;
} holder;

typedef struct api_case {
	const char *name;
	const char *fixture;   /* under ../shared, or the source tree for TENSOR_ENGINE */
	int start;             /* START_* */
	int (*call)(holder *h, pt2c_error *err); /* the public call under test */
	const char *arg;       /* a string argument for it (target, extra file name) */
	int light;             /* show only the program listing: summary and records would make the
	                          strings the call interns before it runs */
} api_case;

enum { START_NOTHING, START_MODULE, START_PROGRAM };

static uint8_t *archive_bytes; /* a partitioned archive of HYBRID_JSON, made once */
static size_t archive_len;
static char archive_path[4096];
static const char *written_path(void) { return scratch_path("api_oom_out.pt2"); }

static const char *fixture_path(const char *f)
{
	if (strncmp(f, "tests/", 6) == 0) {
		static char buf[4096];
		const char *src = getenv("PT2C_SOURCE");
		snprintf(buf, sizeof buf, "%s/%s", src ? src : "../..", f);
		return buf;
	}
	return shared_path(f);
}

static void *setup(void *ctx, const pt2c_allocator *a)
{
	const api_case *c = ctx;
	holder *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->c = c;
	h->a = a;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = 0;
	if (c->start == START_MODULE) {
		rc = pt2c_module_load_json(&h->m, fixture_path(c->fixture), a, &err);
	} else if (c->start == START_PROGRAM) {
		pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
		ro.alloc = a;
		rc = pt2c_program_open(&h->p, fixture_path(c->fixture), &ro, &err);
	}
	if (rc) {
		fprintf(stderr, "%s: setup: %s\n", c->name, err.message);
		free(h);
		return NULL;
	}
	return h;
}

static int step(void *ctx, void *state)
{
	const api_case *c = ctx;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = c->call(state, &err);
	if (rc && err.code && err.code != rc) {
		fprintf(stderr, "%s: returned %d, err says %d (%s)\n", c->name, rc, err.code, err.message);
		return PT2C_EINVALID;
	}
	if (rc == PT2C_ENOMEM && file_exists(written_path())) {
		fprintf(stderr, "%s: a failed call left its output file\n", c->name);
		return PT2C_EINVALID;
	}
	return rc;
}

static char *show(void *ctx, void *state)
{
	(void)ctx;
	holder *h = state;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	bool exporting = h->c->call == c_export || h->c->call == c_export_cross; /* the module goes either way */
	if (h->m && !exporting)
		show_module(&b, h->m);
	if (h->p)
		show_program(&b, h->p, h->c->light);
	if (!b.len)
		pt2c__buf_puts(&b, "nothing\n");
	if (file_exists(written_path())) {
		size_t len = 0;
		uint8_t *bytes = read_file(written_path(), &len);
		pt2c__buf_printf(&b, "output file %zu %016llx\n", len, (unsigned long long)(bytes ? fnv(bytes, len) : 0));
		free(bytes);
	}
	return take(&b);
}

static void teardown(void *ctx, void *state)
{
	(void)ctx;
	holder *h = state;
	pt2c_module_free(h->m);
	pt2c_program_free(h->p);
	remove(written_path());
	free(h);
}

/* A hand-out call: on failure *out must stay NULL; the result is dropped (the state shows it). */
#define HAND_OUT(call_expr) do { \
	char *out_ = (char *)1; size_t len_ = 0; \
	int rc_ = (call_expr); \
	if (rc_ && out_ != NULL) return PT2C_EINVALID; \
	pt2c_free(out_); \
	return rc_; \
} while (0)

/* MARK: making objects */

static int c_parse_json(holder *h, pt2c_error *err)
{
	size_t len = 0;
	char *json = (char *)read_file(fixture_path(h->c->fixture), &len);
	if (!json) return PT2C_EIO;
	int rc = pt2c_module_parse_json(&h->m, json, len, h->a, err);
	free(json);
	return rc;
}
static int c_load_json(holder *h, pt2c_error *err) { return pt2c_module_load_json(&h->m, fixture_path(h->c->fixture), h->a, err); }
static int c_module_open(holder *h, pt2c_error *err) { return pt2c_module_open(&h->m, fixture_path(h->c->fixture), h->a, err); }
static int c_module_open_archive(holder *h, pt2c_error *err) { return pt2c_module_open(&h->m, archive_path, h->a, err); }

static int released;
static void count_release(void *ctx) { (void)ctx; released++; }

static int c_module_build(holder *h, pt2c_error *err)
{
	pt2c_zip z;
	if (pt2c__zip_parse(&z, archive_bytes, archive_len, NULL, NULL, NULL)) return PT2C_EINVALID;
	pt2c_member_source src[64];
	size_t n = 0;
	const char *json = NULL;
	size_t json_len = 0;
	static char names[64][256];
	for (uint32_t k = 0; k < z.n && n < 64; k++) {
		const pt2c_zip_entry *e = &z.entries[k];
		const char *rel = memchr(e->name, '/', e->name_len);
		if (!rel) continue;
		rel++;
		size_t rn = e->name_len - (size_t)(rel - e->name);
		if (rn == 11 && !memcmp(rel, "module.json", 11)) {
			json = (const char *)pt2c__zip_data(&z, e);
			json_len = (size_t)e->size;
		} else if (rn > 8 && rn < 255 && (!memcmp(rel, "weights/", 8) || !memcmp(rel, "engines/", 8))) {
			snprintf(names[n], sizeof names[n], "%.*s", (int)rn, rel);
			src[n] = (pt2c_member_source){ names[n], pt2c__zip_data(&z, e), e->size, NULL, count_release, NULL };
			n++;
		}
	}
	released = 0;
	int rc = pt2c_module_build(&h->m, json, json_len, src, n, h->a, err);
	pt2c__zip_free(&z);
	if (rc && released != (int)n) {
		fprintf(stderr, "module build failed (%d) with %d of %zu members released\n", rc, released, n);
		return PT2C_EINVALID;
	}
	return rc;
}

static int c_program_open(holder *h, pt2c_error *err)
{
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = h->a;
	ro.flags = PT2C_READ_VERIFY_CRC;
	return pt2c_program_open(&h->p, fixture_path(h->c->fixture), &ro, err);
}

static int c_program_open_fd(holder *h, pt2c_error *err)
{
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = h->a;
	int fd = open(fixture_path(h->c->fixture), O_RDONLY);
	if (fd < 0) return PT2C_EIO;
	int rc = pt2c_program_open_fd(&h->p, fd, &ro, err);
	close(fd);
	return rc;
}

static uint8_t *parse_bytes; /* the bytes pt2c_program_parse borrows: they outlive the program */
static size_t parse_len;
static int c_program_parse(holder *h, pt2c_error *err)
{
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = h->a;
	return pt2c_program_parse(&h->p, parse_bytes, parse_len, &ro, err);
}

static int c_archive_list(holder *h, pt2c_error *err)
{
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = h->a;
	HAND_OUT(pt2c_archive_list(fixture_path(h->c->fixture), &ro, &out_, &len_, err));
}

static int export_with(holder *h, int cross, const char *target, pt2c_error *err)
{
	pt2c_export_options eo = PT2C_EXPORT_OPTIONS_INIT;
	eo.cross_compile = cross;
	eo.target = target;
	int rc = pt2c_export(&h->p, &h->m, &eo, err);
	if (h->m) return PT2C_EINVALID; /* consumed on success and on failure */
	if (rc && h->p) return PT2C_EINVALID;
	return rc;
}
static int c_export(holder *h, pt2c_error *err) { return export_with(h, 0, h->c->arg, err); }
static int c_export_cross(holder *h, pt2c_error *err) { return export_with(h, 1, h->c->arg, err); }

/* MARK: module calls */

static int c_inline_engines(holder *h, pt2c_error *err) { return pt2c_module_inline_engines(h->m, 0, err); }
static int c_inline_engines_cross(holder *h, pt2c_error *err) { return pt2c_module_inline_engines(h->m, 1, err); }
static int c_inline_fallbacks(holder *h, pt2c_error *err) { return pt2c_module_inline_fallbacks(h->m, err); }
static int c_remove_unused(holder *h, pt2c_error *err)
{
	/* after the inlining passes (run without failures: allocation k counts from the first call) */
	return pt2c_module_remove_unused_submodules(h->m, err);
}
static int c_dce(holder *h, pt2c_error *err) { return pt2c_module_eliminate_dead_code(h->m, err); }
static int c_module_lint(holder *h, pt2c_error *err) { return pt2c_module_lint(h->m, err); }
static int c_module_print(holder *h, pt2c_error *err) { (void)err; HAND_OUT(pt2c_module_print(h->m, &out_, &len_)); }

/* MARK: program calls */

static int c_program_write(holder *h, pt2c_error *err)
{
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	wo.threads = 1; /* the test allocator counts on one thread */
	return pt2c_program_write(h->p, written_path(), &wo, err);
}
static int c_program_write_par(holder *h, pt2c_error *err)
{
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	wo.threads = 3; /* the parallel writer: its allocations are made on the calling thread */
	return pt2c_program_write(h->p, written_path(), &wo, err);
}
static int c_set_target(holder *h, pt2c_error *err) { return pt2c_program_set_target(h->p, h->c->arg, err); }
static int c_resolve_cross(holder *h, pt2c_error *err) { return pt2c_program_resolve_cross(h->p, err); }
static int c_program_lint(holder *h, pt2c_error *err) { return pt2c_program_lint(h->p, err); }
static int c_set_extra(holder *h, pt2c_error *err)
{
	static const char text[] = "{\"note\": \"pt2c\"}";
	return pt2c_program_set_extra_file(h->p, h->c->arg, text, sizeof text - 1, err);
}
static int c_set_extra_twice(holder *h, pt2c_error *err)
{
	/* replace: the second call on a name that exists (the first one, unarmed, is in setup's place) */
	static const char text[] = "second";
	return pt2c_program_set_extra_file(h->p, h->c->arg, text, sizeof text - 1, err);
}
static int c_remove_extra(holder *h, pt2c_error *err)
{
	int rc = pt2c_program_remove_extra_file(h->p, h->c->arg, err);
	return rc == PT2C_ENOTFOUND ? 0 : rc;
}
static int c_program_print(holder *h, pt2c_error *err) { (void)err; HAND_OUT(pt2c_program_print(h->p, &out_, &len_)); }
static int c_summary_text(holder *h, pt2c_error *err) { (void)err; HAND_OUT(pt2c_program_summary(h->p, 0, &out_, &len_)); }
static int c_summary_json(holder *h, pt2c_error *err) { (void)err; HAND_OUT(pt2c_program_summary(h->p, 1, &out_, &len_)); }
static int c_engine_info(holder *h, pt2c_error *err)
{
	(void)err;
	size_t n = pt2c_program_engine_count(h->p);
	for (size_t i = 0; i < n; i++) {
		pt2c_engine_info info;
		memset(&info, 0x5a, sizeof info);
		pt2c_engine_info untouched = info;
		int rc = pt2c_program_engine_info(h->p, i, &info);
		if (rc) return memcmp(&info, &untouched, sizeof info) ? PT2C_EINVALID : rc;
		if (!info.name || !info.device || !info.platform || !info.owner) return PT2C_EINVALID;
	}
	return 0;
}
static int c_engine_bytes(holder *h, pt2c_error *err)
{
	size_t n = pt2c_program_engine_count(h->p);
	for (size_t i = 0; i < n; i++) {
		uint8_t *out = (uint8_t *)1;
		size_t len = 1;
		int rc = pt2c_program_engine_bytes(h->p, i, &out, &len, err);
		if (rc) return out || len ? PT2C_EINVALID : rc;
		/* the same bytes into the caller's buffer; one byte short: refused, nothing written, size told */
		/* (a tensor engine is read through allocations: ENOMEM is passed on) */
		pt2c_engine_info info;
		uint8_t *into = malloc(len + 1);
		size_t got = 0;
		int bad = !into;
		if (!bad && (rc = pt2c_program_engine_info(h->p, i, &info)) == 0)
			bad = info.engine_bytes != len;
		if (!bad && !rc) { /* the size alone: no buffer */
			rc = pt2c_program_engine_bytes_into(h->p, i, NULL, 0, &got, NULL);
			bad = rc != PT2C_ENOMEM && (rc != (len ? PT2C_EINVALID : 0) || got != len);
			rc = rc == PT2C_ENOMEM ? rc : 0;
		}
		if (!bad && !rc && len) {
			memset(into, 0x5A, len + 1);
			rc = pt2c_program_engine_bytes_into(h->p, i, into, len - 1, &got, NULL);
			bad = rc != PT2C_ENOMEM && (rc != PT2C_EINVALID || got != len || into[0] != 0x5A);
			rc = rc == PT2C_ENOMEM ? rc : 0;
		}
		if (!bad && !rc) {
			rc = pt2c_program_engine_bytes_into(h->p, i, into, len + 1, &got, err);
			bad = rc == 0 && (got != len || (len && memcmp(into, out, len) != 0) || into[len] != 0x5A);
		}
		free(into);
		pt2c_free(out);
		if (bad) return PT2C_EINVALID;
		if (rc) return rc;
	}
	return 0;
}
static int c_engine_record_json(holder *h, pt2c_error *err)
{
	(void)err;
	size_t n = pt2c_program_engine_count(h->p);
	for (size_t i = 0; i < n; i++) {
		char *out_ = (char *)1;
		size_t len_ = 0;
		int rc = pt2c_program_engine_record_json(h->p, i, &out_, &len_);
		if (rc) return out_ ? PT2C_EINVALID : rc;
		pt2c_free(out_);
	}
	return 0;
}

/* MARK: the table */

static const api_case CASES[] = {
	/* objects made */
	{ "module_parse_json", HYBRID_JSON, START_NOTHING, c_parse_json, NULL, 0 },
	{ "module_parse_json dynamic", "fixtures/partitioned/example_hybrid_dynamic.partitioned.json", START_NOTHING, c_parse_json, NULL, 0 },
	{ "module_load_json", HYBRID_JSON, START_NOTHING, c_load_json, NULL, 0 },
	{ "module_open json", HYBRID_JSON, START_NOTHING, c_module_open, NULL, 0 },
	{ "module_open archive", HYBRID_JSON, START_NOTHING, c_module_open_archive, NULL, 0 },
	{ "module_build", HYBRID_JSON, START_NOTHING, c_module_build, NULL, 0 },
	{ "program_open normal", HYBRID_NORMAL, START_NOTHING, c_program_open, NULL, 0 },
	{ "program_open cross", HYBRID_CROSS, START_NOTHING, c_program_open, NULL, 0 },
	{ "program_open dynamic", FIX("dyn_batch.pt2"), START_NOTHING, c_program_open, NULL, 0 },
	{ "program_open tensor engine", TENSOR_ENGINE, START_NOTHING, c_program_open, NULL, 0 },
	{ "program_open_fd", HYBRID_NORMAL, START_NOTHING, c_program_open_fd, NULL, 0 },
	{ "program_parse", HYBRID_CROSS, START_NOTHING, c_program_parse, NULL, 0 },
	{ "archive_list", HYBRID_NORMAL, START_NOTHING, c_archive_list, NULL, 0 },
	{ "export", HYBRID_JSON, START_MODULE, c_export, NULL, 0 },
	{ "export cross", HYBRID_JSON, START_MODULE, c_export_cross, NULL, 0 },
	{ "export 2.13", HYBRID_JSON, START_MODULE, c_export, "2.13", 0 },
	{ "export cross 2.13", HYBRID_JSON, START_MODULE, c_export_cross, "2.13", 0 },
	/* modules */
	{ "module_inline_engines", HYBRID_JSON, START_MODULE, c_inline_engines, NULL, 0 },
	{ "module_inline_engines cross", HYBRID_JSON, START_MODULE, c_inline_engines_cross, NULL, 0 },
	{ "module_inline_fallbacks", HYBRID_JSON, START_MODULE, c_inline_fallbacks, NULL, 0 },
	{ "module_remove_unused_submodules", HYBRID_JSON, START_MODULE, c_remove_unused, NULL, 0 },
	{ "module_eliminate_dead_code", HYBRID_JSON, START_MODULE, c_dce, NULL, 0 },
	{ "module_lint", HYBRID_JSON, START_MODULE, c_module_lint, NULL, 0 },
	{ "module_print", HYBRID_JSON, START_MODULE, c_module_print, NULL, 0 },
	{ "module_print dynamic", "fixtures/partitioned/example_hybrid_dynamic.partitioned.json", START_MODULE, c_module_print, NULL, 0 },
	/* programs */
	{ "program_write", HYBRID_NORMAL, START_PROGRAM, c_program_write, NULL, 0 },
	{ "program_write cross", HYBRID_CROSS, START_PROGRAM, c_program_write, NULL, 0 },
	{ "program_write 3 threads", HYBRID_NORMAL, START_PROGRAM, c_program_write_par, NULL, 0 },
	{ "program_write 3 threads cross", HYBRID_CROSS, START_PROGRAM, c_program_write_par, NULL, 0 },
	{ "program_write 2.13", HYBRID_NORMAL, START_PROGRAM, c_program_write, "2.13", 0 },
	{ "program_write cross 2.13", HYBRID_CROSS, START_PROGRAM, c_program_write, "2.13", 0 },
	{ "program_write tensor engine", TENSOR_ENGINE, START_PROGRAM, c_program_write, NULL, 0 },
	{ "program_write tensor engine 2.12", TENSOR_ENGINE, START_PROGRAM, c_program_write, "2.12", 0 },
	{ "program_set_target 2.13", HYBRID_NORMAL, START_PROGRAM, c_set_target, "2.13", 0 },
	{ "program_set_target head", HYBRID_NORMAL, START_PROGRAM, c_set_target, "head", 0 },
	{ "program_set_target cross 2.13", HYBRID_CROSS, START_PROGRAM, c_set_target, "2.13", 0 },
	{ "program_set_target cross 2.7", HYBRID_CROSS, START_PROGRAM, c_set_target, "2.7", 0 },
	{ "program_set_target cross head", HYBRID_CROSS, START_PROGRAM, c_set_target, "head", 0 },
	{ "program_set_target two engines head", FIX("full_engine_two_outputs.normal.pt2"), START_PROGRAM, c_set_target, "head", 0 },
	{ "program_set_target folded cross 2.12", FIX("full_engine_folded.cross.pt2"), START_PROGRAM, c_set_target, "2.12", 0 },
	{ "program_set_target tensor engine 2.12", TENSOR_ENGINE, START_PROGRAM, c_set_target, "2.12", 0 },
	{ "program_resolve_cross", HYBRID_CROSS, START_PROGRAM, c_resolve_cross, NULL, 0 },
	{ "program_resolve_cross tensor engine", TENSOR_ENGINE, START_PROGRAM, c_resolve_cross, NULL, 0 },
	{ "program_lint", HYBRID_NORMAL, START_PROGRAM, c_program_lint, NULL, 0 },
	{ "program_set_extra_file", HYBRID_NORMAL, START_PROGRAM, c_set_extra, "notes.json", 0 },
	{ "program_set_extra_file replace", HYBRID_NORMAL, START_PROGRAM, c_set_extra_twice, "notes.json", 0 },
	{ "program_remove_extra_file", HYBRID_NORMAL, START_PROGRAM, c_remove_extra, "notes.json", 0 },
	{ "program_print", HYBRID_NORMAL, START_PROGRAM, c_program_print, NULL, 0 },
	{ "program_print dynamic", FIX("dyn_batch.pt2"), START_PROGRAM, c_program_print, NULL, 0 },
	{ "program_summary", HYBRID_CROSS, START_PROGRAM, c_summary_text, NULL, 1 },
	{ "program_summary json", HYBRID_CROSS, START_PROGRAM, c_summary_json, NULL, 1 },
	{ "program_engine_info", HYBRID_CROSS, START_PROGRAM, c_engine_info, NULL, 1 },
	{ "program_engine_info tensor engine", TENSOR_ENGINE, START_PROGRAM, c_engine_info, NULL, 1 },
	{ "program_engine_bytes", HYBRID_NORMAL, START_PROGRAM, c_engine_bytes, NULL, 0 },
	{ "program_engine_bytes cross", HYBRID_CROSS, START_PROGRAM, c_engine_bytes, NULL, 0 },
	{ "program_engine_bytes tensor engine", TENSOR_ENGINE, START_PROGRAM, c_engine_bytes, NULL, 0 },
	{ "program_engine_record_json", HYBRID_CROSS, START_PROGRAM, c_engine_record_json, NULL, 1 },
};

/* Cases whose object needs a call before the one under test (made in a setup wrapper). */
static void *setup_prepared(void *ctx, const pt2c_allocator *a)
{
	const api_case *c = ctx;
	holder *h = setup(ctx, a);
	if (!h) return NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = 0;
	if (c->call == c_remove_unused || c->call == c_dce) {
		if (!(rc = pt2c_module_inline_engines(h->m, 0, &err)))
			rc = pt2c_module_inline_fallbacks(h->m, &err);
	} else if (c->call == c_program_write && c->arg) {
		rc = pt2c_program_set_target(h->p, c->arg, &err); /* the new encoding is made while writing */
	} else if (c->call == c_set_extra_twice || c->call == c_remove_extra) {
		rc = pt2c_program_set_extra_file(h->p, c->arg, "first", 5, &err);
	}
	if (rc) {
		fprintf(stderr, "%s: prepare: %s\n", c->name, err.message);
		teardown(ctx, h);
		return NULL;
	}
	return h;
}

static bool make_archive(void)
{
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c_module_load_json(&m, shared_path(HYBRID_JSON), NULL, &err)) return false;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	int rc = pt2c__partitioned_archive_write(m, pt2c__sink_buf(&b), &err);
	pt2c_module_free(m);
	snprintf(archive_path, sizeof archive_path, "%s", scratch_path("api_oom.pt2c-partitioned"));
	FILE *f = rc || b.err ? NULL : fopen(archive_path, "wb");
	bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
	if (f) ok = fclose(f) == 0 && ok;
	archive_bytes = ok ? read_file(archive_path, &archive_len) : NULL;
	pt2c__buf_free(&b);
	return archive_bytes != NULL;
}

static void test_every_public_call(void)
{
	REQUIRE(make_archive());
	parse_bytes = read_file(shared_path(HYBRID_CROSS), &parse_len);
	REQUIRE(parse_bytes);
	for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
		const api_case *c = &CASES[i];
		test_oom_case oc = { c->name, setup_prepared, step, show, teardown, (void *)c, 0 };
		long n = test_oom_state_unchanged(&oc);
		printf("  %-40s %5ld failure points\n", c->name, n);
		total_points += n;
		/*
		 * every call here allocates, except: remove (never), engine info when the strings are
		 * interned already (placeholder arguments are), set_target where the new encoding is
		 * made when writing
		 */
		if (c->call != c_remove_extra && c->call != c_set_target && strcmp(c->name, "program_engine_info") != 0)
			CHECK_MSG(n > 0, "%s: no allocation failed", c->name);
	}
	printf("  %ld failure points in %zu cases\n", total_points, sizeof CASES / sizeof *CASES);
	free(archive_bytes);
	free(parse_bytes);
	remove(archive_path);
}

PT2C_TEST_MAIN({
	RUN(test_every_public_call);
})
