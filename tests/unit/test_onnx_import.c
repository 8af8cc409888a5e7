/* ONNX importer: initializer encodings, external data, names, sorting, the
 * opset conversions, If inlining, folding, functions and every error path.
 * Models come from tests/data/onnx/gen_models.py (SYNAP_TEST_DATA=tests/data). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "onnx/internal.h"
#include "runtime/plan.h"

static char path_buf[4096];

static const char *data_path(const char *name)
{
    const char *dir = getenv("SYNAP_TEST_DATA");
    if (!dir) fail_msg("SYNAP_TEST_DATA is not set (tests/data of the source tree)");
    snprintf(path_buf, sizeof path_buf, "%s/onnx/%s", dir, name);
    return path_buf;
}

static struct synap_graph *load(const char *name, const struct synap_onnx_opts *o)
{
    struct synap_err err = {0};
    struct synap_graph *g = synap_onnx_import(data_path(name), o, &err);
    if (!g) fail_msg("%s", err.msg);
    return g;
}

/* Imports a model that must fail; checks the message is "<path>: want". */
static void expect_error(const char *name, const struct synap_onnx_opts *o, const char *want)
{
    struct synap_err err = {0};
    const char *path = data_path(name);
    struct synap_graph *g = synap_onnx_import(path, o, &err);
    if (g) {
        synap_graph_free(g);
        fail_msg("%s imported, expected: %s", name, want);
    }
    char expected[8192];
    snprintf(expected, sizeof expected, "%s: %s", path, want);
    assert_string_equal(err.msg, expected);
    assert_int_equal(err.code, SYNAP_EINPUT);
}

static const struct synap_tensor *tensor(const struct synap_graph *g, const char *name)
{
    uint32_t t = synap_graph_find_tensor(g, name);
    if (t == SYNAP_NONE) fail_msg("no tensor '%s'", name);
    return &g->tensors[t];
}

static const struct synap_node *node(const struct synap_graph *g, const char *name)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    fail_msg("no node '%s'", name);
    return NULL;
}

static void assert_dims(const struct synap_tensor *t, int rank, ...)
{
    va_list ap;
    va_start(ap, rank);
    assert_int_equal(t->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(t->dims[i], va_arg(ap, int));
    va_end(ap);
}

static void assert_i64s(const struct synap_graph *g, uint32_t t, size_t n, const int64_t *want)
{
    assert_true(t < g->ntensors);
    const struct synap_tensor *ts = &g->tensors[t];
    assert_non_null(ts->data);
    assert_int_equal(ts->dtype, SYNAP_DTYPE_INT64);
    assert_int_equal(ts->nbytes, n * 8);
    assert_memory_equal(ts->data, want, n * 8);
}

/* Runs a single-input graph; returns output k (borrowed from the plan). */
static struct synap_plan *run(const struct synap_graph *g, const float *x)
{
    struct synap_err err = {0};
    struct synap_plan_opts po = {.nthreads = 1};
    struct synap_plan *p = synap_plan_new(g, &po, &err);
    if (!p) fail_msg("%s", err.msg);
    struct synap_value *in = synap_plan_input(p, 0);
    memcpy(in->data, x, (size_t)synap_value_nelem(in) * sizeof(float));
    if (synap_plan_run(p, &err) < 0) fail_msg("%s", err.msg);
    return p;
}

static void assert_close(const float *got, const float *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol + tol * fabs(want[i])))
            fail_msg("element %zu: got %.9g, want %.9g", i, got[i], want[i]);
}

/* ---- the op table -------------------------------------------------------- */
static void test_table_sorted(void **state)
{
    (void)state;
    assert_true(onnx_op_table_len > 100);
    for (size_t i = 0; i < onnx_op_table_len; i++) {
        assert_true((unsigned)onnx_op_table[i].op < SYNAP_OP_COUNT);
        if (i && strcmp(onnx_op_table[i - 1].name, onnx_op_table[i].name) >= 0)
            fail_msg("table not sorted at '%s'", onnx_op_table[i].name);
        assert_ptr_equal(onnx_op_find(onnx_op_table[i].name), &onnx_op_table[i]);
    }
    assert_int_equal(onnx_op_find("Conv")->op, SYNAP_OP_CONV);
    assert_int_equal(onnx_op_find("Scatter")->op, SYNAP_OP_SCATTER_ELEMENTS);
    assert_null(onnx_op_find("Loop"));
    assert_null(onnx_op_find("conv"));
}

/* ---- initializers ------------------------------------------------------------ */
static void test_initializers(void **state)
{
    (void)state;
    struct synap_graph *g = load("initializers.onnx", NULL);
    const float w[4] = {1.5f, -2.0f, 3.25f, 0.0f};
    const struct synap_tensor *raw = tensor(g, "w_raw"), *typed = tensor(g, "w_typed");
    assert_int_equal(raw->dtype, SYNAP_DTYPE_FLOAT32);
    assert_memory_equal(raw->data, w, sizeof w);
    assert_memory_equal(typed->data, w, sizeof w);
    const uint16_t f16[4] = {0x3c00, 0xb800, 0x7bff, 0x0001};
    assert_int_equal(tensor(g, "w_f16")->dtype, SYNAP_DTYPE_FLOAT16);
    assert_memory_equal(tensor(g, "w_f16")->data, f16, sizeof f16);
    const int8_t i8[4] = {-128, -1, 0, 127};
    assert_memory_equal(tensor(g, "w_i8")->data, i8, sizeof i8);
    const int64_t i64[2] = {1, -((int64_t)1 << 40)};
    assert_memory_equal(tensor(g, "w_i64")->data, i64, sizeof i64);
    const double f64[2] = {0.1, -1e300};
    assert_memory_equal(tensor(g, "w_f64")->data, f64, sizeof f64);
    const uint8_t b[3] = {1, 0, 1};
    assert_int_equal(tensor(g, "w_bool")->dtype, SYNAP_DTYPE_BOOL);
    assert_memory_equal(tensor(g, "w_bool")->data, b, sizeof b);
    const uint32_t u32[2] = {7, 4000000000u};
    assert_memory_equal(tensor(g, "w_u32")->data, u32, sizeof u32);
    /* unused initializers are dropped */
    assert_int_equal(synap_graph_find_tensor(g, "w_unused"), SYNAP_NONE);
    assert_int_equal(g->ninputs, 1);
    assert_string_equal(g->tensors[g->inputs[0]].name, "x");
    synap_graph_free(g);
}

static void test_external_data(void **state)
{
    (void)state;
    struct synap_graph *g = load("external.onnx", NULL);
    const float w[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
    assert_memory_equal(tensor(g, "w")->data, w, sizeof w);
    assert_dims(tensor(g, "w"), 2, 2, 3);
    synap_graph_free(g);
    expect_error("bad_external_abs.onnx", NULL,
                 "node 'add' (Add): tensor 'w': external data location '/etc/passwd' must be a "
                 "relative path inside the model's folder (no '..')");
    expect_error("bad_external_dotdot.onnx", NULL,
                 "node 'add' (Add): tensor 'w': external data location 'sub/../../external.bin' "
                 "must be a relative path inside the model's folder (no '..')");
    expect_error("bad_external_range.onnx", NULL,
                 "node 'add' (Add): tensor 'w': external data [32, +24) beyond the end of "
                 "'external.bin' (48 bytes)");
}

static void test_read_tensor_file(void **state)
{
    (void)state;
    struct synap_value v;
    char *name;
    struct synap_err err = {0};
    assert_int_equal(synap_onnx_read_tensor_file(data_path("tensor.pb"), &v, &name, &err), 0);
    assert_string_equal(name, "input_0");
    assert_int_equal(v.dtype, SYNAP_DTYPE_FLOAT32);
    assert_int_equal(v.rank, 2);
    assert_int_equal(v.dims[0], 2);
    assert_int_equal(v.dims[1], 3);
    const float want[6] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
    assert_memory_equal(v.data, want, sizeof want);
    free(v.data);
    free(name);
    assert_int_equal(synap_onnx_read_tensor_file(data_path("bad_lfs.onnx"), &v, NULL, &err), -1);
}

/* ---- names and order ---------------------------------------------------------- */
static void test_names_and_sorting(void **state)
{
    (void)state;
    struct synap_graph *g = load("unsorted.onnx", NULL);
    assert_int_equal(g->nnodes, 3);
    /* file order is Sigmoid, Neg, Relu: sorted by data flow, names kept */
    assert_string_equal(g->nodes[0].name, "conv1.relu");
    assert_int_equal(g->nodes[0].op, SYNAP_OP_RELU);
    assert_string_equal(g->nodes[1].name, "my neg/1");
    assert_int_equal(g->nodes[1].op, SYNAP_OP_NEG);
    /* the unnamed node takes its output's name */
    assert_string_equal(g->nodes[2].name, "y");
    assert_int_equal(g->nodes[2].op, SYNAP_OP_SIGMOID);
    assert_string_equal(g->tensors[g->nodes[1].outputs[0]].name, "t2");
    assert_string_equal(g->tensors[g->outputs[0]].name, "y");
    synap_graph_free(g);
    expect_error("cycle.onnx", NULL, "graph has a cycle through node 'loop_add' (Add)");
}

/* ---- opset conversions ------------------------------------------------------------- */
static void test_legacy_opset6(void **state)
{
    (void)state;
    struct synap_graph *g = load("legacy6.onnx", NULL);
    static const enum synap_op ops[] = {SYNAP_OP_ADD,        SYNAP_OP_BATCH_NORMALIZATION,
                                        SYNAP_OP_PRELU,      SYNAP_OP_RESHAPE,
                                        SYNAP_OP_SOFTMAX,    SYNAP_OP_RESHAPE,
                                        SYNAP_OP_IDENTITY,   SYNAP_OP_PAD,
                                        SYNAP_OP_CLIP,       SYNAP_OP_SLICE,
                                        SYNAP_OP_UNSQUEEZE,  SYNAP_OP_SQUEEZE,
                                        SYNAP_OP_REDUCE_SUM, SYNAP_OP_SPLIT,
                                        SYNAP_OP_TOP_K};
    assert_int_equal(g->nnodes, sizeof ops / sizeof ops[0]);
    for (size_t i = 0; i < g->nnodes; i++)
        assert_int_equal(g->nodes[i].op, ops[i]);
    /* broadcast=1, axis=1: bias [3] aligned at dim 1 becomes [3, 1] */
    const struct synap_node *n = node(g, "add_axis");
    assert_dims(&g->tensors[n->inputs[1]], 2, 3, 1);
    assert_null(synap_node_attr(n, "broadcast"));
    n = node(g, "bn");
    assert_int_equal(n->noutputs, 1);
    assert_null(synap_node_attr(n, "is_test"));
    assert_null(synap_node_attr(n, "momentum"));
    assert_dims(&g->tensors[node(g, "prelu")->inputs[1]], 2, 3, 1);
    /* Softmax-1 on [2,3,4] at axis 1: rows of 12 */
    n = node(g, "softmax");
    assert_int_equal(synap_attr_int(n, "axis", -99), 1);
    assert_dims(&g->tensors[n->inputs[0]], 2, 2, 12);
    n = node(g, "pad");
    assert_i64s(g, n->inputs[1], 6, (const int64_t[]){0, 0, 1, 0, 0, 2});
    assert_int_equal(n->ninputs, 3);
    assert_true(*(const float *)g->tensors[n->inputs[2]].data == 0.5f);
    n = node(g, "clip");
    assert_true(*(const float *)g->tensors[n->inputs[1]].data == 0.05f);
    assert_true(*(const float *)g->tensors[n->inputs[2]].data == 0.4f);
    n = node(g, "slice");
    assert_i64s(g, n->inputs[1], 2, (const int64_t[]){1, 0});
    assert_i64s(g, n->inputs[2], 2, (const int64_t[]){3, 6});
    assert_i64s(g, n->inputs[3], 2, (const int64_t[]){1, 2});
    assert_i64s(g, node(g, "unsqueeze")->inputs[1], 1, (const int64_t[]){0});
    assert_i64s(g, node(g, "squeeze")->inputs[1], 1, (const int64_t[]){0});
    assert_i64s(g, node(g, "reducesum")->inputs[1], 1, (const int64_t[]){1});
    assert_i64s(g, node(g, "split")->inputs[1], 2, (const int64_t[]){2, 4});
    assert_i64s(g, node(g, "topk")->inputs[1], 1, (const int64_t[]){2});
    /* Dropout's mask: all true, a constant */
    const struct synap_tensor *mask = tensor(g, "mask");
    assert_int_equal(mask->dtype, SYNAP_DTYPE_BOOL);
    assert_dims(mask, 3, 2, 3, 4);
    for (size_t i = 0; i < 24; i++)
        assert_int_equal(((const uint8_t *)mask->data)[i], 1);

    /* and the numbers: numpy reference from gen_models.py, float32 */
    static const float x[24] = {
        -0.8990917801856995f, -2.4867806434631348f,  0.913251519203186f,    1.1270637512207031f,
        -1.514093279838562f,  1.6392910480499268f,   -0.4298936128616333f,  2.6312806606292725f,
        0.6018222570419312f,  -0.33588162064552307f, 1.2377378940582275f,   0.11112816631793976f,
        0.12915125489234924f, 0.07612761110067368f,  -0.15512815117835999f, 0.6342253684997559f,
        0.8106549978256226f,  0.35480859875679016f,  1.8125903606414795f,   -1.356475830078125f,
        -0.4636319577693939f, 0.8246538639068604f,   -1.1764315366744995f,  1.5644896030426025f};
    static const float tv[4] = {0.800000011920929f, 0.32514700293540955f, 0.800000011920929f,
                                0.45000001788139343f};
    static const int64_t ti[4] = {3, 1, 3, 2};
    static const float s0[4] = {0.800000011920929f, 0.19567851722240448f, 0.800000011920929f,
                                0.10683009028434753f};
    struct synap_plan *p = run(g, x);
    assert_close(synap_plan_output(p, 0)->data, tv, 4, 1e-5);
    assert_memory_equal(synap_plan_output(p, 1)->data, ti, sizeof ti);
    assert_close(synap_plan_output(p, 2)->data, s0, 4, 1e-5);
    synap_plan_free(p);
    synap_graph_free(g);
}

static void check_resize(const char *model, const char *mode, const float *want)
{
    struct synap_graph *g = load(model, NULL);
    assert_int_equal(g->nnodes, 1);
    const struct synap_node *n = &g->nodes[0];
    assert_int_equal(n->op, SYNAP_OP_RESIZE);
    assert_int_equal(n->ninputs, 3);
    assert_int_equal(n->inputs[1], SYNAP_NONE);
    const float scales[4] = {1, 1, 2, 3};
    assert_memory_equal(g->tensors[n->inputs[2]].data, scales, sizeof scales);
    assert_string_equal(synap_attr_string(n, "mode", ""), mode);
    assert_string_equal(synap_attr_string(n, "coordinate_transformation_mode", ""), "asymmetric");
    if (!strcmp(mode, "nearest"))
        assert_string_equal(synap_attr_string(n, "nearest_mode", ""), "floor");
    assert_dims(&g->tensors[g->outputs[0]], 4, 1, 1, 4, 6);
    const float x[4] = {1, 2, 3, 4};
    struct synap_plan *p = run(g, x);
    assert_close(synap_plan_output(p, 0)->data, want, 24, 1e-5);
    synap_plan_free(p);
    synap_graph_free(g);
}

static void test_upsample_resize10(void **state)
{
    (void)state;
    static const float nearest[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                      3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    /* asymmetric: source coordinate = dst / scale, clamped at the edge */
    static const float linear[24] = {
        1, 4.f / 3,  5.f / 3,  2, 2, 2, 2, 7.f / 3,  8.f / 3,  3, 3, 3,
        3, 10.f / 3, 11.f / 3, 4, 4, 4, 3, 10.f / 3, 11.f / 3, 4, 4, 4};
    check_resize("upsample7.onnx", "nearest", nearest);
    check_resize("upsample9.onnx", "linear", linear);
    check_resize("resize10.onnx", "nearest", nearest);
}

static void test_opset18(void **state)
{
    (void)state;
    struct synap_graph *g = load("opset18.onnx", NULL);
    const struct synap_node *n = node(g, "rmean");
    const int64_t *axes;
    assert_int_equal(n->ninputs, 1);
    assert_int_equal(synap_attr_ints(n, "axes", &axes), 1);
    assert_int_equal(axes[0], 1);
    n = node(g, "rmax");
    assert_int_equal(n->ninputs, 1);
    assert_null(synap_node_attr(n, "axes"));
    assert_null(synap_node_attr(n, "noop_with_empty_axes"));
    n = node(g, "split"); /* num_outputs=2 over 5: 3 + 2 */
    assert_null(synap_node_attr(n, "num_outputs"));
    assert_i64s(g, n->inputs[1], 2, (const int64_t[]){3, 2});
    assert_dims(tensor(g, "p1"), 3, 2, 3, 2);
    n = node(g, "pad"); /* axes [2] -> full-rank pads */
    assert_int_equal(n->ninputs, 2);
    assert_i64s(g, n->inputs[1], 6, (const int64_t[]){0, 0, 1, 0, 0, 2});
    assert_dims(tensor(g, "pd"), 3, 2, 3, 8);
    synap_graph_free(g);
}

/* ---- If, folding, functions ------------------------------------------------------- */
static void test_if_inlined(void **state)
{
    (void)state;
    /* the condition folds (Shape -> Gather -> Equal); the else branch holds a
     * Loop that must not be reported because it is not taken */
    struct synap_graph *g = load("if_inline.onnx", NULL);
    assert_int_equal(g->nnodes, 2);
    assert_string_equal(g->nodes[0].name, "then_add");
    assert_int_equal(g->nodes[0].op, SYNAP_OP_ADD);
    assert_string_equal(g->tensors[g->nodes[0].inputs[0]].name, "x"); /* outer scope */
    assert_string_equal(g->nodes[1].name, "the_if");
    assert_string_equal(g->tensors[g->outputs[0]].name, "y");
    synap_graph_free(g);

    expect_error("if_input.onnx", NULL,
                 "node 'the_if' (If): condition 'c' is not constant after folding; bind the "
                 "inputs it depends on with --input-value");
    uint8_t yes = 1, no = 0;
    struct synap_onnx_value v = {.name = "c", .value = {.dtype = SYNAP_DTYPE_BOOL, .data = &yes}};
    struct synap_onnx_opts o = {.values = &v, .nvalues = 1};
    g = load("if_input.onnx", &o);
    assert_int_equal(g->ninputs, 1); /* 'c' became a constant */
    node(g, "then_add");
    synap_graph_free(g);
    v.value.data = &no;
    expect_error("if_input.onnx", &o,
                 "node 'the_if' (If): 1 unsupported op: node 'never_loop' (Loop)");
}

static void test_shape_chain_folded(void **state)
{
    (void)state;
    struct synap_graph *g = load("shape_chain.onnx", NULL);
    assert_int_equal(g->nnodes, 1);
    const struct synap_node *n = &g->nodes[0];
    assert_int_equal(n->op, SYNAP_OP_RESHAPE);
    assert_string_equal(n->name, "Reshape_4");
    assert_i64s(g, n->inputs[1], 2, (const int64_t[]){1, -1});
    for (size_t i = 0; i < g->nnodes; i++)
        assert_int_not_equal(g->nodes[i].op, SYNAP_OP_SHAPE);
    assert_dims(tensor(g, "y"), 2, 1, 48);
    synap_graph_free(g);
}

static void test_function_inlined(void **state)
{
    (void)state;
    struct synap_graph *g = load("function.onnx", NULL);
    assert_int_equal(g->nnodes, 2);
    assert_string_equal(g->nodes[0].name, "call/t");
    assert_string_equal(g->nodes[1].name, "call/out");
    /* alpha=1.5 reached the body's Constant through ref_attr_name */
    const float x[3] = {1, 2, 3}, want[3] = {3, 6, 9};
    struct synap_plan *p = run(g, x);
    assert_close(synap_plan_output(p, 0)->data, want, 3, 0);
    synap_plan_free(p);
    synap_graph_free(g);
}

/* ---- errors -------------------------------------------------------------------------- */
static void test_unsupported_listed(void **state)
{
    (void)state;
    expect_error("unsupported.onnx", NULL,
                 "3 unsupported ops: node 'foo' (FooBar), node 'fc' (com.microsoft.FusedConv), "
                 "node 'y' (Unique)");
}

static void test_dynamic_dims(void **state)
{
    (void)state;
    expect_error("dynamic.onnx", NULL,
                 "input 'x': dimension 2 is dynamic ('H'); fix it with --input-shape x=1,3,H,8");
    struct synap_onnx_shape s = {.name = "x", .rank = 4, .dims = {2, 3, 5, 8}};
    struct synap_onnx_opts o = {.shapes = &s, .nshapes = 1};
    struct synap_graph *g = load("dynamic.onnx", &o);
    assert_dims(tensor(g, "x"), 4, 2, 3, 5, 8);
    assert_dims(tensor(g, "y"), 4, 2, 3, 5, 8);
    synap_graph_free(g);
    s.rank = 3;
    expect_error("dynamic.onnx", &o, "input 'x': --input-shape gives 3 dimensions, the model 4");
    s.name = "nope";
    expect_error("dynamic.onnx", &o, "--input-shape: the model has no input 'nope'");
    /* only the batch is dynamic: it becomes 1 */
    g = load("dynamic_batch.onnx", NULL);
    assert_dims(tensor(g, "x"), 2, 1, 3);
    synap_graph_free(g);
}

static void test_bad_models(void **state)
{
    (void)state;
    expect_error("bad_opset.onnx", NULL, "unsupported opset 19 (supported: 6-18)");
    expect_error("bad_opset5.onnx", NULL, "unsupported opset 5 (supported: 6-18)");
    expect_error("bad_lfs.onnx", NULL,
                 "is a git-lfs pointer file, not the model: run git lfs pull");
    expect_error("bad_png.onnx", NULL, "not an ONNX model (protobuf parse failed)");
    expect_error("bad_random.onnx", NULL, "not an ONNX model (protobuf parse failed)");
    expect_error("bad_empty.onnx", NULL, "empty graph (0 nodes, 1 outputs)");
    expect_error("bad_overflow.onnx", NULL,
                 "input 'x': shape [1099511627776, 1099511627776, 1099511627776] has too many "
                 "elements");
    expect_error("bad_overflow_init.onnx", NULL,
                 "node 'add' (Add): tensor 'w': shape [1099511627776, 1099511627776, "
                 "1099511627776] has too many elements");
    expect_error("bad_size.onnx", NULL,
                 "node 'add' (Add): tensor 'w': raw data has 12 bytes, shape [4] needs 16");
    expect_error("bad_string.onnx", NULL,
                 "node 'id' (Identity): tensor 'w': string tensors are not supported");
    expect_error("bad_gather.onnx", NULL,
                 "node 'gather' (Gather): input 1: index 5 is out of range [-3, 2]");
    expect_error("bad_axis.onnx", NULL, "node 'softmax' (Softmax): axis 5 out of range for rank 2");
    struct synap_err err = {0};
    assert_null(synap_onnx_import(data_path("no_such_model.onnx"), NULL, &err));
    assert_non_null(strstr(err.msg, "no_such_model.onnx: cannot open"));
}

/* Every prefix and every single-byte corruption of a real model: an error
 * naming the file or a valid graph, never a crash (run under ASan/UBSan). */
static void test_truncated_and_corrupted(void **state)
{
    (void)state;
    const char *models[] = {"legacy6.onnx", "if_inline.onnx", "function.onnx"};
    char tmp[] = "/tmp/synap-onnx-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    close(fd);
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        FILE *f = fopen(data_path(models[m]), "rb");
        assert_non_null(f);
        uint8_t buf[8192];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (size_t len = 0; len < 2 * n; len++) {
            size_t cut = len < n ? len : n;
            uint8_t save = 0;
            if (len >= n) { /* second half: full length, one byte flipped */
                save = buf[len - n];
                buf[len - n] ^= 0xA5;
            }
            f = fopen(tmp, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(buf, 1, cut, f), cut);
            fclose(f);
            struct synap_err err = {0};
            struct synap_graph *g = synap_onnx_import(tmp, NULL, &err);
            if (g)
                synap_graph_free(g);
            else if (strncmp(err.msg, tmp, strlen(tmp)) || !strchr(err.msg, ':') ||
                     strchr(err.msg, '\n'))
                fail_msg("%s, %zu: bad message '%s'", models[m], len, err.msg);
            if (len >= n) buf[len - n] = save;
        }
    }
    unlink(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted),
        cmocka_unit_test(test_initializers),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_read_tensor_file),
        cmocka_unit_test(test_names_and_sorting),
        cmocka_unit_test(test_legacy_opset6),
        cmocka_unit_test(test_upsample_resize10),
        cmocka_unit_test(test_opset18),
        cmocka_unit_test(test_if_inlined),
        cmocka_unit_test(test_shape_chain_folded),
        cmocka_unit_test(test_function_inlined),
        cmocka_unit_test(test_unsupported_listed),
        cmocka_unit_test(test_dynamic_dims),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_truncated_and_corrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
