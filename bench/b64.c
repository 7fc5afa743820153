/*
 * b64.c -- pt2c-bench-b64: base64 decoding and checking speed, as ratios to a memcpy of the same
 * bytes measured in the same run (engines are base64 text of hundreds of MiB: opening a program
 * checks them, extracting or loading one decodes it). In memory, pages touched beforehand, the
 * best of 5 runs each.
 *
 *   pt2c-bench-b64 [MiB of raw bytes, default 192]
 * prints: decode GB/s, check GB/s (of base64 text), memcpy GB/s, and decode/check time over the
 * memcpy time of the text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 192;
	if (mib == 0 || mib > 8192) {
		fprintf(stderr, "usage: pt2c-bench-b64 [MiB of raw bytes, 1..8192]\n");
		return 2;
	}
	size_t n = mib << 20, en = pt2c__b64_encoded_len(n);
	uint8_t *raw = malloc(n), *dec = malloc(n);
	char *enc = malloc(en), *copy = malloc(en);
	if (!raw || !dec || !enc || !copy) {
		fprintf(stderr, "pt2c-bench-b64: out of memory for %zu MiB\n", mib);
		return 1;
	}
	uint32_t x = 2463534242u; /* xorshift: bytes with every value */
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		raw[i] = (uint8_t)x;
	}
	pt2c__b64_encode(enc, raw, n);
	memset(dec, 1, n);
	memset(copy, 1, en);
	double best[3] = { 1e30, 1e30, 1e30 };
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		if (pt2c__b64_decode(dec, enc, en, NULL) != 0)
			return 1;
		double t1 = now();
		if (pt2c__b64_check(enc, en, NULL) != 0)
			return 1;
		double t2 = now();
		memcpy(copy, enc, en);
		double t3 = now();
		double t[3] = { t1 - t0, t2 - t1, t3 - t2 };
		for (int k = 0; k < 3; k++)
			if (t[k] < best[k])
				best[k] = t[k];
	}
	if (memcmp(dec, raw, n) != 0 || memcmp(copy, enc, en) != 0) {
		fprintf(stderr, "pt2c-bench-b64: decoded bytes differ\n");
		return 1;
	}
	printf("%zu MiB raw, %zu MiB text: decode %.2f GB/s, check %.2f GB/s, memcpy %.2f GB/s; "
	       "decode %.2fx memcpy, check %.2fx memcpy\n",
	       mib, en >> 20, (double)en / best[0] / 1e9, (double)en / best[1] / 1e9, (double)en / best[2] / 1e9,
	       best[0] / best[2], best[1] / best[2]);
	free(raw);
	free(dec);
	free(enc);
	free(copy);
	return 0;
}
