/*
 * pt2json_read.c -- models/model.json (ExportedProgram, schema 8.17) -> program IR.
 *
 * Every PT2 struct is read with unknown keys ignored and the defaults of pt2-format.md §4.3 for
 * absent keys. Errors name the JSON pointer of the offending value (err->member, prefixed by the
 * archive member when called through pt2c__pt2json_read_ex) and its byte offset.
 *
 * Values are created as they are defined (placeholders first, then node outputs in order), so a
 * reference to a name not yet defined is a dangling reference: that is exactly torch's rule.
 *
 * This file holds the entry points and the clean-up of a failed read; the reader's parts are
 * listed in pt2json_read.h.
 */
#include <stdio.h>

#include "serde/pt2json_read.h"

/* MARK: entry points */

/* Clear GRAPH arguments (in node inputs, maps included) so that freed subgraphs are not referenced. */
static void drop_arg_graphs(pt2c_arg *a, uint32_t depth)
{
	if (depth > ARG_MAX_DEPTH)
		return;
	if (a->kind == PT2C_ARG_GRAPH)
		a->u.g.graph = NULL;
	else if (a->kind == PT2C_ARG_STRING_TO_ARGUMENT)
		for (uint32_t i = 0; i < a->n; i++)
			drop_arg_graphs(&a->u.map->items[i], depth + 1);
}

static void drop_graph_refs(pt2c_graph *g)
{
	for (uint32_t i = 0; i < g->n_nodes; i++)
		for (uint32_t j = 0; j < g->nodes[i].n_inputs; j++)
			drop_arg_graphs(&g->nodes[i].inputs[j].arg, 0);
}

/* What pt2c__pt2json_read_text left unvalidated (pt2c__json_parse_skim), and how to parse it again. */
typedef struct skimmed {
	size_t n;                   /* lazy spans skimmed */
	const pt2c_json_opts *scan; /* the options of the scan */
} skimmed;

static const pt2c_json_lazy LAZY[] = { { "nodes", false }, { "tensor_values", true } };

static int read_ex(pt2c_program *p, const pt2c_json *root, const char *src, size_t src_len,
                   const pt2c_json_opts *jopts, bool file_mapped, const skimmed *sk, const char *member,
                   pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->ctx && p->mod);
	rd *r = pt2c__calloc(p->ctx->alloc, 1, sizeof *r);
	if (!r)
		return pt2c__err_oom(err);
	pt2c__jr_init(&r->jr, src, src_len, member, err);
	r->ctx = p->ctx;
	r->err = err;
	r->src = src;
	r->src_len = src_len;
	r->jopts = *jopts;
	r->file_mapped = file_mapped;
	int rc = read_program(r, p, root);
	/* skimmed spans are valid once read whole; any failure may be a syntax error met late */
	if (sk)
		rc = pt2c__json_skim_settle(rc, sk->n, r->raw_done, src, src_len, sk->scan, LAZY, PT2C_ARRAY_LEN(LAZY),
		                            p->ctx->alloc, member, err);
	if (rc && r->n_subs) {
		/* nothing may keep pointing at the subgraphs freed here */
		if (p->mod->graph)
			drop_graph_refs(p->mod->graph);
		for (size_t i = 0; i < r->n_subs; i++)
			drop_graph_refs(r->subs[i]);
		for (size_t i = 0; i < r->n_subs; i++)
			pt2c__graph_free(r->subs[i]);
	}
	pt2c__free(p->ctx->alloc, r->subs);
	pt2c__free(p->ctx->alloc, r);
	return rc;
}

int pt2c__pt2json_read_ex(pt2c_program *p, const pt2c_json *root, const char *src, size_t src_len,
                          const char *member, pt2c_error *err)
{
	pt2c_json_opts jo = { PT2C_JSON_ALLOW_NONFINITE, 0 };
	return read_ex(p, root, src, src_len, &jo, false, NULL, member, err);
}

int pt2c__pt2json_read_text(pt2c_program *p, const char *src, size_t src_len, const pt2c_json_opts *opts,
                            bool file_mapped, const char *member, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->ctx && (src || src_len == 0));
	pt2c_arena arena;
	pt2c__arena_init(&arena, p->ctx->alloc);
	pt2c_json *root = NULL;
	pt2c_json_opts jo = opts ? *opts : (pt2c_json_opts){ PT2C_JSON_ALLOW_NONFINITE, 0 };
	pt2c_json_opts scan = jo;
	if (file_mapped)
		scan.flags |= PT2C_JSON_DROP_PAGES; /* the scan reads all of it: give pages back as it goes */
	skimmed sk = { 0, &scan };
	int rc = pt2c__json_parse_skim(&root, src, src_len, &scan, LAZY, PT2C_ARRAY_LEN(LAZY), &arena, &sk.n, err);
	if (rc) {
		if (member && rc != PT2C_ENOMEM)
			pt2c__err_set_member(err, member);
	} else {
		/* the scan touched every page; the lazy spans page in again one by one as they are read */
		if (file_mapped)
			pt2c__drop_file_pages(src, src_len);
		rc = read_ex(p, root, src, src_len, &jo, file_mapped, &sk, member, err);
	}
	pt2c__arena_free(&arena);
	return rc;
}

int pt2c__pt2json_read(pt2c_program *p, const pt2c_json *root, pt2c_error *err)
{
	return pt2c__pt2json_read_ex(p, root, NULL, 0, NULL, err);
}
