/*
 * test_partitioned_lazy.c -- the reader parses "graph" arrays one node at a time (each node in
 * a scratch DOM reset per node): strings decoded from escapes must survive the reset, and values
 * that are "graph" arrays elsewhere in the document (a symbol, an attribute, a submodule named
 * "graph") must read or fail as before.
 */
#include "harness.h"
#include "serde/serde.h"

static int read_doc(const char *doc, pt2c_module **m, pt2c_error *err)
{
	*err = (pt2c_error)PT2C_ERROR_INIT;
	return pt2c__partitioned_json_read(m, doc, strlen(doc), NULL, err);
}

#define PH_X "{\"op\": \"placeholder\", \"name\": \"x\", \"target\": \"x\", \"args\": [], \"kwargs\": {}, " \
	"\"val\": {\"dtype\": \"float32\", \"sizes\": [2], \"strides\": [1], \"device\": \"cpu\"}}"
#define OUT_X "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [[{\"node\": \"x\"}]], \"kwargs\": {}}"

/* Node k's first input, found by node name. */
static const pt2c_named_arg *first_input(const pt2c_graph *g, const char *name)
{
	for (uint32_t k = 0; k < g->n_nodes; k++)
		if (g->nodes[k].name && strcmp(g->nodes[k].name, name) == 0 && g->nodes[k].n_inputs) return &g->nodes[k].inputs[0];
	return NULL;
}

static void test_escaped_strings_outlive_node_dom(void)
{
	/* escaped strings are decoded into the per-node DOM; each later node reuses that memory */
	const char *doc =
		"{\"graph\": [" PH_X ", "
		"{\"op\": \"call_function\", \"name\": \"a\\u0031\", \"target\": \"f\\u00e9\", \"args\": [\"s\\u00e91\"], "
		"\"kwargs\": {\"k\\u00e9y\": \"v\\n1\"}, \"val\": {\"dtype\": \"float32\", \"sizes\": [\"s\\u0030\"], \"strides\": [1], \"device\": \"cu\\u0064a:1\"}}, "
		"{\"op\": \"call_function\", \"name\": \"a2\", \"target\": \"g\\u00e8\", \"args\": [\"zzzzzzzzzzzz\\u00e8\"], "
		"\"kwargs\": {\"other\\u00e8\": \"wwwwwwww\\t\"}}, "
		OUT_X "], \"symbols\": {\"graph\": [2, 9], \"s0\": [1, null]}}";
	pt2c_module *m;
	pt2c_error err;
	int rc = read_doc(doc, &m, &err);
	REQUIRE(rc == 0);
	pt2c_graph *g = m->graph;
	const pt2c_named_arg *a = first_input(g, "a1");
	REQUIRE(a);
	REQUIRE(a->arg.kind == PT2C_ARG_STRING);
	CHECK_STR(a->arg.u.s, "s\xc3\xa9" "1");
	const pt2c_named_arg *kw = a + 1;
	CHECK_STR(kw->name, "k\xc3\xa9y");
	CHECK_STR(kw->arg.u.s, "v\n1");
	uint32_t id = pt2c__graph_find_value(g, "a1", 2);
	REQUIRE(id != PT2C_NONE);
	const pt2c_value *v = &g->values[id];
	REQUIRE(v->kind == PT2C_VAL_TENSOR);
	CHECK_STR(v->u.tensor->sizes[0].expr, "s0");
	CHECK_STR(v->u.tensor->device.type, "cuda");
	CHECK_EQ_INT(v->u.tensor->device.index, 1);
	for (uint32_t k = 0; k < g->n_nodes; k++)
		if (strcmp(g->nodes[k].name, "a1") == 0) CHECK_STR(g->nodes[k].target, "f\xc3\xa9");
	const pt2c_named_arg *b = first_input(g, "a2");
	REQUIRE(b);
	CHECK_STR(b->arg.u.s, "zzzzzzzzzzzz\xc3\xa8");
	CHECK_STR(b[1].name, "other\xc3\xa8");
	CHECK_STR(b[1].arg.u.s, "wwwwwwww\t");
	/* a symbol named "graph": its [min, max] is lazy in the DOM but reads as before */
	REQUIRE(m->n_symbols == 2);
	CHECK_STR(m->symbols[0].name, "graph");
	CHECK(m->symbols[0].has_min && m->symbols[0].min == 2 && m->symbols[0].has_max && m->symbols[0].max == 9);
	CHECK(m->symbols[1].has_min && !m->symbols[1].has_max);
	pt2c__module_free(m);
}

static void test_graph_named_values_elsewhere(void)
{
	static const struct { const char *doc; int code; const char *member; const char *msg; } bad[] = {
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"symbols\": {\"graph\": [5, 2]}}", PT2C_ECORRUPT, "/symbols/graph", "min 5 > max 2" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"symbols\": {\"graph\": [1, 2, 3]}}", PT2C_ECORRUPT, "/symbols/graph", "expected [min, max], got an array of 3" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"symbols\": {\"graph\": [1, \"x\"]}}", PT2C_ECORRUPT, "/symbols/graph/1", "expected an integer or null, got a string" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"parameters\": {\"graph\": [1]}}", PT2C_ECORRUPT, "/parameters/graph", "expected a tensor metadata object, got an array" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"submodules\": {\"graph\": []}}", PT2C_ECORRUPT, "/submodules/graph", "expected a submodule object, got an array" },
		{ "{\"graph\": [" PH_X ", " OUT_X "], \"op_schemas\": {\"graph\": [\"s\"]}}", PT2C_ECORRUPT, "/op_schemas/graph", "expected a schema string, got an array" },
		{ "{\"graph\": []}", PT2C_EGRAPH, "/graph", "graph has no output node" },
		{ "{\"graph\": {}}", PT2C_ECORRUPT, "/graph", "expected an array, got an object at line 1 column 11" },
		{ "{\"submodules\": {\"s\": {\"kind\": \"graph\", \"graph\": [" PH_X ", 7]}}, \"graph\": [" PH_X ", " OUT_X "]}",
		  PT2C_ECORRUPT, "/submodules/s/graph/1", "expected a node object, got an integer" },
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(bad); k++) {
		pt2c_module *m = (pt2c_module *)1;
		pt2c_error err;
		int rc = read_doc(bad[k].doc, &m, &err);
		CHECK_MSG(rc == bad[k].code, "case %zu: rc %d, expected %d (%s: %s)", k, rc, bad[k].code, err.member, err.message);
		CHECK(m == NULL);
		CHECK_MSG(strcmp(err.member, bad[k].member) == 0, "case %zu: member \"%s\", expected \"%s\"", k, err.member, bad[k].member);
		CHECK_MSG(strstr(err.message, bad[k].msg) != NULL, "case %zu: message \"%s\" lacks \"%s\"", k, err.message, bad[k].msg);
	}
	/* the offset of an empty graph's error is its '[' */
	const char *doc = "{\"graph\": [ ]}";
	pt2c_module *m;
	pt2c_error err;
	CHECK_EQ_INT(read_doc(doc, &m, &err), PT2C_EGRAPH);
	CHECK_EQ_INT(err.offset, 10);
	/* the last graph node's value offset is absolute, on its own line */
	const char *doc2 = "{\"graph\": [" PH_X ",\n" PH_X "]}";
	CHECK_EQ_INT(read_doc(doc2, &m, &err), PT2C_EGRAPH);
	CHECK_EQ_INT(err.offset, strstr(strchr(doc2, '\n'), "\"x\"") - doc2);
	CHECK_MSG(strstr(err.message, "line 2 column 31") != NULL, "%s", err.message);
}

/*
 * The "graph" arrays are only delimited before they are read (pt2c__json_parse_skim): a syntax
 * error inside one, found while its nodes are read, must come out as the validating parser
 * reports it -- before a semantic error that comes earlier, and also where nothing reads the array.
 */
static void test_syntax_errors_in_skimmed_graphs(void)
{
	static const char *const docs[] = {
		/* a missing comma between two nodes */
		"{\"graph\": [" PH_X " " OUT_X "]}",
		/* a trailing comma */
		"{\"graph\": [" PH_X ", " OUT_X ",]}",
		/* a key twice in a node */
		"{\"graph\": [" PH_X ", {\"op\": \"output\", \"op\": \"output\"}]}",
		/* a semantic error in the submodule read first, a syntax error in the top graph after it */
		"{\"submodules\": {\"s\": {\"kind\": \"graph\", \"graph\": [" PH_X ", 7]}}, \"graph\": [" PH_X ", " OUT_X " x]}",
		/* a "graph" array nothing reads, invalid inside */
		"{\"graph\": [" PH_X ", " OUT_X "], \"zz\": {\"graph\": [1,,2]}}",
		/* an array, not a module object, with an invalid graph inside */
		"[{\"graph\": [1 2]}]",
		/* a symbol named "graph" with an extra element after garbage */
		"{\"graph\": [" PH_X ", " OUT_X "], \"symbols\": {\"graph\": [1, 2 3]}}",
	};
	for (size_t k = 0; k < PT2C_ARRAY_LEN(docs); k++) {
		pt2c_arena a;
		pt2c__arena_init(&a, NULL);
		pt2c_json *root = NULL;
		pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 0 };
		pt2c_error want = PT2C_ERROR_INIT, err;
		int want_rc = pt2c__json_parse(&root, docs[k], strlen(docs[k]), &jo, &a, &want);
		pt2c__arena_free(&a);
		CHECK_MSG(want_rc == PT2C_ECORRUPT, "case %zu: the reference accepted it", k);
		pt2c_module *m = (pt2c_module *)1;
		int rc = read_doc(docs[k], &m, &err);
		CHECK_MSG(rc == want_rc, "case %zu: rc %d, want %d (%s)", k, rc, want_rc, err.message);
		CHECK(m == NULL);
		CHECK_MSG(strcmp(err.message, want.message) == 0, "case %zu: '%s', want '%s'", k, err.message, want.message);
		CHECK_MSG(strcmp(err.member, want.member) == 0, "case %zu: member '%s', want '%s'", k, err.member, want.member);
		CHECK_MSG(err.offset == want.offset, "case %zu: offset %llu, want %llu", k, (unsigned long long)err.offset,
		          (unsigned long long)want.offset);
	}
	/* valid, and a "graph" array nothing reads: read */
	pt2c_module *m = NULL;
	pt2c_error err;
	CHECK_EQ_INT(read_doc("{\"graph\": [" PH_X ", " OUT_X "], \"zz\": {\"graph\": [1, [2]]}}", &m, &err), 0);
	pt2c__module_free(m);
}

PT2C_TEST_MAIN({
	RUN(test_escaped_strings_outlive_node_dom);
	RUN(test_graph_named_values_elsewhere);
	RUN(test_syntax_errors_in_skimmed_graphs);
})
