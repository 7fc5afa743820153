/*
 * test_partitioned.c -- reading partitioned-module JSON: every fixture (node names, targets,
 * argument trees, value metadata, engine records, attribute bytes, symbols; the expected values
 * come from the fixture files themselves, read with Python while writing the test) and
 * hand-made malformed documents, each with its expected code, JSON pointer and message.
 */
#include "harness.h"
#include "serde/serde.h"

#include <math.h>
#include <stdlib.h>

static pt2c_module *load_fixture(const char *rel)
{
	size_t n;
	uint8_t *d = read_file(shared_path(rel), &n);
	if (!d) return NULL;
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, (const char *)d, n, NULL, &err);
	if (rc) fprintf(stderr, "%s: %s: %s (at %llu)\n", rel, err.member, err.message, (unsigned long long)err.offset);
	/* the module must not depend on the input bytes */
	memset(d, 'X', n);
	free(d);
	return m;
}

/* Node id by name (linear; tests only). */
static uint32_t find_node(pt2c_graph *g, const char *name)
{
	PT2C_GRAPH_FOREACH(g, id)
		if (strcmp(g->nodes[id].name, name) == 0) return id;
	return PT2C_NONE;
}

static bool meta_is(const pt2c_tensor_meta *m, int dtype, uint32_t ndim, const int64_t *sizes, const int64_t *strides)
{
	if (m->dtype != dtype || m->ndim != ndim || m->layout != PT2C_LAYOUT_STRIDED) return false;
	if (m->storage_offset.kind != PT2C_SYM_INT || m->storage_offset.i != 0) return false;
	if (!m->device.type || strcmp(m->device.type, "cpu") != 0 || m->device.index != -1) return false;
	for (uint32_t k = 0; k < ndim; k++) {
		if (m->sizes[k].kind != PT2C_SYM_INT || m->sizes[k].i != sizes[k]) return false;
		if (m->strides[k].kind != PT2C_SYM_INT || m->strides[k].i != strides[k]) return false;
	}
	return true;
}

/* Value id an FX_NODE argument refers to, by name. */
static const char *ref_name(pt2c_graph *g, const pt2c_arg *a)
{
	if (a->kind != PT2C_ARG_FX_NODE || a->u.ref >= g->n_values) return "(not a node ref)";
	return g->values[a->u.ref].name;
}

static void test_hybrid_gated_fallback(void)
{
	pt2c_module *m = load_fixture("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json");
	REQUIRE(m);
	pt2c_graph *g = m->graph;
	CHECK_EQ_INT(g->n_live, 5);
	static const char *names[] = { "x", "_run_on_acc_0", "_run_on_gpu_0", "_run_on_acc_1", "output" };
	static const int ops[] = { PT2C_OP_PLACEHOLDER, PT2C_OP_CALL_MODULE, PT2C_OP_CALL_MODULE, PT2C_OP_CALL_MODULE, PT2C_OP_OUTPUT };
	uint32_t k = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		REQUIRE(k < 5);
		CHECK_STR(g->nodes[id].name, names[k]);
		CHECK_STR(g->nodes[id].target, names[k]);
		CHECK_EQ_INT(g->nodes[id].op, ops[k]);
		k++;
	}
	CHECK_EQ_INT(g->n_values, 4); /* the output node defines none */

	uint32_t x = find_node(g, "x");
	uint32_t xv = pt2c__node_value(g, x);
	REQUIRE(xv != PT2C_NONE);
	CHECK_STR(g->values[xv].name, "x");
	CHECK_EQ_INT(g->values[xv].kind, PT2C_VAL_TENSOR);
	CHECK(g->values[xv].has_meta);
	CHECK(meta_is(g->values[xv].u.tensor, PT2C_DTYPE_FLOAT32, 4, (const int64_t[]){ 2, 3, 8, 8 },
	              (const int64_t[]){ 192, 64, 8, 1 }));
	CHECK_EQ_INT(g->nodes[x].n_inputs, 0);

	uint32_t acc0 = find_node(g, "_run_on_acc_0");
	pt2c_node *n = &g->nodes[acc0];
	REQUIRE(n->n_inputs == 1);
	CHECK(n->inputs[0].name == NULL);
	CHECK_EQ_INT(n->inputs[0].kind, PT2C_ARGKIND_POSITIONAL);
	CHECK_STR(ref_name(g, &n->inputs[0].arg), "x");
	CHECK_EQ_INT(n->inputs[0].arg.u.ref, xv);
	pt2c_value *v = &g->values[pt2c__node_value(g, acc0)];
	CHECK_EQ_INT(v->kind, PT2C_VAL_TENSOR_LIST);
	REQUIRE(v->u.list.n == 1);
	CHECK(meta_is(&v->u.list.items[0], PT2C_DTYPE_FLOAT32, 4, (const int64_t[]){ 2, 8, 8, 8 },
	              (const int64_t[]){ 512, 64, 8, 1 }));
	CHECK_EQ_INT(g->values[pt2c__node_value(g, find_node(g, "_run_on_gpu_0"))].kind, PT2C_VAL_TENSOR);

	/* output: args[0] is the list [_run_on_acc_1] */
	pt2c_node *o = &g->nodes[pt2c__graph_output_node(g)];
	CHECK_STR(o->name, "output");
	CHECK_EQ_INT(o->n_outputs, 0);
	REQUIRE(o->n_inputs == 1);
	CHECK_EQ_INT(o->inputs[0].arg.kind, PT2C_ARG_FX_LIST);
	REQUIRE(o->inputs[0].arg.n == 1);
	CHECK_STR(ref_name(g, &o->inputs[0].arg.u.items[0]), "_run_on_acc_1");

	/* engines */
	REQUIRE(m->n_subs == 3);
	pt2c_submodule *s = pt2c__module_find_sub(m, "_run_on_acc_0");
	REQUIRE(s && s->kind == PT2C_SUB_ENGINE && s->engine);
	CHECK_EQ_INT(s->engine->abi, 6);
	CHECK_EQ_INT(s->engine->n_fields, 9);
	CHECK(!s->engine->engine_b64);
	REQUIRE(s->engine->engine);
	CHECK_EQ_INT(s->engine->engine->nbytes, 5627);
	CHECK(memcmp(s->engine->engine->data, "PK\3\4", 4) == 0);
	CHECK(s->engine->fields[PT2C_EF_NAME].n == 20 && memcmp(s->engine->fields[PT2C_EF_NAME].p, "_run_on_acc_0_engine", 20) == 0);
	CHECK(s->engine->fields[PT2C_EF_PLATFORM].n == 12 && memcmp(s->engine->fields[PT2C_EF_PLATFORM].p, "linux_x86_64", 12) == 0);
	CHECK_STR(s->engine->fields[PT2C_EF_DEVICE].p, "0%9%0%1%NVIDIA H100 80GB HBM3");
	s = pt2c__module_find_sub(m, "_run_on_acc_1");
	REQUIRE(s && s->engine && s->engine->engine);
	CHECK_EQ_INT(s->engine->engine->nbytes, 4607);

	/* the fallback: its own graph, parameter and buffer, same ctx */
	s = pt2c__module_find_sub(m, "_run_on_gpu_0");
	REQUIRE(s && s->kind == PT2C_SUB_FALLBACK && s->fallback);
	pt2c_module *fb = s->fallback;
	CHECK(fb->ctx == m->ctx);
	CHECK_EQ_INT(fb->graph->n_live, 7);
	uint32_t gate1 = find_node(fb->graph, "gate_1");
	REQUIRE(gate1 != PT2C_NONE);
	CHECK_EQ_INT(fb->graph->nodes[gate1].op, PT2C_OP_GET_ATTR);
	CHECK_STR(fb->graph->nodes[gate1].target, "gate");
	uint32_t mul = find_node(fb->graph, "mul_tensor");
	REQUIRE(mul != PT2C_NONE && fb->graph->nodes[mul].n_inputs == 2);
	CHECK_STR(fb->graph->nodes[mul].target, "torch.ops.aten.mul.Tensor");
	CHECK_STR(ref_name(fb->graph, &fb->graph->nodes[mul].inputs[0].arg), "conv2d");
	CHECK_STR(ref_name(fb->graph, &fb->graph->nodes[mul].inputs[1].arg), "gate_1");
	pt2c_node *fo = &fb->graph->nodes[pt2c__graph_output_node(fb->graph)];
	REQUIRE(fo->n_inputs == 1);
	CHECK_STR(ref_name(fb->graph, &fo->inputs[0].arg), "sigmoid_default");
	pt2c_attr *gate = pt2c__module_find_attr(fb, "gate");
	REQUIRE(gate && gate->kind == PT2C_ATTR_PARAMETER && gate->tensor.storage);
	CHECK_EQ_INT(gate->tensor.storage->nbytes, 32);
	CHECK(meta_is(&gate->tensor.meta, PT2C_DTYPE_FLOAT32, 3, (const int64_t[]){ 8, 1, 1 }, (const int64_t[]){ 1, 1, 1 }));
	pt2c_attr *shift = pt2c__module_find_attr(fb, "shift");
	REQUIRE(shift && shift->kind == PT2C_ATTR_BUFFER && shift->tensor.storage);
	CHECK(shift->persistent);
	float f[8];
	memcpy(f, shift->tensor.storage->data, 32);
	for (int i = 0; i < 8; i++) CHECK(f[i] == 0.25f);

	/* top-level attributes and specs */
	CHECK_EQ_INT(m->n_attrs, 2);
	gate = pt2c__module_find_attr(m, "gate");
	REQUIRE(gate && gate->tensor.storage);
	memcpy(f, gate->tensor.storage->data, 4);
	CHECK(f[0] == 0.6098136901855469f);
	CHECK(!gate->tensor.meta.requires_grad);
	REQUIRE(m->in_spec && m->out_spec);
	CHECK(strncmp(m->in_spec, "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", ", 50) == 0);
	CHECK_STR(m->out_spec, "[1, {\"type\": null, \"context\": null, \"children_spec\": []}]");
	CHECK_EQ_INT(m->n_symbols, 0);
	pt2c__module_free(m);
}

static void test_all_fixtures_load(void)
{
	static const struct { const char *rel; uint32_t nodes, subs, attrs, abi; } cases[] = {
		{ "fixtures/torch-2.11/full_engine_folded.partitioned.json", 5, 1, 0, 6 },
		{ "fixtures/torch-2.11/full_engine_two_outputs.partitioned.json", 9, 1, 4, 6 },
		{ "fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json", 5, 3, 2, 6 },
		{ "fixtures/torch-2.11/no_engine.partitioned.json", 3, 1, 0, 0 },
		{ "fixtures/partitioned/example_hybrid.partitioned.json", 5, 3, 1, 8 },
		{ "fixtures/partitioned/example_hybrid_dynamic.partitioned.json", 5, 3, 1, 8 },
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(cases); k++) {
		pt2c_module *m = load_fixture(cases[k].rel);
		CHECK_MSG(m != NULL, "%s failed to load", cases[k].rel);
		if (!m) continue;
		CHECK_EQ_INT(m->graph->n_live, cases[k].nodes);
		CHECK_EQ_INT(m->n_subs, cases[k].subs);
		CHECK_EQ_INT(m->n_attrs, cases[k].attrs);
		CHECK(pt2c__graph_lint(m->graph, NULL, NULL, NULL) == 0);
		for (uint32_t i = 0; i < m->n_subs; i++) {
			pt2c_submodule *s = &m->subs[i];
			if (s->kind == PT2C_SUB_ENGINE) {
				CHECK_EQ_INT(s->engine->abi, cases[k].abi);
				CHECK_EQ_INT(s->engine->n_fields, cases[k].abi + 3);
				CHECK(s->engine->engine && s->engine->engine->nbytes > 4000);
			} else {
				CHECK(pt2c__graph_lint(s->fallback->graph, NULL, NULL, NULL) == 0);
			}
		}
		pt2c__module_free(m);
	}
}

static void test_two_outputs_getitem_and_params(void)
{
	pt2c_module *m = load_fixture("fixtures/torch-2.11/full_engine_two_outputs.partitioned.json");
	REQUIRE(m);
	pt2c_graph *g = m->graph;
	uint32_t aw = find_node(g, "a_weight");
	REQUIRE(aw != PT2C_NONE);
	CHECK_STR(g->nodes[aw].target, "a.weight");
	uint32_t acc = find_node(g, "_run_on_acc_0");
	REQUIRE(g->nodes[acc].n_inputs == 5);
	CHECK_STR(ref_name(g, &g->nodes[acc].inputs[4].arg), "b_bias");
	pt2c_value *lv = &g->values[pt2c__node_value(g, acc)];
	REQUIRE(lv->kind == PT2C_VAL_TENSOR_LIST && lv->u.list.n == 2);
	CHECK(meta_is(&lv->u.list.items[1], PT2C_DTYPE_FLOAT32, 2, (const int64_t[]){ 4, 10 }, (const int64_t[]){ 10, 1 }));
	uint32_t gi = find_node(g, "getitem_1");
	REQUIRE(gi != PT2C_NONE && g->nodes[gi].n_inputs == 2);
	CHECK_STR(g->nodes[gi].target, "_operator.getitem");
	CHECK_STR(ref_name(g, &g->nodes[gi].inputs[0].arg), "_run_on_acc_0");
	CHECK_EQ_INT(g->nodes[gi].inputs[1].arg.kind, PT2C_ARG_INT);
	CHECK_EQ_INT(g->nodes[gi].inputs[1].arg.u.i, 1);
	/* attributes in document order, bytes decoded */
	static const char *fqns[] = { "a.weight", "a.bias", "b.weight", "b.bias" };
	static const uint64_t bytes[] = { 400, 40, 120, 12 };
	static const float first[] = { -0.29854777455329895f, -0.2842216491699219f, 0.30324018001556396f, 0.31288036704063416f };
	REQUIRE(m->n_attrs == 4);
	for (int i = 0; i < 4; i++) {
		CHECK_STR(m->attrs[i].fqn, fqns[i]);
		CHECK_EQ_INT(m->attrs[i].kind, PT2C_ATTR_PARAMETER);
		REQUIRE(m->attrs[i].tensor.storage);
		CHECK_EQ_INT(m->attrs[i].tensor.storage->nbytes, bytes[i]);
		float f;
		memcpy(&f, m->attrs[i].tensor.storage->data, 4);
		CHECK(f == first[i]);
	}
	pt2c_engine_record *e = m->subs[0].engine;
	CHECK_STR(e->fields[PT2C_EF_IN_BINDINGS].p, "input_0%input_1%input_2%input_3%input_4");
	CHECK_STR(e->fields[PT2C_EF_OUT_BINDINGS].p, "output_0%output_1");
	pt2c__module_free(m);
}

static void test_no_engine_scalar_arg(void)
{
	pt2c_module *m = load_fixture("fixtures/torch-2.11/no_engine.partitioned.json");
	REQUIRE(m);
	pt2c_module *fb = pt2c__module_find_sub(m, "_run_on_gpu_0")->fallback;
	REQUIRE(fb);
	uint32_t mul = find_node(fb->graph, "mul_tensor");
	REQUIRE(mul != PT2C_NONE && fb->graph->nodes[mul].n_inputs == 2);
	CHECK_EQ_INT(fb->graph->nodes[mul].inputs[1].arg.kind, PT2C_ARG_INT);
	CHECK_EQ_INT(fb->graph->nodes[mul].inputs[1].arg.u.i, 2);
	CHECK(pt2c__module_find_attr(fb, "a.weight") != NULL);
	CHECK(pt2c__module_find_attr(fb, "a.bias") != NULL);
	CHECK_EQ_INT(find_node(fb->graph, "a_weight_1") != PT2C_NONE, 1);
	pt2c__module_free(m);
}

static void test_dynamic_symbols(void)
{
	pt2c_module *m = load_fixture("fixtures/partitioned/example_hybrid_dynamic.partitioned.json");
	REQUIRE(m);
	REQUIRE(m->n_symbols == 1);
	CHECK_STR(m->symbols[0].name, "s77");
	CHECK(m->symbols[0].has_min && m->symbols[0].min == 1);
	CHECK(m->symbols[0].has_max && m->symbols[0].max == 32);
	pt2c_graph *g = m->graph;
	pt2c_value *xv = &g->values[pt2c__node_value(g, find_node(g, "x"))];
	REQUIRE(xv->kind == PT2C_VAL_TENSOR && xv->u.tensor->ndim == 4);
	CHECK_EQ_INT(xv->u.tensor->sizes[0].kind, PT2C_SYM_EXPR);
	CHECK_STR(xv->u.tensor->sizes[0].expr, "s77");
	CHECK_EQ_INT(xv->u.tensor->sizes[1].kind, PT2C_SYM_INT);
	CHECK_EQ_INT(xv->u.tensor->sizes[1].i, 3);
	/* output: a list of two refs, one from the fallback segment */
	pt2c_node *o = &g->nodes[pt2c__graph_output_node(g)];
	REQUIRE(o->n_inputs == 1 && o->inputs[0].arg.kind == PT2C_ARG_FX_LIST && o->inputs[0].arg.n == 2);
	CHECK_STR(ref_name(g, &o->inputs[0].arg.u.items[0]), "_run_on_acc_1");
	CHECK_STR(ref_name(g, &o->inputs[0].arg.u.items[1]), "_run_on_gpu_0");
	CHECK_EQ_INT(m->subs[0].engine->n_fields, 11);
	pt2c__module_free(m);
}

/* Parse a hand-made document; returns the code and fills err. */
static int read_doc(const char *doc, pt2c_module **m, pt2c_error *err)
{
	*err = (pt2c_error)PT2C_ERROR_INIT;
	return pt2c__partitioned_json_read(m, doc, strlen(doc), NULL, err);
}

#define PH_X "{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"args\": [], \"kwargs\": {}, " \
	"\"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"device\": \"cpu\"}}"
#define OUT_X "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[{\"node\": \"x\"}]], \"kwargs\": {}}"
#define ENGINE6(nf_extra) "\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": [\"6\", \"e\", " \
	"\"0%9%0%1%NVIDIA H100\", \"UEsDBA==\", \"input_0\", \"output_0\", \"0\", \"\", \"linux_x86_64\"" nf_extra "]}}"

static void test_tagged_args_kwargs_and_vals(void)
{
	const char *doc =
		"{\"graph\": [" PH_X ", "
		"{\"op\": \"call_function\", \"name\": \"to\", \"target\": \"torch.ops.aten._to_copy.default\", "
		"\"args\": [{\"node\": \"x\"}], \"kwargs\": {\"dtype\": {\"as_scalar_type\": 6}, \"device\": {\"as_device\": "
		"{\"type\": \"cuda\", \"index\": 0}}, \"layout\": {\"as_layout\": 7}, \"fill\": {\"as_float\": \"-Infinity\"}, "
		"\"nan\": NaN, \"dims\": {\"as_ints\": [1, -2]}, \"s\": \"a\\u00e9\", \"b\": true, \"none\": null, \"f\": 0.5}, "
		"\"val\": {\"dtype\": \"torch.float16\", \"sizes\": [\"s0\", 2], \"strides\": [2, 1], \"device\": \"cuda:1\", \"requires_grad\": true}}, "
		"{\"op\": \"call_function\", \"name\": \"sz\", \"target\": \"torch.ops.aten.sym_size.int\", \"args\": [{\"node\": \"to\"}, 0], \"kwargs\": {}, \"val\": \"s0\"}, "
		"{\"op\": \"call_function\", \"name\": \"k\", \"target\": \"f\", \"args\": [], \"kwargs\": {}, \"val\": 7}, "
		"{\"op\": \"call_function\", \"name\": \"t\", \"target\": \"f\", \"args\": [[[{\"node\": \"sz\"}], []]], \"kwargs\": {}}, "
		OUT_X "], \"in_spec\": null, \"symbols\": {\"s0\": [2, null]}, \"op_schemas\": {\"f\": \"f(Tensor x) -> Tensor\"}, \"extra\": [1]}";
	pt2c_module *m;
	pt2c_error err;
	int rc = read_doc(doc, &m, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	REQUIRE(rc == 0);
	pt2c_graph *g = m->graph;
	pt2c_node *to = &g->nodes[find_node(g, "to")];
	REQUIRE(to->n_inputs == 11);
	CHECK(to->inputs[0].name == NULL && to->inputs[0].kind == PT2C_ARGKIND_POSITIONAL);
	CHECK_STR(to->inputs[1].name, "dtype");
	CHECK_EQ_INT(to->inputs[1].kind, PT2C_ARGKIND_KEYWORD);
	CHECK_EQ_INT(to->inputs[1].arg.kind, PT2C_ARG_SCALAR_TYPE);
	CHECK_EQ_INT(to->inputs[1].arg.u.i, 6);
	CHECK_EQ_INT(to->inputs[2].arg.kind, PT2C_ARG_DEVICE);
	CHECK_STR(to->inputs[2].arg.u.dev.type, "cuda");
	CHECK_EQ_INT(to->inputs[2].arg.u.dev.index, 0);
	CHECK_EQ_INT(to->inputs[3].arg.kind, PT2C_ARG_LAYOUT);
	CHECK(to->inputs[4].arg.kind == PT2C_ARG_FLOAT && isinf(to->inputs[4].arg.u.f) && to->inputs[4].arg.u.f < 0);
	CHECK(to->inputs[5].arg.kind == PT2C_ARG_FLOAT && isnan(to->inputs[5].arg.u.f));
	CHECK(to->inputs[6].arg.kind == PT2C_ARG_INTS && to->inputs[6].arg.n == 2 && to->inputs[6].arg.u.items[1].u.i == -2);
	CHECK(to->inputs[7].arg.kind == PT2C_ARG_STRING && to->inputs[7].arg.n == 3 && memcmp(to->inputs[7].arg.u.s, "a\xc3\xa9", 3) == 0);
	CHECK(to->inputs[8].arg.kind == PT2C_ARG_BOOL && to->inputs[8].arg.u.b);
	CHECK_EQ_INT(to->inputs[9].arg.kind, PT2C_ARG_NONE);
	CHECK(to->inputs[10].arg.kind == PT2C_ARG_FLOAT && to->inputs[10].arg.u.f == 0.5);
	pt2c_value *tv = &g->values[pt2c__node_value(g, find_node(g, "to"))];
	REQUIRE(tv->kind == PT2C_VAL_TENSOR);
	CHECK_EQ_INT(tv->u.tensor->dtype, PT2C_DTYPE_FLOAT16);
	CHECK_STR(tv->u.tensor->device.type, "cuda");
	CHECK_EQ_INT(tv->u.tensor->device.index, 1);
	CHECK(tv->u.tensor->requires_grad);
	CHECK_STR(tv->u.tensor->sizes[0].expr, "s0");
	pt2c_value *sv = &g->values[pt2c__node_value(g, find_node(g, "sz"))];
	CHECK(sv->kind == PT2C_VAL_SYM_INT && sv->u.sym.kind == PT2C_SYM_EXPR && strcmp(sv->u.sym.expr, "s0") == 0);
	pt2c_value *kv = &g->values[pt2c__node_value(g, find_node(g, "k"))];
	CHECK(kv->kind == PT2C_VAL_SYM_INT && kv->u.sym.kind == PT2C_SYM_INT && kv->u.sym.i == 7);
	pt2c_value *tval = &g->values[pt2c__node_value(g, find_node(g, "t"))];
	CHECK(tval->kind == PT2C_VAL_OTHER && !tval->has_meta);
	pt2c_arg *nested = &g->nodes[find_node(g, "t")].inputs[0].arg;
	REQUIRE(nested->kind == PT2C_ARG_FX_LIST && nested->n == 2);
	CHECK(nested->u.items[0].kind == PT2C_ARG_FX_LIST && nested->u.items[0].n == 1);
	CHECK_STR(ref_name(g, &nested->u.items[0].u.items[0]), "sz");
	CHECK(nested->u.items[1].kind == PT2C_ARG_FX_LIST && nested->u.items[1].n == 0);
	CHECK(m->in_spec == NULL && m->out_spec == NULL);
	REQUIRE(m->n_symbols == 1);
	CHECK(m->symbols[0].has_min && m->symbols[0].min == 2 && !m->symbols[0].has_max);
	uint64_t schema;
	REQUIRE(pt2c__map_gets(&m->op_schemas, "f", &schema));
	CHECK_STR((const char *)(uintptr_t)schema, "f(Tensor x) -> Tensor");
	pt2c__module_free(m);
}

static void test_malformed(void)
{
	static const struct { const char *doc; int code; const char *member; const char *msg; } bad[] = {
		{ "[]", PT2C_ECORRUPT, "/", "expected a partitioned module object, got an array at line 1 column 1" },
		{ "{\"graph\": [" PH_X ", ", PT2C_ECORRUPT, "", "line 1 column" },
		{ "{}", PT2C_ECORRUPT, "/graph", "missing required key \"graph\" at line 1 column 1" },
		{ "{\"graph\": [" PH_X "]}", PT2C_EGRAPH, "/graph", "no output node" },
		/* dangling and forward references */
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"node\": \"y\"}]}, " OUT_X "]}",
		  PT2C_EGRAPH, "/graph/1/args/0/node", "node a refers to undefined node y" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [], \"kwargs\": {\"k\": [1, {\"node\": \"b\"}]}}, "
		  "{\"op\": \"call_function\", \"name\": \"b\", \"target\": \"f\", \"args\": []}, " OUT_X "]}",
		  PT2C_EGRAPH, "/graph/1/kwargs/k/1/node", "node a refers to undefined node b" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"node\": \"a\"}]}, " OUT_X "]}",
		  PT2C_EGRAPH, "/graph/1/args/0/node", "refers to undefined node a" },
		{ "{\"graph\": [" PH_X ", " PH_X ", " OUT_X "]}", PT2C_EGRAPH, "/graph/1/name", "duplicate node name x" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"val\": {\"dtype\": \"float33\", \"sizes\": [], \"strides\": []}}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/0/val/dtype", "unknown dtype \"float33\"" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"val\": {\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [1]}}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/0/val/strides", "strides has 1 entries but sizes has 2" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"val\": {\"dtype\": \"float32\", \"sizes\": [-2], \"strides\": [1]}}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/0/val/sizes/0", "negative size" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"device\": \"cuda:x\"}}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/0/val/device", "bad device index" },
		{ "{\"graph\": [{\"op\": \"call_method\", \"name\": \"x\", \"target\": \"x\"}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/0/op", "unknown op \"call_method\"" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": \"x\"}, " OUT_X "]}", PT2C_ECORRUPT, "/graph/0/target", "missing required key \"target\"" },
		{ "{\"graph\": [{\"op\": \"placeholder\", \"name\": 3, \"target\": \"x\"}, " OUT_X "]}", PT2C_ECORRUPT, "/graph/0/name", "expected a string, got an integer" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [1, 2]}]}",
		  PT2C_ECORRUPT, "/graph/1/args", "output node has 2 arguments" },
		{ "{\"graph\": [" PH_X ", " OUT_X ", {\"op\": \"placeholder\", \"name\": \"z\", \"target\": \"z\"}]}",
		  PT2C_EGRAPH, "/graph/2", "after the output node" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"as_graph\": 1}]}, " OUT_X "]}",
		  PT2C_EUNSUPPORTED, "/graph/1/args/0", "as_graph is not supported" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"nodes\": \"x\"}]}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/1/args/0", "unknown argument object key \"nodes\"" },
		{ "{\"graph\": [" PH_X ", {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"as_scalar_type\": 14}]}, " OUT_X "]}",
		  PT2C_ECORRUPT, "/graph/1/args/0/as_scalar_type", "out of range" },
		/* attributes */
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"data_b64\": \"AAAA!AAA\"}}}",
		  PT2C_ECORRUPT, "/parameters/w/data_b64", "not valid base64 (bad character at index 4)" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"data_b64\": \"AAAAAA\"}}}",
		  PT2C_ECORRUPT, "/parameters/w/data_b64", "not a multiple of 4" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"buffers\": {\"a.b\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"data_b64\": \"AAAAAA==\"}}}",
		  PT2C_ECORRUPT, "/buffers/a.b/data_b64", "buffer a.b has 4 bytes of data, its metadata needs 8" },
		/* issue 11 #9: a storage_offset on data_b64 is a view that must fit (it was ignored) */
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"uint8\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"AA==\", \"storage_offset\": 1000000}}}",
		  PT2C_ECORRUPT, "/parameters/w/storage_offset", "parameter w needs 1000001 bytes (storage_offset 1000000) but its data_b64 has 1" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"uint8\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"AA==\", \"storage_offset\": -1}}}",
		  PT2C_ECORRUPT, "/parameters/w/storage_offset", "negative storage_offset -1" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"uint8\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"AA==\", \"storage_offset\": 18446744073709551615}}}",
		  PT2C_ECORRUPT, "", "outside the 64-bit range" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"int64\", \"sizes\": [1], \"strides\": [1]}}}",
		  PT2C_ECORRUPT, "/parameters/w", "parameter w has 0 bytes of data, its metadata needs 8" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"w\": {\"dtype\": \"uint8\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"AA==\"}, "
		  "\"w\": {\"dtype\": \"uint8\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"AA==\"}}}",
		  PT2C_ECORRUPT, "/parameters/w", "duplicate key \"w\" at JSON pointer /parameters/w" },
		/* engine records */
		{ "{" ENGINE6(", \"0\"") ", \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/_run_on_acc_0/engine_record", "submodule _run_on_acc_0: engine record of ABI 6 has 10 fields, expected 9" },
		{ "{\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": [\"6\", \"e\", \"0%9%0%1%NVIDIA H100\", \"UEsDBA==\"]}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/_run_on_acc_0/engine_record", "has 4 fields" },
		{ "{\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": [\"6\", \"e\", \"0%9%0%1%NVIDIA H100\", \"UEsD?A==\", \"input_0\", "
		  "\"output_0\", \"0\", \"\", \"linux_x86_64\"]}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/_run_on_acc_0/engine_record/3", "engine bytes (field serialized_engine) is not valid base64" },
		{ "{\"submodules\": {\"_run_on_acc_0\": {\"kind\": \"engine\", \"engine_record\": [\"6\", \"e\", \"0%9%0%1%NVIDIA H100\", \"UEsDBA==\", \"input_0\", "
		  "\"output_0\", \"0\", \"\", \"beos\"]}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/_run_on_acc_0/engine_record", "submodule _run_on_acc_0: engine record field serialized_target_platform has unknown platform" },
		{ "{\"submodules\": {\"s\": {\"kind\": \"tvm\"}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/s/kind", "unknown kind \"tvm\"" },
		{ "{\"submodules\": {\"s\": {\"kind\": \"graph\", \"graph\": [" PH_X ", " PH_X "]}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_EGRAPH, "/submodules/s/graph/1/name", "duplicate node name x" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"symbols\": {\"s0\": [5, 2]}}", PT2C_ECORRUPT, "/symbols/s0", "min 5 > max 2" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"in_spec\": 5}", PT2C_ECORRUPT, "/in_spec", "expected a string, got an integer" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"op_schemas\": {\"a/b~c\": 1}}", PT2C_ECORRUPT, "/op_schemas/a~1b~0c", "expected a schema string, got an integer" },
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(bad); k++) {
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err;
		int rc = read_doc(bad[k].doc, &m, &err);
		CHECK_MSG(rc == bad[k].code, "case %zu: rc %d, expected %d (%s: %s)", k, rc, bad[k].code, err.member, err.message);
		CHECK(m == NULL);
		CHECK_MSG(strcmp(err.member, bad[k].member) == 0, "case %zu: member \"%s\", expected \"%s\"", k, err.member, bad[k].member);
		CHECK_MSG(strstr(err.message, bad[k].msg) != NULL, "case %zu: message \"%s\" lacks \"%s\"", k, err.message, bad[k].msg);
		CHECK_MSG(err.offset != UINT64_MAX && err.offset <= strlen(bad[k].doc), "case %zu: offset %llu", k, (unsigned long long)err.offset);
	}
}

static void test_error_offset_points_at_value(void)
{
	const char *doc = "{\"graph\": [" PH_X ",\n {\"op\": \"call_function\", \"name\": \"a\", \"target\": \"f\", \"args\": [{\"node\": \"nope\"}]}, " OUT_X "]}";
	pt2c_module *m;
	pt2c_error err;
	CHECK_EQ_INT(read_doc(doc, &m, &err), PT2C_EGRAPH);
	const char *at = strstr(doc, "\"nope\"");
	CHECK_EQ_INT(err.offset, (uint64_t)(at - doc));
	CHECK_MSG(strstr(err.message, "line 2 column") != NULL, "%s", err.message);
}

static void test_truncated_prefixes_fail_cleanly(void)
{
	size_t n;
	uint8_t *d = read_file(shared_path("fixtures/torch-2.11/no_engine.partitioned.json"), &n);
	REQUIRE(d);
	/* every 7th prefix (all of them would be slow under sanitizers); a heap copy so ASan sees overreads */
	for (size_t k = 0; k < n; k += 7) {
		char *cut = malloc(k ? k : 1);
		REQUIRE(cut);
		memcpy(cut, d, k);
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_json_read(&m, cut, k, NULL, &err);
		CHECK_MSG(rc == PT2C_ECORRUPT, "prefix %zu: rc %d", k, rc);
		CHECK(m == NULL);
		free(cut);
	}
	free(d);
}


/* Fail the N-th allocation for every N until the read succeeds: always ENOMEM, never a leak (ASan). */
static void test_out_of_memory_at_every_allocation(void)
{
	size_t n;
	uint8_t *d = read_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"), &n);
	REQUIRE(d);
	test_alloc fa; /* the harness's failing allocator */
	test_alloc_init(&fa);
	fa.fail_all = true; /* every allocation after the first failure fails too */
	const pt2c_allocator a = fa.a;
	long limit;
	for (limit = 0; limit < 100000; limit++) {
		test_alloc_arm(&fa, limit);
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__partitioned_json_read(&m, (const char *)d, n, &a, &err);
		if (rc == 0) {
			REQUIRE(m != NULL);
			CHECK_EQ_INT(m->graph->n_live, 5);
			test_alloc_disarm(&fa); /* freeing must not need memory */
			pt2c__module_free(m);
			break;
		}
		CHECK_MSG(rc == PT2C_ENOMEM, "allocation %ld: rc %d (%s)", limit, rc, err.message);
		CHECK(m == NULL);
	}
	CHECK(limit > 10 && limit < 100000);
	CHECK_EQ_INT(fa.live, 0);
	free(d);
}

/* A long chain: references resolve through the name map (linear), the chain lints. */
static void test_large_chain(void)
{
	const long N = 50000;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "{\"graph\": [" PH_X);
	for (long i = 1; i < N; i++) {
		char prev[32];
		if (i == 1) snprintf(prev, sizeof prev, "x");
		else snprintf(prev, sizeof prev, "n%ld", i - 1);
		pt2c__buf_printf(&b, ", {\"op\": \"call_function\", \"name\": \"n%ld\", \"target\": \"torch.ops.aten.add.Tensor\", "
		                 "\"args\": [{\"node\": \"%s\"}, {\"node\": \"x\"}], \"kwargs\": {\"alpha\": 2}}", i, prev);
	}
	pt2c__buf_printf(&b, ", {\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [{\"node\": \"n%ld\"}]}]}", N - 1);
	REQUIRE(b.err == 0);
	pt2c__buf_cstr(&b);
	pt2c_module *m;
	pt2c_error err;
	int rc = read_doc(b.data, &m, &err);
	CHECK_MSG(rc == 0, "%s: %s", err.member, err.message);
	if (rc == 0) {
		CHECK_EQ_INT(m->graph->n_live, N + 1);
		CHECK(pt2c__graph_lint(m->graph, NULL, NULL, NULL) == 0);
		uint32_t last = find_node(m->graph, "n49999");
		REQUIRE(last != PT2C_NONE);
		CHECK_STR(ref_name(m->graph, &m->graph->nodes[last].inputs[0].arg), "n49998");
		CHECK_STR(m->graph->nodes[last].inputs[2].name, "alpha");
		pt2c__module_free(m);
	}
	pt2c__buf_free(&b);
}

/*
 * Large fallback graphs are read on worker threads (serde/partitioned_json_par.c) when there are
 * two CPUs or more. The module must be the one reading them in order gives (printed the same,
 * names the ctx's own strings), and an error must be the one reading in order reports (the
 * first in document order), wherever the errors are.
 */
#define FB_NODES 4200 /* over pt2c__thread_tuning's default min_items (4096) */

/* A module of n_fb fallbacks of FB_NODES nodes: node names half shared between fallbacks, half
 * their own; bad_graph[k] / bad_attr[k]: fallback k's graph / parameters hold an error. */
static char *fallbacks_doc(int n_fb, const bool *bad_graph, const bool *bad_attr, bool suffixed)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__buf_puts(&b, "{\"submodules\": {");
	for (int k = 0; k < n_fb; k++) {
		pt2c__buf_printf(&b, "%s\"_run_on_gpu_%d\": {\"kind\": \"graph\", \"graph\": [" PH_X, k ? ", " : "", k);
		for (long i = 1; i < FB_NODES; i++) {
			char prev[48], name[48];
			if (i == 1) snprintf(prev, sizeof prev, "x");
			else if ((i - 1) % 2) snprintf(prev, sizeof prev, "f%d_n%ld", k, i - 1);
			else snprintf(prev, sizeof prev, "n%ld", i - 1);
			if (i % 2) snprintf(name, sizeof name, "f%d_n%ld", k, i);
			else snprintf(name, sizeof name, "n%ld", i);
			if (suffixed) { /* "u<k>_<i>_1": two new strings a node (the name and its base, "u<k>_<i>") */
				snprintf(name, sizeof name, "u%d_%ld_1", k, i);
				if (i > 1) snprintf(prev, sizeof prev, "u%d_%ld_1", k, i - 1);
			}
			if (bad_graph[k] && i == FB_NODES / 2) snprintf(prev, sizeof prev, "nowhere");
			pt2c__buf_printf(&b, ", {\"op\": \"call_function\", \"name\": \"%s\", \"target\": \"torch.ops.aten.add.Tensor\", "
			                 "\"args\": [{\"node\": \"%s\"}, {\"node\": \"x\"}], \"kwargs\": {\"alpha\": %d}, "
			                 "\"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"device\": \"cuda:%d\"}}",
			                 name, prev, k, k % 2);
		}
		char last[48];
		if (suffixed) snprintf(last, sizeof last, "u%d_%d_1", k, FB_NODES - 1);
		else if ((FB_NODES - 1) % 2) snprintf(last, sizeof last, "f%d_n%d", k, FB_NODES - 1);
		else snprintf(last, sizeof last, "n%d", FB_NODES - 1);
		pt2c__buf_printf(&b, ", {\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [{\"node\": \"%s\"}]}], "
		                 "\"parameters\": {\"w%d\": {\"dtype\": \"float32\", \"sizes\": [1], \"strides\": [1], \"data_b64\": \"%s\"}}}",
		                 last, k, bad_attr[k] ? "AA!A" : "AAAAAA==");
	}
	pt2c__buf_puts(&b, "}, \"graph\": [" PH_X ", " OUT_X "]}");
	pt2c__buf_cstr(&b);
	if (b.err) {
		pt2c__buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

/* Read doc with or without workers: rc, the printed module or the error. */
static int read_fb(const char *doc, bool workers, char **printed, pt2c_error *err)
{
	uint32_t min_items = pt2c__thread_tuning.min_items;
	if (!workers) pt2c__thread_tuning.min_items = UINT32_MAX;
	pt2c_module *m = NULL;
	*printed = NULL;
	int rc = read_doc(doc, &m, err);
	pt2c__thread_tuning.min_items = min_items;
	if (rc) return rc;
	pt2c_buf pb;
	pt2c__buf_init(&pb, NULL);
	CHECK(pt2c__module_print(&pb, m) == 0);
	pt2c__buf_cstr(&pb);
	CHECK(pb.err == 0);
	*printed = (char *)pb.data;
	/* every name is the ctx's own string: interning it again gives the very pointer */
	for (uint32_t i = 0; i < m->n_subs; i++) {
		pt2c_graph *g = m->subs[i].fallback ? m->subs[i].fallback->graph : NULL;
		bool same = g != NULL;
		PT2C_GRAPH_FOREACH(g, id)
			if (g->nodes[id].name != pt2c__ctx_interns(m->ctx, g->nodes[id].name) ||
			    g->nodes[id].target != pt2c__ctx_interns(m->ctx, g->nodes[id].target)) same = false;
		CHECK_MSG(same, "fallback %s: names are not the ctx's strings", m->subs[i].name);
		if (g) CHECK(g->ctx == m->ctx);
	}
	pt2c__module_free(m);
	return rc;
}

static void test_fallbacks_on_workers(void)
{
	enum { N = 4 };
	if (pt2c__cpu_count() < 2) {
		fprintf(stderr, "test_fallbacks_on_workers: one CPU, no workers to test\n");
		return;
	}
	bool none[N] = { false };
	char *seq = NULL, *par = NULL;
	pt2c_error e1, e2;
	/* plain names, and names whose base is a string of its own (the shared pool grows meanwhile) */
	for (int suffixed = 0; suffixed < 2; suffixed++) {
		char *doc = fallbacks_doc(N, none, none, suffixed);
		REQUIRE(doc);
		uint64_t g0, r0, g1, r1;
		CHECK_MSG(read_fb(doc, false, &seq, &e1) == 0, "%s: %s", e1.member, e1.message);
		pt2c__partitioned_par_counts(&g0, &r0);
		CHECK_EQ_INT(read_fb(doc, true, &par, &e2), 0);
		pt2c__partitioned_par_counts(&g1, &r1);
		CHECK_MSG(g1 - g0 == N && r1 == r0, "%d: %llu graphs on workers (expected %d), read again %llu times",
		          suffixed, (unsigned long long)(g1 - g0), N, (unsigned long long)(r1 - r0));
		CHECK(seq && par && strlen(seq) > (size_t)N * FB_NODES * 40);
		CHECK_MSG(seq && par && strcmp(seq, par) == 0, "%d: the module read on workers prints differently", suffixed);
		free(seq);
		free(par);
		free(doc);
	}
	/* errors: in one graph, in several, in a graph after an attribute error, in attributes only */
	static const struct { bool g[N], a[N]; } cases[] = {
		{ { false, false, true, false }, { false } },
		{ { false, true, false, true }, { false } },
		{ { false, false, false, true }, { false, true, false, false } },
		{ { false, false, true, false }, { false, false, false, true } },
		{ { false }, { false, false, true, false } },
		{ { true, true, true, true }, { true, true, true, true } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char *doc = fallbacks_doc(N, cases[c].g, cases[c].a, false);
		REQUIRE(doc);
		uint64_t g0, a0, g1, a1;
		int r1 = read_fb(doc, false, &seq, &e1);
		pt2c__partitioned_par_counts(&g0, &a0);
		int r2 = read_fb(doc, true, &par, &e2);
		pt2c__partitioned_par_counts(&g1, &a1);
		CHECK_MSG(r1 != 0 && r1 == r2, "case %zu: rc %d in order, %d on workers", c, r1, r2);
		CHECK_MSG(a1 - a0 == 1, "case %zu: read again %llu times", c, (unsigned long long)(a1 - a0));
		CHECK_STR(e2.message, e1.message);
		CHECK_STR(e2.member, e1.member);
		CHECK_MSG(e1.offset == e2.offset, "case %zu: offset %llu in order, %llu on workers", c,
		          (unsigned long long)e1.offset, (unsigned long long)e2.offset);
		free(seq);
		free(par);
		free(doc);
	}
}

PT2C_TEST_MAIN({
	RUN(test_hybrid_gated_fallback);
	RUN(test_all_fixtures_load);
	RUN(test_two_outputs_getitem_and_params);
	RUN(test_no_engine_scalar_arg);
	RUN(test_dynamic_symbols);
	RUN(test_tagged_args_kwargs_and_vals);
	RUN(test_malformed);
	RUN(test_error_offset_points_at_value);
	RUN(test_truncated_prefixes_fail_cleanly);
	RUN(test_out_of_memory_at_every_allocation);
	RUN(test_large_chain);
	RUN(test_fallbacks_on_workers);
})
