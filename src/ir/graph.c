/*
 * graph.c -- graphs of nodes and values: the fx namespace, O(1) order edits, forwarding
 * replace-all-uses, and the linear compaction and copy passes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ir/ir.h"

#include <assert.h>

/*
 * What g->names stores for a name: who holds it (low 3 bits) and, above them, 1 + the id of the
 * value of that name (0: none). One compact map for both: a second name-keyed map was a tenth of
 * the export's peak memory. Value ids must stay below NAME_MAX_VALUES.
 */
#define NAME_NODE 1u
#define NAME_VALUE 2u
#define NAME_RESERVED 4u
#define NAME_BITS 7u
#define NAME_MAX_VALUES ((UINT32_MAX >> 3) - 1u)
#define NAME_VID(e) (((e) >> 3) ? ((e) >> 3) - 1u : PT2C_NONE)
#define NAME_WITH_VID(e, id) (((e) & NAME_BITS) | ((uint32_t)(id) + 1u) << 3)

static const char *const OP_NAMES[PT2C_OP__COUNT] = {
	[PT2C_OP_PLACEHOLDER] = "placeholder",
	[PT2C_OP_GET_ATTR] = "get_attr",
	[PT2C_OP_CALL_FUNCTION] = "call_function",
	[PT2C_OP_CALL_MODULE] = "call_module",
	[PT2C_OP_OUTPUT] = "output",
};

const char *pt2c__op_name(int op)
{
	return op >= 0 && op < PT2C_OP__COUNT ? OP_NAMES[op] : "unknown";
}

/*
 * Names fx refuses (torch.fx.graph._Namespace._is_illegal_name): Python keywords, builtins and
 * fx's custom builtins. Sorted by strcmp for bsearch.
 */
static const char *const ILLEGAL_NAMES[] = {
	"ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BaseExceptionGroup",
	"BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
	"ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
	"DeprecationWarning", "EOFError", "Ellipsis", "EncodingWarning", "EnvironmentError", "Exception",
	"ExceptionGroup", "False", "FileExistsError", "FileNotFoundError", "FloatingPointError", "FutureWarning",
	"GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError", "IndexError",
	"InterruptedError", "IsADirectoryError", "KeyError", "KeyboardInterrupt", "LookupError", "MemoryError",
	"ModuleNotFoundError", "NameError", "None", "NoneType", "NotADirectoryError", "NotImplemented",
	"NotImplementedError", "OSError", "OverflowError", "PendingDeprecationWarning", "PermissionError",
	"ProcessLookupError", "RecursionError", "ReferenceError", "ResourceWarning", "RuntimeError",
	"RuntimeWarning", "StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError",
	"SystemExit", "TabError", "TimeoutError", "True", "TypeError", "UnboundLocalError", "UnicodeDecodeError",
	"UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError", "UnicodeWarning", "UserWarning",
	"ValueError", "Warning", "ZeroDivisionError", "__build_class__", "__debug__", "__doc__", "__import__",
	"__loader__", "__name__", "__package__", "__spec__", "abs", "aiter", "all", "and", "anext", "any", "as",
	"ascii", "assert", "async", "await", "bin", "bool", "break", "breakpoint", "bytearray", "bytes", "callable",
	"chr", "class", "classmethod", "compile", "complex", "continue", "copyright", "credits", "def", "del",
	"delattr", "device", "dict", "dir", "divmod", "elif", "else", "enumerate", "eval", "except", "exec", "exit",
	"filter", "finally", "float", "for", "format", "from", "frozenset", "fx_pytree", "getattr", "global",
	"globals", "hasattr", "hash", "help", "hex", "id", "if", "import", "in", "inf", "input", "int", "is",
	"isinstance", "issubclass", "iter", "lambda", "len", "license", "list", "locals", "map", "max",
	"memoryview", "min", "nan", "next", "nonlocal", "not", "object", "oct", "open", "or", "ord", "pass", "pow",
	"print", "property", "pytree", "quit", "raise", "range", "repr", "return", "reversed", "round", "set",
	"setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "torch", "try", "tuple", "type",
	"vars", "while", "with", "yield", "zip",
};

/* bsearch comparator: key string against a table entry. */
static int cmp_name(const void *key, const void *elem)
{
	return strcmp((const char *)key, *(const char *const *)elem);
}

/* A name fx would refuse (keyword, builtin, fx custom builtin). */
static bool is_illegal_name(const char *s)
{
	return bsearch(s, ILLEGAL_NAMES, PT2C_ARRAY_LEN(ILLEGAL_NAMES), sizeof ILLEGAL_NAMES[0], cmp_name) != NULL;
}

int pt2c__graph_new(pt2c_ctx *ctx, pt2c_graph **out)
{
	PT2C_ASSERT_ARG(ctx && out);
	*out = NULL;
	pt2c_graph *g = pt2c__calloc(ctx->alloc, 1, sizeof *g);
	if (!g)
		return PT2C_ENOMEM;
	g->ctx = ctx;
	g->first = g->last = PT2C_NONE;
	pt2c__map32_init(&g->names, ctx->alloc);
	pt2c__map_init(&g->base_count, ctx->alloc);
	*out = g;
	return 0;
}

void pt2c__graph_free(pt2c_graph *g)
{
	if (!g)
		return;
	const pt2c_allocator *a = g->ctx->alloc;
	pt2c__free(a, g->nodes);
	pt2c__free(a, g->values);
	pt2c__map32_free(&g->names);
	pt2c__map_free(&g->base_count);
	pt2c__free(a, g);
}

/* MARK: namespace */

void pt2c__graph_drop_names(pt2c_graph *g)
{
	if (!g)
		return;
	pt2c__map32_free(&g->names);
	pt2c__map_free(&g->base_count);
}

/* Clear `bits` of a name (NAME_VALUE: and its value id), leaving it reserved so fresh names never reuse it. */
static void name_unmark(pt2c_graph *g, const char *name, uint32_t bits)
{
	size_t n = strlen(name);
	bool existed;
	if (!pt2c__map32_get(&g->names, name, n, NULL))
		return;
	uint32_t *cur = pt2c__map32_upsert(&g->names, name, n, 0, &existed); /* present: no insert, no failure */
	if (cur) {
		*cur = (*cur & ~bits) | NAME_RESERVED;
		if (bits & NAME_VALUE)
			*cur &= NAME_BITS;
	}
}

/* Whether anything (node, value, reservation) holds the name. */
static bool name_used(const pt2c_graph *g, const char *name, size_t n)
{
	return pt2c__map32_get(&g->names, name, n, NULL);
}

/*
 * An exact name taken as is: update base_count the way create_name would have for this
 * candidate ("relu_5" sets the count of "relu" to 5), so later fresh names match torch's and
 * never walk a long run of taken suffixes. Returns 0 or PT2C_ENOMEM.
 */
static int note_exact(pt2c_graph *g, const char *name, size_t n)
{
	size_t j = n;
	while (j > 0 && name[j - 1] >= '0' && name[j - 1] <= '9')
		j--;
	if (j == n || j == 0 || name[j - 1] != '_' || n - j > 18)
		return 0;
	uint64_t num = 0;
	for (size_t k = j; k < n; k++)
		num = num * 10 + (uint64_t)(name[k] - '0');
	if (num == 0)
		return 0;
	const char *base = pt2c__ctx_intern(g->ctx, name, j - 1);
	if (!base)
		return PT2C_ENOMEM;
	return pt2c__map_put(&g->base_count, base, j - 1, num, true, NULL);
}

/* A fresh name per torch.fx _Namespace.create_name, reserved with `bits`; NULL on OOM. */
/* slot (may be NULL): receives the name's g->names entry, valid until the map changes. */
static const char *unique_name(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot)
{
	if (!candidate)
		candidate = "";
	size_t n = strlen(candidate);
	size_t cap = n + 32; /* '_' prefix, "_unnamed", and "_<20 digits>" all fit */
	char local[2 * 160];
	char *buf = 2 * cap <= sizeof local ? local : pt2c__malloc(g->ctx->alloc, 2 * cap);
	if (!buf)
		return NULL;
	char *s = buf, *cand = buf + cap;
	size_t len = 0;
	/* re.sub("[^0-9a-zA-Z_]+", "_"): each run of illegal bytes becomes one '_' */
	s[len++] = '_'; /* room for a possible digit prefix */
	bool in_run = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)candidate[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
		if (ok) {
			s[len++] = (char)c;
			in_run = false;
		} else if (!in_run) {
			s[len++] = '_';
			in_run = true;
		}
	}
	char *name = s + 1;
	size_t name_len = len - 1;
	if (name_len == 0) {
		memcpy(name, "_unnamed", 8);
		name_len = 8;
	}
	if (name[0] >= '0' && name[0] <= '9') {
		name = s;
		name_len++;
	}
	name[name_len] = '\0';

	/* (.*)_(\d+)$ */
	size_t j = name_len;
	while (j > 0 && name[j - 1] >= '0' && name[j - 1] <= '9')
		j--;
	size_t base_len = name_len;
	uint64_t num = 0;
	bool has_num = false;
	if (j < name_len && j >= 1 && name[j - 1] == '_') {
		uint64_t v = 0;
		bool ovf = false;
		for (size_t k = j; k < name_len; k++)
			if (pt2c__mul_ovf(v, 10, &v) || pt2c__add_ovf(v, (uint64_t)(name[k] - '0'), &v))
				ovf = true;
		if (!ovf && v < UINT64_MAX / 2) { /* absurd suffixes stay part of the base */
			has_num = true;
			num = v;
			base_len = j - 1;
		}
	}
	const char *base = pt2c__ctx_intern(g->ctx, name, base_len);
	const char *result = NULL;
	if (!base)
		goto done;
	size_t cand_len;
	if (has_num)
		cand_len = (size_t)snprintf(cand, cap, "%s_%llu", base, (unsigned long long)num);
	else {
		memcpy(cand, base, base_len + 1);
		cand_len = base_len;
	}
	/* One probe for the read and the final update of the base's count: base_count is not
	 * touched in between, so the slot pointer stays valid. An absent base reads as 0. */
	bool bc_existed;
	uint64_t *bcp = pt2c__map_upsert(&g->base_count, base, base_len, 0, &bc_existed);
	if (!bcp)
		goto done;
	uint64_t bc = *bcp;
	if (num == 0)
		num = bc;
	/*
	 * torch.fx counts up one by one from the candidate's own suffix, which is quadratic when a
	 * graph of "add_1".."add_N" is copied into one that already has them (inlining fallbacks).
	 * On a collision we jump straight past the highest suffix handed out for this base, so names
	 * only differ from fx's when fx would have filled a gap, and stay linear.
	 */
	/*
	 * Each candidate is interned before the names lookup, so one find-or-insert both tests it
	 * and claims it. That interns nothing extra: a taken name is a names key, hence already
	 * interned (only an illegal candidate, skipped first, is not looked up at all).
	 */
	bool jumped = false;
	uint32_t *cur = NULL;
	for (;;) {
		if (!is_illegal_name(cand)) {
			bool existed;
			result = pt2c__ctx_intern(g->ctx, cand, cand_len);
			cur = result ? pt2c__map32_upsert(&g->names, result, cand_len, 0, &existed) : NULL;
			if (!cur) {
				result = NULL;
				goto done;
			}
			if (!existed)
				break;
		}
		if (!jumped && num < bc)
			num = bc;
		jumped = true;
		num++;
		cand_len = (size_t)snprintf(cand, cap, "%s_%llu", base, (unsigned long long)num);
	}
	*cur |= bits;
	if (slot)
		*slot = cur;
	*bcp = num > bc ? num : bc;
done:
	if (buf != local)
		pt2c__free(g->ctx->alloc, buf);
	return result;
}

const char *pt2c__graph_unique_name(pt2c_graph *g, const char *candidate)
{
	if (!g)
		return NULL;
	return unique_name(g, candidate, NAME_RESERVED, NULL);
}

int pt2c__graph_reserve_name(pt2c_graph *g, const char *name)
{
	PT2C_ASSERT_ARG(g && name);
	size_t n = strlen(name);
	if (name_used(g, name, n))
		return PT2C_EGRAPH;
	const char *s = pt2c__ctx_intern(g->ctx, name, n);
	if (!s || note_exact(g, s, n))
		return PT2C_ENOMEM;
	bool existed;
	uint32_t *cur = pt2c__map32_upsert(&g->names, s, n, 0, &existed);
	if (!cur)
		return PT2C_ENOMEM;
	*cur = NAME_RESERVED;
	return 0;
}

/* MARK: order links */

/* Remove a node from the order list, fixing first/last. */
static void unlink_node(pt2c_graph *g, uint32_t id)
{
	pt2c_node *nd = &g->nodes[id];
	if (nd->prev != PT2C_NONE)
		g->nodes[nd->prev].next = nd->next;
	else
		g->first = nd->next;
	if (nd->next != PT2C_NONE)
		g->nodes[nd->next].prev = nd->prev;
	else
		g->last = nd->prev;
	nd->prev = nd->next = PT2C_NONE;
}

/* Link an unlinked node before `before` (PT2C_NONE = at the end). */
static void link_before(pt2c_graph *g, uint32_t id, uint32_t before)
{
	pt2c_node *nd = &g->nodes[id];
	if (before == PT2C_NONE) {
		nd->prev = g->last;
		nd->next = PT2C_NONE;
		if (g->last != PT2C_NONE)
			g->nodes[g->last].next = id;
		else
			g->first = id;
		g->last = id;
		return;
	}
	pt2c_node *b = &g->nodes[before];
	nd->next = before;
	nd->prev = b->prev;
	if (b->prev != PT2C_NONE)
		g->nodes[b->prev].next = id;
	else
		g->first = id;
	b->prev = id;
}

/* MARK: nodes and values */

/* Room for one more element in a graph array whose count and capacity are uint32 (ids). */
static int grow32(pt2c_graph *g, void **arr, uint32_t *cap32, uint32_t n, size_t elem)
{
	if (n >= UINT32_MAX - 1)
		return PT2C_ENOMEM;
	size_t cap = *cap32;
	void *p = *arr;
	if (pt2c__grow(g->ctx->alloc, &p, &cap, (size_t)n + 1, elem))
		return PT2C_ENOMEM;
	*arr = p;
	*cap32 = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	return 0;
}

/* Grow an array of *cap32 elements to hold `need`, by at least an eighth (amortised linear). */
static int reserve32(pt2c_graph *g, void **arr, uint32_t *cap32, uint64_t need, size_t elem)
{
	if (need <= *cap32)
		return 0;
	if (need >= UINT32_MAX - 1)
		return PT2C_ENOMEM;
	uint64_t ncap = (uint64_t)*cap32 + *cap32 / 8;
	if (ncap < need)
		ncap = need;
	if (ncap > UINT32_MAX - 1)
		ncap = UINT32_MAX - 1;
	size_t old_bytes = (size_t)*cap32 * elem, new_bytes;
	if (pt2c__mul_ovf_sz((size_t)ncap, elem, &new_bytes))
		return PT2C_ENOMEM;
	void *p = pt2c__realloc(g->ctx->alloc, *arr, old_bytes, new_bytes);
	if (!p)
		return PT2C_ENOMEM;
	*arr = p;
	*cap32 = (uint32_t)ncap;
	return 0;
}

int pt2c__graph_reserve(pt2c_graph *g, uint32_t more_nodes, uint32_t more_values)
{
	PT2C_ASSERT_ARG(g);
	if (reserve32(g, (void **)&g->nodes, &g->cap_nodes, (uint64_t)g->n_nodes + more_nodes, sizeof(pt2c_node)) ||
	    reserve32(g, (void **)&g->values, &g->cap_values, (uint64_t)g->n_values + more_values, sizeof(pt2c_value)))
		return PT2C_ENOMEM;
	return 0;
}

/*
 * The g->names entry of an exact name (interned into *nm), added empty when new; a new name also
 * updates base_count (note_exact). Intern first, so one find-or-insert both checks and claims the
 * name: this runs for every node and value read or copied. The entry stays valid until g->names
 * changes (note_exact touches only base_count); NULL on OOM.
 */
static uint32_t *claim_exact(pt2c_graph *g, const char *name, const char **nm)
{
	size_t n = strlen(name);
	bool existed = false;
	*nm = pt2c__ctx_intern(g->ctx, name, n);
	uint32_t *cur = *nm ? pt2c__map32_upsert(&g->names, *nm, n, 0, &existed) : NULL;
	if (cur && !existed && note_exact(g, *nm, n))
		return NULL;
	return cur;
}

/* Create an unlinked node; its name per `exact`. */
static int new_node(pt2c_graph *g, int op, const char *name, bool exact, const char *target, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && op >= 0 && op < PT2C_OP__COUNT && out);
	if (grow32(g, (void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof(pt2c_node)))
		return PT2C_ENOMEM;
	const char *nm;
	if (exact) {
		PT2C_ASSERT_ARG(name);
		uint32_t *cur = claim_exact(g, name, &nm);
		if (!cur)
			return PT2C_ENOMEM;
		if (*cur & NAME_NODE)
			return PT2C_EGRAPH;
		*cur |= NAME_NODE;
	} else {
		nm = unique_name(g, name ? name : target, NAME_NODE, NULL);
		if (!nm)
			return PT2C_ENOMEM;
	}
	const char *tg = NULL;
	if (target && !(tg = pt2c__ctx_interns(g->ctx, target)))
		return PT2C_ENOMEM;
	uint32_t id = g->n_nodes++;
	pt2c_node *nd = &g->nodes[id];
	memset(nd, 0, sizeof *nd);
	nd->op = (uint8_t)op;
	nd->hop_single_tensor_return = -1;
	nd->name = nm;
	nd->target = tg;
	nd->prev = nd->next = PT2C_NONE;
	g->n_live++;
	*out = id;
	return 0;
}

/* A valid node id that is not erased. */
static bool node_live(const pt2c_graph *g, uint32_t id)
{
	return id < g->n_nodes && !(g->nodes[id].flags & PT2C_NODE_ERASED);
}

int pt2c__graph_add_node(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                         uint32_t before, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	PT2C_ASSERT_ARG(before == PT2C_NONE || node_live(g, before));
	int rc = new_node(g, op, name, exact, target, out);
	if (rc)
		return rc;
	link_before(g, *out, before);
	return 0;
}

int pt2c__graph_add_node_after(pt2c_graph *g, int op, const char *name, bool exact, const char *target,
                               uint32_t after, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	PT2C_ASSERT_ARG(after == PT2C_NONE || node_live(g, after));
	int rc = new_node(g, op, name, exact, target, out);
	if (rc)
		return rc;
	/* after == NONE inserts at the front */
	link_before(g, *out, after == PT2C_NONE ? g->first : g->nodes[after].next);
	return 0;
}

int pt2c__graph_add_value(pt2c_graph *g, const char *name, bool exact, int kind, uint32_t *out)
{
	PT2C_ASSERT_ARG(g && out);
	if (g->n_values >= NAME_MAX_VALUES || /* the name table keeps value ids in 29 bits */
	    grow32(g, (void **)&g->values, &g->cap_values, g->n_values, sizeof(pt2c_value)))
		return PT2C_ENOMEM;
	const char *nm;
	if (exact) {
		PT2C_ASSERT_ARG(name);
		uint32_t *cur = claim_exact(g, name, &nm);
		if (!cur)
			return PT2C_ENOMEM;
		if (NAME_VID(*cur) != PT2C_NONE)
			return PT2C_EGRAPH;
		*cur = NAME_WITH_VID(*cur | NAME_VALUE, g->n_values);
	} else {
		uint32_t *cur = NULL;
		nm = unique_name(g, name, NAME_VALUE, &cur);
		if (!nm)
			return PT2C_ENOMEM;
		*cur = NAME_WITH_VID(*cur, g->n_values);
	}
	uint32_t id = g->n_values;
	g->n_values++;
	pt2c_value *v = &g->values[id];
	memset(v, 0, sizeof *v);
	v->name = nm;
	v->kind = (uint8_t)kind;
	v->producer = PT2C_NONE;
	v->forward = PT2C_NONE;
	*out = id;
	return 0;
}

uint32_t pt2c__graph_find_value(const pt2c_graph *g, const char *name, size_t len)
{
	uint32_t e;
	if (!g || !name || !pt2c__map32_get(&g->names, name, len, &e))
		return PT2C_NONE;
	return NAME_VID(e);
}

uint32_t pt2c__value_resolve(pt2c_graph *g, uint32_t id)
{
	if (id >= g->n_values)
		return id;
	uint32_t root = id;
	uint32_t steps = 0;
	while (g->values[root].forward != PT2C_NONE && g->values[root].forward < g->n_values) {
		root = g->values[root].forward;
		if (++steps > g->n_values)
			return root; /* a forwarding cycle (API misuse): stop rather than spin */
	}
	while (id != root) {
		uint32_t next = g->values[id].forward;
		g->values[id].forward = root;
		id = next;
	}
	return root;
}

/* Resolve without path compression, for const graphs. */
static uint32_t resolve_const(const pt2c_graph *g, uint32_t id)
{
	uint32_t steps = 0;
	while (id < g->n_values && g->values[id].forward != PT2C_NONE && steps++ <= g->n_values)
		id = g->values[id].forward;
	return id;
}

/* Count one use of the resolved value. */
static int cb_use_inc(uint32_t *ref, void *payload)
{
	pt2c_graph *g = payload;
	uint32_t v = pt2c__value_resolve(g, *ref);
	if (v < g->n_values)
		g->values[v].n_uses++;
	return 0;
}

/* Drop one use of the resolved value (never below zero). */
static int cb_use_dec(uint32_t *ref, void *payload)
{
	pt2c_graph *g = payload;
	uint32_t v = pt2c__value_resolve(g, *ref);
	if (v < g->n_values && g->values[v].n_uses > 0)
		g->values[v].n_uses--;
	return 0;
}

/* Apply a use-count callback to every input reference of a node (too-deep trees are skipped). */
static void node_uses(pt2c_graph *g, pt2c_node *nd, pt2c_ref_cb cb)
{
	for (uint32_t i = 0; i < nd->n_inputs; i++)
		(void)pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb, g);
}

int pt2c__node_set_inputs(pt2c_graph *g, uint32_t node, const pt2c_named_arg *inputs, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (inputs || n == 0));
	pt2c_named_arg *copy = NULL;
	if (n) {
		copy = pt2c__arena_memdup(&g->ctx->arena, inputs, (size_t)n * sizeof *copy);
		if (!copy)
			return PT2C_ENOMEM;
	}
	pt2c__node_adopt_inputs(g, node, copy, n);
	return 0;
}

void pt2c__node_adopt_inputs(pt2c_graph *g, uint32_t node, pt2c_named_arg *inputs, uint32_t n)
{
	pt2c_node *nd = &g->nodes[node];
	bool live = !(nd->flags & PT2C_NODE_ERASED);
	if (live)
		node_uses(g, nd, cb_use_dec);
	nd->inputs = n ? inputs : NULL;
	nd->n_inputs = n;
	if (live)
		node_uses(g, nd, cb_use_inc);
}

typedef struct producer_ctx { pt2c_graph *g; uint32_t node; } producer_ctx;

/* Record the visiting node as producer of an output value. */
static int cb_set_producer(uint32_t *ref, void *payload)
{
	producer_ctx *pc = payload;
	if (*ref < pc->g->n_values)
		pc->g->values[*ref].producer = pc->node;
	return 0;
}

int pt2c__node_set_outputs(pt2c_graph *g, uint32_t node, const pt2c_arg *outputs, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (outputs || n == 0));
	pt2c_arg *copy = NULL;
	if (n) {
		copy = pt2c__arena_memdup(&g->ctx->arena, outputs, (size_t)n * sizeof *copy);
		if (!copy)
			return PT2C_ENOMEM;
	}
	return pt2c__node_adopt_outputs(g, node, copy, n);
}

int pt2c__node_adopt_outputs(pt2c_graph *g, uint32_t node, pt2c_arg *outputs, uint32_t n)
{
	pt2c_node *nd = &g->nodes[node];
	nd->outputs = n ? outputs : NULL;
	nd->n_outputs = n;
	producer_ctx pc = { g, node };
	for (uint32_t i = 0; i < n; i++) {
		int rc = pt2c__arg_foreach_ref(&outputs[i], cb_set_producer, &pc);
		if (rc)
			return rc;
	}
	return 0;
}

int pt2c__node_define_value(pt2c_graph *g, uint32_t node, int kind, uint32_t *value_out)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes);
	uint32_t v;
	int rc = pt2c__graph_add_value(g, g->nodes[node].name, true, kind, &v);
	if (rc)
		return rc;
	pt2c_arg out;
	memset(&out, 0, sizeof out);
	out.kind = PT2C_ARG_FX_NODE;
	out.u.ref = v;
	rc = pt2c__node_set_outputs(g, node, &out, 1);
	if (rc)
		return rc;
	if (value_out)
		*value_out = v;
	return 0;
}

int pt2c__node_set_meta(pt2c_graph *g, uint32_t node, const pt2c_kv *kv, uint32_t n)
{
	PT2C_ASSERT_ARG(g && node < g->n_nodes && (kv || n == 0));
	pt2c_kv *copy = NULL;
	if (n && !(copy = pt2c__arena_memdup(&g->ctx->arena, kv, (size_t)n * sizeof *copy)))
		return PT2C_ENOMEM;
	g->nodes[node].meta = copy;
	g->nodes[node].n_meta = n;
	return 0;
}

typedef struct leaf_count { uint32_t n, ref; } leaf_count;

/* Count output leaves, remembering the last one. */
static int cb_count_leaf(uint32_t *ref, void *payload)
{
	leaf_count *lc = payload;
	lc->n++;
	lc->ref = *ref;
	return 0;
}

uint32_t pt2c__node_value(const pt2c_graph *g, uint32_t node)
{
	if (!g || node >= g->n_nodes)
		return PT2C_NONE;
	const pt2c_node *nd = &g->nodes[node];
	leaf_count lc = { 0, PT2C_NONE };
	for (uint32_t i = 0; i < nd->n_outputs; i++)
		if (pt2c__arg_foreach_ref(&nd->outputs[i], cb_count_leaf, &lc))
			return PT2C_NONE;
	return lc.n == 1 ? lc.ref : PT2C_NONE;
}

/* MARK: edits */

void pt2c__graph_replace_uses(pt2c_graph *g, uint32_t from, uint32_t to)
{
	if (!g || from >= g->n_values || to >= g->n_values)
		return;
	uint32_t f = pt2c__value_resolve(g, from), t = pt2c__value_resolve(g, to);
	if (f == t)
		return;
	g->values[f].forward = t;
	g->values[t].n_uses += g->values[f].n_uses;
	g->values[f].n_uses = 0;
}

void pt2c__graph_erase_node(pt2c_graph *g, uint32_t node)
{
	if (!g || !node_live(g, node))
		return;
	pt2c_node *nd = &g->nodes[node];
	node_uses(g, nd, cb_use_dec);
	unlink_node(g, node);
	nd->flags |= PT2C_NODE_ERASED;
	g->n_live--;
}

void pt2c__graph_move_before(pt2c_graph *g, uint32_t node, uint32_t before)
{
	if (!g || !node_live(g, node) || node == before || (before != PT2C_NONE && !node_live(g, before)))
		return;
	unlink_node(g, node);
	link_before(g, node, before);
}

void pt2c__graph_recount_uses(pt2c_graph *g)
{
	if (!g)
		return;
	for (uint32_t v = 0; v < g->n_values; v++)
		g->values[v].n_uses = 0;
	PT2C_GRAPH_FOREACH(g, id)
		node_uses(g, &g->nodes[id], cb_use_inc);
}

uint32_t pt2c__graph_output_node(const pt2c_graph *g)
{
	if (!g)
		return PT2C_NONE;
	for (uint32_t id = g->last; id != PT2C_NONE; id = g->nodes[id].prev)
		if (g->nodes[id].op == PT2C_OP_OUTPUT)
			return id;
	return PT2C_NONE;
}

/* MARK: compaction */

typedef struct compact_ctx {
	pt2c_graph *g;
	uint32_t *value_new; /* old value id -> new id or NONE */
	uint32_t node_new;   /* new id of the node being visited */
	uint32_t n_new_values;
	uint32_t bad;        /* first offending old value id (for the message) */
	bool rewrite;
} compact_ctx;

/* Pass 1 over outputs: number the values defined by live nodes in definition order. */
static int cb_number_output(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	if (*ref >= cc->g->n_values) {
		cc->bad = *ref;
		return PT2C_EGRAPH;
	}
	if (cc->value_new[*ref] == PT2C_NONE)
		cc->value_new[*ref] = cc->n_new_values++;
	return 0;
}

/* Inputs: resolve forwards, check the value survives, and (second pass) rewrite the ref. */
static int cb_check_input(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	uint32_t v = pt2c__value_resolve(cc->g, *ref);
	if (v >= cc->g->n_values || cc->value_new[v] == PT2C_NONE) {
		cc->bad = v;
		return PT2C_EGRAPH;
	}
	if (cc->rewrite)
		*ref = cc->value_new[v];
	return 0;
}

/* Outputs are not resolved: they name the value the node itself defines. */
static int cb_rewrite_output(uint32_t *ref, void *payload)
{
	compact_ctx *cc = payload;
	*ref = cc->value_new[*ref];
	return 0;
}

/*
 * Move element i of base (n elements of `size` bytes) to position dest[i], for every i with
 * dest[i] != PT2C_NONE; dest must be injective. Elements not given a position are dropped.
 * Follows each chain of displacements once (O(n), two elements of scratch); dest is consumed
 * (left all PT2C_NONE).
 */
static void permute(void *base, size_t size, uint32_t n, uint32_t *dest)
{
	union { pt2c_node node; pt2c_value value; } t[2];
	assert(size <= sizeof t[0]);
	unsigned char *b = base, *cur = (unsigned char *)&t[0], *nxt = (unsigned char *)&t[1];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t d = dest[i];
		dest[i] = PT2C_NONE;
		if (d == PT2C_NONE || d == i)
			continue;
		memcpy(cur, b + (size_t)i * size, size);
		/* a slot whose dest is NONE holds a dropped or already moved element: it ends the chain */
		while (d != PT2C_NONE) {
			uint32_t dd = dest[d];
			dest[d] = PT2C_NONE;
			memcpy(nxt, b + (size_t)d * size, size);
			memcpy(b + (size_t)d * size, cur, size);
			unsigned char *sw = cur;
			cur = nxt;
			nxt = sw;
			d = dd;
		}
	}
}

int pt2c__graph_compact_map(pt2c_graph *g, uint32_t *value_map_out, pt2c_error *err)
{
	PT2C_ASSERT_ARG(g);
	const pt2c_allocator *a = g->ctx->alloc;
	uint32_t nv = g->n_values;
	compact_ctx cc = { g, NULL, 0, 0, PT2C_NONE, false };
	cc.value_new = pt2c__malloc(a, ((size_t)nv + 1) * sizeof(uint32_t));
	if (!cc.value_new)
		return pt2c__err_oom(err);
	for (uint32_t v = 0; v < nv; v++)
		cc.value_new[v] = PT2C_NONE;

	/*
	 * Every allocation comes before the first change: an allocation failure must leave the graph
	 * as it was (rewriting the inputs first and then failing left them naming new ids).
	 */
	uint32_t *node_new = pt2c__malloc(a, ((size_t)g->n_nodes + 1) * sizeof *node_new);
	if (!node_new) {
		pt2c__free(a, cc.value_new);
		return pt2c__err_oom(err);
	}
	int rc = 0;
	uint32_t visited = 0;
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		if (++visited > g->n_nodes) {
			rc = pt2c__err(err, PT2C_EGRAPH, "node order list is cyclic");
			goto out;
		}
		for (uint32_t i = 0; i < nd->n_outputs; i++) {
			if ((rc = pt2c__arg_foreach_ref(&nd->outputs[i], cb_number_output, &cc))) {
				if (rc == PT2C_EGRAPH)
					rc = pt2c__err(err, rc, "node '%s' defines an unknown value id %u", nd->name, cc.bad);
				else
					rc = pt2c__err(err, rc, "node '%s' has an output tree nested too deeply", nd->name);
				goto out;
			}
		}
	}
	/* check every input before changing anything, so a failure leaves the graph as it was */
	for (int pass = 0; pass < 2; pass++) {
		/* pass 1 rewrites: nothing after it may fail (it cannot: pass 0 saw the same trees) */
		cc.rewrite = pass == 1;
		PT2C_GRAPH_FOREACH(g, id) {
			pt2c_node *nd = &g->nodes[id];
			for (uint32_t i = 0; i < nd->n_inputs; i++) {
				if ((rc = pt2c__arg_foreach_ref(&nd->inputs[i].arg, cb_check_input, &cc))) {
					if (rc != PT2C_EGRAPH)
						rc = pt2c__err(err, rc, "node '%s' has an argument nested too deeply", nd->name);
					else if (cc.bad < nv)
						rc = pt2c__err(err, rc, "node '%s' uses '%s', which no live node defines", nd->name,
						               g->values[cc.bad].name);
					else
						rc = pt2c__err(err, rc, "node '%s' uses an unknown value id %u", nd->name, cc.bad);
					goto out;
				}
			}
		}
	}

	/* new node ids: position in order */
	for (uint32_t id = 0; id < g->n_nodes; id++)
		node_new[id] = PT2C_NONE;
	uint32_t n = 0;
	PT2C_GRAPH_FOREACH(g, id)
		node_new[id] = n++;
	/* From here on nothing fails. */
	PT2C_GRAPH_FOREACH(g, id) {
		pt2c_node *nd = &g->nodes[id];
		for (uint32_t i = 0; i < nd->n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&nd->outputs[i], cb_rewrite_output, &cc);
	}
	/* names of dropped nodes/values stay reserved; only their node/value bits go */
	for (uint32_t id = 0; id < g->n_nodes; id++)
		if ((g->nodes[id].flags & PT2C_NODE_ERASED) && g->nodes[id].name)
			name_unmark(g, g->nodes[id].name, NAME_NODE);
	for (uint32_t v = 0; v < nv; v++)
		if (cc.value_new[v] == PT2C_NONE && g->values[v].name)
			name_unmark(g, g->values[v].name, NAME_VALUE);
	if (value_map_out) {
		for (uint32_t v = 0; v < nv; v++) {
			uint32_t r = pt2c__value_resolve(g, v);
			value_map_out[v] = r < nv ? cc.value_new[r] : PT2C_NONE;
		}
	}
	/* in place: new arrays would double the graph's memory at the export's peak */
	permute(g->nodes, sizeof *g->nodes, g->n_nodes, node_new);
	permute(g->values, sizeof *g->values, nv, cc.value_new);
	g->n_nodes = n;
	g->n_values = cc.n_new_values;
	g->first = n ? 0 : PT2C_NONE;
	g->last = n ? n - 1 : PT2C_NONE;
	g->n_live = n;
	for (uint32_t id = 0; id < n; id++) {
		g->nodes[id].prev = id ? id - 1 : PT2C_NONE;
		g->nodes[id].next = id + 1 < n ? id + 1 : PT2C_NONE;
	}
	for (uint32_t v = 0; v < g->n_values; v++)
		g->values[v].forward = PT2C_NONE;
	/* producers: the new id of the node listing the value in its outputs */
	for (uint32_t id = 0; id < n; id++) {
		producer_ctx pc = { g, id };
		for (uint32_t i = 0; i < g->nodes[id].n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&g->nodes[id].outputs[i], cb_set_producer, &pc);
	}
	pt2c_value *values = g->values;

	/*
	 * value ids changed: overwrite in place. Only names the table holds are touched (a graph
	 * whose names were dropped keeps an empty table), so nothing is inserted or allocated.
	 */
	for (uint32_t v = 0; v < g->n_values; v++) {
		size_t len = strlen(values[v].name);
		if (!pt2c__map32_get(&g->names, values[v].name, len, NULL))
			continue;
		bool existed;
		uint32_t *e = pt2c__map32_upsert(&g->names, values[v].name, len, 0, &existed); /* present: no insert */
		if (e)
			*e = NAME_WITH_VID(*e, v);
	}
	pt2c__graph_recount_uses(g);
out:
	pt2c__free(a, node_new);
	pt2c__free(a, cc.value_new);
	return rc;
}

int pt2c__graph_compact(pt2c_graph *g, pt2c_error *err)
{
	return pt2c__graph_compact_map(g, NULL, err);
}

/* MARK: copy_into */

typedef struct copy_ctx {
	const pt2c_graph *src;
	const uint32_t *map;
	uint32_t bad;
} copy_ctx;

/* Rewrite a copied input ref through value_map; PT2C_EGRAPH if unmapped. */
static int cb_map_input(uint32_t *ref, void *payload)
{
	copy_ctx *c = payload;
	uint32_t v = resolve_const(c->src, *ref);
	if (v >= c->src->n_values || c->map[v] == PT2C_NONE) {
		c->bad = v;
		return PT2C_EGRAPH;
	}
	*ref = c->map[v];
	return 0;
}

typedef struct out_ctx {
	pt2c_graph *dst;
	const pt2c_graph *src;
	uint32_t *map;
	const char *src_node_name, *dst_node_name;
	int rc;
} out_ctx;

/* Create the dst value for a src output value and rewrite the ref. */
static int cb_map_output(uint32_t *ref, void *payload)
{
	out_ctx *oc = payload;
	if (*ref >= oc->src->n_values)
		return PT2C_EGRAPH;
	const pt2c_value *sv = &oc->src->values[*ref];
	uint32_t nv;
	/* fx convention: a value named like its node keeps following the node's (new) name */
	int rc;
	if (sv->name == oc->src_node_name || (sv->name && strcmp(sv->name, oc->src_node_name) == 0)) {
		rc = pt2c__graph_add_value(oc->dst, oc->dst_node_name, true, sv->kind, &nv);
		if (rc == PT2C_EGRAPH)
			rc = pt2c__graph_add_value(oc->dst, oc->dst_node_name, false, sv->kind, &nv);
	} else {
		rc = pt2c__graph_add_value(oc->dst, sv->name, false, sv->kind, &nv);
	}
	if (rc)
		return rc;
	pt2c_value *dv = &oc->dst->values[nv];
	dv->has_meta = sv->has_meta;
	dv->u = sv->u;
	if (oc->dst->ctx != oc->src->ctx && sv->has_meta) {
		if (sv->kind == PT2C_VAL_TENSOR) {
			pt2c_tensor_meta *tm = pt2c__arena_zalloc(&oc->dst->ctx->arena, sizeof *tm);
			rc = tm ? pt2c__meta_copy(oc->dst->ctx, tm, sv->u.tensor) : PT2C_ENOMEM;
			dv->u.tensor = tm;
		} else if (sv->kind == PT2C_VAL_TENSOR_LIST && sv->u.list.n) {
			pt2c_tensor_meta *items = pt2c__arena_calloc(&oc->dst->ctx->arena, sv->u.list.n, sizeof *items);
			rc = items ? 0 : PT2C_ENOMEM;
			for (uint32_t i = 0; !rc && i < sv->u.list.n; i++)
				rc = pt2c__meta_copy(oc->dst->ctx, &items[i], &sv->u.list.items[i]);
			dv->u.list.items = items;
		}
		if (rc)
			return rc;
	}
	oc->map[*ref] = nv;
	*ref = nv;
	return 0;
}

/* Mark a value that the copy will define as not yet mapped. */
static int cb_clear_map(uint32_t *ref, void *payload)
{
	out_ctx *oc = payload;
	if (*ref < oc->src->n_values)
		oc->map[*ref] = PT2C_NONE;
	return 0;
}

static int copy_into(pt2c_graph *dst, pt2c_graph *src, uint32_t before, uint32_t *value_map, bool steal,
                     pt2c_error *err)
{
	PT2C_ASSERT_ARG(dst && src && dst != src && (value_map || src->n_values == 0));
	PT2C_ASSERT_ARG(!steal || dst->ctx == src->ctx);
	PT2C_ASSERT_ARG(before == PT2C_NONE || node_live(dst, before));
	pt2c_ctx *ctx = dst->ctx;
	/* values defined by copied nodes start unmapped so a use before its definition is caught */
	out_ctx oc = { dst, src, value_map, NULL, NULL, 0 };
	for (uint32_t id = src->first; id != PT2C_NONE; id = src->nodes[id].next) {
		const pt2c_node *sn = &src->nodes[id];
		if (sn->op == PT2C_OP_PLACEHOLDER || sn->op == PT2C_OP_OUTPUT)
			continue;
		for (uint32_t i = 0; i < sn->n_outputs; i++)
			(void)pt2c__arg_foreach_ref(&sn->outputs[i], cb_clear_map, &oc);
	}
	for (uint32_t id = src->first; id != PT2C_NONE; id = src->nodes[id].next) {
		const pt2c_node *sn = &src->nodes[id];
		if (sn->op == PT2C_OP_PLACEHOLDER || sn->op == PT2C_OP_OUTPUT)
			continue;
		uint32_t dn;
		int rc = pt2c__graph_add_node(dst, sn->op, sn->name, false, sn->target, before, &dn);
		if (rc)
			return pt2c__err(err, rc, "cannot copy node '%s'", sn->name);
		pt2c_node *d = &dst->nodes[dn];
		d->flags = sn->flags & PT2C_NODE_NO_NAME;
		d->hop_single_tensor_return = sn->hop_single_tensor_return;
		d->meta = sn->meta;
		d->n_meta = sn->n_meta;
		if (sn->n_inputs) {
			pt2c_named_arg *in = steal ? sn->inputs : pt2c__arena_calloc(&ctx->arena, sn->n_inputs, sizeof *in);
			if (!in)
				return pt2c__err_oom(err);
			copy_ctx cc = { src, value_map, PT2C_NONE };
			for (uint32_t i = 0; i < sn->n_inputs; i++) {
				if (!steal) {
					in[i].name = sn->inputs[i].name;
					in[i].kind = sn->inputs[i].kind;
					if ((rc = pt2c__arg_copy(ctx, &in[i].arg, &sn->inputs[i].arg)))
						return pt2c__err(err, rc, "cannot copy the arguments of node '%s'", sn->name);
				}
				if ((rc = pt2c__arg_foreach_ref(&in[i].arg, cb_map_input, &cc))) {
					if (rc == PT2C_EGRAPH && cc.bad < src->n_values)
						return pt2c__err(err, rc, "node '%s' uses '%s', which has no value in the target graph",
						                 sn->name, src->values[cc.bad].name);
					return pt2c__err(err, rc, "node '%s' has a bad argument", sn->name);
				}
			}
			pt2c__node_adopt_inputs(dst, dn, in, sn->n_inputs);
			d = &dst->nodes[dn];
		}
		if (sn->n_outputs) {
			pt2c_arg *outs = steal ? sn->outputs : pt2c__arena_calloc(&ctx->arena, sn->n_outputs, sizeof *outs);
			if (!outs)
				return pt2c__err_oom(err);
			oc.src_node_name = sn->name;
			oc.dst_node_name = d->name;
			for (uint32_t i = 0; i < sn->n_outputs; i++) {
				if ((!steal && (rc = pt2c__arg_copy(ctx, &outs[i], &sn->outputs[i]))) ||
				    (rc = pt2c__arg_foreach_ref(&outs[i], cb_map_output, &oc)))
					return pt2c__err(err, rc, "cannot copy the outputs of node '%s'", sn->name);
			}
			if ((rc = pt2c__node_adopt_outputs(dst, dn, outs, sn->n_outputs)))
				return pt2c__err_oom(err);
		}
	}
	return 0;
}

int pt2c__graph_copy_into(pt2c_graph *dst, const pt2c_graph *src, uint32_t before, uint32_t *value_map,
                          pt2c_error *err)
{
	return copy_into(dst, (pt2c_graph *)src, before, value_map, false, err); /* src is only read */
}

int pt2c__graph_move_into(pt2c_graph *dst, pt2c_graph *src, uint32_t before, uint32_t *value_map, pt2c_error *err)
{
	return copy_into(dst, src, before, value_map, true, err);
}
