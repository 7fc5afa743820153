/*
 * json_internal.h -- the JSON reader's parser state, shared by json.c (the scanner) and
 * json_keys.c (duplicate member keys), and the UTF-8 helpers of json_text.c. Private to src/util.
 */
#ifndef PT2C_JSON_INTERNAL_H
#define PT2C_JSON_INTERNAL_H

#include "json.h"


typedef struct jframe {
	bool is_obj;
	size_t start;  /* index of the first item on the value stack */
	uint64_t pos;  /* offset of '[' or '{' */
	size_t count;  /* inside a lazy span: items seen (values are counted, not stored) */
	size_t kstart; /* objects: index of the first key on the key stack */
} jframe;

/* A member key as it lies in the input: the bytes between its quotes (still escaped). */
typedef struct jkey {
	size_t a, b;
	uint64_t pos; /* offset of the opening quote */
	bool esc;     /* holds an escape sequence (compared decoded) */
} jkey;

typedef struct jparser {
	const char *d;
	size_t len, i;
	pt2c_arena *arena;
	const pt2c_allocator *alloc;
	pt2c_error *err;
	unsigned flags;
	uint32_t max_depth;
	pt2c_json *vals;
	size_t nvals, capvals;
	jframe *frames;
	size_t nframes, capframes;
	const pt2c_json_lazy *lazy; /* pt2c__json_parse_lazy's keys */
	size_t n_lazy;
	char lazy_next;    /* the member value about to be read may stay lazy: '[' or '{' it must open with, or 0 */
	size_t raw_frame;  /* frame index of the open lazy container; NO_RAW outside one */
	bool one_value;    /* stop after one value (element parses of a lazy span) */
	bool skim;         /* pt2c__json_parse_skim: lazy spans are delimited, not validated (jskim) */
	size_t n_skimmed;  /* lazy spans jskim delimited */
	uint64_t dropped;  /* PT2C_JSON_DROP_PAGES: pages before this offset were given back */
	struct skim_grid *skim_grid; /* json_skim.c: the text's chunks summarised on helper threads, or NULL */
	bool skim_grid_tried;        /* skim_grid made, or found not worth making */
	jkey *keys;        /* keys of the open objects (lazy spans included), to refuse duplicates */
	size_t nkeys, capkeys;
	/* The stacks start in these (no allocation for the small values of element parses, which run
	 * once per graph node) and move to the heap when they outgrow them. */
	pt2c_json vals0[32];
	jframe frames0[8];
	jkey keys0[16];
} jparser;

#define NO_RAW SIZE_MAX

/*
 * Delimit the lazy span opening at p->d[p->i] without validating it (pt2c__json_parse_skim;
 * json_skim.c): 1 with *end the offset of its closing bracket and *n its item count, 0 when it
 * must be validated instead (nothing consumed). A long document's first span has the rest of the
 * text summarised on helper threads (p->skim_grid, kept for the spans after it); p's allocator
 * must then be thread-safe (pt2c__helper_threads). Never fails otherwise.
 */
int pt2c__json_skim_span(jparser *p, size_t *end, size_t *n);
/* Free p->skim_grid (jparse's clean-up). */
void pt2c__json_skim_free(jparser *p);

/* Value of hex digit c, or -1. */
int pt2c__json_hexval(char c);
/* Refuse a duplicate among the keys of the innermost open object (PT2C_ECORRUPT naming the JSON
 * pointer, line and column; PT2C_ENOMEM). */
int pt2c__json_check_dups(jparser *p);
/* Length of the valid UTF-8 sequence at s[0] (a byte >= 0x80) within n bytes, or 0 if invalid. */
size_t pt2c__utf8_seq_len(const unsigned char *s, size_t n);
/* Encode code point cp (<= U+10FFFF) at o (room for 4 bytes); returns the bytes written. */
size_t pt2c__utf8_put(char *o, uint32_t cp);

#endif
