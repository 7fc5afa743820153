/*
 * partitioned_json_module.c -- partitioned-module JSON reader: the module's fields around its
 * graph: attributes (base64 data, or archive members through the resolver), submodules (engine
 * records, fallback graphs), in/out specs, symbols, op schemas. See partitioned_json.h.
 */
#include <math.h>
#include <stdio.h>

#include "serde/partitioned_json.h"

/* MARK: storages decoded from base64 */

typedef struct b64_block {
	pt2c_allocator alloc; /* copy, so release never depends on the caller's struct */
	bool custom;
} b64_block;

/* The decoded bytes start this far into the block, so they are as aligned as malloc's result. */
#define B64_DATA_OFFSET 64
_Static_assert(sizeof(b64_block) <= B64_DATA_OFFSET, "b64_block header too large");

static void b64_block_release(void *p)
{
	b64_block *h = p;
	pt2c_allocator a = h->alloc;
	pt2c__free(h->custom ? &a : NULL, h);
}

/*
 * Decode base64 string value s into a new owned storage (*out NULL for zero bytes). The bytes are
 * decoded straight into one block after a small header (which frees it): no second copy.
 */
static int decode_b64(prd *r, const pt2c_json *s, const char *what, pt2c_storage **out)
{
	*out = NULL;
	uint64_t full = pt2c__json_strlen(s);
	if (full > SIZE_MAX) return oom(r);
	size_t n = (size_t)full;
	size_t dlen = pt2c__b64_decoded_len(s->u.s, n);
	if (dlen == SIZE_MAX)
		return fail(r, PT2C_ECORRUPT, s, "%s is not valid base64 (length %zu is not a multiple of 4)", what, n);
	if (dlen == 0 && n == 0) return 0;
	size_t total;
	if (pt2c__add_ovf_sz(B64_DATA_OFFSET, dlen, &total)) return oom(r);
	b64_block *h = pt2c__malloc(r->alloc, total);
	if (!h) return oom(r);
	memset(h, 0, sizeof *h);
	if (r->alloc) {
		h->alloc = *r->alloc;
		h->custom = true;
	}
	uint8_t *dst = (uint8_t *)h + B64_DATA_OFFSET;
	size_t bad = 0;
	if (pt2c__b64_decode(dst, s->u.s, n, &bad) != 0) {
		pt2c__free(r->alloc, h);
		return fail(r, PT2C_ECORRUPT, s, "%s is not valid base64 (bad character at index %zu)", what, bad);
	}
	if (dlen == 0) {
		pt2c__free(r->alloc, h);
		return 0;
	}
	if (pt2c__storage_new(r->alloc, dst, dlen, b64_block_release, h, out) != 0) {
		pt2c__free(r->alloc, h);
		return oom(r);
	}
	return 0;
}

/*
 * Archive form: the zero-copy storage of member string value `name` (new reference in *out), via
 * the resolver; PT2C_ECORRUPT naming the member when it is missing or unusable.
 */
static int resolve_member(prd *r, const pt2c_json *name, bool engine, int dtype, pt2c_storage **out)
{
	*out = NULL;
	const char *why = NULL;
	int rc = r->res->resolve(r->res->ctx, engine, name->u.s, name->n, dtype, out, &why);
	if (rc == PT2C_ENOMEM) return oom(r);
	if (rc == PT2C_ENOTFOUND)
		return fail(r, PT2C_ECORRUPT, name, "member %.*s does not exist in the archive", shown(name), name->u.s);
	if (rc) return fail(r, rc, name, "member %.*s: %s", shown(name), name->u.s, why ? why : "unusable");
	return 0;
}

/* MARK: attributes, submodules, module fields */

/* Map `key` of obj (fqn -> tensor) as attributes of `kind`. */
static int read_attrs(prd *r, pt2c_module *m, const pt2c_json *obj, const char *key, int kind)
{
	const pt2c_json *map;
	int rc = need(r, obj, key, PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	AT(r, key);
	const char *what = kind == PT2C_ATTR_PARAMETER ? "parameter" : kind == PT2C_ATTR_BUFFER ? "buffer" : "constant";
	EACH(r, it, map, !rc) {
		const pt2c_json *kj = it.key, *v = it.val;
		const char *fqn = NULL;
		pt2c_tensor_meta meta;
		const pt2c_json *b64 = NULL, *pers = NULL, *dm = NULL, *so = NULL;
		pt2c_storage *st = NULL;
		uint64_t want = 0;
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty %s name", what);
		if (!rc) fqn = intern_name(r, kj, &rc);
		if (!rc) rc = read_meta(r, v, &meta);
		if (!rc) rc = need(r, v, "data_b64", PT2C_JSON_STRING, true, &b64);
		if (!rc) rc = need(r, v, "data_member", PT2C_JSON_STRING, true, &dm);
		if (!rc) rc = need(r, v, "persistent", PT2C_JSON_TRUE, true, &pers);
		if (!rc && dm) {
			if (b64) rc = fail(r, PT2C_ECORRUPT, v, "%s %s has both data_b64 and data_member", what, fqn);
			else if (!r->res) {
				AT(r, "data_member");
				rc = fail(r, PT2C_ECORRUPT, dm, "%s %s names a data_member outside a partitioned archive", what, fqn);
			}
		}
		/* a view into the storage, for data_member and data_b64 alike (issue 11 #9: it was
		 * ignored with data_b64, however far out of range) */
		if (!rc) rc = need(r, v, "storage_offset", PT2C_JSON_INT, true, &so);
		if (!rc && so && so->u.i < 0) {
			AT(r, "storage_offset");
			rc = fail(r, PT2C_ECORRUPT, so, "%s %s has negative storage_offset %" PRId64, what, fqn, so->u.i);
		}
		if (!rc && so) meta.storage_offset = pt2c__sym_int(so->u.i);
		if (!rc && pt2c__meta_storage_bytes(&meta, &want, NULL) != 0)
			rc = fail(r, PT2C_ECORRUPT, v, "%s %s has a size that overflows", what, fqn);
		if (!rc && dm) {
			/* archive form: a zero-copy view; the member may be larger (tied weights, views) */
			AT(r, "data_member");
			rc = resolve_member(r, dm, false, meta.dtype, &st);
			if (!rc && st->nbytes < want)
				rc = fail(r, PT2C_ECORRUPT, dm, "%s %s needs %" PRIu64 " bytes (storage_offset %" PRId64
				          ") but member %.*s has %" PRIu64, what, fqn, want, meta.storage_offset.i, shown(dm), dm->u.s,
				          st->nbytes);
		}
		if (!rc && b64) {
			AT(r, "data_b64");
			char label[96];
			snprintf(label, sizeof label, "data_b64 of %s %.60s", what, fqn);
			rc = decode_b64(r, b64, label, &st);
		}
		uint64_t got = st ? st->nbytes : 0;
		if (!rc && !dm && so && so->u.i > 0 && got < want) {
			AT(r, "storage_offset");
			rc = fail(r, PT2C_ECORRUPT, so, "%s %s needs %" PRIu64 " bytes (storage_offset %" PRId64
			          ") but its data_b64 has %" PRIu64, what, fqn, want, so->u.i, got);
		} else if (!rc && !dm && !(so && so->u.i > 0) && got != want) {
			/* at data_b64, or at the attribute itself when it has no data at all */
			pt2c_jr_scope at PT2C_JR_SCOPED = b64 ? pt2c__jr_key(&r->jr, "data_b64", 8) : pt2c__jr_here(&r->jr);
			(void)at;
			rc = fail(r, PT2C_ECORRUPT, b64 ? b64 : v, "%s %s has %" PRIu64 " bytes of data, its metadata needs %" PRIu64,
			          what, fqn, got, want);
		}
		if (!rc) {
			pt2c_attr *at;
			int arc = pt2c__module_add_attr(m, fqn, kind, &at);
			if (arc == PT2C_EGRAPH) rc = fail(r, PT2C_EGRAPH, kj, "duplicate attribute %s", fqn);
			else if (arc) rc = oom(r);
			else {
				at->tensor.meta = meta;
				at->tensor.storage = st;
				st = NULL;
				at->persistent = !(pers && pers->type == PT2C_JSON_FALSE);
			}
		}
		pt2c__storage_unref(st);
	}
	return rc;
}

/* Graph plus attributes of a module object (top level or a fallback submodule). */
int read_module_body(prd *r, pt2c_module *m, const pt2c_json *obj)
{
	bool taken = false;
	int rc = r->par ? defer_graph(r, m, obj, &taken) : 0;
	if (!rc && !taken) rc = read_graph(r, m->graph, obj);
	if (!rc) rc = read_attrs(r, m, obj, "parameters", PT2C_ATTR_PARAMETER);
	if (!rc) rc = read_attrs(r, m, obj, "buffers", PT2C_ATTR_BUFFER);
	if (!rc) rc = read_attrs(r, m, obj, "constants", PT2C_ATTR_CONSTANT);
	return rc;
}

/* An engine submodule's "engine_record" into a new arena record (*out); storage owned by it. */
static int read_engine(prd *r, const pt2c_json *sub, const char *subname, pt2c_engine_record **out)
{
	const pt2c_json *rec;
	int rc = need(r, sub, "engine_record", PT2C_JSON_ARRAY, false, &rec);
	if (rc) return rc;
	AT(r, "engine_record");
	if (rec->n <= PT2C_EF_ENGINE || rec->n > PT2C_EF_MAX) {
		const pt2c_json *a0 = rec->n ? &rec->u.items[0] : NULL;
		bool txt = a0 && a0->type == PT2C_JSON_STRING;
		return fail(r, PT2C_ECORRUPT, rec, "engine record of %s has %" PRIu32 " fields (ABI \"%.*s\"), expected 9 to %d; supported are %s",
		            subname, rec->n, txt ? (int)(a0->n > 8 ? 8 : a0->n) : 0, txt ? a0->u.s : "", PT2C_EF_MAX,
		            pt2c__generation_abi_list());
	}
	pt2c_engine_record *e = pt2c__arena_zalloc(&r->ctx->arena, sizeof *e);
	if (!e) return oom(r);
	e->n_fields = rec->n;
	EACH(r, it, rec, !rc) {
		uint32_t k = it.i;
		const pt2c_json *f = it.val;
		if (k == PT2C_EF_ENGINE && f->type == PT2C_JSON_OBJECT) {
			/* archive form: {"member": "engines/<name>"} */
			const pt2c_json *mem;
			if (!r->res)
				rc = fail(r, PT2C_ECORRUPT, f, "engine bytes of %s name a member outside a partitioned archive", subname);
			if (!rc) rc = need(r, f, "member", PT2C_JSON_STRING, false, &mem);
			if (!rc) {
				AT(r, "member");
				rc = resolve_member(r, mem, true, 0, &e->engine);
			}
		} else if (f->type != PT2C_JSON_STRING) {
			rc = fail(r, PT2C_ECORRUPT, f, "expected a string (engine record field %s), got %s",
			          pt2c__engine_field_name((int)k), pt2c__jr_type_name(&r->jr, f));
		} else if (k != PT2C_EF_ENGINE && f->n == UINT32_MAX) {
			rc = fail(r, PT2C_EUNSUPPORTED, f, "engine record field %s is 4 GiB or more", pt2c__engine_field_name((int)k));
		} else if (k == PT2C_EF_ENGINE) {
			rc = decode_b64(r, f, "engine bytes (field serialized_engine)", &e->engine);
		} else {
			e->fields[k].n = f->n;
			e->fields[k].p = pt2c__arena_strndup(&r->ctx->arena, f->u.s, f->n);
			if (!e->fields[k].p) rc = oom(r);
		}
	}
	if (!rc) {
		/* ABI from field 0 ("6".."10"); anything else leaves 0, which validation names */
		uint32_t abi = 0;
		const char *p = e->fields[PT2C_EF_ABI].p;
		uint32_t n = e->fields[PT2C_EF_ABI].n;
		for (uint32_t k = 0; k < n && n <= 2; k++) {
			if (p[k] < '0' || p[k] > '9') { abi = 0; break; }
			abi = abi * 10 + (uint32_t)(p[k] - '0');
		}
		e->abi = abi;
		pt2c_error tmp = PT2C_ERROR_INIT;
		int vrc = pt2c__engine_record_validate(e, &tmp);
		if (vrc) rc = fail(r, vrc, rec, "submodule %s: %s", subname, tmp.message);
	}
	if (rc) {
		pt2c__storage_unref(e->engine);
		return rc;
	}
	*out = e;
	return 0;
}

/* The "submodules" map of the top module. */
int read_submodules(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "submodules", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	AT(r, "submodules");
	EACH(r, it, map, !rc) {
		const pt2c_json *kj = it.key, *sub = it.val;
		const char *name = NULL;
		const pt2c_json *kind = NULL;
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty submodule name");
		if (!rc) name = intern_name(r, kj, &rc);
		if (!rc && sub->type != PT2C_JSON_OBJECT)
			rc = type_error(r, sub, "a submodule object");
		if (!rc) rc = need(r, sub, "kind", PT2C_JSON_STRING, false, &kind);
		if (!rc && pt2c__module_find_sub(m, name)) rc = fail(r, PT2C_EGRAPH, kj, "duplicate submodule %s", name);
		if (!rc && pt2c__json_streq(kind, "engine")) {
			pt2c_engine_record *e = NULL;
			pt2c_submodule *s;
			rc = read_engine(r, sub, name, &e);
			if (!rc && pt2c__module_add_sub(m, name, PT2C_SUB_ENGINE, &s) != 0) {
				pt2c__storage_unref(e->engine);
				rc = oom(r);
			}
			if (!rc) s->engine = e;
		} else if (!rc && pt2c__json_streq(kind, "graph")) {
			pt2c_module *fb = NULL;
			pt2c_submodule *s;
			if (pt2c__module_new(r->ctx, &fb) != 0) rc = oom(r);
			if (!rc) rc = read_module_body(r, fb, sub);
			if (!rc && pt2c__module_add_sub(m, name, PT2C_SUB_FALLBACK, &s) != 0) rc = oom(r);
			if (!rc) s->fallback = fb;
			else pt2c__module_free(fb);
		} else if (!rc) {
			AT(r, "kind");
			rc = fail(r, PT2C_ECORRUPT, kind, "submodule %s has unknown kind \"%.*s\"", name, shown(kind), kind->u.s);
		}
	}
	if (!rc && r->n_jobs) rc = run_deferred(r);
	return rc;
}

/* A treespec string (or null/absent) as an arena C string. */
int read_spec(prd *r, const pt2c_json *root, const char *key, const char **out)
{
	const pt2c_json *s;
	*out = NULL;
	int rc = need(r, root, key, PT2C_JSON_STRING, true, &s);
	if (rc || !s) return rc;
	*out = pt2c__arena_strndup(&r->ctx->arena, s->u.s, s->n);
	return *out ? 0 : oom(r);
}

/* One bound of a symbol range: int, or null / +-infinity for none. */
static int read_bound(prd *r, const pt2c_json *v, bool *has, int64_t *val)
{
	*has = false;
	if (v->type == PT2C_JSON_NULL || (v->type == PT2C_JSON_REAL && isinf(v->u.d))) return 0;
	if (v->type != PT2C_JSON_INT) return type_error(r, v, "an integer or null");
	*has = true;
	*val = v->u.i;
	return 0;
}

/* A symbol named "graph" was left lazy like the graphs: its elements as an ordinary ARRAY node in r->dom. */
static int expand_raw(prd *r, const pt2c_json **v)
{
	const pt2c_json *raw = *v;
	pt2c_json *arr = pt2c__arena_zalloc(r->dom, sizeof *arr);
	if (!arr || (raw->n && !(arr->u.items = pt2c__arena_calloc(r->dom, raw->n, sizeof(pt2c_json))))) return oom(r);
	arr->type = PT2C_JSON_ARRAY;
	arr->pos = raw->pos;
	arr->n = raw->n;
	uint64_t cursor = 0;
	for (uint32_t k = 0; k < raw->n; k++) {
		pt2c_json *e = NULL;
		int rc = pt2c__json_raw_next(r->data, r->len, raw, &cursor, &r->opts, r->dom, &e, r->err);
		if (rc) return rc;
		if (!e) return fail(r, PT2C_ECORRUPT, raw, "array ends early");
		arr->u.items[k] = *e;
	}
	/* read to its end: a skimmed span's count is only checked so (pt2c__json_parse_skim) */
	pt2c_json *e = NULL;
	int rc = pt2c__json_raw_next(r->data, r->len, raw, &cursor, &r->opts, r->dom, &e, r->err);
	if (rc) return rc;
	if (e) return fail(r, PT2C_ECORRUPT, raw, "array longer than counted");
	r->raw_done++;
	*v = arr;
	return 0;
}

int read_symbols(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "symbols", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map || map->n == 0) return rc;
	AT(r, "symbols");
	m->symbols = pt2c__arena_calloc(&r->ctx->arena, map->n, sizeof *m->symbols);
	if (!m->symbols) return oom(r);
	EACH(r, it, map, !rc) {
		uint32_t k = it.i;
		const pt2c_json *kj = it.key, *v = it.val;
		pt2c_symrange *s = &m->symbols[k];
		if (v->type == PT2C_JSON_RAW && (rc = expand_raw(r, &v)) != 0) break;
		if (kj->n == 0) rc = fail(r, PT2C_ECORRUPT, kj, "empty symbol name");
		else if (v->type != PT2C_JSON_ARRAY)
			rc = type_error(r, v, "[min, max]");
		else if (v->n != 2)
			rc = fail(r, PT2C_ECORRUPT, v, "expected [min, max], got an array of %" PRIu32, v->n);
		if (!rc) s->name = intern_name(r, kj, &rc);
		if (!rc) { AT_IDX(r, 0); rc = read_bound(r, &v->u.items[0], &s->has_min, &s->min); }
		if (!rc) { AT_IDX(r, 1); rc = read_bound(r, &v->u.items[1], &s->has_max, &s->max); }
		if (!rc && s->has_min && s->has_max && s->min > s->max)
			rc = fail(r, PT2C_ECORRUPT, v, "symbol %s has min %" PRId64 " > max %" PRId64, s->name, s->min, s->max);
		if (!rc) m->n_symbols = k + 1;
	}
	return rc;
}

int read_op_schemas(prd *r, pt2c_module *m, const pt2c_json *root)
{
	const pt2c_json *map;
	int rc = need(r, root, "op_schemas", PT2C_JSON_OBJECT, true, &map);
	if (rc || !map) return rc;
	AT(r, "op_schemas");
	EACH(r, it, map, !rc) {
		const pt2c_json *kj = it.key, *v = it.val;
		const char *target = NULL, *schema = NULL;
		if (v->type != PT2C_JSON_STRING) rc = type_error(r, v, "a schema string");
		if (!rc) target = intern_name(r, kj, &rc);
		if (!rc) schema = intern_name(r, v, &rc);
		if (!rc && pt2c__map_put(&m->op_schemas, target, strlen(target), (uint64_t)(uintptr_t)schema, true, NULL))
			rc = oom(r);
	}
	return rc;
}

