/*
 * partitioned_fuzzer.c -- read arbitrary bytes as a partitioned-module JSON document. Accepted
 * modules are linted and printed (exercising the IR built from hostile input), then freed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	if (pt2c__partitioned_json_read(&m, (const char *)data, size, NULL, &err) == 0) {
		(void)pt2c__graph_lint(m->graph, NULL, NULL, &err);
		for (uint32_t i = 0; i < m->n_subs; i++)
			if (m->subs[i].fallback) (void)pt2c__graph_lint(m->subs[i].fallback->graph, NULL, NULL, &err);
		pt2c__module_free(m);
	} else if (m != NULL) {
		abort(); /* failure must leave *out NULL */
	}
	return 0;
}
