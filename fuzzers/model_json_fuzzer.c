/*
 * model_json_fuzzer.c -- fuzz target for the program JSON reader: parse the input as
 * models/model.json and build a program twice, from a whole DOM (pt2c__pt2json_read) and with
 * lazy node arrays and tensor_values tables (pt2c__pt2json_read_text, what archives use). The
 * lazy reader may refuse more (it checks unused tensor_values entries too), never less, and when
 * both succeed they must write the same bytes. A program read is written back; the output must
 * read again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pt2c_program *new_program(void)
{
	pt2c_ctx *ctx = NULL;
	pt2c_program *p = NULL;
	if (pt2c__ctx_new(&ctx, NULL))
		return NULL;
	int rc = pt2c__program_new(ctx, &p);
	pt2c__ctx_unref(ctx);
	return rc ? NULL : p;
}

static void drop(pt2c_program *p)
{
	if (!p)
		return;
	pt2c__program_free_subgraphs(p);
	pt2c__program_free(p);
}

static const pt2c_json_opts JO = { PT2C_JSON_ALLOW_NONFINITE, 128 };

/* Read `text` into a fresh program through a whole DOM; NULL on any failure. */
static pt2c_program *read_dom(const char *text, size_t len, pt2c_arena *arena)
{
	pt2c_program *p = new_program();
	pt2c_json *root = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (p && (pt2c__json_parse(&root, text, len, &JO, arena, &err) != 0 || pt2c__pt2json_read(p, root, &err) != 0)) {
		drop(p);
		return NULL;
	}
	return p;
}

/* The same through the lazy reader. */
static pt2c_program *read_lazy(const char *text, size_t len)
{
	pt2c_program *p = new_program();
	pt2c_error err = PT2C_ERROR_INIT;
	if (p && pt2c__pt2json_read_text(p, text, len, &JO, false, "models/model.json", &err) != 0) {
		drop(p);
		return NULL;
	}
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = read_dom((const char *)data, size, &arena);
	pt2c_program *l = read_lazy((const char *)data, size);
	if (l && !p)
		__builtin_trap(); /* the lazy reader accepted what the DOM reader refused */
	if (p) {
		pt2c_buf b, c;
		pt2c__buf_init(&b, NULL);
		pt2c__buf_init(&c, NULL);
		int rb = pt2c__pt2json_write(&b, p);
		if (l && (pt2c__pt2json_write(&c, l) != rb || (rb == 0 && (b.len != c.len || memcmp(b.data, c.data, b.len) != 0))))
			__builtin_trap(); /* the two readers disagree */
		if (rb == 0) {
			pt2c_arena a2;
			pt2c__arena_init(&a2, NULL);
			pt2c_program *q = read_dom(b.data, b.len, &a2);
			if (!q)
				__builtin_trap(); /* what we write we must read */
			drop(q);
			pt2c__arena_free(&a2);
		}
		pt2c__buf_free(&b);
		pt2c__buf_free(&c);
	}
	drop(p);
	drop(l);
	pt2c__arena_free(&arena);
	return 0;
}
