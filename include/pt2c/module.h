/*
 * pt2c/module.h -- partitioned modules: a Torch-TensorRT top graph with engine segments
 * (_run_on_acc_N) and fallback segments (_run_on_gpu_N), its weights, and its pytree specs.
 *
 * A module is an opaque handle owning its graph, attributes and submodules. Weight and engine
 * bytes are either owned by the module (decoded from JSON) or borrowed from a mapped file that the
 * module keeps mapped until it is freed.
 */
#ifndef PT2C_MODULE_H
#define PT2C_MODULE_H

#include "pt2c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt2c_module pt2c_module;

/**
 * Read a partitioned module from its JSON form (see docs/partitioned-format.md and
 * ../shared/fixtures/torch-2.11/README.md).
 * @param out    receives the module (caller frees with pt2c_module_free); NULL on failure
 * @param data   JSON text; not referenced after the call returns
 * @param alloc  allocator or NULL for libc
 * @return 0, PT2C_ECORRUPT (malformed JSON or structure; err names the JSON path and byte offset),
 *         PT2C_EUNSUPPORTED, PT2C_EGRAPH (dangling reference, duplicate name), PT2C_ENOMEM
 */
int pt2c_module_parse_json(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                           pt2c_error *err);

/** Like pt2c_module_parse_json, reading the file at `path` (err->file is set). Also PT2C_EIO. */
int pt2c_module_load_json(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err);

/**
 * Open a partitioned module from `path`: a partitioned-module archive (docs/partitioned-format.md;
 * mapped, weights and engines stay in the mapping, which the module keeps alive) or the JSON form
 * (recognised by its first byte). err->file is set on failure.
 * @return 0, PT2C_EIO, PT2C_ENOTFOUND (no such file), PT2C_ECORRUPT, PT2C_EUNSUPPORTED,
 *         PT2C_EGRAPH, PT2C_ENOMEM
 */
int pt2c_module_open(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err);

/** Free a module and everything it owns. Accepts NULL. */
void pt2c_module_free(pt2c_module *m);

/**
 * Print the module as torch.fx does ("graph():" and "%x : [num_users=1] = placeholder[target=x]"
 * lines), followed by each fallback segment's graph.
 * @param out  receives a NUL-terminated string the caller frees with pt2c_free()
 */
int pt2c_module_print(pt2c_module *m, char **out, size_t *len);

/** Free memory returned by pt2c (strings from the print functions). Accepts NULL. */
void pt2c_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
