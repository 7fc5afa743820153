/*
 * serde.h -- reading and writing whole files: PT2 archives (models/model.json + weights +
 * constants + records), the program JSON (schema 8.17), and the partitioned-module JSON.
 */
#ifndef PT2C_SERDE_H
#define PT2C_SERDE_H

#include "ir/ir.h"
#include "util/json.h"
#include "util/json_reader.h"
#include "serde/zip.h"

/* MARK: program JSON (models/model.json) */

/**
 * Build a program's graph, signature, call graph and header fields from a parsed model.json DOM.
 * Unknown keys are ignored; missing required keys are PT2C_ECORRUPT naming the JSON path.
 * String views point into the JSON input, which must outlive the program (it is kept alive by
 * the archive mapping the program references).
 */
int pt2c__pt2json_read(pt2c_program *p, const pt2c_json *root, pt2c_error *err);
/**
 * Like pt2c__pt2json_read, for a DOM parsed from src[0..src_len): strings lying inside src are kept
 * as views, strings the parser had to unescape into its arena are copied into the program's arena
 * (so the DOM arena may be freed afterwards). `member` (may be NULL) prefixes err->member, e.g.
 * "models/model.json" gives "models/model.json:/graph_module/graph/nodes/3/inputs".
 */
int pt2c__pt2json_read_ex(pt2c_program *p, const pt2c_json *root, const char *src, size_t src_len,
                          const char *member, pt2c_error *err);
/**
 * Parse and read model.json text src[0..src_len) (opts NULL: the defaults of the archive reader).
 * Graph node arrays and tensor_values tables are parsed one entry at a time, and equal tensor
 * metadata is stored once: memory is the program's, not a DOM of the text's. With file_mapped
 * (src lies in an mmap of a file), the pages of src are given back to the kernel as they are
 * read (views into src page in again on access). Errors as for
 * pt2c__pt2json_read_ex (parse errors name `member` and the byte offset).
 */
int pt2c__pt2json_read_text(pt2c_program *p, const char *src, size_t src_len, const pt2c_json_opts *opts,
                            bool file_mapped, const char *member, pt2c_error *err);
/** Serialize as torch.export.save does (field order, separators, float repr). */
int pt2c__pt2json_write(pt2c_buf *b, const pt2c_program *p);
void pt2c__json_write_meta(pt2c_buf *b, const pt2c_tensor_meta *m);
/** A TensorMeta object v; errors placed under jr's path (jr itself is left as it was). */
int pt2c__json_read_meta(pt2c_ctx *ctx, const pt2c_json *v, pt2c_tensor_meta *m, pt2c_jr *jr);

/* MARK: PT2 archives */

typedef struct pt2c_pt2_read_opts {
	unsigned flags;       /* PT2C_ZIP_VERIFY_CRC */
	uint32_t max_json_depth;
	const char *label;    /* file name for messages */
	bool file_mapped;     /* data lies in an mmap of a file: pages of model.json already read may be dropped */
} pt2c_pt2_read_opts;

/**
 * Read an archive held in memory (data stays referenced through `backing`, which the program's
 * tensors and engine records reference; backing may be NULL when the caller guarantees data
 * outlives the program). Handles the 2.9+ layout, the 2.8 layout (pickled weights) and the
 * legacy top-level layout.
 */
int pt2c__pt2_read(pt2c_program **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                   const pt2c_pt2_read_opts *opts, const pt2c_allocator *alloc, pt2c_error *err);

typedef struct pt2c_pt2_write_opts {
	const char *root;   /* archive root folder; NULL = "archive" */
	void (*progress)(uint64_t done, uint64_t total, void *payload); /* on the calling thread */
	void *payload;
	unsigned threads;   /* pt2c__pt2_write_par: threads in all, the caller's included; 0 = pt2c__cpu_count() */
	uint64_t task_bytes; /* pt2c__pt2_write_par: spans this long or longer go to the workers in pieces
	                        of this size (0 = 16 MiB; tests make it tiny to cut everything up) */
} pt2c_pt2_write_opts;

/** Write in the 2.11 layout. Weights and engines are streamed from their storages. */
int pt2c__pt2_write(const pt2c_program *p, pt2c_sink sink, const pt2c_pt2_write_opts *opts, pt2c_error *err);
/**
 * The same bytes as pt2c__pt2_write, placed with positional writes by several threads. The whole
 * layout (every member's offset and size) is fixed as the archive is planned front to back on the
 * calling thread, which writes the small pieces (headers, JSON, configs) itself and queues the
 * large spans (weights, engine bytes and their base64) for worker threads; each worker checksums
 * and writes its pieces straight from the source with one 1 MiB scratch buffer, so memory stays
 * bounded whatever the archive's size. CRC-32s of pieces are joined with pt2c__crc32_combine,
 * then the data descriptors are patched and the serialization id and central directory written.
 * Pull storages are pulled on the calling thread only, one piece at a time (their callbacks need
 * not be thread-safe). On failure (a pull, a write on any thread, memory) every worker is stopped
 * and joined before the return; the caller discards the output.
 * Errors as pt2c__pt2_write; a failed write is PT2C_EIO naming the member and the byte offset.
 */
int pt2c__pt2_write_par(const pt2c_program *p, pt2c_psink out, const pt2c_pt2_write_opts *opts, pt2c_error *err);

/* MARK: partitioned modules (JSON form, ../shared/fixtures/torch-2.11/README.md) */

int pt2c__partitioned_json_read(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                                pt2c_error *err);

/* MARK: partitioned modules (archive form, docs/partitioned-format.md) */

/**
 * How the JSON reader finds archive members named by "data_member" and engine field 3
 * {"member": ...}. resolve returns a new reference to a zero-copy storage over the whole member
 * (0), PT2C_ENOTFOUND when no such member exists, PT2C_ECORRUPT / PT2C_EUNSUPPORTED with *why
 * (static text) when it exists but may not be used (wrong folder, dtype clash), or PT2C_ENOMEM.
 * `engine` tells an engine reference from a weight's; `dtype` is the weight's dtype (0 for engines).
 */
typedef struct pt2c_member_resolver {
	int (*resolve)(void *ctx, bool engine, const char *name, size_t len, int dtype, pt2c_storage **out,
	               const char **why);
	void *ctx;
	const char *member; /* prefixes err->member ("partitioned/module.json:/graph/3"); may be NULL */
	bool file_mapped;   /* the JSON lies in an mmap of a file: pages already parsed may be dropped */
} pt2c_member_resolver;

/** pt2c__partitioned_json_read with member references resolved through `res` (NULL: plain JSON form). */
int pt2c__partitioned_json_read_ex(pt2c_module **out, const char *data, size_t len, const pt2c_member_resolver *res,
                                   const pt2c_allocator *alloc, pt2c_error *err);
/*
 * Counts since the process started (for tests; thread-safe): fallback graphs read on worker
 * threads, and documents read a second time, in order, after a failure with graphs on workers.
 */
void pt2c__partitioned_par_counts(uint64_t *graphs_on_workers, uint64_t *reread);
/**
 * Read a partitioned-module archive held in memory. Weights and engines are zero-copy storages
 * over the member bytes (one per member, shared by every weight naming it); each keeps a reference
 * on `backing` (may be NULL when the caller guarantees data outlives the module). Errors name the
 * member ("partitioned/format", "partitioned/module.json:/parameters/w/data_member").
 */
int pt2c__partitioned_archive_read(pt2c_module **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                                   const pt2c_allocator *alloc, pt2c_error *err);
/**
 * pt2c__partitioned_archive_read of data that lies in an mmap of a file (file_mapped true): the
 * pages of module.json are given back to the kernel as its graph arrays are parsed, so a
 * graph-heavy module does not hold its JSON and its graph in memory at once.
 */
int pt2c__partitioned_archive_read_ex(pt2c_module **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                                      bool file_mapped, const pt2c_allocator *alloc, pt2c_error *err);
/**
 * The archive form's module.json (json[0..len), not referenced after the call) with its members
 * supplied by the caller instead of a zip: names[k] ("weights/0", "engines/_run_on_acc_0") is
 * served by sts[k] (each reference is taken anew for every weight or engine naming it; the caller
 * keeps its own). The same folder and dtype rules as the archive; an engine naming a pull storage
 * is PT2C_EUNSUPPORTED; duplicate or missing names/storages are PT2C_EINVALID. Errors name
 * "module.json:<JSON pointer>".
 */
int pt2c__partitioned_blobs_read(pt2c_module **out, const char *json, size_t len, const char *const *names,
                                 pt2c_storage *const *sts, size_t n, const pt2c_allocator *alloc, pt2c_error *err);
/**
 * The JSON form of m. members=false: weights and engines inline as base64 (the plain JSON form);
 * members=true: "data_member": "weights/<i>" (one index per distinct storage, numbered in
 * attribute order: top level, then fallback submodules in order) and engine field 3 as
 * {"member": "engines/<submodule name>"} -- the module.json of pt2c__partitioned_archive_write.
 * Returns 0, PT2C_EUNSUPPORTED (something the JSON form cannot express: custom-object
 * attributes, argument kinds the reader does not accept), PT2C_ECORRUPT (a weight's view does
 * not fit its storage) or PT2C_ENOMEM.
 */
int pt2c__partitioned_json_write(pt2c_buf *b, const pt2c_module *m, bool members);
/**
 * Write m as a partitioned archive (root "partitioned/"): members format, version, weights/<i>
 * (streamed straight from each distinct storage), engines/<submodule>, then module.json last.
 */
int pt2c__partitioned_archive_write(const pt2c_module *m, pt2c_sink sink, pt2c_error *err);

#endif
