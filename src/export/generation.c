/*
 * generation.c -- bring a module or program to one Torch-TensorRT file generation
 * (docs/generations.md): engine records to the release's ABI (added fields take upstream's
 * defaults), engine constants to its encoding (TorchBind custom_obj_N up to 2.12, Python-pickled
 * EngineSerializer opaque_obj_N from 2.13), cross-compile placeholders to its argument list.
 */
#include "export/export.h"

#include <stdio.h>

int pt2c__generation_resolve(const char *target, const pt2c_generation **out, pt2c_error *err)
{
	*out = NULL;
	if (!target)
		return 0;
	const pt2c_generation *g = pt2c__generation_find(target);
	if (!g)
		return pt2c__err(err, PT2C_EINVALID,
		                 "unknown target '%.40s': use 2.5, 2.6, 2.7, 2.8, 2.9, 2.10, 2.11, 2.12, 2.13 or head", target);
	*out = g;
	return 0;
}

int pt2c__module_set_target(pt2c_module *m, const pt2c_generation *gen, pt2c_error *err)
{
	PT2C_ASSERT_ARG(m && gen);
	for (uint32_t i = 0; i < m->n_subs; i++) {
		pt2c_submodule *s = &m->subs[i];
		int rc = 0;
		if (s->kind == PT2C_SUB_ENGINE && s->engine)
			rc = pt2c__engine_record_upgrade(s->engine, gen->abi, m->ctx, err);
		else if (s->kind == PT2C_SUB_FALLBACK && s->fallback)
			rc = pt2c__module_set_target(s->fallback, gen, err);
		if (rc) {
			if (err && !err->member[0])
				pt2c__err_set_member(err, s->name);
			return rc;
		}
	}
	for (uint32_t i = 0; i < m->n_attrs; i++)
		if (m->attrs[i].engine) {
			int rc = pt2c__engine_record_upgrade(m->attrs[i].engine, gen->abi, m->ctx, err);
			if (rc)
				return rc;
		}
	return 0;
}

/* ABI number of a placeholder's first record argument; 0 if it is not a known one. */
static uint32_t placeholder_abi(const pt2c_node *nd)
{
	if (nd->n_inputs < 2 || nd->inputs[1].arg.kind != PT2C_ARG_STRING || nd->inputs[1].arg.n == 0 ||
	    nd->inputs[1].arg.n > 2)
		return 0;
	uint32_t abi = 0;
	for (uint32_t j = 0; j < nd->inputs[1].arg.n; j++) {
		char c = nd->inputs[1].arg.u.s[j];
		if (c < '0' || c > '9')
			return 0;
		abi = abi * 10 + (uint32_t)(c - '0');
	}
	return pt2c__engine_fields_for_abi(abi) ? abi : 0;
}

/*
 * The argument list placeholder `id` gets for generation `gen`, made in the arena (*out_n = 0:
 * it has it already). Changes nothing: the caller adopts it once every placeholder's is made.
 */
static int placeholder_prepare(pt2c_program *p, uint32_t id, const pt2c_generation *gen, pt2c_named_arg **out,
                               uint32_t *out_n, pt2c_error *err)
{
	*out = NULL;
	*out_n = 0;
	pt2c_graph *g = p->mod->graph;
	pt2c_ctx *ctx = p->ctx;
	const pt2c_node *nd = &g->nodes[id];
	uint32_t abi = placeholder_abi(nd);
	if (!abi || nd->n_inputs != 1 + pt2c__engine_fields_for_abi(abi))
		return pt2c__err(err, PT2C_ECORRUPT, "cross-compile placeholder '%s' has no valid engine ABI argument; supported are %s",
		                 nd->name, pt2c__generation_abi_list());
	if (gen->abi < abi)
		return pt2c__err(err, PT2C_EUNSUPPORTED,
		                 "cross-compile placeholder '%s' holds an ABI %u record, newer than target %s (ABI %u)", nd->name,
		                 abi, gen->name, gen->abi);
	if (gen->abi == abi)
		return 0;
	uint32_t n = 1 + pt2c__engine_fields_for_abi(gen->abi);
	pt2c_named_arg *in = pt2c__arena_calloc(&ctx->arena, n, sizeof *in);
	if (!in)
		return pt2c__err_oom(err);
	memcpy(in, nd->inputs, nd->n_inputs * sizeof *in);
	char num[8];
	int nn = snprintf(num, sizeof num, "%u", gen->abi);
	const char *abi_text = pt2c__ctx_intern(ctx, num, (size_t)nn);
	if (!abi_text)
		return pt2c__err_oom(err);
	in[1].arg.u.s = abi_text;
	in[1].arg.n = (uint32_t)nn;
	for (uint32_t k = nd->n_inputs; k < n; k++) {
		uint32_t f = k - 1;
		in[k] = nd->inputs[1]; /* same argument kind as the record's other fields */
		in[k].name = in[1].name ? pt2c__ctx_interns(ctx, pt2c__engine_field_name((int)f)) : NULL;
		if (in[1].name && !in[k].name)
			return pt2c__err_oom(err);
		in[k].arg.u.s = f == PT2C_EF_ALIASED_IO ? "" : "0"; /* upstream's defaults, as for engine records */
		in[k].arg.n = f == PT2C_EF_ALIASED_IO ? 0 : 1;
	}
	*out = in;
	*out_n = n;
	return 0;
}

typedef struct placeholder_args { uint32_t id, n; pt2c_named_arg *in; } placeholder_args;

int pt2c__program_set_target(pt2c_program *p, const pt2c_generation *gen, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && gen);
	pt2c_module *m = p->mod;
	/* check everything first, so that a refused target leaves the program as it was */
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_engine_record *r = m->attrs[i].engine;
		if (r && r->abi > gen->abi)
			return pt2c__err(err, PT2C_EUNSUPPORTED,
			                 "engine '%s' has an ABI %u record, newer than target %s (ABI %u): a file for an older "
			                 "Torch-TensorRT release cannot hold it",
			                 m->attrs[i].fqn, r->abi, gen->name, gen->abi);
	}
	pt2c_graph *g = m->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op == PT2C_OP_CALL_FUNCTION && nd->target && strcmp(nd->target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0) {
			uint32_t abi = placeholder_abi(nd);
			if (abi > gen->abi)
				return pt2c__err(err, PT2C_EUNSUPPORTED,
				                 "cross-compile placeholder '%s' holds an ABI %u record, newer than target %s (ABI %u)",
				                 nd->name, abi, gen->name, gen->abi);
		}
	}
	/*
	 * Everything that can fail before anything changes (issue 11: a failure on the second
	 * engine left the first one upgraded): the strings the record upgrades use are interned
	 * (interning them again then finds them), every placeholder's new arguments are made.
	 */
	char num[8];
	int nn = snprintf(num, sizeof num, "%u", gen->abi);
	if (!pt2c__ctx_intern(p->ctx, num, (size_t)nn) || !pt2c__ctx_interns(p->ctx, "0"))
		return pt2c__err_oom(err);
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_engine_record *r = m->attrs[i].engine;
		if (r && !pt2c__engine_fields_for_abi(r->abi))
			return pt2c__err(err, PT2C_EINVALID, "engine '%s' has unknown record ABI %u; supported are %s", m->attrs[i].fqn,
			                 r->abi, pt2c__generation_abi_list());
	}
	uint32_t n_ph = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op == PT2C_OP_CALL_FUNCTION && nd->target && strcmp(nd->target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0)
			n_ph++;
	}
	placeholder_args *ph = NULL;
	if (n_ph && !(ph = pt2c__calloc(p->ctx->alloc, n_ph, sizeof *ph)))
		return pt2c__err_oom(err);
	uint32_t k = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *nd = &g->nodes[id];
		if (nd->op == PT2C_OP_CALL_FUNCTION && nd->target && strcmp(nd->target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0) {
			ph[k].id = id;
			int rc = placeholder_prepare(p, id, gen, &ph[k].in, &ph[k].n, err);
			k++;
			if (rc) {
				pt2c__free(p->ctx->alloc, ph);
				return rc;
			}
		}
	}
	/* from here on nothing fails */
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		pt2c_attr *at = &m->attrs[i];
		if (!at->engine)
			continue;
		uint32_t before = at->engine->abi;
		int rc = pt2c__engine_record_upgrade(at->engine, gen->abi, p->ctx, err); /* checked and interned above */
		if (rc) {
			pt2c__free(p->ctx->alloc, ph);
			return rc;
		}
		if (at->engine_opaque != gen->opaque || at->engine->abi != before) {
			/* the pickle as read no longer matches: written anew from the record */
			pt2c__storage_unref(at->blob);
			at->blob = NULL;
			at->engine_opaque = gen->opaque;
		}
	}
	for (uint32_t i = 0; i < n_ph; i++)
		if (ph[i].n)
			pt2c__node_adopt_inputs(g, ph[i].id, ph[i].in, ph[i].n);
	pt2c__free(p->ctx->alloc, ph);
	return 0;
}

int pt2c__program_default_encoding(pt2c_program *p)
{
	PT2C_ASSERT_ARG(p && p->mod);
	for (uint32_t i = 0; i < p->mod->n_attrs; i++) {
		pt2c_attr *at = &p->mod->attrs[i];
		const pt2c_generation *gen = at->engine ? pt2c__generation_for_abi(at->engine->abi) : NULL;
		if (gen && !at->blob)
			at->engine_opaque = gen->opaque;
	}
	return 0;
}
