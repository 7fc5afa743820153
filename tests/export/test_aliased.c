/*
 * test_aliased.c -- aliased engine outputs (KV-cache updates) become buffer mutations, as
 * upstream's legacy exporter declares them (`_expose_aliased_buffer_mutations`, #4445;
 * docs/generations.md, section E): a getitem per aliased output binding whose input binding is
 * fed by a buffer's get_attr, prepended to the graph outputs, with a BUFFER_MUTATION spec naming
 * the buffer; the out_spec keeps the user outputs only.
 *
 * data/kv_cache.partitioned.json (made by data/make_kv_cache.py, which says what it holds): one
 * ABI 10 engine with outputs output_1/output_2 aliased to the buffers k_cache/v_cache and output_3
 * aliased to the user input `state`, then a relu fallback. data/kv_cache.head.txt is the printout
 * PyTorch gives such a program (names as torch.fx's namespace hands them out upstream).
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

static pt2c_module *load_kv(void)
{
	size_t len = 0;
	uint8_t *data = read_file(data_path("kv_cache.partitioned.json"), &len);
	if (!data) {
		pt2c_test_fail(__FILE__, __LINE__, "cannot read kv_cache.partitioned.json");
		return NULL;
	}
	tu_keep(data);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__partitioned_json_read(&m, (const char *)data, len, NULL, &err)) {
		pt2c_test_fail(__FILE__, __LINE__, "read: %s", err.message);
		return NULL;
	}
	return m;
}

static pt2c_program *export_kv(bool cross)
{
	pt2c_module *m = load_kv();
	if (!m) return NULL;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__export_module(&p, &m, cross, NULL, &err)) pt2c_test_fail(__FILE__, __LINE__, "export: %s", err.message);
	return p;
}

/* Leaves of a treespec string (protocol 1): entries whose "type" is null. */
static int spec_leaves(const char *spec)
{
	int n = 0;
	for (const char *s = spec; (s = strstr(s, "\"type\": null")) != NULL; s++) n++;
	return n;
}

static void check_kv_signature(pt2c_program *p)
{
	REQUIRE(p->n_outputs == 3);
	CHECK_EQ_INT(p->outputs[0].kind, PT2C_OUT_BUFFER_MUTATION);
	CHECK_STR(p->outputs[0].target, "k_cache");
	CHECK_EQ_INT(p->outputs[1].kind, PT2C_OUT_BUFFER_MUTATION);
	CHECK_STR(p->outputs[1].target, "v_cache");
	CHECK_EQ_INT(p->outputs[2].kind, PT2C_OUT_USER_OUTPUT);
	CHECK(p->outputs[2].target == NULL);
	pt2c_graph *g = p->mod->graph;
	CHECK_STR(tu_vname(g, p->outputs[0].arg.u.ref), "getitem_1");
	CHECK_STR(tu_vname(g, p->outputs[1].arg.u.ref), "getitem_2");
	CHECK_STR(tu_vname(g, p->outputs[2].arg.u.ref), "relu_default");
	/* out_spec: the user-visible structure (one tensor), not the three graph outputs */
	REQUIRE(p->n_calls == 1 && p->calls[0].out_spec);
	CHECK_EQ_INT(spec_leaves(p->calls[0].out_spec), 1);
	CHECK_EQ_INT(spec_leaves(p->calls[0].in_spec), 2);
	/* the mutation outputs carry the buffers' metadata */
	const pt2c_value *k = value_named(p, "getitem_1");
	const pt2c_attr *kc = pt2c__module_find_attr(p->mod, "k_cache");
	REQUIRE(k && kc && k->has_meta);
	CHECK(pt2c__meta_equal(k->u.tensor, &kc->tensor.meta));
	CHECK_EQ_INT(pt2c__program_lint(p, NULL), 0);
}

static void test_kv_export(void)
{
	pt2c_program *p = export_kv(false);
	REQUIRE(p);
	CHECK_RENDER(p, "in buffer k_cache_1 k_cache persistent\n"
	                "in buffer v_cache_1 v_cache persistent\n"
	                "in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	                "in user x\n"
	                "in user state\n"
	                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x, k_cache_1, "
	                "v_cache_1, state], engine=obj:_run_on_acc_0_engine_1) -> [getitem, getitem_1, getitem_2]\n"
	                "relu_default = torch.ops.aten.relu.default(self=getitem) -> relu_default\n"
	                "out getitem_1\n"
	                "out getitem_2\n"
	                "out relu_default\n");
	check_kv_signature(p);
	/* written and read back: the same signature, and the printout PyTorch users read */
	const char *out = scratch_path("kv_cache.pt2");
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c_program_write(p, out, NULL, &err) == 0);
	pt2c__program_free(p);
	pt2c_program *q = NULL;
	REQUIRE(pt2c_program_open(&q, out, NULL, &err) == 0);
	check_kv_signature(q);
	char *text = NULL;
	size_t len = 0, elen = 0;
	REQUIRE(pt2c_program_print(q, &text, &len) == 0);
	uint8_t *expect = read_file(data_path("kv_cache.head.txt"), &elen);
	CHECK(expect != NULL);
	if (expect) CHECK_MSG(len == elen && memcmp(text, expect, len) == 0, "printout differs:\n%s", text);
	free(expect);
	pt2c_free(text);
	pt2c_program_free(q);
}

/* Cross-compile: upstream exposes nothing (inline_trt_modules, normal mode only); resolving neither. */
static void test_kv_cross(void)
{
	pt2c_program *p = export_kv(true);
	REQUIRE(p);
	REQUIRE(p->n_outputs == 1);
	CHECK_EQ_INT(p->outputs[0].kind, PT2C_OUT_USER_OUTPUT);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__program_resolve_cross(p, &err), 0);
	CHECK_EQ_INT(p->n_outputs, 1);
	CHECK_EQ_INT(pt2c__program_lint(p, NULL), 0);
	pt2c__program_free(p);
}

#define M_F32_14 "{\"dtype\": \"float32\", \"sizes\": [1, 4], \"strides\": [4, 1]}"
#define W14(v) "{\"dtype\": \"float32\", \"sizes\": [1, 4], \"strides\": [4, 1], \"data_b64\": \"" v "\"}"
#define Z14 "AAAAAAAAAAAAAAAAAAAAAA=="
#define REC10(name, ins, outs, alias) "[\"10\", \"" name "\", \"0%9%0%1%NVIDIA H100 80GB HBM3\", \"AAECAw==\", \"" ins \
	"\", \"" outs "\", \"0\", \"gAJ9cQAu\", \"linux_x86_64\", \"0\", \"0\", \"0\", \"" alias "\"]"

/*
 * Two engines: _run_on_acc_0 aliases buffer c; _run_on_acc_1 aliases c again (already declared:
 * skipped) and buffer d; each engine's mutations are prepended, so d's comes first. The
 * parameter p fed to an aliased input of _run_on_acc_0 is no buffer: undeclared.
 */
static void test_two_engines(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_14) "," GA("c", "c", M_F32_14) "," GA("d", "d", M_F32_14) "," GA("p", "p", M_F32_14) ","
		CM("_run_on_acc_0", "[" N("x") ", " N("c") ", " N("p") "]", "[" M_F32_14 "]") ","
		CM("_run_on_acc_1", "[" N("_run_on_acc_0") ", " N("c") ", " N("d") "]", "[" M_F32_14 "]") ","
		OUT("[" N("_run_on_acc_1") "]") "],"
		"\"submodules\": {"
		"\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " REC10("e0", "i0%i1%i2", "o0%o1%o2", "o1@i1@kv_cache_update%o2@i2@user") "},"
		"\"_run_on_acc_1\": {\"kind\": \"engine\", \"engine_record\": " REC10("e1", "i0%i1%i2", "o0%o1%o2", "o2@i2@kv_cache_update%o1@i1@kv_cache_update") "}},"
		"\"parameters\": {\"p\": " W14(Z14) "}, \"buffers\": {\"c\": " W14(Z14) ", \"d\": " W14(Z14) "}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	CHECK_RENDER(p, "in parameter p_1 p\n"
	                "in buffer c_1 c persistent\n"
	                "in buffer d_1 d persistent\n"
	                "in custom_obj obj:_run_on_acc_0_engine_1 _run_on_acc_0_engine\n"
	                "in custom_obj obj:_run_on_acc_1_engine_1 _run_on_acc_1_engine\n"
	                "in user x\n"
	                "execute_engine_default = torch.ops.tensorrt.execute_engine.default(input_tensors=[x, c_1, p_1], "
	                "engine=obj:_run_on_acc_0_engine_1) -> [getitem, getitem_1]\n"
	                "execute_engine_default_1 = torch.ops.tensorrt.execute_engine.default(input_tensors=[getitem, c_1, d_1], "
	                "engine=obj:_run_on_acc_1_engine_1) -> [getitem_2, getitem_4, getitem_3]\n"
	                "out getitem_3\n"
	                "out getitem_1\n"
	                "out getitem_2\n");
	REQUIRE(p->n_outputs == 3);
	CHECK_STR(p->outputs[0].target, "d");
	CHECK_STR(p->outputs[1].target, "c");
	CHECK_EQ_INT(p->outputs[2].kind, PT2C_OUT_USER_OUTPUT);
	CHECK_EQ_INT(pt2c__program_lint(p, NULL), 0);
	/* index 1 of the second engine (o1, aliased to c, skipped) is padding, given its value after
	 * the exposed index 2 (upstream creates a getitem for the exposed one only) */
	CHECK(value_named(p, "getitem_4") != NULL);
	pt2c__program_free(p);
}

/* A later record for the same output wins; records that are not out@in@kind are skipped. */
static void test_last_record_wins(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_14) "," GA("c", "c", M_F32_14) "," GA("d", "d", M_F32_14) ","
		CM("_run_on_acc_0", "[" N("x") ", " N("c") ", " N("d") "]", "[" M_F32_14 "]") ","
		OUT("[" N("_run_on_acc_0") "]") "],"
		"\"submodules\": {"
		"\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " REC10("e0", "i0%i1%i2", "o0%o1", "o1@i1@user%o1@i2@kv_cache_update") "}},"
		"\"parameters\": {}, \"buffers\": {\"c\": " W14(Z14) ", \"d\": " W14(Z14) "}}";
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = export_json(json, false, NULL, &err);
	REQUIRE(p);
	REQUIRE(p->n_outputs == 2);
	CHECK_STR(p->outputs[0].target, "d");
	pt2c__program_free(p);
}

/* An aliased input that is no input binding is refused (upstream raises); the module is left as it was. */
static void test_bad_alias(void)
{
	static const char json[] = "{\"graph\": ["
		PH("x", M_F32_14) "," GA("c", "c", M_F32_14) ","
		CM("_run_on_acc_0", "[" N("x") ", " N("c") "]", "[" M_F32_14 "]") ","
		OUT("[" N("_run_on_acc_0") "]") "],"
		"\"submodules\": {"
		"\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": " REC10("e0", "i0%i1", "o0%o1", "o1@i9@kv_cache_update") "}},"
		"\"parameters\": {}, \"buffers\": {\"c\": " W14(Z14) "}}";
	pt2c_module *m = load(json);
	REQUIRE(m);
	uint32_t live = m->graph->n_live, nodes = m->graph->n_nodes;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__pass_inline_engines(m, false, &err), PT2C_ECORRUPT);
	CHECK(strstr(err.message, "aliased output 'o1' references input 'i9'") != NULL);
	CHECK_EQ_INT(m->graph->n_live, live);
	CHECK_EQ_INT(m->graph->n_nodes, nodes);
	CHECK_EQ_INT(m->n_mutation_outputs, 0);
	CHECK_EQ_INT(m->n_attrs, 1);
	/* cross-compile does not look at aliased I/O */
	CHECK_EQ_INT(pt2c__pass_inline_engines(m, true, &err), 0);
	pt2c__module_free(m);
}

/* lint: mutations must come first (torch's verifier) and name a buffer input */
static void test_lint(void)
{
	pt2c_program *p = export_kv(false);
	REQUIRE(p);
	pt2c_output_spec tmp = p->outputs[0];
	p->outputs[0] = p->outputs[2];
	p->outputs[2] = tmp;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH); /* graph outputs no longer match either */
	p->outputs[2] = p->outputs[0];
	p->outputs[0] = tmp;
	CHECK_EQ_INT(pt2c__program_lint(p, NULL), 0);
	p->outputs[1].target = "nope";
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	CHECK(strstr(err.message, "'nope', which is no buffer input") != NULL);
	p->outputs[1].target = "v_cache";
	p->outputs[2].kind = PT2C_OUT_BUFFER_MUTATION; /* a mutation after the user outputs' start */
	p->outputs[2].target = "k_cache";
	p->outputs[1].kind = PT2C_OUT_USER_OUTPUT;
	CHECK_EQ_INT(pt2c__program_lint(p, &err), PT2C_EGRAPH);
	CHECK(strstr(err.message, "must be the 2 mutations") != NULL);
	pt2c__program_free(p);
}

PT2C_TEST_MAIN({
	RUN(test_kv_export);
	RUN(test_kv_cross);
	RUN(test_two_engines);
	RUN(test_last_record_wins);
	RUN(test_bad_alias);
	RUN(test_lint);
	tu_release();
})
