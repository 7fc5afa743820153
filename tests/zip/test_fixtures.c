/*
 * test_fixtures.c -- the zip layer against real PyTorch 2.11 archives: every fixture parses, its
 * members sit where PyTorch puts them (64-byte aligned data), CRCs verify, the writer reproduces
 * each file byte for byte, and the archives still parse with bytes prepended.
 */
#include <dirent.h>
#include <stdlib.h>

#include "harness.h"
#include "serde/zip.h"

#define MAX_FIXTURES 64

static char fixture_names[MAX_FIXTURES][256];
static int n_fixtures;

/* Collect *.pt2 under fixtures/torch-2.11, sorted for stable output. */
static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }
static void list_fixtures(void)
{
	if (n_fixtures)
		return;
	DIR *d = opendir(shared_path("fixtures/torch-2.11"));
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && n_fixtures < MAX_FIXTURES) {
		size_t n = strlen(e->d_name);
		if (n > 4 && n < 250 && strcmp(e->d_name + n - 4, ".pt2") == 0)
			snprintf(fixture_names[n_fixtures++], 256, "%s", e->d_name);
	}
	closedir(d);
	qsort(fixture_names, (size_t)n_fixtures, sizeof fixture_names[0], cmp_str);
}

static uint8_t *load_fixture(const char *name, size_t *len)
{
	char rel[512];
	if (snprintf(rel, sizeof rel, "fixtures/torch-2.11/%s", name) >= (int)sizeof rel)
		return NULL;
	return read_file(shared_path(rel), len);
}

static bool name_is(const pt2c_zip_entry *e, const char *s)
{
	return e->name_len == strlen(s) && memcmp(e->name, s, e->name_len) == 0;
}

static void test_every_fixture_parses_aligned_with_valid_crcs(void)
{
	list_fixtures();
	REQUIRE(n_fixtures >= 10);
	for (int f = 0; f < n_fixtures; f++) {
		size_t len;
		uint8_t *data = load_fixture(fixture_names[f], &len);
		REQUIRE(data);
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, fixture_names[f] };
		int rc = pt2c__zip_parse(&z, data, len, &o, NULL, &err);
		CHECK_MSG(rc == 0, "%s: %d %s", fixture_names[f], rc, err.message);
		if (rc == 0) {
			/* Root folder = file name minus ".pt2" (pt2-format.md 2.2). */
			char root[256];
			size_t rl = strlen(fixture_names[f]) - 4;
			memcpy(root, fixture_names[f], rl);
			root[rl] = '/';
			CHECK(z.n >= 9);
			CHECK_EQ_INT(z.entries[0].header_off, 0);
			CHECK_EQ_INT(z.entries[0].data_off % 64, 0);
			uint64_t prev_end = 0;
			for (uint32_t i = 0; i < z.n; i++) {
				const pt2c_zip_entry *e = &z.entries[i];
				CHECK_MSG(e->data_off % 64 == 0, "%s member %u data at %llu", fixture_names[f],
				          (unsigned)i, (unsigned long long)e->data_off);
				CHECK(e->name_len > rl && memcmp(e->name, root, rl + 1) == 0);
				CHECK_EQ_INT(e->method, 0);
				CHECK(e->flags == 0x0808 || (e->flags == 0x0800 && e->size == 0));
				CHECK(e->header_off >= prev_end);
				prev_end = e->data_off + e->size;
				CHECK(pt2c__zip_find(&z, e->name, e->name_len) == e);
				CHECK_EQ_INT(pt2c__zip_verify_crc(&z, e, &err), 0);
			}
			/* The first record is the first weight (or config when there are none). */
			CHECK(pt2c__zip_find(&z, "nope", 4) == NULL);
			const pt2c_zip_entry *last = &z.entries[z.n - 1];
			CHECK(last->size == 40); /* .data/serialization_id: 40 digits */
			pt2c__zip_free(&z);
		}
		free(data);
	}
}

/* Reference values read with Python's zipfile from the same files. */
static void test_member_table_matches_python_zipfile(void)
{
	static const struct {
		const char *file, *member;
		uint32_t n;
		uint64_t hdr, data, size;
		uint32_t crc;
	} ref[] = {
		{ "mlp_bn.pt2", "mlp_bn/data/weights/weight_0", 18, 0, 64, 2048, 829003627u },
		{ "mlp_bn.pt2", "mlp_bn/models/model.json", 18, 7134, 7232, 8759, 1422235614u },
		{ "mlp_bn.pt2", "mlp_bn/.data/serialization_id", 18, 18710, 18816, 40, 2372297053u },
		{ "mlp_bn.pt2", "mlp_bn/archive_format", 18, 18233, 18304, 3, 674520112u },
		{ "no_engine.cross.pt2", "no_engine.cross/data/weights/weight_0", 11, 0, 128, 400, 3418272239u },
		{ "no_engine.cross.pt2", "no_engine.cross/data/sample_inputs/model.pt", 11, 6787, 6912, 0, 0 },
		{ "no_engine.cross.pt2", "no_engine.cross/.data/version", 11, 7121, 7232, 2, 672164500u },
	};
	for (size_t i = 0; i < PT2C_ARRAY_LEN(ref); i++) {
		size_t len;
		uint8_t *data = load_fixture(ref[i].file, &len);
		REQUIRE(data);
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, &err) == 0);
		CHECK_EQ_INT(z.n, ref[i].n);
		const pt2c_zip_entry *e = pt2c__zip_find(&z, ref[i].member, strlen(ref[i].member));
		CHECK_MSG(e != NULL, "%s not found", ref[i].member);
		if (e) {
			CHECK(name_is(e, ref[i].member));
			CHECK_EQ_INT(e->header_off, ref[i].hdr);
			CHECK_EQ_INT(e->data_off, ref[i].data);
			CHECK_EQ_INT(e->size, ref[i].size);
			CHECK_EQ_INT(e->crc, ref[i].crc);
		}
		pt2c__zip_free(&z);
		free(data);
	}
	/* Contents of the fixed records (pt2-format.md 2.1). */
	size_t len;
	uint8_t *data = load_fixture("mlp_bn.pt2", &len);
	REQUIRE(data);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, NULL) == 0);
	const pt2c_zip_entry *e = pt2c__zip_find(&z, "mlp_bn/.data/version", 20);
	REQUIRE(e);
	CHECK(e->size == 2 && memcmp(pt2c__zip_data(&z, e), "6\n", 2) == 0);
	e = pt2c__zip_find(&z, "mlp_bn/byteorder", 16);
	REQUIRE(e);
	CHECK(e->size == 6 && memcmp(pt2c__zip_data(&z, e), "little", 6) == 0);
	pt2c__zip_free(&z);
	free(data);
}

/* Re-write a parsed archive's members, in order and with the same names, through the writer. */
static int rewrite(const pt2c_zip *z, pt2c_buf *out)
{
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(out), NULL);
	int rc = 0;
	for (uint32_t i = 0; i < z->n && !rc; i++) {
		char name[70000];
		memcpy(name, z->entries[i].name, z->entries[i].name_len);
		name[z->entries[i].name_len] = '\0';
		rc = pt2c__zipw_add(&w, name, pt2c__zip_data(z, &z->entries[i]), (size_t)z->entries[i].size);
	}
	if (!rc)
		rc = pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	return rc;
}

static void test_writer_reproduces_every_fixture_byte_for_byte(void)
{
	list_fixtures();
	REQUIRE(n_fixtures >= 10);
	for (int f = 0; f < n_fixtures; f++) {
		size_t len;
		uint8_t *data = load_fixture(fixture_names[f], &len);
		REQUIRE(data);
		pt2c_zip z;
		REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, NULL) == 0);
		pt2c_buf b;
		pt2c__buf_init(&b, NULL);
		CHECK_EQ_INT(rewrite(&z, &b), 0);
		CHECK_MSG(b.len == len, "%s: wrote %zu bytes, original has %zu", fixture_names[f], b.len, len);
		size_t first_diff = 0;
		while (first_diff < b.len && first_diff < len && (uint8_t)b.data[first_diff] == data[first_diff])
			first_diff++;
		CHECK_MSG(b.len == len && first_diff == len, "%s: first difference at byte %zu",
		          fixture_names[f], first_diff);
		pt2c__buf_free(&b);
		pt2c__zip_free(&z);
		free(data);
	}
}

/* read(write(read(x))) == read(x), with the streaming API in odd-sized chunks. */
static void test_round_trip_through_streaming_writer(void)
{
	size_t len;
	uint8_t *data = load_fixture("conv_block.pt2", &len);
	REQUIRE(data);
	pt2c_zip z;
	REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, NULL) == 0);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(&b), NULL);
	for (uint32_t i = 0; i < z.n; i++) {
		char name[1024];
		REQUIRE(z.entries[i].name_len < sizeof name);
		memcpy(name, z.entries[i].name, z.entries[i].name_len);
		name[z.entries[i].name_len] = '\0';
		/* Unknown size: every member gets a data descriptor, even an empty one. */
		REQUIRE(pt2c__zipw_begin(&w, name, PT2C_ZIP_SIZE_UNKNOWN) == 0);
		const uint8_t *p = pt2c__zip_data(&z, &z.entries[i]);
		size_t left = (size_t)z.entries[i].size;
		while (left) {
			size_t k = left < 7 ? left : 7;
			REQUIRE(pt2c__zipw_data(&w, p, k) == 0);
			p += k;
			left -= k;
		}
		REQUIRE(pt2c__zipw_end(&w) == 0);
	}
	REQUIRE(pt2c__zipw_finish(&w) == 0);
	pt2c__zipw_free(&w);

	pt2c_zip z2;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, NULL };
	int rc = pt2c__zip_parse(&z2, (const uint8_t *)b.data, b.len, &o, NULL, &err);
	CHECK_MSG(rc == 0, "%s", err.message);
	if (rc == 0) {
		CHECK_EQ_INT(z2.n, z.n);
		for (uint32_t i = 0; i < z.n && i < z2.n; i++) {
			CHECK(z2.entries[i].name_len == z.entries[i].name_len &&
			      memcmp(z2.entries[i].name, z.entries[i].name, z.entries[i].name_len) == 0);
			CHECK_EQ_INT(z2.entries[i].size, z.entries[i].size);
			CHECK_EQ_INT(z2.entries[i].crc, z.entries[i].crc);
			CHECK_EQ_INT(z2.entries[i].data_off % 64, 0);
			CHECK(memcmp(pt2c__zip_data(&z2, &z2.entries[i]), pt2c__zip_data(&z, &z.entries[i]),
			             (size_t)z.entries[i].size) == 0);
		}
		pt2c__zip_free(&z2);
	}
	pt2c__buf_free(&b);
	pt2c__zip_free(&z);
	free(data);
}

/* As test-gguf's FILE_OFFSET mode: 7 bytes in front must not matter; offsets are relocated. */
static void test_prepended_bytes_are_relocated(void)
{
	list_fixtures();
	REQUIRE(n_fixtures >= 1);
	for (int f = 0; f < n_fixtures; f++) {
		size_t len;
		uint8_t *data = load_fixture(fixture_names[f], &len);
		REQUIRE(data);
		uint8_t *shifted = malloc(len + 7);
		REQUIRE(shifted);
		memcpy(shifted, "PK\x03\x04junk", 7); /* a decoy signature at the very start */
		memcpy(shifted + 7, data, len);
		pt2c_zip z, z7;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, NULL };
		REQUIRE(pt2c__zip_parse(&z, data, len, NULL, NULL, NULL) == 0);
		int rc = pt2c__zip_parse(&z7, shifted, len + 7, &o, NULL, &err);
		CHECK_MSG(rc == 0, "%s: %s", fixture_names[f], err.message);
		if (rc == 0) {
			CHECK_EQ_INT(z7.n, z.n);
			for (uint32_t i = 0; i < z.n && i < z7.n; i++) {
				CHECK_EQ_INT(z7.entries[i].header_off, z.entries[i].header_off + 7);
				CHECK_EQ_INT(z7.entries[i].data_off, z.entries[i].data_off + 7);
			}
			pt2c__zip_free(&z7);
		}
		pt2c__zip_free(&z);
		free(shifted);
		free(data);
	}
}

static void test_entry_cap_is_unsupported(void)
{
	size_t len;
	uint8_t *data = load_fixture("arange_const.pt2", &len);
	REQUIRE(data);
	pt2c_zip z;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_zip_opts o = { 0, 8, "arange_const.pt2" };
	CHECK_EQ_INT(pt2c__zip_parse(&z, data, len, &o, NULL, &err), PT2C_EUNSUPPORTED);
	CHECK_STR(err.member, "central directory");
	CHECK_STR(err.file, "arange_const.pt2");
	o.max_entries = 9;
	CHECK_EQ_INT(pt2c__zip_parse(&z, data, len, &o, NULL, &err), 0);
	pt2c__zip_free(&z);
	free(data);
}

/* The fuzz corpus doubles as an outside oracle: ok_python_* were written by Python's zipfile,
 * ok_* by our writer (and accepted by Python's zipfile), bad_* are corrupted copies. */
static void test_corpus_files_by_prefix(void)
{
	const char *src = getenv("PT2C_SOURCE");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/fuzzers/corpora/zip", src ? src : "../..");
	DIR *d = opendir(dir);
	REQUIRE(d);
	int seen_ok = 0, seen_bad = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		size_t len;
		uint8_t *data = read_file(path, &len);
		CHECK(data);
		if (!data)
			continue;
		pt2c_zip z;
		pt2c_error err = PT2C_ERROR_INIT;
		pt2c_zip_opts o = { PT2C_ZIP_VERIFY_CRC, 0, de->d_name };
		int rc = pt2c__zip_parse(&z, data, len, &o, NULL, &err);
		if (rc == 0)
			pt2c__zip_free(&z);
		if (strncmp(de->d_name, "ok_", 3) == 0) {
			seen_ok++;
			CHECK_MSG(rc == 0, "%s: %s", de->d_name, err.message);
		} else if (strncmp(de->d_name, "bad_", 4) == 0) {
			seen_bad++;
			int want = strstr(de->d_name, "deflate") ? PT2C_EUNSUPPORTED : PT2C_ECORRUPT;
			CHECK_MSG(rc == want, "%s: %d, want %d (%s)", de->d_name, rc, want, err.message);
			if (strcmp(de->d_name, "bad_crc.zip") == 0) { /* only the CRC is wrong */
				CHECK_EQ_INT(pt2c__zip_parse(&z, data, len, NULL, NULL, NULL), 0);
				pt2c__zip_free(&z);
			}
		}
		free(data);
	}
	closedir(d);
	CHECK(seen_ok >= 5 && seen_bad >= 5);
}

PT2C_TEST_MAIN({
	RUN(test_every_fixture_parses_aligned_with_valid_crcs);
	RUN(test_member_table_matches_python_zipfile);
	RUN(test_writer_reproduces_every_fixture_byte_for_byte);
	RUN(test_round_trip_through_streaming_writer);
	RUN(test_prepended_bytes_are_relocated);
	RUN(test_entry_cap_is_unsupported);
	RUN(test_corpus_files_by_prefix);
})
