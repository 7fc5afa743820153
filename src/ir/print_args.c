/*
 * print_args.c -- the pieces both listings print: Python reprs of scalars and strings, symbolic
 * sizes, tensor types ("f32[2, 3]") and node arguments in fx or Python-codegen style.
 */
#include <math.h>
#include <stdio.h>

#include "ir/print.h"
#include "util/json.h"

/* MARK: scalars */

/* A float as Python repr ("0.1", "1e-05", "inf"). */
void pt2c__print_pyfloat(pt2c_buf *b, double d)
{
	if (isnan(d))
		pt2c__buf_puts(b, "nan");
	else if (isinf(d))
		pt2c__buf_puts(b, d < 0 ? "-inf" : "inf");
	else
		pt2c__json_write_double(b, d);
}

/* A string as Python repr: single quotes unless the text has ' and no ". */
void pt2c__print_pyrepr_str(pt2c_buf *b, const char *s, size_t n)
{
	bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
	char q = has_sq && !has_dq ? '"' : '\'';
	pt2c__buf_putc(b, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == (unsigned char)q || c == '\\') {
			pt2c__buf_putc(b, '\\');
			pt2c__buf_putc(b, (char)c);
		} else if (c == '\n')
			pt2c__buf_puts(b, "\\n");
		else if (c == '\r')
			pt2c__buf_puts(b, "\\r");
		else if (c == '\t')
			pt2c__buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			pt2c__buf_printf(b, "\\x%02x", c);
		else
			pt2c__buf_putc(b, (char)c);
	}
	pt2c__buf_putc(b, q);
}

/* torch spelling of a PT2 MemoryFormat code. */
const char *pt2c__print_memfmt_name(int64_t v)
{
	switch (v) {
	case PT2C_MEMFMT_CONTIGUOUS: return "torch.contiguous_format";
	case PT2C_MEMFMT_CHANNELS_LAST: return "torch.channels_last";
	case PT2C_MEMFMT_CHANNELS_LAST_3D: return "torch.channels_last_3d";
	case PT2C_MEMFMT_PRESERVE: return "torch.preserve_format";
	default: return "torch.contiguous_format";
	}
}

/* torch spelling of a PT2 Layout code. */
const char *pt2c__print_layout_name(int64_t v)
{
	/* PT2 Layout enum: 0 Unknown, 1 SparseCoo, 2 SparseCsr, 3 SparseCsc, 4 SparseBsr, 5 SparseBsc, 6 _mkldnn, 7 Strided */
	static const char *const NAMES[] = { "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc",
	                                     "torch.sparse_bsr", "torch.sparse_bsc", "torch._mkldnn", "torch.strided" };
	return v >= 0 && v < 8 ? NAMES[v] : "torch.strided";
}

/* A symbolic scalar as torch prints it. */
void pt2c__print_sym(pt2c_buf *b, const pt2c_sym *s)
{
	switch (s->kind) {
	case PT2C_SYM_INT: pt2c__buf_printf(b, "%lld", (long long)s->i); break;
	case PT2C_SYM_BOOL: pt2c__buf_puts(b, s->i ? "True" : "False"); break;
	case PT2C_SYM_FLOAT: pt2c__print_pyfloat(b, s->f); break;
	default: pt2c__sympy_print(b, s->expr); break;
	}
}

void pt2c__meta_print(pt2c_buf *b, const pt2c_tensor_meta *m)
{
	pt2c__buf_puts(b, pt2c__dtype_short(m->dtype));
	pt2c__buf_putc(b, '[');
	for (uint32_t i = 0; i < m->ndim; i++) {
		if (i)
			pt2c__buf_puts(b, ", ");
		pt2c__print_sym(b, &m->sizes[i]);
	}
	pt2c__buf_putc(b, ']');
}

/* The quoted type annotation of a value (` "f32[2, 3]"`, ` "Sym(s77)"`), or nothing. */
bool pt2c__print_value_type(pt2c_buf *b, const pt2c_value *v, const char *prefix)
{
	if (!v->has_meta)
		return false;
	if (v->kind == PT2C_VAL_TENSOR) {
		pt2c__buf_puts(b, prefix);
		pt2c__buf_putc(b, '"');
		pt2c__meta_print(b, v->u.tensor);
		pt2c__buf_putc(b, '"');
		return true;
	}
	if (v->kind == PT2C_VAL_SYM_INT || v->kind == PT2C_VAL_SYM_BOOL || v->kind == PT2C_VAL_SYM_FLOAT) {
		pt2c__buf_puts(b, prefix);
		pt2c__buf_puts(b, "\"Sym(");
		pt2c__print_sym(b, &v->u.sym);
		pt2c__buf_puts(b, ")\"");
		return true;
	}
	return false;
}

/* MARK: argument rendering */

/* Name of the value a ref resolves to ("?" if dangling). */
const char *pt2c__print_ref_name(pt2c_graph *g, uint32_t ref)
{
	uint32_t v = pt2c__value_resolve(g, ref);
	return v < g->n_values && g->values[v].name ? g->values[v].name : "?";
}

/* A list "[a, b]" or tuple "(a,)" of arguments. */
static void put_items(pt2c_buf *b, pt2c_graph *g, const pt2c_arg *a, int style, int depth, char open, char close)
{
	pt2c__buf_putc(b, open);
	for (uint32_t i = 0; i < a->n; i++) {
		if (i)
			pt2c__buf_puts(b, ", ");
		pt2c__print_arg(b, g, &a->u.items[i], style, depth + 1);
	}
	if (open == '(' && a->n == 1)
		pt2c__buf_putc(b, ',');
	pt2c__buf_putc(b, close);
}

/* A value reference: "%x" in fx listings, "x" in code. */
static void put_ref(pt2c_buf *b, pt2c_graph *g, uint32_t ref, int style)
{
	if (style == PT2C_PRINT_FX)
		pt2c__buf_putc(b, '%');
	pt2c__buf_puts(b, pt2c__print_ref_name(g, ref));
}

/* One argument, as fx's _format_arg (PT2C_PRINT_FX) or the Python code generator (PT2C_PRINT_PY) writes it. */
void pt2c__print_arg(pt2c_buf *b, pt2c_graph *g, const pt2c_arg *a, int style, int depth)
{
	if (depth > 64) {
		pt2c__buf_puts(b, "...");
		return;
	}
	if (pt2c__arg_is_list(a->kind) && a->n && !a->u.items) {
		pt2c__buf_puts(b, "[?]");
		return;
	}
	switch (a->kind) {
	case PT2C_ARG_NONE: pt2c__buf_puts(b, "None"); break;
	case PT2C_ARG_TENSOR:
	case PT2C_ARG_FX_NODE: put_ref(b, g, a->u.ref, style); break;
	case PT2C_ARG_INT: pt2c__buf_printf(b, "%lld", (long long)a->u.i); break;
	case PT2C_ARG_FLOAT: pt2c__print_pyfloat(b, a->u.f); break;
	case PT2C_ARG_BOOL: pt2c__buf_puts(b, a->u.b ? "True" : "False"); break;
	case PT2C_ARG_STRING:
	case PT2C_ARG_OPERATOR:
		if (style == PT2C_PRINT_FX || a->kind == PT2C_ARG_OPERATOR)
			pt2c__buf_put(b, a->u.s, a->n);
		else
			pt2c__print_pyrepr_str(b, a->u.s ? a->u.s : "", a->n);
		break;
	case PT2C_ARG_SYM_INT:
		if (a->flags & PT2C_ARGF_LITERAL)
			pt2c__buf_printf(b, "%lld", (long long)a->u.i);
		else
			put_ref(b, g, a->u.ref, style);
		break;
	case PT2C_ARG_SYM_BOOL:
		if (a->flags & PT2C_ARGF_LITERAL)
			pt2c__buf_puts(b, a->u.b ? "True" : "False");
		else
			put_ref(b, g, a->u.ref, style);
		break;
	case PT2C_ARG_SYM_FLOAT:
		if (a->flags & PT2C_ARGF_LITERAL)
			pt2c__print_pyfloat(b, a->u.f);
		else
			put_ref(b, g, a->u.ref, style);
		break;
	case PT2C_ARG_SCALAR_TYPE:
		pt2c__buf_printf(b, "torch.%s", pt2c__dtype_name((int)(a->u.i >= 0 && a->u.i < PT2C_DTYPE_COUNT ? a->u.i : 0)));
		break;
	case PT2C_ARG_MEMORY_FORMAT: pt2c__buf_puts(b, pt2c__print_memfmt_name(a->u.i)); break;
	case PT2C_ARG_LAYOUT: pt2c__buf_puts(b, pt2c__print_layout_name(a->u.i)); break;
	case PT2C_ARG_DEVICE: {
		const char *t = a->u.dev.type ? a->u.dev.type : "cpu";
		if (style == PT2C_PRINT_FX) {
			pt2c__buf_puts(b, t);
			if (a->u.dev.index >= 0)
				pt2c__buf_printf(b, ":%d", (int)a->u.dev.index);
		} else if (a->u.dev.index >= 0)
			pt2c__buf_printf(b, "device(type='%s', index=%d)", t, (int)a->u.dev.index);
		else
			pt2c__buf_printf(b, "device(type='%s')", t);
		break;
	}
	case PT2C_ARG_GRAPH: pt2c__buf_puts(b, a->u.g.name ? a->u.g.name : "?"); break;
	case PT2C_ARG_CUSTOM_OBJ: put_ref(b, g, a->u.obj.ref, style); break;
	case PT2C_ARG_COMPLEX: {
		pt2c__buf_putc(b, '(');
		pt2c__print_pyfloat(b, a->u.c.re);
		pt2c__buf_putc(b, a->u.c.im < 0 ? '-' : '+');
		pt2c__print_pyfloat(b, fabs(a->u.c.im));
		pt2c__buf_puts(b, "j)");
		break;
	}
	case PT2C_ARG_OPTIONAL_TENSOR:
		if (a->n == 1 && a->u.items)
			pt2c__print_arg(b, g, &a->u.items[0], style, depth + 1);
		else
			pt2c__buf_puts(b, "None");
		break;
	case PT2C_ARG_FX_TUPLE: put_items(b, g, a, style, depth, '(', ')'); break;
	case PT2C_ARG_STRING_TO_ARGUMENT:
		pt2c__buf_putc(b, '{');
		for (uint32_t i = 0; i < a->n; i++) {
			if (i)
				pt2c__buf_puts(b, ", ");
			if (style == PT2C_PRINT_FX)
				pt2c__buf_put(b, a->u.map->keys[i], a->u.map->key_lens[i]);
			else
				pt2c__print_pyrepr_str(b, a->u.map->keys[i], a->u.map->key_lens[i]);
			pt2c__buf_puts(b, ": ");
			pt2c__print_arg(b, g, &a->u.map->items[i], style, depth + 1);
		}
		pt2c__buf_putc(b, '}');
		break;
	case PT2C_ARG_ENGINE_B64: {
		const pt2c_engine_record *e = a->u.engine;
		pt2c__buf_putc(b, '\'');
		if (e && e->engine && e->engine->nbytes <= SIZE_MAX) {
			if (e->engine_b64)
				pt2c__buf_put(b, e->engine->data, (size_t)e->engine->nbytes);
			else
				pt2c__b64_encode_buf(b, e->engine->data, (size_t)e->engine->nbytes);
		}
		pt2c__buf_putc(b, '\'');
		break;
	}
	default:
		if (pt2c__arg_is_list(a->kind))
			put_items(b, g, a, style, depth, '[', ']');
		else
			pt2c__buf_puts(b, "?");
		break;
	}
}

