/*
 * inspect.c -- read-only views of a program for the public API: its engines (lifted engine
 * objects and cross-compile placeholders alike) and a summary for people or machines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt2c.h"
#include "export/export.h"
#include "ir/ir.h"
#include "util/json.h"
#include "util/util.h"
#include "lib/lib.h"

/* One engine found in a program: either an attribute's record or a placeholder node's strings. */
typedef struct engine_ref {
	const pt2c_engine_record *rec; /* attribute engine, or NULL */
	const pt2c_attr *attr;
	const pt2c_node *node;         /* no_op placeholder node, or NULL */
} engine_ref;

/* The i-th string argument of a placeholder node (record field i), as a view. */
static bool placeholder_field(const pt2c_node *n, uint32_t i, const char **p, size_t *len)
{
	if (i + 1 >= n->n_inputs)
		return false;
	const pt2c_arg *a = &n->inputs[i + 1].arg;
	if (a->kind == PT2C_ARG_STRING) {
		*p = a->u.s;
		*len = a->n;
		return true;
	}
	return false;
}

/*
 * Walk attributes then placeholder nodes; fill `out` with the i-th engine. Returns the count, or
 * when engine `want` is found, want + 1 without walking further (the lifted engines come first,
 * so asking for one of them does not walk the graph).
 */
static size_t find_engines(const pt2c_program *p, size_t want, engine_ref *out)
{
	size_t k = 0;
	const pt2c_module *m = p->mod;
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		if (m->attrs[i].kind == PT2C_ATTR_CUSTOM_OBJ && m->attrs[i].engine) {
			if (k == want) {
				*out = (engine_ref){ m->attrs[i].engine, &m->attrs[i], NULL };
				return k + 1;
			}
			k++;
		}
	}
	pt2c_graph *g = m->graph;
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *n = &g->nodes[id];
		if (n->op == PT2C_OP_CALL_FUNCTION && n->target && strcmp(n->target, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0) {
			if (k == want) {
				*out = (engine_ref){ NULL, NULL, n };
				return k + 1;
			}
			k++;
		}
	}
	return k;
}

size_t pt2c_program_engine_count(const pt2c_program *p)
{
	return p ? find_engines(p, SIZE_MAX, NULL) : 0; /* (want never reached: out unused) */
}

/*
 * Interned copy of a field view, so the info strings are NUL-terminated and live with p (the
 * program's string table grows: a logical, not a visible, change). NULL when out of memory.
 */
static const char *field_str(const pt2c_program *p, const char *s, size_t n)
{
	return pt2c__ctx_intern(p->ctx, s ? s : "", s ? n : 0);
}

/* pt2c_program_engine_info of a found engine. */
static int engine_info_of(const pt2c_program *p, const engine_ref *ref, pt2c_engine_info *out)
{
	engine_ref r = *ref;
	pt2c_engine_info info;
	memset(&info, 0, sizeof info);
	if (r.rec) {
		const pt2c_engine_record *e = r.rec;
		info.owner = r.attr->fqn;
		info.abi = e->abi;
		info.name = field_str(p, e->fields[PT2C_EF_NAME].p, e->fields[PT2C_EF_NAME].n);
		info.device = field_str(p, e->fields[PT2C_EF_DEVICE].p, e->fields[PT2C_EF_DEVICE].n);
		info.platform = field_str(p, e->fields[PT2C_EF_PLATFORM].p, e->fields[PT2C_EF_PLATFORM].n);
		uint64_t nb = e->engine ? e->engine->nbytes : 0;
		if (e->engine_b64 && e->engine)
			nb = pt2c__b64_decoded_len((const char *)e->engine->data, (size_t)e->engine->nbytes);
		info.engine_bytes = nb == SIZE_MAX ? 0 : nb;
	} else {
		const pt2c_node *n = r.node;
		const char *s;
		size_t len;
		info.owner = n->name;
		if (placeholder_field(n, PT2C_EF_ABI, &s, &len)) {
			const char *abi = field_str(p, s, len);
			if (!abi)
				return PT2C_ENOMEM;
			info.abi = (unsigned)strtoul(abi, NULL, 10);
		}
		info.name = placeholder_field(n, PT2C_EF_NAME, &s, &len) ? field_str(p, s, len) : "";
		info.device = placeholder_field(n, PT2C_EF_DEVICE, &s, &len) ? field_str(p, s, len) : "";
		info.platform = placeholder_field(n, PT2C_EF_PLATFORM, &s, &len) ? field_str(p, s, len) : "";
		if (n->n_inputs > 1 + PT2C_EF_ENGINE && n->inputs[1 + PT2C_EF_ENGINE].arg.kind == PT2C_ARG_ENGINE_B64) {
			const pt2c_engine_record *e = n->inputs[1 + PT2C_EF_ENGINE].arg.u.engine;
			info.engine_bytes = e && e->engine ? e->engine->nbytes : 0;
		} else if (n->n_inputs > 1 + PT2C_EF_ENGINE && n->inputs[1 + PT2C_EF_ENGINE].arg.kind == PT2C_ARG_TENSOR) {
			pt2c_storage *st = NULL; /* 2.13+ tensor-typed engine */
			int trc = pt2c__cross_engine_from_tensor(p, n, &n->inputs[1 + PT2C_EF_ENGINE].arg, &st, NULL);
			if (trc == PT2C_ENOMEM)
				return trc;
			if (trc == 0)
				info.engine_bytes = st->nbytes;
			pt2c__storage_unref(st);
		} else if (placeholder_field(n, PT2C_EF_ENGINE, &s, &len)) {
			size_t nb = pt2c__b64_decoded_len(s, len);
			info.engine_bytes = nb == SIZE_MAX ? 0 : nb;
		}
	}
	if (!info.name || !info.device || !info.platform)
		return PT2C_ENOMEM; /* *out untouched */
	*out = info;
	return 0;
}

int pt2c_program_engine_info(const pt2c_program *p, size_t i, pt2c_engine_info *out)
{
	PT2C_ASSERT_ARG(p && out);
	engine_ref r;
	if (i >= find_engines(p, i, &r))
		return PT2C_ENOTFOUND;
	return engine_info_of(p, &r, out);
}

/* Where engine i's bytes are: raw (src, n; *tensor_st holds a reference to release) or base64
 * text (b64, b64_len). */
typedef struct engine_src {
	const uint8_t *src;
	size_t n;
	const char *b64;
	size_t b64_len;
	pt2c_storage *tensor_st;
} engine_src;

static int find_engine_src(const pt2c_program *p, size_t i, engine_src *es, pt2c_error *err)
{
	memset(es, 0, sizeof *es);
	engine_ref r;
	if (i >= find_engines(p, i, &r))
		return pt2c__err(err, PT2C_ENOTFOUND, "no engine %zu", i);
	if (r.rec) {
		if (!r.rec->engine)
			return pt2c__err(err, PT2C_ECORRUPT, "engine %zu has no bytes", i);
		if (r.rec->engine_b64) {
			es->b64 = (const char *)r.rec->engine->data;
			es->b64_len = (size_t)r.rec->engine->nbytes;
		} else {
			es->src = r.rec->engine->data;
			es->n = (size_t)r.rec->engine->nbytes;
		}
	} else if (r.node->n_inputs > 1 + PT2C_EF_ENGINE &&
	           r.node->inputs[1 + PT2C_EF_ENGINE].arg.kind == PT2C_ARG_ENGINE_B64) {
		const pt2c_engine_record *e = r.node->inputs[1 + PT2C_EF_ENGINE].arg.u.engine;
		if (!e || !e->engine)
			return pt2c__err(err, PT2C_ECORRUPT, "engine %zu has no bytes", i);
		es->src = e->engine->data;
		es->n = (size_t)e->engine->nbytes;
	} else if (r.node->n_inputs > 1 + PT2C_EF_ENGINE &&
	           r.node->inputs[1 + PT2C_EF_ENGINE].arg.kind == PT2C_ARG_TENSOR) {
		int trc = pt2c__cross_engine_from_tensor(p, r.node, &r.node->inputs[1 + PT2C_EF_ENGINE].arg, &es->tensor_st, err);
		if (trc)
			return trc;
		es->src = es->tensor_st->data;
		es->n = (size_t)es->tensor_st->nbytes;
	} else if (!placeholder_field(r.node, PT2C_EF_ENGINE, &es->b64, &es->b64_len)) {
		return pt2c__err(err, PT2C_ECORRUPT, "placeholder '%s' has no engine argument", r.node->name);
	}
	if (es->b64) {
		es->n = pt2c__b64_decoded_len(es->b64, es->b64_len);
		if (es->n == SIZE_MAX)
			return pt2c__err(err, PT2C_ECORRUPT, "engine %zu: base64 length %zu is not a multiple of 4", i, es->b64_len);
	}
	return 0;
}

/* The bytes of es into dst (room for es->n). */
static int engine_src_copy(const engine_src *es, size_t i, uint8_t *dst, pt2c_error *err)
{
	if (es->b64) {
		size_t bad = 0;
		if (pt2c__b64_decode(dst, es->b64, es->b64_len, &bad) != 0)
			return pt2c__err_at(err, PT2C_ECORRUPT, NULL, bad, "engine %zu: invalid base64 at character %zu", i, bad);
	} else if (es->n) {
		memcpy(dst, es->src, es->n);
	}
	return 0;
}

int pt2c_program_engine_bytes(const pt2c_program *p, size_t i, uint8_t **out, size_t *len, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && out && len, err);
	*out = NULL;
	*len = 0;
	engine_src es;
	int rc = find_engine_src(p, i, &es, err);
	uint8_t *buf = NULL;
	if (!rc && !(buf = pt2c__hand_out_alloc(p->ctx->alloc, es.n)))
		rc = pt2c__err_oom(err);
	if (!rc && (rc = engine_src_copy(&es, i, buf, err)) != 0) {
		pt2c_free(buf);
		buf = NULL;
	}
	pt2c__storage_unref(es.tensor_st);
	if (rc)
		return rc;
	*out = buf;
	*len = es.n;
	return 0;
}

int pt2c_program_engine_bytes_into(const pt2c_program *p, size_t i, void *dst, size_t cap, size_t *len,
                                   pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && len && (dst || cap == 0), err);
	*len = 0;
	engine_src es;
	int rc = find_engine_src(p, i, &es, err);
	if (!rc) {
		*len = es.n;
		if (cap < es.n)
			rc = pt2c__err(err, PT2C_EINVALID, "engine %zu has %zu bytes, the buffer %zu", i, es.n, cap);
		else
			rc = engine_src_copy(&es, i, dst, err);
	}
	pt2c__storage_unref(es.tensor_st);
	return rc;
}

/* Append field i of an engine (attribute record or placeholder strings) as a JSON string. */
static void record_field_json(pt2c_buf *b, const engine_ref *r, uint32_t i)
{
	const char *s = NULL;
	size_t n = 0;
	if (r->rec) {
		s = r->rec->fields[i].p;
		n = r->rec->fields[i].n;
	} else {
		placeholder_field(r->node, i, &s, &n);
	}
	pt2c__json_write_str(b, s ? s : "", s ? n : 0);
}

int pt2c_program_engine_record_json(const pt2c_program *p, size_t i, char **out, size_t *len)
{
	PT2C_ASSERT_ARG(p && out);
	*out = NULL;
	engine_ref r;
	if (i >= find_engines(p, i, &r))
		return PT2C_ENOTFOUND;
	pt2c_engine_info info;
	int rc = engine_info_of(p, &r, &info);
	if (rc)
		return rc;
	static const char *const names[PT2C_EF_MAX] = {
		"abi_version", "name", "device", "engine", "input_binding_names", "output_binding_names",
		"hardware_compatible", "serialized_metadata", "target_platform", "requires_output_allocator",
		"resource_allocation_strategy", "requires_native_multidevice", "aliased_io",
	};
	uint32_t nf = r.rec ? r.rec->n_fields : (r.node->n_inputs > 0 ? r.node->n_inputs - 1 : 0);
	if (nf > PT2C_EF_MAX)
		nf = PT2C_EF_MAX;
	pt2c_buf b;
	pt2c__buf_init(&b, p->ctx->alloc);
	pt2c__buf_puts(&b, "{");
	pt2c__json_write_cstr(&b, "owner");
	pt2c__buf_puts(&b, ": ");
	pt2c__json_write_cstr(&b, info.owner ? info.owner : "");
	for (uint32_t f = 0; f < nf; f++) {
		pt2c__buf_puts(&b, ", ");
		pt2c__json_write_cstr(&b, names[f]);
		pt2c__buf_puts(&b, ": ");
		if (f == PT2C_EF_ENGINE) {
			pt2c__buf_printf(&b, "{\"bytes\": %llu}", (unsigned long long)info.engine_bytes);
			continue;
		}
		record_field_json(&b, &r, f);
	}
	pt2c__buf_puts(&b, "}\n");
	return pt2c__hand_out(&b, out, len);
}

/* MARK: summary */

static const char *const in_kind_names[] = {
	"USER_INPUT", "PARAMETER", "BUFFER", "CONSTANT_TENSOR", "CUSTOM_OBJ", "TOKEN", "CONSTANT_INPUT",
};
static const char *const out_kind_names[] = {
	"USER_OUTPUT", "LOSS_OUTPUT", "BUFFER_MUTATION", "GRADIENT_TO_PARAMETER", "GRADIENT_TO_USER_INPUT",
	"USER_INPUT_MUTATION", "TOKEN", "PARAMETER_MUTATION",
};

/* Name of the value an input/output spec refers to ("" when it is a literal). */
static const char *spec_arg_name(const pt2c_program *p, const pt2c_arg *a)
{
	uint32_t ref = pt2c__arg_ref(a);
	if (ref == PT2C_NONE || ref >= p->mod->graph->n_values)
		return "";
	return p->mod->graph->values[pt2c__value_resolve(p->mod->graph, ref)].name;
}

/* ", \"dtype\": \"float32\", \"shape\": [2, \"s77\"], \"device\": \"cuda:0\"" of a tensor argument's value. */
static void put_tensor_fields(pt2c_buf *b, const pt2c_program *p, const pt2c_arg *a)
{
	uint32_t ref = pt2c__arg_ref(a);
	if (ref == PT2C_NONE || ref >= p->mod->graph->n_values)
		return;
	const pt2c_value *v = &p->mod->graph->values[pt2c__value_resolve(p->mod->graph, ref)];
	if (v->kind != PT2C_VAL_TENSOR || !v->has_meta || !v->u.tensor)
		return;
	const pt2c_tensor_meta *m = v->u.tensor;
	pt2c__buf_puts(b, ", \"dtype\": ");
	pt2c__json_write_cstr(b, pt2c__dtype_name(m->dtype));
	pt2c__buf_puts(b, ", \"shape\": [");
	for (uint32_t k = 0; k < m->ndim; k++) {
		if (k) pt2c__buf_puts(b, ", ");
		const pt2c_sym *d = &m->sizes[k];
		size_t sl = 0;
		const char *sn = d->kind == PT2C_SYM_EXPR && d->expr ? pt2c__sym_symbol_name(d->expr, &sl) : NULL;
		if (sn) {
			char nm[128];
			snprintf(nm, sizeof nm, "%.*s", (int)(sl > 120 ? 120 : sl), sn);
			pt2c__json_write_cstr(b, nm);
		} else if (d->kind == PT2C_SYM_EXPR && d->expr) {
			pt2c__json_write_cstr(b, d->expr);
		}
		else pt2c__buf_printf(b, "%lld", (long long)d->i);
	}
	pt2c__buf_putc(b, ']');
	if (m->device.type) {
		pt2c__buf_puts(b, ", \"device\": ");
		if (m->device.index >= 0) {
			char dev[96];
			snprintf(dev, sizeof dev, "%.64s:%d", m->device.type, (int)m->device.index);
			pt2c__json_write_cstr(b, dev);
		} else {
			pt2c__json_write_cstr(b, m->device.type);
		}
	}
}

/* The engine record's device string "id%major%minor%type%name" decoded as a JSON object. */
static void put_device_info(pt2c_buf *b, const char *dev)
{
	const char *tok[5];
	size_t len[5];
	int n = 0;
	const char *s = dev;
	while (n < 5) {
		const char *e = n < 4 ? strchr(s, '%') : s + strlen(s);
		if (!e) break;
		tok[n] = s;
		len[n] = (size_t)(e - s);
		n++;
		if (!*e) break;
		s = e + 1;
	}
	if (n != 5) {
		pt2c__buf_puts(b, "null");
		return;
	}
	char t[5][64];
	for (int k = 0; k < 4; k++)
		snprintf(t[k], sizeof t[k], "%.*s", (int)(len[k] > 60 ? 60 : len[k]), tok[k]);
	pt2c__buf_printf(b, "{\"gpu_id\": %lld, \"compute_capability\": ", strtoll(t[0], NULL, 10));
	snprintf(t[4], sizeof t[4], "%.20s.%.20s", t[1], t[2]);
	pt2c__json_write_cstr(b, t[4]);
	pt2c__buf_puts(b, ", \"device_type\": ");
	pt2c__json_write_cstr(b, strcmp(t[3], "0") == 0 ? "GPU" : strcmp(t[3], "1") == 0 ? "DLA" : t[3]);
	pt2c__buf_puts(b, ", \"name\": ");
	char name[256];
	snprintf(name, sizeof name, "%.*s", (int)(len[4] > 250 ? 250 : len[4]), tok[4]);
	pt2c__json_write_cstr(b, name);
	pt2c__buf_putc(b, '}');
}

typedef struct count_row { const char *key; uint64_t count, bytes; bool engine; } count_row;

/* Add (count, bytes) under key in a small table kept in the map (index into rows). */
static int bump(const pt2c_allocator *alloc, pt2c_map *m, count_row **rows, size_t *n, size_t *cap, const char *key,
                uint64_t bytes, size_t *row)
{
	uint64_t idx;
	if (pt2c__map_gets(m, key, &idx)) {
		(*rows)[idx].count++;
		(*rows)[idx].bytes += bytes;
		*row = (size_t)idx;
		return 0;
	}
	if (pt2c__grow(alloc, (void **)rows, cap, *n + 1, sizeof **rows))
		return PT2C_ENOMEM;
	(*rows)[*n] = (count_row){ key, 1, bytes, key && strcmp(key, PT2C_TARGET_NO_OP_PLACEHOLDER) == 0 };
	if (pt2c__map_put(m, key, strlen(key), *n, false, NULL))
		return PT2C_ENOMEM;
	*row = (*n)++;
	return 0;
}

int pt2c_program_summary(const pt2c_program *p, int json, char **out, size_t *len)
{
	PT2C_ASSERT_ARG(p && out);
	*out = NULL;
	pt2c_graph *g = p->mod->graph;
	pt2c_map ops, dts;
	pt2c__map_init(&ops, p->ctx->alloc);
	pt2c__map_init(&dts, p->ctx->alloc);
	count_row *op_rows = NULL, *dt_rows = NULL;
	size_t n_op = 0, cap_op = 0, n_dt = 0, cap_dt = 0;
	int rc = 0;
	uint32_t n_nodes = 0;
	/* the engines in find_engines' order, found in this one walk: lifted ones, then placeholders */
	engine_ref *engs = NULL;
	size_t n_eng = 0, cap_eng = 0;
	for (uint32_t i = 0; i < p->mod->n_attrs; i++) {
		const pt2c_attr *a = &p->mod->attrs[i];
		if (a->kind != PT2C_ATTR_CUSTOM_OBJ || !a->engine)
			continue;
		if (pt2c__grow(p->ctx->alloc, (void **)&engs, &cap_eng, n_eng + 1, sizeof *engs)) {
			rc = PT2C_ENOMEM;
			goto done;
		}
		engs[n_eng++] = (engine_ref){ a->engine, a, NULL };
	}
	/* targets are interned: rows of the targets seen last, by pointer, without a lookup */
	struct { const char *target; size_t row; } seen[16] = { { NULL, 0 } };
	PT2C_GRAPH_FOREACH(g, id) {
		const pt2c_node *n = &g->nodes[id];
		n_nodes++;
		if (n->op != PT2C_OP_CALL_FUNCTION)
			continue;
		size_t h = ((uintptr_t)n->target >> 3) % PT2C_ARRAY_LEN(seen);
		if (n->target && seen[h].target == n->target) {
			op_rows[seen[h].row].count++;
		} else {
			if ((rc = bump(p->ctx->alloc, &ops, &op_rows, &n_op, &cap_op, n->target, 0, &seen[h].row)))
				goto done;
			seen[h].target = n->target;
		}
		if (op_rows[seen[h].row].engine) {
			if (pt2c__grow(p->ctx->alloc, (void **)&engs, &cap_eng, n_eng + 1, sizeof *engs)) {
				rc = PT2C_ENOMEM;
				goto done;
			}
			engs[n_eng++] = (engine_ref){ NULL, NULL, n };
		}
	}
	for (uint32_t i = 0; i < p->mod->n_attrs; i++) {
		const pt2c_attr *a = &p->mod->attrs[i];
		if (a->kind == PT2C_ATTR_CUSTOM_OBJ)
			continue;
		uint64_t bytes = 0;
		if (pt2c__meta_storage_bytes(&a->tensor.meta, &bytes, NULL) != 0)
			bytes = 0;
		size_t row;
		if ((rc = bump(p->ctx->alloc, &dts, &dt_rows, &n_dt, &cap_dt, pt2c__dtype_name(a->tensor.meta.dtype), bytes, &row)))
			goto done;
	}

	pt2c_buf b;
	pt2c__buf_init(&b, p->ctx->alloc);
	if (!json) {
		pt2c__buf_printf(&b, "schema %lld.%lld, %u nodes, %u inputs, %u outputs\n", (long long)p->schema_major,
		                 (long long)p->schema_minor, n_nodes, p->n_inputs, p->n_outputs);
		pt2c__buf_puts(&b, "inputs:\n");
		for (uint32_t i = 0; i < p->n_inputs; i++) {
			const pt2c_input_spec *s = &p->inputs[i];
			pt2c__buf_printf(&b, "  %-32s %s", spec_arg_name(p, &s->arg),
			                 s->kind < PT2C_ARRAY_LEN(in_kind_names) ? in_kind_names[s->kind] : "?");
			if (s->target)
				pt2c__buf_printf(&b, " target='%s'", s->target);
			if (s->kind == PT2C_IN_BUFFER)
				pt2c__buf_printf(&b, " persistent=%s", s->persistent ? "True" : "False");
			pt2c__buf_putc(&b, '\n');
		}
		pt2c__buf_puts(&b, "outputs:\n");
		for (uint32_t i = 0; i < p->n_outputs; i++) {
			const pt2c_output_spec *s = &p->outputs[i];
			pt2c__buf_printf(&b, "  %-32s %s", spec_arg_name(p, &s->arg),
			                 s->kind < PT2C_ARRAY_LEN(out_kind_names) ? out_kind_names[s->kind] : "?");
			if (s->target) /* buffer / parameter / user input a mutation writes */
				pt2c__buf_printf(&b, " target='%s'", s->target);
			pt2c__buf_putc(&b, '\n');
		}
		pt2c__buf_puts(&b, "nodes by target:\n");
		for (size_t i = 0; i < n_op; i++)
			pt2c__buf_printf(&b, "  %6llu  %s\n", (unsigned long long)op_rows[i].count, op_rows[i].key);
		pt2c__buf_puts(&b, "weights by dtype:\n");
		for (size_t i = 0; i < n_dt; i++)
			pt2c__buf_printf(&b, "  %-10s %6llu tensors %14llu bytes\n", dt_rows[i].key,
			                 (unsigned long long)dt_rows[i].count, (unsigned long long)dt_rows[i].bytes);
		pt2c__buf_printf(&b, "engines: %zu\n", n_eng);
		for (size_t i = 0; i < n_eng; i++) {
			pt2c_engine_info e;
			if ((rc = engine_info_of(p, &engs[i], &e)) == PT2C_ENOMEM) {
				pt2c__buf_free(&b);
				goto done;
			}
			if (rc != 0)
				continue;
			/* names and strings of the record are untrusted: control characters escaped */
			pt2c__buf_puts(&b, "  ");
			pt2c__text_escape(&b, e.owner);
			pt2c__buf_puts(&b, ": name=");
			pt2c__text_escape(&b, e.name);
			pt2c__buf_printf(&b, " abi=%u platform=", e.abi);
			pt2c__text_escape(&b, e.platform);
			pt2c__buf_puts(&b, " device=");
			pt2c__text_escape(&b, e.device);
			pt2c__buf_printf(&b, " bytes=%llu\n", (unsigned long long)e.engine_bytes);
		}
		if (p->n_ranges) {
			pt2c__buf_puts(&b, "range constraints:\n");
			for (uint32_t i = 0; i < p->n_ranges; i++) {
				const pt2c_symrange *r = &p->ranges[i];
				pt2c__buf_printf(&b, "  %s: [", r->name);
				if (r->has_min) pt2c__buf_printf(&b, "%lld", (long long)r->min); else pt2c__buf_puts(&b, "-oo");
				pt2c__buf_puts(&b, ", ");
				if (r->has_max) pt2c__buf_printf(&b, "%lld", (long long)r->max); else pt2c__buf_puts(&b, "oo");
				pt2c__buf_puts(&b, "]\n");
			}
		}
		if (p->n_extra) { /* only when there are some: summaries of other archives stay as they were */
			pt2c__buf_printf(&b, "extra files: %u\n", p->n_extra);
			for (uint32_t i = 0; i < p->n_extra; i++)
				pt2c__buf_printf(&b, "  %-32s %llu bytes\n", p->extra[i].name,
				                 (unsigned long long)(p->extra[i].data ? p->extra[i].data->nbytes : 0));
		}
	} else {
		pt2c__buf_printf(&b, "{\"schema_version\": [%lld, %lld], \"nodes\": %u, \"inputs\": [",
		                 (long long)p->schema_major, (long long)p->schema_minor, n_nodes);
		for (uint32_t i = 0; i < p->n_inputs; i++) {
			const pt2c_input_spec *s = &p->inputs[i];
			pt2c__buf_puts(&b, i ? ", {\"name\": " : "{\"name\": ");
			pt2c__json_write_cstr(&b, spec_arg_name(p, &s->arg));
			pt2c__buf_puts(&b, ", \"kind\": ");
			pt2c__json_write_cstr(&b, s->kind < PT2C_ARRAY_LEN(in_kind_names) ? in_kind_names[s->kind] : "?");
			pt2c__buf_puts(&b, ", \"target\": ");
			if (s->target) pt2c__json_write_cstr(&b, s->target); else pt2c__buf_puts(&b, "null");
			if (s->kind == PT2C_IN_BUFFER)
				pt2c__buf_printf(&b, ", \"persistent\": %s", s->persistent ? "true" : "false");
			put_tensor_fields(&b, p, &s->arg);
			pt2c__buf_putc(&b, '}');
		}
		pt2c__buf_puts(&b, "], \"outputs\": [");
		for (uint32_t i = 0; i < p->n_outputs; i++) {
			const pt2c_output_spec *s = &p->outputs[i];
			pt2c__buf_puts(&b, i ? ", {\"name\": " : "{\"name\": ");
			pt2c__json_write_cstr(&b, spec_arg_name(p, &s->arg));
			pt2c__buf_puts(&b, ", \"kind\": ");
			pt2c__json_write_cstr(&b, s->kind < PT2C_ARRAY_LEN(out_kind_names) ? out_kind_names[s->kind] : "?");
			if (s->target) {
				pt2c__buf_puts(&b, ", \"target\": ");
				pt2c__json_write_cstr(&b, s->target);
			}
			put_tensor_fields(&b, p, &s->arg);
			pt2c__buf_putc(&b, '}');
		}
		pt2c__buf_puts(&b, "], \"nodes_by_target\": {");
		for (size_t i = 0; i < n_op; i++) {
			if (i) pt2c__buf_puts(&b, ", ");
			pt2c__json_write_cstr(&b, op_rows[i].key);
			pt2c__buf_printf(&b, ": %llu", (unsigned long long)op_rows[i].count);
		}
		pt2c__buf_puts(&b, "}, \"weights_by_dtype\": {");
		for (size_t i = 0; i < n_dt; i++) {
			if (i) pt2c__buf_puts(&b, ", ");
			pt2c__json_write_cstr(&b, dt_rows[i].key);
			pt2c__buf_printf(&b, ": {\"tensors\": %llu, \"bytes\": %llu}", (unsigned long long)dt_rows[i].count,
			                 (unsigned long long)dt_rows[i].bytes);
		}
		pt2c__buf_puts(&b, "}, \"engines\": [");
		for (size_t i = 0; i < n_eng; i++) {
			pt2c_engine_info e;
			if ((rc = engine_info_of(p, &engs[i], &e)) == PT2C_ENOMEM) {
				pt2c__buf_free(&b);
				goto done;
			}
			if (rc != 0)
				continue;
			pt2c__buf_puts(&b, i ? ", {\"owner\": " : "{\"owner\": ");
			pt2c__json_write_cstr(&b, e.owner);
			pt2c__buf_puts(&b, ", \"name\": ");
			pt2c__json_write_cstr(&b, e.name);
			pt2c__buf_printf(&b, ", \"abi\": %u, \"platform\": ", e.abi);
			pt2c__json_write_cstr(&b, e.platform);
			pt2c__buf_puts(&b, ", \"device\": ");
			pt2c__json_write_cstr(&b, e.device);
			pt2c__buf_puts(&b, ", \"device_info\": ");
			put_device_info(&b, e.device);
			pt2c__buf_printf(&b, ", \"bytes\": %llu}", (unsigned long long)e.engine_bytes);
		}
		pt2c__buf_puts(&b, "], \"range_constraints\": {");
		for (uint32_t i = 0; i < p->n_ranges; i++) {
			const pt2c_symrange *r = &p->ranges[i];
			if (i) pt2c__buf_puts(&b, ", ");
			pt2c__json_write_cstr(&b, r->name);
			pt2c__buf_puts(&b, ": [");
			if (r->has_min) pt2c__buf_printf(&b, "%lld", (long long)r->min); else pt2c__buf_puts(&b, "null");
			pt2c__buf_puts(&b, ", ");
			if (r->has_max) pt2c__buf_printf(&b, "%lld", (long long)r->max); else pt2c__buf_puts(&b, "null");
			pt2c__buf_puts(&b, "]");
		}
		pt2c__buf_puts(&b, "}, \"extra_files\": [");
		for (uint32_t i = 0; i < p->n_extra; i++) {
			pt2c__buf_puts(&b, i ? ", {\"name\": " : "{\"name\": ");
			pt2c__json_write_cstr(&b, p->extra[i].name);
			pt2c__buf_printf(&b, ", \"bytes\": %llu}",
			                 (unsigned long long)(p->extra[i].data ? p->extra[i].data->nbytes : 0));
		}
		pt2c__buf_puts(&b, "]}\n");
	}
	rc = pt2c__hand_out(&b, out, len);
done:
	pt2c__map_free(&ops);
	pt2c__map_free(&dts);
	pt2c__free(p->ctx->alloc, op_rows);
	pt2c__free(p->ctx->alloc, dt_rows);
	pt2c__free(p->ctx->alloc, engs);
	return rc;
}
