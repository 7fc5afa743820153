/*
 * cli.h -- shared pieces of the pt2c command line: the option table parser, error reporting in
 * the "pt2c: <file>: <message>" form, and the mapping from library codes to exit codes.
 * The CLI is an ordinary client of the public API (include/pt2c.h).
 */
#ifndef PT2C_CLI_H
#define PT2C_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "pt2c.h"

/* Exit codes, documented in `pt2c --help` and the README. */
enum {
	EXIT_OK = 0,
	EXIT_BAD_INPUT = 1, /* corrupt, unsupported or inconsistent input; verify found problems */
	EXIT_USAGE = 2,     /* bad command line */
	EXIT_IO = 3,        /* could not read or write a file */
	EXIT_NOMEM = 4,
};

enum { OPT_FLAG, OPT_VALUE,
       OPT_MULTI /* a value option that may be repeated: every value is in opt_result.multi (in order) */ };

typedef struct opt_spec {
	int type;            /* OPT_FLAG or OPT_VALUE */
	char short_name;     /* 0 if none */
	const char *long_name;
	const char *value_name; /* for OPT_VALUE, shown in help */
	const char *help;
} opt_spec;

#define CLI_MAX_MULTI 64

typedef struct opt_result {
	bool set[32];
	const char *value[32];
	const char *positional[8];
	int n_positional;
	/* OPT_MULTI values, in command-line order: multi[i] was given to option multi_opt[i] */
	const char *multi[CLI_MAX_MULTI];
	int multi_opt[CLI_MAX_MULTI];
	int n_multi;
} opt_result;

typedef struct cli_command {
	const char *name;
	const char *summary;
	const char *usage;   /* after "pt2c <name> " */
	const opt_spec *opts; /* terminated by a zeroed entry */
	int min_positional, max_positional;
	int (*run)(const opt_result *r);
} cli_command;

/** Parse argv (after the subcommand name). Prints usage errors; returns 0, EXIT_USAGE, or -1 for --help. */
int cli_parse(const cli_command *cmd, int argc, char **argv, opt_result *r);
void cli_usage(const cli_command *cmd, FILE *f);
/** Index of an option by long name in the command's table (for opt_result lookups). */
int cli_opt(const cli_command *cmd, const char *long_name);

/** Report a library failure as "pt2c: <file>: <member>: <message>" and return the exit code. */
int cli_fail(const char *file, int code, const pt2c_error *err);
/** Report a plain message as "pt2c: <file>: <message>" and return `exit_code`. */
int cli_failf(int exit_code, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cli_exit_code(int code);

extern bool cli_quiet;
/** A progress callback that draws a bar on stderr when it is a terminal and -q was not given. */
void cli_progress(uint64_t done, uint64_t total, void *payload);
void cli_progress_end(void);

/**
 * The -o value of command `cmd`: missing or empty is a usage error; an existing path that is not a
 * regular file (a device node such as /dev/stdout or /dev/null, a FIFO, a folder) is refused, since
 * writing a temporary file and renaming it into place would replace the node (issue 11 #2).
 * Returns 0 or the exit code, having reported the problem.
 */
int cli_check_output(const char *cmd, const char *out);
/** 0 if `path` can be read; else reports "pt2c: <path>: <strerror>" and returns EXIT_IO. */
int cli_check_input(const char *path);

/* MARK: writing programs (export, convert, resolve-cross) */
#define CLI_OPT_THREADS { OPT_VALUE, 0, "threads", "N", \
	"threads that write the archive (default: one per CPU; the bytes are the same for any N)" }
/**
 * Write `p` to `out` with a progress bar and the command's --threads, then free it (always).
 * Returns the exit code, having reported any failure as "pt2c: <out>: ..." (a bad --threads
 * value is a usage error).
 */
int cli_write_program(const cli_command *cmd, const opt_result *r, pt2c_program *p, const char *out);
/**
 * The start of a rewriting command (convert, resolve-cross): checks IN (r->positional[0]) and
 * -o OUT, then opens IN with every copied member checked against its CRC (rewriting would sign
 * corrupt bytes with a fresh, matching CRC: issue 11 #4). Returns 0 with *p, *in and *out set,
 * or the exit code, having reported the failure.
 */
int cli_open_for_rewrite(const cli_command *cmd, const opt_result *r, pt2c_program **p, const char **in,
                         const char **out);
/**
 * cli_write_program after pt2c_program_lint: a program that `verify` would reject is reported as
 * "pt2c: <in>: ...: not written" (exit 1) and nothing is written. Frees p (always).
 */
int cli_write_checked_program(const cli_command *cmd, const opt_result *r, pt2c_program *p, const char *in,
                              const char *out);

/* MARK: extra files (--extra-file NAME=PATH, repeatable; export and convert) */
#define CLI_OPT_EXTRA_FILE { OPT_MULTI, 0, "extra-file", "NAME=PATH", \
	"add PATH's text as extra file NAME (extra/NAME); repeatable" }
/**
 * Apply the command's --extra-file options to p (NAME=PATH: PATH's bytes become extra file NAME).
 * On failure p is freed and the exit code returned, having been reported; 0 otherwise.
 */
int cli_apply_extra_files(const cli_command *cmd, const opt_result *r, pt2c_program *p);

/**
 * Print s to f escaped by pt2c_text_escape (pt2c/common.h): printable ASCII and valid UTF-8 as they are; backslash, newline,
 * tab, CR as \\, \n, \t, \r; other control characters (C0, DEL, C1, bidirectional overrides)
 * and invalid UTF-8 as \xHH (the rules of `inspect`'s text output).
 */
void cli_put_escaped(FILE *f, const char *s);

/* MARK: signals (signals.c) */
/** Install the handlers: temporary files removed on SIGINT/SIGTERM/SIGHUP/SIGQUIT (then the
 * default action), SIGBUS from a shrunk input reported (exit EXIT_IO), SIGXFSZ ignored. */
void cli_signals_install(void);
/** The input file that a SIGBUS names (cli_check_input sets it). */
void cli_set_input(const char *path);
/** Whether a progress bar is on the current line (async-signal-safe read). */
bool cli_progress_drawn(void);

#endif
