/*
 * json_keys.c -- the JSON reader's duplicate member key check (part of the reader of json.c).
 */
#include "json_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* MARK: duplicate member keys
 *
 * Python's json keeps the last of two equal keys, a first-match lookup the first one: a document
 * with a duplicate key means different things to PyTorch and to us, so it is refused. Keys are
 * compared decoded (escapes resolved), the way Python compares them. */

/* Decoded-byte iterator over a validated, escaped key d[a..b). */
typedef struct jkit {
	const char *d;
	size_t i, b;
	char buf[4];
	size_t bn, bi;
} jkit;

/* The next decoded byte, or -1 at the end. */
static int jkit_next(jkit *it)
{
	if (it->bi < it->bn) return (unsigned char)it->buf[it->bi++];
	if (it->i >= it->b) return -1;
	char c = it->d[it->i];
	if (c != '\\') { it->i++; return (unsigned char)c; }
	char e = it->d[it->i + 1];
	it->bi = it->bn = 0;
	switch (e) {
	case 'b': it->i += 2; return '\b';
	case 'f': it->i += 2; return '\f';
	case 'n': it->i += 2; return '\n';
	case 'r': it->i += 2; return '\r';
	case 't': it->i += 2; return '\t';
	case 'u': break;
	default: it->i += 2; return (unsigned char)e;
	}
	uint32_t cp = 0;
	for (int k = 0; k < 4; k++) cp = cp * 16 + (uint32_t)pt2c__json_hexval(it->d[it->i + 2 + (size_t)k]);
	it->i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		uint32_t lo = 0;
		for (int k = 0; k < 4; k++) lo = lo * 16 + (uint32_t)pt2c__json_hexval(it->d[it->i + 2 + (size_t)k]);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		it->i += 6;
	}
	it->bn = pt2c__utf8_put(it->buf, cp);
	it->bi = 1;
	return (unsigned char)it->buf[0];
}

static int jkey_cmp_in(const char *d, const jkey *x, const jkey *y)
{
	/* keys without escapes: plain bytes */
	if (!x->esc && !y->esc) {
		size_t nx = x->b - x->a, ny = y->b - y->a;
		int c = memcmp(d + x->a, d + y->a, nx < ny ? nx : ny);
		return c ? c : (nx < ny ? -1 : nx > ny);
	}
	jkit ix = { d, x->a, x->b, {0}, 0, 0 }, iy = { d, y->a, y->b, {0}, 0, 0 };
	for (;;) {
		int cx = jkit_next(&ix), cy = jkit_next(&iy);
		if (cx != cy) return cx < cy ? -1 : 1;
		if (cx < 0) return 0;
	}
}

/* Append a decoded key to out[*on..cap) as an RFC 6901 reference token ("~0", "~1"), control
 * bytes as '?'; "..." when it does not fit. */
static void jptr_token(char *out, size_t cap, size_t *on, const char *d, const jkey *k)
{
	jkit it = { d, k->a, k->b, {0}, 0, 0 };
	int c;
	while ((c = jkit_next(&it)) >= 0) {
		char t[2] = { (char)c, 0 };
		size_t tn = 1;
		if (c == '~') { t[0] = '~'; t[1] = '0'; tn = 2; }
		else if (c == '/') { t[0] = '~'; t[1] = '1'; tn = 2; }
		else if (c < 0x20 || c == 0x7f) t[0] = '?';
		if (*on + tn + 4 >= cap) {
			if (*on + 4 < cap) { memcpy(out + *on, "...", 3); *on += 3; }
			out[*on] = 0;
			return;
		}
		memcpy(out + *on, t, tn);
		*on += tn;
	}
	out[*on] = 0;
}

/* The JSON pointer of the innermost open object's member `dup`, built from the frame stack. */
static void jpointer(const jparser *p, const jkey *dup, char *out, size_t cap)
{
	size_t on = 0;
	out[0] = 0;
	for (size_t k = 0; k < p->nframes; k++) {
		if (on + 8 >= cap) break;
		out[on++] = '/';
		out[on] = 0;
		if (k + 1 == p->nframes) {
			jptr_token(out, cap, &on, p->d, dup);
		} else if (p->frames[k].is_obj) {
			jptr_token(out, cap, &on, p->d, &p->keys[p->frames[k + 1].kstart - 1]);
		} else {
			bool raw = p->raw_frame != NO_RAW && k >= p->raw_frame;
			size_t idx = raw ? p->frames[k].count : p->frames[k + 1].start - p->frames[k].start;
			int w = snprintf(out + on, cap - on, "%zu", idx);
			if (w > 0) on += (size_t)w < cap - on ? (size_t)w : cap - on - 1;
		}
	}
}

/* FNV-1a over a key's decoded bytes (equal decoded keys hash equal, escaped or not). */
static uint64_t jkey_hash(const char *d, const jkey *k)
{
	uint64_t h = 0xcbf29ce484222325u;
	if (!k->esc) {
		for (size_t i = k->a; i < k->b; i++) h = (h ^ (unsigned char)d[i]) * 0x100000001b3u;
		return h;
	}
	jkit it = { d, k->a, k->b, {0}, 0, 0 };
	int c;
	while ((c = jkit_next(&it)) >= 0) h = (h ^ (unsigned)c) * 0x100000001b3u;
	return h;
}

/*
 * Duplicates among many keys (tensor_values holds one per graph value, a million in a large
 * graph): an open-addressing table of key indices, filled in document order, so the first key
 * that meets an equal one is the earliest second occurrence. *dup = NULL when all differ.
 */
static int jfind_dup_hashed(jparser *p, const jkey *k, size_t n, const jkey **dup)
{
	*dup = NULL;
	size_t cap = 64, bytes;
	while (cap < n + n / 2) {
		if (cap > SIZE_MAX / 4) return pt2c__err_oom(p->err);
		cap *= 2;
	}
	if (pt2c__mul_ovf_sz(cap, sizeof(uint32_t), &bytes) || n >= UINT32_MAX) return pt2c__err_oom(p->err);
	uint32_t *slot = pt2c__malloc(p->alloc, bytes);
	if (!slot) return pt2c__err_oom(p->err);
	memset(slot, 0xff, bytes);
	size_t mask = cap - 1;
	for (size_t i = 0; i < n && !*dup; i++) {
		for (size_t j = (size_t)jkey_hash(p->d, &k[i]) & mask;; j = (j + 1) & mask) {
			if (slot[j] == UINT32_MAX) {
				slot[j] = (uint32_t)i;
				break;
			}
			const jkey *o = &k[slot[j]];
			if (o->b - o->a == k[i].b - k[i].a || o->esc || k[i].esc) {
				if (jkey_cmp_in(p->d, o, &k[i]) == 0) {
					*dup = &k[i];
					break;
				}
			}
		}
	}
	pt2c__free(p->alloc, slot);
	return 0;
}

/* Refuse a duplicate among the keys of the innermost open object (called as it closes). */
int pt2c__json_check_dups(jparser *p)
{
	const jframe *f = &p->frames[p->nframes - 1];
	size_t n = p->nkeys - f->kstart;
	if (n < 2) return 0;
	jkey *k = p->keys + f->kstart;
	const jkey *dup = NULL;
	if (n <= 16) {
		for (size_t i = 1; i < n && !dup; i++)
			for (size_t j = 0; j < i; j++) {
				/* two plain keys of different lengths or first bytes differ: the common case */
				if (!k[i].esc && !k[j].esc &&
				    (k[i].b - k[i].a != k[j].b - k[j].a || (k[i].b > k[i].a && p->d[k[i].a] != p->d[k[j].a])))
					continue;
				if (jkey_cmp_in(p->d, &k[j], &k[i]) == 0) { dup = &k[i]; break; }
			}
	} else {
		int rc = jfind_dup_hashed(p, k, n, &dup);
		if (rc) return rc;
	}
	if (!dup) return 0;
	char ptr[PT2C_ERROR_WHERE_MAX], key[64];
	jpointer(p, dup, ptr, sizeof ptr);
	size_t kn = 0;
	jptr_token(key, sizeof key, &kn, p->d, dup);
	uint32_t line, col;
	pt2c__json_line_col(p->d, p->len, dup->pos, &line, &col);
	/* the member is the JSON pointer; a reader prefixes its file or member name to it */
	return pt2c__err_at(p->err, PT2C_ECORRUPT, ptr, dup->pos,
	                    "duplicate key \"%s\" at JSON pointer %s (Python's json would keep the last value, "
	                    "a first-match lookup the first: refused) at line %" PRIu32 " column %" PRIu32,
	                    key, ptr, line, col);
}
