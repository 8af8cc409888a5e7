/* MaxPool (with Indices), AveragePool, LpPool and the Global pools against
 * golden vectors from a direct ONNX-semantics reference (cross-checked with
 * PyTorch where PyTorch has the same semantics), plus thread determinism and
 * error messages. The generator is quoted at the end of this file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir.h"
#include "kernels/kernel.h"

/* Deterministic inputs in [-1, 1], exact in float32 (see gen_pool.py). */
static void fill_val(float *v, int64_t n, int seed)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t k = (i * 7919 + (int64_t)seed * 104729) % 2001;
        v[i] = (float)(k - 1000) / 1000.0f;
    }
}

enum { KIND_MAX, KIND_AVG, KIND_LP };

struct pool_case {
    const char *name;
    int kind;
    enum synap_dtype dtype; /* UINT8 inputs are round((v + 1) * 100) */
    int rank;
    int64_t xd[5];
    int nk;
    int64_t k[3];
    int ns;
    int64_t s[3];
    int nd;
    int64_t d[3];
    int np;
    int64_t p[6];
    int ceil_mode, count_include_pad, lp, storage_order;
    const char *auto_pad;
    int64_t yd[5];
    const float *y;
    const int64_t *ind;
};

static const float py_0[] = {-0.323000014f, -0.407999992f, 0.998000026f, 0.998000026f, 0.828000009f,
                             0.742999971f,  0.998000026f,  0.998000026f, 0.828000009f, 0.742999971f,
                             0.657999992f,  0.573000014f,  0.402999997f, 0.317999989f, 0.232999995f,
                             0.148000002f,  -0.446999997f, 0.958999991f, 0.958999991f, 0.874000013f,
                             0.703999996f,  0.958999991f,  0.958999991f, 0.874000013f, 0.703999996f,
                             0.619000018f,  0.533999979f,  0.449000001f, 0.279000014f, 0.194000006f,
                             0.108999997f,  0.0240000002f};
static const int64_t pi_0[] = {0,  1,  8,  8,  10, 11, 8,  8,  10, 11, 12, 13, 15, 16, 17, 18,
                               25, 32, 32, 33, 35, 32, 32, 33, 35, 36, 37, 38, 40, 41, 42, 43};
static const float py_1[] = {
    -0.323000014f, 0.998000026f,  0.912999988f,  0.657999992f,    0.998000026f,   0.912999988f,
    0.148000002f,  0.958999991f,  0.874000013f,  0.619000018f,    0.958999991f,   0.874000013f,
    0.108999997f,  0.0240000002f, -0.145999998f, 0.579999983f,    0.920000017f,   0.834999979f,
    0.579999983f,  0.495000005f,  0.324999988f,  0.966000021f,    0.966000021f,   0.796000004f,
    0.541000009f,  0.456f,        0.286000013f,  0.926999986f,    0.926999986f,   0.757000029f,
    0.926999986f,  0.926999986f,  0.757000029f,  -0.00800000038f, -0.0930000022f, -0.263000011f,
    0.97299999f,   0.888000011f,  0.717999995f,  0.463f,          0.377999991f,   0.208000004f,
    0.934000015f,  0.848999977f,  0.67900002f,   0.423999995f,    0.338999987f,   0.169f};
static const int64_t pi_1[] = {0,   8,   9,   12,  8,   9,   18,  32,  33,  36,  32,  33,
                               42,  43,  45,  60,  56,  57,  60,  61,  63,  79,  79,  81,
                               84,  85,  87,  103, 103, 105, 103, 103, 105, 114, 115, 117,
                               126, 127, 129, 132, 133, 135, 150, 151, 153, 156, 157, 159};
static const float py_2[] = {
    0.828000009f,  0.828000009f,  0.657999992f,   0.488000005f,  0.828000009f,   0.958999991f,
    0.958999991f,  0.958999991f,  -0.231000006f,  0.958999991f,  0.958999991f,   0.958999991f,
    0.239999995f,  0.239999995f,  0.0700000003f,  -0.100000001f, 0.239999995f,   0.239999995f,
    0.0700000003f, -0.100000001f, 0.711000025f,   0.711000025f,  0.541000009f,   0.370999992f,
    0.711000025f,  0.842000008f,  0.842000008f,   0.842000008f,  -0.34799999f,   0.842000008f,
    0.842000008f,  0.842000008f,  0.123000003f,   0.123000003f,  -0.0469999984f, -0.216999993f,
    0.123000003f,  0.123000003f,  -0.0469999984f, -0.216999993f};
static const int64_t pi_2[] = {10,  10,  12,  14,  10,  32,  32,  32,  46,  32,  32,  32,  64,  64,
                               66,  68,  64,  64,  66,  68,  82,  82,  84,  86,  82,  104, 104, 104,
                               118, 104, 104, 104, 136, 136, 138, 140, 136, 136, 138, 140};
static const float py_3[] = {
    0.657999992f,  0.657999992f,  0.998000026f,  0.998000026f,  0.912999988f,  0.828000009f,
    0.657999992f,  0.657999992f,  0.573000014f,  0.488000005f,  0.402999997f,  0.317999989f,
    -0.361999989f, -0.361999989f, -0.446999997f, -0.532000005f, -0.616999984f, -0.702000022f,
    0.619000018f,  0.619000018f,  0.958999991f,  0.958999991f,  0.874000013f,  0.788999975f,
    0.108999997f,  0.108999997f,  0.920000017f,  0.920000017f,  0.834999979f,  0.75f,
    -0.911000013f, -0.911000013f, 0.920000017f,  0.920000017f,  0.834999979f,  0.75f};
static const int64_t pi_3[] = {2,  2,  11, 11, 16, 21, 2,  2,  7,  12, 17, 22,
                               4,  4,  9,  14, 19, 24, 31, 31, 40, 40, 45, 50,
                               32, 32, 44, 44, 49, 54, 34, 34, 44, 44, 49, 54};
static const float py_4[] = {0.998000026f, 0.998000026f, 0.828000009f,   0.998000026f, 0.998000026f,
                             0.828000009f, 0.148000002f, -0.0219999999f, -0.192000002f};
static const int64_t pi_4[] = {8, 8, 10, 8, 8, 10, 18, 20, 22};
static const float py_5[] = {-0.323000014f, -0.493000001f,  -0.662999988f,
                             0.657999992f,  0.998000026f,   0.828000009f,
                             0.148000002f,  -0.0219999999f, -0.192000002f};
static const int64_t pi_5[] = {0, 2, 4, 12, 8, 10, 18, 20, 22};
static const float py_6[] = {-0.323000014f,  -0.578000009f, 0.998000026f,  0.912999988f,
                             0.828000009f,   0.573000014f,  0.317999989f,  0.063000001f,
                             -0.0219999999f, -0.27700001f,  -0.532000005f, -0.787f};
static const int64_t pi_6[] = {0, 3, 8, 9, 10, 13, 16, 19, 20, 23, 26, 29};
static const float py_7[] = {
    0.998000026f, 0.828000009f, 0.998000026f, 0.828000009f,  0.998000026f,  0.828000009f,
    0.657999992f, 0.488000005f, 0.279000014f, 0.108999997f,  0.958999991f,  0.788999975f,
    0.958999991f, 0.788999975f, 0.958999991f, 0.788999975f,  0.880999982f,  0.711000025f,
    0.541000009f, 0.370999992f, 0.201000005f, 0.0309999995f, -0.138999999f, -0.308999985f,
    0.842000008f, 0.97299999f,  0.842000008f, 0.97299999f,   0.802999973f,  0.633000016f,
    0.463f,       0.293000013f};
static const int64_t pi_7[] = {8,  10, 8,   10,  8,   10,  12,  14,  40,  42, 32,
                               34, 32, 34,  32,  34,  80,  82,  84,  86,  88, 90,
                               92, 94, 104, 126, 104, 126, 128, 130, 132, 134};
static const float py_8[] = {68.0f, 200.0f, 200.0f, 183.0f, 200.0f, 200.0f, 140.0f, 132.0f, 115.0f,
                             55.0f, 196.0f, 187.0f, 170.0f, 196.0f, 187.0f, 128.0f, 119.0f, 102.0f};
static const int64_t pi_8[] = {0, 8, 8, 10, 8, 8, 15, 16, 18, 25, 32, 33, 35, 32, 33, 40, 41, 43};
static const float py_9[] = {
    -0.162749991f,  0.210000003f,  0.0399999917f,  -0.087500006f,  0.112000007f,  0.318f,
    0.147999998f,   0.020500003f,  -0.0775000018f, -0.205f,        0.0696666671f, 0.164500003f,
    -0.230999996f,  -0.358499999f, -0.528500001f,  -0.656000003f,  0.210499999f,  0.0830000002f,
    -0.0869999974f, -0.214500001f, -0.312500002f,  0.00466667198f, 0.057000003f,  -0.0704999926f};
static const int64_t pi_9[] = {0};
static const float py_10[] = {
    -0.0723333293f, 0.140000002f,  0.0266666611f,  -0.0388888915f, 0.0746666715f, 0.318f,
    0.147999998f,   0.0136666687f, -0.0516666679f, -0.205f,        0.0696666671f, 0.109666669f,
    -0.102666665f,  -0.238999999f, -0.352333334f,  -0.291555557f,  0.140333333f,  0.0830000002f,
    -0.0869999974f, -0.143000001f, -0.208333335f,  0.00466667198f, 0.057000003f,  -0.0469999951f};
static const int64_t pi_10[] = {0};
static const float py_11[] = {-0.0723333293f, 0.140000002f, 0.0266666611f, -0.0388888915f,
                              0.0746666715f,  0.318f,       0.147999998f,  0.0136666687f,
                              -0.0516666679f, -0.205f,      0.0696666671f, 0.109666669f,
                              0.220500002f,   0.267f,       0.182000001f,  0.0788333366f};
static const int64_t pi_11[] = {0};
static const float py_12[] = {0.0400000066f,  0.203499995f,  0.0334999921f, -0.0939999968f,
                              -0.149500004f,  -0.319500002f, 0.177500001f,  0.049999997f,
                              -0.0415000021f, -0.211500004f, 0.619000003f,  0.49149999f};
static const int64_t pi_12[] = {0};
static const float py_13[] = {-0.578000009f, -0.371999994f, 0.167500004f,
                              0.118499989f,  0.213333334f,  0.530500006f,
                              0.147999996f,  0.0204999956f, -0.106999999f};
static const int64_t pi_13[] = {0};
static const float py_14[] = {
    -0.578000009f,   -0.662999995f,  -0.247749992f,  0.167500004f,  0.0625f,
    -0.00250001252f, -0.087500006f,  0.327750012f,   0.743000008f,  0.350249998f,
    0.572999991f,    0.487999987f,   0.403000001f,   0.318000006f,  0.137750002f,
    0.147999996f,    0.0629999954f,  -0.0220000036f, -0.106999999f, -0.0747499969f,
    -0.0322500002f,  -0.0747500006f, -0.117250003f,  -0.15975f,     -0.0904999971f};
static const int64_t pi_14[] = {0};
static const float py_15[] = {-0.182750002f, -0.450500004f, -0.620500006f, -0.7905f,
                              -0.18824999f,  0.435249999f,  0.78549999f,   0.615499996f,
                              0.445500001f,  0.238499995f,  0.0527500007f, 0.0205000006f,
                              -0.149500003f, -0.319499999f, -0.335249998f, -0.329750001f,
                              -0.744499996f, -0.414250001f, 0.41624999f,   0.591749996f};
static const int64_t pi_15[] = {0};
static const float py_16[] = {
    -0.578000009f, -0.371999994f, 0.167500004f,  0.572999991f,  0.445499994f,  0.318000006f,
    -0.126499998f, -0.254000003f, -0.381500002f, -0.226124994f, 0.229999999f,  0.269250002f,
    0.324999997f,  0.197499998f,  0.0699999947f, -0.524999991f, -0.652499989f, -0.27974999f,
    0.625999995f,  0.498500004f,  0.370999999f,  -0.223999999f, -0.351500001f, -0.479000002f,
    -0.173124999f, 0.116249993f,  0.322249994f,  0.227499997f,  0.0999999968f, -0.0274999979f,
    -0.471999999f, -0.599499996f, -0.726999998f, 0.678999998f,  0.551499998f,  0.424000002f};
static const int64_t pi_16[] = {0};
static const float py_17[] = {0.52037775f,  0.862320709f, 1.1546242f,   1.344398f,    1.84821373f,
                              1.84509051f,  1.51588455f,  1.84422857f,  1.54564677f,  0.887223763f,
                              0.863008702f, 0.665480274f, 0.597265426f, 0.937776084f, 1.27196856f,
                              1.29469417f,  1.61226736f,  1.37186478f,  1.53119234f,  1.79406215f,
                              1.45944715f,  0.825090298f, 0.803035474f, 0.650004628f, 0.639885924f,
                              1.00905203f,  1.35507416f,  1.48960867f,  1.87835406f,  1.83402371f};
static const int64_t pi_17[] = {0};
static const float py_18[] = {1.48190164f, 1.54977814f, 1.11368507f, 0.879860528f};
static const int64_t pi_18[] = {0};
static const float py_19[] = {1.22400001f, 1.734f, 2.24400002f, 2.829f, 2.48399997f, 1.97399998f};
static const int64_t pi_19[] = {0};
static const struct pool_case pool_cases[] = {
    {"max2d_default",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 5, 5},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 4, 4},
     py_0,
     pi_0},
    {"max2d_pads_strides",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {2, 2, 7, 6},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     0,
     0,
     2,
     0,
     "NOTSET",
     {2, 2, 4, 3},
     py_1,
     pi_1},
    {"max2d_dilation_ceil",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 8, 9},
     2,
     {2, 3, 0},
     2,
     {2, 2, 0},
     2,
     {2, 2, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     1,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 5, 4},
     py_2,
     pi_2},
    {"max2d_asym_pads_order1",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 5, 6},
     2,
     {3, 2, 0},
     2,
     {2, 1, 0},
     0,
     {0, 0, 0},
     4,
     {0, 1, 2, 0, 0, 0},
     0,
     0,
     2,
     1,
     "NOTSET",
     {1, 2, 3, 6},
     py_3,
     pi_3},
    {"max2d_same_upper",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 5, 6},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     0,
     2,
     0,
     "SAME_UPPER",
     {1, 1, 3, 3},
     py_4,
     pi_4},
    {"max2d_same_lower",
     0,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 5, 6},
     2,
     {2, 2, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     0,
     2,
     0,
     "SAME_LOWER",
     {1, 1, 3, 3},
     py_5,
     pi_5},
    {"max1d_ceil", 0, SYNAP_DTYPE_FLOAT32, 3, {1, 3, 10}, 1, {3, 0, 0}, 1,        {3, 0, 0}, 0,
     {0, 0, 0},    0, {0, 0, 0, 0, 0, 0},  1, 0,          2, 0,         "NOTSET", {1, 3, 4}, py_6,
     pi_6},
    {"max3d",
     0,
     SYNAP_DTYPE_FLOAT32,
     5,
     {1, 2, 4, 5, 4},
     3,
     {2, 3, 2},
     3,
     {2, 1, 2},
     0,
     {0, 0, 0},
     6,
     {1, 0, 0, 0, 1, 1},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 2, 4, 2},
     py_7,
     pi_7},
    {"max2d_uint8",
     0,
     SYNAP_DTYPE_UINT8,
     4,
     {1, 2, 5, 5},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 3, 3},
     py_8,
     pi_8},
    {"avg2d_exclude_pad",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 6, 7},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 3, 4},
     py_9,
     pi_9},
    {"avg2d_include_pad",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 6, 7},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     0,
     1,
     2,
     0,
     "NOTSET",
     {1, 2, 3, 4},
     py_10,
     pi_10},
    {"avg2d_ceil_include_pad",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 6, 7},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 1, 1, 0, 0},
     1,
     1,
     2,
     0,
     "NOTSET",
     {1, 1, 4, 4},
     py_11,
     pi_11},
    {"avg2d_ceil_exclude",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 6, 7},
     2,
     {3, 2, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     1,
     0,
     2,
     0,
     "NOTSET",
     {1, 1, 3, 4},
     py_12,
     pi_12},
    {"avg2d_same_lower",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 5, 5},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     0,
     2,
     0,
     "SAME_LOWER",
     {1, 1, 3, 3},
     py_13,
     pi_13},
    {"avg2d_same_upper_cip",
     1,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 5, 5},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     1,
     2,
     0,
     "SAME_UPPER",
     {1, 1, 5, 5},
     py_14,
     pi_14},
    {"avg1d_asym", 1, SYNAP_DTYPE_FLOAT32, 3, {2, 2, 9}, 1, {4, 0, 0}, 1,        {2, 0, 0}, 0,
     {0, 0, 0},    2, {2, 1, 0, 0, 0, 0},  0, 1,         2, 0,         "NOTSET", {2, 2, 5}, py_15,
     pi_15},
    {"avg3d",
     1,
     SYNAP_DTYPE_FLOAT32,
     5,
     {1, 2, 4, 4, 5},
     3,
     {2, 2, 3},
     3,
     {2, 2, 2},
     0,
     {0, 0, 0},
     6,
     {1, 0, 1, 1, 0, 1},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 3, 2, 3},
     py_16,
     pi_16},
    {"lp2d_p2",
     2,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 2, 5, 6},
     2,
     {2, 3, 0},
     2,
     {1, 2, 0},
     0,
     {0, 0, 0},
     4,
     {1, 1, 0, 1, 0, 0},
     0,
     0,
     2,
     0,
     "NOTSET",
     {1, 2, 5, 3},
     py_17,
     pi_17},
    {"lp2d_p3",
     2,
     SYNAP_DTYPE_FLOAT32,
     4,
     {1, 1, 5, 5},
     2,
     {3, 3, 0},
     2,
     {2, 2, 0},
     0,
     {0, 0, 0},
     0,
     {0, 0, 0, 0, 0, 0},
     0,
     0,
     3,
     0,
     "NOTSET",
     {1, 1, 2, 2},
     py_18,
     pi_18},
    {"lp1d_p1", 2, SYNAP_DTYPE_FLOAT32, 3, {1, 2, 7}, 1, {3, 0, 0}, 1,        {2, 0, 0}, 0,
     {0, 0, 0}, 0, {0, 0, 0, 0, 0, 0},  0, 0,         1, 0,         "NOTSET", {1, 2, 3}, py_19,
     pi_19},
};

static int64_t nelem(int rank, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= d[i];
    return n;
}

static struct synap_node *case_node(struct synap_graph *g, const struct pool_case *pc)
{
    static const enum synap_op ops[] = {SYNAP_OP_MAX_POOL, SYNAP_OP_AVERAGE_POOL, SYNAP_OP_LP_POOL};
    struct synap_node *n =
        synap_graph_add_node(g, pc->name, ops[pc->kind], 1, pc->kind == KIND_MAX ? 2 : 1);
    synap_node_set_ints(g, n, "kernel_shape", pc->k, (size_t)pc->nk);
    if (pc->ns) synap_node_set_ints(g, n, "strides", pc->s, (size_t)pc->ns);
    if (pc->nd) synap_node_set_ints(g, n, "dilations", pc->d, (size_t)pc->nd);
    if (pc->np) synap_node_set_ints(g, n, "pads", pc->p, (size_t)pc->np);
    if (pc->ceil_mode) synap_node_set_int(g, n, "ceil_mode", 1);
    if (pc->count_include_pad) synap_node_set_int(g, n, "count_include_pad", 1);
    if (pc->storage_order) synap_node_set_int(g, n, "storage_order", 1);
    if (pc->kind == KIND_LP) synap_node_set_int(g, n, "p", pc->lp);
    if (strcmp(pc->auto_pad, "NOTSET")) synap_node_set_string(g, n, "auto_pad", pc->auto_pad);
    return n;
}

/* infer + run; output buffers are calloc'ed and freed by the caller. */
static int run_node(struct synap_graph *g, const struct synap_node *n, struct synap_value *in,
                    struct synap_value *out, size_t nout, struct synap_pool *pool,
                    struct synap_err *err)
{
    struct synap_kctx c = {g, n, in, 1, out, nout, 0, NULL, pool, err};
    if (synap_pool_infer(&c)) return -1;
    for (size_t j = 0; j < nout; j++)
        out[j].data =
            calloc((size_t)nelem(out[j].rank, out[j].dims) + 1, synap_dtype_size(out[j].dtype));
    c.scratch = c.scratch_nbytes ? synap_xaligned(c.scratch_nbytes) : NULL;
    int r = synap_pool_run(&c);
    free(c.scratch);
    return r;
}

static void make_input(struct synap_value *v, enum synap_dtype t, int rank, const int64_t *d)
{
    memset(v, 0, sizeof *v);
    v->dtype = t;
    v->rank = rank;
    memcpy(v->dims, d, sizeof(int64_t) * (size_t)rank);
    int64_t n = nelem(rank, d);
    float *f = synap_xmalloc(sizeof(float) * (size_t)(n + 1));
    fill_val(f, n, 1);
    if (t == SYNAP_DTYPE_UINT8)
        for (int64_t i = 0; i < n; i++)
            f[i] = roundf((f[i] + 1.0f) * 100.0f);
    v->data = synap_xmalloc(synap_dtype_size(t) * (size_t)(n + 1));
    synap_convert(t, v->data, SYNAP_DTYPE_FLOAT32, f, n);
    free(f);
}

static void check_case(const struct pool_case *pc, struct synap_pool *pool)
{
    struct synap_graph *g = synap_graph_new();
    struct synap_node *n = case_node(g, pc);
    struct synap_value in, out[2];
    make_input(&in, pc->dtype, pc->rank, pc->xd);
    memset(out, 0, sizeof out);
    size_t nout = pc->kind == KIND_MAX ? 2 : 1;
    struct synap_err err = {0};
    if (run_node(g, n, &in, out, nout, pool, &err)) fail_msg("%s: %s", pc->name, err.msg);
    assert_int_equal(out[0].dtype, pc->dtype);
    assert_int_equal(out[0].rank, pc->rank);
    for (int i = 0; i < pc->rank; i++)
        if (out[0].dims[i] != pc->yd[i])
            fail_msg("%s: dim %d = %lld, want %lld", pc->name, i, (long long)out[0].dims[i],
                     (long long)pc->yd[i]);
    int64_t ny = nelem(pc->rank, pc->yd);
    for (int64_t i = 0; i < ny; i++) {
        double got = synap_value_get_f64(&out[0], i), want = pc->y[i];
        if (!(fabs(got - want) <= 1e-5 + 1e-5 * fabs(want)))
            fail_msg("%s: y[%lld] = %.7g, want %.7g", pc->name, (long long)i, got, want);
    }
    if (nout == 2) {
        assert_int_equal(out[1].dtype, SYNAP_DTYPE_INT64);
        const int64_t *ind = out[1].data;
        for (int64_t i = 0; i < ny; i++)
            if (ind[i] != pc->ind[i])
                fail_msg("%s: indices[%lld] = %lld, want %lld", pc->name, (long long)i,
                         (long long)ind[i], (long long)pc->ind[i]);
    }
    free(in.data);
    free(out[0].data);
    free(out[1].data);
    synap_graph_free(g);
}

static void test_golden(void **state)
{
    (void)state;
    struct synap_pool *pool = synap_pool_new(3);
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++) {
        check_case(&pool_cases[i], NULL);
        check_case(&pool_cases[i], pool);
    }
    synap_pool_free(pool);
}

/* Global pools over [2, 3, 4, 5] inputs from fill_val: expected values are
 * computed here in double, straight from the definition. */
static void test_global(void **state)
{
    (void)state;
    static const enum synap_op ops[] = {SYNAP_OP_GLOBAL_AVERAGE_POOL, SYNAP_OP_GLOBAL_MAX_POOL,
                                        SYNAP_OP_GLOBAL_LP_POOL};
    const int64_t xd[4] = {2, 3, 4, 5};
    for (size_t k = 0; k < 3; k++) {
        for (int rank = 3; rank <= 4; rank++) {
            int64_t plane = rank == 4 ? 20 : 4;
            struct synap_graph *g = synap_graph_new();
            struct synap_node *n = synap_graph_add_node(g, "g", ops[k], 1, 1);
            if (k == 2) synap_node_set_int(g, n, "p", 3);
            struct synap_value in, out[1];
            make_input(&in, SYNAP_DTYPE_FLOAT32, rank, xd);
            memset(out, 0, sizeof out);
            struct synap_err err = {0};
            if (run_node(g, n, &in, out, 1, NULL, &err)) fail_msg("%s", err.msg);
            assert_int_equal(out[0].rank, rank);
            assert_int_equal(out[0].dims[0], 2);
            assert_int_equal(out[0].dims[1], 3);
            for (int i = 2; i < rank; i++)
                assert_int_equal(out[0].dims[i], 1);
            const float *x = in.data, *y = out[0].data;
            for (int64_t pl = 0; pl < 6; pl++) {
                double s = 0, m = -INFINITY;
                for (int64_t i = 0; i < plane; i++) {
                    double v = x[pl * plane + i];
                    s += k == 2 ? pow(fabs(v), 3) : v;
                    m = v > m ? v : m;
                }
                double want = k == 0 ? s / (double)plane : k == 1 ? m : pow(s, 1.0 / 3);
                assert_float_equal(y[pl], want, 1e-5);
            }
            free(in.data);
            free(out[0].data);
            synap_graph_free(g);
        }
    }
}

/* The same big pooling with 1, 2 and 3 threads gives the same bits. */
static void test_threads_bit_identical(void **state)
{
    (void)state;
    const struct pool_case pc = {"big",
                                 KIND_AVG,
                                 SYNAP_DTYPE_FLOAT32,
                                 4,
                                 {2, 16, 41, 37},
                                 2,
                                 {3, 3},
                                 2,
                                 {2, 2},
                                 0,
                                 {0},
                                 4,
                                 {1, 1, 1, 1},
                                 1,
                                 1,
                                 2,
                                 0,
                                 "NOTSET",
                                 {0},
                                 NULL,
                                 NULL};
    float *ref = NULL;
    for (int t = 1; t <= 3; t++) {
        struct synap_pool *pool = synap_pool_new(t);
        struct synap_graph *g = synap_graph_new();
        struct synap_node *n = case_node(g, &pc);
        struct synap_value in, out[1];
        make_input(&in, SYNAP_DTYPE_FLOAT32, 4, pc.xd);
        memset(out, 0, sizeof out);
        struct synap_err err = {0};
        if (run_node(g, n, &in, out, 1, pool, &err)) fail_msg("%s", err.msg);
        assert_int_equal(out[0].dims[2], 21);
        assert_int_equal(out[0].dims[3], 19);
        size_t nb = sizeof(float) * (size_t)nelem(4, out[0].dims);
        if (t == 1) {
            ref = out[0].data;
            out[0].data = NULL;
        } else {
            assert_memory_equal(ref, out[0].data, nb);
        }
        free(in.data);
        free(out[0].data);
        synap_graph_free(g);
        synap_pool_free(pool);
    }
    free(ref);
}

static void expect_error(const struct pool_case *pc, int nk, const char *msg)
{
    struct synap_graph *g = synap_graph_new();
    struct pool_case c2 = *pc;
    c2.nk = nk;
    struct synap_node *n = case_node(g, &c2);
    struct synap_value in, out[2];
    memset(&in, 0, sizeof in);
    memset(out, 0, sizeof out);
    in.dtype = pc->dtype;
    in.rank = pc->rank;
    memcpy(in.dims, pc->xd, sizeof pc->xd);
    struct synap_err err = {0};
    struct synap_kctx c = {g, n, &in, 1, out, 2, 0, NULL, NULL, &err};
    assert_int_equal(synap_pool_infer(&c), -1);
    assert_string_equal(err.msg, msg);
    synap_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    const struct pool_case ok = {"bad",
                                 KIND_MAX,
                                 SYNAP_DTYPE_FLOAT32,
                                 4,
                                 {1, 2, 5, 5},
                                 2,
                                 {3, 3},
                                 0,
                                 {0},
                                 0,
                                 {0},
                                 0,
                                 {0},
                                 0,
                                 0,
                                 2,
                                 0,
                                 "NOTSET",
                                 {0},
                                 NULL,
                                 NULL};
    struct pool_case pc = ok;
    expect_error(&pc, 1, "attribute kernel_shape: expected 2 values");
    pc = ok;
    pc.xd[2] = 2;
    expect_error(&pc, 2, "spatial dim 0: input 2 with pads is smaller than the kernel 3");
    pc = ok;
    pc.np = 4;
    pc.p[0] = 3;
    expect_error(&pc, 2, "attribute pads: pad 3/0 not smaller than the kernel 3");
    pc = ok;
    pc.auto_pad = "SAME";
    expect_error(&pc, 2, "attribute auto_pad: unknown value 'SAME'");
    pc = ok;
    pc.dtype = SYNAP_DTYPE_INT32;
    expect_error(&pc, 2, "input 0: unsupported type int32");
    pc = ok;
    pc.rank = 2;
    expect_error(&pc, 2, "input 0: expected rank >= 3, got 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_global),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// clang-format off
/* Golden-value generator (run with /usr/bin/python3; numpy + torch 1.13):
import numpy as np, itertools, torch, torch.nn.functional as F
def val(n, seed):
    i = np.arange(n, dtype=np.int64)
    k = (i * 7919 + seed * 104729) % 2001
    return (np.float32(k - 1000) / np.float32(1000)).astype(np.float32)
def fl(a): return ", ".join("%.9gf" % v if "." in "%.9g" % v or "e" in "%.9g" % v else "%.1ff" % v for v in a.reshape(-1))
def ints(a): return ", ".join(str(int(v)) for v in a) if len(a) else "0"
cases = []
def ref(kind, x, k, s, d, pb, pe, ceil, cip, p, order):
    N, C = x.shape[:2]; ins = x.shape[2:]; nsp = len(ins)
    outs = []
    for i in range(nsp):
        dk = (k[i]-1)*d[i]+1; span = ins[i]+pb[i]+pe[i]-dk
        o = (-(-span//s[i]) if ceil else span//s[i]) + 1
        if ceil and (o-1)*s[i] >= ins[i]+pb[i]: o -= 1
        outs.append(o)
    y = np.zeros([N, C]+outs); ind = np.zeros([N, C]+outs, dtype=np.int64)
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in outs]):
            vals = []; idx = []; cnt = 0
            for t in itertools.product(*[range(v) for v in k]):
                pos = [o[i]*s[i]-pb[i]+t[i]*d[i] for i in range(nsp)]
                if all(-pb[i] <= pos[i] < ins[i]+pe[i] for i in range(nsp)): cnt += 1
                if all(0 <= pos[i] < ins[i] for i in range(nsp)):
                    vals.append(float(x[(n, c)+tuple(pos)]))
                    if order:
                        f = 0; m = 1
                        for i in range(nsp): f += pos[i]*m; m *= ins[i]
                    else:
                        f = int(np.ravel_multi_index(pos, ins))
                    idx.append(f + (n*C+c)*int(np.prod(ins)))
            if kind == 0:
                j = int(np.argmax(vals)); y[(n, c)+o] = vals[j]; ind[(n, c)+o] = idx[j]
            elif kind == 1:
                y[(n, c)+o] = sum(vals)/(cnt if cip else len(vals))
            else:
                y[(n, c)+o] = sum(abs(v)**p for v in vals)**(1.0/p)
    return y, ind
def case(name, kind, xd, k, s=None, d=None, pads=None, ceil=0, cip=0, p=2, order=0, auto_pad="NOTSET", torch_check=None, dtype="FLOAT32"):
    nsp = len(xd)-2
    x = val(int(np.prod(xd)), 1).reshape(xd)
    if dtype == "UINT8":
        x = np.round((x + 1) * 100).astype(np.float32)
    s_ = s or [1]*nsp; d_ = d or [1]*nsp; pd = pads or [0]*(2*nsp)
    pb, pe = list(pd[:nsp]), list(pd[nsp:])
    if auto_pad.startswith("SAME"):
        for i in range(nsp):
            o = -(-xd[2+i]//s_[i]); dk = (k[i]-1)*d_[i]+1
            tot = max(0, (o-1)*s_[i]+dk-xd[2+i])
            pb[i] = tot//2 if auto_pad == "SAME_UPPER" else tot-tot//2; pe[i] = tot-pb[i]
    if auto_pad == "VALID": pb = [0]*nsp; pe = [0]*nsp
    y, ind = ref(kind, x, k, s_, d_, pb, pe, ceil, cip, p, order)
    if torch_check:
        t = torch_check(torch.tensor(x).double())
        if isinstance(t, tuple): t = t[0]
        assert np.allclose(t.numpy(), y), name
    cases.append(dict(name=name, kind=kind, xd=xd, k=k, s=s, d=d, p=pads, ceil=ceil, cip=cip, pp=p, order=order, ap=auto_pad, y=y, ind=ind, dtype=dtype))

case("max2d_default", 0, [1,2,5,5], [2,2], torch_check=lambda t: F.max_pool2d(t, 2, 1))
case("max2d_pads_strides", 0, [2,2,7,6], [3,3], s=[2,2], pads=[1,1,1,1], torch_check=lambda t: F.max_pool2d(t, 3, 2, 1))
case("max2d_dilation_ceil", 0, [1,2,8,9], [2,3], s=[2,2], d=[2,2], ceil=1, pads=[1,1,1,1], torch_check=lambda t: F.max_pool2d(t, (2,3), 2, 1, (2,2), ceil_mode=True))
case("max2d_asym_pads_order1", 0, [1,2,5,6], [3,2], s=[2,1], pads=[0,1,2,0], order=1)
case("max2d_same_upper", 0, [1,1,5,6], [3,3], s=[2,2], auto_pad="SAME_UPPER")
case("max2d_same_lower", 0, [1,1,5,6], [2,2], s=[2,2], auto_pad="SAME_LOWER")
case("max1d_ceil", 0, [1,3,10], [3], s=[3], ceil=1, torch_check=lambda t: F.max_pool1d(t, 3, 3, ceil_mode=True))
case("max3d", 0, [1,2,4,5,4], [2,3,2], s=[2,1,2], pads=[1,0,0,0,1,1])
case("max2d_uint8", 0, [1,2,5,5], [3,3], s=[2,2], pads=[1,1,1,1], dtype="UINT8")
case("avg2d_exclude_pad", 1, [1,2,6,7], [3,3], s=[2,2], pads=[1,1,1,1], torch_check=lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False))
case("avg2d_include_pad", 1, [1,2,6,7], [3,3], s=[2,2], pads=[1,1,1,1], cip=1, torch_check=lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=True))
case("avg2d_ceil_include_pad", 1, [1,1,6,7], [3,3], s=[2,2], pads=[1,1,1,1], cip=1, ceil=1, torch_check=lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=True))
case("avg2d_ceil_exclude", 1, [1,1,6,7], [3,2], s=[2,2], ceil=1, torch_check=lambda t: F.avg_pool2d(t, (3,2), 2, ceil_mode=True))
case("avg2d_same_lower", 1, [1,1,5,5], [3,3], s=[2,2], auto_pad="SAME_LOWER")
case("avg2d_same_upper_cip", 1, [1,1,5,5], [2,2], auto_pad="SAME_UPPER", cip=1)
case("avg1d_asym", 1, [2,2,9], [4], s=[2], pads=[2,1], cip=1)
case("avg3d", 1, [1,2,4,4,5], [2,2,3], s=[2,2,2], pads=[1,0,1,1,0,1], torch_check=None)
case("lp2d_p2", 2, [1,2,5,6], [2,3], s=[1,2], pads=[1,1,0,1])
case("lp2d_p3", 2, [1,1,5,5], [3,3], s=[2,2], p=3)
case("lp1d_p1", 2, [1,2,7], [3], s=[2], p=1)

out = []
for i, c in enumerate(cases):
    out.append("static const float py_%d[] = {%s};" % (i, fl(c["y"])))
    out.append("static const int64_t pi_%d[] = {%s};" % (i, ints(c["ind"].reshape(-1)) if c["kind"] == 0 else "0"))
out.append("static const struct pool_case pool_cases[] = {")
def opt(v, n):
    v = v or []
    return "%d, {%s}" % (len(v), ints(list(v)+[0]*(n-len(v))))
for i, c in enumerate(cases):
    out.append('    {"%s", %d, SYNAP_DTYPE_%s, %d, {%s}, %s, %s, %s, %s, %d, %d, %d, %d, "%s", {%s}, py_%d, pi_%d},' % (
        c["name"], c["kind"], c["dtype"], len(c["xd"]), ints(c["xd"]), opt(c["k"], 3), opt(c["s"], 3), opt(c["d"], 3), opt(c["p"], 6),
        c["ceil"], c["cip"], c["pp"], c["order"], c["ap"], ints(list(c["y"].shape)), i, i))
out.append("};")
open("/tmp/cb/pool_golden.inc", "w").write("\n".join(out)+"\n")
print(len(cases))
*/
// clang-format on
