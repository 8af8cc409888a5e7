/* MaxPool, AveragePool, LpPool and their Global forms (ONNX opset 17), any
 * number of spatial dims.
 *
 * Windows are clipped to the input once per output position (a valid tap
 * range per dim), so the inner loops carry no bounds checks. Work is split
 * over (batch, channel) planes; each output element is computed by one
 * thread in a fixed order, so results never depend on the thread count.
 * Non-float32 inputs (float16, float64, int8, uint8) are converted to float32
 * in scratch and the result converted back; 8-bit values are exact in float32.
 */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

#define MAX_SP (SYNAP_MAX_RANK - 2)

enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP };

struct pool_shape {
    enum pool_kind kind;
    int global;
    int nsp;
    int64_t planes; /* batch * channels */
    int64_t in[MAX_SP], out[MAX_SP], k[MAX_SP], s[MAX_SP], d[MAX_SP], pb[MAX_SP], pe[MAX_SP];
    int64_t in_sp, out_sp;
    int count_include_pad, storage_order;
    int64_t p; /* LpPool exponent */
};

static int ints_attr(struct synap_kctx *c, const char *name, size_t n, int64_t lo, int64_t def,
                     int64_t *out)
{
    const int64_t *v;
    size_t got = synap_attr_ints(c->node, name, &v);
    if (got == 0 && !synap_node_attr(c->node, name)) {
        for (size_t i = 0; i < n; i++)
            out[i] = def;
        return 0;
    }
    if (got != n)
        return synap_errf(c->err, "attribute %s: expected %zu values, got %zu", name, n, got);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > ((int64_t)1 << 40))
            return synap_errf(c->err, "attribute %s: value %lld out of range", name,
                              (long long)v[i]);
        out[i] = v[i];
    }
    return 0;
}

static int pool_shape(struct synap_kctx *c, struct pool_shape *p)
{
    memset(p, 0, sizeof *p);
    enum synap_op op = c->node->op;
    p->kind = op == SYNAP_OP_MAX_POOL || op == SYNAP_OP_GLOBAL_MAX_POOL ? POOL_MAX
              : op == SYNAP_OP_LP_POOL || op == SYNAP_OP_GLOBAL_LP_POOL ? POOL_LP
                                                                        : POOL_AVG;
    p->global = op == SYNAP_OP_GLOBAL_MAX_POOL || op == SYNAP_OP_GLOBAL_AVERAGE_POOL ||
                op == SYNAP_OP_GLOBAL_LP_POOL;
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "expected one input and one output");
    const struct synap_value *x = &c->in[0];
    enum synap_dtype t = x->dtype;
    int int8_ok = (op == SYNAP_OP_MAX_POOL && (t == SYNAP_DTYPE_INT8 || t == SYNAP_DTYPE_UINT8)) ||
                  synap_q_node(c);
    if (!synap_dtype_is_float(t) && !int8_ok)
        return synap_errf(c->err, "input 0: unsupported type %s", synap_dtype_name(t));
    if (x->rank < 3) return synap_errf(c->err, "input 0: expected rank >= 3, got %d", x->rank);
    int nsp = p->nsp = x->rank - 2;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] < 0) return synap_errf(c->err, "input 0: negative dimension");
    p->planes = x->dims[0] * x->dims[1]; /* bounded by the tensor's element count */
    p->p = 2;
    if (p->kind == POOL_LP) {
        p->p = synap_attr_int(c->node, "p", 2);
        if (p->p < 1 || p->p > 64)
            return synap_errf(c->err, "attribute p: expected 1..64, got %lld", (long long)p->p);
    }

    p->in_sp = p->out_sp = 1;
    if (p->global) {
        for (int i = 0; i < nsp; i++) {
            p->in[i] = p->k[i] = x->dims[2 + i];
            p->out[i] = p->s[i] = p->d[i] = 1;
            p->in_sp *= p->in[i];
        }
        if (p->in_sp == 0) return synap_errf(c->err, "input 0: empty spatial dims");
        return 0;
    }

    int64_t pads[2 * MAX_SP];
    const int64_t *ks;
    if (synap_attr_ints(c->node, "kernel_shape", &ks) != (size_t)nsp)
        return synap_errf(c->err, "attribute kernel_shape: expected %d values", nsp);
    if (ints_attr(c, "kernel_shape", nsp, 1, 1, p->k) || ints_attr(c, "strides", nsp, 1, 1, p->s) ||
        ints_attr(c, "dilations", nsp, 1, 1, p->d) || ints_attr(c, "pads", 2 * nsp, 0, 0, pads))
        return -1;
    int ceil_mode = synap_attr_int(c->node, "ceil_mode", 0) != 0;
    p->count_include_pad = synap_attr_int(c->node, "count_include_pad", 0) != 0;
    p->storage_order = synap_attr_int(c->node, "storage_order", 0) != 0;
    const char *ap = synap_attr_string(c->node, "auto_pad", "NOTSET");
    int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return synap_errf(c->err, "attribute auto_pad: unknown value '%s'", ap);

    for (int i = 0; i < nsp; i++) {
        int64_t in = p->in[i] = x->dims[2 + i], s = p->s[i];
        int64_t dk = (p->k[i] - 1) * p->d[i] + 1, b = pads[i], e = pads[nsp + i], out;
        if (in < 1) return synap_errf(c->err, "input 0: spatial dim %d is empty", i);
        if (same) {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + dk - in;
            if (total < 0) total = 0;
            b = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            e = total - b;
        } else {
            if (!strcmp(ap, "VALID")) b = e = 0;
            if (b >= dk || e >= dk)
                return synap_errf(c->err,
                                  "attribute pads: pad %lld/%lld not smaller than the kernel %lld",
                                  (long long)b, (long long)e, (long long)dk);
            int64_t span = in + b + e - dk;
            if (span < 0)
                return synap_errf(
                    c->err, "spatial dim %d: input %lld with pads is smaller than the kernel %lld",
                    i, (long long)in, (long long)dk);
            out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            /* ceil_mode: a window that would start in the right padding is
             * dropped (ONNX Runtime, PyTorch). */
            if (ceil_mode && (out - 1) * s >= in + b) out--;
        }
        p->out[i] = out;
        p->pb[i] = b;
        p->pe[i] = e;
        p->in_sp *= in;
        if (out > ((int64_t)1 << 40) / p->out_sp) return synap_errf(c->err, "output too large");
        p->out_sp *= out;
    }
    size_t ny;
    if (synap_mul_overflow((size_t)p->planes, (size_t)p->out_sp, &ny) || ny > ((size_t)1 << 40))
        return synap_errf(c->err, "output too large");
    return 0;
}

/* Floats of scratch: converted input and output when not float32. */
static size_t scratch_floats(const struct synap_kctx *c, const struct pool_shape *p)
{
    if (c->in[0].dtype == SYNAP_DTYPE_FLOAT32) return 0;
    return (size_t)synap_value_nelem(&c->in[0]) + (size_t)(p->planes * p->out_sp);
}

static int qpool_check(struct synap_kctx *c, const struct pool_shape *p);

int synap_pool_infer(struct synap_kctx *c)
{
    struct pool_shape p;
    if (pool_shape(c, &p)) return -1;
    if (synap_q_node(c)) {
        if (qpool_check(c, &p)) return -1;
        int64_t dims[SYNAP_MAX_RANK] = {c->in[0].dims[0], c->in[0].dims[1]};
        for (int i = 0; i < p.nsp; i++)
            dims[2 + i] = p.out[i];
        c->scratch_nbytes = 0;
        if (synap_q_set_out(c, 0, c->in[0].rank, dims)) return -1;
        if (c->nout > 1) {
            c->out[1].dtype = SYNAP_DTYPE_INT64;
            c->out[1].rank = c->out[0].rank;
            memcpy(c->out[1].dims, c->out[0].dims, sizeof c->out[0].dims);
        }
        return 0;
    }
    size_t n = scratch_floats(c, &p);
    if (synap_mul_overflow(n, sizeof(float), &c->scratch_nbytes))
        return synap_errf(c->err, "scratch too large");
    struct synap_value *y = &c->out[0];
    y->dtype = c->in[0].dtype;
    y->rank = c->in[0].rank;
    y->dims[0] = c->in[0].dims[0];
    y->dims[1] = c->in[0].dims[1];
    for (int i = 0; i < p.nsp; i++)
        y->dims[2 + i] = p.out[i];
    if (c->nout > 1) {
        struct synap_value *ind = &c->out[1];
        ind->dtype = SYNAP_DTYPE_INT64;
        ind->rank = y->rank;
        memcpy(ind->dims, y->dims, sizeof y->dims);
    }
    return 0;
}

struct pool_args {
    const struct pool_shape *p;
    const float *x;
    float *y;
    int64_t *ind; /* MaxPool's Indices or NULL */
};

/* The global forms: one reduction per plane. */
static void global_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_args *a = arg;
    const struct pool_shape *p = a->p;
    for (size_t pl = begin; pl < end; pl++) {
        const float *x = a->x + (int64_t)pl * p->in_sp;
        if (p->kind == POOL_MAX) {
            float m = -INFINITY;
            for (int64_t i = 0; i < p->in_sp; i++)
                m = x[i] > m ? x[i] : m;
            a->y[pl] = m;
        } else if (p->kind == POOL_AVG) {
            double s = 0;
            for (int64_t i = 0; i < p->in_sp; i++)
                s += x[i];
            a->y[pl] = (float)(s / (double)p->in_sp);
        } else {
            double s = 0;
            for (int64_t i = 0; i < p->in_sp; i++)
                s += pow(fabs((double)x[i]), (double)p->p);
            a->y[pl] = (float)pow(s, 1.0 / (double)p->p);
        }
    }
}

/* Windowed forms. For each output position, per dim: taps t in [lo, hi)
 * land inside the input; `cnt` counts the taps inside the padded extent
 * [-pb, in + pe) (AveragePool with count_include_pad). */
static void window_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_args *a = arg;
    const struct pool_shape *p = a->p;
    int nsp = p->nsp;
    /* Row-major or (storage_order 1) column-major spatial strides for Indices. */
    int64_t istride[MAX_SP], rstride[MAX_SP], m = 1;
    for (int i = nsp - 1; i >= 0; i--) {
        rstride[i] = m;
        m *= p->in[i];
    }
    m = 1;
    for (int i = 0; i < nsp; i++) {
        istride[i] = p->storage_order ? m : rstride[i];
        m *= p->in[i];
    }
    for (size_t pl = begin; pl < end; pl++) {
        const float *x = a->x + (int64_t)pl * p->in_sp;
        float *y = a->y + (int64_t)pl * p->out_sp;
        int64_t *ind = a->ind ? a->ind + (int64_t)pl * p->out_sp : NULL;
        int64_t o[MAX_SP] = {0};
        for (int64_t j = 0; j < p->out_sp; j++) {
            int64_t lo[MAX_SP], hi[MAX_SP], start[MAX_SP], cnt = 1, ntaps = 1;
            for (int i = 0; i < nsp; i++) {
                int64_t st = start[i] = o[i] * p->s[i] - p->pb[i], d = p->d[i];
                /* first tap with st + t*d >= 0, last with st + t*d < in */
                int64_t l = st >= 0 ? 0 : (-st + d - 1) / d;
                int64_t h = p->in[i] - st <= 0 ? 0 : (p->in[i] - st - 1) / d + 1;
                if (h > p->k[i]) h = p->k[i];
                if (l > h) l = h;
                lo[i] = l;
                hi[i] = h;
                ntaps *= h - l;
                if (p->count_include_pad) {
                    int64_t lp = st >= -p->pb[i] ? 0 : (-p->pb[i] - st + d - 1) / d;
                    int64_t lim = p->in[i] + p->pe[i] - st;
                    int64_t hp = lim <= 0 ? 0 : (lim - 1) / d + 1;
                    if (hp > p->k[i]) hp = p->k[i];
                    cnt *= hp > lp ? hp - lp : 0;
                }
            }
            float mx = -INFINITY, acc = 0.0f;
            int64_t arg_idx = -1;
            if (ntaps > 0) {
                int64_t t[MAX_SP];
                for (int i = 0; i < nsp; i++)
                    t[i] = lo[i];
                int last = nsp - 1;
                for (;;) {
                    int64_t off = 0, ioff = 0;
                    for (int i = 0; i < last; i++) {
                        int64_t pos = start[i] + t[i] * p->d[i];
                        off += pos * rstride[i];
                        ioff += pos * istride[i];
                    }
                    /* innermost dim as a plain loop */
                    for (int64_t u = lo[last]; u < hi[last]; u++) {
                        int64_t pos = start[last] + u * p->d[last];
                        float v = x[off + pos];
                        if (p->kind == POOL_MAX) {
                            /* NaNs never win, like ONNX Runtime; the first
                             * tap is the index until something beats it. */
                            if (v > mx) {
                                mx = v;
                                arg_idx = ioff + pos * istride[last];
                            } else if (arg_idx < 0) {
                                arg_idx = ioff + pos * istride[last];
                            }
                        } else if (p->kind == POOL_AVG) {
                            acc += v;
                        } else {
                            float av = fabsf(v);
                            acc += p->p == 1   ? av
                                   : p->p == 2 ? av * av
                                               : (float)pow((double)av, (double)p->p);
                        }
                    }
                    int i = last - 1;
                    for (; i >= 0; i--) {
                        if (++t[i] < hi[i]) break;
                        t[i] = lo[i];
                    }
                    if (i < 0) break;
                }
            }
            if (p->kind == POOL_MAX) {
                y[j] = mx;
                if (ind) ind[j] = (arg_idx < 0 ? 0 : arg_idx) + (int64_t)pl * p->in_sp;
            } else if (p->kind == POOL_AVG) {
                int64_t div = p->count_include_pad ? cnt : ntaps;
                y[j] = div > 0 ? acc / (float)div : NAN;
            } else {
                y[j] = p->p == 1   ? acc
                       : p->p == 2 ? sqrtf(acc)
                                   : (float)pow((double)acc, 1.0 / (double)p->p);
            }
            for (int i = nsp - 1; i >= 0; i--) {
                if (++o[i] < p->out[i]) break;
                o[i] = 0;
            }
        }
    }
}

/* ---- integer pooling (TFLite's reference integer pooling) ---------------
 * MaxPool and AveragePool work on the raw quantized values, so input and
 * output must share scale and zero point (as TFLite requires). AveragePool
 * sums the taps inside the input (padding excluded, count_include_pad = 0)
 * in int32 and divides with rounding half away from zero:
 * (acc +- count/2) / count. The global forms are the same windows over the
 * whole plane (GlobalAveragePool is also TFLite's MEAN when the parameters
 * agree; see reduce.c for differing ones). */

static int qpool_check(struct synap_kctx *c, const struct pool_shape *p)
{
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = synap_q_out(c, 0);
    if (p->kind == POOL_LP) return synap_errf(c->err, "LpPool has no integer kernel");
    if (synap_q_per_tensor(c, qi, "input 0")) return -1;
    if (qo && !synap_q_same(qi, qo) && !(p->kind == POOL_AVG && p->global))
        return synap_errf(c->err, "integer pooling needs the same scale and zero point on input "
                                  "and output (TFLite's rule)");
    if (p->global && p->kind == POOL_AVG && !qo)
        return synap_errf(c->err, "output 0: no quantization parameters");
    if (qo && synap_q_per_tensor(c, qo, "output 0")) return -1;
    if (p->kind == POOL_AVG && p->count_include_pad && !p->global)
        return synap_errf(c->err, "integer AveragePool supports count_include_pad = 0 only");
    return 0;
}

struct qpool_args {
    const struct pool_shape *p;
    enum synap_dtype tin, tout;
    const void *x;
    void *y;
    /* GlobalAveragePool with its own output parameters: ReduceMean's rule
     * (synap_q_mean) */
    int32_t zi, zo, m;
    int sh;
};

static void qgap_planes(void *arg, size_t begin, size_t end)
{
    const struct qpool_args *a = arg;
    int64_t n = a->p->in_sp;
    int32_t lo, hi;
    synap_q_range(a->tout, &lo, &hi);
    bool wide = synap_dtype_size(a->tin) > 1;
    for (size_t pl = begin; pl < end; pl++) {
        int64_t acc = 0;
        for (int64_t j = 0; j < n; j++)
            acc += synap_q_load(a->tin, a->x, (int64_t)pl * n + j) - a->zi;
        int64_t v = synap_q_mean(acc, n, a->m, a->sh, wide) + a->zo;
        synap_q_store(a->tout, a->y, (int64_t)pl, (int32_t)(v < lo ? lo : v > hi ? hi : v));
    }
}

static void qpool_planes(void *arg, size_t begin, size_t end)
{
    const struct qpool_args *a = arg;
    const struct pool_shape *p = a->p;
    int nsp = p->nsp;
    for (size_t pl = begin; pl < end; pl++) {
        int64_t xb = (int64_t)pl * p->in_sp, yb = (int64_t)pl * p->out_sp;
        int64_t o[MAX_SP] = {0};
        for (int64_t j = 0; j < p->out_sp; j++) {
            /* the clipped window: per dim, the first input index and tap count */
            int64_t lo[MAX_SP], kk[MAX_SP], t[MAX_SP] = {0}, count = 1;
            for (int i = 0; i < nsp; i++) {
                int64_t k = p->global ? p->in[i] : p->k[i];
                int64_t s = p->global ? 1 : p->s[i];
                int64_t pb = p->global ? 0 : p->pb[i];
                lo[i] = o[i] * s - pb;
                kk[i] = k;
            }
            int64_t acc = 0;
            int32_t mx = INT32_MIN;
            int64_t n = 0;
            for (int i = 0; i < nsp; i++)
                count *= kk[i];
            for (int64_t tap = 0; tap < count; tap++) {
                int64_t off = 0;
                int inside = 1;
                for (int i = 0; i < nsp; i++) {
                    int64_t d = p->global ? 1 : p->d[i];
                    int64_t ic = lo[i] + t[i] * d;
                    if (ic < 0 || ic >= p->in[i]) {
                        inside = 0;
                        break;
                    }
                    off = off * p->in[i] + ic;
                }
                if (inside) {
                    int32_t v = synap_q_load(a->tin, a->x, xb + off);
                    acc += v; /* int64: no overflow for any window */
                    mx = v > mx ? v : mx;
                    n++;
                }
                for (int i = nsp - 1; i >= 0 && ++t[i] == kk[i]; i--)
                    t[i] = 0;
            }
            int32_t r;
            if (p->kind == POOL_MAX) {
                r = n ? mx : 0;
            } else {
                int64_t div = p->global ? count : n;
                if (p->count_include_pad && !p->global) div = count;
                r = div == 0  ? 0
                    : acc > 0 ? synap_q_sat32((acc + div / 2) / div)
                              : synap_q_sat32((acc - div / 2) / div);
            }
            synap_q_store(a->tout, a->y, yb + j, r);
            for (int i = nsp - 1; i >= 0 && ++o[i] == p->out[i]; i--)
                o[i] = 0;
        }
    }
}

static int qpool_run(struct synap_kctx *c, const struct pool_shape *p)
{
    if (qpool_check(c, p)) return -1;
    struct qpool_args a = {.p = p,
                           .tin = c->in[0].dtype,
                           .tout = c->out[0].dtype,
                           .x = c->in[0].data,
                           .y = c->out[0].data};
    const struct synap_quant *qi = synap_q_in(c, 0), *qo = synap_q_out(c, 0);
    if (p->global && p->kind == POOL_AVG && !synap_q_same(qi, qo)) {
        a.zi = qi->zero_point[0];
        a.zo = qo->zero_point[0];
        synap_q_quantize_multiplier((double)qi->scale[0] / (double)qo->scale[0], &a.m, &a.sh);
        if (p->planes > 0) synap_pool_for(c->pool, (size_t)p->planes, 1, qgap_planes, &a);
        return 0;
    }
    if (p->planes > 0) synap_pool_for(c->pool, (size_t)p->planes, 1, qpool_planes, &a);
    if (c->node->op == SYNAP_OP_MAX_POOL && c->nout > 1 && c->out[1].data)
        return synap_errf(c->err, "integer MaxPool does not produce Indices");
    return 0;
}

int synap_pool_run(struct synap_kctx *c)
{
    struct pool_shape p;
    if (pool_shape(c, &p)) return -1;
    if (synap_q_node(c)) return qpool_run(c, &p);
    size_t nscratch = scratch_floats(c, &p);
    if (nscratch * sizeof(float) > c->scratch_nbytes || (nscratch && !c->scratch))
        return synap_errf(c->err, "scratch: need %zu bytes, got %zu", nscratch * sizeof(float),
                          c->scratch_nbytes);
    enum synap_dtype dt = c->in[0].dtype;
    int64_t nx = synap_value_nelem(&c->in[0]), ny = p.planes * p.out_sp;
    int with_indices = c->node->op == SYNAP_OP_MAX_POOL && c->nout > 1 && c->out[1].data;
    struct pool_args a = {&p, c->in[0].data, c->out[0].data,
                          with_indices ? (int64_t *)c->out[1].data : NULL};
    if (dt != SYNAP_DTYPE_FLOAT32) {
        float *xs = c->scratch;
        synap_convert(SYNAP_DTYPE_FLOAT32, xs, dt, c->in[0].data, nx);
        a.x = xs;
        a.y = xs + nx;
    }
    if (p.planes > 0)
        synap_pool_for(c->pool, (size_t)p.planes, 1, p.global ? global_planes : window_planes, &a);
    if (dt != SYNAP_DTYPE_FLOAT32) synap_convert(dt, c->out[0].data, SYNAP_DTYPE_FLOAT32, a.y, ny);
    return 0;
}
