/*
 * program_lint.c -- consistency of an exported program: graph invariants, placeholders matching
 * the input specs one to one and in order, the output node matching the output specs, every
 * signature target naming an attribute of the right kind, and every engine record valid.
 */
#include "export/export.h"

/* get_attr targets must be attributes; programs have no call_module. */
static bool resolve_target(const pt2c_node *n, void *payload)
{
	const pt2c_module *m = payload;
	if (n->op == PT2C_OP_GET_ATTR) return pt2c__module_find_attr(m, n->target) != NULL;
	if (n->op == PT2C_OP_CALL_MODULE) return false;
	return true;
}

static const char *in_kind_name(int k)
{
	switch (k) {
	case PT2C_IN_PARAMETER: return "parameter";
	case PT2C_IN_BUFFER: return "buffer";
	case PT2C_IN_TENSOR_CONSTANT: return "tensor constant";
	case PT2C_IN_CUSTOM_OBJ: return "custom object";
	default: return "input";
	}
}

int pt2c__program_lint(const pt2c_program *p, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph);
	pt2c_module *m = p->mod;
	pt2c_graph *g = m->graph;
	int rc = pt2c__graph_lint(g, resolve_target, m, err);
	if (rc) return rc;

	uint32_t k = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_PLACEHOLDER) continue;
		if (k >= p->n_inputs)
			return pt2c__err(err, PT2C_EGRAPH, "placeholder '%s' has no input spec (%u specs)", nd->name, p->n_inputs);
		uint32_t want = pt2c__arg_ref(&p->inputs[k].arg);
		uint32_t have = pt2c__node_value(g, id);
		if (want != PT2C_NONE && (have == PT2C_NONE || pt2c__value_resolve(g, have) != pt2c__value_resolve(g, want)))
			return pt2c__err(err, PT2C_EGRAPH, "input spec %u does not name placeholder '%s'", k, nd->name);
		k++;
	}
	if (k != p->n_inputs)
		return pt2c__err(err, PT2C_EGRAPH, "%u input specs for %u placeholders", p->n_inputs, k);

	uint32_t on = pt2c__graph_output_node(g);
	if (on == PT2C_NONE) return pt2c__err(err, PT2C_EGRAPH, "the graph has no output node");
	const pt2c_node *o = &g->nodes[on];
	if (o->n_inputs != p->n_outputs)
		return pt2c__err(err, PT2C_EGRAPH, "%u output specs for %u graph outputs", p->n_outputs, o->n_inputs);
	for (uint32_t i = 0; i < o->n_inputs; i++) {
		uint32_t a = pt2c__arg_ref(&o->inputs[i].arg), b = pt2c__arg_ref(&p->outputs[i].arg);
		if (o->inputs[i].arg.kind != p->outputs[i].arg.kind ||
		    (a != PT2C_NONE && (b == PT2C_NONE || pt2c__value_resolve(g, a) != pt2c__value_resolve(g, b))))
			return pt2c__err(err, PT2C_EGRAPH, "output spec %u does not match graph output %u", i, i);
	}

	for (uint32_t i = 0; i < p->n_inputs; i++) {
		const pt2c_input_spec *s = &p->inputs[i];
		int want;
		switch (s->kind) {
		case PT2C_IN_PARAMETER: want = PT2C_ATTR_PARAMETER; break;
		case PT2C_IN_BUFFER: want = PT2C_ATTR_BUFFER; break;
		case PT2C_IN_TENSOR_CONSTANT: want = PT2C_ATTR_CONSTANT; break;
		case PT2C_IN_CUSTOM_OBJ: want = PT2C_ATTR_CUSTOM_OBJ; break;
		default: continue;
		}
		const pt2c_attr *at = s->target ? pt2c__module_find_attr(m, s->target) : NULL;
		if (!at) return pt2c__err(err, PT2C_EGRAPH, "%s '%s' of input spec %u does not exist", in_kind_name(s->kind),
		                          s->target ? s->target : "(null)", i);
		bool ok = at->kind == want || (want == PT2C_ATTR_CONSTANT && at->kind == PT2C_ATTR_BUFFER && !at->persistent);
		if (!ok) return pt2c__err(err, PT2C_EGRAPH, "input spec %u names '%s', which is not a %s", i, s->target, in_kind_name(s->kind));
		if (s->kind == PT2C_IN_BUFFER && s->persistent != at->persistent)
			return pt2c__err(err, PT2C_EGRAPH, "buffer '%s' persistence differs between spec and attribute", s->target);
		/* an empty class_fqn is what the Python exporter writes (its defect 7); PyTorch loads it */
		if (s->kind == PT2C_IN_CUSTOM_OBJ && s->arg.kind != PT2C_ARG_CUSTOM_OBJ)
			return pt2c__err(err, PT2C_EGRAPH, "custom object input '%s' is not a custom object argument", s->target);
		if (s->kind != PT2C_IN_CUSTOM_OBJ && s->arg.kind != PT2C_ARG_TENSOR)
			return pt2c__err(err, PT2C_EGRAPH, "%s input '%s' is not a tensor", in_kind_name(s->kind), s->target);
	}

	/*
	 * Mutation outputs, as torch's _verify_exported_program_signature reads them: the outputs
	 * after the tokens, as many as there are buffer and user-input mutations, are exactly those;
	 * a buffer mutation names a buffer input and is a tensor.
	 */
	uint32_t n_tok = 0, n_mut = 0;
	for (uint32_t i = 0; i < p->n_outputs; i++) {
		n_tok += p->outputs[i].kind == PT2C_OUT_TOKEN;
		n_mut += p->outputs[i].kind == PT2C_OUT_BUFFER_MUTATION || p->outputs[i].kind == PT2C_OUT_USER_INPUT_MUTATION;
	}
	pt2c_map buffers; /* targets of the buffer inputs */
	pt2c__map_init(&buffers, m->ctx->alloc);
	for (uint32_t i = 0; n_mut && i < p->n_inputs; i++)
		if (p->inputs[i].kind == PT2C_IN_BUFFER && p->inputs[i].target &&
		    pt2c__map_put(&buffers, p->inputs[i].target, strlen(p->inputs[i].target), i, false, NULL)) {
			pt2c__map_free(&buffers);
			return pt2c__err_oom(err);
		}
	for (uint32_t i = 0; i < p->n_outputs && !rc; i++) {
		const pt2c_output_spec *s = &p->outputs[i];
		bool is_mut = s->kind == PT2C_OUT_BUFFER_MUTATION || s->kind == PT2C_OUT_USER_INPUT_MUTATION;
		if (is_mut != (i >= n_tok && i < n_tok + n_mut))
			rc = pt2c__err(err, PT2C_EGRAPH, "output spec %u is %s, but outputs %u..%u must be the %u mutations", i,
			               is_mut ? "a mutation" : "not a mutation", n_tok, n_tok + n_mut, n_mut);
		else if (s->kind == PT2C_OUT_BUFFER_MUTATION && s->arg.kind != PT2C_ARG_TENSOR)
			rc = pt2c__err(err, PT2C_EGRAPH, "buffer mutation output %u is not a tensor", i);
		else if (s->kind == PT2C_OUT_BUFFER_MUTATION && (!s->target || !pt2c__map_gets(&buffers, s->target, NULL)))
			rc = pt2c__err(err, PT2C_EGRAPH, "buffer mutation output %u names '%s', which is no buffer input", i,
			               s->target ? s->target : "(null)");
	}
	pt2c__map_free(&buffers);
	if (rc) return rc;

	for (uint32_t i = 0; i < m->n_attrs; i++) {
		if (!m->attrs[i].engine) continue;
		if ((rc = pt2c__engine_record_validate(m->attrs[i].engine, err))) {
			pt2c__err_set_member(err, m->attrs[i].fqn);
			return rc;
		}
	}
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op != PT2C_OP_CALL_FUNCTION || !nd->target || strcmp(nd->target, PT2C_TARGET_NO_OP_PLACEHOLDER) != 0) continue;
		if (nd->n_inputs < 2 || nd->inputs[1].arg.kind != PT2C_ARG_STRING || nd->inputs[1].arg.n == 0 || nd->inputs[1].arg.n > 3)
			return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has no ABI argument", nd->name);
		uint32_t abi = 0;
		for (uint32_t j = 0; j < nd->inputs[1].arg.n; j++) {
			char c = nd->inputs[1].arg.u.s[j];
			if (c < '0' || c > '9') { abi = 0; break; }
			abi = abi * 10 + (uint32_t)(c - '0');
		}
		uint32_t nf = pt2c__engine_fields_for_abi(abi);
		if (!nf || nd->n_inputs != nf + 1)
			return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has %u record fields for ABI %u%s%s", nd->name,
			                 nd->n_inputs - 1, abi, nf ? "" : "; supported are ", nf ? "" : pt2c__generation_abi_list());
		/* the engine as base64 text must decode (2.13's tensor-typed engine argument is not text) */
		const pt2c_arg *ea = &nd->inputs[1 + PT2C_EF_ENGINE].arg;
		const char *txt = NULL;
		uint64_t tn = 0;
		if (ea->kind == PT2C_ARG_STRING) {
			txt = ea->u.s;
			tn = ea->n;
		} else if (ea->kind == PT2C_ARG_ENGINE_B64 && ea->u.engine && ea->u.engine->engine_b64 && ea->u.engine->engine) {
			txt = (const char *)ea->u.engine->engine->data;
			tn = ea->u.engine->engine->nbytes;
		}
		size_t bad = 0;
		if (txt && (tn > SIZE_MAX || pt2c__b64_check(txt, (size_t)tn, &bad)))
			return pt2c__err(err, PT2C_ECORRUPT,
			                 "cross-compile placeholder '%s': the engine (field %s) is not valid base64 (at offset %zu of %llu characters)",
			                 nd->name, pt2c__engine_field_name(PT2C_EF_ENGINE), bad, (unsigned long long)tn);
		if (txt && ea->kind == PT2C_ARG_ENGINE_B64)
			pt2c__storage_drop_pages(ea->u.engine->engine); /* checked: its file pages may go */
	}
	return 0;
}
