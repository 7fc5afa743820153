/*
 * pt2json_read_graph.c -- model.json reader: Graph objects (placeholders, nodes, outputs) and their
 * metadata tables; a lazy tensor_values or nodes span is read one entry at a time. See pt2json_read.h.
 */
#include "serde/pt2json_read.h"

/* MARK: graphs */

static int build_map(rd *r, const pt2c_json *obj, pt2c_map *m)
{
	pt2c__map_init(m, r->ctx->alloc);
	if (!obj)
		return 0;
	for (uint32_t i = 0; i < obj->n; i++) {
		const pt2c_json *k = pt2c__json_key(obj, i);
		/* first occurrence wins, as for json lookups */
		if (pt2c__map_put(m, k->u.s, k->n, i, false, NULL))
			return pt2c__err_oom(r->err);
	}
	return 0;
}

static void free_maps(meta_maps *mm)
{
	pt2c__map_free(&mm->mtv);
	pt2c__map_free(&mm->msi);
	pt2c__map_free(&mm->msb);
	pt2c__map_free(&mm->msf);
	pt2c__map_free(&mm->mco);
}

/* Metadata table `key`: required tables must be objects, optional ones may be absent/null. */
static int meta_table(rd *r, const pt2c_json *gv, const char *key, bool required, const pt2c_json **out)
{
	const pt2c_json *t = pt2c__json_get(gv, key);
	*out = NULL;
	if (!t && !required)
		return 0;
	if (t && t->type == PT2C_JSON_NULL && !required)
		return 0;
	/* a RAW span was left lazy by pt2c__pt2json_read_text: read_tensor_values reads it */
	return pt2c__jr_field(&r->jr, gv, key, PT2C_JSON_OBJECT, PT2C_JR_LAZY, out);
}

/* MARK: lazy tensor_values */

void pt2c__pt2json_tv_init(tv_state *t, const pt2c_allocator *a)
{
	memset(t, 0, sizeof *t);
	pt2c__meta_pool_init(&t->mp, a);
	pt2c__arena_init(&t->dom, a);
	pt2c__arena_init(&t->syms, a);
}

void pt2c__pt2json_tv_free(tv_state *t)
{
	pt2c__arena_free(&t->dom);
	pt2c__arena_free(&t->syms);
	pt2c__meta_pool_free(&t->mp);
}

int pt2c__pt2json_tv_next(rd *r, tv_state *t, const pt2c_json *raw, uint64_t *cursor, const pt2c_json **key,
                          const pt2c_tensor_meta **meta)
{
	pt2c_json *k = NULL, *v = NULL;
	*key = NULL;
	pt2c__arena_reset(&t->dom);
	pt2c__arena_reset(&t->syms);
	r->jr.depth = r->gdepth;
	(void)pt2c__jr_key(&r->jr, "tensor_values", 13);
	uint64_t at, n;
	bool same;
	int rc = pt2c__json_raw_next_member_memo(r->src, r->src_len, raw, cursor, &r->jopts, &t->dom, t->prev ? t->prev_at : 0,
	                                         t->prev ? t->prev_len : 0, &k, &v, &at, &n, &same, r->err);
	if (rc || !k)
		return rc; /* (a syntax error of a skimmed span: the caller parses the document again) */
	(void)pt2c__jr_key(&r->jr, k->u.s, k->n);
	if (!same) {
		pt2c_tensor_meta m;
		const pt2c_tensor_meta *shared = NULL;
		r->sym_arena = &t->syms;
		rc = read_meta(r, v, &m);
		r->sym_arena = NULL;
		if (!rc && pt2c__meta_pool_intern(&t->mp, r->ctx, &m, &shared))
			rc = pt2c__err_oom(r->err);
		t->prev = rc ? NULL : shared;
		t->prev_at = at;
		t->prev_len = n;
		if (rc)
			return rc;
	}
	*key = k;
	*meta = t->prev;
	return 0;
}

int pt2c__pt2json_tv_add(rd *r, gst *s, const pt2c_json *key, const pt2c_tensor_meta *meta)
{
	const char *name = NULL;
	bool dup = false;
	if (!(name = pt2c__ctx_intern(r->ctx, key->u.s, key->n)) ||
	    pt2c__map_put(&s->mm.mtv, name, key->n, (uint64_t)(uintptr_t)meta, false, &dup))
		return pt2c__err_oom(r->err);
	if (dup) /* the JSON scan refuses it (pt2c__json_parse_skim): the caller parses again for its message */
		return FAIL(r, key, "duplicate key '%s'", name);
	return 0;
}

/*
 * A graph's tensor_values left lazy: read every entry once, in order, into s->mm.mtv (name ->
 * metadata). Entries are parsed one at a time and equal metadata (and equal sizes/strides) is
 * stored once: the table of a graph-heavy program is a third of its model.json, and a DOM of it
 * was most of the reader's memory. Every entry is checked, used or not, as torch does. A large
 * table is read on worker threads first, as far as they go (pt2c__pt2json_tv_par).
 */
static int read_tensor_values(rd *r, gst *s, const pt2c_json *raw)
{
	tv_state t;
	pt2c__pt2json_tv_init(&t, r->ctx->alloc);
	uint64_t cursor = 0, dropped = raw->pos;
	uint32_t saved = r->jr.depth;
	int rc = 0;
	/* room for every name at once (an entry is far more than 8 bytes of JSON: the count is bounded by the text) */
	if (raw->n <= raw->u.raw_len / 8 &&
	    (pt2c__map_reserve(&s->mm.mtv, raw->n) || pt2c__strpool_reserve(&r->ctx->strings, raw->n)))
		rc = pt2c__err_oom(r->err);
	if (!rc)
		rc = pt2c__pt2json_tv_par(r, s, raw, &cursor, &dropped);
	while (!rc) {
		drop_behind(r, &dropped, cursor, false);
		const pt2c_json *k = NULL;
		const pt2c_tensor_meta *shared = NULL;
		if ((rc = pt2c__pt2json_tv_next(r, &t, raw, &cursor, &k, &shared)))
			break;
		if (!k) {
			r->raw_done++;
			break;
		}
		rc = pt2c__pt2json_tv_add(r, s, k, shared);
	}
	drop_behind(r, &dropped, cursor, true);
	r->jr.depth = saved;
	s->mm.tv_read = true;
	pt2c__pt2json_tv_free(&t);
	return rc;
}

/* The name of the first value an outputs list defines (for nodes without a name), or NULL. */
static const pt2c_json *first_output_name(const pt2c_json *items, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const pt2c_json *a = &items[i];
		if (!pt2c__json_is(a, PT2C_JSON_OBJECT) || a->n != 1)
			continue;
		const pt2c_json *v = pt2c__json_val(a, 0);
		const pt2c_json *nm = pt2c__json_get(v, "name");
		if (!nm)
			nm = pt2c__json_get(v, "as_name");
		if (!nm && pt2c__json_is(v, PT2C_JSON_ARRAY) && v->n)
			nm = pt2c__json_get(&v->u.items[0], "name");
		if (pt2c__json_is(nm, PT2C_JSON_STRING))
			return nm;
	}
	return NULL;
}

/*
 * One node, added to s->g; a worker's reader (r->defer) records it instead (pt2c_pnode, its
 * names in pt2c_pend) for the calling thread to add in order, with the same calls as here.
 */
int read_node(rd *r, gst *s, const pt2c_json *nv)
{
	pt2c_graph *g = s->g;
	pdefer *d = r->defer;
	const char *target = NULL;
	int rc = req_intern(r, nv, "target", &target);
	if (rc)
		return rc;
	const pt2c_json *ins = NULL, *outs = NULL, *meta = NULL;
	if ((rc = pt2c__jr_field(&r->jr, nv, "inputs", PT2C_JSON_ARRAY, 0, &ins)) ||
	    (rc = pt2c__jr_field(&r->jr, nv, "outputs", PT2C_JSON_ARRAY, 0, &outs)) ||
	    (rc = pt2c__jr_field(&r->jr, nv, "metadata", PT2C_JSON_OBJECT, 0, &meta)))
		return rc;

	const pt2c_json *namev = opt(nv, "name");
	bool no_name = namev == NULL;
	const char *name = NULL;
	if (namev) {
		AT(r, "name");
		if ((rc = intern_str(r, namev, &name)))
			return rc;
	} else {
		const pt2c_json *fo = first_output_name(outs->u.items, outs->n);
		name = pt2c__ctx_intern(r->ctx, fo ? fo->u.s : "node", fo ? fo->n : 4);
		if (!name)
			return pt2c__err_oom(r->err);
	}
	uint32_t id = 0;
	pt2c_pnode *pn = NULL;
	int8_t *hopp;
	if (d) {
		if (pt2c__grow(d->alloc, (void **)&d->nodes, &d->cap, d->n + 1, sizeof *d->nodes))
			return pt2c__err_oom(r->err);
		pn = &d->nodes[d->n++];
		memset(pn, 0, sizeof *pn);
		pn->name = name;
		pn->target = target;
		pn->no_name = no_name;
		pn->pend0 = pn->pend1 = (uint32_t)d->n_pend;
		hopp = &pn->hop;
		if (!no_name) {
			if (memchr(name, 0, namev->n))
				return PT2C__EDEFER; /* (pt2c__graph_add_node takes it up to the NUL) */
			pn->len = namev->n;
			pn->hash = pt2c__hash(name, namev->n);
		}
	} else {
		rc = pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, name, !no_name, target, PT2C_NONE, &id);
		if (rc == PT2C_ENOMEM)
			return pt2c__err_oom(r->err);
		if (rc)
			return fail_code(r, rc, namev ? namev : nv, "duplicate node name '%s'", name);
		pt2c_node *node = pt2c__node(g, id);
		if (no_name)
			node->flags |= PT2C_NODE_NO_NAME;
		hopp = &node->hop_single_tensor_return;
		r->cur_node = node->name;
	}
	*hopp = -1;
	bool hop = false, b = false;
	if ((rc = pt2c__jr_field_bool(&r->jr, nv, "is_hop_single_tensor_return", PT2C_JR_OPTIONAL, &b, &hop)))
		return rc;
	if (hop)
		*hopp = b ? 1 : 0;

	/* inputs */
	pt2c_named_arg *nas = arena_array(r, ins->n, sizeof *nas);
	if (ins->n && !nas)
		return pt2c__err_oom(r->err);
	{
		AT(r, "inputs");
		EACH(r, it, ins, !rc) {
			uint32_t i = it.i;
			const pt2c_json *na = it.val, *av, *kv;
			if (!(rc = req_intern(r, na, "name", &nas[i].name)) && !(rc = req(r, na, "arg", &av))) {
				r->cur_input = nas[i].name;
				{
					AT(r, "arg");
					rc = read_arg(r, s, av, MODE_REF, &nas[i].arg);
				}
				kv = opt(na, "kind");
				if (!rc && kv) {
					int64_t k = 0;
					AT(r, "kind");
					rc = get_int(r, kv, &k);
					if (!rc && (k < 0 || k > 2))
						rc = FAIL(r, kv, "argument kind %lld out of range", (long long)k);
					nas[i].kind = (uint8_t)(rc ? 0 : k);
				}
			}
		}
		if (rc)
			return rc;
	}
	if (pn) {
		pn->inputs = nas;
		pn->n_inputs = ins->n;
	} else {
		pt2c__node_adopt_inputs(g, id, nas, ins->n);
	}

	/* outputs define values */
	pt2c_arg *oa = arena_array(r, outs->n, sizeof *oa);
	if (outs->n && !oa)
		return pt2c__err_oom(r->err);
	{
		AT(r, "outputs");
		EACH(r, it, outs, !rc)
			rc = read_arg(r, s, it.val, MODE_DEF, &oa[it.i]);
		if (rc)
			return rc;
	}
	if (pn) {
		pn->outputs = oa;
		pn->n_outputs = outs->n;
	} else if ((rc = pt2c__node_adopt_outputs(g, id, oa, outs->n))) {
		return pt2c__err_oom(r->err);
	}

	/* metadata: string views */
	pt2c_kv *kvs = NULL;
	if (meta->n) {
		if (!(kvs = arena_array(r, meta->n, sizeof *kvs)))
			return pt2c__err_oom(r->err);
		AT(r, "metadata");
		EACH(r, it, meta, !rc) {
			rc = intern_str(r, it.key, &kvs[it.i].key);
			if (!rc)
				rc = view_str(r, it.val, &kvs[it.i].val, &kvs[it.i].val_len);
		}
		if (rc)
			return rc;
	}
	if (pn) {
		pn->meta = kvs;
		pn->n_meta = meta->n;
		pn->pend1 = (uint32_t)d->n_pend;
	} else {
		pt2c__node_adopt_meta(g, id, kvs, meta->n);
	}
	return 0;
}

int read_graph(rd *r, const pt2c_json *gv, pt2c_graph *g)
{
	if (!pt2c__json_is(gv, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(&r->jr, gv, "a Graph object");
	const pt2c_json *ins = NULL, *outs = NULL, *nodes = NULL;
	int rc;
	if ((rc = req(r, gv, "inputs", &ins)) || (rc = req(r, gv, "outputs", &outs)) || (rc = req(r, gv, "nodes", &nodes)))
		return rc;
	gst s;
	memset(&s, 0, sizeof s);
	s.g = g;
	uint32_t saved_gdepth = r->gdepth;
	r->gdepth = r->jr.depth;
	if ((rc = meta_table(r, gv, "tensor_values", true, &s.mm.tv)) ||
	    (rc = meta_table(r, gv, "sym_int_values", true, &s.mm.si)) ||
	    (rc = meta_table(r, gv, "sym_bool_values", true, &s.mm.sb)) ||
	    (rc = meta_table(r, gv, "sym_float_values", false, &s.mm.sf)) ||
	    (rc = meta_table(r, gv, "custom_obj_values", false, &s.mm.co))) {
		r->gdepth = saved_gdepth;
		return rc;
	}
	const pt2c_json *tv_raw = s.mm.tv && s.mm.tv->type == PT2C_JSON_RAW ? s.mm.tv : NULL;
	if (tv_raw)
		s.mm.tv = NULL;
	if ((rc = build_map(r, s.mm.tv, &s.mm.mtv)) | build_map(r, s.mm.si, &s.mm.msi) | build_map(r, s.mm.sb, &s.mm.msb) |
	    build_map(r, s.mm.sf, &s.mm.msf) | build_map(r, s.mm.co, &s.mm.mco)) {
		free_maps(&s.mm);
		r->gdepth = saved_gdepth;
		return pt2c__err_oom(r->err);
	}
	if (tv_raw && (rc = read_tensor_values(r, &s, tv_raw)))
		goto out;
	if ((rc = pt2c__jr_field_bool(&r->jr, gv, "is_single_tensor_return", PT2C_JR_OPTIONAL, &g->is_single_tensor_return,
	                              NULL)))
		goto out;
	/* placeholders */
	{
		AT(r, "inputs");
		if ((rc = want(r, ins, PT2C_JSON_ARRAY)))
			goto out;
		EACH(r, it, ins, !rc) {
			uint32_t i = it.i;
			pt2c_arg a;
			r->cur_node = "input";
			r->cur_input = "";
			/* the node first, so that its name is taken before the value of the same name */
			const pt2c_json *nmv = first_output_name(ins->u.items + i, 1);
			bool exact = nmv != NULL;
			const char *nm = pt2c__ctx_intern(r->ctx, exact ? nmv->u.s : "arg", exact ? nmv->n : 3);
			uint32_t id = PT2C_NONE;
			if (!nm)
				rc = pt2c__err_oom(r->err);
			else if ((rc = pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, nm, exact, nm, PT2C_NONE, &id)) == PT2C_ENOMEM)
				rc = pt2c__err_oom(r->err);
			else if (rc)
				rc = fail_code(r, rc, &ins->u.items[i], "duplicate placeholder '%s'", nm);
			if (!rc) {
				pt2c_node *pn = pt2c__node(g, id);
				pn->target = pn->name;
				pn->hop_single_tensor_return = -1;
				rc = read_arg(r, &s, &ins->u.items[i], MODE_DEF, &a);
			}
			if (!rc && pt2c__node_set_outputs(g, id, &a, 1))
				rc = pt2c__err_oom(r->err);
		}
		if (rc)
			goto out;
	}
	/* nodes */
	{
		AT(r, "nodes");
		if (pt2c__jr_is(&r->jr, nodes, PT2C_JSON_ARRAY, PT2C_JR_LAZY) && nodes->type == PT2C_JSON_RAW) {
			/* left lazy by pt2c__pt2json_read_text: one node's DOM at a time (nothing read keeps pointers into it) */
			pt2c_arena dom;
			pt2c__arena_init(&dom, r->ctx->alloc);
			uint64_t cursor = 0, dropped = nodes->pos;
			/* room for all of them at once (a node is far more than 32 bytes of JSON: the count is bounded by the text),
			 * and for the output node after them: growing by one would move the whole array (mremap) */
			/* (the names: most were interned with tensor_values, so the pool is not grown for them again) */
			if (nodes->n <= nodes->u.raw_len / 32 &&
			    (pt2c__graph_reserve(g, (uint32_t)nodes->n + 1, nodes->n) || pt2c__map32_reserve(&g->names, g->names.count + nodes->n)))
				rc = pt2c__err_oom(r->err);
			else
				pt2c__graph_prefault(g);
			/* a large graph: its nodes read on worker threads (as far as they go), or parsed on a
			 * helper thread while the ones before are built */
			uint32_t i = 0;
			if (!rc)
				rc = pt2c__pt2json_nodes_par(r, &s, nodes, &cursor, &i, &dropped);
			pt2c_json_ahead *ah = rc || cursor ? NULL : pt2c__json_ahead_start(r->src, r->src_len, nodes, &r->jopts, r->ctx->alloc);
			for (; !rc; i++) {
				pt2c_json *nv = NULL;
				drop_behind(r, &dropped, cursor, false);
				if ((rc = pt2c__json_ahead_or_raw_next(ah, r->src, r->src_len, nodes, &cursor, &r->jopts, &dom, &nv, r->err)))
					break;
				if (!nv) {
					r->raw_done++;
					break;
				}
				AT_IDX(r, i);
				rc = read_node(r, &s, nv);
			}
			pt2c__json_ahead_stop(ah);
			drop_behind(r, &dropped, cursor, true);
			pt2c__arena_free(&dom);
		} else if ((rc = want(r, nodes, PT2C_JSON_ARRAY)) == 0) {
			EACH(r, it, nodes, !rc)
				rc = read_node(r, &s, it.val);
		}
		if (rc)
			goto out;
	}
	/* outputs */
	pt2c_named_arg *oa = NULL;
	{
		AT(r, "outputs");
		if ((rc = want(r, outs, PT2C_JSON_ARRAY)))
			goto out;
		oa = arena_array(r, outs->n, sizeof *oa);
		if (outs->n && !oa)
			rc = pt2c__err_oom(r->err);
		r->cur_node = "output";
		EACH(r, it, outs, !rc) {
			r->cur_input = "";
			rc = read_arg(r, &s, it.val, MODE_REF, &oa[it.i].arg);
		}
		if (rc)
			goto out;
	}
	uint32_t oid = 0;
	if ((rc = pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", false, "output", PT2C_NONE, &oid)) ||
	    (rc = pt2c__node_set_inputs(g, oid, oa, outs->n))) {
		rc = pt2c__err_oom(r->err);
		goto out;
	}
	pt2c__node(g, oid)->hop_single_tensor_return = -1;
out:
	free_maps(&s.mm);
	r->gdepth = saved_gdepth;
	return rc;
}

