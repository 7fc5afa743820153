/*
 * pt2c/export.h -- turning a partitioned module into an exported program (what the
 * Torch-TensorRT exporter does, without its defects), pass by pass or all at once.
 * Thread-safety and the codes every call may return (PT2C_EINVALID for misuse, PT2C_ENOMEM):
 * pt2c/common.h.
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
/** Fill *o with the defaults of the current version (PT2C_EXPORT_OPTIONS_INIT). Accepts NULL; never fails. */
void pt2c_export_options_init(pt2c_export_options *o);

/**
 * Export: inline engine segments, inline fallback segments, remove unused submodules and dead
 * code, lint, lift weights/constants/engines into inputs, build the program.
 * The module is consumed: on success and on failure *module is freed and set to NULL (weights and
 * engines move into the program without copying). opts NULL = PT2C_EXPORT_OPTIONS_INIT.
 * @param out  receives the program (pt2c_program_free), made with the module's allocator; NULL
 *             on failure
 * @return 0; PT2C_EGRAPH (the graph breaks an invariant, err names the node); PT2C_ENOTFOUND
 *         (missing submodule or operator schema); PT2C_ECORRUPT (a malformed engine record);
 *         PT2C_EINVALID (unknown target or options version; misuse: out, module or *module NULL,
 *         which leaves *module alone); PT2C_EUNSUPPORTED (a record newer than the target,
 *         cross-compiling for 2.5); PT2C_ENOMEM.
 */
int pt2c_export(pt2c_program **out, pt2c_module **module, const pt2c_export_options *opts, pt2c_error *err);

/*
 * The individual passes, in the order pt2c_export runs them. Each changes the module in place
 * and, whatever it returns, leaves it exactly as it was when it fails (an undo record is kept
 * while it runs). Not thread-safe on the same module.
 */

/**
 * Engine segments -> execute_engine (or, cross_compile != 0, no_op placeholder) calls followed by
 * getitems.
 * @return 0; PT2C_ECORRUPT (a malformed engine record); PT2C_EGRAPH (a segment call that does not
 *         fit its submodule); PT2C_EUNSUPPORTED (an engine the target cannot express);
 *         PT2C_ENOMEM; PT2C_EINVALID (m NULL)
 */
int pt2c_module_inline_engines(pt2c_module *m, int cross_compile, pt2c_error *err);
/**
 * Fallback segments -> their nodes copied into the top graph, inputs wired by position.
 * @return 0; PT2C_EGRAPH (arity mismatch, dangling reference); PT2C_ECORRUPT; PT2C_EUNSUPPORTED
 *         (a fallback the pass cannot inline); PT2C_ENOMEM; PT2C_EINVALID (m NULL)
 */
int pt2c_module_inline_fallbacks(pt2c_module *m, pt2c_error *err);
/**
 * Remove submodules no node refers to (freeing them).
 * @return 0, PT2C_ENOMEM, PT2C_EINVALID (m NULL)
 */
int pt2c_module_remove_unused_submodules(pt2c_module *m, pt2c_error *err);
/**
 * Remove nodes whose values are unused (placeholders, output and effectful nodes stay).
 * @return 0, PT2C_ENOMEM, PT2C_EINVALID (m NULL)
 */
int pt2c_module_eliminate_dead_code(pt2c_module *m, pt2c_error *err);
/**
 * Check def-before-use, unique names, resolvable targets; reports the first violation in err.
 * Read-only.
 * @return 0; PT2C_EGRAPH (the violation; err names the node); PT2C_EUNSUPPORTED (a construct
 *         lint does not know); PT2C_ENOMEM; PT2C_EINVALID (m NULL)
 */
int pt2c_module_lint(const pt2c_module *m, pt2c_error *err);

#ifdef __cplusplus
}
#endif
#endif
