/* cmd_convert.c -- pt2c convert IN -o OUT: rewrite any readable archive in the 2.11 layout. */
#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_VALUE, 'o', "output", "OUT.pt2", "where to write the converted archive (required)" },
	/* generations (docs/generations.md) */
	{ OPT_VALUE, 0, "target", "RELEASE", "rewrite for this Torch-TensorRT generation: 2.5 .. 2.13 or head" },
	CLI_OPT_EXTRA_FILE, /* --extra-file NAME=PATH (issue 10 item 6) */
	CLI_OPT_THREADS,
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_convert = {
	"convert", "Rewrite an archive (2.8 or legacy layout too) in the PyTorch 2.11 layout.",
	"IN.pt2 -o OUT.pt2 [--target RELEASE] [--extra-file NAME=PATH]... [--threads N]", opts, 1, 1, run,
};

static int run(const opt_result *r)
{
	const char *in, *out;
	pt2c_program *p;
	int rc = cli_open_for_rewrite(&cmd_convert, r, &p, &in, &out);
	if (rc)
		return rc;
	pt2c_error err = PT2C_ERROR_INIT;
	const char *target = r->value[cli_opt(&cmd_convert, "target")]; /* generations */
	if (target && (rc = pt2c_program_set_target(p, target, &err))) {
		pt2c_program_free(p);
		return cli_fail(in, rc, &err);
	}
	if ((rc = cli_apply_extra_files(&cmd_convert, r, p)))
		return rc;
	return cli_write_checked_program(&cmd_convert, r, p, in, out);
}
