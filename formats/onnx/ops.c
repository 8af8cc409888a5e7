/* The ONNX op table: every supported ONNX op type and how it becomes the
 * canonical (opset-17) form of lib/ir/ops.h. Most ops map 1:1; the
 * translations below rewrite older and newer opsets' attribute forms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/internal.h"

#define NONE SYNAP_NONE

static const struct synap_tensor *T(struct onnx_ctx *c, uint32_t t)
{
    return &onnx_graph(c)->tensors[t];
}

/* "Pad_3:pads": names of tensors the importer makes up for a node. */
static const char *hint(const struct onnx_node *n, const char *what, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s:%s", n->name, what);
    return buf;
}

static size_t attr_ints(const struct onnx_node *n, const char *name, const int64_t **v)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    *v = a ? a->ints : NULL;
    return a ? a->n_ints : 0;
}

static const char *attr_str(const struct onnx_node *n, const char *name, const char *def, char *buf,
                            size_t cap)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a || !a->has_s) return def;
    size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}

/* A constant integer tensor's values (int32 or int64); -1 when t is not a
 * constant integer tensor of at most cap elements. */
static int64_t const_ints(struct onnx_ctx *c, uint32_t t, int64_t *buf, size_t cap)
{
    if (t == NONE) return -1;
    const struct synap_tensor *ts = T(c, t);
    int64_t n = synap_shape_nelem(ts->rank, ts->dims);
    if (!ts->data || n < 0 || (uint64_t)n > cap) return -1;
    if (ts->dtype == SYNAP_DTYPE_INT64) {
        memcpy(buf, ts->data, (size_t)n * sizeof *buf);
    } else if (ts->dtype == SYNAP_DTYPE_INT32) {
        const int32_t *p = ts->data;
        for (int64_t i = 0; i < n; i++)
            buf[i] = p[i];
    } else {
        return -1;
    }
    return n;
}

/* A constant float tensor's values as float32; -1 as above. */
static int64_t const_floats(struct onnx_ctx *c, uint32_t t, float *buf, size_t cap)
{
    if (t == NONE) return -1;
    const struct synap_tensor *ts = T(c, t);
    int64_t n = synap_shape_nelem(ts->rank, ts->dims);
    if (!ts->data || n < 0 || (uint64_t)n > cap || !synap_dtype_is_float(ts->dtype)) return -1;
    synap_convert(SYNAP_DTYPE_FLOAT32, buf, ts->dtype, ts->data, n);
    return n;
}

/* A scalar constant of the given dtype (Clip bounds, Pad values). */
static uint32_t scalar_const(struct onnx_ctx *c, const char *name, enum synap_dtype dt, double v)
{
    uint8_t buf[8];
    synap_convert(dt, buf, SYNAP_DTYPE_FLOAT64, &v, 1);
    return onnx_const(c, name, dt, 0, NULL, buf, synap_dtype_size(dt));
}

/* x viewed with another shape: a constant is re-shaped in place, an
 * activation gets a Reshape node. */
static int reshape_to(struct onnx_ctx *c, const char *name, uint32_t x, int rank,
                      const int64_t *dims, uint32_t *out)
{
    const struct synap_tensor *ts = T(c, x);
    if (ts->data) {
        *out = onnx_const(c, name, ts->dtype, rank, dims, ts->data, ts->nbytes);
        return 0;
    }
    char sh[300];
    snprintf(sh, sizeof sh, "%s_shape", name);
    uint32_t ins[2] = {x, onnx_const_i64(c, sh, dims, (size_t)rank)};
    *out = onnx_temp(c, name);
    return onnx_infer(c, onnx_add_node(c, name, SYNAP_OP_RESHAPE, ins, 2, out, 1));
}

static int inputs(struct onnx_ctx *c, const struct onnx_node *n, uint32_t *ins, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (onnx_input(c, n, i, &ins[i]) < 0) return -1;
    return 0;
}

static int norm_axis(struct onnx_ctx *c, int64_t axis, int rank, int64_t *out)
{
    *out = 0;
    if (axis < -rank || axis >= rank)
        return synap_errf(onnx_err(c), "axis %lld is out of range for rank %d", (long long)axis,
                          rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

/* ---- translations --------------------------------------------------------------- */

/* Opset < 7 elementwise ops broadcast B against A starting at `axis`
 * (broadcast=1); numpy broadcasting aligns trailing dims instead, so B gets
 * trailing ones. */
static int tr_binary(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"broadcast", "axis", NULL};
    uint32_t in[2];
    if (inputs(c, n, in, 2) < 0) return -1;
    if (n->opset < 7 && onnx_attr_int(n, "broadcast", 0) && onnx_attr(n, "axis") && in[0] != NONE &&
        in[1] != NONE) {
        int ra = T(c, in[0])->rank, rb = T(c, in[1])->rank;
        int64_t axis = onnx_attr_int(n, "axis", 0);
        if (axis < 0) axis += ra;
        if (axis < 0 || axis + rb > ra)
            return synap_errf(onnx_err(c),
                              "legacy broadcast axis %lld does not fit ranks %d and %d",
                              (long long)onnx_attr_int(n, "axis", 0), ra, rb);
        int r = (int)(ra - axis);
        if (r > rb) {
            int64_t dims[SYNAP_MAX_RANK];
            for (int i = 0; i < r; i++)
                dims[i] = i < rb ? T(c, in[1])->dims[i] : 1;
            char h[256];
            if (reshape_to(c, hint(n, "broadcast", h, sizeof h), in[1], r, dims, &in[1]) < 0)
                return -1;
        }
    }
    return onnx_emit_ins(c, n, op, in, 2, skip);
}

/* PRelu-6 takes a per-channel slope [C] for any rank (channel = dim 1). */
static int tr_prelu(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    uint32_t in[2];
    if (inputs(c, n, in, 2) < 0) return -1;
    if (n->opset < 7 && in[0] != NONE && in[1] != NONE) {
        const struct synap_tensor *x = T(c, in[0]), *s = T(c, in[1]);
        if (s->rank == 1 && s->dims[0] > 1 && x->rank >= 3 && x->dims[1] == s->dims[0]) {
            int64_t dims[SYNAP_MAX_RANK];
            int r = x->rank - 1;
            dims[0] = s->dims[0];
            for (int i = 1; i < r; i++)
                dims[i] = 1;
            char h[256];
            if (reshape_to(c, hint(n, "slope", h, sizeof h), in[1], r, dims, &in[1]) < 0) return -1;
        }
    }
    return onnx_emit_ins(c, n, op, in, 2, NULL);
}

static int tr_gemm(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"broadcast", NULL};
    return onnx_emit(c, n, op, skip);
}

/* BatchNormalization before 14: inference form, one output. */
static int tr_batchnorm(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"is_test", "spatial", "momentum", NULL};
    if (n->opset >= 14) return onnx_emit(c, n, op, NULL);
    struct onnx_node m = *n;
    if (m.noutputs > 1) m.noutputs = 1;
    return onnx_emit(c, &m, op, skip);
}

/* Dropout at inference is the identity; its mask is all true. */
static int tr_dropout(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const all[] = {"*", NULL};
    (void)op;
    uint32_t x, ratio, training;
    if (onnx_input(c, n, 0, &x) < 0 || onnx_input(c, n, 1, &ratio) < 0 ||
        onnx_input(c, n, 2, &training) < 0)
        return -1;
    if (x == NONE) return synap_errf(onnx_err(c), "missing input");
    /* Dropout-12's training_mode draws a random mask, unless the ratio is 0 */
    float rate = 0.5f;
    if (ratio != NONE && const_floats(c, ratio, &rate, 1) != 1) rate = 0.5f;
    if (training != NONE && T(c, training)->data && rate != 0.0f &&
        synap_shape_nelem(T(c, training)->rank, T(c, training)->dims) == 1 &&
        *(const uint8_t *)T(c, training)->data)
        return synap_errf(onnx_err(c),
                          "training_mode=1 is not supported: synap runs inference only");
    struct onnx_node m = *n;
    if (m.noutputs > 1) m.noutputs = 1;
    if (onnx_emit_ins(c, &m, SYNAP_OP_IDENTITY, &x, 1, all) < 0) return -1;
    if (n->noutputs < 2 || !*n->outputs[1]) return 0;
    const struct synap_tensor *xt = T(c, x);
    int64_t ne = synap_shape_nelem(xt->rank, xt->dims);
    if (ne < 0) return synap_errf(onnx_err(c), "input shape overflows");
    uint8_t *ones = synap_xmalloc((size_t)ne + 1);
    memset(ones, 1, (size_t)ne);
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, xt->dims, sizeof dims);
    int r = onnx_define_const(c, n->outputs[1], SYNAP_DTYPE_BOOL, xt->rank, dims, ones, (size_t)ne);
    free(ones);
    return r;
}

/* Constant becomes a constant tensor named after its output (no node). */
static int tr_constant(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    (void)op;
    if (n->noutputs < 1 || !*n->outputs[0]) return synap_errf(onnx_err(c), "no output");
    const char *out = n->outputs[0];
    const Onnx__AttributeProto *a;
    if ((a = onnx_attr(n, "value")) && a->t) {
        struct onnx_tdata d;
        if (onnx_tensor_decode(a->t, ".", NULL, &d, onnx_err(c)) < 0) return -1;
        int r = onnx_define_const(c, out, d.dtype, d.rank, d.dims, d.data, d.nbytes);
        onnx_tdata_free(&d);
        return r;
    }
    if ((a = onnx_attr(n, "value_float")))
        return onnx_define_const(c, out, SYNAP_DTYPE_FLOAT32, 0, NULL, &a->f, sizeof a->f);
    if ((a = onnx_attr(n, "value_int")))
        return onnx_define_const(c, out, SYNAP_DTYPE_INT64, 0, NULL, &a->i, sizeof a->i);
    if ((a = onnx_attr(n, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        return onnx_define_const(c, out, SYNAP_DTYPE_FLOAT32, 1, &d,
                                 a->n_floats ? (void *)a->floats : "", a->n_floats * sizeof(float));
    }
    if ((a = onnx_attr(n, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        return onnx_define_const(c, out, SYNAP_DTYPE_INT64, 1, &d, a->n_ints ? (void *)a->ints : "",
                                 a->n_ints * sizeof(int64_t));
    }
    if (onnx_attr(n, "sparse_value"))
        return synap_errf(onnx_err(c), "sparse constants are not supported");
    if (onnx_attr(n, "value_string") || onnx_attr(n, "value_strings"))
        return synap_errf(onnx_err(c), "string constants are not supported");
    return synap_errf(onnx_err(c), "no value attribute");
}

/* Clip-6: min/max attributes become inputs of the input's type. */
static int tr_clip(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"min", "max", NULL};
    if (n->opset >= 11) return onnx_emit(c, n, op, NULL);
    uint32_t in[3] = {NONE, NONE, NONE};
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    if (in[0] == NONE) return synap_errf(onnx_err(c), "missing input");
    enum synap_dtype dt = T(c, in[0])->dtype;
    char h[256];
    if (onnx_attr(n, "min"))
        in[1] = scalar_const(c, hint(n, "min", h, sizeof h), dt, onnx_attr_float(n, "min", 0));
    if (onnx_attr(n, "max"))
        in[2] = scalar_const(c, hint(n, "max", h, sizeof h), dt, onnx_attr_float(n, "max", 0));
    return onnx_emit_ins(c, n, op, in, 3, skip);
}

/* Slice-1: starts/ends/axes attributes become inputs. */
static int tr_slice(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"starts", "ends", "axes", NULL};
    if (n->opset >= 10) return onnx_emit(c, n, op, NULL);
    uint32_t in[4] = {NONE, NONE, NONE, NONE};
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    const int64_t *v;
    size_t k;
    char h[256];
    if (!onnx_attr(n, "starts") || !onnx_attr(n, "ends"))
        return synap_errf(onnx_err(c), "missing starts or ends");
    k = attr_ints(n, "starts", &v);
    in[1] = onnx_const_i64(c, hint(n, "starts", h, sizeof h), v, k);
    k = attr_ints(n, "ends", &v);
    in[2] = onnx_const_i64(c, hint(n, "ends", h, sizeof h), v, k);
    if (onnx_attr(n, "axes")) {
        k = attr_ints(n, "axes", &v);
        in[3] = onnx_const_i64(c, hint(n, "axes", h, sizeof h), v, k);
    }
    return onnx_emit_ins(c, n, op, in, 4, skip);
}

/* Pad-2 (pads/value attributes) and Pad-18 (axes input) into Pad-13 form. */
static int tr_pad(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"pads", "value", "paddings", NULL};
    uint32_t in[4] = {NONE, NONE, NONE, NONE};
    char h[256];
    if (n->opset < 11) {
        if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
        if (in[0] == NONE) return synap_errf(onnx_err(c), "missing input");
        const int64_t *v;
        size_t k = attr_ints(n, "pads", &v);
        in[1] = onnx_const_i64(c, hint(n, "pads", h, sizeof h), v, k);
        in[2] = scalar_const(c, hint(n, "value", h, sizeof h), T(c, in[0])->dtype,
                             onnx_attr_float(n, "value", 0));
        return onnx_emit_ins(c, n, op, in, 3, skip);
    }
    if (inputs(c, n, in, 4) < 0) return -1;
    if (in[3] == NONE) return onnx_emit_ins(c, n, op, in, 3, NULL);
    int64_t axes[SYNAP_MAX_RANK], pads[2 * SYNAP_MAX_RANK], full[2 * SYNAP_MAX_RANK] = {0};
    int64_t na = const_ints(c, in[3], axes, SYNAP_MAX_RANK);
    int64_t np = const_ints(c, in[1], pads, 2 * SYNAP_MAX_RANK);
    if (na < 0 || np != 2 * na)
        return synap_errf(onnx_err(c), "pads and axes must be constant, with 2 pads per axis");
    int r = T(c, in[0])->rank;
    for (int64_t i = 0; i < na; i++) {
        int64_t ax;
        if (norm_axis(c, axes[i], r, &ax) < 0) return -1;
        full[ax] = pads[i];
        full[ax + r] = pads[i + na];
    }
    in[1] = onnx_const_i64(c, hint(n, "pads", h, sizeof h), full, 2 * (size_t)r);
    return onnx_emit_ins(c, n, op, in, 3, NULL);
}

/* Split-2/11 (split attribute) and Split-18 (num_outputs, last chunk
 * smaller) into Split-13 form. */
static int tr_split(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"split", "num_outputs", NULL};
    uint32_t in[2] = {NONE, NONE};
    char h[256];
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    if (in[0] == NONE) return synap_errf(onnx_err(c), "missing input");
    if (n->opset < 13) {
        const int64_t *v;
        size_t k = attr_ints(n, "split", &v);
        if (onnx_attr(n, "split")) in[1] = onnx_const_i64(c, hint(n, "split", h, sizeof h), v, k);
    } else if (onnx_input(c, n, 1, &in[1]) < 0) {
        return -1;
    }
    if (in[1] == NONE && n->opset >= 18 && onnx_attr(n, "num_outputs")) {
        const struct synap_tensor *x = T(c, in[0]);
        int64_t axis, parts = onnx_attr_int(n, "num_outputs", 0);
        if (norm_axis(c, onnx_attr_int(n, "axis", 0), x->rank, &axis) < 0) return -1;
        if (parts < 1 || (size_t)parts != n->noutputs)
            return synap_errf(onnx_err(c), "num_outputs %lld but %zu outputs", (long long)parts,
                              n->noutputs);
        int64_t dim = x->dims[axis], chunk = (dim + parts - 1) / parts;
        int64_t *sizes = synap_xmalloc((size_t)parts * sizeof *sizes);
        for (int64_t i = 0; i < parts; i++) {
            int64_t left = dim - i * chunk;
            sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
        }
        in[1] = onnx_const_i64(c, hint(n, "split", h, sizeof h), sizes, (size_t)parts);
        free(sizes);
    }
    return onnx_emit_ins(c, n, op, in, 2, skip);
}

/* Squeeze/Unsqueeze-1/11: the axes attribute becomes an input. */
static int tr_squeeze(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"axes", NULL};
    if (n->opset >= 13) return onnx_emit(c, n, op, NULL);
    uint32_t in[2] = {NONE, NONE};
    char h[256];
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    if (onnx_attr(n, "axes")) {
        const int64_t *v;
        size_t k = attr_ints(n, "axes", &v);
        in[1] = onnx_const_i64(c, hint(n, "axes", h, sizeof h), v, k);
    }
    return onnx_emit_ins(c, n, op, in, 2, skip);
}

/* ReduceSum-1/11: axes attribute -> input. */
static int tr_reduce_sum(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    return tr_squeeze(c, n, op);
}

/* Reduce*-18 (except ReduceSum): the axes input becomes the attribute. */
static int tr_reduce(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"noop_with_empty_axes", NULL};
    static const char *const all[] = {"*", NULL};
    if (n->opset < 18) return onnx_emit(c, n, op, NULL);
    uint32_t in[2];
    if (inputs(c, n, in, 2) < 0) return -1;
    int64_t axes[SYNAP_MAX_RANK];
    int64_t na = 0;
    if (in[1] != NONE) {
        na = const_ints(c, in[1], axes, SYNAP_MAX_RANK);
        if (na < 0) return synap_errf(onnx_err(c), "input 1 (axes) must be constant");
    }
    if (na == 0 && onnx_attr_int(n, "noop_with_empty_axes", 0))
        return onnx_emit_ins(c, n, SYNAP_OP_IDENTITY, in, 1, all);
    size_t idx;
    if (onnx_node_begin(c, n, op, in, 1, skip, &idx) < 0) return -1;
    if (na)
        synap_node_set_ints(onnx_graph(c), &onnx_graph(c)->nodes[idx], "axes", axes, (size_t)na);
    return onnx_infer(c, idx);
}

/* TopK-1: k attribute -> input. */
static int tr_topk(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"k", NULL};
    if (n->opset >= 10) return onnx_emit(c, n, op, NULL);
    uint32_t in[2];
    char h[256];
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    int64_t k = onnx_attr_int(n, "k", 1);
    in[1] = onnx_const_i64(c, hint(n, "k", h, sizeof h), &k, 1);
    return onnx_emit_ins(c, n, op, in, 2, skip);
}

/* Reshape-1: shape attribute -> input. */
static int tr_reshape(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"shape", NULL};
    if (!onnx_attr(n, "shape")) return onnx_emit(c, n, op, NULL);
    uint32_t in[2];
    char h[256];
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    const int64_t *v;
    size_t k = attr_ints(n, "shape", &v);
    in[1] = onnx_const_i64(c, hint(n, "shape", h, sizeof h), v, k);
    return onnx_emit_ins(c, n, op, in, 2, skip);
}

/* Softmax/LogSoftmax/Hardmax before 13 flatten the input to 2-D at `axis`
 * (default 1) and normalize each row; opset 13 normalizes along one axis.
 * Same thing when axis is the last dim, otherwise Reshape + op + Reshape. */
static int tr_softmax(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"axis", NULL};
    if (n->opset >= 13) return onnx_emit(c, n, op, NULL);
    uint32_t x;
    if (onnx_input(c, n, 0, &x) < 0) return -1;
    if (x == NONE) return synap_errf(onnx_err(c), "missing input");
    const struct synap_tensor *xt = T(c, x);
    int r = xt->rank;
    int64_t axis;
    if (r == 0) return onnx_emit(c, n, op, skip);
    if (norm_axis(c, onnx_attr_int(n, "axis", 1), r, &axis) < 0) return -1;
    size_t idx;
    if (axis == r - 1) {
        if (onnx_node_begin(c, n, op, &x, 1, skip, &idx) < 0) return -1;
        synap_node_set_int(onnx_graph(c), &onnx_graph(c)->nodes[idx], "axis", -1);
        return onnx_infer(c, idx);
    }
    int64_t dims[SYNAP_MAX_RANK], flat[2] = {1, 1};
    memcpy(dims, xt->dims, sizeof dims);
    for (int i = 0; i < r; i++)
        flat[i >= axis] *= dims[i];
    char h[256];
    uint32_t x2, y2, y;
    if (reshape_to(c, hint(n, "flatten", h, sizeof h), x, 2, flat, &x2) < 0) return -1;
    y2 = onnx_temp(c, hint(n, "rows", h, sizeof h));
    idx = onnx_add_node(c, n->name, op, &x2, 1, &y2, 1);
    synap_node_set_int(onnx_graph(c), &onnx_graph(c)->nodes[idx], "axis", 1);
    if (onnx_infer(c, idx) < 0) return -1;
    if (onnx_output(c, n, 0, &y) < 0) return -1;
    if (y == NONE) return 0;
    uint32_t ins[2] = {y2, onnx_const_i64(c, hint(n, "shape", h, sizeof h), dims, (size_t)r)};
    return onnx_infer(
        c, onnx_add_node(c, hint(n, "unflatten", h, sizeof h), SYNAP_OP_RESHAPE, ins, 2, &y, 1));
}

/* Upsample-7/9 and Resize-10 scale by `scales` with asymmetric coordinates
 * (nearest rounds down): Resize-13 with those modes. */
static int resize_legacy(struct onnx_ctx *c, const struct onnx_node *n, uint32_t x, uint32_t scales)
{
    static const char *const skip[] = {"mode", "scales", NULL};
    char buf[64];
    const char *mode = attr_str(n, "mode", "nearest", buf, sizeof buf);
    int nearest = !strcmp(mode, "nearest");
    if (!nearest && strcmp(mode, "linear") && strcmp(mode, "bilinear"))
        return synap_errf(onnx_err(c), "unsupported mode '%s'", mode);
    uint32_t in[3] = {x, NONE, scales};
    size_t idx;
    if (onnx_node_begin(c, n, SYNAP_OP_RESIZE, in, 3, skip, &idx) < 0) return -1;
    struct synap_graph *g = onnx_graph(c);
    synap_node_set_string(g, &g->nodes[idx], "mode", nearest ? "nearest" : "linear");
    synap_node_set_string(g, &g->nodes[idx], "coordinate_transformation_mode", "asymmetric");
    if (nearest) synap_node_set_string(g, &g->nodes[idx], "nearest_mode", "floor");
    return onnx_infer(c, idx);
}

static int tr_upsample(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    (void)op;
    uint32_t in[2] = {NONE, NONE};
    if (onnx_input(c, n, 0, &in[0]) < 0) return -1;
    if (n->opset < 9) {
        const Onnx__AttributeProto *a = onnx_attr(n, "scales");
        if (!a) return synap_errf(onnx_err(c), "missing scales");
        int64_t d = (int64_t)a->n_floats;
        char h[256];
        in[1] = onnx_const(c, hint(n, "scales", h, sizeof h), SYNAP_DTYPE_FLOAT32, 1, &d,
                           a->n_floats ? (const void *)a->floats : "", a->n_floats * sizeof(float));
    } else if (onnx_input(c, n, 1, &in[1]) < 0) {
        return -1;
    }
    return resize_legacy(c, n, in[0], in[1]);
}

/* Resize-10 is Upsample-9; Resize-18 adds axes, antialias and
 * keep_aspect_ratio_policy, rewritten into full-rank scales/sizes. */
static int tr_resize(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    static const char *const skip[] = {"axes", "antialias", "keep_aspect_ratio_policy", NULL};
    uint32_t in[4] = {NONE, NONE, NONE, NONE};
    if (n->opset < 11) {
        if (inputs(c, n, in, 2) < 0) return -1;
        return resize_legacy(c, n, in[0], in[1]);
    }
    if (inputs(c, n, in, 4) < 0) return -1;
    if (n->opset < 18) return onnx_emit_ins(c, n, op, in, 4, NULL);
    if (onnx_attr_int(n, "antialias", 0))
        return synap_errf(onnx_err(c), "antialias=1 is not supported");
    if (in[0] == NONE) return synap_errf(onnx_err(c), "missing input");
    const struct synap_tensor *xt = T(c, in[0]);
    int r = xt->rank;
    int64_t axes[SYNAP_MAX_RANK];
    const int64_t *av;
    size_t na = attr_ints(n, "axes", &av);
    if (!onnx_attr(n, "axes")) {
        na = (size_t)r;
        for (int i = 0; i < r; i++)
            axes[i] = i;
    } else {
        if (na > (size_t)r) return synap_errf(onnx_err(c), "more axes than dimensions");
        for (size_t i = 0; i < na; i++)
            if (norm_axis(c, av[i], r, &axes[i]) < 0) return -1;
    }
    char buf[64], h[256];
    const char *policy = attr_str(n, "keep_aspect_ratio_policy", "stretch", buf, sizeof buf);
    float scales[SYNAP_MAX_RANK];
    int64_t sizes[SYNAP_MAX_RANK];
    int64_t ns = in[2] != NONE ? T(c, in[2])->rank ? T(c, in[2])->dims[0] : 1 : 0;
    if (in[3] != NONE && ns == 0) {
        int64_t k = const_ints(c, in[3], sizes, SYNAP_MAX_RANK);
        if (k < 0 || (size_t)k != na)
            return synap_errf(onnx_err(c), "sizes must be constant with one value per axis");
        int64_t full[SYNAP_MAX_RANK];
        for (int i = 0; i < r; i++)
            full[i] = xt->dims[i];
        if (strcmp(policy, "stretch")) {
            int larger = !strcmp(policy, "not_smaller");
            if (!larger && strcmp(policy, "not_larger"))
                return synap_errf(onnx_err(c), "unsupported keep_aspect_ratio_policy '%s'", policy);
            double s = larger ? 0 : INFINITY;
            for (size_t i = 0; i < na; i++) {
                double q = xt->dims[axes[i]] ? (double)sizes[i] / (double)xt->dims[axes[i]] : 1;
                s = larger ? fmax(s, q) : fmin(s, q);
            }
            for (size_t i = 0; i < na; i++)
                sizes[i] = (int64_t)nearbyint(s * (double)xt->dims[axes[i]]);
        }
        for (size_t i = 0; i < na; i++)
            full[axes[i]] = sizes[i];
        in[3] = onnx_const_i64(c, hint(n, "sizes", h, sizeof h), full, (size_t)r);
    } else if (ns > 0 && onnx_attr(n, "axes")) {
        int64_t k = const_floats(c, in[2], scales, SYNAP_MAX_RANK);
        if (k < 0 || (size_t)k != na)
            return synap_errf(onnx_err(c), "scales must be constant with one value per axis");
        float full[SYNAP_MAX_RANK];
        for (int i = 0; i < r; i++)
            full[i] = 1;
        for (size_t i = 0; i < na; i++)
            full[axes[i]] = scales[i];
        int64_t d = r;
        in[2] = onnx_const(c, hint(n, "scales", h, sizeof h), SYNAP_DTYPE_FLOAT32, 1, &d, full,
                           (size_t)r * sizeof(float));
    }
    if (in[1] != NONE && onnx_attr(n, "axes") && na < (size_t)r) {
        float roi[2 * SYNAP_MAX_RANK], full[2 * SYNAP_MAX_RANK];
        int64_t k = const_floats(c, in[1], roi, 2 * SYNAP_MAX_RANK);
        if (k > 0) {
            if ((size_t)k != 2 * na)
                return synap_errf(onnx_err(c), "roi must have 2 values per axis");
            for (int i = 0; i < r; i++) {
                full[i] = 0;
                full[i + r] = 1;
            }
            for (size_t i = 0; i < na; i++) {
                full[axes[i]] = roi[i];
                full[axes[i] + r] = roi[i + na];
            }
            int64_t d = 2 * r;
            in[1] = onnx_const(c, hint(n, "roi", h, sizeof h), SYNAP_DTYPE_FLOAT32, 1, &d, full,
                               2 * (size_t)r * sizeof(float));
        }
    }
    return onnx_emit_ins(c, n, op, in, 4, skip);
}

/* If with a condition that is constant after folding: the taken branch is
 * inlined (its nodes read outer-scope names directly). */
static int tr_if(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op)
{
    (void)op;
    uint32_t cond;
    if (onnx_input(c, n, 0, &cond) < 0) return -1;
    if (cond == NONE) return synap_errf(onnx_err(c), "missing condition");
    const struct synap_tensor *ct = T(c, cond);
    if (!ct->data)
        return synap_errf(onnx_err(c),
                          "condition '%s' is not constant after folding; bind the inputs it "
                          "depends on with --input-value",
                          ct->name);
    if (synap_shape_nelem(ct->rank, ct->dims) != 1)
        return synap_errf(onnx_err(c), "condition '%s' must have one element", ct->name);
    struct synap_value v = {.dtype = ct->dtype, .rank = 0, .data = (void *)ct->data};
    int taken = synap_value_get_f64(&v, 0) != 0;
    const Onnx__AttributeProto *a = onnx_attr(n, taken ? "then_branch" : "else_branch");
    if (!a || !a->g)
        return synap_errf(onnx_err(c), "missing %s", taken ? "then_branch" : "else_branch");
    return onnx_inline_graph(c, n, a->g);
}

/* ---- the table: sorted by name (strcmp; a unit test checks it) -------------- */
#define OP1(name, e)                                                                               \
    {                                                                                              \
        name, SYNAP_OP_##e, NULL                                                                   \
    }
#define OPF(name, e, fn)                                                                           \
    {                                                                                              \
        name, SYNAP_OP_##e, fn                                                                     \
    }

const struct onnx_op_entry onnx_op_table[] = {
    OP1("Abs", ABS),
    OP1("Acos", ACOS),
    OP1("Acosh", ACOSH),
    OPF("Add", ADD, tr_binary),
    OPF("And", AND, tr_binary),
    OP1("ArgMax", ARG_MAX),
    OP1("ArgMin", ARG_MIN),
    OP1("Asin", ASIN),
    OP1("Asinh", ASINH),
    OP1("Atan", ATAN),
    OP1("Atanh", ATANH),
    OP1("AveragePool", AVERAGE_POOL),
    OPF("BatchNormalization", BATCH_NORMALIZATION, tr_batchnorm),
    OP1("BitShift", BIT_SHIFT),
    OP1("BitwiseAnd", BITWISE_AND),
    OP1("BitwiseNot", BITWISE_NOT),
    OP1("BitwiseOr", BITWISE_OR),
    OP1("BitwiseXor", BITWISE_XOR),
    OP1("Cast", CAST),
    OP1("CastLike", CAST_LIKE),
    OP1("Ceil", CEIL),
    OP1("Celu", CELU),
    OPF("Clip", CLIP, tr_clip),
    OP1("Concat", CONCAT),
    OPF("Constant", IDENTITY, tr_constant),
    OP1("ConstantOfShape", CONSTANT_OF_SHAPE),
    OP1("Conv", CONV),
    OP1("ConvInteger", CONV_INTEGER),
    OP1("ConvTranspose", CONV_TRANSPOSE),
    OP1("Cos", COS),
    OP1("Cosh", COSH),
    OP1("CumSum", CUM_SUM),
    OP1("DepthToSpace", DEPTH_TO_SPACE),
    OP1("DequantizeLinear", DEQUANTIZE_LINEAR),
    OPF("Div", DIV, tr_binary),
    OPF("Dropout", IDENTITY, tr_dropout),
    OP1("DynamicQuantizeLinear", DYNAMIC_QUANTIZE_LINEAR),
    OP1("Einsum", EINSUM),
    OP1("Elu", ELU),
    OPF("Equal", EQUAL, tr_binary),
    OP1("Erf", ERF),
    OP1("Exp", EXP),
    OP1("Expand", EXPAND),
    OP1("EyeLike", EYE_LIKE),
    OP1("Flatten", FLATTEN),
    OP1("Floor", FLOOR),
    OP1("GRU", GRU),
    OP1("Gather", GATHER),
    OP1("GatherElements", GATHER_ELEMENTS),
    OP1("GatherND", GATHER_ND),
    OPF("Gemm", GEMM, tr_gemm),
    OP1("GlobalAveragePool", GLOBAL_AVERAGE_POOL),
    OP1("GlobalLpPool", GLOBAL_LP_POOL),
    OP1("GlobalMaxPool", GLOBAL_MAX_POOL),
    OPF("Greater", GREATER, tr_binary),
    OP1("GreaterOrEqual", GREATER_OR_EQUAL),
    OP1("HardSigmoid", HARD_SIGMOID),
    OP1("HardSwish", HARD_SWISH),
    OPF("Hardmax", HARDMAX, tr_softmax),
    OP1("Identity", IDENTITY),
    OPF("If", IDENTITY, tr_if),
    OP1("InstanceNormalization", INSTANCE_NORMALIZATION),
    OP1("IsInf", IS_INF),
    OP1("IsNaN", IS_NAN),
    OP1("LRN", LRN),
    OP1("LSTM", LSTM),
    OP1("LayerNormalization", LAYER_NORMALIZATION),
    OP1("LeakyRelu", LEAKY_RELU),
    OPF("Less", LESS, tr_binary),
    OP1("LessOrEqual", LESS_OR_EQUAL),
    OP1("Log", LOG),
    OPF("LogSoftmax", LOG_SOFTMAX, tr_softmax),
    OP1("LpNormalization", LP_NORMALIZATION),
    OP1("LpPool", LP_POOL),
    OP1("MatMul", MATMUL),
    OP1("MatMulInteger", MATMUL_INTEGER),
    OP1("Max", MAX),
    OP1("MaxPool", MAX_POOL),
    OP1("Mean", MEAN),
    OP1("MeanVarianceNormalization", MEAN_VARIANCE_NORMALIZATION),
    OP1("Min", MIN),
    OP1("Mish", MISH),
    OP1("Mod", MOD),
    OPF("Mul", MUL, tr_binary),
    OP1("Neg", NEG),
    OP1("NegativeLogLikelihoodLoss", NEGATIVE_LOG_LIKELIHOOD_LOSS),
    OP1("NonZero", NON_ZERO),
    OP1("Not", NOT),
    OP1("OneHot", ONE_HOT),
    OPF("Or", OR, tr_binary),
    OPF("PRelu", PRELU, tr_prelu),
    OPF("Pad", PAD, tr_pad),
    OPF("Pow", POW, tr_binary),
    OP1("QLinearConv", QLINEAR_CONV),
    OP1("QLinearMatMul", QLINEAR_MATMUL),
    OP1("QuantizeLinear", QUANTIZE_LINEAR),
    OP1("RNN", RNN),
    OP1("Range", RANGE),
    OP1("Reciprocal", RECIPROCAL),
    OPF("ReduceL1", REDUCE_L1, tr_reduce),
    OPF("ReduceL2", REDUCE_L2, tr_reduce),
    OPF("ReduceLogSum", REDUCE_LOG_SUM, tr_reduce),
    OPF("ReduceLogSumExp", REDUCE_LOG_SUM_EXP, tr_reduce),
    OPF("ReduceMax", REDUCE_MAX, tr_reduce),
    OPF("ReduceMean", REDUCE_MEAN, tr_reduce),
    OPF("ReduceMin", REDUCE_MIN, tr_reduce),
    OPF("ReduceProd", REDUCE_PROD, tr_reduce),
    OPF("ReduceSum", REDUCE_SUM, tr_reduce_sum),
    OPF("ReduceSumSquare", REDUCE_SUM_SQUARE, tr_reduce),
    OP1("Relu", RELU),
    OPF("Reshape", RESHAPE, tr_reshape),
    OPF("Resize", RESIZE, tr_resize),
    OP1("ReverseSequence", REVERSE_SEQUENCE),
    OP1("Round", ROUND),
    OP1("Scatter", SCATTER_ELEMENTS), /* Scatter-9/11 is ScatterElements-11 */
    OP1("ScatterElements", SCATTER_ELEMENTS),
    OP1("ScatterND", SCATTER_ND),
    OP1("Selu", SELU),
    OP1("Shape", SHAPE),
    OP1("Shrink", SHRINK),
    OP1("Sigmoid", SIGMOID),
    OP1("Sign", SIGN),
    OP1("Sin", SIN),
    OP1("Sinh", SINH),
    OP1("Size", SIZE),
    OPF("Slice", SLICE, tr_slice),
    OPF("Softmax", SOFTMAX, tr_softmax),
    OP1("SoftmaxCrossEntropyLoss", SOFTMAX_CROSS_ENTROPY_LOSS),
    OP1("Softplus", SOFTPLUS),
    OP1("Softsign", SOFTSIGN),
    OP1("SpaceToDepth", SPACE_TO_DEPTH),
    OPF("Split", SPLIT, tr_split),
    OP1("Sqrt", SQRT),
    OPF("Squeeze", SQUEEZE, tr_squeeze),
    OPF("Sub", SUB, tr_binary),
    OP1("Sum", SUM),
    OP1("Tan", TAN),
    OP1("Tanh", TANH),
    OP1("ThresholdedRelu", THRESHOLDED_RELU),
    OP1("Tile", TILE),
    OPF("TopK", TOP_K, tr_topk),
    OP1("Transpose", TRANSPOSE),
    OP1("Trilu", TRILU),
    OPF("Unsqueeze", UNSQUEEZE, tr_squeeze),
    OPF("Upsample", RESIZE, tr_upsample),
    OP1("Where", WHERE),
    OPF("Xor", XOR, tr_binary),
};

const size_t onnx_op_table_len = sizeof onnx_op_table / sizeof onnx_op_table[0];

static int cmp_entry(const void *key, const void *e)
{
    return strcmp(key, ((const struct onnx_op_entry *)e)->name);
}

const struct onnx_op_entry *onnx_op_find(const char *op_type)
{
    return bsearch(op_type, onnx_op_table, onnx_op_table_len, sizeof onnx_op_table[0], cmp_entry);
}
