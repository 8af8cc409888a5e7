/* The interpreter: plan once / run many, observers, single-node runs,
 * constant folding through synap_graph_infer, and thread-count independence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/plan.h"

#include "graph_harness.h"

/* y = Relu(x) + c; z = Conv(y, w) */
static struct synap_graph *small_net(void)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 2, 5, 5}, ws[] = {3, 2, 3, 3}, cs[] = {1, 2, 1, 1};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    float c[2] = {0.5f, -0.25f};
    uint32_t ct = synap_graph_add_const(g, "c", SYNAP_DTYPE_FLOAT32, 4, cs, c, sizeof c);
    float w[54];
    for (int i = 0; i < 54; i++) w[i] = (float)((i * 7) % 11 - 5) / 8.0f;
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, ws, w, sizeof w);
    uint32_t r = synap_graph_add_tensor(g, "r", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t z = synap_graph_add_tensor(g, "z", SYNAP_DTYPE_FLOAT32, 0, NULL);
    struct synap_node *n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = x, n->outputs[0] = r;
    n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = r, n->inputs[1] = ct, n->outputs[0] = y;
    n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = y, n->inputs[1] = wt, n->outputs[0] = z;
    int64_t pads[] = {1, 1, 1, 1};
    synap_node_set_ints(g, n, "pads", pads, 4);
    gh_set_io(g, x, z);
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, true, &err), 0);
    return g;
}

static float reference_z(const float *x, int co, int oy, int ox)
{
    float s = 0;
    for (int ci = 0; ci < 2; ci++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                int iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
                float v = x[(ci * 5 + iy) * 5 + ix];
                v = (v > 0 ? v : 0) + (ci ? -0.25f : 0.5f);
                int wi = ((co * 2 + ci) * 3 + ky) * 3 + kx;
                s += v * (float)((wi * 7) % 11 - 5) / 8.0f;
            }
    return s;
}

struct seen {
    int count[8];
};

static void observe(void *ctx, const struct synap_graph *g, size_t node, size_t out,
                    const struct synap_value *v)
{
    (void)g, (void)out, (void)v;
    ((struct seen *)ctx)->count[node]++;
}

static void test_plan_runs_and_observes(void **state)
{
    (void)state;
    struct synap_graph *g = small_net();
    char s[64];
    assert_string_equal(synap_shape_str(g->tensors[g->outputs[0]].rank,
                                        g->tensors[g->outputs[0]].dims, s, sizeof s),
                        "[1, 3, 5, 5]");
    struct seen seen = {0};
    struct synap_plan_opts o = {.nthreads = 2, .observer = observe, .observer_ctx = &seen};
    struct synap_err err = {0};
    struct synap_plan *p = synap_plan_new(g, &o, &err);
    assert_non_null(p);
    float *x = synap_plan_input(p, 0)->data;
    for (int i = 0; i < 50; i++) x[i] = (float)(i % 9) - 4.0f;
    for (int rep = 0; rep < 3; rep++) assert_int_equal(synap_plan_run(p, &err), 0);
    assert_int_equal(seen.count[0], 3);
    assert_int_equal(seen.count[2], 3);
    const float *z = synap_plan_output(p, 0)->data;
    for (int co = 0; co < 3; co++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 5; ox++)
                assert_float_equal(z[(co * 5 + oy) * 5 + ox], reference_z(x, co, oy, ox), 1e-5);

    /* one layer alone: feed Relu's output tensor by hand and run "add" */
    uint32_t r = g->nodes[1].inputs[0];
    float *rv = synap_plan_tensor_mut(p, r)->data;
    for (int i = 0; i < 50; i++) rv[i] = 1.0f;
    assert_int_equal(synap_plan_run_node(p, 1, &err), 0);
    const float *y = synap_plan_tensor(p, g->nodes[1].outputs[0])->data;
    assert_float_equal(y[0], 1.5f, 0);
    assert_float_equal(y[49], 0.75f, 0);
    assert_int_equal(synap_plan_run_node(p, 99, &err), -1);
    assert_string_equal(err.msg, "node index 99 out of range");
    synap_plan_free(p);
    synap_graph_free(g);
}

static void test_thread_count_does_not_change_bytes(void **state)
{
    (void)state;
    /* a conv big enough to be split across threads */
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 16, 40, 40}, ws[] = {32, 16, 3, 3};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    float *w = synap_xmalloc(32 * 16 * 9 * sizeof(float));
    for (int i = 0; i < 32 * 16 * 9; i++) w[i] = (float)((i * 37) % 101 - 50) / 97.0f;
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, ws, w, 32 * 16 * 9 * 4);
    free(w);
    uint32_t z = synap_graph_add_tensor(g, "z", SYNAP_DTYPE_FLOAT32, 0, NULL);
    struct synap_node *n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = x, n->inputs[1] = wt, n->outputs[0] = z;
    gh_set_io(g, x, z);
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, true, &err), 0);
    float *ref = NULL;
    size_t nbytes = 32 * 38 * 38 * sizeof(float);
    for (int t = 1; t <= 3; t++) {
        struct synap_plan_opts o = {.nthreads = t};
        struct synap_plan *p = synap_plan_new(g, &o, &err);
        assert_non_null(p);
        float *xv = synap_plan_input(p, 0)->data;
        for (int i = 0; i < 16 * 40 * 40; i++) xv[i] = (float)((i * 13) % 29) / 7.0f - 2.0f;
        assert_int_equal(synap_plan_run(p, &err), 0);
        const float *out = synap_plan_output(p, 0)->data;
        if (!ref)
            ref = memcpy(synap_xmalloc(nbytes), out, nbytes);
        else
            assert_memory_equal(ref, out, nbytes);
        synap_plan_free(p);
    }
    free(ref);
    synap_graph_free(g);
}

static void test_constant_folding_removes_nodes(void **state)
{
    (void)state;
    /* Shape(x) -> Gather(2) is folded; Reshape uses the folded shape */
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {2, 3, 4};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 3, xs);
    uint32_t sh = synap_graph_add_tensor(g, "shape", SYNAP_DTYPE_INT64, 0, NULL);
    int64_t two = 2, one[] = {1};
    uint32_t idx = synap_graph_add_const(g, "idx", SYNAP_DTYPE_INT64, 1, one, &two, 8);
    uint32_t last = synap_graph_add_tensor(g, "last", SYNAP_DTYPE_INT64, 0, NULL);
    int64_t m1 = -1;
    uint32_t neg = synap_graph_add_const(g, "neg", SYNAP_DTYPE_INT64, 1, one, &m1, 8);
    uint32_t cat = synap_graph_add_tensor(g, "newshape", SYNAP_DTYPE_INT64, 0, NULL);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 0, NULL);
    struct synap_node *n = synap_graph_add_node(g, "shape", SYNAP_OP_SHAPE, 1, 1);
    n->inputs[0] = x, n->outputs[0] = sh;
    n = synap_graph_add_node(g, "gather", SYNAP_OP_GATHER, 2, 1);
    n->inputs[0] = sh, n->inputs[1] = idx, n->outputs[0] = last;
    n = synap_graph_add_node(g, "concat", SYNAP_OP_CONCAT, 2, 1);
    n->inputs[0] = neg, n->inputs[1] = last, n->outputs[0] = cat;
    synap_node_set_int(g, n, "axis", 0);
    n = synap_graph_add_node(g, "reshape", SYNAP_OP_RESHAPE, 2, 1);
    n->inputs[0] = x, n->inputs[1] = cat, n->outputs[0] = y;
    gh_set_io(g, x, y);
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, true, &err), 0);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0].op, SYNAP_OP_RESHAPE);
    const struct synap_tensor *out = &g->tensors[g->outputs[0]];
    assert_int_equal(out->rank, 2);
    assert_int_equal(out->dims[0], 6);
    assert_int_equal(out->dims[1], 4);
    assert_int_equal(synap_graph_verify(g, "t", &err), 0);
    synap_graph_free(g);
}

static void test_infer_error_names_node(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    int64_t a[] = {2, 3}, b[] = {4, 5};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, a);
    uint32_t w = synap_graph_add_tensor(g, "w", SYNAP_DTYPE_FLOAT32, 2, b);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 0, NULL);
    struct synap_node *n = synap_graph_add_node(g, "mm", SYNAP_OP_MATMUL, 2, 1);
    n->inputs[0] = x, n->inputs[1] = w, n->outputs[0] = y;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, true, &err), -1);
    assert_int_equal(strncmp(err.msg, "node 'mm' (MatMul): ", 20), 0);
    synap_graph_free(g);
}

static void test_memory_plan_offsets(void **state)
{
    (void)state;
    struct synap_graph *g = small_net();
    struct synap_err err = {0};
    /* r and y (50 floats each) share one arena; y must not overlap r while
     * "add" reads r, so they sit 256 bytes apart */
    int64_t *off = synap_xmalloc(g->ntensors * sizeof *off);
    for (size_t t = 0; t < g->ntensors; t++) off[t] = -1;
    off[g->nodes[0].outputs[0]] = 0;
    off[g->nodes[1].outputs[0]] = 256;
    struct synap_plan_opts o = {.nthreads = 1, .arena_offsets = off, .arena_nbytes = 512};
    struct synap_plan *p = synap_plan_new(g, &o, &err);
    assert_non_null(p);
    float *x = synap_plan_input(p, 0)->data;
    for (int i = 0; i < 50; i++) x[i] = (float)(i % 9) - 4.0f;
    assert_int_equal(synap_plan_run(p, &err), 0);
    const float *z = synap_plan_output(p, 0)->data;
    for (int co = 0; co < 3; co++)
        for (int k = 0; k < 25; k++)
            assert_float_equal(z[co * 25 + k], reference_z(x, co, k / 5, k % 5), 1e-5);
    /* both intermediates really live in the arena */
    const char *r = synap_plan_tensor(p, g->nodes[0].outputs[0])->data;
    const char *y = synap_plan_tensor(p, g->nodes[1].outputs[0])->data;
    assert_int_equal(y - r, 256);
    synap_plan_free(p);
    off[g->nodes[1].outputs[0]] = 320; /* 200 bytes from 320 overflow 512 */
    assert_null(synap_plan_new(g, &o, &err));
    assert_string_equal(err.msg, "memory plan: tensor 'y' at offset 320 (200 bytes) outside the "
                                 "512-byte arena or misaligned");
    free(off);
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_runs_and_observes),
        cmocka_unit_test(test_thread_count_does_not_change_bytes),
        cmocka_unit_test(test_constant_folding_removes_nodes),
        cmocka_unit_test(test_infer_error_names_node),
        cmocka_unit_test(test_memory_plan_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
