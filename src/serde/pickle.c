/*
 * pickle.c -- a bounded pickle VM for the opcodes PyTorch writes (protocols 0 to 5).
 *
 * Nothing is executed: GLOBAL, REDUCE, BUILD, NEWOBJ and BINPERSID become tree nodes that the
 * callers (engine_obj.c, torch_save.c) pattern-match. The VM never recurses; the stack, the mark
 * stack, the memo and the number of objects are capped, and every length is checked against the
 * bytes that remain before it is used. Lists and dicts are mutable (APPEND after BINPUT is seen
 * through the memo), so their item arrays grow in the arena with an implicit power-of-two
 * capacity.
 */
#include "serde/pickle.h"

#include <stdio.h>

#define PK_MAX_OBJECTS (10u * 1000u * 1000u)
#define PK_MAX_STACK (10u * 1000u * 1000u)
#define PK_MAX_MARKS 65536u
#define PK_MAX_MEMO (16u * 1024u * 1024u)

enum {
	OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
	OP_BINFLOAT = 'G', OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N',
	OP_BINPERSID = 'Q', OP_REDUCE = 'R', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U',
	OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
	OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_BINGET = 'h', OP_LONG_BINGET = 'j', OP_LIST = 'l',
	OP_EMPTY_LIST = ']', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
	OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
	OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
	OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
	OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,
	OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
};

/* Opcode name for messages; NULL for bytes that are not opcodes this VM knows. */
static const char *op_name(uint8_t op)
{
	switch (op) {
	case OP_MARK: return "MARK";
	case OP_STOP: return "STOP";
	case OP_POP: return "POP";
	case OP_POP_MARK: return "POP_MARK";
	case OP_DUP: return "DUP";
	case OP_BINFLOAT: return "BINFLOAT";
	case OP_BININT: return "BININT";
	case OP_BININT1: return "BININT1";
	case OP_BININT2: return "BININT2";
	case OP_NONE: return "NONE";
	case OP_BINPERSID: return "BINPERSID";
	case OP_REDUCE: return "REDUCE";
	case OP_BINSTRING: return "BINSTRING";
	case OP_SHORT_BINSTRING: return "SHORT_BINSTRING";
	case OP_BINUNICODE: return "BINUNICODE";
	case OP_APPEND: return "APPEND";
	case OP_BUILD: return "BUILD";
	case OP_GLOBAL: return "GLOBAL";
	case OP_DICT: return "DICT";
	case OP_EMPTY_DICT: return "EMPTY_DICT";
	case OP_APPENDS: return "APPENDS";
	case OP_BINGET: return "BINGET";
	case OP_LONG_BINGET: return "LONG_BINGET";
	case OP_LIST: return "LIST";
	case OP_EMPTY_LIST: return "EMPTY_LIST";
	case OP_BINPUT: return "BINPUT";
	case OP_LONG_BINPUT: return "LONG_BINPUT";
	case OP_SETITEM: return "SETITEM";
	case OP_TUPLE: return "TUPLE";
	case OP_EMPTY_TUPLE: return "EMPTY_TUPLE";
	case OP_SETITEMS: return "SETITEMS";
	case OP_BINBYTES: return "BINBYTES";
	case OP_SHORT_BINBYTES: return "SHORT_BINBYTES";
	case OP_PROTO: return "PROTO";
	case OP_NEWOBJ: return "NEWOBJ";
	case OP_TUPLE1: return "TUPLE1";
	case OP_TUPLE2: return "TUPLE2";
	case OP_TUPLE3: return "TUPLE3";
	case OP_NEWTRUE: return "NEWTRUE";
	case OP_NEWFALSE: return "NEWFALSE";
	case OP_LONG1: return "LONG1";
	case OP_LONG4: return "LONG4";
	case OP_SHORT_BINUNICODE: return "SHORT_BINUNICODE";
	case OP_BINUNICODE8: return "BINUNICODE8";
	case OP_BINBYTES8: return "BINBYTES8";
	case OP_STACK_GLOBAL: return "STACK_GLOBAL";
	case OP_MEMOIZE: return "MEMOIZE";
	case OP_FRAME: return "FRAME";
	/* known to Python but never written by PyTorch: reported as unsupported */
	case 'I': return "INT";
	case 'L': return "LONG";
	case 'S': return "STRING";
	case 'V': return "UNICODE";
	case 'F': return "FLOAT";
	case 'P': return "PERSID";
	case 'p': return "PUT";
	case 'g': return "GET";
	case 'i': return "INST";
	case 'o': return "OBJ";
	case 0x82: return "EXT1";
	case 0x83: return "EXT2";
	case 0x84: return "EXT4";
	case 0x8f: return "EMPTY_SET";
	case 0x90: return "ADDITEMS";
	case 0x91: return "FROZENSET";
	case 0x92: return "NEWOBJ_EX";
	case 0x96: return "BYTEARRAY8";
	case 0x97: return "NEXT_BUFFER";
	case 0x98: return "READONLY_BUFFER";
	default: return NULL;
	}
}

typedef struct vm {
	const uint8_t *data;
	size_t len, pos;    /* pos: next byte to read */
	size_t op_pos;      /* offset of the opcode being executed */
	uint8_t op;
	pt2c_arena *arena;
	const pt2c_allocator *alloc;
	pt2c_py **stack;
	size_t sn, scap;
	size_t *marks;      /* stack heights at each open MARK */
	size_t mn, mcap;
	pt2c_py **memo;     /* dense; NULL = unset */
	size_t memo_n;
	size_t memo_limit;
	size_t memo_count;  /* slots set: MEMOIZE's index */
	size_t nobj;
	int code;           /* last failure, so callers need not read err (which may be NULL) */
	pt2c_error *err;
} vm;

/* Record an error at the current opcode, prefixed with its name. Returns code. */
__attribute__((format(printf, 3, 4)))
static int vm_fail(vm *v, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->code = code;
	const char *name = op_name(v->op);
	if (name)
		return pt2c__err_at(v->err, code, NULL, v->op_pos, "pickle %s %s", name, msg);
	return pt2c__err_at(v->err, code, NULL, v->op_pos, "pickle opcode 0x%02x %s", v->op, msg);
}

static int vm_oom(vm *v)
{
	v->code = PT2C_ENOMEM;
	return pt2c__err_oom(v->err);
}

/* Take n bytes of operand; NULL (error recorded) if fewer remain. */
static const uint8_t *vm_take(vm *v, uint64_t n, const char *what)
{
	size_t left = v->len - v->pos;
	if (n > left) {
		vm_fail(v, PT2C_ECORRUPT, "%s %llu exceeds the %zu bytes left", what, (unsigned long long)n, left);
		return NULL;
	}
	const uint8_t *p = v->data + v->pos;
	v->pos += (size_t)n;
	return p;
}

/* A fresh node of `type` at the current opcode; NULL (error recorded) on cap or OOM. */
static pt2c_py *vm_new(vm *v, uint8_t type)
{
	if (v->nobj >= PK_MAX_OBJECTS) {
		vm_fail(v, PT2C_ECORRUPT, "makes more than %u objects", PK_MAX_OBJECTS);
		return NULL;
	}
	pt2c_py *o = pt2c__arena_zalloc(v->arena, sizeof *o);
	if (!o) {
		vm_oom(v);
		return NULL;
	}
	v->nobj++;
	o->type = type;
	o->pos = v->op_pos;
	return o;
}

static int vm_push(vm *v, pt2c_py *o)
{
	if (!o)
		return v->code;
	if (v->sn >= PK_MAX_STACK)
		return vm_fail(v, PT2C_ECORRUPT, "stack deeper than %u", PK_MAX_STACK);
	if (v->sn == v->scap && pt2c__grow(v->alloc, (void **)&v->stack, &v->scap, v->sn + 1, sizeof *v->stack))
		return vm_oom(v);
	v->stack[v->sn++] = o;
	return 0;
}

/* Items available above the innermost open MARK. */
static size_t vm_avail(const vm *v)
{
	return v->mn ? v->sn - v->marks[v->mn - 1] : v->sn;
}

/* Pop k items (in stack order into out, which may be NULL); error if fewer are above the mark. */
static int vm_popn(vm *v, size_t k, pt2c_py **out)
{
	if (vm_avail(v) < k)
		return vm_fail(v, PT2C_ECORRUPT, "needs %zu stack items, %zu available", k, vm_avail(v));
	v->sn -= k;
	if (out)
		memcpy(out, v->stack + v->sn, k * sizeof *out);
	return 0;
}

/* Close the innermost MARK: *base = first item index above it, *k = their count; pops the mark. */
static int vm_pop_mark(vm *v, size_t *base, size_t *k)
{
	if (!v->mn)
		return vm_fail(v, PT2C_ECORRUPT, "without a MARK");
	*base = v->marks[--v->mn];
	*k = v->sn - *base;
	return 0;
}

static pt2c_py *vm_top(vm *v)
{
	if (!vm_avail(v)) {
		vm_fail(v, PT2C_ECORRUPT, "on an empty stack");
		return NULL;
	}
	return v->stack[v->sn - 1];
}

/* The stack slots from base up (NULL while the stack was never allocated, so no NULL arithmetic). */
static pt2c_py **vm_at(vm *v, size_t base)
{
	return v->stack ? v->stack + base : NULL;
}

/* Capacity of a list/dict item array holding c items (the invariant that lets it grow in place). */
static size_t seq_cap(size_t c)
{
	if (c == 0)
		return 0;
	size_t cap = 4;
	while (cap < c)
		cap *= 2;
	return cap;
}

/* Append k items to a LIST (items = n) or DICT (items = 2n) node. */
static int seq_add(vm *v, pt2c_py *o, pt2c_py *const *src, size_t k)
{
	size_t used = o->type == PT2C_PY_DICT ? 2 * (size_t)o->n : o->n;
	size_t need;
	if (pt2c__add_ovf_sz(used, k, &need) || need > (size_t)UINT32_MAX)
		return vm_fail(v, PT2C_ECORRUPT, "container grows past %u items", UINT32_MAX);
	if (k == 0)
		return 0;
	if (need > seq_cap(used)) {
		pt2c_py **items = pt2c__arena_calloc(v->arena, seq_cap(need), sizeof *items);
		if (!items)
			return vm_oom(v);
		if (used)
			memcpy(items, o->items, used * sizeof *items);
		o->items = items;
	}
	memcpy(o->items + used, src, k * sizeof *src);
	o->n = (uint32_t)(o->type == PT2C_PY_DICT ? need / 2 : need);
	return 0;
}

/* A node whose items are copies of src[0..k). */
static pt2c_py *vm_new_items(vm *v, uint8_t type, pt2c_py *const *src, size_t k)
{
	if (k > UINT32_MAX) {
		vm_fail(v, PT2C_ECORRUPT, "builds a container of %zu items", k);
		return NULL;
	}
	pt2c_py *o = vm_new(v, type);
	if (!o)
		return NULL;
	if (k) {
		o->items = pt2c__arena_alloc(v->arena, k * sizeof *src);
		if (!o->items) {
			vm_oom(v);
			return NULL;
		}
		memcpy(o->items, src, k * sizeof *src);
	}
	o->n = (uint32_t)(type == PT2C_PY_DICT ? k / 2 : k);
	return o;
}

static bool is_global(const pt2c_py *o, const char *module, const char *name)
{
	return o && o->type == PT2C_PY_GLOBAL && strcmp(o->s, module) == 0 && strcmp(o->s2, name) == 0;
}

/* The dict that SETITEM(S) targets: a DICT, or an OrderedDict() REDUCE turned into one in place. */
static int vm_dict_target(vm *v, pt2c_py *o)
{
	if (o->type == PT2C_PY_DICT)
		return 0;
	if (o->type == PT2C_PY_REDUCE && is_global(o->items[0], "collections", "OrderedDict")) {
		o->type = PT2C_PY_DICT;
		o->n = 0;
		o->items = NULL;
		return 0;
	}
	return vm_fail(v, PT2C_EUNSUPPORTED, "on an object that is not a dict");
}

static int vm_memo_put(vm *v, uint64_t idx, pt2c_py *o)
{
	if (idx >= v->memo_limit)
		return vm_fail(v, PT2C_ECORRUPT, "memo index %llu exceeds the limit %zu", (unsigned long long)idx,
		               v->memo_limit);
	if (idx >= v->memo_n) {
		size_t want = v->memo_n ? v->memo_n : 64;
		while (want <= idx)
			want *= 2;
		if (want > v->memo_limit)
			want = v->memo_limit;
		pt2c_py **m = pt2c__realloc(v->alloc, v->memo, v->memo_n * sizeof *m, want * sizeof *m);
		if (!m)
			return vm_oom(v);
		memset(m + v->memo_n, 0, (want - v->memo_n) * sizeof *m);
		v->memo = m;
		v->memo_n = want;
	}
	if (!v->memo[idx])
		v->memo_count++;
	v->memo[idx] = o;
	return 0;
}

static int vm_memo_get(vm *v, uint64_t idx)
{
	if (idx >= v->memo_n || !v->memo[idx])
		return vm_fail(v, PT2C_ECORRUPT, "memo index %llu was never stored", (unsigned long long)idx);
	return vm_push(v, v->memo[idx]);
}

/* Push a str/bytes view of n operand bytes. */
static int vm_str(vm *v, uint8_t type, uint64_t n)
{
	const uint8_t *p = vm_take(v, n, "length");
	if (!p)
		return PT2C_ECORRUPT;
	pt2c_py *o = vm_new(v, type);
	if (!o)
		return v->code;
	o->s = (const char *)p;
	o->n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	o->i = (int64_t)n;
	return vm_push(v, o);
}

/* Pop two items a, b and push a node of type with items {a, b}. */
static int vm_pair(vm *v, uint8_t type)
{
	pt2c_py *ab[2];
	int rc = vm_popn(v, 2, ab);
	if (rc)
		return rc;
	if ((type == PT2C_PY_REDUCE || type == PT2C_PY_NEWOBJ) && ab[1]->type != PT2C_PY_TUPLE)
		return vm_fail(v, PT2C_ECORRUPT, "arguments are not a tuple");
	return vm_push(v, vm_new_items(v, type, ab, 2));
}

/* Read one "\n"-terminated line of GLOBAL operand into an arena string. */
static const char *vm_line(vm *v)
{
	size_t left = v->len - v->pos;
	const uint8_t *p = v->data + v->pos;
	const uint8_t *nl = memchr(p, '\n', left);
	if (!nl) {
		vm_fail(v, PT2C_ECORRUPT, "name has no newline in the %zu bytes left", left);
		return NULL;
	}
	size_t n = (size_t)(nl - p);
	if (memchr(p, '\0', n)) {
		vm_fail(v, PT2C_ECORRUPT, "name contains a NUL byte");
		return NULL;
	}
	v->pos += n + 1;
	char *s = pt2c__arena_strndup(v->arena, (const char *)p, n);
	if (!s)
		vm_oom(v);
	return s;
}

static pt2c_py *vm_global(vm *v, const char *module, const char *name)
{
	pt2c_py *o = vm_new(v, PT2C_PY_GLOBAL);
	if (o) {
		o->s = module;
		o->s2 = name;
	}
	return o;
}

/* Execute one opcode at v->pos. *stop is set by STOP. */
static int vm_step(vm *v, bool *stop)
{
	const uint8_t *p;
	pt2c_py *o, *items[3];
	size_t base = 0, k = 0;
	int rc;

	v->op_pos = v->pos;
	v->op = v->data[v->pos++];
	switch (v->op) {
	case OP_PROTO:
		if (!(p = vm_take(v, 1, "operand length")))
			return PT2C_ECORRUPT;
		if (p[0] > 5)
			return vm_fail(v, PT2C_EUNSUPPORTED, "protocol %u", p[0]);
		return 0;
	case OP_FRAME:
		/* Frames only batch reads; the bytes that follow are ordinary opcodes. */
		if (!(p = vm_take(v, 8, "operand length")))
			return PT2C_ECORRUPT;
		if (pt2c__rd64le(p) > v->len - v->pos)
			return vm_fail(v, PT2C_ECORRUPT, "length %llu exceeds the %zu bytes left",
			               (unsigned long long)pt2c__rd64le(p), v->len - v->pos);
		return 0;
	case OP_STOP:
		*stop = true;
		return 0;
	case OP_MARK:
		if (v->mn >= PK_MAX_MARKS)
			return vm_fail(v, PT2C_ECORRUPT, "nests deeper than %u", PK_MAX_MARKS);
		if (v->mn == v->mcap && pt2c__grow(v->alloc, (void **)&v->marks, &v->mcap, v->mn + 1, sizeof *v->marks))
			return vm_oom(v);
		v->marks[v->mn++] = v->sn;
		return 0;
	case OP_POP:
		if (vm_avail(v) == 0 && v->mn) { /* as CPython: POP on an empty frame discards the mark */
			v->mn--;
			return 0;
		}
		return vm_popn(v, 1, NULL);
	case OP_POP_MARK:
		if ((rc = vm_pop_mark(v, &base, &k)))
			return rc;
		v->sn = base;
		return 0;
	case OP_DUP:
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		return vm_push(v, o);
	case OP_NONE:
		return vm_push(v, vm_new(v, PT2C_PY_NONE));
	case OP_NEWTRUE:
	case OP_NEWFALSE:
		if ((o = vm_new(v, PT2C_PY_BOOL)))
			o->i = v->op == OP_NEWTRUE;
		return vm_push(v, o);
	case OP_BININT:
		if (!(p = vm_take(v, 4, "operand length")))
			return PT2C_ECORRUPT;
		if ((o = vm_new(v, PT2C_PY_INT)))
			o->i = (int32_t)pt2c__rd32le(p);
		return vm_push(v, o);
	case OP_BININT1:
		if (!(p = vm_take(v, 1, "operand length")))
			return PT2C_ECORRUPT;
		if ((o = vm_new(v, PT2C_PY_INT)))
			o->i = p[0];
		return vm_push(v, o);
	case OP_BININT2:
		if (!(p = vm_take(v, 2, "operand length")))
			return PT2C_ECORRUPT;
		if ((o = vm_new(v, PT2C_PY_INT)))
			o->i = pt2c__rd16le(p);
		return vm_push(v, o);
	case OP_LONG1: {
		if (!(p = vm_take(v, 1, "operand length")))
			return PT2C_ECORRUPT;
		uint8_t n = p[0];
		if (n > 8)
			return vm_fail(v, PT2C_EUNSUPPORTED, "integer of %u bytes does not fit 64 bits", n);
		if (!(p = vm_take(v, n, "length")))
			return PT2C_ECORRUPT;
		uint64_t u = 0;
		for (unsigned i = 0; i < n; i++)
			u |= (uint64_t)p[i] << (8 * i);
		if (n > 0 && n < 8 && (p[n - 1] & 0x80))
			u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
		if ((o = vm_new(v, PT2C_PY_INT)))
			o->i = (int64_t)u;
		return vm_push(v, o);
	}
	case OP_LONG4:
		return vm_fail(v, PT2C_EUNSUPPORTED, "integers wider than 64 bits");
	case OP_BINFLOAT: {
		if (!(p = vm_take(v, 8, "operand length")))
			return PT2C_ECORRUPT;
		uint64_t u = 0;
		for (int i = 0; i < 8; i++)
			u = (u << 8) | p[i];
		if ((o = vm_new(v, PT2C_PY_FLOAT)))
			memcpy(&o->f, &u, sizeof u);
		return vm_push(v, o);
	}
	case OP_SHORT_BINUNICODE:
	case OP_SHORT_BINBYTES:
	case OP_SHORT_BINSTRING:
		if (!(p = vm_take(v, 1, "operand length")))
			return PT2C_ECORRUPT;
		return vm_str(v, v->op == OP_SHORT_BINBYTES ? PT2C_PY_BYTES : PT2C_PY_STR, p[0]);
	case OP_BINUNICODE:
	case OP_BINBYTES:
		if (!(p = vm_take(v, 4, "operand length")))
			return PT2C_ECORRUPT;
		return vm_str(v, v->op == OP_BINBYTES ? PT2C_PY_BYTES : PT2C_PY_STR, pt2c__rd32le(p));
	case OP_BINSTRING: {
		if (!(p = vm_take(v, 4, "operand length")))
			return PT2C_ECORRUPT;
		int32_t n = (int32_t)pt2c__rd32le(p);
		if (n < 0)
			return vm_fail(v, PT2C_ECORRUPT, "negative length %d", n);
		return vm_str(v, PT2C_PY_STR, (uint64_t)n);
	}
	case OP_BINUNICODE8:
	case OP_BINBYTES8:
		if (!(p = vm_take(v, 8, "operand length")))
			return PT2C_ECORRUPT;
		return vm_str(v, v->op == OP_BINBYTES8 ? PT2C_PY_BYTES : PT2C_PY_STR, pt2c__rd64le(p));
	case OP_EMPTY_TUPLE:
		return vm_push(v, vm_new(v, PT2C_PY_TUPLE));
	case OP_TUPLE1:
	case OP_TUPLE2:
	case OP_TUPLE3:
		k = (size_t)(v->op - OP_TUPLE1 + 1);
		if ((rc = vm_popn(v, k, items)))
			return rc;
		return vm_push(v, vm_new_items(v, PT2C_PY_TUPLE, items, k));
	case OP_TUPLE:
	case OP_LIST:
		if ((rc = vm_pop_mark(v, &base, &k)))
			return rc;
		v->sn = base;
		if (v->op == OP_TUPLE)
			return vm_push(v, vm_new_items(v, PT2C_PY_TUPLE, vm_at(v, base), k));
		if (!(o = vm_new(v, PT2C_PY_LIST)) || (rc = seq_add(v, o, vm_at(v, base), k)))
			return o ? rc : v->code;
		return vm_push(v, o);
	case OP_DICT:
		if ((rc = vm_pop_mark(v, &base, &k)))
			return rc;
		if (k % 2)
			return vm_fail(v, PT2C_ECORRUPT, "has an odd number (%zu) of items", k);
		v->sn = base;
		if (!(o = vm_new(v, PT2C_PY_DICT)) || (rc = seq_add(v, o, vm_at(v, base), k)))
			return o ? rc : v->code;
		return vm_push(v, o);
	case OP_EMPTY_LIST:
		return vm_push(v, vm_new(v, PT2C_PY_LIST));
	case OP_EMPTY_DICT:
		return vm_push(v, vm_new(v, PT2C_PY_DICT));
	case OP_APPEND:
		if ((rc = vm_popn(v, 1, items)))
			return rc;
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		if (o->type != PT2C_PY_LIST)
			return vm_fail(v, PT2C_EUNSUPPORTED, "on an object that is not a list");
		return seq_add(v, o, items, 1);
	case OP_APPENDS:
		if ((rc = vm_pop_mark(v, &base, &k)))
			return rc;
		v->sn = base;
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		if (o->type != PT2C_PY_LIST)
			return vm_fail(v, PT2C_EUNSUPPORTED, "on an object that is not a list");
		return seq_add(v, o, vm_at(v, base), k);
	case OP_SETITEM:
		if ((rc = vm_popn(v, 2, items)))
			return rc;
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		if ((rc = vm_dict_target(v, o)))
			return rc;
		return seq_add(v, o, items, 2);
	case OP_SETITEMS:
		if ((rc = vm_pop_mark(v, &base, &k)))
			return rc;
		if (k % 2)
			return vm_fail(v, PT2C_ECORRUPT, "has an odd number (%zu) of items", k);
		v->sn = base;
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		if ((rc = vm_dict_target(v, o)))
			return rc;
		return seq_add(v, o, vm_at(v, base), k);
	case OP_GLOBAL: {
		const char *module = vm_line(v);
		if (!module)
			return v->code;
		const char *name = vm_line(v);
		if (!name)
			return v->code;
		return vm_push(v, vm_global(v, module, name));
	}
	case OP_STACK_GLOBAL: {
		if ((rc = vm_popn(v, 2, items)))
			return rc;
		if (items[0]->type != PT2C_PY_STR || items[1]->type != PT2C_PY_STR)
			return vm_fail(v, PT2C_ECORRUPT, "module or name is not a string");
		if (memchr(items[0]->s, '\0', items[0]->n) || memchr(items[1]->s, '\0', items[1]->n))
			return vm_fail(v, PT2C_ECORRUPT, "name contains a NUL byte");
		char *module = pt2c__arena_strndup(v->arena, items[0]->s, items[0]->n);
		char *name = pt2c__arena_strndup(v->arena, items[1]->s, items[1]->n);
		if (!module || !name)
			return vm_oom(v);
		return vm_push(v, vm_global(v, module, name));
	}
	case OP_REDUCE:
		return vm_pair(v, PT2C_PY_REDUCE);
	case OP_BUILD:
		return vm_pair(v, PT2C_PY_BUILD);
	case OP_NEWOBJ:
		return vm_pair(v, PT2C_PY_NEWOBJ);
	case OP_BINPERSID:
		if ((rc = vm_popn(v, 1, items)))
			return rc;
		return vm_push(v, vm_new_items(v, PT2C_PY_PERSID, items, 1));
	case OP_BINPUT:
		if (!(p = vm_take(v, 1, "operand length")) || !(o = vm_top(v)))
			return PT2C_ECORRUPT;
		return vm_memo_put(v, p[0], o);
	case OP_LONG_BINPUT:
		if (!(p = vm_take(v, 4, "operand length")) || !(o = vm_top(v)))
			return PT2C_ECORRUPT;
		return vm_memo_put(v, pt2c__rd32le(p), o);
	case OP_MEMOIZE: {
		if (!(o = vm_top(v)))
			return PT2C_ECORRUPT;
		/* MEMOIZE stores at len(memo): the count of entries set so far. */
		return vm_memo_put(v, v->memo_count, o);
	}
	case OP_BINGET:
		if (!(p = vm_take(v, 1, "operand length")))
			return PT2C_ECORRUPT;
		return vm_memo_get(v, p[0]);
	case OP_LONG_BINGET:
		if (!(p = vm_take(v, 4, "operand length")))
			return PT2C_ECORRUPT;
		return vm_memo_get(v, pt2c__rd32le(p));
	default:
		if (op_name(v->op))
			return vm_fail(v, PT2C_EUNSUPPORTED, "is not supported");
		return vm_fail(v, PT2C_ECORRUPT, "is not a known opcode");
	}
}

int pt2c__pickle_parse(pt2c_py **out, const uint8_t *data, size_t len, pt2c_arena *arena, pt2c_error *err)
{
	PT2C_ASSERT_ARG(out && arena && (data || len == 0));
	*out = NULL;
	vm v;
	memset(&v, 0, sizeof v);
	v.data = data;
	v.len = len;
	v.arena = arena;
	v.alloc = arena->alloc;
	v.err = err;
	/* Each BINPUT costs at least 2 bytes, so honest indices stay below len. */
	v.memo_limit = len < PK_MAX_MEMO ? len : PK_MAX_MEMO;

	int rc = 0;
	bool stop = false;
	while (!stop && v.pos < v.len) {
		if ((rc = vm_step(&v, &stop)))
			break;
	}
	if (!rc && !stop)
		rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, len, "pickle ends after %zu bytes without STOP", len);
	if (!rc) {
		if (v.sn == 0)
			rc = pt2c__err_at(err, PT2C_ECORRUPT, NULL, v.op_pos, "pickle STOP on an empty stack");
		else
			*out = v.stack[v.sn - 1];
	}
	pt2c__free(v.alloc, v.stack);
	pt2c__free(v.alloc, v.marks);
	pt2c__free(v.alloc, v.memo);
	return rc;
}

bool pt2c__py_is_global(const pt2c_py *o, const char *module, const char *name)
{
	return is_global(o, module, name);
}

const pt2c_zip_entry *pt2c__zip_find_in_root(const pt2c_zip *z, const char *name)
{
	if (!z || z->n == 0)
		return NULL;
	const pt2c_zip_entry *first = &z->entries[0];
	const char *slash = memchr(first->name, '/', first->name_len);
	if (!slash)
		return NULL;
	size_t root = (size_t)(slash - first->name) + 1, nl = strlen(name);
	for (uint32_t i = 0; i < z->n; i++) {
		const pt2c_zip_entry *e = &z->entries[i];
		if (e->name_len == root + nl && memcmp(e->name, first->name, root) == 0 &&
		    memcmp(e->name + root, name, nl) == 0)
			return e;
	}
	return NULL;
}

int pt2c__pickle_parse_data_pkl(pt2c_py **out, const pt2c_zip *z, pt2c_arena *arena, pt2c_error *err)
{
	*out = NULL;
	const pt2c_zip_entry *e = pt2c__zip_find_in_root(z, "data.pkl");
	if (!e)
		return pt2c__err(err, PT2C_ECORRUPT, "archive has no <root>/data.pkl member");
	if (e->size > z->len || e->data_off > z->len - e->size)
		return pt2c__err(err, PT2C_ECORRUPT, "data.pkl lies outside the archive");
	int rc = pt2c__pickle_parse(out, pt2c__zip_data(z, e), (size_t)e->size, arena, err);
	if (rc) {
		char member[PT2C_ERROR_WHERE_MAX];
		size_t n = e->name_len < sizeof member - 1 ? e->name_len : sizeof member - 1;
		memcpy(member, e->name, n);
		member[n] = '\0';
		pt2c__err_set_member(err, member);
	}
	return rc;
}
