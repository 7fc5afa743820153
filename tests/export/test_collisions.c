/*
 * test_collisions.c -- fallback segments that own attributes of the same name (defect 12 of the
 * seed exporter: the second segment's `w0` silently replaced the first's). pt2c renames the
 * later owner with torch.fx's unique suffix and keeps one attribute only for the very same tensor.
 *
 * data/attr_collision.partitioned.json (built for this test) holds:
 *   top level          w0 = A (the top module's own copy of _run_on_gpu_0's w0: shared)
 *   _run_on_gpu_0      w0 = A, lin.weight = L0, buffers scale = S, shift = H (persistent)
 *   _run_on_acc_0      a stand-in engine
 *   _run_on_gpu_1      w0 = B (-> w0_2: w0_1 is its own), w0_1 = C (kept), lin.weight = L1
 *                      (-> lin.weight_1), scale = S (same bytes and view: shared), shift = H but
 *                      not persistent (-> shift_1)
 * with A = 1..6, B = 10..60, C = 0.5, S = 2, H = 0.25, L0 = -1, L1 = -2.
 */
#include <stdlib.h>

#include "export_test_util.h"
#include "pt2c.h"

static const char *data_path(const char *name)
{
	static char buf[4][1024];
	static int slot;
	const char *src = getenv("PT2C_SOURCE");
	char *b = buf[slot++ & 3];
	snprintf(b, sizeof buf[0], "%s/tests/export/data/%s", src ? src : "../..", name);
	return b;
}

static pt2c_program *export_collision(bool cross)
{
	size_t len = 0;
	uint8_t *data = read_file(data_path("attr_collision.partitioned.json"), &len);
	if (!data) {
		pt2c_test_fail(__FILE__, __LINE__, "cannot read attr_collision.partitioned.json");
		return NULL;
	}
	tu_keep(data); /* the module may keep views into its input: freed at the end */
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, (const char *)data, len, NULL, &err);
	if (rc) {
		pt2c_test_fail(__FILE__, __LINE__, "read: %d %s", rc, err.message);
		return NULL;
	}
	pt2c_program *p = NULL;
	rc = pt2c__export_module(&p, &m, cross, NULL, &err);
	if (rc) pt2c_test_fail(__FILE__, __LINE__, "export: %d %s", rc, err.message);
	return p;
}

/* First float of attribute fqn's data, -999 if absent. */
static float first_value(const pt2c_program *p, const char *fqn)
{
	const pt2c_attr *a = pt2c__module_find_attr(p->mod, fqn);
	if (!a || !a->tensor.storage || a->tensor.storage->nbytes < 4) return -999.0f;
	float f;
	memcpy(&f, a->tensor.storage->data, 4);
	return f;
}

/* The signature target of the placeholder that node `node`'s input `arg` reads. */
static const char *target_read_by(pt2c_program *p, const char *node, const char *arg)
{
	pt2c_graph *g = p->mod->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (strcmp(nd->name, node) != 0) continue;
		for (uint32_t i = 0; i < nd->n_inputs; i++) {
			if (!nd->inputs[i].name || strcmp(nd->inputs[i].name, arg) != 0 || nd->inputs[i].arg.kind != PT2C_ARG_TENSOR)
				continue;
			uint32_t v = pt2c__value_resolve(g, nd->inputs[i].arg.u.ref);
			for (uint32_t k = 0; k < p->n_inputs; k++)
				if (p->inputs[k].arg.kind == PT2C_ARG_TENSOR && pt2c__value_resolve(g, p->inputs[k].arg.u.ref) == v)
					return p->inputs[k].target;
		}
	}
	return NULL;
}

static void check_signature(pt2c_program *p)
{
	/* every node reads the tensor its segment owned */
	CHECK_STR(target_read_by(p, "mul", "other"), "w0");               /* _run_on_gpu_0: x * w0 (A) */
	CHECK_STR(target_read_by(p, "mul_1", "other"), "scale");
	CHECK_STR(target_read_by(p, "add", "other"), "shift");
	CHECK_STR(target_read_by(p, "add_1", "other"), "lin.weight");
	CHECK_STR(target_read_by(p, "mul_2", "other"), "w0_2");           /* _run_on_gpu_1's w0 (B) */
	CHECK_STR(target_read_by(p, "add_2", "other"), "w0_1");           /* _run_on_gpu_1's own w0_1 (C) */
	CHECK_STR(target_read_by(p, "mul_3", "other"), "scale");          /* shared: same bytes and view */
	CHECK_STR(target_read_by(p, "add_3", "other"), "shift_1");        /* not persistent there */
	CHECK_STR(target_read_by(p, "add_4", "other"), "lin.weight_1");
	/* state dict and constants: names follow, bytes are each owner's */
	CHECK(first_value(p, "w0") == 1.0f);
	CHECK(first_value(p, "w0_2") == 10.0f);
	CHECK(first_value(p, "w0_1") == 0.5f);
	CHECK(first_value(p, "lin.weight") == -1.0f);
	CHECK(first_value(p, "lin.weight_1") == -2.0f);
	CHECK(first_value(p, "scale") == 2.0f);
	CHECK(first_value(p, "shift") == 0.25f && first_value(p, "shift_1") == 0.25f);
	const pt2c_attr *s1 = pt2c__module_find_attr(p->mod, "shift_1");
	REQUIRE(s1);
	CHECK(!s1->persistent);
	CHECK(pt2c__module_find_attr(p->mod, "scale_1") == NULL);
	CHECK(pt2c__module_find_attr(p->mod, "w0_3") == NULL);
	/* kinds of the signature entries */
	uint32_t n_param = 0, n_buf = 0;
	for (uint32_t k = 0; k < p->n_inputs; k++) {
		if (p->inputs[k].kind == PT2C_IN_PARAMETER) n_param++;
		if (p->inputs[k].kind == PT2C_IN_BUFFER) {
			n_buf++;
			CHECK_EQ_INT(p->inputs[k].persistent, strcmp(p->inputs[k].target, "shift_1") != 0);
		}
	}
	CHECK_EQ_INT(n_param, 5);
	CHECK_EQ_INT(n_buf, 3);
}

static void test_collision_normal(void)
{
	pt2c_program *p = export_collision(false);
	REQUIRE(p);
	check_signature(p);
	CHECK_EQ_INT(pt2c__program_lint(p, NULL), 0);
	pt2c__program_free(p);
}

static void test_collision_cross(void)
{
	pt2c_program *p = export_collision(true);
	REQUIRE(p);
	check_signature(p);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), 0);
	check_signature(p);
	pt2c__program_free(p);
}

/* Written and read back: the state dict (weights config) and constants keep the distinct names. */
static void test_collision_archive(void)
{
	pt2c_program *p = export_collision(false);
	REQUIRE(p);
	const char *out = scratch_path("attr_collision.pt2");
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_write(p, out, NULL, &err) == 0);
	pt2c__program_free(p);
	pt2c_program *q = NULL;
	REQUIRE(pt2c_program_open(&q, out, NULL, &err) == 0);
	check_signature(q);
	/* the printout PyTorch users read (`pt2c inspect --graph`) */
	char *text = NULL;
	size_t len = 0, elen = 0;
	REQUIRE(pt2c_program_print(q, &text, &len) == 0);
	uint8_t *expect = read_file(data_path("attr_collision.normal.txt"), &elen);
	CHECK(expect != NULL);
	if (expect) CHECK_MSG(len == elen && memcmp(text, expect, len) == 0, "printout differs:\n%s", text);
	free(expect);
	pt2c_free(text);
	static const char *const want[] = { "w0", "lin.weight", "w0_2", "w0_1", "lin.weight_1", "scale", "shift", "shift_1",
	                                    "_run_on_acc_0_engine" };
	REQUIRE(q->mod->n_attrs == PT2C_ARRAY_LEN(want));
	for (size_t i = 0; i < PT2C_ARRAY_LEN(want); i++)
		CHECK_STR(q->mod->attrs[i].fqn, want[i]);
	pt2c_program_free(q);
}

/*
 * A segment called twice whose attribute collides: both calls read the one renamed attribute
 * (the renaming is done on the segment, so the second call finds the same tensor and shares it).
 */
static void test_collision_segment_called_twice(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("w") "]", M_F32_23) ","
		CM("_run_on_gpu_0", "[" N("add") "]", M_F32_23) ","
		"{\"op\": \"call_module\", \"name\": \"again\", \"target\": \"_run_on_gpu_0\", \"args\": [" N("_run_on_gpu_0") "], \"kwargs\": {}, \"val\": " M_F32_23 "},"
		OUT("[" N("again") "]") "],"
		"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": ["
		PH("a", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CF("mul", "torch.ops.aten.mul.Tensor", "[" N("a") ", " N("w") "]", M_F32_23) "," OUT(N("mul")) "],"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], \"data_b64\": \"AACAPwAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}, \"buffers\": {}}},"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in parameter w_3 w\n"
	                "in parameter w_4 w_1\n"
	                "in user x\n"
	                "add = torch.ops.aten.add.Tensor(self=x, other=w_3) -> add\n"
	                "mul = torch.ops.aten.mul.Tensor(self=add, other=w_4) -> mul\n"
	                "mul_1 = torch.ops.aten.mul.Tensor(self=mul, other=w_4) -> mul_1\n"
	                "out mul_1\n");
	CHECK_EQ_INT(p->mod->n_attrs, 2);
	CHECK(first_value(p, "w") == 0.0f);
	CHECK(first_value(p, "w_1") == 1.0f);
	pt2c__program_free(p);
}

/* Same bytes and view but a different kind (parameter vs buffer): two attributes. */
static void test_collision_kind(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CF("add", "torch.ops.aten.add.Tensor", "[" N("x") ", " N("w") "]", M_F32_23) ","
		CM("_run_on_gpu_0", "[" N("add") "]", M_F32_23) "," OUT("[" N("_run_on_gpu_0") "]") "],"
		"\"submodules\": {\"_run_on_gpu_0\": {\"kind\": \"graph\", \"graph\": ["
		PH("a", M_F32_23) "," GA("w", "w", M_F32_23) ","
		CF("mul", "torch.ops.aten.mul.Tensor", "[" N("a") ", " N("w") "]", M_F32_23) "," OUT(N("mul")) "],"
		"\"parameters\": {}, \"buffers\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}}},"
		"\"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1], " ZEROS24 "}}, \"buffers\": {}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in parameter w_2 w\n"
	                "in buffer w_3 w_1 persistent\n"
	                "in user x\n"
	                "add = torch.ops.aten.add.Tensor(self=x, other=w_2) -> add\n"
	                "mul = torch.ops.aten.mul.Tensor(self=add, other=w_3) -> mul\n"
	                "out mul\n");
	pt2c__program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_collision_normal);
	RUN(test_collision_cross);
	RUN(test_collision_archive);
	RUN(test_collision_segment_called_twice);
	RUN(test_collision_kind);
	tu_release();
})
