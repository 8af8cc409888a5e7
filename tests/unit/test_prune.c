/* Cutting graphs at named tensors: new inputs with their shapes, new
 * outputs, dropped layers, and the messages for bad names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "prune/prune.h"

static const int64_t d4[] = {1, 3, 4, 4};

static uint32_t unary(struct synap_graph *g, const char *name, enum synap_op op, uint32_t in,
                      const char *out)
{
    uint32_t t = synap_graph_add_tensor(g, out, SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, name, op, 1, 1);
    n->inputs[0] = in, n->outputs[0] = t;
    return t;
}

/* x -> r1 -> a -> r2 -> b -> s -> c (output); y -> r3 -> d; (a, d) -> add -> e (output) */
static struct synap_graph *sample(void)
{
    struct synap_graph *g = synap_graph_new();
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, d4);
    synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 1, (int64_t[]){1}, (float[]){2}, 4);
    uint32_t a = unary(g, "r1", SYNAP_OP_RELU, x, "a");
    uint32_t b = unary(g, "r2", SYNAP_OP_RELU, a, "b");
    uint32_t c = unary(g, "s", SYNAP_OP_SIGMOID, b, "c");
    uint32_t d = unary(g, "r3", SYNAP_OP_RELU, y, "d");
    uint32_t e = synap_graph_add_tensor(g, "e", SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = a, n->inputs[1] = d, n->outputs[0] = e;
    uint32_t ins[] = {x, y}, outs[] = {c, e};
    g->inputs = synap_arena_memdup(g->arena, ins, sizeof ins);
    g->ninputs = 2;
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 2;
    return g;
}

/* "name[dims] name[dims] | node node | name name" */
static const char *describe(const struct synap_graph *g)
{
    static char buf[512];
    size_t n = 0;
    for (size_t i = 0; i < g->ninputs; i++) {
        const struct synap_tensor *t = &g->tensors[g->inputs[i]];
        char sh[64];
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", t->name,
                              synap_shape_str(t->rank, t->dims, sh, sizeof sh));
        n += (size_t)snprintf(buf + n, sizeof buf - n, " ");
    }
    n += (size_t)snprintf(buf + n, sizeof buf - n, "|");
    for (size_t i = 0; i < g->nnodes; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %s", g->nodes[i].name);
    n += (size_t)snprintf(buf + n, sizeof buf - n, " |");
    for (size_t i = 0; i < g->noutputs; i++) {
        const struct synap_tensor *t = &g->tensors[g->outputs[i]];
        char sh[64];
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %s%s", t->name,
                              synap_shape_str(t->rank, t->dims, sh, sizeof sh));
    }
    return buf;
}

static void expect_cut(const struct synap_prune_input *in, size_t nin, const char *const *out,
                       size_t nout, const char *want)
{
    struct synap_graph *g = sample();
    struct synap_err err = {0};
    struct synap_prune_opts o = {in, nin, out, nout};
    int rc = synap_prune(g, &o, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(describe(g), want);
    assert_int_equal(synap_graph_verify(g, "t", &err), 0);
    synap_graph_free(g);
}

static void expect_error(const struct synap_prune_input *in, size_t nin, const char *const *out,
                         size_t nout, const char *msg)
{
    struct synap_graph *g = sample();
    struct synap_err err = {0};
    struct synap_prune_opts o = {in, nin, out, nout};
    assert_int_equal(synap_prune(g, &o, &err), -1);
    assert_int_equal(err.code, SYNAP_EINPUT);
    assert_string_equal(err.msg, msg);
    synap_graph_free(g);
}

static void test_nothing_to_cut(void **state)
{
    (void)state;
    expect_cut(NULL, 0, NULL, 0,
               "x[1, 3, 4, 4] y[1, 3, 4, 4] | r1 r2 s r3 add | c[1, 3, 4, 4] e[1, 3, 4, 4]");
}

static void test_outputs_drop_later_layers(void **state)
{
    (void)state;
    const char *out[] = {"b"};
    expect_cut(NULL, 0, out, 1, "x[1, 3, 4, 4] | r1 r2 | b[1, 3, 4, 4]");
    const char *out2[] = {"e", "a"};
    expect_cut(NULL, 0, out2, 2,
               "x[1, 3, 4, 4] y[1, 3, 4, 4] | r1 r3 add | e[1, 3, 4, 4] a[1, 3, 4, 4]");
}

static void test_inputs_with_shape_and_batch_forced(void **state)
{
    (void)state;
    /* the new shape flows to every later tensor; batch 7 becomes 1 */
    struct synap_prune_input in[] = {{"a", 4, {7, 3, 8, 8}}};
    const char *out[] = {"c"};
    expect_cut(in, 1, out, 1, "a[1, 3, 8, 8] | r2 s | c[1, 3, 8, 8]");
    /* without a shape the tensor keeps its own; y is still needed: it follows */
    struct synap_prune_input in2[] = {{"a", 0, {0}}};
    expect_cut(in2, 1, NULL, 0,
               "a[1, 3, 4, 4] y[1, 3, 4, 4] | r2 s r3 add | c[1, 3, 4, 4] e[1, 3, 4, 4]");
    /* named inputs come first, in the order given */
    struct synap_prune_input in3[] = {{"d", 0, {0}}, {"b", 0, {0}}, {"a", 0, {0}}};
    expect_cut(in3, 3, NULL, 0,
               "d[1, 3, 4, 4] b[1, 3, 4, 4] a[1, 3, 4, 4] | s add | c[1, 3, 4, 4] e[1, 3, 4, 4]");
}

static void test_errors(void **state)
{
    (void)state;
    const char *out[] = {"q"};
    expect_error(NULL, 0, out, 1,
                 "output: unknown tensor 'q'; candidates: 'x', 'y', 'a', 'b', 'c', 'd', 'e'");
    const char *out2[] = {"A"}; /* names containing it first (case-insensitive) */
    expect_error(NULL, 0, out2, 1, "output: unknown tensor 'A'; candidates: 'a'");
    const char *out4[] = {"r2"}; /* a layer name: the message gives its tensor */
    expect_error(NULL, 0, out4, 1, "output: 'r2' is a layer, not a tensor; its output is 'b'");
    struct synap_prune_input in[] = {{"w", 0, {0}}};
    expect_error(in, 1, NULL, 0, "input: tensor 'w' is a constant, not a layer output");
    struct synap_prune_input in2[] = {{"a", 0, {0}}, {"a", 0, {0}}};
    expect_error(in2, 2, NULL, 0, "input: tensor 'a' named twice");
    struct synap_prune_input in3[] = {{"c", 0, {0}}};
    const char *out3[] = {"b"};
    expect_error(in3, 1, out3, 1, "input 'c' does not feed any output");
    struct synap_prune_input in4[] = {{"a", 4, {1, 3, 0, 4}}};
    expect_error(in4, 1, NULL, 0, "input 'a': dimension 2 must be in 1..2147483647, got 0");
    /* a shape the next layer cannot take: the node is named */
    struct synap_prune_input in5[] = {{"d", 3, {1, 3, 5}}};
    struct synap_graph *g = sample();
    struct synap_err err = {0};
    struct synap_prune_opts o = {in5, 1, NULL, 0};
    assert_int_equal(synap_prune(g, &o, &err), -1);
    assert_non_null(strstr(err.msg, "shape inference after the cut: "));
    assert_non_null(strstr(err.msg, "add"));
    synap_graph_free(g);
}

static void test_options_from_json(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const char *text =
        "{\"inputs\": [\"in:0=4,3,2,1\", {\"name\": \"b\", \"shape\": [1, 2]}, "
        "\"plain\", {\"name\": \"n\", \"shape\": []}], \"outputs\": [\"o1\", \"o2\"]}";
    const struct synap_json *j = synap_json_parse(a, text, strlen(text), "opts", &err);
    assert_non_null(j);
    struct synap_prune_opts o;
    assert_int_equal(synap_prune_opts_from_json(j, a, &o, &err), 0);
    assert_int_equal(o.ninputs, 4);
    assert_string_equal(o.inputs[0].name, "in:0");
    assert_int_equal(o.inputs[0].rank, 4);
    assert_int_equal(o.inputs[0].dims[0], 4);
    assert_int_equal(o.inputs[0].dims[3], 1);
    assert_string_equal(o.inputs[1].name, "b");
    assert_int_equal(o.inputs[1].rank, 2);
    assert_string_equal(o.inputs[2].name, "plain");
    assert_int_equal(o.inputs[2].rank, 0);
    assert_int_equal(o.inputs[3].rank, 0);
    assert_int_equal(o.noutputs, 2);
    assert_string_equal(o.outputs[1], "o2");
    struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"input\": []}", "unknown option 'input'; valid options: inputs, outputs"},
        {"{\"inputs\": \"x\"}", "inputs: expected a list"},
        {"{\"inputs\": [\"x=1,,2\"]}", "inputs[0]: 'x=1,,2': expected NAME=D0,D1,..."},
        {"{\"inputs\": [\"x=\"]}", "inputs[0]: 'x=': expected NAME=D0,D1,..."},
        {"{\"inputs\": [{\"name\": \"x\", \"shap\": [1]}]}",
         "inputs[0]: unknown key 'shap'; valid keys: name, shape"},
        {"{\"inputs\": [{\"name\": \"x\", \"shape\": [1.5]}]}",
         "inputs[0] 'x': shape must be a list of integers"},
        {"{\"inputs\": [{\"shape\": [1]}]}", "inputs[0]: missing string 'name'"},
        {"{\"inputs\": [{\"name\": \"x\", \"shape\": [1,2,3,4,5,6,7,8,9]}]}",
         "inputs[0] 'x': shape must be a list of 1 to 8 integers"},
        {"{\"outputs\": [3]}", "outputs[0]: expected a tensor name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = synap_json_parse(a, bad[i].text, strlen(bad[i].text), "opts", &err);
        assert_non_null(j);
        assert_int_equal(synap_prune_opts_from_json(j, a, &o, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
    }
    synap_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_to_cut),
        cmocka_unit_test(test_outputs_drop_later_layers),
        cmocka_unit_test(test_inputs_with_shape_and_batch_forced),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_options_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
