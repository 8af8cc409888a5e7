/* ONNX's integer ops so pre-quantized models run: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, QLinearConv, QLinearMatMul,
 * MatMulInteger and ConvInteger.
 *
 * The arithmetic is ONNX Runtime's, so outputs match it exactly:
 *   quantize:    q = saturate(rint(x / scale) + zp), computed in float32;
 *   dequantize:  y = (float)(q - zp) * scale;
 *   accumulate:  sum of (a - a_zp) * (b - b_zp) in int32 (plus the int32 bias);
 *   requantize:  y = saturate(rint((float)acc * (a_scale * b_scale / y_scale)) + y_zp),
 * where rint rounds half to even (the default floating-point rounding mode).
 *
 * QuantizeLinear in a quantized (NPU) graph follows TFLite instead (see
 * kernels/qmath.h): when its output tensor has a quant record, float -> int
 * rounds half away from zero (TFLite's AffineQuantize), and an integer input
 * with a quant record is requantized to (y_scale, y_zero_point) by the
 * fixed-point multiplier s_in / s_out (TFLite's Requantize). Without quant
 * records (ONNX models) the ONNX arithmetic above applies unchanged. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

/* ---- element access ------------------------------------------------------- */

static int is_qtype(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_UINT8 || t == SYNAP_DTYPE_INT8 || t == SYNAP_DTYPE_UINT16 ||
           t == SYNAP_DTYPE_INT16;
}

static void qrange(enum synap_dtype t, float *lo, float *hi)
{
    switch (t) {
    case SYNAP_DTYPE_INT8:
        *lo = -128, *hi = 127;
        return;
    case SYNAP_DTYPE_UINT16:
        *lo = 0, *hi = 65535;
        return;
    case SYNAP_DTYPE_INT16:
        *lo = -32768, *hi = 32767;
        return;
    default:
        *lo = 0, *hi = 255;
        return;
    }
}

/* rint(v) + zp saturated to [lo, hi] and stored; NaN maps to the zero point. */
static inline void qstore(enum synap_dtype t, void *p, int64_t i, float v, int32_t zp, float lo,
                          float hi)
{
    float r = isnan(v) ? (float)zp : nearbyintf(v) + (float)zp;
    r = r < lo ? lo : r > hi ? hi : r;
    int32_t q = (int32_t)r;
    switch (t) {
    case SYNAP_DTYPE_INT8:
        ((int8_t *)p)[i] = (int8_t)q;
        return;
    case SYNAP_DTYPE_UINT16:
        ((uint16_t *)p)[i] = (uint16_t)q;
        return;
    case SYNAP_DTYPE_INT16:
        ((int16_t *)p)[i] = (int16_t)q;
        return;
    default:
        ((uint8_t *)p)[i] = (uint8_t)q;
        return;
    }
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= d[i];
    return p;
}

static int set_out(struct synap_kctx *c, size_t j, enum synap_dtype t, int rank,
                   const int64_t *dims)
{
    if (j >= c->nout) return synap_errf(c->err, "missing output %zu", j);
    if (rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output %zu: rank %d exceeds %d", j, rank, SYNAP_MAX_RANK);
    struct synap_value *o = &c->out[j];
    o->dtype = t;
    o->rank = rank;
    if (rank > 0) memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    if (synap_shape_nelem(rank, dims) < 0)
        return synap_errf(c->err, "output %zu: shape is too large", j);
    return 0;
}

static int need_inputs(struct synap_kctx *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!synap_has_input(c, i)) return synap_errf(c->err, "input %zu is required", i);
    return 0;
}

/* A scale input: float, with one element or `n` (n = 0: exactly one). */
static int check_scale(struct synap_kctx *c, size_t i, int64_t n, const char *what)
{
    const struct synap_value *s = &c->in[i];
    if (!synap_dtype_is_float(s->dtype))
        return synap_errf(c->err, "input %zu (%s): expected float, got %s", i, what,
                          synap_dtype_name(s->dtype));
    int64_t k = synap_value_nelem(s);
    if (k != 1 && (k != n || s->rank != 1))
        return synap_errf(c->err, "input %zu (%s): expected 1 element%s, got %lld", i, what,
                          n > 1 ? " or one per channel" : "", (long long)k);
    return 0;
}

/* An optional zero point: absent, or of dtype t with one element or `n`. */
static int check_zp(struct synap_kctx *c, size_t i, enum synap_dtype t, int64_t n, const char *what)
{
    if (!synap_has_input(c, i)) return 0;
    const struct synap_value *z = &c->in[i];
    if (z->dtype != t)
        return synap_errf(c->err, "input %zu (%s): expected %s, got %s", i, what,
                          synap_dtype_name(t), synap_dtype_name(z->dtype));
    int64_t k = synap_value_nelem(z);
    if (k != 1 && (k != n || z->rank != 1))
        return synap_errf(c->err, "input %zu (%s): expected 1 element%s, got %lld", i, what,
                          n > 1 ? " or one per channel" : "", (long long)k);
    return 0;
}

/* Element j of a one-or-n-element parameter (scalars broadcast). */
static inline float scale_at(const struct synap_value *s, int64_t j)
{
    return (float)synap_value_get_f64(s, synap_value_nelem(s) == 1 ? 0 : j);
}

static inline int32_t zp_at(const struct synap_kctx *c, size_t i, int64_t j)
{
    if (!synap_has_input(c, i)) return 0;
    const struct synap_value *z = &c->in[i];
    return synap_q_load(z->dtype, z->data, synap_value_nelem(z) == 1 ? 0 : j);
}

/* ---- QuantizeLinear / DequantizeLinear ---------------------------------- */

/* Per-tensor when the scale has one element, else per-axis along `axis`. */
static int linear_axis(struct synap_kctx *c, int64_t *axis, int64_t *nch)
{
    const struct synap_value *x = &c->in[0];
    *axis = 0;
    *nch = 1;
    if (synap_value_nelem(&c->in[1]) == 1 && c->in[1].rank <= 1) return 0;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 1), x->rank, axis)) return -1;
    *nch = x->dims[*axis];
    return 0;
}

/* Requantization int -> int: input 0 is quantized (per tensor); int32
 * counts only in a quantized graph (TFLite's QUANTIZE from int32), where
 * the output has a quant record too. */
static int requant_input(const struct synap_kctx *c)
{
    return synap_q_node(c) && (c->in[0].dtype != SYNAP_DTYPE_INT32 || synap_q_out(c, 0));
}

static int quantize_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis, nch;
    if (requant_input(c) && synap_q_per_tensor(c, synap_q_in(c, 0), "input 0")) return -1;
    if (!synap_dtype_is_float(x->dtype) && x->dtype != SYNAP_DTYPE_INT32 && !requant_input(c))
        return synap_errf(c->err, "input 0: expected float or int32, got %s",
                          synap_dtype_name(x->dtype));
    if (linear_axis(c, &axis, &nch) || check_scale(c, 1, nch, "y_scale")) return -1;
    enum synap_dtype t = synap_has_input(c, 2) ? c->in[2].dtype : SYNAP_DTYPE_UINT8;
    /* int32 results only as TFLite's requantization (int16 -> int32) */
    if (!is_qtype(t) && !(t == SYNAP_DTYPE_INT32 && requant_input(c)))
        return synap_errf(c->err, "input 2 (y_zero_point): unsupported type %s",
                          synap_dtype_name(t));
    if (check_zp(c, 2, t, nch, "y_zero_point")) return -1;
    return set_out(c, 0, t, x->rank, x->dims);
}

static int quantize_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t axis, nch;
    if (linear_axis(c, &axis, &nch)) return -1;
    int64_t outer = nch > 1 ? prod(x->dims, 0, (int)axis) : 1;
    int64_t inner = nch > 1 ? prod(x->dims, (int)axis + 1, x->rank) : synap_value_nelem(x);
    float lo, hi;
    qrange(y->dtype, &lo, &hi);
    int tfl = synap_q_out(c, 0) != NULL; /* an NPU graph: TFLite's rounding */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < nch; ch++) {
            float s = scale_at(&c->in[1], ch);
            int32_t zp = zp_at(c, 2, ch);
            int64_t base = (o * nch + ch) * inner;
            if (requant_input(c)) {
                struct synap_quant qy = {.nparams = 1, .scale = &s, .zero_point = &zp, .axis = -1};
                synap_q_requantize(
                    x->dtype, (const char *)x->data + base * (int64_t)synap_dtype_size(x->dtype),
                    synap_q_in(c, 0), y->dtype,
                    (char *)y->data + base * (int64_t)synap_dtype_size(y->dtype), &qy, inner);
            } else if (tfl) {
                int32_t ilo = (int32_t)lo, ihi = (int32_t)hi;
                for (int64_t i = 0; i < inner; i++)
                    synap_q_store(
                        y->dtype, y->data, base + i,
                        synap_q_quantize((float)synap_value_get_f64(x, base + i), s, zp, ilo, ihi));
            } else if (x->dtype == SYNAP_DTYPE_FLOAT32) {
                const float *xs = (const float *)x->data + base;
                for (int64_t i = 0; i < inner; i++)
                    qstore(y->dtype, y->data, base + i, xs[i] / s, zp, lo, hi);
            } else {
                for (int64_t i = 0; i < inner; i++)
                    qstore(y->dtype, y->data, base + i, (float)synap_value_get_f64(x, base + i) / s,
                           zp, lo, hi);
            }
        }
    return 0;
}

static int dequantize_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis, nch;
    if (!is_qtype(x->dtype) && x->dtype != SYNAP_DTYPE_INT32)
        return synap_errf(c->err, "input 0: expected an integer type, got %s",
                          synap_dtype_name(x->dtype));
    if (linear_axis(c, &axis, &nch) || check_scale(c, 1, nch, "x_scale") ||
        check_zp(c, 2, x->dtype, nch, "x_zero_point"))
        return -1;
    return set_out(c, 0, SYNAP_DTYPE_FLOAT32, x->rank, x->dims);
}

static int dequantize_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis, nch;
    if (linear_axis(c, &axis, &nch)) return -1;
    int64_t outer = nch > 1 ? prod(x->dims, 0, (int)axis) : 1;
    int64_t inner = nch > 1 ? prod(x->dims, (int)axis + 1, x->rank) : synap_value_nelem(x);
    float *y = c->out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < nch; ch++) {
            float s = scale_at(&c->in[1], ch);
            int32_t zp = zp_at(c, 2, ch);
            int64_t base = (o * nch + ch) * inner;
            for (int64_t i = 0; i < inner; i++) {
                /* int32 inputs: the difference is formed in int64 so it cannot overflow. */
                int64_t d = (int64_t)synap_q_load(x->dtype, x->data, base + i) - zp;
                y[base + i] = (float)d * s;
            }
        }
    return 0;
}

/* ---- DynamicQuantizeLinear ------------------------------------------------ */

static int dynq_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (x->dtype != SYNAP_DTYPE_FLOAT32)
        return synap_errf(c->err, "input 0: expected float32, got %s", synap_dtype_name(x->dtype));
    if (set_out(c, 0, SYNAP_DTYPE_UINT8, x->rank, x->dims) ||
        set_out(c, 1, SYNAP_DTYPE_FLOAT32, 0, NULL) || set_out(c, 2, SYNAP_DTYPE_UINT8, 0, NULL))
        return -1;
    return 0;
}

static int dynq_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    const float *xs = x->data;
    int64_t n = synap_value_nelem(x);
    /* The range always includes 0 so that 0 is exactly representable. */
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        mn = xs[i] < mn ? xs[i] : mn;
        mx = xs[i] > mx ? xs[i] : mx;
    }
    /* As ONNX Runtime: an all-zero input gets scale 1 rather than 0/0. */
    float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float zpf = 0 - mn / scale;
    zpf = zpf < 0 ? 0 : zpf > 255 ? 255 : zpf;
    int32_t zp = (int32_t)nearbyintf(zpf);
    for (int64_t i = 0; i < n; i++)
        qstore(SYNAP_DTYPE_UINT8, c->out[0].data, i, xs[i] / scale, zp, 0, 255);
    if (c->nout > 1 && c->out[1].data) *(float *)c->out[1].data = scale;
    if (c->nout > 2 && c->out[2].data) *(uint8_t *)c->out[2].data = (uint8_t)zp;
    return 0;
}

/* ---- MatMulInteger / QLinearMatMul ---------------------------------------- */

/* numpy matmul geometry: 1-D operands are promoted and the added dim dropped;
 * batch dims broadcast. */
struct mm_geom {
    int64_t m, k, n;
    int brank;
    int64_t bdims[SYNAP_MAX_RANK];                      /* broadcast batch shape */
    int64_t astr[SYNAP_MAX_RANK], bstr[SYNAP_MAX_RANK]; /* batch strides in matrices */
    int64_t nbatch;
    int orank;
    int64_t odims[SYNAP_MAX_RANK];
};

static int mm_geom(struct synap_kctx *c, const struct synap_value *a, const struct synap_value *b,
                   struct mm_geom *g)
{
    if (a->rank < 1 || b->rank < 1)
        return synap_errf(c->err, "matmul operands must have rank >= 1");
    g->m = a->rank > 1 ? a->dims[a->rank - 2] : 1;
    g->k = a->dims[a->rank - 1];
    int64_t kb = b->rank > 1 ? b->dims[b->rank - 2] : b->dims[0];
    g->n = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    if (kb != g->k)
        return synap_errf(c->err, "matmul: inner dimensions differ (%lld vs %lld)", (long long)g->k,
                          (long long)kb);
    int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
    g->brank = ra > rb ? ra : rb;
    g->nbatch = 1;
    int64_t sa = 1, sb = 1;
    for (int i = g->brank - 1; i >= 0; i--) {
        int ia = i - (g->brank - ra), ib = i - (g->brank - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return synap_errf(c->err, "matmul: batch dimensions %lld and %lld do not broadcast",
                              (long long)da, (long long)db);
        g->bdims[i] = da == 1 ? db : da;
        g->astr[i] = da == 1 ? 0 : sa;
        g->bstr[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        g->nbatch *= g->bdims[i];
    }
    g->orank = 0;
    for (int i = 0; i < g->brank; i++)
        g->odims[g->orank++] = g->bdims[i];
    if (a->rank > 1) g->odims[g->orank++] = g->m;
    if (b->rank > 1) g->odims[g->orank++] = g->n;
    return 0;
}

/* Matrix offsets (in matrices) of batch index bi in a and b. */
static void mm_batch(const struct mm_geom *g, int64_t bi, int64_t *ao, int64_t *bo)
{
    int64_t a = 0, b = 0;
    for (int i = g->brank - 1; i >= 0; i--) {
        int64_t coord = bi % g->bdims[i];
        bi /= g->bdims[i];
        a += coord * g->astr[i];
        b += coord * g->bstr[i];
    }
    *ao = a;
    *bo = b;
}

struct mm_job {
    struct synap_kctx *c;
    const struct mm_geom *g;
    const struct synap_value *a, *b;
    size_t azp, bzp; /* input slots of the zero points */
    int qlinear;     /* QLinearMatMul: requantize, else store int32 */
};

/* One job item is one output row (batch, i); rows are independent. */
static void mm_rows(void *arg, size_t begin, size_t end)
{
    const struct mm_job *j = arg;
    const struct mm_geom *g = j->g;
    struct synap_kctx *c = j->c;
    struct synap_value *y = &c->out[0];
    float lo = 0, hi = 0, ys = 0, as = 0;
    int32_t yzp = 0;
    if (j->qlinear) {
        qrange(y->dtype, &lo, &hi);
        ys = scale_at(&c->in[6], 0);
        yzp = zp_at(c, 7, 0);
    }
    for (size_t r = begin; r < end; r++) {
        int64_t bi = (int64_t)r / g->m, i = (int64_t)r % g->m, ao, bo;
        mm_batch(g, bi, &ao, &bo);
        int64_t abase = (ao * g->m + i) * g->k, bbase = bo * g->k * g->n;
        int32_t azp = zp_at(c, j->azp, i);
        if (j->qlinear) as = scale_at(&c->in[1], i);
        for (int64_t col = 0; col < g->n; col++) {
            int32_t bzp = zp_at(c, j->bzp, col);
            int32_t acc = 0;
            for (int64_t t = 0; t < g->k; t++) {
                int32_t av = synap_q_load(j->a->dtype, j->a->data, abase + t) - azp;
                int32_t bv = synap_q_load(j->b->dtype, j->b->data, bbase + t * g->n + col) - bzp;
                /* Wrapping int32 accumulation, done unsigned to stay defined. */
                acc = (int32_t)((uint32_t)acc + (uint32_t)(av * bv));
            }
            int64_t at = r * g->n + col;
            if (!j->qlinear) {
                ((int32_t *)y->data)[at] = acc;
                continue;
            }
            float mult = as * scale_at(&c->in[4], col) / ys;
            qstore(y->dtype, y->data, at, (float)acc * mult, yzp, lo, hi);
        }
    }
}

static int mm_infer(struct synap_kctx *c, int qlinear)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[qlinear ? 3 : 1];
    struct mm_geom g;
    if (!is_qtype(a->dtype) || !is_qtype(b->dtype))
        return synap_errf(c->err, "operands must be 8/16-bit integers, got %s and %s",
                          synap_dtype_name(a->dtype), synap_dtype_name(b->dtype));
    if (mm_geom(c, a, b, &g)) return -1;
    if (qlinear) {
        if (check_scale(c, 1, g.m, "a_scale") || check_zp(c, 2, a->dtype, g.m, "a_zero_point") ||
            check_scale(c, 4, g.n, "b_scale") || check_zp(c, 5, b->dtype, g.n, "b_zero_point") ||
            check_scale(c, 6, 0, "y_scale"))
            return -1;
        enum synap_dtype t = c->in[7].dtype;
        if (!is_qtype(t))
            return synap_errf(c->err, "input 7 (y_zero_point): unsupported type %s",
                              synap_dtype_name(t));
        if (check_zp(c, 7, t, 0, "y_zero_point")) return -1;
        return set_out(c, 0, t, g.orank, g.odims);
    }
    if (check_zp(c, 2, a->dtype, g.m, "a_zero_point") ||
        check_zp(c, 3, b->dtype, g.n, "b_zero_point"))
        return -1;
    return set_out(c, 0, SYNAP_DTYPE_INT32, g.orank, g.odims);
}

static int mm_run(struct synap_kctx *c, int qlinear)
{
    struct mm_geom g;
    struct mm_job j = {c, &g, &c->in[0], &c->in[qlinear ? 3 : 1], 2, qlinear ? 5 : 3, qlinear};
    if (mm_geom(c, j.a, j.b, &g)) return -1;
    size_t rows = (size_t)(g.nbatch * g.m);
    synap_pool_for(c->pool, rows, 1 + (size_t)(4096 / (g.k * g.n + 1)), mm_rows, &j);
    return 0;
}

/* ---- ConvInteger / QLinearConv --------------------------------------------- */

#define MAX_SPATIAL (SYNAP_MAX_RANK - 2)

struct conv_geom {
    int ns;                   /* spatial dims */
    int64_t n, ci, co, group; /* batch, in/out channels, groups */
    int64_t in[MAX_SPATIAL], k[MAX_SPATIAL], out[MAX_SPATIAL];
    int64_t stride[MAX_SPATIAL], dil[MAX_SPATIAL], pad[MAX_SPATIAL]; /* pad: begin */
    int64_t insz, ksz, outsz;                                        /* spatial element counts */
};

static int conv_geom(struct synap_kctx *c, const struct synap_value *x, const struct synap_value *w,
                     struct conv_geom *g)
{
    const struct synap_node *nd = c->node;
    if (x->rank < 3) return synap_errf(c->err, "input 0: expected rank >= 3, got %d", x->rank);
    if (w->rank != x->rank)
        return synap_errf(c->err, "weights: expected rank %d, got %d", x->rank, w->rank);
    int ns = g->ns = x->rank - 2;
    g->n = x->dims[0];
    g->ci = x->dims[1];
    g->co = w->dims[0];
    g->group = synap_attr_int(nd, "group", 1);
    if (g->group < 1 || g->ci % g->group || g->co % g->group || w->dims[1] * g->group != g->ci)
        return synap_errf(
            c->err, "group %lld does not fit %lld input channels, weights %lld x %lld",
            (long long)g->group, (long long)g->ci, (long long)w->dims[0], (long long)w->dims[1]);
    const int64_t *ks, *st, *dl, *pd;
    size_t nks = synap_attr_ints(nd, "kernel_shape", &ks);
    size_t nst = synap_attr_ints(nd, "strides", &st);
    size_t ndl = synap_attr_ints(nd, "dilations", &dl);
    size_t npd = synap_attr_ints(nd, "pads", &pd);
    if ((nks && nks != (size_t)ns) || (nst && nst != (size_t)ns) || (ndl && ndl != (size_t)ns) ||
        (npd && npd != 2 * (size_t)ns))
        return synap_errf(c->err,
                          "kernel_shape/strides/dilations/pads do not match %d spatial "
                          "dims",
                          ns);
    const char *ap = synap_attr_string(nd, "auto_pad", "NOTSET");
    int same = !strcmp(ap, "SAME_UPPER") ? 1 : !strcmp(ap, "SAME_LOWER") ? 2 : 0;
    int valid = !strcmp(ap, "VALID");
    if (!same && !valid && strcmp(ap, "NOTSET"))
        return synap_errf(c->err, "attribute 'auto_pad': unknown value '%s'", ap);
    g->insz = g->ksz = g->outsz = 1;
    for (int d = 0; d < ns; d++) {
        g->in[d] = x->dims[2 + d];
        g->k[d] = w->dims[2 + d];
        if (nks && ks[d] != g->k[d])
            return synap_errf(c->err, "kernel_shape[%d] = %lld but the weights have %lld", d,
                              (long long)ks[d], (long long)g->k[d]);
        g->stride[d] = nst ? st[d] : 1;
        g->dil[d] = ndl ? dl[d] : 1;
        if (g->stride[d] < 1 || g->dil[d] < 1 || g->stride[d] > INT32_MAX || g->dil[d] > INT32_MAX)
            return synap_errf(c->err, "strides and dilations must be positive");
        int64_t ek = (g->k[d] - 1) * g->dil[d] + 1; /* dilated kernel extent */
        int64_t pb = 0, pe = 0;
        if (same) {
            int64_t o = (g->in[d] + g->stride[d] - 1) / g->stride[d];
            int64_t total = (o - 1) * g->stride[d] + ek - g->in[d];
            total = total < 0 ? 0 : total;
            pb = same == 1 ? total / 2 : total - total / 2;
            pe = total - pb;
        } else if (!valid && npd) {
            pb = pd[d];
            pe = pd[d + ns];
        }
        if (pb < 0 || pe < 0 || pb > INT32_MAX || pe > INT32_MAX)
            return synap_errf(c->err, "pads must be non-negative");
        g->pad[d] = pb;
        int64_t span = g->in[d] + pb + pe - ek;
        if (span < 0)
            return synap_errf(c->err,
                              "spatial dim %d: kernel extent %lld exceeds padded input "
                              "%lld",
                              d, (long long)ek, (long long)(g->in[d] + pb + pe));
        g->out[d] = span / g->stride[d] + 1;
        g->insz *= g->in[d];
        g->ksz *= g->k[d];
        g->outsz *= g->out[d];
    }
    return 0;
}

struct conv_job {
    struct synap_kctx *c;
    const struct conv_geom *g;
    const struct synap_value *x, *w;
    size_t xzp, wzp; /* input slots of the zero points */
    int qlinear;
};

/* One job item is one (batch, output channel) plane. */
static void conv_planes(void *arg, size_t begin, size_t end)
{
    const struct conv_job *j = arg;
    const struct conv_geom *g = j->g;
    struct synap_kctx *c = j->c;
    struct synap_value *y = &c->out[0];
    int64_t cpg = g->ci / g->group, opg = g->co / g->group;
    int32_t xzp = zp_at(c, j->xzp, 0);
    float lo = 0, hi = 0, mult = 0;
    int32_t yzp = 0;
    if (j->qlinear) qrange(y->dtype, &lo, &hi);
    for (size_t p = begin; p < end; p++) {
        int64_t nb = (int64_t)p / g->co, m = (int64_t)p % g->co, grp = m / opg;
        int32_t wzp = zp_at(c, j->wzp, m);
        int32_t bias = 0;
        if (j->qlinear) {
            mult = scale_at(&c->in[1], 0) * scale_at(&c->in[4], m) / scale_at(&c->in[6], 0);
            yzp = zp_at(c, 7, 0);
            if (synap_has_input(c, 8)) bias = ((const int32_t *)c->in[8].data)[m];
        }
        int64_t oc[MAX_SPATIAL] = {0};
        for (int64_t o = 0; o < g->outsz; o++) {
            int32_t acc = bias;
            for (int64_t ch = 0; ch < cpg; ch++) {
                int64_t xbase = (nb * g->ci + grp * cpg + ch) * g->insz;
                int64_t wbase = (m * cpg + ch) * g->ksz;
                int64_t kc[MAX_SPATIAL] = {0};
                for (int64_t kp = 0; kp < g->ksz; kp++) {
                    /* Input position of this tap; padding contributes 0 since
                     * a padded x equals its zero point. */
                    int64_t xoff = 0;
                    int inside = 1;
                    for (int d = 0; d < g->ns; d++) {
                        int64_t ic = oc[d] * g->stride[d] - g->pad[d] + kc[d] * g->dil[d];
                        if (ic < 0 || ic >= g->in[d]) {
                            inside = 0;
                            break;
                        }
                        xoff = xoff * g->in[d] + ic;
                    }
                    if (inside) {
                        int32_t xv = synap_q_load(j->x->dtype, j->x->data, xbase + xoff) - xzp;
                        int32_t wv = synap_q_load(j->w->dtype, j->w->data, wbase + kp) - wzp;
                        acc = (int32_t)((uint32_t)acc + (uint32_t)(xv * wv));
                    }
                    for (int d = g->ns - 1; d >= 0 && ++kc[d] == g->k[d]; d--)
                        kc[d] = 0;
                }
            }
            int64_t at = p * g->outsz + o;
            if (j->qlinear)
                qstore(y->dtype, y->data, at, (float)acc * mult, yzp, lo, hi);
            else
                ((int32_t *)y->data)[at] = acc;
            for (int d = g->ns - 1; d >= 0 && ++oc[d] == g->out[d]; d--)
                oc[d] = 0;
        }
    }
}

static int conv_infer(struct synap_kctx *c, int qlinear)
{
    const struct synap_value *x = &c->in[0], *w = &c->in[qlinear ? 3 : 1];
    struct conv_geom g;
    if (!is_qtype(x->dtype) || !is_qtype(w->dtype))
        return synap_errf(c->err, "x and w must be 8/16-bit integers, got %s and %s",
                          synap_dtype_name(x->dtype), synap_dtype_name(w->dtype));
    if (conv_geom(c, x, w, &g)) return -1;
    int64_t dims[SYNAP_MAX_RANK] = {g.n, g.co};
    for (int d = 0; d < g.ns; d++)
        dims[2 + d] = g.out[d];
    if (qlinear) {
        if (check_scale(c, 1, 0, "x_scale") || check_zp(c, 2, x->dtype, 0, "x_zero_point") ||
            check_scale(c, 4, g.co, "w_scale") || check_zp(c, 5, w->dtype, g.co, "w_zero_point") ||
            check_scale(c, 6, 0, "y_scale"))
            return -1;
        enum synap_dtype t = c->in[7].dtype;
        if (!is_qtype(t))
            return synap_errf(c->err, "input 7 (y_zero_point): unsupported type %s",
                              synap_dtype_name(t));
        if (check_zp(c, 7, t, 0, "y_zero_point")) return -1;
        if (synap_has_input(c, 8) &&
            (c->in[8].dtype != SYNAP_DTYPE_INT32 || c->in[8].rank != 1 || c->in[8].dims[0] != g.co))
            return synap_errf(c->err, "input 8 (B): expected int32 [%lld]", (long long)g.co);
        return set_out(c, 0, t, x->rank, dims);
    }
    if (check_zp(c, 2, x->dtype, 0, "x_zero_point") ||
        check_zp(c, 3, w->dtype, g.co, "w_zero_point"))
        return -1;
    return set_out(c, 0, SYNAP_DTYPE_INT32, x->rank, dims);
}

static int conv_run(struct synap_kctx *c, int qlinear)
{
    struct conv_geom g;
    struct conv_job j = {c, &g, &c->in[0], &c->in[qlinear ? 3 : 1], 2, qlinear ? 5 : 3, qlinear};
    if (conv_geom(c, j.x, j.w, &g)) return -1;
    synap_pool_for(c->pool, (size_t)(g.n * g.co), 1, conv_planes, &j);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

int synap_quant_infer(struct synap_kctx *c)
{
    if (need_inputs(c, (size_t)synap_op_table[c->node->op].min_in)) return -1;
    switch (c->node->op) {
    case SYNAP_OP_QUANTIZE_LINEAR:
        return quantize_infer(c);
    case SYNAP_OP_DEQUANTIZE_LINEAR:
        return dequantize_infer(c);
    case SYNAP_OP_DYNAMIC_QUANTIZE_LINEAR:
        return dynq_infer(c);
    case SYNAP_OP_QLINEAR_MATMUL:
        return mm_infer(c, 1);
    case SYNAP_OP_MATMUL_INTEGER:
        return mm_infer(c, 0);
    case SYNAP_OP_QLINEAR_CONV:
        return conv_infer(c, 1);
    case SYNAP_OP_CONV_INTEGER:
        return conv_infer(c, 0);
    default:
        return synap_errf(c->err, "op %s is not in the quant family", synap_op_name(c->node->op));
    }
}

int synap_quant_run(struct synap_kctx *c)
{
    switch (c->node->op) {
    case SYNAP_OP_QUANTIZE_LINEAR:
        return quantize_run(c);
    case SYNAP_OP_DEQUANTIZE_LINEAR:
        return dequantize_run(c);
    case SYNAP_OP_DYNAMIC_QUANTIZE_LINEAR:
        return dynq_run(c);
    case SYNAP_OP_QLINEAR_MATMUL:
        return mm_run(c, 1);
    case SYNAP_OP_MATMUL_INTEGER:
        return mm_run(c, 0);
    case SYNAP_OP_QLINEAR_CONV:
        return conv_run(c, 1);
    case SYNAP_OP_CONV_INTEGER:
        return conv_run(c, 0);
    default:
        return synap_errf(c->err, "op %s is not in the quant family", synap_op_name(c->node->op));
    }
}
