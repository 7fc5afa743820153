/*
 * test_writer.c -- writer behaviour beyond the byte-exact fixture test: sinks agree with each
 * other, nested archives through the zip-member sink, empty archives and members as miniz writes
 * them, and misuse (size mismatch, bad or duplicate names) refused with PT2C_EINVALID.
 */
#include <stdlib.h>

#include "harness.h"
#include "serde/zip.h"

/* Write the same small archive into any sink. */
static int write_sample(pt2c_sink sink)
{
	pt2c_zipw w;
	pt2c__zipw_init(&w, sink, NULL);
	int rc = pt2c__zipw_add(&w, "archive/data/0", "\x01\x02\x03\x04", 4);
	if (!rc)
		rc = pt2c__zipw_add(&w, "archive/data.pkl", "\x80\x02}q\x00.", 6);
	if (!rc)
		rc = pt2c__zipw_add(&w, "archive/version", "3\n", 2);
	if (!rc)
		rc = pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	return rc;
}

static void test_buf_count_and_file_sinks_agree(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	REQUIRE(write_sample(pt2c__sink_buf(&b)) == 0);
	uint64_t count = 0;
	REQUIRE(write_sample(pt2c__sink_count(&count)) == 0);
	CHECK_EQ_INT(count, b.len);

	const char *path = scratch_path("zip_writer_sample.zip");
	pt2c_ofile f;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__ofile_open(&f, path, NULL, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	if (rc == 0) {
		CHECK_EQ_INT(write_sample(pt2c__sink_ofile(&f)), 0);
		CHECK_EQ_INT(pt2c__ofile_commit(&f, &err), 0);
		pt2c__ofile_abort(&f);
		size_t len = 0;
		uint8_t *back = read_file(path, &len);
		CHECK(back && len == b.len && memcmp(back, b.data, len) == 0);
		free(back);
		remove(path);
	}

	/* Layout: header at 0, data at 64 (30 + 14 + 4 = 48, pad 16), 16-byte descriptor. */
	const uint8_t *d = (const uint8_t *)b.data;
	static const uint8_t first[30] = { 0x50, 0x4b, 0x03, 0x04, 0, 0, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
	                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 14, 0, 20, 0 };
	CHECK(memcmp(d, first, 30) == 0);
	CHECK(memcmp(d + 30, "archive/data/0FB\x10\x00ZZZZZZZZZZZZZZZZ", 34) == 0);
	CHECK(memcmp(d + 64, "\x01\x02\x03\x04PK\x07\x08", 8) == 0);
	CHECK_EQ_INT(pt2c__rd32le(d + 72), 0xb63cfbcdu); /* zlib crc32 of 01 02 03 04 */
	CHECK_EQ_INT(pt2c__rd32le(d + 76), 4);
	CHECK_EQ_INT(pt2c__rd32le(d + 80), 4);
	pt2c__buf_free(&b);
}

static void test_nested_archive_through_member_sink(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_zipw outer;
	pt2c__zipw_init(&outer, pt2c__sink_buf(&b), NULL);
	REQUIRE(pt2c__zipw_add(&outer, "model/data/weights/weight_0", "0123456789abcdef", 16) == 0);
	REQUIRE(pt2c__zipw_begin(&outer, "model/data/constants/custom_obj_0", PT2C_ZIP_SIZE_UNKNOWN) == 0);
	REQUIRE(write_sample(pt2c__sink_zip_member(&outer)) == 0);
	REQUIRE(pt2c__zipw_end(&outer) == 0);
	REQUIRE(pt2c__zipw_add(&outer, "model/archive_format", "pt2", 3) == 0);
	REQUIRE(pt2c__zipw_finish(&outer) == 0);
	pt2c__zipw_free(&outer);

	pt2c_zip z, inner;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, NULL };
	REQUIRE(pt2c__zip_parse(&z, (const uint8_t *)b.data, b.len, &o, NULL, &err) == 0);
	const pt2c_zip_entry *e = pt2c__zip_find(&z, "model/data/constants/custom_obj_0", 33);
	REQUIRE(e);
	int rc = pt2c__zip_parse(&inner, pt2c__zip_data(&z, e), (size_t)e->size, &o, NULL, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	if (rc == 0) {
		CHECK_EQ_INT(inner.n, 3);
		const pt2c_zip_entry *v = pt2c__zip_find(&inner, "archive/version", 15);
		CHECK(v && v->size == 2 && memcmp(pt2c__zip_data(&inner, v), "3\n", 2) == 0);
		/* Inner data is 64-aligned inside the inner archive, which is 64-aligned in the outer. */
		for (uint32_t i = 0; i < inner.n; i++)
			CHECK_EQ_INT((e->data_off + inner.entries[i].data_off) % 64, 0);
		pt2c__zip_free(&inner);
	}
	/* Identical to writing the inner archive on its own. */
	pt2c_buf alone;
	pt2c__buf_init(&alone, NULL);
	REQUIRE(write_sample(pt2c__sink_buf(&alone)) == 0);
	CHECK(alone.len == e->size && memcmp(alone.data, pt2c__zip_data(&z, e), alone.len) == 0);
	pt2c__buf_free(&alone);
	pt2c__zip_free(&z);
	pt2c__buf_free(&b);
}

static void test_empty_archive_and_empty_members(void)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
	REQUIRE(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);
	/* Only the three end records: 56 + 20 + 22 bytes, directory offset 0 (as miniz). */
	CHECK_EQ_INT(b.len, 98);
	pt2c_zip z;
	CHECK_EQ_INT(pt2c__zip_parse(&z, (const uint8_t *)b.data, b.len, NULL, NULL, NULL), 0);
	CHECK_EQ_INT(z.n, 0);
	pt2c__zip_free(&z);

	/* Declared empty: flags 0x0800, no descriptor; unknown size ending empty: 0x0808 + descriptor. */
	b.len = 0;
	pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
	REQUIRE(pt2c__zipw_add(&w, "r/declared", NULL, 0) == 0);
	uint64_t second = w.offset;
	CHECK_EQ_INT(second, 64);
	REQUIRE(pt2c__zipw_begin(&w, "r/unknown", PT2C_ZIP_SIZE_UNKNOWN) == 0);
	REQUIRE(pt2c__zipw_end(&w) == 0);
	CHECK_EQ_INT(w.offset, 128 + 16);
	REQUIRE(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);
	const uint8_t *d = (const uint8_t *)b.data;
	CHECK_EQ_INT(pt2c__rd16le(d + 6), 0x0800);
	CHECK_EQ_INT(pt2c__rd16le(d + second + 6), 0x0808);
	REQUIRE(pt2c__zip_parse(&z, d, b.len, NULL, NULL, NULL) == 0);
	CHECK_EQ_INT(z.n, 2);
	CHECK_EQ_INT(z.entries[0].flags, 0x0800);
	CHECK_EQ_INT(z.entries[1].flags, 0x0808);
	CHECK_EQ_INT(z.entries[1].size, 0);
	pt2c__zip_free(&z);
	pt2c__buf_free(&b);
}

static void test_misuse_is_einvalid(void)
{
	uint64_t count = 0;
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_count(&count), NULL);
	/* Bad names are refused before anything is written; the writer stays usable. */
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "", 1), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "/abs", 1), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "a/../b", 1), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "a\\b", 1), PT2C_EINVALID);
	CHECK_EQ_INT(count, 0);
	CHECK_EQ_INT(pt2c__zipw_add(&w, "r/x", "1", 1), 0);
	CHECK_EQ_INT(pt2c__zipw_add(&w, "r/x", "2", 1), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_add(&w, "r/y", "2", 1), 0);
	/* Fewer bytes than declared: EINVALID, and it sticks. */
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "r/z", 10), 0);
	CHECK_EQ_INT(pt2c__zipw_data(&w, "abc", 3), 0);
	CHECK_EQ_INT(pt2c__zipw_end(&w), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_finish(&w), PT2C_EINVALID);
	pt2c__zipw_free(&w);

	/* More bytes than declared. */
	pt2c__zipw_init(&w, pt2c__sink_count(&count), NULL);
	CHECK_EQ_INT(pt2c__zipw_begin(&w, "r/z", 2), 0);
	CHECK_EQ_INT(pt2c__zipw_data(&w, "abc", 3), PT2C_EINVALID);
	CHECK_EQ_INT(pt2c__zipw_end(&w), PT2C_EINVALID);
	pt2c__zipw_free(&w);
}

/* A failing sink: its code comes back and sticks. */
static int fail_after_write(void *ctx, const void *p, size_t n)
{
	PT2C_UNUSED(p);
	size_t *left = ctx;
	if (n > *left)
		return PT2C_EIO;
	*left -= n;
	return 0;
}

static void test_sink_errors_stick(void)
{
	for (size_t budget = 0; budget < 400; budget += 13) {
		size_t left = budget;
		pt2c_sink s = { fail_after_write, &left };
		int rc = write_sample(s);
		uint64_t full = 0;
		write_sample(pt2c__sink_count(&full));
		CHECK_EQ_INT(rc, budget >= full ? 0 : PT2C_EIO);
	}
}

PT2C_TEST_MAIN({
	RUN(test_buf_count_and_file_sinks_agree);
	RUN(test_nested_archive_through_member_sink);
	RUN(test_empty_archive_and_empty_members);
	RUN(test_misuse_is_einvalid);
	RUN(test_sink_errors_stick);
})
