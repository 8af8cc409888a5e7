/* Unary kernels: golden vectors per op (numpy in float64, rounded to
 * float32), dtype families, Clip bounds, NaN/Inf handling, errors and
 * thread-count independence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernel.h"

/* Runs infer then run on one node, like the interpreter does. Inputs are
 * visible to infer as constants. Returns -1 with err on failure. */
static int run_node(struct synap_graph *g, struct synap_node *n, struct synap_value *in, size_t nin,
                    struct synap_value *out, void *outbuf, struct synap_pool *pool,
                    struct synap_err *err)
{
    struct synap_kctx c = {.graph = g,
                           .node = n,
                           .in = in,
                           .nin = nin,
                           .out = out,
                           .nout = 1,
                           .pool = pool,
                           .err = err};
    memset(out, 0, sizeof *out);
    if (synap_unary_infer(&c)) return -1;
    out->data = outbuf;
    return synap_unary_run(&c);
}

static struct synap_value val(enum synap_dtype t, int rank, const int64_t *dims, const void *data)
{
    struct synap_value v = {.dtype = t, .rank = rank, .data = (void *)data};
    for (int i = 0; i < rank; i++)
        v.dims[i] = dims[i];
    return v;
}

/* |a - b| <= atol + rtol * |b|, NaN equal to NaN, infinities exact. */
static void assert_close(const char *what, const float *got, const float *want, size_t n,
                         double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        if (isnan(b)) {
            if (!isnan(a)) fail_msg("%s: element %zu: got %.9g, want NaN", what, i, a);
            continue;
        }
        if (isinf(b)) {
            if (a != b) fail_msg("%s: element %zu: got %.9g, want %.9g", what, i, a, b);
            continue;
        }
        if (!(fabs(a - b) <= atol + rtol * fabs(b)))
            fail_msg("%s: element %zu: got %.9g, want %.9g", what, i, a, b);
    }
}

struct ucase {
    enum synap_op op;
    struct {
        const char *name;
        float v;
    } attrs[2];
    int n;
    float x[16];
    float y[16];
};

static const struct ucase ucases[] = {
    {SYNAP_OP_RELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_LEAKY_RELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-0.20000000298023224f, -0.029999999329447746f, -0.009999999776482582f, -0.004999999888241291f,
      -0.0010000000474974513f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_LEAKY_RELU,
     {{"alpha", 0.1f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-2.0f, -0.30000001192092896f, -0.10000000149011612f, -0.05000000074505806f,
      -0.010000000707805157f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_THRESHOLDED_RELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 3.0f, 20.0f}},
    {SYNAP_OP_THRESHOLDED_RELU,
     {{"alpha", 0.5f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_SIGMOID,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     13,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f, -100.0f, 100.0f},
     {2.06115369216775e-09f, 0.04742587357759476f, 0.2689414322376251f, 0.3775406777858734f,
      0.4750208258628845f, 0.5f, 0.5249791741371155f, 0.622459352016449f, 0.7310585975646973f,
      0.9525741338729858f, 1.0f, 3.783505853677006e-44f, 1.0f}},
    {SYNAP_OP_HARD_SIGMOID,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.0f, 0.0f, 0.30000001192092896f, 0.4000000059604645f, 0.47999998927116394f, 0.5f,
      0.5199999809265137f, 0.6000000238418579f, 0.699999988079071f, 1.0f, 1.0f}},
    {SYNAP_OP_HARD_SIGMOID,
     {{"alpha", 0.5f}, {"beta", 0.6f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.0f, 0.0f, 0.10000002384185791f, 0.3500000238418579f, 0.550000011920929f,
      0.6000000238418579f, 0.6500000357627869f, 0.8500000238418579f, 1.0f, 1.0f, 1.0f}},
    {SYNAP_OP_HARD_SWISH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-0.0f, -0.0f, -0.3333333432674408f, -0.2083333283662796f, -0.04833333566784859f, 0.0f,
      0.05166666582226753f, 0.2916666567325592f, 0.6666666865348816f, 3.0f, 20.0f}},
    {SYNAP_OP_TANH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.0f, -0.9950547814369202f, -0.7615941762924194f, -0.46211716532707214f,
      -0.0996679961681366f, 0.0f, 0.0996679961681366f, 0.46211716532707214f, 0.7615941762924194f,
      0.9950547814369202f, 1.0f}},
    {SYNAP_OP_ELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.0f, -0.9502129554748535f, -0.6321205496788025f, -0.39346933364868164f,
      -0.09516258537769318f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_ELU,
     {{"alpha", 2.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-2.0f, -1.900425910949707f, -1.264241099357605f, -0.7869386672973633f, -0.19032517075538635f,
      0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_SELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.7580993175506592f, -1.6705687046051025f, -1.1113307476043701f, -0.6917582154273987f,
      -0.16730527579784393f, 0.0f, 0.10507010668516159f, 0.5253505110740662f, 1.0507010221481323f,
      3.1521029472351074f, 21.014020919799805f}},
    {SYNAP_OP_SELU,
     {{"alpha", 2.0f}, {"gamma", 3.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-6.0f, -5.701277732849121f, -3.7927234172821045f, -2.36081600189209f, -0.5709754824638367f,
      0.0f, 0.30000001192092896f, 1.5f, 3.0f, 9.0f, 60.0f}},
    {SYNAP_OP_CELU,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.0f, -0.9502129554748535f, -0.6321205496788025f, -0.39346933364868164f,
      -0.09516258537769318f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_CELU,
     {{"alpha", 2.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.9999091625213623f, -1.5537396669387817f, -0.7869386672973633f, -0.44239842891693115f,
      -0.09754115343093872f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_SOFTPLUS,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     13,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f, -100.0f, 100.0f},
     {2.06115369216775e-09f, 0.04858735203742981f, 0.3132616877555847f, 0.4740769863128662f,
      0.6443966627120972f, 0.6931471824645996f, 0.7443966865539551f, 0.9740769863128662f,
      1.31326162815094f, 3.0485873222351074f, 20.0f, 3.783505853677006e-44f, 100.0f}},
    {SYNAP_OP_SOFTSIGN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-0.9523809552192688f, -0.75f, -0.5f, -0.3333333432674408f, -0.09090909361839294f, 0.0f,
      0.09090909361839294f, 0.3333333432674408f, 0.5f, 0.75f, 0.9523809552192688f}},
    {SYNAP_OP_MISH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-4.122307117881974e-08f, -0.14564746618270874f, -0.30340147018432617f, -0.22074377536773682f,
      -0.056788574904203415f, 0.0f, 0.06317941844463348f, 0.37524521350860596f, 0.8650984168052673f,
      2.98653507232666f, 20.0f}},
    {SYNAP_OP_SHRINK,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-20.0f, -3.0f, -1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 3.0f, 20.0f}},
    {SYNAP_OP_SHRINK,
     {{"lambd", 1.5f}, {"bias", 1.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-19.0f, -2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 19.0f}},
    {SYNAP_OP_ERF,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.0f, -0.9999778866767883f, -0.8427007794380188f, -0.5204998850822449f,
      -0.11246291548013687f, 0.0f, 0.11246291548013687f, 0.5204998850822449f, 0.8427007794380188f,
      0.9999778866767883f, 1.0f}},
    {SYNAP_OP_SQRT,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {0.0f, 0.009999999776482582f, 0.5f, 1.0f, 2.0f, 10.0f, 100.0f},
     {0.0f, 0.10000000149011612f, 0.7071067690849304f, 1.0f, 1.4142135381698608f,
      3.1622776985168457f, 10.0f}},
    {SYNAP_OP_EXP,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     8,
     {-100.0f, -3.0f, -1.0f, 0.0f, 0.5f, 1.0f, 3.0f, 10.0f},
     {3.783505853677006e-44f, 0.049787066876888275f, 0.3678794503211975f, 1.0f, 1.6487212181091309f,
      2.7182817459106445f, 20.08553695678711f, 22026.46484375f}},
    {SYNAP_OP_LOG,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {0.0f, 0.009999999776482582f, 0.5f, 1.0f, 2.0f, 10.0f, 100.0f},
     {-INFINITY, -4.605170249938965f, -0.6931471824645996f, 0.0f, 0.6931471824645996f,
      2.3025851249694824f, 4.605170249938965f}},
    {SYNAP_OP_NEG,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {20.0f, 3.0f, 1.0f, 0.5f, 0.10000000149011612f, -0.0f, -0.10000000149011612f, -0.5f, -1.0f,
      -3.0f, -20.0f}},
    {SYNAP_OP_ABS,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {20.0f, 3.0f, 1.0f, 0.5f, 0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f, 3.0f,
      20.0f}},
    {SYNAP_OP_RECIPROCAL,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     6,
     {-4.0f, -0.5f, 0.25f, 1.0f, 3.0f, 1000.0f},
     {-0.25f, -2.0f, 4.0f, 1.0f, 0.3333333432674408f, 0.0010000000474974513f}},
    {SYNAP_OP_FLOOR,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     8,
     {-2.5f, -1.5f, -0.20000000298023224f, 0.0f, 0.20000000298023224f, 1.5f, 2.5f,
      7.900000095367432f},
     {-3.0f, -2.0f, -1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 7.0f}},
    {SYNAP_OP_CEIL,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     8,
     {-2.5f, -1.5f, -0.20000000298023224f, 0.0f, 0.20000000298023224f, 1.5f, 2.5f,
      7.900000095367432f},
     {-2.0f, -1.0f, -0.0f, 0.0f, 1.0f, 2.0f, 3.0f, 8.0f}},
    {SYNAP_OP_ROUND,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     10,
     {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4000000953674316f, -2.5999999046325684f,
      0.4999999701976776f, 3.500000238418579f},
     {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, 2.0f, -3.0f, 0.0f, 4.0f}},
    {SYNAP_OP_SIGN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}},
    {SYNAP_OP_SIN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-0.9129452705383301f, -0.14112000167369843f, -0.8414709568023682f, -0.4794255495071411f,
      -0.0998334214091301f, 0.0f, 0.0998334214091301f, 0.4794255495071411f, 0.8414709568023682f,
      0.14112000167369843f, 0.9129452705383301f}},
    {SYNAP_OP_COS,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {0.4080820679664612f, -0.9899924993515015f, 0.5403022766113281f, 0.8775825500488281f,
      0.9950041770935059f, 1.0f, 0.9950041770935059f, 0.8775825500488281f, 0.5403022766113281f,
      -0.9899924993515015f, 0.4080820679664612f}},
    {SYNAP_OP_TAN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {-1.5f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f},
     {-14.101420402526855f, -1.5574077367782593f, -0.5463024973869324f, 0.0f, 0.5463024973869324f,
      1.5574077367782593f, 14.101420402526855f}},
    {SYNAP_OP_ASIN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {-1.0f, -0.8999999761581421f, -0.5f, 0.0f, 0.30000001192092896f, 0.699999988079071f, 1.0f},
     {-1.5707963705062866f, -1.1197694540023804f, -0.5235987901687622f, 0.0f, 0.30469265580177307f,
      0.7753974795341492f, 1.5707963705062866f}},
    {SYNAP_OP_ACOS,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {-1.0f, -0.8999999761581421f, -0.5f, 0.0f, 0.30000001192092896f, 0.699999988079071f, 1.0f},
     {3.1415927410125732f, 2.690565824508667f, 2.094395160675049f, 1.5707963705062866f,
      1.2661036252975464f, 0.7953988313674927f, 0.0f}},
    {SYNAP_OP_ATAN,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-1.5208379030227661f, -1.249045729637146f, -0.7853981852531433f, -0.46364760398864746f,
      -0.09966865181922913f, 0.0f, 0.09966865181922913f, 0.46364760398864746f, 0.7853981852531433f,
      1.249045729637146f, 1.5208379030227661f}},
    {SYNAP_OP_SINH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {-5.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 5.0f},
     {-74.20320892333984f, -1.175201177597046f, -0.5210952758789062f, 0.0f, 0.5210952758789062f,
      1.175201177597046f, 74.20320892333984f}},
    {SYNAP_OP_COSH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     7,
     {-5.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 5.0f},
     {74.20994567871094f, 1.5430806875228882f, 1.1276259422302246f, 1.0f, 1.1276259422302246f,
      1.5430806875228882f, 74.20994567871094f}},
    {SYNAP_OP_ASINH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     11,
     {-20.0f, -3.0f, -1.0f, -0.5f, -0.10000000149011612f, 0.0f, 0.10000000149011612f, 0.5f, 1.0f,
      3.0f, 20.0f},
     {-3.6895039081573486f, -1.8184465169906616f, -0.8813735842704773f, -0.4812118113040924f,
      -0.09983407706022263f, 0.0f, 0.09983407706022263f, 0.4812118113040924f, 0.8813735842704773f,
      1.8184465169906616f, 3.6895039081573486f}},
    {SYNAP_OP_ACOSH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     5,
     {1.0f, 1.5f, 2.0f, 10.0f, 100.0f},
     {0.0f, 0.9624236226081848f, 1.316957950592041f, 2.993222951889038f, 5.29829216003418f}},
    {SYNAP_OP_ATANH,
     {{NULL, 0.0f}, {NULL, 0.0f}},
     5,
     {-0.9900000095367432f, -0.5f, 0.0f, 0.30000001192092896f, 0.8999999761581421f},
     {-2.646652936935425f, -0.5493061542510986f, 0.0f, 0.30951961874961853f, 1.4722193479537964f}},
};

/* Every float op on float32 against the golden table. */
static void test_float32_golden(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof ucases / sizeof ucases[0]; k++) {
        const struct ucase *u = &ucases[k];
        struct synap_graph *g = synap_graph_new();
        struct synap_node *n = synap_graph_add_node(g, "n", u->op, 1, 1);
        for (int a = 0; a < 2; a++)
            if (u->attrs[a].name) synap_node_set_float(g, n, u->attrs[a].name, u->attrs[a].v);
        int64_t d[1] = {u->n};
        struct synap_value in = val(SYNAP_DTYPE_FLOAT32, 1, d, u->x), out;
        float y[16];
        struct synap_err err = {0};
        if (run_node(g, n, &in, 1, &out, y, NULL, &err))
            fail_msg("%s: %s", synap_op_name(u->op), err.msg);
        assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT32);
        assert_int_equal(out.rank, 1);
        assert_int_equal(out.dims[0], u->n);
        assert_close(synap_op_name(u->op), y, u->y, (size_t)u->n, 1e-5, 1e-6);
        synap_graph_free(g);
    }
}

/* The same table through float64 (computed in double) and float16. */
static void test_float64_float16(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof ucases / sizeof ucases[0]; k++) {
        const struct ucase *u = &ucases[k];
        struct synap_graph *g = synap_graph_new();
        struct synap_node *n = synap_graph_add_node(g, "n", u->op, 1, 1);
        for (int a = 0; a < 2; a++)
            if (u->attrs[a].name) synap_node_set_float(g, n, u->attrs[a].name, u->attrs[a].v);
        int64_t d[1] = {u->n};
        double xd[16], yd[16];
        uint16_t xh[16], yh[16];
        float got[16], want[16];
        for (int i = 0; i < u->n; i++)
            xd[i] = u->x[i], xh[i] = synap_f32_to_f16(u->x[i]);
        struct synap_value in = val(SYNAP_DTYPE_FLOAT64, 1, d, xd), out;
        struct synap_err err = {0};
        if (run_node(g, n, &in, 1, &out, yd, NULL, &err)) fail_msg("%s", err.msg);
        assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT64);
        for (int i = 0; i < u->n; i++)
            got[i] = (float)yd[i];
        assert_close(synap_op_name(u->op), got, u->y, (size_t)u->n, 1e-5, 1e-6);

        /* float16: the input is rounded to half first, so compare against
         * the float32 kernel applied to the rounded input, within half's
         * precision */
        in = val(SYNAP_DTYPE_FLOAT16, 1, d, xh);
        if (run_node(g, n, &in, 1, &out, yh, NULL, &err)) fail_msg("%s", err.msg);
        assert_int_equal(out.dtype, SYNAP_DTYPE_FLOAT16);
        float xr[16];
        for (int i = 0; i < u->n; i++)
            xr[i] = synap_f16_to_f32(xh[i]);
        in = val(SYNAP_DTYPE_FLOAT32, 1, d, xr);
        if (run_node(g, n, &in, 1, &out, want, NULL, &err)) fail_msg("%s", err.msg);
        for (int i = 0; i < u->n; i++) {
            got[i] = synap_f16_to_f32(yh[i]);
            want[i] = synap_f16_to_f32(synap_f32_to_f16(want[i]));
        }
        assert_close("float16", got, want, (size_t)u->n, 0, 0);
        synap_graph_free(g);
    }
}

static void test_nan_inf(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    const float x[6] = {NAN, INFINITY, -INFINITY, 0.0f, -1.0f, 1.0f};
    int64_t d[1] = {6};
    struct synap_err err = {0};
    float y[6];
    static const struct {
        enum synap_op op;
        float y[6];
    } cases[] = {
        {SYNAP_OP_RELU, {NAN, INFINITY, 0, 0, 0, 1}},
        {SYNAP_OP_SIGMOID, {NAN, 1, 0, 0.5f, 0.268941421f, 0.731058579f}},
        {SYNAP_OP_TANH, {NAN, 1, -1, 0, -0.761594156f, 0.761594156f}},
        {SYNAP_OP_SQRT, {NAN, INFINITY, NAN, 0, NAN, 1}},
        {SYNAP_OP_LOG, {NAN, INFINITY, NAN, -INFINITY, NAN, 0}},
        {SYNAP_OP_SOFTPLUS, {NAN, INFINITY, 0, 0.693147181f, 0.313261688f, 1.31326169f}},
        {SYNAP_OP_RECIPROCAL, {NAN, 0, -0.0f, INFINITY, -1, 1}},
        {SYNAP_OP_SIGN, {NAN, 1, -1, 0, -1, 1}},
        {SYNAP_OP_ABS, {NAN, INFINITY, INFINITY, 0, 1, 1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct synap_node *n = synap_graph_add_node(g, "n", cases[k].op, 1, 1);
        struct synap_value in = val(SYNAP_DTYPE_FLOAT32, 1, d, x), out;
        assert_int_equal(run_node(g, n, &in, 1, &out, y, NULL, &err), 0);
        assert_close(synap_op_name(cases[k].op), y, cases[k].y, 6, 1e-6, 0);
    }

    /* IsNaN / IsInf give bool, on every float dtype */
    struct synap_node *n = synap_graph_add_node(g, "isnan", SYNAP_OP_IS_NAN, 1, 1);
    struct synap_value in = val(SYNAP_DTYPE_FLOAT32, 1, d, x), out;
    uint8_t b[6];
    assert_int_equal(run_node(g, n, &in, 1, &out, b, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_BOOL);
    assert_memory_equal(b, ((uint8_t[]){1, 0, 0, 0, 0, 0}), 6);
    n = synap_graph_add_node(g, "isinf", SYNAP_OP_IS_INF, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, b, NULL, &err), 0);
    assert_memory_equal(b, ((uint8_t[]){0, 1, 1, 0, 0, 0}), 6);
    synap_node_set_int(g, n, "detect_negative", 0);
    assert_int_equal(run_node(g, n, &in, 1, &out, b, NULL, &err), 0);
    assert_memory_equal(b, ((uint8_t[]){0, 1, 0, 0, 0, 0}), 6);
    synap_node_set_int(g, n, "detect_negative", 1);
    synap_node_set_int(g, n, "detect_positive", 0);
    const double xd[6] = {NAN, INFINITY, -INFINITY, 0.0, -1.0, 1.0};
    in = val(SYNAP_DTYPE_FLOAT64, 1, d, xd);
    assert_int_equal(run_node(g, n, &in, 1, &out, b, NULL, &err), 0);
    assert_memory_equal(b, ((uint8_t[]){0, 0, 1, 0, 0, 0}), 6);
    const uint16_t xh[6] = {0x7e00, 0x7c00, 0xfc00, 0, 0xbc00, 0x3c00}; /* half NaN, +-inf */
    in = val(SYNAP_DTYPE_FLOAT16, 1, d, xh);
    n = synap_graph_add_node(g, "isnan16", SYNAP_OP_IS_NAN, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, b, NULL, &err), 0);
    assert_memory_equal(b, ((uint8_t[]){1, 0, 0, 0, 0, 0}), 6);
    synap_graph_free(g);
}

static void test_clip(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    struct synap_node *n = synap_graph_add_node(g, "clip", SYNAP_OP_CLIP, 3, 1);
    const float x[7] = {-3, -1, 0, 0.5f, 1, 3, NAN};
    const float lo = -1.5f, hi = 0.75f, big = 5.0f;
    int64_t d[1] = {7};
    float y[7];
    struct synap_err err = {0};
    struct synap_value in[3] = {val(SYNAP_DTYPE_FLOAT32, 1, d, x),
                                val(SYNAP_DTYPE_FLOAT32, 0, NULL, &lo),
                                val(SYNAP_DTYPE_FLOAT32, 0, NULL, &hi)};
    struct synap_value out;
    assert_int_equal(run_node(g, n, in, 3, &out, y, NULL, &err), 0);
    assert_close("clip [min, max]", y, (float[]){-1.5f, -1, 0, 0.5f, 0.75f, 0.75f, NAN}, 7, 0, 0);
    /* min only: the max input omitted */
    in[2].dtype = SYNAP_DTYPE_UNDEFINED;
    assert_int_equal(run_node(g, n, in, 3, &out, y, NULL, &err), 0);
    assert_close("clip min", y, (float[]){-1.5f, -1, 0, 0.5f, 1, 3, NAN}, 7, 0, 0);
    /* max only */
    in[2] = in[1];
    in[2].data = (void *)&hi;
    in[1].dtype = SYNAP_DTYPE_UNDEFINED;
    assert_int_equal(run_node(g, n, in, 3, &out, y, NULL, &err), 0);
    assert_close("clip max", y, (float[]){-3, -1, 0, 0.5f, 0.75f, 0.75f, NAN}, 7, 0, 0);
    /* no bounds: identity; min > max gives max everywhere (numpy.clip) */
    assert_int_equal(run_node(g, n, in, 1, &out, y, NULL, &err), 0);
    assert_close("clip none", y, x, 7, 0, 0);
    in[1] = val(SYNAP_DTYPE_FLOAT32, 1, (int64_t[]){1}, &big);
    assert_int_equal(run_node(g, n, in, 3, &out, y, NULL, &err), 0);
    assert_close("clip min > max", y, (float[]){0.75f, 0.75f, 0.75f, 0.75f, 0.75f, 0.75f, NAN}, 7,
                 0, 0);

    /* integer Clip (int8 with the default bounds, and uint8) */
    const int8_t xi[5] = {-128, -5, 0, 5, 127};
    const int8_t ilo = -6, ihi = 4;
    struct synap_value ini[3] = {val(SYNAP_DTYPE_INT8, 1, (int64_t[]){5}, xi),
                                 val(SYNAP_DTYPE_INT8, 0, NULL, &ilo),
                                 val(SYNAP_DTYPE_INT8, 0, NULL, &ihi)};
    int8_t yi[5];
    assert_int_equal(run_node(g, n, ini, 3, &out, yi, NULL, &err), 0);
    assert_memory_equal(yi, ((int8_t[]){-6, -5, 0, 4, 4}), 5);
    ini[1].dtype = SYNAP_DTYPE_UNDEFINED;
    assert_int_equal(run_node(g, n, ini, 3, &out, yi, NULL, &err), 0);
    assert_memory_equal(yi, ((int8_t[]){-128, -5, 0, 4, 4}), 5);
    const uint8_t xu[4] = {0, 9, 200, 255}, ulo = 10, uhi = 250;
    struct synap_value inu[3] = {val(SYNAP_DTYPE_UINT8, 1, (int64_t[]){4}, xu),
                                 val(SYNAP_DTYPE_UINT8, 0, NULL, &ulo),
                                 val(SYNAP_DTYPE_UINT8, 0, NULL, &uhi)};
    uint8_t yu[4];
    assert_int_equal(run_node(g, n, inu, 3, &out, yu, NULL, &err), 0);
    assert_memory_equal(yu, ((uint8_t[]){10, 10, 200, 250}), 4);

    /* errors: a non-scalar bound, a bound of another dtype */
    const float two[2] = {0, 1};
    in[1] = val(SYNAP_DTYPE_FLOAT32, 1, (int64_t[]){2}, two);
    assert_int_equal(run_node(g, n, in, 2, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 1 (min): expected a scalar, got shape [2]");
    in[1] = val(SYNAP_DTYPE_INT8, 0, NULL, &ilo);
    assert_int_equal(run_node(g, n, in, 2, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 1: expected dtype float32 (as input 0), got int8");
    synap_graph_free(g);
}

/* Integer dtypes: exact, wrapping at the most negative value. */
static void test_integers(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    struct synap_err err = {0};
    struct synap_value out;
    const int8_t x8[5] = {-128, -7, 0, 7, 127};
    int8_t y8[5];
    struct synap_value in = val(SYNAP_DTYPE_INT8, 1, (int64_t[]){5}, x8);
    static const struct {
        enum synap_op op;
        int8_t y[5];
    } c8[] = {
        {SYNAP_OP_ABS, {-128, 7, 0, 7, 127}},
        {SYNAP_OP_NEG, {-128, 7, 0, -7, -127}},
        {SYNAP_OP_SIGN, {-1, -1, 0, 1, 1}},
        {SYNAP_OP_RELU, {0, 0, 0, 7, 127}},
        {SYNAP_OP_BITWISE_NOT, {127, 6, -1, -8, -128}},
        {SYNAP_OP_IDENTITY, {-128, -7, 0, 7, 127}},
        {SYNAP_OP_SHRINK, {-127, -6, 0, 6, 126}}, /* lambd 0.5, bias 1 */
    };
    for (size_t k = 0; k < sizeof c8 / sizeof c8[0]; k++) {
        struct synap_node *n = synap_graph_add_node(g, "n", c8[k].op, 1, 1);
        if (c8[k].op == SYNAP_OP_SHRINK) synap_node_set_float(g, n, "bias", 1.0f);
        if (run_node(g, n, &in, 1, &out, y8, NULL, &err)) fail_msg("%s", err.msg);
        assert_int_equal(out.dtype, SYNAP_DTYPE_INT8);
        if (memcmp(y8, c8[k].y, 5)) fail_msg("%s on int8: wrong result", synap_op_name(c8[k].op));
    }

    const int64_t x64[4] = {INT64_MIN, -3, 0, INT64_MAX};
    int64_t y64[4];
    in = val(SYNAP_DTYPE_INT64, 1, (int64_t[]){4}, x64);
    struct synap_node *n = synap_graph_add_node(g, "abs", SYNAP_OP_ABS, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y64, NULL, &err), 0);
    assert_memory_equal(y64, ((int64_t[]){INT64_MIN, 3, 0, INT64_MAX}), sizeof y64);
    n = synap_graph_add_node(g, "neg", SYNAP_OP_NEG, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y64, NULL, &err), 0);
    assert_memory_equal(y64, ((int64_t[]){INT64_MIN, 3, 0, -INT64_MAX}), sizeof y64);

    const uint16_t xu[3] = {0, 1, 65535};
    uint16_t yu[3];
    in = val(SYNAP_DTYPE_UINT16, 1, (int64_t[]){3}, xu);
    n = synap_graph_add_node(g, "sign", SYNAP_OP_SIGN, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, yu, NULL, &err), 0);
    assert_memory_equal(yu, ((uint16_t[]){0, 1, 1}), sizeof yu);
    n = synap_graph_add_node(g, "bnot", SYNAP_OP_BITWISE_NOT, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, yu, NULL, &err), 0);
    assert_memory_equal(yu, ((uint16_t[]){65535, 65534, 0}), sizeof yu);

    const uint8_t xb[4] = {0, 1, 1, 0};
    uint8_t yb[4];
    in = val(SYNAP_DTYPE_BOOL, 2, (int64_t[]){2, 2}, xb);
    n = synap_graph_add_node(g, "not", SYNAP_OP_NOT, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, yb, NULL, &err), 0);
    assert_int_equal(out.dtype, SYNAP_DTYPE_BOOL);
    assert_int_equal(out.rank, 2);
    assert_memory_equal(yb, ((uint8_t[]){1, 0, 0, 1}), 4);
    n = synap_graph_add_node(g, "id", SYNAP_OP_IDENTITY, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, yb, NULL, &err), 0);
    assert_memory_equal(yb, xb, 4);
    synap_graph_free(g);
}

static void test_dtype_errors(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    struct synap_err err = {0};
    struct synap_value out;
    const float x = 1;
    const int32_t xi = 1;
    const uint8_t xu = 1;
    float y[1];
    struct synap_value in = val(SYNAP_DTYPE_FLOAT32, 0, NULL, &x);
    struct synap_node *n = synap_graph_add_node(g, "not", SYNAP_OP_NOT, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype float32 is not supported by Not");
    n = synap_graph_add_node(g, "bnot", SYNAP_OP_BITWISE_NOT, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype float32 is not supported by BitwiseNot");
    in = val(SYNAP_DTYPE_INT32, 0, NULL, &xi);
    n = synap_graph_add_node(g, "sig", SYNAP_OP_SIGMOID, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype int32 is not supported by Sigmoid");
    in = val(SYNAP_DTYPE_UINT8, 0, NULL, &xu);
    n = synap_graph_add_node(g, "neg", SYNAP_OP_NEG, 1, 1);
    assert_int_equal(run_node(g, n, &in, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0: dtype uint8 is not supported by Neg");
    struct synap_value none = {0};
    n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    assert_int_equal(run_node(g, n, &none, 1, &out, y, NULL, &err), -1);
    assert_string_equal(err.msg, "input 0 is missing");
    synap_graph_free(g);
}

/* Rank 0, size-0 dims and a large tensor split over threads: the result is
 * the same with 1 and 4 threads and matches the element-by-element path. */
static void test_shapes_and_threads(void **state)
{
    (void)state;
    struct synap_graph *g = synap_graph_new();
    struct synap_err err = {0};
    struct synap_value out;
    struct synap_node *n = synap_graph_add_node(g, "n", SYNAP_OP_EXP, 1, 1);
    const float s = 1.0f;
    float y = 0;
    struct synap_value in = val(SYNAP_DTYPE_FLOAT32, 0, NULL, &s);
    assert_int_equal(run_node(g, n, &in, 1, &out, &y, NULL, &err), 0);
    assert_int_equal(out.rank, 0);
    assert_close("exp scalar", &y, (float[]){2.71828183f}, 1, 1e-6, 0);

    in = val(SYNAP_DTYPE_FLOAT32, 3, (int64_t[]){2, 0, 3}, NULL);
    assert_int_equal(run_node(g, n, &in, 1, &out, NULL, NULL, &err), 0);
    assert_int_equal(out.rank, 3);
    assert_int_equal(out.dims[1], 0);

    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *y1 = malloc(N * sizeof *y1), *y4 = malloc(N * sizeof *y4);
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 7919) % 2001 - 1000) / 100.0f;
    struct synap_pool *pool = synap_pool_new(4);
    n = synap_graph_add_node(g, "mish", SYNAP_OP_MISH, 1, 1);
    in = val(SYNAP_DTYPE_FLOAT32, 2, (int64_t[]){7, N / 7 + 0}, x);
    in.dims[1] = N, in.dims[0] = 1;
    assert_int_equal(run_node(g, n, &in, 1, &out, y1, NULL, &err), 0);
    assert_int_equal(run_node(g, n, &in, 1, &out, y4, pool, &err), 0);
    assert_memory_equal(y1, y4, N * sizeof *y1);
    for (int i = 0; i < N; i += 997) {
        float one;
        struct synap_value e = val(SYNAP_DTYPE_FLOAT32, 0, NULL, &x[i]);
        assert_int_equal(run_node(g, n, &e, 1, &out, &one, NULL, &err), 0);
        assert_true(one == y1[i]);
    }
    synap_pool_free(pool);
    free(x), free(y1), free(y4);
    synap_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float32_golden),
        cmocka_unit_test(test_float64_float16),
        cmocka_unit_test(test_nan_inf),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_dtype_errors),
        cmocka_unit_test(test_shapes_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
