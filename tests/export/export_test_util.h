/*
 * export_test_util.h -- helpers for the export tests: a compact structural rendering of a
 * program (input specs, nodes with schema-named arguments, outputs) that tests compare with
 * expectations transcribed from the seed's printed programs, and fixture loading.
 */
#ifndef PT2C_EXPORT_TEST_UTIL_H
#define PT2C_EXPORT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "export/export.h"
#include "serde/serde.h"

static inline const char *tu_vname(pt2c_graph *g, uint32_t ref)
{
	if (ref >= g->n_values) return "?";
	return g->values[pt2c__value_resolve(g, ref)].name;
}

static inline void tu_arg(pt2c_buf *b, pt2c_graph *g, const pt2c_arg *a)
{
	switch (a->kind) {
	case PT2C_ARG_NONE: pt2c__buf_puts(b, "None"); break;
	case PT2C_ARG_TENSOR: pt2c__buf_puts(b, tu_vname(g, a->u.ref)); break;
	case PT2C_ARG_CUSTOM_OBJ: pt2c__buf_printf(b, "obj:%s", tu_vname(g, a->u.obj.ref)); break;
	case PT2C_ARG_SYM_INT:
		if (a->flags & PT2C_ARGF_LITERAL) pt2c__buf_printf(b, "%lld", (long long)a->u.i);
		else pt2c__buf_printf(b, "sym:%s", tu_vname(g, a->u.ref));
		break;
	case PT2C_ARG_INT: pt2c__buf_printf(b, "%lld", (long long)a->u.i); break;
	case PT2C_ARG_FLOAT: pt2c__buf_printf(b, "%g", a->u.f); break;
	case PT2C_ARG_BOOL: pt2c__buf_puts(b, a->u.b ? "True" : "False"); break;
	case PT2C_ARG_STRING: pt2c__buf_printf(b, "'%.*s'", (int)(a->n > 40 ? 40 : a->n), a->u.s); break;
	case PT2C_ARG_ENGINE_B64: pt2c__buf_puts(b, "<engine>"); break;
	default:
		if (pt2c__arg_is_list(a->kind)) {
			pt2c__buf_puts(b, "[");
			for (uint32_t i = 0; i < a->n; i++) {
				if (i) pt2c__buf_puts(b, ", ");
				tu_arg(b, g, &a->u.items[i]);
			}
			pt2c__buf_puts(b, "]");
		} else {
			pt2c__buf_printf(b, "<kind %d>", a->kind);
		}
	}
}

static inline const char *tu_in_kind(int k)
{
	switch (k) {
	case PT2C_IN_USER_INPUT: return "user";
	case PT2C_IN_PARAMETER: return "parameter";
	case PT2C_IN_BUFFER: return "buffer";
	case PT2C_IN_TENSOR_CONSTANT: return "tensor_constant";
	case PT2C_IN_CUSTOM_OBJ: return "custom_obj";
	default: return "other";
	}
}

/* "in <kind> <name> [<target>][ persistent]" lines, "<name> = <target>(a=..., ...) -> outs" lines, "out <arg>" lines. */
static inline char *tu_render(pt2c_program *p)
{
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_graph *g = p->mod->graph;
	for (uint32_t i = 0; i < p->n_inputs; i++) {
		const pt2c_input_spec *s = &p->inputs[i];
		pt2c__buf_printf(&b, "in %s ", tu_in_kind(s->kind));
		tu_arg(&b, g, &s->arg);
		if (s->target) pt2c__buf_printf(&b, " %s", s->target);
		if (s->kind == PT2C_IN_BUFFER && s->persistent) pt2c__buf_puts(&b, " persistent");
		pt2c__buf_puts(&b, "\n");
	}
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_CALL_FUNCTION) continue;
		pt2c__buf_printf(&b, "%s = %s(", nd->name, nd->target);
		for (uint32_t i = 0; i < nd->n_inputs; i++) {
			if (i) pt2c__buf_puts(&b, ", ");
			pt2c__buf_printf(&b, "%s%s=", nd->inputs[i].kind == PT2C_ARGKIND_KEYWORD ? "*" : "",
			                 nd->inputs[i].name ? nd->inputs[i].name : "?");
			tu_arg(&b, g, &nd->inputs[i].arg);
		}
		pt2c__buf_puts(&b, ") ->");
		for (uint32_t i = 0; i < nd->n_outputs; i++) {
			pt2c__buf_puts(&b, " ");
			tu_arg(&b, g, &nd->outputs[i]);
		}
		pt2c__buf_puts(&b, "\n");
	}
	for (uint32_t i = 0; i < p->n_outputs; i++) {
		pt2c__buf_puts(&b, "out ");
		tu_arg(&b, g, &p->outputs[i].arg);
		pt2c__buf_puts(&b, "\n");
	}
	pt2c__buf_cstr(&b);
	size_t n;
	return pt2c__buf_detach(&b, &n);
}

static uint8_t *tu_kept[64];
static size_t tu_n_kept;
static inline void tu_keep(uint8_t *p) { if (tu_n_kept < 64) tu_kept[tu_n_kept++] = p; }
static inline void tu_release(void) { while (tu_n_kept) free(tu_kept[--tu_n_kept]); }

/* Read fixtures/torch-2.11/<name>.partitioned.json into a module (NULL on failure, reported). */
static inline pt2c_module *tu_load_partitioned(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s.partitioned.json", name);
	size_t len = 0;
	uint8_t *data = read_file(shared_path(rel), &len);
	if (!data) {
		pt2c_test_fail(__FILE__, __LINE__, "cannot read %s", rel);
		return NULL;
	}
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, (const char *)data, len, NULL, &err);
	tu_keep(data); /* the module may keep views into its input: freed at the end */
	if (rc) {
		pt2c_test_fail(__FILE__, __LINE__, "reading %s: %d %s", rel, rc, err.message);
		return NULL;
	}
	return m;
}

/* Export a fixture; NULL on failure (reported). */
static inline pt2c_program *tu_export(const char *name, bool cross)
{
	pt2c_module *m = tu_load_partitioned(name);
	if (!m) return NULL;
	pt2c_program *p = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__export_module(&p, &m, cross, NULL, &err);
	if (rc) {
		pt2c_test_fail(__FILE__, __LINE__, "exporting %s (%s): %d %s", name, cross ? "cross" : "normal", rc, err.message);
		return NULL;
	}
	return p;
}

/* JSON fragments for partitioned modules (format: serde/partitioned_json.c) */
#define PH(n, meta) "{\"op\": \"placeholder\", \"name\": \"" n "\", \"target\": \"" n "\", \"args\": [], \"kwargs\": {}, \"val\": " meta "}"
#define GA(n, t, meta) "{\"op\": \"get_attr\", \"name\": \"" n "\", \"target\": \"" t "\", \"args\": [], \"kwargs\": {}, \"val\": " meta "}"
#define CF(n, t, args, meta) "{\"op\": \"call_function\", \"name\": \"" n "\", \"target\": \"" t "\", \"args\": " args ", \"kwargs\": {}, \"val\": " meta "}"
#define CFK(n, t, args, kw, meta) "{\"op\": \"call_function\", \"name\": \"" n "\", \"target\": \"" t "\", \"args\": " args ", \"kwargs\": " kw ", \"val\": " meta "}"
#define CM(n, args, val) "{\"op\": \"call_module\", \"name\": \"" n "\", \"target\": \"" n "\", \"args\": " args ", \"kwargs\": {}, \"val\": " val "}"
#define GI(n, src, i, meta) CF(n, "_operator.getitem", "[{\"node\": \"" src "\"}, " #i "]", meta)
#define OUT(args) "{\"op\": \"output\", \"name\": \"output\", \"target\": \"output\", \"args\": [" args "], \"kwargs\": {}}"
#define N(x) "{\"node\": \"" x "\"}"
#define ZEROS24 "\"data_b64\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""
#define M_F32_23 "{\"dtype\": \"float32\", \"sizes\": [2, 3], \"strides\": [3, 1]}"
#define ENGINE_REC(name) "[\"6\", \"" name "\", \"0%9%0%1%NVIDIA H100 80GB HBM3\", \"AAECAw==\", \"input_0\", \"output_0\", \"0\", \"gAJ9cQAu\", \"linux_x86_64\"]"

#define M_F32_32 "{\"dtype\": \"float32\", \"sizes\": [3, 2], \"strides\": [2, 1]}"

/* Read a module from JSON text. */
static inline pt2c_module *load(const char *json)
{
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c__partitioned_json_read(&m, json, strlen(json), NULL, &err);
	if (rc) pt2c_test_fail(__FILE__, __LINE__, "partitioned JSON: %d %s (at %s)", rc, err.message, err.member);
	return m;
}

static inline pt2c_program *export_json(const char *json, bool cross, int *rc_out, pt2c_error *err)
{
	pt2c_module *m = load(json);
	if (!m) return NULL;
	pt2c_program *p = NULL;
	int rc = pt2c__export_module(&p, &m, cross, NULL, err);
	if (rc_out) *rc_out = rc;
	else if (rc) pt2c_test_fail(__FILE__, __LINE__, "export: %d %s", rc, err->message);
	CHECK(m == NULL);
	return p;
}

static inline const pt2c_value *value_named(pt2c_program *p, const char *name)
{
	pt2c_graph *g = p->mod->graph;
	uint32_t v = pt2c__graph_find_value(g, name, strlen(name));
	return v == PT2C_NONE ? NULL : &g->values[v];
}

#define CHECK_RENDER(p, expected) do { char *_r = tu_render(p); \
	if (strcmp(_r, expected) != 0) pt2c_test_fail(__FILE__, __LINE__, "program differs:\n--- got\n%s--- expected\n%s", _r, expected); \
	free(_r); } while (0)

#endif
