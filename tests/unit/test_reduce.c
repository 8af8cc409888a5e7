/* Reduce*, ArgMax/ArgMin, TopK and CumSum against numpy golden values.
 * Golden arrays were generated with numpy (float64 math on float32 inputs);
 * float32 outputs are compared with rtol 1e-5, atol 1e-6. */
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

struct red_case {
    enum synap_op op;
    int naxes;
    int64_t axes[2];
    int keepdims;
    const float *x;
    int rank;
    int64_t dims[3];
    const double *want;
    int out_rank;
    int64_t out_dims[3];
};

static const float x322[] = {
    -0.501839519, 1.80285728, 0.927975774, 0.394633949, -1.37592542, -1.37602186,
    -1.76766551,  1.46470463, 0.404460043, 0.832290292, -1.91766202, 1.87963939,
};
static const float xp345[] = {
    1.7486639,   0.818508685, 0.772737443, 0.775106788, 0.95636338,  1.28713465,  1.14791751,
    0.936843693, 1.41777933,  0.709240794, 0.938216984, 1.04954278,  1.18410492,  1.67776394,
    0.799510658, 1.2713517,   1.38862181,  0.569675624, 1.41131723,  0.75578618,  0.597577393,
    1.92332828,  1.94844806,  1.71259606,  0.956920683, 0.646508157, 1.52634954,  1.16022873,
    0.683057368, 1.24276531,  0.551582754, 1.86398065,  0.888169944, 1.49378347,  0.967566609,
    1.28010201,  1.32006538,  0.777281702, 1.95437694,  1.66269922,  1.90924847,  1.84224105,
    1.39684999,  1.88281131,  0.632738769, 0.79397428,  0.567840934, 0.987995505, 1.08301592,
    0.907023549, 1.74310625,  1.03513002,  0.921401739, 1.31404412,  0.711386323, 1.70329547,
    0.611825943, 1.98033035,  1.65836716,  0.79807353,
};
static const double want0[] = {
    0.213068128, 1.09874561, -1.57179546, 0.0443413854, -0.756600991, 1.35596484,
};
static const double want1[] = {
    0.213068128, 1.09874561, -1.57179546, 0.0443413854, -0.756600991, 1.35596484,
};
static const double want2[] = {
    0.650508881, 0.661304861, -1.37597364, -0.151480436, 0.618375167, -0.0190113187,
};
static const double want3[] = {
    0.0639539187,
};
static const double want4[] = {
    0.0639539187,
};
static const double want5[] = {
    -0.0356965313,
    0.163604369,
};
static const double want6[] = {
    -0.705109442,
    0.83301728,
};
static const double want7[] = {
    0.927975774, 1.80285728, -1.37592542, 1.46470463, 0.404460043, 1.87963939,
};
static const double want8[] = {
    0.927975774, 1.80285728, -1.37592542, 1.46470463, 0.404460043, 1.87963939,
};
static const double want9[] = {
    1.80285728, 0.927975774, -1.37592542, 1.46470463, 0.832290292, 1.87963939,
};
static const double want10[] = {
    1.87963939,
};
static const double want11[] = {
    1.87963939,
};
static const double want12[] = {
    1.80285728,
    1.87963939,
};
static const double want13[] = {
    0.927975774,
    1.87963939,
};
static const double want14[] = {
    -0.501839519, 0.394633949, -1.76766551, -1.37602186, -1.91766202, 0.832290292,
};
static const double want15[] = {
    -0.501839519, 0.394633949, -1.76766551, -1.37602186, -1.91766202, 0.832290292,
};
static const double want16[] = {
    -0.501839519, 0.394633949, -1.37602186, -1.76766551, 0.404460043, -1.91766202,
};
static const double want17[] = {
    -1.91766202,
};
static const double want18[] = {
    -1.91766202,
};
static const double want19[] = {
    -1.37602186,
    -1.91766202,
};
static const double want20[] = {
    -1.91766202,
    -1.37602186,
};
static const double want21[] = {
    0.426136255, 2.19749123, -3.14359093, 0.0886827707, -1.51320198, 2.71192968,
};
static const double want22[] = {
    0.426136255, 2.19749123, -3.14359093, 0.0886827707, -1.51320198, 2.71192968,
};
static const double want23[] = {
    1.30101776, 1.32260972, -2.75194728, -0.302960873, 1.23675033, -0.0380226374,
};
static const double want24[] = {
    0.767447025,
};
static const double want25[] = {
    0.767447025,
};
static const double want26[] = {
    -0.214179188,
    0.981626213,
};
static const double want27[] = {
    -4.23065665,
    4.99810368,
};
static const double want28[] = {
    -0.465694916, 0.711468687, 2.43217591, -2.0154656, -0.775617664, 1.56440561,
};
static const double want29[] = {
    -0.465694916, 0.711468687, 2.43217591, -2.0154656, -0.775617664, 1.56440561,
};
static const double want30[] = {
    -0.904745029, 0.366210744, 1.89330346, -2.58910785, 0.336628167, -3.60451307,
};
static const double want31[] = {
    -1.97071905,
};
static const double want32[] = {
    -1.97071905,
};
static const double want33[] = {
    -0.57662954,
    3.41765192,
};
static const double want34[] = {
    0.878504862,
    -2.24326482,
};
static const double want35[] = {
    1.42981529, 2.19749123, 3.14359093, 2.84072649, 2.32212207, 2.71192968,
};
static const double want36[] = {
    1.42981529, 2.19749123, 3.14359093, 2.84072649, 2.32212207, 2.71192968,
};
static const double want37[] = {
    2.3046968, 1.32260972, 2.75194728, 3.23237014, 1.23675033, 3.79730141,
};
static const double want38[] = {
    14.6456757,
};
static const double want39[] = {
    14.6456757,
};
static const double want40[] = {
    6.29339442,
    8.35228127,
};
static const double want41[] = {
    6.89552829,
    7.7501474,
};
static const double want42[] = {
    1.05497959, 1.84554337, 2.24004734, 2.00967555, 1.9598509, 2.05566324,
};
static const double want43[] = {
    1.05497959, 1.84554337, 2.24004734, 2.00967555, 1.9598509, 2.05566324,
};
static const double want44[] = {
    1.87139982, 1.0084022, 1.94592059, 2.29564827, 0.925362122, 2.68523218,
};
static const double want45[] = {
    4.65213791,
};
static const double want46[] = {
    4.65213791,
};
static const double want47[] = {
    2.85395152,
    3.67387369,
};
static const double want48[] = {
    3.15781722,
    3.4162227,
};
static const double want49[] = {
    1.11298194, 3.40603032, 5.01781211, 4.03879583, 3.84101557, 4.22575136,
};
static const double want50[] = {
    1.11298194, 3.40603032, 5.01781211, 4.03879583, 3.84101557, 4.22575136,
};
static const double want51[] = {
    3.50213727, 1.01687499, 3.78660693, 5.270001, 0.856295056, 7.21047187,
};
static const double want52[] = {
    21.6423871,
};
static const double want53[] = {
    21.6423871,
};
static const double want54[] = {
    8.14503926,
    13.4973479,
};
static const double want55[] = {
    9.97180961,
    11.6705775,
};
static const double want56[] = {
    1.65734525, 1.48264736, 1.2422397,  1.66429862, 1.16966114, 1.12355538, 1.89216631, 1.56321143,
    1.76538364, 1.57483649, 1.81639102, 1.40045314, 1.66517108, 1.78141254, 1.11488653,
};
static const double want57[] = {
    1.65734525, 1.48264736, 1.2422397,  1.66429862, 1.16966114, 1.12355538, 1.89216631, 1.56321143,
    1.76538364, 1.57483649, 1.81639102, 1.40045314, 1.66517108, 1.78141254, 1.11488653,
};
static const double want58[] = {
    1.62361301, 1.70455098, 1.73150319, 1.68579739, 1.96555457, 1.65992361,
    1.75181963, 1.94512774, 2.03651963, 1.46783983, 1.74485451, 1.90982283,
};
static const double want59[] = {
    4.26625484,
};
static const double want60[] = {
    4.26625484,
};
static const double want61[] = {
    3.07344248,
    3.22515162,
    3.19788508,
};
static const double want62[] = {
    2.6721302, 2.71438692, 2.60447089, 2.83697213, 2.40695187,
};
static const double want63[] = {
    1.14256535, 2.02165334, -0.859587163, 1.52144713, 0.498009823, 2.18038572,
};
static const double want64[] = {
    1.14256535, 2.02165334, -0.859587163, 1.52144713, 0.498009823, 2.18038572,
};
static const double want65[] = {
    1.89797567, 1.38959513, -0.68282646, 1.50340969, 1.33422979, 1.90182273,
};
static const double want66[] = {
    3.26510822,
};
static const double want67[] = {
    3.26510822,
};
static const double want68[] = {
    2.39558634,
    2.72184221,
};
static const double want69[] = {
    1.64934685,
    3.04353931,
};
static const struct red_case red_cases[] = {
    {SYNAP_OP_REDUCE_MEAN, 1, {1}, 1, x322, 3, {3, 2, 2}, want0, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_MEAN, 1, {1}, 0, x322, 3, {3, 2, 2}, want1, 2, {3, 2}},
    {SYNAP_OP_REDUCE_MEAN, 1, {-1}, 1, x322, 3, {3, 2, 2}, want2, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_MEAN, 0, {0}, 1, x322, 3, {3, 2, 2}, want3, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_MEAN, 0, {0}, 0, x322, 3, {3, 2, 2}, want4, 0, {0}},
    {SYNAP_OP_REDUCE_MEAN, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want5, 1, {2}},
    {SYNAP_OP_REDUCE_MEAN, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want6, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_MAX, 1, {1}, 1, x322, 3, {3, 2, 2}, want7, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_MAX, 1, {1}, 0, x322, 3, {3, 2, 2}, want8, 2, {3, 2}},
    {SYNAP_OP_REDUCE_MAX, 1, {-1}, 1, x322, 3, {3, 2, 2}, want9, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_MAX, 0, {0}, 1, x322, 3, {3, 2, 2}, want10, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_MAX, 0, {0}, 0, x322, 3, {3, 2, 2}, want11, 0, {0}},
    {SYNAP_OP_REDUCE_MAX, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want12, 1, {2}},
    {SYNAP_OP_REDUCE_MAX, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want13, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_MIN, 1, {1}, 1, x322, 3, {3, 2, 2}, want14, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_MIN, 1, {1}, 0, x322, 3, {3, 2, 2}, want15, 2, {3, 2}},
    {SYNAP_OP_REDUCE_MIN, 1, {-1}, 1, x322, 3, {3, 2, 2}, want16, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_MIN, 0, {0}, 1, x322, 3, {3, 2, 2}, want17, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_MIN, 0, {0}, 0, x322, 3, {3, 2, 2}, want18, 0, {0}},
    {SYNAP_OP_REDUCE_MIN, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want19, 1, {2}},
    {SYNAP_OP_REDUCE_MIN, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want20, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_SUM, 1, {1}, 1, x322, 3, {3, 2, 2}, want21, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_SUM, 1, {1}, 0, x322, 3, {3, 2, 2}, want22, 2, {3, 2}},
    {SYNAP_OP_REDUCE_SUM, 1, {-1}, 1, x322, 3, {3, 2, 2}, want23, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_SUM, 0, {0}, 1, x322, 3, {3, 2, 2}, want24, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_SUM, 0, {0}, 0, x322, 3, {3, 2, 2}, want25, 0, {0}},
    {SYNAP_OP_REDUCE_SUM, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want26, 1, {2}},
    {SYNAP_OP_REDUCE_SUM, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want27, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_PROD, 1, {1}, 1, x322, 3, {3, 2, 2}, want28, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_PROD, 1, {1}, 0, x322, 3, {3, 2, 2}, want29, 2, {3, 2}},
    {SYNAP_OP_REDUCE_PROD, 1, {-1}, 1, x322, 3, {3, 2, 2}, want30, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_PROD, 0, {0}, 1, x322, 3, {3, 2, 2}, want31, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_PROD, 0, {0}, 0, x322, 3, {3, 2, 2}, want32, 0, {0}},
    {SYNAP_OP_REDUCE_PROD, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want33, 1, {2}},
    {SYNAP_OP_REDUCE_PROD, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want34, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_L1, 1, {1}, 1, x322, 3, {3, 2, 2}, want35, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_L1, 1, {1}, 0, x322, 3, {3, 2, 2}, want36, 2, {3, 2}},
    {SYNAP_OP_REDUCE_L1, 1, {-1}, 1, x322, 3, {3, 2, 2}, want37, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_L1, 0, {0}, 1, x322, 3, {3, 2, 2}, want38, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_L1, 0, {0}, 0, x322, 3, {3, 2, 2}, want39, 0, {0}},
    {SYNAP_OP_REDUCE_L1, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want40, 1, {2}},
    {SYNAP_OP_REDUCE_L1, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want41, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_L2, 1, {1}, 1, x322, 3, {3, 2, 2}, want42, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_L2, 1, {1}, 0, x322, 3, {3, 2, 2}, want43, 2, {3, 2}},
    {SYNAP_OP_REDUCE_L2, 1, {-1}, 1, x322, 3, {3, 2, 2}, want44, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_L2, 0, {0}, 1, x322, 3, {3, 2, 2}, want45, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_L2, 0, {0}, 0, x322, 3, {3, 2, 2}, want46, 0, {0}},
    {SYNAP_OP_REDUCE_L2, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want47, 1, {2}},
    {SYNAP_OP_REDUCE_L2, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want48, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 1, {1}, 1, x322, 3, {3, 2, 2}, want49, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 1, {1}, 0, x322, 3, {3, 2, 2}, want50, 2, {3, 2}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 1, {-1}, 1, x322, 3, {3, 2, 2}, want51, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 0, {0}, 1, x322, 3, {3, 2, 2}, want52, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 0, {0}, 0, x322, 3, {3, 2, 2}, want53, 0, {0}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want54, 1, {2}},
    {SYNAP_OP_REDUCE_SUM_SQUARE, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want55, 3, {1, 1, 2}},
    {SYNAP_OP_REDUCE_LOG_SUM, 1, {1}, 1, xp345, 3, {3, 4, 5}, want56, 3, {3, 1, 5}},
    {SYNAP_OP_REDUCE_LOG_SUM, 1, {1}, 0, xp345, 3, {3, 4, 5}, want57, 2, {3, 5}},
    {SYNAP_OP_REDUCE_LOG_SUM, 1, {-1}, 1, xp345, 3, {3, 4, 5}, want58, 3, {3, 4, 1}},
    {SYNAP_OP_REDUCE_LOG_SUM, 0, {0}, 1, xp345, 3, {3, 4, 5}, want59, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_LOG_SUM, 0, {0}, 0, xp345, 3, {3, 4, 5}, want60, 0, {0}},
    {SYNAP_OP_REDUCE_LOG_SUM, 2, {2, 1}, 0, xp345, 3, {3, 4, 5}, want61, 1, {3}},
    {SYNAP_OP_REDUCE_LOG_SUM, 2, {0, 1}, 1, xp345, 3, {3, 4, 5}, want62, 3, {1, 1, 5}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 1, {1}, 1, x322, 3, {3, 2, 2}, want63, 3, {3, 1, 2}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 1, {1}, 0, x322, 3, {3, 2, 2}, want64, 2, {3, 2}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 1, {-1}, 1, x322, 3, {3, 2, 2}, want65, 3, {3, 2, 1}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 0, {0}, 1, x322, 3, {3, 2, 2}, want66, 3, {1, 1, 1}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 0, {0}, 0, x322, 3, {3, 2, 2}, want67, 0, {0}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 2, {2, 0}, 0, x322, 3, {3, 2, 2}, want68, 1, {2}},
    {SYNAP_OP_REDUCE_LOG_SUM_EXP, 2, {0, 1}, 1, x322, 3, {3, 2, 2}, want69, 3, {1, 1, 2}},
};
static const float xa[] = {
    2, 2, 1, 3, 5, 5, 0, -1, -1, 7, 7, 7,
};
static const int64_t argmax_first_0[] = {
    3,
    3,
    3,
};
static const int64_t argmax_last_0[] = {
    3,
    3,
    3,
};
static const int64_t argmax_first_1[] = {
    0,
    1,
    0,
    0,
};
static const int64_t argmax_last_1[] = {
    1,
    2,
    0,
    2,
};
static const int64_t argmin_first_0[] = {
    2,
    2,
    2,
};
static const int64_t argmin_last_0[] = {
    2,
    2,
    2,
};
static const int64_t argmin_first_1[] = {
    2,
    0,
    1,
    0,
};
static const int64_t argmin_last_1[] = {
    2,
    0,
    2,
    2,
};
static const float xt[] = {
    1, 3, 3, 2, 3, 5, 4, 4, 0, 9,
};
static const int64_t topk_idx_1[] = {
    1, 2, 4, 4, 0, 1,
};
static const double topk_val_1[] = {
    3, 3, 3, 9, 5, 4,
};
static const int64_t topk_idx_0[] = {
    0, 3, 1, 3, 1, 2,
};
static const double topk_val_0[] = {
    1, 2, 3, 0, 4, 4,
};
static const float xt0[] = {
    -0.988955736, 0.630922854,  0.413714677, 0.458014339, 0.542540669,  -0.85191071,
    -0.283068538, -0.768261909, 0.726206839, 0.246596247, -0.338203937, -0.87288332,
};
static const int64_t topk0_idx[] = {
    1, 0, 2, 3, 1, 0,
};
static const double topk0_val[] = {
    0.458014339, 0.630922854, 0.726206839, 0.246596247, 0.542540669, 0.413714677,
};
static const float xc[] = {
    -1.13410604, -1.04890013, 1.37763703, 0.825344801, 2.32327652, -0.166710451,
};
static const double cumsum_0_0_0[] = {
    -1.13410604, -1.04890013, 1.37763703, -0.308761239, 1.27437639, 1.21092658,
};
static const double cumsum_0_0_1[] = {
    -0.308761239, 1.27437639, 1.21092658, 0.825344801, 2.32327652, -0.166710451,
};
static const double cumsum_0_1_0[] = {
    0, 0, 0, -1.13410604, -1.04890013, 1.37763703,
};
static const double cumsum_0_1_1[] = {
    0.825344801, 2.32327652, -0.166710451, 0, 0, 0,
};
static const double cumsum_1_0_0[] = {
    -1.13410604, -2.18300617, -0.805369139, 0.825344801, 3.14862132, 2.98191087,
};
static const double cumsum_1_0_1[] = {
    -0.805369139, 0.328736901, 1.37763703, 2.98191087, 2.15656607, -0.166710451,
};
static const double cumsum_1_1_0[] = {
    0, -1.13410604, -2.18300617, 0, 0.825344801, 3.14862132,
};
static const double cumsum_1_1_1[] = {
    0.328736901, 1.37763703, 0, 2.15656607, -0.166710451, 0,
};
/* A reduction over `axes`: an attribute, or the constant input 1 of ReduceSum. */
static void red_new(struct kh *t, enum synap_op op, const int64_t *axes, const int64_t *naxes)
{
    bool sum = op == SYNAP_OP_REDUCE_SUM;
    kh_new(t, op, sum ? 2 : 1, 1);
    if (sum)
        kh_in(t, 1, SYNAP_DTYPE_INT64, 1, naxes, axes);
    else
        synap_node_set_ints(t->g, t->node, "axes", axes, (size_t)*naxes);
}

static void test_reduce_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof red_cases / sizeof red_cases[0]; k++) {
        const struct red_case *rc = &red_cases[k];
        /* ReduceSum takes axes as a constant input, the others as an attribute. */
        bool sum = rc->op == SYNAP_OP_REDUCE_SUM;
        struct kh t;
        kh_new(&t, rc->op, sum && rc->naxes ? 2 : 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, rc->rank, rc->dims, rc->x);
        int64_t na = rc->naxes;
        if (sum && rc->naxes)
            kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &na, rc->axes);
        else if (rc->naxes)
            synap_node_set_ints(t.g, t.node, "axes", rc->axes, (size_t)rc->naxes);
        synap_node_set_int(t.g, t.node, "keepdims", rc->keepdims);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], rc->out_rank, rc->out_dims);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_FLOAT32);
        kh_expect_close(&t.out[0], rc->want, synap_shape_nelem(rc->out_rank, rc->out_dims), 1e-5,
                        1e-6);
        kh_free(&t);
    }
}

static void test_reduce_sum_noop_and_int32_axes(void **state)
{
    (void)state;
    int64_t d[3] = {3, 2, 2};
    /* Axes omitted with noop_with_empty_axes: the input unchanged. */
    struct kh t;
    kh_new(&t, SYNAP_OP_REDUCE_SUM, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x322);
    synap_node_set_int(t.g, t.node, "noop_with_empty_axes", 1);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_dims(&t.out[0], 3, d);
    assert_memory_equal(t.out[0].data, x322, sizeof x322);
    kh_free(&t);
    /* An empty axes input without noop reduces everything. */
    kh_new(&t, SYNAP_OP_REDUCE_SUM, 2, 1);
    int64_t zero = 0;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x322);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &zero, NULL);
    synap_node_set_int(t.g, t.node, "keepdims", 0);
    t.in[1].data = (void *)&zero; /* non-NULL: a constant with no elements */
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].rank, 0);
    double total = 0;
    for (int i = 0; i < 12; i++)
        total += x322[i];
    kh_expect_close(&t.out[0], &total, 1, 1e-5, 1e-6);
    kh_free(&t);
    /* int32 axes. */
    kh_new(&t, SYNAP_OP_REDUCE_SUM, 2, 1);
    int32_t ax[1] = {-2};
    int64_t one = 1;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x322);
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 1, &one, ax);
    assert_int_equal(kh_run(&t, NULL), 0);
    int64_t od[3] = {3, 1, 2};
    kh_expect_dims(&t.out[0], 3, od);
    double w[6];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            w[i * 2 + j] = (double)x322[i * 4 + j] + x322[i * 4 + 2 + j];
    kh_expect_close(&t.out[0], w, 6, 1e-5, 1e-6);
    kh_free(&t);
}

/* Reductions over an empty set give the identity of the operation. */
static void test_reduce_empty_set(void **state)
{
    (void)state;
    static const struct {
        enum synap_op op;
        double want;
    } cases[] = {
        {SYNAP_OP_REDUCE_SUM, 0},
        {SYNAP_OP_REDUCE_PROD, 1},
        {SYNAP_OP_REDUCE_MAX, -INFINITY},
        {SYNAP_OP_REDUCE_MIN, INFINITY},
        {SYNAP_OP_REDUCE_MEAN, NAN},
        {SYNAP_OP_REDUCE_L1, 0},
        {SYNAP_OP_REDUCE_L2, 0},
        {SYNAP_OP_REDUCE_SUM_SQUARE, 0},
        {SYNAP_OP_REDUCE_LOG_SUM, -INFINITY},
        {SYNAP_OP_REDUCE_LOG_SUM_EXP, -INFINITY},
    };
    int64_t d[2] = {2, 0}, axis = 1, one = 1;
    float dummy = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct kh t;
        red_new(&t, cases[k].op, &axis, &one);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, &dummy);
        synap_node_set_int(t.g, t.node, "keepdims", 0);
        assert_int_equal(kh_run(&t, NULL), 0);
        double want[2] = {cases[k].want, cases[k].want};
        kh_expect_close(&t.out[0], want, 2, 0, 0);
        kh_free(&t);
    }
}

static void test_reduce_int_and_scalar(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3}, axis = 1, one = 1;
    int32_t xi[6] = {7, -2, 4, 100000, 3, -8};
    static const struct {
        enum synap_op op;
        int64_t want[2];
    } cases[] = {
        {SYNAP_OP_REDUCE_SUM, {9, 99995}},       {SYNAP_OP_REDUCE_MEAN, {3, 33331}},
        {SYNAP_OP_REDUCE_MAX, {7, 100000}},      {SYNAP_OP_REDUCE_MIN, {-2, -8}},
        {SYNAP_OP_REDUCE_PROD, {-56, -2400000}}, {SYNAP_OP_REDUCE_L1, {13, 100011}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct kh t;
        red_new(&t, cases[k].op, &axis, &one);
        kh_in(&t, 0, SYNAP_DTYPE_INT32, 2, d, xi);
        synap_node_set_int(t.g, t.node, "keepdims", 0);
        assert_int_equal(kh_run(&t, NULL), 0);
        assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT32);
        kh_expect_ints(&t.out[0], cases[k].want, 2);
        kh_free(&t);
    }
    /* A scalar reduces over no axes to itself. */
    struct kh t;
    kh_new(&t, SYNAP_OP_REDUCE_L2, 1, 1);
    float s = -3.5f;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 0, NULL, &s);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].rank, 0);
    double w = 3.5;
    kh_expect_close(&t.out[0], &w, 1, 0, 0);
    kh_free(&t);
}

static void test_reduce_errors(void **state)
{
    (void)state;
    int64_t d[3] = {3, 2, 2};
    int64_t dup[2] = {1, -2}, big[1] = {3};
    struct kh t;
    kh_new(&t, SYNAP_OP_REDUCE_MEAN, 1, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x322);
    synap_node_set_ints(t.g, t.node, "axes", dup, 2);
    kh_expect_error(&t, "axes: axis -2 given twice");
    synap_node_set_ints(t.g, t.node, "axes", big, 1);
    kh_expect_error(&t, "axis 3 out of range for rank 3");
    kh_free(&t);
    /* ReduceSum's axes decide the shape: they must be constant. */
    kh_new(&t, SYNAP_OP_REDUCE_SUM, 2, 1);
    int64_t one = 1;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, d, x322);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, big);
    t.hidden |= 1u << 1;
    kh_expect_error(&t, "input 1 (axes) must be a constant (the graph must have static shapes)");
    kh_free(&t);
    kh_new(&t, SYNAP_OP_REDUCE_SUM, 1, 1);
    bool b[2] = {true, false};
    kh_in(&t, 0, SYNAP_DTYPE_BOOL, 1, (int64_t[]){2}, b);
    kh_expect_error(&t, "input 0: unsupported dtype bool");
    kh_free(&t);
}

static void test_reduce_threads(void **state)
{
    (void)state;
    enum { R = 300, C = 257 };
    float *x = synap_xmalloc(R * C * sizeof *x);
    for (int i = 0; i < R * C; i++)
        x[i] = sinf((float)i * 0.37f) * 10.0f;
    int64_t d[2] = {R, C}, ax0 = 0, ax1 = 1;
    for (int a = 0; a < 2; a++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_REDUCE_LOG_SUM_EXP, 1, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, x);
        synap_node_set_ints(t.g, t.node, "axes", a ? &ax1 : &ax0, 1);
        assert_int_equal(kh_run_threads(&t, 4), 0);
        kh_free(&t);
    }
    free(x);
}

static void test_argmax_argmin(void **state)
{
    (void)state;
    int64_t d[2] = {4, 3};
    const int64_t *want[2][2][2] = {
        {{argmax_first_0, argmax_last_0}, {argmax_first_1, argmax_last_1}},
        {{argmin_first_0, argmin_last_0}, {argmin_first_1, argmin_last_1}}};
    for (int m = 0; m < 2; m++)
        for (int ax = 0; ax < 2; ax++)
            for (int last = 0; last < 2; last++) {
                struct kh t;
                kh_new(&t, m ? SYNAP_OP_ARG_MIN : SYNAP_OP_ARG_MAX, 1, 1);
                kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, xa);
                synap_node_set_int(t.g, t.node, "axis", ax ? -1 : 0);
                synap_node_set_int(t.g, t.node, "keepdims", ax);
                synap_node_set_int(t.g, t.node, "select_last_index", last);
                assert_int_equal(kh_run(&t, NULL), 0);
                assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT64);
                int64_t od[2] = {ax ? 4 : 3, 1};
                kh_expect_dims(&t.out[0], ax ? 2 : 1, od);
                kh_expect_ints(&t.out[0], want[m][ax][last], ax ? 4 : 3);
                kh_free(&t);
            }
    /* NaN wins like numpy's argmax. */
    struct kh t;
    kh_new(&t, SYNAP_OP_ARG_MAX, 1, 1);
    float xn[4] = {1, NAN, 5, NAN};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 1, (int64_t[]){4}, xn);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_ints(&t.out[0], (int64_t[]){1}, 1);
    kh_free(&t);
}

static void test_topk(void **state)
{
    (void)state;
    int64_t d[2] = {2, 5}, k = 3, one = 1;
    for (int largest = 0; largest < 2; largest++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_TOP_K, 2, 2);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, xt);
        kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, &k);
        synap_node_set_int(t.g, t.node, "largest", largest);
        assert_int_equal(kh_run(&t, NULL), 0);
        int64_t od[2] = {2, 3};
        kh_expect_dims(&t.out[0], 2, od);
        kh_expect_dims(&t.out[1], 2, od);
        kh_expect_close(&t.out[0], largest ? topk_val_1 : topk_val_0, 6, 1e-7, 0);
        kh_expect_ints(&t.out[1], largest ? topk_idx_1 : topk_idx_0, 6);
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_TOP_K, 2, 2);
    int64_t d0[2] = {4, 3}, k2 = 2;
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d0, xt0);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, &k2);
    synap_node_set_int(t.g, t.node, "axis", 0);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_close(&t.out[0], topk0_val, 6, 1e-7, 0);
    kh_expect_ints(&t.out[1], topk0_idx, 6);
    int64_t k9 = 9;
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, &k9);
    kh_expect_error(&t, "K = 9 is out of range [0, 4] for axis 0");
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, &k2);
    t.hidden |= 1u << 1;
    kh_expect_error(&t, "input 1 (K) must be a constant (the graph must have static shapes)");
    kh_free(&t);
    /* int64 values beyond double precision keep their order. */
    kh_new(&t, SYNAP_OP_TOP_K, 2, 2);
    int64_t xi[3] = {INT64_MAX - 1, INT64_MAX, INT64_MAX - 2}, three = 3;
    kh_in(&t, 0, SYNAP_DTYPE_INT64, 1, &three, xi);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 1, &one, &k2);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_ints(&t.out[0], (int64_t[]){INT64_MAX, INT64_MAX - 1}, 2);
    kh_expect_ints(&t.out[1], (int64_t[]){1, 0}, 2);
    kh_free(&t);
}

static void test_cumsum(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    const double *want[2][2][2] = {{{cumsum_0_0_0, cumsum_0_0_1}, {cumsum_0_1_0, cumsum_0_1_1}},
                                   {{cumsum_1_0_0, cumsum_1_0_1}, {cumsum_1_1_0, cumsum_1_1_1}}};
    for (int ax = 0; ax < 2; ax++)
        for (int excl = 0; excl < 2; excl++)
            for (int rev = 0; rev < 2; rev++) {
                struct kh t;
                kh_new(&t, SYNAP_OP_CUM_SUM, 2, 1);
                int32_t axis = ax ? -1 : 0; /* int32, rank 0 */
                kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, d, xc);
                kh_in(&t, 1, SYNAP_DTYPE_INT32, 0, NULL, &axis);
                if (rev) t.hidden |= 1u << 1; /* the axis may be known only at run time */
                synap_node_set_int(t.g, t.node, "exclusive", excl);
                synap_node_set_int(t.g, t.node, "reverse", rev);
                assert_int_equal(kh_run(&t, NULL), 0);
                kh_expect_dims(&t.out[0], 2, d);
                kh_expect_close(&t.out[0], want[ax][excl][rev], 6, 1e-5, 1e-6);
                kh_free(&t);
            }
    struct kh t;
    kh_new(&t, SYNAP_OP_CUM_SUM, 2, 1);
    int64_t xi[5] = {1, 2, 3, 4, 5}, five = 5, axis = 0;
    kh_in(&t, 0, SYNAP_DTYPE_INT64, 1, &five, xi);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 0, NULL, &axis);
    synap_node_set_int(t.g, t.node, "exclusive", 1);
    synap_node_set_int(t.g, t.node, "reverse", 1);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_ints(&t.out[0], (int64_t[]){14, 12, 9, 5, 0}, 5);
    axis = 1;
    kh_expect_error(&t, "axis 1 out of range for rank 1");
    kh_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_table),
        cmocka_unit_test(test_reduce_sum_noop_and_int32_axes),
        cmocka_unit_test(test_reduce_empty_set),
        cmocka_unit_test(test_reduce_int_and_scalar),
        cmocka_unit_test(test_reduce_errors),
        cmocka_unit_test(test_reduce_threads),
        cmocka_unit_test(test_argmax_argmin),
        cmocka_unit_test(test_topk),
        cmocka_unit_test(test_cumsum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
