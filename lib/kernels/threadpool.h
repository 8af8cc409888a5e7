/* A small fixed thread pool for splitting work inside a kernel.
 * Work is split into contiguous ranges; each index is computed by exactly one
 * thread, so results never depend on the number of threads. */
#ifndef SYNAP_POOL_H
#define SYNAP_POOL_H

#include <stddef.h>

struct synap_pool;

/* nthreads <= 1 gives a pool that runs everything on the caller's thread. */
struct synap_pool *synap_pool_new(int nthreads);
void synap_pool_free(struct synap_pool *p);
int synap_pool_nthreads(const struct synap_pool *p); /* 1 for NULL */

/* Calls fn(arg, begin, end) over [0, n) split into ranges of at least `grain`
 * items, on the pool's threads and the caller's, and returns when all are
 * done. p may be NULL (runs inline). Not reentrant: kernels call it from the
 * interpreter's thread only. */
void synap_pool_for(struct synap_pool *p, size_t n, size_t grain,
                    void (*fn)(void *arg, size_t begin, size_t end), void *arg);

#endif
