/*
 * passes_fuzzer.c -- input: a partitioned-module JSON text. Read it, export it in normal and in
 * cross-compile mode (every pass + module_to_program + program lint), resolve the cross form
 * back, and free everything. Any crash, leak or sanitizer report is a finding.
 */
#include <stddef.h>
#include <stdint.h>

#include "export/export.h"
#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20)) return 0;
	/* built once: parsing the ~3000 built-in schemas per input would dominate the run */
	static pt2c_schema_table *schemas;
	if (!schemas && pt2c__schema_table_new(&schemas, NULL, NULL)) return 0;
	for (int cross = 0; cross < 2; cross++) {
		pt2c_module *m = NULL;
		pt2c_error err = PT2C_ERROR_INIT;
		if (pt2c__partitioned_json_read(&m, (const char *)data, size, NULL, &err)) continue;
		pt2c_program *p = NULL;
		if (pt2c__export_module(&p, &m, cross != 0, schemas, &err) == 0) {
			(void)pt2c__program_lint(p, &err);
			if (cross && pt2c__program_resolve_cross(p, &err) == 0) (void)pt2c__program_lint(p, &err);
			pt2c__program_free(p);
		}
		pt2c__module_free(m); /* NULL after export */
	}
	return 0;
}
