/*
 * pt2json_read.h -- private to the models/model.json reader (pt2json_read*.c): its state, its
 * small typed helpers over util/json_reader.h, and the functions its files share.
 *
 *   pt2json_read.c          entry points, subgraph freeing after a failed read
 *   pt2json_read_meta.c     symbolic scalars, devices, tensor metadata
 *   pt2json_read_args.c     Argument unions, value definitions and references
 *   pt2json_read_graph.c    graphs, nodes, metadata tables (lazy tensor_values)
 *   pt2json_read_program.c  signature, module call graph, program header
 *
 * The short names below (read_arg, read_graph, ...) are macros for library-internal names, so the
 * files read as one reader while no two readers' symbols can clash.
 */
#ifndef PT2C_PT2JSON_READ_H
#define PT2C_PT2JSON_READ_H

#include "serde/serde.h"
#include "util/json_reader.h"

#define GRAPH_MAX_DEPTH 32 /* nested HOP subgraphs */
#define ARG_MAX_DEPTH 64   /* nested argument containers (string_to_argument maps) */

/* Per-graph lookup tables: name -> index of the member in the metadata objects. */
typedef struct meta_maps {
	const pt2c_json *tv, *si, *sb, *sf, *co;
	pt2c_map mtv, msi, msb, msf, mco;
	bool tv_read; /* tensor_values was a lazy span, read up front: mtv maps a name to its pt2c_tensor_meta */
} meta_maps;

struct pdefer;

typedef struct rd {
	pt2c_jr jr; /* the path and error placement */
	pt2c_ctx *ctx;
	pt2c_error *err;
	const char *src; /* string bytes inside [src, src+src_len) are kept as views; others copied */
	size_t src_len;
	uint32_t graph_depth; /* nested graphs */
	uint32_t arg_depth;
	uint32_t gdepth;       /* path depth of the graph being read */
	pt2c_graph **subs;     /* every subgraph created, freed again if the read fails */
	size_t n_subs, cap_subs;
	const char *cur_node;  /* for dangling-reference messages */
	const char *cur_input;
	pt2c_json_opts jopts;  /* the document's parse options (lazy spans are parsed with them) */
	pt2c_arena *sym_arena; /* when set, sizes/strides are read here instead of the ctx arena */
	bool file_mapped;      /* src lies in an mmap of a file: drop_behind may give its pages back */
	size_t raw_done;       /* lazy spans read to their end (pt2c__json_parse_skim's duty) */
	struct pdefer *defer;  /* a worker's reader (pt2json_read_par.c): nodes are recorded, not added */
} rd;

enum { MODE_REF = 0, MODE_DEF = 1 };

typedef struct gst {
	pt2c_graph *g;
	meta_maps mm;
} gst;

#define FAIL(r, v, ...) pt2c__jr_fail(&(r)->jr, PT2C_ECORRUPT, (v), __VA_ARGS__)
#define fail_code(r, code, v, ...) pt2c__jr_fail(&(r)->jr, (code), (v), __VA_ARGS__)
/* The path has /key (/i) until the end of the enclosing block. */
#define AT(r, key) PT2C_JR_AT(&(r)->jr, key)
#define AT_N(r, key, n) PT2C_JR_AT_N(&(r)->jr, key, n)
#define AT_IDX(r, i) PT2C_JR_AT_IDX(&(r)->jr, i)
/* for each element (it.val, it.i) or member (it.key, it.val) of c while cond holds, at its path */
#define EACH(r, it, c, cond) PT2C_JR_EACH(&(r)->jr, it, c, cond)

/* pt2c__drop_behind for src when it is a file view: a graph-heavy model.json is larger than the program read from it. */
static inline void drop_behind(rd *r, uint64_t *done, uint64_t upto, bool final)
{
	if (r->file_mapped && upto <= r->src_len)
		pt2c__drop_behind(r->src, done, upto, final);
}

/* MARK: typed field access */

/* Required member `key` of object o (which must be an object); on absence fails naming the key. */
static inline int req(rd *r, const pt2c_json *o, const char *key, const pt2c_json **out)
{
	return pt2c__jr_field(&r->jr, o, key, PT2C_JR_ANY, 0, out);
}

/* Optional member: NULL when absent or null. */
static inline const pt2c_json *opt(const pt2c_json *o, const char *key)
{
	const pt2c_json *v = pt2c__json_get(o, key);
	return (v && v->type != PT2C_JSON_NULL) ? v : NULL;
}

static inline int want(rd *r, const pt2c_json *v, int type) { return pt2c__jr_want(&r->jr, v, type); }
static inline int get_int(rd *r, const pt2c_json *v, int64_t *out) { return pt2c__jr_int(&r->jr, v, out); }
static inline int get_bool(rd *r, const pt2c_json *v, bool *out) { return pt2c__jr_bool(&r->jr, v, out); }

static inline bool str_is(const pt2c_json *v, const char *s)
{
	size_t n = strlen(s);
	return v->n == n && memcmp(v->u.s, s, n) == 0;
}

static inline int intern_str(rd *r, const pt2c_json *v, const char **out)
{
	if (!pt2c__json_is(v, PT2C_JSON_STRING))
		return pt2c__jr_type_error(&r->jr, v, "a string");
	const char *s = pt2c__ctx_intern(r->ctx, v->u.s, v->n);
	if (!s)
		return pt2c__err_oom(r->err);
	*out = s;
	return 0;
}

/* A string kept as a view when it lies in the source text, else copied into the arena. */
static inline int view_str(rd *r, const pt2c_json *v, const char **out, uint32_t *len)
{
	if (!pt2c__json_is(v, PT2C_JSON_STRING))
		return pt2c__jr_type_error(&r->jr, v, "a string");
	if (!r->src || (v->u.s >= r->src && v->u.s + v->n <= r->src + r->src_len)) {
		*out = v->u.s;
	} else {
		char *c = pt2c__arena_strndup(&r->ctx->arena, v->u.s, v->n);
		if (!c)
			return pt2c__err_oom(r->err);
		*out = c;
	}
	*len = v->n;
	return 0;
}

static inline int req_int(rd *r, const pt2c_json *o, const char *key, int64_t *out)
{
	const pt2c_json *v = NULL;
	int rc = pt2c__jr_field(&r->jr, o, key, PT2C_JSON_INT, 0, &v);
	if (!rc)
		*out = v->u.i;
	return rc;
}

static inline int req_intern(rd *r, const pt2c_json *o, const char *key, const char **out)
{
	const pt2c_json *v = NULL;
	int rc = req(r, o, key, &v);
	if (rc)
		return rc;
	AT(r, key);
	return intern_str(r, v, out);
}

/* Single-key union object: the tag and its value. */
static inline int union_of(rd *r, const pt2c_json *v, const pt2c_json **tag, const pt2c_json **val)
{
	if (!pt2c__json_is(v, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(&r->jr, v, "a union object");
	if (v->n != 1)
		return FAIL(r, v, "a union must have exactly one key, got %u", v->n);
	*tag = pt2c__json_key(v, 0);
	*val = pt2c__json_val(v, 0);
	return 0;
}

static inline void *arena_array(rd *r, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	return pt2c__arena_calloc(&r->ctx->arena, n, size);
}

/* MARK: shared between the reader's files */

#define get_float pt2c__pt2json_get_float
#define read_sym pt2c__pt2json_read_sym
#define read_device pt2c__pt2json_read_device
#define read_meta pt2c__pt2json_read_meta
#define read_arg pt2c__pt2json_read_arg
#define tensor_arg pt2c__pt2json_tensor_arg
#define custom_obj_arg pt2c__pt2json_custom_obj_arg
#define read_graph pt2c__pt2json_read_graph
#define read_program pt2c__pt2json_read_program
#define read_node pt2c__pt2json_read_node

/* Python float(): numbers, and the non-finite spellings json/float() accept. */
int get_float(rd *r, const pt2c_json *v, double *out);
/* SymInt/SymBool/SymFloat union: {"as_int"|"as_bool"|"as_float": v} or {"as_expr": SymExpr}. */
int read_sym(rd *r, const pt2c_json *v, int sym_kind, pt2c_sym *out);
int read_device(rd *r, const pt2c_json *v, pt2c_device *d);
int read_meta(rd *r, const pt2c_json *v, pt2c_tensor_meta *m);
/* One Argument union; in MODE_DEF its names define values, in MODE_REF they must exist. */
int read_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out);
/* {"name": str} TensorArgument/TokenArgument. */
int tensor_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out);
int custom_obj_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out);
int read_graph(rd *r, const pt2c_json *gv, pt2c_graph *g);
int read_program(rd *r, pt2c_program *p, const pt2c_json *root);
/* One item of a graph's "nodes" (a worker's reader records it: see below). */
int read_node(rd *r, gst *s, const pt2c_json *nv);

/* MARK: a lazy tensor_values span, one entry at a time */

/* One reader's state (the calling thread's, or a worker's) over a tensor_values span. */
typedef struct tv_state {
	pt2c_meta_pool mp;       /* equal metadata stored once */
	pt2c_arena dom, syms;    /* the entry being read */
	uint64_t prev_at, prev_len; /* the text of the last value parsed: a value of equal text is not parsed again */
	const pt2c_tensor_meta *prev;
} tv_state;
void pt2c__pt2json_tv_init(tv_state *t, const pt2c_allocator *a);
void pt2c__pt2json_tv_free(tv_state *t);
/*
 * The entry after *cursor of the lazy span raw: *key (its decoded key, in t->dom or the text;
 * NULL after the last) and *meta (shared, in r->ctx). The path is left at the entry's key.
 */
int pt2c__pt2json_tv_next(rd *r, tv_state *t, const pt2c_json *raw, uint64_t *cursor, const pt2c_json **key,
                          const pt2c_tensor_meta **meta);
/* Add that entry to s->mm.mtv (its name interned); a name seen before fails. */
int pt2c__pt2json_tv_add(rd *r, gst *s, const pt2c_json *key, const pt2c_tensor_meta *meta);

/* MARK: the nodes of a large graph read on worker threads (pt2json_read_par.c) */

/*
 * A worker's reader has r->defer set: read_node records each node (pt2c_pnode) instead of adding
 * it, and name_ref records each value name it refers to or defines (pt2c_pend) instead of
 * resolving it; the calling thread adds them in order (pt2c__pt2json_nodes_par). What a worker
 * cannot record that way (a subgraph, a definition of anything but a tensor) makes read_node
 * return PT2C__EDEFER, and that node is read in order.
 */
#define PT2C__EDEFER (-1000)

typedef struct pt2c_pend {
	uint32_t *slot;               /* the argument's value id, set when the node is added */
	const char *name;             /* interned */
	const pt2c_tensor_meta *meta; /* a definition: its tensor_values entry (NULL: none) */
	uint32_t len;                 /* (no NUL inside: a name with one is read in order) */
	uint32_t hash;                /* pt2c__hash of the name */
	uint8_t def;                  /* 0: a reference; else a definition of a value of kind def */
} pt2c_pend;

typedef struct pt2c_pnode {
	const char *name, *target; /* interned */
	pt2c_named_arg *inputs;    /* the worker's front arena, adopted as they are */
	pt2c_arg *outputs;
	pt2c_kv *meta;
	uint32_t n_inputs, n_outputs, n_meta;
	uint32_t pend0, pend1; /* its names: pend[pend0, pend1) */
	uint32_t len, hash;    /* of the name (without no_name), as in pt2c_pend */
	uint64_t start;        /* the cursor before the node's item */
	int8_t hop;            /* is_hop_single_tensor_return */
	bool no_name;
	bool in_order;         /* PT2C__EDEFER: read it in order */
} pt2c_pnode;

typedef struct pdefer {
	pt2c_pnode *nodes;
	size_t n, cap;
	pt2c_pend *pend;
	size_t n_pend, cap_pend;
	const pt2c_allocator *alloc;
} pdefer;

/*
 * Read the nodes of the lazy span `nodes` of s->g on worker threads when it is large and there
 * are CPUs for it: the nodes are added in order, exactly as read_node adds them, and what the
 * workers could not take (a node they cannot record, a stretch they did not read) is read with
 * read_node in its place. Returns 0 with *cursor and *i where reading in order goes on (the
 * cursor after the last node added, and their count; unchanged when nothing was done): the
 * span's end, or where the workers' reading ended. Nonzero: the error of a node read in order,
 * or PT2C_ENOMEM while adding. *dropped: pages of the text given back up to there.
 */
int pt2c__pt2json_nodes_par(rd *r, gst *s, const pt2c_json *nodes, uint64_t *cursor, uint32_t *i, uint64_t *dropped);
/*
 * The same for the lazy tensor_values span raw of s->g, read into s->mm.mtv (the entries' names
 * interned and added in order on the calling thread, as pt2c__pt2json_tv_add adds them).
 */
int pt2c__pt2json_tv_par(rd *r, gst *s, const pt2c_json *raw, uint64_t *cursor, uint64_t *dropped);
/* How many spans went to workers, nodes the calling thread read in their place, chunks it skipped (tests). */
void pt2c__pt2json_par_counts(uint64_t *spans, uint64_t *nodes_in_order, uint64_t *chunks_skipped);

#endif
