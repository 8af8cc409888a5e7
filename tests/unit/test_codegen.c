/* synap-codegen's library: BatchNorm folding checked numerically with the
 * interpreter, fusion types, costs, the memory plan (verified, and run
 * through synap_plan_opts byte-identically), the section's bytes and its
 * validating reader, and the same on real models from ../shared. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "codegen/codegen.h"
#include "onnx/onnx.h"
#include "runtime/plan.h"

#include "graph_harness.h"

/* sha256 of the "codegen" section of test_net() on the stub target */
#define GOLDEN_SECTION_SHA256 "93434f4926798267c07bcd28154377c31db354ba0c8a54f3f13007333a24e2e0"

/* An in-memory target: npu + cpu, 1000 MHz, 425 float16 MACs/cycle,
 * 4000 MB/s = 4 bytes per cycle. */
static void stub_target(struct synap_target *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->name, "TEST");
    strcpy(t->path, "test.yaml");
    t->ndelegates = 2;
    strcpy(t->delegates[0], "npu");
    strcpy(t->delegates[1], "cpu");
    for (int d = 0; d < 2; d++)
        for (int o = 0; o < SYNAP_OP_COUNT; o++)
            t->supported[d][o] = true;
    t->clock_mhz = 1000;
    t->macs_per_cycle_int8 = 3950;
    t->macs_per_cycle_int16 = 850;
    t->macs_per_cycle_float16 = 425;
    t->ddr_bandwidth_mb_s = 4000;
}

static uint32_t rng_state;
static uint32_t act(struct synap_graph *g, const char *name)
{
    return synap_graph_add_tensor(g, name, SYNAP_DTYPE_FLOAT32, 0, NULL);
}

/*  x[1,4,8,8] -Conv(pads 1)-> BN -> Relu -> MaxPool 2x2 -> p1[1,6,4,4]
 *  p1 -ConvTranspose(group 2, stride 2, no bias)-> BN -> Sigmoid -> + x -> out0
 *  p1 -Flatten-> Gemm(transB) -> Relu -> Softmax -> out1 */
static struct synap_graph *test_net(void)
{
    rng_state = 12345;
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 4, 8, 8}, w1s[] = {6, 4, 3, 3}, c6[] = {6}, w2s[] = {6, 2, 2, 2}, c4[] = {4},
            wgs[] = {10, 96}, c10[] = {10};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    uint32_t w1 = gh_rand_const(g, &rng_state, "w1", 4, w1s, -0.5f, 0.5f);
    uint32_t b1 = gh_rand_const(g, &rng_state, "b1", 1, c6, -0.5f, 0.5f);
    uint32_t s1 = gh_rand_const(g, &rng_state, "bn1.scale", 1, c6, 0.5f, 1.5f);
    uint32_t o1 = gh_rand_const(g, &rng_state, "bn1.bias", 1, c6, -0.5f, 0.5f);
    uint32_t m1 = gh_rand_const(g, &rng_state, "bn1.mean", 1, c6, -0.2f, 0.2f);
    uint32_t v1 = gh_rand_const(g, &rng_state, "bn1.var", 1, c6, 0.5f, 2.0f);
    uint32_t w2 = gh_rand_const(g, &rng_state, "w2", 4, w2s, -0.5f, 0.5f);
    uint32_t s2 = gh_rand_const(g, &rng_state, "bn2.scale", 1, c4, 0.5f, 1.5f);
    uint32_t o2 = gh_rand_const(g, &rng_state, "bn2.bias", 1, c4, -0.5f, 0.5f);
    uint32_t m2 = gh_rand_const(g, &rng_state, "bn2.mean", 1, c4, -0.2f, 0.2f);
    uint32_t v2 = gh_rand_const(g, &rng_state, "bn2.var", 1, c4, 0.5f, 2.0f);
    uint32_t wg = gh_rand_const(g, &rng_state, "wg", 2, wgs, -0.2f, 0.2f);
    uint32_t bg = gh_rand_const(g, &rng_state, "bg", 1, c10, -0.2f, 0.2f);
    uint32_t c1 = act(g, "c1"), bn1 = act(g, "bn1"), r1 = act(g, "r1"), p1 = act(g, "p1"),
             ct = act(g, "ct"), bn2 = act(g, "bn2"), sg = act(g, "sg"), out0 = act(g, "out0"),
             f = act(g, "f"), gm = act(g, "gm"), gr = act(g, "gr"), out1 = act(g, "out1");
    struct synap_node *n = synap_graph_add_node(g, "conv1", SYNAP_OP_CONV, 3, 1);
    n->inputs[0] = x, n->inputs[1] = w1, n->inputs[2] = b1, n->outputs[0] = c1;
    int64_t pads[] = {1, 1, 1, 1}, k2[] = {2, 2};
    synap_node_set_ints(g, n, "pads", pads, 4);
    n = synap_graph_add_node(g, "bn1", SYNAP_OP_BATCH_NORMALIZATION, 5, 1);
    n->inputs[0] = c1, n->inputs[1] = s1, n->inputs[2] = o1, n->inputs[3] = m1, n->inputs[4] = v1;
    n->outputs[0] = bn1;
    synap_node_set_float(g, n, "epsilon", 1e-3f);
    n = synap_graph_add_node(g, "relu1", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = bn1, n->outputs[0] = r1;
    n = synap_graph_add_node(g, "pool1", SYNAP_OP_MAX_POOL, 1, 1);
    n->inputs[0] = r1, n->outputs[0] = p1;
    synap_node_set_ints(g, n, "kernel_shape", k2, 2);
    synap_node_set_ints(g, n, "strides", k2, 2);
    n = synap_graph_add_node(g, "deconv", SYNAP_OP_CONV_TRANSPOSE, 2, 1);
    n->inputs[0] = p1, n->inputs[1] = w2, n->outputs[0] = ct;
    synap_node_set_int(g, n, "group", 2);
    synap_node_set_ints(g, n, "strides", k2, 2);
    n = synap_graph_add_node(g, "bn2", SYNAP_OP_BATCH_NORMALIZATION, 5, 1);
    n->inputs[0] = ct, n->inputs[1] = s2, n->inputs[2] = o2, n->inputs[3] = m2, n->inputs[4] = v2;
    n->outputs[0] = bn2;
    n = synap_graph_add_node(g, "sig", SYNAP_OP_SIGMOID, 1, 1);
    n->inputs[0] = bn2, n->outputs[0] = sg;
    n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = sg, n->inputs[1] = x, n->outputs[0] = out0;
    n = synap_graph_add_node(g, "flatten", SYNAP_OP_FLATTEN, 1, 1);
    n->inputs[0] = p1, n->outputs[0] = f;
    n = synap_graph_add_node(g, "fc", SYNAP_OP_GEMM, 3, 1);
    n->inputs[0] = f, n->inputs[1] = wg, n->inputs[2] = bg, n->outputs[0] = gm;
    synap_node_set_int(g, n, "transB", 1);
    n = synap_graph_add_node(g, "relu2", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = gm, n->outputs[0] = gr;
    n = synap_graph_add_node(g, "softmax", SYNAP_OP_SOFTMAX, 1, 1);
    n->inputs[0] = gr, n->outputs[0] = out1;
    g->inputs = synap_arena_memdup(g->arena, &x, sizeof x);
    g->ninputs = 1;
    uint32_t outs[] = {out0, out1};
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 2;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, false, &err), 0);
    return g;
}

/* Runs g on a deterministic random input; returns the outputs concatenated
 * (malloc'd) and their byte count. offsets may be NULL. */
static uint8_t *run(const struct synap_graph *g, const int64_t *offsets, size_t arena_nbytes,
                    size_t *nbytes)
{
    struct synap_err err = {0};
    struct synap_plan_opts o = {
        .nthreads = 2, .arena_offsets = offsets, .arena_nbytes = arena_nbytes};
    struct synap_plan *p = synap_plan_new(g, &o, &err);
    if (!p) fail_msg("plan: %s", err.msg);
    rng_state = 777;
    for (size_t i = 0; i < g->ninputs; i++) {
        struct synap_value *v = synap_plan_input(p, i);
        assert_int_equal(v->dtype, SYNAP_DTYPE_FLOAT32);
        int64_t n = synap_value_nelem(v);
        for (int64_t k = 0; k < n; k++)
            ((float *)v->data)[k] = gh_rnd(&rng_state);
    }
    if (synap_plan_run(p, &err) < 0) fail_msg("run: %s", err.msg);
    size_t total = 0;
    for (size_t i = 0; i < g->noutputs; i++) {
        const struct synap_value *v = synap_plan_output(p, i);
        total += (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype);
    }
    uint8_t *buf = malloc(total ? total : 1), *w = buf;
    for (size_t i = 0; i < g->noutputs; i++) {
        const struct synap_value *v = synap_plan_output(p, i);
        size_t nb = (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype);
        memcpy(w, v->data, nb);
        w += nb;
    }
    synap_plan_free(p);
    *nbytes = total;
    return buf;
}

/* max |a - b| / max |a| over float32 arrays */
static double rel_diff(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    const float *x = (const float *)a, *y = (const float *)b;
    double md = 0, mx = 0;
    for (size_t i = 0; i < nbytes / 4; i++) {
        double d = fabs((double)x[i] - y[i]);
        if (d > md || d != d) md = d;
        if (fabs(x[i]) > mx) mx = fabs(x[i]);
    }
    return md / (mx > 0 ? mx : 1);
}

/* Runs with the plan of every subgraph (a one-subgraph graph) and compares
 * byte for byte with a run without a plan. */
static void check_plan_run(const struct synap_graph *g, const struct synap_codegen_info *info)
{
    struct synap_err err = {0};
    assert_int_equal(info->nsubgraphs, 1);
    int64_t *off = malloc(g->ntensors * sizeof *off);
    size_t arena = 0;
    assert_int_equal(synap_codegen_arena_offsets(info, 0, g->ntensors, off, &arena, &err), 0);
    assert_int_equal(arena, info->subgraphs[0].arena_bytes);
    size_t na, nb;
    uint8_t *a = run(g, NULL, 0, &na), *b = run(g, off, arena, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    free(off);
}

static void test_fold_fuse_costs(void **state)
{
    (void)state;
    struct synap_graph *g = test_net();
    size_t n0;
    uint8_t *before = run(g, NULL, 0, &n0);
    struct synap_target t;
    stub_target(&t);
    struct synap_codegen_info info;
    struct synap_codegen_stats st;
    struct synap_err err = {0};
    if (synap_codegen(g, &t, &info, &st, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(st.nfolded, 2);
    assert_true(st.unpartitioned);
    assert_int_equal(g->nnodes, 10);
    for (size_t i = 0; i < g->nnodes; i++) {
        assert_int_not_equal(g->nodes[i].op, SYNAP_OP_BATCH_NORMALIZATION);
        assert_int_equal(g->nodes[i].subgraph, 0);
        assert_string_equal(g->nodes[i].delegate, "npu");
    }
    /* the conv keeps its name and now produces the BN's output tensor */
    assert_string_equal(g->nodes[0].name, "conv1");
    assert_string_equal(g->tensors[g->nodes[0].outputs[0]].name, "bn1");
    assert_string_equal(g->nodes[3].name, "deconv");
    assert_string_equal(g->tensors[g->nodes[3].outputs[0]].name, "bn2");
    assert_int_equal(g->nodes[3].ninputs, 3);
    assert_int_equal(synap_graph_find_tensor(g, "c1"), SYNAP_NONE);
    assert_int_equal(synap_graph_find_tensor(g, "bn1.var"), SYNAP_NONE);

    size_t n1;
    uint8_t *after = run(g, NULL, 0, &n1);
    assert_int_equal(n0, n1);
    double d = rel_diff(before, after, n0);
    assert_true(d <= 1e-5);
    free(before);
    free(after);

    static const char *const types[] = {"ConvolutionReluPoolingLayer",
                                        "ConvolutionSigmoidLayer",
                                        "EltwiseLayer",
                                        "ReshapeLayer",
                                        "FullyConnectedReluLayer",
                                        "Softmax2Layer"};
    static const char *const names[] = {"conv1", "deconv", "add", "flatten", "fc", "softmax"};
    static const size_t nnodes[] = {3, 2, 1, 1, 2, 1};
    static const uint64_t macs[] = {13824, 768, 0, 0, 960, 0};
    static const uint64_t rd[] = {1024 + 864 + 24, 384 + 192 + 16, 2048, 384, 384 + 3840 + 40, 40};
    static const uint64_t wr[] = {384, 1024, 1024, 384, 40, 40};
    static const uint64_t cyc[] = {574, 404, 768, 192, 1076, 20};
    assert_int_equal(info.nlayers, 6);
    uint32_t next = 0;
    for (size_t i = 0; i < 6; i++) {
        const struct synap_codegen_layer *l = &info.layers[i];
        assert_int_equal(l->id, i);
        assert_string_equal(l->type, types[i]);
        assert_string_equal(l->name, names[i]);
        assert_int_equal(l->nnodes, nnodes[i]);
        for (size_t j = 0; j < l->nnodes; j++)
            assert_int_equal(l->nodes[j], next++);
        assert_int_equal(l->macs, macs[i]);
        assert_int_equal(l->bytes_read, rd[i]);
        assert_int_equal(l->bytes_written, wr[i]);
        assert_int_equal(l->cycles, cyc[i]);
        assert_int_equal(l->subgraph, 0);
    }
    /* memory plan: computed by hand in the comment of the test file's notes:
     * bn1 @0, r1 @1536, bn2 @0, sg @1024, p1 @3072, f @0, gm @384, gr @0 */
    assert_int_equal(info.nsubgraphs, 1);
    assert_string_equal(info.subgraphs[0].delegate, "npu");
    assert_int_equal(info.subgraphs[0].arena_bytes, 3456);
    assert_int_equal(info.subgraphs[0].ntensors, 8);
    static const char *const pn[] = {"bn1", "r1", "bn2", "sg", "p1", "f", "gm", "gr"};
    static const uint64_t po[] = {0, 1536, 0, 1024, 3072, 0, 384, 0};
    for (size_t i = 0; i < 8; i++) {
        uint32_t ti = synap_graph_find_tensor(g, pn[i]);
        int found = 0;
        for (size_t j = 0; j < info.subgraphs[0].ntensors; j++)
            if (info.subgraphs[0].tensors[j].tensor == ti) {
                assert_int_equal(info.subgraphs[0].tensors[j].offset, po[i]);
                found = 1;
            }
        assert_true(found);
    }
    assert_int_equal(synap_codegen_verify_plan(g, &info, &err), 0);
    check_plan_run(g, &info);
    synap_codegen_info_free(&info);
    synap_graph_free(g);
}

static uint8_t *serialize(const struct synap_graph *g, size_t *n)
{
    uint8_t *b;
    struct synap_err err = {0};
    if (synap_ir_serialize(g, &b, n, &err) < 0) fail_msg("%s", err.msg);
    return b;
}

static void sha_of_section(const struct synap_graph *g, char hex[65])
{
    const uint8_t *p;
    size_t n;
    struct synap_err err = {0};
    assert_int_equal(synap_ir_section_get(g, "codegen", &p, &n, &err), 1);
    synap_sha256_hex(p, n, hex);
}

static void test_section_roundtrip_deterministic(void **state)
{
    (void)state;
    struct synap_target t;
    stub_target(&t);
    struct synap_err err = {0};
    struct synap_graph *g1 = test_net(), *g2 = test_net();
    assert_int_equal(synap_codegen(g1, &t, NULL, NULL, &err), 0);
    assert_int_equal(synap_codegen(g2, &t, NULL, NULL, &err), 0);
    size_t n1, n2;
    uint8_t *b1 = serialize(g1, &n1), *b2 = serialize(g2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    /* the exact section bytes (integers in their shortest form) */
    char hex[65];
    sha_of_section(g1, hex);
    assert_string_equal(hex, GOLDEN_SECTION_SHA256);

    struct synap_graph *r = synap_ir_read_mem(b1, n1, "mem", &err);
    assert_non_null(r);
    struct synap_codegen_info a, b;
    assert_int_equal(synap_codegen_section_read(r, &a, &err), 1);
    synap_graph_free(g2);
    assert_int_equal(synap_codegen(g2 = test_net(), &t, &b, NULL, &err), 0);
    assert_string_equal(a.target, "TEST");
    assert_int_equal(a.nlayers, b.nlayers);
    for (size_t i = 0; i < a.nlayers; i++) {
        assert_string_equal(a.layers[i].type, b.layers[i].type);
        assert_string_equal(a.layers[i].name, b.layers[i].name);
        assert_int_equal(a.layers[i].nnodes, b.layers[i].nnodes);
        assert_memory_equal(a.layers[i].nodes, b.layers[i].nodes, a.layers[i].nnodes * 4);
        assert_int_equal(a.layers[i].macs, b.layers[i].macs);
        assert_int_equal(a.layers[i].cycles, b.layers[i].cycles);
        assert_int_equal(a.layers[i].bytes_read, b.layers[i].bytes_read);
        assert_int_equal(a.layers[i].bytes_written, b.layers[i].bytes_written);
    }
    assert_int_equal(a.nsubgraphs, 1);
    assert_int_equal(a.subgraphs[0].arena_bytes, 3456);
    assert_int_equal(a.subgraphs[0].ntensors, b.subgraphs[0].ntensors);
    assert_memory_equal(a.subgraphs[0].tensors, b.subgraphs[0].tensors,
                        a.subgraphs[0].ntensors * sizeof *a.subgraphs[0].tensors);
    /* a second codegen over its own output changes nothing */
    struct synap_codegen_stats st;
    assert_int_equal(synap_codegen(r, &t, NULL, &st, &err), 0);
    assert_int_equal(st.nfolded, 0);
    assert_false(st.unpartitioned);
    size_t n3;
    uint8_t *b3 = serialize(r, &n3);
    assert_int_equal(n3, n1);
    assert_memory_equal(b3, b1, n1);
    /* no section: 0 */
    struct synap_graph *plain = test_net();
    struct synap_codegen_info none;
    assert_int_equal(synap_codegen_section_read(plain, &none, &err), 0);
    assert_int_equal(none.nlayers, 0);
    assert_null(none.arena);
    synap_graph_free(plain);
    synap_codegen_info_free(&a);
    synap_codegen_info_free(&b);
    free(b1);
    free(b2);
    free(b3);
    synap_graph_free(r);
    synap_graph_free(g1);
    synap_graph_free(g2);
}

static void test_two_subgraphs(void **state)
{
    (void)state;
    struct synap_target t;
    stub_target(&t);
    struct synap_err err = {0};
    struct synap_graph *g = test_net();
    /* conv1..pool1 on the npu (subgraph 0), the rest on the cpu (subgraph 1) */
    const char *npu = synap_arena_strdup(g->arena, "npu"),
               *cpu = synap_arena_strdup(g->arena, "cpu");
    for (size_t i = 0; i < g->nnodes; i++) {
        g->nodes[i].subgraph = i < 4 ? 0 : 1;
        g->nodes[i].delegate = i < 4 ? npu : cpu;
    }
    struct synap_codegen_info info;
    struct synap_codegen_stats st;
    assert_int_equal(synap_codegen(g, &t, &info, &st, &err), 0);
    assert_false(st.unpartitioned);
    assert_int_equal(st.nfolded, 2);
    assert_int_equal(info.nsubgraphs, 2);
    assert_string_equal(info.subgraphs[0].delegate, "npu");
    assert_string_equal(info.subgraphs[1].delegate, "cpu");
    uint32_t p1 = synap_graph_find_tensor(g, "p1");
    for (size_t s = 0; s < 2; s++)
        for (size_t j = 0; j < info.subgraphs[s].ntensors; j++)
            assert_int_not_equal(info.subgraphs[s].tensors[j].tensor, p1); /* crosses */
    assert_int_equal(info.subgraphs[0].ntensors, 2);                       /* bn1, r1 */
    assert_int_equal(info.subgraphs[0].arena_bytes, 3072);
    assert_int_equal(info.nlayers, 6);
    assert_int_equal(info.layers[0].subgraph, 0);
    assert_int_not_equal(info.layers[0].cycles, 0);
    for (size_t i = 1; i < 6; i++) {
        assert_int_equal(info.layers[i].subgraph, 1);
        assert_int_equal(info.layers[i].cycles, 0); /* no estimate off the npu */
    }
    assert_int_equal(synap_codegen_verify_plan(g, &info, &err), 0);
    synap_codegen_info_free(&info);

    /* a partial partition and mixed delegates are errors */
    g->nodes[2].subgraph = -1;
    assert_int_equal(synap_codegen(g, &t, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "node 'pool1' (MaxPool) has no subgraph while others have one "
                                 "(a partial partition)");
    g->nodes[2].subgraph = 0;
    g->nodes[2].delegate = cpu;
    assert_int_equal(synap_codegen(g, &t, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "node 'pool1' (MaxPool): delegate 'cpu' differs from 'npu' of "
                                 "the other nodes of subgraph 0");
    g->nodes[2].delegate = synap_arena_strdup(g->arena, "gpu");
    assert_int_equal(synap_codegen(g, &t, NULL, NULL, &err), -1);
    assert_string_equal(err.msg,
                        "node 'pool1' (MaxPool): delegate 'gpu' is not a delegate of target TEST");
    synap_graph_free(g);
}

/* A conv whose output is also a graph output keeps its BatchNorm. */
static void test_bn_not_folded(void **state)
{
    (void)state;
    struct synap_graph *g = test_net();
    uint32_t c1 = synap_graph_find_tensor(g, "c1");
    uint32_t *outs = synap_arena_alloc(g->arena, 3 * sizeof *outs);
    memcpy(outs, g->outputs, 2 * sizeof *outs);
    outs[2] = c1;
    g->outputs = outs;
    g->noutputs = 3;
    struct synap_target t;
    stub_target(&t);
    struct synap_codegen_info info;
    struct synap_codegen_stats st;
    struct synap_err err = {0};
    assert_int_equal(synap_codegen(g, &t, &info, &st, &err), 0);
    assert_int_equal(st.nfolded, 1);
    assert_string_equal(info.layers[0].type, "ConvolutionLayer");
    assert_string_equal(info.layers[1].type, "BatchNormalizationLayer");
    assert_string_equal(info.layers[2].type, "ReluLayer");
    assert_string_equal(info.layers[3].type, "PoolingLayer");
    synap_codegen_info_free(&info);
    synap_graph_free(g);
}

/* ConvTranspose -> Add(per-channel constant) -> BatchNorm: both fold. */
static void test_bias_add_then_bn(void **state)
{
    (void)state;
    rng_state = 99;
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 3, 5, 5}, ws[] = {3, 4, 2, 2}, cb[] = {1, 4, 1, 1}, c4[] = {4};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    uint32_t w = gh_rand_const(g, &rng_state, "w", 4, ws, -1, 1);
    uint32_t bias = gh_rand_const(g, &rng_state, "bias", 4, cb, -1, 1);
    uint32_t s = gh_rand_const(g, &rng_state, "s", 1, c4, 0.5f, 2),
             o = gh_rand_const(g, &rng_state, "o", 1, c4, -1, 1),
             m = gh_rand_const(g, &rng_state, "m", 1, c4, -1, 1),
             v = gh_rand_const(g, &rng_state, "v", 1, c4, 0.1f, 2);
    uint32_t y = act(g, "y"), a = act(g, "a"), z = act(g, "z");
    struct synap_node *n = synap_graph_add_node(g, "up", SYNAP_OP_CONV_TRANSPOSE, 2, 1);
    n->inputs[0] = x, n->inputs[1] = w, n->outputs[0] = y;
    int64_t k2[] = {2, 2};
    synap_node_set_ints(g, n, "strides", k2, 2);
    n = synap_graph_add_node(g, "bias_add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = bias, n->inputs[1] = y, n->outputs[0] = a;
    n = synap_graph_add_node(g, "bn", SYNAP_OP_BATCH_NORMALIZATION, 5, 1);
    n->inputs[0] = a, n->inputs[1] = s, n->inputs[2] = o, n->inputs[3] = m, n->inputs[4] = v;
    n->outputs[0] = z;
    gh_set_io(g, x, z);
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, false, &err), 0);
    size_t n0, n1;
    uint8_t *before = run(g, NULL, 0, &n0);
    struct synap_target t;
    stub_target(&t);
    struct synap_codegen_stats st;
    struct synap_codegen_info info;
    assert_int_equal(synap_codegen(g, &t, &info, &st, &err), 0);
    assert_int_equal(st.nfolded, 1);
    assert_int_equal(st.nbias_folded, 1);
    assert_int_equal(g->nnodes, 1);
    assert_string_equal(g->nodes[0].name, "up");
    assert_string_equal(g->tensors[g->nodes[0].outputs[0]].name, "z");
    assert_string_equal(info.layers[0].type, "ConvolutionLayer");
    uint8_t *after = run(g, NULL, 0, &n1);
    assert_int_equal(n0, n1);
    assert_true(rel_diff(before, after, n0) <= 1e-5);
    free(before);
    free(after);
    synap_codegen_info_free(&info);
    synap_graph_free(g);
}

/* Rewrites the section of g from a modified info and expects an error. */
static void expect_damaged(struct synap_graph *g, const struct synap_codegen_info *info,
                           const char *msg)
{
    struct synap_err err = {0};
    assert_int_equal(synap_codegen_section_write(g, info, &err), 0);
    struct synap_codegen_info r;
    assert_int_equal(synap_codegen_section_read(g, &r, &err), -1);
    assert_string_equal(err.msg, msg);
    assert_null(r.arena);
}

static void test_damaged_section(void **state)
{
    (void)state;
    struct synap_target t;
    stub_target(&t);
    struct synap_err err = {0};
    struct synap_graph *g = test_net();
    struct synap_codegen_info info;
    assert_int_equal(synap_codegen(g, &t, &info, NULL, &err), 0);
    const uint8_t *sp;
    size_t sn;
    assert_int_equal(synap_ir_section_get(g, "codegen", &sp, &sn, &err), 1);
    uint8_t *good = malloc(sn);
    memcpy(good, sp, sn);

    struct synap_codegen_subgraph *s = &info.subgraphs[0];
    struct synap_codegen_tensor saved = s->tensors[1];
    uint32_t bn1 = synap_graph_find_tensor(g, "bn1"), r1 = synap_graph_find_tensor(g, "r1");
    assert_int_equal(s->tensors[0].tensor, bn1);
    assert_int_equal(s->tensors[1].tensor, r1);
    s->tensors[1].offset = 64; /* r1 overlaps bn1 while both are live */
    expect_damaged(g, &info,
                   "codegen section: subgraph 0: tensors 'bn1' and 'r1' are live at "
                   "the same time and overlap in the arena");
    s->tensors[1].offset = 1537;
    expect_damaged(g, &info,
                   "codegen section: subgraph 0: tensor 'r1' at offset 1537 (1536 "
                   "bytes) is misaligned or outside the 3456-byte arena");
    s->tensors[1] = saved;
    s->tensors[1].nbytes = 1000;
    expect_damaged(g, &info,
                   "codegen section: subgraph 0: tensor 'r1': 1000 bytes planned, it has 1536");
    s->tensors[1] = saved;
    s->tensors[1].tensor = 5000;
    char want[320];
    snprintf(want, sizeof want,
             "codegen section: subgraph 0: tensor 5000 out of range (%zu tensors)", g->ntensors);
    expect_damaged(g, &info, want);
    s->tensors[1] = saved;
    uint64_t ab = s->arena_bytes;
    s->arena_bytes = 1ull << 40;
    expect_damaged(g, &info,
                   "codegen section: subgraph 0: arena_bytes 1099511627776 exceeds the "
                   "6016 bytes of its tensors");
    s->arena_bytes = ab;
    info.layers[2].nodes[0] = 999;
    expect_damaged(g, &info, "codegen section: layer 2: node index out of range (10 nodes)");
    info.layers[2].nodes[0] = 0;
    expect_damaged(g, &info,
                   "codegen section: layer 2: node 0 is already in another layer or repeated");
    info.layers[2].nodes[0] = 5;
    info.layers[2].subgraph = 3;
    expect_damaged(g, &info, "codegen section: layer 2: subgraph 3 is not listed");
    info.layers[2].subgraph = 0;
    info.layers[2].id = 7;
    expect_damaged(g, &info, "codegen section: layer 2: id 7, expected 2");
    info.layers[2].id = 2;
    /* the same info again is valid */
    assert_int_equal(synap_codegen_section_write(g, &info, &err), 0);
    struct synap_codegen_info r;
    assert_int_equal(synap_codegen_section_read(g, &r, &err), 1);
    synap_codegen_info_free(&r);

    /* not a map; a newer version */
    synap_ir_section_set(g, "codegen", (const uint8_t *)"\x01", 1);
    assert_int_equal(synap_codegen_section_read(g, &r, &err), -1);
    assert_string_equal(err.msg, "codegen section: top level: not a map");
    uint8_t *v2 = malloc(sn);
    memcpy(v2, good, sn);
    assert_int_equal(v2[1], 0xa7); /* "version" */
    assert_int_equal(v2[9], 0x01);
    v2[9] = 0x02;
    synap_ir_section_set(g, "codegen", v2, sn);
    assert_int_equal(synap_codegen_section_read(g, &r, &err), -1);
    assert_string_equal(err.msg,
                        "codegen section: version 2 is not supported (this reader knows 1)");
    free(v2);

    /* fuzz: every byte flipped (three ways) and every truncation: an error or
     * a valid plan, never a crash (run under ASan/UBSan in CI) */
    uint8_t *buf = malloc(sn);
    size_t nok = 0, nbad = 0;
    for (size_t i = 0; i < sn; i++)
        for (int k = 0; k < 3; k++) {
            static const uint8_t x[] = {0xff, 0x01, 0x80};
            memcpy(buf, good, sn);
            buf[i] ^= x[k];
            synap_ir_section_set(g, "codegen", buf, sn);
            int rc = synap_codegen_section_read(g, &r, &err);
            if (rc == 1) {
                assert_int_equal(synap_codegen_verify_plan(g, &r, &err), 0);
                nok++;
            } else {
                assert_int_equal(rc, -1);
                nbad++;
            }
            synap_codegen_info_free(&r);
        }
    for (size_t n = 0; n < sn; n++) {
        synap_ir_section_set(g, "codegen", good, n ? n : 1);
        int rc = synap_codegen_section_read(g, &r, &err);
        assert_int_equal(rc, -1);
        synap_codegen_info_free(&r);
    }
    assert_true(nbad > sn); /* most damage is detected */
    (void)nok;
    free(buf);
    free(good);
    synap_codegen_info_free(&info);
    synap_graph_free(g);
}

/* ---- real models ------------------------------------------------------------ */

static int shared_path(char *out, size_t n, const char *rel)
{
    const char *dir = getenv("SYNAP_SHARED_DIR");
    char buf[4096];
    if (!dir) {
        const char *data = getenv("SYNAP_TEST_DATA"); /* <source>/tests/data */
        if (!data) return -1;
        if (snprintf(buf, sizeof buf, "%s/../../../shared", data) >= (int)sizeof buf) return -1;
        dir = buf;
    }
    if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n) return -1;
    struct stat sb;
    return stat(out, &sb) == 0 ? 0 : -1;
}

static void real_model(const char *rel, const struct synap_onnx_shape *shape, size_t want_folded)
{
    char path[4096];
    if (shared_path(path, sizeof path, rel) < 0) {
        print_message("skipped: %s not found (set SYNAP_SHARED_DIR)\n", rel);
        skip();
    }
    struct synap_err err = {0};
    struct synap_onnx_opts oo = {.shapes = shape, .nshapes = shape ? 1 : 0};
    struct synap_graph *g = synap_onnx_import(path, &oo, &err);
    if (!g) fail_msg("%s", err.msg);
    size_t n0, n1;
    uint8_t *before = run(g, NULL, 0, &n0);
    struct synap_target t;
    stub_target(&t);
    struct synap_codegen_info info;
    struct synap_codegen_stats st;
    if (synap_codegen(g, &t, &info, &st, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(st.nfolded, want_folded);
    assert_true(st.unpartitioned);
    uint8_t *after = run(g, NULL, 0, &n1);
    assert_int_equal(n0, n1);
    double d = rel_diff(before, after, n0);
    print_message("%s: %zu BN + %zu bias Add folded, %zu layers, max diff %.3g (relative), arena "
                  "%llu bytes for "
                  "%zu tensors\n",
                  rel, st.nfolded, st.nbias_folded, info.nlayers, d,
                  (unsigned long long)info.subgraphs[0].arena_bytes, info.subgraphs[0].ntensors);
    assert_true(d <= 1e-5);
    assert_int_equal(synap_codegen_verify_plan(g, &info, &err), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < info.subgraphs[0].ntensors; i++)
        total += (info.subgraphs[0].tensors[i].nbytes + 63) / 64 * 64;
    assert_true(info.subgraphs[0].arena_bytes < total / 2); /* liveness pays off */
    check_plan_run(g, &info);
    /* every node in exactly one layer */
    size_t covered = 0;
    for (size_t i = 0; i < info.nlayers; i++)
        covered += info.layers[i].nnodes;
    assert_int_equal(covered, g->nnodes);
    /* the serialized IR reads back with a valid section */
    size_t n;
    uint8_t *b = serialize(g, &n);
    struct synap_graph *r = synap_ir_read_mem(b, n, "mem", &err);
    assert_non_null(r);
    struct synap_codegen_info ri;
    assert_int_equal(synap_codegen_section_read(r, &ri, &err), 1);
    assert_int_equal(ri.nlayers, info.nlayers);
    synap_codegen_info_free(&ri);
    synap_graph_free(r);
    free(b);
    free(before);
    free(after);
    synap_codegen_info_free(&info);
    synap_graph_free(g);
}

static void test_blazeface(void **state)
{
    (void)state;
    real_model("models/onnx/blazeface_front_128/face_detection_front_128x128_barracuda.onnx", NULL,
               0);
}

static void test_ppocr_det(void **state)
{
    (void)state;
    struct synap_onnx_shape s = {.name = "x", .rank = 4, .dims = {1, 3, 256, 256}};
    real_model("models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx", &s, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_fuse_costs),
        cmocka_unit_test(test_section_roundtrip_deterministic),
        cmocka_unit_test(test_two_subgraphs),
        cmocka_unit_test(test_bn_not_folded),
        cmocka_unit_test(test_bias_add_then_bn),
        cmocka_unit_test(test_damaged_section),
        cmocka_unit_test(test_blazeface),
        cmocka_unit_test(test_ppocr_det),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
