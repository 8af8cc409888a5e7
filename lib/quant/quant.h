/* Quantization of a float IR with calibration statistics (synap-quant):
 * data types, schemes, range algorithms, mixed precision by layer patterns,
 * conversion layers, and the quantization_info.yaml / quantization_entropy.txt
 * reports. The rules and the choices made are documented in quant.c. */
#ifndef SYNAP_QUANT_H
#define SYNAP_QUANT_H

#include <stdbool.h>
#include <stddef.h>

#include "calib/stats.h"
#include "ir/ir.h"
#include "util/json.h"

enum synap_qalgo {
    SYNAP_QALGO_STANDARD = 0, /* min/max */
    SYNAP_QALGO_KL,           /* kl_divergence (TensorRT's entropy calibration) */
    SYNAP_QALGO_MOVING_AVERAGE,
    SYNAP_QALGO_PERCENTILE,
    SYNAP_QALGO_MSE,
};

/* One entry of the data_type map, in order (later entries win). type is
 * UINT8, INT8, INT16 or FLOAT16. */
struct synap_qrule {
    const char *pattern;
    enum synap_dtype type;
};

struct synap_quant_opts {
    const struct synap_qrule *rules; /* a plain data_type is the one rule '*' */
    size_t nrules;
    enum synap_qscheme scheme; /* NONE = default (uint8: asymmetric_affine, int8/16: dfp) */
    bool full;                 /* mode full: graph inputs quantized too */
    enum synap_qalgo algo;
    double percentile;             /* percentile algorithm: mass kept, in % (default 99.99) */
    bool dequantize_all;           /* default for outputs without their own setting */
    const signed char *dequantize; /* per graph output: -1 default, 0/1; may be NULL */
    size_t ndequantize;
};

/* Parses the synap-quant options object:
 *   {"data_type": "uint8" | [["PATTERN", "TYPE"], ...], "data_type_map": ["PATTERN=TYPE", ...],
 *    "scheme": "default"|"asymmetric_affine"|"dynamic_fixed_point"|"perchannel_symmetric_affine",
 *    "mode": "standard"|"full", "algorithm": "standard"|"kl_divergence"|"moving_average"|
 *    "percentile"|"mse"|"auto", "options": {"percentile": 99.99},
 *    "dequantize_outputs": bool, "outputs": [{"dequantize": bool}, ...]}
 * data_type_map entries (the flag form) are appended after data_type's.
 * Checks SyNAP's rules: uint8 and int8 not mixed, float16 only in a map,
 * scheme/type pairs. Borrowed memory lives in `a`. -1 with err. */
int synap_quant_opts_from_json(const struct synap_json *o, struct synap_arena *a,
                               struct synap_quant_opts *out, struct synap_err *err);

struct synap_quant_result {
    char *info_yaml; /* quantization_info.yaml text (malloc'd) */
    size_t info_n;
    char *entropy; /* quantization_entropy.txt (kl_divergence only, else NULL; malloc'd) */
    size_t entropy_n;
    char **warnings; /* malloc'd lines */
    size_t nwarnings;
    size_t nconversions; /* conversion layers inserted */
    bool prequantized;   /* the model had its own parameters and was kept */
};
void synap_quant_result_free(struct synap_quant_result *r);

/* Quantizes g in place with statistics s (collected on this very IR: tensor
 * indices and names must agree). Inserts conversion layers, sorts and prunes
 * the graph. Fills r (caller frees with synap_quant_result_free). -1 with err
 * (bad options against this graph: a pattern naming no layer, missing
 * statistics); g is then unusable. */
int synap_quantize(struct synap_graph *g, const struct synap_calib_stats *s,
                   const struct synap_quant_opts *o, struct synap_quant_result *r,
                   struct synap_err *err);

/* Cross-layer range equalization of conv -> conv pairs, directly or through
 * a chain of Relu / BatchNormalization / Mul, Add, Sub of constants
 * (equalize.c): the float function is kept, channel ranges are balanced,
 * the scaled tensors are renamed NAME:equalized. Idempotent. synap-calib
 * measures the prepared graph; synap_quantize prepares its graph first, so
 * statistics and graph agree. *nequalized (may be NULL) counts pairs. */
int synap_quant_prepare(struct synap_graph *g, size_t *nequalized, struct synap_err *err);
/* Data-aware equalization: per-channel ranges (largest |x| of each channel
 * over the calibration data) of tensors of the UNPREPARED graph, by name;
 * nch[k] values in absmax[k]. */
struct synap_chan_ranges {
    size_t n;
    const char *const *names;
    const int64_t *nch;
    const double *const *absmax;
};
/* synap_quant_prepare, where each depthwise conv feeding a conv directly
 * whose middle tensor has measured ranges in r is balanced three ways
 * instead: s_i = sqrt(sqrt(r1_i * ra_i) / r2_i), ra_i the tensor's channel
 * range (equalize.c says why and what was measured). r may be NULL (=
 * synap_quant_prepare); ranges of other tensors are ignored. */
int synap_quant_prepare_ranges(struct synap_graph *g, const struct synap_chan_ranges *r,
                               size_t *nequalized, struct synap_err *err);
/* The tensors of the unprepared graph g whose ranges
 * synap_quant_prepare_ranges uses: the outputs of depthwise convs that feed
 * a conv directly (malloc'd, *n of them; NULL on error). */
uint32_t *synap_quant_range_probes(struct synap_graph *g, size_t *n, struct synap_err *err);
/* Whether g has tensors synap_quant_prepare renamed (a prepared graph). */
bool synap_quant_is_prepared(const struct synap_graph *g);

/* The logit limit L of a Sigmoid (Tanh: op SYNAP_OP_TANH) whose output has
 * `bits` bits: beyond +-L the output is within half a step of its limit.
 * L = (bits + 1) ln 2 for Sigmoid (output step 2^-bits), half that for
 * Tanh (step 2^(1-bits)). synap-quant quantizes such inputs on [-L, L];
 * synap-compare compares them there. */
double synap_quant_logit_limit(enum synap_op op, int bits);

/* ---- building blocks, exposed for tests ------------------------------------ */

/* The clipping range [*lo, *hi] of a tensor under an algorithm, for a
 * quantized type with `levels` steps; *entropy (may be NULL) gets the KL
 * divergence measure in [0, 1] (kl only, else 0). */
void synap_quant_range(const struct synap_tensor_stats *t, enum synap_qalgo algo, double percentile,
                       enum synap_dtype type, enum synap_qscheme scheme, double *lo, double *hi,
                       double *entropy);
/* Per-tensor parameters for [lo, hi] in type/scheme (the activation
 * rules): *scale, *zp, *fl (dynamic fixed point, else 0). */
void synap_quant_params(double lo, double hi, enum synap_dtype type, enum synap_qscheme scheme,
                        float *scale, int32_t *zp, int32_t *fl);

#endif
