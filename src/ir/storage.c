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
