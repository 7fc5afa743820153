/*
 * ir.h -- the in-memory model shared by every layer: contexts, dtypes, symbolic ints, tensor
 * metadata, argument trees, graphs (nodes + values), storages, tensors, engine records, modules
 * (partitioned or plain) and exported programs.
 *
 * Internal header. ir knows nothing of files: serde fills these structs, export transforms them.
 *
 * Memory: every object of one module tree or program lives in one refcounted pt2c_ctx (an arena
 * plus an interned-string pool). Strings stored in IR structs are either interned (names, targets,
 * dotted attribute paths) or arena/input views with an explicit length (string arguments, metadata
 * values). Nothing is freed individually except storages, which are refcounted and may borrow
 * caller memory or a mapped file. Passes never copy storage bytes.
 *
 * Graph model (one model for partitioned modules and programs, close to torch.fx and the PT2
 * schema at once):
 * - a node has an op (placeholder/get_attr/call_function/call_module/output), a unique name, a
 *   target, inputs (named arguments; names are NULL for fx positional arguments), outputs (PT2
 *   output Arguments whose leaves are the values this node defines) and string metadata;
 * - a value is a named SSA result (tensor, list of tensors, sym int/bool/float, custom object)
 *   produced by exactly one node; arguments reference values by id;
 * - fx-style nodes (in partitioned modules) define exactly one value named like the node, with
 *   outputs = [{PT2C_ARG_FX_NODE, ref}]; `_operator.getitem` nodes pick list elements. Programs
 *   have no getitem nodes: multi-output nodes define one value per output, as in PT2 JSON.
 * - replace-all-uses is O(1): a value may be forwarded to another (pt2c__value_resolve follows the
 *   chain with path compression). pt2c__graph_compact() rewrites all references and drops erased
 *   nodes; passes call it at the end. Node order is a doubly linked list of node ids, so insertion
 *   before/after is O(1).
 */
#ifndef PT2C_IR_H
#define PT2C_IR_H

#include "util/util.h"
#include "ir/trt_names.h"

#define PT2C_NONE UINT32_MAX

/* MARK: context */

typedef struct pt2c_ctx {
	uint32_t refcount;
	pt2c_allocator alloc_storage; /* copy of the user's allocator (or zeroed for libc) */
	const pt2c_allocator *alloc;  /* &alloc_storage or NULL for libc */
	pt2c_arena arena;
	pt2c_strpool strings;
	bool has_subgraphs; /* HOP subgraphs were made in it (pt2c__graph_new_sub): else freeing a program does not walk its nodes for them */
} pt2c_ctx;

int pt2c__ctx_new(pt2c_ctx **out, const pt2c_allocator *alloc);
pt2c_ctx *pt2c__ctx_ref(pt2c_ctx *ctx);
void pt2c__ctx_unref(pt2c_ctx *ctx); /* frees the arena on the last reference; accepts NULL */
/*
 * A front of `parent` for one worker thread (*out, refcount 1): objects go to the front's own
 * arena, strings come from parent's pool (pt2c__strpool_front: parent->strings must be shared
 * with pt2c__strpool_share while fronts intern), so they are parent's strings. Several fronts of one parent may work at
 * once, each on its own thread; the parent itself is not used meanwhile. PT2C_ENOMEM.
 */
int pt2c__ctx_new_front(pt2c_ctx *parent, pt2c_ctx **out);
/* Hand the front's objects to parent (same thread as the parent's user, fronts done); then unref it. */
void pt2c__ctx_adopt(pt2c_ctx *parent, pt2c_ctx *front);
static inline const char *pt2c__ctx_intern(pt2c_ctx *c, const char *s, size_t n) { return pt2c__intern(&c->strings, s, n); }
static inline const char *pt2c__ctx_interns(pt2c_ctx *c, const char *s) { return pt2c__interns(&c->strings, s); }

/* MARK: dtypes, layouts, memory formats -- PT2 schema numbering (NOT c10's) */

enum {
	PT2C_DTYPE_UNKNOWN = 0,
	PT2C_DTYPE_UINT8 = 1,
	PT2C_DTYPE_INT8 = 2,
	PT2C_DTYPE_INT16 = 3,
	PT2C_DTYPE_INT32 = 4,
	PT2C_DTYPE_INT64 = 5,
	PT2C_DTYPE_FLOAT16 = 6,
	PT2C_DTYPE_FLOAT32 = 7,
	PT2C_DTYPE_FLOAT64 = 8,
	PT2C_DTYPE_COMPLEX32 = 9,
	PT2C_DTYPE_COMPLEX64 = 10,
	PT2C_DTYPE_COMPLEX128 = 11,
	PT2C_DTYPE_BOOL = 12,
	PT2C_DTYPE_BFLOAT16 = 13,
	PT2C_DTYPE_UINT16 = 28,
	PT2C_DTYPE_FLOAT8_E4M3FN = 29,
	PT2C_DTYPE_FLOAT8_E5M2 = 30,
	PT2C_DTYPE_FLOAT8_E4M3FNUZ = 31,
	PT2C_DTYPE_FLOAT8_E5M2FNUZ = 32,
	PT2C_DTYPE_COUNT = 33, /* table size; codes 14..27 are unused */
};
bool pt2c__dtype_valid(int64_t code);             /* a defined, non-UNKNOWN code */
size_t pt2c__dtype_size(int dtype);               /* bytes per element, 0 if invalid */
const char *pt2c__dtype_name(int dtype);          /* "float32", "bfloat16", ... ("unknown") */
const char *pt2c__dtype_short(int dtype);         /* PyTorch print form: "f32", "bf16", "i64", "b8" */
int pt2c__dtype_from_name(const char *s, size_t n); /* accepts "float32" and "torch.float32"; -1 if unknown */

enum { PT2C_LAYOUT_UNKNOWN = 0, PT2C_LAYOUT_STRIDED = 7, PT2C_LAYOUT_MAX = 7 };
enum { PT2C_MEMFMT_UNKNOWN = 0, PT2C_MEMFMT_CONTIGUOUS = 1, PT2C_MEMFMT_CHANNELS_LAST = 2,
       PT2C_MEMFMT_CHANNELS_LAST_3D = 3, PT2C_MEMFMT_PRESERVE = 4, PT2C_MEMFMT_MAX = 4 };

typedef struct pt2c_device {
	const char *type; /* interned: "cpu", "cuda", "meta", ... */
	int32_t index;    /* -1 = none (JSON null) */
} pt2c_device;

/* MARK: symbolic scalars */

enum {
	PT2C_SYM_INT = 0,   /* concrete int in .i */
	PT2C_SYM_BOOL = 1,  /* concrete bool in .i (0/1) */
	PT2C_SYM_FLOAT = 2, /* concrete float in .f */
	PT2C_SYM_EXPR = 3,  /* symbolic: expr (sympy srepr or a plain symbol name) + optional hint */
};
enum { PT2C_HINT_NONE = 0, PT2C_HINT_INT = 1, PT2C_HINT_BOOL = 2, PT2C_HINT_FLOAT = 3 };

typedef struct pt2c_sym {
	uint8_t kind;      /* PT2C_SYM_* */
	uint8_t hint_kind; /* for EXPR: PT2C_HINT_* */
	int64_t i;         /* INT/BOOL value, or INT/BOOL hint */
	double f;          /* FLOAT value or FLOAT hint */
	const char *expr;  /* interned, EXPR only */
} pt2c_sym;

static inline pt2c_sym pt2c__sym_int(int64_t v) { pt2c_sym s = { PT2C_SYM_INT, 0, v, 0.0, NULL }; return s; }

/**
 * The plain symbol name inside an expression: "s77" for "s77" and for
 * "Symbol('s77', positive=True, integer=True)"; NULL (and *len 0) if the expression is compound.
 */
const char *pt2c__sym_symbol_name(const char *expr, size_t *len);

/* MARK: tensor metadata */

typedef struct pt2c_tensor_meta {
	uint8_t dtype;  /* PT2C_DTYPE_* */
	uint8_t layout; /* PT2C_LAYOUT_* */
	bool requires_grad;
	pt2c_device device;
	uint32_t ndim;
	pt2c_sym *sizes;   /* ndim entries (INT or EXPR) */
	pt2c_sym *strides; /* ndim entries (INT or EXPR) */
	pt2c_sym storage_offset;
} pt2c_tensor_meta;

/** Contiguous strides for static sizes; fails (PT2C_EUNSUPPORTED) if a size is symbolic. */
int pt2c__meta_contiguous_strides(pt2c_ctx *ctx, pt2c_tensor_meta *m);
/** Deep copy into ctx's arena. */
int pt2c__meta_copy(pt2c_ctx *ctx, pt2c_tensor_meta *dst, const pt2c_tensor_meta *src);
/**
 * Bytes of storage a static view needs: (storage_offset + 1 + sum((size-1)*stride)) * elem, 0 for
 * an empty tensor. PT2C_ECORRUPT on overflow, negative or symbolic values.
 */
int pt2c__meta_storage_bytes(const pt2c_tensor_meta *m, uint64_t *out, pt2c_error *err);
bool pt2c__meta_equal(const pt2c_tensor_meta *a, const pt2c_tensor_meta *b);

/**
 * Shared tensor metadata for readers: equal metadata (and equal sizes/strides arrays) is stored
 * once in a ctx's arena. A graph repeats a handful of shapes, and values point at their
 * metadata, so a million tensor values cost a million pointers, not a million copies. The pool
 * only indexes (key bytes in its own arena); free it when reading is done, the shared copies stay.
 * The device type and symbolic expressions must be interned in that ctx (compared by pointer).
 */
typedef struct pt2c_meta_pool {
	const pt2c_allocator *alloc;
	pt2c_arena keys;
	pt2c_map dims;  /* encoded sym array -> shared array */
	pt2c_map metas; /* encoded metadata -> shared pt2c_tensor_meta */
	uint8_t *buf;
	size_t cap;
} pt2c_meta_pool;
void pt2c__meta_pool_init(pt2c_meta_pool *mp, const pt2c_allocator *alloc);
void pt2c__meta_pool_free(pt2c_meta_pool *mp);
/** The shared copy of m (its sizes/strides may be temporary). 0 or PT2C_ENOMEM. */
int pt2c__meta_pool_intern(pt2c_meta_pool *mp, pt2c_ctx *ctx, const pt2c_tensor_meta *m, const pt2c_tensor_meta **out);
/** The shared copy of a sizes/strides array a[0..n) (NULL for n == 0). 0 or PT2C_ENOMEM. */
int pt2c__meta_pool_dims(pt2c_meta_pool *mp, pt2c_ctx *ctx, const pt2c_sym *a, uint32_t n, pt2c_sym **out);

/* MARK: argument trees */

enum {
	PT2C_ARG_NONE = 0,
	PT2C_ARG_TENSOR,             /* u.ref */
	PT2C_ARG_TENSORS,            /* items: TENSOR */
	PT2C_ARG_INT,                /* u.i */
	PT2C_ARG_INTS,               /* items: INT */
	PT2C_ARG_FLOAT,              /* u.f (may be inf/nan) */
	PT2C_ARG_FLOATS,             /* items: FLOAT */
	PT2C_ARG_STRING,             /* u.s, n bytes */
	PT2C_ARG_STRINGS,            /* items: STRING */
	PT2C_ARG_SYM_INT,            /* u.ref, or u.i if flags & PT2C_ARGF_LITERAL */
	PT2C_ARG_SYM_INTS,           /* items: SYM_INT */
	PT2C_ARG_SCALAR_TYPE,        /* u.i = dtype code */
	PT2C_ARG_MEMORY_FORMAT,      /* u.i */
	PT2C_ARG_LAYOUT,             /* u.i */
	PT2C_ARG_DEVICE,             /* u.dev */
	PT2C_ARG_BOOL,               /* u.b */
	PT2C_ARG_BOOLS,              /* items: BOOL */
	PT2C_ARG_SYM_BOOL,           /* u.ref, or u.b if LITERAL */
	PT2C_ARG_SYM_BOOLS,          /* items: SYM_BOOL */
	PT2C_ARG_GRAPH,              /* u.g; in a program, u.g.graph is owned: made with pt2c__graph_new_sub */
	PT2C_ARG_OPTIONAL_TENSORS,   /* items: TENSOR or NONE */
	PT2C_ARG_CUSTOM_OBJ,         /* u.obj */
	PT2C_ARG_OPERATOR,           /* u.s, n */
	PT2C_ARG_SYM_FLOAT,          /* u.ref, or u.f if LITERAL */
	PT2C_ARG_SYM_FLOATS,         /* items: SYM_FLOAT */
	PT2C_ARG_OPTIONAL_TENSOR,    /* n = 1: items[0] is TENSOR or NONE */
	PT2C_ARG_COMPLEX,            /* u.c */
	PT2C_ARG_NESTED_TENSORS,     /* items: TENSORS */
	PT2C_ARG_INT_LISTS,          /* items: INTS */
	PT2C_ARG_STRING_TO_ARGUMENT, /* u.map->: n keys + n items */
	/* fx-only forms, found in partitioned modules and rewritten by the exporter */
	PT2C_ARG_FX_NODE,            /* u.ref: reference to a node's value whose kind decides the tag */
	PT2C_ARG_FX_LIST,            /* items: any */
	PT2C_ARG_FX_TUPLE,           /* items: any */
	/* a string argument whose text is the base64 of an engine's bytes, produced while writing */
	PT2C_ARG_ENGINE_B64,         /* u.engine */
	PT2C_ARG__COUNT
};

#define PT2C_ARGF_LITERAL 1u /* SYM_INT/SYM_BOOL/SYM_FLOAT hold a literal, not a ref */

struct pt2c_graph;
struct pt2c_engine_record;

typedef struct pt2c_arg pt2c_arg;
typedef struct pt2c_arg_map { const char **keys; uint32_t *key_lens; pt2c_arg *items; } pt2c_arg_map;
struct pt2c_arg { /* 24 bytes: argument lists are the largest part of a graph */
	uint8_t kind;
	uint8_t flags;
	uint32_t n; /* item count, or string length */
	union {
		uint32_t ref;
		int64_t i;
		double f;
		bool b;
		const char *s;
		pt2c_arg *items;
		pt2c_device dev;
		struct { double re, im; } c;
		struct { const char *name; struct pt2c_graph *graph; } g;
		struct { uint32_t ref; const char *class_fqn; } obj;
		pt2c_arg_map *map; /* rare: kept out of line */
		const struct pt2c_engine_record *engine;
	} u;
};

/** The value an argument leaf refers to (TENSOR, FX_NODE, CUSTOM_OBJ, non-literal SYM_*), else PT2C_NONE. */
uint32_t pt2c__arg_ref(const pt2c_arg *a);
/** Tag name as written in PT2 JSON ("as_tensor", ...); NULL for fx-only kinds. */
const char *pt2c__arg_tag(int kind);
/** Kind for a PT2 tag; -1 if unknown. */
int pt2c__arg_kind_from_tag(const char *tag, size_t n);
/** True for kinds whose payload is u.items with n entries. */
bool pt2c__arg_is_list(int kind);
/** Deep copy into ctx (strings are shared: they are immutable). */
int pt2c__arg_copy(pt2c_ctx *ctx, pt2c_arg *dst, const pt2c_arg *src);
/** Structural equality (refs compared through the given resolver maps: a_ref -> b_ref, or identity when NULL). */
bool pt2c__arg_equal(const pt2c_arg *a, const pt2c_arg *b);

/**
 * Visit every value reference (TENSOR, SYM_* non-literal, CUSTOM_OBJ, FX_NODE) in an argument tree
 * without recursion on untrusted depth (explicit stack, capped). The callback may rewrite *ref.
 * Returns 0, the callback's nonzero return, or PT2C_ENOMEM/PT2C_EUNSUPPORTED (too deep).
 */
typedef int (*pt2c_ref_cb)(uint32_t *ref, void *payload);
int pt2c__arg_foreach_ref(pt2c_arg *arg, pt2c_ref_cb cb, void *payload);

/* MARK: values and nodes */

enum {
	PT2C_VAL_NONE = 0,
	PT2C_VAL_TENSOR,      /* u.tensor (a pointer: metadata is shared between values) */
	PT2C_VAL_TENSOR_LIST, /* u.list (fx: value of an engine call_module node) */
	PT2C_VAL_SYM_INT,     /* u.sym */
	PT2C_VAL_SYM_BOOL,    /* u.sym */
	PT2C_VAL_SYM_FLOAT,   /* u.sym */
	PT2C_VAL_CUSTOM_OBJ,  /* u.obj */
	PT2C_VAL_TOKEN,
	PT2C_VAL_OTHER,       /* fx: a value with no recorded metadata (tuples, scalars) */
};

typedef struct pt2c_value {
	const char *name; /* the ctx's (its pool's, or its arena's when made by names.c), unique among the graph's values; compare bytes */
	uint8_t kind;     /* PT2C_VAL_* */
	bool has_meta;    /* false when the input gave no metadata (then u is zero) */
	uint32_t producer; /* node id, PT2C_NONE while unattached */
	uint32_t forward;  /* PT2C_NONE, or the value this one was replaced by */
	uint32_t n_uses;   /* maintained by pt2c__graph_recount_uses and the editing functions */
	union {
		const pt2c_tensor_meta *tensor; /* shared and immutable (arena); set when has_meta */
		struct { uint32_t n; pt2c_tensor_meta *items; } list;
		pt2c_sym sym;
		struct { const char *name; const char *class_fqn; } obj; /* PT2 CustomObjArgument */
	} u;
} pt2c_value;

enum { PT2C_OP_PLACEHOLDER = 0, PT2C_OP_GET_ATTR, PT2C_OP_CALL_FUNCTION, PT2C_OP_CALL_MODULE, PT2C_OP_OUTPUT, PT2C_OP__COUNT };
const char *pt2c__op_name(int op); /* "placeholder", ... */

enum { PT2C_ARGKIND_UNSET = 0, PT2C_ARGKIND_POSITIONAL = 1, PT2C_ARGKIND_KEYWORD = 2 };

typedef struct pt2c_named_arg {
	const char *name; /* interned; NULL for an fx positional argument */
	uint8_t kind;     /* PT2C_ARGKIND_*; UNSET is written as null */
	pt2c_arg arg;
} pt2c_named_arg;

typedef struct pt2c_kv {
	const char *key;  /* interned */
	const char *val;  /* arena or input view */
	uint32_t val_len;
} pt2c_kv;

#define PT2C_NODE_ERASED 1u
#define PT2C_NODE_NO_NAME 2u /* PT2 input had "name": null (older writers); the writer keeps it null */

typedef struct pt2c_node { /* fields ordered for no padding: 64 bytes, one per graph node */
	uint8_t op;
	uint8_t flags;
	int8_t hop_single_tensor_return; /* -1 = null, 0 = false, 1 = true */
	uint32_t n_inputs;
	const char *name;   /* the ctx's (its pool's, or its arena's when made by names.c), unique in the graph; compare bytes */
	const char *target; /* interned: op name, attribute path, submodule name, placeholder target */
	pt2c_named_arg *inputs;
	pt2c_arg *outputs;  /* leaves reference the values this node defines */
	pt2c_kv *meta;
	uint32_t n_outputs;
	uint32_t n_meta;
	uint32_t prev, next; /* order links (PT2C_NONE at the ends) */
} pt2c_node;

/* MARK: graphs */

typedef struct pt2c_graph {
	pt2c_ctx *ctx; /* borrowed from the owning module/program */
	pt2c_node *nodes;
	uint32_t n_nodes, cap_nodes;
	uint32_t first, last;
	uint32_t n_live;
	pt2c_value *values;
	uint32_t n_values, cap_values;
	pt2c_map32 names;       /* fx namespace: every name in use (nodes and values), with its value's id */
	pt2c_map base_count;    /* fx namespace: base -> highest suffix handed out */
	bool is_single_tensor_return; /* PT2 Graph field (subgraphs) */
	/*
	 * The names entry claimed last (names.c): a node's value is named like the node just
	 * created, so its claim skips a second intern and lookup. Valid while names.slots and
	 * names.count are those recorded (no insertion, hence no rehash, since).
	 */
	const char *memo_name;
	uint32_t *memo_slot;
	const void *memo_slots;
	size_t memo_count;
} pt2c_graph;

int pt2c__graph_new(pt2c_ctx *ctx, pt2c_graph **out);
/**
 * pt2c__graph_new for a subgraph an argument of a program's node will own (PT2C_ARG_GRAPH): marks
 * ctx->has_subgraphs, without which pt2c__program_free does not look for subgraphs to free.
 */
int pt2c__graph_new_sub(pt2c_ctx *ctx, pt2c_graph **out);
void pt2c__graph_free(pt2c_graph *g); /* the struct and its arrays; strings stay in the ctx */

/**
 * A fresh name following torch.fx's _Namespace.create_name: illegal identifier characters become
 * '_', a leading digit gets '_' prepended, and a taken name "base" or "base_N" gets the next
 * free "base_M". The name is reserved. Returns an interned string, NULL on OOM.
 */
const char *pt2c__graph_unique_name(pt2c_graph *g, const char *candidate);
/**
 * Free the graph's namespace tables (a sixteenth of a large graph's memory) when it will only be
 * read from now on: afterwards it must not get new nodes or values, and
 * pt2c__graph_find_value finds nothing.
 */
void pt2c__graph_drop_names(pt2c_graph *g);
/** Reserve an exact name; PT2C_EGRAPH if taken (duplicate), PT2C_ENOMEM. */
int pt2c__graph_reserve_name(pt2c_graph *g, const char *name);

/**
 * Append a node (before == PT2C_NONE) or insert it before node `before`. If `exact` is true the
 * name must be free (else PT2C_EGRAPH); otherwise a unique name is derived from it.
 * *out receives the node id. Inputs/outputs/meta start empty.
 */
int pt2c__graph_add_node(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                         uint32_t before, uint32_t *out);
/**
 * pt2c__graph_add_node (exact name, appended) for a name and target interned in g->ctx, the name
 * of `len` bytes with no NUL inside and its pt2c__hash (computed by the caller, maybe on another
 * thread): no second intern or hash. Same results and errors.
 */
int pt2c__graph_add_node_interned(pt2c_graph *g, int op, const char *name, size_t len, uint32_t hash,
                                  const char *target, uint32_t *out);
/** Like pt2c__graph_add_node, inserting after node `after` (PT2C_NONE = at the front). */
int pt2c__graph_add_node_after(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                               uint32_t after, uint32_t *out);
/**
 * Create a value. If `exact`, the name must be free among values (PT2C_EGRAPH otherwise, message
 * names it); else a unique name is derived. *out receives the value id. producer = PT2C_NONE.
 * A value may take the same name as the node that produces it (fx convention).
 */
int pt2c__graph_add_value(pt2c_graph *g, const char *name, bool exact, int kind, uint32_t *out);
/**
 * Make room for more nodes and values without the doubling of the add functions: arrays grow to
 * exactly what is asked (or by an eighth, whichever is more). For callers that know how much a
 * graph will grow (inlining), to keep peak memory down. Returns 0 or PT2C_ENOMEM.
 */
int pt2c__graph_reserve(pt2c_graph *g, uint32_t more_nodes, uint32_t more_values);
/**
 * For readers that know how many nodes a graph will get (the item count of a validated JSON
 * array): pt2c__graph_reserve for `more_nodes` nodes and as many values, and room in the name
 * table and the context's string pool for their names, so nothing is copied or rehashed while the
 * graph is read. A hint: nothing changes visibly; returns 0 or PT2C_ENOMEM (the graph unchanged
 * but possibly with more capacity).
 */
int pt2c__graph_presize(pt2c_graph *g, uint32_t more_nodes);
/* Fault in the reserved, unused part of the node and value arrays at once (pt2c__prefault): for
 * readers that fill them next, in order. */
void pt2c__graph_prefault(pt2c_graph *g);
/** Value id for a name (following no forwards), or PT2C_NONE. */
uint32_t pt2c__graph_find_value(const pt2c_graph *g, const char *name, size_t len);
/** pt2c__graph_find_value for a name interned in g->ctx (len bytes, no NUL inside) with its pt2c__hash. */
uint32_t pt2c__graph_find_value_interned(const pt2c_graph *g, const char *name, size_t len, uint32_t hash);

static inline pt2c_node *pt2c__node(pt2c_graph *g, uint32_t id) { return &g->nodes[id]; }
static inline pt2c_value *pt2c__value(pt2c_graph *g, uint32_t id) { return &g->values[id]; }
/** Follow forwards (with path compression). */
uint32_t pt2c__value_resolve(pt2c_graph *g, uint32_t id);
/* The same without shortening forwarding chains: the graph is only read (safe on several threads). */
uint32_t pt2c__value_resolve_const(const pt2c_graph *g, uint32_t id);

/** Give a node its inputs (array copied into the arena; arg trees are shallow-copied). */
int pt2c__node_set_inputs(pt2c_graph *g, uint32_t node, const pt2c_named_arg *inputs, uint32_t n);
/** Give a node its outputs; sets producer of every referenced value to `node`. */
int pt2c__node_set_outputs(pt2c_graph *g, uint32_t node, const pt2c_arg *outputs, uint32_t n);
/**
 * Like the two above without the copy: the node takes `inputs`/`outputs` as they are (arena
 * arrays that nothing else uses; NULL when n is 0).
 */
void pt2c__node_adopt_inputs(pt2c_graph *g, uint32_t node, pt2c_named_arg *inputs, uint32_t n);
int pt2c__node_adopt_outputs(pt2c_graph *g, uint32_t node, pt2c_arg *outputs, uint32_t n);
/** fx convenience: one value named like the node, outputs = [FX_NODE ref]. *value_out may be NULL. */
int pt2c__node_define_value(pt2c_graph *g, uint32_t node, int kind, uint32_t *value_out);
int pt2c__node_set_meta(pt2c_graph *g, uint32_t node, const pt2c_kv *kv, uint32_t n);
/** Like pt2c__node_set_meta, taking kv itself (an array of the graph's ctx, or of a front it adopts). */
void pt2c__node_adopt_meta(pt2c_graph *g, uint32_t node, pt2c_kv *kv, uint32_t n);
/** The single value a node defines (its only output leaf), or PT2C_NONE. */
uint32_t pt2c__node_value(const pt2c_graph *g, uint32_t node);

/**
 * Replace every use of value `from` by value `to` (O(1): forwarding). Forwarding is global: a
 * node that must keep reading `from` (e.g. `to`'s own producer) must be given fresh inputs
 * after this call, referencing a value that is not forwarded.
 */
void pt2c__graph_replace_uses(pt2c_graph *g, uint32_t from, uint32_t to);
/** Unlink and mark erased (its values keep existing until compact). */
void pt2c__graph_erase_node(pt2c_graph *g, uint32_t node);
/** Move node before `before` in the order. */
void pt2c__graph_move_before(pt2c_graph *g, uint32_t node, uint32_t before);
/** Recompute n_uses of every value from the live nodes' inputs (refs resolved). */
void pt2c__graph_recount_uses(pt2c_graph *g);
/*
 * Whether every value's n_uses is what pt2c__graph_recount_uses would set (a forwarded value's
 * is 0). The editing functions keep the counts, so passes rely on them rather than recount a
 * large graph; debug builds assert this where they do. True when memory for the check is short.
 */
bool pt2c__graph_uses_exact(const pt2c_graph *g);
/**
 * Rewrite every reference to its resolved value and drop erased nodes, renumbering ids into
 * order. Values that are no longer defined by a live node are removed too.
 */
int pt2c__graph_compact(pt2c_graph *g, pt2c_error *err);
/**
 * pt2c__graph_compact that also reports the renumbering: value_map_out (NULL or g->n_values entries,
 * sized before the call) receives for every old value id the new id of the value it resolves to,
 * or PT2C_NONE if that value was dropped. Use it to rewrite references held outside the graph.
 */
int pt2c__graph_compact_map(pt2c_graph *g, uint32_t *value_map_out, pt2c_error *err);

/** Iterate in order: for (id = g->first; id != PT2C_NONE; id = g->nodes[id].next). */
#define PT2C_GRAPH_FOREACH(g, id) for (uint32_t id = (g)->first; id != PT2C_NONE; id = (g)->nodes[id].next)

/** The output node, or PT2C_NONE. */
uint32_t pt2c__graph_output_node(const pt2c_graph *g);

/**
 * Copy every node of `src` except placeholders and the output node into `dst` before node
 * `before`. value_map[src value id] must be preset for src placeholders' values; it is filled for
 * every other value (names made unique in dst). Node metadata is shared.
 * value_map has src->n_values entries.
 */
int pt2c__graph_copy_into(pt2c_graph *dst, const pt2c_graph *src, uint32_t before, uint32_t *value_map,
                          pt2c_error *err);
/**
 * pt2c__graph_copy_into that moves instead of copying: the copied nodes take src's argument
 * arrays and trees (rewritten in place), so nothing is allocated per node but names. src must
 * share dst's ctx and own its argument trees (no tree shared between two nodes); afterwards only
 * its values and its placeholder and output nodes may still be read, and it must then be freed.
 */
int pt2c__graph_move_into(pt2c_graph *dst, pt2c_graph *src, uint32_t before, uint32_t *value_map, pt2c_error *err);

/**
 * Check the graph: names unique, every reference resolves to a value defined by a live node that
 * comes earlier (def before use, which also rules out cycles), placeholders first, exactly one
 * output node and it is last, targets non-empty. Returns 0 or PT2C_EGRAPH with a message naming
 * the first violating node. `resolve_target` (optional) returns false for targets that do not
 * resolve (get_attr paths, call_module names). A large graph is checked on helper threads first
 * (pt2c__helper_threads): resolve_target must then be safe to call on several threads at once,
 * and nothing may change g meanwhile; a graph that fails is checked again in order for the
 * message.
 */
typedef bool (*pt2c_target_cb)(const pt2c_node *n, void *payload);
int pt2c__graph_lint(pt2c_graph *g, pt2c_target_cb resolve_target, void *payload, pt2c_error *err);
/* For tests: how many graphs have passed pt2c__graph_lint on helper threads so far. */
unsigned long pt2c__graph_lint_par_count(void);
/* For tests: how many compactions have checked and rewritten their arguments on helper threads. */
unsigned long pt2c__graph_compact_par_count(void);

/* MARK: storages and tensors */

/**
 * Bytes owned, borrowed or mapped. Refcounted; when the count drops to zero `release` (if any)
 * is called with `release_ctx`. Storages are shared between tensors (tied weights) and between
 * a module and the program exported from it: bytes are never copied by a pass.
 */
typedef struct pt2c_storage {
	uint32_t refcount;
	const uint8_t *data;
	uint64_t nbytes;
	void (*release)(void *release_ctx);
	void *release_ctx;
	const pt2c_allocator *alloc; /* frees the struct */
	bool file_pages; /* data lies in a private read-only file mapping: see pt2c__storage_drop_pages */
	/*
	 * Pull storages (data == NULL, nbytes > 0): the bytes are produced on demand by pull(pull_ctx,
	 * offset, buf, n), which fills buf[0..n) with bytes [offset, offset+n) and returns 0, or
	 * nonzero when the source failed. Only writers stream them (pt2c__storage_read); code that
	 * needs the bytes in memory refuses them (engines, the partitioned writers).
	 */
	int (*pull)(void *pull_ctx, uint64_t offset, void *buf, size_t n);
	void *pull_ctx;
} pt2c_storage;

/** A storage over `data` (borrowed unless release is given). */
int pt2c__storage_new(const pt2c_allocator *alloc, const uint8_t *data, uint64_t nbytes,
                      void (*release)(void *), void *release_ctx, pt2c_storage **out);
/**
 * A pull storage of nbytes (see pt2c_storage): release (may be NULL) is called with release_ctx
 * when the last reference goes. PT2C_EINVALID for nbytes 0 or no pull; PT2C_ENOMEM.
 */
int pt2c__storage_new_pull(const pt2c_allocator *alloc, uint64_t nbytes,
                           int (*pull)(void *, uint64_t, void *, size_t), void *pull_ctx,
                           void (*release)(void *), void *release_ctx, pt2c_storage **out);
/** Whether the bytes are in memory (data) rather than produced by a pull callback. */
static inline bool pt2c__storage_in_memory(const pt2c_storage *s) { return !s || s->data || s->nbytes == 0; }
/**
 * Whether a and b hold the same bytes (same nbytes and contents). Pull storages are read through
 * their callbacks in pieces (scratch memory from alloc). Returns 0 with *equal set, PT2C_ENOMEM,
 * or PT2C_EIO when a pull callback failed.
 */
int pt2c__storage_equal(const pt2c_storage *a, const pt2c_storage *b, const pt2c_allocator *alloc, bool *equal);
/** A storage owning a copy of data (for small inputs such as decoded base64 in JSON). */
int pt2c__storage_copy(const pt2c_allocator *alloc, const void *data, uint64_t nbytes, pt2c_storage **out);
pt2c_storage *pt2c__storage_ref(pt2c_storage *s);
/**
 * Writers call this once they have streamed a storage out: the resident pages of a file_pages
 * storage go back to the kernel (they read back from the file if touched again), so writing an
 * archive does not accumulate its input in memory. A no-op for every other storage; NULL ok.
 */
void pt2c__storage_drop_pages(const pt2c_storage *s);
void pt2c__storage_unref(pt2c_storage *s); /* accepts NULL */

typedef struct pt2c_tensor {
	pt2c_tensor_meta meta;   /* sizes/strides/offset in elements inside the storage */
	pt2c_storage *storage;   /* counted reference; NULL = no data (0-byte file) */
} pt2c_tensor;

/* MARK: engine records (Torch-TensorRT serialized engine info) */

enum {
	PT2C_EF_ABI = 0,
	PT2C_EF_NAME = 1,
	PT2C_EF_DEVICE = 2,
	PT2C_EF_ENGINE = 3,
	PT2C_EF_IN_BINDINGS = 4,
	PT2C_EF_OUT_BINDINGS = 5,
	PT2C_EF_HW_COMPATIBLE = 6,
	PT2C_EF_METADATA = 7,
	PT2C_EF_PLATFORM = 8,
	PT2C_EF_REQUIRES_OUTPUT_ALLOCATOR = 9, /* ABI >= 7 */
	PT2C_EF_RESOURCE_ALLOCATION = 10,      /* ABI >= 8 */
	PT2C_EF_NATIVE_MULTIDEVICE = 11,       /* ABI >= 9 */
	PT2C_EF_ALIASED_IO = 12,               /* ABI 10 */
	PT2C_EF_MAX = 13,
};

typedef struct pt2c_engine_record {
	uint32_t abi;      /* 6..10 */
	uint32_t n_fields; /* 9..13 = field count for the ABI */
	struct { const char *p; uint32_t n; } fields[PT2C_EF_MAX]; /* field ENGINE is unused here */
	pt2c_storage *engine; /* counted reference: raw engine bytes, or base64 text if engine_b64 */
	bool engine_b64;      /* read side: engine storage still holds the base64 text */
} pt2c_engine_record;

/** Field count for an ABI string "6".."10"; 0 if unknown. */
uint32_t pt2c__engine_fields_for_abi(uint32_t abi);
/**
 * Validate: ABI known and field count matches, flag fields are non-empty decimal, device has 5
 * '%'-separated tokens with numeric first four, platform is a known name, binding names contain
 * no empty segment. Returns 0 or PT2C_ECORRUPT naming the field.
 */
int pt2c__engine_record_validate(const pt2c_engine_record *r, pt2c_error *err);
/** Raw engine bytes: decodes base64 into a new owned storage (caller unrefs) or refs the raw one. */
int pt2c__engine_record_raw(const pt2c_engine_record *r, const pt2c_allocator *alloc, pt2c_storage **out,
                            pt2c_error *err);
/** Name strings: "_run_on_acc_0_engine" etc. */
const char *pt2c__engine_field_name(int idx);

/*
 * Torch-TensorRT file generations (docs/generations.md): release name -> engine record ABI and
 * how the engine constant is stored (TorchBind custom_obj_N, or the 2.13+ Python-pickled
 * EngineSerializer opaque_obj_N).
 */
typedef struct pt2c_generation {
	const char *name;  /* "2.5" ... "2.13", "head" */
	uint32_t abi;      /* engine record ABI of that release */
	bool opaque;       /* engine constants are Python-pickled opaque objects (2.13+) */
} pt2c_generation;
/** The generation named `name`, or NULL. */
const pt2c_generation *pt2c__generation_find(const char *name);
/** The generation a record of `abi` belongs to by default (ABI 9: "2.12"), or NULL. */
const pt2c_generation *pt2c__generation_for_abi(uint32_t abi);
/** "ABI 6 (2.5, 2.6), 7 (2.7 .. 2.10), ..." for messages. */
const char *pt2c__generation_abi_list(void);
/**
 * Bring r to ABI `abi` (>= r->abi) in place: the fields added since take upstream's defaults
 * ("0" for the flag fields, "" for ALIASED_IO), the ABI field text becomes the new number
 * (interned in ctx). PT2C_EUNSUPPORTED when abi < r->abi (a target older than the record).
 */
int pt2c__engine_record_upgrade(pt2c_engine_record *r, uint32_t abi, pt2c_ctx *ctx, pt2c_error *err);

/* MARK: modules */

enum { PT2C_ATTR_PARAMETER = 0, PT2C_ATTR_BUFFER, PT2C_ATTR_CONSTANT, PT2C_ATTR_CUSTOM_OBJ };

typedef struct pt2c_attr {
	const char *fqn; /* interned dotted path */
	uint8_t kind;    /* PT2C_ATTR_* */
	bool persistent; /* buffers */
	pt2c_tensor tensor;            /* PARAMETER/BUFFER/CONSTANT */
	pt2c_engine_record *engine;    /* CUSTOM_OBJ of class tensorrt.Engine, else NULL */
	const char *class_fqn;         /* CUSTOM_OBJ: "__torch__.torch.classes.tensorrt.Engine" */
	pt2c_storage *blob;            /* CUSTOM_OBJ of another class: the raw pickled bytes, kept opaque;
	                                  engine_opaque: the pickle as read (rewritten verbatim), or NULL */
	bool engine_opaque;            /* stored as a Python pickle (opaque_obj_N, PyTorch 2.13+); with engine:
	                                  Torch-TensorRT's EngineSerializer */
} pt2c_attr;

enum { PT2C_SUB_ENGINE = 0, PT2C_SUB_FALLBACK = 1 };

struct pt2c_module;
typedef struct pt2c_submodule {
	const char *name; /* interned: "_run_on_acc_0", "_run_on_gpu_1" */
	uint8_t kind;
	pt2c_engine_record *engine;   /* ENGINE */
	struct pt2c_module *fallback; /* FALLBACK: owned */
} pt2c_submodule;

typedef struct pt2c_symrange {
	const char *name; /* interned symbol name ("s77") */
	bool has_min, has_max;
	int64_t min, max;
} pt2c_symrange;

typedef struct pt2c_module {
	pt2c_ctx *ctx; /* counted reference */
	pt2c_graph *graph;
	pt2c_attr *attrs; /* insertion order */
	uint32_t n_attrs, cap_attrs;
	pt2c_map attr_by_fqn; /* fqn -> index */
	pt2c_submodule *subs;
	uint32_t n_subs, cap_subs;
	pt2c_map sub_by_name;
	const char *in_spec, *out_spec; /* treespec JSON (protocol 1), NULL if unknown */
	pt2c_symrange *symbols;
	uint32_t n_symbols;
	pt2c_map op_schemas; /* optional: op target -> schema string (interned) given by the input */
	/*
	 * Buffer mutations declared by the export (aliased engine outputs, docs/generations.md E): the
	 * first n_mutation_outputs leaves of the output node's argument are the new values of the
	 * buffers mutation_targets[i] (interned fqns; arena array, replaced, never edited in place).
	 */
	const char **mutation_targets;
	uint32_t n_mutation_outputs;
} pt2c_module;

/*
 * Ownership inside a module: each attribute holds one reference to tensor.storage and to blob;
 * each attribute or submodule that points at an engine record holds one reference to
 * engine->engine (the record itself lives in the arena). Sharing a record between two holders
 * therefore means taking another pt2c__storage_ref(engine->engine). Arrays (attrs, subs) are
 * heap-allocated by the add functions; symbols live in the arena.
 */
int pt2c__module_new(pt2c_ctx *ctx, pt2c_module **out); /* takes its own reference on ctx */
void pt2c__module_free(pt2c_module *m); /* frees submodules, unrefs storages and the ctx */
/** Add an attribute (fqn interned by the call). PT2C_EGRAPH on a duplicate fqn. *out may be NULL. */
int pt2c__module_add_attr(pt2c_module *m, const char *fqn, int kind, pt2c_attr **out);
pt2c_attr *pt2c__module_find_attr(const pt2c_module *m, const char *fqn);
int pt2c__module_add_sub(pt2c_module *m, const char *name, int kind, pt2c_submodule **out);
pt2c_submodule *pt2c__module_find_sub(const pt2c_module *m, const char *name);
void pt2c__module_remove_sub(pt2c_module *m, const char *name); /* frees a fallback */

/*
 * Undo record for a pass over a module: everything a pass may change in place (the top graph's
 * node and value arrays and namespace, the attribute list and its index) is saved before the
 * pass, so that a failure can put the module back exactly as it was. Rules for a pass that uses
 * it: attributes are only appended (each holding its own references), submodules are not
 * removed and their engines not moved, argument trees of existing nodes are not rewritten in
 * place before the pass's last possible failure (compaction rewrites them only once nothing can
 * fail any more). Strings interned and arena memory used meanwhile stay (they are not state).
 * Costs a copy of the graph's arrays and tables while the pass runs.
 */
typedef struct pt2c_module_undo {
	pt2c_node *nodes;
	pt2c_value *values;
	uint32_t n_nodes, n_values, first, last, n_live;
	bool is_single_tensor_return;
	pt2c_map32 names;
	pt2c_map base_count;
	uint32_t n_attrs;
	pt2c_map attr_by_fqn;
	const char **mutation_targets;
	uint32_t n_mutation_outputs;
} pt2c_module_undo;
/** Save m's state into u. 0 or PT2C_ENOMEM (then u holds nothing). */
int pt2c__module_save(const pt2c_module *m, pt2c_module_undo *u);
/** Put m back into the state saved in u and release u. Never fails, never allocates. */
void pt2c__module_restore(pt2c_module *m, pt2c_module_undo *u);
/** Release u without restoring (the pass succeeded). */
void pt2c__module_undo_free(const pt2c_module *m, pt2c_module_undo *u);

/* MARK: exported programs */

enum {
	PT2C_IN_USER_INPUT = 0,
	PT2C_IN_PARAMETER,
	PT2C_IN_BUFFER,
	PT2C_IN_TENSOR_CONSTANT,
	PT2C_IN_CUSTOM_OBJ,
	PT2C_IN_TOKEN,
	PT2C_IN_CONSTANT_INPUT,
};
typedef struct pt2c_input_spec {
	uint8_t kind;
	bool persistent;    /* BUFFER */
	pt2c_arg arg;       /* USER_INPUT: any Argument; TENSOR kinds: TENSOR ref; CUSTOM_OBJ: CUSTOM_OBJ ref */
	const char *target; /* parameter_name / buffer_name / tensor_constant_name / custom_obj_name; CONSTANT_INPUT: name */
} pt2c_input_spec;

enum {
	PT2C_OUT_USER_OUTPUT = 0,
	PT2C_OUT_LOSS_OUTPUT,
	PT2C_OUT_BUFFER_MUTATION,
	PT2C_OUT_GRADIENT_TO_PARAMETER,
	PT2C_OUT_GRADIENT_TO_USER_INPUT,
	PT2C_OUT_USER_INPUT_MUTATION,
	PT2C_OUT_TOKEN,
	PT2C_OUT_PARAMETER_MUTATION,
};
typedef struct pt2c_output_spec {
	uint8_t kind;
	pt2c_arg arg;
	const char *target; /* buffer_name / parameter_name / user_input_name, else NULL */
} pt2c_output_spec;

typedef struct pt2c_module_call {
	const char *fqn;
	bool has_signature;
	uint32_t n_inputs, n_outputs;
	pt2c_arg *inputs, *outputs; /* Arguments (usually empty) */
	const char *in_spec, *out_spec; /* treespec strings */
	bool has_forward_arg_names;
	uint32_t n_forward_arg_names;
	const char **forward_arg_names;
} pt2c_module_call;

typedef struct pt2c_program {
	pt2c_ctx *ctx;         /* counted reference */
	pt2c_module *mod;      /* graph + attributes (no submodules); attrs in state_dict/constants order */
	pt2c_input_spec *inputs;
	uint32_t n_inputs;
	pt2c_output_spec *outputs;
	uint32_t n_outputs;
	pt2c_module_call *calls;
	uint32_t n_calls;
	pt2c_symrange *ranges;
	uint32_t n_ranges;
	/* header fields of model.json */
	int64_t schema_major, schema_minor;
	uint32_t n_opsets;
	struct { const char *name; int64_t version; } *opsets;
	uint32_t n_verifiers;
	const char **verifiers;
	const char *torch_version; /* NULL = absent */
	uint32_t n_guards;
	const char **guards_code;
	uint32_t n_gm_meta;
	pt2c_kv *gm_meta;          /* GraphModule.metadata */
	uint32_t n_namedtuples;
	struct { const char *type; uint32_t n; const char **fields; } *namedtuples;
	/* archive extras */
	uint32_t n_extra;
	uint32_t cap_extra; /* 0: extra lives in the arena (as read); else heap-owned (pt2c_program_set_extra_file) */
	struct pt2c_extra_file { const char *name; pt2c_storage *data; } *extra; /* extra/<name> records */
	pt2c_storage *sample_inputs; /* data/sample_inputs/model.pt bytes; NULL = 0 bytes */
} pt2c_program;

/*
 * Ownership inside a program: the arrays (inputs, outputs, calls, ranges, opsets, verifiers,
 * guards_code, gm_meta, namedtuples, extra) live in the ctx arena, except `extra` once it has
 * been edited (cap_extra > 0: heap, ctx allocator); program_free unrefs each extra[i].data and
 * sample_inputs, frees that array and mod, and drops the program's ctx reference.
 */
int pt2c__program_new(pt2c_ctx *ctx, pt2c_program **out); /* empty program, schema 8.17, aten opset 10 */
/**
 * Free a program, its module and the HOP subgraphs its nodes own (as_graph arguments: a program
 * owns the subgraphs its arguments point at; nothing shares them). Accepts NULL.
 */
void pt2c__program_free(pt2c_program *p);
/** Free only the subgraphs, clearing the references (idempotent; pt2c__program_free calls it). */
void pt2c__program_free_subgraphs(pt2c_program *p);
/** Deepest nesting of subgraphs that pt2c__program_free_subgraphs follows (readers allow 32). */
#define PT2C_SUBGRAPH_MAX_DEPTH 64
/** Compact p->mod->graph and rewrite the signature's references (inputs/outputs) to the new ids. */
int pt2c__program_compact(pt2c_program *p, pt2c_error *err);

/* MARK: printing (what PyTorch users read) */

/** torch.fx listing: "%x : [num_users=1] = placeholder[target=x]" ... plus submodules. */
int pt2c__module_print(pt2c_buf *b, const pt2c_module *m);
/** "ExportedProgram:" with the forward() body, "Graph signature:" and "Range constraints:". */
int pt2c__program_print(pt2c_buf *b, const pt2c_program *p);
/** "f32[2, 3, 8, 8]" style type of a tensor meta. */
void pt2c__meta_print(pt2c_buf *b, const pt2c_tensor_meta *m);

#endif
