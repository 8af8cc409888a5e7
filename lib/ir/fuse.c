/* Graph rewrites that keep a float network's function and remove layers:
 * affine followers folded into a convolution, and the HardSwish patterns of
 * exporters collapsed into one HardSwish node. Codegen folds BatchNorm and
 * bias Adds before planning memory; synap-quant runs every rewrite before
 * quantizing, so that each removed layer is one requantization (one rounding
 * of a heavy-tailed activation to 8 bits) less. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static const float *const_f32(const struct synap_graph *g, uint32_t t, int64_t nelem)
{
    return synap_const_f32(g, t, nelem, NULL);
}

/* A single float32 constant's value. */
static bool scalar_const(const struct synap_graph *g, uint32_t t, double *v)
{
    const float *p = const_f32(g, t, 1);
    if (!p) return false;
    *v = p[0];
    return true;
}

/* A per-output-channel constant of a conv output of rank `rank` with `co`
 * channels: a float32 constant broadcasting along axis 1 only (shape
 * [Co,1,1], [1,Co,1,1], a single element, ...). Fills v[co]. */
static bool channel_const(const struct synap_graph *g, uint32_t t, int rank, int64_t co, double *v)
{
    const float *p = const_f32(g, t, -1);
    if (!p) return false;
    const struct synap_tensor *ts = &g->tensors[t];
    if (ts->rank > rank) return false;
    int64_t ne = synap_shape_nelem(ts->rank, ts->dims);
    for (int d = 0; d < ts->rank; d++) {
        int axis = rank - ts->rank + d; /* numpy alignment from the right */
        if (ts->dims[d] != 1 && !(axis == 1 && ts->dims[d] == co)) return false;
    }
    for (int64_t o = 0; o < co; o++) {
        v[o] = p[ne == 1 ? 0 : o];
        if (!isfinite(v[o])) return false;
    }
    return true;
}

static bool same_place(const struct synap_node *a, const struct synap_node *b, const int *group,
                       size_t ia, size_t ib)
{
    if (a->subgraph != b->subgraph) return false;
    if ((a->delegate == NULL) != (b->delegate == NULL) ||
        (a->delegate && strcmp(a->delegate, b->delegate)))
        return false;
    return !group || group[ia] == group[ib];
}

/* The value tensor t is an intermediate that may disappear: one use, not a
 * graph output, produced by node p. */
static bool private_value(const struct synap_graph *g, const struct synap_uses *u, uint32_t t)
{
    return t < g->ntensors && u->nuses[t] == 1 && !u->is_output[t] && !g->tensors[t].data;
}

/* Folds node `b` into conv node `c` when its output feeds only b: b is a
 * BatchNormalization (inference), an Add/Sub of a per-channel constant, or
 * (with scale) a Mul by one; z = y * s + add per output channel. */
static int fold_one(struct synap_graph *g, const struct synap_uses *u, size_t ci, size_t bi,
                    unsigned flags, const int *group)
{
    struct synap_node *c = &g->nodes[ci];
    const struct synap_node *b = &g->nodes[bi];
    bool bn = b->op == SYNAP_OP_BATCH_NORMALIZATION, mul = b->op == SYNAP_OP_MUL,
         sub = b->op == SYNAP_OP_SUB;
    if (mul ? !(flags & SYNAP_FUSE_SCALE) : !(flags & SYNAP_FUSE_BN)) return 0;
    if (c->noutputs != 1 || c->ninputs < 2 || b->ninputs != (bn ? 5u : 2u) ||
        b->outputs[0] == SYNAP_NONE)
        return 0;
    for (size_t j = 1; j < b->noutputs; j++)
        if (b->outputs[j] != SYNAP_NONE) return 0;
    if (bn && synap_attr_int(b, "training_mode", 0) != 0) return 0;
    if (!same_place(c, b, group, ci, bi)) return 0;
    uint32_t y = c->outputs[0];
    if (!private_value(g, u, y)) return 0;
    if (bn ? b->inputs[0] != y : (b->inputs[0] != y && b->inputs[1] != y)) return 0;
    if (sub && b->inputs[0] != y) return 0; /* c - y would negate the weights */
    if (c->inputs[1] >= g->ntensors) return 0;
    const struct synap_tensor *wt = &g->tensors[c->inputs[1]];
    if (wt->rank < 3) return 0;
    const float *w = const_f32(g, c->inputs[1], -1);
    if (!w) return 0;
    bool transpose = c->op == SYNAP_OP_CONV_TRANSPOSE;
    int64_t group_ = synap_attr_int(c, "group", 1);
    if (group_ < 1) return 0;
    int64_t co = transpose ? wt->dims[1] * group_ : wt->dims[0];
    const struct synap_tensor *yt = &g->tensors[y], *zt = &g->tensors[b->outputs[0]];
    if (co <= 0 || yt->rank < 2 || yt->dims[1] != co) return 0;
    /* the folded node must produce exactly the follower's output */
    if (zt->dtype != yt->dtype || zt->rank != yt->rank ||
        memcmp(zt->dims, yt->dims, sizeof(int64_t) * (size_t)yt->rank))
        return 0;
    if (transpose && wt->dims[0] % group_) return 0;
    const float *bias = NULL;
    if (c->ninputs >= 3 && c->inputs[2] != SYNAP_NONE) {
        bias = const_f32(g, c->inputs[2], co);
        if (!bias) return 0;
    }
    double *s = synap_xmalloc((size_t)co * sizeof *s),
           *add = synap_xmalloc((size_t)co * sizeof *add);
    bool ok = true;
    if (bn) {
        const float *scale = const_f32(g, b->inputs[1], co), *beta = const_f32(g, b->inputs[2], co),
                    *mean = const_f32(g, b->inputs[3], co), *var = const_f32(g, b->inputs[4], co);
        double eps = synap_attr_float(b, "epsilon", 1e-5f);
        ok = scale && beta && mean && var;
        for (int64_t o = 0; ok && o < co; o++) {
            double d = (double)var[o] + eps;
            ok = d > 0; /* a negative variance: leave the BN alone */
            s[o] = ok ? scale[o] / sqrt(d) : 0;
            add[o] = beta[o] - mean[o] * s[o];
        }
    } else {
        uint32_t k = b->inputs[b->inputs[0] == y ? 1 : 0];
        ok = channel_const(g, k, yt->rank, co, mul ? s : add);
        for (int64_t o = 0; o < co; o++) {
            if (mul)
                add[o] = 0;
            else
                s[o] = 1;
            if (sub) add[o] = -add[o];
        }
    }
    if (!ok) {
        free(s);
        free(add);
        return 0;
    }
    int64_t wn = synap_shape_nelem(wt->rank, wt->dims);
    float *nw = NULL, *nb = synap_xmalloc((size_t)co * sizeof *nb);
    if (bn || mul) { /* a bias Add leaves the weights as they are */
        nw = synap_xmalloc((size_t)wn * sizeof *nw);
        if (!transpose) {
            /* OIHW: output channel o owns a contiguous block */
            int64_t per = wn / co;
            for (int64_t o = 0; o < co; o++)
                for (int64_t k = 0; k < per; k++)
                    nw[o * per + k] = (float)(w[o * per + k] * s[o]);
        } else {
            /* IOHW with groups: input channel i is in group i / (Ci/group); its
             * output channel j (of Co/group) is channel group * Co/group + j */
            int64_t cin = wt->dims[0], cog = wt->dims[1], per = wn / (cin * cog);
            int64_t cig = cin / group_;
            for (int64_t i = 0; i < cin; i++)
                for (int64_t j = 0; j < cog; j++) {
                    double f = s[(i / cig) * cog + j];
                    for (int64_t k = 0; k < per; k++) {
                        int64_t at = (i * cog + j) * per + k;
                        nw[at] = (float)(w[at] * f);
                    }
                }
        }
    }
    for (int64_t o = 0; o < co; o++)
        nb[o] = (float)((bias ? (double)bias[o] : 0.0) * s[o] + add[o]);
    free(s);
    free(add);

    /* new constants (add_const may move g->tensors: no tensor pointers below) */
    char name[1024];
    int64_t wdims[SYNAP_MAX_RANK];
    int wrank = wt->rank;
    memcpy(wdims, wt->dims, sizeof wdims);
    uint32_t nwt = c->inputs[1];
    const char *why = bn ? "bnfold" : mul ? "scalefold" : "addfold";
    if (nw) {
        snprintf(name, sizeof name, "%s:weight_%s", c->name, why);
        nwt = synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, wrank, wdims, nw,
                                    (size_t)wn * sizeof *nw);
    }
    snprintf(name, sizeof name, "%s:bias_%s", c->name, why);
    uint32_t nbt =
        synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, 1, &co, nb, (size_t)co * sizeof *nb);
    free(nw);
    free(nb);
    c = &g->nodes[ci];
    b = &g->nodes[bi];
    if (c->ninputs < 3) {
        uint32_t *in = synap_arena_alloc(g->arena, 3 * sizeof *in);
        in[0] = c->inputs[0];
        c->inputs = in;
        c->ninputs = 3;
    }
    c->inputs[1] = nwt;
    c->inputs[2] = nbt;
    c->outputs[0] = b->outputs[0];
    return 1;
}

/* Index of the node producing t when it has op `op` and t may vanish. */
static int64_t private_producer(const struct synap_graph *g, const struct synap_uses *u, uint32_t t,
                                enum synap_op op)
{
    if (!private_value(g, u, t) || u->producer[t] < 0) return -1;
    const struct synap_node *n = &g->nodes[u->producer[t]];
    return n->op == op && n->noutputs >= 1 && n->outputs[0] == t ? u->producer[t] : -1;
}

static bool near(double v, double want)
{
    return fabs(v - want) <= 1e-6 * fabs(want);
}

/* Clip node k bounds [0, 6] (constant inputs). */
static bool clip_0_6(const struct synap_graph *g, const struct synap_node *k)
{
    double lo, hi;
    return k->ninputs == 3 && scalar_const(g, k->inputs[1], &lo) &&
           scalar_const(g, k->inputs[2], &hi) && lo == 0 && hi == 6;
}

/* Node i ends a HardSwish pattern on x: fills the nodes it replaces
 * (chain[0..n-1], i last) and returns n, or 0.
 *   Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)   (paddle2onnx, older PyTorch)
 *   Mul(Mul(x, Clip(Add(x, 3), 0, 6)), 1/6)
 *   Mul(x, HardSigmoid(x, alpha = 1/6, beta = 0.5))   (PyTorch, TF) */
static size_t hardswish_at(const struct synap_graph *g, const struct synap_uses *u, size_t i,
                           size_t chain[4], uint32_t *xo)
{
    const struct synap_node *n = &g->nodes[i];
    if (n->ninputs != 2 || n->noutputs != 1) return 0;
    double v;
    if (n->op == SYNAP_OP_MUL) {
        /* the HardSigmoid form */
        for (int side = 0; side < 2; side++) {
            int64_t h = private_producer(g, u, n->inputs[side], SYNAP_OP_HARD_SIGMOID);
            if (h < 0) continue;
            const struct synap_node *hs = &g->nodes[h];
            uint32_t x = n->inputs[1 - side];
            if (hs->ninputs != 1 || hs->inputs[0] != x) continue;
            if (!near(synap_attr_float(hs, "alpha", 0.2f), 1.0 / 6) ||
                synap_attr_float(hs, "beta", 0.5f) != 0.5f)
                continue;
            chain[0] = (size_t)h;
            chain[1] = i;
            *xo = x;
            return 2;
        }
    }
    /* the Clip form: n is Div(m, 6) or Mul(m, 1/6) / Mul(1/6, m) */
    uint32_t m;
    if (n->op == SYNAP_OP_DIV) {
        if (!scalar_const(g, n->inputs[1], &v) || !near(v, 6)) return 0;
        m = n->inputs[0];
    } else if (n->op == SYNAP_OP_MUL) {
        int side = scalar_const(g, n->inputs[1], &v)   ? 1
                   : scalar_const(g, n->inputs[0], &v) ? 0
                                                       : -1;
        if (side < 0 || !near(v, 1.0 / 6)) return 0;
        m = n->inputs[1 - side];
    } else {
        return 0;
    }
    int64_t mi = private_producer(g, u, m, SYNAP_OP_MUL);
    if (mi < 0) return 0;
    const struct synap_node *mn = &g->nodes[mi];
    if (mn->ninputs != 2) return 0;
    for (int side = 0; side < 2; side++) {
        int64_t ki = private_producer(g, u, mn->inputs[side], SYNAP_OP_CLIP);
        if (ki < 0 || !clip_0_6(g, &g->nodes[ki])) continue;
        int64_t ai = private_producer(g, u, g->nodes[ki].inputs[0], SYNAP_OP_ADD);
        if (ai < 0) continue;
        const struct synap_node *an = &g->nodes[ai];
        uint32_t x = mn->inputs[1 - side];
        if (an->ninputs != 2) continue;
        int ax = an->inputs[0] == x ? 0 : an->inputs[1] == x ? 1 : -1;
        if (ax < 0 || !scalar_const(g, an->inputs[1 - ax], &v) || v != 3) continue;
        chain[0] = (size_t)ai;
        chain[1] = (size_t)ki;
        chain[2] = (size_t)mi;
        chain[3] = i;
        *xo = x;
        return 4;
    }
    return 0;
}

/* Node i is Add(Mul(x, a), b) (either operand order) with a and b float32
 * constants per channel (axis 1) or single values, on a tensor of rank 3..5:
 * it becomes BatchNormalization(x, a, b, 0, 1) with epsilon 0 - one affine
 * (one requantization) instead of two. */
static bool affine_at(struct synap_graph *g, const struct synap_uses *u, size_t i, size_t *mul_out,
                      const int *group)
{
    const struct synap_node *n = &g->nodes[i];
    if (n->op != SYNAP_OP_ADD || n->ninputs != 2 || n->noutputs != 1) return false;
    for (int side = 0; side < 2; side++) {
        int64_t mi = private_producer(g, u, n->inputs[side], SYNAP_OP_MUL);
        if (mi < 0) continue;
        const struct synap_node *m = &g->nodes[mi];
        if (m->ninputs != 2 || !same_place(m, n, group, (size_t)mi, i)) continue;
        int ms = const_f32(g, m->inputs[1], -1) ? 1 : const_f32(g, m->inputs[0], -1) ? 0 : -1;
        if (ms < 0) continue;
        uint32_t x = m->inputs[1 - ms];
        if (x >= g->ntensors || g->tensors[x].data) continue;
        const struct synap_tensor *xt = &g->tensors[x];
        if (xt->rank < 3 || xt->rank > 5 || xt->dims[1] <= 0 || xt->dtype != SYNAP_DTYPE_FLOAT32)
            continue;
        const struct synap_tensor *yt = &g->tensors[n->outputs[0]];
        if (yt->rank != xt->rank || memcmp(yt->dims, xt->dims, sizeof(int64_t) * (size_t)xt->rank))
            continue;
        int64_t co = xt->dims[1];
        double *a = synap_xmalloc((size_t)co * sizeof *a),
               *b = synap_xmalloc((size_t)co * sizeof *b);
        bool ok = channel_const(g, m->inputs[ms], xt->rank, co, a) &&
                  channel_const(g, n->inputs[1 - side], xt->rank, co, b);
        if (ok) {
            float *v = synap_xmalloc((size_t)co * 4 * sizeof *v);
            for (int64_t c = 0; c < co; c++) {
                v[c] = (float)a[c];
                v[co + c] = (float)b[c];
                v[2 * co + c] = 0;
                v[3 * co + c] = 1;
            }
            static const char *const what[4] = {"scale", "bias", "mean", "var"};
            uint32_t *in = synap_arena_alloc(g->arena, 5 * sizeof *in);
            in[0] = x;
            for (int k = 0; k < 4; k++) {
                char name[1024];
                snprintf(name, sizeof name, "%s:affine_%s", n->name, what[k]);
                in[1 + k] = synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, 1, &co, v + k * co,
                                                  (size_t)co * sizeof *v);
            }
            free(v);
            struct synap_node *nn = &g->nodes[i];
            nn->op = SYNAP_OP_BATCH_NORMALIZATION;
            nn->inputs = in;
            nn->ninputs = 5;
            nn->nattrs = 0;
            synap_node_set_float(g, nn, "epsilon", 0.0f);
            *mul_out = (size_t)mi;
        }
        free(a);
        free(b);
        if (ok) return true;
    }
    return false;
}

int synap_graph_fuse(struct synap_graph *g, unsigned flags, const int *group, size_t **map,
                     struct synap_fuse_stats *st, struct synap_err *err)
{
    struct synap_fuse_stats z = {0};
    if (!st) st = &z;
    memset(st, 0, sizeof *st);
    if (map) *map = NULL;
    if (synap_graph_verify(g, "fusion input", err) < 0) return -1;
    struct synap_uses u;
    synap_uses_build(g, &u);
    size_t nn = g->nnodes;
    unsigned char *drop = synap_xcalloc(nn ? nn : 1, 1);
    /* in node order, so a conv that took over a follower's output is the
     * producer the next follower sees */
    for (size_t bi = 0; bi < nn; bi++) {
        struct synap_node *b = &g->nodes[bi];
        if ((flags & SYNAP_FUSE_HARDSWISH) && (b->op == SYNAP_OP_DIV || b->op == SYNAP_OP_MUL)) {
            size_t chain[4];
            uint32_t x;
            size_t n = hardswish_at(g, &u, bi, chain, &x);
            bool ok = n > 0;
            for (size_t k = 0; ok && k + 1 < n; k++)
                ok = !drop[chain[k]] && same_place(&g->nodes[chain[k]], b, group, chain[k], bi);
            if (ok) {
                for (size_t k = 0; k + 1 < n; k++)
                    drop[chain[k]] = 1;
                /* the last node becomes the HardSwish (its name and output stay) */
                b->op = SYNAP_OP_HARD_SWISH;
                b->inputs[0] = x;
                b->ninputs = 1;
                b->nattrs = 0;
                st->nhardswish++;
                continue;
            }
        }
        size_t mi;
        if ((flags & SYNAP_FUSE_AFFINE) && !drop[bi] && affine_at(g, &u, bi, &mi, group) &&
            !drop[mi]) {
            drop[mi] = 1;
            st->naffine++;
            b = &g->nodes[bi];
        }
        bool bn = b->op == SYNAP_OP_BATCH_NORMALIZATION;
        if (!bn && b->op != SYNAP_OP_ADD && b->op != SYNAP_OP_SUB && b->op != SYNAP_OP_MUL)
            continue;
        if (b->ninputs < 1) continue;
        int64_t ci = -1;
        for (size_t j = 0; j < (bn ? 1u : b->ninputs) && ci < 0; j++) {
            uint32_t t = b->inputs[j];
            if (t >= g->ntensors || u.producer[t] < 0) continue;
            enum synap_op op = g->nodes[u.producer[t]].op;
            if ((op == SYNAP_OP_CONV || op == SYNAP_OP_CONV_TRANSPOSE) && !drop[u.producer[t]])
                ci = u.producer[t];
        }
        if (ci < 0) continue;
        uint32_t zt = b->outputs[0];
        enum synap_op bop = b->op;
        if (fold_one(g, &u, (size_t)ci, bi, flags, group)) {
            drop[bi] = 1;
            if (zt < g->ntensors) u.producer[zt] = ci;
            if (bop == SYNAP_OP_BATCH_NORMALIZATION)
                st->nbn++;
            else if (bop == SYNAP_OP_MUL)
                st->nscale++;
            else
                st->nbias++;
        }
    }
    synap_uses_free(&u);
    size_t w = 0;
    size_t *m = synap_xmalloc((nn ? nn : 1) * sizeof *m);
    for (size_t i = 0; i < nn; i++)
        if (!drop[i]) {
            m[w] = i;
            g->nodes[w++] = g->nodes[i];
        }
    g->nnodes = w;
    free(drop);
    if (map)
        *map = m;
    else
        free(m);
    if (w != nn && synap_graph_verify(g, "fused graph", err) < 0) return -1;
    return 0;
}
