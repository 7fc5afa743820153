/*
 * pt2_read.c -- whole .pt2 archives -> program: the 2.9+ layout (raw weight files + payload
 * configs), the 2.8 layout (data/weights/model.pt torch.save blobs) and the legacy top-level
 * layout (serialized_exported_program.json ...), per pt2-format.md §2.4-2.6 and §3.
 *
 * Everything is zero-copy: tensors, custom objects, sample inputs and extra records are storages
 * viewing the archive bytes, each holding a reference on `backing`. Strings of model.json are
 * views too; the sample-inputs storage (always created when there is a backing) keeps the
 * archive alive for them.
 */
#include <stdio.h>

#include "serde/pickle.h"
#include "serde/serde.h"

#define TRT_ENGINE_CLASS PT2C_ENGINE_CLASS_FQN

typedef struct ar {
	pt2c_zip z;
	const uint8_t *data;
	pt2c_storage *backing;
	const pt2c_allocator *alloc;
	pt2c_error *err;
	const char *root; /* "<root>/" view (NOT NUL-terminated), empty for legacy archives */
	size_t root_len;
	char *name; /* scratch for "<root>/<rel>" */
	size_t name_cap;
	char member[PT2C_ERROR_WHERE_MAX]; /* last looked-up relative name, for messages */
	pt2c_program *p;
	unsigned flags;
	uint32_t max_json_depth;
	bool file_mapped;
} ar;

/* Member `rel` under the root, or NULL. */
static const pt2c_zip_entry *find(ar *a, const char *rel)
{
	size_t n = strlen(rel), need = a->root_len + n + 1;
	if (need > a->name_cap)
		return NULL; /* longer than any name we look up (the buffer is sized at open) */
	memcpy(a->name, a->root, a->root_len);
	memcpy(a->name + a->root_len, rel, n + 1);
	return pt2c__zip_find(&a->z, a->name, a->root_len + n);
}

static const uint8_t *edata(ar *a, const pt2c_zip_entry *e) { return pt2c__zip_data(&a->z, e); }

static void backing_release(void *ctx) { pt2c__storage_unref(ctx); }

/* A storage viewing `n` archive bytes at p, holding a reference on the backing storage. */
static int view(ar *a, const uint8_t *p, uint64_t n, pt2c_storage **out)
{
	int rc = pt2c__storage_new(a->alloc, p, n, a->backing ? backing_release : NULL,
	                           a->backing ? pt2c__storage_ref(a->backing) : NULL, out);
	if (rc) {
		if (a->backing)
			pt2c__storage_unref(a->backing);
		return pt2c__err_oom(a->err);
	}
	(*out)->file_pages = a->file_mapped;
	return 0;
}

/* Small text record: bytes with trailing whitespace trimmed. */
static void text_of(ar *a, const pt2c_zip_entry *e, const char **s, size_t *n)
{
	*s = (const char *)edata(a, e);
	*n = (size_t)e->size;
	while (*n && ((*s)[*n - 1] == '\n' || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == ' '))
		(*n)--;
}

/* MARK: model.json */

static int read_model_json(ar *a, const pt2c_zip_entry *e, const char *label)
{
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, a->max_json_depth };
	return pt2c__pt2json_read_text(a->p, (const char *)edata(a, e), (size_t)e->size, &jo, a->file_mapped, label, a->err);
}

/* MARK: payload configs (2.9+) */

/* Kind of the input spec naming `fqn` as its target, or -1. */
static int spec_kind(const pt2c_map *by_target, const pt2c_program *p, const char *fqn, bool *persistent)
{
	uint64_t i = 0;
	if (!pt2c__map_get(by_target, fqn, strlen(fqn), &i))
		return -1;
	*persistent = p->inputs[i].persistent;
	return p->inputs[i].kind;
}

typedef struct cfg_ctx {
	ar *a;
	const char *dir;    /* "data/weights/" or "data/constants/" */
	const char *label;  /* config member name for messages */
	bool constants;
	pt2c_map files;     /* path_name -> index of the first attribute using it (one storage per file) */
	pt2c_map *by_target;
	pt2c_jr jr;         /* the config document: errors name "<label>:/config/<fqn>/..." */
} cfg_ctx;

#define cfg_fail(c, v, code, ...) pt2c__jr_fail(&(c)->jr, (code), (v), __VA_ARGS__)

/* Copy a NUL-terminated string into a fixed buffer, truncating. */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

/* An error inside an engine object (a zip stored in member `outer`, offsets counted from the
 * member's start): the member reads "<outer> (nested <inner member>)". */
static void nested_member(pt2c_error *err, const char *outer)
{
	if (!err)
		return;
	if (!err->member[0]) {
		pt2c__err_set_member(err, outer);
		return;
	}
	char m[2 * PT2C_ERROR_WHERE_MAX + 16];
	snprintf(m, sizeof m, "%s (nested %s)", outer, err->member);
	copy_trunc(err->member, sizeof err->member, m);
}

static bool jprefix(const pt2c_json *v, const char *s)
{
	size_t n = strlen(s);
	return v->n >= n && memcmp(v->u.s, s, n) == 0;
}

/* One "fqn": PayloadMeta entry -> one attribute of the program's module. */
static int cfg_entry(cfg_ctx *c, const pt2c_json *key, const pt2c_json *pm)
{
	ar *a = c->a;
	pt2c_program *p = a->p;
	pt2c_ctx *ctx = p->ctx;
	if (!pt2c__json_is(pm, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(&c->jr, pm, "a config entry object");
	const char *fqn = pt2c__ctx_intern(ctx, key->u.s, key->n);
	if (!fqn)
		return pt2c__err_oom(a->err);
	const pt2c_json *pn, *ip, *up, *tm;
	int rc;
	if ((rc = pt2c__jr_field(&c->jr, pm, "path_name", PT2C_JSON_STRING, 0, &pn)) ||
	    (rc = pt2c__jr_field(&c->jr, pm, "is_param", PT2C_JSON_TRUE, 0, &ip)) ||
	    (rc = pt2c__jr_field(&c->jr, pm, "use_pickle", PT2C_JSON_TRUE, 0, &up)) ||
	    (rc = pt2c__jr_field(&c->jr, pm, "tensor_meta", PT2C_JR_ANY, 0, &tm)))
		return rc;
	if (pn->n == 0 || memchr(pn->u.s, '/', pn->n) || memchr(pn->u.s, '\\', pn->n) || memchr(pn->u.s, '\0', pn->n) ||
	    pn->n > 1024)
		return cfg_fail(c, pn, PT2C_ECORRUPT, "config entry '%s': invalid path_name", fqn);
	char rel[1100];
	snprintf(rel, sizeof rel, "%s%.*s", c->dir, (int)pn->n, pn->u.s);
	const pt2c_zip_entry *e = find(a, rel);
	if (!e)
		return cfg_fail(c, pn, PT2C_ECORRUPT, "config entry '%s' refers to missing member %s", fqn, rel);
	bool is_opaque = c->constants && jprefix(pn, "opaque_obj_"); /* PyTorch 2.13+: Python pickle */
	bool is_obj = c->constants && (jprefix(pn, "custom_obj_") || is_opaque);
	if (c->constants && !is_obj && !jprefix(pn, "tensor_"))
		return cfg_fail(c, pn, PT2C_ECORRUPT,
		                "constant '%s': path_name '%.*s' is neither tensor_*, custom_obj_* nor opaque_obj_*", fqn,
		                (int)(pn->n > 100 ? 100 : pn->n), pn->u.s);
	pt2c_attr *at = NULL;
	bool persistent = true;
	int sk = spec_kind(c->by_target, p, fqn, &persistent);
	int kind;
	if (is_obj)
		kind = PT2C_ATTR_CUSTOM_OBJ;
	else if (!c->constants)
		kind = ip->type == PT2C_JSON_TRUE ? PT2C_ATTR_PARAMETER : PT2C_ATTR_BUFFER;
	else
		kind = sk == PT2C_IN_BUFFER ? PT2C_ATTR_BUFFER : PT2C_ATTR_CONSTANT;
	rc = pt2c__module_add_attr(p->mod, fqn, kind, &at);
	if (rc == PT2C_EGRAPH)
		return cfg_fail(c, key, PT2C_ECORRUPT, "'%s' appears twice in the weights/constants configs", fqn);
	if (rc)
		return pt2c__err_oom(a->err);
	at->persistent = !c->constants;

	if (is_opaque) {
		const uint8_t *d = edata(a, e);
		rc = pt2c__engine_opaque_read(&at->engine, ctx, d, (size_t)e->size, a->backing, a->err);
		if (rc == PT2C_EUNSUPPORTED) {
			/* another opaque class: kept as its pickled bytes */
			if (a->err)
				*a->err = (pt2c_error)PT2C_ERROR_INIT;
			at->engine = NULL;
			at->engine_opaque = true;
			return view(a, d, e->size, &at->blob);
		}
		if (rc) {
			pt2c__err_set_member(a->err, a->name);
			return rc;
		}
		at->engine_opaque = true;
		at->class_fqn = pt2c__ctx_interns(ctx, TRT_ENGINE_CLASS);
		if (!at->class_fqn)
			return pt2c__err_oom(a->err);
		/* the pickle as read, so that a rewrite keeps it byte for byte */
		return view(a, d, e->size, &at->blob);
	}
	if (is_obj) {
		const uint8_t *d = edata(a, e);
		const char *cls = NULL;
		if ((rc = pt2c__custom_obj_class(&cls, ctx, d, (size_t)e->size, a->err))) {
			nested_member(a->err, a->name);
			return rc;
		}
		at->class_fqn = cls;
		if (cls && strcmp(cls, TRT_ENGINE_CLASS) == 0) {
			if ((rc = pt2c__engine_obj_read(&at->engine, ctx, d, (size_t)e->size, a->backing, a->err))) {
				nested_member(a->err, a->name);
				return rc;
			}
			/*
			 * Read and checked: the member's pages of the input file go back (a 1.9 GB program's
			 * engines stayed resident after opening it). The engine's bytes are a view into the
			 * member: file pages too, so a writer drops them again once it has copied them.
			 */
			if (a->file_mapped) {
				pt2c_storage *es = at->engine ? at->engine->engine : NULL;
				uintptr_t ep = es ? (uintptr_t)es->data : 0, base = (uintptr_t)d;
				if (es && ep >= base && ep - base <= e->size && es->nbytes <= e->size - (ep - base))
					es->file_pages = true; /* only when inside the member: anything else may be heap */
				pt2c__drop_file_pages(d, (size_t)e->size);
			}
			return 0;
		}
		return view(a, d, e->size, &at->blob);
	}
	if (up->type == PT2C_JSON_TRUE)
		return cfg_fail(c, up, PT2C_EUNSUPPORTED, "'%s' is a pickled tensor subclass (use_pickle), which is not supported", fqn);
	if (tm->type == PT2C_JSON_NULL)
		return cfg_fail(c, tm, PT2C_ECORRUPT, "tensor '%s' has no tensor_meta", fqn);
	{
		PT2C_JR_AT(&c->jr, "tensor_meta");
		if ((rc = pt2c__json_read_meta(ctx, tm, &at->tensor.meta, &c->jr)))
			return rc;
	}
	pt2c_tensor_meta *m = &at->tensor.meta;
	uint64_t need = 0;
	pt2c_error why = PT2C_ERROR_INIT;
	if ((rc = pt2c__meta_storage_bytes(m, &need, &why))) {
		PT2C_JR_AT(&c->jr, "tensor_meta");
		return cfg_fail(c, tm, rc, "tensor '%s': %s", fqn, why.message);
	}
	if (need > e->size)
		return cfg_fail(c, tm, PT2C_ECORRUPT, "tensor '%s' needs %llu bytes but %.*s holds %llu", fqn,
		                (unsigned long long)need, (int)a->root_len + (int)strlen(rel), a->name, (unsigned long long)e->size);
	size_t elem = pt2c__dtype_size(m->dtype);
	if (elem && e->size % elem)
		return cfg_fail(c, tm, PT2C_ECORRUPT, "tensor '%s': %s has %llu bytes, not a multiple of the %s element size",
		                fqn, rel, (unsigned long long)e->size, pt2c__dtype_name(m->dtype));
	if (e->size == 0)
		return 0; /* torch makes zeros(sizes); there are no bytes to view */
	uint64_t first = 0;
	if (pt2c__map_get(&c->files, pn->u.s, pn->n, &first)) {
		/* torch reads a shared file with the dtype of its first user and views it for all */
		const pt2c_attr *fa = &p->mod->attrs[first];
		if (fa->tensor.meta.dtype != m->dtype)
			return cfg_fail(c, tm, PT2C_ECORRUPT, "tensor '%s' (%s) shares %s with '%s' (%s): dtypes differ", fqn,
			                pt2c__dtype_name(m->dtype), rel, fa->fqn, pt2c__dtype_name(fa->tensor.meta.dtype));
		at->tensor.storage = pt2c__storage_ref(fa->tensor.storage);
		return 0;
	}
	if ((rc = view(a, edata(a, e), e->size, &at->tensor.storage)))
		return rc;
	if (pt2c__map_put(&c->files, pn->u.s, pn->n, p->mod->n_attrs - 1, true, NULL))
		return pt2c__err_oom(a->err);
	return 0;
}

static int read_config(ar *a, const char *rel, const char *dir, bool constants, pt2c_map *by_target)
{
	const pt2c_zip_entry *e = find(a, rel);
	char label[PT2C_ERROR_WHERE_MAX];
	snprintf(label, sizeof label, "%s", rel);
	if (!e)
		return pt2c__err_at(a->err, PT2C_ECORRUPT, label, UINT64_MAX, "archive has no %s", rel);
	int rc;
	pt2c_arena arena;
	pt2c__arena_init(&arena, a->alloc);
	pt2c_json *root = NULL;
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, a->max_json_depth };
	cfg_ctx c;
	memset(&c, 0, sizeof c);
	c.a = a;
	c.dir = dir;
	c.label = label;
	c.constants = constants;
	c.by_target = by_target;
	pt2c__map_init(&c.files, a->alloc);
	pt2c__jr_init(&c.jr, (const char *)edata(a, e), (size_t)e->size, label, a->err);
	rc = pt2c__json_parse(&root, (const char *)edata(a, e), (size_t)e->size, &jo, &arena, a->err);
	if (rc) {
		pt2c__err_set_member(a->err, label);
		goto done;
	}
	const pt2c_json *cfg = NULL;
	if ((rc = pt2c__jr_field(&c.jr, root, "config", PT2C_JSON_OBJECT, 0, &cfg)))
		goto done;
	{
		PT2C_JR_AT(&c.jr, "config");
		PT2C_JR_EACH(&c.jr, it, cfg, !rc)
			rc = cfg_entry(&c, it.key, it.val);
	}
done:
	pt2c__map_free(&c.files);
	pt2c__arena_free(&arena);
	return rc;
}

/* 2.8-style / legacy torch.save state dict blob; attribute kinds come from the signature. */
static int read_state_dict(ar *a, const pt2c_zip_entry *e, bool constants, const pt2c_map *by_target)
{
	if (e->size == 0)
		return 0;
	pt2c_module *m = a->p->mod;
	uint32_t first = m->n_attrs;
	int rc = pt2c__torch_save_read_state_dict(m, constants ? PT2C_ATTR_CONSTANT : PT2C_ATTR_BUFFER, edata(a, e),
	                                          (size_t)e->size, a->backing, a->err);
	if (rc) {
		if (a->err && !a->err->member[0])
			snprintf(a->err->member, sizeof a->err->member, "%.*s", (int)e->name_len, e->name);
		return rc;
	}
	for (uint32_t i = first; i < m->n_attrs; i++) {
		pt2c_attr *at = &m->attrs[i];
		bool persistent = true;
		int sk = spec_kind(by_target, a->p, at->fqn, &persistent);
		/* the signature decides; the pickle's Parameter wrapper only when it says nothing */
		if (sk == PT2C_IN_PARAMETER || (sk < 0 && at->kind == PT2C_ATTR_PARAMETER)) {
			/* torch.save keeps a Parameter's requires_grad outside the rebuilt tensor, which the
			 * state-dict reader does not report; parameters of exported programs require grad */
			at->kind = PT2C_ATTR_PARAMETER;
			at->tensor.meta.requires_grad = true;
			at->persistent = true;
		} else if (sk == PT2C_IN_BUFFER) {
			at->kind = PT2C_ATTR_BUFFER;
			at->persistent = persistent;
		} else if (constants) {
			at->kind = PT2C_ATTR_CONSTANT;
			at->persistent = false;
		} else {
			at->kind = PT2C_ATTR_BUFFER;
			at->persistent = true;
		}
	}
	return 0;
}

/* Every tensor/object input spec must have its attribute (torch's verifier rule). */
static int check_attrs(ar *a)
{
	pt2c_program *p = a->p;
	for (uint32_t i = 0; i < p->n_inputs; i++) {
		const pt2c_input_spec *s = &p->inputs[i];
		const char *what = NULL;
		switch (s->kind) {
		case PT2C_IN_PARAMETER: what = "parameter"; break;
		case PT2C_IN_BUFFER: what = "buffer"; break;
		case PT2C_IN_TENSOR_CONSTANT: what = "tensor constant"; break;
		case PT2C_IN_CUSTOM_OBJ: what = "custom object"; break;
		default: continue;
		}
		if (!s->target || !pt2c__module_find_attr(p->mod, s->target))
			return pt2c__err_at(a->err, PT2C_ECORRUPT, s->kind == PT2C_IN_PARAMETER || (s->kind == PT2C_IN_BUFFER && s->persistent)
			                    ? "data/weights/model_weights_config.json" : "data/constants/model_constants_config.json",
			                    UINT64_MAX, "%s '%s' of the graph signature has no stored value", what,
			                    s->target ? s->target : "?");
	}
	return 0;
}

static int build_targets(ar *a, pt2c_map *m)
{
	pt2c__map_init(m, a->alloc);
	for (uint32_t i = 0; i < a->p->n_inputs; i++) {
		const char *t = a->p->inputs[i].target;
		if (t && a->p->inputs[i].kind != PT2C_IN_CONSTANT_INPUT && pt2c__map_put(m, t, strlen(t), i, false, NULL))
			return pt2c__err_oom(a->err);
	}
	return 0;
}

/* Every member under `<root>/<dir>` becomes p->extra (name = the part after dir). */
static int read_extras(ar *a, const char *dir)
{
	pt2c_program *p = a->p;
	size_t dl = strlen(dir), pre = a->root_len + dl;
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->z.n; i++) {
		const pt2c_zip_entry *e = &a->z.entries[i];
		if (e->name_len > pre && memcmp(e->name, a->root, a->root_len) == 0 && memcmp(e->name + a->root_len, dir, dl) == 0)
			n++;
	}
	if (!n)
		return 0;
	p->extra = pt2c__arena_calloc(&p->ctx->arena, n, sizeof *p->extra);
	if (!p->extra)
		return pt2c__err_oom(a->err);
	for (uint32_t i = 0; i < a->z.n; i++) {
		const pt2c_zip_entry *e = &a->z.entries[i];
		if (!(e->name_len > pre && memcmp(e->name, a->root, a->root_len) == 0 && memcmp(e->name + a->root_len, dir, dl) == 0))
			continue;
		const char *nm = pt2c__ctx_intern(p->ctx, e->name + pre, e->name_len - pre);
		if (!nm)
			return pt2c__err_oom(a->err);
		pt2c_storage *st;
		int rc = view(a, pt2c__zip_data(&a->z, e), e->size, &st);
		if (rc)
			return rc;
		p->extra[p->n_extra].name = nm;
		p->extra[p->n_extra].data = st;
		p->n_extra++;
	}
	return 0;
}

/* Sample inputs: always a storage when there is a backing (it keeps model.json's views alive). */
static int read_sample_inputs(ar *a, const pt2c_zip_entry *e)
{
	if (!a->backing && (!e || e->size == 0))
		return 0;
	return view(a, e ? edata(a, e) : a->data, e ? e->size : 0, &a->p->sample_inputs);
}

/* The required sample-inputs record (named `name`; `what` words the error), then extra files. */
static int read_inputs_and_extras(ar *a, const char *name, const char *what, const char *extra_prefix)
{
	const pt2c_zip_entry *e = find(a, name);
	if (!e)
		return pt2c__err_at(a->err, PT2C_ECORRUPT, name, UINT64_MAX, "%s has no %s", what, name);
	int rc = read_sample_inputs(a, e);
	return rc ? rc : read_extras(a, extra_prefix);
}

/* "<int>" text record in [lo, hi]. */
static int parse_version(ar *a, const pt2c_zip_entry *e, const char *rel)
{
	const char *s = NULL;
	size_t n = 0;
	text_of(a, e, &s, &n);
	int64_t v = 0;
	bool ok = n > 0 && n < 10;
	for (size_t i = 0; ok && i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			ok = false;
		else
			v = v * 10 + (s[i] - '0');
	}
	if (!ok)
		return pt2c__err_at(a->err, PT2C_ECORRUPT, rel, e->data_off, "%s is not a number", rel);
	if (v < 1 || v > 10)
		return pt2c__err_at(a->err, PT2C_EUNSUPPORTED, rel, e->data_off,
		                    "file format version %lld is outside the supported range 1..10", (long long)v);
	return 0;
}

static int read_pt2(ar *a)
{
	const pt2c_zip_entry *e;
	int rc;
	/* container checks, in torch's order */
	if ((e = find(a, ".data/version")) != NULL)
		rc = parse_version(a, e, ".data/version");
	else if ((e = find(a, "version")) != NULL)
		rc = parse_version(a, e, "version");
	else
		rc = pt2c__err_at(a->err, PT2C_ECORRUPT, ".data/version", UINT64_MAX, "archive has neither .data/version nor version");
	if (rc)
		return rc;
	const char *s = NULL;
	size_t n = 0;
	if (!(e = find(a, "archive_format")))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "archive_format", UINT64_MAX, "archive has no archive_format record");
	text_of(a, e, &s, &n);
	if (n != 3 || memcmp(s, "pt2", 3) != 0)
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "archive_format", e->data_off, "archive_format is '%.*s', not 'pt2'",
		                    (int)(n > 32 ? 32 : n), s);
	if (!(e = find(a, "archive_version")))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "archive_version", UINT64_MAX, "archive has no archive_version record");
	text_of(a, e, &s, &n);
	if (n != 1 || s[0] != '0')
		return pt2c__err_at(a->err, PT2C_EUNSUPPORTED, "archive_version", e->data_off,
		                    "archive_version '%.*s' is not supported (only 0)", (int)(n > 32 ? 32 : n), s);
	if ((e = find(a, "byteorder")) != NULL) {
		text_of(a, e, &s, &n);
		if (!(n == 6 && memcmp(s, "little", 6) == 0))
			return pt2c__err_at(a->err, PT2C_EUNSUPPORTED, "byteorder", e->data_off,
			                    "byteorder '%.*s' is not supported (only little-endian archives)", (int)(n > 32 ? 32 : n), s);
	}
	if (!(e = find(a, "models/model.json")))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "models/model.json", UINT64_MAX, "archive has no models/model.json");
	if ((rc = read_model_json(a, e, "models/model.json")))
		return rc;

	pt2c_map by_target;
	if ((rc = build_targets(a, &by_target)))
		goto done;
	/* weights: 2.8 pickled blob, else the 2.9+ config */
	if ((e = find(a, "data/weights/model.pt")) != NULL)
		rc = read_state_dict(a, e, false, &by_target);
	else
		rc = read_config(a, "data/weights/model_weights_config.json", "data/weights/", false, &by_target);
	if (rc)
		goto done;
	if ((e = find(a, "data/constants/model.pt")) != NULL)
		rc = read_state_dict(a, e, true, &by_target);
	else
		rc = read_config(a, "data/constants/model_constants_config.json", "data/constants/", true, &by_target);
	if (rc)
		goto done;
	if ((rc = check_attrs(a)))
		goto done;
	rc = read_inputs_and_extras(a, "data/sample_inputs/model.pt", "archive", "extra/");
done:
	pt2c__map_free(&by_target);
	return rc;
}

/* Legacy (<= 2.7) archives: top-level serialized_* members (§2.6). */
static int read_legacy(ar *a)
{
	const pt2c_zip_entry *e;
	int rc;
	if (!(e = find(a, "version")))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "version", UINT64_MAX,
		                    "archive is not in a subdirectory and has no legacy version record");
	const char *s = NULL;
	size_t n = 0;
	text_of(a, e, &s, &n);
	const char *dot = memchr(s, '.', n);
	if (!dot || dot == s || dot + 1 == s + n || memchr(dot + 1, '.', (size_t)(s + n - dot - 1)))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "version", e->data_off, "legacy version '%.*s' is not <major>.<minor>",
		                    (int)(n > 32 ? 32 : n), s);
	if (dot - s != 1 || s[0] != '8')
		return pt2c__err_at(a->err, PT2C_EUNSUPPORTED, "version", e->data_off,
		                    "legacy schema version '%.*s' is not supported (major 8 expected)", (int)(n > 32 ? 32 : n), s);
	if (!(e = find(a, "serialized_exported_program.json")))
		return pt2c__err_at(a->err, PT2C_ECORRUPT, "serialized_exported_program.json", UINT64_MAX,
		                    "legacy archive has no serialized_exported_program.json");
	if ((rc = read_model_json(a, e, "serialized_exported_program.json")))
		return rc;
	const char *sd[2][2] = { { "serialized_state_dict.pt", "serialized_state_dict.json" },
	                         { "serialized_constants.pt", "serialized_constants.json" } };
	pt2c_map by_target;
	if ((rc = build_targets(a, &by_target)))
		goto done;
	for (int k = 0; k < 2 && !rc; k++) {
		if (!(e = find(a, sd[k][0])) && !(e = find(a, sd[k][1]))) {
			rc = pt2c__err_at(a->err, PT2C_ECORRUPT, sd[k][0], UINT64_MAX, "legacy archive has no %s", sd[k][0]);
			break;
		}
		rc = read_state_dict(a, e, k == 1, &by_target);
	}
	if (rc || (rc = check_attrs(a)))
		goto done;
	rc = read_inputs_and_extras(a, "serialized_example_inputs.pt", "legacy archive", "extra_files/");
done:
	pt2c__map_free(&by_target);
	return rc;
}

int pt2c__pt2_read(pt2c_program **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                   const pt2c_pt2_read_opts *opts, const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && (data || len == 0));
	*out = NULL;
	ar *a = pt2c__calloc(alloc, 1, sizeof *a);
	if (!a)
		return pt2c__err_oom(err);
	a->data = data;
	a->backing = backing;
	a->alloc = alloc;
	a->err = err;
	a->flags = opts ? opts->flags : 0;
	a->max_json_depth = opts ? opts->max_json_depth : 0;
	a->file_mapped = opts && opts->file_mapped;
	pt2c_zip_opts zo;
	memset(&zo, 0, sizeof zo);
	zo.flags = a->flags; /* with PT2C_ZIP_VERIFY_CRC the parse checks every member's CRC, once */
	zo.label = opts ? opts->label : NULL;
	pt2c_ctx *ctx = NULL;
	int rc = pt2c__zip_parse(&a->z, data, len, &zo, alloc, err);
	if (rc) {
		memset(&a->z, 0, sizeof a->z);
		goto fail;
	}
	if (a->z.n == 0) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, UINT64_MAX, "archive has no members");
		goto fail;
	}
	const pt2c_zip_entry *e0 = &a->z.entries[0];
	const char *slash = memchr(e0->name, '/', e0->name_len);
	if (slash) {
		a->root = e0->name;
		a->root_len = (size_t)(slash - e0->name) + 1;
		for (uint32_t i = 1; i < a->z.n; i++) {
			const pt2c_zip_entry *e = &a->z.entries[i];
			if (e->name_len < a->root_len || memcmp(e->name, a->root, a->root_len) != 0) {
				char m[PT2C_ERROR_WHERE_MAX];
				snprintf(m, sizeof m, "%.*s", (int)(e->name_len > 200 ? 200 : e->name_len), e->name);
				rc = pt2c__err_at(err, PT2C_ECORRUPT, m, e->header_off, "member is not under the archive root '%.*s'",
				                  (int)(a->root_len > 100 ? 100 : a->root_len), a->root);
				goto fail;
			}
		}
	} else {
		a->root = "";
		a->root_len = 0;
	}
	/* scratch for "<root>/<relative name>": relative names are at most ~1.1 KiB (config paths) */
	a->name_cap = a->root_len + 2048;
	if (!(a->name = pt2c__malloc(alloc, a->name_cap)))
		goto oom;
	if ((rc = pt2c__ctx_new(&ctx, alloc)))
		goto oom;
	rc = pt2c__program_new(ctx, &a->p);
	pt2c__ctx_unref(ctx);
	if (rc)
		goto oom;
	rc = slash ? read_pt2(a) : read_legacy(a);
	if (rc)
		goto fail;
	*out = a->p;
	a->p = NULL;
	goto done;
oom:
	rc = pt2c__err_oom(err);
fail:
	if (opts && opts->label && err && !err->file[0])
		pt2c__err_set_file(err, opts->label);
done:
	pt2c__program_free(a->p);
	pt2c__zip_free(&a->z);
	pt2c__free(alloc, a->name);
	pt2c__free(alloc, a);
	return rc;
}
