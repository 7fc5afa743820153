/*
 * partitioned_write.c -- write a pt2c_module as the partitioned-module JSON form or as the
 * partitioned-module archive (docs/partitioned-format.md), such that partitioned_json.c /
 * partitioned_archive.c read back the same module (graph, value metadata, attributes and their
 * bytes, engine records, specs, symbols, op schemas).
 *
 * Argument encoding (the reader's grammar): FX_NODE -> {"node": name}; FX_LIST / FX_TUPLE -> a JSON
 * list (a tuple reads back as a list); NONE/INT/BOOL/STRING -> JSON scalars; FLOAT -> a number, or
 * {"as_float": "Infinity"} when not finite (a bare token would be read as a string otherwise);
 * SCALAR_TYPE -> {"dtype": "float32"}; INTS/FLOATS/BOOLS/STRINGS, LAYOUT, MEMORY_FORMAT, DEVICE,
 * SYM_INT, TENSOR -> their PT2 tagged objects. Other kinds have no partitioned-JSON spelling:
 * PT2C_EUNSUPPORTED.
 *
 * Archive layout: <root>/format, <root>/version, <root>/weights/<i> (one per distinct storage, in
 * order of first use: top-level attributes, then fallback submodules' attributes), then
 * <root>/engines/<submodule name> (or engines/#<k> when the name is not a plain file name), and
 * <root>/module.json LAST, so weights stream out before anything needs buffering; module.json
 * itself is built in memory first (it holds no bytes of weights), so a module that cannot be
 * written fails before the sink sees a byte. Root is "partitioned/".
 */
#include "serde/serde.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define ROOT "partitioned/"
#define ARG_MAX_DEPTH 64 /* the reader's cap: deeper trees could not be read back */
#define CHUNK ((size_t)1 << 30)

typedef struct wctx {
	pt2c_buf *b;
	bool members;
	const pt2c_storage **sts; /* distinct storages in member order; the map's keys point into it */
	const pt2c_allocator *alloc; /* the module's */
	uint32_t n_st;
	pt2c_map st_index;        /* pointer bytes -> index */
} wctx;

/* MARK: distinct storages */

static int add_storages(wctx *w, const pt2c_module *m)
{
	for (uint32_t k = 0; k < m->n_attrs; k++) {
		const pt2c_storage *st = m->attrs[k].tensor.storage;
		if (m->attrs[k].kind == PT2C_ATTR_CUSTOM_OBJ || !st) continue;
		bool existed;
		w->sts[w->n_st] = st;
		if (pt2c__map_put(&w->st_index, (const char *)&w->sts[w->n_st], sizeof st, w->n_st, false, &existed))
			return PT2C_ENOMEM;
		if (!existed) w->n_st++;
	}
	return 0;
}

/* Number every distinct storage of m and its fallbacks (see the layout above). */
static int collect_storages(wctx *w, const pt2c_module *m)
{
	size_t total = m->n_attrs;
	for (uint32_t s = 0; s < m->n_subs; s++)
		if (m->subs[s].kind == PT2C_SUB_FALLBACK && m->subs[s].fallback) total += m->subs[s].fallback->n_attrs;
	pt2c__map_init(&w->st_index, w->alloc);
	w->n_st = 0;
	/* sized once: map keys point into this array */
	w->sts = total ? pt2c__calloc(w->alloc, total, sizeof *w->sts) : NULL;
	if (total && !w->sts) return PT2C_ENOMEM;
	int rc = add_storages(w, m);
	for (uint32_t s = 0; s < m->n_subs && !rc; s++)
		if (m->subs[s].kind == PT2C_SUB_FALLBACK && m->subs[s].fallback) rc = add_storages(w, m->subs[s].fallback);
	return rc;
}

static void free_storages(wctx *w)
{
	pt2c__map_free(&w->st_index);
	pt2c__free(w->alloc, w->sts);
	w->sts = NULL;
}

static uint32_t storage_index(const wctx *w, const pt2c_storage *st)
{
	uint64_t v = 0;
	pt2c__map_get(&w->st_index, (const char *)&st, sizeof st, &v);
	return (uint32_t)v;
}

/* Whether a submodule name can be used verbatim as the file name of its engine member. */
static bool plain_name(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 200) return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* "engines/<name>" or "engines/#<k>" ('#' is never in a plain name, so the two cannot collide). */
static void engine_member(char *dst, size_t cap, const pt2c_submodule *s, uint32_t k)
{
	if (plain_name(s->name)) snprintf(dst, cap, "engines/%s", s->name);
	else snprintf(dst, cap, "engines/#%" PRIu32, k);
}

/* MARK: JSON pieces */

static void put_key(pt2c_buf *b, const char *k)
{
	pt2c__json_write_cstr(b, k);
	pt2c__buf_put(b, ": ", 2);
}

/* Decimal int64 without printf (the writer emits millions of them). */
static void put_int(pt2c_buf *b, int64_t v)
{
	char tmp[24];
	size_t o = sizeof tmp;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[--o] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0) tmp[--o] = '-';
	pt2c__buf_put(b, tmp + o, sizeof tmp - o);
}

static void write_dim(pt2c_buf *b, const pt2c_sym *s)
{
	if (s->kind == PT2C_SYM_EXPR && s->expr) pt2c__json_write_cstr(b, s->expr);
	else put_int(b, s->i);
}

static void write_device(pt2c_buf *b, const pt2c_device *d)
{
	const char *t = d->type ? d->type : "cpu";
	if (strchr(t, ':') || strlen(t) > 64) {
		/* the string form could not be split back (or is silly long): use the object form */
		pt2c__buf_puts(b, "{\"type\": ");
		pt2c__json_write_cstr(b, t);
		pt2c__buf_puts(b, ", \"index\": ");
		if (d->index < 0) pt2c__buf_puts(b, "null");
		else put_int(b, d->index);
		pt2c__buf_putc(b, '}');
		return;
	}
	if (d->index < 0) {
		pt2c__json_write_cstr(b, t);
		return;
	}
	/* "cuda:1": the type is escaped like any string, the index appended inside the quotes */
	pt2c__json_write_cstr(b, t);
	if (b->err) return;
	b->len--; /* reopen the closing quote */
	pt2c__buf_putc(b, ':');
	put_int(b, d->index);
	pt2c__buf_putc(b, '"');
}

/* Tensor metadata object; the fields the reader reads (storage offset is the attribute's business). */
static void write_meta_fields(pt2c_buf *b, const pt2c_tensor_meta *m)
{
	put_key(b, "dtype");
	pt2c__json_write_cstr(b, pt2c__dtype_name(m->dtype));
	pt2c__buf_puts(b, ", \"sizes\": [");
	for (uint32_t k = 0; k < m->ndim; k++) {
		if (k) pt2c__buf_put(b, ", ", 2);
		write_dim(b, &m->sizes[k]);
	}
	pt2c__buf_puts(b, "], \"strides\": [");
	for (uint32_t k = 0; k < m->ndim; k++) {
		if (k) pt2c__buf_put(b, ", ", 2);
		write_dim(b, &m->strides[k]);
	}
	pt2c__buf_puts(b, "], \"device\": ");
	write_device(b, &m->device);
	pt2c__buf_puts(b, m->requires_grad ? ", \"requires_grad\": true" : ", \"requires_grad\": false");
}

static void write_meta(pt2c_buf *b, const pt2c_tensor_meta *m)
{
	pt2c__buf_putc(b, '{');
	write_meta_fields(b, m);
	pt2c__buf_putc(b, '}');
}

/* A float where the reader takes a bare number: non-finite values as the tokens json.dump writes. */
static void write_bare_float(pt2c_buf *b, double d)
{
	if (isnan(d)) pt2c__buf_puts(b, "NaN");
	else if (isinf(d)) pt2c__buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
	else pt2c__json_write_double(b, d);
}

/* A node's "val" (see the reader's grammar). */
static void write_val(pt2c_buf *b, const pt2c_value *v)
{
	if (!v || !v->has_meta) {
		pt2c__buf_puts(b, "null");
		return;
	}
	switch (v->kind) {
	case PT2C_VAL_TENSOR: write_meta(b, v->u.tensor); return;
	case PT2C_VAL_TENSOR_LIST:
		pt2c__buf_putc(b, '[');
		for (uint32_t k = 0; k < v->u.list.n; k++) {
			if (k) pt2c__buf_put(b, ", ", 2);
			write_meta(b, &v->u.list.items[k]);
		}
		pt2c__buf_putc(b, ']');
		return;
	case PT2C_VAL_SYM_INT:
	case PT2C_VAL_SYM_BOOL:
	case PT2C_VAL_SYM_FLOAT:
		if (v->u.sym.kind == PT2C_SYM_EXPR && v->u.sym.expr) pt2c__json_write_cstr(b, v->u.sym.expr);
		else if (v->kind == PT2C_VAL_SYM_BOOL || v->u.sym.kind == PT2C_SYM_BOOL) pt2c__buf_puts(b, v->u.sym.i ? "true" : "false");
		else if (v->kind == PT2C_VAL_SYM_FLOAT || v->u.sym.kind == PT2C_SYM_FLOAT) write_bare_float(b, v->u.sym.f);
		else put_int(b, v->u.sym.i);
		return;
	default: pt2c__buf_puts(b, "null"); return;
	}
}

/* Name of the value an argument references (forwards followed, as every later reader would). */
static const char *ref_name(const pt2c_graph *g, uint32_t ref)
{
	for (uint32_t hops = 0; ref < g->n_values && g->values[ref].forward != PT2C_NONE && hops < g->n_values; hops++)
		ref = g->values[ref].forward;
	return ref < g->n_values ? g->values[ref].name : NULL;
}

static int write_arg(pt2c_buf *b, const pt2c_graph *g, const pt2c_arg *a, int depth);

/* {"<tag>": [items as scalars of kind elem]} */
static int write_scalar_list(pt2c_buf *b, const pt2c_arg *a)
{
	pt2c__buf_putc(b, '{');
	put_key(b, pt2c__arg_tag(a->kind));
	pt2c__buf_putc(b, '[');
	for (uint32_t k = 0; k < a->n; k++) {
		const pt2c_arg *it = &a->u.items[k];
		if (k) pt2c__buf_put(b, ", ", 2);
		switch (a->kind) {
		case PT2C_ARG_INTS: put_int(b, it->u.i); break;
		case PT2C_ARG_FLOATS: pt2c__json_write_double(b, it->u.f); break; /* "Infinity" strings are read back */
		case PT2C_ARG_BOOLS: pt2c__buf_puts(b, it->u.b ? "true" : "false"); break;
		default: pt2c__json_write_str(b, it->u.s ? it->u.s : "", it->u.s ? it->n : 0); break;
		}
	}
	pt2c__buf_put(b, "]}", 2);
	return 0;
}

/* One argument tree (grammar at the top); PT2C_EUNSUPPORTED for kinds without a spelling. */
static int write_arg(pt2c_buf *b, const pt2c_graph *g, const pt2c_arg *a, int depth)
{
	if (depth >= ARG_MAX_DEPTH) return PT2C_EUNSUPPORTED;
	switch (a->kind) {
	case PT2C_ARG_NONE: pt2c__buf_puts(b, "null"); return 0;
	case PT2C_ARG_INT: put_int(b, a->u.i); return 0;
	case PT2C_ARG_BOOL: pt2c__buf_puts(b, a->u.b ? "true" : "false"); return 0;
	case PT2C_ARG_STRING: pt2c__json_write_str(b, a->u.s ? a->u.s : "", a->u.s ? a->n : 0); return 0;
	case PT2C_ARG_FLOAT:
		if (isfinite(a->u.f)) {
			pt2c__json_write_double(b, a->u.f);
		} else {
			pt2c__buf_puts(b, "{\"as_float\": ");
			pt2c__json_write_double(b, a->u.f);
			pt2c__buf_putc(b, '}');
		}
		return 0;
	case PT2C_ARG_FX_NODE:
	case PT2C_ARG_TENSOR: {
		const char *n = ref_name(g, a->u.ref);
		if (!n) return PT2C_EINVALID;
		pt2c__buf_puts(b, a->kind == PT2C_ARG_FX_NODE ? "{\"node\": " : "{\"as_tensor\": {\"name\": ");
		pt2c__json_write_cstr(b, n);
		pt2c__buf_puts(b, a->kind == PT2C_ARG_FX_NODE ? "}" : "}}");
		return 0;
	}
	case PT2C_ARG_FX_LIST:
	case PT2C_ARG_FX_TUPLE:
		pt2c__buf_putc(b, '[');
		for (uint32_t k = 0; k < a->n; k++) {
			if (k) pt2c__buf_put(b, ", ", 2);
			int rc = write_arg(b, g, &a->u.items[k], depth + 1);
			if (rc) return rc;
		}
		pt2c__buf_putc(b, ']');
		return 0;
	case PT2C_ARG_INTS:
	case PT2C_ARG_FLOATS:
	case PT2C_ARG_BOOLS:
	case PT2C_ARG_STRINGS:
		return write_scalar_list(b, a);
	case PT2C_ARG_SCALAR_TYPE:
		if (pt2c__dtype_valid(a->u.i)) {
			pt2c__buf_puts(b, "{\"dtype\": ");
			pt2c__json_write_cstr(b, pt2c__dtype_name((int)a->u.i));
			pt2c__buf_putc(b, '}');
			return 0;
		}
		return PT2C_EUNSUPPORTED; /* the reader would refuse it */
	case PT2C_ARG_LAYOUT:
	case PT2C_ARG_MEMORY_FORMAT:
		pt2c__buf_putc(b, '{');
		put_key(b, pt2c__arg_tag(a->kind));
		put_int(b, a->u.i);
		pt2c__buf_putc(b, '}');
		return 0;
	case PT2C_ARG_DEVICE:
		pt2c__buf_puts(b, "{\"as_device\": {\"type\": ");
		pt2c__json_write_cstr(b, a->u.dev.type ? a->u.dev.type : "cpu");
		pt2c__buf_puts(b, ", \"index\": ");
		if (a->u.dev.index < 0) pt2c__buf_puts(b, "null");
		else put_int(b, a->u.dev.index);
		pt2c__buf_put(b, "}}", 2);
		return 0;
	case PT2C_ARG_SYM_INT:
		if (a->flags & PT2C_ARGF_LITERAL) {
			pt2c__buf_puts(b, "{\"as_sym_int\": {\"as_int\": ");
			put_int(b, a->u.i);
		} else {
			const char *n = ref_name(g, a->u.ref);
			if (!n) return PT2C_EINVALID;
			pt2c__buf_puts(b, "{\"as_sym_int\": {\"as_name\": ");
			pt2c__json_write_cstr(b, n);
		}
		pt2c__buf_put(b, "}}", 2);
		return 0;
	default:
		return PT2C_EUNSUPPORTED;
	}
}

static const char *const OPS[PT2C_OP__COUNT] = {
	[PT2C_OP_PLACEHOLDER] = "placeholder", [PT2C_OP_GET_ATTR] = "get_attr",
	[PT2C_OP_CALL_FUNCTION] = "call_function", [PT2C_OP_CALL_MODULE] = "call_module",
	[PT2C_OP_OUTPUT] = "output",
};

/* "graph": [...] of g, live nodes in order. */
static int write_graph(pt2c_buf *b, const pt2c_graph *g)
{
	put_key(b, "graph");
	pt2c__buf_putc(b, '[');
	bool first = true;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *n = &g->nodes[id];
		if (n->op >= PT2C_OP__COUNT) return PT2C_EINVALID;
		if (!first) pt2c__buf_put(b, ", ", 2);
		first = false;
		pt2c__buf_puts(b, "{\"op\": ");
		pt2c__json_write_cstr(b, OPS[n->op]);
		pt2c__buf_puts(b, ", \"name\": ");
		pt2c__json_write_cstr(b, n->name);
		pt2c__buf_puts(b, ", \"target\": ");
		pt2c__json_write_cstr(b, n->target ? n->target : n->name);
		pt2c__buf_puts(b, ", \"args\": [");
		bool any = false;
		for (uint32_t k = 0; k < n->n_inputs; k++) {
			const pt2c_named_arg *in = &n->inputs[k];
			if (in->kind == PT2C_ARGKIND_KEYWORD && in->name) continue;
			if (any) pt2c__buf_put(b, ", ", 2);
			any = true;
			int rc = write_arg(b, g, &in->arg, 0);
			if (rc) return rc;
		}
		pt2c__buf_puts(b, "], \"kwargs\": {");
		any = false;
		for (uint32_t k = 0; k < n->n_inputs; k++) {
			const pt2c_named_arg *in = &n->inputs[k];
			if (!(in->kind == PT2C_ARGKIND_KEYWORD && in->name)) continue;
			if (any) pt2c__buf_put(b, ", ", 2);
			any = true;
			put_key(b, in->name);
			int rc = write_arg(b, g, &in->arg, 0);
			if (rc) return rc;
		}
		pt2c__buf_putc(b, '}');
		if (n->op != PT2C_OP_OUTPUT) {
			uint32_t v = pt2c__node_value(g, id);
			pt2c__buf_puts(b, ", \"val\": ");
			write_val(b, v == PT2C_NONE ? NULL : &g->values[v]);
		}
		pt2c__buf_putc(b, '}');
	}
	pt2c__buf_putc(b, ']');
	return 0;
}

/* `"key": {fqn: weight}` for the attributes of one kind. */
static int write_attrs(wctx *w, const pt2c_module *m, const char *key, int kind)
{
	pt2c_buf *b = w->b;
	put_key(b, key);
	pt2c__buf_putc(b, '{');
	bool first = true;
	for (uint32_t k = 0; k < m->n_attrs; k++) {
		const pt2c_attr *at = &m->attrs[k];
		if (at->kind != kind) continue;
		const pt2c_tensor_meta *meta = &at->tensor.meta;
		const pt2c_storage *st = at->tensor.storage;
		uint64_t want;
		if (meta->storage_offset.kind != PT2C_SYM_INT || meta->storage_offset.i < 0) return PT2C_EUNSUPPORTED;
		if (pt2c__meta_storage_bytes(meta, &want, NULL) != 0) return PT2C_EUNSUPPORTED; /* symbolic weight */
		if (want > (st ? st->nbytes : 0)) return PT2C_ECORRUPT;
		if (!pt2c__storage_in_memory(st)) return PT2C_EUNSUPPORTED; /* bytes from a pull callback */
		if (!first) pt2c__buf_put(b, ", ", 2);
		first = false;
		put_key(b, at->fqn);
		pt2c__buf_putc(b, '{');
		write_meta_fields(b, meta);
		if (!at->persistent) pt2c__buf_puts(b, ", \"persistent\": false");
		if (w->members && st) {
			char name[32];
			snprintf(name, sizeof name, "weights/%" PRIu32, storage_index(w, st));
			pt2c__buf_puts(b, ", \"data_member\": ");
			pt2c__json_write_cstr(b, name);
			if (meta->storage_offset.i) {
				pt2c__buf_puts(b, ", \"storage_offset\": ");
				put_int(b, meta->storage_offset.i);
			}
		} else {
			/* the JSON form holds exactly the view's span, starting at its first element */
			uint64_t start = want ? (uint64_t)meta->storage_offset.i * pt2c__dtype_size(meta->dtype) : 0;
			pt2c__buf_puts(b, ", \"data_b64\": \"");
			if (want > start) {
				if (want - start > SIZE_MAX) return PT2C_ENOMEM;
				pt2c__b64_encode_buf(b, st->data + start, (size_t)(want - start));
			}
			pt2c__buf_putc(b, '"');
		}
		pt2c__buf_putc(b, '}');
	}
	pt2c__buf_putc(b, '}');
	return 0;
}

/* Graph plus the three attribute maps of a module object (top level or fallback). */
static int write_body(wctx *w, const pt2c_module *m)
{
	for (uint32_t k = 0; k < m->n_attrs; k++)
		if (m->attrs[k].kind > PT2C_ATTR_CONSTANT) return PT2C_EUNSUPPORTED; /* custom objects */
	int rc = write_graph(w->b, m->graph);
	pt2c__buf_put(w->b, ", ", 2);
	if (!rc) rc = write_attrs(w, m, "parameters", PT2C_ATTR_PARAMETER);
	pt2c__buf_put(w->b, ", ", 2);
	if (!rc) rc = write_attrs(w, m, "buffers", PT2C_ATTR_BUFFER);
	pt2c__buf_put(w->b, ", ", 2);
	if (!rc) rc = write_attrs(w, m, "constants", PT2C_ATTR_CONSTANT);
	return rc;
}

static int write_engine(wctx *w, const pt2c_submodule *s, uint32_t k)
{
	pt2c_buf *b = w->b;
	const pt2c_engine_record *e = s->engine;
	if (!e || e->n_fields > PT2C_EF_MAX || e->n_fields <= PT2C_EF_ENGINE) return PT2C_EINVALID;
	pt2c__buf_puts(b, "{\"kind\": \"engine\", \"engine_record\": [");
	for (uint32_t f = 0; f < e->n_fields; f++) {
		if (f) pt2c__buf_put(b, ", ", 2);
		if (f != PT2C_EF_ENGINE) {
			pt2c__json_write_str(b, e->fields[f].p ? e->fields[f].p : "", e->fields[f].p ? e->fields[f].n : 0);
		} else if (w->members && e->engine) {
			char name[240];
			engine_member(name, sizeof name, s, k);
			pt2c__buf_puts(b, "{\"member\": ");
			pt2c__json_write_cstr(b, name);
			pt2c__buf_putc(b, '}');
		} else if (e->engine && e->engine_b64) {
			/* already base64 text: the alphabet needs no escaping */
			pt2c__buf_putc(b, '"');
			pt2c__buf_put(b, e->engine->data, (size_t)e->engine->nbytes);
			pt2c__buf_putc(b, '"');
		} else {
			pt2c__buf_putc(b, '"');
			if (e->engine) pt2c__b64_encode_buf(b, e->engine->data, (size_t)e->engine->nbytes);
			pt2c__buf_putc(b, '"');
		}
	}
	pt2c__buf_put(b, "]}", 2);
	return 0;
}

/* The whole document (see serde.h); storages already numbered in w. */
static int write_doc(wctx *w, const pt2c_module *m)
{
	pt2c_buf *b = w->b;
	pt2c__buf_putc(b, '{');
	int rc = write_body(w, m);
	if (rc) return rc;
	pt2c__buf_puts(b, ", \"submodules\": {");
	for (uint32_t k = 0; k < m->n_subs && !rc; k++) {
		const pt2c_submodule *s = &m->subs[k];
		if (k) pt2c__buf_put(b, ", ", 2);
		put_key(b, s->name);
		if (s->kind == PT2C_SUB_ENGINE) {
			rc = write_engine(w, s, k);
		} else {
			if (!s->fallback) return PT2C_EINVALID;
			if (s->fallback->n_subs) return PT2C_EUNSUPPORTED; /* the form nests one level only */
			pt2c__buf_puts(b, "{\"kind\": \"graph\", ");
			rc = write_body(w, s->fallback);
			pt2c__buf_putc(b, '}');
		}
	}
	if (rc) return rc;
	pt2c__buf_puts(b, "}, \"in_spec\": ");
	if (m->in_spec) pt2c__json_write_cstr(b, m->in_spec);
	else pt2c__buf_puts(b, "null");
	pt2c__buf_puts(b, ", \"out_spec\": ");
	if (m->out_spec) pt2c__json_write_cstr(b, m->out_spec);
	else pt2c__buf_puts(b, "null");
	pt2c__buf_puts(b, ", \"symbols\": {");
	for (uint32_t k = 0; k < m->n_symbols; k++) {
		const pt2c_symrange *s = &m->symbols[k];
		if (k) pt2c__buf_put(b, ", ", 2);
		put_key(b, s->name);
		pt2c__buf_putc(b, '[');
		if (s->has_min) put_int(b, s->min);
		else pt2c__buf_puts(b, "null");
		pt2c__buf_put(b, ", ", 2);
		if (s->has_max) put_int(b, s->max);
		else pt2c__buf_puts(b, "null");
		pt2c__buf_putc(b, ']');
	}
	pt2c__buf_putc(b, '}');
	if (m->op_schemas.count) {
		pt2c__buf_puts(b, ", \"op_schemas\": {");
		bool first = true;
		for (size_t k = 0; k < m->op_schemas.cap; k++) {
			const pt2c_map_slot *sl = &m->op_schemas.slots[k];
			if (!sl->key) continue;
			if (!first) pt2c__buf_put(b, ", ", 2);
			first = false;
			pt2c__json_write_str(b, sl->key, sl->len);
			pt2c__buf_put(b, ": ", 2);
			pt2c__json_write_cstr(b, (const char *)(uintptr_t)sl->value);
		}
		pt2c__buf_putc(b, '}');
	}
	pt2c__buf_putc(b, '}');
	return b->err ? b->err : 0;
}

int pt2c__partitioned_json_write(pt2c_buf *b, const pt2c_module *m, bool members)
{
	PT2C_ASSERT_ARG(b && m && m->graph);
	wctx w;
	memset(&w, 0, sizeof w);
	w.alloc = m->ctx->alloc;
	w.b = b;
	w.members = members;
	int rc = members ? collect_storages(&w, m) : 0;
	if (!rc) rc = write_doc(&w, m);
	free_storages(&w);
	return rc;
}

/* MARK: archive */

/* One member whose bytes come straight from memory (in chunks that fit size_t). */
static int add_member(pt2c_zipw *z, const char *name, const uint8_t *p, uint64_t n)
{
	int rc = pt2c__zipw_begin(z, name, n);
	for (uint64_t off = 0; !rc && off < n; off += CHUNK) {
		uint64_t len = n - off < CHUNK ? n - off : CHUNK;
		rc = pt2c__zipw_data(z, p + off, (size_t)len);
	}
	if (!rc) rc = pt2c__zipw_end(z);
	return rc;
}

int pt2c__partitioned_archive_write(const pt2c_module *m, pt2c_sink sink, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph && sink.write);
	wctx w;
	memset(&w, 0, sizeof w);
	w.alloc = m->ctx->alloc; /* every allocation through the module's allocator */
	pt2c_buf json;
	pt2c__buf_init(&json, w.alloc);
	w.b = &json;
	w.members = true;
	pt2c_zipw z;
	pt2c__zipw_init(&z, sink, w.alloc);
	char name[300];
	int rc = collect_storages(&w, m);
	if (!rc) rc = write_doc(&w, m);
	if (rc) {
		if (rc == PT2C_ENOMEM) pt2c__err_oom(err);
		else
			pt2c__err(err, rc, "module cannot be written as a partitioned archive: %s",
			          rc == PT2C_EUNSUPPORTED ? "it uses something the partitioned JSON form cannot express"
			          : rc == PT2C_ECORRUPT  ? "a weight's view does not fit its storage"
			                                 : "inconsistent module");
		goto done;
	}
	const char *what = ROOT "format";
	rc = pt2c__zipw_add(&z, what, "pt2c-partitioned", 16);
	if (!rc) rc = pt2c__zipw_add(&z, what = ROOT "version", "1", 1);
	for (uint32_t k = 0; k < w.n_st && !rc; k++) {
		snprintf(name, sizeof name, ROOT "weights/%" PRIu32, k);
		what = name;
		rc = add_member(&z, name, w.sts[k]->data, w.sts[k]->nbytes);
	}
	for (uint32_t k = 0; k < m->n_subs && !rc; k++) {
		const pt2c_submodule *s = &m->subs[k];
		if (s->kind != PT2C_SUB_ENGINE || !s->engine || !s->engine->engine) continue;
		memcpy(name, ROOT, strlen(ROOT));
		engine_member(name + strlen(ROOT), sizeof name - strlen(ROOT), s, k);
		what = name;
		pt2c_storage *raw = NULL;
		pt2c_error tmp = PT2C_ERROR_INIT;
		rc = pt2c__engine_record_raw(s->engine, w.alloc, &raw, &tmp);
		if (rc) {
			pt2c__err(err, rc, "engine of submodule %s: %s", s->name, tmp.message);
			goto done;
		}
		rc = add_member(&z, name, raw->data, raw->nbytes);
		pt2c__storage_unref(raw);
	}
	if (!rc) rc = add_member(&z, what = ROOT "module.json", (const uint8_t *)json.data, json.len);
	if (!rc) rc = pt2c__zipw_finish(&z);
	if (rc) pt2c__err_at(err, rc, what, z.offset, "writing partitioned archive member %s failed: %s", what, pt2c_strerror(rc));
done:
	pt2c__zipw_free(&z);
	pt2c__buf_free(&json);
	free_storages(&w);
	return rc;
}
