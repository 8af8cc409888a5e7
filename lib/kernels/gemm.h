/* Single-precision matrix multiply used by Conv, ConvTranspose, MatMul and Gemm. */
#ifndef SYNAP_GEMM_H
#define SYNAP_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/threadpool.h"

/* C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
 * Row-major with leading dimensions lda, ldb, ldc; op(X) = X or X^T when
 * trans_x is set (then X is stored k x m / n x k). beta == 0 ignores C's
 * contents (NaNs included). Each element's sum is accumulated in a fixed
 * order independent of the thread count; the pool (may be NULL) splits the
 * output into blocks. */
void synap_sgemm(struct synap_pool *pool, int trans_a, int trans_b, int64_t m, int64_t n,
                 int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float beta, float *c, int64_t ldc);

#endif
