/* engine_record.c -- Torch-TensorRT serialized engine info: field layout per ABI and validation. */
#include "ir/ir.h"

#include <stdio.h>

static const char *const FIELD_NAMES[PT2C_EF_MAX] = {
	[PT2C_EF_ABI] = "abi_version",
	[PT2C_EF_NAME] = "name",
	[PT2C_EF_DEVICE] = "serialized_device_info",
	[PT2C_EF_ENGINE] = "serialized_engine",
	[PT2C_EF_IN_BINDINGS] = "serialized_in_binding_names",
	[PT2C_EF_OUT_BINDINGS] = "serialized_out_binding_names",
	[PT2C_EF_HW_COMPATIBLE] = "serialized_hardware_compatible",
	[PT2C_EF_METADATA] = "serialized_metadata",
	[PT2C_EF_PLATFORM] = "serialized_target_platform",
	[PT2C_EF_REQUIRES_OUTPUT_ALLOCATOR] = "serialized_require_output_allocator",
	[PT2C_EF_RESOURCE_ALLOCATION] = "serialized_resource_allocation_strategy",
	[PT2C_EF_NATIVE_MULTIDEVICE] = "serialized_requires_native_multidevice",
	[PT2C_EF_ALIASED_IO] = "serialized_aliased_io",
};

const char *pt2c__engine_field_name(int idx)
{
	return idx >= 0 && idx < PT2C_EF_MAX ? FIELD_NAMES[idx] : "unknown";
}

uint32_t pt2c__engine_fields_for_abi(uint32_t abi)
{
	return abi >= 6 && abi <= 10 ? abi + 3 : 0;
}

/* docs/generations.md: ABI_VERSION in core/runtime/runtime.h at each release tag; opaque engine
 * objects from _normalize_engine_constants_to_python in py/torch_tensorrt/_compile.py (v2.13.0+). */
static const pt2c_generation GENERATIONS[] = {
	{ "2.5", 6, false },  { "2.6", 6, false },  { "2.7", 7, false },  { "2.8", 7, false },
	{ "2.9", 7, false },  { "2.10", 7, false }, { "2.11", 8, false }, { "2.12", 9, false },
	{ "2.13", 9, true },  { "head", 10, true },
};

const pt2c_generation *pt2c__generation_find(const char *name)
{
	for (size_t i = 0; name && i < PT2C_ARRAY_LEN(GENERATIONS); i++)
		if (strcmp(GENERATIONS[i].name, name) == 0)
			return &GENERATIONS[i];
	return NULL;
}

const pt2c_generation *pt2c__generation_for_abi(uint32_t abi)
{
	/* the first (oldest) release of each ABI: ABI 9 -> 2.12 (TorchBind), not 2.13 */
	for (size_t i = 0; i < PT2C_ARRAY_LEN(GENERATIONS); i++)
		if (GENERATIONS[i].abi == abi)
			return &GENERATIONS[i];
	return NULL;
}

const char *pt2c__generation_abi_list(void)
{
	return "ABI 6 (Torch-TensorRT 2.5, 2.6), 7 (2.7 .. 2.10), 8 (2.11), 9 (2.12, 2.13), 10 (development head)";
}

int pt2c__engine_record_upgrade(pt2c_engine_record *r, uint32_t abi, pt2c_ctx *ctx, pt2c_error *err)
{
	PT2C_ASSERT_ARG(r && ctx);
	uint32_t want = pt2c__engine_fields_for_abi(abi);
	if (!want || !pt2c__engine_fields_for_abi(r->abi))
		return pt2c__err(err, PT2C_EINVALID, "engine record ABI %u -> %u: supported are %s", r->abi, abi,
		                 pt2c__generation_abi_list());
	if (abi < r->abi)
		return pt2c__err(err, PT2C_EUNSUPPORTED,
		                 "engine record '%.*s' has ABI %u, newer than the target's ABI %u: a file for an older "
		                 "Torch-TensorRT release cannot hold it",
		                 (int)(r->fields[PT2C_EF_NAME].n > 100 ? 100 : r->fields[PT2C_EF_NAME].n),
		                 r->fields[PT2C_EF_NAME].p ? r->fields[PT2C_EF_NAME].p : "", r->abi, abi);
	if (abi == r->abi)
		return 0;
	char num[8];
	int nn = snprintf(num, sizeof num, "%u", abi);
	const char *abi_text = pt2c__ctx_intern(ctx, num, (size_t)nn);
	const char *zero = pt2c__ctx_interns(ctx, "0");
	if (!abi_text || !zero)
		return pt2c__err_oom(err);
	/* upstream defaults of _pack_engine_info for the added fields: requires_output_allocator False,
	 * dynamically_allocate_resources False (static), requires_native_multidevice False -> "0";
	 * aliased_io {} -> "" */
	for (uint32_t f = r->n_fields; f < want; f++) {
		r->fields[f].p = f == PT2C_EF_ALIASED_IO ? "" : zero;
		r->fields[f].n = f == PT2C_EF_ALIASED_IO ? 0 : 1;
	}
	r->fields[PT2C_EF_ABI].p = abi_text;
	r->fields[PT2C_EF_ABI].n = (uint32_t)nn;
	r->abi = abi;
	r->n_fields = want;
	return 0;
}

/* Non-empty and only ASCII digits (what std::stoi accepts without a sign). */
static bool all_digits(const char *p, uint32_t n)
{
	if (!p || n == 0)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Field bytes equal the C string s. */
static bool field_is(const char *p, uint32_t n, const char *s)
{
	return strlen(s) == n && (n == 0 || memcmp(p, s, n) == 0);
}

/* '%'-joined names: the empty string (no names) is fine, empty segments are not. */
static bool bindings_ok(const char *p, uint32_t n)
{
	if (n == 0)
		return true;
	if (p[0] == '%' || p[n - 1] == '%')
		return false;
	for (uint32_t i = 1; i < n; i++)
		if (p[i] == '%' && p[i - 1] == '%')
			return false;
	return true;
}

/* ALIASED_IO: "" or "out@in@kind" records joined by '%', kind kv_cache_update or user. */
static bool aliased_io_ok(const char *p, uint32_t n)
{
	uint32_t start = 0;
	if (n == 0)
		return true;
	for (uint32_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '%')
			continue;
		const char *rec = p + start;
		uint32_t len = i - start, at[2], k = 0;
		for (uint32_t j = 0; j < len; j++)
			if (rec[j] == '@') {
				if (k == 2)
					return false;
				at[k++] = j;
			}
		if (k != 2 || at[0] == 0 || at[1] == at[0] + 1)
			return false;
		const char *kind = rec + at[1] + 1;
		uint32_t kind_n = len - at[1] - 1;
		if (!field_is(kind, kind_n, "kv_cache_update") && !field_is(kind, kind_n, "user"))
			return false;
		start = i + 1;
	}
	return true;
}

int pt2c__engine_record_validate(const pt2c_engine_record *r, pt2c_error *err)
{
	PT2C_ASSERT_ARG(r);
	uint32_t want = pt2c__engine_fields_for_abi(r->abi);
	if (!want)
		return pt2c__err(err, PT2C_ECORRUPT, "engine record has unknown ABI version %u; supported are %s", r->abi,
		                 pt2c__generation_abi_list());
	/* the ABI field text, when given, must spell the same number */
	const char *abi = r->fields[PT2C_EF_ABI].p;
	uint32_t abi_n = r->fields[PT2C_EF_ABI].n;
	if (abi) {
		uint32_t v = 0;
		bool ok = all_digits(abi, abi_n) && abi_n <= 2;
		for (uint32_t i = 0; ok && i < abi_n; i++)
			v = v * 10 + (uint32_t)(abi[i] - '0');
		if (!ok || v != r->abi)
			return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s is '%.*s', expected \"%u\"",
			                 FIELD_NAMES[PT2C_EF_ABI], (int)(abi_n > 16 ? 16 : abi_n), abi, r->abi);
	}
	if (r->n_fields != want)
		return pt2c__err(err, PT2C_ECORRUPT, "engine record of ABI %u has %u fields, expected %u", r->abi,
		                 r->n_fields, want);
	/* base64 engine text (kept as a view, decoded only when extracted): it must decode, or a
	 * rewrite would copy an engine that Torch-TensorRT cannot load (issue 11 #7) */
	if (r->engine && r->engine_b64) {
		size_t bad = 0;
		if (r->engine->nbytes > SIZE_MAX ||
		    pt2c__b64_check((const char *)r->engine->data, (size_t)r->engine->nbytes, &bad))
			return pt2c__err(err, PT2C_ECORRUPT,
			                 "engine record field %s is not valid base64 (%s at offset %zu of %llu characters)",
			                 FIELD_NAMES[PT2C_EF_ENGINE], r->engine->nbytes % 4 ? "length not a multiple of 4" : "bad character",
			                 bad, (unsigned long long)r->engine->nbytes);
		/* checked: its pages of the input file need not stay in memory (a no-op for other storages) */
		pt2c__storage_drop_pages(r->engine);
	}
	static const int FLAGS[] = { PT2C_EF_HW_COMPATIBLE, PT2C_EF_REQUIRES_OUTPUT_ALLOCATOR,
	                             PT2C_EF_RESOURCE_ALLOCATION, PT2C_EF_NATIVE_MULTIDEVICE };
	for (size_t i = 0; i < PT2C_ARRAY_LEN(FLAGS); i++) {
		int f = FLAGS[i];
		if ((uint32_t)f < want && !all_digits(r->fields[f].p, r->fields[f].n))
			return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s is not a decimal number",
			                 FIELD_NAMES[f]);
	}
	/* device: id%major%minor%type%name, exactly 5 tokens, the first four decimal */
	const char *d = r->fields[PT2C_EF_DEVICE].p;
	uint32_t dn = r->fields[PT2C_EF_DEVICE].n, tok = 0, start = 0;
	for (uint32_t i = 0; i <= dn; i++) {
		if (i < dn && d[i] != '%')
			continue;
		if (tok < 4 && !all_digits(d + start, i - start))
			return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s: token %u is not a decimal number",
			                 FIELD_NAMES[PT2C_EF_DEVICE], tok + 1);
		tok++;
		start = i + 1;
	}
	if (tok != 5)
		return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s has %u '%%'-separated tokens, expected 5",
		                 FIELD_NAMES[PT2C_EF_DEVICE], dn ? tok : 0);
	const char *pl = r->fields[PT2C_EF_PLATFORM].p;
	uint32_t pn = r->fields[PT2C_EF_PLATFORM].n;
	if (!field_is(pl, pn, "linux_x86_64") && !field_is(pl, pn, "linux_aarch64") &&
	    !field_is(pl, pn, "windows_x86_64") && !field_is(pl, pn, "windows_arm64"))
		return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s has unknown platform '%.*s'",
		                 FIELD_NAMES[PT2C_EF_PLATFORM], (int)(pn > 64 ? 64 : pn), pl ? pl : "");
	for (int f = PT2C_EF_IN_BINDINGS; f <= PT2C_EF_OUT_BINDINGS; f++)
		if (!bindings_ok(r->fields[f].p, r->fields[f].n))
			return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s has an empty binding name",
			                 FIELD_NAMES[f]);
	if (want > PT2C_EF_ALIASED_IO && !aliased_io_ok(r->fields[PT2C_EF_ALIASED_IO].p, r->fields[PT2C_EF_ALIASED_IO].n))
		return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s is malformed", FIELD_NAMES[PT2C_EF_ALIASED_IO]);
	if (r->fields[PT2C_EF_NAME].n == 0)
		return pt2c__err(err, PT2C_ECORRUPT, "engine record field %s is empty", FIELD_NAMES[PT2C_EF_NAME]);
	return 0;
}

int pt2c__engine_record_raw(const pt2c_engine_record *r, const pt2c_allocator *alloc, pt2c_storage **out,
                            pt2c_error *err)
{
	PT2C_ASSERT_ARG(r && out);
	*out = NULL;
	if (!r->engine)
		return pt2c__err(err, PT2C_ECORRUPT, "engine record has no engine bytes");
	if (!r->engine_b64) {
		*out = pt2c__storage_ref(r->engine);
		return 0;
	}
	const char *src = (const char *)r->engine->data;
	if (r->engine->nbytes > SIZE_MAX)
		return pt2c__err(err, PT2C_ECORRUPT, "engine base64 text is too large");
	size_t n = (size_t)r->engine->nbytes;
	size_t dn = pt2c__b64_decoded_len(src, n);
	if (dn == SIZE_MAX)
		return pt2c__err(err, PT2C_ECORRUPT, "engine base64 text has length %zu, not a multiple of 4", n);
	size_t total;
	if (pt2c__add_ovf_sz(sizeof(pt2c_storage), dn, &total))
		return pt2c__err_oom(err);
	/* one block: the struct followed by the decoded bytes (no second copy of a large engine) */
	pt2c_storage *s = pt2c__malloc(alloc, total);
	if (!s)
		return pt2c__err_oom(err);
	memset(s, 0, sizeof *s);
	uint8_t *bytes = (uint8_t *)(s + 1);
	size_t bad = 0;
	if (pt2c__b64_decode(bytes, src, n, &bad) != 0) {
		pt2c__free(alloc, s);
		return pt2c__err_at(err, PT2C_ECORRUPT, NULL, bad, "engine base64 text has a bad character at offset %zu", bad);
	}
	s->refcount = 1;
	s->data = bytes;
	s->nbytes = dn;
	s->alloc = alloc;
	*out = s;
	return 0;
}
