/*
 * zip.h -- the zip subset that PyTorch archives use: stored members, 64-byte aligned data
 * (the "FB" padding extra field), data descriptors, ZIP64 records. APPNOTE.TXT 6.3.10 sections
 * are quoted in zip_read.c / zip_write.c next to the structures they parse.
 *
 * Reader: pure function over bytes. Members are zero-copy views into the input. Every offset and
 * length is bounds-checked; the EOCD search is limited to the last 64 KiB + 22 bytes; names with
 * "..", absolute paths, backslashes or NUL, duplicates, overlapping data ranges, encryption and
 * compression methods other than stored are rejected (PT2C_ECORRUPT / PT2C_EUNSUPPORTED) with the
 * member name and byte offset in the error. Bytes prepended before the archive are tolerated
 * (offsets are relocated as unzip does). DEFLATE members are rejected as unsupported: PyTorch
 * never writes them.
 *
 * Writer: streams member by member into a sink, computing CRC-32 on the fly; large payloads are
 * passed through without copying. Switches to ZIP64 fields where a size or offset needs it
 * instead of truncating.
 */
#ifndef PT2C_ZIP_H
#define PT2C_ZIP_H

#include "util/util.h"

typedef struct pt2c_zip_entry {
	const char *name;     /* view into the archive, NOT NUL-terminated */
	uint32_t name_len;
	uint16_t method;      /* always 0 (stored) after a successful parse */
	uint16_t flags;
	uint32_t crc;         /* from the central directory */
	uint64_t size;        /* uncompressed == compressed for stored */
	uint64_t header_off;  /* local header offset (relocated) */
	uint64_t data_off;    /* first data byte (relocated) */
} pt2c_zip_entry;

#define PT2C_ZIP_VERIFY_CRC 1u  /* verify every member's CRC while parsing */
#define PT2C_ZIP_MAX_ENTRIES_DEFAULT 1000000u

typedef struct pt2c_zip_opts {
	unsigned flags;
	uint32_t max_entries; /* 0 = default */
	const char *label;    /* used in messages as the file name (may be NULL) */
} pt2c_zip_opts;

typedef struct pt2c_zip {
	const uint8_t *data;
	size_t len;
	pt2c_zip_entry *entries; /* central-directory order */
	uint32_t n;
	pt2c_map by_name;
	const pt2c_allocator *alloc;
} pt2c_zip;

/**
 * Parse an archive held in memory. `data` is borrowed and must outlive `z` (entries, names and
 * by_name keys point into it). opts may be NULL.
 * @return 0; PT2C_ECORRUPT (malformed records, lying sizes/offsets/counts, bad names, duplicates,
 *         overlapping members, CRC mismatch with PT2C_ZIP_VERIFY_CRC); PT2C_EUNSUPPORTED
 *         (compression, encryption, multi-disk, more entries than opts->max_entries);
 *         PT2C_ENOMEM. err gets the member ("central directory" / "end of central directory" for
 *         the structures themselves), the absolute byte offset, and opts->label as the file.
 *         On failure z holds no allocation (pt2c__zip_free is still safe).
 */
int pt2c__zip_parse(pt2c_zip *z, const uint8_t *data, size_t len, const pt2c_zip_opts *opts,
                    const pt2c_allocator *alloc, pt2c_error *err);
/** Release the entry table and name map (not the data). Safe on a zeroed or failed z. */
void pt2c__zip_free(pt2c_zip *z);
/** The member with exactly this name (not NUL-terminated), or NULL. Borrowed from z. */
const pt2c_zip_entry *pt2c__zip_find(const pt2c_zip *z, const char *name, size_t len);
static inline const uint8_t *pt2c__zip_data(const pt2c_zip *z, const pt2c_zip_entry *e) { return z->data + e->data_off; }
/**
 * Whether a member name is acceptable to the reader: non-empty, no leading '/', no ".." path
 * component, no backslash or NUL. On false, *why (if non-NULL) gets a static reason.
 */
bool pt2c__zip_name_ok(const char *name, size_t len, const char **why);
/** Recompute the CRC of one member; PT2C_ECORRUPT naming the member on mismatch. */
int pt2c__zip_verify_crc(const pt2c_zip *z, const pt2c_zip_entry *e, pt2c_error *err);

/* MARK: writing */

/** Where bytes go. write returns 0 or a PT2C_E* code. */
typedef struct pt2c_sink {
	int (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
} pt2c_sink;

pt2c_sink pt2c__sink_ofile(pt2c_ofile *f); /* appends to an atomic output file */
pt2c_sink pt2c__sink_buf(pt2c_buf *b);     /* appends to a memory buffer */
pt2c_sink pt2c__sink_count(uint64_t *n);   /* only counts bytes (dry runs to learn sizes) */

/**
 * Where the parallel writer puts bytes: pwrite(ctx, p, n, off) places p[0..n) at byte off and
 * returns 0 or an errno value. Called from several threads at once, for disjoint ranges (a range
 * may be written again later by the same writer: data descriptors are patched in place).
 */
typedef struct pt2c_psink {
	int (*pwrite)(void *ctx, const void *p, size_t n, uint64_t off);
	void *ctx;
	/* optional (NULL: none): bytes [off, off+n) are final, their writeback may start (any thread) */
	void (*written)(void *ctx, uint64_t off, uint64_t n);
} pt2c_psink;
pt2c_psink pt2c__psink_ofile(pt2c_ofile *f); /* positional writes into an atomic output file */

#define PT2C_ZIP_SIZE_UNKNOWN UINT64_MAX

typedef struct pt2c_zipw_entry {
	char *name;
	uint32_t name_len;
	uint32_t crc;
	uint64_t size, header_off;
	uint64_t dd_off;      /* offset of the data descriptor (set by pt2c__zipw_end; UINT64_MAX: none) */
	bool zip64_local;
	uint16_t flags;       /* 0x0808, or 0x0800 for a member declared empty (no data descriptor) */
} pt2c_zipw_entry;

typedef struct pt2c_zipw {
	pt2c_sink sink;
	const pt2c_allocator *alloc;
	uint64_t offset;
	pt2c_zipw_entry *entries;
	size_t n, cap;
	int err;          /* sticky */
	bool in_member;
	bool no_crc;      /* dry runs: skip CRC computation */
	uint64_t expect;  /* declared size of the open member or PT2C_ZIP_SIZE_UNKNOWN */
	uint64_t cur_size;
	uint32_t cur_crc;
	pt2c_map names;   /* entry name -> index, to refuse duplicates */
} pt2c_zipw;

void pt2c__zipw_init(pt2c_zipw *w, pt2c_sink sink, const pt2c_allocator *alloc);
/**
 * Start a member (local header with flags 0x0808, FB padding so data starts on a 64-byte boundary,
 * ZIP64 extra before FB when expected_size or the offset need it). expected_size may be
 * PT2C_ZIP_SIZE_UNKNOWN; if known it must match what is written (checked at end).
 */
int pt2c__zipw_begin(pt2c_zipw *w, const char *name, uint64_t expected_size);
/*
 * Byte layout notes (PyTorch 2.11 / miniz 3.0.2, reproduced exactly):
 * - A member begun with expected_size 0 gets flags 0x0800 and no data descriptor, as miniz does
 *   for empty records; other members get 0x0808 and a descriptor.
 * - The local ZIP64 extra (when the declared size >= 0xFFFFFFFF or the header offset is) holds
 *   the size, then 0 for the compressed size (miniz fills it before compressing), then the offset.
 * - The descriptor has 64-bit sizes (24 bytes) whenever the local header had a ZIP64 extra, or
 *   when a member of unknown declared size turned out >= 0xFFFFFFFF bytes.
 * Errors are sticky: once a call fails, every later call returns the same code. Writing more
 * than expected_size bytes, or ending with fewer, is PT2C_EINVALID. Empty, absolute, ".."
 * or duplicate names are PT2C_EINVALID (not sticky: nothing was written).
 */
int pt2c__zipw_data(pt2c_zipw *w, const void *p, size_t n);
/**
 * Account for n bytes of the open member that are written elsewhere (the parallel writer puts
 * them at their offset itself): the member and the archive offset advance without a byte going
 * to the sink, and the member's CRC continues with `crc` = CRC-32 of those n bytes (ignored with
 * no_crc). The same size checks as pt2c__zipw_data.
 */
int pt2c__zipw_skip(pt2c_zipw *w, uint64_t n, uint32_t crc);
int pt2c__zipw_end(pt2c_zipw *w); /* data descriptor (16 or 24 bytes) */
int pt2c__zipw_add(pt2c_zipw *w, const char *name, const void *p, size_t n);
/** Central directory, ZIP64 EOCD record + locator, classic EOCD. */
int pt2c__zipw_finish(pt2c_zipw *w);
void pt2c__zipw_free(pt2c_zipw *w);
/** A sink that writes into the currently open member of w (for nested archives). */
pt2c_sink pt2c__sink_zip_member(pt2c_zipw *w);

#endif
