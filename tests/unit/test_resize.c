/* Resize: every mode and coordinate transformation against the ONNX
 * reference implementation, plus dtypes, threading and error messages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The data input is a runtime tensor, as in a real graph; the others are
 * constants unless a test says otherwise. */
#define KH_DEFAULT_HIDDEN 1u
#include "kernel_harness.h"

/* ---- golden data: onnx/backend/test/case/node/resize.py (onnx 1.12) ------- */

static const float x4[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const float up_nearest_23[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                        3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
static const float sizes_nearest_78[56] = {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1,
                                           1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4,
                                           4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4};
static const float nearest_floor_ac[64] = {
    1,  1,  1,  2,  2, 3, 3, 4,  1,  1,  1,  2,  2,  3,  3,  4,  1,  1,  1,  2, 2, 3,
    3,  4,  5,  5,  5, 6, 6, 7,  7,  8,  5,  5,  5,  6,  6,  7,  7,  8,  9,  9, 9, 10,
    10, 11, 11, 12, 9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16};
static const float nearest_ceil_asym[64] = {
    1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,  8,  8,  8,  5,  6,  6,  7,  7,  8,
    8,  8,  9,  10, 10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15,
    15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16};
static const float nearest_ceil_hp[64] = {
    1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,  8,  8,  8,  5,  6,  6,  7,  7,  8,
    8,  8,  9,  10, 10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15,
    15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16};
static const float down_nearest[2] = {1, 3};
static const float x57[70] = {
    0.195254013,  0.86075747,   0.411053509,  0.179532737, -0.305380791, 0.583576441,  -0.249651149,
    1.56709206,   1.85465109,   -0.466233939, 1.16690016,  0.11557968,   0.272178233,  1.7023865,
    -1.71585572,  -1.65148282,  -1.91912639,  1.33047938,  1.11262703,   1.48004854,   1.91447341,
    1.19663429,   -0.154082552, 1.12211668,   -1.52690232, 0.559684098,  -1.42658687,  1.77867568,
    0.0873932838, -0.341352254, -0.941777527, 1.0969348,   -0.175398678, 0.273735791,  -1.92484081,
    0.470541984,  0.448382884,  0.467735976,  1.77499235,  0.727281213,  -0.561968386, -0.251872182,
    0.790524781,  -1.75909817,  0.667066872,  0.682551503, -1.1584698,   -1.48429477,  -0.738286614,
    -0.545156896, 0.280787081,  -0.24559395,  1.95349538,  -1.59182072,  -1.16449296,  -1.35476196,
    0.612433314,  -0.986833572, -0.134756908, -1.02229762, -1.36412168,  -1.55849946,  0.625318348,
    -1.44726825,  -1.21367061,  -0.525099337, 1.28397298,  -1.61159492,  1.35177958,   -1.61560643};
static const float lin_up2_x57[280] = {
    0.195254013,   0.361629874,    0.694381595,   0.748331487,   0.523479521,   0.353173316,
    0.23741293,    0.0583043545,   -0.184152409,  -0.0831414834, 0.361337125,   0.375269532,
    -0.0413442515, -0.249651149,   0.538213551,   0.680967867,   0.96647656,    0.87985605,
    0.421106458,   0.250392377,    0.367713869,   0.269745767,   -0.0435118563, -0.023673784,
    0.329259992,   0.438884735,    0.305200428,   0.238358259,   1.22413254,    1.31964386,
    1.51066637,    1.14290524,     0.21636036,    0.044830516,   0.628315687,   0.692628622,
    0.237769246,   0.0952616185,   0.265105724,   0.566115081,   0.998289764,   1.21437705,
    0.746355116,   0.804295719,    0.920176983,   0.526223958,   -0.377563387,  -0.320144057,
    0.698481977,   0.997056603,    0.575579882,   0.417167604,   0.521819711,   0.869461417,
    1.46009266,    1.75540829,     -0.895118773,  -0.865076423,  -0.804991722,  -0.970187843,
    -1.36066484,   -0.844531298,   0.578212619,   1.18302977,    0.969920039,   0.942044139,
    1.09940207,    1.34892368,     1.69060898,    1.86145163,    -0.987733245,  -1.06008315,
    -1.20478284,   -1.24755347,    -1.1883949,    -0.715078235,  0.17239657,    0.705698311,
    0.884826958,   0.919140875,    0.808640063,   1.0351733,     1.59874046,    1.88052392,
    0.46851179,    0.219275683,    -0.279196531,  -0.305872977,  0.139246285,   0.0682152137,
    -0.518966198,  -0.434937716,   0.320300639,   0.348457873,   -0.350466043,  -0.0717897341,
    1.18448687,    1.81262517,     0.91932404,    0.639268041,   0.0791560262,  0.000860800035,
    0.404382348,   0.236871585,    -0.501671493,  -0.559228957,  0.0641992912,  0.0315585025,
    -0.657151282,  -0.537930489,   0.389220864,   0.852796555,   0.364703536,   0.199893951,
    -0.129725233,  -0.327352107,   -0.392986685,  -0.209109098,  0.22428064,    0.332824647,
    0.116522893,   -0.0315572061,  -0.111415654,  -0.363249063,  -0.787057459,  -0.998961687,
    0.0873932838,  -0.0197931007,  -0.234165877,  -0.491458565,  -0.791671216,  -0.432099462,
    0.58725673,    0.778851449,    0.142684698,   -0.0631150603, 0.161452174,   -0.275908351,
    -1.3751967,    -1.92484081,    0.470541984,   0.465002209,   0.453922659,   0.453221142,
    0.462897718,   0.794550061,    1.44817829,    1.51306462,    0.989208996,   0.404968798,
    -0.239655986,  -0.48444432,    -0.329396248,  -0.251872182,  0.550537705,   0.387031406,
    0.0600188859,  0.0517766401,   0.362304688,   0.763647079,   1.25580382,    1.19037247,
    0.567353129,   -0.00625490025, -0.530451596,  -0.687781453,  -0.478244334,  -0.37347579,
    0.710529089,   0.23108983,     -0.727788687,  -0.751112401,  0.161118627,   0.701841056,
    0.871054828,   0.544988275,    -0.276358604,  -0.828702331,  -1.1120429,    -1.0944556,
    -0.775940537,  -0.616683006,   0.456604362,   0.0301715564,  -0.822694063,  -0.827119708,
    0.0168945342,  0.57924813,     0.859941006,   0.433513731,   -0.700033784,  -1.30119169,
    -1.36996007,   -1.27635956,    -1.02039015,   -0.89240545,   -0.211236477,  -0.21572341,
    -0.224697292,  -0.176245362,   -0.0703676194, 0.395868301,   1.22246242,    0.855948806,
    -0.703672409,  -1.4237231,     -1.30420327,   -1.23349333,   -1.21159315,   -1.20064306,
    -0.255759358,  -0.200849026,   -0.0910283998, -0.0815597326, -0.172443032,  0.138973266,
    0.852689147,   0.523436368,    -0.848785162,  -1.46692061,   -1.33096993,   -1.16218138,
    -0.960555077,  -0.859741867,   0.323035777,   0.0747947171,  -0.421687365,  -0.543062866,
    -0.289331734,  -0.191436976,   -0.249378562,  -0.564023614,  -1.13537216,   -1.43078423,
    -1.45025992,   -1.06242383,    -0.267275751,  0.130298272,   0.0975079238,  -0.187754765,
    -0.758280158,  -0.840742767,   -0.435142606,  -0.285689384,  -0.392383099,  -0.690794945,
    -1.18092501,   -1.2772249,     -0.979694784,  -0.606925488,  -0.158917055,  0.0650871545,
    -0.932342887,  -0.988497496,   -1.10080671,   -0.974599421,  -0.609875619,  -0.143783972,
    0.423675567,   0.143122345,    -0.985443592,  -1.00624251,   0.0807257146,  0.204313561,
    -0.635478973,  -1.05537522,    -1.44726825,   -1.38886881,   -1.27207005,   -1.04152775,
    -0.697242141,  -0.0728312582,  0.831704915,   0.560081005,   -0.887702942,  -0.870751262,
    0.610935926,   0.609933078,    -0.873759925,  -1.61560643};
static const float lin_down_ac[2] = {1, 3.14285707};
static const float lin_down[2] = {2.66666651, 4.33333302};
static const float cubic_up2[64] = {
    0.47265625, 0.76953125, 1.24609375, 1.875,    2.28125,  2.91015625, 3.38671875, 3.68359375,
    1.66015625, 1.95703125, 2.43359375, 3.0625,   3.46875,  4.09765625, 4.57421875, 4.87109375,
    3.56640625, 3.86328125, 4.33984375, 4.96875,  5.375,    6.00390625, 6.48046875, 6.77734375,
    6.08203125, 6.37890625, 6.85546875, 7.484375, 7.890625, 8.51953125, 8.99609375, 9.29296875,
    7.70703125, 8.00390625, 8.48046875, 9.109375, 9.515625, 10.1445312, 10.6210938, 10.9179688,
    10.2226562, 10.5195312, 10.9960938, 11.625,   12.03125, 12.6601562, 13.1367188, 13.4335938,
    12.1289062, 12.4257812, 12.9023438, 13.53125, 13.9375,  14.5664062, 15.0429688, 15.3398438,
    13.3164062, 13.6132812, 14.0898438, 14.71875, 15.125,   15.7539062, 16.2304688, 16.5273438};
static const float cubic_a05_excl_down[9] = {1.36812675, 2.6695013, 4.01333666, 6.57362509, 7.875,
                                             9.21883488, 11.948966, 13.2503414, 14.5941763};
static const float cubic_asym_up[64] = {
    1,      1.40625,  2,      2.5,      3,      3.59375,  4,      4.09375,  2.625,  3.03125,
    3.625,  4.125,    4.625,  5.21875,  5.625,  5.71875,  5,      5.40625,  6,      6.5,
    7,      7.59375,  8,      8.09375,  7,      7.40625,  8,      8.5,      9,      9.59375,
    10,     10.09375, 9,      9.40625,  10,     10.5,     11,     11.59375, 12,     12.09375,
    11.375, 11.78125, 12.375, 12.875,   13.375, 13.96875, 14.375, 14.46875, 13,     13.40625,
    14,     14.5,     15,     15.59375, 16,     16.09375, 13.375, 13.78125, 14.375, 14.875,
    15.375, 15.96875, 16.375, 16.46875};
static const float cubic_sizes_ac[72] = {
    0.195254013,  0.411053509,   -0.305380791, -0.249651149, 1.18894935,   0.108618453,
    -0.188373744, 0.706484556,   1.56709206,   -0.466233939, 0.11557968,   1.7023865,
    -0.218817949, -1.56004238,   0.705406785,  2.00416446,   -1.71585572,  -1.91912639,
    1.11262703,   1.91447341,    -0.463395715, -0.341223449, 0.998542786,  2.21366239,
    1.19663429,   1.12211668,    0.559684098,  1.77867568,   0.915059745,  0.375286102,
    0.140304312,  -0.0858136043, 0.0873932838, -0.941777527, -0.175398678, -1.92484081,
    0.470541984,  0.467735976,   0.727281213,  -0.251872182, 0.755753517,  0.6529634,
    -0.174967647, -0.437284827,  0.790524781,  0.667066872,  -1.1584698,   -0.738286614,
    0.0441582464, 0.219032764,   -1.57328117,  -1.27775812,  -0.545156896, -0.24559395,
    -1.59182072,  -1.35476196,   0.10151507,   -0.239142776, -1.49539721,  -0.212429672,
    0.612433314,  -0.134756908,  -1.36412168,  0.625318348,  -0.308893383, -0.319537163,
    -1.46651149,  -0.309511513,  -1.44726825,  -0.525099337, -1.61159492,  -1.61560643};
static const float crop_extrap[9] = {7.60000038, 10, 10, 12.4000006, 10, 10, 10, 10, 10};
static const float pt_half_pixel[3] = {1.66666663, 7, 12.333333};
static const float x234[24] = {
    0.952918947,  -0.0626975968, 0.953522205,  0.209691033,  0.478527158,  -0.921624422,
    -0.434386075, -0.759606898,  -0.407719612, -0.762544572, -0.364033639, -0.17147401,
    -0.871704996, 0.38494423,    0.13320291,   -0.469221026, 0.0464961082, -0.812119007,
    0.15189299,   0.858592391,   -0.36286208,  0.334820747,  -0.7364043,   0.432654411};
static const float lin3d[32] = {
    0.445110679,   0.581606627,  0.111781023,  -0.00769493356, -0.282145888,  -0.542122722,
    -0.524534822,  -0.322627604, 0.272987902,  0.394202709,    0.00556178717, 0.036383003,
    -0.291945994,  -0.307661265, -0.412272573, -0.252559543,   -0.071257621,  0.0193948615,
    -0.20687668,   0.124538876,  -0.311546206, 0.161261633,    -0.18774806,   -0.112423405,
    -0.243380383,  -0.168009058, -0.313095927, 0.168616816,    -0.321346313,  0.395723075,
    -0.0754857957, -0.04235534};

/* ---- cases ----------------------------------------------------------------- */

struct rcase {
    const char *mode, *ctm, *nearest;
    float cubic_a;
    int exclude_outside;
    float extrapolation;
    const float *roi; /* 2 * rank values, or NULL */
    const float *scales;
    const int64_t *sizes;
};

static int resize_case(struct kh *t, const struct rcase *rc, enum synap_dtype dt, int rank,
                       const int64_t *xd, const void *x, struct synap_pool *pool)
{
    struct synap_node *n = kh_new(t, SYNAP_OP_RESIZE, 4, 1);
    if (rc->mode) synap_node_set_string(t->g, n, "mode", rc->mode);
    if (rc->ctm) synap_node_set_string(t->g, n, "coordinate_transformation_mode", rc->ctm);
    if (rc->nearest) synap_node_set_string(t->g, n, "nearest_mode", rc->nearest);
    if (rc->cubic_a != 0) synap_node_set_float(t->g, n, "cubic_coeff_a", rc->cubic_a);
    if (rc->exclude_outside) synap_node_set_int(t->g, n, "exclude_outside", 1);
    if (rc->extrapolation != 0)
        synap_node_set_float(t->g, n, "extrapolation_value", rc->extrapolation);
    const int64_t nr[] = {rank}, nroi[] = {2 * rank};
    kh_in(t, 0, dt, rank, xd, x);
    if (rc->roi) kh_in(t, 1, SYNAP_DTYPE_FLOAT32, 1, nroi, rc->roi);
    if (rc->scales) kh_in(t, 2, SYNAP_DTYPE_FLOAT32, 1, nr, rc->scales);
    if (rc->sizes) kh_in(t, 3, SYNAP_DTYPE_INT64, 1, nr, rc->sizes);
    return kh_run(t, pool);
}

/* The reference computes in double; float32 weights and sums stay well
 * inside the conformance tolerance (rtol 1e-3, atol 1e-5). */
static void assert_close(const struct synap_value *v, const float *want, int64_t n)
{
    assert_int_equal(synap_value_nelem(v), n);
    const float *got = v->data;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i])))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, got[i], want[i]);
}

static const int64_t d4x4[] = {1, 1, 4, 4}, d2x2[] = {1, 1, 2, 2}, d2x4[] = {1, 1, 2, 4},
                     d57[] = {1, 2, 5, 7};
static const float x2x2[] = {1, 2, 3, 4}, x2x4[] = {1, 2, 3, 4, 5, 6, 7, 8};

static void check(const struct rcase *rc, int rank, const int64_t *xd, const float *x,
                  const int64_t *yd, const float *want)
{
    struct kh t;
    assert_int_equal(resize_case(&t, rc, SYNAP_DTYPE_FLOAT32, rank, xd, x, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_FLOAT32);
    kh_expect_dims(&t.out[0], rank, yd);
    assert_close(&t.out[0], want, synap_shape_nelem(rank, yd));
    kh_free(&t);
}

static void test_nearest(void **state)
{
    (void)state;
    check(&(struct rcase){.scales = (const float[]){1, 1, 2, 3}}, 4, d2x2, x2x2,
          (const int64_t[]){1, 1, 4, 6}, up_nearest_23);
    check(&(struct rcase){.mode = "nearest", .sizes = (const int64_t[]){1, 1, 7, 8}}, 4, d2x2, x2x2,
          (const int64_t[]){1, 1, 7, 8}, sizes_nearest_78);
    /* Output size is floor(2 * 0.6, 4 * 0.6) = (1, 2). */
    check(&(struct rcase){.scales = (const float[]){1, 1, 0.6f, 0.6f}}, 4, d2x4, x2x4,
          (const int64_t[]){1, 1, 1, 2}, down_nearest);
    const int64_t s8[] = {1, 1, 8, 8}, d8[] = {1, 1, 8, 8};
    check(&(struct rcase){.ctm = "align_corners", .nearest = "floor", .sizes = s8}, 4, d4x4, x4, d8,
          nearest_floor_ac);
    check(&(struct rcase){.ctm = "asymmetric", .nearest = "round_prefer_ceil", .sizes = s8}, 4,
          d4x4, x4, d8, nearest_ceil_asym);
    check(&(struct rcase){.nearest = "ceil", .sizes = s8}, 4, d4x4, x4, d8, nearest_ceil_hp);
    /* tf_half_pixel_for_nn: the expected output of ONNX's
     * test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn. */
    check(&(struct rcase){.ctm = "tf_half_pixel_for_nn", .sizes = (const int64_t[]){1, 1, 3, 2}}, 4,
          d4x4, x4, (const int64_t[]){1, 1, 3, 2}, (const float[]){6, 8, 10, 12, 14, 16});
}

static void test_nearest_any_dtype(void **state)
{
    (void)state;
    /* Nearest copies bytes: int64 values beyond 2^53 survive exactly. */
    const int64_t x[] = {INT64_MAX, -3, INT64_MIN + 1, 9007199254740993LL};
    struct kh t;
    assert_int_equal(resize_case(&t, &(struct rcase){.scales = (const float[]){1, 1, 2, 3}},
                                 SYNAP_DTYPE_INT64, 4, d2x2, x, NULL),
                     0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
    const int64_t *y = t.out[0].data;
    for (int i = 0; i < 24; i++)
        assert_true(y[i] == x[(int)up_nearest_23[i] - 1]);
    kh_free(&t);
    /* uint8 through linear: rounded, not truncated (2x of {0, 255} has 63.75). */
    const uint8_t u[] = {0, 255};
    assert_int_equal(resize_case(&t,
                                 &(struct rcase){.mode = "linear", .scales = (const float[]){1, 2}},
                                 SYNAP_DTYPE_UINT8, 2, (const int64_t[]){1, 2}, u, NULL),
                     0);
    assert_memory_equal(t.out[0].data, ((const uint8_t[]){0, 64, 191, 255}), 4);
    kh_free(&t);
}

static void test_linear(void **state)
{
    (void)state;
    check(&(struct rcase){.mode = "linear", .scales = (const float[]){1, 1, 2, 2}}, 4, d57, x57,
          (const int64_t[]){1, 2, 10, 14}, lin_up2_x57);
    check(&(struct rcase){.mode = "linear", .scales = (const float[]){1, 1, 0.6f, 0.6f}}, 4, d2x4,
          x2x4, (const int64_t[]){1, 1, 1, 2}, lin_down);
    /* align_corners with a fractional output length (0.6 * 4 = 2.4): the
     * reference divides by 1.4, not by the integer size 2 - 1. */
    check(&(struct rcase){.mode = "linear",
                          .ctm = "align_corners",
                          .scales = (const float[]){1, 1, 0.6f, 0.6f}},
          4, d2x4, x2x4, (const int64_t[]){1, 1, 1, 2}, lin_down_ac);
    check(&(struct rcase){.mode = "linear",
                          .ctm = "pytorch_half_pixel",
                          .sizes = (const int64_t[]){1, 1, 3, 1}},
          4, d4x4, x4, (const int64_t[]){1, 1, 3, 1}, pt_half_pixel);
    check(&(struct rcase){.mode = "linear",
                          .ctm = "tf_crop_and_resize",
                          .extrapolation = 10,
                          .roi = (const float[]){0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f},
                          .sizes = (const int64_t[]){1, 1, 3, 3}},
          4, d4x4, x4, (const int64_t[]){1, 1, 3, 3}, crop_extrap);
    /* Rank 3 with the first axis resized: the general N-linear path. */
    check(&(struct rcase){.mode = "linear", .scales = (const float[]){2, 1.5f, 0.5f}}, 3,
          (const int64_t[]){2, 3, 4}, x234, (const int64_t[]){4, 4, 2}, lin3d);
}

static void test_cubic(void **state)
{
    (void)state;
    const int64_t d8[] = {1, 1, 8, 8};
    check(&(struct rcase){.mode = "cubic", .scales = (const float[]){1, 1, 2, 2}}, 4, d4x4, x4, d8,
          cubic_up2);
    check(&(struct rcase){.mode = "cubic",
                          .cubic_a = -0.5f,
                          .exclude_outside = 1,
                          .scales = (const float[]){1, 1, 0.8f, 0.8f}},
          4, d4x4, x4, (const int64_t[]){1, 1, 3, 3}, cubic_a05_excl_down);
    check(&(struct rcase){.mode = "cubic",
                          .ctm = "asymmetric",
                          .scales = (const float[]){1, 1, 2, 2}},
          4, d4x4, x4, d8, cubic_asym_up);
    check(&(struct rcase){.mode = "cubic",
                          .ctm = "align_corners",
                          .sizes = (const int64_t[]){1, 2, 9, 4}},
          4, d57, x57, (const int64_t[]){1, 2, 9, 4}, cubic_sizes_ac);
}

/* ORT-style half_pixel bilinear, written independently of the kernel. */
static float bilinear_ref(const float *x, int64_t h, int64_t w, int64_t oy, int64_t ox, float sy,
                          float sx)
{
    float fy = ((float)oy + 0.5f) / sy - 0.5f, fx = ((float)ox + 0.5f) / sx - 0.5f;
    fy = fy < 0 ? 0 : fy;
    fx = fx < 0 ? 0 : fx;
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    int64_t y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    y0 = y0 < h ? y0 : h - 1;
    x0 = x0 < w ? x0 : w - 1;
    float ly = fy - (float)y0, lx = fx - (float)x0;
    if (ly < 0) ly = 0;
    if (lx < 0) lx = 0;
    return (1 - ly) * ((1 - lx) * x[y0 * w + x0] + lx * x[y0 * w + x1]) +
           ly * ((1 - lx) * x[y1 * w + x0] + lx * x[y1 * w + x1]);
}

static void test_large_threaded(void **state)
{
    (void)state;
    /* 2x nearest and bilinear of [1, 6, 37, 45] (the PP-OCR/YuNet FPN
     * upsampling): threads change nothing, bilinear matches an independent
     * implementation, nearest repeats every pixel 2x2. */
    const int64_t xd[] = {1, 6, 37, 45}, yd[] = {1, 6, 74, 90};
    int64_t n = 6 * 37 * 45, on = 6 * 74 * 90;
    float *x = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 37) % 101) / 7.0f - 5;
    const float sc[] = {1, 1, 2, 2};
    struct synap_pool *pool = synap_pool_new(4);
    for (int linear = 0; linear < 2; linear++) {
        struct rcase rc = {.mode = linear ? "linear" : "nearest", .scales = sc};
        struct kh a, b;
        assert_int_equal(resize_case(&a, &rc, SYNAP_DTYPE_FLOAT32, 4, xd, x, NULL), 0);
        assert_int_equal(resize_case(&b, &rc, SYNAP_DTYPE_FLOAT32, 4, xd, x, pool), 0);
        kh_expect_dims(&a.out[0], 4, yd);
        assert_memory_equal(a.out[0].data, b.out[0].data, (size_t)on * sizeof(float));
        const float *y = a.out[0].data;
        for (int64_t c = 0; c < 6; c++)
            for (int64_t oy = 0; oy < 74; oy++)
                for (int64_t ox = 0; ox < 90; ox++) {
                    const float *xc = x + c * 37 * 45;
                    float want = linear ? bilinear_ref(xc, 37, 45, oy, ox, 2, 2)
                                        : xc[(oy / 2) * 45 + ox / 2];
                    float got = y[(c * 74 + oy) * 90 + ox];
                    if (!(fabsf(got - want) <= 1e-5f + 1e-5f * fabsf(want)))
                        fail_msg("c %lld y %lld x %lld: got %g, want %g", (long long)c,
                                 (long long)oy, (long long)ox, got, want);
                }
        kh_free(&a);
        kh_free(&b);
    }
    synap_pool_free(pool);
    free(x);
}

static void test_errors(void **state)
{
    (void)state;
    struct kh t;
    const float sc[] = {1, 1, 2, 2};
    const int64_t sz[] = {1, 1, 8, 8};
    assert_int_equal(resize_case(&t, &(struct rcase){.scales = sc, .sizes = sz},
                                 SYNAP_DTYPE_FLOAT32, 4, d4x4, x4, NULL),
                     -1);
    assert_string_equal(t.err.msg, "exactly one of scales and sizes must be given");
    kh_free(&t);
    assert_int_equal(resize_case(&t, &(struct rcase){0}, SYNAP_DTYPE_FLOAT32, 4, d4x4, x4, NULL),
                     -1);
    assert_string_equal(t.err.msg, "exactly one of scales and sizes must be given");
    kh_free(&t);
    assert_int_equal(resize_case(&t, &(struct rcase){.mode = "area", .scales = sc},
                                 SYNAP_DTYPE_FLOAT32, 4, d4x4, x4, NULL),
                     -1);
    assert_string_equal(t.err.msg, "mode 'area' is not supported");
    kh_free(&t);
    assert_int_equal(resize_case(&t, &(struct rcase){.scales = (const float[]){1, 1, 0, 2}},
                                 SYNAP_DTYPE_FLOAT32, 4, d4x4, x4, NULL),
                     -1);
    assert_string_equal(t.err.msg,
                        "input 2 (scales): scale 0 of axis 2 is not positive and finite");
    kh_free(&t);
    assert_int_equal(resize_case(&t, &(struct rcase){.ctm = "tf_crop_and_resize", .sizes = sz},
                                 SYNAP_DTYPE_FLOAT32, 4, d4x4, x4, NULL),
                     -1);
    assert_string_equal(t.err.msg, "tf_crop_and_resize needs input 1 (roi)");
    kh_free(&t);
    /* scales of the wrong length */
    assert_int_equal(resize_case(&t, &(struct rcase){.scales = sc}, SYNAP_DTYPE_FLOAT32, 3,
                                 (const int64_t[]){1, 4, 4}, x4, NULL),
                     0);
    t.in[2].dims[0] = 4;
    assert_int_equal(kh_infer(&t), -1);
    assert_string_equal(t.err.msg, "input 2 (scales): 4 values for rank 3");
    kh_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest),        cmocka_unit_test(test_nearest_any_dtype),
        cmocka_unit_test(test_linear),         cmocka_unit_test(test_cubic),
        cmocka_unit_test(test_large_threaded), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
