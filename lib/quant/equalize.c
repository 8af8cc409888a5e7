/* Cross-layer range equalization (Nagel et al., "Data-Free Quantization
 * Through Weight Equalization and Bias Correction", ICCV 2019), the part
 * that needs no data: for a convolution A whose output feeds only a
 * convolution B - directly, or through a chain of up to MAXCHAIN layers
 * that commute with a positive per-channel scale (Relu, LeakyRelu, Mul by
 * a constant, Add/Sub of a constant, BatchNormalization: an exported
 * conv + BN + activation before synap-quant's fusion) - channel i of A's
 * output is divided by s_i and B's weights reading channel i are
 * multiplied by s_i, with s_i = sqrt(r1_i / r2_i) (r1_i: the largest
 * |weight| of A's output channel i times the chain's gain on channel i -
 * the Mul constants and BatchNorm's gamma / sqrt(var + eps); r2_i: B's
 * largest |weight| reading channel i). Along the chain, added constants
 * and BatchNorm's mean and beta are divided by s_i too. The network computes the
 * same function; A's and B's per-channel weight ranges become equal, and so
 * do, roughly, the ranges of the channels in between - which is what
 * per-tensor 8-bit weights and activations need (a depthwise convolution
 * with a few loud channels otherwise leaves the quiet ones a handful of
 * levels: BlazeFace).
 *
 * With calibration data (synap_quant_prepare_ranges: synap-calib's pass 0
 * measures ra_i, the largest |x| of channel i between a and b, on the
 * unequalized graph), a pair whose a is a DEPTHWISE convolution feeding b
 * directly is balanced three ways instead: s_i = sqrt(sqrt(r1_i ra_i) / r2_i),
 * so that a's weights (r1_i / s_i), the activation (ra_i / s_i) and b's
 * weights (r2_i s_i) share the per-tensor ranges. A depthwise output keeps
 * its input's per-channel spread, which the weights alone do not show:
 * BlazeFace's depthwise_conv2d_10 output has channels 100x apart (8-bit
 * per-tensor SQNR 23 dB, per-channel 45 dB); with this rule BlazeFace's
 * uint8 output SQNR goes from 10.8 to 17.1 dB (tests/quant/accuracy.c).
 * Measured and rejected: the same rule on every pair (PP-OCRv4 det int16
 * 42.0 -> 28.5 dB, PP-OCR cls int8 16.5 -> 14.5), and other exponents
 * (sqrt(ra / r2): 14.2 dB, r1^0.25 ra^0.75: 10.2 dB on BlazeFace uint8).
 *
 * The scaled tensors are renamed NAME:equalized: their values are not the
 * float model's any more (synap-compare compares the layers around them).
 * synap-calib measures the equalized graph and synap-quant equalizes the
 * same IR the same way before matching the statistics; equalized pairs are
 * recognized by that name, so the pass is idempotent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"

#define SUFFIX ":equalized"

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static bool is_conv(const struct synap_node *n)
{
    return n->op == SYNAP_OP_CONV && n->ninputs >= 2 && n->noutputs == 1;
}

/* Replaces constant t by a copy holding v (the old one may be shared or in
 * the mapped file); returns the new index. */
static uint32_t replace_const(struct synap_graph *g, uint32_t t, const float *v, const char *what)
{
    char name[1024];
    snprintf(name, sizeof name, "%s%s", g->tensors[t].name, what);
    int64_t dims[SYNAP_MAX_RANK];
    int rank = g->tensors[t].rank;
    memcpy(dims, g->tensors[t].dims, sizeof dims);
    size_t nb = g->tensors[t].nbytes;
    return synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, rank, dims, v, nb);
}

#define MAXCHAIN 6

/* The per-channel values of constant t for a data tensor of `rank` dims
 * with co channels on axis 1: a scalar, or co values broadcast along axis 1
 * (dims 1 except the one aligned with axis 1). v gets co values; false
 * when t is not such a constant. */
static bool channel_const(const struct synap_graph *g, uint32_t t, int rank, int64_t co, double *v)
{
    int64_t n;
    const float *c = t == SYNAP_NONE ? NULL : synap_const_f32(g, t, -1, &n);
    if (!c) return false;
    if (n == 1) {
        for (int64_t i = 0; i < co; i++)
            v[i] = c[0];
        return true;
    }
    const struct synap_tensor *ct = &g->tensors[t];
    if (n != co || ct->rank > rank) return false;
    int ax = 1 - (rank - ct->rank); /* axis 1 of the data, in the constant's dims */
    if (ax < 0) return false;
    for (int d = 0; d < ct->rank; d++)
        if (ct->dims[d] != (d == ax ? co : 1)) return false;
    for (int64_t i = 0; i < co; i++)
        v[i] = c[i];
    return true;
}

/* A new constant [1, co, 1, ...] (rank dims) or of t's shape (when t holds
 * co values) with values v / s. */
static uint32_t scaled_const(struct synap_graph *g, uint32_t t, int rank, int64_t co,
                             const double *v, const double *s)
{
    float *nv = synap_xmalloc((size_t)co * sizeof *nv);
    for (int64_t i = 0; i < co; i++)
        nv[i] = (float)(v[i] / s[i]);
    char name[1024];
    snprintf(name, sizeof name, "%s%s", g->tensors[t].name, SUFFIX);
    int64_t dims[SYNAP_MAX_RANK];
    int r = g->tensors[t].rank;
    if (synap_shape_nelem(g->tensors[t].rank, g->tensors[t].dims) == co) {
        memcpy(dims, g->tensors[t].dims, sizeof dims);
    } else {
        r = rank;
        for (int d = 0; d < r; d++)
            dims[d] = d == 1 ? co : 1;
    }
    uint32_t nt =
        synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, r, dims, nv, (size_t)co * sizeof *nv);
    free(nv);
    return nt;
}

/* The data input of chain layer n (reading tensor x), and whether it
 * commutes with a positive per-channel scale of x; *gain (co values) is
 * multiplied by its per-channel gain. */
static bool chain_layer(const struct synap_graph *g, const struct synap_node *n, uint32_t x,
                        int rank, int64_t co, double *gain, double *tmp)
{
    if (n->noutputs != 1) return false;
    switch (n->op) {
    case SYNAP_OP_RELU:
    case SYNAP_OP_LEAKY_RELU:
        return n->ninputs == 1 && n->inputs[0] == x;
    case SYNAP_OP_MUL:
        if (n->ninputs != 2) return false;
        if (!channel_const(g, n->inputs[n->inputs[0] == x ? 1 : 0], rank, co, tmp)) return false;
        if (n->inputs[0] != x && n->inputs[1] != x) return false;
        for (int64_t i = 0; i < co; i++)
            gain[i] *= fabs(tmp[i]);
        return true;
    case SYNAP_OP_ADD:
        return n->ninputs == 2 && (n->inputs[0] == x || n->inputs[1] == x) &&
               channel_const(g, n->inputs[n->inputs[0] == x ? 1 : 0], rank, co, tmp);
    case SYNAP_OP_SUB: /* x - c only: c - x flips the sign */
        return n->ninputs == 2 && n->inputs[0] == x &&
               channel_const(g, n->inputs[1], rank, co, tmp);
    case SYNAP_OP_BATCH_NORMALIZATION: {
        if (n->ninputs != 5 || n->inputs[0] != x) return false;
        double *gm = synap_xmalloc((size_t)co * 3 * sizeof *gm), *va = gm + co, *o = va + co;
        bool ok = channel_const(g, n->inputs[1], 2, co, gm) &&
                  channel_const(g, n->inputs[4], 2, co, va) &&
                  channel_const(g, n->inputs[2], 2, co, o) &&
                  channel_const(g, n->inputs[3], 2, co, o);
        double eps = synap_attr_float(n, "epsilon", 1e-5f);
        for (int64_t i = 0; ok && i < co; i++) {
            ok = va[i] + eps > 0;
            gain[i] *= ok ? fabs(gm[i]) / sqrt(va[i] + eps) : 1;
        }
        free(gm);
        return ok;
    }
    default:
        return false;
    }
}

/* Divides chain layer n's per-channel offsets by s (see the top). */
static void chain_scale(struct synap_graph *g, size_t ni, uint32_t x, int rank, int64_t co,
                        const double *s, double *tmp)
{
    struct synap_node *n = &g->nodes[ni];
    if (n->op == SYNAP_OP_ADD || n->op == SYNAP_OP_SUB) {
        int k = n->inputs[0] == x ? 1 : 0;
        channel_const(g, n->inputs[k], rank, co, tmp);
        uint32_t nt = scaled_const(g, n->inputs[k], rank, co, tmp, s);
        g->nodes[ni].inputs[k] = nt;
    } else if (n->op == SYNAP_OP_BATCH_NORMALIZATION) {
        for (int k = 2; k <= 3; k++) { /* beta, mean */
            channel_const(g, g->nodes[ni].inputs[k], 2, co, tmp);
            uint32_t nt = scaled_const(g, g->nodes[ni].inputs[k], 2, co, tmp, s);
            g->nodes[ni].inputs[k] = nt;
        }
    }
}

/* Whether the measured ranges of a pair's middle tensor count: conv a is
 * depthwise (weights [co, 1, ...], group co) and feeds b directly (nmid 1;
 * see the top). */
static bool ranges_count(const struct synap_graph *g, const struct synap_node *a, size_t nmid)
{
    const struct synap_tensor *wt = &g->tensors[a->inputs[1]];
    return nmid == 1 && wt->rank >= 2 && wt->dims[0] > 0 && wt->dims[1] == 1 &&
           synap_attr_int(a, "group", 1) == wt->dims[0];
}

/* Equalizes conv a into conv b through the tensors mid[0..nmid-1] (a's
 * output, then each chain layer's; chain[k] reads mid[k]). Returns 1 when
 * done. */
static int equalize_pair(struct synap_graph *g, size_t ai, size_t bi, const uint32_t *mid,
                         const size_t *chain, size_t nmid, const struct synap_chan_ranges *r)
{
    struct synap_node *a = &g->nodes[ai], *b = &g->nodes[bi];
    int64_t na, nb;
    const float *wa = synap_const_f32(g, a->inputs[1], -1, &na),
                *wb = synap_const_f32(g, b->inputs[1], -1, &nb);
    if (!wa || !wb || na <= 0 || nb <= 0) return 0;
    const struct synap_tensor *ta = &g->tensors[a->inputs[1]], *tb = &g->tensors[b->inputs[1]];
    if (ta->rank < 3 || tb->rank != ta->rank) return 0;
    int64_t co = ta->dims[0]; /* channels between a and b */
    int64_t gb = synap_attr_int(b, "group", 1);
    if (co <= 0 || gb < 1) return 0;
    /* b: group 1 reads every channel (weights [O, co, ...]); depthwise
     * (group == co, one input channel per group) reads channel i with
     * output block i. Anything else is left alone. */
    bool dw = gb == co && tb->dims[1] == 1;
    if (!dw && (gb != 1 || tb->dims[1] != co)) return 0;
    if (dw && tb->dims[0] % co) return 0;
    const float *ba = NULL;
    int64_t nba = 0;
    if (a->ninputs >= 3 && a->inputs[2] != SYNAP_NONE) {
        ba = synap_const_f32(g, a->inputs[2], -1, &nba);
        if (!ba || nba != co) return 0;
    }
    for (size_t k = 0; k < nmid; k++) {
        const struct synap_tensor *m = &g->tensors[mid[k]];
        if (m->rank < 2 || m->dims[1] != co) return 0;
    }
    int rank = g->tensors[mid[0]].rank;
    double *gain = synap_xmalloc((size_t)co * 2 * sizeof *gain), *tmp = gain + co;
    for (int64_t i = 0; i < co; i++)
        gain[i] = 1;
    for (size_t k = 0; k + 1 < nmid; k++)
        if (!chain_layer(g, &g->nodes[chain[k]], mid[k], rank, co, gain, tmp)) {
            free(gain);
            return 0;
        }
    int64_t pa = na / co, ob = tb->dims[0], pb = dw ? nb / ob : nb / (ob * co);
    double *s = synap_xmalloc((size_t)co * sizeof *s);
    const double *ra = NULL; /* measured ranges of b's input channels */
    if (!ranges_count(g, a, nmid)) r = NULL;
    for (size_t k = 0; r && k < r->n && !ra; k++)
        if (r->nch[k] == co && !strcmp(r->names[k], g->tensors[mid[nmid - 1]].name))
            ra = r->absmax[k];
    bool any = false;
    for (int64_t i = 0; i < co; i++) {
        double r1 = 0, r2 = 0;
        for (int64_t k = 0; k < pa; k++)
            r1 = fmax(r1, fabs(wa[i * pa + k]));
        r1 *= gain[i];
        if (dw) {
            int64_t per = ob / co; /* output channels of group i */
            for (int64_t k = 0; k < per * pb; k++)
                r2 = fmax(r2, fabs(wb[i * per * pb + k]));
        } else {
            for (int64_t o = 0; o < ob; o++)
                for (int64_t k = 0; k < pb; k++)
                    r2 = fmax(r2, fabs(wb[(o * co + i) * pb + k]));
        }
        s[i] = r1 > 0 && r2 > 0 ? sqrt(r1 / r2) : 1.0;
        if (ra && r1 > 0 && r2 > 0 && ra[i] > 0) s[i] = sqrt(sqrt(r1 * ra[i]) / r2);
        if (!isfinite(s[i]) || s[i] < 1e-6 || s[i] > 1e6) s[i] = 1.0;
        any |= s[i] != 1.0;
    }
    if (!any) {
        free(s);
        free(gain);
        return 0;
    }
    float *nwa = synap_xmalloc((size_t)na * sizeof *nwa),
          *nwb = synap_xmalloc((size_t)nb * sizeof *nwb);
    for (int64_t i = 0; i < co; i++)
        for (int64_t k = 0; k < pa; k++)
            nwa[i * pa + k] = (float)(wa[i * pa + k] / s[i]);
    if (dw) {
        int64_t per = ob / co;
        for (int64_t i = 0; i < co; i++)
            for (int64_t k = 0; k < per * pb; k++)
                nwb[i * per * pb + k] = (float)(wb[i * per * pb + k] * s[i]);
    } else {
        for (int64_t o = 0; o < ob; o++)
            for (int64_t i = 0; i < co; i++)
                for (int64_t k = 0; k < pb; k++)
                    nwb[(o * co + i) * pb + k] = (float)(wb[(o * co + i) * pb + k] * s[i]);
    }
    float *nba_v = NULL;
    if (ba) {
        nba_v = synap_xmalloc((size_t)co * sizeof *nba_v);
        for (int64_t i = 0; i < co; i++)
            nba_v[i] = (float)(ba[i] / s[i]);
    }
    for (size_t k = 0; k + 1 < nmid; k++)
        chain_scale(g, chain[k], mid[k], rank, co, s, tmp);
    free(s);
    free(gain);
    a = &g->nodes[ai];
    b = &g->nodes[bi];
    uint32_t wa_t = a->inputs[1], wb_t = b->inputs[1], ba_t = ba ? a->inputs[2] : SYNAP_NONE;
    uint32_t nwa_t = replace_const(g, wa_t, nwa, SUFFIX);
    uint32_t nwb_t = replace_const(g, wb_t, nwb, SUFFIX);
    uint32_t nba_t = ba ? replace_const(g, ba_t, nba_v, SUFFIX) : SYNAP_NONE;
    free(nwa);
    free(nwb);
    free(nba_v);
    a = &g->nodes[ai];
    b = &g->nodes[bi];
    a->inputs[1] = nwa_t;
    if (ba) a->inputs[2] = nba_t;
    b->inputs[1] = nwb_t;
    for (size_t k = 0; k < nmid; k++) {
        char name[1024];
        snprintf(name, sizeof name, "%s%s", g->tensors[mid[k]].name, SUFFIX);
        g->tensors[mid[k]].name = synap_arena_strdup(g->arena, name);
    }
    return 1;
}

bool synap_quant_is_prepared(const struct synap_graph *g)
{
    for (size_t t = 0; t < g->ntensors; t++)
        if (ends_with(g->tensors[t].name, SUFFIX)) return true;
    return false;
}

/* Finds the pairs (conv a, through a chain, into conv b). With probes, only
 * lists each pair's last chain tensor (b's input) into probes; else
 * equalizes them (with the ranges r when given). */
static int walk(struct synap_graph *g, const struct synap_chan_ranges *r, uint32_t *probes,
                size_t *count, struct synap_err *err)
{
    *count = 0;
    if (synap_graph_verify(g, "quantization input", err) < 0) return -1;
    struct synap_uses u;
    synap_uses_build(g, &u);
    uint32_t nt0 = (uint32_t)g->ntensors; /* pairs add constants only */
    size_t nn = g->nnodes;
    for (size_t ai = 0; ai < nn; ai++) {
        if (!is_conv(&g->nodes[ai])) continue;
        uint32_t mid[MAXCHAIN + 1];
        size_t chain[MAXCHAIN + 1], nmid = 0;
        uint32_t t = g->nodes[ai].outputs[0];
        int64_t next = -1;
        while (t < nt0 && nmid <= MAXCHAIN) {
            if (u.nuses[t] != 1 || u.is_output[t] || g->tensors[t].data ||
                ends_with(g->tensors[t].name, SUFFIX))
                break;
            mid[nmid] = t;
            chain[nmid++] = (size_t)u.consumer[t];
            const struct synap_node *n = &g->nodes[u.consumer[t]];
            if (is_conv(n) && n->inputs[0] == t) {
                next = u.consumer[t];
                break;
            }
            /* a layer that may commute with a positive scale (equalize_pair
             * checks its constants) */
            bool ok = n->noutputs == 1 &&
                      (n->op == SYNAP_OP_RELU || n->op == SYNAP_OP_LEAKY_RELU ||
                       n->op == SYNAP_OP_MUL || n->op == SYNAP_OP_ADD || n->op == SYNAP_OP_SUB ||
                       n->op == SYNAP_OP_BATCH_NORMALIZATION);
            if (!ok || nmid == MAXCHAIN + 1) break;
            t = n->outputs[0];
        }
        if (next < 0) continue;
        if (probes) { /* the pairs whose middle tensor's ranges count */
            const struct synap_tensor *bt = &g->tensors[mid[0]];
            if (ranges_count(g, &g->nodes[ai], nmid) && bt->rank >= 2 &&
                bt->dims[1] == g->tensors[g->nodes[ai].inputs[1]].dims[0])
                probes[(*count)++] = mid[0];
            continue;
        }
        *count += (size_t)equalize_pair(g, ai, (size_t)next, mid, chain, nmid, r);
    }
    synap_uses_free(&u);
    return 0;
}

int synap_quant_prepare_ranges(struct synap_graph *g, const struct synap_chan_ranges *r,
                               size_t *nequalized, struct synap_err *err)
{
    size_t count;
    if (walk(g, r, NULL, &count, err) < 0) return -1;
    if (nequalized) *nequalized = count;
    return 0;
}

int synap_quant_prepare(struct synap_graph *g, size_t *nequalized, struct synap_err *err)
{
    return synap_quant_prepare_ranges(g, NULL, nequalized, err);
}

uint32_t *synap_quant_range_probes(struct synap_graph *g, size_t *n, struct synap_err *err)
{
    uint32_t *p = synap_xmalloc((g->nnodes ? g->nnodes : 1) * sizeof *p);
    if (walk(g, NULL, p, n, err) < 0) {
        free(p);
        return NULL;
    }
    return p;
}
