/* Softmax, LogSoftmax and Hardmax against numpy golden values (float64 math
 * on float32 inputs); float32 outputs within rtol 1e-5, atol 1e-6. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_harness.h"

static const float x234[] = {
    -2.54215026,   1.67951274,  -0.369544625, 1.34079111,      2.86793709,  0.230975226,
    0.00672278181, -2.56769323, -1.38936615,  -0.000704995065, 1.07537997,  1.82243419,
    -0.714353204,  -2.6043818,  -1.27112639,  2.45756125,      -1.71968782, -0.287256241,
    2.58723617,    -2.85060453, 0.603293478,  2.70077705,      -1.61818278, 0.29093951,
};
static const double softmax_0[] = {
    0.138500916,  0.98639869,   0.711274447, 0.246610879,  0.989925527,  0.626734131,
    0.0704031243, 0.570259823,  0.119975771, 0.0628859604, 0.936645726,  0.822224898,
    0.861499084,  0.0136013096, 0.288725553, 0.753389121,  0.0100744731, 0.373265869,
    0.929596876,  0.429740177,  0.880024229, 0.93711404,   0.063354274,  0.177775102,
};
static const double logsoftmax_0[] = {
    -1.97687834,   -0.0136946548, -0.340696922, -1.39994357,  -0.010125564,  -0.467232862,
    -2.65351764,   -0.561663192,  -2.12046547,  -2.76643235,  -0.0654501621, -0.195741323,
    -0.149081286,  -4.29758919,   -1.24227869,  -0.283173424, -4.59775047,   -0.985464328,
    -0.0730042538, -0.844574493,  -0.127805839, -0.064950297, -2.75901291,   -1.727236,
};
static const double hardmax_0[] = {
    0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0,
};
static const double softmax_1[] = {
    0.00438946647, 0.703607468,   0.149290075,  0.378959728, 0.981709102,  0.16528696,
    0.217491252,   0.0076060623,  0.0139014312, 0.131105572, 0.633218673,  0.61343421,
    0.196057501,   0.00470545154, 0.0203688976, 0.893243957, 0.0717417866, 0.0477437084,
    0.965235069,   0.00442245045, 0.732200712,  0.94755084,  0.0143960336, 0.102333592,
};
static const double logsoftmax_1[] = {
    -5.42854759,   -0.351534652, -1.90186405,  -0.970325339,  -0.0184602443, -1.80007217,
    -1.52559665,   -4.87880968,  -4.27576348,  -2.03175239,   -0.456939462,  -0.488682258,
    -1.62934729,   -5.35903354,  -3.89374617,  -0.112895547,  -2.6346819,    -3.04190798,
    -0.0353836127, -5.42106134,  -0.311700606, -0.0538746865, -4.24080256,   -2.27951729,
};
static const double hardmax_1[] = {
    0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0,
};
static const double softmax_2[] = {
    0.00790546889, 0.538731759,   0.069418987,  0.383943785,  0.882506483,  0.0631684061,
    0.0504787183,  0.00384639295, 0.0240420959, 0.0963962639, 0.282746972,  0.596814668,
    0.0390972765,  0.00590632738, 0.0224048986, 0.932591498,  0.0125433576, 0.0525425244,
    0.930865909,   0.00404820891, 0.100142026,  0.815721511,  0.0108602918, 0.073276171,
};
static const double logsoftmax_2[] = {
    -4.84020049,  -0.618537497, -2.66759486, -0.957259129,  -0.124989144, -2.76195101,
    -2.98620345,  -5.56061947,  -3.72794899, -2.33928783,   -1.26320287,  -0.516148653,
    -3.24170247,  -5.13173107,  -3.79847566, -0.0697880116, -4.37856403,  -2.94613245,
    -0.071640041, -5.50948074,  -2.30116584, -0.203682267,  -4.5226421,   -2.61351981,
};
static const double hardmax_2[] = {
    0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0,
};
static const float xbig[] = {
    0, 1, 2, 3, 10000, 10001, 10002, 10003,
};
static const double softmax_big[] = {
    0.0320586033, 0.0871443187, 0.236882818, 0.64391426,
    0.0320586033, 0.0871443187, 0.236882818, 0.64391426,
};
static const double logsoftmax_big[] = {
    -3.4401897, -2.4401897, -1.4401897, -0.440189699,
    -3.4401897, -2.4401897, -1.4401897, -0.440189699,
};

static void test_every_axis(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4};
    const enum synap_op ops[3] = {SYNAP_OP_SOFTMAX, SYNAP_OP_LOG_SOFTMAX, SYNAP_OP_HARDMAX};
    const double *want[3][3] = {{softmax_0, softmax_1, softmax_2},
                                {logsoftmax_0, logsoftmax_1, logsoftmax_2},
                                {hardmax_0, hardmax_1, hardmax_2}};
    for (int o = 0; o < 3; o++)
        for (int ax = 0; ax < 3; ax++)
            for (int neg = 0; neg < 2; neg++) {
                struct kh t;
                kh_new(&t, ops[o], 1, 1);
                kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x234);
                /* axis 2 unset checks the default (-1) */
                if (ax != 2 || neg) synap_node_set_int(t.g, t.node, "axis", neg ? ax - 3 : ax);
                assert_int_equal(kh_run(&t, NULL), 0);
                kh_expect_dims(&t.out[0], 3, d);
                kh_expect_close(&t.out[0], want[o][ax], 24, 1e-5, 1e-6);
                kh_free(&t);
            }
}

static void test_large_numbers(void **state)
{
    (void)state;
    int64_t d[2] = {2, 4};
    for (int o = 0; o < 2; o++) {
        struct kh t;
        kh_new(&t, o ? SYNAP_OP_LOG_SOFTMAX : SYNAP_OP_SOFTMAX, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, xbig);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_close(&t.out[0], o ? logsoftmax_big : softmax_big, 8, 1e-5, 1e-6);
        kh_free(&t);
    }
}

static void test_ties_nan_and_dtypes(void **state)
{
    (void)state;
    /* Hardmax marks the first maximum only. */
    float x[8] = {1, 3, 3, 0, NAN, 1, 2, 3};
    int64_t d[2] = {2, 4};
    struct kh t;
    kh_new(&t, SYNAP_OP_HARDMAX, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, x);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], (double[]){0, 1, 0, 0, 1, 0, 0, 0}, 8, 0, 0);
    kh_free(&t);
    /* A NaN makes its whole row NaN; the other row is unaffected. */
    kh_new(&t, SYNAP_OP_SOFTMAX, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, x);
    assert_int_equal(kh_run(&t, NULL), 0);
    double e0 = exp(-2.0), s = e0 + 2 + exp(-3.0);
    kh_expect_close(&t.out[0], (double[]){e0 / s, 1 / s, 1 / s, exp(-3.0) / s, NAN, NAN, NAN, NAN},
                    8, 1e-6, 1e-7);
    kh_free(&t);
    /* float64 computes in double; float16 rounds to half. */
    double xd[3] = {1, 2, 3};
    int64_t n3 = 3;
    kh_new(&t, SYNAP_OP_SOFTMAX, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT64, 1, &n3, xd);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_FLOAT64);
    double sd = exp(-2.0) + exp(-1.0) + 1;
    kh_expect_close(&t.out[0], (double[]){exp(-2.0) / sd, exp(-1.0) / sd, 1 / sd}, 3, 1e-15, 0);
    kh_free(&t);
    uint16_t xh[3] = {synap_f32_to_f16(1), synap_f32_to_f16(2), synap_f32_to_f16(3)};
    kh_new(&t, SYNAP_OP_LOG_SOFTMAX, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT16, 1, &n3, xh);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_FLOAT16);
    double l = log(sd);
    kh_expect_close(&t.out[0], (double[]){-2 - l, -1 - l, -l}, 3, 1e-3, 0);
    kh_free(&t);
}

static void test_errors_and_threads(void **state)
{
    (void)state;
    float s = 1;
    struct kh t;
    kh_new(&t, SYNAP_OP_SOFTMAX, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 0, NULL, &s);
    kh_expect_error(&t, "input 0: expected rank >= 1, got 0");
    int64_t d[2] = {2, 4};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, xbig);
    synap_node_set_int(t.g, t.node, "axis", 2);
    kh_expect_error(&t, "axis 2 out of range for rank 2");
    int32_t xi[8] = {0};
    kh_in(&t, 0, SYNAP_DTYPE_INT32, 2, d, xi);
    kh_expect_error(&t, "input 0: expected a float dtype, got int32");
    kh_free(&t);
    enum { R = 513, C = 99 };
    float *x = synap_xmalloc(R * C * sizeof *x);
    for (int i = 0; i < R * C; i++)
        x[i] = cosf((float)i * 0.13f) * 20.0f;
    int64_t dd[2] = {R, C};
    for (int ax = 0; ax < 2; ax++) {
        kh_new(&t, SYNAP_OP_LOG_SOFTMAX, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, dd, x);
        synap_node_set_int(t.g, t.node, "axis", ax);
        assert_int_equal(kh_run_threads(&t, 4), 0);
        kh_free(&t);
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_axis),
        cmocka_unit_test(test_large_numbers),
        cmocka_unit_test(test_ties_nan_and_dtypes),
        cmocka_unit_test(test_errors_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
