/* extra_files.c -- --extra-file NAME=PATH for export and convert: PATH's bytes become extra/NAME. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* Read a whole regular file; NULL with *why (a static text) on failure, *oom for no memory. */
static char *slurp(const char *path, size_t *len, const char **why, bool *oom)
{
	*oom = false;
	FILE *f = fopen(path, "rb");
	if (!f) {
		*why = strerror(errno);
		return NULL;
	}
	struct stat st;
	char *buf = NULL;
	if (fstat(fileno(f), &st) != 0) {
		*why = strerror(errno);
	} else if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
	} else if ((unsigned long long)st.st_size >= (unsigned long long)SIZE_MAX ||
	           !(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		*why = "out of memory";
		*oom = true;
	} else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		*why = ferror(f) ? "read error" : "the file changed while read";
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)st.st_size;
	}
	fclose(f);
	return buf;
}

int cli_apply_extra_files(const cli_command *cmd, const opt_result *r, pt2c_program *p)
{
	int idx = cli_opt(cmd, "extra-file");
	for (int i = 0; idx >= 0 && i < r->n_multi; i++) {
		if (r->multi_opt[i] != idx)
			continue;
		const char *arg = r->multi[i];
		const char *eq = strchr(arg, '=');
		int rc = EXIT_OK;
		if (!eq || eq == arg || !eq[1]) {
			rc = cli_failf(EXIT_USAGE, NULL, "--extra-file takes NAME=PATH, not '%s'", arg);
		} else {
			size_t nl = (size_t)(eq - arg);
			for (int k = 0; k < i && !rc; k++) /* one name given twice: which one is meant? */
				if (r->multi_opt[k] == idx && strncmp(r->multi[k], arg, nl) == 0 && r->multi[k][nl] == '=')
					rc = cli_failf(EXIT_USAGE, NULL, "--extra-file %.*s is given twice", (int)nl, arg);
			char *name = rc ? NULL : strndup(arg, nl);
			pt2c_error err = PT2C_ERROR_INIT;
			if (!rc && !name) {
				rc = cli_failf(EXIT_NOMEM, NULL, "out of memory");
			} else if (!rc && (rc = pt2c_extra_file_name_check(name, &err)) != 0) {
				rc = cli_failf(EXIT_USAGE, NULL, "--extra-file: %s", err.message);
			} else if (!rc) {
				size_t len = 0;
				const char *why = NULL;
				bool oom = false;
				char *data = slurp(eq + 1, &len, &why, &oom);
				if (!data) {
					rc = cli_failf(oom ? EXIT_NOMEM : EXIT_IO, eq + 1, "cannot read: %s", why);
				} else {
					int lrc = pt2c_program_set_extra_file(p, name, data, len, &err);
					if (lrc)
						rc = cli_fail(eq + 1, lrc, &err);
					free(data);
				}
			}
			free(name);
		}
		if (rc) {
			pt2c_program_free(p);
			return rc;
		}
	}
	return EXIT_OK;
}
