/* Layer patterns ('*', NAME, 'NAME...', '@id', INPUTS) resolved against a graph. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meta/pattern.h"

static const int64_t d4[] = {1, 2, 3, 4};

static uint32_t relu(struct synap_graph *g, const char *name, uint32_t in, const char *out)
{
    uint32_t t = synap_graph_add_tensor(g, out, SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, name, SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = in, n->outputs[0] = t;
    return t;
}

/* x -> A -> a; a -> B -> b; a -> C -> c; (b, c) -> D -> d; x -> E -> e.
 * Outputs d and e. Node ids: A 0, B 1, C 2, D 3, E 4. */
static struct synap_graph *diamond(void)
{
    struct synap_graph *g = synap_graph_new();
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    uint32_t a = relu(g, "A", x, "a");
    uint32_t b = relu(g, "B", a, "b");
    uint32_t c = relu(g, "C", a, "c");
    uint32_t d = synap_graph_add_tensor(g, "d", SYNAP_DTYPE_FLOAT32, 4, d4);
    struct synap_node *n = synap_graph_add_node(g, "D", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = b, n->inputs[1] = c, n->outputs[0] = d;
    uint32_t e = relu(g, "E", x, "e");
    g->inputs = synap_arena_memdup(g->arena, &x, sizeof x);
    g->ninputs = 1;
    uint32_t outs[] = {d, e};
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 2;
    return g;
}

/* "ACD" for the selected node names */
static const char *sel_str(const struct synap_graph *g, const bool *sel)
{
    static char buf[64];
    size_t n = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (sel[i]) buf[n++] = g->nodes[i].name[0];
    buf[n] = 0;
    return buf;
}

static void expect(const struct synap_graph *g, const char *pattern, unsigned flags,
                   const char *want)
{
    bool sel[8];
    struct synap_err err = {0};
    memset(sel, 1, sizeof sel);
    int rc = synap_pattern_match_flags(g, pattern, flags, sel, &err);
    if (rc) fprintf(stderr, "pattern '%s': %s\n", pattern, err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(sel_str(g, sel), want);
}

static void expect_error(const struct synap_graph *g, const char *pattern, unsigned flags,
                         const char *msg)
{
    bool sel[64];
    struct synap_err err = {0};
    assert_int_equal(synap_pattern_match_flags(g, pattern, flags, sel, &err), -1);
    assert_int_equal(err.code, SYNAP_EINPUT);
    assert_string_equal(err.msg, msg);
}

static void test_star_name_and_id(void **state)
{
    (void)state;
    struct synap_graph *g = diamond();
    expect(g, "*", 0, "ABCDE");
    expect(g, "C", 0, "C");
    expect(g, "  C\t", 0, "C"); /* blanks around are ignored */
    expect(g, "@0", 0, "A");
    expect(g, "@4", 0, "E");
    expect(g, "b", 0, "B"); /* a tensor name selects its producer */
    synap_graph_free(g);
}

static void test_descendants_exclude_the_layer(void **state)
{
    (void)state;
    struct synap_graph *g = diamond();
    expect(g, "A...", 0, "BCD");
    expect(g, "B...", 0, "D");
    expect(g, "E...", 0, "");
    expect(g, "D...", 0, "");
    expect(g, "a...", 0, "BCD"); /* by tensor name too */
    expect(g, "@0...", 0, "BCD");
    expect(g, "@1...", 0, "D");
    synap_graph_free(g);
}

static void test_inputs_only_when_allowed(void **state)
{
    (void)state;
    struct synap_graph *g = diamond();
    expect(g, "INPUTS", SYNAP_PATTERN_ALLOW_INPUTS, "AE");
    expect_error(g, "INPUTS", 0, "layer pattern 'INPUTS' is only valid in quantization maps");
    synap_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    struct synap_graph *g = diamond();
    expect_error(g, "Z", 0, "unknown layer 'Z'; valid layers: 'A', 'B', 'C', 'D', 'E'");
    expect_error(g, "Z...", 0,
                 "unknown layer 'Z' in pattern 'Z...'; valid layers: 'A', 'B', 'C', 'D', 'E'");
    expect_error(g, "@5", 0, "layer pattern '@5': layer id 5 out of range (0..4)");
    expect_error(g, "@99999999999999999999999", 0,
                 "layer pattern '@99999999999999999999999': layer id 99999999999999999999999 out "
                 "of range (0..4)");
    expect_error(g, "@-1", 0, "layer pattern '@-1': expected a layer id after '@'");
    expect_error(g, "@", 0, "layer pattern '@': expected a layer id after '@'");
    expect_error(g, "@1x", 0, "layer pattern '@1x': expected a layer id after '@'");
    expect_error(g, "@9...", 0, "layer pattern '@9...': layer id 9 out of range (0..4)");
    expect_error(g, "", 0, "empty layer pattern");
    expect_error(g, "  ", 0, "empty layer pattern");
    expect_error(g, "...", 0, "unknown layer '...'; valid layers: 'A', 'B', 'C', 'D', 'E'");
    synap_graph_free(g);
}

/* 30 layers: the message lists the first 20 and counts the rest */
static void test_unknown_name_list_is_truncated(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    uint32_t t = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    char name[16], tn[16];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "L%d", i);
        snprintf(tn, sizeof tn, "t%d", i);
        t = relu(g, name, t, tn);
    }
    expect_error(g, "nope", 0,
                 "unknown layer 'nope'; valid layers: 'L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', "
                 "'L7', 'L8', 'L9', 'L10', 'L11', 'L12', 'L13', 'L14', 'L15', 'L16', 'L17', "
                 "'L18', 'L19' and 10 more");
    synap_graph_free(g);
}

/* very long names: the list stops before the error buffer overflows, and
 * the count stays right */
static void test_long_names_fit_the_message(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    uint32_t t = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, d4);
    char name[300], tn[16];
    for (int i = 0; i < 10; i++) {
        memset(name, 'a' + i, 250);
        name[250] = 0;
        snprintf(tn, sizeof tn, "t%d", i);
        t = relu(g, name, t, tn);
    }
    bool sel[10];
    struct synap_err err = {0};
    assert_int_equal(synap_pattern_match(g, "nope", sel, &err), -1);
    assert_non_null(strstr(err.msg, " and 8 more"));
    assert_true(strlen(err.msg) < sizeof err.msg - 1);
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_star_name_and_id),
        cmocka_unit_test(test_descendants_exclude_the_layer),
        cmocka_unit_test(test_inputs_only_when_allowed),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unknown_name_list_is_truncated),
        cmocka_unit_test(test_long_names_fit_the_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
