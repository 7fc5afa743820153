/*
 * test_file.c -- whole-file views (mmap, pipes, empty files, errors) and atomic output files.
 */
#define _GNU_SOURCE /* O_PATH: a descriptor of a regular file that mmap refuses */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util/util.h"

/* Number of entries in the folder of `path` whose names start with "<basename>.tmp.". */
static int count_temps(const char *path)
{
	char dir[4096], prefix[512];
	const char *slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		snprintf(prefix, sizeof prefix, "%s.tmp.", slash + 1);
	} else {
		snprintf(dir, sizeof dir, ".");
		snprintf(prefix, sizeof prefix, "%s.tmp.", path);
	}
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fputs(s, f);
	fclose(f);
}

/* MARK: input */

static void test_map_fixture(void)
{
	const char *path = shared_path("fixtures/torch-2.11/mlp_bn.pt2");
	struct stat st;
	REQUIRE(stat(path, &st) == 0);
	pt2c_mapped m;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__map_path(&m, path, NULL, &err) == 0);
	CHECK_EQ_INT(m.size, st.st_size);
	CHECK_EQ_INT(m.size, 20310);
	CHECK_EQ_INT(m.kind, 1);
	/* A zip: local header signature first, end-of-central-directory signature 22 bytes from the end
	 * (PyTorch writes no archive comment). */
	CHECK_EQ_INT(pt2c__rd32le(m.data), 0x04034b50);
	CHECK_EQ_INT(pt2c__rd32le(m.data + m.size - 22), 0x06054b50);
	size_t len = 0;
	uint8_t *copy = read_file(path, &len);
	REQUIRE(copy);
	CHECK_EQ_INT(len, m.size);
	CHECK(memcmp(copy, m.data, len) == 0);
	free(copy);
	pt2c__unmap(&m);
	CHECK(m.data == NULL && m.size == 0 && m.kind == 0);
	pt2c__unmap(&m); /* idempotent */
}

/* Dropping the pages of a file view keeps every byte readable (they come back from the file). */
static void test_drop_pages(void)
{
	char path[] = "/tmp/pt2c_drop_XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	size_t n = 3 * 65536 + 123;
	uint8_t *want = malloc(n);
	REQUIRE(want);
	for (size_t i = 0; i < n; i++)
		want[i] = (uint8_t)(i * 2654435761u >> 13);
	REQUIRE(write(fd, want, n) == (ssize_t)n);
	close(fd);
	pt2c_mapped m;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__map_path(&m, path, NULL, &err) == 0);
	CHECK(pt2c__mapped_is_file(&m));
	CHECK(memcmp(m.data, want, n) == 0); /* every page resident */
	pt2c__drop_file_pages(m.data + 100, 70000); /* unaligned ends: only whole pages inside go */
	CHECK(memcmp(m.data, want, n) == 0);
	pt2c__mapped_drop_pages(&m);
	CHECK(memcmp(m.data, want, n) == 0);
	pt2c__unmap(&m);
	/* heap and borrowed views are never "file" views: their pages must never be dropped */
	pt2c__map_borrow(&m, want, n);
	CHECK(!pt2c__mapped_is_file(&m));
	pt2c__mapped_drop_pages(&m); /* a no-op */
	CHECK(want[n - 1] == (uint8_t)((n - 1) * 2654435761u >> 13));
	free(want);
	unlink(path);
}

static void test_map_pipe(void)
{
	/* A pipe cannot be mapped: the reader falls back to read(). */
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	enum { N = 50000 };
	static uint8_t data[N];
	for (int i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 7);
	/* Fits the default 64 KiB pipe buffer, so no second thread is needed. */
	REQUIRE(write(fds[1], data, N) == N);
	close(fds[1]);
	pt2c_mapped m;
	REQUIRE(pt2c__map_fd(&m, fds[0], NULL, NULL) == 0);
	close(fds[0]);
	CHECK_EQ_INT(m.size, N);
	CHECK_EQ_INT(m.kind, 2);
	CHECK(m.data && memcmp(m.data, data, N) == 0);
	pt2c__unmap(&m);
}

/*
 * A regular file that cannot be mapped is read with pread into a buffer (issue 11 #5: that
 * buffer's allocation failing is PT2C_ENOMEM and leaks nothing). An O_PATH descriptor makes mmap
 * refuse (EBADF); its pread then fails too, which is the clean run's answer.
 */
static void test_map_unmappable(void)
{
#ifdef O_PATH
	const char *path = scratch_path("util_unmappable.bin");
	write_text(path, "0123456789");
	int fd = open(path, O_PATH);
	REQUIRE(fd >= 0);
	pt2c_mapped m;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__map_fd(&m, fd, NULL, &err), PT2C_EIO);
	CHECK_MSG(strstr(err.message, "cannot read") != NULL, "%s", err.message);
	test_alloc ta;
	test_alloc_init(&ta);
	test_alloc_arm(&ta, 0);
	err = (pt2c_error)PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__map_fd(&m, fd, &ta.a, &err), PT2C_ENOMEM);
	test_alloc_disarm(&ta);
	CHECK_EQ_INT(ta.failed, 1);
	CHECK_EQ_INT(err.code, PT2C_ENOMEM);
	CHECK(m.data == NULL);
	pt2c__unmap(&m);
	CHECK_EQ_INT(ta.live, 0);
	close(fd);
	remove(path);
#else
	printf("  skipped: no O_PATH here\n");
#endif
}

static void test_map_empty_and_errors(void)
{
	const char *empty = scratch_path("util_empty.bin");
	write_text(empty, "");
	pt2c_mapped m;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__map_path(&m, empty, NULL, &err) == 0);
	CHECK_EQ_INT(m.size, 0);
	CHECK(m.data != NULL);
	pt2c__unmap(&m);
	unlink(empty);

	const char *missing = scratch_path("util_does_not_exist.pt2");
	CHECK_EQ_INT(pt2c__map_path(&m, missing, NULL, &err), PT2C_ENOTFOUND);
	CHECK_EQ_INT(err.code, PT2C_ENOTFOUND);
	CHECK_STR(err.file, missing);
	CHECK(m.data == NULL);
	pt2c__unmap(&m);

	pt2c_error err2 = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__map_path(&m, shared_path("fixtures"), NULL, &err2), PT2C_EIO);
	CHECK(strstr(err2.file, "fixtures") != NULL);
	CHECK(err2.message[0] != '\0');
}

static void test_map_borrow(void)
{
	static const char text[] = "borrowed";
	pt2c_mapped m;
	pt2c__map_borrow(&m, text, 8);
	CHECK(m.data == (const uint8_t *)text);
	CHECK_EQ_INT(m.size, 8);
	CHECK_EQ_INT(m.kind, 3);
	pt2c__unmap(&m);
	CHECK(m.data == NULL);
	CHECK_STR(text, "borrowed");
}

/* MARK: output */

static void test_ofile_commit(void)
{
	const char *path = scratch_path("util_ofile_commit.bin");
	unlink(path);
	pt2c_ofile f;
	pt2c_error err = PT2C_ERROR_INIT;
	REQUIRE(pt2c__ofile_open(&f, path, NULL, &err) == 0);
	/* The target does not appear before commit. */
	CHECK(!file_exists(path));
	CHECK_EQ_INT(count_temps(path), 1);
	/* A mix of tiny writes, one that straddles the buffer, and one big direct write. */
	size_t big_n = 3u << 20;
	uint8_t *big = malloc(big_n);
	REQUIRE(big);
	for (size_t i = 0; i < big_n; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	pt2c_buf want;
	pt2c__buf_init(&want, NULL);
	for (int i = 0; i < 5000; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "line %d\n", i);
		pt2c__ofile_write(&f, line, (size_t)n);
		pt2c__buf_put(&want, line, (size_t)n);
	}
	pt2c__ofile_write(&f, big, 200000);
	pt2c__buf_put(&want, big, 200000);
	pt2c__ofile_write(&f, big, big_n);
	pt2c__buf_put(&want, big, big_n);
	/* Mid-size writes that fill the combining buffer and wrap around it. */
	for (int i = 0; i < 10; i++) {
		pt2c__ofile_write(&f, big + i, 40000);
		pt2c__buf_put(&want, big + i, 40000);
	}
	pt2c__ofile_write(&f, "tail", 4);
	pt2c__buf_put(&want, "tail", 4);
	CHECK_EQ_INT(f.offset, want.len);
	CHECK_EQ_INT(f.err, 0);
	CHECK_EQ_INT(pt2c__ofile_commit(&f, &err), 0);
	pt2c__ofile_abort(&f); /* no-op after commit */
	size_t len = 0;
	uint8_t *got = read_file(path, &len);
	REQUIRE(got);
	CHECK_EQ_INT(len, want.len);
	CHECK(memcmp(got, want.data, len) == 0);
	CHECK_EQ_INT(count_temps(path), 0);
	/* The result has ordinary permissions, not mkstemp's 0600. */
	struct stat st;
	REQUIRE(stat(path, &st) == 0);
	mode_t mask = umask(022);
	umask(mask);
	CHECK_EQ_INT(st.st_mode & 0777, 0666 & ~mask);
	free(got);
	free(big);
	pt2c__buf_free(&want);
	unlink(path);
}

static void test_ofile_replace(void)
{
	/* Commit replaces an existing file. */
	const char *path = scratch_path("util_ofile_replace.txt");
	write_text(path, "old contents that are longer");
	pt2c_ofile f;
	REQUIRE(pt2c__ofile_open(&f, path, NULL, NULL) == 0);
	pt2c__ofile_write(&f, "new", 3);
	CHECK_EQ_INT(pt2c__ofile_commit(&f, NULL), 0);
	size_t len = 0;
	uint8_t *got = read_file(path, &len);
	REQUIRE(got);
	CHECK_STR((const char *)got, "new");
	free(got);
	unlink(path);
}

static void test_ofile_abort(void)
{
	const char *path = scratch_path("util_ofile_abort.txt");
	write_text(path, "precious");
	pt2c_ofile f;
	REQUIRE(pt2c__ofile_open(&f, path, NULL, NULL) == 0);
	pt2c__ofile_write(&f, "garbage", 7);
	uint8_t *big = calloc(1, 1u << 20);
	REQUIRE(big);
	pt2c__ofile_write(&f, big, 1u << 20);
	free(big);
	CHECK_EQ_INT(count_temps(path), 1);
	pt2c__ofile_abort(&f);
	pt2c__ofile_abort(&f); /* twice is harmless */
	CHECK_EQ_INT(count_temps(path), 0);
	size_t len = 0;
	uint8_t *got = read_file(path, &len);
	REQUIRE(got);
	CHECK_STR((const char *)got, "precious");
	free(got);
	unlink(path);
}

static void test_ofile_failures(void)
{
	/* Folder that does not exist: open fails with the path in the error. */
	pt2c_ofile f;
	pt2c_error err = PT2C_ERROR_INIT;
	const char *bad = scratch_path("no_such_dir/x.pt2");
	CHECK_EQ_INT(pt2c__ofile_open(&f, bad, NULL, &err), PT2C_EIO);
	CHECK_STR(err.file, bad);
	pt2c__ofile_abort(&f); /* safe after a failed open */

	/* Rename over a directory fails at commit: error returned, temporary file removed,
	 * the directory untouched. */
	const char *dir = scratch_path("util_ofile_isdir");
	rmdir(dir);
	REQUIRE(mkdir(dir, 0755) == 0);
	pt2c_error err2 = PT2C_ERROR_INIT;
	REQUIRE(pt2c__ofile_open(&f, dir, NULL, &err2) == 0);
	pt2c__ofile_write(&f, "data", 4);
	CHECK_EQ_INT(pt2c__ofile_commit(&f, &err2), PT2C_EIO);
	CHECK_EQ_INT(err2.code, PT2C_EIO);
	CHECK_STR(err2.file, dir);
	CHECK(strstr(err2.message, "rename") != NULL);
	CHECK_EQ_INT(count_temps(dir), 0);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	pt2c__ofile_abort(&f);
	rmdir(dir);

}

static void test_ofile_oom(void)
{
	const char *path = scratch_path("util_ofile_oom.bin");
	test_alloc ta; /* the harness's one failing allocator, refusing everything */
	test_alloc_init(&ta);
	ta.fail_all = true;
	test_alloc_arm(&ta, 0);
	pt2c_ofile f;
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__ofile_open(&f, path, &ta.a, &err), PT2C_ENOMEM);
	CHECK_EQ_INT(err.code, PT2C_ENOMEM);
	CHECK(ta.failed > 0);
	CHECK_EQ_INT(count_temps(path), 0);
	CHECK(!file_exists(path));
	pt2c__ofile_abort(&f);
	test_alloc_disarm(&ta);
	CHECK_EQ_INT(ta.live, 0);
}

PT2C_TEST_MAIN({
	RUN(test_map_fixture);
	RUN(test_drop_pages);
	RUN(test_map_pipe);
	RUN(test_map_unmappable);
	RUN(test_map_empty_and_errors);
	RUN(test_map_borrow);
	RUN(test_ofile_commit);
	RUN(test_ofile_replace);
	RUN(test_ofile_abort);
	RUN(test_ofile_failures);
	RUN(test_ofile_oom);
})
