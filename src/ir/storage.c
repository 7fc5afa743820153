/* storage.c -- refcounted byte ranges: borrowed, owned copies, or released by a callback. */
#include "ir/ir.h"

int pt2c__storage_new(const pt2c_allocator *alloc, const uint8_t *data, uint64_t nbytes,
                      void (*release)(void *), void *release_ctx, pt2c_storage **out)
{
	PT2C_ASSERT_ARG(out && (data || nbytes == 0));
	*out = NULL;
	pt2c_storage *s = pt2c__calloc(alloc, 1, sizeof *s);
	if (!s)
		return PT2C_ENOMEM;
	s->refcount = 1;
	s->data = data;
	s->nbytes = nbytes;
	s->release = release;
	s->release_ctx = release_ctx;
	s->alloc = alloc;
	*out = s;
	return 0;
}

int pt2c__storage_new_pull(const pt2c_allocator *alloc, uint64_t nbytes,
                           int (*pull)(void *, uint64_t, void *, size_t), void *pull_ctx,
                           void (*release)(void *), void *release_ctx, pt2c_storage **out)
{
	PT2C_ASSERT_ARG(out && pull && nbytes > 0);
	int rc = pt2c__storage_new(alloc, NULL, 0, release, release_ctx, out);
	if (rc)
		return rc;
	(*out)->nbytes = nbytes;
	(*out)->pull = pull;
	(*out)->pull_ctx = pull_ctx;
	return 0;
}

int pt2c__storage_copy(const pt2c_allocator *alloc, const void *data, uint64_t nbytes, pt2c_storage **out)
{
	PT2C_ASSERT_ARG(out && (data || nbytes == 0));
	*out = NULL;
	size_t total;
	if (nbytes > SIZE_MAX || pt2c__add_ovf_sz(sizeof(pt2c_storage), (size_t)nbytes, &total))
		return PT2C_ENOMEM;
	/* one block: the bytes follow the struct, so freeing the struct frees them */
	pt2c_storage *s = pt2c__malloc(alloc, total);
	if (!s)
		return PT2C_ENOMEM;
	memset(s, 0, sizeof *s);
	uint8_t *bytes = (uint8_t *)(s + 1);
	if (nbytes)
		memcpy(bytes, data, (size_t)nbytes);
	s->refcount = 1;
	s->data = bytes;
	s->nbytes = nbytes;
	s->alloc = alloc;
	*out = s;
	return 0;
}

pt2c_storage *pt2c__storage_ref(pt2c_storage *s)
{
	if (s)
		s->refcount++;
	return s;
}

void pt2c__storage_unref(pt2c_storage *s)
{
	if (!s || --s->refcount > 0)
		return;
	if (s->release)
		s->release(s->release_ctx);
	pt2c__free(s->alloc, s);
}

void pt2c__storage_drop_pages(const pt2c_storage *s)
{
	if (s && s->file_pages && s->nbytes)
		pt2c__drop_file_pages(s->data, (size_t)s->nbytes);
}

/* Bytes [off, off+n) of s into buf: a copy from memory or a pull. */
static int storage_read(const pt2c_storage *s, uint64_t off, void *buf, size_t n)
{
	if (s->data) {
		memcpy(buf, s->data + off, n);
		return 0;
	}
	return s->pull(s->pull_ctx, off, buf, n) == 0 ? 0 : PT2C_EIO;
}

#define CMP_CHUNK ((size_t)1 << 20)
int pt2c__storage_equal(const pt2c_storage *a, const pt2c_storage *b, const pt2c_allocator *alloc, bool *equal)
{
	PT2C_ASSERT_ARG(a && b && equal);
	*equal = false;
	if (a->nbytes != b->nbytes)
		return 0;
	if (a == b || a->nbytes == 0 || (a->data && a->data == b->data)) {
		*equal = true;
		return 0;
	}
	if (a->data && b->data) {
		*equal = memcmp(a->data, b->data, (size_t)a->nbytes) == 0;
		return 0;
	}
	size_t cap = a->nbytes < CMP_CHUNK ? (size_t)a->nbytes : CMP_CHUNK;
	uint8_t *x = pt2c__malloc(alloc, cap), *y = pt2c__malloc(alloc, cap);
	int rc = x && y ? 0 : PT2C_ENOMEM;
	bool same = true;
	for (uint64_t off = 0; !rc && same && off < a->nbytes; off += cap) {
		size_t k = a->nbytes - off < cap ? (size_t)(a->nbytes - off) : cap;
		if (!(rc = storage_read(a, off, x, k)) && !(rc = storage_read(b, off, y, k)))
			same = memcmp(x, y, k) == 0;
	}
	pt2c__free(alloc, x);
	pt2c__free(alloc, y);
	if (!rc)
		*equal = same;
	return rc;
}
