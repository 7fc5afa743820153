/* arg.c -- argument trees: PT2 tags, deep copies, equality and reference walks. */
#include "ir/ir.h"

/* Argument trees come from untrusted JSON; every walk stops at this depth. */
#define ARG_MAX_DEPTH 64

static const char *const TAGS[PT2C_ARG__COUNT] = {
	[PT2C_ARG_NONE] = "as_none",
	[PT2C_ARG_TENSOR] = "as_tensor",
	[PT2C_ARG_TENSORS] = "as_tensors",
	[PT2C_ARG_INT] = "as_int",
	[PT2C_ARG_INTS] = "as_ints",
	[PT2C_ARG_FLOAT] = "as_float",
	[PT2C_ARG_FLOATS] = "as_floats",
	[PT2C_ARG_STRING] = "as_string",
	[PT2C_ARG_STRINGS] = "as_strings",
	[PT2C_ARG_SYM_INT] = "as_sym_int",
	[PT2C_ARG_SYM_INTS] = "as_sym_ints",
	[PT2C_ARG_SCALAR_TYPE] = "as_scalar_type",
	[PT2C_ARG_MEMORY_FORMAT] = "as_memory_format",
	[PT2C_ARG_LAYOUT] = "as_layout",
	[PT2C_ARG_DEVICE] = "as_device",
	[PT2C_ARG_BOOL] = "as_bool",
	[PT2C_ARG_BOOLS] = "as_bools",
	[PT2C_ARG_SYM_BOOL] = "as_sym_bool",
	[PT2C_ARG_SYM_BOOLS] = "as_sym_bools",
	[PT2C_ARG_GRAPH] = "as_graph",
	[PT2C_ARG_OPTIONAL_TENSORS] = "as_optional_tensors",
	[PT2C_ARG_CUSTOM_OBJ] = "as_custom_obj",
	[PT2C_ARG_OPERATOR] = "as_operator",
	[PT2C_ARG_SYM_FLOAT] = "as_sym_float",
	[PT2C_ARG_SYM_FLOATS] = "as_sym_floats",
	[PT2C_ARG_OPTIONAL_TENSOR] = "as_optional_tensor",
	[PT2C_ARG_COMPLEX] = "as_complex",
	[PT2C_ARG_NESTED_TENSORS] = "as_nested_tensors",
	[PT2C_ARG_INT_LISTS] = "as_int_lists",
	[PT2C_ARG_STRING_TO_ARGUMENT] = "as_string_to_argument",
	[PT2C_ARG_ENGINE_B64] = "as_string",
};

const char *pt2c__arg_tag(int kind)
{
	if (kind < 0 || kind >= PT2C_ARG__COUNT)
		return NULL;
	return TAGS[kind];
}

int pt2c__arg_kind_from_tag(const char *tag, size_t n)
{
	if (!tag)
		return -1;
	for (int k = 0; k < PT2C_ARG_FX_NODE; k++)
		if (TAGS[k] && strlen(TAGS[k]) == n && memcmp(TAGS[k], tag, n) == 0)
			return k;
	return -1;
}

bool pt2c__arg_is_list(int kind)
{
	switch (kind) {
	case PT2C_ARG_TENSORS:
	case PT2C_ARG_INTS:
	case PT2C_ARG_FLOATS:
	case PT2C_ARG_STRINGS:
	case PT2C_ARG_SYM_INTS:
	case PT2C_ARG_BOOLS:
	case PT2C_ARG_SYM_BOOLS:
	case PT2C_ARG_OPTIONAL_TENSORS:
	case PT2C_ARG_SYM_FLOATS:
	case PT2C_ARG_OPTIONAL_TENSOR:
	case PT2C_ARG_NESTED_TENSORS:
	case PT2C_ARG_INT_LISTS:
	case PT2C_ARG_FX_LIST:
	case PT2C_ARG_FX_TUPLE:
		return true;
	default:
		return false;
	}
}

/* Deep copy of src's children into dst (already a shallow copy of src); depth-capped. */
static int copy_children(pt2c_ctx *ctx, pt2c_arg *dst, const pt2c_arg *src, int depth)
{
	if (depth > ARG_MAX_DEPTH)
		return PT2C_EUNSUPPORTED;
	if (pt2c__arg_is_list(src->kind)) {
		if (src->n == 0 || !src->u.items) {
			dst->u.items = NULL;
			return 0;
		}
		pt2c_arg *items = pt2c__arena_calloc(&ctx->arena, src->n, sizeof *items);
		if (!items)
			return PT2C_ENOMEM;
		for (uint32_t i = 0; i < src->n; i++) {
			items[i] = src->u.items[i];
			int rc = copy_children(ctx, &items[i], &src->u.items[i], depth + 1);
			if (rc)
				return rc;
		}
		dst->u.items = items;
	} else if (src->kind == PT2C_ARG_STRING_TO_ARGUMENT && src->n) {
		pt2c_arg *items = pt2c__arena_calloc(&ctx->arena, src->n, sizeof *items);
		const char **keys = pt2c__arena_memdup(&ctx->arena, src->u.map->keys, (size_t)src->n * sizeof *keys);
		uint32_t *lens = pt2c__arena_memdup(&ctx->arena, src->u.map->key_lens, (size_t)src->n * sizeof *lens);
		pt2c_arg_map *map = pt2c__arena_zalloc(&ctx->arena, sizeof *map);
		if (!items || !keys || !lens || !map)
			return PT2C_ENOMEM;
		dst->u.map = map;
		for (uint32_t i = 0; i < src->n; i++) {
			items[i] = src->u.map->items[i];
			int rc = copy_children(ctx, &items[i], &src->u.map->items[i], depth + 1);
			if (rc)
				return rc;
		}
		dst->u.map->items = items;
		dst->u.map->keys = keys;
		dst->u.map->key_lens = lens;
	}
	return 0;
}

int pt2c__arg_copy(pt2c_ctx *ctx, pt2c_arg *dst, const pt2c_arg *src)
{
	PT2C_ASSERT_ARG(ctx && dst && src);
	pt2c_arg tmp = *src;
	int rc = copy_children(ctx, &tmp, src, 0);
	if (rc)
		return rc;
	*dst = tmp;
	return 0;
}

/* Structural equality with a depth cap (too deep compares unequal). */
static bool arg_equal(const pt2c_arg *a, const pt2c_arg *b, int depth)
{
	if (depth > ARG_MAX_DEPTH || a->kind != b->kind)
		return false;
	if (pt2c__arg_is_list(a->kind)) {
		if (a->n != b->n)
			return false;
		for (uint32_t i = 0; i < a->n; i++)
			if (!arg_equal(&a->u.items[i], &b->u.items[i], depth + 1))
				return false;
		return true;
	}
	switch (a->kind) {
	case PT2C_ARG_NONE:
		return true;
	case PT2C_ARG_TENSOR:
	case PT2C_ARG_FX_NODE:
		return a->u.ref == b->u.ref;
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		if ((a->flags & PT2C_ARGF_LITERAL) != (b->flags & PT2C_ARGF_LITERAL))
			return false;
		if (!(a->flags & PT2C_ARGF_LITERAL))
			return a->u.ref == b->u.ref;
		if (a->kind == PT2C_ARG_SYM_INT)
			return a->u.i == b->u.i;
		if (a->kind == PT2C_ARG_SYM_BOOL)
			return a->u.b == b->u.b;
		return a->u.f == b->u.f || (a->u.f != a->u.f && b->u.f != b->u.f);
	case PT2C_ARG_INT:
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_MEMORY_FORMAT:
	case PT2C_ARG_LAYOUT:
		return a->u.i == b->u.i;
	case PT2C_ARG_FLOAT:
		return a->u.f == b->u.f || (a->u.f != a->u.f && b->u.f != b->u.f);
	case PT2C_ARG_BOOL:
		return a->u.b == b->u.b;
	case PT2C_ARG_STRING:
	case PT2C_ARG_OPERATOR:
		return a->n == b->n && (a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0);
	case PT2C_ARG_DEVICE:
		return a->u.dev.index == b->u.dev.index &&
		       (a->u.dev.type == b->u.dev.type ||
		        (a->u.dev.type && b->u.dev.type && strcmp(a->u.dev.type, b->u.dev.type) == 0));
	case PT2C_ARG_COMPLEX:
		return a->u.c.re == b->u.c.re && a->u.c.im == b->u.c.im;
	case PT2C_ARG_CUSTOM_OBJ:
		return a->u.obj.ref == b->u.obj.ref;
	case PT2C_ARG_GRAPH:
		return a->u.g.graph == b->u.g.graph;
	case PT2C_ARG_ENGINE_B64:
		return a->u.engine == b->u.engine;
	case PT2C_ARG_STRING_TO_ARGUMENT:
		if (a->n != b->n)
			return false;
		for (uint32_t i = 0; i < a->n; i++) {
			if (a->u.map->key_lens[i] != b->u.map->key_lens[i] ||
			    memcmp(a->u.map->keys[i], b->u.map->keys[i], a->u.map->key_lens[i]) != 0 ||
			    !arg_equal(&a->u.map->items[i], &b->u.map->items[i], depth + 1))
				return false;
		}
		return true;
	default:
		return false;
	}
}

bool pt2c__arg_equal(const pt2c_arg *a, const pt2c_arg *b)
{
	if (!a || !b)
		return a == b;
	return arg_equal(a, b, 0);
}

int pt2c__arg_foreach_ref(pt2c_arg *arg, pt2c_ref_cb cb, void *payload)
{
	PT2C_ASSERT_ARG(arg && cb);
	/* One frame per open list: memory is bounded by depth, not by width. */
	struct { pt2c_arg *items; uint32_t n, i; } stack[ARG_MAX_DEPTH];
	int depth = 0;
	pt2c_arg *cur = arg;
	for (;;) {
		if (cur) {
			int rc = 0;
			switch (cur->kind) {
			case PT2C_ARG_TENSOR:
			case PT2C_ARG_FX_NODE:
				rc = cb(&cur->u.ref, payload);
				break;
			case PT2C_ARG_SYM_INT:
			case PT2C_ARG_SYM_BOOL:
			case PT2C_ARG_SYM_FLOAT:
				if (!(cur->flags & PT2C_ARGF_LITERAL))
					rc = cb(&cur->u.ref, payload);
				break;
			case PT2C_ARG_CUSTOM_OBJ:
				rc = cb(&cur->u.obj.ref, payload);
				break;
			default: {
				pt2c_arg *items = NULL;
				if (pt2c__arg_is_list(cur->kind))
					items = cur->u.items;
				else if (cur->kind == PT2C_ARG_STRING_TO_ARGUMENT)
					items = cur->u.map->items;
				if (items && cur->n) {
					if (depth == ARG_MAX_DEPTH)
						return PT2C_EUNSUPPORTED;
					stack[depth].items = items;
					stack[depth].n = cur->n;
					stack[depth].i = 0;
					depth++;
				}
				break;
			}
			}
			if (rc)
				return rc;
			cur = NULL;
		}
		while (depth > 0 && stack[depth - 1].i == stack[depth - 1].n)
			depth--;
		if (depth == 0)
			return 0;
		cur = &stack[depth - 1].items[stack[depth - 1].i++];
	}
}

uint32_t pt2c__arg_ref(const pt2c_arg *a)
{
	switch (a->kind) {
	case PT2C_ARG_TENSOR: case PT2C_ARG_FX_NODE: return a->u.ref;
	case PT2C_ARG_CUSTOM_OBJ: return a->u.obj.ref;
	case PT2C_ARG_SYM_INT: case PT2C_ARG_SYM_BOOL: case PT2C_ARG_SYM_FLOAT:
		return (a->flags & PT2C_ARGF_LITERAL) ? PT2C_NONE : a->u.ref;
	default: return PT2C_NONE;
	}
}
_Static_assert(sizeof(pt2c_arg) <= 24 || sizeof(void *) > 8, "pt2c_arg stays small: argument lists are most of a graph");
