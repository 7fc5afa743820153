/* cmd_inspect.c -- pt2c inspect FILE [--graph] [--json] */
#include <stdio.h>

#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_FLAG, 'g', "graph", NULL, "print the whole program as PyTorch prints an ExportedProgram" },
	{ OPT_FLAG, 0, "json", NULL, "print the summary as JSON" },
	{ OPT_FLAG, 'm', "members", NULL, "list the archive's members (data offset, size, CRC-32, name)" },
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_inspect = {
	"inspect", "Summarize a .pt2 archive: signature, nodes by target, weights by dtype, engines.",
	"FILE.pt2 [--graph | --json | --members]", opts, 1, 1, run,
};

static int run(const opt_result *r)
{
	const char *in = r->positional[0];
	if (cli_check_input(in))
		return EXIT_IO;
	pt2c_error err = PT2C_ERROR_INIT;
	if (r->set[cli_opt(&cmd_inspect, "members")]) {
		char *list = NULL;
		size_t n = 0;
		int lrc = pt2c_archive_list(in, NULL, &list, &n, &err);
		if (lrc)
			return cli_fail(in, lrc, &err);
		fwrite(list, 1, n, stdout);
		pt2c_free(list);
		return EXIT_OK;
	}
	pt2c_program *p = NULL;
	int rc = pt2c_program_open(&p, in, NULL, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	char *text = NULL;
	size_t len = 0;
	if (r->set[cli_opt(&cmd_inspect, "graph")])
		rc = pt2c_program_print(p, &text, &len);
	else
		rc = pt2c_program_summary(p, r->set[cli_opt(&cmd_inspect, "json")], &text, &len);
	if (rc == 0)
		fwrite(text, 1, len, stdout);
	pt2c_free(text);
	pt2c_program_free(p);
	if (rc)
		return cli_failf(cli_exit_code(rc), in, "%s", pt2c_strerror(rc));
	return EXIT_OK;
}
