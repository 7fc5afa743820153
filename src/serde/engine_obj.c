/*
 * engine_obj.c -- the `torch._C._pickle_save(tensorrt.Engine)` blob: a nested PyTorchStreamWriter
 * zip whose archive/data.pkl pickles the engine's string list (pt2-format.md §3.4).
 *
 * Writing reproduces PyTorch 2.11 byte for byte, including .data/serialization_id: its first 20
 * digits hash the record names (a constant here, since the three names never change) and its last
 * 20 are c10::hash_combine over the records' CRC-32s in write order. TorchScript's pickler
 * memoizes strings (Pickler::pushString), so a field equal to an earlier one, or to 'List[str]',
 * becomes a BINGET of the earlier memo slot; the writer does the same.
 */
#include "serde/pickle.h"

#include <stdio.h>

#define ENGINE_CLASS_MODULE PT2C_ENGINE_CLASS_MODULE
#define ENGINE_CLASS_NAME PT2C_ENGINE_CLASS_NAME
#define ENGINE_CLASS_FQN PT2C_ENGINE_CLASS_FQN

/* The first 20 digits of serialization_id for a blob of {data.pkl, version, byteorder}:
 * c10::hash_combine over libstdc++ std::hash (_Hash_bytes, seed 0xc70f6907) of the names without
 * the root, in unordered_set iteration order (byteorder, version, data.pkl). Checked against every
 * 2.11 blob in the fixtures. */
#define SERIALIZATION_NAME_HASH "11768102982723388384"

static void unref_backing(void *payload)
{
	pt2c__storage_unref((pt2c_storage *)payload);
}

/* MARK: reading */

/*
 * Parse the blob's zip and pickle; *top is the pickled object (in arena). z must be freed.
 * *pkl_at receives where data.pkl's bytes start in the blob once the zip is read (UINT64_MAX
 * before): errors found in the pickle are moved by it (pkl_error_to_blob), so that their offsets
 * count from the start of the blob, the archive member that holds it, not of the nested pickle.
 */
static int load_blob(pt2c_py **top, pt2c_zip *z, const uint8_t *data, size_t len, pt2c_arena *arena,
                     const pt2c_allocator *alloc, uint64_t *pkl_at, pt2c_error *err)
{
	*pkl_at = UINT64_MAX;
	pt2c_zip_opts opts;
	memset(&opts, 0, sizeof opts);
	int rc = pt2c__zip_parse(z, data, len, &opts, alloc, err);
	if (rc)
		return rc;
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(z, "data.pkl");
	if (e)
		*pkl_at = e->data_off;
	return pt2c__pickle_parse_data_pkl(top, z, arena, err);
}

/* An error at an offset of the nested data.pkl: make it an offset of the blob. */
static void pkl_error_to_blob(pt2c_error *err, uint64_t pkl_at)
{
	if (err && pkl_at != UINT64_MAX && err->offset != UINT64_MAX && err->offset <= UINT64_MAX - pkl_at)
		err->offset += pkl_at;
}

int pt2c__custom_obj_class(const char **out, pt2c_ctx *ctx, const uint8_t *data, size_t len, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && ctx && (data || len == 0));
	*out = NULL;
	pt2c_zip z;
	memset(&z, 0, sizeof z);
	pt2c_arena arena;
	pt2c__arena_init(&arena, ctx->alloc);
	pt2c_py *o = NULL;
	uint64_t pkl_at;
	int rc = load_blob(&o, &z, data, len, &arena, ctx->alloc, &pkl_at, err);
	/* The class is the callable at the bottom of BUILD(NEWOBJ(GLOBAL, ...), state) and kin. */
	for (int depth = 0; !rc && o && o->type != PT2C_PY_GLOBAL; depth++) {
		if (depth > 16 || (o->type != PT2C_PY_BUILD && o->type != PT2C_PY_NEWOBJ && o->type != PT2C_PY_REDUCE))
			o = NULL;
		else
			o = o->items[0];
	}
	if (!rc && !o)
		rc = pt2c__err(err, PT2C_ECORRUPT, "custom object pickle does not name a class");
	if (rc)
		pkl_error_to_blob(err, pkl_at);
	if (!rc) {
		size_t a = strlen(o->s), b = strlen(o->s2);
		pt2c_buf buf;
		pt2c__buf_init(&buf, ctx->alloc);
		pt2c__buf_put(&buf, o->s, a);
		pt2c__buf_putc(&buf, '.');
		pt2c__buf_put(&buf, o->s2, b);
		if (buf.err || !(*out = pt2c__ctx_intern(ctx, buf.data, buf.len)))
			rc = pt2c__err_oom(err);
		pt2c__buf_free(&buf);
	}
	pt2c__arena_free(&arena);
	pt2c__zip_free(&z);
	return rc;
}

/* The list of strings inside an Engine's BUILD state: restore_type_tag(list, 'List[str]') or bare. */
static const pt2c_py *engine_state_list(const pt2c_py *state)
{
	if (state->type == PT2C_PY_REDUCE && pt2c__py_is_global(state->items[0], "torch.jit._pickle", "restore_type_tag")) {
		const pt2c_py *args = state->items[1];
		if (args->type != PT2C_PY_TUPLE || args->n < 1)
			return NULL;
		state = args->items[0];
	}
	return state->type == PT2C_PY_LIST || state->type == PT2C_PY_TUPLE ? state : NULL;
}

/* MARK: the record inside a pickle (both encodings) */

int pt2c__engine_record_from_py(pt2c_engine_record **out, pt2c_ctx *ctx, const pt2c_py *list, bool allow_bytes,
                                pt2c_storage *backing, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && ctx && list);
	*out = NULL;
	pt2c_engine_record *r = NULL;
	int rc = 0;
	if (list->n < 9 || list->n > PT2C_EF_MAX) {
		const pt2c_py *a0 = list->n ? list->items[0] : NULL;
		bool txt = a0 && a0->type == PT2C_PY_STR;
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, list->pos,
		                  "engine state has %u fields (ABI field \"%.*s\"), expected 9 to %d; supported are %s", list->n,
		                  txt ? (int)(a0->n > 8 ? 8 : a0->n) : 0, txt ? a0->s : "", PT2C_EF_MAX,
		                  pt2c__generation_abi_list());
		goto fail;
	}
	for (uint32_t i = 0; i < list->n; i++) {
		const pt2c_py *f = list->items[i];
		/* _reconstruct_trt_engine also takes the engine as bytes (base64, or raw starting "ftrt") */
		if (f->type != PT2C_PY_STR && !(allow_bytes && i == PT2C_EF_ENGINE && f->type == PT2C_PY_BYTES)) {
			rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, f->pos, "engine field %u is not a string", i);
			goto fail;
		}
		if (i != PT2C_EF_ENGINE && (uint64_t)f->i > UINT32_MAX) {
			rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, f->pos, "engine field %u is longer than 4 GiB", i);
			goto fail;
		}
	}

	r = pt2c__arena_zalloc(&ctx->arena, sizeof *r);
	if (!r) {
		rc = pt2c__err_oom(err);
		goto fail;
	}
	r->n_fields = list->n;
	for (uint32_t i = 0; i < list->n; i++) {
		if (i == PT2C_EF_ENGINE)
			continue;
		r->fields[i].p = list->items[i]->s;
		r->fields[i].n = list->items[i]->n;
	}
	const pt2c_py *abi = list->items[PT2C_EF_ABI];
	if (abi->n >= 1 && abi->n <= 3) { /* a non-number stays 0, which validation rejects */
		uint32_t v = 0;
		bool ok = true;
		for (uint32_t i = 0; i < abi->n; i++) {
			if (abi->s[i] < '0' || abi->s[i] > '9')
				ok = false;
			v = v * 10 + (uint32_t)(abi->s[i] - '0');
		}
		r->abi = ok ? v : 0;
	}
	const pt2c_py *eng = list->items[PT2C_EF_ENGINE];
	if (backing)
		pt2c__storage_ref(backing);
	rc = pt2c__storage_new(ctx->alloc, (const uint8_t *)eng->s, (uint64_t)eng->i, backing ? unref_backing : NULL,
	                       backing, &r->engine);
	if (rc) {
		pt2c__storage_unref(backing);
		r->engine = NULL;
		rc = pt2c__err_oom(err);
		goto fail;
	}
	r->engine_b64 = !(eng->type == PT2C_PY_BYTES && eng->i >= 4 && memcmp(eng->s, "ftrt", 4) == 0);
	rc = pt2c__engine_record_validate(r, err);
	if (rc) {
		pt2c__storage_unref(r->engine);
		r->engine = NULL;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	return rc;
}

int pt2c__engine_obj_read(pt2c_engine_record **out, pt2c_ctx *ctx, const uint8_t *data, size_t len,
                          pt2c_storage *backing, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && ctx && (data || len == 0));
	*out = NULL;
	pt2c_zip z;
	memset(&z, 0, sizeof z);
	pt2c_arena arena;
	pt2c__arena_init(&arena, ctx->alloc);
	pt2c_py *top = NULL;
	pt2c_engine_record *r = NULL;
	uint64_t pkl_at;
	int rc = load_blob(&top, &z, data, len, &arena, ctx->alloc, &pkl_at, err);
	if (rc)
		goto done;

	if (top->type != PT2C_PY_BUILD || top->items[0]->type != PT2C_PY_NEWOBJ ||
	    top->items[0]->items[0]->type != PT2C_PY_GLOBAL) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, top->pos, "custom object pickle is not BUILD(NEWOBJ(class), state)");
		goto done;
	}
	const pt2c_py *cls = top->items[0]->items[0];
	if (!pt2c__py_is_global(cls, ENGINE_CLASS_MODULE, ENGINE_CLASS_NAME)) {
		rc = pt2c__err(err, PT2C_EUNSUPPORTED, "custom object class %s.%s is not " ENGINE_CLASS_FQN, cls->s, cls->s2);
		goto done;
	}
	const pt2c_py *list = engine_state_list(top->items[1]);
	if (!list) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, top->items[1]->pos, "engine state is not a list of strings");
		goto done;
	}
	if ((rc = pt2c__engine_record_from_py(&r, ctx, list, false, backing, err)))
		goto done;
	*out = r;
done:
	if (rc)
		pkl_error_to_blob(err, pkl_at);
	if (rc && err && !err->member[0])
		pt2c__err_set_member(err, "archive/data.pkl");
	pt2c__arena_free(&arena);
	pt2c__zip_free(&z);
	return rc;
}

/* MARK: writing */

/* One string of the pickled list: plain text, or raw engine bytes written as base64. */
typedef struct ftext {
	const uint8_t *p;
	uint64_t n;  /* bytes at p */
	uint64_t tn; /* text length once pickled */
	bool raw;
	bool engine; /* the engine field (where a split cuts) */
} ftext;

#define B64_CHUNK_RAW 3072u  /* encodes to 4096 characters */

/* Do the pickled texts of a and b match? Encodes raw engine bytes chunk by chunk when needed. */
static bool ftext_eq(const ftext *a, const ftext *b)
{
	if (a->tn != b->tn)
		return false;
	if (a->raw == b->raw)
		return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, (size_t)a->n) == 0);
	if (b->raw) {
		const ftext *t = a;
		a = b;
		b = t;
	}
	char chunk[4 * (B64_CHUNK_RAW / 3)];
	uint64_t done = 0, off = 0;
	while (done < a->n) {
		size_t k = a->n - done < B64_CHUNK_RAW ? (size_t)(a->n - done) : B64_CHUNK_RAW;
		size_t en = pt2c__b64_encoded_len(k);
		pt2c__b64_encode(chunk, a->p + done, k);
		if (memcmp(chunk, b->p + off, en) != 0)
			return false;
		done += k;
		off += en;
	}
	return true;
}

/* Pickle bytes go to the open zip member, to a split (head, then mid after the engine text), or
 * are only counted. */
typedef struct pkw {
	pt2c_zipw *w; /* NULL = count only (or split) */
	pt2c_engine_split *split;
	pt2c_buf *cur;
	uint64_t count;
	int rc;
} pkw;

static void pk_put(pkw *o, const void *p, size_t n)
{
	if (o->rc)
		return;
	o->count += n;
	if (o->split) {
		pt2c__buf_put(o->cur, p, n);
		if (o->cur->err)
			o->rc = PT2C_ENOMEM;
		return;
	}
	if (!o->w)
		return;
	o->rc = pt2c__zipw_data(o->w, p, n);
}

static void pk_memo_op(pkw *o, uint8_t op_short, uint8_t op_long, uint32_t idx)
{
	uint8_t b[5];
	if (idx <= 255) {
		b[0] = op_short;
		b[1] = (uint8_t)idx;
		pk_put(o, b, 2);
	} else {
		b[0] = op_long;
		b[1] = (uint8_t)idx;
		b[2] = (uint8_t)(idx >> 8);
		b[3] = (uint8_t)(idx >> 16);
		b[4] = (uint8_t)(idx >> 24);
		pk_put(o, b, 5);
	}
}

static void pk_binput(pkw *o, uint32_t idx) { pk_memo_op(o, 'q', 'r', idx); }
static void pk_binget(pkw *o, uint32_t idx) { pk_memo_op(o, 'h', 'j', idx); }

/* BINUNICODE (or BINUNICODE8 past 4 GiB, as Pickler::pushStringImpl) of one text. */
static void pk_text(pkw *o, const ftext *t)
{
	uint8_t h[9];
	size_t hn;
	if (t->tn <= UINT32_MAX) {
		h[0] = 'X';
		for (int i = 0; i < 4; i++)
			h[1 + i] = (uint8_t)(t->tn >> (8 * i));
		hn = 5;
	} else {
		h[0] = 0x8d;
		for (int i = 0; i < 8; i++)
			h[1 + i] = (uint8_t)(t->tn >> (8 * i));
		hn = 9;
	}
	pk_put(o, h, hn);
	if (o->split && t->engine && t->n) { /* the text is the split's T: mid follows */
		o->split->src = t->p;
		o->split->src_n = t->n;
		o->split->encode = t->raw;
		o->split->text_n = t->tn;
		o->count += t->tn;
		o->cur = &o->split->mid;
		return;
	}
	if (!t->raw) {
		if (t->n)
			pk_put(o, t->p, (size_t)t->n);
		return;
	}
	if (!o->w) { /* counting: the encoded length is known */
		o->count += t->tn;
		return;
	}
	char chunk[4 * (B64_CHUNK_RAW / 3)];
	for (uint64_t done = 0; done < t->n && !o->rc;) {
		size_t k = t->n - done < B64_CHUNK_RAW ? (size_t)(t->n - done) : B64_CHUNK_RAW;
		pt2c__b64_encode(chunk, t->p + done, k);
		pk_put(o, chunk, pt2c__b64_encoded_len(k));
		done += k;
	}
}

/* Collect the record's strings plus 'List[str]' as pickled texts; returns how many. */
static uint32_t record_texts(const pt2c_engine_record *r, ftext *t)
{
	uint32_t n = r->n_fields;
	for (uint32_t i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof t[i]);
		if (i == PT2C_EF_ENGINE) {
			if (r->engine) {
				t[i].p = r->engine->data;
				t[i].n = r->engine->nbytes;
			}
			t[i].raw = !r->engine_b64;
			t[i].engine = true;
			t[i].tn = t[i].raw ? (uint64_t)pt2c__b64_encoded_len((size_t)t[i].n) : t[i].n;
		} else {
			t[i].p = (const uint8_t *)r->fields[i].p;
			t[i].n = r->fields[i].p ? r->fields[i].n : 0;
			t[i].tn = t[i].n;
		}
	}
	memset(&t[n], 0, sizeof t[n]);
	t[n].p = (const uint8_t *)"List[str]";
	t[n].n = t[n].tn = 9;
	return n + 1;
}

/* Emit data.pkl exactly as TorchScript's pickler writes an Engine (memo numbering included). */
static void emit_pickle(pkw *o, const pt2c_engine_record *r)
{
	static const char head[] = "\x80\x02" "c" ENGINE_CLASS_MODULE "\n" ENGINE_CLASS_NAME "\n";
	static const char rtt[] = "ctorch.jit._pickle\nrestore_type_tag\n";
	ftext t[PT2C_EF_MAX + 1];
	uint32_t ids[PT2C_EF_MAX + 1];
	uint32_t nt = record_texts(r, t), memo = 0;

	pk_put(o, head, sizeof head - 1);
	pk_binput(o, memo++);
	pk_put(o, ")\x81", 2); /* EMPTY_TUPLE NEWOBJ */
	pk_put(o, rtt, sizeof rtt - 1);
	pk_binput(o, memo++);
	pk_put(o, "](", 2); /* EMPTY_LIST MARK */
	for (uint32_t i = 0; i < nt; i++) {
		if (i == nt - 1)
			pk_put(o, "e", 1); /* APPENDS closes the list before the type tag */
		uint32_t j = 0;
		while (j < i && !ftext_eq(&t[j], &t[i]))
			j++;
		if (j < i) {
			ids[i] = ids[j];
			pk_binget(o, ids[i]);
		} else {
			pk_text(o, &t[i]);
			ids[i] = memo;
			pk_binput(o, memo++);
		}
	}
	pk_put(o, "\x86R", 2); /* TUPLE2 REDUCE */
	pk_binput(o, memo++);
	pk_put(o, "b", 1);     /* BUILD */
	pk_binput(o, memo++);
	pk_put(o, ".", 1);
}

static uint64_t pickle_size(const pt2c_engine_record *r)
{
	pkw o;
	memset(&o, 0, sizeof o);
	emit_pickle(&o, r);
	return o.count;
}

/* c10::hash_combine on 64-bit size_t. */
static uint64_t hash_combine(uint64_t seed, uint64_t v)
{
	return seed ^ (v + 0x9e3779b9u + (seed << 6) + (seed >> 2));
}

static bool record_ok(const pt2c_engine_record *r)
{
	return r && r->n_fields >= 1 && r->n_fields <= PT2C_EF_MAX && r->n_fields > PT2C_EF_ENGINE;
}

static int blob_finish(pt2c_zipw *w);

int pt2c__engine_obj_write(const pt2c_engine_record *r, pt2c_sink sink, const pt2c_allocator *alloc)
{
	PT2C_ASSERT_ARG(record_ok(r) && sink.write);
	pt2c_zipw w;
	pt2c__zipw_init(&w, sink, alloc);
	pkw o;
	memset(&o, 0, sizeof o);
	o.w = &w;
	int rc = pt2c__zipw_begin(&w, "archive/data.pkl", pickle_size(r));
	if (!rc) {
		emit_pickle(&o, r);
		rc = o.rc;
		pt2c__storage_drop_pages(r->engine); /* streamed out: its input pages are not needed in memory */
	}
	if (!rc)
		rc = blob_finish(&w);
	pt2c__zipw_free(&w);
	return rc;
}

/* Everything after data.pkl's bytes (w has data.pkl open, all of it accounted for). */
static int blob_finish(pt2c_zipw *w)
{
	int rc = pt2c__zipw_end(w);
	uint32_t pkl_crc = !rc && w->n ? w->entries[w->n - 1].crc : 0; /* the writer computed it on the way */
	static const char version[] = "3\n", byteorder[] = "little";
	if (!rc)
		rc = pt2c__zipw_add(w, "archive/version", version, 2);
	if (!rc)
		rc = pt2c__zipw_add(w, "archive/byteorder", byteorder, 6);
	if (!rc) {
		uint64_t h = hash_combine(0, pkl_crc);
		h = hash_combine(h, pt2c__crc32(0, version, 2));
		h = hash_combine(h, pt2c__crc32(0, byteorder, 6));
		char id[48];
		snprintf(id, sizeof id, "%s%020llu", SERIALIZATION_NAME_HASH, (unsigned long long)h);
		rc = pt2c__zipw_add(w, "archive/.data/serialization_id", id, 40);
	}
	if (!rc)
		rc = pt2c__zipw_finish(w);
	return rc;
}

int pt2c__engine_obj_tail(const pt2c_engine_record *r, uint64_t pkl_size, uint32_t pkl_crc, pt2c_buf *out,
                          const pt2c_allocator *alloc)
{
	PT2C_ASSERT_ARG(record_ok(r) && out);
	/* The local header goes to a scratch buffer; data.pkl is accounted for by its CRC. */
	pt2c_buf lfh;
	pt2c__buf_init(&lfh, alloc);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&lfh), alloc);
	int rc = pt2c__zipw_begin(&w, "archive/data.pkl", pkl_size);
	if (!rc)
		rc = pt2c__zipw_skip(&w, pkl_size, pkl_crc);
	if (!rc) {
		w.sink = pt2c__sink_buf(out);
		rc = blob_finish(&w);
	}
	pt2c__zipw_free(&w);
	pt2c__buf_free(&lfh);
	return rc;
}

int pt2c__engine_obj_split(const pt2c_engine_record *r, pt2c_engine_split *s, const pt2c_allocator *alloc)
{
	PT2C_ASSERT_ARG(record_ok(r) && s);
	memset(s, 0, sizeof *s);
	pt2c__buf_init(&s->head, alloc);
	pt2c__buf_init(&s->mid, alloc);
	s->pkl_size = pickle_size(r);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&s->head), alloc);
	int rc = pt2c__zipw_begin(&w, "archive/data.pkl", s->pkl_size);
	pt2c__zipw_free(&w);
	if (!rc) {
		s->pkl_off = s->head.len;
		pkw o;
		memset(&o, 0, sizeof o);
		o.split = s;
		o.cur = &s->head;
		emit_pickle(&o, r);
		rc = o.rc;
	}
	pt2c_buf tail;
	pt2c__buf_init(&tail, alloc);
	if (!rc) /* the tail's length does not depend on the CRC */
		rc = pt2c__engine_obj_tail(r, s->pkl_size, 0, &tail, alloc);
	s->tail_n = tail.len;
	pt2c__buf_free(&tail);
	if (!rc && (s->head.err || s->mid.err))
		rc = PT2C_ENOMEM;
	if (rc)
		pt2c__engine_split_free(s);
	return rc;
}

void pt2c__engine_split_free(pt2c_engine_split *s)
{
	if (!s)
		return;
	pt2c__buf_free(&s->head);
	pt2c__buf_free(&s->mid);
	memset(s, 0, sizeof *s);
}

int pt2c__engine_obj_size(const pt2c_engine_record *r, const pt2c_allocator *alloc, uint64_t *out)
{
	PT2C_ASSERT_ARG(record_ok(r) && out);
	*out = 0;
	/* A dry run of the zip writer with data.pkl replaced by zeros of the same length. */
	static const uint8_t zeros[65536];
	uint64_t total = 0;
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_count(&total), alloc);
	w.no_crc = true;
	uint64_t pkl = pickle_size(r);
	int rc = pt2c__zipw_begin(&w, "archive/data.pkl", pkl);
	for (uint64_t done = 0; !rc && done < pkl;) {
		size_t k = pkl - done < sizeof zeros ? (size_t)(pkl - done) : sizeof zeros;
		rc = pt2c__zipw_data(&w, zeros, k);
		done += k;
	}
	if (!rc)
		rc = pt2c__zipw_end(&w);
	if (!rc)
		rc = pt2c__zipw_add(&w, "archive/version", zeros, 2);
	if (!rc)
		rc = pt2c__zipw_add(&w, "archive/byteorder", zeros, 6);
	if (!rc)
		rc = pt2c__zipw_add(&w, "archive/.data/serialization_id", zeros, 40);
	if (!rc)
		rc = pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	if (!rc)
		*out = total;
	return rc;
}
