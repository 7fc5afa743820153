/*
 * graph_internal.h -- what graph.c, names.c and graph_compact.c share (private to src/ir).
 */
#ifndef PT2C_IR_GRAPH_INTERNAL_H
#define PT2C_IR_GRAPH_INTERNAL_H

#include "ir/ir.h"

/*
 * What g->names stores for a name: who holds it (low 3 bits) and, above them, 1 + the id of the
 * value of that name (0: none). One compact map for both: a second name-keyed map was a tenth of
 * the export's peak memory. Value ids must stay below NAME_MAX_VALUES.
 */
#define NAME_NODE 1u
#define NAME_VALUE 2u
#define NAME_RESERVED 4u
#define NAME_BITS 7u
#define NAME_MAX_VALUES ((UINT32_MAX >> 3) - 1u)
#define NAME_VID(e) (((e) >> 3) ? ((e) >> 3) - 1u : PT2C_NONE)
#define NAME_WITH_VID(e, id) (((e) & NAME_BITS) | ((uint32_t)(id) + 1u) << 3)

/* names.c: the fx namespace of a graph (torch.fx.graph._Namespace). */
/* Clear `bits` of a name (NAME_VALUE: and its value id), leaving it reserved. */
void pt2c__name_unmark(pt2c_graph *g, const char *name, uint32_t bits);
/* A fresh name per create_name, reserved with `bits`; slot (may be NULL) receives its entry; NULL on OOM. */
const char *pt2c__names_fresh(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot);
/* pt2c__names_fresh for a candidate that is g->ctx's string (pool or arena: it lives as long as g->ctx), taken as is when free. */
const char *pt2c__names_fresh_interned(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot);
/*
 * A run of fresh-name claims (copying a graph; names.c, "claims in a run"). pt2c__names_pre
 * works out what a candidate's claim needs that no claim of the run changes: whether fx would
 * take the name as it is (plain), its hash, base and suffix, and whether g->names held it
 * before the run. It only reads g: any number of threads may call it while g does not change.
 * pt2c__names_fresh_pre then claims, in order on one thread, exactly what
 * pt2c__names_fresh_interned would (candidate: g->ctx's string); pt2c__names_run_ahead,
 * called with a candidate some claims before its own, loads what that claim will touch and
 * changes nothing.
 */
#define PT2C_NAME_PRE_MAX 160 /* longer candidates are not plain: names_fresh's own path */
typedef struct pt2c_name_pre {
	uint64_t num;       /* the suffix of "base_<num>" (0: none) */
	uint32_t hash, base_hash;
	uint32_t len, base_len;
	uint32_t flags;     /* names.c: plain, taken before the run */
} pt2c_name_pre;
typedef struct pt2c_names_base {
	const char *base;   /* interned */
	uint64_t *bcp;      /* its g->base_count slot */
	uint64_t guess;     /* the last suffix guessed ahead for it */
	uint32_t hash, len;
} pt2c_names_base;
typedef struct pt2c_names_run {
	pt2c_names_base bases[32]; /* by base hash; valid while base_count's table is the one below */
	const void *bc_slots;
	size_t bc_cap;
} pt2c_names_run;
void pt2c__names_pre(const pt2c_graph *g, const char *candidate, pt2c_name_pre *pre);
void pt2c__names_run_init(pt2c_names_run *run);
const char *pt2c__names_fresh_pre(pt2c_graph *g, pt2c_names_run *run, const char *candidate, const pt2c_name_pre *pre,
                                  uint32_t bits);
void pt2c__names_run_ahead(const pt2c_graph *g, pt2c_names_run *run, const char *candidate, const pt2c_name_pre *pre);
/* The g->names entry of an exact name (interned into *nm), added empty when new; NULL on OOM. */
uint32_t *pt2c__names_claim_exact(pt2c_graph *g, const char *name, const char **nm);
/* The same for nm interned in g->ctx (n bytes, no NUL inside) with its pt2c__hash: no second intern or hash. */
uint32_t *pt2c__names_claim_interned(pt2c_graph *g, const char *nm, size_t n, uint32_t hash);

/* graph.c: pt2c__arg_foreach_ref callback recording producer_ctx.node as producer of a value. */
typedef struct producer_ctx { pt2c_graph *g; uint32_t node; } producer_ctx;
int pt2c__cb_set_producer(uint32_t *ref, void *payload);

#endif
