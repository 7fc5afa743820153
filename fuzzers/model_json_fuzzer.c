/*
 * model_json_fuzzer.c -- fuzz target for the program JSON reader: parse the input as
 * models/model.json and build a program twice, from a whole DOM (pt2c__pt2json_read) and with
 * lazy node arrays and tensor_values tables (pt2c__pt2json_read_text, what archives use). The
 * lazy reader may refuse more (it checks unused tensor_values entries too), never less, and when
 * both succeed they must write the same bytes. A program read is written back; the output must
 * read again. The lazy reader also runs with its spans on worker threads (pt2json_read_par.c, in
 * chunks of two items): it must fail exactly as reading in order does (code, message, member,
 * offset), or write the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "serde/serde.h"
#include "util/util.h"

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

/* The same through the lazy reader, with its spans on workers or in order; *rc and *err: how it failed. */
static pt2c_program *read_lazy(const char *text, size_t len, bool workers, int *rc, pt2c_error *err)
{
	pt2c_thread_tuning keep = pt2c__thread_tuning;
	if (workers)
		pt2c__thread_tuning = (pt2c_thread_tuning){ 2, true, 2, 64 };
	else
		pt2c__thread_tuning.min_items = UINT32_MAX;
	pt2c_program *p = new_program();
	*err = (pt2c_error)PT2C_ERROR_INIT;
	*rc = p ? pt2c__pt2json_read_text(p, text, len, &JO, false, "models/model.json", err) : PT2C_ENOMEM;
	pt2c__thread_tuning = keep;
	if (*rc) {
		drop(p);
		return NULL;
	}
	return p;
}

/* Programs that must write the same bytes. */
static void same_text(pt2c_program *a, pt2c_program *b)
{
	pt2c_buf x, y;
	pt2c__buf_init(&x, NULL);
	pt2c__buf_init(&y, NULL);
	int rx = pt2c__pt2json_write(&x, a), ry = pt2c__pt2json_write(&y, b);
	if (rx != ry || (rx == 0 && (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)))
		__builtin_trap(); /* the spans read on workers differ from those read in order */
	pt2c__buf_free(&x);
	pt2c__buf_free(&y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = read_dom((const char *)data, size, &arena);
	int rl, rw;
	pt2c_error el, ew;
	pt2c_program *l = read_lazy((const char *)data, size, false, &rl, &el);
	pt2c_program *w = read_lazy((const char *)data, size, true, &rw, &ew);
	if (rl != rw || (rl && (strcmp(el.message, ew.message) != 0 || strcmp(el.member, ew.member) != 0 || el.offset != ew.offset)))
		__builtin_trap(); /* the workers' read failed otherwise than the read in order */
	if (l && w)
		same_text(l, w);
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
	drop(w);
	pt2c__arena_free(&arena);
	return 0;
}
