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
 * A run of fresh-name claims (copying a graph; names.c, "claims in a run"): the same names as
 * claiming each with pt2c__names_fresh_interned in order, with most of the work done beforehand
 * or on helper threads. pt2c__names_pre works out what a candidate's claim needs that no claim
 * of the run changes (plain or not, hash, base, suffix, taken before the run); it only reads g,
 * so any number of threads may call it while g does not change. pt2c__names_run_begin then
 * foresees the name each taken candidate will get and checks those names against the table
 * (helpers); pt2c__names_run_claim claims candidate k (in order, k = 0, 1, ...): a foreseen free
 * name is not looked up and its insert is deferred; pt2c__names_run_value names a value like the
 * node claimed last; pt2c__names_run_flush inserts what was deferred (before any other claim on
 * g while the run lasts); pt2c__names_run_end flushes and frees. A candidate is g->ctx's string.
 */
#define PT2C_NAME_PRE_MAX 160 /* longer candidates are not plain: names_fresh's own path */
typedef struct pt2c_name_pre {
	const char *s;      /* the candidate */
	uint64_t num;       /* the suffix of "base_<num>" (0: none) */
	uint64_t pred;      /* taken: the suffix its claim is foreseen to get */
	uint32_t hash, base_hash, pred_hash;
	uint32_t len, base_len;
	uint32_t flags;     /* names.c: plain, taken before the run, foreseen name free */
} pt2c_name_pre;
typedef struct pt2c_names_base {
	const char *base;   /* interned */
	uint64_t *bcp;      /* its g->base_count slot */
	uint64_t sim;       /* pt2c__names_run_begin's running count */
	uint32_t hash, len;
} pt2c_names_base;
typedef struct pt2c_names_run {
	pt2c_names_base bases[32]; /* by base hash; valid while base_count's table is the one below */
	const void *bc_slots;
	size_t bc_cap;
	pt2c_name_pre *pre;        /* borrowed: the run's candidates */
	uint32_t n;
	pt2c_map32_entry *deferred; /* claimed, not yet in g->names */
	uint32_t n_deferred;
	bool defer;                 /* deferring allowed (room reserved, memory for the list) */
} pt2c_names_run;
void pt2c__names_pre(const pt2c_graph *g, const char *candidate, pt2c_name_pre *pre);
/*
 * pre[0..n) filled by pt2c__names_pre; more: the other names the run may claim meanwhile (at
 * most), the table is sized for all of them. It cannot fail: short of memory, nothing is deferred.
 */
void pt2c__names_run_begin(pt2c_graph *g, pt2c_names_run *run, pt2c_name_pre *pre, uint32_t n, uint64_t more);
/* Candidate k's fresh name, reserved with `bits` (NAME_NODE); NULL on OOM. */
const char *pt2c__names_run_claim(pt2c_graph *g, pt2c_names_run *run, uint32_t k, uint32_t bits);
/*
 * Value `vid` named like the node claimed last (name): 1 when that claim was deferred and the
 * value now holds the name too; -1 when it was deferred and a value holds it already (as
 * PT2C_EGRAPH from an exact claim); 0 when it was not deferred (claim the name as usual).
 */
int pt2c__names_run_value(pt2c_names_run *run, const char *name, uint32_t vid);
/* Put the deferred names into g->names (into slots run_begin reserved: it does not fail while the run keeps to its bound). */
int pt2c__names_run_flush(pt2c_graph *g, pt2c_names_run *run);
int pt2c__names_run_end(pt2c_graph *g, pt2c_names_run *run);
/* The g->names entry of an exact name (interned into *nm), added empty when new; NULL on OOM. */
uint32_t *pt2c__names_claim_exact(pt2c_graph *g, const char *name, const char **nm);
/* The same for nm interned in g->ctx (n bytes, no NUL inside) with its pt2c__hash: no second intern or hash. */
uint32_t *pt2c__names_claim_interned(pt2c_graph *g, const char *nm, size_t n, uint32_t hash);

/* graph.c: pt2c__arg_foreach_ref callback recording producer_ctx.node as producer of a value. */
typedef struct producer_ctx { pt2c_graph *g; uint32_t node; } producer_ctx;
int pt2c__cb_set_producer(uint32_t *ref, void *payload);

#endif
