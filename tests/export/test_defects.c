/*
 * test_defects.c -- one test per known defect of the seed exporter
 * (../shared/docs/seed-exporter.md "Known defects"); each builds a small partitioned module on
 * which the seed's behaviour would make the assertion fail.
 */
#include "export_test_util.h"



/* 1. Buffer input specs carry `persistent` (true; false for a non-persistent buffer, kept out of the state dict). */
static void test_defect1_buffer_persistent(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("b", "b", M_F32_23) "," GA("np", "np", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("b") "]", M_F32_23) ","
		CF("add_1", "torch.ops.aten.add.Tensor", "[" N("add") ", " N("np") "]", M_F32_23) ","
		OUT("[" N("add_1") "]") "],"
		"\"submodules\": {}, \"parameters\": {},"
		"\"buffers\": {\"b\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "},"
		" \"np\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], \"persistent\": false, " ZEROS24 "}}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	/* placeholders are named like the seed names them: the get_attr still holds "b" */
	CHECK_RENDER(p, "in buffer b_1 b persistent\n"
	                "in buffer np_1 np\n"
	                "in user x\n"
	                "add = torch.ops.aten.add.Tensor(self=x, other=b_1) -> add\n"
	                "add_1 = torch.ops.aten.add.Tensor(self=add, other=np_1) -> add_1\n"
	                "out add_1\n");
	REQUIRE(p->n_inputs == 3);
	CHECK_EQ_INT(p->inputs[0].kind, PT2C_IN_BUFFER);
	CHECK(p->inputs[0].persistent);
	CHECK(!p->inputs[1].persistent);
	pt2c__program_free(p);
}

/* 2. A fallback with several outputs is inlined element by element (the seed substituted a tuple). */
static void test_defect2_multi_output_fallback(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CM("_run_on_gpu_0", "[" N("x") "]", "null") ","
		GI("getitem", "_run_on_gpu_0", 1, M_F32_23) "," GI("getitem_1", "_run_on_gpu_0", 0, M_F32_23) ","
		CF("mul", "torch.ops.aten.mul.Tensor", "[" N("getitem") ", " N("getitem_1") "]", M_F32_23) ","
		OUT("[" N("mul") "]") "],"
		"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": ["
		PH("a", M_F32_23) "," CF("relu", "torch.ops.aten.relu.default", "[" N("a") "]", M_F32_23) ","
		CF("neg", "torch.ops.aten.neg.default", "[" N("a") "]", M_F32_23) ","
		OUT("[" N("relu") ", " N("neg") "]") "], \"parameters\": {}, \"buffers\": {}}},"
		"\"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in user x\n"
	                "relu = torch.ops.aten.relu.default(self=x) -> relu\n"
	                "neg = torch.ops.aten.neg.default(self=x) -> neg\n"
	                "mul = torch.ops.aten.mul.Tensor(self=neg, other=relu) -> mul\n"
	                "out mul\n");
	pt2c__program_free(p);
}

/* 3. Fallback inputs are wired by position even when names collide the other way round (upstream #4446). */
static void test_defect3_wire_by_position(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," PH("y", M_F32_23) "," CM("_run_on_gpu_0", "[" N("x") ", " N("y") "]", M_F32_23) ","
		OUT("[" N("_run_on_gpu_0") "]") "],"
		"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": ["
		PH("y", M_F32_23) "," PH("x", M_F32_23) ","
		CF("sub", "torch.ops.aten.sub.Tensor", "[" N("y") ", " N("x") "]", M_F32_23) ","
		OUT(N("sub")) "], \"parameters\": {}, \"buffers\": {}}},"
		"\"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	/* the fallback's first input ("y") receives the call's first argument (x) */
	CHECK_RENDER(p, "in user x\n"
	                "in user y\n"
	                "sub = torch.ops.aten.sub.Tensor(self=x, other=y) -> sub\n"
	                "out sub\n");
	pt2c__program_free(p);
}

/* 4. Resolving a cross-compiled single-output engine adds no second getitem; no placeholder -> no-op. */
static void test_defect4_resolve_single_output(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CM("_run_on_acc_0", "[" N("x") "]", "[" M_F32_32 "]") ","
		CF("relu", "torch.ops.aten.relu.default", "[" N("_run_on_acc_0") "]", M_F32_32) ","
		OUT("[" N("relu") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "}},"
		"\"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, true, NULL, &err);
	REQUIRE(p);
	int rc = pt2c__program_resolve_cross(p, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	CHECK_RENDER(p, "in custom_obj obj:_run_on_acc_0_engine _run_on_acc_0_engine\n"
	                "in user x\n"
	                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
	                "engine=obj:_run_on_acc_0_engine) -> [getitem]\n"
	                "relu = torch.ops.aten.relu.default(self=getitem) -> relu\n"
	                "out relu\n");
	/* the resolved output keeps its element metadata, not the whole list */
	const pt2c_value *gi = value_named(p, "getitem");
	REQUIRE(gi);
	CHECK_EQ_INT(gi->kind, PT2C_VAL_TENSOR);
	CHECK(gi->has_meta && gi->u.tensor->ndim == 2 && gi->u.tensor->sizes[0].i == 3);
	CHECK_EQ_INT(pt2c__program_lint(p, &err), 0);
	/* a second resolve finds nothing to do */
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), 0);
	pt2c__program_free(p);

	/* a program without any placeholder (the seed asserted) */
	static const char json2[] = "{\"graph\": ["
		CF("zeros", "torch.ops.aten.zeros.default", "[[2, 3]]", M_F32_23) "," OUT("[" N("zeros") "]") "],"
		"\"submodules\": {}, \"parameters\": {}, \"buffers\": {}}";
	p = export_json(json2, true, NULL, &err);
	REQUIRE(p);
	CHECK_EQ_INT(p->n_inputs, 0);
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), 0);
	CHECK_RENDER(p, "zeros = torch.ops.aten.zeros.default(size=[2, 3]) -> zeros\nout zeros\n");
	pt2c__program_free(p);
}

/* 5. Lifted weights carry their true dtype, strides and device (the seed wrote f32, strides 1, cpu). */
static void test_defect5_true_metadata(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", "{\"dtype\": \"float16\", \"sizes\": [2, 3], \"strides\": [3, 1], \"device\": \"cuda:0\"}") ","
		GA("w", "lin.w", "{\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [1, 1]}") ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("w") "]",
		   "{\"dtype\": \"float16\", \"sizes\": [2, 3], \"strides\": [3, 1], \"device\": \"cuda:0\"}") ","
		OUT("[" N("add") "]") "],"
		"\"submodules\": {}, \"buffers\": {}, \"parameters\": {\"lin.w\": {\"dtype\": \"float16\", \"sizes\": [2, 3], "
		"\"strides\": [3, 1], \"device\": \"cuda:0\", \"requires_grad\": true, \"data_b64\": \"AAAAAAAAAAAAAAAA\"}}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	REQUIRE(p->n_inputs == 2);
	CHECK_EQ_INT(p->inputs[0].kind, PT2C_IN_PARAMETER);
	CHECK_STR(p->inputs[0].target, "lin.w");
	const pt2c_value *w = value_named(p, "lin_w");
	REQUIRE(w && w->has_meta && w->kind == PT2C_VAL_TENSOR);
	CHECK_EQ_INT(w->u.tensor->dtype, PT2C_DTYPE_FLOAT16);
	REQUIRE(w->u.tensor->ndim == 2);
	CHECK_EQ_INT(w->u.tensor->strides[0].i, 3);
	CHECK_EQ_INT(w->u.tensor->strides[1].i, 1);
	CHECK_STR(w->u.tensor->device.type, "cuda");
	CHECK_EQ_INT(w->u.tensor->device.index, 0);
	CHECK(w->u.tensor->requires_grad);
	pt2c__program_free(p);
}

/* 6. Inputs in PyTorch's canonical order whatever the graph order of the get_attr nodes. */
static void test_defect6_canonical_order(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("c", "c", M_F32_23) "," GA("b", "b", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CM("_run_on_acc_0", "[" N("x") ", " N("c") ", " N("b") ", " N("w") "]", "[" M_F32_23 "]") ","
		OUT("[" N("_run_on_acc_0") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "}},"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}},"
		"\"buffers\": {\"b\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}},"
		"\"constants\": {\"c\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in parameter w_1 w\n"
	                "in buffer b_1 b persistent\n"
	                "in tensor_constant c_1 c\n"
	                "in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	                "in user x\n"
	                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x, c_1, b_1, w_1], "
	                "engine=obj:_run_on_acc_0_engine_1) -> [getitem]\n"
	                "out getitem\n");
	/* state dict then constants, in signature order */
	REQUIRE(p->mod->n_attrs == 4);
	CHECK_STR(p->mod->attrs[0].fqn, "w");
	CHECK_STR(p->mod->attrs[1].fqn, "b");
	CHECK_STR(p->mod->attrs[2].fqn, "c");
	CHECK_STR(p->mod->attrs[3].fqn, "_run_on_acc_0_engine");
	pt2c__program_free(p);
}

/* 7. Custom-object arguments name their class. */
static void test_defect7_class_fqn(void)
{
	pt2c_program *p = tu_export("full_engine_folded", false);
	REQUIRE(p);
	REQUIRE(p->n_inputs == 2);
	CHECK_EQ_INT(p->inputs[0].arg.kind, PT2C_ARG_CUSTOM_OBJ);
	CHECK_STR(p->inputs[0].arg.u.obj.class_fqn, PT2C_ENGINE_CLASS_FQN);
	pt2c_graph *g = p->mod->graph;
	bool seen = false;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_CALL_FUNCTION) continue;
		REQUIRE(nd->n_inputs == 2);
		CHECK_EQ_INT(nd->inputs[1].arg.kind, PT2C_ARG_CUSTOM_OBJ);
		CHECK_STR(nd->inputs[1].arg.u.obj.class_fqn, PT2C_ENGINE_CLASS_FQN);
		seen = true;
	}
	CHECK(seen);
	const pt2c_value *v = value_named(p, "_run_on_acc_0_engine_1");
	REQUIRE(v);
	CHECK_STR(v->u.obj.class_fqn, PT2C_ENGINE_CLASS_FQN);
	CHECK_STR(v->u.obj.name, "_run_on_acc_0_engine");
	pt2c__program_free(p);
}

/* 8. Symbols of the inputs get range constraints (the seed wrote {}: "s0 not in var_ranges"). */
static void test_defect8_range_constraints(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", "{\"dtype\": \"float32\", \"sizes\": [\"s0\", 3], \"strides\": [3, 1]}") ","
		PH("y", "{\"dtype\": \"float32\", \"sizes\": [\"Symbol('s1', positive=True, integer=True)\", 3], \"strides\": [3, 1]}") ","
		CM("_run_on_acc_0", "[" N("x") "]", "[{\"dtype\": \"float32\", \"sizes\": [\"s0\", 3], \"strides\": [3, 1]}]") ","
		OUT("[" N("_run_on_acc_0") ", " N("y") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "}},"
		"\"parameters\": {}, \"buffers\": {}, \"symbols\": {\"s0\": [2, 64], \"s1\": [1, null], \"s9\": [0, 5]}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	REQUIRE(p->n_ranges == 2); /* s9 appears nowhere */
	CHECK_STR(p->ranges[0].name, "s0");
	CHECK(p->ranges[0].has_min && p->ranges[0].min == 2 && p->ranges[0].has_max && p->ranges[0].max == 64);
	CHECK_STR(p->ranges[1].name, "s1");
	CHECK(p->ranges[1].has_min && p->ranges[1].min == 1 && !p->ranges[1].has_max);
	/* symbolic sizes survive on the engine output */
	const pt2c_value *gi = value_named(p, "getitem");
	REQUIRE(gi && gi->has_meta && gi->u.tensor->ndim == 2);
	CHECK_EQ_INT(gi->u.tensor->sizes[0].kind, PT2C_SYM_EXPR);
	pt2c__program_free(p);
}

/* 9. getitem metadata by index, not by user order; a single output gets its element, not the list. */
static void test_defect9_getitem_by_index(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CM("_run_on_acc_0", "[" N("x") "]", "[" M_F32_23 ", " M_F32_32 "]") ","
		GI("getitem_1", "_run_on_acc_0", 1, "null") "," GI("getitem", "_run_on_acc_0", 0, "null") ","
		OUT("[" N("getitem_1") ", " N("getitem") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "}},"
		"\"parameters\": {}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	                "in user x\n"
	                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x], "
	                "engine=obj:_run_on_acc_0_engine_1) -> [getitem, getitem_1]\n"
	                "out getitem_1\n"
	                "out getitem\n");
	const pt2c_value *g0 = value_named(p, "getitem"), *g1 = value_named(p, "getitem_1");
	REQUIRE(g0 && g1 && g0->has_meta && g1->has_meta);
	CHECK_EQ_INT(g0->u.tensor->sizes[0].i, 2); /* element 0: [2, 3] */
	CHECK_EQ_INT(g1->u.tensor->sizes[0].i, 3); /* element 1: [3, 2] */
	pt2c__program_free(p);
}

/* 10. Engines are never re-encoded by the passes: a 5 GiB engine passes through both modes untouched. */
static void test_defect10_huge_engine(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," CM("_run_on_acc_0", "[" N("x") "]", "[" M_F32_23 "]") ","
		OUT("[" N("_run_on_acc_0") "]") "],"
		"\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " ENGINE_REC("_run_on_acc_0_engine") "}},"
		"\"parameters\": {}, \"buffers\": {}}";
	static const uint8_t tiny[16];
	for (int cross = 0; cross < 2; cross++) {
		pt2c_module *m = load(json);
		REQUIRE(m);
		pt2c_submodule *sub = pt2c__module_find_sub(m, "_run_on_acc_0");
		REQUIRE(sub && sub->engine);
		/* a storage that claims 5 GiB: touching its bytes would crash */
		pt2c_storage *huge = NULL;
		REQUIRE(pt2c__storage_new(NULL, tiny, (uint64_t)5 << 30, NULL, NULL, &huge) == 0);
		pt2c__storage_unref(sub->engine->engine);
		sub->engine->engine = huge;
		sub->engine->engine_b64 = false;
		pt2c_program *p = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__export_module(&p, &m, cross != 0, NULL, &err);
		CHECK_MSG(rc == 0, "%s", err.message);
		if (!p) continue;
		const pt2c_engine_record *rec = NULL;
		if (!cross) {
			const pt2c_attr *at = pt2c__module_find_attr(p->mod, "_run_on_acc_0_engine");
			rec = at ? at->engine : NULL;
		} else {
			PT2C_GRAPH_FOREACH(p->mod->graph, id) {
				const pt2c_node *nd = &p->mod->graph->nodes[id];
				for (uint32_t i = 0; i < nd->n_inputs; i++)
					if (nd->inputs[i].arg.kind == PT2C_ARG_ENGINE_B64) rec = nd->inputs[i].arg.u.engine;
			}
		}
		REQUIRE(rec);
		CHECK(rec->engine == huge);
		CHECK_EQ_INT(huge->refcount, 1);
		pt2c__program_free(p);
	}
}

/* 11. No copies: weights and engines of the program are the module's storages. */
static void test_defect11_no_copies(void)
{
	pt2c_module *m = tu_load_partitioned("full_engine_two_outputs");
	REQUIRE(m);
	pt2c_attr *w = pt2c__module_find_attr(m, "a.weight");
	REQUIRE(w && w->tensor.storage);
	pt2c_storage *ws = w->tensor.storage;
	pt2c_storage *es = pt2c__module_find_sub(m, "_run_on_acc_0")->engine->engine;
	const uint8_t *wdata = ws->data;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__export_module(&p, &m, false, NULL, &err) == 0);
	const pt2c_attr *pw = pt2c__module_find_attr(p->mod, "a.weight");
	REQUIRE(pw);
	CHECK(pw->tensor.storage == ws);
	CHECK(pw->tensor.storage->data == wdata);
	CHECK_EQ_INT(ws->refcount, 1);
	const pt2c_attr *pe = pt2c__module_find_attr(p->mod, "_run_on_acc_0_engine");
	CHECK(pe && pe->engine && pe->engine->engine == es);
	pt2c__program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_defect1_buffer_persistent);
	RUN(test_defect2_multi_output_fallback);
	RUN(test_defect3_wire_by_position);
	RUN(test_defect4_resolve_single_output);
	RUN(test_defect5_true_metadata);
	RUN(test_defect6_canonical_order);
	RUN(test_defect7_class_fqn);
	RUN(test_defect8_range_constraints);
	RUN(test_defect9_getitem_by_index);
	RUN(test_defect10_huge_engine);
	RUN(test_defect11_no_copies);
	tu_release();
})
