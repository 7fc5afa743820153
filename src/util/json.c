/*
 * json.c -- the strict JSON reader (explicit-stack state machine into an arena DOM) and its
 * accessors. Duplicate keys: json_keys.c; UTF-8 helpers and the writers: json_text.c.
 *
 * Reader design: one pass over the bytes. Values of open containers accumulate on a temporary
 * growable value stack; when a container closes its items are copied into the arena as one
 * contiguous array and the container node replaces them on the stack. So memory is the DOM plus
 * the widest open path, and there is no recursion at all (depth only bounds the frame stack).
 *
 * Lazy arrays and objects (pt2c__json_parse_lazy): inside one, the same scanner runs with the value stack
 * switched off -- values are validated and counted, never stored -- so errors are byte-for-byte
 * those of a full parse. pt2c__json_raw_next (_member) later parses each element (member) where it
 * lies in the document, so positions and error offsets need no rebasing.
 */
#include "json_internal.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#endif

#define JSON_DEFAULT_DEPTH 512u

/* MARK: reader */

/* pt2c__grow for a stack that may still live in its inline buffer `first`. */
static int jgrow(jparser *p, void **arr, size_t *cap, size_t elem, const void *first)
{
	if (*arr != first)
		return pt2c__grow(p->alloc, arr, cap, *cap + 1, elem);
	size_t ncap = *cap * 4, bytes;
	if (pt2c__mul_ovf_sz(ncap, elem, &bytes))
		return PT2C_ENOMEM;
	void *q = pt2c__malloc(p->alloc, bytes);
	if (!q)
		return PT2C_ENOMEM;
	memcpy(q, first, *cap * elem);
	*arr = q;
	*cap = ncap;
	return 0;
}

void pt2c__json_line_col(const char *data, size_t len, uint64_t pos, uint32_t *line, uint32_t *col)
{
	uint32_t l = 1;
	size_t line_start = 0;
	size_t end = pos < len ? (size_t)pos : len;
	for (size_t k = 0; k < end; k++) {
		if (data[k] == '\n') {
			l++;
			line_start = k + 1;
		}
	}
	if (line) *line = l;
	if (col) *col = (uint32_t)(end - line_start + 1);
}

/* Record a syntax error at byte `pos`; the message gets " at line L column C" appended. */
__attribute__((format(printf, 3, 4)))
static int jfail(jparser *p, size_t pos, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint32_t line, col;
	pt2c__json_line_col(p->d, p->len, pos, &line, &col);
	return pt2c__err_at(p->err, PT2C_ECORRUPT, NULL, pos, "%s at line %" PRIu32 " column %" PRIu32, msg, line, col);
}

/* Describe the byte at pos for messages ("'x'", "byte 0xff" or "end of input"). */
static const char *jdescribe(const jparser *p, size_t pos, char *buf, size_t n)
{
	if (pos >= p->len) return "end of input";
	unsigned char c = (unsigned char)p->d[pos];
	if (c >= 0x20 && c < 0x7f) snprintf(buf, n, "'%c'", c);
	else snprintf(buf, n, "byte 0x%02x", c);
	return buf;
}

static int junexpected(jparser *p, const char *what)
{
	char b[16];
	if (p->i >= p->len) return jfail(p, p->i, "truncated: unexpected end of input at byte %zu, expected %s", p->len, what);
	return jfail(p, p->i, "unexpected %s, expected %s", jdescribe(p, p->i, b, sizeof b), what);
}

static inline void jskip_ws(jparser *p)
{
	while (p->i < p->len) {
		char c = p->d[p->i];
		if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
		p->i++;
	}
}

/* Push a finished value onto the value stack. */
static int jpush(jparser *p, const pt2c_json *v)
{
	if (p->raw_frame != NO_RAW) {
		/* inside a lazy span: validate only; count so the item limit is enforced as before */
		p->frames[p->nframes - 1].count++;
		return 0;
	}
	if (p->nvals == p->capvals && jgrow(p, (void **)&p->vals, &p->capvals, sizeof *p->vals, p->vals0) != 0)
		return pt2c__err_oom(p->err);
	p->vals[p->nvals++] = *v;
	return 0;
}

/* Open a container at p->i (which holds '[' or '{'), enforcing the depth cap. */
static int jopen(jparser *p, bool is_obj)
{
	if (p->nframes >= p->max_depth)
		return jfail(p, p->i, "nesting deeper than %" PRIu32 " levels", p->max_depth);
	if (p->nframes == p->capframes && jgrow(p, (void **)&p->frames, &p->capframes, sizeof *p->frames, p->frames0) != 0)
		return pt2c__err_oom(p->err);
	jframe *f = &p->frames[p->nframes++];
	f->is_obj = is_obj;
	f->start = p->nvals;
	f->pos = p->i;
	f->count = 0;
	f->kstart = p->nkeys;
	p->i++;
	return 0;
}

int pt2c__json_hexval(char c);
size_t pt2c__utf8_put(char *o, uint32_t cp);

/* Close the innermost container: move its items into the arena and push the container node. */
static int jclose(jparser *p)
{
	if (p->frames[p->nframes - 1].is_obj) {
		int rc = pt2c__json_check_dups(p);
		if (rc) return rc;
		p->nkeys = p->frames[p->nframes - 1].kstart;
	}
	jframe f = p->frames[--p->nframes];
	bool raw = p->raw_frame != NO_RAW;
	size_t count = raw ? f.count : p->nvals - f.start;
	pt2c_json v;
	memset(&v, 0, sizeof v);
	v.type = f.is_obj ? PT2C_JSON_OBJECT : PT2C_JSON_ARRAY;
	v.pos = f.pos;
	size_t n = f.is_obj ? count / 2 : count;
	if (n > UINT32_MAX) return jfail(p, (size_t)f.pos, "container with more than 2^32-1 items");
	v.n = (uint32_t)n;
	if (raw) {
		if (p->nframes != p->raw_frame) return jpush(p, &v); /* nested: only counted */
		p->raw_frame = NO_RAW;
		v.type = PT2C_JSON_RAW;
		v.u.raw_len = (uint64_t)(p->i - (size_t)f.pos);
		return jpush(p, &v);
	}
	if (count) {
		size_t bytes;
		if (pt2c__mul_ovf_sz(count, sizeof(pt2c_json), &bytes)) return pt2c__err_oom(p->err);
		v.u.items = pt2c__arena_alloc(p->arena, bytes);
		if (!v.u.items) return pt2c__err_oom(p->err);
		memcpy(v.u.items, p->vals + f.start, bytes);
	}
	p->nvals = f.start;
	return jpush(p, &v);
}

int pt2c__json_hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Four hex digits at d[at..at+4) as a code unit, or -1 if short or not hex. */
static long jhex4(const jparser *p, size_t at)
{
	if (at > p->len || p->len - at < 4) return -1;
	long v = 0;
	for (int k = 0; k < 4; k++) {
		int h = pt2c__json_hexval(p->d[at + (size_t)k]);
		if (h < 0) return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Parse the string whose opening quote is at p->i into *v (validating escapes and UTF-8) and
 * move past the closing quote. Unescaped strings are views into the input.
 */
static int jstring(jparser *p, pt2c_json *v)
{
	size_t open = p->i;
	size_t i = open + 1;
	bool esc = false;
	const unsigned char *d = (const unsigned char *)p->d;
	for (;;) {
		/* fast run over plain ASCII, eight bytes at a time (base64 engines are gigabytes) */
		while (p->len - i >= 8) {
			uint64_t w;
			memcpy(&w, d + i, 8);
			const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
			uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
			uint64_t special = (w | ((q - ones) & ~q) | ((bs - ones) & ~bs) | ((w - ones * 0x20) & ~w)) & highs;
			if (special) break;
			i += 8;
		}
		while (i < p->len && d[i] >= 0x20 && d[i] < 0x80 && d[i] != '"' && d[i] != '\\') i++;
		if (i >= p->len) return jfail(p, open, "truncated: the string at byte %zu is not closed before the end of input (byte %zu)", open, p->len);
		unsigned char c = d[i];
		if (c == '"') break;
		if (c == '\\') {
			esc = true;
			if (i + 1 >= p->len) return jfail(p, open, "truncated: the string at byte %zu is not closed before the end of input (byte %zu)", open, p->len);
			char e = (char)d[i + 1];
			if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
				i += 2;
				continue;
			}
			if (e != 'u') return jfail(p, i, "invalid escape sequence");
			long cu = jhex4(p, i + 2);
			if (cu < 0 && i + 6 > p->len)
				return jfail(p, open, "truncated: the string at byte %zu is not closed before the end of input (byte %zu)", open, p->len);
			if (cu < 0) return jfail(p, i, "invalid \\u escape");
			if (cu >= 0xdc00 && cu <= 0xdfff) return jfail(p, i, "lone low surrogate in \\u escape");
			if (cu >= 0xd800 && cu <= 0xdbff) {
				long lo = (i + 7 < p->len && d[i + 6] == '\\' && d[i + 7] == 'u') ? jhex4(p, i + 8) : -1;
				if (lo < 0xdc00 || lo > 0xdfff) return jfail(p, i, "lone high surrogate in \\u escape");
				i += 12;
			} else {
				i += 6;
			}
			continue;
		}
		if (c < 0x20) return jfail(p, i, "unescaped control character 0x%02x in a string", c);
		size_t k = pt2c__utf8_seq_len(d + i, p->len - i);
		if (!k) return jfail(p, i, "invalid UTF-8 in a string");
		i += k;
	}
	size_t close = i;
	size_t raw = close - open - 1;
	memset(v, 0, sizeof *v);
	v->type = PT2C_JSON_STRING;
	v->pos = open;
	if (!esc) {
		/* 4 GiB and more: n saturates, pt2c__json_strlen finds the closing quote again */
		v->u.s = p->d + open + 1;
		v->n = raw >= UINT32_MAX ? UINT32_MAX : (uint32_t)raw;
		p->i = close + 1;
		return 0;
	}
	if (raw >= UINT32_MAX)
		return pt2c__err_at(p->err, PT2C_EUNSUPPORTED, NULL, open, "string of 4 GiB or more with escape sequences");
	p->i = close + 1;
	if (p->raw_frame != NO_RAW) return 0; /* validated; the value is dropped */
	/* decoded text is never longer than its escaped form */
	char *o = pt2c__arena_alloc(p->arena, raw);
	if (!o) return pt2c__err_oom(p->err);
	size_t on = 0;
	for (size_t k = open + 1; k < close;) {
		char c = p->d[k];
		if (c != '\\') { o[on++] = c; k++; continue; }
		char e = p->d[k + 1];
		switch (e) {
		case 'b': o[on++] = '\b'; k += 2; continue;
		case 'f': o[on++] = '\f'; k += 2; continue;
		case 'n': o[on++] = '\n'; k += 2; continue;
		case 'r': o[on++] = '\r'; k += 2; continue;
		case 't': o[on++] = '\t'; k += 2; continue;
		case 'u': break;
		default: o[on++] = e; k += 2; continue;
		}
		uint32_t cp = (uint32_t)jhex4(p, k + 2);
		k += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = (uint32_t)jhex4(p, k + 2);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			k += 6;
		}
		on += pt2c__utf8_put(o + on, cp);
	}
	v->u.s = o;
	v->n = (uint32_t)on;
	return 0;
}

/*
 * Convert the validated number text d[a..b) with strtod. Under a locale whose decimal point is not
 * '.' (only if the host program called setlocale) strtod stops early; then the '.' is replaced by
 * the locale's decimal point and the conversion repeated.
 */
static int jstrtod(jparser *p, size_t a, size_t b, double *out)
{
	size_t n = b - a;
	char small[128];
	size_t need;
	if (pt2c__mul_ovf_sz(n, 8, &need) || pt2c__add_ovf_sz(need, 1, &need)) return pt2c__err_oom(p->err);
	char *buf = need <= sizeof small ? small : pt2c__malloc(p->alloc, need);
	if (!buf) return pt2c__err_oom(p->err);
	memcpy(buf, p->d + a, n);
	buf[n] = 0;
	char *end;
	*out = strtod(buf, &end);
	if (*end == '.') {
		const char *dp = localeconv()->decimal_point;
		size_t dpl = dp ? strlen(dp) : 0;
		if (dpl >= 1 && dpl <= 8) {
			size_t o = (size_t)(end - buf);
			size_t rest = n - o - 1;
			memmove(buf + o + dpl, p->d + a + o + 1, rest);
			memcpy(buf + o, dp, dpl);
			buf[o + dpl + rest] = 0;
			*out = strtod(buf, NULL);
		}
	}
	if (buf != small) pt2c__free(p->alloc, buf);
	return 0;
}

/* Parse the number at p->i into *v (INT when it is an integer that fits int64, else REAL). */
static int jnumber(jparser *p, pt2c_json *v)
{
	size_t a = p->i, i = a;
	const char *d = p->d;
	bool neg = false, real = false;
	memset(v, 0, sizeof *v);
	v->pos = a;
	if (d[i] == '-') { neg = true; i++; }
	if (i >= p->len) { p->i = i; return junexpected(p, "a digit"); }
	if (d[i] == '0') {
		i++;
		if (i < p->len && d[i] >= '0' && d[i] <= '9') return jfail(p, a, "leading zero in a number");
	} else if (d[i] >= '1' && d[i] <= '9') {
		while (i < p->len && d[i] >= '0' && d[i] <= '9') i++;
	} else {
		p->i = i;
		return junexpected(p, "a digit");
	}
	size_t int_end = i;
	if (i < p->len && d[i] == '.') {
		real = true;
		i++;
		if (i >= p->len || d[i] < '0' || d[i] > '9') { p->i = i; return junexpected(p, "a digit after '.'"); }
		while (i < p->len && d[i] >= '0' && d[i] <= '9') i++;
	}
	if (i < p->len && (d[i] == 'e' || d[i] == 'E')) {
		real = true;
		i++;
		if (i < p->len && (d[i] == '+' || d[i] == '-')) i++;
		if (i >= p->len || d[i] < '0' || d[i] > '9') { p->i = i; return junexpected(p, "a digit in the exponent"); }
		while (i < p->len && d[i] >= '0' && d[i] <= '9') i++;
	}
	p->i = i;
	if (!real) {
		uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		bool fits = true;
		for (size_t k = a + (neg ? 1 : 0); k < int_end; k++) {
			uint64_t digit = (uint64_t)(d[k] - '0');
			if (mag > (limit - digit) / 10) { fits = false; break; }
			mag = mag * 10 + digit;
		}
		if (fits) {
			v->type = PT2C_JSON_INT;
			v->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
			return 0;
		}
		/* Python reads it as an exact int, a double would round it: neither is what the writer
		 * meant for any field PyTorch has (all int64), so it is refused, not coerced (issue 11 #9) */
		return jfail(p, a, "integer %.*s%s is outside the 64-bit range", (int)(int_end - a > 24 ? 24 : int_end - a),
		             d + a, int_end - a > 24 ? "..." : "");
	}
	v->type = PT2C_JSON_REAL;
	if (p->raw_frame != NO_RAW) return 0; /* validated; the value is dropped */
	return jstrtod(p, a, i, &v->u.d);
}

/* True if the literal word w is at p->i (and consume it). */
static bool jword(jparser *p, const char *w)
{
	size_t n = strlen(w);
	if (p->len - p->i < n || memcmp(p->d + p->i, w, n) != 0) return false;
	p->i += n;
	return true;
}

/* A literal that does not read `w`: cut short by the end of the input, or invalid. */
static int jbad_word(jparser *p, const char *w)
{
	size_t rest = p->len - p->i;
	if (rest < strlen(w) && memcmp(p->d + p->i, w, rest) == 0)
		return jfail(p, p->i, "truncated: '%.*s' (of %s) is cut short by the end of input at byte %zu", (int)rest,
		             p->d + p->i, w, p->len);
	return jfail(p, p->i, "invalid literal");
}

/* Parse a non-container value at p->i and push it. */
static int jscalar(jparser *p)
{
	pt2c_json v;
	memset(&v, 0, sizeof v);
	v.pos = p->i;
	char c = p->d[p->i];
	int rc;
	switch (c) {
	case '"':
		if ((rc = jstring(p, &v)) != 0) return rc;
		break;
	case 't':
		if (!jword(p, "true")) return jbad_word(p, "true");
		v.type = PT2C_JSON_TRUE;
		break;
	case 'f':
		if (!jword(p, "false")) return jbad_word(p, "false");
		v.type = PT2C_JSON_FALSE;
		break;
	case 'n':
		if (!jword(p, "null")) return jbad_word(p, "null");
		v.type = PT2C_JSON_NULL;
		break;
	case 'N':
	case 'I':
		if (!(p->flags & PT2C_JSON_ALLOW_NONFINITE)) return junexpected(p, "a JSON value");
		if (!jword(p, c == 'N' ? "NaN" : "Infinity")) return jbad_word(p, c == 'N' ? "NaN" : "Infinity");
		v.type = PT2C_JSON_REAL;
		v.u.d = c == 'N' ? NAN : INFINITY;
		break;
	default:
		if (c == '-' && p->i + 1 < p->len && p->d[p->i + 1] == 'I' && (p->flags & PT2C_JSON_ALLOW_NONFINITE)) {
			p->i++;
			if (!jword(p, "Infinity")) return jbad_word(p, "Infinity");
			v.type = PT2C_JSON_REAL;
			v.u.d = -INFINITY;
			break;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			if ((rc = jnumber(p, &v)) != 0) return rc;
			break;
		}
		return junexpected(p, "a JSON value");
	}
	return jpush(p, &v);
}

/*
 * Skim a lazy span (pt2c__json_parse_skim; json_skim.c finds its end and counts its items):
 * returns 1 with the RAW value pushed and p->i past the span, 0 to validate instead, or an error.
 */
static int jskim(jparser *p)
{
	size_t end = 0, n = 0;
	int rc = pt2c__json_skim_span(p, &end, &n);
	if (rc <= 0)
		return rc;
	pt2c_json v;
	memset(&v, 0, sizeof v);
	v.type = PT2C_JSON_RAW;
	v.n = (uint32_t)n;
	v.pos = p->i;
	v.u.raw_len = (uint64_t)(end + 1 - p->i);
	if ((rc = jpush(p, &v)))
		return rc;
	p->i = end + 1;
	p->n_skimmed++;
	return 1;
}

/* The state machine. Returns 0 with the root as the only item on the value stack. */
static int jrun(jparser *p)
{
	int rc;
	jskip_ws(p);
value:
	if (p->i >= p->len) return junexpected(p, "a JSON value");
	if (p->d[p->i] != p->lazy_next) p->lazy_next = 0; /* only a value of the kind asked for is kept lazy */
	if (p->lazy_next && p->skim) {
		if ((rc = jskim(p)) < 0) return rc;
		if (rc > 0) {
			p->lazy_next = 0;
			goto after;
		}
	}
	if (p->d[p->i] == '[') {
		if ((rc = jopen(p, false)) != 0) return rc;
		if (p->lazy_next) p->raw_frame = p->nframes - 1;
		p->lazy_next = 0;
		jskip_ws(p);
		if (p->i < p->len && p->d[p->i] == ']') {
			p->i++;
			if ((rc = jclose(p)) != 0) return rc;
			goto after;
		}
		goto value;
	}
	if (p->d[p->i] == '{') {
		if ((rc = jopen(p, true)) != 0) return rc;
		if (p->lazy_next) p->raw_frame = p->nframes - 1;
		p->lazy_next = 0;
		jskip_ws(p);
		if (p->i < p->len && p->d[p->i] == '}') {
			p->i++;
			if ((rc = jclose(p)) != 0) return rc;
			goto after;
		}
		goto key;
	}
	if ((rc = jscalar(p)) != 0) return rc;
after:
	if (p->flags & PT2C_JSON_DROP_PAGES)
		pt2c__drop_behind(p->d, &p->dropped, p->i, false);
	jskip_ws(p);
	if (p->nframes == 0) {
		if (p->one_value) return 0;
		if (p->i != p->len) return jfail(p, p->i, "unexpected data after the JSON value");
		return 0;
	}
	{
		bool is_obj = p->frames[p->nframes - 1].is_obj;
		char want = is_obj ? '}' : ']';
		if (p->i < p->len && p->d[p->i] == ',') {
			p->i++;
			jskip_ws(p);
			if (is_obj) goto key;
			goto value;
		}
		if (p->i < p->len && p->d[p->i] == want) {
			p->i++;
			if ((rc = jclose(p)) != 0) return rc;
			goto after;
		}
		return junexpected(p, is_obj ? "',' or '}'" : "',' or ']'");
	}
key:
	if (p->i >= p->len || p->d[p->i] != '"') return junexpected(p, "a string key");
	{
		pt2c_json k;
		if ((rc = jstring(p, &k)) != 0) return rc;
		for (size_t j = 0; j < p->n_lazy && p->raw_frame == NO_RAW; j++) {
			const char *lk = p->lazy[j].key;
			if (lk && k.n == strlen(lk) && memcmp(k.u.s, lk, k.n) == 0) {
				p->lazy_next = p->lazy[j].object ? '{' : '[';
				break;
			}
		}
		if ((rc = jpush(p, &k)) != 0) return rc;
		if (p->nkeys == p->capkeys && jgrow(p, (void **)&p->keys, &p->capkeys, sizeof *p->keys, p->keys0) != 0)
			return pt2c__err_oom(p->err);
		/* an unescaped string is a view of the input (jstring) */
		p->keys[p->nkeys++] = (jkey){ (size_t)k.pos + 1, p->i - 1, k.pos, k.u.s != p->d + k.pos + 1 };
	}
	jskip_ws(p);
	if (p->i >= p->len || p->d[p->i] != ':') return junexpected(p, "':'");
	p->i++;
	jskip_ws(p);
	goto value;
}

/*
 * Parse one value starting at offset `start` of data[0..len) into *out (arena DOM). Unless
 * one_value, the value must be the whole input; *end gets the offset just past it.
 */
static int jparse(pt2c_json **out, const char *data, size_t len, size_t start, bool one_value,
                  const pt2c_json_opts *opts, const pt2c_json_lazy *lazy, size_t n_lazy, pt2c_arena *arena,
                  pt2c_error *err, size_t *end, size_t *n_skimmed)
{
	*out = NULL;
	jparser p;
	memset(&p, 0, offsetof(jparser, vals0)); /* the inline stacks need no clearing */
	p.d = data ? data : "";
	p.len = len;
	p.i = start;
	p.arena = arena;
	p.alloc = arena->alloc;
	p.err = err;
	p.flags = opts ? opts->flags : 0;
	p.max_depth = (opts && opts->max_depth) ? opts->max_depth : JSON_DEFAULT_DEPTH;
	p.lazy = lazy;
	p.n_lazy = lazy ? n_lazy : 0;
	p.raw_frame = NO_RAW;
	p.one_value = one_value;
	p.skim = n_skimmed != NULL;
	p.dropped = start;
	p.vals = p.vals0;
	p.capvals = PT2C_ARRAY_LEN(p.vals0);
	p.frames = p.frames0;
	p.capframes = PT2C_ARRAY_LEN(p.frames0);
	p.keys = p.keys0;
	p.capkeys = PT2C_ARRAY_LEN(p.keys0);
	int rc = jrun(&p);
	if (rc == 0) {
		pt2c_json *root = pt2c__arena_alloc(arena, sizeof *root);
		if (!root) rc = pt2c__err_oom(err);
		else {
			*root = p.vals[0];
			*out = root;
		}
	}
	if (end) *end = p.i;
	if (n_skimmed) *n_skimmed = p.n_skimmed;
	pt2c__json_skim_free(&p);
	if (p.vals != p.vals0) pt2c__free(p.alloc, p.vals);
	if (p.frames != p.frames0) pt2c__free(p.alloc, p.frames);
	if (p.keys != p.keys0) pt2c__free(p.alloc, p.keys);
	return rc;
}

int pt2c__json_parse(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                     pt2c_arena *arena, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && arena && (data || len == 0));
	return jparse(out, data, len, 0, false, opts, NULL, 0, arena, err, NULL, NULL);
}

int pt2c__json_parse_lazy(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                          const pt2c_json_lazy *lazy, size_t n_lazy, pt2c_arena *arena, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && arena && (data || len == 0));
	return jparse(out, data, len, 0, false, opts, lazy, n_lazy, arena, err, NULL, NULL);
}

int pt2c__json_skim_settle(int rc, size_t n_skimmed, size_t n_read, const char *data, size_t len,
                           const pt2c_json_opts *opts, const pt2c_json_lazy *lazy, size_t n_lazy,
                           const pt2c_allocator *alloc, const char *member, pt2c_error *err)
{
	if (!n_skimmed || rc == PT2C_ENOMEM || (!rc && n_read == n_skimmed))
		return rc;
	pt2c_arena a;
	pt2c__arena_init(&a, alloc);
	pt2c_json *root = NULL;
	pt2c_error e = PT2C_ERROR_INIT;
	int vrc = jparse(&root, data, len, 0, false, opts, lazy, n_lazy, &a, &e, NULL, NULL);
	pt2c__arena_free(&a);
	if (vrc == 0)
		return rc; /* a valid document: the reader's own result */
	if (err) {
		*err = e;
		if (member && vrc != PT2C_ENOMEM)
			pt2c__err_set_member(err, member);
	}
	return vrc;
}

int pt2c__json_parse_skim(pt2c_json **out, const char *data, size_t len, const pt2c_json_opts *opts,
                          const pt2c_json_lazy *lazy, size_t n_lazy, pt2c_arena *arena, size_t *n_skimmed,
                          pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && arena && n_skimmed && (data || len == 0));
	int rc = jparse(out, data, len, 0, false, opts, lazy, n_lazy, arena, err, NULL, n_skimmed);
	if (rc && rc != PT2C_ENOMEM && *n_skimmed) /* an error after a skimmed span: one inside it comes first */
		rc = jparse(out, data, len, 0, false, opts, lazy, n_lazy, arena, err, NULL, NULL);
	if (rc)
		*n_skimmed = 0;
	return rc;
}

/*
 * Shared stepping of the two span iterators: check that raw belongs to data and opens with
 * `open`, move past the separator before the next item, and give its start (*at) and the offset
 * of the span's closing bracket (*close); *at == *close (and *cursor set to it) after the last.
 */
static int raw_step(const char *data, size_t len, const pt2c_json *raw, char open, uint64_t *cursor, size_t *at,
                    size_t *close, pt2c_error *err)
{
	/* the span was validated when it was parsed; these checks only guard against a wrong data/raw pair */
	if (raw->u.raw_len < 2 || raw->pos > len || raw->u.raw_len > len - raw->pos || data[raw->pos] != open)
		return pt2c__err_at(err, PT2C_EINVALID, NULL, raw->pos, "JSON span does not match its document");
	size_t c = (size_t)(raw->pos + raw->u.raw_len - 1); /* the ']' or '}' */
	size_t i = *cursor ? (size_t)*cursor : (size_t)raw->pos + 1;
	if (i <= raw->pos || i > c)
		return pt2c__err_at(err, PT2C_EINVALID, NULL, i, "JSON span cursor out of range");
	while (i < c && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
	/* between items exactly one ',' (a skimmed span was not validated: pt2c__json_parse_skim) */
	if (*cursor && i < c) {
		if (data[i] != ',')
			return pt2c__err_at(err, PT2C_ECORRUPT, NULL, i, "expected ',' or '%c' in a JSON span", data[c]);
		i++;
		while (i < c && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
		if (i >= c)
			return pt2c__err_at(err, PT2C_ECORRUPT, NULL, i, "expected an item after ',' in a JSON span");
	}
	if (i >= c) {
		*cursor = c;
		i = c;
	}
	*at = i;
	*close = c;
	return 0;
}

int pt2c__json_raw_next(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                        const pt2c_json_opts *opts, pt2c_arena *arena, pt2c_json **out, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && arena && cursor && raw && raw->type == PT2C_JSON_RAW && data);
	*out = NULL;
	/* the span was validated when it was parsed; these checks only guard against a wrong data/raw pair */
	size_t i = 0, close = 0;
	int rc = raw_step(data, len, raw, '[', cursor, &i, &close, err);
	if (rc || i >= close) return rc;
	size_t end = i;
	if ((rc = jparse(out, data, len, i, true, opts, NULL, 0, arena, err, &end, NULL))) return rc;
	if (end > close) {
		*out = NULL;
		return pt2c__err_at(err, PT2C_EINVALID, NULL, i, "JSON span does not match its document");
	}
	*cursor = end;
	return 0;
}

static inline size_t skip_ws_to(const char *data, size_t i, size_t close)
{
	while (i < close && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
	return i;
}

int pt2c__json_raw_next_member(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                               const pt2c_json_opts *opts, pt2c_arena *arena, pt2c_json **key, pt2c_json **val,
                               pt2c_error *err)
{
	uint64_t at, n;
	bool same;
	return pt2c__json_raw_next_member_memo(data, len, raw, cursor, opts, arena, 0, 0, key, val, &at, &n, &same, err);
}

int pt2c__json_raw_next_member_memo(const char *data, size_t len, const pt2c_json *raw, uint64_t *cursor,
                                    const pt2c_json_opts *opts, pt2c_arena *arena, uint64_t prev_at, uint64_t prev_len,
                                    pt2c_json **key, pt2c_json **val, uint64_t *val_at, uint64_t *val_len, bool *same,
                                    pt2c_error *err)
{
	PT2C_ASSERT_ARG(key && val && arena && cursor && raw && raw->type == PT2C_JSON_RAW && data && val_at && val_len && same);
	*key = *val = NULL;
	*same = false;
	*val_at = *val_len = 0;
	size_t i = 0, close = 0;
	int rc = raw_step(data, len, raw, '{', cursor, &i, &close, err);
	if (rc || i >= close) return rc;
	size_t end = i;
	/* the span was validated as a whole: a member is a string, ':' and a value */
	if (data[i] != '"' || (rc = jparse(key, data, len, i, true, opts, NULL, 0, arena, err, &end, NULL))) {
		if (!rc) rc = pt2c__err_at(err, PT2C_EINVALID, NULL, i, "JSON span does not match its document");
		*key = NULL;
		return rc;
	}
	i = skip_ws_to(data, end, close);
	if (i >= close || data[i] != ':') {
		*key = NULL;
		return pt2c__err_at(err, PT2C_EINVALID, NULL, i, "JSON span does not match its document");
	}
	i = skip_ws_to(data, i + 1, close);
	/*
	 * The span was validated whole, and an object or array is self-delimiting: text that starts
	 * with a complete earlier value is that value (strings, literals and numbers are not skipped).
	 */
	if (prev_len >= 2 && prev_at < i && prev_len <= close - i && prev_at + prev_len <= len &&
	    (data[prev_at] == '{' || data[prev_at] == '[') && memcmp(data + prev_at, data + i, (size_t)prev_len) == 0) {
		*same = true;
		*val_at = i;
		*val_len = prev_len;
		*cursor = i + prev_len;
		return 0;
	}
	if ((rc = jparse(val, data, len, i, true, opts, NULL, 0, arena, err, &end, NULL)) || end > close) {
		if (!rc) rc = pt2c__err_at(err, PT2C_EINVALID, NULL, i, "JSON span does not match its document");
		*key = *val = NULL;
		return rc;
	}
	*val_at = i;
	*val_len = end - i;
	*cursor = end;
	return 0;
}

/* MARK: accessors */

const pt2c_json *pt2c__json_get(const pt2c_json *obj, const char *key)
{
	if (!obj || obj->type != PT2C_JSON_OBJECT || !key) return NULL;
	size_t n = strlen(key);
	for (uint32_t k = 0; k < obj->n; k++) {
		const pt2c_json *kj = &obj->u.items[2 * (size_t)k];
		if (kj->n == n && memcmp(kj->u.s, key, n) == 0) return kj + 1;
	}
	return NULL;
}

const pt2c_json *pt2c__json_at(const pt2c_json *arr, size_t i)
{
	if (!arr || arr->type != PT2C_JSON_ARRAY || i >= arr->n) return NULL;
	return &arr->u.items[i];
}

bool pt2c__json_streq(const pt2c_json *v, const char *s)
{
	if (!v || v->type != PT2C_JSON_STRING || !s) return false;
	size_t n = strlen(s);
	return v->n == n && (n == 0 || memcmp(v->u.s, s, n) == 0);
}

uint64_t pt2c__json_strlen(const pt2c_json *v)
{
	if (!v || v->type != PT2C_JSON_STRING) return 0;
	if (v->n != UINT32_MAX) return v->n;
	/* an unescaped view: the first '"' after the start closes it, and the parser saw it in bounds */
	const char *q = v->u.s + UINT32_MAX;
	for (;;) {
		const char *hit = memchr(q, '"', (size_t)1 << 20);
		if (hit) return (uint64_t)(hit - v->u.s);
		q += (size_t)1 << 20;
	}
}
