/* Cast and CastLike: element type conversion with ONNX semantics.
 *
 * Conversions go through synap_convert (kernels/common.c): float to integer
 * truncates toward zero and, where C would be undefined, is defined here as
 * NaN -> 0 and out-of-range (including +-Inf) -> the nearest representable
 * value (saturation); integer to narrower integer wraps like numpy's astype;
 * anything to bool is x != 0.
 *
 * One exception: conversion to bfloat16 truncates the float32 bit pattern
 * (NaN stays a quiet NaN), because that is what the ONNX reference and its
 * conformance data (test_cast_FLOAT_to_BFLOAT16) specify; rounding to nearest
 * would differ from them by one bfloat16 ulp (0.4%).
 */
#include <string.h>

#include "kernels/kernel.h"

#define BLOCK 256
#define GRAIN 16384

static int target_dtype(struct synap_kctx *c, enum synap_dtype *to)
{
    if (c->node->op == SYNAP_OP_CAST_LIKE) {
        if (!synap_has_input(c, 1)) return synap_errf(c->err, "input 1 (target_type) is missing");
        *to = c->in[1].dtype;
        return 0;
    }
    const struct synap_attr *a = synap_node_attr(c->node, "to");
    if (!a || a->type != SYNAP_ATTR_INT)
        return synap_errf(c->err, "attribute 'to' is missing or not an integer");
    *to = synap_dtype_from_onnx(a->i);
    if (*to != SYNAP_DTYPE_UNDEFINED) return 0;
    if (a->i == 8) return synap_errf(c->err, "attribute to=8 (string): strings are not supported");
    return synap_errf(c->err, "attribute to=%lld: unsupported data type", (long long)a->i);
}

int synap_cast_infer(struct synap_kctx *c)
{
    if (c->nout < 1) return synap_errf(c->err, "expected 1 output");
    if (!synap_has_input(c, 0)) return synap_errf(c->err, "input 0 is missing");
    enum synap_dtype to;
    if (target_dtype(c, &to)) return -1;
    struct synap_value *y = &c->out[0];
    y->dtype = to;
    y->rank = c->in[0].rank;
    memcpy(y->dims, c->in[0].dims, sizeof y->dims);
    return 0;
}

struct cjob {
    enum synap_dtype from, to;
    const void *x;
    void *y;
};

/* float32 -> bfloat16 by truncation; see the top of the file. */
static uint16_t bf16_trunc(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)(u >> 16);
}

static void cast_task(void *arg, size_t begin, size_t end)
{
    const struct cjob *j = arg;
    size_t fs = synap_dtype_size(j->from), ts = synap_dtype_size(j->to);
    const char *x = (const char *)j->x + begin * fs;
    char *y = (char *)j->y + begin * ts;
    size_t n = end - begin;
    if (j->to != SYNAP_DTYPE_BFLOAT16 || j->from == SYNAP_DTYPE_BFLOAT16) {
        synap_convert(j->to, y, j->from, x, (int64_t)n);
        return;
    }
    for (size_t k = 0; k < n; k += BLOCK) {
        size_t m = n - k < BLOCK ? n - k : BLOCK;
        float f[BLOCK];
        synap_convert(SYNAP_DTYPE_FLOAT32, f, j->from, x + k * fs, (int64_t)m);
        uint16_t *h = (uint16_t *)y + k;
        for (size_t i = 0; i < m; i++)
            h[i] = bf16_trunc(f[i]);
    }
}

int synap_cast_run(struct synap_kctx *c)
{
    if (c->nin < 1 || c->nout < 1) return synap_errf(c->err, "missing inputs or outputs");
    enum synap_dtype to;
    if (target_dtype(c, &to)) return -1;
    const struct synap_value *x = &c->in[0];
    struct synap_value *y = &c->out[0];
    if (y->dtype != to) return synap_errf(c->err, "output dtype does not match the target");
    if (synap_dtype_size(x->dtype) == 0) return synap_errf(c->err, "input 0: undefined dtype");
    int64_t n = synap_value_nelem(x);
    if (n < 0 || n != synap_value_nelem(y)) return synap_errf(c->err, "output shape mismatch");
    if (n == 0) return 0;
    struct cjob j = {.from = x->dtype, .to = to, .x = x->data, .y = y->data};
    synap_pool_for(c->pool, (size_t)n, GRAIN, cast_task, &j);
    return 0;
}
