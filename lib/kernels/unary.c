/* Elementwise functions of one tensor: activations, math functions, rounding,
 * Clip, logical/bitwise Not, IsNaN and IsInf.
 *
 * Float math runs in float32 (float16 and bfloat16 are converted in blocks)
 * and in double for float64; one macro-generated kernel, with <tgmath.h>
 * picking expf or exp, serves both. Integer dtypes, where ONNX allows them
 * (Relu, Abs, Neg, Sign, Clip, Shrink, BitwiseNot, Not, Identity), compute
 * exactly in 64 bits; negating the most negative value wraps instead of being
 * undefined. Work is split over the thread pool in fixed ranges, so results
 * do not depend on the thread count.
 */
#include <tgmath.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

#define BLOCK 256   /* elements converted per step on the non-native paths */
#define GRAIN 16384 /* elements per thread-pool task */

struct uparams {
    enum synap_op op;
    float alpha, beta, gamma; /* the op's attributes (Shrink: lambd, bias) */
    double lo, hi;            /* Clip bounds of float inputs */
    int64_t ilo, ihi;         /* Clip bounds of signed integers */
    uint64_t ulo, uhi;        /* Clip bounds of unsigned integers */
    int detect_pos, detect_neg;
};

/* y = f(x) for float or double; the op is switched once per block. */
#define MAP(EXPR)                                                                                  \
    for (size_t i = 0; i < n; i++) {                                                               \
        const elem_t x = xs[i];                                                                    \
        ys[i] = (elem_t)(EXPR);                                                                    \
    }                                                                                              \
    break

#define DEFINE_FLOAT_KERNEL(NAME, T)                                                               \
    static void NAME(const struct uparams *p, const T *xs, T *ys, size_t n)                        \
    {                                                                                              \
        typedef T elem_t; /* MAP's element type */                                                 \
        const T alpha = (T)p->alpha, beta = (T)p->beta, gamma = (T)p->gamma;                       \
        const T lo = (T)p->lo, hi = (T)p->hi, one = 1, zero = 0;                                   \
        switch (p->op) {                                                                           \
        case SYNAP_OP_RELU:                                                                        \
            MAP(x < zero ? zero : x);                                                              \
        case SYNAP_OP_LEAKY_RELU:                                                                  \
            MAP(x < zero ? alpha * x : x);                                                         \
        case SYNAP_OP_THRESHOLDED_RELU:                                                            \
            MAP(x > alpha ? x : zero);                                                             \
        case SYNAP_OP_SIGMOID:                                                                     \
            MAP(sigmoid(x));                                                                       \
        case SYNAP_OP_HARD_SIGMOID:                                                                \
            MAP(clamp01(alpha *x + beta));                                                         \
        case SYNAP_OP_HARD_SWISH:                                                                  \
            MAP(x *clamp01(x / (T)6 + (T)0.5));                                                    \
        case SYNAP_OP_TANH:                                                                        \
            MAP(tanh(x));                                                                          \
        case SYNAP_OP_ELU:                                                                         \
            MAP(x < zero ? alpha * expm1(x) : x);                                                  \
        case SYNAP_OP_SELU:                                                                        \
            MAP(x <= zero ? gamma * (alpha * exp(x) - alpha) : gamma * x);                         \
        /* max(0,x) + min(0, alpha*(exp(x/alpha)-1)) simplifies to this for any alpha */           \
        case SYNAP_OP_CELU:                                                                        \
            MAP(x > zero ? x : alpha * expm1(x / alpha));                                          \
        case SYNAP_OP_SOFTPLUS:                                                                    \
            MAP(softplus(x));                                                                      \
        case SYNAP_OP_SOFTSIGN:                                                                    \
            MAP(x / (one + fabs(x)));                                                              \
        case SYNAP_OP_MISH:                                                                        \
            MAP(x *tanh(softplus(x)));                                                             \
        case SYNAP_OP_SHRINK:                                                                      \
            MAP(x<-alpha ? x + beta : x> alpha ? x - beta : zero);                                 \
        /* numpy.clip: max then min, so NaN stays NaN and lo > hi gives hi */                      \
        case SYNAP_OP_CLIP:                                                                        \
            MAP((x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x));                                  \
        case SYNAP_OP_ERF:                                                                         \
            MAP(erf(x));                                                                           \
        case SYNAP_OP_SQRT:                                                                        \
            MAP(sqrt(x));                                                                          \
        case SYNAP_OP_EXP:                                                                         \
            MAP(exp(x));                                                                           \
        case SYNAP_OP_LOG:                                                                         \
            MAP(log(x));                                                                           \
        case SYNAP_OP_NEG:                                                                         \
            MAP(-x);                                                                               \
        case SYNAP_OP_ABS:                                                                         \
            MAP(fabs(x));                                                                          \
        case SYNAP_OP_RECIPROCAL:                                                                  \
            MAP(one / x);                                                                          \
        case SYNAP_OP_FLOOR:                                                                       \
            MAP(floor(x));                                                                         \
        case SYNAP_OP_CEIL:                                                                        \
            MAP(ceil(x));                                                                          \
        /* the default rounding mode rounds halves to even, as ONNX wants */                       \
        case SYNAP_OP_ROUND:                                                                       \
            MAP(nearbyint(x));                                                                     \
        case SYNAP_OP_SIGN:                                                                        \
            MAP(x > zero ? one : x < zero ? -one : x);                                             \
        case SYNAP_OP_SIN:                                                                         \
            MAP(sin(x));                                                                           \
        case SYNAP_OP_COS:                                                                         \
            MAP(cos(x));                                                                           \
        case SYNAP_OP_TAN:                                                                         \
            MAP(tan(x));                                                                           \
        case SYNAP_OP_ASIN:                                                                        \
            MAP(asin(x));                                                                          \
        case SYNAP_OP_ACOS:                                                                        \
            MAP(acos(x));                                                                          \
        case SYNAP_OP_ATAN:                                                                        \
            MAP(atan(x));                                                                          \
        case SYNAP_OP_SINH:                                                                        \
            MAP(sinh(x));                                                                          \
        case SYNAP_OP_COSH:                                                                        \
            MAP(cosh(x));                                                                          \
        case SYNAP_OP_ASINH:                                                                       \
            MAP(asinh(x));                                                                         \
        case SYNAP_OP_ACOSH:                                                                       \
            MAP(acosh(x));                                                                         \
        case SYNAP_OP_ATANH:                                                                       \
            MAP(atanh(x));                                                                         \
        default:                                                                                   \
            MAP(x);                                                                                \
        }                                                                                          \
    }

/* NaN passes through (both comparisons are false). */
#define clamp01(v) _Generic((v), float : clamp01_f, default : clamp01_d)(v)
static inline float clamp01_f(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}
static inline double clamp01_d(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* One exp of -|x| serves both signs and never overflows. */
#define sigmoid(v) _Generic((v), float : sigmoid_f, default : sigmoid_d)(v)
static inline float sigmoid_f(float x)
{
    float e = expf(-fabsf(x)), r = 1 / (1 + e);
    return x >= 0 ? r : e * r;
}
static inline double sigmoid_d(double x)
{
    double e = exp(-fabs(x)), r = 1 / (1 + e);
    return x >= 0 ? r : e * r;
}

/* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), without overflow */
#define softplus(v) _Generic((v), float : softplus_f, default : softplus_d)(v)
static inline float softplus_f(float x)
{
    return (x > 0 ? x : 0) + log1pf(expf(-fabsf(x)));
}
static inline double softplus_d(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

DEFINE_FLOAT_KERNEL(u_f32, float)
DEFINE_FLOAT_KERNEL(u_f64, double)
#undef MAP

/* Integers as int64 / uint64; narrow types are sign- or zero-extended and
 * truncated back on store, which gives the narrow type's wrapping. */
static void u_i64(const struct uparams *p, const int64_t *xs, int64_t *ys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t x = xs[i];
        uint64_t ux = (uint64_t)x;
        switch (p->op) {
        case SYNAP_OP_RELU:
            ys[i] = x < 0 ? 0 : x;
            break;
        case SYNAP_OP_ABS:
            ys[i] = x < 0 ? (int64_t)(0 - ux) : x;
            break;
        case SYNAP_OP_NEG:
            ys[i] = (int64_t)(0 - ux);
            break;
        case SYNAP_OP_SIGN:
            ys[i] = (x > 0) - (x < 0);
            break;
        case SYNAP_OP_CLIP: {
            int64_t v = x < p->ilo ? p->ilo : x;
            ys[i] = v > p->ihi ? p->ihi : v;
            break;
        }
        case SYNAP_OP_BITWISE_NOT:
            ys[i] = ~x;
            break;
        default:
            ys[i] = x;
            break;
        }
    }
}

static void u_u64(const struct uparams *p, const uint64_t *xs, uint64_t *ys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t x = xs[i];
        switch (p->op) {
        case SYNAP_OP_SIGN:
            ys[i] = x != 0;
            break;
        case SYNAP_OP_CLIP: {
            uint64_t v = x < p->ulo ? p->ulo : x;
            ys[i] = v > p->uhi ? p->uhi : v;
            break;
        }
        case SYNAP_OP_BITWISE_NOT:
            ys[i] = ~x;
            break;
        case SYNAP_OP_NOT:
            ys[i] = x == 0;
            break;
        default:
            ys[i] = x;
            break; /* Relu, Abs of unsigned */
        }
    }
}

/* ---- loading and storing ------------------------------------------------------ */

#define INT_CASES(X)                                                                               \
    X(INT8, int8_t)                                                                                \
    X(INT16, int16_t)                                                                              \
    X(INT32, int32_t)                                                                              \
    X(INT64, int64_t)                                                                              \
    X(UINT8, uint8_t)                                                                              \
    X(UINT16, uint16_t)                                                                            \
    X(UINT32, uint32_t)                                                                            \
    X(UINT64, uint64_t)

static void load_u64(enum synap_dtype t, const void *p, size_t n, uint64_t *out)
{
    switch (t) {
#define X(E, T)                                                                                    \
    case SYNAP_DTYPE_##E:                                                                          \
        for (size_t i = 0; i < n; i++)                                                             \
            out[i] = (uint64_t)((const T *)p)[i];                                                  \
        break;
        INT_CASES(X)
#undef X
    case SYNAP_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            out[i] = ((const uint8_t *)p)[i] != 0;
        break;
    default:
        memset(out, 0, n * sizeof *out);
        break;
    }
}

static void store_u64(enum synap_dtype t, void *p, size_t n, const uint64_t *in)
{
    switch (t) {
#define X(E, T)                                                                                    \
    case SYNAP_DTYPE_##E:                                                                          \
        for (size_t i = 0; i < n; i++)                                                             \
            ((T *)p)[i] = (T)in[i];                                                                \
        break;
        INT_CASES(X)
#undef X
    case SYNAP_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)p)[i] = in[i] != 0;
        break;
    default:
        break;
    }
}

static void load_f32(enum synap_dtype t, const void *p, size_t n, float *out)
{
    const uint16_t *h = p;
    if (t == SYNAP_DTYPE_FLOAT16)
        for (size_t i = 0; i < n; i++)
            out[i] = synap_f16_to_f32(h[i]);
    else if (t == SYNAP_DTYPE_BFLOAT16)
        for (size_t i = 0; i < n; i++)
            out[i] = synap_bf16_to_f32(h[i]);
    else
        memcpy(out, p, n * sizeof *out);
}

static void store_f32(enum synap_dtype t, void *p, size_t n, const float *in)
{
    uint16_t *h = p;
    if (t == SYNAP_DTYPE_FLOAT16)
        for (size_t i = 0; i < n; i++)
            h[i] = synap_f32_to_f16(in[i]);
    else if (t == SYNAP_DTYPE_BFLOAT16)
        for (size_t i = 0; i < n; i++)
            h[i] = synap_f32_to_bf16(in[i]);
    else
        memcpy(p, in, n * sizeof *in);
}

/* ---- dtype rules --------------------------------------------------------------- */

static bool is_signed_int(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_INT8 || t == SYNAP_DTYPE_INT16 || t == SYNAP_DTYPE_INT32 ||
           t == SYNAP_DTYPE_INT64;
}

/* ONNX opset 17 type constraints of each op. */
static bool dtype_ok(enum synap_op op, enum synap_dtype t)
{
    bool f = synap_dtype_is_float(t);
    switch (op) {
    case SYNAP_OP_IDENTITY:
        return t != SYNAP_DTYPE_UNDEFINED;
    case SYNAP_OP_RELU:
    case SYNAP_OP_NEG:
        return f || is_signed_int(t);
    case SYNAP_OP_ABS:
    case SYNAP_OP_SIGN:
    case SYNAP_OP_CLIP:
    case SYNAP_OP_SHRINK:
        return f || synap_dtype_is_int(t);
    case SYNAP_OP_NOT:
        return t == SYNAP_DTYPE_BOOL;
    case SYNAP_OP_BITWISE_NOT:
        return synap_dtype_is_int(t);
    default:
        return f;
    }
}

/* ---- infer ----------------------------------------------------------------------- */

int synap_unary_infer(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_infer(c, synap_unary_infer);
    enum synap_op op = c->node->op;
    if (c->nout < 1) return synap_errf(c->err, "expected 1 output");
    if (!synap_has_input(c, 0)) return synap_errf(c->err, "input 0 is missing");
    if (c->nin > (op == SYNAP_OP_CLIP ? 3u : 1u))
        return synap_errf(c->err, "too many inputs (%zu)", c->nin);
    const struct synap_value *x = &c->in[0];
    if (!dtype_ok(op, x->dtype))
        return synap_errf(c->err, "input 0: dtype %s is not supported by %s",
                          synap_dtype_name(x->dtype), synap_op_name(op));
    for (size_t i = 1; i < c->nin; i++) {
        if (!synap_has_input(c, i)) continue;
        if (c->in[i].dtype != x->dtype)
            return synap_errf(c->err, "input %zu: expected dtype %s (as input 0), got %s", i,
                              synap_dtype_name(x->dtype), synap_dtype_name(c->in[i].dtype));
        if (synap_value_nelem(&c->in[i]) != 1) {
            char s[160];
            return synap_errf(c->err, "input %zu (%s): expected a scalar, got shape %s", i,
                              i == 1 ? "min" : "max",
                              synap_shape_str(c->in[i].rank, c->in[i].dims, s, sizeof s));
        }
    }
    struct synap_value *y = &c->out[0];
    y->dtype = (op == SYNAP_OP_IS_NAN || op == SYNAP_OP_IS_INF) ? SYNAP_DTYPE_BOOL : x->dtype;
    y->rank = x->rank;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return 0;
}

/* ---- run --------------------------------------------------------------------------- */

struct ujob {
    struct uparams p;
    enum synap_dtype t;
    const void *x;
    void *y;
};

static void unary_task(void *arg, size_t begin, size_t end)
{
    const struct ujob *j = arg;
    const struct uparams *p = &j->p;
    size_t es = synap_dtype_size(j->t);
    const char *x = (const char *)j->x + begin * es;
    size_t n = end - begin;

    if (p->op == SYNAP_OP_IS_NAN || p->op == SYNAP_OP_IS_INF) {
        uint8_t *y = (uint8_t *)j->y + begin;
        for (size_t k = 0; k < n; k += BLOCK) {
            size_t m = n - k < BLOCK ? n - k : BLOCK;
            double v[BLOCK];
            if (j->t == SYNAP_DTYPE_FLOAT64) {
                memcpy(v, x + k * es, m * sizeof *v);
            } else {
                float f[BLOCK];
                load_f32(j->t, x + k * es, m, f);
                for (size_t i = 0; i < m; i++)
                    v[i] = f[i];
            }
            for (size_t i = 0; i < m; i++) {
                if (p->op == SYNAP_OP_IS_NAN)
                    y[k + i] = isnan(v[i]);
                else
                    y[k + i] = isinf(v[i]) && (v[i] > 0 ? p->detect_pos : p->detect_neg);
            }
        }
        return;
    }

    char *y = (char *)j->y + begin * es;
    switch (j->t) {
    case SYNAP_DTYPE_FLOAT32:
        u_f32(p, (const float *)x, (float *)y, n);
        return;
    case SYNAP_DTYPE_FLOAT64:
        u_f64(p, (const double *)x, (double *)y, n);
        return;
    case SYNAP_DTYPE_FLOAT16:
    case SYNAP_DTYPE_BFLOAT16:
        for (size_t k = 0; k < n; k += BLOCK) {
            size_t m = n - k < BLOCK ? n - k : BLOCK;
            float f[BLOCK];
            load_f32(j->t, x + k * es, m, f);
            u_f32(p, f, f, m);
            store_f32(j->t, y + k * es, m, f);
        }
        return;
    default:
        break;
    }
    for (size_t k = 0; k < n; k += BLOCK) {
        size_t m = n - k < BLOCK ? n - k : BLOCK;
        uint64_t u[BLOCK];
        load_u64(j->t, x + k * es, m, u);
        if (p->op == SYNAP_OP_SHRINK) { /* float attributes: compute in double */
            double d[BLOCK];
            for (size_t i = 0; i < m; i++)
                d[i] = is_signed_int(j->t) ? (double)(int64_t)u[i] : (double)u[i];
            u_f64(p, d, d, m);
            struct synap_value v = {.dtype = j->t, .data = y + k * es};
            for (size_t i = 0; i < m; i++)
                synap_value_set_f64(&v, (int64_t)i, d[i]);
            continue;
        }
        if (is_signed_int(j->t))
            u_i64(p, (const int64_t *)u, (int64_t *)u, m);
        else
            u_u64(p, u, u, m);
        store_u64(j->t, y + k * es, m, u);
    }
}

/* Clip's optional bounds; absent ones are the dtype's extremes. */
static void clip_bounds(const struct synap_kctx *c, struct uparams *p)
{
    p->lo = -INFINITY;
    p->hi = INFINITY;
    p->ilo = INT64_MIN;
    p->ihi = INT64_MAX;
    p->ulo = 0;
    p->uhi = UINT64_MAX;
    for (size_t i = 1; i < 3; i++) {
        if (!synap_has_input(c, i) || !c->in[i].data) continue;
        const struct synap_value *v = &c->in[i];
        if (synap_dtype_is_float(v->dtype)) {
            double d = synap_value_get_f64(v, 0);
            *(i == 1 ? &p->lo : &p->hi) = d;
        } else if (is_signed_int(v->dtype)) {
            *(i == 1 ? &p->ilo : &p->ihi) = synap_value_get_i64(v, 0);
        } else {
            *(i == 1 ? &p->ulo : &p->uhi) = (uint64_t)synap_value_get_i64(v, 0);
        }
    }
}

int synap_unary_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_run(c);
    const struct synap_node *node = c->node;
    enum synap_op op = node->op;
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "missing inputs or outputs");
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t n = synap_value_nelem(x);
    if (n < 0 || n != synap_value_nelem(y)) return synap_errf(c->err, "output shape mismatch");
    if (n == 0) return 0;
    if (!dtype_ok(op, x->dtype))
        return synap_errf(c->err, "input 0: dtype %s is not supported by %s",
                          synap_dtype_name(x->dtype), synap_op_name(op));

    if (op == SYNAP_OP_IDENTITY) {
        if (y->data != x->data) memcpy(y->data, x->data, (size_t)n * synap_dtype_size(x->dtype));
        return 0;
    }

    struct ujob j = {.t = x->dtype, .x = x->data, .y = y->data};
    struct uparams *p = &j.p;
    p->op = op;
    switch (op) {
    case SYNAP_OP_LEAKY_RELU:
        p->alpha = synap_attr_float(node, "alpha", 0.01f);
        break;
    case SYNAP_OP_THRESHOLDED_RELU:
    case SYNAP_OP_ELU:
    case SYNAP_OP_CELU:
        p->alpha = synap_attr_float(node, "alpha", 1.0f);
        break;
    case SYNAP_OP_HARD_SIGMOID:
        p->alpha = synap_attr_float(node, "alpha", 0.2f);
        p->beta = synap_attr_float(node, "beta", 0.5f);
        break;
    case SYNAP_OP_SELU:
        p->alpha = synap_attr_float(node, "alpha", 1.67326319217681884765625f);
        p->gamma = synap_attr_float(node, "gamma", 1.05070102214813232421875f);
        break;
    case SYNAP_OP_SHRINK:
        p->alpha = synap_attr_float(node, "lambd", 0.5f);
        p->beta = synap_attr_float(node, "bias", 0.0f);
        break;
    case SYNAP_OP_IS_INF:
        p->detect_pos = synap_attr_int(node, "detect_positive", 1) != 0;
        p->detect_neg = synap_attr_int(node, "detect_negative", 1) != 0;
        break;
    case SYNAP_OP_CLIP:
        for (size_t i = 1; i < c->nin; i++)
            if (synap_has_input(c, i) &&
                (c->in[i].dtype != x->dtype || synap_value_nelem(&c->in[i]) != 1))
                return synap_errf(c->err, "input %zu: expected a %s scalar", i,
                                  synap_dtype_name(x->dtype));
        clip_bounds(c, p);
        break;
    default:
        break;
    }
    synap_pool_for(c->pool, (size_t)n, GRAIN, unary_task, &j);
    return 0;
}
