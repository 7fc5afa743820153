/*
 * writeback.c -- pt2c__ofile_start_writeback (util.h). Apart from file.c because
 * sync_file_range needs _GNU_SOURCE, which would also change other declarations there.
 */
#if defined(__linux__)
#define _GNU_SOURCE
#include <fcntl.h>
#endif

#include "util/util.h"

void pt2c__ofile_start_writeback(pt2c_ofile *f, uint64_t off, uint64_t n)
{
#if defined(__linux__)
	if (f && f->fd >= 0 && n && off <= (uint64_t)INT64_MAX && n <= (uint64_t)INT64_MAX - off)
		(void)sync_file_range(f->fd, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE); /* a hint: fsync reports errors */
#else
	PT2C_UNUSED(f);
	PT2C_UNUSED(off);
	PT2C_UNUSED(n);
#endif
}
