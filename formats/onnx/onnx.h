/* ONNX import: ModelProto (protobuf-c, generated at build time from the
 * system's onnx.proto) into the canonical IR. */
#ifndef SYNAP_ONNX_H
#define SYNAP_ONNX_H

#include "ir/ir.h"
#include "kernels/kernel.h"

struct synap_onnx_shape {
    const char *name; /* graph input name */
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
};

struct synap_onnx_value {
    const char *name;        /* graph input name */
    struct synap_value value; /* borrowed during import; copied into the graph */
};

struct synap_onnx_opts {
    /* --input-shape NAME=1,3,224,224: fixes dynamic (or overrides) dims. */
    const struct synap_onnx_shape *shapes;
    size_t nshapes;
    /* Graph inputs bound to constant values (they stop being inputs), e.g.
     * shape arguments or an If condition's source. */
    const struct synap_onnx_value *values;
    size_t nvalues;
};

/* Imports an ONNX model file: opsets 6-18 of the default domain, initializers
 * in raw_data or typed fields, external data (relative to the model's folder),
 * names kept exactly, every op translated into the canonical set (ops.h), with
 * shape inference and constant folding; dynamic dims come from opts, or batch
 * 1, or an error naming the input. Every unsupported op is listed in one
 * error. Errors start with the file name. Caller frees the graph. */
struct synap_graph *synap_onnx_import(const char *path, const struct synap_onnx_opts *opts,
                                      struct synap_err *err);

/* Reads a serialized TensorProto file (libonnx-testdata's input_K.pb /
 * output_K.pb) into *v (v->data malloc'd, caller frees); *name (may be NULL)
 * receives a malloc'd copy of the tensor's name. */
int synap_onnx_read_tensor_file(const char *path, struct synap_value *v, char **name,
                                struct synap_err *err);

#endif
