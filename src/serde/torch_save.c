/*
 * torch_save.c -- state dicts written by torch.save (pt2-format.md §6): a PyTorchStreamWriter zip
 * whose data.pkl is a dict (or OrderedDict) of name -> tensor, each tensor a
 * torch._utils._rebuild_tensor_v2/_v3 call over a persistent-id storage that names data/<key>.
 * Storages stay zero-copy views of the zip (one per key, so tied weights share it).
 */
#include "serde/pickle.h"

#include <stdio.h>

typedef struct ts_ctx {
	pt2c_module *m;
	const pt2c_zip *z;
	pt2c_storage *backing;
	pt2c_map by_key;       /* storage key -> index into st */
	pt2c_storage **st;     /* one counted reference each, dropped at the end */
	size_t nst, capst;
	char member[PT2C_ERROR_WHERE_MAX]; /* data.pkl's name, for messages */
	pt2c_error *err;
} ts_ctx;

static const struct { const char *name; int dtype; } storage_dtypes[] = {
	{ "DoubleStorage", PT2C_DTYPE_FLOAT64 },
	{ "FloatStorage", PT2C_DTYPE_FLOAT32 },
	{ "HalfStorage", PT2C_DTYPE_FLOAT16 },
	{ "LongStorage", PT2C_DTYPE_INT64 },
	{ "IntStorage", PT2C_DTYPE_INT32 },
	{ "ShortStorage", PT2C_DTYPE_INT16 },
	{ "CharStorage", PT2C_DTYPE_INT8 },
	{ "ByteStorage", PT2C_DTYPE_UINT8 },
	{ "BoolStorage", PT2C_DTYPE_BOOL },
	{ "BFloat16Storage", PT2C_DTYPE_BFLOAT16 },
	{ "ComplexDoubleStorage", PT2C_DTYPE_COMPLEX128 },
	{ "ComplexFloatStorage", PT2C_DTYPE_COMPLEX64 },
};

__attribute__((format(printf, 4, 5)))
static int ts_fail(ts_ctx *t, int code, const pt2c_py *at, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pt2c__err_at(t->err, code, t->member, at ? at->pos : UINT64_MAX, "%s", msg);
}

static void unref_backing(void *payload)
{
	pt2c__storage_unref((pt2c_storage *)payload);
}

static bool is_str(const pt2c_py *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == PT2C_PY_STR && o->n == n && memcmp(o->s, s, n) == 0;
}

/* The storage viewing data/<key>, created on first use (borrowed from t->st). */
static int ts_storage(ts_ctx *t, const pt2c_py *key, pt2c_storage **out)
{
	uint64_t idx;
	if (pt2c__map_get(&t->by_key, key->s, key->n, &idx)) {
		*out = t->st[idx];
		return 0;
	}
	char name[256];
	if (key->n > 200 || memchr(key->s, '\0', key->n))
		return ts_fail(t, PT2C_ECORRUPT, key, "storage key of %u bytes is not a plain name", key->n);
	snprintf(name, sizeof name, "data/%.*s", (int)key->n, key->s);
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(t->z, name);
	if (!e)
		return ts_fail(t, PT2C_ECORRUPT, key, "storage %s is missing from the archive", name);
	if (t->nst == t->capst && pt2c__grow(t->m->ctx->alloc, (void **)&t->st, &t->capst, t->nst + 1, sizeof *t->st))
		return pt2c__err_oom(t->err);
	pt2c_storage *s = NULL;
	if (t->backing)
		pt2c__storage_ref(t->backing);
	if (pt2c__storage_new(t->m->ctx->alloc, pt2c__zip_data(t->z, e), e->size, t->backing ? unref_backing : NULL,
	                      t->backing, &s)) {
		pt2c__storage_unref(t->backing);
		return pt2c__err_oom(t->err);
	}
	t->st[t->nst++] = s; /* released at the end whatever happens next */
	if (pt2c__map_put(&t->by_key, key->s, key->n, t->nst - 1, false, NULL))
		return pt2c__err_oom(t->err);
	*out = s;
	return 0;
}

/* Fill meta->sizes or ->strides from a tuple of ints. */
static int ts_ints(ts_ctx *t, const pt2c_py *tup, pt2c_sym **out, uint32_t ndim, const char *what)
{
	if (tup->type != PT2C_PY_TUPLE || tup->n != ndim)
		return ts_fail(t, PT2C_ECORRUPT, tup, "tensor %s is not a tuple of %u ints", what, ndim);
	if (ndim == 0) {
		*out = NULL;
		return 0;
	}
	pt2c_sym *v = pt2c__arena_calloc(&t->m->ctx->arena, ndim, sizeof *v);
	if (!v)
		return pt2c__err_oom(t->err);
	for (uint32_t i = 0; i < ndim; i++) {
		const pt2c_py *x = tup->items[i];
		if (x->type != PT2C_PY_INT || x->i < 0)
			return ts_fail(t, PT2C_ECORRUPT, x, "tensor %s entry %u is not a non-negative int", what, i);
		v[i] = pt2c__sym_int(x->i);
	}
	*out = v;
	return 0;
}

/* Device from a storage location string: "cpu", "cuda", "cuda:1". */
static int ts_device(ts_ctx *t, const pt2c_py *loc, pt2c_device *dev)
{
	if (loc->type != PT2C_PY_STR || loc->n == 0 || loc->n > 64)
		return ts_fail(t, PT2C_ECORRUPT, loc, "storage location is not a device string");
	const char *colon = memchr(loc->s, ':', loc->n);
	size_t tn = colon ? (size_t)(colon - loc->s) : loc->n;
	dev->index = -1;
	if (colon) {
		size_t dn = loc->n - tn - 1;
		if (dn == 0 || dn > 9)
			return ts_fail(t, PT2C_ECORRUPT, loc, "storage location has a bad device index");
		int32_t idx = 0;
		for (size_t i = 0; i < dn; i++) {
			char c = colon[1 + i];
			if (c < '0' || c > '9')
				return ts_fail(t, PT2C_ECORRUPT, loc, "storage location has a bad device index");
			idx = idx * 10 + (c - '0');
		}
		dev->index = idx;
	}
	if (!(dev->type = pt2c__ctx_intern(t->m->ctx, loc->s, tn)))
		return pt2c__err_oom(t->err);
	return 0;
}

/* Decode a rebuilt tensor (Parameter or plain) into out; *param tells which. */
static int ts_tensor(ts_ctx *t, const pt2c_py *o, pt2c_tensor *out, bool *param)
{
	*param = false;
	const pt2c_py *param_rg = NULL; /* Parameter(data, requires_grad) overrides the tensor's flag */
	for (int i = 0; i < 4 && o->type == PT2C_PY_BUILD; i++)
		o = o->items[0];
	if (o->type == PT2C_PY_REDUCE && (pt2c__py_is_global(o->items[0], "torch._utils", "_rebuild_parameter") ||
	                                  pt2c__py_is_global(o->items[0], "torch._utils", "_rebuild_parameter_with_state"))) {
		const pt2c_py *args = o->items[1];
		if (args->n < 2)
			return ts_fail(t, PT2C_ECORRUPT, o, "_rebuild_parameter has %u arguments", args->n);
		*param = true;
		param_rg = args->items[1];
		o = args->items[0];
		for (int i = 0; i < 4 && o->type == PT2C_PY_BUILD; i++)
			o = o->items[0];
	}
	if (o->type != PT2C_PY_REDUCE || o->items[0]->type != PT2C_PY_GLOBAL)
		return ts_fail(t, PT2C_EUNSUPPORTED, o, "value is not a rebuilt tensor");
	const pt2c_py *fn = o->items[0], *args = o->items[1];
	bool v3 = pt2c__py_is_global(fn, "torch._utils", "_rebuild_tensor_v3");
	if (!v3 && !pt2c__py_is_global(fn, "torch._utils", "_rebuild_tensor_v2"))
		return ts_fail(t, PT2C_EUNSUPPORTED, o, "tensor rebuilt by %s.%s is not supported", fn->s, fn->s2);
	if (args->n < (v3 ? 7u : 5u))
		return ts_fail(t, PT2C_ECORRUPT, o, "%s has %u arguments", fn->s2, args->n);

	const pt2c_py *pid = args->items[0];
	if (pid->type != PT2C_PY_PERSID || pid->items[0]->type != PT2C_PY_TUPLE || pid->items[0]->n < 5)
		return ts_fail(t, PT2C_ECORRUPT, pid, "tensor storage is not a persistent id tuple");
	const pt2c_py *const *sp = (const pt2c_py *const *)pid->items[0]->items;
	if (!is_str(sp[0], "storage") || sp[1]->type != PT2C_PY_GLOBAL || strcmp(sp[1]->s, "torch") != 0 ||
	    sp[2]->type != PT2C_PY_STR)
		return ts_fail(t, PT2C_ECORRUPT, pid, "persistent id is not ('storage', torch.<X>Storage, key, ...)");

	pt2c_tensor_meta meta;
	memset(&meta, 0, sizeof meta);
	meta.layout = PT2C_LAYOUT_STRIDED;
	int dtype = -1;
	if (v3) {
		const pt2c_py *dt = args->items[6];
		if (dt->type != PT2C_PY_GLOBAL || strcmp(dt->s, "torch") != 0)
			return ts_fail(t, PT2C_ECORRUPT, dt, "_rebuild_tensor_v3 dtype is not torch.<dtype>");
		dtype = pt2c__dtype_from_name(dt->s2, strlen(dt->s2));
		if (dtype <= 0)
			return ts_fail(t, PT2C_EUNSUPPORTED, dt, "dtype torch.%s is not supported", dt->s2);
	} else {
		for (size_t i = 0; i < PT2C_ARRAY_LEN(storage_dtypes); i++)
			if (strcmp(sp[1]->s2, storage_dtypes[i].name) == 0)
				dtype = storage_dtypes[i].dtype;
		if (dtype < 0)
			return ts_fail(t, PT2C_EUNSUPPORTED, sp[1], "storage class torch.%s is not supported", sp[1]->s2);
	}
	meta.dtype = (uint8_t)dtype;
	int rc = ts_device(t, sp[3], &meta.device);
	if (rc)
		return rc;

	const pt2c_py *off = args->items[1], *size = args->items[2], *stride = args->items[3], *rg = args->items[4];
	if (off->type != PT2C_PY_INT || off->i < 0)
		return ts_fail(t, PT2C_ECORRUPT, off, "tensor storage offset is not a non-negative int");
	if (size->type != PT2C_PY_TUPLE)
		return ts_fail(t, PT2C_ECORRUPT, size, "tensor size is not a tuple");
	meta.ndim = size->n;
	if ((rc = ts_ints(t, size, &meta.sizes, meta.ndim, "size")) ||
	    (rc = ts_ints(t, stride, &meta.strides, meta.ndim, "stride")))
		return rc;
	meta.storage_offset = pt2c__sym_int(off->i);
	if (rg->type != PT2C_PY_BOOL && rg->type != PT2C_PY_INT)
		return ts_fail(t, PT2C_ECORRUPT, rg, "tensor requires_grad is not a bool");
	meta.requires_grad = rg->i != 0;
	if (param_rg && (param_rg->type == PT2C_PY_BOOL || param_rg->type == PT2C_PY_INT))
		meta.requires_grad = param_rg->i != 0;

	pt2c_storage *st = NULL;
	if ((rc = ts_storage(t, sp[2], &st)))
		return rc;
	uint64_t need = 0;
	if ((rc = pt2c__meta_storage_bytes(&meta, &need, t->err))) {
		pt2c__err_set_member(t->err, t->member);
		return rc;
	}
	if (need > st->nbytes)
		return ts_fail(t, PT2C_ECORRUPT, o, "tensor needs %llu bytes of storage data/%.*s, which has %llu",
		               (unsigned long long)need, (int)sp[2]->n, sp[2]->s, (unsigned long long)st->nbytes);
	out->meta = meta;
	out->storage = st;
	return 0;
}

int pt2c__torch_save_read_state_dict(pt2c_module *m, int attr_kind, const uint8_t *data, size_t len,
                                     pt2c_storage *backing, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && m->ctx && (data || len == 0));
	const pt2c_allocator *alloc = m->ctx->alloc;
	ts_ctx t;
	memset(&t, 0, sizeof t);
	t.m = m;
	t.backing = backing;
	t.err = err;
	pt2c__map_init(&t.by_key, alloc);
	pt2c_zip z;
	memset(&z, 0, sizeof z);
	pt2c_zip_opts opts;
	memset(&opts, 0, sizeof opts);
	pt2c_arena arena;
	pt2c__arena_init(&arena, alloc);
	pt2c_py *top = NULL;

	int rc = pt2c__zip_parse(&z, data, len, &opts, alloc, err);
	if (rc)
		goto done;
	t.z = &z;
	const pt2c_zip_entry *pe = pt2c__zip_find_in_root(&z, "data.pkl");
	if (pe) {
		size_t n = pe->name_len < sizeof t.member - 1 ? pe->name_len : sizeof t.member - 1;
		memcpy(t.member, pe->name, n);
	}
	if ((rc = pt2c__pickle_parse_data_pkl(&top, &z, &arena, err)))
		goto done;

	for (int i = 0; i < 4 && top->type == PT2C_PY_BUILD; i++) /* OrderedDict with _metadata */
		top = top->items[0];
	if (top->type == PT2C_PY_REDUCE && pt2c__py_is_global(top->items[0], "collections", "OrderedDict"))
		goto done; /* an OrderedDict() that never got items */
	if (top->type != PT2C_PY_DICT) {
		rc = ts_fail(&t, PT2C_ECORRUPT, top, "state dict pickle is not a dict");
		goto done;
	}
	for (uint32_t i = 0; i < top->n; i++) {
		const pt2c_py *key = top->items[2 * i], *val = top->items[2 * i + 1];
		if (key->type != PT2C_PY_STR || memchr(key->s, '\0', key->n)) {
			rc = ts_fail(&t, PT2C_ECORRUPT, key, "state dict key %u is not a string", i);
			goto done;
		}
		if (val->type == PT2C_PY_NONE)
			continue;
		pt2c_tensor tensor;
		memset(&tensor, 0, sizeof tensor);
		bool param = false;
		if ((rc = ts_tensor(&t, val, &tensor, &param))) {
			if (err)
				snprintf(err->message + strlen(err->message), sizeof err->message - strlen(err->message),
				         " (entry '%.*s')", key->n > 128 ? 128 : (int)key->n, key->s);
			goto done;
		}
		const char *fqn = pt2c__ctx_intern(m->ctx, key->s, key->n);
		if (!fqn) {
			rc = pt2c__err_oom(err);
			goto done;
		}
		pt2c_attr *a = NULL;
		if ((rc = pt2c__module_add_attr(m, fqn, param ? PT2C_ATTR_PARAMETER : attr_kind, &a))) {
			rc = rc == PT2C_ENOMEM ? pt2c__err_oom(err) : ts_fail(&t, rc, key, "state dict key '%s' names an attribute twice", fqn);
			goto done;
		}
		a->tensor.meta = tensor.meta;
		a->tensor.storage = pt2c__storage_ref(tensor.storage);
		a->persistent = true;
	}
done:
	for (size_t i = 0; i < t.nst; i++)
		pt2c__storage_unref(t.st[i]);
	pt2c__free(alloc, t.st);
	pt2c__map_free(&t.by_key);
	pt2c__arena_free(&arena);
	pt2c__zip_free(&z);
	return rc;
}
