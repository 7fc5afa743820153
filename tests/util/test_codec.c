/*
 * test_codec.c -- base64 (RFC 4648 vectors, round trips, strict rejects) and CRC-32.
 */
#include <stdlib.h>

#include "harness.h"
#include "util/util.h"

/* RFC 4648 section 10 test vectors. */
static const struct { const char *raw, *enc; } rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_b64_rfc4648(void)
{
	for (size_t i = 0; i < PT2C_ARRAY_LEN(rfc4648); i++) {
		const char *raw = rfc4648[i].raw, *enc = rfc4648[i].enc;
		size_t rn = strlen(raw), en = strlen(enc);
		char out[16] = { 0 };
		CHECK_EQ_INT(pt2c__b64_encoded_len(rn), en);
		pt2c__b64_encode(out, (const uint8_t *)raw, rn);
		CHECK_STR(out, enc);
		CHECK_EQ_INT(pt2c__b64_decoded_len(enc, en), rn);
		uint8_t dec[16] = { 0 };
		size_t bad = 99;
		CHECK_EQ_INT(pt2c__b64_decode(dec, enc, en, &bad), 0);
		CHECK(memcmp(dec, raw, rn) == 0);
		/* Through the buffer API too. */
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__buf_puts(&b, "<");
		pt2c__b64_encode_buf(&b, (const uint8_t *)raw, rn);
		pt2c__buf_cstr(&b);
		CHECK_EQ_INT(b.len, en + 1);
		if (b.data)
			CHECK(memcmp(b.data + 1, enc, en) == 0);
		pt2c__buf_free(&b);
	}
	/* All byte values: the full alphabet in order, as RFC 4648 table 1 lists it. */
	uint8_t ramp[48];
	for (int i = 0; i < 16; i++) {
		/* Bytes whose 6-bit groups are 4i, 4i+1, 4i+2, 4i+3. */
		uint32_t v = ((uint32_t)(4 * i) << 18) | ((uint32_t)(4 * i + 1) << 12) | ((uint32_t)(4 * i + 2) << 6) | (uint32_t)(4 * i + 3);
		ramp[3 * i] = (uint8_t)(v >> 16);
		ramp[3 * i + 1] = (uint8_t)(v >> 8);
		ramp[3 * i + 2] = (uint8_t)v;
	}
	char alpha[65] = { 0 };
	pt2c__b64_encode(alpha, ramp, sizeof ramp);
	CHECK_STR(alpha, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

/* Tiny deterministic PRNG so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_b64_roundtrip(void)
{
	for (size_t n = 0; n < 300; n++) {
		uint8_t *raw = malloc(n + 1);
		REQUIRE(raw);
		for (size_t i = 0; i < n; i++)
			raw[i] = (uint8_t)rng();
		size_t en = pt2c__b64_encoded_len(n);
		CHECK_EQ_INT(en % 4, 0);
		char *enc = malloc(en + 1);
		REQUIRE(enc);
		pt2c__b64_encode(enc, raw, n);
		size_t dn = pt2c__b64_decoded_len(enc, en);
		CHECK_EQ_INT(dn, n);
		uint8_t *dec = malloc(dn + 1);
		REQUIRE(dec);
		CHECK_EQ_INT(pt2c__b64_decode(dec, enc, en, NULL), 0);
		CHECK(memcmp(dec, raw, n) == 0);
		free(raw);
		free(enc);
		free(dec);
	}
	/* Large input crosses the chunk boundary of the buffer encoder; it must match the direct one. */
	size_t n = 48 * 1024 * 3 + 7;
	uint8_t *raw = malloc(n);
	REQUIRE(raw);
	for (size_t i = 0; i < n; i++)
		raw[i] = (uint8_t)rng();
	char *direct = malloc(pt2c__b64_encoded_len(n));
	REQUIRE(direct);
	pt2c__b64_encode(direct, raw, n);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__b64_encode_buf(&b, raw, n);
	CHECK_EQ_INT(b.err, 0);
	CHECK_EQ_INT(b.len, pt2c__b64_encoded_len(n));
	CHECK(b.data && memcmp(b.data, direct, b.len) == 0);
	uint8_t *dec = malloc(n);
	REQUIRE(dec);
	CHECK_EQ_INT(pt2c__b64_decode(dec, b.data, b.len, NULL), 0);
	CHECK(memcmp(dec, raw, n) == 0);
	pt2c__buf_free(&b);
	free(raw);
	free(direct);
	free(dec);
}

/* A bit-at-a-time reference encoder, independent of the library's (table, vector) paths. */
static void ref_b64(char *dst, const uint8_t *src, size_t n)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t bits = n * 8, o = 0;
	for (size_t b = 0; b < bits; b += 6) {
		unsigned v = 0;
		for (size_t k = b; k < b + 6; k++)
			v = (v << 1) | (k < bits ? (src[k / 8] >> (7 - k % 8)) & 1u : 0u);
		dst[o++] = A[v];
	}
	while (o % 4)
		dst[o++] = '=';
}

/* Every length to 400 at source offsets 0..3, random and all-0xFF bytes: the same text as the reference. */
static void test_b64_against_reference(void)
{
	uint8_t src[404 + 3];
	char got[560], want[560];
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof src; i++)
			src[i] = pass ? 0xFF : (uint8_t)rng();
		for (size_t off = 0; off < 4; off++)
			for (size_t n = 0; n <= 400; n++) {
				size_t en = pt2c__b64_encoded_len(n);
				memset(got, '#', sizeof got);
				pt2c__b64_encode(got, src + off, n);
				ref_b64(want, src + off, n);
				CHECK(memcmp(got, want, en) == 0);
				CHECK(got[en] == '#'); /* nothing written past the text */
			}
	}
}

/* The check's first bad offset at every position of a long text, for bytes next to each range. */
static void test_b64_check_positions(void)
{
	uint8_t raw[300];
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)rng();
	char enc[400], t[400];
	pt2c__b64_encode(enc, raw, sizeof raw);
	size_t bad = 0;
	CHECK_EQ_INT(pt2c__b64_check(enc, sizeof enc, &bad), 0);
	static const unsigned char BAD[] = { 0x00, '\n', ' ', '*', ',', '-', '.', ':', '=', '@', '[', '`', '{', 0x7F, 0x80, 0xC0, 0xFF };
	for (size_t pos = 0; pos + 4 < sizeof enc; pos++)
		for (size_t b = 0; b < sizeof BAD; b++) {
			memcpy(t, enc, sizeof t);
			t[pos] = (char)BAD[b];
			bad = 12345;
			CHECK_MSG(pt2c__b64_check(t, sizeof t, &bad) == PT2C_ECORRUPT && bad == pos, "byte %02x at %zu: bad_at %zu",
			          BAD[b], pos, bad);
		}
	/* every byte value at one position in the middle of a vector block: valid exactly for the alphabet */
	for (int c = 0; c < 256; c++) {
		memcpy(t, enc, sizeof t);
		t[77] = (char)c;
		bool in = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
		CHECK_MSG((pt2c__b64_check(t, sizeof t, NULL) == 0) == in, "byte %02x", (unsigned)c);
	}
}

/* Plain bit-at-a-time decoding of text known to be valid (the reference for the vector path). */
static size_t ref_b64_decode(uint8_t *dst, const char *src, size_t n)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n && src[i] != '='; i++) {
		acc = (acc << 6) | (uint32_t)(strchr(A, src[i]) - A);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

/* The decoder (vector blocks of 32 characters, then quads) against the reference and the check:
 * the same bytes for every length up to 200, the same first bad offset for a bad byte anywhere. */
static void test_b64_decode_blocks(void)
{
	uint8_t raw[300], dec[300], ref[300];
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)rng();
	char enc[400], t[400];
	for (size_t n = 0; n <= 200; n++) {
		size_t en = pt2c__b64_encoded_len(n);
		pt2c__b64_encode(enc, raw, n);
		memset(dec, 0xAA, sizeof dec);
		CHECK_EQ_INT(pt2c__b64_decode(dec, enc, en, NULL), 0);
		CHECK_MSG(memcmp(dec, raw, n) == 0, "length %zu", n);
		CHECK_MSG(dec[n] == 0xAA, "length %zu: wrote past the end", n); /* exactly n bytes stored */
	}
	pt2c__b64_encode(enc, raw, sizeof raw);
	static const unsigned char BAD[] = { 0x00, '\n', '*', ',', '.', ':', '=', '@', '[', '`', '{', 0x7F, 0x80, 0xFF };
	for (size_t pos = 0; pos + 4 < sizeof enc; pos++)
		for (size_t b = 0; b < sizeof BAD; b++) {
			memcpy(t, enc, sizeof t);
			t[pos] = (char)BAD[b];
			size_t bad = 12345;
			CHECK_MSG(pt2c__b64_decode(dec, t, sizeof t, &bad) == PT2C_ECORRUPT && bad == pos,
			          "byte %02x at %zu: bad_at %zu", BAD[b], pos, bad);
		}
	/* every byte value in the middle of a block: accepted exactly for the alphabet, decoded as the reference does */
	for (int c = 0; c < 256; c++) {
		memcpy(t, enc, sizeof t);
		t[77] = (char)c;
		bool in = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
		int rc = pt2c__b64_decode(dec, t, sizeof t, NULL);
		CHECK_MSG((rc == 0) == in, "byte %02x", (unsigned)c);
		if (in && rc == 0) {
			CHECK_EQ_INT(ref_b64_decode(ref, t, sizeof t), sizeof raw);
			CHECK_MSG(memcmp(dec, ref, sizeof raw) == 0, "byte %02x decoded differently", (unsigned)c);
		}
	}
}

/* A text large enough to be checked in parts on several threads: the first bad byte wins,
 * wherever the parts fall. */
static void test_b64_check_wide(void)
{
	size_t n = ((size_t)40 << 20) + 4;
	char *t = malloc(n);
	REQUIRE(t);
	memset(t, 'A', n);
	size_t bad = 0;
	CHECK_EQ_INT(pt2c__b64_check(t, n, &bad), 0);
	const size_t at[] = { 0, 1, (size_t)5 << 20, (size_t)20 << 20, ((size_t)20 << 20) + 1, n - 37, n - 5 };
	for (size_t i = 0; i < PT2C_ARRAY_LEN(at); i++) {
		t[at[i]] = '*';
		bad = 12345;
		CHECK_MSG(pt2c__b64_check(t, n, &bad) == PT2C_ECORRUPT && bad == at[i], "bad byte at %zu: bad_at %zu", at[i], bad);
		for (size_t j = i + 1; j < PT2C_ARRAY_LEN(at); j++) { /* a later one besides: still the first */
			t[at[j]] = '\n';
			bad = 12345;
			CHECK_MSG(pt2c__b64_check(t, n, &bad) == PT2C_ECORRUPT && bad == at[i], "bad bytes at %zu and %zu: bad_at %zu",
			          at[i], at[j], bad);
			t[at[j]] = 'A';
		}
		t[at[i]] = 'A';
	}
	free(t);
}

static void test_b64_rejects(void)
{
	static const struct { const char *enc; size_t bad_at; } cases[] = {
		{ "Zg=", 0 },          /* length not a multiple of 4 */
		{ "Zm9vY", 4 },        /* ragged tail */
		{ "Zm!v", 2 },         /* bad character */
		{ "Zm9v!mFy", 4 },
		{ "Zm9vYmF ", 7 },     /* whitespace is not allowed */
		{ "Zm9vYmF\n", 7 },
		{ "Zg==Zm9v", 2 },     /* padding before the end */
		{ "Z===", 1 },         /* too much padding */
		{ "====", 0 },
		{ "Zm=v", 3 },         /* '=' then data */
		{ "Zm9\x80", 3 },      /* high byte */
		{ "-_-_", 0 },         /* URL-safe alphabet is not the standard one */
		{ "ab!cd", 2 },        /* bad char before a ragged tail is reported first */
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(cases); i++) {
		const char *enc = cases[i].enc;
		size_t n = strlen(enc);
		uint8_t dst[16];
		size_t bad = 12345;
		int rc = pt2c__b64_decode(dst, enc, n, &bad);
		CHECK_MSG(rc == PT2C_ECORRUPT, "case %zu \"%s\": rc %d", i, enc, rc);
		CHECK_MSG(bad == cases[i].bad_at, "case %zu \"%s\": bad_at %zu, want %zu", i, enc, bad, cases[i].bad_at);
		/* the check without output agrees with the decoder */
		bad = 12345;
		CHECK_MSG(pt2c__b64_check(enc, n, &bad) == PT2C_ECORRUPT && bad == cases[i].bad_at, "check case %zu \"%s\": bad_at %zu", i, enc, bad);
	}
	static const char *const good[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy", "Zm9vYg==", "+/+/" };
	for (size_t i = 0; i < PT2C_ARRAY_LEN(good); i++)
		CHECK_MSG(pt2c__b64_check(good[i], strlen(good[i]), NULL) == 0, "check \"%s\"", good[i]);
	CHECK(pt2c__b64_decoded_len("Zg=", 3) == SIZE_MAX);
	/* An embedded NUL is a bad character, not the end of the input. */
	uint8_t dst[8];
	size_t bad = 0;
	CHECK_EQ_INT(pt2c__b64_decode(dst, "Zm\0v", 4, &bad), PT2C_ECORRUPT);
	CHECK_EQ_INT(bad, 2);
}

static void test_crc32(void)
{
	CHECK(pt2c__crc32(0, "123456789", 9) == 0xCBF43926u);
	CHECK(pt2c__crc32(0, "", 0) == 0);
	/* Continuation equals one pass. */
	uint32_t c = pt2c__crc32(0, "1234", 4);
	c = pt2c__crc32(c, "56789", 5);
	CHECK(c == 0xCBF43926u);
	CHECK(pt2c__crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u);
}

static void test_crc32_zip_member(void)
{
	/* The first local header of a PyTorch-written archive carries the CRC of its stored data. */
	size_t len = 0;
	uint8_t *zip = read_file(shared_path("fixtures/torch-2.11/mlp_bn.pt2"), &len);
	REQUIRE(zip);
	REQUIRE(len > 30);
	CHECK_EQ_INT(pt2c__rd32le(zip), 0x04034b50);
	uint16_t method = pt2c__rd16le(zip + 8);
	uint32_t crc = pt2c__rd32le(zip + 14);
	uint32_t csize = pt2c__rd32le(zip + 18);
	uint16_t name_len = pt2c__rd16le(zip + 26), extra_len = pt2c__rd16le(zip + 28);
	size_t data_at = 30u + name_len + extra_len;
	CHECK_EQ_INT(method, 0);
	if (method == 0 && csize != 0xFFFFFFFFu && data_at + csize <= len)
		CHECK(pt2c__crc32(0, zip + data_at, csize) == crc);
	free(zip);
}

/* pt2c__crc32_wide: the pieces checksummed on helper threads and combined give the CRC of one
 * pass, for lengths around the piece size (4 MiB) and beyond, with and without helpers. */
static void test_crc32_wide(void)
{
	size_t cap = ((size_t)13 << 20) + 7;
	uint8_t *buf = malloc(cap);
	REQUIRE(buf);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < cap; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	static const size_t lens[] = { 0, 1, (size_t)4 << 20, ((size_t)4 << 20) + 1, ((size_t)9 << 20) + 3, ((size_t)13 << 20) + 4 };
	pt2c_thread_tuning keep = pt2c__thread_tuning;
	for (int helpers = 0; helpers < 2; helpers++) {
		pt2c__thread_tuning.min_items = helpers ? 2 : UINT32_MAX;
		for (size_t k = 0; k < PT2C_ARRAY_LEN(lens); k++)
			CHECK_MSG(pt2c__crc32_wide(NULL, buf + 3, lens[k]) == pt2c__crc32(0, buf + 3, lens[k]), "length %zu, helpers %d",
			          lens[k], helpers);
	}
	pt2c__thread_tuning = keep;
	free(buf);
}

PT2C_TEST_MAIN({
	RUN(test_b64_rfc4648);
	RUN(test_b64_roundtrip);
	RUN(test_b64_against_reference);
	RUN(test_b64_decode_blocks);
	RUN(test_b64_check_wide);
	RUN(test_b64_check_positions);
	RUN(test_b64_rejects);
	RUN(test_crc32);
	RUN(test_crc32_zip_member);
	RUN(test_crc32_wide);
})
