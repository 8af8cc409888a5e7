/* synap-codegen: a partitioned IR in, the same IR with BatchNorm folded and
 * the "codegen" section (fused layers, costs, memory plan) out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "pipeline/stage.h"

static const struct synap_stage_flag flags[] = {
    {"target", "target", SYNAP_FLAG_STRING,
     "T  the target SoC (VS680, SL1620, ...; aliases allowed)"},
};

/* The options object: {"target": str}; anything else is a mistake. */
static int get_target_name(struct synap_stage_ctx *c, const char **name)
{
    const struct synap_json *o = c->options;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], "target"))
            return synap_errf(c->err, "options: unknown key '%s'; valid keys: target", o->keys[i]);
    *name = synap_json_as_string(synap_json_get(o, "target"));
    if (!*name)
        return synap_errf(c->err, "options: 'target' (a string) is missing; use --target T");
    return 0;
}

static int extra_files(struct synap_stage_ctx *c, const char ***paths, size_t *n)
{
    const char *name;
    struct synap_target t;
    if (get_target_name(c, &name) < 0 || synap_target_load(name, &t, c->err) < 0) return -1;
    const char **p = synap_arena_alloc(c->arena, sizeof *p);
    p[0] = synap_arena_strdup(c->arena, t.path);
    *paths = p;
    *n = 1;
    return 0;
}

static int compute(struct synap_stage_ctx *c)
{
    const char *name;
    struct synap_target t;
    if (get_target_name(c, &name) < 0 || synap_target_load(name, &t, c->err) < 0) return -1;
    struct synap_graph *g =
        synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    if (!g) return -1;
    struct synap_codegen_info info;
    struct synap_codegen_stats st;
    int rc = -1;
    if (synap_codegen(g, &t, &info, &st, c->err) < 0) {
        synap_err_prefix(c->err, "%s", c->inputs[0]);
        goto out;
    }
    if (c->verbose) {
        if (st.unpartitioned)
            fprintf(stderr,
                    "synap-codegen: the input is not partitioned: treating it as one subgraph "
                    "on %s's default delegate '%s'\n",
                    t.name, t.ndelegates ? t.delegates[0] : "cpu");
        fprintf(stderr,
                "synap-codegen: target %s: %zu BatchNormalization and %zu bias Add folded "
                "into convolutions, %zu layers, %zu subgraphs\n",
                t.name, st.nfolded, st.nbias_folded, st.nlayers, st.nsubgraphs);
        for (size_t i = 0; i < info.nsubgraphs; i++)
            fprintf(stderr,
                    "synap-codegen: subgraph %u (%s): %zu arena tensors, arena %llu bytes\n",
                    info.subgraphs[i].id, info.subgraphs[i].delegate, info.subgraphs[i].ntensors,
                    (unsigned long long)info.subgraphs[i].arena_bytes);
    }
    synap_codegen_info_free(&info);
    rc = synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err);
out:
    synap_graph_free(g);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct synap_stage_desc d = {
        .name = "codegen",
        .summary = "fold BatchNorm, fuse layers, plan memory and estimate costs for a target",
        .min_inputs = 1,
        .max_inputs = 1,
        .noutputs = 1,
        .flags = flags,
        .nflags = sizeof flags / sizeof flags[0],
        .extra_files = extra_files,
        .compute = compute,
    };
    return synap_stage_main(&d, argc, argv);
}
