/* synap-partition: a delegate for every layer and greedy subgraphs (stage "partition"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition/partition.h"
#include "pipeline/stage.h"

static int load_target(struct synap_stage_ctx *c, struct synap_partition_opts *o,
                       struct synap_target *t)
{
    if (synap_partition_opts_from_json(c->options, c->arena, o, c->err) < 0) return -1;
    if (!o->target) return synap_errf(c->err, "no target: give --target T");
    return synap_target_load(o->target, t, c->err);
}

/* The target description enters the cache key and the depfile. */
static int extra_files(struct synap_stage_ctx *c, const char ***paths, size_t *n)
{
    struct synap_partition_opts o;
    struct synap_target *t = synap_xmalloc(sizeof *t);
    int rc = load_target(c, &o, t);
    if (rc == 0) {
        const char **v = synap_arena_alloc(c->arena, sizeof *v);
        v[0] = synap_arena_strdup(c->arena, t->path);
        *paths = v;
        *n = 1;
    }
    free(t);
    return rc;
}

static int compute(struct synap_stage_ctx *c)
{
    struct synap_partition_opts o;
    struct synap_target *t = synap_xmalloc(sizeof *t);
    struct synap_graph *g = NULL;
    char *warning = NULL;
    int rc = -1;
    if (load_target(c, &o, t) < 0) goto out;
    g = synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    if (!g) goto out;
    if (synap_partition(g, t, &o, &warning, c->err) < 0) goto out;
    if (synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err) < 0) goto out;
    /* the one message a library result asks the tool to show: never silent,
     * and kept with a cached result so a cache hit shows it too */
    if (warning) synap_stage_warn(c, "%s", warning);
    if (c->verbose) {
        int32_t nsub = g->nnodes ? g->nodes[g->nnodes - 1].subgraph + 1 : 0;
        fprintf(stderr, "synap-partition: %s: %zu layers in %d subgraph%s\n", t->name, g->nnodes,
                nsub, nsub == 1 ? "" : "s");
        for (size_t i = 0; i < g->nnodes;) {
            size_t j = i;
            while (j < g->nnodes && g->nodes[j].subgraph == g->nodes[i].subgraph)
                j++;
            fprintf(stderr, "  subgraph %d: %s, %zu layers from '%s'\n", g->nodes[i].subgraph,
                    g->nodes[i].delegate, j - i, g->nodes[i].name);
            i = j;
        }
    }
    rc = 0;
out:
    free(warning);
    synap_graph_free(g);
    free(t);
    return rc;
}

static const struct synap_stage_flag flags[] = {
    {"target", "target", SYNAP_FLAG_STRING, "T  target SoC or alias (VS680, SL1640, ...)"},
    {"delegate", "delegate", SYNAP_FLAG_STRING,
     "D  delegate of the whole network: npu, gpu, cpu or default"},
    {"delegate-map", "delegate_map", SYNAP_FLAG_LIST,
     "PATTERN=D  delegate of the layers PATTERN selects ('*', NAME, 'NAME...', '@id'); "
     "repeatable, later entries win"},
};

static const struct synap_stage_desc desc = {
    .name = "partition",
    .summary = "assign every layer a delegate of the target and group layers into subgraphs",
    .min_inputs = 1,
    .max_inputs = 1,
    .noutputs = 1,
    .flags = flags,
    .nflags = sizeof flags / sizeof *flags,
    .extra_files = extra_files,
    .compute = compute,
};

int main(int argc, char **argv)
{
    return synap_stage_main(&desc, argc, argv);
}
