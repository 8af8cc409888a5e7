/* The op table generated from ops.h, and the dtype / quant-scheme name tables. */
#include <string.h>

#include "ir/ir.h"

const struct synap_op_info synap_op_table[SYNAP_OP_COUNT] = {
#define OP(e, n, f, a, b, c, d) [SYNAP_OP_##e] = {n, #f, a, b, c, d},
    SYNAP_OPS(OP)
#undef OP
};

const char *synap_op_name(enum synap_op op)
{
    return (unsigned)op < SYNAP_OP_COUNT ? synap_op_table[op].name : NULL;
}

enum synap_op synap_op_from_name(const char *name)
{
    for (int i = 0; i < SYNAP_OP_COUNT; i++)
        if (!strcmp(synap_op_table[i].name, name)) return (enum synap_op)i;
    return SYNAP_OP_COUNT;
}

static const struct {
    const char *name;
    size_t size;
} dtypes[SYNAP_DTYPE_COUNT] = {
    [SYNAP_DTYPE_UNDEFINED] = {"undefined", 0},
#define X(e, n, s) [SYNAP_DTYPE_##e] = {n, s},
    SYNAP_DTYPES(X)
#undef X
};

const char *synap_dtype_name(enum synap_dtype t)
{
    return (unsigned)t < SYNAP_DTYPE_COUNT ? dtypes[t].name : "undefined";
}

enum synap_dtype synap_dtype_from_name(const char *s)
{
    for (int i = 1; i < SYNAP_DTYPE_COUNT; i++)
        if (!strcmp(dtypes[i].name, s)) return (enum synap_dtype)i;
    return SYNAP_DTYPE_UNDEFINED;
}

size_t synap_dtype_size(enum synap_dtype t)
{
    return (unsigned)t < SYNAP_DTYPE_COUNT ? dtypes[t].size : 0;
}

bool synap_dtype_is_float(enum synap_dtype t)
{
    return t == SYNAP_DTYPE_FLOAT32 || t == SYNAP_DTYPE_FLOAT16 || t == SYNAP_DTYPE_BFLOAT16 ||
           t == SYNAP_DTYPE_FLOAT64;
}

bool synap_dtype_is_int(enum synap_dtype t)
{
    switch (t) {
    case SYNAP_DTYPE_INT8:
    case SYNAP_DTYPE_UINT8:
    case SYNAP_DTYPE_INT16:
    case SYNAP_DTYPE_UINT16:
    case SYNAP_DTYPE_INT32:
    case SYNAP_DTYPE_UINT32:
    case SYNAP_DTYPE_INT64:
    case SYNAP_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

static const char *const qschemes[] = {
    [SYNAP_QSCHEME_NONE] = "none",
    [SYNAP_QSCHEME_ASYMMETRIC_AFFINE] = "asymmetric_affine",
    [SYNAP_QSCHEME_SYMMETRIC_AFFINE] = "symmetric_affine",
    [SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE] = "perchannel_symmetric_affine",
    [SYNAP_QSCHEME_DYNAMIC_FIXED_POINT] = "dynamic_fixed_point",
};

const char *synap_qscheme_name(enum synap_qscheme s)
{
    return (unsigned)s < sizeof qschemes / sizeof *qschemes ? qschemes[s] : "none";
}

enum synap_qscheme synap_qscheme_from_name(const char *s)
{
    for (size_t i = 1; i < sizeof qschemes / sizeof *qschemes; i++)
        if (!strcmp(qschemes[i], s)) return (enum synap_qscheme)i;
    return SYNAP_QSCHEME_NONE;
}

enum synap_dtype synap_dtype_from_onnx(int64_t t)
{
    static const enum synap_dtype map[] = {
        [1] = SYNAP_DTYPE_FLOAT32, [2] = SYNAP_DTYPE_UINT8,    [3] = SYNAP_DTYPE_INT8,
        [4] = SYNAP_DTYPE_UINT16,  [5] = SYNAP_DTYPE_INT16,    [6] = SYNAP_DTYPE_INT32,
        [7] = SYNAP_DTYPE_INT64,   [9] = SYNAP_DTYPE_BOOL,     [10] = SYNAP_DTYPE_FLOAT16,
        [11] = SYNAP_DTYPE_FLOAT64, [12] = SYNAP_DTYPE_UINT32, [13] = SYNAP_DTYPE_UINT64,
        [16] = SYNAP_DTYPE_BFLOAT16,
    };
    return t >= 0 && (uint64_t)t < sizeof map / sizeof *map ? map[t] : SYNAP_DTYPE_UNDEFINED;
}
