/* Running model.synap: a ZIP of per-subgraph IRs wired together by bundle.json.
 *
 * The archive layout is specified in lib/pack/pack.c (convert-design §7):
 *   bundle.json   {"graph": [{"inputs": [{"subgraph": k, "out": j}, ...],
 *                             "model": "i/model.ir", "meta": "i/model.json"}, ...],
 *                  "outputs": [{"subgraph": k, "out": j}, ...]}
 *                 input m of subgraph i is output j of subgraph k, or network input j
 *                 when k == -1; the network's outputs likewise.
 *   i/model.ir    the subgraph's IR, stored uncompressed at a 64-aligned offset, so
 *                 its constants are used in place (no copy)
 *   i/model.json  its tensor descriptions (delegate, Inputs, Outputs)
 *
 * Every subgraph gets its own plan (with codegen's memory plan when the IR has a
 * "codegen" section); subgraphs run in dependency order, and the subgraphs of one
 * dependency level run concurrently, each on its own thread with its share of
 * the threads. Results do not depend on the thread count or the scheduling:
 * each subgraph computes deterministically from its inputs.
 */
#ifndef SYNAP_BUNDLE_H
#define SYNAP_BUNDLE_H

#include <stdbool.h>

#include "runtime/plan.h"

/* True when the bytes start like a ZIP archive ("PK\3\4"). */
bool synap_bundle_is_zip(const void *data, size_t n);

struct synap_bundle;

/* Reads and validates model.synap from bytes (e.g. a mapped file): the archive,
 * bundle.json, each model.json and each subgraph's IR (constants point into
 * `data`, which must outlive the bundle), the wiring (indices in range, shapes
 * and dtypes of connected tensors equal, no cycles, every network input used).
 * `what` (the file name) starts every message. Caller frees with
 * synap_bundle_free. NULL with err on failure. */
struct synap_bundle *synap_bundle_open_mem(const uint8_t *data, size_t n, const char *what,
                                           struct synap_err *err);
/* Same from a file, which stays mapped until synap_bundle_free. */
struct synap_bundle *synap_bundle_open(const char *path, struct synap_err *err);
/* A bundle of one subgraph around an IR graph (synap-run on an .ir file), so
 * that IR files and archives run, time and profile the same way. Takes
 * ownership of g (freed with the bundle, also on failure). */
struct synap_bundle *synap_bundle_from_graph(struct synap_graph *g, const char *what,
                                             struct synap_err *err);
void synap_bundle_free(struct synap_bundle *b);

struct synap_bundle_opts {
    int nthreads;       /* <= 0: synap_default_threads() */
    bool no_arena;      /* ignore codegen's memory plan (each tensor its own buffer) */
    bool profile;       /* measure the time of every node (synap_bundle_layers) */
};

/* Builds every subgraph's plan (shapes, buffers, kernels). Call once, before
 * running. Errors name the file and the subgraph. */
int synap_bundle_prepare(struct synap_bundle *b, const struct synap_bundle_opts *o,
                         struct synap_err *err);

size_t synap_bundle_nsubgraphs(const struct synap_bundle *b);
/* "npu", "cpu", ... from the subgraph's model.json ("" when it has none). */
const char *synap_bundle_subgraph_delegate(const struct synap_bundle *b, size_t i);
/* The subgraph's IR (borrowed until synap_bundle_free). */
const struct synap_graph *synap_bundle_subgraph_graph(const struct synap_bundle *b, size_t i);

size_t synap_bundle_ninputs(const struct synap_bundle *b);
size_t synap_bundle_noutputs(const struct synap_bundle *b);
/* Tensor names (from the subgraph IR that consumes / produces it). */
const char *synap_bundle_input_name(const struct synap_bundle *b, size_t i);
const char *synap_bundle_output_name(const struct synap_bundle *b, size_t i);
/* The buffer of network input i (dtype and shape set, valid after open):
 * fill it before running. */
struct synap_value *synap_bundle_input(struct synap_bundle *b, size_t i);
/* Network output i after a run; borrowed until the next run. Before
 * prepare, only dtype and shape are meaningful. */
const struct synap_value *synap_bundle_output(const struct synap_bundle *b, size_t i);

/* Runs every subgraph once. Errors name the file, the subgraph and the node. */
int synap_bundle_run(struct synap_bundle *b, struct synap_err *err);

/* One fused layer (codegen's "layers"; one per node when the IR has no codegen
 * section), with the time measured in the last run when profiling. */
struct synap_bundle_layer {
    int64_t id;       /* index over all subgraphs' layers (the lyr column) */
    const char *name; /* first node's name */
    const char *type; /* "ConvolutionReluLayer" */
    int64_t subgraph; /* index in bundle.json's graph */
    int64_t macs, bytes_read, bytes_written, cycles;
    double time_us; /* sum of its nodes' times in the last run */
};
/* Every subgraph's layers in subgraph order (borrowed until synap_bundle_free;
 * times updated by each run). */
const struct synap_bundle_layer *synap_bundle_layers(const struct synap_bundle *b, size_t *n);

/* Writes REFERENCE.md's profiling table:
 *   pid: P, nid: 1, inference_count: C, inference_time: T, inference_last: L,
 *   iobuf_count: N, iobuf_size: S, layers: K
 *   | lyr |   cycle | time_us | byte_rd | byte_wr | type
 *   |   0 |   12345 |     821 |  151212 | 1703936 | ConvolutionReluPoolingLayer
 * T and L in microseconds (the sum of all runs' and the last run's times as
 * given); the layer times are those of the last run. The text is returned
 * (caller frees). */
char *synap_bundle_profile_text(const struct synap_bundle *b, long pid, long inference_count,
                                double total_us, double last_us);

#endif
