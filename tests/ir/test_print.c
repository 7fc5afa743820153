/* test_print.c -- the fx listing and the ExportedProgram listing against PyTorch's own text. */
#include <stdlib.h>

#include "harness.h"
#include "ir/ir.h"
#include "serde/serde.h"

static pt2c_arg ref_arg(int kind, uint32_t v)
{
	pt2c_arg a;
	memset(&a, 0, sizeof a);
	a.kind = (uint8_t)kind;
	a.u.ref = v;
	return a;
}

static pt2c_arg int_arg(int64_t i)
{
	pt2c_arg a;
	memset(&a, 0, sizeof a);
	a.kind = PT2C_ARG_INT;
	a.u.i = i;
	return a;
}

/* Print a module or program into a NUL-terminated malloc'd string. */
static char *print_module(pt2c_module *m)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	if (pt2c__module_print(&b, m) != 0) {
		pt2c__buf_free(&b);
		return NULL;
	}
	pt2c__buf_cstr(&b);
	return b.data;
}

static char *print_program(pt2c_program *p)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	if (pt2c__program_print(&b, p) != 0) {
		pt2c__buf_free(&b);
		return NULL;
	}
	pt2c__buf_cstr(&b);
	return b.data;
}

/* Report the first differing line of two texts. */
static void check_text(const char *what, const char *got, const char *want, size_t want_len)
{
	if (got && strlen(got) == want_len && memcmp(got, want, want_len) == 0)
		return;
	if (!got) {
		pt2c_test_fail(__FILE__, __LINE__, "%s: no output", what);
		return;
	}
	size_t i = 0, line = 1, ls = 0;
	while (i < want_len && got[i] && got[i] == want[i]) {
		if (want[i] == '\n') {
			line++;
			ls = i + 1;
		}
		i++;
	}
	const char *ge = strchr(got + ls, '\n');
	const char *we = memchr(want + ls, '\n', want_len - ls);
	int gl = ge ? (int)(ge - got - ls) : (int)strlen(got + ls);
	int wl = we ? (int)(we - want - ls) : (int)(want_len - ls);
	pt2c_test_fail(__FILE__, __LINE__, "%s differs at line %zu:\n  got:  %.*s\n  want: %.*s", what, line, gl, got + ls, wl,
	               want + ls);
}

/* The fixture's partitioned.txt against pt2c__module_print of its partitioned.json. */
static void compare_partitioned(const char *name)
{
	char rel[256];
	size_t jlen, tlen;
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.partitioned.json", name);
	uint8_t *json = read_file(shared_path(rel), &jlen);
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.partitioned.txt", name);
	uint8_t *txt = read_file(shared_path(rel), &tlen);
	REQUIRE(json && txt);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, (const char *)json, jlen, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", name, err.message);
	if (m) {
		char *got = print_module(m);
		/* fallback submodules follow the top graph after a blank line */
		if (got && strlen(got) > tlen && memcmp(got + tlen, "\n\n# submodule ", 14) == 0)
			got[tlen] = '\0';
		check_text(name, got, (const char *)txt, tlen);
		free(got);
		pt2c__module_free(m);
	}
	free(json);
	free(txt);
}

static void test_partitioned_fixtures(void)
{
	compare_partitioned("hybrid_gated_fallback");
	compare_partitioned("full_engine_two_outputs");
	compare_partitioned("full_engine_folded");
	compare_partitioned("no_engine");
}

static void test_partitioned_submodule_listing(void)
{
	size_t jlen;
	uint8_t *json = read_file(shared_path("fixtures/torch-2.11/hybrid_gated_fallback.partitioned.json"), &jlen);
	REQUIRE(json);
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__partitioned_json_read(&m, (const char *)json, jlen, NULL, &err) == 0) {
		char *got = print_module(m);
		REQUIRE(got);
		const char *sub = strstr(got, "\n\n# submodule _run_on_gpu_0 (fallback)\ngraph():\n");
		CHECK_MSG(sub != NULL, "no submodule section in:\n%s", got);
		CHECK(sub && strstr(sub, "    %mul_tensor : [num_users=1] = call_function[target=torch.ops.aten.mul.Tensor]"
		                         "(args = (%conv2d, %gate_1), kwargs = {})\n") != NULL);
		CHECK(sub && strstr(sub, "    %gate_1 : [num_users=1] = get_attr[target=gate]\n") != NULL);
		CHECK(sub && strstr(sub, "\n    return sigmoid_default") != NULL);
		free(got);
		pt2c__module_free(m);
	}
	free(json);
}

/* An fx graph built by hand: kwargs, lists, tuples, strings, getitem, a repeated user. */
static void test_fx_by_hand(void)
{
	pt2c_ctx *ctx;
	pt2c_module *m;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__module_new(ctx, &m) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_graph *g = m->graph;
	uint32_t x_n, x, w_n, w, e_n, e, gi_n, gi, o_n;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "x", true, "x", PT2C_NONE, &x_n) == 0);
	REQUIRE(pt2c__node_define_value(g, x_n, PT2C_VAL_TENSOR, &x) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_GET_ATTR, "lin_weight", true, "lin.weight", PT2C_NONE, &w_n) == 0);
	REQUIRE(pt2c__node_define_value(g, w_n, PT2C_VAL_TENSOR, &w) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_MODULE, "_run_on_acc_0", true, "_run_on_acc_0", PT2C_NONE, &e_n) == 0);
	pt2c_named_arg in[4];
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_FX_NODE, x);
	in[1].arg = ref_arg(PT2C_ARG_FX_NODE, w);
	in[2].arg = ref_arg(PT2C_ARG_FX_NODE, x); /* x twice: one user */
	REQUIRE(pt2c__node_set_inputs(g, e_n, in, 3) == 0);
	REQUIRE(pt2c__node_define_value(g, e_n, PT2C_VAL_TENSOR_LIST, &e) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "getitem", false, "_operator.getitem", PT2C_NONE, &gi_n) == 0);
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_FX_NODE, e);
	in[1].arg = int_arg(0);
	REQUIRE(pt2c__node_set_inputs(g, gi_n, in, 2) == 0);
	REQUIRE(pt2c__node_define_value(g, gi_n, PT2C_VAL_TENSOR, &gi) == 0);
	uint32_t c_n, c;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "sum_1", true, "torch.ops.aten.sum.dim_IntList", PT2C_NONE, &c_n) == 0);
	pt2c_arg dims[2] = { int_arg(1), int_arg(-1) };
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_FX_NODE, gi);
	in[1].arg.kind = PT2C_ARG_FX_LIST;
	in[1].arg.n = 2;
	in[1].arg.u.items = dims;
	in[2].name = pt2c__ctx_interns(ctx, "keepdim");
	in[2].kind = PT2C_ARGKIND_KEYWORD;
	in[2].arg.kind = PT2C_ARG_BOOL;
	in[2].arg.u.b = true;
	in[3].name = pt2c__ctx_interns(ctx, "dtype");
	in[3].kind = PT2C_ARGKIND_KEYWORD;
	in[3].arg.kind = PT2C_ARG_SCALAR_TYPE;
	in[3].arg.u.i = PT2C_DTYPE_FLOAT16;
	REQUIRE(pt2c__node_set_inputs(g, c_n, in, 4) == 0);
	REQUIRE(pt2c__node_define_value(g, c_n, PT2C_VAL_TENSOR, &c) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", true, "output", PT2C_NONE, &o_n) == 0);
	pt2c_arg outs[2] = { ref_arg(PT2C_ARG_FX_NODE, c), ref_arg(PT2C_ARG_FX_NODE, gi) };
	memset(in, 0, sizeof in);
	in[0].arg.kind = PT2C_ARG_FX_TUPLE;
	in[0].arg.n = 2;
	in[0].arg.u.items = outs;
	REQUIRE(pt2c__node_set_inputs(g, o_n, in, 1) == 0);
	char *got = print_module(m);
	const char *want =
		"graph():\n"
		"    %x : [num_users=1] = placeholder[target=x]\n"
		"    %lin_weight : [num_users=1] = get_attr[target=lin.weight]\n"
		"    %_run_on_acc_0 : [num_users=1] = call_module[target=_run_on_acc_0](args = (%x, %lin_weight, %x), kwargs = {})\n"
		"    %getitem : [num_users=2] = call_function[target=operator.getitem](args = (%_run_on_acc_0, 0), kwargs = {})\n"
		"    %sum_1 : [num_users=1] = call_function[target=torch.ops.aten.sum.dim_IntList](args = (%getitem, [1, -1]), kwargs = {keepdim: True, dtype: torch.float16})\n"
		"    return (sum_1, getitem)";
	check_text("fx by hand", got, want, strlen(want));
	free(got);
	pt2c__module_free(m);
}

/* The fixture's .txt against pt2c__program_print of its .pt2. */
static void compare_program(const char *name)
{
	char rel[256];
	size_t plen, tlen;
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", name);
	uint8_t *pt2 = read_file(shared_path(rel), &plen);
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.txt", name);
	uint8_t *txt = read_file(shared_path(rel), &tlen);
	REQUIRE(pt2 && txt);
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__pt2_read(&p, pt2, plen, NULL, NULL, NULL, &err);
	CHECK_MSG(rc == 0, "%s: %s", name, err.message);
	if (p) {
		char *got = print_program(p);
		check_text(name, got, (const char *)txt, tlen);
		free(got);
		pt2c__program_free(p);
	}
	free(pt2);
	free(txt);
}

static void test_program_fixtures(void)
{
	compare_program("mlp_bn");
	compare_program("conv_block");
	compare_program("dyn_batch");
	compare_program("arange_const");
	compare_program("dtypes");
	compare_program("attn");
}

/* A program built by hand: sym-int arithmetic inline, a device with an index, a memory format,
 * an unused result freed right away, signature kinds, open ranges; then compaction keeps the
 * signature pointing at the right values. */
static void test_program_by_hand(void)
{
	pt2c_ctx *ctx;
	pt2c_program *p;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__program_new(ctx, &p) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_graph *g = p->mod->graph;
	pt2c_sym sizes[2] = { { PT2C_SYM_EXPR, PT2C_HINT_INT, 4, 0.0, "Symbol('s0', positive=True, integer=True)" },
	                      pt2c__sym_int(3) };
	uint32_t b_n, x_n, b, x;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "b_mask", true, "b_mask", PT2C_NONE, &b_n) == 0);
	REQUIRE(pt2c__graph_add_value(g, "b_mask", true, PT2C_VAL_TENSOR, &b) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "x", true, "x", PT2C_NONE, &x_n) == 0);
	REQUIRE(pt2c__graph_add_value(g, "x", true, PT2C_VAL_TENSOR, &x) == 0);
	pt2c_value *bv = &g->values[b], *xv = &g->values[x];
	bv->has_meta = xv->has_meta = true;
	static pt2c_tensor_meta bm, xm; /* values point at their metadata */
	bm.dtype = PT2C_DTYPE_BOOL;
	bm.ndim = 1;
	bm.sizes = &sizes[1];
	xm.dtype = PT2C_DTYPE_FLOAT16;
	xm.ndim = 2;
	xm.sizes = sizes;
	bv->u.tensor = &bm;
	xv->u.tensor = &xm;
	pt2c_arg o = ref_arg(PT2C_ARG_TENSOR, b);
	REQUIRE(pt2c__node_set_outputs(g, b_n, &o, 1) == 0);
	o = ref_arg(PT2C_ARG_TENSOR, x);
	REQUIRE(pt2c__node_set_outputs(g, x_n, &o, 1) == 0);

	/* sym_size_int = aten.sym_size.int(x, 0); mul = sym_size_int * 2 */
	uint32_t s_n, sv, m_n, mv, e_n, ev, d_n, dv, out_n;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "sym_size_int", true, "torch.ops.aten.sym_size.int", PT2C_NONE, &s_n) == 0);
	pt2c_named_arg in[4];
	memset(in, 0, sizeof in);
	in[0].name = pt2c__ctx_interns(ctx, "self");
	in[0].kind = PT2C_ARGKIND_POSITIONAL;
	in[0].arg = ref_arg(PT2C_ARG_TENSOR, x);
	in[1].name = pt2c__ctx_interns(ctx, "dim");
	in[1].kind = PT2C_ARGKIND_POSITIONAL;
	in[1].arg = int_arg(0);
	REQUIRE(pt2c__node_set_inputs(g, s_n, in, 2) == 0);
	REQUIRE(pt2c__graph_add_value(g, "sym_size_int", true, PT2C_VAL_SYM_INT, &sv) == 0);
	g->values[sv].has_meta = true;
	g->values[sv].u.sym = sizes[0];
	o = ref_arg(PT2C_ARG_SYM_INT, sv);
	REQUIRE(pt2c__node_set_outputs(g, s_n, &o, 1) == 0);

	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "mul", true, "_operator.mul", PT2C_NONE, &m_n) == 0);
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_SYM_INT, sv);
	in[1].arg = int_arg(2);
	REQUIRE(pt2c__node_set_inputs(g, m_n, in, 2) == 0);
	REQUIRE(pt2c__graph_add_value(g, "mul", true, PT2C_VAL_SYM_INT, &mv) == 0);
	g->values[mv].has_meta = true;
	g->values[mv].u.sym.kind = PT2C_SYM_EXPR;
	g->values[mv].u.sym.expr = "Mul(Integer(2), Symbol('s0', positive=True, integer=True))";
	o = ref_arg(PT2C_ARG_SYM_INT, mv);
	REQUIRE(pt2c__node_set_outputs(g, m_n, &o, 1) == 0);

	/* empty = aten.empty.memory_format([mul], device=cuda:1, memory_format=contiguous): unused */
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "empty", true, "torch.ops.aten.empty.memory_format", PT2C_NONE, &e_n) == 0);
	pt2c_arg sz[1] = { ref_arg(PT2C_ARG_SYM_INT, mv) };
	memset(in, 0, sizeof in);
	in[0].name = pt2c__ctx_interns(ctx, "size");
	in[0].kind = PT2C_ARGKIND_POSITIONAL;
	in[0].arg.kind = PT2C_ARG_SYM_INTS;
	in[0].arg.n = 1;
	in[0].arg.u.items = sz;
	in[1].name = pt2c__ctx_interns(ctx, "device");
	in[1].kind = PT2C_ARGKIND_KEYWORD;
	in[1].arg.kind = PT2C_ARG_DEVICE;
	in[1].arg.u.dev.type = pt2c__ctx_interns(ctx, "cuda");
	in[1].arg.u.dev.index = 1;
	in[2].name = pt2c__ctx_interns(ctx, "memory_format");
	in[2].kind = PT2C_ARGKIND_KEYWORD;
	in[2].arg.kind = PT2C_ARG_MEMORY_FORMAT;
	in[2].arg.u.i = PT2C_MEMFMT_CONTIGUOUS;
	REQUIRE(pt2c__node_set_inputs(g, e_n, in, 3) == 0);
	REQUIRE(pt2c__graph_add_value(g, "empty", true, PT2C_VAL_TENSOR, &ev) == 0);
	o = ref_arg(PT2C_ARG_TENSOR, ev);
	REQUIRE(pt2c__node_set_outputs(g, e_n, &o, 1) == 0);

	/* a dead node to be dropped by compaction */
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "dead", true, "torch.ops.aten.clone.default", PT2C_NONE, &d_n) == 0);
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_TENSOR, x);
	REQUIRE(pt2c__node_set_inputs(g, d_n, in, 1) == 0);
	REQUIRE(pt2c__graph_add_value(g, "dead", true, PT2C_VAL_TENSOR, &dv) == 0);
	o = ref_arg(PT2C_ARG_TENSOR, dv);
	REQUIRE(pt2c__node_set_outputs(g, d_n, &o, 1) == 0);

	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", true, "output", PT2C_NONE, &out_n) == 0);
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_TENSOR, x);
	REQUIRE(pt2c__node_set_inputs(g, out_n, in, 1) == 0);

	pt2c_input_spec ins[2];
	memset(ins, 0, sizeof ins);
	ins[0].kind = PT2C_IN_BUFFER;
	ins[0].persistent = false;
	ins[0].arg = ref_arg(PT2C_ARG_TENSOR, b);
	ins[0].target = "mask";
	ins[1].kind = PT2C_IN_USER_INPUT;
	ins[1].arg = ref_arg(PT2C_ARG_TENSOR, x);
	pt2c_output_spec outs[1];
	memset(outs, 0, sizeof outs);
	outs[0].kind = PT2C_OUT_USER_OUTPUT;
	outs[0].arg = ref_arg(PT2C_ARG_TENSOR, x);
	pt2c_symrange ranges[2] = { { "s0", true, false, 2, 0 }, { "u1", false, true, 0, 8 } };
	p->inputs = ins;
	p->n_inputs = 2;
	p->outputs = outs;
	p->n_outputs = 1;
	p->ranges = ranges;
	p->n_ranges = 2;

	pt2c__graph_erase_node(g, d_n);
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__program_compact(p, &err) == 0);
	CHECK_STR(g->values[p->inputs[1].arg.u.ref].name, "x");
	CHECK_STR(g->values[p->outputs[0].arg.u.ref].name, "x");
	CHECK_STR(g->values[p->inputs[0].arg.u.ref].name, "b_mask");

	char *got = print_program(p);
	const char *want =
		"ExportedProgram:\n"
		"    class GraphModule(torch.nn.Module):\n"
		"        def forward(self, b_mask: \"b8[3]\", x: \"f16[s0, 3]\"):\n"
		"            # No stacktrace found for following nodes\n"
		"            sym_size_int: \"Sym(s0)\" = torch.ops.aten.sym_size.int(x, 0)\n"
		"            mul: \"Sym(2*s0)\" = sym_size_int * 2;  sym_size_int = None\n"
		"            empty = torch.ops.aten.empty.memory_format([mul], device = device(type='cuda', index=1), "
		"memory_format = torch.contiguous_format);  mul = empty = None\n"
		"            return (x,)\n"
		"    \n"
		"Graph signature: \n"
		"    # inputs\n"
		"    b_mask: BUFFER target='mask' persistent=False\n"
		"    x: USER_INPUT\n"
		"    \n"
		"    # outputs\n"
		"    x: USER_OUTPUT\n"
		"    \n"
		"Range constraints: {s0: VR[2, int_oo], u1: VR[-int_oo, 8]}\n";
	check_text("program by hand", got, want, strlen(want));
	free(got);
	/* the program does not own the stack arrays given above */
	p->inputs = NULL;
	p->outputs = NULL;
	p->ranges = NULL;
	p->n_inputs = p->n_outputs = p->n_ranges = 0;
	pt2c__program_free(p);
}

/* A one-op subgraph x -> target(x) -> return (y,) for the HOP test. */
static pt2c_graph *branch(pt2c_ctx *ctx, const char *op_name, const char *target, pt2c_sym *size)
{
	pt2c_graph *g;
	if (pt2c__graph_new_sub(ctx, &g)) /* the program owns it */
		return NULL;
	uint32_t x_n, x, n, v, o_n;
	if (pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "x", true, "x", PT2C_NONE, &x_n) ||
	    pt2c__graph_add_value(g, "x", true, PT2C_VAL_TENSOR, &x) ||
	    pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, op_name, true, target, PT2C_NONE, &n) ||
	    pt2c__graph_add_value(g, op_name, true, PT2C_VAL_TENSOR, &v) ||
	    pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", true, "output", PT2C_NONE, &o_n))
		return NULL;
	pt2c_tensor_meta *m = pt2c__arena_zalloc(&g->ctx->arena, sizeof *m);
	if (!m)
		return NULL;
	m->dtype = PT2C_DTYPE_FLOAT32;
	m->ndim = 1;
	m->sizes = size;
	for (uint32_t i = 0; i < 2; i++) {
		pt2c_value *val = &g->values[i ? v : x];
		val->has_meta = true;
		val->u.tensor = m;
	}
	pt2c_arg o = ref_arg(PT2C_ARG_TENSOR, x);
	pt2c_named_arg in;
	memset(&in, 0, sizeof in);
	in.arg = ref_arg(PT2C_ARG_TENSOR, x);
	if (pt2c__node_set_outputs(g, x_n, &o, 1) || pt2c__node_set_inputs(g, n, &in, 1))
		return NULL;
	o = ref_arg(PT2C_ARG_TENSOR, v);
	in.arg = ref_arg(PT2C_ARG_TENSOR, v);
	if (pt2c__node_set_outputs(g, n, &o, 1) || pt2c__node_set_inputs(g, o_n, &in, 1))
		return NULL;
	return g;
}

/* torch.cond: get_attr lines for the branches, getitem for the tuple result, nested classes. */
static void test_program_hop(void)
{
	pt2c_ctx *ctx;
	pt2c_program *p;
	REQUIRE(pt2c__ctx_new(&ctx, NULL) == 0);
	REQUIRE(pt2c__program_new(ctx, &p) == 0);
	pt2c__ctx_unref(ctx);
	pt2c_sym size = pt2c__sym_int(3);
	pt2c_graph *tg = branch(ctx, "cos", "torch.ops.aten.cos.default", &size);
	pt2c_graph *fg = branch(ctx, "sin", "torch.ops.aten.sin.default", &size);
	REQUIRE(tg && fg);
	pt2c_graph *g = p->mod->graph;
	uint32_t x_n, x, c_n, gi, o_n;
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_PLACEHOLDER, "x", true, "x", PT2C_NONE, &x_n) == 0);
	REQUIRE(pt2c__graph_add_value(g, "x", true, PT2C_VAL_TENSOR, &x) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_CALL_FUNCTION, "cond", true, "torch.ops.higher_order.cond", PT2C_NONE, &c_n) == 0);
	REQUIRE(pt2c__graph_add_value(g, "getitem", true, PT2C_VAL_TENSOR, &gi) == 0);
	REQUIRE(pt2c__graph_add_node(g, PT2C_OP_OUTPUT, "output", true, "output", PT2C_NONE, &o_n) == 0);
	g->values[x].has_meta = g->values[gi].has_meta = true;
	static pt2c_tensor_meta m1;
	m1.dtype = PT2C_DTYPE_FLOAT32;
	m1.ndim = 1;
	m1.sizes = &size;
	g->values[x].u.tensor = g->values[gi].u.tensor = &m1;
	pt2c_arg o = ref_arg(PT2C_ARG_TENSOR, x);
	REQUIRE(pt2c__node_set_outputs(g, x_n, &o, 1) == 0);
	pt2c_arg operands[1] = { ref_arg(PT2C_ARG_TENSOR, x) };
	pt2c_named_arg in[4];
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_TENSOR, x);
	in[1].arg.kind = PT2C_ARG_GRAPH;
	in[1].arg.u.g.name = "true_graph_0";
	in[1].arg.u.g.graph = tg;
	in[2].arg.kind = PT2C_ARG_GRAPH;
	in[2].arg.u.g.name = "false_graph_0";
	in[2].arg.u.g.graph = fg;
	in[3].arg.kind = PT2C_ARG_TENSORS;
	in[3].arg.n = 1;
	in[3].arg.u.items = operands;
	REQUIRE(pt2c__node_set_inputs(g, c_n, in, 4) == 0);
	o = ref_arg(PT2C_ARG_TENSOR, gi);
	REQUIRE(pt2c__node_set_outputs(g, c_n, &o, 1) == 0);
	g->nodes[c_n].hop_single_tensor_return = 0;
	memset(in, 0, sizeof in);
	in[0].arg = ref_arg(PT2C_ARG_TENSOR, gi);
	REQUIRE(pt2c__node_set_inputs(g, o_n, in, 1) == 0);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__graph_lint(g, NULL, NULL, &err), 0);

	char *got = print_program(p);
	const char *want =
		"ExportedProgram:\n"
		"    class GraphModule(torch.nn.Module):\n"
		"        def forward(self, x: \"f32[3]\"):\n"
		"            # No stacktrace found for following nodes\n"
		"            true_graph_0 = self.true_graph_0\n"
		"            false_graph_0 = self.false_graph_0\n"
		"            cond = torch.ops.higher_order.cond(x, true_graph_0, false_graph_0, [x]);  "
		"x = true_graph_0 = false_graph_0 = None\n"
		"            getitem: \"f32[3]\" = cond[0];  cond = None\n"
		"            return (getitem,)\n"
		"    \n"
		"        class true_graph_0(torch.nn.Module):\n"
		"            def forward(self, x: \"f32[3]\"):\n"
		"                # No stacktrace found for following nodes\n"
		"                cos: \"f32[3]\" = torch.ops.aten.cos.default(x);  x = None\n"
		"                return (cos,)\n"
		"    \n"
		"        class false_graph_0(torch.nn.Module):\n"
		"            def forward(self, x: \"f32[3]\"):\n"
		"                # No stacktrace found for following nodes\n"
		"                sin: \"f32[3]\" = torch.ops.aten.sin.default(x);  x = None\n"
		"                return (sin,)\n"
		"    \n"
		"Graph signature: \n"
		"    # inputs\n"
		"    \n"
		"    # outputs\n"
		"    \n"
		"Range constraints: {}\n";
	check_text("cond", got, want, strlen(want));
	free(got);
	pt2c__program_free(p); /* owns the branch subgraphs */
}

PT2C_TEST_MAIN({
	RUN(test_fx_by_hand);
	RUN(test_partitioned_fixtures);
	RUN(test_partitioned_submodule_listing);
	RUN(test_program_fixtures);
	RUN(test_program_by_hand);
	RUN(test_program_hop);
})
