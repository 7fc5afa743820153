/*
 * names.c -- the fx namespace of a graph: fx's naming rules (illegal names, sanitising,
 * numbered suffixes) and the name table shared by nodes and values.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ir/graph_internal.h"

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
	/* none of them is longer than 25 bytes or holds a digit (most fresh names do: "add_7") */
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= 25 || (s[n] >= '0' && s[n] <= '9'))
			return false;
	return bsearch(s, ILLEGAL_NAMES, PT2C_ARRAY_LEN(ILLEGAL_NAMES), sizeof ILLEGAL_NAMES[0], cmp_name) != NULL;
}

/* MARK: namespace */

void pt2c__graph_drop_names(pt2c_graph *g)
{
	if (!g)
		return;
	pt2c__map32_free(&g->names);
	pt2c__map_free(&g->base_count);
	g->memo_name = NULL;
	g->memo_slot = NULL;
}

/* Remember the names entry just claimed for `name` (see pt2c_graph.memo_name). */
static void memo_set(pt2c_graph *g, const char *name, uint32_t *slot)
{
	g->memo_name = name;
	g->memo_slot = slot;
	g->memo_slots = g->names.slots;
	g->memo_count = g->names.count;
}

/* "base_N" into out (room for base_len + 22 bytes); returns its length. */
static size_t put_numbered(char *out, const char *base, size_t base_len, uint64_t num)
{
	memcpy(out, base, base_len);
	char tmp[24], *q = tmp + sizeof tmp;
	do {
		*--q = (char)('0' + num % 10);
		num /= 10;
	} while (num);
	size_t k = (size_t)(tmp + sizeof tmp - q);
	out[base_len] = '_';
	memcpy(out + base_len + 1, q, k);
	out[base_len + 1 + k] = '\0';
	return base_len + 1 + k;
}

/* Clear `bits` of a name (NAME_VALUE: and its value id), leaving it reserved so fresh names never reuse it. */
void pt2c__name_unmark(pt2c_graph *g, const char *name, uint32_t bits)
{
	uint32_t *cur = pt2c__map32_find(&g->names, name, strlen(name));
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
 * "base_N" with N of 1 to 18 digits (base may be empty): the base's length into *base_len and N
 * into *num, true; false for any other name (no suffix, no '_' before it, a longer number).
 */
static bool numbered_suffix(const char *name, size_t n, size_t *base_len, uint64_t *num)
{
	size_t j = n;
	while (j > 0 && name[j - 1] >= '0' && name[j - 1] <= '9')
		j--;
	if (j == n || j == 0 || name[j - 1] != '_' || n - j > 18)
		return false;
	*base_len = j - 1;
	*num = 0;
	for (size_t k = j; k < n; k++)
		*num = *num * 10 + (uint64_t)(name[k] - '0');
	return true;
}

/* A byte fx keeps in a name (re.sub("[^0-9a-zA-Z_]+", "_") replaces the others). */
static bool name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * An exact name taken as is: update base_count the way create_name would have for this
 * candidate ("relu_5" sets the count of "relu" to 5), so later fresh names match torch's and
 * never walk a long run of taken suffixes. Returns 0 or PT2C_ENOMEM.
 */
static int note_exact(pt2c_graph *g, const char *name, size_t n)
{
	size_t base_len;
	uint64_t num;
	if (!numbered_suffix(name, n, &base_len, &num) || num == 0)
		return 0;
	const char *base = pt2c__ctx_intern(g->ctx, name, base_len);
	if (!base)
		return PT2C_ENOMEM;
	return pt2c__map_put(&g->base_count, base, base_len, num, true, NULL);
}

/* The first name a claim tries (see claim_loop). */
typedef struct claim_first {
	const char *s;  /* NUL-terminated */
	size_t len;
	bool interned;  /* s is g->ctx's interned string: claimed as it is */
	uint32_t hash;  /* pt2c__hash of s, when interned */
	bool taken;     /* (interned) known to be in g->names already: not looked up */
	bool illegal;   /* fx refuses it (is_illegal_name): skipped */
} claim_first;

/*
 * The claim of torch.fx's create_name from its first candidate on: first, then base_<num+1>,
 * base_<num+2>, ... until one is free, which is claimed with `bits`. num: the candidate's
 * suffix (0: none, or "_0"); bcp: the base's base_count slot, the highest suffix handed out,
 * raised to the claimed one. buf: room for base_len + 22 bytes. NULL on OOM.
 */
static const char *claim_loop(pt2c_graph *g, const char *base, size_t base_len, uint64_t num, uint64_t *bcp,
                              const claim_first *first, char *buf, uint32_t bits, uint32_t **slot)
{
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
	 * One find-or-insert both tests a candidate and claims it. A name made here (numbered, or
	 * sanitised) is copied into the context's arena when it is new, and not put in the string
	 * pool: a copy of many taken names makes as many new ones, and a pool entry for each was
	 * another table slot to miss in cache. Names are compared by their bytes wherever they are
	 * looked up, so a name need not be the pool's copy, only live as long as the context.
	 */
	const char *result = first->s;
	size_t len = first->len;
	bool jumped = false, illegal = first->illegal, taken = first->interned && first->taken;
	uint32_t *cur = NULL;
	for (;;) {
		if (!illegal && !taken) {
			bool existed;
			if (!jumped && first->interned)
				cur = pt2c__map32_upsert_h(&g->names, result, len, first->hash, 0, &existed);
			else
				cur = pt2c__map32_upsert_copy_h(&g->names, &g->ctx->arena, result, len, pt2c__hash(result, len), 0,
				                                &result, &existed);
			if (!cur)
				return NULL;
			if (!existed)
				break;
		}
		if (!jumped && num < bc)
			num = bc;
		jumped = true;
		num++;
		len = put_numbered(buf, base, base_len, num);
		result = buf;
		illegal = is_illegal_name(buf);
		taken = false;
	}
	*cur |= bits;
	memo_set(g, result, cur);
	if (slot)
		*slot = cur;
	*bcp = num > bc ? num : bc;
	return result;
}

/* A fresh name per torch.fx _Namespace.create_name, reserved with `bits`; NULL on OOM. */
/* slot (may be NULL): receives the name's g->names entry, valid until the map changes. */
/* interned: candidate is a string of g->ctx's pool (a name copied from a graph of the same context). */
static const char *names_fresh(pt2c_graph *g, const char *candidate, bool interned, uint32_t bits, uint32_t **slot)
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
		if (name_byte(c)) {
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
		cand_len = put_numbered(cand, base, base_len, num);
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
	/* a name copied unchanged (the common case when inlining) is its own interned string */
	bool as_is = interned && cand_len == n && memcmp(cand, candidate, n) == 0;
	claim_first first = { as_is ? candidate : cand, cand_len, as_is, as_is ? pt2c__hash(candidate, n) : 0, false,
	                      is_illegal_name(cand) };
	result = claim_loop(g, base, base_len, num, bcp, &first, cand, bits, slot);
done:
	if (buf != local)
		pt2c__free(g->ctx->alloc, buf);
	return result;
}

/* MARK: claims in a run */

/*
 * Copying a graph into another claims each node's name in order (names_fresh): sanitising,
 * parsing and hashing each candidate, then a find-or-insert in a table of every name -- for a
 * taken candidate a second one for the numbered name made instead: cache misses one after
 * another. A run does most of that elsewhere:
 * - pt2c__names_pre works out, for every candidate at once (on helper threads), what no claim
 *   of the run changes, including whether the table held the candidate before the run;
 * - pt2c__names_run_begin foresees the suffix each taken candidate will get (the count of its
 *   base, counting the claims before it) and checks the foreseen names against the table, on
 *   helper threads;
 * - a claim whose foreseen name is still the one it gets takes it without a lookup: every name
 *   of that base claimed since the run began has a suffix at most the base's count, and the
 *   name is the count plus one, absent from the table when the run began. Its insert is
 *   deferred, and the deferred names go in at once, on helper threads (pt2c__names_run_flush),
 *   at the end or before any claim that could meet one of them.
 * The names are the ones names_fresh gives, claim for claim.
 */
enum { PRE_PLAIN = 1, PRE_TAKEN = 2, PRE_FREE = 4 };
enum { RUN_AHEAD = 12 }; /* claims looked ahead at (their table slots loaded) */

void pt2c__names_pre(const pt2c_graph *g, const char *candidate, pt2c_name_pre *pre)
{
	memset(pre, 0, sizeof *pre);
	pre->s = candidate;
	if (!candidate)
		return;
	size_t n = strlen(candidate);
	/* plain: names_fresh would take it as it is (nothing to sanitise, a suffix it writes alike) */
	if (n == 0 || n > PT2C_NAME_PRE_MAX || (candidate[0] >= '0' && candidate[0] <= '9'))
		return;
	for (size_t i = 0; i < n; i++)
		if (!name_byte((unsigned char)candidate[i]))
			return;
	size_t base_len = n;
	uint64_t num = 0;
	if (numbered_suffix(candidate, n, &base_len, &num)) {
		if (candidate[base_len + 1] == '0' && n - base_len > 2)
			return; /* zero-padded ("x_007"): names_fresh writes the suffix anew */
	} else if (n >= 19 && strspn(candidate + n - 19, "0123456789") == 19) {
		return; /* a suffix too long to count: names_fresh's own path */
	}
	if (is_illegal_name(candidate))
		return;
	pre->hash = pt2c__hash(candidate, n);
	pre->base_hash = base_len == n ? pre->hash : pt2c__hash(candidate, base_len);
	pre->len = (uint32_t)n;
	pre->base_len = (uint32_t)base_len;
	pre->num = num;
	pre->flags = PRE_PLAIN;
	if (pt2c__map32_get_h(&g->names, candidate, n, pre->hash, true, NULL))
		pre->flags |= PRE_TAKEN;
}

/* The run's cache entry of a plain candidate's base when it holds it (and base_count has not grown since), else NULL. */
static pt2c_names_base *run_base_find(const pt2c_graph *g, pt2c_names_run *run, const pt2c_name_pre *pre)
{
	if (run->bc_slots != g->base_count.slots || run->bc_cap != g->base_count.cap)
		return NULL;
	pt2c_names_base *e = &run->bases[pre->base_hash % PT2C_ARRAY_LEN(run->bases)];
	if (e->base && e->hash == pre->base_hash && e->len == pre->base_len && memcmp(e->base, pre->s, pre->base_len) == 0)
		return e;
	return NULL;
}

/* The cache entry of a plain candidate's base, made (base interned, its count's slot) when missing; NULL on OOM. */
static pt2c_names_base *run_base(pt2c_graph *g, pt2c_names_run *run, const pt2c_name_pre *pre)
{
	pt2c_names_base *e = run_base_find(g, run, pre);
	if (e)
		return e;
	const char *base = pt2c__intern_h(&g->ctx->strings, pre->s, pre->base_len, pre->base_hash);
	bool existed;
	uint64_t *bcp = base ? pt2c__map_upsert(&g->base_count, base, pre->base_len, 0, &existed) : NULL;
	if (!bcp)
		return NULL;
	if (run->bc_slots != g->base_count.slots || run->bc_cap != g->base_count.cap) {
		/* base_count grew (or is new to the run): every cached slot pointer is stale */
		memset(run->bases, 0, sizeof run->bases);
		run->bc_slots = g->base_count.slots;
		run->bc_cap = g->base_count.cap;
	}
	e = &run->bases[pre->base_hash % PT2C_ARRAY_LEN(run->bases)];
	e->base = base;
	e->bcp = bcp;
	e->sim = *bcp;
	e->hash = pre->base_hash;
	e->len = pre->base_len;
	return e;
}

/* The check of the foreseen names (pt2c__names_run_begin). */
typedef struct foresee_job { const pt2c_graph *g; pt2c_name_pre *pre; } foresee_job;

/* Whether the foreseen names of [begin, end) are absent from the table (helper threads; the table is only read). */
static int check_foreseen(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	const foresee_job *j = ctx;
	const pt2c_graph *g = j->g;
	char buf[PT2C_NAME_PRE_MAX + 24];
	for (size_t k = begin; k < end; k++) {
		pt2c_name_pre *p = &j->pre[k];
		if (!p->pred)
			continue;
		size_t len = put_numbered(buf, p->s, p->base_len, p->pred);
		p->pred_hash = pt2c__hash(buf, len);
		if (!pt2c__map32_get_h(&g->names, buf, len, p->pred_hash, false, NULL))
			p->flags |= PRE_FREE;
	}
	return 0;
}

void pt2c__names_run_begin(pt2c_graph *g, pt2c_names_run *run, pt2c_name_pre *pre, uint32_t n, uint64_t more)
{
	memset(run, 0, sizeof *run);
	run->pre = pre;
	run->n = n;
	const pt2c_allocator *a = g->ctx->alloc;
	/* foresee: each taken candidate gets its base's count (or its own suffix) plus one, and
	 * raises the count; a free one raises it to its suffix (claim_loop). Bases are interned here. */
	bool any = false;
	for (uint32_t k = 0; k < n; k++) {
		pt2c_name_pre *p = &pre[k];
		pt2c_names_base *e = p->flags & PRE_PLAIN ? run_base(g, run, p) : NULL;
		if (!e)
			continue; /* not plain (names_fresh's own path), or short of memory: not foreseen */
		if (p->flags & PRE_TAKEN) {
			p->pred = (p->num > e->sim ? p->num : e->sim) + 1;
			e->sim = p->pred;
			any = true;
		} else if (p->num > e->sim) {
			e->sim = p->num;
		}
	}
	if (!any)
		return;
	unsigned helpers = pt2c__helper_threads(a, n, 15);
	foresee_job fj = { g, pre };
	pt2c_par_job job = { n, pt2c__thread_tuning.chunk_items, check_foreseen, &fj, a, helpers };
	(void)pt2c__par_run(&job); /* cannot fail */
	/*
	 * Room for every name the run can add -- one a node claim (deferred or not), one at most a
	 * value's -- so that the table never grows while names are deferred and a flush, which
	 * then only fills reserved slots, cannot fail. Short of it: nothing is deferred.
	 */
	run->deferred = pt2c__malloc(a, (size_t)n * sizeof *run->deferred);
	run->defer = run->deferred && more <= SIZE_MAX - n - g->names.count &&
	             pt2c__map32_reserve(&g->names, g->names.count + n + (size_t)more) == 0;
}

int pt2c__names_run_flush(pt2c_graph *g, pt2c_names_run *run)
{
	if (!run->n_deferred)
		return 0;
	/* (a few -- fewer than pt2c__thread_tuning.min_items -- go in on this thread) */
	int rc = pt2c__map32_insert_absent(&g->names, run->deferred, run->n_deferred,
	                                   pt2c__helper_threads(g->ctx->alloc, run->n_deferred, 15));
	if (!rc)
		run->n_deferred = 0;
	return rc;
}

int pt2c__names_run_end(pt2c_graph *g, pt2c_names_run *run)
{
	int rc = pt2c__names_run_flush(g, run);
	pt2c__free(g->ctx->alloc, run->deferred);
	memset(run, 0, sizeof *run);
	return rc;
}

int pt2c__names_run_value(pt2c_names_run *run, const char *name, uint32_t vid)
{
	if (!run->n_deferred || run->deferred[run->n_deferred - 1].key != name)
		return 0;
	pt2c_map32_entry *e = &run->deferred[run->n_deferred - 1];
	if (NAME_VID(e->value) != PT2C_NONE)
		return -1; /* a second value of the node's name (an output listed twice) */
	e->value = NAME_WITH_VID(e->value | NAME_VALUE, vid);
	return 1;
}

/* Load the table slot claim k will touch (run_claim's look ahead); changes nothing. */
static void run_ahead(const pt2c_graph *g, const pt2c_names_run *run, uint32_t k)
{
	const pt2c_name_pre *p = &run->pre[k];
	if (!(p->flags & PRE_PLAIN) || !g->names.cap)
		return;
	if (!(p->flags & PRE_TAKEN))
		pt2c__map32_prefetch_h(&g->names, p->hash); /* the claim looks it up */
	else if (p->pred && !(p->flags & PRE_FREE))
		pt2c__map32_prefetch_h(&g->names, p->pred_hash); /* foreseen, taken: looked up */
}

const char *pt2c__names_run_claim(pt2c_graph *g, pt2c_names_run *run, uint32_t k, uint32_t bits)
{
	if (k + RUN_AHEAD < run->n)
		run_ahead(g, run, k + RUN_AHEAD);
	pt2c_name_pre *p = &run->pre[k];
	if (!(p->flags & PRE_PLAIN)) {
		/* any name may come out of names_fresh: the deferred ones must be in the table first */
		if (pt2c__names_run_flush(g, run))
			return NULL;
		return names_fresh(g, p->s, p->s != NULL, bits, NULL);
	}
	pt2c_names_base *e = run_base(g, run, p);
	if (!e)
		return NULL;
	uint64_t bc = *e->bcp;
	if ((p->flags & PRE_TAKEN) && run->defer && (p->flags & PRE_FREE) && (p->num > bc ? p->num : bc) + 1 == p->pred) {
		/* the foreseen name: above every suffix of the base claimed since the run began, and
		 * absent from the table then; claimed without a lookup, inserted later */
		char buf[PT2C_NAME_PRE_MAX + 24];
		size_t len = put_numbered(buf, p->s, p->base_len, p->pred);
		char *copy = pt2c__arena_strndup(&g->ctx->arena, buf, len);
		if (!copy)
			return NULL;
		pt2c_map32_entry *d = &run->deferred[run->n_deferred++];
		d->key = copy;
		d->hash = p->pred_hash;
		d->value = bits;
		*e->bcp = p->pred;
		return copy;
	}
	/* a free candidate with a suffix the base has handed out may be a deferred name */
	if (!(p->flags & PRE_TAKEN) && p->num && p->num <= bc && pt2c__names_run_flush(g, run))
		return NULL;
	char buf[PT2C_NAME_PRE_MAX + 24];
	claim_first first = { p->s, p->len, true, p->hash, (p->flags & PRE_TAKEN) != 0, false };
	return claim_loop(g, e->base, p->base_len, p->num, e->bcp, &first, buf, bits, NULL);
}

const char *pt2c__names_fresh(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot)
{
	return names_fresh(g, candidate, false, bits, slot);
}

const char *pt2c__names_fresh_interned(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot)
{
	return names_fresh(g, candidate, candidate != NULL, bits, slot);
}

const char *pt2c__graph_unique_name(pt2c_graph *g, const char *candidate)
{
	if (!g)
		return NULL;
	return pt2c__names_fresh(g, candidate, NAME_RESERVED, NULL);
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

/*
 * The g->names entry of an exact name (interned into *nm), added empty when new; a new name also
 * updates base_count (note_exact). Intern first, so one find-or-insert both checks and claims the
 * name: this runs for every node and value read or copied. The entry stays valid until g->names
 * changes (note_exact touches only base_count); NULL on OOM.
 */
/* name is the interned string whose entry was claimed last, and the table has not changed since. */
static bool memo_hit(const pt2c_graph *g, const char *name)
{
	return name == g->memo_name && g->names.slots == g->memo_slots && g->names.count == g->memo_count && g->memo_slot;
}

uint32_t *pt2c__names_claim_exact(pt2c_graph *g, const char *name, const char **nm)
{
	if (memo_hit(g, name)) {
		*nm = name; /* the same interned string, present: nothing to intern, insert or note */
		return g->memo_slot;
	}
	size_t n = strlen(name);
	*nm = pt2c__ctx_intern(g->ctx, name, n);
	if (!*nm)
		return NULL;
	return pt2c__names_claim_interned(g, *nm, n, pt2c__hash(*nm, n));
}

uint32_t *pt2c__names_claim_interned(pt2c_graph *g, const char *nm, size_t n, uint32_t hash)
{
	if (memo_hit(g, nm))
		return g->memo_slot;
	bool existed = false;
	uint32_t *cur = pt2c__map32_upsert_h(&g->names, nm, n, hash, 0, &existed);
	if (cur && !existed && note_exact(g, nm, n))
		return NULL;
	if (cur)
		memo_set(g, nm, cur);
	return cur;
}
