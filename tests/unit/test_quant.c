/* Quantized kernels against exact golden vectors: the ONNX conformance
 * examples (test_qlinearconv, test_qlinearmatmul_2D/3D, test_matmulinteger,
 * test_convinteger_with_padding, test_quantizelinear_axis,
 * test_dequantizelinear_axis, test_dynamicquantizelinear*), plus a grouped,
 * strided, SAME_UPPER, per-channel int8 QLinearConv whose golden output comes
 * from numpy (int64 convolution, then ONNX Runtime's float32 requantization).
 * Integer outputs must match exactly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_harness.h"

#define F32 SYNAP_DTYPE_FLOAT32
#define U8 SYNAP_DTYPE_UINT8
#define I8 SYNAP_DTYPE_INT8
#define I32 SYNAP_DTYPE_INT32

static void test_quantize_per_axis(void **state)
{
    (void)state;
    static const float x[18] = {-162, 10, -100, 232, -20,  -50,  -76,  0,    0,
                                252,  32, -44,  245, -485, -960, -270, -375, -470};
    static const float sc[3] = {2, 4, 5};
    static const uint8_t zp[3] = {84, 24, 196};
    static const uint8_t want[18] = {3,  89, 34, 200, 74, 59, 5,   24,  24,
                                     87, 32, 13, 245, 99, 4,  142, 121, 102};
    struct kh h;
    kh_new(&h, SYNAP_OP_QUANTIZE_LINEAR, 3, 1);
    struct kh_input in[3] = {{F32, 4, {1, 3, 3, 2}, x}, {F32, 1, {3}, sc}, {U8, 1, {3}, zp}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, U8);
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);

    /* and back: DequantizeLinear per axis restores x exactly */
    kh_new(&h, SYNAP_OP_DEQUANTIZE_LINEAR, 3, 1);
    struct kh_input dq[3] = {{U8, 4, {1, 3, 3, 2}, want}, {F32, 1, {3}, sc}, {U8, 1, {3}, zp}};
    kh_inputs(&h, dq, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, x, sizeof x);
    kh_free(&h);
}

static void test_quantize_rounds_half_even_and_saturates(void **state)
{
    (void)state;
    static const float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 300, -300};
    static const float one = 1;
    static const int8_t zp = 0;
    static const int8_t want_i8[8] = {0, 2, 2, 0, -2, -2, 127, -128};
    static const uint8_t want_u8[8] = {0, 2, 2, 0, 0, 0, 255, 0};
    struct kh h;
    kh_new(&h, SYNAP_OP_QUANTIZE_LINEAR, 3, 1);
    struct kh_input in[3] = {{F32, 1, {8}, x}, {F32, 0, {0}, &one}, {I8, 0, {0}, &zp}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, I8);
    assert_memory_equal(h.out[0].data, want_i8, 8);
    kh_free(&h);

    /* zero point omitted: uint8 with zero point 0 */
    kh_new(&h, SYNAP_OP_QUANTIZE_LINEAR, 2, 1);
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, U8);
    assert_memory_equal(h.out[0].data, want_u8, 8);
    kh_free(&h);
}

static void test_dequantize_int32(void **state)
{
    (void)state;
    static const int32_t x[3] = {-5, 1000000, INT32_MIN};
    static const float sc = 0.5f;
    struct kh h;
    kh_new(&h, SYNAP_OP_DEQUANTIZE_LINEAR, 2, 1);
    struct kh_input in[2] = {{I32, 1, {3}, x}, {F32, 0, {0}, &sc}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((float[]){-2.5f, 500000.0f, -1073741824.0f}),
                        3 * sizeof(float));
    kh_free(&h);
}

static void test_dynamic_quantize(void **state)
{
    (void)state;
    static const float x1[6] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    static const float x2[6] = {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f};
    static const float x3[6] = {0, 0, 0, 0, 0, 0};
    static const struct {
        const float *x;
        uint8_t y[6];
        float scale;
        uint8_t zp;
    } cases[3] = {
        {x1, {153, 255, 0, 26, 221, 179}, 0.0196078438f, 153},
        {x2, {191, 121, 172, 96, 42, 0}, 0.0156862754f, 255},
        {x3, {0, 0, 0, 0, 0, 0}, 1.0f, 0}, /* all zeros: scale 1 as ONNX Runtime */
    };
    for (int i = 0; i < 3; i++) {
        struct kh h;
        kh_new(&h, SYNAP_OP_DYNAMIC_QUANTIZE_LINEAR, 1, 3);
        struct kh_input in[1] = {{F32, 1, {6}, cases[i].x}};
        kh_inputs(&h, in, 1);
        assert_int_equal(kh_run_threads(&h, 3), 0);
        assert_memory_equal(h.out[0].data, cases[i].y, 6);
        assert_int_equal(h.out[1].rank, 0);
        assert_true(*(float *)h.out[1].data == cases[i].scale);
        assert_int_equal(*(uint8_t *)h.out[2].data, cases[i].zp);
        kh_free(&h);
    }
}

static void test_qlinear_matmul_2d_and_3d(void **state)
{
    (void)state;
    static const uint8_t a[16] = {208, 236, 0, 238, 3, 214, 255, 29,
                                  208, 236, 0, 238, 3, 214, 255, 29};
    static const uint8_t b[24] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247,
                                  152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
    static const float as = 0.0066f, bs = 0.00705f, ys = 0.0107f;
    static const uint8_t azp = 113, bzp = 114, yzp = 118;
    static const uint8_t want[12] = {168, 115, 255, 1, 66, 151, 168, 115, 255, 1, 66, 151};
    struct kh h;
    kh_new(&h, SYNAP_OP_QLINEAR_MATMUL, 8, 1);
    struct kh_input in[8] = {{U8, 2, {2, 4}, a}, {F32, 1, {1}, &as}, {U8, 1, {1}, &azp},
                             {U8, 2, {4, 3}, b}, {F32, 1, {1}, &bs}, {U8, 1, {1}, &bzp},
                             {F32, 1, {1}, &ys}, {U8, 1, {1}, &yzp}};
    kh_inputs(&h, in, 8);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, want, 6);
    kh_free(&h);

    kh_new(&h, SYNAP_OP_QLINEAR_MATMUL, 8, 1);
    in[0].rank = 3, in[0].dims[0] = 2, in[0].dims[1] = 2, in[0].dims[2] = 4;
    in[3].rank = 3, in[3].dims[0] = 2, in[3].dims[1] = 4, in[3].dims[2] = 3;
    kh_inputs(&h, in, 8);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    int64_t od[3] = {2, 2, 3};
    assert_memory_equal(h.out[0].dims, od, sizeof od);
    assert_memory_equal(h.out[0].data, want, 12);
    kh_free(&h);
}

static void test_matmul_integer(void **state)
{
    (void)state;
    static const uint8_t a[12] = {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0};
    static const uint8_t b[6] = {1, 4, 2, 5, 3, 6};
    static const uint8_t azp = 12, bzp = 0;
    static const int32_t want[8] = {-38, -83, -44, -98, -50, -113, -56, -128};
    struct kh h;
    kh_new(&h, SYNAP_OP_MATMUL_INTEGER, 4, 1);
    struct kh_input in[4] = {
        {U8, 2, {4, 3}, a}, {U8, 2, {3, 2}, b}, {U8, 1, {1}, &azp}, {U8, 1, {1}, &bzp}};
    kh_inputs(&h, in, 4);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, I32);
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);

    /* 1-D a broadcasts like numpy matmul: [3] x [3, 2] -> [2] */
    kh_new(&h, SYNAP_OP_MATMUL_INTEGER, 4, 1);
    in[0].rank = 1, in[0].dims[0] = 3;
    kh_inputs(&h, in, 4);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].rank, 1);
    assert_memory_equal(h.out[0].data, ((int32_t[]){-38, -83}), 8);
    kh_free(&h);

    kh_new(&h, SYNAP_OP_MATMUL_INTEGER, 4, 1);
    in[1].dims[0] = 4;
    kh_inputs(&h, in, 4);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "matmul: inner dimensions differ (3 vs 4)");
    kh_free(&h);
}

static void test_conv_integer_padding(void **state)
{
    (void)state;
    static const uint8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const uint8_t w[4] = {1, 1, 1, 1};
    static const uint8_t xzp = 1;
    static const int32_t want[16] = {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
    struct kh h;
    kh_new(&h, SYNAP_OP_CONV_INTEGER, 3, 1);
    synap_node_set_ints(h.g, h.node, "pads", (int64_t[]){1, 1, 1, 1}, 4);
    struct kh_input in[3] = {
        {U8, 4, {1, 1, 3, 3}, x}, {U8, 4, {1, 1, 2, 2}, w}, {U8, 0, {0}, &xzp}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    int64_t od[4] = {1, 1, 4, 4};
    assert_memory_equal(h.out[0].dims, od, sizeof od);
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);

    /* without padding: the 2x2 sums of (x - 1) */
    kh_new(&h, SYNAP_OP_CONV_INTEGER, 3, 1);
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((int32_t[]){12, 16, 24, 28}), 16);
    kh_free(&h);
}

static void test_qlinear_conv_onnx_example(void **state)
{
    (void)state;
    static const uint8_t x[49] = {255, 174, 162, 25,  203, 168, 58,  15,  59,  237, 95,  129, 0,
                                  64,  56,  242, 153, 221, 168, 12,  166, 232, 178, 186, 195, 237,
                                  162, 237, 188, 39,  124, 77,  80,  102, 43,  127, 230, 21,  83,
                                  41,  40,  134, 255, 154, 92,  141, 42,  148, 247};
    static const uint8_t want[49] = {
        0,   81,  93,  230, 52,  87,  197, 240, 196, 18,  160, 126, 255, 191, 199, 13,  102,
        34,  87,  243, 89,  23,  77,  69,  60,  18,  93,  18,  67,  216, 131, 178, 175, 153,
        212, 128, 25,  234, 172, 214, 215, 121, 0,   101, 163, 114, 213, 107, 8};
    static const float xs = 0.00369204697f, ws = 0.00172794575f, ys = 0.00162681262f;
    static const uint8_t xzp = 132, w = 0, wzp = 255, yzp = 123;
    struct kh h;
    kh_new(&h, SYNAP_OP_QLINEAR_CONV, 8, 1);
    struct kh_input in[8] = {{U8, 4, {1, 1, 7, 7}, x},  {F32, 0, {0}, &xs}, {U8, 0, {0}, &xzp},
                             {U8, 4, {1, 1, 1, 1}, &w}, {F32, 1, {1}, &ws}, {U8, 1, {1}, &wzp},
                             {F32, 0, {0}, &ys},        {U8, 0, {0}, &yzp}};
    kh_inputs(&h, in, 8);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);
}

static const int8_t qc_x[100] = {
    47,   68,   -103, 118,  -61,  83,  23,   -25, -36,  57,  14,  -105, -56,  -39,  -18,  -86, 90,
    8,    39,   102,  -60,  48,   -1,  7,    44,  -128, -53, -73, 122,  -122, -109, 60,   -84, 63,
    -59,  -72,  24,   55,   53,   -16, 123,  61,  64,   -94, -72, 73,   78,   -90,  -124, 110, 9,
    -41,  99,   67,   -56,  -45,  48,  -127, 64,  16,   -10, 31,  -35,  44,   -36,  124,  -57, -105,
    -118, 105,  -93,  64,   -67,  7,   23,   -36, 119,  96,  21,  -28,  35,   97,   -61,  -5,  91,
    97,   -109, 27,   -124, -109, -95, -5,   -98, 57,   101, -55, 93,   81,   -1,   31,
};
static const int8_t qc_w[72] = {
    2,   -45, 50,  18,   -107, -9,  -61, 75,  58,  -81, -112, -116, -35, -21, 105, 9,   -52,  -61,
    -18, 14,  -4,  -108, -75,  124, 15,  -69, -93, -80, -124, -85,  72,  90,  122, -74, -85,  111,
    87,  77,  50,  -89,  3,    29,  12,  76,  -49, -99, 8,    -74,  38,  -11, 70,  21,  -84,  91,
    7,   81,  106, 111,  69,   -28, 52,  105, 41,  -99, -102, -64,  124, 62,  86,  98,  -116, 6,
};
static const float qc_ws[4] = {
    0.0119094541f,
    0.0166732036f,
    0.0183093343f,
    0.0151237817f,
};
static const int32_t qc_b[4] = {
    -1514,
    -742,
    577,
    1077,
};
static const int8_t qc_y[36] = {
    5, 11, 9, 3, 6,  6, 4,  1,  7, 3, 18, -1, -1, 5,  11, 6, -6, 10,
    9, 8,  1, 7, -1, 5, 12, -5, 2, 7, 16, 5,  8,  -6, -4, 9, 7,  4,
};
/* x_scale 0.0199999996 x_zp -3 y_scale 0.899999976 y_zp 5, acc range -33853..34162 */

static void test_qlinear_conv_grouped_strided_per_channel(void **state)
{
    (void)state;
    static const float xs = 0.02f, ys = 0.9f;
    static const int8_t xzp = -3, wzp[4] = {0, 0, 0, 0}, yzp = 5;
    struct kh h;
    kh_new(&h, SYNAP_OP_QLINEAR_CONV, 9, 1);
    synap_node_set_int(h.g, h.node, "group", 2);
    synap_node_set_ints(h.g, h.node, "strides", (int64_t[]){2, 2}, 2);
    synap_node_set_string(h.g, h.node, "auto_pad", "SAME_UPPER");
    struct kh_input in[9] = {
        {I8, 4, {1, 4, 5, 5}, qc_x}, {F32, 0, {0}, &xs},   {I8, 0, {0}, &xzp},
        {I8, 4, {4, 2, 3, 3}, qc_w}, {F32, 1, {4}, qc_ws}, {I8, 1, {4}, wzp},
        {F32, 0, {0}, &ys},          {I8, 0, {0}, &yzp},   {I32, 1, {4}, qc_b}};
    kh_inputs(&h, in, 9);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    int64_t od[4] = {1, 4, 3, 3};
    assert_memory_equal(h.out[0].dims, od, sizeof od);
    assert_memory_equal(h.out[0].data, qc_y, sizeof qc_y);
    kh_free(&h);

    /* a group count that does not divide the channels is refused */
    kh_new(&h, SYNAP_OP_QLINEAR_CONV, 9, 1);
    synap_node_set_int(h.g, h.node, "group", 3);
    kh_inputs(&h, in, 9);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "group 3 does not fit 4 input channels, weights 4 x 2");
    kh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_per_axis),
        cmocka_unit_test(test_quantize_rounds_half_even_and_saturates),
        cmocka_unit_test(test_dequantize_int32),
        cmocka_unit_test(test_dynamic_quantize),
        cmocka_unit_test(test_qlinear_matmul_2d_and_3d),
        cmocka_unit_test(test_matmul_integer),
        cmocka_unit_test(test_conv_integer_padding),
        cmocka_unit_test(test_qlinear_conv_onnx_example),
        cmocka_unit_test(test_qlinear_conv_grouped_strided_per_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
