/*
 * json.h -- a strict RFC 8259 JSON reader producing an arena DOM, and writers that emit JSON the
 * way Python's json.dumps does (", " / ": " separators, ensure_ascii, float repr).
 *
 * Why not jansson (in Debian): we need byte positions on every value for error messages,
 * zero-copy strings (a cross-compiled engine is a base64 string of gigabytes inside model.json),
 * arena allocation for graphs of a million nodes, an explicit depth limit, and Python's exact
 * float repr and non-finite spellings on output. jansson provides none of these four together.
 *
 * Reader contract: pure function over bytes; never reads outside [data, data+len); never recurses
 * (explicit stack); depth capped; UTF-8 validated; an object with two equal keys (compared decoded) is refused with
 * PT2C_ECORRUPT naming the JSON pointer (Python's json keeps the last, a lookup here the first:
 * such a document means two things). Numbers: integers are INT (one outside int64 is refused,
 * not rounded to a double), numbers with a fraction or exponent REAL. With PT2C_JSON_ALLOW_NONFINITE the bare tokens NaN, Infinity, -Infinity are read
 * as REAL (Python's json accepts them).
 */
#ifndef PT2C_JSON_H
#define PT2C_JSON_H

#include "util.h"

enum {
	PT2C_JSON_NULL = 0,
	PT2C_JSON_FALSE,
	PT2C_JSON_TRUE,
	PT2C_JSON_INT,
	PT2C_JSON_REAL,
	PT2C_JSON_STRING,
	PT2C_JSON_ARRAY,
	PT2C_JSON_OBJECT,
	PT2C_JSON_RAW, /* an array or object kept unexpanded (pt2c__json_parse_lazy): n = element or member
	                  count, u.raw_len = bytes; data[pos] tells which ('[' or '{'); not an ARRAY or
	                  OBJECT to the accessors, and pt2c__json_write_value writes it as null */
};

typedef struct pt2c_json pt2c_json;
struct pt2c_json {
	uint8_t type;
	uint32_t n;   /* string: byte length (UINT32_MAX: 4 GiB or more, see pt2c__json_strlen); array: element count; object: member count */
	uint64_t pos; /* byte offset of the value's first character in the input */
	union {
		int64_t i;
		double d;
		const char *s;      /* string bytes (NOT NUL-terminated; may point into the input) */
		pt2c_json *items;   /* array: n values; object: 2n values, key/value alternating */
		uint64_t raw_len;   /* RAW: byte length of the span, '[' through ']' */
	} u;
};

#define PT2C_JSON_ALLOW_NONFINITE 1u
/* data lies in a private read-only file mapping: the parser gives back the pages it has read past
 * (every 8 MiB), so scanning a large document does not make it all resident (views into it page in
 * again when read) */
#define PT2C_JSON_DROP_PAGES 2u

typedef struct pt2c_json_opts {
	unsigned flags;
	uint32_t max_depth; /* 0 = default 512 */
} pt2c_json_opts;

/**
 * Parse data[0..len) into a DOM allocated in `arena`. Strings without escapes point into `data`,
 * so `data` must outlive the DOM. On error returns PT2C_ECORRUPT (or PT2C_ENOMEM) with
 * err->offset = byte offset and a message like "expected ',' or '}' at line 3 column 14".
 */
int pt2c__json_parse(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                     pt2c_arena *arena, pt2c_error *err);

/* A key whose values pt2c__json_parse_lazy leaves unexpanded: arrays, or with `object`, objects. */
typedef struct pt2c_json_lazy {
	const char *key;
	bool object;
} pt2c_json_lazy;

/**
 * As pt2c__json_parse, but every object member whose key equals one of lazy[0..n_lazy) (compared
 * after unescaping) and whose value is of that entry's kind is not expanded: it
 * becomes a PT2C_JSON_RAW node (pos = offset of '[' or '{', n = element or member count,
 * u.raw_len = byte length) and costs no DOM memory. The span is still fully validated, so the
 * same input is rejected with the same error as by pt2c__json_parse. Members inside a RAW span
 * are never lazy themselves. n_lazy 0: exactly pt2c__json_parse.
 */
int pt2c__json_parse_lazy(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                          const pt2c_json_lazy *lazy, size_t n_lazy, pt2c_arena *arena, pt2c_error *err);

/**
 * pt2c__json_parse_lazy that only delimits the lazy spans (finds their end and counts their
 * items) instead of validating them: the text inside a span is the bulk of a graph-heavy
 * document and its reader parses every item strictly anyway. *n_skimmed = the number of RAW
 * nodes so made. A span it cannot delimit (truncated, too deep, mismatched at its own level) is
 * validated as by pt2c__json_parse_lazy, and an error met after a skimmed span sends the whole
 * document through the validating scan, so every error it returns is pt2c__json_parse_lazy's
 * (on error *n_skimmed = 0). The caller's duties, which
 * make its result that of pt2c__json_parse_lazy:
 * - read every item of every RAW node with pt2c__json_raw_next / _member to its end (the end
 *   call, *out or *key NULL, included): the iterators check the grammar of what they step over;
 * - refuse two members of one RAW object with equal keys (compared decoded);
 * - when any of that fails, or anything else fails while the DOM is read (the validating scan
 *   reports syntax errors before any other), or a RAW node is left unread, parse the document
 *   again with pt2c__json_parse_lazy: its error, if any, is the one to report.
 */
int pt2c__json_parse_skim(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                          const pt2c_json_lazy *lazy, size_t n_lazy, pt2c_arena *arena, size_t *n_skimmed,
                          pt2c_error *err);
/* For tests: documents whose text was skimmed in chunks on helper threads so far (json_skim.c). */
unsigned long pt2c__json_skim_grids(void);
/**
 * The last duty of pt2c__json_parse_skim's caller, done: rc is what reading the DOM gave and
 * n_read how many RAW nodes it read to their end. When rc failed (not for lack of memory) or
 * n_read < n_skimmed, data is parsed again with pt2c__json_parse_lazy (same opts and lazy keys,
 * a scratch arena of `alloc`); if that finds an error, it replaces *err (err->member = member,
 * as the first parse names it) and is returned. Otherwise returns rc unchanged.
 */
int pt2c__json_skim_settle(int rc, size_t n_skimmed, size_t n_read, const char *data, size_t len,
                           const pt2c_json_opts *opts, const pt2c_json_lazy *lazy, size_t n_lazy,
                           const pt2c_allocator *alloc, const char *member, pt2c_error *err);

/**
 * Iterate the elements of RAW node `raw` of the document data[0..len) it was parsed from (same
 * opts). *cursor starts at 0; each call parses the next element on its own into `arena` (the
 * caller may reset it between calls) and sets *out, or *out = NULL after the last one. Positions
 * in the element DOMs and error offsets are absolute offsets into data.
 */
int pt2c__json_raw_next(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                        const pt2c_json_opts *opts, pt2c_arena *arena, pt2c_json **out, pt2c_error *err);
/** pt2c__json_raw_next for a RAW object: each call gives the next member's key and value (both NULL after the last). */
int pt2c__json_raw_next_member(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                               const pt2c_json_opts *opts, pt2c_arena *arena, pt2c_json **key, pt2c_json **val,
                               pt2c_error *err);
/**
 * pt2c__json_raw_next_member that can skip a value seen before: when the member's value text
 * starts with the `prev_len` bytes at data[prev_at..] (the text of an earlier object or array value
 * of the same validated span, as *val_at and *val_len gave it), that value is the same and is not
 * parsed again: *val = NULL and *same = true. Otherwise *val is parsed as usual. *val_at and
 * *val_len always give the value's text. prev_len 0: no earlier value.
 */
int pt2c__json_raw_next_member_memo(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                                    const pt2c_json_opts *opts, pt2c_arena *arena, uint64_t prev_at, uint64_t prev_len,
                                    pt2c_json **key, pt2c_json **val, uint64_t *val_at, uint64_t *val_len, bool *same,
                                    pt2c_error *err);

/*
 * The items of a RAW array parsed ahead on a helper thread (json_ahead.c): the reader builds
 * from one batch of item DOMs while the next is parsed. pt2c__json_ahead_next gives exactly the
 * items, cursors and errors of pt2c__json_raw_next from cursor 0, in order. When it runs:
 * pt2c__helper_threads (util.h).
 */
typedef struct pt2c_json_ahead pt2c_json_ahead;
/*
 * Start the helper, or NULL when it is not worth it or not allowed (then iterate with
 * pt2c__json_raw_next): pt2c__helper_threads says none (the helper allocates its arenas'
 * chunks), or no thread or memory for it. data, raw and alloc must outlive the handle.
 */
pt2c_json_ahead *pt2c__json_ahead_start(const char *data, size_t len, const pt2c_json *raw, const pt2c_json_opts *opts,
                                        const pt2c_allocator *alloc);
/* The next item (*out NULL after the last) and the cursor after it; the DOM stays valid until the
 * next call. An error is that of pt2c__json_raw_next at the same item, copied into err. */
int pt2c__json_ahead_next(pt2c_json_ahead *a, pt2c_json **out, uint64_t *cursor, pt2c_error *err);
/* Stop the helper (wherever it is) and free everything; accepts NULL. */
void pt2c__json_ahead_stop(pt2c_json_ahead *a);
/* The next item of raw from the helper a, or, without one (a NULL), pt2c__json_raw_next into
 * `scratch` (reset first): one loop for both. */
static inline int pt2c__json_ahead_or_raw_next(pt2c_json_ahead *a, const char *data, size_t len, const pt2c_json *raw,
                                               uint64_t *cursor, const pt2c_json_opts *opts, pt2c_arena *scratch,
                                               pt2c_json **out, pt2c_error *err)
{
	if (a)
		return pt2c__json_ahead_next(a, out, cursor, err);
	pt2c__arena_reset(scratch);
	return pt2c__json_raw_next(data, len, raw, cursor, opts, scratch, out, err);
}

/* NULL-tolerant accessors: any NULL or wrongly typed input gives NULL / false. */
const pt2c_json *pt2c__json_get(const pt2c_json *obj, const char *key); /* first match */
const pt2c_json *pt2c__json_at(const pt2c_json *arr, size_t i);
static inline bool pt2c__json_is(const pt2c_json *v, int type) { return v && v->type == type; }
bool pt2c__json_streq(const pt2c_json *v, const char *s); /* v is a string equal to s */
/**
 * Full byte length of a string value (0 for non-strings). Strings of 4 GiB or more (a base64
 * engine inside model.json) have n == UINT32_MAX; they are always views into the input (such a
 * string with escapes is refused with PT2C_EUNSUPPORTED), and this finds their end again by
 * scanning for the closing quote. Every other string returns n at once.
 */
uint64_t pt2c__json_strlen(const pt2c_json *v);
/**
 * Append s to b for text output on a terminal: printable ASCII and valid UTF-8 as they are;
 * backslash, newline, tab and CR as \\, \n, \t, \r; other control characters (C0, DEL, C1,
 * the bidirectional overrides and isolates) and invalid UTF-8 bytes as \xHH per byte.
 */
void pt2c__text_escape(pt2c_buf *b, const char *s);
/** Object member i: key string node and value node. */
static inline const pt2c_json *pt2c__json_key(const pt2c_json *obj, size_t i) { return &obj->u.items[2 * i]; }
static inline const pt2c_json *pt2c__json_val(const pt2c_json *obj, size_t i) { return &obj->u.items[2 * i + 1]; }

/** 1-based line and column of a byte offset (for messages). */
void pt2c__json_line_col(const char *data, size_t len, uint64_t pos, uint32_t *line, uint32_t *col);

/* MARK: writing (Python json.dumps compatible) */

/** A JSON string literal with ensure_ascii escaping ("\u00e9", surrogate pairs, \n \" \\ ...). */
/** Offset of the first byte that is not valid UTF-8 (strict, as Python decodes), SIZE_MAX if none. */
size_t pt2c__utf8_invalid_at(const void *s, size_t n);
void pt2c__json_write_str(pt2c_buf *b, const char *s, size_t n);
static inline void pt2c__json_write_cstr(pt2c_buf *b, const char *s) { pt2c__json_write_str(b, s, strlen(s)); }
/**
 * A float as Python repr: shortest round-trip digits, always ".0" or an exponent ("2.0", "1e-05",
 * "1e+16"). Non-finite values are written as the JSON strings "Infinity", "-Infinity", "NaN".
 */
void pt2c__json_write_double(pt2c_buf *b, double d);
void pt2c__json_write_int(pt2c_buf *b, int64_t v);
/**
 * A whole DOM value as json.dumps writes it (", " and ": " separators, no newlines, the string
 * and float rules above). Iterative: any depth the parser accepted is fine. OOM sets b->err.
 */
void pt2c__json_write_value(pt2c_buf *b, const pt2c_json *v);

#endif
