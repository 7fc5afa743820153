/*
 * parch_fuzzer.c -- read arbitrary bytes as a partitioned-module archive. Accepted modules are
 * linted, written back in both forms (exercising the writers on IR built from hostile input;
 * every view was checked against its member, so writing must not read out of bounds) and the
 * archive written is read again, then everything is freed.
 *
 * Inputs that do not start with "PK" are taken as module.json and wrapped in an archive that
 * also holds weights/0 (64 bytes), weights/1 (3 bytes) and engines/_run_on_acc_0: mutations of
 * a zipped module.json die at its CRC, so this is how member references get fuzzed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "serde/serde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The archive around a module.json given as input (see above). */
static int wrap(pt2c_buf *out, const uint8_t *json, size_t n)
{
	static const uint8_t w0[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	pt2c_zipw w;
	pt2c__zipw_init(&w, pt2c__sink_buf(out), NULL);
	pt2c__zipw_add(&w, "partitioned/format", "pt2c-partitioned", 16);
	pt2c__zipw_add(&w, "partitioned/version", "1", 1);
	pt2c__zipw_add(&w, "partitioned/weights/0", w0, sizeof w0);
	pt2c__zipw_add(&w, "partitioned/weights/1", "abc", 3);
	pt2c__zipw_add(&w, "partitioned/engines/_run_on_acc_0", "ENGINE!!", 8);
	pt2c__zipw_add(&w, "partitioned/module.json", json, n);
	int rc = pt2c__zipw_finish(&w);
	pt2c__zipw_free(&w);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_module *m = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	pt2c_buf wrapped;
	pt2c__buf_init(&wrapped, NULL);
	if (!(size >= 2 && data[0] == 'P' && data[1] == 'K')) {
		if (wrap(&wrapped, data, size) != 0 || wrapped.err) {
			pt2c__buf_free(&wrapped);
			return 0;
		}
		data = (const uint8_t *)wrapped.data;
		size = wrapped.len;
	}
	int rc = pt2c__partitioned_archive_read(&m, data, size, NULL, NULL, &err);
	if (rc != 0) {
		if (m != NULL) abort(); /* failure must leave *out NULL */
		pt2c__buf_free(&wrapped);
		return 0;
	}
	(void)pt2c__graph_lint(m->graph, NULL, NULL, &err);
	for (uint32_t i = 0; i < m->n_subs; i++)
		if (m->subs[i].fallback) (void)pt2c__graph_lint(m->subs[i].fallback->graph, NULL, NULL, &err);
	pt2c_buf b;
	pt2c__buf_init(&b, NULL);
	(void)pt2c__partitioned_json_write(&b, m, false);
	pt2c__buf_free(&b);
	pt2c__buf_init(&b, NULL);
	if (pt2c__partitioned_archive_write(m, pt2c__sink_buf(&b), &err) == 0) {
		pt2c_module *m2 = NULL;
		/* what pt2c wrote from a module it accepted must read back */
		if (pt2c__partitioned_archive_read(&m2, (const uint8_t *)b.data, b.len, NULL, NULL, &err) != 0) abort();
		pt2c__module_free(m2);
	}
	pt2c__buf_free(&b);
	pt2c__module_free(m);
	pt2c__buf_free(&wrapped);
	return 0;
}
