/* A fixed pool of worker threads that split index ranges. Ranges are handed
 * out from an atomic counter; since every index is computed by exactly one
 * call, the result never depends on which thread ran it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kernels/threadpool.h"
#include "util/util.h"

struct synap_pool {
    int nthreads; /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    unsigned long generation;
    int stop;
    int active; /* workers still inside the current job */
    /* the current job */
    void (*fn)(void *, size_t, size_t);
    void *arg;
    size_t n, chunk, nchunks;
    atomic_size_t next;
};

static void run_chunks(struct synap_pool *p)
{
    for (;;) {
        size_t c = atomic_fetch_add(&p->next, 1);
        if (c >= p->nchunks) break;
        size_t b = c * p->chunk, e = b + p->chunk;
        if (e > p->n) e = p->n;
        p->fn(p->arg, b, e);
    }
}

static void *worker(void *arg)
{
    struct synap_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct synap_pool *synap_pool_new(int nthreads)
{
    struct synap_pool *p = synap_xcalloc(1, sizeof *p);
    p->nthreads = nthreads < 1 ? 1 : nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (p->nthreads > 1) {
        p->threads = synap_xcalloc((size_t)p->nthreads - 1, sizeof *p->threads);
        for (int i = 0; i < p->nthreads - 1; i++)
            if (pthread_create(&p->threads[i], NULL, worker, p)) {
                p->nthreads = i + 1; /* run with what we got */
                break;
            }
    }
    return p;
}

void synap_pool_free(struct synap_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int synap_pool_nthreads(const struct synap_pool *p) { return p ? p->nthreads : 1; }

void synap_pool_for(struct synap_pool *p, size_t n, size_t grain,
                    void (*fn)(void *arg, size_t begin, size_t end), void *arg)
{
    if (n == 0) return;
    if (grain == 0) grain = 1;
    if (!p || p->nthreads == 1 || n <= grain) {
        fn(arg, 0, n);
        return;
    }
    /* a few chunks per thread balance uneven work */
    size_t want = (size_t)p->nthreads * 4;
    size_t chunk = (n + want - 1) / want;
    if (chunk < grain) chunk = grain;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    p->nchunks = (n + chunk - 1) / chunk;
    atomic_store(&p->next, 0);
    pthread_mutex_lock(&p->mu);
    p->active = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
