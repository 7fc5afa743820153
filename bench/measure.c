#define _DEFAULT_SOURCE /* wait4 */
/*
 * measure.c -- the measuring half of the benchmarks.
 *   pt2c-bench-measure run CMD ARGS...   run a command; print "wall_s=... maxrss_kib=..."
 *   pt2c-bench-measure write N DIR       write N bytes to a new file in DIR (8 MiB writes, fsync),
 *                                        the physical reference; print "wall_s=..."
 *   pt2c-bench-measure crc FILE          CRC-32 (libdeflate) over a mapped file; print "wall_s=..."
 */
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmd_run(char **argv)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return 1;
	double t1 = now();
	printf("wall_s=%.4f maxrss_kib=%ld exit=%d\n", t1 - t0, ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int cmd_write(unsigned long long n, const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/plain-write.bin", dir);
	size_t chunk = 8u << 20;
	char *buf = malloc(chunk);
	if (!buf)
		return 1;
	memset(buf, 0x5a, chunk);
	double t0 = now();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	unsigned long long left = n;
	while (left) {
		size_t w = left < chunk ? (size_t)left : chunk;
		ssize_t r = write(fd, buf, w);
		if (r <= 0)
			return 1;
		left -= (unsigned long long)r;
	}
	fsync(fd);
	close(fd);
	double t1 = now();
	unlink(path);
	free(buf);
	printf("wall_s=%.4f\n", t1 - t0);
	return 0;
}

static int cmd_crc(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return 1;
	void *p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (p == MAP_FAILED)
		return 1;
	/* touch the pages first so the timing is the CRC's, not the disk's */
	volatile unsigned char sink = 0;
	for (off_t i = 0; i < st.st_size; i += 4096)
		sink ^= ((const unsigned char *)p)[i];
	double t0 = now();
	unsigned crc = libdeflate_crc32(0, p, (size_t)st.st_size);
	double t1 = now();
	printf("wall_s=%.4f crc=%08x touched=%d\n", t1 - t0, crc, sink);
	if (p)
		munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "run"))
		return cmd_run(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "write"))
		return cmd_write(strtoull(argv[2], NULL, 10), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "crc"))
		return cmd_crc(argv[2]);
	fprintf(stderr, "usage: pt2c-bench-measure run CMD... | write N DIR | crc FILE\n");
	return 2;
}
