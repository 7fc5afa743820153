/*
 * test_corrupt.c -- handcrafted corrupt archives, one per failure class, each expecting a specific
 * PT2C_E* code (and, where it matters, the member named in the error). Two generators:
 *   - base_archive(): a torch-style archive from our writer (ZIP64 end records, descriptors, FB
 *     padding), then mutated in place;
 *   - build_raw(): a Python-zipfile-style archive (sizes in the local header, classic EOCD only)
 *     whose central entries can carry arbitrary extra fields, for the ZIP64 extra parser.
 * Also: truncation at every byte / record boundary, every single-byte flip (no crash), and a
 * "fail the N-th allocation" loop.
 */
#include <stdlib.h>

#include "harness.h"
#include "serde/zip.h"

/* MARK: generators */

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static const char *const base_names[] = { "arc/a", "arc/bb", "arc/c", "arc/d" };
#define BASE_N 4

/* A 4-member archive written by our (torch-identical) writer: sizes 5, 100, 0, 3. */
static uint8_t *base_archive(size_t *len)
{
	uint8_t big[100];
	for (int i = 0; i < 100; i++)
		big[i] = (uint8_t)(i * 7 + 1);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
	int rc = pt2c__zipw_add(&w, base_names[0], "hello", 5);
	rc = rc ? rc : pt2c__zipw_add(&w, base_names[1], big, 100);
	rc = rc ? rc : pt2c__zipw_add(&w, base_names[2], "", 0);
	rc = rc ? rc : pt2c__zipw_add(&w, base_names[3], "xyz", 3);
	rc = rc ? rc : pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	if (rc) {
		pt2c__buf_free(&b);
		return NULL;
	}
	return (uint8_t *)pt2c__buf_detach(&b, len);
}

/* Positions of the records in the base archive (known layout: the writer is checked byte for
 * byte against PyTorch in test_fixtures.c). */
typedef struct layout {
	size_t eocd, loc, z64, cd;
	size_t cde[BASE_N]; /* central entries */
	size_t lfh[BASE_N]; /* local headers */
	size_t data[BASE_N];
} layout;

static layout base_layout(const uint8_t *d, size_t len)
{
	layout L;
	L.eocd = len - 22;
	L.loc = L.eocd - 20;
	L.z64 = L.loc - 56;
	L.cd = pt2c__rd32le(d + L.eocd + 16);
	size_t p = L.cd;
	for (int i = 0; i < BASE_N; i++) {
		L.cde[i] = p;
		L.lfh[i] = pt2c__rd32le(d + p + 42);
		L.data[i] = L.lfh[i] + 30 + pt2c__rd16le(d + L.lfh[i] + 26) + pt2c__rd16le(d + L.lfh[i] + 28);
		p += 46 + pt2c__rd16le(d + p + 28);
	}
	return L;
}

typedef struct raw_member {
	const char *name;
	const char *data;
	uint32_t len;
	const uint8_t *cd_extra;  /* bytes appended after the central name */
	uint16_t cd_extra_len;
	unsigned markers;         /* central fields set to 0xFFFFFFFF: 1 usize, 2 csize, 4 offset */
	int32_t local_size_delta; /* lie in the local header's sizes */
} raw_member;

/* Python-zipfile-like archive (flags 0, sizes in the local header, classic EOCD only). */
static size_t build_raw(uint8_t *out, const raw_member *m, int n)
{
	size_t p = 0;
	uint64_t offs[8];
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);
		offs[i] = p;
		uint8_t *h = out + p;
		memset(h, 0, 30);
		wr32(h, 0x04034b50u);
		wr16(h + 4, 20);
		wr32(h + 14, pt2c__crc32(0, m[i].data, m[i].len));
		wr32(h + 18, (uint32_t)(m[i].len + m[i].local_size_delta));
		wr32(h + 22, (uint32_t)(m[i].len + m[i].local_size_delta));
		wr16(h + 26, (uint16_t)nl);
		memcpy(h + 30, m[i].name, nl);
		memcpy(h + 30 + nl, m[i].data, m[i].len);
		p += 30 + nl + m[i].len;
	}
	size_t cd = p;
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);
		uint8_t *c = out + p;
		memset(c, 0, 46);
		wr32(c, 0x02014b50u);
		wr16(c + 4, 20);
		wr16(c + 6, 20);
		wr32(c + 16, pt2c__crc32(0, m[i].data, m[i].len));
		wr32(c + 20, (m[i].markers & 2) ? 0xFFFFFFFFu : m[i].len);
		wr32(c + 24, (m[i].markers & 1) ? 0xFFFFFFFFu : m[i].len);
		wr16(c + 28, (uint16_t)nl);
		wr16(c + 30, m[i].cd_extra_len);
		wr32(c + 42, (m[i].markers & 4) ? 0xFFFFFFFFu : (uint32_t)offs[i]);
		memcpy(c + 46, m[i].name, nl);
		if (m[i].cd_extra_len)
			memcpy(c + 46 + nl, m[i].cd_extra, m[i].cd_extra_len);
		p += 46 + nl + m[i].cd_extra_len;
	}
	uint8_t *e = out + p;
	memset(e, 0, 22);
	wr32(e, 0x06054b50u);
	wr16(e + 8, (uint16_t)n);
	wr16(e + 10, (uint16_t)n);
	wr32(e + 12, (uint32_t)(p - cd));
	wr32(e + 16, (uint32_t)cd);
	return p + 22;
}

/* MARK: helpers */

static int parse(const uint8_t *d, size_t len, unsigned flags, pt2c_error *err)
{
	pt2c_zip z;
	pt2c_zip_opts o = { flags, 0, "test.pt2" };
	int rc = pt2c__zip_parse(&z, d, len, &o, NULL, err);
	if (rc == 0)
		pt2c__zip_free(&z);
	return rc;
}

/* Parse and check the code, and for failures the member, a message fragment, the offset and
 * the file label. */
static void expect_at(const char *file, int line, const uint8_t *d, size_t len, unsigned flags, int code,
                      const char *member, const char *substr)
{
	pt2c_error e = PT2C_ERROR_INIT;
	int rc = parse(d, len, flags, &e);
	if (rc != code) {
		pt2c_test_fail(file, line, "expected %d, got %d (%s)", code, rc, e.message);
		return;
	}
	if (code == 0)
		return;
	if (member && strcmp(e.member, member) != 0)
		pt2c_test_fail(file, line, "member \"%s\", expected \"%s\" (%s)", e.member, member, e.message);
	if (substr && !strstr(e.message, substr))
		pt2c_test_fail(file, line, "message \"%s\" lacks \"%s\"", e.message, substr);
	if (e.offset == UINT64_MAX)
		pt2c_test_fail(file, line, "no offset (%s)", e.message);
	if (strcmp(e.file, "test.pt2") != 0)
		pt2c_test_fail(file, line, "file \"%s\"", e.file);
}
#define EXPECT(d, len, flags, code, member, substr) expect_at(__FILE__, __LINE__, d, len, flags, code, member, substr)

/* MARK: mutation cases on the torch-style base */

enum corrupt_kind {
	BAD_EOCD_SIG, EOCD_COUNT_LIE, Z64_COUNT_HUGE, Z64_LOCATOR_LIE, Z64_RECORD_SIZE_LIE,
	CD_OFFSET_LIE_UP, CD_OFFSET_LIE_DOWN, CD_SIZE_LIE, CD_COUNT_SHORT, CD_SIG_BAD, CD_NAME_PAST_END,
	LFH_SIG_BAD, LFH_NAME_DIFF, LFH_METHOD_DIFF, LFH_FLAGS_DIFF, DEFLATE, ENCRYPTED,
	NAME_DOTDOT, NAME_ABS, NAME_BACKSLASH, NAME_NUL, NAME_EMPTY, DUPLICATE, OVERLAP,
	SIZE_PAST_CD, OFFSET_PAST_FILE, CSIZE_NE_USIZE, MULTIDISK, BAD_CRC, CORRUPT_KIND_COUNT
};

static const struct {
	const char *what;
	int code;
	int code_verify; /* with PT2C_ZIP_VERIFY_CRC */
	const char *member, *substr;
} expect_tab[CORRUPT_KIND_COUNT] = {
	[BAD_EOCD_SIG] = { "bad EOCD", PT2C_ECORRUPT, PT2C_ECORRUPT, "end of central directory", "no end of central directory" },
	[EOCD_COUNT_LIE] = { "classic count differs from zip64", PT2C_ECORRUPT, PT2C_ECORRUPT, "end of central directory", "disagrees" },
	[Z64_COUNT_HUGE] = { "huge zip64 entry count", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "cannot hold" },
	[Z64_LOCATOR_LIE] = { "zip64 locator offset lie", PT2C_ECORRUPT, PT2C_ECORRUPT, "end of central directory", "zip64" },
	[Z64_RECORD_SIZE_LIE] = { "zip64 record size lie", PT2C_ECORRUPT, PT2C_ECORRUPT, "end of central directory", "bad size" },
	[CD_OFFSET_LIE_UP] = { "cd offset too large", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "runs past" },
	[CD_OFFSET_LIE_DOWN] = { "cd offset too small", PT2C_ECORRUPT, PT2C_ECORRUPT, "end of central directory", "zip64 locator" },
	[CD_SIZE_LIE] = { "cd size lie", PT2C_ECORRUPT, PT2C_ECORRUPT, NULL, NULL },
	[CD_COUNT_SHORT] = { "count lower than entries", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "unexpected bytes" },
	[CD_SIG_BAD] = { "central entry signature", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "signature" },
	[CD_NAME_PAST_END] = { "central name past end", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "run past" },
	[LFH_SIG_BAD] = { "local signature", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "local header signature" },
	[LFH_NAME_DIFF] = { "local name differs", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "name differs" },
	[LFH_METHOD_DIFF] = { "local method differs", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "method" },
	[LFH_FLAGS_DIFF] = { "local flags differ", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "flags" },
	[DEFLATE] = { "deflate member", PT2C_EUNSUPPORTED, PT2C_EUNSUPPORTED, "arc/bb", "member arc/bb uses compression method 8" },
	[ENCRYPTED] = { "encrypted member", PT2C_EUNSUPPORTED, PT2C_EUNSUPPORTED, "arc/bb", "encrypted" },
	[NAME_DOTDOT] = { "../ traversal", PT2C_ECORRUPT, PT2C_ECORRUPT, "../x/y", "\"..\"" },
	[NAME_ABS] = { "absolute name", PT2C_ECORRUPT, PT2C_ECORRUPT, "/abs/y", "absolute" },
	[NAME_BACKSLASH] = { "backslash", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc\\bb", "backslash" },
	[NAME_NUL] = { "NUL in name", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc?bb", "NUL" },
	[NAME_EMPTY] = { "empty name", PT2C_ECORRUPT, PT2C_ECORRUPT, "central directory", "empty" },
	[DUPLICATE] = { "duplicate", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/a", "duplicate member arc/a" },
	[OVERLAP] = { "overlapping members", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "overlaps member arc/a" },
	[SIZE_PAST_CD] = { "size past cd", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/d", "runs past" },
	[OFFSET_PAST_FILE] = { "offset past file", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "outside" },
	[CSIZE_NE_USIZE] = { "csize != usize", PT2C_ECORRUPT, PT2C_ECORRUPT, "arc/bb", "compressed size" },
	[MULTIDISK] = { "multi-disk", PT2C_EUNSUPPORTED, PT2C_EUNSUPPORTED, "end of central directory", "multi-disk" },
	[BAD_CRC] = { "bad CRC", 0, PT2C_ECORRUPT, "arc/bb", "CRC-32 mismatch" },
};

/* Apply one corruption to a copy of the base archive. */
static void corrupt(uint8_t *d, size_t len, enum corrupt_kind k)
{
	layout L = base_layout(d, len);
	switch (k) {
	case BAD_EOCD_SIG: d[L.eocd] = 'X'; break;
	case EOCD_COUNT_LIE: wr16(d + L.eocd + 8, 3); wr16(d + L.eocd + 10, 3); break;
	case Z64_COUNT_HUGE:
		wr16(d + L.eocd + 8, 0xFFFF); wr16(d + L.eocd + 10, 0xFFFF);
		wr64(d + L.z64 + 24, 1ull << 40); wr64(d + L.z64 + 32, 1ull << 40);
		break;
	case Z64_LOCATOR_LIE: wr64(d + L.loc + 8, L.z64 - 8); break;
	case Z64_RECORD_SIZE_LIE: wr64(d + L.z64 + 4, 43); break;
	case CD_OFFSET_LIE_UP: wr32(d + L.eocd + 16, (uint32_t)L.cd + 1); wr64(d + L.z64 + 48, L.cd + 1); break;
	case CD_OFFSET_LIE_DOWN: wr32(d + L.eocd + 16, (uint32_t)L.cd - 1); wr64(d + L.z64 + 48, L.cd - 1); break;
	case CD_SIZE_LIE: {
		uint32_t s = pt2c__rd32le(d + L.eocd + 12) - 10;
		wr32(d + L.eocd + 12, s); wr64(d + L.z64 + 40, s);
		break;
	}
	case CD_COUNT_SHORT:
		wr16(d + L.eocd + 8, 3); wr16(d + L.eocd + 10, 3);
		wr64(d + L.z64 + 24, 3); wr64(d + L.z64 + 32, 3);
		break;
	case CD_SIG_BAD: d[L.cde[2]] = 'Q'; break;
	case CD_NAME_PAST_END: wr16(d + L.cde[3] + 28, 0xFFFF); break;
	case LFH_SIG_BAD: d[L.lfh[1] + 1] = 'Q'; break;
	case LFH_NAME_DIFF: d[L.lfh[1] + 30 + 5] = 'c'; break;
	case LFH_METHOD_DIFF: wr16(d + L.lfh[1] + 8, 8); break;
	case LFH_FLAGS_DIFF: wr16(d + L.lfh[1] + 6, 0x0800); break;
	case DEFLATE: wr16(d + L.lfh[1] + 8, 8); wr16(d + L.cde[1] + 10, 8); break;
	case ENCRYPTED: wr16(d + L.cde[1] + 8, 0x0809); wr16(d + L.lfh[1] + 6, 0x0809); break;
	case NAME_DOTDOT: memcpy(d + L.cde[1] + 46, "../x/y", 6); memcpy(d + L.lfh[1] + 30, "../x/y", 6); break;
	case NAME_ABS: memcpy(d + L.cde[1] + 46, "/abs/y", 6); memcpy(d + L.lfh[1] + 30, "/abs/y", 6); break;
	case NAME_BACKSLASH: d[L.cde[1] + 46 + 3] = '\\'; d[L.lfh[1] + 30 + 3] = '\\'; break;
	case NAME_NUL: d[L.cde[1] + 46 + 3] = 0; d[L.lfh[1] + 30 + 3] = 0; break;
	case NAME_EMPTY: wr16(d + L.cde[0] + 28, 0); break;
	case DUPLICATE: memcpy(d + L.cde[2] + 46, "arc/a", 5); memcpy(d + L.lfh[2] + 30, "arc/a", 5); break;
	case OVERLAP: /* arc/a's data now runs over arc/bb's local header (sizes only in the CD) */
		wr32(d + L.cde[0] + 20, 5 + 40); wr32(d + L.cde[0] + 24, 5 + 40);
		break;
	case SIZE_PAST_CD: wr32(d + L.cde[3] + 20, 0x7FFFFFF0u); wr32(d + L.cde[3] + 24, 0x7FFFFFF0u); break;
	case OFFSET_PAST_FILE: wr32(d + L.cde[1] + 42, 0xFFFFFF00u); break;
	case CSIZE_NE_USIZE: wr32(d + L.cde[1] + 20, 99); break;
	case MULTIDISK: wr32(d + L.loc + 16, 2); break;
	case BAD_CRC: d[L.data[1] + 50] ^= 0x20; break;
	case CORRUPT_KIND_COUNT: break;
	}
}

static void test_each_corruption_class_gives_its_code(void)
{
	size_t len;
	uint8_t *base = base_archive(&len);
	REQUIRE(base);
	EXPECT(base, len, PT2C_ZIP_VERIFY_CRC, 0, NULL, NULL);
	uint8_t *d = malloc(len);
	REQUIRE(d);
	for (int k = 0; k < CORRUPT_KIND_COUNT; k++) {
		memcpy(d, base, len);
		corrupt(d, len, (enum corrupt_kind)k);
		CHECK_MSG(memcmp(d, base, len) != 0, "case %s changed nothing", expect_tab[k].what);
		EXPECT(d, len, 0, expect_tab[k].code, expect_tab[k].member, expect_tab[k].substr);
		EXPECT(d, len, PT2C_ZIP_VERIFY_CRC, expect_tab[k].code_verify, expect_tab[k].member, expect_tab[k].substr);
		if (pt2c_test_failures_in_current)
			fprintf(stderr, "  (in case %s)\n", expect_tab[k].what);
	}
	free(d);
	free(base);
}

static void test_verify_crc_of_one_member(void)
{
	size_t len;
	uint8_t *d = base_archive(&len);
	REQUIRE(d);
	corrupt(d, len, BAD_CRC);
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__zip_parse(&z, d, len, NULL, NULL, &err) == 0);
	const pt2c_zip_entry *a = pt2c__zip_find(&z, "arc/a", 5), *b = pt2c__zip_find(&z, "arc/bb", 6);
	REQUIRE(a && b);
	CHECK_EQ_INT(pt2c__zip_verify_crc(&z, a, &err), 0);
	CHECK_EQ_INT(pt2c__zip_verify_crc(&z, b, &err), PT2C_ECORRUPT);
	CHECK_STR(err.member, "arc/bb");
	CHECK_EQ_INT(err.offset, b->data_off);
	pt2c__zip_free(&z);
	free(d);
}

/* MARK: truncation */

static void test_every_truncation_of_small_archive_is_corrupt(void)
{
	size_t len;
	uint8_t *base = base_archive(&len);
	REQUIRE(base);
	for (size_t n = 0; n < len; n++) {
		/* A fresh heap copy so ASan sees reads past the truncated end. */
		uint8_t *d = malloc(n ? n : 1);
		REQUIRE(d);
		memcpy(d, base, n);
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = parse(d, n, PT2C_ZIP_VERIFY_CRC, &err);
		CHECK_MSG(rc == PT2C_ECORRUPT, "truncated to %zu: %d", n, rc);
		free(d);
	}
	/* Dropping leading bytes (a negative shift) is corrupt too. */
	uint8_t *d = malloc(len);
	REQUIRE(d);
	memcpy(d, base + 1, len - 1);
	CHECK_EQ_INT(parse(d, len - 1, 0, NULL), PT2C_ECORRUPT);
	free(d);
	free(base);
}

/* Truncate `file` at every record boundary. When `strict`, each cut must be corrupt. Otherwise
 * a cut right after a member that is itself a zip (a torch.save blob such as
 * data/sample_inputs/model.pt) legitimately parses as THAT zip with the outer bytes taken as a
 * prepended stub, as unzip would; then it must at least not be mistaken for the outer archive. */
static void truncate_at_boundaries(const char *file, bool strict)
{
	size_t len;
	uint8_t *full = read_file(shared_path(file), &len);
	REQUIRE(full);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, full, len, NULL, NULL, NULL) == 0);
	size_t cuts[256], nc = 0;
	for (uint32_t i = 0; i < z.n && nc + 6 < 200; i++) {
		cuts[nc++] = z.entries[i].header_off;
		cuts[nc++] = z.entries[i].header_off + 29;
		cuts[nc++] = z.entries[i].data_off;
		cuts[nc++] = z.entries[i].data_off + z.entries[i].size;
		cuts[nc++] = z.entries[i].data_off + z.entries[i].size + 16;
	}
	size_t cd = pt2c__rd32le(full + len - 22 + 16);
	for (size_t p = cd; p < len - 98 && nc < 240; p += 46 + pt2c__rd16le(full + p + 28))
		cuts[nc++] = p;
	cuts[nc++] = len - 98; /* zip64 record */
	cuts[nc++] = len - 42; /* locator */
	cuts[nc++] = len - 22; /* EOCD */
	cuts[nc++] = len - 1;
	for (size_t i = 0; i < nc; i++) {
		uint8_t *d = malloc(cuts[i] ? cuts[i] : 1);
		REQUIRE(d);
		memcpy(d, full, cuts[i]);
		pt2c_zip t;
		int rc = pt2c__zip_parse(&t, d, cuts[i], NULL, NULL, NULL);
		if (strict || rc != 0) {
			CHECK_MSG(rc == PT2C_ECORRUPT, "%s cut at %zu: %d", file, cuts[i], rc);
		} else {
			CHECK_MSG(t.n > 0 && t.n < z.n && t.entries[0].header_off >= z.entries[1].data_off,
			          "%s cut at %zu parsed as %u members", file, cuts[i], (unsigned)t.n);
			pt2c__zip_free(&t);
		}
		free(d);
	}
	pt2c__zip_free(&z);
	free(full);
}

static void test_truncation_at_every_record_boundary_of_fixtures(void)
{
	truncate_at_boundaries("fixtures/torch-2.11/no_engine.cross.pt2", true); /* no nested zips */
	truncate_at_boundaries("fixtures/torch-2.11/mlp_bn.pt2", false);
	truncate_at_boundaries("fixtures/torch-2.11/full_engine_folded.normal.pt2", false);
}

/* Every byte flipped, one at a time: any code is fine, a crash or sanitizer report is not. */
static void test_single_byte_flips_never_crash(void)
{
	size_t len;
	uint8_t *base = base_archive(&len);
	REQUIRE(base);
	uint8_t *d = malloc(len);
	REQUIRE(d);
	int ok = 0;
	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 3; v++) {
			static const uint8_t flips[3] = { 0xFF, 0x01, 0x80 };
			memcpy(d, base, len);
			d[i] ^= flips[v];
			pt2c_error err = PT2C_ERROR_INIT;
			int rc = parse(d, len, PT2C_ZIP_VERIFY_CRC, &err);
			CHECK(rc == 0 || rc == PT2C_ECORRUPT || rc == PT2C_EUNSUPPORTED);
			ok += rc == 0;
		}
	}
	/* Padding 'Z's and other don't-care bytes still parse. */
	CHECK(ok > 0);
	free(d);
	free(base);
}

/* MARK: ZIP64 extra fields and classic archives */

static void test_classic_archive_and_zip64_extra_fields(void)
{
	static uint8_t out[4096];
	/* Plain classic archive (Python zipfile layout): parses, data right after the header. */
	raw_member m[2] = {
		{ "pkg/one", "abcdef", 6, NULL, 0, 0, 0 },
		{ "pkg/two", "0123456789", 10, NULL, 0, 0, 0 },
	};
	size_t n = build_raw(out, m, 2);
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, "test.pt2" };
	REQUIRE(pt2c__zip_parse(&z, out, n, &o, NULL, &err) == 0);
	CHECK_EQ_INT(z.n, 2);
	CHECK_EQ_INT(z.entries[0].data_off, 30 + 7);
	CHECK_EQ_INT(z.entries[1].header_off, 30 + 7 + 6);
	CHECK(memcmp(pt2c__zip_data(&z, &z.entries[1]), "0123456789", 10) == 0);
	pt2c__zip_free(&z);

	/* Valid ZIP64 extra: all three 32-bit fields deferred to it. */
	uint8_t x[4 + 24];
	wr16(x, 1); wr16(x + 2, 24);
	wr64(x + 4, 10); wr64(x + 12, 10); wr64(x + 20, 30 + 7 + 6);
	m[1].cd_extra = x;
	m[1].cd_extra_len = sizeof x;
	m[1].markers = 7;
	n = build_raw(out, m, 2);
	REQUIRE(pt2c__zip_parse(&z, out, n, &o, NULL, &err) == 0);
	CHECK_EQ_INT(z.entries[1].size, 10);
	CHECK_EQ_INT(z.entries[1].header_off, 43);
	pt2c__zip_free(&z);

	/* Unrelated extra before it, as 0x5455 timestamps are written. */
	uint8_t x2[9 + 28];
	wr16(x2, 0x5455); wr16(x2 + 2, 5); memset(x2 + 4, 0, 5);
	memcpy(x2 + 9, x, sizeof x);
	m[1].cd_extra = x2;
	m[1].cd_extra_len = sizeof x2;
	n = build_raw(out, m, 2);
	EXPECT(out, n, PT2C_ZIP_VERIFY_CRC, 0, NULL, NULL);

	/* Too short for the three deferred fields. */
	wr16(x + 2, 16);
	m[1].cd_extra = x;
	m[1].cd_extra_len = 4 + 16;
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", "too short");

	/* Field length running past the extra data. */
	wr16(x + 2, 200);
	m[1].cd_extra_len = sizeof x;
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", "runs past the extra data");

	/* Two ZIP64 extras. */
	uint8_t x3[56];
	wr16(x, 1); wr16(x + 2, 24);
	memcpy(x3, x, 28);
	memcpy(x3 + 28, x, 28);
	m[1].cd_extra = x3;
	m[1].cd_extra_len = sizeof x3;
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", "two zip64");

	/* ZIP64 size that lies: runs past the central directory. */
	wr64(x + 4, 1ull << 40); wr64(x + 12, 1ull << 40);
	m[1].cd_extra = x;
	m[1].cd_extra_len = sizeof x;
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", NULL);

	/* ZIP64 offset past the file. */
	wr64(x + 4, 10); wr64(x + 12, 10); wr64(x + 20, UINT64_MAX - 5);
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", NULL);

	/* Local header sizes that disagree with the central directory (no descriptor flag). */
	m[1].cd_extra = NULL;
	m[1].cd_extra_len = 0;
	m[1].markers = 0;
	m[1].local_size_delta = -1;
	n = build_raw(out, m, 2);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "pkg/two", "disagrees");

	/* Classic EOCD with a disk number: multi-disk. */
	m[1].local_size_delta = 0;
	n = build_raw(out, m, 2);
	wr16(out + n - 22 + 4, 1);
	EXPECT(out, n, 0, PT2C_EUNSUPPORTED, "end of central directory", "multi-disk");

	/* Classic count larger than the directory can hold. */
	n = build_raw(out, m, 2);
	wr16(out + n - 22 + 8, 0xFFFF); wr16(out + n - 22 + 10, 0xFFFF);
	EXPECT(out, n, 0, PT2C_ECORRUPT, "central directory", "cannot hold");

	/* Prepended bytes with a classic EOCD only. */
	n = build_raw(out + 7, m, 2);
	memset(out, 'J', 7);
	REQUIRE(pt2c__zip_parse(&z, out, n + 7, &o, NULL, &err) == 0);
	CHECK_EQ_INT(z.entries[0].header_off, 7);
	CHECK_EQ_INT(z.entries[1].data_off, 7 + 43 + 30 + 7);
	pt2c__zip_free(&z);
}

/* An archive comment is allowed; the EOCD search must look past it, but not beyond 64 KiB. */
static void test_eocd_search_window(void)
{
	size_t len;
	uint8_t *base = base_archive(&len);
	REQUIRE(base);
	size_t big = len + 70000;
	uint8_t *d = calloc(1, big);
	REQUIRE(d);
	memcpy(d, base, len);
	wr16(d + len - 2, 1000); /* a 1000-byte comment */
	EXPECT(d, len + 1000, 0, 0, NULL, NULL);
	/* 70000 bytes of trailing zeros: the EOCD is out of the search window. */
	EXPECT(d, big, 0, PT2C_ECORRUPT, "end of central directory", NULL);
	free(d);
	free(base);
}

/*
 * Issue 11 #1: a zip stored inside a member, and an end record whose comment length runs past the
 * end of the file. Python's zipfile (and PyTorch's miniz) take the last end record and see the
 * outer archive; skipping that record to look further back found the inner one. Refused now.
 */
static void test_eocd_comment_past_end_does_not_find_inner_zip(void)
{
	size_t ilen;
	uint8_t *inner = base_archive(&ilen);
	REQUIRE(inner);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
	int rc = pt2c__zipw_add(&w, "out/inner.zip", inner, ilen);
	rc = rc ? rc : pt2c__zipw_add(&w, "out/x", "abc", 3);
	rc = rc ? rc : pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	size_t len = 0;
	uint8_t *d = rc ? NULL : (uint8_t *)pt2c__buf_detach(&b, &len);
	if (rc) pt2c__buf_free(&b);
	REQUIRE(d);
	/* intact: the outer archive, two members */
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__zip_parse(&z, d, len, NULL, NULL, &err) == 0);
	CHECK_EQ_INT(z.n, 2);
	pt2c__zip_free(&z);
	/* the outer end record's comment length runs 500 bytes past the end */
	wr16(d + len - 2, 500);
	EXPECT(d, len, 0, PT2C_ECORRUPT, "end of central directory", "runs 500 bytes past the end of the file");
	err = (pt2c_error)PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__zip_parse(&z, d, len, NULL, NULL, &err), PT2C_ECORRUPT);
	CHECK_EQ_INT(err.offset, len - 22);
	/* a signature in the last 21 bytes (an end record cut short): Python's zipfile refuses it too */
	wr16(d + len - 2, 0);
	uint8_t *t = malloc(len + 10);
	REQUIRE(t);
	memcpy(t, d, len);
	memcpy(t + len, "PK\x05\x06\0\0\0\0\0\0", 10);
	EXPECT(t, len + 10, 0, PT2C_ECORRUPT, "end of central directory", "truncated");
	free(t);
	free(d);
	free(inner);
}

/* MARK: allocation failures */

static void test_allocation_failures_are_clean(void)
{
	size_t len;
	uint8_t *data = read_file(shared_path("fixtures/torch-2.11/attn.pt2"), &len);
	REQUIRE(data);
	bool done = false;
	for (int k = 0; k < 100 && !done; k++) {
		test_alloc f; /* the harness's failing allocator: allocation k and every later one fail */
		test_alloc_init(&f);
		f.fail_all = true;
		test_alloc_arm(&f, k);
		const pt2c_allocator a = f.a;
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		int rc = pt2c__zip_parse(&z, data, len, NULL, &a, &err);
		CHECK(rc == 0 || rc == PT2C_ENOMEM);
		if (rc == PT2C_ENOMEM)
			CHECK_STR(err.message, "out of memory");
		if (rc == 0) {
			done = true;
			pt2c__zip_free(&z);
		}
		CHECK_EQ_INT(f.live, 0);
	}
	CHECK(done);

	/* Writer: every failure surfaces as PT2C_ENOMEM, and free releases everything. */
	done = false;
	for (int k = 0; k < 200 && !done; k++) {
		test_alloc f; /* the harness's failing allocator: allocation k and every later one fail */
		test_alloc_init(&f);
		f.fail_all = true;
		test_alloc_arm(&f, k);
		const pt2c_allocator a = f.a;
		uint64_t count = 0;
		pt2c_zipw w;
		pt2c__zipw_init(&w, pt2c__sink_count(&count), &a);
		int rc = 0;
		for (int i = 0; i < 40 && !rc; i++) {
			char name[32];
			snprintf(name, sizeof name, "root/member_%d", i);
			rc = pt2c__zipw_add(&w, name, "data", 4);
		}
		if (!rc)
			rc = pt2c__zipw_finish(&w);
		CHECK(rc == 0 || rc == PT2C_ENOMEM);
		done = rc == 0;
		pt2c__zipw_free(&w);
		CHECK_EQ_INT(f.live, 0);
	}
	CHECK(done);
	free(data);
}

PT2C_TEST_MAIN({
	RUN(test_each_corruption_class_gives_its_code);
	RUN(test_verify_crc_of_one_member);
	RUN(test_every_truncation_of_small_archive_is_corrupt);
	RUN(test_truncation_at_every_record_boundary_of_fixtures);
	RUN(test_single_byte_flips_never_crash);
	RUN(test_classic_archive_and_zip64_extra_fields);
	RUN(test_eocd_search_window);
	RUN(test_eocd_comment_past_end_does_not_find_inner_zip);
	RUN(test_allocation_failures_are_clean);
})
