/* Integer kernels of the NPU simulation for the elementwise, matrix,
 * activation, softmax, reduction, concatenation, resize and
 * BatchNormalization ops; Conv and
 * pooling have theirs in conv.c and pool.c. The family files call
 * synap_q_infer / synap_q_run when synap_q_node(c) (qmath.h has the rule).
 *
 * Per op, TFLite's reference integer method:
 *   Add/Sub    left_shift 20 (8-bit) or 15 (16-bit); inputs rescaled by
 *              s_i / (2 max(s1, s2)), summed, rescaled by
 *              2 max(s1, s2) / (2^left_shift s_out) — TFLite's AddFunc.
 *   Mul        (q1 - z1)(q2 - z2) * M, M = (float)(s1 * s2 / s_out).
 *   Div        TFLite's int8 DIV reference (also used for uint8 and 16-bit):
 *              v2 made positive (both signs flipped), its reciprocal by
 *              GetReciprocal (gemmlowp's one_over_one_plus_x), v1 scaled up
 *              by its headroom, times M = s1 / (s2 s_out), one rounding
 *              shift. A zero divisor (UB in TFLite) gives what quantizing
 *              +-inf / NaN gives: the type's bound, or the zero point.
 *   Gemm/MatMul with constant weights (FULLY_CONNECTED): like Conv, int32
 *              (8-bit) or int64 (int16) accumulation, int32/int64 bias.
 *   Relu/Clip  requantized by s_in / s_out, clamped to the bounds quantized
 *              on the output scale (TFLite's ReluX).
 *   LeakyRelu  two multipliers: s_in / s_out and s_in * alpha / s_out.
 *   Sigmoid/Tanh 8-bit: the 256-entry table TFLite builds in float
 *              (expf / tanhf, rounded half away from zero). 16-bit: computed
 *              in double from the dequantized input and rounded half away
 *              (NOT TFLite's int16 table method: see the report).
 *   HardSwish  8-bit: TFLite's int16 fixed-point method.
 *   HardSigmoid (no TFLite op) clamp(alpha x + beta, 0, 1) as one affine
 *              requantization (synap_q_affine, m = alpha s_in / s_out,
 *              b = beta / s_out), clamped to [0, 1] quantized; 8-bit reads a
 *              256-entry table of the same integers.
 *   BatchNormalization (inference; no TFLite op, converters fold it) per
 *              channel c: a = scale / sqrt(var + eps), b = B - mean a in
 *              double from the float parameters, then synap_q_affine with
 *              m = a s_in / s_out, b / s_out: one rounding per element.
 *   Softmax    8-bit: TFLite's reference (gemmlowp fixed-point exp with 5
 *              integer bits, 12-bit accumulation, reciprocal by Newton-
 *              Raphson); output scale 1/256, zero point -128 (int8) or 0,
 *              or int16 output on 1/65536, zero point -32768 (the same
 *              algorithm with TFLite's OutputT = int16_t).
 *              int16: TFLite's SoftmaxInt16 (513-entry exp table over
 *              [-10, 0] and 1/(1 + x) table over [0, 1], built as its
 *              gen_lut, linear interpolation); output scale 1/32768, zp 0.
 *   ReduceMean TFLite's integer MEAN: sum (q - z_in) (int64), times
 *              s_in / s_out, divided by the count rounding half away, + z_out.
 *   Concat     inputs whose parameters differ from the output's are
 *              requantized in float as TFLite's ConcatenationWithScaling:
 *              round(q * s_i / s_out + (-z_i * s_i / s_out)) + z_out.
 *   Resize     linear, 2-D spatial: TFLite's integer bilinear (10-bit
 *              fixed-point coordinates, 20-bit weights); same parameters on
 *              input and output. Nearest copies (resize.c).
 * Every kernel writes each output element from one thread in a fixed order,
 * and integer sums are exact: results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "kernels/qmath.h"

static int qtype_ok(struct synap_kctx *c, size_t i, const char *what)
{
    int32_t lo, hi;
    if (!synap_q_range(c->in[i].dtype, &lo, &hi) || c->in[i].dtype == SYNAP_DTYPE_INT32)
        return synap_errf(c->err, "%s: expected an 8/16-bit integer, got %s", what,
                          synap_dtype_name(c->in[i].dtype));
    return 0;
}

static int is16(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_INT16 || t == SYNAP_DTYPE_UINT16;
}

/* Output 0's quant record, per tensor (run-time check). */
static const struct synap_quant *qout0(struct synap_kctx *c)
{
    const struct synap_quant *q = synap_q_out(c, 0);
    if (synap_q_per_tensor(c, q, "output 0")) return NULL;
    return q;
}

/* ---- broadcasting walk ------------------------------------------------- */

struct bwalk {
    int rank;
    int64_t dims[SYNAP_MAX_RANK], sa[SYNAP_MAX_RANK], sb[SYNAP_MAX_RANK];
};

static void bwalk_init(struct bwalk *w, const struct synap_value *y, const struct synap_value *a,
                       const struct synap_value *b)
{
    w->rank = y->rank;
    memcpy(w->dims, y->dims, sizeof w->dims);
    synap_broadcast_strides(a->rank, a->dims, y->rank, y->dims, w->sa);
    synap_broadcast_strides(b->rank, b->dims, y->rank, y->dims, w->sb);
}

/* Offsets in a and b of output element i. */
static void bwalk_at(const struct bwalk *w, int64_t i, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int d = w->rank - 1; d >= 0; d--) {
        int64_t k = i % w->dims[d];
        i /= w->dims[d];
        a += k * w->sa[d];
        b += k * w->sb[d];
    }
    *oa = a;
    *ob = b;
}

/* ---- Add / Sub / Mul ----------------------------------------------------- */

struct qbin {
    struct synap_kctx *c;
    struct bwalk w;
    int op, left_shift;
    int32_t z1, z2, zo, m1, m2, mo;
    int s1, s2, so;
    int32_t lo, hi;
};

static int32_t qdiv(int32_t v1, int32_t v2, int32_t mult, int shift);

static void qbin_range(void *arg, size_t begin, size_t end)
{
    const struct qbin *q = arg;
    const struct synap_value *a = &q->c->in[0], *b = &q->c->in[1];
    struct synap_value *y = &q->c->out[0];
    for (size_t i = begin; i < end; i++) {
        int64_t oa, ob;
        bwalk_at(&q->w, (int64_t)i, &oa, &ob);
        int32_t v1 = synap_q_load(a->dtype, a->data, oa) - q->z1;
        int32_t v2 = synap_q_load(b->dtype, b->data, ob) - q->z2;
        int32_t r;
        if (q->op == SYNAP_OP_MUL) {
            r = synap_q_mul(synap_q_sat32((int64_t)v1 * v2), q->mo, q->so);
        } else if (q->op == SYNAP_OP_DIV) {
            r = qdiv(v1, v2, q->mo, q->so);
        } else {
            int32_t x1 = synap_q_mul(synap_q_sat32((int64_t)v1 * ((int64_t)1 << q->left_shift)),
                                     q->m1, q->s1);
            int32_t x2 = synap_q_mul(synap_q_sat32((int64_t)v2 * ((int64_t)1 << q->left_shift)),
                                     q->m2, q->s2);
            int64_t sum = q->op == SYNAP_OP_ADD ? (int64_t)x1 + x2 : (int64_t)x1 - x2;
            r = synap_q_mul(synap_q_sat32(sum), q->mo, q->so);
        }
        int64_t v = (int64_t)r + q->zo;
        v = v < q->lo ? q->lo : v > q->hi ? q->hi : v;
        synap_q_store(y->dtype, y->data, (int64_t)i, (int32_t)v);
    }
}

static int qbinary_run(struct synap_kctx *c)
{
    const struct synap_quant *q1 = synap_q_in(c, 0), *q2 = synap_q_in(c, 1), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, q1, "input 0") || synap_q_per_tensor(c, q2, "input 1"))
        return -1;
    if (!synap_dtype_is_int(c->in[1].dtype)) return synap_errf(c->err, "input 1: not quantized");
    struct qbin q = {.c = c, .op = c->node->op};
    bwalk_init(&q.w, &c->out[0], &c->in[0], &c->in[1]);
    q.z1 = q1->zero_point[0];
    q.z2 = q2->zero_point[0];
    q.zo = qo->zero_point[0];
    synap_q_range(c->out[0].dtype, &q.lo, &q.hi);
    if (q.op == SYNAP_OP_MUL) {
        float m = q1->scale[0] * q2->scale[0] / qo->scale[0]; /* float, as TFLite */
        synap_q_quantize_multiplier((double)m, &q.mo, &q.so);
    } else if (q.op == SYNAP_OP_DIV) {
        /* TFLite's div.cc: double s1 / (s2 * s_out) */
        double m = (double)q1->scale[0] / ((double)q2->scale[0] * (double)qo->scale[0]);
        synap_q_quantize_multiplier(m, &q.mo, &q.so);
    } else {
        q.left_shift = is16(c->out[0].dtype) ? 15 : 20;
        double twice = 2.0 * (double)(q1->scale[0] > q2->scale[0] ? q1->scale[0] : q2->scale[0]);
        synap_q_quantize_multiplier((double)q1->scale[0] / twice, &q.m1, &q.s1);
        synap_q_quantize_multiplier((double)q2->scale[0] / twice, &q.m2, &q.s2);
        synap_q_quantize_multiplier(twice / ((double)(1 << q.left_shift) * qo->scale[0]), &q.mo,
                                    &q.so);
    }
    int64_t n = synap_value_nelem(&c->out[0]);
    if (n > 0) synap_pool_for(c->pool, (size_t)n, 4096, qbin_range, &q);
    return 0;
}

/* ---- elementwise activations ------------------------------------------- */

/* A Clip bound: absent, float, or quantized integer (dequantized). */
static float clip_bound(struct synap_kctx *c, size_t i, float def)
{
    if (!synap_has_input(c, i) || !c->in[i].data) return def;
    const struct synap_value *v = &c->in[i];
    if (synap_dtype_is_float(v->dtype)) return (float)synap_value_get_f64(v, 0);
    const struct synap_quant *q = synap_q_in(c, i);
    int64_t raw = synap_value_get_i64(v, 0);
    return q ? q->scale[0] * (float)(raw - q->zero_point[0]) : (float)raw;
}

static int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    int32_t ab = (int32_t)a * b;
    int32_t nudge = ab >= 0 ? (1 << 14) : 1 - (1 << 14);
    return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t sdhm16(int16_t a, int16_t b) /* rounds toward zero */
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    return (int16_t)(((int32_t)a * b) / (1 << 15));
}

static int16_t rdbpot16(int16_t x, int e)
{
    if (e <= 0) return x;
    int32_t mask = (1 << e) - 1, rem = x & mask, th = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int16_t)(synap_q_asr64(x, e) + (rem > th ? 1 : 0));
}

static int16_t sat_lshift16(int16_t v, int n)
{
    int64_t r = (int64_t)v * ((int64_t)1 << n);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r);
}

static int16_t down16(int32_t m) /* DownScaleInt32ToInt16Multiplier */
{
    if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
    return (int16_t)((m + (1 << 15)) >> 16);
}

static int qunary_run(struct synap_kctx *c)
{
    enum synap_op op = c->node->op;
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, qi, "input 0")) return -1;
    int64_t n = synap_value_nelem(x);
    float si = qi->scale[0], so = qo->scale[0];
    int32_t zi = qi->zero_point[0], zo = qo->zero_point[0], lo, hi;
    synap_q_range(y->dtype, &lo, &hi);
    int wide = is16(x->dtype);
    switch (op) {
    case SYNAP_OP_IDENTITY:
        synap_q_requantize(x->dtype, x->data, qi, y->dtype, y->data, qo, n);
        return 0;
    case SYNAP_OP_RELU:
    case SYNAP_OP_CLIP: {
        float flo = op == SYNAP_OP_RELU ? 0.0f : clip_bound(c, 1, -INFINITY);
        float fhi = op == SYNAP_OP_RELU ? INFINITY : clip_bound(c, 2, INFINITY);
        synap_q_act_range(qo, flo, fhi, &lo, &hi);
        int32_t m;
        int sh;
        synap_q_quantize_multiplier((double)(si / so), &m, &sh);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = (int64_t)synap_q_mul(synap_q_load(x->dtype, x->data, i) - zi, m, sh) + zo;
            synap_q_store(y->dtype, y->data, i, (int32_t)(v < lo ? lo : v > hi ? hi : v));
        }
        return 0;
    }
    case SYNAP_OP_LEAKY_RELU: {
        float alpha = synap_attr_float(c->node, "alpha", 0.01f);
        int32_t mi, ma;
        int si_, sa;
        synap_q_quantize_multiplier((double)(si / so), &mi, &si_);
        synap_q_quantize_multiplier((double)(si * alpha / so), &ma, &sa);
        for (int64_t i = 0; i < n; i++) {
            int32_t v = synap_q_load(x->dtype, x->data, i) - zi;
            int32_t r = v >= 0 ? synap_q_mul(v, mi, si_) : synap_q_mul(v, ma, sa);
            synap_q_store(y->dtype, y->data, i, synap_q_sat32((int64_t)r + zo));
        }
        return 0;
    }
    case SYNAP_OP_SIGMOID:
    case SYNAP_OP_TANH:
        if (!wide) {
            /* TFLite's LUTPopulate: float arithmetic, round half away. */
            int32_t tab[256], ilo, ihi;
            synap_q_range(x->dtype, &ilo, &ihi);
            float inv = 1.0f / so;
            for (int32_t v = ilo; v <= ihi; v++) {
                float d = si * (float)(v - zi);
                float t = op == SYNAP_OP_SIGMOID ? 1.0f / (1.0f + expf(-d)) : tanhf(d);
                float r = roundf(t * inv);
                int64_t q = (int64_t)r + zo;
                tab[v - ilo] = (int32_t)(q < lo ? lo : q > hi ? hi : q);
            }
            for (int64_t i = 0; i < n; i++)
                synap_q_store(y->dtype, y->data, i, tab[synap_q_load(x->dtype, x->data, i) - ilo]);
        } else {
            for (int64_t i = 0; i < n; i++) {
                double d = (double)si * (synap_q_load(x->dtype, x->data, i) - zi);
                double t = op == SYNAP_OP_SIGMOID ? 1.0 / (1.0 + exp(-d)) : tanh(d);
                double r = round(t / so) + zo;
                synap_q_store(y->dtype, y->data, i, (int32_t)(r < lo ? lo : r > hi ? hi : r));
            }
        }
        return 0;
    case SYNAP_OP_HARD_SIGMOID: {
        float alpha = synap_attr_float(c->node, "alpha", 0.2f);
        float beta = synap_attr_float(c->node, "beta", 0.5f);
        struct synap_q_affine a;
        if (synap_q_affine_init(&a, (double)alpha * si / so, (double)beta / so))
            return synap_errf(c->err, "HardSigmoid: alpha %g, beta %g out of range on these scales",
                              (double)alpha, (double)beta);
        synap_q_act_range(qo, 0.0f, 1.0f, &lo, &hi);
        int32_t tab[256], ilo, ihi;
        synap_q_range(x->dtype, &ilo, &ihi);
        if (!wide)
            for (int32_t v = ilo; v <= ihi; v++) {
                int64_t r = (int64_t)synap_q_affine_apply(&a, v - zi) + zo;
                tab[v - ilo] = (int32_t)(r < lo ? lo : r > hi ? hi : r);
            }
        for (int64_t i = 0; i < n; i++) {
            int32_t v = synap_q_load(x->dtype, x->data, i);
            if (!wide) {
                synap_q_store(y->dtype, y->data, i, tab[v - ilo]);
                continue;
            }
            int64_t r = (int64_t)synap_q_affine_apply(&a, v - zi) + zo;
            synap_q_store(y->dtype, y->data, i, (int32_t)(r < lo ? lo : r > hi ? hi : r));
        }
        return 0;
    }
    case SYNAP_OP_HARD_SWISH: {
        if (wide) {
            /* 16 bits (TFLite has no int16 HardSwish): x * relu6(x + 3) / 6
             * on X = q - zi with the gate in 1/256 input steps,
             * A = clamp(256 X + T3, 0, T6), T3/T6 = 3 and 6 in those steps
             * rounded; the int64 product X A is requantized by the one rule
             * for int16 (synap_q_mul64) with M = si^2 / (1536 so). */
            double t6 = 6.0 * 256 / si;
            if (!(t6 < 1073741824.0))
                return synap_errf(c->err, "HardSwish: input scale %g too small", (double)si);
            int64_t T3 = llround(3.0 * 256 / si), T6 = llround(t6);
            int32_t m;
            int sh;
            synap_q_quantize_multiplier((double)si * si / (1536.0 * so), &m, &sh);
            for (int64_t i = 0; i < n; i++) {
                int64_t X = synap_q_load(x->dtype, x->data, i) - zi;
                int64_t A = X * 256 + T3;
                A = A < 0 ? 0 : A > T6 ? T6 : A;
                int64_t r = (int64_t)synap_q_mul64(X * A, m, sh) + zo;
                synap_q_store(y->dtype, y->data, i, (int32_t)(r < lo ? lo : r > hi ? hi : r));
            }
            return 0;
        }
        float hires = (1.0f / 128.0f) * si;
        int32_t m32;
        int oexp, rexp;
        synap_q_quantize_multiplier((double)(hires / so), &m32, &oexp);
        int16_t om = down16(m32);
        synap_q_quantize_multiplier((double)(hires / (3.0f / 32768.0f)), &m32, &rexp);
        int16_t rm = down16(m32);
        if (oexp > 0)
            return synap_errf(c->err, "HardSwish: output scale too small for TFLite's method");
        for (int64_t i = 0; i < n; i++) {
            int16_t v = (int16_t)(synap_q_load(x->dtype, x->data, i) - zi);
            int16_t hv = (int16_t)(v * 128);
            int16_t pre = srdhm16(hv, om);
            int16_t rv = hv;
            if (rexp > 0) rv = sat_lshift16(rv, rexp - 1);
            rv = srdhm16(rv, rm);
            if (rexp > 0) rv = sat_lshift16(rv, 1);
            if (rexp < 0) rv = rdbpot16(rv, -rexp);
            rv = (int16_t)(((int32_t)rv + (1 << 15)) >> 1);
            int16_t po = sdhm16(rv, pre);
            int32_t out = (int32_t)rdbpot16(po, -oexp) + zo;
            synap_q_store(y->dtype, y->data, i, out);
        }
        return 0;
    }
    default:
        return synap_errf(c->err, "%s has no integer kernel", synap_op_name(op));
    }
}

/* ---- Gemm / MatMul with constant weights (FULLY_CONNECTED) ---------------- */

struct qfc {
    struct synap_kctx *c;
    int64_t m, k, n;
    int transb;
    const struct synap_quant *qa, *qb, *qy;
    const struct synap_value *bias;
};

static void qfc_rows(void *arg, size_t begin, size_t end)
{
    const struct qfc *f = arg;
    const struct synap_value *a = &f->c->in[0], *b = &f->c->in[1];
    struct synap_value *y = &f->c->out[0];
    int wide = is16(a->dtype), per_ch = f->qb->nparams > 1;
    int single = a->dtype == SYNAP_DTYPE_INT8; /* FULLY_CONNECTED: ruy (qmath.h) */
    int32_t za = f->qa->zero_point[0], zy = f->qy->zero_point[0];
    for (size_t r = begin; r < end; r++) {
        for (int64_t j = 0; j < f->n; j++) {
            size_t qi = per_ch ? (size_t)j : 0;
            int32_t zb = f->qb->zero_point[qi];
            double mr = per_ch ? (double)f->qa->scale[0] * f->qb->scale[qi] / f->qy->scale[0]
                               : (double)(f->qa->scale[0] * f->qb->scale[0]) / f->qy->scale[0];
            int32_t mult;
            int sh;
            synap_q_quantize_multiplier(mr, &mult, &sh);
            int64_t acc = 0;
            for (int64_t t = 0; t < f->k; t++) {
                int64_t av = (int64_t)synap_q_load(a->dtype, a->data, (int64_t)r * f->k + t) - za;
                int64_t bi = f->transb ? j * f->k + t : t * f->n + j;
                int64_t bv = (int64_t)synap_q_load(b->dtype, b->data, bi) - zb;
                acc += av * bv;
            }
            if (f->bias)
                acc +=
                    f->bias->dtype == SYNAP_DTYPE_INT64
                        ? ((const int64_t *)f->bias->data)[synap_value_nelem(f->bias) == 1 ? 0 : j]
                        : synap_q_load(f->bias->dtype, f->bias->data,
                                       synap_value_nelem(f->bias) == 1 ? 0 : j);
            int32_t v = wide     ? synap_q_mul64(acc, mult, sh)
                        : single ? synap_q_mul_single(synap_q_sat32(acc), mult, sh)
                                 : synap_q_mul(synap_q_sat32(acc), mult, sh);
            synap_q_store(y->dtype, y->data, (int64_t)r * f->n + j, synap_q_sat32((int64_t)v + zy));
        }
    }
}

static int qfc_run(struct synap_kctx *c)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[1];
    struct qfc f = {.c = c, .qa = synap_q_in(c, 0), .qb = synap_q_in(c, 1), .qy = qout0(c)};
    if (!f.qy || synap_q_per_tensor(c, f.qa, "input 0")) return -1;
    if (!f.qb || !synap_dtype_is_int(b->dtype))
        return synap_errf(c->err, "input 1: integer weights need quantization parameters");
    if (b->rank != 2) return synap_errf(c->err, "input 1: integer MatMul/Gemm needs 2-D weights");
    if (a->rank < 1) return synap_errf(c->err, "input 0: scalar");
    if (c->node->op == SYNAP_OP_GEMM) {
        if (synap_attr_int(c->node, "transA", 0) || synap_attr_float(c->node, "alpha", 1) != 1 ||
            synap_attr_float(c->node, "beta", 1) != 1)
            return synap_errf(c->err, "integer Gemm needs transA = 0 and alpha = beta = 1");
        f.transb = synap_attr_int(c->node, "transB", 0) != 0;
        if (synap_has_input(c, 2)) f.bias = &c->in[2];
    }
    f.k = a->dims[a->rank - 1];
    f.n = f.transb ? b->dims[0] : b->dims[1];
    f.m = f.k ? synap_value_nelem(a) / f.k : 0;
    if ((f.transb ? b->dims[1] : b->dims[0]) != f.k)
        return synap_errf(c->err, "inner dimensions differ");
    if (f.qb->nparams != 1 && (int64_t)f.qb->nparams != f.n)
        return synap_errf(c->err, "input 1: %zu scales for %lld output channels", f.qb->nparams,
                          (long long)f.n);
    if (f.bias && f.bias->dtype != SYNAP_DTYPE_INT32 && f.bias->dtype != SYNAP_DTYPE_INT64)
        return synap_errf(c->err, "input 2: integer Gemm needs an int32 or int64 bias");
    if (f.bias && synap_value_nelem(f.bias) != f.n && synap_value_nelem(f.bias) != 1)
        return synap_errf(c->err, "input 2: expected %lld bias values", (long long)f.n);
    if (f.m > 0 && f.n > 0) synap_pool_for(c->pool, (size_t)f.m, 1, qfc_rows, &f);
    return 0;
}

/* ---- Softmax (TFLite's reference, gemmlowp fixed point) ------------------- */

static int32_t sat_lshift32(int32_t x, int e)
{
    return synap_q_sat32((int64_t)x * ((int64_t)1 << e));
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t c0 = 1895147668, third = 715827883;
    int32_t x = (int32_t)((uint32_t)a + (1u << 28));
    int32_t x2 = synap_q_srdhm(x, x), x3 = synap_q_srdhm(x2, x), x4 = synap_q_srdhm(x2, x2);
    int32_t x4q = synap_q_rdbpot(x4, 2);
    int32_t inner = synap_q_rdbpot(
        (int32_t)((uint32_t)synap_q_srdhm((int32_t)((uint32_t)x4q + (uint32_t)x3), third) +
                  (uint32_t)x2),
        1);
    return (int32_t)((uint32_t)c0 +
                     (uint32_t)synap_q_srdhm(c0, (int32_t)((uint32_t)x + (uint32_t)inner)));
}

/* gemmlowp exp_on_negative_values for Q5.26 input, Q0.31 result. */
static int32_t exp_neg_q5(int32_t a)
{
    const int frac = 26;
    const int32_t quarter = 1 << (frac - 2), mask = quarter - 1;
    int32_t amq = (int32_t)(((uint32_t)a & (uint32_t)mask) - (uint32_t)quarter);
    int32_t result = exp_quarter(sat_lshift32(amq, 5));
    int32_t rem = (int32_t)((uint32_t)amq - (uint32_t)a);
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242};
    for (int e = -2; e <= 4; e++)
        if ((uint32_t)rem & (1u << (frac + e))) result = synap_q_srdhm(result, mult[e + 2]);
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31. */
static int32_t one_over_one_plus_x(int32_t a)
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810, cm32_17 = -1010580540, one_q2 = 1 << 29;
    int32_t x = (int32_t)((uint32_t)c48_17 + (uint32_t)synap_q_srdhm(half_den, cm32_17));
    for (int i = 0; i < 3; i++) {
        int32_t hdx = synap_q_srdhm(half_den, x);
        int32_t one_minus = (int32_t)((uint32_t)one_q2 - (uint32_t)hdx);
        x = (int32_t)((uint32_t)x + (uint32_t)sat_lshift32(synap_q_srdhm(x, one_minus), 2));
    }
    /* ExactMulByPot<-1> keeps the raw bits (Q2 -> Q1); Rescale<0> shifts left 1. */
    return sat_lshift32(x, 1);
}

static int clz32(uint32_t x)
{
    int n = 0;
    if (!x) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

/* ---- Div (TFLite's DivElementwise) ---------------------------------------------- */

/* TFLite CountLeadingSignBits for int32. */
static int clsb32(int32_t x)
{
    if (x >= 0) return clz32((uint32_t)x) - 1;
    if (x == INT32_MIN) return 0;
    return clz32(2u * (uint32_t)(-x) - 1u);
}

/* Rounding (half away from zero) x * 2^-e for any e; left shifts saturate. */
static int32_t round_pot(int32_t x, int e)
{
    if (e <= 0) return e < -31 ? (x > 0 ? INT32_MAX : x < 0 ? INT32_MIN : 0) : sat_lshift32(x, -e);
    if (e <= 31) return synap_q_rdbpot(x, e);
    if (e > 62) return 0;
    uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)(int64_t)x : (uint64_t)x;
    mag = (mag + ((uint64_t)1 << (e - 1))) >> e;
    return x < 0 ? -(int32_t)mag : (int32_t)mag;
}

/* (v1 / v2) * mult * 2^(shift - 31), TFLite's integer DIV; v2 == 0 gives
 * the int32 bound of v1's sign (the caller saturates it). */
static int32_t qdiv(int32_t v1, int32_t v2, int32_t mult, int shift)
{
    if (v2 == 0) return v1 > 0 ? INT32_MAX : v1 < 0 ? INT32_MIN : 0;
    if (v2 < 0) { /* |v1|, |v2| < 2^17: no overflow */
        v1 = -v1;
        v2 = -v2;
    }
    /* GetReciprocal(v2, 31, &recip_shift) */
    int hp1 = clz32((uint32_t)v2);
    int recip_shift = 31 - hp1;
    int32_t inv = one_over_one_plus_x((int32_t)(((uint32_t)v2 << hp1) - (1u << 31)));
    int headroom = clsb32(v1);
    int32_t unscaled = synap_q_srdhm((int32_t)((int64_t)v1 * ((int64_t)1 << headroom)), inv);
    int total_shift = shift - recip_shift - headroom;
    return round_pot(synap_q_srdhm(unscaled, mult), -total_shift);
}

/* ---- BatchNormalization (per-channel affine requantization) ---------------------- */

struct qbn {
    struct synap_kctx *c;
    int64_t ch, sp;
    double eps;
    int32_t zi, zo, lo, hi;
    float si, so;
};

static void qbn_planes(void *arg, size_t begin, size_t end)
{
    const struct qbn *j = arg;
    const struct synap_value *in = j->c->in;
    struct synap_value *y = &j->c->out[0];
    for (size_t p = begin; p < end; p++) {
        int64_t ch = (int64_t)p % j->ch;
        /* the float kernel's folding (norm.c), in double */
        double a = synap_ld(&in[1], ch) / sqrt(synap_ld(&in[4], ch) + j->eps);
        double b = synap_ld(&in[2], ch) - synap_ld(&in[3], ch) * a;
        struct synap_q_affine af;
        if (synap_q_affine_init(&af, a * j->si / j->so, b / j->so)) /* checked in run */
            af = (struct synap_q_affine){0, 0, 0};
        int64_t base = (int64_t)p * j->sp;
        for (int64_t i = 0; i < j->sp; i++) {
            int32_t v = synap_q_load(in[0].dtype, in[0].data, base + i) - j->zi;
            int64_t r = (int64_t)synap_q_affine_apply(&af, v) + j->zo;
            synap_q_store(y->dtype, y->data, base + i,
                          (int32_t)(r < j->lo   ? j->lo
                                    : r > j->hi ? j->hi
                                                : r));
        }
    }
}

static int qbn_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, qi, "input 0")) return -1;
    if (c->nin != 5 || synap_attr_int(c->node, "training_mode", 0) != 0)
        return synap_errf(c->err, "integer BatchNormalization: inference with 5 inputs only");
    for (size_t i = 1; i < 5; i++)
        if (!synap_dtype_is_float(c->in[i].dtype) || synap_q_in(c, i))
            return synap_errf(c->err,
                              "integer BatchNormalization: input %zu must be float (the "
                              "parameters are folded into the requantization)",
                              i);
    if (x->rank < 2) return synap_errf(c->err, "integer BatchNormalization: rank < 2");
    struct qbn j = {.c = c, .ch = x->dims[1], .sp = 1, .si = qi->scale[0], .so = qo->scale[0]};
    j.eps = synap_attr_float(c->node, "epsilon", 1e-5f);
    j.zi = qi->zero_point[0];
    j.zo = qo->zero_point[0];
    synap_q_range(c->out[0].dtype, &j.lo, &j.hi);
    for (int d = 2; d < x->rank; d++)
        j.sp *= x->dims[d];
    for (int64_t ch = 0; ch < j.ch; ch++) {
        double a = synap_ld(&c->in[1], ch) / sqrt(synap_ld(&c->in[4], ch) + j.eps);
        double b = synap_ld(&c->in[2], ch) - synap_ld(&c->in[3], ch) * a;
        struct synap_q_affine af;
        if (synap_q_affine_init(&af, a * j.si / j.so, b / j.so))
            return synap_errf(c->err,
                              "integer BatchNormalization: channel %lld: scale %g, offset %g "
                              "out of range on these scales",
                              (long long)ch, a, b);
    }
    int64_t planes = x->dims[0] * j.ch;
    if (planes > 0)
        synap_pool_for(c->pool, (size_t)planes, (size_t)(4096 / (j.sp + 1)) + 1, qbn_planes, &j);
    return 0;
}

/* ---- int16 Softmax (TFLite's SoftmaxInt16) ---------------------------------- */

/* TfLiteRound in double: half away from zero. */
static double round_away(double v)
{
    return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
}

/* TFLite's gen_lut for an int16 -> int16 table: 512 segments of [lo, hi]
 * plus the end point, outputs on [-1, 1) scaled by 32768; each entry is
 * biased by half the interpolation error at its segment's midpoint. */
static void int16_lut(double (*f)(double), double lo, double hi, int16_t lut[513])
{
    const double step = (hi - lo) / 512, half = step / 2, k = 32768.0;
    for (int i = 0; i < 512; i++) {
        double v = f(lo + i * step), vm = f(lo + i * step + half), vn = f(lo + (i + 1) * step);
        double sample = round_away(v * k);
        double interp = round_away((vn * k + round_away(v * k)) / 2);
        double mid = round_away(vm * k);
        double bias = round_away((interp - mid) / 2);
        double r = sample - bias;
        lut[i] = (int16_t)(r < -32768.0 ? -32768 : r > 32767.0 ? 32767 : r);
    }
    double e = round_away(f(hi) * k);
    lut[512] = (int16_t)(e < -32768.0 ? -32768 : e > 32767.0 ? 32767 : e);
}

/* TFLite's generic_int16_table_lookup: segment (v >> 7) + 256, linear
 * interpolation over the low 7 bits, rounded (arithmetic shift). */
static int32_t int16_lookup(int32_t v, const int16_t lut[513])
{
    int32_t index = (v + 32768) >> 7, offset = (v + 32768) & 0x7f;
    int32_t base = lut[index], slope = lut[index + 1] - lut[index];
    return (int32_t)(int16_t)(base + (int32_t)synap_q_asr64((int64_t)slope * offset + 64, 7));
}

static double exp_d(double v)
{
    return exp(v);
}

static double one_over_one_plus(double v)
{
    return 1.0 / (1.0 + v);
}

/* int16 in, int16 out (scale 1/32768, zero point 0): TFLite's SoftmaxInt16.
 * exp(x - max) from a 513-entry table over [-10, 0] (the difference scaled
 * by s_in / (10 / 65535) so that [-65535, 0] covers it, recentred by
 * +32767), summed in Q16.15, normalized by its leading zeros into
 * [1, 2) and inverted through the 1/(1 + x) table over [0, 1]. */
static int qsoftmax16_run(struct synap_kctx *c, const struct synap_quant *qi,
                          const struct synap_quant *qo, int64_t outer, int64_t depth, int64_t inner)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    if (x->dtype != SYNAP_DTYPE_INT16 || y->dtype != SYNAP_DTYPE_INT16)
        return synap_errf(c->err, "integer 16-bit Softmax needs int16 input and output");
    if (fabsf(qo->scale[0] - 1.0f / 32768) > 0.001f / 32768 || qo->zero_point[0] != 0)
        return synap_errf(c->err, "integer int16 Softmax needs output scale 1/32768 and zero "
                                  "point 0 (TFLite's)");
    if (depth > 65536) /* the Q16.15 sum could overflow */
        return synap_errf(c->err,
                          "integer int16 Softmax: %lld elements on the axis (at most "
                          "65536)",
                          (long long)depth);
    int16_t exp_lut[513], inv_lut[513];
    int16_lut(exp_d, -10.0, 0.0, exp_lut);
    int16_lut(one_over_one_plus, 0.0, 1.0, inv_lut);
    int32_t m;
    int sh;
    synap_q_quantize_multiplier((double)qi->scale[0] / (10.0 / 65535.0), &m, &sh);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const int64_t base = o * depth * inner + in;
            const int16_t *xp = x->data;
            int16_t *yp = y->data;
            int32_t mx = INT16_MIN, sum = 0;
            for (int64_t k = 0; k < depth; k++)
                mx = xp[base + k * inner] > mx ? xp[base + k * inner] : mx;
            for (int64_t k = 0; k < depth; k++) {
                int32_t sd = synap_q_mul(xp[base + k * inner] - mx, m, sh) + 32767;
                sd = sd < -32768 ? -32768 : sd > 32767 ? 32767 : sd;
                int32_t e = int16_lookup(sd, exp_lut);
                yp[base + k * inner] = (int16_t)e; /* Q0.15, rescaled below */
                sum += e;
            }
            int hp1 = clz32((uint32_t)sum); /* sum >= 1: the max's exp */
            int32_t shifted = (int32_t)((((int64_t)sum << (hp1 - 1)) + (1 << 13)) >> 14);
            int32_t sym = shifted - ((1 << 15) + (1 << 16));
            sym = sym < -32768 ? -32768 : sym > 32767 ? 32767 : sym;
            int64_t recip = int16_lookup(sym, inv_lut);
            int rs = 31 - hp1;
            for (int64_t k = 0; k < depth; k++) {
                int64_t r =
                    ((int64_t)yp[base + k * inner] * recip + ((int64_t)1 << (rs - 1))) >> rs;
                yp[base + k * inner] = (int16_t)(r < 0 ? 0 : r > 32767 ? 32767 : r);
            }
        }
    return 0;
}

static int qsoftmax_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, qi, "input 0")) return -1;
    if (is16(x->dtype)) {
        int64_t axis;
        if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), x->rank, &axis)) return -1;
        int64_t outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
            outer *= x->dims[d];
        for (int d = (int)axis + 1; d < x->rank; d++)
            inner *= x->dims[d];
        return qsoftmax16_run(c, qi, qo, outer, x->dims[axis], inner);
    }
    /* 8-bit input: TFLite's reference Softmax, templated on the output
     * type - 8 bits on 1/256, or int16 on 1/65536 (zero point -32768) */
    int outbits = is16(y->dtype) ? 16 : 8;
    int32_t omin, omax;
    synap_q_range(y->dtype, &omin, &omax);
    double want = outbits == 16 ? 1.0 / 65536 : 1.0 / 256; /* TFLite: within 0.1 % */
    if (fabs(qo->scale[0] - want) > 0.001 * want || qo->zero_point[0] != omin)
        return synap_errf(c->err,
                          "integer Softmax needs output scale 1/%d and zero point %d "
                          "(TFLite's)",
                          outbits == 16 ? 65536 : 256, omin);
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), x->rank, &axis)) return -1;
    int64_t outer = 1, depth = x->dims[axis], inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->rank; d++)
        inner *= x->dims[d];
    /* PreprocessSoftmaxScaling with beta = 1 and 5 integer bits. */
    double real = (double)qi->scale[0] * (double)(1 << 26);
    if (real > 2147483647.0) real = 2147483647.0;
    int32_t bm;
    int bs;
    synap_q_quantize_multiplier(real, &bm, &bs);
    if (bs < 0) /* QuantizeMultiplierGreaterThanOne requires it */
        return synap_errf(c->err, "integer Softmax: input scale %g too small",
                          (double)qi->scale[0]);
    double radius = 31.0 * (double)(1LL << 26) / (double)(1LL << bs);
    int32_t diff_min = -(int32_t)floor(radius);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * depth * inner + in;
            int32_t mx = INT32_MIN;
            for (int64_t k = 0; k < depth; k++) {
                int32_t v = synap_q_load(x->dtype, x->data, base + k * inner);
                mx = v > mx ? v : mx;
            }
            int32_t sum = 0; /* Q12.19 */
            for (int64_t k = 0; k < depth; k++) {
                int32_t d = synap_q_load(x->dtype, x->data, base + k * inner) - mx;
                if (d >= diff_min) {
                    int32_t sd = synap_q_srdhm(sat_lshift32(d, bs), bm);
                    sum = (int32_t)((uint32_t)sum + (uint32_t)synap_q_rdbpot(exp_neg_q5(sd), 12));
                }
            }
            int hr = clz32((uint32_t)sum);
            int nbits = 12 - hr;
            int32_t shifted = (int32_t)(((uint32_t)sum << hr) - (1u << 31));
            int32_t scale = one_over_one_plus_x(shifted);
            for (int64_t k = 0; k < depth; k++) {
                int32_t d = synap_q_load(x->dtype, x->data, base + k * inner) - mx;
                int32_t out = omin;
                if (d >= diff_min) {
                    int32_t sd = synap_q_srdhm(sat_lshift32(d, bs), bm);
                    int32_t e = exp_neg_q5(sd);
                    int32_t u = synap_q_rdbpot(synap_q_srdhm(scale, e), nbits + 31 - outbits);
                    out = u + omin;
                }
                synap_q_store(y->dtype, y->data, base + k * inner, out);
            }
        }
    return 0;
}

/* ---- ReduceMean (TFLite's integer MEAN) ------------------------------------- */

static int qmean_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, qi, "input 0")) return -1;
    int r = x->rank;
    bool red[SYNAP_MAX_RANK] = {0};
    const int64_t *axes;
    size_t na = synap_attr_ints(c->node, "axes", &axes);
    if (na == 0)
        for (int d = 0; d < r; d++)
            red[d] = true;
    for (size_t i = 0; i < na; i++) {
        int64_t a;
        if (synap_norm_axis(c->err, axes[i], r, &a)) return -1;
        red[a] = true;
    }
    int64_t ostr[SYNAP_MAX_RANK], s = 1, count = 1;
    for (int d = r - 1; d >= 0; d--) {
        ostr[d] = red[d] ? 0 : s;
        if (red[d])
            count *= x->dims[d];
        else
            s *= x->dims[d];
    }
    int64_t nout = synap_value_nelem(y), nin = synap_value_nelem(x);
    int64_t *acc = c->scratch;
    if ((size_t)nout * sizeof *acc > c->scratch_nbytes)
        return synap_errf(c->err, "scratch too small");
    memset(acc, 0, (size_t)nout * sizeof *acc);
    int32_t zi = qi->zero_point[0], zo = qo->zero_point[0];
    for (int64_t i = 0; i < nin; i++) {
        int64_t rem = i, off = 0;
        for (int d = r - 1; d >= 0; d--) {
            off += (rem % x->dims[d]) * ostr[d];
            rem /= x->dims[d];
        }
        acc[off] += synap_q_load(x->dtype, x->data, i) - zi;
    }
    int32_t m;
    int sh;
    synap_q_quantize_multiplier((double)qi->scale[0] / (double)qo->scale[0], &m, &sh);
    for (int64_t j = 0; j < nout; j++) {
        int64_t v = synap_q_mean(acc[j], count, m, sh, is16(x->dtype));
        synap_q_store(y->dtype, y->data, j, synap_q_sat32(v + zo));
    }
    return 0;
}

/* ---- Concat (TFLite's ConcatenationWithScaling) ------------------------------ */

static int qconcat_run(struct synap_kctx *c)
{
    struct synap_value *y = &c->out[0];
    const struct synap_quant *qo = qout0(c);
    if (!qo) return -1;
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), y->rank, &axis)) return -1;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= y->dims[d];
    for (int d = (int)axis + 1; d < y->rank; d++)
        inner *= y->dims[d];
    int64_t ostride = y->dims[axis] * inner, at = 0;
    int32_t lo, hi;
    synap_q_range(y->dtype, &lo, &hi);
    float inv = 1.0f / qo->scale[0];
    for (size_t i = 0; i < c->nin; i++) {
        const struct synap_value *x = &c->in[i];
        const struct synap_quant *qi = synap_q_in(c, i);
        if (!synap_dtype_is_int(x->dtype) || synap_q_per_tensor(c, qi, "a Concat input")) return -1;
        int64_t chunk = x->dims[axis] * inner;
        bool same = synap_q_same(qi, qo);
        float scale = qi->scale[0] * inv, bias = -(float)qi->zero_point[0] * scale;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < chunk; j++) {
                int32_t v = synap_q_load(x->dtype, x->data, o * chunk + j);
                if (!same) {
                    float r = roundf((float)v * scale + bias);
                    r = r < -4.0e9f ? -4.0e9f : r > 4.0e9f ? 4.0e9f : r;
                    v = synap_q_sat32((int64_t)r + qo->zero_point[0]);
                }
                synap_q_store(y->dtype, y->data, o * ostride + at + j, v);
            }
        at += chunk;
    }
    return 0;
}

/* ---- Resize bilinear (TFLite's integer method) -------------------------------- */

static void bil_coord(int32_t v, int32_t s10, int hp, int32_t insz, int32_t *sv, int32_t *lo,
                      int32_t *hi)
{
    *sv = hp ? v * s10 + s10 / 2 - (1 << 9) : v * s10;
    int32_t l = *sv / (1 << 10), h = (*sv + (1 << 10) - 1) / (1 << 10);
    *lo = l > 0 ? l : 0;
    *hi = h < insz - 1 ? h : insz - 1;
}

static int qresize_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = qout0(c);
    if (!qo || synap_q_per_tensor(c, qi, "input 0")) return -1;
    if (!synap_q_same(qi, qo))
        return synap_errf(c->err, "integer Resize needs the same scale and zero point on input and "
                                  "output");
    if (x->rank != 4 || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1])
        return synap_errf(c->err, "integer linear Resize supports 4-D NCHW with H and W resized");
    const char *ctm = synap_attr_string(c->node, "coordinate_transformation_mode", "half_pixel");
    int hp = !strcmp(ctm, "half_pixel") || !strcmp(ctm, "pytorch_half_pixel");
    int ac = !strcmp(ctm, "align_corners");
    if (!hp && !ac && strcmp(ctm, "asymmetric"))
        return synap_errf(c->err,
                          "integer linear Resize: coordinate_transformation_mode '%s' not "
                          "supported",
                          ctm);
    int64_t ih = x->dims[2], iw = x->dims[3], oh = y->dims[2], ow = y->dims[3];
    if (ih > 1 << 20 || iw > 1 << 20 || oh > 1 << 20 || ow > 1 << 20 || oh < 1 || ow < 1)
        return synap_errf(c->err, "integer linear Resize: size out of range");
    int32_t hs = (int32_t)(((1 << 10) * ih + oh / 2) / oh);
    int32_t ws = (int32_t)(((1 << 10) * iw + ow / 2) / ow);
    if (ac && oh > 1) hs = (int32_t)(((1 << 10) * (ih - 1) + (oh - 1) / 2) / (oh - 1));
    if (ac && ow > 1) ws = (int32_t)(((1 << 10) * (iw - 1) + (ow - 1) / 2) / (ow - 1));
    int64_t planes = x->dims[0] * x->dims[1];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int32_t yy = 0; yy < oh; yy++) {
            int32_t iy, y0, y1;
            bil_coord(yy, hs, hp, (int32_t)ih, &iy, &y0, &y1);
            for (int32_t xx = 0; xx < ow; xx++) {
                int32_t ix, x0, x1;
                bil_coord(xx, ws, hp, (int32_t)iw, &ix, &x0, &x1);
                int64_t b = pl * ih * iw;
                int64_t fy = iy - (1 << 10) * y0, fx = ix - (1 << 10) * x0;
                int64_t v = (int64_t)synap_q_load(x->dtype, x->data, b + y0 * iw + x0) *
                                ((1 << 10) - fy) * ((1 << 10) - fx) +
                            (int64_t)synap_q_load(x->dtype, x->data, b + y1 * iw + x0) * fy *
                                ((1 << 10) - fx) +
                            (int64_t)synap_q_load(x->dtype, x->data, b + y0 * iw + x1) *
                                ((1 << 10) - fy) * fx +
                            (int64_t)synap_q_load(x->dtype, x->data, b + y1 * iw + x1) * fy * fx;
                int64_t rnd = v > 0 ? (1 << 19) : -(1 << 19);
                synap_q_store(y->dtype, y->data, pl * oh * ow + (int64_t)yy * ow + xx,
                              synap_q_sat32((v + rnd) / (1 << 20)));
            }
        }
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------- */

int synap_q_infer(struct synap_kctx *c, synap_kernel_fn float_infer)
{
    enum synap_op op = c->node->op;
    int bias = op == SYNAP_OP_GEMM ? 2 : -1;
    switch (op) {
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUB:
    case SYNAP_OP_MUL:
    case SYNAP_OP_DIV:
    case SYNAP_OP_IDENTITY:
    case SYNAP_OP_RELU:
    case SYNAP_OP_CLIP:
    case SYNAP_OP_LEAKY_RELU:
    case SYNAP_OP_SIGMOID:
    case SYNAP_OP_TANH:
    case SYNAP_OP_HARD_SIGMOID:
    case SYNAP_OP_HARD_SWISH:
    case SYNAP_OP_BATCH_NORMALIZATION:
    case SYNAP_OP_SOFTMAX:
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_CONCAT:
    case SYNAP_OP_RESIZE:
    case SYNAP_OP_GEMM:
    case SYNAP_OP_MATMUL:
        break;
    default:
        return synap_errf(c->err, "%s has no integer kernel (quantized input '%s')",
                          synap_op_name(op), c->graph->tensors[c->node->inputs[0]].name);
    }
    for (size_t i = 0; i < c->nin; i++)
        if ((int)i != bias && synap_has_input(c, i) && synap_q_in(c, i) &&
            qtype_ok(c, i, "quantized input"))
            return -1;
    if (synap_q_infer_as_float(c, float_infer, bias)) return -1;
    if (op == SYNAP_OP_REDUCE_MEAN)
        c->scratch_nbytes = (size_t)synap_value_nelem(&c->out[0]) * sizeof(int64_t);
    else
        c->scratch_nbytes = 0;
    return 0;
}

int synap_q_run(struct synap_kctx *c)
{
    switch (c->node->op) {
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUB:
    case SYNAP_OP_MUL:
    case SYNAP_OP_DIV:
        return qbinary_run(c);
    case SYNAP_OP_BATCH_NORMALIZATION:
        return qbn_run(c);
    case SYNAP_OP_GEMM:
    case SYNAP_OP_MATMUL:
        return qfc_run(c);
    case SYNAP_OP_SOFTMAX:
        return qsoftmax_run(c);
    case SYNAP_OP_REDUCE_MEAN:
        return qmean_run(c);
    case SYNAP_OP_CONCAT:
        return qconcat_run(c);
    case SYNAP_OP_RESIZE:
        return qresize_run(c);
    default:
        return qunary_run(c);
    }
}
