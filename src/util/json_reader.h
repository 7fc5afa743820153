/*
 * json_reader.h -- the scaffold every reader of a JSON document (json.h DOM) builds on: where it is
 * (a path, kept as a stack of keys and indices and turned into text only when an error is
 * reported), how it reports an error, and typed access to object members.
 *
 * One error form for every reader:
 *   err->member = "<member>:<RFC 6901 JSON pointer>" ("models/model.json:/graph/nodes/3/target";
 *                 the pointer alone without a member; "/" for the document itself),
 *   err->offset = the byte offset of the offending value (UINT64_MAX when none is known),
 *   err->message = "<what>" + " at line L column C" when the document text is known.
 * A missing member is reported at its would-be path ("/graph/0/target"), at the offset of its object.
 * Type errors are worded one way: "expected <what>, got <type>" (pt2c__jr_type_error).
 *
 * Path scopes are tied to C blocks, so no pop can be forgotten:
 *   { PT2C_JR_AT(jr, "inputs"); rc = read_inputs(...); }        the path has /inputs inside the block
 *   PT2C_JR_EACH(jr, it, arr, !rc) { ... it.val, it.i ... }     each element at /<i> (objects: /<key>)
 * and the field accessors push the member's key themselves while they report. The scopes end by
 * the compiler's cleanup attribute (GCC, Clang), on every way out of the block: return, break, goto.
 *
 * Errors are fatal to a read: after one, the path is whatever the scopes left; nothing reads it again.
 * Not thread-safe per reader (one pt2c_jr per read); no allocation anywhere.
 */
#ifndef PT2C_JSON_READER_H
#define PT2C_JSON_READER_H

#include "util/json.h"

#if !defined(__GNUC__) && !defined(__clang__)
#error "json_reader.h needs the cleanup attribute (GCC or Clang)"
#endif

#define PT2C_JR_PATH_MAX 256 /* recorded segments; deeper paths are counted and shown truncated */

typedef struct pt2c_jr_seg {
	const char *key; /* NULL: an array index */
	uint32_t key_len;
	uint64_t idx;
} pt2c_jr_seg;

typedef struct pt2c_jr {
	pt2c_error *err;
	const char *src; /* the document text (line:column and lazy spans); NULL: not known */
	size_t src_len;
	const char *member; /* the file or archive member the document is (error prefix "member:"); NULL: none */
	uint32_t depth;     /* may exceed PT2C_JR_PATH_MAX; the extra segments are not recorded */
	pt2c_jr_seg path[PT2C_JR_PATH_MAX];
} pt2c_jr;

/** An empty path over document src[0..src_len) (src may be NULL), errors into err (may be NULL). */
void pt2c__jr_init(pt2c_jr *jr, const char *src, size_t src_len, const char *member, pt2c_error *err);

/* MARK: errors */

/**
 * Record error `code` at value `at` (NULL: no offset) under the current path; returns code. The
 * message gets " at line L column C" when at lies in the document text.
 */
int pt2c__jr_fail(pt2c_jr *jr, int code, const pt2c_json *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** "expected <what>, got <type of v>" (PT2C_ECORRUPT) at v: the one wording of a type error. */
int pt2c__jr_type_error(pt2c_jr *jr, const pt2c_json *v, const char *what);
static inline int pt2c__jr_oom(pt2c_jr *jr) { return pt2c__err_oom(jr->err); }
/** The type of v for messages: "null", "a boolean", "an integer", "a float", "a string", "an array", "an object" ("nothing" for NULL). */
const char *pt2c__jr_type_name(const pt2c_jr *jr, const pt2c_json *v);
/** What a type asks for in messages ("an integer", ...; PT2C_JSON_REAL: "a number", which an integer is too). */
const char *pt2c__jr_type_want(int type);

/* MARK: path scopes */

typedef struct pt2c_jr_scope {
	pt2c_jr *jr;
	uint32_t depth; /* the depth to go back to */
} pt2c_jr_scope;

static inline pt2c_jr_scope pt2c__jr_key(pt2c_jr *jr, const char *k, size_t n)
{
	pt2c_jr_scope s = { jr, jr->depth };
	if (jr->depth < PT2C_JR_PATH_MAX) {
		jr->path[jr->depth].key = k;
		jr->path[jr->depth].key_len = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	}
	jr->depth++;
	return s;
}

static inline pt2c_jr_scope pt2c__jr_idx(pt2c_jr *jr, uint64_t i)
{
	pt2c_jr_scope s = { jr, jr->depth };
	if (jr->depth < PT2C_JR_PATH_MAX) {
		jr->path[jr->depth].key = NULL;
		jr->path[jr->depth].idx = i;
	}
	jr->depth++;
	return s;
}

/** A scope that adds nothing (for a scope chosen at run time: `c ? pt2c__jr_key(...) : pt2c__jr_here(jr)`). */
static inline pt2c_jr_scope pt2c__jr_here(pt2c_jr *jr)
{
	pt2c_jr_scope s = { jr, jr->depth };
	return s;
}

/** End a scope early (its cleanup then does nothing more). */
static inline void pt2c__jr_leave(pt2c_jr_scope *s) { s->jr->depth = s->depth; }

#define PT2C_JR_SCOPED __attribute__((cleanup(pt2c__jr_leave), unused))
#define PT2C_JR_CAT2_(a, b) a##b
#define PT2C_JR_CAT_(a, b) PT2C_JR_CAT2_(a, b)
#define PT2C_JR_UNIQ_ PT2C_JR_CAT_(pt2c_jr_at_, __LINE__)
/** The path has /key (a C string) until the end of the enclosing block. */
#define PT2C_JR_AT(jr, k) pt2c_jr_scope PT2C_JR_UNIQ_ PT2C_JR_SCOPED = pt2c__jr_key((jr), (k), strlen(k))
/** The path has /key (n bytes) until the end of the enclosing block. */
#define PT2C_JR_AT_N(jr, k, n) pt2c_jr_scope PT2C_JR_UNIQ_ PT2C_JR_SCOPED = pt2c__jr_key((jr), (k), (n))
/** The path has /i until the end of the enclosing block. */
#define PT2C_JR_AT_IDX(jr, i) pt2c_jr_scope PT2C_JR_UNIQ_ PT2C_JR_SCOPED = pt2c__jr_idx((jr), (i))

/* MARK: iteration */

typedef struct pt2c_jr_iter {
	pt2c_jr *jr;
	const pt2c_json *c;
	uint32_t n;
	uint32_t next;
	uint32_t i;                /* the current element's index */
	uint32_t depth;            /* the path depth outside the loop */
	const pt2c_json *key, *val; /* the current element (key: objects only) */
} pt2c_jr_iter;

/** Elements of array or members of object c (anything else: none; the caller checks the type). */
static inline pt2c_jr_iter pt2c__jr_iter(pt2c_jr *jr, const pt2c_json *c)
{
	pt2c_jr_iter it = { jr, c, 0, 0, 0, jr->depth, NULL, NULL };
	if (c && (c->type == PT2C_JSON_ARRAY || c->type == PT2C_JSON_OBJECT))
		it.n = c->n;
	return it;
}

/** Next element (its index or key on the path); false after the last one (the path as before the loop). */
static inline bool pt2c__jr_next(pt2c_jr_iter *it)
{
	it->jr->depth = it->depth;
	if (it->next >= it->n)
		return false;
	it->i = it->next++;
	if (it->c->type == PT2C_JSON_OBJECT) {
		it->key = &it->c->u.items[2 * (size_t)it->i];
		it->val = it->key + 1;
		(void)pt2c__jr_key(it->jr, it->key->u.s, it->key->n);
	} else {
		it->val = &it->c->u.items[it->i];
		(void)pt2c__jr_idx(it->jr, it->i);
	}
	return true;
}

static inline void pt2c__jr_iter_end(pt2c_jr_iter *it) { it->jr->depth = it->depth; }

/**
 * for each element of array/object c while `cond` holds (checked before each element; e.g. !rc):
 * `it` names the iterator (it.val, it.key, it.i). The path is restored on every way out.
 */
#define PT2C_JR_EACH(jr, it, c, cond) \
	for (pt2c_jr_iter it __attribute__((cleanup(pt2c__jr_iter_end))) = pt2c__jr_iter((jr), (c)); (cond) && pt2c__jr_next(&it);)

/* MARK: typed access */

#define PT2C_JR_ANY (-1)      /* type for pt2c__jr_field: no type check */
#define PT2C_JR_OPTIONAL 1u   /* an absent or null member gives *out = NULL and success */
#define PT2C_JR_LAZY 2u       /* an unexpanded span (PT2C_JSON_RAW) of the asked kind is accepted */

/* Does v have `type`? TRUE: any boolean; REAL: any number; with PT2C_JR_LAZY an ARRAY/OBJECT may be a RAW span of it. */
static inline bool pt2c__jr_is(const pt2c_jr *jr, const pt2c_json *v, int type, unsigned flags)
{
	if (!v)
		return false;
	if (v->type == type || type == PT2C_JR_ANY)
		return true;
	switch (type) {
	case PT2C_JSON_TRUE: return v->type == PT2C_JSON_FALSE;
	case PT2C_JSON_REAL: return v->type == PT2C_JSON_INT;
	case PT2C_JSON_ARRAY:
	case PT2C_JSON_OBJECT:
		return (flags & PT2C_JR_LAZY) && v->type == PT2C_JSON_RAW && jr->src && v->pos < jr->src_len &&
		       jr->src[v->pos] == (type == PT2C_JSON_ARRAY ? '[' : '{');
	default: return false;
	}
}

/** v must have `type` (as pt2c__jr_is without LAZY), else the type error at v under the current path. */
static inline int pt2c__jr_want(pt2c_jr *jr, const pt2c_json *v, int type)
{
	return pt2c__jr_is(jr, v, type, 0) ? 0 : pt2c__jr_type_error(jr, v, pt2c__jr_type_want(type));
}

int pt2c__jr_field_slow(pt2c_jr *jr, const pt2c_json *obj, const char *key, int type, unsigned flags,
                        const pt2c_json **out);

/**
 * Member `key` of object obj into *out, of JSON type `type` (see pt2c__jr_is; PT2C_JR_ANY: any).
 * Errors: obj not an object ("expected an object, got ..." at obj); a missing required member
 * ("missing required key \"k\"" at path/k, offset of obj); the wrong type (at path/k, offset of
 * the value). flags: PT2C_JR_OPTIONAL, PT2C_JR_LAZY.
 */
static inline int pt2c__jr_field(pt2c_jr *jr, const pt2c_json *obj, const char *key, int type, unsigned flags,
                                 const pt2c_json **out)
{
	const pt2c_json *v = pt2c__json_get(obj, key);
	if (v && pt2c__jr_is(jr, v, type, flags) && !((flags & PT2C_JR_OPTIONAL) && v->type == PT2C_JSON_NULL)) {
		*out = v;
		return 0;
	}
	return pt2c__jr_field_slow(jr, obj, key, type, flags, out);
}

/** Boolean member (required, or with PT2C_JR_OPTIONAL *present tells; present may be NULL). */
static inline int pt2c__jr_field_bool(pt2c_jr *jr, const pt2c_json *obj, const char *key, unsigned flags, bool *out,
                                      bool *present)
{
	const pt2c_json *v = NULL;
	int rc = pt2c__jr_field(jr, obj, key, PT2C_JSON_TRUE, flags, &v);
	if (present)
		*present = !rc && v != NULL;
	if (!rc && v)
		*out = v->type == PT2C_JSON_TRUE;
	return rc;
}

/** Integer value v (at the current path). */
static inline int pt2c__jr_int(pt2c_jr *jr, const pt2c_json *v, int64_t *out)
{
	if (!pt2c__json_is(v, PT2C_JSON_INT))
		return pt2c__jr_type_error(jr, v, "an integer");
	*out = v->u.i;
	return 0;
}

/** Boolean value v (at the current path). */
static inline int pt2c__jr_bool(pt2c_jr *jr, const pt2c_json *v, bool *out)
{
	if (!v || (v->type != PT2C_JSON_TRUE && v->type != PT2C_JSON_FALSE))
		return pt2c__jr_type_error(jr, v, "a boolean");
	*out = v->type == PT2C_JSON_TRUE;
	return 0;
}

#endif
