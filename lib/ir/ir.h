/* The synap IR in memory: tensors, nodes and graphs, with their builder API.
 * The on-disk format (msgpack) is specified in lib/ir/io.c. */
#ifndef SYNAP_IR_H
#define SYNAP_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "ir/ops.h"

#define SYNAP_MAX_RANK 8
#define SYNAP_NONE UINT32_MAX /* an omitted optional input */

/* X(ENUM, "name", element size in bytes) — the one list of element types. */
#define SYNAP_DTYPES(X)                                                                            \
    X(FLOAT32, "float32", 4)                                                                       \
    X(FLOAT16, "float16", 2)                                                                       \
    X(BFLOAT16, "bfloat16", 2)                                                                     \
    X(FLOAT64, "float64", 8)                                                                       \
    X(INT8, "int8", 1)                                                                             \
    X(UINT8, "uint8", 1)                                                                           \
    X(INT16, "int16", 2)                                                                           \
    X(UINT16, "uint16", 2)                                                                         \
    X(INT32, "int32", 4)                                                                           \
    X(UINT32, "uint32", 4)                                                                         \
    X(INT64, "int64", 8)                                                                           \
    X(UINT64, "uint64", 8)                                                                         \
    X(BOOL, "bool", 1)

enum synap_dtype {
    SYNAP_DTYPE_UNDEFINED = 0,
#define X(e, n, s) SYNAP_DTYPE_##e,
    SYNAP_DTYPES(X)
#undef X
        SYNAP_DTYPE_COUNT
};

const char *synap_dtype_name(enum synap_dtype t);      /* "float32"; "undefined" */
enum synap_dtype synap_dtype_from_name(const char *s); /* UNDEFINED when unknown */
size_t synap_dtype_size(enum synap_dtype t);           /* 0 for UNDEFINED */
bool synap_dtype_is_float(enum synap_dtype t);         /* f16, bf16, f32, f64 */
bool synap_dtype_is_int(enum synap_dtype t);           /* signed/unsigned ints, not bool */
/* ONNX TensorProto.DataType numbers, which canonical ops keep in attributes
 * (Cast's `to`, EyeLike's `dtype`); UNDEFINED for types synap lacks. */
enum synap_dtype synap_dtype_from_onnx(int64_t onnx_type);

/* Quantization parameters of a tensor (room for the quantization issue). */
enum synap_qscheme {
    SYNAP_QSCHEME_NONE = 0,
    SYNAP_QSCHEME_ASYMMETRIC_AFFINE,
    SYNAP_QSCHEME_SYMMETRIC_AFFINE,
    SYNAP_QSCHEME_PERCHANNEL_SYMMETRIC_AFFINE,
    SYNAP_QSCHEME_DYNAMIC_FIXED_POINT,
};
const char *synap_qscheme_name(enum synap_qscheme s);
enum synap_qscheme synap_qscheme_from_name(const char *s); /* NONE when unknown */

struct synap_quant {
    enum synap_qscheme scheme;
    size_t nparams;      /* 1 per tensor, or dims[axis] per channel */
    float *scale;        /* nparams */
    int32_t *zero_point; /* nparams */
    int32_t axis;        /* channel axis, -1 per tensor */
    int32_t fl;          /* fraction length (dynamic fixed point) */
};

struct synap_tensor {
    const char *name; /* the source model's tensor name, kept exactly */
    enum synap_dtype dtype;
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    struct synap_quant *quant; /* NULL: not quantized */
    const void *data;          /* constant contents, or NULL (activation / graph input) */
    size_t nbytes;             /* bytes of data when data != NULL */
};

/* Elements of a shape; -1 on overflow (caller reports it). Rank 0 is 1 element. */
int64_t synap_shape_nelem(int rank, const int64_t *dims);
/* "[1, 3, 224, 224]" into buf (always terminated). */
const char *synap_shape_str(int rank, const int64_t *dims, char *buf, size_t n);

enum synap_attr_type {
    SYNAP_ATTR_INT = 1,
    SYNAP_ATTR_FLOAT,
    SYNAP_ATTR_STRING,
    SYNAP_ATTR_INTS,
    SYNAP_ATTR_FLOATS,
    SYNAP_ATTR_STRINGS,
    SYNAP_ATTR_TENSOR, /* `i` is the index of a constant tensor in the graph */
};

struct synap_attr {
    const char *name;
    enum synap_attr_type type;
    int64_t i;
    float f;
    const char *s;
    size_t n; /* count for INTS / FLOATS / STRINGS */
    const int64_t *ints;
    const float *floats;
    const char *const *strings;
};

struct synap_node {
    const char *name; /* the source model's layer name, kept exactly */
    enum synap_op op;
    uint32_t *inputs; /* tensor indices; SYNAP_NONE for an omitted optional input */
    size_t ninputs;
    uint32_t *outputs;
    size_t noutputs;
    struct synap_attr *attrs; /* sorted by name */
    size_t nattrs;
    /* annotations of later stages */
    const char *delegate; /* NULL until partition */
    int32_t subgraph;     /* -1 until partition */
};

/* A graph owns one arena: its tensors, nodes, names and constant data die
 * together. Constant data may instead point into a mapped IR file that the
 * graph also owns. */
struct synap_graph {
    struct synap_arena *arena;
    struct synap_tensor *tensors;
    size_t ntensors, cap_tensors;
    struct synap_node *nodes; /* topologically sorted once verified */
    size_t nnodes, cap_nodes;
    uint32_t *inputs;
    size_t ninputs;
    uint32_t *outputs;
    size_t noutputs;
    const char *producer; /* "synap-import 0.1.0" */
    /* The "meta" section as raw msgpack bytes (metafile parts already applied);
     * NULL/0 when empty. Preserved across read and write. */
    const uint8_t *meta;
    size_t meta_nbytes;
    /* Stage sections ("codegen", ...): one msgpack map, keys sorted, raw
     * bytes preserved like meta; NULL/0 when empty. Use the accessors. */
    const uint8_t *sections;
    size_t sections_nbytes;
    struct synap_file file; /* the mapped IR file, when read from one */
};

struct synap_graph *synap_graph_new(void);
void synap_graph_free(struct synap_graph *g);

/* Adds a tensor (no data, no quant); returns its index. name is copied. */
uint32_t synap_graph_add_tensor(struct synap_graph *g, const char *name, enum synap_dtype dtype,
                                int rank, const int64_t *dims);
/* Adds a constant: data is copied into the arena. */
uint32_t synap_graph_add_const(struct synap_graph *g, const char *name, enum synap_dtype dtype,
                               int rank, const int64_t *dims, const void *data, size_t nbytes);
/* Index of the tensor named `name`, or SYNAP_NONE. Linear search. */
uint32_t synap_graph_find_tensor(const struct synap_graph *g, const char *name);
/* Appends a node with room for nin inputs and nout outputs (filled with
 * SYNAP_NONE). The pointer is valid until the next add_node. name is copied. */
struct synap_node *synap_graph_add_node(struct synap_graph *g, const char *name, enum synap_op op,
                                        size_t nin, size_t nout);

/* Attribute setters keep attrs sorted by name and replace an existing one. */
void synap_node_set_int(struct synap_graph *g, struct synap_node *n, const char *name, int64_t v);
void synap_node_set_float(struct synap_graph *g, struct synap_node *n, const char *name, float v);
void synap_node_set_string(struct synap_graph *g, struct synap_node *n, const char *name,
                           const char *v);
void synap_node_set_ints(struct synap_graph *g, struct synap_node *n, const char *name,
                         const int64_t *v, size_t count);
void synap_node_set_floats(struct synap_graph *g, struct synap_node *n, const char *name,
                           const float *v, size_t count);
void synap_node_set_strings(struct synap_graph *g, struct synap_node *n, const char *name,
                            const char *const *v, size_t count);
void synap_node_set_tensor(struct synap_graph *g, struct synap_node *n, const char *name,
                           uint32_t tensor);
void synap_node_remove_attr(struct synap_node *n, const char *name);

/* Attribute getters (binary search); absent attributes give the default. */
const struct synap_attr *synap_node_attr(const struct synap_node *n, const char *name);
int64_t synap_attr_int(const struct synap_node *n, const char *name, int64_t def);
float synap_attr_float(const struct synap_node *n, const char *name, float def);
const char *synap_attr_string(const struct synap_node *n, const char *name, const char *def);
/* Number of ints (0 if absent); *v borrowed from the graph. */
size_t synap_attr_ints(const struct synap_node *n, const char *name, const int64_t **v);
size_t synap_attr_floats(const struct synap_node *n, const char *name, const float **v);

/* Structural checks: indices in range, dtypes and ranks valid, shapes
 * non-negative without overflow, constant byte counts matching, each tensor
 * produced at most once, nodes in topological order (so no cycles), inputs
 * and outputs valid, op arity within the op table's limits.
 * `what` (a file name) prefixes the message. */
int synap_graph_verify(const struct synap_graph *g, const char *what, struct synap_err *err);

/* Sorts nodes topologically (stable: keeps the given order where it can).
 * Fails naming a node on a cycle. */
int synap_graph_toposort(struct synap_graph *g, struct synap_err *err);

/* Removes nodes whose outputs are all constant or not needed for the graph
 * outputs, and tensors nothing refers to (graph inputs always stay);
 * renumbers indices, keeping relative order. */
void synap_graph_prune_dead(struct synap_graph *g);

/* Who uses each tensor: the producing node (-1: none), the number of input
 * slots naming it, the last consuming node (-1: none; the only one when
 * nuses == 1) and whether it is a graph output. Out-of-range indices are
 * skipped. Free with synap_uses_free. */
struct synap_uses {
    int64_t *producer, *consumer;
    uint32_t *nuses;
    unsigned char *is_output;
};
void synap_uses_build(const struct synap_graph *g, struct synap_uses *u);
void synap_uses_free(struct synap_uses *u);

/* The values of tensor t when it is an unquantized float32 constant of
 * nelem elements (-1: any count); *count (may be NULL) gets its element
 * count. NULL otherwise. */
const float *synap_const_f32(const struct synap_graph *g, uint32_t t, int64_t nelem,
                             int64_t *count);

/* Graph rewrites (lib/ir/fuse.c) that keep the function and remove layers:
 *   SYNAP_FUSE_BN        BatchNormalization (inference) and Add/Sub of a
 *                        per-channel constant (an exported bias) after a
 *                        Conv/ConvTranspose fold into its weights and bias;
 *   SYNAP_FUSE_SCALE     so does a Mul by a per-channel constant;
 *   SYNAP_FUSE_HARDSWISH x * Clip(x + 3, 0, 6) / 6 (also * 1/6) and
 *                        x * HardSigmoid(x, 1/6, 0.5) become one HardSwish;
 *   SYNAP_FUSE_AFFINE    x * a + b (a, b constants per channel or single,
 *                        not after a conv) becomes one BatchNormalization.
 * A rewrite needs the intermediate tensors to have no other use and not to
 * be graph outputs, the nodes to share subgraph and delegate and, when
 * `group` (one int per node) is given, the same group. The surviving node
 * takes over the last node's output tensor, so names downstream stay; a
 * folded conv keeps its own name, a HardSwish the last node's. Removed
 * nodes vanish (order kept); the old tensors stay until
 * synap_graph_prune_dead. *map (may be NULL; caller frees) gets, per
 * remaining node, its index before the rewrite. -1 with err when the graph
 * does not verify. */
enum { SYNAP_FUSE_BN = 1, SYNAP_FUSE_SCALE = 2, SYNAP_FUSE_HARDSWISH = 4, SYNAP_FUSE_AFFINE = 8 };
struct synap_fuse_stats {
    size_t nbn, nbias, nscale, nhardswish, naffine;
};
int synap_graph_fuse(struct synap_graph *g, unsigned flags, const int *group, size_t **map,
                     struct synap_fuse_stats *st, struct synap_err *err);

/* Shape inference over the whole graph in node order, with constant folding
 * when `fold` is set: a node whose inputs are all constant (and Shape/Size,
 * whose output depends only on shapes) is run at import and its outputs
 * become constants; dead nodes are then pruned. Errors name the node. */
int synap_graph_infer(struct synap_graph *g, bool fold, struct synap_err *err);
/* The same for node i alone (importers call it right after adding a node,
 * so later translation steps see shapes and folded constants). Returns 1
 * when the node was folded (its outputs are now constants), 0 when not,
 * -1 on error. The folded node stays until synap_graph_prune_dead, which
 * drops nodes whose outputs are all constant. */
int synap_graph_infer_node(struct synap_graph *g, size_t i, bool fold, struct synap_err *err);

/* ---- reading and writing IR files (lib/ir/io.c) ------------------------ */
/* Reads and verifies an IR file ("-" = stdin). Constant data points into the
 * mapped file (no copy). Caller frees with synap_graph_free. NULL on error. */
struct synap_graph *synap_ir_read(const char *path, struct synap_err *err);
/* Same from bytes in memory; `data` must outlive the graph. */
struct synap_graph *synap_ir_read_mem(const void *data, size_t n, const char *what,
                                      struct synap_err *err);
/* Verifies and serializes deterministically; caller frees *out with free(). */
int synap_ir_serialize(const struct synap_graph *g, uint8_t **out, size_t *n,
                       struct synap_err *err);
/* Verifies, serializes and writes atomically ("-" = stdout). */
int synap_ir_write(const struct synap_graph *g, const char *path, struct synap_err *err);
/* Stage sections: named msgpack values a stage leaves for later ones.
 * get: 1 and the raw msgpack bytes of the value (borrowed) when present,
 * 0 when absent, -1 with err when the sections are damaged.
 * set: copies `data` (exactly one msgpack value) into the graph's arena,
 * replacing a section of the same name; data == NULL removes it. */
int synap_ir_section_get(const struct synap_graph *g, const char *name, const uint8_t **data,
                         size_t *n, struct synap_err *err);
void synap_ir_section_set(struct synap_graph *g, const char *name, const uint8_t *data, size_t n);
/* Stable, diffable text of the whole IR (synap-dump). */
int synap_ir_dump(const struct synap_graph *g, FILE *out);

#endif
