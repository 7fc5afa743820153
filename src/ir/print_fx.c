/*
 * print_fx.c -- torch.fx's Graph.__str__ for partitioned modules: the top graph, then each
 * fallback segment's graph.
 */
#include <stdio.h>

#include "ir/print.h"

/* MARK: torch.fx module listing */

typedef struct users_ctx {
	pt2c_graph *g;
	uint32_t *count, *stamp;
	uint32_t node;
} users_ctx;

/* Count the visiting node once per distinct value it reads. */
static int cb_count_user(uint32_t *ref, void *payload)
{
	users_ctx *uc = payload;
	uint32_t v = pt2c__value_resolve(uc->g, *ref);
	if (v < uc->g->n_values && uc->stamp[v] != uc->node) {
		uc->stamp[v] = uc->node;
		uc->count[v]++;
	}
	return 0;
}

/* users[v] = distinct user nodes of v (fx's len(node.users)), refs resolved; caller frees. */
static uint32_t *count_users(pt2c_graph *g, const pt2c_allocator *a)
{
	uint32_t *count = pt2c__calloc(a, (size_t)g->n_values + 1, 2 * sizeof(uint32_t));
	if (!count)
		return NULL;
	users_ctx uc = { g, count, count + g->n_values + 1, 0 };
	for (uint32_t v = 0; v <= g->n_values; v++)
		uc.stamp[v] = PT2C_NONE;
	PT2C_GRAPH_FOREACH(g, id) {
		uc.node = id;
		pt2c_node *nd = &g->nodes[id];
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			(void)pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_count_user, &uc);
	}
	return count;
}

typedef struct max_users { const uint32_t *count; uint32_t n, max; } max_users;

/* The largest user count among a node's output values. */
static int cb_max_users(uint32_t *ref, void *payload)
{
	max_users *mu = payload;
	if (*ref < mu->n && mu->count[*ref] > mu->max)
		mu->max = mu->count[*ref];
	return 0;
}

/* fx's _pretty_print_target for a string target: "_operator.x" reads "operator.x". */
static void put_fx_target(pt2c_buf *b, const char *t)
{
	if (!t)
		return;
	if (strncmp(t, "_operator.", 10) == 0)
		pt2c__buf_printf(b, "operator.%s", t + 10);
	else
		pt2c__buf_puts(b, t);
}

/* One graph in torch.fx Graph.__str__ form, without a trailing newline. */
static int print_fx_graph(pt2c_buf *b, pt2c_graph *g)
{
	const pt2c_allocator *a = b->alloc;
	uint32_t *users = count_users(g, a);
	if (!users)
		return PT2C_ENOMEM;
	pt2c__buf_puts(b, "graph():");
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		pt2c__buf_puts(b, "\n    ");
		if (nd->op == PT2C_OP_OUTPUT) {
			pt2c__buf_puts(b, "return ");
			/* fx stores the output as a tuple; JSON forms may have turned it into a list */
			if (nd->n_inputs >= 1) {
				pt2c_arg out = nd->inputs[0].arg;
				if (out.kind == PT2C_ARG_FX_LIST)
					out.kind = PT2C_ARG_FX_TUPLE;
				pt2c__print_arg(b, g, &out, PT2C_PRINT_PY, 0);
			} else
				pt2c__buf_puts(b, "None");
			continue;
		}
		max_users mu = { users, g->n_values, 0 };
		for (uint32_t i = 0; i < nd->n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&nd->outputs[i], cb_max_users, &mu);
		pt2c__buf_printf(b, "%%%s : [num_users=%u] = %s[target=", nd->name ? nd->name : "?", mu.max, pt2c__op_name(nd->op));
		if (nd->op == PT2C_OP_CALL_FUNCTION)
			put_fx_target(b, nd->target);
		else
			pt2c__buf_puts(b, nd->target ? nd->target : "");
		pt2c__buf_putc(b, ']');
		if (nd->op == PT2C_OP_PLACEHOLDER || nd->op == PT2C_OP_GET_ATTR) {
			/* a placeholder default shows as (default=...) */
			if (nd->op == PT2C_OP_PLACEHOLDER && nd->n_inputs == 1) {
				pt2c__buf_puts(b, "(default=");
				pt2c__print_arg(b, g, &nd->inputs[0].arg, PT2C_PRINT_FX, 0);
				pt2c__buf_putc(b, ')');
			}
			continue;
		}
		uint32_t n_pos = 0, n_kw = 0;
		for (uint32_t i = 0; i < nd->n_inputs; i++)
			if (nd->inputs[i].name && nd->inputs[i].kind == PT2C_ARGKIND_KEYWORD)
				n_kw++;
			else
				n_pos++;
		pt2c__buf_puts(b, "(args = (");
		for (uint32_t i = 0, k = 0; i < nd->n_inputs; i++) {
			if (nd->inputs[i].name && nd->inputs[i].kind == PT2C_ARGKIND_KEYWORD)
				continue;
			if (k++)
				pt2c__buf_puts(b, ", ");
			pt2c__print_arg(b, g, &nd->inputs[i].arg, PT2C_PRINT_FX, 0);
		}
		if (n_pos == 1)
			pt2c__buf_putc(b, ',');
		pt2c__buf_puts(b, "), kwargs = {");
		for (uint32_t i = 0, k = 0; i < nd->n_inputs && n_kw; i++) {
			if (!(nd->inputs[i].name && nd->inputs[i].kind == PT2C_ARGKIND_KEYWORD))
				continue;
			if (k++)
				pt2c__buf_puts(b, ", ");
			pt2c__buf_printf(b, "%s: ", nd->inputs[i].name);
			pt2c__print_arg(b, g, &nd->inputs[i].arg, PT2C_PRINT_FX, 0);
		}
		pt2c__buf_puts(b, "})");
	}
	pt2c__free(a, users);
	return 0;
}

int pt2c__module_print(pt2c_buf *b, const pt2c_module *m)
{
	PT2C_ASSERT_ARG(b && m && m->graph);
	int rc = print_fx_graph(b, m->graph);
	for (uint32_t i = 0; !rc && i < m->n_subs; i++) {
		const pt2c_submodule *s = &m->subs[i];
		if (s->kind != PT2C_SUB_FALLBACK || !s->fallback || !s->fallback->graph)
			continue;
		pt2c__buf_printf(b, "\n\n# submodule %s (fallback)\n", s->name);
		rc = print_fx_graph(b, s->fallback->graph);
	}
	if (!rc && b->err)
		rc = b->err;
	return rc;
}

