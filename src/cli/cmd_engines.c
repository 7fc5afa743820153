/* cmd_engines.c -- pt2c engines FILE -d DIR: each engine's raw bytes and its record as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_VALUE, 'd', "dir", "DIR", "folder to write <name>.engine and <name>.json into (created if missing; names made file-safe and unique)" },
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_engines = {
	"engines", "List the engines of a .pt2 archive, or extract them with -d DIR.",
	"FILE.pt2 [-d DIR]", opts, 1, 1, run,
};

/* Longest file name stem for an engine: "<stem>-<n>.engine" and its temporary file
 * ("<stem>-<n>.engine.tmp.<pid>.XXXXXX") stay far below NAME_MAX (255). */
#define STEM_MAX 200
#define HASH_TAIL 17 /* "~" + 16 hex digits */

static uint64_t fnv1a64(const char *p)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3u;
	}
	return h;
}

/*
 * A file-name-safe stem for engine name `name` into dst[STEM_MAX + 1]: [A-Za-z0-9_.-] kept (no
 * leading '.'), anything else '_'; a name longer than STEM_MAX keeps its first bytes and ends in
 * '~' + a hash of the whole name, so long names that differ late stay apart.
 */
static void safe_name(char *dst, const char *name)
{
	size_t n = strlen(name), j = 0;
	size_t keep = n > STEM_MAX ? STEM_MAX - HASH_TAIL : n;
	for (size_t i = 0; i < keep; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		bool keep_c = ok && !(j == 0 && c == '.');
		dst[j++] = keep_c ? c : '_';
	}
	if (n > STEM_MAX)
		j += (size_t)snprintf(dst + j, HASH_TAIL + 1, "~%016llx", (unsigned long long)fnv1a64(name));
	if (j == 0)
		dst[j++] = '_';
	dst[j] = 0;
}

/* The stems given so far (engines are extracted in order, so the names are deterministic). */
typedef struct stem_set {
	char (*v)[STEM_MAX + 16];
	size_t n;
} stem_set;

static bool stem_used(const stem_set *s, const char *stem)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], stem) == 0)
			return true;
	return false;
}

/* A stem no earlier engine got: `base`, else base-2, base-3, ... (two names that sanitise alike,
 * such as "a/b" and "a_b", must not overwrite each other's files). */
static void unique_stem(stem_set *s, const char *base, char *out)
{
	snprintf(out, STEM_MAX + 16, "%s", base);
	for (unsigned k = 2; stem_used(s, out); k++)
		snprintf(out, STEM_MAX + 16, "%s-%u", base, k);
	memcpy(s->v[s->n++], out, STEM_MAX + 16);
}

static int write_or_fail(const char *path, const void *data, size_t len)
{
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_file_write(path, data, len, &err);
	return rc ? cli_fail(path, rc, &err) : EXIT_OK;
}

static int run(const opt_result *r)
{
	const char *in = r->positional[0];
	if (cli_check_input(in))
		return EXIT_IO;
	const char *dir = r->value[cli_opt(&cmd_engines, "dir")];
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	int rc = pt2c_program_open(&p, in, NULL, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	size_t n = pt2c_program_engine_count(p);
	if (dir && mkdir(dir, 0777) != 0 && errno != EEXIST) {
		pt2c_program_free(p);
		return cli_failf(EXIT_IO, dir, "cannot create folder: %s", strerror(errno));
	}
	int status = EXIT_OK;
	stem_set used = { NULL, 0 };
	if (dir && n > 0 && !(used.v = calloc(n, sizeof *used.v))) {
		pt2c_program_free(p);
		return cli_failf(EXIT_NOMEM, in, "out of memory");
	}
	for (size_t i = 0; i < n && status == EXIT_OK; i++) {
		pt2c_engine_info info;
		if (pt2c_program_engine_info(p, i, &info) != 0)
			continue;
		if (!dir) {
			/* names and record strings are untrusted: control characters are printed escaped */
			cli_put_escaped(stdout, info.owner);
			putchar('\t');
			cli_put_escaped(stdout, info.name);
			printf("\tabi=%u\t", info.abi);
			cli_put_escaped(stdout, info.platform);
			putchar('\t');
			cli_put_escaped(stdout, info.device);
			printf("\t%llu bytes\n", (unsigned long long)info.engine_bytes);
			continue;
		}
		const char *name = info.name && info.name[0] ? info.name : info.owner;
		char base[STEM_MAX + 1], stem[STEM_MAX + 16], path[4096];
		safe_name(base, name);
		unique_stem(&used, base, stem);
		uint8_t *bytes = NULL;
		size_t len = 0;
		rc = pt2c_program_engine_bytes(p, i, &bytes, &len, &err);
		if (rc) {
			status = cli_fail(in, rc, &err); /* PT2C_ENOMEM: exit 4 */
			break;
		}
		if (snprintf(path, sizeof path, "%s/%s.engine", dir, stem) >= (int)sizeof path) {
			pt2c_free(bytes);
			status = cli_failf(EXIT_IO, dir, "folder name too long");
			break;
		}
		status = write_or_fail(path, bytes, len);
		pt2c_free(bytes);
		if (status)
			break;
		char *json = NULL;
		size_t jlen = 0;
		if ((rc = pt2c_program_engine_record_json(p, i, &json, &jlen)) != 0) {
			status = cli_failf(cli_exit_code(rc), in, "%s", pt2c_strerror(rc));
			break;
		}
		snprintf(path, sizeof path, "%s/%s.json", dir, stem);
		status = write_or_fail(path, json, jlen);
		pt2c_free(json);
		if (status)
			break;
		if (!cli_quiet) {
			printf("%s/%s.engine (%zu bytes)", dir, stem, len);
			if (strcmp(stem, name) != 0) { /* sanitised, shortened or made unique: say whose it is */
				fputs(" <- engine \"", stdout);
				cli_put_escaped(stdout, name);
				putchar('"');
			}
			putchar('\n');
		}
	}
	free(used.v);
	pt2c_program_free(p);
	return status;
}
