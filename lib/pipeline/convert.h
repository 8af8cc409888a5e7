/* synap convert: the metafile split into per-stage fragments, OUT/build/build.ninja
 * written from the rules/NAME.ninja templates, and ninja run on it. Contract:
 * /work/notes/convert-design.md §9. */
#ifndef SYNAP_CONVERT_H
#define SYNAP_CONVERT_H

#include <stddef.h>

#include "util/util.h"

struct synap_convert_opts {
    const char *model;      /* the source model (.onnx) */
    const char *target;     /* target name or alias, any case */
    const char *out_dir;    /* OUT: model.synap, model_info.txt, build/, cache/ */
    const char *meta;       /* conversion metafile, or NULL */
    const char *weights;    /* Caffe weights (--weights), or NULL */
    const char *out_format; /* "synap" (NULL = "synap") or "nb" */
    int profiling;          /* --profiling */
    int preserve;           /* --preserve: also write NN-stage.txt dumps in OUT/build */
    const char *cache_dir;  /* NULL: $SYNAP_CACHE_DIR, else OUT/cache */
    int jobs;               /* ninja -j N; 0 = ninja's default */
    int verbose;            /* ninja -v (the commands are printed) */
    const char *tools_dir;  /* folder of the stage tools; NULL = the running executable's folder */
    const char *rules_dir;  /* NULL = synap_rules_dir(tools_dir) */
    /* When non-NULL, receives ninja's output as it arrives (for --verbose). */
    void (*output)(void *ctx, const char *text, size_t n);
    void *output_ctx;
};

/* What a conversion produced besides its files. Free with synap_convert_result_free. */
struct synap_convert_result {
    char *
        warnings; /* the stages' "synap-STAGE: warning: ..." lines, '\n'-terminated; NULL if none */
    char *log;    /* ninja's whole output (NUL-terminated; may be empty) */
    size_t nlog;
    int ran_ninja; /* 1 when ninja was started */
};
void synap_convert_result_free(struct synap_convert_result *r);

/* Runs one conversion. Checks the options, the model's format, the target and
 * the metafile; writes OUT/build/{import,prune,partition,codegen,pack}.json
 * and build.ninja (each only when its bytes change, so ninja's restat keeps
 * unchanged stages from running), truncates OUT/build/stages.log, and runs
 * `ninja -C OUT/build [-j N]` (found in PATH). OUT/build is kept: it is the
 * incremental state. Holds a lock on OUT/build/.lock (inherited by ninja and
 * the stages) so two converts into one OUT never interleave.
 * Returns 0, or -1 with err set: the problem with the options or inputs, or
 * the failing stage's own "synap-STAGE: ..." lines. r may be NULL. */
int synap_convert_run(const struct synap_convert_opts *o, struct synap_convert_result *r,
                      struct synap_err *err);

/* The folder of the rules/NAME.ninja templates: $SYNAP_RULES_DIR, else
 * TOOLS_DIR/../share/synap/rules when it exists (installed), else the source
 * tree's rules/ (compiled in as SYNAP_SOURCE_DIR). Returns a static or
 * environment string. */
const char *synap_rules_dir(const char *tools_dir);

/* Folder of the running executable (readlink /proc/self/exe) into buf.
 * Returns 0 or -1 with err set. */
int synap_exe_dir(char *buf, size_t n, struct synap_err *err);

#endif
