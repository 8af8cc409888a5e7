/* Shape inference and constant folding over a graph, through the kernels'
 * own infer/run functions: the importer and the interpreter agree on every
 * shape because they use the same code. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "kernels/kernel.h"

/* Folding materializes outputs in the graph; beyond this a node is left to
 * run at inference time instead of bloating the IR. */
#define FOLD_MAX_BYTES ((size_t)256 << 20)

static void value_of(const struct synap_graph *g, uint32_t t, struct synap_value *v)
{
    memset(v, 0, sizeof *v);
    if (t == SYNAP_NONE || t >= g->ntensors) return;
    const struct synap_tensor *ts = &g->tensors[t];
    v->dtype = ts->dtype;
    v->rank = ts->rank;
    memcpy(v->dims, ts->dims, sizeof v->dims);
    v->data = (void *)ts->data;
}

int synap_graph_infer_node(struct synap_graph *g, size_t i, bool fold, struct synap_err *err)
{
    struct synap_node *n = &g->nodes[i];
    struct synap_value in[256], out[256];
    int rc = -1;
    if (n->ninputs > 256 || n->noutputs > 256)
        return synap_errf(err, "node '%s' (%s): too many inputs or outputs", n->name,
                          synap_op_name(n->op));
    bool all_const = true;
    for (size_t j = 0; j < n->ninputs; j++) {
        value_of(g, n->inputs[j], &in[j]);
        if (n->inputs[j] != SYNAP_NONE && !in[j].data) all_const = false;
    }
    memset(out, 0, sizeof(struct synap_value) * n->noutputs);
    struct synap_kctx c = {
        .graph = g,
        .node = n,
        .in = in,
        .nin = n->ninputs,
        .out = out,
        .nout = n->noutputs,
        .err = err,
    };
    const struct synap_kernel *k = synap_kernel_get(n->op);
    if (k->infer(&c) < 0) goto fail;
    for (size_t j = 0; j < n->noutputs; j++) {
        uint32_t t = n->outputs[j];
        if (t == SYNAP_NONE) continue;
        if (out[j].dtype == SYNAP_DTYPE_UNDEFINED || out[j].rank < 0 ||
            out[j].rank > SYNAP_MAX_RANK) {
            synap_errf(err, "output %zu: shape inference gave no type", j);
            goto fail;
        }
        if (synap_shape_nelem(out[j].rank, out[j].dims) < 0) {
            synap_errf(err, "output %zu: dimensions overflow or are negative", j);
            goto fail;
        }
        struct synap_tensor *ts = &g->tensors[t];
        ts->dtype = out[j].dtype;
        ts->rank = out[j].rank;
        memcpy(ts->dims, out[j].dims, sizeof ts->dims);
    }
    bool shape_only = n->op == SYNAP_OP_SHAPE || n->op == SYNAP_OP_SIZE;
    if (!fold || !(all_const || shape_only)) return 0;

    /* fold: run the kernel now and keep its outputs as constants */
    size_t total = 0;
    void *bufs[256] = {0};
    for (size_t j = 0; j < n->noutputs; j++) {
        if (n->outputs[j] == SYNAP_NONE) continue;
        size_t nb =
            (size_t)synap_shape_nelem(out[j].rank, out[j].dims) * synap_dtype_size(out[j].dtype);
        total += nb;
        if (total > FOLD_MAX_BYTES) return 0;
    }
    for (size_t j = 0; j < n->noutputs; j++) {
        if (n->outputs[j] == SYNAP_NONE) {
            /* an omitted output still needs a buffer for the kernel to write */
            size_t nb = (size_t)synap_shape_nelem(out[j].rank, out[j].dims) *
                        synap_dtype_size(out[j].dtype);
            out[j].data = synap_arena_alloc(g->arena, nb ? nb : 1);
            continue;
        }
        struct synap_tensor *ts = &g->tensors[n->outputs[j]];
        size_t nb =
            (size_t)synap_shape_nelem(out[j].rank, out[j].dims) * synap_dtype_size(out[j].dtype);
        bufs[j] = synap_arena_alloc(g->arena, nb ? nb : 1);
        out[j].data = bufs[j];
        (void)ts;
    }
    void *scratch = c.scratch_nbytes ? synap_xaligned(c.scratch_nbytes) : NULL;
    c.scratch = scratch;
    c.pool = NULL;
    int r = k->run(&c);
    free(scratch);
    if (r < 0) goto fail;
    for (size_t j = 0; j < n->noutputs; j++) {
        if (n->outputs[j] == SYNAP_NONE) continue;
        struct synap_tensor *ts = &g->tensors[n->outputs[j]];
        ts->data = bufs[j];
        ts->nbytes = (size_t)synap_shape_nelem(ts->rank, ts->dims) * synap_dtype_size(ts->dtype);
    }
    return 1;
fail:
    struct synap_esc e;
    synap_err_prefix(err, "node '%s' (%s)", synap_esc(&e, n->name), synap_op_name(n->op));
    return rc;
}

int synap_graph_infer(struct synap_graph *g, bool fold, struct synap_err *err)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (synap_graph_infer_node(g, i, fold, err) < 0) return -1;
    if (fold) synap_graph_prune_dead(g);
    return 0;
}
