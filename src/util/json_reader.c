/*
 * json_reader.c -- error placement and typed member access for the JSON readers (json_reader.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "util/json_reader.h"

void pt2c__jr_init(pt2c_jr *jr, const char *src, size_t src_len, const char *member, pt2c_error *err)
{
	jr->err = err;
	jr->src = src;
	jr->src_len = src ? src_len : 0;
	jr->member = member && member[0] ? member : NULL;
	jr->depth = 0;
}

/* The current path as "<member>:<JSON pointer>" ('~' -> "~0", '/' -> "~1", RFC 6901), truncated to fit. */
static void format_path(const pt2c_jr *jr, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = 0;
	if (jr->member) {
		int w = snprintf(buf, cap, "%s:", jr->member);
		o = w > 0 ? (size_t)w : 0;
		if (o >= cap)
			o = cap - 1;
	}
	size_t start = o;
	uint32_t n = jr->depth < PT2C_JR_PATH_MAX ? jr->depth : PT2C_JR_PATH_MAX;
	for (uint32_t s = 0; s < n && o + 2 < cap; s++) {
		buf[o++] = '/';
		if (!jr->path[s].key) {
			int w = snprintf(buf + o, cap - o, "%" PRIu64, jr->path[s].idx);
			o += w > 0 ? (size_t)w : 0;
			if (o >= cap)
				o = cap - 1;
			continue;
		}
		for (uint32_t k = 0; k < jr->path[s].key_len && o + 3 < cap; k++) {
			char c = jr->path[s].key[k];
			if (c == '~' || c == '/') {
				buf[o++] = '~';
				buf[o++] = c == '~' ? '0' : '1';
			} else {
				buf[o++] = c;
			}
		}
	}
	if (o == start && o + 1 < cap)
		buf[o++] = '/';
	buf[o < cap ? o : cap - 1] = 0;
}

int pt2c__jr_fail(pt2c_jr *jr, int code, const pt2c_json *at, const char *fmt, ...)
{
	if (!jr->err)
		return code;
	char msg[PT2C_ERROR_MESSAGE_MAX - 48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char path[PT2C_ERROR_WHERE_MAX];
	format_path(jr, path, sizeof path);
	if (!at)
		return pt2c__err_at(jr->err, code, path, UINT64_MAX, "%s", msg);
	if (!jr->src || at->pos >= jr->src_len)
		return pt2c__err_at(jr->err, code, path, at->pos, "%s", msg);
	uint32_t line, col;
	pt2c__json_line_col(jr->src, jr->src_len, at->pos, &line, &col);
	return pt2c__err_at(jr->err, code, path, at->pos, "%s at line %" PRIu32 " column %" PRIu32, msg, line, col);
}

const char *pt2c__jr_type_name(const pt2c_jr *jr, const pt2c_json *v)
{
	if (!v)
		return "nothing";
	switch (v->type) {
	case PT2C_JSON_NULL: return "null";
	case PT2C_JSON_FALSE:
	case PT2C_JSON_TRUE: return "a boolean";
	case PT2C_JSON_INT: return "an integer";
	case PT2C_JSON_REAL: return "a float";
	case PT2C_JSON_STRING: return "a string";
	case PT2C_JSON_ARRAY: return "an array";
	case PT2C_JSON_RAW:
		return jr && jr->src && v->pos < jr->src_len && jr->src[v->pos] == '{' ? "an object" : "an array";
	default: return "an object";
	}
}

const char *pt2c__jr_type_want(int type)
{
	switch (type) {
	case PT2C_JSON_NULL: return "null";
	case PT2C_JSON_FALSE:
	case PT2C_JSON_TRUE: return "a boolean";
	case PT2C_JSON_INT: return "an integer";
	case PT2C_JSON_REAL: return "a number";
	case PT2C_JSON_STRING: return "a string";
	case PT2C_JSON_ARRAY: return "an array";
	case PT2C_JSON_OBJECT: return "an object";
	default: return "a value";
	}
}

int pt2c__jr_type_error(pt2c_jr *jr, const pt2c_json *v, const char *what)
{
	return pt2c__jr_fail(jr, PT2C_ECORRUPT, v, "expected %s, got %s", what, pt2c__jr_type_name(jr, v));
}

int pt2c__jr_field_slow(pt2c_jr *jr, const pt2c_json *obj, const char *key, int type, unsigned flags,
                        const pt2c_json **out)
{
	*out = NULL;
	if (!pt2c__json_is(obj, PT2C_JSON_OBJECT))
		return pt2c__jr_type_error(jr, obj, "an object");
	const pt2c_json *v = pt2c__json_get(obj, key);
	PT2C_JR_AT(jr, key);
	if (!v || v->type == PT2C_JSON_NULL) {
		if (flags & PT2C_JR_OPTIONAL)
			return 0;
		if (!v) /* the path names the missing member; the offset is its object's */
			return pt2c__jr_fail(jr, PT2C_ECORRUPT, obj, "missing required key \"%s\"", key);
	}
	if (!pt2c__jr_is(jr, v, type, flags))
		return pt2c__jr_type_error(jr, v, pt2c__jr_type_want(type));
	*out = v;
	return 0;
}
