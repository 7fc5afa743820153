/*
 * test_text_escape.c -- pt2c_text_escape (pt2c/common.h): the escaping of untrusted archive
 * strings that `pt2c engines`, `inspect` and the text summaries print. Each expected text is
 * written out by hand from the rules in the header.
 */
#include <string.h>

#include "harness.h"
#include "pt2c.h"

static void expect(const char *in, const char *want)
{
	char *out = NULL;
	size_t len = 99;
	CHECK_EQ_INT(pt2c_text_escape(in, &out, &len), 0);
	REQUIRE(out != NULL);
	CHECK_STR(out, want);
	CHECK(len == strlen(want));
	pt2c_free(out);
}

static void test_rules(void)
{
	expect("", "");
	expect("engine_0 ok", "engine_0 ok");
	expect("a\\b", "a\\\\b");
	expect("line\nnext\ttab\rcr", "line\\nnext\\ttab\\rcr");
	expect("\x1b[31mred", "\\x1b[31mred");   /* ESC: a terminal colour sequence, defused */
	expect("del\x7f", "del\\x7f");
	expect("caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"); /* valid UTF-8 stays */
	expect("c1\xc2\x85", "c1\\xc2\\x85");   /* U+0085 NEL: a C1 control */
	expect("\xe2\x80\xae" "evil", "\\xe2\\x80\\xae" "evil"); /* U+202E right-to-left override */
	expect("\xe2\x81\xa6iso", "\\xe2\\x81\\xa6iso");   /* U+2066 left-to-right isolate */
	expect("bad\xff", "bad\\xff");          /* not UTF-8 */
	expect("\xc0\xaf", "\\xc0\\xaf");       /* overlong '/' */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
	expect("cut\xe2\x9c", "cut\\xe2\\x9c"); /* a sequence cut short */
}

static void test_misuse(void)
{
	char *out = (char *)"untouched";
	CHECK_EQ_INT(pt2c_text_escape(NULL, &out, NULL), PT2C_EINVALID);
	CHECK(out == NULL);
	CHECK_EQ_INT(pt2c_text_escape("x", NULL, NULL), PT2C_EINVALID);
	out = NULL;
	CHECK_EQ_INT(pt2c_text_escape("x", &out, NULL), 0); /* len may be NULL */
	CHECK_STR(out, "x");
	pt2c_free(out);
}

PT2C_TEST_MAIN({
	RUN(test_rules);
	RUN(test_misuse);
})
