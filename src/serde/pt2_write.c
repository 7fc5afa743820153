/*
 * pt2_write.c -- program -> .pt2 archive in the 2.11 layout (pt2-format.md §2.1, §3, §8), byte
 * for byte what torch.export.save writes for the same program, including .data/serialization_id.
 *
 * Weight files follow torch's dedup (§3.2): one file per (storage, dtype) group, numbered in order
 * of first appearance, all FQNs of a group naming the same path. Bytes are streamed from the
 * storages; engines are serialized straight into their member.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "serde/pickle.h"
#include "serde/serde.h"

#define CHUNK ((size_t)64 << 20)

/* MARK: .data/serialization_id (caffe2 PyTorchStreamWriter::writeSerializationId) */

/* libstdc++ std::hash<std::string> on LP64: _Hash_bytes (MurmurHash64A variant), seed 0xc70f6907. */
static uint64_t std_hash(const char *p, size_t len)
{
	const uint64_t mul = ((uint64_t)0xc6a4a793u << 32) + 0x5bd1e995u;
	const unsigned char *buf = (const unsigned char *)p;
	size_t aligned = len & ~(size_t)7;
	uint64_t h = 0xc70f6907u ^ ((uint64_t)len * mul);
	for (size_t i = 0; i < aligned; i += 8) {
		uint64_t d = pt2c__rd64le(buf + i) * mul;
		d = (d ^ (d >> 47)) * mul;
		h ^= d;
		h *= mul;
	}
	if (len & 7) {
		uint64_t d = 0;
		for (size_t n = len & 7; n > 0; n--)
			d = (d << 8) + buf[aligned + n - 1];
		h ^= d;
		h *= mul;
	}
	h = (h ^ (h >> 47)) * mul;
	return h ^ (h >> 47);
}

/* c10::hash_combine */
static uint64_t hash_combine(uint64_t seed, uint64_t v)
{
	return seed ^ (v + 0x9e3779b9u + (seed << 6) + (seed >> 2));
}

/* libstdc++'s prime rehash policy bucket counts for a growing unordered_set. */
static uint64_t next_bucket_count(uint64_t cur)
{
	static const uint64_t SEQ[] = { 13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043, 85229,
	                                172933, 351061, 712697, 1447153, 2938679 };
	if (cur == 1)
		return 13;
	for (size_t i = 0; i + 1 < PT2C_ARRAY_LEN(SEQ); i++)
		if (SEQ[i] == cur)
			return SEQ[i + 1];
	/* beyond the table (millions of records): the next prime >= 2*cur */
	for (uint64_t c = 2 * cur + 1;; c += 2) {
		bool prime = true;
		for (uint64_t d = 3; d * d <= c; d += 2)
			if (c % d == 0) {
				prime = false;
				break;
			}
		if (prime)
			return c;
	}
}

#define BEFORE_BEGIN (-2)
#define EMPTY (-1)

/*
 * Combined hash of the record names in the iteration order of a libstdc++
 * std::unordered_set<std::string> they were inserted into (in write order): the singly linked
 * node list with per-bucket "before" pointers, rehashed on growth, emulated exactly.
 */
static int names_hash(const uint64_t *hashes, size_t n, const pt2c_allocator *alloc, uint64_t *out)
{
	int64_t *next = pt2c__calloc(alloc, n ? n : 1, sizeof *next);
	int64_t *bk = NULL;
	uint64_t nb = 1, resize = 0;
	int64_t head = EMPTY;
	if (!next)
		return PT2C_ENOMEM;
	bk = pt2c__calloc(alloc, 1, sizeof *bk);
	if (!bk) {
		pt2c__free(alloc, next);
		return PT2C_ENOMEM;
	}
	bk[0] = EMPTY;
	for (size_t x = 0; x < n; x++) {
		if (x + 1 > resize) {
			uint64_t min_bkts = x + 1 > (resize ? 0 : 11) ? x + 1 : 11;
			if (min_bkts >= nb) {
				uint64_t nn = next_bucket_count(nb);
				int64_t *nbk = pt2c__calloc(alloc, nn, sizeof *nbk);
				if (!nbk) {
					pt2c__free(alloc, next);
					pt2c__free(alloc, bk);
					return PT2C_ENOMEM;
				}
				for (uint64_t i = 0; i < nn; i++)
					nbk[i] = EMPTY;
				int64_t p = head;
				head = EMPTY;
				uint64_t bbegin = 0;
				while (p != EMPTY) {
					int64_t nx = next[p];
					uint64_t b = hashes[p] % nn;
					if (nbk[b] == EMPTY) {
						next[p] = head;
						head = p;
						nbk[b] = BEFORE_BEGIN;
						if (next[p] != EMPTY)
							nbk[bbegin] = p;
						bbegin = b;
					} else {
						int64_t before = nbk[b];
						int64_t *slot = before == BEFORE_BEGIN ? &head : &next[before];
						next[p] = *slot;
						*slot = p;
					}
					p = nx;
				}
				pt2c__free(alloc, bk);
				bk = nbk;
				nb = nn;
			}
			resize = nb;
		}
		uint64_t b = hashes[x] % nb;
		if (bk[b] != EMPTY) {
			int64_t before = bk[b];
			int64_t *slot = before == BEFORE_BEGIN ? &head : &next[before];
			next[x] = *slot;
			*slot = (int64_t)x;
		} else {
			next[x] = head;
			head = (int64_t)x;
			if (next[x] != EMPTY)
				bk[hashes[next[x]] % nb] = (int64_t)x;
			bk[b] = BEFORE_BEGIN;
		}
	}
	uint64_t h = 0;
	for (int64_t p = head; p != EMPTY; p = next[p])
		h = hash_combine(h, hashes[p]);
	pt2c__free(alloc, next);
	pt2c__free(alloc, bk);
	*out = h;
	return 0;
}

/* MARK: archive writer state */

typedef struct par par;

typedef struct aw {
	pt2c_zipw w;
	const pt2c_allocator *alloc;
	pt2c_error *err;
	const char *root;
	char *name;
	size_t name_cap;
	const char *rel; /* member being written, for messages */
	uint64_t *hashes; /* std::hash of every record name (no root), write order */
	size_t n_hashes, cap_hashes;
	uint64_t crc_comb;
	uint64_t done, total; /* progress counts weight, constant and object bytes only */
	bool counting;
	const pt2c_pt2_write_opts *opts;
	par *par;         /* parallel writer (pt2c__pt2_write_par), else NULL */
	bool deferred;    /* parallel: CRCs are joined at the end (par_finish), not per member */
	bool file_pages;  /* parallel: the span being written lies in a file mapping */
	bool stable;      /* parallel: the data being written outlives the write (may be queued) */
	int os_errno;     /* parallel: errno of a failed write on the calling thread */
} aw;

static int aw_fail(aw *a, int rc)
{
	if (rc == PT2C_ENOMEM)
		return pt2c__err_oom(a->err);
	if (a->os_errno)
		return pt2c__err_at(a->err, rc, a->rel, UINT64_MAX, "writing archive member %s/%s failed (%s)", a->root,
		                    a->rel ? a->rel : "?", strerror(a->os_errno));
	return pt2c__err_at(a->err, rc, a->rel, UINT64_MAX, "writing archive member %s/%s failed (%s)", a->root,
	                    a->rel ? a->rel : "?", pt2c_strerror(rc));
}

static void report(aw *a);
static int queue_span(aw *a, bool b64, const uint8_t *src, uint64_t src_n, uint64_t out_n, bool counted);

static int begin(aw *a, const char *rel, uint64_t size)
{
	size_t rl = strlen(a->root), n = strlen(rel), need = rl + 1 + n + 1;
	if (need > a->name_cap) {
		char *nb = pt2c__realloc(a->alloc, a->name, a->name_cap, need);
		if (!nb)
			return pt2c__err_oom(a->err);
		a->name = nb;
		a->name_cap = need;
	}
	memcpy(a->name, a->root, rl);
	a->name[rl] = '/';
	memcpy(a->name + rl + 1, rel, n + 1);
	a->rel = rel;
	void *hp = a->hashes;
	if (pt2c__grow(a->alloc, &hp, &a->cap_hashes, a->n_hashes + 1, sizeof(uint64_t)))
		return pt2c__err_oom(a->err);
	a->hashes = hp;
	a->hashes[a->n_hashes++] = std_hash(rel, n);
	int rc = pt2c__zipw_begin(&a->w, a->name, size);
	return rc ? aw_fail(a, rc) : 0;
}

static int end(aw *a)
{
	int rc = pt2c__zipw_end(&a->w);
	if (rc)
		return aw_fail(a, rc);
	if (a->deferred) /* par_finish folds the CRCs in once they are known */
		return 0;
	const pt2c_zipw_entry *e = &a->w.entries[a->w.n - 1];
	if (e->size) /* torch folds in the CRC of non-empty records only */
		a->crc_comb = hash_combine(a->crc_comb, e->crc);
	return 0;
}

static int data_inline(aw *a, const void *p, uint64_t n)
{
	const uint8_t *b = p;
	while (n) {
		size_t k = n > CHUNK ? CHUNK : (size_t)n;
		int rc = pt2c__zipw_data(&a->w, b, k);
		if (rc)
			return aw_fail(a, rc);
		b += k;
		n -= k;
		if (a->counting) {
			a->done += k;
			report(a);
		}
	}
	return 0;
}

/* Member data from memory that outlives the write: large spans go to the workers (parallel). */
static int data(aw *a, const void *p, uint64_t n)
{
	if (a->par && a->stable)
		return queue_span(a, false, p, n, n, a->counting);
	return data_inline(a, p, n);
}

static int record(aw *a, const char *rel, const void *p, uint64_t n)
{
	int rc = begin(a, rel, n);
	if (!rc && n)
		rc = data(a, p, n);
	if (!rc)
		rc = end(a);
	return rc;
}

/*
 * A member streamed from a pull storage: PULL_CHUNK bytes at a time through one scratch buffer
 * (bounded memory whatever the storage's size). A source that fails is PT2C_EIO naming the member
 * and the offset of the chunk it could not produce.
 */
#define PULL_CHUNK ((size_t)4 << 20)
static int record_pull(aw *a, const char *rel, const pt2c_storage *st)
{
	size_t cap = st->nbytes < PULL_CHUNK ? (size_t)st->nbytes : PULL_CHUNK;
	uint8_t *buf = pt2c__malloc(a->alloc, cap);
	if (!buf)
		return pt2c__err_oom(a->err);
	int rc = begin(a, rel, st->nbytes);
	for (uint64_t off = 0; !rc && off < st->nbytes; off += cap) {
		size_t k = st->nbytes - off < cap ? (size_t)(st->nbytes - off) : cap;
		if (st->pull(st->pull_ctx, off, buf, k) != 0) {
			rc = pt2c__err_at(a->err, PT2C_EIO, rel, off,
			                  "the data source of %s/%s failed to produce %zu bytes at offset %" PRIu64, a->root, rel,
			                  k, off);
			break;
		}
		rc = data_inline(a, buf, k); /* buf is reused: written (and checksummed) now */
	}
	if (!rc)
		rc = end(a);
	pt2c__free(a->alloc, buf);
	return rc;
}

/* MARK: weights and constants */

enum { GRP_WEIGHTS = 0, GRP_TENSORS = 1, GRP_OBJS = 2 };

static int group_of(const pt2c_attr *at)
{
	switch (at->kind) {
	case PT2C_ATTR_PARAMETER: return GRP_WEIGHTS;
	case PT2C_ATTR_BUFFER: return at->persistent ? GRP_WEIGHTS : GRP_TENSORS;
	case PT2C_ATTR_CONSTANT: return GRP_TENSORS;
	default: return GRP_OBJS;
	}
}

/*
 * Assign file numbers: per group, one number per distinct (storage, dtype) in first-appearance
 * order (objects: one each). file[i] = number for attr i.
 */
static int number_files(aw *a, const pt2c_module *m, uint32_t *file, uint32_t counts[3])
{
	pt2c_map seen[2];
	pt2c__map_init(&seen[0], a->alloc);
	pt2c__map_init(&seen[1], a->alloc);
	/* map keys must stay alive: (pointer, dtype) pairs stored per attr */
	struct key { uintptr_t p; uint64_t dtype; } *keys = pt2c__calloc(a->alloc, m->n_attrs ? m->n_attrs : 1, sizeof *keys);
	int rc = keys ? 0 : PT2C_ENOMEM;
	uint32_t n_opaque = 0;
	counts[0] = counts[1] = counts[2] = 0;
	for (uint32_t i = 0; i < m->n_attrs && !rc; i++) {
		const pt2c_attr *at = &m->attrs[i];
		int g = group_of(at);
		if (g == GRP_OBJS) {
			/* TorchBind objects and Python-pickled opaque objects are numbered apart */
			file[i] = at->engine_opaque ? n_opaque++ : counts[2]++;
			continue;
		}
		if (!at->tensor.storage) {
			file[i] = counts[g]++;
			continue;
		}
		keys[i].p = (uintptr_t)at->tensor.storage;
		keys[i].dtype = at->tensor.meta.dtype;
		bool existed = false;
		if (pt2c__map_put(&seen[g], (const char *)&keys[i], sizeof keys[i], counts[g], false, &existed)) {
			rc = PT2C_ENOMEM;
			break;
		}
		uint64_t v = 0;
		pt2c__map_get(&seen[g], (const char *)&keys[i], sizeof keys[i], &v);
		file[i] = (uint32_t)v;
		if (!existed)
			counts[g]++;
	}
	pt2c__map_free(&seen[0]);
	pt2c__map_free(&seen[1]);
	pt2c__free(a->alloc, keys);
	return rc ? pt2c__err_oom(a->err) : 0;
}

static void file_name(char *buf, size_t cap, int g, bool opaque, uint32_t idx)
{
	static const char *const PRE[] = { "data/weights/weight_", "data/constants/tensor_", "data/constants/custom_obj_" };
	snprintf(buf, cap, "%s%u", g == GRP_OBJS && opaque ? "data/constants/opaque_obj_" : PRE[g], idx);
}

/* Bytes of an object member: opaque pickles as read are kept verbatim. */
static uint64_t obj_size(const pt2c_attr *at, const pt2c_allocator *alloc)
{
	if (at->engine_opaque)
		return at->blob ? at->blob->nbytes : pt2c__engine_opaque_size(at->engine);
	uint64_t n = 0; /* for the progress total only: a failure shows again when the member is written */
	if (at->engine && pt2c__engine_obj_size(at->engine, alloc, &n))
		n = 0;
	return at->engine ? n : at->blob ? at->blob->nbytes : 0;
}

static int par_engine(aw *a, const pt2c_engine_record *r, uint64_t sz, bool opaque);

/* Write every file of group g (each number once, from its first attribute). */
static int write_group(aw *a, const pt2c_module *m, const uint32_t *file, int g, uint32_t count)
{
	char rel[64];
	uint32_t next = 0;
	for (uint32_t i = 0; i < m->n_attrs && (g == GRP_OBJS || next < count); i++) {
		const pt2c_attr *at = &m->attrs[i];
		/* objects (two numberings) are written in attribute order, as PyTorch's constants loop */
		if (group_of(at) != g || (g != GRP_OBJS && file[i] != next))
			continue;
		next++;
		file_name(rel, sizeof rel, g, at->engine_opaque, file[i]);
		int rc;
		if (g != GRP_OBJS) {
			const pt2c_storage *st = at->tensor.storage;
			a->counting = a->stable = true;
			a->file_pages = st && st->file_pages;
			rc = pt2c__storage_in_memory(st) ? record(a, rel, st ? st->data : NULL, st ? st->nbytes : 0)
			                                 : record_pull(a, rel, st);
			a->counting = a->stable = a->file_pages = false;
			if (!a->par) /* (parallel: each worker gives back the pages of its pieces) */
				pt2c__storage_drop_pages(st); /* written: its input pages are not needed in memory */
		} else if (at->engine_opaque && !at->blob && at->engine) {
			uint64_t sz = pt2c__engine_opaque_size(at->engine);
			if (!sz)
				return pt2c__err(a->err, PT2C_EUNSUPPORTED,
				                 "engine '%s' is too large for a protocol-2 pickle (a field of 4 GiB or more)", at->fqn);
			if ((rc = begin(a, rel, sz)))
				return rc;
			if (a->par) {
				rc = par_engine(a, at->engine, sz, true);
			} else {
				rc = pt2c__engine_opaque_write(at->engine, pt2c__sink_zip_member(&a->w));
				if (rc)
					return aw_fail(a, rc);
				a->done += sz;
				report(a);
			}
			if (!rc)
				rc = end(a);
		} else if (at->engine && !at->engine_opaque) {
			uint64_t sz = 0;
			if ((rc = pt2c__engine_obj_size(at->engine, a->alloc, &sz)))
				return aw_fail(a, rc); /* PT2C_ENOMEM: "out of memory" (issue 11 #5) */
			if ((rc = begin(a, rel, sz)))
				return rc;
			if (a->par) {
				rc = par_engine(a, at->engine, sz, false);
			} else {
				rc = pt2c__engine_obj_write(at->engine, pt2c__sink_zip_member(&a->w), a->alloc);
				if (rc)
					return aw_fail(a, rc);
				a->done += sz;
				report(a);
			}
			if (!rc)
				rc = end(a);
		} else if (at->blob) {
			a->counting = a->stable = true;
			a->file_pages = at->blob->file_pages;
			rc = record(a, rel, at->blob->data, at->blob->nbytes);
			a->counting = a->stable = a->file_pages = false;
		} else {
			return pt2c__err(a->err, PT2C_EINVALID, "custom object '%s' has neither an engine record nor pickled bytes",
			                 at->fqn);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* The PayloadConfig JSON of the attributes in `groups` (a bit set), in attribute order. */
static void config_json(pt2c_buf *b, const pt2c_module *m, const uint32_t *file, unsigned groups)
{
	char rel[64];
	bool first = true;
	pt2c__buf_puts(b, "{\"config\": {");
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_attr *at = &m->attrs[i];
		int g = group_of(at);
		if (!(groups & (1u << g)))
			continue;
		if (!first)
			pt2c__buf_puts(b, ", ");
		first = false;
		pt2c__json_write_cstr(b, at->fqn);
		file_name(rel, sizeof rel, g, at->engine_opaque, file[i]);
		pt2c__buf_puts(b, ": {\"path_name\": ");
		pt2c__json_write_cstr(b, strrchr(rel, '/') + 1);
		pt2c__buf_puts(b, at->kind == PT2C_ATTR_PARAMETER ? ", \"is_param\": true" : ", \"is_param\": false");
		if (g == GRP_OBJS) {
			pt2c__buf_puts(b, ", \"use_pickle\": true, \"tensor_meta\": null}");
		} else {
			pt2c__buf_puts(b, ", \"use_pickle\": false, \"tensor_meta\": ");
			pt2c__json_write_meta(b, &at->tensor.meta);
			pt2c__buf_puts(b, "}");
		}
	}
	pt2c__buf_puts(b, "}}");
}

static int write_buf_record(aw *a, const char *rel, pt2c_buf *b)
{
	if (b->err)
		return pt2c__err_oom(a->err);
	return record(a, rel, b->data, b->len);
}

/* pt2c_buf flush callback: append to the open member of the zip writer ctx. */
static int zip_member_flush(void *ctx, const void *p, size_t n)
{
	return pt2c__zipw_data(ctx, p, n);
}

static int par_finish(aw *a);

static int write_all(aw *a, const pt2c_program *p)
{
	const pt2c_module *m = p->mod;
	uint32_t counts[3];
	uint32_t *file = pt2c__calloc(a->alloc, m->n_attrs ? m->n_attrs : 1, sizeof *file);
	if (!file)
		return pt2c__err_oom(a->err);
	int rc = number_files(a, m, file, counts);
	pt2c_buf b;
	pt2c__buf_init(&b, a->alloc);
	if (rc)
		goto done;
	uint32_t next[3] = { 0, 0, 0 };
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const pt2c_attr *at = &m->attrs[i];
		int g = group_of(at);
		if (g != GRP_OBJS && file[i] != next[g])
			continue; /* a shared file, counted at its first user */
		next[g]++;
		if (g == GRP_OBJS)
			a->total += obj_size(at, a->alloc);
		else if (at->tensor.storage)
			a->total += at->tensor.storage->nbytes;
	}
	if ((rc = write_group(a, m, file, GRP_WEIGHTS, counts[GRP_WEIGHTS])))
		goto done;
	config_json(&b, m, file, 1u << GRP_WEIGHTS);
	if ((rc = write_buf_record(a, "data/weights/model_weights_config.json", &b)))
		goto done;
	if ((rc = write_group(a, m, file, GRP_TENSORS, counts[GRP_TENSORS])) ||
	    (rc = write_group(a, m, file, GRP_OBJS, counts[GRP_OBJS])))
		goto done;
	b.len = 0;
	config_json(&b, m, file, (1u << GRP_TENSORS) | (1u << GRP_OBJS));
	if ((rc = write_buf_record(a, "data/constants/model_constants_config.json", &b)))
		goto done;
	/*
	 * models/model.json is ~560 bytes a graph node: stream it into the member through b in 1 MiB
	 * pieces instead of building it whole. The size is declared unknown, which gives the same
	 * bytes as a known size below 4 GiB (the local header only carries a size in its ZIP64
	 * extra); a model.json of 4 GiB or more (millions of nodes) is written without the local
	 * ZIP64 extra torch would put there, and is read back the same.
	 */
	b.len = 0;
	if ((rc = begin(a, "models/model.json", PT2C_ZIP_SIZE_UNKNOWN)))
		goto done;
	pt2c__buf_set_flush(&b, zip_member_flush, &a->w, 0);
	rc = pt2c__pt2json_write(&b, p);
	if (!rc)
		rc = pt2c__buf_flush(&b);
	b.flush = NULL; /* the buffer is an ordinary scratch buffer again */
	if (rc) {
		rc = a->w.err                ? aw_fail(a, a->w.err)
		     : rc == PT2C_ENOMEM     ? pt2c__err_oom(a->err)
		                             : pt2c__err_at(a->err, rc, "models/model.json", UINT64_MAX,
		                                            "the program cannot be serialized as PT2 JSON (%s)", pt2c_strerror(rc));
		goto done;
	}
	if ((rc = end(a)))
		goto done;
	a->stable = true; /* sample inputs and extra files: storages */
	rc = record(a, "data/sample_inputs/model.pt", p->sample_inputs ? p->sample_inputs->data : NULL,
	            p->sample_inputs ? p->sample_inputs->nbytes : 0);
	a->stable = false;
	if (rc)
		goto done;
	for (uint32_t i = 0; i < p->n_extra; i++) {
		b.len = 0;
		pt2c__buf_puts(&b, "extra/");
		pt2c__buf_puts(&b, p->extra[i].name);
		pt2c__buf_cstr(&b);
		if (b.err) {
			rc = pt2c__err_oom(a->err);
			goto done;
		}
		const pt2c_storage *st = p->extra[i].data;
		a->stable = true;
		rc = record(a, b.data, st ? st->data : NULL, st ? st->nbytes : 0);
		a->stable = false;
		if (rc)
			goto done;
	}
	if ((rc = record(a, "archive_format", "pt2", 3)) || (rc = record(a, "archive_version", "0", 1)) ||
	    (rc = record(a, ".data/version", "6\n", 2)) || (rc = record(a, "byteorder", "little", 6)))
		goto done;
	if (a->par && (rc = par_finish(a))) /* every CRC known: the serialization id can be written */
		goto done;
	uint64_t nh = 0;
	if ((rc = names_hash(a->hashes, a->n_hashes, a->alloc, &nh))) {
		rc = pt2c__err_oom(a->err);
		goto done;
	}
	char sid[48];
	snprintf(sid, sizeof sid, "%020llu%020llu", (unsigned long long)nh, (unsigned long long)a->crc_comb);
	if ((rc = record(a, ".data/serialization_id", sid, 40)))
		goto done;
	a->rel = "(central directory)";
	if ((rc = pt2c__zipw_finish(&a->w)))
		rc = aw_fail(a, rc);
done:
	pt2c__buf_free(&b);
	pt2c__free(a->alloc, file);
	return rc;
}

/* The writer state both entry points start from; PT2C_EINVALID for a root with a slash. */
static int aw_start(aw *a, const pt2c_program *p, const pt2c_pt2_write_opts *opts, pt2c_error *err)
{
	memset(a, 0, sizeof *a);
	a->alloc = p->ctx ? p->ctx->alloc : NULL;
	a->err = err;
	a->opts = opts;
	a->root = opts && opts->root && opts->root[0] ? opts->root : "archive";
	if (strchr(a->root, '/') || strchr(a->root, '\\'))
		return pt2c__err(err, PT2C_EINVALID, "archive root '%s' must not contain a slash", a->root);
	return 0;
}

int pt2c__pt2_write(const pt2c_program *p, pt2c_sink sink, const pt2c_pt2_write_opts *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph && sink.write);
	aw a;
	int src = aw_start(&a, p, opts, err);
	if (src)
		return src;
	pt2c__zipw_init(&a.w, sink, a.alloc);
	int rc = write_all(&a, p);
	pt2c__zipw_free(&a.w);
	pt2c__free(a.alloc, a.name);
	pt2c__free(a.alloc, a.hashes);
	return rc;
}

/*
 * MARK: parallel writing
 *
 * pt2c__pt2_write_par runs the same planning code as pt2c__pt2_write (write_all: every member's
 * header is produced by the same zip writer, in the same order, at the same offset), with three
 * differences: the zip writer's sink is plan_sink, which places the bytes it gets (headers, small
 * data, model.json, pulled weights) at the writer's offset through a combining buffer; large spans
 * of member data are not passed to the zip writer but accounted for with pt2c__zipw_skip and queued
 * as tasks (`part`s) for worker threads; and no CRC is computed by the zip writer (no_crc): each
 * piece of member data gets its own CRC (plan_sink's literal pieces on the calling thread, tasks on
 * whichever thread runs them), and par_finish joins them per member with pt2c__crc32_combine, makes
 * the engine objects' tails (which depend on their data.pkl's CRC), patches the data descriptors
 * and hands back to write_all for the serialization id and central directory.
 *
 * Threads: the calling thread plans and writes literal pieces, and at par_finish works through the
 * remaining tasks too; `threads - 1` workers start with the first task. Pull storages never reach
 * a worker: record_pull pulls and writes on the calling thread (one call at a time).
 * Locking: one mutex guards the queue, the parts array (which only the calling thread grows, under
 * the mutex; workers read and write parts only under it) and the first error.
 */

#define PAR_TASK_DEFAULT ((uint64_t)16 << 20)
#define PAR_STEP ((size_t)1 << 20)         /* a worker's scratch buffer: base64 produced at a time */
#define PAR_STEP_RAW (PAR_STEP / 4 * 3)     /* raw bytes encoded per step (a multiple of 3) */
#define LIT_CAP ((size_t)256 << 10)         /* the combining buffer of literal pieces */
#define PAR_MAX_THREADS 256u

enum { PART_LIT, PART_MEM, PART_B64, PART_TAIL };

typedef struct part {
	uint64_t off, len;             /* where in the output; bytes there */
	const uint8_t *src;            /* MEM: len bytes; B64: src_n raw bytes encoding to len */
	uint64_t src_n;
	const pt2c_engine_record *rec; /* TAIL: the engine object */
	uint64_t pkl_size;             /* TAIL */
	size_t pkl_first;              /* TAIL: the first part of its data.pkl */
	size_t member;                 /* index into the zip writer's entries */
	uint32_t crc;                  /* CRC-32 of the len bytes, once written */
	uint8_t kind;
	bool drop;                     /* src lies in a file mapping: give its pages back once written */
	bool counted;                  /* counts towards progress */
} part;

typedef struct worker_arg {
	aw *a;
	uint8_t *buf;
} worker_arg;

struct par {
	pt2c_psink out;
	const pt2c_allocator *alloc;   /* parts and queue grow through it, on the calling thread */
	unsigned workers;              /* to start (the calling thread is one more) */
	uint64_t task_bytes;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	part *parts;
	size_t n_parts, cap_parts;
	size_t *queue;
	size_t n_queue, cap_queue, next, pending;
	bool closed, spawned;
	int err, err_errno;            /* first failure of a task */
	size_t err_part;
	uint64_t err_off;
	uint64_t done_bytes;           /* progress of finished tasks */
	pthread_t *tids;
	unsigned n_tids;
	worker_arg *args;
	uint8_t *own_buf;              /* the calling thread's scratch buffer */
	uint8_t *lit;                  /* literal pieces, combined (calling thread only) */
	size_t lit_len;
	uint64_t lit_off;
	bool new_part;                 /* the next literal member data starts a new part */
};

/* Progress, on the calling thread: inline bytes plus those of finished tasks. */
static void report(aw *a)
{
	if (!a->opts || !a->opts->progress)
		return;
	uint64_t done = a->done;
	if (a->par) {
		pthread_mutex_lock(&a->par->mu);
		done += a->par->done_bytes;
		pthread_mutex_unlock(&a->par->mu);
	}
	a->opts->progress(done > a->total ? a->total : done, a->total, a->opts->payload);
}

/* MARK: literal pieces (calling thread) */

static int lit_flush(par *q)
{
	if (!q->lit_len)
		return 0;
	size_t n = q->lit_len;
	q->lit_len = 0;
	return q->out.pwrite(q->out.ctx, q->lit, n, q->lit_off);
}

/* Place p[0..n) at off: appended to the combining buffer when contiguous. Returns 0 or errno. */
static int lit_write(par *q, const void *p, size_t n, uint64_t off)
{
	if (n == 0)
		return 0;
	if (q->lit_len && off == q->lit_off + q->lit_len && n <= LIT_CAP - q->lit_len) {
		memcpy(q->lit + q->lit_len, p, n);
		q->lit_len += n;
		return 0;
	}
	int e = lit_flush(q);
	if (e)
		return e;
	if (n >= LIT_CAP / 2)
		return q->out.pwrite(q->out.ctx, p, n, off);
	memcpy(q->lit, p, n);
	q->lit_len = n;
	q->lit_off = off;
	return 0;
}

/* Append a part (under the lock: workers may be reading the array). Returns its index or SIZE_MAX. */
static size_t add_part(par *q, const part *t)
{
	pthread_mutex_lock(&q->mu);
	size_t i = SIZE_MAX;
	if (!pt2c__grow(q->alloc, (void **)&q->parts, &q->cap_parts, q->n_parts + 1, sizeof *q->parts)) {
		i = q->n_parts++;
		q->parts[i] = *t;
	}
	pthread_mutex_unlock(&q->mu);
	return i;
}

/*
 * The zip writer's sink while planning: bytes go to their offset (the writer's, before it
 * advances); member data among them is checksummed into the member's current literal part.
 */
static int plan_sink_write(void *ctx, const void *p, size_t n)
{
	aw *a = ctx;
	par *q = a->par;
	uint64_t off = a->w.offset;
	if (a->w.in_member) {
		size_t m = a->w.n - 1, last = q->n_parts - 1; /* (parts only grow on this thread) */
		if (q->new_part || q->n_parts == 0 || q->parts[last].kind != PART_LIT || q->parts[last].member != m ||
		    q->parts[last].off + q->parts[last].len != off) {
			part t;
			memset(&t, 0, sizeof t);
			t.kind = PART_LIT;
			t.off = off;
			t.member = m;
			if ((last = add_part(q, &t)) == SIZE_MAX)
				return PT2C_ENOMEM;
			q->new_part = false;
		}
		part *t = &q->parts[last];
		t->crc = pt2c__crc32(t->crc, p, n);
		t->len += n;
	}
	int e = lit_write(q, p, n, off);
	if (e) {
		a->os_errno = e;
		return PT2C_EIO;
	}
	return 0;
}

/* MARK: tasks */

/* Checksum and write one task's bytes (any thread). Returns 0 or errno with *bad_off. */
static int run_task(const par *q, const part *t, uint8_t *buf, uint32_t *crc_out, uint64_t *bad_off)
{
	uint32_t crc = 0;
	int e = 0;
	if (t->kind == PART_MEM) {
		for (uint64_t o = 0; o < t->len && !e; o += PAR_STEP) {
			size_t k = t->len - o < PAR_STEP ? (size_t)(t->len - o) : PAR_STEP;
			crc = pt2c__crc32(crc, t->src + o, k);
			if ((e = q->out.pwrite(q->out.ctx, t->src + o, k, t->off + o)))
				*bad_off = t->off + o;
		}
	} else { /* PART_B64 */
		uint64_t wo = 0;
		for (uint64_t o = 0; o < t->src_n && !e; o += PAR_STEP_RAW) {
			size_t k = t->src_n - o < PAR_STEP_RAW ? (size_t)(t->src_n - o) : PAR_STEP_RAW;
			size_t en = pt2c__b64_encoded_len(k);
			pt2c__b64_encode((char *)buf, t->src + o, k);
			crc = pt2c__crc32(crc, buf, en);
			if ((e = q->out.pwrite(q->out.ctx, buf, en, t->off + wo)))
				*bad_off = t->off + wo;
			wo += en;
		}
	}
	if (!e && t->drop)
		pt2c__drop_file_pages(t->src, (size_t)(t->kind == PART_MEM ? t->len : t->src_n));
	*crc_out = crc;
	return e;
}

/* Take the next queued task and run it; called and returns with q->mu held. */
static void take_task(par *q, uint8_t *buf)
{
	size_t i = q->queue[q->next++];
	part t = q->parts[i];
	bool skip = q->err != 0; /* after a failure the rest is only drained */
	pthread_mutex_unlock(&q->mu);
	uint32_t crc = 0;
	uint64_t bad = 0;
	int e = skip ? 0 : run_task(q, &t, buf, &crc, &bad);
	pthread_mutex_lock(&q->mu);
	q->parts[i].crc = crc;
	if (e && !q->err) {
		q->err = PT2C_EIO;
		q->err_errno = e;
		q->err_part = i;
		q->err_off = bad;
	}
	if (t.counted)
		q->done_bytes += t.len;
	q->pending--;
	pthread_cond_broadcast(&q->cv_done);
}

static void *worker_main(void *arg)
{
	worker_arg *w = arg;
	par *q = w->a->par;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->next == q->n_queue && !q->closed)
			pthread_cond_wait(&q->cv_work, &q->mu);
		if (q->next == q->n_queue)
			break; /* closed and empty */
		take_task(q, w->buf);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Start the workers (with the first task). Fewer than asked when threads cannot be created. */
static int par_spawn(aw *a)
{
	par *q = a->par;
	q->spawned = true;
	q->own_buf = pt2c__malloc(a->alloc, PAR_STEP);
	if (!q->own_buf)
		return PT2C_ENOMEM;
	if (!q->workers)
		return 0;
	q->tids = pt2c__calloc(a->alloc, q->workers, sizeof *q->tids);
	q->args = pt2c__calloc(a->alloc, q->workers, sizeof *q->args);
	if (!q->tids || !q->args)
		return PT2C_ENOMEM;
	for (unsigned i = 0; i < q->workers; i++) {
		q->args[i].a = a;
		q->args[i].buf = pt2c__malloc(a->alloc, PAR_STEP);
		if (!q->args[i].buf)
			return PT2C_ENOMEM;
		if (pthread_create(&q->tids[q->n_tids], NULL, worker_main, &q->args[i]) != 0)
			break; /* the calling thread does the rest at par_finish */
		q->n_tids++;
	}
	return 0;
}

/* Close the queue (aborting: every remaining task is skipped) and join the workers. */
static void par_join(par *q, bool abort_rest)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	if (abort_rest && !q->err) { /* the write failed elsewhere: remaining tasks are skipped */
		q->err = PT2C_EIO;
		q->err_errno = ECANCELED;
	}
	pthread_cond_broadcast(&q->cv_work);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->n_tids; i++)
		pthread_join(q->tids[i], NULL);
	q->n_tids = 0;
}

/*
 * Member data from memory that outlives the write (storages, engine bytes): n bytes at src, or
 * the base64 of src_n bytes (out_n = its length). Spans of task_bytes or more are queued in
 * pieces of about task_bytes; shorter ones are written now. The zip writer skips over them.
 */
static int queue_span(aw *a, bool b64, const uint8_t *src, uint64_t src_n, uint64_t out_n, bool counted)
{
	par *q = a->par;
	if (out_n < q->task_bytes) {
		if (!b64)
			return data_inline(a, src, src_n);
		char chunk[4096];
		for (uint64_t o = 0; o < src_n;) {
			size_t k = src_n - o < 3072 ? (size_t)(src_n - o) : 3072;
			pt2c__b64_encode(chunk, src + o, k);
			int rc = pt2c__zipw_data(&a->w, chunk, pt2c__b64_encoded_len(k));
			if (rc)
				return aw_fail(a, rc);
			o += k;
		}
		if (counted) {
			a->done += out_n;
			report(a);
		}
		return 0;
	}
	if (!q->spawned) {
		int rc = par_spawn(a);
		if (rc)
			return aw_fail(a, rc);
	}
	uint64_t step = b64 ? (q->task_bytes / 4 * 3 / 3 * 3) : q->task_bytes; /* raw bytes a task */
	if (step < 3)
		step = 3;
	uint64_t off = a->w.offset;
	for (uint64_t o = 0; o < src_n; o += step) {
		part t;
		memset(&t, 0, sizeof t);
		t.kind = b64 ? PART_B64 : PART_MEM;
		t.member = a->w.n - 1;
		t.off = off;
		t.src = src + o;
		t.src_n = src_n - o < step ? src_n - o : step;
		t.len = b64 ? pt2c__b64_encoded_len((size_t)t.src_n) : t.src_n;
		t.drop = a->file_pages;
		t.counted = counted;
		off += t.len;
		pthread_mutex_lock(&q->mu);
		int rc = 0;
		if (pt2c__grow(q->alloc, (void **)&q->parts, &q->cap_parts, q->n_parts + 1, sizeof *q->parts) ||
		    pt2c__grow(q->alloc, (void **)&q->queue, &q->cap_queue, q->n_queue + 1, sizeof *q->queue)) {
			rc = PT2C_ENOMEM;
		} else {
			q->parts[q->n_parts] = t;
			q->queue[q->n_queue++] = q->n_parts++;
			q->pending++;
			pthread_cond_signal(&q->cv_work);
		}
		pthread_mutex_unlock(&q->mu);
		if (rc)
			return aw_fail(a, rc);
	}
	int rc = pt2c__zipw_skip(&a->w, out_n, 0);
	return rc ? aw_fail(a, rc) : 0;
}

/* An engine constant's member (begun): head and mid now, the engine text queued, the tail last. */
static int par_engine(aw *a, const pt2c_engine_record *r, uint64_t sz, bool opaque)
{
	par *q = a->par;
	pt2c_engine_split s;
	int rc = opaque ? pt2c__engine_opaque_split(r, &s, a->alloc) : pt2c__engine_obj_split(r, &s, a->alloc);
	if (rc)
		return aw_fail(a, rc);
	if ((rc = pt2c__zipw_data(&a->w, s.head.data, s.pkl_off))) /* the nested zip's local header */
		goto fail;
	q->new_part = true; /* data.pkl: its CRC is needed apart for the tail */
	size_t pkl_first = q->n_parts;
	if ((rc = pt2c__zipw_data(&a->w, s.head.data + s.pkl_off, s.head.len - s.pkl_off)))
		goto fail;
	a->file_pages = r->engine && r->engine->file_pages;
	rc = s.text_n ? queue_span(a, s.encode, s.src, s.src_n, s.text_n, false) : 0;
	a->file_pages = false;
	if (rc) {
		pt2c__engine_split_free(&s);
		return rc; /* reported */
	}
	if ((rc = pt2c__zipw_data(&a->w, s.mid.data, s.mid.len)))
		goto fail;
	if (!opaque) {
		part t;
		memset(&t, 0, sizeof t);
		t.kind = PART_TAIL;
		t.off = a->w.offset;
		t.len = s.tail_n;
		t.rec = r;
		t.pkl_size = s.pkl_size;
		t.pkl_first = pkl_first;
		t.member = a->w.n - 1;
		if (add_part(q, &t) == SIZE_MAX) {
			rc = PT2C_ENOMEM;
			goto fail;
		}
		if ((rc = pt2c__zipw_skip(&a->w, s.tail_n, 0)))
			goto fail;
	}
	a->done += sz; /* (the engine text is not counted by its tasks) */
	report(a);
	pt2c__engine_split_free(&s);
	return 0;
fail:
	pt2c__engine_split_free(&s);
	return aw_fail(a, rc);
}

static void put32le(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/*
 * Before the serialization id: run what is left of the queue on this thread, wait for the workers,
 * then join every member's CRC from its parts in order (making engine tails on the way), patch the
 * data descriptors and fold the CRCs as end() does; later members are checksummed inline.
 */
static int par_finish(aw *a)
{
	par *q = a->par;
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv_work);
	while (q->next < q->n_queue || q->pending) {
		if (q->next < q->n_queue)
			take_task(q, q->own_buf);
		else
			pthread_cond_wait(&q->cv_done, &q->mu);
		pthread_mutex_unlock(&q->mu);
		report(a);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	par_join(q, false);
	if (q->err) {
		const part *t = &q->parts[q->err_part];
		const pt2c_zipw_entry *e = &a->w.entries[t->member];
		const char *rel = e->name + strlen(a->root) + 1;
		return pt2c__err_at(a->err, PT2C_EIO, rel, q->err_off, "writing archive member %s failed at byte %" PRIu64 " (%s)",
		                    e->name, q->err_off, strerror(q->err_errno));
	}
	int rc = 0;
	pt2c_buf tail;
	pt2c__buf_init(&tail, a->alloc);
	for (size_t i = 0; i < q->n_parts && !rc; i++) {
		part *t = &q->parts[i];
		if (t->kind == PART_TAIL) {
			uint32_t pkl_crc = 0;
			for (size_t j = t->pkl_first; j < i; j++)
				pkl_crc = pt2c__crc32_combine(pkl_crc, q->parts[j].crc, q->parts[j].len);
			tail.len = 0;
			rc = pt2c__engine_obj_tail(t->rec, t->pkl_size, pkl_crc, &tail, a->alloc);
			if (!rc && tail.len != t->len)
				rc = PT2C_EINVALID; /* cannot happen: the split measured it */
			if (!rc) {
				t->crc = pt2c__crc32(0, tail.data, tail.len);
				if ((a->os_errno = lit_write(q, tail.data, tail.len, t->off)))
					rc = PT2C_EIO;
			}
			if (rc) {
				a->rel = a->w.entries[t->member].name + strlen(a->root) + 1;
				break;
			}
		}
		pt2c_zipw_entry *e = &a->w.entries[t->member];
		e->crc = pt2c__crc32_combine(e->crc, t->crc, t->len);
	}
	pt2c__buf_free(&tail);
	if (rc)
		return aw_fail(a, rc);
	a->rel = "(data descriptors)";
	for (size_t m = 0; m < a->w.n; m++) {
		const pt2c_zipw_entry *e = &a->w.entries[m];
		if (e->dd_off != UINT64_MAX) {
			uint8_t c[4];
			put32le(c, e->crc);
			if ((a->os_errno = lit_write(q, c, 4, e->dd_off + 4)))
				return aw_fail(a, PT2C_EIO);
		}
		if (e->size) /* as end(): torch folds in the CRC of non-empty records only */
			a->crc_comb = hash_combine(a->crc_comb, e->crc);
	}
	a->deferred = false;
	a->w.no_crc = false;
	return 0;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1u : n > (long)PAR_MAX_THREADS ? PAR_MAX_THREADS : (unsigned)n;
}

int pt2c__pt2_write_par(const pt2c_program *p, pt2c_psink out, const pt2c_pt2_write_opts *opts, pt2c_error *err)
{
	PT2C_ASSERT_ARG(p && p->mod && p->mod->graph && out.pwrite);
	aw a;
	int src = aw_start(&a, p, opts, err);
	if (src)
		return src;
	par q;
	memset(&q, 0, sizeof q);
	q.out = out;
	q.alloc = a.alloc;
	unsigned threads = opts && opts->threads ? opts->threads : default_threads();
	q.workers = (threads > PAR_MAX_THREADS ? PAR_MAX_THREADS : threads) - 1;
	q.task_bytes = opts && opts->task_bytes ? opts->task_bytes : PAR_TASK_DEFAULT;
	q.lit = pt2c__malloc(a.alloc, LIT_CAP);
	if (!q.lit)
		return pt2c__err_oom(err);
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv_work, NULL);
	pthread_cond_init(&q.cv_done, NULL);
	a.par = &q;
	a.deferred = true;
	pt2c_sink sink = { plan_sink_write, &a };
	pt2c__zipw_init(&a.w, sink, a.alloc);
	a.w.no_crc = true;
	int rc = write_all(&a, p);
	if (!rc && (a.os_errno = lit_flush(&q))) {
		a.rel = "(central directory)";
		rc = aw_fail(&a, PT2C_EIO);
	}
	par_join(&q, rc != 0); /* (after par_finish: nothing left to join) */
	pthread_cond_destroy(&q.cv_done);
	pthread_cond_destroy(&q.cv_work);
	pthread_mutex_destroy(&q.mu);
	for (unsigned i = 0; q.args && i < q.workers; i++)
		pt2c__free(a.alloc, q.args[i].buf);
	pt2c__free(a.alloc, q.args);
	pt2c__free(a.alloc, q.tids);
	pt2c__free(a.alloc, q.own_buf);
	pt2c__free(a.alloc, q.lit);
	pt2c__free(a.alloc, q.parts);
	pt2c__free(a.alloc, q.queue);
	pt2c__zipw_free(&a.w);
	pt2c__free(a.alloc, a.name);
	pt2c__free(a.alloc, a.hashes);
	return rc;
}
