/* SVDF: TFLite's singular-value-decomposition filter (builtin 27), a
 * rank-limited 1-D convolution over time with a state of the last
 * memory_size feature activations. A TFLite-only op: the importer maps it
 * here (formats/tflite/ops.c).
 *
 * Inputs: X [B, I]; weights_feature [F, I]; weights_time [F, M]; bias [U]
 * (optional); state [B, M * F] (optional: zero), U = F / rank, laid out as
 * state[b][f][m] with the newest activation at m = M - 1.
 * Attribute: rank (>= 1, dividing F). Output: Y [B, U].
 *
 * One invocation of the graph is one time step that starts from the state
 * input: the updated state is not an output and does not persist across
 * runs (synap-run runs a model once; TFLite keeps the state between
 * Invoke calls, starting at zero, so a first invocation matches TFLite).
 *
 * Method (TFLite's reference kernels; TFLM's svdf_common.cc order):
 *   1. the state buffer is shifted left by one element as a whole (B*F*M);
 *   2. state[b][f][M-1] = sum_i weights_feature[f][i] * X[b][i];
 *   3. scratch[b][f] = sum_m weights_time[f][m] * state[b][f][m];
 *   4. Y[b][u] = bias[u] + sum_r scratch[b][u * rank + r].
 * Float: computed in double, the state stored as float as TFLite stores it;
 * the fused activation is a separate node after this one (the importer).
 * Integer (synap_q_node: int8 X with a quant record), TFLite's
 * EvalIntegerSVDF / TFLM's EvalIntegerSvdfReference exactly:
 *   X int8, weights_feature int8, weights_time and state both int16 (TFLite,
 *   state zero point 0) or both int8 (TFLM), bias int32, Y int8, all per
 *   tensor;
 *   M1 = (float)(s_x * s_wf / s_state), M2 = (float)(s_state * s_wt / s_y)
 *   (float products as TFLite computes them), each by QuantizeMultiplier;
 *   step 2: acc = sum wf * (x - z_x) (int32), MultiplyByQuantizedMultiplier
 *   by M1, + z_state, clamped to the state type;
 *   step 3: sum wt * (s - z_state) in int32;
 *   step 4: int32 bias + the rank sum, by M2, + z_y, clamped to int8.
 *   TFLite applies no fused activation on this path (the output clamp is
 *   the int8 range) and neither does this kernel. Where TFLite's int32 sums
 *   would overflow (undefined there) these saturate (qmath.h).
 * Runs on one thread in a fixed order: deterministic. */
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

struct svdf_dims {
    int64_t b, i, f, m, u, rank;
};

static int svdf_dims(struct synap_kctx *c, struct svdf_dims *d)
{
    const struct synap_value *x = &c->in[0], *wf = &c->in[1], *wt = &c->in[2];
    d->rank = synap_attr_int(c->node, "rank", 0);
    if (x->rank != 2) return synap_errf(c->err, "input 0: expected rank 2, got %d", x->rank);
    if (wf->rank != 2) return synap_errf(c->err, "input 1: expected rank 2, got %d", wf->rank);
    if (wt->rank != 2) return synap_errf(c->err, "input 2: expected rank 2, got %d", wt->rank);
    d->b = x->dims[0], d->i = x->dims[1], d->f = wf->dims[0], d->m = wt->dims[1];
    if (wf->dims[1] != d->i)
        return synap_errf(c->err, "input 1: expected [F, %lld], got [%lld, %lld]", (long long)d->i,
                          (long long)wf->dims[0], (long long)wf->dims[1]);
    if (wt->dims[0] != d->f)
        return synap_errf(c->err, "input 2: expected [%lld, M], got [%lld, %lld]", (long long)d->f,
                          (long long)wt->dims[0], (long long)wt->dims[1]);
    if (d->rank < 1 || d->f < 1 || d->f % d->rank)
        return synap_errf(c->err, "rank %lld does not divide %lld filters", (long long)d->rank,
                          (long long)d->f);
    if (d->b < 1 || d->i < 1 || d->m < 1 || d->b > (1 << 20) || d->i > (1 << 24) ||
        d->f > (1 << 20) || d->m > (1 << 20) || d->b * d->f * d->m > ((int64_t)1 << 28))
        return synap_errf(c->err,
                          "batch %lld, input %lld, %lld filters or memory %lld out of range",
                          (long long)d->b, (long long)d->i, (long long)d->f, (long long)d->m);
    d->u = d->f / d->rank;
    if (synap_has_input(c, 3) && (c->in[3].rank != 1 || c->in[3].dims[0] != d->u))
        return synap_errf(c->err, "input 3 (bias): expected [%lld]", (long long)d->u);
    if (synap_has_input(c, 4)) {
        const struct synap_value *s = &c->in[4];
        if (s->rank != 2 || s->dims[0] != d->b || s->dims[1] != d->m * d->f)
            return synap_errf(c->err, "input 4 (state): expected [%lld, %lld]", (long long)d->b,
                              (long long)(d->m * d->f));
    }
    return 0;
}

/* The per-tensor quant record of input i, checked. */
static const struct synap_quant *qin(struct synap_kctx *c, size_t i, const char *what)
{
    const struct synap_quant *q = synap_q_in(c, i);
    if (!q) {
        synap_errf(c->err, "%s: a quantized SVDF needs a quant record", what);
        return NULL;
    }
    if (synap_q_per_tensor(c, q, what)) return NULL;
    return q;
}

static int need_type(struct synap_kctx *c, size_t i, const char *what, enum synap_dtype t1,
                     enum synap_dtype t2)
{
    enum synap_dtype t = c->in[i].dtype;
    if (t != t1 && t != t2)
        return synap_errf(c->err, "%s: expected %s, got %s", what, synap_dtype_name(t1),
                          synap_dtype_name(t));
    return 0;
}

static int check_int(struct synap_kctx *c)
{
    if (need_type(c, 0, "input 0", SYNAP_DTYPE_INT8, SYNAP_DTYPE_INT8) < 0 ||
        need_type(c, 1, "input 1 (weights_feature)", SYNAP_DTYPE_INT8, SYNAP_DTYPE_INT8) < 0 ||
        need_type(c, 2, "input 2 (weights_time)", SYNAP_DTYPE_INT16, SYNAP_DTYPE_INT8) < 0)
        return -1;
    if (!synap_has_input(c, 4))
        return synap_errf(c->err, "input 4 (state): a quantized SVDF needs it (its scale)");
    if (c->in[4].dtype != c->in[2].dtype)
        return synap_errf(c->err, "input 4 (state): expected %s like the time weights, got %s",
                          synap_dtype_name(c->in[2].dtype), synap_dtype_name(c->in[4].dtype));
    if (synap_has_input(c, 3) &&
        need_type(c, 3, "input 3 (bias)", SYNAP_DTYPE_INT32, SYNAP_DTYPE_INT32) < 0)
        return -1;
    if (!qin(c, 0, "input 0") || !qin(c, 1, "input 1") || !qin(c, 2, "input 2") ||
        !qin(c, 4, "input 4"))
        return -1;
    return 0;
}

int synap_svdf_infer(struct synap_kctx *c)
{
    struct svdf_dims d;
    if (svdf_dims(c, &d) < 0) return -1;
    int64_t dims[2] = {d.b, d.u};
    size_t nstate = (size_t)(d.b * d.f * d.m), nscr = (size_t)(d.b * d.f);
    if (synap_q_node(c)) {
        if (check_int(c) < 0 || synap_q_set_out(c, 0, 2, dims) < 0) return -1;
        if (c->out[0].dtype != SYNAP_DTYPE_INT8)
            return synap_errf(c->err, "output 0: expected int8, got %s",
                              synap_dtype_name(c->out[0].dtype));
        if (synap_q_per_tensor(c, synap_q_out(c, 0), "output 0")) return -1;
        c->scratch_nbytes = (nstate + nscr) * sizeof(int32_t);
        return 0;
    }
    for (size_t i = 0; i < 5; i++)
        if (synap_has_input(c, i) && !synap_dtype_is_float(c->in[i].dtype))
            return synap_errf(c->err, "input %zu: expected a float type, got %s", i,
                              synap_dtype_name(c->in[i].dtype));
    c->out[0].dtype = SYNAP_DTYPE_FLOAT32;
    c->out[0].rank = 2;
    memcpy(c->out[0].dims, dims, sizeof dims);
    c->scratch_nbytes = (nstate + nscr) * sizeof(double);
    return 0;
}

static void run_float(struct synap_kctx *c, const struct svdf_dims *d)
{
    const struct synap_value *x = &c->in[0], *wf = &c->in[1], *wt = &c->in[2];
    int64_t n = d->b * d->f * d->m;
    double *st = c->scratch, *scr = st + n;
    /* the state, stored as float as TFLite keeps it */
    for (int64_t k = 0; k < n; k++)
        st[k] = synap_has_input(c, 4) ? (float)synap_ld(&c->in[4], k) : 0.0;
    memmove(st, st + 1, (size_t)(n - 1) * sizeof *st);
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t f = 0; f < d->f; f++) {
            double acc = 0;
            for (int64_t i = 0; i < d->i; i++)
                acc += synap_ld(wf, f * d->i + i) * synap_ld(x, b * d->i + i);
            st[(b * d->f + f) * d->m + d->m - 1] = (float)acc;
        }
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t f = 0; f < d->f; f++) {
            double acc = 0;
            const double *s = st + (b * d->f + f) * d->m;
            for (int64_t m = 0; m < d->m; m++)
                acc += synap_ld(wt, f * d->m + m) * s[m];
            scr[b * d->f + f] = acc;
        }
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t u = 0; u < d->u; u++) {
            double acc = synap_has_input(c, 3) ? synap_ld(&c->in[3], u) : 0.0;
            for (int64_t r = 0; r < d->rank; r++)
                acc += scr[b * d->f + u * d->rank + r];
            synap_st(&c->out[0], b * d->u + u, acc);
        }
}

static void run_int(struct synap_kctx *c, const struct svdf_dims *d)
{
    const struct synap_value *x = &c->in[0], *wf = &c->in[1], *wt = &c->in[2], *sv = &c->in[4];
    const struct synap_quant *qx = synap_q_in(c, 0), *qwf = synap_q_in(c, 1),
                             *qwt = synap_q_in(c, 2), *qs = synap_q_in(c, 4),
                             *qy = synap_q_out(c, 0);
    /* float products, as TFLite's Prepare computes them */
    float e1 = qx->scale[0] * qwf->scale[0] / qs->scale[0];
    float e2 = qs->scale[0] * qwt->scale[0] / qy->scale[0];
    int32_t m1, m2;
    int sh1, sh2;
    synap_q_quantize_multiplier((double)e1, &m1, &sh1);
    synap_q_quantize_multiplier((double)e2, &m2, &sh2);
    int32_t zx = qx->zero_point[0], zs = qs->zero_point[0], zy = qy->zero_point[0];
    int32_t slo, shi;
    synap_q_range(sv->dtype, &slo, &shi);
    int64_t n = d->b * d->f * d->m;
    int32_t *st = c->scratch, *scr = st + n;
    for (int64_t k = 0; k < n; k++)
        st[k] = synap_q_load(sv->dtype, sv->data, k);
    memmove(st, st + 1, (size_t)(n - 1) * sizeof *st);
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t f = 0; f < d->f; f++) {
            int64_t acc = 0;
            for (int64_t i = 0; i < d->i; i++)
                acc += (int64_t)synap_q_load(wf->dtype, wf->data, f * d->i + i) *
                       (synap_q_load(x->dtype, x->data, b * d->i + i) - zx);
            int64_t v = (int64_t)synap_q_mul(synap_q_sat32(acc), m1, sh1) + zs;
            st[(b * d->f + f) * d->m + d->m - 1] = (int32_t)(v < slo ? slo : v > shi ? shi : v);
        }
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t f = 0; f < d->f; f++) {
            int64_t acc = 0;
            const int32_t *s = st + (b * d->f + f) * d->m;
            for (int64_t m = 0; m < d->m; m++)
                acc += (int64_t)synap_q_load(wt->dtype, wt->data, f * d->m + m) * (s[m] - zs);
            scr[b * d->f + f] = synap_q_sat32(acc);
        }
    for (int64_t b = 0; b < d->b; b++)
        for (int64_t u = 0; u < d->u; u++) {
            int64_t acc =
                synap_has_input(c, 3) ? synap_q_load(c->in[3].dtype, c->in[3].data, u) : 0;
            for (int64_t r = 0; r < d->rank; r++)
                acc += scr[b * d->f + u * d->rank + r];
            int64_t y = (int64_t)synap_q_mul(synap_q_sat32(acc), m2, sh2) + zy;
            synap_q_store(c->out[0].dtype, c->out[0].data, b * d->u + u, synap_q_sat32(y));
        }
}

int synap_svdf_run(struct synap_kctx *c)
{
    struct svdf_dims d;
    if (svdf_dims(c, &d) < 0) return -1;
    if (synap_q_node(c)) {
        if (check_int(c) < 0) return -1;
        run_int(c, &d);
    } else {
        run_float(c, &d);
    }
    return 0;
}
