/* Internals of the TFLite importer shared by import.c (model walk, tensors,
 * node building), ops.c (the operator translation table) and layout.c. */
#ifndef SYNAP_TFLITE_INTERNAL_H
#define SYNAP_TFLITE_INTERNAL_H

#include "kernels/kernel.h"
#include "tflite/flatbuf.h"
#include "tflite/schema.h"
#include "tflite/tflite.h"

/* One tensor of subgraph 0. */
struct tfl_tensor {
    const char *name; /* borrowed from the file (checked NUL-terminated) */
    int type;         /* enum tfl_type */
    enum synap_dtype dtype;
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    const uint8_t *data; /* buffer bytes (borrowed), NULL when none */
    size_t nbytes;
    int quantized; /* has a scale vector */
    struct fb_table quant;
    struct fb_table sparsity; /* vtsize 0 when dense */
    int defined;              /* a graph input, a constant or produced earlier */
    int variable;             /* is_variable: state (LSTM, SVDF) that starts at zero */
    uint32_t t;               /* the synap tensor (NHWC, as in the model), or SYNAP_NONE */
};

/* One operator of subgraph 0. */
struct tfl_op {
    size_t index;
    int32_t code;       /* BuiltinOperator */
    const char *custom; /* custom_code for CUSTOM */
    const char *name;   /* node name: the first output tensor's name */
    const int32_t *in;  /* tensor indices, -1 for an omitted optional input */
    size_t nin;
    const int32_t *out;
    size_t nout;
    const int32_t *inter; /* intermediates (integer LSTM: the gates' and the hidden scale) */
    size_t ninter;
    struct fb_table opts; /* builtin options table (empty when absent) */
    const uint8_t *custom_opts;
    size_t ncustom_opts;
};

struct tfl_ctx;
typedef int (*tfl_translate_fn)(struct tfl_ctx *c, const struct tfl_op *op);

struct tfl_op_entry {
    int32_t code;
    tfl_translate_fn fn;
};
struct tfl_custom_entry {
    const char *name;
    tfl_translate_fn fn;
};
/* Sorted by code / by name; bsearch lookups (NULL when unsupported). */
extern const struct tfl_op_entry tfl_op_table[];
extern const size_t tfl_op_table_len;
extern const struct tfl_custom_entry tfl_custom_table[];
extern const size_t tfl_custom_table_len;
const struct tfl_op_entry *tfl_op_find(int32_t code);
const struct tfl_custom_entry *tfl_custom_find(const char *name);

/* ---- helpers for translations (import.c) --------------------------------- */
struct synap_graph *tfl_graph(struct tfl_ctx *c);
struct fb_reader *tfl_reader(struct tfl_ctx *c);
struct synap_err *tfl_err(struct tfl_ctx *c);

/* The model tensor of input k, NULL when omitted (index -1 or k >= nin). */
const struct tfl_tensor *tfl_in_tensor(struct tfl_ctx *c, const struct tfl_op *op, size_t k);
/* The model tensor of output k (k < op->nout). */
const struct tfl_tensor *tfl_out_tensor(struct tfl_ctx *c, const struct tfl_op *op, size_t k);
/* The synap tensor of input k (constants materialized, hybrid int8 weights
 * dequantized, sparse ones densified); SYNAP_NONE when omitted. -1 on error. */
int tfl_input(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t);
/* Same, but the input must be present. */
int tfl_input_req(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t);
/* Input k, a variable (state) tensor without data, as a constant holding
 * real zero - its zero point when quantized, as TFLM resets variables -
 * with the tensor's quant record: one run of the graph is TFLite's first
 * invocation, and the state does not persist across runs. */
int tfl_zero_state(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t);
/* Whether tensors a and b (indices of the model) are quantized alike (same
 * scales and zero points, or both not quantized): 1 yes, 0 no, -1 with an
 * error when a record is malformed. */
int tfl_same_quant(struct tfl_ctx *c, int32_t a, int32_t b);
/* Constant integer contents of input k (int32/int64, after folding) into
 * v[0..*n); -1 with an error when absent, not constant or longer than cap. */
int tfl_input_ints(struct tfl_ctx *c, const struct tfl_op *op, size_t k, int64_t *v, size_t cap,
                   size_t *n);
/* Defines the synap tensor of output k, named as in the model. */
int tfl_output(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t *t);
/* Makes output k of op an alias of tensor t (no node). */
int tfl_alias(struct tfl_ctx *c, const struct tfl_op *op, size_t k, uint32_t t);
/* A fresh intermediate tensor named "<op name>/<suffix>" (made unique). */
uint32_t tfl_temp(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix);
uint32_t tfl_const(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                   enum synap_dtype dtype, int rank, const int64_t *dims, const void *data,
                   size_t nbytes);
uint32_t tfl_const_i64(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                       const int64_t *v, size_t n);
uint32_t tfl_const_f32(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, float v);
/* Appends a node "<op name>" or "<op name>/<suffix>" (suffix may be NULL)
 * with the given inputs (trailing SYNAP_NONE dropped) and one output; sets
 * *idx. Set attributes on &tfl_graph(c)->nodes[*idx], then tfl_infer. */
size_t tfl_node(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, enum synap_op kind,
                const uint32_t *ins, size_t nin, uint32_t out);
size_t tfl_node_n(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                  enum synap_op kind, const uint32_t *ins, size_t nin, const uint32_t *outs,
                  size_t nout);
/* Shape inference and folding of node idx. */
int tfl_infer(struct tfl_ctx *c, size_t idx);
/* tfl_node + tfl_infer for nodes without attributes. */
int tfl_emit(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, enum synap_op kind,
             const uint32_t *ins, size_t nin, uint32_t out);
/* The synap tensor (shape known once its producer was inferred). */
const struct synap_tensor *tfl_t(struct tfl_ctx *c, uint32_t t);

/* The fused activation `act` (TFL_ACT_*) of x into out (a new temp when out
 * is SYNAP_NONE); *res is the result. NONE adds no node: *res = x. */
int tfl_activation(struct tfl_ctx *c, const struct tfl_op *op, int act, uint32_t x, uint32_t out,
                   uint32_t *res);
/* Transpose(x, perm) into a new temp (or into out when out != SYNAP_NONE). */
int tfl_transpose(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, uint32_t x,
                  const int64_t *perm, int rank, uint32_t out, uint32_t *res);

/* Number `key` of the FlexBuffer map buf[0..n) (custom options): 1 and *v
 * when found, 0 when absent, -1 with an error when the map is damaged. */
int tfl_flex_number(const uint8_t *buf, size_t n, const char *key, double *v,
                    struct synap_err *err);

/* Reads the sparse tensor's contents into a dense buffer (caller frees). */
int tfl_densify(struct tfl_ctx *c, const struct tfl_tensor *t, void **out, size_t *nbytes);

#endif
