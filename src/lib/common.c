/*
 * common.c -- the public error helpers and version from pt2c/common.h.
 */
#include <stdio.h>

#include "pt2c/common.h"

const char *pt2c_strerror(int code)
{
	switch (code) {
	case PT2C_OK: return "success";
	case PT2C_EINVALID: return "invalid argument";
	case PT2C_ENOMEM: return "out of memory";
	case PT2C_EIO: return "I/O error";
	case PT2C_ECORRUPT: return "corrupt input";
	case PT2C_EUNSUPPORTED: return "unsupported feature";
	case PT2C_ENOTFOUND: return "not found";
	case PT2C_EGRAPH: return "invalid graph";
	default: return "unknown error";
	}
}

int pt2c_error_format(const pt2c_error *err, char *buf, size_t size)
{
	if (!err)
		return snprintf(buf, size, "%s", "");
	/* A message left empty still says what kind of failure it was. */
	const char *msg = err->message[0] ? err->message : pt2c_strerror(err->code);
	const char *file = err->file, *member = err->member;
	char at[40] = "";
	if (err->offset != UINT64_MAX)
		snprintf(at, sizeof at, " (at byte %llu)", (unsigned long long)err->offset);
	return snprintf(buf, size, "%s%s%s%s%s%s", file, file[0] ? ": " : "", member, member[0] ? ": " : "",
			msg, at);
}

const char *pt2c_version(void)
{
	return PT2C_VERSION_STRING;
}
