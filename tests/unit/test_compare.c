/* synap-compare's library (lib/quant/compare.c): the metrics on known
 * vectors, a graph against itself, and a quantized graph's rows (worst
 * first, entire and single, names matched through "#type" suffixes). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quant/compare.h"
#include "quant/quant.h"

#include "graph_harness.h"

static void test_metrics(void **state)
{
    (void)state;
    const float f[2] = {1, 0}, q[2] = {1, 0.1f}, z[2] = {0, 0};
    double c, s;
    synap_compare_metrics(f, q, 2, &c, &s);
    assert_float_equal(c, 1 / sqrt(1 + 0.1 * 0.1), 1e-7);
    assert_float_equal(s, 20.0, 1e-5); /* 10 log10(1 / 0.01) */
    synap_compare_metrics(f, f, 2, &c, &s);
    assert_float_equal(c, 1, 0);
    assert_float_equal(s, SYNAP_COMPARE_MAX_DB, 0);
    synap_compare_metrics(f, z, 2, &c, &s);
    assert_float_equal(c, 0, 0);
    assert_float_equal(s, 0, 1e-12); /* all signal lost: 10 log10(1) */
}

/* Statistics of tensor `name` of g over [lo, hi], a flat histogram. */
static void flat_stats(struct synap_tensor_stats *s, const struct synap_graph *g, const char *name,
                       double lo, double hi)
{
    memset(s, 0, sizeof *s);
    s->tensor = synap_graph_find_tensor(g, name);
    s->name = name;
    s->min = s->ma_min = s->hist_lo = lo;
    s->max = s->ma_max = s->hist_hi = hi;
    for (int k = 0; k < SYNAP_CALIB_BINS; k++)
        s->hist[k] = 1;
}

/* Quantizes g to uint8 (outputs dequantized) with the n statistics ts. */
static void quantize_uint8(struct synap_graph *g, struct synap_tensor_stats *ts, size_t n)
{
    struct synap_calib_stats st = {.nsamples = 1, .ntensors = n, .t = ts};
    struct synap_quant_opts o = {0};
    struct synap_qrule rule = {"*", SYNAP_DTYPE_UINT8};
    o.rules = &rule;
    o.nrules = 1;
    o.dequantize_all = true;
    struct synap_quant_result r;
    struct synap_err err = {0};
    if (synap_quantize(g, &st, &o, &r, &err)) fail_msg("%s", err.msg);
    synap_quant_result_free(&r);
}

/* x [1, 8] -> Relu -> r -> Sigmoid -> y */
static struct synap_graph *net(void)
{
    struct synap_graph *g = synap_graph_new();
    int64_t d[2] = {1, 8};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t r = synap_graph_add_tensor(g, "r", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 2, d);
    gh_node1(g, "relu", SYNAP_OP_RELU, x, r);
    gh_node1(g, "sig", SYNAP_OP_SIGMOID, r, y);
    gh_set_io(g, x, y);
    return g;
}

static void test_self(void **state)
{
    (void)state;
    struct synap_graph *g = net();
    struct synap_compare cmp;
    struct synap_err err = {0};
    if (synap_compare_run(g, g, NULL, &cmp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(cmp.nrows, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_float_equal(cmp.rows[i].sqnr_entire, SYNAP_COMPARE_MAX_DB, 0);
        assert_true(cmp.rows[i].has_single);
        assert_float_equal(cmp.rows[i].sqnr_single, SYNAP_COMPARE_MAX_DB, 0);
    }
    synap_compare_free(&cmp);
    synap_graph_free(g);
}

static void test_quantized(void **state)
{
    (void)state;
    struct synap_graph *fg = net(), *qg = net();
    /* x uniform in [0, 1) (compare's random inputs); relu the same; sigmoid [0.5, 0.73] */
    struct synap_tensor_stats ts[3];
    const double lo[3] = {0, 0, 0.5}, hi[3] = {1, 1, 0.7311};
    for (uint32_t t = 0; t < 3; t++)
        flat_stats(&ts[t], qg, qg->tensors[t].name, lo[t], hi[t]);
    quantize_uint8(qg, ts, 3);
    /* Sigmoid's output covers [0, 1] whatever the statistics say */
    const struct synap_quant *qy = qg->tensors[synap_graph_find_tensor(qg, "y#uint8")].quant;
    assert_float_equal(qy->scale[0], 1.0 / 255, 1e-9);
    assert_int_equal(qy->zero_point[0], 0);
    float in[8] = {0.05f, 0.9f, 0.33f, 0.5f, 0.71f, 0.2f, 0.99f, 0.0f};
    struct synap_value v = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 2, .dims = {1, 8}, .data = in};
    struct synap_compare cmp;
    struct synap_err err = {0};
    if (synap_compare_run(fg, qg, &v, &cmp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(cmp.nrows, 2);
    /* worst first; uint8 on these ranges: ~1/510 error of a [0, 1] signal */
    assert_true(cmp.rows[0].sqnr_entire <= cmp.rows[1].sqnr_entire);
    for (size_t i = 0; i < 2; i++) {
        assert_true(cmp.rows[i].sqnr_entire > 35 && cmp.rows[i].sqnr_entire < 80);
        assert_true(cmp.rows[i].cos_entire > 0.999);
        assert_true(cmp.rows[i].has_single);
        assert_string_equal(cmp.rows[i].qtype, "uint8");
    }
    /* relu alone sees x quantized: the same error as entire */
    const struct synap_compare_row *relu =
        !strcmp(cmp.rows[0].layer, "relu") ? &cmp.rows[0] : &cmp.rows[1];
    assert_float_equal(relu->sqnr_single, relu->sqnr_entire, 1e-9);
    size_t n;
    char *json = synap_compare_json(&cmp, &n);
    assert_non_null(strstr(json, "\"layer\": \"relu\""));
    assert_non_null(strstr(json, "\"sqnr_db\": "));
    free(json);
    synap_compare_free(&cmp);
    synap_graph_free(fg);
    synap_graph_free(qg);
}

/* x [1, 8] -> Add(x, 0.1) -> a -> Relu -> r. synap-quant gives a the Relu's
 * range ([0, 0.6]): its row compares what the Relu keeps (both sides
 * clamped at 0), not the negative values the fused range drops, and the
 * clip column counts the float values beyond the quantized range: 0.9 + 0.1
 * is past the calibrated 0.6, 1 of 8 = 12.5 %. */
static void test_saturation_and_clip(void **state)
{
    (void)state;
    struct synap_graph *g[2];
    for (int k = 0; k < 2; k++) {
        struct synap_graph *h = g[k] = synap_graph_new();
        int64_t d[2] = {1, 8}, d1[1] = {1};
        static const float c = 0.1f;
        uint32_t x = synap_graph_add_tensor(h, "x", SYNAP_DTYPE_FLOAT32, 2, d);
        uint32_t ct = synap_graph_add_const(h, "c", SYNAP_DTYPE_FLOAT32, 1, d1, &c, sizeof c);
        uint32_t a = synap_graph_add_tensor(h, "a", SYNAP_DTYPE_FLOAT32, 2, d);
        uint32_t r = synap_graph_add_tensor(h, "r", SYNAP_DTYPE_FLOAT32, 2, d);
        struct synap_node *n = synap_graph_add_node(h, "add", SYNAP_OP_ADD, 2, 1);
        n->inputs[0] = x;
        n->inputs[1] = ct;
        n->outputs[0] = a;
        n = gh_node1(h, "relu", SYNAP_OP_RELU, a, r);
        gh_set_io(h, x, r);
    }
    struct synap_graph *fg = g[0], *qg = g[1];
    const char *names[3] = {"x", "a", "r"};
    const double lo[3] = {-0.5, -0.4, 0}, hi[3] = {0.5, 0.6, 0.6};
    struct synap_tensor_stats ts[3];
    for (int k = 0; k < 3; k++)
        flat_stats(&ts[k], qg, names[k], lo[k], hi[k]);
    quantize_uint8(qg, ts, 3);
    const struct synap_quant *qa = qg->tensors[synap_graph_find_tensor(qg, "a")].quant;
    assert_int_equal(qa->zero_point[0], 0); /* the Relu's range */
    float in[8] = {-0.5f, -0.3f, -0.2f, 0.05f, 0.2f, 0.3f, 0.45f, 0.9f};
    struct synap_value v = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 2, .dims = {1, 8}, .data = in};
    struct synap_compare cmp;
    struct synap_err err = {0};
    if (synap_compare_run(fg, qg, &v, &cmp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(cmp.nrows, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct synap_compare_row *row = &cmp.rows[i];
        /* both rows: max(a, 0) = {0, 0, 0, .15, .3, .4, .55, 1.0}, power
         * 1.575, against the same with x = 0.9 clipped at x's top level
         * 127/255 (zero point 128): error 1.0 - 0.598 = 0.402; the rest is
         * rounding (< 1e-5) */
        assert_float_equal(row->sqnr_entire, 10 * log10(1.575 / (0.402 * 0.402)), 0.02);
        /* a is uint8; r is the dequantized float output (no range) */
        assert_float_equal(row->clipped, strcmp(row->layer, "add") ? -1 : 12.5, 0);
    }
    size_t n;
    char *json = synap_compare_json(&cmp, &n);
    assert_non_null(strstr(json, "\"clipped_percent\": 12.5"));
    free(json);
    synap_compare_free(&cmp);
    synap_graph_free(fg);
    synap_graph_free(qg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_quantized),
        cmocka_unit_test(test_saturation_and_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
