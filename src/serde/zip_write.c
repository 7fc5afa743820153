/*
 * zip_write.c -- streaming zip writer that reproduces PyTorch 2.11's archives byte for byte.
 *
 * PyTorch writes through PyTorchStreamWriter, which calls miniz 3.0.2's
 * mz_zip_writer_add_mem_ex_v2 with MZ_ZIP_FLAG_WRITE_ZIP64, no timestamps, level 0, and a user
 * extra field "FB" + u16 pad + pad x 'Z' that puts every record's data on a 64-byte boundary
 * (caffe2/serialize/inline_container.cc, detail::getPadding). Everything below follows that path:
 * docs/pt2-format.md section 2.3 lists the bytes.
 *
 * Member data goes straight to the sink (no copy); the CRC-32 is computed on the way through.
 */
#include <stdlib.h>

#include "serde/zip.h"

#define LFH_SIG 0x04034b50u
#define DD_SIG 0x08074b50u
#define CDH_SIG 0x02014b50u
#define Z64EOCD_SIG 0x06064b50u
#define Z64LOC_SIG 0x07064b50u
#define EOCD_SIG 0x06054b50u
#define ALIGN 64u
#define U32_CAP 0xFFFFFFFFu

/* MARK: little-endian stores */

static uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); return p + 4; }
static uint8_t *put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); return p + 8; }
static uint32_t cap32(uint64_t v) { return v > U32_CAP ? U32_CAP : (uint32_t)v; }

/* MARK: sinks */

/* Sink callback for an atomic output file: the ofile's sticky error, as a PT2C code. */
static int sink_ofile_write(void *ctx, const void *p, size_t n)
{
	pt2c_ofile *f = ctx;
	pt2c__ofile_write(f, p, n);
	return f->err == 0 ? 0 : f->err < 0 ? f->err : PT2C_EIO;
}

/* Sink callback for a memory buffer: its sticky error (PT2C_ENOMEM). */
static int sink_buf_write(void *ctx, const void *p, size_t n)
{
	pt2c_buf *b = ctx;
	pt2c__buf_put(b, p, n);
	return b->err;
}

/* Sink callback that only counts. */
static int sink_count_write(void *ctx, const void *p, size_t n)
{
	PT2C_UNUSED(p);
	*(uint64_t *)ctx += n;
	return 0;
}

/* Sink callback that appends to the open member of another writer. */
static int sink_member_write(void *ctx, const void *p, size_t n)
{
	return pt2c__zipw_data((pt2c_zipw *)ctx, p, n);
}

pt2c_sink pt2c__sink_ofile(pt2c_ofile *f) { pt2c_sink s = { sink_ofile_write, f }; return s; }
pt2c_sink pt2c__sink_buf(pt2c_buf *b) { pt2c_sink s = { sink_buf_write, b }; return s; }
pt2c_sink pt2c__sink_count(uint64_t *n) { pt2c_sink s = { sink_count_write, n }; return s; }
pt2c_sink pt2c__sink_zip_member(pt2c_zipw *w) { pt2c_sink s = { sink_member_write, w }; return s; }

static int psink_ofile_pwrite(void *ctx, const void *p, size_t n, uint64_t off)
{
	return pt2c__ofile_pwrite(ctx, p, n, off);
}

static void psink_ofile_written(void *ctx, uint64_t off, uint64_t n)
{
	pt2c__ofile_start_writeback(ctx, off, n);
}

pt2c_psink pt2c__psink_ofile(pt2c_ofile *f) { pt2c_psink s = { psink_ofile_pwrite, f, psink_ofile_written }; return s; }

/* MARK: writer */

/* Send n bytes to the sink and advance the archive offset; the first failure sticks. */
static int emit(pt2c_zipw *w, const void *p, size_t n)
{
	if (w->err)
		return w->err;
	if (n == 0)
		return 0;
	int rc = w->sink.write(w->sink.ctx, p, n);
	if (rc) {
		w->err = rc < 0 ? rc : PT2C_EIO;
		return w->err;
	}
	w->offset += n;
	return 0;
}

/* Record a sticky failure and return it. */
static int fail(pt2c_zipw *w, int code)
{
	if (!w->err)
		w->err = code;
	return w->err;
}

void pt2c__zipw_init(pt2c_zipw *w, pt2c_sink sink, const pt2c_allocator *alloc)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->alloc = alloc;
	w->expect = PT2C_ZIP_SIZE_UNKNOWN;
	pt2c__map_init(&w->names, alloc);
}

int pt2c__zipw_begin(pt2c_zipw *w, const char *name, uint64_t expected_size)
{
	PT2C_ASSERT_ARG(w && name);
	if (w->err)
		return w->err;
	PT2C_ASSERT_ARG(!w->in_member);
	size_t nl = strlen(name);
	if (nl > 0xFFFFu || !pt2c__zip_name_ok(name, nl, NULL))
		return PT2C_EINVALID;
	uint64_t dummy;
	if (pt2c__map_get(&w->names, name, nl, &dummy))
		return PT2C_EINVALID;
	if (pt2c__grow(w->alloc, (void **)&w->entries, &w->cap, w->n + 1, sizeof *w->entries))
		return fail(w, PT2C_ENOMEM);
	char *copy = pt2c__malloc(w->alloc, nl + 1);
	if (!copy)
		return fail(w, PT2C_ENOMEM);
	memcpy(copy, name, nl + 1);
	if (pt2c__map_put(&w->names, copy, nl, w->n, false, NULL)) {
		pt2c__free(w->alloc, copy);
		return fail(w, PT2C_ENOMEM);
	}

	pt2c_zipw_entry *e = &w->entries[w->n++];
	memset(e, 0, sizeof *e);
	e->name = copy;
	e->name_len = (uint32_t)nl;
	e->header_off = w->offset;
	bool size_large = expected_size != PT2C_ZIP_SIZE_UNKNOWN && expected_size >= U32_CAP;
	bool off_large = e->header_off >= U32_CAP;
	e->zip64_local = size_large || off_large;
	/* miniz sets bit 3 (data descriptor) only when there is data; bit 11 (UTF-8) always. */
	e->flags = expected_size == 0 ? 0x0800 : 0x0808;

	/* Extra data: [zip64 extra] + "FB" u16 pad + pad x 'Z'; getPadding counts the zip64 extra. */
	uint8_t x[4 + 24 + 4 + ALIGN], *q = x;
	if (e->zip64_local) {
		q = put16(q, 0x0001);
		q = put16(q, (uint16_t)(8 * (2 * size_large + off_large)));
		if (size_large) {
			q = put64(q, expected_size);
			q = put64(q, 0); /* miniz writes the compressed size before it is known */
		}
		if (off_large)
			q = put64(q, e->header_off);
	}
	uint64_t start = e->header_off + 30 + nl + 4 + (uint64_t)(q - x);
	uint16_t pad = (uint16_t)((ALIGN - start % ALIGN) % ALIGN);
	q = put16(q, 0x4246); /* 'F','B' */
	q = put16(q, pad);
	memset(q, 'Z', pad);
	q += pad;
	size_t xlen = (size_t)(q - x);

	/* Local header: version 0, flags, method 0, time/date 0, CRC and sizes 0 (in the descriptor). */
	uint8_t h[30], *p = h;
	p = put32(p, LFH_SIG);
	p = put16(p, 0);
	p = put16(p, e->flags);
	memset(p, 0, 18);
	p += 18;
	p = put16(p, (uint16_t)nl);
	put16(p, (uint16_t)xlen);
	int rc;
	if ((rc = emit(w, h, sizeof h)) || (rc = emit(w, name, nl)) || (rc = emit(w, x, xlen)))
		return rc;
	w->in_member = true;
	w->expect = expected_size;
	w->cur_size = 0;
	w->cur_crc = 0;
	return 0;
}

int pt2c__zipw_data(pt2c_zipw *w, const void *p, size_t n)
{
	PT2C_ASSERT_ARG(w && (p || n == 0));
	if (w->err)
		return w->err;
	PT2C_ASSERT_ARG(w->in_member);
	if (n == 0)
		return 0;
	uint64_t total;
	if (pt2c__add_ovf(w->cur_size, n, &total) || (w->expect != PT2C_ZIP_SIZE_UNKNOWN && total > w->expect))
		return fail(w, PT2C_EINVALID);
	if (!w->no_crc)
		w->cur_crc = pt2c__crc32(w->cur_crc, p, n);
	w->cur_size = total;
	return emit(w, p, n);
}

int pt2c__zipw_skip(pt2c_zipw *w, uint64_t n, uint32_t crc)
{
	PT2C_ASSERT_ARG(w);
	if (w->err)
		return w->err;
	PT2C_ASSERT_ARG(w->in_member);
	if (n == 0)
		return 0;
	uint64_t total, off;
	if (pt2c__add_ovf(w->cur_size, n, &total) || (w->expect != PT2C_ZIP_SIZE_UNKNOWN && total > w->expect) ||
	    pt2c__add_ovf(w->offset, n, &off))
		return fail(w, PT2C_EINVALID);
	if (!w->no_crc)
		w->cur_crc = pt2c__crc32_combine(w->cur_crc, crc, n);
	w->cur_size = total;
	w->offset = off;
	return 0;
}

int pt2c__zipw_end(pt2c_zipw *w)
{
	PT2C_ASSERT_ARG(w);
	if (w->err)
		return w->err;
	PT2C_ASSERT_ARG(w->in_member);
	if (w->expect != PT2C_ZIP_SIZE_UNKNOWN && w->cur_size != w->expect)
		return fail(w, PT2C_EINVALID);
	pt2c_zipw_entry *e = &w->entries[w->n - 1];
	e->crc = w->cur_crc;
	e->size = w->cur_size;
	w->in_member = false;
	w->expect = PT2C_ZIP_SIZE_UNKNOWN;
	e->dd_off = UINT64_MAX;
	if (!(e->flags & 0x0008))
		return 0;
	e->dd_off = w->offset;
	/* Data descriptor (APPNOTE 4.3.9): signature, CRC, compressed and uncompressed size. */
	uint8_t d[24], *p = d;
	p = put32(p, DD_SIG);
	p = put32(p, e->crc);
	if (e->zip64_local || e->size >= U32_CAP) {
		p = put64(p, e->size);
		p = put64(p, e->size);
	} else {
		p = put32(p, (uint32_t)e->size);
		p = put32(p, (uint32_t)e->size);
	}
	return emit(w, d, (size_t)(p - d));
}

int pt2c__zipw_add(pt2c_zipw *w, const char *name, const void *p, size_t n)
{
	int rc = pt2c__zipw_begin(w, name, n);
	if (!rc)
		rc = pt2c__zipw_data(w, p, n);
	if (!rc)
		rc = pt2c__zipw_end(w);
	return rc;
}

int pt2c__zipw_finish(pt2c_zipw *w)
{
	PT2C_ASSERT_ARG(w);
	if (w->err)
		return w->err;
	PT2C_ASSERT_ARG(!w->in_member);
	/* miniz leaves the directory offset at 0 for an archive without entries. */
	uint64_t cd_off = w->n ? w->offset : 0, cd_start = w->offset;
	int rc;
	for (size_t i = 0; i < w->n; i++) {
		const pt2c_zipw_entry *e = &w->entries[i];
		bool size_large = e->size >= U32_CAP, off_large = e->header_off >= U32_CAP;
		uint8_t h[46 + 28], *p = h;
		p = put32(p, CDH_SIG);
		p = put16(p, 0); /* made by */
		p = put16(p, 0); /* needed */
		p = put16(p, e->flags);
		p = put16(p, 0); /* method: stored */
		p = put32(p, 0); /* time, date */
		p = put32(p, e->crc);
		p = put32(p, cap32(e->size));
		p = put32(p, cap32(e->size));
		p = put16(p, (uint16_t)e->name_len);
		uint16_t xlen = (size_large || off_large) ? (uint16_t)(4 + 16 * size_large + 8 * off_large) : 0;
		p = put16(p, xlen);
		p = put16(p, 0); /* comment */
		p = put16(p, 0); /* disk */
		p = put16(p, 0); /* internal attributes */
		p = put32(p, 0); /* external attributes */
		p = put32(p, cap32(e->header_off));
		uint8_t *xp = p;
		if (xlen) {
			xp = put16(xp, 0x0001);
			xp = put16(xp, (uint16_t)(xlen - 4));
			if (size_large) {
				xp = put64(xp, e->size);
				xp = put64(xp, e->size);
			}
			if (off_large)
				xp = put64(xp, e->header_off);
		}
		if ((rc = emit(w, h, 46)) || (rc = emit(w, e->name, e->name_len)) || (rc = emit(w, p, xlen)))
			return rc;
	}
	uint64_t cd_size = w->offset - cd_start, z64_off = w->offset, n = w->n;

	/* ZIP64 end of central directory record (APPNOTE 4.3.14), then its locator (4.3.15), then
	 * the classic record (4.3.16) with capped values. miniz writes all three unconditionally. */
	uint8_t t[56 + 20 + 22], *p = t;
	p = put32(p, Z64EOCD_SIG);
	p = put64(p, 44);
	p = put16(p, 0x031E);
	p = put16(p, 0x002D);
	p = put32(p, 0);
	p = put32(p, 0);
	p = put64(p, n);
	p = put64(p, n);
	p = put64(p, cd_size);
	p = put64(p, cd_off);
	p = put32(p, Z64LOC_SIG);
	p = put32(p, 0);
	p = put64(p, z64_off);
	p = put32(p, 1);
	p = put32(p, EOCD_SIG);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, (uint16_t)(n > 0xFFFF ? 0xFFFF : n));
	p = put16(p, (uint16_t)(n > 0xFFFF ? 0xFFFF : n));
	p = put32(p, cap32(cd_size));
	p = put32(p, cap32(cd_off));
	p = put16(p, 0);
	return emit(w, t, (size_t)(p - t));
}

void pt2c__zipw_free(pt2c_zipw *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		pt2c__free(w->alloc, w->entries[i].name);
	pt2c__free(w->alloc, w->entries);
	pt2c__map_free(&w->names);
	w->entries = NULL;
	w->n = w->cap = 0;
}
