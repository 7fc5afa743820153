/*
 * map.c -- string-keyed hash map (open addressing, linear probing, power-of-two capacity,
 * grown at 70% load) and the string pool built on it.
 */
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

/* Rehash into a table of new_cap slots (a power of two). Returns 0 or PT2C_ENOMEM. */
static int map_resize(pt2c_map *m, size_t new_cap)
{
	pt2c_map_slot *ns = pt2c__calloc(m->alloc, new_cap, sizeof *ns);
	if (!ns)
		return PT2C_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const pt2c_map_slot *s = &m->slots[i];
		if (!s->key)
			continue;
		size_t j = s->hash & (new_cap - 1);
		while (ns[j].key)
			j = (j + 1) & (new_cap - 1);
		ns[j] = *s;
	}
	pt2c__free(m->alloc, m->slots);
	m->slots = ns;
	m->cap = new_cap;
	return 0;
}

/* Make room for one more key: keep the load at or under 70% after it, so probes stay short. */
static int map_room_for_one(pt2c_map *m)
{
	if (m->cap == 0 || (m->count + 1) * 10 > m->cap * 7) {
		size_t new_cap = m->cap ? m->cap * 2 : 16;
		if (new_cap < m->cap || new_cap > SIZE_MAX / sizeof(pt2c_map_slot))
			return PT2C_ENOMEM;
		return map_resize(m, new_cap);
	}
	return 0;
}

int pt2c__map_put(pt2c_map *m, const char *key, size_t len, uint64_t value, bool overwrite, bool *existed)
{
	if (len > UINT32_MAX)
		return PT2C_EINVALID;
	int rc = map_room_for_one(m);
	if (rc)
		return rc;
	uint32_t h = pt2c__hash(key, len);
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

/* Index of the slot holding key, or of the empty slot where it would go. cap must be > 0. */
static size_t find_slot32(const pt2c_map32_slot *slots, size_t cap, const char *key, size_t len, uint32_t hash)
{
	size_t mask = cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		const pt2c_map32_slot *s = &slots[i];
		/* a stored key is NUL-terminated with no NUL inside, the probe key has none: equal bytes
		 * up to len and a terminator right after mean equal strings */
		if (!s->key || (s->hash == hash && memcmp(s->key, key, len) == 0 && s->key[len] == '\0'))
			return i;
	}
}

bool pt2c__map32_get(const pt2c_map32 *m, const char *key, size_t len, uint32_t *value)
{
	if (m->count == 0 || memchr(key, 0, len))
		return false;
	size_t i = find_slot32(m->slots, m->cap, key, len, pt2c__hash(key, len));
	if (!m->slots[i].key)
		return false;
	if (value)
		*value = m->slots[i].value;
	return true;
}

/* Rehash into new_cap slots (a power of two, larger than cap). */
static int map32_resize(pt2c_map32 *m, size_t new_cap)
{
	if (new_cap > SIZE_MAX / sizeof(pt2c_map32_slot))
		return PT2C_ENOMEM;
	pt2c_map32_slot *ns = pt2c__calloc(m->alloc, new_cap, sizeof *ns);
	if (!ns)
		return PT2C_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const pt2c_map32_slot *s = &m->slots[i];
		if (!s->key)
			continue;
		size_t j = s->hash & (new_cap - 1);
		while (ns[j].key)
			j = (j + 1) & (new_cap - 1);
		ns[j] = *s;
	}
	pt2c__free(m->alloc, m->slots);
	m->slots = ns;
	m->cap = new_cap;
	return 0;
}

/* Grow at 70% load, like pt2c_map. */
static int map32_room_for_one(pt2c_map32 *m)
{
	if (m->cap && (m->count + 1) * 10 <= m->cap * 7)
		return 0;
	size_t new_cap = m->cap ? m->cap * 2 : 16;
	return new_cap < m->cap ? PT2C_ENOMEM : map32_resize(m, new_cap);
}

int pt2c__map32_reserve(pt2c_map32 *m, size_t count)
{
	size_t cap = m->cap ? m->cap : 16;
	while (count > cap / 10 * 7) {
		if (cap > SIZE_MAX / 2)
			return PT2C_ENOMEM;
		cap *= 2;
	}
	return cap > m->cap ? map32_resize(m, cap) : 0;
}

uint32_t *pt2c__map32_upsert(pt2c_map32 *m, const char *key, size_t len, uint32_t init, bool *existed)
{
	if (!key || memchr(key, 0, len) || key[len] != '\0' || map32_room_for_one(m))
		return NULL;
	uint32_t h = pt2c__hash(key, len);
	pt2c_map32_slot *s = &m->slots[find_slot32(m->slots, m->cap, key, len, h)];
	*existed = s->key != NULL;
	if (!s->key) {
		s->key = key;
		s->hash = h;
		s->value = init;
		m->count++;
	}
	return &s->value;
}

/* MARK: string pool */

void pt2c__strpool_init(pt2c_strpool *sp, pt2c_arena *arena, const pt2c_allocator *alloc)
{
	sp->arena = arena;
	sp->alloc = alloc;
	sp->slots = NULL;
	sp->cap = sp->count = 0;
}

void pt2c__strpool_free(pt2c_strpool *sp)
{
	pt2c__free(sp->alloc, sp->slots);
	sp->slots = NULL;
	sp->cap = sp->count = 0;
}

/* Move every string into a table of new_cap slots (the hash is stored, so nothing is rehashed). */
static int strpool_resize(pt2c_strpool *sp, size_t new_cap)
{
	if (new_cap > SIZE_MAX / sizeof(pt2c_strpool_slot))
		return PT2C_ENOMEM;
	pt2c_strpool_slot *ns = pt2c__calloc(sp->alloc, new_cap, sizeof *ns);
	if (!ns)
		return PT2C_ENOMEM;
	for (size_t i = 0; i < sp->cap; i++) {
		if (!sp->slots[i].str)
			continue;
		size_t j = sp->slots[i].hash & (new_cap - 1);
		while (ns[j].str)
			j = (j + 1) & (new_cap - 1);
		ns[j] = sp->slots[i];
	}
	pt2c__free(sp->alloc, sp->slots);
	sp->slots = ns;
	sp->cap = new_cap;
	return 0;
}

/* Grow at 70% load. */
static int strpool_room_for_one(pt2c_strpool *sp)
{
	if (sp->cap && (sp->count + 1) * 10 <= sp->cap * 7)
		return 0;
	size_t new_cap = sp->cap ? sp->cap * 2 : 64;
	return new_cap < sp->cap ? PT2C_ENOMEM : strpool_resize(sp, new_cap);
}

int pt2c__strpool_reserve(pt2c_strpool *sp, size_t more)
{
	size_t need, cap = sp->cap ? sp->cap : 64;
	if (pt2c__add_ovf_sz(sp->count, more, &need))
		return PT2C_ENOMEM;
	while (need > cap / 10 * 7) {
		if (cap > SIZE_MAX / 2)
			return PT2C_ENOMEM;
		cap *= 2;
	}
	return cap > sp->cap ? strpool_resize(sp, cap) : 0;
}

const char *pt2c__intern(pt2c_strpool *sp, const char *s, size_t n)
{
	/* Hot (every graph name goes through here): one hash and one probe whether or not the
	 * string is new, instead of a lookup followed by an insert. 16-byte slots keep the table
	 * (one slot per distinct name, a million in a large graph) small. */
	if (n > UINT32_MAX || strpool_room_for_one(sp))
		return NULL;
	uint32_t h = pt2c__hash(s, n);
	size_t mask = sp->cap - 1, i = h & mask;
	for (;; i = (i + 1) & mask) {
		const pt2c_strpool_slot *e = &sp->slots[i];
		if (!e->str)
			break;
		if (e->hash == h && e->len == n && memcmp(e->str, s, n) == 0)
			return e->str;
	}
	char *copy = pt2c__arena_strndup(sp->arena, s, n);
	if (!copy)
		return NULL;
	sp->slots[i].str = copy;
	sp->slots[i].hash = h;
	sp->slots[i].len = (uint32_t)n;
	sp->count++;
	return copy;
}
