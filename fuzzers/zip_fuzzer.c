/*
 * zip_fuzzer.c -- fuzz target for the zip reader: parse the input as an archive without and with
 * CRC verification, touch every member's bytes through the returned views (so a bad range shows
 * up under ASan), look every member up by name, then free.
 */
#include <stddef.h>
#include <stdint.h>

#include "serde/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int pass = 0; pass < 2; pass++) {
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_zip_opts o = { pass ? PT2C_ZIP_VERIFY_CRC : 0, 4096, "fuzz" };
		if (pt2c__zip_parse(&z, data, size, &o, NULL, &err) != 0)
			continue;
		volatile uint8_t sink = 0;
		for (uint32_t i = 0; i < z.n; i++) {
			const pt2c_zip_entry *e = &z.entries[i];
			if (e->size)
				sink ^= pt2c__zip_data(&z, e)[0] ^ pt2c__zip_data(&z, e)[e->size - 1];
			if (pt2c__zip_find(&z, e->name, e->name_len) != e)
				__builtin_trap(); /* names are unique after a successful parse */
		}
		(void)sink;
		pt2c__zip_free(&z);
	}
	return 0;
}
