/*
 * test_zip64.c -- the ZIP64 paths without 5 GiB of disk: a 5 GiB member is streamed from a small
 * repeated buffer (no CRC) into a sink that keeps only the bytes that are NOT bulk data (headers,
 * padding, descriptors, directory, end records) with their offsets. The structures are checked
 * byte by byte against miniz's layout (pt2-format.md 2.3), then the kept bytes are written into a
 * sparse file and the reader parses the resulting 5 GiB archive through mmap.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "serde/zip.h"

#define GiB (1ull << 30)
#define HUGE_SIZE (5 * GiB)
#define CHUNK (1u << 20)

static uint8_t bulk[CHUNK]; /* zeros; its address marks bulk data in the recording sink */

typedef struct piece {
	uint64_t off;
	size_t at, len; /* in rec.bytes */
} piece;

typedef struct rec {
	uint64_t total;
	pt2c_buf bytes;
	piece pieces[128];
	size_t n;
	bool overflow;
} rec;

/* Sink: count everything, keep what is not bulk data (adjacent writes merged into one piece). */
static int rec_write(void *ctx, const void *p, size_t n)
{
	rec *r = ctx;
	if (p != bulk) {
		piece *last = r->n ? &r->pieces[r->n - 1] : NULL;
		if (last && last->off + last->len == r->total) { /* coalesce header + name + extra */
			last->len += n;
			pt2c__buf_put(&r->bytes, p, n);
		} else if (r->n == PT2C_ARRAY_LEN(r->pieces)) {
			r->overflow = true;
		} else {
			r->pieces[r->n].off = r->total;
			r->pieces[r->n].at = r->bytes.len;
			r->pieces[r->n].len = n;
			r->n++;
			pt2c__buf_put(&r->bytes, p, n);
		}
	}
	r->total += n;
	return 0;
}

/* The recorded bytes at [off, off+n), or NULL if not all recorded in one piece. */
static const uint8_t *at(const rec *r, uint64_t off, size_t n)
{
	for (size_t i = 0; i < r->n; i++)
		if (off >= r->pieces[i].off && off + n <= r->pieces[i].off + r->pieces[i].len)
			return (const uint8_t *)r->bytes.data + r->pieces[i].at + (off - r->pieces[i].off);
	return NULL;
}

static void test_five_gib_member_gets_zip64_structures(void)
{
	rec r;
	memset(&r, 0, sizeof r);
	pt2c__buf_init(&r.bytes, NULL);
	pt2c_sink sink = { rec_write, &r };
	pt2c_zipw w;
	pt2c__zipw_init(&w, sink, NULL);
	REQUIRE(pt2c__zipw_add(&w, "big/a", "abc", 3) == 0);
	w.no_crc = true; /* only for the bulk member: the small ones get real CRCs */
	REQUIRE(pt2c__zipw_begin(&w, "big/huge", HUGE_SIZE) == 0);
	for (uint64_t done = 0; done < HUGE_SIZE; done += CHUNK)
		REQUIRE(pt2c__zipw_data(&w, bulk, CHUNK) == 0);
	REQUIRE(pt2c__zipw_end(&w) == 0);
	w.no_crc = false;
	REQUIRE(pt2c__zipw_add(&w, "big/after", "0123456789", 10) == 0);
	REQUIRE(pt2c__zipw_add(&w, "big/empty", "", 0) == 0);
	REQUIRE(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);
	REQUIRE(!r.overflow && r.bytes.err == 0);

	/* big/a: header 0, data 64 (30 + 5 + 4 = 39, pad 25), descriptor 16 bytes -> 83. */
	const uint8_t *p = at(&r, 0, 30);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd16le(p + 28), 4 + 25);
	/* big/huge: header 83; extra = zip64 (4 + 16) then FB; start = 83 + 30 + 8 + 4 + 20 = 145. */
	const uint64_t h1 = 83, d1 = 192;
	p = at(&r, h1, 30 + 8 + 20 + 4);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x04034b50u);
	CHECK_EQ_INT(pt2c__rd16le(p + 6), 0x0808);
	CHECK_EQ_INT(pt2c__rd32le(p + 18), 0); /* sizes 0 in the local header, as miniz writes */
	CHECK_EQ_INT(pt2c__rd32le(p + 22), 0);
	CHECK_EQ_INT(pt2c__rd16le(p + 28), 20 + 4 + 47);
	const uint8_t *x = p + 30 + 8;
	CHECK_EQ_INT(pt2c__rd16le(x), 0x0001);
	CHECK_EQ_INT(pt2c__rd16le(x + 2), 16);
	CHECK_EQ_INT(pt2c__rd64le(x + 4), HUGE_SIZE);
	CHECK_EQ_INT(pt2c__rd64le(x + 12), 0); /* miniz: compressed size not known yet */
	CHECK(x[20] == 'F' && x[21] == 'B');
	CHECK_EQ_INT(pt2c__rd16le(x + 22), 47);
	CHECK(at(&r, d1 - 1, 1) && *at(&r, d1 - 1, 1) == 'Z');
	CHECK(at(&r, d1, 1) == NULL); /* data not recorded: it went straight through */
	/* 24-byte descriptor with 64-bit sizes. */
	p = at(&r, d1 + HUGE_SIZE, 24);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x08074b50u);
	CHECK_EQ_INT(pt2c__rd32le(p + 4), 0); /* no_crc */
	CHECK_EQ_INT(pt2c__rd64le(p + 8), HUGE_SIZE);
	CHECK_EQ_INT(pt2c__rd64le(p + 16), HUGE_SIZE);
	/* big/after: header beyond 4 GiB: zip64 extra with the offset only, 24-byte descriptor. */
	const uint64_t h2 = d1 + HUGE_SIZE + 24;
	p = at(&r, h2, 30 + 9 + 12 + 4);
	REQUIRE(p);
	x = p + 30 + 9;
	CHECK_EQ_INT(pt2c__rd16le(x), 0x0001);
	CHECK_EQ_INT(pt2c__rd16le(x + 2), 8);
	CHECK_EQ_INT(pt2c__rd64le(x + 4), h2);
	uint64_t start = h2 + 30 + 9 + 4 + 12, pad = (64 - start % 64) % 64;
	CHECK_EQ_INT(pt2c__rd16le(p + 28), 12 + 4 + pad);
	const uint64_t d2 = start + pad;
	CHECK_EQ_INT(d2 % 64, 0);
	p = at(&r, d2 + 10, 24);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x08074b50u);
	CHECK_EQ_INT(pt2c__rd64le(p + 8), 10);
	/* big/empty: flags 0x0800, no descriptor. */
	const uint64_t h3 = d2 + 10 + 24;
	p = at(&r, h3, 30);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd16le(p + 6), 0x0800);
	uint64_t d3 = h3 + 30 + 9 + pt2c__rd16le(p + 28);
	CHECK_EQ_INT(d3 % 64, 0);

	/* Central directory right after big/empty's (empty) data. */
	const uint64_t cd = d3;
	p = at(&r, r.total - 22, 22);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x06054b50u);
	CHECK_EQ_INT(pt2c__rd16le(p + 10), 4);
	CHECK_EQ_INT(pt2c__rd32le(p + 16), 0xFFFFFFFFu); /* offset capped */
	uint32_t cd_size = pt2c__rd32le(p + 12);
	CHECK_EQ_INT(cd_size, (46 + 5) + (46 + 8 + 20) + (46 + 9 + 12) + (46 + 9 + 12));
	p = at(&r, r.total - 98, 56);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x06064b50u);
	CHECK_EQ_INT(pt2c__rd64le(p + 4), 44);
	CHECK_EQ_INT(pt2c__rd16le(p + 12), 0x031E);
	CHECK_EQ_INT(pt2c__rd16le(p + 14), 0x002D);
	CHECK_EQ_INT(pt2c__rd64le(p + 32), 4);
	CHECK_EQ_INT(pt2c__rd64le(p + 40), cd_size);
	CHECK_EQ_INT(pt2c__rd64le(p + 48), cd);
	p = at(&r, r.total - 42, 20);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x07064b50u);
	CHECK_EQ_INT(pt2c__rd64le(p + 8), r.total - 98);
	CHECK_EQ_INT(pt2c__rd32le(p + 16), 1);
	CHECK_EQ_INT(r.total, cd + cd_size + 98);
	/* Central entry of big/huge: capped sizes + zip64 extra with both sizes, offset 83 as is. */
	p = at(&r, cd + 46 + 5, 46 + 8 + 20);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p + 20), 0xFFFFFFFFu);
	CHECK_EQ_INT(pt2c__rd32le(p + 24), 0xFFFFFFFFu);
	CHECK_EQ_INT(pt2c__rd16le(p + 30), 20);
	CHECK_EQ_INT(pt2c__rd32le(p + 42), h1);
	CHECK_EQ_INT(pt2c__rd16le(p + 54), 0x0001);
	CHECK_EQ_INT(pt2c__rd64le(p + 58), HUGE_SIZE);
	CHECK_EQ_INT(pt2c__rd64le(p + 66), HUGE_SIZE);
	/* Central entry of big/after: offset capped, zip64 extra with the offset only. */
	p = at(&r, cd + 46 + 5 + 46 + 8 + 20, 46 + 9 + 12);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p + 24), 10);
	CHECK_EQ_INT(pt2c__rd32le(p + 42), 0xFFFFFFFFu);
	CHECK_EQ_INT(pt2c__rd16le(p + 30), 12);
	CHECK_EQ_INT(pt2c__rd64le(p + 46 + 9 + 4), h2);

	/* Now let the reader see the whole thing: a sparse file holding only the kept bytes, also
	 * with 7 bytes in front (every offset, including those past 4 GiB, must be relocated). */
	for (uint64_t shift = 0; shift <= 7; shift += 7) {
		const char *path = scratch_path("zip64_sparse.zip");
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		size_t flen = (size_t)(r.total + shift);
		bool ok = fd >= 0 && ftruncate(fd, (off_t)flen) == 0;
		for (size_t i = 0; ok && i < r.n; i++)
			ok = pwrite(fd, r.bytes.data + r.pieces[i].at, r.pieces[i].len,
			            (off_t)(r.pieces[i].off + shift)) == (ssize_t)r.pieces[i].len;
		void *map = ok ? mmap(NULL, flen, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
		if (map == MAP_FAILED) {
			printf("note: no sparse file at %s; reader half skipped\n", path);
		} else {
			pt2c_zip z;
			pt2c_error err = PT2C_ERROR_INIT;
			int rc = pt2c__zip_parse(&z, map, flen, NULL, NULL, &err);
			CHECK_MSG(rc == 0, "%s", err.message);
			if (rc == 0) {
				CHECK_EQ_INT(z.n, 4);
				CHECK_EQ_INT(z.entries[1].size, HUGE_SIZE);
				CHECK_EQ_INT(z.entries[1].data_off, d1 + shift);
				CHECK_EQ_INT(z.entries[2].header_off, h2 + shift);
				CHECK_EQ_INT(z.entries[2].data_off, d2 + shift);
				CHECK_EQ_INT(z.entries[3].data_off, d3 + shift);
				CHECK(memcmp(pt2c__zip_data(&z, &z.entries[2]), "0123456789", 10) == 0);
				CHECK_EQ_INT(pt2c__zip_verify_crc(&z, &z.entries[2], &err), 0);
				pt2c__zip_free(&z);
			}
			munmap(map, flen);
		}
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	pt2c__buf_free(&r.bytes);
}

/* A member whose size is not declared up front and turns out >= 4 GiB still gets ZIP64 fields
 * in the directory and a 64-bit descriptor (no truncating casts). */
static void test_unknown_size_growing_past_4gib(void)
{
	rec r;
	memset(&r, 0, sizeof r);
	pt2c__buf_init(&r.bytes, NULL);
	pt2c_sink sink = { rec_write, &r };
	pt2c_zipw w;
	pt2c__zipw_init(&w, sink, NULL);
	w.no_crc = true;
	REQUIRE(pt2c__zipw_begin(&w, "u/big", PT2C_ZIP_SIZE_UNKNOWN) == 0);
	const uint64_t size = 4 * GiB + CHUNK;
	for (uint64_t done = 0; done < size; done += CHUNK)
		REQUIRE(pt2c__zipw_data(&w, bulk, CHUNK) == 0);
	REQUIRE(pt2c__zipw_end(&w) == 0);
	REQUIRE(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);
	/* No zip64 extra in the local header (size unknown then): 30 + 5 + 4 -> pad 25 -> data 64. */
	const uint8_t *p = at(&r, 0, 30);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd16le(p + 28), 29);
	p = at(&r, 64 + size, 24);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x08074b50u);
	CHECK_EQ_INT(pt2c__rd64le(p + 8), size);
	CHECK_EQ_INT(pt2c__rd64le(p + 16), size);
	p = at(&r, 64 + size + 24, 46 + 5 + 20);
	REQUIRE(p);
	CHECK_EQ_INT(pt2c__rd32le(p), 0x02014b50u);
	CHECK_EQ_INT(pt2c__rd32le(p + 24), 0xFFFFFFFFu);
	CHECK_EQ_INT(pt2c__rd16le(p + 30), 20);
	CHECK_EQ_INT(pt2c__rd64le(p + 46 + 5 + 4), size);
	pt2c__buf_free(&r.bytes);
}

PT2C_TEST_MAIN({
	RUN(test_five_gib_member_gets_zip64_structures);
	RUN(test_unknown_size_growing_past_4gib);
})
