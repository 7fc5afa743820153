/*
 * map.c -- string-keyed hash map (open addressing, linear probing, power-of-two capacity,
 * grown at 70% load) and the string pool built on it.
 */
#include <assert.h>
#include <pthread.h>
#include <stddef.h>

#include "util/util.h"

/* MARK: hash */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* 128-bit multiply folded to 64 bits: the core mixing step of wyhash/xxh3. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

uint32_t pt2c__hash(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = P3 ^ ((uint64_t)n * P1);
	size_t left = n;
	while (left >= 16) {
		h = mum(rd64(p) ^ P1, rd64(p + 8) ^ h);
		p += 16;
		left -= 16;
	}
	uint64_t a = 0, b = 0;
	if (left >= 8) {
		a = rd64(p);
		b = rd64(p + left - 8);
	} else if (left >= 4) {
		a = rd32(p);
		b = rd32(p + left - 4);
	} else if (left > 0) {
		a = ((uint64_t)p[0] << 16) | ((uint64_t)p[left >> 1] << 8) | p[left - 1];
	}
	h = mum(a ^ P2, b ^ h ^ rotl64(P3, 17));
	h = mum(h ^ P1, (uint64_t)n ^ P2);
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * MARK: table growth, shared by pt2c_map, pt2c_map32 and the string pool: open addressing with
 * linear probing in power-of-two tables kept at most 70% full, over slots of `size` bytes whose
 * first field is a pointer (NULL: empty) and whose 32-bit hash lies at `hash_at` (so growing
 * rehashes nothing).
 */

/* Copy every used slot of the table os (cap slots) into the empty table ns (new_cap slots). */
static void table_rehash(unsigned char *ns, size_t new_cap, const unsigned char *os, size_t cap, size_t size,
                         size_t hash_at)
{
	for (size_t i = 0; i < cap; i++) {
		const unsigned char *sl = os + i * size;
		const void *key;
		uint32_t h;
		memcpy(&key, sl, sizeof key);
		if (!key)
			continue;
		memcpy(&h, sl + hash_at, sizeof h);
		size_t j = h & (new_cap - 1);
		for (;;) {
			memcpy(&key, ns + j * size, sizeof key);
			if (!key)
				break;
			j = (j + 1) & (new_cap - 1);
		}
		memcpy(ns + j * size, sl, size);
	}
}

/* Move every used slot into a new table of new_cap slots. */
static int table_resize(const pt2c_allocator *a, void **slots, size_t *cap, size_t size, size_t hash_at, size_t new_cap)
{
	if (new_cap > SIZE_MAX / size)
		return PT2C_ENOMEM;
	unsigned char *ns = pt2c__calloc(a, new_cap, size);
	if (!ns)
		return PT2C_ENOMEM;
	table_rehash(ns, new_cap, *slots, *cap, size, hash_at);
	pt2c__free(a, *slots);
	*slots = ns;
	*cap = new_cap;
	return 0;
}

/* Grow (doubling from min_cap) until `count` keys fit; a growing table briefly holds two. */
static int table_reserve(const pt2c_allocator *a, void **slots, size_t *cap, size_t size, size_t hash_at, size_t min_cap,
                         size_t count)
{
	if (count > SIZE_MAX / 10)
		return PT2C_ENOMEM;
	size_t c = *cap ? *cap : min_cap;
	while (count * 10 > c * 7) {
		if (c > SIZE_MAX / 2 / 7)
			return PT2C_ENOMEM;
		c *= 2;
	}
	return c > *cap ? table_resize(a, slots, cap, size, hash_at, c) : 0;
}

/* MARK: map */

void pt2c__map_init(pt2c_map *m, const pt2c_allocator *alloc)
{
	m->alloc = alloc;
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void pt2c__map_free(pt2c_map *m)
{
	pt2c__free(m->alloc, m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

/* A slot-for-slot copy of a table (same capacity); dst's old contents are not freed. */
static int table_clone(const pt2c_allocator *a, void **dst, const void *src, size_t cap, size_t slot)
{
	*dst = NULL;
	if (!cap)
		return 0;
	*dst = pt2c__malloc(a, cap * slot);
	if (!*dst)
		return PT2C_ENOMEM;
	memcpy(*dst, src, cap * slot);
	return 0;
}

void pt2c__map_clear(pt2c_map *m)
{
	if (m->cap)
		memset(m->slots, 0, m->cap * sizeof *m->slots);
	m->count = 0;
}

int pt2c__map_clone(pt2c_map *dst, const pt2c_map *src)
{
	*dst = *src;
	if (table_clone(src->alloc, (void **)&dst->slots, src->slots, src->cap, sizeof *src->slots)) {
		dst->cap = dst->count = 0;
		return PT2C_ENOMEM;
	}
	return 0;
}

/* Index of the slot holding key, or of the empty slot where it would go. cap must be > 0. */
static size_t find_slot(const pt2c_map_slot *slots, size_t cap, const char *key, uint32_t len, uint32_t hash)
{
	size_t mask = cap - 1;
	size_t i = hash & mask;
	for (;;) {
		const pt2c_map_slot *s = &slots[i];
		if (!s->key)
			return i;
		if (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

bool pt2c__map_get(const pt2c_map *m, const char *key, size_t len, uint64_t *value)
{
	if (m->count == 0 || len > UINT32_MAX)
		return false;
	uint32_t h = pt2c__hash(key, len);
	size_t i = find_slot(m->slots, m->cap, key, (uint32_t)len, h);
	if (!m->slots[i].key)
		return false;
	if (value)
		*value = m->slots[i].value;
	return true;
}

int pt2c__map_reserve(pt2c_map *m, size_t count)
{
	return table_reserve(m->alloc, (void **)&m->slots, &m->cap, sizeof *m->slots, offsetof(pt2c_map_slot, hash), 16,
	                     count);
}

/* Make room for one more key: keep the load at or under 70% after it, so probes stay short. */
static int map_room_for_one(pt2c_map *m)
{
	return table_reserve(m->alloc, (void **)&m->slots, &m->cap, sizeof *m->slots, offsetof(pt2c_map_slot, hash), 16,
	                     m->count + 1);
}

int pt2c__map_put(pt2c_map *m, const char *key, size_t len, uint64_t value, bool overwrite, bool *existed)
{
	return pt2c__map_put_h(m, key, len, pt2c__hash(key, len), value, overwrite, existed);
}

void pt2c__map_prefetch_h(const pt2c_map *m, uint32_t hash)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[hash & (m->cap - 1)], 1);
}

int pt2c__map_put_h(pt2c_map *m, const char *key, size_t len, uint32_t h, uint64_t value, bool overwrite, bool *existed)
{
	if (len > UINT32_MAX)
		return PT2C_EINVALID;
	int rc = map_room_for_one(m);
	if (rc)
		return rc;
	size_t i = find_slot(m->slots, m->cap, key, (uint32_t)len, h);
	pt2c_map_slot *s = &m->slots[i];
	if (s->key) {
		if (existed)
			*existed = true;
		if (overwrite)
			s->value = value;
		return 0;
	}
	if (existed)
		*existed = false;
	/* An empty key still needs a non-NULL pointer: NULL marks an empty slot. */
	s->key = key ? key : "";
	s->len = (uint32_t)len;
	s->hash = h;
	s->value = value;
	m->count++;
	return 0;
}

uint64_t *pt2c__map_upsert(pt2c_map *m, const char *key, size_t len, uint64_t init, bool *existed)
{
	if (len > UINT32_MAX || map_room_for_one(m))
		return NULL;
	uint32_t h = pt2c__hash(key, len);
	pt2c_map_slot *s = &m->slots[find_slot(m->slots, m->cap, key, (uint32_t)len, h)];
	*existed = s->key != NULL;
	if (!s->key) {
		s->key = key ? key : "";
		s->len = (uint32_t)len;
		s->hash = h;
		s->value = init;
		m->count++;
	}
	return &s->value;
}

/* MARK: compact map */

void pt2c__map32_init(pt2c_map32 *m, const pt2c_allocator *alloc)
{
	m->alloc = alloc;
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void pt2c__map32_free(pt2c_map32 *m)
{
	pt2c__free(m->alloc, m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

int pt2c__map32_clone(pt2c_map32 *dst, const pt2c_map32 *src)
{
	*dst = *src;
	if (table_clone(src->alloc, (void **)&dst->slots, src->slots, src->cap, sizeof *src->slots)) {
		dst->cap = dst->count = 0;
		return PT2C_ENOMEM;
	}
	return 0;
}

/*
 * Index of the slot holding key, or of the empty slot where it would go. cap must be > 0.
 * terminated: key[len] is known to be NUL (an interned string), so a slot holding the very same
 * pointer is the key without reading its bytes.
 */
static size_t find_slot32(const pt2c_map32_slot *slots, size_t cap, const char *key, size_t len, uint32_t hash,
                          bool terminated)
{
	size_t mask = cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		const pt2c_map32_slot *s = &slots[i];
		/* a stored key is NUL-terminated with no NUL inside, the probe key has none: equal bytes
		 * up to len and a terminator right after mean equal strings */
		if (!s->key || (s->hash == hash && ((terminated && s->key == key) ||
		                                    (memcmp(s->key, key, len) == 0 && s->key[len] == '\0'))))
			return i;
	}
}

bool pt2c__map32_get(const pt2c_map32 *m, const char *key, size_t len, uint32_t *value)
{
	if (m->count == 0 || memchr(key, 0, len))
		return false;
	return pt2c__map32_get_h(m, key, len, pt2c__hash(key, len), false, value);
}

bool pt2c__map32_get_h(const pt2c_map32 *m, const char *key, size_t len, uint32_t hash, bool terminated, uint32_t *value)
{
	if (m->count == 0)
		return false;
	size_t i = find_slot32(m->slots, m->cap, key, len, hash, terminated);
	if (!m->slots[i].key)
		return false;
	if (value)
		*value = m->slots[i].value;
	return true;
}

uint32_t *pt2c__map32_find(pt2c_map32 *m, const char *key, size_t len)
{
	if (memchr(key, 0, len))
		return NULL;
	return pt2c__map32_find_h(m, key, len, pt2c__hash(key, len), false);
}

uint32_t *pt2c__map32_find_h(pt2c_map32 *m, const char *key, size_t len, uint32_t hash, bool terminated)
{
	if (m->count == 0)
		return NULL;
	size_t i = find_slot32(m->slots, m->cap, key, len, hash, terminated);
	return m->slots[i].key ? &m->slots[i].value : NULL;
}

void pt2c__map32_prefetch(const pt2c_map32 *m, const char *key, size_t len)
{
	pt2c__map32_prefetch_h(m, pt2c__hash(key, len));
}

void pt2c__map32_prefetch_h(const pt2c_map32 *m, uint32_t hash)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[hash & (m->cap - 1)], 1);
}

/* Grow at 70% load, like pt2c_map. */
static int map32_room_for_one(pt2c_map32 *m)
{
	return pt2c__map32_reserve(m, m->count + 1);
}

int pt2c__map32_reserve(pt2c_map32 *m, size_t count)
{
	return table_reserve(m->alloc, (void **)&m->slots, &m->cap, sizeof *m->slots, offsetof(pt2c_map32_slot, hash), 16,
	                     count);
}

uint32_t *pt2c__map32_upsert(pt2c_map32 *m, const char *key, size_t len, uint32_t init, bool *existed)
{
	if (!key || memchr(key, 0, len) || key[len] != '\0')
		return NULL;
	return pt2c__map32_upsert_h(m, key, len, pt2c__hash(key, len), init, existed);
}

uint32_t *pt2c__map32_upsert_h(pt2c_map32 *m, const char *key, size_t len, uint32_t h, uint32_t init, bool *existed)
{
	if (map32_room_for_one(m))
		return NULL;
	pt2c_map32_slot *s = &m->slots[find_slot32(m->slots, m->cap, key, len, h, true)];
	*existed = s->key != NULL;
	if (!s->key) {
		s->key = key;
		s->hash = h;
		s->value = init;
		m->count++;
	}
	return &s->value;
}

uint32_t *pt2c__map32_upsert_copy_h(pt2c_map32 *m, pt2c_arena *arena, const char *key, size_t len, uint32_t h,
                                    uint32_t init, const char **stored, bool *existed)
{
	if (map32_room_for_one(m))
		return NULL;
	pt2c_map32_slot *s = &m->slots[find_slot32(m->slots, m->cap, key, len, h, false)];
	*existed = s->key != NULL;
	if (!s->key) {
		char *copy = pt2c__arena_strndup(arena, key, len);
		if (!copy)
			return NULL;
		s->key = copy;
		s->hash = h;
		s->value = init;
		m->count++;
	}
	*stored = s->key;
	return &s->value;
}

/* The batch of pt2c__map32_insert_absent, split over helper threads. */
typedef struct absent_job { pt2c_map32 *m; const pt2c_map32_entry *e; } absent_job;

static int insert_absent_range(void *ctx, size_t begin, size_t end, unsigned worker)
{
	(void)worker;
	const absent_job *j = ctx;
	size_t mask = j->m->cap - 1;
	for (size_t k = begin; k < end; k++) {
		const pt2c_map32_entry *e = &j->e[k];
		/* the keys are distinct and absent: a slot taken meanwhile (by another thread's key) is
		 * simply passed, as probing passes any other key; nobody compares against a slot
		 * while it is being filled */
		for (size_t i = e->hash & mask;; i = (i + 1) & mask) {
			pt2c_map32_slot *s = &j->m->slots[i];
			const char *expect = NULL;
			if (__atomic_compare_exchange_n(&s->key, &expect, e->key, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				s->hash = e->hash;
				s->value = e->value;
				break;
			}
		}
	}
	return 0;
}

int pt2c__map32_insert_absent(pt2c_map32 *m, const pt2c_map32_entry *e, size_t n, unsigned helpers)
{
	if (!n)
		return 0;
	if (pt2c__map32_reserve(m, m->count + n))
		return PT2C_ENOMEM;
	absent_job j = { m, e };
	pt2c_par_job job = { n, pt2c__thread_tuning.chunk_items, insert_absent_range, &j, m->alloc, helpers };
	(void)pt2c__par_run(&job); /* cannot fail */
	m->count += n;
	return 0;
}

/* MARK: string pool */

void pt2c__strpool_init(pt2c_strpool *sp, pt2c_arena *arena, const pt2c_allocator *alloc)
{
	sp->lock = NULL;
	sp->shared = NULL;
	sp->tab = NULL;
	sp->arena = arena;
	sp->alloc = alloc;
	sp->slots = NULL;
	sp->cap = sp->count = 0;
}

void pt2c__strpool_free(pt2c_strpool *sp)
{
	pt2c__strpool_unshare(sp);
	pt2c__free(sp->alloc, sp->slots);
	sp->slots = NULL;
	sp->cap = sp->count = 0;
	sp->shared = NULL;
}

static int strpool_grow_to(pt2c_strpool *sp, size_t count)
{
	return table_reserve(sp->alloc, (void **)&sp->slots, &sp->cap, sizeof *sp->slots, offsetof(pt2c_strpool_slot, hash), 64,
	                     count);
}

/* Under the pool's lock when it is shared (see pt2c_strpool). */
static void pool_lock(pt2c_strpool *sp)
{
	if (sp->lock)
		pthread_mutex_lock(sp->lock);
}

static void pool_unlock(pt2c_strpool *sp)
{
	if (sp->lock)
		pthread_mutex_unlock(sp->lock);
}

/*
 * A shared pool's table as lock-free lookups read it. Growth publishes a new one; the old ones
 * stay (older) until unshare, as a lookup may still be reading them.
 */
struct pt2c_strpool_tab {
	pt2c_strpool_slot *slots;
	size_t cap;
	struct pt2c_strpool_tab *older;
};

int pt2c__strpool_share(pt2c_strpool *sp, void *lock)
{
	PT2C_ASSERT_ARG(sp && lock && !sp->lock && !sp->shared);
	struct pt2c_strpool_tab *t = pt2c__malloc(sp->alloc, sizeof *t);
	if (!t)
		return PT2C_ENOMEM;
	t->slots = sp->slots;
	t->cap = sp->cap;
	t->older = NULL;
	sp->tab = t;
	sp->lock = lock;
	return 0;
}

void pt2c__strpool_unshare(pt2c_strpool *sp)
{
	if (!sp->tab)
		return;
	for (struct pt2c_strpool_tab *t = sp->tab->older, *next; t; t = next) {
		next = t->older;
		pt2c__free(sp->alloc, t->slots);
		pt2c__free(sp->alloc, t);
	}
	pt2c__free(sp->alloc, sp->tab); /* its slots are sp->slots */
	sp->tab = NULL;
	sp->lock = NULL;
}

/* A shared pool's table, twice as large, published for lookups (under the lock). */
static int shared_grow(pt2c_strpool *sp)
{
	size_t ncap = sp->cap ? sp->cap * 2 : 64;
	if (ncap > SIZE_MAX / sizeof(pt2c_strpool_slot) || ncap < sp->cap)
		return PT2C_ENOMEM;
	struct pt2c_strpool_tab *t = pt2c__malloc(sp->alloc, sizeof *t);
	pt2c_strpool_slot *ns = pt2c__calloc(sp->alloc, ncap, sizeof *ns);
	if (!t || !ns) {
		pt2c__free(sp->alloc, t);
		pt2c__free(sp->alloc, ns);
		return PT2C_ENOMEM;
	}
	/* the old table is kept (lookups may be reading it), so it is rehashed, not resized */
	table_rehash((unsigned char *)ns, ncap, (const unsigned char *)sp->slots, sp->cap, sizeof *ns,
	             offsetof(pt2c_strpool_slot, hash));
	t->slots = ns;
	t->cap = ncap;
	t->older = sp->tab;
	sp->slots = ns; /* the old array stays with the old table */
	sp->cap = ncap;
	__atomic_store_n(&sp->tab, t, __ATOMIC_RELEASE); /* filled before it is seen */
	return 0;
}

int pt2c__strpool_reserve(pt2c_strpool *sp, size_t more)
{
	/* shared (or a front of a shared pool): the table grows as strings come (shared_grow) */
	if (sp->shared || sp->lock)
		return 0;
	size_t need;
	return pt2c__add_ovf_sz(sp->count, more, &need) ? PT2C_ENOMEM : strpool_grow_to(sp, need);
}

/* A front's cache: direct-mapped, 64 KiB. It keeps what repeats (targets, devices, base names). */
#define FRONT_SLOTS ((size_t)4096)

int pt2c__strpool_front(pt2c_strpool *sp, pt2c_strpool *shared)
{
	PT2C_ASSERT_ARG(sp && shared && !sp->slots && !shared->shared && shared->tab);
	pt2c_strpool_slot *c = pt2c__calloc(sp->alloc, FRONT_SLOTS, sizeof *c);
	if (!c)
		return PT2C_ENOMEM;
	sp->slots = c;
	sp->cap = FRONT_SLOTS;
	sp->count = 0;
	sp->shared = shared;
	return 0;
}

/*
 * s[0..n) with hash h in a pool that is not a front (its lock held, if it has one); a new string
 * is copied into `arena` (a front's: next to the objects of the thread that made it, whose
 * arena the pool's owner adopts).
 */
static const char *intern_hashed(pt2c_strpool *sp, const char *s, size_t n, uint32_t h, pt2c_arena *arena)
{
	/* Hot (every graph name goes through here): one hash and one probe whether or not the
	 * string is new, instead of a lookup followed by an insert. 16-byte slots keep the table
	 * (one slot per distinct name, a million in a large graph) small. */
	/* shared: a full table is replaced, never freed, for threads look strings up without the lock */
	if (sp->lock ? (sp->count + 1) * 10 > sp->cap * 7 && shared_grow(sp) : strpool_grow_to(sp, sp->count + 1) != 0)
		return NULL;
	size_t mask = sp->cap - 1, i = h & mask;
	for (;; i = (i + 1) & mask) {
		const pt2c_strpool_slot *e = &sp->slots[i];
		if (!e->str)
			break;
		if (e->hash == h && e->len == n && memcmp(e->str, s, n) == 0)
			return e->str;
	}
	char *copy = pt2c__arena_strndup(arena, s, n);
	if (!copy)
		return NULL;
	sp->slots[i].hash = h;
	sp->slots[i].len = (uint32_t)n;
	__atomic_store_n(&sp->slots[i].str, copy, __ATOMIC_RELEASE); /* published last: see find_shared */
	sp->count++;
	return copy;
}

/*
 * s in a shared pool, looked up without its lock in the table published last: a slot's string
 * pointer is stored last (with release order), and a table is published filled and freed only
 * at unshare, so a slot seen filled is complete and stays. NULL: not there when looked (the
 * caller then looks again under the lock, in the current table).
 */
static const char *find_shared(const pt2c_strpool *sp, const char *s, size_t n, uint32_t h)
{
	const struct pt2c_strpool_tab *t = __atomic_load_n(&sp->tab, __ATOMIC_ACQUIRE);
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1, i = h & mask;
	for (;; i = (i + 1) & mask) {
		const pt2c_strpool_slot *e = &t->slots[i];
		const char *str = __atomic_load_n(&e->str, __ATOMIC_ACQUIRE);
		if (!str)
			return NULL;
		if (e->hash == h && e->len == n && memcmp(str, s, n) == 0)
			return str;
	}
}

const char *pt2c__intern(pt2c_strpool *sp, const char *s, size_t n)
{
	return pt2c__intern_h(sp, s, n, pt2c__hash(s, n));
}

void pt2c__strpool_prefetch_h(const pt2c_strpool *sp, uint32_t h)
{
	/* shared: the table published last (the owner's slots may be replaced meanwhile) */
	const struct pt2c_strpool_tab *t = __atomic_load_n(&sp->tab, __ATOMIC_ACQUIRE);
	const pt2c_strpool_slot *slots = t ? t->slots : sp->shared ? NULL : sp->slots;
	size_t cap = t ? t->cap : sp->cap;
	if (slots && cap)
		__builtin_prefetch(&slots[h & (cap - 1)], 1);
}

const char *pt2c__intern_h(pt2c_strpool *sp, const char *s, size_t n, uint32_t h)
{
	if (n > UINT32_MAX)
		return NULL;
	if (!sp->shared) {
		pool_lock(sp);
		const char *r = intern_hashed(sp, s, n, h, sp->arena);
		pool_unlock(sp);
		return r;
	}
	pt2c_strpool_slot *e = &sp->slots[h & (sp->cap - 1)];
	if (e->str && e->hash == h && e->len == n && memcmp(e->str, s, n) == 0)
		return e->str;
	assert(sp->shared->lock); /* a front of a pool that is not shared would race its growth */
	const char *r = find_shared(sp->shared, s, n, h);
	if (!r) {
		pool_lock(sp->shared);
		r = intern_hashed(sp->shared, s, n, h, sp->arena);
		pool_unlock(sp->shared);
	}
	if (r) {
		e->str = r;
		e->hash = h;
		e->len = (uint32_t)n;
	}
	return r;
}
