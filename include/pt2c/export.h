/*
 * pt2c/export.h -- turning a partitioned module into an exported program (what the
 * Torch-TensorRT exporter does, without its defects), pass by pass or all at once.
 */
#ifndef PT2C_EXPORT_H
#define PT2C_EXPORT_H

#include "pt2c/common.h"
#include "pt2c/module.h"
#include "pt2c/program.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt2c_export_options {
	unsigned int version;  /**< PT2C_EXPORT_OPTIONS_VERSION (1 is still accepted: no `target`) */
	int cross_compile;     /**< nonzero: engines become no_op_placeholder_for_execute_engine calls */
	/* --- version 2 --- */
	/**
	 * Torch-TensorRT file generation to write (docs/generations.md): "2.5" ... "2.13" or "head";
	 * NULL = follow the engine records' ABI (ABI 6 -> 2.5, 7 -> 2.7, 8 -> 2.11, 9 -> 2.12,
	 * 10 -> head). Records of an older ABI are brought to the target's (added fields take
	 * upstream's defaults); a record newer than the target is refused (PT2C_EUNSUPPORTED), an
	 * unknown name is PT2C_EINVALID.
	 */
	const char *target;
} pt2c_export_options;
#define PT2C_EXPORT_OPTIONS_VERSION 2
#define PT2C_EXPORT_OPTIONS_INIT { PT2C_EXPORT_OPTIONS_VERSION, 0, NULL }
/** Fill *o with the defaults of the current version (PT2C_EXPORT_OPTIONS_INIT). Accepts NULL. */
void pt2c_export_options_init(pt2c_export_options *o);

/**
 * Export: inline engine segments, inline fallback segments, remove unused submodules and dead
 * code, lint, lift weights/constants/engines into inputs, build the program.
 * The module is consumed: on success and on failure *module is freed and set to NULL (weights and
 * engines move into the program without copying).
 * @return 0, PT2C_EGRAPH, PT2C_ENOTFOUND (missing submodule or operator schema), PT2C_ECORRUPT,
 *         PT2C_EINVALID (unknown target), PT2C_EUNSUPPORTED (a record newer than the target), PT2C_ENOMEM
 */
int pt2c_export(pt2c_program **out, pt2c_module **module, const pt2c_export_options *opts, pt2c_error *err);

/* The individual passes, in the order pt2c_export runs them. Each returns 0 or a PT2C_E* code. */

/** Engine segments -> execute_engine (or no_op placeholder) calls followed by getitems. */
int pt2c_module_inline_engines(pt2c_module *m, int cross_compile, pt2c_error *err);
/** Fallback segments -> their nodes copied into the top graph, inputs wired by position. */
int pt2c_module_inline_fallbacks(pt2c_module *m, pt2c_error *err);
/** Remove submodules no node refers to. */
int pt2c_module_remove_unused_submodules(pt2c_module *m, pt2c_error *err);
/** Remove nodes whose values are unused (placeholders, output and effectful nodes stay). */
int pt2c_module_eliminate_dead_code(pt2c_module *m, pt2c_error *err);
/** Check def-before-use, unique names, resolvable targets; reports the first violation. */
int pt2c_module_lint(const pt2c_module *m, pt2c_error *err);

#ifdef __cplusplus
}
#endif
#endif
