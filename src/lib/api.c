/*
 * api.c -- the public entry points (the headers in include/pt2c/): thin adapters from paths, descriptors and
 * buffers to the pure cores in serde/ and export/. I/O lives here and in util/file.c only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt2c.h"
#include "export/export.h"
#include "ir/ir.h"
#include "serde/serde.h"
#include "serde/zip.h"
#include "util/util.h"
#include "lib/lib.h"

/* MARK: strings and bytes handed to callers */

/*
 * A hand-out (freed with pt2c_free, which knows no allocator) carries a copy of the allocator
 * that made it in a header just before the bytes, so it comes from the object's allocator like
 * every other allocation and goes back to it. The copy (not a pointer) keeps pt2c_free valid
 * after the object, and the options struct that named the allocator, are gone.
 */
typedef union hand_out_hdr {
	struct {
		pt2c_allocator alloc; /* alloc.malloc NULL: the C library */
	} h;
	max_align_t align;
} hand_out_hdr;

void *pt2c__hand_out_alloc(const pt2c_allocator *alloc, size_t n)
{
	if (n > SIZE_MAX - sizeof(hand_out_hdr) - 1)
		return NULL;
	hand_out_hdr *hdr = pt2c__malloc(alloc, sizeof *hdr + n + 1);
	if (!hdr)
		return NULL;
	memset(hdr, 0, sizeof *hdr);
	if (alloc && alloc->malloc)
		hdr->h.alloc = *alloc;
	return hdr + 1;
}

void pt2c_free(void *p)
{
	if (!p)
		return;
	hand_out_hdr *hdr = (hand_out_hdr *)p - 1;
	pt2c_allocator a = hdr->h.alloc;
	pt2c__free(a.malloc ? &a : NULL, hdr);
}

int pt2c__hand_out(pt2c_buf *b, char **out, size_t *len)
{
	if (b->err) {
		pt2c__buf_free(b);
		return PT2C_ENOMEM;
	}
	char *s = pt2c__hand_out_alloc(b->alloc, b->len);
	if (!s) {
		pt2c__buf_free(b);
		return PT2C_ENOMEM;
	}
	if (b->len)
		memcpy(s, b->data, b->len);
	s[b->len] = 0;
	if (len)
		*len = b->len;
	*out = s;
	pt2c__buf_free(b);
	return 0;
}

/* MARK: modules */

int pt2c_module_parse_json(pt2c_module **out, const char *data, size_t len, const pt2c_allocator *alloc,
                           pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out, err);
	*out = NULL;
	PT2C_ASSERT_ARG_ERR(data || len == 0, err);
	return pt2c__partitioned_json_read(out, data, len, alloc, err);
}

int pt2c_module_load_json(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && path, err);
	*out = NULL;
	pt2c_mapped m;
	int rc = pt2c__map_path(&m, path, alloc, err);
	if (rc)
		return rc;
	rc = pt2c__partitioned_json_read(out, (const char *)m.data, m.size, alloc, err);
	pt2c__unmap(&m);
	if (rc)
		pt2c__err_set_file(err, path);
	return rc;
}

/* Release callback of the storage that keeps an input mapping alive for a module or program. */
static void release_mapping(void *ctx)
{
	pt2c_mapped *m = ctx;
	const pt2c_allocator *alloc = m->alloc;
	pt2c__unmap(m);
	pt2c__free(alloc, m);
}

/* Wrap a mapping into a refcounted storage that unmaps on release (the mapping moves). */
static int mapping_storage(pt2c_mapped *map, const pt2c_allocator *alloc, pt2c_storage **out, pt2c_error *err)
{
	pt2c_mapped *owned = pt2c__malloc(alloc, sizeof *owned);
	if (!owned) {
		pt2c__unmap(map);
		return pt2c__err_oom(err);
	}
	*owned = *map;
	if (pt2c__storage_new(alloc, owned->data, owned->size, release_mapping, owned, out)) {
		release_mapping(owned);
		return pt2c__err_oom(err);
	}
	return 0;
}

int pt2c_module_open(pt2c_module **out, const char *path, const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && path, err);
	*out = NULL;
	pt2c_mapped map;
	int rc = pt2c__map_path(&map, path, alloc, err);
	if (rc)
		return rc;
	if (map.size < 4 || memcmp(map.data, "PK\x03\x04", 4) != 0) {
		rc = pt2c__partitioned_json_read(out, (const char *)map.data, map.size, alloc, err);
		pt2c__unmap(&map);
	} else {
		pt2c_storage *backing = NULL;
		rc = mapping_storage(&map, alloc, &backing, err);
		if (rc == 0) {
			/* the reader gives parsed JSON pages back: a graph-heavy module's JSON is most of the file */
			rc = pt2c__partitioned_archive_read_ex(out, backing->data, (size_t)backing->nbytes, backing,
			                                       pt2c__mapped_is_file(&map), alloc, err);
			pt2c__storage_unref(backing); /* the module holds its own references */
		}
	}
	if (rc)
		pt2c__err_set_file(err, path);
	return rc;
}

/* Release callback of a member storage: the caller's release(ctx), through a small trampoline. */
typedef struct member_release {
	void (*release)(void *ctx);
	void *ctx;
	const pt2c_allocator *alloc;
} member_release;

static void release_member(void *p)
{
	member_release *r = p;
	const pt2c_allocator *alloc = r->alloc;
	if (r->release)
		r->release(r->ctx);
	pt2c__free(alloc, r);
}

int pt2c_module_build(pt2c_module **out, const char *json, size_t json_len, const pt2c_member_source *members,
                      size_t n_members, const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out, err);
	*out = NULL;
	PT2C_ASSERT_ARG_ERR((json || json_len == 0) && (members || n_members == 0), err);
	int rc = 0;
	size_t made = 0;
	const char **names = NULL;
	pt2c_storage **sts = NULL;
	if (n_members && (!(names = pt2c__calloc(alloc, n_members, sizeof *names)) ||
	                  !(sts = pt2c__calloc(alloc, n_members, sizeof *sts)))) {
		rc = pt2c__err_oom(err);
		goto done;
	}
	for (; made < n_members; made++) {
		const pt2c_member_source *ms = &members[made];
		names[made] = ms->name;
		if (!ms->name || (ms->data && ms->pull) || (!ms->data && !ms->pull && ms->size) || (ms->pull && !ms->size)) {
			rc = pt2c__err_at(err, PT2C_EINVALID, ms->name ? ms->name : "", UINT64_MAX,
			                  "member %zu (%s) must give a name and its bytes as data or (size > 0) a pull callback",
			                  made, ms->name ? ms->name : "unnamed");
			goto done;
		}
		member_release *r = NULL;
		if (ms->release) {
			if (!(r = pt2c__malloc(alloc, sizeof *r))) {
				rc = pt2c__err_oom(err);
				goto done;
			}
			*r = (member_release){ ms->release, ms->ctx, alloc };
		}
		int src = ms->pull ? pt2c__storage_new_pull(alloc, ms->size, ms->pull, ms->ctx, r ? release_member : NULL, r,
		                                            &sts[made])
		                   : pt2c__storage_new(alloc, ms->data, ms->size, r ? release_member : NULL, r, &sts[made]);
		if (src) {
			pt2c__free(alloc, r);
			rc = pt2c__err_oom(err);
			goto done;
		}
	}
	rc = pt2c__partitioned_blobs_read(out, json, json_len, names, sts, n_members, alloc, err);
done:
	/* the module holds its own references; unreferenced members are released here */
	for (size_t k = 0; k < made; k++)
		pt2c__storage_unref(sts[k]);
	for (size_t k = made; k < n_members; k++)
		if (members[k].release)
			members[k].release(members[k].ctx);
	pt2c__free(alloc, names);
	pt2c__free(alloc, sts);
	return rc;
}

void pt2c_module_free(pt2c_module *m)
{
	if (m)
		pt2c__module_free(m);
}

int pt2c_module_print(const pt2c_module *m, char **out, size_t *len)
{
	PT2C_ASSERT_ARG(m && out);
	*out = NULL;
	pt2c_buf b;
	pt2c__buf_init(&b, m->ctx->alloc);
	int rc = pt2c__module_print(&b, m);
	if (rc) {
		pt2c__buf_free(&b);
		return rc;
	}
	return pt2c__hand_out(&b, out, len);
}

/* MARK: reading programs */

static void fill_read_opts(pt2c_pt2_read_opts *ro, const pt2c_read_options *opts, const char *label)
{
	memset(ro, 0, sizeof *ro);
	ro->label = label;
	if (opts) {
		ro->flags = (opts->flags & PT2C_READ_VERIFY_CRC) ? PT2C_ZIP_VERIFY_CRC : 0;
		ro->max_json_depth = opts->max_json_depth;
	}
}

/* Read from a mapping that the program takes over (the mapping is released with the program). */
static int open_mapped(pt2c_program **out, pt2c_mapped *map, const pt2c_read_options *opts, const char *label,
                       pt2c_error *err)
{
	const pt2c_allocator *alloc = opts ? opts->alloc : NULL;
	bool file = pt2c__mapped_is_file(map);
	pt2c_storage *backing = NULL;
	int rc = mapping_storage(map, alloc, &backing, err);
	if (rc)
		return rc;
	pt2c_pt2_read_opts ro;
	fill_read_opts(&ro, opts, label);
	ro.file_mapped = file; /* the reader gives model.json's pages back as it goes: it is most of a graph-heavy file */
	rc = pt2c__pt2_read(out, backing->data, (size_t)backing->nbytes, backing, &ro, alloc, err);
	pt2c__storage_unref(backing); /* the program holds its own references */
	return rc;
}

int pt2c_program_open(pt2c_program **out, const char *path, const pt2c_read_options *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && path, err);
	*out = NULL;
	if (PT2C__CHECK_OPTIONS(opts, pt2c_read_options, PT2C_READ_OPTIONS_VERSION, err)) return PT2C_EINVALID;
	pt2c_mapped map;
	int rc = pt2c__map_path(&map, path, opts ? opts->alloc : NULL, err);
	if (rc == 0)
		rc = open_mapped(out, &map, opts, path, err);
	if (rc)
		pt2c__err_set_file(err, path);
	return rc;
}

int pt2c_program_open_fd(pt2c_program **out, int fd, const pt2c_read_options *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && fd >= 0, err);
	*out = NULL;
	if (PT2C__CHECK_OPTIONS(opts, pt2c_read_options, PT2C_READ_OPTIONS_VERSION, err)) return PT2C_EINVALID;
	pt2c_mapped map;
	int rc = pt2c__map_fd(&map, fd, opts ? opts->alloc : NULL, err);
	if (rc)
		return rc;
	return open_mapped(out, &map, opts, NULL, err);
}

int pt2c_program_parse(pt2c_program **out, const uint8_t *data, size_t len, const pt2c_read_options *opts,
                       pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && (data || len == 0), err);
	*out = NULL;
	if (PT2C__CHECK_OPTIONS(opts, pt2c_read_options, PT2C_READ_OPTIONS_VERSION, err)) return PT2C_EINVALID;
	pt2c_pt2_read_opts ro;
	fill_read_opts(&ro, opts, NULL);
	return pt2c__pt2_read(out, data, len, NULL, &ro, opts ? opts->alloc : NULL, err);
}

void pt2c_program_free(pt2c_program *p)
{
	if (!p)
		return;
	pt2c__program_free(p);
}

/* MARK: writing programs */

/* The archive root PyTorch would use for `path`: its basename without the last extension. */
static char *root_for_path(const char *path, const pt2c_allocator *alloc)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		n = (size_t)(dot - base);
	const char *src = base;
	if (n == 0) {
		src = "archive";
		n = strlen(src);
	}
	char *r = pt2c__malloc(alloc, n + 1);
	if (!r)
		return NULL;
	/* zip names must stay plain: anything odd becomes '_' */
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		r[i] = (c == '\\' || (unsigned char)c < 0x20) ? '_' : c;
	}
	r[n] = 0;
	return r;
}

int pt2c_program_write(const pt2c_program *p, const char *path, const pt2c_write_options *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && path, err);
	if (PT2C__CHECK_OPTIONS(opts, pt2c_write_options, PT2C_WRITE_OPTIONS_VERSION, err)) return PT2C_EINVALID;
	char *root = NULL;
	if (!opts || !opts->root) {
		root = root_for_path(path, p->ctx->alloc);
		if (!root)
			return pt2c__err_oom(err);
	}
	pt2c_ofile f;
	int rc = pt2c__ofile_open(&f, path, p->ctx->alloc, err);
	if (rc) {
		pt2c__free(p->ctx->alloc, root);
		pt2c__err_set_file(err, path);
		return rc;
	}
	pt2c_pt2_write_opts wo;
	memset(&wo, 0, sizeof wo);
	wo.root = root ? root : opts->root;
	wo.progress = opts ? opts->progress : NULL;
	wo.payload = opts ? opts->payload : NULL;
	wo.threads = opts && opts->version >= 2 ? opts->threads : 0; /* version 1: the default */
	rc = pt2c__pt2_write_par(p, pt2c__psink_ofile(&f), &wo, err);
	if (rc == 0) {
		rc = pt2c__ofile_commit(&f, err);
	} else {
		if (rc == PT2C_EIO && f.os_errno && err && !strstr(err->message, strerror(f.os_errno))) {
			/* name the cause (ENOSPC, EFBIG, EDQUOT...) and where the file stopped (issue 11 #8) */
			size_t n = strlen(err->message);
			snprintf(err->message + n, sizeof err->message - n, ": %s (after %llu bytes of the temporary file)",
			         strerror(f.os_errno), (unsigned long long)f.offset);
		}
		pt2c__ofile_abort(&f);
	}
	pt2c__ofile_abort(&f); /* no-op after a successful commit; frees paths */
	pt2c__free(p->ctx->alloc, root);
	if (rc)
		pt2c__err_set_file(err, path);
	return rc;
}

/* MARK: printing, checking, rewriting */

int pt2c_program_print(const pt2c_program *p, char **out, size_t *len)
{
	PT2C_ASSERT_ARG(p && out);
	*out = NULL;
	pt2c_buf b;
	pt2c__buf_init(&b, p->ctx->alloc);
	int rc = pt2c__program_print(&b, p);
	if (rc) {
		pt2c__buf_free(&b);
		return rc;
	}
	return pt2c__hand_out(&b, out, len);
}

int pt2c_program_lint(const pt2c_program *p, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p, err);
	return pt2c__program_lint(p, err);
}

int pt2c_program_resolve_cross(pt2c_program *p, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p, err);
	return pt2c__program_resolve_cross(p, err);
}

/* MARK: export */

int pt2c_export(pt2c_program **out, pt2c_module **module, const pt2c_export_options *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(out && module && *module, err);
	*out = NULL;
	if (PT2C__CHECK_OPTIONS(opts, pt2c_export_options, PT2C_EXPORT_OPTIONS_VERSION, err)) {
		pt2c_module_free(*module); /* consumed on failure too */
		*module = NULL;
		return PT2C_EINVALID;
	}
	const char *target = opts && opts->version >= 2 ? opts->target : NULL;
	const pt2c_generation *gen = NULL;
	int rc = pt2c__generation_resolve(target, &gen, err);
	if (!rc && gen && opts->cross_compile && strcmp(gen->name, "2.5") == 0)
		rc = pt2c__err(err, PT2C_EUNSUPPORTED, "Torch-TensorRT 2.5 has no cross-compile placeholder (it came in 2.6)");
	if (!rc && gen)
		rc = pt2c__module_set_target(*module, gen, err); /* records first: placeholders then get the layout */
	if (rc) {
		pt2c_module_free(*module);
		*module = NULL;
		return rc;
	}
	if ((rc = pt2c__export_module(out, module, opts && opts->cross_compile, NULL, err)))
		return rc;
	rc = gen ? pt2c__program_set_target(*out, gen, err) : pt2c__program_default_encoding(*out);
	if (rc) {
		pt2c_program_free(*out);
		*out = NULL;
	}
	return rc;
}

int pt2c_program_set_target(pt2c_program *p, const char *target, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && target, err);
	const pt2c_generation *gen = NULL;
	int rc = pt2c__generation_resolve(target, &gen, err);
	return rc ? rc : pt2c__program_set_target(p, gen, err);
}

int pt2c_module_inline_engines(pt2c_module *m, int cross_compile, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(m, err);
	return pt2c__pass_inline_engines(m, cross_compile != 0, err);
}

int pt2c_module_inline_fallbacks(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(m, err);
	return pt2c__pass_inline_fallbacks(m, err);
}

int pt2c_module_remove_unused_submodules(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(m, err);
	return pt2c__pass_remove_unused_submodules(m, err);
}

int pt2c_module_eliminate_dead_code(pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(m, err);
	return pt2c__pass_dce(m, err);
}

int pt2c_module_lint(const pt2c_module *m, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(m, err);
	return pt2c__module_lint(m, err);
}

/* MARK: archive members */

int pt2c_archive_list(const char *path, const pt2c_read_options *opts, char **out, size_t *len, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(path && out, err);
	*out = NULL;
	if (PT2C__CHECK_OPTIONS(opts, pt2c_read_options, PT2C_READ_OPTIONS_VERSION, err)) return PT2C_EINVALID;
	const pt2c_allocator *alloc = opts ? opts->alloc : NULL;
	pt2c_mapped map;
	int rc = pt2c__map_path(&map, path, alloc, err);
	if (rc)
		return rc;
	pt2c_zip z;
	pt2c_zip_opts zo = { (opts && (opts->flags & PT2C_READ_VERIFY_CRC)) ? PT2C_ZIP_VERIFY_CRC : 0u, 0, path };
	rc = pt2c__zip_parse(&z, map.data, map.size, &zo, alloc, err);
	if (rc) {
		pt2c__unmap(&map);
		pt2c__err_set_file(err, path);
		return rc;
	}
	pt2c_buf b;
	pt2c__buf_init(&b, alloc);
	for (uint32_t i = 0; i < z.n; i++) {
		const pt2c_zip_entry *e = &z.entries[i];
		pt2c__buf_printf(&b, "%12llu %12llu %08x ", (unsigned long long)e->data_off, (unsigned long long)e->size,
		                 e->crc);
		pt2c__buf_put(&b, e->name, e->name_len);
		pt2c__buf_putc(&b, '\n');
	}
	pt2c__zip_free(&z);
	pt2c__unmap(&map);
	return pt2c__hand_out(&b, out, len);
}
