/* One node run through its kernel as the interpreter runs it: a one-node
 * graph, infer (with chosen inputs hidden from it), outputs allocated from the
 * inferred shapes, run on 1 or N threads, and the comparisons the kernel tests
 * share. Included by the tests/unit/test_<family>.c files; everything is
 * static inline, so a test compiles only what it uses.
 *
 * A file may define KH_DEFAULT_HIDDEN before including this to change which
 * inputs infer sees without data by default (bit i: input i is a runtime
 * tensor); the default 0 treats every input as a constant, as after folding. */
#ifndef SYNAP_TESTS_KERNEL_HARNESS_H
#define SYNAP_TESTS_KERNEL_HARNESS_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernel.h"

#ifndef KH_DEFAULT_HIDDEN
#define KH_DEFAULT_HIDDEN 0u
#endif

#define KH_MAX_IN 9  /* QLinearConv */
#define KH_MAX_OUT 8 /* Split */
/* Bytes after each output buffer that the kernel must leave alone: a write
 * past the inferred size fails the test even without a sanitizer. */
#define KH_GUARD_NBYTES 16
#define KH_GUARD_BYTE 0xA5

struct kh {
    struct synap_graph *g;
    struct synap_node *node;
    struct synap_value in[KH_MAX_IN]; /* data borrowed from the test */
    size_t nin;
    struct synap_value out[KH_MAX_OUT]; /* data owned, freed by kh_free */
    size_t nout;
    unsigned hidden; /* bit i: infer sees input i without its data */
    void *scratch;
    size_t scratch_nbytes;
    struct synap_err err;
};

/* One input of a table (kh_inputs); data NULL is an omitted optional input. */
struct kh_input {
    enum synap_dtype dtype;
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    const void *data;
};

static inline size_t kh_nbytes(const struct synap_value *v)
{
    int64_t n = synap_value_nelem(v);
    assert_true(n >= 0);
    return (size_t)n * synap_dtype_size(v->dtype);
}

/* A graph with one node "n" of nin inputs and nout outputs, every output
 * listed (set node->outputs[j] = SYNAP_NONE to omit one). Returns the node,
 * borrowed until kh_free. */
static inline struct synap_node *kh_new(struct kh *t, enum synap_op op, size_t nin, size_t nout)
{
    assert_true(nin <= KH_MAX_IN && nout <= KH_MAX_OUT);
    memset(t, 0, sizeof *t);
    t->g = synap_graph_new();
    t->node = synap_graph_add_node(t->g, "n", op, nin, nout);
    for (size_t j = 0; j < nout; j++)
        t->node->outputs[j] = (uint32_t)j; /* any index: the output is wanted */
    t->nin = nin;
    t->nout = nout;
    t->hidden = KH_DEFAULT_HIDDEN;
    return t->node;
}

static inline void kh_free_outputs(struct kh *t)
{
    for (size_t j = 0; j < KH_MAX_OUT; j++) {
        free(t->out[j].data);
        memset(&t->out[j], 0, sizeof t->out[j]);
    }
}

static inline void kh_free(struct kh *t)
{
    kh_free_outputs(t);
    free(t->scratch);
    synap_graph_free(t->g);
    memset(t, 0, sizeof *t);
}

/* Input i borrows `data` (NULL: shape and type only, no data at all). */
static inline void kh_in(struct kh *t, size_t i, enum synap_dtype dt, int rank, const int64_t *dims,
                         const void *data)
{
    assert_true(i < KH_MAX_IN && rank >= 0 && rank <= SYNAP_MAX_RANK);
    t->in[i].dtype = dt;
    t->in[i].rank = rank;
    if (rank > 0) memcpy(t->in[i].dims, dims, (size_t)rank * sizeof *dims);
    t->in[i].data = (void *)data;
}

/* Replaces the inputs by a table of nin; entries without data are omitted
 * optional inputs (SYNAP_DTYPE_UNDEFINED, as the importer leaves them). */
static inline void kh_inputs(struct kh *t, const struct kh_input *in, size_t nin)
{
    assert_true(nin <= KH_MAX_IN);
    memset(t->in, 0, sizeof t->in);
    t->nin = nin;
    for (size_t i = 0; i < nin; i++)
        if (in[i].data) kh_in(t, i, in[i].dtype, in[i].rank, in[i].dims, in[i].data);
}

static inline struct synap_kctx kh_ctx(struct kh *t, const struct synap_value *in)
{
    struct synap_kctx c = {.graph = t->g,
                           .node = t->node,
                           .in = in,
                           .nin = t->nin,
                           .out = t->out,
                           .nout = t->nout,
                           .err = &t->err};
    return c;
}

/* Shape inference only: fills the outputs' dtype and dims (no data) and
 * scratch_nbytes. Returns -1 with t->err on failure. */
static inline int kh_infer(struct kh *t)
{
    kh_free_outputs(t);
    struct synap_value in[KH_MAX_IN];
    memcpy(in, t->in, sizeof in);
    for (size_t i = 0; i < t->nin; i++)
        if (t->hidden & (1u << i)) in[i].data = NULL;
    struct synap_kctx c = kh_ctx(t, in);
    int rc = synap_kernel_get(t->node->op)->infer(&c);
    t->scratch_nbytes = c.scratch_nbytes;
    return rc;
}

static inline void kh_check_guards(const struct kh *t)
{
    for (size_t j = 0; j < t->nout; j++) {
        const unsigned char *p = (const unsigned char *)t->out[j].data + kh_nbytes(&t->out[j]);
        for (size_t k = 0; k < KH_GUARD_NBYTES; k++)
            if (p[k] != KH_GUARD_BYTE)
                fail_msg("output %zu: the kernel wrote past its %zu bytes", j,
                         kh_nbytes(&t->out[j]));
    }
}

/* Infers, allocates zeroed outputs of exactly the inferred size (plus a
 * checked guard) and scratch of exactly scratch_nbytes, and runs on `pool`
 * (NULL: one thread). Returns -1 with t->err on failure. */
static inline int kh_run(struct kh *t, struct synap_pool *pool)
{
    if (kh_infer(t) < 0) return -1;
    for (size_t j = 0; j < t->nout; j++) {
        size_t n = kh_nbytes(&t->out[j]);
        unsigned char *p = synap_xmalloc(n + KH_GUARD_NBYTES);
        memset(p, 0, n);
        memset(p + n, KH_GUARD_BYTE, KH_GUARD_NBYTES);
        t->out[j].data = p;
    }
    free(t->scratch);
    t->scratch = t->scratch_nbytes ? synap_xaligned(t->scratch_nbytes) : NULL;
    struct synap_kctx c = kh_ctx(t, t->in);
    c.scratch = t->scratch;
    c.scratch_nbytes = t->scratch_nbytes;
    c.pool = pool;
    int rc = synap_kernel_get(t->node->op)->run(&c);
    kh_check_guards(t);
    return rc;
}

/* Runs on one thread, then on `nthreads`; when both succeed, every listed
 * output must be bit-identical. Returns the first failing run's -1 (t->err),
 * else 0 with the outputs of the threaded run in t->out. */
static inline int kh_run_threads(struct kh *t, int nthreads)
{
    if (kh_run(t, NULL) < 0) return -1;
    void *ref[KH_MAX_OUT];
    for (size_t j = 0; j < t->nout; j++) {
        size_t n = kh_nbytes(&t->out[j]);
        ref[j] = synap_xmalloc(n + 1);
        memcpy(ref[j], t->out[j].data, n);
    }
    struct synap_pool *pool = synap_pool_new(nthreads);
    int rc = kh_run(t, pool);
    synap_pool_free(pool);
    for (size_t j = 0; j < t->nout; j++) {
        if (rc == 0 && t->node->outputs[j] != SYNAP_NONE)
            assert_memory_equal(ref[j], t->out[j].data, kh_nbytes(&t->out[j]));
        free(ref[j]);
    }
    return rc;
}

/* ---- comparisons ------------------------------------------------------------- */

static inline void kh_expect_dims(const struct synap_value *v, int rank, const int64_t *dims)
{
    assert_int_equal(v->rank, rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(v->dims[d], dims[d]);
}

/* |got - want| <= atol + rtol * |want|; NaN only matches NaN, inf only itself. */
static inline void kh_expect_close(const struct synap_value *v, const double *want, int64_t n,
                                   double rtol, double atol)
{
    assert_int_equal(synap_value_nelem(v), n);
    for (int64_t i = 0; i < n; i++) {
        double got = synap_value_get_f64(v, i), w = want[i];
        bool ok = isnan(w)   ? isnan(got)
                  : isinf(w) ? got == w
                             : fabs(got - w) <= atol + rtol * fabs(w);
        if (!ok) fail_msg("element %lld: got %.9g, want %.9g", (long long)i, got, w);
    }
}

static inline void kh_expect_ints(const struct synap_value *v, const int64_t *want, int64_t n)
{
    assert_int_equal(synap_value_nelem(v), n);
    for (int64_t i = 0; i < n; i++)
        if (synap_value_get_i64(v, i) != want[i])
            fail_msg("element %lld: got %lld, want %lld", (long long)i,
                     (long long)synap_value_get_i64(v, i), (long long)want[i]);
}

/* A float32 output equal to `want` element for element. */
static inline void kh_expect_floats(const struct synap_value *v, const float *want, int64_t n)
{
    assert_int_equal(v->dtype, SYNAP_DTYPE_FLOAT32);
    assert_int_equal(synap_value_nelem(v), n);
    const float *got = v->data;
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("element %lld: got %g, want %g", (long long)i, got[i], want[i]);
}

/* The node fails (in infer or run, one thread) with exactly `msg`. */
static inline void kh_expect_error(struct kh *t, const char *msg)
{
    assert_int_equal(kh_run(t, NULL), -1);
    assert_string_equal(t->err.msg, msg);
}

#endif
