/*
 * test_fixtures.c -- export every partitioned fixture in both modes and compare the program with
 * what the seed exporter produced (fixtures/torch-2.11/<name>.{normal,cross}.txt, transcribed
 * below line by line), except for the intended differences: canonical input order (parameters,
 * buffers, tensor constants, custom objects, user inputs), true metadata of lifted weights,
 * persistent on buffers and the engine class name.
 */
#include "export_test_util.h"

/* full_engine_two_outputs.normal.txt: inputs a_weight_1..b_bias_1 PARAMETER, _run_on_acc_0_engine_1
 * CUSTOM_OBJ, x USER_INPUT; execute_engine_default((x, a_weight_1, a_bias_1, b_weight_1, b_bias_1),
 * _run_on_acc_0_engine_1); getitem = [0]; getitem_1 = [1]; return (getitem, getitem_1). */
static const char k_two_outputs_normal[] =
	"in parameter a_weight_1 a.weight\n"
	"in parameter a_bias_1 a.bias\n"
	"in parameter b_weight_1 b.weight\n"
	"in parameter b_bias_1 b.bias\n"
	"in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	"in user x\n"
	"execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x, a_weight_1, a_bias_1, "
	"b_weight_1, b_bias_1], engine=obj:_run_on_acc_0_engine_1) -> [getitem, getitem_1]\n"
	"out getitem\n"
	"out getitem_1\n";

/* full_engine_two_outputs.cross.txt (the model.json gives the argument names). */
static const char k_two_outputs_cross[] =
	"in parameter a_weight_1 a.weight\n"
	"in parameter a_bias_1 a.bias\n"
	"in parameter b_weight_1 b.weight\n"
	"in parameter b_bias_1 b.bias\n"
	"in user x\n"
	"no_op_placeholder_for_execute_engine_default = torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default("
	"inputs=[x, a_weight_1, a_bias_1, b_weight_1, b_bias_1], abi_version='6', name='_run_on_acc_0_engine', "
	"serialized_device_info='0%9%0%1%NVIDIA H100 80GB HBM3', serialized_engine=<engine>, "
	"serialized_in_binding_names='input_0%input_1%input_2%input_3%input_4', "
	"serialized_out_binding_names='output_0%output_1', serialized_hardware_compatible='0', "
	"serialized_metadata='gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dl', serialized_target_platform='linux_x86_64') "
	"-> [getitem, getitem_1]\n"
	"out getitem\n"
	"out getitem_1\n";

/* full_engine_folded.normal.txt */
static const char k_folded_normal[] =
	"in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	"in user x\n"
	"execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
	"engine=obj:_run_on_acc_0_engine_1) -> [getitem, getitem_1]\n"
	"out getitem\n"
	"out getitem_1\n";

/* full_engine_folded.cross.txt */
static const char k_folded_cross[] =
	"in user x\n"
	"no_op_placeholder_for_execute_engine_default = torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default("
	"inputs=[x], abi_version='6', name='_run_on_acc_0_engine', serialized_device_info='0%9%0%1%NVIDIA H100 80GB HBM3', "
	"serialized_engine=<engine>, serialized_in_binding_names='input_0', serialized_out_binding_names='output_0%output_1', "
	"serialized_hardware_compatible='0', serialized_metadata='gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dl', "
	"serialized_target_platform='linux_x86_64') -> [getitem, getitem_1]\n"
	"out getitem\n"
	"out getitem_1\n";

/* no_engine.{normal,cross}.txt: linear_default(x, a_weight, a_bias); tanh_default; mul_tensor(tanh_default, 2). */
static const char k_no_engine[] =
	"in parameter a_weight a.weight\n"
	"in parameter a_bias a.bias\n"
	"in user x\n"
	"linear_default = torch.ops.aten.linear.default(input=x, weight=a_weight, bias=a_bias) -> linear_default\n"
	"tanh_default = torch.ops.aten.tanh.default(self=linear_default) -> tanh_default\n"
	"mul_tensor = torch.ops.aten.mul.Tensor(self=tanh_default, other=2) -> mul_tensor\n"
	"out mul_tensor\n";

/* hybrid_gated_fallback.normal.txt, inputs in canonical order (the seed had engine, gate, shift, engine, x). */
static const char k_hybrid_normal[] =
	"in parameter gate gate\n"
	"in buffer shift shift persistent\n"
	"in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	"in custom_obj obj:_run_on_acc_1_engine_1 _run_on_acc_1_engine\n"
	"in user x\n"
	"execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
	"engine=obj:_run_on_acc_0_engine_1) -> [getitem]\n"
	"mul_tensor = torch.ops.aten.mul.Tensor(self=getitem, other=gate) -> mul_tensor\n"
	"add_tensor = torch.ops.aten.add.Tensor(self=mul_tensor, other=shift) -> add_tensor\n"
	"sigmoid_default = torch.ops.aten.sigmoid.default(self=add_tensor) -> sigmoid_default\n"
	"execute_engine_default_1 = torch.ops.tensorrt.execute_engine.default(input_tensors=[sigmoid_default], "
	"engine=obj:_run_on_acc_1_engine_1) -> [getitem_1]\n"
	"out getitem_1\n";

/* hybrid_gated_fallback.cross.txt */
static const char k_hybrid_cross[] =
	"in parameter gate gate\n"
	"in buffer shift shift persistent\n"
	"in user x\n"
	"no_op_placeholder_for_execute_engine_default = torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default("
	"inputs=[x], abi_version='6', name='_run_on_acc_0_engine', serialized_device_info='0%9%0%1%NVIDIA H100 80GB HBM3', "
	"serialized_engine=<engine>, serialized_in_binding_names='input_0', serialized_out_binding_names='output_0', "
	"serialized_hardware_compatible='0', serialized_metadata='gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dl', "
	"serialized_target_platform='linux_x86_64') -> [getitem]\n"
	"mul_tensor = torch.ops.aten.mul.Tensor(self=getitem, other=gate) -> mul_tensor\n"
	"add_tensor = torch.ops.aten.add.Tensor(self=mul_tensor, other=shift) -> add_tensor\n"
	"sigmoid_default = torch.ops.aten.sigmoid.default(self=add_tensor) -> sigmoid_default\n"
	"no_op_placeholder_for_execute_engine_default_1 = torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default("
	"inputs=[sigmoid_default], abi_version='6', name='_run_on_acc_1_engine', serialized_device_info='0%9%0%1%NVIDIA H100 80GB HBM3', "
	"serialized_engine=<engine>, serialized_in_binding_names='input_0', serialized_out_binding_names='output_0', "
	"serialized_hardware_compatible='0', serialized_metadata='gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dl', "
	"serialized_target_platform='linux_x86_64') -> [getitem_1]\n"
	"out getitem_1\n";

static void check_fixture(const char *name, bool cross, const char *expected)
{
	pt2c_program *p = tu_export(name, cross);
	if (!p) return;
	CHECK_RENDER(p, expected);
	pt2c__program_free(p);
}

static void test_full_engine_two_outputs(void)
{
	check_fixture("full_engine_two_outputs", false, k_two_outputs_normal);
	check_fixture("full_engine_two_outputs", true, k_two_outputs_cross);
}

static void test_full_engine_folded(void)
{
	check_fixture("full_engine_folded", false, k_folded_normal);
	check_fixture("full_engine_folded", true, k_folded_cross);
}

static void test_no_engine(void)
{
	check_fixture("no_engine", false, k_no_engine);
	check_fixture("no_engine", true, k_no_engine);
}

static void test_hybrid_gated_fallback(void)
{
	check_fixture("hybrid_gated_fallback", false, k_hybrid_normal);
	check_fixture("hybrid_gated_fallback", true, k_hybrid_cross);
}

/* Signature details beyond the rendering: state dict/constants order, call graph, header. */
static void test_program_fields(void)
{
	pt2c_program *p = tu_export("hybrid_gated_fallback", false);
	REQUIRE(p);
	pt2c_module *m = p->mod;
	REQUIRE(m->n_attrs == 4);
	CHECK_STR(m->attrs[0].fqn, "gate");
	CHECK_EQ_INT(m->attrs[0].kind, PT2C_ATTR_PARAMETER);
	CHECK_STR(m->attrs[1].fqn, "shift");
	CHECK_EQ_INT(m->attrs[1].kind, PT2C_ATTR_BUFFER);
	CHECK(m->attrs[1].persistent);
	CHECK_STR(m->attrs[2].fqn, "_run_on_acc_0_engine");
	CHECK(m->attrs[2].engine != NULL);
	CHECK_STR(m->attrs[2].class_fqn, PT2C_ENGINE_CLASS_FQN);
	CHECK_STR(m->attrs[3].fqn, "_run_on_acc_1_engine");
	CHECK_EQ_INT(m->n_subs, 0);
	/* the fallback's "gate" and the top module's "gate" hold the same bytes: one attribute */
	REQUIRE(m->attrs[0].tensor.storage);
	CHECK_EQ_INT(m->attrs[0].tensor.storage->nbytes, 32);
	REQUIRE(p->n_calls == 1);
	CHECK_STR(p->calls[0].fqn, "");
	/* in_spec/out_spec come from the partitioned module (model.json of hybrid_gated_fallback.normal.pt2) */
	CHECK_STR(p->calls[0].out_spec, "[1, {\"type\": null, \"context\": null, \"children_spec\": []}]");
	CHECK(p->calls[0].in_spec && strstr(p->calls[0].in_spec, "builtins.dict") != NULL);
	CHECK_EQ_INT(p->schema_major, 8);
	CHECK_EQ_INT(p->schema_minor, 17);
	REQUIRE(p->n_opsets == 1);
	CHECK_EQ_INT(p->opsets[0].version, 10);
	REQUIRE(p->n_verifiers == 1);
	CHECK_STR(p->verifiers[0], "ATEN");
	CHECK_EQ_INT(p->n_ranges, 0);
	pt2c__program_free(p);
}

/* The cross-compiled form resolved on load equals the normal form (one getitem per engine output). */
static void test_cross_then_resolve(void)
{
	static const char *const names[] = { "full_engine_two_outputs", "full_engine_folded", "hybrid_gated_fallback", "no_engine" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		pt2c_program *p = tu_export(names[i], true);
		if (!p) continue;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__program_resolve_cross(p, &err);
		CHECK_MSG(rc == 0, "%s: %s", names[i], err.message);
		if (!rc) {
			rc = pt2c__program_lint(p, &err);
			CHECK_MSG(rc == 0, "%s lint: %s", names[i], err.message);
		}
		char *r = tu_render(p);
		CHECK_MSG(strstr(r, "no_op_placeholder") == NULL, "%s still has placeholders:\n%s", names[i], r);
		if (strcmp(names[i], "hybrid_gated_fallback") == 0) {
			static const char exp[] =
				"in parameter gate gate\n"
				"in buffer shift shift persistent\n"
				"in custom_obj obj:_run_on_acc_0_engine _run_on_acc_0_engine\n"
				"in custom_obj obj:_run_on_acc_1_engine _run_on_acc_1_engine\n"
				"in user x\n"
				"execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
				"engine=obj:_run_on_acc_0_engine) -> [getitem]\n"
				"mul_tensor = torch.ops.aten.mul.Tensor(self=getitem, other=gate) -> mul_tensor\n"
				"add_tensor = torch.ops.aten.add.Tensor(self=mul_tensor, other=shift) -> add_tensor\n"
				"sigmoid_default = torch.ops.aten.sigmoid.default(self=add_tensor) -> sigmoid_default\n"
				"execute_engine_default_1 = torch.ops.tensorrt.execute_engine.default(input_tensors=[sigmoid_default], "
				"engine=obj:_run_on_acc_1_engine) -> [getitem_1]\n"
				"out getitem_1\n";
			CHECK_MSG(strcmp(r, exp) == 0, "resolved hybrid differs:\n%s", r);
			CHECK_EQ_INT(p->mod->n_subs, 0);
			const pt2c_attr *at = pt2c__module_find_attr(p->mod, "_run_on_acc_1_engine");
			CHECK(at && at->engine && at->engine->abi == 6);
		}
		free(r);
		pt2c__program_free(p);
	}
}

/* Load side on the seed's own archive: hybrid_gated_fallback.cross.pt2 as PyTorch 2.11 saved it. */
static void test_resolve_seed_archive(void)
{
	size_t len = 0;
	uint8_t *data = read_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.cross.pt2"), &len);
	REQUIRE(data);
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__pt2_read(&p, data, len, NULL, NULL, NULL, &err);
	CHECK_MSG(rc == 0, "read: %s", err.message);
	if (!rc) {
		rc = pt2c__program_resolve_cross(p, &err);
		CHECK_MSG(rc == 0, "resolve: %s", err.message);
		rc = pt2c__program_lint(p, &err);
		CHECK_MSG(rc == 0, "lint: %s", err.message);
		/* hybrid_gated_fallback.cross.txt, engines lifted before the user input, one getitem each */
		CHECK_RENDER(p, "in parameter gate gate\n"
		                "in buffer shift shift persistent\n"
		                "in custom_obj obj:_run_on_acc_0_engine _run_on_acc_0_engine\n"
		                "in custom_obj obj:_run_on_acc_1_engine _run_on_acc_1_engine\n"
		                "in user x\n"
		                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
		                "engine=obj:_run_on_acc_0_engine) -> [getitem]\n"
		                "mul_tensor = torch.ops.aten.mul.Tensor(self=getitem, other=gate) -> mul_tensor\n"
		                "add_tensor = torch.ops.aten.add.Tensor(self=mul_tensor, other=shift) -> add_tensor\n"
		                "sigmoid_default = torch.ops.aten.sigmoid.default(self=add_tensor) -> sigmoid_default\n"
		                "execute_engine_default_1 = torch.ops.tensorrt.execute_engine.default(input_tensors=[sigmoid_default], "
		                "engine=obj:_run_on_acc_1_engine) -> [getitem_1]\n"
		                "out getitem_1\n");
		const pt2c_attr *at = pt2c__module_find_attr(p->mod, "_run_on_acc_0_engine");
		CHECK(at && at->engine && at->engine->engine_b64 && at->engine->engine && at->engine->engine->nbytes > 0);
	}
	pt2c__program_free(p);
	free(data);
}

PT2C_TEST_MAIN({
	RUN(test_resolve_seed_archive);
	RUN(test_full_engine_two_outputs);
	RUN(test_full_engine_folded);
	RUN(test_no_engine);
	RUN(test_hybrid_gated_fallback);
	RUN(test_program_fields);
	RUN(test_cross_then_resolve);
	tu_release();
})
