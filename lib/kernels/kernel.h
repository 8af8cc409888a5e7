/* The kernel interface: how shape inference and the interpreter call an op.
 *
 * Each family file in lib/kernels/ (conv.c, unary.c, ...) defines
 *     int synap_<family>_infer(struct synap_kctx *c);
 *     int synap_<family>_run(struct synap_kctx *c);
 * and dispatches on c->node->op. ops.h says which op belongs to which family.
 *
 * infer: c->in[i] has dtype and shape; in[i].data is non-NULL only when the
 *   input is a constant (so Reshape can read its shape argument). An omitted
 *   optional input (or one beyond ninputs) has dtype SYNAP_DTYPE_UNDEFINED.
 *   infer fills c->out[j].dtype/rank/dims, may set c->scratch_nbytes (per-run
 *   scratch memory the run needs), and validates attributes and shapes.
 *   Errors: return synap_errf(c->err, "input 1: expected rank 4, got 3");
 *   the caller prefixes the file and "node 'X' (Op): ".
 * run: every in[i].data and out[j].data is set (outputs pre-allocated with
 *   the inferred shape); c->scratch has c->scratch_nbytes bytes, 64-aligned.
 *   An omitted optional output (node->outputs[j] == SYNAP_NONE) still gets a
 *   buffer of its inferred shape; kernels may write it or skip it.
 *   run allocates nothing, must be deterministic (no thread-count-dependent
 *   reduction order), and may use c->pool to split work.
 *
 * Float kernels compute in float32 (float16/bfloat16 inputs are converted);
 * float64 inputs may be computed in double. Integer dtypes are supported
 * where ONNX defines the op on them and shape arithmetic needs them.
 */
#ifndef SYNAP_KERNEL_H
#define SYNAP_KERNEL_H

#include "ir/ir.h"
#include "kernels/threadpool.h"

/* A tensor's run-time view. */
struct synap_value {
    enum synap_dtype dtype; /* UNDEFINED for an omitted optional input */
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    void *data; /* NULL in infer for non-constant inputs */
};

struct synap_kctx {
    const struct synap_graph *graph; /* for SYNAP_ATTR_TENSOR attributes */
    const struct synap_node *node;
    const struct synap_value *in;
    size_t nin;
    struct synap_value *out;
    size_t nout;
    size_t scratch_nbytes;   /* set by infer */
    void *scratch;           /* given to run */
    struct synap_pool *pool; /* may be NULL: run single-threaded */
    struct synap_err *err;
};

typedef int (*synap_kernel_fn)(struct synap_kctx *c);

struct synap_kernel {
    synap_kernel_fn infer;
    synap_kernel_fn run;
};

/* The kernels of an op (never NULL for a valid op). */
const struct synap_kernel *synap_kernel_get(enum synap_op op);

/* Declarations of every family's entry points, generated from ops.h. */
#define SYNAP_FAMILY_DECL(f)                                                                       \
    int synap_##f##_infer(struct synap_kctx *c);                                                   \
    int synap_##f##_run(struct synap_kctx *c);
SYNAP_FAMILY_DECL(conv)
SYNAP_FAMILY_DECL(pool)
SYNAP_FAMILY_DECL(unary)
SYNAP_FAMILY_DECL(cast)
SYNAP_FAMILY_DECL(binary)
SYNAP_FAMILY_DECL(matmul)
SYNAP_FAMILY_DECL(norm)
SYNAP_FAMILY_DECL(softmax)
SYNAP_FAMILY_DECL(reduce)
SYNAP_FAMILY_DECL(loss)
SYNAP_FAMILY_DECL(shape)
SYNAP_FAMILY_DECL(movement)
SYNAP_FAMILY_DECL(resize)
SYNAP_FAMILY_DECL(index)
SYNAP_FAMILY_DECL(quant)
SYNAP_FAMILY_DECL(rnn)
SYNAP_FAMILY_DECL(detect)
SYNAP_FAMILY_DECL(svdf)
SYNAP_FAMILY_DECL(lstm_int)
#undef SYNAP_FAMILY_DECL

/* ---- helpers shared by kernels (lib/kernels/common.c) ------------------- */

int64_t synap_value_nelem(const struct synap_value *v);
/* The input exists (not omitted). */
static inline int synap_has_input(const struct synap_kctx *c, size_t i)
{
    return i < c->nin && c->in[i].dtype != SYNAP_DTYPE_UNDEFINED;
}
/* Reads element i of any numeric dtype as double / int64. */
double synap_value_get_f64(const struct synap_value *v, int64_t i);
int64_t synap_value_get_i64(const struct synap_value *v, int64_t i);
/* Writes element i of any numeric dtype (float → int truncates like a C cast;
 * bool is v != 0). */
void synap_value_set_f64(struct synap_value *v, int64_t i, double x);
void synap_value_set_i64(struct synap_value *v, int64_t i, int64_t x);

/* Element access with float32/float64 fast paths (the kernels' inner loops
 * read mostly those), everything else through the general functions. */
static inline double synap_ld(const struct synap_value *v, int64_t i)
{
    if (v->dtype == SYNAP_DTYPE_FLOAT32) return ((const float *)v->data)[i];
    if (v->dtype == SYNAP_DTYPE_FLOAT64) return ((const double *)v->data)[i];
    return synap_value_get_f64(v, i);
}
static inline void synap_st(struct synap_value *v, int64_t i, double x)
{
    if (v->dtype == SYNAP_DTYPE_FLOAT32)
        ((float *)v->data)[i] = (float)x;
    else if (v->dtype == SYNAP_DTYPE_FLOAT64)
        ((double *)v->data)[i] = x;
    else
        synap_value_set_f64(v, i, x);
}

/* A constant integer input (int32/int64) as int64s: fills *vals (borrowed
 * when the input is int64, otherwise written into `tmp`) and returns the
 * count, at most ntmp, or -1 with an error naming the input when it is not
 * constant / not integer / longer than ntmp. */
int64_t synap_const_ints(struct synap_kctx *c, size_t i, const char *what, int64_t *tmp,
                         size_t ntmp, const int64_t **vals);

/* numpy broadcasting of shapes a and b into out; -1 with error if incompatible. */
int synap_broadcast_shape(struct synap_err *err, int ra, const int64_t *da, int rb,
                          const int64_t *db, int *rout, int64_t *dout);
/* Row-major strides of a shape broadcast to `rank` dims (0 for broadcast dims). */
void synap_broadcast_strides(int r, const int64_t *dims, int rank, const int64_t *out_dims,
                             int64_t *strides);

/* Normalizes a possibly negative axis into [0, rank); -1 with error if out of range. */
int synap_norm_axis(struct synap_err *err, int64_t axis, int rank, int64_t *out);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float synap_f16_to_f32(uint16_t h);
uint16_t synap_f32_to_f16(float f);
float synap_bf16_to_f32(uint16_t h);
uint16_t synap_f32_to_bf16(float f);

/* Copies in → out converting between any two dtypes (ONNX Cast semantics for
 * numbers: float→int truncates toward zero, →bool is x != 0). */
void synap_convert(enum synap_dtype to, void *dst, enum synap_dtype from, const void *src,
                   int64_t n);

#endif
