/*
 * json_fuzzer.c -- parse arbitrary bytes as JSON (with and without the non-finite extension and
 * with a small depth cap), and for accepted documents re-write them with the Python-compatible
 * writer and parse the output again, which must succeed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_json *v = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_json_opts opts = { (size && (data[0] & 1)) ? PT2C_JSON_ALLOW_NONFINITE : 0u, (size && (data[0] & 2)) ? 8u : 0u };
	if (pt2c__json_parse(&v, (const char *)data, size, &opts, &arena, &err) == 0) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c__json_write_value(&b, v);
		pt2c_json *again = NULL;
		pt2c_json_opts deep = { PT2C_JSON_ALLOW_NONFINITE, UINT32_MAX };
		if (!b.err && pt2c__json_parse(&again, b.data ? b.data : "", b.len, &deep, &arena, &err) != 0) abort();
		pt2c__buf_free(&b);
	}
	pt2c__arena_free(&arena);
	return 0;
}
