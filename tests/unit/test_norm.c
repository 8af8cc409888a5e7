/* Normalization kernels against numpy golden values (float64 math on
 * float32 inputs, ONNX formulas); float32 outputs within rtol 1e-5, atol 1e-6. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_harness.h"

static const float bn_x[] = {
    0.203191608,  0.832591295,  -0.836381018, 0.0433104225, 1.57178783,   1.58517241,
    -1.49765873,  -1.17102849,  -1.79413116,  -0.236760631, -1.88049519,  -0.172667101,
    0.596576214,  -0.88605088,  0.705019593,  0.363451272,  -1.90407252,  0.235416353,
    -0.962990224, -0.339595199, -0.865899682, 0.772551656,  -0.238185123, -1.37252903,
};
static const float bn_s[] = {
    0.178596079,
    1.12125909,
    -0.774545848,
};
static const float bn_b[] = {
    -1.11216843,
    -0.448114961,
    1.74553466,
};
static const float bn_mean[] = {
    1.90398169,
    0.689534724,
    1.61133647,
};
static const float bn_var[] = {
    1.7069267,
    0.818188667,
    0.275212318,
};
static const double bn_want[] = {
    -1.3446636,  -1.25862571, -1.48677144, -1.36651909, 0.645513471, 0.662104807,
    -3.15932892, -2.75444272, 6.77338177,  4.4740732,   6.90089,     4.37944523,
    -1.29088858, -1.49356123, -1.27606455, -1.32275637, -3.66311369, -1.01103365,
    -2.49656143, -1.7238098,  5.40293681,  2.98392018,  4.47617632,  6.15092656,
};
static const double bn_want_eps[] = {
    -1.34398622, -1.258199,   -1.48568003, -1.36577803, 0.63889753,  0.655388496,
    -3.14292734, -2.74049051, 6.68454287,  4.42586164,  6.80979811,  4.33290569,
    -1.29036787, -1.49245003, -1.27558703, -1.32214282, -3.64366445, -1.00762825,
    -2.48416929, -1.71609245, 5.33831281,  2.96203868,  4.4279276,   6.07308606,
};
static const float in_x[] = {
    0.613643587,  0.231363043,  -0.553740919, -1.09978199, -0.373920321, -0.124239005,
    -0.923057675, -0.832828879, -0.169254407, 1.44213569,  0.345011622,  -0.866048574,
    -0.888089955, -0.1815117,   -1.17835867,  -1.19448519, 0.0561402403, -1.65108252,
    -0.065657869, -0.551295161, 0.830746472,  0.986984909, 0.764371693,  0.756721675,
    -0.505599499, 0.672539234,  -0.64060533,  0.291175485, -0.696771383, -0.219419807,
};
static const float in_s[] = {
    -1.75388432,
    -1.02929831,
    1.88641047,
};
static const float in_b[] = {
    -1.07766318,
    0.765910029,
    0.601907432,
};
static const double in_want[] = {
    -3.27300614,  -2.28582065, -0.258400586, 1.15167334,   -0.722761874, 0.769083162,
    1.67754965,   1.57493583,  0.820277489,  -1.01229598,  3.25260264,   -0.318950422,
    -0.383952938, 1.699826,    -1.23998812,  0.160234451,  -2.85636501,  1.2615804,
    -2.56257911,  -1.39118665, 0.332984602,  0.0768724178, 0.441788747,  0.454328957,
    2.52357542,   3.01614922,  -0.990962028, 1.85240304,   -1.1623549,   0.294301829,
};
static const float ln_x[] = {
    0.895756543, -0.099645555,  0.386655092, -1.7321223,   -1.70975149, -1.20409584,
    -1.39255607, -1.59958267,   -1.48282456, 0.213110924,  -1.24874067, 1.80840492,
    0.726447105, 0.164078698,   0.828722417, -0.944453299, 1.70690274,  1.35677218,
    0.905277967, -0.0790401772, 1.36841273,  0.979009271,  0.641303599, 1.65590107,
};
static const float ln_w4[] = {
    0.534662247,
    -0.536237657,
    0.211378291,
    -1.21447766,
};
static const float ln_b4[] = {
    -1.23171079,
    0.90267849,
    1.13974679,
    1.8883934,
};
static const float ln_w34[] = {
    1.40388572,    0.174377307,  -1.64083648, -0.0445070229, 1.71174538,  1.15047276,
    -0.0596230961, -0.178882554, -1.12805688, -1.29114652,   -1.70550537, 1.56957281,
};
static const float ln_w14[] = {
    0.560706496,
    -1.42667079,
    -0.343492329,
    -1.80356431,
};
static const double ln_want_a[] = {
    -0.671357064, 0.882173195, 1.25211127,  3.85326163,  -1.87391511,  0.150487223,
    1.23111486,   2.65816437,  -1.76125017, 0.743743411, 0.967937445,  0.058376832,
    -0.827201667, 0.925234875, 1.33037052,  3.85137612,  -0.645916076, 0.595253155,
    1.11855587,   3.79352564,  -0.94347196, 1.15674417,  0.853917502,  0.325475572,
};
static const double ln_mean_a[] = {
    -0.137339056, -1.47649652, -0.177512348, 0.19369873, 0.972478179, 1.16115667,
};
static const double ln_inv_a[] = {
    1.01447707, 5.14947311, 0.758759846, 1.42012532, 1.49182794, 2.60115196,
};
static const double ln_want_b[] = {
    1.83648402,    0.0760133551, -1.4144644,   0.0442649015, -1.66887864, -0.611904011,
    0.0415580037,  0.157134163,  0.875496735,  -0.916673883, 0.973830344, 3.30844008,
    -0.0942730188, -0.145199712, -0.118256366, 0.104220525,  2.16962661,  0.909884218,
    -0.0105104802, 0.20815151,   -0.91003083,  -0.357194088, 0.31219803,  1.88045456,
};
static const double ln_want_c[] = {
    -0.498226218, 0.280773983, 0.843643135,  3.68214619,   -1.77837568,  1.66148444,
    1.379165,     3.47268187,  -1.66688096,  -0.110213414, 1.33587824,   -1.91326806,
    -1.26936307,  2.09063231,  1.11499102,   6.11173631,   -0.521018799, -0.225644823,
    1.07919526,   3.98705885,  -0.779375271, 0.507991779,  1.20262412,   -0.272398835,
};
static const float lrn_x[] = {
    -1.16250658,  0.922832489,  0.604491055, -0.084086813, -0.900877953, 0.6088925,   1.82579803,
    -0.257917762, -1.71947002,  -1.76907408, -1.66851592,  1.8388288,    0.16304335,  1.3498497,
    -1.31986582,  -0.958619714, 0.767910063, 1.58228135,   -0.637246072, -1.74130726,
};
static const double lrn_want_3[] = {
    -1.16244372,  0.922804289,  0.604435162, -0.0840866583, -0.900762667, 0.608826261, 1.82550218,
    -0.257895487, -1.71930692,  -1.76883872, -1.66818815,   1.83862808,   0.163028788, 1.34959817,
    -1.3197031,   -0.958444027, 0.767898233, 1.58211026,    -0.637211852, -1.74113528,
};
static const double lrn_want_4[] = {
    -0.649289288, 0.52700252,   0.325186525,  -0.0493360862, -0.502783476, 0.330283711, 0.939180572,
    -0.147194492, -0.981001076, -0.919111976, -0.857412053,  0.965779182,  0.095315753, 0.707936736,
    -0.741133445, -0.504341557, 0.495272523,  0.904295306,   -0.389818141, -1.00635046,
};
static const float mvn_x[] = {
    1.45647871,  -0.836510241, 0.9643296,   -1.36786532, 0.779853761,  1.36567843,
    0.908608317, -0.563569903, 0.906759024, -1.44213152, -0.744723558, -0.321668983,
    1.50884819,  -1.38503921,  1.52049911,  1.19585729,  1.88649714,   -0.529188097,
    -1.18024087, -1.03771877,  1.3114512,   1.86091256,  0.795239985,  -0.0700118318,
};
static const double mvn_want_def[] = {
    0.863289571, -0.979139856, 0.46784501,  -1.40608663, 0.526106883, 1.06108176,
    0.643685498, -0.700707134, 0.593594738, -1.65605445, -0.98811219, -0.582931802,
    0.905368737, -1.41988594,  0.914730316, 0.653878798, 1.53669323,  -0.66930968,
    -1.26385084, -1.13369971,  0.98118854,  1.50743499,  0.486787413, -0.341907244,
};
static const double mvn_want_1[] = {
    1.3920302,    -0.441111262, 0.741955617,  -1.37930042, -0.912091335, 1.38419889,
    0.671675726,  0.419191799,  -0.479938861, -0.94308763, -1.41363134,  0.960108623,
    -0.251845303, -0.995381956, 1.00063737,   1.27545985,  1.33109087,   -0.372315383,
    -1.36579176,  -1.16678723,  -1.07924557,  1.36769734,  0.365154382,  -0.108672623,
};
static const float lp_x[] = {
    -0.851800919, 1.33475149,   1.48871803,  -1.63147366, 0, 0, 0, 0,
    -0.88282162,  -0.276739925, 0.157785997, -1.61773276,
};
static const double lp_want_2[] = {
    -0.313443668, 0.491158666,  0.547814908,  -0.600345783, 0, 0, 0, 0,
    -0.472028642, -0.147967798, 0.0843652989, -0.864972247,
};
static const double lp_want_1[] = {
    -0.491058371, 0.828270928,  0.904169079,  -0.5021145, 0, 0, 0, 0,
    -0.508941629, -0.171729072, 0.0958309205, -0.4978855,
};

static void test_batchnorm(void **state)
{
    (void)state;
    int64_t d[4] = {2, 3, 2, 2}, c3 = 3;
    for (int eps = 0; eps < 2; eps++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_BATCH_NORMALIZATION, 5, eps ? 3 : 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, d, bn_x);
        kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 1, &c3, bn_s);
        kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 1, &c3, bn_b);
        kh_in(&t, 3, SYNAP_DTYPE_FLOAT32, 1, &c3, bn_mean);
        kh_in(&t, 4, SYNAP_DTYPE_FLOAT32, 1, &c3, bn_var);
        if (eps) synap_node_set_float(t.g, t.node, "epsilon", 0.01f);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], 4, d);
        kh_expect_close(&t.out[0], eps ? bn_want_eps : bn_want, 24, 1e-5, 1e-6);
        if (eps) {
            /* Listed running statistics stay what they were. */
            assert_memory_equal(t.out[1].data, bn_mean, sizeof bn_mean);
            assert_memory_equal(t.out[2].data, bn_var, sizeof bn_var);
        }
        synap_node_set_int(t.g, t.node, "training_mode", 1);
        kh_expect_error(&t, "training_mode=1 is not supported: synap runs inference only");
        synap_node_set_int(t.g, t.node, "training_mode", 0);
        int64_t c4 = 4;
        kh_in(&t, 3, SYNAP_DTYPE_FLOAT32, 1, &c4, bn_x);
        kh_expect_error(&t, "input 3 (input_mean): expected shape [3], got [4]");
        kh_free(&t);
    }
}

static void test_instancenorm(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 5}, c3 = 3;
    struct kh t;
    kh_new(&t, SYNAP_OP_INSTANCE_NORMALIZATION, 3, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, in_x);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 1, &c3, in_s);
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 1, &c3, in_b);
    synap_node_set_float(t.g, t.node, "epsilon", 0.1f);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], in_want, 30, 1e-5, 1e-6);
    assert_int_equal(kh_run_threads(&t, 4), 0);
    kh_free(&t);
}

static void test_layernorm(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4}, d4 = 4, d34[2] = {3, 4}, d14[2] = {1, 4};
    /* axis -1 (default) with all three outputs */
    struct kh t;
    kh_new(&t, SYNAP_OP_LAYER_NORMALIZATION, 3, 3);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, ln_x);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 1, &d4, ln_w4);
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 1, &d4, ln_b4);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], ln_want_a, 24, 1e-5, 1e-6);
    int64_t md[3] = {2, 3, 1};
    kh_expect_dims(&t.out[1], 3, md);
    kh_expect_dims(&t.out[2], 3, md);
    assert_int_equal(t.out[2].dtype, SYNAP_DTYPE_FLOAT32);
    kh_expect_close(&t.out[1], ln_mean_a, 6, 1e-5, 1e-6);
    kh_expect_close(&t.out[2], ln_inv_a, 6, 1e-5, 1e-6);
    kh_free(&t);
    /* axis 1 without bias */
    kh_new(&t, SYNAP_OP_LAYER_NORMALIZATION, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, ln_x);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, d34, ln_w34);
    synap_node_set_int(t.g, t.node, "axis", 1);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], ln_want_b, 24, 1e-5, 1e-6);
    /* a scale that broadcasts: [1, 4] over [3, 4] */
    kh_free(&t);
    kh_new(&t, SYNAP_OP_LAYER_NORMALIZATION, 3, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, ln_x);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, d14, ln_w14);
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 1, &d4, ln_b4);
    synap_node_set_int(t.g, t.node, "axis", -2);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], ln_want_c, 24, 1e-5, 1e-6);
    assert_int_equal(kh_run_threads(&t, 4), 0);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, d34, ln_w34);
    synap_node_set_int(t.g, t.node, "axis", 2);
    kh_expect_error(&t, "input 1: shape [3, 4] does not broadcast to X's normalized dims [4]");
    kh_free(&t);
}

static void test_lrn(void **state)
{
    (void)state;
    int64_t d[4] = {1, 5, 2, 2};
    for (int k = 0; k < 2; k++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_LRN, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, d, lrn_x);
        synap_node_set_int(t.g, t.node, "size", k ? 4 : 3);
        if (k) {
            synap_node_set_float(t.g, t.node, "alpha", 0.5f);
            synap_node_set_float(t.g, t.node, "beta", 0.6f);
            synap_node_set_float(t.g, t.node, "bias", 2.0f);
        }
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_close(&t.out[0], k ? lrn_want_4 : lrn_want_3, 20, 1e-5, 1e-6);
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_LRN, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, d, lrn_x);
    kh_expect_error(&t, "attribute 'size' is required");
    kh_free(&t);
}

static void test_mvn(void **state)
{
    (void)state;
    int64_t d[4] = {2, 3, 2, 2}, ax1 = 1;
    for (int k = 0; k < 2; k++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_MEAN_VARIANCE_NORMALIZATION, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 4, d, mvn_x);
        if (k) synap_node_set_ints(t.g, t.node, "axes", &ax1, 1);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_close(&t.out[0], k ? mvn_want_1 : mvn_want_def, 24, 1e-5, 1e-6);
        kh_free(&t);
    }
}

static void test_lpnorm(void **state)
{
    (void)state;
    int64_t d[2] = {3, 4};
    for (int k = 0; k < 2; k++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_LP_NORMALIZATION, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, lp_x);
        if (k) {
            synap_node_set_int(t.g, t.node, "p", 1);
            synap_node_set_int(t.g, t.node, "axis", 0);
        }
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_close(&t.out[0], k ? lp_want_1 : lp_want_2, 12, 1e-5, 1e-6);
        synap_node_set_int(t.g, t.node, "p", 3);
        kh_expect_error(&t, "attribute 'p' must be 1 or 2, got 3");
        kh_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm), cmocka_unit_test(test_instancenorm),
        cmocka_unit_test(test_layernorm), cmocka_unit_test(test_lrn),
        cmocka_unit_test(test_mvn),       cmocka_unit_test(test_lpnorm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
