/* The conversion metafile (SyNAP's YAML, key for key): parsing, validation
 * and the per-stage option fragments that `synap convert` writes.
 *
 * Every key of REFERENCE.md "Conversion metafile" and "Input preprocessing" is
 * read and checked here; messages carry "file:line:col". Keys whose stage does
 * not exist yet (inputs[].preprocess, security; dequantize without a
 * quantization section) are validated fully all the same; synap_meta_check_supported() then refuses
 * the ones a metafile actually uses, so nothing is ever silently ignored. Layer-pattern SYNTAX is
 * checked here; resolving patterns against a graph is lib/meta/pattern.h's job (in the partition
 * and quantization stages).
 *
 * Text substitutions, as SyNAP does them:
 *  - `${ENV:NAME}` is replaced in the whole text before YAML parsing; an unset
 *    variable is an error naming it and its line (SyNAP substitutes "" — we
 *    refuse, a typo should not silently change a conversion). Positions of
 *    later messages refer to the substituted text (the same unless a value
 *    holds a newline).
 *  - `${FILE:path}` only inside format strings (inputs[].format,
 *    outputs[].format, input_format, output_format): the file's contents,
 *    whitespace-trimmed; path relative to the metafile's folder.
 *  - relative paths (quantization dataset globs, security files) are resolved
 *    against the metafile's folder into absolute paths; the text as written is
 *    kept beside them for messages.
 */
#ifndef SYNAP_META_H
#define SYNAP_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct synap_yaml_node;

/* A position in the metafile (1-based; 0 = not from the file). */
struct synap_meta_pos {
    int line, col;
};

/* One entry of a layer-pattern map (delegate or quantization data_type), in
 * file order (later entries win). */
struct synap_meta_rule {
    const char *pattern; /* '*', NAME, 'NAME...', INPUTS, '@id' (syntax checked) */
    const char *value;   /* delegate: npu|gpu|cpu|default; data_type: uint8|int8|int16|float16 */
    const char *options; /* delegate only: text after the first space ("" if none) */
    struct synap_meta_pos pos;
};

struct synap_meta_preprocess {
    bool present;     /* the key was written */
    const char *type; /* "" when disabled (written as "" or none) */
    bool has_size;
    int64_t size[2]; /* [H, W] */
    bool crop;
    struct synap_meta_pos pos; /* of the `preprocess` key */
};

struct synap_meta_input {
    const char *name;     /* NULL: positional (the model's input at this index) */
    const int64_t *shape; /* NULL/0 when not given; in the source model's layout */
    size_t rank;
    const double *means; /* NULL/0 = default 0; a single number is stored as 1 value */
    size_t nmeans;
    bool has_scale;
    double scale;         /* never 0; 1 when not given */
    const char *format;   /* NULL = not given; ${FILE:} substituted */
    const char *security; /* NULL = not given (default "any") */
    struct synap_meta_pos security_pos;
    struct synap_meta_preprocess preprocess;
    /* NULL or any YAML value (borrowed). `custom` is the user's own data: SyNAP
     * reads and ignores it, and so do the stages (it is in no fragment). */
    const struct synap_yaml_node *custom;
    struct synap_meta_pos pos;
};

struct synap_meta_output {
    const char *name; /* NULL: positional */
    const int64_t *shape;
    size_t rank;
    struct synap_meta_pos shape_pos;
    bool has_dequantize;
    bool dequantize;
    struct synap_meta_pos dequantize_pos;
    const char *format;   /* NULL = not given; ${FILE:} substituted */
    const char *security; /* NULL = not given (default "secure-if-input-secure") */
    struct synap_meta_pos security_pos;
    const struct synap_yaml_node *custom;
    struct synap_meta_pos pos;
};

struct synap_meta_dataset {
    const char *text; /* as written */
    const char *path; /* resolved against the metafile's folder ("random" stays "random") */
};

struct synap_meta_quant {
    bool present;
    struct synap_meta_pos pos; /* of the `quantization` key */
    const char *data_type;     /* "uint8" (default), "int8", "int16"; NULL when a map */
    const struct synap_meta_rule *data_type_map;
    size_t ndata_type_map;
    const char *scheme;                    /* default|asymmetric_affine|dynamic_fixed_point|
                                              perchannel_symmetric_affine */
    const char *mode;                      /* standard|full */
    const char *algorithm;                 /* standard|kl_divergence|moving_average|auto */
    const struct synap_yaml_node *options; /* NULL or a map (borrowed) */
    const struct synap_meta_dataset *dataset;
    size_t ndataset;
};

struct synap_meta_security {
    bool present;
    struct synap_meta_pos pos;
    bool secure;      /* default true when the section is present */
    const char *file; /* `file:` as written, or NULL */
    /* resolved paths (each an existing file) when secure */
    const char *encryption_key, *signature_key, *model_certificate, *vendor_certificate;
};

/* A loaded metafile. Read-only for callers: every pointer inside is owned by
 * the struct and dies with synap_meta_free. */
struct synap_meta {
    const char *path; /* as given ("" without a metafile) */
    const char *dir;  /* absolute folder of the metafile (cwd without one) */

    const struct synap_meta_input *inputs;
    size_t ninputs;
    const struct synap_meta_output *outputs;
    size_t noutputs;

    struct synap_meta_quant quant;

    /* delegate: a single delegate (NULL when absent or a map) with its options,
     * or a map of layer patterns */
    const char *delegate;
    const char *delegate_options; /* "" when none */
    struct synap_meta_pos delegate_pos;
    const struct synap_meta_rule *delegate_map;
    size_t ndelegate_map;

    const char *data_layout;   /* "default" (absent), "nchw", "nhwc" (lower-cased) */
    const char *input_format;  /* NULL = absent; lower-cased as SyNAP does */
    const char *output_format; /* NULL = absent; lower-cased as SyNAP does */
    bool has_dequantize_outputs;
    bool dequantize_outputs; /* dequantize_outputs || denormalize_outputs */
    struct synap_meta_pos dequantize_outputs_pos;
    struct synap_meta_security security;
    bool optimize; /* default true */
    struct synap_meta_pos optimize_pos;
    const struct synap_yaml_node *custom;

    /* Not metafile keys: set by the driver, they go to pack.json. */
    bool profiling;    /* --profiling */
    const char *model; /* --model as given, or NULL (borrowed: must outlive the fragment
                          calls); pack.json carries its file name only, never a folder */

    struct synap_meta_priv *priv;
};

/* Loads and validates a metafile. path NULL = no metafile: every default.
 * Errors (code SYNAP_EINPUT, message "path:line:col: ..."): unreadable file,
 * broken YAML, unknown/missing keys, wrong types or values. Caller frees with
 * synap_meta_free. */
struct synap_meta *synap_meta_load(const char *path, struct synap_err *err);
/* Same from text: `what` names it in messages, `dir` is the folder relative
 * paths resolve against (NULL = the current directory). */
struct synap_meta *synap_meta_parse(const char *text, size_t n, const char *what, const char *dir,
                                    struct synap_err *err);
void synap_meta_free(struct synap_meta *m);

/* 0 when the metafile uses only what the existing stages implement; otherwise
 * -1 and one line per used key, joined by '\n', e.g.
 * "m.yaml:12:1: security: not supported yet (model encryption arrives with the
 * security stage)". */
int synap_meta_check_supported(const struct synap_meta *m, struct synap_err *err);

/* The canonical JSON fragment (compact, keys sorted) of one stage's options:
 * stage is "import", "prune", "partition", "codegen" or "pack"
 * (convert-design.md §2), or with a quantization section "calib" (base_dir,
 * the dataset globs resolved to absolute paths, data_layout, inputs' name,
 * means, scale and format: never data_type or scheme, so that changing those
 * keeps the statistics) and "quant" (data_type as a string or ordered
 * [PATTERN, TYPE] pairs, scheme, mode, algorithm, options, dequantize_outputs
 * and outputs[].dequantize). target and out_format go where the stage needs them
 * (target: partition, codegen, pack; out_format: pack; NULL out_format =
 * "synap"). A stage's bytes depend only on the keys it uses: m->model's file
 * name changes pack's bytes alone. *bytes is
 * malloc'd (NUL-terminated, not counted in *n); caller frees. */
int synap_meta_fragment(const struct synap_meta *m, const char *stage, const char *target,
                        const char *out_format, char **bytes, size_t *n, struct synap_err *err);

/* Small accessors for the driver. */
static inline bool synap_meta_has_quantization(const struct synap_meta *m)
{
    return m->quant.present;
}

#endif
