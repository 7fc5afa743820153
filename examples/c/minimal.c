/*
 * minimal.c -- the smallest complete use of the pt2c library: read a Torch-TensorRT partitioned
 * module (JSON form), export it, write it as a PyTorch 2.11 .pt2 archive, then open that archive
 * again and print its summary.
 *
 *   cc minimal.c $(pkg-config --cflags --libs pt2c) -o minimal
 *   ./minimal model.partitioned.json model.pt2
 *
 * Exit status: 0 on success, 1 on any pt2c failure (the formatted error goes to stderr),
 * 2 on a bad command line.
 */
#include <stdio.h>

#include <pt2c.h>

/* Print "minimal: <formatted error> [<code name>]" to stderr and return the failing exit status. */
static int fail(const pt2c_error *err, int rc)
{
	char msg[PT2C_ERROR_MESSAGE_MAX + 2 * PT2C_ERROR_WHERE_MAX + 64];
	pt2c_error_format(err, msg, sizeof msg);
	fprintf(stderr, "minimal: %s [%s]\n", msg, pt2c_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s IN.partitioned.json OUT.pt2\n", argc > 0 ? argv[0] : "minimal");
		return 2;
	}
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_module *m = NULL;
	pt2c_program *p = NULL;
	int rc = pt2c_module_load_json(&m, argv[1], NULL, &err);
	if (rc)
		return fail(&err, rc);

	pt2c_export_options eo = PT2C_EXPORT_OPTIONS_INIT;
	rc = pt2c_export(&p, &m, &eo, &err); /* consumes m, success or not */
	if (rc)
		return fail(&err, rc);

	pt2c_write_options wo = PT2C_WRITE_OPTIONS_INIT;
	rc = pt2c_program_write(p, argv[2], &wo, &err);
	pt2c_program_free(p);
	p = NULL;
	if (rc)
		return fail(&err, rc);

	/* Read back what was written, so the summary describes the archive on disk. */
	rc = pt2c_program_open(&p, argv[2], NULL, &err);
	if (rc)
		return fail(&err, rc);
	char *text = NULL;
	size_t len = 0;
	rc = pt2c_program_summary(p, 0, &text, &len);
	pt2c_program_free(p);
	if (rc) {
		err.code = rc;
		snprintf(err.message, sizeof err.message, "cannot summarize the program");
		return fail(&err, rc);
	}
	fwrite(text, 1, len, stdout);
	pt2c_free(text);
	return 0;
}
