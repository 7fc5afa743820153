/* ctx.c -- the refcounted arena + string pool that owns every object of a module tree. */
#include <assert.h>

#include "ir/ir.h"

int pt2c__ctx_new(pt2c_ctx **out, const pt2c_allocator *alloc)
{
	PT2C_ASSERT_ARG(out);
	*out = NULL;
	pt2c_ctx *c = pt2c__calloc(alloc, 1, sizeof *c);
	if (!c)
		return PT2C_ENOMEM;
	c->refcount = 1;
	if (alloc) {
		c->alloc_storage = *alloc;
		c->alloc = &c->alloc_storage;
	}
	pt2c__arena_init(&c->arena, c->alloc);
	pt2c__strpool_init(&c->strings, &c->arena, c->alloc);
	*out = c;
	return 0;
}

pt2c_ctx *pt2c__ctx_ref(pt2c_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

void pt2c__ctx_unref(pt2c_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return;
	/* The allocator lives inside the struct, so copy it before the struct goes. */
	pt2c_allocator a = ctx->alloc_storage;
	bool custom = ctx->alloc != NULL;
	pt2c__strpool_free(&ctx->strings);
	pt2c__arena_free(&ctx->arena);
	pt2c__free(custom ? &a : NULL, ctx);
}

int pt2c__ctx_new_front(pt2c_ctx *parent, pt2c_ctx **out)
{
	PT2C_ASSERT_ARG(parent && out);
	pt2c_ctx *c = NULL;
	if (pt2c__ctx_new(&c, parent->alloc))
		return PT2C_ENOMEM;
	if (pt2c__strpool_front(&c->strings, &parent->strings)) {
		pt2c__ctx_unref(c);
		return PT2C_ENOMEM;
	}
	*out = c;
	return 0;
}

void pt2c__ctx_adopt(pt2c_ctx *parent, pt2c_ctx *front)
{
	assert(parent && front && front->strings.shared == &parent->strings);
	pt2c__arena_splice(&parent->arena, &front->arena);
	parent->has_subgraphs |= front->has_subgraphs;
	pt2c__ctx_unref(front);
}
