/* lib.h -- helpers shared by the public-API adapters in src/lib/. */
#ifndef PT2C_LIB_H
#define PT2C_LIB_H

#include "util/util.h"

/**
 * Move a buffer's text into a malloc'd NUL-terminated string for the caller (freed with
 * pt2c_free) and free the buffer. Returns 0 or PT2C_ENOMEM (also when the buffer had failed).
 */
int pt2c__hand_out(pt2c_buf *b, char **out, size_t *len);

#endif
