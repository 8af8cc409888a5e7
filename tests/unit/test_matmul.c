/* MatMul, Gemm and Einsum against numpy golden values (np.matmul, np.einsum
 * in float64 on float32 inputs); float32 outputs within rtol 1e-5, atol 1e-5. */
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

struct mm_case {
    int ra;
    int64_t da[4];
    const float *a;
    int rb;
    int64_t db[4];
    const float *b;
    int ry;
    int64_t dy[4];
    const double *y;
};

struct ein_case {
    const char *eq;
    int nin;
    int rank[3];
    int64_t dims[3][4];
    const void *x[3];
    int ry;
    int64_t dy[4];
    const double *y;
};

static const float mm2d_a[] = {
    -1.27892125, -1.92209899,   -0.1471259, 0.899735689, -0.319185585, -0.0582916066,
    -1.94887674, -0.0505135693, 1.76722658, 1.40318036,  0.91985786,   -1.56505573,
};
static const float mm2d_b[] = {
    1.57561672,  1.428617,    -1.33965349, 0.529336035,   -1.91806555,  -1.53305089, -0.734530747,
    -1.36835074, 1.03591835,  1.27310145,  -0.621502042,  -0.724804819, -1.5533551,  -1.66418743,
    0.850903749, 0.398173571, -1.77730525, -0.0808108747, -0.393294066, 1.39191604,
};
static const double mm2d_y[] = {
    1.38127591,   -1.90771522, 4.49924724,  -2.77713236, 1.13319432,
    0.77756756,   1.08915631,  3.53874111,  3.03382108,  -1.19060943,
    -0.561532535, 3.60887516,  -5.58990652, 1.47374824,  -2.99898113,
};
static const float mm1x2_a[] = {
    0.87139672,
    0.408256203,
    0.209535286,
    1.79640961,
};
static const float mm1x2_b[] = {
    1.9466933,   -0.647783816, -1.04050124, 1.18574297,   -1.74525428, -0.541537404,
    -1.71990883, -0.722529173, -1.71846962, -0.838945329, 1.16040444,  1.62160122,
};
static const double mm1x2_y[] = {
    0.312958045,
    0.656178756,
    1.42520462,
};
static const float mm2x1_a[] = {
    1.1704855,   0.247274846, 0.464073539, -0.554065824, -1.32473075,  -0.255036265,
    0.931301355, -1.74844956, -1.91706812, 1.0821923,    -0.800191939, 0.804657102,
};
static const float mm2x1_b[] = {
    0.938670874,
    1.73161852,
    -0.39868626,
    -0.566248298,
};
static const double mm2x1_y[] = {
    1.65560543,
    -1.06635216,
    -0.0621619575,
};
static const float mm1x1_a[] = {
    1.22626722,
    1.05796444,
    0.61045897,
    1.24386632,
};
static const float mm1x1_b[] = {
    0.568859458,
    1.82977617,
    -0.664502323,
    0.953010499,
};
static const double mm1x1_y[] = {
    3.4131781,
};
static const float mmbat_a[] = {
    1.79933321, -0.662543356, 0.446527988,  -0.537319303, -0.153838828, -1.69999206,
    -1.9226265, 1.03859782,   -0.188963339, 0.491336018,  0.959806085,  -0.325346291,
};
static const float mmbat_b[] = {
    -0.529529512, -1.32388473, 1.17548966,  1.33214962,  0.936851978,  1.50117826,
    0.59222579,   0.784264684, -1.22792768, 1.07052898,  -0.663668394, -0.248163179,
    -0.724519014, 0.273158669, 0.63476938,  0.302234173, -0.727251232, -1.12798655,
};
static const double mmbat_y[] = {
    -1.31328228,  -2.59439853,  -1.48895045, -2.04557865,   1.58282035,  0.591069824,
    0.998919609,  -0.164214044, -2.04895139, -0.212417341,  1.52796719,  1.7242994,
    2.0619178,    3.64523589,   0.563263894, 0.139730286,   -2.28854302, -0.349105246,
    -0.671668551, 1.49357669,   2.18967337,  0.00186576292, 0.489881717, 0.791285131,
};
static const float mmstack_a[] = {
    1.37975407,   -0.791341245, -0.247117311, -1.6343416,    -0.796083331,  -1.65722072,
    -0.625146747, 0.837204099,  1.89587307,   0.500899374,   -0.922785819,  0.626835227,
    0.507991254,  1.30260897,   0.134775922,  1.64448667,    -0.337985337,  -0.855821311,
    0.0760309696, 1.68980098,   0.895645022,  -0.0243479963, -0.0100145889, 0.594888806,
};
static const float mmstack_b[] = {
    -0.208915353, 0.202557877, 1.88470078,   1.72965491,  1.36274171,  -1.49180698,  0.226084426,
    -0.534291148, 1.64718199,  -0.745283365, 1.72306371,  -1.0466156,  -0.318436891, 1.83985054,
    0.381946772,  1.72859454,  0.15540117,   -1.08785248, 0.851851702, 0.0862939656,
};
static const double mmstack_y[] = {
    -2.35863625, 0.105228359,   4.87984401,  -0.763860242,  2.2346024,   3.00858624,
    0.24846609,  -1.32662528,   -4.54369641, -0.0162840433, -1.64979698, 1.56048253,
    2.91747213,  2.94046125,    1.91191037,  1.02550985,    0.511893801, -1.57043745,
    4.67310991,  -0.0851654204, 4.39931749,  -0.0789276117, -2.04220872, -0.414945986,
    0.352102083, 0.860274284,   0.278843093, 1.05706954,    1.99738292,  1.28618926,
};
static const float mmbrhs_a[] = {
    0.0218926743, -1.45406199, -1.42032218, 1.71842051,  1.82423306,  1.86372364,
    -0.568843007, -1.81651914, 0.21570909,  0.945237875, 0.592185915, -1.78826857,
};
static const float mmbrhs_b[] = {
    -1.06846869,  0.823537052, -1.7796607,  1.38598788,   1.9563247,     -1.00880146,
    -1.78353882,  1.91877317,  1.06886518,  -0.183208793, -0.0869734362, 1.66201198,
    -0.576679707, -1.78728068, 0.455881327, -0.749820948,
};
static const double mmbrhs_y[] = {
    -3.2791357, 2.7327994,   -3.13894084, 1.17378334, 2.43527323, -2.5409471,
    1.75233188, -1.17067267, 1.28768781,  5.14206169, -1.0083865, 1.81395566,
};
static const float mm1x3_a[] = {
    0.726236165,
    1.79180014,
    -0.557680488,
};
static const float mm1x3_b[] = {
    -1.01200736, -1.78819251, 1.32663977, -1.68648076, 1.80870187, 0.824590504,
    1.6461314,   1.2577635,   -1.2371136, -1.29638612, 1.84555113, -0.835848093,
};
static const double mm1x3_y[] = {
    0.633439247,
    -4.78034457,
    -2.05040802,
    -0.943295322,
};
static const float mmk0_a[] = {
    0,
};
static const float mmk0_b[] = {
    0,
};
static const double mmk0_y[] = {
    0, 0, 0, 0, 0, 0,
};
static const struct mm_case mm_cases[] = {
    {2, {3, 4}, mm2d_a, 2, {4, 5}, mm2d_b, 2, {3, 5}, mm2d_y},
    {1, {4}, mm1x2_a, 2, {4, 3}, mm1x2_b, 1, {3}, mm1x2_y},
    {2, {3, 4}, mm2x1_a, 1, {4}, mm2x1_b, 1, {3}, mm2x1_y},
    {1, {4}, mm1x1_a, 1, {4}, mm1x1_b, 0, {0}, mm1x1_y},
    {4, {2, 1, 2, 3}, mmbat_a, 3, {3, 3, 2}, mmbat_b, 4, {2, 3, 2, 2}, mmbat_y},
    {3, {2, 3, 4}, mmstack_a, 2, {4, 5}, mmstack_b, 3, {2, 3, 5}, mmstack_y},
    {2, {3, 4}, mmbrhs_a, 3, {2, 4, 2}, mmbrhs_b, 3, {2, 3, 2}, mmbrhs_y},
    {1, {3}, mm1x3_a, 3, {2, 3, 2}, mm1x3_b, 2, {2, 2}, mm1x3_y},
    {2, {2, 0}, mmk0_a, 2, {0, 3}, mmk0_b, 2, {2, 3}, mmk0_y},
};
static const float gemm_a[] = {
    1.16245413, -1.31683946,  -0.803639054, 0.693960547, -1.00632131,  1.0074687,
    1.51702428, -0.718510211, -0.805168509, -1.88906932, -0.309360087, -1.73821366,
};
static const float gemm_b[] = {
    0.29862377, 0.751744986,  0.273223311, 0.414906204, 0.398600429,  1.61058974,  0.12411762,
    1.44557071, -0.592113614, -1.43749642, -1.11249161, 1.17312825,   -1.08126509, 1.09015095,
    1.61134732, 0.177548766,  -1.42710936, 0.493986428, -0.482011259, 1.6337918,
};
static const float gemm_c[] = {
    -1.1054461, -1.06284595, -0.0705556199, -0.0257825498, -1.24893713,
};
static const double gemm_all[] = {
    -0.262026725, -0.612359418, -1.42211149,  0.393139047,  -1.7205557,
    -0.755507559, -1.04250738,  0.640985378,  -0.230495293, -0.131361768,
    -0.492859283, -0.699585691, -0.553642307, 0.0812801104, -0.638933553,
};
static const float gemm_cm[] = {
    -0.502657712, 0.672684073,  -0.117919803, -1.76112103,  -0.338769943,
    -0.336761773, -0.209580898, -1.90464079,  -0.904030442, 1.80164504,
    1.53202713,   1.76283598,   1.03556037,   -0.264031738, 1.75001669,
};
static const double gemm_mat[] = {
    -0.00314009881, -0.2887693,  -5.70758788, -0.152469277, -5.47248077,
    -1.81116749,    -2.89162611, 0.758078584, -1.78991604,  3.02470992,
    1.10821451,     0.452477515, -1.08023099, 0.0971842727, 0.942794428,
};
static const double gemm_scalar[] = {
    1.99951761,   0.538546626, -4.08966808,  3.10865176,  -3.63371083,
    0.0255942792, -1.18204521, 4.16271938,   0.614114398, 2.72306488,
    1.07618738,   0.189641536, -0.615791362, 1.86121601,  0.692777739,
};
static const double gemm_noc[] = {
    0.499517613,  -0.961453374, -5.58966808, 1.60865176,   -5.13371083,
    -1.47440572,  -2.68204521,  2.66271938,  -0.885885602, 1.22306488,
    -0.423812617, -1.31035846,  -2.11579136, 0.361216011,  -0.807222261,
};
static const float e_mm_0[] = {
    -0.797355711, 0.372863442, 0.349736899, -0.236984059, -0.998527169, -0.678071558,
};
static const float e_mm_1[] = {
    0.571677089, -0.863913655, -0.615217149, -0.583589494,  -0.700776517, 1.31412065,
    0.183141336, -1.92652047,  0.966314495,  0.00867913198, 1.11557293,   -0.0217454582,
};
static const double e_mm_y[] = {
    -0.379168101,  1.18186945,  0.948990634,  -0.260605825,
    -0.0909643402, -1.11333648, -0.793513217, 2.07672941,
};
static const float e_impl_0[] = {
    -0.756649017, 1.35715365, -1.30661988, -0.886893749, -0.0634084716, 1.43948472,
};
static const float e_impl_1[] = {
    -1.53915191, -0.645246148, 0.128960714,  0.713398218,  -1.57922375, 1.0211345,
    0.227684379, 0.0685775951, -0.476518154, -0.741411507, 1.56201851,  1.97510588,
};
static const double e_impl_y[] = {
    -0.356023413, 2.84280429,   -1.82953976, -3.02743434,
    0.77925977,   -0.559734335, 2.11969021,  2.20607791,
};
static const float e_bdiag_0[] = {
    -1.29914057,  -1.15399528,  0.668136358, 1.05825162,   1.2918632,    -0.790217876, -1.16359878,
    -1.709723,    -0.494670928, 0.24993895,  1.49020541,   -1.86782229,  -1.64137876,  0.612580478,
    0.685284257,  -1.503474,    -1.61453724, -1.88809478,  0.594936311,  -0.880572855, -1.03602815,
    0.658195972,  -1.51599813,  0.145653024, -1.63630068,  -1.73700237,  0.674132705,  1.16645789,
    -0.150288925, -0.391415775, 0.806195199, -1.69583452,  -0.886868477, 1.62106967,   1.79582322,
    -1.84641564,  -1.9877435,   1.07153654,  -0.192486897, 1.04972184,   0.571932256,  -0.208134443,
    0.839923859,  0.41810897,   -1.93713582, -0.135517925, 1.52801859,   1.12113774,
};
static const double e_bdiag_y[] = {
    -1.29914057, -0.790217876, 1.49020541,   -1.503474,  -1.61453724, 0.658195972,
    0.674132705, -1.69583452,  -0.886868477, 1.07153654, 0.839923859, 1.12113774,
};
static const float e_inner_0[] = {
    0.619712472, 0.486314893, 1.26644945, -0.834630191, -0.423579425,
};
static const float e_inner_1[] = {
    0.522625089, 1.28382313, -0.714445293, -1.32608759, -0.91097486,
};
static const double e_inner_y[] = {
    1.53607369,
};
static const float e_trace_0[] = {
    -0.24409458, -1.60614812,  0.513342023, 1.5859201,  -0.631208777,
    1.82551575,  -0.321487576, 0.142975181, 1.90692353,
};
static const double e_trace_y[] = {
    1.03162017,
};
static const float e_tr_0[] = {
    0.840133965, 0.0220371019, 1.01823211,   -0.106770687, 0.886295915, -1.11060369,
    -1.69241786, 0.396628916,  0.0947361588, -0.157255456, -1.53009033, 1.73817587,
};
static const double e_tr_y[] = {
    0.840133965, 0.886295915, 0.0947361588, 0.0220371019, -1.11060369, -0.157255456,
    1.01823211,  -1.69241786, -1.53009033,  -0.106770687, 0.396628916, 1.73817587,
};
static const float e_sum_0[] = {
    -1.55304623, 1.86985981, -0.727523565, -0.872680187, 1.75995684, 1.84237468,
    0.802645624, 1.82094014, -1.30008769,  1.4265666,    0.47279498, -0.817763031,
};
static const double e_sum_y[] = {
    -1.28339016,
    6.22591728,
    -0.21848914,
};
static const float e_bmm_0[] = {
    0.385730445,  -1.56283426, 1.16795921,  0.567509294,  -1.57183695, -1.12136483,
    -0.833034635, -0.10513819, -1.07749534, -0.809761107, 0.205931231, -1.41205752,
};
static const float e_bmm_1[] = {
    1.01327741,  -0.197726563, -0.371593684, 0.293919146, -1.36926258,  1.56610465,
    -1.53936267, 0.188474387,  1.85978091,   -1.44323504, 0.795241237,  1.90078247,
    1.9833132,   -0.609051168, 0.503053367,  1.76950383,  0.4981516,    1.49127901,
    0.790302098, -1.85239732,  -0.617888808, 1.57530904,  -0.124797754, -0.264120281,
};
static const double e_bmm_y[] = {
    4.70293066,   -4.20947082, 3.19124305,    2.03885573,  0.641808952,  -0.955479799,
    1.3169887,    -2.26091977, -1.03877104,   -1.3468178,  -0.367682812, -0.994711905,
    -0.630930385, -1.4241401,  -0.0683835604, -1.44138881,
};
static const float e_ell_0[] = {
    -0.780319333, -1.36105406, 0.675493062, -0.418636143, 1.52842343,  -1.82723939,
    1.4973973,    -1.63052273, 1.29407251,  -0.167899743, 0.960699737, -0.196448669,
};
static const float e_ell_1[] = {
    -1.36585689,  1.7927587,   0.569912016, -1.14073217, 0.386057019,  -1.16148198,
    -0.392252266, 0.380899936, 0.441072106, -1.56824934, -1.22973239,  -0.167008162,
    0.0646300241, 1.42897713,  0.30692789,  1.24607372,  -0.521171212, -1.24909723,
};
static const double e_ell_y[] = {
    0.550902307, -0.630899138, 0.737445343,  -0.371729739, -1.12491666, 1.7244357,
    3.08537139,  -2.25124363,  -0.820225046, -3.6547887,   1.39436388,  3.58870646,
    -2.47489914, 3.04141988,   0.701000957,  -1.16873323,  -2.89789846, 2.91130407,
    0.731176203, -1.5377612,   -1.07810941,  -1.50842741,  0.386397569, 1.20256129,
};
static const float e_three_0[] = {
    -0.88123399, -1.90010178, -0.543475866, 0.542001486, 1.36788869, -1.06082666,
};
static const float e_three_1[] = {
    0.823066831, 1.00975823, 0.764875889, 1.85351455, 0.319531083, -0.225775793,
};
static const float e_three_2[] = {
    0.147195086,
    -1.98095262,
    -1.97310901,
    -0.02559698,
};
static const double e_three_y[] = {
    8.11640736,
    4.7696078,
    -6.38528976,
    -2.3698719,
};
static const float e_outer_0[] = {
    -0.493627995,
    -1.46007562,
    -0.582850337,
};
static const float e_outer_1[] = {
    0.565818608,
    0.0911410972,
};
static const double e_outer_y[] = {
    -0.279303905, -0.0449897971, -0.826137953, -0.133072894, -0.329787566, -0.0531216192,
};
static const float e_caps_0[] = {
    -0.414372981, 1.08017707, -1.78658402, 1.54456151, 0.716529429, -0.322051883,
};
static const float e_caps_1[] = {
    0.766926646, 1.75697172, 0.619355202, 0.673374593, 0.80838865, 1.66272771,
};
static const double e_caps_y[] = {
    0.409570114,
    -1.8903716,
    -0.0916983616,
};
static const struct ein_case ein_cases[] = {
    {"ij,jk->ik", 2, {2, 2}, {{2, 3}, {3, 4}}, {e_mm_0, e_mm_1}, 2, {2, 4}, e_mm_y},
    {"ij,jk", 2, {2, 2}, {{2, 3}, {3, 4}}, {e_impl_0, e_impl_1}, 2, {2, 4}, e_impl_y},
    {"...ii ->...i", 1, {3}, {{3, 4, 4}}, {e_bdiag_0}, 2, {3, 4}, e_bdiag_y},
    {"i,i", 2, {1, 1}, {{5}, {5}}, {e_inner_0, e_inner_1}, 0, {0}, e_inner_y},
    {"ii", 1, {2}, {{3, 3}}, {e_trace_0}, 0, {0}, e_trace_y},
    {"ij->ji", 1, {2}, {{3, 4}}, {e_tr_0}, 2, {4, 3}, e_tr_y},
    {"ij->i", 1, {2}, {{3, 4}}, {e_sum_0}, 1, {3}, e_sum_y},
    {"bij, bjk -> bik",
     2,
     {3, 3},
     {{2, 2, 3}, {2, 3, 4}},
     {e_bmm_0, e_bmm_1},
     3,
     {2, 2, 4},
     e_bmm_y},
    {"...ij,...jk->...ik",
     2,
     {4, 3},
     {{2, 1, 2, 3}, {3, 3, 2}},
     {e_ell_0, e_ell_1},
     4,
     {2, 3, 2, 2},
     e_ell_y},
    {"ab,bc,cd->ad",
     3,
     {2, 2, 2},
     {{2, 3}, {3, 2}, {2, 2}},
     {e_three_0, e_three_1, e_three_2},
     2,
     {2, 2},
     e_three_y},
    {"i,j->ij", 2, {1, 1}, {{3}, {2}}, {e_outer_0, e_outer_1}, 2, {3, 2}, e_outer_y},
    {"Ab,bA->A", 2, {2, 2}, {{3, 2}, {2, 3}}, {e_caps_0, e_caps_1}, 1, {3}, e_caps_y},
};

static void test_matmul_shapes(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof mm_cases / sizeof mm_cases[0]; k++) {
        const struct mm_case *m = &mm_cases[k];
        struct kh t;
        kh_new(&t, SYNAP_OP_MATMUL, 2, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, m->ra, m->da, m->a);
        kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, m->rb, m->db, m->b);
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], m->ry, m->dy);
        kh_expect_close(&t.out[0], m->y, synap_shape_nelem(m->ry, m->dy), 1e-5, 1e-5);
        kh_free(&t);
    }
}

static void test_matmul_dtypes_and_errors(void **state)
{
    (void)state;
    int64_t da[2] = {2, 3}, db[2] = {3, 2};
    int32_t ai[6] = {1, -2, 3, 4, 5, -6}, bi[6] = {7, 8, -9, 10, 11, 12};
    struct kh t;
    kh_new(&t, SYNAP_OP_MATMUL, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_INT32, 2, da, ai);
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 2, db, bi);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_INT32);
    kh_expect_ints(&t.out[0], (int64_t[]){58, 24, -83, 10}, 4);
    double ad[6] = {1, -2, 3, 4, 5, -6}, bd[6] = {7, 8, -9, 10, 11, 12};
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT64, 2, da, ad);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT64, 2, db, bd);
    assert_int_equal(kh_run(&t, NULL), 0);
    assert_int_equal(t.out[0].dtype, SYNAP_DTYPE_FLOAT64);
    kh_expect_close(&t.out[0], (double[]){58, 24, -83, 10}, 4, 0, 0);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT64, 2, da, bd);
    kh_expect_error(&t, "inner dimensions differ: A is [2, 3], B is [2, 3]");
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 2, db, bi);
    kh_expect_error(&t, "input 1: dtype int32 differs from input 0's float64");
    kh_in(&t, 0, SYNAP_DTYPE_INT32, 0, NULL, ai);
    kh_expect_error(&t, "input 0: MatMul needs rank >= 1, got a scalar");
    int64_t b1[3] = {2, 3, 2}, b2[3] = {3, 2, 2};
    kh_in(&t, 0, SYNAP_DTYPE_INT32, 3, b1, ai);
    kh_in(&t, 1, SYNAP_DTYPE_INT32, 3, b2, bi);
    kh_expect_error(&t, "shapes [2] and [3] do not broadcast");
    kh_free(&t);
}

static void test_matmul_threads(void **state)
{
    (void)state;
    enum { B = 3, M = 67, K = 129, N = 45 };
    float *a = synap_xmalloc(B * M * K * sizeof *a), *b = synap_xmalloc(B * K * N * sizeof *b);
    for (int i = 0; i < B * M * K; i++)
        a[i] = sinf((float)i);
    for (int i = 0; i < B * K * N; i++)
        b[i] = cosf((float)i * 0.5f);
    int64_t da[3] = {B, M, K}, db[3] = {B, K, N};
    struct kh t;
    kh_new(&t, SYNAP_OP_MATMUL, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 3, da, a);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 3, db, b);
    assert_int_equal(kh_run_threads(&t, 4), 0);
    /* spot check against a double-precision dot product */
    double want = 0;
    for (int p = 0; p < K; p++)
        want += (double)a[(2 * M + 5) * K + p] * b[2 * K * N + p * N + 7];
    kh_expect_close(&(struct synap_value){.dtype = SYNAP_DTYPE_FLOAT32,
                                          .rank = 0,
                                          .data = (float *)t.out[0].data + (2 * M + 5) * N + 7},
                    &want, 1, 1e-4, 1e-4);
    kh_free(&t);
    free(a);
    free(b);
}

static void test_gemm(void **state)
{
    (void)state;
    int64_t da[2] = {4, 3}, db[2] = {5, 4}, dc[2] = {1, 5}, dm[2] = {3, 5}, dy[2] = {3, 5};
    float scalar = 1.5f;
    for (int k = 0; k < 4; k++) {
        struct kh t;
        kh_new(&t, SYNAP_OP_GEMM, k == 3 ? 2 : 3, 1);
        kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, da, gemm_a);
        kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, db, gemm_b);
        synap_node_set_int(t.g, t.node, "transA", 1);
        synap_node_set_int(t.g, t.node, "transB", 1);
        const double *want = gemm_noc;
        if (k == 0) {
            kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 2, dc, gemm_c);
            synap_node_set_float(t.g, t.node, "alpha", 0.25f);
            synap_node_set_float(t.g, t.node, "beta", 0.35f);
            want = gemm_all;
        } else if (k == 1) {
            kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 2, dm, gemm_cm);
            want = gemm_mat;
        } else if (k == 2) {
            kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 0, NULL, &scalar);
            want = gemm_scalar;
        }
        assert_int_equal(kh_run(&t, NULL), 0);
        kh_expect_dims(&t.out[0], 2, dy);
        kh_expect_close(&t.out[0], want, 15, 1e-5, 1e-5);
        kh_free(&t);
    }
    struct kh t;
    kh_new(&t, SYNAP_OP_GEMM, 3, 1);
    kh_in(&t, 0, SYNAP_DTYPE_FLOAT32, 2, da, gemm_a);
    kh_in(&t, 1, SYNAP_DTYPE_FLOAT32, 2, db, gemm_b);
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 2, dc, gemm_c);
    kh_expect_error(&t, "inner dimensions differ: A is [4, 3], B is [5, 4]");
    synap_node_set_int(t.g, t.node, "transA", 1);
    synap_node_set_int(t.g, t.node, "transB", 1);
    int64_t bad[2] = {2, 5};
    kh_in(&t, 2, SYNAP_DTYPE_FLOAT32, 2, bad, gemm_c);
    kh_expect_error(&t, "input 2 (C): shape [2, 5] does not broadcast to [3, 5]");
    kh_free(&t);
    /* integers: [2,2] x [2,2] + C, alpha 1 beta 1 stays exact */
    int64_t d2[2] = {2, 2}, xa[4] = {1, 2, 3, 4}, xb[4] = {5, 6, 7, 8}, xc[2] = {100, 200};
    int64_t two = 2;
    kh_new(&t, SYNAP_OP_GEMM, 3, 1);
    kh_in(&t, 0, SYNAP_DTYPE_INT64, 2, d2, xa);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 2, d2, xb);
    kh_in(&t, 2, SYNAP_DTYPE_INT64, 1, &two, xc);
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_ints(&t.out[0], (int64_t[]){119, 222, 143, 250}, 4);
    kh_free(&t);
}

static void test_einsum(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof ein_cases / sizeof ein_cases[0]; k++) {
        const struct ein_case *e = &ein_cases[k];
        struct kh t;
        kh_new(&t, SYNAP_OP_EINSUM, (size_t)e->nin, 1);
        for (int i = 0; i < e->nin; i++)
            kh_in(&t, (size_t)i, SYNAP_DTYPE_FLOAT32, e->rank[i], e->dims[i], e->x[i]);
        synap_node_set_string(t.g, t.node, "equation", e->eq);
        if (kh_run(&t, NULL) != 0) fail_msg("%s: %s", e->eq, t.err.msg);
        kh_expect_dims(&t.out[0], e->ry, e->dy);
        kh_expect_close(&t.out[0], e->y, synap_shape_nelem(e->ry, e->dy), 1e-5, 1e-5);
        kh_free(&t);
    }
    /* int64 and float64 operands */
    int64_t d2[2] = {2, 2}, xi[4] = {1, 2, 3, 4};
    struct kh t;
    kh_new(&t, SYNAP_OP_EINSUM, 2, 1);
    kh_in(&t, 0, SYNAP_DTYPE_INT64, 2, d2, xi);
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 2, d2, xi);
    synap_node_set_string(t.g, t.node, "equation", "ij,jk->ik");
    assert_int_equal(kh_run(&t, NULL), 0);
    kh_expect_ints(&t.out[0], (int64_t[]){7, 10, 15, 22}, 4);
    static const struct {
        const char *eq, *msg;
    } bad[] = {
        {"ij,jk,kl->il", "equation 'ij,jk,kl->il' has more terms than the 2 inputs"},
        {"ij->ik", "equation 'ij->ik' has fewer terms than the 2 inputs"},
        {"ijk,jk->ik", "input 0: term has 3 labels but the input has rank 2"},
        {"ij,jk->iq", "equation: output label 'q' is in no input"},
        {"ij,jk->ii", "equation: output label 'i' appears twice"},
        {"i.j,jk", "equation: bad ellipsis"},
        {"i1,jk", "equation: unexpected character '1'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        synap_node_set_string(t.g, t.node, "equation", bad[k].eq);
        kh_expect_error(&t, bad[k].msg);
    }
    int64_t d3[2] = {3, 2};
    kh_in(&t, 1, SYNAP_DTYPE_INT64, 2, d3, xi);
    synap_node_set_string(t.g, t.node, "equation", "ij,jk->ik");
    kh_expect_error(&t, "input 1: dimension 0 is 3 but the same label has size 2 elsewhere");
    kh_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_shapes),  cmocka_unit_test(test_matmul_dtypes_and_errors),
        cmocka_unit_test(test_matmul_threads), cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_einsum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
