/* Index kernels (gathers, scatters, generated tensors) against golden
 * vectors from the ONNX operator examples and numpy (np.take,
 * np.take_along_axis, onnx's scatter_nd_impl), plus the errors for bad
 * indices and data-dependent shapes. All comparisons are exact. */
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
#define I32 SYNAP_DTYPE_INT32
#define I64 SYNAP_DTYPE_INT64

static void test_gather_axis1_negative_int32(void **state)
{
    (void)state;
    float d[24];
    for (int i = 0; i < 24; i++)
        d[i] = (float)i;
    static const int32_t idx[2] = {2, -1};
    static const float want[16] = {8, 9, 10, 11, 8, 9, 10, 11, 20, 21, 22, 23, 20, 21, 22, 23};
    struct kh h;
    kh_new(&h, SYNAP_OP_GATHER, 2, 1);
    synap_node_set_int(h.g, h.node, "axis", 1);
    struct kh_input in[2] = {{F32, 3, {2, 3, 4}, d}, {I32, 2, {1, 2}, idx}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 4, (int64_t[]){2, 1, 2, 4});
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);
}

static void test_gather_uint8_and_out_of_range(void **state)
{
    (void)state;
    static const uint8_t d[3] = {10, 20, 30};
    static const int64_t idx[2] = {2, -3}, bad[2] = {0, 3};
    struct kh h;
    kh_new(&h, SYNAP_OP_GATHER, 2, 1);
    struct kh_input in[2] = {{SYNAP_DTYPE_UINT8, 1, {3}, d}, {I64, 1, {2}, idx}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((uint8_t[]){30, 10}), 2);
    kh_free(&h);

    /* constant indices: caught by shape inference */
    kh_new(&h, SYNAP_OP_GATHER, 2, 1);
    in[1].data = bad;
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "input 1: index 3 is out of range [-3, 2]");
    kh_free(&h);

    /* run-time indices: caught by the kernel, never read out of bounds */
    kh_new(&h, SYNAP_OP_GATHER, 2, 1);
    kh_inputs(&h, in, 2);
    h.hidden = ~0u; /* no input is a constant */
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "input 1: index 3 is out of range [-3, 2]");
    kh_free(&h);
}

static void test_gather_elements_negative(void **state)
{
    (void)state;
    static const float d[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const int64_t idx[6] = {-1, -2, 0, -2, 0, 0};
    static const float want[6] = {7, 5, 3, 4, 2, 3};
    struct kh h;
    kh_new(&h, SYNAP_OP_GATHER_ELEMENTS, 2, 1);
    struct kh_input in[2] = {{F32, 2, {3, 3}, d}, {I64, 2, {2, 3}, idx}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 2, (int64_t[]){2, 3});
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);
}

static void test_gather_nd_batch_dims(void **state)
{
    (void)state;
    static const int32_t d[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const int64_t idx[2] = {1, 0};
    static const int32_t want[4] = {2, 3, 4, 5};
    struct kh h;
    kh_new(&h, SYNAP_OP_GATHER_ND, 2, 1);
    synap_node_set_int(h.g, h.node, "batch_dims", 1);
    struct kh_input in[2] = {{I32, 3, {2, 2, 2}, d}, {I64, 2, {2, 1}, idx}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 2, (int64_t[]){2, 2});
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);

    /* batch_dims 0: full index tuples [[0,1],[1,0]] pick rows */
    static const int64_t idx2[4] = {0, 1, 1, 0};
    static const int32_t want2[4] = {2, 3, 4, 5};
    kh_new(&h, SYNAP_OP_GATHER_ND, 2, 1);
    struct kh_input in2[2] = {{I32, 3, {2, 2, 2}, d}, {I64, 2, {2, 2}, idx2}};
    kh_inputs(&h, in2, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, want2, sizeof want2);
    kh_free(&h);
}

static void test_scatter_elements_reductions(void **state)
{
    (void)state;
    static const float d[5] = {1, 2, 3, 4, 5};
    static const int64_t idx[2] = {1, 1};
    static const float upd[2] = {1.1f, 2.1f};
    struct kh h;
    kh_new(&h, SYNAP_OP_SCATTER_ELEMENTS, 3, 1);
    synap_node_set_int(h.g, h.node, "axis", 1);
    synap_node_set_string(h.g, h.node, "reduction", "add");
    struct kh_input in[3] = {{F32, 2, {1, 5}, d}, {I64, 2, {1, 2}, idx}, {F32, 2, {1, 2}, upd}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    /* 2 + 1.1f + 2.1f summed in float, in index order */
    float s = 2.0f + 1.1f;
    s += 2.1f;
    assert_memory_equal(h.out[0].data, ((float[]){1, s, 3, 4, 5}), 5 * sizeof(float));
    kh_free(&h);

    /* no reduction: duplicates, the last update wins */
    kh_new(&h, SYNAP_OP_SCATTER_ELEMENTS, 3, 1);
    synap_node_set_int(h.g, h.node, "axis", -1);
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((float[]){1, 2.1f, 3, 4, 5}), 5 * sizeof(float));
    kh_free(&h);

    /* mul on int32 along axis 0 with a negative index */
    static const int32_t di[4] = {2, 3, 4, 5};
    static const int32_t ii[2] = {-1, 0}, ui[2] = {10, 100};
    kh_new(&h, SYNAP_OP_SCATTER_ELEMENTS, 3, 1);
    synap_node_set_string(h.g, h.node, "reduction", "mul");
    struct kh_input in2[3] = {{I32, 2, {2, 2}, di}, {I32, 2, {1, 2}, ii}, {I32, 2, {1, 2}, ui}};
    kh_inputs(&h, in2, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((int32_t[]){2, 300, 40, 5}), 4 * sizeof(int32_t));
    kh_free(&h);

    kh_new(&h, SYNAP_OP_SCATTER_ELEMENTS, 3, 1);
    synap_node_set_string(h.g, h.node, "reduction", "avg");
    kh_inputs(&h, in2, 3);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "attribute 'reduction': unknown value 'avg'");
    kh_free(&h);
}

static void test_scatter_nd_mul_and_errors(void **state)
{
    (void)state;
    static const float row[16] = {1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1};
    float d[64], upd[32];
    for (int i = 0; i < 64; i++)
        d[i] = row[i % 16];
    for (int i = 0; i < 32; i++)
        upd[i] = (float)((i / 4) % 4 + 1 + (i < 16 ? 4 : 0));
    static const int64_t idx[2] = {0, 0};
    static const float want0[16] = {5,   10,  15,  20,  60,  72, 84, 96,
                                    168, 147, 126, 105, 128, 96, 64, 32};
    struct kh h;
    kh_new(&h, SYNAP_OP_SCATTER_ND, 3, 1);
    synap_node_set_string(h.g, h.node, "reduction", "mul");
    struct kh_input in[3] = {
        {F32, 3, {4, 4, 4}, d}, {I64, 2, {2, 1}, idx}, {F32, 3, {2, 4, 4}, upd}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, want0, sizeof want0);
    assert_memory_equal((float *)h.out[0].data + 16, d + 16, 48 * sizeof(float));
    kh_free(&h);

    kh_new(&h, SYNAP_OP_SCATTER_ND, 3, 1);
    in[2].dims[1] = 3;
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "input 2: updates have shape [2, 3, 4], expected [2, 4, 4]");
    kh_free(&h);
}

static void test_onehot_axis0_negative_and_out_of_range(void **state)
{
    (void)state;
    static const int64_t idx[3] = {1, -1, 3};
    static const float depth[1] = {3.0f};
    static const int32_t vals[2] = {0, 5};
    static const int32_t want[9] = {0, 0, 0, 5, 0, 0, 0, 5, 0};
    struct kh h;
    kh_new(&h, SYNAP_OP_ONE_HOT, 3, 1);
    synap_node_set_int(h.g, h.node, "axis", 0);
    struct kh_input in[3] = {{I64, 1, {3}, idx}, {F32, 0, {0}, depth}, {I32, 1, {2}, vals}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, I32);
    kh_expect_dims(&h.out[0], 2, (int64_t[]){3, 3});
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);
}

static void test_nonzero_constant_only(void **state)
{
    (void)state;
    static const float d[4] = {1, 0, -0.0f, NAN};
    static const int64_t want[4] = {0, 1, 0, 1};
    struct kh h;
    kh_new(&h, SYNAP_OP_NON_ZERO, 1, 1);
    struct kh_input in[1] = {{F32, 2, {2, 2}, d}};
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 2, (int64_t[]){2, 2});
    assert_memory_equal(h.out[0].data, want, sizeof want);
    kh_free(&h);

    kh_new(&h, SYNAP_OP_NON_ZERO, 1, 1);
    kh_inputs(&h, in, 1);
    h.hidden = ~0u; /* no input is a constant */
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "data-dependent output shape: input 0 must be constant");
    kh_free(&h);
}

static void test_trilu(void **state)
{
    (void)state;
    int32_t d[12];
    for (int i = 0; i < 12; i++)
        d[i] = i + 1;
    static const int64_t k1[1] = {1}, km1[1] = {-1};
    static const int32_t upper1[12] = {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12};
    static const int32_t lowerm1[12] = {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0};
    struct kh h;
    kh_new(&h, SYNAP_OP_TRILU, 2, 1);
    struct kh_input in[2] = {{I32, 2, {3, 4}, d}, {I64, 0, {0}, k1}};
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, upper1, sizeof upper1);
    kh_free(&h);

    kh_new(&h, SYNAP_OP_TRILU, 2, 1);
    synap_node_set_int(h.g, h.node, "upper", 0);
    in[1].data = km1;
    kh_inputs(&h, in, 2);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, lowerm1, sizeof lowerm1);
    kh_free(&h);

    /* no k: the main diagonal is kept by both */
    kh_new(&h, SYNAP_OP_TRILU, 1, 1);
    synap_node_set_int(h.g, h.node, "upper", 0);
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((int32_t[]){1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}),
                        12 * sizeof(int32_t));
    kh_free(&h);
}

static void test_eyelike_dtype_and_k(void **state)
{
    (void)state;
    static const float d[12] = {0};
    struct kh h;
    kh_new(&h, SYNAP_OP_EYE_LIKE, 1, 1);
    synap_node_set_int(h.g, h.node, "k", 1);
    synap_node_set_int(h.g, h.node, "dtype", 6); /* ONNX INT32 */
    struct kh_input in[1] = {{F32, 2, {3, 4}, d}};
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, I32);
    assert_memory_equal(h.out[0].data, ((int32_t[]){0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}),
                        12 * sizeof(int32_t));
    kh_free(&h);

    kh_new(&h, SYNAP_OP_EYE_LIKE, 1, 1);
    synap_node_set_int(h.g, h.node, "k", -2);
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((float[]){0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}),
                        12 * sizeof(float));
    kh_free(&h);
}

static void test_range(void **state)
{
    (void)state;
    struct kh h;
    static const float fs[3] = {1, 5, 2};
    kh_new(&h, SYNAP_OP_RANGE, 3, 1);
    struct kh_input in[3] = {{F32, 0, {0}, &fs[0]}, {F32, 0, {0}, &fs[1]}, {F32, 0, {0}, &fs[2]}};
    kh_inputs(&h, in, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 1, (int64_t[]){2});
    assert_memory_equal(h.out[0].data, ((float[]){1, 3}), 2 * sizeof(float));
    kh_free(&h);

    static const int32_t is[3] = {10, 6, -3};
    kh_new(&h, SYNAP_OP_RANGE, 3, 1);
    struct kh_input ii[3] = {{I32, 0, {0}, &is[0]}, {I32, 0, {0}, &is[1]}, {I32, 0, {0}, &is[2]}};
    kh_inputs(&h, ii, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_memory_equal(h.out[0].data, ((int32_t[]){10, 7}), 2 * sizeof(int32_t));
    kh_free(&h);

    /* an empty range is a [0] tensor, not an error */
    static const int64_t es[3] = {5, 1, 1};
    kh_new(&h, SYNAP_OP_RANGE, 3, 1);
    struct kh_input ie[3] = {{I64, 0, {0}, &es[0]}, {I64, 0, {0}, &es[1]}, {I64, 0, {0}, &es[2]}};
    kh_inputs(&h, ie, 3);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    kh_expect_dims(&h.out[0], 1, (int64_t[]){0});
    kh_free(&h);

    kh_new(&h, SYNAP_OP_RANGE, 3, 1);
    kh_inputs(&h, ie, 3);
    h.hidden = ~0u; /* no input is a constant */
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "input 0 must be constant (it decides the shape)");
    kh_free(&h);
}

static void test_constant_of_shape(void **state)
{
    (void)state;
    static const int64_t shape[2] = {2, 3};
    static const int32_t seven = 7;
    struct kh h;
    kh_new(&h, SYNAP_OP_CONSTANT_OF_SHAPE, 1, 1);
    uint32_t t = synap_graph_add_const(h.g, "value", I32, 1, (int64_t[]){1}, &seven, 4);
    synap_node_set_tensor(h.g, h.node, "value", t);
    struct kh_input in[1] = {{I64, 1, {2}, shape}};
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, I32);
    kh_expect_dims(&h.out[0], 2, shape);
    assert_memory_equal(h.out[0].data, ((int32_t[]){7, 7, 7, 7, 7, 7}), 6 * sizeof(int32_t));
    kh_free(&h);

    /* no value: float32 zeros; a zero dimension gives an empty tensor */
    static const int64_t zshape[2] = {0, 3};
    kh_new(&h, SYNAP_OP_CONSTANT_OF_SHAPE, 1, 1);
    in[0].data = zshape;
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), 0);
    assert_int_equal(h.out[0].dtype, F32);
    kh_expect_dims(&h.out[0], 2, zshape);
    kh_free(&h);

    kh_new(&h, SYNAP_OP_CONSTANT_OF_SHAPE, 1, 1);
    synap_node_set_tensor(h.g, h.node, "value", 99);
    kh_inputs(&h, in, 1);
    assert_int_equal(kh_run_threads(&h, 3), -1);
    assert_string_equal(h.err.msg, "attribute 'value': tensor index 99 out of range");
    kh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_axis1_negative_int32),
        cmocka_unit_test(test_gather_uint8_and_out_of_range),
        cmocka_unit_test(test_gather_elements_negative),
        cmocka_unit_test(test_gather_nd_batch_dims),
        cmocka_unit_test(test_scatter_elements_reductions),
        cmocka_unit_test(test_scatter_nd_mul_and_errors),
        cmocka_unit_test(test_onehot_axis0_negative_and_out_of_range),
        cmocka_unit_test(test_nonzero_constant_only),
        cmocka_unit_test(test_trilu),
        cmocka_unit_test(test_eyelike_dtype_and_k),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_constant_of_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
