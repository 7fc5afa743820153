/*
 * pt2json_read_args.c -- model.json reader: Argument unions, and the value names they define
 * (MODE_DEF: node outputs, placeholders) or refer to (MODE_REF). See pt2json_read.h.
 */
#include "serde/pt2json_read.h"

/* MARK: arguments */

/*
 * A worker's reader (pt2json_read_par.c): record the name, to be looked up or defined when the
 * node is added in order. Only tensors read up front with tensor_values are defined this way.
 */
static int defer_name(rd *r, gst *s, const pt2c_json *namev, int mode, int vk, uint32_t *ref)
{
	pdefer *d = r->defer;
	if (mode == MODE_DEF && (vk != PT2C_VAL_TENSOR || !s->mm.tv_read))
		return PT2C__EDEFER;
	if (memchr(namev->u.s, 0, namev->n))
		return PT2C__EDEFER;
	const char *name = pt2c__ctx_intern(r->ctx, namev->u.s, namev->n);
	if (!name || pt2c__grow(d->alloc, (void **)&d->pend, &d->cap_pend, d->n_pend + 1, sizeof *d->pend))
		return pt2c__err_oom(r->err);
	pt2c_pend *e = &d->pend[d->n_pend++];
	e->slot = ref;
	e->name = name;
	e->len = namev->n;
	e->hash = pt2c__hash(name, namev->n);
	e->meta = NULL;
	e->def = mode == MODE_DEF ? (uint8_t)vk : 0;
	uint64_t mi = 0;
	if (mode == MODE_DEF && pt2c__map_get(&s->mm.mtv, namev->u.s, namev->n, &mi))
		e->meta = (const pt2c_tensor_meta *)(uintptr_t)mi;
	*ref = PT2C_NONE;
	return 0;
}

/* Define value `name` of kind `vk` (with metadata from the graph's tables) or look it up. */
static int name_ref(rd *r, gst *s, const pt2c_json *namev, int mode, int vk, uint32_t *ref)
{
	if (!pt2c__json_is(namev, PT2C_JSON_STRING))
		return pt2c__jr_type_error(&r->jr, namev, "a value name string");
	pt2c_graph *g = s->g;
	if (r->defer)
		return defer_name(r, s, namev, mode, vk, ref);
	if (mode == MODE_REF) {
		uint32_t id = pt2c__graph_find_value(g, namev->u.s, namev->n);
		if (id == PT2C_NONE)
			return fail_code(r, PT2C_EGRAPH, namev, "node '%s' input '%s' refers to undefined value '%.*s'",
			                 r->cur_node ? r->cur_node : "?", r->cur_input ? r->cur_input : "?",
			                 (int)(namev->n > 100 ? 100 : namev->n), namev->u.s);
		*ref = id;
		return 0;
	}
	const char *name = pt2c__ctx_intern(r->ctx, namev->u.s, namev->n);
	if (!name)
		return pt2c__err_oom(r->err);
	uint32_t id = 0;
	/* add_value refuses a defined name with PT2C_EGRAPH: no separate lookup first (hot path) */
	int rc = pt2c__graph_add_value(g, name, true, vk, &id);
	if (rc == PT2C_ENOMEM)
		return pt2c__err_oom(r->err);
	if (rc == PT2C_EGRAPH)
		return fail_code(r, PT2C_EGRAPH, namev, "value '%s' is defined twice", name);
	if (rc)
		return fail_code(r, rc, namev, "cannot define value '%s'", name);
	pt2c_value *val = pt2c__value(g, id);
	uint64_t mi = 0;
	const pt2c_json *mv = NULL;
	const pt2c_json *tab = NULL;
	const pt2c_map *map = NULL;
	const char *tabname = NULL;
	switch (vk) {
	case PT2C_VAL_TENSOR: tab = s->mm.tv; map = &s->mm.mtv; tabname = "tensor_values"; break;
	case PT2C_VAL_SYM_INT: tab = s->mm.si; map = &s->mm.msi; tabname = "sym_int_values"; break;
	case PT2C_VAL_SYM_BOOL: tab = s->mm.sb; map = &s->mm.msb; tabname = "sym_bool_values"; break;
	case PT2C_VAL_SYM_FLOAT: tab = s->mm.sf; map = &s->mm.msf; tabname = "sym_float_values"; break;
	case PT2C_VAL_CUSTOM_OBJ: tab = s->mm.co; map = &s->mm.mco; tabname = "custom_obj_values"; break;
	default: break;
	}
	if (vk == PT2C_VAL_TENSOR && s->mm.tv_read) { /* read up front: copy the shared metadata */
		if (pt2c__map_get(map, namev->u.s, namev->n, &mi)) {
			val->u.tensor = (const pt2c_tensor_meta *)(uintptr_t)mi;
			val->has_meta = true;
		}
		*ref = id;
		return 0;
	}
	if (!tab || !pt2c__map_get(map, namev->u.s, namev->n, &mi)) {
		*ref = id;
		return 0;
	}
	mv = pt2c__json_val(tab, mi);
	/* the metadata path: <graph>/<table>/<name> */
	uint32_t saved = r->jr.depth;
	pt2c_jr_seg keep[2];
	bool kept = r->gdepth + 2 <= PT2C_JR_PATH_MAX;
	if (kept)
		memcpy(keep, &r->jr.path[r->gdepth], sizeof keep);
	r->jr.depth = r->gdepth;
	(void)pt2c__jr_key(&r->jr, tabname, strlen(tabname));
	(void)pt2c__jr_key(&r->jr, name, namev->n);
	val = pt2c__value(g, id);
	switch (vk) {
	case PT2C_VAL_TENSOR: {
		pt2c_tensor_meta *tm = pt2c__arena_zalloc(&r->ctx->arena, sizeof *tm);
		rc = tm ? read_meta(r, mv, tm) : pt2c__err_oom(r->err);
		val->u.tensor = tm;
		break;
	}
	case PT2C_VAL_SYM_INT: rc = read_sym(r, mv, PT2C_SYM_INT, &val->u.sym); break;
	case PT2C_VAL_SYM_BOOL: rc = read_sym(r, mv, PT2C_SYM_BOOL, &val->u.sym); break;
	case PT2C_VAL_SYM_FLOAT: rc = read_sym(r, mv, PT2C_SYM_FLOAT, &val->u.sym); break;
	case PT2C_VAL_CUSTOM_OBJ:
		if ((rc = req_intern(r, mv, "name", &val->u.obj.name)) == 0)
			rc = req_intern(r, mv, "class_fqn", &val->u.obj.class_fqn);
		break;
	default: break;
	}
	r->jr.depth = saved;
	if (kept)
		memcpy(&r->jr.path[r->gdepth], keep, sizeof keep);
	if (rc)
		return rc;
	val->has_meta = true;
	*ref = id;
	return 0;
}

/* {"name": str} TensorArgument/TokenArgument. */
int tensor_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *nm = NULL;
	int rc = req(r, v, "name", &nm);
	if (rc)
		return rc;
	AT(r, "name");
	out->kind = PT2C_ARG_TENSOR;
	return name_ref(r, s, nm, mode, PT2C_VAL_TENSOR, &out->u.ref);
}

/* {"as_name": str} | {"as_<lit>": v}: the SymInt/SymBool/SymFloat argument forms. */
static int sym_arg(rd *r, gst *s, const pt2c_json *v, int mode, int kind, pt2c_arg *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	out->kind = (uint8_t)kind;
	AT_N(r, tag->u.s, tag->n);
	if (str_is(tag, "as_name")) {
		int vk = kind == PT2C_ARG_SYM_INT ? PT2C_VAL_SYM_INT : kind == PT2C_ARG_SYM_BOOL ? PT2C_VAL_SYM_BOOL : PT2C_VAL_SYM_FLOAT;
		rc = name_ref(r, s, val, mode, vk, &out->u.ref);
	} else if (kind == PT2C_ARG_SYM_INT && str_is(tag, "as_int")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_int(r, val, &out->u.i);
	} else if (kind == PT2C_ARG_SYM_BOOL && str_is(tag, "as_bool")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_bool(r, val, &out->u.b);
	} else if (kind == PT2C_ARG_SYM_FLOAT && str_is(tag, "as_float")) {
		out->flags |= PT2C_ARGF_LITERAL;
		rc = get_float(r, val, &out->u.f);
	} else {
		rc = FAIL(r, tag, "unknown tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	}
	return rc;
}

int custom_obj_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *nm = NULL;
	int rc = req(r, v, "name", &nm);
	if (rc)
		return rc;
	out->kind = PT2C_ARG_CUSTOM_OBJ;
	if ((rc = req_intern(r, v, "class_fqn", &out->u.obj.class_fqn)))
		return rc;
	{
		AT(r, "name");
		if ((rc = name_ref(r, s, nm, mode, PT2C_VAL_CUSTOM_OBJ, &out->u.obj.ref)))
			return rc;
	}
	if (mode == MODE_DEF) {
		pt2c_value *val = pt2c__value(s->g, out->u.obj.ref);
		if (!val->has_meta) { /* no custom_obj_values entry: the argument itself is the metadata */
			val->u.obj.name = val->name;
			val->u.obj.class_fqn = out->u.obj.class_fqn;
		}
	}
	return 0;
}

static int check_enum(rd *r, const pt2c_json *v, int64_t i, int kind)
{
	bool ok = false;
	if (kind == PT2C_ARG_SCALAR_TYPE)
		ok = i == 0 || pt2c__dtype_valid(i);
	else if (kind == PT2C_ARG_MEMORY_FORMAT)
		ok = i >= 0 && i <= PT2C_MEMFMT_MAX;
	else
		ok = i >= 0 && i <= PT2C_LAYOUT_MAX;
	if (!ok)
		return FAIL(r, v, "%s %lld out of range", kind == PT2C_ARG_SCALAR_TYPE ? "dtype" :
		            kind == PT2C_ARG_MEMORY_FORMAT ? "memory format" : "layout", (long long)i);
	return 0;
}

/* Item i of a list argument: one JSON element read per the list kind. */
static int list_item(rd *r, gst *s, int kind, const pt2c_json *e, int mode, pt2c_arg *it)
{
	int rc;
	switch (kind) {
	case PT2C_ARG_TENSORS:
		return tensor_arg(r, s, e, mode, it);
	case PT2C_ARG_INTS:
		it->kind = PT2C_ARG_INT;
		return get_int(r, e, &it->u.i);
	case PT2C_ARG_FLOATS:
		it->kind = PT2C_ARG_FLOAT;
		return get_float(r, e, &it->u.f);
	case PT2C_ARG_STRINGS:
		it->kind = PT2C_ARG_STRING;
		return view_str(r, e, &it->u.s, &it->n);
	case PT2C_ARG_BOOLS:
		it->kind = PT2C_ARG_BOOL;
		return get_bool(r, e, &it->u.b);
	case PT2C_ARG_SYM_INTS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_INT, it);
	case PT2C_ARG_SYM_BOOLS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_BOOL, it);
	case PT2C_ARG_SYM_FLOATS:
		return sym_arg(r, s, e, mode, PT2C_ARG_SYM_FLOAT, it);
	case PT2C_ARG_OPTIONAL_TENSORS: {
		const pt2c_json *tag = NULL, *val = NULL;
		if ((rc = union_of(r, e, &tag, &val)))
			return rc;
		if (str_is(tag, "as_none")) {
			it->kind = PT2C_ARG_NONE;
			return 0;
		}
		if (!str_is(tag, "as_tensor"))
			return FAIL(r, tag, "unknown tag '%.*s' in optional tensors", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
		AT(r, "as_tensor");
		return tensor_arg(r, s, val, mode, it);
	}
	case PT2C_ARG_NESTED_TENSORS:
	case PT2C_ARG_INT_LISTS: {
		if ((rc = want(r, e, PT2C_JSON_ARRAY)))
			return rc;
		int sub = kind == PT2C_ARG_NESTED_TENSORS ? PT2C_ARG_TENSORS : PT2C_ARG_INTS;
		it->kind = (uint8_t)sub;
		it->n = e->n;
		it->u.items = arena_array(r, e->n, sizeof(pt2c_arg));
		if (e->n && !it->u.items)
			return pt2c__err_oom(r->err);
		EACH(r, ej, e, !rc)
			rc = list_item(r, s, sub, ej.val, mode, &it->u.items[ej.i]);
		return rc;
	}
	default:
		return FAIL(r, e, "internal: not a list kind");
	}
}

static int read_arg_inner(rd *r, gst *s, const pt2c_json *tag, const pt2c_json *val, int mode, pt2c_arg *out)
{
	int kind = pt2c__arg_kind_from_tag(tag->u.s, tag->n);
	if (kind < 0)
		return FAIL(r, tag, "unknown Argument tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	memset(out, 0, sizeof *out);
	out->kind = (uint8_t)kind;
	int rc;
	switch (kind) {
	case PT2C_ARG_NONE:
		return 0; /* torch writes true; the value is not checked by its loader either */
	case PT2C_ARG_TENSOR:
		return tensor_arg(r, s, val, mode, out);
	case PT2C_ARG_INT:
		return get_int(r, val, &out->u.i);
	case PT2C_ARG_FLOAT:
		return get_float(r, val, &out->u.f);
	case PT2C_ARG_STRING:
	case PT2C_ARG_OPERATOR:
		return view_str(r, val, &out->u.s, &out->n);
	case PT2C_ARG_SYM_INT:
	case PT2C_ARG_SYM_BOOL:
	case PT2C_ARG_SYM_FLOAT:
		return sym_arg(r, s, val, mode, kind, out);
	case PT2C_ARG_SCALAR_TYPE:
	case PT2C_ARG_MEMORY_FORMAT:
	case PT2C_ARG_LAYOUT:
		if ((rc = get_int(r, val, &out->u.i)))
			return rc;
		return check_enum(r, val, out->u.i, kind);
	case PT2C_ARG_DEVICE:
		return read_device(r, val, &out->u.dev);
	case PT2C_ARG_BOOL:
		return get_bool(r, val, &out->u.b);
	case PT2C_ARG_CUSTOM_OBJ:
		return custom_obj_arg(r, s, val, mode, out);
	case PT2C_ARG_COMPLEX: {
		const pt2c_json *re = NULL, *im = NULL;
		if ((rc = req(r, val, "real", &re)) || (rc = req(r, val, "imag", &im)))
			return rc;
		{
			AT(r, "real");
			if ((rc = get_float(r, re, &out->u.c.re)))
				return rc;
		}
		AT(r, "imag");
		return get_float(r, im, &out->u.c.im);
	}
	case PT2C_ARG_GRAPH: {
		if (r->defer) /* a subgraph is read in order */
			return PT2C__EDEFER;
		const pt2c_json *gv = NULL;
		if ((rc = req_intern(r, val, "name", &out->u.g.name)) || (rc = req(r, val, "graph", &gv)))
			return rc;
		if (r->graph_depth >= GRAPH_MAX_DEPTH)
			return fail_code(r, PT2C_EUNSUPPORTED, gv, "subgraphs nested deeper than %d", GRAPH_MAX_DEPTH);
		pt2c_graph *sub;
		if ((rc = pt2c__graph_new_sub(r->ctx, &sub)))
			return pt2c__err_oom(r->err);
		void *arr = r->subs;
		if (pt2c__grow(r->ctx->alloc, &arr, &r->cap_subs, r->n_subs + 1, sizeof *r->subs)) {
			pt2c__graph_free(sub);
			return pt2c__err_oom(r->err);
		}
		r->subs = arr;
		r->subs[r->n_subs++] = sub;
		out->u.g.graph = sub;
		AT(r, "graph");
		const char *sn = r->cur_node, *si = r->cur_input;
		r->graph_depth++;
		rc = read_graph(r, gv, sub);
		r->graph_depth--;
		r->cur_node = sn;
		r->cur_input = si;
		return rc;
	}
	case PT2C_ARG_OPTIONAL_TENSOR: {
		out->n = 1;
		out->u.items = arena_array(r, 1, sizeof(pt2c_arg));
		if (!out->u.items)
			return pt2c__err_oom(r->err);
		return list_item(r, s, PT2C_ARG_OPTIONAL_TENSORS, val, mode, &out->u.items[0]);
	}
	case PT2C_ARG_STRING_TO_ARGUMENT: {
		if ((rc = want(r, val, PT2C_JSON_OBJECT)))
			return rc;
		uint32_t n = val->n;
		out->n = n;
		if (n) {
			if (!(out->u.map = arena_array(r, 1, sizeof *out->u.map)))
				return pt2c__err_oom(r->err);
			out->u.map->keys = arena_array(r, n, sizeof(const char *));
			out->u.map->key_lens = arena_array(r, n, sizeof(uint32_t));
			out->u.map->items = arena_array(r, n, sizeof(pt2c_arg));
			if (!out->u.map->keys || !out->u.map->key_lens || !out->u.map->items)
				return pt2c__err_oom(r->err);
		}
		for (uint32_t i = 0; i < n; i++) {
			const pt2c_json *k = pt2c__json_key(val, i);
			if ((rc = view_str(r, k, &out->u.map->keys[i], &out->u.map->key_lens[i])))
				return rc;
			AT_N(r, k->u.s, k->n);
			if ((rc = read_arg(r, s, pt2c__json_val(val, i), mode, &out->u.map->items[i])))
				return rc;
		}
		return 0;
	}
	default:
		break;
	}
	/* the remaining kinds are lists */
	if ((rc = want(r, val, PT2C_JSON_ARRAY)))
		return rc;
	out->n = val->n;
	out->u.items = arena_array(r, val->n, sizeof(pt2c_arg));
	if (val->n && !out->u.items)
		return pt2c__err_oom(r->err);
	EACH(r, it, val, !rc)
		rc = list_item(r, s, kind, it.val, mode, &out->u.items[it.i]);
	return rc;
}

/* One Argument union; in MODE_DEF its names define values, in MODE_REF they must exist. */
int read_arg(rd *r, gst *s, const pt2c_json *v, int mode, pt2c_arg *out)
{
	const pt2c_json *tag = NULL, *val = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	if (r->arg_depth >= ARG_MAX_DEPTH)
		return fail_code(r, PT2C_EUNSUPPORTED, v, "arguments nested deeper than %d", ARG_MAX_DEPTH);
	r->arg_depth++;
	{
		AT_N(r, tag->u.s, tag->n);
		rc = read_arg_inner(r, s, tag, val, mode, out);
	}
	r->arg_depth--;
	return rc;
}

