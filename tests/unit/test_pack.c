/* synap-pack: splitting a 3-subgraph graph, the bundle wiring, the
 * per-subgraph IRs and sections, model_info.txt against a golden file,
 * --out-format nb, options errors and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codegen/codegen.h"
#include "ir/ir.h"
#include "pack/pack.h"
#include "util/json.h"
#include "util/zip.h"

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

struct layer {
    int id;
    const char *name, *type;
    int subgraph;
    int nodes[4], nnodes;
    int64_t macs, rd, wr, cycles;
};

static void set_codegen(struct synap_graph *g, const struct layer *ls, size_t nl, int nsubs,
                        const char *const *delegates, const int64_t *arena, uint32_t planned)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pstr(&pk, "version");
    msgpack_pack_int(&pk, 1);
    pstr(&pk, "target");
    pstr(&pk, "VS680");
    pstr(&pk, "layers");
    msgpack_pack_array(&pk, nl);
    for (size_t i = 0; i < nl; i++) {
        msgpack_pack_map(&pk, 9);
        pstr(&pk, "id");
        msgpack_pack_int(&pk, ls[i].id);
        pstr(&pk, "name");
        pstr(&pk, ls[i].name);
        pstr(&pk, "type");
        pstr(&pk, ls[i].type);
        pstr(&pk, "subgraph");
        msgpack_pack_int(&pk, ls[i].subgraph);
        pstr(&pk, "nodes");
        msgpack_pack_array(&pk, (size_t)ls[i].nnodes);
        for (int k = 0; k < ls[i].nnodes; k++)
            msgpack_pack_int(&pk, ls[i].nodes[k]);
        pstr(&pk, "macs");
        msgpack_pack_int64(&pk, ls[i].macs);
        pstr(&pk, "bytes_read");
        msgpack_pack_int64(&pk, ls[i].rd);
        pstr(&pk, "bytes_written");
        msgpack_pack_int64(&pk, ls[i].wr);
        pstr(&pk, "cycles");
        msgpack_pack_int64(&pk, ls[i].cycles);
    }
    pstr(&pk, "subgraphs");
    msgpack_pack_array(&pk, (size_t)nsubs);
    for (int k = 0; k < nsubs; k++) {
        msgpack_pack_map(&pk, 4);
        pstr(&pk, "id");
        msgpack_pack_int(&pk, k);
        pstr(&pk, "delegate");
        pstr(&pk, delegates[k]);
        pstr(&pk, "arena_bytes");
        msgpack_pack_int64(&pk, arena[k]);
        pstr(&pk, "tensors");
        if (k == 0 && planned != SYNAP_NONE) {
            msgpack_pack_array(&pk, 1);
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint32(&pk, planned);
            msgpack_pack_int(&pk, 0);
            msgpack_pack_int(&pk, 128);
        } else {
            msgpack_pack_array(&pk, 0);
        }
    }
    synap_ir_section_set(g, "codegen", (const uint8_t *)b.data, b.size);
    msgpack_sbuffer_destroy(&b);
}

static void annotate(struct synap_graph *g, size_t i, const char *delegate, int subgraph)
{
    g->nodes[i].delegate = delegate;
    g->nodes[i].subgraph = subgraph;
}

/* x -> conv0 (+w, b) -> t0 -> relu0 -> t1        npu, subgraph 0
 * t1 -> sig -> t2                                 cpu, subgraph 1
 * (t2, t1) -> add -> y                            npu, subgraph 2
 * outputs: y, t2 */
static struct synap_graph *three_subgraphs(void)
{
    struct synap_graph *g = synap_graph_new();
    int64_t d4[4] = {1, 2, 4, 4}, dw[4] = {2, 2, 1, 1}, db[1] = {2};
    float w[4] = {1, 0, 0, 1}, bias[2] = {0.5f, -0.5f};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, dw, w, sizeof w);
    uint32_t bt = synap_graph_add_const(g, "b", SYNAP_DTYPE_FLOAT32, 1, db, bias, sizeof bias);
    uint32_t t0 = synap_graph_add_tensor(g, "t0", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t t1 = synap_graph_add_tensor(g, "t1", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t t2 = synap_graph_add_tensor(g, "t2", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, "conv0", SYNAP_OP_CONV, 3, 1);
    n->inputs[0] = x, n->inputs[1] = wt, n->inputs[2] = bt, n->outputs[0] = t0;
    int64_t k[2] = {1, 1};
    synap_node_set_ints(g, n, "kernel_shape", k, 2);
    n = synap_graph_add_node(g, "relu0", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = t0, n->outputs[0] = t1;
    n = synap_graph_add_node(g, "sig", SYNAP_OP_SIGMOID, 1, 1);
    n->inputs[0] = t1, n->outputs[0] = t2;
    n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = t2, n->inputs[1] = t1, n->outputs[0] = y;
    g->inputs = synap_arena_alloc(g->arena, sizeof(uint32_t));
    g->inputs[0] = x;
    g->ninputs = 1;
    g->outputs = synap_arena_alloc(g->arena, 2 * sizeof(uint32_t));
    g->outputs[0] = y, g->outputs[1] = t2;
    g->noutputs = 2;
    annotate(g, 0, "npu", 0);
    annotate(g, 1, "npu", 0);
    annotate(g, 2, "cpu", 1);
    annotate(g, 3, "npu", 2);
    static const struct layer ls[] = {
        {0, "conv0", "ConvolutionReluLayer", 0, {0, 1}, 2, 128, 144, 128, 3},
        {1, "sig", "SigmoidLayer", 1, {2}, 1, 0, 128, 128, 0},
        {2, "add", "EltwiseLayer", 2, {3}, 1, 0, 256, 128, 2},
    };
    static const char *const dl[] = {"npu", "cpu", "npu"};
    static const int64_t arena[] = {128, 0, 0};
    set_codegen(g, ls, 3, 3, dl, arena, t0);
    return g;
}

/* conv0 + relu0 alone, one npu subgraph. */
static struct synap_graph *one_subgraph(void)
{
    struct synap_graph *g = three_subgraphs();
    g->nnodes = 2;
    g->outputs[0] = 4; /* t1 */
    g->noutputs = 1;
    static const struct layer ls[] = {
        {0, "conv0", "ConvolutionReluLayer", 0, {0, 1}, 2, 128, 144, 128, 3},
    };
    static const char *const dl[] = {"npu"};
    static const int64_t arena[] = {128};
    set_codegen(g, ls, 1, 1, dl, arena, 3);
    return g;
}

static const struct synap_json *parse(struct synap_arena *a, const char *text)
{
    struct synap_err err = {0};
    const struct synap_json *j = synap_json_parse(a, text, strlen(text), "pack.json", &err);
    if (!j) fail_msg("%s", err.msg);
    return j;
}

static const char *OPTIONS =
    "{\"target\": \"VS680\", \"model\": \"/home/someone/models/tiny.onnx\","
    " \"inputs\": [{\"name\": \"x\", \"means\": 128, \"scale\": 64, \"format\": \"rgb\"}],"
    " \"outputs\": [{\"format\": \"confidence_array\"}, {\"name\": \"t2\", \"dequantize\": true}]}";

static void pack_ok(const struct synap_graph *g, const char *options, struct synap_pack_out *out)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    int rc = synap_pack(g, parse(a, options), "60-codegen.ir", out, &err);
    synap_arena_free(a);
    if (rc) fail_msg("%s", err.msg);
}

static void free_out(struct synap_pack_out *o)
{
    for (size_t i = 0; i < o->nout; i++)
        free(o->data[i]);
}

static char *entry_text(const struct synap_zip *z, const char *name)
{
    const struct synap_zip_entry *e = synap_zip_find(z, name);
    assert_non_null(e);
    char *s = malloc(e->size + 1);
    memcpy(s, e->data, e->size);
    s[e->size] = 0;
    return s;
}

static void test_bundle_wiring(void **state)
{
    (void)state;
    struct synap_graph *g = three_subgraphs();
    struct synap_pack_out out;
    pack_ok(g, OPTIONS, &out);
    assert_int_equal(out.nout, 2);
    struct synap_zip z;
    struct synap_err err = {0};
    assert_int_equal(synap_zip_open(out.data[0], out.n[0], "model.synap", &z, &err), 0);
    static const char *const names[] = {"bundle.json",  "0/model.ir", "0/model.json", "1/model.ir",
                                        "1/model.json", "2/model.ir", "2/model.json"};
    assert_int_equal(z.nentries, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(z.entries[i].name, names[i]);
        assert_int_equal((size_t)(z.entries[i].data - out.data[0]) % 64, 0);
    }
    char *bundle = entry_text(&z, "bundle.json");
    assert_string_equal(bundle,
                        "{\n"
                        "  \"graph\": [\n"
                        "    {\n"
                        "      \"inputs\": [\n"
                        "        {\n          \"subgraph\": -1,\n          \"out\": 0\n        }\n"
                        "      ],\n"
                        "      \"model\": \"0/model.ir\",\n"
                        "      \"meta\": \"0/model.json\"\n"
                        "    },\n"
                        "    {\n"
                        "      \"inputs\": [\n"
                        "        {\n          \"subgraph\": 0,\n          \"out\": 0\n        }\n"
                        "      ],\n"
                        "      \"model\": \"1/model.ir\",\n"
                        "      \"meta\": \"1/model.json\"\n"
                        "    },\n"
                        "    {\n"
                        "      \"inputs\": [\n"
                        "        {\n          \"subgraph\": 1,\n          \"out\": 0\n        },\n"
                        "        {\n          \"subgraph\": 0,\n          \"out\": 0\n        }\n"
                        "      ],\n"
                        "      \"model\": \"2/model.ir\",\n"
                        "      \"meta\": \"2/model.json\"\n"
                        "    }\n"
                        "  ],\n"
                        "  \"outputs\": [\n"
                        "    {\n      \"subgraph\": 2,\n      \"out\": 0\n    },\n"
                        "    {\n      \"subgraph\": 1,\n      \"out\": 0\n    }\n"
                        "  ]\n"
                        "}\n");
    free(bundle);

    /* each subgraph IR: its nodes, constants, boundary tensors */
    static const char *const ins[3][2] = {{"x"}, {"t1"}, {"t2", "t1"}};
    static const char *const outs[3] = {"t1", "t2", "y"};
    static const size_t nnodes[3] = {2, 1, 1}, nins[3] = {1, 1, 2}, ntensors[3] = {5, 2, 3};
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "%d/model.ir", k);
        const struct synap_zip_entry *e = synap_zip_find(&z, name);
        struct synap_graph *h = synap_ir_read_mem(e->data, e->size, name, &err);
        if (!h) fail_msg("%s", err.msg);
        assert_int_equal(h->nnodes, nnodes[k]);
        assert_int_equal(h->ntensors, ntensors[k]);
        assert_int_equal(h->ninputs, nins[k]);
        for (size_t i = 0; i < nins[k]; i++)
            assert_string_equal(h->tensors[h->inputs[i]].name, ins[k][i]);
        assert_int_equal(h->noutputs, 1);
        assert_string_equal(h->tensors[h->outputs[0]].name, outs[k]);
        assert_string_equal(h->producer, "synap-pack " SYNAP_VERSION);
        /* the codegen section, restricted and renumbered: codegen's own reader
         * (what the runtime uses) accepts it */
        struct synap_codegen_info info;
        if (synap_codegen_section_read(h, &info, &err) != 1) fail_msg("%s", err.msg);
        assert_int_equal(info.nsubgraphs, 1);
        assert_int_equal(info.nlayers, 1);
        assert_string_equal(info.target, "VS680");
        synap_codegen_info_free(&info);
        const uint8_t *sec;
        size_t nsec;
        assert_int_equal(synap_ir_section_get(h, "codegen", &sec, &nsec, &err), 1);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        assert_int_equal(msgpack_unpack_next(&up, (const char *)sec, nsec, NULL),
                         MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *root = &up.data;
        const msgpack_object *layers = &root->via.map.ptr[2].val;
        const msgpack_object *subs = &root->via.map.ptr[3].val;
        assert_int_equal(layers->via.array.size, 1);
        assert_int_equal(subs->via.array.size, 1);
        const msgpack_object *sub = &subs->via.array.ptr[0];
        assert_int_equal(sub->via.map.ptr[0].val.via.u64, 0); /* a one-subgraph model */
        assert_int_equal(layers->via.array.ptr[0].via.map.ptr[0].val.via.u64, 0);
        for (size_t i = 0; i < h->nnodes; i++)
            assert_int_equal(h->nodes[i].subgraph, 0);
        const msgpack_object *tensors = &sub->via.map.ptr[3].val;
        if (k == 0) {
            const msgpack_object *ln = &layers->via.array.ptr[0].via.map.ptr[4].val;
            assert_int_equal(ln->via.array.size, 2);
            assert_int_equal(ln->via.array.ptr[1].via.u64, 1);
            assert_int_equal(tensors->via.array.size, 1);
            uint64_t t = tensors->via.array.ptr[0].via.array.ptr[0].via.u64;
            assert_string_equal(h->tensors[t].name, "t0"); /* renumbered */
            assert_non_null(h->tensors[1].data);           /* the weights came along */
        } else {
            assert_int_equal(tensors->via.array.size, 0);
            const msgpack_object *ln = &layers->via.array.ptr[0].via.map.ptr[4].val;
            assert_int_equal(ln->via.array.ptr[0].via.u64, 0);
        }
        msgpack_unpacked_destroy(&up);
        synap_graph_free(h);
    }

    char *mj = entry_text(&z, "0/model.json");
    assert_non_null(strstr(mj, "\"delegate\": \"npu\",\n  \"secure\": false,\n  \"Inputs\": {\n"
                               "    \"x\": {\n      \"name\": \"x\","));
    assert_non_null(strstr(mj, "\"data_format\": \"rgb\",\n      \"mean\": [\n        128,\n"
                               "        128\n      ],\n      \"scale\": 64,\n"));
    free(mj);
    mj = entry_text(&z, "2/model.json");
    assert_non_null(strstr(mj, "\"data_format\": \"confidence_array\""));
    free(mj);
    synap_zip_free(&z);
    free_out(&out);
    synap_graph_free(g);
}

static char *read_golden(const char *name, size_t *n)
{
    const char *dir = getenv("SYNAP_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/pack/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *s = calloc(1, 1 << 16);
    *n = fread(s, 1, (1 << 16) - 1, f);
    fclose(f);
    return s;
}

/* Set SYNAP_UPDATE_GOLDEN=DIR to (re)write the golden files there for review. */
static void compare_golden(const char *name, const uint8_t *got, size_t n)
{
    const char *update = getenv("SYNAP_UPDATE_GOLDEN");
    if (update) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", update, name);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(got, 1, n, f);
        fclose(f);
    }
    size_t nwant;
    char *want = read_golden(name, &nwant);
    char *g = malloc(n + 1);
    memcpy(g, got, n);
    g[n] = 0;
    assert_string_equal(g, want);
    free(g);
    free(want);
}

static void test_model_info_golden(void **state)
{
    (void)state;
    struct synap_graph *g = three_subgraphs();
    struct synap_pack_out out;
    pack_ok(g, OPTIONS, &out);
    compare_golden("model_info_3.txt", out.data[1], out.n[1]);
    free_out(&out);
    synap_graph_free(g);

    g = one_subgraph();
    pack_ok(g, "{\"target\": \"VS680\", \"model\": \"tiny.onnx\"}", &out);
    compare_golden("model_info_1.txt", out.data[1], out.n[1]);
    free_out(&out);
    synap_graph_free(g);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct synap_graph *g = three_subgraphs();
    struct synap_pack_out a, b;
    pack_ok(g, OPTIONS, &a);
    pack_ok(g, OPTIONS, &b);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(a.n[i], b.n[i]);
        assert_memory_equal(a.data[i], b.data[i], a.n[i]);
    }
    /* no path of the options in any output */
    for (size_t i = 0; i + 5 < a.n[0]; i++)
        assert_false(memcmp(a.data[0] + i, "/home", 5) == 0);
    assert_null(strstr((const char *)a.data[1], "/home"));
    free_out(&a);
    free_out(&b);
    synap_graph_free(g);
}

static void test_out_format_nb(void **state)
{
    (void)state;
    struct synap_graph *g = three_subgraphs();
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    struct synap_pack_out out;
    assert_int_equal(
        synap_pack(g, parse(a, "{\"out_format\": \"nb\"}"), "60-codegen.ir", &out, &err), -1);
    assert_string_equal(err.msg, "--out-format nb needs exactly one npu subgraph, this model has 3 "
                                 "subgraphs (npu, cpu, npu)");
    assert_int_equal(out.nout, 0);
    synap_graph_free(g);

    g = one_subgraph();
    g->nodes[0].delegate = g->nodes[1].delegate = "cpu";
    assert_int_equal(
        synap_pack(g, parse(a, "{\"out_format\": \"nb\"}"), "60-codegen.ir", &out, &err), -1);
    assert_string_equal(err.msg, "--out-format nb needs exactly one npu subgraph, this model has 1 "
                                 "subgraph (cpu)");
    g->nodes[0].delegate = g->nodes[1].delegate = "npu";

    pack_ok(g, "{\"out_format\": \"nb\"}", &out);
    assert_int_equal(out.nout, 3);
    struct synap_graph *h = synap_ir_read_mem(out.data[0], out.n[0], "model.nb", &err);
    if (!h) fail_msg("%s", err.msg);
    assert_int_equal(h->nnodes, 2);
    synap_graph_free(h);
    assert_non_null(strstr((const char *)out.data[2], "\"delegate\": \"npu\""));
    assert_non_null(strstr((const char *)out.data[1], "subgraph_0\ndelegate: npu\n"));
    free_out(&out);
    synap_graph_free(g);
    synap_arena_free(a);
}

static void expect_error(struct synap_graph *g, const char *options, const char *msg)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    struct synap_pack_out out;
    assert_int_equal(synap_pack(g, parse(a, options), "60-codegen.ir", &out, &err), -1);
    assert_string_equal(err.msg, msg);
    assert_int_equal(out.nout, 0);
    synap_arena_free(a);
}

/* Damaged sections: lib/codegen's reader words the problem; pack names the file. */
static void expect_section_error(struct synap_graph *g)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    struct synap_pack_out out;
    assert_int_equal(synap_pack(g, parse(a, "{}"), "60-codegen.ir", &out, &err), -1);
    if (strncmp(err.msg, "60-codegen.ir: codegen section: ", 32) != 0) fail_msg("%s", err.msg);
    assert_int_equal(out.nout, 0);
    synap_arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    struct synap_graph *g = three_subgraphs();
    expect_error(
        g, "{\"scale\": 1}",
        "pack options: unknown key 'scale' in the options; valid keys: target, out_format, "
        "model, inputs, outputs, data_layout, input_format, output_format, "
        "dequantize_outputs, profiling");
    expect_error(g, "{\"inputs\": [{\"name\": \"x\", \"mean\": 1}]}",
                 "pack options: unknown key 'mean' in inputs[0]; valid keys: name, means, scale, "
                 "format, security");
    expect_error(g, "{\"inputs\": [{\"name\": \"nope\"}]}",
                 "pack options: input 'nope' is not a network input (inputs: x)");
    expect_error(g, "{\"outputs\": [{\"name\": \"t1\"}]}",
                 "pack options: output 't1' is not a network output (outputs: y, t2)");
    expect_error(g, "{\"inputs\": [{\"scale\": 0}]}",
                 "pack options: inputs[0].scale must be a number other than 0");
    expect_error(g, "{\"out_format\": \"tgz\"}",
                 "pack options: out_format must be \"synap\" or \"nb\"");
    expect_error(g, "{\"data_layout\": \"nhwc\"}",
                 "data_layout nhwc: not supported yet (ONNX models are nchw and no layout "
                 "conversion is implemented)");

    g->nodes[2].subgraph = -1;
    expect_error(
        g, "{}",
        "60-codegen.ir: node 'sig' has no subgraph or delegate (run synap-partition first)");
    g->nodes[2].subgraph = 1;
    g->nodes[3].subgraph = 0;
    expect_error(
        g, "{}",
        "60-codegen.ir: subgraph 0 uses tensor 't2' of the later subgraph 1 (subgraphs are "
        "not in execution order)");
    g->nodes[3].subgraph = 2;
    g->nodes[1].delegate = "cpu";
    expect_error(g, "{}",
                 "60-codegen.ir: subgraph 0 mixes delegates npu ('conv0') and cpu ('relu0')");
    g->nodes[1].delegate = "npu";
    g->nodes[0].subgraph = g->nodes[1].subgraph = 1;
    g->nodes[2].subgraph = 0;
    expect_error(
        g, "{}",
        "60-codegen.ir: subgraph 0 uses tensor 't1' of the later subgraph 1 (subgraphs are "
        "not in execution order)");
    synap_graph_free(g);

    g = three_subgraphs();
    static const struct layer bad[] = {
        {0, "conv0", "ConvolutionReluLayer", 0, {0, 2}, 2, 0, 0, 0, 0},
    };
    static const char *const dl[] = {"npu"};
    static const int64_t arena[] = {0};
    set_codegen(g, bad, 1, 1, dl, arena, SYNAP_NONE);
    expect_error(g, "{}",
                 "60-codegen.ir: codegen section: layer 0: node 'sig' is in subgraph 1, not 0");
    set_codegen(g, bad, 1, 1, dl, arena, 6);
    static const struct layer bad2[] = {
        {0, "conv0", "ConvolutionReluLayer", 0, {0, 9}, 2, 0, 0, 0, 0},
    };
    set_codegen(g, bad2, 1, 1, dl, arena, 6);
    expect_section_error(g);
    static const struct layer good[] = {
        {0, "conv0", "ConvolutionReluLayer", 0, {0, 1}, 2, 0, 0, 0, 0},
    };
    set_codegen(g, good, 1, 1, dl, arena, 6);
    expect_section_error(g);
    synap_ir_section_set(g, "codegen", (const uint8_t *)"\x81\xa7version\x02", 10);
    expect_section_error(g);
    synap_ir_section_set(g, "codegen", NULL, 0);
    expect_error(g, "{}", "60-codegen.ir: no codegen section (run synap-codegen first)");
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_wiring), cmocka_unit_test(test_model_info_golden),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_out_format_nb),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
