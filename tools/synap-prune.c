/* synap-prune: cut an IR at named tensors (stage "prune"). */
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/stage.h"
#include "prune/prune.h"

static int compute(struct synap_stage_ctx *c)
{
    struct synap_prune_opts o;
    if (synap_prune_opts_from_json(c->options, c->arena, &o, c->err) < 0) return -1;
    struct synap_graph *g =
        synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    if (!g) return -1;
    size_t nodes_before = g->nnodes;
    int rc = synap_prune(g, &o, c->err);
    if (rc == 0) rc = synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err);
    if (rc == 0 && c->verbose)
        fprintf(stderr, "synap-prune: %zu of %zu layers kept, %zu inputs, %zu outputs\n", g->nnodes,
                nodes_before, g->ninputs, g->noutputs);
    synap_graph_free(g);
    return rc;
}

static const struct synap_stage_flag flags[] = {
    {"input", "inputs", SYNAP_FLAG_LIST,
     "NAME=D0,D1,...  make tensor NAME a network input of this shape (batch forced to 1; "
     "repeatable; NAME alone keeps its shape)"},
    {"output", "outputs", SYNAP_FLAG_LIST,
     "NAME  make tensor NAME a network output; layers after it are removed (repeatable)"},
};

static const struct synap_stage_desc desc = {
    .name = "prune",
    .summary = "cut the network at named input and output tensors and drop unused layers",
    .min_inputs = 1,
    .max_inputs = 1,
    .noutputs = 1,
    .flags = flags,
    .nflags = sizeof flags / sizeof *flags,
    .extra_files = NULL,
    .compute = compute,
};

int main(int argc, char **argv)
{
    return synap_stage_main(&desc, argc, argv);
}
