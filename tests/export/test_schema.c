/*
 * test_schema.c -- the operator-schema table: parsing TorchScript schema strings (argument names,
 * types, kwarg-only, defaults, alias annotations, tuple and list returns) and the built-in table.
 */
#include <stdio.h>

#include "harness.h"
#include "export/export.h"

extern const char pt2c__op_schemas_txt[];
extern const unsigned long pt2c__op_schemas_len;

static pt2c_schema_table *builtin(void)
{
	pt2c_schema_table *t = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__schema_table_new(&t, NULL, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	return t;
}

static void test_builtin_aten(void)
{
	pt2c_schema_table *t = builtin();
	REQUIRE(t);
	const pt2c_schema *s = pt2c__schema_find(t, "torch.ops.aten.add.Tensor");
	REQUIRE(s);
	REQUIRE(s->n_args == 3);
	CHECK_STR(s->args[0].name, "self");
	CHECK_EQ_INT(s->args[0].type, PT2C_TY_TENSOR);
	CHECK_STR(s->args[2].name, "alpha");
	CHECK_EQ_INT(s->args[2].type, PT2C_TY_SCALAR);
	CHECK(s->args[2].kwarg_only && s->args[2].has_default);
	CHECK(!s->args[1].kwarg_only && !s->args[1].has_default);
	REQUIRE(s->n_returns == 1);
	CHECK_EQ_INT(s->returns[0].type, PT2C_TY_TENSOR);

	s = pt2c__schema_find(t, "torch.ops.aten.relu.default"); /* "aten::relu" has no overload name */
	REQUIRE(s);
	CHECK_STR(s->args[0].name, "self");

	s = pt2c__schema_find(t, "torch.ops.aten.conv2d.default");
	REQUIRE(s && s->n_args == 7);
	CHECK_EQ_INT(s->args[2].type, PT2C_TY_OPT_TENSOR);
	CHECK(s->args[2].optional && s->args[2].has_default);
	CHECK_EQ_INT(s->args[3].type, PT2C_TY_SYMINT_LIST);
	CHECK_STR(s->args[6].name, "groups");

	s = pt2c__schema_find(t, "torch.ops.aten.split.Tensor"); /* Tensor(a -> *) self ... -> Tensor(a)[] */
	REQUIRE(s && s->n_args == 3 && s->n_returns == 1);
	CHECK_STR(s->args[0].name, "self");
	CHECK_EQ_INT(s->returns[0].type, PT2C_TY_TENSOR_LIST);

	s = pt2c__schema_find(t, "torch.ops.aten.max.dim");
	REQUIRE(s && s->n_returns == 2);
	CHECK_STR(s->returns[0].name, "values");
	CHECK_STR(s->returns[1].name, "indices");

	s = pt2c__schema_find(t, "torch.ops.aten.index.Tensor");
	REQUIRE(s && s->n_args == 2);
	CHECK_EQ_INT(s->args[1].type, PT2C_TY_OPT_TENSOR_LIST);

	s = pt2c__schema_find(t, "torch.ops.aten._assert_scalar.default");
	REQUIRE(s);
	CHECK_EQ_INT(s->n_returns, 0);

	s = pt2c__schema_find(t, "torch.ops.aten.gelu.default"); /* str approximate="none" */
	REQUIRE(s && s->n_args == 2);
	CHECK_EQ_INT(s->args[1].type, PT2C_TY_STR);
	CHECK(s->args[1].kwarg_only && s->args[1].has_default);

	s = pt2c__schema_find(t, "torch.ops.aten.sum.dim_IntList"); /* int[1]? dim */
	REQUIRE(s);
	CHECK_EQ_INT(s->args[1].type, PT2C_TY_INT_LIST);
	CHECK(s->args[1].optional);
	CHECK(pt2c__schema_find(t, "torch.ops.aten.nope.default") == NULL);
	pt2c__schema_table_free(t);
}

/* Every line of the embedded table (PyTorch 2.11's dump + ours) parses and is found by its target. */
static void test_every_line_parses(void)
{
	pt2c_schema_table *t = builtin();
	REQUIRE(t);
	size_t lines = 0, found = 0;
	const char *p = pt2c__op_schemas_txt, *end = p + pt2c__op_schemas_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le > p && p[0] != '#') {
			pt2c_schema_table *one = NULL;
			pt2c_error err = PT2C_ERROR_INIT;
			REQUIRE(pt2c__schema_table_new_empty(&one, NULL, &err) == 0);
			int rc = pt2c__schema_table_add(one, p, (size_t)(le - p), &err);
			CHECK_MSG(rc == 0, "line %zu: %.*s: %s", lines + 1, (int)(le - p), p, err.message);
			/* "ns::name[.overload](" -> "torch.ops.ns.name.overload|default" */
			char target[512];
			const char *colon = strstr(p, "::"), *open = memchr(p, '(', (size_t)(le - p));
			if (colon && open && colon < open && (size_t)(open - p) < 400) {
				const char *dot = memchr(colon, '.', (size_t)(open - colon));
				snprintf(target, sizeof target, "torch.ops.%.*s.%.*s%s", (int)(colon - p), p, (int)(open - colon - 2), colon + 2,
				         dot ? "" : ".default");
				for (char *c = target + 10 + (colon - p) + 1; *c; c++) if (*c == ':') *c = '.';
				if (pt2c__schema_find(t, target)) found++;
				else CHECK_MSG(0, "line %zu: %s not in the table", lines + 1, target);
			}
			pt2c__schema_table_free(one);
			lines++;
		}
		p = le + 1;
	}
	CHECK(lines >= 2);
	CHECK_EQ_INT(found, lines);
	pt2c__schema_table_free(t);
}

static void test_tensorrt_ops(void)
{
	pt2c_schema_table *t = builtin();
	REQUIRE(t);
	const pt2c_schema *s = pt2c__schema_find(t, PT2C_TARGET_EXECUTE_ENGINE);
	REQUIRE(s && s->n_args == 2);
	CHECK_STR(s->args[0].name, "input_tensors");
	CHECK_EQ_INT(s->args[0].type, PT2C_TY_TENSOR_LIST);
	CHECK_STR(s->args[1].name, "engine");
	CHECK_EQ_INT(s->args[1].type, PT2C_TY_CUSTOM_OBJ);
	CHECK_EQ_INT(s->returns[0].type, PT2C_TY_TENSOR_LIST);
	/* torch-tensorrt-notes.md 2.9: inputs + 9 fields (ABI 6) ... + 13 fields (ABI 10) */
	s = pt2c__schema_find(t, PT2C_TARGET_NO_OP_PLACEHOLDER);
	REQUIRE(s && s->n_args == 14);
	CHECK_STR(s->args[0].name, "inputs");
	CHECK_STR(s->args[1].name, "abi_version");
	CHECK_STR(s->args[4].name, "serialized_engine");
	CHECK_STR(s->args[9].name, "serialized_target_platform");
	CHECK_STR(s->args[10].name, "serialized_require_output_allocator");
	CHECK_STR(s->args[13].name, "serialized_aliased_io");
	pt2c__schema_table_free(t);
}

static void test_add_and_errors(void)
{
	pt2c_schema_table *t = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__schema_table_new_empty(&t, NULL, &err) == 0);
	static const char s1[] = "foo::bar.baz(Tensor(a!) x, int[2] k=[1, 1], *, str mode=\"a,b\", Tensor?[] opt) -> (Tensor, SymInt n)";
	CHECK_EQ_INT(pt2c__schema_table_add(t, s1, strlen(s1), &err), 0);
	const pt2c_schema *s = pt2c__schema_find(t, "torch.ops.foo.bar.baz");
	REQUIRE(s && s->n_args == 4 && s->n_returns == 2);
	CHECK_STR(s->args[0].name, "x");
	CHECK_EQ_INT(s->args[1].type, PT2C_TY_INT_LIST);
	CHECK(s->args[1].has_default && !s->args[1].kwarg_only);
	CHECK_STR(s->args[2].name, "mode");
	CHECK(s->args[2].kwarg_only && s->args[2].has_default);
	CHECK_EQ_INT(s->args[3].type, PT2C_TY_OPT_TENSOR_LIST);
	CHECK(s->returns[0].name == NULL);
	CHECK_STR(s->returns[1].name, "n");
	CHECK_EQ_INT(s->returns[1].type, PT2C_TY_SYMINT);
	/* replacing keeps one entry */
	static const char s2[] = "foo::bar.baz(Tensor y) -> Tensor";
	CHECK_EQ_INT(pt2c__schema_table_add(t, s2, strlen(s2), &err), 0);
	s = pt2c__schema_find(t, "torch.ops.foo.bar.baz");
	REQUIRE(s && s->n_args == 1);
	CHECK_STR(s->args[0].name, "y");
	CHECK_EQ_INT(pt2c__schema_table_count(t), 1);
	/* lines of PyTorch's dump that need care: escaped quotes in defaults, varargs, tuple types */
	static const char s3[] = "aten::_test_string_default(Tensor dummy, str a=\"\\\"\\'\\\\\", str b=\"\\\"\\'\\\\\") -> Tensor";
	CHECK_EQ_INT(pt2c__schema_table_add(t, s3, strlen(s3), &err), 0);
	s = pt2c__schema_find(t, "torch.ops.aten._test_string_default.default");
	REQUIRE(s && s->n_args == 3);
	CHECK_STR(s->args[2].name, "b");
	static const char s4[] = "aten::format(str self, ...) -> str";
	CHECK_EQ_INT(pt2c__schema_table_add(t, s4, strlen(s4), &err), 0);
	s = pt2c__schema_find(t, "torch.ops.aten.format.default");
	REQUIRE(s && s->n_args == 1);
	static const char s5[] = "aten::popitem.Tensor(Dict(Tensor, t)(a!) self) -> ((Tensor, t))";
	CHECK_EQ_INT(pt2c__schema_table_add(t, s5, strlen(s5), &err), 0);
	s = pt2c__schema_find(t, "torch.ops.aten.popitem.Tensor");
	REQUIRE(s && s->n_args == 1 && s->n_returns == 1);
	CHECK_STR(s->args[0].name, "self");
	CHECK_EQ_INT(s->returns[0].type, PT2C_TY_OTHER);
	CHECK_EQ_INT(pt2c__schema_table_count(t), 4);
	static const char *const bad[] = { "garbage", "aten::x(Tensor a", "aten::x(Tensor a) Tensor", "::x(Tensor a) -> Tensor",
	                                   "aten::x(Tensor) -> Tensor", "aten::x(Tensor a)) -> Tensor" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_MSG(pt2c__schema_table_add(t, bad[i], strlen(bad[i]), &err) == PT2C_ECORRUPT, "accepted %s", bad[i]);
	CHECK_EQ_INT(pt2c__schema_table_count(t), 4);
	pt2c__schema_table_free(t);
}

PT2C_TEST_MAIN({
	RUN(test_builtin_aten);
	RUN(test_every_line_parses);
	RUN(test_tensorrt_ops);
	RUN(test_add_and_errors);
})
