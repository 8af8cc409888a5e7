/* Cast and CastLike: every dtype family, the defined results of NaN, Inf and
 * out-of-range floats to integers (saturation, NaN -> 0), integer wrapping,
 * float16 rounding, bfloat16 truncation (ONNX conformance data) and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernel.h"

static int run_node(struct synap_node *n, const struct synap_value *in, size_t nin,
                    struct synap_value *out, void *outbuf, struct synap_pool *pool,
                    struct synap_err *err)
{
    struct synap_kctx c = {
        .node = n, .in = in, .nin = nin, .out = out, .nout = 1, .pool = pool, .err = err};
    memset(out, 0, sizeof *out);
    if (synap_cast_infer(&c)) return -1;
    out->data = outbuf;
    return synap_cast_run(&c);
}

static struct synap_value vec(enum synap_dtype t, int64_t n, const void *data)
{
    struct synap_value v = {.dtype = t, .rank = 1, .dims = {n}, .data = (void *)data};
    return v;
}

static struct synap_graph *g;

static int setup(void **state)
{
    (void)state;
    g = synap_graph_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    synap_graph_free(g);
    return 0;
}

/* A Cast node to ONNX data type `to`. */
static struct synap_node *cast_to(int64_t to)
{
    struct synap_node *n = synap_graph_add_node(g, "cast", SYNAP_OP_CAST, 1, 1);
    synap_node_set_int(g, n, "to", to);
    return n;
}

static void test_float_to_int(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float x[8] = {NAN, INFINITY, -INFINITY, 300, -300, -1.7f, 1.7f, 127.9f};
    struct synap_value in = vec(SYNAP_DTYPE_FLOAT32, 8, x);
    int8_t i8[8];
    assert_int_equal(run_node(cast_to(3), &in, 1, &out, i8, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_INT8);
    assert_int_equal(out.dims[0], 8);
    assert_memory_equal(i8, ((int8_t[]){0, 127, -128, 127, -128, -1, 1, 127}), 8);
    uint8_t u8[8];
    assert_int_equal(run_node(cast_to(2), &in, 1, &out, u8, NULL, &err), 0);
    assert_memory_equal(u8, ((uint8_t[]){0, 255, 0, 255, 0, 0, 1, 127}), 8);
    int32_t i32[8];
    assert_int_equal(run_node(cast_to(6), &in, 1, &out, i32, NULL, &err), 0);
    assert_memory_equal(i32, ((int32_t[]){0, INT32_MAX, INT32_MIN, 300, -300, -1, 1, 127}),
                        sizeof i32);
    const float big[4] = {1e20f, -1e20f, NAN, -2.5f};
    int64_t i64[4];
    in = vec(SYNAP_DTYPE_FLOAT32, 4, big);
    assert_int_equal(run_node(cast_to(7), &in, 1, &out, i64, NULL, &err), 0);
    assert_memory_equal(i64, ((int64_t[]){INT64_MAX, INT64_MIN, 0, -2}), sizeof i64);
    uint64_t u64[4];
    assert_int_equal(run_node(cast_to(13), &in, 1, &out, u64, NULL, &err), 0);
    assert_memory_equal(u64, ((uint64_t[]){UINT64_MAX, 0, 0, 0}), sizeof u64);
    uint8_t b[4];
    assert_int_equal(run_node(cast_to(9), &in, 1, &out, b, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_BOOL);
    assert_memory_equal(b, ((uint8_t[]){1, 1, 1, 1}), 4); /* NaN != 0 */
}

static void test_floats(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    /* float32 -> float16 rounds to nearest even, overflows to Inf (numpy) */
    const float x[6] = {1.0f, 65504.0f, 70000.0f, 1e-8f, -2.5e-5f, 0.1f};
    uint16_t h[6];
    struct synap_value in = vec(SYNAP_DTYPE_FLOAT32, 6, x);
    assert_int_equal(run_node(cast_to(10), &in, 1, &out, h, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT16);
    assert_memory_equal(h, ((uint16_t[]){15360, 31743, 31744, 0, 33187, 11878}), sizeof h);
    float back[12];
    in = vec(SYNAP_DTYPE_FLOAT16, 6, h);
    assert_int_equal(run_node(cast_to(1), &in, 1, &out, back, NULL, &err), 0);
    assert_true(back[0] == 1.0f && back[1] == 65504.0f && isinf(back[2]) && back[3] == 0);
    assert_true(fabsf(back[5] - 0.1f) < 1e-4f);

    /* float32 -> bfloat16 truncates (test_cast_FLOAT_to_BFLOAT16) */
    const float bx[12] = {0.47892547f, 0.48033667f, 0.49968487f, 0.81910545f,
                          0.47031248f, 0.816468f,   0.21087195f, 0.7229038f,
                          NAN,         INFINITY,    INFINITY,    -INFINITY};
    uint16_t bf[12];
    in = vec(SYNAP_DTYPE_FLOAT32, 12, bx);
    assert_int_equal(run_node(cast_to(16), &in, 1, &out, bf, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_BFLOAT16);
    assert_memory_equal(bf,
                        ((uint16_t[]){0x3ef5, 0x3ef5, 0x3eff, 0x3f51, 0x3ef0, 0x3f51, 0x3e57,
                                      0x3f39, 0x7fc0, 0x7f80, 0x7f80, 0xff80}),
                        sizeof bf);
    in = vec(SYNAP_DTYPE_BFLOAT16, 12, bf);
    assert_int_equal(run_node(cast_to(1), &in, 1, &out, back, NULL, &err), 0);
    assert_true(back[0] == 0.478515625f && isnan(back[8]) && back[11] == -INFINITY);

    const double d[3] = {1.0 / 3, 1e300, -0.0};
    float f[3];
    in = vec(SYNAP_DTYPE_FLOAT64, 3, d);
    assert_int_equal(run_node(cast_to(1), &in, 1, &out, f, NULL, &err), 0);
    assert_true(f[0] == (float)(1.0 / 3) && isinf(f[1]) && f[2] == 0 && signbit(f[2]));
    double dd[3];
    in = vec(SYNAP_DTYPE_FLOAT32, 3, f);
    assert_int_equal(run_node(cast_to(11), &in, 1, &out, dd, NULL, &err), 0);
    assert_true(dd[0] == (double)f[0] && isinf(dd[1]));
}

static void test_ints_and_bool(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    /* integer narrowing wraps like numpy's astype */
    const int64_t x[4] = {300, -129, 0, -1};
    int8_t i8[4];
    struct synap_value in = vec(SYNAP_DTYPE_INT64, 4, x);
    assert_int_equal(run_node(cast_to(3), &in, 1, &out, i8, NULL, &err), 0);
    assert_memory_equal(i8, ((int8_t[]){44, 127, 0, -1}), 4);
    uint16_t u16[4];
    assert_int_equal(run_node(cast_to(4), &in, 1, &out, u16, NULL, &err), 0);
    assert_memory_equal(u16, ((uint16_t[]){300, 65407, 0, 65535}), sizeof u16);
    uint8_t b[4];
    assert_int_equal(run_node(cast_to(9), &in, 1, &out, b, NULL, &err), 0);
    assert_memory_equal(b, ((uint8_t[]){1, 1, 0, 1}), 4);
    float f[4];
    in = vec(SYNAP_DTYPE_BOOL, 4, b);
    assert_int_equal(run_node(cast_to(1), &in, 1, &out, f, NULL, &err), 0);
    assert_true(f[0] == 1 && f[1] == 1 && f[2] == 0 && f[3] == 1);
    const uint64_t u[2] = {UINT64_MAX, 5};
    in = vec(SYNAP_DTYPE_UINT64, 2, u);
    assert_int_equal(run_node(cast_to(1), &in, 1, &out, f, NULL, &err), 0);
    assert_true(f[0] == 18446744073709551616.0f && f[1] == 5);
    int16_t i16[2];
    const int32_t i32[2] = {-40000, 40000};
    in = vec(SYNAP_DTYPE_INT32, 2, i32);
    assert_int_equal(run_node(cast_to(5), &in, 1, &out, i16, NULL, &err), 0);
    assert_memory_equal(i16, ((int16_t[]){25536, -25536}), sizeof i16);
}

static void test_cast_like_and_shapes(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float x[6] = {1.5f, -2.5f, 3, 4, 5, 6};
    const int32_t like = 0;
    int32_t z[6];
    struct synap_value in[2] = {
        {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 2, .dims = {2, 3}, .data = (void *)x},
        {.dtype = SYNAP_DTYPE_INT32, .rank = 0, .data = (void *)&like}};
    struct synap_node *n = synap_graph_add_node(g, "cl", SYNAP_OP_CAST_LIKE, 2, 1);
    assert_int_equal(run_node(n, in, 2, &out, z, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_INT32);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 3);
    assert_memory_equal(z, ((int32_t[]){1, -2, 3, 4, 5, 6}), sizeof z);
    assert_int_equal(run_node(n, in, 1, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "input 1 (target_type) is missing");

    /* rank 0 and size 0 */
    struct synap_value s = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 0, .data = (void *)x};
    double d;
    assert_int_equal(run_node(cast_to(11), &s, 1, &out, &d, NULL, &err), 0);
    assert_int_equal(out.rank, 0);
    assert_true(d == 1.5);
    s.rank = 2, s.dims[0] = 3, s.dims[1] = 0, s.data = NULL;
    assert_int_equal(run_node(cast_to(11), &s, 1, &out, NULL, NULL, &err), 0);
    assert_int_equal(out.dims[1], 0);

    /* same bytes with and without threads */
    enum { N = 100000 };
    float *big = malloc(N * sizeof *big);
    uint16_t *h1 = malloc(N * 2), *h4 = malloc(N * 2);
    for (int i = 0; i < N; i++)
        big[i] = (float)(i - N / 2) * 0.37f;
    struct synap_value bv = vec(SYNAP_DTYPE_FLOAT32, N, big);
    struct synap_pool *pool = synap_pool_new(4);
    assert_int_equal(run_node(cast_to(10), &bv, 1, &out, h1, NULL, &err), 0);
    assert_int_equal(run_node(cast_to(10), &bv, 1, &out, h4, pool, &err), 0);
    assert_memory_equal(h1, h4, N * 2);
    for (int i = 0; i < N; i += 101)
        assert_int_equal(h1[i], synap_f32_to_f16(big[i]));
    synap_pool_free(pool);
    free(big), free(h1), free(h4);
}

static void test_errors(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float x[1] = {1};
    float y[1];
    struct synap_value in = vec(SYNAP_DTYPE_FLOAT32, 1, x);
    assert_int_equal(run_node(cast_to(8), &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute to=8 (string): strings are not supported");
    assert_int_equal(run_node(cast_to(99), &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute to=99: unsupported data type");
    assert_int_equal(run_node(cast_to(0), &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute to=0: unsupported data type");
    struct synap_node *n = synap_graph_add_node(g, "cast", SYNAP_OP_CAST, 1, 1);
    assert_int_equal(run_node(n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute 'to' is missing or not an integer");
    synap_node_set_string(g, n, "to", "float");
    assert_int_equal(run_node(n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute 'to' is missing or not an integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_to_int),  cmocka_unit_test(test_floats),
        cmocka_unit_test(test_ints_and_bool), cmocka_unit_test(test_cast_like_and_shapes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
