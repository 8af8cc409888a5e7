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

#include "kernels/kernel.h"

/* ---- harness: one node, run through its family's infer and run ---------- */

struct kt {
    struct synap_graph *g;
    struct synap_value in[8], out[8];
    size_t nin, nout;
    unsigned runtime_mask; /* inputs whose data infer must not see */
    struct synap_err err;
    void *scratch;
    size_t scratch_nbytes;
};

static struct synap_node *kt_new(struct kt *t, enum synap_op op, size_t nin, size_t nout)
{
    memset(t, 0, sizeof *t);
    t->g = synap_graph_new();
    t->nin = nin;
    t->nout = nout;
    t->runtime_mask = 1;
    return synap_graph_add_node(t->g, "n", op, nin, nout);
}

static void kt_in(struct kt *t, size_t i, enum synap_dtype dt, int rank, const int64_t *dims,
                  const void *data)
{
    t->in[i].dtype = dt;
    t->in[i].rank = rank;
    if (rank > 0) memcpy(t->in[i].dims, dims, (size_t)rank * sizeof *dims);
    t->in[i].data = (void *)data;
}

static struct synap_kctx kt_ctx(struct kt *t, const struct synap_value *in)
{
    struct synap_kctx c = {.graph = t->g,
                           .node = &t->g->nodes[0],
                           .in = in,
                           .nin = t->nin,
                           .out = t->out,
                           .nout = t->nout,
                           .err = &t->err};
    return c;
}

static int kt_infer(struct kt *t)
{
    struct synap_value in[8];
    memcpy(in, t->in, sizeof in);
    for (size_t i = 0; i < t->nin; i++)
        if (t->runtime_mask & (1u << i)) in[i].data = NULL;
    struct synap_kctx c = kt_ctx(t, in);
    const struct synap_kernel *k = synap_kernel_get(t->g->nodes[0].op);
    int rc = k->infer(&c);
    t->scratch_nbytes = c.scratch_nbytes;
    return rc;
}

/* Infers, allocates the outputs and runs on `pool` (may be NULL). */
static int kt_run(struct kt *t, struct synap_pool *pool)
{
    if (kt_infer(t) < 0) return -1;
    for (size_t j = 0; j < t->nout; j++) {
        size_t n = (size_t)synap_value_nelem(&t->out[j]) * synap_dtype_size(t->out[j].dtype);
        t->out[j].data = calloc(1, n ? n : 1);
    }
    free(t->scratch);
    t->scratch = t->scratch_nbytes ? synap_xaligned(t->scratch_nbytes) : NULL;
    struct synap_kctx c = kt_ctx(t, t->in);
    c.scratch = t->scratch;
    c.scratch_nbytes = t->scratch_nbytes;
    c.pool = pool;
    return synap_kernel_get(t->g->nodes[0].op)->run(&c);
}

static void kt_free(struct kt *t)
{
    for (size_t j = 0; j < t->nout; j++)
        free(t->out[j].data);
    free(t->scratch);
    synap_graph_free(t->g);
}

static void assert_dims(const struct synap_value *v, int rank, const int64_t *dims)
{
    assert_int_equal(v->rank, rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(v->dims[d], dims[d]);
}

/* ---- Reshape ----------------------------------------------------------------- */

static int reshape_case(struct kt *t, int rank, const int64_t *xd, const void *x, int n,
                        const int64_t *shape, int allowzero)
{
    struct synap_node *nd = kt_new(t, SYNAP_OP_RESHAPE, 2, 1);
    if (allowzero) synap_node_set_int(t->g, nd, "allowzero", 1);
    kt_in(t, 0, SYNAP_DTYPE_FLOAT32, rank, xd, x);
    kt_in(t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){n}, shape);
    return kt_run(t, NULL);
}

static void test_reshape(void **state)
{
    (void)state;
    const int64_t xd[] = {2, 3, 4};
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    struct kt t;
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){4, -1}, 0), 0);
    assert_dims(&t.out[0], 2, (const int64_t[]){4, 6});
    assert_memory_equal(t.out[0].data, x, sizeof x);
    kt_free(&t);
    /* 0 copies the input dim. */
    assert_int_equal(reshape_case(&t, 3, xd, x, 3, (const int64_t[]){0, -1, 2}, 0), 0);
    assert_dims(&t.out[0], 3, (const int64_t[]){2, 6, 2});
    kt_free(&t);
    /* To a scalar and back. */
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){1, 1, 1}, x, 0, xd /* any non-NULL */, 0), 0);
    assert_dims(&t.out[0], 0, NULL);
    assert_true(*(float *)t.out[0].data == 0);
    kt_free(&t);
    /* allowzero=1: 0 is a real zero (ONNX test_reshape_allowzero_reordered). */
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){0, 3, 4}, NULL, 3, (const int64_t[]){3, 4, 0}, 1), 0);
    assert_dims(&t.out[0], 3, (const int64_t[]){3, 4, 0});
    kt_free(&t);
    /* int32 shape input. */
    struct synap_node *nd = kt_new(&t, SYNAP_OP_RESHAPE, 2, 1);
    (void)nd;
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    kt_in(&t, 1, SYNAP_DTYPE_INT32, 1, (const int64_t[]){2}, (const int32_t[]){-1, 8});
    assert_int_equal(kt_run(&t, NULL), 0);
    assert_dims(&t.out[0], 2, (const int64_t[]){3, 8});
    kt_free(&t);

    /* Errors, with their messages. */
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){-1, -1}, 0), -1);
    assert_string_equal(t.err.msg, "shape: more than one -1 (at 0 and 1)");
    kt_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){5, 5}, 0), -1);
    assert_string_equal(t.err.msg,
                        "cannot reshape [2, 3, 4] (24 elements) into [5, 5] (25 elements)");
    kt_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){5, -1}, 0), -1);
    assert_string_equal(t.err.msg,
                        "shape: cannot reshape 24 elements with the other dims multiplying to 5");
    kt_free(&t);
    assert_int_equal(reshape_case(&t, 3, xd, x, 2, (const int64_t[]){-2, 12}, 0), -1);
    assert_string_equal(t.err.msg, "shape: invalid dim -2 at index 0");
    kt_free(&t);
    assert_int_equal(reshape_case(&t, 1, (const int64_t[]){24}, x, 2, (const int64_t[]){6, 0}, 0),
                     -1);
    assert_string_equal(t.err.msg,
                        "shape: 0 at index 1 copies an input dim, but the input has rank 1");
    kt_free(&t);
    assert_int_equal(
        reshape_case(&t, 3, (const int64_t[]){0, 3, 4}, NULL, 2, (const int64_t[]){0, -1}, 1), -1);
    assert_string_equal(t.err.msg, "shape: -1 is ambiguous when the shape has a 0 dim");
    kt_free(&t);
    /* A shape computed at run time is refused at inference. */
    kt_new(&t, SYNAP_OP_RESHAPE, 2, 1);
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, xd, x);
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){24});
    t.runtime_mask = 3;
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "input 1 (shape) must be a constant (the graph must have "
                                   "static shapes)");
    kt_free(&t);
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
        struct kt t;
        struct synap_node *n = kt_new(&t, SYNAP_OP_FLATTEN, 1, 1);
        synap_node_set_int(t.g, n, "axis", cases[i].axis);
        kt_in(&t, 0, SYNAP_DTYPE_UINT8, 4, xd, NULL);
        assert_int_equal(kt_infer(&t), 0);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_UINT8);
        assert_dims(&t.out[0], 2, (const int64_t[]){cases[i].a, cases[i].b});
        kt_free(&t);
    }
    struct kt t;
    kt_new(&t, SYNAP_OP_FLATTEN, 1, 1); /* default axis 1 */
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    assert_int_equal(kt_infer(&t), 0);
    assert_dims(&t.out[0], 2, (const int64_t[]){2, 60});
    synap_node_set_int(t.g, &t.g->nodes[0], "axis", 5);
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 5 out of range for rank 4");
    kt_free(&t);
}

static void test_squeeze(void **state)
{
    (void)state;
    const int64_t xd[] = {1, 3, 1, 5};
    struct kt t;
    kt_new(&t, SYNAP_OP_SQUEEZE, 1, 1); /* no axes: every 1 */
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    assert_int_equal(kt_infer(&t), 0);
    assert_dims(&t.out[0], 2, (const int64_t[]){3, 5});
    kt_free(&t);

    kt_new(&t, SYNAP_OP_SQUEEZE, 2, 1);
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, xd, NULL);
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){-2});
    assert_int_equal(kt_infer(&t), 0);
    assert_dims(&t.out[0], 3, (const int64_t[]){1, 3, 5});
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){1});
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "cannot squeeze axis 1 of size 3");
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){0, -4});
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "axes: axis 0 repeated");
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){4});
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 4 out of range for rank 4");
    kt_free(&t);
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
        struct kt t;
        kt_new(&t, SYNAP_OP_UNSQUEEZE, 2, 1);
        kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, xd, x);
        kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){cases[i].n}, cases[i].axes);
        assert_int_equal(kt_run(&t, NULL), 0);
        assert_dims(&t.out[0], cases[i].rank, cases[i].dims);
        assert_memory_equal(t.out[0].data, x, sizeof x);
        kt_free(&t);
    }
    struct kt t;
    kt_new(&t, SYNAP_OP_UNSQUEEZE, 2, 1);
    kt_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, xd, NULL);
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){2}, (const int64_t[]){1, -3});
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "axes: axis 1 repeated");
    kt_in(&t, 1, SYNAP_DTYPE_INT64, 1, (const int64_t[]){1}, (const int64_t[]){3});
    assert_int_equal(kt_infer(&t), -1);
    assert_string_equal(t.err.msg, "axis 3 out of range for rank 3");
    kt_free(&t);
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
        struct kt t;
        struct synap_node *n = kt_new(&t, SYNAP_OP_SHAPE, 1, 1);
        if (cases[i].has_start) synap_node_set_int(t.g, n, "start", cases[i].start);
        if (cases[i].has_end) synap_node_set_int(t.g, n, "end", cases[i].end);
        kt_in(&t, 0, SYNAP_DTYPE_FLOAT16, 4, xd, NULL);
        assert_int_equal(kt_run(&t, NULL), 0);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
        assert_dims(&t.out[0], 1, (const int64_t[]){cases[i].n});
        if (cases[i].n) assert_memory_equal(t.out[0].data, cases[i].want, (size_t)cases[i].n * 8);
        kt_free(&t);
    }
    struct kt t;
    kt_new(&t, SYNAP_OP_SIZE, 1, 1);
    kt_in(&t, 0, SYNAP_DTYPE_BOOL, 4, xd, NULL);
    assert_int_equal(kt_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
    assert_int_equal(t.out[0].rank, 0);
    assert_int_equal(*(int64_t *)t.out[0].data, 120);
    kt_free(&t);
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
