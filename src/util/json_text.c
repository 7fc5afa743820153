/*
 * json_text.c -- UTF-8 validation, escaping of untrusted text for people, and the
 * Python-compatible JSON writers declared in json.h.
 *
 * Writer notes: strings follow json.dumps(ensure_ascii=True). Input that is not valid UTF-8
 * (which a Python str could not hold, so there is no reference output) is still written as valid
 * JSON: each offending byte is escaped as "\u00XX", its Latin-1 reading. Floats are written with
 * snprintf("%.*e") and checked with strtod, so the shortest round-trip digits are found exactly;
 * the layout rules are those of Python's float_repr_style "short".
 */
#include "json_internal.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80) within n bytes, or 0 if
 * it is invalid (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte).
 */
size_t pt2c__utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c >= 0xc2 && c <= 0xdf) return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3) return 0;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c == 0xe0) lo = 0xa0;      /* overlong */
		else if (c == 0xed) hi = 0x9f; /* surrogates */
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80) return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4) return 0;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c == 0xf0) lo = 0x90;      /* overlong */
		else if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
		return 4;
	}
	return 0;
}

void pt2c__text_escape(pt2c_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			pt2c__buf_putc(b, (char)c);
			i++;
			continue;
		}
		const char *e = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
		if (e) {
			pt2c__buf_puts(b, e);
			i++;
			continue;
		}
		size_t k = c >= 0x80 ? pt2c__utf8_seq_len(u + i, n - i) : 0;
		/* C1 controls (U+0080..U+009F) and the bidirectional overrides and isolates
		 * (U+202A..U+202E, U+2066..U+2069) reorder or recolour a terminal like C0 controls */
		bool ctl = (k == 2 && c == 0xc2 && u[i + 1] < 0xa0) ||
		           (k == 3 && c == 0xe2 && ((u[i + 1] == 0x80 && u[i + 2] >= 0xaa && u[i + 2] <= 0xae) ||
		                                    (u[i + 1] == 0x81 && u[i + 2] >= 0xa6 && u[i + 2] <= 0xa9)));
		if (k && !ctl) {
			pt2c__buf_put(b, s + i, k);
			i += k;
			continue;
		}
		size_t m = k ? k : 1; /* escape the whole control sequence, or the one invalid byte */
		for (size_t j = 0; j < m; j++) {
			char x[4] = { '\\', 'x', hex[u[i + j] >> 4], hex[u[i + j] & 15] };
			pt2c__buf_put(b, x, 4);
		}
		i += m;
	}
}

size_t pt2c__utf8_invalid_at(const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n;) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = pt2c__utf8_seq_len(s + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return SIZE_MAX;
}

size_t pt2c__utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* MARK: writers */

static const char hexdig[] = "0123456789abcdef";

static void put_u4(pt2c_buf *b, uint32_t cu)
{
	char e[6] = { '\\', 'u', hexdig[(cu >> 12) & 15], hexdig[(cu >> 8) & 15], hexdig[(cu >> 4) & 15], hexdig[cu & 15] };
	pt2c__buf_put(b, e, 6);
}

void pt2c__json_write_str(pt2c_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	pt2c__buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x7f && u[run] != '"' && u[run] != '\\') run++;
		if (run > i) {
			pt2c__buf_put(b, s + i, run - i);
			i = run;
			if (i >= n) break;
		}
		unsigned char c = u[i];
		const char *short_esc = NULL;
		switch (c) {
		case '"': short_esc = "\\\""; break;
		case '\\': short_esc = "\\\\"; break;
		case '\n': short_esc = "\\n"; break;
		case '\r': short_esc = "\\r"; break;
		case '\t': short_esc = "\\t"; break;
		case '\b': short_esc = "\\b"; break;
		case '\f': short_esc = "\\f"; break;
		default: break;
		}
		if (short_esc) { pt2c__buf_put(b, short_esc, 2); i++; continue; }
		if (c < 0x80) { put_u4(b, c); i++; continue; } /* other controls and DEL */
		size_t k = pt2c__utf8_seq_len(u + i, n - i);
		if (!k) { put_u4(b, c); i++; continue; } /* invalid UTF-8: Latin-1 reading of the byte */
		uint32_t cp;
		if (k == 2) cp = ((uint32_t)(c & 0x1f) << 6) | (u[i + 1] & 0x3f);
		else if (k == 3) cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(u[i + 1] & 0x3f) << 6) | (u[i + 2] & 0x3f);
		else cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(u[i + 1] & 0x3f) << 12) | ((uint32_t)(u[i + 2] & 0x3f) << 6) | (u[i + 3] & 0x3f);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_u4(b, 0xd800 + (cp >> 10));
			put_u4(b, 0xdc00 + (cp & 0x3ff));
		} else {
			put_u4(b, cp);
		}
		i += k;
	}
	pt2c__buf_putc(b, '"');
}

void pt2c__json_write_int(pt2c_buf *b, int64_t v)
{
	/* By hand rather than snprintf: every size, stride and id of model.json comes through here,
	 * and vfprintf was a visible share of writing a million-node graph. */
	char tmp[24];
	char *end = tmp + sizeof tmp, *q = end;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN safe */
	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--q = '-';
	pt2c__buf_put(b, q, (size_t)(end - q));
}

/*
 * Digits of an %e rendering: the significant decimal digits (no sign; trailing zeros dropped when
 * `strip`) into dig, returning their count, and the decimal exponent into *exp10 (value =
 * D.DDD x 10^exp10). Works whatever the locale's decimal point is.
 */
static int e_digits(const char *s, char *dig, int *exp10, bool strip)
{
	int nd = 0;
	const char *q = s;
	if (*q == '-') q++;
	for (; *q && *q != 'e' && *q != 'E'; q++)
		if (*q >= '0' && *q <= '9' && nd < 30) dig[nd++] = *q;
	*exp10 = (*q) ? atoi(q + 1) : 0;
	while (strip && nd > 1 && dig[nd - 1] == '0') nd--;
	dig[nd] = 0;
	return nd;
}

/*
 * Try digits of precision prec+1 for d: the correctly rounded ones, then (because next to a power
 * of two the rounding interval is lopsided, which Python's dtoa accounts for) its two decimal
 * neighbours. Returns the digit count on a round trip, else 0.
 */
static int try_digits(double d, int prec, char *dig, int *exp10)
{
	char s[64];
	snprintf(s, sizeof s, "%.*e", prec, d);
	if (strtod(s, NULL) == d) return e_digits(s, dig, exp10, true);
	char nd[32];
	int e;
	e_digits(s, nd, &e, false);
	uint64_t m = strtoull(nd, NULL, 10);
	for (int dir = -1; dir <= 1; dir += 2) {
		uint64_t mm = dir < 0 ? m - 1 : m + 1;
		if (mm == 0) continue;
		char t[64];
		snprintf(t, sizeof t, "%" PRIu64 "e%d", mm, e - prec);
		if (strtod(t, NULL) != d) continue;
		int len = snprintf(dig, 24, "%" PRIu64, mm);
		*exp10 = e - prec + len - 1;
		while (len > 1 && dig[len - 1] == '0') len--;
		dig[len] = 0;
		return len;
	}
	return 0;
}

/* Shortest digits that round-trip to d (finite, > 0): count returned, exponent in *exp10. */
static int shortest_digits(double d, char *dig, int *exp10)
{
	int n;
	/* most doubles from real data need 16 or 17 digits: settle those in three tries */
	if (!try_digits(d, 14, dig, exp10)) {
		if ((n = try_digits(d, 15, dig, exp10)) != 0) return n;
		char s[64];
		snprintf(s, sizeof s, "%.16e", d);
		return e_digits(s, dig, exp10, true);
	}
	for (int prec = 0; prec <= 14; prec++)
		if ((n = try_digits(d, prec, dig, exp10)) != 0) return n;
	return 0; /* unreachable: precision 14 round-tripped above */
}

void pt2c__json_write_double(pt2c_buf *b, double d)
{
	if (isnan(d)) { pt2c__buf_puts(b, "\"NaN\""); return; }
	if (isinf(d)) { pt2c__buf_puts(b, d < 0 ? "\"-Infinity\"" : "\"Infinity\""); return; }
	char out[64];
	size_t o = 0;
	if (signbit(d)) { out[o++] = '-'; d = -d; }
	if (d == 0) {
		memcpy(out + o, "0.0", 3);
		pt2c__buf_put(b, out, o + 3);
		return;
	}
	char dig[32];
	int e;
	int nd = shortest_digits(d, dig, &e);
	if (e < -4 || e >= 16) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, dig + 1, (size_t)nd - 1);
			o += (size_t)nd - 1;
		}
		o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	} else if (e < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int k = 0; k < -e - 1; k++) out[o++] = '0';
		memcpy(out + o, dig, (size_t)nd);
		o += (size_t)nd;
	} else if (nd <= e + 1) {
		memcpy(out + o, dig, (size_t)nd);
		o += (size_t)nd;
		for (int k = 0; k < e + 1 - nd; k++) out[o++] = '0';
		out[o++] = '.';
		out[o++] = '0';
	} else {
		memcpy(out + o, dig, (size_t)e + 1);
		o += (size_t)e + 1;
		out[o++] = '.';
		memcpy(out + o, dig + e + 1, (size_t)(nd - e - 1));
		o += (size_t)(nd - e - 1);
	}
	pt2c__buf_put(b, out, o);
}

typedef struct wframe {
	const pt2c_json *c;
	uint32_t next; /* index of the next item (array) or member (object) */
} wframe;

void pt2c__json_write_value(pt2c_buf *b, const pt2c_json *v)
{
	wframe *st = NULL;
	size_t n = 0, cap = 0;
	const pt2c_json *cur = v;
	for (;;) {
		/* write cur; containers are opened and pushed */
		switch (cur->type) {
		case PT2C_JSON_NULL: pt2c__buf_put(b, "null", 4); break;
		case PT2C_JSON_FALSE: pt2c__buf_put(b, "false", 5); break;
		case PT2C_JSON_TRUE: pt2c__buf_put(b, "true", 4); break;
		case PT2C_JSON_INT: pt2c__json_write_int(b, cur->u.i); break;
		case PT2C_JSON_REAL: pt2c__json_write_double(b, cur->u.d); break;
		case PT2C_JSON_STRING: pt2c__json_write_str(b, cur->u.s, cur->n); break;
		case PT2C_JSON_ARRAY:
		case PT2C_JSON_OBJECT:
			pt2c__buf_putc(b, cur->type == PT2C_JSON_ARRAY ? '[' : '{');
			if (n == cap && pt2c__grow(b->alloc, (void **)&st, &cap, n + 1, sizeof *st) != 0) {
				if (!b->err) b->err = PT2C_ENOMEM;
				pt2c__free(b->alloc, st);
				return;
			}
			st[n].c = cur;
			st[n].next = 0;
			n++;
			break;
		default: pt2c__buf_put(b, "null", 4); break;
		}
		/* find the next value to write, closing finished containers */
		for (;;) {
			if (n == 0) {
				pt2c__free(b->alloc, st);
				return;
			}
			wframe *f = &st[n - 1];
			if (f->next >= f->c->n) {
				pt2c__buf_putc(b, f->c->type == PT2C_JSON_ARRAY ? ']' : '}');
				n--;
				continue;
			}
			if (f->next > 0) pt2c__buf_put(b, ", ", 2);
			if (f->c->type == PT2C_JSON_ARRAY) {
				cur = &f->c->u.items[f->next++];
			} else {
				const pt2c_json *k = &f->c->u.items[2 * (size_t)f->next];
				pt2c__json_write_str(b, k->u.s, k->n);
				pt2c__buf_put(b, ": ", 2);
				cur = k + 1;
				f->next++;
			}
			break;
		}
	}
}
