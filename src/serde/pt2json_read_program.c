/*
 * pt2json_read_program.c -- model.json reader: the ExportedProgram header (schema version, opsets,
 * range constraints, verifiers), the graph module's signature and module call graph (treespecs
 * checked against the signature). See pt2json_read.h.
 */
#include <stdio.h>

#include "serde/pt2json_read.h"

/* MARK: signature, call graph, header */

static int read_input_spec(rd *r, gst *s, const pt2c_json *v, pt2c_input_spec *out)
{
	const pt2c_json *tag = NULL, *val = NULL, *av = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	AT_N(r, tag->u.s, tag->n);
	r->cur_node = "input_specs";
	r->cur_input = "arg";
	const char *tkey = NULL;
	bool tensor = true;
	if (str_is(tag, "user_input")) {
		out->kind = PT2C_IN_USER_INPUT;
		tensor = false;
	} else if (str_is(tag, "parameter")) {
		out->kind = PT2C_IN_PARAMETER;
		tkey = "parameter_name";
	} else if (str_is(tag, "buffer")) {
		out->kind = PT2C_IN_BUFFER;
		tkey = "buffer_name";
	} else if (str_is(tag, "tensor_constant")) {
		out->kind = PT2C_IN_TENSOR_CONSTANT;
		tkey = "tensor_constant_name";
	} else if (str_is(tag, "custom_obj")) {
		out->kind = PT2C_IN_CUSTOM_OBJ;
		tkey = "custom_obj_name";
	} else if (str_is(tag, "token")) {
		out->kind = PT2C_IN_TOKEN;
	} else if (str_is(tag, "constant_input")) {
		out->kind = PT2C_IN_CONSTANT_INPUT;
	} else {
		return FAIL(r, tag, "unknown InputSpec tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	}
	if (out->kind == PT2C_IN_CONSTANT_INPUT) {
		if ((rc = req_intern(r, val, "name", &out->target)) || (rc = req(r, val, "value", &av)))
			return rc;
		AT(r, "value");
		return read_arg(r, s, av, MODE_REF, &out->arg);
	}
	if ((rc = req(r, val, "arg", &av)))
		return rc;
	{
		AT(r, "arg");
		if (!tensor)
			rc = read_arg(r, s, av, MODE_REF, &out->arg);
		else if (out->kind == PT2C_IN_CUSTOM_OBJ)
			rc = custom_obj_arg(r, s, av, MODE_REF, &out->arg);
		else
			rc = tensor_arg(r, s, av, MODE_REF, &out->arg);
		if (rc)
			return rc;
	}
	if (tkey && (rc = req_intern(r, val, tkey, &out->target)))
		return rc;
	if (out->kind == PT2C_IN_BUFFER)
		rc = pt2c__jr_field_bool(&r->jr, val, "persistent", 0, &out->persistent, NULL);
	return rc;
}

static int read_output_spec(rd *r, gst *s, const pt2c_json *v, pt2c_output_spec *out)
{
	static const struct { const char *tag; uint8_t kind; const char *tkey; } T[] = {
		{ "user_output", PT2C_OUT_USER_OUTPUT, NULL },
		{ "loss_output", PT2C_OUT_LOSS_OUTPUT, NULL },
		{ "buffer_mutation", PT2C_OUT_BUFFER_MUTATION, "buffer_name" },
		{ "gradient_to_parameter", PT2C_OUT_GRADIENT_TO_PARAMETER, "parameter_name" },
		{ "gradient_to_user_input", PT2C_OUT_GRADIENT_TO_USER_INPUT, "user_input_name" },
		{ "user_input_mutation", PT2C_OUT_USER_INPUT_MUTATION, "user_input_name" },
		{ "token", PT2C_OUT_TOKEN, NULL },
		{ "parameter_mutation", PT2C_OUT_PARAMETER_MUTATION, "parameter_name" },
	};
	const pt2c_json *tag = NULL, *val = NULL, *av = NULL;
	int rc = union_of(r, v, &tag, &val);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	size_t k = 0;
	for (k = 0; k < PT2C_ARRAY_LEN(T); k++)
		if (str_is(tag, T[k].tag))
			break;
	if (k == PT2C_ARRAY_LEN(T))
		return FAIL(r, tag, "unknown OutputSpec tag '%.*s'", (int)(tag->n > 60 ? 60 : tag->n), tag->u.s);
	out->kind = T[k].kind;
	AT_N(r, tag->u.s, tag->n);
	r->cur_node = "output_specs";
	r->cur_input = "arg";
	if (!(rc = req(r, val, "arg", &av))) {
		AT(r, "arg");
		rc = out->kind == PT2C_OUT_USER_OUTPUT ? read_arg(r, s, av, MODE_REF, &out->arg)
		                                      : tensor_arg(r, s, av, MODE_REF, &out->arg);
	}
	if (!rc && T[k].tkey)
		rc = req_intern(r, val, T[k].tkey, &out->target);
	return rc;
}

static int read_str_list(rd *r, const pt2c_json *l, const char ***out, uint32_t *n)
{
	int rc = want(r, l, PT2C_JSON_ARRAY);
	if (rc)
		return rc;
	*n = l->n;
	*out = arena_array(r, l->n, sizeof(const char *));
	if (l->n && !*out)
		return pt2c__err_oom(r->err);
	EACH(r, it, l, !rc)
		rc = intern_str(r, it.val, &(*out)[it.i]);
	return rc;
}

/*
 * A treespec string (torch.utils._pytree protocol 1: `[1, node]`, node = {"type": str | null,
 * "context": str | null, "children_spec": [node...]}, a leaf has type null and no children) is
 * parsed far enough to check its structure and count its leaves; want >= 0: the count it must
 * have (the root call's user inputs / outputs). `v` is the string in the document (for the
 * position), `key` the field named in messages.
 */
static int check_treespec(rd *r, const pt2c_json *v, const char *key, const char *spec, int64_t want)
{
	pt2c_arena a;
	pt2c__arena_init(&a, r->ctx->alloc);
	pt2c_error e = PT2C_ERROR_INIT;
	pt2c_json *root = NULL;
	pt2c_json_opts jo = { 0, r->jopts.max_depth };
	const pt2c_json **stack = NULL;
	size_t n = 0, cap = 0;
	int64_t leaves = 0;
	AT(r, key);
	int rc = pt2c__json_parse(&root, spec, strlen(spec), &jo, &a, &e);
	if (rc == PT2C_ENOMEM) {
		rc = pt2c__err_oom(r->err);
		goto done;
	}
	if (rc) {
		rc = FAIL(r, v, "not a treespec: %s (at byte %llu of the string)", e.message, (unsigned long long)e.offset);
		goto done;
	}
	const pt2c_json *proto = pt2c__json_at(root, 0);
	if (!pt2c__json_is(root, PT2C_JSON_ARRAY) || root->n != 2 || !pt2c__json_is(proto, PT2C_JSON_INT)) {
		rc = FAIL(r, v, "not a treespec: expected [protocol, spec]");
		goto done;
	}
	if (proto->u.i != 1) {
		rc = FAIL(r, v, "treespec protocol %lld is not supported (1 expected)", (long long)proto->u.i);
		goto done;
	}
	if (pt2c__grow(r->ctx->alloc, (void **)&stack, &cap, 1, sizeof *stack)) {
		rc = pt2c__err_oom(r->err);
		goto done;
	}
	stack[n++] = pt2c__json_at(root, 1);
	while (n && !rc) {
		const pt2c_json *node = stack[--n];
		const pt2c_json *ty = pt2c__json_get(node, "type"), *cx = pt2c__json_get(node, "context");
		const pt2c_json *ch = pt2c__json_get(node, "children_spec");
		if (!pt2c__json_is(node, PT2C_JSON_OBJECT) || node->n != 3 || !ch || !cx || !ty ||
		    !(pt2c__json_is(ty, PT2C_JSON_NULL) || pt2c__json_is(ty, PT2C_JSON_STRING)) ||
		    !(pt2c__json_is(cx, PT2C_JSON_NULL) || pt2c__json_is(cx, PT2C_JSON_STRING)) ||
		    !pt2c__json_is(ch, PT2C_JSON_ARRAY)) {
			rc = FAIL(r, v, "not a treespec: the node at byte %llu of the string is not "
			          "{\"type\": str|null, \"context\": str|null, \"children_spec\": [...]}",
			          (unsigned long long)(node ? node->pos : 0));
			break;
		}
		if (pt2c__json_is(ty, PT2C_JSON_NULL)) {
			if (ch->n) {
				rc = FAIL(r, v, "not a treespec: a leaf (type null) with %u children at byte %llu of the string",
				          (unsigned)ch->n, (unsigned long long)node->pos);
				break;
			}
			leaves++;
			continue;
		}
		if (n + ch->n > cap && pt2c__grow(r->ctx->alloc, (void **)&stack, &cap, n + ch->n, sizeof *stack)) {
			rc = pt2c__err_oom(r->err);
			break;
		}
		for (uint32_t i = 0; i < ch->n; i++)
			stack[n++] = &ch->u.items[i];
	}
	if (!rc && want >= 0 && leaves != want)
		rc = FAIL(r, v, "treespec has %lld leaves, the graph signature %lld user %s", (long long)leaves,
		          (long long)want, strcmp(key, "in_spec") == 0 ? "inputs" : "outputs");
done:
	pt2c__free(r->ctx->alloc, stack);
	pt2c__arena_free(&a);
	return rc;
}

/* The signature of module call c (its path already on the stack). */
static int read_call_signature(rd *r, pt2c_program *p, gst *s, pt2c_module_call *c, const pt2c_json *sg)
{
	int rc;
	c->has_signature = true;
	const pt2c_json *ia = NULL, *oa = NULL, *fa = NULL;
	if ((rc = req(r, sg, "inputs", &ia)) || (rc = req(r, sg, "outputs", &oa)) ||
	    (rc = req_intern(r, sg, "in_spec", &c->in_spec)) || (rc = req_intern(r, sg, "out_spec", &c->out_spec)))
		return rc;
	{
		/* the root call's specs flatten to the program's user inputs and outputs */
		bool root = c->fqn[0] == '\0';
		int64_t n_in = 0, n_out = 0;
		for (uint32_t j = 0; j < p->n_inputs; j++)
			n_in += p->inputs[j].kind == PT2C_IN_USER_INPUT || p->inputs[j].kind == PT2C_IN_CONSTANT_INPUT;
		for (uint32_t j = 0; j < p->n_outputs; j++)
			n_out += p->outputs[j].kind == PT2C_OUT_USER_OUTPUT;
		if ((rc = check_treespec(r, pt2c__json_get(sg, "in_spec"), "in_spec", c->in_spec, root ? n_in : -1)) ||
		    (rc = check_treespec(r, pt2c__json_get(sg, "out_spec"), "out_spec", c->out_spec, root ? n_out : -1)))
			return rc;
	}
	for (int pass = 0; pass < 2 && !rc; pass++) {
		const pt2c_json *al = pass ? oa : ia;
		AT(r, pass ? "outputs" : "inputs");
		if (!(rc = want(r, al, PT2C_JSON_ARRAY))) {
			pt2c_arg *arr = arena_array(r, al->n, sizeof(pt2c_arg));
			if (al->n && !arr)
				rc = pt2c__err_oom(r->err);
			EACH(r, it, al, !rc) {
				r->cur_input = pass ? "outputs" : "inputs";
				rc = read_arg(r, s, it.val, MODE_REF, &arr[it.i]);
			}
			if (pass) {
				c->outputs = arr;
				c->n_outputs = al->n;
			} else {
				c->inputs = arr;
				c->n_inputs = al->n;
			}
		}
	}
	if (rc)
		return rc;
	fa = opt(sg, "forward_arg_names");
	if (fa) {
		c->has_forward_arg_names = true;
		AT(r, "forward_arg_names");
		rc = read_str_list(r, fa, &c->forward_arg_names, &c->n_forward_arg_names);
	}
	return rc;
}

static int read_calls(rd *r, pt2c_program *p, gst *s, const pt2c_json *l)
{
	int rc = want(r, l, PT2C_JSON_ARRAY);
	if (rc)
		return rc;
	p->n_calls = l->n;
	p->calls = arena_array(r, l->n, sizeof *p->calls);
	if (l->n && !p->calls)
		return pt2c__err_oom(r->err);
	r->cur_node = "module_call_graph";
	EACH(r, it, l, !rc) {
		pt2c_module_call *c = &p->calls[it.i];
		const pt2c_json *sg;
		if ((rc = req_intern(r, it.val, "fqn", &c->fqn)))
			break;
		if ((sg = opt(it.val, "signature"))) {
			AT(r, "signature");
			rc = read_call_signature(r, p, s, c, sg);
		}
	}
	return rc;
}

static int read_kvs(rd *r, const pt2c_json *o, pt2c_kv **out, uint32_t *n)
{
	int rc = want(r, o, PT2C_JSON_OBJECT);
	if (rc)
		return rc;
	*n = o->n;
	*out = arena_array(r, o->n, sizeof(pt2c_kv));
	if (o->n && !*out)
		return pt2c__err_oom(r->err);
	EACH(r, it, o, !rc) {
		rc = intern_str(r, it.key, &(*out)[it.i].key);
		if (!rc)
			rc = view_str(r, it.val, &(*out)[it.i].val, &(*out)[it.i].val_len);
	}
	return rc;
}

/* graph_module: graph, signature, module call graph, metadata, namedtuple fields */
static int read_graph_module(rd *r, pt2c_program *p, const pt2c_json *gm)
{
	const pt2c_json *gv = NULL, *sig = NULL, *mcg = NULL;
	int rc;
	if ((rc = req(r, gm, "graph", &gv)) || (rc = req(r, gm, "signature", &sig)) ||
	    (rc = req(r, gm, "module_call_graph", &mcg)))
		return rc;
	pt2c_graph *g = p->mod->graph;
	if (!g) {
		if (pt2c__graph_new(p->ctx, &p->mod->graph))
			return pt2c__err_oom(r->err);
		g = p->mod->graph;
	}
	{
		AT(r, "graph");
		if ((rc = read_graph(r, gv, g)))
			return rc;
	}
	/* the signature and call graph reference top-level values; no new definitions */
	gst s;
	memset(&s, 0, sizeof s);
	s.g = g;
	{
		AT(r, "signature");
		const pt2c_json *is = NULL, *os = NULL;
		if ((rc = pt2c__jr_field(&r->jr, sig, "input_specs", PT2C_JSON_ARRAY, 0, &is)) ||
		    (rc = pt2c__jr_field(&r->jr, sig, "output_specs", PT2C_JSON_ARRAY, 0, &os)))
			return rc;
		{
			AT(r, "input_specs");
			p->n_inputs = is->n;
			p->inputs = arena_array(r, is->n, sizeof *p->inputs);
			if (is->n && !p->inputs)
				rc = pt2c__err_oom(r->err);
			EACH(r, it, is, !rc)
				rc = read_input_spec(r, &s, it.val, &p->inputs[it.i]);
			if (rc)
				return rc;
		}
		AT(r, "output_specs");
		p->n_outputs = os->n;
		p->outputs = arena_array(r, os->n, sizeof *p->outputs);
		if (os->n && !p->outputs)
			rc = pt2c__err_oom(r->err);
		EACH(r, it, os, !rc)
			rc = read_output_spec(r, &s, it.val, &p->outputs[it.i]);
		if (rc)
			return rc;
	}
	{
		AT(r, "module_call_graph");
		if ((rc = read_calls(r, p, &s, mcg)))
			return rc;
	}
	const pt2c_json *md = opt(gm, "metadata");
	if (md) {
		AT(r, "metadata");
		if ((rc = read_kvs(r, md, &p->gm_meta, &p->n_gm_meta)))
			return rc;
	}
	const pt2c_json *nt = opt(gm, "treespec_namedtuple_fields");
	if (nt) {
		AT(r, "treespec_namedtuple_fields");
		if (!(rc = want(r, nt, PT2C_JSON_OBJECT))) {
			p->n_namedtuples = nt->n;
			p->namedtuples = arena_array(r, nt->n, sizeof *p->namedtuples);
			if (nt->n && !p->namedtuples)
				rc = pt2c__err_oom(r->err);
			EACH(r, it, nt, !rc) {
				const pt2c_json *fl;
				if (!(rc = intern_str(r, it.key, &p->namedtuples[it.i].type)) &&
				    !(rc = pt2c__jr_field(&r->jr, it.val, "field_names", PT2C_JR_ANY, 0, &fl))) {
					AT(r, "field_names");
					rc = read_str_list(r, fl, &p->namedtuples[it.i].fields, &p->namedtuples[it.i].n);
				}
			}
		}
	}
	return rc;
}

int read_program(rd *r, pt2c_program *p, const pt2c_json *root)
{
	if (!pt2c__json_is(root, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(&r->jr, root, "an ExportedProgram object");
	const pt2c_json *gm = NULL, *opset = NULL, *ranges = NULL, *sv = NULL;
	int rc;
	if ((rc = req(r, root, "graph_module", &gm)) || (rc = req(r, root, "opset_version", &opset)) ||
	    (rc = req(r, root, "range_constraints", &ranges)) || (rc = req(r, root, "schema_version", &sv)))
		return rc;
	/* schema version first: it decides whether the rest can be understood */
	{
		AT(r, "schema_version");
		if ((rc = req_int(r, sv, "major", &p->schema_major)) || (rc = req_int(r, sv, "minor", &p->schema_minor)))
			return rc;
		if (p->schema_major != 8 && !(p->schema_major == 0 && p->schema_minor == 0))
			return fail_code(r, PT2C_EUNSUPPORTED, sv, "schema version %lld.%lld is not supported (major 8 expected)",
			                 (long long)p->schema_major, (long long)p->schema_minor);
	}
	{
		AT(r, "graph_module");
		if ((rc = read_graph_module(r, p, gm)))
			return rc;
	}

	/* opset_version */
	{
		AT(r, "opset_version");
		if (!(rc = want(r, opset, PT2C_JSON_OBJECT))) {
			p->n_opsets = opset->n;
			p->opsets = arena_array(r, opset->n, sizeof *p->opsets);
			if (opset->n && !p->opsets)
				rc = pt2c__err_oom(r->err);
			EACH(r, it, opset, !rc) {
				if (!(rc = intern_str(r, it.key, &p->opsets[it.i].name)))
					rc = get_int(r, it.val, &p->opsets[it.i].version);
			}
		}
		if (rc)
			return rc;
	}
	/* range_constraints */
	{
		AT(r, "range_constraints");
		if (!(rc = want(r, ranges, PT2C_JSON_OBJECT))) {
			p->n_ranges = ranges->n;
			p->ranges = arena_array(r, ranges->n, sizeof *p->ranges);
			if (ranges->n && !p->ranges)
				rc = pt2c__err_oom(r->err);
			EACH(r, it, ranges, !rc) {
				const pt2c_json *rv = it.val, *mn, *mx;
				pt2c_symrange *sr = &p->ranges[it.i];
				if (!(rc = intern_str(r, it.key, &sr->name)) && !(rc = req(r, rv, "min_val", &mn)) &&
				    !(rc = req(r, rv, "max_val", &mx))) {
					if (mn->type != PT2C_JSON_NULL) {
						AT(r, "min_val");
						rc = get_int(r, mn, &sr->min);
						sr->has_min = true;
					}
					if (!rc && mx->type != PT2C_JSON_NULL) {
						AT(r, "max_val");
						rc = get_int(r, mx, &sr->max);
						sr->has_max = true;
					}
				}
			}
		}
		if (rc)
			return rc;
	}
	/* defaulted header fields */
	const pt2c_json *ver = opt(root, "verifiers"), *tv = opt(root, "torch_version"), *gc = opt(root, "guards_code");
	p->n_verifiers = 0;
	p->verifiers = NULL;
	if (ver) {
		AT(r, "verifiers");
		if ((rc = read_str_list(r, ver, &p->verifiers, &p->n_verifiers)))
			return rc;
	}
	p->torch_version = NULL;
	if (tv) {
		AT(r, "torch_version");
		if ((rc = intern_str(r, tv, &p->torch_version)))
			return rc;
	}
	p->n_guards = 0;
	p->guards_code = NULL;
	if (gc) {
		AT(r, "guards_code");
		rc = read_str_list(r, gc, &p->guards_code, &p->n_guards);
	}
	return rc;
}
