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
	int rc0;
	const char *in = r->positional[0];
	if (cli_check_input(in))
		return EXIT_IO;
	const char *out = r->value[cli_opt(&cmd_resolve_cross, "output")];
	if ((rc0 = cli_check_output("resolve-cross", out)))
		return rc0;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_program *p = NULL;
	/* every member that is copied is checked against its CRC first: rewriting would sign corrupt
	 * bytes with a fresh, matching CRC (issue 11 #4) */
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.flags = PT2C_READ_VERIFY_CRC;
	int rc = pt2c_program_open(&p, in, &ro, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	rc = pt2c_program_resolve_cross(p, &err);
	if (rc) {
		pt2c_program_free(p);
		return cli_fail(in, rc, &err);
	}
	return cli_write_checked_program(&cmd_resolve_cross, r, p, in, out);
}
