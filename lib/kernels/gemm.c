/* Single-precision GEMM: packed, cache-blocked, with an auto-vectorized micro-kernel.
 *
 * Layout follows the BLIS/GotoBLAS scheme. The output is cut into tiles of
 * at most TILE_M x TILE_N; each tile is one task for the thread pool. Inside
 * a task, K is walked in blocks of KC: the KC x tile_n slice of B is packed
 * into NR-wide column panels, the tile_m x KC slice of A into MR-tall row
 * panels, and the MR x NR micro-kernel multiplies one panel pair from L1.
 *
 * Determinism: every C element is the sum over K blocks [0,KC), [KC,2KC), ...
 * in that order, each block summed from p = 0 upward in the micro-kernel.
 * KC is a constant, so neither the tiling (which depends on the thread count)
 * nor the thread that computes a tile changes a single bit of the result.
 *
 * Packing buffers live in a per-thread cache (pthread key) so repeated calls
 * allocate nothing; a thread's buffer is freed when the thread exits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "util/util.h"

/* MR x NR accumulators: 6 x 16 is 12 AVX2 registers or 6 AVX-512 ones,
 * leaving room for the B row and the A broadcast. */
#define MR 6
#define NR 16
#define KC 256
/* Largest tile; a task packs TILE_N x KC of B (256 KB) and TILE_M x KC of A. */
#define TILE_M (MR * 24)
#define TILE_N (NR * 64)
/* Below this many multiply-adds, packing costs more than it saves. */
#define SMALL_FLOPS (32 * 32 * 32)

/* The micro-kernel is compiled for AVX2+FMA and AVX-512 as well as the
 * baseline, and the loader picks one clone per process (ifunc), so all threads
 * run the same code and results stay thread-count independent. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) &&         \
    !defined(__SANITIZE_ADDRESS__)
#define SYNAP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SYNAP_CLONES
#endif

/* The micro-kernel's inner loops have constant trip counts: GCC unrolls the
 * MR loop and vectorizes the NR loop, keeping acc in registers. FMA
 * contraction is allowed here only (C11 mode turns it off by default). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3", "fp-contract=fast")
#endif

/* acc[MR][NR] = sum_p a[p][0..MR) (outer) b[p][0..NR) over kc steps; a and b
 * are packed panels. */
SYNAP_CLONES
static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b,
                         float *restrict out)
{
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            acc[i][j] = 0.0f;
    for (int64_t p = 0; p < kc; p++) {
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const float ai = a[i];
            /* Without this GCC unrolls j completely and then vectorizes
             * the p loop with shuffles; kept rolled, j becomes NR/VL
             * vector FMAs on register-resident accumulators. */
#pragma GCC unroll 1
            for (int j = 0; j < NR; j++)
                acc[i][j] += ai * b[j];
        }
        a += MR;
        b += NR;
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            out[i * NR + j] = acc[i][j];
}

/* sum_p x[p] * y[p] in 16 interleaved partial sums combined by a fixed
 * tree: vectorizable without reassociation, and the same on every run. */
SYNAP_CLONES
static float dot(int64_t k, const float *restrict x, const float *restrict y)
{
    float part[16] = {0};
    int64_t p = 0;
    for (; p + 16 <= k; p += 16)
#pragma GCC unroll 1
        for (int l = 0; l < 16; l++)
            part[l] += x[p + l] * y[p + l];
    for (int l = 0; p < k; p++, l++)
        part[l] += x[p] * y[p];
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] += part[l + w];
    return part[0];
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

struct gemm_args {
    int trans_a, trans_b;
    int64_t m, n, k;
    float alpha;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float beta;
    float *c;
    int64_t ldc;
    int64_t tile_m, tile_n, tiles_n; /* tile size and tiles per row of tiles */
};

/* ---- per-thread packing buffers ------------------------------------------ */

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;

static void ws_free(void *p)
{
    free(p);
}
static void ws_init(void)
{
    (void)pthread_key_create(&ws_key, ws_free);
}

/* The calling thread's buffer for TILE_M x KC of A and KC x TILE_N of B. */
static float *workspace(void)
{
    pthread_once(&ws_once, ws_init);
    float *w = pthread_getspecific(ws_key);
    if (!w) {
        w = synap_xaligned(sizeof(float) * (size_t)(TILE_M + TILE_N) * KC);
        if (pthread_setspecific(ws_key, w) != 0) {
            free(w);
            abort(); /* cannot happen once the key exists; treat like OOM */
        }
    }
    return w;
}

/* ---- packing ------------------------------------------------------------ */

/* A rows [i0, i0+mc) x cols [p0, p0+kc) into MR-row panels, zero-padded. */
static void pack_a(const struct gemm_args *g, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                   float *restrict dst)
{
    for (int64_t ir = 0; ir < mc; ir += MR) {
        int64_t mr = mc - ir < MR ? mc - ir : MR;
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t i = 0; i < mr; i++) {
                int64_t row = i0 + ir + i, col = p0 + p;
                dst[i] = g->trans_a ? g->a[col * g->lda + row] : g->a[row * g->lda + col];
            }
            for (int64_t i = mr; i < MR; i++)
                dst[i] = 0.0f;
            dst += MR;
        }
    }
}

/* B rows [p0, p0+kc) x cols [j0, j0+nc) into NR-column panels, zero-padded. */
static void pack_b(const struct gemm_args *g, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                   float *restrict dst)
{
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = nc - jr < NR ? nc - jr : NR;
        if (!g->trans_b && nr == NR) {
            for (int64_t p = 0; p < kc; p++) {
                memcpy(dst, g->b + (p0 + p) * g->ldb + j0 + jr, sizeof(float) * NR);
                dst += NR;
            }
            continue;
        }
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t j = 0; j < nr; j++) {
                int64_t row = p0 + p, col = j0 + jr + j;
                dst[j] = g->trans_b ? g->b[col * g->ldb + row] : g->b[row * g->ldb + col];
            }
            for (int64_t j = nr; j < NR; j++)
                dst[j] = 0.0f;
            dst += NR;
        }
    }
}

/* ---- the blocked product of one output tile ------------------------------ */

static void gemm_tile(const struct gemm_args *g, int64_t i0, int64_t mc, int64_t j0, int64_t nc)
{
    float *pa = workspace();
    float *pb = pa + (size_t)TILE_M * KC;
    float out[MR * NR];
    for (int64_t p0 = 0; p0 < g->k; p0 += KC) {
        int64_t kc = g->k - p0 < KC ? g->k - p0 : KC;
        int first = p0 == 0;
        pack_b(g, p0, kc, j0, nc, pb);
        pack_a(g, i0, mc, p0, kc, pa);
        for (int64_t jr = 0; jr < nc; jr += NR) {
            int64_t nr = nc - jr < NR ? nc - jr : NR;
            for (int64_t ir = 0; ir < mc; ir += MR) {
                int64_t mr = mc - ir < MR ? mc - ir : MR;
                micro_kernel(kc, pa + ir * kc, pb + jr * kc, out);
                for (int64_t i = 0; i < mr; i++) {
                    float *crow = g->c + (i0 + ir + i) * g->ldc + j0 + jr;
                    const float *o = out + i * NR;
                    if (!first) {
                        for (int64_t j = 0; j < nr; j++)
                            crow[j] += g->alpha * o[j];
                    } else if (g->beta == 0.0f) {
                        for (int64_t j = 0; j < nr; j++)
                            crow[j] = g->alpha * o[j];
                    } else {
                        for (int64_t j = 0; j < nr; j++)
                            crow[j] = g->beta * crow[j] + g->alpha * o[j];
                    }
                }
            }
        }
    }
}

static void gemm_task(void *arg, size_t begin, size_t end)
{
    const struct gemm_args *g = arg;
    for (size_t t = begin; t < end; t++) {
        int64_t ti = (int64_t)t / g->tiles_n, tj = (int64_t)t % g->tiles_n;
        int64_t i0 = ti * g->tile_m, j0 = tj * g->tile_n;
        int64_t mc = g->m - i0 < g->tile_m ? g->m - i0 : g->tile_m;
        int64_t nc = g->n - j0 < g->tile_n ? g->n - j0 : g->tile_n;
        gemm_tile(g, i0, mc, j0, nc);
    }
}

/* Matrix-vector products (one output row or column) whose reductions run
 * over contiguous memory: one dot product per output, outputs split over the
 * pool. x_step/y_step are the distances between successive outputs' vectors. */
struct gemv_args {
    int64_t k;
    const float *x, *y;
    int64_t x_step, y_step;
    float alpha, beta;
    float *c;
    int64_t c_step;
};

static void gemv_task(void *arg, size_t begin, size_t end)
{
    const struct gemv_args *g = arg;
    for (int64_t t = (int64_t)begin; t < (int64_t)end; t++) {
        float s = g->alpha * dot(g->k, g->x + t * g->x_step, g->y + t * g->y_step);
        float *cp = g->c + t * g->c_step;
        *cp = g->beta == 0.0f ? s : g->beta * *cp + s;
    }
}

/* Small products: no packing, rows split over the pool. Each element is
 * summed from p = 0 upward, so the split does not matter. */
static void gemm_small_rows(void *arg, size_t begin, size_t end)
{
    const struct gemm_args *g = arg;
    float acc[256];
    for (int64_t i = (int64_t)begin; i < (int64_t)end; i++) {
        float *crow = g->c + i * g->ldc;
        for (int64_t j0 = 0; j0 < g->n; j0 += 256) {
            int64_t nc = g->n - j0 < 256 ? g->n - j0 : 256;
            for (int64_t j = 0; j < nc; j++)
                acc[j] = 0.0f;
            for (int64_t p = 0; p < g->k; p++) {
                float av = g->trans_a ? g->a[p * g->lda + i] : g->a[i * g->lda + p];
                if (g->trans_b) {
                    for (int64_t j = 0; j < nc; j++)
                        acc[j] += av * g->b[(j0 + j) * g->ldb + p];
                } else {
                    const float *brow = g->b + p * g->ldb + j0;
                    for (int64_t j = 0; j < nc; j++)
                        acc[j] += av * brow[j];
                }
            }
            for (int64_t j = 0; j < nc; j++)
                crow[j0 + j] = g->beta == 0.0f ? g->alpha * acc[j]
                                               : g->beta * crow[j0 + j] + g->alpha * acc[j];
        }
    }
}

void synap_sgemm(struct synap_pool *pool, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                 float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                 float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    struct gemm_args g = {trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, 0, 0};
    if (n == 1 && !trans_a && (trans_b || ldb == 1)) {
        struct gemv_args v = {k, a, b, lda, 0, alpha, beta, c, ldc};
        synap_pool_for(pool, (size_t)m, 64, gemv_task, &v);
        return;
    }
    if (m == 1 && trans_b && (!trans_a || lda == 1)) {
        struct gemv_args v = {k, a, b, 0, ldb, alpha, beta, c, 1};
        synap_pool_for(pool, (size_t)n, 64, gemv_task, &v);
        return;
    }
    if ((double)m * (double)n * (double)k <= SMALL_FLOPS) {
        synap_pool_for(pool, (size_t)m, 8, gemm_small_rows, &g);
        return;
    }

    /* Shrink tiles until every thread has a few of them, but never below one
     * micro-panel; the tile shape only decides who computes what. */
    int nthreads = synap_pool_nthreads(pool);
    int64_t tm = m < TILE_M ? (m + MR - 1) / MR * MR : TILE_M;
    int64_t tn = n < TILE_N ? (n + NR - 1) / NR * NR : TILE_N;
    for (;;) {
        int64_t tiles = ((m + tm - 1) / tm) * ((n + tn - 1) / tn);
        if (nthreads <= 1 || tiles >= 4 * (int64_t)nthreads) break;
        if (tn > 4 * NR && tn >= tm)
            tn = (tn / 2 + NR - 1) / NR * NR;
        else if (tm > 2 * MR)
            tm = (tm / 2 + MR - 1) / MR * MR;
        else
            break;
    }
    g.tile_m = tm;
    g.tile_n = tn;
    g.tiles_n = (n + tn - 1) / tn;
    size_t ntiles = (size_t)(((m + tm - 1) / tm) * g.tiles_n);
    synap_pool_for(pool, ntiles, 1, gemm_task, &g);
}
