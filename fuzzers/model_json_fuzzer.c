/*
 * model_json_fuzzer.c -- fuzz target for the program JSON reader: parse the input as
 * models/model.json, build a program with pt2c__pt2json_read, and on success write it back; the
 * output must parse and read again.
 */
#include <stddef.h>
#include <stdint.h>

#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read `text` into a fresh program; NULL on any failure. */
static pt2c_program *read_program(const char *text, size_t len, pt2c_arena *arena)
{
	pt2c_ctx *ctx = NULL;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__ctx_new(&ctx, NULL))
		return NULL;
	int rc = pt2c__program_new(ctx, &p);
	pt2c__ctx_unref(ctx);
	if (rc)
		return NULL;
	pt2c_json *root = NULL;
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 128 };
	if (pt2c__json_parse(&root, text, len, &jo, arena, &err) != 0 || pt2c__pt2json_read(p, root, &err) != 0) {
		pt2c__program_free_subgraphs(p);
		pt2c__program_free(p);
		return NULL;
	}
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = read_program((const char *)data, size, &arena);
	if (p) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		if (pt2c__pt2json_write(&b, p) == 0) {
			pt2c_arena a2;
			pt2c__arena_init(&a2, NULL);
			pt2c_program *q = read_program(b.data, b.len, &a2);
			if (!q)
				__builtin_trap(); /* what we write we must read */
			pt2c__program_free_subgraphs(q);
			pt2c__program_free(q);
			pt2c__arena_free(&a2);
		}
		pt2c__buf_free(&b);
		pt2c__program_free_subgraphs(p);
		pt2c__program_free(p);
	}
	pt2c__arena_free(&arena);
	return 0;
}
