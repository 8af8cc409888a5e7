/* Layout cleanup: the importer wraps every NCHW op of an NHWC model in
 * Transposes; this pass removes the pairs that cancel and moves Transposes
 * below ops that do not care about layout, so consecutive convolutions
 * exchange NCHW tensors directly.
 *
 * Rules, applied until none fires (each one removes a Transpose or moves
 * one towards the outputs, so it ends):
 *   compose: Transpose(q) of Transpose(p) of z is Transpose(p o q) of z, and
 *     nothing at all when that is the identity (its uses take z);
 *   sink: an elementwise op, Pad, Concat, Resize or keepdims ReduceMean/Max/
 *     Min whose data inputs all come from Transposes with the same perm p
 *     (each used only there) or are constants, runs on the untransposed
 *     inputs instead, followed by one Transpose(p); constants are transposed
 *     by the inverse perm, per-axis arguments (pads, axis, sizes) permuted.
 * A Transpose whose output is a graph output keeps its place (and name). */
#include <stdlib.h>
#include <string.h>

#include "tflite/internal.h"

static int is_transpose(const struct synap_graph *g, int64_t node, int64_t *perm, int *rank)
{
    if (node < 0) return 0;
    const struct synap_node *n = &g->nodes[node];
    if (n->op != SYNAP_OP_TRANSPOSE || n->ninputs != 1 || n->noutputs != 1) return 0;
    const int64_t *p;
    size_t np = synap_attr_ints(n, "perm", &p);
    if (!np || np > SYNAP_MAX_RANK) return 0; /* default perm: reversal; rank unknown here */
    *rank = (int)np;
    memcpy(perm, p, np * sizeof *p);
    return 1;
}

static int same_perm(const int64_t *a, const int64_t *b, int r)
{
    return !memcmp(a, b, (size_t)r * sizeof *a);
}

/* Data inputs of a layout-agnostic op (the others stay as they are), or 0. */
static size_t data_inputs(const struct synap_node *n)
{
    switch (n->op) {
    case SYNAP_OP_RELU:
    case SYNAP_OP_LEAKY_RELU:
    case SYNAP_OP_SIGMOID:
    case SYNAP_OP_HARD_SIGMOID:
    case SYNAP_OP_HARD_SWISH:
    case SYNAP_OP_TANH:
    case SYNAP_OP_ELU:
    case SYNAP_OP_SELU:
    case SYNAP_OP_SOFTPLUS:
    case SYNAP_OP_ERF:
    case SYNAP_OP_SQRT:
    case SYNAP_OP_EXP:
    case SYNAP_OP_LOG:
    case SYNAP_OP_NEG:
    case SYNAP_OP_ABS:
    case SYNAP_OP_RECIPROCAL:
    case SYNAP_OP_FLOOR:
    case SYNAP_OP_CEIL:
    case SYNAP_OP_ROUND:
    case SYNAP_OP_SIGN:
    case SYNAP_OP_SIN:
    case SYNAP_OP_COS:
    case SYNAP_OP_NOT:
    case SYNAP_OP_IDENTITY:
    case SYNAP_OP_CAST:
    case SYNAP_OP_CLIP:
    case SYNAP_OP_PAD:
    case SYNAP_OP_RESIZE:
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_REDUCE_MAX:
    case SYNAP_OP_REDUCE_MIN:
        return 1;
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUB:
    case SYNAP_OP_MUL:
    case SYNAP_OP_DIV:
    case SYNAP_OP_POW:
    case SYNAP_OP_PRELU:
    case SYNAP_OP_EQUAL:
    case SYNAP_OP_LESS:
    case SYNAP_OP_LESS_OR_EQUAL:
    case SYNAP_OP_GREATER:
    case SYNAP_OP_GREATER_OR_EQUAL:
    case SYNAP_OP_AND:
    case SYNAP_OP_OR:
    case SYNAP_OP_XOR:
    case SYNAP_OP_MIN:
    case SYNAP_OP_MAX:
    case SYNAP_OP_SUM:
    case SYNAP_OP_WHERE:
    case SYNAP_OP_CONCAT:
        return n->ninputs;
    default:
        return 0;
    }
}

/* Transposes a constant's data: out dims[i] = in dims[perm[i]]. */
static void transpose_data(const uint8_t *src, uint8_t *dst, int r, const int64_t *dims,
                           const int64_t *perm, size_t esz)
{
    int64_t stride[SYNAP_MAX_RANK], odims[SYNAP_MAX_RANK], idx[SYNAP_MAX_RANK] = {0};
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        stride[i] = s;
        s *= dims[i];
    }
    for (int i = 0; i < r; i++)
        odims[i] = dims[perm[i]];
    int64_t n = synap_shape_nelem(r, dims);
    for (int64_t o = 0; o < n; o++) {
        int64_t off = 0;
        for (int i = 0; i < r; i++)
            off += idx[i] * stride[perm[i]];
        memcpy(dst + (size_t)o * esz, src + (size_t)off * esz, esz);
        for (int i = r - 1; i >= 0; i--) {
            if (++idx[i] < odims[i]) break;
            idx[i] = 0;
        }
    }
}

struct maps {
    int64_t *producer; /* tensor -> node, -1 */
    size_t *uses;      /* tensor -> node input references + graph outputs */
    unsigned char *is_output;
    unsigned char *movable; /* every consumer is a Transpose or layout-agnostic */
};

static void maps_build(const struct synap_graph *g, struct maps *m)
{
    m->producer = synap_xrealloc(m->producer, (g->ntensors + 1) * sizeof *m->producer);
    m->uses = synap_xrealloc(m->uses, (g->ntensors + 1) * sizeof *m->uses);
    m->is_output = synap_xrealloc(m->is_output, g->ntensors + 1);
    m->movable = synap_xrealloc(m->movable, g->ntensors + 1);
    for (size_t t = 0; t < g->ntensors; t++) {
        m->producer[t] = -1;
        m->uses[t] = 0;
        m->is_output[t] = 0;
        m->movable[t] = 1;
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        for (size_t k = 0; k < n->noutputs; k++)
            if (n->outputs[k] != SYNAP_NONE) m->producer[n->outputs[k]] = (int64_t)i;
        for (size_t k = 0; k < n->ninputs; k++)
            if (n->inputs[k] != SYNAP_NONE) {
                m->uses[n->inputs[k]]++;
                if (n->op != SYNAP_OP_TRANSPOSE && !data_inputs(n)) m->movable[n->inputs[k]] = 0;
            }
    }
    for (size_t i = 0; i < g->noutputs; i++) {
        m->uses[g->outputs[i]]++;
        m->is_output[g->outputs[i]] = 1;
        m->movable[g->outputs[i]] = 0;
    }
}

static int compose(struct synap_graph *g, const struct maps *m, size_t i)
{
    int64_t q[SYNAP_MAX_RANK], p[SYNAP_MAX_RANK];
    int rq, rp;
    struct synap_node *n = &g->nodes[i];
    if (!is_transpose(g, (int64_t)i, q, &rq)) return 0;
    uint32_t y = n->inputs[0], w = n->outputs[0];
    int64_t a = m->producer[y];
    if (!is_transpose(g, a, p, &rp) || rp != rq) return 0;
    uint32_t z = g->nodes[a].inputs[0];
    int64_t r[SYNAP_MAX_RANK];
    int identity = 1;
    for (int k = 0; k < rq; k++) {
        if (q[k] < 0 || q[k] >= rp) return 0;
        r[k] = p[q[k]];
        identity &= r[k] == k;
    }
    if (identity) {
        if (m->is_output[w]) return 0; /* keep the output's name and producer */
        for (size_t j = 0; j < g->nnodes; j++)
            for (size_t k = 0; k < g->nodes[j].ninputs; k++)
                if (g->nodes[j].inputs[k] == w) g->nodes[j].inputs[k] = z;
        return 1;
    }
    n->inputs[0] = z;
    synap_node_set_ints(g, n, "perm", r, (size_t)rq);
    return 1;
}

/* A new tensor name: base + suffix, unique in the graph. */
static const char *fresh_name(struct synap_graph *g, const char *base, const char *suffix)
{
    size_t len = strlen(base) + strlen(suffix) + 24;
    char *s = synap_arena_alloc(g->arena, len);
    snprintf(s, len, "%s%s", base, suffix);
    for (unsigned k = 1; synap_graph_find_tensor(g, s) != SYNAP_NONE; k++)
        snprintf(s, len, "%s%s_%u", base, suffix, k);
    return s;
}

/* The constant t (rank <= r) as seen through the inverse of perm p: padded
 * to rank r with leading 1s, then transposed by pinv. */
static uint32_t const_through(struct synap_graph *g, uint32_t t, const int64_t *pinv, int r)
{
    const struct synap_tensor *ts = &g->tensors[t];
    int64_t dims[SYNAP_MAX_RANK], odims[SYNAP_MAX_RANK];
    int pad = r - ts->rank;
    for (int i = 0; i < r; i++)
        dims[i] = i < pad ? 1 : ts->dims[i - pad];
    for (int i = 0; i < r; i++)
        odims[i] = dims[pinv[i]];
    size_t esz = synap_dtype_size(ts->dtype);
    uint8_t *buf = synap_xmalloc(ts->nbytes + 1);
    transpose_data(ts->data, buf, r, dims, pinv, esz);
    const char *name = fresh_name(g, ts->name, "/nchw");
    uint32_t nt = synap_graph_add_const(g, name, ts->dtype, r, odims, buf, ts->nbytes);
    free(buf);
    /* quantized constants keep their parameters (per-channel: the axis moves) */
    const struct synap_quant *q = g->tensors[t].quant;
    if (q) {
        struct synap_quant *nq = synap_arena_alloc(g->arena, sizeof *nq);
        *nq = *q;
        for (int i = 0; i < r && q->axis >= 0; i++)
            if (pinv[i] == q->axis + pad) nq->axis = i;
        g->tensors[nt].quant = nq;
    }
    return nt;
}

/* A constant int64 / float vector input k permuted so that entry i moves to
 * p[i] (with `halves` = 2 the two halves of a pads vector separately). */
static int permute_vec_input(struct synap_graph *g, struct synap_node *n, size_t k,
                             const int64_t *p, int r, int halves)
{
    if (k >= n->ninputs || n->inputs[k] == SYNAP_NONE) return 0;
    const struct synap_tensor *ts = &g->tensors[n->inputs[k]];
    size_t esz = synap_dtype_size(ts->dtype);
    if (!ts->data || ts->rank != 1 || ts->dims[0] != (int64_t)halves * r || !esz) return -1;
    uint8_t *buf = synap_xmalloc(ts->nbytes + 1);
    const uint8_t *src = ts->data;
    for (int h = 0; h < halves; h++)
        for (int i = 0; i < r; i++)
            memcpy(buf + ((size_t)h * r + (size_t)p[i]) * esz, src + ((size_t)h * r + i) * esz,
                   esz);
    const char *name = fresh_name(g, ts->name, "/nchw");
    uint32_t nt = synap_graph_add_const(g, name, ts->dtype, 1, ts->dims, buf, ts->nbytes);
    free(buf);
    g->nodes[n - g->nodes].inputs[k] = nt;
    return 0;
}

static int sink(struct synap_graph *g, const struct maps *m, size_t i)
{
    struct synap_node *n = &g->nodes[i];
    size_t nd = data_inputs(n);
    if (!nd || n->noutputs != 1 || n->outputs[0] == SYNAP_NONE) return 0;
    int64_t p[SYNAP_MAX_RANK], q[SYNAP_MAX_RANK];
    int r = 0, found = 0;
    /* every data input: a single-use Transpose with the common perm, or a constant */
    for (size_t k = 0; k < nd; k++) {
        uint32_t t = n->inputs[k];
        if (t == SYNAP_NONE) continue;
        int rq;
        /* a Transpose used elsewhere too moves only when all its users can
         * take it (each of them then sinks it in turn) */
        if (is_transpose(g, m->producer[t], q, &rq) && (m->uses[t] == 1 || m->movable[t])) {
            if (found && (rq != r || !same_perm(p, q, r))) return 0;
            if (!found) memcpy(p, q, sizeof p);
            r = rq;
            found = 1;
        } else if (!g->tensors[t].data) {
            return 0;
        }
    }
    if (!found) return 0;
    int64_t pinv[SYNAP_MAX_RANK];
    for (int k = 0; k < r; k++) {
        if (p[k] < 0 || p[k] >= r) return 0;
        pinv[p[k]] = k;
    }
    for (size_t k = 0; k < nd; k++) {
        uint32_t t = n->inputs[k];
        if (t == SYNAP_NONE || !g->tensors[t].data) continue;
        if (g->tensors[t].rank > r) return 0;
    }
    /* op-specific arguments that name axes */
    switch (n->op) {
    case SYNAP_OP_PAD:
        if (n->ninputs > 3 ||
            (n->ninputs > 1 && n->inputs[1] != SYNAP_NONE && !g->tensors[n->inputs[1]].data))
            return 0;
        break;
    case SYNAP_OP_RESIZE:
        if (n->ninputs > 1 && n->inputs[1] != SYNAP_NONE &&
            synap_shape_nelem(g->tensors[n->inputs[1]].rank, g->tensors[n->inputs[1]].dims) > 0)
            return 0; /* a roi */
        for (size_t k = 2; k < n->ninputs; k++)
            if (n->inputs[k] != SYNAP_NONE && !g->tensors[n->inputs[k]].data) return 0;
        break;
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_REDUCE_MAX:
    case SYNAP_OP_REDUCE_MIN:
        if (synap_attr_int(n, "keepdims", 1) == 0) return 0;
        break;
    case SYNAP_OP_CLIP:
        for (size_t k = 1; k < n->ninputs; k++)
            if (n->inputs[k] != SYNAP_NONE && synap_shape_nelem(g->tensors[n->inputs[k]].rank,
                                                                g->tensors[n->inputs[k]].dims) != 1)
                return 0;
        break;
    default:
        break;
    }

    /* rewrite: inputs untransposed, constants through the inverse perm */
    for (size_t k = 0; k < nd; k++) {
        uint32_t t = n->inputs[k];
        if (t == SYNAP_NONE) continue;
        if (!g->tensors[t].data) {
            g->nodes[i].inputs[k] = g->nodes[m->producer[t]].inputs[0];
        } else if (synap_shape_nelem(g->tensors[t].rank, g->tensors[t].dims) != 1) {
            uint32_t nt = const_through(g, t, pinv, r);
            g->nodes[i].inputs[k] = nt;
        }
    }
    n = &g->nodes[i];
    switch (n->op) {
    case SYNAP_OP_PAD:
        if (permute_vec_input(g, n, 1, p, r, 2) < 0) return -1;
        break;
    case SYNAP_OP_RESIZE:
        if (permute_vec_input(g, n, 2, p, r, 1) < 0 || permute_vec_input(g, n, 3, p, r, 1) < 0)
            return -1;
        break;
    case SYNAP_OP_CONCAT: {
        int64_t a = synap_attr_int(n, "axis", 0);
        if (a < -r || a >= r) return -1;
        synap_node_set_int(g, n, "axis", p[a < 0 ? a + r : a]);
        break;
    }
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_REDUCE_MAX:
    case SYNAP_OP_REDUCE_MIN: {
        const int64_t *ax;
        size_t na = synap_attr_ints(n, "axes", &ax);
        int64_t nax[SYNAP_MAX_RANK];
        if (na > SYNAP_MAX_RANK) return -1;
        for (size_t k = 0; k < na; k++) {
            if (ax[k] < -r || ax[k] >= r) return -1;
            nax[k] = p[ax[k] < 0 ? ax[k] + r : ax[k]];
        }
        if (na) synap_node_set_ints(g, n, "axes", nax, na);
        break;
    }
    default:
        break;
    }
    /* the op now produces the untransposed result; one Transpose restores it */
    uint32_t out = n->outputs[0];
    const struct synap_tensor *ot = &g->tensors[out];
    int64_t dims[SYNAP_MAX_RANK];
    for (int k = 0; k < r && k < ot->rank; k++)
        dims[p[k]] = ot->dims[k];
    enum synap_dtype dt = ot->dtype;
    const char *name = fresh_name(g, ot->name, "/nchw");
    uint32_t mid = synap_graph_add_tensor(g, name, dt, r, dims);
    g->tensors[mid].quant = g->tensors[out].quant; /* the same values, transposed */
    const char *nname = g->nodes[i].name;
    g->nodes[i].outputs[0] = mid;
    size_t len = strlen(nname) + 16;
    char *tn = synap_xmalloc(len);
    snprintf(tn, len, "%s/to_nhwc", nname);
    struct synap_node *t = synap_graph_add_node(g, tn, SYNAP_OP_TRANSPOSE, 1, 1);
    free(tn);
    t->inputs[0] = mid;
    t->outputs[0] = out;
    synap_node_set_ints(g, t, "perm", p, (size_t)r);
    return 1;
}

int synap_tflite_sink_transposes(struct synap_graph *g, struct synap_err *err)
{
    struct maps m = {0};
    int rc = -1;
    size_t limit = 16 * g->nnodes + 64;
    for (size_t iter = 0;; iter++) {
        if (iter > limit) break; /* correct as it is, only not minimal */

        maps_build(g, &m);
        int changed = 0;
        for (size_t i = 0; i < g->nnodes && !changed; i++) {
            int r = compose(g, &m, i);
            if (!r) r = sink(g, &m, i);
            if (r < 0) {
                synap_errf(err, "layout cleanup: node '%s' has malformed axis arguments",
                           g->nodes[i].name);
                goto out;
            }
            changed = r;
        }
        if (!changed) break;
        /* prune_dead sweeps in node order: sort first (new Transposes were appended) */
        if (synap_graph_toposort(g, err) < 0) goto out;
        synap_graph_prune_dead(g);
    }
    if (synap_graph_toposort(g, err) < 0 || synap_graph_infer(g, false, err) < 0) goto out;
    rc = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        rc += g->nodes[i].op == SYNAP_OP_TRANSPOSE;
out:
    free(m.producer);
    free(m.uses);
    free(m.is_output);
    free(m.movable);
    return rc;
}
