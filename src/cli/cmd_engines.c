/* cmd_engines.c -- pt2c engines FILE -d DIR: each engine's raw bytes and its record as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_VALUE, 'd', "dir", "DIR", "folder to write <name>.engine and <name>.json into (created if missing)" },
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_engines = {
	"engines", "List the engines of a .pt2 archive, or extract them with -d DIR.",
	"FILE.pt2 [-d DIR]", opts, 1, 1, run,
};

/* A file-name-safe version of an engine name. */
static void safe_name(char *dst, size_t size, const char *name)
{
	size_t j = 0;
	for (size_t i = 0; name[i] && j + 1 < size; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		bool keep = ok && !(j == 0 && c == '.');
		dst[j++] = keep ? c : '_';
	}
	if (j == 0)
		dst[j++] = '_';
	dst[j] = 0;
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
	for (size_t i = 0; i < n && status == EXIT_OK; i++) {
		pt2c_engine_info info;
		if (pt2c_program_engine_info(p, i, &info) != 0)
			continue;
		if (!dir) {
			printf("%s\t%s\tabi=%u\t%s\t%s\t%llu bytes\n", info.owner, info.name, info.abi, info.platform,
			       info.device, (unsigned long long)info.engine_bytes);
			continue;
		}
		char base[256], path[4096];
		safe_name(base, sizeof base, info.name && info.name[0] ? info.name : info.owner);
		uint8_t *bytes = NULL;
		size_t len = 0;
		rc = pt2c_program_engine_bytes(p, i, &bytes, &len, &err);
		if (rc) {
			status = cli_fail(in, rc, &err); /* PT2C_ENOMEM: exit 4 */
			break;
		}
		snprintf(path, sizeof path, "%s/%s.engine", dir, base);
		int e = cli_write_file(path, bytes, len);
		pt2c_free(bytes);
		if (e) {
			status = cli_failf(e == ENOMEM ? EXIT_NOMEM : EXIT_IO, path, "cannot write: %s", strerror(e));
			break;
		}
		char *json = NULL;
		size_t jlen = 0;
		if ((rc = pt2c_program_engine_record_json(p, i, &json, &jlen)) != 0) {
			status = cli_failf(cli_exit_code(rc), in, "%s", pt2c_strerror(rc));
			break;
		}
		snprintf(path, sizeof path, "%s/%s.json", dir, base);
		e = cli_write_file(path, json, jlen);
		pt2c_free(json);
		if (e) {
			status = cli_failf(e == ENOMEM ? EXIT_NOMEM : EXIT_IO, path, "cannot write: %s", strerror(e));
			break;
		}
		if (!cli_quiet)
			printf("%s/%s.engine (%zu bytes)\n", dir, base, len);
	}
	pt2c_program_free(p);
	return status;
}
