/*
 * partitioned_archive.c -- read the archive form of a partitioned module
 * (docs/partitioned-format.md, "The partitioned-module archive"): a stored zip whose members are
 * <root>/format ("pt2c-partitioned"), <root>/version ("1"), <root>/module.json (the JSON form with
 * member references), <root>/weights/... and <root>/engines/....
 *
 * module.json goes through the JSON-form reader (partitioned_json.c) with a resolver that turns
 * member names into zero-copy storages: one storage per member, created on first use and shared
 * by every weight naming it, each holding a reference on the caller's `backing`. Nothing is
 * copied, so a 10 GB model costs a mapping. Weight references must name a member under
 * "weights/", engine references one under "engines/" (so a weight can never alias module.json);
 * weights sharing a member must share a dtype. Only the small members (format, version,
 * module.json) get their CRC checked: verifying weights would read every byte of the file.
 */
#include "serde/serde.h"

#include <inttypes.h>
#include <stdio.h>

#define FORMAT_MAGIC "pt2c-partitioned"

typedef struct member_slot {
	pt2c_storage *st; /* one reference held by the reader until the end */
	uint8_t dtype;    /* of the first weight that named it (0: engine, or not yet) */
} member_slot;

typedef struct arch {
	const pt2c_zip *z;
	const char *root;  /* view into the archive: "partitioned/" */
	size_t root_len;
	char *name_buf;    /* root + member name, for lookups */
	size_t name_cap;
	member_slot *slots; /* z->n entries, allocated on the first reference */
	pt2c_storage *backing;
	const pt2c_allocator *alloc;
	bool file_mapped; /* member storages lie in a file mapping (their pages may be dropped) */
} arch;

static void unref_backing(void *p) { pt2c__storage_unref(p); }

/* The entry named root + name[0..n), or NULL (also on OOM: *oom set). */
static const pt2c_zip_entry *find_member(arch *a, const char *name, size_t n, bool *oom)
{
	size_t need;
	*oom = false;
	if (pt2c__add_ovf_sz(a->root_len, n, &need)) { *oom = true; return NULL; }
	if (need > a->name_cap) {
		void *p = a->name_buf;
		if (pt2c__grow(a->alloc, &p, &a->name_cap, need, 1)) { *oom = true; return NULL; }
		a->name_buf = p;
	}
	memcpy(a->name_buf, a->root, a->root_len);
	memcpy(a->name_buf + a->root_len, name, n);
	return pt2c__zip_find(a->z, a->name_buf, need);
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n > k && memcmp(s, pre, k) == 0;
}

/* The folder rule shared by both resolvers: weights under weights/, engines under engines/. */
static int check_folder(bool engine, const char *name, size_t n, const char **why)
{
	if (has_prefix(name, n, engine ? "engines/" : "weights/"))
		return 0;
	*why = engine ? "engine bytes must be a member under engines/" : "weight data must be a member under weights/";
	return PT2C_ECORRUPT;
}

/* The dtype rule shared by both resolvers: weights naming one member share a dtype. */
static int check_dtype(member_slot *s, bool engine, int dtype, const char **why)
{
	if (engine)
		return 0;
	if (s->dtype && s->dtype != dtype) {
		*why = "weights naming one member must share a dtype";
		return PT2C_ECORRUPT;
	}
	s->dtype = (uint8_t)dtype;
	return 0;
}

/* pt2c_member_resolver.resolve over the archive (contract in serde.h). */
static int resolve(void *ctx, bool engine, const char *name, size_t n, int dtype, pt2c_storage **out, const char **why)
{
	arch *a = ctx;
	*out = NULL;
	int frc = check_folder(engine, name, n, why);
	if (frc)
		return frc;
	bool oom;
	const pt2c_zip_entry *e = find_member(a, name, n, &oom);
	if (oom) return PT2C_ENOMEM;
	if (!e) return PT2C_ENOTFOUND;
	if (!a->slots && !(a->slots = pt2c__calloc(a->alloc, a->z->n, sizeof *a->slots))) return PT2C_ENOMEM;
	member_slot *s = &a->slots[e - a->z->entries];
	if (!s->st) {
		if (e->size > SIZE_MAX) return PT2C_ENOMEM;
		int rc = pt2c__storage_new(a->alloc, pt2c__zip_data(a->z, e), e->size, a->backing ? unref_backing : NULL,
		                           a->backing, &s->st);
		if (rc) return PT2C_ENOMEM;
		s->st->file_pages = a->file_mapped;
		pt2c__storage_ref(a->backing);
	}
	int drc = check_dtype(s, engine, dtype, why);
	if (drc)
		return drc;
	*out = pt2c__storage_ref(s->st);
	return 0;
}

/* The small member root + name as bytes, CRC-checked; PT2C_ECORRUPT naming it when missing. */
static int small_member(arch *a, const char *name, const uint8_t **p, size_t *n, pt2c_error *err)
{
	bool oom;
	const pt2c_zip_entry *e = find_member(a, name, strlen(name), &oom);
	if (oom) return pt2c__err_oom(err);
	if (!e) {
		char full[PT2C_ERROR_WHERE_MAX];
		snprintf(full, sizeof full, "%.*s%s", (int)(a->root_len > 200 ? 200 : a->root_len), a->root, name);
		return pt2c__err_at(err, PT2C_ECORRUPT, full, UINT64_MAX, "not a partitioned-module archive: member %s is missing",
		                    full);
	}
	int rc = pt2c__zip_verify_crc(a->z, e, err);
	if (rc) return rc;
	if (e->size > SIZE_MAX) return pt2c__err_oom(err);
	*p = pt2c__zip_data(a->z, e);
	*n = (size_t)e->size;
	return 0;
}

/* Printable copy of a short member's content for messages. */
static void show(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t k = 0; k < n && o + 5 < cap; k++)
		dst[o++] = (p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"') ? (char)p[k] : '?';
	if (n > 0 && o + 5 >= cap) { memcpy(dst + o, "...", 3); o += 3; }
	dst[o] = 0;
}

int pt2c__partitioned_archive_read_ex(pt2c_module **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                                      bool file_mapped,
                                   const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && (data || len == 0));
	*out = NULL;
	pt2c_zip z;
	memset(&z, 0, sizeof z);
	int rc = pt2c__zip_parse(&z, data, len, NULL, alloc, err);
	if (rc) return rc;
	arch a;
	memset(&a, 0, sizeof a);
	a.z = &z;
	a.backing = backing;
	a.alloc = alloc;
	a.file_mapped = file_mapped;
	char member[PT2C_ERROR_WHERE_MAX];
	const uint8_t *p;
	size_t n;
	if (z.n == 0) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, "format", UINT64_MAX, "not a partitioned-module archive: the archive is empty");
		goto done;
	}
	/* the root folder comes from the first central-directory entry, as for .pt2 */
	const char *slash = memchr(z.entries[0].name, '/', z.entries[0].name_len);
	if (!slash) {
		rc = pt2c__err_at(err, PT2C_ECORRUPT, "central directory", z.entries[0].header_off,
		                  "not a partitioned-module archive: first member \"%.*s\" is not inside a root folder",
		                  (int)(z.entries[0].name_len > 100 ? 100 : z.entries[0].name_len), z.entries[0].name);
		goto done;
	}
	a.root = z.entries[0].name;
	a.root_len = (size_t)(slash - a.root) + 1;

	if ((rc = small_member(&a, "format", &p, &n, err)) != 0) goto done;
	if (n != strlen(FORMAT_MAGIC) || memcmp(p, FORMAT_MAGIC, n) != 0) {
		char got[40];
		show(got, sizeof got, p, n);
		snprintf(member, sizeof member, "%.*sformat", (int)(a.root_len > 200 ? 200 : a.root_len), a.root);
		rc = pt2c__err_at(err, PT2C_ECORRUPT, member, 0, "not a partitioned-module archive: format is \"%s\", expected \"%s\"",
		                  got, FORMAT_MAGIC);
		goto done;
	}
	if ((rc = small_member(&a, "version", &p, &n, err)) != 0) goto done;
	if (n != 1 || p[0] != '1') {
		char got[40];
		show(got, sizeof got, p, n);
		snprintf(member, sizeof member, "%.*sversion", (int)(a.root_len > 200 ? 200 : a.root_len), a.root);
		rc = pt2c__err_at(err, PT2C_EUNSUPPORTED, member, 0, "partitioned-module archive version \"%s\" is not supported (expected \"1\")",
		                  got);
		goto done;
	}
	if ((rc = small_member(&a, "module.json", &p, &n, err)) != 0) goto done;
	snprintf(member, sizeof member, "%.*smodule.json", (int)(a.root_len > 200 ? 200 : a.root_len), a.root);
	pt2c_member_resolver res = { resolve, &a, member, file_mapped };
	rc = pt2c__partitioned_json_read_ex(out, (const char *)p, n, &res, alloc, err);
done:
	if (a.slots)
		for (uint32_t k = 0; k < z.n; k++) pt2c__storage_unref(a.slots[k].st);
	pt2c__free(alloc, a.slots);
	pt2c__free(alloc, a.name_buf);
	pt2c__zip_free(&z);
	return rc;
}

int pt2c__partitioned_archive_read(pt2c_module **out, const uint8_t *data, size_t len, pt2c_storage *backing,
                                   const pt2c_allocator *alloc, pt2c_error *err)
{
	return pt2c__partitioned_archive_read_ex(out, data, len, backing, false, alloc, err);
}

/* MARK: caller-supplied members (pt2c_module_build) */

typedef struct blobs {
	const char *const *names;
	pt2c_storage *const *sts;
	size_t n;
	member_slot *slots; /* dtype per blob (st unused) */
	pt2c_map by_name;   /* name -> index */
} blobs;

/* pt2c_member_resolver.resolve over caller-supplied blobs (contract in serde.h). */
static int resolve_blob(void *ctx, bool engine, const char *name, size_t n, int dtype, pt2c_storage **out,
                        const char **why)
{
	blobs *bl = ctx;
	*out = NULL;
	int rc = check_folder(engine, name, n, why);
	if (rc)
		return rc;
	uint64_t k;
	if (!pt2c__map_get(&bl->by_name, name, n, &k))
		return PT2C_ENOTFOUND;
	pt2c_storage *st = bl->sts[k];
	if (engine && !pt2c__storage_in_memory(st)) {
		*why = "engine bytes must be given as memory, not through a pull callback";
		return PT2C_EUNSUPPORTED;
	}
	if ((rc = check_dtype(&bl->slots[k], engine, dtype, why)) != 0)
		return rc;
	*out = pt2c__storage_ref(st);
	return 0;
}

int pt2c__partitioned_blobs_read(pt2c_module **out, const char *json, size_t len, const char *const *names,
                                 pt2c_storage *const *sts, size_t n, const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && (json || len == 0) && (names || n == 0) && (sts || n == 0));
	*out = NULL;
	blobs bl = { names, sts, n, NULL, { 0 } };
	pt2c__map_init(&bl.by_name, alloc);
	int rc = 0;
	if (n && !(bl.slots = pt2c__calloc(alloc, n, sizeof *bl.slots)))
		rc = pt2c__err_oom(err);
	for (size_t k = 0; k < n && !rc; k++) {
		bool existed = false;
		if (!names[k] || !sts[k]) {
			rc = pt2c__err(err, PT2C_EINVALID, "member %zu has no name or no bytes", k);
		} else if (pt2c__map_put(&bl.by_name, names[k], strlen(names[k]), k, false, &existed)) {
			rc = pt2c__err_oom(err);
		} else if (existed) {
			rc = pt2c__err_at(err, PT2C_EINVALID, names[k], UINT64_MAX, "two members are named %s", names[k]);
		}
	}
	if (!rc) {
		pt2c_member_resolver res = { resolve_blob, &bl, "module.json", false };
		rc = pt2c__partitioned_json_read_ex(out, json, len, &res, alloc, err);
	}
	pt2c__map_free(&bl.by_name);
	pt2c__free(alloc, bl.slots);
	return rc;
}
