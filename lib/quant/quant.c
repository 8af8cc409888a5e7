/* synap-quant's library: turns a float IR plus calibration statistics into a
 * quantized IR that the integer kernels (lib/kernels/qmath.h) execute.
 *
 * Decisions (see /work/shared/REFERENCE.md "quantization"):
 *  - Types per layer: data_type is the rule '*'; a map's patterns apply in
 *    order, later entries win (lib/meta/pattern.h, INPUTS allowed). A layer
 *    not matched by any entry stays float32 (SyNAP's behaviour for maps).
 *  - Schemes: default = asymmetric_affine for uint8, dynamic_fixed_point for
 *    int8/int16. asymmetric_affine: scale (hi-lo)/(qmax-qmin) over a range
 *    widened to hold 0, zero point round(qmin - lo/scale). dynamic_fixed_point:
 *    fl = floor(log2(qmax / max|x|)), scale 2^-fl, zero point 0 (no value is
 *    clipped). perchannel_symmetric_affine (int8): weights symmetric per
 *    output channel in [-127, 127]; activations asymmetric int8 per tensor
 *    (TFLite's int8 scheme, which the kernels implement).
 *  - Weights always use their own exact min/max (per channel where the
 *    scheme says); the algorithm chooses activation ranges only.
 *    Biases become int32 (int64 for 16-bit layers, TFLite's 16x8) with
 *    scale s_in * s_w[c] and zero point 0.
 *  - Algorithms (activations): standard = [min, max]; moving_average =
 *    [ma_min, ma_max]; percentile keeps opts.percentile % of the histogram
 *    mass (one tail when min >= 0, else both tails halves);
 *    kl_divergence = TensorRT's entropy calibration over |x| (the 2048-bin
 *    histogram folded at 0, its first bin (the exact zeros) left out;
 *    128 target bins for 8-bit, 1024 for 16-bit),
 *    threshold T gives [max(min, -T), min(max, T)]. 16-bit types keep
 *    [min, max] (their 32768 levels a side are finer than the 2048-bin
 *    histogram, so KL cannot weigh clipping against rounding there; on
 *    PP-OCRv4 det clipping cost 18 dB) and only report the entropy;
 *    thresholds clipping
 *    over 1% of the values are not tried (sparse histograms of small data
 *    sets give them a degenerate zero divergence); mse tries the range
 *    scaled by 1.00, 0.995, ... 0.20 and keeps the one with the least
 *    expected error: clipping error of each bin centre plus scale^2/12
 *    for the values inside.
 *  - quantization_entropy.txt (kl only): "@<layer>:out0, v" and
 *    "@<layer>:weight, v" with v = 1 - exp(-KL) in [0, 1].
 *  - Layers kept integer only where a kernel exists (integer_reason below
 *    mirrors lib/kernels/qkernels.c, conv.c, pool.c and the data movement
 *    ops that copy integers); any other layer stays float32 with a warning.
 *    float16 layers compute in float16 tensors.
 *  - Data movement layers (Reshape, Transpose, pooling, Resize, ...) pass the
 *    input's parameters to their output (the kernels require it); Softmax's
 *    8-bit output is TFLite's fixed 1/256 with zero point qmin; Sigmoid and
 *    Tanh outputs cover [0, 1] and [-1, 1] whatever the statistics say.
 *  - Conversion layers where a tensor's type changes between layers:
 *    float -> int QuantizeLinear (with a quant record on its output, so the
 *    kernel rounds half away from zero: TFLite's AffineQuantize), int -> int
 *    QuantizeLinear on a quantized input (TFLite's Requantize), int -> float
 *    DequantizeLinear, float32 <-> float16 Cast. They are named
 *    "<tensor>#<type>".
 *  - Graph inputs: mode standard keeps them float32 and quantizes them with a
 *    conversion layer; mode full makes them integer tensors (fed as
 *    integers: preprocessing applies means/scale and the conversion later).
 *  - Outputs: dequantized (a DequantizeLinear whose output keeps the output's
 *    name; the integer tensor becomes "<name>#<type>") where the options say;
 *    otherwise left integer with their parameters.
 *  - Pre-quantized models (QDQ / QLinear ONNX ops, or tensors already
 *    carrying quant records) are detected and kept unchanged: their own
 *    parameters rule (a warning says so). QDQ pairs are not folded.
 *  - quantization_info.yaml: layer ids are node indices of the float IR
 *    given to synap-quant (what '@id' patterns use); every tensor of the
 *    quantized graph with dtype, shape and parameters.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qmath.h"
#include "meta/pattern.h"
#include "calib/calib.h"
#include "quant/quant.h"
#include "runtime/plan.h"

/* ---- a growing text buffer -------------------------------------------------- */

struct sbuf {
    char *p;
    size_t n, cap;
};

static void SYNAP_PRINTF(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)k + 256;
        b->p = synap_xrealloc(b->p, b->cap);
    }
}

/* A YAML double-quoted string. */
static void sb_qstr(struct sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            sb_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            sb_printf(b, "\\x%02x", ch);
        else
            sb_printf(b, "%c", ch);
    }
    sb_printf(b, "\"");
}

/* ---- options ---------------------------------------------------------------- */

static int parse_type(const char *s, enum synap_dtype *t)
{
    if (!strcmp(s, "uint8"))
        *t = SYNAP_DTYPE_UINT8;
    else if (!strcmp(s, "int8"))
        *t = SYNAP_DTYPE_INT8;
    else if (!strcmp(s, "int16"))
        *t = SYNAP_DTYPE_INT16;
    else if (!strcmp(s, "float16"))
        *t = SYNAP_DTYPE_FLOAT16;
    else
        return -1;
    return 0;
}

/* SyNAP's scheme/type pairs (the same words as the metafile parser). */
static const char *scheme_forbids(enum synap_qscheme s, enum synap_dtype t)
{
    if (t == SYNAP_DTYPE_FLOAT16 || s == SYNAP_QSCHEME_NONE) return NULL;
    if (s == SYNAP_QSCHEME_ASYMMETRIC_AFFINE)
        return t == SYNAP_DTYPE_INT16 ? "asymmetric_affine is for 8-bit types only" : NULL;
    if (s == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT)
        return t == SYNAP_DTYPE_UINT8 ? "dynamic_fixed_point is for int8 and int16 only" : NULL;
    return t != SYNAP_DTYPE_INT8 ? "perchannel_symmetric_affine is for int8 only" : NULL;
}

int synap_quant_opts_from_json(const struct synap_json *o, struct synap_arena *a,
                               struct synap_quant_opts *out, struct synap_err *err)
{
    static const char *const keys[] = {
        "data_type", "data_type_map",      "scheme",  "mode",    "algorithm",
        "options",   "dequantize_outputs", "outputs", "noutputs"};
    memset(out, 0, sizeof *out);
    out->percentile = 99.99;
    for (size_t i = 0; i < o->n; i++) {
        size_t k = 0;
        while (k < sizeof keys / sizeof *keys && strcmp(keys[k], o->keys[i]))
            k++;
        if (k == sizeof keys / sizeof *keys)
            return synap_errf(err, "options: unknown key '%s'", o->keys[i]);
    }
    const struct synap_json *dt = synap_json_get(o, "data_type"),
                            *dm = synap_json_get(o, "data_type_map");
    size_t cap = synap_json_length(dt) + synap_json_length(dm) + 1;
    struct synap_qrule *r = synap_arena_alloc(a, cap * sizeof *r);
    size_t n = 0;
    bool map = false;
    if (!dt && !dm) {
        r[n++] = (struct synap_qrule){"*", SYNAP_DTYPE_UINT8};
    } else if (synap_json_is_string(dt)) {
        if (parse_type(dt->s, &r[n].type))
            return synap_errf(err, "data_type: unknown type '%s' (uint8, int8, int16)", dt->s);
        if (r[n].type == SYNAP_DTYPE_FLOAT16)
            return synap_errf(err, "data_type: float16 is only allowed inside a map of layer "
                                   "patterns");
        r[n++].pattern = "*";
    } else if (dt) {
        if (!synap_json_is_array(dt))
            return synap_errf(err, "data_type: expected a type or a list of [PATTERN, TYPE] pairs");
        map = true;
        for (size_t i = 0; i < dt->n; i++) {
            const struct synap_json *p = dt->items[i];
            const char *pat = synap_json_as_string(synap_json_index(p, 0)),
                       *ty = synap_json_as_string(synap_json_index(p, 1));
            if (synap_json_length(p) != 2 || !pat || !ty)
                return synap_errf(err, "data_type[%zu]: expected [PATTERN, TYPE]", i);
            if (parse_type(ty, &r[n].type))
                return synap_errf(err, "data_type: unknown type '%s' (uint8, int8, int16, float16)",
                                  ty);
            r[n++].pattern = pat;
        }
    }
    for (size_t i = 0; i < synap_json_length(dm); i++) {
        const char *s = synap_json_as_string(dm->items[i]), *eq = s ? strrchr(s, '=') : NULL;
        if (!eq || eq == s)
            return synap_errf(err, "data_type_map: expected PATTERN=TYPE, got '%s'", s ? s : "?");
        if (parse_type(eq + 1, &r[n].type))
            return synap_errf(err, "data_type: unknown type '%s' (uint8, int8, int16, float16)",
                              eq + 1);
        char *pat = synap_arena_alloc(a, (size_t)(eq - s) + 1);
        memcpy(pat, s, (size_t)(eq - s));
        r[n++].pattern = pat;
        map = true;
    }
    (void)map;
    out->rules = r;
    out->nrules = n;
    const char *seen8 = NULL;
    for (size_t i = 0; i < n; i++)
        if (r[i].type == SYNAP_DTYPE_UINT8 || r[i].type == SYNAP_DTYPE_INT8) {
            const char *nm = synap_dtype_name(r[i].type);
            if (seen8 && strcmp(seen8, nm))
                return synap_errf(err, "data_type: uint8 and int8 may not be mixed");
            seen8 = nm;
        }

    const char *s = synap_json_as_string(synap_json_get(o, "scheme"));
    if (s && strcmp(s, "default")) {
        out->scheme = synap_qscheme_from_name(s);
        if (out->scheme == SYNAP_QSCHEME_NONE || out->scheme == SYNAP_QSCHEME_SYMMETRIC_AFFINE)
            return synap_errf(err,
                              "scheme: unknown scheme '%s' (default, asymmetric_affine, "
                              "dynamic_fixed_point, perchannel_symmetric_affine)",
                              s);
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = scheme_forbids(out->scheme, r[i].type);
        if (why)
            return synap_errf(err, "scheme: %s (data_type %s %s)", why,
                              n == 1 && !strcmp(r[i].pattern, "*") ? "is" : "has",
                              synap_dtype_name(r[i].type));
    }
    s = synap_json_as_string(synap_json_get(o, "mode"));
    if (s && strcmp(s, "standard")) {
        if (strcmp(s, "full"))
            return synap_errf(err, "mode: unknown mode '%s' (standard, full)", s);
        out->full = true;
    }
    s = synap_json_as_string(synap_json_get(o, "algorithm"));
    if (!s || !strcmp(s, "standard") || !strcmp(s, "auto"))
        out->algo = SYNAP_QALGO_STANDARD;
    else if (!strcmp(s, "kl_divergence"))
        out->algo = SYNAP_QALGO_KL;
    else if (!strcmp(s, "moving_average"))
        out->algo = SYNAP_QALGO_MOVING_AVERAGE;
    else if (!strcmp(s, "percentile"))
        out->algo = SYNAP_QALGO_PERCENTILE;
    else if (!strcmp(s, "mse"))
        out->algo = SYNAP_QALGO_MSE;
    else
        return synap_errf(err,
                          "algorithm: unknown algorithm '%s' (standard, kl_divergence, "
                          "moving_average, percentile, mse, auto)",
                          s);
    const struct synap_json *opt = synap_json_get(o, "options"), *p;
    if ((p = synap_json_get(opt, "percentile"))) {
        out->percentile = synap_json_as_number(p, -1);
        if (!(out->percentile > 50 && out->percentile <= 100))
            return synap_errf(err, "options.percentile: expected a number in (50, 100]");
    }
    out->dequantize_all = synap_json_as_bool(synap_json_get(o, "dequantize_outputs"), false);
    const struct synap_json *outs = synap_json_get(o, "outputs");
    if (synap_json_length(outs)) {
        signed char *d = synap_arena_alloc(a, synap_json_length(outs));
        for (size_t i = 0; i < synap_json_length(outs); i++) {
            const struct synap_json *dq = synap_json_get(outs->items[i], "dequantize");
            d[i] = synap_json_is_bool(dq) ? (signed char)dq->b : -1;
        }
        out->dequantize = d;
        out->ndequantize = synap_json_length(outs);
    }
    return 0;
}

void synap_quant_result_free(struct synap_quant_result *r)
{
    free(r->info_yaml);
    free(r->entropy);
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    memset(r, 0, sizeof *r);
}

/* ---- ranges and parameters ---------------------------------------------------- */

static int type_bits(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_INT16 || t == SYNAP_DTYPE_UINT16 ? 16 : 8;
}

void synap_quant_params(double lo, double hi, enum synap_dtype type, enum synap_qscheme scheme,
                        float *scale, int32_t *zp, int32_t *fl)
{
    int32_t qmin, qmax;
    synap_q_range(type, &qmin, &qmax);
    *fl = 0;
    *zp = 0;
    double m = fmax(fabs(lo), fabs(hi));
    if (!isfinite(m)) m = 0;
    if (scheme == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT) {
        int f = m > 0 ? (int)floor(log2((double)qmax / m)) : type_bits(type) - 1;
        f = f < -64 ? -64 : f > 64 ? 64 : f;
        *fl = f;
        *scale = (float)ldexp(1.0, -f);
        return;
    }
    if (scheme == SYNAP_QSCHEME_SYMMETRIC_AFFINE ||
        scheme == SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE) {
        *scale = m > 0 ? (float)(m / qmax) : 1.0f;
        return;
    }
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    if (!(hi - lo > 0) || !isfinite(hi - lo)) {
        *scale = 1.0f;
        *zp = qmin > 0 ? qmin : qmin < 0 && qmax > 0 ? 0 : qmin;
        return;
    }
    double s = (hi - lo) / ((double)qmax - qmin);
    double z = qmin - lo / s;
    z = z < qmin ? qmin : z > qmax ? qmax : z;
    *scale = (float)s;
    *zp = (int32_t)synap_q_roundf((float)z);
}

/* Bin width and count of the histogram folded to |x|: abs[i] covers
 * [i w, (i+1) w), w = max(|lo|, |hi|) / BINS. */
static double fold_abs(const struct synap_tensor_stats *t, double *abs)
{
    double A = fmax(fabs(t->hist_lo), fabs(t->hist_hi));
    memset(abs, 0, SYNAP_CALIB_BINS * sizeof *abs);
    if (!(A > 0)) return 0;
    double w = (t->hist_hi - t->hist_lo) / SYNAP_CALIB_BINS;
    for (int k = 0; k < SYNAP_CALIB_BINS; k++) {
        if (!t->hist[k]) continue;
        double c = fabs(t->hist_lo + (k + 0.5) * w);
        int b = (int)(c / A * SYNAP_CALIB_BINS);
        b = b < 0 ? 0 : b >= SYNAP_CALIB_BINS ? SYNAP_CALIB_BINS - 1 : b;
        abs[b] += (double)t->hist[k];
    }
    return A / SYNAP_CALIB_BINS;
}

/* KL(P || Q) of the first i bins of h (outliers folded into the last) with
 * Q the same bins merged into `levels` groups and expanded back. */
static double kl_at(const double *h, int nbins, int i, int levels, double *P, double *Q)
{
    double outl = 0;
    for (int k = i; k < nbins; k++)
        outl += h[k];
    double psum = 0;
    for (int k = 0; k < i; k++) {
        P[k] = h[k] + (k == i - 1 ? outl : 0);
        psum += P[k];
        Q[k] = 0;
    }
    if (!(psum > 0)) return 0;
    for (int g = 0; g < levels; g++) {
        int b0 = (int)((int64_t)g * i / levels), b1 = (int)((int64_t)(g + 1) * i / levels);
        double sum = 0;
        int nz = 0;
        for (int k = b0; k < b1; k++) {
            sum += h[k];
            nz += h[k] > 0;
        }
        for (int k = b0; k < b1; k++)
            Q[k] = h[k] > 0 ? sum / nz : 0;
    }
    double qsum = 0;
    for (int k = 0; k < i; k++)
        qsum += Q[k];
    if (!(qsum > 0)) return INFINITY; /* everything clipped */
    double kl = 0;
    for (int k = 0; k < i; k++) {
        if (!(P[k] > 0)) continue;
        double p = P[k] / psum, q = Q[k] > 0 ? Q[k] / qsum : 1e-12;
        kl += p * log(p / q);
    }
    return kl;
}

static void range_kl(const struct synap_tensor_stats *t, int levels, double *lo, double *hi,
                     double *entropy)
{
    double *abs = synap_xmalloc(3 * SYNAP_CALIB_BINS * sizeof *abs);
    double *P = abs + SYNAP_CALIB_BINS, *Q = P + SYNAP_CALIB_BINS;
    double w = fold_abs(t, abs);
    /* Bin 0 holds the exact zeros (ReLU outputs, padding): a spike that
     * would make any merging look bad and drive the threshold down, so it
     * is left out, as pytorch-quantization's skip_zeros does. */
    abs[0] = 0;
    *lo = t->min;
    *hi = t->max;
    *entropy = 0;
    if (w > 0) {
        int best = SYNAP_CALIB_BINS;
        double bestkl = INFINITY, total = 0, tail = 0;
        for (int k = 0; k < SYNAP_CALIB_BINS; k++)
            total += abs[k];
        for (int i = SYNAP_CALIB_BINS; i >= levels; i--) {
            /* thresholds clipping more than 1% of the values are not
             * candidates: the sparse histograms of small data sets give
             * them a degenerate zero divergence */
            if (i < SYNAP_CALIB_BINS) tail += abs[i];
            if (tail > 0.01 * total) break;
            double kl = kl_at(abs, SYNAP_CALIB_BINS, i, levels, P, Q);
            if (kl < bestkl) { /* ties keep the wider range */
                bestkl = kl;
                best = i;
            }
        }
        double T = best * w;
        if (best == SYNAP_CALIB_BINS) T = INFINITY;
        *lo = fmax(t->min, -T);
        *hi = fmin(t->max, T);
        if (!isfinite(bestkl)) bestkl = 0; /* nothing to learn */
        *entropy = 1.0 - exp(-bestkl);
    }
    free(abs);
}

static void range_percentile(const struct synap_tensor_stats *t, double pct, double *lo, double *hi)
{
    double total = 0;
    for (int k = 0; k < SYNAP_CALIB_BINS; k++)
        total += (double)t->hist[k];
    *lo = t->min;
    *hi = t->max;
    if (!(total > 0)) return;
    double w = (t->hist_hi - t->hist_lo) / SYNAP_CALIB_BINS;
    double cut = total * (1.0 - pct / 100.0);
    double cut_lo = t->min >= 0 ? 0 : cut / 2, cut_hi = t->min >= 0 ? cut : cut / 2;
    double acc = 0;
    int k = 0;
    for (; k < SYNAP_CALIB_BINS && acc + (double)t->hist[k] <= cut_lo; k++)
        acc += (double)t->hist[k];
    if (cut_lo > 0) *lo = fmax(t->min, t->hist_lo + k * w);
    acc = 0;
    k = SYNAP_CALIB_BINS - 1;
    for (; k >= 0 && acc + (double)t->hist[k] <= cut_hi; k--)
        acc += (double)t->hist[k];
    if (cut_hi > 0) *hi = fmin(t->max, t->hist_lo + (k + 1) * w);
    if (*hi < *lo) *hi = *lo;
}

/* Expected squared error of quantizing the histogram with range [lo, hi]. */
static double hist_mse(const struct synap_tensor_stats *t, double lo, double hi,
                       enum synap_dtype type, enum synap_qscheme scheme)
{
    float s;
    int32_t zp, fl, qmin, qmax;
    synap_quant_params(lo, hi, type, scheme, &s, &zp, &fl);
    synap_q_range(type, &qmin, &qmax);
    double rlo = ((double)qmin - zp) * s, rhi = ((double)qmax - zp) * s;
    double w = (t->hist_hi - t->hist_lo) / SYNAP_CALIB_BINS, e = 0;
    for (int k = 0; k < SYNAP_CALIB_BINS; k++) {
        if (!t->hist[k]) continue;
        double x = t->hist_lo + (k + 0.5) * w;
        double d = x < rlo ? x - rlo : x > rhi ? x - rhi : 0;
        e += (double)t->hist[k] * (d != 0 ? d * d : (double)s * s / 12.0);
    }
    return e;
}

void synap_quant_range(const struct synap_tensor_stats *t, enum synap_qalgo algo, double percentile,
                       enum synap_dtype type, enum synap_qscheme scheme, double *lo, double *hi,
                       double *entropy)
{
    double ent = 0;
    *lo = t->min;
    *hi = t->max;
    switch (algo) {
    case SYNAP_QALGO_STANDARD:
        break;
    case SYNAP_QALGO_MOVING_AVERAGE:
        *lo = t->ma_min;
        *hi = t->ma_max;
        break;
    case SYNAP_QALGO_PERCENTILE:
        range_percentile(t, percentile, lo, hi);
        break;
    case SYNAP_QALGO_KL:
        range_kl(t, type_bits(type) == 16 ? 1024 : 128, lo, hi, &ent);
        if (type_bits(type) == 16) { /* see the note at the top */
            *lo = t->min;
            *hi = t->max;
        }
        break;
    case SYNAP_QALGO_MSE: {
        double best = INFINITY, blo = t->min, bhi = t->max;
        for (int k = 0; k <= 160; k++) {
            double f = 1.0 - k * 0.005, l = t->min * f, h = t->max * f;
            if (t->min >= 0) l = t->min;
            if (t->max <= 0) h = t->max;
            double e = hist_mse(t, l, h, type, scheme);
            if (e < best) {
                best = e;
                blo = l;
                bhi = h;
            }
        }
        *lo = blo;
        *hi = bhi;
        break;
    }
    }
    if (!isfinite(*lo)) *lo = 0;
    if (!isfinite(*hi)) *hi = 0;
    if (entropy) *entropy = ent;
}

/* ---- the transformation ------------------------------------------------------- */

struct feed {
    uint32_t t;
    enum synap_dtype type;
    uint32_t idx;
};

struct qctx {
    struct synap_graph *g;
    const struct synap_quant_opts *o;
    struct synap_err *err;
    size_t nt0, nn0;
    const struct synap_tensor_stats **st; /* per original tensor, may be NULL */
    enum synap_dtype *ntype;              /* per original node: FLOAT32 = stays float */
    enum synap_dtype *home;               /* per tensor (original ones): its representation */
    enum synap_dtype *orig;               /* original dtype per original tensor */
    struct synap_quant **own;             /* per original tensor: own-stats params by type */
    struct feed *feeds;
    size_t nfeeds, capfeeds;
    bool *const_used;
    struct synap_quant_result *r;
    struct sbuf ent;
    size_t nconv;
    size_t *id0;        /* per node after fusion: its index in the float IR */
    enum synap_op *sat; /* per original tensor: Sigmoid/Tanh when that is its only consumer */
    bool *pooled;       /* per original tensor: inner, [N, C, 1, ...] (one value per channel) */
};

static void warn(struct qctx *q, const char *fmt, ...) SYNAP_PRINTF(2, 3);
static void warn(struct qctx *q, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    q->r->warnings = synap_xrealloc(q->r->warnings, (q->r->nwarnings + 1) * sizeof(char *));
    q->r->warnings[q->r->nwarnings++] = strdup(line);
}

static enum synap_qscheme eff_scheme(const struct qctx *q, enum synap_dtype t)
{
    if (q->o->scheme != SYNAP_QSCHEME_NONE) return q->o->scheme;
    return t == SYNAP_DTYPE_UINT8 ? SYNAP_QSCHEME_ASYMMETRIC_AFFINE
                                  : SYNAP_QSCHEME_DYNAMIC_FIXED_POINT;
}

/* The scheme activations use under a type's scheme. */
static enum synap_qscheme act_scheme(const struct qctx *q, enum synap_dtype t)
{
    enum synap_qscheme s = eff_scheme(q, t);
    return s == SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE ? SYNAP_QSCHEME_ASYMMETRIC_AFFINE : s;
}

static struct synap_quant *qrec(struct synap_graph *g, enum synap_qscheme s, size_t n, int32_t axis)
{
    struct synap_quant *r = synap_arena_alloc(g->arena, sizeof *r);
    r->scheme = s;
    r->nparams = n;
    r->scale = synap_arena_alloc(g->arena, n * sizeof *r->scale);
    r->zero_point = synap_arena_alloc(g->arena, n * sizeof *r->zero_point);
    r->axis = axis;
    return r;
}

static int tidx(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_UINT8 ? 0 : t == SYNAP_DTYPE_INT8 ? 1 : 2;
}

/* Parameters of tensor t in type `type` from its own statistics (cached). */
static struct synap_quant *own_quant(struct qctx *q, uint32_t t, enum synap_dtype type,
                                     double *entropy)
{
    struct synap_quant **slot = &q->own[(size_t)t * 3 + (size_t)tidx(type)];
    if (entropy) *entropy = 0;
    if (*slot && !entropy) return *slot;
    const struct synap_tensor_stats *st = q->st[t];
    if (!st) {
        synap_errf(q->err, "no calibration statistics for tensor '%s' (statistics of another IR?)",
                   q->g->tensors[t].name);
        return NULL;
    }
    double lo, hi;
    enum synap_qscheme s = act_scheme(q, type);
    synap_quant_range(st, q->o->algo, q->o->percentile, type, s, &lo, &hi, entropy);
    if (*slot) return *slot;
    /* the network's outputs keep their whole range under every algorithm:
     * clipping algorithms cut the tails, and an output's tail is its
     * confident answers (examples/digits' logits under kl_divergence:
     * 32.2 dB clipped, 40.9 dB not) */
    for (size_t k = 0; k < q->g->noutputs; k++)
        if (q->g->outputs[k] == t) {
            lo = fmin(lo, st->min);
            hi = fmax(hi, st->max);
        }
    if (type_bits(type) == 16 || q->pooled[t]) {
        /* Headroom: 16-bit ranges cover at least 1.5 times the data set's
         * extremes. Real inputs exceed a data set's extremes (a global
         * pooling has one sample per image; photos unlike the data set
         * drive some channels further), and a clipped activation costs far
         * more than the precision 16 bits have to spare (dynamic fixed
         * point already has 1x..2x headroom: this only moves the tensors
         * whose extremes sit near the top of their power of two). 8-bit
         * tensors of one value per image and channel (after a global
         * pooling: squeeze-and-excitation paths) get it too: the data set
         * gives each channel as many samples as photos, and the next photo
         * often drives one further (PP-OCR det uint8: 4-8 % of such values
         * clipped on a text image, the layer at 9 dB). */
        lo *= 1.5;
        hi *= 1.5;
    }
    if (q->sat[t] != SYNAP_OP_COUNT) {
        /* A Sigmoid's or Tanh's input: a logit. Beyond L the function's
         * output is within half an output step of its limit, so [-L, L]
         * loses nothing; inside it, a range reaching below 0 is made
         * symmetric, because a data set may show only one sign of a logit
         * (PP-OCR det calibrated on photos without text: logits <= 0.37,
         * probabilities clipped at 0.59 on every text pixel). */
        double L = synap_quant_logit_limit(q->sat[t], type_bits(type));
        double A = fmin(fmax(fabs(lo), fabs(hi)), L);
        hi = A;
        lo = lo >= 0 ? fmin(lo, A) : -A; /* never negative (after a Relu): one-sided */
    }
    struct synap_quant *r = qrec(q->g, s, 1, -1);
    synap_quant_params(lo, hi, type, s, &r->scale[0], &r->zero_point[0], &r->fl);
    return *slot = r;
}

double synap_quant_logit_limit(enum synap_op op, int bits)
{
    return (bits + 1) * log(2.0) / (op == SYNAP_OP_TANH ? 2 : 1);
}

/* Fixed output parameters where the integer kernel prescribes them. */
/* Ops whose output parameters the integer kernel prescribes (fixed_quant). */
static bool fixed_range_op(enum synap_op op)
{
    return op == SYNAP_OP_SIGMOID || op == SYNAP_OP_TANH || op == SYNAP_OP_SOFTMAX;
}

static struct synap_quant *fixed_quant(struct qctx *q, enum synap_op op, enum synap_dtype type)
{
    if (!fixed_range_op(op)) return NULL;
    if (op == SYNAP_OP_SIGMOID || op == SYNAP_OP_TANH) {
        /* the function's whole range, as TFLite fixes it: calibration data
         * rarely reaches the top (a detector's probability map on photos
         * with few objects), and saturating there loses the detections */
        enum synap_qscheme s = act_scheme(q, type);
        struct synap_quant *r = qrec(q->g, s, 1, -1);
        synap_quant_params(op == SYNAP_OP_SIGMOID ? 0.0 : -1.0, 1.0, type, s, &r->scale[0],
                           &r->zero_point[0], &r->fl);
        return r;
    }
    if (type_bits(type) == 16) {
        /* TFLite's int16 Softmax: [0, 1) on 1/32768, zero point 0 */
        enum synap_qscheme s = act_scheme(q, type);
        struct synap_quant *r = qrec(q->g, s, 1, -1);
        r->scale[0] = 1.0f / 32768;
        r->zero_point[0] = 0;
        r->fl = s == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT ? 15 : 0;
        return r;
    }
    int32_t lo, hi;
    synap_q_range(type, &lo, &hi);
    struct synap_quant *r = qrec(q->g, SYNAP_QSCHEME_ASYMMETRIC_AFFINE, 1, -1);
    r->scale[0] = 1.0f / 256;
    r->zero_point[0] = lo;
    return r;
}

/* Layers whose output keeps the input's parameters. GlobalAveragePool
 * could requantize (its kernel can), but its output has one sample per
 * image and channel: ranges calibrated on a few dozen photos clip on the
 * next one (PP-OCR cls on text crops: logits at 1 dB instead of 15 dB), so
 * the input's range, which always holds the mean, is kept. */
static bool passthrough_op(enum synap_op op)
{
    switch (op) {
    case SYNAP_OP_MAX_POOL:
    case SYNAP_OP_AVERAGE_POOL:
    case SYNAP_OP_GLOBAL_AVERAGE_POOL:
    case SYNAP_OP_GLOBAL_MAX_POOL:
    case SYNAP_OP_RESIZE:
    case SYNAP_OP_RESHAPE:
    case SYNAP_OP_FLATTEN:
    case SYNAP_OP_SQUEEZE:
    case SYNAP_OP_UNSQUEEZE:
    case SYNAP_OP_TRANSPOSE:
    case SYNAP_OP_SPLIT:
    case SYNAP_OP_SLICE:
    case SYNAP_OP_PAD:
    case SYNAP_OP_TILE:
    case SYNAP_OP_EXPAND:
    case SYNAP_OP_DEPTH_TO_SPACE:
    case SYNAP_OP_SPACE_TO_DEPTH:
    case SYNAP_OP_GATHER:
        return true;
    default:
        return false;
    }
}

/* Which inputs carry values to convert (the rest are shapes, indices or
 * parameters the kernels read as they are). */
static bool data_slot(enum synap_op op, size_t k)
{
    switch (op) {
    case SYNAP_OP_CONV:
    case SYNAP_OP_CONV_TRANSPOSE:
    case SYNAP_OP_GEMM:
    case SYNAP_OP_MATMUL:
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUB:
    case SYNAP_OP_MUL:
    case SYNAP_OP_DIV:
    case SYNAP_OP_CONCAT:
        return true;
    default:
        return k == 0;
    }
}

static bool is_const(const struct synap_graph *g, uint32_t t)
{
    return t != SYNAP_NONE && g->tensors[t].data != NULL;
}

/* NULL when node n has an integer kernel for `type`, else why not. */
static const char *integer_reason(const struct synap_graph *g, const struct synap_node *n,
                                  enum synap_dtype type)
{
    (void)type; /* every integer kernel takes 8 and 16 bits */
    switch (n->op) {
    case SYNAP_OP_CONV:
    case SYNAP_OP_CONV_TRANSPOSE:
        if (n->ninputs < 2 || !is_const(g, n->inputs[1])) return "weights are not constant";
        if (n->ninputs > 2 && n->inputs[2] != SYNAP_NONE && !is_const(g, n->inputs[2]))
            return "bias is not constant";
        return NULL;
    case SYNAP_OP_GEMM:
        if (synap_attr_int(n, "transA", 0) || synap_attr_float(n, "alpha", 1) != 1 ||
            synap_attr_float(n, "beta", 1) != 1)
            return "integer Gemm needs transA = 0 and alpha = beta = 1";
        /* fall through */
    case SYNAP_OP_MATMUL:
        if (n->ninputs < 2 || !is_const(g, n->inputs[1]) || g->tensors[n->inputs[1]].rank != 2)
            return "integer MatMul/Gemm needs constant 2-D weights";
        if (n->ninputs > 2 && n->inputs[2] != SYNAP_NONE && !is_const(g, n->inputs[2]))
            return "bias is not constant";
        return NULL;
    case SYNAP_OP_CLIP:
        for (size_t k = 1; k < n->ninputs; k++)
            if (n->inputs[k] != SYNAP_NONE && !is_const(g, n->inputs[k]))
                return "Clip bounds are not constant";
        return NULL;
    case SYNAP_OP_BATCH_NORMALIZATION:
        if (synap_attr_int(n, "training_mode", 0)) return "training_mode = 1";
        if (n->ninputs != 5) return "integer BatchNormalization needs 5 inputs";
        for (size_t k = 1; k < 5; k++)
            if (!is_const(g, n->inputs[k])) return "BatchNormalization parameters are not constant";
        return NULL;
    case SYNAP_OP_ADD:
    case SYNAP_OP_SUB:
    case SYNAP_OP_MUL:
    case SYNAP_OP_DIV:
    case SYNAP_OP_IDENTITY:
    case SYNAP_OP_RELU:
    case SYNAP_OP_LEAKY_RELU:
    case SYNAP_OP_SIGMOID:
    case SYNAP_OP_HARD_SIGMOID:
    case SYNAP_OP_HARD_SWISH:
    case SYNAP_OP_SOFTMAX:
    case SYNAP_OP_TANH:
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_CONCAT:
    case SYNAP_OP_MAX_POOL:
    case SYNAP_OP_GLOBAL_AVERAGE_POOL:
    case SYNAP_OP_GLOBAL_MAX_POOL:
        return NULL;
    case SYNAP_OP_AVERAGE_POOL:
        return synap_attr_int(n, "count_include_pad", 0)
                   ? "integer AveragePool supports count_include_pad = 0 only"
                   : NULL;
    case SYNAP_OP_RESIZE: {
        const char *mode = synap_attr_string(n, "mode", "nearest");
        if (!strcmp(mode, "nearest")) return NULL;
        if (strcmp(mode, "linear")) return "integer Resize supports nearest and linear only";
        const char *ctm = synap_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        if (strcmp(ctm, "half_pixel") && strcmp(ctm, "pytorch_half_pixel") &&
            strcmp(ctm, "align_corners") && strcmp(ctm, "asymmetric"))
            return "integer linear Resize: unsupported coordinate_transformation_mode";
        if (g->tensors[n->inputs[0]].rank != 4) return "integer linear Resize needs 4-D NCHW";
        return NULL;
    }
    default:
        return passthrough_op(n->op) ? NULL : "no integer kernel";
    }
}

static uint32_t add_scalar(struct qctx *q, const char *name, enum synap_dtype t, double v)
{
    uint64_t buf = 0;
    if (t == SYNAP_DTYPE_FLOAT32) {
        float f = (float)v;
        memcpy(&buf, &f, sizeof f);
    } else {
        synap_q_store(t, &buf, 0, (int32_t)v);
    }
    return synap_graph_add_const(q->g, name, t, 0, NULL, &buf, synap_dtype_size(t));
}

/* A new tensor shaped like t. */
static uint32_t add_like(struct qctx *q, uint32_t t, const char *name, enum synap_dtype dt)
{
    int rank = q->g->tensors[t].rank;
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, q->g->tensors[t].dims, sizeof dims);
    return synap_graph_add_tensor(q->g, name, dt, rank, dims);
}

static char *tname(struct qctx *q, uint32_t t, const char *suffix)
{
    const char *base = q->g->tensors[t].name;
    size_t n = strlen(base) + strlen(suffix) + 2;
    char *s = synap_arena_alloc(q->g->arena, n);
    snprintf(s, n, "%s#%s", base, suffix);
    return s;
}

/* Tensor t as the representation `type` (FLOAT32, FLOAT16 or an integer
 * type), adding a conversion layer once per (tensor, type). */
static uint32_t feed(struct qctx *q, uint32_t t, enum synap_dtype type)
{
    if (q->home[t] == type) return t;
    for (size_t i = 0; i < q->nfeeds; i++)
        if (q->feeds[i].t == t && q->feeds[i].type == type) return q->feeds[i].idx;
    enum synap_dtype h = q->home[t];
    uint32_t src = t, out;
    char *name = tname(q, t, synap_dtype_name(type)), sub[600];
    if (synap_dtype_is_int(type)) {
        if (!synap_dtype_is_int(h)) src = feed(q, t, SYNAP_DTYPE_FLOAT32);
        if (src == SYNAP_NONE) return SYNAP_NONE;
        struct synap_quant *r = own_quant(q, t, type, NULL);
        if (!r) return SYNAP_NONE;
        snprintf(sub, sizeof sub, "%s/scale", name);
        uint32_t sc = add_scalar(q, sub, SYNAP_DTYPE_FLOAT32, r->scale[0]);
        snprintf(sub, sizeof sub, "%s/zero_point", name);
        uint32_t zp = add_scalar(q, sub, type, r->zero_point[0]);
        out = add_like(q, t, name, type);
        q->g->tensors[out].quant = r;
        struct synap_node *n = synap_graph_add_node(q->g, name, SYNAP_OP_QUANTIZE_LINEAR, 3, 1);
        n->inputs[0] = src;
        n->inputs[1] = sc;
        n->inputs[2] = zp;
        n->outputs[0] = out;
    } else if (type == SYNAP_DTYPE_FLOAT32 && synap_dtype_is_int(h)) {
        const struct synap_quant *r = q->g->tensors[t].quant;
        snprintf(sub, sizeof sub, "%s/scale", name);
        uint32_t sc = add_scalar(q, sub, SYNAP_DTYPE_FLOAT32, r->scale[0]);
        snprintf(sub, sizeof sub, "%s/zero_point", name);
        uint32_t zp = add_scalar(q, sub, h, r->zero_point[0]);
        out = add_like(q, t, name, SYNAP_DTYPE_FLOAT32);
        struct synap_node *n = synap_graph_add_node(q->g, name, SYNAP_OP_DEQUANTIZE_LINEAR, 3, 1);
        n->inputs[0] = t;
        n->inputs[1] = sc;
        n->inputs[2] = zp;
        n->outputs[0] = out;
    } else {
        if (synap_dtype_is_int(h)) src = feed(q, t, SYNAP_DTYPE_FLOAT32);
        if (src == SYNAP_NONE) return SYNAP_NONE;
        out = add_like(q, t, name, type);
        struct synap_node *n = synap_graph_add_node(q->g, name, SYNAP_OP_CAST, 1, 1);
        n->inputs[0] = src;
        n->outputs[0] = out;
        synap_node_set_int(q->g, n, "to", type == SYNAP_DTYPE_FLOAT16 ? 10 : 1);
    }
    q->nconv++;
    if (q->nfeeds == q->capfeeds) {
        q->capfeeds = q->capfeeds ? 2 * q->capfeeds : 16;
        q->feeds = synap_xrealloc(q->feeds, q->capfeeds * sizeof *q->feeds);
    }
    q->feeds[q->nfeeds++] = (struct feed){t, type, out};
    return out;
}

/* Name for a converted constant: its own the first time, then suffixed. */
static const char *const_name(struct qctx *q, uint32_t t, enum synap_dtype type)
{
    if (!q->const_used[t]) {
        q->const_used[t] = true;
        return q->g->tensors[t].name;
    }
    return tname(q, t, synap_dtype_name(type));
}

/* Quantizes float32 constant t into `type` with record r (filled here when
 * per channel: `axis` >= 0, symmetric). Returns the new tensor. */
static uint32_t quant_const(struct qctx *q, uint32_t t, enum synap_dtype type,
                            enum synap_qscheme scheme, int axis, double *entropy)
{
    const struct synap_tensor *w = &q->g->tensors[t];
    int64_t n = synap_shape_nelem(w->rank, w->dims);
    const float *x = w->data;
    int64_t nch = axis >= 0 ? w->dims[axis] : 1, inner = 1;
    for (int d = axis + 1; axis >= 0 && d < w->rank; d++)
        inner *= w->dims[d];
    struct synap_quant *r = qrec(q->g, scheme, (size_t)nch, axis >= 0 ? axis : -1);
    double gmin = INFINITY, gmax = -INFINITY;
    for (int64_t c = 0; c < nch; c++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++)
            if (axis < 0 || (i / inner) % nch == c) {
                lo = fmin(lo, x[i]);
                hi = fmax(hi, x[i]);
            }
        if (n == 0) lo = hi = 0;
        gmin = fmin(gmin, lo);
        gmax = fmax(gmax, hi);
        synap_quant_params(lo, hi, type, scheme, &r->scale[c], &r->zero_point[c], &r->fl);
    }
    int32_t qmin, qmax;
    synap_q_range(type, &qmin, &qmax);
    if (scheme == SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE) qmin = -qmax; /* [-127, 127] */
    size_t es = synap_dtype_size(type);
    void *buf = synap_arena_alloc(q->g->arena, (size_t)n * es + 1);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = axis >= 0 ? (i / inner) % nch : 0;
        synap_q_store(type, buf, i,
                      synap_q_quantize(x[i], r->scale[c], r->zero_point[c], qmin, qmax));
    }
    if (entropy) {
        /* the weights' own histogram, quantized over their full range */
        struct synap_tensor_stats *hs = synap_xcalloc(1, sizeof *hs);
        hs->min = hs->hist_lo = n ? gmin : 0;
        hs->max = hs->hist_hi = n ? gmax : 0;
        double bw = (hs->hist_hi - hs->hist_lo) / SYNAP_CALIB_BINS;
        for (int64_t i = 0; i < n; i++) {
            int b = bw > 0 ? (int)((x[i] - hs->hist_lo) / bw) : 0;
            hs->hist[b < 0 ? 0 : b >= SYNAP_CALIB_BINS ? SYNAP_CALIB_BINS - 1 : b]++;
        }
        double abs[SYNAP_CALIB_BINS], P[SYNAP_CALIB_BINS], Q[SYNAP_CALIB_BINS];
        double wd = fold_abs(hs, abs);
        double kl = wd > 0 ? kl_at(abs, SYNAP_CALIB_BINS, SYNAP_CALIB_BINS,
                                   type_bits(type) == 16 ? 1024 : 128, P, Q)
                           : 0;
        *entropy = 1.0 - exp(-kl);
        free(hs);
    }
    const char *name = const_name(q, t, type);
    int rank = w->rank;
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, w->dims, sizeof dims);
    uint32_t nt = synap_graph_add_const(q->g, name, type, rank, dims, buf, (size_t)n * es);
    q->g->tensors[nt].quant = r;
    return nt;
}

/* Bias t (float32) for a layer with input record qx and weight record qw:
 * int32 (int64 for 16-bit layers), scale s_in * s_w[c], zero point 0. */
static uint32_t quant_bias(struct qctx *q, uint32_t t, const struct synap_quant *qx,
                           const struct synap_quant *qw, enum synap_dtype type)
{
    const struct synap_tensor *b = &q->g->tensors[t];
    int64_t n = synap_shape_nelem(b->rank, b->dims);
    const float *x = b->data;
    enum synap_dtype bt = type_bits(type) == 16 ? SYNAP_DTYPE_INT64 : SYNAP_DTYPE_INT32;
    size_t np = qw->nparams;
    struct synap_quant *r = qrec(q->g, qw->scheme, np, np > 1 ? 0 : -1);
    for (size_t c = 0; c < np; c++) {
        r->scale[c] = (float)((double)qx->scale[0] * qw->scale[c]);
        r->zero_point[c] = 0;
    }
    r->fl = qx->fl + qw->fl;
    void *buf = synap_arena_alloc(q->g->arena, (size_t)n * synap_dtype_size(bt) + 1);
    for (int64_t i = 0; i < n; i++) {
        double s = (double)qx->scale[0] * qw->scale[np > 1 ? (size_t)i % np : 0];
        double v = s > 0 ? x[i] / s : 0;
        v = v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5);
        if (bt == SYNAP_DTYPE_INT64) {
            ((int64_t *)buf)[i] = v > 9.2e18 ? INT64_MAX : v < -9.2e18 ? INT64_MIN : (int64_t)v;
        } else {
            ((int32_t *)buf)[i] = v > INT32_MAX   ? INT32_MAX
                                  : v < INT32_MIN ? INT32_MIN
                                                  : (int32_t)v;
        }
    }
    const char *name = const_name(q, t, bt);
    int rank = b->rank;
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, b->dims, sizeof dims);
    uint32_t nt =
        synap_graph_add_const(q->g, name, bt, rank, dims, buf, (size_t)n * synap_dtype_size(bt));
    q->g->tensors[nt].quant = r;
    return nt;
}

static uint32_t f16_const(struct qctx *q, uint32_t t)
{
    const struct synap_tensor *w = &q->g->tensors[t];
    int64_t n = synap_shape_nelem(w->rank, w->dims);
    void *buf = synap_arena_alloc(q->g->arena, (size_t)n * 2 + 1);
    synap_convert(SYNAP_DTYPE_FLOAT16, buf, SYNAP_DTYPE_FLOAT32, w->data, n);
    const char *name = const_name(q, t, SYNAP_DTYPE_FLOAT16);
    int rank = w->rank;
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, w->dims, sizeof dims);
    return synap_graph_add_const(q->g, name, SYNAP_DTYPE_FLOAT16, rank, dims, buf, (size_t)n * 2);
}

/* Channel axis of a layer's weights (input 1). */
static int weight_axis(const struct synap_node *n)
{
    switch (n->op) {
    case SYNAP_OP_CONV:
        return 0;
    case SYNAP_OP_CONV_TRANSPOSE:
        return 1;
    case SYNAP_OP_GEMM:
        return synap_attr_int(n, "transB", 0) ? 0 : 1;
    default:
        return 1;
    }
}

static const char *layer_name(const struct synap_graph *g, const struct synap_node *n)
{
    if (n->name && *n->name) return n->name;
    return n->noutputs && n->outputs[0] != SYNAP_NONE ? g->tensors[n->outputs[0]].name : "?";
}

static int quantize_node(struct qctx *q, size_t i)
{
    struct synap_graph *g = q->g;
    enum synap_dtype T = q->ntype[i];
    bool isint = synap_dtype_is_int(T);
    enum synap_op op = g->nodes[i].op;
    const struct synap_quant *qx = NULL, *qw = NULL;
    for (size_t k = 0; k < g->nodes[i].ninputs; k++) {
        uint32_t t = g->nodes[i].inputs[k], nt = t;
        if (t == SYNAP_NONE || t >= q->nt0 || q->orig[t] != SYNAP_DTYPE_FLOAT32) continue;
        bool slot = data_slot(op, k);
        if (is_const(g, t)) {
            if (T == SYNAP_DTYPE_FLOAT16 && (op != SYNAP_OP_RESIZE || k == 0) &&
                op != SYNAP_OP_BATCH_NORMALIZATION && op != SYNAP_OP_INSTANCE_NORMALIZATION &&
                op != SYNAP_OP_LAYER_NORMALIZATION) {
                /* float kernels want one float type (Clip bounds, Pad
                 * values...), but Resize's roi and scales stay float32, and
                 * so do normalization parameters (a variance below float16's
                 * range would change the result; the NPU folds them in
                 * float32) */
                nt = f16_const(q, t);
                g->nodes[i].inputs[k] = nt;
                continue;
            }
            if (!slot || T == SYNAP_DTYPE_FLOAT32) continue;
            if (T == SYNAP_DTYPE_FLOAT16) {
                nt = f16_const(q, t);
            } else {
                bool has_w = op == SYNAP_OP_CONV || op == SYNAP_OP_CONV_TRANSPOSE ||
                             op == SYNAP_OP_GEMM || op == SYNAP_OP_MATMUL;
                if (has_w && k == 1) {
                    enum synap_qscheme s = eff_scheme(q, T);
                    double ent = 0;
                    nt = quant_const(q, t, T, s,
                                     s == SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE
                                         ? weight_axis(&g->nodes[i])
                                         : -1,
                                     q->o->algo == SYNAP_QALGO_KL ? &ent : NULL);
                    qw = g->tensors[nt].quant;
                    if (q->o->algo == SYNAP_QALGO_KL)
                        sb_printf(&q->ent, "@%s:weight, %.6f\n", layer_name(g, &g->nodes[i]), ent);
                } else if (has_w && k == 2 && qx && qw) {
                    nt = quant_bias(q, t, qx, qw, T);
                } else {
                    nt = quant_const(q, t, T, act_scheme(q, T), -1, NULL);
                }
            }
        } else {
            if (T != SYNAP_DTYPE_FLOAT32 && !slot) continue;
            nt = feed(q, t, T);
            if (nt == SYNAP_NONE) return -1;
        }
        g->nodes[i].inputs[k] = nt;
        if (k == 0 && isint) qx = g->tensors[nt].quant;
    }
    for (size_t j = 0; j < g->nodes[i].noutputs; j++) {
        uint32_t t = g->nodes[i].outputs[j];
        if (t == SYNAP_NONE || t >= q->nt0 || q->orig[t] != SYNAP_DTYPE_FLOAT32) continue;
        if (T == SYNAP_DTYPE_FLOAT32) continue;
        q->home[t] = T;
        g->tensors[t].dtype = T;
        if (!isint) continue;
        struct synap_quant *r = fixed_quant(q, op, T);
        if (!r && passthrough_op(op) && qx) r = (struct synap_quant *)qx;
        if (!r) {
            double ent = 0;
            r = own_quant(q, t, T, q->o->algo == SYNAP_QALGO_KL ? &ent : NULL);
            if (!r) return -1;
            if (q->o->algo == SYNAP_QALGO_KL && j == 0)
                sb_printf(&q->ent, "@%s:out0, %.6f\n", layer_name(g, &g->nodes[i]), ent);
        }
        g->tensors[t].quant = r;
    }
    return 0;
}

static void yaml_quant(struct sbuf *b, const struct synap_quant *r)
{
    sb_printf(b, "    scheme: %s\n", synap_qscheme_name(r->scheme));
    if (r->axis >= 0) sb_printf(b, "    axis: %d\n", r->axis);
    if (r->scheme == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT) sb_printf(b, "    fl: %d\n", r->fl);
    sb_printf(b, "    scale: [");
    for (size_t i = 0; i < r->nparams; i++)
        sb_printf(b, "%s%.9g", i ? ", " : "", (double)r->scale[i]);
    sb_printf(b, "]\n    zero_point: [");
    for (size_t i = 0; i < r->nparams; i++)
        sb_printf(b, "%s%d", i ? ", " : "", r->zero_point[i]);
    sb_printf(b, "]\n");
}

static void yaml_names(struct sbuf *b, const struct synap_graph *g, const uint32_t *t, size_t n)
{
    sb_printf(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_printf(b, ", ");
        if (t[i] == SYNAP_NONE)
            sb_printf(b, "null");
        else
            sb_qstr(b, g->tensors[t[i]].name);
    }
    sb_printf(b, "]");
}

/* quantization_info.yaml: every layer (ids of the float IR), the
 * conversion layers, and every tensor the quantized graph uses. */
static void write_info(struct qctx *q, size_t nn0, const enum synap_dtype *ntype)
{
    const struct synap_graph *g = q->g;
    struct sbuf b = {0};
    sb_printf(&b, "# synap-quant: layer ids ('@id' patterns) are node indices of the float IR;\n"
                  "# layers folded into a convolution (BatchNormalization, per-channel Mul and\n"
                  "# Add) or fused into one HardSwish before quantizing are not listed\n");
    sb_printf(&b, "layers:\n");
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        if (i == nn0) sb_printf(&b, "conversions:\n");
        sb_printf(&b, "  - ");
        if (i < nn0) sb_printf(&b, "id: %zu\n    ", q->id0 ? q->id0[i] : i);
        sb_printf(&b, "name: ");
        sb_qstr(&b, n->name);
        sb_printf(&b, "\n    op: %s\n", synap_op_name(n->op));
        if (i < nn0)
            sb_printf(&b, "    type: %s\n", ntype ? synap_dtype_name(ntype[i]) : "prequantized");
        sb_printf(&b, "    inputs: ");
        yaml_names(&b, g, n->inputs, n->ninputs);
        sb_printf(&b, "\n    outputs: ");
        yaml_names(&b, g, n->outputs, n->noutputs);
        sb_printf(&b, "\n");
    }
    bool *seen = synap_xcalloc(g->ntensors + 1, 1);
    sb_printf(&b, "tensors:\n");
    for (size_t pass = 0; pass < 3; pass++) {
        size_t count = pass == 0 ? g->ninputs : pass == 1 ? g->nnodes : g->noutputs;
        for (size_t i = 0; i < count; i++) {
            const uint32_t *ts;
            size_t nts;
            uint32_t one;
            if (pass == 1) {
                const struct synap_node *n = &g->nodes[i];
                for (size_t k = 0; k < n->ninputs + n->noutputs; k++) {
                    uint32_t t = k < n->ninputs ? n->inputs[k] : n->outputs[k - n->ninputs];
                    if (t == SYNAP_NONE || seen[t]) continue;
                    seen[t] = true;
                    const struct synap_tensor *x = &g->tensors[t];
                    char sh[256];
                    sb_printf(&b, "  - name: ");
                    sb_qstr(&b, x->name);
                    sb_printf(&b, "\n    dtype: %s\n    shape: %s\n", synap_dtype_name(x->dtype),
                              synap_shape_str(x->rank, x->dims, sh, sizeof sh));
                    if (x->quant) yaml_quant(&b, x->quant);
                }
                continue;
            }
            one = pass == 0 ? g->inputs[i] : g->outputs[i];
            ts = &one;
            nts = 1;
            for (size_t k = 0; k < nts; k++) {
                uint32_t t = ts[k];
                if (seen[t]) continue;
                seen[t] = true;
                const struct synap_tensor *x = &g->tensors[t];
                char sh[256];
                sb_printf(&b, "  - name: ");
                sb_qstr(&b, x->name);
                sb_printf(&b, "\n    dtype: %s\n    shape: %s\n", synap_dtype_name(x->dtype),
                          synap_shape_str(x->rank, x->dims, sh, sizeof sh));
                if (x->quant) yaml_quant(&b, x->quant);
            }
        }
    }
    free(seen);
    q->r->info_yaml = b.p;
    q->r->info_n = b.n;
}

static bool prequantized(const struct synap_graph *g)
{
    for (size_t i = 0; i < g->nnodes; i++)
        switch (g->nodes[i].op) {
        case SYNAP_OP_QUANTIZE_LINEAR:
        case SYNAP_OP_DEQUANTIZE_LINEAR:
        case SYNAP_OP_DYNAMIC_QUANTIZE_LINEAR:
        case SYNAP_OP_QLINEAR_CONV:
        case SYNAP_OP_QLINEAR_MATMUL:
        case SYNAP_OP_MATMUL_INTEGER:
        case SYNAP_OP_CONV_INTEGER:
            return true;
        default:
            break;
        }
    for (size_t t = 0; t < g->ntensors; t++)
        if (g->tensors[t].quant) return true;
    return false;
}

/* TFLite's fused activations: an integer layer whose output feeds only a
 * Relu, or a Clip to [0, x], of its own type is quantized with that
 * activation's range - the kernel's saturation then is the activation, and
 * no step is spent on values it cuts (the activation layer requantizes
 * nothing: same parameters on both sides). */
static void fuse_activations(struct qctx *q)
{
    const struct synap_graph *g = q->g;
    struct synap_uses u;
    synap_uses_build(g, &u); /* no conversion layers yet: nodes and tensors are the first nn0/nt0 */
    for (size_t t = 0; t < q->nt0; t++) {
        if (u.nuses[t] != 1 || u.is_output[t] || u.producer[t] < 0 || !q->st[t]) continue;
        size_t pi = (size_t)u.producer[t], ai = (size_t)u.consumer[t];
        const struct synap_node *a = &g->nodes[ai];
        if (!synap_dtype_is_int(q->ntype[pi]) || q->ntype[ai] != q->ntype[pi]) continue;
        if (passthrough_op(g->nodes[pi].op) || fixed_range_op(g->nodes[pi].op)) continue;
        bool act = a->op == SYNAP_OP_RELU && a->ninputs == 1;
        if (a->op == SYNAP_OP_CLIP && a->ninputs >= 2 && a->inputs[1] != SYNAP_NONE) {
            const float *lo = synap_const_f32(g, a->inputs[1], 1, NULL);
            act = lo && *lo >= 0;
        }
        if (!act || a->noutputs != 1 || a->outputs[0] >= q->nt0 || !q->st[a->outputs[0]]) continue;
        q->st[t] = q->st[a->outputs[0]];
    }
    synap_uses_free(&u);
}

/* q->sat: tensors whose only use is an integer Sigmoid or Tanh of their own
 * type (own_quant gives them the function's sensitive range); q->pooled:
 * inner tensors of one value per channel (own_quant gives 8-bit ones
 * headroom). */
static void mark_range_rules(struct qctx *q)
{
    const struct synap_graph *g = q->g;
    struct synap_uses u;
    synap_uses_build(g, &u);
    q->sat = synap_xcalloc(q->nt0 + 1, sizeof *q->sat);
    q->pooled = synap_xcalloc(q->nt0 + 1, sizeof *q->pooled);
    for (size_t t = 0; t < q->nt0; t++) {
        q->sat[t] = SYNAP_OP_COUNT;
        const struct synap_tensor *tt = &g->tensors[t];
        int64_t inner = 1;
        for (int d = 2; d < tt->rank; d++)
            inner *= tt->dims[d];
        q->pooled[t] = tt->rank >= 3 && inner == 1 && u.producer[t] >= 0 && !u.is_output[t];
        if (u.nuses[t] != 1 || u.is_output[t] || u.producer[t] < 0) continue;
        size_t pi = (size_t)u.producer[t], ai = (size_t)u.consumer[t];
        enum synap_op op = g->nodes[ai].op;
        if ((op == SYNAP_OP_SIGMOID || op == SYNAP_OP_TANH) && synap_dtype_is_int(q->ntype[ai]) &&
            q->ntype[pi] == q->ntype[ai] && !passthrough_op(g->nodes[pi].op) &&
            !fixed_range_op(g->nodes[pi].op))
            q->sat[t] = op;
    }
    synap_uses_free(&u);
}

int synap_quantize(struct synap_graph *g, const struct synap_calib_stats *s,
                   const struct synap_quant_opts *o, struct synap_quant_result *r,
                   struct synap_err *err)
{
    memset(r, 0, sizeof *r);
    struct qctx q = {.g = g, .o = o, .err = err, .r = r, .nt0 = g->ntensors, .nn0 = g->nnodes};
    int rc = -1;
    bool *sel = NULL;
    if (prequantized(g)) {
        r->prequantized = true;
        warn(&q, "the model is already quantized (QDQ / QLinear layers or quantized tensors): its "
                 "own parameters are kept; data_type, scheme and algorithm are ignored");
        write_info(&q, g->nnodes, NULL);
        return 0;
    }
    /* equalized as synap-calib did (its channel ranges), and the ranges kept
     * in the IR for synap-compare */
    if (synap_calib_prepare(g, s, err) < 0) return -1;
    if (s->nchannels) {
        uint8_t *sec;
        size_t nsec;
        synap_calib_channels_write(s, &sec, &nsec);
        synap_ir_section_set(g, "equalization", sec, nsec);
        free(sec);
    }
    q.nt0 = g->ntensors;
    for (size_t i = 0; i < s->ntensors; i++) {
        const struct synap_tensor_stats *ts = &s->t[i];
        if (ts->tensor >= q.nt0 || strcmp(g->tensors[ts->tensor].name, ts->name ? ts->name : "")) {
            synap_errf(err,
                       "statistics: tensor %u is '%s' in the statistics but %s%s%s in the IR "
                       "(statistics collected on another IR?)",
                       ts->tensor, ts->name ? ts->name : "", ts->tensor < q.nt0 ? "'" : "",
                       ts->tensor < q.nt0 ? g->tensors[ts->tensor].name : "absent",
                       ts->tensor < q.nt0 ? "'" : "");
            return -1;
        }
    }
    /* layer types, from the rules on the graph as given */
    int *ty = synap_xcalloc(q.nn0 + 1, sizeof *ty);
    sel = synap_xcalloc(q.nn0 + 1, 1);
    for (size_t i = 0; i < q.nn0; i++)
        ty[i] = SYNAP_DTYPE_FLOAT32;
    for (size_t k = 0; k < o->nrules; k++) {
        if (synap_pattern_match_flags(g, o->rules[k].pattern, SYNAP_PATTERN_ALLOW_INPUTS, sel,
                                      err)) {
            synap_err_prefix(err, "data_type");
            free(ty);
            goto out;
        }
        for (size_t i = 0; i < q.nn0; i++)
            if (sel[i]) ty[i] = (int)o->rules[k].type;
    }
    /* Fold affine followers into convolutions and collapse HardSwish
     * patterns, among layers of one type: every layer removed is a
     * requantization less. The statistics of the tensors that stay apply
     * unchanged (the fused layers produce the same tensors); old tensors
     * stay in place until the final pruning, so indices still agree. */
    if (synap_graph_fuse(
            g, SYNAP_FUSE_BN | SYNAP_FUSE_SCALE | SYNAP_FUSE_HARDSWISH | SYNAP_FUSE_AFFINE, ty,
            &q.id0, NULL, err)) {
        free(ty);
        goto out;
    }
    q.nt0 = g->ntensors;
    q.nn0 = g->nnodes;
    q.st = synap_xcalloc(q.nt0 + 1, sizeof *q.st);
    q.ntype = synap_xcalloc(q.nn0 + 1, sizeof *q.ntype);
    q.home = synap_xcalloc(q.nt0 + 1, sizeof *q.home);
    q.orig = synap_xcalloc(q.nt0 + 1, sizeof *q.orig);
    q.own = synap_xcalloc(q.nt0 * 3 + 1, sizeof *q.own);
    q.const_used = synap_xcalloc(q.nt0 + 1, 1);
    for (size_t t = 0; t < q.nt0; t++)
        q.home[t] = q.orig[t] = g->tensors[t].dtype;
    for (size_t i = 0; i < s->ntensors; i++)
        q.st[s->t[i].tensor] = &s->t[i];
    for (size_t i = 0; i < q.nn0; i++)
        q.ntype[i] = (enum synap_dtype)ty[q.id0[i]];
    free(ty);
    for (size_t i = 0; i < q.nn0; i++) {
        const struct synap_node *n = &g->nodes[i];
        uint32_t x = n->ninputs ? n->inputs[0] : SYNAP_NONE;
        if (x == SYNAP_NONE || q.orig[x] != SYNAP_DTYPE_FLOAT32) {
            q.ntype[i] = SYNAP_DTYPE_FLOAT32; /* not a float layer: left as it is */
            continue;
        }
        if (!synap_dtype_is_int(q.ntype[i])) continue;
        const char *why = integer_reason(g, n, q.ntype[i]);
        if (why) {
            warn(&q, "layer '%s' (%s): %s for %s: kept in float32 with conversion layers",
                 layer_name(g, n), synap_op_name(n->op), why, synap_dtype_name(q.ntype[i]));
            q.ntype[i] = SYNAP_DTYPE_FLOAT32;
        }
    }
    fuse_activations(&q);
    mark_range_rules(&q);
    /* mode full: graph inputs take the type of their first integer consumer */
    if (o->full)
        for (size_t k = 0; k < g->ninputs; k++) {
            uint32_t t = g->inputs[k];
            if (q.orig[t] != SYNAP_DTYPE_FLOAT32) continue;
            for (size_t i = 0; i < q.nn0; i++)
                if (synap_dtype_is_int(q.ntype[i]) && g->nodes[i].ninputs &&
                    g->nodes[i].inputs[0] == t) {
                    struct synap_quant *qr = own_quant(&q, t, q.ntype[i], NULL);
                    if (!qr) goto out;
                    q.home[t] = q.ntype[i];
                    g->tensors[t].dtype = q.ntype[i];
                    g->tensors[t].quant = qr;
                    break;
                }
        }
    for (size_t i = 0; i < q.nn0; i++)
        if (quantize_node(&q, i)) goto out;
    /* outputs */
    for (size_t k = 0; k < g->noutputs; k++) {
        uint32_t t = g->outputs[k];
        if (t >= q.nt0 || q.home[t] == q.orig[t]) continue;
        bool dq = o->dequantize_all;
        if (k < o->ndequantize && o->dequantize[k] >= 0) dq = o->dequantize[k];
        if (!dq) continue;
        uint32_t f = feed(&q, t, SYNAP_DTYPE_FLOAT32);
        if (f == SYNAP_NONE) goto out;
        const char *name = g->tensors[t].name;
        g->tensors[t].name = tname(&q, t, synap_dtype_name(q.home[t]));
        g->tensors[f].name = name;
        g->outputs[k] = f;
    }
    r->nconversions = q.nconv;
    write_info(&q, q.nn0, q.ntype);
    if (o->algo == SYNAP_QALGO_KL) {
        if (!q.ent.p) sb_printf(&q.ent, "%s", "");
        r->entropy = q.ent.p;
        r->entropy_n = q.ent.n;
        q.ent.p = NULL;
    }
    if (synap_graph_toposort(g, err)) goto out;
    synap_graph_prune_dead(g);
    if (synap_graph_verify(g, "quantized graph", err)) goto out;
    /* every layer must run: the integer kernels have the last word */
    struct synap_plan_opts po = {.nthreads = 1};
    struct synap_plan *p = synap_plan_new(g, &po, err);
    if (!p) {
        err->code = SYNAP_EIO;
        synap_err_prefix(err, "quantized graph does not run (report this)");
        goto out;
    }
    synap_plan_free(p);
    rc = 0;
out:
    free(q.st);
    free(q.sat);
    free(q.pooled);
    free(q.id0);
    free(q.ntype);
    free(q.home);
    free(q.orig);
    free(q.own);
    free(q.const_used);
    free(q.feeds);
    free(q.ent.p);
    free(sel);
    return rc;
}
