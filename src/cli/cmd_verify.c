/* cmd_verify.c -- pt2c verify FILE: zip structure + CRCs, schema, graph lint, signature. */
#include <stdio.h>

#include "cli.h"

static const opt_spec opts[] = {
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_verify = {
	"verify", "Check a .pt2 archive (CRCs, JSON schema, graph lint, signature); exit 0 only if clean.",
	"FILE.pt2", opts, 1, 1, run,
};

static int run(const opt_result *r)
{
	const char *in = r->positional[0];
	if (cli_check_input(in))
		return EXIT_IO;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_read_options ro = PT2C_READ_OPTIONS_INIT;
	ro.flags = PT2C_READ_VERIFY_CRC;
	pt2c_program *p = NULL;
	int rc = pt2c_program_open(&p, in, &ro, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	rc = pt2c_program_lint(p, &err);
	pt2c_program_free(p);
	if (rc)
		return cli_fail(in, rc, &err);
	if (!cli_quiet)
		printf("%s: ok\n", in);
	return EXIT_OK;
}
