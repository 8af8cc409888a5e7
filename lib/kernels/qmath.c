/* The NPU's fixed-point arithmetic (TFLite's reference integer rules, see
 * qmath.h) and the tensor helpers shared by the integer kernels. */
#include <math.h>
#include <string.h>

#include "kernels/qmath.h"

int32_t synap_q_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (1 << 30) : 1 - (1 << 30);
    /* C division truncates toward zero, as C++'s does in gemmlowp. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t synap_q_rdbpot(int32_t x, int e)
{
    if (e <= 0) return x;
    if (e > 31) e = 31;
    uint32_t mask = (uint32_t)(((uint64_t)1 << e) - 1);
    uint32_t rem = (uint32_t)x & mask;
    uint32_t threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
    return (int32_t)(synap_q_asr64(x, e) + (rem > threshold ? 1 : 0));
}

void synap_q_quantize_multiplier(double m, int32_t *mult, int *shift)
{
    if (m == 0.0 || !isfinite(m)) {
        *mult = 0;
        *shift = 0;
        return;
    }
    int sh;
    double q = frexp(m, &sh);
    int64_t qf = (int64_t)round(q * 2147483648.0); /* half away from zero */
    if (qf == ((int64_t)1 << 31)) {
        qf /= 2;
        sh++;
    }
    if (sh < -31) { /* every bit would be shifted out: TFLite flushes to 0 */
        sh = 0;
        qf = 0;
    }
    *mult = (int32_t)qf;
    *shift = sh;
}

int32_t synap_q_mul(int32_t x, int32_t mult, int shift)
{
    int ls = shift > 0 ? shift : 0, rs = shift > 0 ? 0 : -shift;
    int64_t v = x;
    if (ls > 31) {
        v = x > 0 ? INT32_MAX : x < 0 ? INT32_MIN : 0;
    } else {
        v = synap_q_sat32(v * ((int64_t)1 << ls));
    }
    return synap_q_rdbpot(synap_q_srdhm((int32_t)v, mult), rs);
}

int32_t synap_q_mul_single(int32_t x, int32_t mult, int shift)
{
    int total = 31 - shift;
    if (total < 1) { /* a multiplier >= 2^30: outside ruy's range, saturate */
        int64_t v = (int64_t)x * mult;
        return v > 0 ? INT32_MAX : v < 0 ? INT32_MIN : 0;
    }
    if (total > 62) return 0;
    int64_t v = (int64_t)x * mult + ((int64_t)1 << (total - 1));
    return synap_q_sat32(synap_q_asr64(v, total));
}

int32_t synap_q_mul64(int64_t x, int32_t mult, int shift)
{
    const int64_t lim = (int64_t)1 << 47; /* TFLite's assumed input range */
    if (x >= lim) x = lim - 1;
    if (x < -lim) x = -lim;
    int64_t reduced = mult < 0x7FFF0000 ? ((int64_t)mult + (1 << 15)) >> 16 : 0x7FFF;
    int total = 15 - shift;
    if (total < 1) total = 1; /* shift > 14 is outside TFLite's range too */
    if (total > 62) return 0;
    int64_t v = x * reduced + ((int64_t)1 << (total - 1));
    return synap_q_sat32(synap_q_asr64(v, total));
}

int64_t synap_q_mean(int64_t acc, int64_t count, int32_t mult, int shift, int wide)
{
    int64_t v =
        wide ? synap_q_mul64(acc, mult, shift) : synap_q_mul(synap_q_sat32(acc), mult, shift);
    return count == 0 ? 0 : v > 0 ? (v + count / 2) / count : (v - count / 2) / count;
}

float synap_q_roundf(float x)
{
    return roundf(x);
}

/* ---- tensors ----------------------------------------------------------- */

static const struct synap_tensor *in_tensor(const struct synap_kctx *c, size_t i)
{
    if (!c->graph || !c->node || i >= c->node->ninputs) return NULL;
    uint32_t t = c->node->inputs[i];
    return t == SYNAP_NONE || t >= c->graph->ntensors ? NULL : &c->graph->tensors[t];
}

static const struct synap_tensor *out_tensor(const struct synap_kctx *c, size_t j)
{
    if (!c->graph || !c->node || j >= c->node->noutputs) return NULL;
    uint32_t t = c->node->outputs[j];
    return t == SYNAP_NONE || t >= c->graph->ntensors ? NULL : &c->graph->tensors[t];
}

const struct synap_quant *synap_q_in(const struct synap_kctx *c, size_t i)
{
    const struct synap_tensor *t = in_tensor(c, i);
    return t && t->quant && t->quant->nparams ? t->quant : NULL;
}

const struct synap_quant *synap_q_out(const struct synap_kctx *c, size_t j)
{
    const struct synap_tensor *t = out_tensor(c, j);
    return t && t->quant && t->quant->nparams ? t->quant : NULL;
}

bool synap_q_node(const struct synap_kctx *c)
{
    return c->nin > 0 && synap_dtype_is_int(c->in[0].dtype) && synap_q_in(c, 0) != NULL;
}

bool synap_q_range(enum synap_dtype t, int32_t *lo, int32_t *hi)
{
    switch (t) {
    case SYNAP_DTYPE_INT8:
        *lo = INT8_MIN, *hi = INT8_MAX;
        return true;
    case SYNAP_DTYPE_UINT8:
        *lo = 0, *hi = UINT8_MAX;
        return true;
    case SYNAP_DTYPE_INT16:
        *lo = INT16_MIN, *hi = INT16_MAX;
        return true;
    case SYNAP_DTYPE_UINT16:
        *lo = 0, *hi = UINT16_MAX;
        return true;
    case SYNAP_DTYPE_INT32:
        *lo = INT32_MIN, *hi = INT32_MAX;
        return true;
    default:
        *lo = *hi = 0;
        return false;
    }
}

void synap_q_store(enum synap_dtype t, void *p, int64_t i, int32_t v)
{
    int32_t lo, hi;
    if (!synap_q_range(t, &lo, &hi)) return;
    v = v < lo ? lo : v > hi ? hi : v;
    switch (t) {
    case SYNAP_DTYPE_INT8:
        ((int8_t *)p)[i] = (int8_t)v;
        return;
    case SYNAP_DTYPE_UINT8:
        ((uint8_t *)p)[i] = (uint8_t)v;
        return;
    case SYNAP_DTYPE_INT16:
        ((int16_t *)p)[i] = (int16_t)v;
        return;
    case SYNAP_DTYPE_UINT16:
        ((uint16_t *)p)[i] = (uint16_t)v;
        return;
    case SYNAP_DTYPE_INT32:
        ((int32_t *)p)[i] = v;
        return;
    default:
        return;
    }
}

int synap_q_set_out(struct synap_kctx *c, size_t j, int rank, const int64_t *dims)
{
    if (j >= c->nout) return synap_errf(c->err, "missing output %zu", j);
    struct synap_value *o = &c->out[j];
    const struct synap_tensor *t = out_tensor(c, j);
    enum synap_dtype dt = c->in[0].dtype;
    if (t) {
        if (!synap_q_out(c, j))
            return synap_errf(c->err,
                              "output %zu ('%s'): a quantized node needs quantization "
                              "parameters on its output",
                              j, t->name);
        /* An importer may leave the dtype to inference: keep the input's. */
        if (t->dtype != SYNAP_DTYPE_UNDEFINED) dt = t->dtype;
        int32_t lo, hi;
        if (!synap_q_range(dt, &lo, &hi) || dt == SYNAP_DTYPE_INT32)
            return synap_errf(c->err,
                              "output %zu ('%s'): quantized output must be an 8/16-bit "
                              "integer, got %s",
                              j, t->name, synap_dtype_name(dt));
    }
    if (rank < 0 || rank > SYNAP_MAX_RANK)
        return synap_errf(c->err, "output %zu: rank %d out of range", j, rank);
    o->dtype = dt;
    o->rank = rank;
    if (dims != o->dims && rank > 0) memmove(o->dims, dims, (size_t)rank * sizeof *dims);
    return 0;
}

int synap_q_infer_as_float(struct synap_kctx *c, synap_kernel_fn infer, int bias_slot)
{
    struct synap_value in[256];
    if (c->nin > 256) return synap_errf(c->err, "too many inputs");
    for (size_t i = 0; i < c->nin; i++) {
        in[i] = c->in[i];
        bool q =
            synap_dtype_is_int(in[i].dtype) && (synap_q_in(c, i) != NULL || (int)i == bias_slot);
        if (q) {
            in[i].dtype = SYNAP_DTYPE_FLOAT32;
            in[i].data = NULL;
        }
    }
    struct synap_kctx f = *c;
    f.in = in;
    if (infer(&f) < 0) return -1;
    c->scratch_nbytes = f.scratch_nbytes;
    for (size_t j = 0; j < c->nout; j++)
        if (synap_dtype_is_float(c->out[j].dtype) &&
            synap_q_set_out(c, j, c->out[j].rank, c->out[j].dims) < 0)
            return -1;
    return 0;
}

int synap_q_per_tensor(struct synap_kctx *c, const struct synap_quant *q, const char *what)
{
    if (!q) return synap_errf(c->err, "%s has no quantization parameters", what);
    if (q->nparams != 1)
        return synap_errf(c->err, "%s: expected per-tensor quantization, got %zu scales", what,
                          q->nparams);
    if (!(q->scale[0] > 0) || !isfinite(q->scale[0]))
        return synap_errf(c->err, "%s: scale %g must be positive", what, (double)q->scale[0]);
    return 0;
}

int32_t synap_q_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    if (isnan(x)) return zp < lo ? lo : zp > hi ? hi : zp;
    float r = roundf(x / scale);
    if (r > 4.0e9f) r = 4.0e9f;
    if (r < -4.0e9f) r = -4.0e9f;
    int64_t v = (int64_t)r + zp;
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

void synap_q_act_range(const struct synap_quant *out, float flo, float fhi, int32_t *lo,
                       int32_t *hi)
{
    float s = out->scale[0];
    int32_t zp = out->zero_point[0];
    if (flo > -INFINITY) {
        int32_t q = synap_q_quantize(flo, s, zp, INT32_MIN, INT32_MAX);
        if (q > *lo) *lo = q;
    }
    if (fhi < INFINITY) {
        int32_t q = synap_q_quantize(fhi, s, zp, INT32_MIN, INT32_MAX);
        if (q < *hi) *hi = q;
    }
}

bool synap_q_same(const struct synap_quant *a, const struct synap_quant *b)
{
    return a && b && a->nparams == 1 && b->nparams == 1 && a->scale[0] == b->scale[0] &&
           a->zero_point[0] == b->zero_point[0];
}

void synap_q_requantize(enum synap_dtype tin, const void *src, const struct synap_quant *qin,
                        enum synap_dtype tout, void *dst, const struct synap_quant *qout, int64_t n)
{
    if (synap_q_same(qin, qout)) {
        for (int64_t i = 0; i < n; i++)
            synap_q_store(tout, dst, i, synap_q_load(tin, src, i));
        return;
    }
    int32_t m;
    int sh;
    synap_q_quantize_multiplier((double)qin->scale[0] / (double)qout->scale[0], &m, &sh);
    int32_t zi = qin->zero_point[0], zo = qout->zero_point[0];
    for (int64_t i = 0; i < n; i++) {
        int32_t d = synap_q_sat32((int64_t)synap_q_load(tin, src, i) - zi);
        synap_q_store(tout, dst, i, synap_q_sat32((int64_t)synap_q_mul(d, m, sh) + zo));
    }
}

int synap_q_affine_init(struct synap_q_affine *a, double m, double b)
{
    if (!isfinite(m) || !isfinite(b) || fabs(m) >= 2147483648.0) return -1;
    int32_t mult;
    int shift;
    synap_q_quantize_multiplier(m, &mult, &shift);
    if (shift > 31) return -1;
    a->mult = mult;
    a->rshift = mult == 0 ? 0 : 31 - shift;
    /* b on the same grid; beyond 2^61 every int32 v * mult saturates the
     * result anyway, so the clamp keeps the int64 sum exact */
    double off = round(ldexp(b, a->rshift));
    const double cap = 2305843009213693952.0; /* 2^61 */
    a->off = off > cap ? (int64_t)1 << 61 : off < -cap ? -((int64_t)1 << 61) : (int64_t)off;
    return 0;
}

int32_t synap_q_affine_apply(const struct synap_q_affine *a, int32_t v)
{
    int64_t t = (int64_t)v * a->mult + a->off; /* |t| < 2^62 + 2^61 */
    if (a->rshift == 0) return synap_q_sat32(t);
    uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    mag = (mag + ((uint64_t)1 << (a->rshift - 1))) >> a->rshift;
    int64_t r = (int64_t)mag; /* < 2^62 */
    return synap_q_sat32(t < 0 ? -r : r);
}
