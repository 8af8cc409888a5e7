/* Internals of the ONNX importer shared by import.c (graph walk), ops.c (the
 * op translation table) and tensor.c (TensorProto contents). */
#ifndef SYNAP_ONNX_INTERNAL_H
#define SYNAP_ONNX_INTERNAL_H

#include "onnx.pb-c.h"
#include "onnx/onnx.h"

/* ---- tensor.c ------------------------------------------------------------ */

/* Mapped external-data files, opened once per import. */
struct onnx_extfile {
    char *path;
    struct synap_file file;
    struct onnx_extfile *next;
};

/* Where a TensorProto's bytes are: `data` points either into the protobuf or a
 * mapped external file (borrowed) or at `owned` (malloc'd, caller frees). */
struct onnx_tdata {
    enum synap_dtype dtype;
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    const void *data;
    size_t nbytes;
    void *owned;
};

/* ONNX TensorProto.DataType -> synap dtype; UNDEFINED when unsupported. */
enum synap_dtype onnx_dtype(int32_t onnx_type);
/* Printable name of an ONNX data type ("string", "complex64", ...). */
const char *onnx_dtype_name(int32_t onnx_type);

/* Decodes t (raw_data, typed fields or external data relative to `dir`;
 * `ext` caches mapped files and may be NULL to forbid external data).
 * Errors name the tensor but not the file. */
int onnx_tensor_decode(const Onnx__TensorProto *t, const char *dir, struct onnx_extfile **ext,
                       struct onnx_tdata *out, struct synap_err *err);
void onnx_tdata_free(struct onnx_tdata *d);
void onnx_extfiles_close(struct onnx_extfile **ext);

/* ---- import.c: the translation context ------------------------------------ */

/* One ONNX node after model-local functions are inlined: names may be
 * rewritten, attributes resolved. Strings are borrowed from the protobuf or
 * from the import's scratch arena. */
struct onnx_node {
    const char *name;
    const char *op_type;
    const char *domain; /* "" for the default domain */
    const char **inputs;
    size_t ninputs;
    const char **outputs;
    size_t noutputs;
    Onnx__AttributeProto **attrs;
    size_t nattrs;
    int opset; /* default-domain opset in effect for this node */
};

struct onnx_ctx;

/* Translates one node into canonical nodes (ops.c); returns -1 with an error
 * (not yet prefixed by the node). */
typedef int (*onnx_translate_fn)(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op);

struct onnx_op_entry {
    const char *name;     /* ONNX op type, default domain */
    enum synap_op op;     /* canonical op (SYNAP_OP_COUNT when fn decides) */
    onnx_translate_fn fn; /* NULL: the generic 1:1 translation */
};

/* The table, sorted by name (strcmp), and its length. */
extern const struct onnx_op_entry onnx_op_table[];
extern const size_t onnx_op_table_len;
/* bsearch on the table; NULL when the op is not supported. */
const struct onnx_op_entry *onnx_op_find(const char *op_type);

/* Helpers for translations (import.c). */

/* Attribute by name, or NULL. */
const Onnx__AttributeProto *onnx_attr(const struct onnx_node *n, const char *name);
int64_t onnx_attr_int(const struct onnx_node *n, const char *name, int64_t def);
float onnx_attr_float(const struct onnx_node *n, const char *name, float def);

struct synap_graph *onnx_graph(struct onnx_ctx *c);
struct synap_err *onnx_err(struct onnx_ctx *c);

/* Tensor of input k (SYNAP_NONE when absent or empty); -1 when the name is
 * not defined. */
int onnx_input(struct onnx_ctx *c, const struct onnx_node *n, size_t k, uint32_t *t);
/* Defines the tensor of output k (SYNAP_NONE for an empty name); -1 when the
 * name is already defined. */
int onnx_output(struct onnx_ctx *c, const struct onnx_node *n, size_t k, uint32_t *t);
/* A fresh tensor for an intermediate value, named "<hint>" made unique. */
uint32_t onnx_temp(struct onnx_ctx *c, const char *hint);
/* A constant with a unique name derived from hint; data is copied. */
uint32_t onnx_const(struct onnx_ctx *c, const char *hint, enum synap_dtype dtype, int rank,
                    const int64_t *dims, const void *data, size_t nbytes);
uint32_t onnx_const_i64(struct onnx_ctx *c, const char *hint, const int64_t *v, size_t count);
/* Binds an ONNX output name to a constant (Constant, Dropout's mask). */
int onnx_define_const(struct onnx_ctx *c, const char *name, enum synap_dtype dtype, int rank,
                      const int64_t *dims, const void *data, size_t nbytes);
/* Binds an ONNX output name to an existing tensor (no node). */
int onnx_alias(struct onnx_ctx *c, const char *name, uint32_t t);

/* Appends a canonical node; returns its index (node pointers move when nodes
 * are added: re-fetch with &onnx_graph(c)->nodes[i]). */
size_t onnx_add_node(struct onnx_ctx *c, const char *name, enum synap_op op, const uint32_t *ins,
                     size_t nin, const uint32_t *outs, size_t nout);
/* Copies the ONNX attributes of n onto node i, except those named in skip
 * (NULL-terminated; "*" skips all). Tensor attributes become constants. */
int onnx_copy_attrs(struct onnx_ctx *c, size_t i, const struct onnx_node *n,
                    const char *const *skip);
/* Shape inference and folding of node i (synap_graph_infer_node). */
int onnx_infer(struct onnx_ctx *c, size_t i);
/* Creates a node named like n with inputs `ins` (trailing SYNAP_NONE dropped)
 * and n's outputs, copies n's attributes except skip, but does not infer yet:
 * the caller may still set attributes, then calls onnx_infer(c, *idx). */
int onnx_node_begin(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
                    const uint32_t *ins, size_t nin, const char *const *skip, size_t *idx);
/* onnx_node_begin + onnx_infer. */
int onnx_emit_ins(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
                  const uint32_t *ins, size_t nin, const char *const *skip);
/* Emits the usual 1:1 form: inputs and outputs as in n (trailing empties
 * dropped), attributes copied except skip, then inferred. */
int onnx_emit(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
              const char *const *skip);
/* Inlines a subgraph (If branch) whose outputs become n's outputs. */
int onnx_inline_graph(struct onnx_ctx *c, const struct onnx_node *n, const Onnx__GraphProto *sub);
/* Decodes a tensor attribute / value into the graph as a constant. */
int onnx_tensor_const(struct onnx_ctx *c, const Onnx__TensorProto *t, const char *name,
                      uint32_t *out);

#endif
