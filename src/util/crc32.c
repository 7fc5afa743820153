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
