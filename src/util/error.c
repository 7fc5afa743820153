/*
 * error.c -- filling a pt2c_error. Never allocates, so out-of-memory can be reported too.
 */
#include <stdio.h>

#include "util/util.h"

/* Copy s into a fixed buffer of `size` bytes, truncating; NULL clears it. */
static void copy_trunc(char *dst, size_t size, const char *s)
{
	if (!s) {
		dst[0] = '\0';
		return;
	}
	size_t n = strlen(s);
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Format into err->message (truncated safely) and make it one line. */
__attribute__((format(printf, 2, 0)))
static void set_message(pt2c_error *err, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
	if (n < 0)
		copy_trunc(err->message, sizeof err->message, fmt);
	/* Messages are one line: a newline from formatted input would break log lines. */
	for (char *c = err->message; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

int pt2c__err_invalid_arg(pt2c_error *err, const char *expr)
{
	if (err)
		err->file[0] = '\0';
	return pt2c__err(err, PT2C_EINVALID, "invalid argument: %s", expr);
}

int pt2c__err(pt2c_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	err->member[0] = '\0';
	err->offset = UINT64_MAX;
	return code;
}

int pt2c__err_at(pt2c_error *err, int code, const char *member, uint64_t offset, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	copy_trunc(err->member, sizeof err->member, member);
	err->offset = offset;
	return code;
}

int pt2c__err_oom(pt2c_error *err)
{
	if (!err)
		return PT2C_ENOMEM;
	err->code = PT2C_ENOMEM;
	copy_trunc(err->message, sizeof err->message, "out of memory");
	err->member[0] = '\0';
	err->offset = UINT64_MAX;
	return PT2C_ENOMEM;
}

void pt2c__err_set_file(pt2c_error *err, const char *path)
{
	if (err)
		copy_trunc(err->file, sizeof err->file, path);
}

void pt2c__err_set_member(pt2c_error *err, const char *member)
{
	if (!err || !member)
		return;
	if (err->member[0] == '\0') {
		copy_trunc(err->member, sizeof err->member, member);
	} else if (err->member[0] == '/') {
		/* a JSON pointer set by the JSON reader: "<member>:<pointer>", as the readers write paths */
		char buf[PT2C_ERROR_WHERE_MAX];
		size_t mn = strnlen(member, sizeof buf - 2), pn = strnlen(err->member, sizeof err->member);
		memcpy(buf, member, mn);
		buf[mn] = ':';
		if (pn > sizeof buf - mn - 2)
			pn = sizeof buf - mn - 2;
		memcpy(buf + mn + 1, err->member, pn);
		buf[mn + 1 + pn] = '\0';
		memcpy(err->member, buf, mn + 2 + pn);
	}
}

/* MARK: the public error helpers of pt2c/common.h (here, not in lib: util and serde use them) */

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
