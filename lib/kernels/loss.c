/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (ONNX opset 13
 * semantics). Inference graphs rarely hold them, but exported training
 * graphs and evaluation heads do; they are cheap to run exactly. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"

/* reduction: 0 none, 1 sum, 2 mean */
static int reduction_of(struct synap_kctx *c, int *red)
{
    const char *r = synap_attr_string(c->node, "reduction", "mean");
    if (!strcmp(r, "none"))
        *red = 0;
    else if (!strcmp(r, "sum"))
        *red = 1;
    else if (!strcmp(r, "mean"))
        *red = 2;
    else
        return synap_errf(c->err, "reduction '%s' is not one of none, sum, mean", r);
    return 0;
}

int synap_loss_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0], *t = &c->in[1];
    int red;
    if (reduction_of(c, &red) < 0) return -1;
    if (!synap_dtype_is_float(x->dtype))
        return synap_errf(c->err, "input 0: expected a float tensor, got %s",
                          synap_dtype_name(x->dtype));
    if (t->dtype != SYNAP_DTYPE_INT64 && t->dtype != SYNAP_DTYPE_INT32)
        return synap_errf(c->err, "input 1 (target): expected int64 or int32, got %s",
                          synap_dtype_name(t->dtype));
    if (x->rank < 2 || t->rank != x->rank - 1)
        return synap_errf(c->err, "input 0 must be [N, C, d1..dk] and the target [N, d1..dk]; got "
                                  "ranks %d and %d",
                          x->rank, t->rank);
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] != x->dims[i ? i + 1 : 0])
            return synap_errf(c->err, "target dimension %d is %lld, input needs %lld", i,
                              (long long)t->dims[i], (long long)x->dims[i ? i + 1 : 0]);
    if (synap_has_input(c, 2)) {
        const struct synap_value *w = &c->in[2];
        if (w->rank != 1 || w->dims[0] != x->dims[1] || w->dtype != x->dtype)
            return synap_errf(c->err, "input 2 (weight): expected %s [%lld]",
                              synap_dtype_name(x->dtype), (long long)x->dims[1]);
    }
    c->out[0].dtype = x->dtype;
    c->out[0].rank = red ? 0 : t->rank;
    memcpy(c->out[0].dims, t->dims, sizeof t->dims);
    if (c->nout > 1) { /* SoftmaxCrossEntropyLoss's log_prob */
        c->out[1] = *x;
        c->out[1].data = NULL;
    } else if (c->node->op == SYNAP_OP_SOFTMAX_CROSS_ENTROPY_LOSS) {
        c->scratch_nbytes = (size_t)synap_value_nelem(x) * sizeof(double);
    }
    return 0;
}

int synap_loss_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0], *t = &c->in[1];
    int red;
    reduction_of(c, &red);
    const struct synap_attr *ii = synap_node_attr(c->node, "ignore_index");
    int has_ignore = ii && ii->type == SYNAP_ATTR_INT;
    int64_t ignore = has_ignore ? ii->i : 0;
    int64_t n = x->dims[0], ch = x->dims[1], d = 1;
    for (int i = 2; i < x->rank; i++) d *= x->dims[i];
    int softmax = c->node->op == SYNAP_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    /* log-probabilities: the input itself, or log_softmax over axis 1 into
     * the log_prob output (or the scratch) */
    struct synap_value lp = *x;
    if (softmax) {
        /* an omitted log_prob output still has a buffer (kernel.h) */
        if (c->nout > 1) {
            lp = c->out[1];
        } else {
            lp.data = c->scratch;
            lp.dtype = SYNAP_DTYPE_FLOAT64;
        }
        for (int64_t b = 0; b < n; b++)
            for (int64_t k = 0; k < d; k++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < ch; j++) {
                    double v = synap_value_get_f64(x, (b * ch + j) * d + k);
                    if (v > mx) mx = v;
                }
                for (int64_t j = 0; j < ch; j++)
                    sum += exp(synap_value_get_f64(x, (b * ch + j) * d + k) - mx);
                double ls = log(sum);
                for (int64_t j = 0; j < ch; j++) {
                    int64_t i = (b * ch + j) * d + k;
                    synap_value_set_f64(&lp, i, synap_value_get_f64(x, i) - mx - ls);
                }
            }
    }
    double total = 0, wsum = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < d; k++) {
            int64_t tg = synap_value_get_i64(t, b * d + k), idx = b * d + k;
            double loss = 0, w = 0;
            if (!(has_ignore && tg == ignore)) {
                if (tg < 0 || tg >= ch)
                    return synap_errf(c->err, "target %lld at element %lld is not a class in "
                                              "[0, %lld)",
                                      (long long)tg, (long long)idx, (long long)ch);
                w = synap_has_input(c, 2) ? synap_value_get_f64(&c->in[2], tg) : 1.0;
                loss = -synap_value_get_f64(&lp, (b * ch + tg) * d + k) * w;
            }
            if (red == 0)
                synap_value_set_f64(&c->out[0], idx, loss);
            total += loss;
            wsum += w;
        }
    if (red == 1) synap_value_set_f64(&c->out[0], 0, total);
    /* mean divides by the summed weights (the count of non-ignored elements
     * without a weight input), as the ONNX reference does */
    if (red == 2) synap_value_set_f64(&c->out[0], 0, total / wsum);
    return 0;
}
