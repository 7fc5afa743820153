/*
 * pt2c/module.h -- partitioned modules: a Torch-TensorRT top graph with engine segments
 * (_run_on_acc_N) and fallback segments (_run_on_gpu_N), its weights, and its pytree specs.
 *
 * A module is an opaque handle owning its graph, attributes and submodules. Weight and engine
 * bytes are either owned by the module (decoded from JSON) or borrowed from a mapped file that the
 * module keeps mapped until it is freed. Every allocation for a module goes through the allocator
 * it was made with. Thread-safety and the codes every call may return (PT2C_EINVALID for misuse,
 * PT2C_ENOMEM): pt2c/common.h.
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
 * @param alloc  allocator or NULL for libc; the module keeps using it (see pt2c_allocator)
 * @param err    optional; filled on failure
 * @return 0; PT2C_ECORRUPT (malformed JSON or structure; err names the JSON path and byte
 *         offset); PT2C_EUNSUPPORTED (well-formed, but a feature pt2c does not handle);
 *         PT2C_EGRAPH (dangling reference, duplicate name); PT2C_ENOMEM; PT2C_EINVALID (out
 *         NULL, data NULL with len > 0). On failure *out is NULL and nothing is left allocated.
 */
int pt2c_module_parse_json(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                           pt2c_error *err);

/**
 * Like pt2c_module_parse_json, reading the file at `path` (mapped during the call only; err->file
 * is set on failure). Also PT2C_ENOTFOUND (no such file) and PT2C_EIO (the file cannot be read).
 */
int pt2c_module_load_json(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err);

/**
 * Open a partitioned module from `path`: a partitioned-module archive (docs/partitioned-format.md;
 * mapped, weights and engines stay in the mapping, which the module keeps alive) or the JSON form
 * (recognised by its first byte). err->file is set on failure.
 * @param alloc  allocator or NULL for libc (modules take an allocator where programs take
 *               pt2c_read_options: a module has no other read option)
 * @return 0; PT2C_ENOTFOUND (no such file); PT2C_EIO (cannot open, map or read it);
 *         PT2C_ECORRUPT (malformed archive, JSON or member; err names the member, JSON pointer
 *         and byte offset); PT2C_EUNSUPPORTED; PT2C_EGRAPH; PT2C_ENOMEM; PT2C_EINVALID (out or
 *         path NULL). On failure *out is NULL, the mapping is released, nothing stays allocated.
 */
int pt2c_module_open(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err);

/**
 * Where the bytes of one member named by an archive-form module.json come from, for
 * pt2c_module_build: a weight storage ("weights/<i>") or an engine ("engines/<name>").
 *
 * Exactly one of `data` and `pull` gives the bytes:
 * - `data`: `size` bytes of caller memory, BORROWED, never copied: they must stay valid and
 *   unchanged until the module and every program exported from it are freed.
 * - `pull` (data NULL, size > 0; weights only): called as pull(ctx, offset, buf, n) while a
 *   program holding the weight is written (pt2c_program_write), on the thread that called it (never
 *   on the writer's worker threads, one call at a time: the callback need not be thread-safe), with
 *   increasing offsets covering [0, size) in pieces of at most 4 MiB (again for each write). It
 *   fills buf[0..n) with bytes [offset, offset+n) and returns 0, or nonzero if it cannot: the
 *   write then fails with PT2C_EIO naming the member and the offset, and no output file is left.
 *   This is how a CUDA tensor's storage is copied to the host a piece at a time.
 * `release` (optional) is called with `ctx` exactly once, when pt2c no longer refers to the
 * member: when the last module or program using it is freed, or before pt2c_module_build
 * returns if the build fails or no weight or engine names it.
 */
typedef struct pt2c_member_source {
	const char *name;  /**< "weights/0", "engines/_run_on_acc_0": as module.json names it; copied */
	const void *data;  /**< borrowed bytes, or NULL with pull */
	uint64_t size;     /**< byte count */
	int (*pull)(void *ctx, uint64_t offset, void *buf, size_t n);
	void (*release)(void *ctx);
	void *ctx;
} pt2c_member_source;

/**
 * Build a partitioned module in memory from its description and the caller's bytes: `json` is
 * the module.json of a partitioned-module archive (docs/partitioned-format.md: weights name
 * "data_member": "weights/...", engine field 3 is {"member": "engines/..."}), read during the
 * call only; each member it names is looked up in `members` (n entries). Nothing is copied:
 * exporting and writing the result gives the same bytes as pt2c_module_open of an archive with
 * that module.json and those members (one writer, two doors).
 * @param out    receives the module (pt2c_module_free); NULL on failure
 * @param alloc  allocator or NULL for libc
 * @return 0, PT2C_EINVALID (out NULL; a member without name or bytes, two members of one name, an engine
 *         given as a pull callback is PT2C_EUNSUPPORTED), PT2C_ECORRUPT (malformed JSON or
 *         structure; a named member that is missing; a view that does not fit its member; err
 *         names "module.json:<JSON pointer>" and the byte offset), PT2C_EUNSUPPORTED,
 *         PT2C_EGRAPH, PT2C_ENOMEM. On failure every release callback has been called.
 * Thread-safety: as any call creating a new handle; pull callbacks run on the thread that writes.
 */
int pt2c_module_build(pt2c_module **out, const char *json, size_t json_len, const pt2c_member_source *members,
                      size_t n_members, const pt2c_allocator *alloc, pt2c_error *err);

/**
 * Free a module and everything it owns (a mapping it holds is released; release callbacks of
 * pt2c_module_build run once no program uses the member either). Accepts NULL. Never fails.
 */
void pt2c_module_free(pt2c_module *m);

/**
 * Print the module as torch.fx does ("graph():" and "%x : [num_users=1] = placeholder[target=x]"
 * lines), followed by each fallback segment's graph. Read-only (the module is not changed).
 * @param out  receives a NUL-terminated string the caller frees with pt2c_free() (allocated
 *             through the module's allocator); NULL on failure
 * @param len  optional; receives the string's length (without the NUL) on success
 * @return 0, PT2C_ENOMEM, PT2C_EINVALID (m or out NULL)
 */
int pt2c_module_print(const pt2c_module *m, char **out, size_t *len);

/**
 * Free memory handed out by pt2c (strings from the print, summary, record and listing functions,
 * engine bytes). Accepts NULL; anything else must be such a hand-out, freed once. A hand-out was
 * allocated through the allocator of the object (or options) that made it and records a copy of
 * that allocator, so this goes back to it, also after the object is freed. Never fails. May be
 * called from any thread (the allocator's `free` runs on it).
 */
void pt2c_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
