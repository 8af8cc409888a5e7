/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against hand-computed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/plan.h"

#include "graph_harness.h"

/* one loss node over constants x [2,3], target [2], weight [3] (optional) */
static float run_loss(enum synap_op op, const char *reduction, int with_weight, int ignore,
                      float *none_out, struct synap_err *err, int *rc)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xd[] = {2, 3}, td[] = {2}, wd[] = {3};
    float x[] = {-1, -2, -3, -0.5f, -1.5f, -2.5f}, w[] = {1, 2, 3};
    int64_t t[] = {0, 2};
    uint32_t xi = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, xd);
    uint32_t ti = synap_graph_add_const(g, "t", SYNAP_DTYPE_INT64, 1, td, t, sizeof t);
    uint32_t wi = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 1, wd, w, sizeof w);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 0, NULL);
    struct synap_node *n = synap_graph_add_node(g, "loss", op, with_weight ? 3 : 2, 1);
    n->inputs[0] = xi, n->inputs[1] = ti, n->outputs[0] = y;
    if (with_weight) n->inputs[2] = wi;
    synap_node_set_string(g, n, "reduction", reduction);
    if (ignore >= 0) synap_node_set_int(g, n, "ignore_index", ignore);
    gh_set_io(g, xi, y);
    float result = NAN;
    *rc = -1;
    if (synap_graph_infer(g, true, err) == 0) {
        struct synap_plan *p = synap_plan_new(g, NULL, err);
        if (p) {
            memcpy(synap_plan_input(p, 0)->data, x, sizeof x);
            *rc = synap_plan_run(p, err);
            const struct synap_value *v = synap_plan_output(p, 0);
            result = ((const float *)v->data)[0];
            if (none_out && v->rank == 1) memcpy(none_out, v->data, 2 * sizeof(float));
            synap_plan_free(p);
        }
    }
    synap_graph_free(g);
    return result;
}

static void test_nll(void **state)
{
    (void)state;
    struct synap_err err = {0};
    int rc;
    float none[2];
    /* losses: -x[0][0]*w[0] = 1, -x[1][2]*w[2] = 7.5 */
    assert_float_equal(run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "mean", 1, -1, NULL, &err,
                                &rc), 8.5f / 4, 1e-6);
    assert_float_equal(run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "sum", 1, -1, NULL, &err,
                                &rc), 8.5f, 1e-6);
    run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "none", 1, -1, none, &err, &rc);
    assert_int_equal(rc, 0);
    assert_float_equal(none[0], 1.0f, 1e-6);
    assert_float_equal(none[1], 7.5f, 1e-6);
    /* class 2 ignored: only the first element counts, mean over its weight */
    assert_float_equal(run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "mean", 1, 2, NULL, &err,
                                &rc), 1.0f, 1e-6);
    /* no weight: plain mean of 1 and 2.5 */
    assert_float_equal(run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "mean", 0, -1, NULL, &err,
                                &rc), 1.75f, 1e-6);
    run_loss(SYNAP_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, "avg", 0, -1, NULL, &err, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, "node 'loss' (NegativeLogLikelihoodLoss): reduction 'avg' is not "
                                 "one of none, sum, mean");
}

static void test_softmax_cross_entropy(void **state)
{
    (void)state;
    struct synap_err err = {0};
    int rc;
    /* row 0: -log_softmax([-1,-2,-3])[0]; row 1: -log_softmax([-.5,-1.5,-2.5])[2] */
    double l0 = -(-1 - (-1 + log(1 + exp(-1.0) + exp(-2.0))));
    double l1 = -(-2.5 - (-0.5 + log(1 + exp(-1.0) + exp(-2.0))));
    assert_float_equal(run_loss(SYNAP_OP_SOFTMAX_CROSS_ENTROPY_LOSS, "mean", 0, -1, NULL, &err,
                                &rc), (l0 + l1) / 2, 1e-6);
    assert_float_equal(run_loss(SYNAP_OP_SOFTMAX_CROSS_ENTROPY_LOSS, "sum", 1, -1, NULL, &err,
                                &rc), l0 + 3 * l1, 1e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nll),
        cmocka_unit_test(test_softmax_cross_entropy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
