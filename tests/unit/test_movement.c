/* Movement kernels: Transpose, Concat, Split, Slice, Pad, Tile, Expand,
 * DepthToSpace, SpaceToDepth, ReverseSequence.
 *
 * Small cases use arange inputs, so outputs are exact; the golden arrays
 * were printed with numpy (/usr/bin/python3), e.g.
 *   np.arange(24).reshape(2,3,4).transpose(p)
 *   np.arange(60).reshape(3,4,5)[0:3:2, -1:-5:-2, 1:1000]
 *   np.pad(np.arange(1,7).reshape(2,3), ((1,1),(4,3)), mode="reflect")
 *   DepthToSpace/SpaceToDepth as the reshape-transpose-reshape of the ONNX spec.
 * Large cases check the tiled/parallel paths against a naive index formula
 * and against a single-threaded run, byte for byte. */
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

static float *arange(int64_t n, float from)
{
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = from + (float)i;
    return p;
}

/* ---- golden data (numpy) ------------------------------------------------- */

static const float transpose_p[6][24] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
    {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23},
    {0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23},
    {0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23},
    {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23},
    {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23},
};
static const int64_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
static const float slice_a[16] = {16, 17, 18, 19, 6, 7, 8, 9, 56, 57, 58, 59, 46, 47, 48, 49};
static const float slice_c[10] = {30, 31, 32, 33, 34, 50, 51, 52, 53, 54};
static const float pad_const[15] = {9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9};
static const float pad_crop[6] = {9, 9, 2, 3, 5, 6};
static const float pad_reflect[40] = {4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2,
                                      4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2};
static const float pad_edge[30] = {1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 1, 1, 2,
                                   3, 3, 3, 4, 4, 5, 6, 6, 6, 4, 4, 5, 6, 6, 6};
static const float tile_23[24] = {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6,
                                  1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6};
static const float d2s_dcr[48] = {0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38, 3,  15, 4,  16,
                                  5,  17, 27, 39, 28, 40, 29, 41, 6,  18, 7,  19, 8,  20, 30, 42,
                                  31, 43, 32, 44, 9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47};
static const float d2s_crd[48] = {0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20, 3,  9,  4,  10,
                                  5,  11, 15, 21, 16, 22, 17, 23, 24, 30, 25, 31, 26, 32, 36, 42,
                                  37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47};
static const float s2d[48] = {0,  2,  4,  12, 14, 16, 24, 26, 28, 36, 38, 40, 1,  3,  5,  13,
                              15, 17, 25, 27, 29, 37, 39, 41, 6,  8,  10, 18, 20, 22, 30, 32,
                              34, 42, 44, 46, 7,  9,  11, 19, 21, 23, 31, 33, 35, 43, 45, 47};

/* ---- Transpose ------------------------------------------------------------ */

static void test_transpose_all_perms(void **state)
{
    (void)state;
    float *x = arange(24, 0);
    const int64_t xd[] = {2, 3, 4};
    for (int p = 0; p < 6; p++) {
        struct kh t;
        struct synap_node *n = kh_new(&t, SYNAP_OP_TRANSPOSE, 1, 1);
        synap_node_set_ints(t.g, n, "perm", perms[p], 3);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
        assert_int_equal(kh_run(&t, NULL), 0);
        const int64_t yd[] = {xd[perms[p][0]], xd[perms[p][1]], xd[perms[p][2]]};
        kh_expect_dims(&t.out[0], 3, yd);
        kh_expect_floats(&t.out[0], transpose_p[p], 24);
        kh_free(&t);
    }
    /* No perm: reversed dims. */
    struct kh t;
    kh_new(&t, SYNAP_OP_TRANSPOSE, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){4, 3, 2});
    kh_expect_floats(&t.out[0], transpose_p[5], 24);
    kh_free(&t);
    free(x);
}

/* Naive 4-D transpose of element-size es. */
static void naive_transpose4(const char *x, const int64_t *d, const int64_t *perm, size_t es,
                             char *y)
{
    int64_t str[4] = {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
    int64_t od[4] = {d[perm[0]], d[perm[1]], d[perm[2]], d[perm[3]]};
    int64_t i = 0;
    for (int64_t a = 0; a < od[0]; a++)
        for (int64_t b = 0; b < od[1]; b++)
            for (int64_t c = 0; c < od[2]; c++)
                for (int64_t e = 0; e < od[3]; e++, i++) {
                    int64_t o[4] = {a, b, c, e}, src = 0;
                    for (int k = 0; k < 4; k++)
                        src += o[k] * str[perm[k]];
                    memcpy(y + i * (int64_t)es, x + src * (int64_t)es, es);
                }
}

static void test_transpose_large_paths(void **state)
{
    (void)state;
    /* NCHW->NHWC, NHWC->NCHW (tiled path), a batch swap and a full
     * reversal (strided path); odd sizes so tiles have ragged edges. */
    static const int64_t ps[4][4] = {{0, 2, 3, 1}, {0, 3, 1, 2}, {1, 0, 2, 3}, {3, 2, 1, 0}};
    static const enum synap_dtype dts[3] = {SYNAP_DTYPE_INT8, SYNAP_DTYPE_FLOAT32,
                                            SYNAP_DTYPE_INT64};
    const int64_t xd[] = {2, 35, 41, 37};
    int64_t n = 2 * 35 * 41 * 37;
    struct synap_pool *pool = synap_pool_new(4);
    for (int di = 0; di < 3; di++) {
        size_t es = synap_dtype_size(dts[di]);
        char *x = malloc((size_t)n * es), *want = malloc((size_t)n * es);
        for (int64_t i = 0; i < n * (int64_t)es; i++)
            x[i] = (char)(i * 7 + i / 13);
        for (int p = 0; p < 4; p++) {
            naive_transpose4(x, xd, ps[p], es, want);
            for (int threaded = 0; threaded < 2; threaded++) {
                struct kh t;
                struct synap_node *nd = kh_new(&t, SYNAP_OP_TRANSPOSE, 1, 1);
                synap_node_set_ints(t.g, nd, "perm", ps[p], 4);
                kh_in(&t, 0, dts[di], 4, xd, x);
                assert_int_equal(kh_run(&t, threaded ? pool : NULL), 0);
                assert_memory_equal(t.out[0].data, want, (size_t)n * es);
                kh_free(&t);
            }
        }
        free(x);
        free(want);
    }
    synap_pool_free(pool);
}

static void test_transpose_errors(void **state)
{
    (void)state;
    struct kh t;
    struct synap_node *n = kh_new(&t, SYNAP_OP_TRANSPOSE, 1, 1);
    synap_node_set_ints(t.g, n, "perm", (const int64_t[]){0, 0, 1}, 3);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, (const int64_t[]){2, 3, 4}, NULL);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "perm is not a permutation of 0..2");
    synap_node_set_ints(t.g, &t.g->nodes[0], "perm", (const int64_t[]){0, 1}, 2);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "perm has 2 entries for rank 3");
    kh_free(&t);
}

/* ---- Concat and Split ------------------------------------------------------ */

static void test_concat(void **state)
{
    (void)state;
    /* int64 [2,2] ++ [2,0] ++ [2,3] on axis -1, then an empty 1-D input that
     * is skipped. */
    const int64_t a[] = {1, 2, 3, 4}, c[] = {5, 6, 7, 8, 9, 10};
    struct kh t;
    struct synap_node *n = kh_new(&t, SYNAP_OP_CONCAT, 4, 1);
    synap_node_set_int(t.g, n, "axis", -1);
    kh_in(&t, 0, SYNAP_DTYPE_INT64, 2, (const int64_t[]){2, 2}, a);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 2, (const int64_t[]){2, 0}, NULL);
    kh_in(&t, 2, SYNAP_DTYPE_INT64, 2, (const int64_t[]){2, 3}, c);
    kh_in(&t, 3, SYNAP_DTYPE_INT64, 1, (const int64_t[]){0}, NULL);
    t.hidden = 0xf;
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){2, 5});
    static const int64_t want[] = {1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
    assert_memory_equal(t.out[0].data, want, sizeof want);
    kh_free(&t);

    /* Mismatched dims and a missing axis. */
    n = kh_new(&t, SYNAP_OP_CONCAT, 2, 1);
    synap_node_set_int(t.g, n, "axis", 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){2, 2}, NULL);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){3, 2}, NULL);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "input 1: dim 0 is 3, input 0 has 2");
    synap_node_remove_attr(&t.g->nodes[0], "axis");
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "attribute 'axis' is required");
    kh_free(&t);
}

static void test_concat_large_parallel(void **state)
{
    (void)state;
    /* Concat on axis 1 of NCHW maps (the YuNet/BlazeFace pattern), threaded
     * and not, against a naive copy. */
    const int64_t d0[] = {2, 5, 30, 31}, d1[] = {2, 3, 30, 31};
    int64_t n0 = 2 * 5 * 30 * 31, n1 = 2 * 3 * 30 * 31, plane = 30 * 31;
    float *x0 = arange(n0, 0), *x1 = arange(n1, 100000);
    float *want = malloc((size_t)(n0 + n1) * sizeof(float));
    for (int64_t b = 0; b < 2; b++) {
        memcpy(want + b * 8 * plane, x0 + b * 5 * plane, (size_t)(5 * plane) * sizeof(float));
        memcpy(want + (b * 8 + 5) * plane, x1 + b * 3 * plane, (size_t)(3 * plane) * sizeof(float));
    }
    struct synap_pool *pool = synap_pool_new(3);
    for (int threaded = 0; threaded < 2; threaded++) {
        struct kh t;
        struct synap_node *n = kh_new(&t, SYNAP_OP_CONCAT, 2, 1);
        synap_node_set_int(t.g, n, "axis", 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, d0, x0);
        kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 4, d1, x1);
        t.hidden = 3;
        assert_int_equal(kh_run(&t, threaded ? pool : NULL), 0);
        kh_expect_dims(&t.out[0], 4, (const int64_t[]){2, 8, 30, 31});
        kh_expect_floats(&t.out[0], want, n0 + n1);
        kh_free(&t);
    }
    synap_pool_free(pool);
    free(x0);
    free(x1);
    free(want);
}

static void test_split(void **state)
{
    (void)state;
    float *x = arange(12, 1);
    struct kh t;
    /* Explicit sizes on a 1-D input. */
    kh_new(&t, SYNAP_OP_SPLIT, 2, 2);
    const int64_t sp[] = {2, 4};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 1, (const int64_t[]){6}, x);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, sp);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 1, (const int64_t[]){2});
    kh_expect_dims(&t.out[1], 1, (const int64_t[]){4});
    kh_expect_floats(&t.out[0], (const float[]){1, 2}, 2);
    kh_expect_floats(&t.out[1], (const float[]){3, 4, 5, 6}, 4);
    kh_free(&t);

    /* Equal parts on axis 1 of [2, 6]. */
    struct synap_node *n = kh_new(&t, SYNAP_OP_SPLIT, 1, 3);
    synap_node_set_int(t.g, n, "axis", 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){2, 6}, x);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_floats(&t.out[0], (const float[]){1, 2, 7, 8}, 4);
    kh_expect_floats(&t.out[1], (const float[]){3, 4, 9, 10}, 4);
    kh_expect_floats(&t.out[2], (const float[]){5, 6, 11, 12}, 4);
    kh_free(&t);

    /* Zero-size parts (int32 split input). */
    kh_new(&t, SYNAP_OP_SPLIT, 2, 3);
    const int32_t sp32[] = {0, 6, 0};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 1, (const int64_t[]){6}, x);
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 1, (const int64_t[]){3}, sp32);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 1, (const int64_t[]){0});
    kh_expect_floats(&t.out[1], x, 6);
    kh_expect_dims(&t.out[2], 1, (const int64_t[]){0});
    kh_free(&t);

    /* Errors: uneven equal parts; sizes that do not add up. */
    kh_new(&t, SYNAP_OP_SPLIT, 1, 2);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 1, (const int64_t[]){7}, NULL);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 0 of size 7 cannot be split into 2 equal parts");
    kh_free(&t);
    kh_new(&t, SYNAP_OP_SPLIT, 2, 2);
    const int64_t bad[] = {2, 3};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 1, (const int64_t[]){6}, NULL);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, bad);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "split sizes add up to 5, not dim 6 of axis 0");
    kh_free(&t);
    free(x);
}

/* ---- Slice ------------------------------------------------------------------- */

static int slice_case(struct kh *t, const float *x, size_t n, const int64_t *starts,
                      const int64_t *ends, const int64_t *axes, const int64_t *steps)
{
    kh_new(t, SYNAP_OP_SLICE, 5, 1);
    const int64_t xd[] = {3, 4, 5}, nd[] = {(int64_t)n};
    kh_in(t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    kh_in(t, 1, SYNAP_DTYPE_INT64, 1, nd, starts);
    kh_in(t, 2, SYNAP_DTYPE_INT64, 1, nd, ends);
    if (axes) kh_in(t, 3, SYNAP_DTYPE_INT64, 1, nd, axes);
    if (steps) kh_in(t, 4, SYNAP_DTYPE_INT64, 1, nd, steps);
    return kh_run(t, NULL);
}

static void test_slice(void **state)
{
    (void)state;
    float *x = arange(60, 0);
    struct kh t;
    /* Negative start/end/step and an end past the dim. */
    assert_int_equal(slice_case(&t, x, 3, (const int64_t[]){0, -1, 1},
                                (const int64_t[]){3, -5, 1000}, NULL, (const int64_t[]){2, -2, 1}),
                     0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){2, 2, 4});
    kh_expect_floats(&t.out[0], slice_a, 16);
    kh_free(&t);

    /* Full reversal with end = INT64_MIN (numpy x[:, :, ::-1]). */
    assert_int_equal(slice_case(&t, x, 1, (const int64_t[]){-1}, (const int64_t[]){INT64_MIN},
                                (const int64_t[]){2}, (const int64_t[]){-1}),
                     0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){3, 4, 5});
    const float *y = t.out[0].data;
    for (int i = 0; i < 60; i++)
        assert_true(y[i] == x[(i / 5) * 5 + 4 - i % 5]);
    kh_free(&t);

    /* Unordered axes, end = INT64_MAX, no steps. */
    assert_int_equal(slice_case(&t, x, 2, (const int64_t[]){2, 1}, (const int64_t[]){3, INT64_MAX},
                                (const int64_t[]){1, 0}, NULL),
                     0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){2, 1, 5});
    kh_expect_floats(&t.out[0], slice_c, 10);
    kh_free(&t);

    /* A start past the end gives an empty axis; a huge step one element. */
    assert_int_equal(slice_case(&t, x, 2, (const int64_t[]){1000, 1}, (const int64_t[]){1001, 4},
                                (const int64_t[]){1, 2}, (const int64_t[]){1, INT64_MAX}),
                     0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){3, 0, 1});
    kh_free(&t);
    assert_int_equal(slice_case(&t, x, 1, (const int64_t[]){3}, (const int64_t[]){INT64_MIN},
                                (const int64_t[]){0}, (const int64_t[]){INT64_MIN}),
                     0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){1, 4, 5});
    kh_expect_floats(&t.out[0], x + 40, 20);
    kh_free(&t);

    /* Errors. */
    assert_int_equal(slice_case(&t, x, 1, (const int64_t[]){0}, (const int64_t[]){1},
                                (const int64_t[]){1}, (const int64_t[]){0}),
                     -1);
    assert_string_equal(t.err.msg, "steps: step of axis 1 is 0");
    kh_free(&t);
    assert_int_equal(slice_case(&t, x, 2, (const int64_t[]){0, 0}, (const int64_t[]){1, 1},
                                (const int64_t[]){1, -2}, NULL),
                     -1);
    assert_string_equal(t.err.msg, "axes: axis 1 repeated");
    kh_free(&t);
    free(x);
}

/* ---- Pad ----------------------------------------------------------------------- */

static int pad_case(struct kh *t, const char *mode, const float *x, const int64_t *pads,
                    const float *value)
{
    struct synap_node *n = kh_new(t, SYNAP_OP_PAD, 3, 1);
    if (mode) synap_node_set_string(t->g, n, "mode", mode);
    kh_in(t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){2, 3}, x);
    kh_in(t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){4}, pads);
    if (value) kh_in(t, 2, SYNAP_DTYPE_FLOAT32, 0, NULL, value);
    t->hidden = 5; /* the constant value may be computed at run time */
    return kh_run(t, NULL);
}

static void test_pad(void **state)
{
    (void)state;
    float *x = arange(6, 1);
    const float nine = 9;
    struct kh t;
    assert_int_equal(pad_case(&t, NULL, x, (const int64_t[]){0, 2, 1, 0}, &nine), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){3, 5});
    kh_expect_floats(&t.out[0], pad_const, 15);
    kh_free(&t);
    /* Negative pads crop. */
    assert_int_equal(pad_case(&t, "constant", x, (const int64_t[]){1, -1, 0, 0}, &nine), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){3, 2});
    kh_expect_floats(&t.out[0], pad_crop, 6);
    kh_free(&t);
    /* Reflect pads wider than the axis reflect again (numpy's rule). */
    assert_int_equal(pad_case(&t, "reflect", x, (const int64_t[]){1, 4, 1, 3}, NULL), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){4, 10});
    kh_expect_floats(&t.out[0], pad_reflect, 40);
    kh_free(&t);
    assert_int_equal(pad_case(&t, "edge", x, (const int64_t[]){2, 1, 1, 2}, NULL), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){5, 6});
    kh_expect_floats(&t.out[0], pad_edge, 30);
    kh_free(&t);
    /* No constant_value: zeros. */
    assert_int_equal(pad_case(&t, NULL, x, (const int64_t[]){0, 0, 0, 1}, NULL), 0);
    kh_expect_floats(&t.out[0], (const float[]){1, 2, 3, 0, 4, 5, 6, 0}, 8);
    kh_free(&t);
    /* Errors. */
    assert_int_equal(pad_case(&t, "wrap", x, (const int64_t[]){0, 0, 0, 0}, NULL), -1);
    assert_string_equal(t.err.msg, "mode 'wrap' is not constant, reflect or edge");
    kh_free(&t);
    assert_int_equal(pad_case(&t, NULL, x, (const int64_t[]){0, -2, 0, -2}, NULL), -1);
    assert_string_equal(t.err.msg, "pads of axis 1 (-2, -2) crop more than its 3 elements");
    kh_free(&t);
    free(x);
}

static void test_pad_large_parallel(void **state)
{
    (void)state;
    /* Reflect and constant padding of a [1, 8, 33, 65] map, threaded and
     * not, against a naive index computation. */
    const int64_t xd[] = {1, 8, 33, 65};
    const int64_t pads[] = {0, 0, 3, 2, 0, 1, 2, 5};
    int64_t n = 8 * 33 * 65, on = 9 * 38 * 72;
    float *x = arange(n, 0);
    const float minus = -1;
    struct synap_pool *pool = synap_pool_new(4);
    for (int reflect = 0; reflect < 2; reflect++) {
        float *want = malloc((size_t)on * sizeof(float));
        int64_t i = 0;
        for (int64_t c = 0; c < 9; c++)
            for (int64_t h = 0; h < 38; h++)
                for (int64_t w = 0; w < 72; w++, i++) {
                    int64_t ih = h - 3, iw = w - 2;
                    if (reflect) {
                        ih = ih < 0 ? -ih : ih > 32 ? 64 - ih : ih;
                        iw = iw < 0 ? -iw : iw > 64 ? 128 - iw : iw;
                    }
                    int in = c < 8 && ih >= 0 && ih < 33 && iw >= 0 && iw < 65;
                    want[i] = in ? x[(c * 33 + ih) * 65 + iw] : -1;
                }
        for (int threaded = 0; threaded < 2; threaded++) {
            struct kh t;
            struct synap_node *nd = kh_new(&t, SYNAP_OP_PAD, 3, 1);
            if (reflect) {
                synap_node_set_string(t.g, nd, "mode", "reflect");
                /* channel padding needs a constant: reflect only spatially */
            }
            int64_t p[8];
            memcpy(p, pads, sizeof p);
            if (reflect) p[5] = 0;
            kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, x);
            kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){8}, p);
            kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 0, NULL, &minus);
            assert_int_equal(kh_run(&t, threaded ? pool : NULL), 0);
            if (reflect) {
                kh_expect_dims(&t.out[0], 4, (const int64_t[]){1, 8, 38, 72});
                kh_expect_floats(&t.out[0], want, 8 * 38 * 72);
            } else {
                kh_expect_dims(&t.out[0], 4, (const int64_t[]){1, 9, 38, 72});
                kh_expect_floats(&t.out[0], want, on);
            }
            kh_free(&t);
        }
        free(want);
    }
    synap_pool_free(pool);
    free(x);
}

/* ---- Tile, Expand ---------------------------------------------------------------- */

static void test_tile_expand(void **state)
{
    (void)state;
    float *x = arange(6, 1);
    struct kh t;
    kh_new(&t, SYNAP_OP_TILE, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){2, 3}, x);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){2, 2});
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){4, 6});
    kh_expect_floats(&t.out[0], tile_23, 24);
    kh_free(&t);

    /* Expand [3, 1] int8 to [2, 1, 6]: bidirectional (the 1 in the shape
     * keeps the input's 3). */
    const int8_t xi[] = {7, 8, 9};
    kh_new(&t, SYNAP_OP_EXPAND, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_INT8, 2, (const int64_t[]){3, 1}, xi);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){3}, (const int64_t[]){2, 1, 6});
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 3, (const int64_t[]){2, 3, 6});
    const int8_t *y = t.out[0].data;
    for (int i = 0; i < 36; i++)
        assert_int_equal(y[i], 7 + (i / 6) % 3);
    kh_free(&t);

    kh_new(&t, SYNAP_OP_EXPAND, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_INT8, 2, (const int64_t[]){3, 1}, xi);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){4});
    assert_int_equal(kh_infer(&t), 0);
    kh_expect_dims(&t.out[0], 2, (const int64_t[]){3, 4});
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){2, 4});
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "shapes [3, 1] and [2, 4] do not broadcast");
    kh_free(&t);
    free(x);
}

/* ---- DepthToSpace, SpaceToDepth, ReverseSequence ----------------------------------- */

static void test_depth_space(void **state)
{
    (void)state;
    float *x = arange(48, 0);
    for (int crd = 0; crd < 2; crd++) {
        struct kh t;
        struct synap_node *n = kh_new(&t, SYNAP_OP_DEPTH_TO_SPACE, 1, 1);
        synap_node_set_int(t.g, n, "blocksize", 2);
        if (crd) synap_node_set_string(t.g, n, "mode", "CRD");
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, (const int64_t[]){1, 8, 2, 3}, x);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], 4, (const int64_t[]){1, 2, 4, 6});
        kh_expect_floats(&t.out[0], crd ? d2s_crd : d2s_dcr, 48);
        kh_free(&t);
    }
    struct kh t;
    struct synap_node *n = kh_new(&t, SYNAP_OP_SPACE_TO_DEPTH, 1, 1);
    synap_node_set_int(t.g, n, "blocksize", 2);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, (const int64_t[]){1, 2, 4, 6}, x);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 4, (const int64_t[]){1, 8, 2, 3});
    kh_expect_floats(&t.out[0], s2d, 48);
    kh_free(&t);

    n = kh_new(&t, SYNAP_OP_DEPTH_TO_SPACE, 1, 1);
    synap_node_set_int(t.g, n, "blocksize", 3);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, (const int64_t[]){1, 8, 2, 3}, NULL);
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "channels 8 are not a multiple of blocksize^2 9");
    kh_free(&t);
    free(x);
}

static void test_reverse_sequence(void **state)
{
    (void)state;
    /* The two examples of the ONNX operator documentation. */
    static const float xt[] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    static const float yt[] = {3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0, 7, 11, 15};
    static const float yb[] = {0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12};
    float *xb = arange(16, 0);
    struct kh t;
    struct synap_node *n = kh_new(&t, SYNAP_OP_REVERSE_SEQUENCE, 2, 1);
    synap_node_set_int(t.g, n, "time_axis", 0);
    synap_node_set_int(t.g, n, "batch_axis", 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){4, 4}, xt);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){4}, (const int64_t[]){4, 3, 2, 1});
    t.hidden = 3;
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_floats(&t.out[0], yt, 16);
    kh_free(&t);

    n = kh_new(&t, SYNAP_OP_REVERSE_SEQUENCE, 2, 1);
    synap_node_set_int(t.g, n, "time_axis", 1);
    synap_node_set_int(t.g, n, "batch_axis", 0);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){4, 4}, xb);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){4}, (const int64_t[]){1, 2, 3, 4});
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_floats(&t.out[0], yb, 16);
    kh_free(&t);

    /* A length beyond the time axis is a run-time error, not a crash. */
    n = kh_new(&t, SYNAP_OP_REVERSE_SEQUENCE, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, (const int64_t[]){4, 4}, xb);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){4}, (const int64_t[]){1, 5, 3, 4});
    assert_int_equal(kh_run(&t, NULL), -1);
    assert_string_equal(t.err.msg, "sequence_lens[1] = 5 is outside [0, 4]");
    kh_free(&t);
    free(xb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_all_perms),
        cmocka_unit_test(test_transpose_large_paths),
        cmocka_unit_test(test_transpose_errors),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_concat_large_parallel),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_large_parallel),
        cmocka_unit_test(test_tile_expand),
        cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_reverse_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
