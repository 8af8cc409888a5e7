/* Reductions: Reduce*, ArgMax/ArgMin, TopK and CumSum with ONNX opset-17 semantics. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

/* Element access. float32/float64 are read directly because they are what
 * real models use; every other dtype goes through the shared converters. */
static int check_numeric(struct synap_kctx *c, size_t i)
{
    enum synap_dtype t = c->in[i].dtype;
    if (!synap_dtype_is_float(t) && !synap_dtype_is_int(t))
        return synap_errf(c->err, "input %zu: unsupported dtype %s", i, synap_dtype_name(t));
    return 0;
}

/* An odometer over a (sub)shape that keeps the running element offset
 * `off` = base + sum(idx[d] * strides[d]), so nested loops over arbitrary
 * axis sets need no divisions. */
struct odo {
    int n;
    const int64_t *dims, *strides;
    int64_t idx[SYNAP_MAX_RANK];
    int64_t off;
};

static void odo_init(struct odo *o, int n, const int64_t *dims, const int64_t *strides,
                     int64_t base)
{
    o->n = n;
    o->dims = dims;
    o->strides = strides;
    memset(o->idx, 0, sizeof o->idx);
    o->off = base;
}

static void odo_next(struct odo *o)
{
    for (int d = o->n - 1; d >= 0; d--) {
        o->off += o->strides[d];
        if (++o->idx[d] < o->dims[d]) return;
        o->off -= o->strides[d] * o->dims[d];
        o->idx[d] = 0;
    }
}

/* ---- Reduce* -------------------------------------------------------------- */

/* The kept and reduced axes of a reduction, with size-1 axes dropped and
 * runs of adjacent axes of the same kind merged (fewer odometer digits). */
struct rgeom {
    int nk, nr;
    int64_t kdims[SYNAP_MAX_RANK], kstrides[SYNAP_MAX_RANK];
    int64_t rdims[SYNAP_MAX_RANK], rstrides[SYNAP_MAX_RANK];
    int64_t nout, nred;
};

/* Marks the reduced axes in mask[]. Axes come from the `axes` attribute, or
 * for ReduceSum from the optional constant input 1. Empty axes mean "all
 * axes", or none at all with noop_with_empty_axes. */
static int reduce_axes(struct synap_kctx *c, int rank, bool *mask)
{
    const int64_t *axes = NULL;
    int64_t tmp[SYNAP_MAX_RANK];
    int64_t n = 0;
    if (c->node->op == SYNAP_OP_REDUCE_SUM) {
        if (synap_has_input(c, 1)) {
            n = synap_const_ints(c, 1, "axes", tmp, SYNAP_MAX_RANK, &axes);
            if (n < 0) return -1;
        }
    } else {
        n = (int64_t)synap_attr_ints(c->node, "axes", &axes);
    }
    for (int d = 0; d < rank; d++)
        mask[d] = false;
    if (n == 0) {
        bool noop = synap_attr_int(c->node, "noop_with_empty_axes", 0) != 0;
        for (int d = 0; d < rank; d++)
            mask[d] = !noop;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t a;
        if (synap_norm_axis(c->err, axes[i], rank, &a) < 0) return -1;
        if (mask[a]) return synap_errf(c->err, "axes: axis %lld given twice", (long long)axes[i]);
        mask[a] = true;
    }
    return 0;
}

static void rgeom_build(struct rgeom *g, int rank, const int64_t *dims, const bool *mask)
{
    int64_t stride = 1;
    int64_t strides[SYNAP_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= dims[d];
    }
    g->nk = g->nr = 0;
    g->nout = g->nred = 1;
    int last = -1; /* kind of the previous non-trivial axis: 0 kept, 1 reduced */
    for (int d = 0; d < rank; d++) {
        if (mask[d])
            g->nred *= dims[d];
        else
            g->nout *= dims[d];
        if (dims[d] == 1) continue;
        int kind = mask[d] ? 1 : 0;
        int64_t *gd = kind ? g->rdims : g->kdims;
        int64_t *gs = kind ? g->rstrides : g->kstrides;
        int *gn = kind ? &g->nr : &g->nk;
        /* Adjacent axes of one kind form one contiguous run in memory. */
        if (last == kind && *gn > 0 && gs[*gn - 1] == dims[d] * strides[d]) {
            gd[*gn - 1] *= dims[d];
            gs[*gn - 1] = strides[d];
        } else {
            gd[*gn] = dims[d];
            gs[*gn] = strides[d];
            (*gn)++;
        }
        last = kind;
    }
}

static int reduce_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_numeric(c, 0) < 0) return -1;
    bool mask[SYNAP_MAX_RANK];
    if (reduce_axes(c, x->rank, mask) < 0) return -1;
    bool keep = synap_attr_int(c->node, "keepdims", 1) != 0;
    struct synap_value *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!mask[d])
            y->dims[y->rank++] = x->dims[d];
        else if (keep)
            y->dims[y->rank++] = 1;
    }
    return 0;
}

struct reduce_job {
    struct synap_kctx *c;
    const struct rgeom *g;
};

/* One output of a float reduction, summed sequentially in double so the
 * result does not depend on threads and is at least as exact as float. */
static double reduce_one_f(enum synap_op op, const struct synap_value *x, const struct rgeom *g,
                           int64_t base)
{
    struct odo o;
    odo_init(&o, g->nr, g->rdims, g->rstrides, base);
    double acc;
    switch (op) {
    case SYNAP_OP_REDUCE_MAX:
    case SYNAP_OP_REDUCE_MIN: {
        bool mx = op == SYNAP_OP_REDUCE_MAX;
        acc = mx ? -INFINITY : INFINITY; /* the empty set's max / min */
        for (int64_t j = 0; j < g->nred; j++, odo_next(&o)) {
            double v = synap_ld(x, o.off);
            if (isnan(v)) return v; /* NaN propagates like numpy */
            if (mx ? v > acc : v < acc) acc = v;
        }
        return acc;
    }
    case SYNAP_OP_REDUCE_PROD:
        acc = 1;
        for (int64_t j = 0; j < g->nred; j++, odo_next(&o))
            acc *= synap_ld(x, o.off);
        return acc;
    case SYNAP_OP_REDUCE_LOG_SUM_EXP: {
        /* Subtract the maximum so exp never overflows. */
        double m = -INFINITY;
        for (int64_t j = 0; j < g->nred; j++, odo_next(&o)) {
            double v = synap_ld(x, o.off);
            if (isnan(v)) return v;
            if (v > m) m = v;
        }
        if (isinf(m)) return m; /* empty set or all -inf: -inf; any +inf: +inf */
        odo_init(&o, g->nr, g->rdims, g->rstrides, base);
        acc = 0;
        for (int64_t j = 0; j < g->nred; j++, odo_next(&o))
            acc += exp(synap_ld(x, o.off) - m);
        return m + log(acc);
    }
    default:
        break;
    }
    acc = 0;
    for (int64_t j = 0; j < g->nred; j++, odo_next(&o)) {
        double v = synap_ld(x, o.off);
        switch (op) {
        case SYNAP_OP_REDUCE_L1:
            acc += fabs(v);
            break;
        case SYNAP_OP_REDUCE_L2:
        case SYNAP_OP_REDUCE_SUM_SQUARE:
            acc += v * v;
            break;
        default: /* Sum, Mean, LogSum */
            acc += v;
            break;
        }
    }
    switch (op) {
    case SYNAP_OP_REDUCE_MEAN:
        return acc / (double)g->nred; /* empty set: 0/0 = NaN */
    case SYNAP_OP_REDUCE_L2:
        return sqrt(acc);
    case SYNAP_OP_REDUCE_LOG_SUM:
        return log(acc);
    default:
        return acc;
    }
}

/* Integer reductions accumulate in int64 with wrap-around (done in uint64,
 * which C defines) like the fixed-width arithmetic of ONNX Runtime. */
static int64_t reduce_one_i(enum synap_op op, const struct synap_value *x, const struct rgeom *g,
                            int64_t base)
{
    struct odo o;
    odo_init(&o, g->nr, g->rdims, g->rstrides, base);
    if (op == SYNAP_OP_REDUCE_MAX || op == SYNAP_OP_REDUCE_MIN) {
        bool mx = op == SYNAP_OP_REDUCE_MAX;
        int64_t acc = mx ? INT64_MIN : INT64_MAX;
        for (int64_t j = 0; j < g->nred; j++, odo_next(&o)) {
            int64_t v = synap_value_get_i64(x, o.off);
            if (mx ? v > acc : v < acc) acc = v;
        }
        return acc;
    }
    uint64_t acc = op == SYNAP_OP_REDUCE_PROD ? 1 : 0;
    for (int64_t j = 0; j < g->nred; j++, odo_next(&o)) {
        int64_t v = synap_value_get_i64(x, o.off);
        switch (op) {
        case SYNAP_OP_REDUCE_PROD:
            acc *= (uint64_t)v;
            break;
        case SYNAP_OP_REDUCE_L1:
            acc += (uint64_t)(v < 0 ? -(uint64_t)v : (uint64_t)v);
            break;
        case SYNAP_OP_REDUCE_SUM_SQUARE:
            acc += (uint64_t)v * (uint64_t)v;
            break;
        default:
            acc += (uint64_t)v;
            break;
        }
    }
    int64_t r = (int64_t)acc;
    if (op == SYNAP_OP_REDUCE_MEAN) r = g->nred > 0 ? r / g->nred : 0;
    return r;
}

static bool reduce_int_exact(enum synap_op op)
{
    switch (op) {
    case SYNAP_OP_REDUCE_SUM:
    case SYNAP_OP_REDUCE_MEAN:
    case SYNAP_OP_REDUCE_PROD:
    case SYNAP_OP_REDUCE_MAX:
    case SYNAP_OP_REDUCE_MIN:
    case SYNAP_OP_REDUCE_L1:
    case SYNAP_OP_REDUCE_SUM_SQUARE:
        return true;
    default:
        return false; /* L2, LogSum, LogSumExp: computed in double, then cast */
    }
}

static void reduce_range(void *arg, size_t begin, size_t end)
{
    struct reduce_job *j = arg;
    struct synap_kctx *c = j->c;
    const struct rgeom *g = j->g;
    enum synap_op op = c->node->op;
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    bool as_int = synap_dtype_is_int(x->dtype) && reduce_int_exact(op);
    struct odo o;
    /* Position the kept-axes odometer at `begin`. */
    odo_init(&o, g->nk, g->kdims, g->kstrides, 0);
    int64_t rem = (int64_t)begin;
    for (int d = g->nk - 1; d >= 0; d--) {
        o.idx[d] = rem % g->kdims[d];
        rem /= g->kdims[d];
        o.off += o.idx[d] * g->kstrides[d];
    }
    for (size_t i = begin; i < end; i++, odo_next(&o)) {
        if (as_int)
            synap_value_set_i64(y, (int64_t)i, reduce_one_i(op, x, g, o.off));
        else
            synap_st(y, (int64_t)i, reduce_one_f(op, x, g, o.off));
    }
}

static int reduce_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    bool mask[SYNAP_MAX_RANK];
    if (reduce_axes(c, x->rank, mask) < 0) return -1;
    struct rgeom g;
    rgeom_build(&g, x->rank, x->dims, mask);
    if (g.nout == 0) return 0;
    struct reduce_job j = {c, &g};
    /* Each output is computed by one thread: thread count never changes a sum. */
    size_t grain = (size_t)(g.nred > 0 ? 16384 / g.nred : 16384) + 1;
    synap_pool_for(c->pool, (size_t)g.nout, grain, reduce_range, &j);
    return 0;
}

/* ---- ArgMax / ArgMin -------------------------------------------------------- */

/* outer x n x inner view of a tensor around one axis. */
static void split_axis(const struct synap_value *x, int64_t axis, int64_t *outer, int64_t *n,
                       int64_t *inner)
{
    *outer = *inner = 1;
    for (int64_t d = 0; d < axis; d++)
        *outer *= x->dims[d];
    for (int64_t d = axis + 1; d < x->rank; d++)
        *inner *= x->dims[d];
    *n = x->dims[axis];
}

static int arg_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_numeric(c, 0) < 0) return -1;
    if (x->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), x->rank, &axis) < 0) return -1;
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    if (n == 0 && outer * inner > 0)
        return synap_errf(c->err, "input 0: cannot take %s over the empty axis %lld",
                          synap_op_name(c->node->op), (long long)axis);
    bool keep = synap_attr_int(c->node, "keepdims", 1) != 0;
    struct synap_value *y = &c->out[0];
    y->dtype = SYNAP_DTYPE_INT64;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d != axis)
            y->dims[y->rank++] = x->dims[d];
        else if (keep)
            y->dims[y->rank++] = 1;
    }
    return 0;
}

static int arg_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), x->rank, &axis) < 0) return -1;
    bool last = synap_attr_int(c->node, "select_last_index", 0) != 0;
    bool mx = c->node->op == SYNAP_OP_ARG_MAX;
    bool is_int = synap_dtype_is_int(x->dtype);
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    int64_t *y = c->out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, best = 0;
            if (is_int) {
                int64_t bv = synap_value_get_i64(x, base);
                for (int64_t k = 1; k < n; k++) {
                    int64_t v = synap_value_get_i64(x, base + k * inner);
                    if (mx ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv))) {
                        bv = v;
                        best = k;
                    }
                }
            } else {
                /* A NaN wins like in numpy: the first one, or the last one
                 * with select_last_index. */
                double bv = synap_ld(x, base);
                for (int64_t k = 1; k < n; k++) {
                    double v = synap_ld(x, base + k * inner);
                    bool take;
                    if (isnan(v))
                        take = !isnan(bv) || last;
                    else if (isnan(bv))
                        take = false;
                    else
                        take = mx ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
                    if (take) {
                        bv = v;
                        best = k;
                    }
                }
            }
            y[o * inner + i] = best;
        }
    return 0;
}

/* ---- TopK ------------------------------------------------------------------ */

static int topk_k(struct synap_kctx *c, int64_t *k)
{
    int64_t tmp[1];
    const int64_t *v;
    int64_t n = synap_const_ints(c, 1, "K", tmp, 1, &v);
    if (n < 0) return -1;
    if (n != 1)
        return synap_errf(c->err, "input 1 (K): expected one value, got %lld", (long long)n);
    *k = v[0];
    return 0;
}

static int topk_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_numeric(c, 0) < 0) return -1;
    if (x->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    int64_t axis, k;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), x->rank, &axis) < 0) return -1;
    if (topk_k(c, &k) < 0) return -1;
    if (k < 0 || k > x->dims[axis])
        return synap_errf(c->err, "K = %lld is out of range [0, %lld] for axis %lld", (long long)k,
                          (long long)x->dims[axis], (long long)axis);
    for (int j = 0; j < 2; j++) {
        c->out[j].rank = x->rank;
        memcpy(c->out[j].dims, x->dims, sizeof x->dims);
        c->out[j].dims[axis] = k;
    }
    c->out[0].dtype = x->dtype;
    c->out[1].dtype = SYNAP_DTYPE_INT64;
    /* Keys, indices and the merge buffer of one slice along the axis. */
    size_t n = (size_t)x->dims[axis], nb;
    if (synap_mul_overflow(n, 3 * sizeof(int64_t), &nb) < 0)
        return synap_errf(c->err, "input 0: axis too long");
    c->scratch_nbytes = nb;
    return 0;
}

union key {
    double d;
    int64_t i;
};

/* Whether element a comes before element b in TopK's output: larger (or
 * smaller) first, NaN counted as the largest value, ties by lower index so
 * the order is the one ONNX specifies. */
static inline bool topk_before(const union key *keys, bool is_int, bool largest, int64_t a,
                               int64_t b)
{
    int cmp; /* sign of keys[a] - keys[b] */
    if (is_int) {
        cmp = (keys[a].i > keys[b].i) - (keys[a].i < keys[b].i);
    } else {
        double x = keys[a].d, y = keys[b].d;
        if (isnan(x) || isnan(y))
            cmp = isnan(x) - isnan(y);
        else
            cmp = (x > y) - (x < y);
    }
    if (cmp == 0) return a < b;
    return largest ? cmp > 0 : cmp < 0;
}

/* Bottom-up merge sort of idx[0..n) (stable, O(n log n), no allocation). */
static int64_t *topk_sort(const union key *keys, bool is_int, bool largest, int64_t *idx,
                          int64_t *tmp, int64_t n)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = topk_before(keys, is_int, largest, idx[j], idx[i]) ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        int64_t *t = idx;
        idx = tmp;
        tmp = t;
    }
    return idx;
}

static int topk_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t axis, k;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), x->rank, &axis) < 0) return -1;
    if (topk_k(c, &k) < 0) return -1;
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    if (k < 0 || k > n)
        return synap_errf(c->err, "K = %lld is out of range [0, %lld]", (long long)k, (long long)n);
    /* sorted=0 allows any order; the sorted one is a valid answer. */
    bool largest = synap_attr_int(c->node, "largest", 1) != 0;
    bool is_int = synap_dtype_is_int(x->dtype);
    union key *keys = c->scratch;
    int64_t *idx = (int64_t *)c->scratch + n, *tmp = idx + n;
    struct synap_value *vals = &c->out[0];
    int64_t *oidx = c->out[1].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            for (int64_t j = 0; j < n; j++) {
                if (is_int)
                    keys[j].i = synap_value_get_i64(x, base + j * inner);
                else
                    keys[j].d = synap_ld(x, base + j * inner);
                idx[j] = j;
            }
            int64_t *sorted = topk_sort(keys, is_int, largest, idx, tmp, n);
            for (int64_t j = 0; j < k; j++) {
                int64_t out = o * k * inner + j * inner + i;
                if (is_int)
                    synap_value_set_i64(vals, out, keys[sorted[j]].i);
                else
                    synap_st(vals, out, keys[sorted[j]].d);
                oidx[out] = sorted[j];
            }
        }
    return 0;
}

/* ---- CumSum ---------------------------------------------------------------- */

static int cumsum_axis(struct synap_kctx *c, int64_t *axis)
{
    const struct synap_value *a = &c->in[1];
    if (a->dtype != SYNAP_DTYPE_INT32 && a->dtype != SYNAP_DTYPE_INT64)
        return synap_errf(c->err, "input 1 (axis): expected int32 or int64, got %s",
                          synap_dtype_name(a->dtype));
    if (synap_value_nelem(a) != 1)
        return synap_errf(c->err, "input 1 (axis): expected one value, got %lld",
                          (long long)synap_value_nelem(a));
    if (!a->data) return 1; /* not known until run */
    return synap_norm_axis(c->err, synap_value_get_i64(a, 0), c->in[0].rank, axis);
}

static int cumsum_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (check_numeric(c, 0) < 0) return -1;
    if (x->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    int64_t axis;
    if (cumsum_axis(c, &axis) < 0) return -1;
    c->out[0].dtype = x->dtype;
    c->out[0].rank = x->rank;
    memcpy(c->out[0].dims, x->dims, sizeof x->dims);
    return 0;
}

static int cumsum_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t axis;
    if (cumsum_axis(c, &axis) != 0) return -1;
    bool excl = synap_attr_int(c->node, "exclusive", 0) != 0;
    bool rev = synap_attr_int(c->node, "reverse", 0) != 0;
    bool is_int = synap_dtype_is_int(x->dtype);
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double accf = 0;
            uint64_t acci = 0;
            for (int64_t j = 0; j < n; j++) {
                int64_t e = o * n * inner + (rev ? n - 1 - j : j) * inner + i;
                /* exclusive: write the sum before adding this element. */
                if (is_int) {
                    uint64_t v = (uint64_t)synap_value_get_i64(x, e);
                    if (!excl) acci += v;
                    synap_value_set_i64(y, e, (int64_t)acci);
                    if (excl) acci += v;
                } else {
                    double v = synap_ld(x, e);
                    if (!excl) accf += v;
                    synap_st(y, e, accf);
                    if (excl) accf += v;
                }
            }
        }
    return 0;
}

/* ---- dispatch -------------------------------------------------------------- */

int synap_reduce_infer(struct synap_kctx *c)
{
    if (c->node->op == SYNAP_OP_REDUCE_MEAN && synap_q_node(c)) return synap_q_infer(c, synap_reduce_infer);
    switch (c->node->op) {
    case SYNAP_OP_ARG_MAX:
    case SYNAP_OP_ARG_MIN:
        return arg_infer(c);
    case SYNAP_OP_TOP_K:
        return topk_infer(c);
    case SYNAP_OP_CUM_SUM:
        return cumsum_infer(c);
    default:
        return reduce_infer(c);
    }
}

int synap_reduce_run(struct synap_kctx *c)
{
    if (c->node->op == SYNAP_OP_REDUCE_MEAN && synap_q_node(c)) return synap_q_run(c);
    switch (c->node->op) {
    case SYNAP_OP_ARG_MAX:
    case SYNAP_OP_ARG_MIN:
        return arg_run(c);
    case SYNAP_OP_TOP_K:
        return topk_run(c);
    case SYNAP_OP_CUM_SUM:
        return cumsum_run(c);
    default:
        return reduce_run(c);
    }
}
