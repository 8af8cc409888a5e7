/* harness: crash/timeout isolation, tolerance comparison and expected-failures files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- harness_run ------------------------------------------------------------- */

#define NCASES 7

struct seen {
    size_t order[NCASES];
    size_t n;
    enum harness_status status[NCASES];
    char reason[NCASES][256];
};

static void exit_23(void)
{
    _exit(23);
}

static enum harness_status case_fn(void *ctx, size_t i, char *reason, size_t n)
{
    (void)ctx;
    switch (i) {
    case 0:
        snprintf(reason, n, "fine");
        return HARNESS_PASS;
    case 1:
        /* finishes after later cases: results must still arrive in order */
        usleep(300000);
        snprintf(reason, n, "wrong\tvalue\n");
        return HARNESS_FAIL;
    case 2:
        raise(SIGABRT);
        return HARNESS_PASS;
    case 3:
        for (;;)
            pause(); /* killed by the alarm */
    case 4:
        exit(3);
    case 5:
        /* reports, then dies at exit, like a leak checker would */
        atexit(exit_23);
        snprintf(reason, n, "fine");
        return HARNESS_PASS;
    default:
        snprintf(reason, n, "no kernel");
        return HARNESS_UNSUPPORTED;
    }
}

static void done_fn(void *ctx, size_t i, enum harness_status s, const char *reason)
{
    struct seen *S = ctx;
    S->order[S->n++] = i;
    S->status[i] = s;
    snprintf(S->reason[i], sizeof S->reason[i], "%s", reason);
}

static void test_run_isolates_cases(void **state)
{
    (void)state;
    struct seen S = {0};
    harness_run(NCASES, 3, 1, case_fn, done_fn, &S);
    assert_int_equal(S.n, NCASES);
    for (size_t i = 0; i < NCASES; i++)
        assert_int_equal(S.order[i], i);
    assert_int_equal(S.status[0], HARNESS_PASS);
    assert_string_equal(S.reason[0], "fine");
    assert_int_equal(S.status[1], HARNESS_FAIL);
    assert_string_equal(S.reason[1], "wrong value "); /* made one line */
    assert_int_equal(S.status[2], HARNESS_CRASH);
    assert_string_equal(S.reason[2], "signal 6 (Aborted)");
    assert_int_equal(S.status[3], HARNESS_TIMEOUT);
    assert_string_equal(S.reason[3], "no result within the time limit");
    assert_int_equal(S.status[4], HARNESS_CRASH);
    assert_string_equal(S.reason[4], "exit status 3");
    assert_int_equal(S.status[5], HARNESS_CRASH);
    assert_string_equal(S.reason[5], "exit status 23 after reporting PASS: fine");
    assert_int_equal(S.status[6], HARNESS_UNSUPPORTED);
    assert_string_equal(S.reason[6], "no kernel");
}

static void test_run_nothing(void **state)
{
    (void)state;
    struct seen S = {0};
    harness_run(0, 2, 1, case_fn, done_fn, &S);
    assert_int_equal(S.n, 0);
}

/* ---- harness_compare ------------------------------------------------------------ */

static struct synap_value fval(float *d, int n)
{
    struct synap_value v = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 1, .dims = {n}, .data = d};
    return v;
}

static void test_compare_floats(void **state)
{
    (void)state;
    struct harness_cmp c;
    /* tolerance 1e-5 + 1e-3 * |want|: for want = 100 that is 0.10001 */
    float want[6] = {100.0f, -2.0f, 0.0f, NAN, INFINITY, -INFINITY};
    float got[6] = {100.1f, -2.0019f, 9e-6f, NAN, INFINITY, -INFINITY};
    struct synap_value g = fval(got, 6), w = fval(want, 6);
    assert_int_equal(harness_compare(&g, &w, 1e-5, 1e-3, 0, &c), 0);
    assert_int_equal(c.nelem, 6);
    assert_int_equal(c.nbad, 0);
    assert_int_equal(c.first, -1);
    assert_true(fabs(c.max_abs_diff - (100.1f - 100.0f)) < 1e-9);

    got[0] = 100.2f; /* outside by ~0.1 */
    got[1] = -2.0f;
    got[2] = 5e-5f; /* outside by 4e-5 */
    assert_int_equal(harness_compare(&g, &w, 1e-5, 1e-3, 0, &c), 1);
    assert_int_equal(c.nbad, 2);
    assert_int_equal(c.first, 0);
    assert_int_equal(c.worst, 0);
    assert_true(c.first_got == (double)100.2f && c.first_want == 100.0);
    assert_true(fabs(c.worst_tol - 0.10001) < 1e-12);

    /* NaN only matches NaN; an infinity only the same infinity, whatever rtol */
    float w2[4] = {NAN, 1.0f, INFINITY, INFINITY};
    float g2[4] = {1.0f, NAN, -INFINITY, 1e30f};
    g = fval(g2, 4);
    w = fval(w2, 4);
    assert_int_equal(harness_compare(&g, &w, 1e-5, 1e-3, 0, &c), 1);
    assert_int_equal(c.nbad, 4);
    assert_true(c.max_abs_diff == 0); /* only finite pairs count */
}

static void test_compare_classes_and_shapes(void **state)
{
    (void)state;
    struct harness_cmp c;
    float f[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[6] = {0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600}; /* 1..6 in float16 */
    int64_t i64[6] = {1, 2, 3, 4, 5, 6};
    uint8_t b[6] = {1, 0, 1, 0, 1, 0};
    struct synap_value vf = {SYNAP_DTYPE_FLOAT32, 2, {2, 3}, f};
    struct synap_value vh = {SYNAP_DTYPE_FLOAT16, 2, {2, 3}, h};
    struct synap_value vi = {SYNAP_DTYPE_INT64, 2, {2, 3}, i64};
    struct synap_value vb = {SYNAP_DTYPE_BOOL, 2, {2, 3}, b};
    struct synap_value vt = {SYNAP_DTYPE_FLOAT32, 2, {3, 2}, f};
    /* float32 against float16: the same class */
    assert_int_equal(harness_compare(&vf, &vh, 1e-5, 1e-3, 0, &c), 0);
    assert_int_equal(harness_compare(&vf, &vi, 1e-5, 1e-3, 0, &c), -1);
    assert_string_equal(c.msg, "dtype float32, expected int64");
    assert_int_equal(harness_compare(&vb, &vi, 1e-5, 1e-3, 0, &c), -1);
    assert_string_equal(c.msg, "dtype bool, expected int64");
    assert_int_equal(harness_compare(&vt, &vf, 1e-5, 1e-3, 0, &c), -1);
    assert_string_equal(c.msg, "shape [3, 2], expected [2, 3]");
}

static void test_compare_ints_exact(void **state)
{
    (void)state;
    struct harness_cmp c;
    /* 2^60 and 2^60 + 1 are the same double: integers must not go through one */
    int64_t w[3] = {INT64_C(1) << 60, INT64_MIN, 7};
    int64_t g[3] = {(INT64_C(1) << 60) + 1, INT64_MAX, 7};
    int32_t g32[3] = {0, 0, 7};
    struct synap_value vw = {SYNAP_DTYPE_INT64, 1, {3}, w};
    struct synap_value vg = {SYNAP_DTYPE_INT64, 1, {3}, g};
    assert_int_equal(harness_compare(&vg, &vw, 1e-5, 1e-3, 0, &c), 1);
    assert_int_equal(c.nbad, 2);
    assert_int_equal(c.first, 0);
    assert_int_equal(c.worst, 1); /* the overflow-free difference 2^64 - 1 */
    /* with a step tolerance (quantized outputs) */
    assert_int_equal(harness_compare(&vg, &vw, 0, 0, 1, &c), 1);
    assert_int_equal(c.nbad, 1);
    assert_int_equal(c.first, 1);
    /* int32 against int64: the same class */
    struct synap_value v32 = {SYNAP_DTYPE_INT32, 1, {3}, g32};
    w[0] = 0;
    w[1] = 0;
    assert_int_equal(harness_compare(&v32, &vw, 1e-5, 1e-3, 0, &c), 0);
}

static void test_index_str(void **state)
{
    (void)state;
    char buf[64];
    int64_t dims[3] = {2, 3, 4};
    assert_string_equal(harness_index_str(3, dims, 0, buf, sizeof buf), "[0, 0, 0]");
    assert_string_equal(harness_index_str(3, dims, 23, buf, sizeof buf), "[1, 2, 3]");
    assert_string_equal(harness_index_str(3, dims, 13, buf, sizeof buf), "[1, 0, 1]");
    assert_string_equal(harness_index_str(0, dims, 0, buf, sizeof buf), "[]");
}

/* ---- expected-failures files ------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_expect_file(void **state)
{
    (void)state;
    char path[] = "/tmp/synap_test_expect_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# comment\n\nnode/test_b\tUNSUPPORTED: 1 unsupported op: X\r\n"
                     "node/test_a\tFAIL: wrong\nsimple/test_c\tsomething else\n");
    struct harness_expect *e;
    size_t n;
    char err[256];
    assert_int_equal(harness_expect_read(path, &e, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].id, "node/test_a"); /* sorted */
    assert_int_equal(e[0].status, HARNESS_FAIL);
    assert_string_equal(e[1].reason, "UNSUPPORTED: 1 unsupported op: X");
    assert_int_equal(e[1].status, HARNESS_UNSUPPORTED);
    assert_int_equal(e[2].status, HARNESS_NSTATUS);
    assert_ptr_equal(harness_expect_find(e, n, "node/test_b"), &e[1]);
    assert_null(harness_expect_find(e, n, "node/test_z"));
    harness_expect_free(e, n);

    write_file(path, "node/test_a\tFAIL: x\nnode/test_a\tFAIL: y\n");
    assert_int_equal(harness_expect_read(path, &e, &n, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: 'node/test_a' is listed twice", path);
    assert_string_equal(err, want);

    write_file(path, "# ok\nnode/test_a FAIL: no tab\n");
    assert_int_equal(harness_expect_read(path, &e, &n, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: expected \"folder/test<TAB>reason\"", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_int_equal(harness_expect_read(path, &e, &n, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
}

static void test_status_names(void **state)
{
    (void)state;
    for (int s = 0; s < HARNESS_NSTATUS; s++)
        assert_int_equal(harness_status_parse(harness_status_name((enum harness_status)s)), s);
    assert_int_equal(harness_status_parse("TIMEOUT: slow"), HARNESS_TIMEOUT);
    assert_int_equal(harness_status_parse("FAILED"), HARNESS_NSTATUS);
    assert_int_equal(harness_status_parse(""), HARNESS_NSTATUS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_isolates_cases),
        cmocka_unit_test(test_run_nothing),
        cmocka_unit_test(test_compare_floats),
        cmocka_unit_test(test_compare_classes_and_shapes),
        cmocka_unit_test(test_compare_ints_exact),
        cmocka_unit_test(test_index_str),
        cmocka_unit_test(test_expect_file),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
