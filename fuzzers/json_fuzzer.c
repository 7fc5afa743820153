/*
 * json_fuzzer.c -- parse arbitrary bytes as JSON (with and without the non-finite extension and
 * with a small depth cap), and for accepted documents re-write them with the Python-compatible
 * writer and parse the output again, which must succeed. Then the skimming parse
 * (pt2c__json_parse_skim) against the validating lazy parse: a document the lazy parse accepts is
 * skimmed to the same spans and read whole by the iterators; one it refuses is refused by the skim
 * or by the caller's duties (an iterator error, or equal keys in a RAW object). And the skim on
 * helper threads (chunks of 64 bytes, util/json_skim.c) against the skim in order: the same code,
 * spans, counts, message and offset.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/json.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pt2c_json_lazy LAZY[] = { { "graph", false }, { "tv", true } };

/* The caller's duties for every RAW node under v: 0 when all hold, 1 when one fails, 2 when a
 * RAW object has too many members to compare here (no verdict). */
static int read_raws(const char *d, size_t n, const pt2c_json *v, const pt2c_json_opts *o, pt2c_arena *a)
{
	if (v->type == PT2C_JSON_ARRAY || v->type == PT2C_JSON_OBJECT) {
		size_t k = v->type == PT2C_JSON_OBJECT ? 2u * v->n : v->n;
		int verdict = 0;
		for (size_t i = 0; i < k; i++) {
			int r = read_raws(d, n, &v->u.items[i], o, a);
			if (r == 1) return 1;
			if (r == 2) verdict = 2;
		}
		return verdict;
	}
	if (v->type != PT2C_JSON_RAW) return 0;
	pt2c_error err = PT2C_ERROR_INIT;
	uint64_t cur = 0;
	pt2c_json *keys[64];
	size_t nk = 0;
	for (;;) {
		pt2c_json *e = NULL, *k = NULL;
		int rc = d[v->pos] == '['
			? pt2c__json_raw_next(d, n, v, &cur, o, a, &e, &err)
			: pt2c__json_raw_next_member(d, n, v, &cur, o, a, &k, &e, &err);
		if (rc == PT2C_ENOMEM) abort();
		if (rc) return 1;
		if (!e) return 0;
		for (size_t j = 0; k && j < nk; j++)
			if (keys[j]->n == k->n && memcmp(keys[j]->u.s, k->u.s, k->n) == 0) return 1;
		if (k && nk < 64) keys[nk++] = k;
		else if (k) return 2; /* too many members to compare here: no verdict */
	}
}

static bool same_raws(const pt2c_json *a, const pt2c_json *b)
{
	if (a->type != b->type || a->pos != b->pos) return false;
	if (a->type == PT2C_JSON_RAW) return a->n == b->n && a->u.raw_len == b->u.raw_len;
	if (a->type != PT2C_JSON_ARRAY && a->type != PT2C_JSON_OBJECT) return true;
	if (a->n != b->n) return false;
	size_t k = a->type == PT2C_JSON_OBJECT ? 2u * a->n : a->n;
	for (size_t i = 0; i < k; i++)
		if (!same_raws(&a->u.items[i], &b->u.items[i])) return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_json *v = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_json_opts opts = { (size && (data[0] & 1)) ? PT2C_JSON_ALLOW_NONFINITE : 0u, (size && (data[0] & 2)) ? 8u : 0u };
	if (pt2c__json_parse(&v, (const char *)data, size, &opts, &arena, &err) == 0) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__json_write_value(&b, v);
		pt2c_json *again = NULL;
		pt2c_json_opts deep = { PT2C_JSON_ALLOW_NONFINITE, UINT32_MAX };
		if (!b.err && pt2c__json_parse(&again, b.data ? b.data : "", b.len, &deep, &arena, &err) != 0) abort();
		pt2c__buf_free(&b);
	}
	const char *d = (const char *)data;
	pt2c_json *lazy = NULL, *skim = NULL;
	pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
	size_t n_skimmed = 0;
	int rc1 = pt2c__json_parse_lazy(&lazy, d, size, &opts, LAZY, 2, &arena, &e1);
	int rc2 = pt2c__json_parse_skim(&skim, d, size, &opts, LAZY, 2, &arena, &n_skimmed, &e2);
	if (rc1 == PT2C_ENOMEM || rc2 == PT2C_ENOMEM) abort();
	if (rc1 == 0) {
		/* accepted: skimmed to the same spans, and every span reads whole */
		if (rc2 != 0 || !same_raws(lazy, skim) || read_raws(d, size, skim, &opts, &arena) == 1) abort();
	} else if (rc2 == 0) {
		/* refused: what the skim let through, the duties catch (or the skim refused it itself) */
		if (read_raws(d, size, skim, &opts, &arena) == 0) abort();
	} else if (e1.offset != e2.offset || strcmp(e1.message, e2.message) != 0) {
		abort(); /* a refusal by the skim is the validating scan's own */
	}
	if (size >= 128) {
		pt2c_thread_tuning keep = pt2c__thread_tuning;
		pt2c__thread_tuning = (pt2c_thread_tuning){ 2, true, 2, 64 };
		pt2c_json *par = NULL;
		pt2c_error e3 = PT2C_ERROR_INIT;
		size_t n3 = 0;
		int rc3 = pt2c__json_parse_skim(&par, d, size, &opts, LAZY, 2, &arena, &n3, &e3);
		pt2c__thread_tuning = keep;
		if (rc3 != rc2 || n3 != n_skimmed) abort();
		if (rc2 == 0 ? !same_raws(skim, par) : (e2.offset != e3.offset || strcmp(e2.message, e3.message) != 0)) abort();
	}
	pt2c__arena_free(&arena);
	return 0;
}
