/*
 * print_program.c -- str(ExportedProgram): the forward() body as torch's Python codegen writes
 * it, "Graph signature:" and "Range constraints:".
 */
#include <stdio.h>

#include "ir/print.h"
#include "util/json.h"

/* MARK: ExportedProgram listing */

/*
 * The Python code torch generates for the graph is emulated on "entities": every value is one
 * (a single-output node, a placeholder, or a getitem that fx would insert after a multi-output
 * node), every multi-output node is one (V + node id), and the output node is the last (V + N).
 * Last uses over entities give the ";  a = b = None" annotations.
 */
typedef struct prog_printer {
	pt2c_graph *g;
	const pt2c_allocator *a;
	uint32_t V, N, E;
	/* sequence of entities in code order, each with its inputs (deduplicated entity ids) */
	uint32_t *seq, n_seq, cap_seq;
	uint32_t *in_off, cap_in_off; /* per sequence index, into ins; in_off[k+1] ends it */
	uint32_t *ins, n_ins, cap_ins;
	uint32_t *seq_node, cap_seq_node; /* node id of each sequence entry */
	uint32_t *stamp;             /* per entity: last sequence index that listed it as input */
	uint32_t *users;             /* per entity: distinct users */
	uint32_t *del_head, *del_next; /* per sequence index / entity: names freed after it */
	const pt2c_arg **graphs;     /* HOP subgraph arguments: entity V + N + 1 + i, a get_attr in fx */
	uint32_t n_graphs;
	uint32_t node_graphs;        /* first graphs[] entry of the node being built */
	int err;
} prog_printer;

/* Grow a uint32_t array; sets pp->err on failure. */
static bool pp_grow(prog_printer *pp, uint32_t **arr, uint32_t *cap, uint32_t need)
{
	size_t c = *cap;
	void *p = *arr;
	if (pt2c__grow(pp->a, &p, &c, need, sizeof(uint32_t))) {
		pp->err = PT2C_ENOMEM;
		return false;
	}
	*arr = p;
	*cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
	return true;
}

/* Start a sequence entry for entity e produced by node `node`. */
static void pp_begin(prog_printer *pp, uint32_t e, uint32_t node)
{
	if (!pp_grow(pp, &pp->seq, &pp->cap_seq, pp->n_seq + 2) ||
	    !pp_grow(pp, &pp->in_off, &pp->cap_in_off, pp->n_seq + 2) ||
	    !pp_grow(pp, &pp->seq_node, &pp->cap_seq_node, pp->n_seq + 2))
		return;
	pp->seq[pp->n_seq] = e;
	pp->seq_node[pp->n_seq] = node;
	pp->in_off[pp->n_seq] = pp->n_ins;
	pp->n_seq++;
	pp->in_off[pp->n_seq] = pp->n_ins;
}

/* Add entity e as an input of the current sequence entry (deduplicated). */
static void pp_input(prog_printer *pp, uint32_t e)
{
	uint32_t k = pp->n_seq - 1;
	if (e >= pp->E || pp->stamp[e] == k)
		return;
	pp->stamp[e] = k;
	if (!pp_grow(pp, &pp->ins, &pp->cap_ins, pp->n_ins + 1))
		return;
	pp->ins[pp->n_ins++] = e;
	pp->in_off[pp->n_seq] = pp->n_ins;
	pp->users[e]++;
}

/* Inputs of a node become inputs of its entity. */
static int cb_pp_input(uint32_t *ref, void *payload)
{
	prog_printer *pp = payload;
	pp_input(pp, pt2c__value_resolve(pp->g, *ref));
	return 0;
}

/* A node is printed as one assignment when it defines exactly one leaf at the top level. */
static bool single_output(const pt2c_node *nd)
{
	/* a HOP that returns a tuple (is_hop_single_tensor_return false) is read back through getitem */
	if (nd->n_outputs != 1 || nd->hop_single_tensor_return == 0)
		return false;
	switch (nd->outputs[0].kind) {
	case PT2C_ARG_TENSOR:
	case PT2C_ARG_FX_NODE:
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
	case PT2C_ARG_CUSTOM_OBJ:
		return !(nd->outputs[0].flags & PT2C_ARGF_LITERAL);
	default:
		return false;
	}
}

/* The value a leaf argument references, or PT2C_NONE. */
static uint32_t leaf_ref(const pt2c_arg *a)
{
	switch (a->kind) {
	case PT2C_ARG_TENSOR:
	case PT2C_ARG_FX_NODE:
		return a->u.ref;
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		return (a->flags & PT2C_ARGF_LITERAL) ? PT2C_NONE : a->u.ref;
	case PT2C_ARG_CUSTOM_OBJ:
		return a->u.obj.ref;
	default:
		return PT2C_NONE;
	}
}

/* Register every input reference of a node on the current entry. */
static void pp_node_inputs(prog_printer *pp, pt2c_node *nd)
{
	uint32_t gi = pp->node_graphs; /* the get_attr entities pp_graph_attrs made for this node */
	for (uint32_t i = 0; i < nd->n_inputs; i++) {
		const pt2c_arg *a = &nd->inputs[i].arg;
		if (a->kind == PT2C_ARG_GRAPH) {
			if (a->u.g.graph && gi < pp->n_graphs && pp->graphs[gi] == a)
				pp_input(pp, pp->V + pp->N + 1 + gi++);
		} else {
			(void)pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_pp_input, pp);
		}
	}
}

/* fx loads each HOP subgraph with a get_attr placed just before the node that uses it. */
static void pp_graph_attrs(prog_printer *pp, pt2c_node *nd, uint32_t id)
{
	pp->node_graphs = pp->n_graphs;
	for (uint32_t i = 0; i < nd->n_inputs; i++) {
		const pt2c_arg *a = &nd->inputs[i].arg;
		if (a->kind != PT2C_ARG_GRAPH || !a->u.g.graph)
			continue;
		pp->graphs[pp->n_graphs] = a;
		pp_begin(pp, pp->V + pp->N + 1 + pp->n_graphs, id);
		pp->n_graphs++;
	}
}

/* Build the entity sequence, use counts and last-use lists. */
static int pp_build(prog_printer *pp)
{
	pt2c_graph *g = pp->g;
	pp->V = g->n_values;
	pp->N = g->n_nodes;
	uint32_t n_graphs = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		for (uint32_t i = 0; i < nd->n_inputs && nd->op != PT2C_OP_OUTPUT; i++)
			if (nd->inputs[i].arg.kind == PT2C_ARG_GRAPH && nd->inputs[i].arg.u.g.graph)
				n_graphs++;
	}
	if (n_graphs && !(pp->graphs = pt2c__calloc(pp->a, n_graphs, sizeof *pp->graphs)))
		return PT2C_ENOMEM;
	pp->E = pp->V + pp->N + 1 + n_graphs;
	pp->stamp = pt2c__malloc(pp->a, (size_t)pp->E * sizeof(uint32_t));
	pp->users = pt2c__calloc(pp->a, pp->E, sizeof(uint32_t));
	pp->del_next = pt2c__malloc(pp->a, (size_t)pp->E * sizeof(uint32_t));
	if (!pp->stamp || !pp->users || !pp->del_next)
		return PT2C_ENOMEM;
	for (uint32_t e = 0; e < pp->E; e++)
		pp->stamp[e] = pp->del_next[e] = PT2C_NONE;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		pp->node_graphs = pp->n_graphs;
		if (nd->op == PT2C_OP_OUTPUT) {
			pp_begin(pp, pp->V + pp->N, id);
			pp_node_inputs(pp, nd);
		} else if (nd->op == PT2C_OP_PLACEHOLDER || single_output(nd)) {
			uint32_t v = nd->n_outputs ? leaf_ref(&nd->outputs[0]) : PT2C_NONE;
			if (nd->op != PT2C_OP_PLACEHOLDER)
				pp_graph_attrs(pp, nd, id);
			pp_begin(pp, v < pp->V ? v : pp->V + id, id);
			pp_node_inputs(pp, nd);
		} else {
			pp_graph_attrs(pp, nd, id);
			pp_begin(pp, pp->V + id, id);
			pp_node_inputs(pp, nd);
			for (uint32_t i = 0; i < nd->n_outputs; i++) {
				const pt2c_arg *o = &nd->outputs[i];
				uint32_t n = pt2c__arg_is_list(o->kind) ? o->n : 1;
				for (uint32_t j = 0; j < n; j++) {
					uint32_t v = leaf_ref(pt2c__arg_is_list(o->kind) ? &o->u.items[j] : o);
					if (v >= pp->V)
						continue;
					pp_begin(pp, v, id);
					pp_input(pp, pp->V + id);
				}
			}
		}
		if (pp->err)
			return pp->err;
	}
	pp->del_head = pt2c__malloc(pp->a, ((size_t)pp->n_seq + 1) * sizeof(uint32_t));
	uint32_t *del_tail = pt2c__malloc(pp->a, ((size_t)pp->n_seq + 1) * sizeof(uint32_t));
	if (!pp->del_head || !del_tail) {
		pt2c__free(pp->a, del_tail);
		return PT2C_ENOMEM;
	}
	/* stamp now marks "last use already found" */
	for (uint32_t e = 0; e < pp->E; e++)
		pp->stamp[e] = PT2C_NONE;
	for (uint32_t k = pp->n_seq; k-- > 0;) {
		pp->del_head[k] = del_tail[k] = PT2C_NONE;
		for (uint32_t i = pp->in_off[k]; i < pp->in_off[k + 1]; i++) {
			uint32_t e = pp->ins[i];
			if (pp->stamp[e] != PT2C_NONE)
				continue;
			pp->stamp[e] = k;
			if (del_tail[k] == PT2C_NONE)
				pp->del_head[k] = e;
			else
				pp->del_next[del_tail[k]] = e;
			del_tail[k] = e;
		}
	}
	pt2c__free(pp->a, del_tail);
	return 0;
}

/* Release the printer's arrays. */
static void pp_free(prog_printer *pp)
{
	pt2c__free(pp->a, pp->seq);
	pt2c__free(pp->a, pp->in_off);
	pt2c__free(pp->a, pp->ins);
	pt2c__free(pp->a, pp->seq_node);
	pt2c__free(pp->a, pp->stamp);
	pt2c__free(pp->a, pp->users);
	pt2c__free(pp->a, pp->del_head);
	pt2c__free(pp->a, pp->del_next);
	pt2c__free(pp->a, pp->graphs);
}

/* The Python variable name of an entity. */
static const char *pp_name(const prog_printer *pp, uint32_t e)
{
	const char *s = "output";
	if (e < pp->V)
		s = pp->g->values[e].name;
	else if (e < pp->V + pp->N)
		s = pp->g->nodes[e - pp->V].name;
	else if (e > pp->V + pp->N && e - (pp->V + pp->N + 1) < pp->n_graphs)
		s = pp->graphs[e - (pp->V + pp->N + 1)]->u.g.name;
	return s ? s : "?";
}

/* ";  a = b = None" for entries that are the last use of something, then the newline. */
static void pp_dels(pt2c_buf *b, const prog_printer *pp, uint32_t k)
{
	uint32_t e = pp->seq[k];
	bool self = pp->users[e] == 0;
	if (pp->del_head[k] == PT2C_NONE && !self) {
		pt2c__buf_putc(b, '\n');
		return;
	}
	pt2c__buf_puts(b, ";  ");
	for (uint32_t d = pp->del_head[k]; d != PT2C_NONE; d = pp->del_next[d])
		pt2c__buf_printf(b, "%s = ", pp_name(pp, d));
	if (self)
		pt2c__buf_printf(b, "%s = ", pp_name(pp, e));
	pt2c__buf_puts(b, "None\n");
}

/* The meta value of key `key` in a node, or NULL. */
static const pt2c_kv *node_meta(const pt2c_node *nd, const char *key)
{
	for (uint32_t i = 0; i < nd->n_meta; i++)
		if (nd->meta[i].key && strcmp(nd->meta[i].key, key) == 0)
			return &nd->meta[i];
	return NULL;
}

/* The innermost frame of a stack trace as fx summarizes it; false if none parses. */
static bool put_stack_summary(pt2c_buf *b, const char *s, uint32_t n)
{
	/* trim, then scan lines backwards for File "...", line N, in NAME followed by the code line */
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	while (n && (s[0] == '\n' || s[0] == ' ' || s[0] == '\t' || s[0] == '\r')) {
		s++;
		n--;
	}
	uint32_t end = n; /* end of the current line */
	uint32_t next_start = n, next_end = n;
	for (;;) {
		uint32_t start = end;
		while (start > 0 && s[start - 1] != '\n')
			start--;
		if (next_start < n) {
			const char *l = s + start;
			uint32_t ln = end - start;
			while (ln && (*l == ' ' || *l == '\t')) {
				l++;
				ln--;
			}
			while (ln && (l[ln - 1] == ' ' || l[ln - 1] == '\t' || l[ln - 1] == '\r'))
				ln--;
			static const char pre[] = "File \"";
			const char *q = NULL, *in = NULL;
			if (ln > sizeof pre && memcmp(l, pre, sizeof pre - 1) == 0) {
				/* greedy (.+) before "\", line ": the last such marker */
				for (uint32_t i = sizeof pre - 1; i + 8 <= ln; i++)
					if (memcmp(l + i, "\", line ", 8) == 0)
						q = l + i;
			}
			if (q) {
				const char *d = q + 8, *e = l + ln;
				const char *dd = d;
				while (dd < e && *dd >= '0' && *dd <= '9')
					dd++;
				if (dd > d && e - dd > 5 && memcmp(dd, ", in ", 5) == 0)
					in = dd + 5;
				if (in && in < e) {
					const char *c = s + next_start;
					uint32_t cn = next_end - next_start;
					while (cn && (*c == ' ' || *c == '\t')) {
						c++;
						cn--;
					}
					while (cn && (c[cn - 1] == ' ' || c[cn - 1] == '\t' || c[cn - 1] == '\r'))
						cn--;
					pt2c__buf_puts(b, "# File: ");
					pt2c__buf_put(b, l + sizeof pre - 1, (size_t)(q - l - (sizeof pre - 1)));
					pt2c__buf_putc(b, ':');
					pt2c__buf_put(b, d, (size_t)(dd - d));
					pt2c__buf_puts(b, " in ");
					pt2c__buf_put(b, in, (size_t)(e - in));
					pt2c__buf_puts(b, ", code: ");
					pt2c__buf_put(b, c, cn);
					return true;
				}
			}
		}
		if (start == 0)
			return false;
		next_start = start;
		next_end = end;
		end = start - 1;
	}
}

/* A call: target(args, kw = value) as the code generator writes it. */
static void put_call(pt2c_buf *b, pt2c_graph *g, const pt2c_node *nd)
{
	pt2c__buf_puts(b, nd->target ? nd->target : "?");
	pt2c__buf_putc(b, '(');
	uint32_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < nd->n_inputs; i++) {
			bool kw = nd->inputs[i].name && nd->inputs[i].kind == PT2C_ARGKIND_KEYWORD;
			if (kw != (pass == 1))
				continue;
			if (k++)
				pt2c__buf_puts(b, ", ");
			if (kw)
				pt2c__buf_printf(b, "%s = ", nd->inputs[i].name);
			pt2c__print_arg(b, g, &nd->inputs[i].arg, PT2C_PRINT_PY, 0);
		}
	}
	pt2c__buf_putc(b, ')');
}

/* Python operator syntax for the `_operator.*` functions fx prints inline. */
static const char *infix_op(const char *target)
{
	static const struct { const char *name, *op; } OPS[] = {
		{ "add", "+" }, { "sub", "-" }, { "mul", "*" }, { "floordiv", "//" }, { "truediv", "/" },
		{ "mod", "%" }, { "pow", "**" }, { "eq", "==" }, { "ne", "!=" }, { "lt", "<" }, { "le", "<=" },
		{ "gt", ">" }, { "ge", ">=" }, { "and_", "&" }, { "or_", "|" }, { "xor", "^" },
		{ "lshift", "<<" }, { "rshift", ">>" }, { "matmul", "@" },
	};
	if (!target || strncmp(target, "_operator.", 10) != 0)
		return NULL;
	for (size_t i = 0; i < PT2C_ARRAY_LEN(OPS); i++)
		if (strcmp(target + 10, OPS[i].name) == 0)
			return OPS[i].op;
	return NULL;
}

/* Right-hand side of an assignment: infix operators, getitem, self.attr, or a call. */
static void put_rhs(pt2c_buf *b, pt2c_graph *g, const pt2c_node *nd)
{
	const char *op = infix_op(nd->target);
	if (nd->op == PT2C_OP_CALL_FUNCTION && op && nd->n_inputs == 2) {
		pt2c__print_arg(b, g, &nd->inputs[0].arg, PT2C_PRINT_PY, 0);
		pt2c__buf_printf(b, " %s ", op);
		pt2c__print_arg(b, g, &nd->inputs[1].arg, PT2C_PRINT_PY, 0);
	} else if (nd->op == PT2C_OP_CALL_FUNCTION && nd->target && strcmp(nd->target, PT2C_TARGET_GETITEM) == 0 &&
	           nd->n_inputs == 2) {
		pt2c__print_arg(b, g, &nd->inputs[0].arg, PT2C_PRINT_PY, 0);
		pt2c__buf_putc(b, '[');
		pt2c__print_arg(b, g, &nd->inputs[1].arg, PT2C_PRINT_PY, 0);
		pt2c__buf_putc(b, ']');
	} else if (nd->op == PT2C_OP_CALL_FUNCTION && nd->target && strcmp(nd->target, "_operator.neg") == 0 &&
	           nd->n_inputs == 1) {
		pt2c__buf_putc(b, '-');
		pt2c__print_arg(b, g, &nd->inputs[0].arg, PT2C_PRINT_PY, 0);
	} else if (nd->op == PT2C_OP_GET_ATTR) {
		pt2c__buf_printf(b, "self.%s", nd->target ? nd->target : "?");
	} else {
		put_call(b, g, nd);
	}
}

static const char *const IN_KINDS[] = { "USER_INPUT", "PARAMETER", "BUFFER", "CONSTANT_TENSOR", "CUSTOM_OBJ",
                                        "TOKEN", "USER_INPUT" };
static const char *const OUT_KINDS[] = { "USER_OUTPUT", "LOSS_OUTPUT", "BUFFER_MUTATION", "GRADIENT_TO_PARAMETER",
                                         "GRADIENT_TO_USER_INPUT", "USER_INPUT_MUTATION", "TOKEN",
                                         "PARAMETER_MUTATION" };

/* The name a signature entry shows for its argument. */
static void put_spec_arg(pt2c_buf *b, pt2c_graph *g, const pt2c_arg *a, const char *fallback)
{
	uint32_t r = leaf_ref(a);
	if (r != PT2C_NONE)
		pt2c__buf_puts(b, pt2c__print_ref_name(g, r));
	else if (fallback)
		pt2c__buf_puts(b, fallback);
	else
		pt2c__print_arg(b, g, a, PT2C_PRINT_PY, 0);
}

/* Spaces for indentation level n (capped: deeper levels print at the cap). */
static void put_indent(pt2c_buf *b, int n)
{
	static const char SP[] = "                                                                ";
	size_t k = (size_t)n < sizeof SP - 1 ? (size_t)n : sizeof SP - 1;
	pt2c__buf_put(b, SP, k);
}

/*
 * One GraphModule as print_readable writes it inside str(ExportedProgram): "class NAME" at
 * 4 + 4*level spaces, the forward() body, then every HOP subgraph as a nested class. Blank
 * lines carry the 4 spaces ExportedProgram's indentation gives them.
 */
static int print_gm(pt2c_buf *b, pt2c_graph *g, const char *name, int level, int depth)
{
	prog_printer pp;
	memset(&pp, 0, sizeof pp);
	pp.g = g;
	pp.a = b->alloc;
	int rc = pp_build(&pp);
	if (rc) {
		pp_free(&pp);
		return rc;
	}
	int body = 12 + 4 * level;
	put_indent(b, 4 + 4 * level);
	pt2c__buf_printf(b, "class %s(torch.nn.Module):\n", name);
	put_indent(b, 8 + 4 * level);
	pt2c__buf_puts(b, "def forward(self");
	for (uint32_t k = 0; k < pp.n_seq; k++) {
		pt2c_node *nd = &g->nodes[pp.seq_node[k]];
		if (nd->op != PT2C_OP_PLACEHOLDER)
			continue;
		pt2c__buf_printf(b, ", %s", nd->target ? nd->target : pp_name(&pp, pp.seq[k]));
		if (pp.seq[k] < pp.V)
			pt2c__print_value_type(b, &g->values[pp.seq[k]], ": ");
	}
	pt2c__buf_puts(b, "):\n");

	/* fx starts with prev_stacktrace = None, so a first node without one gets the notice too */
	const pt2c_kv *prev_st = NULL;
	bool have_prev = false, prev_none = false, body_empty = true;
	for (uint32_t k = 0; k < pp.n_seq; k++) {
		uint32_t e = pp.seq[k];
		pt2c_node *nd = &g->nodes[pp.seq_node[k]];
		bool is_attr = e > pp.V + pp.N;
		if (nd->op == PT2C_OP_PLACEHOLDER) {
			const char *vn = pp_name(&pp, e);
			if (nd->target && strcmp(nd->target, vn) != 0) {
				put_indent(b, body);
				pt2c__buf_printf(b, "%s = %s\n", vn, nd->target);
				body_empty = false;
			}
			continue;
		}
		if (nd->op == PT2C_OP_OUTPUT) {
			put_indent(b, body);
			pt2c__buf_puts(b, "return (");
			for (uint32_t i = 0; i < nd->n_inputs; i++) {
				if (i)
					pt2c__buf_puts(b, ", ");
				pt2c__print_arg(b, g, &nd->inputs[i].arg, PT2C_PRINT_PY, 0);
			}
			pt2c__buf_puts(b, nd->n_inputs == 1 ? ",)\n" : ")\n");
			continue;
		}
		bool is_getitem = e < pp.V && !single_output(nd);
		if (!is_getitem) {
			const pt2c_kv *st = is_attr ? NULL : node_meta(nd, "stack_trace");
			size_t mark = b->len;
			bool parsed = false;
			if (st && st->val_len) {
				if (!have_prev || prev_none || prev_st->val_len != st->val_len ||
				    memcmp(prev_st->val, st->val, st->val_len) != 0) {
					if (!body_empty)
						pt2c__buf_puts(b, "    \n");
					put_indent(b, body);
					parsed = put_stack_summary(b, st->val, st->val_len);
					if (parsed) {
						pt2c__buf_putc(b, '\n');
						prev_st = st;
						have_prev = true;
						prev_none = false;
						body_empty = false;
					} else {
						b->len = mark; /* unparsable traces read as none */
					}
				} else {
					parsed = true;
				}
			}
			if (!parsed && (!have_prev || !prev_none)) {
				if (!body_empty)
					pt2c__buf_puts(b, "    \n");
				put_indent(b, body);
				pt2c__buf_puts(b, "# No stacktrace found for following nodes\n");
				have_prev = true;
				prev_none = true;
				body_empty = false;
			}
		}
		body_empty = false;
		put_indent(b, body);
		if (is_attr) {
			const char *an = pp_name(&pp, e);
			pt2c__buf_printf(b, "%s = self.%s", an, an);
		} else if (is_getitem) {
			pt2c__buf_puts(b, pp_name(&pp, e));
			pt2c__print_value_type(b, &g->values[e], ": ");
			pt2c__buf_printf(b, " = %s[", nd->name ? nd->name : "?");
			/* position of this value among the node's outputs */
			uint32_t pos = 0;
			bool found = false;
			for (uint32_t i = 0; i < nd->n_outputs && !found; i++) {
				const pt2c_arg *o = &nd->outputs[i];
				if (pt2c__arg_is_list(o->kind) && nd->n_outputs == 1) {
					for (uint32_t j = 0; j < o->n && !found; j++)
						if (leaf_ref(&o->u.items[j]) == e) {
							pos = j;
							found = true;
						}
				} else if (pt2c__arg_is_list(o->kind)) {
					for (uint32_t j = 0; j < o->n && !found; j++)
						if (leaf_ref(&o->u.items[j]) == e) {
							pt2c__buf_printf(b, "%u][", i);
							pos = j;
							found = true;
						}
				} else if (leaf_ref(o) == e) {
					pos = i;
					found = true;
				}
			}
			pt2c__buf_printf(b, "%u]", pos);
		} else {
			pt2c__buf_puts(b, pp_name(&pp, e));
			if (e < pp.V)
				pt2c__print_value_type(b, &g->values[e], ": ");
			pt2c__buf_puts(b, " = ");
			put_rhs(b, g, nd);
		}
		pp_dels(b, &pp, k);
	}

	/* nested classes, once per name, in the order fx registered them */
	pt2c_map seen;
	pt2c__map_init(&seen, b->alloc);
	for (uint32_t i = 0; i < pp.n_graphs && !rc; i++) {
		const pt2c_arg *a = pp.graphs[i];
		const char *gname = a->u.g.name ? a->u.g.name : "?";
		bool dup = false;
		if (pt2c__map_put(&seen, gname, strlen(gname), i, false, &dup)) {
			rc = PT2C_ENOMEM;
			break;
		}
		if (dup)
			continue;
		pt2c__buf_puts(b, "    \n");
		if (depth >= 16) {
			put_indent(b, 8 + 4 * level);
			pt2c__buf_printf(b, "# class %s: nested too deeply to print\n", gname);
			continue;
		}
		rc = print_gm(b, a->u.g.graph, gname, level + 1, depth + 1);
	}
	pt2c__map_free(&seen);
	pp_free(&pp);
	return rc;
}

int pt2c__program_print(pt2c_buf *b, const pt2c_program *p)
{
	PT2C_ASSERT_ARG(b && p && p->mod && p->mod->graph);
	pt2c_graph *g = p->mod->graph;
	pt2c__buf_puts(b, "ExportedProgram:\n");
	int rc = print_gm(b, g, "GraphModule", 0, 0);
	if (rc)
		return rc;
	pt2c__buf_puts(b, "    \nGraph signature: \n    # inputs\n");
	for (uint32_t i = 0; i < p->n_inputs; i++) {
		const pt2c_input_spec *s = &p->inputs[i];
		pt2c__buf_puts(b, "    ");
		put_spec_arg(b, g, &s->arg, s->kind == PT2C_IN_CONSTANT_INPUT ? s->target : NULL);
		pt2c__buf_printf(b, ": %s", s->kind < PT2C_ARRAY_LEN(IN_KINDS) ? IN_KINDS[s->kind] : "UNKNOWN");
		if (s->target && s->kind != PT2C_IN_USER_INPUT && s->kind != PT2C_IN_CONSTANT_INPUT) {
			pt2c__buf_puts(b, " target=");
			pt2c__print_pyrepr_str(b, s->target, strlen(s->target));
		}
		if (s->kind == PT2C_IN_BUFFER)
			pt2c__buf_puts(b, s->persistent ? " persistent=True" : " persistent=False");
		pt2c__buf_putc(b, '\n');
	}
	pt2c__buf_puts(b, "    \n    # outputs\n");
	for (uint32_t i = 0; i < p->n_outputs; i++) {
		const pt2c_output_spec *s = &p->outputs[i];
		pt2c__buf_puts(b, "    ");
		put_spec_arg(b, g, &s->arg, NULL);
		pt2c__buf_printf(b, ": %s", s->kind < PT2C_ARRAY_LEN(OUT_KINDS) ? OUT_KINDS[s->kind] : "UNKNOWN");
		if (s->target) {
			pt2c__buf_puts(b, " target=");
			pt2c__print_pyrepr_str(b, s->target, strlen(s->target));
		}
		pt2c__buf_putc(b, '\n');
	}
	pt2c__buf_puts(b, "    \nRange constraints: {");
	for (uint32_t i = 0; i < p->n_ranges; i++) {
		const pt2c_symrange *r = &p->ranges[i];
		if (i)
			pt2c__buf_puts(b, ", ");
		pt2c__buf_printf(b, "%s: VR[", r->name ? r->name : "?");
		if (r->has_min)
			pt2c__buf_printf(b, "%lld", (long long)r->min);
		else
			pt2c__buf_puts(b, "-int_oo");
		pt2c__buf_puts(b, ", ");
		if (r->has_max)
			pt2c__buf_printf(b, "%lld", (long long)r->max);
		else
			pt2c__buf_puts(b, "int_oo");
		pt2c__buf_putc(b, ']');
	}
	pt2c__buf_puts(b, "}\n");
	return b->err ? b->err : 0;
}

