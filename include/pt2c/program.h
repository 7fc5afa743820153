/*
 * pt2c/program.h -- exported programs and PT2 archives (.pt2 files as torch.export.save of
 * PyTorch 2.11 writes them and torch.export.load reads them).
 *
 * Reading maps the archive: weights, constants and engines stay in the mapping (no copy) and the
 * program keeps the mapping alive until pt2c_program_free: a file truncated while mapped makes
 * the next access fault (SIGBUS; the pt2c command reports it). Writing streams to
 * "<path>.tmp.<pid>.XXXXXX" in the target folder and renames it into place only when complete
 * (see pt2c/common.h for the temporary files).
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
/** Fill *o with the defaults of the current version (PT2C_READ_OPTIONS_INIT). Accepts NULL. */
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
/** Fill *o with the defaults of the current version (PT2C_WRITE_OPTIONS_INIT). Accepts NULL. */
void pt2c_write_options_init(pt2c_write_options *o);

/*
 * Options structs are versioned: every function taking one (NULL = defaults) accepts versions 1
 * to the current one and returns PT2C_EINVALID ("... version N is not supported") otherwise.
 */

/**
 * Open a .pt2 archive (2.11 layout, 2.8 layout with pickled weights, or the legacy top-level
 * layout) by mapping it.
 * @return 0, PT2C_EIO, PT2C_ECORRUPT (err names the member and byte offset), PT2C_EUNSUPPORTED,
 *         PT2C_ENOMEM
 */
int pt2c_program_open(pt2c_program **out, const char *path, const pt2c_read_options *opts, pt2c_error *err);
/** Same, from an open file descriptor (not closed). */
int pt2c_program_open_fd(pt2c_program **out, int fd, const pt2c_read_options *opts, pt2c_error *err);
/** Same, from memory. `data` is borrowed: it must outlive the program. */
int pt2c_program_parse(pt2c_program **out, const uint8_t *data, size_t len, const pt2c_read_options *opts,
                       pt2c_error *err);

/**
 * Write the program as a 2.11-layout archive at `path` (atomically: a temporary file in the same
 * folder, renamed into place when complete; removed on any failure). Weights and engine bytes are
 * checksummed, base64-encoded and written by opts->threads threads at once (version 2; version 1
 * options and NULL mean one per CPU), with a 1 MiB buffer each; the output does not depend on the
 * thread count. Threads started here have ended when the call returns.
 * @return 0, PT2C_EINVALID (options version), PT2C_EIO, PT2C_ECORRUPT, PT2C_ENOMEM
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
 * @return 0, PT2C_EINVALID (unknown target), PT2C_EUNSUPPORTED (an engine record newer than the
 *         target: nothing is changed), PT2C_ECORRUPT (a malformed placeholder), PT2C_ENOMEM
 */
int pt2c_program_set_target(pt2c_program *p, const char *target, pt2c_error *err);

/** Free a program and release its mapping. Accepts NULL. */
void pt2c_program_free(pt2c_program *p);

/**
 * Print as PyTorch prints an ExportedProgram: the forward() body with "f32[2, 3]" types, then
 * "Graph signature:" (# inputs / # outputs with kinds and targets) and "Range constraints:".
 * @param out  NUL-terminated string, freed with pt2c_free()
 */
int pt2c_program_print(pt2c_program *p, char **out, size_t *len);

/**
 * Check the program: graph lint (def before use, unique names, one output node), signature
 * matches placeholders and outputs, every parameter/buffer/constant/custom object target exists
 * with the right kind, engine records valid.
 * @return 0 or PT2C_EGRAPH / PT2C_ECORRUPT with the first violation in err
 */
int pt2c_program_lint(pt2c_program *p, pt2c_error *err);

/**
 * Replace Torch-TensorRT cross-compile placeholders (no_op_placeholder_for_execute_engine) by
 * execute_engine calls on lifted engine objects, keeping the existing getitem outputs. A program
 * without placeholders is left unchanged (returns 0).
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

/** Number of engines. */
size_t pt2c_program_engine_count(pt2c_program *p);
/** Describe engine i (strings borrowed from the program). */
int pt2c_program_engine_info(pt2c_program *p, size_t i, pt2c_engine_info *out);
/**
 * Raw engine bytes of engine i (decoded from base64 if stored so).
 * @param out  receives malloc'd bytes the caller frees with pt2c_free()
 */
int pt2c_program_engine_bytes(pt2c_program *p, size_t i, uint8_t **out, size_t *len, pt2c_error *err);
/** Record fields of engine i as a JSON object text (engine field replaced by its byte size). */
int pt2c_program_engine_record_json(pt2c_program *p, size_t i, char **out, size_t *len);

/**
 * A summary of the program for people (`json` = 0) or machines (`json` != 0): signature, node
 * count by target, weights by dtype with bytes, engines with ABI, platform, device and size,
 * extra files with their sizes (text: only when there are some; JSON: always, "extra_files").
 * @param out  NUL-terminated string, freed with pt2c_free()
 */
int pt2c_program_summary(pt2c_program *p, int json, char **out, size_t *len);

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

/** Number of extra files (0 for NULL). */
size_t pt2c_program_extra_file_count(const pt2c_program *p);
/**
 * Extra file i: its name (the part after "extra/") and its bytes. Any out-pointer may be NULL.
 * @return 0, or PT2C_ENOTFOUND when i >= the count
 */
int pt2c_program_extra_file(const pt2c_program *p, size_t i, const char **name, const uint8_t **data, size_t *len);
/**
 * Add an extra file, or replace the bytes of the one with that name (it keeps its place; a new
 * one goes last). The bytes are copied. The name must be 1 to PT2C_EXTRA_FILE_NAME_MAX bytes of
 * UTF-8 with no '/', '\\', ".." or control character; the bytes must be UTF-8 text, since
 * torch.export.load decodes every extra file as UTF-8.
 * @return 0, PT2C_EINVALID (bad name or bytes; err says which), PT2C_ENOMEM. On failure the
 *         program is unchanged.
 */
int pt2c_program_set_extra_file(pt2c_program *p, const char *name, const void *data, size_t len, pt2c_error *err);
/**
 * Remove the extra file `name`.
 * @return 0, or PT2C_ENOTFOUND (program unchanged)
 */
int pt2c_program_remove_extra_file(pt2c_program *p, const char *name, pt2c_error *err);
/**
 * Check an extra file name by the rules of pt2c_program_set_extra_file.
 * @return 0 or PT2C_EINVALID (err says why)
 */
int pt2c_extra_file_name_check(const char *name, pt2c_error *err);

/**
 * List the members of a zip archive (.pt2, partitioned archive, any PyTorch zip) without reading
 * their data: one line per member, "<data offset> <size> <crc32 hex> <name>", in central-directory
 * order. The archive is mapped and checked structurally (not by CRC unless PT2C_READ_VERIFY_CRC).
 * @param out  NUL-terminated text, freed with pt2c_free()
 * @return 0, PT2C_EIO, PT2C_ENOTFOUND, PT2C_ECORRUPT, PT2C_EUNSUPPORTED, PT2C_ENOMEM
 */
int pt2c_archive_list(const char *path, const pt2c_read_options *opts, char **out, size_t *len, pt2c_error *err);

#ifdef __cplusplus
}
#endif
#endif
