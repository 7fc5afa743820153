/*
 * lint.c -- module check after the passes: the graph invariants of pt2c__graph_lint plus every
 * get_attr naming an attribute and every call_module naming a submodule.
 */
#include "export/export.h"

/* Target resolution callback for pt2c__graph_lint. */
static bool resolve_target(const pt2c_node *n, void *payload)
{
	const pt2c_module *m = payload;
	if (n->op == PT2C_OP_GET_ATTR) return pt2c__module_find_attr(m, n->target) != NULL;
	if (n->op == PT2C_OP_CALL_MODULE) return pt2c__module_find_sub(m, n->target) != NULL;
	return true;
}

int pt2c__module_lint(const pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->graph);
	return pt2c__graph_lint(m->graph, resolve_target, (void *)m, err); /* payload only read */
}
