/* Matrix products: MatMul (numpy semantics), Gemm and Einsum. */
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/kernel.h"
#include "kernels/qmath.h"

static int check_numeric(struct synap_kctx *c, size_t i)
{
    enum synap_dtype t = c->in[i].dtype;
    if (!synap_dtype_is_float(t) && !synap_dtype_is_int(t))
        return synap_errf(c->err, "input %zu: unsupported dtype %s", i, synap_dtype_name(t));
    if (i > 0 && t != c->in[0].dtype)
        return synap_errf(c->err, "input %zu: dtype %s differs from input 0's %s", i,
                          synap_dtype_name(t), synap_dtype_name(c->in[0].dtype));
    return 0;
}

/* Dot product of a row of A and a column of B in the dtype's arithmetic:
 * double for floats other than float32 (which goes to synap_sgemm), int64
 * with wrap-around for integers. */
static void dot_store(const struct synap_value *a, int64_t ao, int64_t as,
                      const struct synap_value *b, int64_t bo, int64_t bs, int64_t k, double alpha,
                      struct synap_value *y, int64_t yo, double beta_c)
{
    if (synap_dtype_is_int(a->dtype)) {
        uint64_t s = 0;
        for (int64_t p = 0; p < k; p++)
            s += (uint64_t)synap_value_get_i64(a, ao + p * as) *
                 (uint64_t)synap_value_get_i64(b, bo + p * bs);
        if (alpha == 1 && beta_c == 0) {
            synap_value_set_i64(y, yo, (int64_t)s);
            return;
        }
        synap_value_set_f64(y, yo, alpha * (double)(int64_t)s + beta_c);
        return;
    }
    double s = 0;
    for (int64_t p = 0; p < k; p++)
        s += synap_ld(a, ao + p * as) * synap_ld(b, bo + p * bs);
    synap_st(y, yo, alpha * s + beta_c);
}

/* ---- MatMul --------------------------------------------------------------- */

/* numpy matmul geometry: 1-D operands promoted to matrices, batch dims
 * broadcast. Strides are in matrices (0 where an operand is broadcast). */
struct mm_geom {
    int64_t m, n, k;
    int brank;
    int64_t bdims[SYNAP_MAX_RANK], astr[SYNAP_MAX_RANK], bstr[SYNAP_MAX_RANK];
    int64_t nbatch, abatch, bbatch; /* batch counts of the output, A and B */
};

static int matmul_geom(struct synap_kctx *c, struct mm_geom *g, struct synap_value *y)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[1];
    char sa[96], sb[96];
    if (a->rank < 1 || b->rank < 1)
        return synap_errf(c->err, "input %d: MatMul needs rank >= 1, got a scalar",
                          a->rank < 1 ? 0 : 1);
    int ra = a->rank, rb = b->rank;
    g->m = ra > 1 ? a->dims[ra - 2] : 1;
    g->k = a->dims[ra - 1];
    int64_t kb = rb > 1 ? b->dims[rb - 2] : b->dims[0];
    g->n = rb > 1 ? b->dims[rb - 1] : 1;
    if (kb != g->k)
        return synap_errf(c->err, "inner dimensions differ: A is %s, B is %s",
                          synap_shape_str(a->rank, a->dims, sa, sizeof sa),
                          synap_shape_str(b->rank, b->dims, sb, sizeof sb));
    int rab = ra > 2 ? ra - 2 : 0, rbb = rb > 2 ? rb - 2 : 0;
    if (synap_broadcast_shape(c->err, rab, a->dims, rbb, b->dims, &g->brank, g->bdims) < 0)
        return -1;
    synap_broadcast_strides(rab, a->dims, g->brank, g->bdims, g->astr);
    synap_broadcast_strides(rbb, b->dims, g->brank, g->bdims, g->bstr);
    g->nbatch = synap_shape_nelem(g->brank, g->bdims);
    g->abatch = synap_shape_nelem(rab, a->dims);
    g->bbatch = synap_shape_nelem(rbb, b->dims);
    if (y) {
        y->dtype = a->dtype;
        y->rank = g->brank;
        memcpy(y->dims, g->bdims, sizeof g->bdims);
        if (ra > 1) y->dims[y->rank++] = g->m;
        if (rb > 1) y->dims[y->rank++] = g->n;
    }
    return 0;
}

static int matmul_infer(struct synap_kctx *c)
{
    struct mm_geom g;
    if (check_numeric(c, 0) < 0 || check_numeric(c, 1) < 0) return -1;
    return matmul_geom(c, &g, &c->out[0]);
}

static int matmul_run(struct synap_kctx *c)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[1];
    struct synap_value *y = &c->out[0];
    struct mm_geom g;
    if (matmul_geom(c, &g, NULL) < 0) return -1;
    int64_t m = g.m, n = g.n, k = g.k;
    if (g.nbatch == 0 || m == 0 || n == 0) return 0;
    if (a->dtype == SYNAP_DTYPE_FLOAT32) {
        const float *pa = a->data, *pb = b->data;
        float *py = y->data;
        /* A stack of matrices times one matrix is one tall product. */
        if (g.bbatch == 1 && g.abatch == g.nbatch) {
            synap_sgemm(c->pool, 0, 0, g.nbatch * m, n, k, 1.0f, pa, k, pb, n, 0.0f, py, n);
            return 0;
        }
        int64_t idx[SYNAP_MAX_RANK] = {0}, ao = 0, bo = 0;
        for (int64_t t = 0; t < g.nbatch; t++) {
            synap_sgemm(c->pool, 0, 0, m, n, k, 1.0f, pa + ao * m * k, k, pb + bo * k * n, n, 0.0f,
                        py + t * m * n, n);
            for (int d = g.brank - 1; d >= 0; d--) {
                ao += g.astr[d];
                bo += g.bstr[d];
                if (++idx[d] < g.bdims[d]) break;
                ao -= g.astr[d] * g.bdims[d];
                bo -= g.bstr[d] * g.bdims[d];
                idx[d] = 0;
            }
        }
        return 0;
    }
    int64_t idx[SYNAP_MAX_RANK] = {0}, ao = 0, bo = 0;
    for (int64_t t = 0; t < g.nbatch; t++) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                dot_store(a, (ao * m + i) * k, 1, b, bo * k * n + j, n, k, 1, y,
                          (t * m + i) * n + j, 0);
        for (int d = g.brank - 1; d >= 0; d--) {
            ao += g.astr[d];
            bo += g.bstr[d];
            if (++idx[d] < g.bdims[d]) break;
            ao -= g.astr[d] * g.bdims[d];
            bo -= g.bstr[d] * g.bdims[d];
            idx[d] = 0;
        }
    }
    return 0;
}

/* ---- Gemm ----------------------------------------------------------------- */

static int gemm_geom(struct synap_kctx *c, int64_t *m, int64_t *n, int64_t *k)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[1];
    char sa[64], sb[64];
    bool ta = synap_attr_int(c->node, "transA", 0) != 0;
    bool tb = synap_attr_int(c->node, "transB", 0) != 0;
    if (a->rank != 2 || b->rank != 2)
        return synap_errf(c->err, "input %d: expected rank 2, got %d", a->rank != 2 ? 0 : 1,
                          a->rank != 2 ? a->rank : b->rank);
    *m = a->dims[ta ? 1 : 0];
    *k = a->dims[ta ? 0 : 1];
    *n = b->dims[tb ? 0 : 1];
    if (b->dims[tb ? 1 : 0] != *k)
        return synap_errf(c->err, "inner dimensions differ: A is %s%s, B is %s%s",
                          synap_shape_str(2, a->dims, sa, sizeof sa), ta ? " (transA)" : "",
                          synap_shape_str(2, b->dims, sb, sizeof sb), tb ? " (transB)" : "");
    if (synap_has_input(c, 2)) {
        const struct synap_value *cv = &c->in[2];
        int64_t want[2] = {*m, *n};
        bool ok = cv->rank <= 2;
        for (int d = 0; ok && d < cv->rank; d++) {
            int64_t w = want[2 - cv->rank + d];
            ok = cv->dims[d] == w || cv->dims[d] == 1;
        }
        if (!ok)
            return synap_errf(c->err, "input 2 (C): shape %s does not broadcast to [%lld, %lld]",
                              synap_shape_str(cv->rank, cv->dims, sa, sizeof sa), (long long)*m,
                              (long long)*n);
    }
    return 0;
}

static int gemm_infer(struct synap_kctx *c)
{
    int64_t m, n, k;
    if (check_numeric(c, 0) < 0 || check_numeric(c, 1) < 0) return -1;
    if (synap_has_input(c, 2) && check_numeric(c, 2) < 0) return -1;
    if (gemm_geom(c, &m, &n, &k) < 0) return -1;
    c->out[0].dtype = c->in[0].dtype;
    c->out[0].rank = 2;
    c->out[0].dims[0] = m;
    c->out[0].dims[1] = n;
    return 0;
}

static int gemm_run(struct synap_kctx *c)
{
    const struct synap_value *a = &c->in[0], *b = &c->in[1];
    struct synap_value *y = &c->out[0];
    int64_t m, n, k;
    if (gemm_geom(c, &m, &n, &k) < 0) return -1;
    if (m == 0 || n == 0) return 0;
    bool ta = synap_attr_int(c->node, "transA", 0) != 0;
    bool tb = synap_attr_int(c->node, "transB", 0) != 0;
    double alpha = synap_attr_float(c->node, "alpha", 1.0f);
    double beta = synap_attr_float(c->node, "beta", 1.0f);
    bool has_c = synap_has_input(c, 2) && beta != 0;
    /* C's strides over Y's [m, n] (0 along broadcast dims). */
    int64_t cs[2] = {0, 0};
    if (has_c) {
        const struct synap_value *cv = &c->in[2];
        int64_t yd[2] = {m, n};
        synap_broadcast_strides(cv->rank, cv->dims, 2, yd, cs);
    }
    int64_t lda = a->dims[1], ldb = b->dims[1];
    if (a->dtype == SYNAP_DTYPE_FLOAT32) {
        float *py = y->data;
        if (has_c) {
            const float *pc = c->in[2].data;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++)
                    py[i * n + j] = pc[i * cs[0] + j * cs[1]];
        }
        synap_sgemm(c->pool, ta, tb, m, n, k, (float)alpha, a->data, lda, b->data, ldb,
                    has_c ? (float)beta : 0.0f, py, n);
        return 0;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double bc = has_c ? beta * synap_ld(&c->in[2], i * cs[0] + j * cs[1]) : 0;
            dot_store(a, ta ? i : i * lda, ta ? lda : 1, b, tb ? j * ldb : j, tb ? 1 : ldb, k,
                      alpha, y, i * n + j, bc);
        }
    return 0;
}

/* ---- Einsum --------------------------------------------------------------- */

/* Labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (so sorting ids sorts the
 * letters like numpy's implicit output); the dims an ellipsis stands for
 * are 52.. (right-aligned across operands, like broadcasting). */
#define EIN_LETTERS 52
#define EIN_LABELS (EIN_LETTERS + SYNAP_MAX_RANK)
#define EIN_MAX_IN 16

struct einsum {
    int nin;
    int64_t size[EIN_LABELS];                /* -1: unused */
    int64_t strides[EIN_MAX_IN][EIN_LABELS]; /* per operand, summed for repeated labels */
    int nout, out[SYNAP_MAX_RANK];           /* output labels in order */
    int nsum, sum[EIN_LABELS];               /* contracted labels */
};

static int ein_label(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + ch - 'a';
    return -1;
}

/* Parses one term ("ij", "...ii", " b i j ") into letter ids; *ell gets
 * the position of "..." among them or -1. Returns the letter count or -1. */
static int ein_term(struct synap_kctx *c, const char *s, const char *end, int *ids, int *ell)
{
    int n = 0;
    *ell = -1;
    while (s < end) {
        if (*s == ' ') {
            s++;
        } else if (*s == '.') {
            if (end - s < 3 || s[1] != '.' || s[2] != '.' || *ell >= 0)
                return synap_errf(c->err, "equation: bad ellipsis");
            *ell = n;
            s += 3;
        } else {
            int l = ein_label(*s);
            if (l < 0) return synap_errf(c->err, "equation: unexpected character '%c'", *s);
            if (n >= SYNAP_MAX_RANK)
                return synap_errf(c->err, "equation: a term has more than %d labels",
                                  SYNAP_MAX_RANK);
            ids[n++] = l;
            s++;
        }
    }
    return n;
}

static int einsum_parse(struct synap_kctx *c, struct einsum *e)
{
    const char *eq = synap_attr_string(c->node, "equation", NULL);
    if (!eq) return synap_errf(c->err, "attribute 'equation' is required");
    if (c->nin < 1 || c->nin > EIN_MAX_IN)
        return synap_errf(c->err, "%zu operands: 1 to %d are supported", c->nin, EIN_MAX_IN);
    memset(e, 0, sizeof *e);
    e->nin = (int)c->nin;
    for (int l = 0; l < EIN_LABELS; l++)
        e->size[l] = -1;
    const char *arrow = strstr(eq, "->");
    const char *lhs_end = arrow ? arrow : eq + strlen(eq);
    /* Each operand's labels per axis, and how often each letter occurs. */
    int axis_label[EIN_MAX_IN][SYNAP_MAX_RANK];
    int count[EIN_LABELS] = {0};
    int nell = 0; /* dims covered by the widest ellipsis */
    bool any_ell = false;
    const char *s = eq;
    for (int i = 0; i < e->nin; i++) {
        const char *t = s;
        while (t < lhs_end && *t != ',')
            t++;
        if (i < e->nin - 1 ? t >= lhs_end : t < lhs_end)
            return synap_errf(c->err, "equation '%s' has %s terms than the %d inputs", eq,
                              i < e->nin - 1 ? "fewer" : "more", e->nin);
        int ids[SYNAP_MAX_RANK], ell;
        int n = ein_term(c, s, t, ids, &ell);
        if (n < 0) return -1;
        const struct synap_value *v = &c->in[i];
        int ne = v->rank - n;
        if (ell < 0 ? ne != 0 : ne < 0)
            return synap_errf(c->err, "input %d: term has %d labels but the input has rank %d", i,
                              n, v->rank);
        if (ell >= 0) {
            any_ell = true;
            if (ne > nell) nell = ne;
        }
        /* Ellipsis axes get placeholder -1 - k; resolved once nell is known. */
        for (int d = 0, j = 0; d < v->rank; d++) {
            if (ell >= 0 && d >= ell && d < ell + ne) {
                axis_label[i][d] = -1 - (ne - (d - ell)); /* -1 - distance from the right */
            } else {
                axis_label[i][d] = ids[j++];
                count[axis_label[i][d]]++;
            }
        }
        s = t + 1;
    }
    /* Ellipsis axis at distance r from its right end is label 52 + nell - r. */
    for (int i = 0; i < e->nin; i++)
        for (int d = 0; d < c->in[i].rank; d++)
            if (axis_label[i][d] < 0)
                axis_label[i][d] = EIN_LETTERS + nell + (axis_label[i][d] + 1);
    /* Sizes: equal, or 1 which broadcasts. */
    for (int i = 0; i < e->nin; i++)
        for (int d = 0; d < c->in[i].rank; d++) {
            int l = axis_label[i][d];
            int64_t dim = c->in[i].dims[d];
            if (e->size[l] < 0 || e->size[l] == 1)
                e->size[l] = dim;
            else if (dim != e->size[l] && dim != 1)
                return synap_errf(c->err,
                                  "input %d: dimension %d is %lld but the same label has size "
                                  "%lld elsewhere",
                                  i, d, (long long)dim, (long long)e->size[l]);
        }
    for (int i = 0; i < e->nin; i++) {
        int64_t stride = 1;
        for (int d = c->in[i].rank - 1; d >= 0; d--) {
            int l = axis_label[i][d];
            if (!(c->in[i].dims[d] == 1 && e->size[l] != 1))
                e->strides[i][l] += stride; /* repeated label: the diagonal */
            stride *= c->in[i].dims[d];
        }
    }
    bool in_out[EIN_LABELS] = {false};
    if (arrow) {
        int ids[SYNAP_MAX_RANK], ell;
        int n = ein_term(c, arrow + 2, arrow + strlen(arrow), ids, &ell);
        if (n < 0) return -1;
        if (n + (ell >= 0 ? nell : 0) > SYNAP_MAX_RANK)
            return synap_errf(c->err, "equation: output rank above %d", SYNAP_MAX_RANK);
        for (int j = 0; j <= n; j++) {
            if (j == ell)
                for (int r = 0; r < nell; r++) {
                    e->out[e->nout++] = EIN_LETTERS + r;
                    in_out[EIN_LETTERS + r] = true;
                }
            if (j == n) break;
            if (count[ids[j]] == 0)
                return synap_errf(c->err, "equation: output label '%c' is in no input",
                                  ids[j] < 26 ? 'A' + ids[j] : 'a' + ids[j] - 26);
            if (in_out[ids[j]])
                return synap_errf(c->err, "equation: output label '%c' appears twice",
                                  ids[j] < 26 ? 'A' + ids[j] : 'a' + ids[j] - 26);
            in_out[ids[j]] = true;
            e->out[e->nout++] = ids[j];
        }
    } else {
        /* Implicit output: the broadcast dims, then letters seen once, sorted. */
        if (any_ell)
            for (int r = 0; r < nell; r++) {
                e->out[e->nout++] = EIN_LETTERS + r;
                in_out[EIN_LETTERS + r] = true;
            }
        for (int l = 0; l < EIN_LETTERS; l++)
            if (count[l] == 1) {
                if (e->nout >= SYNAP_MAX_RANK)
                    return synap_errf(c->err, "equation: output rank above %d", SYNAP_MAX_RANK);
                e->out[e->nout++] = l;
                in_out[l] = true;
            }
    }
    for (int l = 0; l < EIN_LABELS; l++)
        if (e->size[l] >= 0 && !in_out[l]) e->sum[e->nsum++] = l;
    return 0;
}

static int einsum_infer(struct synap_kctx *c)
{
    struct einsum e;
    for (size_t i = 0; i < c->nin; i++)
        if (check_numeric(c, i) < 0) return -1;
    if (einsum_parse(c, &e) < 0) return -1;
    c->out[0].dtype = c->in[0].dtype;
    c->out[0].rank = e.nout;
    for (int j = 0; j < e.nout; j++)
        c->out[0].dims[j] = e.size[e.out[j]];
    return 0;
}

/* Advances an odometer over `labels` and moves each operand's offset along. */
static void ein_next(const struct einsum *e, int n, const int *labels, int64_t *idx, int64_t *off)
{
    for (int d = n - 1; d >= 0; d--) {
        int l = labels[d];
        for (int i = 0; i < e->nin; i++)
            off[i] += e->strides[i][l];
        if (++idx[d] < e->size[l]) return;
        for (int i = 0; i < e->nin; i++)
            off[i] -= e->strides[i][l] * e->size[l];
        idx[d] = 0;
    }
}

/* Straightforward: each output element sums the product of the operands
 * over every combination of the contracted labels, in a fixed order. */
static int einsum_run(struct synap_kctx *c)
{
    struct einsum e;
    if (einsum_parse(c, &e) < 0) return -1;
    struct synap_value *y = &c->out[0];
    bool is_int = synap_dtype_is_int(c->in[0].dtype);
    int64_t nout = 1, nsum = 1;
    for (int j = 0; j < e.nout; j++)
        nout *= e.size[e.out[j]];
    for (int j = 0; j < e.nsum; j++)
        nsum *= e.size[e.sum[j]];
    int64_t oidx[SYNAP_MAX_RANK] = {0}, ooff[EIN_MAX_IN] = {0};
    for (int64_t o = 0; o < nout; o++) {
        int64_t sidx[EIN_LABELS] = {0}, off[EIN_MAX_IN];
        memcpy(off, ooff, sizeof off);
        double accf = 0;
        uint64_t acci = 0;
        for (int64_t s = 0; s < nsum; s++) {
            if (is_int) {
                uint64_t p = 1;
                for (int i = 0; i < e.nin; i++)
                    p *= (uint64_t)synap_value_get_i64(&c->in[i], off[i]);
                acci += p;
            } else {
                double p = 1;
                for (int i = 0; i < e.nin; i++)
                    p *= synap_ld(&c->in[i], off[i]);
                accf += p;
            }
            ein_next(&e, e.nsum, e.sum, sidx, off);
        }
        if (is_int)
            synap_value_set_i64(y, o, (int64_t)acci);
        else
            synap_st(y, o, accf);
        ein_next(&e, e.nout, e.out, oidx, ooff);
    }
    return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

int synap_matmul_infer(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_infer(c, synap_matmul_infer);
    switch (c->node->op) {
    case SYNAP_OP_MATMUL:
        return matmul_infer(c);
    case SYNAP_OP_GEMM:
        return gemm_infer(c);
    case SYNAP_OP_EINSUM:
        return einsum_infer(c);
    default:
        return synap_errf(c->err, "op %s is not a matrix product", synap_op_name(c->node->op));
    }
}

int synap_matmul_run(struct synap_kctx *c)
{
    if (synap_q_node(c)) return synap_q_run(c);
    switch (c->node->op) {
    case SYNAP_OP_MATMUL:
        return matmul_run(c);
    case SYNAP_OP_GEMM:
        return gemm_run(c);
    case SYNAP_OP_EINSUM:
        return einsum_run(c);
    default:
        return synap_errf(c->err, "op %s is not a matrix product", synap_op_name(c->node->op));
    }
}
