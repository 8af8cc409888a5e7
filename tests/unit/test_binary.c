/* Broadcasting elementwise kernels: golden vectors (numpy) for arithmetic,
 * comparisons, logic, bit ops, variadic ops and Where over every dtype
 * family, broadcasting edge cases (rank 0, size-0 dims, [1] vs [N]), NaN,
 * integer corner cases, errors and thread-count independence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernel.h"

/* infer then run, as the interpreter does; inputs are visible as constants. */
static int run_node(struct synap_node *n, const struct synap_value *in, size_t nin,
                    struct synap_value *out, void *outbuf, struct synap_pool *pool,
                    struct synap_err *err)
{
    struct synap_kctx c = {
        .node = n, .in = in, .nin = nin, .out = out, .nout = 1, .pool = pool, .err = err};
    memset(out, 0, sizeof *out);
    if (synap_binary_infer(&c)) return -1;
    out->data = outbuf;
    return synap_binary_run(&c);
}

static struct synap_value val(enum synap_dtype t, int rank, const int64_t *dims, const void *data)
{
    struct synap_value v = {.dtype = t, .rank = rank, .data = (void *)data};
    for (int i = 0; i < rank; i++)
        v.dims[i] = dims[i];
    return v;
}
#define DIMS(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), ((int64_t[]){__VA_ARGS__})

static void assert_shape(const struct synap_value *v, int rank, const int64_t *dims)
{
    assert_int_equal(v->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(v->dims[i], dims[i]);
}

/* |a - b| <= atol + rtol * |b|, NaN equal to NaN. */
static void assert_close(const char *what, const float *got, const float *want, size_t n,
                         double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        if (isnan(b) ? !isnan(a) : !(fabs(a - b) <= atol + rtol * fabs(b)))
            fail_msg("%s: element %zu: got %.9g, want %.9g", what, i, a, b);
    }
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

static struct synap_node *node(enum synap_op op, size_t nin)
{
    return synap_graph_add_node(g, "n", op, nin, 1);
}

static void test_broadcast_float(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    /* [2,3,4] + [3,1] */
    const float x[24] = {-3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.5f, 0.0f, 0.5f,
                         1.0f,  1.5f,  2.0f,  2.5f,  3.0f,  3.5f,  4.0f, 4.5f,
                         5.0f,  5.5f,  6.0f,  6.5f,  7.0f,  7.5f,  8.0f, 8.5f};
    const float y[3] = {10.0f, 20.0f, 30.0f};
    const float want[24] = {7.0f,  7.5f,  8.0f,  8.5f,  19.0f, 19.5f, 20.0f, 20.5f,
                            31.0f, 31.5f, 32.0f, 32.5f, 13.0f, 13.5f, 14.0f, 14.5f,
                            25.0f, 25.5f, 26.0f, 26.5f, 37.0f, 37.5f, 38.0f, 38.5f};
    float z[24];
    struct synap_value in[2] = {val(SYNAP_DTYPE_FLOAT32, DIMS(2, 3, 4), x),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(3, 1), y)};
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, z, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT32);
    assert_shape(&out, DIMS(2, 3, 4));
    assert_close("add [2,3,4]+[3,1]", z, want, 24, 0, 0);
    /* swapped operands broadcast the same way */
    struct synap_value sw[2] = {in[1], in[0]};
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), sw, 2, &out, z, NULL, &err), 0);
    assert_close("add [3,1]+[2,3,4]", z, want, 24, 0, 0);

    /* NCHW times a per-channel [C,1,1] constant, and PRelu with that slope */
    const float xc[12] = {-5.5f, -4.5f, -3.5f, -2.5f, -1.5f, -0.5f,
                          0.5f,  1.5f,  2.5f,  3.5f,  4.5f,  5.5f};
    const float s[3] = {0.5f, -2.0f, 3.0f};
    const float mul[12] = {-2.75f, -2.25f, -1.75f, -1.25f, 3.0f,  1.0f,
                           -1.0f,  -3.0f,  7.5f,   10.5f,  13.5f, 16.5f};
    const float prelu[12] = {-2.75f, -2.25f, -1.75f, -1.25f, 3.0f, 1.0f,
                             0.5f,   1.5f,   2.5f,   3.5f,   4.5f, 5.5f};
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(1, 3, 2, 2), xc);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(3, 1, 1), s);
    assert_int_equal(run_node(node(SYNAP_OP_MUL, 2), in, 2, &out, z, NULL, &err), 0);
    assert_shape(&out, DIMS(1, 3, 2, 2));
    assert_close("mul nchw", z, mul, 12, 0, 0);
    assert_int_equal(run_node(node(SYNAP_OP_PRELU, 2), in, 2, &out, z, NULL, &err), 0);
    assert_close("prelu", z, prelu, 12, 0, 0);

    /* rank-0 scalar, and [1] against [N] */
    const float two = 2.0f;
    in[1] = val(SYNAP_DTYPE_FLOAT32, 0, NULL, &two);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, z, NULL, &err), 0);
    assert_shape(&out, DIMS(1, 3, 2, 2));
    for (int i = 0; i < 12; i++)
        assert_true(z[i] == xc[i] - 2.0f);
    struct synap_value sc[2] = {val(SYNAP_DTYPE_FLOAT32, DIMS(1), &two),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(4), x)};
    assert_int_equal(run_node(node(SYNAP_OP_DIV, 2), sc, 2, &out, z, NULL, &err), 0);
    assert_shape(&out, DIMS(4));
    assert_close("div [1]/[4]", z, (float[]){-2.0f / 3, -0.8f, -1.0f, -4.0f / 3}, 4, 1e-7, 0);
    sc[1] = val(SYNAP_DTYPE_FLOAT32, 0, NULL, &two);
    assert_int_equal(run_node(node(SYNAP_OP_MUL, 2), sc, 2, &out, z, NULL, &err), 0);
    assert_shape(&out, DIMS(1));
    assert_true(z[0] == 4.0f);
    sc[0] = sc[1];
    assert_int_equal(run_node(node(SYNAP_OP_MUL, 2), sc, 2, &out, z, NULL, &err), 0);
    assert_int_equal(out.rank, 0);
    assert_true(z[0] == 4.0f);

    /* size-0 dims broadcast against 1 and produce an empty output */
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(0, 3), NULL);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(1, 3), y);
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, NULL, NULL, &err), 0);
    assert_shape(&out, DIMS(0, 3));
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(2, 1, 1), y);
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, NULL, NULL, &err), 0);
    assert_shape(&out, DIMS(2, 0, 3));

    /* incompatible shapes */
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(2, 3), x);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(4), x);
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "shapes [2, 3] and [4] do not broadcast");
    /* PRelu's slope may not widen X */
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), x);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(2, 3), x);
    assert_int_equal(run_node(node(SYNAP_OP_PRELU, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "slope [2, 3] does not broadcast to X [3]");
}

static void test_float_math(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    float z[6];
    const float a[6] = {-4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 8.0f};
    const float b[6] = {2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 5.0f};
    struct synap_value in[2] = {val(SYNAP_DTYPE_FLOAT32, DIMS(6), a),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(6), b)};
    struct synap_node *n = node(SYNAP_OP_MOD, 2);
    synap_node_set_int(g, n, "fmod", 1);
    assert_int_equal(run_node(n, in, 2, &out, z, NULL, &err), 0);
    assert_close("fmod", z,
                 (float[]){-0.10000038146972656f, 0.39999961853027344f, 5.0f, 0.10000038146972656f,
                           -0.39999961853027344f, 3.0f},
                 6, 1e-6, 0);
    /* fmod=0 on floats follows numpy.mod (sign of the divisor) */
    assert_int_equal(run_node(node(SYNAP_OP_MOD, 2), in, 2, &out, z, NULL, &err), 0);
    assert_close("numpy mod", z,
                 (float[]){1.9999995231628418f, -3.000000476837158f, 5.0f, -1.9999995231628418f,
                           3.000000476837158f, 3.0f},
                 6, 1e-6, 0);

    const float pa[6] = {2, 4, -8, 0.5f, 0, 3}, pb[6] = {0.5f, -1, 3, 2, 0, -2.5f};
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(6), pa);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(6), pb);
    assert_int_equal(run_node(node(SYNAP_OP_POW, 2), in, 2, &out, z, NULL, &err), 0);
    assert_close("pow", z,
                 (float[]){1.4142135381698608f, 0.25f, -512.0f, 0.25f, 1.0f, 0.06415002793073654f},
                 6, 1e-6, 0);

    /* float64 computes in double */
    const double da[3] = {1, 2, 3}, db[3] = {3, 3, 3};
    double dz[3];
    in[0] = val(SYNAP_DTYPE_FLOAT64, DIMS(3), da);
    in[1] = val(SYNAP_DTYPE_FLOAT64, DIMS(1, 3), db);
    assert_int_equal(run_node(node(SYNAP_OP_DIV, 2), in, 2, &out, dz, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT64);
    assert_true(dz[0] == 1.0 / 3 && dz[1] == 2.0 / 3 && dz[2] == 1.0);

    /* float16 and bfloat16 go through float32 */
    uint16_t ha[3], hb[1] = {synap_f32_to_f16(0.25f)}, hz[3];
    for (int i = 0; i < 3; i++)
        ha[i] = synap_f32_to_f16((float)i + 0.5f);
    in[0] = val(SYNAP_DTYPE_FLOAT16, DIMS(3), ha);
    in[1] = val(SYNAP_DTYPE_FLOAT16, DIMS(1), hb);
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, hz, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT16);
    for (int i = 0; i < 3; i++)
        assert_true(synap_f16_to_f32(hz[i]) == (float)i + 0.75f);
    uint16_t bz[3];
    in[0].dtype = in[1].dtype = SYNAP_DTYPE_BFLOAT16;
    for (int i = 0; i < 3; i++)
        ha[i] = synap_f32_to_bf16((float)i + 0.5f);
    hb[0] = synap_f32_to_bf16(4.0f);
    assert_int_equal(run_node(node(SYNAP_OP_MUL, 2), in, 2, &out, bz, NULL, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_true(synap_bf16_to_f32(bz[i]) == ((float)i + 0.5f) * 4);
}

static void test_compare_and_nan(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float a[4] = {NAN, 1, 2, 3}, b[4] = {NAN, 1, 3, 2};
    uint8_t z[4];
    struct synap_value in[2] = {val(SYNAP_DTYPE_FLOAT32, DIMS(4), a),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(4), b)};
    static const struct {
        enum synap_op op;
        uint8_t z[4];
    } cases[] = {
        {SYNAP_OP_EQUAL, {0, 1, 0, 0}},
        {SYNAP_OP_LESS, {0, 0, 1, 0}},
        {SYNAP_OP_LESS_OR_EQUAL, {0, 1, 1, 0}},
        {SYNAP_OP_GREATER, {0, 0, 0, 1}},
        {SYNAP_OP_GREATER_OR_EQUAL, {0, 1, 0, 1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(run_node(node(cases[k].op, 2), in, 2, &out, z, NULL, &err), 0);
        assert_int_equal(out.dtype, SYNAP_DTYPE_BOOL);
        if (memcmp(z, cases[k].z, 4)) fail_msg("%s: wrong result", synap_op_name(cases[k].op));
    }

    /* Min/Max propagate NaN from either side, as numpy.minimum/maximum */
    const float m1[3] = {1, NAN, 3}, m2[3] = {NAN, 2, 2};
    float f[3];
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), m1);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), m2);
    assert_int_equal(run_node(node(SYNAP_OP_MAX, 2), in, 2, &out, f, NULL, &err), 0);
    assert_close("max nan", f, (float[]){NAN, NAN, 3}, 3, 0, 0);
    assert_int_equal(run_node(node(SYNAP_OP_MIN, 2), in, 2, &out, f, NULL, &err), 0);
    assert_close("min nan", f, (float[]){NAN, NAN, 2}, 3, 0, 0);

    /* unsigned 64-bit and signed 8-bit comparisons use their own order */
    const uint64_t u1[2] = {UINT64_MAX, 1}, u2[2] = {0, 2};
    in[0] = val(SYNAP_DTYPE_UINT64, DIMS(2), u1);
    in[1] = val(SYNAP_DTYPE_UINT64, DIMS(2), u2);
    assert_int_equal(run_node(node(SYNAP_OP_GREATER, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){1, 0}), 2);
    const int8_t s1[3] = {-128, -1, 5}, s2[1] = {-1};
    in[0] = val(SYNAP_DTYPE_INT8, DIMS(3), s1);
    in[1] = val(SYNAP_DTYPE_INT8, 0, NULL, s2);
    assert_int_equal(run_node(node(SYNAP_OP_LESS, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){1, 0, 0}), 3);
    const uint8_t b1[2] = {1, 0}, b2[2] = {1, 1};
    in[0] = val(SYNAP_DTYPE_BOOL, DIMS(2), b1);
    in[1] = val(SYNAP_DTYPE_BOOL, DIMS(2), b2);
    assert_int_equal(run_node(node(SYNAP_OP_EQUAL, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){1, 0}), 2);
}

static void test_integers(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    /* Div truncates toward zero; /0 gives 0; INT32_MIN / -1 wraps */
    const int32_t a[6] = {7, -7, 7, -7, 5, INT32_MIN}, b[6] = {2, 2, -2, -2, 0, -1};
    int32_t z[6];
    struct synap_value in[2] = {val(SYNAP_DTYPE_INT32, DIMS(6), a),
                                val(SYNAP_DTYPE_INT32, DIMS(6), b)};
    assert_int_equal(run_node(node(SYNAP_OP_DIV, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((int32_t[]){3, -3, -3, 3, 0, INT32_MIN}), sizeof z);

    /* Mod: sign of the divisor (fmod=0) or of the dividend (fmod=1) */
    const int64_t ma[6] = {-4, 7, 5, 4, -7, 8}, mb[6] = {2, -3, 8, -2, 3, 5};
    int64_t mz[6];
    in[0] = val(SYNAP_DTYPE_INT64, DIMS(6), ma);
    in[1] = val(SYNAP_DTYPE_INT64, DIMS(6), mb);
    assert_int_equal(run_node(node(SYNAP_OP_MOD, 2), in, 2, &out, mz, NULL, &err), 0);
    assert_memory_equal(mz, ((int64_t[]){0, -2, 5, 0, 2, 3}), sizeof mz);
    struct synap_node *n = node(SYNAP_OP_MOD, 2);
    synap_node_set_int(g, n, "fmod", 1);
    assert_int_equal(run_node(n, in, 2, &out, mz, NULL, &err), 0);
    assert_memory_equal(mz, ((int64_t[]){0, 1, 5, 0, -1, 3}), sizeof mz);

    /* wrapping arithmetic in narrow types */
    const int8_t i8a[3] = {127, -128, 100}, i8b[3] = {1, -1, 2};
    int8_t i8z[3];
    in[0] = val(SYNAP_DTYPE_INT8, DIMS(3), i8a);
    in[1] = val(SYNAP_DTYPE_INT8, DIMS(3), i8b);
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, i8z, NULL, &err), 0);
    assert_memory_equal(i8z, ((int8_t[]){-128, 127, 102}), 3);
    assert_int_equal(run_node(node(SYNAP_OP_MUL, 2), in, 2, &out, i8z, NULL, &err), 0);
    assert_memory_equal(i8z, ((int8_t[]){127, -128, -56}), 3);
    const uint8_t u8a[2] = {0, 200}, u8b[2] = {1, 100};
    uint8_t u8z[2];
    in[0] = val(SYNAP_DTYPE_UINT8, DIMS(2), u8a);
    in[1] = val(SYNAP_DTYPE_UINT8, DIMS(2), u8b);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, u8z, NULL, &err), 0);
    assert_memory_equal(u8z, ((uint8_t[]){255, 100}), 2);
    assert_int_equal(run_node(node(SYNAP_OP_DIV, 2), in, 2, &out, u8z, NULL, &err), 0);
    assert_memory_equal(u8z, ((uint8_t[]){0, 2}), 2);

    /* Pow: int^int exactly, negative exponents, mixed base/exponent types */
    const int32_t pa[5] = {1, 2, 3, -1, 2}, pb[5] = {4, 5, 6, -3, -1};
    int32_t pz[5];
    in[0] = val(SYNAP_DTYPE_INT32, DIMS(5), pa);
    in[1] = val(SYNAP_DTYPE_INT32, DIMS(5), pb);
    assert_int_equal(run_node(node(SYNAP_OP_POW, 2), in, 2, &out, pz, NULL, &err), 0);
    assert_memory_equal(pz, ((int32_t[]){1, 32, 729, -1, 0}), sizeof pz);
    const float fx[3] = {1, 2, 3};
    const int64_t ie[3] = {4, 5, 6};
    float fz[3];
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), fx);
    in[1] = val(SYNAP_DTYPE_INT64, DIMS(3), ie);
    assert_int_equal(run_node(node(SYNAP_OP_POW, 2), in, 2, &out, fz, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT32);
    assert_close("pow float^int", fz, (float[]){1, 32, 729}, 3, 0, 0);
    const int64_t ix[3] = {1, 2, 3};
    const float fe[3] = {4, 5, 0.5f};
    int64_t iz[3];
    in[0] = val(SYNAP_DTYPE_INT64, DIMS(3), ix);
    in[1] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), fe);
    assert_int_equal(run_node(node(SYNAP_OP_POW, 2), in, 2, &out, iz, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_INT64);
    assert_memory_equal(iz, ((int64_t[]){1, 32, 1}), sizeof iz); /* sqrt(3) truncates */

    /* PRelu on integers */
    const int32_t px[3] = {-4, 0, 4}, ps[1] = {3};
    in[0] = val(SYNAP_DTYPE_INT32, DIMS(3), px);
    in[1] = val(SYNAP_DTYPE_INT32, DIMS(1), ps);
    assert_int_equal(run_node(node(SYNAP_OP_PRELU, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((int32_t[]){-12, 0, 4}), 3 * sizeof(int32_t));
}

static void test_bits_and_logic(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const uint8_t x[4] = {16, 4, 1, 255}, s[4] = {1, 2, 3, 1};
    uint8_t z[4];
    struct synap_value in[2] = {val(SYNAP_DTYPE_UINT8, DIMS(4), x),
                                val(SYNAP_DTYPE_UINT8, DIMS(4), s)};
    struct synap_node *n = node(SYNAP_OP_BIT_SHIFT, 2);
    synap_node_set_string(g, n, "direction", "LEFT");
    assert_int_equal(run_node(n, in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){32, 16, 8, 254}), 4);
    n = node(SYNAP_OP_BIT_SHIFT, 2);
    synap_node_set_string(g, n, "direction", "RIGHT");
    assert_int_equal(run_node(n, in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){8, 1, 0, 127}), 4);
    /* shifting a 64-bit value by 64 or more gives 0 instead of C's UB */
    const uint64_t x64[3] = {1, 1, UINT64_MAX}, s64[3] = {63, 64, 200};
    uint64_t z64[3];
    in[0] = val(SYNAP_DTYPE_UINT64, DIMS(3), x64);
    in[1] = val(SYNAP_DTYPE_UINT64, DIMS(3), s64);
    n = node(SYNAP_OP_BIT_SHIFT, 2);
    synap_node_set_string(g, n, "direction", "LEFT");
    assert_int_equal(run_node(n, in, 2, &out, z64, NULL, &err), 0);
    assert_memory_equal(z64, ((uint64_t[]){1ull << 63, 0, 0}), sizeof z64);
    n = node(SYNAP_OP_BIT_SHIFT, 2);
    synap_node_set_string(g, n, "direction", "UP");
    assert_int_equal(run_node(n, in, 2, &out, z64, NULL, &err), -1);
    assert_string_equal(err.msg, "attribute direction: expected LEFT or RIGHT, got 'UP'");

    const int32_t ba[3] = {12, -1, 5}, bb[3] = {10, 7, -6};
    int32_t bz[3];
    in[0] = val(SYNAP_DTYPE_INT32, DIMS(3), ba);
    in[1] = val(SYNAP_DTYPE_INT32, DIMS(3), bb);
    assert_int_equal(run_node(node(SYNAP_OP_BITWISE_AND, 2), in, 2, &out, bz, NULL, &err), 0);
    assert_memory_equal(bz, ((int32_t[]){8, 7, 0}), sizeof bz);
    assert_int_equal(run_node(node(SYNAP_OP_BITWISE_OR, 2), in, 2, &out, bz, NULL, &err), 0);
    assert_memory_equal(bz, ((int32_t[]){14, -1, -1}), sizeof bz);
    assert_int_equal(run_node(node(SYNAP_OP_BITWISE_XOR, 2), in, 2, &out, bz, NULL, &err), 0);
    assert_memory_equal(bz, ((int32_t[]){6, -8, -1}), sizeof bz);

    /* bool logic with broadcasting [2,2] op [2] */
    const uint8_t la[4] = {0, 0, 1, 1}, lb[2] = {0, 1};
    in[0] = val(SYNAP_DTYPE_BOOL, DIMS(2, 2), la);
    in[1] = val(SYNAP_DTYPE_BOOL, DIMS(2), lb);
    assert_int_equal(run_node(node(SYNAP_OP_AND, 2), in, 2, &out, z, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_BOOL);
    assert_memory_equal(z, ((uint8_t[]){0, 0, 0, 1}), 4);
    assert_int_equal(run_node(node(SYNAP_OP_OR, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){0, 1, 1, 1}), 4);
    assert_int_equal(run_node(node(SYNAP_OP_XOR, 2), in, 2, &out, z, NULL, &err), 0);
    assert_memory_equal(z, ((uint8_t[]){0, 1, 1, 0}), 4);
}

static void test_variadic(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float a[3] = {1, 5, -2}, b[6] = {0, 6, -1, 2, 2, 2}, c[2] = {3, -3};
    float z[6];
    struct synap_value in[3] = {val(SYNAP_DTYPE_FLOAT32, DIMS(3), a),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(2, 3), b),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(2, 1), c)};
    static const struct {
        enum synap_op op;
        float z[6];
    } cases[] = {
        {SYNAP_OP_MIN, {0.0f, 3.0f, -2.0f, -3.0f, -3.0f, -3.0f}},
        {SYNAP_OP_MAX, {3.0f, 6.0f, 3.0f, 2.0f, 5.0f, 2.0f}},
        {SYNAP_OP_SUM, {4.0f, 14.0f, 0.0f, 0.0f, 4.0f, -3.0f}},
        {SYNAP_OP_MEAN,
         {1.3333333730697632f, 4.666666507720947f, 0.0f, 0.0f, 1.3333333730697632f, -1.0f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(run_node(node(cases[k].op, 3), in, 3, &out, z, NULL, &err), 0);
        assert_shape(&out, DIMS(2, 3));
        assert_close(synap_op_name(cases[k].op), z, cases[k].z, 6, 1e-7, 0);
    }
    /* one input is a copy */
    assert_int_equal(run_node(node(SYNAP_OP_MAX, 1), &in[1], 1, &out, z, NULL, &err), 0);
    assert_close("max of one", z, b, 6, 0, 0);
    /* integer Max over uint64 and Min over int16 */
    const uint64_t u1[2] = {UINT64_MAX, 3}, u2[2] = {1, 4};
    uint64_t uz[2];
    struct synap_value iu[2] = {val(SYNAP_DTYPE_UINT64, DIMS(2), u1),
                                val(SYNAP_DTYPE_UINT64, DIMS(2), u2)};
    assert_int_equal(run_node(node(SYNAP_OP_MAX, 2), iu, 2, &out, uz, NULL, &err), 0);
    assert_memory_equal(uz, ((uint64_t[]){UINT64_MAX, 4}), sizeof uz);
    const int16_t s1[2] = {-300, 7}, s2[1] = {5};
    int16_t sz[2];
    iu[0] = val(SYNAP_DTYPE_INT16, DIMS(2), s1);
    iu[1] = val(SYNAP_DTYPE_INT16, DIMS(1), s2);
    assert_int_equal(run_node(node(SYNAP_OP_MIN, 2), iu, 2, &out, sz, NULL, &err), 0);
    assert_memory_equal(sz, ((int16_t[]){-300, 5}), sizeof sz);
    /* Mean is defined on floats only */
    assert_int_equal(run_node(node(SYNAP_OP_MEAN, 2), iu, 2, &out, sz, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype int16 is not supported by Mean");
}

static void test_where(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const uint8_t cond[2] = {1, 0};
    const float x[3] = {1, 2, 3}, y = -1;
    float z[6];
    struct synap_value in[3] = {val(SYNAP_DTYPE_BOOL, DIMS(2, 1), cond),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(3), x),
                                val(SYNAP_DTYPE_FLOAT32, 0, NULL, &y)};
    assert_int_equal(run_node(node(SYNAP_OP_WHERE, 3), in, 3, &out, z, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT32);
    assert_shape(&out, DIMS(2, 3));
    assert_close("where", z, (float[]){1, 2, 3, -1, -1, -1}, 6, 0, 0);
    /* 8- and 2-byte elements */
    const int64_t xi[2] = {INT64_MIN, 5}, yi[2] = {7, INT64_MAX};
    const uint8_t c2[2] = {1, 0};
    int64_t zi[2];
    in[0] = val(SYNAP_DTYPE_BOOL, DIMS(2), c2);
    in[1] = val(SYNAP_DTYPE_INT64, DIMS(2), xi);
    in[2] = val(SYNAP_DTYPE_INT64, DIMS(2), yi);
    assert_int_equal(run_node(node(SYNAP_OP_WHERE, 3), in, 3, &out, zi, NULL, &err), 0);
    assert_memory_equal(zi, ((int64_t[]){INT64_MIN, INT64_MAX}), sizeof zi);
    const uint16_t xh[1] = {0x3c00}, yh[2] = {0x4000, 0x4200};
    uint16_t zh[2];
    in[1] = val(SYNAP_DTYPE_FLOAT16, DIMS(1), xh);
    in[2] = val(SYNAP_DTYPE_FLOAT16, DIMS(2), yh);
    assert_int_equal(run_node(node(SYNAP_OP_WHERE, 3), in, 3, &out, zh, NULL, &err), 0);
    assert_memory_equal(zh, ((uint16_t[]){0x3c00, 0x4200}), sizeof zh);
    /* errors: non-bool condition, X and Y of different types */
    in[0] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), x);
    assert_int_equal(run_node(node(SYNAP_OP_WHERE, 3), in, 3, &out, zh, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0 (condition): expected bool, got float32");
    in[0] = val(SYNAP_DTYPE_BOOL, DIMS(2), c2);
    in[2] = val(SYNAP_DTYPE_FLOAT32, DIMS(3), x);
    assert_int_equal(run_node(node(SYNAP_OP_WHERE, 3), in, 3, &out, zh, NULL, &err), -1);
    assert_string_equal(err.msg, "input 2: expected dtype float16 (as input 1), got float32");
}

static void test_errors(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_value out;
    const float f = 1;
    const int32_t i = 1;
    float z[1];
    struct synap_value in[2] = {val(SYNAP_DTYPE_FLOAT32, 0, NULL, &f),
                                val(SYNAP_DTYPE_INT32, 0, NULL, &i)};
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "input 1: expected dtype float32 (as input 0), got int32");
    assert_int_equal(run_node(node(SYNAP_OP_AND, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype float32 is not supported by And");
    in[0] = in[1];
    assert_int_equal(run_node(node(SYNAP_OP_BIT_SHIFT, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype int32 is not supported by BitShift");
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 1, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "expected 2 inputs, got 1");
    in[1].dtype = SYNAP_DTYPE_UNDEFINED;
    assert_int_equal(run_node(node(SYNAP_OP_ADD, 2), in, 2, &out, z, NULL, &err), -1);
    assert_string_equal(err.msg, "input 1 is missing");
}

/* A broadcast large enough to be split over threads: 1 and 4 threads give
 * identical bytes, and both match a naive loop. */
static void test_threads(void **state)
{
    (void)state;
    enum { N = 6, C = 3, H = 50, W = 70 };
    float *x = malloc(sizeof(float) * N * C * H * W), *b = malloc(sizeof(float) * C * W);
    float *z1 = malloc(sizeof(float) * N * C * H * W), *z4 = malloc(sizeof(float) * N * C * H * W);
    for (int i = 0; i < N * C * H * W; i++)
        x[i] = (float)(i % 1013) * 0.25f - 100;
    for (int i = 0; i < C * W; i++)
        b[i] = (float)(i % 17) - 8;
    struct synap_value in[2] = {val(SYNAP_DTYPE_FLOAT32, DIMS(N, C, H, W), x),
                                val(SYNAP_DTYPE_FLOAT32, DIMS(C, 1, W), b)};
    struct synap_value out;
    struct synap_err err = {0};
    struct synap_pool *pool = synap_pool_new(4);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, z1, NULL, &err), 0);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, z4, pool, &err), 0);
    assert_memory_equal(z1, z4, sizeof(float) * N * C * H * W);
    for (int n = 0, i = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++)
                    if (z1[i] != x[i] - b[c * W + w]) fail_msg("element %d", i);
    /* the same through the converting path (float16) */
    uint16_t *xh = malloc(2 * N * C * H * W), *bh = malloc(2 * C * W);
    uint16_t *h1 = malloc(2 * N * C * H * W), *h4 = malloc(2 * N * C * H * W);
    for (int i = 0; i < N * C * H * W; i++)
        xh[i] = synap_f32_to_f16(x[i]);
    for (int i = 0; i < C * W; i++)
        bh[i] = synap_f32_to_f16(b[i]);
    in[0] = val(SYNAP_DTYPE_FLOAT16, DIMS(N, C, H, W), xh);
    in[1] = val(SYNAP_DTYPE_FLOAT16, DIMS(C, 1, W), bh);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, h1, NULL, &err), 0);
    assert_int_equal(run_node(node(SYNAP_OP_SUB, 2), in, 2, &out, h4, pool, &err), 0);
    assert_memory_equal(h1, h4, 2 * N * C * H * W);
    for (int i = 0; i < N * C * H * W; i++) {
        int c = i / (H * W) % C, w = i % W;
        uint16_t want = synap_f32_to_f16(synap_f16_to_f32(xh[i]) - synap_f16_to_f32(bh[c * W + w]));
        if (h1[i] != want) fail_msg("float16 element %d", i);
    }
    synap_pool_free(pool);
    free(x), free(b), free(z1), free(z4), free(xh), free(bh), free(h1), free(h4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_float), cmocka_unit_test(test_float_math),
        cmocka_unit_test(test_compare_and_nan), cmocka_unit_test(test_integers),
        cmocka_unit_test(test_bits_and_logic),  cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_where),           cmocka_unit_test(test_errors),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
