/* Graph builder, attributes, verifier, topological sort and pruning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir.h"

#include "graph_harness.h"

static const int64_t d4[] = {1, 2, 3, 4};

static void test_attrs_sorted_and_typed(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    struct synap_node *n = synap_graph_add_node(g, "n", SYNAP_OP_CONV, 2, 1);
    int64_t pads[] = {1, 1, 1, 1};
    float fl[] = {0.5f};
    const char *ss[] = {"a", "b"};
    synap_node_set_ints(g, n, "pads", pads, 4);
    synap_node_set_int(g, n, "group", 2);
    synap_node_set_string(g, n, "auto_pad", "NOTSET");
    synap_node_set_floats(g, n, "f", fl, 1);
    synap_node_set_strings(g, n, "s", ss, 2);
    synap_node_set_int(g, n, "group", 3); /* replaces */
    assert_int_equal(n->nattrs, 5);
    for (size_t i = 1; i < n->nattrs; i++)
        assert_true(strcmp(n->attrs[i - 1].name, n->attrs[i].name) < 0);
    assert_int_equal(synap_attr_int(n, "group", 1), 3);
    assert_int_equal(synap_attr_int(n, "missing", 7), 7);
    assert_string_equal(synap_attr_string(n, "auto_pad", ""), "NOTSET");
    const int64_t *v;
    assert_int_equal(synap_attr_ints(n, "pads", &v), 4);
    assert_int_equal(v[3], 1);
    assert_int_equal(synap_attr_ints(n, "group", &v), 0); /* wrong type: absent */
    synap_node_remove_attr(n, "f");
    assert_null(synap_node_attr(n, "f"));
    assert_int_equal(n->nattrs, 4);
    synap_graph_free(g);
}

/* x -> Relu -> a -> Relu -> b (output), built in reverse order */
static struct synap_graph *chain(int reversed)
{
    struct synap_graph *g = synap_graph_new();
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t a = synap_graph_add_tensor(g, "a", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t b = synap_graph_add_tensor(g, "b", SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n;
    if (reversed) {
        n = synap_graph_add_node(g, "second", SYNAP_OP_RELU, 1, 1);
        n->inputs[0] = a, n->outputs[0] = b;
        n = synap_graph_add_node(g, "first", SYNAP_OP_RELU, 1, 1);
        n->inputs[0] = x, n->outputs[0] = a;
    } else {
        n = synap_graph_add_node(g, "first", SYNAP_OP_RELU, 1, 1);
        n->inputs[0] = x, n->outputs[0] = a;
        n = synap_graph_add_node(g, "second", SYNAP_OP_RELU, 1, 1);
        n->inputs[0] = a, n->outputs[0] = b;
    }
    gh_set_io(g, x, b);
    return g;
}

static void test_verify_and_toposort(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_graph *g = chain(1);
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), -1);
    assert_string_equal(err.msg, "m.ir: node 'second' (Relu): input 0 'a' is not produced before "
                                 "the node (graph not topologically sorted, or a cycle)");
    assert_int_equal(synap_graph_toposort(g, &err), 0);
    assert_string_equal(g->nodes[0].name, "first");
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), 0);
    synap_graph_free(g);
}

static void test_cycle_detected(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_graph *g = chain(0);
    g->nodes[0].inputs[0] = 2; /* first reads b, which second computes from a */
    assert_int_equal(synap_graph_toposort(g, &err), -1);
    assert_string_equal(err.msg, "graph has a cycle through node 'first' (Relu)");
    synap_graph_free(g);
}

static void test_verify_rejects_bad_indices_and_sizes(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_graph *g = chain(0);
    g->nodes[1].outputs[0] = 99;
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), -1);
    assert_string_equal(err.msg, "m.ir: node 'second' (Relu): output 0: tensor index 99 out of range");
    g->nodes[1].outputs[0] = 2;
    g->tensors[1].dims[0] = INT64_MAX;
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), -1);
    assert_string_equal(err.msg, "m.ir: tensor 1 'a': negative dimension or element count overflows");
    g->tensors[1].dims[0] = 1;
    float w[3] = {0};
    g->tensors[1].data = w;
    g->tensors[1].nbytes = sizeof w;
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), -1);
    assert_string_equal(err.msg, "m.ir: tensor 1 'a': constant has 12 bytes, shape needs 96");
    synap_graph_free(g);
}

static void test_prune_dead(void **state)
{
    (void)state;
    struct synap_graph *g = chain(0);
    /* an extra branch nobody uses, and an unused constant */
    uint32_t u = synap_graph_add_tensor(g, "unused", SYNAP_DTYPE_FLOAT32, 4, d4);
    float one = 1;
    synap_graph_add_const(g, "c", SYNAP_DTYPE_FLOAT32, 0, NULL, &one, sizeof one);
    struct synap_node *n = synap_graph_add_node(g, "dead", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = 0, n->outputs[0] = u;
    synap_graph_prune_dead(g);
    assert_int_equal(g->nnodes, 2);
    assert_int_equal(g->ntensors, 3);
    assert_string_equal(g->tensors[g->outputs[0]].name, "b");
    struct synap_err err = {0};
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), 0);
    synap_graph_free(g);
}

static void test_shape_helpers(void **state)
{
    (void)state;
    int64_t big[] = {INT64_MAX / 2, 3};
    assert_int_equal(synap_shape_nelem(4, d4), 24);
    assert_int_equal(synap_shape_nelem(0, NULL), 1);
    assert_int_equal(synap_shape_nelem(2, big), -1);
    char buf[64];
    assert_string_equal(synap_shape_str(4, d4, buf, sizeof buf), "[1, 2, 3, 4]");
    assert_string_equal(synap_shape_str(0, d4, buf, sizeof buf), "[]");
    assert_int_equal(synap_op_from_name("Conv"), SYNAP_OP_CONV);
    assert_int_equal(synap_op_from_name("Nope"), SYNAP_OP_COUNT);
    assert_string_equal(synap_dtype_name(SYNAP_DTYPE_BOOL), "bool");
    assert_int_equal(synap_dtype_from_name("uint16"), SYNAP_DTYPE_UINT16);
    assert_int_equal(synap_dtype_size(SYNAP_DTYPE_INT64), 8);
}

static void test_err_prefix_truncates_safely(void **state)
{
    (void)state;
    struct synap_err err = {0};
    char longmsg[2000];
    memset(longmsg, 'x', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = 0;
    synap_errf(&err, "%s", longmsg);
    synap_err_prefix(&err, "file.onnx");
    assert_int_equal(strncmp(err.msg, "file.onnx: xxx", 14), 0);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_int_equal(err.code, SYNAP_EINPUT);
}

static void test_names_escaped_in_messages(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_graph *g = chain(1);
    g->nodes[0].name = "two\nlines 'q'";
    assert_int_equal(synap_graph_verify(g, "m.ir", &err), -1);
    assert_string_equal(err.msg, "m.ir: node 'two\\x0alines \\x27q\\x27' (Relu): input 0 'a' is not "
                                 "produced before the node (graph not topologically sorted, or a cycle)");
    assert_null(strchr(err.msg, '\n'));
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attrs_sorted_and_typed),
        cmocka_unit_test(test_verify_and_toposort),
        cmocka_unit_test(test_cycle_detected),
        cmocka_unit_test(test_verify_rejects_bad_indices_and_sizes),
        cmocka_unit_test(test_prune_dead),
        cmocka_unit_test(test_shape_helpers),
        cmocka_unit_test(test_err_prefix_truncates_safely),
        cmocka_unit_test(test_names_escaped_in_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
