/*
 * partitioned_json.h -- private to the partitioned-module JSON reader (partitioned_json*.c): its
 * state, small helpers over util/json_reader.h, and the functions its files share.
 *
 *   partitioned_json.c         the accepted document (grammar), entry points
 *   partitioned_json_args.c    tensor metadata, devices, fx arguments
 *   partitioned_json_graph.c   graph arrays: nodes and their values
 *   partitioned_json_module.c  attributes (base64 or archive members), submodules and engine
 *                              records, specs, symbols, op schemas
 *
 * The short names below (read_arg, read_graph, ...) are macros for library-internal names, so the
 * files read as one reader while no two readers' symbols can clash.
 */
#ifndef PT2C_PARTITIONED_JSON_H
#define PT2C_PARTITIONED_JSON_H

#include <inttypes.h>

#include "serde/serde.h"
#include "util/json_reader.h"

#define ARG_MAX_DEPTH 64 /* matches the IR's walk limit (arg.c) */

/* MARK: reader state and error placement */

typedef struct prd {
	pt2c_jr jr; /* the path and error placement */
	pt2c_ctx *ctx;
	const pt2c_allocator *alloc; /* the caller's: frees storages even after ctx is gone */
	const char *data;
	size_t len;
	pt2c_error *err;
	pt2c_named_arg *tmp_in; /* scratch for one node's inputs */
	size_t tmp_cap;
	const char *cpu; /* interned "cpu", the default device */
	const pt2c_member_resolver *res; /* archive form: resolves data_member / engine members; NULL for plain JSON */
	pt2c_arena *dom;      /* the document's DOM, in which "graph" arrays are left lazy (RAW) */
	pt2c_arena node_dom;  /* one graph node's DOM at a time, reset per node: nothing the module keeps points here */
	pt2c_json_opts opts;
	pt2c_meta_pool metas; /* shared metadata of tensor values, and shared sizes/strides arrays */
	pt2c_sym *tmp_dims;   /* scratch for one sizes/strides array */
	size_t tmp_dims_cap;
	size_t raw_done;      /* lazy "graph" arrays read to their end (pt2c__json_parse_skim's duty) */
	/* fallback graphs on worker threads (partitioned_json_par.c) */
	bool par;             /* read_submodules may defer large fallback graphs to workers */
	bool deferred;        /* some graph was deferred: a failure is read again in order, without workers */
	bool no_ahead;        /* a worker that starts no helper thread of its own */
	uint64_t drop_step;   /* bytes of text between drops of read pages (PT2C_DROP_STEP; less on workers) */
	struct prd_job *jobs; /* the deferred graphs */
	size_t n_jobs, cap_jobs;
} prd;

/* Fail with `code` at value `at` (NULL: position unknown) under the current path. */
#define fail(r, code, at, ...) pt2c__jr_fail(&(r)->jr, (code), (at), __VA_ARGS__)
/* "expected <what>, got <type of v>" at v. */
#define type_error(r, v, what) pt2c__jr_type_error(&(r)->jr, (v), (what))
/* The path has /key (/i) until the end of the enclosing block. */
#define AT(r, key) PT2C_JR_AT(&(r)->jr, key)
#define AT_N(r, key, n) PT2C_JR_AT_N(&(r)->jr, key, n)
#define AT_IDX(r, i) PT2C_JR_AT_IDX(&(r)->jr, i)
/* for each element (it.val, it.i) or member (it.key, it.val) of c while cond holds, at its path */
#define EACH(r, it, c, cond) PT2C_JR_EACH(&(r)->jr, it, c, cond)

static inline int oom(prd *r) { return pt2c__err_oom(r->err); }

/* Printable prefix length of a string value for "%.*s" (names in messages stay short). */
static inline int shown(const pt2c_json *s) { return (int)(s->n > 64 ? 64 : s->n); }

/* Interned copy of a string value that may be used as a C string (no embedded NUL), its pt2c__hash into *hash; NULL + error otherwise. */
static inline const char *intern_name_h(prd *r, const pt2c_json *s, uint32_t *hash, int *rc)
{
	if (memchr(s->u.s, 0, s->n)) {
		*rc = fail(r, PT2C_ECORRUPT, s, "name contains a NUL character");
		return NULL;
	}
	*hash = pt2c__hash(s->u.s, s->n);
	const char *p = pt2c__intern_h(&r->ctx->strings, s->u.s, s->n, *hash);
	if (!p) *rc = oom(r);
	return p;
}

/* intern_name_h without the hash. */
static inline const char *intern_name(prd *r, const pt2c_json *s, int *rc)
{
	uint32_t h;
	return intern_name_h(r, s, &h, rc);
}

/*
 * Member `key` of obj into *out, required to have JSON type `type` (TRUE: any boolean; REAL: any
 * number; ARRAY: also a lazy span). If `optional`, an absent or null member gives *out = NULL and success.
 */
static inline int need(prd *r, const pt2c_json *obj, const char *key, int type, bool optional, const pt2c_json **out)
{
	return pt2c__jr_field(&r->jr, obj, key, type, PT2C_JR_LAZY | (optional ? PT2C_JR_OPTIONAL : 0), out);
}

/* MARK: shared between the reader's files */

#define read_dim pt2c__partitioned_read_dim
#define read_meta pt2c__partitioned_read_meta
#define read_arg pt2c__partitioned_read_arg
#define read_graph pt2c__partitioned_read_graph
#define read_module_body pt2c__partitioned_read_module_body
#define read_submodules pt2c__partitioned_read_submodules
#define read_spec pt2c__partitioned_read_spec
#define read_symbols pt2c__partitioned_read_symbols
#define read_op_schemas pt2c__partitioned_read_op_schemas
#define defer_graph pt2c__partitioned_defer_graph
#define run_deferred pt2c__partitioned_run_deferred
#define jobs_free pt2c__partitioned_jobs_free

/* One size or stride: an int >= 0 or a symbol string. */
int read_dim(prd *r, const pt2c_json *v, pt2c_sym *out);
/* Tensor metadata from object v (layout strided, storage offset 0). */
int read_meta(prd *r, const pt2c_json *v, pt2c_tensor_meta *m);
/* One fx argument (see the grammar in partitioned_json.c). Depth-capped recursion over lists. */
int read_arg(prd *r, pt2c_graph *g, const pt2c_json *v, const char *user, int depth, pt2c_arg *out);
/* The "graph" array of obj into g (path points at obj). */
int read_graph(prd *r, pt2c_graph *g, const pt2c_json *obj);
/* Graph plus attributes of a module object (top level or a fallback submodule). */
int read_module_body(prd *r, pt2c_module *m, const pt2c_json *obj);
/* The "submodules" map of the top module. */
int read_submodules(prd *r, pt2c_module *m, const pt2c_json *root);
/* A treespec string (or null/absent) as an arena C string. */
int read_spec(prd *r, const pt2c_json *root, const char *key, const char **out);
int read_symbols(prd *r, pt2c_module *m, const pt2c_json *root);
int read_op_schemas(prd *r, pt2c_module *m, const pt2c_json *root);

/*
 * Fallback graphs on worker threads (partitioned_json_par.c). read_submodules hands each large
 * fallback graph to defer_graph, which either takes it (*taken: read later by run_deferred) or
 * leaves it to be read at once. run_deferred reads the taken graphs on up to one thread per two
 * usable CPUs, each into the module's own ctx through a front (pt2c__ctx_new_front), so the
 * result is what reading them in order gives. A worker's error is not placed (its path is
 * partial): with r->deferred set, any failure of the read is to be read again in order
 * (r->par false), which finds the first error in document order, as it always has.
 */
int defer_graph(prd *r, pt2c_module *fb, const pt2c_json *obj, bool *taken);
int run_deferred(prd *r);
void jobs_free(prd *r);
void pt2c__partitioned_count_reread(void);
#define scratch_free pt2c__partitioned_scratch_free
/* Free a reader's own scratch (argument and dims buffers, metadata pool, node DOM, jobs). */
void scratch_free(prd *r);

#endif
