/*
 * Replays every file of the corpus folders given on the command line through
 * LLVMFuzzerTestOneInput, so gcc builds (and sanitizer builds) exercise the fuzz targets' corpora
 * as ordinary tests. Exit 0 when all inputs ran; a crash is the failure signal.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) { fprintf(stderr, "cannot open %s\n", path); return 1; }
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) { fclose(f); free(buf); return 1; }
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int count = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) { fprintf(stderr, "missing corpus %s\n", argv[i]); return 1; }
		if (!S_ISDIR(st.st_mode)) { bad += run_file(argv[i]); count++; continue; }
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.') continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			bad += run_file(path);
			count++;
		}
		if (d) closedir(d);
	}
	printf("replayed %d inputs\n", count);
	if (count == 0) { fprintf(stderr, "empty corpus\n"); return 1; }
	return bad ? 1 : 0;
}
