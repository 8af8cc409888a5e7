/* Kernel dispatch generated from the op table: each op calls its family's
 * infer/run pair. */
#include "kernels/kernel.h"

static const struct synap_kernel kernels[SYNAP_OP_COUNT] = {
#define OP(e, n, f, a, b, c, d) [SYNAP_OP_##e] = {synap_##f##_infer, synap_##f##_run},
    SYNAP_OPS(OP)
#undef OP
};

const struct synap_kernel *synap_kernel_get(enum synap_op op)
{
    return (unsigned)op < SYNAP_OP_COUNT ? &kernels[op] : &kernels[0];
}
