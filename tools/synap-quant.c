/* synap-quant: quantize a float IR with calibration statistics (stage "quant").
 *   synap-quant IN.ir STATS -o OUT.ir [-o quantization_info.yaml] [-o quantization_entropy.txt]
 * The number of -o decides the outputs; it enters the options (key
 * "noutputs") so that cache entries of different shapes never collide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/stats.h"
#include "pipeline/stage.h"
#include "quant/quant.h"

static size_t noutputs = 1;

static int compute(struct synap_stage_ctx *c)
{
    struct synap_quant_opts o;
    struct synap_calib_stats st;
    struct synap_quant_result r;
    memset(&st, 0, sizeof st);
    memset(&r, 0, sizeof r);
    int rc = -1;
    struct synap_graph *g = NULL;
    if (synap_quant_opts_from_json(c->options, c->arena, &o, c->err)) return -1;
    g = synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    if (!g) return -1;
    if (synap_calib_stats_read(c->input_data[1].data, c->input_data[1].size, c->inputs[1], &st,
                               c->err))
        goto out;
    if (synap_quantize(g, &st, &o, &r, c->err)) {
        /* an option naming no layer is about the options (in synap convert:
         * the metafile's quantization.data_type), not about the IR file */
        if (strncmp(c->err->msg, "data_type:", 10)) synap_err_prefix(c->err, "%s", c->inputs[0]);
        goto out;
    }
    for (size_t i = 0; i < r.nwarnings; i++)
        synap_stage_warn(c, "%s", r.warnings[i]);
    if (synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err)) goto out;
    if (noutputs > 1) {
        c->out[1] = (uint8_t *)r.info_yaml;
        c->out_n[1] = r.info_n;
        r.info_yaml = NULL;
    }
    if (noutputs > 2) {
        c->out[2] = r.entropy ? (uint8_t *)r.entropy : calloc(1, 1);
        c->out_n[2] = r.entropy ? r.entropy_n : 0;
        r.entropy = NULL;
        if (o.algo != SYNAP_QALGO_KL)
            synap_stage_warn(c, "quantization_entropy.txt is empty: only kl_divergence writes it");
    }
    if (c->verbose)
        fprintf(stderr, "synap-quant: %zu layers, %zu conversion layers%s\n", g->nnodes,
                r.nconversions, r.prequantized ? " (pre-quantized model kept)" : "");
    rc = 0;
out:
    synap_quant_result_free(&r);
    synap_calib_stats_free(&st);
    synap_graph_free(g);
    return rc;
}

static const struct synap_stage_flag flags[] = {
    {"data-type", "data_type", SYNAP_FLAG_STRING,
     "T  uint8 (default), int8 or int16 for every layer"},
    {"type-map", "data_type_map", SYNAP_FLAG_LIST,
     "PATTERN=T  layers matching PATTERN ('*', NAME, NAME..., INPUTS, @id) get type T (uint8, "
     "int8, int16, float16); repeatable, later entries win"},
    {"scheme", "scheme", SYNAP_FLAG_STRING,
     "S  default, asymmetric_affine, dynamic_fixed_point or perchannel_symmetric_affine"},
    {"mode", "mode", SYNAP_FLAG_STRING, "M  standard or full (graph inputs quantized too)"},
    {"algorithm", "algorithm", SYNAP_FLAG_STRING,
     "A  standard, kl_divergence, moving_average, percentile or mse"},
    {"dequantize", "dequantize_outputs", SYNAP_FLAG_BOOL, " dequantize every output to float32"},
    {"noutputs", "noutputs", SYNAP_FLAG_INT, "N  (internal: set from the number of -o)"},
};

static const struct synap_stage_desc desc0 = {
    .name = "quant",
    .summary = "quantize a float IR with calibration statistics (IN.ir STATS -o OUT.ir "
               "[-o quantization_info.yaml] [-o quantization_entropy.txt])",
    .min_inputs = 2,
    .max_inputs = 2,
    .noutputs = 1,
    .flags = flags,
    .nflags = sizeof flags / sizeof *flags,
    .extra_files = NULL,
    .compute = compute,
};

int main(int argc, char **argv)
{
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-o") || !strncmp(argv[i], "--output=", 9) ||
            !strcmp(argv[i], "--output"))
            n++;
        else if (!strncmp(argv[i], "-o", 2) && argv[i][2])
            n++;
    }
    noutputs = n < 1 ? 1 : n > 3 ? 3 : n;
    struct synap_stage_desc d = desc0;
    d.noutputs = noutputs; /* more than 3 -o: the stage main says "too many outputs" */
    char nbuf[8];
    snprintf(nbuf, sizeof nbuf, "%zu", noutputs);
    char **av = malloc(((size_t)argc + 3) * sizeof *av);
    if (!av) return 2;
    int ac = 0;
    for (int i = 0; i < argc; i++)
        av[ac++] = argv[i];
    if (noutputs > 1) {
        av[ac++] = "--noutputs";
        av[ac++] = nbuf;
    }
    av[ac] = NULL;
    int rc = synap_stage_main(&d, ac, av);
    free(av);
    return rc;
}
