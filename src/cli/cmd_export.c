/* cmd_export.c -- pt2c export IN -o OUT.pt2 [--cross-compile] */
#include <string.h>

#include "cli.h"

static const opt_spec opts[] = {
	{ OPT_VALUE, 'o', "output", "OUT.pt2", "where to write the program (required)" },
	{ OPT_FLAG, 0, "cross-compile", NULL, "write engines as no_op_placeholder_for_execute_engine calls" },
	/* generations (docs/generations.md) */
	{ OPT_VALUE, 0, "target", "RELEASE", "Torch-TensorRT generation to write: 2.5 .. 2.13 or head (default: the records' ABI)" },
	CLI_OPT_EXTRA_FILE, /* --extra-file NAME=PATH (issue 10 item 6) */
	CLI_OPT_THREADS,
	{ 0, 0, NULL, NULL, NULL },
};

static int run(const opt_result *r);

const cli_command cmd_export = {
	"export", "Export a partitioned module (archive or JSON form) to a PyTorch 2.11 .pt2 archive.",
	"IN -o OUT.pt2 [--cross-compile] [--target RELEASE] [--extra-file NAME=PATH]... [--threads N]", opts, 1, 1, run,
};

static int run(const opt_result *r)
{
	int rc0;
	const char *in = r->positional[0];
	if (cli_check_input(in))
		return EXIT_IO;
	const char *out = r->value[cli_opt(&cmd_export, "output")];
	if ((rc0 = cli_check_output("export", out)))
		return rc0;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_module *m = NULL;
	int rc = pt2c_module_open(&m, in, NULL, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	pt2c_export_options eo = PT2C_EXPORT_OPTIONS_INIT;
	eo.cross_compile = r->set[cli_opt(&cmd_export, "cross-compile")];
	eo.target = r->value[cli_opt(&cmd_export, "target")]; /* generations */
	pt2c_program *p = NULL;
	rc = pt2c_export(&p, &m, &eo, &err);
	if (rc)
		return cli_fail(in, rc, &err);
	if ((rc = cli_apply_extra_files(&cmd_export, r, p)))
		return rc;
	return cli_write_program(&cmd_export, r, p, out);
}
