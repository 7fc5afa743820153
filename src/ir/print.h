/*
 * print.h -- private to the printers in src/ir (print_args.c, sympy_expr.c, print_fx.c,
 * print_program.c): the pieces both listings use. Everything appends to a pt2c_buf, which
 * records an allocation failure in b->err (the callers check it once at the end).
 */
#ifndef PT2C_IR_PRINT_H
#define PT2C_IR_PRINT_H

#include "ir/ir.h"

/* MARK: scalars (print_args.c) */

/** A float as Python repr ("0.1", "1e-05", "inf"). */
void pt2c__print_pyfloat(pt2c_buf *b, double d);
/** A string as Python repr: single quotes unless the text has ' and no ". */
void pt2c__print_pyrepr_str(pt2c_buf *b, const char *s, size_t n);
/** torch spelling of a PT2 MemoryFormat code. */
const char *pt2c__print_memfmt_name(int64_t v);
/** torch spelling of a PT2 Layout code. */
const char *pt2c__print_layout_name(int64_t v);
/** A symbolic scalar as torch prints it. */
void pt2c__print_sym(pt2c_buf *b, const pt2c_sym *s);
/** The quoted type annotation of a value (` "f32[2, 3]"`, ` "Sym(s77)"`) after `prefix`, or nothing (false). */
bool pt2c__print_value_type(pt2c_buf *b, const pt2c_value *v, const char *prefix);

/* MARK: sympy expressions (sympy_expr.c) */

/** An expression as sympy's str() would print it (the text as it is when it does not parse). */
void pt2c__sympy_print(pt2c_buf *b, const char *expr);

/* MARK: arguments (print_args.c) */

/** fx Node str (`%x`, bare strings) vs Python codegen (`x`, repr). */
enum { PT2C_PRINT_FX, PT2C_PRINT_PY };
/** Name of the value a ref resolves to ("?" if dangling). */
const char *pt2c__print_ref_name(pt2c_graph *g, uint32_t ref);
/** One argument in the given style; `depth` bounds the nesting of lists. */
void pt2c__print_arg(pt2c_buf *b, pt2c_graph *g, const pt2c_arg *a, int style, int depth);

#endif
