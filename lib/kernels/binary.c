/* Numpy-broadcasting elementwise ops: arithmetic, comparisons, logic, bit
 * operations, the variadic Min/Max/Sum/Mean and the three-way Where.
 *
 * Every run walks the output in flat order over a "collapsed" view of the
 * broadcast: adjacent dimensions that are contiguous for every input merge,
 * so [1,C,H,W] + [C,1,1] becomes rows of H*W with a scalar per row and
 * same-shape inputs become one long row. The innermost stride of each input
 * is then 0 or 1, which is all the inner loops handle.
 *
 * Arithmetic happens in one of four domains: float (float32; float16 and
 * bfloat16 are converted in blocks), double (float64), int64 (signed
 * integers, wrapping like two's complement) and uint64 (unsigned integers and
 * bool). Narrow integers are widened, computed and truncated back, which gives
 * the same wrapping results as computing in the narrow type.
 *
 * Integer corner cases that are undefined in C are defined here: x / 0 and
 * x % 0 give 0, INT64_MIN / -1 wraps to INT64_MIN, shifts by >= 64 bits give
 * 0, a negative integer exponent gives 1/x^n truncated (0 unless |x| == 1).
 */
#include <tgmath.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

#define BLOCK 256   /* elements converted per step on the non-native paths */
#define GRAIN 16384 /* elements per thread-pool task */

enum domain { DOM_F32, DOM_F64, DOM_I64, DOM_U64 };

static enum domain domain_of(enum synap_dtype t)
{
    switch (t) {
    case SYNAP_DTYPE_FLOAT32:
    case SYNAP_DTYPE_FLOAT16:
    case SYNAP_DTYPE_BFLOAT16:
        return DOM_F32;
    case SYNAP_DTYPE_FLOAT64:
        return DOM_F64;
    case SYNAP_DTYPE_INT8:
    case SYNAP_DTYPE_INT16:
    case SYNAP_DTYPE_INT32:
    case SYNAP_DTYPE_INT64:
        return DOM_I64;
    default:
        return DOM_U64;
    }
}

static bool is_unsigned(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_UINT8 || t == SYNAP_DTYPE_UINT16 || t == SYNAP_DTYPE_UINT32 ||
           t == SYNAP_DTYPE_UINT64;
}

static bool is_variadic(enum synap_op op)
{
    return op == SYNAP_OP_MIN || op == SYNAP_OP_MAX || op == SYNAP_OP_SUM || op == SYNAP_OP_MEAN;
}

static bool is_compare(enum synap_op op)
{
    return op == SYNAP_OP_EQUAL || op == SYNAP_OP_LESS || op == SYNAP_OP_LESS_OR_EQUAL ||
           op == SYNAP_OP_GREATER || op == SYNAP_OP_GREATER_OR_EQUAL;
}

/* ---- loading and storing blocks ------------------------------------------
 * `s` is the element stride (0 or 1); p + off is the first element. */

#define INT_CASES(X)                                                                               \
    X(INT8, int8_t)                                                                                \
    X(INT16, int16_t)                                                                              \
    X(INT32, int32_t)                                                                              \
    X(INT64, int64_t)                                                                              \
    X(UINT8, uint8_t)                                                                              \
    X(UINT16, uint16_t)                                                                            \
    X(UINT32, uint32_t)                                                                            \
    X(UINT64, uint64_t)

/* Integers as uint64 bit patterns (signed ones sign-extended), bool as 0/1. */
static void load_u64(enum synap_dtype t, const void *p, int64_t off, int64_t s, int64_t n,
                     uint64_t *out)
{
    switch (t) {
#define X(E, T)                                                                                    \
    case SYNAP_DTYPE_##E:                                                                          \
        for (int64_t i = 0; i < n; i++)                                                            \
            out[i] = (uint64_t)((const T *)p)[off + i * s];                                        \
        break;
        INT_CASES(X)
#undef X
    case SYNAP_DTYPE_BOOL:
        for (int64_t i = 0; i < n; i++)
            out[i] = ((const uint8_t *)p)[off + i * s] != 0;
        break;
    default:
        memset(out, 0, (size_t)n * sizeof *out);
        break;
    }
}

/* Truncates to the element type: the wrapping of two's complement. */
static void store_u64(enum synap_dtype t, void *p, int64_t off, int64_t n, const uint64_t *in)
{
    switch (t) {
#define X(E, T)                                                                                    \
    case SYNAP_DTYPE_##E:                                                                          \
        for (int64_t i = 0; i < n; i++)                                                            \
            ((T *)p)[off + i] = (T)in[i];                                                          \
        break;
        INT_CASES(X)
#undef X
    case SYNAP_DTYPE_BOOL:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)p)[off + i] = in[i] != 0;
        break;
    default:
        break;
    }
}

/* float32, float16 or bfloat16 as float. */
static void load_f32(enum synap_dtype t, const void *p, int64_t off, int64_t s, int64_t n,
                     float *out)
{
    const uint16_t *h = p;
    if (t == SYNAP_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++)
            out[i] = synap_f16_to_f32(h[off + i * s]);
    else if (t == SYNAP_DTYPE_BFLOAT16)
        for (int64_t i = 0; i < n; i++)
            out[i] = synap_bf16_to_f32(h[off + i * s]);
    else
        for (int64_t i = 0; i < n; i++)
            out[i] = ((const float *)p)[off + i * s];
}

static void store_f32(enum synap_dtype t, void *p, int64_t off, int64_t n, const float *in)
{
    uint16_t *h = p;
    if (t == SYNAP_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++)
            h[off + i] = synap_f32_to_f16(in[i]);
    else if (t == SYNAP_DTYPE_BFLOAT16)
        for (int64_t i = 0; i < n; i++)
            h[off + i] = synap_f32_to_bf16(in[i]);
    else
        memcpy((float *)p + off, in, (size_t)n * sizeof *in);
}

/* Any numeric dtype as double (Pow with mixed base and exponent types). */
static void load_f64(enum synap_dtype t, const void *p, int64_t off, int64_t s, int64_t n,
                     double *out)
{
    switch (t) {
#define X(E, T)                                                                                    \
    case SYNAP_DTYPE_##E:                                                                          \
        for (int64_t i = 0; i < n; i++)                                                            \
            out[i] = (double)((const T *)p)[off + i * s];                                          \
        break;
        INT_CASES(X)
        X(FLOAT32, float)
        X(FLOAT64, double)
#undef X
    case SYNAP_DTYPE_FLOAT16:
    case SYNAP_DTYPE_BFLOAT16: {
        float f[BLOCK];
        for (int64_t k = 0; k < n; k += BLOCK) {
            int64_t m = n - k < BLOCK ? n - k : BLOCK;
            load_f32(t, p, off + k * s, s, m, f);
            for (int64_t i = 0; i < m; i++)
                out[k + i] = f[i];
        }
        break;
    }
    default:
        memset(out, 0, (size_t)n * sizeof *out);
        break;
    }
}

/* double to any numeric dtype; integers saturate and NaN gives 0, so an
 * overflowing Pow result is defined (C leaves it undefined). */
static void store_f64(enum synap_dtype t, void *p, int64_t off, int64_t n, const double *in)
{
    for (int64_t i = 0; i < n; i++) {
        double v = in[i];
        switch (t) {
#define SAT(E, T, LO, HI)                                                                          \
    case SYNAP_DTYPE_##E:                                                                          \
        ((T *)p)[off + i] = v != v ? 0 : v <= (double)LO ? LO : v >= (double)HI ? HI : (T)v;       \
        break;
            SAT(INT8, int8_t, INT8_MIN, INT8_MAX)
            SAT(INT16, int16_t, INT16_MIN, INT16_MAX)
            SAT(INT32, int32_t, INT32_MIN, INT32_MAX)
            SAT(INT64, int64_t, INT64_MIN, INT64_MAX)
            SAT(UINT8, uint8_t, 0, UINT8_MAX)
            SAT(UINT16, uint16_t, 0, UINT16_MAX)
            SAT(UINT32, uint32_t, 0, UINT32_MAX)
            SAT(UINT64, uint64_t, 0, UINT64_MAX)
#undef SAT
        case SYNAP_DTYPE_FLOAT32:
            ((float *)p)[off + i] = (float)v;
            break;
        case SYNAP_DTYPE_FLOAT64:
            ((double *)p)[off + i] = v;
            break;
        case SYNAP_DTYPE_FLOAT16:
            ((uint16_t *)p)[off + i] = synap_f32_to_f16((float)v);
            break;
        case SYNAP_DTYPE_BFLOAT16:
            ((uint16_t *)p)[off + i] = synap_f32_to_bf16((float)v);
            break;
        case SYNAP_DTYPE_BOOL:
            ((uint8_t *)p)[off + i] = v != 0;
            break;
        default:
            break;
        }
    }
}

/* ---- element operations --------------------------------------------------- */

struct bparams {
    enum synap_op op;
    int fmod;       /* Mod */
    int shift_left; /* BitShift */
};

/* Mod with fmod=0 on floats: numpy.mod, the result takes the divisor's sign. */
static inline float pymod_f(float x, float z)
{
    float r = fmodf(x, z);
    return (r != 0 && ((r < 0) != (z < 0))) ? r + z : r;
}
static inline double pymod_d(double x, double z)
{
    double r = fmod(x, z);
    return (r != 0 && ((r < 0) != (z < 0))) ? r + z : r;
}
#define PYMOD(x, z) _Generic((x), float : pymod_f, default : pymod_d)(x, z)

static inline int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static inline int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}
static inline int64_t wrap_mul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static inline int64_t idiv(int64_t a, int64_t b)
{
    if (b == 0) return 0;
    if (b == -1) return wrap_sub(0, a); /* INT64_MIN / -1 wraps */
    return a / b;
}

static inline int64_t imod(int64_t a, int64_t b, int fmod_mode)
{
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    if (!fmod_mode && r != 0 && ((r < 0) != (b < 0))) r += b; /* sign of the divisor */
    return r;
}

static inline uint64_t upow(uint64_t b, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

static inline int64_t ipow(int64_t b, int64_t e)
{
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    return (int64_t)upow((uint64_t)b, (uint64_t)e);
}

/* y[i] = EXPR(x = a[i*sa], z = b[i*sb]) with the common stride patterns
 * spelled out so the compiler vectorizes them. */
#define EW(TA, TY, EXPR)                                                                           \
    do {                                                                                           \
        TY *yy = y;                                                                                \
        if (sa == 1 && sb == 1) {                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                      \
                const TA x = a[i], z = b[i];                                                       \
                yy[i] = (TY)(EXPR);                                                                \
            }                                                                                      \
        } else if (sb == 0) {                                                                      \
            const TA z = b[0];                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                      \
                const TA x = a[i * sa];                                                            \
                yy[i] = (TY)(EXPR);                                                                \
            }                                                                                      \
        } else {                                                                                   \
            const TA x0 = a[0];                                                                    \
            for (int64_t i = 0; i < n; i++) {                                                      \
                const TA x = sa ? a[i * sa] : x0, z = b[i * sb];                                   \
                yy[i] = (TY)(EXPR);                                                                \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* NaN propagates through Min/Max as numpy.minimum/maximum do. */
#define FMIN(x, z) ((x) != (x) ? (x) : (z) != (z) ? (z) : (z) < (x) ? (z) : (x))
#define FMAX(x, z) ((x) != (x) ? (x) : (z) != (z) ? (z) : (z) > (x) ? (z) : (x))

#define DEFINE_FLOAT_KERNEL(NAME, T)                                                               \
    static void NAME(const struct bparams *p, const T *a, int64_t sa, const T *b, int64_t sb,      \
                     void *y, int64_t n)                                                           \
    {                                                                                              \
        switch (p->op) {                                                                           \
        case SYNAP_OP_ADD:                                                                         \
        case SYNAP_OP_SUM:                                                                         \
        case SYNAP_OP_MEAN:                                                                        \
            EW(T, T, x + z);                                                                       \
            break;                                                                                 \
        case SYNAP_OP_SUB:                                                                         \
            EW(T, T, x - z);                                                                       \
            break;                                                                                 \
        case SYNAP_OP_MUL:                                                                         \
            EW(T, T, x *z);                                                                        \
            break;                                                                                 \
        case SYNAP_OP_DIV:                                                                         \
            EW(T, T, x / z);                                                                       \
            break;                                                                                 \
        case SYNAP_OP_POW:                                                                         \
            EW(T, T, pow(x, z));                                                                   \
            break;                                                                                 \
        case SYNAP_OP_MOD:                                                                         \
            if (p->fmod)                                                                           \
                EW(T, T, fmod(x, z));                                                              \
            else                                                                                   \
                EW(T, T, PYMOD(x, z));                                                             \
            break;                                                                                 \
        case SYNAP_OP_PRELU:                                                                       \
            EW(T, T, x < 0 ? x * z : x);                                                           \
            break;                                                                                 \
        case SYNAP_OP_MIN:                                                                         \
            EW(T, T, FMIN(x, z));                                                                  \
            break;                                                                                 \
        case SYNAP_OP_MAX:                                                                         \
            EW(T, T, FMAX(x, z));                                                                  \
            break;                                                                                 \
        case SYNAP_OP_EQUAL:                                                                       \
            EW(T, uint8_t, x == z);                                                                \
            break;                                                                                 \
        case SYNAP_OP_LESS:                                                                        \
            EW(T, uint8_t, x < z);                                                                 \
            break;                                                                                 \
        case SYNAP_OP_LESS_OR_EQUAL:                                                               \
            EW(T, uint8_t, x <= z);                                                                \
            break;                                                                                 \
        case SYNAP_OP_GREATER:                                                                     \
            EW(T, uint8_t, x > z);                                                                 \
            break;                                                                                 \
        case SYNAP_OP_GREATER_OR_EQUAL:                                                            \
            EW(T, uint8_t, x >= z);                                                                \
            break;                                                                                 \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    }
DEFINE_FLOAT_KERNEL(k_f32, float)
DEFINE_FLOAT_KERNEL(k_f64, double)

static void k_i64(const struct bparams *p, const int64_t *a, int64_t sa, const int64_t *b,
                  int64_t sb, void *y, int64_t n)
{
    switch (p->op) {
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUM:
        EW(int64_t, int64_t, wrap_add(x, z));
        break;
    case SYNAP_OP_SUB:
        EW(int64_t, int64_t, wrap_sub(x, z));
        break;
    case SYNAP_OP_MUL:
        EW(int64_t, int64_t, wrap_mul(x, z));
        break;
    case SYNAP_OP_DIV:
        EW(int64_t, int64_t, idiv(x, z));
        break;
    case SYNAP_OP_MOD:
        EW(int64_t, int64_t, imod(x, z, p->fmod));
        break;
    case SYNAP_OP_POW:
        EW(int64_t, int64_t, ipow(x, z));
        break;
    case SYNAP_OP_PRELU:
        EW(int64_t, int64_t, x < 0 ? wrap_mul(x, z) : x);
        break;
    case SYNAP_OP_MIN:
        EW(int64_t, int64_t, z < x ? z : x);
        break;
    case SYNAP_OP_MAX:
        EW(int64_t, int64_t, z > x ? z : x);
        break;
    case SYNAP_OP_EQUAL:
        EW(int64_t, uint8_t, x == z);
        break;
    case SYNAP_OP_LESS:
        EW(int64_t, uint8_t, x < z);
        break;
    case SYNAP_OP_LESS_OR_EQUAL:
        EW(int64_t, uint8_t, x <= z);
        break;
    case SYNAP_OP_GREATER:
        EW(int64_t, uint8_t, x > z);
        break;
    case SYNAP_OP_GREATER_OR_EQUAL:
        EW(int64_t, uint8_t, x >= z);
        break;
    case SYNAP_OP_BITWISE_AND:
        EW(int64_t, int64_t, x & z);
        break;
    case SYNAP_OP_BITWISE_OR:
        EW(int64_t, int64_t, x | z);
        break;
    case SYNAP_OP_BITWISE_XOR:
        EW(int64_t, int64_t, x ^ z);
        break;
    default:
        break;
    }
}

static void k_u64(const struct bparams *p, const uint64_t *a, int64_t sa, const uint64_t *b,
                  int64_t sb, void *y, int64_t n)
{
    switch (p->op) {
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUM:
        EW(uint64_t, uint64_t, x + z);
        break;
    case SYNAP_OP_SUB:
        EW(uint64_t, uint64_t, x - z);
        break;
    case SYNAP_OP_MUL:
        EW(uint64_t, uint64_t, x * z);
        break;
    case SYNAP_OP_DIV:
        EW(uint64_t, uint64_t, z ? x / z : 0);
        break;
    case SYNAP_OP_MOD:
        EW(uint64_t, uint64_t, z ? x % z : 0);
        break;
    case SYNAP_OP_POW:
        EW(uint64_t, uint64_t, upow(x, z));
        break;
    case SYNAP_OP_PRELU:
        EW(uint64_t, uint64_t, ((void)z, x));
        break;
    case SYNAP_OP_MIN:
        EW(uint64_t, uint64_t, z < x ? z : x);
        break;
    case SYNAP_OP_MAX:
        EW(uint64_t, uint64_t, z > x ? z : x);
        break;
    case SYNAP_OP_EQUAL:
        EW(uint64_t, uint8_t, x == z);
        break;
    case SYNAP_OP_LESS:
        EW(uint64_t, uint8_t, x < z);
        break;
    case SYNAP_OP_LESS_OR_EQUAL:
        EW(uint64_t, uint8_t, x <= z);
        break;
    case SYNAP_OP_GREATER:
        EW(uint64_t, uint8_t, x > z);
        break;
    case SYNAP_OP_GREATER_OR_EQUAL:
        EW(uint64_t, uint8_t, x >= z);
        break;
    case SYNAP_OP_AND:
    case SYNAP_OP_BITWISE_AND:
        EW(uint64_t, uint64_t, x & z);
        break;
    case SYNAP_OP_OR:
    case SYNAP_OP_BITWISE_OR:
        EW(uint64_t, uint64_t, x | z);
        break;
    case SYNAP_OP_XOR:
    case SYNAP_OP_BITWISE_XOR:
        EW(uint64_t, uint64_t, x ^ z);
        break;
    case SYNAP_OP_BIT_SHIFT:
        if (p->shift_left)
            EW(uint64_t, uint64_t, z >= 64 ? 0 : x << z);
        else
            EW(uint64_t, uint64_t, z >= 64 ? 0 : x >> z);
        break;
    default:
        break;
    }
}

/* ---- the broadcast walk ------------------------------------------------------ */

#define MAX_IN 3

struct walk {
    int rank; /* >= 1 after collapsing */
    int nin;
    int64_t dims[SYNAP_MAX_RANK];
    int64_t st[MAX_IN][SYNAP_MAX_RANK]; /* element strides of each input */
};

/* Checks that each input broadcasts to `out` (run trusts infer, but a wrong
 * shape here would read out of bounds) and builds the collapsed view. */
static int walk_init(struct walk *w, struct synap_err *err, const struct synap_value *out,
                     const struct synap_value *const *ins, int nin)
{
    int64_t st[MAX_IN][SYNAP_MAX_RANK];
    w->nin = nin;
    for (int k = 0; k < nin; k++) {
        const struct synap_value *v = ins[k];
        if (v->rank > out->rank) return synap_errf(err, "input rank exceeds the output's");
        for (int d = 0; d < v->rank; d++) {
            int64_t od = out->dims[out->rank - v->rank + d];
            if (v->dims[d] != 1 && v->dims[d] != od)
                return synap_errf(err, "input %d does not broadcast to the output shape", k);
        }
        synap_broadcast_strides(v->rank, v->dims, out->rank, out->dims, st[k]);
    }
    w->rank = 0;
    for (int d = 0; d < out->rank; d++) {
        if (out->dims[d] == 1) continue;
        if (w->rank > 0) {
            int r = w->rank - 1;
            bool merge = true;
            for (int k = 0; k < nin; k++)
                if (w->st[k][r] != st[k][d] * out->dims[d]) merge = false;
            if (merge) {
                w->dims[r] *= out->dims[d];
                for (int k = 0; k < nin; k++)
                    w->st[k][r] = st[k][d];
                continue;
            }
        }
        w->dims[w->rank] = out->dims[d];
        for (int k = 0; k < nin; k++)
            w->st[k][w->rank] = st[k][d];
        w->rank++;
    }
    if (w->rank == 0) { /* a single element */
        w->rank = 1;
        w->dims[0] = 1;
        for (int k = 0; k < nin; k++)
            w->st[k][0] = 0;
    }
    return 0;
}

typedef void (*segment_fn)(void *ctx, const int64_t *off, int64_t yoff, int64_t n);

/* Calls seg for each run of output elements [begin, end) that lies in one
 * innermost row, with each input's offset at the run's start. */
static void walk_range(const struct walk *w, int64_t begin, int64_t end, segment_fn seg, void *ctx)
{
    int r = w->rank;
    int64_t idx[SYNAP_MAX_RANK], off[MAX_IN] = {0};
    int64_t rem = begin;
    for (int d = r - 1; d >= 0; d--) {
        idx[d] = rem % w->dims[d];
        rem /= w->dims[d];
        for (int k = 0; k < w->nin; k++)
            off[k] += idx[d] * w->st[k][d];
    }
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = w->dims[r - 1] - idx[r - 1];
        if (n > end - pos) n = end - pos;
        seg(ctx, off, pos, n);
        pos += n;
        idx[r - 1] += n;
        for (int k = 0; k < w->nin; k++)
            off[k] += n * w->st[k][r - 1];
        for (int d = r - 1; d > 0 && idx[d] == w->dims[d]; d--) {
            idx[d] = 0;
            idx[d - 1]++;
            for (int k = 0; k < w->nin; k++)
                off[k] += w->st[k][d - 1] - w->dims[d] * w->st[k][d];
        }
    }
}

/* ---- one pairwise step: y = a op b ------------------------------------------ */

struct bjob {
    struct walk w;
    struct bparams p;
    enum domain dom;
    const struct synap_value *a, *b, *c; /* c: Where's condition (as a) */
    struct synap_value *y;
    segment_fn seg;
};

static void binary_segment(void *ctx, const int64_t *off, int64_t yoff, int64_t n)
{
    const struct bjob *j = ctx;
    enum synap_dtype ta = j->a->dtype, tb = j->b->dtype, ty = j->y->dtype;
    int64_t sa = j->w.st[0][j->w.rank - 1], sb = j->w.st[1][j->w.rank - 1];
    const struct bparams *p = &j->p;
    size_t ysize = synap_dtype_size(ty);

    /* native types run in place without a copy */
    if (ta == tb && j->dom == DOM_F32 && ta == SYNAP_DTYPE_FLOAT32) {
        k_f32(p, (const float *)j->a->data + off[0], sa, (const float *)j->b->data + off[1], sb,
              (char *)j->y->data + yoff * ysize, n);
        return;
    }
    if (ta == tb && j->dom == DOM_F64 && ta == SYNAP_DTYPE_FLOAT64) {
        k_f64(p, (const double *)j->a->data + off[0], sa, (const double *)j->b->data + off[1], sb,
              (char *)j->y->data + yoff * ysize, n);
        return;
    }

    union {
        float f[BLOCK];
        double d[BLOCK];
        uint64_t u[BLOCK];
    } A, B, Y;
    bool cmp = is_compare(p->op);
    for (int64_t k = 0; k < n; k += BLOCK) {
        int64_t m = n - k < BLOCK ? n - k : BLOCK;
        int64_t ma = sa ? m : 1, mb = sb ? m : 1;
        int64_t oa = off[0] + k * sa, ob = off[1] + k * sb;
        void *yout = cmp ? (void *)((uint8_t *)j->y->data + yoff + k) : (void *)&Y;
        switch (j->dom) {
        case DOM_F32:
            load_f32(ta, j->a->data, oa, 1, ma, A.f);
            load_f32(tb, j->b->data, ob, 1, mb, B.f);
            k_f32(p, A.f, sa, B.f, sb, yout, m);
            if (!cmp) store_f32(ty, j->y->data, yoff + k, m, Y.f);
            break;
        case DOM_F64: /* float64, or Pow with mixed types */
            load_f64(ta, j->a->data, oa, 1, ma, A.d);
            load_f64(tb, j->b->data, ob, 1, mb, B.d);
            k_f64(p, A.d, sa, B.d, sb, yout, m);
            if (!cmp) store_f64(ty, j->y->data, yoff + k, m, Y.d);
            break;
        case DOM_I64:
        case DOM_U64:
            load_u64(ta, j->a->data, oa, 1, ma, A.u);
            load_u64(tb, j->b->data, ob, 1, mb, B.u);
            if (j->dom == DOM_I64)
                k_i64(p, (const int64_t *)A.u, sa, (const int64_t *)B.u, sb, yout, m);
            else
                k_u64(p, A.u, sa, B.u, sb, yout, m);
            if (!cmp) store_u64(ty, j->y->data, yoff + k, m, Y.u);
            break;
        }
    }
}

static void where_segment(void *ctx, const int64_t *off, int64_t yoff, int64_t n)
{
    const struct bjob *j = ctx;
    const uint8_t *c = (const uint8_t *)j->c->data + off[0];
    int64_t sc = j->w.st[0][j->w.rank - 1], sx = j->w.st[1][j->w.rank - 1],
            sy = j->w.st[2][j->w.rank - 1];
    switch (synap_dtype_size(j->y->dtype)) {
#define SEL(SIZE, T)                                                                               \
    case SIZE: {                                                                                   \
        const T *x = (const T *)j->a->data + off[1], *z = (const T *)j->b->data + off[2];          \
        T *y = (T *)j->y->data + yoff;                                                             \
        for (int64_t i = 0; i < n; i++)                                                            \
            y[i] = c[i * sc] ? x[i * sx] : z[i * sy];                                              \
        break;                                                                                     \
    }
        SEL(1, uint8_t)
        SEL(2, uint16_t)
        SEL(4, uint32_t)
        SEL(8, uint64_t)
#undef SEL
    default:
        break;
    }
}

static void job_task(void *arg, size_t begin, size_t end)
{
    struct bjob *j = arg;
    walk_range(&j->w, (int64_t)begin, (int64_t)end, j->seg, j);
}

static void job_run(struct bjob *j, struct synap_pool *pool)
{
    int64_t n = synap_value_nelem(j->y);
    if (n <= 0) return;
    synap_pool_for(pool, (size_t)n, GRAIN, job_task, j);
}

/* y = a op b over the broadcast; y may alias a when a has y's shape and dtype. */
static int binary_step(struct synap_kctx *c, const struct bparams *p, const struct synap_value *a,
                       const struct synap_value *b, struct synap_value *y)
{
    struct bjob j = {.p = *p, .a = a, .b = b, .y = y, .seg = binary_segment};
    const struct synap_value *ins[2] = {a, b};
    if (walk_init(&j.w, c->err, y, ins, 2)) return -1;
    j.dom = domain_of(a->dtype);
    if (p->op == SYNAP_OP_POW && a->dtype != b->dtype) j.dom = DOM_F64;
    job_run(&j, c->pool);
    return 0;
}

/* ---- Mean's final division ----------------------------------------------------- */

struct scale_job {
    struct synap_value *y;
    double n;
};

static void scale_task(void *arg, size_t begin, size_t end)
{
    const struct scale_job *s = arg;
    float f[BLOCK];
    for (size_t k = begin; k < end; k += BLOCK) {
        int64_t m = (int64_t)(end - k < BLOCK ? end - k : BLOCK);
        if (s->y->dtype == SYNAP_DTYPE_FLOAT64) {
            double *d = (double *)s->y->data + k;
            for (int64_t i = 0; i < m; i++)
                d[i] /= s->n;
            continue;
        }
        load_f32(s->y->dtype, s->y->data, (int64_t)k, 1, m, f);
        for (int64_t i = 0; i < m; i++)
            f[i] /= (float)s->n;
        store_f32(s->y->dtype, s->y->data, (int64_t)k, m, f);
    }
}

/* ---- infer ------------------------------------------------------------------------ */

static bool is_numeric(enum synap_dtype t)
{
    return synap_dtype_is_float(t) || synap_dtype_is_int(t);
}

static int get_params(struct synap_kctx *c, struct bparams *p)
{
    const struct synap_node *node = c->node;
    int64_t fmod_attr = synap_attr_int(node, "fmod", 0);
    if (fmod_attr != 0 && fmod_attr != 1)
        return synap_errf(c->err, "attribute fmod: expected 0 or 1, got %lld",
                          (long long)fmod_attr);
    *p = (struct bparams){.op = node->op, .fmod = (int)fmod_attr};
    if (node->op == SYNAP_OP_BIT_SHIFT) {
        const char *dir = synap_attr_string(node, "direction", "");
        if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
            return synap_errf(c->err, "attribute direction: expected LEFT or RIGHT, got '%s'", dir);
        p->shift_left = !strcmp(dir, "LEFT");
    }
    return 0;
}

/* Which dtypes each op accepts (ONNX opset 17 type constraints). */
static int check_dtype(struct synap_kctx *c, size_t i, enum synap_dtype t)
{
    enum synap_op op = c->node->op;
    bool ok;
    switch (op) {
    case SYNAP_OP_AND:
    case SYNAP_OP_OR:
    case SYNAP_OP_XOR:
        ok = t == SYNAP_DTYPE_BOOL;
        break;
    case SYNAP_OP_EQUAL:
        ok = is_numeric(t) || t == SYNAP_DTYPE_BOOL;
        break;
    case SYNAP_OP_BIT_SHIFT:
        ok = is_unsigned(t);
        break;
    case SYNAP_OP_BITWISE_AND:
    case SYNAP_OP_BITWISE_OR:
    case SYNAP_OP_BITWISE_XOR:
        ok = synap_dtype_is_int(t);
        break;
    case SYNAP_OP_MEAN:
        ok = synap_dtype_is_float(t);
        break;
    default:
        ok = is_numeric(t);
        break;
    }
    if (!ok)
        return synap_errf(c->err, "input %zu: dtype %s is not supported by %s", i,
                          synap_dtype_name(t), synap_op_name(op));
    return 0;
}

int synap_binary_infer(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_infer(c, synap_binary_infer);
    enum synap_op op = c->node->op;
    if (c->nout < 1) return synap_errf(c->err, "expected 1 output");
    size_t first = op == SYNAP_OP_WHERE ? 1 : 0;
    if (is_variadic(op)) {
        if (c->nin < 1 || c->nin > 255)
            return synap_errf(c->err, "expected 1 to 255 inputs, got %zu", c->nin);
    } else if (c->nin != (op == SYNAP_OP_WHERE ? 3u : 2u)) {
        return synap_errf(c->err, "expected %u inputs, got %zu", op == SYNAP_OP_WHERE ? 3u : 2u,
                          c->nin);
    }
    for (size_t i = 0; i < c->nin; i++)
        if (!synap_has_input(c, i)) return synap_errf(c->err, "input %zu is missing", i);
    enum synap_dtype t = c->in[first].dtype;
    if (op == SYNAP_OP_WHERE) {
        if (c->in[0].dtype != SYNAP_DTYPE_BOOL)
            return synap_errf(c->err, "input 0 (condition): expected bool, got %s",
                              synap_dtype_name(c->in[0].dtype));
    } else if (check_dtype(c, first, t)) {
        return -1;
    }
    for (size_t i = first + 1; i < c->nin; i++) {
        enum synap_dtype ti = c->in[i].dtype;
        if (op == SYNAP_OP_POW) { /* the exponent may have another numeric type */
            if (check_dtype(c, i, ti)) return -1;
        } else if (ti != t) {
            return synap_errf(c->err, "input %zu: expected dtype %s (as input %zu), got %s", i,
                              synap_dtype_name(t), first, synap_dtype_name(ti));
        }
    }

    struct bparams p;
    if (get_params(c, &p)) return -1;

    struct synap_value *o = &c->out[0];
    o->rank = c->in[0].rank;
    memcpy(o->dims, c->in[0].dims, sizeof o->dims);
    for (size_t i = 1; i < c->nin; i++) {
        int r;
        int64_t d[SYNAP_MAX_RANK];
        if (c->in[i].rank < 0 || c->in[i].rank > SYNAP_MAX_RANK)
            return synap_errf(c->err, "input %zu: bad rank %d", i, c->in[i].rank);
        if (synap_broadcast_shape(c->err, o->rank, o->dims, c->in[i].rank, c->in[i].dims, &r, d))
            return -1;
        o->rank = r;
        memcpy(o->dims, d, sizeof d);
    }
    if (op == SYNAP_OP_PRELU) { /* the slope broadcasts to X, never the reverse */
        bool same = o->rank == c->in[0].rank;
        for (int d = 0; same && d < o->rank; d++)
            same = o->dims[d] == c->in[0].dims[d];
        if (!same) {
            char s1[160], s2[160];
            return synap_errf(c->err, "slope %s does not broadcast to X %s",
                              synap_shape_str(c->in[1].rank, c->in[1].dims, s1, sizeof s1),
                              synap_shape_str(c->in[0].rank, c->in[0].dims, s2, sizeof s2));
        }
    }
    if (synap_shape_nelem(o->rank, o->dims) < 0)
        return synap_errf(c->err, "output shape overflows");
    o->dtype = is_compare(op) ? SYNAP_DTYPE_BOOL : t;
    return 0;
}

/* ---- run ------------------------------------------------------------------------ */

int synap_binary_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_run(c);
    enum synap_op op = c->node->op;
    struct synap_value *y = &c->out[0];
    if (c->nout < 1 || c->nin < 1) return synap_errf(c->err, "missing inputs or outputs");

    if (op == SYNAP_OP_WHERE) {
        if (c->nin != 3) return synap_errf(c->err, "expected 3 inputs, got %zu", c->nin);
        struct bjob j = {
            .c = &c->in[0], .a = &c->in[1], .b = &c->in[2], .y = y, .seg = where_segment};
        const struct synap_value *ins[3] = {&c->in[0], &c->in[1], &c->in[2]};
        if (walk_init(&j.w, c->err, y, ins, 3)) return -1;
        job_run(&j, c->pool);
        return 0;
    }

    struct bparams p;
    if (get_params(c, &p)) return -1;
    if (!is_variadic(op)) return binary_step(c, &p, &c->in[0], &c->in[1], y);

    /* Variadic: y = in0 op in1, then y = y op in_k; one input is a copy. */
    if (c->nin == 1) {
        const struct synap_value *ins[1] = {&c->in[0]};
        struct walk w;
        if (walk_init(&w, c->err, y, ins, 1)) return -1;
        int64_t n = synap_value_nelem(y);
        if (n > 0 && y->data != c->in[0].data)
            memcpy(y->data, c->in[0].data, (size_t)n * synap_dtype_size(y->dtype));
        return 0;
    }
    for (size_t k = 1; k < c->nin; k++)
        if (binary_step(c, &p, k == 1 ? &c->in[0] : y, &c->in[k], y)) return -1;
    if (op == SYNAP_OP_MEAN) {
        struct scale_job s = {.y = y, .n = (double)c->nin};
        int64_t n = synap_value_nelem(y);
        if (n > 0) synap_pool_for(c->pool, (size_t)n, GRAIN, scale_task, &s);
    }
    return 0;
}
