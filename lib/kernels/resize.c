/* Resize (ONNX opset-13 form: X, roi, scales, sizes): nearest, N-linear and
 * cubic interpolation under every coordinate transformation mode.
 *
 * Interpolation is separable, so each resized axis gets a table: for every
 * output position, K source indices and weights (K = 1 nearest, 2 linear,
 * 4 cubic; 1 for an axis left as is). An output element is the sum over all
 * tap combinations of the product of weights times the input there. The
 * coordinates and weights follow the ONNX reference implementation
 * (onnx/backend/test/case/node/resize.py) in double precision:
 *   - the source coordinate x_ori comes from the transformation mode, with
 *     the scale given (or out/in when sizes are given);
 *   - the taps are the K nearest indices around x_ori preferring the lower
 *     ones (an integral x_ori counts as ratio 1 of the interval below it);
 *   - indices outside the input are clamped (the reference's edge padding),
 *     or weighted 0 and renormalized with exclude_outside;
 *   - tf_crop_and_resize gives extrapolation_value outside the input.
 * Nearest copies element bytes, so it is exact for every dtype. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

enum rmode { R_NEAREST, R_LINEAR, R_CUBIC };
enum ctm {
    CTM_HALF_PIXEL,
    CTM_PYTORCH_HALF_PIXEL,
    CTM_ALIGN_CORNERS,
    CTM_ASYMMETRIC,
    CTM_TF_HALF_PIXEL_FOR_NN,
    CTM_TF_CROP_AND_RESIZE,
};
enum nmode { N_ROUND_PREFER_FLOOR, N_ROUND_PREFER_CEIL, N_FLOOR, N_CEIL };

struct rparams {
    enum rmode mode;
    enum ctm ctm;
    enum nmode nearest;
    double cubic_a;
    int exclude_outside;
    float extrapolation;
    int rank;
    int64_t in[SYNAP_MAX_RANK], out[SYNAP_MAX_RANK];
    double scale[SYNAP_MAX_RANK];
    double out_len[SYNAP_MAX_RANK]; /* scale * in: the reference's "output width" */
    double roi[2 * SYNAP_MAX_RANK]; /* starts then ends, tf_crop_and_resize only */
};

/* Taps of one axis, in the run's scratch. idx[o*k] < 0 marks an output
 * position outside the input (tf_crop_and_resize). */
struct axis {
    int k;
    int identity; /* out == in and output i reads input i alone */
    int64_t *idx;
    float *w;
};

static int parse_enum(struct synap_kctx *c, const char *attr, const char *def,
                      const char *const *names, int n, int *out)
{
    const char *s = synap_attr_string(c->node, attr, def);
    for (int i = 0; i < n; i++) {
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    }
    return synap_errf(c->err, "%s '%s' is not supported", attr, s);
}

/* Reads attributes and inputs into p; used by both infer and run. */
static int rparams_get(struct synap_kctx *c, struct rparams *p)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const ctms[] = {"half_pixel",
                                       "pytorch_half_pixel",
                                       "align_corners",
                                       "asymmetric",
                                       "tf_half_pixel_for_nn",
                                       "tf_crop_and_resize",
                                       "tf_half_pixel_for_nearest"};
    static const char *const nmodes[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
    int v = 0;
    memset(p, 0, sizeof *p);
    if (parse_enum(c, "mode", "nearest", modes, 3, &v) < 0) return -1;
    p->mode = (enum rmode)v;
    if (parse_enum(c, "coordinate_transformation_mode", "half_pixel", ctms, 7, &v) < 0) return -1;
    /* The brief's spelling is accepted as an alias of ONNX's name. */
    p->ctm = v == 6 ? CTM_TF_HALF_PIXEL_FOR_NN : (enum ctm)v;
    if (parse_enum(c, "nearest_mode", "round_prefer_floor", nmodes, 4, &v) < 0) return -1;
    p->nearest = (enum nmode)v;
    p->cubic_a = synap_attr_float(c->node, "cubic_coeff_a", -0.75f);
    p->exclude_outside = synap_attr_int(c->node, "exclude_outside", 0) != 0;
    p->extrapolation = synap_attr_float(c->node, "extrapolation_value", 0.0f);
    if (synap_attr_int(c->node, "antialias", 0) != 0)
        return synap_errf(c->err, "antialias is not supported");

    const struct synap_value *x = &c->in[0];
    int r = x->rank;
    p->rank = r;
    memcpy(p->in, x->dims, sizeof p->in);
    /* Exporters pass an empty tensor for "not given", so empty = absent. */
    int has_scales = synap_has_input(c, 2) && synap_value_nelem(&c->in[2]) > 0;
    int has_sizes = synap_has_input(c, 3) && synap_value_nelem(&c->in[3]) > 0;
    if (has_scales == has_sizes)
        return synap_errf(c->err, "exactly one of scales and sizes must be given");
    if (has_scales) {
        const struct synap_value *s = &c->in[2];
        if (!s->data)
            return synap_errf(c->err, "input 2 (scales) must be a constant (the graph must "
                                      "have static shapes)");
        if (!synap_dtype_is_float(s->dtype))
            return synap_errf(c->err, "input 2 (scales): expected float, got %s",
                              synap_dtype_name(s->dtype));
        if (synap_value_nelem(s) != r)
            return synap_errf(c->err, "input 2 (scales): %lld values for rank %d",
                              (long long)synap_value_nelem(s), r);
        for (int d = 0; d < r; d++) {
            double sc = synap_value_get_f64(s, d);
            if (!(sc > 0) || sc > 1e9)
                return synap_errf(c->err,
                                  "input 2 (scales): scale %g of axis %d is not "
                                  "positive and finite",
                                  sc, d);
            p->scale[d] = sc;
            p->out_len[d] = sc * (double)x->dims[d];
            /* Bounded before the conversion to int64 (UB when out of range). */
            if (p->out_len[d] >= 0x1p62)
                return synap_errf(c->err, "input 2 (scales): axis %d becomes too large", d);
            p->out[d] = (int64_t)floor(p->out_len[d]);
        }
    } else {
        int64_t tmp[SYNAP_MAX_RANK];
        const int64_t *sz;
        int64_t n = synap_const_ints(c, 3, "sizes", tmp, SYNAP_MAX_RANK, &sz);
        if (n < 0) return -1;
        if (n != r)
            return synap_errf(c->err, "input 3 (sizes): %lld values for rank %d", (long long)n, r);
        for (int d = 0; d < r; d++) {
            if (sz[d] < 0)
                return synap_errf(c->err, "input 3 (sizes): negative size %lld of axis %d",
                                  (long long)sz[d], d);
            if (sz[d] > 0 && x->dims[d] == 0)
                return synap_errf(c->err, "input 3 (sizes): cannot resize the empty axis %d", d);
            p->out[d] = sz[d];
            p->scale[d] = x->dims[d] ? (double)sz[d] / (double)x->dims[d] : 1.0;
            p->out_len[d] = (double)sz[d];
        }
    }
    if (synap_shape_nelem(r, p->out) < 0)
        return synap_errf(c->err, "output element count overflows");
    for (int d = 0; d < r; d++) {
        p->roi[d] = 0;
        p->roi[d + r] = 1;
    }
    if (p->ctm == CTM_TF_CROP_AND_RESIZE) {
        const struct synap_value *roi = &c->in[1];
        if (!synap_has_input(c, 1) || synap_value_nelem(roi) == 0)
            return synap_errf(c->err, "tf_crop_and_resize needs input 1 (roi)");
        if (!roi->data) return synap_errf(c->err, "input 1 (roi) must be a constant");
        if (!synap_dtype_is_float(roi->dtype))
            return synap_errf(c->err, "input 1 (roi): expected float, got %s",
                              synap_dtype_name(roi->dtype));
        if (synap_value_nelem(roi) != 2 * r)
            return synap_errf(c->err, "input 1 (roi): %lld values for rank %d (expected %d)",
                              (long long)synap_value_nelem(roi), r, 2 * r);
        for (int d = 0; d < 2 * r; d++)
            p->roi[d] = synap_value_get_f64(roi, d);
    }
    return 0;
}

static int taps_of(enum rmode m)
{
    return m == R_NEAREST ? 1 : m == R_LINEAR ? 2 : 4;
}

/* Scratch bytes of the tap tables, and of float copies for non-float32 data. */
static size_t scratch_size(const struct rparams *p, enum synap_dtype dt)
{
    size_t n = 0, k = (size_t)taps_of(p->mode);
    for (int d = 0; d < p->rank; d++)
        n += (size_t)p->out[d] * k * (sizeof(int64_t) + sizeof(float)) + 128;
    if (p->mode != R_NEAREST && dt != SYNAP_DTYPE_FLOAT32) {
        n += (size_t)synap_shape_nelem(p->rank, p->in) * sizeof(float) + 64;
        n += (size_t)synap_shape_nelem(p->rank, p->out) * sizeof(float) + 64;
    }
    return n;
}

/* The source coordinate of output position x on axis d; sets *outside for
 * tf_crop_and_resize positions beyond the input. */
static double source_coord(const struct rparams *p, int d, int64_t xo, int *outside)
{
    double x = (double)xo, in = (double)p->in[d], len = p->out_len[d], s = p->scale[d];
    *outside = 0;
    switch (p->ctm) {
    case CTM_ALIGN_CORNERS:
        return len == 1 ? 0 : x * (in - 1) / (len - 1);
    case CTM_ASYMMETRIC:
        return x / s;
    case CTM_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / s;
    case CTM_TF_CROP_AND_RESIZE: {
        double a = p->roi[d], b = p->roi[d + p->rank], r;
        if (len == 1)
            r = (b - a) * (in - 1) / 2;
        else
            r = x * (b - a) * (in - 1) / (len - 1);
        r += a * (in - 1);
        *outside = r < 0 || r > in - 1;
        return r;
    }
    case CTM_PYTORCH_HALF_PIXEL:
        return len == 1 ? -0.5 : (x + 0.5) / s - 0.5;
    case CTM_HALF_PIXEL:
    default:
        return (x + 0.5) / s - 0.5;
    }
}

static void cubic_coeffs(double r, double a, double *c)
{
    double t = r + 1, u = 1 - r, v = 2 - r;
    c[0] = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    c[2] = ((a + 2) * u - (a + 3)) * u * u + 1;
    c[3] = ((a * v - 5 * a) * v + 8 * a) * v - 4 * a;
}

/* Fills the tap table of axis d (ax->idx/w sized out[d] * taps). */
static void axis_build(const struct rparams *p, int d, struct axis *ax)
{
    int k = taps_of(p->mode);
    int64_t n = p->in[d];
    ax->k = k;
    for (int64_t o = 0; o < p->out[d]; o++) {
        int64_t *idx = ax->idx + o * k;
        float *w = ax->w + o * k;
        int outside;
        double x = source_coord(p, d, o, &outside);
        if (outside || n == 0) {
            for (int t = 0; t < k; t++) {
                idx[t] = -1;
                w[t] = 0;
            }
            continue;
        }
        /* Lower neighbour and the ratio in (0, 1] above it. */
        double f = floor(x);
        double ratio = x - f;
        int64_t i0 = (int64_t)f;
        if (ratio == 0) {
            ratio = 1;
            i0 -= 1;
        }
        double c[4];
        int64_t first;
        if (p->mode == R_NEAREST) {
            int up;
            if (ratio == 1)
                up = 1;
            else if (p->nearest == N_ROUND_PREFER_FLOOR)
                up = ratio > 0.5;
            else if (p->nearest == N_ROUND_PREFER_CEIL)
                up = ratio >= 0.5;
            else
                up = p->nearest == N_CEIL;
            first = i0 + up;
            c[0] = 1;
        } else if (p->mode == R_LINEAR) {
            first = i0;
            c[0] = 1 - ratio;
            c[1] = ratio;
        } else {
            first = i0 - 1;
            cubic_coeffs(ratio, p->cubic_a, c);
        }
        if (p->exclude_outside && k > 1) {
            double sum = 0;
            for (int t = 0; t < k; t++) {
                if (first + t < 0 || first + t >= n) c[t] = 0;
                sum += c[t];
            }
            if (sum != 0)
                for (int t = 0; t < k; t++)
                    c[t] /= sum;
        }
        for (int t = 0; t < k; t++) {
            int64_t i = first + t;
            idx[t] = i < 0 ? 0 : i >= n ? n - 1 : i;
            w[t] = (float)c[t];
        }
    }
    /* An axis whose every position reads one input element with weight 1
     * needs one tap: nearest always, linear/cubic at integral coordinates. */
    int single = 1;
    for (int64_t o = 0; o < p->out[d] && single; o++) {
        int64_t *idx = ax->idx + o * k;
        float *w = ax->w + o * k;
        if (idx[0] < 0) continue;
        int hit = -1;
        for (int t = 0; t < k; t++) {
            if (w[t] == 1 && hit < 0)
                hit = t;
            else if (w[t] != 0)
                single = 0;
        }
        if (hit < 0) single = 0;
    }
    if (single && k > 1) {
        for (int64_t o = 0; o < p->out[d]; o++) {
            int64_t *idx = ax->idx + o * k;
            float *w = ax->w + o * k;
            int64_t i = -1;
            for (int t = 0; t < k; t++)
                if (idx[t] >= 0 && w[t] == 1) i = idx[t];
            ax->idx[o] = i;
            ax->w[o] = 1;
        }
        ax->k = 1;
    }
    ax->identity = ax->k == 1 && p->out[d] == n;
    for (int64_t o = 0; o < p->out[d] && ax->identity; o++)
        ax->identity = ax->idx[o] == o;
}

/* ---- nearest: a byte gather, any dtype ---------------------------------- */

struct gather {
    const struct rparams *p;
    const struct axis *ax;
    const char *src;
    char *dst;
    size_t es;
    const void *fill;
    int64_t str[SYNAP_MAX_RANK];
};

static void gather_rows(void *arg, size_t begin, size_t end)
{
    const struct gather *g = arg;
    const struct rparams *p = g->p;
    int l = p->rank - 1;
    int64_t n = p->out[l];
    size_t es = g->es;
    int64_t idx[SYNAP_MAX_RANK];
    int64_t r = (int64_t)begin;
    for (int d = l - 1; d >= 0; d--) {
        idx[d] = r % p->out[d];
        r /= p->out[d];
    }
    int64_t prev = -1;
    const int64_t *li = g->ax[l].idx;
    for (size_t row = begin; row < end; row++) {
        char *dst = g->dst + row * (size_t)n * es;
        int64_t off = 0;
        for (int d = 0; d < l; d++) {
            int64_t i = g->ax[d].idx[idx[d]];
            if (i < 0) {
                off = -1;
                break;
            }
            off += i * g->str[d];
        }
        if (off >= 0 && off == prev) {
            /* Upsampling repeats rows: copy the one just written. */
            memcpy(dst, dst - (size_t)n * es, (size_t)n * es);
        } else if (off < 0) {
            for (int64_t j = 0; j < n; j++)
                memcpy(dst + j * es, g->fill, es);
        } else {
            const char *src = g->src + off * (int64_t)es;
            for (int64_t j = 0; j < n; j++) {
                const void *s = li[j] < 0 ? g->fill : src + li[j] * (int64_t)es;
                switch (es) {
                case 4:
                    memcpy(dst + j * 4, s, 4);
                    break;
                case 1:
                    memcpy(dst + j, s, 1);
                    break;
                case 2:
                    memcpy(dst + j * 2, s, 2);
                    break;
                case 8:
                    memcpy(dst + j * 8, s, 8);
                    break;
                default:
                    memcpy(dst + j * es, s, es);
                    break;
                }
            }
        }
        prev = off;
        for (int d = l - 1; d >= 0; d--) {
            if (++idx[d] < p->out[d]) break;
            idx[d] = 0;
        }
    }
}

/* ---- linear and cubic on float32 ------------------------------------------- */

struct interp {
    const struct rparams *p;
    const struct axis *ax;
    const float *src;
    float *dst;
    int64_t str[SYNAP_MAX_RANK];
    /* plane path: view as [planes, h, w] with only h and w resized */
    int64_t h, w, oh, ow;
    const struct axis *ah, *aw;
};

static void plane_rows(void *arg, size_t begin, size_t end)
{
    const struct interp *t = arg;
    const struct axis *ah = t->ah, *aw = t->aw;
    int kh = ah->k, kw = aw->k;
    float ext = t->p->extrapolation;
    for (size_t row = begin; row < end; row++) {
        int64_t plane = (int64_t)row / t->oh, oy = (int64_t)row % t->oh;
        float *dst = t->dst + row * (size_t)t->ow;
        const int64_t *iy = ah->idx + oy * kh;
        const float *wy = ah->w + oy * kh;
        if (iy[0] < 0) {
            for (int64_t x = 0; x < t->ow; x++)
                dst[x] = ext;
            continue;
        }
        const float *base = t->src + plane * t->h * t->w;
        for (int64_t x = 0; x < t->ow; x++) {
            const int64_t *ix = aw->idx + x * kw;
            const float *wx = aw->w + x * kw;
            if (ix[0] < 0) {
                dst[x] = ext;
                continue;
            }
            float acc = 0;
            for (int a = 0; a < kh; a++) {
                const float *r = base + iy[a] * t->w;
                float s = 0;
                for (int b = 0; b < kw; b++)
                    s += wx[b] * r[ix[b]];
                acc += wy[a] * s;
            }
            dst[x] = acc;
        }
    }
}

/* Any rank, any set of resized axes: one output element at a time, summing
 * over every tap combination. */
static void general_elems(void *arg, size_t begin, size_t end)
{
    const struct interp *t = arg;
    const struct rparams *p = t->p;
    int r = p->rank;
    int64_t idx[SYNAP_MAX_RANK];
    int64_t e = (int64_t)begin;
    for (int d = r - 1; d >= 0; d--) {
        idx[d] = e % p->out[d];
        e /= p->out[d];
    }
    for (size_t i = begin; i < end; i++) {
        int outside = 0;
        for (int d = 0; d < r; d++)
            outside |= t->ax[d].idx[idx[d] * t->ax[d].k] < 0;
        double acc = 0;
        if (!outside) {
            int tap[SYNAP_MAX_RANK] = {0};
            for (;;) {
                double w = 1;
                int64_t off = 0;
                for (int d = 0; d < r; d++) {
                    const struct axis *a = &t->ax[d];
                    int64_t j = idx[d] * a->k + tap[d];
                    w *= a->w[j];
                    off += a->idx[j] * t->str[d];
                }
                acc += w * t->src[off];
                int d = r - 1;
                for (; d >= 0; d--) {
                    if (++tap[d] < t->ax[d].k) break;
                    tap[d] = 0;
                }
                if (d < 0) break;
            }
        }
        t->dst[i] = outside ? p->extrapolation : (float)acc;
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < p->out[d]) break;
            idx[d] = 0;
        }
    }
}

int synap_resize_infer(struct synap_kctx *c)
{
    if (synap_q_node(c) && !strcmp(synap_attr_string(c->node, "mode", "nearest"), "linear"))
        return synap_q_infer(c, synap_resize_infer);
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "expected an input and an output");
    if (c->node->op != SYNAP_OP_RESIZE)
        return synap_errf(c->err, "op %s is not in the resize family", synap_op_name(c->node->op));
    const struct synap_value *x = &c->in[0];
    if (x->rank < 1) return synap_errf(c->err, "input 0: cannot resize a scalar");
    struct rparams p;
    if (rparams_get(c, &p) < 0) return -1;
    if (p.mode != R_NEAREST && !synap_dtype_is_float(x->dtype) && !synap_dtype_is_int(x->dtype))
        return synap_errf(c->err, "input 0: cannot interpolate %s", synap_dtype_name(x->dtype));
    struct synap_value *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = x->rank;
    memcpy(y->dims, p.out, sizeof p.out);
    c->scratch_nbytes = scratch_size(&p, x->dtype);
    return 0;
}

static void *carve(char **at, size_t n)
{
    /* 64-aligned pieces of the scratch (its base is 64-aligned). */
    void *p = *at;
    *at += (n + 63) & ~(size_t)63;
    return p;
}

int synap_resize_run(struct synap_kctx *c)
{
    if (synap_q_node(c) && !strcmp(synap_attr_string(c->node, "mode", "nearest"), "linear"))
        return synap_q_run(c);
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    struct rparams p;
    if (rparams_get(c, &p) < 0) return -1;
    int r = p.rank;
    int64_t nout = synap_shape_nelem(r, p.out);
    if (nout == 0) return 0;
    char *at = c->scratch;
    struct axis ax[SYNAP_MAX_RANK];
    int k = taps_of(p.mode);
    for (int d = 0; d < r; d++) {
        ax[d].idx = carve(&at, (size_t)p.out[d] * k * sizeof(int64_t));
        ax[d].w = carve(&at, (size_t)p.out[d] * k * sizeof(float));
        axis_build(&p, d, &ax[d]);
    }
    int64_t str[SYNAP_MAX_RANK];
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        str[d] = s;
        s *= p.in[d];
    }

    if (p.mode == R_NEAREST) {
        uint64_t fill[2] = {0, 0};
        struct synap_value fv = {.dtype = x->dtype, .rank = 0, .data = fill};
        synap_value_set_f64(&fv, 0, p.extrapolation);
        struct gather g = {&p, ax, x->data, y->data, synap_dtype_size(x->dtype), fill, {0}};
        memcpy(g.str, str, sizeof str);
        size_t row_bytes = (size_t)p.out[r - 1] * g.es;
        size_t grain = row_bytes >= 16384 ? 1 : 16384 / row_bytes;
        synap_pool_for(c->pool, (size_t)(nout / p.out[r - 1]), grain, gather_rows, &g);
        return 0;
    }

    /* Linear and cubic work on float32; other dtypes go through copies. */
    const float *src = x->data;
    float *dst = y->data;
    if (x->dtype != SYNAP_DTYPE_FLOAT32) {
        int64_t nin = synap_value_nelem(x);
        float *fin = carve(&at, (size_t)nin * sizeof(float));
        synap_convert(SYNAP_DTYPE_FLOAT32, fin, x->dtype, x->data, nin);
        src = fin;
        dst = carve(&at, (size_t)nout * sizeof(float));
    }
    struct interp t = {&p, ax, src, dst, {0}, 0, 0, 0, 0, NULL, NULL};
    memcpy(t.str, str, sizeof str);
    /* The plane path when only the last two axes are resized (NCHW images). */
    int plane = 1;
    for (int d = 0; d < r - 2; d++)
        plane &= ax[d].identity;
    if (plane && r >= 2) {
        t.h = p.in[r - 2];
        t.w = p.in[r - 1];
        t.oh = p.out[r - 2];
        t.ow = p.out[r - 1];
        t.ah = &ax[r - 2];
        t.aw = &ax[r - 1];
        size_t rows = (size_t)(nout / t.ow);
        size_t grain = t.ow >= 4096 ? 1 : 4096 / (size_t)t.ow;
        synap_pool_for(c->pool, rows, grain, plane_rows, &t);
    } else {
        synap_pool_for(c->pool, (size_t)nout, 4096, general_elems, &t);
    }
    if (x->dtype != SYNAP_DTYPE_FLOAT32) {
        /* ONNX Runtime rounds interpolated integers; truncation would bias
         * them downwards. */
        if (synap_dtype_is_int(x->dtype))
            for (int64_t i = 0; i < nout; i++)
                dst[i] = nearbyintf(dst[i]);
        synap_convert(x->dtype, y->data, SYNAP_DTYPE_FLOAT32, dst, nout);
    }
    return 0;
}
