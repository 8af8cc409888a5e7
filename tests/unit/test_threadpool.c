/* The thread pool covers every index exactly once, whatever the thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/threadpool.h"
#include "util/util.h"

struct job {
    int *hits;
    float *out;
};

static void body(void *arg, size_t b, size_t e)
{
    struct job *j = arg;
    for (size_t i = b; i < e; i++) {
        j->hits[i]++;
        /* a per-index computation whose result must not depend on the split */
        float s = 0;
        for (size_t k = 0; k <= i % 97; k++) s += 1.0f / (float)(k + 1 + i);
        j->out[i] = s;
    }
}

static void test_every_index_once_and_identical(void **state)
{
    (void)state;
    enum { N = 10007 };
    float *ref = synap_xcalloc(N, sizeof *ref);
    for (int t = 1; t <= 5; t++) {
        struct synap_pool *p = t == 5 ? NULL : synap_pool_new(t);
        struct job j = {synap_xcalloc(N, sizeof(int)), synap_xcalloc(N, sizeof(float))};
        for (int rep = 0; rep < 20; rep++) {
            memset(j.hits, 0, N * sizeof(int));
            synap_pool_for(p, N, 16, body, &j);
            for (int i = 0; i < N; i++) assert_int_equal(j.hits[i], 1);
        }
        if (t == 1)
            memcpy(ref, j.out, N * sizeof(float));
        else
            assert_memory_equal(ref, j.out, N * sizeof(float));
        assert_int_equal(synap_pool_nthreads(p), t == 5 ? 1 : t);
        free(j.hits);
        free(j.out);
        synap_pool_free(p);
    }
    free(ref);
}

static void test_small_and_empty_ranges(void **state)
{
    (void)state;
    struct synap_pool *p = synap_pool_new(3);
    int hits[3] = {0};
    struct job j = {hits, (float[3]){0}};
    synap_pool_for(p, 0, 1, body, &j);
    synap_pool_for(p, 3, 1, body, &j);
    assert_int_equal(hits[0] + hits[1] + hits[2], 3);
    synap_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once_and_identical),
        cmocka_unit_test(test_small_and_empty_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
