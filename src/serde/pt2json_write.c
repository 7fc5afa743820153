/*
 * pt2json_write.c -- program IR -> models/model.json exactly as torch.export.save (2.11) writes
 * it: every field in declaration order (pt2-format.md §4.3), ", " / ": " separators, Python float
 * repr, ensure_ascii strings, non-finite floats as strings.
 *
 * Value metadata tables are emitted in definition order (placeholders, then node outputs in node
 * order), which is the order torch's serializer inserts them.
 */
#include "serde/serde.h"

#define ARG_MAX_DEPTH 64
#define GRAPH_MAX_DEPTH 32

/*
 * The JSON of recently written tensor metadata, by address: equal metadata is stored once
 * (pt2c_meta_pool), so the values of a graph point at a few shared records and most of the
 * tensor_values table repeats text already rendered.
 */
#define MEMO_SLOTS 16
typedef struct meta_memo {
	const pt2c_tensor_meta *m;
	pt2c_buf text;
} meta_memo;

typedef struct wr {
	pt2c_buf *b;
	int rc; /* first failure that is not an allocation failure (the buffer keeps those) */
	uint32_t depth;  /* nested arguments */
	uint32_t gdepth; /* nested graphs */
	meta_memo *memo; /* MEMO_SLOTS entries, or NULL (then metadata is rendered every time) */
} wr;

#define PUTS(w, s) pt2c__buf_put((w)->b, (s), sizeof(s) - 1)

/* Follow forwards without mutating the (const) graph; bounded against cycles. */
static uint32_t resolve(const pt2c_graph *g, uint32_t id)
{
	for (uint32_t hops = 0; id < g->n_values && g->values[id].forward != PT2C_NONE && hops < g->n_values; hops++)
		id = g->values[id].forward;
	return id;
}

static void put_name(wr *w, const pt2c_graph *g, uint32_t ref, bool is_def)
{
	uint32_t id = is_def ? ref : resolve(g, ref);
	if (id >= g->n_values) {
		if (!w->rc)
			w->rc = PT2C_EGRAPH;
		PUTS(w, "\"\"");
		return;
	}
	pt2c__json_write_cstr(w->b, g->values[id].name);
}

static void put_bool(wr *w, bool v)
{
	if (v)
		PUTS(w, "true");
	else
		PUTS(w, "false");
}

static void put_sym(wr *w, const pt2c_sym *s)
{
	switch (s->kind) {
	case PT2C_SYM_INT:
		PUTS(w, "{\"as_int\": ");
		pt2c__json_write_int(w->b, s->i);
		break;
	case PT2C_SYM_BOOL:
		PUTS(w, "{\"as_bool\": ");
		put_bool(w, s->i != 0);
		break;
	case PT2C_SYM_FLOAT:
		PUTS(w, "{\"as_float\": ");
		pt2c__json_write_double(w->b, s->f);
		break;
	default:
		PUTS(w, "{\"as_expr\": {\"expr_str\": ");
		pt2c__json_write_cstr(w->b, s->expr ? s->expr : "");
		PUTS(w, ", \"hint\": ");
		switch (s->hint_kind) {
		case PT2C_HINT_INT:
			PUTS(w, "{\"as_int\": ");
			pt2c__json_write_int(w->b, s->i);
			PUTS(w, "}");
			break;
		case PT2C_HINT_BOOL:
			PUTS(w, "{\"as_bool\": ");
			put_bool(w, s->i != 0);
			PUTS(w, "}");
			break;
		case PT2C_HINT_FLOAT:
			PUTS(w, "{\"as_float\": ");
			pt2c__json_write_double(w->b, s->f);
			PUTS(w, "}");
			break;
		default:
			PUTS(w, "null");
		}
		PUTS(w, "}");
	}
	PUTS(w, "}");
}

static void put_device(wr *w, const pt2c_device *d)
{
	PUTS(w, "{\"type\": ");
	pt2c__json_write_cstr(w->b, d->type ? d->type : "cpu");
	PUTS(w, ", \"index\": ");
	if (d->index < 0)
		PUTS(w, "null");
	else
		pt2c__json_write_int(w->b, d->index);
	PUTS(w, "}");
}

static void put_sym_list(wr *w, const pt2c_sym *s, uint32_t n)
{
	PUTS(w, "[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			PUTS(w, ", ");
		put_sym(w, &s[i]);
	}
	PUTS(w, "]");
}

void pt2c__json_write_meta(pt2c_buf *b, const pt2c_tensor_meta *m)
{
	wr w = { b, 0, 0, 0, NULL };
	PUTS(&w, "{\"dtype\": ");
	pt2c__json_write_int(b, m->dtype);
	PUTS(&w, ", \"sizes\": ");
	put_sym_list(&w, m->sizes, m->ndim);
	PUTS(&w, ", \"requires_grad\": ");
	put_bool(&w, m->requires_grad);
	PUTS(&w, ", \"device\": ");
	put_device(&w, &m->device);
	PUTS(&w, ", \"strides\": ");
	put_sym_list(&w, m->strides, m->ndim);
	PUTS(&w, ", \"storage_offset\": ");
	put_sym(&w, &m->storage_offset);
	PUTS(&w, ", \"layout\": ");
	pt2c__json_write_int(b, m->layout);
	PUTS(&w, "}");
}

/* MARK: arguments */

static void put_graph(wr *w, const pt2c_graph *g);

static void put_tensor_arg(wr *w, const pt2c_graph *g, const pt2c_arg *a, bool def)
{
	PUTS(w, "{\"name\": ");
	put_name(w, g, a->u.ref, def);
	PUTS(w, "}");
}

/* The SymInt/SymBool/SymFloat argument union {"as_name"} | {"as_<literal>"}. */
static void put_sym_arg(wr *w, const pt2c_graph *g, const pt2c_arg *a, bool def)
{
	if (!(a->flags & PT2C_ARGF_LITERAL)) {
		PUTS(w, "{\"as_name\": ");
		put_name(w, g, a->u.ref, def);
	} else if (a->kind == PT2C_ARG_SYM_INT) {
		PUTS(w, "{\"as_int\": ");
		pt2c__json_write_int(w->b, a->u.i);
	} else if (a->kind == PT2C_ARG_SYM_BOOL) {
		PUTS(w, "{\"as_bool\": ");
		put_bool(w, a->u.b);
	} else {
		PUTS(w, "{\"as_float\": ");
		pt2c__json_write_double(w->b, a->u.f);
	}
	PUTS(w, "}");
}

static void put_engine_b64(wr *w, const pt2c_engine_record *e)
{
	PUTS(w, "\"");
	if (e && e->engine) {
		if (e->engine_b64)
			pt2c__buf_put(w->b, e->engine->data, (size_t)e->engine->nbytes);
		else
			pt2c__b64_encode_buf(w->b, e->engine->data, (size_t)e->engine->nbytes);
		pt2c__storage_drop_pages(e->engine); /* written: its input pages are not needed in memory */
	}
	PUTS(w, "\"");
}

static void put_arg(wr *w, const pt2c_graph *g, const pt2c_arg *a, bool def);

/* One element of a list argument, in the JSON form of its list kind. */
static void put_item(wr *w, const pt2c_graph *g, int list_kind, const pt2c_arg *it, bool def)
{
	switch (list_kind) {
	case PT2C_ARG_TENSORS:
		put_tensor_arg(w, g, it, def);
		break;
	case PT2C_ARG_INTS:
		pt2c__json_write_int(w->b, it->u.i);
		break;
	case PT2C_ARG_FLOATS:
		pt2c__json_write_double(w->b, it->u.f);
		break;
	case PT2C_ARG_STRINGS:
		pt2c__json_write_str(w->b, it->u.s, it->n);
		break;
	case PT2C_ARG_BOOLS:
		put_bool(w, it->u.b);
		break;
	case PT2C_ARG_SYM_INTS:
	case PT2C_ARG_SYM_BOOLS:
	case PT2C_ARG_SYM_FLOATS:
		put_sym_arg(w, g, it, def);
		break;
	case PT2C_ARG_OPTIONAL_TENSORS:
	case PT2C_ARG_OPTIONAL_TENSOR:
		if (it->kind == PT2C_ARG_TENSOR) {
			PUTS(w, "{\"as_tensor\": ");
			put_tensor_arg(w, g, it, def);
			PUTS(w, "}");
		} else {
			PUTS(w, "{\"as_none\": true}");
		}
		break;
	case PT2C_ARG_NESTED_TENSORS:
	case PT2C_ARG_INT_LISTS: {
		int sub = list_kind == PT2C_ARG_NESTED_TENSORS ? PT2C_ARG_TENSORS : PT2C_ARG_INTS;
		PUTS(w, "[");
		for (uint32_t j = 0; j < it->n; j++) {
			if (j)
				PUTS(w, ", ");
			put_item(w, g, sub, &it->u.items[j], def);
		}
		PUTS(w, "]");
		break;
	}
	default:
		if (!w->rc)
			w->rc = PT2C_EUNSUPPORTED;
	}
}

static void put_arg_value(wr *w, const pt2c_graph *g, const pt2c_arg *a, bool def)
{
	switch (a->kind) {
	case PT2C_ARG_NONE:
		PUTS(w, "true");
		return;
	case PT2C_ARG_TENSOR:
		put_tensor_arg(w, g, a, def);
		return;
	case PT2C_ARG_INT:
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_MEMORY_FORMAT:
	case PT2C_ARG_LAYOUT:
		pt2c__json_write_int(w->b, a->u.i);
		return;
	case PT2C_ARG_FLOAT:
		pt2c__json_write_double(w->b, a->u.f);
		return;
	case PT2C_ARG_STRING:
	case PT2C_ARG_OPERATOR:
		pt2c__json_write_str(w->b, a->u.s, a->n);
		return;
	case PT2C_ARG_ENGINE_B64:
		put_engine_b64(w, a->u.engine);
		return;
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		put_sym_arg(w, g, a, def);
		return;
	case PT2C_ARG_DEVICE:
		put_device(w, &a->u.dev);
		return;
	case PT2C_ARG_BOOL:
		put_bool(w, a->u.b);
		return;
	case PT2C_ARG_CUSTOM_OBJ:
		PUTS(w, "{\"name\": ");
		put_name(w, g, a->u.obj.ref, def);
		PUTS(w, ", \"class_fqn\": ");
		pt2c__json_write_cstr(w->b, a->u.obj.class_fqn ? a->u.obj.class_fqn : "");
		PUTS(w, "}");
		return;
	case PT2C_ARG_COMPLEX:
		PUTS(w, "{\"real\": ");
		pt2c__json_write_double(w->b, a->u.c.re);
		PUTS(w, ", \"imag\": ");
		pt2c__json_write_double(w->b, a->u.c.im);
		PUTS(w, "}");
		return;
	case PT2C_ARG_GRAPH:
		PUTS(w, "{\"name\": ");
		pt2c__json_write_cstr(w->b, a->u.g.name ? a->u.g.name : "");
		PUTS(w, ", \"graph\": ");
		if (w->gdepth >= GRAPH_MAX_DEPTH || !a->u.g.graph) {
			if (!w->rc)
				w->rc = PT2C_EUNSUPPORTED;
			PUTS(w, "null}");
			return;
		}
		w->gdepth++;
		put_graph(w, a->u.g.graph);
		w->gdepth--;
		PUTS(w, "}");
		return;
	case PT2C_ARG_OPTIONAL_TENSOR:
		if (a->n >= 1)
			put_item(w, g, PT2C_ARG_OPTIONAL_TENSOR, &a->u.items[0], def);
		else
			PUTS(w, "{\"as_none\": true}");
		return;
	case PT2C_ARG_STRING_TO_ARGUMENT:
		PUTS(w, "{");
		for (uint32_t i = 0; i < a->n; i++) {
			if (i)
				PUTS(w, ", ");
			pt2c__json_write_str(w->b, a->u.map->keys[i], a->u.map->key_lens[i]);
			PUTS(w, ": ");
			put_arg(w, g, &a->u.map->items[i], def);
		}
		PUTS(w, "}");
		return;
	case PT2C_ARG_TENSORS:
	case PT2C_ARG_INTS:
	case PT2C_ARG_FLOATS:
	case PT2C_ARG_STRINGS:
	case PT2C_ARG_SYM_INTS:
	case PT2C_ARG_BOOLS:
	case PT2C_ARG_SYM_BOOLS:
	case PT2C_ARG_OPTIONAL_TENSORS:
	case PT2C_ARG_SYM_FLOATS:
	case PT2C_ARG_NESTED_TENSORS:
	case PT2C_ARG_INT_LISTS:
		PUTS(w, "[");
		for (uint32_t i = 0; i < a->n; i++) {
			if (i)
				PUTS(w, ", ");
			put_item(w, g, a->kind, &a->u.items[i], def);
		}
		PUTS(w, "]");
		return;
	default: /* fx-only forms have no PT2 spelling */
		if (!w->rc)
			w->rc = PT2C_EUNSUPPORTED;
		PUTS(w, "null");
	}
}

/* An Argument union {"as_<tag>": value}; `def` = the names are definitions (no forwarding). */
static void put_arg(wr *w, const pt2c_graph *g, const pt2c_arg *a, bool def)
{
	const char *tag = pt2c__arg_tag(a->kind);
	if (!tag || w->depth + 1 > ARG_MAX_DEPTH) {
		if (!w->rc)
			w->rc = PT2C_EUNSUPPORTED;
		PUTS(w, "null");
		return;
	}
	w->depth++;
	PUTS(w, "{");
	pt2c__json_write_cstr(w->b, tag);
	PUTS(w, ": ");
	put_arg_value(w, g, a, def);
	PUTS(w, "}");
	w->depth--;
}

/* MARK: graphs */

typedef void (*leaf_cb)(wr *w, const pt2c_graph *g, uint32_t value, int table, bool *first);

/* Value ids defined by an output argument tree, in order. */
static void walk_defs(wr *w, const pt2c_graph *g, const pt2c_arg *a, int table, bool *first, uint32_t depth, leaf_cb cb)
{
	if (depth > ARG_MAX_DEPTH)
		return;
	switch (a->kind) {
	case PT2C_ARG_TENSOR:
		cb(w, g, a->u.ref, table, first);
		return;
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		if (!(a->flags & PT2C_ARGF_LITERAL))
			cb(w, g, a->u.ref, table, first);
		return;
	case PT2C_ARG_CUSTOM_OBJ:
		cb(w, g, a->u.obj.ref, table, first);
		return;
	case PT2C_ARG_STRING_TO_ARGUMENT:
		for (uint32_t i = 0; i < a->n; i++)
			walk_defs(w, g, &a->u.map->items[i], table, first, depth + 1, cb);
		return;
	default:
		if (pt2c__arg_is_list(a->kind))
			for (uint32_t i = 0; i < a->n; i++)
				walk_defs(w, g, &a->u.items[i], table, first, depth + 1, cb);
	}
}

/* pt2c__json_write_meta, from the memo when the same record was written recently. */
static void put_meta_memo(wr *w, const pt2c_tensor_meta *m)
{
	meta_memo *e = w->memo ? &w->memo[((uintptr_t)m >> 3) % MEMO_SLOTS] : NULL;
	if (e && e->m != m) {
		e->m = NULL;
		e->text.len = 0;
		e->text.err = 0;
		pt2c__json_write_meta(&e->text, m);
		if (!e->text.err)
			e->m = m;
	}
	if (e && e->m == m)
		pt2c__buf_put(w->b, e->text.data, e->text.len);
	else
		pt2c__json_write_meta(w->b, m); /* no memo (allocation failed): render in place */
}

static void put_value_meta(wr *w, const pt2c_graph *g, uint32_t id, int table, bool *first)
{
	if (id >= g->n_values)
		return;
	const pt2c_value *v = &g->values[id];
	if (v->kind != table || !v->has_meta)
		return;
	if (!*first)
		PUTS(w, ", ");
	*first = false;
	pt2c__json_write_cstr(w->b, v->name);
	PUTS(w, ": ");
	switch (table) {
	case PT2C_VAL_TENSOR:
		put_meta_memo(w, v->u.tensor);
		break;
	case PT2C_VAL_CUSTOM_OBJ:
		PUTS(w, "{\"name\": ");
		pt2c__json_write_cstr(w->b, v->u.obj.name ? v->u.obj.name : v->name);
		PUTS(w, ", \"class_fqn\": ");
		pt2c__json_write_cstr(w->b, v->u.obj.class_fqn ? v->u.obj.class_fqn : "");
		PUTS(w, "}");
		break;
	default:
		put_sym(w, &v->u.sym);
	}
}

/* The nodes whose outputs the value tables list, in node order. */
static bool in_tables(const pt2c_node *n) { return n->op == PT2C_OP_PLACEHOLDER || n->op == PT2C_OP_CALL_FUNCTION; }

/* The table entries of the values node n defines (", " before each but the very first). */
static void put_defs(wr *w, const pt2c_graph *g, const pt2c_node *n, int table, bool *first)
{
	for (uint32_t i = 0; i < n->n_outputs; i++)
		walk_defs(w, g, &n->outputs[i], table, first, 0, put_value_meta);
}

static bool put_chunked(wr *w, const pt2c_graph *g, int table);

static void put_table(wr *w, const pt2c_graph *g, int table)
{
	bool first = true;
	PUTS(w, "{");
	if (!put_chunked(w, g, table)) PT2C_GRAPH_FOREACH(g, id) {
		if (in_tables(&g->nodes[id]))
			put_defs(w, g, &g->nodes[id], table, &first);
	}
	PUTS(w, "}");
}

static void put_kvs(wr *w, const pt2c_kv *kv, uint32_t n)
{
	PUTS(w, "{");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			PUTS(w, ", ");
		pt2c__json_write_cstr(w->b, kv[i].key);
		PUTS(w, ": ");
		pt2c__json_write_str(w->b, kv[i].val, kv[i].val_len);
	}
	PUTS(w, "}");
}

static void put_node(wr *w, const pt2c_graph *g, const pt2c_node *n)
{
	PUTS(w, "{\"target\": ");
	pt2c__json_write_cstr(w->b, n->target ? n->target : "");
	PUTS(w, ", \"inputs\": [");
	for (uint32_t i = 0; i < n->n_inputs; i++) {
		const pt2c_named_arg *na = &n->inputs[i];
		if (i)
			PUTS(w, ", ");
		PUTS(w, "{\"name\": ");
		pt2c__json_write_cstr(w->b, na->name ? na->name : "");
		PUTS(w, ", \"arg\": ");
		put_arg(w, g, &na->arg, false);
		PUTS(w, ", \"kind\": ");
		if (na->kind == PT2C_ARGKIND_UNSET)
			PUTS(w, "null");
		else
			pt2c__json_write_int(w->b, na->kind);
		PUTS(w, "}");
	}
	PUTS(w, "], \"outputs\": [");
	for (uint32_t i = 0; i < n->n_outputs; i++) {
		if (i)
			PUTS(w, ", ");
		put_arg(w, g, &n->outputs[i], true);
	}
	PUTS(w, "], \"metadata\": ");
	put_kvs(w, n->meta, n->n_meta);
	PUTS(w, ", \"is_hop_single_tensor_return\": ");
	if (n->hop_single_tensor_return < 0)
		PUTS(w, "null");
	else
		put_bool(w, n->hop_single_tensor_return != 0);
	PUTS(w, ", \"name\": ");
	if (n->flags & PT2C_NODE_NO_NAME)
		PUTS(w, "null");
	else
		pt2c__json_write_cstr(w->b, n->name);
	PUTS(w, "}");
}

/* The nodes of the node list, in node order: all but placeholders and the output. */
static bool in_node_list(const pt2c_node *n) { return n->op != PT2C_OP_PLACEHOLDER && n->op != PT2C_OP_OUTPUT; }

/* Node n as an item of the node list (`first`: no ", " before it). */
static void put_list_node(wr *w, const pt2c_graph *g, const pt2c_node *n, bool first)
{
	if (n->op != PT2C_OP_CALL_FUNCTION && !w->rc)
		w->rc = PT2C_EUNSUPPORTED; /* get_attr/call_module have no PT2 form */
	if (!first)
		PUTS(w, ", ");
	put_node(w, g, n);
}

/*
 * A large graph's node list and tensor_values table rendered in chunks of nodes by helper
 * threads (pt2c__ordered_run), appended in order: the same bytes, as a node's text depends on
 * the graph alone. Each chunk has its own writer state; the first error in order wins, as in
 * one pass.
 */
/* nodes a chunk: pt2c__thread_tuning.chunk_items (1024) */
#define CHUNK_NODES ((size_t)(pt2c__thread_tuning.chunk_items ? pt2c__thread_tuning.chunk_items : 1024))

typedef struct chunked {
	wr *w;                 /* the caller's writer: consume appends to w->b */
	const pt2c_graph *g;
	const uint32_t *ids;   /* the nodes in order */
	uint32_t n_ids;
	int table;             /* PT2C_VAL_* for a table, -1 for the node list */
	bool any;              /* a table entry was appended */
	int *rcs;              /* each chunk's writer code (wr.rc), handed from producer to consumer */
} chunked;

static int chunk_produce(void *ctx, size_t c, pt2c_buf *out)
{
	chunked *k = ctx;
	meta_memo memo[MEMO_SLOTS];
	for (uint32_t i = 0; i < MEMO_SLOTS; i++) {
		memo[i].m = NULL;
		pt2c__buf_init(&memo[i].text, out->alloc);
	}
	wr cw = { out, 0, 0, k->w->gdepth, k->table >= 0 ? memo : NULL };
	bool first = true;
	size_t end = (c + 1) * CHUNK_NODES < k->n_ids ? (c + 1) * CHUNK_NODES : k->n_ids;
	for (size_t i = c * CHUNK_NODES; i < end; i++) {
		const pt2c_node *n = &k->g->nodes[k->ids[i]];
		if (k->table < 0)
			put_list_node(&cw, k->g, n, i == 0);
		else
			put_defs(&cw, k->g, n, k->table, &first);
	}
	for (uint32_t i = 0; i < MEMO_SLOTS; i++)
		pt2c__buf_free(&memo[i].text);
	k->rcs[c] = cw.rc; /* read by chunk_consume after the hand-over */
	return out->err;
}

static int chunk_consume(void *ctx, size_t c, const char *data, size_t len)
{
	chunked *k = ctx;
	if (!k->w->rc)
		k->w->rc = k->rcs[c]; /* the first in node order, as in one pass */
	if (k->table >= 0 && len) {
		if (k->any)
			PUTS(k->w, ", ");
		k->any = true;
	}
	pt2c__buf_put_through(k->w->b, data, len); /* a chunk's text goes to the archive without a copy */
	return k->w->b->err;
}

/* The ids of g's nodes in order: those of the node list (table < 0) or those a table walks; NULL on OOM. */
static uint32_t *chunk_ids(const pt2c_graph *g, const pt2c_allocator *alloc, int table, uint32_t *n)
{
	*n = 0;
	uint32_t *ids = pt2c__calloc(alloc, g->n_live ? g->n_live : 1, sizeof *ids);
	if (!ids)
		return NULL;
	PT2C_GRAPH_FOREACH(g, id) {
		bool keep = table < 0 ? in_node_list(&g->nodes[id]) : in_tables(&g->nodes[id]);
		if (keep && *n < g->n_live)
			ids[(*n)++] = id;
	}
	return ids;
}

/* put_graph's node list (table < 0) or one of its tables in chunks; false: do it in one pass. */
static bool put_chunked(wr *w, const pt2c_graph *g, int table)
{
	unsigned helpers = pt2c__helper_threads(w->b->alloc, g->n_live, 8);
	if (!helpers || w->gdepth)
		return false;
	uint32_t n = 0;
	uint32_t *ids = chunk_ids(g, w->b->alloc, table, &n);
	size_t n_chunks = (n + CHUNK_NODES - 1) / CHUNK_NODES;
	int *rcs = ids ? pt2c__calloc(w->b->alloc, n_chunks ? n_chunks : 1, sizeof *rcs) : NULL;
	if (!rcs) { /* then in one pass */
		pt2c__free(w->b->alloc, ids);
		return false;
	}
	chunked k = { w, g, ids, n, table, false, rcs };
	pt2c_ordered_job job = { n_chunks, chunk_produce, chunk_consume, &k, w->b->alloc, helpers };
	int rc = pt2c__ordered_run(&job);
	if (rc && !w->b->err)
		w->b->err = rc; /* a chunk's allocation failure: as if this buffer's own */
	pt2c__free(w->b->alloc, rcs);
	pt2c__free(w->b->alloc, ids);
	return true;
}

static void put_graph(wr *w, const pt2c_graph *g)
{
	PUTS(w, "{\"inputs\": [");
	bool first = true;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *n = &g->nodes[id];
		if (n->op != PT2C_OP_PLACEHOLDER)
			continue;
		if (!first)
			PUTS(w, ", ");
		first = false;
		if (n->n_outputs >= 1)
			put_arg(w, g, &n->outputs[0], true);
		else
			PUTS(w, "{\"as_none\": true}");
	}
	PUTS(w, "], \"outputs\": [");
	uint32_t out = pt2c__graph_output_node(g);
	if (out != PT2C_NONE) {
		const pt2c_node *n = &g->nodes[out];
		for (uint32_t i = 0; i < n->n_inputs; i++) {
			if (i)
				PUTS(w, ", ");
			put_arg(w, g, &n->inputs[i].arg, false);
		}
	}
	PUTS(w, "], \"nodes\": [");
	first = true;
	if (!put_chunked(w, g, -1)) PT2C_GRAPH_FOREACH(g, id) {
		if (!in_node_list(&g->nodes[id]))
			continue;
		put_list_node(w, g, &g->nodes[id], first);
		first = false;
	}
	PUTS(w, "], \"tensor_values\": ");
	put_table(w, g, PT2C_VAL_TENSOR);
	PUTS(w, ", \"sym_int_values\": ");
	put_table(w, g, PT2C_VAL_SYM_INT);
	PUTS(w, ", \"sym_bool_values\": ");
	put_table(w, g, PT2C_VAL_SYM_BOOL);
	PUTS(w, ", \"is_single_tensor_return\": ");
	put_bool(w, g->is_single_tensor_return);
	PUTS(w, ", \"custom_obj_values\": ");
	put_table(w, g, PT2C_VAL_CUSTOM_OBJ);
	PUTS(w, ", \"sym_float_values\": ");
	put_table(w, g, PT2C_VAL_SYM_FLOAT);
	PUTS(w, "}");
}

/* MARK: signature and program */

static void put_input_spec(wr *w, const pt2c_graph *g, const pt2c_input_spec *s)
{
	static const char *const TAG[] = { "user_input", "parameter", "buffer", "tensor_constant", "custom_obj", "token",
	                                   "constant_input" };
	static const char *const TKEY[] = { NULL, "parameter_name", "buffer_name", "tensor_constant_name", "custom_obj_name",
	                                    NULL, NULL };
	if (s->kind >= PT2C_ARRAY_LEN(TAG)) {
		if (!w->rc)
			w->rc = PT2C_EINVALID;
		return;
	}
	PUTS(w, "{");
	pt2c__json_write_cstr(w->b, TAG[s->kind]);
	if (s->kind == PT2C_IN_CONSTANT_INPUT) {
		PUTS(w, ": {\"name\": ");
		pt2c__json_write_cstr(w->b, s->target ? s->target : "");
		PUTS(w, ", \"value\": ");
		put_arg(w, g, &s->arg, false);
		PUTS(w, "}}");
		return;
	}
	PUTS(w, ": {\"arg\": ");
	if (s->kind == PT2C_IN_USER_INPUT)
		put_arg(w, g, &s->arg, false);
	else if (s->kind == PT2C_IN_CUSTOM_OBJ)
		put_arg_value(w, g, &s->arg, false);
	else
		put_tensor_arg(w, g, &s->arg, false);
	if (TKEY[s->kind]) {
		PUTS(w, ", \"");
		pt2c__buf_puts(w->b, TKEY[s->kind]);
		PUTS(w, "\": ");
		pt2c__json_write_cstr(w->b, s->target ? s->target : "");
	}
	if (s->kind == PT2C_IN_BUFFER) {
		PUTS(w, ", \"persistent\": ");
		put_bool(w, s->persistent);
	}
	PUTS(w, "}}");
}

static void put_output_spec(wr *w, const pt2c_graph *g, const pt2c_output_spec *s)
{
	static const char *const TAG[] = { "user_output", "loss_output", "buffer_mutation", "gradient_to_parameter",
	                                   "gradient_to_user_input", "user_input_mutation", "token", "parameter_mutation" };
	static const char *const TKEY[] = { NULL, NULL, "buffer_name", "parameter_name", "user_input_name",
	                                    "user_input_name", NULL, "parameter_name" };
	if (s->kind >= PT2C_ARRAY_LEN(TAG)) {
		if (!w->rc)
			w->rc = PT2C_EINVALID;
		return;
	}
	PUTS(w, "{");
	pt2c__json_write_cstr(w->b, TAG[s->kind]);
	PUTS(w, ": {\"arg\": ");
	if (s->kind == PT2C_OUT_USER_OUTPUT)
		put_arg(w, g, &s->arg, false);
	else
		put_tensor_arg(w, g, &s->arg, false);
	if (TKEY[s->kind]) {
		PUTS(w, ", \"");
		pt2c__buf_puts(w->b, TKEY[s->kind]);
		PUTS(w, "\": ");
		pt2c__json_write_cstr(w->b, s->target ? s->target : "");
	}
	PUTS(w, "}}");
}

static void put_str_list(wr *w, const char *const *s, uint32_t n)
{
	PUTS(w, "[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			PUTS(w, ", ");
		pt2c__json_write_cstr(w->b, s[i] ? s[i] : "");
	}
	PUTS(w, "]");
}

static void put_args(wr *w, const pt2c_graph *g, const pt2c_arg *a, uint32_t n)
{
	PUTS(w, "[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			PUTS(w, ", ");
		put_arg(w, g, &a[i], false);
	}
	PUTS(w, "]");
}

int pt2c__pt2json_write(pt2c_buf *b, const pt2c_program *p)
{
	PT2C_ASSERT_ARG(b && p && p->mod && p->mod->graph);
	const pt2c_graph *g = p->mod->graph;
	wr w = { b, 0, 0, 0, NULL };
	w.memo = pt2c__calloc(b->alloc, MEMO_SLOTS, sizeof *w.memo);
	for (uint32_t i = 0; w.memo && i < MEMO_SLOTS; i++)
		pt2c__buf_init(&w.memo[i].text, b->alloc);
	PUTS(&w, "{\"graph_module\": {\"graph\": ");
	put_graph(&w, g);
	for (uint32_t i = 0; w.memo && i < MEMO_SLOTS; i++)
		pt2c__buf_free(&w.memo[i].text);
	pt2c__free(b->alloc, w.memo);
	w.memo = NULL;
	PUTS(&w, ", \"signature\": {\"input_specs\": [");
	for (uint32_t i = 0; i < p->n_inputs; i++) {
		if (i)
			PUTS(&w, ", ");
		put_input_spec(&w, g, &p->inputs[i]);
	}
	PUTS(&w, "], \"output_specs\": [");
	for (uint32_t i = 0; i < p->n_outputs; i++) {
		if (i)
			PUTS(&w, ", ");
		put_output_spec(&w, g, &p->outputs[i]);
	}
	PUTS(&w, "]}, \"module_call_graph\": [");
	for (uint32_t i = 0; i < p->n_calls; i++) {
		const pt2c_module_call *c = &p->calls[i];
		if (i)
			PUTS(&w, ", ");
		PUTS(&w, "{\"fqn\": ");
		pt2c__json_write_cstr(b, c->fqn ? c->fqn : "");
		PUTS(&w, ", \"signature\": ");
		if (!c->has_signature) {
			PUTS(&w, "null}");
			continue;
		}
		PUTS(&w, "{\"inputs\": ");
		put_args(&w, g, c->inputs, c->n_inputs);
		PUTS(&w, ", \"outputs\": ");
		put_args(&w, g, c->outputs, c->n_outputs);
		PUTS(&w, ", \"in_spec\": ");
		pt2c__json_write_cstr(b, c->in_spec ? c->in_spec : "");
		PUTS(&w, ", \"out_spec\": ");
		pt2c__json_write_cstr(b, c->out_spec ? c->out_spec : "");
		PUTS(&w, ", \"forward_arg_names\": ");
		if (c->has_forward_arg_names)
			put_str_list(&w, c->forward_arg_names, c->n_forward_arg_names);
		else
			PUTS(&w, "null");
		PUTS(&w, "}}");
	}
	PUTS(&w, "], \"metadata\": ");
	put_kvs(&w, p->gm_meta, p->n_gm_meta);
	PUTS(&w, ", \"treespec_namedtuple_fields\": {");
	for (uint32_t i = 0; i < p->n_namedtuples; i++) {
		if (i)
			PUTS(&w, ", ");
		pt2c__json_write_cstr(b, p->namedtuples[i].type ? p->namedtuples[i].type : "");
		PUTS(&w, ": {\"field_names\": ");
		put_str_list(&w, p->namedtuples[i].fields, p->namedtuples[i].n);
		PUTS(&w, "}");
	}
	PUTS(&w, "}}, \"opset_version\": {");
	for (uint32_t i = 0; i < p->n_opsets; i++) {
		if (i)
			PUTS(&w, ", ");
		pt2c__json_write_cstr(b, p->opsets[i].name ? p->opsets[i].name : "");
		PUTS(&w, ": ");
		pt2c__json_write_int(b, p->opsets[i].version);
	}
	PUTS(&w, "}, \"range_constraints\": {");
	for (uint32_t i = 0; i < p->n_ranges; i++) {
		const pt2c_symrange *r = &p->ranges[i];
		if (i)
			PUTS(&w, ", ");
		pt2c__json_write_cstr(b, r->name ? r->name : "");
		PUTS(&w, ": {\"min_val\": ");
		if (r->has_min)
			pt2c__json_write_int(b, r->min);
		else
			PUTS(&w, "null");
		PUTS(&w, ", \"max_val\": ");
		if (r->has_max)
			pt2c__json_write_int(b, r->max);
		else
			PUTS(&w, "null");
		PUTS(&w, "}");
	}
	PUTS(&w, "}, \"schema_version\": {\"major\": ");
	pt2c__json_write_int(b, p->schema_major);
	PUTS(&w, ", \"minor\": ");
	pt2c__json_write_int(b, p->schema_minor);
	PUTS(&w, "}, \"verifiers\": ");
	put_str_list(&w, p->verifiers, p->n_verifiers);
	PUTS(&w, ", \"torch_version\": ");
	pt2c__json_write_cstr(b, p->torch_version ? p->torch_version : "<=2.4");
	PUTS(&w, ", \"guards_code\": ");
	put_str_list(&w, p->guards_code, p->n_guards);
	PUTS(&w, "}");
	if (b->err)
		return b->err;
	return w.rc;
}
