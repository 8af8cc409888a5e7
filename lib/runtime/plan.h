/* The interpreter: prepare a graph once, run it many times.
 * One engine serves calibration, compare and synap-run. */
#ifndef SYNAP_PLAN_H
#define SYNAP_PLAN_H

#include "kernels/kernel.h"

/* Sees every node's outputs as they are produced; the value is borrowed for
 * the duration of the call only. */
typedef void (*synap_observer_fn)(void *ctx, const struct synap_graph *g, size_t node_index,
                                  size_t output_index, const struct synap_value *v);

struct synap_plan_opts {
    int nthreads;              /* <= 0: synap_default_threads() */
    synap_observer_fn observer; /* may be NULL */
    void *observer_ctx;
    /* A memory plan (codegen's): tensor t lives at arena_offsets[t] in one
     * arena of arena_nbytes, or in a buffer of its own when the offset is -1
     * or the array is NULL. Offsets must be 64-aligned and in range; graph
     * inputs and constants always keep their own storage. */
    const int64_t *arena_offsets;
    size_t arena_nbytes;
};

struct synap_plan;

/* Infers every shape (the graph must have static shapes), picks kernels and
 * allocates every buffer; running then allocates nothing. The graph must
 * outlive the plan. NULL with err on failure (naming the node). */
struct synap_plan *synap_plan_new(const struct synap_graph *g, const struct synap_plan_opts *o,
                                  struct synap_err *err);
void synap_plan_free(struct synap_plan *p);

/* The buffer of graph input i (dtype and shape from the graph): fill it. */
struct synap_value *synap_plan_input(struct synap_plan *p, size_t i);
/* Result of graph output i after a run; borrowed until the next run. */
const struct synap_value *synap_plan_output(const struct synap_plan *p, size_t i);
/* The current value of any tensor (constants included); NULL if unknown. */
const struct synap_value *synap_plan_tensor(const struct synap_plan *p, uint32_t tensor);

/* Runs every node in order. Errors name the node. */
int synap_plan_run(struct synap_plan *p, struct synap_err *err);
/* Runs one node alone on the values currently in its input tensors
 * (set them through synap_plan_tensor_mut first). */
int synap_plan_run_node(struct synap_plan *p, size_t node_index, struct synap_err *err);
struct synap_value *synap_plan_tensor_mut(struct synap_plan *p, uint32_t tensor);

#endif
