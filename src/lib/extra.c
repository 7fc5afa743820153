/*
 * extra.c -- the extra files of a program: the `extra/<name>` records that PyTorch's
 * torch.export.save(..., extra_files={name: text}) writes after the sample inputs and
 * torch.export.load(..., extra_files=...) returns (decoded as UTF-8 text).
 */
#include <string.h>

#include "pt2c.h"
#include "ir/ir.h"
#include "util/json.h"
#include "util/util.h"

size_t pt2c_program_extra_file_count(const pt2c_program *p)
{
	return p ? p->n_extra : 0;
}

int pt2c_program_extra_file(const pt2c_program *p, size_t i, const char **name, const uint8_t **data, size_t *len)
{
	PT2C_ASSERT_ARG(p);
	if (i >= p->n_extra)
		return PT2C_ENOTFOUND;
	const pt2c_storage *st = p->extra[i].data;
	if (name)
		*name = p->extra[i].name;
	if (data)
		*data = st && st->nbytes ? st->data : (const uint8_t *)"";
	if (len)
		*len = st ? (size_t)st->nbytes : 0;
	return 0;
}

static int find_extra(const pt2c_program *p, const char *name, uint32_t *at)
{
	for (uint32_t i = 0; i < p->n_extra; i++)
		if (strcmp(p->extra[i].name, name) == 0) {
			*at = i;
			return 1;
		}
	return 0;
}

int pt2c_extra_file_name_check(const char *name, pt2c_error *err)
{
	if (!name || !name[0])
		return pt2c__err(err, PT2C_EINVALID, "extra file name is empty");
	size_t n = strnlen(name, PT2C_EXTRA_FILE_NAME_MAX + 1);
	if (n > PT2C_EXTRA_FILE_NAME_MAX)
		return pt2c__err(err, PT2C_EINVALID, "extra file name is longer than %d bytes", PT2C_EXTRA_FILE_NAME_MAX);
	if (strchr(name, '/') || strchr(name, '\\'))
		return pt2c__err(err, PT2C_EINVALID, "extra file name '%s' contains a path separator", name);
	if (strstr(name, ".."))
		return pt2c__err(err, PT2C_EINVALID, "extra file name '%s' contains '..'", name);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return pt2c__err(err, PT2C_EINVALID, "extra file name contains control character 0x%02x at byte %zu",
			                 (unsigned)(unsigned char)name[i], i);
	size_t bad = pt2c__utf8_invalid_at(name, n);
	if (bad != SIZE_MAX)
		return pt2c__err(err, PT2C_EINVALID, "extra file name is not valid UTF-8 (byte %zu)", bad);
	return 0;
}

/* The array as a heap array of at least `need` entries (moved out of the arena on first edit). */
static int reserve(pt2c_program *p, uint32_t need)
{
	const pt2c_allocator *a = p->ctx->alloc;
	if (p->cap_extra >= need)
		return 0;
	uint32_t cap = p->cap_extra ? p->cap_extra : 4;
	while (cap < need) {
		if (cap > UINT32_MAX / 2)
			return PT2C_ENOMEM;
		cap *= 2;
	}
	struct pt2c_extra_file *arr = pt2c__malloc(a, (size_t)cap * sizeof *arr);
	if (!arr)
		return PT2C_ENOMEM;
	if (p->n_extra)
		memcpy(arr, p->extra, (size_t)p->n_extra * sizeof *arr);
	if (p->cap_extra)
		pt2c__free(a, p->extra);
	p->extra = arr;
	p->cap_extra = cap;
	return 0;
}

int pt2c_program_set_extra_file(pt2c_program *p, const char *name, const void *data, size_t len, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && (data || len == 0), err);
	int rc = pt2c_extra_file_name_check(name, err);
	if (rc)
		return rc;
	size_t bad = pt2c__utf8_invalid_at(data ? data : "", len);
	if (bad != SIZE_MAX)
		return pt2c__err_at(err, PT2C_EINVALID, name, bad,
		                    "extra file '%s' is not UTF-8 text (torch.export.load decodes it as UTF-8)", name);
	uint32_t at = 0;
	bool found = find_extra(p, name, &at);
	if (!found && p->n_extra == UINT32_MAX)
		return pt2c__err(err, PT2C_EINVALID, "too many extra files");
	/* everything that can fail first; the program changes only once all of it succeeded */
	pt2c_storage *st = NULL;
	if (pt2c__storage_copy(p->ctx->alloc, data ? data : "", len, &st))
		return pt2c__err_oom(err);
	const char *nm = found ? p->extra[at].name : pt2c__ctx_interns(p->ctx, name);
	if (!nm || (!found && reserve(p, p->n_extra + 1))) {
		pt2c__storage_unref(st);
		return pt2c__err_oom(err);
	}
	if (found) {
		pt2c__storage_unref(p->extra[at].data);
		p->extra[at].data = st;
	} else {
		p->extra[p->n_extra].name = nm;
		p->extra[p->n_extra].data = st;
		p->n_extra++;
	}
	return 0;
}

int pt2c_program_remove_extra_file(pt2c_program *p, const char *name, pt2c_error *err)
{
	PT2C_ASSERT_ARG_ERR(p && name, err);
	uint32_t at = 0;
	if (!find_extra(p, name, &at))
		return pt2c__err(err, PT2C_ENOTFOUND, "no extra file '%s'", name);
	pt2c__storage_unref(p->extra[at].data);
	memmove(&p->extra[at], &p->extra[at + 1], (size_t)(p->n_extra - at - 1) * sizeof *p->extra);
	p->n_extra--;
	return 0;
}
