/* The common main of every stage tool (synap-import, synap-prune, ...):
 * options, inputs and outputs, the content-addressed cache, depfiles and the
 * stage log, so that each tool only computes. Contract: /work/notes/convert-design.md §1. */
#ifndef SYNAP_STAGE_H
#define SYNAP_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/json.h"
#include "util/util.h"

#define SYNAP_STAGE_MAX_OUTPUTS 4

struct synap_stage_ctx {
    const char *const *inputs; /* paths as given ("-" = stdin) */
    size_t ninputs;
    const struct synap_file *input_data; /* their contents, same order */
    const struct synap_json *options;    /* merged options object, never NULL */
    struct synap_arena *arena;           /* lives until the tool exits */
    struct synap_err *err;
    int verbose;
    /* compute sets the bytes of each output (malloc'd; the stage frees them) */
    uint8_t *out[SYNAP_STAGE_MAX_OUTPUTS];
    size_t out_n[SYNAP_STAGE_MAX_OUTPUTS];
    /* compute's warnings, added with synap_stage_warn: "LINE\n" each
     * (malloc'd; the stage frees them). The stage prints every line as
     * "synap-<name>: warning: LINE" and keeps them in the cache entry with
     * the outputs, so a cached result prints exactly what computing did. */
    char *warnings;
    size_t warnings_n;
};

enum synap_flag_kind {
    SYNAP_FLAG_STRING, /* --name VALUE: options[key] = "VALUE" */
    SYNAP_FLAG_LIST,   /* repeatable: options[key] += ["VALUE"] */
    SYNAP_FLAG_INT,    /* options[key] = VALUE as a number */
    SYNAP_FLAG_BOOL,   /* --name (no argument): options[key] = true */
};

struct synap_stage_flag {
    const char *name; /* "output" for --output */
    const char *key;  /* the options key it sets */
    enum synap_flag_kind kind;
    const char *help; /* "NAME  cut the graph after tensor NAME (repeatable)" */
};

struct synap_stage_desc {
    const char *name;    /* "prune": the tool is synap-prune, the log says "prune" */
    const char *summary; /* one line for --help */
    size_t min_inputs, max_inputs;
    size_t noutputs; /* -o given once per output, in order; 1-output stages default to "-" */
    const struct synap_stage_flag *flags;
    size_t nflags;
    /* Files the stage reads besides its inputs, decided by the options (the
     * target description, ...): they enter the cache key and the depfile.
     * May be NULL. Paths borrowed (arena). */
    int (*extra_files)(struct synap_stage_ctx *c, const char ***paths, size_t *n);
    int (*compute)(struct synap_stage_ctx *c);
};

/* Parses argv (the common options: inputs, -o, --options FILE.json, the
 * stage's flags, --cache-dir DIR (or SYNAP_CACHE_DIR), -M DEPFILE,
 * --stage-log FILE, -v, --help, --version), reads the inputs, looks the
 * result up in the cache or computes it, writes the outputs atomically (only
 * when their bytes change), stores new results in the cache, writes the
 * depfile and appends one line to the stage log. Returns the exit status:
 * 0, 1 (bad input or options: "synap-<name>: FILE: message" on stderr) or
 * 2 (I/O or internal). On failure no output file is written and the cache
 * is untouched. */
int synap_stage_main(const struct synap_stage_desc *d, int argc, char **argv);

/* Adds one warning line (printf format, without the "synap-<name>:
 * warning: " prefix or a trailing newline; newlines inside become spaces so
 * that it stays one line) to c->warnings. Compute reports warnings this way
 * instead of printing them. Only aborts on out-of-memory. */
void synap_stage_warn(struct synap_stage_ctx *c, const char *fmt, ...) SYNAP_PRINTF(2, 3);

#endif
