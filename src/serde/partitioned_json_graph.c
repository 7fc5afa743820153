/*
 * partitioned_json_graph.c -- partitioned-module JSON reader: "graph" arrays (one node's DOM at a
 * time when the array was left lazy), nodes, and the metadata of the values they define.
 * See partitioned_json.h.
 */
#include "serde/partitioned_json.h"

/* MARK: nodes and graphs */

static const char *const OPS[PT2C_OP__COUNT] = {
	[PT2C_OP_PLACEHOLDER] = "placeholder", [PT2C_OP_GET_ATTR] = "get_attr",
	[PT2C_OP_CALL_FUNCTION] = "call_function", [PT2C_OP_CALL_MODULE] = "call_module",
	[PT2C_OP_OUTPUT] = "output",
};

/* Fill value `vid` from the node's "val" (see the grammar at the top). */
static int read_val(prd *r, pt2c_graph *g, uint32_t vid, const pt2c_json *val)
{
	pt2c_value *v = &g->values[vid];
	int rc = 0;
	if (!val || val->type == PT2C_JSON_NULL) {
		v->kind = PT2C_VAL_OTHER;
		v->has_meta = false;
		return 0;
	}
	AT(r, "val");
	/* describe()'s spellings for what is not a tensor: {"repr": "..."} -- alone or inside a list --
	   carries no metadata; {"symint": expr} is a symbolic int */
	if (val->type == PT2C_JSON_ARRAY) {
		for (uint32_t k = 0; k < val->n; k++) {
			const pt2c_json *it = &val->u.items[k];
			if (it->type == PT2C_JSON_OBJECT && !pt2c__json_get(it, "dtype") &&
			    (pt2c__json_get(it, "repr") || pt2c__json_get(it, "symint"))) {
				v->kind = PT2C_VAL_OTHER; /* a mixed tuple: the IR keeps lists of tensors only */
				v->has_meta = false;
				return 0;
			}
		}
	}
	if (val->type == PT2C_JSON_OBJECT && val->n == 1 && pt2c__json_get(val, "repr")) {
		v->kind = PT2C_VAL_OTHER;
		v->has_meta = false;
		return 0;
	}
	if (val->type == PT2C_JSON_OBJECT && val->n == 1 && pt2c__json_get(val, "symint")) {
		const pt2c_json *e = pt2c__json_val(val, 0);
		pt2c_sym s = pt2c__sym_int(0);
		{
			AT(r, "symint");
			if (e->type == PT2C_JSON_INT) s.i = e->u.i; /* a concrete value may be negative */
			else if (e->type == PT2C_JSON_STRING) rc = read_dim(r, e, &s);
			else rc = type_error(r, e, "an integer or an expression");
			if (rc) return rc;
		}
		v = &g->values[vid];
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = s;
		return 0;
	}
	switch (val->type) {
	case PT2C_JSON_OBJECT: {
		pt2c_tensor_meta m;
		rc = read_meta(r, val, &m);
		v = &g->values[vid];
		const pt2c_tensor_meta *sm = NULL;
		if (!rc && pt2c__meta_pool_intern(&r->metas, r->ctx, &m, &sm)) rc = oom(r);
		if (!rc) { v->kind = PT2C_VAL_TENSOR; v->has_meta = true; v->u.tensor = sm; }
		break;
	}
	case PT2C_JSON_ARRAY: {
		pt2c_tensor_meta *items = NULL;
		if (val->n && !(items = pt2c__arena_calloc(&r->ctx->arena, val->n, sizeof *items))) { rc = oom(r); break; }
		EACH(r, it, val, !rc)
			rc = read_meta(r, it.val, &items[it.i]);
		if (rc) break;
		v = &g->values[vid];
		v->kind = PT2C_VAL_TENSOR_LIST;
		v->has_meta = true;
		v->u.list.n = val->n;
		v->u.list.items = items;
		break;
	}
	case PT2C_JSON_INT:
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = pt2c__sym_int(val->u.i);
		break;
	case PT2C_JSON_STRING: {
		pt2c_sym s;
		rc = read_dim(r, val, &s);
		if (rc) break;
		v = &g->values[vid];
		v->kind = PT2C_VAL_SYM_INT;
		v->has_meta = true;
		v->u.sym = s;
		break;
	}
	case PT2C_JSON_TRUE:
	case PT2C_JSON_FALSE:
		v->kind = PT2C_VAL_SYM_BOOL;
		v->has_meta = true;
		v->u.sym.kind = PT2C_SYM_BOOL;
		v->u.sym.i = val->type == PT2C_JSON_TRUE;
		break;
	default: /* REAL */
		v->kind = PT2C_VAL_SYM_FLOAT;
		v->has_meta = true;
		v->u.sym.kind = PT2C_SYM_FLOAT;
		v->u.sym.f = val->u.d;
		break;
	}
	return rc;
}

/* Room for n named inputs in the scratch array. */
static int tmp_inputs(prd *r, size_t n)
{
	if (n <= r->tmp_cap) return 0;
	void *p = r->tmp_in;
	if (pt2c__grow(r->ctx->alloc, &p, &r->tmp_cap, n, sizeof(pt2c_named_arg))) return oom(r);
	r->tmp_in = p;
	return 0;
}

/* Node i of the graph array (path already points at it). */
static int read_node(prd *r, pt2c_graph *g, const pt2c_json *n, bool *saw_output)
{
	if (n->type != PT2C_JSON_OBJECT) return type_error(r, n, "a node object");
	const pt2c_json *opj, *namej, *targetj, *args, *kwargs;
	int rc;
	if ((rc = need(r, n, "op", PT2C_JSON_STRING, false, &opj)) != 0) return rc;
	if ((rc = need(r, n, "name", PT2C_JSON_STRING, false, &namej)) != 0) return rc;
	if ((rc = need(r, n, "target", PT2C_JSON_STRING, false, &targetj)) != 0) return rc;
	if ((rc = need(r, n, "args", PT2C_JSON_ARRAY, true, &args)) != 0) return rc;
	if ((rc = need(r, n, "kwargs", PT2C_JSON_OBJECT, true, &kwargs)) != 0) return rc;
	int op = -1;
	for (int k = 0; k < PT2C_OP__COUNT; k++)
		if (pt2c__json_streq(opj, OPS[k])) op = k;
	if (op < 0) {
		AT(r, "op");
		return fail(r, PT2C_ECORRUPT, opj, "unknown op \"%.*s\"", shown(opj), opj->u.s);
	}
	if (namej->n == 0 || targetj->n == 0) {
		AT(r, namej->n == 0 ? "name" : "target");
		return fail(r, PT2C_ECORRUPT, namej->n == 0 ? namej : targetj, "empty node %s", namej->n == 0 ? "name" : "target");
	}
	if (*saw_output) return fail(r, PT2C_EGRAPH, n, "node %.*s comes after the output node", shown(namej), namej->u.s);
	const char *name, *target;
	uint32_t name_hash;
	{
		AT(r, "name");
		if (!(name = intern_name_h(r, namej, &name_hash, &rc))) return rc;
	}
	{
		AT(r, "target");
		if (!(target = intern_name(r, targetj, &rc))) return rc;
	}
	uint32_t id;
	/* claimed with the hash just made (no second intern), appended in order */
	rc = pt2c__graph_add_node_interned(g, op, name, namej->n, name_hash, target, &id);
	if (rc == PT2C_EGRAPH) {
		AT(r, "name");
		return fail(r, PT2C_EGRAPH, namej, "duplicate node name %s", name);
	}
	if (rc) return oom(r);

	uint32_t nargs = args ? args->n : 0, nkw = kwargs ? kwargs->n : 0;
	if (op == PT2C_OP_OUTPUT) {
		*saw_output = true;
		if (nargs != 1) {
			AT(r, "args");
			return fail(r, PT2C_ECORRUPT, args ? args : n, "output node has %" PRIu32 " arguments, expected 1", nargs);
		}
		nkw = 0;
	}
	if ((rc = tmp_inputs(r, (size_t)nargs + nkw)) != 0) return rc;
	if (nargs) {
		AT(r, "args");
		EACH(r, it, args, !rc) {
			pt2c_named_arg *na = &r->tmp_in[it.i];
			na->name = NULL;
			na->kind = PT2C_ARGKIND_POSITIONAL;
			rc = read_arg(r, g, it.val, name, 0, &na->arg);
		}
		if (rc) return rc;
	}
	if (nkw) {
		AT(r, "kwargs");
		EACH(r, it, kwargs, !rc) {
			pt2c_named_arg *na = &r->tmp_in[nargs + it.i];
			na->kind = PT2C_ARGKIND_KEYWORD;
			na->name = intern_name(r, it.key, &rc);
			if (na->name) rc = read_arg(r, g, it.val, name, 0, &na->arg);
		}
		if (rc) return rc;
	}
	if (pt2c__node_set_inputs(g, id, r->tmp_in, nargs + nkw)) return oom(r);
	if (op == PT2C_OP_OUTPUT) return 0;
	uint32_t vid;
	rc = pt2c__node_define_value(g, id, PT2C_VAL_OTHER, &vid);
	if (rc == PT2C_EGRAPH) return fail(r, PT2C_EGRAPH, namej, "value name %s is already taken", name);
	if (rc) return oom(r);
	return read_val(r, g, vid, pt2c__json_get(n, "val"));
}

/* The "graph" array of obj into g (path points at obj). */
int read_graph(prd *r, pt2c_graph *g, const pt2c_json *obj)
{
	const pt2c_json *arr;
	int rc = need(r, obj, "graph", PT2C_JSON_ARRAY, false, &arr);
	if (rc) return rc;
	AT(r, "graph");
	bool saw_output = false;
	if (arr->type == PT2C_JSON_RAW) {
		/* each node gets its own small DOM: the whole graph's DOM would dwarf the module built from it */
		uint64_t cursor = 0, dropped = arr->pos;
		bool drop = r->res && r->res->file_mapped;
		/* room for all of them at once (a node is far more than 32 bytes of JSON: the count is bounded by the text) */
		if (arr->n <= arr->u.raw_len / 32 && pt2c__graph_presize(g, arr->n)) rc = oom(r);
		else pt2c__graph_prefault(g);
		/* a large graph: its nodes parsed on a helper thread while the ones before are built */
		pt2c_json_ahead *ah = rc || r->no_ahead ? NULL : pt2c__json_ahead_start(r->data, r->len, arr, &r->opts, r->alloc);
		for (uint32_t k = 0; !rc; k++) {
			pt2c_json *n = NULL;
			rc = pt2c__json_ahead_or_raw_next(ah, r->data, r->len, arr, &cursor, &r->opts, &r->node_dom, &n, r->err);
			if (rc) break;
			if (!n) {
				r->raw_done++;
				break;
			}
			{
				AT_IDX(r, k);
				rc = read_node(r, g, n, &saw_output);
			}
			/*
			 * Give the parsed text's pages back every few MiB: the graph read from it would
			 * otherwise sit in memory next to all of its JSON. Views into it (metadata strings)
			 * page in again from the file when read.
			 */
			if (drop) pt2c__drop_behind_by(r->data, &dropped, cursor, r->drop_step, false);
		}
		pt2c__json_ahead_stop(ah);
		if (drop) pt2c__drop_behind(r->data, &dropped, cursor, true);
		pt2c__arena_reset(&r->node_dom);
	} else {
		EACH(r, it, arr, !rc)
			rc = read_node(r, g, it.val, &saw_output);
	}
	if (!rc && !saw_output) rc = fail(r, PT2C_EGRAPH, arr, "graph has no output node");
	return rc;
}

