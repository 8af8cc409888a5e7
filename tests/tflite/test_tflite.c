/* TFLite import: golden vectors for the FlatBuffer reader (hand-assembled
 * buffers, every failure mode), the op tables' order, the layout pass on a
 * small graph (transposes removed, values unchanged), and, when the shared
 * models are present (SYNAP_SHARED or ../shared), the error messages for
 * quantized and custom-op models, every prefix of a truncated model, the
 * float16, sparse (DENSIFY), hybrid and custom-op models running, UltraFace RFB-320 against the
 * onnxruntime output of the same network exported to ONNX, float
 * UNIDIRECTIONAL_SEQUENCE_LSTM against numpy (tests/data/tflite_lstm), and
 * SVDF, float and integer, against numpy (tests/data/tflite_svdf), and the
 * integer LSTM bit-exactly against a transcription of TFLite's
 * (tests/data/tflite_lstm_int) and on the four shared integer LSTM models. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "image/image.h"
#include "runtime/plan.h"
#include "tflite/internal.h"
#include "util/npy.h"

/* ---- FlatBuffer reader goldens ------------------------------------------------ */

static void put16(uint8_t *b, size_t at, uint16_t v)
{
    b[at] = (uint8_t)v;
    b[at + 1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* root -> table at 20 (vtable at 8): field 0 u32 = 0xCAFE, field 1 -> int
 * vector [7, -1, 9] at 36, field 2 -> "hello" at 52, field 3 absent (the
 * vtable is one slot short), field 4 absent. */
#define GOLDEN_SIZE 64
static void golden(uint8_t *b)
{
    memset(b, 0, GOLDEN_SIZE);
    put32(b, 0, 20);
    memcpy(b + 4, "TEST", 4);
    put16(b, 8, 10);  /* vtable bytes: 4 + 3 slots */
    put16(b, 10, 16); /* table bytes */
    put16(b, 12, 4);
    put16(b, 14, 8);
    put16(b, 16, 12);
    put32(b, 20, 12); /* soffset: vtable = 20 - 12 */
    put32(b, 24, 0xCAFE);
    put32(b, 28, 36 - 28);
    put32(b, 32, 52 - 32);
    put32(b, 36, 3);
    put32(b, 40, 7);
    put32(b, 44, (uint32_t)-1);
    put32(b, 48, 9);
    put32(b, 52, 5);
    memcpy(b + 56, "hello", 6);
}

static void test_reader_golden(void **state)
{
    (void)state;
    /* at an odd address: every scalar read must be alignment-free */
    uint8_t *mem = malloc(GOLDEN_SIZE + 1), *b = mem + 1;
    golden(b);
    struct synap_err err = {0};
    struct fb_reader r;
    fb_init(&r, b, GOLDEN_SIZE, &err);
    assert_true(fb_has_identifier(&r, "TEST"));
    struct fb_table t = fb_root(&r);
    assert_int_equal(fb_u32(&r, &t, 0, 1), 0xCAFE);
    assert_int_equal(fb_i32(&r, &t, 3, -5), -5); /* beyond the vtable: default */
    assert_true(fb_f32(&r, &t, 4, 2.5f) == 2.5f);
    assert_true(fb_has(&r, &t, 0));
    assert_false(fb_has(&r, &t, 3));
    struct fb_vec v = fb_vector(&r, &t, 1, 4);
    assert_int_equal(v.len, 3);
    assert_int_equal(fb_vec_i32(&r, &v, 0), 7);
    assert_int_equal(fb_vec_i32(&r, &v, 1), -1);
    assert_int_equal(fb_vec_i32(&r, &v, 2), 9);
    uint32_t len;
    const char *s = fb_string(&r, &t, 2, &len);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_string_equal(s, "hello");
    /* absent sub-table: all defaults, no failure */
    struct fb_table none = fb_table(&r, &t, 4);
    assert_int_equal(fb_i32(&r, &none, 0, 42), 42);
    assert_int_equal(fb_vector(&r, &none, 1, 4).len, 0);
    assert_false(fb_failed(&r));
    /* reading past a vector's end fails the reader (sticky) */
    fb_vec_i32(&r, &v, 3);
    assert_true(fb_failed(&r));
    assert_non_null(strstr(err.msg, "element 3 of 3"));
    assert_int_equal(fb_u32(&r, &t, 0, 77), 77);
    free(mem);
}

/* Each damage gives a failed reader with a message, never a bad read. */
static int damaged(void (*damage)(uint8_t *), size_t size, const char *expect)
{
    uint8_t b[GOLDEN_SIZE];
    golden(b);
    damage(b);
    struct synap_err err = {0};
    struct fb_reader r;
    fb_init(&r, b, size, &err);
    struct fb_table t = fb_root(&r);
    fb_u32(&r, &t, 0, 0);
    struct fb_vec v = fb_vector(&r, &t, 1, 4);
    for (uint32_t i = 0; i < v.len; i++)
        fb_vec_i32(&r, &v, i);
    fb_string(&r, &t, 2, NULL);
    if (!fb_failed(&r)) return 0;
    if (expect && !strstr(err.msg, expect)) {
        print_error("message '%s' lacks '%s'\n", err.msg, expect);
        return 0;
    }
    return 1;
}

static void d_none(uint8_t *b)
{
    (void)b;
}
static void d_root(uint8_t *b)
{
    put32(b, 0, 1000);
}
static void d_vtable_outside(uint8_t *b)
{
    put32(b, 20, (uint32_t)-100); /* vtable = 120 */
}
static void d_vtable_negative(uint8_t *b)
{
    put32(b, 20, 1000); /* vtable = 20 - 1000 */
}
static void d_vtable_self(uint8_t *b)
{
    put32(b, 20, 0); /* the table is its own vtable: 0 bytes */
}
static void d_vtable_odd(uint8_t *b)
{
    put16(b, 8, 7);
}
static void d_table_size(uint8_t *b)
{
    put16(b, 10, 200);
}
static void d_field_outside_table(uint8_t *b)
{
    put16(b, 12, 14); /* field 0 at 14..17 of a 16-byte table */
}
static void d_vector_huge(uint8_t *b)
{
    put32(b, 36, 0xFFFFFFFFu);
}
static void d_vector_offset(uint8_t *b)
{
    put32(b, 28, 0x7FFFFFF0u);
}
static void d_vector_zero_offset(uint8_t *b)
{
    put32(b, 28, 0);
}
static void d_string_unterminated(uint8_t *b)
{
    b[61] = 'x';
    b[62] = 'y';
    b[63] = 'z';
    put32(b, 52, 8); /* runs to the last byte: no room for the NUL */
}

static void test_reader_damage(void **state)
{
    (void)state;
    assert_false(damaged(d_none, GOLDEN_SIZE, NULL));
    assert_true(damaged(d_none, 4, "too short"));
    assert_true(damaged(d_none, 22, "outside"));
    assert_true(damaged(d_none, 50, "past the end"));
    assert_true(damaged(d_root, GOLDEN_SIZE, "outside the file"));
    assert_true(damaged(d_vtable_outside, GOLDEN_SIZE, "vtable"));
    assert_true(damaged(d_vtable_negative, GOLDEN_SIZE, "vtable"));
    assert_true(damaged(d_vtable_self, GOLDEN_SIZE, "bad vtable"));
    assert_true(damaged(d_vtable_odd, GOLDEN_SIZE, "bad vtable"));
    assert_true(damaged(d_table_size, GOLDEN_SIZE, "past the end"));
    assert_true(damaged(d_field_outside_table, GOLDEN_SIZE, "outside the table"));
    assert_true(damaged(d_vector_huge, GOLDEN_SIZE, "run past the end"));
    assert_true(damaged(d_vector_offset, GOLDEN_SIZE, "outside the file"));
    assert_true(damaged(d_vector_zero_offset, GOLDEN_SIZE, "outside the file"));
    assert_true(damaged(d_string_unterminated, GOLDEN_SIZE, "NUL"));
}

/* ---- tables ------------------------------------------------------------------ */

static void test_tables_sorted(void **state)
{
    (void)state;
    for (size_t i = 1; i < tfl_op_table_len; i++)
        assert_true(tfl_op_table[i - 1].code < tfl_op_table[i].code);
    for (size_t i = 1; i < tfl_custom_table_len; i++)
        assert_true(strcmp(tfl_custom_table[i - 1].name, tfl_custom_table[i].name) < 0);
    for (size_t i = 0; i < tfl_op_table_len; i++) {
        assert_ptr_equal(tfl_op_find(tfl_op_table[i].code), &tfl_op_table[i]);
        assert_non_null(tfl_builtin_name(tfl_op_table[i].code));
    }
    assert_null(tfl_op_find(TFL_OP_CUSTOM));
    assert_null(tfl_op_find(-1));
    assert_string_equal(tfl_builtin_name(TFL_OP_CONV_2D), "CONV_2D");
    assert_string_equal(tfl_builtin_name(161), "RIGHT_SHIFT");
    assert_null(tfl_builtin_name(100000));
    assert_non_null(tfl_custom_find("Convolution2DTransposeBias"));
    assert_null(tfl_custom_find("SignalWindow"));
}

/* ---- the layout pass ------------------------------------------------------------- */

static uint32_t node1(struct synap_graph *g, const char *name, enum synap_op op, uint32_t a,
                      uint32_t b, uint32_t c, const int64_t *perm)
{
    uint32_t out = synap_graph_add_tensor(g, name, SYNAP_DTYPE_UNDEFINED, 0, NULL);
    size_t nin = c != SYNAP_NONE ? 3 : b != SYNAP_NONE ? 2 : 1;
    struct synap_node *n = synap_graph_add_node(g, name, op, nin, 1);
    n->inputs[0] = a;
    if (nin > 1) n->inputs[1] = b;
    if (nin > 2) n->inputs[2] = c;
    n->outputs[0] = out;
    if (perm) synap_node_set_ints(g, n, "perm", perm, 4);
    if (op == SYNAP_OP_CONV) {
        int64_t pads[] = {1, 1, 1, 1};
        synap_node_set_ints(g, n, "pads", pads, 4);
    }
    return out;
}

/* NHWC x -> [T Conv T] -> Relu -> Pad -> [T Conv T] -> Add(skip) -> Mul(bias) -> out:
 * what the importer emits for two convolutions with a residual. */
static struct synap_graph *layout_net(void)
{
    static const int64_t fwd[4] = {0, 3, 1, 2}, back[4] = {0, 2, 3, 1};
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 5, 6, 2}, ws[] = {2, 2, 3, 3}, bs[] = {2}, ps[] = {8};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    float w[36], bias[2] = {0.5f, -2.0f};
    for (int i = 0; i < 36; i++)
        w[i] = (float)((i * 5) % 9 - 4) / 4.0f;
    int64_t pads[8] = {0, 1, 0, 0, 0, 1, 2, 0};
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, ws, w, sizeof w);
    uint32_t bt = synap_graph_add_const(g, "b", SYNAP_DTYPE_FLOAT32, 1, bs, bias, sizeof bias);
    uint32_t pt = synap_graph_add_const(g, "p", SYNAP_DTYPE_INT64, 1, ps, pads, sizeof pads);
    uint32_t t = node1(g, "t1", SYNAP_OP_TRANSPOSE, x, SYNAP_NONE, SYNAP_NONE, fwd);
    t = node1(g, "c1", SYNAP_OP_CONV, t, wt, SYNAP_NONE, NULL);
    t = node1(g, "t2", SYNAP_OP_TRANSPOSE, t, SYNAP_NONE, SYNAP_NONE, back);
    t = node1(g, "relu", SYNAP_OP_RELU, t, SYNAP_NONE, SYNAP_NONE, NULL);
    t = node1(g, "pad", SYNAP_OP_PAD, t, pt, SYNAP_NONE, NULL);
    t = node1(g, "t3", SYNAP_OP_TRANSPOSE, t, SYNAP_NONE, SYNAP_NONE, fwd);
    t = node1(g, "c2", SYNAP_OP_CONV, t, wt, SYNAP_NONE, NULL);
    t = node1(g, "t4", SYNAP_OP_TRANSPOSE, t, SYNAP_NONE, SYNAP_NONE, back);
    t = node1(g, "add", SYNAP_OP_ADD, t, t, SYNAP_NONE, NULL); /* t + t: same input twice */
    uint32_t out = node1(g, "mul", SYNAP_OP_MUL, t, bt, SYNAP_NONE, NULL);
    g->inputs = synap_arena_memdup(g->arena, &x, sizeof x);
    g->ninputs = 1;
    g->outputs = synap_arena_memdup(g->arena, &out, sizeof out);
    g->noutputs = 1;
    struct synap_err err = {0};
    if (synap_graph_infer(g, false, &err)) fail_msg("%s", err.msg);
    return g;
}

static void run_net(const struct synap_graph *g, float *out, size_t n)
{
    struct synap_err err = {0};
    struct synap_plan_opts po = {.nthreads = 1};
    struct synap_plan *p = synap_plan_new(g, &po, &err);
    if (!p) fail_msg("%s", err.msg);
    struct synap_value *in = synap_plan_input(p, 0);
    float *x = in->data;
    for (int64_t i = 0; i < synap_value_nelem(in); i++)
        x[i] = (float)((i * 13) % 17 - 8) / 3.0f;
    assert_int_equal(synap_plan_run(p, &err), 0);
    const struct synap_value *o = synap_plan_output(p, 0);
    assert_int_equal(synap_value_nelem(o), (int64_t)n);
    memcpy(out, o->data, n * sizeof *out);
    synap_plan_free(p);
}

static void test_layout_pass(void **state)
{
    (void)state;
    struct synap_graph *g = layout_net();
    float before[1 * 7 * 8 * 2], after[1 * 7 * 8 * 2];
    run_net(g, before, 112);
    struct synap_err err = {0};
    int left = synap_tflite_sink_transposes(g, &err);
    assert_int_equal(left, 2); /* the input's and the output's */
    assert_int_equal(synap_graph_verify(g, "layout", &err), 0);
    /* no Transpose between the two convolutions */
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == SYNAP_OP_TRANSPOSE)
            assert_true(!strcmp(g->nodes[i].name, "t1") || strstr(g->nodes[i].name, "to_nhwc"));
    run_net(g, after, 112);
    for (int i = 0; i < 112; i++)
        assert_float_equal(before[i], after[i], 1e-6);
    /* the output keeps its name, NHWC shape and place */
    const struct synap_tensor *o = &g->tensors[g->outputs[0]];
    assert_string_equal(o->name, "mul");
    assert_int_equal(o->dims[3], 2);
    synap_graph_free(g);
}

/* ---- shared models ---------------------------------------------------------------- */

static char shared[4096];

static int have_shared(void)
{
    struct stat st;
    return shared[0] && stat(shared, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *model(const char *rel)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s/models/tflite/%s", shared, rel);
    return buf;
}

#define NEED_SHARED()                                                                              \
    do {                                                                                           \
        if (!have_shared()) {                                                                      \
            print_message("shared models not found: skipped\n");                                   \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* The graph tensor named name, or NULL. */
static const struct synap_tensor *tensor_named(const struct synap_graph *g, const char *name)
{
    uint32_t t = synap_graph_find_tensor(g, name);
    return t == SYNAP_NONE ? NULL : &g->tensors[t];
}

/* Pre-quantized models keep their integers and parameters: uint8 per
 * tensor (legacy) and int8 per channel, whose weights' channel axis is the
 * output-channel axis 0 after the OHWI -> OIHW (and depthwise) conversion. */
static void test_quantized_import(void **state)
{
    (void)state;
    NEED_SHARED();
    struct synap_err err = {0};
    struct synap_graph *g = synap_tflite_import(
        model("mobilenet_v1_0.25_128_quant/mobilenet_v1_0.25_128_quant.tflite"), NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    const struct synap_tensor *in = &g->tensors[g->inputs[0]];
    assert_int_equal(in->dtype, SYNAP_DTYPE_UINT8);
    assert_non_null(in->quant);
    assert_int_equal(in->quant->scheme, SYNAP_QSCHEME_ASYMMETRIC_AFFINE);
    assert_int_equal(in->quant->zero_point[0], 128);
    assert_true(in->quant->scale[0] == 0.0078125f);
    size_t nconv = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        if (n->op != SYNAP_OP_CONV) continue;
        nconv++;
        const struct synap_tensor *w = &g->tensors[n->inputs[1]], *b = &g->tensors[n->inputs[2]];
        assert_int_equal(w->dtype, SYNAP_DTYPE_UINT8);
        assert_non_null(w->quant);
        assert_int_equal(b->dtype, SYNAP_DTYPE_INT32);
        assert_non_null(b->quant);
        /* every quantized node's output has parameters (fused Relu6 too) */
        assert_non_null(g->tensors[n->outputs[0]].quant);
    }
    assert_int_equal(nconv, 28);
    synap_graph_free(g);

    g = synap_tflite_import(model("mlperf_tiny_vww_96_int8/vww_96_int8.tflite"), NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    size_t ndw = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        if (n->op != SYNAP_OP_CONV) continue;
        const struct synap_tensor *w = &g->tensors[n->inputs[1]];
        assert_int_equal(w->dtype, SYNAP_DTYPE_INT8);
        assert_int_equal(w->quant->scheme, SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE);
        assert_int_equal(w->quant->axis, 0);
        assert_int_equal((int64_t)w->quant->nparams, w->dims[0]);
        if (synap_attr_int(n, "group", 1) > 1) {
            ndw++;
            assert_int_equal(w->dims[1], 1); /* [C*M, 1, H, W], group C */
        }
    }
    assert_true(ndw > 0);
    synap_graph_free(g);
}

/* QUANTIZE / DEQUANTIZE become QuantizeLinear / DequantizeLinear with the
 * tensors' parameters as constant inputs (TFLite's rules: quant.c). */
static void test_quantize_ops(void **state)
{
    (void)state;
    NEED_SHARED();
    struct synap_err err = {0};
    struct synap_graph *g = synap_tflite_import(
        model("tf2_mobilenet_v2_1.0_224_ptq/tf2_mobilenet_v2_1.0_224_ptq.tflite"), NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    size_t nq = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == SYNAP_OP_QUANTIZE_LINEAR) {
            const struct synap_tensor *x = &g->tensors[g->nodes[i].inputs[0]];
            const struct synap_tensor *y = &g->tensors[g->nodes[i].outputs[0]];
            /* uint8 in, int8 out (and back at the end) */
            assert_non_null(x->quant);
            assert_non_null(y->quant);
            assert_true(x->dtype != y->dtype);
            nq++;
        }
    assert_int_equal(nq, 2);
    synap_graph_free(g);
    /* hybrid int8 weights of a float model are still dequantized */
    g = synap_tflite_import(model("mlperf_tiny_kws_float32_hybrid/kws_ref_model_float32.tflite"),
                            NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    for (size_t i = 0; i < g->ntensors; i++)
        assert_null(g->tensors[i].quant);
    synap_graph_free(g);
}

/* TFLite_Detection_PostProcess imports as the canonical op with its custom
 * options as attributes, and leaves its anchors for ${ANCHORS}. */
static void test_detection_postprocess(void **state)
{
    (void)state;
    NEED_SHARED();
    struct synap_err err = {0};
    struct synap_graph *g =
        synap_tflite_import(model("ssd_mobilenet_v1_0.75_pets_quant_postprocess/"
                                  "ssd_mobilenet_v1_0.75_pets_quant_postprocess.tflite"),
                            NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    const struct synap_node *d = NULL;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == SYNAP_OP_DETECTION_POST_PROCESS) d = &g->nodes[i];
    assert_non_null(d);
    assert_int_equal(synap_attr_int(d, "max_detections", 0), 10);
    assert_int_equal(synap_attr_int(d, "num_classes", 0), 37);
    assert_int_equal(synap_attr_int(d, "use_regular_nms", 1), 0);
    assert_true(synap_attr_float(d, "y_scale", 0) == 10.0f);
    assert_true(synap_attr_float(d, "h_scale", 0) == 5.0f);
    assert_true(fabsf(synap_attr_float(d, "nms_iou_threshold", 0) - 0.6f) < 1e-6f);
    assert_int_equal(g->noutputs, 4);
    const uint8_t *sec;
    size_t n;
    assert_int_equal(synap_ir_section_get(g, "tflite_anchors", &sec, &n, &err), 1);
    /* msgpack array32 of 1917 x 4 float32 */
    assert_int_equal(sec[0], 0xdd);
    assert_int_equal(((size_t)sec[3] << 8 | sec[4]), 1917 * 4);
    assert_int_equal(n, 5 + 1917 * 4 * 5);
    assert_non_null(tensor_named(g, "TFLite_Detection_PostProcess:3"));
    synap_graph_free(g);
}

/* Every shared TFLite model without reference cases (the TFLM int16 goldens
 * have their own runner) imports and runs on a constant input, or fails
 * with the message listed for it in noref_expected_failures.txt
 * ("<folder>/<file><TAB><message fragment><TAB>reason"). */
static void test_unreferenced_models(void **state)
{
    (void)state;
    NEED_SHARED();
    char path[8400];
    snprintf(path, sizeof path, "%s/models/tflite", shared);
    DIR *d = opendir(path);
    if (!d) skip();
    FILE *ef = fopen(SOURCE_DIR "/noref_expected_failures.txt", "r");
    assert_non_null(ef);
    char lines[64][1024];
    size_t nl = 0;
    while (nl < 64 && fgets(lines[nl], sizeof lines[nl], ef))
        if (lines[nl][0] != '#' && lines[nl][0] != '\n') nl++;
    fclose(ef);
    size_t nmodels = 0, nfail = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "tflm-int16-ops")) continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/models/tflite/%s/ref", shared, de->d_name);
        if (!stat(path, &st)) continue;
        snprintf(path, sizeof path, "%s/models/tflite/%s", shared, de->d_name);
        DIR *md = opendir(path);
        if (!md) continue;
        for (struct dirent *fe; (fe = readdir(md));) {
            size_t l = strlen(fe->d_name);
            if (l < 7 || strcmp(fe->d_name + l - 7, ".tflite")) continue;
            char rel[600], file[9100];
            snprintf(rel, sizeof rel, "%s/%s", de->d_name, fe->d_name);
            snprintf(file, sizeof file, "%s/%s", path, fe->d_name);
            nmodels++;
            struct synap_err err = {0};
            struct synap_plan *p = NULL;
            struct synap_graph *g = synap_tflite_import(file, NULL, &err);
            struct synap_plan_opts po = {0};
            int ok = g && (p = synap_plan_new(g, &po, &err)) != NULL;
            for (size_t i = 0; ok && i < g->ninputs; i++) {
                struct synap_value *in = synap_plan_input(p, i);
                memset(in->data, 0, (size_t)synap_value_nelem(in) * synap_dtype_size(in->dtype));
            }
            ok = ok && !synap_plan_run(p, &err);
            synap_plan_free(p);
            synap_graph_free(g);
            const char *frag = NULL;
            for (size_t i = 0; i < nl; i++) {
                size_t rl = strlen(rel);
                if (!strncmp(lines[i], rel, rl) && lines[i][rl] == '\t') {
                    static char buf[1024];
                    snprintf(buf, sizeof buf, "%s", lines[i] + rl + 1);
                    char *tab = strchr(buf, '\t');
                    if (tab) *tab = 0;
                    frag = buf;
                }
            }
            if (ok && frag) fail_msg("%s passes: remove it from noref_expected_failures.txt", rel);
            if (!ok && !frag) fail_msg("%s: %s", rel, err.msg);
            if (!ok && !strstr(err.msg, frag))
                fail_msg("%s: expected a message with '%s', got: %s", rel, frag, err.msg);
            nfail += !ok;
        }
        closedir(md);
    }
    closedir(d);
    assert_true(nmodels >= 20);
    assert_int_equal(nfail, nl);
}

static void test_custom_ops_listed(void **state)
{
    (void)state;
    NEED_SHARED();
    struct synap_err err = {0};
    struct synap_graph *g = synap_tflite_import(
        model("tflm_audio_preprocessor_float/audio_preprocessor_float.tflite"), NULL, &err);
    assert_null(g);
    static const char *const names[] = {"SignalWindow",       "SignalFftAutoScale", "SignalRfft",
                                        "SignalEnergy",       "SignalFilterBank",   "SignalPCAN",
                                        "SignalFilterBankLog"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_non_null(strstr(err.msg, names[i]));
    assert_non_null(strstr(err.msg, "unsupported ops"));
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    NEED_SHARED();
    struct synap_file f;
    struct synap_err err = {0};
    assert_int_equal(
        synap_file_read(model("tflm_hello_world_float/hello_world_float.tflite"), &f, &err), 0);
    size_t fails = 0;
    for (size_t n = 0; n < f.size; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, f.data, n);
        err.msg[0] = 0;
        struct synap_graph *g = synap_tflite_import_mem(copy, n, "cut.tflite", NULL, &err);
        if (!g) {
            fails++;
            assert_true(err.msg[0] != 0);
            assert_true(!strncmp(err.msg, "cut.tflite: ", 12));
        }
        synap_graph_free(g);
        free(copy);
    }
    /* buffers sit at the end of the file: every cut loses something */
    assert_int_equal(fails, f.size);
    synap_file_close(&f);
}

/* Imports and runs a model on a constant input; returns the graph's output
 * count. The layout pass must leave at most max_t Transposes. */
static size_t import_and_run(const char *rel, size_t max_t)
{
    struct synap_err err = {0};
    struct synap_graph *g = synap_tflite_import(model(rel), NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    size_t nt = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        nt += g->nodes[i].op == SYNAP_OP_TRANSPOSE;
    if (nt > max_t) fail_msg("%s: %zu Transposes left, expected at most %zu", rel, nt, max_t);
    struct synap_plan_opts po = {0};
    struct synap_plan *p = synap_plan_new(g, &po, &err);
    if (!p) fail_msg("%s", err.msg);
    for (size_t i = 0; i < g->ninputs; i++) {
        struct synap_value *in = synap_plan_input(p, i);
        float *x = in->data;
        for (int64_t k = 0; k < synap_value_nelem(in); k++)
            x[k] = (float)(k % 251) / 250.0f;
    }
    if (synap_plan_run(p, &err)) fail_msg("%s", err.msg);
    size_t n = g->noutputs;
    for (size_t i = 0; i < n; i++) {
        const struct synap_value *o = synap_plan_output(p, i);
        const float *y = o->data;
        for (int64_t k = 0; k < synap_value_nelem(o); k++)
            if (!(y[k] == y[k])) fail_msg("%s: output %zu has NaN", rel, i);
    }
    synap_plan_free(p);
    synap_graph_free(g);
    return n;
}

static void test_models_run(void **state)
{
    (void)state;
    NEED_SHARED();
    assert_int_equal(
        import_and_run("mediapipe_face_detection_short_range/face_detection_short_range.tflite", 5),
        2);
    assert_int_equal(
        import_and_run(
            "mediapipe_face_detection_full_range_sparse/face_detection_full_range_sparse.tflite",
            3),
        2);
    assert_int_equal(import_and_run("mediapipe_selfie_segmentation/selfie_segmentation.tflite", 2),
                     1);
    assert_int_equal(import_and_run("mediapipe_hand_landmark_lite/hand_landmark_lite.tflite", 2),
                     4);
    assert_int_equal(
        import_and_run("mlperf_tiny_kws_float32_hybrid/kws_ref_model_float32.tflite", 2), 1);
    assert_int_equal(import_and_run("tf2onnx_regression_model/tf2onnx_regression_model.tflite", 0),
                     1);
    assert_int_equal(
        import_and_run("ultraface_slim320_nopost/version-slim-320_without_postprocessing.tflite",
                       9),
        2);
    /* float LSTM whose state inputs are variable tensors (zero at the start) */
    assert_int_equal(import_and_run("tflm_trained_lstm/trained_lstm.tflite", 2), 1);
}

/* Float UNIDIRECTIONAL_SEQUENCE_LSTM (ops.c) on the models of
 * tests/data/tflite_lstm (gen.py there: peepholes with initial states,
 * a cell_clip that engages, CIFG time-major with relu) against a float64
 * numpy LSTM written from TFLite's definition: within 1e-5 (measured:
 * <= 3e-7), with 1 and 3 threads. */
static void test_lstm_float(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t dims[3];
        size_t lstm_nodes; /* 1, or one per time step when unrolled */
    } cases[] = {{"peep", {2, 5, 4}, 1}, {"clip", {2, 22, 3}, 22}, {"cifg_tm", {6, 2, 4}, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char path[1024];
        struct synap_err err = {0};
        struct synap_value x = {0}, want = {0};
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm/%s_x.npy", cases[ci].name);
        if (synap_npy_read(path, &x, &err)) fail_msg("%s", err.msg);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm/%s_y.npy", cases[ci].name);
        if (synap_npy_read(path, &want, &err)) fail_msg("%s", err.msg);
        assert_int_equal(want.rank, 3);
        assert_memory_equal(want.dims, cases[ci].dims, sizeof cases[ci].dims);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm/%s.tflite", cases[ci].name);
        struct synap_graph *g = synap_tflite_import(path, NULL, &err);
        if (!g) fail_msg("%s: %s", cases[ci].name, err.msg);
        size_t nlstm = 0;
        for (size_t i = 0; i < g->nnodes; i++)
            nlstm += g->nodes[i].op == SYNAP_OP_LSTM;
        assert_int_equal(nlstm, cases[ci].lstm_nodes);
        for (int th = 1; th <= 3; th += 2) {
            struct synap_plan_opts po = {.nthreads = th};
            struct synap_plan *p = synap_plan_new(g, &po, &err);
            if (!p) fail_msg("%s: %s", cases[ci].name, err.msg);
            struct synap_value *in = synap_plan_input(p, 0);
            assert_int_equal(synap_value_nelem(in), synap_value_nelem(&x));
            memcpy(in->data, x.data, (size_t)synap_value_nelem(&x) * sizeof(float));
            if (synap_plan_run(p, &err)) fail_msg("%s: %s", cases[ci].name, err.msg);
            const struct synap_value *o = synap_plan_output(p, 0);
            assert_int_equal(o->rank, 3);
            assert_memory_equal(o->dims, cases[ci].dims, sizeof cases[ci].dims);
            const float *y = o->data, *w = want.data;
            for (int64_t k = 0; k < synap_value_nelem(o); k++)
                if (!(fabsf(y[k] - w[k]) <= 1e-5f))
                    fail_msg("%s: y[%lld] = %.8g, expected %.8g", cases[ci].name, (long long)k,
                             (double)y[k], (double)w[k]);
            synap_plan_free(p);
        }
        synap_graph_free(g);
        free(x.data);
        free(want.data);
    }
}

/* SVDF (kernels/svdf.c) on the models of tests/data/tflite_svdf (gen.py
 * there): float rank 1 and rank 2 + relu (with a non-zero initial state)
 * against float64 numpy within 1e-5; int8 with int16 state and int8 with an
 * int8 state of zero point -13 against a numpy transcription of TFLite's
 * integer SVDF, exactly; 1 and 3 threads. */
static void test_svdf(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t dims[2];
        size_t nnodes; /* SVDF, and Relu for the float fused activation */
        int64_t rank;
    } cases[] = {{"f_r1", {2, 4}, 1, 1},
                 {"f_r2_relu", {2, 3}, 2, 2},
                 {"q_s16", {2, 3}, 1, 2},
                 {"q_s8", {3, 4}, 1, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char path[1024];
        struct synap_err err = {0};
        struct synap_value x = {0}, want = {0};
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_svdf/%s_x.npy", cases[ci].name);
        if (synap_npy_read(path, &x, &err)) fail_msg("%s", err.msg);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_svdf/%s_y.npy", cases[ci].name);
        if (synap_npy_read(path, &want, &err)) fail_msg("%s", err.msg);
        assert_int_equal(want.rank, 2);
        assert_memory_equal(want.dims, cases[ci].dims, sizeof cases[ci].dims);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_svdf/%s.tflite", cases[ci].name);
        struct synap_graph *g = synap_tflite_import(path, NULL, &err);
        if (!g) fail_msg("%s: %s", cases[ci].name, err.msg);
        assert_int_equal(g->nnodes, cases[ci].nnodes);
        assert_int_equal(g->nodes[0].op, SYNAP_OP_SVDF);
        assert_int_equal(synap_attr_int(&g->nodes[0], "rank", 0), cases[ci].rank);
        for (int th = 1; th <= 3; th += 2) {
            struct synap_plan_opts po = {.nthreads = th};
            struct synap_plan *p = synap_plan_new(g, &po, &err);
            if (!p) fail_msg("%s: %s", cases[ci].name, err.msg);
            struct synap_value *in = synap_plan_input(p, 0);
            assert_int_equal(in->dtype, x.dtype);
            assert_int_equal(synap_value_nelem(in), synap_value_nelem(&x));
            memcpy(in->data, x.data, (size_t)synap_value_nelem(&x) * synap_dtype_size(x.dtype));
            if (synap_plan_run(p, &err)) fail_msg("%s: %s", cases[ci].name, err.msg);
            const struct synap_value *o = synap_plan_output(p, 0);
            assert_int_equal(o->dtype, want.dtype);
            assert_memory_equal(o->dims, cases[ci].dims, sizeof cases[ci].dims);
            for (int64_t k = 0; k < synap_value_nelem(o); k++) {
                double y = synap_value_get_f64(o, k), w = synap_value_get_f64(&want, k);
                double tol = o->dtype == SYNAP_DTYPE_FLOAT32 ? 1e-5 : 0;
                if (!(fabs(y - w) <= tol))
                    fail_msg("%s: y[%lld] = %.8g, expected %.8g", cases[ci].name, (long long)k, y,
                             w);
            }
            synap_plan_free(p);
        }
        synap_graph_free(g);
        free(x.data);
        free(want.data);
    }
}

/* The two TFLM keyword models (7 integer SVDF layers each: int16 time
 * weights and state / int8 ones with zero points) import and, cut at the
 * last SVDF's output (before the int8 -> int16 Softmax), give the same
 * bytes with 1 and 3 threads. Their weights and biases are scrambled: every
 * layer saturates (both bounds occur, checked), so these models show that
 * the SVDFs import and run, not their arithmetic (test_svdf does that). */
static void test_svdf_models(void **state)
{
    (void)state;
    NEED_SHARED();
    static const char *const models[] = {
        "tflm_keyword_scrambled/keyword_scrambled.tflite",
        "tflm_keyword_scrambled_8bit/keyword_scrambled_8bit.tflite"};
    for (size_t mi = 0; mi < 2; mi++) {
        struct synap_err err = {0};
        struct synap_graph *g = synap_tflite_import(model(models[mi]), NULL, &err);
        if (!g) fail_msg("%s: %s", models[mi], err.msg);
        size_t nsvdf = 0;
        for (size_t i = 0; i < g->nnodes; i++)
            nsvdf += g->nodes[i].op == SYNAP_OP_SVDF;
        assert_int_equal(nsvdf, 7);
        const struct synap_tensor *t = tensor_named(g, "tensor_47");
        assert_non_null(t);
        g->outputs[0] = (uint32_t)(t - g->tensors);
        synap_graph_prune_dead(g);
        int8_t got[2][32];
        for (int r = 0; r < 2; r++) {
            struct synap_plan_opts po = {.nthreads = 1 + 2 * r};
            struct synap_plan *p = synap_plan_new(g, &po, &err);
            if (!p) fail_msg("%s: %s", models[mi], err.msg);
            struct synap_value *in = synap_plan_input(p, 0);
            assert_int_equal(in->dtype, SYNAP_DTYPE_INT16);
            for (int64_t k = 0; k < synap_value_nelem(in); k++)
                ((int16_t *)in->data)[k] = (int16_t)((k * 997) % 24000);
            if (synap_plan_run(p, &err)) fail_msg("%s: %s", models[mi], err.msg);
            const struct synap_value *o = synap_plan_output(p, 0);
            assert_int_equal(o->dtype, SYNAP_DTYPE_INT8);
            assert_int_equal(synap_value_nelem(o), 32);
            memcpy(got[r], o->data, 32);
            synap_plan_free(p);
        }
        assert_memory_equal(got[0], got[1], 32);
        int lo = 0, hi = 0;
        for (int k = 0; k < 32; k++)
            lo += got[0][k] == -128, hi += got[0][k] == 127;
        assert_true(lo > 0 && hi > 0);
        synap_graph_free(g);
    }
}

/* Integer UNIDIRECTIONAL_SEQUENCE_LSTM (kernels/lstm_int.c) on the models of
 * tests/data/tflite_lstm_int (gen.py there: batch-major with input and
 * hidden zero points and an engaging cell_clip, cell scale 2^-11;
 * time-major with non-zero initial states and saturating gate sums, cell
 * scale 2^-12) against a numpy transcription of TFLite's 8x8_16 kernel:
 * exactly, with 1 and 3 threads. CIFG is refused naming it. */
static void test_lstm_int(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t dims[3];
    } cases[] = {{"q_bm", {2, 6, 4}}, {"q_tm", {4, 3, 5}}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char path[1024];
        struct synap_err err = {0};
        struct synap_value x = {0}, want = {0};
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm_int/%s_x.npy", cases[ci].name);
        if (synap_npy_read(path, &x, &err)) fail_msg("%s", err.msg);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm_int/%s_y.npy", cases[ci].name);
        if (synap_npy_read(path, &want, &err)) fail_msg("%s", err.msg);
        assert_int_equal(want.dtype, SYNAP_DTYPE_INT8);
        assert_memory_equal(want.dims, cases[ci].dims, sizeof cases[ci].dims);
        snprintf(path, sizeof path, SOURCE_DIR "/../data/tflite_lstm_int/%s.tflite",
                 cases[ci].name);
        struct synap_graph *g = synap_tflite_import(path, NULL, &err);
        if (!g) fail_msg("%s: %s", cases[ci].name, err.msg);
        assert_int_equal(g->nnodes, 1);
        assert_int_equal(g->nodes[0].op, SYNAP_OP_TFLITE_LSTM_INT);
        for (int th = 1; th <= 3; th += 2) {
            struct synap_plan_opts po = {.nthreads = th};
            struct synap_plan *p = synap_plan_new(g, &po, &err);
            if (!p) fail_msg("%s: %s", cases[ci].name, err.msg);
            struct synap_value *in = synap_plan_input(p, 0);
            assert_int_equal(in->dtype, SYNAP_DTYPE_INT8);
            assert_int_equal(synap_value_nelem(in), synap_value_nelem(&x));
            memcpy(in->data, x.data, (size_t)synap_value_nelem(&x));
            if (synap_plan_run(p, &err)) fail_msg("%s: %s", cases[ci].name, err.msg);
            const struct synap_value *o = synap_plan_output(p, 0);
            assert_int_equal(o->dtype, SYNAP_DTYPE_INT8);
            assert_memory_equal(o->dims, cases[ci].dims, sizeof cases[ci].dims);
            const int8_t *y = o->data, *w = want.data;
            for (int64_t k = 0; k < synap_value_nelem(o); k++)
                if (y[k] != w[k])
                    fail_msg("%s: y[%lld] = %d, expected %d", cases[ci].name, (long long)k, y[k],
                             w[k]);
            synap_plan_free(p);
        }
        synap_graph_free(g);
        free(x.data);
        free(want.data);
    }
    struct synap_err err = {0};
    assert_null(
        synap_tflite_import(SOURCE_DIR "/../data/tflite_lstm_int/q_cifg.tflite", NULL, &err));
    assert_non_null(strstr(err.msg, "integer UNIDIRECTIONAL_SEQUENCE_LSTM with CIFG (inputs 1 "
                                    "and 5 omitted) is not supported"));
}

/* Runs a model once on `in` (bytes of input 0, of its size) with nthreads;
 * copies output 0 to out (at most cap bytes) and returns its byte size. */
static size_t run_once(struct synap_graph *g, const void *in, int nthreads, void *out, size_t cap)
{
    struct synap_err err = {0};
    struct synap_plan_opts po = {.nthreads = nthreads};
    struct synap_plan *p = synap_plan_new(g, &po, &err);
    if (!p) fail_msg("%s", err.msg);
    struct synap_value *iv = synap_plan_input(p, 0);
    memcpy(iv->data, in, (size_t)synap_value_nelem(iv) * synap_dtype_size(iv->dtype));
    if (synap_plan_run(p, &err)) fail_msg("%s", err.msg);
    const struct synap_value *o = synap_plan_output(p, 0);
    size_t n = (size_t)synap_value_nelem(o) * synap_dtype_size(o->dtype);
    assert_true(n <= cap);
    memcpy(out, o->data, n);
    synap_plan_free(p);
    return n;
}

/* The four shared integer LSTM models import (one TFLiteLSTMInt per LSTM)
 * and give the same bytes with 1 and 2 threads on a fixed pseudo-random
 * input, and the MNIST one classifies the ten upstream samples
 * (testvectors/mnist_lstm/sampleN.png, pixels / 255, rows as time steps)
 * as the float model tflm_trained_lstm does, with every probability within
 * 4/256 of the float one (measured: at most 3/256, on sample3; every class
 * right). */
static void test_lstm_int_models(void **state)
{
    (void)state;
    NEED_SHARED();
    static const struct {
        const char *rel;
        size_t nlstm;
    } models[] = {{"keras_lstm_mnist_ptq/keras_lstm_mnist_ptq.tflite", 1},
                  {"tflm_dtln_noise_suppression/dtln_noise_suppression.tflite", 2},
                  {"tflm_micro_speech_lstm/micro_speech_lstm.tflite", 1},
                  {"tflm_trained_lstm_int8/trained_lstm_int8.tflite", 1}};
    static uint8_t in[1 << 16], out[2][4096];
    for (size_t mi = 0; mi < sizeof models / sizeof *models; mi++) {
        struct synap_err err = {0};
        struct synap_graph *g = synap_tflite_import(model(models[mi].rel), NULL, &err);
        if (!g) fail_msg("%s: %s", models[mi].rel, err.msg);
        size_t n = 0;
        for (size_t i = 0; i < g->nnodes; i++)
            n += g->nodes[i].op == SYNAP_OP_TFLITE_LSTM_INT;
        assert_int_equal(n, models[mi].nlstm);
        uint32_t r = 12345;
        for (size_t k = 0; k < sizeof in; k++)
            in[k] = (uint8_t)((r = r * 1103515245u + 12345u) >> 16);
        size_t n1 = run_once(g, in, 1, out[0], sizeof out[0]);
        size_t n2 = run_once(g, in, 2, out[1], sizeof out[1]);
        assert_int_equal(n1, n2);
        assert_memory_equal(out[0], out[1], n1);
        synap_graph_free(g);
    }
    struct synap_err err = {0};
    struct synap_graph *gq =
        synap_tflite_import(model("tflm_trained_lstm_int8/trained_lstm_int8.tflite"), NULL, &err);
    struct synap_graph *gf =
        synap_tflite_import(model("tflm_trained_lstm/trained_lstm.tflite"), NULL, &err);
    if (!gq || !gf) fail_msg("%s", err.msg);
    int maxd = 0;
    for (int digit = 0; digit < 10; digit++) {
        char path[8400];
        snprintf(path, sizeof path, "%s/images/testvectors/mnist_lstm/sample%d.png", shared, digit);
        struct synap_image img = {0};
        if (synap_image_read_png(path, &img, &err)) fail_msg("%s", err.msg);
        assert_true(img.width == 28 && img.height == 28 && img.channels == 1);
        int8_t xq[784];
        float xf[784], pf[10];
        int8_t pq[10];
        for (int k = 0; k < 784; k++) {
            xq[k] = (int8_t)(img.pixels[k] - 128); /* scale 1/255, zero point -128 */
            xf[k] = (float)img.pixels[k] / 255.0f;
        }
        synap_image_free(&img);
        assert_int_equal(run_once(gq, xq, 1, pq, sizeof pq), 10);
        assert_int_equal(run_once(gf, xf, 1, pf, sizeof pf), 10 * sizeof(float));
        int aq = 0, af = 0;
        for (int k = 1; k < 10; k++) {
            if (pq[k] > pq[aq]) aq = k;
            if (pf[k] > pf[af]) af = k;
        }
        for (int k = 0; k < 10; k++) {
            int d = abs((pq[k] + 128) - (int)lrintf(pf[k] * 256.0f));
            if (d > maxd) maxd = d;
        }
        print_message("mnist_lstm sample%d: int8 class %d (p %.3f), float class %d (p %.3f)\n",
                      digit, aq, (pq[aq] + 128) / 256.0, af, (double)pf[af]);
        assert_int_equal(aq, af);
        assert_int_equal(af, digit);
    }
    print_message("mnist_lstm: max |int8 - float| probability %d/256\n", maxd);
    assert_true(maxd <= 4);
    synap_graph_free(gq);
    synap_graph_free(gf);
}

/* UltraFace RFB-320 as TFLite (NHWC) against onnxruntime on the ONNX export
 * of the same network (NCHW input, the shared ONNX case). */
static void test_ultraface_vs_onnx(void **state)
{
    (void)state;
    NEED_SHARED();
    char path[8400];
    struct synap_err err = {0};
    struct synap_value in = {0}, want[2] = {{0}};
    snprintf(path, sizeof path, "%s/models/onnx/ultraface_rfb320_nopost/ref", shared);
    /* the one case folder */
    char casedir[8700] = "";
    DIR *d = opendir(path);
    if (!d) skip();
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.' && !casedir[0])
            snprintf(casedir, sizeof casedir, "%s/%s", path, de->d_name);
    closedir(d);
    if (!casedir[0]) skip();
    snprintf(path, sizeof path, "%s/input_0.npy", casedir);
    if (synap_npy_read(path, &in, &err)) fail_msg("%s", err.msg);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/output_%d.npy", casedir, k);
        if (synap_npy_read(path, &want[k], &err)) fail_msg("%s", err.msg);
    }
    struct synap_graph *g = synap_tflite_import(
        model("ultraface_rfb320_nopost/version-RFB-320_without_postprocessing.tflite"), NULL, &err);
    if (!g) fail_msg("%s", err.msg);
    struct synap_plan_opts po = {0};
    struct synap_plan *p = synap_plan_new(g, &po, &err);
    if (!p) fail_msg("%s", err.msg);
    struct synap_value *x = synap_plan_input(p, 0);
    assert_int_equal(x->dims[1], 240);
    assert_int_equal(x->dims[3], 3);
    const float *src = in.data;
    float *dst = x->data;
    for (int h = 0; h < 240; h++)
        for (int w = 0; w < 320; w++)
            for (int ch = 0; ch < 3; ch++)
                dst[(h * 320 + w) * 3 + ch] = src[(ch * 240 + h) * 320 + w];
    assert_int_equal(synap_plan_run(p, &err), 0);
    /* match outputs by their last dim (scores 2, boxes 4) */
    for (size_t o = 0; o < g->noutputs; o++) {
        const struct synap_value *got = synap_plan_output(p, o);
        const struct synap_value *ref = NULL;
        for (int k = 0; k < 2; k++)
            if (want[k].dims[2] == got->dims[got->rank - 1]) ref = &want[k];
        assert_non_null(ref);
        assert_int_equal(synap_value_nelem(got), synap_value_nelem(ref));
        const float *a = got->data, *b = ref->data;
        double maxd = 0;
        for (int64_t k = 0; k < synap_value_nelem(ref); k++) {
            double d = a[k] - b[k];
            if (d < 0) d = -d;
            if (d > maxd) maxd = d;
        }
        print_message("ultraface RFB-320 TFLite vs ONNX output %zu: max |diff| %.3g\n", o, maxd);
        assert_true(maxd < 2e-3);
    }
    synap_plan_free(p);
    synap_graph_free(g);
    free(in.data);
    free(want[0].data);
    free(want[1].data);
}

int main(void)
{
    const char *s = getenv("SYNAP_SHARED");
    snprintf(shared, sizeof shared, "%s", s && *s ? s : "../shared");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_golden),       cmocka_unit_test(test_reader_damage),
        cmocka_unit_test(test_tables_sorted),       cmocka_unit_test(test_layout_pass),
        cmocka_unit_test(test_quantized_import),    cmocka_unit_test(test_custom_ops_listed),
        cmocka_unit_test(test_quantize_ops),        cmocka_unit_test(test_detection_postprocess),
        cmocka_unit_test(test_unreferenced_models), cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_models_run),          cmocka_unit_test(test_ultraface_vs_onnx),
        cmocka_unit_test(test_lstm_float),          cmocka_unit_test(test_svdf),
        cmocka_unit_test(test_svdf_models),         cmocka_unit_test(test_lstm_int),
        cmocka_unit_test(test_lstm_int_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
