/* Recurrent layers: LSTM, GRU and RNN in float32, with ONNX opset-17
 * semantics (gate orders iofc for LSTM and zrh for GRU, directions, layout
 * 0/1, sequence_lens, initial states, peepholes, clip, input_forget,
 * linear_before_reset and the named activation functions).
 *
 * Per direction: X * W^T for every time step is one GEMM up front; each step
 * then adds H_{t-1} * R^T with a second GEMM into a [batch, gates] buffer and
 * applies the gate equations elementwise. With sequence_lens each batch entry
 * walks its own time range (reverse starts at its own last step), so a step's
 * rows are gathered per batch entry; outputs past an entry's length are 0,
 * and Y_h / Y_c hold the state after its last step (the initial state when
 * its length is 0).
 *
 * Scratch: xw [seq*batch*G*H] + gates [batch*G*H] + h, c, tmp [batch*H] each.
 * The GEMMs sum in a fixed order, so results do not depend on threads. */
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/kernel.h"

enum act_kind {
    ACT_SIGMOID,
    ACT_TANH,
    ACT_RELU,
    ACT_AFFINE,
    ACT_LEAKY_RELU,
    ACT_THRESHOLDED_RELU,
    ACT_SCALED_TANH,
    ACT_HARD_SIGMOID,
    ACT_ELU,
    ACT_SOFTSIGN,
    ACT_SOFTPLUS,
};

struct act {
    enum act_kind kind;
    float alpha, beta;
};

/* Names are matched case-insensitively, as ONNX Runtime does. `na`/`nb`
 * say whether the function takes alpha / beta, with ONNX Runtime's defaults. */
static const struct {
    const char *name;
    enum act_kind kind;
    int na, nb;
    float alpha, beta;
} act_table[] = {
    {"sigmoid", ACT_SIGMOID, 0, 0, 0, 0},
    {"tanh", ACT_TANH, 0, 0, 0, 0},
    {"relu", ACT_RELU, 0, 0, 0, 0},
    {"affine", ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"leakyrelu", ACT_LEAKY_RELU, 1, 0, 0.01f, 0},
    {"thresholdedrelu", ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0},
    {"scaledtanh", ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f},
    {"hardsigmoid", ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"elu", ACT_ELU, 1, 0, 1.0f, 0},
    {"softsign", ACT_SOFTSIGN, 0, 0, 0, 0},
    {"softplus", ACT_SOFTPLUS, 0, 0, 0, 0},
};

static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b) return 0;
    }
    return *a == *b;
}

static inline float act_apply(const struct act *a, float x)
{
    switch (a->kind) {
    case ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case ACT_TANH:
        return tanhf(x);
    case ACT_RELU:
        return x > 0 ? x : 0;
    case ACT_AFFINE:
        return a->alpha * x + a->beta;
    case ACT_LEAKY_RELU:
        return x >= 0 ? x : a->alpha * x;
    case ACT_THRESHOLDED_RELU:
        return x > a->alpha ? x : 0;
    case ACT_SCALED_TANH:
        return a->alpha * tanhf(a->beta * x);
    case ACT_HARD_SIGMOID: {
        float v = a->alpha * x + a->beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case ACT_ELU:
        return x >= 0 ? x : a->alpha * (expf(x) - 1.0f);
    case ACT_SOFTSIGN:
        return x / (1.0f + fabsf(x));
    case ACT_SOFTPLUS:
        return x > 20.0f ? x : log1pf(expf(x));
    }
    return x;
}

enum { MAX_ACTS = 6 }; /* 3 per direction (LSTM), 2 directions */

struct rnn_geom {
    enum synap_op op;
    int ngates; /* 4 LSTM, 3 GRU, 1 RNN */
    int nacts;  /* activations per direction: 3, 2, 1 */
    int dirs, reverse_only, layout;
    int64_t seq, batch, input, hidden;
    float clip; /* 0: none */
    int input_forget, lbr;
    struct act acts[MAX_ACTS];
};

static int check_f32(struct synap_kctx *c, size_t i, const char *what, int rank,
                     const int64_t *dims)
{
    const struct synap_value *v = &c->in[i];
    char a[96], b[96];
    if (v->dtype != SYNAP_DTYPE_FLOAT32)
        return synap_errf(c->err, "input %zu (%s): expected float32, got %s", i, what,
                          synap_dtype_name(v->dtype));
    if (v->rank != rank || memcmp(v->dims, dims, (size_t)rank * sizeof *dims))
        return synap_errf(c->err, "input %zu (%s): expected shape %s, got %s", i, what,
                          synap_shape_str(rank, dims, a, sizeof a),
                          synap_shape_str(v->rank, v->dims, b, sizeof b));
    return 0;
}

/* Reads attributes and checks every input; fills g. */
static int rnn_geom(struct synap_kctx *c, struct rnn_geom *g)
{
    const struct synap_node *nd = c->node;
    memset(g, 0, sizeof *g);
    g->op = nd->op;
    g->ngates = nd->op == SYNAP_OP_LSTM ? 4 : nd->op == SYNAP_OP_GRU ? 3 : 1;
    g->nacts = nd->op == SYNAP_OP_LSTM ? 3 : nd->op == SYNAP_OP_GRU ? 2 : 1;
    for (size_t i = 0; i < 3; i++)
        if (!synap_has_input(c, i)) return synap_errf(c->err, "input %zu is required", i);
    const struct synap_value *x = &c->in[0], *w = &c->in[1], *r = &c->in[2];
    const char *dir = synap_attr_string(nd, "direction", "forward");
    if (!strcmp(dir, "forward") || !strcmp(dir, "reverse")) {
        g->dirs = 1;
        g->reverse_only = dir[0] == 'r';
    } else if (!strcmp(dir, "bidirectional")) {
        g->dirs = 2;
    } else {
        return synap_errf(c->err, "attribute 'direction': unknown value '%s'", dir);
    }
    int64_t layout = synap_attr_int(nd, "layout", 0);
    if (layout != 0 && layout != 1)
        return synap_errf(c->err, "attribute 'layout': expected 0 or 1, got %lld",
                          (long long)layout);
    g->layout = (int)layout;
    if (x->dtype != SYNAP_DTYPE_FLOAT32)
        return synap_errf(c->err, "input 0 (X): expected float32, got %s",
                          synap_dtype_name(x->dtype));
    if (x->rank != 3) return synap_errf(c->err, "input 0 (X): expected rank 3, got %d", x->rank);
    g->seq = x->dims[layout ? 1 : 0];
    g->batch = x->dims[layout ? 0 : 1];
    g->input = x->dims[2];
    if (r->rank != 3) return synap_errf(c->err, "input 2 (R): expected rank 3, got %d", r->rank);
    g->hidden = r->dims[2];
    int64_t hs = synap_attr_int(nd, "hidden_size", g->hidden);
    if (hs != g->hidden || g->hidden < 1)
        return synap_errf(c->err, "attribute 'hidden_size' %lld does not match R's %lld",
                          (long long)hs, (long long)g->hidden);
    int64_t gh = g->ngates * g->hidden;
    int64_t wd[3] = {g->dirs, gh, g->input}, rd[3] = {g->dirs, gh, g->hidden};
    if (check_f32(c, 1, "W", 3, wd) || check_f32(c, 2, "R", 3, rd)) return -1;
    (void)w;
    int64_t bd[2] = {g->dirs, 2 * gh};
    if (synap_has_input(c, 3) && check_f32(c, 3, "B", 2, bd)) return -1;
    if (synap_has_input(c, 4)) {
        const struct synap_value *sl = &c->in[4];
        if ((sl->dtype != SYNAP_DTYPE_INT32 && sl->dtype != SYNAP_DTYPE_INT64) || sl->rank != 1 ||
            sl->dims[0] != g->batch)
            return synap_errf(c->err, "input 4 (sequence_lens): expected int32 [%lld]",
                              (long long)g->batch);
    }
    int64_t hd[3] = {g->dirs, g->batch, g->hidden};
    if (layout) hd[0] = g->batch, hd[1] = g->dirs;
    if (synap_has_input(c, 5) && check_f32(c, 5, "initial_h", 3, hd)) return -1;
    if (g->op == SYNAP_OP_LSTM) {
        int64_t pd[2] = {g->dirs, 3 * g->hidden};
        if (synap_has_input(c, 6) && check_f32(c, 6, "initial_c", 3, hd)) return -1;
        if (synap_has_input(c, 7) && check_f32(c, 7, "P", 2, pd)) return -1;
        g->input_forget = synap_attr_int(nd, "input_forget", 0) != 0;
    }
    if (g->op == SYNAP_OP_GRU) g->lbr = synap_attr_int(nd, "linear_before_reset", 0) != 0;
    const struct synap_attr *clip = synap_node_attr(nd, "clip");
    if (clip) {
        if (!(clip->f > 0)) return synap_errf(c->err, "attribute 'clip': must be positive");
        g->clip = clip->f;
    }

    /* Activations: the given list (nacts per direction), else the defaults;
     * alpha/beta values are consumed in order by the functions that take them. */
    const struct synap_attr *al = synap_node_attr(nd, "activations");
    int total = g->nacts * g->dirs;
    static const enum act_kind defaults[3][3] = {
        {ACT_SIGMOID, ACT_TANH, ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_TANH}};
    const enum act_kind *def = defaults[g->ngates == 4 ? 0 : g->ngates == 3 ? 1 : 2];
    if (!al) {
        for (int i = 0; i < total; i++)
            g->acts[i].kind = def[i % g->nacts];
        return 0;
    }
    if (al->type != SYNAP_ATTR_STRINGS || al->n != (size_t)total)
        return synap_errf(c->err, "attribute 'activations': expected %d names, got %zu", total,
                          al->type == SYNAP_ATTR_STRINGS ? al->n : (size_t)0);
    const float *alpha, *beta;
    size_t nalpha = synap_attr_floats(nd, "activation_alpha", &alpha), ia = 0;
    size_t nbeta = synap_attr_floats(nd, "activation_beta", &beta), ib = 0;
    for (int i = 0; i < total; i++) {
        size_t k, nk = sizeof act_table / sizeof act_table[0];
        for (k = 0; k < nk && !name_eq(al->strings[i], act_table[k].name); k++)
            ;
        if (k == nk)
            return synap_errf(c->err, "attribute 'activations': unsupported function '%s'",
                              al->strings[i]);
        g->acts[i].kind = act_table[k].kind;
        g->acts[i].alpha = act_table[k].na && ia < nalpha ? alpha[ia++] : act_table[k].alpha;
        g->acts[i].beta = act_table[k].nb && ib < nbeta ? beta[ib++] : act_table[k].beta;
    }
    return 0;
}

static int rnn_infer(struct synap_kctx *c)
{
    struct rnn_geom g;
    if (rnn_geom(c, &g)) return -1;
    int64_t yd[4] = {g.seq, g.dirs, g.batch, g.hidden};
    int64_t hd[3] = {g.dirs, g.batch, g.hidden};
    if (g.layout) {
        yd[0] = g.batch, yd[1] = g.seq, yd[2] = g.dirs;
        hd[0] = g.batch, hd[1] = g.dirs;
    }
    for (size_t j = 0; j < c->nout; j++) {
        struct synap_value *o = &c->out[j];
        o->dtype = SYNAP_DTYPE_FLOAT32;
        o->rank = j == 0 ? 4 : 3;
        memcpy(o->dims, j == 0 ? yd : hd, (size_t)o->rank * sizeof(int64_t));
    }
    /* Scratch in floats; checked for overflow since the dims come from a file. */
    size_t gh, rows, xw, small, total, nbytes;
    if (synap_mul_overflow((size_t)g.ngates, (size_t)g.hidden, &gh) ||
        synap_mul_overflow((size_t)g.seq, (size_t)g.batch, &rows) ||
        synap_mul_overflow(rows, gh, &xw) || synap_mul_overflow((size_t)g.batch, gh, &small) ||
        synap_add_overflow(xw, small, &total) ||
        synap_mul_overflow((size_t)g.batch, (size_t)g.hidden, &small) ||
        synap_mul_overflow(small, 3, &small) || synap_add_overflow(total, small, &total) ||
        synap_mul_overflow(total, sizeof(float), &nbytes) || synap_shape_nelem(4, yd) < 0)
        return synap_errf(c->err, "shapes are too large");
    c->scratch_nbytes = nbytes;
    return 0;
}

static inline float clipf(float x, float clip)
{
    if (clip <= 0) return x;
    return x < -clip ? -clip : x > clip ? clip : x;
}

/* The output j's buffer, or NULL when the output is omitted. */
static float *out_ptr(struct synap_kctx *c, size_t j)
{
    if (j >= c->nout || j >= c->node->noutputs || c->node->outputs[j] == SYNAP_NONE) return NULL;
    return c->out[j].data;
}

/* Index of state [dir, b] in an initial_h / Y_h shaped tensor. */
static inline int64_t state_at(const struct rnn_geom *g, int d, int64_t b)
{
    return (g->layout ? b * g->dirs + d : d * g->batch + b) * g->hidden;
}

static int rnn_run(struct synap_kctx *c)
{
    struct rnn_geom g;
    if (rnn_geom(c, &g)) return -1;
    const int64_t H = g.hidden, B = g.batch, S = g.seq, GH = g.ngates * H;
    float *xw = c->scratch, *gates = xw + S * B * GH, *h = gates + B * GH, *cst = h + B * H,
          *tmp = cst + B * H;
    const float *X = c->in[0].data;
    float *Y = out_ptr(c, 0), *Yh = out_ptr(c, 1),
          *Yc = g.op == SYNAP_OP_LSTM ? out_ptr(c, 2) : NULL;
    int has_len = synap_has_input(c, 4);
    if (Y && S * B > 0) memset(Y, 0, (size_t)(S * g.dirs * B * H) * sizeof(float));

    for (int d = 0; d < g.dirs; d++) {
        int reverse = g.reverse_only || d == 1;
        const float *W = (const float *)c->in[1].data + d * GH * g.input;
        const float *R = (const float *)c->in[2].data + d * GH * H;
        const float *Wb = synap_has_input(c, 3) ? (const float *)c->in[3].data + d * 2 * GH : NULL;
        const float *Rb = Wb ? Wb + GH : NULL;
        const float *P = g.op == SYNAP_OP_LSTM && synap_has_input(c, 7)
                             ? (const float *)c->in[7].data + d * 3 * H
                             : NULL;
        const struct act *f = &g.acts[d * g.nacts];

        /* xw rows follow X's own row order: (t, b) for layout 0, (b, t) for 1. */
        if (S * B > 0 && g.input > 0)
            synap_sgemm(c->pool, 0, 1, S * B, GH, g.input, 1.0f, X, g.input, W, g.input, 0.0f, xw,
                        GH);
        else if (S * B > 0)
            memset(xw, 0, (size_t)(S * B * GH) * sizeof(float));

        for (int64_t b = 0; b < B; b++) {
            for (int64_t i = 0; i < H; i++) {
                h[b * H + i] = synap_has_input(c, 5)
                                   ? ((const float *)c->in[5].data)[state_at(&g, d, b) + i]
                                   : 0.0f;
                cst[b * H + i] = g.op == SYNAP_OP_LSTM && synap_has_input(c, 6)
                                     ? ((const float *)c->in[6].data)[state_at(&g, d, b) + i]
                                     : 0.0f;
            }
        }

        for (int64_t s = 0; s < S && B > 0; s++) {
            /* Gather this step's X*W^T rows (with both biases except GRU's
             * recurrent h-gate bias, which linear_before_reset may place
             * inside the reset product). */
            for (int64_t b = 0; b < B; b++) {
                int64_t len = has_len ? synap_value_get_i64(&c->in[4], b) : S;
                len = len < 0 ? 0 : len > S ? S : len;
                float *gr = gates + b * GH;
                if (s >= len) {
                    memset(gr, 0, (size_t)GH * sizeof(float));
                    continue;
                }
                int64_t t = reverse ? len - 1 - s : s;
                const float *xr = xw + (g.layout ? b * S + t : t * B + b) * GH;
                for (int64_t i = 0; i < GH; i++) {
                    float bias = 0;
                    if (Wb) bias = Wb[i] + (g.op == SYNAP_OP_GRU && i >= 2 * H ? 0 : Rb[i]);
                    gr[i] = xr[i] + bias;
                }
            }
            /* gates += H_{t-1} * R^T; GRU's h gate handled below. */
            int64_t nr = g.op == SYNAP_OP_GRU ? 2 * H : GH;
            synap_sgemm(c->pool, 0, 1, B, nr, H, 1.0f, h, H, R, H, 1.0f, gates, GH);
            if (g.op == SYNAP_OP_GRU) {
                const float *Rh = R + 2 * H * H;
                if (g.lbr) {
                    /* tmp = H_{t-1} * Rh^T; r (.) (tmp + Rbh) is added below. */
                    synap_sgemm(c->pool, 0, 1, B, H, H, 1.0f, h, H, Rh, H, 0.0f, tmp, H);
                } else {
                    /* The h gate gets (r (.) H_{t-1}) * Rh^T, so r comes first.
                     * Rows past a sequence's end compute garbage that is never used. */
                    for (int64_t b = 0; b < B; b++)
                        for (int64_t i = 0; i < H; i++) {
                            float r = act_apply(&f[0], clipf(gates[b * GH + H + i], g.clip));
                            tmp[b * H + i] = r * h[b * H + i];
                        }
                    synap_sgemm(c->pool, 0, 1, B, H, H, 1.0f, tmp, H, Rh, H, 1.0f, gates + 2 * H,
                                GH);
                }
            }

            for (int64_t b = 0; b < B; b++) {
                int64_t len = has_len ? synap_value_get_i64(&c->in[4], b) : S;
                len = len < 0 ? 0 : len > S ? S : len;
                if (s >= len) continue;
                int64_t t = reverse ? len - 1 - s : s;
                float *gr = gates + b * GH, *hb = h + b * H, *cb = cst + b * H;
                for (int64_t i = 0; i < H; i++) {
                    float hn;
                    if (g.op == SYNAP_OP_LSTM) {
                        float ci = cb[i];
                        float ig = gr[i], og = gr[H + i], fg = gr[2 * H + i], cg = gr[3 * H + i];
                        if (P) ig += P[i] * ci, fg += P[2 * H + i] * ci;
                        ig = act_apply(&f[0], clipf(ig, g.clip));
                        fg = g.input_forget ? 1.0f - ig : act_apply(&f[0], clipf(fg, g.clip));
                        cg = act_apply(&f[1], clipf(cg, g.clip));
                        float cn = fg * ci + ig * cg;
                        if (P) og += P[H + i] * cn;
                        og = act_apply(&f[0], clipf(og, g.clip));
                        hn = og * act_apply(&f[2], cn);
                        cb[i] = cn;
                    } else if (g.op == SYNAP_OP_GRU) {
                        float z = act_apply(&f[0], clipf(gr[i], g.clip));
                        float hh = gr[2 * H + i];
                        if (g.lbr) {
                            float r = act_apply(&f[0], clipf(gr[H + i], g.clip));
                            hh += r * (tmp[b * H + i] + (Rb ? Rb[2 * H + i] : 0.0f));
                        } else if (Rb) {
                            hh += Rb[2 * H + i];
                        }
                        hh = act_apply(&f[1], clipf(hh, g.clip));
                        hn = (1.0f - z) * hh + z * hb[i];
                    } else {
                        hn = act_apply(&f[0], clipf(gr[i], g.clip));
                    }
                    hb[i] = hn;
                    if (Y) {
                        int64_t at = g.layout ? ((b * S + t) * g.dirs + d) * H
                                              : ((t * g.dirs + d) * B + b) * H;
                        Y[at + i] = hn;
                    }
                }
            }
        }
        for (int64_t b = 0; b < B; b++) {
            if (Yh) memcpy(Yh + state_at(&g, d, b), h + b * H, (size_t)H * sizeof(float));
            if (Yc) memcpy(Yc + state_at(&g, d, b), cst + b * H, (size_t)H * sizeof(float));
        }
    }
    return 0;
}

int synap_rnn_infer(struct synap_kctx *c)
{
    switch (c->node->op) {
    case SYNAP_OP_LSTM:
    case SYNAP_OP_GRU:
    case SYNAP_OP_RNN:
        return rnn_infer(c);
    default:
        return synap_errf(c->err, "op %s is not in the rnn family", synap_op_name(c->node->op));
    }
}

int synap_rnn_run(struct synap_kctx *c)
{
    switch (c->node->op) {
    case SYNAP_OP_LSTM:
    case SYNAP_OP_GRU:
    case SYNAP_OP_RNN:
        return rnn_run(c);
    default:
        return synap_errf(c->err, "op %s is not in the rnn family", synap_op_name(c->node->op));
    }
}
