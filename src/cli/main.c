/*
 * main.c -- the pt2c command: dispatch to the subcommands listed in one table.
 */
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__) || defined(__has_include)
#if defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif
#endif
#endif

#include "cli.h"

extern const cli_command cmd_export, cmd_inspect, cmd_verify, cmd_resolve_cross, cmd_engines, cmd_convert;

static const cli_command *const commands[] = {
	&cmd_export, &cmd_inspect, &cmd_verify, &cmd_resolve_cross, &cmd_engines, &cmd_convert,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pt2c [--version] [--help] <command> [<args>]\n\n"
	           "Export Torch-TensorRT partitioned modules to PyTorch 2.11 .pt2 archives, and inspect,\n"
	           "verify and rewrite .pt2 archives.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'pt2c <command> --help' describes a command.\n\n"
	           "exit status: 0 success; 1 bad input (corrupt, unsupported or inconsistent; verify found\n"
	           "problems); 2 bad command line; 3 I/O error (also: an input file changed while being\n"
	           "read); 4 out of memory; killed by SIGINT/SIGTERM/SIGHUP/SIGQUIT: that signal's status,\n"
	           "after the temporary output file is removed.\n"
	           "Errors are printed on stderr as 'pt2c: <file>: <member>: <message>'.\n");
}

int main(int argc, char **argv)
{
#if defined(M_MMAP_THRESHOLD)
	/*
	 * glibc raises its mmap threshold as large blocks are freed, so the big temporaries of a
	 * graph-heavy run (id tables, node maps) end up on the heap and their pages stay resident
	 * after free. A fixed 1 MiB threshold keeps blocks that large in their own mappings, given
	 * back on free: the peak is what is in use, not the sum of what once was.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
	cli_signals_install();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("pt2c %s\n", pt2c_version());
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const cli_command *cmd = commands[i];
		if (strcmp(argv[1], cmd->name) != 0)
			continue;
		opt_result r;
		int rc = cli_parse(cmd, argc - 2, argv + 2, &r);
		if (rc == -1)
			return EXIT_OK;
		if (rc)
			return rc;
		rc = cmd->run(&r);
		cli_progress_end();
		return rc;
	}
	fprintf(stderr, "pt2c: '%s' is not a pt2c command; see 'pt2c --help'\n", argv[1]);
	return EXIT_USAGE;
}
