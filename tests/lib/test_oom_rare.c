/*
 * test_oom_rare.c -- issue 11 #1/#5: the allocation-failure sites that the public-call loop of
 * test_api_oom.c does not reach, because the fixtures lack the input that makes them allocate:
 * dead code (the DCE work stack), a node name longer than the fx namer's stack buffer, weights
 * pulled through callbacks (the comparison of two pulled storages, the writer's pull buffer), a
 * pipe (a file that cannot be mapped), work handed to the parallel writer's threads (tasks cut
 * to 256 bytes), a partitioned archive written, an engine record holding base64 text, a program
 * with nine outputs, JSON nested deeper than the parser's and writer's inline stacks, and a
 * number literal longer than 16 bytes.
 *
 * Each case runs the harness's test_oom_state_unchanged loop (the one failing allocator): every
 * failure comes back as PT2C_ENOMEM, the state printed before equals the state after, nothing
 * leaks; and each case first checks, without failures, that the input does what it is here for
 * (the dead nodes go, the long name survives inlining, the two pulled weights become one, ...).
 * tools/oom_sites.py over PT2C_OOM_SITES lists the sites reached.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"
#include "serde/zip.h"
#include "util/json.h"
#include "util/util.h"

#define VAL "{\"dtype\": \"float32\", \"sizes\": [4], \"strides\": [1], \"device\": \"cpu\"}"
#define PH(n) "{\"op\": \"placeholder\", \"name\": \"" n "\", \"target\": \"" n "\", \"args\": [], \"kwargs\": {}, \"val\": " VAL "}"
#define FN(n, t, args) "{\"op\": \"call_function\", \"name\": \"" n "\", \"target\": \"torch.ops.aten." t "\", \"args\": " args ", \"kwargs\": {}, \"val\": " VAL "}"
#define CALL(n, arg) "{\"op\": \"call_module\", \"name\": \"" n "\", \"target\": \"" n "\", \"args\": [{\"node\": \"" arg "\"}], \"kwargs\": {}, \"val\": " VAL "}"
#define OUT_TOP(n) "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[{\"node\": \"" n "\"}]], \"kwargs\": {}, \"val\": [" VAL "]}"
#define OUT_SUB(n) "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [{\"node\": \"" n "\"}], \"kwargs\": {}, \"val\": null}"

/*
 * Dead code: nine dead nodes that feed a dead cat, and a dead chain. The DCE seeds its stack with
 * the nodes no one uses (the cat, the chain's end); removing the cat makes its nine inputs dead
 * at once, more than the stack's first size.
 */
#define D(i) FN("dead_" #i, "relu.default", "[{\"node\": \"x\"}]") ", "
#define DN(i) "{\"node\": \"dead_" #i "\"}"
static const char MOD_DEAD[] =
	"{\"graph\": [" PH("x") ", " D(0) D(1) D(2) D(3) D(4) D(5) D(6) D(7) D(8)
	FN("dead_cat", "cat.default", "[[" DN(0) ", " DN(1) ", " DN(2) ", " DN(3) ", " DN(4) ", " DN(5) ", " DN(6) ", " DN(7) ", " DN(8) "]]") ", "
	FN("dead_a", "tanh.default", "[{\"node\": \"x\"}]") ", " FN("dead_b", "relu.default", "[{\"node\": \"dead_a\"}]") ", "
	FN("y", "relu.default", "[{\"node\": \"x\"}]") ", " OUT_TOP("y") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";

/* 200 characters: over the 160 bytes the namer keeps on its stack */
#define LONG20 "abcdefghij_klmnopqrs"
#define LONG LONG20 LONG20 LONG20 LONG20 LONG20 LONG20 LONG20 LONG20 LONG20 LONG20
static const char MOD_LONG[] =
	"{\"graph\": [" PH("x") ", " CALL("_run_on_gpu_0", "x") ", " OUT_TOP("_run_on_gpu_0") "], "
	"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": [" PH("x") ", "
	FN(LONG, "relu.default", "[{\"node\": \"x\"}]") ", " OUT_SUB(LONG) "], \"parameters\": {}, \"buffers\": {}}}, "
	"\"parameters\": {}, \"buffers\": {}}";

/* Two fallbacks with a weight "w" each, as two members of equal bytes: inlining shares one. */
#define SEG(in) "{\"kind\": \"graph\", \"graph\": [" PH("x") ", " \
	"{\"op\": \"get_attr\", \"name\": \"w_1\", \"target\": \"w\", \"args\": [], \"kwargs\": {}, \"val\": " VAL "}, " \
	FN("add_tensor", "add.Tensor", "[{\"node\": \"x\"}, {\"node\": \"w_1\"}]") ", " OUT_SUB("add_tensor") "], " \
	"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [4], \"strides\": [1], \"device\": \"cpu\", " \
	"\"data_member\": \"weights/" in "\", \"requires_grad\": false}}, \"buffers\": {}}"
static const char MOD_PULLED[] =
	"{\"graph\": [" PH("x") ", " CALL("_run_on_gpu_0", "x") ", " CALL("_run_on_gpu_1", "_run_on_gpu_0") ", "
	OUT_TOP("_run_on_gpu_1") "], \"submodules\": {\"_run_on_gpu_0\": " SEG("0") ", \"_run_on_gpu_1\": " SEG("1") "}, "
	"\"parameters\": {}, \"buffers\": {}}";

#define FIX(x) "fixtures/torch-2.11/" x

static char *dup_text(const char *s, size_t n)
{
	char *t = malloc(n + 1);
	if (t) {
		memcpy(t, s, n);
		t[n] = 0;
	}
	return t;
}

/* A printout the library handed out (rc, text, len), as a malloc'd string for the harness. */
static char *taken(int rc, char *text, size_t len)
{
	char *t = rc ? NULL : dup_text(text, len);
	pt2c_free(text);
	return t;
}

static char *print_module(const pt2c_module *m)
{
	if (!m)
		return dup_text("no module\n", 10);
	char *text = NULL;
	size_t len = 0;
	int rc = pt2c_module_print(m, &text, &len); /* before taken() reads text and len */
	return taken(rc, text, len);
}

static char *print_program(const pt2c_program *p)
{
	if (!p)
		return dup_text("no program\n", 11);
	char *text = NULL;
	size_t len = 0;
	int rc = pt2c_program_print(p, &text, &len);
	return taken(rc, text, len);
}

/* MARK: module passes on hand-made modules */

typedef struct mod_case {
	const char *name;
	const char *json;
	int (*call)(pt2c_module *m, pt2c_error *err);
} mod_case;

typedef struct mod_state { pt2c_module *m; } mod_state;

static void *mod_setup(void *ctx, const pt2c_allocator *a)
{
	const mod_case *c = ctx;
	mod_state *s = calloc(1, sizeof *s);
	pt2c_error err = PT2C_ERROR_INIT;
	if (s && pt2c_module_parse_json(&s->m, c->json, strlen(c->json), a, &err)) {
		fprintf(stderr, "%s: %s\n", c->name, err.message);
		free(s);
		return NULL;
	}
	return s;
}
static int mod_step(void *ctx, void *state)
{
	const mod_case *c = ctx;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = c->call(((mod_state *)state)->m, &err);
	if (rc && err.code != rc) return PT2C_EINVALID; /* the error names the code returned */
	return rc;
}
static char *mod_show(void *ctx, void *state) { (void)ctx; return print_module(((mod_state *)state)->m); }
static void mod_teardown(void *ctx, void *state)
{
	(void)ctx;
	pt2c_module_free(((mod_state *)state)->m);
	free(state);
}

static int inline_all(pt2c_module *m, pt2c_error *err)
{
	int rc = pt2c_module_inline_engines(m, 0, err);
	return rc ? rc : pt2c_module_inline_fallbacks(m, err);
}

/* The text a case's call leaves (no failure), or NULL. */
static char *run_once(const mod_case *c)
{
	mod_state *s = mod_setup((void *)c, NULL);
	if (!s) return NULL;
	char *out = mod_step((void *)c, s) == 0 ? print_module(s->m) : NULL;
	mod_teardown(NULL, s);
	return out;
}

static void run_mod_case(const mod_case *c)
{
	test_oom_case oc = { c->name, mod_setup, mod_step, mod_show, mod_teardown, (void *)c, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", c->name, n);
	CHECK_MSG(n > 0, "%s: no allocation failed", c->name);
}

static void test_dead_code(void)
{
	static const mod_case c = { "dce: a dead cat of 9, a dead chain", MOD_DEAD, pt2c_module_eliminate_dead_code };
	char *after = run_once(&c);
	REQUIRE(after);
	CHECK_MSG(!strstr(after, "dead") && strstr(after, "%y : "), "%s", after);
	free(after);
	run_mod_case(&c);
}

static void test_long_name(void)
{
	static const mod_case c = { "inline a 200-character name", MOD_LONG, inline_all };
	char *after = run_once(&c);
	REQUIRE(after);
	char *sub = strstr(after, "# submodule"); /* the top graph comes first; inlining leaves the segment */
	if (sub) *sub = 0;
	CHECK_MSG(strstr(after, "%" LONG " ") && !strstr(after, "call_module"), "%s", after);
	free(after);
	run_mod_case(&c);
}

/* MARK: pulled weights */

static const uint8_t W_BYTES[16] = { 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64 }; /* 1 2 3 4 */
static int pulls;
static int pull_w(void *ctx, uint64_t off, void *buf, size_t n)
{
	(void)ctx;
	if (off > sizeof W_BYTES || n > sizeof W_BYTES - off) return -1;
	memcpy(buf, W_BYTES + off, n);
	pulls++;
	return 0;
}

static int build_pulled(pt2c_module **m, const pt2c_allocator *a, pt2c_error *err)
{
	pt2c_member_source src[2] = {
		{ "weights/0", NULL, sizeof W_BYTES, pull_w, NULL, NULL },
		{ "weights/1", NULL, sizeof W_BYTES, pull_w, NULL, NULL },
	};
	return pt2c_module_build(m, MOD_PULLED, strlen(MOD_PULLED), src, 2, a, err);
}

static void *pulled_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	mod_state *s = calloc(1, sizeof *s);
	pt2c_error err = PT2C_ERROR_INIT;
	if (s && build_pulled(&s->m, a, &err)) {
		fprintf(stderr, "pulled module: %s\n", err.message);
		free(s);
		return NULL;
	}
	return s;
}

typedef struct prog_state { pt2c_program *p; } prog_state;

static void *pulled_program_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	prog_state *s = calloc(1, sizeof *s);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (s && (build_pulled(&m, a, &err) || pt2c_export(&s->p, &m, NULL, &err))) {
		fprintf(stderr, "pulled program: %s\n", err.message);
		pt2c_module_free(m);
		free(s);
		return NULL;
	}
	return s;
}
static const char *out_path(void) { return scratch_path("oom_rare_out.pt2"); }
static int write_step(void *ctx, void *state)
{
	(void)ctx;
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	wo.threads = 1;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_program_write(((prog_state *)state)->p, out_path(), &wo, &err);
	if (rc && (err.code != rc || file_exists(out_path()))) return PT2C_EINVALID;
	return rc;
}
static char *prog_show(void *ctx, void *state) { (void)ctx; return print_program(((prog_state *)state)->p); }
static void prog_teardown(void *ctx, void *state)
{
	(void)ctx;
	pt2c_program_free(((prog_state *)state)->p);
	remove(out_path());
	free(state);
}

static void test_pulled_weights(void)
{
	/* without failures: one weight "w" remains, read through the pull callback */
	static const mod_case c = { "inline two pulled equal weights", MOD_PULLED, inline_all };
	mod_state *s = pulled_setup(NULL, NULL);
	REQUIRE(s);
	pulls = 0;
	CHECK_EQ_INT(mod_step((void *)&c, s), 0);
	CHECK(pulls >= 2); /* the two storages were compared through their callbacks */
	char *text = print_module(s->m);
	REQUIRE(text);
	/* both get_attr nodes read "w": shared, not renamed ("w_1") */
	CHECK_MSG(strstr(text, "get_attr[target=w]") && !strstr(text, "target=w_"), "%s", text);
	free(text);
	mod_teardown(NULL, s);

	test_oom_case oc = { c.name, pulled_setup, mod_step, mod_show, mod_teardown, (void *)&c, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", c.name, n);
	CHECK(n > 0);

	/* writing a program whose weight is pulled: the bytes come through the callback */
	prog_state *ps = pulled_program_setup(NULL, NULL);
	REQUIRE(ps);
	pulls = 0;
	CHECK_EQ_INT(write_step(NULL, ps), 0);
	CHECK(pulls > 0);
	size_t len = 0;
	uint8_t *bytes = read_file(out_path(), &len);
	CHECK(bytes && len > sizeof W_BYTES);
	bool found = false;
	for (size_t i = 0; bytes && i + sizeof W_BYTES <= len && !found; i++)
		found = memcmp(bytes + i, W_BYTES, sizeof W_BYTES) == 0;
	CHECK(found);
	free(bytes);
	prog_teardown(NULL, ps);

	test_oom_case wc = { "write a pulled weight", pulled_program_setup, write_step, prog_show, prog_teardown, NULL, 0 };
	n = test_oom_state_unchanged(&wc);
	printf("  %-36s %5ld failure points\n", wc.name, n);
	CHECK(n > 0);
}

/* MARK: a program read from a pipe */

typedef struct feeder { int fd; const uint8_t *p; size_t n; } feeder;
static void *feed(void *arg)
{
	feeder *f = arg;
	for (size_t o = 0; o < f->n;) {
		ssize_t w = write(f->fd, f->p + o, f->n - o);
		if (w <= 0) break; /* the reader gave up (EPIPE): fine */
		o += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

static uint8_t *pipe_bytes;
static size_t pipe_len;
/* A call that opens a program: the allocator to open it with, and what it opened (pipe, parse). */
typedef struct open_state { const pt2c_allocator *a; pt2c_program *p; } open_state;
static void *open_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	open_state *s = calloc(1, sizeof *s);
	if (s) s->a = a;
	return s;
}
static int pipe_step(void *ctx, void *state)
{
	(void)ctx;
	open_state *s = state;
	int fds[2];
	if (pipe(fds)) return PT2C_EIO;
	feeder f = { fds[1], pipe_bytes, pipe_len };
	pthread_t t;
	if (pthread_create(&t, NULL, feed, &f)) {
		close(fds[0]);
		close(fds[1]);
		return PT2C_EIO;
	}
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = s->a;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_program_open_fd(&s->p, fds[0], &ro, &err);
	close(fds[0]);
	pthread_join(t, NULL);
	if (rc && (s->p || err.code != rc)) return PT2C_EINVALID;
	return rc;
}
/* the state is "nothing opened" before the call and after a failed one */
static char *open_show(void *ctx, void *state) { (void)ctx; return print_program(((open_state *)state)->p); }
static void open_teardown(void *ctx, void *state)
{
	(void)ctx;
	pt2c_program_free(((open_state *)state)->p);
	free(state);
}

static void test_pipe(void)
{
	signal(SIGPIPE, SIG_IGN);
	pipe_bytes = read_file(shared_path(FIX("attn.pt2")), &pipe_len);
	REQUIRE(pipe_bytes);
	REQUIRE(pipe_len > 65536); /* more than a pipe holds: the reader grows its buffer */
	/* without failures: the program read from the pipe is the one read from the file */
	open_state *s = open_setup(NULL, NULL);
	REQUIRE(s);
	CHECK_EQ_INT(pipe_step(NULL, s), 0);
	pt2c_program *fp = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c_program_open(&fp, shared_path(FIX("attn.pt2")), NULL, &err), 0);
	char *a = print_program(s->p), *b = print_program(fp);
	CHECK(a && b && strcmp(a, b) == 0);
	free(a);
	free(b);
	pt2c_program_free(fp);
	open_teardown(NULL, s);

	test_oom_case oc = { "program_open_fd of a pipe", open_setup, pipe_step, open_show, open_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", oc.name, n);
	CHECK(n > 0);
	free(pipe_bytes);
}

/* MARK: the parallel writer with work for its threads */

typedef struct mem_image { pthread_mutex_t mu; uint8_t *data; size_t len, cap; bool oom; } mem_image;
static int image_pwrite(void *ctx, const void *p, size_t n, uint64_t off)
{
	mem_image *im = ctx;
	pthread_mutex_lock(&im->mu);
	int rc = 0;
	if (off + n > im->cap) {
		size_t cap = im->cap ? im->cap : 65536;
		while (cap < off + n) cap *= 2;
		uint8_t *d = realloc(im->data, cap);
		if (!d) rc = ENOMEM;
		else {
			memset(d + im->cap, 0, cap - im->cap);
			im->data = d;
			im->cap = cap;
		}
	}
	if (!rc) {
		memcpy(im->data + off, p, n);
		if (off + n > im->len) im->len = (size_t)(off + n);
	}
	pthread_mutex_unlock(&im->mu);
	return rc;
}

static void *par_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	prog_state *s = calloc(1, sizeof *s);
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = a;
	pt2c_error err = PT2C_ERROR_INIT;
	if (s && pt2c_program_open(&s->p, shared_path(FIX("hybrid_gated_fallback.normal.pt2")), &ro, &err)) {
		fprintf(stderr, "parallel writer: %s\n", err.message);
		free(s);
		return NULL;
	}
	return s;
}
static int par_write(const pt2c_program *p, unsigned threads, uint64_t task, mem_image *im)
{
	memset(im, 0, sizeof *im);
	pthread_mutex_init(&im->mu, NULL);
	pt2c_pt2_write_opts o = { "model", NULL, NULL, threads, task };
	pt2c_psink ps = { image_pwrite, im, NULL };
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__pt2_write_par(p, ps, &o, &err);
	pthread_mutex_destroy(&im->mu);
	if (rc && err.code != rc) return PT2C_EINVALID;
	return rc;
}
static int par_step(void *ctx, void *state)
{
	(void)ctx;
	mem_image im;
	int rc = par_write(((prog_state *)state)->p, 3, 256, &im);
	free(im.data);
	return rc;
}

static void test_parallel_writer(void)
{
	/* without failures: tasks of 256 bytes on 3 threads give the bytes of the serial writer */
	prog_state *s = par_setup(NULL, NULL);
	REQUIRE(s);
	mem_image im;
	CHECK_EQ_INT(par_write(s->p, 3, 256, &im), 0);
	pt2c_buf ser;
	pt2c__buf_init(&ser, NULL);
	pt2c_pt2_write_opts so = { "model", NULL, NULL, 0, 0 };
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__pt2_write(s->p, pt2c__sink_buf(&ser), &so, &err), 0);
	CHECK(im.len == ser.len && im.len > 3 * 4096 && memcmp(im.data, ser.data, ser.len) == 0);
	pt2c__buf_free(&ser);
	free(im.data);
	prog_teardown(NULL, s);

	test_oom_case oc = { "parallel write, 256-byte tasks", par_setup, par_step, prog_show, prog_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", oc.name, n);
	CHECK(n > 0);
}

/* MARK: a partitioned archive written from a module (its storage table, the engines' copies) */

static void *part_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	mod_state *s = calloc(1, sizeof *s);
	pt2c_error err = PT2C_ERROR_INIT;
	if (s && pt2c_module_load_json(&s->m, shared_path(FIX("hybrid_gated_fallback.partitioned.json")), a, &err)) {
		fprintf(stderr, "partitioned: %s\n", err.message);
		free(s);
		return NULL;
	}
	return s;
}
static int part_step(void *ctx, void *state)
{
	(void)ctx;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL); /* the output is the test's */
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_archive_write(((mod_state *)state)->m, pt2c__sink_buf(&b), &err);
	pt2c__buf_free(&b);
	if (rc && err.code != rc) return PT2C_EINVALID;
	return rc;
}

static void test_partitioned_archive(void)
{
	test_oom_case oc = { "partitioned archive of a module", part_setup, part_step, mod_show, mod_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", oc.name, n);
	CHECK(n > 0);
}

/* MARK: a program with nine outputs (its out_spec walk outgrows its first stack) */

#define Y(i) FN("y" #i, "relu.default", "[{\"node\": \"x\"}]") ", "
#define YN(i) "{\"node\": \"y" #i "\"}"
static const char MOD_WIDE[] =
	"{\"graph\": [" PH("x") ", " Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7) Y(8)
	"{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[" YN(0) ", " YN(1) ", " YN(2) ", "
	YN(3) ", " YN(4) ", " YN(5) ", " YN(6) ", " YN(7) ", " YN(8) "]], \"kwargs\": {}, \"val\": ["
	VAL ", " VAL ", " VAL ", " VAL ", " VAL ", " VAL ", " VAL ", " VAL ", " VAL "]}], "
	"\"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";

static pt2c_buf wide_bytes;
static int wide_step(void *ctx, void *state)
{
	(void)ctx;
	open_state *s = state;
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = s->a;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_program_parse(&s->p, (const uint8_t *)wide_bytes.data, wide_bytes.len, &ro, &err);
	if (rc && (s->p || err.code != rc)) return PT2C_EINVALID;
	return rc;
}

static void test_wide_program(void)
{
	pt2c_module *m = NULL;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_module_parse_json(&m, MOD_WIDE, strlen(MOD_WIDE), NULL, &err) == 0);
	REQUIRE(pt2c_export(&p, &m, NULL, &err) == 0);
	pt2c__buf_init(&wide_bytes, NULL);
	pt2c_pt2_write_opts o = { "model", NULL, NULL, 0, 0 };
	CHECK_EQ_INT(pt2c__pt2_write(p, pt2c__sink_buf(&wide_bytes), &o, &err), 0);
	pt2c_program_free(p);
	REQUIRE(!wide_bytes.err);
	/* without failures: it reads back with nine user outputs */
	open_state *s = open_setup(NULL, NULL);
	REQUIRE(s);
	CHECK_EQ_INT(wide_step(NULL, s), 0);
	char *text = print_program(s->p);
	CHECK_MSG(text && strstr(text, "y8") && strstr(text, "return (y0, y1, y2, y3, y4, y5, y6, y7, y8)"), "%s", text ? text : "");
	free(text);
	open_teardown(NULL, s);

	test_oom_case oc = { "program_parse, nine outputs", open_setup, wide_step, open_show, open_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", oc.name, n);
	CHECK(n > 0);
	pt2c__buf_free(&wide_bytes);
}

/* MARK: JSON past the inline stacks */

typedef struct json_case { const char *name; char *text; size_t len; bool write; } json_case;
static void *stateless_setup(void *ctx, const pt2c_allocator *a)
{
	(void)ctx;
	return (void *)(uintptr_t)a; /* the state is the allocator: the call has no object */
}
static int json_step(void *ctx, void *state)
{
	const json_case *c = ctx;
	const pt2c_allocator *a = state;
	pt2c_arena arena;
	pt2c__arena_init(&arena, a);
	pt2c_json *root = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__json_parse(&root, c->text, c->len, NULL, &arena, &err);
	if (!rc && c->write) {
		pt2c_buf b;
		pt2c__buf_init(&b, a);
		pt2c__json_write_value(&b, root);
		rc = b.err;
		if (!rc && (b.len != c->len || memcmp(b.data, c->text, c->len) != 0)) rc = PT2C_EINVALID; /* json.dumps form in, same out */
		pt2c__buf_free(&b);
	}
	pt2c__arena_free(&arena);
	return rc;
}
static char *stateless_show(void *ctx, void *state) { (void)ctx; (void)state; return dup_text("-", 1); }
static void stateless_teardown(void *ctx, void *state) { (void)ctx; (void)state; }

static void test_json_deep(void)
{
	json_case cs[2];
	/* [[[ ... 300 ... [1.0000000000000000000001] ... ]]] : nesting past the inline stacks, a long number */
	enum { DEPTH = 300 };
	static const char num[] = "1.0000000000000000000001";
	size_t len = 2 * DEPTH + strlen(num);
	char *text = malloc(len + 1);
	REQUIRE(text);
	memset(text, '[', DEPTH);
	memcpy(text + DEPTH, num, strlen(num));
	memset(text + DEPTH + strlen(num), ']', DEPTH);
	text[len] = 0;
	cs[0] = (json_case){ "json parse, depth 300, long number", text, len, false };
	/* written back: the same text (an integer leaf, so the float form is not in question) */
	char *text2 = malloc(2 * DEPTH + 2);
	REQUIRE(text2);
	memset(text2, '[', DEPTH);
	text2[DEPTH] = '7';
	memset(text2 + DEPTH + 1, ']', DEPTH);
	text2[2 * DEPTH + 1] = 0;
	cs[1] = (json_case){ "json parse + write, depth 300", text2, 2 * (size_t)DEPTH + 1, true };
	CHECK_EQ_INT(json_step(&cs[1], NULL), 0); /* and the text comes back as it went in */
	for (int i = 0; i < 2; i++) {
		test_oom_case oc = { cs[i].name, stateless_setup, json_step, stateless_show, stateless_teardown, &cs[i], 0 };
		long n = test_oom_state_unchanged(&oc);
		printf("  %-36s %5ld failure points\n", oc.name, n);
		CHECK(n > 0);
	}
	free(text);
	free(text2);
}

/* MARK: an engine record whose bytes are base64 text (as read from an engine object) */

static const char ENGINE_B64[] = "ZnRydABlbmdpbmUgYnl0ZXM="; /* "ftrt\0engine bytes" */
static const pt2c_engine_record *b64_record(void)
{
	static pt2c_storage text;
	static pt2c_engine_record r;
	text.refcount = 1;
	text.data = (const uint8_t *)ENGINE_B64;
	text.nbytes = sizeof ENGINE_B64 - 1;
	r.engine = &text;
	r.engine_b64 = true;
	return &r;
}
static int raw_step(void *ctx, void *state)
{
	(void)ctx;
	pt2c_storage *raw = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__engine_record_raw(b64_record(), state, &raw, &err);
	if (!rc && (raw->nbytes != 17 || memcmp(raw->data, "ftrt\0engine bytes", 17) != 0)) rc = PT2C_EINVALID;
	if (rc && (raw || err.code != rc)) rc = PT2C_EINVALID;
	pt2c__storage_unref(raw);
	return rc;
}

static void test_engine_record_raw(void)
{
	CHECK_EQ_INT(raw_step(NULL, NULL), 0);
	test_oom_case oc = { "engine record, base64 bytes decoded", stateless_setup, raw_step, stateless_show, stateless_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %-36s %5ld failure points\n", oc.name, n);
	CHECK(n > 0);
}

PT2C_TEST_MAIN({
	RUN(test_dead_code);
	RUN(test_long_name);
	RUN(test_pulled_weights);
	RUN(test_pipe);
	RUN(test_parallel_writer);
	RUN(test_partitioned_archive);
	RUN(test_wide_program);
	RUN(test_json_deep);
	RUN(test_engine_record_raw);
})
