/* synap_sgemm against a double-precision reference over every path (small,
 * matrix-vector, packed/blocked with edge tiles and K > one K block), with
 * transposes, leading dimensions, alpha/beta, and bit-identical results for
 * 1, 2 and 3 threads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/gemm.h"
#include "util/util.h"

static void fill(float *v, int64_t n, int seed)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t k = (i * 7919 + (int64_t)seed * 104729) % 2001;
        v[i] = (float)(k - 1000) / 1000.0f;
    }
}

struct shape {
    int64_t m, n, k;
    int ta, tb;
    int64_t pad; /* extra columns in every leading dimension */
    float alpha, beta;
};

/* Runs one product with `threads` threads into a fresh C (pre-filled with
 * fill(.., 3)) and returns C; checks it against the reference. */
static float *run_and_check(const struct shape *s, int threads)
{
    int64_t ar = s->ta ? s->k : s->m, ac = s->ta ? s->m : s->k;
    int64_t br = s->tb ? s->n : s->k, bc = s->tb ? s->k : s->n;
    int64_t lda = ac + s->pad, ldb = bc + s->pad, ldc = s->n + s->pad;
    float *a = synap_xmalloc(sizeof(float) * (size_t)(ar * lda));
    float *b = synap_xmalloc(sizeof(float) * (size_t)(br * ldb));
    float *c = synap_xmalloc(sizeof(float) * (size_t)(s->m * ldc));
    fill(a, ar * lda, 1);
    fill(b, br * ldb, 2);
    fill(c, s->m * ldc, 3);
    if (s->beta == 0.0f) /* beta == 0 must ignore C, NaNs included */
        for (int64_t i = 0; i < s->m * ldc; i += 7)
            c[i] = NAN;
    float *c0 = synap_xmalloc(sizeof(float) * (size_t)(s->m * ldc));
    memcpy(c0, c, sizeof(float) * (size_t)(s->m * ldc));
    struct synap_pool *pool = synap_pool_new(threads);
    synap_sgemm(pool, s->ta, s->tb, s->m, s->n, s->k, s->alpha, a, lda, b, ldb, s->beta, c, ldc);
    synap_pool_free(pool);
    for (int64_t i = 0; i < s->m; i++) {
        for (int64_t j = 0; j < s->n; j++) {
            double r = 0, mag = 0;
            for (int64_t p = 0; p < s->k; p++) {
                double x = s->ta ? a[p * lda + i] : a[i * lda + p];
                double y = s->tb ? b[j * ldb + p] : b[p * ldb + j];
                r += x * y;
                mag += fabs(x * y);
            }
            r *= s->alpha;
            if (s->beta != 0.0f) r += (double)s->beta * c0[i * ldc + j];
            /* float32 accumulation error grows with the sum of magnitudes */
            double tol = 1e-6 * (mag + 1) * 4;
            if (!(fabs(c[i * ldc + j] - r) <= tol))
                fail_msg("m%lld n%lld k%lld ta%d tb%d: c[%lld][%lld] = %.8g, want %.8g",
                         (long long)s->m, (long long)s->n, (long long)s->k, s->ta, s->tb,
                         (long long)i, (long long)j, c[i * ldc + j], r);
        }
        /* the padding columns of C are never written */
        for (int64_t j = s->n; j < ldc; j++)
            assert_memory_equal(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float));
    }
    free(a);
    free(b);
    free(c0);
    return c;
}

static const struct shape shapes[] = {
    {1, 1, 1, 0, 0, 0, 1.0f, 0.0f},       {3, 5, 7, 0, 0, 2, 1.0f, 0.0f},
    {3, 5, 7, 1, 1, 1, 0.5f, 2.0f},       {17, 33, 9, 1, 0, 0, 1.0f, 1.0f},
    {1000, 1, 300, 0, 0, 0, 1.0f, 0.0f},  {1000, 1, 300, 0, 1, 3, 2.0f, 0.5f},
    {1, 700, 300, 0, 1, 0, 1.0f, 0.0f},   {1, 700, 300, 1, 0, 0, 1.0f, 0.0f},
    {67, 129, 600, 0, 0, 0, 1.0f, 0.0f},  {67, 129, 600, 1, 1, 5, -1.5f, 0.25f},
    {150, 1100, 40, 0, 0, 0, 1.0f, 1.0f}, {150, 1100, 40, 0, 1, 0, 1.0f, 0.0f},
    {13, 2000, 27, 0, 0, 0, 1.0f, 0.0f},  {300, 17, 513, 1, 0, 3, 1.0f, 0.0f},
};

static void test_against_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        free(run_and_check(&shapes[i], 2));
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const struct shape *s = &shapes[i];
        size_t nb = sizeof(float) * (size_t)(s->m * (s->n + s->pad));
        float *ref = run_and_check(s, 1);
        for (int t = 2; t <= 3; t++) {
            float *c = run_and_check(s, t);
            assert_memory_equal(ref, c, nb);
            free(c);
        }
        free(ref);
    }
}

/* k == 0: C = beta * C; m or n == 0: nothing is touched. */
static void test_degenerate(void **state)
{
    (void)state;
    float a[1] = {1}, b[1] = {1}, c[4] = {1, 2, 3, 4};
    synap_sgemm(NULL, 0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 2.0f, c, 2);
    assert_float_equal(c[3], 8.0f, 0);
    synap_sgemm(NULL, 0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    assert_float_equal(c[0], 0.0f, 0);
    c[0] = 5;
    synap_sgemm(NULL, 0, 0, 0, 2, 3, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    synap_sgemm(NULL, 0, 0, 2, 0, 3, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    assert_float_equal(c[0], 5.0f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
