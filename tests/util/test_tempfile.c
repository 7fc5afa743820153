/* test_tempfile.c -- temporary output files (src/util/tempfile.c, issue 11 #3/#6): their names
 * (pid, NAME_MAX), the registry that signal handlers empty, and the removal of stale ones. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pt2c.h"
#include "util/util.h"

static char dir[512];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "%s", scratch_path("tempfile.XXXXXX"));
	if (!mkdtemp(dir))
		dir[0] = 0;
}

static void touch(const char *name)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
}

static bool exists(const char *name)
{
	char p[1024];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void clear_dir(void)
{
	DIR *d = opendir(dir);
	char p[1024];
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
}

/* A pid that ran and is gone: a child that exited and was reaped. */
static long dead_pid(void)
{
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	int st;
	waitpid(c, &st, 0);
	return (long)c;
}

static void test_template_names_the_pid_and_fits_name_max(void)
{
	char *t = pt2c__tmp_template("some/dir/out.pt2", NULL);
	REQUIRE(t);
	char want[128];
	snprintf(want, sizeof want, "some/dir/out.pt2.tmp.%ld.XXXXXX", (long)getpid());
	CHECK_STR(t, want);
	free(t);
	/* 250- and 255-byte names, two differing only in their last byte: short, still distinct */
	char a[300], b[300], pa[320], pb[320];
	memset(a, 'n', 255);
	a[255] = 0;
	memcpy(b, a, 256);
	b[254] = 'm';
	snprintf(pa, sizeof pa, "d/%s", a);
	snprintf(pb, sizeof pb, "d/%s", b);
	char *ta = pt2c__tmp_template(pa, NULL), *tb = pt2c__tmp_template(pb, NULL);
	REQUIRE(ta && tb);
	CHECK(strncmp(ta, "d/", 2) == 0);
	CHECK_MSG(strlen(ta + 2) <= 255, "%zu bytes", strlen(ta + 2));
	CHECK(strcmp(ta, tb) != 0);
	CHECK(strstr(ta, "~") != NULL);
	free(ta);
	free(tb);
}

static void test_registry_unlinks_files_in_flight(void)
{
	make_dir();
	REQUIRE(dir[0]);
	char out[600];
	snprintf(out, sizeof out, "%s/out.pt2", dir);
	pt2c_ofile f;
	REQUIRE(pt2c__ofile_open(&f, out, NULL, NULL) == 0);
	CHECK(f.tmp_slot >= 0);
	CHECK_EQ_INT(count_entries(), 1);
	pt2c__ofile_write(&f, "abc", 3);
	/* a child made by fork() inherits the registry, not the files: it leaves them alone */
	pid_t c = fork();
	if (c == 0) {
		pt2c_temp_files_remove();
		_exit(0);
	}
	int ws;
	REQUIRE(c > 0 && waitpid(c, &ws, 0) == c);
	CHECK_EQ_INT(count_entries(), 1);
	pt2c_temp_files_remove(); /* what the CLI's signal handler calls */
	CHECK_EQ_INT(count_entries(), 0);
	/* the write in progress then fails at its rename, and says so */
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c__ofile_commit(&f, &err), PT2C_EIO);
	CHECK(!file_exists(out));
	/* a committed file is out of the registry: removing temporary files leaves it */
	CHECK_EQ_INT(pt2c_file_write(out, "xyz", 3, &err), 0);
	pt2c_temp_files_remove();
	CHECK(file_exists(out));
	struct stat st;
	CHECK(stat(out, &st) == 0 && st.st_size == 3);
	clear_dir();
	rmdir(dir);
}

static void test_stale_files_of_dead_writers_only(void)
{
	make_dir();
	REQUIRE(dir[0]);
	long dead = dead_pid(), self = (long)getpid(), parent = (long)getppid();
	char n_dead[64], n_self[64], n_live[64], n_short[64], n_other[64], n_link[64], n_zero[64], n_dir[64];
	snprintf(n_dead, sizeof n_dead, "out.pt2.tmp.%ld.aB3dE9", dead);
	snprintf(n_self, sizeof n_self, "out.pt2.tmp.%ld.aB3dE9", self);    /* another write of ours */
	snprintf(n_live, sizeof n_live, "out.pt2.tmp.%ld.aB3dE9", parent);  /* a running process */
	snprintf(n_short, sizeof n_short, "out.pt2.tmp.%ld.aB3dE", dead);   /* not mkstemp's 6 */
	snprintf(n_other, sizeof n_other, "other.pt2.tmp.%ld.aB3dE9", dead); /* another output's */
	snprintf(n_link, sizeof n_link, "out.pt2.tmp.%ld.zzzzzz", dead);    /* a symbolic link */
	snprintf(n_zero, sizeof n_zero, "out.pt2.tmp.0%ld.aB3dE9", dead);   /* not how a pid is written */
	snprintf(n_dir, sizeof n_dir, "out.pt2.tmp.%ld.dddddd", dead);      /* a folder */
	touch(n_dead);
	touch(n_self);
	touch(n_live);
	touch(n_short);
	touch(n_other);
	touch(n_zero);
	touch("out.pt2.tmp.XXXXXX");
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, n_link);
	CHECK(symlink("/nonexistent", p) == 0);
	snprintf(p, sizeof p, "%s/%s", dir, n_dir);
	CHECK(mkdir(p, 0755) == 0);
	char out[600];
	snprintf(out, sizeof out, "%s/out.pt2", dir);
	CHECK_EQ_INT(pt2c__tmp_remove_stale(out), 1);
	CHECK(!exists(n_dead));
	CHECK(exists(n_self));
	CHECK(exists(n_live));
	CHECK(exists(n_short));
	CHECK(exists(n_other));
	CHECK(exists(n_link));
	CHECK(exists(n_zero));
	CHECK(exists(n_dir));
	CHECK(exists("out.pt2.tmp.XXXXXX"));
	/* writing the output removes them too */
	touch(n_dead);
	CHECK_EQ_INT(pt2c_file_write(out, "x", 1, NULL), 0);
	CHECK(!exists(n_dead));
	rmdir(p);
	clear_dir();
	rmdir(dir);
}

static void test_file_write_mode_follows_umask(void)
{
	make_dir();
	REQUIRE(dir[0]);
	char out[600];
	snprintf(out, sizeof out, "%s/m.bin", dir);
	mode_t old = umask(027);
	int rc = pt2c_file_write(out, "abc", 3, NULL);
	umask(old);
	CHECK_EQ_INT(rc, 0);
	struct stat st;
	CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0640);
	pt2c_error err = PT2C_ERROR_INIT;
	CHECK_EQ_INT(pt2c_file_write("", "abc", 3, &err), PT2C_EINVALID);
	snprintf(out, sizeof out, "%s/no/such/folder/x", dir);
	CHECK_EQ_INT(pt2c_file_write(out, "abc", 3, &err), PT2C_EIO);
	CHECK(strstr(err.message, "No such file or directory") != NULL);
	clear_dir();
	rmdir(dir);
}

PT2C_TEST_MAIN({
	RUN(test_template_names_the_pid_and_fits_name_max);
	RUN(test_registry_unlinks_files_in_flight);
	RUN(test_stale_files_of_dead_writers_only);
	RUN(test_file_write_mode_follows_umask);
})
