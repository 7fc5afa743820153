/* opt.c -- table-driven option parsing and error reporting for the pt2c command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

bool cli_quiet;

static int opt_count(const cli_command *cmd)
{
	int n = 0;
	while (cmd->opts && cmd->opts[n].long_name)
		n++;
	return n;
}

int cli_opt(const cli_command *cmd, const char *long_name)
{
	for (int i = 0; i < opt_count(cmd); i++)
		if (strcmp(cmd->opts[i].long_name, long_name) == 0)
			return i;
	return -1;
}

void cli_usage(const cli_command *cmd, FILE *f)
{
	fprintf(f, "usage: pt2c %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary);
	for (int i = 0; i < opt_count(cmd); i++) {
		const opt_spec *o = &cmd->opts[i];
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name, o->type != OPT_FLAG ? " " : "",
			         o->type != OPT_FLAG ? o->value_name : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->long_name, o->type != OPT_FLAG ? " " : "",
			         o->type != OPT_FLAG ? o->value_name : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
	fprintf(f, "  %-28s %s\n", "-q, --quiet", "no progress output");
	fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

/* Find a table entry by long name (exact) or short letter. */
static int find_opt(const cli_command *cmd, const char *lname, size_t lname_len, char sname)
{
	for (int i = 0; i < opt_count(cmd); i++) {
		const opt_spec *o = &cmd->opts[i];
		if (lname && strlen(o->long_name) == lname_len && strncmp(o->long_name, lname, lname_len) == 0)
			return i;
		if (!lname && sname && o->short_name == sname)
			return i;
	}
	return -1;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, opt_result *r)
{
	memset(r, 0, sizeof *r);
	bool only_positional = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!only_positional && strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (!only_positional && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			cli_usage(cmd, stdout);
			return -1;
		}
		if (!only_positional && (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)) {
			cli_quiet = true;
			continue;
		}
		if (!only_positional && a[0] == '-' && a[1] != 0) {
			int idx;
			const char *inline_value = NULL;
			if (a[1] == '-') {
				const char *eq = strchr(a + 2, '=');
				size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
				idx = find_opt(cmd, a + 2, n, 0);
				if (eq)
					inline_value = eq + 1;
			} else {
				idx = a[2] == 0 ? find_opt(cmd, NULL, 0, a[1]) : -1;
			}
			if (idx < 0) {
				fprintf(stderr, "pt2c %s: unknown option '%s'\n", cmd->name, a);
				cli_usage(cmd, stderr);
				return EXIT_USAGE;
			}
			r->set[idx] = true;
			if (cmd->opts[idx].type == OPT_VALUE || cmd->opts[idx].type == OPT_MULTI) {
				if (inline_value) {
					r->value[idx] = inline_value;
				} else if (i + 1 < argc) {
					r->value[idx] = argv[++i];
				} else {
					fprintf(stderr, "pt2c %s: option '%s' needs a value\n", cmd->name, a);
					return EXIT_USAGE;
				}
				if (cmd->opts[idx].type == OPT_MULTI) {
					if (r->n_multi >= CLI_MAX_MULTI) {
						fprintf(stderr, "pt2c %s: more than %d repeated options\n", cmd->name, CLI_MAX_MULTI);
						return EXIT_USAGE;
					}
					r->multi_opt[r->n_multi] = idx;
					r->multi[r->n_multi++] = r->value[idx];
				}
			} else if (inline_value) {
				fprintf(stderr, "pt2c %s: option '%s' takes no value\n", cmd->name, a);
				return EXIT_USAGE;
			}
			continue;
		}
		if (r->n_positional >= cmd->max_positional || r->n_positional >= 8) {
			fprintf(stderr, "pt2c %s: unexpected argument '%s'\n", cmd->name, a);
			cli_usage(cmd, stderr);
			return EXIT_USAGE;
		}
		r->positional[r->n_positional++] = a;
	}
	if (r->n_positional < cmd->min_positional) {
		fprintf(stderr, "pt2c %s: missing argument\n", cmd->name);
		cli_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int cli_exit_code(int code)
{
	switch (code) {
	case 0: return EXIT_OK;
	case PT2C_EIO: return EXIT_IO;
	case PT2C_ENOMEM: return EXIT_NOMEM;
	case PT2C_EINVALID: return EXIT_USAGE;
	default: return EXIT_BAD_INPUT;
	}
}

int cli_fail(const char *file, int code, const pt2c_error *err)
{
	char msg[1200];
	pt2c_error e = *err;
	if (!e.file[0] && file)
		snprintf(e.file, sizeof e.file, "%s", file);
	if (!e.message[0])
		snprintf(e.message, sizeof e.message, "%s", pt2c_strerror(code));
	pt2c_error_format(&e, msg, sizeof msg);
	cli_progress_end();
	fprintf(stderr, "pt2c: %s\n", msg);
	return cli_exit_code(code);
}

int cli_failf(int exit_code, const char *file, const char *fmt, ...)
{
	va_list ap;
	cli_progress_end();
	fputs("pt2c: ", stderr);
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return exit_code;
}

static volatile bool progress_drawn;

bool cli_progress_drawn(void)
{
	return progress_drawn;
}

void cli_progress(uint64_t done, uint64_t total, void *payload)
{
	(void)payload;
	if (cli_quiet || !isatty(2) || total == 0)
		return;
	int width = 40;
	int filled = (int)((double)done / (double)total * width);
	if (filled > width)
		filled = width;
	char bar[64];
	memset(bar, '#', (size_t)filled);
	memset(bar + filled, '.', (size_t)(width - filled));
	bar[width] = 0;
	fprintf(stderr, "\r[%s] %5.1f%% %llu MiB", bar, 100.0 * (double)done / (double)total,
	        (unsigned long long)(done >> 20));
	progress_drawn = true;
}

void cli_progress_end(void)
{
	if (progress_drawn) {
		fputc('\n', stderr);
		progress_drawn = false;
	}
}

void cli_put_escaped(FILE *f, const char *s)
{
	char *e = NULL;
	if (pt2c_text_escape(s ? s : "", &e, NULL) == 0)
		fputs(e, f);
	else
		fputs("<out of memory>", f);
	pt2c_free(e);
}

int cli_check_output(const char *cmd, const char *out)
{
	if (!out)
		return cli_failf(EXIT_USAGE, NULL, "%s needs -o OUT.pt2", cmd);
	if (!out[0])
		return cli_failf(EXIT_USAGE, NULL, "%s: -o needs a file name, got an empty one", cmd);
	struct stat st;
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
		const char *kind = S_ISDIR(st.st_mode) ? "a folder" : S_ISCHR(st.st_mode) ? "a character device"
		                 : S_ISBLK(st.st_mode) ? "a block device" : S_ISFIFO(st.st_mode) ? "a FIFO"
		                 : S_ISSOCK(st.st_mode) ? "a socket" : "not a regular file";
		return cli_failf(EXIT_USAGE, out,
		                 "is %s: pt2c writes a temporary file and renames it into place, which would replace it; "
		                 "give the path of a regular file", kind);
	}
	return 0;
}

int cli_check_input(const char *path)
{
	cli_set_input(path);
	if (access(path, R_OK) == 0)
		return EXIT_OK;
	return cli_failf(EXIT_IO, path, "cannot read: %s", strerror(errno));
}

int cli_write_program(const cli_command *cmd, const opt_result *r, pt2c_program *p, const char *out)
{
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	wo.progress = cli_progress;
	int ti = cli_opt(cmd, "threads");
	const char *tv = ti >= 0 ? r->value[ti] : NULL;
	if (tv) {
		char *end = NULL;
		errno = 0;
		unsigned long n = strtoul(tv, &end, 10);
		if (!*tv || *end || errno || n < 1 || n > 1024 || tv[0] == '-' || tv[0] == '+') {
			pt2c_program_free(p);
			return cli_failf(EXIT_USAGE, NULL, "--threads takes a number from 1 to 1024, not '%s'", tv);
		}
		wo.threads = (unsigned)n;
	}
	int rc = pt2c_program_write(p, out, &wo, &err);
	pt2c_program_free(p);
	return rc ? cli_fail(out, rc, &err) : EXIT_OK;
}

int cli_open_for_rewrite(const cli_command *cmd, const opt_result *r, pt2c_program **p, const char **in,
                         const char **out)
{
	*p = NULL;
	*in = r->positional[0];
	if (cli_check_input(*in))
		return EXIT_IO;
	*out = r->value[cli_opt(cmd, "output")];
	int rc = cli_check_output(cmd->name, *out);
	if (rc)
		return rc;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.flags = PT2C_READ_VERIFY_CRC;
	if ((rc = pt2c_program_open(p, *in, &ro, &err)))
		return cli_fail(*in, rc, &err);
	return 0;
}

int cli_write_checked_program(const cli_command *cmd, const opt_result *r, pt2c_program *p, const char *in,
                              const char *out)
{
	pt2c_error err = PT2C_ERROR_INIT;
	int rc = pt2c_program_lint(p, &err);
	if (rc) {
		pt2c_program_free(p);
		size_t n = strlen(err.message);
		if (n + 40 < sizeof err.message)
			snprintf(err.message + n, sizeof err.message - n, " (%s not written)", out);
		return cli_fail(in, rc, &err);
	}
	return cli_write_program(cmd, r, p, out);
}
