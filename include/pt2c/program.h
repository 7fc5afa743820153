/*
 * pt2c/program.h -- exported programs and PT2 archives (.pt2 files as torch.export.save of
 * PyTorch 2.11 writes them and torch.export.load reads them).
 *
 * Reading maps the archive: weights, constants and engines stay in the mapping (no copy) and the
 * program keeps the mapping alive until pt2c_program_free: a file truncated while mapped makes
 * the next access fault (SIGBUS; the pt2c command reports it). Writing streams to
 * "<path>.tmp.<pid>.XXXXXX" in the target folder and renames it into place only when complete
 * (see pt2c/common.h for the temporary files). Every allocation for a program goes through the
 * allocator of its read options (programs made by pt2c_export: the module's). Thread-safety and
 * the codes every call may return (PT2C_EINVALID for misuse, PT2C_ENOMEM): pt2c/common.h.
 * Functions taking a `const pt2c_program *` do not change what the program holds or writes.
 */
#ifndef PT2C_PROGRAM_H
#define PT2C_PROGRAM_H

#include "pt2c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt2c_program pt2c_program;

#define PT2C_READ_VERIFY_CRC 1u /**< verify the CRC-32 of every archive member */

typedef struct pt2c_read_options {
	unsigned int version;       /**< PT2C_READ_OPTIONS_VERSION */
	unsigned int flags;         /**< PT2C_READ_* */
	uint32_t max_json_depth;    /**< 0 = default (512) */
	const pt2c_allocator *alloc; /**< NULL = libc */
} pt2c_read_options;
#define PT2C_READ_OPTIONS_VERSION 1
#define PT2C_READ_OPTIONS_INIT { PT2C_READ_OPTIONS_VERSION, 0, 0, NULL }
/** Fill *o with the defaults of the current version (PT2C_READ_OPTIONS_INIT). Accepts NULL; never fails. */
void pt2c_read_options_init(pt2c_read_options *o);

typedef struct pt2c_write_options {
	unsigned int version;  /**< PT2C_WRITE_OPTIONS_VERSION */
	const char *root;      /**< archive root folder; NULL = the file's basename without extension */
	/** Called now and then while writing (done <= total bytes), on the calling thread. May be NULL. */
	void (*progress)(uint64_t done, uint64_t total, void *payload);
	void *payload;
	/* version 2 */
	/**
	 * Threads that write, the calling thread included: 0 = one per online CPU (the default), 1 =
	 * no other thread. The bytes written are the same for every count. Pull callbacks
	 * (pt2c_member_source.pull) still run on the calling thread only, one call at a time.
	 */
	unsigned int threads;
} pt2c_write_options;
#define PT2C_WRITE_OPTIONS_VERSION 2
#define PT2C_WRITE_OPTIONS_INIT { PT2C_WRITE_OPTIONS_VERSION, NULL, NULL, NULL, 0 }
/** Fill *o with the defaults of the current version (PT2C_WRITE_OPTIONS_INIT). Accepts NULL; never fails. */
void pt2c_write_options_init(pt2c_write_options *o);

/*
 * Options structs are versioned: every function taking one (NULL = defaults) accepts versions 1
 * to the current one and returns PT2C_EINVALID ("... version N is not supported") otherwise.
 */

/**
 * Open a .pt2 archive (2.11 layout, 2.8 layout with pickled weights, or the legacy top-level
 * layout) by mapping it. The program keeps the mapping until it is freed.
 * @param out   receives the program (pt2c_program_free); NULL on failure
 * @param opts  NULL = PT2C_READ_OPTIONS_INIT; opts->alloc is the program's allocator
 * @param err   optional; err->file is set on failure
 * @return 0; PT2C_ENOTFOUND (no such file); PT2C_EIO (cannot open, map or read it);
 *         PT2C_ECORRUPT (malformed archive, JSON, pickle or record; err names the member, the
 *         JSON pointer and the byte offset; with PT2C_READ_VERIFY_CRC also a CRC mismatch);
 *         PT2C_EUNSUPPORTED (well-formed, but a layout or feature pt2c does not handle);
 *         PT2C_ENOMEM; PT2C_EINVALID (out or path NULL, options version). On failure nothing
 *         stays allocated or mapped.
 */
int pt2c_program_open(pt2c_program **out, const char *path, const pt2c_read_options *opts, pt2c_error *err);
/**
 * Same, from an open file descriptor (not closed; the mapping made from it is the program's, the
 * descriptor may be closed once this returns). PT2C_EINVALID also for fd < 0; err->file stays
 * empty.
 */
int pt2c_program_open_fd(pt2c_program **out, int fd, const pt2c_read_options *opts, pt2c_error *err);
/**
 * Same, from memory. `data` is borrowed: it must stay valid and unchanged until the program (and
 * everything it hands out) is freed. Returns the codes of pt2c_program_open but PT2C_ENOTFOUND and
 * PT2C_EIO.
 */
int pt2c_program_parse(pt2c_program **out, const uint8_t *data, size_t len, const pt2c_read_options *opts,
                       pt2c_error *err);

/**
 * Write the program as a 2.11-layout archive at `path` (atomically: a temporary file in the same
 * folder, renamed into place when complete; removed on any failure). Weights and engine bytes are
 * checksummed, base64-encoded and written by opts->threads threads at once (version 2; version 1
 * options and NULL mean one per CPU the process may use: affinity mask and cgroup CPU quota),
 * with a 1 MiB buffer each; the output does not depend on the thread count. Threads started
 * here have ended when the call returns. The program is not changed; allocations go through its
 * allocator (on the calling thread only).
 * @param opts  NULL = PT2C_WRITE_OPTIONS_INIT
 * @param err   optional; err->file is `path`, err->member the member being written
 * @return 0; PT2C_EIO (the folder, temporary file or rename failed, the disk is full, or a pull
 *         callback failed; err names errno's text and the offset); PT2C_ECORRUPT (a member the
 *         program holds does not hold together, e.g. a weight view past its storage);
 *         PT2C_EUNSUPPORTED (something the 2.11 layout cannot express, e.g. a symbolic weight
 *         size); PT2C_EGRAPH; PT2C_ENOMEM; PT2C_EINVALID (p or path NULL, options version, opts->root
 *         with a slash, a custom object with neither a record nor bytes). On
 *         failure no file is left at `path` (an existing one is untouched) nor a temporary one.
 */
int pt2c_program_write(const pt2c_program *p, const char *path, const pt2c_write_options *opts, pt2c_error *err);

/**
 * Bring the program to a Torch-TensorRT file generation (what `pt2c convert --target` does):
 * target "2.5" ... "2.13" or "head" (docs/generations.md). Engine records are upgraded to the
 * target's ABI (added fields take upstream's defaults), engine constants take its encoding
 * (TorchBind custom_obj_N up to 2.12, Python-pickled opaque_obj_N from 2.13) and cross-compile
 * placeholders its argument list; pt2c_program_write then writes that generation. Without this
 * call a program is written in the generation it was read in.
 * Not thread-safe on the same program.
 * @return 0; PT2C_EINVALID (unknown target, p or target NULL, a record of an unknown ABI);
 *         PT2C_EUNSUPPORTED (an engine record newer than the target); PT2C_ECORRUPT (a malformed
 *         placeholder); PT2C_ENOMEM. On any failure the program is unchanged (all or nothing).
 */
int pt2c_program_set_target(pt2c_program *p, const char *target, pt2c_error *err);

/**
 * Free a program and release its mapping (and, for programs exported from pt2c_module_build, the
 * members no other object uses: their release callbacks run). Accepts NULL. Never fails.
 */
void pt2c_program_free(pt2c_program *p);

/**
 * Print as PyTorch prints an ExportedProgram: the forward() body with "f32[2, 3]" types, then
 * "Graph signature:" (# inputs / # outputs with kinds and targets) and "Range constraints:".
 * @param out  NUL-terminated string, freed with pt2c_free(); NULL on failure
 * @param len  optional; its length on success
 * @return 0, PT2C_ENOMEM, PT2C_EINVALID (p or out NULL)
 */
int pt2c_program_print(const pt2c_program *p, char **out, size_t *len);

/**
 * Check the program: graph lint (def before use, unique names, one output node), signature
 * matches placeholders and outputs, every parameter/buffer/constant/custom object target exists
 * with the right kind, engine records valid. Read-only.
 * @return 0; PT2C_EGRAPH or PT2C_ECORRUPT with the first violation in err; PT2C_EUNSUPPORTED (a
 *         construct lint does not know); PT2C_ENOMEM; PT2C_EINVALID (p NULL)
 */
int pt2c_program_lint(const pt2c_program *p, pt2c_error *err);

/**
 * Replace Torch-TensorRT cross-compile placeholders (no_op_placeholder_for_execute_engine) by
 * execute_engine calls on lifted engine objects, keeping the existing getitem outputs. A program
 * without placeholders is left unchanged (returns 0). Not thread-safe on the same program.
 * @return 0; PT2C_ECORRUPT (a malformed placeholder: unknown ABI, wrong field count, an engine
 *         argument that is neither base64 text nor a lifted uint8 tensor); PT2C_EGRAPH;
 *         PT2C_ENOMEM; PT2C_EINVALID (p NULL). On any failure the program is unchanged (all
 *         placeholders or none).
 */
int pt2c_program_resolve_cross(pt2c_program *p, pt2c_error *err);

/** Engines held by the program (custom objects and cross-compile placeholders). */
typedef struct pt2c_engine_info {
	const char *name;       /**< the record's name field ("_run_on_acc_0_engine") */
	const char *owner;      /**< constant name or node name holding it */
	unsigned abi;           /**< 6..10 */
	const char *device;     /**< "0%9%0%0%NVIDIA H100 80GB HBM3" */
	const char *platform;   /**< "linux_x86_64" */
	uint64_t engine_bytes;  /**< size of the raw engine */
} pt2c_engine_info;

/** Number of engines (0 for NULL). Never fails, never allocates. */
size_t pt2c_program_engine_count(const pt2c_program *p);
/**
 * Describe engine i, 0 <= i < pt2c_program_engine_count(p). The strings are borrowed from the
 * program (valid until it is freed); making them may intern a copy in the program's string table
 * (not a visible change, but see the thread-safety rule of pt2c/common.h).
 * @return 0; PT2C_ENOTFOUND (i out of range); PT2C_ENOMEM; PT2C_EINVALID (p or out NULL). *out
 *         is written only on success.
 */
int pt2c_program_engine_info(const pt2c_program *p, size_t i, pt2c_engine_info *out);
/**
 * Raw engine bytes of engine i (decoded from base64 if stored so).
 * For an engine held as a custom object (not a cross-compile placeholder) this only reads the
 * program: such calls may run on one handle from several threads at once (the Python loader
 * decodes all engines of a program that way), as long as nothing modifies the program meanwhile
 * and its allocator is thread-safe (the default one is).
 * @param out  receives the bytes, allocated through the program's allocator, which the caller
 *             frees with pt2c_free(); NULL on failure (*len then 0)
 * @return 0; PT2C_ENOTFOUND (i out of range); PT2C_ECORRUPT (no bytes, invalid base64, a tensor
 *         engine that does not fit its storage; err says where); PT2C_ENOMEM; PT2C_EINVALID (p,
 *         out or len NULL)
 */
int pt2c_program_engine_bytes(const pt2c_program *p, size_t i, uint8_t **out, size_t *len, pt2c_error *err);
/**
 * pt2c_program_engine_bytes into the caller's memory: engine i's raw bytes written to dst, which
 * has room for cap bytes. For a caller that owns the memory the engine goes to (the Python loader
 * decodes straight into a bytes object: no second copy of a large engine). A call with dst NULL
 * and cap 0 tells the size (PT2C_EINVALID with *len set, or 0 for an empty engine) without
 * allocating: unlike pt2c_program_engine_info, which interns strings, it only reads the program.
 * The same threading rules as pt2c_program_engine_bytes. The one case that allocates is a
 * tensor-typed cross-compile engine (2.13+ placeholders), read through a temporary storage.
 * @param len  receives the engine's size whenever engine i could be read (also when cap is too
 *             small); 0 otherwise
 * @return 0; PT2C_EINVALID (cap smaller than the engine: nothing written; p or len NULL, dst NULL
 *         with cap > 0); PT2C_ENOTFOUND; PT2C_ECORRUPT as pt2c_program_engine_bytes (dst may
 *         then hold part of the bytes); PT2C_ENOMEM (tensor-typed engines only)
 */
int pt2c_program_engine_bytes_into(const pt2c_program *p, size_t i, void *dst, size_t cap, size_t *len,
                                   pt2c_error *err);
/**
 * Record fields of engine i as a JSON object text (engine field replaced by its byte size).
 * @param out  NUL-terminated text, freed with pt2c_free(); NULL on failure
 * @return 0, PT2C_ENOTFOUND (i out of range), PT2C_ENOMEM, PT2C_EINVALID (p or out NULL)
 */
int pt2c_program_engine_record_json(const pt2c_program *p, size_t i, char **out, size_t *len);

/**
 * A summary of the program for people (`json` = 0) or machines (`json` != 0): signature, node
 * count by target, weights by dtype with bytes, engines with ABI, platform, device and size,
 * extra files with their sizes (text: only when there are some; JSON: always, "extra_files").
 * @param out  NUL-terminated string, freed with pt2c_free(); NULL on failure
 * @param len  optional; its length on success
 * @return 0, PT2C_ENOMEM, PT2C_EINVALID (p or out NULL)
 */
int pt2c_program_summary(const pt2c_program *p, int json, char **out, size_t *len);

/*
 * Extra files: the `extra/<name>` records of an archive, what torch.export.save(ep, f,
 * extra_files={name: text}) writes (PyTorch 2.11: after data/sample_inputs/model.pt, in the
 * order given, as UTF-8 bytes) and torch.export.load(f, extra_files=d) puts into `d` (every
 * record, decoded as UTF-8 text; a record that is not valid UTF-8 makes that load fail).
 * Archives read by pt2c keep theirs (legacy archives' `extra_files/<name>` too), in archive
 * order, and pt2c_program_write writes them back in that order, byte for byte.
 * Strings and bytes handed out are borrowed from the program: valid until the program is freed
 * or its extra files are changed.
 */
#define PT2C_EXTRA_FILE_NAME_MAX 255 /**< bytes in an extra file name */

/** Number of extra files (0 for NULL). Never fails, never allocates. */
size_t pt2c_program_extra_file_count(const pt2c_program *p);
/**
 * Extra file i: its name (the part after "extra/") and its bytes. Any out-pointer may be NULL.
 * Never allocates.
 * @return 0; PT2C_ENOTFOUND when i >= the count (outputs untouched); PT2C_EINVALID (p NULL)
 */
int pt2c_program_extra_file(const pt2c_program *p, size_t i, const char **name, const uint8_t **data, size_t *len);
/**
 * Add an extra file, or replace the bytes of the one with that name (it keeps its place; a new
 * one goes last). The bytes are copied. The name must be 1 to PT2C_EXTRA_FILE_NAME_MAX bytes of
 * UTF-8 with no '/', '\\', ".." or control character; the bytes must be UTF-8 text, since
 * torch.export.load decodes every extra file as UTF-8.
 * Not thread-safe on the same program; invalidates the names and bytes pt2c_program_extra_file
 * gave for the replaced file.
 * @return 0, PT2C_EINVALID (bad name or bytes, too many files, p NULL, data NULL with len > 0;
 *         err says which), PT2C_ENOMEM. On failure the program is unchanged.
 */
int pt2c_program_set_extra_file(pt2c_program *p, const char *name, const void *data, size_t len, pt2c_error *err);
/**
 * Remove the extra file `name` (the others keep their order). Never allocates. Not thread-safe on
 * the same program.
 * @return 0; PT2C_ENOTFOUND (no such file: program unchanged); PT2C_EINVALID (p or name NULL)
 */
int pt2c_program_remove_extra_file(pt2c_program *p, const char *name, pt2c_error *err);
/**
 * Check an extra file name by the rules of pt2c_program_set_extra_file. Never allocates; safe
 * from any thread.
 * @return 0 or PT2C_EINVALID (NULL, empty, too long, a separator, "..", a control character,
 *         not UTF-8; err says why)
 */
int pt2c_extra_file_name_check(const char *name, pt2c_error *err);

/**
 * List the members of a zip archive (.pt2, partitioned archive, any PyTorch zip) without reading
 * their data: one line per member, "<data offset> <size> <crc32 hex> <name>", in central-directory
 * order. The archive is mapped and checked structurally (not by CRC unless PT2C_READ_VERIFY_CRC).
 * The file is mapped during the call only; allocations go through opts->alloc.
 * @param out  NUL-terminated text, freed with pt2c_free(); NULL on failure
 * @param len  optional; its length on success
 * @return 0; PT2C_ENOTFOUND (no such file); PT2C_EIO; PT2C_ECORRUPT (not a well-formed zip:
 *         err names the record and the byte offset); PT2C_EUNSUPPORTED (a zip feature pt2c does
 *         not read, e.g. encryption); PT2C_ENOMEM; PT2C_EINVALID (path or out NULL, options
 *         version)
 */
int pt2c_archive_list(const char *path, const pt2c_read_options *opts, char **out, size_t *len, pt2c_error *err);

#ifdef __cplusplus
}
#endif
#endif
