/* Gathers, scatters and generated tensors: Gather, GatherElements, GatherND,
 * ScatterElements, ScatterND, OneHot, NonZero, Trilu, EyeLike, Range and
 * ConstantOfShape, with ONNX opset-17 semantics.
 *
 * Data is moved as raw elements (memcpy of the element size), so every dtype
 * works; only scatter reductions and the generated values look at numbers.
 * Indices come from the model or from an earlier node, so every one is
 * checked at run time: an out-of-range index is an error, never a read or a
 * write outside a buffer. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"

/* ---- small helpers -------------------------------------------------------- */

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= d[i];
    return p;
}

/* Fills output j and checks its element count and byte size fit. */
static int set_out(struct synap_kctx *c, size_t j, enum synap_dtype t, int rank,
                   const int64_t *dims)
{
    if (j >= c->nout) return synap_errf(c->err, "missing output %zu", j);
    if (rank < 0 || rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output %zu: rank %d exceeds %d", j, rank, SYNAP_MAX_RANK);
    struct synap_value *o = &c->out[j];
    o->dtype = t;
    o->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return synap_errf(c->err, "output %zu: negative dimension %lld", j, (long long)dims[i]);
        o->dims[i] = dims[i];
    }
    int64_t n = synap_shape_nelem(rank, dims);
    size_t nbytes;
    if (n < 0 || synap_mul_overflow((size_t)n, synap_dtype_size(t), &nbytes) ||
        nbytes > (size_t)INT64_MAX)
        return synap_errf(c->err, "output %zu: shape is too large", j);
    return 0;
}

static int is_index_dtype(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_INT32 || t == SYNAP_DTYPE_INT64;
}

static int64_t index_at(const struct synap_value *v, int64_t i)
{
    if (v->dtype == SYNAP_DTYPE_INT32) return ((const int32_t *)v->data)[i];
    return ((const int64_t *)v->data)[i];
}

/* Resolves a possibly negative index against a dimension of size n. */
static int resolve_index(struct synap_kctx *c, int64_t idx, int64_t n, const char *what,
                         int64_t *out)
{
    int64_t r = idx < 0 ? idx + n : idx;
    if (r < 0 || r >= n)
        return synap_errf(c->err, "%s: index %lld is out of range [%lld, %lld]", what,
                          (long long)idx, (long long)-n, (long long)n - 1);
    *out = r;
    return 0;
}

/* Checks every index of a constant (or run-time) index tensor against n. */
static int check_indices(struct synap_kctx *c, const struct synap_value *ind, int64_t n,
                         const char *what)
{
    int64_t cnt = synap_value_nelem(ind), r = 0;
    for (int64_t i = 0; i < cnt; i++)
        if (resolve_index(c, index_at(ind, i), n, what, &r)) return -1;
    return 0;
}

static int need_inputs(struct synap_kctx *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!synap_has_input(c, i)) return synap_errf(c->err, "input %zu is required", i);
    return 0;
}

/* ---- Gather --------------------------------------------------------------- */

static int gather_infer(struct synap_kctx *c)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    if (d->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    if (!is_index_dtype(ind->dtype))
        return synap_errf(c->err, "input 1: indices must be int32 or int64, got %s",
                          synap_dtype_name(ind->dtype));
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), d->rank, &axis)) return -1;
    int rank = d->rank - 1 + ind->rank;
    if (rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output rank %d exceeds %d", rank, SYNAP_MAX_RANK);
    int64_t dims[SYNAP_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++)
        dims[k++] = d->dims[i];
    for (int i = 0; i < ind->rank; i++)
        dims[k++] = ind->dims[i];
    for (int i = (int)axis + 1; i < d->rank; i++)
        dims[k++] = d->dims[i];
    if (ind->data && check_indices(c, ind, d->dims[axis], "input 1")) return -1;
    return set_out(c, 0, d->dtype, rank, dims);
}

static int gather_run(struct synap_kctx *c)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    int64_t axis;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), d->rank, &axis)) return -1;
    size_t es = synap_dtype_size(d->dtype);
    int64_t outer = prod(d->dims, 0, (int)axis), n = d->dims[axis];
    size_t inner = (size_t)prod(d->dims, (int)axis + 1, d->rank) * es;
    int64_t nind = synap_value_nelem(ind);
    /* Check first so a bad index leaves no half-written output behind. */
    if (check_indices(c, ind, n, "input 1")) return -1;
    const char *src = d->data;
    char *dst = c->out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nind; j++) {
            int64_t idx = index_at(ind, j);
            if (idx < 0) idx += n;
            memcpy(dst + (size_t)(o * nind + j) * inner, src + (size_t)(o * n + idx) * inner,
                   inner);
        }
    return 0;
}

/* ---- GatherElements / ScatterElements -------------------------------------- */

/* Shared checks: indices (and updates) of the data's rank, each non-axis
 * dimension no larger than the data's so every position maps inside it. */
static int elements_check(struct synap_kctx *c, int64_t *axis)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    if (d->rank < 1) return synap_errf(c->err, "input 0: expected rank >= 1, got 0");
    if (!is_index_dtype(ind->dtype))
        return synap_errf(c->err, "input 1: indices must be int32 or int64, got %s",
                          synap_dtype_name(ind->dtype));
    if (ind->rank != d->rank)
        return synap_errf(c->err, "input 1: expected rank %d (as the data), got %d", d->rank,
                          ind->rank);
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), d->rank, axis)) return -1;
    for (int i = 0; i < d->rank; i++)
        if (i != *axis && ind->dims[i] > d->dims[i])
            return synap_errf(c->err, "input 1: dimension %d is %lld, larger than the data's %lld",
                              i, (long long)ind->dims[i], (long long)d->dims[i]);
    return 0;
}

/* Element offset in the data of position `pos` of the indices, with the axis
 * coordinate replaced by the (checked) index there. */
static int elements_offset(struct synap_kctx *c, int64_t pos, int64_t axis, int64_t *off)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    int64_t rem = pos, o = 0, stride = 1;
    for (int i = d->rank - 1; i >= 0; i--) {
        int64_t coord = rem % ind->dims[i];
        rem /= ind->dims[i];
        if (i == axis && resolve_index(c, index_at(ind, pos), d->dims[i], "input 1", &coord))
            return -1;
        o += coord * stride;
        stride *= d->dims[i];
    }
    *off = o;
    return 0;
}

static int gather_elements_infer(struct synap_kctx *c)
{
    int64_t axis;
    if (elements_check(c, &axis)) return -1;
    if (c->in[1].data && check_indices(c, &c->in[1], c->in[0].dims[axis], "input 1")) return -1;
    return set_out(c, 0, c->in[0].dtype, c->in[1].rank, c->in[1].dims);
}

static int gather_elements_run(struct synap_kctx *c)
{
    int64_t axis, off = 0;
    if (elements_check(c, &axis)) return -1;
    size_t es = synap_dtype_size(c->in[0].dtype);
    int64_t n = synap_value_nelem(&c->in[1]);
    const char *src = c->in[0].data;
    char *dst = c->out[0].data;
    for (int64_t i = 0; i < n; i++) {
        if (elements_offset(c, i, axis, &off)) return -1;
        memcpy(dst + (size_t)i * es, src + (size_t)off * es, es);
    }
    return 0;
}

enum reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int parse_reduction(struct synap_kctx *c, enum reduction *r)
{
    const char *s = synap_attr_string(c->node, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *r = (enum reduction)i;
            return 0;
        }
    return synap_errf(c->err, "attribute 'reduction': unknown value '%s'", s);
}

#define COMBINE(a, b, red)                                                                         \
    ((red) == RED_ADD   ? (a) + (b)                                                                \
     : (red) == RED_MUL ? (a) * (b)                                                                \
     : (red) == RED_MAX ? ((a) > (b) ? (a) : (b))                                                  \
                        : ((a) < (b) ? (a) : (b)))

/* dst = dst (op) src for one element of dtype t. Integer sums wrap like
 * two's complement (computed unsigned, so never undefined behaviour). */
static void combine(enum synap_dtype t, void *dst, const void *src, enum reduction red)
{
    if (red == RED_NONE) {
        memcpy(dst, src, synap_dtype_size(t));
        return;
    }
    switch (t) {
#define FLT(E, T)                                                                                  \
    case SYNAP_DTYPE_##E: {                                                                        \
        T a, b;                                                                                    \
        memcpy(&a, dst, sizeof a);                                                                 \
        memcpy(&b, src, sizeof b);                                                                 \
        a = COMBINE(a, b, red);                                                                    \
        memcpy(dst, &a, sizeof a);                                                                 \
        return;                                                                                    \
    }
        FLT(FLOAT32, float)
        FLT(FLOAT64, double)
#undef FLT
#define INT(E, T, U)                                                                               \
    case SYNAP_DTYPE_##E: {                                                                        \
        T a, b;                                                                                    \
        memcpy(&a, dst, sizeof a);                                                                 \
        memcpy(&b, src, sizeof b);                                                                 \
        if (red == RED_ADD)                                                                        \
            a = (T)(U)((U)a + (U)b);                                                               \
        else if (red == RED_MUL)                                                                   \
            a = (T)(U)((U)a * (U)b);                                                               \
        else                                                                                       \
            a = COMBINE(a, b, red);                                                                \
        memcpy(dst, &a, sizeof a);                                                                 \
        return;                                                                                    \
    }
        INT(INT8, int8_t, uint32_t)
        INT(UINT8, uint8_t, uint32_t)
        INT(INT16, int16_t, uint32_t)
        INT(UINT16, uint16_t, uint32_t)
        INT(INT32, int32_t, uint32_t)
        INT(UINT32, uint32_t, uint32_t)
        INT(INT64, int64_t, uint64_t)
        INT(UINT64, uint64_t, uint64_t)
#undef INT
    case SYNAP_DTYPE_FLOAT16:
    case SYNAP_DTYPE_BFLOAT16: {
        uint16_t a, b;
        memcpy(&a, dst, 2);
        memcpy(&b, src, 2);
        int h = t == SYNAP_DTYPE_FLOAT16;
        float fa = h ? synap_f16_to_f32(a) : synap_bf16_to_f32(a);
        float fb = h ? synap_f16_to_f32(b) : synap_bf16_to_f32(b);
        fa = COMBINE(fa, fb, red);
        a = h ? synap_f32_to_f16(fa) : synap_f32_to_bf16(fa);
        memcpy(dst, &a, 2);
        return;
    }
    case SYNAP_DTYPE_BOOL: {
        uint8_t a = *(uint8_t *)dst != 0, b = *(const uint8_t *)src != 0;
        /* add is "or", mul is "and", as for numbers restricted to {0, 1}. */
        *(uint8_t *)dst = red == RED_ADD || red == RED_MAX ? (a | b) : (a & b);
        return;
    }
    default:
        return;
    }
}
#undef COMBINE

static int copy_data_to_out(struct synap_kctx *c)
{
    size_t nbytes = (size_t)synap_value_nelem(&c->in[0]) * synap_dtype_size(c->in[0].dtype);
    if (c->out[0].data != c->in[0].data && nbytes) memcpy(c->out[0].data, c->in[0].data, nbytes);
    return 0;
}

static int check_updates(struct synap_kctx *c, int rank, const int64_t *dims)
{
    const struct synap_value *u = &c->in[2];
    char a[96], b[96];
    if (u->dtype != c->in[0].dtype)
        return synap_errf(c->err, "input 2: updates are %s, data is %s", synap_dtype_name(u->dtype),
                          synap_dtype_name(c->in[0].dtype));
    if (u->rank != rank || memcmp(u->dims, dims, (size_t)rank * sizeof *dims))
        return synap_errf(c->err, "input 2: updates have shape %s, expected %s",
                          synap_shape_str(u->rank, u->dims, a, sizeof a),
                          synap_shape_str(rank, dims, b, sizeof b));
    return 0;
}

static int scatter_elements_infer(struct synap_kctx *c)
{
    int64_t axis;
    enum reduction red = RED_NONE;
    if (elements_check(c, &axis) || parse_reduction(c, &red) ||
        check_updates(c, c->in[1].rank, c->in[1].dims))
        return -1;
    if (c->in[1].data && check_indices(c, &c->in[1], c->in[0].dims[axis], "input 1")) return -1;
    return set_out(c, 0, c->in[0].dtype, c->in[0].rank, c->in[0].dims);
}

static int scatter_elements_run(struct synap_kctx *c)
{
    int64_t axis, off = 0;
    enum reduction red = RED_NONE;
    if (elements_check(c, &axis) || parse_reduction(c, &red)) return -1;
    if (check_indices(c, &c->in[1], c->in[0].dims[axis], "input 1")) return -1;
    copy_data_to_out(c);
    enum synap_dtype t = c->in[0].dtype;
    size_t es = synap_dtype_size(t);
    int64_t n = synap_value_nelem(&c->in[1]);
    const char *upd = c->in[2].data;
    char *dst = c->out[0].data;
    /* In index order: with duplicate indices and no reduction the last
     * update wins, as in the ONNX reference. */
    for (int64_t i = 0; i < n; i++) {
        if (elements_offset(c, i, axis, &off)) return -1;
        combine(t, dst + (size_t)off * es, upd + (size_t)i * es, red);
    }
    return 0;
}

/* ---- GatherND / ScatterND -------------------------------------------------- */

struct nd_geom {
    int64_t batch;  /* product of the batch dims */
    int64_t nidx;   /* index tuples per batch */
    int64_t k;      /* length of one tuple */
    int64_t slice;  /* elements copied per tuple */
    int64_t dbatch; /* data elements per batch */
};

static int nd_check(struct synap_kctx *c, int64_t b, struct nd_geom *g)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    if (!is_index_dtype(ind->dtype))
        return synap_errf(c->err, "input 1: indices must be int32 or int64, got %s",
                          synap_dtype_name(ind->dtype));
    if (d->rank < 1 || ind->rank < 1)
        return synap_errf(c->err, "data and indices must have rank >= 1");
    if (b < 0 || b >= ind->rank || b >= d->rank)
        return synap_errf(c->err, "attribute 'batch_dims': %lld must be below both ranks",
                          (long long)b);
    for (int i = 0; i < b; i++)
        if (ind->dims[i] != d->dims[i])
            return synap_errf(c->err, "input 1: batch dimension %d is %lld, data has %lld", i,
                              (long long)ind->dims[i], (long long)d->dims[i]);
    int64_t k = ind->dims[ind->rank - 1];
    if (k < 1 || k > d->rank - b)
        return synap_errf(c->err, "input 1: last dimension %lld must be in [1, %lld]", (long long)k,
                          (long long)(d->rank - b));
    g->k = k;
    g->batch = prod(d->dims, 0, (int)b);
    g->nidx = prod(ind->dims, (int)b, ind->rank - 1);
    g->slice = prod(d->dims, (int)(b + k), d->rank);
    g->dbatch = prod(d->dims, (int)b, d->rank);
    return 0;
}

/* Element offset (inside one batch) of index tuple `t` of batch `bi`. */
static int nd_offset(struct synap_kctx *c, int64_t b, const struct nd_geom *g, int64_t bi,
                     int64_t t, int64_t *off)
{
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    int64_t base = (bi * g->nidx + t) * g->k, o = 0;
    for (int64_t j = 0; j < g->k; j++) {
        int64_t r = 0, n = d->dims[b + j];
        if (resolve_index(c, index_at(ind, base + j), n, "input 1", &r)) return -1;
        o = o * n + r;
    }
    *off = o * g->slice;
    return 0;
}

static int gather_nd_infer(struct synap_kctx *c)
{
    struct nd_geom g;
    int64_t b = synap_attr_int(c->node, "batch_dims", 0);
    if (nd_check(c, b, &g)) return -1;
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    int rank = ind->rank - 1 + d->rank - (int)(b + g.k);
    if (rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output rank %d exceeds %d", rank, SYNAP_MAX_RANK);
    int64_t dims[SYNAP_MAX_RANK];
    int n = 0;
    for (int i = 0; i < ind->rank - 1; i++)
        dims[n++] = ind->dims[i];
    for (int i = (int)(b + g.k); i < d->rank; i++)
        dims[n++] = d->dims[i];
    return set_out(c, 0, d->dtype, rank, dims);
}

static int gather_nd_run(struct synap_kctx *c)
{
    struct nd_geom g;
    int64_t b = synap_attr_int(c->node, "batch_dims", 0), off = 0;
    if (nd_check(c, b, &g)) return -1;
    size_t es = synap_dtype_size(c->in[0].dtype), sl = (size_t)g.slice * es;
    const char *src = c->in[0].data;
    char *dst = c->out[0].data;
    for (int64_t bi = 0; bi < g.batch; bi++)
        for (int64_t t = 0; t < g.nidx; t++) {
            if (nd_offset(c, b, &g, bi, t, &off)) return -1;
            memcpy(dst + (size_t)(bi * g.nidx + t) * sl, src + (size_t)(bi * g.dbatch + off) * es,
                   sl);
        }
    return 0;
}

static int scatter_nd_infer(struct synap_kctx *c)
{
    struct nd_geom g;
    enum reduction red = RED_NONE;
    if (nd_check(c, 0, &g) || parse_reduction(c, &red)) return -1;
    const struct synap_value *d = &c->in[0], *ind = &c->in[1];
    int rank = ind->rank - 1 + d->rank - (int)g.k;
    if (rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "updates rank %d exceeds %d", rank, SYNAP_MAX_RANK);
    int64_t dims[SYNAP_MAX_RANK];
    int n = 0;
    for (int i = 0; i < ind->rank - 1; i++)
        dims[n++] = ind->dims[i];
    for (int i = (int)g.k; i < d->rank; i++)
        dims[n++] = d->dims[i];
    if (check_updates(c, rank, dims)) return -1;
    return set_out(c, 0, d->dtype, d->rank, d->dims);
}

static int scatter_nd_run(struct synap_kctx *c)
{
    struct nd_geom g;
    enum reduction red = RED_NONE;
    int64_t off;
    if (nd_check(c, 0, &g) || parse_reduction(c, &red)) return -1;
    for (int64_t t = 0; t < g.nidx; t++)
        if (nd_offset(c, 0, &g, 0, t, &off)) return -1;
    copy_data_to_out(c);
    enum synap_dtype ty = c->in[0].dtype;
    size_t es = synap_dtype_size(ty);
    const char *upd = c->in[2].data;
    char *dst = c->out[0].data;
    for (int64_t t = 0; t < g.nidx; t++) {
        nd_offset(c, 0, &g, 0, t, &off);
        if (red == RED_NONE) {
            memcpy(dst + (size_t)off * es, upd + (size_t)(t * g.slice) * es, (size_t)g.slice * es);
            continue;
        }
        for (int64_t s = 0; s < g.slice; s++)
            combine(ty, dst + (size_t)(off + s) * es, upd + (size_t)(t * g.slice + s) * es, red);
    }
    return 0;
}

/* ---- OneHot --------------------------------------------------------------- */

/* The depth input as an integer: ONNX converts a float depth to int. */
static int onehot_depth(struct synap_kctx *c, int64_t *depth)
{
    const struct synap_value *d = &c->in[1];
    if (!d->data) return synap_errf(c->err, "input 1 (depth) must be constant");
    if (synap_value_nelem(d) != 1)
        return synap_errf(c->err, "input 1 (depth): expected one element, got %lld",
                          (long long)synap_value_nelem(d));
    if (d->dtype == SYNAP_DTYPE_BOOL || d->dtype == SYNAP_DTYPE_UNDEFINED)
        return synap_errf(c->err, "input 1 (depth): expected a number");
    double v = synap_value_get_f64(d, 0);
    if (!(v >= 1 && v <= (double)INT32_MAX))
        return synap_errf(c->err, "input 1 (depth): %g is not a valid depth", v);
    *depth = (int64_t)v;
    return 0;
}

static int onehot_infer(struct synap_kctx *c)
{
    const struct synap_value *ind = &c->in[0], *val = &c->in[2];
    int64_t depth, axis;
    if (onehot_depth(c, &depth)) return -1;
    if (synap_value_nelem(val) != 2)
        return synap_errf(c->err, "input 2 (values): expected 2 elements, got %lld",
                          (long long)synap_value_nelem(val));
    if (ind->dtype == SYNAP_DTYPE_BOOL)
        return synap_errf(c->err, "input 0 (indices): expected a number, got bool");
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), ind->rank + 1, &axis))
        return -1;
    int64_t dims[SYNAP_MAX_RANK];
    if (ind->rank + 1 > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output rank %d exceeds %d", ind->rank + 1, SYNAP_MAX_RANK);
    for (int i = 0, k = 0; i <= ind->rank; i++)
        dims[i] = i == axis ? depth : ind->dims[k++];
    return set_out(c, 0, val->dtype, ind->rank + 1, dims);
}

static int onehot_run(struct synap_kctx *c)
{
    const struct synap_value *ind = &c->in[0], *val = &c->in[2];
    int64_t depth, axis;
    if (onehot_depth(c, &depth)) return -1;
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", -1), ind->rank + 1, &axis))
        return -1;
    size_t es = synap_dtype_size(val->dtype);
    const char *off = val->data, *on = off + es;
    int64_t outer = prod(ind->dims, 0, (int)axis), inner = prod(ind->dims, (int)axis, ind->rank);
    char *dst = c->out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            /* Non-integral indices truncate like a cast; out-of-range ones
             * (after wrapping negatives once) give an all-"off" row. */
            double x = synap_value_get_f64(ind, o * inner + i);
            int64_t idx = x >= -(double)depth && x < (double)depth ? (int64_t)x : -1 - depth;
            if (idx < 0) idx += depth;
            for (int64_t d = 0; d < depth; d++)
                memcpy(dst + (size_t)((o * depth + d) * inner + i) * es, d == idx ? on : off, es);
        }
    return 0;
}

/* ---- NonZero -------------------------------------------------------------- */

static int is_nonzero(const struct synap_value *v, int64_t i)
{
    if (synap_dtype_is_float(v->dtype)) return synap_value_get_f64(v, i) != 0; /* NaN counts */
    size_t es = synap_dtype_size(v->dtype);
    const unsigned char *p = (const unsigned char *)v->data + (size_t)i * es;
    for (size_t b = 0; b < es; b++)
        if (p[b]) return 1;
    return 0;
}

static int nonzero_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (!x->data)
        return synap_errf(c->err, "data-dependent output shape: input 0 must be constant");
    int64_t n = synap_value_nelem(x), nnz = 0;
    for (int64_t i = 0; i < n; i++)
        nnz += is_nonzero(x, i);
    /* numpy treats a scalar as a 1-D array of one element. */
    int64_t dims[2] = {x->rank > 0 ? x->rank : 1, nnz};
    return set_out(c, 0, SYNAP_DTYPE_INT64, 2, dims);
}

static int nonzero_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *o = &c->out[0];
    int rank = x->rank > 0 ? x->rank : 1;
    int64_t n = synap_value_nelem(x), nnz = o->dims[1], k = 0;
    if (o->rank != 2 || o->dims[0] != rank)
        return synap_errf(c->err, "data-dependent output shape: output shape is stale");
    int64_t *dst = o->data;
    for (int64_t i = 0; i < n; i++) {
        if (!is_nonzero(x, i)) continue;
        if (k >= nnz)
            return synap_errf(c->err, "data-dependent output shape: input changed since "
                                      "shape inference");
        int64_t rem = i;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t dim = x->rank > 0 ? x->dims[d] : 1;
            dst[d * nnz + k] = rem % dim;
            rem /= dim;
        }
        k++;
    }
    if (k != nnz)
        return synap_errf(c->err, "data-dependent output shape: input changed since shape "
                                  "inference");
    return 0;
}

/* ---- Trilu, EyeLike -------------------------------------------------------- */

static int trilu_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    if (x->rank < 2) return synap_errf(c->err, "input 0: expected rank >= 2, got %d", x->rank);
    if (synap_has_input(c, 1)) {
        const struct synap_value *k = &c->in[1];
        if (!is_index_dtype(k->dtype) || synap_value_nelem(k) != 1)
            return synap_errf(c->err, "input 1 (k): expected one int64 element");
    }
    return set_out(c, 0, x->dtype, x->rank, x->dims);
}

static int trilu_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t k = synap_has_input(c, 1) ? index_at(&c->in[1], 0) : 0;
    int upper = synap_attr_int(c->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    int64_t batch = prod(x->dims, 0, x->rank - 2);
    size_t es = synap_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = c->out[0].data;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                size_t at = (size_t)((b * rows + i) * cols + j) * es;
                /* j - i is small (both are dimensions), so no overflow against k. */
                int keep = upper ? j - i >= k : j - i <= k;
                if (keep)
                    memcpy(dst + at, src + at, es);
                else
                    memset(dst + at, 0, es);
            }
    return 0;
}

static int eyelike_dtype(struct synap_kctx *c, enum synap_dtype *t)
{
    const struct synap_attr *a = synap_node_attr(c->node, "dtype");
    *t = c->in[0].dtype;
    if (!a) return 0;
    *t = a->type == SYNAP_ATTR_INT ? synap_dtype_from_onnx(a->i) : SYNAP_DTYPE_UNDEFINED;
    if (*t == SYNAP_DTYPE_UNDEFINED)
        return synap_errf(c->err, "attribute 'dtype': unsupported ONNX data type %lld",
                          (long long)a->i);
    return 0;
}

static int eyelike_infer(struct synap_kctx *c)
{
    enum synap_dtype t;
    if (c->in[0].rank != 2)
        return synap_errf(c->err, "input 0: expected rank 2, got %d", c->in[0].rank);
    if (eyelike_dtype(c, &t)) return -1;
    return set_out(c, 0, t, 2, c->in[0].dims);
}

static int eyelike_run(struct synap_kctx *c)
{
    struct synap_value *o = &c->out[0];
    int64_t k = synap_attr_int(c->node, "k", 0), rows = o->dims[0], cols = o->dims[1];
    if (rows * cols == 0) return 0;
    memset(o->data, 0, (size_t)(rows * cols) * synap_dtype_size(o->dtype));
    for (int64_t i = 0; i < rows; i++) {
        /* Column i + k, computed without overflow for any k. */
        if (k < -i || k >= cols - i) continue;
        synap_value_set_f64(o, i * cols + i + k, 1.0);
    }
    return 0;
}

/* ---- Range, ConstantOfShape -------------------------------------------------- */

static int range_count(struct synap_kctx *c, int64_t *n)
{
    const struct synap_value *v = c->in;
    enum synap_dtype t = v[0].dtype;
    for (int i = 0; i < 3; i++) {
        if (!v[i].data)
            return synap_errf(c->err, "input %d must be constant (it decides the shape)", i);
        if (synap_value_nelem(&v[i]) != 1)
            return synap_errf(c->err, "input %d: expected a scalar", i);
        if (v[i].dtype != t)
            return synap_errf(c->err, "input %d: %s, input 0 is %s", i,
                              synap_dtype_name(v[i].dtype), synap_dtype_name(t));
    }
    if (t == SYNAP_DTYPE_BOOL) return synap_errf(c->err, "input 0: expected a number, got bool");
    /* Doubles are exact for the counts that fit in memory. */
    double start = synap_value_get_f64(&v[0], 0), limit = synap_value_get_f64(&v[1], 0);
    double delta = synap_value_get_f64(&v[2], 0);
    if (!(delta != 0) || isnan(start) || isnan(limit))
        return synap_errf(c->err, "input 2 (delta): must be non-zero and start/limit finite");
    /* ONNX Runtime subtracts in the input type, then divides in double. */
    double diff = t == SYNAP_DTYPE_FLOAT32 ? (double)((float)limit - (float)start) : limit - start;
    double cnt = ceil(diff / delta);
    if (synap_dtype_is_int(t)) {
        int64_t s = synap_value_get_i64(&v[0], 0), l = synap_value_get_i64(&v[1], 0);
        int64_t d = synap_value_get_i64(&v[2], 0);
        /* Exact integer ceil-division when the difference fits (the
         * difference is formed unsigned, so it never overflows). */
        uint64_t mag = l >= s ? (uint64_t)l - (uint64_t)s : (uint64_t)s - (uint64_t)l;
        if (mag <= (UINT64_C(1) << 52)) {
            int64_t diff = l >= s ? (int64_t)mag : -(int64_t)mag;
            int64_t q = diff / d;
            if (q * d != diff && (diff > 0) == (d > 0)) q++;
            cnt = (double)q;
        }
    }
    if (!(cnt < 1e12)) return synap_errf(c->err, "Range would have too many elements (%g)", cnt);
    *n = cnt > 0 ? (int64_t)cnt : 0;
    return 0;
}

static int range_infer(struct synap_kctx *c)
{
    int64_t n;
    if (range_count(c, &n)) return -1;
    return set_out(c, 0, c->in[0].dtype, 1, &n);
}

static int range_run(struct synap_kctx *c)
{
    struct synap_value *o = &c->out[0];
    int64_t n = o->dims[0];
    /* Accumulate in the output type, as ONNX Runtime does, so float results
     * match it bit for bit. */
    switch (o->dtype) {
    case SYNAP_DTYPE_FLOAT32: {
        float v = ((const float *)c->in[0].data)[0], d = ((const float *)c->in[2].data)[0];
        for (int64_t i = 0; i < n; i++, v += d)
            ((float *)o->data)[i] = v;
        return 0;
    }
    case SYNAP_DTYPE_FLOAT64: {
        double v = ((const double *)c->in[0].data)[0], d = ((const double *)c->in[2].data)[0];
        for (int64_t i = 0; i < n; i++, v += d)
            ((double *)o->data)[i] = v;
        return 0;
    }
    default:
        break;
    }
    if (synap_dtype_is_int(o->dtype)) {
        int64_t v = synap_value_get_i64(&c->in[0], 0), d = synap_value_get_i64(&c->in[2], 0);
        for (int64_t i = 0; i < n; i++, v = (int64_t)((uint64_t)v + (uint64_t)d))
            synap_value_set_i64(o, i, v);
        return 0;
    }
    double v = synap_value_get_f64(&c->in[0], 0), d = synap_value_get_f64(&c->in[2], 0);
    for (int64_t i = 0; i < n; i++, v += d)
        synap_value_set_f64(o, i, v);
    return 0;
}

/* The one-element constant giving ConstantOfShape's dtype and value; NULL
 * (with *t float32) when the attribute is absent. */
static int cos_value(struct synap_kctx *c, enum synap_dtype *t, const void **val)
{
    const struct synap_attr *a = synap_node_attr(c->node, "value");
    *t = SYNAP_DTYPE_FLOAT32;
    *val = NULL;
    if (!a) return 0;
    if (a->type != SYNAP_ATTR_TENSOR)
        return synap_errf(c->err, "attribute 'value': expected a tensor");
    if (!c->graph || a->i < 0 || (uint64_t)a->i >= c->graph->ntensors)
        return synap_errf(c->err, "attribute 'value': tensor index %lld out of range",
                          (long long)a->i);
    const struct synap_tensor *vt = &c->graph->tensors[a->i];
    if (!vt->data || synap_shape_nelem(vt->rank, vt->dims) != 1 ||
        vt->nbytes != synap_dtype_size(vt->dtype) || vt->nbytes == 0)
        return synap_errf(c->err, "attribute 'value': expected a one-element constant tensor");
    *t = vt->dtype;
    *val = vt->data;
    return 0;
}

static int cos_infer(struct synap_kctx *c)
{
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *dims;
    enum synap_dtype t;
    const void *val;
    if (cos_value(c, &t, &val)) return -1;
    if (c->in[0].rank != 1)
        return synap_errf(c->err, "input 0 (shape): expected rank 1, got %d", c->in[0].rank);
    int64_t n = synap_const_ints(c, 0, "shape", tmp, SYNAP_MAX_RANK, &dims);
    if (n < 0) return -1;
    return set_out(c, 0, t, (int)n, dims);
}

static int cos_run(struct synap_kctx *c)
{
    enum synap_dtype t;
    const void *val;
    if (cos_value(c, &t, &val)) return -1;
    struct synap_value *o = &c->out[0];
    size_t es = synap_dtype_size(o->dtype);
    int64_t n = synap_value_nelem(o);
    if (!val) {
        if (n > 0) memset(o->data, 0, (size_t)n * es);
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)o->data + (size_t)i * es, val, es);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

int synap_index_infer(struct synap_kctx *c)
{
    size_t nreq = (size_t)synap_op_table[c->node->op].min_in;
    if (need_inputs(c, nreq)) return -1;
    switch (c->node->op) {
    case SYNAP_OP_GATHER:
        return gather_infer(c);
    case SYNAP_OP_GATHER_ELEMENTS:
        return gather_elements_infer(c);
    case SYNAP_OP_GATHER_ND:
        return gather_nd_infer(c);
    case SYNAP_OP_SCATTER_ELEMENTS:
        return scatter_elements_infer(c);
    case SYNAP_OP_SCATTER_ND:
        return scatter_nd_infer(c);
    case SYNAP_OP_ONE_HOT:
        return onehot_infer(c);
    case SYNAP_OP_NON_ZERO:
        return nonzero_infer(c);
    case SYNAP_OP_TRILU:
        return trilu_infer(c);
    case SYNAP_OP_EYE_LIKE:
        return eyelike_infer(c);
    case SYNAP_OP_RANGE:
        return range_infer(c);
    case SYNAP_OP_CONSTANT_OF_SHAPE:
        return cos_infer(c);
    default:
        return synap_errf(c->err, "op %s is not in the index family", synap_op_name(c->node->op));
    }
}

int synap_index_run(struct synap_kctx *c)
{
    switch (c->node->op) {
    case SYNAP_OP_GATHER:
        return gather_run(c);
    case SYNAP_OP_GATHER_ELEMENTS:
        return gather_elements_run(c);
    case SYNAP_OP_GATHER_ND:
        return gather_nd_run(c);
    case SYNAP_OP_SCATTER_ELEMENTS:
        return scatter_elements_run(c);
    case SYNAP_OP_SCATTER_ND:
        return scatter_nd_run(c);
    case SYNAP_OP_ONE_HOT:
        return onehot_run(c);
    case SYNAP_OP_NON_ZERO:
        return nonzero_run(c);
    case SYNAP_OP_TRILU:
        return trilu_run(c);
    case SYNAP_OP_EYE_LIKE:
        return eyelike_run(c);
    case SYNAP_OP_RANGE:
        return range_run(c);
    case SYNAP_OP_CONSTANT_OF_SHAPE:
        return cos_run(c);
    default:
        return synap_errf(c->err, "op %s is not in the index family", synap_op_name(c->node->op));
    }
}
