/* The NPU's integer arithmetic (kernels/qmath.h) and the integer kernels.
 *
 * Three kinds of checks:
 *   - golden vectors: exact integers worked out by hand from TFLite's rules
 *     (rounding ties half away from zero, negative shifts, the 2^31 mantissa
 *     edge, saturation, per-channel scales, zero points);
 *   - every integer kernel on random data (fixed seed) against "dequantize
 *     the inputs, compute in double, quantize the output": TOLERANCE is ONE
 *     LSB of the output type (|got - reference| <= 1) for every element;
 *   - every graph runs through shape inference and the plan at 1 and at 3
 *     threads, and the two results must be bit-identical.
 * Exception: int16 Softmax (TFLite's table method) is checked within 2 LSB
 * and against golden vectors from tests/data/softmax_int16/gen.py.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/qmath.h"
#include "runtime/plan.h"
#include "tflite/tflite.h"

#include "graph_harness.h"

#define U8 SYNAP_DTYPE_UINT8
#define I8 SYNAP_DTYPE_INT8
#define I16 SYNAP_DTYPE_INT16
#define I32 SYNAP_DTYPE_INT32
#define I64 SYNAP_DTYPE_INT64
#define F32 SYNAP_DTYPE_FLOAT32

/* ---- primitives: golden values ------------------------------------------- */

static void test_primitives(void **state)
{
    (void)state;
    assert_int_equal(synap_q_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    assert_int_equal(synap_q_srdhm(1 << 30, 1 << 30), 1 << 29);
    assert_int_equal(synap_q_srdhm(-(1 << 30), 1 << 30), -(1 << 29));
    /* rounding ties go away from zero */
    assert_int_equal(synap_q_rdbpot(5, 1), 3);
    assert_int_equal(synap_q_rdbpot(-5, 1), -3);
    assert_int_equal(synap_q_rdbpot(3, 1), 2);
    assert_int_equal(synap_q_rdbpot(-3, 1), -2);
    assert_int_equal(synap_q_rdbpot(-4, 2), -1);
    assert_int_equal(synap_q_rdbpot(INT32_MIN, 31), -1);

    int32_t m;
    int sh;
    synap_q_quantize_multiplier(0.5, &m, &sh);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, 0);
    synap_q_quantize_multiplier(1.0, &m, &sh);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, 1);
    synap_q_quantize_multiplier(0.75, &m, &sh);
    assert_int_equal(m, 1610612736);
    assert_int_equal(sh, 0);
    /* a mantissa that rounds up to 2^31 becomes 2^30 with one more shift */
    synap_q_quantize_multiplier(1.0 - ldexp(1.0, -33), &m, &sh);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, 1);
    /* tiny multipliers flush to zero */
    synap_q_quantize_multiplier(ldexp(1.0, -40), &m, &sh);
    assert_int_equal(m, 0);
    assert_int_equal(sh, 0);
    synap_q_quantize_multiplier(0.0, &m, &sh);
    assert_int_equal(m, 0);
    /* negative multiplier (LeakyRelu with negative alpha) */
    synap_q_quantize_multiplier(-0.5, &m, &sh);
    assert_int_equal(m, -(1 << 30));
    assert_int_equal(sh, 0);

    /* MultiplyByQuantizedMultiplier: 3 * 0.75 = 2.25 -> 2; 3 * 0.5 = 1.5 -> 2;
     * negative shift: 0.25 = 2^30 * 2^-1 */
    synap_q_quantize_multiplier(0.75, &m, &sh);
    assert_int_equal(synap_q_mul(3, m, sh), 2);
    assert_int_equal(synap_q_mul(3, 1 << 30, 0), 2);
    /* gemmlowp's SRDHM nudge makes a negative tie round up: -1.5 -> -1 */
    assert_int_equal(synap_q_mul(-3, 1 << 30, 0), -1);
    assert_int_equal(synap_q_mul(6, 1 << 30, -1), 2);    /* 1.5 */
    assert_int_equal(synap_q_mul(-2, 1 << 30, -1), -1);  /* -0.5 */
    assert_int_equal(synap_q_mul(258, 1 << 30, -1), 65); /* 64.5 */
    /* left shift (multiplier > 1): 100 * 3 */
    synap_q_quantize_multiplier(3.0, &m, &sh);
    assert_int_equal(sh, 2);
    assert_int_equal(synap_q_mul(100, m, sh), 300);
    /* the left shift saturates instead of overflowing int32 (undefined in
     * TFLite's C++); the mantissa 0.75 then applies to the saturated value */
    assert_int_equal(synap_q_mul(INT32_MAX, m, sh), 1610612735);
    assert_int_equal(synap_q_mul(INT32_MIN, m, sh), -1610612736);

    /* TFLite rounds twice (SRDHM to an integer, then RDBPOT by the right
     * shift), so a real value just below .5 can round up. Golden from
     * mobilenet_v1_0.25_128_quant, MobilenetV1/Conv2d_1_depthwise (uint8,
     * s_in = s_out = 0.0235284772, s_w = 0.0894003436, shift -3), element
     * [0,0,9,1] of case cat: acc 531 -> real 47.4716; SRDHM gives
     * round(531 * 0.7152) = 380, RDBPOT(380, 3) = 47.5 -> 48. TFLite's
     * reference kernel gives 48; ArmNN CpuRef (float, one rounding) gives 47.
     * This is the 1-LSB step behind the tests/tflite/expected_failures.txt
     * entries of the uint8 MobileNets: do not "fix" it to one rounding. */
    {
        const float s_io = 0.0235284772f, s_w = 0.0894003436f;
        synap_q_quantize_multiplier((double)(s_io * s_w) / s_io, &m, &sh);
        assert_int_equal(sh, -3);
        assert_int_equal(synap_q_srdhm(531, m), 380);
        assert_int_equal(synap_q_mul(531, m, sh), 48);   /* real 47.4716 */
        assert_int_equal(synap_q_mul(2119, m, sh), 190); /* real 189.4393 */
        assert_int_equal(synap_q_mul(530, m, sh), 47);   /* real 47.3822 */
        /* ruy's single rounding (the TFLite runtime's int8 GEMM) gives the
         * nearest integer here */
        assert_int_equal(synap_q_mul_single(531, m, sh), 47);
        assert_int_equal(synap_q_mul_single(2119, m, sh), 189);
    }

    /* single rounding: (x * M0 + 2^(30 - shift)) >> (31 - shift); ties go
     * toward +infinity (-1.5 -> -1, 1.5 -> 2, -2.5 -> -2), no SRDHM nudge */
    assert_int_equal(synap_q_mul_single(3, 1 << 30, 0), 2);
    assert_int_equal(synap_q_mul_single(-3, 1 << 30, 0), -1);
    assert_int_equal(synap_q_mul_single(-5, 1 << 30, 0), -2);
    assert_int_equal(synap_q_mul_single(6, 1 << 30, -1), 2);   /* 1.5 */
    assert_int_equal(synap_q_mul_single(-6, 1 << 30, -1), -1); /* -1.5 */
    assert_int_equal(synap_q_mul_single(100, 1610612736, 2), 300);
    assert_int_equal(synap_q_mul_single(INT32_MAX, 1610612736, 2), INT32_MAX); /* saturates */
    assert_int_equal(synap_q_mul_single(INT32_MIN, 1 << 30, -31), 0);          /* -0.5 -> 0 */

    /* the int64 variant: 16-bit multiplier, one rounding shift */
    assert_int_equal(synap_q_mul64(1000, 1 << 30, 0), 500);
    assert_int_equal(synap_q_mul64(3, 1 << 30, 0), 2);   /* 1.5 -> 2 */
    assert_int_equal(synap_q_mul64(-3, 1 << 30, 0), -1); /* -1.5 -> -1: rounds up */
    assert_int_equal(synap_q_mul64((int64_t)1 << 40, 1 << 30, -10), 1 << 29);

    /* TFLite's AffineQuantize rounds half away from zero (ONNX: to even) */
    assert_int_equal(synap_q_quantize(2.5f, 1.0f, 0, -128, 127), 3);
    assert_int_equal(synap_q_quantize(-2.5f, 1.0f, 0, -128, 127), -3);
    assert_int_equal(synap_q_quantize(1000.0f, 1.0f, 0, -128, 127), 127);
    assert_int_equal(synap_q_quantize(NAN, 1.0f, 5, -128, 127), 5);
}

/* ---- a graph harness ------------------------------------------------------- */

struct qg {
    struct synap_graph *g;
    struct synap_err err;
};

static size_t elems(int rank, const int64_t *dims)
{
    return (size_t)synap_shape_nelem(rank, dims);
}

/* A tensor: constant when data != NULL; quantized per tensor when scale > 0. */
static uint32_t qt(struct qg *q, enum synap_dtype t, int rank, const int64_t *dims,
                   const void *data, float scale, int32_t zp)
{
    char name[32];
    snprintf(name, sizeof name, "t%zu", q->g->ntensors);
    uint32_t i = data ? synap_graph_add_const(q->g, name, t, rank, dims, data,
                                              elems(rank, dims) * synap_dtype_size(t))
                      : synap_graph_add_tensor(q->g, name, t, rank, dims);
    if (scale > 0) gh_set_quant(q->g, i, 1, &scale, &zp, -1);
    return i;
}

static struct synap_node *qnode(struct qg *q, enum synap_op op, size_t nin, const uint32_t *in,
                                uint32_t out)
{
    struct synap_node *n = synap_graph_add_node(q->g, "n", op, nin, 1);
    memcpy(n->inputs, in, nin * sizeof *in);
    n->outputs[0] = out;
    return n;
}

/* Infers every node, runs the graph at 1 and 3 threads, checks both runs
 * agree bit for bit and copies tensor `out` (dtype/dims in *v). Returns -1
 * with q->err when inference or the run fails. */
static int qrun(struct qg *q, uint32_t out, void *result, size_t cap)
{
    for (size_t i = 0; i < q->g->nnodes; i++)
        if (synap_graph_infer_node(q->g, i, false, &q->err) < 0) return -1;
    const struct synap_tensor *t = &q->g->tensors[out];
    size_t nb = elems(t->rank, t->dims) * synap_dtype_size(t->dtype);
    assert_true(nb <= cap);
    void *first = malloc(nb ? nb : 1);
    for (int th = 1; th <= 3; th += 2) {
        struct synap_plan_opts o = {.nthreads = th};
        struct synap_plan *p = synap_plan_new(q->g, &o, &q->err);
        if (!p) {
            free(first);
            return -1;
        }
        if (synap_plan_run(p, &q->err) < 0) {
            synap_plan_free(p);
            free(first);
            return -1;
        }
        const struct synap_value *v = synap_plan_tensor(p, out);
        assert_non_null(v);
        if (th == 1)
            memcpy(first, v->data, nb);
        else
            assert_memory_equal(first, v->data, nb);
        synap_plan_free(p);
    }
    memcpy(result, first, nb);
    free(first);
    return 0;
}

static void qg_new(struct qg *q)
{
    memset(q, 0, sizeof *q);
    q->g = synap_graph_new();
}

/* ---- random data and the float reference ---------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int32_t rnd(int32_t lo, int32_t hi)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int32_t)((rng >> 33) % (uint64_t)(hi - lo + 1));
}

static void fill(enum synap_dtype t, void *p, size_t n, int32_t lo, int32_t hi)
{
    for (size_t i = 0; i < n; i++)
        synap_q_store(t, p, (int64_t)i, rnd(lo, hi));
}

static double deq(enum synap_dtype t, const void *p, size_t i, float s, int32_t zp)
{
    return (double)s * (synap_q_load(t, p, (int64_t)i) - zp);
}

static int32_t qref(double x, float s, int32_t zp, enum synap_dtype t)
{
    int32_t lo, hi;
    synap_q_range(t, &lo, &hi);
    double r = round(x / s) + zp;
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

/* ONE LSB: every element within 1 of the float reference. */
static void within_one_lsb(enum synap_dtype t, const void *got, const int32_t *ref, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t g = synap_q_load(t, got, (int64_t)i);
        if (abs(g - ref[i]) > 1) fail_msg("element %zu: got %d, float reference %d", i, g, ref[i]);
    }
}

/* ---- Conv ------------------------------------------------------------------ */

static void test_conv_golden_uint8(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, bd[1] = {1};
    uint8_t x[4] = {129, 125, 255, 0}, w[1] = {130}, y[4];
    int32_t b[1] = {4};
    uint32_t in[3] = {qt(&q, U8, 4, xd, x, 0.5f, 128), qt(&q, U8, 4, wd, w, 0.25f, 128),
                      qt(&q, I32, 1, bd, b, 0.125f, 0)};
    uint32_t out = qt(&q, U8, 4, xd, NULL, 0.5f, 200);
    qnode(&q, SYNAP_OP_CONV, 3, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    /* acc = (x-128)*2 + 4 = {6, -2, 258, -252}; * 0.25 = {1.5, -0.5, 64.5, -63}
     * rounds half away = {2, -1, 65, -63}; + 200 saturates at 255 */
    uint8_t want[4] = {202, 199, 255, 137};
    assert_memory_equal(y, want, 4);
    synap_graph_free(q.g);
}

static void test_conv_golden_depthwise_per_channel(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[4] = {1, 2, 1, 1}, wd[4] = {2, 1, 1, 1};
    int8_t x[2] = {10, -7}, w[2] = {3, 5}, y[2];
    uint32_t xi = qt(&q, I8, 4, xd, x, 1.0f, -1), wi = qt(&q, I8, 4, wd, w, 0, 0);
    float ws[2] = {0.5f, 0.25f};
    int32_t wz[2] = {0, 0};
    gh_set_quant(q.g, wi, 2, ws, wz, 0);
    uint32_t out = qt(&q, I8, 4, xd, NULL, 1.0f, 0), in[2] = {xi, wi};
    struct synap_node *n = qnode(&q, SYNAP_OP_CONV, 2, in, out);
    synap_node_set_int(q.g, n, "group", 2);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    /* 11 * 3 * 0.5 = 16.5 -> 17; -6 * 5 * 0.25 = -7.5 -> -8 */
    int8_t want[2] = {17, -8};
    assert_memory_equal(y, want, 2);
    synap_graph_free(q.g);
}

/* Random Conv / ConvTranspose against the double reference. 2-D, NCHW. */
static void conv_random(enum synap_dtype xt, enum synap_dtype wt, int perch, int transpose,
                        int64_t group, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                        int64_t pad, enum synap_dtype bt)
{
    struct qg q;
    qg_new(&q);
    int64_t H = 7, W = 6;
    int64_t xd[4] = {2, cin, H, W};
    int64_t wd[4] = {transpose ? cin : cout, transpose ? cout / group : cin / group, k, k};
    size_t nx = elems(4, xd), nw = elems(4, wd);
    void *x = malloc(nx * 2), *w = malloc(nw), *b = malloc((size_t)cout * 8);
    int32_t xlo, xhi;
    synap_q_range(xt, &xlo, &xhi);
    if (xt == I16) xlo = -3000, xhi = 3000;
    fill(xt, x, nx, xlo, xhi);
    fill(wt, w, nw, wt == U8 ? 0 : -127, wt == U8 ? 255 : 127);
    float sx = xt == I16 ? 0.001f : 0.05f, sy = transpose ? 0.3f : 0.25f;
    int32_t zx = xt == U8 ? 120 : xt == I8 ? -5 : 0, zy = xt == U8 ? 128 : xt == I8 ? 3 : 0;
    if (xt == I16) sy = 0.004f;
    int64_t nsc = perch ? (transpose ? cout / group : cout) : 1;
    float ws[64];
    int32_t wz[64];
    for (int64_t i = 0; i < nsc; i++) {
        ws[i] = 0.002f + 0.001f * (float)i;
        wz[i] = wt == U8 ? 130 : 0;
    }
    for (int64_t i = 0; i < cout; i++) {
        if (bt == I64)
            ((int64_t *)b)[i] = rnd(-20000, 20000);
        else
            ((int32_t *)b)[i] = rnd(-2000, 2000);
    }
    uint32_t xi = qt(&q, xt, 4, xd, x, sx, zx), wi = qt(&q, wt, 4, wd, w, 0, 0);
    gh_set_quant(q.g, wi, (size_t)nsc, ws, wz, transpose ? 1 : 0);
    int64_t bd[1] = {cout};
    uint32_t bi = qt(&q, bt, 1, bd, b, 0, 0);
    uint32_t out = synap_graph_add_tensor(q.g, "y", xt, 0, NULL);
    gh_set_quant(q.g, out, 1, &sy, &zy, -1);
    uint32_t in[3] = {xi, wi, bi};
    struct synap_node *n =
        qnode(&q, transpose ? SYNAP_OP_CONV_TRANSPOSE : SYNAP_OP_CONV, 3, in, out);
    int64_t strides[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    synap_node_set_ints(q.g, n, "strides", strides, 2);
    synap_node_set_ints(q.g, n, "pads", pads, 4);
    synap_node_set_int(q.g, n, "group", group);
    static char ybuf[1 << 16];
    assert_int_equal(qrun(&q, out, ybuf, sizeof ybuf), 0);
    const struct synap_tensor *yt = &q.g->tensors[out];
    int64_t OH = yt->dims[2], OW = yt->dims[3];
    size_t ny = elems(4, yt->dims);
    int32_t *ref = malloc(ny * sizeof *ref);
    int64_t cg = cin / group, mg = cout / group;
    for (int64_t nb = 0; nb < 2; nb++)
        for (int64_t m = 0; m < cout; m++) {
            int64_t g = m / mg, mo = m % mg, sc = perch ? (transpose ? mo : m) : 0;
            double bias = (bt == I64 ? (double)((int64_t *)b)[m] : (double)((int32_t *)b)[m]) *
                          (double)sx * ws[sc];
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = bias;
                    for (int64_t ch = 0; ch < cg; ch++) {
                        int64_t ci = g * cg + ch;
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy, ix;
                                if (!transpose) {
                                    iy = oy * stride - pad + ky;
                                    ix = ox * stride - pad + kx;
                                } else {
                                    int64_t ny_ = oy + pad - ky, nx_ = ox + pad - kx;
                                    if (ny_ < 0 || nx_ < 0 || ny_ % stride || nx_ % stride)
                                        continue;
                                    iy = ny_ / stride;
                                    ix = nx_ / stride;
                                }
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t xo = (size_t)(((nb * cin + ci) * H + iy) * W + ix);
                                size_t wo = transpose ? (size_t)(((ci * mg + mo) * k + ky) * k + kx)
                                                      : (size_t)(((m * cg + ch) * k + ky) * k + kx);
                                acc += deq(xt, x, xo, sx, zx) * deq(wt, w, wo, ws[sc], wz[sc]);
                            }
                    }
                    ref[((nb * cout + m) * OH + oy) * OW + ox] = qref(acc, sy, zy, xt);
                }
        }
    within_one_lsb(xt, ybuf, ref, ny);
    free(ref);
    free(x);
    free(w);
    free(b);
    synap_graph_free(q.g);
}

static void test_conv_random(void **state)
{
    (void)state;
    conv_random(U8, U8, 0, 0, 1, 3, 4, 3, 2, 1, I32);  /* legacy uint8, strided, padded */
    conv_random(I8, I8, 1, 0, 1, 3, 5, 3, 1, 1, I32);  /* int8 per-channel */
    conv_random(I8, I8, 1, 0, 4, 4, 4, 3, 1, 1, I32);  /* depthwise */
    conv_random(I8, I8, 1, 0, 2, 4, 6, 1, 1, 0, I32);  /* grouped pointwise */
    conv_random(I16, I8, 1, 0, 1, 3, 4, 3, 1, 1, I64); /* int16 x int8, int64 bias */
    conv_random(I8, I8, 0, 1, 1, 3, 2, 3, 2, 1, I32);  /* ConvTranspose per tensor */
    conv_random(I8, I8, 1, 1, 1, 2, 3, 2, 2, 0, I32);  /* ConvTranspose per channel */
    conv_random(U8, U8, 0, 1, 1, 2, 2, 3, 1, 1, I32);  /* ConvTranspose uint8 */
}

/* ---- Gemm / MatMul (FULLY_CONNECTED) ----------------------------------------- */

static void fc_random(enum synap_dtype xt, int gemm, int perch)
{
    struct qg q;
    qg_new(&q);
    int64_t M = 5, K = 17, N = 6;
    int64_t xd[2] = {M, K}, wd[2] = {gemm ? N : K, gemm ? K : N}, bd[1] = {N};
    void *x = malloc((size_t)(M * K) * 2);
    int8_t *w = malloc((size_t)(K * N));
    int32_t b[6];
    int32_t lo, hi;
    synap_q_range(xt, &lo, &hi);
    if (xt == I16) lo = -5000, hi = 5000;
    fill(xt, x, (size_t)(M * K), lo, hi);
    fill(xt == U8 ? U8 : I8, w, (size_t)(K * N), xt == U8 ? 0 : -127, xt == U8 ? 255 : 127);
    for (int i = 0; i < N; i++)
        b[i] = rnd(-3000, 3000);
    enum synap_dtype wt = xt == U8 ? U8 : I8;
    float sx = xt == I16 ? 0.002f : 0.03f, sy = xt == I16 ? 0.01f : 0.2f, ws[6];
    int32_t zx = xt == U8 ? 100 : xt == I8 ? 7 : 0, zy = xt == U8 ? 140 : xt == I8 ? -9 : 0, wz[6];
    for (int i = 0; i < N; i++) {
        ws[i] = perch ? 0.004f + 0.001f * (float)i : 0.005f;
        wz[i] = wt == U8 ? 127 : 0;
    }
    uint32_t xi = qt(&q, xt, 2, xd, x, sx, zx), wi = qt(&q, wt, 2, wd, w, 0, 0);
    gh_set_quant(q.g, wi, perch ? (size_t)N : 1, ws, wz, gemm ? 0 : 1);
    uint32_t bi = qt(&q, I32, 1, bd, b, 0, 0);
    uint32_t out = synap_graph_add_tensor(q.g, "y", xt, 0, NULL);
    gh_set_quant(q.g, out, 1, &sy, &zy, -1);
    uint32_t in[3] = {xi, wi, bi};
    struct synap_node *n = qnode(&q, gemm ? SYNAP_OP_GEMM : SYNAP_OP_MATMUL, gemm ? 3 : 2, in, out);
    if (gemm) synap_node_set_int(q.g, n, "transB", 1);
    char y[256];
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[30];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            size_t sc = perch ? (size_t)j : 0;
            double acc = gemm ? (double)b[j] * sx * ws[sc] : 0;
            for (int64_t t = 0; t < K; t++)
                acc += deq(xt, x, (size_t)(i * K + t), sx, zx) *
                       deq(wt, w, (size_t)(gemm ? j * K + t : t * N + j), ws[sc], wz[sc]);
            ref[i * N + j] = qref(acc, sy, zy, xt);
        }
    within_one_lsb(xt, y, ref, (size_t)(M * N));
    free(x);
    free(w);
    synap_graph_free(q.g);
}

static void test_fc_random(void **state)
{
    (void)state;
    fc_random(U8, 1, 0);
    fc_random(I8, 1, 1);
    fc_random(I8, 0, 1);
    fc_random(I16, 1, 1);
    fc_random(I8, 0, 0);
}

/* ---- Add / Sub / Mul ----------------------------------------------------------- */

static void binary_random(enum synap_op op, enum synap_dtype t)
{
    struct qg q;
    qg_new(&q);
    int64_t ad[3] = {2, 3, 4}, bd[2] = {1, 4};
    char a[48], b[8], y[48];
    int32_t lo, hi;
    synap_q_range(t, &lo, &hi);
    fill(t, a, 24, lo, hi);
    fill(t, b, 4, lo, hi);
    float sa = 0.07f, sb = 0.03f, sy = op == SYNAP_OP_MUL ? 0.5f : 0.1f;
    int32_t za = t == U8 ? 128 : t == I8 ? 5 : 0, zb = t == U8 ? 100 : t == I8 ? -20 : 0;
    int32_t zy = t == U8 ? 120 : t == I8 ? -3 : 0;
    if (t == I16) sa = 0.0007f, sb = 0.0003f, sy = op == SYNAP_OP_MUL ? 0.5f : 0.001f;
    uint32_t in[2] = {qt(&q, t, 3, ad, a, sa, za), qt(&q, t, 2, bd, b, sb, zb)};
    uint32_t out = qt(&q, t, 3, ad, NULL, sy, zy);
    qnode(&q, op, 2, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[24];
    for (int i = 0; i < 24; i++) {
        double x1 = deq(t, a, (size_t)i, sa, za), x2 = deq(t, b, (size_t)(i % 4), sb, zb);
        double r = op == SYNAP_OP_ADD ? x1 + x2 : op == SYNAP_OP_SUB ? x1 - x2 : x1 * x2;
        ref[i] = qref(r, sy, zy, t);
    }
    within_one_lsb(t, y, ref, 24);
    synap_graph_free(q.g);
}

static void test_binary_random(void **state)
{
    (void)state;
    enum synap_dtype ts[3] = {U8, I8, I16};
    enum synap_op ops[3] = {SYNAP_OP_ADD, SYNAP_OP_SUB, SYNAP_OP_MUL};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            binary_random(ops[j], ts[i]);
}

static void test_add_golden(void **state)
{
    (void)state;
    /* equal scales 1.0, zero points 0: plain saturating integer addition */
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {4};
    int8_t a[4] = {100, -100, 3, -3}, b[4] = {100, -100, 4, -4}, y[4];
    uint32_t in[2] = {qt(&q, I8, 1, d, a, 1.0f, 0), qt(&q, I8, 1, d, b, 1.0f, 0)};
    uint32_t out = qt(&q, I8, 1, d, NULL, 2.0f, 0);
    qnode(&q, SYNAP_OP_ADD, 2, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    /* (200, -200, 7, -7) / 2 = 100, -100, 3.5 -> 4, -3.5 -> -4 */
    int8_t want[4] = {100, -100, 4, -4};
    assert_memory_equal(y, want, 4);
    synap_graph_free(q.g);
}

/* ---- pooling and mean ------------------------------------------------------------ */

static void test_pool_golden_and_random(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[4] = {1, 1, 1, 4}, yd[4] = {1, 1, 1, 2};
    int8_t x[4] = {1, 2, -1, -2}, y[2];
    uint32_t xi = qt(&q, I8, 4, xd, x, 0.1f, 0), out = qt(&q, I8, 4, yd, NULL, 0.1f, 0);
    struct synap_node *n = qnode(&q, SYNAP_OP_AVERAGE_POOL, 1, &xi, out);
    int64_t ks[2] = {1, 2};
    synap_node_set_ints(q.g, n, "kernel_shape", ks, 2);
    synap_node_set_ints(q.g, n, "strides", ks, 2);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int8_t want[2] = {2, -2}; /* 1.5 -> 2, -1.5 -> -2 (TFLite rounds away) */
    assert_memory_equal(y, want, 2);
    synap_graph_free(q.g);

    for (int kind = 0; kind < 3; kind++) {
        qg_new(&q);
        int64_t d[4] = {2, 3, 7, 5};
        int8_t xs[210], ys[210];
        fill(I8, xs, 210, -128, 127);
        xi = qt(&q, I8, 4, d, xs, 0.05f, -4);
        out = synap_graph_add_tensor(q.g, "y", I8, 0, NULL);
        float s = 0.05f;
        int32_t z = -4;
        gh_set_quant(q.g, out, 1, &s, &z, -1);
        enum synap_op op = kind == 0   ? SYNAP_OP_MAX_POOL
                           : kind == 1 ? SYNAP_OP_AVERAGE_POOL
                                       : SYNAP_OP_GLOBAL_AVERAGE_POOL;
        n = qnode(&q, op, 1, &xi, out);
        int64_t k3[2] = {3, 3}, st[2] = {2, 2}, pd[4] = {1, 1, 1, 1};
        if (kind < 2) {
            synap_node_set_ints(q.g, n, "kernel_shape", k3, 2);
            synap_node_set_ints(q.g, n, "strides", st, 2);
            synap_node_set_ints(q.g, n, "pads", pd, 4);
        }
        assert_int_equal(qrun(&q, out, ys, sizeof ys), 0);
        const struct synap_tensor *yt = &q.g->tensors[out];
        int64_t OH = yt->dims[2], OW = yt->dims[3];
        int32_t ref[210];
        for (int64_t p = 0; p < 6; p++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = 0, mx = -1e30;
                    int cnt = 0;
                    int64_t y0 = kind < 2 ? oy * 2 - 1 : 0, x0 = kind < 2 ? ox * 2 - 1 : 0;
                    int64_t kh = kind < 2 ? 3 : 7, kw = kind < 2 ? 3 : 5;
                    for (int64_t ky = 0; ky < kh; ky++)
                        for (int64_t kx = 0; kx < kw; kx++) {
                            int64_t iy = y0 + ky, ix = x0 + kx;
                            if (iy < 0 || iy >= 7 || ix < 0 || ix >= 5) continue;
                            double v = deq(I8, xs, (size_t)((p * 7 + iy) * 5 + ix), s, z);
                            acc += v;
                            mx = v > mx ? v : mx;
                            cnt++;
                        }
                    ref[(p * OH + oy) * OW + ox] = qref(kind == 0 ? mx : acc / cnt, s, z, I8);
                }
        within_one_lsb(I8, ys, ref, elems(4, yt->dims));
        synap_graph_free(q.g);
    }
}

/* ReduceMean over H, W and GlobalAveragePool with output parameters of
 * their own: within 1 LSB of float-then-quantize, and the two give the same
 * integers (one rule). */
static void test_mean_random(void **state)
{
    (void)state;
    enum synap_dtype ts[3] = {U8, I8, I16};
    char prev[12], x[240];
    for (int k = 0; k < 6; k++) {
        enum synap_dtype t = ts[k / 2];
        bool gap = k % 2;
        struct qg q;
        qg_new(&q);
        int64_t d[4] = {2, 3, 4, 5}, od[4] = {2, 3, 1, 1};
        char y[12];
        int32_t lo, hi;
        synap_q_range(t, &lo, &hi);
        if (!gap) fill(t, x, 120, lo, hi);
        float si = 0.02f, so = 0.01f;
        int32_t zi = t == U8 ? 128 : t == I8 ? 10 : 0, zo = t == U8 ? 120 : t == I8 ? -10 : 0;
        if (t == I16) si = 0.0002f, so = 0.0001f;
        uint32_t xi = qt(&q, t, 4, d, x, si, zi), out = qt(&q, t, 4, od, NULL, so, zo);
        struct synap_node *n =
            qnode(&q, gap ? SYNAP_OP_GLOBAL_AVERAGE_POOL : SYNAP_OP_REDUCE_MEAN, 1, &xi, out);
        int64_t axes[2] = {2, 3};
        if (!gap) synap_node_set_ints(q.g, n, "axes", axes, 2);
        assert_int_equal(qrun(&q, out, y, sizeof y), 0);
        if (gap)
            assert_memory_equal(y, prev, 6 * synap_dtype_size(t));
        else
            memcpy(prev, y, sizeof prev);
        int32_t ref[6];
        for (int p = 0; p < 6; p++) {
            double acc = 0;
            for (int i = 0; i < 20; i++)
                acc += deq(t, x, (size_t)(p * 20 + i), si, zi);
            ref[p] = qref(acc / 20, so, zo, t);
        }
        within_one_lsb(t, y, ref, 6);
        synap_graph_free(q.g);
    }
}

/* ---- activations ------------------------------------------------------------------ */

static double hswish(double x)
{
    double r = x + 3;
    r = r < 0 ? 0 : r > 6 ? 6 : r;
    return x * r / 6;
}

static void unary_random(enum synap_op op, enum synap_dtype t, float so, int32_t zo)
{
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {256};
    char x[512], y[512];
    int32_t lo, hi;
    synap_q_range(t, &lo, &hi);
    if (t == I16)
        fill(t, x, 256, -32768, 32767);
    else
        for (int i = 0; i < 256; i++) /* every 8-bit value once */
            synap_q_store(t, x, i, lo + i);
    float si = t == I16 ? 0.0003f : 0.06f;
    int32_t zi = t == U8 ? 130 : t == I8 ? -6 : 0;
    uint32_t xi = qt(&q, t, 1, d, x, si, zi), out = qt(&q, t, 1, d, NULL, so, zo);
    uint32_t in[3] = {xi, 0, 0};
    float clo = -1.0f, chi = 2.5f;
    int64_t sd[1] = {0};
    size_t nin = 1;
    if (op == SYNAP_OP_CLIP) {
        in[1] = qt(&q, F32, 0, sd, &clo, 0, 0);
        in[2] = qt(&q, F32, 0, sd, &chi, 0, 0);
        nin = 3;
    }
    struct synap_node *n = qnode(&q, op, nin, in, out);
    if (op == SYNAP_OP_LEAKY_RELU) synap_node_set_float(q.g, n, "alpha", 0.2f);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[256];
    for (int i = 0; i < 256; i++) {
        double v = deq(t, x, (size_t)i, si, zi), r;
        switch (op) {
        case SYNAP_OP_RELU:
            r = v > 0 ? v : 0;
            break;
        case SYNAP_OP_CLIP:
            r = v < clo ? clo : v > chi ? chi : v;
            break;
        case SYNAP_OP_LEAKY_RELU:
            r = v > 0 ? v : 0.2 * v;
            break;
        case SYNAP_OP_SIGMOID:
            r = 1 / (1 + exp(-v));
            break;
        case SYNAP_OP_TANH:
            r = tanh(v);
            break;
        case SYNAP_OP_HARD_SWISH:
            r = hswish(v);
            break;
        default:
            r = v;
            break;
        }
        ref[i] = qref(r, so, zo, t);
    }
    within_one_lsb(t, y, ref, 256);
    synap_graph_free(q.g);
}

static void test_unary_random(void **state)
{
    (void)state;
    enum synap_dtype ts[3] = {U8, I8, I16};
    for (int k = 0; k < 3; k++) {
        enum synap_dtype t = ts[k];
        int32_t zlo = t == U8 ? 0 : t == I8 ? -128 : 0, zmid = t == U8 ? 128 : 0;
        float s = t == I16 ? 0.0004f : 0.05f;
        unary_random(SYNAP_OP_IDENTITY, t, s, zmid);
        unary_random(SYNAP_OP_RELU, t, s, zlo);
        unary_random(SYNAP_OP_CLIP, t, s * 0.5f, zmid);
        unary_random(SYNAP_OP_LEAKY_RELU, t, s, zmid);
        unary_random(SYNAP_OP_SIGMOID, t, t == I16 ? 1.0f / 32768 : 1.0f / 256, zlo);
        unary_random(SYNAP_OP_TANH, t, t == I16 ? 1.0f / 32768 : 1.0f / 128, zmid);
        unary_random(SYNAP_OP_HARD_SWISH, t, t == I16 ? 0.0003f : 0.04f, zmid);
    }
}

/* ---- Div (TFLite's DIV), HardSigmoid and BatchNormalization --------------------- */

static void div_random(enum synap_dtype t, int const_divisor)
{
    struct qg q;
    qg_new(&q);
    int64_t ad[3] = {2, 3, 4}, bd[2] = {1, 4};
    char a[48], b[8], y[48];
    int32_t lo, hi;
    synap_q_range(t, &lo, &hi);
    fill(t, a, 24, lo, hi);
    float sa = 0.07f, sb = 0.03f, sy = 0.09f;
    int32_t za = t == U8 ? 128 : t == I8 ? 5 : 0, zb = t == U8 ? 10 : t == I8 ? -100 : 0;
    int32_t zy = t == U8 ? 120 : t == I8 ? -3 : 0;
    if (t == I16) sa = 0.0007f, sb = 0.0003f, sy = 0.0009f;
    /* divisors away from zero, both signs unless the zero point forbids */
    for (int i = 0; i < 4; i++) {
        int32_t v = rnd(lo, hi);
        if (abs(v - zb) < (t == I16 ? 3000 : 30))
            v = zb + (t == U8 ? 30 + i : (i & 1 ? 30 : -30) * (t == I16 ? 100 : 1));
        synap_q_store(t, b, i, v);
    }
    uint32_t in[2] = {qt(&q, t, 3, ad, a, sa, za),
                      qt(&q, t, 2, bd, const_divisor ? b : NULL, sb, zb)};
    uint32_t out = qt(&q, t, 3, ad, NULL, sy, zy);
    qnode(&q, SYNAP_OP_DIV, 2, in, out);
    if (!const_divisor) { /* feed the divisor through an Identity from a constant */
        uint32_t bc = qt(&q, t, 2, bd, b, sb, zb);
        qnode(&q, SYNAP_OP_IDENTITY, 1, &bc, in[1]);
        /* nodes run in order: move the Identity first */
        struct synap_node tmp = q.g->nodes[0];
        q.g->nodes[0] = q.g->nodes[1];
        q.g->nodes[1] = tmp;
    }
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[24];
    for (int i = 0; i < 24; i++) {
        double x1 = deq(t, a, (size_t)i, sa, za), x2 = deq(t, b, (size_t)(i % 4), sb, zb);
        ref[i] = qref(x1 / x2, sy, zy, t);
    }
    within_one_lsb(t, y, ref, 24);
    synap_graph_free(q.g);
}

static void test_div(void **state)
{
    (void)state;
    /* golden, int8, all scales 1, zero points 0. 7/2 = 3.5 -> 4 but -7/2 ->
     * -3: TFLite's reciprocal of 2 is a hair under 1/2, so the first doubling
     * high multiply rounds +7 back up but leaves -7 at -3.4999999963.
     * 100/-3 = -33.3 -> -33; 127/1 = 127; -128/-1 = 128 saturates to 127;
     * 5/0 and -5/0 saturate (+-inf), 0/0 gives the zero point (NaN). */
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {8};
    int8_t a[8] = {7, -7, 100, 127, -128, 5, -5, 0}, b[8] = {2, 2, -3, 1, -1, 0, 0, 0}, y[8];
    uint32_t in[2] = {qt(&q, I8, 1, d, a, 1.0f, 0), qt(&q, I8, 1, d, b, 1.0f, 0)};
    uint32_t out = qt(&q, I8, 1, d, NULL, 1.0f, 0);
    qnode(&q, SYNAP_OP_DIV, 2, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int8_t want[8] = {4, -3, -33, 127, 127, 127, -128, 0};
    assert_memory_equal(y, want, 8);
    synap_graph_free(q.g);

    /* golden, uint8 by a constant 6 (PP-OCR's x / 6): scales 0.1 / (6/255)
     * / 0.02, zero points 0: q/6 * 0.1 / 0.02 = 5q/6 */
    qg_new(&q);
    int64_t d4[1] = {4}, d0[1] = {1};
    uint8_t x[4] = {0, 3, 6, 255}, six = 255, yu[4];
    uint32_t in2[2] = {qt(&q, U8, 1, d4, x, 0.1f, 0), qt(&q, U8, 1, d0, &six, 6.0f / 255, 0)};
    out = qt(&q, U8, 1, d4, NULL, 0.02f, 0);
    qnode(&q, SYNAP_OP_DIV, 2, in2, out);
    assert_int_equal(qrun(&q, out, yu, sizeof yu), 0);
    uint8_t wantu[4] = {0, 3, 5, 213}; /* 2.5 -> 3, 5, 212.5 -> 213 */
    assert_memory_equal(yu, wantu, 4);
    synap_graph_free(q.g);

    enum synap_dtype ts[3] = {U8, I8, I16};
    for (int i = 0; i < 3; i++) {
        div_random(ts[i], 1);
        div_random(ts[i], 0);
    }
}

static void hsig_run(enum synap_dtype t, float si, int32_t zi, float so, int32_t zo, const void *x,
                     size_t n, void *y, float alpha, float beta)
{
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {(int64_t)n};
    uint32_t xi = qt(&q, t, 1, d, x, si, zi), out = qt(&q, t, 1, d, NULL, so, zo);
    struct synap_node *nd = qnode(&q, SYNAP_OP_HARD_SIGMOID, 1, &xi, out);
    synap_node_set_float(q.g, nd, "alpha", alpha);
    synap_node_set_float(q.g, nd, "beta", beta);
    assert_int_equal(qrun(&q, out, y, 1024), 0);
    synap_graph_free(q.g);
}

static void test_hard_sigmoid(void **state)
{
    (void)state;
    /* golden, int8, s_in 0.25, s_out 1/256 zp -128, ONNX's defaults
     * (0.2, 0.5): x = -4 -> 0.5 - 0.8 < 0 -> -128; x = 0 -> 0.5 -> 0;
     * x = 0.25 -> 0.55 * 256 = 140.8 -> 141 - 128 = 13; x = 2.5 -> 1.0 -> 256
     * saturates 127; x = -0.5 -> 0.4 * 256 = 102.4 -> -26 */
    int8_t x[5] = {-16, 0, 1, 10, -2}, y[1024];
    hsig_run(I8, 0.25f, 0, 1.0f / 256, -128, x, 5, y, 0.2f, 0.5f);
    int8_t want[5] = {-128, 0, 13, 127, -26};
    assert_memory_equal(y, want, 5);
    /* PP-OCR's HardSigmoid(alpha 1/6): uint8, 1/6 * 0.5 + 0.5 on s_out 1/255 */
    uint8_t xu[2] = {1, 200}, yu[1024];
    hsig_run(U8, 0.5f, 0, 1.0f / 255, 0, xu, 2, yu, 1.0f / 6, 0.5f);
    /* 0.5/6 + 0.5 = 0.58333 * 255 = 148.75 -> 149; 100/6 + .5 > 1 -> 255 */
    assert_int_equal(yu[0], 149);
    assert_int_equal(yu[1], 255);

    /* every 8-bit value, and random int16, against float-then-quantize */
    enum synap_dtype ts[3] = {U8, I8, I16};
    for (int k = 0; k < 3; k++) {
        enum synap_dtype t = ts[k];
        char xs[512], ys[1024];
        int32_t lo, hi;
        synap_q_range(t, &lo, &hi);
        if (t == I16)
            fill(t, xs, 256, -32768, 32767);
        else
            for (int i = 0; i < 256; i++)
                synap_q_store(t, xs, i, lo + i);
        float si = t == I16 ? 0.0003f : 0.06f, so = t == I16 ? 1.0f / 40000 : 1.0f / 200;
        int32_t zi = t == U8 ? 130 : t == I8 ? -6 : 0, zo = t == U8 ? 20 : t == I8 ? -100 : -20000;
        hsig_run(t, si, zi, so, zo, xs, 256, ys, 1.0f / 6, 0.5f);
        int32_t ref[256];
        for (int i = 0; i < 256; i++) {
            double v = deq(t, xs, (size_t)i, si, zi) / 6 + 0.5;
            ref[i] = qref(v < 0 ? 0 : v > 1 ? 1 : v, so, zo, t);
        }
        within_one_lsb(t, ys, ref, 256);
    }
}

static void bn_case(enum synap_dtype t, int64_t nb, const void *x, float si, int32_t zi, float so,
                    int32_t zo, const float *sc, const float *bb, const float *mean,
                    const float *var, void *y)
{
    struct qg q;
    qg_new(&q);
    int64_t d[4] = {nb, 3, 2, 5}, pd[1] = {3};
    uint32_t in[5] = {qt(&q, t, 4, d, x, si, zi), qt(&q, F32, 1, pd, sc, 0, 0),
                      qt(&q, F32, 1, pd, bb, 0, 0), qt(&q, F32, 1, pd, mean, 0, 0),
                      qt(&q, F32, 1, pd, var, 0, 0)};
    uint32_t out = qt(&q, t, 4, d, NULL, so, zo);
    struct synap_node *n = qnode(&q, SYNAP_OP_BATCH_NORMALIZATION, 5, in, out);
    synap_node_set_float(q.g, n, "epsilon", 1e-3f);
    assert_int_equal(qrun(&q, out, y, 1024), 0);
    synap_graph_free(q.g);
}

static void test_batchnorm(void **state)
{
    (void)state;
    /* golden, int8, scales 1 in and 0.5 out, zero points 0 and 1, eps 1e-3:
     * channel 0 a = 2/sqrt(1) (var 0.999), b = 1 - 0*2: y = 2x + 1;
     * channel 1 a = -1 (var 3.999, scale -2), b = 0.5 - 1*(-1) = 1.5: y = 1.5 - x;
     * channel 2 a = 0.5 (var 15.999), b = 0: y = x/2. Output q = 2y + 1. */
    float sc[3] = {2, -2, 2}, bb[3] = {1, 0.5f, 0}, mean[3] = {0, 1, 0},
          var[3] = {0.999f, 3.999f, 15.999f};
    int8_t x[30], y[1024];
    for (int i = 0; i < 30; i++)
        x[i] = (int8_t)(i % 10 * 7 - 30); /* -30 .. 33 */
    bn_case(I8, 1, x, 1.0f, 0, 0.5f, 1, sc, bb, mean, var, y);
    for (int i = 0; i < 30; i++) {
        int c = i / 10;
        double v = x[i], yv = c == 0 ? 2 * v + 1 : c == 1 ? 1.5 - v : v / 2;
        double r = round(2 * yv) + 1; /* exact halves occur only on channel 2 */
        int32_t want = r > 127 ? 127 : r < -128 ? -128 : (int32_t)r;
        if (abs(y[i] - want) > 0) {
            /* parameters are float32: var 0.999 + 1e-3 is not exactly 1 */
            double a = (double)sc[c] / sqrt((double)var[c] + (double)1e-3f);
            double b = (double)bb[c] - (double)mean[c] * a;
            fail_msg("element %d: got %d, want %d (a %.9g b %.9g)", i, y[i], want, a, b);
        }
    }
    /* random data, every type, two images, against float-then-quantize */
    enum synap_dtype ts[3] = {U8, I8, I16};
    for (int k = 0; k < 3; k++) {
        enum synap_dtype t = ts[k];
        char xs[120], ys[1024];
        int32_t lo, hi;
        synap_q_range(t, &lo, &hi);
        fill(t, xs, 60, lo, hi);
        float si = t == I16 ? 0.0005f : 0.05f, so = t == I16 ? 0.0007f : 0.07f;
        int32_t zi = t == U8 ? 120 : t == I8 ? 7 : 0, zo = t == U8 ? 100 : t == I8 ? -10 : 0;
        float rsc[3] = {0.8f, -1.3f, 0.05f}, rb[3] = {0.3f, -0.2f, 1.1f},
              rm[3] = {0.1f, -0.4f, 2.0f}, rv[3] = {0.5f, 2.0f, 0.01f};
        if (t == I16)
            for (int c = 0; c < 3; c++)
                rb[c] *= 0.01f, rm[c] *= 0.01f;
        bn_case(t, 2, xs, si, zi, so, zo, rsc, rb, rm, rv, ys);
        int32_t ref[60];
        for (int i = 0; i < 60; i++) {
            int c = i / 10 % 3;
            double a = (double)rsc[c] / sqrt((double)rv[c] + (double)1e-3f);
            double v = (deq(t, xs, (size_t)i, si, zi) - rm[c]) * a + rb[c];
            ref[i] = qref(v, so, zo, t);
        }
        within_one_lsb(t, ys, ref, 60);
    }
}

/* ---- Softmax ------------------------------------------------------------------------- */

static void test_softmax_random(void **state)
{
    (void)state;
    /* uint8 and int8 in and out; int8 in, int16 out (1/65536, zp -32768:
     * TFLite's reference Softmax with OutputT = int16_t, the keyword models'
     * last layer) */
    enum synap_dtype ts[3] = {U8, I8, I8}, tos[3] = {U8, I8, I16};
    for (int k = 0; k < 3; k++) {
        enum synap_dtype t = ts[k], to = tos[k];
        float so = to == I16 ? 1.0f / 65536 : 1.0f / 256;
        for (int axis = 0; axis < 2; axis++) {
            struct qg q;
            qg_new(&q);
            int64_t d[2] = {6, 10};
            char x[60], y[120];
            int32_t lo, hi, zo;
            synap_q_range(to, &lo, &hi);
            zo = lo;
            synap_q_range(t, &lo, &hi);
            fill(t, x, 60, lo, hi);
            float si = 0.04f + 0.03f * (float)axis;
            int32_t zi = t == U8 ? 128 : 0;
            uint32_t xi = qt(&q, t, 2, d, x, si, zi), out = qt(&q, to, 2, d, NULL, so, zo);
            struct synap_node *n = qnode(&q, SYNAP_OP_SOFTMAX, 1, &xi, out);
            synap_node_set_int(q.g, n, "axis", axis);
            assert_int_equal(qrun(&q, out, y, sizeof y), 0);
            int32_t ref[60];
            int64_t outer = axis ? 6 : 1, depth = d[axis], inner = axis ? 1 : 10;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t in = 0; in < inner; in++) {
                    double mx = -1e30, sum = 0;
                    for (int64_t j = 0; j < depth; j++) {
                        double v = deq(t, x, (size_t)(o * depth * inner + j * inner + in), si, zi);
                        mx = v > mx ? v : mx;
                    }
                    for (int64_t j = 0; j < depth; j++)
                        sum += exp(deq(t, x, (size_t)(o * depth * inner + j * inner + in), si, zi) -
                                   mx);
                    for (int64_t j = 0; j < depth; j++) {
                        size_t at = (size_t)(o * depth * inner + j * inner + in);
                        ref[at] = qref(exp(deq(t, x, at, si, zi) - mx) / sum, so, zo, to);
                    }
                }
            within_one_lsb(to, y, ref, 60);
            synap_graph_free(q.g);
        }
    }
}

/* int16 Softmax: TFLite's SoftmaxInt16 (exp and 1/(1 + x) tables). One
 * row of `n` int16 values on scale si, axis 1 of [1, n] (or axis 0 of
 * [n, 1] when `column`), output int16 on 1/32768, zero point 0. */
static int softmax16(const int16_t *x, int64_t n, float si, int column, int16_t *y,
                     struct synap_err *err)
{
    struct qg q;
    qg_new(&q);
    int64_t d[2] = {column ? n : 1, column ? 1 : n};
    uint32_t xi = qt(&q, I16, 2, d, x, si, 0), out = qt(&q, I16, 2, d, NULL, 1.0f / 32768, 0);
    struct synap_node *nd = qnode(&q, SYNAP_OP_SOFTMAX, 1, &xi, out);
    synap_node_set_int(q.g, nd, "axis", column ? 0 : 1);
    int r = qrun(&q, out, y, (size_t)n * sizeof *y);
    if (err) *err = q.err;
    synap_graph_free(q.g);
    return r;
}

/* Golden vectors from tests/data/softmax_int16/gen.py (an independent numpy
 * transcription of TFLite's int16 algorithm): exact. They include elements
 * beyond TFLite's -10 table range (which read exp(-10) ~ 2/32768, hence the
 * 1s and 2s where float softmax gives 0) and a uniform row (32768 / 5). */
static void test_softmax_int16_golden(void **state)
{
    (void)state;
    static const struct {
        float si;
        int n;
        int16_t x[12], y[12];
    } g[] = {
        {0.001f,
         8,
         {6825, 15598, -30599, 581, 17729, 635, 4548, -16003},
         {2, 3476, 2, 2, 29282, 2, 2, 2}},
        {1.0f / 4096,
         10,
         {1984, 3440, -168, 18202, 17266, -14252, 2688, 7713, -12033, 42},
         {318, 454, 188, 16667, 13262, 6, 377, 1288, 11, 198}},
        {3e-5f,
         12,
         {29090, 30708, -31026, -11683, 20685, -4224, -19355, 31516, 796, -27534, 3515, -32020},
         {5287, 5550, 871, 1556, 4108, 1946, 1236, 5686, 2262, 967, 2455, 845}},
        {0.0005f, 5, {100, 100, 100, 100, 100}, {6554, 6554, 6554, 6554, 6554}},
        {0.01f, 6, {-32768, 32767, 32700, 32767, 0, 32760}, {1, 9514, 4869, 9514, 1, 8871}},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++)
        for (int column = 0; column < 2; column++) {
            int16_t y[12];
            assert_int_equal(softmax16(g[k].x, g[k].n, g[k].si, column, y, NULL), 0);
            for (int i = 0; i < g[k].n; i++)
                if (y[i] != g[k].y[i])
                    fail_msg("case %zu (column %d) element %d: got %d, golden %d", k, column, i,
                             y[i], g[k].y[i]);
        }
}

/* Against float softmax quantized on 1/32768, for rows whose differences
 * from the row maximum stay inside TFLite's exp table range [-10, 0]:
 * TOLERANCE 2 LSB (not 1: the exp and the reciprocal each come from a
 * linearly interpolated 513-entry table, each about 1 LSB off; gen.py's
 * survey of random rows finds at most 2). Beyond -10 TFLite reads exp(-10)
 * (the goldens above cover that). */
static void test_softmax_int16_random(void **state)
{
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        int n = rnd(2, 40);
        float si = 1e-5f * (float)rnd(1, 15); /* 65535 s_in <= 10 */
        int16_t x[40], y[40];
        fill(I16, x, (size_t)n, INT16_MIN, INT16_MAX);
        assert_int_equal(softmax16(x, n, si, trial & 1, y, NULL), 0);
        double mx = -1e30, sum = 0;
        for (int i = 0; i < n; i++)
            mx = (double)si * x[i] > mx ? (double)si * x[i] : mx;
        for (int i = 0; i < n; i++)
            sum += exp((double)si * x[i] - mx);
        for (int i = 0; i < n; i++) {
            int32_t ref = qref(exp((double)si * x[i] - mx) / sum, 1.0f / 32768, 0, I16);
            if (abs(y[i] - ref) > 2)
                fail_msg("trial %d element %d: got %d, float reference %d", trial, i, y[i], ref);
        }
    }
    /* TFLite's conditions: output scale 1/32768 and zero point 0 */
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {2};
    int16_t x[2] = {1, 2}, y[2];
    uint32_t xi = qt(&q, I16, 1, d, x, 0.001f, 0), out = qt(&q, I16, 1, d, NULL, 1.0f / 256, 0);
    qnode(&q, SYNAP_OP_SOFTMAX, 1, &xi, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), -1);
    assert_string_equal(q.err.msg, "node 'n' (Softmax): integer int16 Softmax needs output scale "
                                   "1/32768 and zero point 0 (TFLite's)");
    synap_graph_free(q.g);
}

/* ---- Concat, Pad, Resize, QuantizeLinear ------------------------------------------------ */

static void test_concat_requantizes(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t ad[2] = {2, 3}, bd[2] = {2, 2}, yd[2] = {2, 5};
    uint8_t a[6], b[4], y[10];
    fill(U8, a, 6, 0, 255);
    fill(U8, b, 4, 0, 255);
    uint32_t in[2] = {qt(&q, U8, 2, ad, a, 0.1f, 128), qt(&q, U8, 2, bd, b, 0.05f, 10)};
    uint32_t out = qt(&q, U8, 2, yd, NULL, 0.1f, 128);
    struct synap_node *n = qnode(&q, SYNAP_OP_CONCAT, 2, in, out);
    synap_node_set_int(q.g, n, "axis", 1);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[10];
    for (int r = 0; r < 2; r++) {
        for (int j = 0; j < 3; j++)
            ref[r * 5 + j] = a[r * 3 + j]; /* same parameters: copied exactly */
        for (int j = 0; j < 2; j++)
            ref[r * 5 + 3 + j] = qref(deq(U8, b, (size_t)(r * 2 + j), 0.05f, 10), 0.1f, 128, U8);
    }
    within_one_lsb(U8, y, ref, 10);
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 3; j++)
            assert_int_equal(y[r * 5 + j], a[r * 3 + j]);
    synap_graph_free(q.g);
}

static void test_pad_uses_zero_point(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[1] = {2}, pd[1] = {2}, yd[1] = {4};
    int8_t x[2] = {5, 6}, y[4];
    int64_t pads[2] = {1, 1};
    uint32_t in[2] = {qt(&q, I8, 1, xd, x, 0.5f, -7), qt(&q, I64, 1, pd, pads, 0, 0)};
    uint32_t out = qt(&q, I8, 1, yd, NULL, 0.5f, -7);
    qnode(&q, SYNAP_OP_PAD, 2, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int8_t want[4] = {-7, 5, 6, -7};
    assert_memory_equal(y, want, 4);
    synap_graph_free(q.g);
}

static void test_resize_bilinear(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[4] = {1, 2, 3, 4}, yd[4] = {1, 2, 6, 8}, sd[1] = {4};
    int8_t x[24], y[96];
    fill(I8, x, 24, -128, 127);
    float scales[4] = {1, 1, 2, 2};
    uint32_t in[3] = {qt(&q, I8, 4, xd, x, 0.1f, 3), SYNAP_NONE, qt(&q, F32, 1, sd, scales, 0, 0)};
    uint32_t out = qt(&q, I8, 4, yd, NULL, 0.1f, 3);
    struct synap_node *n = qnode(&q, SYNAP_OP_RESIZE, 3, in, out);
    synap_node_set_string(q.g, n, "mode", "linear");
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int32_t ref[96];
    for (int c = 0; c < 2; c++)
        for (int oy = 0; oy < 6; oy++)
            for (int ox = 0; ox < 8; ox++) {
                double fy = (oy + 0.5) / 2 - 0.5, fx = (ox + 0.5) / 2 - 0.5;
                fy = fy < 0 ? 0 : fy;
                fx = fx < 0 ? 0 : fx;
                int y0 = (int)floor(fy), x0 = (int)floor(fx);
                int y1 = y0 + 1 < 3 ? y0 + 1 : 2, x1 = x0 + 1 < 4 ? x0 + 1 : 3;
                double wy = fy - y0, wx = fx - x0;
#define X(yy, xx) deq(I8, x, (size_t)((c * 3 + (yy)) * 4 + (xx)), 0.1f, 3)
                double v = X(y0, x0) * (1 - wy) * (1 - wx) + X(y1, x0) * wy * (1 - wx) +
                           X(y0, x1) * (1 - wy) * wx + X(y1, x1) * wy * wx;
#undef X
                ref[(c * 6 + oy) * 8 + ox] = qref(v, 0.1f, 3, I8);
            }
    within_one_lsb(I8, y, ref, 96);
    synap_graph_free(q.g);
}

static void test_quantize_linear_tflite(void **state)
{
    (void)state;
    /* float -> int8 in an NPU graph: half away from zero */
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {4}, sd[1] = {0};
    float x[4] = {2.5f, -2.5f, 0.49f, 1000.0f}, s = 1.0f;
    int8_t zp = 0, y[4];
    uint32_t in[3] = {qt(&q, F32, 1, d, x, 0, 0), qt(&q, F32, 0, sd, &s, 0, 0),
                      qt(&q, I8, 0, sd, &zp, 0, 0)};
    uint32_t out = qt(&q, I8, 1, d, NULL, 1.0f, 0);
    qnode(&q, SYNAP_OP_QUANTIZE_LINEAR, 3, in, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int8_t want[4] = {3, -3, 0, 127};
    assert_memory_equal(y, want, 4);
    synap_graph_free(q.g);

    /* int8 -> uint8 requantization with the fixed-point multiplier */
    qg_new(&q);
    int8_t xi[5] = {-128, -1, 0, 1, 127};
    uint8_t yu[5], zu = 128;
    float s2 = 0.5f;
    int64_t d5[1] = {5};
    uint32_t in2[3] = {qt(&q, I8, 1, d5, xi, 0.25f, -2), qt(&q, F32, 0, sd, &s2, 0, 0),
                       qt(&q, U8, 0, sd, &zu, 0, 0)};
    out = qt(&q, U8, 1, d5, NULL, 0.5f, 128);
    qnode(&q, SYNAP_OP_QUANTIZE_LINEAR, 3, in2, out);
    assert_int_equal(qrun(&q, out, yu, sizeof yu), 0);
    /* (x + 2) * 0.5 rounded half away, + 128: -63, 0.5->1, 1, 1.5->2, 64.5->65 */
    uint8_t wantu[5] = {65, 129, 129, 130, 193};
    assert_memory_equal(yu, wantu, 5);
    synap_graph_free(q.g);
}

/* ---- data movement keeps integers and their parameters -------------------------------- */

static void test_movement_passes_integers(void **state)
{
    (void)state;
    struct qg q;
    qg_new(&q);
    int64_t xd[2] = {2, 3}, td[2] = {3, 2}, sd[1] = {2};
    int8_t x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    int64_t shape[2] = {3, 2};
    uint32_t xi = qt(&q, I8, 2, xd, x, 0.5f, 1);
    uint32_t t1 = qt(&q, I8, 2, td, NULL, 0.5f, 1);
    struct synap_node *n = qnode(&q, SYNAP_OP_TRANSPOSE, 1, &xi, t1);
    int64_t perm[2] = {1, 0};
    synap_node_set_ints(q.g, n, "perm", perm, 2);
    uint32_t in2[2] = {t1, qt(&q, I64, 1, sd, shape, 0, 0)};
    uint32_t out = qt(&q, I8, 2, td, NULL, 0.5f, 1);
    qnode(&q, SYNAP_OP_RESHAPE, 2, in2, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), 0);
    int8_t want[6] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(y, want, 6);
    assert_int_equal(q.g->tensors[out].dtype, I8);
    synap_graph_free(q.g);
}

/* ---- TFLite FLOOR_DIV on int32 (formats/tflite/ops.c) ------------------------------ */

/* tests/data/tflite_floor_div/floor_div.tflite (written by gen.py there):
 * q = FLOOR_DIV(a [2, 4], b [4]), int32 graph inputs. TFLite's int32
 * FloorDiv is floor(double(a) / double(b)); the expected values are
 * Python's a // b (gen.py prints them), exactly, including the int32
 * extremes where a - Mod(a, b) would overflow. */
static void test_tflite_floor_div_int32(void **state)
{
    (void)state;
    const char *dir = getenv("SYNAP_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/tflite_floor_div/floor_div.tflite", dir ? dir : "tests/data");
    struct synap_err err = {0};
    struct synap_graph *g = synap_tflite_import(path, NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    static const int32_t a[8] = {7, -7, 7, -7, 0, -1, INT32_MAX, INT32_MIN}, b[4] = {2, 2, -2, -2};
    static const int32_t want[8] = {3, -4, -4, 3, 0, -1, -1073741824, 1073741824};
    for (int th = 1; th <= 3; th += 2) {
        struct synap_plan_opts o = {.nthreads = th};
        struct synap_plan *p = synap_plan_new(g, &o, &err);
        if (!p) fail_msg("%s", err.msg);
        struct synap_value *va = synap_plan_input(p, 0), *vb = synap_plan_input(p, 1);
        assert_int_equal(va->dtype, I32);
        assert_int_equal(synap_value_nelem(va), 8);
        assert_int_equal(synap_value_nelem(vb), 4);
        memcpy(va->data, a, sizeof a);
        memcpy(vb->data, b, sizeof b);
        if (synap_plan_run(p, &err)) fail_msg("%s", err.msg);
        const struct synap_value *y = synap_plan_output(p, 0);
        assert_int_equal(y->dtype, I32);
        assert_memory_equal(y->data, want, sizeof want);
        synap_plan_free(p);
    }
    synap_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    /* a quantized op without an integer kernel is named */
    struct qg q;
    qg_new(&q);
    int64_t d[1] = {2};
    int8_t x[2] = {1, 2}, y[2];
    uint32_t xi = qt(&q, I8, 1, d, x, 0.5f, 0), out = qt(&q, I8, 1, d, NULL, 0.5f, 0);
    qnode(&q, SYNAP_OP_SIN, 1, &xi, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), -1);
    assert_non_null(strstr(q.err.msg, "Sin has no integer kernel"));
    synap_graph_free(q.g);

    /* a quantized node whose output has no parameters */
    qg_new(&q);
    xi = qt(&q, I8, 1, d, x, 0.5f, 0);
    out = qt(&q, I8, 1, d, NULL, 0, 0);
    qnode(&q, SYNAP_OP_RELU, 1, &xi, out);
    assert_int_equal(qrun(&q, out, y, sizeof y), -1);
    assert_non_null(strstr(q.err.msg, "needs quantization parameters"));
    synap_graph_free(q.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitives),
        cmocka_unit_test(test_conv_golden_uint8),
        cmocka_unit_test(test_conv_golden_depthwise_per_channel),
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_fc_random),
        cmocka_unit_test(test_add_golden),
        cmocka_unit_test(test_binary_random),
        cmocka_unit_test(test_pool_golden_and_random),
        cmocka_unit_test(test_mean_random),
        cmocka_unit_test(test_unary_random),
        cmocka_unit_test(test_div),
        cmocka_unit_test(test_hard_sigmoid),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_softmax_random),
        cmocka_unit_test(test_softmax_int16_golden),
        cmocka_unit_test(test_softmax_int16_random),
        cmocka_unit_test(test_concat_requantizes),
        cmocka_unit_test(test_pad_uses_zero_point),
        cmocka_unit_test(test_resize_bilinear),
        cmocka_unit_test(test_quantize_linear_tflite),
        cmocka_unit_test(test_movement_passes_integers),
        cmocka_unit_test(test_tflite_floor_div_int32),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
