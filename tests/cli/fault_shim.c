/*
 * fault_shim.c -- an LD_PRELOAD library for tests/cli/test_signals.sh: it makes the things that
 * happen to a running pt2c from outside happen at a known moment, so the tests are deterministic.
 *
 *   PT2C_SHIM_SIGNAL=N        the first fsync of a "*.tmp.*" file raises signal N first (the output
 *                             is complete in its temporary file, not yet renamed)
 *   PT2C_SHIM_SIGNAL_PWRITE=N the first pwrite to a "*.tmp.*" file raises signal N in the writing
 *                             thread first (a worker thread of the parallel writer)
 *   PT2C_SHIM_STOP=FILE       that fsync creates FILE and sleeps (up to 60 s), for a signal sent
 *                             by another process (kill -TERM PID)
 *   PT2C_SHIM_TRUNCATE=PATH   after PATH is mapped, truncate it to PT2C_SHIM_TRUNCATE_TO bytes
 *                             (default 0): the input shrinks while pt2c has it mapped; with
 *                             PT2C_SHIM_TRUNCATE_AT=pwrite, at the first pwrite to a "*.tmp.*" file
 *                             instead (the output's temporary file exists)
 */
#undef _FILE_OFFSET_BITS /* the build defines it; here mmap and mmap64 are both defined */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int is_tmp_fd(int fd)
{
	char link[64], target[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	return strstr(target, ".tmp.") != NULL;
}

static int env_int(const char *name)
{
	const char *v = getenv(name);
	return v ? atoi(v) : 0;
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (is_tmp_fd(fd)) {
		int sig = env_int("PT2C_SHIM_SIGNAL");
		if (sig)
			raise(sig);
		const char *stop = getenv("PT2C_SHIM_STOP");
		if (stop) {
			int m = open(stop, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (m >= 0)
				close(m);
			for (int i = 0; i < 600; i++)
				usleep(100000);
		}
	}
	return real(fd);
}

static void truncate_input(void)
{
	const char *path = getenv("PT2C_SHIM_TRUNCATE");
	const char *to = getenv("PT2C_SHIM_TRUNCATE_TO");
	if (path && truncate(path, to ? atol(to) : 0) != 0)
		perror("fault_shim: truncate");
}

static int at_pwrite(void)
{
	const char *at = getenv("PT2C_SHIM_TRUNCATE_AT");
	return at && strcmp(at, "pwrite") == 0;
}

static ssize_t shim_pwrite(const char *name, int fd, const void *p, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, name);
	int sig = env_int("PT2C_SHIM_SIGNAL_PWRITE");
	static int once;
	if ((sig || at_pwrite()) && is_tmp_fd(fd) && !once) {
		once = 1;
		if (at_pwrite())
			truncate_input();
		if (sig)
			raise(sig);
	}
	return real(fd, p, n, off);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off) { return shim_pwrite("pwrite", fd, p, n, off); }
ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off) { return shim_pwrite("pwrite64", fd, p, n, off); }

static void *shim_mmap(const char *name, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, name);
	void *r = real(addr, len, prot, flags, fd, off);
	const char *path = getenv("PT2C_SHIM_TRUNCATE");
	struct stat a, b;
	if (r != MAP_FAILED && fd >= 0 && path && !at_pwrite() && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(a.st_mode))
		truncate_input();
	return r;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return shim_mmap("mmap", addr, len, prot, flags, fd, off); }
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) { return shim_mmap("mmap64", addr, len, prot, flags, fd, off); }
