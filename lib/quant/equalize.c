/* Cross-layer range equalization (Nagel et al., "Data-Free Quantization
 * Through Weight Equalization and Bias Correction", ICCV 2019), the part
 * that needs no data: for a convolution A whose output feeds only a
 * convolution B (directly, or through a Relu / LeakyRelu, which commute
 * with a positive per-channel scale), channel i of A's output is divided
 * by s_i and B's weights reading channel i are multiplied by s_i, with
 * s_i = sqrt(r1_i / r2_i) (r1_i: A's largest |weight| of output channel i,
 * r2_i: B's largest |weight| reading channel i). The network computes the
 * same function; A's and B's per-channel weight ranges become equal, and so
 * do, roughly, the ranges of the channels in between - which is what
 * per-tensor 8-bit weights and activations need (a depthwise convolution
 * with a few loud channels otherwise leaves the quiet ones a handful of
 * levels: BlazeFace).
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

/* Equalizes conv a into conv b through the tensors mid[0..nmid-1] (a's
 * output, then the activation's). Returns 1 when done. */
static int equalize_pair(struct synap_graph *g, size_t ai, size_t bi, const uint32_t *mid,
                         size_t nmid)
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
    int64_t pa = na / co, ob = tb->dims[0], pb = dw ? nb / ob : nb / (ob * co);
    double *s = synap_xmalloc((size_t)co * sizeof *s);
    bool any = false;
    for (int64_t i = 0; i < co; i++) {
        double r1 = 0, r2 = 0;
        for (int64_t k = 0; k < pa; k++)
            r1 = fmax(r1, fabs(wa[i * pa + k]));
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
        if (!isfinite(s[i]) || s[i] < 1e-6 || s[i] > 1e6) s[i] = 1.0;
        any |= s[i] != 1.0;
    }
    if (!any) {
        free(s);
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
    free(s);
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

int synap_quant_prepare(struct synap_graph *g, size_t *nequalized, struct synap_err *err)
{
    if (nequalized) *nequalized = 0;
    if (synap_graph_verify(g, "quantization input", err) < 0) return -1;
    struct synap_uses u;
    synap_uses_build(g, &u);
    uint32_t nt0 = (uint32_t)g->ntensors; /* pairs add constants only */
    size_t count = 0, nn = g->nnodes;
    for (size_t ai = 0; ai < nn; ai++) {
        if (!is_conv(&g->nodes[ai])) continue;
        uint32_t mid[2];
        size_t nmid = 0;
        uint32_t t = g->nodes[ai].outputs[0];
        int64_t next = -1;
        while (t < nt0 && nmid < 2) {
            if (u.nuses[t] != 1 || u.is_output[t] || g->tensors[t].data ||
                ends_with(g->tensors[t].name, SUFFIX))
                break;
            mid[nmid++] = t;
            const struct synap_node *n = &g->nodes[u.consumer[t]];
            if (is_conv(n) && n->inputs[0] == t) {
                next = u.consumer[t];
                break;
            }
            /* one activation that commutes with a positive scale */
            bool homog = (n->op == SYNAP_OP_RELU || n->op == SYNAP_OP_LEAKY_RELU) &&
                         n->noutputs == 1 && n->ninputs == 1;
            if (!homog || nmid == 2) break;
            t = n->outputs[0];
        }
        if (next < 0) continue;
        count += (size_t)equalize_pair(g, ai, (size_t)next, mid, nmid);
    }
    synap_uses_free(&u);
    if (nequalized) *nequalized = count;
    return 0;
}
