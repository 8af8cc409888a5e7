/* Ops that move data without computing on it: Transpose, Concat, Split,
 * Slice, Pad, Tile, Expand, DepthToSpace, SpaceToDepth, ReverseSequence.
 * All work on any dtype by copying element-sized bytes.
 *
 * Most of them are one "strided gather" (struct view below): every output
 * element, in row-major order, reads the input at
 *     base + sum_d sstr[d] * map_d(o_d)
 * where map_d is the identity, or a table (Pad) whose -1 entries mean "the
 * fill value". Transpose permutes strides, Slice scales them by the step,
 * Tile and Expand use stride 0 for repeated dims, DepthToSpace is a 6-D
 * transpose. One engine means one place to make fast and to get right. */
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/qmath.h"

/* Tile views each dim as [repeats, dim], so views have up to twice the rank. */
#define VIEW_MAX_RANK (2 * SYNAP_MAX_RANK)

struct view {
    char *dst;
    const char *src;
    size_t es;
    int rank;
    int64_t dims[VIEW_MAX_RANK]; /* output dims */
    int64_t sstr[VIEW_MAX_RANK]; /* source stride in elements (may be 0 or negative) */
    const int64_t *map[VIEW_MAX_RANK];
    int64_t base;     /* source offset of output element 0, in elements */
    const void *fill; /* es bytes, for map entries of -1 */
    int64_t lo, hi;   /* the run of the last dim that one memcpy copies */
};

static void copy_elem(char *d, const char *s, size_t es)
{
    /* Constant sizes let the compiler emit single moves. */
    switch (es) {
    case 1:
        *d = *s;
        break;
    case 2:
        memcpy(d, s, 2);
        break;
    case 4:
        memcpy(d, s, 4);
        break;
    case 8:
        memcpy(d, s, 8);
        break;
    default:
        memcpy(d, s, es);
        break;
    }
}

static int64_t map_at(const struct view *v, int d, int64_t o)
{
    return v->map[d] ? v->map[d][o] : o;
}

/* Merges dims that are contiguous in the source as in the output and drops
 * size-1 dims, so e.g. an NCHW->NHWC transpose becomes a batch of 2-D
 * transposes and a Slice of whole rows becomes one memcpy per row. Then
 * finds the last dim's memcpy run. */
static void view_simplify(struct view *v)
{
    int r = 0;
    for (int d = 0; d < v->rank; d++) {
        if (v->dims[d] == 1 && !v->map[d]) {
            continue; /* contributes only its offset 0 */
        }
        if (r > 0 && !v->map[r - 1] && !v->map[d] && v->sstr[r - 1] == v->sstr[d] * v->dims[d]) {
            v->dims[r - 1] *= v->dims[d];
            v->sstr[r - 1] = v->sstr[d];
            continue;
        }
        v->dims[r] = v->dims[d];
        v->sstr[r] = v->sstr[d];
        v->map[r] = v->map[d];
        r++;
    }
    if (r == 0) {
        v->dims[0] = 1;
        v->sstr[0] = 0;
        v->map[0] = NULL;
        r = 1;
    }
    v->rank = r;
    int l = r - 1;
    v->lo = v->hi = 0;
    if (v->sstr[l] != 1) return;
    int64_t n = v->dims[l];
    int64_t lo = 0;
    while (lo < n && map_at(v, l, lo) < 0)
        lo++;
    int64_t hi = lo;
    while (hi < n && map_at(v, l, hi) == map_at(v, l, lo) + (hi - lo))
        hi++;
    v->lo = lo;
    v->hi = hi;
}

static void view_rows(void *arg, size_t begin, size_t end)
{
    const struct view *v = arg;
    int l = v->rank - 1;
    int64_t n = v->dims[l];
    size_t es = v->es;
    int64_t idx[VIEW_MAX_RANK];
    /* Multi-index of row `begin`, then an odometer. */
    int64_t r = (int64_t)begin;
    for (int d = l - 1; d >= 0; d--) {
        idx[d] = r % v->dims[d];
        r /= v->dims[d];
    }
    for (size_t row = begin; row < end; row++) {
        char *dst = v->dst + row * (size_t)n * es;
        int64_t off = v->base;
        int outside = 0;
        for (int d = 0; d < l; d++) {
            int64_t m = map_at(v, d, idx[d]);
            if (m < 0) outside = 1;
            off += m * v->sstr[d];
        }
        const int64_t s = v->sstr[l];
        if (outside) {
            for (int64_t j = 0; j < n; j++)
                copy_elem(dst + j * es, v->fill, es);
        } else if (!v->map[l] && s != 1) {
            /* Plain strided row: the common case of Transpose and Expand. */
            const char *src = v->src + off * (int64_t)es;
            for (int64_t j = 0; j < n; j++)
                copy_elem(dst + j * es, src + j * s * (int64_t)es, es);
        } else {
            /* Element by element around the memcpy run [lo, hi) (empty
             * when s != 1). */
            for (int64_t j = 0; j < n; j++) {
                if (j == v->lo && v->hi > v->lo) {
                    memcpy(dst + j * es, v->src + (off + map_at(v, l, j)) * (int64_t)es,
                           (size_t)(v->hi - v->lo) * es);
                    j = v->hi - 1;
                    continue;
                }
                int64_t m = map_at(v, l, j);
                copy_elem(dst + j * es, m < 0 ? v->fill : v->src + (off + m * s) * (int64_t)es, es);
            }
        }
        for (int d = l - 1; d >= 0; d--) {
            if (++idx[d] < v->dims[d]) break;
            idx[d] = 0;
        }
    }
}

/* Tiled 2-D transposes: after simplification out[b][i][j] = in[b][j][i]
 * (NCHW<->NHWC and every "swap the last two" perm). Tiles keep both the
 * reads and the writes in cache. One work item is TILE output rows. */
#define TILE 32

struct tview {
    const struct view *v;
    int64_t m, n;  /* output rows and cols of one 2-D transpose */
    int64_t tiles; /* row tiles per batch */
};

static void tview_run(void *arg, size_t begin, size_t end)
{
    const struct tview *t = arg;
    const struct view *v = t->v;
    size_t es = v->es;
    int nb = v->rank - 2;
    for (size_t item = begin; item < end; item++) {
        int64_t b = (int64_t)item / t->tiles;
        int64_t i0 = ((int64_t)item % t->tiles) * TILE;
        int64_t i1 = i0 + TILE < t->m ? i0 + TILE : t->m;
        int64_t off = v->base, rem = b;
        for (int d = nb - 1; d >= 0; d--) {
            off += (rem % v->dims[d]) * v->sstr[d];
            rem /= v->dims[d];
        }
        const char *src = v->src + off * (int64_t)es;
        char *dst = v->dst + (size_t)b * (size_t)(t->m * t->n) * es;
        for (int64_t j0 = 0; j0 < t->n; j0 += TILE) {
            int64_t j1 = j0 + TILE < t->n ? j0 + TILE : t->n;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++)
                    copy_elem(dst + (i * t->n + j) * (int64_t)es,
                              src + (j * t->m + i) * (int64_t)es, es);
        }
    }
}

/* Runs a view over the pool. Work items are sized so that each is worth a
 * thread hand-off (about 16 KiB of output). */
static void view_run(struct view *v, struct synap_pool *pool)
{
    view_simplify(v);
    int l = v->rank - 1;
    int64_t nelem = 1;
    for (int d = 0; d < v->rank; d++)
        nelem *= v->dims[d];
    if (nelem == 0) return;
    if (v->rank >= 2 && !v->map[l] && !v->map[l - 1] && v->sstr[l - 1] == 1 &&
        v->sstr[l] == v->dims[l - 1] && v->dims[l] > 1) {
        int batch_ok = 1;
        for (int d = 0; d < l - 1; d++)
            batch_ok &= !v->map[d];
        if (batch_ok) {
            struct tview t = {v, v->dims[l - 1], v->dims[l], (v->dims[l - 1] + TILE - 1) / TILE};
            int64_t batches = nelem / (t.m * t.n);
            size_t item_bytes = (size_t)(TILE * t.n) * v->es;
            size_t grain = item_bytes >= 16384 ? 1 : 16384 / item_bytes;
            synap_pool_for(pool, (size_t)(batches * t.tiles), grain, tview_run, &t);
            return;
        }
    }
    size_t row_bytes = (size_t)v->dims[l] * v->es;
    size_t grain = row_bytes >= 16384 ? 1 : 16384 / row_bytes;
    synap_pool_for(pool, (size_t)(nelem / v->dims[l]), grain, view_rows, v);
}

/* Row-major strides of a shape, in elements. */
static void strides_of(int rank, const int64_t *dims, int64_t *str)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        str[d] = s;
        s *= dims[d];
    }
}

static void view_init(struct view *v, const struct synap_value *x, struct synap_value *y)
{
    memset(v, 0, sizeof *v);
    v->src = x->data;
    v->dst = y->data;
    v->es = synap_dtype_size(x->dtype);
}

/* ---- Transpose ------------------------------------------------------------ */

static int transpose_perm(struct synap_kctx *c, int rank, int64_t *perm)
{
    const int64_t *p;
    size_t n = synap_attr_ints(c->node, "perm", &p);
    if (n == 0) {
        for (int d = 0; d < rank; d++)
            perm[d] = rank - 1 - d;
        return 0;
    }
    if (n != (size_t)rank) return synap_errf(c->err, "perm has %zu entries for rank %d", n, rank);
    int seen[SYNAP_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) {
        if (p[d] < 0 || p[d] >= rank || seen[p[d]])
            return synap_errf(c->err, "perm is not a permutation of 0..%d", rank - 1);
        seen[p[d]] = 1;
        perm[d] = p[d];
    }
    return 0;
}

static int transpose_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t perm[SYNAP_MAX_RANK];
    if (transpose_perm(c, x->rank, perm) < 0) return -1;
    struct synap_value *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int d = 0; d < x->rank; d++)
        y->dims[d] = x->dims[perm[d]];
    return 0;
}

static int transpose_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t perm[SYNAP_MAX_RANK], str[SYNAP_MAX_RANK];
    if (transpose_perm(c, x->rank, perm) < 0) return -1;
    strides_of(x->rank, x->dims, str);
    struct view v;
    view_init(&v, x, &c->out[0]);
    v.rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        v.dims[d] = x->dims[perm[d]];
        v.sstr[d] = str[perm[d]];
    }
    view_run(&v, c->pool);
    return 0;
}

/* ---- Concat and Split: blocks of rows ------------------------------------ */

struct blocks {
    char *dst;
    const char *src;
    size_t dst_stride, src_stride, nbytes; /* per row, in bytes */
};

static void blocks_run(void *arg, size_t begin, size_t end)
{
    const struct blocks *b = arg;
    for (size_t r = begin; r < end; r++)
        memcpy(b->dst + r * b->dst_stride, b->src + r * b->src_stride, b->nbytes);
}

static void blocks_copy(struct blocks *b, size_t rows, struct synap_pool *pool)
{
    if (rows == 0 || b->nbytes == 0) return;
    size_t grain = b->nbytes >= 16384 ? 1 : 16384 / b->nbytes;
    synap_pool_for(pool, rows, grain, blocks_run, b);
}

static int concat_axis(struct synap_kctx *c, int rank, int64_t *axis)
{
    const struct synap_attr *a = synap_node_attr(c->node, "axis");
    if (!a) return synap_errf(c->err, "attribute 'axis' is required");
    return synap_norm_axis(c->err, a->i, rank, axis);
}

/* Inputs that are empty 1-D tensors are skipped by the shape check: some
 * exporters concatenate a [0] "nothing" onto shapes of any rank. */
static int concat_skip(const struct synap_kctx *c, size_t k, int rank)
{
    const struct synap_value *x = &c->in[k];
    return x->rank != rank && x->rank == 1 && x->dims[0] == 0;
}

static int concat_infer(struct synap_kctx *c)
{
    /* The first input that is not a skippable empty decides the rank. */
    size_t first = 0;
    for (size_t k = 0; k < c->nin; k++) {
        if (!(c->in[k].rank == 1 && c->in[k].dims[0] == 0)) {
            first = k;
            break;
        }
    }
    const struct synap_value *x0 = &c->in[first];
    int64_t axis;
    if (concat_axis(c, x0->rank, &axis) < 0) return -1;
    struct synap_value *y = &c->out[0];
    y->dtype = x0->dtype;
    y->rank = x0->rank;
    memcpy(y->dims, x0->dims, sizeof y->dims);
    y->dims[axis] = 0;
    for (size_t k = 0; k < c->nin; k++) {
        const struct synap_value *x = &c->in[k];
        if (x->dtype != x0->dtype)
            return synap_errf(c->err, "input %zu: dtype %s differs from input %zu's %s", k,
                              synap_dtype_name(x->dtype), first, synap_dtype_name(x0->dtype));
        if (concat_skip(c, k, x0->rank)) continue;
        if (x->rank != x0->rank)
            return synap_errf(c->err, "input %zu: rank %d differs from input %zu's %d", k, x->rank,
                              first, x0->rank);
        for (int d = 0; d < x->rank; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return synap_errf(c->err, "input %zu: dim %d is %lld, input %zu has %lld", k, d,
                                  (long long)x->dims[d], first, (long long)x0->dims[d]);
        if (y->dims[axis] > INT64_MAX - x->dims[axis])
            return synap_errf(c->err, "output dim overflows");
        y->dims[axis] += x->dims[axis];
    }
    if (synap_shape_nelem(y->rank, y->dims) < 0)
        return synap_errf(c->err, "output element count overflows");
    return 0;
}

static int concat_run(struct synap_kctx *c)
{
    struct synap_value *y = &c->out[0];
    int64_t axis;
    if (concat_axis(c, y->rank, &axis) < 0) return -1;
    size_t es = synap_dtype_size(y->dtype);
    size_t outer = (size_t)synap_shape_nelem((int)axis, y->dims);
    size_t inner = (size_t)synap_shape_nelem(y->rank - (int)axis - 1, y->dims + axis + 1) * es;
    size_t at = 0;
    for (size_t k = 0; k < c->nin; k++) {
        const struct synap_value *x = &c->in[k];
        if (concat_skip(c, k, y->rank)) continue;
        struct blocks b = {(char *)y->data + at, x->data, (size_t)y->dims[axis] * inner,
                           (size_t)x->dims[axis] * inner, (size_t)x->dims[axis] * inner};
        blocks_copy(&b, outer, c->pool);
        at += b.nbytes;
    }
    return 0;
}

/* Split sizes from the optional constant `split` input, else equal parts. */
static int split_sizes(struct synap_kctx *c, int64_t axis, int64_t *sizes)
{
    const struct synap_value *x = &c->in[0];
    int64_t dim = x->dims[axis];
    size_t nout = c->nout;
    if (synap_has_input(c, 1)) {
        const int64_t *v;
        int64_t n = synap_const_ints(c, 1, "split", sizes, nout, &v);
        if (n < 0) return -1;
        if ((size_t)n != nout)
            return synap_errf(c->err, "split has %lld entries for %zu outputs", (long long)n, nout);
        int64_t sum = 0;
        for (size_t k = 0; k < nout; k++) {
            if (v[k] < 0 || v[k] > dim - sum)
                return synap_errf(c->err, "split sizes do not add up to dim %lld of axis %lld",
                                  (long long)dim, (long long)axis);
            sum += v[k];
            sizes[k] = v[k];
        }
        if (sum != dim)
            return synap_errf(c->err, "split sizes add up to %lld, not dim %lld of axis %lld",
                              (long long)sum, (long long)dim, (long long)axis);
        return 0;
    }
    if (dim % (int64_t)nout != 0)
        return synap_errf(c->err, "axis %lld of size %lld cannot be split into %zu equal parts",
                          (long long)axis, (long long)dim, nout);
    for (size_t k = 0; k < nout; k++)
        sizes[k] = dim / (int64_t)nout;
    return 0;
}

/* Split's work arrays live on the stack up to this many outputs; more is
 * legal ONNX but unheard of in real models. */
#define SPLIT_MAX_OUT 256

static int split_prepare(struct synap_kctx *c, int64_t *axis, int64_t *sizes)
{
    const struct synap_value *x = &c->in[0];
    if (c->nout == 0 || c->nout > SPLIT_MAX_OUT)
        return synap_errf(c->err, "%zu outputs (expected 1..%d)", c->nout, SPLIT_MAX_OUT);
    if (x->rank == 0) return synap_errf(c->err, "input 0: cannot split a scalar");
    if (synap_norm_axis(c->err, synap_attr_int(c->node, "axis", 0), x->rank, axis) < 0) return -1;
    return split_sizes(c, *axis, sizes);
}

static int split_infer(struct synap_kctx *c)
{
    int64_t axis, sizes[SPLIT_MAX_OUT];
    if (split_prepare(c, &axis, sizes) < 0) return -1;
    const struct synap_value *x = &c->in[0];
    for (size_t k = 0; k < c->nout; k++) {
        struct synap_value *y = &c->out[k];
        y->dtype = x->dtype;
        y->rank = x->rank;
        memcpy(y->dims, x->dims, sizeof y->dims);
        y->dims[axis] = sizes[k];
    }
    return 0;
}

static int split_run(struct synap_kctx *c)
{
    int64_t axis, sizes[SPLIT_MAX_OUT];
    if (split_prepare(c, &axis, sizes) < 0) return -1;
    const struct synap_value *x = &c->in[0];
    size_t es = synap_dtype_size(x->dtype);
    size_t outer = (size_t)synap_shape_nelem((int)axis, x->dims);
    size_t inner = (size_t)synap_shape_nelem(x->rank - (int)axis - 1, x->dims + axis + 1) * es;
    size_t at = 0;
    for (size_t k = 0; k < c->nout; k++) {
        struct blocks b = {c->out[k].data, (const char *)x->data + at, (size_t)sizes[k] * inner,
                           (size_t)x->dims[axis] * inner, (size_t)sizes[k] * inner};
        blocks_copy(&b, outer, c->pool);
        at += b.nbytes;
    }
    return 0;
}

/* ---- Slice ----------------------------------------------------------------- */

/* Per-axis start and step, and the output dims, following ONNX Slice-13's
 * clamping: starts clamp to [0, dim] (step > 0) or [0, dim-1] (step < 0),
 * ends to [0, dim] or [-1, dim-1], after adding dim to negative values. */
static int slice_params(struct synap_kctx *c, int64_t *start, int64_t *step, int64_t *dims)
{
    const struct synap_value *x = &c->in[0];
    int r = x->rank;
    int64_t t0[SYNAP_MAX_RANK], t1[SYNAP_MAX_RANK], t2[SYNAP_MAX_RANK], t3[SYNAP_MAX_RANK];
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    int64_t n = synap_const_ints(c, 1, "starts", t0, SYNAP_MAX_RANK, &starts);
    if (n < 0) return -1;
    int64_t ne = synap_const_ints(c, 2, "ends", t1, SYNAP_MAX_RANK, &ends);
    if (ne < 0) return -1;
    if (ne != n)
        return synap_errf(c->err, "starts has %lld entries, ends %lld", (long long)n,
                          (long long)ne);
    if (n > r) return synap_errf(c->err, "starts has %lld entries for rank %d", (long long)n, r);
    if (synap_has_input(c, 3)) {
        int64_t na = synap_const_ints(c, 3, "axes", t2, SYNAP_MAX_RANK, &axes);
        if (na < 0) return -1;
        if (na != n)
            return synap_errf(c->err, "axes has %lld entries, starts %lld", (long long)na,
                              (long long)n);
    }
    if (synap_has_input(c, 4)) {
        int64_t ns = synap_const_ints(c, 4, "steps", t3, SYNAP_MAX_RANK, &steps);
        if (ns < 0) return -1;
        if (ns != n)
            return synap_errf(c->err, "steps has %lld entries, starts %lld", (long long)ns,
                              (long long)n);
    }
    int seen[SYNAP_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        step[d] = 1;
        dims[d] = x->dims[d];
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t a = k;
        if (axes && synap_norm_axis(c->err, axes[k], r, &a) < 0) return -1;
        if (seen[a]) return synap_errf(c->err, "axes: axis %lld repeated", (long long)a);
        seen[a] = 1;
        int64_t st = steps ? steps[k] : 1;
        if (st == 0) return synap_errf(c->err, "steps: step of axis %lld is 0", (long long)a);
        int64_t dim = x->dims[a];
        int64_t s = starts[k], e = ends[k];
        /* Adding dim to a negative value cannot overflow. */
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        /* Lengths are ceil(distance / |step|), written so that steps near
         * INT64_MAX/MIN cannot overflow. */
        int64_t len;
        if (st > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            len = e > s ? (e - s - 1) / st + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            len = s > e ? (st == INT64_MIN ? 1 : (s - e - 1) / -st + 1) : 0;
        }
        start[a] = len > 0 ? s : 0;
        step[a] = st;
        dims[a] = len;
    }
    return 0;
}

static int slice_infer(struct synap_kctx *c)
{
    int64_t start[SYNAP_MAX_RANK], step[SYNAP_MAX_RANK];
    struct synap_value *y = &c->out[0];
    if (slice_params(c, start, step, y->dims) < 0) return -1;
    y->dtype = c->in[0].dtype;
    y->rank = c->in[0].rank;
    return 0;
}

static int slice_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t start[SYNAP_MAX_RANK], step[SYNAP_MAX_RANK], dims[SYNAP_MAX_RANK];
    int64_t str[SYNAP_MAX_RANK];
    if (slice_params(c, start, step, dims) < 0) return -1;
    strides_of(x->rank, x->dims, str);
    struct view v;
    view_init(&v, x, &c->out[0]);
    v.rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        v.dims[d] = dims[d];
        /* A length-1 result never steps, so a huge step cannot overflow. */
        v.sstr[d] = dims[d] > 1 ? str[d] * step[d] : 0;
        v.base += start[d] * str[d];
    }
    view_run(&v, c->pool);
    return 0;
}

/* ---- Pad -------------------------------------------------------------------- */

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE };

static int pad_infer_dims(struct synap_kctx *c, enum pad_mode *mode, int64_t *pads, int64_t *dims)
{
    const struct synap_value *x = &c->in[0];
    const char *m = synap_attr_string(c->node, "mode", "constant");
    if (!strcmp(m, "constant"))
        *mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect"))
        *mode = PAD_REFLECT;
    else if (!strcmp(m, "edge"))
        *mode = PAD_EDGE;
    else
        return synap_errf(c->err, "mode '%s' is not constant, reflect or edge", m);
    const int64_t *p;
    int64_t n = synap_const_ints(c, 1, "pads", pads, 2 * SYNAP_MAX_RANK, &p);
    if (n < 0) return -1;
    if (n != 2 * x->rank)
        return synap_errf(c->err, "pads has %lld entries for rank %d (expected %d)", (long long)n,
                          x->rank, 2 * x->rank);
    for (int d = 0; d < x->rank; d++) {
        int64_t b = p[d], e = p[d + x->rank];
        pads[d] = b;
        pads[d + x->rank] = e;
        /* Pads are bounded so that the sums below cannot overflow. */
        if (b < -x->dims[d] || e < -x->dims[d] || b > (INT64_MAX >> 2) || e > (INT64_MAX >> 2))
            return synap_errf(c->err, "pads of axis %d (%lld, %lld) are out of range", d,
                              (long long)b, (long long)e);
        dims[d] = x->dims[d] + b + e;
        if (dims[d] < 0)
            return synap_errf(c->err,
                              "pads of axis %d (%lld, %lld) crop more than its %lld "
                              "elements",
                              d, (long long)b, (long long)e, (long long)x->dims[d]);
        if (*mode != PAD_CONSTANT && x->dims[d] == 0 && dims[d] > 0)
            return synap_errf(c->err, "%s padding of the empty axis %d", m, d);
    }
    if (synap_shape_nelem(x->rank, dims) < 0)
        return synap_errf(c->err, "output element count overflows");
    if (synap_has_input(c, 2)) {
        const struct synap_value *cv = &c->in[2];
        if (cv->dtype != x->dtype)
            return synap_errf(c->err, "constant_value: dtype %s differs from the data's %s",
                              synap_dtype_name(cv->dtype), synap_dtype_name(x->dtype));
        if (synap_value_nelem(cv) != 1)
            return synap_errf(c->err, "constant_value: expected one element, got %lld",
                              (long long)synap_value_nelem(cv));
    }
    return 0;
}

static int pad_infer(struct synap_kctx *c)
{
    enum pad_mode mode;
    int64_t pads[2 * SYNAP_MAX_RANK];
    struct synap_value *y = &c->out[0];
    if (pad_infer_dims(c, &mode, pads, y->dims) < 0) return -1;
    y->dtype = c->in[0].dtype;
    y->rank = c->in[0].rank;
    /* Index maps of every padded axis (none when there is nothing to write). */
    size_t n = 0;
    if (synap_shape_nelem(y->rank, y->dims) > 0)
        for (int d = 0; d < y->rank; d++)
            if (pads[d] != 0 || pads[d + y->rank] != 0) n += (size_t)y->dims[d];
    c->scratch_nbytes = n * sizeof(int64_t);
    return 0;
}

/* Source index of output position o on an axis of n elements padded by b
 * in front; -1 for the constant. */
static int64_t pad_index(enum pad_mode mode, int64_t o, int64_t b, int64_t n)
{
    int64_t i = o - b;
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_CONSTANT:
        return -1;
    case PAD_EDGE:
        return i < 0 ? 0 : n - 1;
    case PAD_REFLECT:
    default:
        if (n == 1) return 0;
        /* numpy's reflect: the pattern 0..n-1..1 repeats with period 2(n-1). */
        int64_t p = 2 * (n - 1);
        i %= p;
        if (i < 0) i += p;
        return i < n ? i : p - i;
    }
}

static int pad_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    enum pad_mode mode;
    int64_t pads[2 * SYNAP_MAX_RANK], dims[SYNAP_MAX_RANK], str[SYNAP_MAX_RANK];
    if (pad_infer_dims(c, &mode, pads, dims) < 0) return -1;
    if (synap_shape_nelem(x->rank, dims) == 0) return 0;
    static const uint64_t zero[2];
    struct view v;
    view_init(&v, x, y);
    v.fill = synap_has_input(c, 2) ? c->in[2].data : (const void *)zero;
    uint64_t qfill = 0;
    if (synap_q_node(c)) {
        /* Quantized data pads with the real value 0 (the zero point) or the
         * constant_value requantized to the data's parameters (TFLite). */
        const struct synap_quant *q = synap_q_in(c, 0), *qc = synap_q_in(c, 2);
        if (synap_has_input(c, 2) && qc)
            synap_q_requantize(c->in[2].dtype, c->in[2].data, qc, x->dtype, &qfill, q, 1);
        else if (synap_has_input(c, 2))
            memcpy(&qfill, c->in[2].data, synap_dtype_size(x->dtype));
        else
            synap_q_store(x->dtype, &qfill, 0, q->zero_point[0]);
        v.fill = &qfill;
    }
    v.rank = x->rank;
    strides_of(x->rank, x->dims, str);
    int64_t *maps = c->scratch;
    for (int d = 0; d < x->rank; d++) {
        v.dims[d] = dims[d];
        v.sstr[d] = str[d];
        if (pads[d] == 0 && pads[d + x->rank] == 0) continue;
        for (int64_t o = 0; o < dims[d]; o++)
            maps[o] = pad_index(mode, o, pads[d], x->dims[d]);
        v.map[d] = maps;
        maps += dims[d];
    }
    view_run(&v, c->pool);
    return 0;
}

/* ---- Tile and Expand ---------------------------------------------------------- */

static int tile_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *rep;
    int64_t n = synap_const_ints(c, 1, "repeats", tmp, SYNAP_MAX_RANK, &rep);
    if (n < 0) return -1;
    if (n != x->rank)
        return synap_errf(c->err, "repeats has %lld entries for rank %d", (long long)n, x->rank);
    for (int d = 0; d < x->rank; d++) {
        if (rep[d] < 0)
            return synap_errf(c->err, "repeats: negative repeat %lld for axis %d",
                              (long long)rep[d], d);
        if (rep[d] != 0 && x->dims[d] > INT64_MAX / rep[d])
            return synap_errf(c->err, "output dim %d overflows", d);
        y->dims[d] = x->dims[d] * rep[d];
    }
    y->dtype = x->dtype;
    y->rank = x->rank;
    if (synap_shape_nelem(y->rank, y->dims) < 0)
        return synap_errf(c->err, "output element count overflows");
    return 0;
}

static int tile_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t str[SYNAP_MAX_RANK];
    strides_of(x->rank, x->dims, str);
    struct view v;
    view_init(&v, x, y);
    /* Output axis d is row-major [repeats, dim]: a stride-0 repeat axis
     * in front of the input axis. */
    v.rank = 2 * x->rank;
    for (int d = 0; d < x->rank; d++) {
        v.dims[2 * d] = x->dims[d] == 0 ? 0 : y->dims[d] / x->dims[d];
        v.sstr[2 * d] = 0;
        v.dims[2 * d + 1] = x->dims[d];
        v.sstr[2 * d + 1] = str[d];
    }
    view_run(&v, c->pool);
    return 0;
}

static int expand_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t tmp[SYNAP_MAX_RANK];
    const int64_t *shape;
    int64_t n = synap_const_ints(c, 1, "shape", tmp, SYNAP_MAX_RANK, &shape);
    if (n < 0) return -1;
    if (n > SYNAP_MAX_RANK)
        return synap_errf(c->err, "shape: rank %lld exceeds the maximum %d", (long long)n,
                          SYNAP_MAX_RANK);
    for (int64_t k = 0; k < n; k++)
        if (shape[k] < 0)
            return synap_errf(c->err, "shape: negative dim %lld", (long long)shape[k]);
    if (synap_broadcast_shape(c->err, x->rank, x->dims, (int)n, shape, &y->rank, y->dims) < 0)
        return -1;
    y->dtype = x->dtype;
    if (synap_shape_nelem(y->rank, y->dims) < 0)
        return synap_errf(c->err, "output element count overflows");
    return 0;
}

static int expand_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    struct view v;
    view_init(&v, x, y);
    v.rank = y->rank;
    memcpy(v.dims, y->dims, sizeof y->dims);
    synap_broadcast_strides(x->rank, x->dims, y->rank, y->dims, v.sstr);
    view_run(&v, c->pool);
    return 0;
}

/* ---- DepthToSpace and SpaceToDepth ---------------------------------------------- */

static int d2s_blocksize(struct synap_kctx *c, int64_t *b)
{
    const struct synap_value *x = &c->in[0];
    if (x->rank != 4) return synap_errf(c->err, "input 0: expected rank 4, got %d", x->rank);
    const struct synap_attr *a = synap_node_attr(c->node, "blocksize");
    if (!a) return synap_errf(c->err, "attribute 'blocksize' is required");
    if (a->i <= 0 || a->i > (1 << 20))
        return synap_errf(c->err, "blocksize %lld is not positive", (long long)a->i);
    *b = a->i;
    return 0;
}

static int d2s_crd(struct synap_kctx *c, int *crd)
{
    const char *m = synap_attr_string(c->node, "mode", "DCR");
    if (strcmp(m, "DCR") && strcmp(m, "CRD"))
        return synap_errf(c->err, "mode '%s' is not DCR or CRD", m);
    *crd = !strcmp(m, "CRD");
    return 0;
}

static int space_depth_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    int64_t b;
    if (d2s_blocksize(c, &b) < 0) return -1;
    y->dtype = x->dtype;
    y->rank = 4;
    y->dims[0] = x->dims[0];
    if (c->node->op == SYNAP_OP_DEPTH_TO_SPACE) {
        int crd;
        if (d2s_crd(c, &crd) < 0) return -1;
        if (x->dims[1] % (b * b) != 0)
            return synap_errf(c->err, "channels %lld are not a multiple of blocksize^2 %lld",
                              (long long)x->dims[1], (long long)(b * b));
        if (x->dims[2] > INT64_MAX / b || x->dims[3] > INT64_MAX / b)
            return synap_errf(c->err, "output dims overflow");
        y->dims[1] = x->dims[1] / (b * b);
        y->dims[2] = x->dims[2] * b;
        y->dims[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
            return synap_errf(c->err,
                              "height %lld and width %lld are not multiples of "
                              "blocksize %lld",
                              (long long)x->dims[2], (long long)x->dims[3], (long long)b);
        if (x->dims[1] > INT64_MAX / (b * b)) return synap_errf(c->err, "output dims overflow");
        y->dims[1] = x->dims[1] * b * b;
        y->dims[2] = x->dims[2] / b;
        y->dims[3] = x->dims[3] / b;
    }
    if (synap_shape_nelem(4, y->dims) < 0)
        return synap_errf(c->err, "output element count overflows");
    return 0;
}

/* Both ops are a reshape to 6-D, a transpose, and a reshape (see the ONNX
 * definitions); the view expresses the transpose over the 6-D input. */
static int space_depth_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    int64_t b;
    if (d2s_blocksize(c, &b) < 0) return -1;
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t in6[6], perm[6], str[6];
    if (c->node->op == SYNAP_OP_DEPTH_TO_SPACE) {
        int crd;
        if (d2s_crd(c, &crd) < 0) return -1;
        int64_t cc = ch / (b * b);
        if (crd) {
            int64_t d[6] = {n, cc, b, b, h, w}, p[6] = {0, 1, 4, 2, 5, 3};
            memcpy(in6, d, sizeof d);
            memcpy(perm, p, sizeof p);
        } else {
            int64_t d[6] = {n, b, b, cc, h, w}, p[6] = {0, 3, 4, 1, 5, 2};
            memcpy(in6, d, sizeof d);
            memcpy(perm, p, sizeof p);
        }
    } else {
        int64_t d[6] = {n, ch, h / b, b, w / b, b}, p[6] = {0, 3, 5, 1, 2, 4};
        memcpy(in6, d, sizeof d);
        memcpy(perm, p, sizeof p);
    }
    strides_of(6, in6, str);
    struct view v;
    view_init(&v, x, &c->out[0]);
    v.rank = 6;
    for (int d = 0; d < 6; d++) {
        v.dims[d] = in6[perm[d]];
        v.sstr[d] = str[perm[d]];
    }
    view_run(&v, c->pool);
    return 0;
}

/* ---- ReverseSequence ----------------------------------------------------------- */

static int revseq_axes(struct synap_kctx *c, int64_t *taxis, int64_t *baxis)
{
    const struct synap_value *x = &c->in[0];
    if (x->rank < 2) return synap_errf(c->err, "input 0: expected rank >= 2, got %d", x->rank);
    *taxis = synap_attr_int(c->node, "time_axis", 0);
    *baxis = synap_attr_int(c->node, "batch_axis", 1);
    /* ONNX allows only 0/1 for both axes. */
    if (!((*taxis == 0 && *baxis == 1) || (*taxis == 1 && *baxis == 0)))
        return synap_errf(c->err, "time_axis %lld and batch_axis %lld must be 0 and 1",
                          (long long)*taxis, (long long)*baxis);
    return 0;
}

static int revseq_infer(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    const struct synap_value *len = &c->in[1];
    int64_t t, b;
    if (revseq_axes(c, &t, &b) < 0) return -1;
    if (len->rank != 1 || len->dims[0] != x->dims[b])
        return synap_errf(c->err, "sequence_lens: expected shape [%lld]", (long long)x->dims[b]);
    if (len->dtype != SYNAP_DTYPE_INT64 && len->dtype != SYNAP_DTYPE_INT32)
        return synap_errf(c->err, "sequence_lens: expected int64, got %s",
                          synap_dtype_name(len->dtype));
    c->out[0].dtype = x->dtype;
    c->out[0].rank = x->rank;
    memcpy(c->out[0].dims, x->dims, sizeof x->dims);
    return 0;
}

static int revseq_run(struct synap_kctx *c)
{
    const struct synap_value *x = &c->in[0];
    const struct synap_value *len = &c->in[1];
    struct synap_value *y = &c->out[0];
    int64_t taxis, baxis, str[SYNAP_MAX_RANK];
    if (revseq_axes(c, &taxis, &baxis) < 0) return -1;
    int64_t nt = x->dims[taxis], nb = x->dims[baxis];
    for (int64_t i = 0; i < nb; i++) {
        int64_t l = synap_value_get_i64(len, i);
        if (l < 0 || l > nt)
            return synap_errf(c->err, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                              (long long)i, (long long)l, (long long)nt);
    }
    strides_of(x->rank, x->dims, str);
    size_t es = synap_dtype_size(x->dtype);
    /* The two leading axes are time and batch in some order; everything
     * after them is one contiguous block per (time, batch). */
    int64_t inner = str[1];
    for (int64_t a = 0; a < x->dims[0]; a++) {
        for (int64_t bb = 0; bb < x->dims[1]; bb++) {
            int64_t t = taxis == 0 ? a : bb, b = taxis == 0 ? bb : a;
            int64_t l = synap_value_get_i64(len, b);
            int64_t ts = t < l ? l - 1 - t : t;
            int64_t src = taxis == 0 ? ts * str[0] + b * str[1] : b * str[0] + ts * str[1];
            int64_t dst = a * str[0] + bb * str[1];
            if (inner > 0)
                memcpy((char *)y->data + dst * (int64_t)es,
                       (const char *)x->data + src * (int64_t)es, (size_t)inner * es);
        }
    }
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------- */

int synap_movement_infer(struct synap_kctx *c)
{
    if (c->node->op == SYNAP_OP_CONCAT && synap_q_node(c)) return synap_q_infer(c, synap_movement_infer);
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "expected an input and an output");
    switch (c->node->op) {
    case SYNAP_OP_TRANSPOSE:
        return transpose_infer(c);
    case SYNAP_OP_CONCAT:
        return concat_infer(c);
    case SYNAP_OP_SPLIT:
        return split_infer(c);
    case SYNAP_OP_SLICE:
        return slice_infer(c);
    case SYNAP_OP_PAD:
        return pad_infer(c);
    case SYNAP_OP_TILE:
        return tile_infer(c);
    case SYNAP_OP_EXPAND:
        return expand_infer(c);
    case SYNAP_OP_DEPTH_TO_SPACE:
    case SYNAP_OP_SPACE_TO_DEPTH:
        return space_depth_infer(c);
    case SYNAP_OP_REVERSE_SEQUENCE:
        return revseq_infer(c);
    default:
        return synap_errf(c->err, "op %s is not in the movement family",
                          synap_op_name(c->node->op));
    }
}

int synap_movement_run(struct synap_kctx *c)
{
    if (c->node->op == SYNAP_OP_CONCAT && synap_q_node(c)) return synap_q_run(c);
    switch (c->node->op) {
    case SYNAP_OP_TRANSPOSE:
        return transpose_run(c);
    case SYNAP_OP_CONCAT:
        return concat_run(c);
    case SYNAP_OP_SPLIT:
        return split_run(c);
    case SYNAP_OP_SLICE:
        return slice_run(c);
    case SYNAP_OP_PAD:
        return pad_run(c);
    case SYNAP_OP_TILE:
        return tile_run(c);
    case SYNAP_OP_EXPAND:
        return expand_run(c);
    case SYNAP_OP_DEPTH_TO_SPACE:
    case SYNAP_OP_SPACE_TO_DEPTH:
        return space_depth_run(c);
    case SYNAP_OP_REVERSE_SEQUENCE:
        return revseq_run(c);
    default:
        return synap_errf(c->err, "op %s is not in the movement family",
                          synap_op_name(c->node->op));
    }
}
