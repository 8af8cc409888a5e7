/* IR files: round trip, determinism, weights in place, dump text, damaged input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/ir.h"

#include "graph_harness.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/synap_test_ir_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* ---- a small graph using every feature of the format ------------------------ */
static const float w_data[6] = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f, -0.125f};
static const float b_data[2] = {1.0f, -1.0f};
static const int8_t pc_data[2] = {-3, 7};
static const float max_data[1] = {6.0f};

static struct synap_graph *build_graph(void)
{
    struct synap_graph *g = synap_graph_new();
    g->producer = "test-producer 1.0";
    const int64_t in_dims[] = {1, 3, 4, 4}, w_dims[] = {2, 3, 1, 1}, b_dims[] = {2},
                  act_dims[] = {1, 2, 4, 4}, pc_dims[] = {2, 1}, empty_dims[] = {0};
    uint32_t in = synap_graph_add_tensor(g, "input", SYNAP_DTYPE_FLOAT32, 4, in_dims); /* 0 */
    uint32_t w = synap_graph_add_const(g, "conv1.weight", SYNAP_DTYPE_FLOAT32, 4, w_dims, w_data,
                                       sizeof w_data); /* 1 */
    uint32_t b = synap_graph_add_const(g, "conv1.bias", SYNAP_DTYPE_FLOAT32, 1, b_dims, b_data,
                                       sizeof b_data);                                /* 2 */
    uint32_t c = synap_graph_add_tensor(g, "conv", SYNAP_DTYPE_FLOAT32, 4, act_dims); /* 3 */
    uint32_t mx = synap_graph_add_const(g, "max", SYNAP_DTYPE_FLOAT32, 0, NULL, max_data,
                                        sizeof max_data);                                    /* 4 */
    uint32_t cl = synap_graph_add_tensor(g, "clip 'x'\n", SYNAP_DTYPE_FLOAT32, 4, act_dims); /* 5 */
    uint32_t q = synap_graph_add_tensor(g, "q", SYNAP_DTYPE_UINT8, 4, act_dims);             /* 6 */
    uint32_t pc = synap_graph_add_const(g, "pc", SYNAP_DTYPE_INT8, 2, pc_dims, pc_data,
                                        sizeof pc_data); /* 7 */
    uint32_t e =
        synap_graph_add_const(g, "empty", SYNAP_DTYPE_INT64, 1, empty_dims, NULL, 0);   /* 8 */
    uint32_t out = synap_graph_add_tensor(g, "output", SYNAP_DTYPE_UINT8, 4, act_dims); /* 9 */

    struct synap_quant *qa = synap_arena_alloc(g->arena, sizeof *qa);
    static float qa_scale[1] = {0.0078125f};
    static int32_t qa_zp[1] = {128};
    *qa = (struct synap_quant){SYNAP_QSCHEME_ASYMMETRIC_AFFINE, 1, qa_scale, qa_zp, -1, 0};
    g->tensors[q].quant = qa;
    g->tensors[out].quant = qa;
    struct synap_quant *qp = synap_arena_alloc(g->arena, sizeof *qp);
    static float qp_scale[2] = {0.1f, 1e-7f};
    static int32_t qp_zp[2] = {0, -5};
    *qp = (struct synap_quant){SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE, 2, qp_scale, qp_zp, 0, 0};
    g->tensors[pc].quant = qp;

    struct synap_node *n = synap_graph_add_node(g, "Conv_0", SYNAP_OP_CONV, 3, 1);
    n->inputs[0] = in;
    n->inputs[1] = w;
    n->inputs[2] = b;
    n->outputs[0] = c;
    const int64_t strides[] = {2, 2}, pads[] = {0, 0, 0, 0}, dil[] = {1, 1};
    synap_node_set_ints(g, n, "strides", strides, 2);
    synap_node_set_ints(g, n, "pads", pads, 4);
    synap_node_set_ints(g, n, "dilations", dil, 2);
    synap_node_set_int(g, n, "group", 1);
    synap_node_set_string(g, n, "auto_pad", "NOTSET");

    n = synap_graph_add_node(g, "Clip_1", SYNAP_OP_CLIP, 3, 1);
    n->inputs[0] = c; /* min omitted */
    n->inputs[2] = mx;
    n->outputs[0] = cl;
    synap_node_set_float(g, n, "f", 0.1f);
    const float fs[] = {1.5f, -0.0f, 3.4028235e38f};
    synap_node_set_floats(g, n, "fs", fs, 3);
    const char *const ss[] = {"a", "it's"};
    synap_node_set_strings(g, n, "ss", ss, 2);
    synap_node_set_tensor(g, n, "t", pc);
    synap_node_set_ints(g, n, "none", NULL, 0);
    synap_node_set_int(g, n, "neg", -9000000000LL);

    n = gh_node1(g, "Relu_2", SYNAP_OP_RELU, cl, q);
    n->delegate = "npu";
    n->subgraph = 3;

    n = gh_node1(g, "Id_3", SYNAP_OP_IDENTITY, q, out);
    n->subgraph = 0;

    (void)e;
    g->inputs = synap_arena_alloc(g->arena, sizeof *g->inputs);
    g->inputs[0] = in;
    g->ninputs = 1;
    g->outputs = synap_arena_alloc(g->arena, 2 * sizeof *g->outputs);
    g->outputs[0] = out;
    g->outputs[1] = cl;
    g->noutputs = 2;

    /* meta: {"source": "model.onnx", "opset": 17, "x": [1.5, -2]} */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "source", 6);
    msgpack_pack_str_with_body(&pk, "model.onnx", 10);
    msgpack_pack_str_with_body(&pk, "opset", 5);
    msgpack_pack_int(&pk, 17);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_int(&pk, -2);
    g->meta = synap_arena_memdup(g->arena, sb.data, sb.size);
    g->meta_nbytes = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return g;
}

static void serialize_ok(const struct synap_graph *g, uint8_t **buf, size_t *n)
{
    struct synap_err err = {0};
    int rc = synap_ir_serialize(g, buf, n, &err);
    if (rc) fail_msg("serialize: %s", err.msg);
}

/* A pointer inside [lo, lo + n]: weights must be views into the file. */
static int inside(const void *p, const void *lo, size_t n)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)lo;
    return a >= b && a <= b + n;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    uint8_t *b1, *b2;
    size_t n1, n2;
    serialize_ok(g, &b1, &n1);

    struct synap_err err = {0};
    struct synap_graph *g2 = synap_ir_read_mem(b1, n1, "t.ir", &err);
    if (!g2) fail_msg("read: %s", err.msg);
    serialize_ok(g2, &b2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);

    /* the parts a byte comparison would not show as wrong on both sides */
    assert_string_equal(g2->producer, "test-producer 1.0");
    assert_int_equal(g2->ntensors, 10);
    assert_int_equal(g2->nnodes, 4);
    assert_string_equal(g2->tensors[5].name, "clip 'x'\n");
    assert_int_equal(g2->tensors[0].rank, 4);
    assert_int_equal(g2->tensors[0].dims[1], 3);
    assert_int_equal(g2->tensors[4].rank, 0);
    assert_memory_equal(g2->tensors[1].data, w_data, sizeof w_data);
    assert_memory_equal(g2->tensors[7].data, pc_data, sizeof pc_data);
    assert_non_null(g2->tensors[8].data);
    assert_int_equal(g2->tensors[8].nbytes, 0);
    assert_null(g2->tensors[0].data);
    assert_null(g2->tensors[0].quant);
    const struct synap_quant *qp = g2->tensors[7].quant;
    assert_non_null(qp);
    assert_int_equal(qp->scheme, SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE);
    assert_int_equal(qp->nparams, 2);
    assert_true(qp->scale[1] == 1e-7f);
    assert_int_equal(qp->zero_point[1], -5);
    assert_int_equal(qp->axis, 0);
    const struct synap_node *clip = &g2->nodes[1];
    assert_int_equal(clip->op, SYNAP_OP_CLIP);
    assert_int_equal(clip->inputs[1], SYNAP_NONE);
    assert_int_equal(clip->inputs[2], 4);
    assert_int_equal(synap_attr_int(clip, "neg", 0), -9000000000LL);
    assert_true(synap_attr_float(clip, "f", 0) == 0.1f);
    const float *fs;
    assert_int_equal(synap_attr_floats(clip, "fs", &fs), 3);
    assert_true(fs[2] == 3.4028235e38f);
    assert_string_equal(synap_node_attr(clip, "ss")->strings[1], "it's");
    assert_int_equal(synap_node_attr(clip, "t")->type, SYNAP_ATTR_TENSOR);
    assert_int_equal(synap_node_attr(clip, "t")->i, 7);
    assert_int_equal(synap_node_attr(clip, "none")->n, 0);
    assert_string_equal(g2->nodes[2].delegate, "npu");
    assert_int_equal(g2->nodes[2].subgraph, 3);
    assert_null(g2->nodes[3].delegate);
    assert_int_equal(g2->nodes[3].subgraph, 0);
    assert_int_equal(g2->nodes[0].subgraph, -1);
    assert_int_equal(g2->meta_nbytes, g->meta_nbytes);
    assert_memory_equal(g2->meta, g->meta, g->meta_nbytes);
    assert_true(inside(g2->meta, b1, n1)); /* kept raw, in place */

    /* serializing twice gives the same bytes */
    uint8_t *b3;
    size_t n3;
    serialize_ok(g, &b3, &n3);
    assert_int_equal(n3, n1);
    assert_memory_equal(b3, b1, n1);

    free(b1);
    free(b2);
    free(b3);
    synap_graph_free(g2);
    synap_graph_free(g);
}

/* Without meta the file holds an empty map and reads back as NULL meta. */
static void test_no_meta(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    g->meta = NULL;
    g->meta_nbytes = 0;
    uint8_t *b;
    size_t n;
    serialize_ok(g, &b, &n);
    struct synap_err err = {0};
    struct synap_graph *g2 = synap_ir_read_mem(b, n, "t.ir", &err);
    assert_non_null(g2);
    assert_null(g2->meta);
    assert_int_equal(g2->meta_nbytes, 0);
    synap_graph_free(g2);
    free(b);
    synap_graph_free(g);
}

static void test_file_weights_in_place(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    struct synap_err err = {0};
    const char *path = tmp_path("g.ir");
    assert_int_equal(synap_ir_write(g, path, &err), 0);
    struct synap_graph *g2 = synap_ir_read(path, &err);
    if (!g2) fail_msg("read: %s", err.msg);
    assert_true(g2->file.data != NULL);
    assert_int_equal((uintptr_t)g2->file.data % 64, 0);
    int nconst = 0;
    for (size_t i = 0; i < g2->ntensors; i++) {
        const struct synap_tensor *t = &g2->tensors[i];
        if (!t->data) continue;
        nconst++;
        assert_true(inside(t->data, g2->file.data, g2->file.size));
        assert_true(inside((const uint8_t *)t->data + t->nbytes, g2->file.data, g2->file.size));
        assert_int_equal((uintptr_t)t->data % 64, 0);
    }
    assert_int_equal(nconst, 5);
    assert_memory_equal(g2->tensors[2].data, b_data, sizeof b_data);

    /* the blob is the file's tail: the last constant ends at the end of the file */
    assert_true((const uint8_t *)g2->tensors[8].data == g2->file.data + g2->file.size);

    /* writing the read graph gives the same file */
    const char *path2 = tmp_path("g2.ir");
    assert_int_equal(synap_ir_write(g2, path2, &err), 0);
    struct synap_file f1, f2;
    assert_int_equal(synap_file_read(path, &f1, &err), 0);
    assert_int_equal(synap_file_read(path2, &f2, &err), 0);
    assert_int_equal(f1.size, f2.size);
    assert_memory_equal(f1.data, f2.data, f1.size);
    synap_file_close(&f1);
    synap_file_close(&f2);
    synap_graph_free(g2);

    /* a graph that fails verification writes nothing */
    g->nodes[0].inputs[0] = 99;
    const char *path3 = tmp_path("bad.ir");
    assert_int_equal(synap_ir_write(g, path3, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: node 'Conv_0' (Conv): input 0: tensor index 99 out of range",
             path3);
    assert_string_equal(err.msg, want);
    assert_int_equal(access(path3, F_OK), -1);
    synap_graph_free(g);

    assert_null(synap_ir_read(tmp_path("missing.ir"), &err));
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             tmp_path("missing.ir"));
    assert_string_equal(err.msg, want);
}

/* ---- dump --------------------------------------------------------------------- */
/* sha256 prefixes checked with Python: hashlib.sha256(np.array(w, np.float32).tobytes()) */
static const char expected_dump[] =
    "synap-ir 2  producer: test-producer 1.0\n"
    "inputs: %0 'input'\n"
    "outputs: %9 'output', %5 'clip \\'x\\'\\n'\n"
    "meta: {'source': 'model.onnx', 'opset': 17, 'x': [1.5, -2]}\n"
    "tensors:\n"
    "  %0 'input' float32 [1, 3, 4, 4]\n"
    "  %1 'conv1.weight' float32 [2, 3, 1, 1] const 24 bytes sha256:505d56a7e30dacf2\n"
    "  %2 'conv1.bias' float32 [2] const 8 bytes sha256:dee9bee38d8ce139\n"
    "  %3 'conv' float32 [1, 2, 4, 4]\n"
    "  %4 'max' float32 [] const 4 bytes sha256:fedcca07b1ccdacc\n"
    "  %5 'clip \\'x\\'\\n' float32 [1, 2, 4, 4]\n"
    "  %6 'q' uint8 [1, 2, 4, 4] quant asymmetric_affine scale=[0.0078125] zero_point=[128]\n"
    "  %7 'pc' int8 [2, 1] quant perchannel_symmetric_affine scale=[0.100000001, "
    "1.00000001e-07] zero_point=[0, -5] axis=0 const 2 bytes sha256:91b720949bf7054f\n"
    "  %8 'empty' int64 [0] const 0 bytes sha256:e3b0c44298fc1c14\n"
    "  %9 'output' uint8 [1, 2, 4, 4] quant asymmetric_affine scale=[0.0078125] "
    "zero_point=[128]\n"
    "nodes:\n"
    "  #0 'Conv_0' Conv (%0, %1, %2) -> (%3)  auto_pad='NOTSET' dilations=[1, 1] group=1 "
    "pads=[0, 0, 0, 0] strides=[2, 2]\n"
    "  #1 'Clip_1' Clip (%3, -, %4) -> (%5)  f=0.100000001 fs=[1.5, -0, 3.40282347e+38] "
    "neg=-9000000000 none=[] ss=['a', 'it\\'s'] t=%7\n"
    "  #2 'Relu_2' Relu (%5) -> (%6)  | delegate='npu' subgraph=3\n"
    "  #3 'Id_3' Identity (%6) -> (%9)  | subgraph=0\n";

static void test_dump(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_int_equal(synap_ir_dump(g, mem), 0);
    fclose(mem);
    assert_string_equal(text, expected_dump);
    free(text);
    synap_graph_free(g);
}

/* ---- damaged input -------------------------------------------------------------- */
static void test_truncated(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    uint8_t *b;
    size_t n;
    serialize_ok(g, &b, &n);
    synap_graph_free(g);
    for (size_t k = 0; k < n; k++) {
        /* a fresh copy of exactly k bytes, so ASan sees any read past the end */
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, b, k);
        struct synap_err err = {0};
        assert_null(synap_ir_read_mem(p, k, "t.ir", &err));
        char want[64];
        if (k == 0)
            snprintf(want, sizeof want, "t.ir: not a synap IR file");
        else
            snprintf(want, sizeof want, "t.ir: truncated file (%zu bytes)", k);
        assert_string_equal(err.msg, want);
        assert_int_equal(err.code, SYNAP_EINPUT);
        free(p);
    }
    /* and one byte too many */
    uint8_t *p = malloc(n + 1);
    memcpy(p, b, n);
    p[n] = 0;
    struct synap_err err = {0};
    assert_null(synap_ir_read_mem(p, n + 1, "t.ir", &err));
    assert_string_equal(err.msg, "t.ir: 1 bytes of garbage after the IR");
    free(p);
    free(b);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Random byte flips: every outcome is a clean error or a graph that verifies
 * (a flip inside the weights, say); ASan/UBSan watch for the rest. */
static void test_byte_flips(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    uint8_t *b;
    size_t n;
    serialize_ok(g, &b, &n);
    synap_graph_free(g);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    uint8_t *p = malloc(n);
    int nerr = 0, nok = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(p, b, n);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++) {
            /* half of the flips in the structure before the blob, where they matter */
            size_t pos = (it & 1) ? rnd() % n : rnd() % (n > 128 ? n - 128 : n);
            p[pos] ^= (uint8_t)(1 + rnd() % 255);
        }
        struct synap_err err = {0};
        struct synap_graph *r = synap_ir_read_mem(p, n, "t.ir", &err);
        if (r) {
            nok++;
            uint8_t *b2;
            size_t n2;
            assert_int_equal(synap_ir_serialize(r, &b2, &n2, &err), 0);
            free(b2);
            assert_int_equal(synap_ir_dump(r, devnull), 0);
            synap_graph_free(r);
        } else {
            nerr++;
            assert_true(strncmp(err.msg, "t.ir: ", 6) == 0);
        }
    }
    assert_true(nerr > 1000);
    assert_true(nok > 0);
    fclose(devnull);
    free(p);
    free(b);
}

/* ---- hand-packed files: the format as written in io.c, independent of the writer */
struct knobs {
    const char *format;
    int64_t version;
    const char *extra_key; /* an unknown top-level key before "graph" */
    int64_t in0, in1;      /* inputs of node 0 and node 1 */
    uint64_t data_off, data_n;
    const char *op0, *dtype0;
    int unsorted;
};

static struct knobs defaults(void)
{
    return (struct knobs){"synap-ir", 2, NULL, 0, 2, 0, 16, "Add", "float32", 0};
}

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void ptensor(msgpack_packer *pk, const char *name, const char *dtype, int64_t d1, int data,
                    uint64_t off, uint64_t n)
{
    msgpack_pack_map(pk, 3 + data);
    pstr(pk, "name");
    pstr(pk, name);
    pstr(pk, "dtype");
    pstr(pk, dtype);
    pstr(pk, "shape");
    msgpack_pack_array(pk, d1 ? 2 : 1);
    msgpack_pack_int(pk, d1 ? 1 : 4);
    if (d1) msgpack_pack_int64(pk, d1);
    if (data) {
        pstr(pk, "data");
        msgpack_pack_array(pk, 2);
        msgpack_pack_uint64(pk, off);
        msgpack_pack_uint64(pk, n);
    }
}

/* x[1,4] + c[4] -> y; Relu(y) -> z. Returns a malloc'd file. */
static uint8_t *hand_pack(const struct knobs *k, size_t *n)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7 + (k->extra_key != NULL) + (k->version >= 2));
    pstr(&pk, "format");
    pstr(&pk, k->format);
    pstr(&pk, "version");
    msgpack_pack_int64(&pk, k->version);
    pstr(&pk, "producer");
    pstr(&pk, "hand");
    if (k->extra_key) {
        pstr(&pk, k->extra_key);
        msgpack_pack_nil(&pk);
    }
    pstr(&pk, "graph");
    msgpack_pack_map(&pk, 4);
    pstr(&pk, "tensors");
    msgpack_pack_array(&pk, 4);
    ptensor(&pk, "x", k->dtype0, 4, 0, 0, 0);
    ptensor(&pk, "c", "float32", 0, 1, k->data_off, k->data_n);
    ptensor(&pk, "y", "float32", 4, 0, 0, 0);
    ptensor(&pk, "z", "float32", 4, 0, 0, 0);
    pstr(&pk, "nodes");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 5);
    pstr(&pk, "name");
    pstr(&pk, "n0");
    pstr(&pk, "op");
    pstr(&pk, k->op0);
    pstr(&pk, "inputs");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int64(&pk, k->in0);
    msgpack_pack_int(&pk, 1);
    pstr(&pk, "outputs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 2);
    pstr(&pk, "attrs");
    msgpack_pack_map(&pk, 2);
    pstr(&pk, k->unsorted ? "b" : "a");
    msgpack_pack_array(&pk, 2);
    pstr(&pk, "i");
    msgpack_pack_int(&pk, 1);
    pstr(&pk, k->unsorted ? "a" : "b");
    msgpack_pack_array(&pk, 2);
    pstr(&pk, "f");
    msgpack_pack_float(&pk, 0.5f);
    msgpack_pack_map(&pk, 5);
    pstr(&pk, "name");
    pstr(&pk, "n1");
    pstr(&pk, "op");
    pstr(&pk, "Relu");
    pstr(&pk, "inputs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int64(&pk, k->in1);
    pstr(&pk, "outputs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 3);
    pstr(&pk, "attrs");
    msgpack_pack_map(&pk, 0);
    pstr(&pk, "inputs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 0);
    pstr(&pk, "outputs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 3);
    pstr(&pk, "meta");
    msgpack_pack_map(&pk, 0);
    if (k->version >= 2) { /* version 2 added "sections" */
        pstr(&pk, "sections");
        msgpack_pack_map(&pk, 0);
    }
    size_t npad = (64 - (sb.size + 16) % 64) % 64;
    static const char zeros[64];
    pstr(&pk, "pad");
    msgpack_pack_bin_with_body(&pk, zeros, npad);
    pstr(&pk, "blob");
    const uint8_t hdr[5] = {0xc6, 0, 0, 0, 64};
    msgpack_sbuffer_write(&sb, (const char *)hdr, 5);
    float c[16] = {1, 2, 3, 4};
    msgpack_sbuffer_write(&sb, (const char *)c, sizeof c);
    *n = sb.size;
    return (uint8_t *)msgpack_sbuffer_release(&sb);
}

static void expect_read_error(const struct knobs *k, const char *msg)
{
    size_t n;
    uint8_t *p = hand_pack(k, &n);
    struct synap_err err = {0};
    struct synap_graph *g = synap_ir_read_mem(p, n, "t.ir", &err);
    assert_null(g);
    assert_string_equal(err.msg, msg);
    free(p);
}

static void test_hand_packed(void **state)
{
    (void)state;
    struct knobs k = defaults();
    size_t n;
    uint8_t *p = hand_pack(&k, &n);
    struct synap_err err = {0};
    struct synap_graph *g = synap_ir_read_mem(p, n, "t.ir", &err);
    if (!g) fail_msg("%s", err.msg);
    assert_int_equal((uintptr_t)((const uint8_t *)g->tensors[1].data - p), n - 64);
    assert_int_equal(g->tensors[1].nbytes, 16);
    assert_int_equal(synap_attr_int(&g->nodes[0], "a", 0), 1);
    /* our writer produces exactly the hand-packed bytes */
    uint8_t *b;
    size_t nb;
    serialize_ok(g, &b, &nb);
    assert_int_equal(nb, n - 48); /* the writer's blob stops after the last constant */
    assert_memory_equal(b, p, n - 64 - 5);
    free(b);
    synap_graph_free(g);
    free(p);

    k = defaults();
    k.format = "onnx";
    expect_read_error(&k, "t.ir: not a synap IR file");
    k = defaults();
    k.version = 99;
    expect_read_error(&k, "t.ir: IR version 99 is newer than this tool (2)");
    /* version 1 files (no sections) are still read */
    k = defaults();
    k.version = 1;
    p = hand_pack(&k, &n);
    g = synap_ir_read_mem(p, n, "v1.ir", &err);
    if (!g) fail_msg("%s", err.msg);
    assert_null(g->sections);
    synap_graph_free(g);
    free(p);
    k = defaults();
    k.version = 0;
    expect_read_error(&k, "t.ir: invalid IR version");
    k = defaults();
    k.extra_key = "extra";
    expect_read_error(&k, "t.ir: top level: unknown key 'extra'");
    k = defaults();
    k.extra_key = "producer";
    expect_read_error(&k, "t.ir: top level: repeated or misplaced key 'producer'");
    k = defaults();
    k.in0 = 9;
    expect_read_error(&k, "t.ir: node 0: input 0: tensor index 9 out of range (4 tensors)");
    k = defaults();
    k.in0 = -1;
    expect_read_error(&k, "t.ir: node 0: input 0: integer out of range");
    k = defaults();
    k.in0 = 3; /* node 0 reads z, which node 1 computes from y, which node 0 computes */
    expect_read_error(&k, "t.ir: node 'n0' (Add): input 0 'z' is not produced before the node "
                          "(graph not topologically sorted, or a cycle)");
    k = defaults();
    k.data_off = 64;
    expect_read_error(&k, "t.ir: tensor 1: data range [64, 80) outside blob of 64 bytes");
    k = defaults();
    k.data_off = 60;
    k.data_n = 4;
    expect_read_error(&k, "t.ir: tensor 1: data offset 60 not a multiple of 64");
    k = defaults();
    k.data_off = UINT64_MAX;
    expect_read_error(&k, "t.ir: tensor 1: data offset: integer out of range");
    k = defaults();
    k.data_n = 12;
    expect_read_error(&k, "t.ir: tensor 1 'c': constant has 12 bytes, shape needs 16");
    k = defaults();
    k.op0 = "Frobnicate";
    expect_read_error(&k, "t.ir: node 0: unknown op 'Frobnicate'");
    k = defaults();
    k.dtype0 = "float128";
    expect_read_error(&k, "t.ir: tensor 0: unknown dtype 'float128'");
    k = defaults();
    k.dtype0 = "f'\n"; /* names from the file are escaped: errors stay on one line */
    expect_read_error(&k, "t.ir: tensor 0: unknown dtype 'f\\x27\\x0a'");
    k = defaults();
    k.unsorted = 1;
    expect_read_error(&k, "t.ir: node 0: attribute 'a' out of order or repeated");
}

static uint8_t *find(uint8_t *p, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i + len <= n; i++)
        if (!memcmp(p + i, s, len)) return p + i;
    return NULL;
}

/* Names with NUL bytes and a structurally broken msgpack byte. */
static void test_bad_bytes(void **state)
{
    (void)state;
    struct knobs k = defaults();
    size_t n;
    uint8_t *p = hand_pack(&k, &n);
    /* tensor 0's name "x" is the first "\xa1x" after "tensors" */
    uint8_t *t = find(p, n, "\xa7tensors", 8);
    assert_non_null(t);
    uint8_t *x = find(t, n - (size_t)(t - p), "\xa1x", 2);
    assert_non_null(x);
    x[1] = 0;
    struct synap_err err = {0};
    assert_null(synap_ir_read_mem(p, n, "t.ir", &err));
    assert_string_equal(err.msg, "t.ir: tensor 0: name: string contains a NUL byte");
    x[1] = 'x';
    x[0] = 0xc1;
    assert_null(synap_ir_read_mem(p, n, "t.ir", &err));
    char want[80];
    snprintf(want, sizeof want, "t.ir: invalid msgpack byte 0xc1 at byte %zu", (size_t)(x - p));
    assert_string_equal(err.msg, want);
    /* a huge array count must not make msgpack-c allocate it */
    x[0] = 0xdd;
    assert_null(synap_ir_read_mem(p, n, "t.ir", &err));
    snprintf(want, sizeof want, "t.ir: truncated file (%zu bytes)", n);
    assert_string_equal(err.msg, want);
    free(p);

    assert_null(synap_ir_read_mem("\x93\x01\x02\x03", 4, "t.ir", &err));
    assert_string_equal(err.msg, "t.ir: not a synap IR file");
}

/* msgpack-c stops at 32 levels of nesting; a deeper meta is refused on read
 * (not a crash) and summarized by dump. */
static void test_deep_meta(void **state)
{
    (void)state;
    struct synap_graph *g = build_graph();
    uint8_t meta[64];
    meta[0] = 0x81; /* {"a": [[[...[]...]]]} */
    meta[1] = 0xa1;
    meta[2] = 'a';
    for (int i = 0; i < 40; i++)
        meta[3 + i] = 0x91;
    meta[43] = 0x90;
    g->meta = meta;
    g->meta_nbytes = 44;
    uint8_t *b;
    size_t n;
    serialize_ok(g, &b, &n);
    struct synap_err err = {0};
    assert_null(synap_ir_read_mem(b, n, "t.ir", &err));
    assert_string_equal(err.msg, "t.ir: msgpack nested too deeply");
    free(b);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_int_equal(synap_ir_dump(g, mem), 0);
    fclose(mem);
    assert_non_null(strstr(text, "\nmeta: <44 bytes of invalid msgpack>\n"));
    free(text);

    /* meta must be one map: anything else is refused before writing */
    g->meta_nbytes = 43; /* cut short */
    assert_int_equal(synap_ir_serialize(g, &b, &n, &err), -1);
    assert_string_equal(err.msg, "<graph>: meta is not exactly one msgpack map");
    synap_graph_free(g);
}

/* Regression: a graph without constants has an empty blob; msgpack-c's
 * pointer for an empty bin is not where a payload would start, and the
 * reader once rejected such files as misaligned. */
static void test_no_constants(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    int64_t d[] = {2, 3};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 2, d);
    struct synap_node *n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = x, n->outputs[0] = y;
    gh_set_io(g, x, y);
    struct synap_err err = {0};
    uint8_t *bytes;
    size_t nbytes;
    assert_int_equal(synap_ir_serialize(g, &bytes, &nbytes, &err), 0);
    uint8_t *aligned = synap_xaligned(nbytes);
    memcpy(aligned, bytes, nbytes);
    struct synap_graph *r = synap_ir_read_mem(aligned, nbytes, "noconst.ir", &err);
    assert_non_null(r);
    assert_int_equal(r->nnodes, 1);
    synap_graph_free(r);
    free(aligned);
    free(bytes);
    synap_graph_free(g);
}

/* Stage sections: set keeps keys sorted and replaces; they survive a round trip. */
static void test_sections(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    int64_t d[] = {2};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 1, d);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 1, d);
    struct synap_node *n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = x, n->outputs[0] = y;
    gh_set_io(g, x, y);
    const uint8_t one[] = {0x01}, arr[] = {0x92, 0x05, 0xa1, 'z'}, two[] = {0x02};
    synap_ir_section_set(g, "codegen", one, 1);
    synap_ir_section_set(g, "alpha", arr, sizeof arr);
    synap_ir_section_set(g, "codegen", two, 1); /* replaces */
    const uint8_t expect[] = {0x82, 0xa5, 'a', 'l', 'p', 'h', 'a', 0x92, 0x05, 0xa1, 'z',
                              0xa7, 'c', 'o', 'd', 'e', 'g', 'e', 'n', 0x02};
    assert_int_equal(g->sections_nbytes, sizeof expect);
    assert_memory_equal(g->sections, expect, sizeof expect);
    struct synap_err err = {0};
    uint8_t *bytes;
    size_t nbytes;
    assert_int_equal(synap_ir_serialize(g, &bytes, &nbytes, &err), 0);
    uint8_t *aligned = synap_xaligned(nbytes);
    memcpy(aligned, bytes, nbytes);
    struct synap_graph *r = synap_ir_read_mem(aligned, nbytes, "s.ir", &err);
    if (!r) fail_msg("%s", err.msg);
    const uint8_t *v;
    size_t nv;
    assert_int_equal(synap_ir_section_get(r, "alpha", &v, &nv, &err), 1);
    assert_int_equal(nv, sizeof arr);
    assert_memory_equal(v, arr, sizeof arr);
    assert_int_equal(synap_ir_section_get(r, "codegen", &v, &nv, &err), 1);
    assert_int_equal(v[0], 0x02);
    assert_int_equal(synap_ir_section_get(r, "missing", &v, &nv, &err), 0);
    char *text = NULL;
    size_t ntext = 0;
    FILE *mf = open_memstream(&text, &ntext);
    assert_int_equal(synap_ir_dump(r, mf), 0);
    fclose(mf);
    assert_non_null(strstr(text, "\nsection 'codegen': 2\n"));
    free(text);
    synap_ir_section_set(r, "alpha", NULL, 0);
    synap_ir_section_set(r, "codegen", NULL, 0);
    assert_null(r->sections);
    synap_graph_free(r);
    free(aligned);
    free(bytes);
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_meta),
        cmocka_unit_test(test_file_weights_in_place),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_hand_packed),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_deep_meta),
        cmocka_unit_test(test_no_constants),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
