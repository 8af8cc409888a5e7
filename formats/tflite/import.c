/* TFLite FlatBuffer -> synap graph: reads and checks the whole model through
 * the bounds-checked reader (flatbuf.c), lists every unsupported op up front, then translates the
 * operators of subgraph 0 in their (execution) order through the op table (ops.c), with shape
 * inference and constant folding node by node, and finally sinks and
 * cancels the layout Transposes (layout.c).
 *
 * Where the model's numbers go: constants are views into the mapped file
 * when their alignment allows (the graph owns the mapping), copies
 * otherwise; hybrid int8 weights are dequantized to float32 and sparse ones
 * densified here, with the total of such copies bounded by the file size.
 * Pre-quantized models (uint8 per tensor, int8 per channel, int16 with int8
 * weights) keep their integers: quantized tensors get their dtype and a
 * quant record (see quant_of), and intermediate results of a translation
 * get theirs from quant_temps. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qmath.h"
#include "tflite/internal.h"

#define MAX_TENSORS (1u << 22)
#define MAX_OPS (1u << 22)

struct tfl_ctx {
    const char *what;
    struct fb_reader r;
    struct synap_graph *g;
    struct synap_err *err;
    struct synap_arena *tmp;
    size_t file_size;
    struct tfl_tensor *tensors;
    size_t ntensors;
    struct tfl_op *ops;
    size_t nops;
    /* taken tensor names (open addressing; keys borrowed from the graph) */
    const char **names;
    size_t names_cap, names_len;
    size_t copied_bytes, copy_limit;
    /* pre-quantized model: quantized integer tensors keep their integers and
     * quant records; cur_q / cur_qdt are the translated op's output 0 ones,
     * given to the intermediate results of its compute nodes */
    int qmodel;
    struct synap_quant *cur_q;
    enum synap_dtype cur_qdt;
    uint8_t *is_temp; /* by synap tensor index, grown with the graph */
    size_t is_temp_cap;
};

struct synap_graph *tfl_graph(struct tfl_ctx *c)
{
    return c->g;
}
struct fb_reader *tfl_reader(struct tfl_ctx *c)
{
    return &c->r;
}
struct synap_err *tfl_err(struct tfl_ctx *c)
{
    return c->err;
}
const struct synap_tensor *tfl_t(struct tfl_ctx *c, uint32_t t)
{
    return &c->g->tensors[t];
}

/* ---- unique tensor names -------------------------------------------------- */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int name_taken(const struct tfl_ctx *c, const char *s)
{
    if (!c->names_cap) return 0;
    for (size_t i = hash_str(s) & (c->names_cap - 1);; i = (i + 1) & (c->names_cap - 1)) {
        if (!c->names[i]) return 0;
        if (!strcmp(c->names[i], s)) return 1;
    }
}

static void name_put(struct tfl_ctx *c, const char *s)
{
    if (2 * (c->names_len + 1) > c->names_cap) {
        const char **old = c->names;
        size_t ocap = c->names_cap;
        c->names_cap = ocap ? 2 * ocap : 1024;
        c->names = synap_xcalloc(c->names_cap, sizeof *c->names);
        c->names_len = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i]) name_put(c, old[i]);
        free(old);
    }
    size_t i = hash_str(s) & (c->names_cap - 1);
    while (c->names[i]) {
        if (!strcmp(c->names[i], s)) return;
        i = (i + 1) & (c->names_cap - 1);
    }
    c->names[i] = s;
    c->names_len++;
}

/* Adds a tensor named `name`, or name_1, name_2, ... when taken. */
static uint32_t add_tensor(struct tfl_ctx *c, const char *name, enum synap_dtype dt, int rank,
                           const int64_t *dims)
{
    const char *use = name;
    char *buf = NULL;
    if (name_taken(c, name)) {
        size_t len = strlen(name) + 24;
        buf = synap_arena_alloc(c->tmp, len);
        for (unsigned k = 1;; k++) {
            snprintf(buf, len, "%s_%u", name, k);
            if (!name_taken(c, buf)) break;
        }
        use = buf;
    }
    uint32_t t = synap_graph_add_tensor(c->g, use, dt, rank, dims);
    name_put(c, c->g->tensors[t].name);
    return t;
}

static const char *join(struct tfl_ctx *c, const char *a, const char *b)
{
    if (!b) return a;
    size_t len = strlen(a) + strlen(b) + 2;
    char *s = synap_arena_alloc(c->tmp, len);
    snprintf(s, len, "%s/%s", a, b);
    return s;
}

uint32_t tfl_temp(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix)
{
    uint32_t t =
        add_tensor(c, join(c, op->name, suffix ? suffix : "tmp"), SYNAP_DTYPE_UNDEFINED, 0, NULL);
    if (c->qmodel) {
        if (t >= c->is_temp_cap) {
            size_t ncap = c->is_temp_cap ? 2 * c->is_temp_cap : 1024;
            while (ncap <= t)
                ncap *= 2;
            c->is_temp = synap_xrealloc(c->is_temp, ncap);
            memset(c->is_temp + c->is_temp_cap, 0, ncap - c->is_temp_cap);
            c->is_temp_cap = ncap;
        }
        c->is_temp[t] = 1;
    }
    return t;
}

uint32_t tfl_const(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                   enum synap_dtype dtype, int rank, const int64_t *dims, const void *data,
                   size_t nbytes)
{
    uint32_t t = add_tensor(c, join(c, op->name, suffix), dtype, rank, dims);
    c->g->tensors[t].data = synap_arena_memdup(c->g->arena, data, nbytes);
    c->g->tensors[t].nbytes = nbytes;
    return t;
}

uint32_t tfl_const_i64(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                       const int64_t *v, size_t n)
{
    int64_t d = (int64_t)n;
    return tfl_const(c, op, suffix, SYNAP_DTYPE_INT64, 1, &d, v, n * sizeof *v);
}

uint32_t tfl_const_f32(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, float v)
{
    return tfl_const(c, op, suffix, SYNAP_DTYPE_FLOAT32, 0, NULL, &v, sizeof v);
}

/* ---- nodes ------------------------------------------------------------------ */
size_t tfl_node_n(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                  enum synap_op kind, const uint32_t *ins, size_t nin, const uint32_t *outs,
                  size_t nout)
{
    while (nin && ins[nin - 1] == SYNAP_NONE)
        nin--;
    struct synap_node *n = synap_graph_add_node(c->g, join(c, op->name, suffix), kind, nin, nout);
    for (size_t i = 0; i < nin; i++)
        n->inputs[i] = ins[i];
    for (size_t i = 0; i < nout; i++)
        n->outputs[i] = outs[i];
    return c->g->nnodes - 1;
}

size_t tfl_node(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, enum synap_op kind,
                const uint32_t *ins, size_t nin, uint32_t out)
{
    return tfl_node_n(c, op, suffix, kind, ins, nin, &out, 1);
}

/* Ops that only move or select elements: their results keep the input's
 * quantization (TFLite requires equal parameters on them). */
static int moves_data(enum synap_op op)
{
    switch (op) {
    case SYNAP_OP_TRANSPOSE:
    case SYNAP_OP_RESHAPE:
    case SYNAP_OP_SQUEEZE:
    case SYNAP_OP_UNSQUEEZE:
    case SYNAP_OP_FLATTEN:
    case SYNAP_OP_SLICE:
    case SYNAP_OP_SPLIT:
    case SYNAP_OP_GATHER:
    case SYNAP_OP_IDENTITY:
    case SYNAP_OP_PAD:
    case SYNAP_OP_TILE:
    case SYNAP_OP_EXPAND:
    case SYNAP_OP_DEPTH_TO_SPACE:
    case SYNAP_OP_SPACE_TO_DEPTH:
        return 1;
    default:
        return 0;
    }
}

/* The quant record of a Transpose's output: per-channel axes follow perm. */
static struct synap_quant *quant_through_perm(struct synap_graph *g, struct synap_quant *q,
                                              const struct synap_node *n)
{
    const int64_t *perm;
    size_t np = synap_attr_ints(n, "perm", &perm);
    if (!q || q->axis < 0 || !np) return q;
    struct synap_quant *r = synap_arena_alloc(g->arena, sizeof *r);
    *r = *q;
    for (size_t i = 0; i < np; i++)
        if (perm[i] == q->axis) r->axis = (int32_t)i;
    return r;
}

/* Before inference of a node in a pre-quantized model: an intermediate
 * result (a temp) of a node reading quantized integers gets the input's
 * parameters when the node only moves data, else the translated op's
 * output parameters (fused activations keep them too). */
static void quant_temps(struct tfl_ctx *c, size_t idx)
{
    struct synap_graph *g = c->g;
    const struct synap_node *nd = &g->nodes[idx];
    if (!c->qmodel || !nd->ninputs || nd->inputs[0] == SYNAP_NONE) return;
    const struct synap_tensor *x = &g->tensors[nd->inputs[0]];
    if (!x->quant || !synap_dtype_is_int(x->dtype)) return;
    for (size_t k = 0; k < nd->noutputs; k++) {
        uint32_t o = nd->outputs[k];
        if (o == SYNAP_NONE || o >= c->is_temp_cap || !c->is_temp[o]) continue;
        struct synap_tensor *t = &g->tensors[o];
        if (moves_data(nd->op)) {
            t->quant =
                nd->op == SYNAP_OP_TRANSPOSE ? quant_through_perm(g, x->quant, nd) : x->quant;
        } else if (c->cur_q) {
            t->quant = c->cur_q;
            t->dtype = c->cur_qdt;
        }
    }
}

int tfl_infer(struct tfl_ctx *c, size_t idx)
{
    quant_temps(c, idx);
    const struct synap_node *nd = &c->g->nodes[idx];
    const struct synap_op_info *oi = &synap_op_table[nd->op];
    if (nd->ninputs < oi->min_in || nd->ninputs > oi->max_in)
        return synap_errf(c->err, "%s: %zu inputs, expected %d..%d", oi->name, nd->ninputs,
                          oi->min_in, oi->max_in);
    if (nd->noutputs < oi->min_out || nd->noutputs > oi->max_out)
        return synap_errf(c->err, "%s: %zu outputs, expected %d..%d", oi->name, nd->noutputs,
                          oi->min_out, oi->max_out);
    return synap_graph_infer_node(c->g, idx, true, c->err) < 0 ? -1 : 0;
}

int tfl_emit(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, enum synap_op kind,
             const uint32_t *ins, size_t nin, uint32_t out)
{
    return tfl_infer(c, tfl_node(c, op, suffix, kind, ins, nin, out));
}

int tfl_transpose(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, uint32_t x,
                  const int64_t *perm, int rank, uint32_t out, uint32_t *res)
{
    if (out == SYNAP_NONE) out = tfl_temp(c, op, suffix);
    size_t nd = tfl_node(c, op, suffix, SYNAP_OP_TRANSPOSE, &x, 1, out);
    synap_node_set_ints(c->g, &c->g->nodes[nd], "perm", perm, (size_t)rank);
    *res = out;
    return tfl_infer(c, nd);
}

int tfl_activation(struct tfl_ctx *c, const struct tfl_op *op, int act, uint32_t x, uint32_t out,
                   uint32_t *res)
{
    *res = x;
    if (act == TFL_ACT_NONE) return 0;
    uint32_t y = out != SYNAP_NONE ? out : tfl_temp(c, op, "act");
    switch (act) {
    case TFL_ACT_RELU:
        *res = y;
        return tfl_emit(c, op, "act", SYNAP_OP_RELU, &x, 1, y);
    case TFL_ACT_RELU_N1_TO_1:
    case TFL_ACT_RELU6: {
        float lo = act == TFL_ACT_RELU6 ? 0.0f : -1.0f, hi = act == TFL_ACT_RELU6 ? 6.0f : 1.0f;
        uint32_t ins[3] = {x, tfl_const_f32(c, op, "act_min", lo),
                           tfl_const_f32(c, op, "act_max", hi)};
        *res = y;
        return tfl_emit(c, op, "act", SYNAP_OP_CLIP, ins, 3, y);
    }
    case TFL_ACT_TANH:
        *res = y;
        return tfl_emit(c, op, "act", SYNAP_OP_TANH, &x, 1, y);
    default:
        return synap_errf(c->err, "fused activation %d is not supported", act);
    }
}

/* ---- tensors ------------------------------------------------------------------ */
const struct tfl_tensor *tfl_in_tensor(struct tfl_ctx *c, const struct tfl_op *op, size_t k)
{
    if (k >= op->nin || op->in[k] < 0) return NULL;
    return &c->tensors[op->in[k]];
}

const struct tfl_tensor *tfl_out_tensor(struct tfl_ctx *c, const struct tfl_op *op, size_t k)
{
    return &c->tensors[op->out[k]];
}

static enum synap_dtype dtype_of(int type)
{
    switch (type) {
    case TFL_FLOAT32:
        return SYNAP_DTYPE_FLOAT32;
    case TFL_FLOAT16:
        return SYNAP_DTYPE_FLOAT16;
    case TFL_FLOAT64:
        return SYNAP_DTYPE_FLOAT64;
    case TFL_INT8:
        return SYNAP_DTYPE_INT8;
    case TFL_UINT8:
        return SYNAP_DTYPE_UINT8;
    case TFL_INT16:
        return SYNAP_DTYPE_INT16;
    case TFL_UINT16:
        return SYNAP_DTYPE_UINT16;
    case TFL_INT32:
        return SYNAP_DTYPE_INT32;
    case TFL_UINT32:
        return SYNAP_DTYPE_UINT32;
    case TFL_INT64:
        return SYNAP_DTYPE_INT64;
    case TFL_UINT64:
        return SYNAP_DTYPE_UINT64;
    case TFL_BOOL:
        return SYNAP_DTYPE_BOOL;
    default:
        return SYNAP_DTYPE_UNDEFINED;
    }
}

static const char *type_name(int type)
{
    static const char *const n[] = {"float32", "float16",    "int32",  "uint8",     "int64",
                                    "string",  "bool",       "int16",  "complex64", "int8",
                                    "float64", "complex128", "uint64", "resource",  "variant",
                                    "uint32",  "uint16",     "int4"};
    return type >= 0 && type < (int)(sizeof n / sizeof *n) ? n[type] : "unknown";
}

static int account_copy(struct tfl_ctx *c, const struct tfl_tensor *t, size_t nbytes)
{
    if (synap_add_overflow(c->copied_bytes, nbytes, &c->copied_bytes) ||
        c->copied_bytes > c->copy_limit)
        return synap_errf(c->err,
                          "tensor '%s': dequantized and densified constants exceed %zu bytes "
                          "(the file has %zu)",
                          t->name, c->copy_limit, c->file_size);
    return 0;
}

/* Hybrid models keep some float ops' weights in int8 (dynamic-range
 * quantization): real = scale * (q - zero_point), per tensor or per channel
 * along quantized_dimension. Only constants come here. */
static int dequantize_const(struct tfl_ctx *c, const struct tfl_tensor *t, const void *src,
                            float **out)
{
    struct fb_reader *r = &c->r;
    struct fb_vec sc = fb_vector(r, &t->quant, TFL_QUANT_SCALE, 4);
    struct fb_vec zp = fb_vector(r, &t->quant, TFL_QUANT_ZERO_POINT, 8);
    int32_t qd = fb_i32(r, &t->quant, TFL_QUANT_QUANTIZED_DIMENSION, 0);
    if (fb_failed(r)) return -1;
    int64_t ne = synap_shape_nelem(t->rank, t->dims);
    if (!synap_dtype_is_int(t->dtype) || ne < 0)
        return synap_errf(c->err, "tensor '%s': cannot dequantize %s", t->name, type_name(t->type));
    size_t nsc = sc.len;
    int64_t inner = 1, chans = 1;
    if (nsc > 1) {
        if (qd < 0 || qd >= t->rank || t->dims[qd] != (int64_t)nsc)
            return synap_errf(c->err, "tensor '%s': %zu scales do not match quantized dimension %d",
                              t->name, nsc, (int)qd);
        chans = (int64_t)nsc;
        for (int i = qd + 1; i < t->rank; i++)
            inner *= t->dims[i];
    }
    if (zp.len && zp.len != nsc)
        return synap_errf(c->err, "tensor '%s': %u zero points for %zu scales", t->name,
                          (unsigned)zp.len, nsc);
    if (account_copy(c, t, (size_t)ne * sizeof(float)) < 0) return -1;
    float *f = synap_xmalloc((size_t)ne * sizeof *f + 1);
    struct synap_value v = {.dtype = t->dtype, .rank = t->rank, .data = (void *)src};
    memcpy(v.dims, t->dims, sizeof v.dims);
    for (int64_t i = 0; i < ne; i++) {
        size_t ch = nsc > 1 ? (size_t)((i / inner) % chans) : 0;
        double s = fb_vec_f32(r, &sc, (uint32_t)ch);
        double z = zp.len ? (double)fb_vec_i64(r, &zp, (uint32_t)ch) : 0.0;
        f[i] = (float)(s * (synap_value_get_f64(&v, i) - z));
    }
    *out = f;
    return 0;
}

/* The quant record of a quantized integer tensor of a pre-quantized model
 * (in the graph's arena), NULL for the others; -1 with an error when its
 * parameters are malformed. Schemes: uint8 asymmetric_affine; int8 per
 * channel perchannel_symmetric_affine, per tensor symmetric_affine when the
 * zero point is 0 (else asymmetric_affine); int16/int32/int64 symmetric. */
static int quant_of(struct tfl_ctx *c, const struct tfl_tensor *t, struct synap_quant **out)
{
    struct fb_reader *r = &c->r;
    *out = NULL;
    if (!c->qmodel || !t->quantized || !synap_dtype_is_int(t->dtype)) return 0;
    struct fb_vec sc = fb_vector(r, &t->quant, TFL_QUANT_SCALE, 4);
    struct fb_vec zp = fb_vector(r, &t->quant, TFL_QUANT_ZERO_POINT, 8);
    int32_t qd = fb_i32(r, &t->quant, TFL_QUANT_QUANTIZED_DIMENSION, 0);
    if (fb_failed(r)) return -1;
    size_t n = sc.len;
    /* a vector's one axis, whatever quantized_dimension says (converters
     * write the weights' axis 3 on depthwise biases; TFLite ignores it) */
    if (n > 1 && t->rank == 1 && t->dims[0] == (int64_t)n) qd = 0;
    if (n > 1 && (qd < 0 || qd >= t->rank || t->dims[qd] != (int64_t)n))
        return synap_errf(c->err, "tensor '%s': %zu scales do not match quantized dimension %d",
                          t->name, n, (int)qd);
    if (zp.len && zp.len != n)
        return synap_errf(c->err, "tensor '%s': %u zero points for %zu scales", t->name,
                          (unsigned)zp.len, n);
    struct synap_arena *a = c->g->arena;
    struct synap_quant *q = synap_arena_alloc(a, sizeof *q);
    memset(q, 0, sizeof *q);
    q->nparams = n;
    q->scale = synap_arena_alloc(a, n * sizeof *q->scale);
    q->zero_point = synap_arena_alloc(a, n * sizeof *q->zero_point);
    q->axis = n > 1 ? qd : -1;
    int anyzp = 0;
    for (uint32_t i = 0; i < n; i++) {
        float s = fb_vec_f32(r, &sc, i);
        int64_t z = zp.len ? fb_vec_i64(r, &zp, i) : 0;
        if (!(s > 0) || s > 3.0e38f)
            return synap_errf(c->err, "tensor '%s': scale %g must be positive and finite", t->name,
                              (double)s);
        if (z < INT32_MIN || z > INT32_MAX)
            return synap_errf(c->err, "tensor '%s': zero point %lld out of range", t->name,
                              (long long)z);
        q->scale[i] = s;
        q->zero_point[i] = (int32_t)z;
        anyzp |= z != 0;
    }
    if (fb_failed(r)) return -1;
    if (t->dtype == SYNAP_DTYPE_UINT8 || t->dtype == SYNAP_DTYPE_UINT16)
        q->scheme = SYNAP_QSCHEME_ASYMMETRIC_AFFINE;
    else if (n > 1)
        q->scheme = SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE;
    else
        q->scheme = anyzp ? SYNAP_QSCHEME_ASYMMETRIC_AFFINE : SYNAP_QSCHEME_SYMMETRIC_AFFINE;
    *out = q;
    return 0;
}

static int materialize(struct tfl_ctx *c, struct tfl_tensor *t)
{
    if (t->t != SYNAP_NONE) return 0;
    struct synap_quant *q = NULL;
    if (quant_of(c, t, &q) < 0) return -1; /* names the tensor */
    if (!t->data && !t->sparsity.vtsize)
        return synap_errf(c->err, "tensor '%s' is used before any operator produces it", t->name);
    const void *data = t->data;
    size_t nbytes = t->nbytes;
    void *owned = NULL;
    int rc = -1;
    if (t->sparsity.vtsize) {
        int64_t ne = synap_shape_nelem(t->rank, t->dims);
        size_t need;
        if (ne < 0 || synap_mul_overflow((size_t)ne, synap_dtype_size(t->dtype), &need)) {
            synap_errf(c->err, "shape overflows");
            goto out;
        }
        if (account_copy(c, t, need) < 0) goto out;
        if (tfl_densify(c, t, &owned, &nbytes) < 0) goto out;
        data = owned;
    }
    if (q) {
        /* a pre-quantized model's integer constant stays as it is */
        t->t = add_tensor(c, t->name, t->dtype, t->rank, t->dims);
        c->g->tensors[t->t].quant = q;
    } else if (t->quantized && t->dtype != SYNAP_DTYPE_FLOAT32) {
        float *f = NULL;
        if (dequantize_const(c, t, data, &f) < 0) goto out;
        free(owned);
        owned = f;
        data = f;
        nbytes = (size_t)synap_shape_nelem(t->rank, t->dims) * sizeof(float);
        t->t = add_tensor(c, t->name, SYNAP_DTYPE_FLOAT32, t->rank, t->dims);
    } else {
        t->t = add_tensor(c, t->name, t->dtype, t->rank, t->dims);
    }
    struct synap_tensor *st = &c->g->tensors[t->t];
    size_t esz = synap_dtype_size(st->dtype);
    /* a view into the mapped file when aligned for the element type */
    if (!owned && esz && (uintptr_t)data % esz == 0)
        st->data = data;
    else
        st->data = synap_arena_memdup(c->g->arena, data, nbytes ? nbytes : 1);
    st->nbytes = nbytes;
    rc = 0;
out:
    free(owned);
    if (rc < 0) synap_err_prefix(c->err, "tensor '%s'", t->name);
    return rc;
}

int tfl_same_quant(struct tfl_ctx *c, int32_t a, int32_t b)
{
    struct synap_quant *qa, *qb;
    if (a < 0 || b < 0 || (size_t)a >= c->ntensors || (size_t)b >= c->ntensors)
        return synap_errf(c->err, "tensor index out of range");
    if (quant_of(c, &c->tensors[a], &qa) < 0 || quant_of(c, &c->tensors[b], &qb) < 0) return -1;
    if (!qa || !qb) return !qa && !qb;
    if (qa->nparams != qb->nparams) return 0;
    for (size_t i = 0; i < qa->nparams; i++)
        if (qa->scale[i] != qb->scale[i] || qa->zero_point[i] != qb->zero_point[i]) return 0;
    return 1;
}

int tfl_input(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t)
{
    *t = SYNAP_NONE;
    if (k >= op->nin || op->in[k] < 0) return 0;
    struct tfl_tensor *tt = &c->tensors[op->in[k]];
    /* a state tensor without data: an omitted input (zero initial state) */
    if (tt->variable && !tt->data && tt->t == SYNAP_NONE) return 0;
    if (tt->t == SYNAP_NONE && materialize(c, tt) < 0) return -1;
    *t = tt->t;
    return 0;
}

int tfl_zero_state(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t)
{
    *t = SYNAP_NONE;
    if (k >= op->nin || op->in[k] < 0) return synap_errf(c->err, "input %zu is missing", k);
    const struct tfl_tensor *tt = &c->tensors[op->in[k]];
    int64_t ne = synap_shape_nelem(tt->rank, tt->dims);
    size_t esz = synap_dtype_size(tt->dtype);
    if (ne < 1 || ne > ((int64_t)1 << 28) || !esz)
        return synap_errf(c->err, "input %zu (state '%s'): expected a non-empty tensor", k,
                          tt->name);
    struct synap_quant *q;
    if (quant_of(c, tt, &q) < 0) return -1; /* names the tensor */
    int32_t zp = 0, lo, hi;
    if (q) {
        if (q->nparams != 1)
            return synap_errf(c->err, "input %zu (state '%s'): expected one scale", k, tt->name);
        zp = q->zero_point[0];
        if (synap_q_range(tt->dtype, &lo, &hi) && (zp < lo || zp > hi))
            return synap_errf(c->err, "input %zu (state '%s'): zero point %d outside %s", k,
                              tt->name, (int)zp, synap_dtype_name(tt->dtype));
    }
    size_t nb = (size_t)ne * esz;
    uint8_t *z0 = synap_xmalloc(nb);
    struct synap_value v = {.dtype = tt->dtype, .rank = 1, .dims = {ne}, .data = z0};
    for (int64_t i = 0; i < ne; i++)
        synap_value_set_i64(&v, i, zp);
    *t = tfl_const(c, op, "state0", tt->dtype, tt->rank, tt->dims, z0, nb);
    free(z0);
    c->g->tensors[*t].quant = q;
    return 0;
}

int tfl_input_req(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t)
{
    if (tfl_input(c, op, k, t) < 0) return -1;
    if (*t == SYNAP_NONE) return synap_errf(c->err, "input %zu is missing", k);
    return 0;
}

int tfl_input_ints(struct tfl_ctx *c, const struct tfl_op *op, size_t k, int64_t *v, size_t cap,
                   size_t *n)
{
    uint32_t t;
    if (tfl_input_req(c, op, k, &t) < 0) return -1;
    const struct synap_tensor *st = &c->g->tensors[t];
    if (!st->data) return synap_errf(c->err, "input %zu '%s' must be constant", k, st->name);
    if (st->dtype != SYNAP_DTYPE_INT32 && st->dtype != SYNAP_DTYPE_INT64)
        return synap_errf(c->err, "input %zu '%s': expected int32 or int64, got %s", k, st->name,
                          synap_dtype_name(st->dtype));
    int64_t ne = synap_shape_nelem(st->rank, st->dims);
    if (ne < 0 || (size_t)ne > cap)
        return synap_errf(c->err, "input %zu '%s': %lld values, at most %zu expected", k, st->name,
                          (long long)ne, cap);
    struct synap_value val = {.dtype = st->dtype, .rank = st->rank, .data = (void *)st->data};
    memcpy(val.dims, st->dims, sizeof val.dims);
    for (int64_t i = 0; i < ne; i++)
        v[i] = synap_value_get_i64(&val, i);
    *n = (size_t)ne;
    return 0;
}

int tfl_output(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t)
{
    *t = SYNAP_NONE;
    if (k >= op->nout || op->out[k] < 0) return synap_errf(c->err, "output %zu is missing", k);
    struct tfl_tensor *tt = &c->tensors[op->out[k]];
    if (tt->t != SYNAP_NONE || tt->data)
        return synap_errf(c->err, "output %zu '%s' is already defined", k, tt->name);
    struct synap_quant *q;
    if (quant_of(c, tt, &q) < 0) return -1;
    tt->t = *t = add_tensor(c, tt->name, q ? tt->dtype : SYNAP_DTYPE_UNDEFINED, 0, NULL);
    c->g->tensors[*t].quant = q;
    return 0;
}

int tfl_alias(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t t)
{
    if (k >= op->nout || op->out[k] < 0) return synap_errf(c->err, "output %zu is missing", k);
    struct tfl_tensor *tt = &c->tensors[op->out[k]];
    if (tt->t != SYNAP_NONE || tt->data)
        return synap_errf(c->err, "output %zu '%s' is already defined", k, tt->name);
    tt->t = t;
    return 0;
}

/* ---- reading the model ------------------------------------------------------- */
static int read_tensor(struct tfl_ctx *c, size_t i, const struct fb_table *tt,
                       const struct fb_vec *buffers)
{
    struct fb_reader *r = &c->r;
    struct tfl_tensor *t = &c->tensors[i];
    t->t = SYNAP_NONE;
    t->name = fb_string(r, tt, TFL_TENSOR_NAME, NULL);
    if (fb_failed(r)) return -1;
    if (!t->name || !*t->name) {
        char buf[32];
        snprintf(buf, sizeof buf, "tensor_%zu", i);
        t->name = synap_arena_strdup(c->tmp, buf);
    }
    struct fb_vec shape = fb_vector(r, tt, TFL_TENSOR_SHAPE, 4);
    t->type = fb_i8(r, tt, TFL_TENSOR_TYPE, 0);
    uint32_t buf = fb_u32(r, tt, TFL_TENSOR_BUFFER, 0);
    t->quant = fb_table(r, tt, TFL_TENSOR_QUANTIZATION);
    t->sparsity = fb_table(r, tt, TFL_TENSOR_SPARSITY);
    t->variable = fb_u8(r, tt, TFL_TENSOR_IS_VARIABLE, 0) != 0;
    if (fb_failed(r)) return -1;
    if (shape.len > SYNAP_MAX_RANK)
        return synap_errf(c->err, "tensor '%s': rank %u exceeds the maximum of %d", t->name,
                          (unsigned)shape.len, SYNAP_MAX_RANK);
    t->rank = (int)shape.len;
    for (int d = 0; d < t->rank; d++) {
        int32_t v = fb_vec_i32(r, &shape, (uint32_t)d);
        if (v < 0)
            return synap_errf(c->err,
                              "tensor '%s': dimension %d is %d (dynamic shapes are not "
                              "supported)",
                              t->name, d, (int)v);
        t->dims[d] = v;
    }
    t->dtype = dtype_of(t->type);
    t->quantized = fb_vector(r, &t->quant, TFL_QUANT_SCALE, 4).len > 0;
    if (buf >= buffers->len)
        return synap_errf(c->err, "tensor '%s': buffer %u out of range (%u buffers)", t->name,
                          (unsigned)buf, (unsigned)buffers->len);
    if (buf) {
        struct fb_table b = fb_vec_table(r, buffers, buf);
        struct fb_vec data = fb_vector(r, &b, TFL_BUFFER_DATA, 1);
        uint64_t off = fb_u64(r, &b, TFL_BUFFER_OFFSET, 0),
                 size = fb_u64(r, &b, TFL_BUFFER_SIZE, 0);
        if (fb_failed(r)) return -1;
        if (data.len) {
            t->data = fb_vec_bytes(r, &data);
            t->nbytes = data.len;
        } else if (off > 1) {
            /* data outside the FlatBuffer, relative to the file's start */
            if (off > c->file_size || size > c->file_size - off)
                return synap_errf(c->err,
                                  "tensor '%s': buffer %u (offset %" PRIu64 ", %" PRIu64
                                  " bytes) lies outside the file",
                                  t->name, (unsigned)buf, off, size);
            if (size) {
                t->data = r->data + off;
                t->nbytes = (size_t)size;
            }
        }
    }
    if (t->data && !t->sparsity.vtsize) {
        int64_t ne = synap_shape_nelem(t->rank, t->dims);
        size_t esz = synap_dtype_size(t->dtype), need;
        if (!esz)
            return synap_errf(c->err, "tensor '%s': %s constants are not supported", t->name,
                              type_name(t->type));
        if (ne < 0 || synap_mul_overflow((size_t)ne, esz, &need) || need != t->nbytes)
            return synap_errf(c->err, "tensor '%s': buffer has %zu bytes, shape needs %lld x %zu",
                              t->name, t->nbytes, (long long)ne, esz);
    }
    t->defined = t->data != NULL || t->sparsity.vtsize != 0 || t->variable;
    return 0;
}

static int read_int_list(struct tfl_ctx *c, const struct fb_table *tb, unsigned field,
                         const char *what, int allow_neg, int32_t **out, size_t *n)
{
    struct fb_reader *r = &c->r;
    struct fb_vec v = fb_vector(r, tb, field, 4);
    if (fb_failed(r)) return -1;
    int32_t *a = synap_arena_alloc(c->tmp, ((size_t)v.len + 1) * sizeof *a);
    for (uint32_t i = 0; i < v.len; i++) {
        a[i] = fb_vec_i32(r, &v, i);
        if (a[i] < (allow_neg ? -1 : 0) || (a[i] >= 0 && (size_t)a[i] >= c->ntensors))
            return synap_errf(c->err, "%s %u: tensor index %d out of range (%zu tensors)", what,
                              (unsigned)i, (int)a[i], c->ntensors);
    }
    *out = a;
    *n = v.len;
    return 0;
}

struct opcode {
    int32_t code;
    const char *custom;
};

static const char *op_label(const struct tfl_op *op, char *buf, size_t n)
{
    if (op->code == TFL_OP_CUSTOM)
        snprintf(buf, n, "CUSTOM %s", op->custom ? op->custom : "(unnamed)");
    else if (tfl_builtin_name(op->code))
        snprintf(buf, n, "%s", tfl_builtin_name(op->code));
    else
        snprintf(buf, n, "builtin %d", (int)op->code);
    return buf;
}

static int read_ops(struct tfl_ctx *c, const struct fb_vec *ops, const struct opcode *codes,
                    size_t ncodes)
{
    struct fb_reader *r = &c->r;
    c->ops = synap_xcalloc(ops->len + 1, sizeof *c->ops);
    c->nops = ops->len;
    for (uint32_t i = 0; i < ops->len; i++) {
        struct tfl_op *op = &c->ops[i];
        struct fb_table ot = fb_vec_table(r, ops, i);
        uint32_t oi = fb_u32(r, &ot, TFL_OP_OPCODE_INDEX, 0);
        if (fb_failed(r)) return -1;
        if (oi >= ncodes)
            return synap_errf(c->err, "operator %u: opcode index %u out of range (%zu codes)",
                              (unsigned)i, (unsigned)oi, ncodes);
        op->index = i;
        op->code = codes[oi].code;
        op->custom = codes[oi].custom;
        char what[64];
        snprintf(what, sizeof what, "operator %u: input", (unsigned)i);
        int32_t *in, *out;
        if (read_int_list(c, &ot, TFL_OP_INPUTS, what, 1, &in, &op->nin) < 0) return -1;
        snprintf(what, sizeof what, "operator %u: output", (unsigned)i);
        if (read_int_list(c, &ot, TFL_OP_OUTPUTS, what, 0, &out, &op->nout) < 0) return -1;
        snprintf(what, sizeof what, "operator %u: intermediate", (unsigned)i);
        int32_t *inter;
        if (read_int_list(c, &ot, TFL_OP_INTERMEDIATES, what, 0, &inter, &op->ninter) < 0)
            return -1;
        op->in = in;
        op->out = out;
        op->inter = inter;
        op->opts = fb_table(r, &ot, TFL_OP_BUILTIN_OPTIONS);
        struct fb_vec co = fb_vector(r, &ot, TFL_OP_CUSTOM_OPTIONS, 1);
        op->custom_opts = fb_vec_bytes(r, &co);
        op->ncustom_opts = co.len;
        if (fb_failed(r)) return -1;
        if (!op->nout) return synap_errf(c->err, "operator %u has no outputs", (unsigned)i);
        op->name = c->tensors[out[0]].name;
    }
    return 0;
}

/* A tensor that flows at run time (not a constant) holding quantized
 * integers, or a QUANTIZE op, makes a pre-quantized model: its quantized
 * tensors keep their integers and parameters and run on the integer kernels
 * (kernels/qmath.h). Otherwise quantized constants are hybrid weights,
 * dequantized at import. */
static int is_quantized_model(const struct tfl_ctx *c, const int32_t *ins, size_t nins)
{
    for (size_t i = 0; i < c->nops; i++) {
        const struct tfl_op *op = &c->ops[i];
        if (op->code == TFL_OP_QUANTIZE) return 1;
        for (size_t k = 0; k < op->nout; k++) {
            const struct tfl_tensor *t = &c->tensors[op->out[k]];
            if (t->quantized && synap_dtype_is_int(t->dtype)) return 1;
        }
    }
    for (size_t i = 0; i < nins; i++) {
        const struct tfl_tensor *t = &c->tensors[ins[i]];
        if (t->quantized && synap_dtype_is_int(t->dtype)) return 1;
    }
    return 0;
}

/* Every op that cannot be translated, in one message. */
static int check_supported(struct tfl_ctx *c)
{
    size_t nbad = 0;
    for (size_t i = 0; i < c->nops; i++) {
        const struct tfl_op *op = &c->ops[i];
        int ok = op->code == TFL_OP_CUSTOM ? op->custom && tfl_custom_find(op->custom) != NULL
                                           : tfl_op_find(op->code) != NULL;
        if (!ok) nbad++;
    }
    if (!nbad) return 0;
    char list[sizeof c->err->msg];
    size_t off = 0, shown = 0;
    list[0] = 0;
    for (size_t i = 0; i < c->nops; i++) {
        const struct tfl_op *op = &c->ops[i];
        int ok = op->code == TFL_OP_CUSTOM ? op->custom && tfl_custom_find(op->custom) != NULL
                                           : tfl_op_find(op->code) != NULL;
        if (ok) continue;
        char item[300], lab[160];
        snprintf(item, sizeof item, "%soperator %zu '%.80s' (%s)", shown ? ", " : "", op->index,
                 op->name, op_label(op, lab, sizeof lab));
        if (off + strlen(item) + 40 >= sizeof list - 200) break;
        off += (size_t)snprintf(list + off, sizeof list - off, "%s", item);
        shown++;
    }
    if (shown < nbad) snprintf(list + off, sizeof list - off, ", ... (%zu more)", nbad - shown);
    return synap_errf(c->err, "%zu unsupported op%s: %s", nbad, nbad == 1 ? "" : "s", list);
}

static const struct synap_onnx_shape *opt_shape(const struct synap_onnx_opts *o, const char *name)
{
    for (size_t i = 0; o && i < o->nshapes; i++)
        if (o->shapes[i].name && !strcmp(o->shapes[i].name, name)) return &o->shapes[i];
    return NULL;
}

static const struct synap_onnx_value *opt_value(const struct synap_onnx_opts *o, const char *name)
{
    for (size_t i = 0; o && i < o->nvalues; i++)
        if (o->values[i].name && !strcmp(o->values[i].name, name)) return &o->values[i];
    return NULL;
}

static int add_input(struct tfl_ctx *c, struct tfl_tensor *t, const struct synap_onnx_opts *opts,
                     int *is_input)
{
    *is_input = 0;
    if (t->t != SYNAP_NONE) return 0; /* listed twice */
    const struct synap_onnx_value *val = opt_value(opts, t->name);
    if (val) {
        const struct synap_value *v = &val->value;
        int64_t ne = synap_shape_nelem(v->rank, v->dims);
        size_t nbytes;
        if (v->rank < 0 || v->rank > SYNAP_MAX_RANK || ne < 0 || !synap_dtype_size(v->dtype) ||
            synap_mul_overflow((size_t)ne, synap_dtype_size(v->dtype), &nbytes))
            return synap_errf(c->err, "input '%s': bad --input-value", t->name);
        struct synap_quant *q;
        if (quant_of(c, t, &q) < 0) return -1;
        t->t = add_tensor(c, t->name, v->dtype, v->rank, v->dims);
        /* a bound quantized input keeps its parameters when given in its own type */
        if (v->dtype == t->dtype) c->g->tensors[t->t].quant = q;
        c->g->tensors[t->t].data = synap_arena_memdup(c->g->arena, v->data, nbytes ? nbytes : 1);
        c->g->tensors[t->t].nbytes = nbytes;
        t->defined = 1;
        return 0;
    }
    if (t->dtype == SYNAP_DTYPE_UNDEFINED)
        return synap_errf(c->err, "input '%s': %s inputs are not supported", t->name,
                          type_name(t->type));
    int rank = t->rank;
    int64_t dims[SYNAP_MAX_RANK];
    memcpy(dims, t->dims, sizeof dims);
    const struct synap_onnx_shape *os = opt_shape(opts, t->name);
    if (os) {
        if (os->rank != rank)
            return synap_errf(c->err, "input '%s': --input-shape gives %d dimensions, the model %d",
                              t->name, os->rank, rank);
        for (int i = 0; i < rank; i++) {
            if (os->dims[i] < 0)
                return synap_errf(c->err, "input '%s': --input-shape has a negative dimension",
                                  t->name);
            dims[i] = os->dims[i];
        }
        memcpy(t->dims, dims, sizeof dims);
    }
    int64_t ne = synap_shape_nelem(rank, dims);
    size_t nbytes;
    if (ne < 0 || synap_mul_overflow((size_t)ne, synap_dtype_size(t->dtype), &nbytes))
        return synap_errf(c->err, "input '%s': shape has too many elements", t->name);
    struct synap_quant *q;
    if (quant_of(c, t, &q) < 0) return -1;
    t->t = add_tensor(c, t->name, t->dtype, rank, dims);
    c->g->tensors[t->t].quant = q;
    t->defined = 1;
    *is_input = 1;
    return 0;
}

static int translate(struct tfl_ctx *c, const struct tfl_op *op)
{
    for (size_t k = 0; k < op->nin; k++) {
        if (op->in[k] < 0) continue;
        const struct tfl_tensor *t = &c->tensors[op->in[k]];
        if (!t->defined)
            return synap_errf(c->err,
                              "input %zu '%s' is not a graph input, a constant or the output of "
                              "an earlier operator",
                              k, t->name);
    }
    for (size_t k = 0; k < op->nout; k++)
        if (c->tensors[op->out[k]].defined)
            return synap_errf(c->err, "output %zu '%s' is already defined", k,
                              c->tensors[op->out[k]].name);
    tfl_translate_fn fn =
        op->code == TFL_OP_CUSTOM ? tfl_custom_find(op->custom)->fn : tfl_op_find(op->code)->fn;
    const struct tfl_tensor *o0 = &c->tensors[op->out[0]];
    if (quant_of(c, o0, &c->cur_q) < 0) return -1;
    c->cur_qdt = o0->dtype;
    int rc = fn(c, op);
    c->cur_q = NULL;
    if (rc < 0) return -1;
    for (size_t k = 0; k < op->nout; k++) {
        struct tfl_tensor *t = &c->tensors[op->out[k]];
        if (t->t == SYNAP_NONE)
            return synap_errf(c->err, "output %zu '%s' was not produced", k, t->name);
        t->defined = 1;
    }
    return 0;
}

static const char lfs_magic[] = "version https://git-lfs.github.com/spec/";

static int import_model(struct tfl_ctx *c, const struct synap_onnx_opts *opts)
{
    struct fb_reader *r = &c->r;
    if (c->file_size >= sizeof lfs_magic - 1 && !memcmp(r->data, lfs_magic, sizeof lfs_magic - 1))
        return synap_errf(c->err, "is a git-lfs pointer file, not the model: run git lfs pull");
    if (c->file_size < 8 || !fb_has_identifier(r, "TFL3"))
        return synap_errf(c->err, "not a TFLite model (no TFL3 file identifier)");
    struct fb_table m = fb_root(r);
    uint32_t version = fb_u32(r, &m, TFL_MODEL_VERSION, 0);
    struct fb_vec codes_v = fb_vector(r, &m, TFL_MODEL_OPERATOR_CODES, 4);
    struct fb_vec sgs = fb_vector(r, &m, TFL_MODEL_SUBGRAPHS, 4);
    struct fb_vec buffers = fb_vector(r, &m, TFL_MODEL_BUFFERS, 4);
    if (fb_failed(r)) return -1;
    if (version != 3)
        return synap_errf(c->err, "TFLite schema version %u is not supported (expected 3)",
                          (unsigned)version);
    if (!sgs.len) return synap_errf(c->err, "the model has no subgraph");

    struct opcode *codes = synap_arena_alloc(c->tmp, ((size_t)codes_v.len + 1) * sizeof *codes);
    for (uint32_t i = 0; i < codes_v.len; i++) {
        struct fb_table ct = fb_vec_table(r, &codes_v, i);
        int32_t dep = fb_i8(r, &ct, TFL_OPCODE_DEPRECATED_BUILTIN_CODE, 0);
        int32_t code = fb_i32(r, &ct, TFL_OPCODE_BUILTIN_CODE, 0);
        /* the wider field wins; old files only have the byte */
        codes[i].code = code > dep ? code : dep;
        codes[i].custom = fb_string(r, &ct, TFL_OPCODE_CUSTOM_CODE, NULL);
        if (fb_failed(r)) return -1;
    }

    struct fb_table sg = fb_vec_table(r, &sgs, 0);
    struct fb_vec tensors = fb_vector(r, &sg, TFL_SUBGRAPH_TENSORS, 4);
    struct fb_vec ops = fb_vector(r, &sg, TFL_SUBGRAPH_OPERATORS, 4);
    if (fb_failed(r)) return -1;
    if (tensors.len > MAX_TENSORS || ops.len > MAX_OPS)
        return synap_errf(c->err, "too many tensors (%u) or operators (%u)", (unsigned)tensors.len,
                          (unsigned)ops.len);
    if (!ops.len) return synap_errf(c->err, "subgraph 0 has no operators");
    c->ntensors = tensors.len;
    c->tensors = synap_xcalloc(c->ntensors + 1, sizeof *c->tensors);
    for (uint32_t i = 0; i < tensors.len; i++) {
        struct fb_table tt = fb_vec_table(r, &tensors, i);
        if (fb_failed(r) || read_tensor(c, i, &tt, &buffers) < 0) return -1;
    }
    int32_t *ins, *outs;
    size_t nins, nouts;
    if (read_int_list(c, &sg, TFL_SUBGRAPH_INPUTS, "graph input", 0, &ins, &nins) < 0 ||
        read_int_list(c, &sg, TFL_SUBGRAPH_OUTPUTS, "graph output", 0, &outs, &nouts) < 0)
        return -1;
    if (!nouts) return synap_errf(c->err, "subgraph 0 has no outputs");
    if (read_ops(c, &ops, codes, codes_v.len) < 0) return -1;
    c->qmodel = is_quantized_model(c, ins, nins);
    if (check_supported(c) < 0) return -1;

    /* options must name real inputs: a typo would silently do nothing */
    for (size_t i = 0; opts && i < opts->nshapes + opts->nvalues; i++) {
        const char *name =
            i < opts->nshapes ? opts->shapes[i].name : opts->values[i - opts->nshapes].name;
        int found = 0;
        for (size_t k = 0; k < nins && name; k++)
            if (!strcmp(c->tensors[ins[k]].name, name)) found = 1;
        if (!found)
            return synap_errf(c->err, "%s: the model has no input '%s'",
                              i < opts->nshapes ? "--input-shape" : "--input-value",
                              name ? name : "");
    }
    struct synap_graph *g = c->g;
    g->inputs = synap_arena_alloc(g->arena, (nins + 1) * sizeof *g->inputs);
    for (size_t i = 0; i < nins; i++) {
        int is_input;
        if (add_input(c, &c->tensors[ins[i]], opts, &is_input) < 0) return -1;
        if (is_input) g->inputs[g->ninputs++] = c->tensors[ins[i]].t;
    }
    for (size_t i = 0; i < c->nops; i++) {
        const struct tfl_op *op = &c->ops[i];
        if (translate(c, op) < 0 || fb_failed(r)) {
            if (strncmp(c->err->msg, "operator ", 9)) {
                char lab[160];
                synap_err_prefix(c->err, "operator %zu '%s' (%s)", op->index, op->name,
                                 op_label(op, lab, sizeof lab));
            }
            return -1;
        }
    }
    g->outputs = synap_arena_alloc(g->arena, (nouts + 1) * sizeof *g->outputs);
    for (size_t i = 0; i < nouts; i++) {
        struct tfl_tensor *t = &c->tensors[outs[i]];
        if (t->t == SYNAP_NONE && t->data && materialize(c, t) < 0) return -1;
        if (t->t == SYNAP_NONE)
            return synap_errf(c->err, "graph output '%s' is not produced by any operator", t->name);
        g->outputs[g->noutputs++] = t->t;
    }
    synap_graph_prune_dead(g);
    if (synap_tflite_sink_transposes(g, c->err) < 0) return -1;
    return 0;
}

struct synap_graph *synap_tflite_import_mem(const void *data, size_t n, const char *what,
                                            const struct synap_onnx_opts *opts,
                                            struct synap_err *err)
{
    struct synap_err local = {0};
    if (!err) err = &local; /* translations read the message back */
    err->msg[0] = 0;
    struct tfl_ctx c = {.what = what, .err = err, .file_size = n};
    fb_init(&c.r, data, n, err);
    /* copies (dequantized or densified weights) stay within a multiple of
     * the file: a damaged file cannot make the import allocate without bound */
    c.copy_limit = (n > (SIZE_MAX >> 7) ? SIZE_MAX >> 1 : 64 * n) + ((size_t)64 << 20);
    c.tmp = synap_arena_new();
    c.g = synap_graph_new();
    c.g->producer = synap_arena_strdup(c.g->arena, "synap-import " SYNAP_VERSION);
    struct synap_graph *g = c.g;
    if (import_model(&c, opts) < 0) {
        synap_err_prefix(err, "%s", what);
        synap_graph_free(g);
        g = NULL;
    } else if (synap_graph_verify(g, what, err) < 0) {
        synap_graph_free(g);
        g = NULL;
    }
    free(c.tensors);
    free(c.ops);
    free(c.names);
    free(c.is_temp);
    synap_arena_free(c.tmp);
    return g;
}

struct synap_graph *synap_tflite_import(const char *path, const struct synap_onnx_opts *opts,
                                        struct synap_err *err)
{
    struct synap_file f;
    if (synap_file_read(path, &f, err) < 0) return NULL;
    struct synap_graph *g = synap_tflite_import_mem(f.data, f.size, path, opts, err);
    if (!g) {
        synap_file_close(&f);
        return NULL;
    }
    /* constants may be views into the mapping: the graph owns it now */
    g->file = f;
    return g;
}
