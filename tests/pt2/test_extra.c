/*
 * test_extra.c -- extra files of a program through the public API: set / replace / remove,
 * name and content rules, the archive layout of PyTorch 2.11's torch.export.save(...,
 * extra_files=) (no fixture has extra files, so the expected layout is built from the rules of
 * torch/export/pt2_archive/_package.py: `_package_extra_files` writes `extra/<name>` with
 * write_string = the text's UTF-8 bytes, after the exported program's records -- the last is
 * data/sample_inputs/model.pt -- and before PT2ArchiveWriter.__exit__ adds archive_format), byte-identical
 * rewrites, and allocation failures that leave the program as it was.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "harness.h"
#include "pt2c.h"
#include "serde/zip.h"
#include "util/util.h"

static pt2c_program *open_fixture(const char *name, const pt2c_read_options *ro)
{
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", name);
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_program_open(&p, shared_path(rel), ro, &err);
	if (rc) pt2c_test_fail(__FILE__, __LINE__, "open %s: %d %s", rel, rc, err.message);
	return p;
}

static bool extra_is(const pt2c_program *p, size_t i, const char *name, const char *text)
{
	const char *n = NULL;
	const uint8_t *d = NULL;
	size_t len = 0;
	if (pt2c_program_extra_file(p, i, &n, &d, &len) != 0) return false;
	return strcmp(n, name) == 0 && len == strlen(text) && memcmp(d, text, len) == 0;
}

static void test_set_get_replace_remove(void)
{
	pt2c_program *p = open_fixture("mlp_bn", NULL);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 0);
	CHECK_EQ_INT(pt2c_program_extra_file(p, 0, NULL, NULL, NULL), PT2C_ENOTFOUND);
	char buf[16] = "hello\n";
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, "notes.txt", buf, 6, &err), 0);
	memcpy(buf, "XXXXXX", 6); /* the bytes were copied */
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, "meta.json", "{\"k\": \"\xc3\xa9\"}", 11, &err), 0);
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, "empty", NULL, 0, &err), 0);
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 3);
	CHECK(extra_is(p, 0, "notes.txt", "hello\n"));
	CHECK(extra_is(p, 1, "meta.json", "{\"k\": \"\xc3\xa9\"}"));
	CHECK(extra_is(p, 2, "empty", ""));
	/* replacing keeps the place */
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, "notes.txt", "bye", 3, &err), 0);
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 3);
	CHECK(extra_is(p, 0, "notes.txt", "bye"));
	CHECK_EQ_INT(pt2c_program_remove_extra_file(p, "meta.json", &err), 0);
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 2);
	CHECK(extra_is(p, 0, "notes.txt", "bye"));
	CHECK(extra_is(p, 1, "empty", ""));
	CHECK_EQ_INT(pt2c_program_remove_extra_file(p, "meta.json", &err), PT2C_ENOTFOUND);
	CHECK(strstr(err.message, "meta.json") != NULL);
	/* many: the array grows */
	for (int i = 0; i < 40; i++) {
		char nm[16];
		snprintf(nm, sizeof nm, "f%d", i);
		CHECK_EQ_INT(pt2c_program_set_extra_file(p, nm, nm, strlen(nm), &err), 0);
	}
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 42);
	CHECK(extra_is(p, 41, "f39", "f39"));
	pt2c_program_free(p);
}

static void test_bad_names_and_bytes(void)
{
	pt2c_program *p = open_fixture("mlp_bn", NULL);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_set_extra_file(p, "keep", "k", 1, &err) == 0);
	char longname[PT2C_EXTRA_FILE_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	static const char *const bad_names[] = { "", "a/b", "/abs", "a\\b", "..", "a..b", "x\x01", "tab\there", "del\x7f",
	                                         "\xff", "\xc0\xaf", "\xed\xa0\x80" };
	for (size_t i = 0; i < PT2C_ARRAY_LEN(bad_names); i++) {
		err.message[0] = 0;
		CHECK_MSG(pt2c_program_set_extra_file(p, bad_names[i], "x", 1, &err) == PT2C_EINVALID, "name %zu accepted", i);
		CHECK_MSG(err.message[0] != 0, "name %zu: no message", i);
		CHECK_EQ_INT(pt2c_extra_file_name_check(bad_names[i], NULL), PT2C_EINVALID);
	}
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, longname, "x", 1, &err), PT2C_EINVALID);
	longname[PT2C_EXTRA_FILE_NAME_MAX] = 0; /* exactly the maximum is fine */
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, longname, "x", 1, &err), 0);
	CHECK_EQ_INT(pt2c_program_remove_extra_file(p, longname, &err), 0);
	CHECK_EQ_INT(pt2c_program_set_extra_file(p, "\xc3\xa9t\xc3\xa9.txt", "x", 1, &err), 0); /* UTF-8 names are fine */
	CHECK_EQ_INT(pt2c_program_remove_extra_file(p, "\xc3\xa9t\xc3\xa9.txt", &err), 0);
	/* contents that torch.export.load could not decode as UTF-8 (it would fail to load at all) */
	static const char *const bad_text[] = { "\xff", "ok\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82" };
	for (size_t i = 0; i < PT2C_ARRAY_LEN(bad_text); i++) {
		CHECK_MSG(pt2c_program_set_extra_file(p, "keep", bad_text[i], strlen(bad_text[i]), &err) == PT2C_EINVALID,
		          "text %zu accepted", i);
		CHECK(strstr(err.message, "UTF-8") != NULL);
	}
	/* nothing changed */
	CHECK_EQ_INT(pt2c_program_extra_file_count(p), 1);
	CHECK(extra_is(p, 0, "keep", "k"));
	pt2c_program_free(p);
}

/* Members of an archive as (name after the root, data) in central-directory order. */
typedef struct member { char name[128]; const uint8_t *data; uint64_t size, offset; } member;

static size_t members(const uint8_t *file, size_t len, member *out, size_t cap)
{
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__zip_parse(&z, file, len, NULL, NULL, &err) != 0) {
		pt2c_test_fail(__FILE__, __LINE__, "zip: %s", err.message);
		return 0;
	}
	size_t n = 0;
	for (uint32_t i = 0; i < z.n && n < cap; i++) {
		const pt2c_zip_entry *e = &z.entries[i];
		const char *slash = memchr(e->name, '/', e->name_len);
		size_t skip = slash ? (size_t)(slash - e->name) + 1 : 0;
		snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(e->name_len - skip), e->name + skip);
		out[n].data = pt2c__zip_data(&z, e);
		out[n].size = e->size;
		out[n].offset = (uint64_t)(out[n].data - file);
		n++;
	}
	pt2c__zip_free(&z);
	return n;
}

static void test_archive_layout_and_round_trip(void)
{
	pt2c_program *p = open_fixture("conv_block", NULL);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	const char *text1 = "made by pt2c\n", *text2 = "{\"\xe4\xb8\xad\": 1}";
	REQUIRE(pt2c_program_set_extra_file(p, "notes.txt", text1, strlen(text1), &err) == 0);
	REQUIRE(pt2c_program_set_extra_file(p, "meta.json", text2, strlen(text2), &err) == 0);
	const char *a = scratch_path("extra_a.pt2");
	REQUIRE(pt2c_program_write(p, a, NULL, &err) == 0);
	size_t la = 0;
	uint8_t *fa = read_file(a, &la);
	REQUIRE(fa);
	member m[64];
	size_t n = members(fa, la, m, 64);
	size_t si = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, "data/sample_inputs/model.pt") == 0) si = i;
	REQUIRE(si != SIZE_MAX && si + 3 < n);
	CHECK_STR(m[si + 1].name, "extra/notes.txt");
	CHECK_STR(m[si + 2].name, "extra/meta.json");
	CHECK_STR(m[si + 3].name, "archive_format");
	CHECK(m[si + 1].size == strlen(text1) && memcmp(m[si + 1].data, text1, strlen(text1)) == 0);
	CHECK(m[si + 2].size == strlen(text2) && memcmp(m[si + 2].data, text2, strlen(text2)) == 0);
	CHECK(m[si + 1].offset % 64 == 0 && m[si + 2].offset % 64 == 0); /* every record 64-aligned, as torch's writer */
	/* read back: same names and bytes, in order; rewriting gives the same file byte for byte */
	pt2c_program *q = NULL;
	REQUIRE(pt2c_program_open(&q, a, NULL, &err) == 0);
	CHECK_EQ_INT(pt2c_program_extra_file_count(q), 2);
	CHECK(extra_is(q, 0, "notes.txt", text1));
	CHECK(extra_is(q, 1, "meta.json", text2));
	mkdir(scratch_path("extra_b"), 0777);
	const char *b = scratch_path("extra_b/extra_a.pt2"); /* same basename: same archive root */
	REQUIRE(pt2c_program_write(q, b, NULL, &err) == 0);
	size_t lb = 0;
	uint8_t *fb = read_file(b, &lb);
	CHECK(fb && la == lb && memcmp(fa, fb, la) == 0);
	free(fb);
	/* setting the same bytes again changes nothing in the output */
	REQUIRE(pt2c_program_set_extra_file(q, "notes.txt", text1, strlen(text1), &err) == 0);
	REQUIRE(pt2c_program_write(q, b, NULL, &err) == 0);
	fb = read_file(b, &lb);
	CHECK(fb && la == lb && memcmp(fa, fb, la) == 0);
	free(fb);
	pt2c_program_free(q);
	free(fa);
	pt2c_program_free(p);
}

/* Add then remove: the archive is byte-identical to the one written without ever adding. */
static void test_set_remove_identical(void)
{
	pt2c_program *p = open_fixture("dtypes", NULL);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	mkdir(scratch_path("extra_c"), 0777);
	mkdir(scratch_path("extra_d"), 0777);
	const char *a = scratch_path("extra_c/dtypes.pt2"), *b = scratch_path("extra_d/dtypes.pt2");
	REQUIRE(pt2c_program_write(p, a, NULL, &err) == 0);
	REQUIRE(pt2c_program_set_extra_file(p, "x", "1", 1, &err) == 0);
	REQUIRE(pt2c_program_set_extra_file(p, "y", "2", 1, &err) == 0);
	REQUIRE(pt2c_program_remove_extra_file(p, "x", &err) == 0);
	REQUIRE(pt2c_program_remove_extra_file(p, "y", &err) == 0);
	REQUIRE(pt2c_program_write(p, b, NULL, &err) == 0);
	size_t la = 0, lb = 0;
	uint8_t *fa = read_file(a, &la), *fb = read_file(b, &lb);
	CHECK(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
	free(fa);
	free(fb);
	pt2c_program_free(p);
}

/* Every allocation of set_extra_file failing in turn: ENOMEM and the program as it was. */
static void test_oom_leaves_program(void)
{
	test_alloc f; /* the harness's failing allocator */
	test_alloc_init(&f);
	const pt2c_allocator al = f.a;
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.alloc = &al;
	pt2c_program *p = open_fixture("mlp_bn", &ro);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	for (int i = 0; i < 4; i++) { /* fill the first array, so that the next add must grow it */
		char nm[8];
		snprintf(nm, sizeof nm, "k%d", i);
		REQUIRE(pt2c_program_set_extra_file(p, nm, "v", 1, &err) == 0);
	}
	const char *names[] = { "k1", "a-new-name-not-interned-yet" };
	for (size_t w = 0; w < 2; w++) {
		int done = 0;
		for (long k = 0; k < 50 && !done; k++) {
			size_t before = pt2c_program_extra_file_count(p);
			test_alloc_arm(&f, k);
			int rc = pt2c_program_set_extra_file(p, names[w], "new", 3, &err);
			test_alloc_disarm(&f);
			if (rc == 0) {
				done = 1;
				break;
			}
			CHECK_EQ_INT(rc, PT2C_ENOMEM);
			CHECK_EQ_INT(pt2c_program_extra_file_count(p), before);
			CHECK(extra_is(p, 1, "k1", w == 0 ? "v" : "new"));
			CHECK(before == 5 || extra_is(p, 3, "k3", "v"));
		}
		CHECK(done);
	}
	CHECK(extra_is(p, 1, "k1", "new"));
	CHECK(extra_is(p, 4, "a-new-name-not-interned-yet", "new"));
	pt2c_program_free(p);
	CHECK_EQ_INT(f.live, 0);
}

PT2C_TEST_MAIN({
	RUN(test_set_get_replace_remove);
	RUN(test_bad_names_and_bytes);
	RUN(test_archive_layout_and_round_trip);
	RUN(test_set_remove_identical);
	RUN(test_oom_leaves_program);
})
