/*
 * pt2_write.h -- the .pt2 writer's internal state, shared by its files (library-internal, serde):
 *   pt2_write.c      layout planning (which members, in which order, with which bytes), the
 *                    serialization id, and the serial writer pt2c__pt2_write;
 *   pt2_write_par.c  the parallel writer pt2c__pt2_write_par: the same planning with large spans
 *                    handed to worker threads, CRCs combined at the end.
 */
#ifndef PT2C_SERDE_PT2_WRITE_H
#define PT2C_SERDE_PT2_WRITE_H

#include "serde/serde.h"

/* c10::hash_combine */
static inline uint64_t pt2c__pw_hash_combine(uint64_t seed, uint64_t v)
{
	return seed ^ (v + 0x9e3779b9u + (seed << 6) + (seed >> 2));
}

/* MARK: archive writer state */

typedef struct par par;

typedef struct aw {
	pt2c_zipw w;
	const pt2c_allocator *alloc;
	pt2c_error *err;
	const char *root;
	char *name;
	size_t name_cap;
	const char *rel; /* member being written, for messages */
	uint64_t *hashes; /* std::hash of every record name (no root), write order */
	size_t n_hashes, cap_hashes;
	uint64_t crc_comb;
	uint64_t done, total; /* progress counts weight, constant and object bytes only */
	bool counting;
	const pt2c_pt2_write_opts *opts;
	par *par;         /* parallel writer (pt2c__pt2_write_par), else NULL */
	bool deferred;    /* parallel: CRCs are joined at the end (par_finish), not per member */
	bool file_pages;  /* parallel: the span being written lies in a file mapping */
	bool stable;      /* parallel: the data being written outlives the write (may be queued) */
	int os_errno;     /* parallel: errno of a failed write on the calling thread */
} aw;

/* MARK: shared by the serial and parallel halves (pt2_write.c) */

/* Fill err for a failed member write (rc: PT2C_ENOMEM, or an error with a->os_errno); returns rc. */
int pt2c__pw_fail(aw *a, int rc);
/* Member data through the zip writer now (checksummed by it or by plan_sink_write). */
int pt2c__pw_data_inline(aw *a, const void *p, uint64_t n);
/* The writer state both entry points start from; PT2C_EINVALID for a root with a slash. */
int pt2c__pw_start(aw *a, const pt2c_program *p, const pt2c_pt2_write_opts *opts, pt2c_error *err);
/* Plan and write every member, the serialization id and the central directory. */
int pt2c__pw_write_all(aw *a, const pt2c_program *p);

/* MARK: parallel writing (pt2_write_par.c) */

/* Progress callback, on the calling thread (serial or parallel). */
void pt2c__pw_report(aw *a);
/* Member data from stable memory, queued to the workers in pieces (b64: encoded on the way). */
int pt2c__pw_queue_span(aw *a, bool b64, const uint8_t *src, uint64_t src_n, uint64_t out_n, bool counted);
/* An engine constant's member (begun), its text queued. */
int pt2c__pw_par_engine(aw *a, const pt2c_engine_record *r, uint64_t sz, bool opaque);
/* Run the remaining tasks, join the CRCs, patch the data descriptors. */
int pt2c__pw_par_finish(aw *a);

#endif
