/* synap-codegen's library: BatchNorm folding, layer fusion, cost estimates,
 * the per-subgraph memory plan and the "codegen" IR section (its format is
 * specified in codegen.h). */
#include "codegen/codegen.h"

#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 64

static uint64_t align_up(uint64_t v)
{
    return (v + (ALIGN - 1)) / ALIGN * ALIGN;
}

/* Bytes of a tensor's value from its dtype and shape; -1 when dynamic or on
 * overflow. Constants report the size of their data. */
static int64_t tensor_nbytes(const struct synap_tensor *t)
{
    if (t->data) return (int64_t)t->nbytes;
    int64_t ne = synap_shape_nelem(t->rank, t->dims);
    size_t es = synap_dtype_size(t->dtype), nb;
    if (ne < 0 || es == 0 || synap_mul_overflow((size_t)ne, es, &nb) || nb > INT64_MAX / 2)
        return -1;
    return (int64_t)nb;
}

/* ---- who produces and who consumes each tensor --------------------------- */
struct uses {
    int64_t *producer; /* node index, -1: none */
    int64_t *last_use; /* highest consuming node index, -1: none */
    uint32_t *nuses;   /* number of input slots naming the tensor */
    int64_t *consumer; /* one consuming node (the only one when nuses == 1) */
    unsigned char *is_graph_input, *is_graph_output;
    bool *cross; /* consumed in a subgraph other than its producer's */
};

static void uses_free(struct uses *u)
{
    free(u->producer);
    free(u->last_use);
    free(u->nuses);
    free(u->consumer);
    free(u->is_graph_input);
    free(u->is_graph_output);
    free(u->cross);
    memset(u, 0, sizeof *u);
}

/* The graph is verified (indices in range). */
static void uses_build(const struct synap_graph *g, struct uses *u)
{
    size_t nt = g->ntensors ? g->ntensors : 1;
    u->producer = synap_xmalloc(nt * sizeof *u->producer);
    u->last_use = synap_xmalloc(nt * sizeof *u->last_use);
    u->consumer = synap_xmalloc(nt * sizeof *u->consumer);
    u->nuses = synap_xcalloc(nt, sizeof *u->nuses);
    u->is_graph_input = synap_xcalloc(nt, 1);
    u->is_graph_output = synap_xcalloc(nt, 1);
    u->cross = synap_xcalloc(nt, sizeof *u->cross);
    for (size_t t = 0; t < g->ntensors; t++)
        u->producer[t] = u->last_use[t] = u->consumer[t] = -1;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->noutputs; j++)
            if (n->outputs[j] < g->ntensors) u->producer[n->outputs[j]] = (int64_t)i;
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->ninputs; j++) {
            uint32_t t = n->inputs[j];
            if (t >= g->ntensors) continue;
            u->nuses[t]++;
            u->last_use[t] = (int64_t)i;
            if (u->consumer[t] < 0) u->consumer[t] = (int64_t)i;
            int64_t p = u->producer[t];
            if (p >= 0 && g->nodes[p].subgraph != n->subgraph) u->cross[t] = true;
        }
    }
    for (size_t i = 0; i < g->ninputs; i++)
        if (g->inputs[i] < g->ntensors) u->is_graph_input[g->inputs[i]] = 1;
    for (size_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < g->ntensors) u->is_graph_output[g->outputs[i]] = 1;
}

/* ---- BatchNorm folding (lib/ir/fuse.c) ------------------------------------ */

int synap_codegen_fold_batchnorm(struct synap_graph *g, size_t *nfolded, size_t *nbias,
                                 struct synap_err *err)
{
    if (nfolded) *nfolded = 0;
    if (nbias) *nbias = 0;
    if (synap_graph_verify(g, "codegen input", err) < 0) return -1;
    struct synap_fuse_stats st;
    if (synap_graph_fuse(g, SYNAP_FUSE_BN, NULL, NULL, &st, err) < 0) return -1;
    if (nfolded) *nfolded = st.nbn;
    if (nbias) *nbias = st.nbias;
    if (st.nbn + st.nbias == 0) return 0;
    /* the conv's old output and the old constants are now unused */
    synap_graph_prune_dead(g);
    return synap_graph_verify(g, "codegen (after BatchNorm folding)", err) < 0 ? -1 : 0;
}

/* ---- fusion ----------------------------------------------------------------- */

static bool is_activation(const struct synap_graph *g, const struct synap_node *n)
{
    switch (n->op) {
    case SYNAP_OP_RELU:
    case SYNAP_OP_LEAKY_RELU:
    case SYNAP_OP_SIGMOID:
    case SYNAP_OP_TANH:
    case SYNAP_OP_HARD_SWISH:
    case SYNAP_OP_HARD_SIGMOID:
        return true;
    case SYNAP_OP_CLIP: /* min/max constant (or omitted) */
        for (size_t j = 1; j < n->ninputs; j++)
            if (n->inputs[j] != SYNAP_NONE && !g->tensors[n->inputs[j]].data) return false;
        return true;
    case SYNAP_OP_PRELU: /* a constant slope */
        return n->ninputs == 2 && n->inputs[1] != SYNAP_NONE && g->tensors[n->inputs[1]].data;
    default:
        return false;
    }
}

/* The node that alone consumes node i's only output, in the same subgraph,
 * through its input 0 and not yet in a layer; -1 otherwise. */
static int64_t chain_next(const struct synap_graph *g, const struct uses *u,
                          const unsigned char *taken, size_t i)
{
    const struct synap_node *n = &g->nodes[i];
    uint32_t t = SYNAP_NONE;
    for (size_t j = 0; j < n->noutputs; j++) {
        if (n->outputs[j] == SYNAP_NONE) continue;
        if (t != SYNAP_NONE) return -1; /* more than one output used */
        t = n->outputs[j];
    }
    if (t == SYNAP_NONE || u->nuses[t] != 1 || u->is_graph_output[t]) return -1;
    int64_t k = u->consumer[t];
    if (k < 0 || taken[k]) return -1;
    const struct synap_node *m = &g->nodes[k];
    if (m->subgraph != n->subgraph || m->ninputs < 1 || m->inputs[0] != t) return -1;
    return k;
}

static const char *act_name(enum synap_op op)
{
    return op == SYNAP_OP_RELU ? "Relu" : synap_op_name(op);
}

static const char *single_type(struct synap_arena *a, enum synap_op op)
{
    switch (op) {
    case SYNAP_OP_TRANSPOSE:
        return "TensorTranspose";
    case SYNAP_OP_SOFTMAX:
        return "Softmax2Layer";
    case SYNAP_OP_RESHAPE:
    case SYNAP_OP_FLATTEN:
    case SYNAP_OP_SQUEEZE:
    case SYNAP_OP_UNSQUEEZE:
        return "ReshapeLayer";
    case SYNAP_OP_CONCAT:
        return "ConcatLayer";
    case SYNAP_OP_RESIZE:
        return "ResizeLayer";
    default:
        break;
    }
    const char *family = synap_op_table[op].family;
    if (!strcmp(family, "pool")) return "PoolingLayer";
    if (!strcmp(family, "binary") && op != SYNAP_OP_PRELU && op != SYNAP_OP_WHERE)
        return "EltwiseLayer";
    char buf[64];
    snprintf(buf, sizeof buf, "%sLayer", synap_op_name(op));
    return synap_arena_strdup(a, buf);
}

/* Greedy fusion along single-consumer chains; fills info->layers (subgraph
 * ids taken from the nodes, costs filled later). */
static void fuse(const struct synap_graph *g, const struct uses *u, struct synap_codegen_info *info)
{
    size_t nn = g->nnodes;
    unsigned char *taken = synap_xcalloc(nn ? nn : 1, 1);
    info->layers = synap_arena_alloc(info->arena, (nn ? nn : 1) * sizeof *info->layers);
    info->nlayers = 0;
    uint32_t chain[4];
    for (size_t i = 0; i < nn; i++) {
        if (taken[i]) continue;
        const struct synap_node *n = &g->nodes[i];
        size_t len = 0;
        chain[len++] = (uint32_t)i;
        taken[i] = 1;
        const char *type;
        char buf[96];
        if (n->op == SYNAP_OP_CONV || n->op == SYNAP_OP_CONV_TRANSPOSE) {
            int64_t k = chain_next(g, u, taken, i);
            if (k >= 0 && g->nodes[k].op == SYNAP_OP_BATCH_NORMALIZATION) {
                chain[len++] = (uint32_t)k, taken[k] = 1;
                k = chain_next(g, u, taken, (size_t)k);
            }
            const char *act = "";
            if (k >= 0 && is_activation(g, &g->nodes[k])) {
                act = act_name(g->nodes[k].op);
                chain[len++] = (uint32_t)k, taken[k] = 1;
                k = chain_next(g, u, taken, (size_t)k);
            }
            bool pool = k >= 0 && (g->nodes[k].op == SYNAP_OP_MAX_POOL ||
                                   g->nodes[k].op == SYNAP_OP_AVERAGE_POOL);
            if (pool) chain[len++] = (uint32_t)k, taken[k] = 1;
            snprintf(buf, sizeof buf, "Convolution%s%sLayer", act, pool ? "Pooling" : "");
            type = synap_arena_strdup(info->arena, buf);
        } else if (n->op == SYNAP_OP_GEMM ||
                   (n->op == SYNAP_OP_MATMUL && n->inputs[1] != SYNAP_NONE &&
                    g->tensors[n->inputs[1]].data)) {
            int64_t k = chain_next(g, u, taken, i);
            const char *act = "";
            if (k >= 0 && is_activation(g, &g->nodes[k])) {
                act = act_name(g->nodes[k].op);
                chain[len++] = (uint32_t)k, taken[k] = 1;
            }
            snprintf(buf, sizeof buf, "FullyConnected%sLayer", act);
            type = synap_arena_strdup(info->arena, buf);
        } else {
            type = single_type(info->arena, n->op);
        }
        /* nodes ascending (a chain is in topological order already) */
        struct synap_codegen_layer *l = &info->layers[info->nlayers];
        l->id = (uint32_t)info->nlayers;
        l->name = synap_arena_strdup(info->arena, n->name);
        l->type = type;
        l->subgraph = (uint32_t)n->subgraph;
        l->nodes = synap_arena_memdup(info->arena, chain, len * sizeof *chain);
        l->nnodes = len;
        info->nlayers++;
    }
    free(taken);
}

/* ---- costs ------------------------------------------------------------------ */

static uint64_t node_macs(const struct synap_graph *g, const struct synap_node *n)
{
    const struct synap_tensor *w, *x, *y;
    int64_t k = 1, ne;
    switch (n->op) {
    case SYNAP_OP_CONV:
    case SYNAP_OP_CONV_TRANSPOSE:
        if (n->inputs[0] == SYNAP_NONE || n->inputs[1] == SYNAP_NONE) return 0;
        w = &g->tensors[n->inputs[1]];
        x = &g->tensors[n->inputs[0]];
        y = &g->tensors[n->outputs[0]];
        if (w->rank < 3) return 0;
        for (int d = 2; d < w->rank; d++)
            k *= w->dims[d];
        /* Conv: N*Co*prod(out) * Ci/group * prod(kernel), Ci/group = W.dims[1];
         * ConvTranspose: N*Ci*prod(in) * Co/group * prod(kernel), Co/group = W.dims[1] */
        ne = n->op == SYNAP_OP_CONV ? synap_shape_nelem(y->rank, y->dims)
                                    : synap_shape_nelem(x->rank, x->dims);
        if (ne < 0 || k < 0 || w->dims[1] < 0) return 0;
        return (uint64_t)ne * (uint64_t)w->dims[1] * (uint64_t)k;
    case SYNAP_OP_GEMM:
    case SYNAP_OP_MATMUL:
        if (n->inputs[0] == SYNAP_NONE) return 0;
        x = &g->tensors[n->inputs[0]];
        y = &g->tensors[n->outputs[0]];
        if (x->rank < 1) return 0;
        if (n->op == SYNAP_OP_GEMM && x->rank == 2 && synap_attr_int(n, "transA", 0))
            k = x->dims[0];
        else
            k = x->dims[x->rank - 1];
        ne = synap_shape_nelem(y->rank, y->dims);
        if (ne < 0 || k < 0) return 0;
        return (uint64_t)ne * (uint64_t)k; /* M*N*batch outputs, K each */
    default:
        return 0;
    }
}

static bool in_layer(const struct synap_codegen_layer *l, int64_t node)
{
    for (size_t i = 0; i < l->nnodes; i++)
        if (l->nodes[i] == node) return true;
    return false;
}

static void layer_costs(const struct synap_graph *g, const struct uses *u,
                        const struct synap_target *t, const char *delegate,
                        struct synap_codegen_layer *l)
{
    uint64_t macs = 0, rd = 0, wr = 0;
    for (size_t a = 0; a < l->nnodes; a++) {
        const struct synap_node *n = &g->nodes[l->nodes[a]];
        macs += node_macs(g, n);
        for (size_t j = 0; j < n->ninputs; j++) {
            uint32_t ti = n->inputs[j];
            if (ti == SYNAP_NONE) continue;
            if (in_layer(l, u->producer[ti])) continue; /* made inside the layer */
            bool seen = false;                          /* count a tensor once per layer */
            for (size_t b = 0; b <= a && !seen; b++) {
                const struct synap_node *m = &g->nodes[l->nodes[b]];
                size_t lim = b == a ? j : m->ninputs;
                for (size_t jj = 0; jj < lim; jj++)
                    if (m->inputs[jj] == ti) seen = true;
            }
            int64_t nb = tensor_nbytes(&g->tensors[ti]);
            if (!seen && nb > 0) rd += (uint64_t)nb;
        }
        for (size_t j = 0; j < n->noutputs; j++) {
            uint32_t ti = n->outputs[j];
            if (ti == SYNAP_NONE) continue;
            uint32_t inside = 0;
            for (size_t b = 0; b < l->nnodes; b++) {
                const struct synap_node *m = &g->nodes[l->nodes[b]];
                for (size_t jj = 0; jj < m->ninputs; jj++)
                    inside += m->inputs[jj] == ti;
            }
            bool used_outside =
                u->is_graph_output[ti] || u->nuses[ti] == 0 || inside < u->nuses[ti];
            int64_t nb = tensor_nbytes(&g->tensors[ti]);
            if (used_outside && nb > 0) wr += (uint64_t)nb;
        }
    }
    l->macs = macs, l->bytes_read = rd, l->bytes_written = wr, l->cycles = 0;
    if (!t || strcmp(delegate, "npu") || t->clock_mhz <= 0) return;
    const struct synap_node *first = &g->nodes[l->nodes[0]];
    enum synap_dtype dt = first->noutputs && first->outputs[0] != SYNAP_NONE
                              ? g->tensors[first->outputs[0]].dtype
                              : SYNAP_DTYPE_FLOAT32;
    double rate = t->macs_per_cycle_float16;
    if (synap_dtype_is_int(dt))
        rate = synap_dtype_size(dt) == 1 ? t->macs_per_cycle_int8 : t->macs_per_cycle_int16;
    double compute = rate > 0 ? (double)macs / rate : 0;
    double bytes_per_cycle = t->ddr_bandwidth_mb_s / t->clock_mhz; /* MB/s / MHz */
    double memory = bytes_per_cycle > 0 ? (double)(rd + wr) / bytes_per_cycle : 0;
    double c = ceil(compute > memory ? compute : memory);
    l->cycles = c > 0 && c < 1.8e19 ? (uint64_t)c : 0;
}

/* ---- memory plan ---------------------------------------------------------- */

struct cand {
    uint32_t tensor;
    uint64_t nbytes, size; /* size: rounded up to 64 for placement */
    int64_t first, last;   /* liveness in node order */
    uint64_t offset;
};

static int cand_by_size(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

static int cand_by_offset(const void *a, const void *b)
{
    const struct cand *const *x = a, *const *y = b;
    if ((*x)->offset != (*y)->offset) return (*x)->offset < (*y)->offset ? -1 : 1;
    return ((*x)->tensor > (*y)->tensor) - ((*x)->tensor < (*y)->tensor);
}

static int cand_by_tensor(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

static bool live_overlap(const struct cand *a, const struct cand *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static int plan_subgraph(const struct synap_graph *g, const struct uses *u, uint32_t sub,
                         struct synap_codegen_info *info, struct synap_codegen_subgraph *s,
                         struct synap_err *err)
{
    size_t nc = 0;
    struct cand *c = synap_xcalloc(g->ntensors ? g->ntensors : 1, sizeof *c);
    for (size_t t = 0; t < g->ntensors; t++) {
        int64_t p = u->producer[t];
        if (p < 0 || g->nodes[p].subgraph != (int32_t)sub) continue;
        if (g->tensors[t].data || u->is_graph_input[t] || u->is_graph_output[t] || u->cross[t])
            continue;
        int64_t nb = tensor_nbytes(&g->tensors[t]);
        if (nb < 0) {
            free(c);
            return synap_errf(err, "tensor '%s': dynamic or too large shape", g->tensors[t].name);
        }
        c[nc].tensor = (uint32_t)t;
        c[nc].nbytes = (uint64_t)nb;
        c[nc].size = align_up((uint64_t)nb);
        c[nc].first = p;
        c[nc].last = u->last_use[t] > p ? u->last_use[t] : p;
        nc++;
    }
    qsort(c, nc, sizeof *c, cand_by_size);
    struct cand **placed = synap_xmalloc((nc ? nc : 1) * sizeof *placed);
    uint64_t peak = 0;
    for (size_t i = 0; i < nc; i++) {
        size_t np = 0;
        for (size_t j = 0; j < i; j++)
            if (live_overlap(&c[i], &c[j]) && c[j].size) placed[np++] = &c[j];
        qsort(placed, np, sizeof *placed, cand_by_offset);
        uint64_t off = 0;
        for (size_t j = 0; j < np; j++) {
            if (off + c[i].size <= placed[j]->offset) break;
            uint64_t end = placed[j]->offset + placed[j]->size;
            if (end > off) off = end;
        }
        c[i].offset = off;
        if (off + c[i].size > peak) peak = off + c[i].size;
    }
    free(placed);
    qsort(c, nc, sizeof *c, cand_by_tensor);
    s->arena_bytes = peak;
    s->ntensors = nc;
    s->tensors = synap_arena_alloc(info->arena, (nc ? nc : 1) * sizeof *s->tensors);
    for (size_t i = 0; i < nc; i++) {
        s->tensors[i].tensor = c[i].tensor;
        s->tensors[i].offset = c[i].offset;
        s->tensors[i].nbytes = c[i].nbytes;
    }
    free(c);
    return 0;
}

int synap_codegen_verify_plan(const struct synap_graph *g, const struct synap_codegen_info *info,
                              struct synap_err *err)
{
    struct uses u;
    uses_build(g, &u);
    int rc = 0;
    struct cand *c = NULL;
    struct cand **byoff = NULL;
    unsigned char *seen = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
    for (size_t si = 0; si < info->nsubgraphs && rc == 0; si++) {
        const struct synap_codegen_subgraph *s = &info->subgraphs[si];
        size_t n = s->ntensors;
        c = synap_xcalloc(n ? n : 1, sizeof *c);
        byoff = synap_xmalloc((n ? n : 1) * sizeof *byoff);
        for (size_t i = 0; i < n; i++) {
            const struct synap_codegen_tensor *e = &s->tensors[i];
            if (e->tensor >= g->ntensors) {
                rc = synap_errf(err, "subgraph %u: tensor %u out of range (%zu tensors)", s->id,
                                e->tensor, g->ntensors);
                goto next;
            }
            const struct synap_tensor *t = &g->tensors[e->tensor];
            if (seen[e->tensor]) {
                rc = synap_errf(err, "subgraph %u: tensor '%s' planned twice", s->id, t->name);
                goto next;
            }
            seen[e->tensor] = 1;
            if (t->data || u.is_graph_input[e->tensor] || u.is_graph_output[e->tensor]) {
                rc = synap_errf(err,
                                "subgraph %u: tensor '%s' is a constant or a graph "
                                "input/output, it cannot live in the arena",
                                s->id, t->name);
                goto next;
            }
            if (u.producer[e->tensor] < 0) {
                rc = synap_errf(err, "subgraph %u: tensor '%s' is never produced", s->id, t->name);
                goto next;
            }
            int64_t nb = tensor_nbytes(t);
            if (nb < 0 || (uint64_t)nb != e->nbytes) {
                rc = synap_errf(err, "subgraph %u: tensor '%s': %llu bytes planned, it has %lld",
                                s->id, t->name, (unsigned long long)e->nbytes, (long long)nb);
                goto next;
            }
            if (e->offset % ALIGN || e->offset > s->arena_bytes ||
                e->nbytes > s->arena_bytes - e->offset) {
                rc = synap_errf(err,
                                "subgraph %u: tensor '%s' at offset %llu (%llu bytes) is "
                                "misaligned or outside the %llu-byte arena",
                                s->id, t->name, (unsigned long long)e->offset,
                                (unsigned long long)e->nbytes, (unsigned long long)s->arena_bytes);
                goto next;
            }
            c[i].tensor = e->tensor;
            c[i].offset = e->offset;
            c[i].size = e->nbytes; /* the real extent for the overlap check */
            c[i].first = u.producer[e->tensor];
            c[i].last = u.last_use[e->tensor] > c[i].first ? u.last_use[e->tensor] : c[i].first;
            byoff[i] = &c[i];
        }
        /* sweep in offset order: only tensors starting before one's end can
         * overlap it in memory */
        qsort(byoff, n, sizeof *byoff, cand_by_offset);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct cand *a = byoff[i];
            if (!a->size) continue;
            for (size_t j = i + 1; j < n && byoff[j]->offset < a->offset + a->size; j++) {
                const struct cand *b = byoff[j];
                if (b->size && live_overlap(a, b)) {
                    rc = synap_errf(err,
                                    "subgraph %u: tensors '%s' and '%s' are live at the same "
                                    "time and overlap in the arena",
                                    s->id, g->tensors[a->tensor].name, g->tensors[b->tensor].name);
                    break;
                }
            }
        }
    next:
        free(c);
        free(byoff);
        c = NULL, byoff = NULL;
    }
    free(seen);
    uses_free(&u);
    return rc;
}

int synap_codegen_arena_offsets(const struct synap_codegen_info *info, size_t s, size_t ntensors,
                                int64_t *offsets, size_t *arena_nbytes, struct synap_err *err)
{
    if (s >= info->nsubgraphs)
        return synap_errf(err, "codegen: subgraph index %zu out of range (%zu subgraphs)", s,
                          info->nsubgraphs);
    const struct synap_codegen_subgraph *sg = &info->subgraphs[s];
    if (sg->arena_bytes > SIZE_MAX) return synap_errf(err, "codegen: arena too large");
    for (size_t t = 0; t < ntensors; t++)
        offsets[t] = -1;
    for (size_t i = 0; i < sg->ntensors; i++) {
        if (sg->tensors[i].tensor >= ntensors || sg->tensors[i].offset > INT64_MAX)
            return synap_errf(err, "codegen: subgraph %u: tensor %u out of range (%zu tensors)",
                              sg->id, sg->tensors[i].tensor, ntensors);
        offsets[sg->tensors[i].tensor] = (int64_t)sg->tensors[i].offset;
    }
    *arena_nbytes = (size_t)sg->arena_bytes;
    return 0;
}

/* ---- the whole stage --------------------------------------------------------- */

/* Checks (or, for an unpartitioned graph, sets) the nodes' subgraph and
 * delegate annotations. */
static int check_partition(struct synap_graph *g, const struct synap_target *t, bool *unpartitioned,
                           struct synap_err *err)
{
    size_t nneg = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        nneg += g->nodes[i].subgraph < 0;
    *unpartitioned = g->nnodes > 0 && nneg == g->nnodes;
    if (*unpartitioned) {
        const char *d = synap_arena_strdup(g->arena, t->ndelegates ? t->delegates[0] : "cpu");
        for (size_t i = 0; i < g->nnodes; i++) {
            g->nodes[i].subgraph = 0;
            g->nodes[i].delegate = d;
        }
        return 0;
    }
    const char **sub_delegate = synap_xcalloc(g->nnodes ? g->nnodes : 1, sizeof *sub_delegate);
    int rc = 0;
    for (size_t i = 0; i < g->nnodes && rc == 0; i++) {
        const struct synap_node *n = &g->nodes[i];
        if (n->subgraph < 0)
            rc = synap_errf(err,
                            "node '%s' (%s) has no subgraph while others have one "
                            "(a partial partition)",
                            n->name, synap_op_name(n->op));
        else if ((size_t)n->subgraph >= g->nnodes)
            rc = synap_errf(err, "node '%s' (%s): subgraph %d out of range (%zu nodes)", n->name,
                            synap_op_name(n->op), (int)n->subgraph, g->nnodes);
        else if (!n->delegate || !*n->delegate)
            rc = synap_errf(err, "node '%s' (%s) is in subgraph %d but has no delegate", n->name,
                            synap_op_name(n->op), (int)n->subgraph);
        else if (synap_target_delegate(t, n->delegate) < 0)
            rc = synap_errf(err, "node '%s' (%s): delegate '%s' is not a delegate of target %s",
                            n->name, synap_op_name(n->op), n->delegate, t->name);
        else if (!sub_delegate[n->subgraph])
            sub_delegate[n->subgraph] = n->delegate;
        else if (strcmp(sub_delegate[n->subgraph], n->delegate))
            rc = synap_errf(err,
                            "node '%s' (%s): delegate '%s' differs from '%s' of the other "
                            "nodes of subgraph %d",
                            n->name, synap_op_name(n->op), n->delegate, sub_delegate[n->subgraph],
                            (int)n->subgraph);
    }
    free(sub_delegate);
    return rc;
}

int synap_codegen(struct synap_graph *g, const struct synap_target *t,
                  struct synap_codegen_info *out, struct synap_codegen_stats *stats,
                  struct synap_err *err)
{
    struct synap_codegen_info info = {0};
    struct synap_codegen_stats st = {0};
    struct uses u = {0};
    int rc = -1;
    if (out) memset(out, 0, sizeof *out);
    if (synap_graph_verify(g, "codegen input", err) < 0) return -1;
    for (size_t i = 0; i < g->ntensors; i++)
        if (!g->tensors[i].data && tensor_nbytes(&g->tensors[i]) < 0)
            return synap_errf(err, "tensor '%s': dynamic shape (codegen needs static shapes)",
                              g->tensors[i].name);
    if (check_partition(g, t, &st.unpartitioned, err) < 0) return -1;
    if (synap_codegen_fold_batchnorm(g, &st.nfolded, &st.nbias_folded, err) < 0) return -1;

    info.arena = synap_arena_new();
    info.target = synap_arena_strdup(info.arena, t->name);
    uses_build(g, &u);
    fuse(g, &u, &info);

    /* subgraphs: the distinct ids, ascending (ids < the node count before
     * folding, checked by check_partition) */
    size_t nids = 1;
    for (size_t i = 0; i < g->nnodes; i++)
        if ((size_t)g->nodes[i].subgraph + 1 > nids) nids = (size_t)g->nodes[i].subgraph + 1;
    unsigned char *present = synap_xcalloc(nids, 1);
    const char **deleg = synap_xcalloc(nids, sizeof *deleg);
    for (size_t i = 0; i < g->nnodes; i++) {
        present[g->nodes[i].subgraph] = 1;
        deleg[g->nodes[i].subgraph] = g->nodes[i].delegate;
    }
    size_t ns = 0;
    for (size_t i = 0; i < nids; i++)
        ns += present[i];
    info.subgraphs = synap_arena_alloc(info.arena, (ns ? ns : 1) * sizeof *info.subgraphs);
    for (size_t i = 0; i < nids; i++) {
        if (!present[i]) continue;
        struct synap_codegen_subgraph *s = &info.subgraphs[info.nsubgraphs++];
        s->id = (uint32_t)i;
        s->delegate = synap_arena_strdup(info.arena, deleg[i]);
        if (plan_subgraph(g, &u, (uint32_t)i, &info, s, err) < 0) {
            free(present);
            free(deleg);
            goto out;
        }
    }
    for (size_t l = 0; l < info.nlayers; l++) {
        struct synap_codegen_layer *ly = &info.layers[l];
        layer_costs(g, &u, t, deleg[ly->subgraph], ly);
    }
    free(present);
    free(deleg);
    if (synap_codegen_verify_plan(g, &info, err) < 0) {
        synap_err_prefix(err, "codegen: internal error in the memory plan");
        err->code = SYNAP_EIO;
        goto out;
    }
    if (synap_codegen_section_write(g, &info, err) < 0) goto out;
    st.nlayers = info.nlayers;
    st.nsubgraphs = info.nsubgraphs;
    rc = 0;
out:
    uses_free(&u);
    if (rc == 0 && out)
        *out = info;
    else
        synap_codegen_info_free(&info);
    if (stats) *stats = st;
    return rc;
}

void synap_codegen_info_free(struct synap_codegen_info *info)
{
    if (!info) return;
    synap_arena_free(info->arena);
    memset(info, 0, sizeof *info);
}

/* ---- the section: writing ------------------------------------------------------ */

struct obuf {
    uint8_t *data;
    size_t n, cap;
};

static int obuf_write(void *ctx, const char *p, size_t n)
{
    struct obuf *b = ctx;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 1024;
        while (n > cap - b->n) {
            if (cap > SIZE_MAX / 2) abort();
            cap *= 2;
        }
        b->data = synap_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->n, p, n);
    b->n += n;
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int synap_codegen_section_write(struct synap_graph *g, const struct synap_codegen_info *info,
                                struct synap_err *err)
{
    if (info->nlayers > UINT32_MAX || info->nsubgraphs > UINT32_MAX)
        return synap_errf(err, "codegen section: too many layers or subgraphs");
    struct obuf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, obuf_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "version");
    msgpack_pack_uint32(&pk, SYNAP_CODEGEN_VERSION);
    pack_str(&pk, "target");
    pack_str(&pk, info->target ? info->target : "");
    pack_str(&pk, "layers");
    msgpack_pack_array(&pk, info->nlayers);
    for (size_t i = 0; i < info->nlayers; i++) {
        const struct synap_codegen_layer *l = &info->layers[i];
        msgpack_pack_map(&pk, 9);
        pack_str(&pk, "id");
        msgpack_pack_uint32(&pk, l->id);
        pack_str(&pk, "name");
        pack_str(&pk, l->name ? l->name : "");
        pack_str(&pk, "type");
        pack_str(&pk, l->type ? l->type : "");
        pack_str(&pk, "subgraph");
        msgpack_pack_uint32(&pk, l->subgraph);
        pack_str(&pk, "nodes");
        msgpack_pack_array(&pk, l->nnodes);
        for (size_t j = 0; j < l->nnodes; j++)
            msgpack_pack_uint32(&pk, l->nodes[j]);
        pack_str(&pk, "macs");
        msgpack_pack_uint64(&pk, l->macs);
        pack_str(&pk, "bytes_read");
        msgpack_pack_uint64(&pk, l->bytes_read);
        pack_str(&pk, "bytes_written");
        msgpack_pack_uint64(&pk, l->bytes_written);
        pack_str(&pk, "cycles");
        msgpack_pack_uint64(&pk, l->cycles);
    }
    pack_str(&pk, "subgraphs");
    msgpack_pack_array(&pk, info->nsubgraphs);
    for (size_t i = 0; i < info->nsubgraphs; i++) {
        const struct synap_codegen_subgraph *s = &info->subgraphs[i];
        msgpack_pack_map(&pk, 4);
        pack_str(&pk, "id");
        msgpack_pack_uint32(&pk, s->id);
        pack_str(&pk, "delegate");
        pack_str(&pk, s->delegate ? s->delegate : "");
        pack_str(&pk, "arena_bytes");
        msgpack_pack_uint64(&pk, s->arena_bytes);
        pack_str(&pk, "tensors");
        msgpack_pack_array(&pk, s->ntensors);
        for (size_t j = 0; j < s->ntensors; j++) {
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint32(&pk, s->tensors[j].tensor);
            msgpack_pack_uint64(&pk, s->tensors[j].offset);
            msgpack_pack_uint64(&pk, s->tensors[j].nbytes);
        }
    }
    synap_ir_section_set(g, "codegen", b.data, b.n);
    free(b.data);
    return 0;
}

/* ---- the section: reading --------------------------------------------------------- */

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            !memcmp(k->via.str.ptr, key, n))
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

/* The map must hold exactly `keys` (string keys, each once). */
static int check_keys(const msgpack_object *m, const char *const *keys, size_t nkeys,
                      const char *what, struct synap_err *err)
{
    if (m->type != MSGPACK_OBJECT_MAP) return synap_errf(err, "%s: not a map", what);
    if (m->via.map.size != nkeys)
        return synap_errf(err, "%s: %u keys, expected %zu", what, m->via.map.size, nkeys);
    for (size_t i = 0; i < nkeys; i++)
        if (!map_get(m, keys[i])) return synap_errf(err, "%s: missing key '%s'", what, keys[i]);
    return 0;
}

static int get_uint(const msgpack_object *m, const char *key, uint64_t max, uint64_t *v,
                    const char *what, struct synap_err *err)
{
    const msgpack_object *o = map_get(m, key);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return synap_errf(err, "%s: '%s' is not an unsigned integer%s", what, key,
                          o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? " in range" : "");
    *v = o->via.u64;
    return 0;
}

static int get_str(struct synap_arena *a, const msgpack_object *m, const char *key, const char **v,
                   const char *what, struct synap_err *err)
{
    const msgpack_object *o = map_get(m, key);
    if (!o || o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, 0, o->via.str.size))
        return synap_errf(err, "%s: '%s' is not a string", what, key);
    char *s = synap_arena_alloc(a, (size_t)o->via.str.size + 1);
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    *v = s;
    return 0;
}

static int read_section(const msgpack_object *root, const struct synap_graph *g,
                        struct synap_codegen_info *info, struct synap_err *err)
{
    static const char *const top_keys[] = {"version", "target", "layers", "subgraphs"};
    static const char *const layer_keys[] = {
        "id", "name", "type", "subgraph", "nodes", "macs", "bytes_read", "bytes_written", "cycles"};
    static const char *const sub_keys[] = {"id", "delegate", "arena_bytes", "tensors"};
    uint64_t v = 0;
    if (check_keys(root, top_keys, 4, "top level", err) < 0) return -1;
    if (get_uint(root, "version", UINT32_MAX, &v, "top level", err) < 0) return -1;
    if (v != SYNAP_CODEGEN_VERSION)
        return synap_errf(err, "version %llu is not supported (this reader knows %d)",
                          (unsigned long long)v, SYNAP_CODEGEN_VERSION);
    if (get_str(info->arena, root, "target", &info->target, "top level", err) < 0) return -1;
    const msgpack_object *layers = map_get(root, "layers"), *subs = map_get(root, "subgraphs");
    if (layers->type != MSGPACK_OBJECT_ARRAY) return synap_errf(err, "'layers' is not an array");
    if (subs->type != MSGPACK_OBJECT_ARRAY) return synap_errf(err, "'subgraphs' is not an array");

    /* subgraphs first: layers refer to them */
    size_t ns = subs->via.array.size;
    info->subgraphs = synap_arena_alloc(info->arena, (ns ? ns : 1) * sizeof *info->subgraphs);
    char what[64];
    for (size_t i = 0; i < ns; i++) {
        const msgpack_object *o = &subs->via.array.ptr[i];
        struct synap_codegen_subgraph *s = &info->subgraphs[i];
        snprintf(what, sizeof what, "subgraph %zu", i);
        if (check_keys(o, sub_keys, 4, what, err) < 0) return -1;
        if (get_uint(o, "id", INT32_MAX, &v, what, err) < 0) return -1;
        s->id = (uint32_t)v;
        for (size_t j = 0; j < i; j++)
            if (info->subgraphs[j].id == s->id)
                return synap_errf(err, "%s: id %u appears twice", what, s->id);
        if (get_str(info->arena, o, "delegate", &s->delegate, what, err) < 0) return -1;
        if (get_uint(o, "arena_bytes", INT64_MAX, &s->arena_bytes, what, err) < 0) return -1;
        if (s->arena_bytes % ALIGN)
            return synap_errf(err, "%s: arena_bytes %llu is not a multiple of %d", what,
                              (unsigned long long)s->arena_bytes, ALIGN);
        const msgpack_object *ts = map_get(o, "tensors");
        if (ts->type != MSGPACK_OBJECT_ARRAY)
            return synap_errf(err, "%s: 'tensors' is not an array", what);
        s->ntensors = ts->via.array.size;
        if (s->ntensors > g->ntensors)
            return synap_errf(err, "%s: %zu tensors planned, the graph has %zu", what, s->ntensors,
                              g->ntensors);
        s->tensors =
            synap_arena_alloc(info->arena, (s->ntensors ? s->ntensors : 1) * sizeof *s->tensors);
        uint64_t total = 0; /* the greedy peak never exceeds the sum of sizes */
        for (size_t j = 0; j < s->ntensors; j++) {
            const msgpack_object *e = &ts->via.array.ptr[j];
            if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3)
                return synap_errf(err, "%s: tensors[%zu] is not [tensor, offset, nbytes]", what, j);
            for (int k = 0; k < 3; k++)
                if (e->via.array.ptr[k].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                    return synap_errf(err, "%s: tensors[%zu] is not [tensor, offset, nbytes]", what,
                                      j);
            uint64_t t = e->via.array.ptr[0].via.u64;
            if (t >= g->ntensors)
                return synap_errf(err, "%s: tensor %llu out of range (%zu tensors)", what,
                                  (unsigned long long)t, g->ntensors);
            if (j && t <= s->tensors[j - 1].tensor)
                return synap_errf(err, "%s: tensors not sorted by index or repeated", what);
            s->tensors[j].tensor = (uint32_t)t;
            s->tensors[j].offset = e->via.array.ptr[1].via.u64;
            s->tensors[j].nbytes = e->via.array.ptr[2].via.u64;
            if (s->tensors[j].nbytes > INT64_MAX) /* checked exactly by verify_plan */
                return synap_errf(err, "%s: tensor %llu: size out of range", what,
                                  (unsigned long long)t);
            total += align_up(s->tensors[j].nbytes);
        }
        if (s->arena_bytes > total)
            return synap_errf(err, "%s: arena_bytes %llu exceeds the %llu bytes of its tensors",
                              what, (unsigned long long)s->arena_bytes, (unsigned long long)total);
        info->nsubgraphs = i + 1;
    }

    size_t nl = layers->via.array.size;
    if (nl > g->nnodes) return synap_errf(err, "%zu layers for %zu nodes", nl, g->nnodes);
    info->layers = synap_arena_alloc(info->arena, (nl ? nl : 1) * sizeof *info->layers);
    unsigned char *claimed = synap_xcalloc(g->nnodes ? g->nnodes : 1, 1);
    int rc = 0;
    for (size_t i = 0; i < nl && rc == 0; i++) {
        const msgpack_object *o = &layers->via.array.ptr[i];
        struct synap_codegen_layer *l = &info->layers[i];
        snprintf(what, sizeof what, "layer %zu", i);
        if (check_keys(o, layer_keys, 9, what, err) < 0 ||
            get_uint(o, "id", UINT32_MAX, &v, what, err) < 0) {
            rc = -1;
            break;
        }
        l->id = (uint32_t)v;
        if (l->id != i) {
            rc = synap_errf(err, "%s: id %u, expected %zu", what, l->id, i);
            break;
        }
        if (get_str(info->arena, o, "name", &l->name, what, err) < 0 ||
            get_str(info->arena, o, "type", &l->type, what, err) < 0 ||
            get_uint(o, "subgraph", UINT32_MAX, &v, what, err) < 0 ||
            get_uint(o, "macs", UINT64_MAX, &l->macs, what, err) < 0 ||
            get_uint(o, "bytes_read", UINT64_MAX, &l->bytes_read, what, err) < 0 ||
            get_uint(o, "bytes_written", UINT64_MAX, &l->bytes_written, what, err) < 0 ||
            get_uint(o, "cycles", UINT64_MAX, &l->cycles, what, err) < 0) {
            rc = -1;
            break;
        }
        l->subgraph = (uint32_t)v;
        bool known = false;
        for (size_t j = 0; j < info->nsubgraphs; j++)
            known |= info->subgraphs[j].id == l->subgraph;
        if (!known) {
            rc = synap_errf(err, "%s: subgraph %u is not listed", what, l->subgraph);
            break;
        }
        const msgpack_object *nodes = map_get(o, "nodes");
        if (nodes->type != MSGPACK_OBJECT_ARRAY || nodes->via.array.size == 0) {
            rc = synap_errf(err, "%s: 'nodes' is not a non-empty array", what);
            break;
        }
        l->nnodes = nodes->via.array.size;
        l->nodes = synap_arena_alloc(info->arena, l->nnodes * sizeof *l->nodes);
        for (size_t j = 0; j < l->nnodes && rc == 0; j++) {
            const msgpack_object *e = &nodes->via.array.ptr[j];
            if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 >= g->nnodes)
                rc = synap_errf(err, "%s: node %s out of range (%zu nodes)", what,
                                e->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "index" : "entry",
                                g->nnodes);
            else if (claimed[e->via.u64])
                rc = synap_errf(err, "%s: node %llu is already in another layer or repeated", what,
                                (unsigned long long)e->via.u64);
            else if (j && e->via.u64 <= l->nodes[j - 1])
                rc = synap_errf(err, "%s: node indices not ascending", what);
            else {
                claimed[e->via.u64] = 1;
                l->nodes[j] = (uint32_t)e->via.u64;
            }
        }
        if (rc == 0) info->nlayers = i + 1;
    }
    free(claimed);
    return rc;
}

int synap_codegen_section_read(const struct synap_graph *g, struct synap_codegen_info *info,
                               struct synap_err *err)
{
    memset(info, 0, sizeof *info);
    const uint8_t *p;
    size_t n;
    int got = synap_ir_section_get(g, "codegen", &p, &n, err);
    if (got <= 0) return got;
    /* synap_ir_section_get has checked the structure (every count fits the
     * bytes), so msgpack-c cannot be made to allocate absurd amounts */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    info->arena = synap_arena_new();
    if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n) {
        synap_errf(err, "codegen section: not one msgpack value");
        goto out;
    }
    if (read_section(&up.data, g, info, err) < 0 || synap_codegen_verify_plan(g, info, err) < 0) {
        synap_err_prefix(err, "codegen section");
        goto out;
    }
    rc = 1;
out:
    msgpack_unpacked_destroy(&up);
    if (rc < 0) synap_codegen_info_free(info);
    return rc;
}
