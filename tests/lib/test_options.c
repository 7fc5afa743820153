/*
 * test_options.c -- the public options structs: *_options_init() fills the current version's
 * defaults, and every function taking options refuses an unknown version with PT2C_EINVALID and
 * a message (issue 11: a version 99 read or write options struct used to be accepted).
 */
#include <stdlib.h>

#include "harness.h"
#include "pt2c.h"

static const char *fixture(void) { return shared_path("fixtures/torch-2.11/mlp_bn.pt2"); }

static void test_init_functions(void)
{
	pt2c_read_options r;
	memset(&r, 0xff, sizeof r);
	pt2c_read_options_init(&r);
	CHECK_EQ_INT(r.version, PT2C_READ_OPTIONS_VERSION);
	CHECK(r.flags == 0 && r.max_json_depth == 0 && r.alloc == NULL);
	pt2c_write_options w;
	memset(&w, 0xff, sizeof w);
	pt2c_write_options_init(&w);
	CHECK_EQ_INT(w.version, PT2C_WRITE_OPTIONS_VERSION);
	CHECK(w.root == NULL && w.progress == NULL && w.payload == NULL);
	pt2c_export_options e;
	memset(&e, 0xff, sizeof e);
	pt2c_export_options_init(&e);
	CHECK_EQ_INT(e.version, PT2C_EXPORT_OPTIONS_VERSION);
	CHECK_EQ_INT(e.cross_compile, 0);
	pt2c_read_options_init(NULL); /* accepted */
}

static void test_read_options_version(void)
{
	pt2c_read_options o;
	pt2c_read_options_init(&o);
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_open(&p, fixture(), &o, &err) == 0);
	pt2c_program_free(p);
	p = NULL;
	unsigned int bad[] = { 0, PT2C_READ_OPTIONS_VERSION + 1, 99 };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		o.version = bad[i];
		err = (pt2c_error)PT2C_ERROR_INIT;
		CHECK_EQ_INT(pt2c_program_open(&p, fixture(), &o, &err), PT2C_EINVALID);
		CHECK(p == NULL);
		CHECK_EQ_INT(err.code, PT2C_EINVALID);
		CHECK_MSG(strstr(err.message, "pt2c_read_options version") != NULL, "message: %s", err.message);
		size_t len = 0;
		uint8_t *data = read_file(fixture(), &len);
		REQUIRE(data);
		CHECK_EQ_INT(pt2c_program_parse(&p, data, len, &o, &err), PT2C_EINVALID);
		free(data);
		char *text = NULL;
		CHECK_EQ_INT(pt2c_archive_list(fixture(), &o, &text, &len, &err), PT2C_EINVALID);
		CHECK(text == NULL);
	}
}

static void test_write_options_version(void)
{
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_open(&p, fixture(), NULL, &err) == 0);
	const char *out = scratch_path("options_version.pt2");
	remove(out);
	pt2c_write_options w;
	pt2c_write_options_init(&w);
	w.version = 99;
	CHECK_EQ_INT(pt2c_program_write(p, out, &w, &err), PT2C_EINVALID);
	CHECK(strstr(err.message, "pt2c_write_options version 99") != NULL);
	CHECK(!file_exists(out));
	pt2c_write_options_init(&w);
	CHECK_EQ_INT(w.version, 2);
	CHECK_EQ_INT(w.threads, 0);
	CHECK_EQ_INT(pt2c_program_write(p, out, &w, &err), 0);
	CHECK(file_exists(out));
	size_t len2 = 0, len1 = 0, len3 = 0;
	uint8_t *v2 = read_file(out, &len2);
	/* version 1 (no threads field read) and an explicit count give the same bytes */
	w.version = 1;
	w.threads = 77; /* not a version 1 field: ignored */
	CHECK_EQ_INT(pt2c_program_write(p, out, &w, &err), 0);
	uint8_t *v1 = read_file(out, &len1);
	w.version = 2;
	w.threads = 3;
	CHECK_EQ_INT(pt2c_program_write(p, out, &w, &err), 0);
	uint8_t *v3 = read_file(out, &len3);
	CHECK(v1 && v2 && v3 && len1 == len2 && len3 == len2 && memcmp(v1, v2, len2) == 0 && memcmp(v3, v2, len2) == 0);
	free(v1);
	free(v2);
	free(v3);
	remove(out);
	pt2c_program_free(p);
}

static void test_export_options_version(void)
{
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_module_open(&m, shared_path("fixtures/torch-2.11/no_engine.partitioned.json"), NULL, &err) == 0);
	pt2c_export_options o;
	pt2c_export_options_init(&o);
	o.version = 0;
	pt2c_program *p = NULL;
	CHECK_EQ_INT(pt2c_export(&p, &m, &o, &err), PT2C_EINVALID);
	CHECK(m == NULL && p == NULL); /* consumed on failure too */
	CHECK(strstr(err.message, "pt2c_export_options version 0") != NULL);
	REQUIRE(pt2c_module_open(&m, shared_path("fixtures/torch-2.11/no_engine.partitioned.json"), NULL, &err) == 0);
	pt2c_export_options_init(&o);
	CHECK_EQ_INT(pt2c_export(&p, &m, &o, &err), 0);
	pt2c_program_free(p);
}

/* issue 11: API misuse fills err with "invalid argument: <expr>" instead of leaving the previous
 * call's message there (release builds only: a Debug build asserts first) */
static void test_assert_arg_fills_err(void)
{
#ifdef NDEBUG
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	CHECK(pt2c_program_open(&p, "/nonexistent/x.pt2", NULL, &err) != 0); /* leaves a message and a file */
	CHECK(err.message[0] && err.file[0]);
	CHECK_EQ_INT(pt2c_program_open(&p, NULL, NULL, &err), PT2C_EINVALID);
	CHECK_STR(err.message, "invalid argument: out && path");
	CHECK_STR(err.file, "");
	CHECK_EQ_INT(err.code, PT2C_EINVALID);
	CHECK_EQ_INT(pt2c_program_write(NULL, "x.pt2", NULL, &err), PT2C_EINVALID);
	CHECK_STR(err.message, "invalid argument: p && path");
	CHECK_EQ_INT(pt2c_program_open(&p, NULL, NULL, NULL), PT2C_EINVALID); /* err may be NULL */
#endif
}

PT2C_TEST_MAIN({
	RUN(test_assert_arg_fills_err);
	RUN(test_init_functions);
	RUN(test_read_options_version);
	RUN(test_write_options_version);
	RUN(test_export_options_version);
})
