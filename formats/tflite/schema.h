/* The TFLite schema (tensorflow/lite/schema/schema.fbs, version 3) as the
 * numbers a reader needs: table field numbers and enum values. These are
 * public facts of the file format; no generated code is used. */
#ifndef SYNAP_TFLITE_SCHEMA_H
#define SYNAP_TFLITE_SCHEMA_H

/* table Model */
enum {
    TFL_MODEL_VERSION,
    TFL_MODEL_OPERATOR_CODES,
    TFL_MODEL_SUBGRAPHS,
    TFL_MODEL_DESCRIPTION,
    TFL_MODEL_BUFFERS
};
/* table OperatorCode */
enum {
    TFL_OPCODE_DEPRECATED_BUILTIN_CODE,
    TFL_OPCODE_CUSTOM_CODE,
    TFL_OPCODE_VERSION,
    TFL_OPCODE_BUILTIN_CODE
};
/* table SubGraph */
enum {
    TFL_SUBGRAPH_TENSORS,
    TFL_SUBGRAPH_INPUTS,
    TFL_SUBGRAPH_OUTPUTS,
    TFL_SUBGRAPH_OPERATORS,
    TFL_SUBGRAPH_NAME
};
/* table Tensor */
enum {
    TFL_TENSOR_SHAPE,
    TFL_TENSOR_TYPE,
    TFL_TENSOR_BUFFER,
    TFL_TENSOR_NAME,
    TFL_TENSOR_QUANTIZATION,
    TFL_TENSOR_IS_VARIABLE,
    TFL_TENSOR_SPARSITY,
    TFL_TENSOR_SHAPE_SIGNATURE,
    TFL_TENSOR_HAS_RANK
};
/* table QuantizationParameters (details is a union: type field 4, value 5) */
enum {
    TFL_QUANT_MIN,
    TFL_QUANT_MAX,
    TFL_QUANT_SCALE,
    TFL_QUANT_ZERO_POINT,
    TFL_QUANT_DETAILS_TYPE,
    TFL_QUANT_DETAILS,
    TFL_QUANT_QUANTIZED_DIMENSION
};
/* table SparsityParameters */
enum { TFL_SPARSITY_TRAVERSAL_ORDER, TFL_SPARSITY_BLOCK_MAP, TFL_SPARSITY_DIM_METADATA };
/* table DimensionMetadata (two SparseIndexVector unions) */
enum {
    TFL_DIMMETA_FORMAT,
    TFL_DIMMETA_DENSE_SIZE,
    TFL_DIMMETA_SEGMENTS_TYPE,
    TFL_DIMMETA_SEGMENTS,
    TFL_DIMMETA_INDICES_TYPE,
    TFL_DIMMETA_INDICES
};
enum { TFL_DIM_DENSE = 0, TFL_DIM_SPARSE_CSR = 1 };
/* union SparseIndexVector; each member table has `values` as field 0 */
enum { TFL_SIV_NONE, TFL_SIV_INT32, TFL_SIV_UINT16, TFL_SIV_UINT8 };
/* table Operator (builtin_options is a union: type field 3, value 4) */
enum {
    TFL_OP_OPCODE_INDEX,
    TFL_OP_INPUTS,
    TFL_OP_OUTPUTS,
    TFL_OP_BUILTIN_OPTIONS_TYPE,
    TFL_OP_BUILTIN_OPTIONS,
    TFL_OP_CUSTOM_OPTIONS,
    TFL_OP_CUSTOM_OPTIONS_FORMAT,
    TFL_OP_MUTATING_VARIABLE_INPUTS,
    TFL_OP_INTERMEDIATES,
    TFL_OP_LARGE_CUSTOM_OPTIONS_OFFSET,
    TFL_OP_LARGE_CUSTOM_OPTIONS_SIZE
};
/* table Buffer (offset/size: data outside the FlatBuffer, > 2 GB models) */
enum { TFL_BUFFER_DATA, TFL_BUFFER_OFFSET, TFL_BUFFER_SIZE };

/* enum TensorType */
enum tfl_type {
    TFL_FLOAT32 = 0,
    TFL_FLOAT16 = 1,
    TFL_INT32 = 2,
    TFL_UINT8 = 3,
    TFL_INT64 = 4,
    TFL_STRING = 5,
    TFL_BOOL = 6,
    TFL_INT16 = 7,
    TFL_COMPLEX64 = 8,
    TFL_INT8 = 9,
    TFL_FLOAT64 = 10,
    TFL_COMPLEX128 = 11,
    TFL_UINT64 = 12,
    TFL_RESOURCE = 13,
    TFL_VARIANT = 14,
    TFL_UINT32 = 15,
    TFL_UINT16 = 16,
    TFL_INT4 = 17,
};

/* enum Padding, ActivationFunctionType */
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum {
    TFL_ACT_NONE = 0,
    TFL_ACT_RELU = 1,
    TFL_ACT_RELU_N1_TO_1 = 2,
    TFL_ACT_RELU6 = 3,
    TFL_ACT_TANH = 4,
    TFL_ACT_SIGN_BIT = 5
};

/* Option tables: field numbers of the fields this importer reads. */
enum {
    TFL_CONV_PADDING,
    TFL_CONV_STRIDE_W,
    TFL_CONV_STRIDE_H,
    TFL_CONV_ACT,
    TFL_CONV_DILATION_W,
    TFL_CONV_DILATION_H
};
enum {
    TFL_DW_PADDING,
    TFL_DW_STRIDE_W,
    TFL_DW_STRIDE_H,
    TFL_DW_DEPTH_MULTIPLIER,
    TFL_DW_ACT,
    TFL_DW_DILATION_W,
    TFL_DW_DILATION_H
};
enum {
    TFL_POOL_PADDING,
    TFL_POOL_STRIDE_W,
    TFL_POOL_STRIDE_H,
    TFL_POOL_FILTER_W,
    TFL_POOL_FILTER_H,
    TFL_POOL_ACT
};
enum { TFL_FC_ACT, TFL_FC_WEIGHTS_FORMAT, TFL_FC_KEEP_NUM_DIMS };
enum { TFL_TCONV_PADDING, TFL_TCONV_STRIDE_W, TFL_TCONV_STRIDE_H, TFL_TCONV_ACT };
enum { TFL_SOFTMAX_BETA };
enum { TFL_CONCAT_AXIS, TFL_CONCAT_ACT };
enum { TFL_ARITH_ACT }; /* Add, Sub, Mul, Div options */
enum { TFL_RESHAPE_NEW_SHAPE };
enum { TFL_RESIZE_BILINEAR_ALIGN_CORNERS = 2, TFL_RESIZE_BILINEAR_HALF_PIXEL = 3 };
enum { TFL_RESIZE_NN_ALIGN_CORNERS, TFL_RESIZE_NN_HALF_PIXEL };
enum { TFL_REDUCER_KEEP_DIMS };
enum { TFL_SQUEEZE_DIMS };
enum {
    TFL_SS_BEGIN_MASK,
    TFL_SS_END_MASK,
    TFL_SS_ELLIPSIS_MASK,
    TFL_SS_NEW_AXIS_MASK,
    TFL_SS_SHRINK_AXIS_MASK,
    TFL_SS_OFFSET
};
enum { TFL_SPLIT_NUM_SPLITS };
enum { TFL_PACK_VALUES_COUNT, TFL_PACK_AXIS };
enum { TFL_UNPACK_NUM, TFL_UNPACK_AXIS };
enum { TFL_GATHER_AXIS, TFL_GATHER_BATCH_DIMS };
enum { TFL_ARGMAX_OUTPUT_TYPE };
enum { TFL_LEAKY_RELU_ALPHA };
enum { TFL_BMM_ADJ_X, TFL_BMM_ADJ_Y };
enum { TFL_BLOCK_SIZE }; /* SpaceToDepth, DepthToSpace */
enum { TFL_LRN_RADIUS, TFL_LRN_BIAS, TFL_LRN_ALPHA, TFL_LRN_BETA };
enum { TFL_SHAPE_OUT_TYPE };
enum { TFL_CAST_IN_TYPE, TFL_CAST_OUT_TYPE };
enum { TFL_MIRROR_PAD_MODE };
enum { TFL_GELU_APPROXIMATE };

/* enum BuiltinOperator: X(NAME, value), in value order. */
#define TFL_BUILTINS(X)                                                                            \
    X(ADD, 0)                                                                                      \
    X(AVERAGE_POOL_2D, 1)                                                                          \
    X(CONCATENATION, 2)                                                                            \
    X(CONV_2D, 3)                                                                                  \
    X(DEPTHWISE_CONV_2D, 4)                                                                        \
    X(DEPTH_TO_SPACE, 5)                                                                           \
    X(DEQUANTIZE, 6)                                                                               \
    X(EMBEDDING_LOOKUP, 7)                                                                         \
    X(FLOOR, 8)                                                                                    \
    X(FULLY_CONNECTED, 9)                                                                          \
    X(HASHTABLE_LOOKUP, 10)                                                                        \
    X(L2_NORMALIZATION, 11)                                                                        \
    X(L2_POOL_2D, 12)                                                                              \
    X(LOCAL_RESPONSE_NORMALIZATION, 13)                                                            \
    X(LOGISTIC, 14)                                                                                \
    X(LSH_PROJECTION, 15)                                                                          \
    X(LSTM, 16)                                                                                    \
    X(MAX_POOL_2D, 17)                                                                             \
    X(MUL, 18)                                                                                     \
    X(RELU, 19)                                                                                    \
    X(RELU_N1_TO_1, 20)                                                                            \
    X(RELU6, 21)                                                                                   \
    X(RESHAPE, 22)                                                                                 \
    X(RESIZE_BILINEAR, 23)                                                                         \
    X(RNN, 24)                                                                                     \
    X(SOFTMAX, 25)                                                                                 \
    X(SPACE_TO_DEPTH, 26)                                                                          \
    X(SVDF, 27)                                                                                    \
    X(TANH, 28)                                                                                    \
    X(CONCAT_EMBEDDINGS, 29)                                                                       \
    X(SKIP_GRAM, 30)                                                                               \
    X(CALL, 31)                                                                                    \
    X(CUSTOM, 32)                                                                                  \
    X(EMBEDDING_LOOKUP_SPARSE, 33)                                                                 \
    X(PAD, 34)                                                                                     \
    X(UNIDIRECTIONAL_SEQUENCE_RNN, 35)                                                             \
    X(GATHER, 36)                                                                                  \
    X(BATCH_TO_SPACE_ND, 37)                                                                       \
    X(SPACE_TO_BATCH_ND, 38)                                                                       \
    X(TRANSPOSE, 39)                                                                               \
    X(MEAN, 40)                                                                                    \
    X(SUB, 41)                                                                                     \
    X(DIV, 42)                                                                                     \
    X(SQUEEZE, 43)                                                                                 \
    X(UNIDIRECTIONAL_SEQUENCE_LSTM, 44)                                                            \
    X(STRIDED_SLICE, 45)                                                                           \
    X(BIDIRECTIONAL_SEQUENCE_RNN, 46)                                                              \
    X(EXP, 47)                                                                                     \
    X(TOPK_V2, 48)                                                                                 \
    X(SPLIT, 49)                                                                                   \
    X(LOG_SOFTMAX, 50)                                                                             \
    X(DELEGATE, 51)                                                                                \
    X(BIDIRECTIONAL_SEQUENCE_LSTM, 52)                                                             \
    X(CAST, 53)                                                                                    \
    X(PRELU, 54)                                                                                   \
    X(MAXIMUM, 55)                                                                                 \
    X(ARG_MAX, 56)                                                                                 \
    X(MINIMUM, 57)                                                                                 \
    X(LESS, 58)                                                                                    \
    X(NEG, 59)                                                                                     \
    X(PADV2, 60)                                                                                   \
    X(GREATER, 61)                                                                                 \
    X(GREATER_EQUAL, 62)                                                                           \
    X(LESS_EQUAL, 63)                                                                              \
    X(SELECT, 64)                                                                                  \
    X(SLICE, 65)                                                                                   \
    X(SIN, 66)                                                                                     \
    X(TRANSPOSE_CONV, 67)                                                                          \
    X(SPARSE_TO_DENSE, 68)                                                                         \
    X(TILE, 69)                                                                                    \
    X(EXPAND_DIMS, 70)                                                                             \
    X(EQUAL, 71)                                                                                   \
    X(NOT_EQUAL, 72)                                                                               \
    X(LOG, 73)                                                                                     \
    X(SUM, 74)                                                                                     \
    X(SQRT, 75)                                                                                    \
    X(RSQRT, 76)                                                                                   \
    X(SHAPE, 77)                                                                                   \
    X(POW, 78)                                                                                     \
    X(ARG_MIN, 79)                                                                                 \
    X(FAKE_QUANT, 80)                                                                              \
    X(REDUCE_PROD, 81)                                                                             \
    X(REDUCE_MAX, 82)                                                                              \
    X(PACK, 83)                                                                                    \
    X(LOGICAL_OR, 84)                                                                              \
    X(ONE_HOT, 85)                                                                                 \
    X(LOGICAL_AND, 86)                                                                             \
    X(LOGICAL_NOT, 87)                                                                             \
    X(UNPACK, 88)                                                                                  \
    X(REDUCE_MIN, 89)                                                                              \
    X(FLOOR_DIV, 90)                                                                               \
    X(REDUCE_ANY, 91)                                                                              \
    X(SQUARE, 92)                                                                                  \
    X(ZEROS_LIKE, 93)                                                                              \
    X(FILL, 94)                                                                                    \
    X(FLOOR_MOD, 95)                                                                               \
    X(RANGE, 96)                                                                                   \
    X(RESIZE_NEAREST_NEIGHBOR, 97)                                                                 \
    X(LEAKY_RELU, 98)                                                                              \
    X(SQUARED_DIFFERENCE, 99)                                                                      \
    X(MIRROR_PAD, 100)                                                                             \
    X(ABS, 101)                                                                                    \
    X(SPLIT_V, 102)                                                                                \
    X(UNIQUE, 103)                                                                                 \
    X(CEIL, 104)                                                                                   \
    X(REVERSE_V2, 105)                                                                             \
    X(ADD_N, 106)                                                                                  \
    X(GATHER_ND, 107)                                                                              \
    X(COS, 108)                                                                                    \
    X(WHERE, 109)                                                                                  \
    X(RANK, 110)                                                                                   \
    X(ELU, 111)                                                                                    \
    X(REVERSE_SEQUENCE, 112)                                                                       \
    X(MATRIX_DIAG, 113)                                                                            \
    X(QUANTIZE, 114)                                                                               \
    X(MATRIX_SET_DIAG, 115)                                                                        \
    X(ROUND, 116)                                                                                  \
    X(HARD_SWISH, 117)                                                                             \
    X(IF, 118)                                                                                     \
    X(WHILE, 119)                                                                                  \
    X(NON_MAX_SUPPRESSION_V4, 120)                                                                 \
    X(NON_MAX_SUPPRESSION_V5, 121)                                                                 \
    X(SCATTER_ND, 122)                                                                             \
    X(SELECT_V2, 123)                                                                              \
    X(DENSIFY, 124)                                                                                \
    X(SEGMENT_SUM, 125)                                                                            \
    X(BATCH_MATMUL, 126)                                                                           \
    X(PLACEHOLDER_FOR_GREATER_OP_CODES, 127)                                                       \
    X(CUMSUM, 128)                                                                                 \
    X(CALL_ONCE, 129)                                                                              \
    X(BROADCAST_TO, 130)                                                                           \
    X(RFFT2D, 131)                                                                                 \
    X(CONV_3D, 132)                                                                                \
    X(IMAG, 133)                                                                                   \
    X(REAL, 134)                                                                                   \
    X(COMPLEX_ABS, 135)                                                                            \
    X(HASHTABLE, 136)                                                                              \
    X(HASHTABLE_FIND, 137)                                                                         \
    X(HASHTABLE_IMPORT, 138)                                                                       \
    X(HASHTABLE_SIZE, 139)                                                                         \
    X(REDUCE_ALL, 140)                                                                             \
    X(CONV_3D_TRANSPOSE, 141)                                                                      \
    X(VAR_HANDLE, 142)                                                                             \
    X(READ_VARIABLE, 143)                                                                          \
    X(ASSIGN_VARIABLE, 144)                                                                        \
    X(BROADCAST_ARGS, 145)                                                                         \
    X(RANDOM_STANDARD_NORMAL, 146)                                                                 \
    X(BUCKETIZE, 147)                                                                              \
    X(RANDOM_UNIFORM, 148)                                                                         \
    X(MULTINOMIAL, 149)                                                                            \
    X(GELU, 150)                                                                                   \
    X(DYNAMIC_UPDATE_SLICE, 151)                                                                   \
    X(RELU_0_TO_1, 152)                                                                            \
    X(UNSORTED_SEGMENT_PROD, 153)                                                                  \
    X(UNSORTED_SEGMENT_MAX, 154)                                                                   \
    X(UNSORTED_SEGMENT_SUM, 155)                                                                   \
    X(ATAN2, 156)                                                                                  \
    X(UNSORTED_SEGMENT_MIN, 157)                                                                   \
    X(SIGN, 158)                                                                                   \
    X(BITCAST, 159)                                                                                \
    X(BITWISE_XOR, 160)                                                                            \
    X(RIGHT_SHIFT, 161)

enum tfl_builtin {
#define X(name, v) TFL_OP_##name = v,
    TFL_BUILTINS(X)
#undef X
        TFL_OP_COUNT
};

/* "CONV_2D"; NULL for a value outside the enum. */
const char *tfl_builtin_name(int32_t code);

#endif
