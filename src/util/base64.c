/*
 * base64.c -- RFC 4648 base64 (standard alphabet, '=' padding, no line breaks) with a strict
 * decoder that reports the offset of the first bad character. Like Python's
 * base64.b64decode(validate=True), non-zero unused bits in the last quantum are accepted.
 */
#include "util/util.h"

static const char b64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Inverse alphabet: 0..63 for valid characters, 0xFF otherwise ('=' included). */
static const uint8_t b64_inverse[256] = {
	['A'] = 0, ['B'] = 1, ['C'] = 2, ['D'] = 3, ['E'] = 4, ['F'] = 5, ['G'] = 6, ['H'] = 7,
	['I'] = 8, ['J'] = 9, ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
	['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
	['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
	['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
	['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
	['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
	['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63,
};

/* The table above defaults unlisted entries to 0, which is also 'A'; this marks validity. */
static inline bool b64_valid(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

size_t pt2c__b64_encoded_len(size_t n)
{
	return (n / 3 + (n % 3 != 0)) * 4;
}

void pt2c__b64_encode(char *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8) | src[i + 2];
		dst[0] = b64_alphabet[v >> 18];
		dst[1] = b64_alphabet[(v >> 12) & 63];
		dst[2] = b64_alphabet[(v >> 6) & 63];
		dst[3] = b64_alphabet[v & 63];
		dst += 4;
	}
	size_t rest = n - i;
	if (rest == 1) {
		uint32_t v = (uint32_t)src[i] << 16;
		dst[0] = b64_alphabet[v >> 18];
		dst[1] = b64_alphabet[(v >> 12) & 63];
		dst[2] = '=';
		dst[3] = '=';
	} else if (rest == 2) {
		uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8);
		dst[0] = b64_alphabet[v >> 18];
		dst[1] = b64_alphabet[(v >> 12) & 63];
		dst[2] = b64_alphabet[(v >> 6) & 63];
		dst[3] = '=';
	}
}

/* Input bytes per chunk: a multiple of 3 so chunk encodings concatenate without padding. */
#define B64_CHUNK ((size_t)48 * 1024)

void pt2c__b64_encode_buf(pt2c_buf *b, const uint8_t *src, size_t n)
{
	while (n > 0) {
		size_t take = n < B64_CHUNK ? n : B64_CHUNK;
		size_t out = pt2c__b64_encoded_len(take);
		char *dst = pt2c__buf_reserve(b, out);
		if (!dst)
			return;
		pt2c__b64_encode(dst, src, take);
		b->len += out;
		src += take;
		n -= take;
	}
}

size_t pt2c__b64_decoded_len(const char *src, size_t n)
{
	if (n % 4 != 0)
		return SIZE_MAX;
	size_t len = n / 4 * 3;
	if (n >= 4) {
		if (src[n - 1] == '=')
			len--;
		if (src[n - 2] == '=')
			len--;
	}
	return len;
}

int pt2c__b64_decode(uint8_t *dst, const char *src, size_t n, size_t *bad_at)
{
	size_t bad = 0;
	if (n % 4 != 0) {
		/* Report a bad character before the ragged tail if there is one, like the main loop. */
		bad = n - n % 4;
		for (size_t i = 0; i < bad; i++)
			if (!b64_valid((unsigned char)src[i]) && !(src[i] == '=' && i + 2 >= bad)) {
				bad = i;
				break;
			}
		goto fail;
	}
	for (size_t i = 0; i < n; i += 4) {
		const unsigned char *q = (const unsigned char *)src + i;
		bool last = i + 4 == n;
		for (int k = 0; k < 2; k++)
			if (!b64_valid(q[k])) {
				bad = i + (size_t)k;
				goto fail;
			}
		uint32_t v = ((uint32_t)b64_inverse[q[0]] << 18) | ((uint32_t)b64_inverse[q[1]] << 12);
		if (last && q[2] == '=') {
			if (q[3] != '=') {
				bad = i + 3;
				goto fail;
			}
			*dst++ = (uint8_t)(v >> 16);
			break;
		}
		if (!b64_valid(q[2])) {
			bad = i + 2;
			goto fail;
		}
		v |= (uint32_t)b64_inverse[q[2]] << 6;
		if (last && q[3] == '=') {
			*dst++ = (uint8_t)(v >> 16);
			*dst++ = (uint8_t)(v >> 8);
			break;
		}
		if (!b64_valid(q[3])) {
			bad = i + 3;
			goto fail;
		}
		v |= b64_inverse[q[3]];
		dst[0] = (uint8_t)(v >> 16);
		dst[1] = (uint8_t)(v >> 8);
		dst[2] = (uint8_t)v;
		dst += 3;
	}
	return 0;
fail:
	if (bad_at)
		*bad_at = bad;
	return PT2C_ECORRUPT;
}

int pt2c__b64_check(const char *src, size_t n, size_t *bad_at)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t bad = n - n % 4;
	if (n % 4 == 0) {
		size_t body = n >= 4 ? n - 4 : 0; /* all but the last quad: the alphabet only */
		for (size_t i = 0; i < body; i++)
			if (!b64_valid(s[i])) {
				bad = i;
				goto fail;
			}
		if (n == 0)
			return 0;
		const unsigned char *q = s + body;
		if (!b64_valid(q[0]) || !b64_valid(q[1])) {
			bad = body + (b64_valid(q[0]) ? 1 : 0);
			goto fail;
		}
		if (q[2] == '=' ? q[3] == '=' : (b64_valid(q[2]) && (q[3] == '=' || b64_valid(q[3]))))
			return 0;
		bad = body + (q[2] == '=' || b64_valid(q[2]) ? 3 : 2);
		goto fail;
	}
	for (size_t i = 0; i < bad; i++)
		if (!b64_valid(s[i]) && !(s[i] == '=' && i + 2 >= bad)) {
			bad = i;
			break;
		}
fail:
	if (bad_at)
		*bad_at = bad;
	return PT2C_ECORRUPT;
}
