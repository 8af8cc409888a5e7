/* The interpreter: every shape, buffer and kernel is fixed in synap_plan_new,
 * so synap_plan_run only calls kernels. */
#include <stdlib.h>
#include <string.h>

#include "runtime/plan.h"

struct plan_node {
    struct synap_value *in; /* copies of the tensors' values: pointers are fixed */
    struct synap_value *out;
    const struct synap_kernel *k;
};

struct synap_plan {
    const struct synap_graph *g;
    struct synap_value *values; /* one per tensor */
    void **owned;               /* buffers this plan allocated */
    size_t nowned;
    struct plan_node *nodes;
    void *scratch;
    size_t scratch_nbytes;
    void *arena; /* the memory plan's arena, when one was given */
    struct synap_pool *pool;
    synap_observer_fn observer;
    void *observer_ctx;
};

static void *plan_alloc(struct synap_plan *p, size_t n)
{
    void *b = synap_xaligned(n ? n : 1);
    memset(b, 0, n ? n : 1);
    p->owned[p->nowned++] = b;
    return b;
}

static size_t value_nbytes(const struct synap_value *v)
{
    return (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype);
}

void synap_plan_free(struct synap_plan *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    free(p->owned);
    if (p->nodes)
        for (size_t i = 0; i < p->g->nnodes; i++) {
            free(p->nodes[i].in);
            free(p->nodes[i].out);
        }
    free(p->nodes);
    free(p->values);
    free(p->scratch);
    free(p->arena);
    synap_pool_free(p->pool);
    free(p);
}

struct synap_plan *synap_plan_new(const struct synap_graph *g, const struct synap_plan_opts *o,
                                  struct synap_err *err)
{
    struct synap_plan *p = synap_xcalloc(1, sizeof *p);
    p->g = g;
    size_t nt = g->ntensors, nn = g->nnodes;
    p->values = synap_xcalloc(nt ? nt : 1, sizeof *p->values);
    size_t maxbufs = nt;
    for (size_t i = 0; i < nn; i++)
        maxbufs += g->nodes[i].noutputs;
    p->owned = synap_xcalloc(maxbufs ? maxbufs : 1, sizeof *p->owned);
    p->nodes = synap_xcalloc(nn ? nn : 1, sizeof *p->nodes);
    if (o) {
        p->observer = o->observer;
        p->observer_ctx = o->observer_ctx;
    }
    for (size_t t = 0; t < nt; t++) {
        const struct synap_tensor *ts = &g->tensors[t];
        struct synap_value *v = &p->values[t];
        v->dtype = ts->dtype;
        v->rank = ts->rank;
        memcpy(v->dims, ts->dims, sizeof v->dims);
        v->data = (void *)ts->data;
    }
    if (o && o->arena_offsets) {
        p->arena = synap_xaligned(o->arena_nbytes ? o->arena_nbytes : 1);
        memset(p->arena, 0, o->arena_nbytes ? o->arena_nbytes : 1);
        for (size_t t = 0; t < nt; t++) {
            int64_t off = o->arena_offsets[t];
            if (off < 0 || g->tensors[t].data) continue;
            size_t nb = value_nbytes(&p->values[t]);
            if (off % 64 || (uint64_t)off > o->arena_nbytes || nb > o->arena_nbytes - (size_t)off) {
                synap_errf(err,
                           "memory plan: tensor '%s' at offset %lld (%zu bytes) outside the "
                           "%zu-byte arena or misaligned",
                           g->tensors[t].name, (long long)off, nb, o->arena_nbytes);
                goto fail;
            }
            p->values[t].data = (char *)p->arena + off;
        }
    }
    for (size_t i = 0; i < g->ninputs; i++) {
        struct synap_value *v = &p->values[g->inputs[i]];
        if (synap_value_nelem(v) < 0) {
            synap_errf(err, "input '%s': dynamic or invalid shape", g->tensors[g->inputs[i]].name);
            goto fail;
        }
        v->data = plan_alloc(p, value_nbytes(v));
    }
    for (size_t i = 0; i < nn; i++) {
        const struct synap_node *n = &g->nodes[i];
        struct plan_node *pn = &p->nodes[i];
        pn->k = synap_kernel_get(n->op);
        pn->in = synap_xcalloc(n->ninputs ? n->ninputs : 1, sizeof *pn->in);
        pn->out = synap_xcalloc(n->noutputs ? n->noutputs : 1, sizeof *pn->out);
        for (size_t j = 0; j < n->ninputs; j++) {
            if (n->inputs[j] == SYNAP_NONE) continue;
            pn->in[j] = p->values[n->inputs[j]];
            pn->in[j].data = g->tensors[n->inputs[j]].data ? p->values[n->inputs[j]].data : NULL;
        }
        struct synap_kctx c = {
            .graph = g,
            .node = n,
            .in = pn->in,
            .nin = n->ninputs,
            .out = pn->out,
            .nout = n->noutputs,
            .err = err,
        };
        if (pn->k->infer(&c) < 0) {
            struct synap_esc e;
            synap_err_prefix(err, "node '%s' (%s)", synap_esc(&e, n->name), synap_op_name(n->op));
            goto fail;
        }
        if (c.scratch_nbytes > p->scratch_nbytes) p->scratch_nbytes = c.scratch_nbytes;
        for (size_t j = 0; j < n->noutputs; j++) {
            uint32_t t = n->outputs[j];
            if (t != SYNAP_NONE) {
                const struct synap_value *gv = &p->values[t];
                if (gv->dtype != pn->out[j].dtype || gv->rank != pn->out[j].rank ||
                    memcmp(gv->dims, pn->out[j].dims, sizeof(int64_t) * (size_t)gv->rank)) {
                    char a[160], b[160];
                    synap_errf(err, "node '%s' (%s): output %zu is %s %s, the graph says %s %s",
                               n->name, synap_op_name(n->op), j, synap_dtype_name(pn->out[j].dtype),
                               synap_shape_str(pn->out[j].rank, pn->out[j].dims, a, sizeof a),
                               synap_dtype_name(gv->dtype),
                               synap_shape_str(gv->rank, gv->dims, b, sizeof b));
                    goto fail;
                }
                if (!p->values[t].data) p->values[t].data = plan_alloc(p, value_nbytes(gv));
                pn->out[j].data = p->values[t].data;
            } else {
                pn->out[j].data = plan_alloc(p, value_nbytes(&pn->out[j]));
            }
        }
        /* every input now has its buffer */
        for (size_t j = 0; j < n->ninputs; j++)
            if (n->inputs[j] != SYNAP_NONE) pn->in[j].data = p->values[n->inputs[j]].data;
    }
    for (size_t i = 0; i < g->noutputs; i++)
        if (!p->values[g->outputs[i]].data) {
            synap_errf(err, "output '%s' is never computed", g->tensors[g->outputs[i]].name);
            goto fail;
        }
    if (p->scratch_nbytes) p->scratch = synap_xaligned(p->scratch_nbytes);
    p->pool = synap_pool_new(o && o->nthreads > 0 ? o->nthreads : synap_default_threads());
    return p;
fail:
    synap_plan_free(p);
    return NULL;
}

struct synap_value *synap_plan_input(struct synap_plan *p, size_t i)
{
    return i < p->g->ninputs ? &p->values[p->g->inputs[i]] : NULL;
}

const struct synap_value *synap_plan_output(const struct synap_plan *p, size_t i)
{
    return i < p->g->noutputs ? &p->values[p->g->outputs[i]] : NULL;
}

const struct synap_value *synap_plan_tensor(const struct synap_plan *p, uint32_t t)
{
    return t < p->g->ntensors && p->values[t].data ? &p->values[t] : NULL;
}

struct synap_value *synap_plan_tensor_mut(struct synap_plan *p, uint32_t t)
{
    return t < p->g->ntensors && p->values[t].data ? &p->values[t] : NULL;
}

int synap_plan_run_node(struct synap_plan *p, size_t i, struct synap_err *err)
{
    if (i >= p->g->nnodes) return synap_errf(err, "node index %zu out of range", i);
    const struct synap_node *n = &p->g->nodes[i];
    struct plan_node *pn = &p->nodes[i];
    struct synap_kctx c = {
        .graph = p->g,
        .node = n,
        .in = pn->in,
        .nin = n->ninputs,
        .out = pn->out,
        .nout = n->noutputs,
        .scratch_nbytes = p->scratch_nbytes,
        .scratch = p->scratch,
        .pool = p->pool,
        .err = err,
    };
    if (pn->k->run(&c) < 0) {
        struct synap_esc e;
        synap_err_prefix(err, "node '%s' (%s)", synap_esc(&e, n->name), synap_op_name(n->op));
        return -1;
    }
    if (p->observer)
        for (size_t j = 0; j < n->noutputs; j++)
            if (n->outputs[j] != SYNAP_NONE) p->observer(p->observer_ctx, p->g, i, j, &pn->out[j]);
    return 0;
}

int synap_plan_run(struct synap_plan *p, struct synap_err *err)
{
    for (size_t i = 0; i < p->g->nnodes; i++)
        if (synap_plan_run_node(p, i, err) < 0) return -1;
    return 0;
}
