/*
 * test_json_reader.c -- the JSON-reader scaffold both document readers use (util/json_reader.h):
 * RFC 6901 pointers, member prefix, line:column, offsets, typed member access and its one wording,
 * and path scopes that end on every way out of a block.
 */
#include <stdio.h>

#include "harness.h"
#include "util/json_reader.h"

static pt2c_arena A;

static const pt2c_json *parse(const char *doc)
{
	pt2c_json *root = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_json_opts o = { 0, 0 };
	if (pt2c__json_parse(&root, doc, strlen(doc), &o, &A, &err) != 0)
		return NULL;
	return root;
}

/* RFC 6901: '~' -> "~0", '/' -> "~1" in keys; indices in decimal; the member prefix with ':'. */
static void test_pointer_escaping(void)
{
	const char *doc = "{\"a/b\": {\"~x\": [1, \n  \"s\"]}}";
	const pt2c_json *root = parse(doc);
	REQUIRE(root);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_jr jr;
	pt2c__jr_init(&jr, doc, strlen(doc), "models/model.json", &err);
	const pt2c_json *ab = NULL, *x = NULL;
	REQUIRE(pt2c__jr_field(&jr, root, "a/b", PT2C_JSON_OBJECT, 0, &ab) == 0);
	PT2C_JR_AT(&jr, "a/b");
	REQUIRE(pt2c__jr_field(&jr, ab, "~x", PT2C_JSON_ARRAY, 0, &x) == 0);
	PT2C_JR_AT(&jr, "~x");
	int rc = 0;
	int64_t i = 0;
	PT2C_JR_EACH(&jr, it, x, !rc)
		rc = pt2c__jr_int(&jr, it.val, &i);
	CHECK(rc == PT2C_ECORRUPT);
	CHECK_STR(err.member, "models/model.json:/a~1b/~0x/1");
	CHECK_STR(err.message, "expected an integer, got a string at line 2 column 3");
	CHECK(err.offset == (uint64_t)(strchr(doc, 's') - 1 - doc));
	CHECK(jr.depth == 2); /* the loop gave its index back */
}

/* A missing member: named in the pointer, placed at its object; type errors worded one way. */
static void test_fields(void)
{
	const char *doc = "{\"o\": {\"n\": null, \"b\": 1, \"f\": 2}}";
	const pt2c_json *root = parse(doc), *o = NULL, *v = NULL;
	REQUIRE(root);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_jr jr;
	pt2c__jr_init(&jr, doc, strlen(doc), NULL, &err);
	REQUIRE(pt2c__jr_field(&jr, root, "o", PT2C_JSON_OBJECT, 0, &o) == 0);
	PT2C_JR_AT(&jr, "o");
	CHECK(pt2c__jr_field(&jr, o, "missing", PT2C_JSON_STRING, 0, &v) == PT2C_ECORRUPT);
	CHECK_STR(err.member, "/o/missing");
	CHECK_STR(err.message, "missing required key \"missing\" at line 1 column 7");
	CHECK(err.offset == 6);
	CHECK(jr.depth == 1);
	/* optional: absent and null are both "not given" */
	v = root;
	CHECK(pt2c__jr_field(&jr, o, "missing", PT2C_JSON_STRING, PT2C_JR_OPTIONAL, &v) == 0 && v == NULL);
	v = root;
	CHECK(pt2c__jr_field(&jr, o, "n", PT2C_JSON_STRING, PT2C_JR_OPTIONAL, &v) == 0 && v == NULL);
	/* a required null has the wrong type */
	CHECK(pt2c__jr_field(&jr, o, "n", PT2C_JSON_STRING, 0, &v) == PT2C_ECORRUPT);
	CHECK_STR(err.member, "/o/n");
	CHECK(strncmp(err.message, "expected a string, got null", 27) == 0);
	bool b = false, present = false;
	CHECK(pt2c__jr_field_bool(&jr, o, "b", 0, &b, &present) == PT2C_ECORRUPT);
	CHECK_STR(err.member, "/o/b");
	CHECK(strncmp(err.message, "expected a boolean, got an integer", 34) == 0);
	/* REAL asks for any number */
	CHECK(pt2c__jr_field(&jr, o, "f", PT2C_JSON_REAL, 0, &v) == 0 && v->u.i == 2);
	CHECK(pt2c__jr_field_bool(&jr, o, "zz", PT2C_JR_OPTIONAL, &b, &present) == 0 && !present);
	CHECK(pt2c__jr_field_bool(&jr, o, "n", PT2C_JR_OPTIONAL, &b, &present) == 0 && !present);
	/* not an object: said at the value itself */
	CHECK(pt2c__jr_field(&jr, pt2c__json_get(o, "b"), "k", PT2C_JR_ANY, 0, &v) == PT2C_ECORRUPT);
	CHECK_STR(err.member, "/o");
	CHECK(strncmp(err.message, "expected an object, got an integer", 34) == 0);
	CHECK(jr.depth == 1);
}

/* Scopes end on return, break and the end of a block; the root is "/"; no text: no line:column. */
static int leave_early(pt2c_jr *jr, const pt2c_json *arr)
{
	PT2C_JR_AT(jr, "k");
	PT2C_JR_EACH(jr, it, arr, true) {
		if (it.i == 1)
			return 7;
	}
	return 0;
}

static void test_scopes(void)
{
	const pt2c_json *arr = parse("[1, 2, 3]");
	REQUIRE(arr);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_jr jr;
	pt2c__jr_init(&jr, NULL, 0, "", &err);
	CHECK(leave_early(&jr, arr) == 7);
	CHECK(jr.depth == 0);
	PT2C_JR_EACH(&jr, it, arr, true) {
		if (it.i == 2)
			break;
	}
	CHECK(jr.depth == 0);
	{
		PT2C_JR_AT_IDX(&jr, 5);
		CHECK(jr.depth == 1);
	}
	CHECK(jr.depth == 0);
	CHECK(pt2c__jr_fail(&jr, PT2C_EGRAPH, arr, "bad %d", 1) == PT2C_EGRAPH);
	CHECK_STR(err.member, "/");
	CHECK_STR(err.message, "bad 1");
	CHECK(err.offset == 0);
	CHECK(pt2c__jr_fail(&jr, PT2C_ECORRUPT, NULL, "nowhere") == PT2C_ECORRUPT);
	CHECK(err.offset == UINT64_MAX);
}

/* Paths deeper than the record keep their first segments; the pointer is cut to fit the error. */
static void test_deep_and_long(void)
{
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_jr jr;
	pt2c__jr_init(&jr, NULL, 0, NULL, &err);
	char key[300];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = 0;
	for (int i = 0; i < PT2C_JR_PATH_MAX + 10; i++)
		(void)pt2c__jr_idx(&jr, (uint64_t)i);
	CHECK(jr.depth == PT2C_JR_PATH_MAX + 10);
	pt2c__jr_fail(&jr, PT2C_ECORRUPT, NULL, "deep");
	CHECK(strncmp(err.member, "/0/1/2/3/", 9) == 0);
	CHECK(strlen(err.member) < sizeof err.member);
	jr.depth = 0;
	PT2C_JR_AT(&jr, key);
	pt2c__jr_fail(&jr, PT2C_ECORRUPT, NULL, "long");
	CHECK(strlen(err.member) >= sizeof err.member - 3 && strlen(err.member) < sizeof err.member); /* cut, not overrun */
}

PT2C_TEST_MAIN({
	pt2c__arena_init(&A, NULL);
	RUN(test_pointer_escaping);
	RUN(test_fields);
	RUN(test_scopes);
	RUN(test_deep_and_long);
	pt2c__arena_free(&A);
})
