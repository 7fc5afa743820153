/*
 * common.c -- the library version and the output-file helpers of pt2c/common.h (the error
 * helpers, used by every layer, live in src/util/error.c; temporary files in src/util/tempfile.c)
 * and the escaping of untrusted text for people.
 */
#include <stdio.h>

#include "pt2c/common.h"
#include "lib.h"
#include "util/json.h"
#include "util/util.h"

const char *pt2c_version(void)
{
	return PT2C_VERSION_STRING;
}

void pt2c_temp_files_remove(void)
{
	pt2c__tmpreg_unlink_all();
}

int pt2c_file_write(const char *path, const void *data, size_t len, pt2c_error *err)
{
	if (!path || !path[0] || (!data && len > 0))
		return pt2c__err_invalid_arg(err, "path && path[0] && (data || len == 0)");
	pt2c_ofile f;
	int rc = pt2c__ofile_open(&f, path, NULL, err);
	if (rc)
		return rc;
	pt2c__ofile_write(&f, data, len);
	rc = pt2c__ofile_commit(&f, err); /* removes the temporary file on failure */
	pt2c__ofile_abort(&f);            /* no-op after a commit */
	return rc;
}

int pt2c_text_escape(const char *s, char **out, size_t *len)
{
	if (!out)
		return PT2C_EINVALID;
	*out = NULL;
	if (len)
		*len = 0;
	if (!s)
		return PT2C_EINVALID;
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c__text_escape(&b, s);
	return pt2c__hand_out(&b, out, len);
}
