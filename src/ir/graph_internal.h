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
/* pt2c__names_fresh for a candidate interned in g->ctx (then taken as is when free: no second intern). */
const char *pt2c__names_fresh_interned(pt2c_graph *g, const char *candidate, uint32_t bits, uint32_t **slot);
/*
 * Loads ahead of names_fresh calls to come, in order (names.c, "guessing ahead"): _far with the
 * candidate of a claim some way on, then _near with it closer. They change nothing.
 */
typedef struct pt2c_names_ahead {
	uint32_t base_hash[16];
	uint64_t num[16]; /* the last suffix guessed for the base */
	bool used[16];
} pt2c_names_ahead;
void pt2c__names_ahead_far(const pt2c_graph *g, const char *candidate);
void pt2c__names_ahead_near(const pt2c_graph *g, pt2c_names_ahead *ah, const char *candidate);
/* The g->names entry of an exact name (interned into *nm), added empty when new; NULL on OOM. */
uint32_t *pt2c__names_claim_exact(pt2c_graph *g, const char *name, const char **nm);
/* The same for nm interned in g->ctx (n bytes, no NUL inside) with its pt2c__hash: no second intern or hash. */
uint32_t *pt2c__names_claim_interned(pt2c_graph *g, const char *nm, size_t n, uint32_t hash);

/* graph.c: pt2c__arg_foreach_ref callback recording producer_ctx.node as producer of a value. */
typedef struct producer_ctx { pt2c_graph *g; uint32_t node; } producer_ctx;
int pt2c__cb_set_producer(uint32_t *ref, void *payload);

#endif
