/* RNN kernels (LSTM, GRU, RNN) against golden vectors.
 *
 * Golden values come from an independent float64 numpy implementation of the
 * ONNX equations (checked against onnx's backend test helpers for the
 * forward cases and against torch.nn.LSTM/GRU with packed sequences for the
 * bidirectional ones), rounded to float32. Tolerance: atol 1e-5, rtol 1e-4. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernel.h"

/* ---- a one-node harness: infer, allocate, run at 1 and 3 threads ---------- */

struct tin {
    enum synap_dtype t;
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    const void *data; /* NULL: an omitted optional input */
};

struct harness {
    struct synap_graph *g;
    struct synap_node *n;
    struct synap_value out[3];
    size_t nout;
    struct synap_err err;
};

/* Node with nin inputs and nout outputs; outputs listed in `omit` stay
 * SYNAP_NONE (omitted), the others get placeholder tensor indices. */
static void h_new(struct harness *h, enum synap_op op, size_t nin, size_t nout, unsigned omit)
{
    memset(h, 0, sizeof *h);
    h->g = synap_graph_new();
    h->n = synap_graph_add_node(h->g, "n0", op, nin, nout);
    h->nout = nout;
    for (size_t j = 0; j < nout; j++)
        h->n->outputs[j] = omit & (1u << j) ? SYNAP_NONE : (uint32_t)j;
}

static void h_free(struct harness *h)
{
    for (size_t j = 0; j < h->nout; j++)
        free(h->out[j].data);
    synap_graph_free(h->g);
}

static size_t value_nbytes(const struct synap_value *v)
{
    return (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype);
}

/* Infers and runs the node. Inputs are passed as constants when `consts` is
 * set (as after folding), else infer sees no data. Returns -1 with h->err on
 * failure; outputs in h->out (the 3-thread run must match the 1-thread one). */
static int h_run_ex(struct harness *h, const struct tin *tin, size_t nin, int consts)
{
    struct synap_value in[9], out[3], out2[3];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (size_t i = 0; i < nin; i++) {
        if (!tin[i].data) continue;
        in[i].dtype = tin[i].t;
        in[i].rank = tin[i].rank;
        memcpy(in[i].dims, tin[i].dims, sizeof in[i].dims);
        in[i].data = consts ? (void *)tin[i].data : NULL;
    }
    struct synap_kctx c = {.graph = h->g,
                           .node = h->n,
                           .in = in,
                           .nin = nin,
                           .out = out,
                           .nout = h->nout,
                           .err = &h->err};
    const struct synap_kernel *k = synap_kernel_get(h->n->op);
    if (k->infer(&c) < 0) return -1;
    for (size_t i = 0; i < nin; i++)
        in[i].data = (void *)tin[i].data;
    void *scratch = synap_xaligned(c.scratch_nbytes ? c.scratch_nbytes : 64);
    c.scratch = scratch;
    for (size_t j = 0; j < h->nout; j++) {
        out[j].data = synap_xcalloc(1, value_nbytes(&out[j]) + 1);
        out2[j] = out[j];
        out2[j].data = synap_xcalloc(1, value_nbytes(&out[j]) + 1);
    }
    int rc = k->run(&c);
    if (rc == 0) {
        struct synap_pool *pool = synap_pool_new(3);
        struct synap_kctx c2 = c;
        c2.out = out2;
        c2.pool = pool;
        rc = k->run(&c2);
        synap_pool_free(pool);
        for (size_t j = 0; j < h->nout && rc == 0; j++)
            if (h->n->outputs[j] != SYNAP_NONE)
                assert_memory_equal(out[j].data, out2[j].data, value_nbytes(&out[j]) + 1);
    }
    for (size_t j = 0; j < h->nout; j++) {
        free(out2[j].data);
        h->out[j] = out[j];
    }
    free(scratch);
    return rc;
}

static int h_run(struct harness *h, const struct tin *tin, size_t nin)
{
    return h_run_ex(h, tin, nin, 1);
}

static void assert_close(const float *got, const float *want, size_t n, float atol, float rtol)
{
    for (size_t i = 0; i < n; i++) {
        float tol = atol + rtol * fabsf(want[i]);
        if (!(fabsf(got[i] - want[i]) <= tol))
            fail_msg("element %zu: got %.9g, want %.9g (tolerance %g)", i, got[i], want[i], tol);
    }
}

/* ---- golden data: S=3 steps, batch 2, input 4, hidden 3 --------------------- */

static const float lstm_bi_x[24] = {
    -0.250919759f, 0.90142864f,   0.463987887f,  0.197316974f,  -0.687962711f, -0.688010931f,
    -0.883832753f, 0.732352316f,  0.202230021f,  0.416145146f,  -0.958831012f, 0.939819694f,
    0.664885283f,  -0.575321794f, -0.636350095f, -0.633190989f, -0.391515523f, 0.0495128632f,
    -0.136109963f, -0.417541713f, 0.223705783f,  -0.721012294f, -0.415710717f, -0.267276317f,
};
static const float lstm_bi_w[96] = {
    -0.0527160205f, 0.342211157f,  -0.360391468f, 0.0170813259f,  0.110897481f,  -0.544259489f,
    0.129053816f,   -0.39537105f,  -0.521938086f, 0.538662672f,   0.558758438f,  0.370076805f,
    -0.234463483f,  -0.48279345f,  0.221079633f,  -0.0718170106f, -0.453554124f, -0.00578770787f,
    -0.558733761f,  0.491184473f,  -0.289464027f, 0.19502674f,    -0.22594671f,  0.024081625f,
    0.0560523346f,  -0.378174663f, 0.563501537f,  0.330159396f,   0.527398705f,  0.473792821f,
    0.117479973f,   0.50624907f,   -0.493808985f, -0.36482057f,   -0.545727253f, -0.209603608f,
    -0.133587256f,  -0.274381161f, 0.394484997f,  -0.171896011f,  -0.262878597f, 0.0512352996f,
    -0.430890918f,  0.362636387f,  -0.510539234f, 0.584264338f,   0.326693714f,  -0.361541182f,
    -0.593373477f,  0.378553718f,  0.248228818f,  0.274808615f,   0.32552442f,   -0.511146426f,
    -0.169841126f,  -0.46095714f,  0.435724109f,  0.147957757f,   -0.202922374f, -0.52372998f,
    -0.226821214f,  -0.209780008f, 0.275527418f,  0.165068969f,   0.46465528f,   -0.0333420895f,
    -0.456486911f,  0.255893737f,  0.312942058f,  0.0735326335f,  0.325160623f,  -0.00744528417f,
    0.0272793956f,  -0.086950779f, -0.569497049f, -0.470530301f,  -0.562285006f, 0.163692489f,
    -0.222772822f,  0.010284829f,  0.489079773f,  -0.300849319f,  -0.107540496f, 0.306661367f,
    -0.325442195f,  -0.50762409f,  -0.252298266f, -0.406534463f,  0.515637159f,  0.36974445f,
    0.160084501f,   0.44575271f,   0.364406496f,  -0.376115918f,  0.471070796f,  0.0472106896f,
};
static const float lstm_bi_r[72] = {
    0.368928194f,  0.475309551f,  -0.218395829f, -0.467937678f,  -0.326477796f,   -0.0874706507f,
    0.381617725f,  0.432876706f,  -0.59165746f,  0.0128967632f,  -0.0991067961f,  -0.333470613f,
    -0.456161559f, -0.194861799f, 0.531491637f,  -0.212156475f,  0.0225487463f,   0.24362275f,
    -0.163644478f, 0.566138506f,  0.554936767f,  -0.297861248f,  -0.00330179301f, -0.238946036f,
    -0.258191407f, -0.555735648f, 0.131477207f,  0.00321482797f, -0.538225472f,   -0.265624255f,
    0.489919066f,  -0.312525719f, -0.426126152f, -0.0126566878f, 0.58278054f,     -0.309533685f,
    0.206562653f,  0.313943535f,  -0.314834952f, 0.27385962f,    -0.158660248f,   0.158767f,
    0.160235658f,  0.0429296196f, -0.49165228f,  0.402363002f,   -0.215063915f,   -0.376177788f,
    -0.551069856f, 0.10907153f,   0.213077232f,  -0.580094576f,  0.01451167f,     -0.328205079f,
    0.174207345f,  -0.390760273f, 0.229125291f,  -0.135917589f,  0.524075985f,    -0.434974879f,
    -0.190720379f, -0.463831782f, 0.509632349f,  0.452807218f,   -0.290470034f,   0.191980854f,
    0.380666643f,  0.0662409738f, 0.0355806947f, -0.30977726f,   -0.48827669f,    0.476658911f,
};
static const float lstm_bi_b[48] = {
    0.240250841f,  0.0798608735f, -0.0965821221f, -0.0904742554f, 0.135573402f,  0.238266155f,
    0.232251853f,  0.167925328f,  0.0852189884f,  -0.249516025f,  -0.203022778f, 0.239132509f,
    0.0638574362f, -0.294481754f, -0.239117071f,  0.0981010646f,  -0.296963036f, -0.203515172f,
    0.0292402729f, 0.115137115f,  0.0911767557f,  -0.165438414f,  0.127307534f,  -0.157650545f,
    -0.104760177f, 0.147894844f,  0.0897797421f,  0.209534049f,   0.0945677385f, 0.0409851633f,
    -0.243795142f, -0.079370521f, -0.140878573f,  -0.153606221f,  0.283806324f,  -0.0641413629f,
    0.235227928f,  0.0786831751f, 0.176886782f,   0.00158225582f, 0.0461423323f, -0.00448938366f,
    -0.182854205f, 0.133471265f,  -0.131536588f,  -0.285410434f,  0.0872833803f, -0.193733588f,
};
static const float lstm_bi_h0[12] = {
    0.440458596f,   0.45392859f,  0.414864391f, -0.129841298f, -0.484543383f, 0.42831856f,
    -0.0718158484f, 0.466654807f, 0.463619977f, 0.353009462f,  -0.205551103f, -0.114902273f,
};
static const float lstm_bi_c0[12] = {
    0.351136684f,  -0.183077991f, -0.330507249f, 0.0568012632f, 0.436154783f,  0.196029797f,
    0.0700611696f, -0.402823508f, 0.115007229f,  0.490053862f,  -0.359915972f, 0.018329652f,
};
static const float lstm_bi_p[18] = {
    0.37737307f, 0.240768611f, 0.197015747f, 0.202484086f, -0.140508845f, -0.206408158f,
    0.30936116f, 0.3101134f,   0.367072314f, 0.413240552f, 0.0113423988f, 0.00151629467f,
    0.29829517f, 0.14996393f,  0.201966882f, 0.295792669f, 0.39000535f,   -0.162004843f,
};
static const float lstm_bi_y[36] = {
    -0.0896808197f, -0.0675205871f, 0.193509207f,   -0.101188764f, 0.353813619f,  -0.0182087547f,
    -0.286947904f,  0.156974243f,   -0.223174331f,  0.172378714f,  0.0253218555f, -0.106728724f,
    -0.1852091f,    0.0223958856f,  0.0314649477f,  -0.200445231f, 0.0150760385f, -0.0390943961f,
    -0.181985755f,  0.13933867f,    -0.182894574f,  0.214370253f,  0.0261834415f, -0.0587392727f,
    -0.22079968f,   -0.0341766664f, 0.104695339f,   0.0f,          0.0f,          0.0f,
    -0.0398676891f, -0.112974507f,  -0.0853727115f, 0.0f,          0.0f,          0.0f,
};
static const float lstm_bi_yh[12] = {
    -0.22079968f,  -0.0341766664f, 0.104695339f,  -0.200445231f, 0.0150760385f, -0.0390943961f,
    -0.286947904f, 0.156974243f,   -0.223174331f, 0.172378714f,  0.0253218555f, -0.106728724f,
};
static const float lstm_bi_yc[12] = {
    -0.484850017f, -0.0686891064f, 0.194033132f,  -0.446456196f, 0.0388105326f, -0.0824586774f,
    -0.648421553f, 0.3322091f,     -0.418681648f, 0.276296843f,  0.0438548862f, -0.332054781f,
};
static const float lstm_rev_x[24] = {
    -0.248834088f, -0.812036097f, 0.156560287f,  -0.928115427f, -0.068803966f, 0.0852892697f,
    -0.426917493f, 0.181666523f,  -0.938999474f, -0.925303638f, 0.645201147f,  -0.27961871f,
    -0.745878994f, 0.0444865189f, 0.539987087f,  -0.568357944f, 0.245780945f,  -0.829305053f,
    -0.896636546f, 0.0627092645f, 0.0812702402f, 0.274859816f,  0.45218268f,   0.951704144f,
};
static const float lstm_rev_w[48] = {
    0.0195604172f, -0.212452233f,  0.35422343f,    -0.275001287f, -0.0732342973f, -0.505852342f,
    -0.569579124f, 0.555178106f,   0.403176159f,   0.235169053f,  -0.109256469f,  -0.392046809f,
    -0.412275553f, -0.299708515f,  0.059071999f,   0.257515103f,  0.192236856f,   -0.264079332f,
    0.545838356f,  0.285476297f,   0.0652248636f,  0.134064898f,  -0.0964799225f, -0.302722812f,
    -0.172832787f, 0.30941534f,    -0.58272779f,   -0.46071282f,  -0.544796824f,  -0.551125467f,
    0.426552713f,  0.24438943f,    -0.0309914052f, -0.48259902f,  -0.0100609502f, -0.0318338759f,
    -0.392157763f, -0.0793780237f, -0.121794321f,  0.139020115f,  0.162112385f,   -0.545635164f,
    -0.150464863f, 0.151031896f,   0.00376351038f, 0.427787811f,  0.190432355f,   -0.404478699f,
};
static const float lstm_rev_r[36] = {
    -0.5153175f,   0.170903131f,  -0.568186402f,  0.102930695f,  0.528276265f,  0.0905690119f,
    -0.134196088f, 0.171945855f,  -0.0500965305f, 0.0547401458f, 0.529757798f,  -0.136676833f,
    0.55342865f,   0.48642078f,   -0.365050644f,  -0.516766429f, -0.479066402f, -0.578133821f,
    -0.486668438f, 0.219608128f,  -0.514573634f,  -0.217229247f, 0.413850367f,  -0.572073698f,
    0.377362192f,  -0.261774272f, -0.458202213f,  0.236084595f,  0.154731423f,  0.452966422f,
    0.28208524f,   0.364177108f,  -0.261558503f,  -0.387072533f, 0.300737709f,  0.368201673f,
};
static const float lstm_rev_b[24] = {
    0.294303089f,   -0.0524293929f, -0.0767891482f, 0.165847778f, -0.0955178738f, 0.258454382f,
    0.215047657f,   -0.0426035821f, 0.150522634f,   0.152725726f, -0.238125682f,  0.241531745f,
    0.00315142353f, 0.195874482f,   -0.107970238f,  0.237313941f, -0.06647899f,   -0.293497413f,
    0.243229181f,   -0.245227993f,  -0.108411819f,  0.270037174f, 0.270364285f,   0.0440627337f,
};
static const float lstm_rev_h0[6] = {
    0.131837219f, -0.0515544787f, -0.206789225f, -0.171335459f, 0.172518462f, 0.25237453f,
};
static const float lstm_rev_c0[6] = {
    0.291579038f, 0.289618134f, -0.408793896f, -0.00557969511f, -0.442441255f, 0.0495288819f,
};
static const float lstm_rev_p[9] = {
    -0.0584695004f, 0.387704194f, -0.149084985f, -0.382932991f, -0.357008308f,
    0.26151064f,    0.118218064f, -0.398877323f, -0.415893197f,
};
static const float lstm_rev_yh[6] = {
    0.252557345f, 0.145983465f, 0.0320884513f, 0.24507294f, 0.0164307534f, 0.0786368347f,
};
static const float lstm_rev_yc[6] = {
    0.44461474f, 0.314769634f, 0.0651186708f, 0.420425675f, 0.033583319f, 0.161596822f,
};
static const float gru_bi_x[24] = {
    0.40193826f,  -0.854474008f, 0.64372009f,    0.412484467f,  -0.837302446f,  -0.83032459f,
    0.973279178f, -0.251458406f, -0.258715719f,  0.625599146f,  0.894497156f,   0.972002149f,
    0.506756365f, -0.247480825f, -0.832998574f,  0.554293811f,  0.116808496f,   -0.151555985f,
    0.812708795f, -0.777605057f, -0.0147497915f, -0.977292717f, -0.0626787171f, -0.887393475f,
};
static const float gru_bi_w[72] = {
    -0.457418501f,  -0.45896849f,   0.179052368f,  0.295253843f,  0.100042515f,   0.554607034f,
    -0.150155306f,  -0.257145494f,  0.442318946f,  -0.331685007f, 0.555867076f,   -0.585414648f,
    0.563854575f,   -0.548208117f,  0.469371736f,  0.0332413316f, 0.591557741f,   -0.511444151f,
    0.064625144f,   0.563163042f,   0.0277174134f, 0.15527837f,   0.234898433f,   -0.0545507222f,
    0.15306969f,    0.101177171f,   0.481389612f,  -0.545464337f, -0.262844175f,  0.540493786f,
    0.468316555f,   -0.0532118976f, 0.144159123f,  -0.267142594f, -0.374254614f,  -0.0435619131f,
    -0.175977319f,  0.100387335f,   -0.506718457f, 0.56927377f,   0.58345288f,    0.237794057f,
    0.0433156379f,  -0.228566855f,  0.376554012f,  0.221677408f,  -0.404859662f,  0.493112624f,
    0.387044698f,   0.539759874f,   0.270863414f,  0.136098236f,  -0.0981083587f, 0.519274175f,
    0.439276665f,   -0.545737624f,  -0.568359613f, -0.148243964f, 0.372664005f,   0.58473134f,
    -0.419499725f,  0.112956859f,   -0.14293097f,  0.563897252f,  0.410542697f,   0.405994445f,
    -0.0375682078f, -0.102216594f,  -0.271911502f, -0.532349408f, 0.437666863f,   0.375481218f,
};
static const float gru_bi_r[54] = {
    0.599661231f,   0.595964193f,   0.066518046f,  0.322784901f,    0.533718884f,  0.419576883f,
    -0.303182274f,  -0.0593470372f, -0.445008695f, 0.544861257f,    0.127409562f,  -0.325628638f,
    0.206040815f,   0.141753882f,   -0.170204744f, -0.463730901f,   0.205887839f,  0.0243692417f,
    0.326782078f,   0.0241962019f,  0.422617793f,  0.0622882061f,   0.0731255636f, 0.451984316f,
    -0.115820557f,  -0.439181715f,  -0.565460801f, 0.306164712f,    0.144371465f,  0.244895726f,
    -0.344442993f,  -0.43635422f,   -0.582546413f, -0.179294929f,   0.107901223f,  -0.129307151f,
    -0.0750300959f, 0.484990448f,   -0.182093441f, 0.0167873874f,   0.340383619f,  -0.124148659f,
    0.146504045f,   0.434836447f,   0.539424777f,  -0.423511833f,   0.511905134f,  -0.00946044829f,
    -0.290106744f,  -0.0490370914f, 0.576039076f,  -0.00885828678f, -0.20549807f,  0.160081029f,
};
static const float gru_bi_b[36] = {
    -0.155912623f, -0.254482001f, -0.222672164f,  -0.223172501f, -0.208858386f,  -0.216703698f,
    0.0845248476f, -0.190871954f, -0.0925996304f, 0.238073051f,  -0.0156230163f, 0.10053464f,
    -0.196608081f, -0.184626594f, -0.27547884f,   -0.198638961f, -0.132845789f,  -0.193793714f,
    -0.246778473f, -0.227618471f, -0.0235327389f, -0.176199764f, -0.0814380869f, 0.00205036253f,
    0.114236899f,  -0.276412725f, 0.179646239f,   0.0767402351f, -0.250944585f,  0.224147171f,
    0.252523452f,  -0.263353229f, -0.133873418f,  0.183720767f,  0.148955807f,   -0.189287394f,
};
static const float gru_bi_h0[12] = {
    -0.290650666f, -0.129527897f, -0.0154770147f, 0.118254773f, -0.131086364f, -0.0374652855f,
    0.247470945f,  -0.463316798f, -0.247563049f,  0.213349581f, 0.395206839f,  0.0116774421f,
};
static const float gru_bi_y[36] = {
    -0.21507857f,  -0.449765147f, -0.0817015046f, 0.164972919f,   -0.100931154f,  -0.206744586f,
    0.207689274f,  -0.365688696f, 0.360384927f,   0.197380249f,   -0.527412068f,  0.536544723f,
    -0.222861264f, 0.108892872f,  -0.414008871f,  -0.239895584f,  -0.515698679f,  0.0457520697f,
    0.436626802f,  -0.324978721f, 0.0548330031f,  0.129416646f,   -0.0805166396f, 0.0101325989f,
    0.0f,          0.0f,          0.0f,           0.00131929807f, -0.638351016f,  0.0697644901f,
    0.0f,          0.0f,          0.0f,           -0.0811196289f, -0.17337645f,   0.0761656074f,
};
static const float gru_bi_yh[12] = {
    -0.222861264f, 0.108892872f,  -0.414008871f, 0.00131929807f, -0.638351016f, 0.0697644901f,
    0.207689274f,  -0.365688696f, 0.360384927f,  0.197380249f,   -0.527412068f, 0.536544723f,
};
static const float gru_lbr_x[24] = {
    0.0642269701f, -0.785655975f, -0.105175264f, 0.0652345344f, -0.515058994f,   -0.461513549f,
    -0.245431677f, -0.959857583f, -0.355841666f, -0.577103972f, -0.345005304f,   -0.760475755f,
    0.781054556f,  0.1871849f,    0.358204633f,  0.578342497f,  -0.00311560207f, -0.826159418f,
    0.0742130801f, 0.173682243f,  0.49087894f,   -0.136680901f, -0.74483937f,    -0.432448179f,
};
static const float gru_lbr_w[36] = {
    -0.164301246f, 0.175100684f,  0.0849339664f, -0.172683924f, 0.583818316f,   0.12692979f,
    -0.315327853f, -0.477861047f, -0.416569024f, -0.304850727f, -0.407182366f,  -0.376119584f,
    -0.257885784f, -0.39195168f,  0.476118505f,  -0.503719509f, 0.0294136666f,  -0.107523806f,
    0.578854322f,  -0.465553313f, -0.122573279f, 0.563364506f,  0.438608557f,   0.380486488f,
    -0.290516615f, -0.394934893f, 0.202371866f,  0.51525116f,   0.0681154728f,  0.0859352276f,
    -0.264025092f, 0.323391527f,  -0.375547498f, -0.211584911f, -0.0894762725f, 0.00913245417f,
};
static const float gru_lbr_r[27] = {
    -0.309108317f, -0.462195814f,  0.132744044f,  -0.253643334f, 0.0974858627f, -0.414764732f,
    -0.022631878f, 0.039107319f,   -0.537811756f, -0.196074873f, -0.438702375f, -0.52395004f,
    0.587952256f,  -0.213175386f,  0.371849328f,  -0.29443121f,  0.21780327f,   0.312273443f,
    0.114766486f,  -0.0341085754f, -0.105790906f, -0.181358084f, 0.51543498f,   0.396743298f,
    0.558032274f,  -0.450843334f,  0.277040958f,
};
static const float gru_lbr_b[18] = {
    0.263004273f,  -0.191260159f, -0.260102242f,  0.144672394f,  0.0446838662f,  0.205097273f,
    -0.216136575f, 0.177160382f,  -0.179023609f,  -0.201806441f, -0.201440528f,  0.188744828f,
    0.0991183296f, 0.0138392551f, -0.0847017094f, 0.226320326f,  -0.0645329356f, 0.18995966f,
};
static const float gru_lbr_h0[6] = {
    -0.060865093f, -0.12305557f, -0.0373202153f, -0.198622122f, 0.247609377f, 0.00272038998f,
};
static const float gru_lbr_y[18] = {
    0.0121466505f,    0.0102174356f, 0.0690117879f, -0.180036062f,  -0.164082184f, 0.0840707294f,
    -0.116667857f,    -0.123911478f, 0.0314064963f, -0.0237538439f, 0.277877374f,  -0.346949302f,
    -0.000655487312f, 0.213939072f,  -0.105021503f, -0.368531096f,  0.26451164f,   -0.120173117f,
};
static const float gru_lbr_yh[6] = {
    0.0121466505f, 0.0102174356f, 0.0690117879f, -0.0237538439f, 0.277877374f, -0.346949302f,
};
static const float rnn_bi_x[24] = {
    -0.535574615f, 0.799149156f,  -0.23221755f,  0.0871057212f, 0.812944233f,  0.248475999f,
    -0.76620394f,  0.879664242f,  0.255416095f,  -0.330188781f, -0.721455872f, 0.588050365f,
    0.240145504f,  0.0669221804f, 0.787785172f,  0.577194393f,  -0.696650267f, -0.37655586f,
    -0.503021717f, 0.487892598f,  -0.932935119f, 0.139779374f,  0.524917364f,  0.753531277f,
};
static const float rnn_bi_w[24] = {
    -0.189501897f, 0.385508776f,  -0.467241913f,  0.415742755f,  -0.447013617f, -0.123255253f,
    0.356754452f,  -0.42009908f,  -0.324898332f,  0.266703069f,  0.264043838f,  0.169377163f,
    0.232738137f,  0.0512693338f, -0.297841132f,  -0.185164809f, -0.382082731f, 0.490140676f,
    0.100070156f,  -0.118978299f, -0.0455930345f, 0.536740005f,  -0.415978312f, 0.103475802f,
};
static const float rnn_bi_r[18] = {
    0.00706641469f, 0.133745089f, -0.578267753f, 0.4465487f,    0.518541932f,   0.078159824f,
    0.235980988f,   0.506999254f, 0.248686358f,  -0.416953146f, 0.0915460289f,  0.128058061f,
    -0.0910431966f, 0.28373307f,  0.521240413f,  0.510682225f,  -0.0589927547f, -0.464114338f,
};
static const float rnn_bi_b[12] = {
    0.290904731f,  0.203338847f,   -0.225202397f, 0.252505124f,   0.22193782f,  0.0113028344f,
    0.0547652617f, -0.0605983771f, -0.267143011f, -0.0988816544f, 0.181712076f, -0.297220796f,
};
static const float rnn_bi_h0[12] = {
    -0.166500822f, -0.101831309f,  0.037395604f,  0.419855624f,   -0.153654009f, -0.153046802f,
    0.237501249f,  -0.0477820598f, -0.275395185f, -0.0475604832f, -0.359142989f, -0.323613018f,
};
static const float rnn_bi_y[36] = {
    1.06127594f,  0.322517107f, 0.0450617267f, 1.27978012f,  0.0f,         0.0f,
    0.453085651f, 0.729265499f, 0.509548614f,  0.536552663f, 0.510217964f, 0.493729692f,
    0.9738662f,   0.492049738f, 0.0f,          0.404622506f, 0.919731031f, 0.333703061f,
    0.507049378f, 0.512108117f, 0.398893343f,  0.408018345f, 0.599487392f, 0.301157779f,
    1.04082243f,  1.08870995f,  0.341113182f,  0.774999799f, 1.37947657f,  1.03749484f,
    0.424397463f, 0.478915754f, 0.444464708f,  0.353329027f, 0.560380757f, 0.391718741f,
};
static const float rnn_bi_yh[12] = {
    1.04082243f,  1.08870995f,  0.341113182f, 0.774999799f, 1.37947657f,  1.03749484f,
    0.453085651f, 0.729265499f, 0.509548614f, 0.536552663f, 0.510217964f, 0.493729692f,
};

#define S 3
#define BT 2
#define I 4
#define H 3

static const int32_t lens_32[2] = {3, 2};
static const int32_t lens_23[2] = {2, 3};

static void test_lstm_bidirectional_seq_lens(void **state)
{
    (void)state;
    struct harness h;
    h_new(&h, SYNAP_OP_LSTM, 8, 3, 0);
    synap_node_set_string(h.g, h.n, "direction", "bidirectional");
    synap_node_set_int(h.g, h.n, "hidden_size", H);
    struct tin in[8] = {
        {SYNAP_DTYPE_FLOAT32, 3, {S, BT, I}, lstm_bi_x},
        {SYNAP_DTYPE_FLOAT32, 3, {2, 4 * H, I}, lstm_bi_w},
        {SYNAP_DTYPE_FLOAT32, 3, {2, 4 * H, H}, lstm_bi_r},
        {SYNAP_DTYPE_FLOAT32, 2, {2, 8 * H}, lstm_bi_b},
        {SYNAP_DTYPE_INT32, 1, {BT}, lens_32},
        {SYNAP_DTYPE_FLOAT32, 3, {2, BT, H}, lstm_bi_h0},
        {SYNAP_DTYPE_FLOAT32, 3, {2, BT, H}, lstm_bi_c0},
        {SYNAP_DTYPE_FLOAT32, 2, {2, 3 * H}, lstm_bi_p},
    };
    assert_int_equal(h_run(&h, in, 8), 0);
    assert_int_equal(h.out[0].rank, 4);
    int64_t yd[4] = {S, 2, BT, H};
    assert_memory_equal(h.out[0].dims, yd, sizeof yd);
    assert_close(h.out[0].data, lstm_bi_y, 36, 1e-5f, 1e-4f);
    assert_close(h.out[1].data, lstm_bi_yh, 12, 1e-5f, 1e-4f);
    assert_close(h.out[2].data, lstm_bi_yc, 12, 1e-5f, 1e-4f);
    /* batch 1 has length 2: its step-2 outputs are exactly 0 in both directions */
    const float *y = h.out[0].data;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < H; k++)
            assert_true(y[((2 * 2 + d) * BT + 1) * H + k] == 0.0f);
    h_free(&h);
}

static void test_lstm_reverse_layout1_clip_input_forget(void **state)
{
    (void)state;
    struct harness h;
    h_new(&h, SYNAP_OP_LSTM, 8, 3, 1u << 0); /* Y omitted */
    synap_node_set_string(h.g, h.n, "direction", "reverse");
    synap_node_set_int(h.g, h.n, "layout", 1);
    synap_node_set_float(h.g, h.n, "clip", 0.5f);
    synap_node_set_int(h.g, h.n, "input_forget", 1);
    struct tin in[8] = {
        {SYNAP_DTYPE_FLOAT32, 3, {BT, S, I}, lstm_rev_x},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 4 * H, I}, lstm_rev_w},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 4 * H, H}, lstm_rev_r},
        {SYNAP_DTYPE_FLOAT32, 2, {1, 8 * H}, lstm_rev_b},
        {0},
        {SYNAP_DTYPE_FLOAT32, 3, {BT, 1, H}, lstm_rev_h0},
        {SYNAP_DTYPE_FLOAT32, 3, {BT, 1, H}, lstm_rev_c0},
        {SYNAP_DTYPE_FLOAT32, 2, {1, 3 * H}, lstm_rev_p},
    };
    assert_int_equal(h_run(&h, in, 8), 0);
    int64_t hd[3] = {BT, 1, H};
    assert_memory_equal(h.out[1].dims, hd, sizeof hd);
    assert_close(h.out[1].data, lstm_rev_yh, 6, 1e-5f, 1e-4f);
    assert_close(h.out[2].data, lstm_rev_yc, 6, 1e-5f, 1e-4f);
    h_free(&h);
}

static void test_gru_bidirectional_seq_lens(void **state)
{
    (void)state;
    struct harness h;
    h_new(&h, SYNAP_OP_GRU, 6, 2, 0);
    synap_node_set_string(h.g, h.n, "direction", "bidirectional");
    struct tin in[6] = {
        {SYNAP_DTYPE_FLOAT32, 3, {S, BT, I}, gru_bi_x},
        {SYNAP_DTYPE_FLOAT32, 3, {2, 3 * H, I}, gru_bi_w},
        {SYNAP_DTYPE_FLOAT32, 3, {2, 3 * H, H}, gru_bi_r},
        {SYNAP_DTYPE_FLOAT32, 2, {2, 6 * H}, gru_bi_b},
        {SYNAP_DTYPE_INT32, 1, {BT}, lens_23},
        {SYNAP_DTYPE_FLOAT32, 3, {2, BT, H}, gru_bi_h0},
    };
    assert_int_equal(h_run(&h, in, 6), 0);
    assert_close(h.out[0].data, gru_bi_y, 36, 1e-5f, 1e-4f);
    assert_close(h.out[1].data, gru_bi_yh, 12, 1e-5f, 1e-4f);
    h_free(&h);
}

static void test_gru_linear_before_reset_layout1(void **state)
{
    (void)state;
    struct harness h;
    h_new(&h, SYNAP_OP_GRU, 6, 2, 0);
    synap_node_set_string(h.g, h.n, "direction", "reverse");
    synap_node_set_int(h.g, h.n, "layout", 1);
    synap_node_set_int(h.g, h.n, "linear_before_reset", 1);
    struct tin in[6] = {
        {SYNAP_DTYPE_FLOAT32, 3, {BT, S, I}, gru_lbr_x},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 3 * H, I}, gru_lbr_w},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 3 * H, H}, gru_lbr_r},
        {SYNAP_DTYPE_FLOAT32, 2, {1, 6 * H}, gru_lbr_b},
        {0},
        {SYNAP_DTYPE_FLOAT32, 3, {BT, 1, H}, gru_lbr_h0},
    };
    assert_int_equal(h_run(&h, in, 6), 0);
    int64_t yd[4] = {BT, S, 1, H};
    assert_memory_equal(h.out[0].dims, yd, sizeof yd);
    assert_close(h.out[0].data, gru_lbr_y, 18, 1e-5f, 1e-4f);
    assert_close(h.out[1].data, gru_lbr_yh, 6, 1e-5f, 1e-4f);
    h_free(&h);
}

static void test_rnn_bidirectional_named_activations(void **state)
{
    (void)state;
    struct harness h;
    h_new(&h, SYNAP_OP_RNN, 6, 2, 0);
    synap_node_set_string(h.g, h.n, "direction", "bidirectional");
    const char *acts[2] = {"Relu", "sigmoid"}; /* names are case-insensitive */
    synap_node_set_strings(h.g, h.n, "activations", acts, 2);
    struct tin in[6] = {
        {SYNAP_DTYPE_FLOAT32, 3, {S, BT, I}, rnn_bi_x},
        {SYNAP_DTYPE_FLOAT32, 3, {2, H, I}, rnn_bi_w},
        {SYNAP_DTYPE_FLOAT32, 3, {2, H, H}, rnn_bi_r},
        {SYNAP_DTYPE_FLOAT32, 2, {2, 2 * H}, rnn_bi_b},
        {0},
        {SYNAP_DTYPE_FLOAT32, 3, {2, BT, H}, rnn_bi_h0},
    };
    assert_int_equal(h_run(&h, in, 6), 0);
    assert_close(h.out[0].data, rnn_bi_y, 36, 1e-5f, 1e-4f);
    assert_close(h.out[1].data, rnn_bi_yh, 12, 1e-5f, 1e-4f);
    h_free(&h);
}

/* The onnx test_lstm_defaults case: constant weights 0.1, Y_h only. */
static void test_lstm_onnx_defaults(void **state)
{
    (void)state;
    static const float x[6] = {1, 2, 3, 4, 5, 6};
    float w[12 * 2], r[12 * 3];
    for (int i = 0; i < 24; i++)
        w[i] = 0.1f;
    for (int i = 0; i < 36; i++)
        r[i] = 0.1f;
    static const float want[9] = {0.0952412f,  0.0952412f,  0.0952412f,  0.25606447f, 0.25606447f,
                                  0.25606447f, 0.40323776f, 0.40323776f, 0.40323776f};
    struct harness h;
    h_new(&h, SYNAP_OP_LSTM, 3, 2, 1u << 0);
    synap_node_set_int(h.g, h.n, "hidden_size", 3);
    struct tin in[3] = {
        {SYNAP_DTYPE_FLOAT32, 3, {1, 3, 2}, x},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 12, 2}, w},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 12, 3}, r},
    };
    assert_int_equal(h_run(&h, in, 3), 0);
    assert_close(h.out[1].data, want, 9, 1e-5f, 1e-4f);
    h_free(&h);
}

static void test_errors(void **state)
{
    (void)state;
    struct harness h;
    static const float x[6] = {0}, w[24] = {0}, r[36] = {0};
    struct tin in[3] = {
        {SYNAP_DTYPE_FLOAT32, 3, {1, 3, 2}, x},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 12, 2}, w},
        {SYNAP_DTYPE_FLOAT32, 3, {1, 12, 3}, r},
    };
    h_new(&h, SYNAP_OP_LSTM, 3, 3, 0);
    synap_node_set_string(h.g, h.n, "direction", "sideways");
    assert_int_equal(h_run(&h, in, 3), -1);
    assert_string_equal(h.err.msg, "attribute 'direction': unknown value 'sideways'");
    h_free(&h);

    h_new(&h, SYNAP_OP_LSTM, 3, 3, 0);
    const char *acts[3] = {"Sigmoid", "Tanh", "Swish"};
    synap_node_set_strings(h.g, h.n, "activations", acts, 3);
    assert_int_equal(h_run(&h, in, 3), -1);
    assert_string_equal(h.err.msg, "attribute 'activations': unsupported function 'Swish'");
    h_free(&h);

    h_new(&h, SYNAP_OP_GRU, 3, 2, 0); /* LSTM-shaped weights for a GRU */
    assert_int_equal(h_run(&h, in, 3), -1);
    assert_string_equal(h.err.msg, "input 1 (W): expected shape [1, 9, 2], got [1, 12, 2]");
    h_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lstm_bidirectional_seq_lens),
        cmocka_unit_test(test_lstm_reverse_layout1_clip_input_forget),
        cmocka_unit_test(test_gru_bidirectional_seq_lens),
        cmocka_unit_test(test_gru_linear_before_reset_layout1),
        cmocka_unit_test(test_rnn_bidirectional_named_activations),
        cmocka_unit_test(test_lstm_onnx_defaults),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
