/* Integer arithmetic of the NPU simulation: fixed-point multipliers,
 * requantization and the helpers every integer kernel shares.
 *
 * THE RULE. TFLite's reference integer arithmetic is the NPU arithmetic:
 *   - A real multiplier M (s_in * s_w / s_out for Conv/Gemm, s_in / s_out
 *     for a requantization, or the op's own equivalent) is quantized by
 *     synap_q_quantize_multiplier (TFLite's QuantizeMultiplier): frexp gives
 *     M = q * 2^shift with q in [0.5, 1); the Q31 mantissa round(q * 2^31)
 *     rounds half away from zero; a mantissa of exactly 2^31 becomes 2^30
 *     with shift + 1; shift < -31 gives multiplier 0.
 *   - It is applied by synap_q_mul (MultiplyByQuantizedMultiplier):
 *     RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left_shift,
 *     M0), right_shift), left_shift = max(shift, 0), right_shift =
 *     max(-shift, 0). SRDHM rounds half away from zero; RDBPOT rounds half
 *     away from zero.
 *   - Except on one path, where the TFLite runtime itself rounds once: a
 *     Conv with int8 input and one group (TFLite CONV_2D) and Gemm/MatMul
 *     with int8 input and constant weights (FULLY_CONNECTED). TFLite runs
 *     these through its int8 GEMM (ruy), whose multiplier is applied by
 *     synap_q_mul_single: (x * M0 + 2^(30 - shift)) >> (31 - shift). Depth-
 *     wise and grouped convolutions, uint8 (gemmlowp) and int16 keep the
 *     double rounding. (Measured against the TFLite interpreter:
 *     bench/tflite_runtime/run.sh.)
 *   - 8-bit activations (uint8 asymmetric "legacy" per tensor, int8 with
 *     per-channel int8 weights) accumulate in int32; int16 activations with
 *     int8 weights accumulate in int64 and are rescaled by synap_q_mul64
 *     (TFLite's int64 MultiplyByQuantizedMultiplier: the multiplier reduced
 *     to 16 bits, one rounding shift).
 *   - Results saturate to the output type and, where an op has one, to its
 *     clamp range (Relu, Clip: the float bounds quantized on the output
 *     scale, round half away from zero, as TFLite's activation ranges).
 * Where TFLite's C++ would overflow int32 (undefined behaviour there), these
 * functions saturate instead; no realistic model reaches those cases.
 *
 * Which multiplier: Conv/ConvTranspose with uint8 input and Gemm/MatMul with
 * per-tensor weights use TFLite's legacy form (double)((float)s_in * s_w) /
 * s_out; per-channel convolutions and fully-connected layers use the double
 * product s_in * s_w[c] / s_out (TFLite's PopulateConvolutionQuantization
 * Params). Per-op methods are documented in the kernels (conv.c, matmul.c,
 * binary.c, pool.c, reduce.c, unary.c, softmax.c, movement.c, resize.c,
 * quant.c; Div, HardSigmoid and BatchNormalization in qkernels.c).
 *
 * Dispatch: a node runs an integer kernel when its input 0 tensor has an
 * integer dtype and a quant record (synap_q_node). Its output dtype and
 * quantization come from the graph's output tensor, which must be an
 * integer type with a quant record; infer leaves that dtype as declared.
 * ONNX's own integer ops (QLinearConv, QLinearMatMul, QuantizeLinear and
 * DequantizeLinear without quant records) keep ONNX's arithmetic in quant.c.
 */
#ifndef SYNAP_QMATH_H
#define SYNAP_QMATH_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* ---- fixed-point primitives (exact TFLite/gemmlowp semantics) ---------- */

/* Arithmetic shift right of a signed value, portable for negatives. */
static inline int64_t synap_q_asr64(int64_t x, int e)
{
    return x >= 0 ? x >> e : -1 - ((-1 - x) >> e);
}

/* gemmlowp SaturatingRoundingDoublingHighMul for int32. */
int32_t synap_q_srdhm(int32_t a, int32_t b);
/* gemmlowp RoundingDivideByPOT, 0 <= e <= 31 (round half away from zero). */
int32_t synap_q_rdbpot(int32_t x, int e);
/* TFLite QuantizeMultiplier: m = mult * 2^(shift - 31). m may be negative
 * (LeakyRelu with negative alpha). */
void synap_q_quantize_multiplier(double m, int32_t *mult, int *shift);
/* TFLite MultiplyByQuantizedMultiplier (int32 x); the left shift saturates.
 * Double rounding (SRDHM, then RDBPOT), as TFLite's reference kernels, TFLM
 * and gemmlowp. */
int32_t synap_q_mul(int32_t x, int32_t mult, int shift);
/* ruy's MultiplyByQuantizedMultiplier (the TFLite runtime's int8 GEMM:
 * Conv and FullyConnected with int8 activations): one rounding,
 * (x * mult + 2^(30 - shift)) >> (31 - shift), half toward +infinity. */
int32_t synap_q_mul_single(int32_t x, int32_t mult, int shift);
/* TFLite's int64 variant (int16x8 kernels): reduced 16-bit multiplier. */
int32_t synap_q_mul64(int64_t x, int32_t mult, int shift);
/* ReduceMean's (TFLite MEAN's) rule for the sum acc of count values q - zi:
 * rescaled by the multiplier (si / so; synap_q_mul64 when wide, 16-bit
 * inputs), then divided by count rounding half away from zero (0 when
 * count is 0). The output zero point is still to be added. */
int64_t synap_q_mean(int64_t acc, int64_t count, int32_t mult, int shift, int wide);
/* Saturates an int64 to int32. */
static inline int32_t synap_q_sat32(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}
/* TfLiteRound: round half away from zero (float and double). */
float synap_q_roundf(float x);

/* ---- tensors --------------------------------------------------------------- */

/* The node reads quantized integers: input 0 is an integer tensor with a
 * quant record. */
bool synap_q_node(const struct synap_kctx *c);
/* Quant record of input i / output j, or NULL. */
const struct synap_quant *synap_q_in(const struct synap_kctx *c, size_t i);
const struct synap_quant *synap_q_out(const struct synap_kctx *c, size_t j);
/* Value range of an integer dtype; false when t is not an 8/16/32-bit int. */
bool synap_q_range(enum synap_dtype t, int32_t *lo, int32_t *hi);
/* Reads element i of an integer tensor as int32 (uint32 and int64
 * saturate; 0 for other dtypes). Inline: the integer kernels' inner loops
 * call it. */
static inline int32_t synap_q_load(enum synap_dtype t, const void *p, int64_t i)
{
    switch (t) {
    case SYNAP_DTYPE_INT8:
        return ((const int8_t *)p)[i];
    case SYNAP_DTYPE_UINT8:
        return ((const uint8_t *)p)[i];
    case SYNAP_DTYPE_INT16:
        return ((const int16_t *)p)[i];
    case SYNAP_DTYPE_UINT16:
        return ((const uint16_t *)p)[i];
    case SYNAP_DTYPE_INT32:
        return ((const int32_t *)p)[i];
    case SYNAP_DTYPE_UINT32: {
        uint32_t v = ((const uint32_t *)p)[i];
        return v > INT32_MAX ? INT32_MAX : (int32_t)v;
    }
    case SYNAP_DTYPE_INT64:
        return synap_q_sat32(((const int64_t *)p)[i]);
    default:
        return 0;
    }
}

/* Stores v saturated to the dtype's range. */
void synap_q_store(enum synap_dtype t, void *p, int64_t i, int32_t v);

/* For infer: sets output j to the declared graph tensor's dtype with the
 * given shape; fails unless it is an integer type with a quant record. */
int synap_q_set_out(struct synap_kctx *c, size_t j, int rank, const int64_t *dims);
/* For infer: runs a float kernel's infer with every quantized integer input
 * (and an integer bias in slot `bias_slot`, -1 for none) seen as float32
 * (data hidden), keeps its shapes and scratch, then gives each output the
 * declared dtype as synap_q_set_out does. */
int synap_q_infer_as_float(struct synap_kctx *c, synap_kernel_fn infer, int bias_slot);
/* Checks that input i is quantized per tensor (one scale); names it. */
int synap_q_per_tensor(struct synap_kctx *c, const struct synap_quant *q, const char *what);

/* TFLite AffineQuantize of one float: round(x / scale) (half away from
 * zero, in float) + zp, saturated to [lo, hi]. NaN gives the zero point. */
int32_t synap_q_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi);
/* TFLite CalculateActivationRangeQuantized for a clamp [flo, fhi] on the
 * output's scale: bounds intersected with [*lo, *hi] (the type range). */
void synap_q_act_range(const struct synap_quant *out, float flo, float fhi, int32_t *lo,
                       int32_t *hi);
/* Requantizes n elements from (s_in, zp_in) to (s_out, zp_out) the way
 * TFLite's Requantize does (exact copy when the parameters agree). */
void synap_q_requantize(enum synap_dtype tin, const void *src, const struct synap_quant *qin,
                        enum synap_dtype tout, void *dst, const struct synap_quant *qout,
                        int64_t n);
/* An affine requantization y = round(m * v + b), v an integer (|v| < 2^31),
 * m and b real, with ONE rounding (half away from zero): m is quantized as
 * TFLite's QuantizeMultiplier (mult, shift) and applied in int64 together
 * with b held on the same 2^-(31 - shift) grid. Kernels with no TFLite
 * counterpart that are a per-element (or per-channel) affine map use it:
 * BatchNormalization, HardSigmoid. The result saturates to int32. */
struct synap_q_affine {
    int64_t mult, off;
    int rshift;
};
/* Fails (returns -1) when |m| >= 2^31 or m, b are not finite. */
int synap_q_affine_init(struct synap_q_affine *a, double m, double b);
int32_t synap_q_affine_apply(const struct synap_q_affine *a, int32_t v);

/* Same parameters (scale bits and zero point) on two per-tensor records. */
bool synap_q_same(const struct synap_quant *a, const struct synap_quant *b);

/* ---- integer kernels (qkernels.c) ----------------------------------------- */

/* Entry points the family files call when synap_q_node(c): infer runs the
 * family's float infer for shapes (synap_q_infer_as_float) after checking
 * that the op has an integer kernel; run computes. */
int synap_q_infer(struct synap_kctx *c, synap_kernel_fn float_infer);
int synap_q_run(struct synap_kctx *c);

#endif
