/* Code generation for a target (synap-codegen): BatchNorm folding, layer
 * fusion with SyNAP-style layer types, per-layer cost estimates and a
 * liveness-based memory plan per subgraph, recorded in the IR's "codegen"
 * section. Contract: /work/notes/convert-design.md §6.
 *
 * THE "codegen" SECTION, VERSION 1 (one msgpack map, keys in this order)
 *   "version":   1
 *   "target":    str                 canonical target name ("VS680")
 *   "layers":    [layer...]          fused layers, ordered by their first node
 *   "subgraphs": [subgraph...]       ordered by id
 * layer: map, keys in order
 *   "id": uint (= its index)   "name": str (its first node's name)
 *   "type": str ("ConvolutionReluPoolingLayer")   "subgraph": uint
 *   "nodes": [uint...] node indices, ascending, each node in exactly one layer
 *   "macs", "bytes_read", "bytes_written", "cycles": uint
 * subgraph: map, keys in order
 *   "id": uint   "delegate": str   "arena_bytes": uint (a multiple of 64)
 *   "tensors": [[tensor index, offset, nbytes]...] sorted by tensor index;
 *              offset a multiple of 64, offset + nbytes <= arena_bytes
 * Integers are packed in their shortest form, so the bytes are deterministic.
 *
 * Weights. "Packed" in this issue means: every constant is stored contiguous,
 * row-major, in exactly the layout the float kernels read (Conv/ConvTranspose
 * weights OIHW / IOHW = the row-major GEMM A operand; Gemm/MatMul B as given),
 * each at a 64-byte aligned offset of the IR blob (lib/ir/io.c aligns them),
 * so the runtime maps them in place. There is no further re-layout (no tiling
 * or interleaving for an NPU) yet; BatchNorm folding writes new weights in
 * that same layout.
 *
 * Cost model. MACs: Conv N*Co*prod(out spatial)*Ci/group*prod(kernel);
 * ConvTranspose N*Ci*prod(in spatial)*Co/group*prod(kernel); Gemm/MatMul
 * M*N*K*batch; other ops 0. bytes_read: the layer's non-constant inputs plus
 * its constants (weights); bytes_written: the tensors it produces that are
 * used outside it (or are graph outputs). cycles (npu only; 0 elsewhere or
 * without NPU facts): ceil(max(MACs / macs_per_cycle(dtype: float -> float16,
 * 8-bit -> int8, 16-bit -> int16), bytes / (ddr_bandwidth_mb_s * 1e6 bytes/s /
 * (clock_mhz * 1e6 Hz)))).
 *
 * Memory plan. Per subgraph, every non-constant tensor that is neither a
 * subgraph input nor a subgraph output (nor a graph input/output) lives in
 * one arena. Liveness = [producer index, last consumer index] in node order;
 * placement greedy, largest first (ties: lower tensor index), at the lowest
 * 64-aligned offset not overlapping any placed tensor with intersecting
 * liveness. arena_bytes = the peak (highest end, rounded up to 64). */
#ifndef SYNAP_CODEGEN_H
#define SYNAP_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "target/target.h"

#define SYNAP_CODEGEN_VERSION 1

struct synap_codegen_layer {
    uint32_t id;       /* its index in info->layers */
    const char *name;  /* the first node's name */
    const char *type;  /* "ConvolutionReluLayer", "EltwiseLayer", ... */
    uint32_t subgraph; /* subgraph id */
    uint32_t *nodes;   /* node indices, ascending */
    size_t nnodes;
    uint64_t macs, bytes_read, bytes_written, cycles;
};

struct synap_codegen_tensor {
    uint32_t tensor; /* tensor index in the graph */
    uint64_t offset; /* in the subgraph's arena, 64-aligned */
    uint64_t nbytes; /* the tensor's byte size */
};

struct synap_codegen_subgraph {
    uint32_t id;
    const char *delegate;                 /* "npu", "gpu", "cpu" */
    uint64_t arena_bytes;                 /* peak of the memory plan, multiple of 64 */
    struct synap_codegen_tensor *tensors; /* sorted by tensor index */
    size_t ntensors;
};

/* Everything lives in `arena` (strings and arrays included) and dies with
 * synap_codegen_info_free. A zeroed struct is a valid empty info. Writers
 * (pack, restricting it to one subgraph) may build one by hand: set arena
 * to synap_arena_new() or leave it NULL and own the arrays themselves. */
struct synap_codegen_info {
    struct synap_arena *arena;
    const char *target;
    struct synap_codegen_layer *layers;
    size_t nlayers;
    struct synap_codegen_subgraph *subgraphs;
    size_t nsubgraphs;
};

/* What one synap_codegen call did (for -v; not serialized). */
struct synap_codegen_stats {
    size_t nfolded;      /* BatchNormalization nodes folded into convolutions */
    size_t nbias_folded; /* Adds of a per-channel constant folded into a conv bias */
    bool unpartitioned;  /* input had subgraph -1 everywhere: one subgraph 0 on
                            the target's default delegate was assumed */
    size_t nlayers, nsubgraphs;
};

/* The whole stage on a graph (modified in place): checks the partition
 * annotations (every node in a subgraph with one delegate per subgraph, or
 * none at all -> subgraph 0 on t->delegates[0], written into the nodes),
 * folds BatchNorm (synap_codegen_fold_batchnorm), fuses layers, plans memory,
 * estimates costs and stores the "codegen" section. `info` (may be NULL)
 * receives the result (caller frees with synap_codegen_info_free); `stats`
 * may be NULL. Errors name the node; -1 with err. */
int synap_codegen(struct synap_graph *g, const struct synap_target *t,
                  struct synap_codegen_info *info, struct synap_codegen_stats *stats,
                  struct synap_err *err);

/* Folds into a Conv or ConvTranspose whose output has no other use (same
 * subgraph and delegate, float32 constant weights): a following
 * BatchNormalization (inference mode), and a following Add of a
 * per-channel constant (a bias that exporters such as paddle2onnx emit
 * separately; folding it first lets the BatchNorm behind it fold too).
 * New constant weights/bias are written in the kernels' layout; the conv
 * keeps its name and takes over the folded node's output tensor (so names
 * downstream stay); the folded node and the unused tensors vanish (indices
 * renumbered, order kept). Counts in *nfolded (BatchNorms) and *nbias (bias
 * Adds); either may be NULL. */
int synap_codegen_fold_batchnorm(struct synap_graph *g, size_t *nfolded, size_t *nbias,
                                 struct synap_err *err);

/* Serializes info as the graph's "codegen" section (replacing one). */
int synap_codegen_section_write(struct synap_graph *g, const struct synap_codegen_info *info,
                                struct synap_err *err);

/* Parses and validates the "codegen" section of g: every count, node and
 * tensor index, subgraph reference, offset, size and alignment is checked
 * against the graph, and the memory plan with synap_codegen_verify_plan.
 * Returns 1 with *info filled (caller frees with synap_codegen_info_free),
 * 0 when g has no such section (*info zeroed), -1 with err when it is
 * damaged ("codegen section: layer 3: node 812 out of range (120 nodes)"). */
int synap_codegen_section_read(const struct synap_graph *g, struct synap_codegen_info *info,
                               struct synap_err *err);

void synap_codegen_info_free(struct synap_codegen_info *info);

/* Checks a memory plan against the graph: per subgraph, tensors in range,
 * non-constant, not graph inputs, listed once, nbytes = the tensor's size,
 * 64-aligned, inside arena_bytes, and no two tensors whose liveness
 * intervals ([producer, last consumer] in node order) intersect overlap in
 * memory. -1 with err naming both tensors. */
int synap_codegen_verify_plan(const struct synap_graph *g, const struct synap_codegen_info *info,
                              struct synap_err *err);

/* The per-tensor offsets of subgraph index `s` (info->subgraphs[s]) for
 * synap_plan_opts: offsets[ntensors] (caller's array) = -1 except the
 * planned tensors; *arena_nbytes = arena_bytes. -1 with err if a tensor
 * index is >= ntensors or s is out of range. */
int synap_codegen_arena_offsets(const struct synap_codegen_info *info, size_t s, size_t ntensors,
                                int64_t *offsets, size_t *arena_nbytes, struct synap_err *err);

#endif
