/*
 * engine_opaque.c -- Torch-TensorRT 2.13+ engine constants: a Python pickle of EngineSerializer,
 * whose __reduce__ is (_reconstruct_trt_engine, ([record strings, engine in base64],)), written
 * by PyTorch's _package_constants with pickle.dumps(obj, protocol=pickle_protocol) into
 * data/constants/opaque_obj_<n> (docs/generations.md, "Opaque engine objects").
 */
#include "serde/pickle.h"

/* MARK: reading */

int pt2c__engine_opaque_read(pt2c_engine_record **out, pt2c_ctx *ctx, const uint8_t *data, size_t len,
                             pt2c_storage *backing, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && ctx && (data || len == 0));
	*out = NULL;
	pt2c_arena arena;
	pt2c__arena_init(&arena, ctx->alloc);
	pt2c_py *top = NULL;
	int rc = pt2c__pickle_parse(&top, data, len, &arena, err);
	if (rc)
		goto done;
	if (top->type != PT2C_PY_REDUCE || top->items[0]->type != PT2C_PY_GLOBAL) {
		rc = pt2c__err_at(err, PT2C_EUNSUPPORTED, NULL, top->pos, "opaque object pickle is not a call of a global function");
		goto done;
	}
	const pt2c_py *fn = top->items[0];
	if (!pt2c__py_is_global(fn, PT2C_OPAQUE_ENGINE_MODULE, PT2C_OPAQUE_ENGINE_FUNC)) {
		rc = pt2c__err_at(err, PT2C_EUNSUPPORTED, NULL, fn->pos, "opaque object pickle calls %.100s.%.100s, not "
		                  PT2C_OPAQUE_ENGINE_MODULE "." PT2C_OPAQUE_ENGINE_FUNC, fn->s, fn->s2);
		goto done;
	}
	const pt2c_py *args = top->items[1];
	if (args->type != PT2C_PY_TUPLE || args->n != 1 ||
	    (args->items[0]->type != PT2C_PY_LIST && args->items[0]->type != PT2C_PY_TUPLE)) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, args->pos,
		                  PT2C_OPAQUE_ENGINE_FUNC " is not called with one list of engine record fields");
		goto done;
	}
	rc = pt2c__engine_record_from_py(out, ctx, args->items[0], true, backing, err);
done:
	pt2c__arena_free(&arena);
	return rc;
}

/* MARK: writing */

typedef struct ow {
	pt2c_sink sink; /* write == NULL: count only (or split) */
	pt2c_engine_split *split; /* bytes go to split->head, then split->mid after the engine text */
	pt2c_buf *cur;
	uint64_t count;
	int rc;
} ow;

static void put(ow *o, const void *p, size_t n)
{
	if (o->rc || !n)
		return;
	o->count += n;
	if (o->split) {
		pt2c__buf_put(o->cur, p, n);
		if (o->cur->err)
			o->rc = PT2C_ENOMEM;
	} else if (o->sink.write) {
		o->rc = o->sink.write(o->sink.ctx, p, n);
	}
}

static void memo_op(ow *o, uint8_t op_short, uint8_t op_long, uint32_t idx)
{
	uint8_t b[5];
	if (idx <= 255) {
		b[0] = op_short;
		b[1] = (uint8_t)idx;
		put(o, b, 2);
	} else {
		b[0] = op_long;
		for (int i = 0; i < 4; i++)
			b[1 + i] = (uint8_t)(idx >> (8 * i));
		put(o, b, 5);
	}
}

#define B64_CHUNK_RAW 3072u

/* BINUNICODE of a field (the engine field as base64 of raw bytes when !engine_b64). */
static void text(ow *o, const uint8_t *p, uint64_t n, bool encode, bool engine)
{
	uint64_t tn = encode ? (uint64_t)pt2c__b64_encoded_len((size_t)n) : n;
	if (tn > UINT32_MAX) {
		if (!o->rc)
			o->rc = PT2C_EUNSUPPORTED;
		return;
	}
	uint8_t h[5] = { 'X', (uint8_t)tn, (uint8_t)(tn >> 8), (uint8_t)(tn >> 16), (uint8_t)(tn >> 24) };
	put(o, h, 5);
	if (o->split && engine && n && !o->rc) { /* the split's T: mid follows */
		o->split->src = p;
		o->split->src_n = n;
		o->split->encode = encode;
		o->split->text_n = tn;
		o->count += tn;
		o->cur = &o->split->mid;
		return;
	}
	if (!encode) {
		put(o, p, (size_t)n);
		return;
	}
	if (!o->sink.write) {
		o->count += tn;
		return;
	}
	char chunk[4 * (B64_CHUNK_RAW / 3)];
	for (uint64_t done = 0; done < n && !o->rc;) {
		size_t k = n - done < B64_CHUNK_RAW ? (size_t)(n - done) : B64_CHUNK_RAW;
		pt2c__b64_encode(chunk, p + done, k);
		put(o, chunk, pt2c__b64_encoded_len(k));
		done += k;
	}
}

static void emit(ow *o, const pt2c_engine_record *r)
{
	static const char head[] = "\x80\x02" "c" PT2C_OPAQUE_ENGINE_MODULE "\n" PT2C_OPAQUE_ENGINE_FUNC "\n";
	uint32_t memo = 0;
	uint32_t ids[PT2C_EF_MAX];
	put(o, head, sizeof head - 1);
	memo_op(o, 'q', 'r', memo++); /* the function */
	put(o, "]", 1);
	memo_op(o, 'q', 'r', memo++); /* the list */
	uint32_t n = r->n_fields;
	put(o, n > 1 ? "(" : "", n > 1 ? 1 : 0);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p;
		uint64_t len;
		bool encode = false;
		if (i == PT2C_EF_ENGINE) {
			p = r->engine ? r->engine->data : NULL;
			len = r->engine ? r->engine->nbytes : 0;
			encode = !r->engine_b64;
			if (encode && len == 0)
				encode = false; /* base64 of nothing is "" */
		} else {
			p = (const uint8_t *)r->fields[i].p;
			len = r->fields[i].p ? r->fields[i].n : 0;
		}
		/* CPython returns its cached singleton for a 0- or 1-character ASCII string decoded
		 * from UTF-8, so such equal fields are one object and the pickler refers back to it */
		uint32_t j = 0;
		if (len <= 1 && !encode && (len == 0 || p[0] < 0x80)) {
			for (j = 0; j < i; j++) {
				const uint8_t *q = j == PT2C_EF_ENGINE ? (r->engine ? r->engine->data : NULL)
				                                       : (const uint8_t *)r->fields[j].p;
				uint64_t qn = j == PT2C_EF_ENGINE ? (r->engine && r->engine_b64 ? r->engine->nbytes : UINT64_MAX)
				                                  : (r->fields[j].p ? r->fields[j].n : 0);
				if (j == PT2C_EF_ENGINE && r->engine && !r->engine_b64 && r->engine->nbytes == 0)
					qn = 0;
				if (qn == len && (len == 0 || q[0] == p[0]))
					break;
			}
		} else {
			j = i;
		}
		if (j < i) {
			memo_op(o, 'h', 'j', ids[j]);
			ids[i] = ids[j];
		} else {
			text(o, p, len, encode, i == PT2C_EF_ENGINE);
			ids[i] = memo;
			memo_op(o, 'q', 'r', memo++);
		}
	}
	put(o, n > 1 ? "e" : "a", 1); /* APPENDS / APPEND */
	put(o, "\x85", 1);            /* TUPLE1 */
	memo_op(o, 'q', 'r', memo++);
	put(o, "R", 1);
	memo_op(o, 'q', 'r', memo++);
	put(o, ".", 1);
}

int pt2c__engine_opaque_write(const pt2c_engine_record *r, pt2c_sink sink)
{
	PT2C_ASSERT_ARG(r && r->n_fields > PT2C_EF_ENGINE && r->n_fields <= PT2C_EF_MAX && sink.write);
	ow o;
	memset(&o, 0, sizeof o);
	o.sink = sink;
	emit(&o, r);
	if (!o.rc)
		pt2c__storage_drop_pages(r->engine);
	return o.rc;
}

uint64_t pt2c__engine_opaque_size(const pt2c_engine_record *r)
{
	if (!r || r->n_fields <= PT2C_EF_ENGINE || r->n_fields > PT2C_EF_MAX)
		return 0;
	ow o;
	memset(&o, 0, sizeof o);
	emit(&o, r);
	return o.rc ? 0 : o.count;
}

int pt2c__engine_opaque_split(const pt2c_engine_record *r, pt2c_engine_split *s, const pt2c_allocator *alloc)
{
	PT2C_ASSERT_ARG(r && r->n_fields > PT2C_EF_ENGINE && r->n_fields <= PT2C_EF_MAX && s);
	memset(s, 0, sizeof *s);
	pt2c__buf_init(&s->head, alloc);
	pt2c__buf_init(&s->mid, alloc);
	ow o;
	memset(&o, 0, sizeof o);
	o.split = s;
	o.cur = &s->head;
	emit(&o, r);
	if (o.rc)
		pt2c__engine_split_free(s);
	return o.rc;
}
