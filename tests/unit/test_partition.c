/* Partitioning: delegates from the whole-network choice and the pattern
 * map, fallback and errors for unsupported ops, greedy subgraphs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "partition/partition.h"

#include "graph_harness.h"

static const int64_t d4[] = {1, 2, 3, 4};

/* A target with npu (Relu, Add, Conv) and cpu (everything). */
static void test_target(struct synap_target *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->name, "TEST");
    t->ndelegates = 2;
    strcpy(t->delegates[0], "npu");
    strcpy(t->delegates[1], "cpu");
    t->supported[0][SYNAP_OP_RELU] = t->supported[0][SYNAP_OP_ADD] = true;
    for (int op = 0; op < SYNAP_OP_COUNT; op++)
        t->supported[1][op] = true;
}

static uint32_t unary(struct synap_graph *g, const char *name, enum synap_op op, uint32_t in,
                      const char *out)
{
    uint32_t t = synap_graph_add_tensor(g, out, SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, name, op, 1, 1);
    n->inputs[0] = in, n->outputs[0] = t;
    return t;
}

/* x -> A -> a; a -> B -> b; a -> C -> c; (b, c) -> D -> d (output).
 * `bop` is B's op. Node ids: A 0, B 1, C 2, D 3. */
static struct synap_graph *diamond(enum synap_op bop)
{
    struct synap_graph *g = synap_graph_new();
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t a = unary(g, "A", SYNAP_OP_RELU, x, "a");
    uint32_t b = unary(g, "B", bop, a, "b");
    uint32_t c = unary(g, "C", SYNAP_OP_RELU, a, "c");
    uint32_t d = synap_graph_add_tensor(g, "d", SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, "D", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = b, n->inputs[1] = c, n->outputs[0] = d;
    gh_set_io(g, x, d);
    return g;
}

/* "A:npu:0 C:npu:0 B:cpu:1 D:npu:2" in node order */
static const char *layout(const struct synap_graph *g)
{
    static char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s:%s:%d", i ? " " : "", g->nodes[i].name,
                              g->nodes[i].delegate, g->nodes[i].subgraph);
    return buf;
}

static void run(enum synap_op bop, const char *delegate, const struct synap_partition_rule *rules,
                size_t nrules, const char *want, const char *want_warning)
{
    struct synap_target t;
    test_target(&t);
    struct synap_graph *g = diamond(bop);
    struct synap_err err = {0};
    struct synap_partition_opts o = {NULL, delegate, rules, nrules};
    char *warning = (char *)"untouched";
    int rc = synap_partition(g, &t, &o, &warning, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(layout(g), want);
    if (want_warning)
        assert_string_equal(warning, want_warning);
    else
        assert_null(warning);
    free(warning);
    /* the result is a valid IR that round-trips with its annotations */
    uint8_t *bytes;
    size_t n;
    assert_int_equal(synap_ir_serialize(g, &bytes, &n, &err), 0);
    struct synap_graph *back = synap_ir_read_mem(bytes, n, "mem", &err);
    assert_non_null(back);
    assert_string_equal(layout(back), want);
    synap_graph_free(back);
    free(bytes);
    synap_graph_free(g);
}

static void run_error(enum synap_op bop, const char *delegate,
                      const struct synap_partition_rule *rules, size_t nrules, const char *msg)
{
    struct synap_target t;
    test_target(&t);
    struct synap_graph *g = diamond(bop);
    struct synap_err err = {0};
    struct synap_partition_opts o = {NULL, delegate, rules, nrules};
    char *warning = NULL;
    assert_int_equal(synap_partition(g, &t, &o, &warning, &err), -1);
    assert_null(warning);
    assert_int_equal(err.code, SYNAP_EINPUT);
    assert_string_equal(err.msg, msg);
    /* unchanged */
    for (size_t i = 0; i < g->nnodes; i++) {
        assert_null(g->nodes[i].delegate);
        assert_int_equal(g->nodes[i].subgraph, -1);
    }
    synap_graph_free(g);
}

static void test_whole_network(void **state)
{
    (void)state;
    run(SYNAP_OP_RELU, NULL, NULL, 0, "A:npu:0 B:npu:0 C:npu:0 D:npu:0", NULL);
    run(SYNAP_OP_RELU, "cpu", NULL, 0, "A:cpu:0 B:cpu:0 C:cpu:0 D:cpu:0", NULL);
    run(SYNAP_OP_RELU, "npu with options", NULL, 0, "A:npu:0 B:npu:0 C:npu:0 D:npu:0", NULL);
}

/* B on the cpu in the middle of a diamond: the greedy order keeps C with A
 * (same delegate, ready), then B alone, then D */
static void test_greedy_diamond(void **state)
{
    (void)state;
    struct synap_partition_rule r[] = {{"*", "npu"}, {"B", "cpu"}};
    run(SYNAP_OP_RELU, NULL, r, 2, "A:npu:0 C:npu:0 B:cpu:1 D:npu:2", NULL);
    /* C on the cpu instead: B joins A */
    struct synap_partition_rule r2[] = {{"C", "cpu"}};
    run(SYNAP_OP_RELU, NULL, r2, 1, "A:npu:0 B:npu:0 C:cpu:1 D:npu:2", NULL);
    /* both branches on the cpu: one cpu subgraph */
    struct synap_partition_rule r3[] = {{"B", "cpu"}, {"@2", "cpu"}};
    run(SYNAP_OP_RELU, NULL, r3, 2, "A:npu:0 B:cpu:1 C:cpu:1 D:npu:2", NULL);
}

/* 'A...' selects B, C, D but not A; later entries win */
static void test_descendants_and_order(void **state)
{
    (void)state;
    struct synap_partition_rule r[] = {{"*", "npu"}, {"A...", "cpu"}};
    run(SYNAP_OP_RELU, NULL, r, 2, "A:npu:0 B:cpu:1 C:cpu:1 D:cpu:1", NULL);
    struct synap_partition_rule r2[] = {{"A...", "cpu"}, {"@3", "npu"}};
    run(SYNAP_OP_RELU, NULL, r2, 2, "A:npu:0 B:cpu:1 C:cpu:1 D:npu:2", NULL);
    struct synap_partition_rule r3[] = {{"@3", "npu"}, {"A...", "cpu"}};
    run(SYNAP_OP_RELU, NULL, r3, 2, "A:npu:0 B:cpu:1 C:cpu:1 D:cpu:1", NULL);
    struct synap_partition_rule r4[] = {{"A", "cpu"}, {"A...", "cpu"}};
    run(SYNAP_OP_RELU, "npu", r4, 2, "A:cpu:0 B:cpu:0 C:cpu:0 D:cpu:0", NULL);
}

/* "default": an op the npu cannot run goes to the cpu, with a warning */
static void test_default_falls_back_with_warning(void **state)
{
    (void)state;
    run(SYNAP_OP_SIGMOID, NULL, NULL, 0, "A:npu:0 C:npu:0 B:cpu:1 D:npu:2",
        "1 layer runs on cpu: 'B' (Sigmoid)");
    struct synap_partition_rule r[] = {{"B", "default"}};
    run(SYNAP_OP_SIGMOID, "npu", r, 1, "A:npu:0 C:npu:0 B:cpu:1 D:npu:2",
        "1 layer runs on cpu: 'B' (Sigmoid)");
}

static void test_errors(void **state)
{
    (void)state;
    run_error(SYNAP_OP_SIGMOID, "npu", NULL, 0,
              "layer 'B' (Sigmoid): delegate npu of TEST cannot run Sigmoid");
    struct synap_partition_rule r[] = {{"*", "npu"}};
    run_error(SYNAP_OP_SIGMOID, NULL, r, 1,
              "layer 'B' (Sigmoid): delegate npu of TEST cannot run Sigmoid");
    struct synap_partition_rule r1[] = {{"B", "npu"}, {"C", "npu"}};
    run_error(SYNAP_OP_SIGMOID, "cpu", r1, 2,
              "layer 'B' (Sigmoid): delegate npu of TEST cannot run Sigmoid");
    run_error(SYNAP_OP_RELU, "gpu", NULL, 0,
              "delegate 'gpu' is not available on TEST; its delegates: npu, cpu, default");
    run_error(SYNAP_OP_RELU, "dsp", NULL, 0,
              "unknown delegate 'dsp'; valid delegates: npu, cpu, default");
    struct synap_partition_rule r2[] = {{"Q", "cpu"}};
    run_error(SYNAP_OP_RELU, NULL, r2, 1, "unknown layer 'Q'; valid layers: 'A', 'B', 'C', 'D'");
    struct synap_partition_rule r3[] = {{"Q...", "cpu"}};
    run_error(SYNAP_OP_RELU, NULL, r3, 1,
              "unknown layer 'Q' in pattern 'Q...'; valid layers: 'A', 'B', 'C', 'D'");
    struct synap_partition_rule r4[] = {{"INPUTS", "cpu"}};
    run_error(SYNAP_OP_RELU, NULL, r4, 1,
              "layer pattern 'INPUTS' is only valid in quantization maps");
    struct synap_partition_rule r5[] = {{"B", "tpu"}};
    run_error(SYNAP_OP_RELU, NULL, r5, 1,
              "delegate map entry 'B': unknown delegate 'tpu'; valid delegates: npu, cpu, "
              "default");
}

/* several unsupported layers are all named */
static void test_error_lists_every_layer(void **state)
{
    (void)state;
    struct synap_target t;
    test_target(&t);
    struct synap_graph *g = synap_graph_new();
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    x = unary(g, "s1", SYNAP_OP_SIGMOID, x, "t1");
    x = unary(g, "r", SYNAP_OP_RELU, x, "t2");
    x = unary(g, "s2", SYNAP_OP_TANH, x, "t3");
    struct synap_err err = {0};
    struct synap_partition_opts o = {NULL, "npu", NULL, 0};
    assert_int_equal(synap_partition(g, &t, &o, NULL, &err), -1);
    assert_string_equal(err.msg, "2 layers cannot run on the delegate chosen for them (TEST): "
                                 "'s1' (Sigmoid) on npu, 's2' (Tanh) on npu");
    char *warning = NULL;
    o.delegate = "default";
    assert_int_equal(synap_partition(g, &t, &o, &warning, &err), 0);
    assert_string_equal(warning, "2 layers run on cpu: 's1' (Sigmoid), 's2' (Tanh)");
    assert_string_equal(layout(g), "s1:cpu:0 r:npu:1 s2:cpu:2");
    free(warning);
    synap_graph_free(g);
}

static void test_options_from_json(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const char *text =
        "{\"target\": \"vs680\", \"delegate\": [[\"*\", \"npu\"], [\"x\", \"cpu\"]], "
        "\"delegate_map\": [\"y...=gpu\", \"a=b=cpu\"]}";
    const struct synap_json *j = synap_json_parse(a, text, strlen(text), "opts", &err);
    struct synap_partition_opts o;
    assert_int_equal(synap_partition_opts_from_json(j, a, &o, &err), 0);
    assert_string_equal(o.target, "vs680");
    assert_null(o.delegate);
    assert_int_equal(o.nrules, 4);
    assert_string_equal(o.rules[0].pattern, "*");
    assert_string_equal(o.rules[1].delegate, "cpu");
    assert_string_equal(o.rules[2].pattern, "y...");
    assert_string_equal(o.rules[2].delegate, "gpu");
    assert_string_equal(o.rules[3].pattern, "a=b");
    text = "{\"delegate\": \"gpu\"}";
    j = synap_json_parse(a, text, strlen(text), "opts", &err);
    assert_int_equal(synap_partition_opts_from_json(j, a, &o, &err), 0);
    assert_string_equal(o.delegate, "gpu");
    assert_null(o.target);
    struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"targt\": 1}", "unknown option 'targt'; valid options: delegate, delegate_map, target"},
        {"{\"target\": 1}", "target: expected a string"},
        {"{\"delegate\": {\"*\": \"npu\"}}",
         "delegate: a map must be given as a list of [PATTERN, DELEGATE] pairs (JSON objects "
         "lose their order)"},
        {"{\"delegate\": 3}",
         "delegate: expected a delegate name or a list of [PATTERN, DELEGATE] pairs"},
        {"{\"delegate\": [[\"*\"]]}", "delegate[0]: expected [\"PATTERN\", \"DELEGATE\"]"},
        {"{\"delegate_map\": [\"x\"]}", "delegate_map[0]: 'x': expected PATTERN=DELEGATE"},
        {"{\"delegate_map\": [\"x=\"]}", "delegate_map[0]: 'x=': expected PATTERN=DELEGATE"},
        {"{\"delegate_map\": \"x=cpu\"}", "delegate_map: expected a list of PATTERN=DELEGATE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = synap_json_parse(a, bad[i].text, strlen(bad[i].text), "opts", &err);
        assert_non_null(j);
        assert_int_equal(synap_partition_opts_from_json(j, a, &o, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
    }
    synap_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_network),
        cmocka_unit_test(test_greedy_diamond),
        cmocka_unit_test(test_descendants_and_order),
        cmocka_unit_test(test_default_falls_back_with_warning),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_lists_every_layer),
        cmocka_unit_test(test_options_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
