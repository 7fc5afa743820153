/*
 * gen_partitioned.c -- write a synthetic Torch-TensorRT partitioned module as a partitioned
 * archive, for the benchmarks: S engine segments alternating with S fallback segments, each
 * fallback a chain of K aten ops on one parameter.
 *
 *   pt2c-bench-gen OUT --segments S --ops K --engine-bytes E --weight-bytes W
 *
 * E and W are totals, split evenly between segments. Engine bytes are a repeating pattern; the
 * weights of a segment are a float32 vector. Shapes are consistent (x: [1, N], weights [N]), so
 * the program is well-formed, though the stand-in engines are not real TensorRT plans.
 * Uses library internals on purpose: this is a tool of the project, not an API client.
 *
 * Memory: an engine's bytes (one pattern, shared by every engine) and a segment's weights (one
 * vector, shared by every segment's storage) of 256 MiB or more are written to a scratch file next
 * to OUT, in 8 MiB pieces, and mapped from it (the file unlinked at once): the archive is then
 * written from page-cache pages the kernel can evict, so the 20 GB case (4 x 4 GiB engines +
 * 4 GiB of weights) is made without 20 GB, or even 5 GB, of memory. Smaller ones live in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ir/ir.h"
#include "serde/serde.h"
#include "serde/zip.h"
#include "util/util.h"

static _Noreturn void die(const char *what, const pt2c_error *err)
{
	fprintf(stderr, "pt2c-bench-gen: %s: %s\n", what, err && err->message[0] ? err->message : "failed");
	exit(1);
}

/* A static [1, n] or [n] float32 meta in the ctx's arena. */
static pt2c_tensor_meta vec_meta(pt2c_ctx *ctx, uint32_t ndim, int64_t n)
{
	pt2c_tensor_meta m;
	memset(&m, 0, sizeof m);
	m.dtype = PT2C_DTYPE_FLOAT32;
	m.layout = PT2C_LAYOUT_STRIDED;
	m.device.type = pt2c__ctx_interns(ctx, "cpu");
	m.device.index = -1;
	m.ndim = ndim;
	m.sizes = pt2c__arena_calloc(&ctx->arena, ndim, sizeof *m.sizes);
	m.strides = pt2c__arena_calloc(&ctx->arena, ndim, sizeof *m.strides);
	if (!m.sizes || !m.strides)
		die("out of memory", NULL);
	for (uint32_t i = 0; i < ndim; i++)
		m.sizes[i] = pt2c__sym_int(i + 1 == ndim ? n : 1);
	if (pt2c__meta_contiguous_strides(ctx, &m))
		die("strides", NULL);
	m.storage_offset = pt2c__sym_int(0);
	return m;
}

/* A value's metadata lives in the arena (values point at it). */
static const pt2c_tensor_meta *meta_ptr(pt2c_ctx *ctx, pt2c_tensor_meta m)
{
	pt2c_tensor_meta *p = pt2c__arena_memdup(&ctx->arena, &m, sizeof m);
	if (!p)
		die("out of memory", NULL);
	return p;
}

static pt2c_arg node_ref(uint32_t value)
{
	pt2c_arg a;
	memset(&a, 0, sizeof a);
	a.kind = PT2C_ARG_FX_NODE;
	a.u.ref = value;
	return a;
}

/* Add an fx node with positional inputs defining one value; returns the value id. */
static uint32_t add_node(pt2c_graph *g, int op, const char *name, const char *target, const pt2c_arg *args,
                         uint32_t n_args, int kind)
{
	uint32_t id, vid;
	if (pt2c__graph_add_node(g, op, name, false, target, PT2C_NONE, &id))
		die("add node", NULL);
	pt2c_named_arg in[4];
	for (uint32_t i = 0; i < n_args; i++) {
		in[i].name = NULL;
		in[i].kind = PT2C_ARGKIND_POSITIONAL;
		in[i].arg = args[i];
	}
	if (n_args && pt2c__node_set_inputs(g, id, in, n_args))
		die("inputs", NULL);
	if (op == PT2C_OP_OUTPUT)
		return PT2C_NONE;
	if (pt2c__node_define_value(g, id, kind, &vid))
		die("value", NULL);
	return vid;
}

#define SCRATCH_MIN ((uint64_t)256 << 20)

/* Engine byte i: a repeating pattern. */
static void fill_engine(uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((off + i) * 131 + 7);
}

/* Weight bytes [off, off+n) of a float32 vector w[i] = 1 + (i % 7) / 8 (off, n multiples of 4). */
static void fill_weights(uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i += 4) {
		uint64_t k = (off + i) / 4;
		float v = 1.0f + (float)(k % 7) * 0.125f;
		memcpy(p + i, &v, 4);
	}
}

/*
 * n bytes made by fill: in memory below SCRATCH_MIN (*heap set: free them), else in a scratch
 * file next to out, mapped (left to the end of the process). Exits on failure.
 */
static const uint8_t *make_bytes(const char *out, uint64_t n, void (*fill)(uint8_t *, uint64_t, size_t), uint8_t **heap)
{
	*heap = NULL;
	if (n < SCRATCH_MIN) {
		uint8_t *p = malloc(n ? (size_t)n : 1);
		if (!p)
			die("out of memory", NULL);
		fill(p, 0, (size_t)n);
		return *heap = p;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s.scratch.XXXXXX", out);
	int fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "pt2c-bench-gen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	unlink(path); /* gone when unmapped and closed */
	size_t piece = (size_t)8 << 20;
	uint8_t *buf = malloc(piece);
	if (!buf)
		die("out of memory", NULL);
	for (uint64_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? (size_t)(n - off) : piece;
		fill(buf, off, k);
		for (size_t w = 0; w < k;) {
			ssize_t r = pwrite(fd, buf + w, k - w, (off_t)(off + w));
			if (r <= 0) {
				fprintf(stderr, "pt2c-bench-gen: writing the scratch file next to %s: %s\n", out,
				        r < 0 ? strerror(errno) : "no progress");
				exit(1);
			}
			w += (size_t)r;
		}
	}
	free(buf);
	void *p = mmap(NULL, (size_t)n, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "pt2c-bench-gen: mapping the scratch file: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
	return p;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (*end == 'k' || *end == 'K') v *= 1024.0;
	else if (*end == 'm' || *end == 'M') v *= 1024.0 * 1024.0;
	else if (*end == 'g' || *end == 'G') v *= 1024.0 * 1024.0 * 1024.0;
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint32_t segments = 2, ops = 4;
	uint64_t engine_bytes = 1 << 20, weight_bytes = 1 << 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--segments") && i + 1 < argc) segments = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc) ops = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--engine-bytes") && i + 1 < argc) engine_bytes = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--weight-bytes") && i + 1 < argc) weight_bytes = parse_size(argv[++i]);
		else if (argv[i][0] != '-' && !out) out = argv[i];
		else { fprintf(stderr, "usage: pt2c-bench-gen OUT --segments S --ops K --engine-bytes E --weight-bytes W\n"); return 2; }
	}
	if (!out || segments == 0) {
		fprintf(stderr, "usage: pt2c-bench-gen OUT --segments S --ops K --engine-bytes E --weight-bytes W\n");
		return 2;
	}
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_ctx *ctx;
	pt2c_module *m = NULL;
	if (pt2c__ctx_new(&ctx, NULL) || pt2c__module_new(ctx, &m))
		die("out of memory", NULL);
	pt2c__ctx_unref(ctx); /* the module holds its own reference */

	uint64_t eng_each = engine_bytes / segments;
	int64_t n = (int64_t)(weight_bytes / segments / 4);
	if (n < 1)
		n = 1;
	/* one pattern shared by every engine storage, one vector by every weight: borrowed, never copied */
	uint8_t *heap_pattern, *heap_weights;
	const uint8_t *pattern = make_bytes(out, eng_each, fill_engine, &heap_pattern);
	const uint8_t *weights = make_bytes(out, (uint64_t)n * 4, fill_weights, &heap_weights);

	pt2c_graph *g = m->graph;
	uint32_t x = add_node(g, PT2C_OP_PLACEHOLDER, "x", "x", NULL, 0, PT2C_VAL_TENSOR);
	g->values[x].u.tensor = meta_ptr(ctx, vec_meta(ctx, 2, n));
	g->values[x].has_meta = true;
	uint32_t prev = x;
	static const char *const chain_ops[] = { "torch.ops.aten.add.Tensor", "torch.ops.aten.mul.Tensor" };
	for (uint32_t s = 0; s < segments; s++) {
		char name[64], ename[80];
		/* engine segment */
		snprintf(name, sizeof name, "_run_on_acc_%u", 2 * s);
		snprintf(ename, sizeof ename, "%s_engine", name);
		pt2c_submodule *sub;
		if (pt2c__module_add_sub(m, name, PT2C_SUB_ENGINE, &sub))
			die("submodule", NULL);
		pt2c_engine_record *rec = pt2c__arena_zalloc(&ctx->arena, sizeof *rec);
		static const char *const fields[11] = { "8", NULL, "0%9%0%0%NVIDIA H100 80GB HBM3", "", "input_0", "output_0",
		                                        "0", "gAJ9cQAu", "linux_x86_64", "0", "0" };
		rec->abi = 8;
		rec->n_fields = 11;
		for (int f = 0; f < 11; f++) {
			const char *v = f == PT2C_EF_NAME ? pt2c__ctx_interns(ctx, ename) : fields[f];
			rec->fields[f].p = v;
			rec->fields[f].n = (uint32_t)strlen(v);
		}
		if (pt2c__storage_new(NULL, pattern, eng_each, NULL, NULL, &rec->engine))
			die("storage", NULL);
		sub->engine = rec;
		pt2c_arg a = node_ref(prev);
		uint32_t acc = add_node(g, PT2C_OP_CALL_MODULE, name, name, &a, 1, PT2C_VAL_TENSOR_LIST);
		g->values[acc].has_meta = true;
		g->values[acc].u.list.n = 1;
		g->values[acc].u.list.items = pt2c__arena_alloc(&ctx->arena, sizeof(pt2c_tensor_meta));
		g->values[acc].u.list.items[0] = vec_meta(ctx, 2, n);

		/* fallback segment: placeholder, get_attr, K ops, output */
		snprintf(name, sizeof name, "_run_on_gpu_%u", 2 * s + 1);
		pt2c_module *fb;
		if (pt2c__module_new(ctx, &fb) || pt2c__module_add_sub(m, name, PT2C_SUB_FALLBACK, &sub))
			die("submodule", NULL);
		sub->fallback = fb;
		char wname[32];
		snprintf(wname, sizeof wname, "w%u", s);
		pt2c_attr *at;
		if (pt2c__module_add_attr(fb, wname, PT2C_ATTR_PARAMETER, &at))
			die("attr", NULL);
		at->tensor.meta = vec_meta(ctx, 1, n);
		if (pt2c__storage_new(NULL, weights, (uint64_t)n * 4, NULL, NULL, &at->tensor.storage))
			die("storage", NULL);
		pt2c_graph *fg = fb->graph;
		uint32_t in = add_node(fg, PT2C_OP_PLACEHOLDER, "inp", "inp", NULL, 0, PT2C_VAL_TENSOR);
		fg->values[in].u.tensor = meta_ptr(ctx, vec_meta(ctx, 2, n));
		fg->values[in].has_meta = true;
		uint32_t wv = add_node(fg, PT2C_OP_GET_ATTR, wname, wname, NULL, 0, PT2C_VAL_TENSOR);
		fg->values[wv].u.tensor = meta_ptr(ctx, vec_meta(ctx, 1, n));
		fg->values[wv].has_meta = true;
		uint32_t cur = in;
		for (uint32_t k = 0; k < ops; k++) {
			pt2c_arg args[2] = { node_ref(cur), node_ref(wv) };
			const char *t = chain_ops[k & 1];
			cur = add_node(fg, PT2C_OP_CALL_FUNCTION, (k & 1) ? "mul_tensor" : "add_tensor", t, args, 2, PT2C_VAL_TENSOR);
			fg->values[cur].u.tensor = meta_ptr(ctx, vec_meta(ctx, 2, n));
			fg->values[cur].has_meta = true;
		}
		pt2c_arg o = node_ref(cur);
		add_node(fg, PT2C_OP_OUTPUT, "output", "output", &o, 1, PT2C_VAL_NONE);
		a = node_ref(acc);
		uint32_t gpu = add_node(g, PT2C_OP_CALL_MODULE, name, name, &a, 1, PT2C_VAL_TENSOR);
		g->values[gpu].u.tensor = meta_ptr(ctx, vec_meta(ctx, 2, n));
		g->values[gpu].has_meta = true;
		prev = gpu;
	}
	pt2c_arg items[1] = { node_ref(prev) };
	pt2c_arg outl;
	memset(&outl, 0, sizeof outl);
	outl.kind = PT2C_ARG_FX_TUPLE;
	outl.n = 1;
	outl.u.items = pt2c__arena_memdup(&ctx->arena, items, sizeof items);
	add_node(g, PT2C_OP_OUTPUT, "output", "output", &outl, 1, PT2C_VAL_NONE);
	m->in_spec = pt2c__ctx_interns(ctx, "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": "
	                                    "[{\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": "
	                                    "[{\"type\": null, \"context\": null, \"children_spec\": []}]}, "
	                                    "{\"type\": \"builtins.dict\", \"context\": \"[]\", \"children_spec\": []}]}]");
	m->out_spec = pt2c__ctx_interns(ctx, "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": "
	                                     "[{\"type\": null, \"context\": null, \"children_spec\": []}]}]");

	pt2c_ofile f;
	if (pt2c__ofile_open(&f, out, NULL, &err))
		die(out, &err);
	int rc = pt2c__partitioned_archive_write(m, pt2c__sink_ofile(&f), &err);
	if (rc == 0)
		rc = pt2c__ofile_commit(&f, &err);
	pt2c__ofile_abort(&f);
	if (rc)
		die(out, &err);
	pt2c__module_free(m);
	free(heap_pattern); /* (mapped scratch bytes go with the process) */
	free(heap_weights);
	printf("%s: %u segments, %u ops each, %llu engine bytes, %llu weight bytes\n", out, segments, ops,
	       (unsigned long long)engine_bytes, (unsigned long long)((uint64_t)n * 4 * segments));
	return 0;
}
