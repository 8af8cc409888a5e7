/* TFLite_Detection_PostProcess (kernels/detect.c): box decoding with the
 * x/y/h/w scales, fast (class-agnostic) and regular (per-class) NMS, the
 * four outputs and their padding; hand-computed goldens. */
#include "kernel_harness.h"

#include "ir/ir.h"

/* Four anchors; 0-2 the same box, 3 elsewhere with a non-zero encoding. */
static const float boxes[4 * 4] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   10, 0, 0, 3.4657359f /* 5 ln 2 */};
static const float scores[4 * 3] = {0, 0.9f, 0.1f,  0, 0.2f, 0.8f,
                                    0, 0.05f, 0.02f, 0, 0.3f, 0.6f};
static const float anchors[4 * 4] = {0.5f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f,
                                     0.5f, 0.5f, 0.2f, 0.2f, 0.1f, 0.1f, 0.2f, 0.2f};

static void setup(struct kh *t, int regular)
{
    struct synap_node *n = kh_new(t, SYNAP_OP_DETECTION_POST_PROCESS, 3, 4);
    kh_in(t, 0, SYNAP_DTYPE_FLOAT32, 3, (int64_t[]){1, 4, 4}, boxes);
    kh_in(t, 1, SYNAP_DTYPE_FLOAT32, 3, (int64_t[]){1, 4, 3}, scores);
    kh_in(t, 2, SYNAP_DTYPE_FLOAT32, 2, (int64_t[]){4, 4}, anchors);
    synap_node_set_int(t->g, n, "max_detections", 3);
    synap_node_set_int(t->g, n, "max_classes_per_detection", 1);
    synap_node_set_int(t->g, n, "detections_per_class", 2);
    synap_node_set_int(t->g, n, "use_regular_nms", regular);
    synap_node_set_int(t->g, n, "num_classes", 2);
    synap_node_set_float(t->g, n, "nms_score_threshold", 0.1f);
    synap_node_set_float(t->g, n, "nms_iou_threshold", 0.5f);
}

static void test_fast_nms(void **state)
{
    (void)state;
    struct kh t;
    setup(&t, 0);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 3, (int64_t[]){1, 3, 4});
    kh_expect_dims(&t.out[1], 2, (int64_t[]){1, 3});
    kh_expect_dims(&t.out[3], 1, (int64_t[]){1});
    /* anchor 0 (0.9, class 0) wins; 1 overlaps it fully; 2 is below the
     * threshold; 3 decodes to yc 0.3, xc 0.1, h 0.2, w 0.4 */
    kh_expect_close(&t.out[0],
                    (double[]){0.4, 0.4, 0.6, 0.6, 0.2, -0.1, 0.4, 0.3, 0, 0, 0, 0}, 12, 0, 1e-6);
    kh_expect_close(&t.out[1], (double[]){0, 1, 0}, 3, 0, 0);
    kh_expect_close(&t.out[2], (double[]){0.9f, 0.6f, 0}, 3, 0, 0);
    kh_expect_close(&t.out[3], (double[]){2}, 1, 0, 0);
    kh_free(&t);
}

static void test_regular_nms(void **state)
{
    (void)state;
    struct kh t;
    setup(&t, 1);
    assert_int_equal(kh_run(&t, NULL), 0);
    /* class 0 keeps anchors 0 (0.9) and 3 (0.3); class 1 keeps 1 (0.8) and
     * 3 (0.6), its 0.1 on anchor 0 suppressed by anchor 1; best three */
    kh_expect_close(&t.out[0],
                    (double[]){0.4, 0.4, 0.6, 0.6, 0.4, 0.4, 0.6, 0.6, 0.2, -0.1, 0.4, 0.3}, 12,
                    0, 1e-6);
    kh_expect_close(&t.out[1], (double[]){0, 1, 1}, 3, 0, 0);
    kh_expect_close(&t.out[2], (double[]){0.9f, 0.8f, 0.6f}, 3, 0, 0);
    kh_expect_close(&t.out[3], (double[]){3}, 1, 0, 0);
    kh_free(&t);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    struct kh t;
    setup(&t, 0);
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 2, (int64_t[]){3, 4}, anchors);
    kh_expect_error(&t, "input 2 (anchors): expected [4, 4]");
    kh_free(&t);
    setup(&t, 0);
    synap_node_set_int(t.g, t.node, "num_classes", 5);
    kh_expect_error(&t, "num_classes 5 does not fit 3 score columns");
    kh_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_nms),
        cmocka_unit_test(test_regular_nms),
        cmocka_unit_test(test_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
