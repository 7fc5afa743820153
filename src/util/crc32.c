/*
 * crc32.c -- CRC-32 (zlib polynomial) through libdeflate's vectorised implementation.
 */
#include <libdeflate.h>

#include "util/util.h"

uint32_t pt2c__crc32(uint32_t crc, const void *p, size_t n)
{
	if (n == 0)
		return crc;
	return libdeflate_crc32(crc, p, n);
}
