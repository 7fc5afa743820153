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
#include <stdio.h>
#include <unistd.h>

#include "serde/pickle.h"
#include "serde/pt2_write.h"

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
		h = pt2c__pw_hash_combine(h, hashes[p]);
	pt2c__free(alloc, next);
	pt2c__free(alloc, bk);
	*out = h;
	return 0;
}

/* MARK: members (the aw state: serde/pt2_write.h) */

int pt2c__pw_fail(aw *a, int rc)
{
	if (rc == PT2C_ENOMEM)
		return pt2c__err_oom(a->err);
	if (a->os_errno)
		return pt2c__err_at(a->err, rc, a->rel, UINT64_MAX, "writing archive member %s/%s failed (%s)", a->root,
		                    a->rel ? a->rel : "?", strerror(a->os_errno));
	return pt2c__err_at(a->err, rc, a->rel, UINT64_MAX, "writing archive member %s/%s failed (%s)", a->root,
	                    a->rel ? a->rel : "?", pt2c_strerror(rc));
}

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
	return rc ? pt2c__pw_fail(a, rc) : 0;
}

static int end(aw *a)
{
	int rc = pt2c__zipw_end(&a->w);
	if (rc)
		return pt2c__pw_fail(a, rc);
	if (a->deferred) /* par_finish folds the CRCs in once they are known */
		return 0;
	const pt2c_zipw_entry *e = &a->w.entries[a->w.n - 1];
	if (e->size) /* torch folds in the CRC of non-empty records only */
		a->crc_comb = pt2c__pw_hash_combine(a->crc_comb, e->crc);
	return 0;
}

int pt2c__pw_data_inline(aw *a, const void *p, uint64_t n)
{
	const uint8_t *b = p;
	while (n) {
		size_t k = n > CHUNK ? CHUNK : (size_t)n;
		int rc = pt2c__zipw_data(&a->w, b, k);
		if (rc)
			return pt2c__pw_fail(a, rc);
		b += k;
		n -= k;
		if (a->counting) {
			a->done += k;
			pt2c__pw_report(a);
		}
	}
	return 0;
}

/* Member data from memory that outlives the write: large spans go to the workers (parallel). */
static int data(aw *a, const void *p, uint64_t n)
{
	if (a->par && a->stable)
		return pt2c__pw_queue_span(a, false, p, n, n, a->counting);
	return pt2c__pw_data_inline(a, p, n);
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
		rc = pt2c__pw_data_inline(a, buf, k); /* buf is reused: written (and checksummed) now */
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
				rc = pt2c__pw_par_engine(a, at->engine, sz, true);
			} else {
				rc = pt2c__engine_opaque_write(at->engine, pt2c__sink_zip_member(&a->w));
				if (rc)
					return pt2c__pw_fail(a, rc);
				a->done += sz;
				pt2c__pw_report(a);
			}
			if (!rc)
				rc = end(a);
		} else if (at->engine && !at->engine_opaque) {
			uint64_t sz = 0;
			if ((rc = pt2c__engine_obj_size(at->engine, a->alloc, &sz)))
				return pt2c__pw_fail(a, rc); /* PT2C_ENOMEM: "out of memory" (issue 11 #5) */
			if ((rc = begin(a, rel, sz)))
				return rc;
			if (a->par) {
				rc = pt2c__pw_par_engine(a, at->engine, sz, false);
			} else {
				rc = pt2c__engine_obj_write(at->engine, pt2c__sink_zip_member(&a->w), a->alloc);
				if (rc)
					return pt2c__pw_fail(a, rc);
				a->done += sz;
				pt2c__pw_report(a);
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

int pt2c__pw_write_all(aw *a, const pt2c_program *p)
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
		rc = a->w.err                ? pt2c__pw_fail(a, a->w.err)
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
	if (a->par && (rc = pt2c__pw_par_finish(a))) /* every CRC known: the serialization id can be written */
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
		rc = pt2c__pw_fail(a, rc);
done:
	pt2c__buf_free(&b);
	pt2c__free(a->alloc, file);
	return rc;
}

/* The writer state both entry points start from; PT2C_EINVALID for a root with a slash. */
int pt2c__pw_start(aw *a, const pt2c_program *p, const pt2c_pt2_write_opts *opts, pt2c_error *err)
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
	int src = pt2c__pw_start(&a, p, opts, err);
	if (src)
		return src;
	pt2c__zipw_init(&a.w, sink, a.alloc);
	int rc = pt2c__pw_write_all(&a, p);
	pt2c__zipw_free(&a.w);
	pt2c__free(a.alloc, a.name);
	pt2c__free(a.alloc, a.hashes);
	return rc;
}
