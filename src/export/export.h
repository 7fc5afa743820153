/*
 * export.h -- the passes that turn a partitioned module into an exported program, and the
 * load-side rewrite of cross-compiled programs. Each pass is linear in the number of nodes and
 * never copies weight or engine bytes. ir only; no files.
 */
#ifndef PT2C_EXPORT_INTERNAL_H
#define PT2C_EXPORT_INTERNAL_H

#include "ir/ir.h"

/* PT2C_ENGINE_CLASS_FQN, PT2C_TARGET_*: src/ir/trt_names.h */

/* MARK: operator schemas (argument names, kinds and return shapes for PT2 serialization) */

enum { PT2C_TY_OTHER = 0, PT2C_TY_TENSOR, PT2C_TY_TENSOR_LIST, PT2C_TY_OPT_TENSOR, PT2C_TY_OPT_TENSOR_LIST,
       PT2C_TY_INT, PT2C_TY_INT_LIST, PT2C_TY_SYMINT, PT2C_TY_SYMINT_LIST, PT2C_TY_FLOAT, PT2C_TY_FLOAT_LIST,
       PT2C_TY_BOOL, PT2C_TY_BOOL_LIST, PT2C_TY_STR, PT2C_TY_STR_LIST, PT2C_TY_SCALAR, PT2C_TY_SCALAR_TYPE,
       PT2C_TY_LAYOUT, PT2C_TY_DEVICE, PT2C_TY_MEMORY_FORMAT, PT2C_TY_CUSTOM_OBJ };

typedef struct pt2c_schema_arg {
	const char *name;
	uint8_t type;      /* PT2C_TY_* (Optional[T] maps to T except for tensors) */
	bool optional;     /* T? */
	bool kwarg_only;   /* after '*' */
	bool has_default;
} pt2c_schema_arg;

typedef struct pt2c_schema {
	const char *target;   /* "torch.ops.aten.mul.Tensor" */
	uint32_t n_args, n_returns;
	pt2c_schema_arg *args;
	pt2c_schema_arg *returns; /* names may be NULL */
} pt2c_schema;

typedef struct pt2c_schema_table pt2c_schema_table;
/** The built-in table (aten ops of PyTorch 2.11 and the tensorrt ops), parsed on first use. */
int pt2c__schema_table_new(pt2c_schema_table **out, pt2c_ctx *ctx, pt2c_error *err);
/** Add or replace one schema given as "aten::mul.Tensor(Tensor self, Tensor other) -> Tensor". */
int pt2c__schema_table_add(pt2c_schema_table *t, const char *schema, size_t len, pt2c_error *err);
const pt2c_schema *pt2c__schema_find(const pt2c_schema_table *t, const char *target);
void pt2c__schema_table_free(pt2c_schema_table *t);
/** An empty table (for schemas a module supplies on top of the built-in ones). */
int pt2c__schema_table_new_empty(pt2c_schema_table **out, pt2c_ctx *ctx, pt2c_error *err);
size_t pt2c__schema_table_count(const pt2c_schema_table *t);

/* MARK: passes (module -> module) */

/**
 * The call_module nodes of m's graph whose submodule is of `kind` (PT2C_SUB_*), in graph order,
 * collected before a pass starts rewriting. *out is NULL when there are none; free with
 * pt2c__free(m->ctx->alloc, *out).
 */
int pt2c__export_segment_calls(pt2c_module *m, int kind, uint32_t **out, uint32_t *n, pt2c_error *err);

int pt2c__pass_inline_engines(pt2c_module *m, bool cross_compile, pt2c_error *err);
int pt2c__pass_inline_fallbacks(pt2c_module *m, pt2c_error *err);
int pt2c__pass_dce(pt2c_module *m, pt2c_error *err);
/* The two inlining passes without their final compaction (erased nodes stay unlinked, replaced
 * values forwarded): for pipelines that compact once later (module_to_program does). */
int pt2c__pass_inline_engines_nocompact(pt2c_module *m, bool cross_compile, pt2c_error *err);
int pt2c__pass_inline_fallbacks_nocompact(pt2c_module *m, pt2c_error *err);
int pt2c__pass_dce_nocompact(pt2c_module *m, pt2c_error *err);
int pt2c__pass_remove_unused_submodules(pt2c_module *m, pt2c_error *err);
int pt2c__module_lint(const pt2c_module *m, pt2c_error *err);

/**
 * Helper shared by the passes: for every value v, head[v] starts a chain (through next[node]) of
 * the live fx getitem nodes `_operator.getitem(v, <int>)` in graph order. Arrays are allocated
 * with the graph's allocator (pt2c__free them); ids created later are not covered.
 */
int pt2c__export_getitem_index(pt2c_graph *g, uint32_t **head_out, uint32_t **next_out, pt2c_error *err);

/* MARK: module -> program */

/**
 * Lift get_attr nodes into placeholders with input specs in canonical order (parameters, buffers,
 * tensor constants, custom objects, user inputs), fold getitems and name arguments by schema, and
 * build signature, call graph, range constraints, state dict and constants. Consumes the module
 * (its ctx, graph and storages move to the program; *m is set to NULL).
 */
int pt2c__module_to_program(pt2c_program **out, pt2c_module **m, const pt2c_schema_table *schemas,
                            pt2c_error *err);

/**
 * All of the above in pt2c_export's order: inline engines (normal or cross), inline fallbacks,
 * remove unused submodules, DCE, lint, module_to_program, program lint. schemas may be NULL (the
 * built-in table is used). Consumes *m on success and failure.
 */
int pt2c__export_module(pt2c_program **out, pt2c_module **m, bool cross_compile, const pt2c_schema_table *schemas,
                        pt2c_error *err);

/** Load side: replace no_op_placeholder_for_execute_engine nodes by engine objects. */
int pt2c__program_resolve_cross(pt2c_program *p, pt2c_error *err);
/** Signature/graph consistency check for programs. */
int pt2c__program_lint(const pt2c_program *p, pt2c_error *err);

/**
 * Raw engine bytes of a tensor-typed serialized_engine argument `a` of placeholder nd (a lifted
 * contiguous uint8 buffer or constant): *out is a new view of its storage. PT2C_ECORRUPT otherwise.
 */
int pt2c__cross_engine_from_tensor(const pt2c_program *p, const pt2c_node *nd, const pt2c_arg *a, pt2c_storage **out,
                                   pt2c_error *err);

/* MARK: file generations (generation.c, docs/generations.md) */

/** The generation named `target` (NULL target: *out NULL, 0); PT2C_EINVALID naming the choices. */
int pt2c__generation_resolve(const char *target, const pt2c_generation **out, pt2c_error *err);
/** Upgrade every engine record of m (and its fallbacks) to gen's ABI; refuses newer records. */
int pt2c__module_set_target(pt2c_module *m, const pt2c_generation *gen, pt2c_error *err);
/**
 * Bring a program to gen: engine records upgraded, engine constants in gen's encoding,
 * cross-compile placeholders given gen's argument list. A record newer than gen is refused
 * (PT2C_EUNSUPPORTED) before anything changes.
 */
int pt2c__program_set_target(pt2c_program *p, const pt2c_generation *gen, pt2c_error *err);
/** Default encoding of freshly exported engines: the one of the first release of their ABI. */
int pt2c__program_default_encoding(pt2c_program *p);

#endif
