/* Target descriptions: every file in targets/ loads, names and aliases are
 * case-insensitive, damaged files give located messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "target/target.h"

static void test_vs680_and_aliases(void **state)
{
    (void)state;
    unsetenv("SYNAP_TARGETS_DIR");
    struct synap_target t;
    struct synap_err err = {0};
    const char *names[] = {"VS680", "vs680", "VS680A0", "dolphin", "Dolphin"};
    for (size_t i = 0; i < 5; i++) {
        if (synap_target_load(names[i], &t, &err)) fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(synap_target_load(names[i], &t, &err), 0);
        assert_string_equal(t.name, "VS680");
    }
    assert_int_equal(t.ndelegates, 3);
    assert_string_equal(t.delegates[0], "npu");
    assert_string_equal(t.delegates[1], "gpu");
    assert_string_equal(t.delegates[2], "cpu");
    assert_int_equal(synap_target_delegate(&t, "gpu"), 1);
    assert_int_equal(synap_target_delegate(&t, "dsp"), -1);
    /* 7.9 TOP/s int8 = 3.95 TMAC/s = 3950 MACs per cycle at 1 GHz */
    assert_true(t.clock_mhz == 1000);
    assert_true(t.macs_per_cycle_int8 == 3950);
    assert_true(t.macs_per_cycle_int16 == 850);
    assert_true(t.macs_per_cycle_float16 > 0);
    assert_true(t.ddr_bandwidth_mb_s > 0);
    assert_true(t.supported[0][SYNAP_OP_CONV]);
    assert_true(t.supported[0][SYNAP_OP_SOFTMAX]);
    assert_false(t.supported[0][SYNAP_OP_LSTM]);
    assert_false(t.supported[0][SYNAP_OP_NON_ZERO]);
    for (int op = 0; op < SYNAP_OP_COUNT; op++)
        assert_true(t.supported[2][op]);
    assert_non_null(strstr(t.path, "vs680.yaml"));
}

static void test_every_target(void **state)
{
    (void)state;
    unsetenv("SYNAP_TARGETS_DIR");
    struct {
        const char *name, *canon, *dels;
        double macs8;
    } want[] = {
        {"generic", "GENERIC", "cpu", 0},
        {"DVF120", "DVF120", "gpu,cpu", 0},
        {"sl1620", "SL1620", "gpu,cpu", 0},
        {"VS640", "VS640", "npu,gpu,cpu", 800},
        {"vs640a0", "VS640", "npu,gpu,cpu", 800},
        {"PLATYPUS", "VS640", "npu,gpu,cpu", 800},
        {"SL1640", "SL1640", "npu,gpu,cpu", 800},
        {"SL1680", "SL1680", "npu,gpu,cpu", 3950},
        {"host", "HOST", "cpu", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        struct synap_target t;
        struct synap_err err = {0};
        if (synap_target_load(want[i].name, &t, &err)) fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(synap_target_load(want[i].name, &t, &err), 0);
        assert_string_equal(t.name, want[i].canon);
        char dels[32] = "";
        for (size_t d = 0; d < t.ndelegates; d++)
            snprintf(dels + strlen(dels), sizeof dels - strlen(dels), "%s%s", d ? "," : "",
                     t.delegates[d]);
        assert_string_equal(dels, want[i].dels);
        assert_true(t.macs_per_cycle_int8 == want[i].macs8);
        int cpu = synap_target_delegate(&t, "cpu");
        assert_true(cpu >= 0);
        for (int op = 0; op < SYNAP_OP_COUNT; op++)
            assert_true(t.supported[cpu][op]);
        int gpu = synap_target_delegate(&t, "gpu");
        if (gpu >= 0) {
            assert_true(t.supported[gpu][SYNAP_OP_CONV]);
            assert_false(t.supported[gpu][SYNAP_OP_LRN]);
        }
    }
}

static void test_unknown_target_lists_valid_ones(void **state)
{
    (void)state;
    unsetenv("SYNAP_TARGETS_DIR");
    struct synap_target t;
    struct synap_err err = {0};
    const char *msg = "unknown target '%s'; valid targets: DOLPHIN, DVF120, GENERIC, HOST, "
                      "PLATYPUS, SL1620, SL1640, SL1680, VS640, VS640A0, VS680, VS680A0";
    const char *bad[] = {"VS999", "../targets/vs680", "vs680.yaml", "vs 680"};
    for (size_t i = 0; i < 4; i++) {
        char want[512];
        snprintf(want, sizeof want, msg, bad[i]);
        assert_int_equal(synap_target_load(bad[i], &t, &err), -1);
        assert_string_equal(err.msg, want);
    }
    assert_int_equal(synap_target_load("", &t, &err), -1);
    assert_string_equal(err.msg, "no target given");
}

/* A temporary targets folder with one file. */
static char dir[64];

static void write_target(const char *name, const char *text)
{
    snprintf(dir, sizeof dir, "/tmp/synap-test-target-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    setenv("SYNAP_TARGETS_DIR", dir, 1);
}

static void remove_target(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    rmdir(dir);
    unsetenv("SYNAP_TARGETS_DIR");
}

static void expect_bad(const char *text, const char *msg)
{
    write_target("t.yaml", text);
    struct synap_target t;
    struct synap_err err = {0};
    assert_int_equal(synap_target_load("T", &t, &err), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s/t.yaml:%s", dir, msg);
    assert_string_equal(err.msg, want);
    remove_target("t.yaml");
}

static void test_damaged_files(void **state)
{
    (void)state;
    expect_bad("name: T\ndelegates: [cpu]\nops: {cpu: all}\nfoo: 1\n",
               "4:1: unknown key 'foo'; valid keys: name, aliases, description, delegates, npu, "
               "ops");
    expect_bad("name: T\ndelegates: [cpu]\n", "1:1: missing key 'ops'");
    expect_bad("name: T\ndelegates: [dsp]\nops: {}\n",
               "2:13: delegates: unknown delegate 'dsp'; valid: npu, gpu, cpu");
    expect_bad("name: T\ndelegates: [cpu, gpu]\nops: {cpu: all}\n",
               "3:6: ops: missing the op list of delegate 'gpu'");
    expect_bad("name: T\ndelegates: [cpu]\nops:\n  cpu: [Conv, Convolution]\n",
               "4:15: ops.cpu: unknown op 'Convolution'");
    expect_bad("name: T\ndelegates: [npu]\nops: {npu: all}\n",
               "1:1: missing key 'npu' (the NPU facts of a target with an npu)");
    expect_bad("name: T\ndelegates: [npu]\nnpu: {clock_mhz: 1000, macs_per_cycle: {int4: 3}}\n"
               "ops: {npu: all}\n",
               "3:41: unknown key 'int4' in npu.macs_per_cycle; valid keys: int8, int16, "
               "float16");
    expect_bad("name: T\ndelegates: [npu]\nnpu: {clock_mhz: -5, macs_per_cycle: {int8: 3}}\n"
               "ops: {npu: all}\n",
               "3:18: clock_mhz: expected a positive number");
    expect_bad("name: [T\n", "2:1: invalid YAML: did not find expected ',' or ']' while parsing "
                             "a flow sequence");
}

/* a target found by alias in a file named differently, and a valid custom file */
static void test_alias_in_other_file(void **state)
{
    (void)state;
    write_target("custom.yaml", "name: Board\naliases: [myboard]\ndelegates: [npu, cpu]\n"
                                "npu: {clock_mhz: 500, macs_per_cycle: {int8: 64}}\n"
                                "ops: {npu: [Conv, Relu], cpu: all}\n");
    struct synap_target t;
    struct synap_err err = {0};
    assert_int_equal(synap_target_load("MYBOARD", &t, &err), 0);
    assert_string_equal(t.name, "BOARD");
    assert_true(t.supported[0][SYNAP_OP_RELU]);
    assert_false(t.supported[0][SYNAP_OP_ADD]);
    assert_true(t.macs_per_cycle_int16 == 0);
    assert_int_equal(synap_target_load("board", &t, &err), 0);
    remove_target("custom.yaml");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vs680_and_aliases),
        cmocka_unit_test(test_every_target),
        cmocka_unit_test(test_unknown_target_lists_valid_ones),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_alias_in_other_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
