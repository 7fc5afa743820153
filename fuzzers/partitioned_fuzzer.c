/*
 * partitioned_fuzzer.c -- read arbitrary bytes as a partitioned-module JSON document. Accepted
 * modules are linted and printed (exercising the IR built from hostile input), then freed.
 *
 * Each input is read twice: once with fallback graphs of two nodes or more going to worker
 * threads (serde/partitioned_json_par.c; on two CPUs or more), once in order. Both must agree:
 * the same code, message, member and offset on failure, the same printed module on success.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One read with the given threshold for workers: rc, and the printed module (malloc'd) on success. */
static int read_once(const uint8_t *data, size_t size, uint32_t min_items, char **printed, pt2c_error *err)
{
	uint32_t saved = pt2c__thread_tuning.min_items;
	pt2c__thread_tuning.min_items = min_items;
	pt2c_module *m = NULL;
	*err = (pt2c_error)PT2C_ERROR_INIT;
	*printed = NULL;
	int rc = pt2c__partitioned_json_read(&m, (const char *)data, size, NULL, err);
	pt2c__thread_tuning.min_items = saved;
	if (rc) {
		if (m != NULL) abort(); /* failure must leave *out NULL */
		return rc;
	}
	pt2c_error lerr = PT2C_ERROR_INIT;
	(void)pt2c__graph_lint(m->graph, NULL, NULL, &lerr);
	for (uint32_t i = 0; i < m->n_subs; i++)
		if (m->subs[i].fallback) (void)pt2c__graph_lint(m->subs[i].fallback->graph, NULL, NULL, &lerr);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	if (pt2c__module_print(&b, m) == 0) {
		pt2c__buf_cstr(&b);
		if (b.err == 0) *printed = (char *)b.data;
		else pt2c__buf_free(&b);
	} else {
		pt2c__buf_free(&b);
	}
	pt2c__module_free(m);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = NULL, *b = NULL;
	pt2c_error ea, eb;
	int ra = read_once(data, size, 2, &a, &ea);
	int rb = read_once(data, size, UINT32_MAX, &b, &eb);
	if (ra != rb) abort();
	if (ra && (strcmp(ea.message, eb.message) != 0 || strcmp(ea.member, eb.member) != 0 || ea.offset != eb.offset))
		abort();
	if (!ra && (!a) != (!b)) abort();
	if (a && b && strcmp(a, b) != 0) abort();
	free(a);
	free(b);
	return 0;
}
