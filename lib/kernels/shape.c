/* Ops that only reinterpret or inspect a shape: Reshape, Flatten, Squeeze,
 * Unsqueeze, Shape, Size. Their work is all in shape inference; running one
 * is a copy of the bytes (or writing the shape as int64s). */
#include <string.h>

#include "kernels/kernel.h"

/* Output dims of Reshape from the constant shape input (ONNX Reshape-14):
 * 0 copies the input dim (or is a real 0 with allowzero=1), one -1 is
 * inferred from the element count. */
static int reshape_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *shape;
    int64_t n = synap_const_ints(c, 1, "shape", tmp, SYNAP_MAX_RANK, &shape);
    if (n < 0) return -1;
    if (n > SYNAP_MAX_RANK)
        return synap_errf(c->err, "shape: rank %lld exceeds the maximum %d", (long long)n,
                          SYNAP_MAX_RANK);
    int64_t allowzero = synap_attr_int(c->node, "allowzero", 0);
    int64_t nelem = synap_value_nelem(x);
    if (nelem < 0) return synap_errf(c->err, "input 0: element count overflows");
    struct synap_value *y = &c->out[0];
    int infer_at = -1;
    int64_t known = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t d = shape[i];
        if (d == -1) {
            if (infer_at >= 0)
                return synap_errf(c->err, "shape: more than one -1 (at %d and %d)", infer_at,
                                  (int)i);
            infer_at = (int)i;
            continue;
        }
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return synap_errf(c->err,
                                  "shape: 0 at index %d copies an input dim, but "
                                  "the input has rank %d",
                                  (int)i, x->rank);
            d = x->dims[i];
        }
        if (d < 0)
            return synap_errf(c->err, "shape: invalid dim %lld at index %d", (long long)d, (int)i);
        y->dims[i] = d;
        if (d != 0 && known > INT64_MAX / d)
            return synap_errf(c->err, "shape: element count overflows");
        known *= d;
    }
    if (infer_at >= 0) {
        /* With allowzero=1 a 0 beside -1 is ambiguous; ONNX calls it invalid. */
        if (known == 0) {
            if (nelem != 0)
                return synap_errf(c->err, "shape: cannot infer -1 with a 0 dim in the shape");
            return synap_errf(c->err, "shape: -1 is ambiguous when the shape has a 0 dim");
        }
        if (nelem % known != 0)
            return synap_errf(c->err,
                              "shape: cannot reshape %lld elements with the other dims "
                              "multiplying to %lld",
                              (long long)nelem, (long long)known);
        y->dims[infer_at] = nelem / known;
    } else if (known != nelem) {
        char a[128], b[128];
        return synap_errf(c->err, "cannot reshape %s (%lld elements) into %s (%lld elements)",
                          synap_shape_str(x->rank, x->dims, a, sizeof a), (long long)nelem,
                          synap_shape_str((int)n, y->dims, b, sizeof b), (long long)known);
    }
    y->rank = (int)n;
    y->dtype = x->dtype;
    return 0;
}

static int flatten_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis = synap_attr_int(c->node, "axis", 1);
    /* Flatten's axis ranges over [-r, r] (r itself gives [N, 1]). */
    if (axis < -x->rank || axis > x->rank)
        return synap_errf(c->err, "axis %lld out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    int64_t a = synap_shape_nelem((int)axis, x->dims);
    int64_t b = synap_shape_nelem(x->rank - (int)axis, x->dims + axis);
    if (a < 0 || b < 0) return synap_errf(c->err, "input 0: element count overflows");
    struct synap_value *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 2;
    y->dims[0] = a;
    y->dims[1] = b;
    return 0;
}

/* Reads a constant axes input, normalizing against `rank`; rejects repeats.
 * Returns the count or -1. */
static int read_axes(struct synap_kctx *c, size_t i, int rank, int64_t *axes)
{
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *v;
    int64_t n = synap_const_ints(c, i, "axes", tmp, SYNAP_MAX_RANK, &v);
    if (n < 0) return -1;
    if (n > rank) return synap_errf(c->err, "axes: %lld axes for rank %d", (long long)n, rank);
    for (int64_t k = 0; k < n; k++) {
        if (synap_norm_axis(c->err, v[k], rank, &axes[k]) < 0) return -1;
        for (int64_t j = 0; j < k; j++)
            if (axes[j] == axes[k])
                return synap_errf(c->err, "axes: axis %lld repeated", (long long)axes[k]);
    }
    return (int)n;
}

static int squeeze_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int drop[SYNAP_MAX_RANK] = {0};
    if (synap_has_input(c, 1)) {
        int64_t axes[SYNAP_MAX_RANK];
        int n = read_axes(c, 1, x->rank, axes);
        if (n < 0) return -1;
        for (int k = 0; k < n; k++) {
            if (x->dims[axes[k]] != 1)
                return synap_errf(c->err, "cannot squeeze axis %lld of size %lld",
                                  (long long)axes[k], (long long)x->dims[axes[k]]);
            drop[axes[k]] = 1;
        }
    } else {
        for (int d = 0; d < x->rank; d++)
            drop[d] = x->dims[d] == 1;
    }
    y->dtype = x->dtype;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) y->dims[y->rank++] = x->dims[d];
    return 0;
}

static int unsqueeze_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *v;
    int64_t n = synap_const_ints(c, 1, "axes", tmp, SYNAP_MAX_RANK, &v);
    if (n < 0) return -1;
    if (x->rank + n > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output rank %lld exceeds the maximum %d",
                          (long long)(x->rank + n), SYNAP_MAX_RANK);
    int rank = x->rank + (int)n;
    /* Axes are relative to the output rank. */
    int64_t axes[SYNAP_MAX_RANK];
    if (read_axes(c, 1, rank, axes) < 0) return -1;
    int ins[SYNAP_MAX_RANK] = {0};
    for (int64_t k = 0; k < n; k++)
        ins[axes[k]] = 1;
    int j = 0;
    for (int d = 0; d < rank; d++)
        y->dims[d] = ins[d] ? 1 : x->dims[j++];
    y->rank = rank;
    y->dtype = x->dtype;
    return 0;
}

/* Shape-15: the dims in [start, end), both clamped into [0, rank]. */
static void shape_range(const struct synap_kctx *c, int64_t *start, int64_t *end)
{
    int r = c->in[0].rank;
    int64_t s = synap_attr_int(c->node, "start", 0);
    int64_t e = synap_attr_int(c->node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *start = s;
    *end = e < s ? s : e;
}

int synap_shape_infer(struct synap_kctx *c)
{
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "expected an input and an output");
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    switch (c->node->op) {
    case SYNAP_OP_RESHAPE:
        return reshape_infer(c);
    case SYNAP_OP_FLATTEN:
        return flatten_infer(c);
    case SYNAP_OP_SQUEEZE:
        return squeeze_infer(c);
    case SYNAP_OP_UNSQUEEZE:
        return unsqueeze_infer(c);
    case SYNAP_OP_SHAPE: {
        int64_t s, e;
        shape_range(c, &s, &e);
        y->dtype = SYNAP_DTYPE_INT64;
        y->rank = 1;
        y->dims[0] = e - s;
        return 0;
    }
    case SYNAP_OP_SIZE:
        if (synap_value_nelem(x) < 0) return synap_errf(c->err, "input 0: element count overflows");
        y->dtype = SYNAP_DTYPE_INT64;
        y->rank = 0;
        return 0;
    default:
        return synap_errf(c->err, "op %s is not in the shape family", synap_op_name(c->node->op));
    }
}

int synap_shape_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    switch (c->node->op) {
    case SYNAP_OP_SHAPE: {
        int64_t s, e;
        shape_range(c, &s, &e);
        int64_t *out = y->data;
        for (int64_t i = s; i < e; i++)
            out[i - s] = x->dims[i];
        return 0;
    }
    case SYNAP_OP_SIZE:
        *(int64_t *)y->data = synap_value_nelem(x);
        return 0;
    case SYNAP_OP_RESHAPE:
    case SYNAP_OP_FLATTEN:
    case SYNAP_OP_SQUEEZE:
    case SYNAP_OP_UNSQUEEZE: {
        /* The bytes do not change; the planner may already have aliased
         * the output onto the input, leaving nothing to do. */
        int64_t n = synap_value_nelem(x);
        size_t nbytes = (size_t)n * synap_dtype_size(x->dtype);
        if (n > 0 && y->data != x->data) memmove(y->data, x->data, nbytes);
        return 0;
    }
    default:
        return synap_errf(c->err, "op %s is not in the shape family", synap_op_name(c->node->op));
    }
}
