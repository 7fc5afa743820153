/*
 * partitioned_json.c -- read the JSON form of a Torch-TensorRT partitioned module
 * (../shared/fixtures/torch-2.11/README.md) into a pt2c_module.
 *
 * Accepted document (unknown keys are ignored everywhere):
 *   { "graph": [node...], "submodules": {name: sub}, "parameters": {fqn: attr},
 *     "buffers": {fqn: attr}, "constants": {fqn: attr}, "in_spec": str|null, "out_spec": str|null,
 *     "symbols": {name: [min|null, max|null]}, "op_schemas": {target: schema} }
 *   node = { "op": placeholder|get_attr|call_function|call_module|output, "name": str,
 *            "target": str, "args": [arg...], "kwargs": {key: arg}, "val": val }
 *   sub  = { "kind": "engine", "engine_record": [str...] }   (field 3 = base64 engine bytes)
 *        | { "kind": "graph", "graph": [...], "parameters": {...}, "buffers": {...}, "constants": {...} }
 *   attr = tensor meta + "data_b64": base64 of the raw little-endian bytes + optional
 *          "persistent": bool (buffers; default true)
 *   meta = { "dtype": "float32"|"torch.float32"|..., "sizes": [int|symbol], "strides": [int|symbol],
 *            "device": "cpu"|"cuda:0"|{"type": str, "index": int|null} (default cpu),
 *            "requires_grad": bool (default false) }
 *   val  = meta (TENSOR) | [meta...] (TENSOR_LIST) | null/absent (OTHER, no metadata)
 *        | int or symbol string or {"symint": int|expr} (SYM_INT) | bool (SYM_BOOL) | float (SYM_FLOAT)
 *        | {"repr": s}, or a list holding one (OTHER, no metadata: the IR has no mixed tuples)
 *   arg  = {"node": name}           -> FX_NODE (the node must come earlier in the graph)
 *        | [arg...]                 -> FX_LIST
 *        | int | float | bool | null | string -> INT | FLOAT | BOOL | NONE | STRING
 *        | one-key PT2 Argument objects: {"as_none": _}, {"as_int": i}, {"as_float": f or
 *          "Infinity"/"-Infinity"/"NaN"}, {"as_bool": b}, {"as_string": s},
 *          {"as_ints"|"as_floats"|"as_bools"|"as_strings": [...]}, {"as_scalar_type": i},
 *          {"as_layout": i}, {"as_memory_format": i}, {"as_device": {"type": s, "index": i|null}},
 *          {"as_sym_int": i | {"as_int": i} | {"as_name": value}},
 *          {"as_tensor": {"name": value}}
 * Bare NaN/Infinity tokens are accepted (Python's json.dump writes them).
 *
 * Archive form (docs/partitioned-format.md, entry pt2c__partitioned_json_read_ex with a member
 * resolver; partitioned_archive.c supplies one): an attribute may give "data_member": "weights/..."
 * plus optional "storage_offset" (elements) instead of data_b64, a view that must fit inside the
 * member; engine record field 3 may be {"member": "engines/..."}. Both become zero-copy storages
 * from the resolver. Without a resolver both forms are PT2C_ECORRUPT. Also accepted everywhere:
 * {"dtype": "float32"} as a SCALAR_TYPE argument.
 *
 * Errors: malformed structure is PT2C_ECORRUPT with err->member = a JSON pointer to the offending
 * value ("/graph/3/args/0", util/json_reader.h) and err->offset = its byte offset; graph violations found while
 * reading (duplicate names, references to undefined or later nodes) are PT2C_EGRAPH, placed the
 * same way. Everything the module keeps is copied into its ctx, so `data` may be freed after the
 * call; weights and engines are decoded straight into their owned storages (one allocation each).
 */
#include "serde/partitioned_json.h"
/* MARK: entry point */

int pt2c__partitioned_json_read(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                                pt2c_error *err)
{
	return pt2c__partitioned_json_read_ex(out, data, len, NULL, alloc, err);
}

/* One read of the document; par: large fallback graphs may go to worker threads (*deferred: some did). */
static int read_doc(pt2c_module **out, const char *data, size_t len, const pt2c_member_resolver *res,
                    const pt2c_allocator *alloc, pt2c_error *err, bool par, bool *deferred)
{
	pt2c_arena dom;
	pt2c__arena_init(&dom, alloc);
	pt2c_json *root = NULL;
	pt2c_json_opts opts = { PT2C_JSON_ALLOW_NONFINITE, 0 };
	/* "graph" arrays stay unexpanded: read_graph parses one node at a time */
	static const pt2c_json_lazy lazy = { "graph", false };
	pt2c_json_opts scan = opts;
	if (res && res->file_mapped)
		scan.flags |= PT2C_JSON_DROP_PAGES; /* the scan reads all of it: give pages back as it goes */
	/* the graph arrays are only delimited here: read_graph parses every node strictly */
	size_t n_skimmed = 0;
	int rc = pt2c__json_parse_skim(&root, data, len, &scan, &lazy, 1, &dom, &n_skimmed, err);
	if (rc) {
		if (res && res->member) pt2c__err_set_member(err, res->member);
		pt2c__arena_free(&dom);
		return rc;
	}
	/* the scan touched every page; the graph arrays page in again one by one as they are read */
	if (res && res->file_mapped) pt2c__drop_file_pages(data, len);
	prd *r = pt2c__calloc(alloc, 1, sizeof *r); /* the path stack is a few KB: keep it off the stack */
	pt2c_ctx *ctx = NULL;
	pt2c_module *m = NULL;
	if (!r || pt2c__ctx_new(&ctx, alloc) != 0 || pt2c__module_new(ctx, &m) != 0) {
		rc = pt2c__err_oom(err);
		goto done;
	}
	pt2c__jr_init(&r->jr, data, len, res ? res->member : NULL, err);
	r->ctx = ctx;
	r->alloc = alloc;
	r->data = data;
	r->len = len;
	r->err = err;
	r->res = res;
	r->dom = &dom;
	r->opts = opts;
	r->par = par;
	r->drop_step = PT2C_DROP_STEP;
	pt2c__arena_init(&r->node_dom, alloc);
	pt2c__meta_pool_init(&r->metas, alloc);
	if (root->type != PT2C_JSON_OBJECT)
		rc = type_error(r, root, "a partitioned module object");
	/* submodules first: they own no graph references of the top graph, and failures there are cheap */
	if (!rc) rc = read_submodules(r, m, root);
	if (r) r->par = false; /* the top module's own graph is read in order */
	if (!rc) rc = read_module_body(r, m, root);
	if (!rc) rc = read_spec(r, root, "in_spec", &m->in_spec);
	if (!rc) rc = read_spec(r, root, "out_spec", &m->out_spec);
	if (!rc) rc = read_symbols(r, m, root);
	if (!rc) rc = read_op_schemas(r, m, root);
	/* skimmed arrays are valid once read whole; any failure may be a syntax error met late
	 * (unless the document is read again in order, which settles it) */
	if (r) *deferred = rc && r->deferred;
	if (r && !*deferred)
		rc = pt2c__json_skim_settle(rc, n_skimmed, r->raw_done, data, len, &scan, &lazy, 1, alloc,
		                            res ? res->member : NULL, err);
done:
	if (r) {
		r->alloc = alloc; /* set already, unless a failure came before the reader was filled in */
		scratch_free(r);
	}
	pt2c__free(alloc, r);
	pt2c__arena_free(&dom);
	if (rc) {
		pt2c__module_free(m);
	} else {
		*out = m;
	}
	pt2c__ctx_unref(ctx);
	return rc;
}

int pt2c__partitioned_json_read_ex(pt2c_module **out, const char *data, size_t len, const pt2c_member_resolver *res,
                                   const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && (data || len == 0) && (!res || res->resolve));
	*out = NULL;
	pt2c_error before;
	if (err) before = *err;
	bool deferred = false;
	int rc = read_doc(out, data, len, res, alloc, err, true, &deferred);
	if (rc && deferred) {
		/* a failure while graphs were read on workers: read it in order, which names the first
		 * error in document order, as it always has. What failed only there (an allocation
		 * failure, say) may not fail again: then the second read's module is the result. */
		if (err) *err = before;
		pt2c__partitioned_count_reread();
		rc = read_doc(out, data, len, res, alloc, err, false, &deferred);
	}
	return rc;
}
