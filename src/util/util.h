/*
 * util.h -- format-agnostic helpers used by every layer: allocation, errors, overflow-checked
 * arithmetic, arenas, interned strings, a string-keyed hash map, growable arrays, sticky-error
 * buffers, bounded cursors, base64, CRC-32, memory-mapped input and atomic output files.
 *
 * Internal header (not installed). Names: pt2c__<noun>_<verb>.
 * Nothing here knows about PyTorch, zip or graphs.
 */
#ifndef PT2C_UTIL_H
#define PT2C_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pt2c/common.h"

/* MARK: assertions for API misuse (never for input bytes) */

/* PT2C_ASSERT_ARG_ERR(x, err): the same, for functions that take a pt2c_error: err gets
 * "invalid argument: <x>" (file and member cleared), so no earlier call's message is left there. */
#ifdef NDEBUG
#define PT2C_ASSERT_ARG(x) do { if (!(x)) return PT2C_EINVALID; } while (0)
#define PT2C_ASSERT_ARG_ERR(x, err) do { if (!(x)) return pt2c__err_invalid_arg((err), #x); } while (0)
#else
#include <assert.h>
#define PT2C_ASSERT_ARG(x) do { assert(x); if (!(x)) return PT2C_EINVALID; } while (0)
#define PT2C_ASSERT_ARG_ERR(x, err) do { assert(x); if (!(x)) return pt2c__err_invalid_arg((err), #x); } while (0)
#endif
/** Fill err with "invalid argument: <expr>" (file cleared too); returns PT2C_EINVALID. err may be NULL. */
int pt2c__err_invalid_arg(pt2c_error *err, const char *expr);

#define PT2C_UNUSED(x) ((void)(x))
#define PT2C_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* MARK: allocation (NULL allocator = libc) */

void *pt2c__malloc(const pt2c_allocator *a, size_t n);
/** Fault in the pages of a fresh large block from the C library that the caller is about to
 * write (one madvise instead of a fault a page); nothing for a caller's allocator or small blocks. */
void pt2c__prefault(const pt2c_allocator *a, void *p, size_t n);
/*
 * pt2c__prefault of up to two blocks on a helper thread while the caller goes on writing them
 * (faulting a page in never changes what it holds, so the two may meet): for blocks filled over
 * a long pass. _join waits for it (a no-op when none was started: one CPU, a caller's allocator,
 * small blocks, no thread to be had); call it before the blocks are freed or moved.
 */
typedef struct pt2c_prefault_bg {
	void *p[2];
	size_t n[2];
	pthread_t tid;
	bool started;
} pt2c_prefault_bg;
void pt2c__prefault_start(pt2c_prefault_bg *bg, const pt2c_allocator *a, void *p0, size_t n0, void *p1, size_t n1);
void pt2c__prefault_join(pt2c_prefault_bg *bg);
void *pt2c__calloc(const pt2c_allocator *a, size_t count, size_t size); /* overflow-checked */
/* pt2c__calloc with every byte set to `byte` (0xff: tables of all-ones "free" slots, PT2C_NONE arrays);
 * a large block gets huge pages where allowed and its pages faulted in with one madvise. */
void *pt2c__malloc_filled(const pt2c_allocator *a, size_t count, size_t size, int byte);
void *pt2c__realloc(const pt2c_allocator *a, void *p, size_t old_n, size_t new_n);
void pt2c__free(const pt2c_allocator *a, void *p);

/**
 * Grow a dynamic array so that it holds at least `need` elements of `elem` bytes.
 * *p and *cap are updated; capacity grows geometrically. Returns 0 or PT2C_ENOMEM
 * (on failure *p and *cap are unchanged).
 */
int pt2c__grow(const pt2c_allocator *a, void **p, size_t *cap, size_t need, size_t elem);

/* MARK: errors */

/**
 * Record an error: sets err->code and err->message (printf-style), clears member/offset, and
 * returns `code` so callers can `return pt2c__err(err, PT2C_ECORRUPT, "...")`. err may be NULL.
 * The `file` field is left as it is (set it once at the I/O entry point).
 */
int pt2c__err(pt2c_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Like pt2c__err, also setting the member name (may be NULL) and the byte offset. */
int pt2c__err_at(pt2c_error *err, int code, const char *member, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/** Record out-of-memory without allocating. Returns PT2C_ENOMEM. */
int pt2c__err_oom(pt2c_error *err);
/** Set err->file (truncated to fit). err may be NULL. */
void pt2c__err_set_file(pt2c_error *err, const char *path);
/** Set err->member if it is still empty (so inner layers win); a JSON pointer already there (from
 * the JSON reader) becomes "<member>:<pointer>". err may be NULL. */
void pt2c__err_set_member(pt2c_error *err, const char *member);

/* MARK: overflow-checked size arithmetic */

static inline bool pt2c__add_ovf(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_add_overflow(a, b, out); }
static inline bool pt2c__mul_ovf(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_mul_overflow(a, b, out); }
static inline bool pt2c__add_ovf_sz(size_t a, size_t b, size_t *out) { return __builtin_add_overflow(a, b, out); }
static inline bool pt2c__mul_ovf_sz(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }

/* MARK: arena -- bump allocation released all at once */

typedef struct pt2c_arena_chunk pt2c_arena_chunk;
typedef struct pt2c_arena {
	const pt2c_allocator *alloc;
	pt2c_arena_chunk *head;
	size_t used, cap; /* within head */
	size_t total;     /* bytes allocated from the system, for statistics */
} pt2c_arena;

void pt2c__arena_init(pt2c_arena *a, const pt2c_allocator *alloc);
/**
 * Move every block of src into dst (dst then frees them; src is left empty, as initialised).
 * Both must use the same allocator callbacks (dst keeps its own pointer to them). Blocks keep
 * their addresses; never fails.
 */
void pt2c__arena_splice(pt2c_arena *dst, pt2c_arena *src);
/** n bytes aligned to 8, uninitialised; NULL on OOM or n == 0 overflow. */
void *pt2c__arena_alloc(pt2c_arena *a, size_t n);
/** n bytes zeroed. */
void *pt2c__arena_zalloc(pt2c_arena *a, size_t n);
/** count*size bytes zeroed, overflow-checked. */
void *pt2c__arena_calloc(pt2c_arena *a, size_t count, size_t size);
/** Copy of s[0..n) plus a NUL, unaligned. */
char *pt2c__arena_strndup(pt2c_arena *a, const char *s, size_t n);
void *pt2c__arena_memdup(pt2c_arena *a, const void *p, size_t n);
/** Release every chunk. The arena may be reused after pt2c__arena_init. */
void pt2c__arena_free(pt2c_arena *a);
/** Drop every allocation but keep the current chunk for reuse (a per-item scratch arena). */
void pt2c__arena_reset(pt2c_arena *a);

/* MARK: hash map from byte-string keys to uint64 values (open addressing, linear probing) */

typedef struct pt2c_map_slot {
	const char *key; /* NULL = empty; keys are borrowed: the caller keeps them alive */
	uint32_t len;
	uint32_t hash;
	uint64_t value;
} pt2c_map_slot;

typedef struct pt2c_map {
	const pt2c_allocator *alloc;
	pt2c_map_slot *slots;
	size_t cap;   /* power of two or 0 */
	size_t count;
} pt2c_map;

uint32_t pt2c__hash(const void *p, size_t n); /* fast non-cryptographic hash (xxh3-style quality) */
void pt2c__map_init(pt2c_map *m, const pt2c_allocator *alloc);
void pt2c__map_free(pt2c_map *m);
/** Room for `count` keys in all without growing again; 0 or PT2C_ENOMEM (then m is unchanged). */
int pt2c__map_reserve(pt2c_map *m, size_t count);
/** Find key; returns true and sets *value if present. */
bool pt2c__map_get(const pt2c_map *m, const char *key, size_t len, uint64_t *value);
/**
 * Insert or overwrite. The key bytes are NOT copied. Returns 0 or PT2C_ENOMEM.
 * If `existed` is non-NULL it is set to whether the key was already present (then the value is
 * overwritten only when `overwrite` is true).
 */
int pt2c__map_put(pt2c_map *m, const char *key, size_t len, uint64_t value, bool overwrite, bool *existed);
/** pt2c__map_put of a key with its pt2c__hash (computed before, maybe on another thread). */
int pt2c__map_put_h(pt2c_map *m, const char *key, size_t len, uint32_t hash, uint64_t value, bool overwrite, bool *existed);
/** Start loading the slot where a key of hash `hash` probes first. */
void pt2c__map_prefetch_h(const pt2c_map *m, uint32_t hash);
/**
 * Find-or-insert with one hash and one probe (for read-modify-write of a value): returns the
 * value slot of key, inserting it with value `init` if absent (*existed says which), or NULL
 * on OOM / a key over 4 GiB. The pointer is valid until the next insert into m.
 */
uint64_t *pt2c__map_upsert(pt2c_map *m, const char *key, size_t len, uint64_t init, bool *existed);
/** Remove every key, keeping the slots: putting back at most as many keys never allocates. */
void pt2c__map_clear(pt2c_map *m);
/** A copy of src with the same slots (keys still borrowed); 0 or PT2C_ENOMEM (then dst is empty). */
int pt2c__map_clone(pt2c_map *dst, const pt2c_map *src);
static inline bool pt2c__map_gets(const pt2c_map *m, const char *key, uint64_t *value)
{ return pt2c__map_get(m, key, strlen(key), value); }

/*
 * MARK: compact map -- NUL-terminated string keys (no embedded NUL) to uint32 values in 16-byte
 * slots (a pt2c_map slot is 24), for the tables that hold one entry per graph name. The key's
 * length is not stored: a probe compares the hash, then the bytes and the terminator. Keys are
 * borrowed and must stay put while they are in the map. A lookup key containing a NUL byte is
 * never found (and refused by upsert).
 */
typedef struct pt2c_map32_slot {
	const char *key; /* NULL = empty */
	uint32_t hash;
	uint32_t value;
} pt2c_map32_slot;

typedef struct pt2c_map32 {
	const pt2c_allocator *alloc;
	pt2c_map32_slot *slots;
	size_t cap; /* power of two or 0 */
	size_t count;
} pt2c_map32;

void pt2c__map32_init(pt2c_map32 *m, const pt2c_allocator *alloc);
void pt2c__map32_free(pt2c_map32 *m);
bool pt2c__map32_get(const pt2c_map32 *m, const char *key, size_t len, uint32_t *value);
/** Start loading the slot where key's probe begins (a lookup to come soon finds it in cache). */
void pt2c__map32_prefetch(const pt2c_map32 *m, const char *key, size_t len);
/** The value slot of a present key (valid until the next insert), else NULL; never inserts. */
uint32_t *pt2c__map32_find(pt2c_map32 *m, const char *key, size_t len);
/** Grow now to hold `count` keys without growing again (a growing table briefly holds two). */
int pt2c__map32_reserve(pt2c_map32 *m, size_t count);
/** A copy of src with the same slots (keys still borrowed); 0 or PT2C_ENOMEM (then dst is empty). */
int pt2c__map32_clone(pt2c_map32 *dst, const pt2c_map32 *src);
/** Find-or-insert, as pt2c__map_upsert: the value slot (valid until the next insert), NULL on OOM. */
uint32_t *pt2c__map32_upsert(pt2c_map32 *m, const char *key, size_t len, uint32_t init, bool *existed);
/*
 * Lookup and find-or-insert for a key already checked (no NUL inside; for upsert and
 * `terminated`, key[len] is its NUL) with its pt2c__hash: callers that hashed it elsewhere (another thread) or look it up
 * more than once. terminated: a slot holding the very pointer is the key, its bytes unread.
 */
bool pt2c__map32_get_h(const pt2c_map32 *m, const char *key, size_t len, uint32_t hash, bool terminated, uint32_t *value);
uint32_t *pt2c__map32_upsert_h(pt2c_map32 *m, const char *key, size_t len, uint32_t hash, uint32_t init, bool *existed);
/**
 * pt2c__map32_upsert_h for a key that need not outlive the call (NUL-terminated at len): a new
 * key is stored as a copy made in `arena`; *stored receives the key the table holds. NULL on
 * OOM (nothing inserted).
 */
uint32_t *pt2c__map32_upsert_copy_h(pt2c_map32 *m, pt2c_arena *arena, const char *key, size_t len, uint32_t hash,
                                    uint32_t init, const char **stored, bool *existed);
/**
 * Insert n keys that are all absent from m and distinct (the caller knows: nothing is
 * checked), each with its pt2c__hash and value, on up to `helpers` helper threads (after one
 * growth to hold them). The keys must outlive the map. 0 or PT2C_ENOMEM (nothing inserted).
 */
typedef struct pt2c_map32_entry { const char *key; uint32_t hash, value; } pt2c_map32_entry;
int pt2c__map32_insert_absent(pt2c_map32 *m, const pt2c_map32_entry *e, size_t n, unsigned helpers);
uint32_t *pt2c__map32_find_h(pt2c_map32 *m, const char *key, size_t len, uint32_t hash, bool terminated);
void pt2c__map32_prefetch_h(const pt2c_map32 *m, uint32_t hash);

/* MARK: string interning -- one canonical NUL-terminated copy per distinct string */

typedef struct pt2c_strpool_slot {
	const char *str; /* the interned copy; NULL = empty */
	uint32_t hash;
	uint32_t len;    /* strings may hold NUL bytes: compared by length */
} pt2c_strpool_slot;

typedef struct pt2c_strpool pt2c_strpool;
struct pt2c_strpool {
	pt2c_arena *arena; /* borrowed: strings live in this arena */
	const pt2c_allocator *alloc;
	pt2c_strpool_slot *slots; /* open addressing, 16 bytes a string */
	size_t cap, count;
	/*
	 * Shared use (several threads intern into one pool at once): the owner shares it while the
	 * threads run (pt2c__strpool_share), and each thread interns through its own front
	 * (pt2c__strpool_front), a small cache of the shared pool's strings that takes the lock only
	 * on a miss. Strings come from the shared pool, so equal strings stay equal pointers across all fronts; a string new
	 * to the shared pool is copied into the front's arena (where its thread's objects are), which
	 * must live as long as the shared pool (pt2c__ctx_adopt).
	 */
	void *lock;            /* shared: the caller's pthread_mutex_t (pt2c__strpool_share); else NULL */
	pt2c_strpool *shared;  /* a front: the pool it caches (slots is then a direct-mapped cache) */
	struct pt2c_strpool_tab *tab; /* shared: the table lock-free lookups read, and those it replaced */
};

void pt2c__strpool_init(pt2c_strpool *sp, pt2c_arena *arena, const pt2c_allocator *alloc);
void pt2c__strpool_free(pt2c_strpool *sp); /* frees the map only; strings go with the arena */
/**
 * Share sp between threads until pt2c__strpool_unshare: from now on only fronts intern into it,
 * looking strings up without a lock and inserting under `lock` (a pthread_mutex_t the caller
 * owns). The table may still grow: lookups that raced with the growth read the table they began
 * with, which stays until unshare. PT2C_ENOMEM (sp unchanged).
 */
int pt2c__strpool_share(pt2c_strpool *sp, void *lock);
/** One thread again (every front done): frees the tables growth replaced. */
void pt2c__strpool_unshare(pt2c_strpool *sp);
/**
 * Make sp (not yet used) a front of `shared` (shared with pt2c__strpool_share) for one thread:
 * interning through sp gives `shared`'s strings, taking its lock only for strings not in the
 * front's cache. PT2C_ENOMEM (sp unchanged).
 */
int pt2c__strpool_front(pt2c_strpool *sp, pt2c_strpool *shared);
/** Make room for `more` new strings without growing again (a growing table briefly holds two). */
int pt2c__strpool_reserve(pt2c_strpool *sp, size_t more);
/** Interned copy of s[0..n); equal strings give equal pointers. NULL on OOM. */
const char *pt2c__intern(pt2c_strpool *sp, const char *s, size_t n);
static inline const char *pt2c__interns(pt2c_strpool *sp, const char *s) { return pt2c__intern(sp, s, strlen(s)); }
/** pt2c__intern of s with its pt2c__hash h (computed before, maybe on another thread). */
const char *pt2c__intern_h(pt2c_strpool *sp, const char *s, size_t n, uint32_t h);
/** Start loading the table slot where interning a string of hash h probes first (not a front). */
void pt2c__strpool_prefetch_h(const pt2c_strpool *sp, uint32_t h);

/* MARK: growable byte buffer with a sticky error */

typedef struct pt2c_buf {
	const pt2c_allocator *alloc;
	char *data;
	size_t len, cap;
	int err; /* first failure (PT2C_ENOMEM, or the flush callback's code); later appends are no-ops */
	/*
	 * Optional streaming mode (NULL = plain in-memory buffer): once len would pass flush_at,
	 * the bytes so far go to flush(flush_ctx, data, len) and len restarts at 0, so a writer of
	 * huge text (models/model.json: ~560 bytes a graph node) needs O(flush_at) memory. Only for
	 * writers that never look back at data they appended. A nonzero return becomes b->err.
	 */
	int (*flush)(void *ctx, const void *p, size_t n);
	void *flush_ctx;
	size_t flush_at;
} pt2c_buf;

void pt2c__buf_init(pt2c_buf *b, const pt2c_allocator *alloc);
void pt2c__buf_free(pt2c_buf *b);
/** Switch b to streaming mode (see pt2c_buf.flush); flush_at 0 means 1 MiB. */
void pt2c__buf_set_flush(pt2c_buf *b, int (*flush)(void *ctx, const void *p, size_t n), void *ctx, size_t flush_at);
/** Hand any pending bytes to the flush callback (no-op without one); returns b->err. */
int pt2c__buf_flush(pt2c_buf *b);
/**
 * pt2c__buf_put of a large piece: in streaming mode, one of flush_at / 4 bytes or more goes to the
 * flush callback as it is, after the pending bytes, instead of being copied in (the callback sees
 * the same bytes in the same order, cut differently).
 */
void pt2c__buf_put_through(pt2c_buf *b, const void *p, size_t n);
/** Out-of-line pt2c__buf_put: reserves (flushing or growing), then copies. */
void pt2c__buf_put_slow(pt2c_buf *b, const void *p, size_t n);
/** Append n bytes. Inline when they fit (model.json is written a few bytes at a time). */
static inline void pt2c__buf_put(pt2c_buf *b, const void *p, size_t n)
{
	/* the fast path appends only where the slow one would neither flush nor grow; +1: the NUL's room */
	if (n && !b->err && n < b->cap - b->len && (!b->flush || b->len + n <= b->flush_at)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return;
	}
	pt2c__buf_put_slow(b, p, n);
}
void pt2c__buf_puts(pt2c_buf *b, const char *s);
void pt2c__buf_putc(pt2c_buf *b, char c);
void pt2c__buf_printf(pt2c_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pt2c__buf_u8(pt2c_buf *b, uint8_t v);
void pt2c__buf_u16le(pt2c_buf *b, uint16_t v);
void pt2c__buf_u32le(pt2c_buf *b, uint32_t v);
void pt2c__buf_u64le(pt2c_buf *b, uint64_t v);
/** Ensure room for n more bytes; returns a pointer to them (len is NOT advanced) or NULL. */
char *pt2c__buf_reserve(pt2c_buf *b, size_t n);
/** NUL-terminate without counting the NUL in len (data stays valid as a C string). */
void pt2c__buf_cstr(pt2c_buf *b);
/**
 * Take ownership of the data (caller frees with pt2c__free(alloc, p)); buffer is reset.
 * The data is NUL-terminated (not counted in *len). Returns NULL (and frees) if b->err is set.
 */
char *pt2c__buf_detach(pt2c_buf *b, size_t *len);

/* MARK: bounded little-endian cursor over untrusted bytes */

typedef struct pt2c_cursor {
	const uint8_t *p;
	size_t left;
	bool fail; /* set by any read past the end; reads then return 0 */
} pt2c_cursor;

static inline pt2c_cursor pt2c__cur(const void *p, size_t n) { pt2c_cursor c = { (const uint8_t *)p, n, false }; return c; }
static inline bool pt2c__cur_need(pt2c_cursor *c, size_t n) { if (c->fail || c->left < n) { c->fail = true; return false; } return true; }
static inline uint8_t pt2c__cur_u8(pt2c_cursor *c) { if (!pt2c__cur_need(c, 1)) return 0; uint8_t v = c->p[0]; c->p += 1; c->left -= 1; return v; }
static inline uint16_t pt2c__cur_u16le(pt2c_cursor *c) { if (!pt2c__cur_need(c, 2)) return 0; uint16_t v = (uint16_t)(c->p[0] | (c->p[1] << 8)); c->p += 2; c->left -= 2; return v; }
static inline uint32_t pt2c__cur_u32le(pt2c_cursor *c) { if (!pt2c__cur_need(c, 4)) return 0; uint32_t v = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) | ((uint32_t)c->p[2] << 16) | ((uint32_t)c->p[3] << 24); c->p += 4; c->left -= 4; return v; }
static inline uint64_t pt2c__cur_u64le(pt2c_cursor *c) { uint64_t lo = pt2c__cur_u32le(c); uint64_t hi = pt2c__cur_u32le(c); return lo | (hi << 32); }
static inline const uint8_t *pt2c__cur_take(pt2c_cursor *c, size_t n) { if (!pt2c__cur_need(c, n)) return NULL; const uint8_t *p = c->p; c->p += n; c->left -= n; return p; }

static inline uint16_t pt2c__rd16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t pt2c__rd32le(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline uint64_t pt2c__rd64le(const uint8_t *p) { return (uint64_t)pt2c__rd32le(p) | ((uint64_t)pt2c__rd32le(p + 4) << 32); }

/* MARK: base64 (RFC 4648, standard alphabet, '=' padding, no line breaks) */

/** Encoded length of n raw bytes (no NUL). */
size_t pt2c__b64_encoded_len(size_t n);
/** Encode src into dst (dst must hold pt2c__b64_encoded_len(n) bytes). */
void pt2c__b64_encode(char *dst, const uint8_t *src, size_t n);
/** Append the encoding of src to b (in bounded chunks; no full-size temporary). */
void pt2c__b64_encode_buf(pt2c_buf *b, const uint8_t *src, size_t n);
/** Exact decoded length of a valid encoding of n chars, or SIZE_MAX if n is not a multiple of 4. */
size_t pt2c__b64_decoded_len(const char *src, size_t n);
/**
 * Decode strictly (alphabet, padding only at the end, length multiple of 4).
 * dst must hold pt2c__b64_decoded_len bytes. Returns 0 or PT2C_ECORRUPT with *bad_at set to the
 * offset of the first bad character.
 */
int pt2c__b64_decode(uint8_t *dst, const char *src, size_t n, size_t *bad_at);
/** The checks of pt2c__b64_decode without decoding (no output, no allocation): 0 or PT2C_ECORRUPT, *bad_at as there. */
int pt2c__b64_check(const char *src, size_t n, size_t *bad_at);

/* MARK: CRC-32 (zlib polynomial) */

/** Continue a CRC-32: crc = pt2c__crc32(0, p, n) for a fresh one. Uses libdeflate. */
uint32_t pt2c__crc32(uint32_t crc, const void *p, size_t n);
/**
 * The CRC-32 of A followed by B from crc_a = CRC-32(A), crc_b = CRC-32(B) and len_b = |B|, without
 * the bytes: how the parallel writer joins the CRCs of pieces checksummed on different threads.
 * Hand-written (libdeflate has no combine); about 4000 bit operations, independent of len_b.
 */
uint32_t pt2c__crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
/**
 * pt2c__crc32(0, p, n), for a large block (16 MiB or more, two CPUs or more, the C library's
 * allocator: pt2c__helper_threads) in pieces of 4 MiB or more on helper threads, combined.
 * Thread-safe; never fails (without memory or threads it checksums in one go).
 */
uint32_t pt2c__crc32_wide(const pt2c_allocator *alloc, const void *p, size_t n);

/* MARK: files */

/** A read-only view of a whole file: mmap when possible, else read into memory. */
typedef struct pt2c_mapped {
	const uint8_t *data;
	size_t size;
	int kind; /* 0 none, 1 mmap, 2 heap, 3 borrowed */
	const pt2c_allocator *alloc;
} pt2c_mapped;

/** Map `path` read-only. On error err->file is set. */
int pt2c__map_path(pt2c_mapped *m, const char *path, const pt2c_allocator *alloc, pt2c_error *err);
/**
 * Map an open descriptor (not closed by this call; the mapping survives closing it). A regular
 * file is viewed whole (from offset 0); anything else (pipe, socket, tty) is read from its current
 * position to EOF into heap memory.
 */
int pt2c__map_fd(pt2c_mapped *m, int fd, const pt2c_allocator *alloc, pt2c_error *err);
/** A view of caller-owned bytes (kind 3); unmap leaves them alone. data NULL gives an empty view. */
void pt2c__map_borrow(pt2c_mapped *m, const void *data, size_t size);
/**
 * Give the resident pages of a mapped view back to the kernel (no-op for heap or borrowed views);
 * the bytes stay readable and are paged in again from the file on access. Call while the view is
 * alive.
 */
void pt2c__mapped_drop_pages(const pt2c_mapped *m);
/** Whether the view is an mmap of a file (the only kind whose pages may be dropped). */
bool pt2c__mapped_is_file(const pt2c_mapped *m);
/**
 * pt2c__mapped_drop_pages for every page [p, p+n) touches (rounded outward: pages shared with
 * the neighbouring bytes go too and fault in again when used), which must lie in one live mmap
 * view of a file (never heap memory: its pages would come back zeroed).
 */
void pt2c__drop_file_pages(const void *p, size_t n);
/**
 * Ask the kernel to read the pages of [p, p+n) of a file view in ahead (MADV_WILLNEED): one
 * asynchronous read of the whole range instead of a small synchronous read at each page fault
 * when the file is not in the page cache; cheap when it is. A hint: failures are ignored.
 */
void pt2c__willneed_file_pages(const void *p, size_t n);
/**
 * For readers that go through a file view front to back: give back the pages of base[*done, upto)
 * once 8 MiB have been read past *done (any amount with `final`), and move *done to upto. Inline
 * so the check costs a compare on hot scanning paths; base must lie in a file view as above.
 */
#define PT2C_DROP_STEP ((uint64_t)8 << 20)
static inline void pt2c__drop_behind_by(const char *base, uint64_t *done, uint64_t upto, uint64_t step, bool final)
{
	if (upto > *done && (final || upto - *done >= step)) {
		pt2c__drop_file_pages(base + *done, (size_t)(upto - *done));
		*done = upto;
	}
}
static inline void pt2c__drop_behind(const char *base, uint64_t *done, uint64_t upto, bool final)
{
	pt2c__drop_behind_by(base, done, upto, PT2C_DROP_STEP, final);
}
/** Release the view (munmap or free as needed). Safe to call twice. */
void pt2c__unmap(pt2c_mapped *m);

/* MARK: temporary output files (src/util/tempfile.c) */

/**
 * name[0..n) shortened to at most `max` bytes into dst (max + 1 bytes): unchanged when it fits,
 * else its first max - 17 bytes + '~' + 16 hex digits of a 64-bit hash of the whole name, so
 * that different long names stay different. Returns the length written. max must be >= 18.
 */
size_t pt2c__short_name(char *dst, const char *name, size_t n, size_t max);
/**
 * The mkstemp template of `path`'s temporary file, allocated with `alloc`:
 * "<folder>/<stem>.tmp.<pid>.XXXXXX", <stem> being path's file name, shortened (pt2c__short_name)
 * when the whole would not fit NAME_MAX (255). NULL when out of memory.
 */
char *pt2c__tmp_template(const char *path, const pt2c_allocator *alloc);
/**
 * mkstemp(tmpl) with the asynchronous signals blocked until the file is in the registry of
 * temporary files in flight (*slot, -1 if the registry is full or the path longer than 4095
 * bytes). Returns the fd or -1 with errno set. Thread-safe.
 */
int pt2c__tmp_create(char *tmpl, int *slot);
/** Take a temporary file out of the registry (after renaming or removing it). -1 is a no-op. */
void pt2c__tmpreg_drop(int slot);
/**
 * Unlink every temporary file in the registry. Async-signal-safe (lock-free atomics and unlink
 * only): meant for signal handlers that then end the process.
 */
void pt2c__tmpreg_unlink_all(void);
/**
 * Remove the stale temporary files of `path`: the entries of its folder named exactly
 * "<stem>.tmp.<pid>.XXXXXX" (as pt2c__tmp_template makes them) whose pid is not this process and
 * no longer runs (kill(pid, 0) fails with ESRCH), that are regular files (not links) with one
 * link, owned by the effective user. Failures are ignored. Returns how many were removed.
 */
int pt2c__tmp_remove_stale(const char *path);

/**
 * An output file that appears at `path` only when complete: data goes to a temporary file in the
 * same folder (pt2c__tmp_template; stale ones of earlier runs are removed first), and commit
 * fsyncs and renames it over `path`. abort (or a failed commit) removes the temporary file,
 * leaving any previous `path` untouched. While open, the temporary file is in the registry that
 * pt2c__tmpreg_unlink_all walks.
 */
typedef struct pt2c_ofile {
	int fd;
	char *path;
	char *tmp_path;
	uint64_t offset; /* bytes written so far */
	int err;         /* sticky */
	const pt2c_allocator *alloc;
	char *wbuf;      /* write-combining buffer for small writes */
	size_t wlen, wcap;
	int os_errno;    /* errno of the first failure, for the message at commit */
	int tmp_slot;    /* registry slot of tmp_path, or -1 */
} pt2c_ofile;

int pt2c__ofile_open(pt2c_ofile *f, const char *path, const pt2c_allocator *alloc, pt2c_error *err);
/** Append n bytes. Large writes bypass the buffer (no copy). Sticky error; check at commit. */
void pt2c__ofile_write(pt2c_ofile *f, const void *p, size_t n);
/** Flush, fsync, rename into place. Returns 0 or the first error (and removes the temp file). */
int pt2c__ofile_commit(pt2c_ofile *f, pt2c_error *err);
/** Remove the temporary file and release everything. Safe after commit (no-op). */
void pt2c__ofile_abort(pt2c_ofile *f);
/**
 * Write p[0..n) at byte `off` of the temporary file (pwrite, retrying partial writes and EINTR),
 * bypassing the append buffer and the sticky error: for writers that place disjoint ranges from
 * several threads at once (thread-safe; do not mix with pt2c__ofile_write on the same file).
 * Returns 0 or an errno value.
 */
int pt2c__ofile_pwrite(pt2c_ofile *f, const void *p, size_t n, uint64_t off);
/**
 * A hint that bytes [off, off+n) of the temporary file are final: start writing them back to
 * the disk now (Linux: sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait for the
 * writes to finish), so writeback overlaps the rest of the work instead of all waiting for the
 * fsync at commit. Durability is unchanged (commit still fsyncs). Thread-safe; errors are left to
 * commit's fsync, which reports them. A no-op elsewhere.
 */
void pt2c__ofile_start_writeback(pt2c_ofile *f, uint64_t off, uint64_t n);

/* MARK: helper threads (src/util/ordered.c) */

/*
 * When work may go to helper threads: pt2c__helper_threads gives how many (at most `max`; 0 =
 * do it on the calling thread): none for fewer than min_items items, on one CPU, or with a
 * caller's allocator -- helpers allocate, and pt2c_allocator's contract keeps its callbacks on
 * the calling thread (the C library's malloc is thread-safe). Tests lower min_items and allow
 * their own thread-safe allocator (PT2C_TEST_AHEAD, tests/harness.c).
 */
typedef struct pt2c_thread_tuning {
	uint32_t min_items;   /* default 4096 */
	bool any_allocator;   /* default false */
	uint32_t chunk_items; /* items a chunk of pt2c__ordered_run's users and of the model.json reader's workers; default 1024 */
	uint32_t skim_bytes;  /* bytes of JSON a helper skims at a time (util/json_skim.c), rounded down to 64; default 1 MiB */
} pt2c_thread_tuning;
extern pt2c_thread_tuning pt2c__thread_tuning;
unsigned pt2c__helper_threads(const pt2c_allocator *alloc, size_t items, unsigned max);
/*
 * CPUs this process may use (at least 1): the CPUs of its affinity mask, lowered to the CPU quota
 * of its cgroup (cgroup v2 cpu.max, rounded up) -- what a container given 2 CPUs of a 64-core
 * host should use -- else the online CPUs. Computed once; thread-safe.
 */
unsigned pt2c__cpu_count(void);
/* cpu.max's text ("max 100000", "150000 100000") as CPUs, rounded up: 0 for no limit or bad text. */
unsigned pt2c__cpu_max_parse(const char *text);

/*
 * Text made in chunks by helper threads and consumed in chunk order on the calling thread:
 * produce(ctx, c, out) renders chunk c into the empty buffer out (any thread, the calling one
 * too while the next chunk it needs is not ready; out's allocator is `alloc`), consume(ctx, c,
 * data, len) takes it (calling thread, c = 0, 1, ...). At most 2 x helpers chunks exist at
 * once. helpers 0 (or no thread to be had): a plain loop. Returns the first nonzero code in
 * chunk order (produce's before consume's of the same chunk); no chunk after it is consumed.
 */
typedef struct pt2c_ordered_job {
	size_t n_chunks;
	int (*produce)(void *ctx, size_t chunk, pt2c_buf *out);
	int (*consume)(void *ctx, size_t chunk, const char *data, size_t len);
	void *ctx;
	const pt2c_allocator *alloc;
	unsigned helpers;
} pt2c_ordered_job;
int pt2c__ordered_run(const pt2c_ordered_job *job);

/*
 * Ranges of [0, n) on helper threads: fn(ctx, begin, end, worker) is called for consecutive
 * ranges of `chunk` items (the last may be shorter), on the calling thread (worker 0) and up to
 * `helpers` helper threads (workers 1..helpers), which take the next range as they finish one.
 * Every range runs exactly once unless one fails: then no range is started after it, and the
 * result is the code of a failed range -- not necessarily the first in order (callers that
 * report the first error in order redo the work in order). helpers 0, or no thread to be had:
 * one range after another on the calling thread. fn must be safe to run on several threads at
 * once; alloc (may be NULL) gives the few bytes of bookkeeping.
 */
typedef struct pt2c_par_job {
	size_t n, chunk;
	int (*fn)(void *ctx, size_t begin, size_t end, unsigned worker);
	void *ctx;
	const pt2c_allocator *alloc;
	unsigned helpers;
} pt2c_par_job;
int pt2c__par_run(const pt2c_par_job *job);

#endif
