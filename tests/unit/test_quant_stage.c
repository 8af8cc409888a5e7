/* synap-quant's library (lib/quant/quant.c): exact parameters of a
 * hand-checked layer per scheme, every scheme and algorithm on the test conv
 * net within a stated SQNR of float, mixed splits with conversion layers,
 * float fallbacks, pre-quantized models and the bad-option messages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calib/calib.h"
#include "onnx/onnx.h"
#include "quant/compare.h"
#include "quant/quant.h"
#include "util/json.h"

#include "graph_harness.h"

/* ---- helpers ---------------------------------------------------------------- */

static struct synap_quant_opts opts_of(struct synap_arena *a, const char *json)
{
    struct synap_err err = {0};
    const struct synap_json *j = synap_json_parse(a, json, strlen(json), "opts", &err);
    if (!j) fail_msg("%s", err.msg);
    struct synap_quant_opts o;
    if (synap_quant_opts_from_json(j, a, &o, &err)) fail_msg("%s: %s", json, err.msg);
    return o;
}

static void expect_opts_error(const char *json, const char *want)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *j = synap_json_parse(a, json, strlen(json), "opts", &err);
    assert_non_null(j);
    struct synap_quant_opts o;
    assert_int_equal(synap_quant_opts_from_json(j, a, &o, &err), -1);
    assert_string_equal(err.msg, want);
    synap_arena_free(a);
}

/* Statistics of tensor t with range [lo, hi] and a flat histogram. */
static void set_stats(struct synap_tensor_stats *s, const struct synap_graph *g, uint32_t t,
                      double lo, double hi)
{
    memset(s, 0, sizeof *s);
    s->tensor = t;
    s->name = g->tensors[t].name;
    s->min = s->ma_min = s->hist_lo = lo;
    s->max = s->ma_max = s->hist_hi = hi;
    s->count = SYNAP_CALIB_BINS;
    for (int k = 0; k < SYNAP_CALIB_BINS; k++)
        s->hist[k] = 1;
}

/* x [1, 2, 1, 1] -> Conv (W [2, 2, 1, 1], b [2]) -> y; x in [-1, 3], y in [-2, 6]. */
static struct synap_graph *tiny_conv(struct synap_calib_stats *st, struct synap_tensor_stats *ts)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xd[4] = {1, 2, 1, 1}, wd[4] = {2, 2, 1, 1}, bd[1] = {2};
    static const float w[4] = {1.0f, -0.45f, 0.3f, 2.0f}, b[2] = {0.1f, -0.3f};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, wd, w, sizeof w);
    uint32_t bt = synap_graph_add_const(g, "b", SYNAP_DTYPE_FLOAT32, 1, bd, b, sizeof b);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, xd);
    struct synap_node *n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 3, 1);
    n->inputs[0] = x;
    n->inputs[1] = wt;
    n->inputs[2] = bt;
    n->outputs[0] = y;
    gh_set_io(g, x, y);
    set_stats(&ts[0], g, x, -1, 3);
    set_stats(&ts[1], g, y, -2, 6);
    memset(st, 0, sizeof *st);
    st->nsamples = 1;
    st->ntensors = 2;
    st->t = ts;
    return g;
}

static const struct synap_tensor *find(const struct synap_graph *g, const char *name)
{
    uint32_t t = synap_graph_find_tensor(g, name);
    if (t == SYNAP_NONE) fail_msg("no tensor '%s'", name);
    return &g->tensors[t];
}

/* ---- hand-checked parameters --------------------------------------------------- */

/* uint8 asymmetric_affine: x [-1, 3]: s = 4/255, zp = round(1 / s) = round(63.75) = 64;
 * y [-2, 6]: s = 8/255, zp = 64; W [-0.45, 2]: s = 2.45/255, zp = round(46.84) = 47,
 * q = round(w / s) + 47 = 151, 0, 78, 255; bias s = s_x s_w = 1.50711e-4:
 * round(663.52) = 664, round(-1990.56) = -1991. */
static void test_exact_uint8(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_stats st;
    struct synap_tensor_stats ts[2];
    struct synap_graph *g = tiny_conv(&st, ts);
    struct synap_quant_opts o = opts_of(a, "{\"data_type\": \"uint8\"}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    const struct synap_tensor *x = find(g, "x#uint8"), *y = find(g, "y"), *w = find(g, "w"),
                              *b = find(g, "b");
    assert_int_equal(x->dtype, SYNAP_DTYPE_UINT8);
    assert_float_equal(x->quant->scale[0], 4.0 / 255, 1e-9);
    assert_int_equal(x->quant->zero_point[0], 64);
    assert_int_equal(y->dtype, SYNAP_DTYPE_UINT8);
    assert_float_equal(y->quant->scale[0], 8.0 / 255, 1e-9);
    assert_int_equal(y->quant->zero_point[0], 64);
    assert_int_equal(w->dtype, SYNAP_DTYPE_UINT8);
    assert_int_equal(w->quant->scheme, SYNAP_QSCHEME_ASYMMETRIC_AFFINE);
    assert_float_equal(w->quant->scale[0], 2.45 / 255, 1e-8);
    assert_int_equal(w->quant->zero_point[0], 47);
    const uint8_t *wq = w->data;
    assert_int_equal(wq[0], 151);
    assert_int_equal(wq[1], 0);
    assert_int_equal(wq[2], 78);
    assert_int_equal(wq[3], 255);
    assert_int_equal(b->dtype, SYNAP_DTYPE_INT32);
    assert_int_equal(((const int32_t *)b->data)[0], 664);
    assert_int_equal(((const int32_t *)b->data)[1], -1991);
    assert_int_equal(b->quant->zero_point[0], 0);
    /* graph input stays float32 (mode standard), quantized by a conversion layer */
    assert_int_equal(g->tensors[g->inputs[0]].dtype, SYNAP_DTYPE_FLOAT32);
    assert_int_equal(r.nconversions, 1);
    assert_non_null(
        strstr(r.info_yaml, "  - id: 0\n    name: \"conv\"\n    op: Conv\n    type: uint8\n"));
    assert_non_null(strstr(r.info_yaml,
                           "  - name: \"w\"\n    dtype: uint8\n    shape: [2, 2, 1, 1]\n"
                           "    scheme: asymmetric_affine\n"));
    assert_null(r.entropy);
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

/* int8 dynamic_fixed_point: fl = floor(log2(127 / max|v|)): x 3 -> 5, y 6 -> 4,
 * W 2 -> 5: q = 32, round(-14.4) = -14, round(9.6) = 10, 64; bias fl 10:
 * round(102.4) = 102, round(-307.2) = -307. Mode full: x itself is int8. */
static void test_exact_dfp(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_stats st;
    struct synap_tensor_stats ts[2];
    struct synap_graph *g = tiny_conv(&st, ts);
    struct synap_quant_opts o = opts_of(a, "{\"data_type\": \"int8\", \"mode\": \"full\"}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    const struct synap_tensor *x = find(g, "x"), *y = find(g, "y"), *w = find(g, "w"),
                              *b = find(g, "b");
    assert_int_equal(x->dtype, SYNAP_DTYPE_INT8);
    assert_int_equal(x->quant->scheme, SYNAP_QSCHEME_DYNAMIC_FIXED_POINT);
    assert_int_equal(x->quant->fl, 5);
    assert_float_equal(x->quant->scale[0], 1.0 / 32, 0);
    assert_int_equal(x->quant->zero_point[0], 0);
    assert_int_equal(y->quant->fl, 4);
    assert_int_equal(w->quant->fl, 5);
    const int8_t *wq = w->data;
    assert_int_equal(wq[0], 32);
    assert_int_equal(wq[1], -14);
    assert_int_equal(wq[2], 10);
    assert_int_equal(wq[3], 64);
    assert_int_equal(b->quant->fl, 10);
    assert_int_equal(((const int32_t *)b->data)[0], 102);
    assert_int_equal(((const int32_t *)b->data)[1], -307);
    assert_int_equal(r.nconversions, 0);
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

/* perchannel_symmetric_affine: W channel 0 [1, -0.45]: s = 1/127, q = 127,
 * round(-57.15) = -57; channel 1 [0.3, 2]: s = 2/127, q = round(19.05) = 19,
 * 127. Activations asymmetric int8: x s = 4/255, zp = round(-128 + 63.75) = -64. */
static void test_exact_perchannel(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_stats st;
    struct synap_tensor_stats ts[2];
    struct synap_graph *g = tiny_conv(&st, ts);
    struct synap_quant_opts o =
        opts_of(a, "{\"data_type\": \"int8\", \"scheme\": \"perchannel_symmetric_affine\"}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    const struct synap_tensor *x = find(g, "x#int8"), *w = find(g, "w"), *b = find(g, "b");
    assert_int_equal(x->quant->scheme, SYNAP_QSCHEME_ASYMMETRIC_AFFINE);
    assert_int_equal(x->quant->zero_point[0], -64);
    assert_int_equal(w->quant->scheme, SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE);
    assert_int_equal(w->quant->nparams, 2);
    assert_int_equal(w->quant->axis, 0);
    assert_float_equal(w->quant->scale[0], 1.0 / 127, 1e-9);
    assert_float_equal(w->quant->scale[1], 2.0 / 127, 1e-9);
    const int8_t *wq = w->data;
    assert_int_equal(wq[0], 127);
    assert_int_equal(wq[1], -57);
    assert_int_equal(wq[2], 19);
    assert_int_equal(wq[3], 127);
    assert_int_equal(b->quant->nparams, 2);
    assert_float_equal(b->quant->scale[1], (4.0 / 255) * (2.0 / 127), 1e-9);
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

/* ---- range algorithms ---------------------------------------------------------- */

static void test_ranges(void **state)
{
    (void)state;
    struct synap_tensor_stats *t = calloc(1, sizeof *t);
    t->min = t->hist_lo = 0;
    t->max = t->hist_hi = 2048;
    t->ma_min = 1;
    t->ma_max = 1000;
    /* 1e6 values spread over [0, 1024), 10 outliers at the top */
    for (int k = 0; k < 1024; k++)
        t->hist[k] = 1000;
    t->hist[2047] = 10;
    double lo, hi, ent;
    synap_quant_range(t, SYNAP_QALGO_STANDARD, 0, SYNAP_DTYPE_UINT8,
                      SYNAP_QSCHEME_ASYMMETRIC_AFFINE, &lo, &hi, &ent);
    assert_float_equal(lo, 0, 0);
    assert_float_equal(hi, 2048, 0);
    synap_quant_range(t, SYNAP_QALGO_MOVING_AVERAGE, 0, SYNAP_DTYPE_UINT8,
                      SYNAP_QSCHEME_ASYMMETRIC_AFFINE, &lo, &hi, &ent);
    assert_float_equal(lo, 1, 0);
    assert_float_equal(hi, 1000, 0);
    /* 99.99% of 1024010 values: the 10 outliers (~0.001%) are cut with
     * nothing else (102 values may go): the top lands at bin 1024 */
    synap_quant_range(t, SYNAP_QALGO_PERCENTILE, 99.99, SYNAP_DTYPE_UINT8,
                      SYNAP_QSCHEME_ASYMMETRIC_AFFINE, &lo, &hi, &ent);
    assert_float_equal(lo, 0, 0);
    assert_float_equal(hi, 1024, 0);
    /* exponential data (scale 100 bins) up to bin 2047: kl and mse clip the
     * long sparse tail, neither keeps less than three decay lengths */
    memset(t->hist, 0, sizeof t->hist);
    for (int k = 0; k < SYNAP_CALIB_BINS; k++)
        t->hist[k] = 1 + (uint64_t)(1e6 * exp(-k / 100.0));
    synap_quant_range(t, SYNAP_QALGO_KL, 0, SYNAP_DTYPE_UINT8, SYNAP_QSCHEME_ASYMMETRIC_AFFINE, &lo,
                      &hi, &ent);
    if (!(hi > 300 && hi < 2000 && lo == 0)) fail_msg("kl: [%g, %g]", lo, hi);
    assert_true(ent > 0 && ent < 1);
    /* 16-bit: kl reports the entropy but keeps [min, max] */
    synap_quant_range(t, SYNAP_QALGO_KL, 0, SYNAP_DTYPE_INT16, SYNAP_QSCHEME_DYNAMIC_FIXED_POINT,
                      &lo, &hi, &ent);
    assert_float_equal(hi, 2048, 0);
    assert_true(ent > 0 && ent < 1);
    synap_quant_range(t, SYNAP_QALGO_MSE, 0, SYNAP_DTYPE_UINT8, SYNAP_QSCHEME_ASYMMETRIC_AFFINE,
                      &lo, &hi, &ent);
    if (!(hi > 300 && hi < 2000 && lo == 0)) fail_msg("mse: [%g, %g]", lo, hi);
    assert_true(ent == 0);
    free(t);
}

/* x [1, 2, 1, 1] -> Conv -> y -> OP -> z (1x1 convs, 2 channels): the
 * range rules that look at a tensor's use and shape. y's statistics are
 * [ylo, yhi]; x [-1, 3], z [-1, 1]. */
static struct synap_graph *conv_then(enum synap_op op, double ylo, double yhi,
                                     struct synap_calib_stats *st, struct synap_tensor_stats *ts)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xd[4] = {1, 2, 1, 1}, wd[4] = {2, 2, 1, 1};
    static const float w[4] = {1.0f, -0.45f, 0.3f, 2.0f};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, wd, w, sizeof w);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t z = synap_graph_add_tensor(g, "z", SYNAP_DTYPE_FLOAT32, 4, xd);
    struct synap_node *n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = x;
    n->inputs[1] = wt;
    n->outputs[0] = y;
    bool conv = op == SYNAP_OP_CONV;
    n = synap_graph_add_node(g, "act", op, conv ? 2 : 1, 1);
    n->inputs[0] = y;
    if (conv) n->inputs[1] = wt;
    n->outputs[0] = z;
    gh_set_io(g, x, z);
    set_stats(&ts[0], g, x, -1, 3);
    set_stats(&ts[1], g, y, ylo, yhi);
    set_stats(&ts[2], g, z, -1, 1);
    memset(st, 0, sizeof *st);
    st->nsamples = 1;
    st->ntensors = 3;
    st->t = ts;
    return g;
}

/* y's parameters after quantizing conv_then(op, ylo, yhi) with options json. */
struct yparams {
    float scale;
    int32_t zero_point, fl;
};

static struct yparams quant_of(enum synap_op op, double ylo, double yhi, const char *json)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_stats st;
    struct synap_tensor_stats ts[3];
    struct synap_graph *g = conv_then(op, ylo, yhi, &st, ts);
    struct synap_quant_opts o = opts_of(a, json);
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    const struct synap_tensor *y = find(g, "y");
    assert_non_null(y->quant);
    struct yparams p = {y->quant->scale[0], y->quant->zero_point[0], y->quant->fl};
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
    return p;
}

/* A Sigmoid's (Tanh's) input gets the symmetric logit range, cut at
 * L = (bits + 1) ln 2 (half that for Tanh): PP-OCR det's logits calibrated
 * on photos without text, [-94, 0.37], become [-6.238, 6.238] in uint8
 * (s = 12.477 / 255, zp = 128) and int16 dfp covers L = 17 ln 2 = 11.78:
 * fl = floor(log2(32767 / 11.78)) = 11. Tensors of one value per channel
 * inside the graph (y here) get 1.5x headroom in 8 bits: y [-2, 6] into a
 * conv -> [-3, 9], s = 12/255, zp = 64. A narrow logit range is kept
 * (with that headroom) and made symmetric: [-2, 0.5] -> [-3, 0.75] ->
 * [-3, 3] (s = 6/255, zp = round(127.5) = 128). */
static void test_range_rules(void **state)
{
    (void)state;
    struct yparams q;
    const double L8 = 9 * log(2.0);
    q = quant_of(SYNAP_OP_SIGMOID, -94, 0.37, "{\"data_type\": \"uint8\"}");
    assert_float_equal(q.scale, 2 * L8 / 255, 1e-6);
    assert_int_equal(q.zero_point, 128);
    q = quant_of(SYNAP_OP_TANH, -94, 0.37, "{\"data_type\": \"uint8\"}");
    assert_float_equal(q.scale, L8 / 255, 1e-6);
    assert_int_equal(q.zero_point, 128);
    q = quant_of(SYNAP_OP_SIGMOID, -2, 0.5, "{\"data_type\": \"uint8\"}");
    assert_float_equal(q.scale, 6.0 / 255, 1e-7);
    assert_int_equal(q.zero_point, 128);
    q = quant_of(SYNAP_OP_SIGMOID, -94, 0.37,
                 "{\"data_type\": \"int16\", \"scheme\": \"dynamic_fixed_point\"}");
    assert_int_equal(q.fl, 11);
    q = quant_of(SYNAP_OP_CONV, -2, 6, "{\"data_type\": \"uint8\"}");
    assert_float_equal(q.scale, 12.0 / 255, 1e-7);
    assert_int_equal(q.zero_point, 64);
}

/* ---- the conv net: every scheme and algorithm ------------------------------------- */

static uint8_t *float_ir;
static size_t float_ir_n;
static struct synap_calib_stats net_stats;

static int net_setup(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/quant/convnet.onnx", getenv("SYNAP_TEST_DATA"));
    struct synap_err err = {0};
    struct synap_graph *g = synap_onnx_import(path, NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    if (synap_ir_serialize(g, &float_ir, &float_ir_n, &err)) fail_msg("%s", err.msg);
    synap_graph_free(g);
    g = synap_ir_read_mem(float_ir, float_ir_n, "convnet", &err);
    /* 32 random samples, pixels 0..255 / 255: uniform [0, 1] like compare's inputs */
    struct synap_arena *a = synap_arena_new();
    const char *oj = "{\"dataset\": \"random\", \"count\": 32, \"scale\": 255}";
    const struct synap_json *j = synap_json_parse(a, oj, strlen(oj), "calib", &err);
    struct synap_calib_opts co;
    struct synap_calib_dataset ds;
    if (synap_calib_opts_from_json(j, a, &co, &err) ||
        synap_calib_dataset_expand(&co, NULL, g->ninputs, a, &ds, &err) ||
        synap_calib_run(g, &co, &ds, &net_stats, &err))
        fail_msg("%s", err.msg);
    synap_arena_free(a);
    synap_graph_free(g);
    return 0;
}

static int net_teardown(void **state)
{
    (void)state;
    free(float_ir);
    synap_calib_stats_free(&net_stats);
    return 0;
}

/* Quantizes the net with options json; returns the output's SQNR (entire). */
static double net_sqnr(const char *json, struct synap_quant_result *keep, size_t *nwarn)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    struct synap_graph *fg = synap_ir_read_mem(float_ir, float_ir_n, "convnet", &err);
    struct synap_graph *qg = synap_ir_read_mem(float_ir, float_ir_n, "convnet", &err);
    struct synap_quant_opts o = opts_of(a, json);
    struct synap_quant_result r;
    if (synap_quantize(qg, &net_stats, &o, &r, &err)) fail_msg("%s: %s", json, err.msg);
    if (nwarn) *nwarn = r.nwarnings;
    struct synap_compare cmp;
    if (synap_compare_run(fg, qg, NULL, &cmp, &err)) fail_msg("%s: %s", json, err.msg);
    double sqnr = NAN;
    for (size_t i = 0; i < cmp.nrows; i++) {
        if (i) assert_true(cmp.rows[i - 1].sqnr_entire <= cmp.rows[i].sqnr_entire);
        if (!strcmp(cmp.rows[i].tensor, "logits")) sqnr = cmp.rows[i].sqnr_entire;
    }
    assert_int_equal(cmp.nrows, 11);
    synap_compare_free(&cmp);
    if (keep)
        *keep = r;
    else
        synap_quant_result_free(&r);
    synap_graph_free(fg);
    synap_graph_free(qg);
    synap_arena_free(a);
    return sqnr;
}

/* Thresholds: measured on this net (uint8 ~41 dB, int8 dfp ~33 dB, int16 ~86 dB)
 * minus a margin; all above the floors (8-bit 20 dB, int16 45 dB). */
static void test_net_all(void **state)
{
    (void)state;
    static const char *const types[][2] = {
        {"uint8", "default"},
        {"uint8", "asymmetric_affine"},
        {"int8", "asymmetric_affine"},
        {"int8", "dynamic_fixed_point"},
        {"int8", "perchannel_symmetric_affine"},
        {"int16", "dynamic_fixed_point"},
    };
    static const char *const algos[] = {"standard", "kl_divergence", "moving_average", "percentile",
                                        "mse"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        for (size_t k = 0; k < sizeof algos / sizeof *algos; k++) {
            char json[256];
            snprintf(json, sizeof json,
                     "{\"data_type\": \"%s\", \"scheme\": \"%s\", \"algorithm\": \"%s\"}",
                     types[i][0], types[i][1], algos[k]);
            size_t nwarn = 9;
            double s = net_sqnr(json, NULL, &nwarn);
            double want = !strcmp(types[i][0], "int16") ? 75 : 28;
            if (!(s >= want)) fail_msg("%s: output SQNR %.2f dB < %.0f dB", json, s, want);
            assert_int_equal(nwarn, 0);
        }
    /* mode full and dequantized outputs */
    double s = net_sqnr(
        "{\"data_type\": \"uint8\", \"mode\": \"full\", \"dequantize_outputs\": true}", NULL, NULL);
    assert_true(s >= 28);
}

/* A uint8 / int16 split: conversion layers where the type changes. */
static void test_net_mixed(void **state)
{
    (void)state;
    struct synap_quant_result r;
    double s = net_sqnr("{\"data_type\": [[\"*\", \"uint8\"], [\"conv3\", \"int16\"], "
                        "[\"conv3...\", \"int16\"]]}",
                        &r, NULL);
    assert_true(s >= 28);
    /* input -> uint8 and p1 (uint8) -> int16 */
    assert_int_equal(r.nconversions, 2);
    assert_non_null(strstr(r.info_yaml, "conversions:\n"));
    assert_non_null(strstr(r.info_yaml, "  - name: \"p1#int16\"\n    op: QuantizeLinear\n"
                                        "    inputs: [\"p1\", "));
    assert_non_null(strstr(r.info_yaml, "  - id: 6\n    name: \"conv3\"\n    op: Conv\n"
                                        "    type: int16\n"));
    synap_quant_result_free(&r);
    /* float16 in the middle: Dequantize + Cast in, Cast + Quantize out */
    s = net_sqnr("{\"data_type\": [[\"*\", \"uint8\"], [\"add1\", \"float16\"]]}", &r, NULL);
    assert_true(s >= 28);
    assert_non_null(strstr(r.info_yaml, "    name: \"add1\"\n    op: Add\n    type: float16\n"));
    assert_non_null(strstr(r.info_yaml, "  - name: \"r1#float16\"\n    op: Cast\n"));
    assert_non_null(strstr(r.info_yaml, "  - name: \"a1#float32\"\n    op: Cast\n"));
    synap_quant_result_free(&r);
    /* kl writes the entropy of every layer's output and weights */
    s = net_sqnr("{\"algorithm\": \"kl_divergence\"}", &r, NULL);
    assert_non_null(r.entropy);
    assert_non_null(strstr(r.entropy, "@conv1:weight, 0."));
    assert_non_null(strstr(r.entropy, "\n@conv1:out0, 0."));
    assert_non_null(strstr(r.entropy, "\n@fc:out0, "));
    synap_quant_result_free(&r);
}

/* A layer without an integer kernel stays float with a warning. */
static void test_float_fallback(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    int64_t d[2] = {1, 4};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t e = synap_graph_add_tensor(g, "e", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 2, d);
    gh_node1(g, "exp", SYNAP_OP_EXP, x, e);
    gh_node1(g, "relu", SYNAP_OP_RELU, e, y);
    gh_set_io(g, x, y);
    struct synap_tensor_stats ts[3];
    set_stats(&ts[0], g, x, -1, 1);
    set_stats(&ts[1], g, e, 0.3, 2.8);
    set_stats(&ts[2], g, y, 0.3, 2.8);
    struct synap_calib_stats st = {.nsamples = 1, .ntensors = 3, .t = ts};
    struct synap_arena *a = synap_arena_new();
    struct synap_quant_opts o = opts_of(a, "{\"dequantize_outputs\": true}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.nwarnings, 1);
    assert_string_equal(r.warnings[0], "layer 'exp' (Exp): no integer kernel for uint8: kept in "
                                       "float32 with conversion layers");
    assert_int_equal(find(g, "e")->dtype, SYNAP_DTYPE_FLOAT32);
    assert_int_equal(find(g, "e#uint8")->dtype, SYNAP_DTYPE_UINT8);
    assert_int_equal(find(g, "y#uint8")->dtype, SYNAP_DTYPE_UINT8);
    assert_int_equal(g->tensors[g->outputs[0]].dtype, SYNAP_DTYPE_FLOAT32);
    assert_string_equal(g->tensors[g->outputs[0]].name, "y");
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

/* x -> BatchNormalization -> HardSigmoid -> Div by a constant 6 -> y: the
 * three ops PP-OCRv4 det kept in float before they had integer kernels. */
static struct synap_graph *bn_hsig_div(void)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xd[4] = {1, 2, 4, 4}, pd[1] = {2}, sd[1] = {1};
    static const float sc[2] = {2.0f, -1.0f}, bb[2] = {0.5f, 0.1f}, mean[2] = {0.3f, 0.6f},
                       var[2] = {0.5f, 0.2f}, six = 6.0f;
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t p[4] = {
        synap_graph_add_const(g, "sc", SYNAP_DTYPE_FLOAT32, 1, pd, sc, sizeof sc),
        synap_graph_add_const(g, "bb", SYNAP_DTYPE_FLOAT32, 1, pd, bb, sizeof bb),
        synap_graph_add_const(g, "mean", SYNAP_DTYPE_FLOAT32, 1, pd, mean, sizeof mean),
        synap_graph_add_const(g, "var", SYNAP_DTYPE_FLOAT32, 1, pd, var, sizeof var)};
    uint32_t k = synap_graph_add_const(g, "six", SYNAP_DTYPE_FLOAT32, 1, sd, &six, sizeof six);
    uint32_t b = synap_graph_add_tensor(g, "b", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t h = synap_graph_add_tensor(g, "h", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, xd);
    struct synap_node *n = synap_graph_add_node(g, "bn", SYNAP_OP_BATCH_NORMALIZATION, 5, 1);
    n->inputs[0] = x;
    memcpy(&n->inputs[1], p, sizeof p);
    n->outputs[0] = b;
    n = gh_node1(g, "hsig", SYNAP_OP_HARD_SIGMOID, b, h);
    synap_node_set_float(g, n, "alpha", 1.0f / 6);
    n = synap_graph_add_node(g, "div", SYNAP_OP_DIV, 2, 1);
    n->inputs[0] = h;
    n->inputs[1] = k;
    n->outputs[0] = y;
    gh_set_io(g, x, y);
    return g;
}

static void test_bn_hsig_div_integer(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_graph *g = bn_hsig_div(), *fg = bn_hsig_div();
    struct synap_arena *a = synap_arena_new();
    const char *oj = "{\"dataset\": \"random\", \"count\": 16, \"scale\": 255}";
    const struct synap_json *j = synap_json_parse(a, oj, strlen(oj), "calib", &err);
    struct synap_calib_opts co;
    struct synap_calib_dataset ds;
    struct synap_calib_stats st;
    if (synap_calib_opts_from_json(j, a, &co, &err) ||
        synap_calib_dataset_expand(&co, NULL, g->ninputs, a, &ds, &err) ||
        synap_calib_run(g, &co, &ds, &st, &err))
        fail_msg("%s", err.msg);
    const char *types[2] = {"{}", "{\"data_type\": \"int16\"}"};
    /* measured: uint8 45.8 dB (worst, b), int16 84.2 dB; floors 2 dB under */
    double floor_db[2] = {43, 82};
    for (int ti = 0; ti < 2; ti++) {
        struct synap_graph *qg = bn_hsig_div();
        struct synap_quant_opts o = opts_of(a, types[ti]);
        struct synap_quant_result r;
        if (synap_quantize(qg, &st, &o, &r, &err)) fail_msg("%s", err.msg);
        /* every layer runs an integer kernel: no float fallback */
        for (size_t w = 0; w < r.nwarnings; w++)
            fail_msg("unexpected warning: %s", r.warnings[w]);
        enum synap_dtype want = ti ? SYNAP_DTYPE_INT16 : SYNAP_DTYPE_UINT8;
        assert_int_equal(find(qg, "b")->dtype, want);
        assert_int_equal(find(qg, "h")->dtype, want);
        /* the BatchNormalization parameters stay float: they are folded
         * into the per-channel requantization */
        assert_int_equal(qg->tensors[qg->nodes[1].inputs[1]].dtype, SYNAP_DTYPE_FLOAT32);
        struct synap_compare cmp;
        if (synap_compare_run(fg, qg, NULL, &cmp, &err)) fail_msg("%s", err.msg);
        assert_int_equal(cmp.nrows, 3);
        for (size_t i = 0; i < cmp.nrows; i++)
            if (cmp.rows[i].sqnr_entire < floor_db[ti])
                fail_msg("%s: %s: SQNR %.2f dB < %.0f", types[ti], cmp.rows[i].tensor,
                         cmp.rows[i].sqnr_entire, floor_db[ti]);
        synap_compare_free(&cmp);
        synap_quant_result_free(&r);
        synap_graph_free(qg);
    }
    synap_calib_stats_free(&st);
    synap_graph_free(g);
    synap_graph_free(fg);
    synap_arena_free(a);
}

/* A QDQ model keeps its own parameters. */
static void test_prequantized(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    int64_t d[1] = {4};
    float s = 0.5f;
    uint8_t z = 10;
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 1, d);
    uint32_t sc = synap_graph_add_const(g, "s", SYNAP_DTYPE_FLOAT32, 0, NULL, &s, sizeof s);
    uint32_t zp = synap_graph_add_const(g, "z", SYNAP_DTYPE_UINT8, 0, NULL, &z, sizeof z);
    uint32_t q = synap_graph_add_tensor(g, "q", SYNAP_DTYPE_UINT8, 1, d);
    struct synap_node *n = synap_graph_add_node(g, "ql", SYNAP_OP_QUANTIZE_LINEAR, 3, 1);
    n->inputs[0] = x;
    n->inputs[1] = sc;
    n->inputs[2] = zp;
    n->outputs[0] = q;
    gh_set_io(g, x, q);
    struct synap_calib_stats st = {0};
    struct synap_arena *a = synap_arena_new();
    struct synap_quant_opts o = opts_of(a, "{}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    assert_int_equal(synap_quantize(g, &st, &o, &r, &err), 0);
    assert_true(r.prequantized);
    assert_int_equal(r.nwarnings, 1);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->tensors[x].dtype, SYNAP_DTYPE_FLOAT32);
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

/* ---- bad options ------------------------------------------------------------------- */

static void test_bad_options(void **state)
{
    (void)state;
    expect_opts_error("{\"data_type\": [[\"*\", \"uint8\"], [\"conv1\", \"int8\"]]}",
                      "data_type: uint8 and int8 may not be mixed");
    expect_opts_error("{\"data_type\": \"int16\", \"scheme\": \"asymmetric_affine\"}",
                      "scheme: asymmetric_affine is for 8-bit types only (data_type is int16)");
    expect_opts_error(
        "{\"data_type\": \"uint8\", \"scheme\": \"dynamic_fixed_point\"}",
        "scheme: dynamic_fixed_point is for int8 and int16 only (data_type is uint8)");
    expect_opts_error("{\"data_type\": [[\"*\", \"int8\"], [\"c\", \"int16\"]], \"scheme\": "
                      "\"perchannel_symmetric_affine\"}",
                      "scheme: perchannel_symmetric_affine is for int8 only (data_type has int16)");
    expect_opts_error("{\"data_type\": \"float16\"}",
                      "data_type: float16 is only allowed inside a map of layer patterns");
    expect_opts_error("{\"algorithm\": \"best\"}",
                      "algorithm: unknown algorithm 'best' (standard, kl_divergence, "
                      "moving_average, percentile, mse, auto)");
    expect_opts_error("{\"datatype\": \"uint8\"}", "options: unknown key 'datatype'");

    /* a pattern naming no layer */
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_stats st;
    struct synap_tensor_stats ts[2];
    struct synap_graph *g = tiny_conv(&st, ts);
    struct synap_quant_opts o =
        opts_of(a, "{\"data_type\": [[\"*\", \"uint8\"], [\"conv9...\", \"int16\"]]}");
    struct synap_quant_result r;
    struct synap_err err = {0};
    assert_int_equal(synap_quantize(g, &st, &o, &r, &err), -1);
    assert_string_equal(err.msg, "data_type: unknown layer 'conv9' in pattern 'conv9...'; valid "
                                 "layers: 'conv'");
    synap_quant_result_free(&r);
    synap_graph_free(g);
    /* statistics of another IR */
    g = tiny_conv(&st, ts);
    ts[1].name = "z";
    o = opts_of(a, "{}");
    assert_int_equal(synap_quantize(g, &st, &o, &r, &err), -1);
    assert_string_equal(err.msg, "statistics: tensor 3 is 'z' in the statistics but 'y' in the IR "
                                 "(statistics collected on another IR?)");
    synap_quant_result_free(&r);
    synap_graph_free(g);
    synap_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_uint8),
        cmocka_unit_test(test_exact_dfp),
        cmocka_unit_test(test_exact_perchannel),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_range_rules),
        cmocka_unit_test_setup_teardown(test_net_all, net_setup, net_teardown),
        cmocka_unit_test_setup_teardown(test_net_mixed, net_setup, net_teardown),
        cmocka_unit_test(test_float_fallback),
        cmocka_unit_test(test_bn_hsig_div_integer),
        cmocka_unit_test(test_prequantized),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
