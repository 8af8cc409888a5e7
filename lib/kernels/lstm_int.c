/* TFLiteLSTMInt: TFLite's integer UNIDIRECTIONAL_SEQUENCE_LSTM, the 8x8_16
 * scheme (int8 input, weights and hidden state, int16 cell state, int32
 * biases). A TFLite-only op: the importer maps integer LSTMs here
 * (formats/tflite/ops.c); float LSTMs become the canonical ONNX LSTM.
 *
 * Inputs, in TFLite's numbering (omitted ones are SYNAP_NONE):
 *   0 x int8 [B, S, I] ([S, B, I] when time_major);
 *   1-4 input-to-{input, forget, cell, output} weights int8 [H, I];
 *   5-8 recurrent-to-{...} weights int8 [H, H];
 *   9-11 peepholes, 16-17 projection: must be omitted (not supported);
 *   12-15 {input, forget, cell, output} gate biases int32 [H] (omitted:
 *   zero); 18 output (hidden) state int8 [B, H]; 19 cell state int16
 *   [B, H] with a power-of-two scale. All per-tensor, weights symmetric.
 * Attributes: time_major (0/1), cell_clip (float, 0 = none).
 * Output: int8 [B, S, H] ([S, B, H]), the hidden state of every step.
 * One run of the graph is one TFLite invocation from the given states (the
 * importer gives zero states, as TFLite's first invocation); the final
 * states are not outputs.
 *
 * Method: TFLite's reference kernel (lite/kernels/lstm.cc
 * PopulateQuantizedLstmParams8x8_16 and PopulatePrecomputedZPTimesWeights
 * WithBias, lstm_eval.cc LstmStepInteger8x8_16 with the portable
 * tensor_utils), no layer norm, so every gate's intermediate is Q3.12:
 *   effective scales, float as TFLite computes them: input-to-gate
 *   s_w * s_x / 2^-12, recurrent-to-gate s_r * s_h / 2^-12, hidden
 *   2^-15 / s_h * 2^-15 (double, stored as float), each by
 *   QuantizeMultiplier; cell_scale = log2(s_c) (must be a power of two);
 *   effective biases: bias - z_x * rowsum(W), -z_h * rowsum(R) (int32);
 *   per step and gate: g = sat16(MBQM(bias_eff + W x, e_in) +
 *   MBQM(bias_reff + R h, e_rec)) (each sum saturated to int16 in turn);
 *   i, f, o = gemmlowp logistic (Q3.12 -> Q0.15); c~ = gemmlowp tanh
 *   (Q3.12 -> Q0.15);
 *   c = sat16(RDBPOT(f * c, 15) + RDBPOT(i * c~, 30 + cell_scale)),
 *   clipped to +-(int16)(cell_clip / s_c) when cell_clip > 0;
 *   h = sat8(MBQM(o * tanh(c), e_hidden) + z_h), tanh on Q(15 +
 *   cell_scale).(-cell_scale) (cell_scale in [-15, -9]).
 *   The hidden zero point is ADDED: TFLite's PortableCwiseMul subtracted it
 *   until tensorflow PR 56493 / tflite-micro PR 1211 (2022) fixed the sign.
 *   TFLite takes the hidden scale and zero point from the op's intermediate
 *   tensor 4; without projection it is the output state's quantization
 *   (TFLite's converter writes the same parameters, as in every shared
 *   model), which is what this kernel uses; the importer refuses a model
 *   whose two disagree.
 *   The gemmlowp int16 fixed-point functions (exp_on_negative_values, the
 *   Newton-Raphson 1/(1+x) and (1-x)/(1+x), 32-bit constants rounded to 16
 *   bits) are transcribed below; TFLM's 2023 LSTM kernel computes the gates
 *   with its own int16 Logistic/Tanh and can differ by an LSB.
 *   Where TFLite's int32 sums would overflow (undefined there) these
 *   saturate (qmath.h).
 * Runs on one thread in a fixed order: deterministic. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

enum { LI_X = 0, LI_W = 1, LI_R = 5, LI_PEEP = 9, LI_B = 12, LI_PROJ = 16, LI_H = 18, LI_C = 19 };

struct lstm_dims {
    int64_t b, s, i, h;
    int time_major;
};

/* ---- gemmlowp's int16 fixed point ------------------------------------------ */

static int16_t w16(int32_t v) /* raw int16 add/sub wrap as in C++ */
{
    return (int16_t)(uint16_t)(uint32_t)v;
}

static int16_t sat16(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == b && a == INT16_MIN) return INT16_MAX;
    int32_t ab = (int32_t)a * b;
    int32_t nudge = ab >= 0 ? (1 << 14) : 1 - (1 << 14);
    return (int16_t)((ab + nudge) / (1 << 15)); /* C division truncates, as C++ */
}

static int16_t rdbpot16(int16_t x, int e)
{
    int32_t mask = (1 << e) - 1, rem = x & mask, thr = (mask >> 1) + (x < 0);
    return (int16_t)((int32_t)synap_q_asr64(x, e) + (rem > thr));
}

/* SaturatingRoundingMultiplyByPOT<e> */
static int16_t srmbpot16(int16_t x, int e)
{
    if (e < 0) return rdbpot16(x, -e);
    if (e == 0) return x;
    int32_t thr = (1 << (15 - e)) - 1;
    if (x > thr) return INT16_MAX;
    if (x < -thr) return INT16_MIN;
    return (int16_t)(x * (1 << e));
}

/* RescaleConstantInitializer: a Q0.31-style int32 constant on 16 bits */
static int16_t k16(int32_t v)
{
    return (int16_t)synap_q_rdbpot(v, 16);
}

static int16_t exp_quarter(int16_t a) /* exp(a) for a in [-1/4, 0), Q0.15 */
{
    int16_t ct = k16(1895147668), third = k16(715827883);
    int16_t x = w16(a + (1 << 12));
    int16_t x2 = srdhm16(x, x), x3 = srdhm16(x2, x), x4 = srdhm16(x2, x2);
    int16_t x4_4 = srmbpot16(x4, -2);
    int16_t poly = srmbpot16(w16(srdhm16(w16(x4_4 + x3), third) + x2), -1);
    return sat16(ct + srdhm16(ct, w16(x + poly)));
}

/* exp_on_negative_values: a in Q(ib).(15 - ib), a <= 0; result Q0.15 */
static int16_t exp_neg(int16_t a, int ib)
{
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242};
    int fb = 15 - ib;
    int16_t quarter = (int16_t)(1 << (fb - 2)), mask = (int16_t)(quarter - 1);
    int16_t amq = w16((a & mask) - quarter);
    int16_t r = exp_quarter(srmbpot16(amq, ib));
    int16_t rem = w16(amq - a);
    for (int e = -2; e <= 4; e++)
        if (ib > e && (rem & (1 << (fb + e)))) r = srdhm16(r, k16(mult[e + 2]));
    if (ib > 5 && a < k16(-(1 << (36 - ib)))) r = 0;
    return a == 0 ? INT16_MAX : r;
}

/* Newton-Raphson 1/(1+a) (inv) or (1-a)/(1+a) for a in (0, 1), Q0.15 */
static int16_t nr16(int16_t a, int inv)
{
    int32_t s = (int32_t)a + INT16_MAX;
    int16_t hd = (int16_t)((s + (s >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum */
    int16_t x = w16(k16(1515870810) + srdhm16(hd, k16(-1010580540)));
    for (int k = 0; k < 3; k++) {
        int16_t omx = w16((1 << 13) - srdhm16(hd, x));
        x = w16(x + srmbpot16(srdhm16(x, omx), 2));
    }
    return inv ? srmbpot16(x, 1) : srmbpot16(w16(x - (1 << 13)), 2);
}

/* gemmlowp logistic, Q(ib) -> Q0.15 */
static int16_t logistic16(int16_t a, int ib)
{
    if (a == 0) return k16(1 << 30);
    int16_t abs = a > 0 ? a : w16(-a);
    int16_t rp = nr16(exp_neg(w16(-abs), ib), 1);
    return a > 0 ? rp : w16(INT16_MAX - rp);
}

/* gemmlowp tanh, Q(ib) -> Q0.15 */
static int16_t tanh16(int16_t a, int ib)
{
    if (a == 0) return 0;
    int16_t n = a < 0 ? a : w16(-a);
    int16_t t = nr16(exp_neg(n, ib + 1), 0); /* ExactMulByPot<1>: same raw */
    return a < 0 ? w16(-t) : t;
}

/* ---- shapes and checks -------------------------------------------------------- */

static const struct synap_quant *qrec(struct synap_kctx *c, size_t i, enum synap_dtype t,
                                      int symmetric)
{
    if (c->in[i].dtype != t) {
        synap_errf(c->err, "input %zu: expected %s, got %s", i, synap_dtype_name(t),
                   synap_dtype_name(c->in[i].dtype));
        return NULL;
    }
    const struct synap_quant *q = synap_q_in(c, i);
    char what[32];
    snprintf(what, sizeof what, "input %zu", i);
    if (!q) {
        synap_errf(c->err, "%s: needs a quant record", what);
        return NULL;
    }
    if (synap_q_per_tensor(c, q, what)) return NULL;
    if (symmetric && q->zero_point[0] != 0) {
        synap_errf(c->err, "%s: expected zero point 0, got %d", what, (int)q->zero_point[0]);
        return NULL;
    }
    return q;
}

static int need_dims(struct synap_kctx *c, size_t i, int64_t d0, int64_t d1)
{
    const struct synap_value *v = &c->in[i];
    int64_t n = synap_value_nelem(v);
    /* states may be 1-D or 2-D in TFLite ("fine as long as the total size is correct") */
    if (d1 < 0 ? (v->rank != 1 || v->dims[0] != d0)
               : (i >= LI_H ? n != d0 * d1 : v->rank != 2 || v->dims[0] != d0 || v->dims[1] != d1))
        return synap_errf(c->err, "input %zu: expected [%lld%s%lld]", i, (long long)d0,
                          d1 < 0 ? "" : ", ", d1 < 0 ? 0LL : (long long)d1);
    return 0;
}

/* Log2 of a power-of-two scale, TFLite's CheckedLog2 (fraction < 1e-3). */
static int checked_log2(float x, int *r)
{
    float l = logf(x) * (1.0f / logf(2.0f)), lr = roundf(l);
    *r = (int)lr;
    return fabsf(l - lr) < 1e-3f;
}

static int lstm_check(struct synap_kctx *c, struct lstm_dims *d)
{
    if (!synap_q_node(c) || c->in[LI_X].dtype != SYNAP_DTYPE_INT8)
        return synap_errf(c->err, "input 0: expected int8 with a quant record (the 8x8_16 LSTM)");
    for (size_t k = LI_PEEP; k < LI_PEEP + 3; k++)
        if (synap_has_input(c, k))
            return synap_errf(c->err, "input %zu: peepholes are not supported", k);
    for (size_t k = LI_PROJ; k < LI_PROJ + 2; k++)
        if (synap_has_input(c, k))
            return synap_errf(c->err, "input %zu: a projection layer is not supported", k);
    for (size_t k = 1; k <= 8; k++)
        if (!synap_has_input(c, k))
            return synap_errf(c->err, "input %zu is required (CIFG is not supported)", k);
    if (!synap_has_input(c, LI_H) || !synap_has_input(c, LI_C))
        return synap_errf(c->err, "inputs 18 and 19 (the states) are required");
    const struct synap_value *x = &c->in[LI_X];
    if (x->rank != 3) return synap_errf(c->err, "input 0: expected rank 3, got %d", x->rank);
    d->time_major = synap_attr_int(c->node, "time_major", 0) != 0;
    d->s = d->time_major ? x->dims[0] : x->dims[1];
    d->b = d->time_major ? x->dims[1] : x->dims[0];
    d->i = x->dims[2];
    d->h = c->in[LI_W + 1].rank == 2 ? c->in[LI_W + 1].dims[0] : 0;
    if (d->b < 1 || d->s < 1 || d->i < 1 || d->h < 1 || d->b > (1 << 16) || d->s > (1 << 20) ||
        d->i > (1 << 20) || d->h > (1 << 16) || d->b * d->h > (1 << 24) ||
        d->b * d->s * (d->h > d->i ? d->h : d->i) > ((int64_t)1 << 31))
        return synap_errf(c->err, "batch %lld, steps %lld, input %lld or cells %lld out of range",
                          (long long)d->b, (long long)d->s, (long long)d->i, (long long)d->h);
    for (size_t g = 0; g < 4; g++) {
        if (!qrec(c, LI_W + g, SYNAP_DTYPE_INT8, 1) || need_dims(c, LI_W + g, d->h, d->i) < 0 ||
            !qrec(c, LI_R + g, SYNAP_DTYPE_INT8, 1) || need_dims(c, LI_R + g, d->h, d->h) < 0)
            return -1;
        if (synap_has_input(c, LI_B + g) &&
            (c->in[LI_B + g].dtype != SYNAP_DTYPE_INT32 || need_dims(c, LI_B + g, d->h, -1) < 0))
            return synap_errf(c->err, "input %zu: expected int32 [%lld]", LI_B + g,
                              (long long)d->h);
    }
    if (!qrec(c, LI_X, SYNAP_DTYPE_INT8, 0) || !qrec(c, LI_H, SYNAP_DTYPE_INT8, 0) ||
        need_dims(c, LI_H, d->b, d->h) < 0)
        return -1;
    const struct synap_quant *qc = qrec(c, LI_C, SYNAP_DTYPE_INT16, 1);
    if (!qc || need_dims(c, LI_C, d->b, d->h) < 0) return -1;
    int cs;
    if (!checked_log2(qc->scale[0], &cs) || cs < -15 || cs > -9)
        return synap_errf(c->err,
                          "input 19 (cell state): scale %g is not a power of two in "
                          "[2^-15, 2^-9]",
                          (double)qc->scale[0]);
    float clip = synap_attr_float(c->node, "cell_clip", 0.0f);
    if (!(clip >= 0) || isinf(clip))
        return synap_errf(c->err, "cell_clip %g is not valid", (double)clip);
    return 0;
}

static size_t scratch_size(const struct lstm_dims *d)
{
    /* 8 effective biases (int32), then 4 gates and the cell (int16), then
     * the hidden state (int8): each part aligned for its type */
    size_t bh = (size_t)(d->b * d->h);
    return 8 * (size_t)d->h * sizeof(int32_t) + 5 * bh * sizeof(int16_t) + bh;
}

int synap_lstm_int_infer(struct synap_kctx *c)
{
    struct lstm_dims d;
    if (lstm_check(c, &d) < 0) return -1;
    int64_t dims[3] = {d.time_major ? d.s : d.b, d.time_major ? d.b : d.s, d.h};
    if (synap_q_set_out(c, 0, 3, dims) < 0) return -1;
    if (c->out[0].dtype != SYNAP_DTYPE_INT8)
        return synap_errf(c->err, "output 0: expected int8, got %s",
                          synap_dtype_name(c->out[0].dtype));
    if (synap_q_per_tensor(c, synap_q_out(c, 0), "output 0")) return -1;
    c->scratch_nbytes = scratch_size(&d);
    return 0;
}

/* TFLite's MatrixBatchVectorMultiplyAccumulate (int8 -> int16) for one
 * batch row: out[r] = sat16(out[r] + MBQM(bias[r] + sum w[r][k] v[k])). */
static void mbvma(const int8_t *w, const int32_t *bias, const int8_t *v, int64_t rows, int64_t cols,
                  int32_t mult, int shift, int16_t *out)
{
    for (int64_t r = 0; r < rows; r++) {
        int64_t acc = bias[r];
        const int8_t *wr = w + r * cols;
        for (int64_t k = 0; k < cols; k++)
            acc += (int32_t)wr[k] * v[k];
        out[r] = sat16(synap_q_mul(synap_q_sat32(acc), mult, shift) + out[r]);
    }
}

int synap_lstm_int_run(struct synap_kctx *c)
{
    struct lstm_dims d;
    if (lstm_check(c, &d) < 0) return -1;
    const struct synap_quant *qx = synap_q_in(c, LI_X), *qh = synap_q_in(c, LI_H),
                             *qc = synap_q_in(c, LI_C);
    int64_t B = d.b, S = d.s, I = d.i, H = d.h, bh = B * H;
    int32_t *ebias = c->scratch;
    int16_t *gate = (int16_t *)(ebias + 8 * H), *cell = gate + 4 * bh;
    int8_t *hid = (int8_t *)(cell + bh);
    int32_t zx = qx->zero_point[0], zh = qh->zero_point[0];

    /* effective scales, in float as TFLite's Prepare (2^-12: Q3.12 gates) */
    int32_t m_in[4], m_rec[4], m_hid;
    int s_in[4], s_rec[4], s_hid;
    for (size_t g = 0; g < 4; g++) {
        float ein = synap_q_in(c, LI_W + g)->scale[0] * qx->scale[0] / 0x1p-12f;
        float erec = synap_q_in(c, LI_R + g)->scale[0] * qh->scale[0] / 0x1p-12f;
        synap_q_quantize_multiplier((double)ein, &m_in[g], &s_in[g]);
        synap_q_quantize_multiplier((double)erec, &m_rec[g], &s_rec[g]);
    }
    float ehid = (float)(0x1p-15 / (double)qh->scale[0] * 0x1p-15);
    synap_q_quantize_multiplier((double)ehid, &m_hid, &s_hid);
    int cs;
    checked_log2(qc->scale[0], &cs);
    float clipf = synap_attr_float(c->node, "cell_clip", 0.0f);
    int16_t qclip = 0;
    if (clipf > 0) {
        float v = clipf / qc->scale[0];
        qclip = (int16_t)(v < -32768.0f ? -32768.0f : v > 32767.0f ? 32767.0f : v);
    }

    /* effective biases: bias - z_x * rowsum(W), -z_h * rowsum(R) */
    for (size_t g = 0; g < 4; g++) {
        const int8_t *w = c->in[LI_W + g].data, *r = c->in[LI_R + g].data;
        const int32_t *b = synap_has_input(c, LI_B + g) ? c->in[LI_B + g].data : NULL;
        for (int64_t j = 0; j < H; j++) {
            int64_t sw = 0, sr = 0;
            for (int64_t k = 0; k < I; k++)
                sw += w[j * I + k];
            for (int64_t k = 0; k < H; k++)
                sr += r[j * H + k];
            ebias[g * H + j] = synap_q_sat32((b ? b[j] : 0) - (int64_t)zx * sw);
            ebias[(4 + g) * H + j] = synap_q_sat32(-(int64_t)zh * sr);
        }
    }

    /* states (TFLite keeps them between invocations; here they start from the inputs) */
    memcpy(hid, c->in[LI_H].data, (size_t)bh);
    memcpy(cell, c->in[LI_C].data, (size_t)bh * sizeof(int16_t));
    const int8_t *x = c->in[LI_X].data;
    int8_t *y = c->out[0].data;
    for (int64_t t = 0; t < S; t++)
        for (int64_t b = 0; b < B; b++) {
            int64_t row = d.time_major ? t * B + b : b * S + t;
            const int8_t *xv = x + row * I;
            int8_t *hv = hid + b * H;
            int16_t *cv = cell + b * H;
            int16_t *gi = gate, *gf = gate + H, *gc = gate + 2 * H, *go = gate + 3 * H;
            memset(gate, 0, (size_t)(4 * H) * sizeof *gate);
            for (size_t g = 0; g < 4; g++) {
                mbvma(c->in[LI_W + g].data, ebias + g * H, xv, H, I, m_in[g], s_in[g],
                      gate + g * H);
                mbvma(c->in[LI_R + g].data, ebias + (4 + g) * H, hv, H, H, m_rec[g], s_rec[g],
                      gate + g * H);
            }
            for (int64_t j = 0; j < H; j++) {
                int16_t i = logistic16(gi[j], 3), f = logistic16(gf[j], 3);
                int16_t cc = tanh16(gc[j], 3), o = logistic16(go[j], 3);
                int16_t fc = (int16_t)synap_q_rdbpot((int32_t)f * cv[j], 15);
                int16_t ic = (int16_t)synap_q_rdbpot((int32_t)i * cc, 30 + cs);
                int16_t nc = sat16((int32_t)fc + ic);
                if (qclip > 0) nc = nc > qclip ? qclip : nc < -qclip ? (int16_t)-qclip : nc;
                cv[j] = nc;
                go[j] = o;
            }
            /* the hidden state after the whole cell row: the gates read the previous one */
            for (int64_t j = 0; j < H; j++) {
                int16_t th = tanh16(cv[j], 15 + cs);
                int32_t v = synap_q_mul((int32_t)go[j] * th, m_hid, s_hid) + zh;
                hv[j] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
            }
            memcpy(y + row * H, hv, (size_t)H);
        }
    return 0;
}
