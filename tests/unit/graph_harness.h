/* Helpers the unit tests share for graphs they build by hand: seeded random
 * float constants, quantization records, one-in one-out nodes and the graph's
 * one input and output. Everything is static inline, so a
 * test compiles only what it uses; the random generator's state is the
 * caller's, so each test seeds and replays its own sequence. */
#ifndef SYNAP_TESTS_GRAPH_HARNESS_H
#define SYNAP_TESTS_GRAPH_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

/* Uniform in [-1, 1): a 32-bit LCG, the top 24 bits. */
static inline float gh_rnd(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* A float32 constant of the given shape, uniform in [lo, hi). */
static inline uint32_t gh_rand_const(struct synap_graph *g, uint32_t *state, const char *name,
                                     int rank, const int64_t *dims, float lo, float hi)
{
    int64_t n = synap_shape_nelem(rank, dims);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (gh_rnd(state) + 1.0f) * 0.5f * (hi - lo);
    uint32_t t =
        synap_graph_add_const(g, name, SYNAP_DTYPE_FLOAT32, rank, dims, v, (size_t)n * sizeof *v);
    free(v);
    return t;
}

/* Gives tensor t n scales and zero points: asymmetric affine when n is 1,
 * per-channel symmetric affine along `axis` otherwise. */
static inline void gh_set_quant(struct synap_graph *g, uint32_t t, size_t n, const float *scale,
                                const int32_t *zp, int axis)
{
    struct synap_quant *q = synap_arena_alloc(g->arena, sizeof *q);
    memset(q, 0, sizeof *q);
    q->scheme = n > 1 ? SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE : SYNAP_QSCHEME_ASYMMETRIC_AFFINE;
    q->nparams = n;
    q->scale = synap_arena_alloc(g->arena, n * sizeof(float));
    q->zero_point = synap_arena_alloc(g->arena, n * sizeof(int32_t));
    memcpy(q->scale, scale, n * sizeof(float));
    memcpy(q->zero_point, zp, n * sizeof(int32_t));
    q->axis = axis;
    g->tensors[t].quant = q;
}

/* Makes x the graph's one input and y its one output. */
static inline void gh_set_io(struct synap_graph *g, uint32_t x, uint32_t y)
{
    g->inputs = synap_arena_memdup(g->arena, &x, sizeof x);
    g->ninputs = 1;
    g->outputs = synap_arena_memdup(g->arena, &y, sizeof y);
    g->noutputs = 1;
}

/* Adds node `name`: one input x, one output y. */
static inline struct synap_node *gh_node1(struct synap_graph *g, const char *name, enum synap_op op,
                                          uint32_t x, uint32_t y)
{
    struct synap_node *n = synap_graph_add_node(g, name, op, 1, 1);
    n->inputs[0] = x;
    n->outputs[0] = y;
    return n;
}

#endif
