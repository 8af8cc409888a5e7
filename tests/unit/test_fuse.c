/* lib/ir/fuse.c: the rewrites keep the network's function (float outputs
 * before and after within 1e-5) and remove exactly the layers they name;
 * patterns whose intermediates have other uses, or that cross a group
 * boundary, stay as they are. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir.h"
#include "quant/quant.h"
#include "runtime/plan.h"

#include "graph_harness.h"

static uint32_t rng_state;
static uint32_t scalar(struct synap_graph *g, const char *name, float v)
{
    return synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, 0, NULL, &v, sizeof v);
}

static uint32_t act(struct synap_graph *g, const char *name)
{
    return synap_graph_add_tensor(g, name, SYNAP_DTYPE_FLOAT32, 0, NULL);
}

static void node2(struct synap_graph *g, const char *name, enum synap_op op, uint32_t a, uint32_t b,
                  uint32_t y)
{
    struct synap_node *n = synap_graph_add_node(g, name, op, b == SYNAP_NONE ? 1 : 2, 1);
    n->inputs[0] = a;
    if (b != SYNAP_NONE) n->inputs[1] = b;
    n->outputs[0] = y;
}

/* x -Conv(3x3, pad 1)-> *a[c] -> +b[c] -> HardSwish as paddle2onnx writes
 * it (Add 3, Clip 0 6, Mul, Div 6) -> *s + t (scalars) -> Conv 1x1 -> y,
 * and the HardSigmoid form of HardSwish on the output. `extra_use` gives
 * the Clip's output a second use (an extra graph output): that HardSwish
 * must stay unfused. */
static struct synap_graph *net(bool extra_use)
{
    rng_state = 777;
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 3, 6, 5}, ws[] = {4, 3, 3, 3}, c4[] = {1, 4, 1, 1}, w2s[] = {2, 4, 1, 1};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    uint32_t w = gh_rand_const(g, &rng_state, "w", 4, ws, -1, 1),
             a = gh_rand_const(g, &rng_state, "a", 4, c4, 0.5f, 2),
             b = gh_rand_const(g, &rng_state, "b", 4, c4, -1, 1),
             w2 = gh_rand_const(g, &rng_state, "w2", 4, w2s, -1, 1);
    uint32_t c = act(g, "c"), m = act(g, "m"), ab = act(g, "ab"), p3 = act(g, "p3"),
             cl = act(g, "cl"), mm = act(g, "mm"), hs = act(g, "hs"), sm = act(g, "sm"),
             af = act(g, "af"), y = act(g, "y"), hsig = act(g, "hsig"), out = act(g, "out");
    struct synap_node *n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = x, n->inputs[1] = w, n->outputs[0] = c;
    int64_t pads[] = {1, 1, 1, 1};
    synap_node_set_ints(g, n, "pads", pads, 4);
    node2(g, "mul_a", SYNAP_OP_MUL, a, c, m);
    node2(g, "add_b", SYNAP_OP_ADD, m, b, ab);
    node2(g, "add3", SYNAP_OP_ADD, ab, scalar(g, "three", 3), p3);
    n = synap_graph_add_node(g, "clip", SYNAP_OP_CLIP, 3, 1);
    n->inputs[0] = p3, n->inputs[1] = scalar(g, "zero", 0), n->inputs[2] = scalar(g, "six", 6);
    n->outputs[0] = cl;
    node2(g, "mulx", SYNAP_OP_MUL, ab, cl, mm);
    node2(g, "div6", SYNAP_OP_DIV, mm, scalar(g, "six2", 6), hs);
    node2(g, "scale", SYNAP_OP_MUL, hs, scalar(g, "s", 1.5f), sm);
    node2(g, "shift", SYNAP_OP_ADD, scalar(g, "t", -0.25f), sm, af);
    n = synap_graph_add_node(g, "conv2", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = af, n->inputs[1] = w2, n->outputs[0] = y;
    node2(g, "hsig", SYNAP_OP_HARD_SIGMOID, y, SYNAP_NONE, hsig);
    synap_node_set_float(g, &g->nodes[g->nnodes - 1], "alpha", 1.0f / 6);
    node2(g, "hswish2", SYNAP_OP_MUL, hsig, y, out);
    uint32_t outs[2] = {out, cl};
    g->outputs = synap_arena_alloc(g->arena, sizeof outs);
    memcpy(g->outputs, outs, sizeof outs);
    g->noutputs = extra_use ? 2 : 1;
    g->inputs = synap_arena_alloc(g->arena, sizeof x);
    g->inputs[0] = x;
    g->ninputs = 1;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, false, &err), 0);
    return g;
}

static void run(const struct synap_graph *g, float *out, size_t n)
{
    struct synap_err err = {0};
    struct synap_plan_opts o = {.nthreads = 1};
    struct synap_plan *p = synap_plan_new(g, &o, &err);
    assert_non_null(p);
    struct synap_value *v = synap_plan_input(p, 0);
    float *x = v->data;
    rng_state = 99;
    for (size_t i = 0; i < 90; i++)
        x[i] = 4 * gh_rnd(&rng_state);
    assert_int_equal(synap_plan_run(p, &err), 0);
    const struct synap_value *y = synap_plan_output(p, 0);
    assert_int_equal(synap_value_nelem(y), (int64_t)n);
    memcpy(out, y->data, n * sizeof *out);
    synap_plan_free(p);
}

static void test_fuse_keeps_function(void **state)
{
    (void)state;
    struct synap_graph *g = net(false);
    float before[60], after[60];
    run(g, before, 60);
    size_t *map = NULL;
    struct synap_fuse_stats st;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_fuse(g,
                                      SYNAP_FUSE_BN | SYNAP_FUSE_SCALE | SYNAP_FUSE_HARDSWISH |
                                          SYNAP_FUSE_AFFINE,
                                      NULL, &map, &st, &err),
                     0);
    assert_int_equal(st.nscale, 1);
    assert_int_equal(st.nbias, 1);
    assert_int_equal(st.nhardswish, 2);
    assert_int_equal(st.naffine, 1);
    /* conv, HardSwish, BatchNormalization, conv2, HardSwish */
    assert_int_equal(g->nnodes, 5);
    const enum synap_op want[5] = {SYNAP_OP_CONV, SYNAP_OP_HARD_SWISH, SYNAP_OP_BATCH_NORMALIZATION,
                                   SYNAP_OP_CONV, SYNAP_OP_HARD_SWISH};
    const char *names[5] = {"conv", "div6", "shift", "conv2", "hswish2"};
    const size_t ids[5] = {0, 6, 8, 9, 11};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(g->nodes[i].op, want[i]);
        assert_string_equal(g->nodes[i].name, names[i]);
        assert_int_equal(map[i], ids[i]);
    }
    free(map);
    synap_graph_prune_dead(g);
    assert_int_equal(synap_graph_verify(g, "fused", &err), 0);
    run(g, after, 60);
    for (int i = 0; i < 60; i++)
        assert_true(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])));
    synap_graph_free(g);
}

static void test_fuse_respects_uses_and_groups(void **state)
{
    (void)state;
    /* the Clip output is also a graph output: that HardSwish stays */
    struct synap_graph *g = net(true);
    struct synap_fuse_stats st;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_fuse(g, SYNAP_FUSE_HARDSWISH, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.nhardswish, 1);
    assert_int_equal(g->nnodes, 11);
    synap_graph_free(g);
    /* groups: mul_a in another group than the conv: only the bias Add
     * cannot fold either (its producer is then mul_a, not a conv) */
    g = net(false);
    int group[14] = {0};
    group[1] = 1;
    assert_int_equal(synap_graph_fuse(g, SYNAP_FUSE_BN | SYNAP_FUSE_SCALE, group, NULL, &st, &err),
                     0);
    assert_int_equal(st.nscale + st.nbias, 0);
    assert_int_equal(g->nnodes, 12);
    synap_graph_free(g);
}

/* Sets x and y as the graph's one input and output and infers the shapes. */
static void io_infer(struct synap_graph *g, uint32_t x, uint32_t y)
{
    gh_set_io(g, x, y);
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, false, &err), 0);
}

/* A Conv y = x * w without bias: pads 1 on every side or none, group. */
static void conv2(struct synap_graph *g, const char *name, uint32_t x, uint32_t w, uint32_t y,
                  int pad, int64_t group)
{
    struct synap_node *n = synap_graph_add_node(g, name, SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = x, n->inputs[1] = w, n->outputs[0] = y;
    int64_t pads[] = {pad, pad, pad, pad};
    if (pad) synap_node_set_ints(g, n, "pads", pads, 4);
    if (group != 1) synap_node_set_int(g, n, "group", group);
}

/* Equalization (lib/quant/equalize.c) on conv -> relu -> depthwise conv ->
 * conv: the function stays, the scaled tensors are renamed, and a second
 * pass changes nothing. */
static void test_equalize(void **state)
{
    (void)state;
    rng_state = 4242;
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 3, 6, 5}, w1s[] = {4, 3, 3, 3}, c4[] = {4}, wds[] = {4, 1, 3, 3},
            w3s[] = {2, 4, 1, 1};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    uint32_t w1 = gh_rand_const(g, &rng_state, "w1", 4, w1s, -1, 1),
             b1 = gh_rand_const(g, &rng_state, "b1", 1, c4, -1, 1),
             wd = gh_rand_const(g, &rng_state, "wd", 4, wds, -0.05f, 0.05f),
             w3 = gh_rand_const(g, &rng_state, "w3", 4, w3s, -3, 3);
    /* one loud channel in conv1, one quiet one in the depthwise */
    float *p = (float *)g->tensors[w1].data;
    for (int k = 0; k < 27; k++)
        p[k] *= 20;
    uint32_t c1 = act(g, "c1"), r1 = act(g, "r1"), d = act(g, "d"), y = act(g, "y");
    int64_t pads[] = {1, 1, 1, 1};
    struct synap_node *n = synap_graph_add_node(g, "conv1", SYNAP_OP_CONV, 3, 1);
    n->inputs[0] = x, n->inputs[1] = w1, n->inputs[2] = b1, n->outputs[0] = c1;
    synap_node_set_ints(g, n, "pads", pads, 4);
    node2(g, "relu", SYNAP_OP_RELU, c1, SYNAP_NONE, r1);
    conv2(g, "dw", r1, wd, d, 1, 4);
    conv2(g, "pw", d, w3, y, 0, 1);
    io_infer(g, x, y);
    struct synap_err err = {0};
    float before[60], after[60];
    run(g, before, 60);
    size_t ne = 0;
    assert_int_equal(synap_quant_prepare(g, &ne, &err), 0);
    assert_int_equal(ne, 2);
    assert_string_equal(g->tensors[c1].name, "c1:equalized");
    assert_string_equal(g->tensors[r1].name, "r1:equalized");
    assert_string_equal(g->tensors[d].name, "d:equalized");
    assert_string_equal(g->tensors[y].name, "y");
    run(g, after, 60);
    for (int i = 0; i < 60; i++)
        assert_true(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])));
    /* a second pass: nothing left to equalize, nothing added */
    size_t nt = g->ntensors;
    assert_int_equal(synap_quant_prepare(g, &ne, &err), 0);
    assert_int_equal(ne, 0);
    assert_int_equal(g->ntensors, nt);
    synap_graph_free(g);
}

/* Equalization through an exported conv's chain: conv1 -> BatchNorm ->
 * Mul(scalar) -> Add(per-channel) -> Relu -> depthwise. The chain's gain
 * (gamma / sqrt(var + eps), the Mul) enters conv1's ranges, the BN's mean
 * and beta and the added constants are scaled: same function, every tensor
 * of the chain renamed; a Sub of the form c - x stops the chain. */
static void test_equalize_chain(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        rng_state = 777;
        struct synap_graph *g = synap_graph_new();
        int64_t xs[] = {1, 3, 6, 5}, w1s[] = {4, 3, 3, 3}, c4[] = {4}, c141[] = {1, 4, 1, 1},
                one[] = {1}, wds[] = {4, 1, 3, 3};
        uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
        uint32_t w1 = gh_rand_const(g, &rng_state, "w1", 4, w1s, -1, 1),
                 wd = gh_rand_const(g, &rng_state, "wd", 4, wds, -0.05f, 0.05f);
        uint32_t gm = gh_rand_const(g, &rng_state, "gamma", 1, c4, 0.5f, 2),
                 be = gh_rand_const(g, &rng_state, "beta", 1, c4, -1, 1),
                 mu = gh_rand_const(g, &rng_state, "mean", 1, c4, -1, 1),
                 va = gh_rand_const(g, &rng_state, "var", 1, c4, 0.1f, 4),
                 k = gh_rand_const(g, &rng_state, "k", 1, one, 1.5f, 2),
                 ad = gh_rand_const(g, &rng_state, "add", 4, c141, -0.5f, 0.5f);
        float *p = (float *)g->tensors[w1].data;
        for (int i = 0; i < 27; i++)
            p[i] *= 20; /* one loud channel */
        uint32_t c1 = act(g, "c1"), bn = act(g, "bn"), m = act(g, "m"), a = act(g, "a"),
                 r = act(g, "r"), y = act(g, "y");
        conv2(g, "conv1", x, w1, c1, 1, 1);
        struct synap_node *n = synap_graph_add_node(g, "bn", SYNAP_OP_BATCH_NORMALIZATION, 5, 1);
        n->inputs[0] = c1, n->inputs[1] = gm, n->inputs[2] = be, n->inputs[3] = mu;
        n->inputs[4] = va, n->outputs[0] = bn;
        node2(g, "mul", SYNAP_OP_MUL, k, bn, m); /* constant first */
        if (flip)
            node2(g, "sub", SYNAP_OP_SUB, ad, m, a); /* c - x: not a chain layer */
        else
            node2(g, "add", SYNAP_OP_ADD, m, ad, a);
        node2(g, "relu", SYNAP_OP_RELU, a, SYNAP_NONE, r);
        conv2(g, "dw", r, wd, y, 1, 4);
        io_infer(g, x, y);
        struct synap_err err = {0};
        float before[120], after[120];
        run(g, before, 120);
        size_t ne = 0;
        assert_int_equal(synap_quant_prepare(g, &ne, &err), 0);
        assert_int_equal(ne, flip ? 0 : 1);
        const char *const names[] = {"c1", "bn", "m", "a", "r"};
        const uint32_t ts[] = {c1, bn, m, a, r};
        for (int i = 0; i < 5; i++) {
            char want[32];
            snprintf(want, sizeof want, "%s%s", names[i], flip ? "" : ":equalized");
            assert_string_equal(g->tensors[ts[i]].name, want);
        }
        run(g, after, 120);
        for (int i = 0; i < 120; i++)
            assert_true(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])));
        synap_graph_free(g);
    }
}

/* Data-aware equalization (synap_quant_prepare_ranges): x -> depthwise ->
 * d -> conv, and a -> relu -> conv, a pair through a chain. The probes name
 * only d (a depthwise output feeding a conv directly); with measured ranges
 * of d, channel i is scaled by s_i = sqrt(sqrt(r1_i ra_i) / r2_i) (checked
 * on the new depthwise weights), the function stays; ranges given for the
 * chain pair's tensor are ignored (its weights get the weight-only rule). */
static void test_equalize_ranges(void **state)
{
    (void)state;
    rng_state = 99;
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 4, 6, 5}, wds[] = {4, 1, 3, 3}, w2s[] = {4, 4, 1, 1}, w3s[] = {3, 4, 1, 1};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    uint32_t wd = gh_rand_const(g, &rng_state, "wd", 4, wds, -1, 1),
             w2 = gh_rand_const(g, &rng_state, "w2", 4, w2s, -2, 2),
             w3 = gh_rand_const(g, &rng_state, "w3", 4, w3s, -1, 1);
    float wd0[36], w20[16];
    memcpy(wd0, g->tensors[wd].data, sizeof wd0);
    memcpy(w20, g->tensors[w2].data, sizeof w20);
    uint32_t d = act(g, "d"), c = act(g, "c"), r = act(g, "r"), y = act(g, "y");
    conv2(g, "dw", x, wd, d, 1, 4);
    conv2(g, "pw", d, w2, c, 0, 1);
    node2(g, "relu", SYNAP_OP_RELU, c, SYNAP_NONE, r);
    conv2(g, "pw2", r, w3, y, 0, 1);
    io_infer(g, x, y);
    struct synap_err err = {0};
    size_t np = 0;
    uint32_t *probes = synap_quant_range_probes(g, &np, &err);
    assert_non_null(probes);
    assert_int_equal(np, 1);
    assert_int_equal(probes[0], d);
    free(probes);
    float before[90], after[90];
    run(g, before, 90);
    const double ra_d[4] = {0.5, 100, 2, 0}, ra_r[4] = {1000, 1, 1, 1};
    const char *names[2] = {"d", "r"};
    const int64_t nch[2] = {4, 4};
    const double *am[2] = {ra_d, ra_r};
    struct synap_chan_ranges rr = {2, names, nch, am};
    size_t ne = 0;
    assert_int_equal(synap_quant_prepare_ranges(g, &rr, &ne, &err), 0);
    assert_int_equal(ne, 2);
    run(g, after, 90);
    for (int i = 0; i < 90; i++)
        assert_true(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])));
    const float *nwd = synap_const_f32(g, g->nodes[0].inputs[1], -1, NULL);
    assert_non_null(nwd);
    for (int i = 0; i < 4; i++) {
        double r1 = 0, r2 = 0;
        for (int k = 0; k < 9; k++)
            r1 = fmax(r1, fabs(wd0[i * 9 + k]));
        for (int o = 0; o < 4; o++)
            r2 = fmax(r2, fabs(w20[o * 4 + i]));
        /* a channel never seen (range 0) keeps the weight-only rule */
        double si = ra_d[i] > 0 ? sqrt(sqrt(r1 * ra_d[i]) / r2) : sqrt(r1 / r2);
        for (int k = 0; k < 9; k++)
            assert_true(fabs(nwd[i * 9 + k] - wd0[i * 9 + k] / si) <=
                        1e-6 * (1 + fabs(wd0[i * 9 + k])));
    }
    /* the chain pair (pw -> relu -> pw2) ignored r's ranges: pw's new
     * weights are the weight-only rule's, on top of the first pair's */
    const float *nw2 = synap_const_f32(g, g->nodes[1].inputs[1], -1, NULL),
                *nw3 = synap_const_f32(g, g->nodes[3].inputs[1], -1, NULL);
    for (int o = 0; o < 4; o++) {
        double r1 = 0, r2 = 0;
        for (int k = 0; k < 4; k++)
            r1 = fmax(r1, fabs(nw2[o * 4 + k]));
        for (int j = 0; j < 3; j++)
            r2 = fmax(r2, fabs(nw3[j * 4 + o]));
        assert_true(fabs(r1 - r2) <= 1e-5 * r1); /* balanced: r1 / s = r2 * s */
    }
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuse_keeps_function),
        cmocka_unit_test(test_fuse_respects_uses_and_groups),
        cmocka_unit_test(test_equalize),
        cmocka_unit_test(test_equalize_chain),
        cmocka_unit_test(test_equalize_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
