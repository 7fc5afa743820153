/*
 * test_passes.c -- each pass on small modules: inline engines (both modes), inline fallbacks
 * (attribute merge and conflicts), unused-submodule removal, DCE, lint, schema-driven argument
 * conversion, getitem folding of multi-output aten ops, resolve-cross and program-lint errors.
 */
#include "export_test_util.h"

#define ENGINE_REC7(name) "[\"7\", \"" name "\", \"0%9%0%1%NVIDIA H100 80GB HBM3\", \"AAECAw==\", \"input_0\", \"output_0\", \"0\", \"gAJ9cQAu\", \"linux_x86_64\", \"0\"]"

static uint32_t count_op(pt2c_graph *g, int op, const char *target)
{
	uint32_t n = 0;
	PT2C_GRAPH_FOREACH(g, id)
		if (g->nodes[id].op == op && (!target || strcmp(g->nodes[id].target, target) == 0)) n++;
	return n;
}

static void test_inline_engines_normal(void)
{
	pt2c_module *m = tu_load_partitioned("full_engine_two_outputs");
	REQUIRE(m);
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__pass_inline_engines(m, false, &err) == 0);
	pt2c_graph *g = m->graph;
	CHECK_EQ_INT(count_op(g, PT2C_OP_CALL_MODULE, NULL), 0);
	CHECK_EQ_INT(count_op(g, PT2C_OP_CALL_FUNCTION, PT2C_TARGET_GETITEM), 0);
	CHECK_EQ_INT(count_op(g, PT2C_OP_GET_ATTR, "_run_on_acc_0_engine"), 1);
	REQUIRE(count_op(g, PT2C_OP_CALL_FUNCTION, PT2C_TARGET_EXECUTE_ENGINE) == 1);
	const pt2c_attr *at = pt2c__module_find_attr(m, "_run_on_acc_0_engine");
	REQUIRE(at);
	CHECK_EQ_INT(at->kind, PT2C_ATTR_CUSTOM_OBJ);
	CHECK(at->engine && at->engine->abi == 6);
	CHECK_STR(at->class_fqn, PT2C_ENGINE_CLASS_FQN);
	/* the attribute shares the segment's record (each holds a reference); the segment is now unused */
	pt2c_submodule *sub = pt2c__module_find_sub(m, "_run_on_acc_0");
	REQUIRE(sub);
	CHECK(sub->engine == at->engine);
	CHECK(at->engine->engine == NULL || at->engine->engine->refcount >= 2);
	REQUIRE(pt2c__pass_remove_unused_submodules(m, &err) == 0);
	CHECK_EQ_INT(m->n_subs, 0);
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_CALL_FUNCTION) continue;
		CHECK_STR(nd->name, "execute_engine_default");
		REQUIRE(nd->n_inputs == 2 && nd->n_outputs == 1);
		CHECK_EQ_INT(nd->inputs[0].arg.kind, PT2C_ARG_FX_LIST);
		CHECK_EQ_INT(nd->inputs[0].arg.n, 5);
		CHECK_EQ_INT(nd->outputs[0].kind, PT2C_ARG_TENSORS);
		REQUIRE(nd->outputs[0].n == 2);
		CHECK_STR(g->values[nd->outputs[0].u.items[0].u.ref].name, "getitem");
		CHECK_STR(g->values[nd->outputs[0].u.items[1].u.ref].name, "getitem_1");
	}
	CHECK_EQ_INT(pt2c__module_lint(m, &err), 0);
	pt2c__module_free(m);
}

static void test_inline_engines_cross_abi7(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CM("_run_on_acc_0", "[" N("x") "]", "[" M_F32_23 "]") ","
		OUT("[" N("_run_on_acc_0") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC7("_run_on_acc_0_engine") "}},"
		"\"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, true, NULL, &err);
	REQUIRE(p);
	/* ABI 7 has 10 fields: the names run up to serialized_require_output_allocator (notes 2.9) */
	CHECK_RENDER(p, "in user x\n"
	                "no_op_placeholder_for_execute_engine_default = torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default("
	                "inputs=[x], abi_version='7', name='_run_on_acc_0_engine', serialized_device_info='0%9%0%1%NVIDIA H100 80GB HBM3', "
	                "serialized_engine=<engine>, serialized_in_binding_names='input_0', serialized_out_binding_names='output_0', "
	                "serialized_hardware_compatible='0', serialized_metadata='gAJ9cQAu', serialized_target_platform='linux_x86_64', "
	                "serialized_require_output_allocator='0') -> [getitem]\n"
	                "out getitem\n");
	/* the record stays owned by the (kept) engine segment: no attribute, no constant */
	CHECK_EQ_INT(p->mod->n_attrs, 0);
	CHECK_EQ_INT(p->mod->n_subs, 1);
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), 0);
	CHECK_EQ_INT(p->mod->n_subs, 0);
	REQUIRE(p->mod->n_attrs == 1);
	CHECK(p->mod->attrs[0].engine && p->mod->attrs[0].engine->abi == 7 && p->mod->attrs[0].engine->n_fields == 10);
	pt2c__program_free(p);
}

static void test_inline_fallbacks(void)
{
	pt2c_module *m = tu_load_partitioned("no_engine");
	REQUIRE(m);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK(pt2c__module_find_attr(m, "a.weight") == NULL);
	REQUIRE(pt2c__pass_inline_fallbacks(m, &err) == 0);
	const pt2c_attr *w = pt2c__module_find_attr(m, "a.weight");
	REQUIRE(w);
	CHECK_EQ_INT(w->kind, PT2C_ATTR_PARAMETER);
	REQUIRE(w->tensor.storage);
	CHECK_EQ_INT(w->tensor.storage->refcount, 2); /* shared with the (not yet removed) fallback */
	CHECK_EQ_INT(count_op(m->graph, PT2C_OP_CALL_MODULE, NULL), 0);
	CHECK_EQ_INT(count_op(m->graph, PT2C_OP_GET_ATTR, NULL), 2);
	CHECK_EQ_INT(count_op(m->graph, PT2C_OP_CALL_FUNCTION, "torch.ops.aten.linear.default"), 1);
	REQUIRE(pt2c__pass_remove_unused_submodules(m, &err) == 0);
	CHECK_EQ_INT(m->n_subs, 0);
	CHECK_EQ_INT(w->tensor.storage->refcount, 1);
	CHECK_EQ_INT(pt2c__module_lint(m, &err), 0);
	pt2c__module_free(m);
}

/* A fallback attribute that clashes with a different top-level tensor of the same name is renamed (w -> w_1). */
static void test_fallback_attr_conflict(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("w") "]", M_F32_23) ","
		CM("_run_on_gpu_0", "[" N("add") "]", M_F32_23) "," OUT("[" N("_run_on_gpu_0") "]") "],"
		"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": ["
		PH("a", M_F32_23) "," GA("w_1", "w", M_F32_23) ","
		CF("mul", "torch.ops.aten.mul.Tensor", "[" N("a") ", " N("w_1") "]", M_F32_23) "," OUT(N("mul")) "],"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], \"data_b64\": \"AACAPwAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}, \"buffers\": {}}},"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in parameter w_2 w\n"
	                "in parameter w_3 w_1\n"
	                "in user x\n"
	                "add = torch.ops.aten.add.Tensor(self=x, other=w_2) -> add\n"
	                "mul = torch.ops.aten.mul.Tensor(self=add, other=w_3) -> mul\n"
	                "out mul\n");
	pt2c__program_free(p);
}

static void test_dce(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," PH("unused", M_F32_23) ","
		CF("relu", "torch.ops.aten.relu.default", "[" N("x") "]", M_F32_23) ","
		CF("neg", "torch.ops.aten.neg.default", "[" N("relu") "]", M_F32_23) ","
		CF("relu_", "torch.ops.aten.relu_.default", "[" N("x") "]", M_F32_23) ","
		CF("sig", "torch.ops.aten.sigmoid.default", "[" N("x") "]", M_F32_23) ","
		OUT("[" N("sig") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";
	pt2c_module *m = load(json);
	REQUIRE(m);
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__pass_dce(m, &err) == 0);
	pt2c_graph *g = m->graph;
	/* the dead chain goes, the in-place op and placeholders stay */
	CHECK(pt2c__graph_find_value(g, "relu", 4) == PT2C_NONE);
	CHECK(pt2c__graph_find_value(g, "neg", 3) == PT2C_NONE);
	CHECK(pt2c__graph_find_value(g, "relu_", 5) != PT2C_NONE);
	CHECK(pt2c__graph_find_value(g, "unused", 6) != PT2C_NONE);
	CHECK_EQ_INT(g->n_live, 5); /* x, unused, relu_, sig, output */
	pt2c__module_free(m);
}

static void test_lint_errors(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("w", "missing.w", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("w") "]", M_F32_23) ","
		OUT("[" N("add") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";
	pt2c_module *m = load(json);
	REQUIRE(m);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__module_lint(m, &err), PT2C_EGRAPH);
	pt2c__module_free(m);
}

static void test_unknown_op_and_module_schemas(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CF("f", "torch.ops.mylib.frob.default", "[" N("x") ", 3]", M_F32_23) ","
		OUT("[" N("f") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";
	int rc = 0;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, &rc, &err);
	CHECK(!p);
	CHECK_EQ_INT(rc, PT2C_ENOTFOUND);
	CHECK_STR(err.message, "no schema for operator torch.ops.mylib.frob.default");
	static const char json2[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CF("f", "torch.ops.mylib.frob.default", "[" N("x") ", 3]", M_F32_23) ","
		OUT("[" N("f") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {},"
		"\"op_schemas\": {\"torch.ops.mylib.frob.default\": \"mylib::frob(Tensor input, int times) -> Tensor\"}}";
	p = export_json(json2, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in user x\nf = torch.ops.mylib.frob.default(input=x, times=3) -> f\nout f\n");
	pt2c__program_free(p);
}

/* Keyword arguments, empty lists typed by the schema, symbolic int lists and sym_size outputs. */
static void test_argument_conversion(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 4, 4, 4], \"strides\": [64, 16, 4, 1]}") ","
		CFK("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("x") "]", "{\"alpha\": 2}",
		    "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 4, 4, 4], \"strides\": [64, 16, 4, 1]}") ","
		CF("pool", "torch.ops.aten.max_pool2d.default", "[" N("add") ", [2, 2], []]",
		   "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 4, 2, 2], \"strides\": [16, 4, 2, 1]}") ","
		CF("sym_size_int", "torch.ops.aten.sym_size.int", "[" N("pool") ", 0]", "\"s0\"") ","
		CF("view", "torch.ops.aten.view.default", "[" N("pool") ", [" N("sym_size_int") ", 16]]",
		   "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 16], \"strides\": [16, 1]}") ","
		CF("cat", "torch.ops.aten.cat.default", "[[" N("view") ", " N("view") "], 1]",
		   "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 32], \"strides\": [32, 1]}") ","
		CF("mul", "torch.ops.aten.mul.Tensor", "[" N("cat") ", 0.5]",
		   "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 32], \"strides\": [32, 1]}") ","
		OUT("[" N("mul") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}, \"symbols\": {\"s0\": [2, 8]}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in user x\n"
	                "add = torch.ops.aten.add.Tensor(self=x, other=x, *alpha=2) -> add\n"
	                "pool = torch.ops.aten.max_pool2d.default(self=add, kernel_size=[2, 2], stride=[]) -> pool\n"
	                "sym_size_int = torch.ops.aten.sym_size.int(self=pool, dim=0) -> sym:sym_size_int\n"
	                "view = torch.ops.aten.view.default(self=pool, size=[sym:sym_size_int, 16]) -> view\n"
	                "cat = torch.ops.aten.cat.default(tensors=[view, view], dim=1) -> cat\n"
	                "mul = torch.ops.aten.mul.Tensor(self=cat, other=0.5) -> mul\n"
	                "out mul\n");
	pt2c_graph *g = p->mod->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (strcmp(nd->name, "pool") == 0) CHECK_EQ_INT(nd->inputs[2].arg.kind, PT2C_ARG_INTS);
		if (strcmp(nd->name, "view") == 0) CHECK_EQ_INT(nd->inputs[1].arg.kind, PT2C_ARG_SYM_INTS);
		if (strcmp(nd->name, "cat") == 0) CHECK_EQ_INT(nd->inputs[0].arg.kind, PT2C_ARG_TENSORS);
		if (strcmp(nd->name, "add") == 0) CHECK_EQ_INT(nd->inputs[2].kind, PT2C_ARGKIND_KEYWORD);
	}
	REQUIRE(p->n_ranges == 1);
	CHECK(p->ranges[0].min == 2 && p->ranges[0].max == 8);
	pt2c__program_free(p);
}

/* Multi-output aten ops: tuple returns become one output each (unused ones named <node>_unused_<i>),
 * Tensor[] returns one as_tensors. */
static void test_fold_getitems(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) ","
		CF("max_dim", "torch.ops.aten.max.dim", "[" N("x") ", 1]", "null") ","
		GI("getitem", "max_dim", 1, "{\"dtype\": \"int64\", \"sizes\": [2], \"strides\": [1]}") ","
		CF("split", "torch.ops.aten.split.Tensor", "[" N("x") ", 1]", "[" M_F32_23 ", " M_F32_23 "]") ","
		GI("getitem_1", "split", 1, "null") ","
		GI("getitem_2", "split", 0, "null") ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("getitem_1") ", " N("getitem_2") "]", M_F32_23) ","
		OUT("[" N("getitem") ", " N("add") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in user x\n"
	                "max_dim = torch.ops.aten.max.dim(self=x, dim=1) -> max_dim_unused_0 getitem\n"
	                "split = torch.ops.aten.split.Tensor(self=x, split_size=1) -> [getitem_2, getitem_1]\n"
	                "add = torch.ops.aten.add.Tensor(self=getitem_1, other=getitem_2) -> add\n"
	                "out getitem\n"
	                "out add\n");
	pt2c__program_free(p);
}

/* An output that is itself a lifted constant gets the placeholder's name (upstream #3189). */
static void test_output_is_lifted_constant(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("c", "c", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("x") "]", M_F32_23) ","
		OUT("[" N("c") ", " N("add") "]") "], \"submodules\": {}, \"parameters\": {}, \"buffers\": {},"
		"\"constants\": {\"c\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in tensor_constant c_1 c\nin user x\nadd = torch.ops.aten.add.Tensor(self=x, other=x) -> add\nout c_1\nout add\n");
	/* default call-graph specs are built when the module has none */
	REQUIRE(p->n_calls == 1);
	CHECK_STR(p->calls[0].out_spec, "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": ["
	                                "{\"type\": null, \"context\": null, \"children_spec\": []}, "
	                                "{\"type\": null, \"context\": null, \"children_spec\": []}]}]");
	pt2c__program_free(p);
}

static void test_program_lint_errors(void)
{
	pt2c_program *p = tu_export("hybrid_gated_fallback", false);
	REQUIRE(p);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), 0);
	p->inputs[1].persistent = false; /* buffer spec disagrees with the attribute */
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	p->inputs[1].persistent = true;
	p->inputs[0].kind = PT2C_IN_BUFFER; /* "gate" is a parameter */
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	p->inputs[0].kind = PT2C_IN_PARAMETER;
	p->n_inputs--; /* one placeholder too many */
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	p->n_inputs++;
	p->n_outputs = 0;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	p->n_outputs = 1;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), 0);
	pt2c__program_free(p);
}

/* A cross-compiled program whose record is damaged is rejected with ECORRUPT. */
static void test_resolve_cross_corrupt(void)
{
	pt2c_program *p = tu_export("full_engine_folded", true);
	REQUIRE(p);
	pt2c_graph *g = p->mod->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		if (nd->op == PT2C_OP_CALL_FUNCTION) nd->n_inputs--; /* drop the platform field */
	}
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), PT2C_ECORRUPT);
	pt2c__program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_inline_engines_normal);
	RUN(test_inline_engines_cross_abi7);
	RUN(test_inline_fallbacks);
	RUN(test_fallback_attr_conflict);
	RUN(test_dce);
	RUN(test_lint_errors);
	RUN(test_unknown_op_and_module_schemas);
	RUN(test_argument_conversion);
	RUN(test_fold_getitems);
	RUN(test_output_is_lifted_constant);
	RUN(test_program_lint_errors);
	RUN(test_resolve_cross_corrupt);
	tu_release();
})
