/* Shape kernels: Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size.
 * Expected shapes follow the ONNX operator definitions and the cases of
 * onnx/backend/test/case/node/{reshape,flatten,squeeze,unsqueeze,shape}.py;
 * error cases assert the exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The data input is a runtime tensor, as in a real graph; the others are
 * constants unless a test says otherwise. */
#define KH_DEFAULT_HIDDEN 1u
#include "kernel_harness.h"

/* ---- Reshape ----------------------------------------------------------------- */

static int reshape_case(struct kh *t, int rank, const int64_t *xd, const void *x, int n,
                        const int64_t *shape, int allowzero)
{
    struct synap_node *nd = kh_new(t, SYNAP_OP_RESHAPE, 2, 1);
    if (allowzero) synap_node_set_int(t->g, nd, "allowzero", 1);
    kh_in(t, 0, SYNAP_DTYPE_FLOAT32, rank, xd, x);
    kh_in(t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){n}, shape);
    return kh_run(t, NULL);
}

static void test_reshape(void **state)
{
    (void)state;
    const int64_t xd[] = {2, 3, 4};
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    struct kh t;
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){4, -1}, 0), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){4, 6});
    assert_memory_equal(t.out[0].data, x, sizeof x);
    kh_free(&t);
    /* 0 copies the input dim. */
    assert_int_equal(reshape_case(&t, 3, xd, x, 3, (const int64_t[]){0, -1, 2}, 0), 0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){2, 6, 2});
    kh_free(&t);
    /* To a scalar and back. */
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){1, 1, 1}, x, 0, xd /* any non-NULL */, 0), 0);
    kh_expect_dims(&t.out[0], 0, NULL);
    assert_true(*(float *)t.out[0].data == 0);
    kh_free(&t);
    /* allowzero=1: 0 is a real zero (ONNX test_reshape_allowzero_reordered). */
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){0, 3, 4}, NULL, 3, (const int64_t[]){3, 4, 0}, 1), 0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){3, 4, 0});
    kh_free(&t);
    /* int32 shape input. */
    struct synap_node *nd = kh_new(&t, SYNAP_OP_RESHAPE, 2, 1);
    (void)nd;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 1, (const int64_t[]){2}, (const int32_t[]){-1, 8});
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){3, 8});
    kh_free(&t);

    /* Errors, with their messages. */
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){-1, -1}, 0), -1);
    assert_string_equal(t.err.msg, "shape: more than one -1 (at 0 and 1)");
    kh_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){5, 5}, 0), -1);
    assert_string_equal(t.err.msg,
                        "cannot reshape [2, 3, 4] (24 elements) into [5, 5] (25 elements)");
    kh_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){5, -1}, 0), -1);
    assert_string_equal(t.err.msg,
                        "shape: cannot reshape 24 elements with the other dims multiplying to 5");
    kh_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){-2, 12}, 0), -1);
    assert_string_equal(t.err.msg, "shape: invalid dim -2 at index 0");
    kh_free(&t);
    assert_int_equal(reshape_case(&t, 1, (const int64_t[]){24}, x, 2, (const int64_t[]){6, 0}, 0),
                     -1);
    assert_string_equal(t.err.msg,
                        "shape: 0 at index 1 copies an input dim, but the input has rank 1");
    kh_free(&t);
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){0, 3, 4}, NULL, 2, (const int64_t[]){0, -1}, 1), -1);
    assert_string_equal(t.err.msg, "shape: -1 is ambiguous when the shape has a 0 dim");
    kh_free(&t);
    /* A shape computed at run time is refused at inference. */
    kh_new(&t, SYNAP_OP_RESHAPE, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){24});
    t.hidden = 3;
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "input 1 (shape) must be a constant (the graph must have "
                                   "static shapes)");
    kh_free(&t);
}

/* ---- Flatten, Squeeze, Unsqueeze ------------------------------------------------- */

static void test_flatten(void **state)
{
    (void)state;
    const int64_t xd[] = {2, 3, 4, 5};
    static const struct {
        int64_t axis, a, b;
    } cases[] = {{0, 1, 120}, {1, 2, 60}, {3, 24, 5}, {4, 120, 1}, {-1, 24, 5}, {-4, 1, 120}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kh t;
        struct synap_node *n = kh_new(&t, SYNAP_OP_FLATTEN, 1, 1);
        synap_node_set_int(t.g, n, "axis", cases[i].axis);
        kh_in(&t, 0, SYNAP_DTYPE_UINT8, 4, xd, NULL);
        assert_int_equal(kh_infer(&t), 0);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_UINT8);
        kh_expect_dims(&t.out[0], 2, (const int64_t[]){cases[i].a, cases[i].b});
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_FLATTEN, 1, 1); /* default axis 1 */
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    assert_int_equal(kh_infer(&t), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){2, 60});
    synap_node_set_int(t.g, &t.g->nodes[0], "axis", 5);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 5 out of range for rank 4");
    kh_free(&t);
}

static void test_squeeze(void **state)
{
    (void)state;
    const int64_t xd[] = {1, 3, 1, 5};
    struct kh t;
    kh_new(&t, SYNAP_OP_SQUEEZE, 1, 1); /* no axes: every 1 */
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    assert_int_equal(kh_infer(&t), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){3, 5});
    kh_free(&t);

    kh_new(&t, SYNAP_OP_SQUEEZE, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){-2});
    assert_int_equal(kh_infer(&t), 0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){1, 3, 5});
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){1});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "cannot squeeze axis 1 of size 3");
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){0, -4});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axes: axis 0 repeated");
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){4});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 4 out of range for rank 4");
    kh_free(&t);
}

static void test_unsqueeze(void **state)
{
    (void)state;
    const int64_t xd[] = {3, 4};
    static const struct {
        int n;
        int64_t axes[3];
        int rank;
        int64_t dims[5];
    } cases[] = {
        {2, {0, -1}, 4, {1, 3, 4, 1}}, /* negative: relative to the output rank */
        {2, {2, 0}, 4, {1, 3, 1, 4}},  /* unsorted */
        {3, {1, 2, 3}, 5, {3, 1, 1, 1, 4}},
        {1, {2}, 3, {3, 4, 1}},
    };
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i * 0.5f;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_UNSQUEEZE, 2, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, xd, x);
        kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){cases[i].n}, cases[i].axes);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], cases[i].rank, cases[i].dims);
        assert_memory_equal(t.out[0].data, x, sizeof x);
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_UNSQUEEZE, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, xd, NULL);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){1, -3});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axes: axis 1 repeated");
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){3});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 3 out of range for rank 3");
    kh_free(&t);
}

/* ---- Shape, Size ------------------------------------------------------------------- */

static void test_shape_size(void **state)
{
    (void)state;
    const int64_t xd[] = {2, 3, 4, 5};
    /* start/end pairs from ONNX's test_shape_* cases (opset 15 clamping). */
    static const struct {
        int has_start, has_end;
        int64_t start, end;
        int n;
        int64_t want[4];
    } cases[] = {
        {0, 0, 0, 0, 4, {2, 3, 4, 5}},  {1, 0, 1, 0, 3, {3, 4, 5}}, {0, 1, 0, 1, 1, {2}},
        {1, 1, 1, -1, 2, {3, 4}},       {1, 0, -1, 0, 1, {5}},      {1, 0, -10, 0, 4, {2, 3, 4, 5}},
        {0, 1, 0, 10, 4, {2, 3, 4, 5}}, {1, 1, 3, 1, 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kh t;
        struct synap_node *n = kh_new(&t, SYNAP_OP_SHAPE, 1, 1);
        if (cases[i].has_start) synap_node_set_int(t.g, n, "start", cases[i].start);
        if (cases[i].has_end) synap_node_set_int(t.g, n, "end", cases[i].end);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT16, 4, xd, NULL);
        assert_int_equal(kh_run(&t, NULL), 0);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
        kh_expect_dims(&t.out[0], 1, (const int64_t[]){cases[i].n});
        if (cases[i].n) assert_memory_equal(t.out[0].data, cases[i].want, (size_t)cases[i].n * 8);
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_SIZE, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_BOOL, 4, xd, NULL);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
    assert_int_equal(t.out[0].rank, 0);
    assert_int_equal(*(int64_t *)t.out[0].data, 120);
    kh_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape),    cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_squeeze),    cmocka_unit_test(test_unsqueeze),
        cmocka_unit_test(test_shape_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
