/*
 * crc32.c -- CRC-32 (zlib polynomial) through libdeflate's vectorised implementation, or, where
 * the Python package is built on a machine without libdeflate's headers (setup.py defines
 * PT2C_CRC_ZLIB), through zlib's crc32 (same polynomial and conventions, slower).
 */
#include "util/util.h"

#ifdef PT2C_CRC_ZLIB
#include <zlib.h>

uint32_t pt2c__crc32(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) { /* zlib takes a uInt length */
		uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = (uint32_t)crc32(crc, b, k);
		b += k;
		n -= k;
	}
	return crc;
}
#else
#include <libdeflate.h>

uint32_t pt2c__crc32(uint32_t crc, const void *p, size_t n)
{
	if (n == 0)
		return crc;
	return libdeflate_crc32(crc, p, n);
}
#endif

/*
 * MARK: combining
 *
 * Why: the parallel .pt2 writer checksums the pieces of one member on different threads and
 * needs the member's CRC-32 without a second pass over its bytes; libdeflate offers no combine
 * function, so it is written here from the algebra.
 *
 * For the CRC-32 used by zip (reflected, initial value and final xor 0xFFFFFFFF), the register
 * after A then B is CRC(A) times x^(8|B|) modulo the polynomial P, plus (xor) CRC(B): the
 * pre- and post-conditioning terms of the two halves cancel. Polynomials over GF(2) of degree < 32
 * are held reflected, as the CRC register holds them: bit 31 is the coefficient of x^0 and bit 0
 * that of x^31, so multiplying by x is a right shift, folding x^32 back in with the reflected
 * polynomial 0xEDB88320.
 */
#define CRC32_POLY_REFLECTED 0xEDB88320u

/* a * b mod P, both reflected. */
static uint32_t gf2_mulmod(uint32_t a, uint32_t b)
{
	uint32_t r = 0;
	for (int i = 0; i < 32; i++) { /* the coefficient of x^i in a is bit 31 - i */
		if (a & (0x80000000u >> i))
			r ^= b;
		b = (b & 1u) ? (b >> 1) ^ CRC32_POLY_REFLECTED : b >> 1; /* b *= x */
	}
	return r;
}

/* x^(8n) mod P, reflected, by square and multiply over the bits of n. */
static uint32_t x_pow_8n(uint64_t n)
{
	uint32_t r = 0x80000000u;   /* x^0 */
	uint32_t sq = 0x00800000u;  /* x^8: one byte */
	while (n) {
		if (n & 1u)
			r = gf2_mulmod(r, sq);
		sq = gf2_mulmod(sq, sq);
		n >>= 1;
	}
	return r;
}

uint32_t pt2c__crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	if (len_b == 0)
		return crc_a;
	return gf2_mulmod(crc_a, x_pow_8n(len_b)) ^ crc_b;
}

/* MARK: on helper threads */

/* Pieces of a large block checksummed at once: at most CRC_PIECES of them, 4 MiB or more each. */
#define CRC_PIECES 256
#define CRC_PIECE_MIN ((size_t)4 << 20)

typedef struct crc_job {
	const uint8_t *p;
	size_t n, piece;
	uint32_t crcs[CRC_PIECES];
} crc_job;

static int crc_pieces(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	crc_job *j = ctx;
	for (size_t k = begin; k < end; k++) {
		size_t off = k * j->piece, len = j->n - off < j->piece ? j->n - off : j->piece;
		j->crcs[k] = pt2c__crc32(0, j->p + off, len);
	}
	return 0;
}

uint32_t pt2c__crc32_wide(const pt2c_allocator *alloc, const void *p, size_t n)
{
	size_t piece = n / CRC_PIECES + 1 > CRC_PIECE_MIN ? n / CRC_PIECES + 1 : CRC_PIECE_MIN;
	size_t pieces = n ? (n - 1) / piece + 1 : 0;
	unsigned helpers = pieces >= 2 ? pt2c__helper_threads(alloc, n >> 12, 15) : 0;
	if (!helpers) /* small, one CPU, or a caller's allocator: in one go */
		return pt2c__crc32(0, p, n);
	crc_job j = { p, n, piece, { 0 } };
	pt2c_par_job job = { pieces, 1, crc_pieces, &j, alloc, helpers };
	(void)pt2c__par_run(&job);
	uint32_t crc = j.crcs[0];
	for (size_t k = 1; k < pieces; k++)
		crc = pt2c__crc32_combine(crc, j.crcs[k], k + 1 < pieces ? piece : n - k * piece);
	return crc;
}
