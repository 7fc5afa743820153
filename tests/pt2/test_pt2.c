/*
 * test_pt2.c -- whole .pt2 archives: every PyTorch 2.11 fixture read and written back with its
 * root name must be byte-identical to the original file (serialization_id included); a re-read
 * equals the first read; the 2.8 layout (pickled state dicts) and the legacy top-level layout,
 * built here by re-packing a fixture, read to the same program; and a corpus of broken archives
 * fails with specific codes and messages naming the member.
 */
#include <stdlib.h>

#include "harness.h"
#include "pt2c.h"
#include "serde/serde.h"
#include "serde/zip.h"

static const char *const FIXTURES[] = {
	"mlp_bn", "conv_block", "dyn_batch", "arange_const", "dtypes", "attn",
	"full_engine_folded.normal", "full_engine_folded.cross", "full_engine_two_outputs.normal",
	"full_engine_two_outputs.cross", "hybrid_gated_fallback.normal", "hybrid_gated_fallback.cross",
	"no_engine.normal", "no_engine.cross",
};

static void free_release(void *p) { free(p); }

/* Load a fixture file into a storage that owns the bytes. */
static pt2c_storage *load(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.pt2", name);
	size_t len = 0;
	uint8_t *data = read_file(shared_path(rel), &len);
	if (!data)
		return NULL;
	pt2c_storage *s = NULL;
	if (pt2c__storage_new(NULL, data, len, free_release, data, &s)) {
		free(data);
		return NULL;
	}
	return s;
}

/* Read an archive held in a fresh owning copy of `data` (so nothing else keeps it alive). */
static int read_bytes(const void *data, size_t len, pt2c_program **out, pt2c_error *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	pt2c_storage *s = NULL;
	if (pt2c__storage_new(NULL, copy, len, free_release, copy, &s)) {
		free(copy);
		return PT2C_ENOMEM;
	}
	pt2c_pt2_read_opts o = { PT2C_ZIP_VERIFY_CRC, 0, "test.pt2", false };
	*err = (pt2c_error)PT2C_ERROR_INIT;
	int rc = pt2c__pt2_read(out, copy, len, s, &o, NULL, err);
	pt2c__storage_unref(s);
	return rc;
}

static int write_prog(const pt2c_program *p, const char *root, pt2c_buf *out, pt2c_error *err)
{
	pt2c__buf_init(out, NULL);
	pt2c_pt2_write_opts o = { root, NULL, NULL, 0, 0 };
	return pt2c__pt2_write(p, pt2c__sink_buf(out), &o, err);
}

static bool same_bytes(const char *label, const void *a, size_t na, const void *b, size_t nb)
{
	if (na == nb && (na == 0 || memcmp(a, b, na) == 0))
		return true;
	size_t i = 0;
	const uint8_t *x = a, *y = b;
	while (i < na && i < nb && x[i] == y[i])
		i++;
	pt2c_test_fail(__FILE__, __LINE__, "%s: differs at byte %zu (sizes %zu vs %zu)", label, i, na, nb);
	return false;
}

/* Same model.json, same attributes (kind, fqn, meta, bytes), same extras and sample inputs. */
static void check_same_program(const char *label, const pt2c_program *a, const pt2c_program *b)
{
	pt2c_buf ja, jb;
	pt2c__buf_init(&ja, NULL);
	pt2c__buf_init(&jb, NULL);
	CHECK_EQ_INT(pt2c__pt2json_write(&ja, a), 0);
	CHECK_EQ_INT(pt2c__pt2json_write(&jb, b), 0);
	same_bytes(label, ja.data, ja.len, jb.data, jb.len);
	pt2c__buf_free(&ja);
	pt2c__buf_free(&jb);
	CHECK_EQ_INT(a->mod->n_attrs, b->mod->n_attrs);
	for (uint32_t i = 0; i < a->mod->n_attrs && i < b->mod->n_attrs; i++) {
		const pt2c_attr *x = &a->mod->attrs[i], *y = &b->mod->attrs[i];
		CHECK_STR(x->fqn, y->fqn);
		CHECK_EQ_INT(x->kind, y->kind);
		CHECK_EQ_INT(x->persistent, y->persistent);
		if (x->kind == PT2C_ATTR_CUSTOM_OBJ) {
			CHECK_STR(x->class_fqn, y->class_fqn);
			CHECK_EQ_INT(x->engine != NULL, y->engine != NULL);
			continue;
		}
		CHECK(pt2c__meta_equal(&x->tensor.meta, &y->tensor.meta));
		const pt2c_storage *sx = x->tensor.storage, *sy = y->tensor.storage;
		same_bytes(x->fqn, sx ? sx->data : NULL, sx ? sx->nbytes : 0, sy ? sy->data : NULL, sy ? sy->nbytes : 0);
	}
	CHECK_EQ_INT(a->n_extra, b->n_extra);
	const pt2c_storage *sa = a->sample_inputs, *sb = b->sample_inputs;
	same_bytes("sample inputs", sa ? sa->data : NULL, sa ? sa->nbytes : 0, sb ? sb->data : NULL, sb ? sb->nbytes : 0);
}

static void test_fixture_archive_roundtrip(void)
{
	for (size_t f = 0; f < PT2C_ARRAY_LEN(FIXTURES); f++) {
		pt2c_storage *s = load(FIXTURES[f]);
		REQUIRE(s);
		pt2c_program *p = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_pt2_read_opts o = { PT2C_ZIP_VERIFY_CRC, 0, FIXTURES[f], false };
		int rc = pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, &o, NULL, &err);
		CHECK_MSG(rc == 0, "%s: read %d: %s (%s)", FIXTURES[f], rc, err.message, err.member);
		if (rc == 0) {
			pt2c_buf out;
			rc = write_prog(p, FIXTURES[f], &out, &err);
			CHECK_MSG(rc == 0, "%s: write %d: %s", FIXTURES[f], rc, err.message);
			if (rc == 0) {
				if (!same_bytes(FIXTURES[f], s->data, (size_t)s->nbytes, out.data, out.len)) {
					char path[300];
					snprintf(path, sizeof path, "rt_%s.pt2", FIXTURES[f]);
					FILE *fp = fopen(scratch_path(path), "wb");
					if (fp) {
						fwrite(out.data, 1, out.len, fp);
						fclose(fp);
					}
				}
				/* read(write(read(x))) == read(x), with another root name */
				pt2c_buf out2;
				CHECK_EQ_INT(write_prog(p, NULL, &out2, &err), 0);
				pt2c_program *q = NULL;
				rc = read_bytes(out2.data, out2.len, &q, &err);
				CHECK_MSG(rc == 0, "%s: re-read %d: %s (%s)", FIXTURES[f], rc, err.message, err.member);
				if (q)
					check_same_program(FIXTURES[f], p, q);
				pt2c__program_free(q);
				pt2c__buf_free(&out2);
			}
			pt2c__buf_free(&out);
		}
		pt2c__program_free(p);
		pt2c__storage_unref(s); /* the program (freed) was the last user */
	}
}

static void test_fixture_attributes(void)
{
	pt2c_error err = PT2C_ERROR_INIT;
	/* conv_block: persistent buffers in the weights, non-persistent buffer + constant in the constants */
	pt2c_storage *s = load("conv_block");
	REQUIRE(s);
	pt2c_program *p = NULL;
	int rc = pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, NULL, NULL, &err);
	pt2c__storage_unref(s); /* the program keeps the archive alive */
	REQUIRE(rc == 0);
	pt2c_attr *a = pt2c__module_find_attr(p->mod, "conv.weight");
	REQUIRE(a);
	CHECK_EQ_INT(a->kind, PT2C_ATTR_PARAMETER);
	CHECK(a->tensor.meta.requires_grad);
	a = pt2c__module_find_attr(p->mod, "bn.running_mean");
	REQUIRE(a);
	CHECK_EQ_INT(a->kind, PT2C_ATTR_BUFFER);
	CHECK(a->persistent);
	a = pt2c__module_find_attr(p->mod, "mask");
	REQUIRE(a);
	CHECK_EQ_INT(a->kind, PT2C_ATTR_BUFFER);
	CHECK(!a->persistent);
	CHECK_EQ_INT(a->tensor.storage->nbytes, 32);
	a = pt2c__module_find_attr(p->mod, "scale");
	REQUIRE(a);
	CHECK_EQ_INT(a->kind, PT2C_ATTR_CONSTANT);
	pt2c__program_free(p);

	/* dtypes: tied weights share one storage; a transposed view keeps its strides */
	s = load("dtypes");
	REQUIRE(s);
	rc = pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, NULL, NULL, &err);
	pt2c__storage_unref(s);
	REQUIRE(rc == 0);
	pt2c_attr *aw = pt2c__module_find_attr(p->mod, "a.weight"), *bw = pt2c__module_find_attr(p->mod, "b.weight");
	REQUIRE(aw && bw);
	CHECK(aw->tensor.storage == bw->tensor.storage);
	pt2c_attr *wt = pt2c__module_find_attr(p->mod, "wt");
	REQUIRE(wt);
	CHECK_EQ_INT(wt->tensor.meta.strides[0].i, 1);
	CHECK_EQ_INT(wt->tensor.meta.strides[1].i, 6);
	pt2c_attr *wbf = pt2c__module_find_attr(p->mod, "wbf");
	REQUIRE(wbf);
	CHECK_EQ_INT(wbf->tensor.meta.dtype, PT2C_DTYPE_BFLOAT16);
	pt2c__program_free(p);

	/* a Torch-TensorRT archive: the engine object becomes an engine record */
	s = load("full_engine_folded.normal");
	REQUIRE(s);
	rc = pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, NULL, NULL, &err);
	pt2c__storage_unref(s);
	REQUIRE(rc == 0);
	a = pt2c__module_find_attr(p->mod, "_run_on_acc_0_engine");
	REQUIRE(a);
	CHECK_EQ_INT(a->kind, PT2C_ATTR_CUSTOM_OBJ);
	CHECK_STR(a->class_fqn, "__torch__.torch.classes.tensorrt.Engine");
	CHECK(a->engine != NULL);
	if (a->engine)
		CHECK_EQ_INT(a->engine->abi, 6);
	CHECK(p->sample_inputs != NULL && p->sample_inputs->nbytes == 0);
	pt2c__program_free(p);
}

/* MARK: building archives by re-packing a fixture */

typedef struct edit {
	const char *member;  /* relative name */
	const char *content; /* NULL = drop the member */
	size_t len;          /* 0 = strlen(content) */
	const char *find;    /* if set: replace the first `find` in the member by `content` */
} edit;

static const char *find_bytes(const void *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	const char *h = hay;
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(h + i, needle, m) == 0)
			return h + i;
	return NULL;
}

/* Re-pack fixture `name` with root `root` ("" = no root folder), applying edits, into out. */
static bool repack(const char *name, const char *root, const edit *ed, size_t ned, const edit *add, size_t nadd, pt2c_buf *out)
{
	pt2c_storage *s = load(name);
	if (!s)
		return false;
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__zip_parse(&z, s->data, (size_t)s->nbytes, NULL, NULL, &err)) {
		pt2c__storage_unref(s);
		return false;
	}
	pt2c__buf_init(out, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(out), NULL);
	size_t rl = strlen(name) + 1;
	for (uint32_t i = 0; i < z.n; i++) {
		const pt2c_zip_entry *e = &z.entries[i];
		char rel[512], full[600];
		snprintf(rel, sizeof rel, "%.*s", (int)(e->name_len - rl), e->name + rl);
		snprintf(full, sizeof full, "%s%s%s", root, root[0] ? "/" : "", rel);
		const void *data = pt2c__zip_data(&z, e);
		size_t len = (size_t)e->size;
		char *tmp = NULL;
		bool drop = false;
		for (size_t k = 0; k < ned; k++) {
			if (strcmp(ed[k].member, rel) != 0)
				continue;
			if (!ed[k].content) {
				drop = true;
			} else if (ed[k].find) {
				const char *at = find_bytes(data, len, ed[k].find);
				if (at) {
					size_t pre = (size_t)(at - (const char *)data), fl = strlen(ed[k].find), cl = strlen(ed[k].content);
					tmp = malloc(len - fl + cl);
					memcpy(tmp, data, pre);
					memcpy(tmp + pre, ed[k].content, cl);
					memcpy(tmp + pre + cl, (const char *)data + pre + fl, len - pre - fl);
					data = tmp;
					len = len - fl + cl;
				}
			} else {
				data = ed[k].content;
				len = ed[k].len ? ed[k].len : strlen(ed[k].content);
			}
		}
		if (!drop)
			pt2c__zipw_add(&w, full, data, len);
		free(tmp);
	}
	for (size_t k = 0; k < nadd; k++) {
		char full[600];
		snprintf(full, sizeof full, "%s%s%s", root, root[0] ? "/" : "", add[k].member);
		pt2c__zipw_add(&w, full, add[k].content, add[k].len ? add[k].len : strlen(add[k].content));
	}
	int rc = pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	pt2c__zip_free(&z);
	pt2c__storage_unref(s);
	return rc == 0 && !out->err;
}

static void expect_error(const char *label, const edit *ed, size_t ned, int code, const char *member, const char *msg)
{
	pt2c_buf b;
	if (!repack("mlp_bn", "mlp_bn", ed, ned, NULL, 0, &b)) {
		pt2c_test_fail(__FILE__, __LINE__, "%s: repack failed", label);
		pt2c__buf_free(&b);
		return;
	}
	pt2c_program *p = NULL;
	pt2c_error err;
	int rc = read_bytes(b.data, b.len, &p, &err);
	CHECK_MSG(rc == code, "%s: rc %d want %d (%s)", label, rc, code, err.message);
	if (code == 0) {
		pt2c__program_free(p);
		pt2c__buf_free(&b);
		return;
	}
	CHECK_MSG(p == NULL, "%s: program returned on failure", label);
	CHECK_MSG(strncmp(err.member, member, strlen(member)) == 0, "%s: member '%s' want prefix '%s'", label, err.member, member);
	CHECK_MSG(strstr(err.message, msg) != NULL, "%s: message '%s' lacks '%s'", label, err.message, msg);
	CHECK_MSG(strcmp(err.file, "test.pt2") == 0, "%s: file '%s'", label, err.file);
	pt2c__program_free(p);
	pt2c__buf_free(&b);
}

/*
 * Issue 11: a program whose node holds nested subgraphs (as_graph inside as_graph), in an archive
 * that then fails (no weights config), leaked the subgraphs: the program was freed without them.
 * The live-block count of the test allocator sees the leak in every build (ASan too).
 */
static int read_counted(const pt2c_buf *b, test_alloc *ta, pt2c_program **p, pt2c_error *err)
{
	pt2c_pt2_read_opts o = { PT2C_ZIP_VERIFY_CRC, 0, "test.pt2", false };
	*err = (pt2c_error)PT2C_ERROR_INIT;
	return pt2c__pt2_read(p, (const uint8_t *)b->data, b->len, NULL, &o, &ta->a, err);
}

/* mlp_bn with an outer subgraph holding an inner one on its first linear node; drop: no weights config */
static bool nested_subgraph_archive(bool drop, pt2c_buf *b)
{
	static const char *const anchor = "{\"name\": \"input\", \"arg\": {\"as_tensor\": {\"name\": \"x\"}}, \"kind\": 1}, ";
	static const char *const empty = "{\"inputs\": [], \"outputs\": [], \"nodes\": [], \"tensor_values\": {}, \"sym_int_values\": {}, \"sym_bool_values\": {}}";
	char sub[4096];
	snprintf(sub, sizeof sub,
	         "%s{\"name\": \"\", \"arg\": {\"as_graph\": {\"name\": \"outer\", \"graph\": {\"inputs\": [], \"outputs\": [], "
	         "\"tensor_values\": {}, \"sym_int_values\": {}, \"sym_bool_values\": {}, \"nodes\": [{\"target\": \"t\", \"metadata\": {}, "
	         "\"outputs\": [], \"inputs\": [{\"name\": \"\", \"arg\": {\"as_graph\": {\"name\": \"inner\", \"graph\": %s}}, \"kind\": 1}]}]}}}, "
	         "\"kind\": 1}, ",
	         anchor, empty);
	edit e[] = { { "models/model.json", sub, 0, anchor }, { "data/weights/model_weights_config.json", NULL, 0, NULL } };
	return repack("mlp_bn", "mlp_bn", e, drop ? 2 : 1, NULL, 0, b);
}

static void test_failed_read_frees_nested_subgraphs(void)
{
	for (int drop = 0; drop < 2; drop++) {
		pt2c_buf b;
		REQUIRE(nested_subgraph_archive(drop, &b));
		REQUIRE(find_bytes(b.data, b.len, "\"inner\"") != NULL);
		test_alloc ta;
		test_alloc_init(&ta);
		pt2c_program *p = NULL;
		pt2c_error err;
		int rc = read_counted(&b, &ta, &p, &err);
		if (drop) {
			CHECK_MSG(rc == PT2C_ECORRUPT && p == NULL, "rc %d (%s)", rc, err.message);
			CHECK(strstr(err.message, "model_weights_config.json") != NULL);
		} else {
			/* control: the same program reads, and its first node holds the outer subgraph */
			CHECK_MSG(rc == 0, "rc %d (%s)", rc, err.message);
			REQUIRE(p);
			pt2c_graph *g = p->mod->graph;
			const pt2c_arg *a = NULL;
			PT2C_GRAPH_FOREACH(g, id)
				if (!strcmp(g->nodes[id].target, "torch.ops.aten.linear.default") && g->nodes[id].n_inputs > 1) {
					a = &g->nodes[id].inputs[1].arg;
					break;
				}
			REQUIRE(a);
			CHECK_EQ_INT(a->kind, PT2C_ARG_GRAPH);
			REQUIRE(a->u.g.graph != NULL);
			bool inner = false;
			PT2C_GRAPH_FOREACH(a->u.g.graph, id) {
				const pt2c_node *nd = &a->u.g.graph->nodes[id];
				inner |= nd->n_inputs == 1 && nd->inputs[0].arg.kind == PT2C_ARG_GRAPH && nd->inputs[0].arg.u.g.graph != NULL;
			}
			CHECK(inner);
			pt2c__program_free(p); /* frees the subgraphs too */
		}
		CHECK_MSG(ta.live == 0, "%s: %ld blocks leaked", drop ? "failed read" : "read", ta.live);
		pt2c__buf_free(&b);
	}
}

/*
 * Issue 11 #5: the same nested-subgraph program read and printed with every allocation failing in
 * turn (the reader's subgraph list, the printer's subgraph table): PT2C_ENOMEM each time, no
 * program handed out, nothing leaked. The read makes the object, so the state compared is none.
 */
static pt2c_buf nested_archive;
static void *nested_setup(void *ctx, const pt2c_allocator *a) { (void)ctx; return (void *)(uintptr_t)a; }
static int nested_step(void *ctx, void *state)
{
	(void)ctx;
	pt2c_pt2_read_opts o = { PT2C_ZIP_VERIFY_CRC, 0, "test.pt2", false };
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = pt2c__pt2_read(&p, (const uint8_t *)nested_archive.data, nested_archive.len, NULL, &o, state, &err);
	if (rc) return p ? PT2C_EINVALID : rc;
	char *text = NULL;
	size_t len = 0;
	rc = pt2c_program_print(p, &text, &len);
	if (!rc && !strstr(text, "inner")) rc = PT2C_EINVALID; /* the printout shows the inner subgraph */
	if (rc && text) rc = PT2C_EINVALID;
	pt2c_free(text);
	pt2c__program_free(p);
	return rc;
}
static char *nested_show(void *ctx, void *state) { (void)ctx; (void)state; return strdup("-"); }
static void nested_teardown(void *ctx, void *state) { (void)ctx; (void)state; }

static void test_nested_subgraphs_oom(void)
{
	REQUIRE(nested_subgraph_archive(false, &nested_archive));
	CHECK_EQ_INT(nested_step(NULL, NULL), 0);
	test_oom_case oc = { "read + print nested subgraphs", nested_setup, nested_step, nested_show, nested_teardown, NULL, 0 };
	long n = test_oom_state_unchanged(&oc);
	printf("  %ld failure points\n", n);
	CHECK(n > 0);
	pt2c__buf_free(&nested_archive);
}

static void test_error_corpus(void)
{
	const char *MJ = "models/model.json", *WC = "data/weights/model_weights_config.json";
	{ edit e[] = { { "models/model.json", NULL, 0, NULL } };
	  expect_error("no model.json", e, 1, PT2C_ECORRUPT, "models/model.json", "no models/model.json"); }
	{ edit e[] = { { WC, NULL, 0, NULL } };
	  expect_error("no weights config", e, 1, PT2C_ECORRUPT, WC, "no data/weights/model_weights_config.json"); }
	{ edit e[] = { { "data/constants/model_constants_config.json", NULL, 0, NULL } };
	  expect_error("no constants config", e, 1, PT2C_ECORRUPT, "data/constants/model_constants_config.json", "no data/constants"); }
	{ edit e[] = { { "data/sample_inputs/model.pt", NULL, 0, NULL } };
	  expect_error("no sample inputs", e, 1, PT2C_ECORRUPT, "data/sample_inputs/model.pt", "no data/sample_inputs"); }
	{ edit e[] = { { "archive_format", "zip", 0, NULL } };
	  expect_error("archive_format", e, 1, PT2C_ECORRUPT, "archive_format", "not 'pt2'"); }
	{ edit e[] = { { "archive_format", NULL, 0, NULL } };
	  expect_error("no archive_format", e, 1, PT2C_ECORRUPT, "archive_format", "no archive_format"); }
	{ edit e[] = { { "archive_version", "1", 0, NULL } };
	  expect_error("archive_version", e, 1, PT2C_EUNSUPPORTED, "archive_version", "'1'"); }
	{ edit e[] = { { ".data/version", "11\n", 0, NULL } };
	  expect_error("version 11", e, 1, PT2C_EUNSUPPORTED, ".data/version", "version 11"); }
	{ edit e[] = { { "byteorder", "big", 0, NULL } };
	  expect_error("byteorder", e, 1, PT2C_EUNSUPPORTED, "byteorder", "'big'"); }
	{ edit e[] = { { "byteorder", NULL, 0, NULL }, { ".data/version", "3", 0, NULL } };
	  expect_error("no byteorder, version 3", e, 2, 0, "", ""); }
	{ edit e[] = { { ".data/version", NULL, 0, NULL } };
	  expect_error("no version", e, 1, PT2C_ECORRUPT, ".data/version", "neither"); }
	{ edit e[] = { { MJ, "\"as_int\": \"0\"", 0, "\"as_int\": 0" } };
	  expect_error("string for int", e, 1, PT2C_ECORRUPT, "models/model.json:/graph_module/graph/", "expected an integer"); }
	{ edit e[] = { { MJ, "{\"dtype\": 99", 0, "{\"dtype\": 7" } };
	  expect_error("dtype 99", e, 1, PT2C_ECORRUPT, "models/model.json:/graph_module/graph/tensor_values/", "dtype 99"); }
	{ edit e[] = { { MJ, "\"arg\": {\"as_tensor\": {\"name\": \"ghost\"}}", 0, "\"arg\": {\"as_tensor\": {\"name\": \"x\"}}" } };
	  expect_error("dangling", e, 1, PT2C_EGRAPH, "models/model.json:/graph_module/graph/nodes/", "undefined value 'ghost'"); }
	{ edit e[] = { { MJ, "{\"graph_module\": [", 0, "{\"graph_module\": {" } };
	  expect_error("bad json", e, 1, PT2C_ECORRUPT, "models/model.json", ""); }
	{ edit e[] = { { WC, "\"path_name\": \"weight_99\"", 0, "\"path_name\": \"weight_0\"" } };
	  expect_error("missing weight file", e, 1, PT2C_ECORRUPT, WC, "'l1.weight' refers to missing member data/weights/weight_99"); }
	{ edit e[] = { { WC, "\"sizes\": [{\"as_int\": 64}, {\"as_int\": 16}]", 0, "\"sizes\": [{\"as_int\": 32}, {\"as_int\": 16}]" } };
	  expect_error("view too large", e, 1, PT2C_ECORRUPT, WC, "'l1.weight' needs 4096 bytes"); }
	{ edit e[] = { { WC, "\"sizes\": [{\"as_int\": 1099511627776}, {\"as_int\": 1099511627776}], \"requires_grad\": true, \"device\": {\"type\": \"cpu\", \"index\": null}, \"strides\": [{\"as_int\": 1099511627776}, {\"as_int\": 1}]", 0,
	                 "\"sizes\": [{\"as_int\": 32}, {\"as_int\": 16}], \"requires_grad\": true, \"device\": {\"type\": \"cpu\", \"index\": null}, \"strides\": [{\"as_int\": 16}, {\"as_int\": 1}]" } };
	  expect_error("size overflow", e, 1, PT2C_ECORRUPT, "data/weights/model_weights_config.json:/config/l1.weight/tensor_meta", "needs more than 2^63-1 elements or bytes"); }
	{ edit e[] = { { WC, "\"is_param\": 1", 0, "\"is_param\": true" } };
	  expect_error("is_param type", e, 1, PT2C_ECORRUPT, "data/weights/model_weights_config.json:/config/l1.weight/is_param", "expected a boolean, got an integer at line 1 column "); }
	{ edit e[] = { { WC, "{\"config\": {}}", 0, NULL } };
	  expect_error("param not stored", e, 1, PT2C_ECORRUPT, WC, "parameter 'l1.weight'"); }
	{ edit e[] = { { WC, "{\"dtype\": 99", 0, "{\"dtype\": 7" } };
	  expect_error("config dtype", e, 1, PT2C_ECORRUPT, "data/weights/model_weights_config.json:/config/l1.weight/tensor_meta/dtype", "dtype 99"); }
	{ edit e[] = { { WC, "\"path_name\": \"weight_0\", \"is_param\": true, \"use_pickle\": false, \"tensor_meta\": {\"dtype\": 7, \"sizes\": [{\"as_int\": 32}]", 0,
	                 "\"path_name\": \"weight_1\", \"is_param\": true, \"use_pickle\": false, \"tensor_meta\": {\"dtype\": 7, \"sizes\": [{\"as_int\": 32}]" } };
	  expect_error("shared file", e, 1, 0, "", ""); }
	{ edit e[] = { { WC, "\"path_name\": \"weight_0\", \"is_param\": true, \"use_pickle\": false, \"tensor_meta\": {\"dtype\": 6, \"sizes\": [{\"as_int\": 32}]", 0,
	                 "\"path_name\": \"weight_1\", \"is_param\": true, \"use_pickle\": false, \"tensor_meta\": {\"dtype\": 7, \"sizes\": [{\"as_int\": 32}]" } };
	  expect_error("shared file dtype", e, 1, PT2C_ECORRUPT, WC, "dtypes differ"); }
	{ edit e[] = { { WC, "\"path_name\": \"../weight_0\"", 0, "\"path_name\": \"weight_0\"" } };
	  expect_error("path traversal", e, 1, PT2C_ECORRUPT, WC, "invalid path_name"); }
	/* a member outside the root folder */
	{
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c_zipw w;
		pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
		pt2c__zipw_add(&w, "r/archive_format", "pt2", 3);
		pt2c__zipw_add(&w, "stray", "x", 1);
		REQUIRE(pt2c__zipw_finish(&w) == 0);
		pt2c__zipw_free(&w);
		pt2c_program *p = NULL;
		pt2c_error err;
		CHECK_EQ_INT(read_bytes(b.data, b.len, &p, &err), PT2C_ECORRUPT);
		CHECK_STR(err.member, "stray");
		CHECK(strstr(err.message, "not under the archive root 'r/'") != NULL);
		pt2c__buf_free(&b);
	}
	/* not a zip at all */
	{
		pt2c_program *p = NULL;
		pt2c_error err;
		CHECK(read_bytes("hello", 5, &p, &err) < 0);
		CHECK(p == NULL);
	}
}

/* MARK: 2.8 and legacy layouts */

/* Append a BINUNICODE string. */
static void pk_str(pt2c_buf *b, const char *s)
{
	pt2c__buf_u8(b, 'X');
	pt2c__buf_u32le(b, (uint32_t)strlen(s));
	pt2c__buf_puts(b, s);
}

static void pk_int(pt2c_buf *b, int64_t v)
{
	pt2c__buf_u8(b, 'J');
	pt2c__buf_u32le(b, (uint32_t)(int32_t)v);
}

static void pk_global(pt2c_buf *b, const char *mod, const char *name)
{
	pt2c__buf_printf(b, "c%s\n%s\n", mod, name);
}

/* torch.save of {fqn: tensor/Parameter} for the attributes of `m` (a plain dict, protocol 2). */
static void torch_save_state_dict(const pt2c_module *m, bool constants, pt2c_buf *out)
{
	pt2c_buf pk;
	pt2c__buf_init(&pk, NULL);
	pt2c__buf_put(&pk, "\x80\x02}", 3);
	uint32_t n = 0;
	pt2c__buf_putc(&pk, '(');
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_attr *a = &m->attrs[i];
		bool is_const = a->kind == PT2C_ATTR_CONSTANT || (a->kind == PT2C_ATTR_BUFFER && !a->persistent);
		if (a->kind == PT2C_ATTR_CUSTOM_OBJ || is_const != constants)
			continue;
		const pt2c_tensor_meta *t = &a->tensor.meta;
		pk_str(&pk, a->fqn);
		bool param = a->kind == PT2C_ATTR_PARAMETER;
		if (param) {
			pk_global(&pk, "torch._utils", "_rebuild_parameter");
			pt2c__buf_putc(&pk, '(');
		}
		pk_global(&pk, "torch._utils", "_rebuild_tensor_v2");
		pt2c__buf_putc(&pk, '(');
		pt2c__buf_putc(&pk, '(');
		pk_str(&pk, "storage");
		pk_global(&pk, "torch", t->dtype == PT2C_DTYPE_INT64 ? "LongStorage" : "FloatStorage");
		char key[16];
		snprintf(key, sizeof key, "%u", n);
		pk_str(&pk, key);
		pk_str(&pk, "cpu");
		pk_int(&pk, (int64_t)(a->tensor.storage->nbytes / pt2c__dtype_size(t->dtype)));
		pt2c__buf_putc(&pk, 't');
		pt2c__buf_putc(&pk, 'Q');
		pk_int(&pk, t->storage_offset.i);
		pt2c__buf_putc(&pk, '(');
		for (uint32_t d = 0; d < t->ndim; d++)
			pk_int(&pk, t->sizes[d].i);
		pt2c__buf_putc(&pk, 't');
		pt2c__buf_putc(&pk, '(');
		for (uint32_t d = 0; d < t->ndim; d++)
			pk_int(&pk, t->strides[d].i);
		pt2c__buf_putc(&pk, 't');
		pt2c__buf_u8(&pk, 0x89); /* requires_grad False inside, as torch writes it */
		pk_global(&pk, "collections", "OrderedDict");
		pt2c__buf_put(&pk, ")Rt", 3);
		pt2c__buf_putc(&pk, 'R');
		if (param) {
			pt2c__buf_u8(&pk, 0x88);
			pk_global(&pk, "collections", "OrderedDict");
			pt2c__buf_put(&pk, ")RtR", 4);
		}
		n++;
	}
	pt2c__buf_put(&pk, "u.", 2);

	pt2c__buf_init(out, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(out), NULL);
	pt2c__zipw_add(&w, "archive/data.pkl", pk.data, pk.len);
	n = 0;
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_attr *a = &m->attrs[i];
		bool is_const = a->kind == PT2C_ATTR_CONSTANT || (a->kind == PT2C_ATTR_BUFFER && !a->persistent);
		if (a->kind == PT2C_ATTR_CUSTOM_OBJ || is_const != constants)
			continue;
		char name[64];
		snprintf(name, sizeof name, "archive/data/%u", n++);
		pt2c__zipw_add(&w, name, a->tensor.storage->data, (size_t)a->tensor.storage->nbytes);
	}
	pt2c__zipw_add(&w, "archive/version", "3\n", 2);
	pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	pt2c__buf_free(&pk);
}

static void test_old_layouts(void)
{
	pt2c_storage *s = load("mlp_bn");
	REQUIRE(s);
	pt2c_program *ref = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__pt2_read(&ref, s->data, (size_t)s->nbytes, s, NULL, NULL, &err) == 0);
	pt2c_buf wsd, csd;
	torch_save_state_dict(ref->mod, false, &wsd);
	torch_save_state_dict(ref->mod, true, &csd);
	REQUIRE(!wsd.err && !csd.err);

	/* 2.8: data/weights/model.pt + data/constants/model.pt instead of raw files and configs */
	{
		edit e[] = { { "data/weights/model_weights_config.json", NULL, 0, NULL },
		             { "data/constants/model_constants_config.json", NULL, 0, NULL } };
		edit add[] = { { "data/weights/model.pt", wsd.data, wsd.len, NULL }, { "data/constants/model.pt", csd.data, csd.len, NULL } };
		pt2c_buf b;
		REQUIRE(repack("mlp_bn", "old", e, 2, add, 2, &b));
		pt2c_program *p = NULL;
		int rc = read_bytes(b.data, b.len, &p, &err);
		CHECK_MSG(rc == 0, "2.8 layout: %d %s (%s)", rc, err.message, err.member);
		if (p) {
			check_same_program("2.8 layout", ref, p);
			/* converting to the 2.11 layout reproduces torch's own file */
			pt2c_buf out;
			CHECK_EQ_INT(write_prog(p, "mlp_bn", &out, &err), 0);
			same_bytes("2.8 -> 2.11", s->data, (size_t)s->nbytes, out.data, out.len);
			pt2c__buf_free(&out);
		}
		pt2c__program_free(p);
		pt2c__buf_free(&b);
	}
	/* legacy: top-level serialized_* members, no root folder */
	{
		pt2c_zip z;
		REQUIRE(pt2c__zip_parse(&z, s->data, (size_t)s->nbytes, NULL, NULL, &err) == 0);
		const pt2c_zip_entry *mj = pt2c__zip_find(&z, "mlp_bn/models/model.json", strlen("mlp_bn/models/model.json"));
		const pt2c_zip_entry *si = pt2c__zip_find(&z, "mlp_bn/data/sample_inputs/model.pt", strlen("mlp_bn/data/sample_inputs/model.pt"));
		REQUIRE(mj && si);
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c_zipw w;
		pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
		pt2c__zipw_add(&w, "serialized_exported_program.json", pt2c__zip_data(&z, mj), (size_t)mj->size);
		pt2c__zipw_add(&w, "serialized_state_dict.pt", wsd.data, wsd.len);
		pt2c__zipw_add(&w, "serialized_constants.pt", csd.data, csd.len);
		pt2c__zipw_add(&w, "serialized_example_inputs.pt", pt2c__zip_data(&z, si), (size_t)si->size);
		pt2c__zipw_add(&w, "extra_files/note.txt", "hello", 5);
		pt2c__zipw_add(&w, "version", "8.17", 4);
		REQUIRE(pt2c__zipw_finish(&w) == 0);
		pt2c__zipw_free(&w);
		pt2c__zip_free(&z);
		pt2c_program *p = NULL;
		int rc = read_bytes(b.data, b.len, &p, &err);
		CHECK_MSG(rc == 0, "legacy layout: %d %s (%s)", rc, err.message, err.member);
		if (p) {
			CHECK_EQ_INT(p->n_extra, 1);
			if (p->n_extra) {
				CHECK_STR(p->extra[0].name, "note.txt");
				CHECK_EQ_INT(p->extra[0].data->nbytes, 5);
			}
			if (p->n_extra) { /* compare the rest with the 2.11 read */
				p->n_extra = 0;
				pt2c__storage_unref(p->extra[0].data);
			}
			check_same_program("legacy layout", ref, p);
		}
		pt2c__program_free(p);
		pt2c__buf_free(&b);
	}
	pt2c__buf_free(&wsd);
	pt2c__buf_free(&csd);
	pt2c__program_free(ref);
	pt2c__storage_unref(s);
}

static void test_extra_records_roundtrip(void)
{
	edit add[] = { { "extra/notes.txt", "caf\xc3\xa9", 0, NULL } };
	pt2c_buf b;
	/* the extra must sit before archive_format to be byte-identical after a write; just check content */
	REQUIRE(repack("arange_const", "a", NULL, 0, add, 1, &b));
	pt2c_program *p = NULL;
	pt2c_error err;
	int rc = read_bytes(b.data, b.len, &p, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	if (p) {
		CHECK_EQ_INT(p->n_extra, 1);
		pt2c_buf out;
		CHECK_EQ_INT(write_prog(p, "a", &out, &err), 0);
		pt2c_program *q = NULL;
		CHECK_EQ_INT(read_bytes(out.data, out.len, &q, &err), 0);
		if (q) {
			CHECK_EQ_INT(q->n_extra, 1);
			CHECK_STR(q->extra[0].name, "notes.txt");
			CHECK(q->extra[0].data->nbytes == 5 && memcmp(q->extra[0].data->data, "caf\xc3\xa9", 5) == 0);
		}
		pt2c__program_free(q);
		pt2c__buf_free(&out);
	}
	pt2c__program_free(p);
	pt2c__buf_free(&b);
}


/* The writer spells an ENGINE_B64 argument (the exporter's cross-compile form) exactly as the
 * string torch wrote: base64 text kept as read, or raw engine bytes encoded on the fly. */
static void test_engine_b64_argument(void)
{
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_storage *sc = load("full_engine_folded.cross"), *sn = load("full_engine_folded.normal");
	REQUIRE(sc && sn);
	pt2c_program *pc = NULL, *pn = NULL;
	REQUIRE(pt2c__pt2_read(&pc, sc->data, (size_t)sc->nbytes, sc, NULL, NULL, &err) == 0);
	REQUIRE(pt2c__pt2_read(&pn, sn->data, (size_t)sn->nbytes, sn, NULL, NULL, &err) == 0);
	pt2c_attr *ea = pt2c__module_find_attr(pn->mod, "_run_on_acc_0_engine");
	REQUIRE(ea && ea->engine);
	pt2c_buf want;
	pt2c__buf_init(&want, NULL);
	REQUIRE(pt2c__pt2json_write(&want, pc) == 0);
	pt2c_arg *target = NULL;
	pt2c_graph *g = pc->mod->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *n = &g->nodes[id];
		for (uint32_t i = 0; i < n->n_inputs; i++)
			if (n->inputs[i].name && strcmp(n->inputs[i].name, "serialized_engine") == 0)
				target = &n->inputs[i].arg;
	}
	REQUIRE(target && target->kind == PT2C_ARG_STRING);
	pt2c_arg saved = *target;
	/* (1) the record as read: engine field still base64 */
	target->kind = PT2C_ARG_ENGINE_B64;
	target->u.engine = ea->engine;
	pt2c_buf got;
	pt2c__buf_init(&got, NULL);
	CHECK_EQ_INT(pt2c__pt2json_write(&got, pc), 0);
	same_bytes("engine b64 (text)", want.data, want.len, got.data, got.len);
	/* (2) raw engine bytes */
	pt2c_storage *raw = NULL;
	CHECK_EQ_INT(pt2c__engine_record_raw(ea->engine, NULL, &raw, &err), 0);
	if (raw) {
		pt2c_engine_record rec = *ea->engine;
		rec.engine = raw;
		rec.engine_b64 = false;
		target->u.engine = &rec;
		got.len = 0;
		CHECK_EQ_INT(pt2c__pt2json_write(&got, pc), 0);
		same_bytes("engine b64 (raw)", want.data, want.len, got.data, got.len);
		pt2c__storage_unref(raw);
	}
	*target = saved;
	pt2c__buf_free(&got);
	pt2c__buf_free(&want);
	pt2c__program_free(pc);
	pt2c__program_free(pn);
	pt2c__storage_unref(sc);
	pt2c__storage_unref(sn);
}

static void progress_cb(uint64_t done, uint64_t total, void *payload)
{
	uint64_t *last = payload;
	if (done < last[0] || done > total)
		last[1] = 1; /* went backwards or past the total */
	last[0] = done;
	last[2] = total;
}

static void test_progress(void)
{
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_storage *s = load("dtypes"); /* has tied weights: shared files count once */
	REQUIRE(s);
	pt2c_program *p = NULL;
	REQUIRE(pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, NULL, NULL, &err) == 0);
	uint64_t st[3] = { 0, 0, 0 };
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_pt2_write_opts o = { "x", progress_cb, st, 0, 0 };
	CHECK_EQ_INT(pt2c__pt2_write(p, pt2c__sink_buf(&b), &o, &err), 0);
	CHECK_EQ_INT(st[1], 0);
	CHECK(st[2] > 0 && st[0] == st[2]); /* ends at the total: all weight bytes */
	/* a root with a slash is refused */
	pt2c_pt2_write_opts bad = { "a/b", NULL, NULL, 0, 0 };
	b.len = 0;
	CHECK_EQ_INT(pt2c__pt2_write(p, pt2c__sink_buf(&b), &bad, &err), PT2C_EINVALID);
	pt2c__buf_free(&b);
	pt2c__program_free(p);
	pt2c__storage_unref(s);
}

/* A custom object of a class pt2c does not know stays an opaque blob and is written back as is. */
static void test_opaque_custom_object(void)
{
	/* rename the class inside the pickled object: same length, so the nested zip stays valid */
	edit e[] = { { "data/constants/custom_obj_0", "tensorrt\nEnginf\n", 0, "tensorrt\nEngine\n" } };
	pt2c_buf b;
	REQUIRE(repack("full_engine_folded.normal", "fe", e, 1, NULL, 0, &b));
	pt2c_program *p = NULL;
	pt2c_error err;
	int rc = read_bytes(b.data, b.len, &p, &err);
	CHECK_MSG(rc == 0, "%s (%s)", err.message, err.member);
	if (p) {
		pt2c_attr *a = pt2c__module_find_attr(p->mod, "_run_on_acc_0_engine");
		REQUIRE(a);
		CHECK(a->engine == NULL);
		CHECK(a->blob != NULL);
		CHECK_STR(a->class_fqn, "__torch__.torch.classes.tensorrt.Enginf");
		pt2c_buf out;
		CHECK_EQ_INT(write_prog(p, "fe", &out, &err), 0);
		/* same archive except .data/serialization_id, which the re-pack left stale */
		CHECK_EQ_INT(out.len, b.len);
		pt2c_program *q = NULL;
		CHECK_EQ_INT(read_bytes(out.data, out.len, &q, &err), 0);
		if (q) {
			check_same_program("opaque object", p, q);
			pt2c_attr *qa = pt2c__module_find_attr(q->mod, "_run_on_acc_0_engine");
			REQUIRE(qa && qa->blob);
			same_bytes("opaque blob", a->blob->data, a->blob->nbytes, qa->blob->data, qa->blob->nbytes);
		}
		pt2c__program_free(q);
		pt2c__buf_free(&out);
	}
	pt2c__program_free(p);
	pt2c__buf_free(&b);
}

/* MARK: allocation failures */

/* Fail the N-th allocation for every N of read + write: each run fails cleanly or succeeds. */
static void test_allocation_failures(void)
{
	const char *names[] = { "conv_block", "hybrid_gated_fallback.normal" };
	for (size_t k = 0; k < PT2C_ARRAY_LEN(names); k++) {
		pt2c_storage *s = load(names[k]);
		REQUIRE(s);
		bool done = false;
		for (long n = 0; n < 200000 && !done; n++) {
			test_alloc f; /* the harness's failing allocator */
			test_alloc_init(&f);
			test_alloc_arm(&f, n);
			const pt2c_allocator al = f.a;
			pt2c_program *p = NULL;
			pt2c_error err = PT2C_ERROR_INIT;
			int rc = pt2c__pt2_read(&p, s->data, (size_t)s->nbytes, s, NULL, &al, &err);
			if (rc) {
				CHECK_MSG(rc == PT2C_ENOMEM && p == NULL, "%s: failing allocation %ld gave %d (%s)", names[k], n, rc, err.message);
				CHECK_EQ_INT(f.live, 0);
				continue;
			}
			pt2c_buf b;
			pt2c__buf_init(&b, NULL);
			pt2c_pt2_write_opts o = { names[k], NULL, NULL, 0, 0 };
			rc = pt2c__pt2_write(p, pt2c__sink_buf(&b), &o, &err);
			if (rc == 0) {
				done = true;
				same_bytes(names[k], s->data, (size_t)s->nbytes, b.data, b.len);
			} else {
				CHECK_MSG(rc == PT2C_ENOMEM, "%s: failing allocation %ld in write gave %d (%s)", names[k], n, rc, err.message);
			}
			pt2c__buf_free(&b);
			pt2c__program_free(p);
			CHECK_EQ_INT(f.live, 0);
		}
		CHECK(done);
		pt2c__storage_unref(s);
	}
}

/* Legacy archives: their own version record and required members. */
static void test_legacy_errors(void)
{
	static const struct { const char *version; bool constants; int code; const char *member, *msg; } C[] = {
		{ "7.1", true, PT2C_EUNSUPPORTED, "version", "'7.1'" },
		{ "8", true, PT2C_ECORRUPT, "version", "not <major>.<minor>" },
		{ "8.17", false, PT2C_ECORRUPT, "serialized_constants.pt", "no serialized_constants.pt" },
		{ "8.17", true, 0, "", "" }, /* an empty program loads */
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(C); i++) {
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		pt2c_zipw w;
		pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
		static const char DOC[] =
			"{\"graph_module\": {\"graph\": {\"inputs\": [], \"outputs\": [], \"nodes\": [], \"tensor_values\": {}, "
			"\"sym_int_values\": {}, \"sym_bool_values\": {}}, \"signature\": {\"input_specs\": [], \"output_specs\": []}, "
			"\"module_call_graph\": []}, \"opset_version\": {}, \"range_constraints\": {}, \"schema_version\": {\"major\": 8, \"minor\": 3}}";
		pt2c__zipw_add(&w, "serialized_exported_program.json", DOC, strlen(DOC));
		pt2c__zipw_add(&w, "serialized_state_dict.pt", "", 0);
		if (C[i].constants)
			pt2c__zipw_add(&w, "serialized_constants.pt", "", 0);
		pt2c__zipw_add(&w, "serialized_example_inputs.pt", "", 0);
		pt2c__zipw_add(&w, "version", C[i].version, strlen(C[i].version));
		REQUIRE(pt2c__zipw_finish(&w) == 0);
		pt2c__zipw_free(&w);
		pt2c_program *p = NULL;
		pt2c_error err;
		int rc = read_bytes(b.data, b.len, &p, &err);
		CHECK_MSG(rc == C[i].code, "case %zu: %d %s", i, rc, err.message);
		CHECK_STR(err.member, C[i].member);
		CHECK_MSG(strstr(err.message, C[i].msg) != NULL, "case %zu: %s", i, err.message);
		pt2c__program_free(p);
		pt2c__buf_free(&b);
	}
}

PT2C_TEST_MAIN({
	RUN(test_legacy_errors);
	RUN(test_opaque_custom_object);
	RUN(test_allocation_failures);
	RUN(test_engine_b64_argument);
	RUN(test_progress);
	RUN(test_fixture_archive_roundtrip);
	RUN(test_fixture_attributes);
	RUN(test_error_corpus);
	RUN(test_failed_read_frees_nested_subgraphs);
	RUN(test_nested_subgraphs_oom);
	RUN(test_old_layouts);
	RUN(test_extra_records_roundtrip);
})
