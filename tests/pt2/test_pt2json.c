/*
 * test_pt2json.c -- models/model.json read/write: every fixture written by PyTorch 2.11 must come
 * back byte-identical through read + write; a hand-written document covering all 30 Argument
 * variants, every InputSpec/OutputSpec kind, nested graphs, nullable fields and non-finite floats
 * must too; and malformed documents fail with the code and JSON path they deserve. Each check runs
 * through both readers: a whole DOM (pt2c__pt2json_read_ex) and lazy node arrays and
 * tensor_values tables (pt2c__pt2json_read_text, what archives use).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "serde/pt2json_read.h"
#include "serde/serde.h"
#include "serde/zip.h"

static const char *const FIXTURES[] = {
	"mlp_bn", "conv_block", "dyn_batch", "arange_const", "dtypes", "attn",
	"full_engine_folded.normal", "full_engine_folded.cross", "full_engine_two_outputs.normal",
	"full_engine_two_outputs.cross", "hybrid_gated_fallback.normal", "hybrid_gated_fallback.cross",
	"no_engine.normal", "no_engine.cross",
};

static void program_free_all(pt2c_program *p)
{
	pt2c__program_free_subgraphs(p);
	pt2c__program_free(p);
}

static bool g_lazy; /* read_doc reads through pt2c__pt2json_read_text instead of a whole DOM */

/* Parse `text` and read it into a fresh program; returns the read code. */
static int read_doc(const char *text, size_t len, pt2c_program **out, pt2c_arena *arena, pt2c_error *err)
{
	*out = NULL;
	pt2c_ctx *ctx = NULL;
	if (pt2c__ctx_new(&ctx, NULL))
		return PT2C_ENOMEM;
	pt2c_program *p = NULL;
	int rc = pt2c__program_new(ctx, &p);
	pt2c__ctx_unref(ctx);
	if (rc)
		return rc;
	pt2c_json *root = NULL;
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 0 };
	if (g_lazy) {
		rc = pt2c__pt2json_read_text(p, text, len, &jo, false, "models/model.json", err);
	} else {
		rc = pt2c__json_parse(&root, text, len, &jo, arena, err);
		if (!rc)
			rc = pt2c__pt2json_read_ex(p, root, text, len, "models/model.json", err);
	}
	if (rc) {
		program_free_all(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Read + write must reproduce `text` exactly; reports the first differing byte. */
static void check_roundtrip_1(const char *label, const char *text, size_t len)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = read_doc(text, len, &p, &arena, &err);
	CHECK_MSG(rc == 0, "%s: read failed: %d %s at %s +%llu", label, rc, err.message, err.member,
	          (unsigned long long)err.offset);
	pt2c__arena_free(&arena); /* the program must not depend on the DOM */
	if (rc)
		return;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	rc = pt2c__pt2json_write(&b, p);
	CHECK_MSG(rc == 0, "%s: write failed: %d", label, rc);
	size_t i = 0;
	while (i < b.len && i < len && b.data[i] == text[i])
		i++;
	if (i != len || b.len != len) {
		size_t from = i > 80 ? i - 80 : 0;
		pt2c_test_fail(__FILE__, __LINE__, "%s: output differs at byte %zu (len %zu vs %zu)\n  want: %.160s\n  got:  %.160s",
		               label, i, b.len, len, text + from, b.data ? b.data + from : "");
	}
	pt2c__buf_free(&b);
	program_free_all(p);
}

static void check_roundtrip(const char *label, const char *text, size_t len)
{
	for (int lazy = 0; lazy < 2; lazy++) {
		g_lazy = lazy;
		check_roundtrip_1(label, text, len);
	}
	g_lazy = false;
}

static void test_fixture_model_json_roundtrip(void)
{
	for (size_t f = 0; f < PT2C_ARRAY_LEN(FIXTURES); f++) {
		char rel[256];
		snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", FIXTURES[f]);
		size_t len = 0;
		uint8_t *data = read_file(shared_path(rel), &len);
		REQUIRE(data);
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__zip_parse(&z, data, len, NULL, NULL, &err);
		CHECK_MSG(rc == 0, "%s: %s", rel, err.message);
		if (rc == 0) {
			char name[300];
			snprintf(name, sizeof name, "%s/models/model.json", FIXTURES[f]);
			const pt2c_zip_entry *e = pt2c__zip_find(&z, name, strlen(name));
			CHECK_MSG(e != NULL, "%s has no %s", rel, name);
			if (e)
				check_roundtrip(FIXTURES[f], (const char *)pt2c__zip_data(&z, e), (size_t)e->size);
			pt2c__zip_free(&z);
		}
		free(data);
	}
}

static void test_fixture_ir_shape(void)
{
	/* dyn_batch: symbolic batch size with a range constraint; values are defined in order */
	size_t len = 0;
	uint8_t *data = read_file(shared_path("fixtures/torch-2.11/dyn_batch.pt2"), &len);
	REQUIRE(data);
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, &err) == 0);
	const pt2c_zip_entry *e = pt2c__zip_find(&z, "dyn_batch/models/model.json", 27);
	REQUIRE(e);
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = NULL;
	int rc = read_doc((const char *)pt2c__zip_data(&z, e), (size_t)e->size, &p, &arena, &err);
	CHECK_EQ_INT(rc, 0);
	if (p) {
		pt2c_graph *g = p->mod->graph;
		uint32_t first = g->first;
		CHECK_EQ_INT(g->nodes[first].op, PT2C_OP_PLACEHOLDER);
		CHECK_EQ_INT(g->nodes[g->last].op, PT2C_OP_OUTPUT);
		CHECK(p->n_ranges >= 1);
		if (p->n_ranges) {
			CHECK(p->ranges[0].has_min);
			CHECK_EQ_INT(p->ranges[0].min, 2);
			CHECK_EQ_INT(p->ranges[0].max, 1024);
		}
		uint32_t x = pt2c__graph_find_value(g, "x", 1);
		CHECK(x != PT2C_NONE);
		if (x != PT2C_NONE) {
			pt2c_value *v = pt2c__value(g, x);
			CHECK_EQ_INT(v->kind, PT2C_VAL_TENSOR);
			CHECK(v->has_meta);
			CHECK_EQ_INT(v->u.tensor->sizes[0].kind, PT2C_SYM_EXPR);
			CHECK_EQ_INT(v->u.tensor->dtype, PT2C_DTYPE_FLOAT32);
		}
		CHECK_STR(p->verifiers[0], "TRAINING");
		CHECK_STR(p->torch_version, "2.11.0+cu130");
	}
	program_free_all(p);
	pt2c__arena_free(&arena);
	pt2c__zip_free(&z);
	free(data);
}

#define TM_F32_2 "{\"dtype\": 7, \"sizes\": [{\"as_int\": 2}], \"requires_grad\": false, \"device\": {\"type\": \"cpu\", \"index\": null}, \"strides\": [{\"as_int\": 1}], \"storage_offset\": {\"as_int\": 0}, \"layout\": 7}"
#define TM_SYM "{\"dtype\": 6, \"sizes\": [{\"as_expr\": {\"expr_str\": \"Symbol('s0', positive=True, integer=True)\", \"hint\": {\"as_int\": 5}}}, {\"as_expr\": {\"expr_str\": \"s1\", \"hint\": null}}], \"requires_grad\": true, \"device\": {\"type\": \"cuda\", \"index\": 0}, \"strides\": [{\"as_int\": 4}, {\"as_int\": 1}], \"storage_offset\": {\"as_int\": 3}, \"layout\": 7}"
#define EMPTY_TABLES "\"sym_int_values\": {}, \"sym_bool_values\": {}, \"is_single_tensor_return\": false, \"custom_obj_values\": {}, \"sym_float_values\": {}"

/* A canonical (torch-formatted) document that uses every Argument variant and spec kind. */
static const char ALL_VARIANTS[] =
	"{\"graph_module\": {\"graph\": {\"inputs\": ["
	"{\"as_tensor\": {\"name\": \"p_w\"}}, {\"as_tensor\": {\"name\": \"b_buf\"}}, {\"as_tensor\": {\"name\": \"c_k\"}}, "
	"{\"as_custom_obj\": {\"name\": \"obj_e\", \"class_fqn\": \"__torch__.torch.classes.tensorrt.Engine\"}}, "
	"{\"as_tensor\": {\"name\": \"tok\"}}, "
	"{\"as_tensor\": {\"name\": \"x\"}}, {\"as_sym_int\": {\"as_name\": \"n\"}}, {\"as_int\": 3}], "
	"\"outputs\": [{\"as_tensor\": {\"name\": \"t1\"}}, {\"as_tensor\": {\"name\": \"a0\"}}, {\"as_sym_int\": {\"as_name\": \"s2\"}}, "
	"{\"as_bool\": true}, {\"as_tensor\": {\"name\": \"a1\"}}, {\"as_tensor\": {\"name\": \"tok\"}}], "
	"\"nodes\": ["
	/* node 1: scalars and enums */
	"{\"target\": \"torch.ops.test.scalars.default\", \"inputs\": ["
	"{\"name\": \"a\", \"arg\": {\"as_none\": true}, \"kind\": 1}, "
	"{\"name\": \"b\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}, \"kind\": 1}, "
	"{\"name\": \"c\", \"arg\": {\"as_int\": -9223372036854775807}, \"kind\": 2}, "
	"{\"name\": \"d\", \"arg\": {\"as_float\": 1e-05}, \"kind\": null}, "
	"{\"name\": \"e\", \"arg\": {\"as_float\": \"Infinity\"}, \"kind\": 1}, "
	"{\"name\": \"f\", \"arg\": {\"as_float\": \"-Infinity\"}, \"kind\": 1}, "
	"{\"name\": \"g\", \"arg\": {\"as_float\": \"NaN\"}, \"kind\": 1}, "
	"{\"name\": \"h\", \"arg\": {\"as_string\": \"caf\\u00e9 \\\"q\\\" \\n\"}, \"kind\": 1}, "
	"{\"name\": \"i\", \"arg\": {\"as_sym_int\": {\"as_name\": \"n\"}}, \"kind\": 1}, "
	"{\"name\": \"j\", \"arg\": {\"as_sym_int\": {\"as_int\": 4}}, \"kind\": 1}, "
	"{\"name\": \"k\", \"arg\": {\"as_scalar_type\": 13}, \"kind\": 2}, "
	"{\"name\": \"l\", \"arg\": {\"as_memory_format\": 2}, \"kind\": 2}, "
	"{\"name\": \"m\", \"arg\": {\"as_layout\": 7}, \"kind\": 2}, "
	"{\"name\": \"n\", \"arg\": {\"as_device\": {\"type\": \"cuda\", \"index\": 1}}, \"kind\": 2}, "
	"{\"name\": \"o\", \"arg\": {\"as_bool\": false}, \"kind\": 1}, "
	"{\"name\": \"p\", \"arg\": {\"as_operator\": \"torch.ops.aten.add.Tensor\"}, \"kind\": 1}, "
	"{\"name\": \"q\", \"arg\": {\"as_complex\": {\"real\": 1.5, \"imag\": -2.0}}, \"kind\": 1}, "
	"{\"name\": \"r\", \"arg\": {\"as_custom_obj\": {\"name\": \"obj_e\", \"class_fqn\": \"__torch__.torch.classes.tensorrt.Engine\"}}, \"kind\": 1}"
	"], \"outputs\": [{\"as_tensor\": {\"name\": \"t1\"}}, {\"as_none\": true}], \"metadata\": {\"stack_trace\": \"File \\\"x.py\\\", line 1\\n  y\", \"nn_module_stack\": \"L__self__,,__main__.M\"}, \"is_hop_single_tensor_return\": null, \"name\": \"t1\"}, "
	/* node 2: lists */
	"{\"target\": \"torch.ops.test.lists.default\", \"inputs\": ["
	"{\"name\": \"a\", \"arg\": {\"as_tensors\": [{\"name\": \"x\"}, {\"name\": \"t1\"}]}, \"kind\": 1}, "
	"{\"name\": \"b\", \"arg\": {\"as_ints\": [1, -2, 3]}, \"kind\": 1}, "
	"{\"name\": \"c\", \"arg\": {\"as_floats\": [0.1, 2.0, 1e+16, \"NaN\"]}, \"kind\": 1}, "
	"{\"name\": \"d\", \"arg\": {\"as_strings\": [\"a\", \"\"]}, \"kind\": 1}, "
	"{\"name\": \"e\", \"arg\": {\"as_sym_ints\": [{\"as_name\": \"n\"}, {\"as_int\": 3}]}, \"kind\": 1}, "
	"{\"name\": \"f\", \"arg\": {\"as_bools\": [true, false]}, \"kind\": 1}, "
	"{\"name\": \"g\", \"arg\": {\"as_optional_tensors\": [{\"as_tensor\": {\"name\": \"x\"}}, {\"as_none\": true}]}, \"kind\": 1}, "
	"{\"name\": \"h\", \"arg\": {\"as_optional_tensor\": {\"as_tensor\": {\"name\": \"p_w\"}}}, \"kind\": 1}, "
	"{\"name\": \"i\", \"arg\": {\"as_optional_tensor\": {\"as_none\": true}}, \"kind\": 1}, "
	"{\"name\": \"j\", \"arg\": {\"as_nested_tensors\": [[{\"name\": \"x\"}], []]}, \"kind\": 1}, "
	"{\"name\": \"k\", \"arg\": {\"as_int_lists\": [[1, 2], [3]]}, \"kind\": 1}, "
	"{\"name\": \"l\", \"arg\": {\"as_string_to_argument\": {\"alpha\": {\"as_int\": 1}, \"beta\": {\"as_tensor\": {\"name\": \"c_k\"}}}}, \"kind\": 2}, "
	"{\"name\": \"m\", \"arg\": {\"as_tensors\": []}, \"kind\": 1}"
	"], \"outputs\": [{\"as_tensors\": [{\"name\": \"a0\"}, {\"name\": \"a1\"}]}], \"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": \"lists\"}, "
	/* node 3: symbolic scalars, unnamed */
	"{\"target\": \"_operator.mul\", \"inputs\": ["
	"{\"name\": \"\", \"arg\": {\"as_sym_int\": {\"as_name\": \"n\"}}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_sym_bool\": {\"as_bool\": true}}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_sym_bools\": [{\"as_bool\": false}]}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_sym_float\": {\"as_float\": 0.5}}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_sym_floats\": [{\"as_float\": -0.0}]}, \"kind\": 1}"
	"], \"outputs\": [{\"as_sym_int\": {\"as_name\": \"s2\"}}, {\"as_sym_bool\": {\"as_name\": \"sb\"}}, {\"as_sym_float\": {\"as_name\": \"sf\"}}], \"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": null}, "
	/* node 4: a HOP with a subgraph */
	"{\"target\": \"torch.ops.higher_order.cond\", \"inputs\": ["
	"{\"name\": \"\", \"arg\": {\"as_sym_bool\": {\"as_name\": \"sb\"}}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_graph\": {\"name\": \"true_graph_0\", \"graph\": {\"inputs\": [{\"as_tensor\": {\"name\": \"x_1\"}}], "
	"\"outputs\": [{\"as_tensor\": {\"name\": \"neg\"}}], \"nodes\": [{\"target\": \"torch.ops.aten.neg.default\", \"inputs\": [{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"x_1\"}}, \"kind\": 1}], "
	"\"outputs\": [{\"as_tensor\": {\"name\": \"neg\"}}], \"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": \"neg\"}], "
	"\"tensor_values\": {\"x_1\": " TM_F32_2 ", \"neg\": " TM_F32_2 "}, \"sym_int_values\": {}, \"sym_bool_values\": {}, \"is_single_tensor_return\": true, \"custom_obj_values\": {}, \"sym_float_values\": {}}}}, \"kind\": 1}, "
	"{\"name\": \"\", \"arg\": {\"as_tensors\": [{\"name\": \"x\"}]}, \"kind\": 1}"
	"], \"outputs\": [{\"as_tensor\": {\"name\": \"cond\"}}], \"metadata\": {}, \"is_hop_single_tensor_return\": false, \"name\": \"cond\"}"
	"], "
	"\"tensor_values\": {\"p_w\": " TM_SYM ", \"b_buf\": " TM_F32_2 ", \"c_k\": " TM_F32_2 ", \"tok\": " TM_F32_2 ", \"x\": " TM_F32_2 ", \"t1\": " TM_F32_2
	", \"a0\": " TM_F32_2 ", \"a1\": " TM_F32_2 ", \"cond\": " TM_F32_2 "}, "
	"\"sym_int_values\": {\"n\": {\"as_expr\": {\"expr_str\": \"s0\", \"hint\": {\"as_int\": 4}}}, \"s2\": {\"as_int\": 8}}, "
	"\"sym_bool_values\": {\"sb\": {\"as_expr\": {\"expr_str\": \"Eq(s0, 4)\", \"hint\": {\"as_bool\": true}}}}, \"is_single_tensor_return\": false, "
	"\"custom_obj_values\": {\"obj_e\": {\"name\": \"obj_e\", \"class_fqn\": \"__torch__.torch.classes.tensorrt.Engine\"}}, "
	"\"sym_float_values\": {\"sf\": {\"as_expr\": {\"expr_str\": \"ToFloat(s0)\", \"hint\": {\"as_float\": 4.0}}}}}, "
	"\"signature\": {\"input_specs\": ["
	"{\"parameter\": {\"arg\": {\"name\": \"p_w\"}, \"parameter_name\": \"w\"}}, "
	"{\"buffer\": {\"arg\": {\"name\": \"b_buf\"}, \"buffer_name\": \"buf\", \"persistent\": false}}, "
	"{\"tensor_constant\": {\"arg\": {\"name\": \"c_k\"}, \"tensor_constant_name\": \"k\"}}, "
	"{\"custom_obj\": {\"arg\": {\"name\": \"obj_e\", \"class_fqn\": \"__torch__.torch.classes.tensorrt.Engine\"}, \"custom_obj_name\": \"e\"}}, "
	"{\"token\": {\"arg\": {\"name\": \"tok\"}}}, "
	"{\"user_input\": {\"arg\": {\"as_tensor\": {\"name\": \"x\"}}}}, "
	"{\"user_input\": {\"arg\": {\"as_sym_int\": {\"as_name\": \"n\"}}}}, "
	"{\"constant_input\": {\"name\": \"three\", \"value\": {\"as_int\": 3}}}], "
	"\"output_specs\": ["
	"{\"buffer_mutation\": {\"arg\": {\"name\": \"t1\"}, \"buffer_name\": \"buf\"}}, "
	"{\"user_input_mutation\": {\"arg\": {\"name\": \"a0\"}, \"user_input_name\": \"x\"}}, "
	"{\"user_output\": {\"arg\": {\"as_sym_int\": {\"as_name\": \"s2\"}}}}, "
	"{\"user_output\": {\"arg\": {\"as_bool\": true}}}, "
	"{\"loss_output\": {\"arg\": {\"name\": \"a1\"}}}, "
	"{\"token\": {\"arg\": {\"name\": \"tok\"}}}, "
	"{\"gradient_to_parameter\": {\"arg\": {\"name\": \"a1\"}, \"parameter_name\": \"w\"}}, "
	"{\"gradient_to_user_input\": {\"arg\": {\"name\": \"a1\"}, \"user_input_name\": \"x\"}}, "
	"{\"parameter_mutation\": {\"arg\": {\"name\": \"a1\"}, \"parameter_name\": \"w\"}}]}, "
	"\"module_call_graph\": [{\"fqn\": \"\", \"signature\": {\"inputs\": [{\"as_tensor\": {\"name\": \"x\"}}], \"outputs\": [], \"in_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}, {\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}, {\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}]}]\", \"out_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}, {\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}]}]\", \"forward_arg_names\": null}}, "
	"{\"fqn\": \"sub\", \"signature\": null}, "
	"{\"fqn\": \"sub2\", \"signature\": {\"inputs\": [], \"outputs\": [], \"in_spec\": \"[1, {\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}]\", \"out_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": []}]\", \"forward_arg_names\": [\"x\", \"n\"]}}], "
	"\"metadata\": {\"custom\": \"{\\\"k\\\": 1}\"}, \"treespec_namedtuple_fields\": {\"__main__.P\": {\"field_names\": [\"a\", \"b\"]}}}, "
	"\"opset_version\": {\"aten\": 10, \"test\": 1}, \"range_constraints\": {\"s0\": {\"min_val\": 2, \"max_val\": null}, \"u0\": {\"min_val\": null, \"max_val\": 9}}, "
	"\"schema_version\": {\"major\": 8, \"minor\": 17}, \"verifiers\": [\"ATEN\"], \"torch_version\": \"2.11.0\", \"guards_code\": [\"L['x'].size()[0] == 4\"]}";

static void test_all_variants_roundtrip(void)
{
	check_roundtrip("all_variants", ALL_VARIANTS, strlen(ALL_VARIANTS));
}

static void test_all_variants_ir(void)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = read_doc(ALL_VARIANTS, strlen(ALL_VARIANTS), &p, &arena, &err);
	CHECK_MSG(rc == 0, "%s at %s", err.message, err.member);
	if (p) {
		pt2c_graph *g = p->mod->graph;
		/* 8 placeholders, 4 nodes, 1 output */
		uint32_t ops[PT2C_OP__COUNT] = { 0 };
		PT2C_GRAPH_FOREACH(g, id) ops[g->nodes[id].op]++;
		CHECK_EQ_INT(ops[PT2C_OP_PLACEHOLDER], 8);
		CHECK_EQ_INT(ops[PT2C_OP_CALL_FUNCTION], 4);
		CHECK_EQ_INT(ops[PT2C_OP_OUTPUT], 1);
		/* the unnamed node takes its first output's name and keeps the NO_NAME flag */
		bool found = false;
		PT2C_GRAPH_FOREACH(g, id) {
			pt2c_node *n = &g->nodes[id];
			if (n->op == PT2C_OP_CALL_FUNCTION && strcmp(n->target, "_operator.mul") == 0) {
				found = true;
				CHECK_STR(n->name, "s2");
				CHECK(n->flags & PT2C_NODE_NO_NAME);
				CHECK_EQ_INT(n->n_outputs, 3);
			}
			if (n->op == PT2C_OP_CALL_FUNCTION && strcmp(n->target, "torch.ops.test.scalars.default") == 0) {
				CHECK_EQ_INT(n->inputs[4].arg.kind, PT2C_ARG_FLOAT);
				CHECK(isinf(n->inputs[4].arg.u.f) && n->inputs[4].arg.u.f > 0);
				CHECK(isnan(n->inputs[6].arg.u.f));
				CHECK_EQ_INT(n->inputs[3].kind, PT2C_ARGKIND_UNSET);
				CHECK_EQ_INT(n->inputs[7].arg.n, 11); /* caf\u00e9 "q" \n decoded: 5 + 4 + 2 bytes */
				CHECK_EQ_INT(n->hop_single_tensor_return, -1);
			}
			if (n->op == PT2C_OP_CALL_FUNCTION && strcmp(n->target, "torch.ops.higher_order.cond") == 0) {
				CHECK_EQ_INT(n->hop_single_tensor_return, 0);
				CHECK_EQ_INT(n->inputs[1].arg.kind, PT2C_ARG_GRAPH);
				pt2c_graph *sg = n->inputs[1].arg.u.g.graph;
				CHECK(sg && sg->is_single_tensor_return);
				CHECK(sg && pt2c__graph_find_value(sg, "neg", 3) != PT2C_NONE);
				CHECK(pt2c__graph_find_value(g, "neg", 3) == PT2C_NONE); /* subgraph names stay local */
			}
		}
		CHECK(found);
		uint32_t pw = pt2c__graph_find_value(g, "p_w", 3);
		REQUIRE(pw != PT2C_NONE);
		const pt2c_tensor_meta *m = g->values[pw].u.tensor;
		CHECK_EQ_INT(m->dtype, PT2C_DTYPE_FLOAT16);
		CHECK_EQ_INT(m->ndim, 2);
		CHECK_EQ_INT(m->sizes[0].hint_kind, PT2C_HINT_INT);
		CHECK_EQ_INT(m->sizes[0].i, 5);
		CHECK_EQ_INT(m->sizes[1].hint_kind, PT2C_HINT_NONE);
		CHECK_EQ_INT(m->device.index, 0);
		CHECK_EQ_INT(m->storage_offset.i, 3);
		CHECK_EQ_INT(p->n_inputs, 8);
		CHECK_EQ_INT(p->inputs[1].kind, PT2C_IN_BUFFER);
		CHECK(!p->inputs[1].persistent);
		CHECK_STR(p->inputs[7].target, "three");
		CHECK_EQ_INT(p->n_outputs, 9);
		CHECK_EQ_INT(p->outputs[8].kind, PT2C_OUT_PARAMETER_MUTATION);
		CHECK_EQ_INT(p->n_calls, 3);
		CHECK(!p->calls[0].has_forward_arg_names);
		CHECK(!p->calls[1].has_signature);
		CHECK_EQ_INT(p->calls[2].n_forward_arg_names, 2);
		CHECK_EQ_INT(p->n_ranges, 2);
		CHECK(!p->ranges[0].has_max);
		CHECK(!p->ranges[1].has_min);
	}
	program_free_all(p);
	pt2c__arena_free(&arena);
}

/* Replace the first occurrence of `from` in ALL_VARIANTS by `to` and read it. */
static int read_mutant(const char *from, const char *to, pt2c_error *err)
{
	const char *at = strstr(ALL_VARIANTS, from);
	if (!at)
		return 999;
	size_t n = strlen(ALL_VARIANTS) - strlen(from) + strlen(to);
	char *doc = malloc(n + 1);
	size_t pre = (size_t)(at - ALL_VARIANTS);
	memcpy(doc, ALL_VARIANTS, pre);
	memcpy(doc + pre, to, strlen(to));
	strcpy(doc + pre + strlen(to), at + strlen(from));
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = NULL;
	*err = (pt2c_error)PT2C_ERROR_INIT;
	int rc = read_doc(doc, n, &p, &arena, err);
	program_free_all(p);
	pt2c__arena_free(&arena);
	free(doc);
	return rc;
}

static void test_errors(void)
{
	pt2c_error err;
	static const struct {
		const char *from, *to;
		int code;
		const char *member; /* prefix of err.member */
		const char *msg;    /* substring of err.message */
	} C[] = {
		/* string where an int is expected */
		{ "\"arg\": {\"as_int\": -9223372036854775807}", "\"arg\": {\"as_int\": \"7\"}", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/nodes/0/inputs/2/arg/as_int", "expected an integer" },
		/* dtype 99 */
		{ "{\"dtype\": 7", "{\"dtype\": 99", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/nodes/3/inputs/1/arg/as_graph/graph/tensor_values/x_1/dtype", "dtype 99" },
		/* dangling value */
		{ "{\"name\": \"b\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}", "{\"name\": \"b\", \"arg\": {\"as_tensor\": {\"name\": \"nope\"}}",
		  PT2C_EGRAPH, "models/model.json:/graph_module/graph/nodes/0/inputs/1", "node 't1' input 'b' refers to undefined value 'nope'" },
		/* a key with '/' and '~' is escaped in the pointer (RFC 6901); the message gives line:column */
		{ "\"opset_version\": {\"aten\": 10, \"test\": 1}", "\"opset_version\": {\"aten\": 10, \"a/b~c\": \"1\"}", PT2C_ECORRUPT,
		  "models/model.json:/opset_version/a~1b~0c", "expected an integer, got a string at line 1 column " },
		/* missing required key */
		{ "\"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": \"lists\"",
		  "\"is_hop_single_tensor_return\": null, \"name\": \"lists\"", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/nodes/1/metadata", "missing required key \"metadata\"" },
		{ "\"sym_bool_values\": {\"sb\"", "\"sym_bool_valuez\": {\"sb\"", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/sym_bool_values", "missing required key \"sym_bool_values\"" },
		/* union with two keys / unknown tag */
		{ "{\"as_bool\": false}, \"kind\": 1}", "{\"as_bool\": false, \"as_int\": 1}, \"kind\": 1}", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/nodes/0/inputs/14/arg", "exactly one key" },
		{ "{\"as_bool\": false}, \"kind\": 1}", "{\"as_boolean\": false}, \"kind\": 1}", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/graph/nodes/0/inputs/14/arg", "unknown Argument tag" },
		/* negative size, layout out of range, bad enum argument */
		{ "\"sizes\": [{\"as_int\": 2}]", "\"sizes\": [{\"as_int\": -2}]", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/", "negative" },
		{ "\"layout\": 7}", "\"layout\": 8}", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/", "layout 8" },
		{ "{\"as_memory_format\": 2}", "{\"as_memory_format\": 5}", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/nodes/0/inputs/11",
		  "memory format 5" },
		{ "{\"as_scalar_type\": 13}", "{\"as_scalar_type\": 20}", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/nodes/0/inputs/10",
		  "dtype 20" },
		/* a float that is not a float */
		{ "{\"as_float\": \"NaN\"}", "{\"as_float\": \"nonsense\"}", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/nodes/0/inputs/6",
		  "expected a float" },
		/* value defined twice */
		{ "\"outputs\": [{\"as_tensors\": [{\"name\": \"a0\"}", "\"outputs\": [{\"as_tensors\": [{\"name\": \"x\"}", PT2C_EGRAPH,
		  "models/model.json:/graph_module/graph/nodes/1/outputs/0", "defined twice" },
		/* schema major */
		{ "{\"major\": 8, \"minor\": 17}", "{\"major\": 7, \"minor\": 17}", PT2C_EUNSUPPORTED, "models/model.json:/schema_version",
		  "schema version 7.17" },
		/* signature referring to an unknown value */
		{ "\"parameter_name\": \"w\"}}, {\"buffer\"", "\"parameter_name\": 5}}, {\"buffer\"", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/signature/input_specs/0/parameter/parameter_name", "expected a string" },
		{ "{\"user_input\": {\"arg\": {\"as_tensor\": {\"name\": \"x\"}}}}", "{\"user_input\": {\"arg\": {\"as_tensor\": {\"name\": \"y\"}}}}",
		  PT2C_EGRAPH, "models/model.json:/graph_module/signature/input_specs/5", "undefined value 'y'" },
		{ "{\"min_val\": 2, \"max_val\": null}", "{\"min_val\": 2}", PT2C_ECORRUPT, "models/model.json:/range_constraints/s0/max_val",
		  "missing required key \"max_val\"" },		/* issue 11 #7: sizes of 2^62 float32 elements, a negative stride */
		{ "\"sizes\": [{\"as_int\": 2}], \"requires_grad\": false", "\"sizes\": [{\"as_int\": 4611686018427387904}], \"requires_grad\": false",
		  PT2C_ECORRUPT, "models/model.json:/graph_module/graph/", "needs more than 2^63-1 elements or bytes" },
		{ "\"strides\": [{\"as_int\": 1}]", "\"strides\": [{\"as_int\": -1}]", PT2C_ECORRUPT, "models/model.json:/graph_module/graph/",
		  "negative value -1" },
		/* issue 11 #7: garbage treespecs, and leaf counts that differ from the user inputs / outputs */
		{ "\"in_spec\": \"[1, {", "\"in_spec\": \"garbage\", \"x\": \"[1, {", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "not a treespec" },
		{ "\"in_spec\": \"[1, {", "\"in_spec\": \"[2, {", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "protocol 2" },
		{ "\"in_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\"", "\"in_spec\": \"[1, {\\\"typo\\\": \\\"builtins.tuple\\\"", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "not a treespec: the node at byte 4" },
		{ "\"children_spec\\\": []}, {\\\"type\\\": null", "\"children_spec\\\": [{\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}]}, {\\\"type\\\": null", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "a leaf (type null) with 1 children" },
		{ "\"children_spec\\\": []}, {\\\"type\\\": null", "\"children_spec\\\": []}, 5, {\\\"type\\\": null", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "not a treespec" },
		{ "\"children_spec\\\": []}]}]\", \"out_spec\"", "\"children_spec\\\": []}, {\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}]}]\", \"out_spec\"", PT2C_ECORRUPT,
		  "models/model.json:/graph_module/module_call_graph/0/signature/in_spec", "treespec has 4 leaves, the graph signature 3 user inputs" },
		{ "\"out_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{",
		  "\"out_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}, {",
		  PT2C_ECORRUPT, "models/model.json:/graph_module/module_call_graph/0/signature/out_spec", "treespec has 3 leaves, the graph signature 2 user outputs" },
	};
	for (size_t i = 0; i < 2 * PT2C_ARRAY_LEN(C); i++) {
		g_lazy = i >= PT2C_ARRAY_LEN(C); /* the same errors from both readers */
		int rc = read_mutant(C[i % PT2C_ARRAY_LEN(C)].from, C[i % PT2C_ARRAY_LEN(C)].to, &err);
		CHECK_MSG(rc == C[i % PT2C_ARRAY_LEN(C)].code, "case %zu: rc %d, want %d (%s)", i, rc, C[i % PT2C_ARRAY_LEN(C)].code, err.message);
		CHECK_MSG(strncmp(err.member, C[i % PT2C_ARRAY_LEN(C)].member, strlen(C[i % PT2C_ARRAY_LEN(C)].member)) == 0, "case %zu: member '%s', want prefix '%s'", i,
		          err.member, C[i % PT2C_ARRAY_LEN(C)].member);
		CHECK_MSG(strstr(err.message, C[i % PT2C_ARRAY_LEN(C)].msg) != NULL, "case %zu: message '%s' lacks '%s'", i, err.message, C[i % PT2C_ARRAY_LEN(C)].msg);
		CHECK_MSG(err.offset != UINT64_MAX && err.offset < strlen(ALL_VARIANTS) + 64, "case %zu: offset %llu", i,
		          (unsigned long long)err.offset);
	}
}

/*
 * The lazy reader checks every tensor_values entry, used or not (torch deserializes them all);
 * the DOM reader only those of defined values. Both read the same document otherwise.
 */
static void test_lazy_checks_unused_metadata(void)
{
	const char *key = "\"tensor_values\": {";
	const char *at = NULL;
	for (const char *q = strstr(ALL_VARIANTS, key); q; q = strstr(q + 1, key))
		at = q; /* the top graph's table comes after its nodes, which hold the nested graphs */
	REQUIRE(at);
	const char *ins = "\"unused\": {\"dtype\": 99}, ";
	size_t pre = (size_t)(at - ALL_VARIANTS) + strlen(key), n = strlen(ALL_VARIANTS) + strlen(ins);
	char *doc = malloc(n + 1);
	memcpy(doc, ALL_VARIANTS, pre);
	strcpy(doc + pre, ins);
	strcpy(doc + pre + strlen(ins), ALL_VARIANTS + pre);
	for (int lazy = 0; lazy < 2; lazy++) {
		g_lazy = lazy;
		pt2c_arena arena;
		pt2c__arena_init(&arena, NULL);
		pt2c_program *p = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = read_doc(doc, n, &p, &arena, &err);
		if (!lazy) {
			CHECK_EQ_INT(rc, 0);
		} else {
			CHECK_EQ_INT(rc, PT2C_ECORRUPT);
			CHECK_STR(err.member, "models/model.json:/graph_module/graph/tensor_values/unused/dtype");
			CHECK_MSG(strstr(err.message, "dtype 99") != NULL, "message: %s", err.message);
			CHECK_EQ_INT(err.offset, (uint64_t)(pre + strlen("\"unused\": {\"dtype\": ")));
		}
		program_free_all(p);
		pt2c__arena_free(&arena);
	}
	g_lazy = false;
	free(doc);
}

/* doc with the first `from` after offset `after` replaced by `to` (malloc'd), or NULL */
static char *mutate(const char *doc, size_t after, const char *from, const char *to)
{
	const char *at = strstr(doc + after, from);
	if (!at)
		return NULL;
	size_t pre = (size_t)(at - doc), n = strlen(doc) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	memcpy(out, doc, pre);
	memcpy(out + pre, to, strlen(to));
	strcpy(out + pre + strlen(to), at + strlen(from));
	return out;
}

/*
 * The archive reader only delimits the nodes and tensor_values spans before reading them
 * (pt2c__json_parse_skim); syntax errors inside them, found while the items are read, must still
 * come out as the validating parser reports them (before any other error, at the first one in the
 * document), and a lazy key where the reader never looks must still be checked.
 */
static void test_skim_errors(void)
{
	char deep[1400];
	{
		size_t k = 0;
		k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"as_int_lists\": ");
		for (int i = 0; i < 600; i++) deep[k++] = '[';
		for (int i = 0; i < 600; i++) deep[k++] = ']';
		snprintf(deep + k, sizeof deep - k, "}");
	}
	const char *top_tv = strstr(strstr(ALL_VARIANTS, "\"name\": \"cond\"}"), "\"tensor_values\": {");
	REQUIRE(top_tv);
	size_t tv_at = (size_t)(top_tv - ALL_VARIANTS);
	const struct { const char *from, *to, *from2, *to2; } C[] = {
		/* 0: a missing comma between two nodes */
		{ "\"name\": \"lists\"}, ", "\"name\": \"lists\"} ", NULL, NULL },
		/* 1: a trailing comma after the last node */
		{ "\"name\": \"cond\"}], ", "\"name\": \"cond\"},], ", NULL, NULL },
		/* 2: a key twice inside a node */
		{ "\"name\": \"lists\"}", "\"name\": \"lists\", \"name\": \"l2\"}", NULL, NULL },
		/* 3: a byte that is not UTF-8 inside a node's string */
		{ "\"name\": \"lists\"}", "\"name\": \"li\xffsts\"}", NULL, NULL },
		/* 4: a semantic error in node 0 and a syntax error in node 1: the syntax error wins */
		{ "{\"as_int\": -9223372036854775807}", "{\"as_int\": \"7\"}", "{\"as_ints\": [1, -2, 3]}", "{\"as_ints\": [1, -2 3]}" },
		/* 5: nesting beyond 512 levels inside a node */
		{ "{\"as_int_lists\": [[1, 2], [3]]}", deep, NULL, NULL },
		/* 6: the nodes array closed by '}' */
		{ "\"name\": \"cond\"}], ", "\"name\": \"cond\"}}, ", NULL, NULL },
		/* 7: garbage between two nodes */
		{ "\"name\": \"lists\"}, ", "\"name\": \"lists\"} x, ", NULL, NULL },
		/* 8: a lazy key where the reader never looks, invalid inside */
		{ "\"schema_version\"", "\"zz\": {\"nodes\": [1,,2], \"tensor_values\": {}}, \"schema_version\"", NULL, NULL },
		/* 9: the same, valid: read */
		{ "\"schema_version\"", "\"zz\": {\"nodes\": [1, [2]], \"tensor_values\": {\"a\": 1}}, \"schema_version\"", NULL, NULL },
		/* 10: an unterminated string in the last node */
		{ "\"name\": \"cond\"}], ", "\"name\": \"cond}], ", NULL, NULL },
	};
	/* in the top graph's tensor_values (after tv_at): a key twice, a missing ':', a trailing comma */
	static const struct { const char *from, *to; } T[] = {
		{ ", \"a0\": ", ", \"x\": " },
		{ ", \"a0\": ", ", \"a0\" " },
		{ ", \"cond\": " TM_F32_2 "}", ", \"cond\": " TM_F32_2 ",}" },
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(C) + PT2C_ARRAY_LEN(T); i++) {
		bool tv = i >= PT2C_ARRAY_LEN(C);
		char *doc = tv ? mutate(ALL_VARIANTS, tv_at, T[i - PT2C_ARRAY_LEN(C)].from, T[i - PT2C_ARRAY_LEN(C)].to)
		               : mutate(ALL_VARIANTS, 0, C[i].from, C[i].to);
		CHECK_MSG(doc != NULL, "case %zu: pattern not found", i);
		REQUIRE(doc);
		if (!tv && C[i].from2) {
			char *d2 = mutate(doc, 0, C[i].from2, C[i].to2);
			CHECK_MSG(d2 != NULL, "case %zu: second pattern not found", i);
			REQUIRE(d2);
			free(doc);
			doc = d2;
		}
		/* the reference: the validating parser over the whole document */
		pt2c_arena arena;
		pt2c__arena_init(&arena, NULL);
		pt2c_json *root = NULL;
		pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 0 };
		pt2c_error want = PT2C_ERROR_INIT;
		int want_rc = pt2c__json_parse(&root, doc, strlen(doc), &jo, &arena, &want);
		pt2c_error want_m = want; /* as the archive reader names it; the DOM path of read_doc names no member */
		if (want_rc)
			pt2c__err_set_member(&want_m, "models/model.json");
		for (int lazy = 0; lazy < 2; lazy++) {
			g_lazy = lazy;
			pt2c_program *p = NULL;
			pt2c_error err = PT2C_ERROR_INIT;
			pt2c_arena a2;
			pt2c__arena_init(&a2, NULL);
			int rc = read_doc(doc, strlen(doc), &p, &a2, &err);
			if (i == 9) {
				CHECK_MSG(want_rc == 0 && rc == 0, "case %zu/%d: %s", i, lazy, err.message);
			} else {
				CHECK_MSG(want_rc == PT2C_ECORRUPT, "case %zu: the reference accepted it", i);
				CHECK_MSG(rc == want_rc, "case %zu/%d: rc %d, want %d (%s)", i, lazy, rc, want_rc, err.message);
				CHECK_MSG(strcmp(err.message, want.message) == 0, "case %zu/%d: '%s', want '%s'", i, lazy, err.message, want.message);
				const char *wm = lazy ? want_m.member : want.member;
				CHECK_MSG(strcmp(err.member, wm) == 0, "case %zu/%d: member '%s', want '%s'", i, lazy, err.member, wm);
				CHECK_MSG(err.offset == want.offset, "case %zu/%d: offset %llu, want %llu", i, lazy,
				          (unsigned long long)err.offset, (unsigned long long)want.offset);
			}
			program_free_all(p);
			pt2c__arena_free(&a2);
		}
		g_lazy = false;
		pt2c__arena_free(&arena);
		free(doc);
	}
}

/*
 * A graph the writer cannot express fails with the first error in node order, after writing the
 * whole text, whether the node list is rendered in one pass or in chunks on helper threads (the
 * ahead/ run of this test): a dangling reference in the second node (EGRAPH) before a get_attr
 * node, which has no PT2 form (EUNSUPPORTED), after it.
 */
static void test_write_errors_in_order(void)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	REQUIRE(read_doc(ALL_VARIANTS, strlen(ALL_VARIANTS), &p, &arena, &err) == 0);
	pt2c_graph *g = p->mod->graph;
	pt2c_buf clean;
	pt2c__buf_init(&clean, NULL);
	CHECK_EQ_INT(pt2c__pt2json_write(&clean, p), 0);
	uint32_t k = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *n = &g->nodes[id];
		if (n->op != PT2C_OP_CALL_FUNCTION)
			continue;
		if (k == 1 && n->inputs[0].arg.kind == PT2C_ARG_TENSORS) /* node 2 ("lists"): a = [x, t1] */
			n->inputs[0].arg.u.items[0].u.ref = 0x7ffffff0u;
		if (k == 3)
			n->op = PT2C_OP_GET_ATTR; /* node 4 ("cond") */
		k++;
	}
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	CHECK_EQ_INT(pt2c__pt2json_write(&b, p), PT2C_EGRAPH);
	/* the text is written all the same: the dangling name as "" */
	CHECK(b.len > 0 && b.len < clean.len);
	pt2c__buf_free(&b);
	pt2c__buf_free(&clean);
	program_free_all(p);
	pt2c__arena_free(&arena);
}

static void test_defaults_and_lenient_input(void)
{
	/* an older-style document: no verifiers/torch_version/guards_code, node without name/kind,
	 * floats given as integers; unknown keys ignored. Written back with torch's defaults. */
	static const char DOC[] =
		"{\"graph_module\": {\"graph\": {\"inputs\": [{\"as_tensor\": {\"name\": \"x\"}}], \"outputs\": [{\"as_tensor\": {\"name\": \"mul\"}}], "
		"\"nodes\": [{\"target\": \"torch.ops.aten.mul.Tensor\", \"inputs\": [{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}}, "
		"{\"name\": \"other\", \"arg\": {\"as_float\": 2}}], \"outputs\": [{\"as_tensor\": {\"name\": \"mul\"}}], \"metadata\": {}, \"future\": 1}], "
		"\"tensor_values\": {\"x\": " TM_F32_2 ", \"mul\": " TM_F32_2 "}, \"sym_int_values\": {}, \"sym_bool_values\": {}}, "
		"\"signature\": {\"input_specs\": [{\"user_input\": {\"arg\": {\"as_tensor\": {\"name\": \"x\"}}}}], "
		"\"output_specs\": [{\"user_output\": {\"arg\": {\"as_tensor\": {\"name\": \"mul\"}}}}]}, \"module_call_graph\": []}, "
		"\"opset_version\": {\"aten\": 10}, \"range_constraints\": {}, \"schema_version\": {\"major\": 8, \"minor\": 5}, \"extra_key\": [1, 2]}";
	static const char WANT[] =
		"{\"graph_module\": {\"graph\": {\"inputs\": [{\"as_tensor\": {\"name\": \"x\"}}], \"outputs\": [{\"as_tensor\": {\"name\": \"mul\"}}], "
		"\"nodes\": [{\"target\": \"torch.ops.aten.mul.Tensor\", \"inputs\": [{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}, \"kind\": null}, "
		"{\"name\": \"other\", \"arg\": {\"as_float\": 2.0}, \"kind\": null}], \"outputs\": [{\"as_tensor\": {\"name\": \"mul\"}}], \"metadata\": {}, "
		"\"is_hop_single_tensor_return\": null, \"name\": null}], "
		"\"tensor_values\": {\"x\": " TM_F32_2 ", \"mul\": " TM_F32_2 "}, " EMPTY_TABLES "}, "
		"\"signature\": {\"input_specs\": [{\"user_input\": {\"arg\": {\"as_tensor\": {\"name\": \"x\"}}}}], "
		"\"output_specs\": [{\"user_output\": {\"arg\": {\"as_tensor\": {\"name\": \"mul\"}}}}]}, \"module_call_graph\": [], \"metadata\": {}, "
		"\"treespec_namedtuple_fields\": {}}, "
		"\"opset_version\": {\"aten\": 10}, \"range_constraints\": {}, \"schema_version\": {\"major\": 8, \"minor\": 5}, \"verifiers\": [], "
		"\"torch_version\": \"<=2.4\", \"guards_code\": []}";
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = read_doc(DOC, strlen(DOC), &p, &arena, &err);
	CHECK_MSG(rc == 0, "%s at %s", err.message, err.member);
	if (p) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		CHECK_EQ_INT(pt2c__pt2json_write(&b, p), 0);
		pt2c__buf_cstr(&b);
		CHECK_STR(b.data, WANT);
		pt2c__buf_free(&b);
	}
	program_free_all(p);
	pt2c__arena_free(&arena);
}

/* `levels` nested as_graph HOP arguments around an empty graph. */
static void nested_doc(pt2c_buf *b, int levels)
{
	pt2c__buf_init(b, NULL);
	pt2c__buf_puts(b, "{\"graph_module\": {\"graph\": ");
	for (int i = 0; i < levels; i++)
		pt2c__buf_puts(b, "{\"inputs\": [], \"outputs\": [], \"tensor_values\": {}, \"sym_int_values\": {}, \"sym_bool_values\": {}, "
		                  "\"nodes\": [{\"target\": \"t\", \"metadata\": {}, \"outputs\": [], \"inputs\": [{\"name\": \"\", \"arg\": {\"as_graph\": {\"name\": \"g\", \"graph\": ");
	pt2c__buf_puts(b, "{\"inputs\": [], \"outputs\": [], \"nodes\": [], \"tensor_values\": {}, \"sym_int_values\": {}, \"sym_bool_values\": {}}");
	for (int i = 0; i < levels; i++)
		pt2c__buf_puts(b, "}}}]}]}");
	pt2c__buf_puts(b, ", \"signature\": {\"input_specs\": [], \"output_specs\": []}, \"module_call_graph\": []}, \"opset_version\": {}, "
	                  "\"range_constraints\": {}, \"schema_version\": {\"major\": 8, \"minor\": 17}}");
}

static void test_depth_cap(void)
{
	/* 40 nested as_graph levels: refused with EUNSUPPORTED, no stack blowup, nothing leaked */
	pt2c_buf b;
	nested_doc(&b, 40);
	REQUIRE(!b.err);
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = read_doc(b.data, b.len, &p, &arena, &err);
	CHECK_EQ_INT(rc, PT2C_EUNSUPPORTED);
	CHECK(strstr(err.message, "nested") != NULL);
	program_free_all(p);
	pt2c__arena_free(&arena);
	pt2c__buf_free(&b);

	/* 30 levels: read, written, and read again to the same text */
	nested_doc(&b, 30);
	pt2c__arena_init(&arena, NULL);
	rc = read_doc(b.data, b.len, &p, &arena, &err);
	CHECK_MSG(rc == 0, "%s at %s", err.message, err.member);
	if (p) {
		pt2c_buf o1, o2;
		pt2c__buf_init(&o1, NULL);
		pt2c__buf_init(&o2, NULL);
		CHECK_EQ_INT(pt2c__pt2json_write(&o1, p), 0);
		pt2c_program *q = NULL;
		pt2c_arena a2;
		pt2c__arena_init(&a2, NULL);
		CHECK_EQ_INT(read_doc(o1.data, o1.len, &q, &a2, &err), 0);
		if (q) {
			CHECK_EQ_INT(pt2c__pt2json_write(&o2, q), 0);
			CHECK(o1.len == o2.len && memcmp(o1.data, o2.data, o1.len) == 0);
		}
		program_free_all(q);
		pt2c__arena_free(&a2);
		pt2c__buf_free(&o1);
		pt2c__buf_free(&o2);
	}
	program_free_all(p);
	pt2c__arena_free(&arena);
	pt2c__buf_free(&b);
}


/*
 * MARK: large spans on worker threads (pt2json_read_par.c). ALL_VARIANTS with GEN_NODES more
 * nodes at the end of its top graph (and their tensor_values entries at the start of its table):
 * chains of adds, nodes with two outputs, unnamed nodes, "add_<n>" names, references to a
 * symbol, table keys written with escapes, and HOP nodes whose subgraphs hold several nodes
 * (their ", {\"target\"" inside a node is where a guessed chunk boundary is wrong).
 */
#define GEN_NODES 1500

static void gen_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void gen_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len) {
			*len += (size_t)n;
			return;
		}
		*cap = *cap * 2 + (size_t)(n > 0 ? n : 0) + 64;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			abort();
	}
}

static char *gen_doc(void)
{
	const char *nodes_end = strstr(ALL_VARIANTS, "\"name\": \"cond\"}], \"tensor_values\": {\"p_w\"");
	const char *tv_start = strstr(ALL_VARIANTS, "\"tensor_values\": {\"p_w\"");
	if (!nodes_end || !tv_start)
		return NULL;
	nodes_end += strlen("\"name\": \"cond\"}");
	tv_start += strlen("\"tensor_values\": {");
	size_t cap = 1 << 20, len = 0;
	char *nodes = malloc(cap), *tv = NULL;
	size_t tcap = 1 << 20, tlen = 0;
	tv = malloc(tcap);
	if (!nodes || !tv)
		abort();
	nodes[0] = tv[0] = '\0';
	char prev[32] = "x";
	for (int i = 0; i < GEN_NODES; i++) {
		char out[32], out2[32];
		snprintf(out, sizeof out, i % 10 == 0 ? "add_%d" : "g%d", i);
		snprintf(out2, sizeof out2, "g%d_b", i);
		const char *meta = i % 3 ? "{}" : "{\"stack_trace\": \"File \\\"m.py\\\", line 3\", \"nn_module_stack\": \"L__self__\"}";
		if (i % 97 == 50) { /* a HOP: its subgraph's nodes follow ", " inside this node */
			gen_append(&nodes, &len, &cap,
			           ", {\"target\": \"torch.ops.higher_order.cond\", \"inputs\": ["
			           "{\"name\": \"\", \"arg\": {\"as_sym_bool\": {\"as_name\": \"sb\"}}, \"kind\": 1}, "
			           "{\"name\": \"\", \"arg\": {\"as_graph\": {\"name\": \"true_graph_%d\", \"graph\": {\"inputs\": [{\"as_tensor\": {\"name\": \"x_1\"}}], "
			           "\"outputs\": [{\"as_tensor\": {\"name\": \"neg_1\"}}], \"nodes\": ["
			           "{\"target\": \"torch.ops.aten.neg.default\", \"inputs\": [{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"x_1\"}}, \"kind\": 1}], "
			           "\"outputs\": [{\"as_tensor\": {\"name\": \"neg\"}}], \"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": \"neg\"}, "
			           "{\"target\": \"torch.ops.aten.neg.default\", \"inputs\": [{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"neg\"}}, \"kind\": 1}], "
			           "\"outputs\": [{\"as_tensor\": {\"name\": \"neg_1\"}}], \"metadata\": {}, \"is_hop_single_tensor_return\": null, \"name\": \"neg_1\"}], "
			           "\"tensor_values\": {\"x_1\": " TM_F32_2 ", \"neg\": " TM_F32_2 ", \"neg_1\": " TM_F32_2 "}, " EMPTY_TABLES "}}}, \"kind\": 1}, "
			           "{\"name\": \"\", \"arg\": {\"as_tensors\": [{\"name\": \"%s\"}]}, \"kind\": 1}"
			           "], \"outputs\": [{\"as_tensor\": {\"name\": \"%s\"}}], \"metadata\": %s, \"is_hop_single_tensor_return\": false, \"name\": \"%s\"}",
			           i, prev, out, meta, out);
		} else {
			char outs[160];
			if (i % 7 == 3)
				snprintf(outs, sizeof outs, "{\"as_tensors\": [{\"name\": \"%s\"}, {\"name\": \"%s\"}]}", out, out2);
			else
				snprintf(outs, sizeof outs, "{\"as_tensor\": {\"name\": \"%s\"}}", out);
			char name[48];
			snprintf(name, sizeof name, i % 11 == 5 ? "null" : "\"%s\"", out);
			gen_append(&nodes, &len, &cap,
			           ", {\"target\": \"torch.ops.aten.add.Tensor\", \"inputs\": ["
			           "{\"name\": \"self\", \"arg\": {\"as_tensor\": {\"name\": \"%s\"}}, \"kind\": 1}, "
			           "{\"name\": \"other\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}, \"kind\": 1}%s], "
			           "\"outputs\": [%s], \"metadata\": %s, \"is_hop_single_tensor_return\": null, \"name\": %s}",
			           prev, i % 31 == 7 ? ", {\"name\": \"alpha\", \"arg\": {\"as_sym_int\": {\"as_name\": \"n\"}}, \"kind\": 2}" : "",
			           outs, meta, name);
		}
		/* the table: every 17th key with an escape ("g\u0031..." for "g1...") */
		if (i % 17 == 1 && out[0] == 'g')
			gen_append(&tv, &tlen, &tcap, "\"g\\u00%02x%s\": " TM_F32_2 ", ", (unsigned)out[1], out + 2);
		else
			gen_append(&tv, &tlen, &tcap, "\"%s\": " TM_F32_2 ", ", out);
		if (i % 7 == 3 && i % 97 != 50)
			gen_append(&tv, &tlen, &tcap, "\"%s\": " TM_F32_2 ", ", out2);
		snprintf(prev, sizeof prev, "%s", out);
	}
	size_t a = (size_t)(tv_start - ALL_VARIANTS), b = (size_t)(nodes_end - ALL_VARIANTS), total = strlen(ALL_VARIANTS);
	char *doc = malloc(total + len + tlen + 1);
	if (!doc)
		abort();
	/* ALL_VARIANTS[0, b) + nodes + [b, a) + tv + [a, end) (the nodes come before the table) */
	char *q = doc;
	memcpy(q, ALL_VARIANTS, b), q += b;
	memcpy(q, nodes, len), q += len;
	memcpy(q, ALL_VARIANTS + b, a - b), q += a - b;
	memcpy(q, tv, tlen), q += tlen;
	memcpy(q, ALL_VARIANTS + a, total - a + 1);
	free(nodes);
	free(tv);
	return doc;
}

/* Read doc lazily with workers (spans of 2 items and more, chunks of 3) or in order; its text written again. */
static int read_written(const char *doc, size_t n, bool workers, pt2c_buf *out, pt2c_error *err)
{
	pt2c_thread_tuning keep = pt2c__thread_tuning;
	if (workers) {
		pt2c__thread_tuning.min_items = 2;
		pt2c__thread_tuning.chunk_items = 3;
		pt2c__thread_tuning.any_allocator = true;
	} else {
		pt2c__thread_tuning.min_items = UINT32_MAX;
	}
	g_lazy = true;
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_program *p = NULL;
	*err = (pt2c_error)PT2C_ERROR_INIT;
	int rc = read_doc(doc, n, &p, &arena, err);
	g_lazy = false;
	pt2c__thread_tuning = keep;
	pt2c__buf_init(out, NULL);
	if (!rc)
		rc = pt2c__pt2json_write(out, p);
	program_free_all(p);
	pt2c__arena_free(&arena);
	return rc;
}

static void test_spans_on_workers(void)
{
	char *doc = gen_doc();
	REQUIRE(doc);
	size_t n = strlen(doc);
	/* the same program, written byte for byte alike, with and without workers */
	pt2c_buf want, got;
	pt2c_error err;
	int rc = read_written(doc, n, false, &want, &err);
	CHECK_MSG(rc == 0, "in order: %d %s at %s", rc, err.message, err.member);
	uint64_t s0, o0, k0, s1, o1, k1;
	pt2c__pt2json_par_counts(&s0, &o0, &k0);
	rc = read_written(doc, n, true, &got, &err);
	pt2c__pt2json_par_counts(&s1, &o1, &k1);
	CHECK_MSG(rc == 0, "workers: %d %s at %s", rc, err.message, err.member);
	CHECK_MSG(got.len == want.len && memcmp(got.data, want.data, want.len) == 0, "the programs differ (%zu vs %zu bytes)",
	          got.len, want.len);
	/* both spans went to workers; the nodes they cannot record (sym outputs, subgraphs) were read in order */
	bool cpus = pt2c__cpu_count() >= 2; /* (one CPU: no workers, only the results to compare) */
	CHECK_MSG(!cpus || s1 - s0 == 2, "spans on workers: %llu", (unsigned long long)(s1 - s0));
	CHECK_MSG(!cpus || o1 - o0 >= 2 + GEN_NODES / 97, "nodes read in order: %llu", (unsigned long long)(o1 - o0));
	/* (a chunk that began inside a HOP node's subgraph is skipped, and reading goes on after it) */
	CHECK_MSG(!cpus || o1 - o0 < GEN_NODES / 4, "nodes read in order: %llu of %d", (unsigned long long)(o1 - o0), GEN_NODES);
	fprintf(stderr, "  spans on workers %llu, nodes read in order %llu, chunks skipped %llu\n", (unsigned long long)(s1 - s0),
	        (unsigned long long)(o1 - o0), (unsigned long long)(k1 - k0));
	pt2c__buf_free(&want);
	pt2c__buf_free(&got);
	/* errors: the first in document order, as reading in order reports it */
	static const struct { const char *from, *to; } M[] = {
		{ "{\"name\": \"g901\"}}, \"kind\": 1}", "{\"name\": \"nope\"}}, \"kind\": 1}" },            /* a dangling reference */
		{ "\"outputs\": [{\"as_tensor\": {\"name\": \"g1203\"}}]", "\"outputs\": [{\"as_tensor\": {\"name\": \"g17\"}}]" }, /* defined twice */
		{ "\"name\": \"g1301\"}", "\"name\": \"g1300\"}" },                                               /* a node name twice */
		{ "\"name\": \"g1302\"}", "\"name\": \"g1302\" x}" },                                             /* a syntax error */
		{ "\"name\": \"g702\"}", "\"name\": 7}" },                                                        /* a type error */
		{ "\"g1111\": {\"dtype\": 7", "\"g1111\": {\"dtype\": 99" },                                      /* bad metadata */
		{ "\"g1112\": {\"dtype\": 7", "\"g17\": {\"dtype\": 7" },                                         /* a table key twice */
		{ "\"g1113\": {\"dtype\": 7", "\"g1113\" {\"dtype\": 7" },                                        /* a table syntax error */
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(M); i++) {
		char *bad = mutate(doc, 0, M[i].from, M[i].to);
		CHECK_MSG(bad != NULL, "case %zu: pattern not found", i);
		if (!bad)
			continue;
		pt2c_error e1 = PT2C_ERROR_INIT, e2 = PT2C_ERROR_INIT;
		int r1 = read_written(bad, strlen(bad), false, &want, &e1);
		int r2 = read_written(bad, strlen(bad), true, &got, &e2);
		CHECK_MSG(r1 != 0, "case %zu: accepted", i);
		CHECK_MSG(r1 == r2, "case %zu: rc %d with workers, %d in order", i, r2, r1);
		CHECK_MSG(strcmp(e1.message, e2.message) == 0, "case %zu: '%s' with workers, '%s' in order", i, e2.message, e1.message);
		CHECK_MSG(strcmp(e1.member, e2.member) == 0, "case %zu: member '%s' / '%s'", i, e2.member, e1.member);
		CHECK_MSG(e1.offset == e2.offset, "case %zu: offset %llu / %llu", i, (unsigned long long)e2.offset,
		          (unsigned long long)e1.offset);
		pt2c__buf_free(&want);
		pt2c__buf_free(&got);
		free(bad);
	}
	free(doc);
}

PT2C_TEST_MAIN({
	RUN(test_fixture_model_json_roundtrip);
	RUN(test_fixture_ir_shape);
	RUN(test_all_variants_roundtrip);
	RUN(test_all_variants_ir);
	RUN(test_errors);
	RUN(test_lazy_checks_unused_metadata);
	RUN(test_skim_errors);
	RUN(test_write_errors_in_order);
	RUN(test_defaults_and_lenient_input);
	RUN(test_depth_cap);
	RUN(test_spans_on_workers);
})
