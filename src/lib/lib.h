/* lib.h -- helpers shared by the public-API adapters in src/lib/. */
#ifndef PT2C_LIB_H
#define PT2C_LIB_H

#include "util/util.h"

/**
 * Move a buffer's text into a NUL-terminated string for the caller (allocated from the buffer's
 * allocator, freed with pt2c_free) and free the buffer. Returns 0 or PT2C_ENOMEM (also when the
 * buffer had failed); *out and *len are set only on success.
 */
int pt2c__hand_out(pt2c_buf *b, char **out, size_t *len);
/** n bytes (plus a NUL byte after them) for the caller to free with pt2c_free, from `alloc`; NULL on failure. */
void *pt2c__hand_out_alloc(const pt2c_allocator *alloc, size_t n);

/**
 * The version check of an options struct: 0 when 1 <= version <= current, else PT2C_EINVALID
 * with "<type> version N is not supported" in err.
 */
int pt2c__options_version(const char *type, unsigned int version, unsigned int current, pt2c_error *err);
/** 0 for NULL options (the defaults), else the version check of the struct's type. */
#define PT2C__CHECK_OPTIONS(opts, type, current, err) ((opts) ? pt2c__options_version(#type, (opts)->version, (current), (err)) : 0)

#endif
