/* TFLite_Detection_PostProcess: SSD box decoding and non-maximum
 * suppression, as TFLite's detection_postprocess kernel computes them. It
 * runs on the cpu delegate (no target lists it among its NPU ops).
 *
 * Inputs: box encodings [1, N, 4] (ty, tx, th, tw), class scores
 * [1, N, C + background], anchors [N, 4] (ycenter, xcenter, h, w); float or
 * quantized integers (dequantized first: (q - zero_point) * scale).
 * Attributes (the op's custom options): max_detections,
 * max_classes_per_detection (1), detections_per_class (100),
 * use_regular_nms (0), nms_score_threshold, nms_iou_threshold, num_classes,
 * y_scale, x_scale, h_scale, w_scale.
 * Outputs (float32), M = max_detections * max_classes_per_detection (fast
 * NMS) or max_detections (regular NMS): boxes [1, M, 4] (ymin, xmin, ymax,
 * xmax), classes [1, M] (0-based, background dropped), scores [1, M] and the
 * number of detections [1]; entries past the count are 0.
 *
 * Method (TFLite's):
 *   decode: yc = ty / y_scale * ha + ya, xc = tx / x_scale * wa + xa,
 *     h = exp(th / h_scale) * ha, w = exp(tw / w_scale) * wa; the box is
 *     the center -/+ half the size;
 *   fast NMS: each anchor keeps its max_classes_per_detection best classes
 *     (ties: the lower class first); the anchors' best scores go through one
 *     single-class NMS (candidates with score >= threshold, sorted by
 *     decreasing score, stable; a candidate is dropped when its IoU with a
 *     kept box exceeds the IoU threshold; at most max_detections kept);
 *   regular NMS: single-class NMS per class (detections_per_class each),
 *     then the max_detections best of all, stable by score.
 * Deterministic: one thread, fixed orders. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

struct dpp {
    int64_t n, ncls_bg, ncls, off; /* anchors, score columns, classes, label offset */
    int64_t max_det, max_cls, per_cls, regular;
    float score_th, iou_th, ys, xs, hs, ws;
    int64_t m; /* output rows */
};

static int dpp_params(struct synap_kctx *c, struct dpp *p)
{
    const struct synap_node *n = c->node;
    const struct synap_value *b = &c->in[0], *s = &c->in[1], *a = &c->in[2];
    if (b->rank != 3 || b->dims[0] != 1 || b->dims[2] < 4)
        return synap_errf(c->err, "input 0 (boxes): expected [1, N, 4]");
    p->n = b->dims[1];
    if (s->rank != 3 || s->dims[0] != 1 || s->dims[1] != p->n)
        return synap_errf(c->err, "input 1 (scores): expected [1, %lld, classes]", (long long)p->n);
    if (a->rank != 2 || a->dims[0] != p->n || a->dims[1] != 4)
        return synap_errf(c->err, "input 2 (anchors): expected [%lld, 4]", (long long)p->n);
    p->ncls_bg = s->dims[2];
    p->ncls = synap_attr_int(n, "num_classes", p->ncls_bg);
    p->max_det = synap_attr_int(n, "max_detections", 10);
    p->max_cls = synap_attr_int(n, "max_classes_per_detection", 1);
    p->per_cls = synap_attr_int(n, "detections_per_class", 100);
    p->regular = synap_attr_int(n, "use_regular_nms", 0) != 0;
    p->score_th = synap_attr_float(n, "nms_score_threshold", 0.0f);
    p->iou_th = synap_attr_float(n, "nms_iou_threshold", 0.5f);
    p->ys = synap_attr_float(n, "y_scale", 10.0f);
    p->xs = synap_attr_float(n, "x_scale", 10.0f);
    p->hs = synap_attr_float(n, "h_scale", 5.0f);
    p->ws = synap_attr_float(n, "w_scale", 5.0f);
    if (p->ncls < 1 || p->ncls > p->ncls_bg)
        return synap_errf(c->err, "num_classes %lld does not fit %lld score columns",
                          (long long)p->ncls, (long long)p->ncls_bg);
    if (p->max_det < 1 || p->max_det > 100000 || p->max_cls < 1 || p->per_cls < 1 ||
        p->per_cls > 100000)
        return synap_errf(c->err, "max_detections %lld, max_classes_per_detection %lld or "
                                  "detections_per_class %lld out of range",
                          (long long)p->max_det, (long long)p->max_cls, (long long)p->per_cls);
    if (!(p->ys > 0) || !(p->xs > 0) || !(p->hs > 0) || !(p->ws > 0))
        return synap_errf(c->err, "box scales must be positive");
    if (p->n < 1 || p->n > INT32_MAX / (p->ncls_bg > 0 ? p->ncls_bg : 1))
        return synap_errf(c->err, "%lld anchors x %lld classes out of range", (long long)p->n,
                          (long long)p->ncls_bg);
    p->off = p->ncls_bg - p->ncls;
    if (p->max_cls > p->ncls) p->max_cls = p->ncls;
    p->m = p->regular ? p->max_det : p->max_det * p->max_cls;
    return 0;
}

/* Entries of the regular-NMS merge lists: the kept ones plus one class's. */
static size_t regular_cap(const struct dpp *p)
{
    size_t per = (size_t)(p->per_cls < p->n ? p->per_cls : p->n);
    return (size_t)p->max_det + per + 1;
}

int synap_detect_infer(struct synap_kctx *c)
{
    struct dpp p;
    if (c->nin != 3 || c->nout != 4) return synap_errf(c->err, "expected 3 inputs and 4 outputs");
    for (size_t i = 0; i < 3; i++) {
        enum synap_dtype t = c->in[i].dtype;
        if (!synap_dtype_is_float(t) && !(synap_dtype_is_int(t) && synap_q_in(c, i)))
            return synap_errf(c->err, "input %zu: expected float or quantized integers, got %s", i,
                              synap_dtype_name(t));
    }
    if (dpp_params(c, &p) < 0) return -1;
    int64_t d0[3] = {1, p.m, 4}, d1[2] = {1, p.m}, d3[1] = {1};
    for (size_t j = 0; j < 4; j++)
        c->out[j].dtype = SYNAP_DTYPE_FLOAT32;
    c->out[0].rank = 3;
    memcpy(c->out[0].dims, d0, sizeof d0);
    c->out[1].rank = c->out[2].rank = 2;
    memcpy(c->out[1].dims, d1, sizeof d1);
    memcpy(c->out[2].dims, d1, sizeof d1);
    c->out[3].rank = 1;
    memcpy(c->out[3].dims, d3, sizeof d3);
    /* decoded boxes, scores, per-anchor best classes and NMS work lists */
    size_t n = (size_t)p.n, k = (size_t)p.max_cls, cap = regular_cap(&p);
    size_t nb = 0;
    if (synap_mul_overflow(n, 4 + (size_t)p.ncls_bg + 1 + k + 4, &nb) ||
        synap_add_overflow(nb, 6 * cap, &nb) || synap_mul_overflow(nb, 4, &nb))
        return synap_errf(c->err, "too many anchors or classes");
    c->scratch_nbytes = nb + 64;
    return 0;
}

/* Element i of input k as float (dequantized when quantized). */
static float in_f(const struct synap_kctx *c, size_t k, int64_t i)
{
    const struct synap_value *v = &c->in[k];
    const struct synap_quant *q = synap_q_in(c, k);
    if (q && synap_dtype_is_int(v->dtype))
        return (float)((double)q->scale[0] *
                       (double)((int64_t)synap_q_load(v->dtype, v->data, i) - q->zero_point[0]));
    return (float)synap_value_get_f64(v, i);
}

static float iou(const float *b, int32_t i, int32_t j)
{
    const float *p = b + 4 * (int64_t)i, *q = b + 4 * (int64_t)j;
    float ai = (p[2] - p[0]) * (p[3] - p[1]), aj = (q[2] - q[0]) * (q[3] - q[1]);
    if (ai <= 0 || aj <= 0) return 0;
    float ymin = fmaxf(p[0], q[0]), xmin = fmaxf(p[1], q[1]);
    float ymax = fminf(p[2], q[2]), xmax = fminf(p[3], q[3]);
    float inter = fmaxf(ymax - ymin, 0.0f) * fmaxf(xmax - xmin, 0.0f);
    return inter / (ai + aj - inter);
}

/* Stable sort of idx[0..n) by decreasing key[idx] (insertion into a merge
 * buffer: a bottom-up merge sort, tmp has n entries). */
static void sort_desc(int32_t *idx, int32_t *tmp, size_t n, const float *key)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                tmp[o++] = key[idx[b]] > key[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid)
                tmp[o++] = idx[a++];
            while (b < hi)
                tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

/* TFLite's NonMaxSuppressionSingleClassHelper over scores[0..n): the kept
 * anchor indices, best first, into sel (at most max_out); returns the count. */
static size_t nms_one(const float *boxes, const float *scores, size_t n, float score_th,
                      float iou_th, size_t max_out, int32_t *cand, int32_t *tmp, int32_t *active,
                      int32_t *sel)
{
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (scores[i] >= score_th) cand[nc++] = (int32_t)i;
    sort_desc(cand, tmp, nc, scores);
    size_t nact = nc, nsel = 0;
    for (size_t i = 0; i < nc; i++)
        active[i] = 1;
    for (size_t i = 0; i < nc; i++) {
        if (nact == 0 || nsel >= max_out) break;
        if (!active[i]) continue;
        sel[nsel++] = cand[i];
        active[i] = 0;
        nact--;
        for (size_t j = i + 1; j < nc; j++)
            if (active[j] && iou(boxes, cand[i], cand[j]) > iou_th) {
                active[j] = 0;
                nact--;
            }
    }
    return nsel;
}

int synap_detect_run(struct synap_kctx *c)
{
    struct dpp p;
    if (dpp_params(c, &p) < 0) return -1;
    size_t n = (size_t)p.n, k = (size_t)p.max_cls, nbg = (size_t)p.ncls_bg;
    char *s = c->scratch;
    float *boxes = (float *)s;
    float *sc = boxes + 4 * n;
    float *best = sc + n * nbg;
    int32_t *cls = (int32_t *)(best + n);
    int32_t *cand = cls + n * k, *tmp = cand + n, *active = tmp + n, *sel = active + n;
    size_t cap = regular_cap(&p);
    int32_t *ord = sel + n, *ord_tmp = ord + cap, *code = ord_tmp + cap, *code2 = code + cap;
    float *scv = (float *)(code2 + cap), *scv2 = scv + cap;
    int64_t bstride = c->in[0].dims[2];

    for (size_t i = 0; i < n; i++) {
        float ty = in_f(c, 0, (int64_t)i * bstride), tx = in_f(c, 0, (int64_t)i * bstride + 1);
        float th = in_f(c, 0, (int64_t)i * bstride + 2), tw = in_f(c, 0, (int64_t)i * bstride + 3);
        float ya = in_f(c, 2, 4 * (int64_t)i), xa = in_f(c, 2, 4 * (int64_t)i + 1);
        float ha = in_f(c, 2, 4 * (int64_t)i + 2), wa = in_f(c, 2, 4 * (int64_t)i + 3);
        float yc = ty / p.ys * ha + ya, xc = tx / p.xs * wa + xa;
        float hh = 0.5f * expf(th / p.hs) * ha, hw = 0.5f * expf(tw / p.ws) * wa;
        float *b = boxes + 4 * i;
        b[0] = yc - hh;
        b[1] = xc - hw;
        b[2] = yc + hh;
        b[3] = xc + hw;
    }
    for (size_t i = 0; i < n * nbg; i++)
        sc[i] = in_f(c, 1, (int64_t)i);

    float *yb = c->out[0].data, *yc = c->out[1].data, *ys = c->out[2].data, *yn = c->out[3].data;
    memset(yb, 0, (size_t)p.m * 4 * sizeof *yb);
    memset(yc, 0, (size_t)p.m * sizeof *yc);
    memset(ys, 0, (size_t)p.m * sizeof *ys);
    size_t ndet = 0;
    if (!p.regular) {
        /* each anchor's best classes: a stable selection of the k largest */
        for (size_t i = 0; i < n; i++) {
            const float *row = sc + i * nbg + p.off;
            int32_t *ci = cls + i * k;
            for (size_t j = 0; j < k; j++) {
                int32_t bi = -1;
                for (size_t q = 0; q < (size_t)p.ncls; q++) {
                    int taken = 0;
                    for (size_t t = 0; t < j; t++)
                        taken |= ci[t] == (int32_t)q;
                    if (!taken && (bi < 0 || row[q] > row[bi])) bi = (int32_t)q;
                }
                ci[j] = bi;
            }
            best[i] = row[ci[0]];
        }
        size_t nsel = nms_one(boxes, best, n, p.score_th, p.iou_th, (size_t)p.max_det, cand, tmp,
                              active, sel);
        for (size_t o = 0; o < nsel; o++)
            for (size_t j = 0; j < k; j++) {
                size_t r = o * k + j;
                int32_t a = sel[o], q = cls[(size_t)a * k + j];
                memcpy(yb + 4 * r, boxes + 4 * (size_t)a, 4 * sizeof *yb);
                yc[r] = (float)q;
                ys[r] = sc[(size_t)a * nbg + (size_t)p.off + (size_t)q];
            }
        ndet = nsel * k;
    } else {
        /* per class, then the best max_detections of all so far (stable by
         * score: earlier entries first on ties) */
        size_t nacc = 0;
        for (size_t q = 0; q < (size_t)p.ncls; q++) {
            for (size_t i = 0; i < n; i++)
                best[i] = sc[i * nbg + (size_t)p.off + q];
            size_t nsel = nms_one(boxes, best, n, p.score_th, p.iou_th, (size_t)p.per_cls, cand,
                                  tmp, active, sel);
            for (size_t t = 0; t < nsel; t++) {
                code[nacc] = (int32_t)((size_t)sel[t] * (size_t)p.ncls + q);
                scv[nacc] = best[sel[t]];
                nacc++;
            }
            for (size_t t = 0; t < nacc; t++)
                ord[t] = (int32_t)t;
            sort_desc(ord, ord_tmp, nacc, scv);
            size_t keep = nacc < (size_t)p.max_det ? nacc : (size_t)p.max_det;
            for (size_t t = 0; t < keep; t++) {
                code2[t] = code[ord[t]];
                scv2[t] = scv[ord[t]];
            }
            memcpy(code, code2, keep * sizeof *code);
            memcpy(scv, scv2, keep * sizeof *scv);
            nacc = keep;
        }
        for (size_t r = 0; r < nacc; r++) {
            size_t a = (size_t)code[r] / (size_t)p.ncls, q = (size_t)code[r] % (size_t)p.ncls;
            memcpy(yb + 4 * r, boxes + 4 * a, 4 * sizeof *yb);
            yc[r] = (float)q;
            ys[r] = scv[r];
        }
        ndet = nacc;
    }
    yn[0] = (float)ndet;
    return 0;
}
