/* Normalizations: BatchNormalization (inference), InstanceNormalization,
 * LayerNormalization, LRN, MeanVarianceNormalization and LpNormalization. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

static int check_float(struct synap_kctx *c, size_t i)
{
    if (!synap_dtype_is_float(c->in[i].dtype))
        return synap_errf(c->err, "input %zu: expected a float dtype, got %s", i,
                          synap_dtype_name(c->in[i].dtype));
    return 0;
}

static void same_shape(struct synap_kctx *c, size_t out, const struct synap_value *like)
{
    c->out[out].dtype = like->dtype;
    c->out[out].rank = like->rank;
    memcpy(c->out[out].dims, like->dims, sizeof like->dims);
}

/* An output the node lists (absent optional outputs are SYNAP_NONE). */
static bool has_output(const struct synap_kctx *c, size_t j)
{
    return j < c->nout && j < c->node->noutputs && c->node->outputs[j] != SYNAP_NONE;
}

/* Inputs 1.. of BatchNormalization / InstanceNormalization: one value per channel. */
static int check_per_channel(struct synap_kctx *c, size_t first, size_t last, int64_t ch)
{
    static const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (size_t i = first; i <= last; i++) {
        const struct synap_value *v = &c->in[i];
        if (check_float(c, i) < 0) return -1;
        if (v->rank != 1 || v->dims[0] != ch) {
            char buf[64];
            return synap_errf(c->err, "input %zu (%s): expected shape [%lld], got %s", i, names[i],
                              (long long)ch, synap_shape_str(v->rank, v->dims, buf, sizeof buf));
        }
    }
    return 0;
}

/* N x C x spatial view of an NC... tensor. */
static void nc_split(const struct synap_value *x, int64_t *n, int64_t *ch, int64_t *sp)
{
    *n = x->dims[0];
    *ch = x->dims[1];
    *sp = 1;
    for (int d = 2; d < x->rank; d++)
        *sp *= x->dims[d];
}

/* ---- BatchNormalization ------------------------------------------------------ */

static int batchnorm_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (synap_attr_int(c->node, "training_mode", 0) != 0)
        return synap_errf(c->err, "training_mode=1 is not supported: synap runs inference only");
    if (check_float(c, 0) < 0) return -1;
    if (x->rank < 2) {
        char buf[64];
        return synap_errf(c->err, "input 0 (X): expected rank >= 2 (N x C x ...), got %s",
                          synap_shape_str(x->rank, x->dims, buf, sizeof buf));
    }
    if (check_per_channel(c, 1, 4, x->dims[1]) < 0) return -1;
    same_shape(c, 0, x);
    /* running_mean / running_var exist in training mode only; should a model
     * list them anyway, inference leaves the statistics unchanged. */
    for (size_t j = 1; j < c->nout && j < 3; j++)
        same_shape(c, j, &c->in[j + 2]);
    return 0;
}

struct bn_job {
    struct synap_kctx *c;
    int64_t ch, sp;
    double eps;
};

static void batchnorm_planes(void *arg, size_t begin, size_t end)
{
    const struct bn_job *j = arg;
    const struct synap_value *in = j->c->in;
    struct synap_value *y = &j->c->out[0];
    for (size_t p = begin; p < end; p++) {
        int64_t ch = (int64_t)p % j->ch;
        /* y = (x - mean) / sqrt(var + eps) * scale + B folded into y = x*a + b. */
        double a = synap_ld(&in[1], ch) / sqrt(synap_ld(&in[4], ch) + j->eps);
        double b = synap_ld(&in[2], ch) - synap_ld(&in[3], ch) * a;
        int64_t base = (int64_t)p * j->sp;
        for (int64_t i = 0; i < j->sp; i++)
            synap_st(y, base + i, synap_ld(&in[0], base + i) * a + b);
    }
}

static int batchnorm_run(struct synap_kctx *c)
{
    if (synap_attr_int(c->node, "training_mode", 0) != 0)
        return synap_errf(c->err, "training_mode=1 is not supported: synap runs inference only");
    int64_t n, ch, sp;
    nc_split(&c->in[0], &n, &ch, &sp);
    struct bn_job j = {c, ch, sp, synap_attr_float(c->node, "epsilon", 1e-5f)};
    if (n * ch > 0)
        synap_pool_for(c->pool, (size_t)(n * ch), (size_t)(4096 / (sp + 1)) + 1, batchnorm_planes,
                       &j);
    for (size_t o = 1; o < c->nout && o < 3; o++)
        if (has_output(c, o))
            memcpy(c->out[o].data, c->in[o + 2].data,
                   (size_t)ch * synap_dtype_size(c->in[o + 2].dtype));
    return 0;
}

/* ---- InstanceNormalization ----------------------------------------------------- */

static int instnorm_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_float(c, 0) < 0) return -1;
    if (x->rank < 2) {
        char buf[64];
        return synap_errf(c->err, "input 0 (X): expected rank >= 2 (N x C x ...), got %s",
                          synap_shape_str(x->rank, x->dims, buf, sizeof buf));
    }
    if (check_per_channel(c, 1, 2, x->dims[1]) < 0) return -1;
    same_shape(c, 0, x);
    return 0;
}

static void instnorm_planes(void *arg, size_t begin, size_t end)
{
    const struct bn_job *j = arg;
    const struct synap_value *in = j->c->in;
    struct synap_value *y = &j->c->out[0];
    for (size_t p = begin; p < end; p++) {
        int64_t ch = (int64_t)p % j->ch, base = (int64_t)p * j->sp;
        /* Two passes (mean, then squared deviations): no cancellation. */
        double mean = 0, var = 0;
        for (int64_t i = 0; i < j->sp; i++)
            mean += synap_ld(&in[0], base + i);
        mean /= (double)j->sp;
        for (int64_t i = 0; i < j->sp; i++) {
            double d = synap_ld(&in[0], base + i) - mean;
            var += d * d;
        }
        var /= (double)j->sp;
        double a = synap_ld(&in[1], ch) / sqrt(var + j->eps), b = synap_ld(&in[2], ch);
        for (int64_t i = 0; i < j->sp; i++)
            synap_st(y, base + i, (synap_ld(&in[0], base + i) - mean) * a + b);
    }
}

static int instnorm_run(struct synap_kctx *c)
{
    int64_t n, ch, sp;
    nc_split(&c->in[0], &n, &ch, &sp);
    struct bn_job j = {c, ch, sp, synap_attr_float(c->node, "epsilon", 1e-5f)};
    if (n * ch > 0 && sp > 0)
        synap_pool_for(c->pool, (size_t)(n * ch), (size_t)(4096 / (sp + 1)) + 1, instnorm_planes,
                       &j);
    return 0;
}

/* ---- LayerNormalization -------------------------------------------------------- */

/* Offsets of Scale / B inside the normalized block X.dims[axis:], which they
 * broadcast to (unidirectionally, numpy rules). */
struct bcast {
    int rank;
    int64_t dims[SYNAP_MAX_RANK], strides[SYNAP_MAX_RANK];
    int64_t nelem; /* == block size: identity; 1: scalar */
};

static int layernorm_bcast(struct synap_kctx *c, size_t i, int64_t axis, struct bcast *b)
{
    const struct synap_value *x = &c->in[0], *v = &c->in[i];
    int nrank = x->rank - (int)axis;
    char bx[64], bv[64];
    if (v->rank > nrank) goto bad;
    for (int d = 0; d < v->rank; d++) {
        int64_t want = x->dims[x->rank - v->rank + d];
        if (v->dims[d] != want && v->dims[d] != 1) goto bad;
    }
    b->rank = nrank;
    memcpy(b->dims, x->dims + axis, (size_t)nrank * sizeof(int64_t));
    synap_broadcast_strides(v->rank, v->dims, nrank, b->dims, b->strides);
    b->nelem = synap_value_nelem(v);
    return 0;
bad:
    return synap_errf(c->err, "input %zu: shape %s does not broadcast to X's normalized dims %s", i,
                      synap_shape_str(v->rank, v->dims, bv, sizeof bv),
                      synap_shape_str(nrank, x->dims + axis, bx, sizeof bx));
}

static int64_t bcast_off(const struct bcast *b, int64_t j, int64_t block)
{
    if (b->nelem == block) return j;
    if (b->nelem == 1) return 0;
    int64_t off = 0;
    for (int d = b->rank - 1; d >= 0; d--) {
        off += (j % b->dims[d]) * b->strides[d];
        j /= b->dims[d];
    }
    return off;
}

static int layernorm_axis(struct synap_kctx *c, int64_t *axis)
{
    return synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), c->in[0].rank, axis);
}

static int layernorm_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis;
    struct bcast b;
    if (check_float(c, 0) < 0 || check_float(c, 1) < 0) return -1;
    if (x->rank < 1) return synap_errf(c->err, "input 0 (X): expected rank >= 1, got 0");
    if (layernorm_axis(c, &axis) < 0 || layernorm_bcast(c, 1, axis, &b) < 0) return -1;
    if (synap_has_input(c, 2) && (check_float(c, 2) < 0 || layernorm_bcast(c, 2, axis, &b) < 0))
        return -1;
    same_shape(c, 0, x);
    /* Mean and InvStdDev: X's shape with the normalized dims set to 1, in
     * the stash precision (float32, stash_type 1, the only one ONNX Runtime has). */
    for (size_t j = 1; j < c->nout && j < 3; j++) {
        same_shape(c, j, x);
        c->out[j].dtype = SYNAP_DTYPE_FLOAT32;
        for (int d = (int)axis; d < x->rank; d++)
            c->out[j].dims[d] = 1;
    }
    return 0;
}

struct ln_job {
    struct synap_kctx *c;
    int64_t block;
    double eps;
    struct bcast scale, bias;
    bool has_bias;
};

static void layernorm_rows(void *arg, size_t begin, size_t end)
{
    const struct ln_job *j = arg;
    struct synap_kctx *c = j->c;
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t n = j->block;
    for (size_t r = begin; r < end; r++) {
        int64_t base = (int64_t)r * n;
        /* As the ONNX function: D = X - mean, var = mean(D*D). */
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++)
            mean += synap_ld(x, base + i);
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double d = synap_ld(x, base + i) - mean;
            var += d * d;
        }
        var /= (double)n;
        double inv = 1.0 / sqrt(var + j->eps);
        for (int64_t i = 0; i < n; i++) {
            double v = (synap_ld(x, base + i) - mean) * inv * synap_ld(&c->in[1], bcast_off(&j->scale, i, n));
            if (j->has_bias) v += synap_ld(&c->in[2], bcast_off(&j->bias, i, n));
            synap_st(y, base + i, v);
        }
        if (has_output(c, 1)) ((float *)c->out[1].data)[r] = (float)mean;
        if (has_output(c, 2)) ((float *)c->out[2].data)[r] = (float)inv;
    }
}

static int layernorm_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis;
    struct ln_job j = {.c = c, .eps = synap_attr_float(c->node, "epsilon", 1e-5f)};
    if (layernorm_axis(c, &axis) < 0 || layernorm_bcast(c, 1, axis, &j.scale) < 0) return -1;
    j.has_bias = synap_has_input(c, 2);
    if (j.has_bias && layernorm_bcast(c, 2, axis, &j.bias) < 0) return -1;
    int64_t rows = 1;
    j.block = 1;
    for (int d = 0; d < x->rank; d++)
        *(d < axis ? &rows : &j.block) *= x->dims[d];
    if (rows == 0 || j.block == 0) return 0;
    synap_pool_for(c->pool, (size_t)rows, (size_t)(4096 / j.block) + 1, layernorm_rows, &j);
    return 0;
}

/* ---- LRN ------------------------------------------------------------------------ */

static int lrn_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_float(c, 0) < 0) return -1;
    if (x->rank < 2)
        return synap_errf(c->err, "input 0: expected rank >= 2 (N x C x ...), got %d", x->rank);
    if (!synap_node_attr(c->node, "size"))
        return synap_errf(c->err, "attribute 'size' is required");
    int64_t size = synap_attr_int(c->node, "size", 0);
    if (size < 1)
        return synap_errf(c->err, "attribute 'size' must be >= 1, got %lld", (long long)size);
    same_shape(c, 0, x);
    return 0;
}

static int lrn_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t size = synap_attr_int(c->node, "size", 1);
    double alpha = synap_attr_float(c->node, "alpha", 1e-4f);
    double beta = synap_attr_float(c->node, "beta", 0.75f);
    double bias = synap_attr_float(c->node, "bias", 1.0f);
    int64_t n, ch, sp;
    nc_split(x, &n, &ch, &sp);
    /* The window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)]. */
    int64_t lo = (size - 1) / 2, hi = size / 2;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < ch; k++) {
            int64_t c0 = k - lo < 0 ? 0 : k - lo, c1 = k + hi >= ch ? ch - 1 : k + hi;
            for (int64_t s = 0; s < sp; s++) {
                double sq = 0;
                for (int64_t q = c0; q <= c1; q++) {
                    double v = synap_ld(x, (b * ch + q) * sp + s);
                    sq += v * v;
                }
                int64_t e = (b * ch + k) * sp + s;
                synap_st(y, e, synap_ld(x, e) / pow(bias + alpha / (double)size * sq, beta));
            }
        }
    return 0;
}

/* ---- MeanVarianceNormalization ------------------------------------------------------ */

/* mask of the normalized axes (default [0, 2, 3]). */
static int mvn_axes(struct synap_kctx *c, bool *mask)
{
    static const int64_t def[] = {0, 2, 3};
    const int64_t *axes;
    size_t n = synap_attr_ints(c->node, "axes", &axes);
    if (!synap_node_attr(c->node, "axes")) {
        axes = def;
        n = 3;
    }
    int rank = c->in[0].rank;
    for (int d = 0; d < rank; d++)
        mask[d] = false;
    for (size_t i = 0; i < n; i++) {
        int64_t a;
        if (synap_norm_axis(c->err, axes[i], rank, &a) < 0) return -1;
        mask[a] = true;
    }
    return 0;
}

/* Groups (combinations of the kept axes) and the group of each element's
 * position: strides over the kept axes, 0 over the normalized ones. */
static int64_t mvn_groups(const struct synap_value *x, const bool *mask, int64_t *gstrides)
{
    int64_t ng = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        gstrides[d] = mask[d] ? 0 : ng;
        if (!mask[d]) ng *= x->dims[d];
    }
    return ng;
}

static int mvn_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    bool mask[SYNAP_MAX_RANK];
    int64_t gs[SYNAP_MAX_RANK];
    if (check_float(c, 0) < 0 || mvn_axes(c, mask) < 0) return -1;
    int64_t ng = mvn_groups(x, mask, gs);
    size_t nb;
    if (synap_mul_overflow((size_t)ng, 2 * sizeof(double), &nb) < 0)
        return synap_errf(c->err, "input 0: too large");
    c->scratch_nbytes = nb;
    same_shape(c, 0, x);
    return 0;
}

/* One pass over every element in memory order, tracking its group with an
 * odometer: 0 sums, 1 sums squared deviations, 2 writes Y. */
static void mvn_pass(struct synap_kctx *c, const int64_t *gs, int pass, double *mean, double *sd)
{
    const struct synap_value *x = &c->in[0];
    int64_t idx[SYNAP_MAX_RANK] = {0}, g = 0, nel = synap_value_nelem(x);
    for (int64_t e = 0; e < nel; e++) {
        double v = synap_ld(x, e);
        if (pass == 0)
            mean[g] += v;
        else if (pass == 1)
            sd[g] += (v - mean[g]) * (v - mean[g]);
        else
            synap_st(&c->out[0], e, (v - mean[g]) / sd[g]);
        for (int d = x->rank - 1; d >= 0; d--) {
            g += gs[d];
            if (++idx[d] < x->dims[d]) break;
            g -= gs[d] * x->dims[d];
            idx[d] = 0;
        }
    }
}

static int mvn_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    bool mask[SYNAP_MAX_RANK];
    int64_t gs[SYNAP_MAX_RANK];
    if (mvn_axes(c, mask) < 0) return -1;
    int64_t ng = mvn_groups(x, mask, gs), nel = synap_value_nelem(x);
    if (nel == 0) return 0;
    double cnt = (double)(nel / ng);
    double *mean = c->scratch, *sd = mean + ng;
    for (int64_t g = 0; g < ng; g++)
        mean[g] = sd[g] = 0;
    mvn_pass(c, gs, 0, mean, sd);
    for (int64_t g = 0; g < ng; g++)
        mean[g] /= cnt;
    /* Squared deviations from the mean rather than E[x^2] - E[x]^2: the same
     * value without the cancellation. */
    mvn_pass(c, gs, 1, mean, sd);
    /* ONNX's function: (X - mean) / (sqrt(var) + 1e-9). */
    for (int64_t g = 0; g < ng; g++)
        sd[g] = sqrt(sd[g] / cnt) + 1e-9;
    mvn_pass(c, gs, 2, mean, sd);
    return 0;
}

/* ---- LpNormalization ---------------------------------------------------------------- */

static int lpnorm_geom(struct synap_kctx *c, int64_t *outer, int64_t *n, int64_t *inner)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis, p = synap_attr_int(c->node, "p", 2);
    if (p != 1 && p != 2)
        return synap_errf(c->err, "attribute 'p' must be 1 or 2, got %lld", (long long)p);
    if (x->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), x->rank, &axis) < 0) return -1;
    *outer = *inner = 1;
    for (int64_t d = 0; d < axis; d++)
        *outer *= x->dims[d];
    for (int64_t d = axis + 1; d < x->rank; d++)
        *inner *= x->dims[d];
    *n = x->dims[axis];
    return 0;
}

static int lpnorm_infer(struct synap_kctx *c)
{
    int64_t outer, n, inner;
    if (check_float(c, 0) < 0 || lpnorm_geom(c, &outer, &n, &inner) < 0) return -1;
    same_shape(c, 0, &c->in[0]);
    return 0;
}

static int lpnorm_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t outer, n, inner;
    if (lpnorm_geom(c, &outer, &n, &inner) < 0) return -1;
    bool l1 = synap_attr_int(c->node, "p", 2) == 1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            double s = 0;
            for (int64_t j = 0; j < n; j++) {
                double v = synap_ld(x, base + j * inner);
                s += l1 ? fabs(v) : v * v;
            }
            double norm = l1 ? s : sqrt(s);
            /* A zero vector stays zero (ONNX Runtime), not 0/0. */
            for (int64_t j = 0; j < n; j++)
                synap_st(y, base + j * inner, norm != 0 ? synap_ld(x, base + j * inner) / norm : 0.0);
        }
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------- */

int synap_norm_infer(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_infer(c, synap_norm_infer);
    switch (c->node->op) {
    case SYNAP_OP_BATCH_NORMALIZATION:
        return batchnorm_infer(c);
    case SYNAP_OP_INSTANCE_NORMALIZATION:
        return instnorm_infer(c);
    case SYNAP_OP_LAYER_NORMALIZATION:
        return layernorm_infer(c);
    case SYNAP_OP_LRN:
        return lrn_infer(c);
    case SYNAP_OP_MEAN_VARIANCE_NORMALIZATION:
        return mvn_infer(c);
    case SYNAP_OP_LP_NORMALIZATION:
        return lpnorm_infer(c);
    default:
        return synap_errf(c->err, "op %s is not a normalization", synap_op_name(c->node->op));
    }
}

int synap_norm_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_run(c);
    switch (c->node->op) {
    case SYNAP_OP_BATCH_NORMALIZATION:
        return batchnorm_run(c);
    case SYNAP_OP_INSTANCE_NORMALIZATION:
        return instnorm_run(c);
    case SYNAP_OP_LAYER_NORMALIZATION:
        return layernorm_run(c);
    case SYNAP_OP_LRN:
        return lrn_run(c);
    case SYNAP_OP_MEAN_VARIANCE_NORMALIZATION:
        return mvn_run(c);
    case SYNAP_OP_LP_NORMALIZATION:
        return lpnorm_run(c);
    default:
        return synap_errf(c->err, "op %s is not a normalization", synap_op_name(c->node->op));
    }
}
