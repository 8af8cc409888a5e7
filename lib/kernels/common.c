/* Helpers shared by every kernel family: element access across dtypes,
 * broadcasting, axes, half-precision conversion and dtype conversion. */
#include <math.h>
#include <string.h>

#include "kernels/kernel.h"

int64_t synap_value_nelem(const struct synap_value *v)
{
    return synap_shape_nelem(v->rank, v->dims);
}

float synap_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t synap_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exp: correct */
    return (uint16_t)(sign | half);
}

float synap_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t synap_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

double synap_value_get_f64(const struct synap_value *v, int64_t i)
{
    const void *d = v->data;
    switch (v->dtype) {
    case SYNAP_DTYPE_FLOAT32: return ((const float *)d)[i];
    case SYNAP_DTYPE_FLOAT64: return ((const double *)d)[i];
    case SYNAP_DTYPE_FLOAT16: return synap_f16_to_f32(((const uint16_t *)d)[i]);
    case SYNAP_DTYPE_BFLOAT16: return synap_bf16_to_f32(((const uint16_t *)d)[i]);
    case SYNAP_DTYPE_INT8: return ((const int8_t *)d)[i];
    case SYNAP_DTYPE_UINT8: return ((const uint8_t *)d)[i];
    case SYNAP_DTYPE_INT16: return ((const int16_t *)d)[i];
    case SYNAP_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case SYNAP_DTYPE_INT32: return ((const int32_t *)d)[i];
    case SYNAP_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case SYNAP_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case SYNAP_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    case SYNAP_DTYPE_BOOL: return ((const uint8_t *)d)[i] != 0;
    default: return 0;
    }
}

/* float -> int64 without UB: NaN gives 0, out-of-range saturates */
static int64_t f64_to_i64(double x)
{
    if (isnan(x)) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

int64_t synap_value_get_i64(const struct synap_value *v, int64_t i)
{
    const void *d = v->data;
    switch (v->dtype) {
    case SYNAP_DTYPE_INT8: return ((const int8_t *)d)[i];
    case SYNAP_DTYPE_UINT8: return ((const uint8_t *)d)[i];
    case SYNAP_DTYPE_INT16: return ((const int16_t *)d)[i];
    case SYNAP_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case SYNAP_DTYPE_INT32: return ((const int32_t *)d)[i];
    case SYNAP_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case SYNAP_DTYPE_INT64: return ((const int64_t *)d)[i];
    case SYNAP_DTYPE_UINT64: return (int64_t)((const uint64_t *)d)[i];
    case SYNAP_DTYPE_BOOL: return ((const uint8_t *)d)[i] != 0;
    default: return f64_to_i64(synap_value_get_f64(v, i));
    }
}

/* Integer conversions of out-of-range floats: saturate (NaN -> 0), so that
 * Cast never hits C's undefined behaviour. */
#define SAT(T, lo, hi)                                                                             \
    static T sat_##T(double x)                                                                     \
    {                                                                                              \
        if (isnan(x)) return 0;                                                                    \
        if (x <= (double)(lo)) return (T)(lo);                                                     \
        if (x >= (double)(hi)) return (T)(hi);                                                     \
        return (T)x;                                                                               \
    }
SAT(int8_t, INT8_MIN, INT8_MAX)
SAT(uint8_t, 0, UINT8_MAX)
SAT(int16_t, INT16_MIN, INT16_MAX)
SAT(uint16_t, 0, UINT16_MAX)
SAT(int32_t, INT32_MIN, INT32_MAX)
SAT(uint32_t, 0, UINT32_MAX)
#undef SAT
static uint64_t sat_uint64_t(double x)
{
    if (isnan(x) || x <= 0) return 0;
    if (x >= 18446744073709551615.0) return UINT64_MAX;
    return (uint64_t)x;
}

void synap_value_set_f64(struct synap_value *v, int64_t i, double x)
{
    void *d = v->data;
    switch (v->dtype) {
    case SYNAP_DTYPE_FLOAT32: ((float *)d)[i] = (float)x; break;
    case SYNAP_DTYPE_FLOAT64: ((double *)d)[i] = x; break;
    case SYNAP_DTYPE_FLOAT16: ((uint16_t *)d)[i] = synap_f32_to_f16((float)x); break;
    case SYNAP_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = synap_f32_to_bf16((float)x); break;
    case SYNAP_DTYPE_INT8: ((int8_t *)d)[i] = sat_int8_t(x); break;
    case SYNAP_DTYPE_UINT8: ((uint8_t *)d)[i] = sat_uint8_t(x); break;
    case SYNAP_DTYPE_INT16: ((int16_t *)d)[i] = sat_int16_t(x); break;
    case SYNAP_DTYPE_UINT16: ((uint16_t *)d)[i] = sat_uint16_t(x); break;
    case SYNAP_DTYPE_INT32: ((int32_t *)d)[i] = sat_int32_t(x); break;
    case SYNAP_DTYPE_UINT32: ((uint32_t *)d)[i] = sat_uint32_t(x); break;
    case SYNAP_DTYPE_INT64: ((int64_t *)d)[i] = f64_to_i64(x); break;
    case SYNAP_DTYPE_UINT64: ((uint64_t *)d)[i] = sat_uint64_t(x); break;
    case SYNAP_DTYPE_BOOL: ((uint8_t *)d)[i] = x != 0; break;
    default: break;
    }
}

void synap_value_set_i64(struct synap_value *v, int64_t i, int64_t x)
{
    void *d = v->data;
    switch (v->dtype) {
    /* integer → narrower integer wraps, as ONNX Cast (numpy astype) does */
    case SYNAP_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)(uint8_t)x; break;
    case SYNAP_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)x; break;
    case SYNAP_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)(uint16_t)x; break;
    case SYNAP_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)x; break;
    case SYNAP_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)(uint32_t)x; break;
    case SYNAP_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)x; break;
    case SYNAP_DTYPE_INT64: ((int64_t *)d)[i] = x; break;
    case SYNAP_DTYPE_UINT64: ((uint64_t *)d)[i] = (uint64_t)x; break;
    case SYNAP_DTYPE_BOOL: ((uint8_t *)d)[i] = x != 0; break;
    default: synap_value_set_f64(v, i, (double)x); break;
    }
}

void synap_convert(enum synap_dtype to, void *dst, enum synap_dtype from, const void *src,
                   int64_t n)
{
    if (to == from) {
        memcpy(dst, src, (size_t)n * synap_dtype_size(to));
        return;
    }
    struct synap_value s = {.dtype = from, .data = (void *)src};
    struct synap_value d = {.dtype = to, .data = dst};
    if (from == SYNAP_DTYPE_FLOAT32 && to == SYNAP_DTYPE_FLOAT16) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = synap_f32_to_f16(((const float *)src)[i]);
        return;
    }
    if (from == SYNAP_DTYPE_FLOAT16 && to == SYNAP_DTYPE_FLOAT32) {
        for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = synap_f16_to_f32(((const uint16_t *)src)[i]);
        return;
    }
    bool int_src = synap_dtype_is_int(from) || from == SYNAP_DTYPE_BOOL;
    bool int_dst = synap_dtype_is_int(to) || to == SYNAP_DTYPE_BOOL;
    if (int_src && int_dst) { /* exact, wrapping like numpy's astype */
        for (int64_t i = 0; i < n; i++) synap_value_set_i64(&d, i, synap_value_get_i64(&s, i));
        return;
    }
    for (int64_t i = 0; i < n; i++) synap_value_set_f64(&d, i, synap_value_get_f64(&s, i));
}

int64_t synap_const_ints(struct synap_kctx *c, size_t i, const char *what, int64_t *tmp,
                         size_t ntmp, const int64_t **vals)
{
    if (!synap_has_input(c, i)) return synap_errf(c->err, "input %zu (%s) is missing", i, what);
    const struct synap_value *v = &c->in[i];
    if (!v->data)
        return synap_errf(c->err, "input %zu (%s) must be a constant (the graph must have static "
                                  "shapes)",
                          i, what);
    if (v->dtype != SYNAP_DTYPE_INT64 && v->dtype != SYNAP_DTYPE_INT32)
        return synap_errf(c->err, "input %zu (%s): expected int64 or int32, got %s", i, what,
                          synap_dtype_name(v->dtype));
    int64_t n = synap_value_nelem(v);
    if (n < 0) return synap_errf(c->err, "input %zu (%s): bad shape", i, what);
    if ((size_t)n > ntmp)
        return synap_errf(c->err, "input %zu (%s): %lld values, at most %zu supported", i, what,
                          (long long)n, ntmp);
    if (v->dtype == SYNAP_DTYPE_INT64) {
        *vals = v->data;
        return n;
    }
    for (int64_t k = 0; k < n; k++) tmp[k] = ((const int32_t *)v->data)[k];
    *vals = tmp;
    return n;
}

int synap_broadcast_shape(struct synap_err *err, int ra, const int64_t *da, int rb,
                          const int64_t *db, int *rout, int64_t *dout)
{
    int r = ra > rb ? ra : rb;
    if (r > SYNAP_MAX_RANK) return synap_errf(err, "broadcast rank %d exceeds %d", r, SYNAP_MAX_RANK);
    for (int i = 0; i < r; i++) {
        int64_t a = i - (r - ra) >= 0 ? da[i - (r - ra)] : 1;
        int64_t b = i - (r - rb) >= 0 ? db[i - (r - rb)] : 1;
        if (a == b || b == 1)
            dout[i] = a;
        else if (a == 1)
            dout[i] = b;
        else {
            char sa[160], sb[160];
            return synap_errf(err, "shapes %s and %s do not broadcast",
                              synap_shape_str(ra, da, sa, sizeof sa),
                              synap_shape_str(rb, db, sb, sizeof sb));
        }
    }
    *rout = r;
    return 0;
}

void synap_broadcast_strides(int r, const int64_t *dims, int rank, const int64_t *out_dims,
                             int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int k = i - (rank - r);
        if (k < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (dims[k] == 1 && out_dims[i] != 1) ? 0 : s;
        if (dims[k] == 1) strides[i] = 0;
        s *= dims[k];
    }
}

int synap_norm_axis(struct synap_err *err, int64_t axis, int rank, int64_t *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        return synap_errf(err, "axis %lld out of range for rank %d", (long long)axis, rank);
    *out = a;
    return 0;
}
