/*
 * json_skim.c -- delimiting a lazy span without validating it (pt2c__json_parse_skim): find the
 * closing bracket of the array or object that opens at p->d[p->i] and count its items.
 *
 * Strings are skipped to their closing quote (a backslash escapes the byte after it), brackets of
 * either kind counted, commas at the span's own level counted. On well-formed text this gives
 * exactly what the validating scan gives: the same end, the same count, and the same depth (so
 * nesting beyond max_depth is still refused, by that scan). Whatever it cannot delimit -- the end
 * of the input, a closing bracket of the other kind at the span's level, too deep, more than
 * 2^32-1 items -- it leaves to the validating scan (nothing consumed), so those errors read as
 * before. What it does not check (the grammar inside the span, UTF-8, duplicate keys) the caller
 * checks by reading every item with the strict iterators, and parses the document again in full
 * when that fails (pt2c__json_parse_skim).
 *
 * A long document is skimmed on helper threads (skim_grid): the text from the first lazy span on
 * is cut into chunks of pt2c__thread_tuning.skim_bytes, and each chunk is summarised alone, once
 * as if it began outside a string and once as if inside one -- the only state of the scan in
 * order that a chunk cannot know (whether its first byte is escaped it finds by counting the
 * backslashes before it). A summary holds how the depth moves (net, lowest, highest) and the
 * commas at its lowest level, which are the only ones that can be at the span's own level in a
 * chunk the span does not end in. The calling thread then chains the summaries from the span's
 * start and scans in order only the chunk the span ends in (and any chunk whose depth would pass
 * max_depth): the same end, count and refusals as the scan in order, which the skim differential
 * of fuzzers/json_fuzzer.c and tests/util/test_json.c hold it to. Later lazy spans reuse the
 * summaries.
 */
#include "json_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#endif

/*
 * The skim works on 64-byte blocks: one bit a byte for quotes, backslashes, opening and closing
 * brackets and commas (SSE2 compares on x86-64, a byte loop elsewhere), then the bits inside
 * strings are cleared with a prefix XOR of the unescaped quotes, and only the remaining
 * structural bytes are visited one by one. A hand-written form of the usual bitmap technique of
 * SIMD JSON scanners: the library and Debian have nothing that delimits without building a DOM.
 */
typedef struct skim_bits {
	uint64_t quote, backslash, open, close, comma;
} skim_bits;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static inline uint64_t skim_eq(__m128i a, __m128i b, __m128i c, __m128i d, char ch)
{
	const __m128i k = _mm_set1_epi8(ch);
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, k)) |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, k)) << 16 |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, k)) << 32 |
	       (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(d, k)) << 48;
}

static inline void skim_classify(const unsigned char *p, skim_bits *o)
{
	__m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i c = _mm_loadu_si128((const __m128i *)(p + 32)), d = _mm_loadu_si128((const __m128i *)(p + 48));
	o->quote = skim_eq(a, b, c, d, '"');
	o->backslash = skim_eq(a, b, c, d, '\\');
	o->open = skim_eq(a, b, c, d, '[') | skim_eq(a, b, c, d, '{');
	o->close = skim_eq(a, b, c, d, ']') | skim_eq(a, b, c, d, '}');
	o->comma = skim_eq(a, b, c, d, ',');
}
#else
static inline void skim_classify(const unsigned char *p, skim_bits *o)
{
	memset(o, 0, sizeof *o);
	for (unsigned k = 0; k < 64; k++) {
		uint64_t bit = (uint64_t)1 << k;
		switch (p[k]) {
		case '"': o->quote |= bit; break;
		case '\\': o->backslash |= bit; break;
		case '[': case '{': o->open |= bit; break;
		case ']': case '}': o->close |= bit; break;
		case ',': o->comma |= bit; break;
		default: break;
		}
	}
}
#endif

/* Bit k set when an odd number of bits at or below k are set in x. */
static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/*
 * The bytes escaped by a backslash in a block: each backslash not itself escaped escapes the
 * next byte. *carry (in and out): the block's first byte is escaped by the previous block's
 * last. Backslashes are rare in graph JSON, so they are walked one by one.
 */
static inline uint64_t skim_escaped(uint64_t bs, uint64_t *carry)
{
	uint64_t esc = *carry;
	*carry = 0;
	uint64_t m = bs & ~esc;
	while (m) {
		unsigned k = (unsigned)__builtin_ctzll(m);
		if (k == 63) {
			*carry = 1;
			break;
		}
		uint64_t next = (uint64_t)1 << (k + 1);
		esc |= next;
		m &= ~next;
		m &= m - 1;
	}
	return esc;
}

/* MARK: the scan in order */

/*
 * Classify the 64-byte block at d[at] (of a range ending at `to`: a shorter last block is padded
 * with bytes that are none of the five) and return the mask of its bytes inside strings, given
 * *carry (its first byte is escaped) and *in_str (all ones when the block before ended inside a
 * string); both move on to the next block.
 */
static inline uint64_t skim_block(const unsigned char *d, size_t at, size_t to, uint64_t *carry, uint64_t *in_str,
                                  skim_bits *b)
{
	unsigned char tail[64];
	const unsigned char *blk = d + at;
	if (to - at < 64) {
		memset(tail, ' ', sizeof tail);
		memcpy(tail, d + at, to - at);
		blk = tail;
	}
	skim_classify(blk, b);
	uint64_t esc = (b->backslash | *carry) ? skim_escaped(b->backslash, carry) : 0;
	uint64_t strings = prefix_xor(b->quote & ~esc) ^ *in_str;
	*in_str = (uint64_t)0 - (strings >> 63);
	return strings;
}

/* Where a scan in order stands between two bytes of a span. */
typedef struct skim_state {
	int64_t depth;  /* brackets open, the span's own included (1 right after it) */
	uint64_t commas; /* commas at depth 1 so far: the span's items are these + 1 */
	bool in_str;    /* inside a string */
} skim_state;

/*
 * Scan d[from, to) in 64-byte blocks, `carry` telling whether d[from] is escaped: 1 with *end at
 * the span's closing bracket (depth back to 0), -1 when the depth passes room, 0 at `to` with st
 * moved on. drop: give pages back behind (PT2C_JSON_DROP_PAGES).
 */
static int skim_range(jparser *p, size_t from, size_t to, uint64_t carry, int64_t room, skim_state *st, size_t *end,
                      bool drop)
{
	const unsigned char *d = (const unsigned char *)p->d;
	uint64_t in_str = st->in_str ? ~(uint64_t)0 : 0; /* all ones while the previous block ended inside a string */
	int64_t depth = st->depth;
	uint64_t commas = st->commas;
	for (size_t at = from; at < to; at += 64) {
		skim_bits b;
		uint64_t strings = skim_block(d, at, to, &carry, &in_str, &b);
		uint64_t s = (b.open | b.close | b.comma) & ~strings;
		while (s) {
			unsigned k = (unsigned)__builtin_ctzll(s);
			uint64_t bit = (uint64_t)1 << k;
			s &= s - 1;
			if (b.open & bit) {
				if (++depth > room)
					return -1;
			} else if (b.close & bit) {
				if (--depth == 0) {
					*end = at + k;
					st->depth = 0;
					st->commas = commas;
					return 1;
				}
			} else if (depth == 1) {
				commas++;
			}
		}
		if (drop && (p->flags & PT2C_JSON_DROP_PAGES))
			pt2c__drop_behind(p->d, &p->dropped, at, false);
	}
	st->depth = depth;
	st->commas = commas;
	st->in_str = in_str != 0;
	return 0;
}

/* MARK: chunks on helper threads */

/* How a chunk moves the depth, under one guess of the string state at its start. */
typedef struct skim_hyp {
	int64_t rel, lo, hi; /* depth relative to the chunk's start: at its end, lowest, highest */
	uint64_t at_lo;      /* commas at depth lo after it was first reached */
} skim_hyp;

typedef struct skim_sum {
	skim_hyp h[2];  /* [0]: the chunk begins outside a string; [1]: inside one */
	uint64_t carry; /* its first byte is escaped */
	bool quote_odd; /* an odd number of unescaped quotes: the string state flips across it */
} skim_sum;

struct skim_grid {
	size_t base, chunk, n; /* chunk k is d[base + k * chunk, +chunk) (the last ends at len) */
	skim_sum *sums;
};

/* The end of chunk k of g in a text of len bytes. */
static size_t chunk_end(const struct skim_grid *g, size_t len, size_t k)
{
	size_t from = g->base + k * g->chunk;
	return len - from > g->chunk ? from + g->chunk : len;
}

/* A run of backslashes longer than this before a chunk is not counted (no real document has one). */
#define SKIM_BACKSLASH_RUN 4096

static inline void hyp_walk(skim_hyp *h, uint64_t s, const skim_bits *b)
{
	while (s) {
		unsigned k = (unsigned)__builtin_ctzll(s);
		uint64_t bit = (uint64_t)1 << k;
		s &= s - 1;
		if (b->open & bit) {
			if (++h->rel > h->hi) h->hi = h->rel;
		} else if (b->close & bit) {
			if (--h->rel < h->lo) {
				h->lo = h->rel;
				h->at_lo = 0;
			}
		} else if (h->rel == h->lo) {
			h->at_lo++;
		}
	}
}

typedef struct skim_job {
	jparser *p;
	struct skim_grid *g;
} skim_job;

static int skim_chunks(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	const skim_job *j = ctx;
	const unsigned char *d = (const unsigned char *)j->p->d;
	size_t len = j->p->len;
	for (size_t c = begin; c < end; c++) {
		skim_sum *s = &j->g->sums[c];
		size_t from = j->g->base + c * j->g->chunk, to = chunk_end(j->g, len, c);
		/* each backslash not itself escaped escapes the next byte: a run before `from` decides alone */
		size_t k = from, stop = from - j->g->base > SKIM_BACKSLASH_RUN ? from - SKIM_BACKSLASH_RUN : j->g->base;
		while (k > stop && d[k - 1] == '\\') k--;
		if (k == stop && k > j->g->base && d[k - 1] == '\\')
			return 1; /* more backslashes before it than are counted: the span is skimmed in order */
		uint64_t carry = (from - k) & 1, in_str = 0;
		s->carry = carry;
		for (size_t at = from; at < to; at += 64) {
			skim_bits b;
			uint64_t strings = skim_block(d, at, to, &carry, &in_str, &b);
			uint64_t st = b.open | b.close | b.comma;
			hyp_walk(&s->h[0], st & ~strings, &b);
			hyp_walk(&s->h[1], st & strings, &b);
		}
		s->quote_odd = in_str != 0;
		if (j->p->flags & PT2C_JSON_DROP_PAGES)
			pt2c__drop_file_pages(d + from, to - from);
	}
	return 0;
}

static unsigned long grids_made; /* atomic */

unsigned long pt2c__json_skim_grids(void)
{
	return __atomic_load_n(&grids_made, __ATOMIC_RELAXED);
}

/* The summaries of the text from base on, made on helper threads; NULL when not worth it or
 * not to be had (then the span is skimmed in order). */
static struct skim_grid *skim_grid_make(jparser *p, size_t base)
{
	size_t chunk = pt2c__thread_tuning.skim_bytes & ~(size_t)63;
	if (chunk == 0 || base >= p->len)
		return NULL;
	size_t n = (p->len - base - 1) / chunk + 1;
	unsigned helpers = n < 2 ? 0 : pt2c__helper_threads(p->alloc, (p->len - base) / 64, 15);
	if (helpers == 0)
		return NULL;
	struct skim_grid *g = pt2c__calloc(p->alloc, 1, sizeof *g);
	skim_sum *sums = g ? pt2c__calloc(p->alloc, n, sizeof *sums) : NULL;
	if (!sums) { /* slower, not wrong */
		pt2c__free(p->alloc, g);
		return NULL;
	}
	*g = (struct skim_grid){ base, chunk, n, sums };
	skim_job j = { p, g };
	pt2c_par_job job = { n, 1, skim_chunks, &j, p->alloc, helpers };
	if (pt2c__par_run(&job)) { /* a chunk could not be summarised */
		pt2c__free(p->alloc, sums);
		pt2c__free(p->alloc, g);
		return NULL;
	}
	__atomic_add_fetch(&grids_made, 1, __ATOMIC_RELAXED);
	return g;
}

void pt2c__json_skim_free(jparser *p)
{
	if (p->skim_grid) {
		pt2c__free(p->alloc, p->skim_grid->sums);
		pt2c__free(p->alloc, p->skim_grid);
		p->skim_grid = NULL;
	}
}

/*
 * The span from `start` through the summaries: what skim_range over d[start + 1, len) gives, or
 * 2 when there are none to use.
 */
static int skim_chained(jparser *p, size_t start, int64_t room, skim_state *st, size_t *end)
{
	if (!p->skim_grid && !p->skim_grid_tried) {
		p->skim_grid_tried = true;
		p->skim_grid = skim_grid_make(p, start + 1);
	}
	const struct skim_grid *g = p->skim_grid;
	if (!g || start + 1 < g->base)
		return 2;
	/* in order up to the first chunk */
	size_t k = (start + 1 - g->base + g->chunk - 1) / g->chunk;
	size_t first = g->base + k * g->chunk < p->len ? g->base + k * g->chunk : p->len;
	int r = skim_range(p, start + 1, first, 0, room, st, end, false);
	for (; r == 0 && k < g->n; k++) {
		const skim_sum *s = &g->sums[k];
		const skim_hyp *h = &s->h[st->in_str];
		if (st->depth + h->lo <= 0 || st->depth + h->hi > room) { /* it ends here, or goes too deep */
			r = skim_range(p, g->base + k * g->chunk, chunk_end(g, p->len, k), s->carry, room, st, end, false);
			continue;
		}
		if (st->depth + h->lo == 1) /* the chunk's lowest level is the span's own */
			st->commas += h->at_lo;
		st->depth += h->rel;
		st->in_str ^= s->quote_odd;
	}
	return r;
}

int pt2c__json_skim_span(jparser *p, size_t *end_out, size_t *n_out)
{
	const unsigned char *d = (const unsigned char *)p->d;
	size_t start = p->i;
	unsigned char close = d[start] == '[' ? ']' : '}';
	/* the span opens at depth nframes + 1; the validating scan refuses a frame beyond max_depth */
	if (p->nframes >= p->max_depth)
		return 0;
	int64_t room = (int64_t)(p->max_depth - p->nframes);
	skim_state st = { 1, 0, false };
	size_t end = SIZE_MAX;
	int r = skim_chained(p, start, room, &st, &end);
	if (r == 2) {
		st = (skim_state){ 1, 0, false };
		r = skim_range(p, start + 1, p->len, 0, room, &st, &end, true);
	}
	if (r != 1 || d[end] != close)
		return 0;
	uint64_t n = st.commas;
	if (n == 0) { /* one item, or none */
		size_t k = start + 1;
		while (k < end && (d[k] == ' ' || d[k] == '\n' || d[k] == '\r' || d[k] == '\t')) k++;
		n = k < end;
	} else {
		n++;
	}
	if (n > UINT32_MAX)
		return 0;
	*end_out = end;
	*n_out = (size_t)n;
	return 1;
}
