/*
 * pt2_fuzzer.c -- fuzz target for whole-archive reading: pt2c__pt2_read on the input bytes (with
 * CRC checks off and on); on success touch every tensor view's first and last byte (so a view
 * outside its member shows up under ASan), write the program back and read the result again;
 * then what inspect, engines and resolve-cross do with it: every engine's info and bytes (opaque
 * objects, base64 strings, tensor-typed engine arguments), cross-compile placeholders resolved,
 * lint.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "pt2c.h"
#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int pass = 0; pass < 2; pass++) {
		pt2c_program *p = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_pt2_read_opts o = { pass ? PT2C_ZIP_VERIFY_CRC : 0, 64, "fuzz.pt2", false };
		if (pt2c__pt2_read(&p, data, size, NULL, &o, NULL, &err) != 0) {
			if (p)
				__builtin_trap(); /* *out must be NULL on failure */
			continue;
		}
		volatile uint8_t sink = 0;
		for (uint32_t i = 0; i < p->mod->n_attrs; i++) {
			const pt2c_storage *s = p->mod->attrs[i].tensor.storage;
			if (s && s->nbytes)
				sink ^= s->data[0] ^ s->data[s->nbytes - 1];
		}
		(void)sink;
		if (pass == 0) {
			pt2c_buf b;
			pt2c__buf_init(&b, NULL);
			if (pt2c__pt2_write(p, pt2c__sink_buf(&b), NULL, &err) == 0) {
				pt2c_program *q = NULL;
				if (pt2c__pt2_read(&q, (const uint8_t *)b.data, b.len, NULL, &o, NULL, &err) != 0)
					__builtin_trap(); /* what we write we must read */
				pt2c__program_free_subgraphs(q);
				pt2c__program_free(q);
			}
			pt2c__buf_free(&b);
			size_t n_eng = pt2c_program_engine_count(p);
			for (size_t i = 0; i < n_eng; i++) {
				pt2c_engine_info info;
				uint8_t *bytes = NULL;
				size_t len = 0;
				(void)pt2c_program_engine_info(p, i, &info);
				if (pt2c_program_engine_bytes(p, i, &bytes, &len, &err) == 0) {
					if (len)
						sink ^= bytes[0] ^ bytes[len - 1];
					/* the same bytes into a buffer of exactly that size */
					uint8_t *into = len ? malloc(len) : NULL;
					size_t got = 0;
					if ((into || !len) && (pt2c_program_engine_bytes_into(p, i, into, len, &got, &err) != 0 || got != len ||
					                       (len && memcmp(into, bytes, len) != 0)))
						__builtin_trap();
					free(into);
				}
				pt2c_free(bytes);
			}
			if (pt2c__program_resolve_cross(p, &err) == 0)
				(void)pt2c__program_lint(p, &err);
		}
		pt2c__program_free_subgraphs(p);
		pt2c__program_free(p);
	}
	return 0;
}
