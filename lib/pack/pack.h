/* synap-pack: the deployable model.synap (or model.nb + model.json) and
 * model_info.txt from the codegen IR. Contract: /work/notes/convert-design.md §7;
 * the model.synap layout is described at the top of lib/pack/pack.c. */
#ifndef SYNAP_PACK_H
#define SYNAP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "util/json.h"
#include "util/util.h"

enum synap_pack_format {
    SYNAP_PACK_SYNAP = 0, /* model.synap (ZIP) + model_info.txt */
    SYNAP_PACK_NB,        /* model.nb + model_info.txt + model.json */
};

/* The outputs of one pack, in the stage's output order:
 *   SYNAP_PACK_SYNAP: [0] model.synap, [1] model_info.txt
 *   SYNAP_PACK_NB:    [0] model.nb,    [1] model_info.txt, [2] model.json */
#define SYNAP_PACK_MAX_OUTPUTS 3
struct synap_pack_out {
    size_t nout;
    uint8_t *data[SYNAP_PACK_MAX_OUTPUTS]; /* malloc'd; caller frees each */
    size_t n[SYNAP_PACK_MAX_OUTPUTS];
};

/* The out format the options ask for ("out_format": "synap" | "nb"; absent =
 * synap); -1 with err for anything else. The tool needs it before packing to
 * know how many outputs to expect. */
int synap_pack_format_of(const struct synap_json *options, struct synap_err *err);

/* Packs the codegen IR g (every node annotated with delegate and subgraph
 * by synap-partition; the "codegen" section of synap-codegen present) with
 * the options of pack.json (convert-design §2, plus "model": the source
 * model's file name for model_info.txt; unknown keys are errors). `what`
 * (the input's file name) starts error messages. Deterministic: the same
 * graph and options give the same bytes. Returns 0 and fills *out, or -1
 * with err (SYNAP_EINPUT for a graph or options that cannot be packed;
 * *out is then empty). g is not modified. */
int synap_pack(const struct synap_graph *g, const struct synap_json *options, const char *what,
               struct synap_pack_out *out, struct synap_err *err);

#endif
