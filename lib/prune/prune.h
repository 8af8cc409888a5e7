/* synap-prune's work: cut a graph at named tensors. Inputs become graph
 * inputs (with a given shape), outputs become the graph outputs, and every
 * layer the outputs do not need is dropped. Options: convert-design.md §2. */
#ifndef SYNAP_PRUNE_H
#define SYNAP_PRUNE_H

#include "ir/ir.h"
#include "util/json.h"

struct synap_prune_input {
    const char *name;             /* tensor name */
    int rank;                     /* 0: keep the tensor's current shape */
    int64_t dims[SYNAP_MAX_RANK]; /* dims[0] (batch) is forced to 1 */
};

struct synap_prune_opts {
    const struct synap_prune_input *inputs; /* new graph inputs, in this order */
    size_t ninputs;
    const char *const *outputs; /* new graph outputs, in this order */
    size_t noutputs;
};

/* Cuts g in place:
 *  - each named input tensor becomes a graph input (its producer no longer
 *    produces it; with a shape, the shape is set, batch forced to 1); the
 *    graph inputs become the named ones in the given order followed by the
 *    original inputs the outputs still need;
 *  - with named outputs, the graph outputs become them (layers after them
 *    are removed);
 *  - shapes are inferred again and everything the outputs do not need is
 *    dropped.
 * With no inputs and no outputs the graph is only cleaned of dead layers.
 * Errors (-1): an unknown tensor name ("unknown tensor 'x'; candidates:
 * ..." listing activations), a constant named as input, the same name
 * twice, a bad shape, or shape inference failing with the new shape. */
int synap_prune(struct synap_graph *g, const struct synap_prune_opts *o, struct synap_err *err);

/* Reads the options object of synap-prune (prune.json, or its flags):
 *   "inputs":  [{"name": str, "shape": [int...]} | "NAME=d0,d1,..." | "NAME"]
 *   "outputs": [str...]
 * Unknown keys are errors. Strings and arrays are borrowed from `opts`
 * (or allocated in `a`). */
int synap_prune_opts_from_json(const struct synap_json *opts, struct synap_arena *a,
                               struct synap_prune_opts *o, struct synap_err *err);

#endif
