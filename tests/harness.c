#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

int pt2c_test_failures_in_current;
int pt2c_test_passed, pt2c_test_failed;
static const char *current;

void pt2c_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s (%s:%d): ", current ? current : "?", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pt2c_test_failures_in_current++;
}

void pt2c_test_run(const char *name, void (*fn)(void))
{
	current = name;
	pt2c_test_failures_in_current = 0;
	fn();
	if (pt2c_test_failures_in_current) {
		pt2c_test_failed++;
	} else {
		pt2c_test_passed++;
		printf("ok %s\n", name);
	}
	current = NULL;
}

int pt2c_test_finish(void)
{
	printf("%d passed, %d failed\n", pt2c_test_passed, pt2c_test_failed);
	return pt2c_test_failed ? 1 : 0;
}

static char slots[8][4096];
static int slot;

const char *shared_path(const char *rel)
{
	const char *base = getenv("PT2C_SHARED");
	char *out = slots[slot++ & 7];
	snprintf(out, 4096, "%s/%s", base ? base : "../shared", rel);
	return out;
}

const char *scratch_path(const char *rel)
{
	const char *base = getenv("PT2C_BUILD");
	char *out = slots[slot++ & 7];
	snprintf(out, 4096, "%s/tests/%s", base ? base : ".", rel);
	return out;
}

uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
	long n = ftell(f);
	if (n < 0) { fclose(f); return NULL; }
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
	fclose(f);
	if (buf) { buf[n] = 0; *len = (size_t)n; }
	return buf;
}

bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}
