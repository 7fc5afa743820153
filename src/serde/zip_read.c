/*
 * zip_read.c -- parsing the zip subset PyTorch archives use, as a pure function over bytes.
 *
 * Every structure is located from the end: the end-of-central-directory record (searched only in
 * the last 64 KiB + 22 bytes), then the ZIP64 locator and record when present, then the central
 * directory, and from each central entry its local header. Nothing is trusted before it is
 * bounds-checked; member data is never copied (entries are views into the input).
 *
 * Bytes prepended before the archive (self-extracting stubs, a 7-byte test prefix) are tolerated
 * the way Info-ZIP's unzip does it: the shift between where the central directory actually ends
 * and where its declared offset + size say it ends is added to every stored offset.
 */
#include <stdlib.h>

#include "serde/zip.h"

/* MARK: on-disk records (APPNOTE.TXT 6.3.10) */

/*
 * 4.3.16 End of central directory record (22 bytes + comment):
 *   signature 0x06054b50 | disk u16 | cd disk u16 | entries on disk u16 | entries u16 |
 *   cd size u32 | cd offset u32 | comment length u16 | comment
 */
#define EOCD_SIG 0x06054b50u
#define EOCD_SIZE 22u
/*
 * 4.3.15 Zip64 end of central directory locator (20 bytes):
 *   signature 0x07064b50 | disk with zip64 EOCD u32 | zip64 EOCD offset u64 | total disks u32
 */
#define Z64LOC_SIG 0x07064b50u
#define Z64LOC_SIZE 20u
/*
 * 4.3.14 Zip64 end of central directory record (56 bytes for version 1):
 *   signature 0x06064b50 | record size u64 (excluding the first 12 bytes) | made by u16 |
 *   needed u16 | disk u32 | cd disk u32 | entries on disk u64 | entries u64 | cd size u64 |
 *   cd offset u64 | extensible data
 */
#define Z64EOCD_SIG 0x06064b50u
#define Z64EOCD_SIZE 56u
/*
 * 4.3.12 Central directory file header (46 bytes + name + extra + comment):
 *   signature 0x02014b50 | made by u16 | needed u16 | flags u16 | method u16 | time u16 |
 *   date u16 | crc u32 | csize u32 | usize u32 | name len u16 | extra len u16 |
 *   comment len u16 | disk u16 | internal attrs u16 | external attrs u32 | local header offset u32
 */
#define CDH_SIG 0x02014b50u
#define CDH_SIZE 46u
/*
 * 4.3.7 Local file header (30 bytes + name + extra):
 *   signature 0x04034b50 | needed u16 | flags u16 | method u16 | time u16 | date u16 | crc u32 |
 *   csize u32 | usize u32 | name len u16 | extra len u16
 */
#define LFH_SIG 0x04034b50u
#define LFH_SIZE 30u
/* 4.5.3 Zip64 extended information extra field, header id 0x0001. */
#define Z64_EXTRA_ID 0x0001u

/* 4.4.4 general purpose bits: 0 = encrypted, 3 = sizes in data descriptor, 6 = strong encryption,
 * 13 = central directory encrypted. */
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENC 0x0040u
#define FLAG_CD_ENC 0x2000u

#define EOCD_SEARCH_MAX (65535u + EOCD_SIZE)

/* MARK: error helpers */

/* Copy a (non-terminated, untrusted) member name into `out` for messages: truncated to fit,
 * control bytes replaced by '?', so the one-line message stays one line. */
static const char *name_cstr(char out[PT2C_ERROR_WHERE_MAX], const char *p, size_t n)
{
	if (n > PT2C_ERROR_WHERE_MAX - 1)
		n = PT2C_ERROR_WHERE_MAX - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
	return out;
}

/* MARK: end records */

typedef struct cd_loc {
	uint64_t count;    /* declared number of entries */
	uint64_t cd_start; /* actual (relocated) position of the first central entry */
	uint64_t cd_size;
	uint64_t shift;    /* bytes prepended before the archive */
} cd_loc;

/*
 * Find the classic EOCD the way Python's zipfile does (PyTorch's miniz takes the same last
 * signature): a record with an empty comment ending the file, else the LAST signature within the
 * last 64 KiB + 22 bytes. That candidate is the end record or there is none: skipping one whose
 * comment runs past the end of the file (or that is cut short) to look further back would find a
 * zip stored inside a member, an archive other readers do not see. Returns its position,
 * UINT64_MAX when there is no signature, or reports ECORRUPT (UINT64_MAX - 1).
 */
static uint64_t find_eocd(const uint8_t *d, size_t len, pt2c_error *err)
{
	if (len < 4)
		return UINT64_MAX;
	if (len >= EOCD_SIZE && pt2c__rd32le(d + len - EOCD_SIZE) == EOCD_SIG && pt2c__rd16le(d + len - 2) == 0)
		return len - EOCD_SIZE;
	size_t last = len - 4;
	size_t first = len > EOCD_SEARCH_MAX ? len - EOCD_SEARCH_MAX : 0;
	for (size_t i = last + 1; i-- > first;) {
		if (d[i] != 0x50 || pt2c__rd32le(d + i) != EOCD_SIG)
			continue;
		if (len - i < EOCD_SIZE) {
			pt2c__err_at(err, PT2C_ECORRUPT, "end of central directory", i,
			             "truncated: end of central directory record at %zu has %zu of its %u bytes",
			             i, len - i, (unsigned)EOCD_SIZE);
			return UINT64_MAX - 1;
		}
		uint16_t clen = pt2c__rd16le(d + i + 20);
		if ((uint64_t)i + EOCD_SIZE + clen > len) {
			pt2c__err_at(err, PT2C_ECORRUPT, "end of central directory", i,
			             "truncated: the end of central directory comment (%u bytes at %zu) runs %llu bytes past "
			             "the end of the file (other zip readers would not look for an earlier record)",
			             (unsigned)clen, i + EOCD_SIZE,
			             (unsigned long long)((uint64_t)i + EOCD_SIZE + clen - len));
			return UINT64_MAX - 1;
		}
		return i;
	}
	return UINT64_MAX;
}

/*
 * Does a member's data start at byte `pos`: is there a local header whose name and extra field
 * end exactly there? (A zip whose end record was found there is then a zip stored in that
 * member.) *at receives the header's offset. Looks back at most 30 + 2 * 65535 bytes.
 */
static bool member_data_at(const uint8_t *d, size_t len, uint64_t pos, uint64_t *at)
{
	if (pos < 30 || pos > len)
		return false;
	uint64_t lo = pos > 30 + 2 * 65535u ? pos - 30 - 2 * 65535u : 0;
	for (uint64_t off = pos - 30 + 1; off-- > lo;) {
		const uint8_t *h = d + off;
		if (h[0] == 0x50 && pt2c__rd32le(h) == LFH_SIG &&
		    off + 30 + pt2c__rd16le(h + 26) + pt2c__rd16le(h + 28) == pos) {
			*at = off;
			return true;
		}
	}
	return false;
}

/* Locate the central directory from the end records (classic EOCD, and ZIP64 locator + record
 * when present), computing the prepended-bytes shift. Fills *loc or reports ECORRUPT/EUNSUPPORTED. */
static int locate_cd(const uint8_t *d, size_t len, cd_loc *loc, pt2c_error *err)
{
	const char *where = "end of central directory";
	uint64_t eocd = find_eocd(d, len, err);
	if (eocd == UINT64_MAX - 1)
		return PT2C_ECORRUPT;
	if (eocd == UINT64_MAX && len >= 4 && pt2c__rd32le(d) == LFH_SIG)
		return pt2c__err_at(err, PT2C_ECORRUPT, where, len,
		                    "truncated: the file starts with a zip member but ends at byte %zu with no end of "
		                    "central directory record in its last %u bytes", len, (unsigned)EOCD_SEARCH_MAX);
	if (eocd == UINT64_MAX)
		return pt2c__err_at(err, PT2C_ECORRUPT, where, len,
		                    "no end of central directory record in the last %u bytes (not a zip archive?)",
		                    (unsigned)EOCD_SEARCH_MAX);
	const uint8_t *e = d + eocd;
	uint16_t disk = pt2c__rd16le(e + 4), cd_disk = pt2c__rd16le(e + 6);
	uint16_t n_disk16 = pt2c__rd16le(e + 8), n16 = pt2c__rd16le(e + 10);
	uint32_t size32 = pt2c__rd32le(e + 12), off32 = pt2c__rd32le(e + 16);

	uint64_t count = n16, cd_size = size32, cd_off = off32, n_disk = n_disk16;
	uint64_t cd_end_actual = eocd; /* where the central directory must end */
	uint64_t z64_pos = UINT64_MAX, z64_declared = 0;

	if (eocd >= Z64LOC_SIZE && pt2c__rd32le(d + eocd - Z64LOC_SIZE) == Z64LOC_SIG) {
		uint64_t lpos = eocd - Z64LOC_SIZE;
		const uint8_t *l = d + lpos;
		uint32_t z64_disk = pt2c__rd32le(l + 4);
		z64_declared = pt2c__rd64le(l + 8);
		uint32_t total_disks = pt2c__rd32le(l + 16);
		if (z64_disk != 0 || total_disks > 1)
			return pt2c__err_at(err, PT2C_EUNSUPPORTED, where, lpos,
			                    "multi-disk archives are not supported (zip64 locator: disk %u of %u)",
			                    (unsigned)z64_disk, (unsigned)total_disks);
		/* The zip64 record normally sits right before the locator; with bytes prepended its
		 * declared offset is off by the shift, so look at the adjacent position first. */
		if (lpos >= Z64EOCD_SIZE && pt2c__rd32le(d + lpos - Z64EOCD_SIZE) == Z64EOCD_SIG &&
		    pt2c__rd64le(d + lpos - Z64EOCD_SIZE + 4) == Z64EOCD_SIZE - 12)
			z64_pos = lpos - Z64EOCD_SIZE;
		else if (z64_declared <= lpos && lpos - z64_declared >= Z64EOCD_SIZE &&
		         pt2c__rd32le(d + z64_declared) == Z64EOCD_SIG)
			z64_pos = z64_declared; /* a record with extensible data, unshifted */
		else
			return pt2c__err_at(err, PT2C_ECORRUPT, where, z64_declared,
			                    "zip64 locator points to offset %llu, where there is no zip64 end of central directory record",
			                    (unsigned long long)z64_declared);
		const uint8_t *r = d + z64_pos;
		uint64_t rec_size = pt2c__rd64le(r + 4);
		uint64_t rec_end;
		if (rec_size < Z64EOCD_SIZE - 12 || pt2c__add_ovf(z64_pos + 12, rec_size, &rec_end) || rec_end > lpos)
			return pt2c__err_at(err, PT2C_ECORRUPT, where, z64_pos,
			                    "zip64 end of central directory record has bad size %llu",
			                    (unsigned long long)rec_size);
		uint32_t r_disk = pt2c__rd32le(r + 16), r_cd_disk = pt2c__rd32le(r + 20);
		uint64_t r_n_disk = pt2c__rd64le(r + 24), r_count = pt2c__rd64le(r + 32);
		uint64_t r_size = pt2c__rd64le(r + 40), r_off = pt2c__rd64le(r + 48);
		if (r_disk != 0 || r_cd_disk != 0)
			return pt2c__err_at(err, PT2C_EUNSUPPORTED, where, z64_pos,
			                    "multi-disk archives are not supported (disk %u, central directory disk %u)",
			                    (unsigned)r_disk, (unsigned)r_cd_disk);
		/* A classic field that is not the "see zip64" marker must agree with the zip64 one. */
		if ((n16 != 0xFFFFu && n16 != r_count) || (n_disk16 != 0xFFFFu && n_disk16 != r_n_disk) ||
		    (size32 != 0xFFFFFFFFu && size32 != r_size) || (off32 != 0xFFFFFFFFu && off32 != r_off))
			return pt2c__err_at(err, PT2C_ECORRUPT, where, eocd,
			                    "end of central directory disagrees with the zip64 record "
			                    "(entries %u vs %llu, size %u vs %llu, offset %u vs %llu)",
			                    (unsigned)n16, (unsigned long long)r_count, (unsigned)size32,
			                    (unsigned long long)r_size, (unsigned)off32, (unsigned long long)r_off);
		count = r_count;
		n_disk = r_n_disk;
		cd_size = r_size;
		cd_off = r_off;
		cd_end_actual = z64_pos;
	} else if (disk != 0 || cd_disk != 0) {
		return pt2c__err_at(err, PT2C_EUNSUPPORTED, where, eocd,
		                    "multi-disk archives are not supported (disk %u, central directory disk %u)",
		                    (unsigned)disk, (unsigned)cd_disk);
	}
	if (n_disk != count)
		return pt2c__err_at(err, PT2C_ECORRUPT, where, eocd,
		                    "entry counts disagree (%llu on this disk, %llu in total)",
		                    (unsigned long long)n_disk, (unsigned long long)count);

	uint64_t cd_end_declared;
	if (pt2c__add_ovf(cd_off, cd_size, &cd_end_declared) || cd_end_declared > cd_end_actual)
		return pt2c__err_at(err, PT2C_ECORRUPT, "central directory", cd_off,
		                    "central directory (offset %llu, size %llu) runs past its end record at %llu",
		                    (unsigned long long)cd_off, (unsigned long long)cd_size,
		                    (unsigned long long)cd_end_actual);
	uint64_t shift = cd_end_actual - cd_end_declared;
	uint64_t host;
	if (shift > 0 && member_data_at(d, len, shift, &host))
		/* a stub before an archive (self-extractors) is fine; a zip member around where the
		 * archive would start means this end record is that of a zip stored in the member (an
		 * engine blob), the real one having been cut off */
		return pt2c__err_at(err, PT2C_ECORRUPT, where, len,
		                    "truncated: the end record at byte %llu is that of a zip stored in the member at byte "
		                    "%llu (it would start at byte %llu); the file ends at byte %zu",
		                    (unsigned long long)eocd, (unsigned long long)host, (unsigned long long)shift, len);
	if (z64_pos != UINT64_MAX && z64_declared + shift != z64_pos)
		return pt2c__err_at(err, PT2C_ECORRUPT, where, z64_pos,
		                    "zip64 locator says the zip64 record is at %llu, but it is at %llu",
		                    (unsigned long long)(z64_declared + shift), (unsigned long long)z64_pos);
	loc->count = count;
	loc->cd_start = cd_off + shift;
	loc->cd_size = cd_size;
	loc->shift = shift;
	return 0;
}

/* MARK: names */

bool pt2c__zip_name_ok(const char *p, size_t n, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (n == 0) { *why = "empty member name"; return false; }
	if (p[0] == '/') { *why = "absolute member name"; return false; }
	if (memchr(p, '\0', n)) { *why = "NUL byte in member name"; return false; }
	if (memchr(p, '\\', n)) { *why = "backslash in member name"; return false; }
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.') { *why = "\"..\" in member name"; return false; }
		i = j + 1;
	}
	return true;
}

/* MARK: central directory */

/* Parse the extra fields of a central entry, replacing the 32-bit values that hold the 0xFFFFFFFF
 * (0xFFFF for the disk) marker by their ZIP64 values, in the order APPNOTE 4.5.3 fixes. */
static int parse_cd_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                          uint64_t *lho, uint32_t *disk, const char *nm, uint64_t xpos,
                          pt2c_error *err)
{
	bool seen = false;
	size_t i = 0;
	while (xlen - i >= 4) {
		uint16_t id = pt2c__rd16le(x + i), sz = pt2c__rd16le(x + i + 2);
		if (sz > xlen - i - 4)
			return pt2c__err_at(err, PT2C_ECORRUPT, nm, xpos + i,
			                    "extra field 0x%04x of member %s (%u bytes) runs past the extra data",
			                    (unsigned)id, nm, (unsigned)sz);
		if (id == Z64_EXTRA_ID) {
			if (seen)
				return pt2c__err_at(err, PT2C_ECORRUPT, nm, xpos + i,
				                    "member %s has two zip64 extra fields", nm);
			seen = true;
			pt2c_cursor c = pt2c__cur(x + i + 4, sz);
			if (*usize == 0xFFFFFFFFu) *usize = pt2c__cur_u64le(&c);
			if (*csize == 0xFFFFFFFFu) *csize = pt2c__cur_u64le(&c);
			if (*lho == 0xFFFFFFFFu) *lho = pt2c__cur_u64le(&c);
			if (*disk == 0xFFFFu) *disk = pt2c__cur_u32le(&c);
			if (c.fail)
				return pt2c__err_at(err, PT2C_ECORRUPT, nm, xpos + i,
				                    "zip64 extra field of member %s is too short (%u bytes)", nm,
				                    (unsigned)sz);
		}
		i += 4u + sz;
	}
	/* 1-3 trailing bytes are tolerated: some aligners pad the extra data with zeros. */
	return 0;
}

typedef struct extent {
	uint64_t start, end; /* [local header, end of data) */
	uint32_t idx;
} extent;

/* qsort order by start offset. */
static int extent_cmp(const void *a, const void *b)
{
	const extent *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* Check one central entry's local header against it and compute the data offset. `limit` is
 * where member data must end (the start of the central directory). */
static int check_local(const uint8_t *d, uint64_t limit, pt2c_zip_entry *ze, uint16_t cflags,
                       const char *nm, pt2c_error *err)
{
	uint64_t h = ze->header_off, hend;
	if (pt2c__add_ovf(h, LFH_SIZE, &hend) || hend > limit)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h,
		                    "local header of member %s at %llu lies outside the member area (which ends at %llu)",
		                    nm, (unsigned long long)h, (unsigned long long)limit);
	const uint8_t *l = d + h;
	if (pt2c__rd32le(l) != LFH_SIG)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h, "no local header signature for member %s", nm);
	uint16_t lflags = pt2c__rd16le(l + 6), lmethod = pt2c__rd16le(l + 8);
	uint32_t lcrc = pt2c__rd32le(l + 14), lcs = pt2c__rd32le(l + 18), lus = pt2c__rd32le(l + 22);
	uint16_t lnlen = pt2c__rd16le(l + 26), lxlen = pt2c__rd16le(l + 28);
	if (lmethod != ze->method)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h + 8,
		                    "local header of member %s says method %u, central directory says %u", nm,
		                    (unsigned)lmethod, (unsigned)ze->method);
	if ((lflags ^ cflags) & (FLAG_ENCRYPTED | FLAG_DESCRIPTOR))
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h + 6,
		                    "local header flags 0x%04x of member %s disagree with the central directory (0x%04x)",
		                    (unsigned)lflags, nm, (unsigned)cflags);
	uint64_t data_off, data_end;
	if (pt2c__add_ovf(hend, (uint64_t)lnlen + lxlen, &data_off) || data_off > limit)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h,
		                    "local header of member %s runs past the member area", nm);
	if (lnlen != ze->name_len || memcmp(l + LFH_SIZE, ze->name, lnlen) != 0)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, h + LFH_SIZE,
		                    "local header name differs from the central directory name %s", nm);
	if (!(lflags & FLAG_DESCRIPTOR)) {
		/* Sizes live in the local header; 0xFFFFFFFF defers to its zip64 extra, not checked. */
		if (lcrc != ze->crc || (lus != 0xFFFFFFFFu && lus != ze->size) ||
		    (lcs != 0xFFFFFFFFu && lcs != ze->size))
			return pt2c__err_at(err, PT2C_ECORRUPT, nm, h + 14,
			                    "local header of member %s disagrees with the central directory on CRC or size", nm);
	}
	if (pt2c__add_ovf(data_off, ze->size, &data_end) || data_end > limit)
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, data_off,
		                    "data of member %s (%llu bytes at %llu) runs past the member area (which ends at %llu)",
		                    nm, (unsigned long long)ze->size, (unsigned long long)data_off,
		                    (unsigned long long)limit);
	ze->data_off = data_off;
	return 0;
}

/* Walk the central directory: validate every entry, fill z->entries and z->by_name. */
static int walk_cd(pt2c_zip *z, const cd_loc *loc, uint32_t cap, pt2c_error *err)
{
	const uint8_t *d = z->data;
	const char *cdw = "central directory";
	/* Each entry takes at least 46 bytes, so a count the directory cannot hold is a lie; checking
	 * it first also bounds the allocation below by the input size. */
	if (loc->count > loc->cd_size / CDH_SIZE)
		return pt2c__err_at(err, PT2C_ECORRUPT, cdw, loc->cd_start,
		                    "central directory of %llu bytes cannot hold %llu entries",
		                    (unsigned long long)loc->cd_size, (unsigned long long)loc->count);
	if (loc->count > cap)
		return pt2c__err_at(err, PT2C_EUNSUPPORTED, cdw, loc->cd_start,
		                    "archive has %llu entries, more than the limit of %u",
		                    (unsigned long long)loc->count, (unsigned)cap);
	uint32_t n = (uint32_t)loc->count;
	if (n) {
		z->entries = pt2c__calloc(z->alloc, n, sizeof *z->entries);
		if (!z->entries)
			return pt2c__err_oom(err);
	}
	char nm[PT2C_ERROR_WHERE_MAX];
	uint64_t pos = loc->cd_start, end = loc->cd_start + loc->cd_size;
	for (uint32_t i = 0; i < n; i++) {
		if (end - pos < CDH_SIZE)
			return pt2c__err_at(err, PT2C_ECORRUPT, cdw, pos,
			                    "central directory ends inside entry %u of %u", (unsigned)i, (unsigned)n);
		const uint8_t *c = d + pos;
		if (pt2c__rd32le(c) != CDH_SIG)
			return pt2c__err_at(err, PT2C_ECORRUPT, cdw, pos,
			                    "bad signature 0x%08x for central directory entry %u",
			                    (unsigned)pt2c__rd32le(c), (unsigned)i);
		uint16_t flags = pt2c__rd16le(c + 8), method = pt2c__rd16le(c + 10);
		uint32_t crc = pt2c__rd32le(c + 16);
		uint64_t csize = pt2c__rd32le(c + 20), usize = pt2c__rd32le(c + 24);
		uint16_t nlen = pt2c__rd16le(c + 28), xlen = pt2c__rd16le(c + 30), clen = pt2c__rd16le(c + 32);
		uint32_t disk = pt2c__rd16le(c + 34);
		uint64_t lho = pt2c__rd32le(c + 42);
		if ((uint64_t)nlen + xlen + clen > end - pos - CDH_SIZE)
			return pt2c__err_at(err, PT2C_ECORRUPT, cdw, pos,
			                    "name/extra/comment of central directory entry %u run past the central directory",
			                    (unsigned)i);
		const char *name = (const char *)c + CDH_SIZE;
		name_cstr(nm, name, nlen);
		const char *why;
		if (!pt2c__zip_name_ok(name, nlen, &why))
			return pt2c__err_at(err, PT2C_ECORRUPT, nlen ? nm : cdw, pos + CDH_SIZE, "%s: \"%s\"", why, nm);
		if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENC | FLAG_CD_ENC))
			return pt2c__err_at(err, PT2C_EUNSUPPORTED, nm, pos + 8, "member %s is encrypted", nm);
		if (method != 0)
			return pt2c__err_at(err, PT2C_EUNSUPPORTED, nm, pos + 10,
			                    "member %s uses compression method %u", nm, (unsigned)method);
		int rc = parse_cd_extra(c + CDH_SIZE + nlen, xlen, &usize, &csize, &lho, &disk, nm,
		                        pos + CDH_SIZE + nlen, err);
		if (rc)
			return rc;
		if (disk != 0)
			return pt2c__err_at(err, PT2C_EUNSUPPORTED, nm, pos + 34,
			                    "member %s starts on disk %u (multi-disk archives are not supported)",
			                    nm, (unsigned)disk);
		if (csize != usize)
			return pt2c__err_at(err, PT2C_ECORRUPT, nm, pos + 20,
			                    "stored member %s has compressed size %llu but size %llu", nm,
			                    (unsigned long long)csize, (unsigned long long)usize);
		pt2c_zip_entry *ze = &z->entries[i];
		ze->name = name;
		ze->name_len = nlen;
		ze->method = method;
		ze->flags = flags;
		ze->crc = crc;
		ze->size = usize;
		if (pt2c__add_ovf(lho, loc->shift, &ze->header_off))
			return pt2c__err_at(err, PT2C_ECORRUPT, nm, pos + 42, "local header offset of member %s overflows", nm);
		rc = check_local(d, loc->cd_start, ze, flags, nm, err);
		if (rc)
			return rc;
		bool existed = false;
		rc = pt2c__map_put(&z->by_name, name, nlen, i, false, &existed);
		if (rc)
			return pt2c__err_oom(err);
		if (existed)
			return pt2c__err_at(err, PT2C_ECORRUPT, nm, pos, "duplicate member %s", nm);
		z->n = i + 1;
		pos += CDH_SIZE + (uint64_t)nlen + xlen + clen;
	}
	if (pos != end)
		return pt2c__err_at(err, PT2C_ECORRUPT, cdw, pos,
		                    "%llu unexpected bytes after the last of %u central directory entries",
		                    (unsigned long long)(end - pos), (unsigned)n);
	return 0;
}

/* Reject members whose [local header, data end) ranges overlap (zip bombs, aliasing tricks). */
static int check_overlaps(pt2c_zip *z, pt2c_error *err)
{
	if (z->n < 2)
		return 0;
	extent *ex = pt2c__calloc(z->alloc, z->n, sizeof *ex);
	if (!ex)
		return pt2c__err_oom(err);
	bool sorted = true;
	for (uint32_t i = 0; i < z->n; i++) {
		ex[i].start = z->entries[i].header_off;
		ex[i].end = z->entries[i].data_off + z->entries[i].size;
		ex[i].idx = i;
		if (i && ex[i].start < ex[i - 1].start)
			sorted = false;
	}
	if (!sorted) /* torch writes the directory in file order: skip the sort then */
		qsort(ex, z->n, sizeof *ex, extent_cmp);
	int rc = 0;
	for (uint32_t i = 1; i < z->n; i++) {
		if (ex[i].start < ex[i - 1].end) {
			char a[PT2C_ERROR_WHERE_MAX], b[PT2C_ERROR_WHERE_MAX];
			const pt2c_zip_entry *ea = &z->entries[ex[i].idx], *eb = &z->entries[ex[i - 1].idx];
			name_cstr(a, ea->name, ea->name_len);
			name_cstr(b, eb->name, eb->name_len);
			rc = pt2c__err_at(err, PT2C_ECORRUPT, a, ex[i].start,
			                  "member %s at %llu overlaps member %s (%llu..%llu)", a,
			                  (unsigned long long)ex[i].start, b, (unsigned long long)ex[i - 1].start,
			                  (unsigned long long)ex[i - 1].end);
			break;
		}
	}
	pt2c__free(z->alloc, ex);
	return rc;
}

/* MARK: public */

int pt2c__zip_parse(pt2c_zip *z, const uint8_t *data, size_t len, const pt2c_zip_opts *opts,
                    const pt2c_allocator *alloc, pt2c_error *err)
{
	PT2C_ASSERT_ARG(z);
	memset(z, 0, sizeof *z);
	z->alloc = alloc;
	pt2c__map_init(&z->by_name, alloc);
	PT2C_ASSERT_ARG(data || len == 0);
	z->data = data;
	z->len = len;
	unsigned flags = opts ? opts->flags : 0;
	uint32_t cap = opts && opts->max_entries ? opts->max_entries : PT2C_ZIP_MAX_ENTRIES_DEFAULT;

	cd_loc loc = { 0, 0, 0, 0 };
	int rc = locate_cd(data, len, &loc, err);
	if (!rc)
		rc = walk_cd(z, &loc, cap, err);
	if (!rc)
		rc = check_overlaps(z, err);
	if (!rc && (flags & PT2C_ZIP_VERIFY_CRC)) {
		for (uint32_t i = 0; i < z->n && !rc; i++)
			rc = pt2c__zip_verify_crc(z, &z->entries[i], err);
	}
	if (rc) {
		if (opts && opts->label)
			pt2c__err_set_file(err, opts->label);
		pt2c__zip_free(z);
		z->data = data;
		z->len = len;
	}
	return rc;
}

void pt2c__zip_free(pt2c_zip *z)
{
	if (!z)
		return;
	pt2c__free(z->alloc, z->entries);
	pt2c__map_free(&z->by_name);
	z->entries = NULL;
	z->n = 0;
}

const pt2c_zip_entry *pt2c__zip_find(const pt2c_zip *z, const char *name, size_t len)
{
	uint64_t v;
	if (!z || !pt2c__map_get(&z->by_name, name, len, &v) || v >= z->n)
		return NULL;
	return &z->entries[v];
}

int pt2c__zip_verify_crc(const pt2c_zip *z, const pt2c_zip_entry *e, pt2c_error *err)
{
	PT2C_ASSERT_ARG(z && e && e->data_off + e->size <= z->len);
	uint32_t crc = pt2c__crc32_wide(z->alloc, z->data + e->data_off, (size_t)e->size);
	if (crc != e->crc) {
		char nm[PT2C_ERROR_WHERE_MAX];
		name_cstr(nm, e->name, e->name_len);
		return pt2c__err_at(err, PT2C_ECORRUPT, nm, e->data_off,
		                    "CRC-32 mismatch in member %s (stored %08x, computed %08x)", nm,
		                    (unsigned)e->crc, (unsigned)crc);
	}
	return 0;
}
