/* The YAML tree: positions, types, typed reads and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/yaml.h"

static void test_tree_and_positions(void **state)
{
    (void)state;
    const char *t = "inputs:\n  - name: x\n    shape: [1, 3, 224, 224]\n    scale: 127.5\n"
                    "delegate: {'*': npu, conv5: cpu}\nempty:\nflag: Yes\nq: '12'\n";
    struct synap_err err = {0};
    struct synap_yaml *y = synap_yaml_parse(t, strlen(t), "m.yaml", &err);
    assert_non_null(y);
    const struct synap_yaml_node *r = synap_yaml_root(y);
    assert_int_equal(synap_yaml_type(r), SYNAP_YAML_MAP);
    assert_int_equal(synap_yaml_len(r), 5);
    const struct synap_yaml_node *in0 = synap_yaml_item(synap_yaml_get(r, "inputs"), 0);
    assert_string_equal(synap_yaml_scalar(synap_yaml_get(in0, "name")), "x");
    const struct synap_yaml_node *shape = synap_yaml_get(in0, "shape");
    assert_int_equal(synap_yaml_len(shape), 4);
    assert_int_equal(synap_yaml_line(shape), 3);
    assert_int_equal(synap_yaml_column(shape), 12);
    long long v;
    assert_int_equal(synap_yaml_int(y, synap_yaml_item(shape, 3), "shape", &v, &err), 0);
    assert_int_equal(v, 224);
    double d;
    assert_int_equal(synap_yaml_double(y, synap_yaml_get(in0, "scale"), "scale", &d, &err), 0);
    assert_true(d == 127.5);
    const struct synap_yaml_node *del = synap_yaml_get(r, "delegate");
    assert_string_equal(synap_yaml_scalar(synap_yaml_key(del, 0)), "*");
    assert_true(synap_yaml_quoted(synap_yaml_key(del, 0)));
    assert_string_equal(synap_yaml_scalar(synap_yaml_value(del, 1)), "cpu");
    assert_int_equal(synap_yaml_type(synap_yaml_get(r, "empty")), SYNAP_YAML_NULL);
    bool b;
    assert_int_equal(synap_yaml_bool(y, synap_yaml_get(r, "flag"), "flag", &b, &err), 0);
    assert_true(b);
    assert_int_equal(synap_yaml_double(y, synap_yaml_get(r, "q"), "q", &d, &err), -1);
    assert_string_equal(err.msg, "m.yaml:8:4: q: expected a number, got '12'");
    assert_int_equal(synap_yaml_int(y, synap_yaml_get(in0, "name"), "name", &v, &err), -1);
    assert_string_equal(err.msg, "m.yaml:2:11: name: expected an integer, got 'x'");
    synap_yaml_free(y);
}

static void test_errors(void **state)
{
    (void)state;
    struct synap_err err = {0};
    const char *bad = "a: [1, 2\nb: 3\n";
    assert_null(synap_yaml_parse(bad, strlen(bad), "bad.yaml", &err));
    assert_int_equal(strncmp(err.msg, "bad.yaml:", 9), 0);
    assert_non_null(strstr(err.msg, "invalid YAML"));
    const char *alias = "a: &x [1, 2]\nb: *x\n";
    assert_null(synap_yaml_parse(alias, strlen(alias), "alias.yaml", &err));
    assert_string_equal(err.msg, "alias.yaml:1:1: YAML aliases (*name) are not supported");
    struct synap_yaml *y = synap_yaml_parse("", 0, "empty.yaml", &err);
    assert_non_null(y);
    assert_null(synap_yaml_root(y));
    synap_yaml_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_positions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
