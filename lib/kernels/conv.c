/* Conv and ConvTranspose (ONNX opset 17), any number of spatial dims, in float32.
 *
 * Conv picks one of three paths:
 *   - pointwise (1x1 kernel, stride 1, no padding): Y_g = W_g * X_g, one GEMM
 *     straight on the input, no copy;
 *   - depthwise 2-D (one input and one output channel per group): a direct
 *     row-by-row kernel, since as a GEMM it would have M = 1;
 *   - everything else: im2col into scratch, in column chunks that bound the
 *     scratch size, then GEMM.
 * ConvTranspose is col = W_g^T * X_g by GEMM followed by col2im.
 * float16/bfloat16/float64 tensors are converted to float32 in scratch and the
 * result converted back, so every path only sees float32.
 *
 * Determinism: GEMM is thread-independent (gemm.c); im2col, the depthwise
 * kernel and col2im split work so that each output element is written by one
 * thread with a fixed loop order.
 */
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/kernel.h"
#include "kernels/qmath.h"

#define MAX_SP (SYNAP_MAX_RANK - 2)
/* im2col scratch budget per chunk (floats): big enough that GEMM tiles stay
 * efficient, small enough that PP-OCR-sized layers do not need 100+ MB. */
#define COL_BUDGET ((int64_t)4 << 20)

enum auto_pad { PAD_NOTSET, PAD_VALID, PAD_SAME_UPPER, PAD_SAME_LOWER };

struct conv_shape {
    int transpose;
    int nsp;                  /* spatial dims */
    int64_t batch, cin, cout; /* N, C of X, channels of Y */
    int64_t group, cg, mg;    /* groups, input / output channels per group */
    int64_t in[MAX_SP], out[MAX_SP], k[MAX_SP];
    int64_t s[MAX_SP], d[MAX_SP], pb[MAX_SP], pe[MAX_SP];
    int64_t in_sp, out_sp, k_sp; /* products of in, out, k */
    int has_bias;
};

static int parse_auto_pad(struct synap_kctx *c, enum auto_pad *ap)
{
    const char *s = synap_attr_string(c->node, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET"))
        *ap = PAD_NOTSET;
    else if (!strcmp(s, "VALID"))
        *ap = PAD_VALID;
    else if (!strcmp(s, "SAME_UPPER"))
        *ap = PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER"))
        *ap = PAD_SAME_LOWER;
    else
        return synap_errf(c->err, "attribute auto_pad: unknown value '%s'", s);
    return 0;
}

/* Reads an ints attribute of exactly `n` values each >= lo into out, or
 * leaves `def` in every slot when absent. */
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

/* Validates the node and computes every size and padding; shared by infer
 * and run so both see exactly the same numbers. */
static int conv_shape(struct synap_kctx *c, struct conv_shape *p)
{
    memset(p, 0, sizeof *p);
    p->transpose = c->node->op == SYNAP_OP_CONV_TRANSPOSE;
    if (c->nin < 2 || c->nout < 1) return synap_errf(c->err, "expected inputs X, W and one output");
    const struct synap_value *x = &c->in[0], *w = &c->in[1];
    int quant = synap_q_node(c);
    if (quant) {
        if (!synap_dtype_is_int(w->dtype) || !synap_q_in(c, 1))
            return synap_errf(c->err,
                              "input 1: a quantized convolution needs quantized integer "
                              "weights, got %s",
                              synap_dtype_name(w->dtype));
    } else if (!synap_dtype_is_float(x->dtype))
        return synap_errf(c->err, "input 0: expected a float type, got %s",
                          synap_dtype_name(x->dtype));
    if (!quant && w->dtype != x->dtype)
        return synap_errf(c->err, "input 1: expected %s like input 0, got %s",
                          synap_dtype_name(x->dtype), synap_dtype_name(w->dtype));
    if (x->rank < 3) return synap_errf(c->err, "input 0: expected rank >= 3, got %d", x->rank);
    if (w->rank != x->rank)
        return synap_errf(c->err, "input 1: expected rank %d, got %d", x->rank, w->rank);
    int nsp = p->nsp = x->rank - 2;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] < 0 || w->dims[i] < 0) return synap_errf(c->err, "negative dimension");
    p->batch = x->dims[0];
    p->cin = x->dims[1];

    p->group = synap_attr_int(c->node, "group", 1);
    if (p->group < 1)
        return synap_errf(c->err, "attribute group: expected >= 1, got %lld", (long long)p->group);
    if (p->cin % p->group)
        return synap_errf(c->err, "input 0: %lld channels not divisible by group %lld",
                          (long long)p->cin, (long long)p->group);
    p->cg = p->cin / p->group;
    if (!p->transpose) {
        if (w->dims[1] != p->cg)
            return synap_errf(c->err, "input 1: expected %lld input channels per group, got %lld",
                              (long long)p->cg, (long long)w->dims[1]);
        p->cout = w->dims[0];
        if (p->cout % p->group)
            return synap_errf(c->err, "input 1: %lld filters not divisible by group %lld",
                              (long long)p->cout, (long long)p->group);
        p->mg = p->cout / p->group;
    } else {
        if (w->dims[0] != p->cin)
            return synap_errf(c->err, "input 1: expected %lld input channels, got %lld",
                              (long long)p->cin, (long long)w->dims[0]);
        p->mg = w->dims[1];
        if (p->mg > ((int64_t)1 << 40) / p->group)
            return synap_errf(c->err, "input 1: too many output channels");
        p->cout = p->mg * p->group;
    }
    if (synap_has_input(c, 2)) {
        const struct synap_value *b = &c->in[2];
        if (quant ? b->dtype != SYNAP_DTYPE_INT32 && b->dtype != SYNAP_DTYPE_INT64
                  : b->dtype != x->dtype)
            return synap_errf(c->err, "input 2: expected %s like input 0, got %s",
                              synap_dtype_name(x->dtype), synap_dtype_name(b->dtype));
        if (b->rank != 1 || b->dims[0] != p->cout)
            return synap_errf(c->err, "input 2: expected shape [%lld]", (long long)p->cout);
        p->has_bias = 1;
    }

    int64_t ks[MAX_SP], pads[2 * MAX_SP], outpad[MAX_SP];
    if (ints_attr(c, "kernel_shape", nsp, 1, 0, ks) || ints_attr(c, "strides", nsp, 1, 1, p->s) ||
        ints_attr(c, "dilations", nsp, 1, 1, p->d) || ints_attr(c, "pads", 2 * nsp, 0, 0, pads))
        return -1;
    if (p->transpose && ints_attr(c, "output_padding", nsp, 0, 0, outpad)) return -1;
    enum auto_pad ap = PAD_NOTSET;
    if (parse_auto_pad(c, &ap)) return -1;

    const int64_t *oshape = NULL;
    size_t noshape = p->transpose ? synap_attr_ints(c->node, "output_shape", &oshape) : 0;
    if (noshape && noshape != (size_t)nsp && noshape != (size_t)x->rank)
        return synap_errf(c->err, "attribute output_shape: expected %d values, got %zu", nsp,
                          noshape);
    if (noshape == (size_t)x->rank && nsp != x->rank)
        oshape += 2; /* some exporters write the full N, C, spatial shape */

    p->in_sp = p->out_sp = p->k_sp = 1;
    for (int i = 0; i < nsp; i++) {
        int64_t in = p->in[i] = x->dims[2 + i];
        if (in < 1) return synap_errf(c->err, "input 0: spatial dim %d is empty", i);
        int64_t k = p->k[i] = w->dims[2 + i];
        if (ks[0] != 0 && ks[i] != k)
            return synap_errf(c->err, "attribute kernel_shape: dim %d is %lld but W has %lld", i,
                              (long long)ks[i], (long long)k);
        if (k < 1) return synap_errf(c->err, "input 1: empty kernel");
        int64_t dk = (k - 1) * p->d[i] + 1, s = p->s[i], out;
        int64_t b = pads[i], e = pads[nsp + i];
        if (!p->transpose) {
            if (ap == PAD_VALID) {
                b = e = 0;
            } else if (ap != PAD_NOTSET) {
                out = (in + s - 1) / s;
                int64_t total = (out - 1) * s + dk - in;
                if (total < 0) total = 0;
                b = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
                e = total - b;
            }
            if (in + b + e < dk)
                return synap_errf(c->err,
                                  "spatial dim %d: input %lld with pads %lld+%lld is smaller "
                                  "than the dilated kernel %lld",
                                  i, (long long)in, (long long)b, (long long)e, (long long)dk);
            out = (in + b + e - dk) / s + 1;
        } else {
            /* ONNX: total padding = s*(in-1) + output_padding + dk - out,
             * split by auto_pad; clamped at 0 like ONNX Runtime, so an
             * output_shape larger than the full result leaves zeros (plus
             * bias) at the end. */
            int64_t full = s * (in - 1) + outpad[i] + dk;
            if (noshape || ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
                out = noshape ? oshape[i] : in * s;
                if (out < 0 || out > ((int64_t)1 << 40))
                    return synap_errf(c->err, "attribute output_shape: bad value %lld",
                                      (long long)out);
                int64_t total = full - out;
                if (total < 0) total = 0;
                b = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
                e = total - b;
            } else {
                if (ap == PAD_VALID) b = e = 0;
                out = full - b - e;
            }
            if (in < 1 || out < 1) return synap_errf(c->err, "spatial dim %d: empty output", i);
        }
        p->out[i] = out;
        p->pb[i] = b;
        p->pe[i] = e;
        /* Limits far below int64 so later products (channels x size) are safe. */
        const int64_t lim = (int64_t)1 << 40;
        if (in > lim / p->in_sp || out > lim / p->out_sp || k > ((int64_t)1 << 20) / p->k_sp)
            return synap_errf(c->err, "spatial size too large");
        p->in_sp *= in;
        p->out_sp *= out;
        p->k_sp *= k;
    }
    if (p->cg > ((int64_t)1 << 30) / p->k_sp || p->mg > ((int64_t)1 << 30) / p->k_sp)
        return synap_errf(c->err, "kernel too large");
    size_t ny;
    if (synap_mul_overflow((size_t)p->batch, (size_t)p->cout, &ny) ||
        synap_mul_overflow(ny, (size_t)p->out_sp, &ny) || ny > ((size_t)1 << 40))
        return synap_errf(c->err, "output too large");
    return 0;
}

static int is_pointwise(const struct conv_shape *p)
{
    if (p->transpose || p->k_sp != 1) return 0;
    for (int i = 0; i < p->nsp; i++)
        if (p->s[i] != 1 || p->pb[i] || p->pe[i]) return 0;
    return 1;
}

static int is_depthwise2d(const struct conv_shape *p)
{
    return !p->transpose && p->nsp == 2 && p->cg == 1 && p->mg == 1;
}

/* Columns of one im2col chunk. */
static int64_t col_chunk(const struct conv_shape *p)
{
    int64_t rows = p->cg * p->k_sp;
    if (rows == 0) return p->out_sp;
    int64_t n = COL_BUDGET / rows;
    if (n < 256) n = 256;
    return n >= p->out_sp ? p->out_sp : n / 64 * 64;
}

/* Scratch layout: [x32 | w32 | b32 | y32] when the dtype is not float32,
 * then the im2col / col2im buffer. Sizes in floats. */
struct scratch_plan {
    size_t x, w, b, y, col;
};

static int scratch_plan(struct synap_kctx *c, const struct conv_shape *p, struct scratch_plan *sp)
{
    memset(sp, 0, sizeof *sp);
    size_t t;
    if (c->in[0].dtype != SYNAP_DTYPE_FLOAT32) {
        /* Both products were bounded by conv_shape (or the graph's own
         * element counts). */
        sp->x = (size_t)synap_value_nelem(&c->in[0]);
        sp->y = (size_t)(p->batch * p->cout * p->out_sp);
        sp->w = (size_t)synap_value_nelem(&c->in[1]);
        sp->b = p->has_bias ? (size_t)p->cout : 0;
    }
    if (p->transpose) {
        if (synap_mul_overflow((size_t)(p->mg * p->k_sp), (size_t)p->in_sp, &sp->col))
            return synap_errf(c->err, "tensor too large");
    } else if (!is_pointwise(p) && !is_depthwise2d(p)) {
        sp->col = (size_t)(p->cg * p->k_sp) * (size_t)col_chunk(p);
    }
    if (synap_add_overflow(sp->x + sp->w, sp->b + sp->y, &t) ||
        synap_add_overflow(t, sp->col, &t) || synap_mul_overflow(t, sizeof(float), &t))
        return synap_errf(c->err, "scratch too large");
    c->scratch_nbytes = t;
    return 0;
}

static int qconv_check(struct synap_kctx *c, const struct conv_shape *p);
static size_t qf_infer_scratch(const struct synap_kctx *c, const struct conv_shape *p);

int synap_conv_infer(struct synap_kctx *c)
{
    struct conv_shape p;
    struct scratch_plan sp;
    if (synap_q_node(c)) {
        if (conv_shape(c, &p) || qconv_check(c, &p)) return -1;
        int64_t dims[SYNAP_MAX_RANK] = {p.batch, p.cout};
        for (int i = 0; i < p.nsp; i++)
            dims[2 + i] = p.out[i];
        c->scratch_nbytes = qf_infer_scratch(c, &p);
        return synap_q_set_out(c, 0, c->in[0].rank, dims);
    }
    if (conv_shape(c, &p) || scratch_plan(c, &p, &sp)) return -1;
    struct synap_value *y = &c->out[0];
    y->dtype = c->in[0].dtype;
    y->rank = c->in[0].rank;
    y->dims[0] = p.batch;
    y->dims[1] = p.cout;
    for (int i = 0; i < p.nsp; i++)
        y->dims[2 + i] = p.out[i];
    return 0;
}

/* ---- im2col --------------------------------------------------------------- */

struct im2col_args {
    const struct conv_shape *p;
    const float *x; /* the group's first input channel */
    float *col;     /* rows x ncols */
    int64_t j0, ncols;
};

/* One row of col = one (input channel, kernel offset) pair; columns are
 * output positions j0 .. j0+ncols, walked one run of the last dim at a time. */
static void im2col_rows(void *arg, size_t begin, size_t end)
{
    const struct im2col_args *a = arg;
    const struct conv_shape *p = a->p;
    int nsp = p->nsp, last = nsp - 1;
    for (size_t r = begin; r < end; r++) {
        int64_t ci = (int64_t)r / p->k_sp, kk = (int64_t)r % p->k_sp;
        int64_t kidx[MAX_SP], o[MAX_SP];
        for (int i = nsp - 1; i >= 0; i--) {
            kidx[i] = kk % p->k[i];
            kk /= p->k[i];
        }
        int64_t j = a->j0;
        for (int i = nsp - 1; i >= 0; i--) {
            o[i] = j % p->out[i];
            j /= p->out[i];
        }
        const float *xc = a->x + ci * p->in_sp;
        float *dst = a->col + (int64_t)r * a->ncols;
        int64_t left = a->ncols;
        while (left > 0) {
            int64_t run = p->out[last] - o[last];
            if (run > left) run = left;
            /* Offset of the row of X this run reads, or -1 if in padding. */
            int64_t off = 0, inside = 1;
            for (int i = 0; i < last; i++) {
                int64_t pos = o[i] * p->s[i] - p->pb[i] + kidx[i] * p->d[i];
                if (pos < 0 || pos >= p->in[i]) inside = 0;
                off = off * p->in[i] + pos;
            }
            if (!inside) {
                memset(dst, 0, sizeof(float) * (size_t)run);
            } else {
                const float *xr = xc + off * p->in[last];
                int64_t s = p->s[last], w = p->in[last];
                int64_t base = kidx[last] * p->d[last] - p->pb[last];
                for (int64_t t = 0; t < run; t++) {
                    int64_t pos = (o[last] + t) * s + base;
                    dst[t] = pos >= 0 && pos < w ? xr[pos] : 0.0f;
                }
            }
            dst += run;
            left -= run;
            o[last] += run;
            for (int i = last; i > 0 && o[i] == p->out[i]; i--) {
                o[i] = 0;
                o[i - 1]++;
            }
        }
    }
}

/* ---- depthwise 2-D -------------------------------------------------------- */

/* The depthwise taps are variable-length axpys: -O2's "very cheap" vectorizer
 * skips loops that need a remainder, so this part is built at -O3, and for
 * AVX2 / AVX-512 as well (the loader picks one clone per process, so every
 * thread runs the same code). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) &&         \
    !defined(__SANITIZE_ADDRESS__)
#define SYNAP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SYNAP_CLONES
#endif

struct dw_args {
    const struct conv_shape *p;
    const float *x, *w, *b;
    float *y;
};

/* y_row[ow] += wv * x_row[ow * s + base] for ow in [lo, hi). */
static inline void axpy_strided(float *restrict y, const float *restrict x, float wv, int64_t lo,
                                int64_t hi, int64_t s, int64_t base)
{
    if (s == 1) {
        const float *xs = x + base;
        for (int64_t o = lo; o < hi; o++)
            y[o] += wv * xs[o];
    } else if (s == 2) {
        const float *xs = x + base;
        for (int64_t o = lo; o < hi; o++)
            y[o] += wv * xs[2 * o];
    } else {
        for (int64_t o = lo; o < hi; o++)
            y[o] += wv * x[o * s + base];
    }
}

/* The interior of a KxK depthwise output row, where every tap is inside the
 * input: all K*K taps per output in one pass, with K a constant so the tap
 * loops unroll and the ow loop vectorizes. Taps are added in (kh, kw)
 * order after the bias, exactly like the edge path. */
#define DW_ROW(K)                                                                                  \
    static void dw_row##K(float *restrict yr, const float *const *rows, const float *wp,           \
                          float bias, int64_t lo, int64_t hi, int64_t sw, int64_t dw, int64_t pw)  \
    {                                                                                              \
        for (int64_t ow = lo; ow < hi; ow++) {                                                     \
            float acc = bias;                                                                      \
            int64_t iw = ow * sw - pw;                                                             \
            for (int kh = 0; kh < K; kh++)                                                         \
                for (int kw = 0; kw < K; kw++)                                                     \
                    acc += wp[kh * K + kw] * rows[kh][iw + kw * dw];                               \
            yr[ow] = acc;                                                                          \
        }                                                                                          \
    }
DW_ROW(3)
DW_ROW(5)

/* One (batch, channel) plane per item. Border outputs start at the bias and
 * accumulate kernel taps in (kh, kw) order, each tap a strided axpy over the
 * valid output columns; 3x3 and 5x5 interiors use dw_row3/dw_row5. */
SYNAP_CLONES
static void dw_planes(void *arg, size_t begin, size_t end)
{
    const struct dw_args *a = arg;
    const struct conv_shape *p = a->p;
    int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1];
    int64_t KH = p->k[0], KW = p->k[1];
    int64_t sh = p->s[0], sw = p->s[1], dh = p->d[0], dw = p->d[1];
    int fused = KH == KW && (KH == 3 || KH == 5);
    for (size_t plane = begin; plane < end; plane++) {
        int64_t ch = (int64_t)plane % p->cout;
        const float *xp = a->x + (int64_t)plane * H * W;
        const float *wp = a->w + ch * KH * KW;
        float *yp = a->y + (int64_t)plane * OH * OW;
        float bias = a->b ? a->b[ch] : 0.0f;
        for (int64_t oh = 0; oh < OH; oh++) {
            float *yr = yp + oh * OW;
            /* Interior columns [ilo, ihi): every kw tap inside the row. */
            int64_t ilo = 0, ihi = 0;
            const float *rows[5];
            if (fused) {
                int all = 1;
                for (int64_t kh = 0; kh < KH; kh++) {
                    int64_t ih = oh * sh - p->pb[0] + kh * dh;
                    all &= ih >= 0 && ih < H;
                    rows[kh] = xp + (all ? ih : 0) * W;
                }
                if (all) {
                    int64_t pw = p->pb[1], last = (KW - 1) * dw - pw;
                    ilo = pw <= 0 ? 0 : (pw + sw - 1) / sw;
                    ihi = W - last <= 0 ? 0 : (W - last - 1) / sw + 1;
                    if (ihi > OW) ihi = OW;
                    if (ihi < ilo) ihi = ilo = 0;
                }
            }
            /* Border segments [0, ilo) and [ihi, OW) (the whole row when
             * there is no interior). */
            for (int seg = 0; seg < 2; seg++) {
                int64_t a0 = seg == 0 ? 0 : ihi, a1 = seg == 0 ? ilo : OW;
                if (ilo == ihi) {
                    if (seg) break;
                    a0 = 0;
                    a1 = OW;
                }
                if (a0 >= a1) continue;
                for (int64_t ow = a0; ow < a1; ow++)
                    yr[ow] = bias;
                for (int64_t kh = 0; kh < KH; kh++) {
                    int64_t ih = oh * sh - p->pb[0] + kh * dh;
                    if (ih < 0 || ih >= H) continue;
                    const float *xr = xp + ih * W;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        /* Valid ow: 0 <= ow*sw + base < W. */
                        int64_t base = kw * dw - p->pb[1];
                        int64_t lo = base >= 0 ? 0 : (-base + sw - 1) / sw;
                        int64_t hi = W - base <= 0 ? 0 : (W - base - 1) / sw + 1;
                        lo = lo < a0 ? a0 : lo;
                        hi = hi > a1 ? a1 : hi;
                        if (lo < hi) axpy_strided(yr, xr, wp[kh * KW + kw], lo, hi, sw, base);
                    }
                }
            }
            if (ilo < ihi) {
                if (KH == 3)
                    dw_row3(yr, rows, wp, bias, ilo, ihi, sw, dw, p->pb[1]);
                else
                    dw_row5(yr, rows, wp, bias, ilo, ihi, sw, dw, p->pb[1]);
            }
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---- col2im (ConvTranspose) ---------------------------------------------- */

struct col2im_args {
    const struct conv_shape *p;
    const float *col; /* (mg * k_sp) x in_sp for the group */
    const float *b;   /* the group's bias or NULL */
    float *y;         /* the group's first output channel */
};

/* One output channel per item: zero/bias the plane, then add every
 * (kernel offset, input position) contribution in a fixed order. */
static void col2im_channels(void *arg, size_t begin, size_t end)
{
    const struct col2im_args *a = arg;
    const struct conv_shape *p = a->p;
    int nsp = p->nsp, last = nsp - 1;
    for (size_t m = begin; m < end; m++) {
        float *yp = a->y + (int64_t)m * p->out_sp;
        float bias = a->b ? a->b[m] : 0.0f;
        for (int64_t i = 0; i < p->out_sp; i++)
            yp[i] = bias;
        for (int64_t kk = 0; kk < p->k_sp; kk++) {
            int64_t kidx[MAX_SP], t = kk;
            for (int i = nsp - 1; i >= 0; i--) {
                kidx[i] = t % p->k[i];
                t /= p->k[i];
            }
            const float *cr = a->col + ((int64_t)m * p->k_sp + kk) * p->in_sp;
            /* Walk input rows (all dims but the last) with an odometer. */
            int64_t idx[MAX_SP] = {0};
            int64_t nrows = p->in_sp / p->in[last];
            for (int64_t r = 0; r < nrows; r++) {
                int64_t off = 0, inside = 1;
                for (int i = 0; i < last; i++) {
                    int64_t pos = idx[i] * p->s[i] - p->pb[i] + kidx[i] * p->d[i];
                    if (pos < 0 || pos >= p->out[i]) inside = 0;
                    off = off * p->out[i] + pos;
                }
                if (inside) {
                    float *yr = yp + off * p->out[last];
                    const float *src = cr + r * p->in[last];
                    int64_t s = p->s[last], base = kidx[last] * p->d[last] - p->pb[last];
                    for (int64_t iw = 0; iw < p->in[last]; iw++) {
                        int64_t pos = iw * s + base;
                        if (pos >= 0 && pos < p->out[last]) yr[pos] += src[iw];
                    }
                }
                for (int i = last - 1; i >= 0; i--) {
                    if (++idx[i] < p->in[i]) break;
                    idx[i] = 0;
                }
            }
        }
    }
}

/* ---- bias fill ------------------------------------------------------------ */

struct fill_args {
    const float *b;
    float *y;
    int64_t plane, channels;
};

static void fill_bias(void *arg, size_t begin, size_t end)
{
    const struct fill_args *a = arg;
    for (size_t i = begin; i < end; i++) {
        float v = a->b[(int64_t)i % a->channels];
        float *y = a->y + (int64_t)i * a->plane;
        for (int64_t j = 0; j < a->plane; j++)
            y[j] = v;
    }
}

static void conv_forward(struct synap_kctx *c, const struct conv_shape *p, const float *x,
                         const float *w, const float *b, float *y, float *col)
{
    int64_t K = p->cg * p->k_sp;
    if (is_depthwise2d(p)) {
        struct dw_args a = {p, x, w, b, y};
        synap_pool_for(c->pool, (size_t)(p->batch * p->cout), 1, dw_planes, &a);
        return;
    }
    /* Prefill with the bias so GEMM accumulates onto it (beta = 1). */
    float beta = 0.0f;
    if (b) {
        struct fill_args f = {b, y, p->out_sp, p->cout};
        synap_pool_for(c->pool, (size_t)(p->batch * p->cout), 4, fill_bias, &f);
        beta = 1.0f;
    }
    int pointwise = is_pointwise(p);
    int64_t chunk = col_chunk(p);
    for (int64_t n = 0; n < p->batch; n++) {
        for (int64_t g = 0; g < p->group; g++) {
            const float *xg = x + (n * p->cin + g * p->cg) * p->in_sp;
            const float *wg = w + g * p->mg * K;
            float *yg = y + (n * p->cout + g * p->mg) * p->out_sp;
            if (pointwise) {
                synap_sgemm(c->pool, 0, 0, p->mg, p->out_sp, K, 1.0f, wg, K, xg, p->in_sp, beta, yg,
                            p->out_sp);
                continue;
            }
            for (int64_t j0 = 0; j0 < p->out_sp; j0 += chunk) {
                int64_t nc = p->out_sp - j0 < chunk ? p->out_sp - j0 : chunk;
                struct im2col_args a = {p, xg, col, j0, nc};
                synap_pool_for(c->pool, (size_t)K, 1, im2col_rows, &a);
                synap_sgemm(c->pool, 0, 0, p->mg, nc, K, 1.0f, wg, K, col, nc, beta, yg + j0,
                            p->out_sp);
            }
        }
    }
}

static void conv_transpose_forward(struct synap_kctx *c, const struct conv_shape *p, const float *x,
                                   const float *w, const float *b, float *y, float *col)
{
    int64_t M = p->mg * p->k_sp;
    for (int64_t n = 0; n < p->batch; n++) {
        for (int64_t g = 0; g < p->group; g++) {
            const float *xg = x + (n * p->cin + g * p->cg) * p->in_sp;
            const float *wg = w + g * p->cg * M; /* cg x M, used transposed */
            synap_sgemm(c->pool, 1, 0, M, p->in_sp, p->cg, 1.0f, wg, M, xg, p->in_sp, 0.0f, col,
                        p->in_sp);
            struct col2im_args a = {p, col, b ? b + g * p->mg : NULL,
                                    y + (n * p->cout + g * p->mg) * p->out_sp};
            synap_pool_for(c->pool, (size_t)p->mg, 1, col2im_channels, &a);
        }
    }
}

/* ---- integer Conv / ConvTranspose (TFLite's reference integer conv) ------
 * acc = bias[m] + sum (x - zp_x) * (w - zp_w[m]) over the taps inside the
 * input (padding is the input zero point, so it adds nothing), in int32 for
 * 8-bit inputs and int64 for int16 ones; then
 *   y = clamp(MultiplyByQuantizedMultiplier(acc, M[m]) + zp_y)
 * with M[m] = s_x * s_w[m] / s_y: TFLite's legacy float product
 * (float)(s_x * s_w) for uint8 inputs, the double product otherwise; int16
 * inputs use the int64 multiplier variant. Depthwise is group == channels.
 * ConvTranspose gathers the same products per output element (TFLite
 * scatters them; integer sums are the same). Weights may be per channel on
 * the output-channel axis (0 for Conv, 1 for ConvTranspose). Each (batch,
 * output channel) plane is computed by one thread: thread-count independent. */

struct qconv_args {
    struct synap_kctx *c;
    const struct conv_shape *p;
    const struct synap_quant *qx, *qw, *qy;
};

static int qconv_check(struct synap_kctx *c, const struct conv_shape *p)
{
    const struct synap_quant *qw = synap_q_in(c, 1);
    if (synap_q_per_tensor(c, synap_q_in(c, 0), "input 0")) return -1;
    if (synap_q_out(c, 0) && synap_q_per_tensor(c, synap_q_out(c, 0), "output 0")) return -1;
    int64_t wch = p->transpose ? p->mg : p->cout;
    if (qw->nparams != 1 && (int64_t)qw->nparams != wch && (int64_t)qw->nparams != p->cout)
        return synap_errf(c->err, "input 1: %zu weight scales for %lld output channels",
                          qw->nparams, (long long)p->cout);
    return 0;
}

/* The convolutions the TFLite runtime runs through its int8 GEMM (ruy),
 * which rounds once (synap_q_mul_single, qmath.h): int8 input, one group,
 * not transposed. */
static int rounds_once(enum synap_dtype xt, const struct conv_shape *p)
{
    return xt == SYNAP_DTYPE_INT8 && p->group == 1 && !p->transpose;
}

static void qconv_planes_ref(void *arg, size_t begin, size_t end)
{
    const struct qconv_args *a = arg;
    struct synap_kctx *c = a->c;
    const struct conv_shape *p = a->p;
    const struct synap_value *x = &c->in[0], *w = &c->in[1];
    struct synap_value *y = &c->out[0];
    int wide = x->dtype == SYNAP_DTYPE_INT16 || x->dtype == SYNAP_DTYPE_UINT16;
    int legacy = x->dtype == SYNAP_DTYPE_UINT8;
    int single = rounds_once(x->dtype, p);
    int32_t zx = a->qx->zero_point[0], zy = a->qy->zero_point[0];
    int nsp = p->nsp;
    for (size_t pl = begin; pl < end; pl++) {
        int64_t n = (int64_t)pl / p->cout, m = (int64_t)pl % p->cout;
        int64_t g = m / p->mg, mo = m % p->mg;
        size_t qi = a->qw->nparams == 1 ? 0 : (size_t)(m % (int64_t)a->qw->nparams);
        int32_t zw = a->qw->zero_point[qi];
        double sw = a->qw->scale[qi];
        double mr = legacy ? (double)(a->qx->scale[0] * a->qw->scale[qi]) / a->qy->scale[0]
                           : (double)a->qx->scale[0] * sw / (double)a->qy->scale[0];
        int32_t mult;
        int sh;
        synap_q_quantize_multiplier(mr, &mult, &sh);
        int64_t bias = p->has_bias ? (c->in[2].dtype == SYNAP_DTYPE_INT64
                                          ? ((const int64_t *)c->in[2].data)[m]
                                          : ((const int32_t *)c->in[2].data)[m])
                                   : 0;
        int64_t o[MAX_SP] = {0};
        for (int64_t j = 0; j < p->out_sp; j++) {
            int64_t acc = 0;
            for (int64_t ch = 0; ch < p->cg; ch++) {
                int64_t ci = g * p->cg + ch;
                int64_t xb = (n * p->cin + ci) * p->in_sp;
                int64_t wb =
                    p->transpose ? (ci * p->mg + mo) * p->k_sp : (m * p->cg + ch) * p->k_sp;
                int64_t t[MAX_SP] = {0};
                for (int64_t kp = 0; kp < p->k_sp; kp++) {
                    int64_t off = 0;
                    int inside = 1;
                    for (int i = 0; i < nsp && inside; i++) {
                        int64_t ic;
                        if (!p->transpose) {
                            ic = o[i] * p->s[i] - p->pb[i] + t[i] * p->d[i];
                        } else {
                            int64_t num = o[i] + p->pb[i] - t[i] * p->d[i];
                            if (num < 0 || num % p->s[i]) {
                                inside = 0;
                                break;
                            }
                            ic = num / p->s[i];
                        }
                        if (ic < 0 || ic >= p->in[i]) inside = 0;
                        off = off * p->in[i] + ic;
                    }
                    if (inside) {
                        int64_t xv = (int64_t)synap_q_load(x->dtype, x->data, xb + off) - zx;
                        int64_t wv = (int64_t)synap_q_load(w->dtype, w->data, wb + kp) - zw;
                        acc += xv * wv;
                    }
                    for (int i = nsp - 1; i >= 0 && ++t[i] == p->k[i]; i--)
                        t[i] = 0;
                }
            }
            acc += bias;
            int32_t r = wide     ? synap_q_mul64(acc, mult, sh)
                        : single ? synap_q_mul_single(synap_q_sat32(acc), mult, sh)
                                 : synap_q_mul(synap_q_sat32(acc), mult, sh);
            synap_q_store(y->dtype, y->data, pl * p->out_sp + j, synap_q_sat32((int64_t)r + zy));
            for (int i = nsp - 1; i >= 0 && ++o[i] == p->out[i]; i--)
                o[i] = 0;
        }
    }
}

/* ---- integer Conv fast path ------------------------------------------------
 * Same sums as qconv_planes_ref, computed in a cheaper order (integer sums are
 * exact in any order, so the bytes are identical): 1-D/2-D Conv with 8/16-bit
 * input and weights. Per run the weights become w - zw[m] (int32) and each
 * channel's multiplier and bias are computed once; per batch the input
 * becomes x - zx (int32). Then
 *   - depthwise-like (one input channel per group): a direct kernel, one
 *     (output channel, output row) per item, tap by tap over the row;
 *   - otherwise: im2col in column chunks (none for pointwise convolutions),
 *     then a blocked integer GEMM, 4 output channels x QCOLS columns per item.
 * Accumulation is int32 when |x - zx| max * max_m sum_t |w - zw| < 2^31
 * (every partial sum then fits), else int64. The requantization is the
 * reference's, element by element. Every output element is computed by one
 * item with a fixed loop order: thread-count independent. */

#define QCOLS 128 /* accumulator columns per item */
#define QMB 4     /* output channels per GEMM item */

struct qf_chan {
    int64_t bias;
    int64_t wabs; /* sum |w - zw|, or -1: a value does not fit int32 */
    int32_t mult;
    int shift;
};

struct qf {
    struct synap_kctx *c;
    const struct conv_shape *p;
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, K, osp;
    int wide, single, acc32; /* single: synap_q_mul_single (qmath.h) */
    int32_t zx, zy;
    enum synap_dtype xt, yt;
    const struct qf_chan *ch;
    int32_t *wq;  /* cout x K */
    int32_t *xq;  /* cin x in_sp, current batch */
    int32_t *col; /* K x chunk */
    int64_t chunk;
    /* current call */
    int64_t n, g, j0, nc, ld; /* batch, group, first column, columns, col stride */
    const int32_t *cb;        /* column matrix of the call (K rows, ld stride) */
};

static int qf_type_ok(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_UINT8 || t == SYNAP_DTYPE_INT8 || t == SYNAP_DTYPE_UINT16 ||
           t == SYNAP_DTYPE_INT16;
}

/* Requantizes acc (bias not yet added) of output channel m and stores it at
 * element i of y, exactly as qconv_planes_ref. */
static inline void qf_out(const struct qf *f, int64_t m, int64_t acc, int64_t i)
{
    const struct qf_chan *q = &f->ch[m];
    acc += q->bias;
    int32_t r = f->wide     ? synap_q_mul64(acc, q->mult, q->shift)
                : f->single ? synap_q_mul_single(synap_q_sat32(acc), q->mult, q->shift)
                            : synap_q_mul(synap_q_sat32(acc), q->mult, q->shift);
    int32_t v = synap_q_sat32((int64_t)r + f->zy);
    void *y = f->c->out[0].data;
    switch (f->yt) {
    case SYNAP_DTYPE_UINT8:
        ((uint8_t *)y)[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        break;
    case SYNAP_DTYPE_INT8:
        ((int8_t *)y)[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        break;
    case SYNAP_DTYPE_INT16:
        ((int16_t *)y)[i] = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
        break;
    default:
        synap_q_store(f->yt, y, i, v);
        break;
    }
}

/* x - zx for the channels [begin, end) of batch f->n. */
static void qf_convert_x(void *arg, size_t begin, size_t end)
{
    const struct qf *f = arg;
    const struct synap_value *x = &f->c->in[0];
    int64_t sp = f->H * f->W;
    for (size_t ci = begin; ci < end; ci++) {
        int64_t base = (f->n * f->p->cin + (int64_t)ci) * sp;
        int32_t *d = f->xq + (int64_t)ci * sp;
        switch (f->xt) {
        case SYNAP_DTYPE_UINT8: {
            const uint8_t *s = (const uint8_t *)x->data + base;
            for (int64_t i = 0; i < sp; i++)
                d[i] = (int32_t)s[i] - f->zx;
            break;
        }
        case SYNAP_DTYPE_INT8: {
            const int8_t *s = (const int8_t *)x->data + base;
            for (int64_t i = 0; i < sp; i++)
                d[i] = (int32_t)s[i] - f->zx;
            break;
        }
        default:
            for (int64_t i = 0; i < sp; i++)
                d[i] = synap_q_load(f->xt, x->data, base + i) - f->zx;
            break;
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif

/* Direct kernel, one input channel per group: item = (output channel m,
 * output row oh) over the whole batch. */
#define QF_DIRECT(NAME, ACC)                                                                       \
    SYNAP_CLONES static void NAME(void *arg, size_t begin, size_t end)                             \
    {                                                                                              \
        const struct qf *f = arg;                                                                  \
        const struct conv_shape *p = f->p;                                                         \
        for (size_t it = begin; it < end; it++) {                                                  \
            int64_t m = (int64_t)it / f->OH, oh = (int64_t)it % f->OH;                             \
            const int32_t *xc = f->xq + (m / p->mg) * f->H * f->W;                                 \
            const int32_t *wm = f->wq + m * f->K;                                                  \
            int64_t yb = (f->n * p->cout + m) * f->osp + oh * f->OW;                               \
            for (int64_t o0 = 0; o0 < f->OW; o0 += QCOLS) {                                        \
                int64_t o1 = f->OW - o0 < QCOLS ? f->OW : o0 + QCOLS;                              \
                ACC acc[QCOLS] = {0};                                                              \
                for (int64_t kh = 0; kh < f->KH; kh++) {                                           \
                    int64_t ih = oh * f->sh - f->ph + kh * f->dh;                                  \
                    if (ih < 0 || ih >= f->H) continue;                                            \
                    const int32_t *xr = xc + ih * f->W;                                            \
                    for (int64_t kw = 0; kw < f->KW; kw++) {                                       \
                        ACC wv = wm[kh * f->KW + kw];                                              \
                        if (!wv) continue;                                                         \
                        int64_t base = kw * f->dw - f->pw, s = f->sw;                              \
                        int64_t lo = base >= 0 ? 0 : (-base + s - 1) / s;                          \
                        int64_t hi = f->W - base <= 0 ? 0 : (f->W - base - 1) / s + 1;             \
                        lo = lo < o0 ? o0 : lo;                                                    \
                        hi = hi > o1 ? o1 : hi;                                                    \
                        if (s == 1) {                                                              \
                            const int32_t *xs = xr + base;                                         \
                            for (int64_t ow = lo; ow < hi; ow++)                                   \
                                acc[ow - o0] += wv * (ACC)xs[ow];                                  \
                        } else {                                                                   \
                            for (int64_t ow = lo; ow < hi; ow++)                                   \
                                acc[ow - o0] += wv * (ACC)xr[ow * s + base];                       \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
                for (int64_t ow = o0; ow < o1; ow++)                                               \
                    qf_out(f, m, (int64_t)acc[ow - o0], yb + ow);                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* Blocked GEMM on the column matrix f->cb (K x nc, stride ld): item = (block
 * of QMB output channels of group g, block of QCOLS columns). */
#define QF_GEMM(NAME, ACC)                                                                         \
    SYNAP_CLONES static void NAME(void *arg, size_t begin, size_t end)                             \
    {                                                                                              \
        const struct qf *f = arg;                                                                  \
        const struct conv_shape *p = f->p;                                                         \
        int64_t ncb = (f->nc + QCOLS - 1) / QCOLS;                                                 \
        for (size_t it = begin; it < end; it++) {                                                  \
            int64_t mb = (int64_t)it / ncb, jb = (int64_t)it % ncb;                                \
            int64_t m0 = f->g * p->mg + mb * QMB;                                                  \
            int64_t nm = p->mg - mb * QMB < QMB ? p->mg - mb * QMB : QMB;                          \
            int64_t j0 = jb * QCOLS, nj = f->nc - j0 < QCOLS ? f->nc - j0 : QCOLS;                 \
            ACC acc[QMB][QCOLS] = {{0}};                                                           \
            const int32_t *w0 = f->wq + m0 * f->K;                                                 \
            if (nm == QMB) {                                                                       \
                for (int64_t k = 0; k < f->K; k++) {                                               \
                    const int32_t *cr = f->cb + k * f->ld + j0;                                    \
                    ACC a0 = w0[k], a1 = w0[f->K + k], a2 = w0[2 * f->K + k],                      \
                        a3 = w0[3 * f->K + k];                                                     \
                    for (int64_t j = 0; j < nj; j++) {                                             \
                        ACC v = cr[j];                                                             \
                        acc[0][j] += a0 * v;                                                       \
                        acc[1][j] += a1 * v;                                                       \
                        acc[2][j] += a2 * v;                                                       \
                        acc[3][j] += a3 * v;                                                       \
                    }                                                                              \
                }                                                                                  \
            } else {                                                                               \
                for (int64_t i = 0; i < nm; i++)                                                   \
                    for (int64_t k = 0; k < f->K; k++) {                                           \
                        const int32_t *cr = f->cb + k * f->ld + j0;                                \
                        ACC a = w0[i * f->K + k];                                                  \
                        for (int64_t j = 0; j < nj; j++)                                           \
                            acc[i][j] += a * (ACC)cr[j];                                           \
                    }                                                                              \
            }                                                                                      \
            for (int64_t i = 0; i < nm; i++) {                                                     \
                int64_t yb = (f->n * p->cout + m0 + i) * f->osp + f->j0 + j0;                      \
                for (int64_t j = 0; j < nj; j++)                                                   \
                    qf_out(f, m0 + i, (int64_t)acc[i][j], yb + j);                                 \
            }                                                                                      \
        }                                                                                          \
    }

QF_DIRECT(qf_direct32, int32_t)
QF_DIRECT(qf_direct64, int64_t)
QF_GEMM(qf_gemm32, int32_t)
QF_GEMM(qf_gemm64, int64_t)

/* im2col of group f->g, columns f->j0 .. + nc: one row (channel, kh, kw)
 * per item; padding is 0 (= x - zx at the zero point). */
SYNAP_CLONES static void qf_im2col(void *arg, size_t begin, size_t end)
{
    const struct qf *f = arg;
    int64_t ksp = f->KH * f->KW;
    for (size_t r = begin; r < end; r++) {
        int64_t ch = (int64_t)r / ksp, kk = (int64_t)r % ksp;
        int64_t kh = kk / f->KW, kw = kk % f->KW;
        const int32_t *xc = f->xq + (f->g * f->p->cg + ch) * f->H * f->W;
        int32_t *dst = f->col + (int64_t)r * f->nc;
        int64_t oh = f->j0 / f->OW, ow = f->j0 % f->OW, left = f->nc;
        int64_t base = kw * f->dw - f->pw, s = f->sw;
        int64_t lo = base >= 0 ? 0 : (-base + s - 1) / s;
        int64_t hi = f->W - base <= 0 ? 0 : (f->W - base - 1) / s + 1;
        if (hi > f->OW) hi = f->OW;
        while (left > 0) {
            int64_t run = f->OW - ow < left ? f->OW - ow : left;
            int64_t ih = oh * f->sh - f->ph + kh * f->dh;
            if (ih < 0 || ih >= f->H) {
                memset(dst, 0, sizeof *dst * (size_t)run);
            } else {
                const int32_t *xr = xc + ih * f->W + base;
                int64_t a = lo > ow ? lo : ow, b = hi < ow + run ? hi : ow + run;
                if (b < a) b = a;
                for (int64_t t = ow; t < a && t < ow + run; t++)
                    dst[t - ow] = 0;
                if (s == 1) {
                    for (int64_t t = a; t < b; t++)
                        dst[t - ow] = xr[t];
                } else {
                    for (int64_t t = a; t < b; t++)
                        dst[t - ow] = xr[t * s];
                }
                for (int64_t t = b > ow ? b : ow; t < ow + run; t++)
                    dst[t - ow] = 0;
            }
            dst += run;
            left -= run;
            ow = 0;
            oh++;
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* 2-D view of a Conv the fast path takes (1-D as H = 1); 0 when it does not
 * take it. */
static int qf_shape(const struct synap_kctx *c, const struct conv_shape *p, struct qf *f)
{
    memset(f, 0, sizeof *f);
    if (p->transpose || (p->nsp != 1 && p->nsp != 2) || !qf_type_ok(c->in[0].dtype) ||
        !qf_type_ok(c->in[1].dtype))
        return 0;
    int l = p->nsp - 1;
    f->H = p->nsp == 2 ? p->in[0] : 1;
    f->OH = p->nsp == 2 ? p->out[0] : 1;
    f->KH = p->nsp == 2 ? p->k[0] : 1;
    f->sh = p->nsp == 2 ? p->s[0] : 1;
    f->dh = p->nsp == 2 ? p->d[0] : 1;
    f->ph = p->nsp == 2 ? p->pb[0] : 0;
    f->W = p->in[l], f->OW = p->out[l], f->KW = p->k[l];
    f->sw = p->s[l], f->dw = p->d[l], f->pw = p->pb[l];
    f->K = p->cg * p->k_sp;
    f->osp = p->out_sp;
    f->chunk = p->cg == 1 || is_pointwise(p) ? 0 : col_chunk(p);
    return 1;
}

static size_t qf_align(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Scratch bytes: [chan | wq | xq | col]; every size was bounded by
 * conv_shape. */
static size_t qf_scratch(const struct conv_shape *p, const struct qf *f)
{
    return qf_align((size_t)p->cout * sizeof(struct qf_chan)) +
           qf_align((size_t)(p->cout * f->K) * sizeof(int32_t)) +
           qf_align((size_t)(p->cin * p->in_sp) * sizeof(int32_t)) +
           qf_align((size_t)(f->K * f->chunk) * sizeof(int32_t));
}

/* Scratch the fast path needs, 0 when it does not apply. */
static size_t qt_infer_scratch(const struct synap_kctx *c, const struct conv_shape *p);

static size_t qf_infer_scratch(const struct synap_kctx *c, const struct conv_shape *p)
{
    struct qf f;
    return qf_shape(c, p, &f) ? qf_scratch(p, &f) : qt_infer_scratch(c, p);
}

struct qf_prep {
    struct qf *f;
    const struct qconv_args *a;
    struct qf_chan *ch;
};

/* Output channel m's multiplier and bias (the reference's formulas); returns
 * its weight zero point. */
static int32_t qf_chan_init(const struct qconv_args *a, int64_t m, struct qf_chan *q)
{
    const struct synap_kctx *c = a->c;
    int legacy = c->in[0].dtype == SYNAP_DTYPE_UINT8;
    size_t qi = a->qw->nparams == 1 ? 0 : (size_t)(m % (int64_t)a->qw->nparams);
    double sw = a->qw->scale[qi];
    double mr = legacy ? (double)(a->qx->scale[0] * a->qw->scale[qi]) / a->qy->scale[0]
                       : (double)a->qx->scale[0] * sw / (double)a->qy->scale[0];
    synap_q_quantize_multiplier(mr, &q->mult, &q->shift);
    q->bias = a->p->has_bias
                  ? (c->in[2].dtype == SYNAP_DTYPE_INT64 ? ((const int64_t *)c->in[2].data)[m]
                                                         : ((const int32_t *)c->in[2].data)[m])
                  : 0;
    return a->qw->zero_point[qi];
}

/* Per output channel: w - zw, the multiplier, the bias and sum |w - zw|. */
static void qf_prep_chan(void *arg, size_t begin, size_t end)
{
    const struct qf_prep *pr = arg;
    const struct qconv_args *a = pr->a;
    const struct synap_value *w = &a->c->in[1];
    int64_t K = pr->f->K;
    for (size_t mm = begin; mm < end; mm++) {
        int64_t m = (int64_t)mm;
        struct qf_chan *q = &pr->ch[m];
        int32_t zw = qf_chan_init(a, m, q);
        int64_t sum = 0;
        int32_t *d = pr->f->wq + m * K;
        for (int64_t t = 0; t < K; t++) {
            int64_t v = (int64_t)synap_q_load(w->dtype, w->data, m * K + t) - zw;
            if (v > INT32_MAX || v < -INT32_MAX) {
                sum = -1;
                break;
            }
            d[t] = (int32_t)v;
            sum += v < 0 ? -v : v;
        }
        q->wabs = sum;
    }
}

/* The fields of f both fast paths (Conv, ConvTranspose) set alike. */
static void qf_common(struct qf *f, const struct qconv_args *a)
{
    f->c = a->c;
    f->p = a->p;
    f->xt = a->c->in[0].dtype;
    f->yt = a->c->out[0].dtype;
    f->zx = a->qx->zero_point[0];
    f->zy = a->qy->zero_point[0];
    f->wide = f->xt == SYNAP_DTYPE_INT16 || f->xt == SYNAP_DTYPE_UINT16;
    f->single = rounds_once(f->xt, a->p);
}

/* Runs the fast path; 0 when it does not apply (the caller runs the
 * reference). */
static int qconv_fast(const struct qconv_args *a)
{
    struct synap_kctx *c = a->c;
    const struct conv_shape *p = a->p;
    struct qf f;
    if (!qf_shape(c, p, &f)) return 0;
    size_t need = qf_scratch(p, &f);
    if (!c->scratch || c->scratch_nbytes < need) return 0;
    int32_t xlo, xhi;
    if (!synap_q_range(c->in[0].dtype, &xlo, &xhi)) return 0;
    qf_common(&f, a);
    int64_t xmax = (int64_t)xhi - f.zx, xmin = (int64_t)f.zx - xlo;
    if (xmin > xmax) xmax = xmin;
    if (xmax > INT32_MAX) return 0;

    char *s = c->scratch;
    struct qf_chan *ch = (struct qf_chan *)s;
    s += qf_align((size_t)p->cout * sizeof *ch);
    f.wq = (int32_t *)s;
    s += qf_align((size_t)(p->cout * f.K) * sizeof(int32_t));
    f.xq = (int32_t *)s;
    s += qf_align((size_t)(p->cin * p->in_sp) * sizeof(int32_t));
    f.col = (int32_t *)s;
    f.ch = ch;

    struct qf_prep pr = {&f, a, ch};
    synap_pool_for(c->pool, (size_t)p->cout, 1, qf_prep_chan, &pr);
    int64_t wmax = 0;
    for (int64_t m = 0; m < p->cout; m++) {
        if (ch[m].wabs < 0) wmax = -1;
        if (wmax >= 0 && ch[m].wabs > wmax) wmax = ch[m].wabs;
    }
    if (wmax < 0) return 0;
    f.acc32 = xmax == 0 || wmax <= (int64_t)INT32_MAX / xmax;

    for (f.n = 0; f.n < p->batch; f.n++) {
        synap_pool_for(c->pool, (size_t)p->cin, 1, qf_convert_x, &f);
        if (p->cg == 1) {
            f.g = 0;
            synap_pool_for(c->pool, (size_t)(p->cout * f.OH), 1,
                           f.acc32 ? qf_direct32 : qf_direct64, &f);
            continue;
        }
        for (f.g = 0; f.g < p->group; f.g++) {
            int64_t step = f.chunk ? f.chunk : p->out_sp;
            for (f.j0 = 0; f.j0 < p->out_sp; f.j0 += step) {
                f.nc = p->out_sp - f.j0 < step ? p->out_sp - f.j0 : step;
                if (f.chunk) {
                    synap_pool_for(c->pool, (size_t)f.K, 1, qf_im2col, &f);
                    f.cb = f.col;
                    f.ld = f.nc;
                } else {
                    f.cb = f.xq + f.g * p->cg * p->in_sp + f.j0;
                    f.ld = p->in_sp;
                }
                size_t items = (size_t)(((p->mg + QMB - 1) / QMB) * ((f.nc + QCOLS - 1) / QCOLS));
                synap_pool_for(c->pool, items, 1, f.acc32 ? qf_gemm32 : qf_gemm64, &f);
            }
        }
    }
    return 1;
}

/* ---- fast integer ConvTranspose ------------------------------------------------
 * The reference's gather, without its per-element overhead: per spatial
 * dimension, the (tap, input index) pairs that reach each output index are
 * listed once (o = i * s - pb + k * d); w - zw per output channel and
 * x - zx per batch are converted once; every output element sums over its
 * pairs in int64 (exact, so equal to the reference whatever the order) and
 * is requantized by qf_out. 1-D and 2-D. */

struct qt {
    struct qf f; /* xq, wq (cout x cg x k_sp), ch, types, zero points */
    int64_t KH, KW, OH, OW, H, W;
    int32_t *ny, *nx;           /* pairs per output row / column */
    int32_t *ky, *iy, *kx, *ix; /* OH x KH, OW x KW */
};

static void qt_pairs(int64_t out, int64_t in, int64_t k, int64_t st, int64_t d, int64_t pb,
                     int32_t *n, int32_t *kk, int32_t *ii)
{
    for (int64_t o = 0; o < out; o++) {
        int32_t c = 0;
        for (int64_t t = 0; t < k; t++) {
            int64_t num = o + pb - t * d;
            if (num < 0 || num % st) continue;
            int64_t i = num / st;
            if (i >= in) continue;
            kk[o * k + c] = (int32_t)t;
            ii[o * k + c] = (int32_t)i;
            c++;
        }
        n[o] = c;
    }
}

/* weights (IOHW, groups) of output channel m as [cg][k_sp] */
static void qt_prep_chan(void *arg, size_t begin, size_t end)
{
    const struct qf_prep *pr = arg;
    const struct qconv_args *a = pr->a;
    const struct conv_shape *p = a->p;
    const struct synap_value *w = &a->c->in[1];
    for (size_t mm = begin; mm < end; mm++) {
        int64_t m = (int64_t)mm, g = m / p->mg, mo = m % p->mg;
        struct qf_chan *q = &pr->ch[m];
        int32_t zw = qf_chan_init(a, m, q);
        q->wabs = 0;
        int32_t *d = pr->f->wq + m * p->cg * p->k_sp;
        for (int64_t ch = 0; ch < p->cg; ch++) {
            int64_t ci = g * p->cg + ch;
            for (int64_t kp = 0; kp < p->k_sp; kp++) {
                int64_t v =
                    (int64_t)synap_q_load(w->dtype, w->data, (ci * p->mg + mo) * p->k_sp + kp) - zw;
                if (v > INT32_MAX || v < -INT32_MAX) q->wabs = -1;
                d[ch * p->k_sp + kp] = (int32_t)v;
            }
        }
    }
}

/* output rows (m, oy) of batch f.n */
static void qt_rows(void *arg, size_t begin, size_t end)
{
    const struct qt *t = arg;
    const struct qf *f = &t->f;
    const struct conv_shape *p = f->p;
    for (size_t r = begin; r < end; r++) {
        int64_t m = (int64_t)r / t->OH, oy = (int64_t)r % t->OH, g = m / p->mg;
        const int32_t *wm = f->wq + m * p->cg * p->k_sp;
        const int32_t *xg = f->xq + g * p->cg * p->in_sp;
        int64_t yb = ((f->n * p->cout + m) * t->OH + oy) * t->OW;
        for (int64_t ox = 0; ox < t->OW; ox++) {
            int64_t acc = 0;
            for (int64_t ch = 0; ch < p->cg; ch++) {
                const int32_t *xc = xg + ch * p->in_sp, *wc = wm + ch * p->k_sp;
                for (int32_t a = 0; a < t->ny[oy]; a++) {
                    const int32_t *xr = xc + (int64_t)t->iy[oy * t->KH + a] * t->W;
                    const int32_t *wr = wc + (int64_t)t->ky[oy * t->KH + a] * t->KW;
                    for (int32_t b = 0; b < t->nx[ox]; b++)
                        acc += (int64_t)xr[t->ix[ox * t->KW + b]] * wr[t->kx[ox * t->KW + b]];
                }
            }
            qf_out(f, m, acc, yb + ox);
        }
    }
}

static int qt_shape(const struct synap_kctx *c, const struct conv_shape *p, struct qt *t)
{
    memset(t, 0, sizeof *t);
    if (!p->transpose || (p->nsp != 1 && p->nsp != 2) || !qf_type_ok(c->in[0].dtype) ||
        !qf_type_ok(c->in[1].dtype))
        return 0;
    int l = p->nsp - 1;
    t->H = p->nsp == 2 ? p->in[0] : 1;
    t->OH = p->nsp == 2 ? p->out[0] : 1;
    t->KH = p->nsp == 2 ? p->k[0] : 1;
    t->W = p->in[l], t->OW = p->out[l], t->KW = p->k[l];
    return 1;
}

/* Scratch: [chan | wq | xq | pairs] */
static size_t qt_scratch(const struct conv_shape *p, const struct qt *t)
{
    return qf_align((size_t)p->cout * sizeof(struct qf_chan)) +
           qf_align((size_t)(p->cout * p->cg * p->k_sp) * sizeof(int32_t)) +
           qf_align((size_t)(p->cin * p->in_sp) * sizeof(int32_t)) +
           qf_align((size_t)(t->OH * (1 + 2 * t->KH) + t->OW * (1 + 2 * t->KW)) * sizeof(int32_t));
}

static size_t qt_infer_scratch(const struct synap_kctx *c, const struct conv_shape *p)
{
    struct qt t;
    return qt_shape(c, p, &t) ? qt_scratch(p, &t) : 0;
}

static int qconvt_fast(const struct qconv_args *a)
{
    struct synap_kctx *c = a->c;
    const struct conv_shape *p = a->p;
    struct qt t;
    if (!qt_shape(c, p, &t)) return 0;
    size_t need = qt_scratch(p, &t);
    if (!c->scratch || c->scratch_nbytes < need) return 0;
    struct qf *f = &t.f;
    qf_common(f, a);
    f->H = t.H;
    f->W = t.W;
    char *s = c->scratch;
    struct qf_chan *ch = (struct qf_chan *)s;
    s += qf_align((size_t)p->cout * sizeof *ch);
    f->wq = (int32_t *)s;
    s += qf_align((size_t)(p->cout * p->cg * p->k_sp) * sizeof(int32_t));
    f->xq = (int32_t *)s;
    s += qf_align((size_t)(p->cin * p->in_sp) * sizeof(int32_t));
    int32_t *q = (int32_t *)s;
    t.ny = q, q += t.OH;
    t.ky = q, q += t.OH * t.KH;
    t.iy = q, q += t.OH * t.KH;
    t.nx = q, q += t.OW;
    t.kx = q, q += t.OW * t.KW;
    t.ix = q;
    f->ch = ch;
    struct qf_prep pr = {f, a, ch};
    synap_pool_for(c->pool, (size_t)p->cout, 1, qt_prep_chan, &pr);
    for (int64_t m = 0; m < p->cout; m++)
        if (ch[m].wabs < 0) return 0;
    int l = p->nsp - 1;
    if (p->nsp == 2)
        qt_pairs(t.OH, t.H, t.KH, p->s[0], p->d[0], p->pb[0], t.ny, t.ky, t.iy);
    else
        t.ny[0] = 1, t.ky[0] = 0, t.iy[0] = 0;
    qt_pairs(t.OW, t.W, t.KW, p->s[l], p->d[l], p->pb[l], t.nx, t.kx, t.ix);
    for (f->n = 0; f->n < p->batch; f->n++) {
        synap_pool_for(c->pool, (size_t)p->cin, 1, qf_convert_x, f);
        synap_pool_for(c->pool, (size_t)(p->cout * t.OH), 1, qt_rows, &t);
    }
    return 1;
}

static int qconv_run(struct synap_kctx *c)
{
    struct conv_shape p;
    if (conv_shape(c, &p) || qconv_check(c, &p)) return -1;
    struct qconv_args a = {c, &p, synap_q_in(c, 0), synap_q_in(c, 1), synap_q_out(c, 0)};
    if (!a.qy) return synap_errf(c->err, "output 0 has no quantization parameters");
    if (p.batch > 0 && p.cout > 0 && !qconv_fast(&a) && !qconvt_fast(&a))
        synap_pool_for(c->pool, (size_t)(p.batch * p.cout), 1, qconv_planes_ref, &a);
    return 0;
}

int synap_conv_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return qconv_run(c);
    struct conv_shape p;
    struct scratch_plan sp;
    size_t want = c->scratch_nbytes;
    if (conv_shape(c, &p) || scratch_plan(c, &p, &sp)) return -1;
    if (c->scratch_nbytes > want || (c->scratch_nbytes && !c->scratch))
        return synap_errf(c->err, "scratch: need %zu bytes, got %zu", c->scratch_nbytes, want);
    c->scratch_nbytes = want;

    enum synap_dtype dt = c->in[0].dtype;
    float *s = c->scratch;
    const float *x = c->in[0].data, *w = c->in[1].data;
    const float *b = p.has_bias ? c->in[2].data : NULL;
    float *y = c->out[0].data;
    if (dt != SYNAP_DTYPE_FLOAT32) {
        float *xs = s, *ws = xs + sp.x, *bs = ws + sp.w;
        synap_convert(SYNAP_DTYPE_FLOAT32, xs, dt, x, (int64_t)sp.x);
        synap_convert(SYNAP_DTYPE_FLOAT32, ws, dt, w, (int64_t)sp.w);
        if (b) synap_convert(SYNAP_DTYPE_FLOAT32, bs, dt, b, (int64_t)sp.b);
        x = xs;
        w = ws;
        b = b ? bs : NULL;
        y = bs + sp.b;
    }
    float *col = s + sp.x + sp.w + sp.b + sp.y;
    if (p.batch > 0 && p.cout > 0) {
        if (p.transpose)
            conv_transpose_forward(c, &p, x, w, b, y, col);
        else
            conv_forward(c, &p, x, w, b, y, col);
    }
    if (dt != SYNAP_DTYPE_FLOAT32)
        synap_convert(dt, c->out[0].data, SYNAP_DTYPE_FLOAT32, y, (int64_t)sp.y);
    return 0;
}
