/*
 * build_program.c -- module -> exported program: lift every get_attr into a placeholder (canonical
 * order: parameters, buffers, tensor constants, custom objects, then user inputs; defect 6) with
 * the attribute's TRUE metadata (defect 5), fold fx getitems into multi-output producers, name and
 * type every argument by the operator schema, and build the signature (buffers with persistent,
 * custom objects with class_fqn: defects 1 and 7), the module call graph, range constraints for
 * every symbol in the inputs (defect 8), state dict and constants. Weights and engines move by
 * reference; nothing is copied.
 *
 * Program graph convention: placeholder nodes first, one per input spec and in the same order,
 * outputs = [one typed Argument]; call_function nodes with schema-named inputs and PT2 outputs;
 * the output node last, with one unnamed input per flattened output (same Arguments as the
 * output specs).
 */
#include <assert.h>

#include "export/export.h"

#include <stdio.h>

enum { GROUP_PARAM = 0, GROUP_BUFFER, GROUP_CONST, GROUP_OBJ, GROUP_COUNT };

typedef struct lifted {
	uint32_t value; /* placeholder value id (renumbered after compaction) */
	uint32_t attr;  /* index into m->attrs */
	uint8_t group;
} lifted;

typedef struct bp {
	pt2c_module *m;
	pt2c_graph *g;
	pt2c_ctx *ctx;
	const pt2c_schema_table *schemas; /* built-in (or caller's) */
	pt2c_schema_table *extra;          /* module-supplied schemas, consulted first */
	pt2c_error *err;
	uint32_t *gi_head, *gi_next;
	uint32_t n_gi; /* values covered by gi_head */
	lifted *lift;
	uint32_t n_lift;
	pt2c_named_arg *scratch; /* convert_inputs: a node's fx inputs while its array is rewritten */
	uint32_t cap_scratch;
} bp;

/* MARK: arguments */

/* The typed PT2 argument for a value reference, by the value's kind (schema type as fallback). */
static int arg_for_value(bp *b, uint32_t ref, uint8_t ty, pt2c_arg *out, const char *where)
{
	pt2c_graph *g = b->g;
	uint32_t v = pt2c__value_resolve(g, ref);
	memset(out, 0, sizeof *out);
	if (v >= g->n_values) return pt2c__err(b->err, PT2C_EGRAPH, "'%s' refers to an unknown value", where);
	const pt2c_value *val = &g->values[v];
	out->u.ref = v;
	switch (val->kind) {
	case PT2C_VAL_TENSOR: out->kind = PT2C_ARG_TENSOR; return 0;
	case PT2C_VAL_SYM_INT: out->kind = PT2C_ARG_SYM_INT; return 0;
	case PT2C_VAL_SYM_BOOL: out->kind = PT2C_ARG_SYM_BOOL; return 0;
	case PT2C_VAL_SYM_FLOAT: out->kind = PT2C_ARG_SYM_FLOAT; return 0;
	case PT2C_VAL_CUSTOM_OBJ:
		out->kind = PT2C_ARG_CUSTOM_OBJ;
		out->u.obj.ref = v;
		out->u.obj.class_fqn = val->u.obj.class_fqn && val->u.obj.class_fqn[0] ? val->u.obj.class_fqn : PT2C_ENGINE_CLASS_FQN;
		return 0;
	case PT2C_VAL_TENSOR_LIST:
		return pt2c__err(b->err, PT2C_EUNSUPPORTED, "'%s' passes the list value '%s' without getitem", where, val->name);
	default: break;
	}
	switch (ty) { /* no recorded metadata: trust the schema */
	case PT2C_TY_INT: case PT2C_TY_SYMINT: case PT2C_TY_INT_LIST: case PT2C_TY_SYMINT_LIST: case PT2C_TY_SCALAR:
		out->kind = PT2C_ARG_SYM_INT; break;
	case PT2C_TY_FLOAT: case PT2C_TY_FLOAT_LIST: out->kind = PT2C_ARG_SYM_FLOAT; break;
	case PT2C_TY_BOOL: case PT2C_TY_BOOL_LIST: out->kind = PT2C_ARG_SYM_BOOL; break;
	case PT2C_TY_CUSTOM_OBJ:
		out->kind = PT2C_ARG_CUSTOM_OBJ;
		out->u.obj.ref = v;
		out->u.obj.class_fqn = PT2C_ENGINE_CLASS_FQN;
		break;
	default: out->kind = PT2C_ARG_TENSOR; break;
	}
	return 0;
}

/* Convert a list argument (FX_LIST/FX_TUPLE) by the kinds of its items, typed from the schema when empty. */
static int convert_list(bp *b, const pt2c_arg *a, uint8_t ty, pt2c_arg *out, const char *where)
{
	memset(out, 0, sizeof *out);
	uint32_t n = a->n;
	if (n == 0) {
		switch (ty) {
		case PT2C_TY_INT_LIST: case PT2C_TY_SYMINT_LIST: out->kind = PT2C_ARG_INTS; break;
		case PT2C_TY_FLOAT_LIST: out->kind = PT2C_ARG_FLOATS; break;
		case PT2C_TY_BOOL_LIST: out->kind = PT2C_ARG_BOOLS; break;
		case PT2C_TY_STR_LIST: out->kind = PT2C_ARG_STRINGS; break;
		case PT2C_TY_OPT_TENSOR_LIST: out->kind = PT2C_ARG_OPTIONAL_TENSORS; break;
		default: out->kind = PT2C_ARG_TENSORS; break;
		}
		return 0;
	}
	pt2c_arg *items = pt2c__arena_calloc(&b->ctx->arena, n, sizeof *items);
	if (!items) return pt2c__err_oom(b->err);
	uint32_t c_tensor = 0, c_symint = 0, c_int = 0, c_float = 0, c_bool = 0, c_str = 0, c_none = 0, c_symbool = 0,
	         c_symfloat = 0;
	uint8_t elem_ty = ty == PT2C_TY_INT_LIST ? PT2C_TY_INT : ty == PT2C_TY_SYMINT_LIST ? PT2C_TY_SYMINT :
	                  ty == PT2C_TY_FLOAT_LIST ? PT2C_TY_FLOAT : ty == PT2C_TY_BOOL_LIST ? PT2C_TY_BOOL : PT2C_TY_TENSOR;
	for (uint32_t i = 0; i < n; i++) {
		const pt2c_arg *it = &a->u.items[i];
		switch (it->kind) {
		case PT2C_ARG_FX_NODE: {
			int rc = arg_for_value(b, it->u.ref, elem_ty, &items[i], where);
			if (rc) return rc;
			switch (items[i].kind) {
			case PT2C_ARG_TENSOR: c_tensor++; break;
			case PT2C_ARG_SYM_INT: c_symint++; break;
			case PT2C_ARG_SYM_BOOL: c_symbool++; break;
			case PT2C_ARG_SYM_FLOAT: c_symfloat++; break;
			default: break;
			}
			break;
		}
		case PT2C_ARG_INT: c_int++; items[i] = *it; break;
		case PT2C_ARG_FLOAT: c_float++; items[i] = *it; break;
		case PT2C_ARG_BOOL: c_bool++; items[i] = *it; break;
		case PT2C_ARG_STRING: c_str++; items[i] = *it; break;
		case PT2C_ARG_NONE: c_none++; items[i] = *it; break;
		default: items[i] = *it; break;
		}
	}
	out->n = n;
	out->u.items = items;
	if (c_tensor == n) { out->kind = PT2C_ARG_TENSORS; return 0; }
	if (c_tensor + c_none == n) { out->kind = PT2C_ARG_OPTIONAL_TENSORS; return 0; }
	if (c_int == n) { out->kind = PT2C_ARG_INTS; return 0; }
	if (c_bool == n) { out->kind = PT2C_ARG_BOOLS; return 0; }
	if (c_str == n) { out->kind = PT2C_ARG_STRINGS; return 0; }
	if (c_int + c_symint == n) {
		out->kind = PT2C_ARG_SYM_INTS;
		for (uint32_t i = 0; i < n; i++)
			if (items[i].kind == PT2C_ARG_INT) { items[i].kind = PT2C_ARG_SYM_INT; items[i].flags = PT2C_ARGF_LITERAL; }
		return 0;
	}
	if (c_int + c_float == n) {
		out->kind = PT2C_ARG_FLOATS;
		for (uint32_t i = 0; i < n; i++)
			if (items[i].kind == PT2C_ARG_INT) { double f = (double)items[i].u.i; items[i].kind = PT2C_ARG_FLOAT; items[i].u.f = f; }
		return 0;
	}
	if (c_bool + c_symbool == n) {
		out->kind = PT2C_ARG_SYM_BOOLS;
		for (uint32_t i = 0; i < n; i++)
			if (items[i].kind == PT2C_ARG_BOOL) { items[i].kind = PT2C_ARG_SYM_BOOL; items[i].flags = PT2C_ARGF_LITERAL; }
		return 0;
	}
	if (c_int + c_float + c_symfloat == n) {
		out->kind = PT2C_ARG_SYM_FLOATS;
		for (uint32_t i = 0; i < n; i++) {
			if (items[i].kind == PT2C_ARG_INT) { double f = (double)items[i].u.i; items[i].u.f = f; }
			if (items[i].kind != PT2C_ARG_SYM_FLOAT) { items[i].kind = PT2C_ARG_SYM_FLOAT; items[i].flags = PT2C_ARGF_LITERAL; }
		}
		return 0;
	}
	return pt2c__err(b->err, PT2C_EUNSUPPORTED, "a list argument of '%s' mixes kinds that PT2 cannot express", where);
}

/* Convert one fx argument to its PT2 form. */
static int convert_arg(bp *b, const pt2c_arg *a, uint8_t ty, pt2c_arg *out, const char *where)
{
	if (a->kind == PT2C_ARG_FX_NODE) return arg_for_value(b, a->u.ref, ty, out, where);
	if (a->kind == PT2C_ARG_FX_LIST || a->kind == PT2C_ARG_FX_TUPLE) return convert_list(b, a, ty, out, where);
	*out = *a; /* literals and already-typed PT2 arguments */
	return 0;
}

/* Schema for a target: module-supplied ones first. */
static const pt2c_schema *find_schema(bp *b, const char *target)
{
	const pt2c_schema *s = b->extra ? pt2c__schema_find(b->extra, target) : NULL;
	return s ? s : pt2c__schema_find(b->schemas, target);
}

/* Python builtins on symbolic values have no schema: positional names as inspect.signature gives them. */
static bool is_sym_builtin(const char *t)
{
	return strncmp(t, "_operator.", 10) == 0 || strncmp(t, "math.", 5) == 0 || strncmp(t, "torch.sym_", 10) == 0;
}

/*
 * Name and type a call_function node's inputs by its schema. The node's array is rewritten in
 * place (from a scratch copy of the fx inputs): a new array per node was a sixth of the export's
 * peak memory.
 */
static int convert_inputs(bp *b, uint32_t id, const pt2c_schema *s)
{
	pt2c_graph *g = b->g;
	pt2c_node *nd = &g->nodes[id];
	const char *name = nd->name;
	uint32_t n_in = nd->n_inputs;
	if (n_in > b->cap_scratch) {
		pt2c_named_arg *ns = pt2c__malloc(b->ctx->alloc, (size_t)n_in * sizeof *ns);
		if (!ns) return pt2c__err_oom(b->err);
		pt2c__free(b->ctx->alloc, b->scratch);
		b->scratch = ns;
		b->cap_scratch = n_in;
	}
	const pt2c_named_arg *orig = b->scratch;
	pt2c_named_arg *in = nd->inputs;
	if (n_in) memcpy(b->scratch, nd->inputs, (size_t)n_in * sizeof *in);
	if (!s) {
		static const char *const names2[] = { "a", "b", "c", "d" };
		if (n_in > 4) return pt2c__err(b->err, PT2C_EUNSUPPORTED, "'%s' has too many arguments", name);
		bool is_math = strncmp(nd->target, "math.", 5) == 0;
		for (uint32_t i = 0; i < n_in; i++) {
			const pt2c_named_arg *src = &orig[i];
			in[i].name = src->name ? src->name : pt2c__ctx_interns(b->ctx, is_math && n_in == 1 ? "x" : names2[i]);
			in[i].kind = src->name ? PT2C_ARGKIND_KEYWORD : PT2C_ARGKIND_POSITIONAL;
			if (!in[i].name) return pt2c__err_oom(b->err);
			int rc = convert_arg(b, &src->arg, PT2C_TY_SYMINT, &in[i].arg, name);
			if (rc) return rc;
		}
		return 0;
	}
	uint32_t npos = 0, nkw = 0;
	for (uint32_t i = 0; i < n_in; i++) {
		if (orig[i].name) nkw++;
		else npos++;
	}
	uint32_t n_positional_params = 0;
	for (uint32_t j = 0; j < s->n_args; j++) if (!s->args[j].kwarg_only) n_positional_params++;
	if (npos > n_positional_params)
		return pt2c__err(b->err, PT2C_EGRAPH, "'%s' passes %u positional arguments to %s, which takes %u", name, npos,
		                 s->target, n_positional_params);
	/* every keyword must name a schema argument */
	for (uint32_t i = 0; i < n_in; i++) {
		const char *kw = orig[i].name;
		if (!kw) continue;
		bool found = false;
		for (uint32_t j = 0; j < s->n_args && !found; j++) found = strcmp(s->args[j].name, kw) == 0;
		if (!found) return pt2c__err(b->err, PT2C_EGRAPH, "'%s' passes keyword '%s', which %s does not take", name, kw, s->target);
	}
	uint32_t k = 0, pos_seen = 0;
	for (uint32_t j = 0; j < s->n_args; j++) {
		const pt2c_schema_arg *sa = &s->args[j];
		const pt2c_arg *src = NULL;
		uint8_t kind = PT2C_ARGKIND_POSITIONAL;
		for (uint32_t i = 0; i < n_in && !src; i++)
			if (orig[i].name && strcmp(orig[i].name, sa->name) == 0) { src = &orig[i].arg; kind = PT2C_ARGKIND_KEYWORD; }
		if (!src && !sa->kwarg_only && pos_seen < npos) {
			uint32_t seen = 0;
			for (uint32_t i = 0; i < n_in && !src; i++)
				if (!orig[i].name && seen++ == pos_seen) src = &orig[i].arg;
			pos_seen++;
		}
		if (!src) continue; /* omitted defaulted arguments are left out, as torch does */
		if (k >= n_in) return pt2c__err(b->err, PT2C_EGRAPH, "'%s' passes an argument twice", name);
		in[k].name = pt2c__ctx_interns(b->ctx, sa->name);
		in[k].kind = kind;
		if (!in[k].name) return pt2c__err_oom(b->err);
		int rc = convert_arg(b, src, sa->type, &in[k].arg, name);
		if (rc) return rc;
		k++;
	}
	if (k != n_in) return pt2c__err(b->err, PT2C_EGRAPH, "'%s' passes an argument twice", name);
	return 0;
}

/* MARK: outputs */

/* First getitem node reading value v, or PT2C_NONE. */
static uint32_t gi_first(const bp *b, uint32_t v)
{
	return b->gi_head && v < b->n_gi ? b->gi_head[v] : PT2C_NONE;
}

/* PT2 argument kind for a single scalar-or-tensor return. */
static uint8_t return_kind(const pt2c_value *v, uint8_t ty)
{
	switch (v->kind) {
	case PT2C_VAL_TENSOR: return PT2C_ARG_TENSOR;
	case PT2C_VAL_SYM_INT: return PT2C_ARG_SYM_INT;
	case PT2C_VAL_SYM_BOOL: return PT2C_ARG_SYM_BOOL;
	case PT2C_VAL_SYM_FLOAT: return PT2C_ARG_SYM_FLOAT;
	case PT2C_VAL_CUSTOM_OBJ: return PT2C_ARG_CUSTOM_OBJ;
	default: break;
	}
	switch (ty) {
	case PT2C_TY_INT: case PT2C_TY_SYMINT: case PT2C_TY_SCALAR: return PT2C_ARG_SYM_INT;
	case PT2C_TY_FLOAT: return PT2C_ARG_SYM_FLOAT;
	case PT2C_TY_BOOL: return PT2C_ARG_SYM_BOOL;
	default: return PT2C_ARG_TENSOR;
	}
}

/*
 * Fold the getitem users of the list/tuple value v (produced by node id) into node outputs:
 * element i becomes the first getitem(v, i) value (metadata by index when v carries a list),
 * missing elements get "<node>_unused_<i>" values. as_list: one as_tensors output (Tensor[]
 * return) instead of one output per element.
 */
static int fold_getitems(bp *b, uint32_t id, uint32_t v, uint32_t n_elems, bool as_list, const pt2c_schema *s)
{
	pt2c_graph *g = b->g;
	const char *name = g->nodes[id].name;
	bool has_list_meta = g->values[v].kind == PT2C_VAL_TENSOR_LIST && g->values[v].has_meta;
	uint32_t max_idx = 0;
	bool any = false;
	for (uint32_t gi = gi_first(b, v); gi != PT2C_NONE; gi = b->gi_next[gi]) {
		if (g->nodes[gi].flags & PT2C_NODE_ERASED) continue;
		int64_t idx = g->nodes[gi].inputs[1].arg.u.i;
		if (idx < 0 || idx >= (int64_t)UINT32_MAX / 2)
			return pt2c__err(b->err, PT2C_EGRAPH, "getitem '%s' has a bad index", g->nodes[gi].name);
		if (!any || (uint32_t)idx > max_idx) max_idx = (uint32_t)idx;
		any = true;
	}
	if (as_list) {
		n_elems = has_list_meta ? g->values[v].u.list.n : 0;
		if (any && max_idx + 1 > n_elems) {
			/* without list metadata the indices size the list: bounded by the getitems seen */
			uint32_t n_gi = 0;
			for (uint32_t gi = gi_first(b, v); gi != PT2C_NONE; gi = b->gi_next[gi]) n_gi++;
			if (has_list_meta || max_idx >= n_gi + 256)
				return pt2c__err(b->err, PT2C_EGRAPH, "getitem reads element %u of '%s', which is out of range", max_idx, name);
			n_elems = max_idx + 1;
		}
	} else if (any && max_idx >= n_elems) {
		return pt2c__err(b->err, PT2C_EGRAPH, "getitem reads output %u of '%s', which returns %u values", max_idx, name, n_elems);
	}
	uint32_t *outs = n_elems ? pt2c__arena_calloc(&b->ctx->arena, n_elems, sizeof *outs) : NULL;
	pt2c_arg *items = n_elems ? pt2c__arena_calloc(&b->ctx->arena, n_elems, sizeof *items) : NULL;
	if (n_elems && (!outs || !items)) return pt2c__err_oom(b->err);
	for (uint32_t i = 0; i < n_elems; i++) outs[i] = PT2C_NONE;
	for (uint32_t gi = gi_first(b, v); gi != PT2C_NONE; gi = b->gi_next[gi]) {
		if (g->nodes[gi].flags & PT2C_NODE_ERASED) continue;
		uint32_t idx = (uint32_t)g->nodes[gi].inputs[1].arg.u.i;
		uint32_t gv = pt2c__node_value(g, gi);
		if (gv == PT2C_NONE) return pt2c__err(b->err, PT2C_EGRAPH, "getitem '%s' defines no value", g->nodes[gi].name);
		if (outs[idx] == PT2C_NONE) outs[idx] = gv;
		else pt2c__graph_replace_uses(g, gv, outs[idx]);
		pt2c__graph_erase_node(g, gi);
	}
	if (g->values[v].n_uses)
		return pt2c__err(b->err, PT2C_EUNSUPPORTED, "the results of '%s' are used other than through getitem", name);
	for (uint32_t i = 0; i < n_elems; i++) {
		if (outs[i] == PT2C_NONE) {
			char buf[512];
			snprintf(buf, sizeof buf, "%s_unused_%u", name, i);
			uint8_t vk = PT2C_VAL_TENSOR;
			if (!as_list && s && i < s->n_returns && return_kind(&(pt2c_value){ 0 }, s->returns[i].type) == PT2C_ARG_SYM_INT)
				vk = PT2C_VAL_SYM_INT;
			if (pt2c__graph_add_value(g, buf, false, vk, &outs[i])) return pt2c__err_oom(b->err);
			name = g->nodes[id].name;
		}
		pt2c_value *ov = &g->values[outs[i]];
		if (has_list_meta && i < g->values[v].u.list.n) { /* by index, never by user order (defect 9) */
			ov->kind = PT2C_VAL_TENSOR;
			ov->has_meta = true;
			ov->u.tensor = &g->values[v].u.list.items[i]; /* arena: stable */
		}
		items[i].kind = return_kind(ov, !as_list && s && i < s->n_returns ? s->returns[i].type : PT2C_TY_TENSOR);
		items[i].u.ref = outs[i];
		if (items[i].kind == PT2C_ARG_CUSTOM_OBJ) { items[i].u.obj.ref = outs[i]; items[i].u.obj.class_fqn = ov->u.obj.class_fqn; }
	}
	if (as_list) {
		pt2c_arg out;
		memset(&out, 0, sizeof out);
		out.kind = PT2C_ARG_TENSORS;
		out.n = n_elems;
		out.u.items = items;
		return pt2c__node_set_outputs(g, id, &out, 1) ? pt2c__err_oom(b->err) : 0;
	}
	return pt2c__node_set_outputs(g, id, items, n_elems) ? pt2c__err_oom(b->err) : 0;
}

/* Give an fx-style node (outputs [FX_NODE v]) its PT2 outputs by schema returns. */
static int convert_outputs(bp *b, uint32_t id, const pt2c_schema *s)
{
	pt2c_graph *g = b->g;
	const pt2c_node *nd = &g->nodes[id];
	if (nd->n_outputs != 1 || nd->outputs[0].kind != PT2C_ARG_FX_NODE) return 0; /* already PT2-shaped */
	uint32_t v = nd->outputs[0].u.ref;
	if (v >= g->n_values) return pt2c__err(b->err, PT2C_EGRAPH, "node '%s' defines an unknown value", nd->name);
	if (s && s->n_returns == 0) {
		if (g->values[v].n_uses) return pt2c__err(b->err, PT2C_EGRAPH, "'%s' returns nothing but its value is used", nd->name);
		return pt2c__node_set_outputs(g, id, NULL, 0) ? pt2c__err_oom(b->err) : 0;
	}
	if (s && s->n_returns == 1 && (s->returns[0].type == PT2C_TY_TENSOR_LIST || s->returns[0].type == PT2C_TY_OPT_TENSOR_LIST))
		return fold_getitems(b, id, v, 0, true, s);
	if (s && s->n_returns > 1) return fold_getitems(b, id, v, s->n_returns, false, s);
	pt2c_arg out;
	memset(&out, 0, sizeof out);
	out.kind = return_kind(&g->values[v], s ? s->returns[0].type : PT2C_TY_OTHER);
	out.u.ref = v;
	if (out.kind == PT2C_ARG_CUSTOM_OBJ) { out.u.obj.ref = v; out.u.obj.class_fqn = g->values[v].u.obj.class_fqn; }
	g->nodes[id].outputs[0] = out; /* in place: same value, same producer; the node owns its array */
	return 0;
}

/* MARK: lifting */

static int attr_group(const pt2c_attr *a)
{
	switch (a->kind) {
	case PT2C_ATTR_PARAMETER: return GROUP_PARAM;
	case PT2C_ATTR_BUFFER: return GROUP_BUFFER;
	case PT2C_ATTR_CONSTANT: return GROUP_CONST;
	default: return GROUP_OBJ;
	}
}

/*
 * Replace every get_attr node by a placeholder (one per attribute), inserted before the first
 * node in canonical group order, named like the seed names them (target with '.' -> '_', made
 * unique while the get_attr still holds its name: "a_weight_1").
 */
static int lift(bp *b)
{
	pt2c_graph *g = b->g;
	pt2c_module *m = b->m;
	uint32_t n_ga = 0;
	PT2C_GRAPH_FOREACH(g, id) if (g->nodes[id].op == PT2C_OP_GET_ATTR) n_ga++;
	if (!n_ga) return 0;
	const pt2c_allocator *a = b->ctx->alloc;
	uint32_t *order = pt2c__malloc(a, (size_t)n_ga * sizeof *order);
	b->lift = pt2c__arena_calloc(&b->ctx->arena, n_ga, sizeof *b->lift);
	uint32_t *attr_ph = pt2c__malloc(a, ((size_t)m->n_attrs + 1) * sizeof *attr_ph);
	if (!order || !b->lift || !attr_ph) {
		pt2c__free(a, order);
		pt2c__free(a, attr_ph);
		return pt2c__err_oom(b->err);
	}
	for (uint32_t i = 0; i < m->n_attrs; i++) attr_ph[i] = PT2C_NONE;
	int rc = 0;
	uint32_t k = 0;
	for (int grp = 0; grp < GROUP_COUNT; grp++) {
		PT2C_GRAPH_FOREACH(g, id) {
			if (g->nodes[id].op != PT2C_OP_GET_ATTR) continue;
			const pt2c_attr *at = pt2c__module_find_attr(m, g->nodes[id].target);
			if (!at) {
				rc = pt2c__err(b->err, PT2C_ENOTFOUND, "get_attr '%s' names no attribute '%s'", g->nodes[id].name,
				               g->nodes[id].target);
				goto out;
			}
			if (attr_group(at) == grp) order[k++] = id;
		}
	}
	uint32_t anchor = g->first;
	for (uint32_t i = 0; i < n_ga; i++) {
		uint32_t ga = order[i];
		pt2c_attr *at = pt2c__module_find_attr(m, g->nodes[ga].target);
		uint32_t ai = (uint32_t)(at - m->attrs);
		uint32_t gv = pt2c__node_value(g, ga);
		if (attr_ph[ai] == PT2C_NONE) {
			char cand[512];
			size_t n = strlen(at->fqn);
			if (n >= sizeof cand) { rc = pt2c__err(b->err, PT2C_EUNSUPPORTED, "attribute name too long: %.64s...", at->fqn); goto out; }
			for (size_t j = 0; j <= n; j++) cand[j] = at->fqn[j] == '.' ? '_' : at->fqn[j];
			const char *tgt = pt2c__ctx_interns(b->ctx, cand);
			uint32_t ph, pv;
			if (!tgt || (rc = pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, cand, false, tgt, anchor, &ph)) ||
			    (rc = pt2c__node_define_value(g, ph, at->kind == PT2C_ATTR_CUSTOM_OBJ ? PT2C_VAL_CUSTOM_OBJ : PT2C_VAL_TENSOR, &pv))) {
				rc = pt2c__err(b->err, rc ? rc : PT2C_ENOMEM, "cannot lift attribute '%s'", at->fqn);
				goto out;
			}
			pt2c_value *val = &g->values[pv];
			val->has_meta = true;
			if (at->kind == PT2C_ATTR_CUSTOM_OBJ) {
				/* like the seed: the object's name is the get_attr node it came from */
				val->u.obj.name = g->nodes[ga].name;
				val->u.obj.class_fqn = at->class_fqn && at->class_fqn[0] ? at->class_fqn :
				                       pt2c__ctx_interns(b->ctx, PT2C_ENGINE_CLASS_FQN);
			} else {
				/* the true metadata (defect 5); a copy: the attribute array may move */
				pt2c_tensor_meta *tm = pt2c__arena_memdup(&b->ctx->arena, &at->tensor.meta, sizeof at->tensor.meta);
				if (!tm) {
					rc = pt2c__err_oom(b->err);
					goto out;
				}
				val->u.tensor = tm;
			}
			attr_ph[ai] = pv;
			b->lift[b->n_lift].value = pv;
			b->lift[b->n_lift].attr = ai;
			b->lift[b->n_lift].group = (uint8_t)attr_group(at);
			b->n_lift++;
		}
		if (gv != PT2C_NONE) pt2c__graph_replace_uses(g, gv, attr_ph[ai]);
		pt2c__graph_erase_node(g, ga);
	}
out:
	pt2c__free(a, order);
	pt2c__free(a, attr_ph);
	return rc;
}

/* MARK: graph conversion */

/* Flatten the fx output argument into a list of typed leaves (explicit stack, depth-capped). */
static int convert_output_node(bp *b, uint32_t id)
{
	pt2c_graph *g = b->g;
	const pt2c_allocator *a = b->ctx->alloc;
	const pt2c_node *nd = &g->nodes[id];
	if (nd->n_inputs == 0) return pt2c__node_set_inputs(g, id, NULL, 0) ? pt2c__err_oom(b->err) : 0;
	typedef struct frame { const pt2c_arg *list; uint32_t i; } frame;
	frame stack[64];
	uint32_t depth = 0;
	pt2c_named_arg *leaves = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	const pt2c_arg *root = &nd->inputs[0].arg;
	const pt2c_arg *cur = root;
	for (;;) {
		if (cur) {
			if (cur->kind == PT2C_ARG_FX_LIST || cur->kind == PT2C_ARG_FX_TUPLE) {
				if (depth == PT2C_ARRAY_LEN(stack)) { rc = pt2c__err(b->err, PT2C_EUNSUPPORTED, "output nested too deeply"); break; }
				stack[depth].list = cur;
				stack[depth].i = 0;
				depth++;
			} else {
				if (pt2c__grow(a, (void **)&leaves, &cap, n + 1, sizeof *leaves)) { rc = pt2c__err_oom(b->err); break; }
				memset(&leaves[n], 0, sizeof leaves[n]);
				if ((rc = convert_arg(b, cur, PT2C_TY_TENSOR, &leaves[n].arg, "output"))) break;
				n++;
			}
			cur = NULL;
		}
		if (!depth) break;
		frame *f = &stack[depth - 1];
		if (f->i < f->list->n) cur = &f->list->u.items[f->i++];
		else depth--;
	}
	if (!rc && pt2c__node_set_inputs(g, id, leaves, (uint32_t)n)) rc = pt2c__err_oom(b->err);
	pt2c__free(a, leaves);
	return rc;
}

/* Convert every node to its PT2 form, in graph order. */
static int convert_nodes(bp *b)
{
	pt2c_graph *g = b->g;
	int rc = 0;
	for (uint32_t id = g->first; id != PT2C_NONE && !rc; id = g->nodes[id].next) {
		pt2c_node *nd = &g->nodes[id];
		switch (nd->op) {
		case PT2C_OP_PLACEHOLDER:
			rc = convert_outputs(b, id, NULL);
			break;
		case PT2C_OP_GET_ATTR:
			rc = pt2c__err(b->err, PT2C_EGRAPH, "get_attr '%s' was not lifted", nd->name);
			break;
		case PT2C_OP_CALL_MODULE:
			rc = pt2c__err(b->err, PT2C_EGRAPH, "call_module '%s' is left after inlining", nd->name);
			break;
		case PT2C_OP_OUTPUT:
			rc = convert_output_node(b, id);
			break;
		default: {
			if (!nd->target) {
				rc = pt2c__err(b->err, PT2C_EGRAPH, "node '%s' has no target", nd->name);
				break;
			}
			if (strcmp(nd->target, PT2C_TARGET_GETITEM) == 0 || strcmp(nd->target, "operator.getitem") == 0) {
				rc = pt2c__err(b->err, PT2C_EUNSUPPORTED, "getitem '%s' does not read a multi-output operator", nd->name);
				break;
			}
			const pt2c_schema *s = find_schema(b, nd->target);
			if (!s && !is_sym_builtin(nd->target)) {
				rc = pt2c__err(b->err, PT2C_ENOTFOUND, "no schema for operator %s", nd->target);
				break;
			}
			if (s && strcmp(nd->target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0 && nd->n_inputs > s->n_args) {
				rc = pt2c__err(b->err, PT2C_ECORRUPT, "'%s' has %u arguments, more than any engine ABI", nd->name, nd->n_inputs);
				break;
			}
			if ((rc = convert_inputs(b, id, s))) break;
			rc = convert_outputs(b, id, s);
			break;
		}
		}
	}
	return rc;
}

/* MARK: signature, attributes, ranges */

static const char k_leaf[] = "{\"type\": null, \"context\": null, \"children_spec\": []}";

/* "[1, {tuple of n leaves}]" (wrapped as in_spec's (args, kwargs) when in_spec is true). */
static const char *default_spec(pt2c_ctx *ctx, uint32_t n, bool in_spec)
{
	pt2c_buf buf;
	pt2c__buf_init(&buf, ctx->alloc);
	pt2c__buf_puts(&buf, "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [");
	if (in_spec) pt2c__buf_puts(&buf, "{\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [");
	for (uint32_t i = 0; i < n; i++) {
		if (i) pt2c__buf_puts(&buf, ", ");
		pt2c__buf_puts(&buf, k_leaf);
	}
	if (in_spec) pt2c__buf_puts(&buf, "]}, {\"type\": \"builtins.dict\", \"context\": \"[]\", \"children_spec\": []}");
	pt2c__buf_puts(&buf, "]}]");
	const char *s = buf.err ? NULL : pt2c__ctx_intern(ctx, buf.data, buf.len);
	pt2c__buf_free(&buf);
	return s;
}

typedef struct symset { pt2c_map seen; const pt2c_map *known; pt2c_symrange *out; uint32_t n, cap; pt2c_ctx *ctx; bool oom; } symset;

/* Add every symbol named in one expression: identifiers that are module symbols or look like s<N>/u<N>. */
static void scan_expr(symset *ss, const pt2c_module *m, const char *e)
{
	for (const char *p = e; p && *p;) {
		if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || *p == '_')) { p++; continue; }
		const char *q = p;
		while (((*q | 32) >= 'a' && (*q | 32) <= 'z') || *q == '_' || (*q >= '0' && *q <= '9')) q++;
		size_t len = (size_t)(q - p);
		uint64_t idx;
		bool known = pt2c__map_get(ss->known, p, len, &idx);
		bool looks = len >= 2 && (p[0] == 's' || p[0] == 'u') && strspn(p + 1, "0123456789") == len - 1;
		if ((known || looks) && !pt2c__map_get(&ss->seen, p, len, &idx)) {
			if (ss->n == ss->cap) {
				uint32_t nc = ss->cap ? ss->cap * 2 : 8;
				pt2c_symrange *nr = pt2c__arena_calloc(&ss->ctx->arena, nc, sizeof *nr);
				if (!nr) { ss->oom = true; return; }
				if (ss->n) memcpy(nr, ss->out, ss->n * sizeof *nr);
				ss->out = nr;
				ss->cap = nc;
			}
			pt2c_symrange *r = &ss->out[ss->n];
			memset(r, 0, sizeof *r);
			if (known) *r = m->symbols[idx];
			else r->name = pt2c__ctx_intern(ss->ctx, p, len);
			if (!r->name || pt2c__map_put(&ss->seen, r->name, len, ss->n, true, NULL)) { ss->oom = true; return; }
			ss->n++;
		}
		p = q;
	}
}

static void scan_meta(symset *ss, const pt2c_module *m, const pt2c_tensor_meta *t)
{
	for (uint32_t i = 0; i < t->ndim; i++) {
		if (t->sizes && t->sizes[i].kind == PT2C_SYM_EXPR) scan_expr(ss, m, t->sizes[i].expr);
		if (t->strides && t->strides[i].kind == PT2C_SYM_EXPR) scan_expr(ss, m, t->strides[i].expr);
	}
	if (t->storage_offset.kind == PT2C_SYM_EXPR) scan_expr(ss, m, t->storage_offset.expr);
}

/* Range constraints for every symbol in the placeholders' metadata (defect 8), then in other values. */
static int build_ranges(bp *b, pt2c_program *p)
{
	pt2c_module *m = b->m;
	pt2c_graph *g = b->g;
	pt2c_map known;
	pt2c__map_init(&known, b->ctx->alloc);
	symset ss = { { 0 }, &known, NULL, 0, 0, b->ctx, false };
	pt2c__map_init(&ss.seen, b->ctx->alloc);
	for (uint32_t i = 0; i < m->n_symbols && !ss.oom; i++)
		if (m->symbols[i].name && pt2c__map_put(&known, m->symbols[i].name, strlen(m->symbols[i].name), i, true, NULL)) ss.oom = true;
	for (int pass = 0; pass < 2 && !ss.oom; pass++) {
		PT2C_GRAPH_FOREACH(g, id) {
			const pt2c_node *nd = &g->nodes[id];
			if ((nd->op == PT2C_OP_PLACEHOLDER) != (pass == 0)) continue;
			for (uint32_t o = 0; o < nd->n_outputs; o++) {
				const pt2c_arg *oa = &nd->outputs[o];
				uint32_t cnt = pt2c__arg_is_list(oa->kind) ? oa->n : 1;
				for (uint32_t j = 0; j < cnt; j++) {
					const pt2c_arg *leaf = pt2c__arg_is_list(oa->kind) ? &oa->u.items[j] : oa;
					if (leaf->kind != PT2C_ARG_TENSOR && leaf->kind != PT2C_ARG_SYM_INT) continue;
					if (leaf->u.ref >= g->n_values) continue;
					const pt2c_value *v = &g->values[leaf->u.ref];
					if (v->has_meta && v->kind == PT2C_VAL_TENSOR) scan_meta(&ss, m, v->u.tensor);
					else if (v->has_meta && v->kind == PT2C_VAL_SYM_INT && v->u.sym.kind == PT2C_SYM_EXPR) scan_expr(&ss, m, v->u.sym.expr);
				}
			}
		}
	}
	pt2c__map_free(&known);
	pt2c__map_free(&ss.seen);
	if (ss.oom) return pt2c__err_oom(b->err);
	p->ranges = ss.out;
	p->n_ranges = ss.n;
	return 0;
}

/* Keep only the lifted attributes, in signature order (state dict then constants); release the rest. */
static int reorder_attrs(bp *b, const uint32_t *order, uint32_t n)
{
	pt2c_module *m = b->m;
	const pt2c_allocator *a = b->ctx->alloc;
	pt2c_attr *tmp = pt2c__malloc(a, ((size_t)n + 1) * sizeof *tmp);
	uint8_t *keep = pt2c__calloc(a, (size_t)m->n_attrs + 1, 1);
	if (!tmp || !keep) {
		pt2c__free(a, tmp);
		pt2c__free(a, keep);
		return pt2c__err_oom(b->err);
	}
	for (uint32_t i = 0; i < n; i++) { tmp[i] = m->attrs[order[i]]; keep[order[i]] = 1; }
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		if (keep[i]) continue;
		pt2c__storage_unref(m->attrs[i].tensor.storage);
		pt2c__storage_unref(m->attrs[i].blob);
		if (m->attrs[i].engine) pt2c__storage_unref(m->attrs[i].engine->engine);
	}
	if (n) memcpy(m->attrs, tmp, (size_t)n * sizeof *tmp);
	m->n_attrs = n;
	pt2c__free(a, tmp);
	pt2c__free(a, keep);
	pt2c__map_free(&m->attr_by_fqn);
	pt2c__map_init(&m->attr_by_fqn, a);
	for (uint32_t i = 0; i < n; i++)
		if (pt2c__map_put(&m->attr_by_fqn, m->attrs[i].fqn, strlen(m->attrs[i].fqn), i, true, NULL)) return pt2c__err_oom(b->err);
	return 0;
}

/* Input and output specs from the compacted graph; value_map renumbers the lifted values. */
static int build_signature(bp *b, pt2c_program *p, const uint32_t *value_map, uint32_t n_old_values)
{
	pt2c_graph *g = b->g;
	pt2c_ctx *ctx = b->ctx;
	int rc = 0;
	uint32_t *lift_of = pt2c__malloc(ctx->alloc, ((size_t)g->n_values + 1) * sizeof *lift_of);
	uint32_t *attr_order = pt2c__malloc(ctx->alloc, ((size_t)b->n_lift + 1) * sizeof *attr_order);
	if (!lift_of || !attr_order) { rc = pt2c__err_oom(b->err); goto out; }
	for (uint32_t v = 0; v < g->n_values; v++) lift_of[v] = PT2C_NONE;
	for (uint32_t i = 0; i < b->n_lift; i++) {
		uint32_t ov = b->lift[i].value;
		uint32_t nv = ov < n_old_values ? value_map[ov] : PT2C_NONE;
		if (nv == PT2C_NONE || nv >= g->n_values) { rc = pt2c__err(b->err, PT2C_EGRAPH, "a lifted input disappeared"); goto out; }
		lift_of[nv] = i;
	}
	uint32_t n_ph = 0;
	PT2C_GRAPH_FOREACH(g, id) if (g->nodes[id].op == PT2C_OP_PLACEHOLDER) n_ph++;
	p->inputs = n_ph ? pt2c__arena_calloc(&ctx->arena, n_ph, sizeof *p->inputs) : NULL;
	if (n_ph && !p->inputs) { rc = pt2c__err_oom(b->err); goto out; }
	uint32_t k = 0, n_user = 0, n_attr = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_PLACEHOLDER) continue;
		pt2c_input_spec *is = &p->inputs[k++];
		if (nd->n_outputs != 1) { rc = pt2c__err(b->err, PT2C_EGRAPH, "placeholder '%s' has no single output", nd->name); goto out; }
		is->arg = nd->outputs[0];
		uint32_t v = nd->outputs[0].u.ref;
		uint32_t li = v < g->n_values && (nd->outputs[0].kind == PT2C_ARG_TENSOR || nd->outputs[0].kind == PT2C_ARG_CUSTOM_OBJ)
		                  ? lift_of[v] : PT2C_NONE;
		if (li == PT2C_NONE) {
			is->kind = PT2C_IN_USER_INPUT;
			n_user++;
			continue;
		}
		const pt2c_attr *at = &b->m->attrs[b->lift[li].attr];
		attr_order[n_attr++] = b->lift[li].attr;
		is->target = at->fqn;
		switch (b->lift[li].group) {
		case GROUP_PARAM: is->kind = PT2C_IN_PARAMETER; break;
		case GROUP_BUFFER: is->kind = PT2C_IN_BUFFER; is->persistent = at->persistent; break; /* defect 1 */
		case GROUP_CONST: is->kind = PT2C_IN_TENSOR_CONSTANT; break;
		default:
			is->kind = PT2C_IN_CUSTOM_OBJ;
			is->arg.kind = PT2C_ARG_CUSTOM_OBJ;
			is->arg.u.obj.ref = v;
			is->arg.u.obj.class_fqn = g->values[v].u.obj.class_fqn; /* defect 7 */
			break;
		}
	}
	p->n_inputs = k;
	uint32_t on = pt2c__graph_output_node(g);
	if (on == PT2C_NONE) { rc = pt2c__err(b->err, PT2C_EGRAPH, "the graph has no output node"); goto out; }
	uint32_t n_out = g->nodes[on].n_inputs;
	p->outputs = n_out ? pt2c__arena_calloc(&ctx->arena, n_out, sizeof *p->outputs) : NULL;
	if (n_out && !p->outputs) { rc = pt2c__err_oom(b->err); goto out; }
	/* the first outputs are the buffer mutations the export declared (aliased engine outputs) */
	uint32_t n_mut = b->m->n_mutation_outputs;
	if (n_mut > n_out) { rc = pt2c__err(b->err, PT2C_EGRAPH, "%u buffer mutations for %u graph outputs", n_mut, n_out); goto out; }
	for (uint32_t i = 0; i < n_out; i++) {
		p->outputs[i].kind = i < n_mut ? PT2C_OUT_BUFFER_MUTATION : PT2C_OUT_USER_OUTPUT;
		p->outputs[i].arg = g->nodes[on].inputs[i].arg;
		if (i < n_mut) p->outputs[i].target = b->m->mutation_targets[i];
	}
	p->n_outputs = n_out;

	if ((rc = reorder_attrs(b, attr_order, n_attr))) goto out;

	/* module call graph: one root entry with the pytree specs */
	pt2c_module_call *c = pt2c__arena_calloc(&ctx->arena, 1, sizeof *c);
	if (!c) { rc = pt2c__err_oom(b->err); goto out; }
	c->fqn = pt2c__ctx_interns(ctx, "");
	c->has_signature = true;
	c->in_spec = b->m->in_spec ? b->m->in_spec : default_spec(ctx, n_user, true);
	/* the user-visible outputs only: upstream builds out_spec from the untagged outputs */
	c->out_spec = b->m->out_spec ? b->m->out_spec : default_spec(ctx, n_out - n_mut, false);
	if (!c->fqn || !c->in_spec || !c->out_spec) { rc = pt2c__err_oom(b->err); goto out; }
	p->calls = c;
	p->n_calls = 1;
	/* the signature holds them now (the module becomes the program's) */
	b->m->mutation_targets = NULL;
	b->m->n_mutation_outputs = 0;
out:
	pt2c__free(ctx->alloc, lift_of);
	pt2c__free(ctx->alloc, attr_order);
	return rc;
}

/* MARK: entry points */

int pt2c__module_to_program(pt2c_program **out, pt2c_module **mp, const pt2c_schema_table *schemas, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && mp && *mp && (*mp)->graph);
	*out = NULL;
	pt2c_module *m = *mp;
	*mp = NULL;
	pt2c_ctx *ctx = m->ctx;
	const pt2c_allocator *a = ctx->alloc;
	bp b;
	memset(&b, 0, sizeof b);
	b.m = m;
	b.g = m->graph;
	b.ctx = ctx;
	b.err = err;
	pt2c_schema_table *builtin = NULL;
	pt2c_program *p = NULL;
	uint32_t *vmap = NULL;
	int rc = 0;
	if (!schemas) {
		if ((rc = pt2c__schema_table_new(&builtin, ctx, err))) goto fail;
		schemas = builtin;
	}
	b.schemas = schemas;
	if (m->op_schemas.count) {
		if ((rc = pt2c__schema_table_new_empty(&b.extra, ctx, err))) goto fail;
		for (size_t i = 0; i < m->op_schemas.cap; i++) {
			const pt2c_map_slot *sl = &m->op_schemas.slots[i];
			if (!sl->key) continue;
			const char *text = (const char *)(uintptr_t)sl->value;
			if (text && (rc = pt2c__schema_table_add(b.extra, text, strlen(text), err))) goto fail;
		}
	}
	if ((rc = lift(&b))) goto fail;
	assert(pt2c__graph_uses_exact(b.g)); /* lift keeps them */
	if ((rc = pt2c__export_getitem_index(b.g, &b.gi_head, &b.gi_next, err))) goto fail;
	b.n_gi = b.g->n_values;
	if ((rc = convert_nodes(&b))) goto fail;
	/* not needed past conversion: give the getitem index back before compaction's own tables */
	pt2c__free(a, b.gi_head);
	pt2c__free(a, b.gi_next);
	b.gi_head = b.gi_next = NULL;
	b.n_gi = 0;
	uint32_t n_old = b.g->n_values;
	vmap = pt2c__malloc(a, ((size_t)n_old + 1) * sizeof *vmap);
	if (!vmap) { rc = pt2c__err_oom(err); goto fail; }
	if ((rc = pt2c__graph_compact_map(b.g, vmap, err))) goto fail;
	if ((rc = pt2c__program_new(ctx, &p))) { rc = pt2c__err(err, rc, "cannot create the program"); goto fail; }
	if ((rc = build_signature(&b, p, vmap, n_old))) goto fail;
	if ((rc = build_ranges(&b, p))) goto fail;
	p->verifiers = pt2c__arena_calloc(&ctx->arena, 1, sizeof *p->verifiers);
	if (!p->verifiers || !(p->verifiers[0] = pt2c__ctx_interns(ctx, "ATEN")) ||
	    !(p->torch_version = pt2c__ctx_interns(ctx, "2.11.0"))) { rc = pt2c__err_oom(err); goto fail; }
	p->n_verifiers = 1;
	pt2c__module_free(p->mod);
	p->mod = m;
	m = NULL;
	*out = p;
	p = NULL;
fail:
	pt2c__free(a, vmap);
	pt2c__free(a, b.gi_head);
	pt2c__free(a, b.gi_next);
	pt2c__free(a, b.scratch);
	pt2c__schema_table_free(b.extra);
	pt2c__schema_table_free(builtin);
	pt2c__program_free(p);
	pt2c__module_free(m);
	return rc;
}

int pt2c__export_module(pt2c_program **out, pt2c_module **mp, bool cross_compile, const pt2c_schema_table *schemas,
                        pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && mp && *mp);
	*out = NULL;
	pt2c_module *m = *mp;
	int rc;
	if ((rc = pt2c__pass_inline_engines_nocompact(m, cross_compile, err)) || (rc = pt2c__pass_inline_fallbacks_nocompact(m, err)) ||
	    (rc = pt2c__pass_remove_unused_submodules(m, err)) || (rc = pt2c__pass_dce_nocompact(m, err)) ||
	    (rc = pt2c__module_lint(m, err))) {
		pt2c__module_free(m);
		*mp = NULL;
		return rc;
	}
	pt2c_program *p = NULL;
	if ((rc = pt2c__module_to_program(&p, mp, schemas, err))) return rc;
	if ((rc = pt2c__program_lint(p, err))) {
		pt2c__program_free(p);
		return rc;
	}
	*out = p;
	return 0;
}
