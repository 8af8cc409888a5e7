/* Softmax, LogSoftmax and Hardmax over one axis (ONNX opset-13 semantics). */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

/* The rows along the axis: outer x n x inner. */
struct rows {
    struct synap_kctx *c;
    int64_t n, inner;
};

static int softmax_geom(struct synap_kctx *c, int64_t *outer, int64_t *n, int64_t *inner)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis;
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

int synap_softmax_infer(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_infer(c, synap_softmax_infer);
    const struct synap_value *x = &c->in[0];
    if (!synap_dtype_is_float(x->dtype))
        return synap_errf(c->err, "input 0: expected a float dtype, got %s",
                          synap_dtype_name(x->dtype));
    int64_t outer, n, inner;
    if (softmax_geom(c, &outer, &n, &inner) < 0) return -1;
    c->out[0].dtype = x->dtype;
    c->out[0].rank = x->rank;
    memcpy(c->out[0].dims, x->dims, sizeof x->dims);
    return 0;
}

static void softmax_rows(void *arg, size_t begin, size_t end)
{
    const struct rows *r = arg;
    const struct synap_value *x = &r->c->in[0];
    struct synap_value *y = &r->c->out[0];
    enum synap_op op = r->c->node->op;
    int64_t n = r->n, inner = r->inner;
    for (size_t row = begin; row < end; row++) {
        int64_t o = (int64_t)row / inner, i = (int64_t)row % inner;
        int64_t base = o * n * inner + i;
        /* The maximum (its first index for Hardmax) makes exp() safe: every
         * exponent is <= 0. A NaN anywhere makes the whole row NaN. */
        double m = -INFINITY;
        int64_t best = 0;
        bool nan = false;
        for (int64_t j = 0; j < n; j++) {
            double v = synap_ld(x, base + j * inner);
            if (isnan(v)) {
                if (!nan) best = j; /* numpy's argmax: the first NaN */
                nan = true;
            } else if (v > m) {
                if (!nan) best = j;
                m = v;
            }
        }
        if (op == SYNAP_OP_HARDMAX) {
            for (int64_t j = 0; j < n; j++)
                synap_st(y, base + j * inner, j == best ? 1.0 : 0.0);
            continue;
        }
        if (nan) {
            for (int64_t j = 0; j < n; j++)
                synap_st(y, base + j * inner, NAN);
            continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < n; j++)
            sum += exp(synap_ld(x, base + j * inner) - m);
        if (op == SYNAP_OP_LOG_SOFTMAX) {
            double lse = m + log(sum);
            for (int64_t j = 0; j < n; j++)
                synap_st(y, base + j * inner, synap_ld(x, base + j * inner) - lse);
        } else {
            for (int64_t j = 0; j < n; j++)
                synap_st(y, base + j * inner, exp(synap_ld(x, base + j * inner) - m) / sum);
        }
    }
}

int synap_softmax_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_run(c);
    int64_t outer, n, inner;
    if (softmax_geom(c, &outer, &n, &inner) < 0) return -1;
    if (outer * inner == 0 || n == 0) return 0;
    struct rows r = {c, n, inner};
    /* Rows are independent, so splitting them over threads is deterministic. */
    size_t grain = (size_t)(4096 / n) + 1;
    synap_pool_for(c->pool, (size_t)(outer * inner), grain, softmax_rows, &r);
    return 0;
}
