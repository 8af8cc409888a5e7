/* synap-pack: 60-codegen.ir -> model.synap + model_info.txt (or, with
 * --out-format nb, model.nb + model_info.txt + model.json). */
#include <stdlib.h>
#include <string.h>

#include "pack/pack.h"
#include "pipeline/stage.h"

static int compute(struct synap_stage_ctx *c)
{
    struct synap_graph *g =
        synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    if (!g) return -1;
    struct synap_pack_out out;
    int rc = synap_pack(g, c->options, c->inputs[0], &out, c->err);
    synap_graph_free(g);
    if (rc) return -1;
    for (size_t i = 0; i < out.nout; i++) {
        c->out[i] = out.data[i];
        c->out_n[i] = out.n[i];
    }
    return 0;
}

static const struct synap_stage_flag flags[] = {
    {"target", "target", SYNAP_FLAG_STRING, "T  the target (recorded in model_info.txt)"},
    {"out-format", "out_format", SYNAP_FLAG_STRING,
     "synap|nb  model.synap (default) or the legacy model.nb + model.json (one npu subgraph)"},
};

/* The number of outputs depends on --out-format (or "out_format" in the
 * --options file): nb writes model.json as a third output. Decided here,
 * before the common main parses anything. */
static int wants_nb(int argc, char **argv)
{
    const char *fmt = NULL, *options = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (strcmp(a, "--out-format") == 0 && i + 1 < argc)
            fmt = argv[++i];
        else if (strncmp(a, "--out-format=", 13) == 0)
            fmt = a + 13;
        else if (strcmp(a, "--options") == 0 && i + 1 < argc)
            options = argv[++i];
        else if (strncmp(a, "--options=", 10) == 0)
            options = a + 10;
    }
    if (fmt) return strcmp(fmt, "nb") == 0;
    if (!options) return 0;
    /* A broken options file is reported by the common main; here it only
     * means "not nb". */
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *o = synap_json_read(a, options, &err);
    int nb = o && synap_pack_format_of(o, &err) == SYNAP_PACK_NB;
    synap_arena_free(a);
    return nb;
}

int main(int argc, char **argv)
{
    struct synap_stage_desc d = {
        .name = "pack",
        .summary = "pack the codegen IR into model.synap and model_info.txt "
                   "(-o model.synap -o model_info.txt; with --out-format nb: "
                   "-o model.nb -o model_info.txt -o model.json)",
        .min_inputs = 1,
        .max_inputs = 1,
        .noutputs = wants_nb(argc, argv) ? 3 : 2,
        .flags = flags,
        .nflags = sizeof flags / sizeof flags[0],
        .extra_files = NULL,
        .compute = compute,
    };
    return synap_stage_main(&d, argc, argv);
}
