/*
 * sympy_expr.c -- symbolic size expressions as sympy's str() prints them: a small parser of
 * the expression text the PT2 schema stores and a printer with sympy's ordering and signs.
 */
#include <stdio.h>

#include "ir/print.h"

/* MARK: sympy expressions */

/*
 * Expressions arrive as sympy srepr text ("Mul(Integer(2), Symbol('s77', positive=True))").
 * They are parsed into a small tree and printed the way str() of the sympy object reads
 * ("2*s77"); anything unexpected falls back to the raw text.
 */
#define EXPR_MAX_NODES 256
#define EXPR_MAX_DEPTH 32

enum { EX_SYM, EX_INT, EX_CALL };
typedef struct ex_node {
	uint8_t kind;
	const char *p; /* symbol name / integer digits / function name */
	uint32_t n;
	int first, next; /* children (EX_CALL), sibling; -1 = none */
} ex_node;

typedef struct ex_parser {
	const char *s, *end;
	ex_node nodes[EXPR_MAX_NODES];
	int n;
} ex_parser;

/* Skip spaces. */
static void ex_ws(ex_parser *ps)
{
	while (ps->s < ps->end && *ps->s == ' ')
		ps->s++;
}

/* [A-Za-z0-9_] */
static bool ex_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skip one keyword argument "name=Value" (assumption flags). */
static bool ex_skip_kw(ex_parser *ps)
{
	while (ps->s < ps->end && *ps->s != ',' && *ps->s != ')') {
		if (*ps->s == '(' || *ps->s == '\'')
			return false;
		ps->s++;
	}
	return true;
}

/* Parse one expression; returns its node index or -1. */
static int ex_parse(ex_parser *ps, int depth)
{
	if (depth > EXPR_MAX_DEPTH || ps->n >= EXPR_MAX_NODES)
		return -1;
	ex_ws(ps);
	const char *start = ps->s;
	bool neg = ps->s < ps->end && *ps->s == '-';
	if (neg)
		ps->s++;
	while (ps->s < ps->end && ex_ident_char(*ps->s))
		ps->s++;
	if (ps->s == start)
		return -1;
	int id = ps->n++;
	ex_node *nd = &ps->nodes[id];
	nd->first = nd->next = -1;
	nd->p = start;
	nd->n = (uint32_t)(ps->s - start);
	if (start[neg] >= '0' && start[neg] <= '9') {
		nd->kind = EX_INT;
		return id;
	}
	if (neg)
		return -1;
	if (ps->s < ps->end && *ps->s != '(') { /* bare symbol name */
		nd->kind = EX_SYM;
		return id;
	}
	if (ps->s >= ps->end) {
		nd->kind = EX_SYM;
		return id;
	}
	ps->s++; /* '(' */
	size_t fn = nd->n;
	if (fn == 6 && memcmp(start, "Symbol", 6) == 0) {
		ex_ws(ps);
		if (ps->s >= ps->end || *ps->s != '\'')
			return -1;
		const char *nm = ++ps->s;
		while (ps->s < ps->end && *ps->s != '\'')
			ps->s++;
		if (ps->s >= ps->end)
			return -1;
		nd->kind = EX_SYM;
		nd->p = nm;
		nd->n = (uint32_t)(ps->s - nm);
		ps->s++;
		while (ps->s < ps->end && *ps->s == ',') {
			ps->s++;
			if (!ex_skip_kw(ps))
				return -1;
		}
		if (ps->s >= ps->end || *ps->s != ')')
			return -1;
		ps->s++;
		return id;
	}
	if (fn == 7 && memcmp(start, "Integer", 7) == 0) {
		int child = ex_parse(ps, depth + 1);
		ex_ws(ps);
		if (child < 0 || ps->nodes[child].kind != EX_INT || ps->s >= ps->end || *ps->s != ')')
			return -1;
		ps->s++;
		ps->nodes[id] = ps->nodes[child];
		ps->nodes[id].next = -1;
		return id;
	}
	nd->kind = EX_CALL;
	int prev = -1;
	for (;;) {
		ex_ws(ps);
		if (ps->s < ps->end && *ps->s == ')') {
			ps->s++;
			return id;
		}
		/* keyword arguments of functions (evaluate=False, ...) are dropped */
		const char *save = ps->s;
		while (ps->s < ps->end && ex_ident_char(*ps->s))
			ps->s++;
		if (ps->s < ps->end && *ps->s == '=') {
			if (!ex_skip_kw(ps))
				return -1;
		} else {
			ps->s = save;
			int c = ex_parse(ps, depth + 1);
			if (c < 0)
				return -1;
			if (prev < 0)
				ps->nodes[id].first = c;
			else
				ps->nodes[prev].next = c;
			prev = c;
		}
		ex_ws(ps);
		if (ps->s < ps->end && *ps->s == ',')
			ps->s++;
		else if (ps->s >= ps->end || *ps->s != ')')
			return -1;
	}
}

/* A call node of the given function name. */
static bool ex_is(const ex_node *nd, const char *name)
{
	return nd->kind == EX_CALL && strlen(name) == nd->n && memcmp(nd->p, name, nd->n) == 0;
}

/* Whether a term prints with a leading minus (for Add's " - "). */
static bool ex_negative(const ex_parser *ps, int id)
{
	const ex_node *nd = &ps->nodes[id];
	if (nd->kind == EX_INT)
		return nd->p[0] == '-';
	if (ex_is(nd, "Mul") && nd->first >= 0)
		return ex_negative(ps, nd->first);
	return false;
}

static void ex_print(pt2c_buf *b, const ex_parser *ps, int id, bool drop_sign);

/*
 * A Mul that sympy sees as (negative number) * (one factor). srepr writes the coefficient -k as
 * "Integer(-1), Integer(k)", so both Mul(-1, x) and Mul(-1, k, x) qualify.
 */
static bool ex_neg_coeff_times_one(const ex_parser *ps, const ex_node *mn)
{
	int c = mn->first, n_int = 0, n_other = 0;
	if (c < 0 || ps->nodes[c].kind != EX_INT || ps->nodes[c].p[0] != '-')
		return false;
	for (; c >= 0; c = ps->nodes[c].next)
		if (ps->nodes[c].kind == EX_INT)
			n_int++;
		else
			n_other++;
	return n_other == 1 && n_int <= 2;
}

/* Print a child, parenthesized when it binds looser than the parent operator. */
static void ex_print_operand(pt2c_buf *b, const ex_parser *ps, int id, bool paren_mul)
{
	const ex_node *nd = &ps->nodes[id];
	bool paren = ex_is(nd, "Add") || (paren_mul && ex_is(nd, "Mul"));
	if (paren)
		pt2c__buf_putc(b, '(');
	ex_print(b, ps, id, false);
	if (paren)
		pt2c__buf_putc(b, ')');
}

/* sympy str(): Add puts numbers last and writes negative terms with " - "; Mul "2*s". */
static void ex_print(pt2c_buf *b, const ex_parser *ps, int id, bool drop_sign)
{
	const ex_node *nd = &ps->nodes[id];
	if (nd->kind == EX_SYM) {
		pt2c__buf_put(b, nd->p, nd->n);
		return;
	}
	if (nd->kind == EX_INT) {
		if (drop_sign && nd->p[0] == '-')
			pt2c__buf_put(b, nd->p + 1, nd->n - 1);
		else
			pt2c__buf_put(b, nd->p, nd->n);
		return;
	}
	if (ex_is(nd, "Add")) {
		/* sympy's special case: Add(positive number, Mul(negative number, x)) reads "5 - x" */
		int c0 = nd->first, c1 = c0 >= 0 ? ps->nodes[c0].next : -1;
		if (c1 >= 0 && ps->nodes[c1].next < 0) {
			int num = ps->nodes[c0].kind == EX_INT ? c0 : ps->nodes[c1].kind == EX_INT ? c1 : -1;
			int mul = num == c0 ? c1 : c0;
			const ex_node *mn = &ps->nodes[mul];
			if (num >= 0 && ps->nodes[num].p[0] != '-' && !(ps->nodes[num].n == 1 && ps->nodes[num].p[0] == '0') &&
			    ex_is(mn, "Mul") && ex_neg_coeff_times_one(ps, mn)) {
				ex_print(b, ps, num, false);
				pt2c__buf_puts(b, " - ");
				ex_print(b, ps, mul, true);
				return;
			}
		}
		bool first = true;
		for (int pass = 0; pass < 2; pass++) {
			for (int c = nd->first; c >= 0; c = ps->nodes[c].next) {
				if ((ps->nodes[c].kind == EX_INT) != (pass == 1))
					continue;
				bool neg = ex_negative(ps, c);
				if (first)
					pt2c__buf_puts(b, neg ? "-" : "");
				else
					pt2c__buf_puts(b, neg ? " - " : " + ");
				ex_print(b, ps, c, true);
				first = false;
			}
		}
		return;
	}
	if (ex_is(nd, "Mul")) {
		bool first = true;
		for (int c = nd->first; c >= 0; c = ps->nodes[c].next) {
			const ex_node *cn = &ps->nodes[c];
			if (first && cn->kind == EX_INT && cn->n == 2 && memcmp(cn->p, "-1", 2) == 0 && cn->next >= 0) {
				if (!drop_sign)
					pt2c__buf_putc(b, '-');
				continue;
			}
			if (!first)
				pt2c__buf_putc(b, '*');
			if (first && cn->kind == EX_INT && drop_sign && cn->p[0] == '-')
				pt2c__buf_put(b, cn->p + 1, cn->n - 1);
			else if (first && cn->kind == EX_INT && !drop_sign)
				pt2c__buf_put(b, cn->p, cn->n);
			else
				ex_print_operand(b, ps, c, false);
			first = false;
		}
		return;
	}
	if (ex_is(nd, "Pow") && nd->first >= 0 && ps->nodes[nd->first].next >= 0) {
		ex_print_operand(b, ps, nd->first, true);
		pt2c__buf_puts(b, "**");
		ex_print_operand(b, ps, ps->nodes[nd->first].next, true);
		return;
	}
	if (ex_is(nd, "FloorDiv") && nd->first >= 0 && ps->nodes[nd->first].next >= 0) {
		pt2c__buf_putc(b, '(');
		ex_print_operand(b, ps, nd->first, true);
		pt2c__buf_puts(b, "//");
		ex_print_operand(b, ps, ps->nodes[nd->first].next, true);
		pt2c__buf_putc(b, ')');
		return;
	}
	pt2c__buf_put(b, nd->p, nd->n);
	pt2c__buf_putc(b, '(');
	for (int c = nd->first; c >= 0; c = ps->nodes[c].next) {
		ex_print(b, ps, c, false);
		if (ps->nodes[c].next >= 0)
			pt2c__buf_puts(b, ", ");
	}
	pt2c__buf_putc(b, ')');
}

/* An expression as sympy's str() would print it. */
void pt2c__sympy_print(pt2c_buf *b, const char *expr)
{
	if (!expr) {
		pt2c__buf_puts(b, "?");
		return;
	}
	size_t n;
	const char *sym = pt2c__sym_symbol_name(expr, &n);
	if (sym) {
		pt2c__buf_put(b, sym, n);
		return;
	}
	/* the parser is big (a fixed node table), keep it off small stacks */
	ex_parser *ps = pt2c__malloc(b->alloc, sizeof *ps);
	if (!ps) {
		/* a failure, not the raw text instead (that printed srepr text with success) */
		if (!b->err)
			b->err = PT2C_ENOMEM;
		return;
	}
	ps->s = expr;
	ps->end = expr + strlen(expr);
	ps->n = 0;
	int root = ex_parse(ps, 0);
	ex_ws(ps);
	if (root >= 0 && ps->s == ps->end)
		ex_print(b, ps, root, false);
	else
		pt2c__buf_puts(b, expr); /* what does not parse is shown as written */
	pt2c__free(b->alloc, ps);
}

