/*
 * tensorrt.Engine custom objects: read the blobs PyTorch 2.11 wrote into the fixture archives,
 * write them back byte for byte (serialization_id included), and round-trip an ABI 8 record.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <stdlib.h>
#include <sys/mman.h>

#include "harness.h"
#include "serde/pickle.h"

typedef struct sv { const char *p; size_t n; } sv;

/* The strings of submodule `sub`'s "engine_record" array in a partitioned JSON text (the fixtures
 * hold no escapes there). Returns the count, 0 on failure. */
static size_t json_engine_record(const char *json, size_t len, const char *sub, sv *out, size_t max)
{
	char key[128];
	snprintf(key, sizeof key, "\"%s\": {", sub);
	const char *p = strstr(json, key);
	if (!p)
		return 0;
	p = strstr(p, "\"engine_record\": [");
	if (!p)
		return 0;
	p = strchr(p, '[') + 1;
	const char *end = json + len;
	size_t n = 0;
	while (p < end && *p != ']') {
		if (*p != '"') {
			p++;
			continue;
		}
		const char *q = ++p;
		while (q < end && *q != '"') {
			if (*q == '\\')
				return 0;
			q++;
		}
		if (n == max || q >= end)
			return 0;
		out[n].p = p;
		out[n].n = (size_t)(q - p);
		n++;
		p = q + 1;
	}
	return n;
}

static void free_payload(void *p) { free(p); }

/* A storage owning a malloc'd file. */
static pt2c_storage *load_storage(const char *rel)
{
	size_t len = 0;
	uint8_t *data = read_file(shared_path(rel), &len);
	if (!data)
		return NULL;
	pt2c_storage *s = NULL;
	if (pt2c__storage_new(NULL, data, len, free_payload, data, &s)) {
		free(data);
		return NULL;
	}
	return s;
}

static bool sv_eq(const char *p, size_t n, const char *q, size_t m)
{
	return n == m && (n == 0 || memcmp(p, q, n) == 0);
}

/* Read custom_obj_<idx> of a fixture archive, compare with the JSON record, write back, compare bytes. */
static void check_fixture_obj(const char *pt2, const char *json_rel, int idx, const char *sub)
{
	pt2c_storage *file = load_storage(pt2);
	REQUIRE(file);
	size_t jlen = 0;
	char *json = (char *)read_file(shared_path(json_rel), &jlen);
	REQUIRE(json);
	sv rec[16];
	size_t nrec = json_engine_record(json, jlen, sub, rec, 16);
	CHECK_EQ_INT(nrec, 9);

	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, file->data, file->nbytes, NULL, NULL, &err) == 0);
	char name[64];
	snprintf(name, sizeof name, "data/constants/custom_obj_%d", idx);
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(&z, name);
	REQUIRE(e);
	const uint8_t *blob = pt2c__zip_data(&z, e);
	size_t blen = (size_t)e->size;

	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	const char *cls = NULL;
	CHECK_EQ_INT(pt2c__custom_obj_class(&cls, ctx, blob, blen, &err), 0);
	CHECK_STR(cls, "__torch__.torch.classes.tensorrt.Engine");

	pt2c_engine_record *r = NULL;
	int rc = pt2c__engine_obj_read(&r, ctx, blob, blen, file, &err);
	CHECK_MSG(rc == 0, "engine_obj_read: %s", err.message);
	if (r) {
		CHECK_EQ_INT(r->abi, 6);
		CHECK_EQ_INT(r->n_fields, 9);
		CHECK(r->engine_b64);
		REQUIRE(r->engine);
		for (size_t i = 0; i < nrec && i < r->n_fields; i++) {
			if (i == PT2C_EF_ENGINE)
				CHECK(sv_eq((const char *)r->engine->data, r->engine->nbytes, rec[i].p, rec[i].n));
			else
				CHECK_MSG(sv_eq(r->fields[i].p, r->fields[i].n, rec[i].p, rec[i].n), "field %zu differs", i);
		}
		/* zero-copy: the engine text is a view into the archive */
		CHECK(r->engine->data > file->data && r->engine->data < file->data + file->nbytes);

		pt2c_buf out;
		pt2c__buf_init(&out, NULL);
		CHECK_EQ_INT(pt2c__engine_obj_write(r, pt2c__sink_buf(&out), NULL), 0);
		CHECK_EQ_INT(out.len, blen);
		uint64_t osz = 0;
		CHECK_EQ_INT(pt2c__engine_obj_size(r, NULL, &osz), 0);
		CHECK_EQ_INT(osz, blen);
		if (out.len == blen) {
			size_t first = 0;
			while (first < blen && (uint8_t)out.data[first] == blob[first])
				first++;
			CHECK_MSG(first == blen, "%s custom_obj_%d: first differing byte at %zu of %zu", pt2, idx, first, blen);
		}
		pt2c__buf_free(&out);
		pt2c__storage_unref(r->engine);
	}
	pt2c__ctx_unref(ctx);
	pt2c__zip_free(&z);
	free(json);
	pt2c__storage_unref(file);
}

static void test_hybrid_obj0(void)
{
	check_fixture_obj("fixtures/torch-2.11/hybrid_gated_fallback.normal.pt2",
	                  "fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json", 0, "_run_on_acc_0");
}

static void test_hybrid_obj1(void)
{
	check_fixture_obj("fixtures/torch-2.11/hybrid_gated_fallback.normal.pt2",
	                  "fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json", 1, "_run_on_acc_1");
}

static void test_folded_obj0(void)
{
	check_fixture_obj("fixtures/torch-2.11/full_engine_folded.normal.pt2",
	                  "fixtures/torch-2.11/full_engine_folded.partitioned.json", 0, "_run_on_acc_0");
}

/* Find the first occurrence of needle in hay. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* ABI 8 (11 fields) from the partitioned JSON: raw engine bytes -> blob -> record again. */
static void test_abi8_round_trip(void)
{
	size_t jlen = 0;
	char *json = (char *)read_file(shared_path("fixtures/partitioned/example_hybrid.partitioned.json"), &jlen);
	REQUIRE(json);
	sv rec[16];
	size_t n = json_engine_record(json, jlen, "_run_on_acc_0", rec, 16);
	REQUIRE(n == 11);

	pt2c_engine_record r;
	memset(&r, 0, sizeof r);
	r.abi = 8;
	r.n_fields = 11;
	for (size_t i = 0; i < n; i++) {
		r.fields[i].p = rec[i].p;
		r.fields[i].n = (uint32_t)rec[i].n;
	}
	r.fields[PT2C_EF_ENGINE].p = NULL;
	r.fields[PT2C_EF_ENGINE].n = 0;
	const sv *b64 = &rec[PT2C_EF_ENGINE];
	size_t rawn = pt2c__b64_decoded_len(b64->p, b64->n);
	REQUIRE(rawn != SIZE_MAX);
	uint8_t *raw = malloc(rawn ? rawn : 1);
	size_t bad = 0;
	REQUIRE(pt2c__b64_decode(raw, b64->p, b64->n, &bad) == 0);
	REQUIRE(pt2c__storage_new(NULL, raw, rawn, free_payload, raw, &r.engine) == 0);
	r.engine_b64 = false;

	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_MSG(pt2c__engine_record_validate(&r, &err) == 0, "validate: %s", err.message);

	pt2c_buf out;
	pt2c__buf_init(&out, NULL);
	CHECK_EQ_INT(pt2c__engine_obj_write(&r, pt2c__sink_buf(&out), NULL), 0);
	uint64_t osz = 0;
	CHECK_EQ_INT(pt2c__engine_obj_size(&r, NULL, &osz), 0);
	CHECK_EQ_INT(osz, out.len);
	/* issue 11 #5: every allocation failure of the size's dry run is reported as PT2C_ENOMEM (it
	 * was a size of 0, which the writer then reported as "invalid argument") */
	test_alloc ta;
	test_alloc_init(&ta);
	for (long k = 0;; k++) {
		uint64_t sz = 7;
		test_alloc_arm(&ta, k);
		int src = pt2c__engine_obj_size(&r, &ta.a, &sz);
		test_alloc_disarm(&ta);
		if (!ta.failed) {
			CHECK_EQ_INT(src, 0);
			CHECK_EQ_INT(sz, osz);
			CHECK(k > 0);
			break;
		}
		CHECK_EQ_INT(src, PT2C_ENOMEM);
		CHECK_EQ_INT(sz, 0);
	}
	CHECK_EQ_INT(ta.live, 0);

	/* The same record with the engine already in base64 writes the same bytes. */
	pt2c_engine_record r2 = r;
	REQUIRE(pt2c__storage_new(NULL, (const uint8_t *)b64->p, b64->n, NULL, NULL, &r2.engine) == 0);
	r2.engine_b64 = true;
	pt2c_buf out2;
	pt2c__buf_init(&out2, NULL);
	CHECK_EQ_INT(pt2c__engine_obj_write(&r2, pt2c__sink_buf(&out2), NULL), 0);
	CHECK(out2.len == out.len && memcmp(out.data, out2.data, out.len) == 0);
	pt2c__storage_unref(r2.engine);

	/* TorchScript memoizes strings: fields 9 and 10 ("0") are BINGETs of field 6's memo slot 8. */
	const uint8_t *pk = find_bytes((const uint8_t *)out.data, out.len, "X\x0c\0\0\0linux_x86_64q\x0a", 19);
	CHECK(pk != NULL);
	if (pk)
		CHECK(memcmp(pk + 19, "h\x08h\x08" "eX\x09\0\0\0List[str]q\x0b\x86Rq\x0c" "bq\x0d.", 29) == 0);

	pt2c_storage *back = NULL;
	REQUIRE(pt2c__storage_copy(NULL, out.data, out.len, &back) == 0);
	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_engine_record *rr = NULL;
	int rc = pt2c__engine_obj_read(&rr, ctx, back->data, back->nbytes, back, &err);
	CHECK_MSG(rc == 0, "read back: %s", err.message);
	if (rr) {
		CHECK_EQ_INT(rr->abi, 8);
		CHECK_EQ_INT(rr->n_fields, 11);
		for (size_t i = 0; i < n; i++) {
			if (i == PT2C_EF_ENGINE)
				CHECK(sv_eq((const char *)rr->engine->data, rr->engine->nbytes, b64->p, b64->n));
			else
				CHECK_MSG(sv_eq(rr->fields[i].p, rr->fields[i].n, rec[i].p, rec[i].n), "field %zu", i);
		}
		pt2c_storage *dec = NULL;
		CHECK_EQ_INT(pt2c__engine_record_raw(rr, NULL, &dec, &err), 0);
		if (dec)
			CHECK(dec->nbytes == rawn && memcmp(dec->data, raw, rawn) == 0);
		pt2c__storage_unref(dec);
		pt2c__storage_unref(rr->engine);
	}
	pt2c__ctx_unref(ctx);
	pt2c__storage_unref(back);
	pt2c__buf_free(&out);
	pt2c__buf_free(&out2);
	pt2c__storage_unref(r.engine);
	free(json);
}

/* A custom object of another class is reported as unsupported (the caller keeps it opaque). */
static void test_other_class(void)
{
	static const char pkl[] = "\x80\x02" "c__torch__.torch.classes.quantized\nLinearPackedParamsBase\nq\x00)\x81"
	                          "N\x85q\x01" "b.";
	pt2c_buf zb;
	pt2c__buf_init(&zb, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&zb), NULL);
	CHECK_EQ_INT(pt2c__zipw_add(&w, "archive/data.pkl", pkl, sizeof pkl - 1), 0);
	CHECK_EQ_INT(pt2c__zipw_add(&w, "archive/version", "3\n", 2), 0);
	CHECK_EQ_INT(pt2c__zipw_finish(&w), 0);
	pt2c__zipw_free(&w);

	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	const char *cls = NULL;
	CHECK_EQ_INT(pt2c__custom_obj_class(&cls, ctx, (const uint8_t *)zb.data, zb.len, &err), 0);
	CHECK_STR(cls, "__torch__.torch.classes.quantized.LinearPackedParamsBase");
	pt2c_engine_record *r = NULL;
	CHECK_EQ_INT(pt2c__engine_obj_read(&r, ctx, (const uint8_t *)zb.data, zb.len, NULL, &err), PT2C_EUNSUPPORTED);
	CHECK(r == NULL);
	pt2c__ctx_unref(ctx);
	pt2c__buf_free(&zb);
}

/* Every truncation and many byte flips of a real blob fail cleanly (or, for flips, may succeed). */
static void test_blob_mutations(void)
{
	pt2c_storage *file = load_storage("fixtures/torch-2.11/hybrid_gated_fallback.normal.pt2");
	REQUIRE(file);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, file->data, file->nbytes, NULL, NULL, &err) == 0);
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(&z, "data/constants/custom_obj_1");
	REQUIRE(e);
	size_t blen = (size_t)e->size;
	uint8_t *copy = malloc(blen);
	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	for (size_t cut = 0; cut < blen; cut += (cut < 200 || blen - cut < 300) ? 1 : 97) {
		memcpy(copy, pt2c__zip_data(&z, e), cut);
		pt2c_engine_record *r = NULL;
		int rc = pt2c__engine_obj_read(&r, ctx, copy, cut, NULL, &err);
		CHECK_MSG(rc != 0 && r == NULL, "truncation at %zu accepted", cut);
	}
	uint32_t seed = 12345;
	for (int it = 0; it < 3000; it++) {
		memcpy(copy, pt2c__zip_data(&z, e), blen);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % 6400; /* inside data.pkl (6461 bytes from offset 64) */
			seed = seed * 1103515245u + 12345u;
			copy[64 + at] = (uint8_t)(seed >> 16);
		}
		pt2c_engine_record *r = NULL;
		if (pt2c__engine_obj_read(&r, ctx, copy, blen, NULL, &err) == 0 && r)
			pt2c__storage_unref(r->engine);
	}
	free(copy);
	pt2c__ctx_unref(ctx);
	pt2c__zip_free(&z);
	pt2c__storage_unref(file);
}

/* Captures the first bytes written and counts the rest. */
typedef struct head_sink { uint8_t head[4096]; uint64_t n; } head_sink;

static int head_write(void *payload, const void *p, size_t n)
{
	head_sink *h = payload;
	if (h->n < sizeof h->head) {
		size_t k = sizeof h->head - h->n < n ? sizeof h->head - (size_t)h->n : n;
		memcpy(h->head + h->n, p, k);
	}
	h->n += n;
	return 0;
}

/* An engine whose base64 passes 4 GiB: BINUNICODE8, a ZIP64 data.pkl, and the size agrees. The raw
 * bytes are untouched zero pages of an anonymous mapping, so nothing engine-sized is allocated. */
static void test_huge_engine(void)
{
	const uint64_t raw_n = (UINT64_C(3) << 30) + (UINT64_C(200) << 20); /* 3.2 GiB -> 4.27 GiB of text */
	void *raw = mmap(NULL, raw_n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		printf("skip test_huge_engine: no address space\n");
		return;
	}
	pt2c_engine_record r;
	memset(&r, 0, sizeof r);
	static const char *f[9] = { "6", "_run_on_acc_0_engine", "0%9%0%1%NVIDIA H100 80GB HBM3", "", "x", "output0", "0",
	                            "gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dlaWdodF9uYW1lX21hcJROdS4=", "linux_x86_64" };
	r.abi = 6;
	r.n_fields = 9;
	for (int i = 0; i < 9; i++) {
		r.fields[i].p = f[i];
		r.fields[i].n = (uint32_t)strlen(f[i]);
	}
	REQUIRE(pt2c__storage_new(NULL, raw, raw_n, NULL, NULL, &r.engine) == 0);
	head_sink *h = calloc(1, sizeof *h);
	REQUIRE(h);
	pt2c_sink sink = { head_write, h };
	CHECK_EQ_INT(pt2c__engine_obj_write(&r, sink, NULL), 0);
	uint64_t hsz = 0;
	CHECK_EQ_INT(pt2c__engine_obj_size(&r, NULL, &hsz), 0);
	CHECK_EQ_INT(hsz, h->n);
	/* data.pkl starts at 128 (local header with a ZIP64 extra, then FB padding), and its fourth
	 * string is BINUNICODE8 with the 8-byte length of the text */
	const uint8_t *pk = h->head + 128;
	CHECK(memcmp(pk, "\x80\x02" "c__torch__", 11) == 0);
	CHECK_EQ_INT(pk[158], 0x8d);
	CHECK_EQ_INT(pt2c__rd64le(pk + 159), (raw_n + 2) / 3 * 4);
	free(h);
	pt2c__storage_unref(r.engine);
	munmap(raw, raw_n);
}

PT2C_TEST_MAIN({
	RUN(test_huge_engine);
	RUN(test_hybrid_obj0);
	RUN(test_hybrid_obj1);
	RUN(test_folded_obj0);
	RUN(test_abi8_round_trip);
	RUN(test_other_class);
	RUN(test_blob_mutations);
})
