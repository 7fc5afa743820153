/*
 * serde.h -- reading and writing whole files: PT2 archives (models/model.json + weights +
 * constants + records), the program JSON (schema 8.17), and the partitioned-module JSON.
 */
#ifndef PT2C_SERDE_H
#define PT2C_SERDE_H

#include "ir/ir.h"
#include "util/json.h"
#include "serde/zip.h"

/* MARK: program JSON (models/model.json) */

/**
 * Build a program's graph, signature, call graph and header fields from a parsed model.json DOM.
 * Unknown keys are ignored; missing required keys are PT2C_ECORRUPT naming the JSON path.
 * String views point into the JSON input, which must outlive the program (it is kept alive by
 * the archive mapping the program references).
 */
int pt2c__pt2json_read(pt2c_program *p, const pt2c_json *root, pt2c_error *err);
/** Serialize as torch.export.save does (field order, separators, float repr). */
int pt2c__pt2json_write(pt2c_buf *b, const pt2c_program *p);
void pt2c__json_write_meta(pt2c_buf *b, const pt2c_tensor_meta *m);
int pt2c__json_read_meta(pt2c_ctx *ctx, const pt2c_json *v, pt2c_tensor_meta *m, pt2c_error *err);

/* MARK: PT2 archives */

typedef struct pt2c_pt2_read_opts {
	unsigned flags;       /* PT2C_ZIP_VERIFY_CRC */
	uint32_t max_json_depth;
	const char *label;    /* file name for messages */
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
	void (*progress)(uint64_t done, uint64_t total, void *payload);
	void *payload;
} pt2c_pt2_write_opts;

/** Write in the 2.11 layout. Weights and engines are streamed from their storages. */
int pt2c__pt2_write(const pt2c_program *p, pt2c_sink sink, const pt2c_pt2_write_opts *opts, pt2c_error *err);

/* MARK: partitioned modules (JSON form, ../shared/fixtures/torch-2.11/README.md) */

int pt2c__partitioned_json_read(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                                pt2c_error *err);

#endif
