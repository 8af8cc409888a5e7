/* TFLite import: a .tflite FlatBuffer (schema v3) into the canonical IR.
 * Float models (float32, float16 weights through DEQUANTIZE, hybrid int8
 * weights dequantized at import) and pre-quantized ones (uint8 per tensor,
 * int8 per channel, int16 activations with int8 weights), which keep their
 * integers and quant records and run on the integer kernels (qmath.h). */
#ifndef SYNAP_TFLITE_H
#define SYNAP_TFLITE_H

#include "ir/ir.h"
#include "onnx/onnx.h" /* struct synap_onnx_opts: the same input options */

/* Imports subgraph 0 of a TFLite model file. The model's NHWC tensors stay
 * its external layout: graph inputs and outputs keep their names, dtypes and
 * shapes. Layout-sensitive ops (Conv, pools, ...) run in the canonical NCHW
 * form between Transposes, and Transpose pairs that cancel are removed.
 * Fused activations become separate nodes. Shapes are inferred and
 * constants folded. opts (may be NULL): `shapes` override input shapes (same
 * rank), `values` bind inputs to constants. Errors start with the file name;
 * every unsupported builtin or custom op is listed in one error; an op
 * without an integer kernel fails naming the op and the type. Damaged
 * files fail with a message, never a crash. Constant data may point into the
 * mapped file, which the graph owns. Caller frees with synap_graph_free. */
struct synap_graph *synap_tflite_import(const char *path, const struct synap_onnx_opts *opts,
                                        struct synap_err *err);

/* The same from bytes in memory (`what` names them in messages); the bytes
 * must outlive the graph. */
struct synap_graph *synap_tflite_import_mem(const void *data, size_t n, const char *what,
                                            const struct synap_onnx_opts *opts,
                                            struct synap_err *err);

/* Removes Transposes that cancel and moves Transposes below the ops that do
 * not care about layout (elementwise ops, Pad, Concat, Resize, ReduceMean
 * with keepdims) so that they meet their inverse: the result has no
 * Transpose pair between consecutive layout-sensitive ops. Shapes are
 * re-inferred. Returns the number of Transpose nodes left, -1 on error. */
int synap_tflite_sink_transposes(struct synap_graph *g, struct synap_err *err);

#endif
