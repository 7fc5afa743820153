/*
 * Torch-TensorRT 2.13+ opaque engine objects (EngineSerializer pickles): read the pickles CPython's
 * own pickler wrote (fuzzers/corpora/pickle/opaque_engine_*, made by
 * tools/generations/make_reference.py), write them back byte for byte (protocol 2), read the
 * protocol-4 form, and refuse every truncation and corruption with an error, never a crash.
 */
#include <stdlib.h>

#include "harness.h"
#include "serde/pickle.h"

static uint8_t *corpus(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/fuzzers/corpora/pickle/%s", getenv("PT2C_SOURCE") ? getenv("PT2C_SOURCE") : "..", name);
	return read_file(path, len);
}

static void roundtrip(const char *name, bool same_bytes, uint32_t abi)
{
	size_t len = 0;
	uint8_t *data = corpus(name, &len);
	REQUIRE(data);
	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_engine_record *r = NULL;
	int rc = pt2c__engine_opaque_read(&r, ctx, data, len, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", name, err.message);
	if (!rc) {
		CHECK_EQ_INT(r->abi, abi);
		CHECK_EQ_INT(r->n_fields, abi + 3);
		CHECK(r->engine_b64);
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		CHECK(pt2c__engine_opaque_write(r, pt2c__sink_buf(&b)) == 0);
		CHECK_EQ_INT(b.len, pt2c__engine_opaque_size(r));
		if (same_bytes)
			CHECK_MSG(b.len == len && memcmp(b.data, data, len) == 0, "%s is not rewritten byte for byte", name);
		/* the raw-engine form (as after export) gives the same bytes */
		pt2c_storage *raw = NULL;
		CHECK(pt2c__engine_record_raw(r, NULL, &raw, &err) == 0);
		pt2c_engine_record r2 = *r;
		r2.engine = raw;
		r2.engine_b64 = false;
		pt2c_buf b2;
		pt2c__buf_init(&b2, NULL);
		CHECK(pt2c__engine_opaque_write(&r2, pt2c__sink_buf(&b2)) == 0);
		CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
		pt2c__buf_free(&b2);
		pt2c__storage_unref(raw);
		pt2c__buf_free(&b);
		pt2c__storage_unref(r->engine);
	}
	/* every truncation and every single-byte corruption: an error or a valid record, no crash */
	uint8_t *copy = malloc(len);
	REQUIRE(copy);
	for (size_t cut = 0; cut < len; cut++) {
		pt2c_engine_record *t = NULL;
		pt2c_error e2 = PT2C_ERROR_INIT;
		memcpy(copy, data, cut);
		int trc = pt2c__engine_opaque_read(&t, ctx, copy, cut, NULL, &e2);
		CHECK_MSG(trc != 0 && e2.message[0], "%s cut at %zu: accepted or no message", name, cut);
		if (!trc)
			pt2c__storage_unref(t->engine);
	}
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, data, len);
		copy[i] ^= 0x5a;
		pt2c_engine_record *t = NULL;
		pt2c_error e2 = PT2C_ERROR_INIT;
		if (pt2c__engine_opaque_read(&t, ctx, copy, len, NULL, &e2) == 0)
			pt2c__storage_unref(t->engine);
		else
			CHECK_MSG(e2.message[0], "%s flipped at %zu: error without a message", name, i);
	}
	free(copy);
	pt2c__ctx_unref(ctx);
	free(data);
}

static void test_python_pickles(void)
{
	roundtrip("opaque_engine_abi9_p2.pkl", true, 9);
	roundtrip("opaque_engine_abi10_p2.pkl", true, 10);
	roundtrip("opaque_engine_abi10_p4.pkl", false, 10);
}

static void test_other_objects(void)
{
	pt2c_ctx *ctx = NULL;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_engine_record *r = NULL;
	/* a call of another global: not an engine (kept opaque by the archive reader) */
	static const char other[] = "\x80\x02" "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.";
	CHECK_EQ_INT(pt2c__engine_opaque_read(&r, ctx, (const uint8_t *)other, sizeof other - 1, NULL, &err), PT2C_EUNSUPPORTED);
	CHECK(strstr(err.message, "os.system") != NULL);
	/* the right global with a non-list argument */
	err = (pt2c_error)PT2C_ERROR_INIT;
	static const char notlist[] = "\x80\x02" "ctorch_tensorrt.dynamo.runtime._TRTEngine\n_reconstruct_trt_engine\nq\x00"
	                              "K\x05\x85q\x01Rq\x02.";
	CHECK_EQ_INT(pt2c__engine_opaque_read(&r, ctx, (const uint8_t *)notlist, sizeof notlist - 1, NULL, &err), PT2C_ECORRUPT);
	/* an ABI "11" record names the supported ABIs */
	err = (pt2c_error)PT2C_ERROR_INIT;
	/* built piecewise: hex escapes in C literals are greedy */
	static const char *const fields[] = { "11", "n", "d", "", "", "", "0", "", "linux_x86_64", "0", "0", "0", "", "" };
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "\x80\x02" "ctorch_tensorrt.dynamo.runtime._TRTEngine\n_reconstruct_trt_engine\n](");
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		uint32_t n = (uint32_t)strlen(fields[i]);
		uint8_t h[5] = { 'X', (uint8_t)n, 0, 0, 0 };
		pt2c__buf_put(&b, h, 5);
		pt2c__buf_put(&b, fields[i], n);
	}
	pt2c__buf_puts(&b, "e\x85R.");
	REQUIRE(!b.err);
	CHECK_EQ_INT(pt2c__engine_opaque_read(&r, ctx, (const uint8_t *)b.data, b.len, NULL, &err), PT2C_ECORRUPT);
	CHECK_MSG(strstr(err.message, "10 (development head)") != NULL, "%s", err.message);
	pt2c__buf_free(&b);
	pt2c__ctx_unref(ctx);
}

PT2C_TEST_MAIN(RUN(test_python_pickles); RUN(test_other_objects))
