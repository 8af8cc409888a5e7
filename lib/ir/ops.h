/* The canonical op set: one X-macro table from which the enum, the names,
 * the arity checks and the kernel dispatch are all generated.
 *
 * Semantics. Every op has the semantics, inputs, outputs, attribute names
 * and attribute defaults of the ONNX operator of the same name at opset 17
 * (https://onnx.ai/onnx/operators/). Importers translate every source format
 * and every older opset into that form, for example:
 *   - Slice-1, Pad-2, Split-2, Squeeze-1/11, Unsqueeze-1/11, ReduceSum-1/11,
 *     Clip-6, TopK-1 (attributes) become the opset-17 constant inputs;
 *   - Upsample and Resize-10 become Resize (opset-13 form: X, roi, scales, sizes);
 *   - Softmax, LogSoftmax and Hardmax below opset 13 (flatten to 2-D at `axis`)
 *     are lowered to Reshape + op + Reshape;
 *   - opset-6 legacy broadcasting (broadcast=1, axis=k) becomes numpy broadcasting;
 *   - opset-18 forms of Reduce*, Pad and Split become the opset-17 ones;
 *   - Dropout (inference) and Identity-like ops become Identity; Constant
 *     becomes a constant tensor; If with a constant condition is inlined.
 * Inputs that decide a shape (Reshape's shape, Slice's starts, Expand's
 * shape, ...) must be constant after folding: a static graph is what an NPU
 * runs. Their kernels' shape inference reports a clear error otherwise.
 *
 * OP(ENUM, "Name", family, min_in, max_in, min_out, max_out)
 *   family: the kernel file family in lib/kernels/ that implements it
 *           (synap_<family>_infer / synap_<family>_run dispatch on the op).
 *   max 255 = variadic.
 */
#ifndef SYNAP_OPS_H
#define SYNAP_OPS_H

#define SYNAP_OPS(OP)                                                                              \
    /* conv.c */                                                                                   \
    OP(CONV, "Conv", conv, 2, 3, 1, 1)                                                             \
    OP(CONV_TRANSPOSE, "ConvTranspose", conv, 2, 3, 1, 1)                                          \
    /* pool.c */                                                                                   \
    OP(MAX_POOL, "MaxPool", pool, 1, 1, 1, 2)                                                      \
    OP(AVERAGE_POOL, "AveragePool", pool, 1, 1, 1, 1)                                              \
    OP(LP_POOL, "LpPool", pool, 1, 1, 1, 1)                                                        \
    OP(GLOBAL_AVERAGE_POOL, "GlobalAveragePool", pool, 1, 1, 1, 1)                                 \
    OP(GLOBAL_MAX_POOL, "GlobalMaxPool", pool, 1, 1, 1, 1)                                         \
    OP(GLOBAL_LP_POOL, "GlobalLpPool", pool, 1, 1, 1, 1)                                           \
    /* unary.c: elementwise functions and activations */                                           \
    OP(IDENTITY, "Identity", unary, 1, 1, 1, 1)                                                    \
    OP(RELU, "Relu", unary, 1, 1, 1, 1)                                                            \
    OP(LEAKY_RELU, "LeakyRelu", unary, 1, 1, 1, 1)                                                 \
    OP(THRESHOLDED_RELU, "ThresholdedRelu", unary, 1, 1, 1, 1)                                     \
    OP(SIGMOID, "Sigmoid", unary, 1, 1, 1, 1)                                                      \
    OP(HARD_SIGMOID, "HardSigmoid", unary, 1, 1, 1, 1)                                             \
    OP(HARD_SWISH, "HardSwish", unary, 1, 1, 1, 1)                                                 \
    OP(TANH, "Tanh", unary, 1, 1, 1, 1)                                                            \
    OP(ELU, "Elu", unary, 1, 1, 1, 1)                                                              \
    OP(SELU, "Selu", unary, 1, 1, 1, 1)                                                            \
    OP(CELU, "Celu", unary, 1, 1, 1, 1)                                                            \
    OP(SOFTPLUS, "Softplus", unary, 1, 1, 1, 1)                                                    \
    OP(SOFTSIGN, "Softsign", unary, 1, 1, 1, 1)                                                    \
    OP(MISH, "Mish", unary, 1, 1, 1, 1)                                                            \
    OP(SHRINK, "Shrink", unary, 1, 1, 1, 1)                                                        \
    OP(CLIP, "Clip", unary, 1, 3, 1, 1)                                                            \
    OP(ERF, "Erf", unary, 1, 1, 1, 1)                                                              \
    OP(SQRT, "Sqrt", unary, 1, 1, 1, 1)                                                            \
    OP(EXP, "Exp", unary, 1, 1, 1, 1)                                                              \
    OP(LOG, "Log", unary, 1, 1, 1, 1)                                                              \
    OP(NEG, "Neg", unary, 1, 1, 1, 1)                                                              \
    OP(ABS, "Abs", unary, 1, 1, 1, 1)                                                              \
    OP(RECIPROCAL, "Reciprocal", unary, 1, 1, 1, 1)                                                \
    OP(FLOOR, "Floor", unary, 1, 1, 1, 1)                                                          \
    OP(CEIL, "Ceil", unary, 1, 1, 1, 1)                                                            \
    OP(ROUND, "Round", unary, 1, 1, 1, 1)                                                          \
    OP(SIGN, "Sign", unary, 1, 1, 1, 1)                                                            \
    OP(SIN, "Sin", unary, 1, 1, 1, 1)                                                              \
    OP(COS, "Cos", unary, 1, 1, 1, 1)                                                              \
    OP(TAN, "Tan", unary, 1, 1, 1, 1)                                                              \
    OP(ASIN, "Asin", unary, 1, 1, 1, 1)                                                            \
    OP(ACOS, "Acos", unary, 1, 1, 1, 1)                                                            \
    OP(ATAN, "Atan", unary, 1, 1, 1, 1)                                                            \
    OP(SINH, "Sinh", unary, 1, 1, 1, 1)                                                            \
    OP(COSH, "Cosh", unary, 1, 1, 1, 1)                                                            \
    OP(ASINH, "Asinh", unary, 1, 1, 1, 1)                                                          \
    OP(ACOSH, "Acosh", unary, 1, 1, 1, 1)                                                          \
    OP(ATANH, "Atanh", unary, 1, 1, 1, 1)                                                          \
    OP(NOT, "Not", unary, 1, 1, 1, 1)                                                              \
    OP(IS_NAN, "IsNaN", unary, 1, 1, 1, 1)                                                         \
    OP(IS_INF, "IsInf", unary, 1, 1, 1, 1)                                                         \
    OP(BITWISE_NOT, "BitwiseNot", unary, 1, 1, 1, 1)                                               \
    /* cast.c */                                                                                   \
    OP(CAST, "Cast", cast, 1, 1, 1, 1)                                                             \
    OP(CAST_LIKE, "CastLike", cast, 2, 2, 1, 1)                                                    \
    /* binary.c: numpy-broadcasting elementwise ops */                                            \
    OP(ADD, "Add", binary, 2, 2, 1, 1)                                                             \
    OP(SUB, "Sub", binary, 2, 2, 1, 1)                                                             \
    OP(MUL, "Mul", binary, 2, 2, 1, 1)                                                             \
    OP(DIV, "Div", binary, 2, 2, 1, 1)                                                             \
    OP(POW, "Pow", binary, 2, 2, 1, 1)                                                             \
    OP(MOD, "Mod", binary, 2, 2, 1, 1)                                                             \
    OP(PRELU, "PRelu", binary, 2, 2, 1, 1)                                                         \
    OP(EQUAL, "Equal", binary, 2, 2, 1, 1)                                                         \
    OP(LESS, "Less", binary, 2, 2, 1, 1)                                                           \
    OP(LESS_OR_EQUAL, "LessOrEqual", binary, 2, 2, 1, 1)                                           \
    OP(GREATER, "Greater", binary, 2, 2, 1, 1)                                                     \
    OP(GREATER_OR_EQUAL, "GreaterOrEqual", binary, 2, 2, 1, 1)                                     \
    OP(AND, "And", binary, 2, 2, 1, 1)                                                             \
    OP(OR, "Or", binary, 2, 2, 1, 1)                                                               \
    OP(XOR, "Xor", binary, 2, 2, 1, 1)                                                             \
    OP(BIT_SHIFT, "BitShift", binary, 2, 2, 1, 1)                                                  \
    OP(BITWISE_AND, "BitwiseAnd", binary, 2, 2, 1, 1)                                              \
    OP(BITWISE_OR, "BitwiseOr", binary, 2, 2, 1, 1)                                                \
    OP(BITWISE_XOR, "BitwiseXor", binary, 2, 2, 1, 1)                                              \
    OP(MIN, "Min", binary, 1, 255, 1, 1)                                                           \
    OP(MAX, "Max", binary, 1, 255, 1, 1)                                                           \
    OP(SUM, "Sum", binary, 1, 255, 1, 1)                                                           \
    OP(MEAN, "Mean", binary, 1, 255, 1, 1)                                                         \
    OP(WHERE, "Where", binary, 3, 3, 1, 1)                                                         \
    /* matmul.c */                                                                                 \
    OP(MATMUL, "MatMul", matmul, 2, 2, 1, 1)                                                       \
    OP(GEMM, "Gemm", matmul, 2, 3, 1, 1)                                                           \
    OP(EINSUM, "Einsum", matmul, 1, 255, 1, 1)                                                     \
    /* norm.c */                                                                                   \
    OP(BATCH_NORMALIZATION, "BatchNormalization", norm, 5, 5, 1, 3)                                \
    OP(INSTANCE_NORMALIZATION, "InstanceNormalization", norm, 3, 3, 1, 1)                          \
    OP(LAYER_NORMALIZATION, "LayerNormalization", norm, 2, 3, 1, 3)                                \
    OP(LRN, "LRN", norm, 1, 1, 1, 1)                                                               \
    OP(MEAN_VARIANCE_NORMALIZATION, "MeanVarianceNormalization", norm, 1, 1, 1, 1)                 \
    OP(LP_NORMALIZATION, "LpNormalization", norm, 1, 1, 1, 1)                                      \
    /* softmax.c */                                                                                \
    OP(SOFTMAX, "Softmax", softmax, 1, 1, 1, 1)                                                    \
    OP(LOG_SOFTMAX, "LogSoftmax", softmax, 1, 1, 1, 1)                                             \
    OP(HARDMAX, "Hardmax", softmax, 1, 1, 1, 1)                                                    \
    /* reduce.c */                                                                                 \
    OP(REDUCE_MEAN, "ReduceMean", reduce, 1, 1, 1, 1)                                              \
    OP(REDUCE_MAX, "ReduceMax", reduce, 1, 1, 1, 1)                                                \
    OP(REDUCE_MIN, "ReduceMin", reduce, 1, 1, 1, 1)                                                \
    OP(REDUCE_SUM, "ReduceSum", reduce, 1, 2, 1, 1)                                                \
    OP(REDUCE_PROD, "ReduceProd", reduce, 1, 1, 1, 1)                                              \
    OP(REDUCE_L1, "ReduceL1", reduce, 1, 1, 1, 1)                                                  \
    OP(REDUCE_L2, "ReduceL2", reduce, 1, 1, 1, 1)                                                  \
    OP(REDUCE_SUM_SQUARE, "ReduceSumSquare", reduce, 1, 1, 1, 1)                                   \
    OP(REDUCE_LOG_SUM, "ReduceLogSum", reduce, 1, 1, 1, 1)                                         \
    OP(REDUCE_LOG_SUM_EXP, "ReduceLogSumExp", reduce, 1, 1, 1, 1)                                  \
    OP(ARG_MAX, "ArgMax", reduce, 1, 1, 1, 1)                                                      \
    OP(ARG_MIN, "ArgMin", reduce, 1, 1, 1, 1)                                                      \
    OP(TOP_K, "TopK", reduce, 2, 2, 2, 2)                                                          \
    OP(CUM_SUM, "CumSum", reduce, 2, 2, 1, 1)                                                      \
    /* loss.c */                                                                                   \
    OP(NEGATIVE_LOG_LIKELIHOOD_LOSS, "NegativeLogLikelihoodLoss", loss, 2, 3, 1, 1)                \
    OP(SOFTMAX_CROSS_ENTROPY_LOSS, "SoftmaxCrossEntropyLoss", loss, 2, 3, 1, 2)                    \
    /* shape.c: ops that only reinterpret or inspect a shape */                                    \
    OP(RESHAPE, "Reshape", shape, 2, 2, 1, 1)                                                      \
    OP(FLATTEN, "Flatten", shape, 1, 1, 1, 1)                                                      \
    OP(SQUEEZE, "Squeeze", shape, 1, 2, 1, 1)                                                      \
    OP(UNSQUEEZE, "Unsqueeze", shape, 2, 2, 1, 1)                                                  \
    OP(SHAPE, "Shape", shape, 1, 1, 1, 1)                                                          \
    OP(SIZE, "Size", shape, 1, 1, 1, 1)                                                            \
    /* movement.c: ops that move data */                                                           \
    OP(TRANSPOSE, "Transpose", movement, 1, 1, 1, 1)                                               \
    OP(CONCAT, "Concat", movement, 1, 255, 1, 1)                                                   \
    OP(SPLIT, "Split", movement, 1, 2, 1, 255)                                                     \
    OP(SLICE, "Slice", movement, 3, 5, 1, 1)                                                       \
    OP(PAD, "Pad", movement, 2, 3, 1, 1)                                                           \
    OP(TILE, "Tile", movement, 2, 2, 1, 1)                                                         \
    OP(EXPAND, "Expand", movement, 2, 2, 1, 1)                                                     \
    OP(DEPTH_TO_SPACE, "DepthToSpace", movement, 1, 1, 1, 1)                                       \
    OP(SPACE_TO_DEPTH, "SpaceToDepth", movement, 1, 1, 1, 1)                                       \
    OP(REVERSE_SEQUENCE, "ReverseSequence", movement, 2, 2, 1, 1)                                  \
    /* resize.c */                                                                                 \
    OP(RESIZE, "Resize", resize, 1, 4, 1, 1)                                                       \
    /* index.c: gathers, scatters and generated tensors */                                         \
    OP(GATHER, "Gather", index, 2, 2, 1, 1)                                                        \
    OP(GATHER_ELEMENTS, "GatherElements", index, 2, 2, 1, 1)                                       \
    OP(GATHER_ND, "GatherND", index, 2, 2, 1, 1)                                                   \
    OP(SCATTER_ELEMENTS, "ScatterElements", index, 3, 3, 1, 1)                                     \
    OP(SCATTER_ND, "ScatterND", index, 3, 3, 1, 1)                                                 \
    OP(ONE_HOT, "OneHot", index, 3, 3, 1, 1)                                                       \
    OP(NON_ZERO, "NonZero", index, 1, 1, 1, 1)                                                     \
    OP(TRILU, "Trilu", index, 1, 2, 1, 1)                                                          \
    OP(EYE_LIKE, "EyeLike", index, 1, 1, 1, 1)                                                     \
    OP(RANGE, "Range", index, 3, 3, 1, 1)                                                          \
    OP(CONSTANT_OF_SHAPE, "ConstantOfShape", index, 1, 1, 1, 1)                                    \
    /* quant.c: ONNX's integer ops, so pre-quantized models run */                                 \
    OP(QUANTIZE_LINEAR, "QuantizeLinear", quant, 2, 3, 1, 1)                                       \
    OP(DEQUANTIZE_LINEAR, "DequantizeLinear", quant, 2, 3, 1, 1)                                   \
    OP(DYNAMIC_QUANTIZE_LINEAR, "DynamicQuantizeLinear", quant, 1, 1, 3, 3)                        \
    OP(QLINEAR_CONV, "QLinearConv", quant, 8, 9, 1, 1)                                             \
    OP(QLINEAR_MATMUL, "QLinearMatMul", quant, 8, 8, 1, 1)                                         \
    OP(MATMUL_INTEGER, "MatMulInteger", quant, 2, 4, 1, 1)                                         \
    OP(CONV_INTEGER, "ConvInteger", quant, 2, 4, 1, 1)                                             \
    /* rnn.c */                                                                                    \
    OP(LSTM, "LSTM", rnn, 3, 8, 0, 3)                                                              \
    OP(GRU, "GRU", rnn, 3, 6, 0, 2)                                                                \
    OP(RNN, "RNN", rnn, 3, 6, 0, 2)                                                                \
    /* detect.c: TFLite's SSD post-processing (the cpu delegate runs it) */                         \
    OP(DETECTION_POST_PROCESS, "TFLite_Detection_PostProcess", detect, 3, 3, 4, 4)                 \
    /* svdf.c: TFLite's SVDF. Inputs X [B, I], weights_feature [F, I],                             \
     * weights_time [F, M], bias [F / rank] (optional), state [B, M * F]                           \
     * (optional, zero); attribute rank; output [B, F / rank] */                                   \
    OP(SVDF, "SVDF", svdf, 3, 5, 1, 1)                                                             \
    /* lstm_int.c: TFLite's integer UNIDIRECTIONAL_SEQUENCE_LSTM (int8 x,                          \
     * weights and hidden state, int16 cell state). Inputs in TFLite's                             \
     * order 0-19 (peepholes 9-11 and projection 16-17 omitted), states 18-19;                     \
     * attributes time_major, cell_clip; output int8 [B, S, H] ([S, B, H]) */                      \
    OP(TFLITE_LSTM_INT, "TFLiteLSTMInt", lstm_int, 20, 20, 1, 1)

enum synap_op {
#define OP(e, n, f, a, b, c, d) SYNAP_OP_##e,
    SYNAP_OPS(OP)
#undef OP
        SYNAP_OP_COUNT
};

struct synap_op_info {
    const char *name; /* "Conv" */
    const char *family;
    unsigned char min_in, max_in, min_out, max_out;
};

extern const struct synap_op_info synap_op_table[SYNAP_OP_COUNT];

/* "Conv"; NULL when op is out of range. */
const char *synap_op_name(enum synap_op op);
/* SYNAP_OP_COUNT when the name is not a canonical op. */
enum synap_op synap_op_from_name(const char *name);

#endif
