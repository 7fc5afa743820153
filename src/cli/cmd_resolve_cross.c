/* cmd_resolve_cross.c -- pt2c resolve-cross IN.pt2 -o OUT.pt2 */
#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_VALUE, 'o', "output", "OUT.pt2", "where to write the resolved program (required)" },
	CLI_OPT_THREADS,
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_resolve_cross = {
	"resolve-cross", "Replace cross-compile placeholders by execute_engine calls on engine objects.",
	"IN.pt2 -o OUT.pt2 [--threads N]", opts, 1, 1, run,
};

static int run(const opt_result *r)
{
	const char *in, *out;
	pt2c_program *p;
	int rc = cli_open_for_rewrite(&cmd_resolve_cross, r, &p, &in, &out);
	if (rc)
		return rc;
	pt2c_error err = PT2C_ERROR_INIT;
	rc = pt2c_program_resolve_cross(p, &err);
	if (rc) {
		pt2c_program_free(p);
		return cli_fail(in, rc, &err);
	}
	return cli_write_checked_program(&cmd_resolve_cross, r, p, in, out);
}
