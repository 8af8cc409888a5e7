/* synap-compare: per-layer error of a quantized IR against its float IR.
 *   synap-compare FLOAT.ir QUANT.ir [INPUT.npy...] [--json]
 * One .npy per float graph input (none: uniform random [0, 1), fixed seed).
 * Prints every layer worst first: cosine similarity and SQNR of the
 * quantized output, "entire" (quantized from the input) and "single" (the
 * float inputs into that one quantized layer). Exit 1 on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib.h"
#include "quant/compare.h"
#include "quant/quant.h"
#include "util/npy.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: synap-compare FLOAT.ir QUANT.ir [INPUT.npy...] [--json]\n"
               "  per layer, worst first: cosine similarity and SQNR (dB) of the quantized\n"
               "  output against float, entire (quantized from the input) and single (float\n"
               "  inputs into that one quantized layer), and the %% of float values outside\n"
               "  each quantized tensor's range (clip %%; '-' for float or per-channel ones)\n"
               "  A layer whose output only feeds a Relu, Clip, Sigmoid or Tanh is compared\n"
               "  on what that activation keeps. When synap-quant equalized the model\n"
               "  (tensors NAME:equalized), the float IR is equalized the same way first\n"
               "  (same function), so those layers are compared too.\n");
    return rc;
}

int main(int argc, char **argv)
{
    const char *paths[64];
    size_t np = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout, 0);
        else if (argv[i][0] == '-' && argv[i][1])
            return fprintf(stderr, "synap-compare: unknown option '%s'\n", argv[i]),
                   usage(stderr, 1);
        else if (np == sizeof paths / sizeof *paths)
            return fprintf(stderr, "synap-compare: too many arguments\n"), 1;
        else
            paths[np++] = argv[i];
    }
    if (np < 2) return usage(stderr, 1);
    struct synap_err err = {0};
    struct synap_graph *fg = NULL, *qg = NULL;
    struct synap_value *in = NULL;
    struct synap_compare cmp = {0};
    size_t nin = np - 2;
    int rc = 1;
    fg = synap_ir_read(paths[0], &err);
    if (!fg) goto fail;
    qg = synap_ir_read(paths[1], &err);
    if (!qg) goto fail;
    /* synap-quant's cross-layer equalization renamed the scaled tensors
     * NAME:equalized: equalize the float IR the same way to match them (with
     * the channel ranges synap-quant kept in the "equalization" section) */
    if (synap_quant_is_prepared(qg)) {
        const uint8_t *sec;
        size_t nsec;
        struct synap_calib_stats eq = {0};
        int has = synap_ir_section_get(qg, "equalization", &sec, &nsec, &err);
        if (has < 0 || (has > 0 && synap_calib_channels_read(sec, nsec, paths[1], &eq, &err) < 0))
            goto fail;
        int prc = synap_calib_prepare(fg, has > 0 ? &eq : NULL, &err);
        synap_calib_stats_free(&eq);
        if (prc < 0) goto fail;
    }
    if (nin && nin != fg->ninputs) {
        synap_errf(&err, "%s has %zu inputs, %zu .npy files given", paths[0], fg->ninputs, nin);
        goto fail;
    }
    if (nin) {
        in = calloc(nin, sizeof *in);
        if (!in) goto fail;
        for (size_t k = 0; k < nin; k++)
            if (synap_npy_read(paths[2 + k], &in[k], &err)) goto fail;
    }
    if (synap_compare_run(fg, qg, nin ? in : NULL, &cmp, &err)) goto fail;
    if (json) {
        size_t n;
        char *s = synap_compare_json(&cmp, &n);
        fwrite(s, 1, n, stdout);
        fputc('\n', stdout);
        free(s);
    } else {
        synap_compare_print(&cmp, stdout);
    }
    rc = fflush(stdout) ? 2 : 0;
    goto done;
fail:
    fprintf(stderr, "synap-compare: %s\n", err.msg[0] ? err.msg : "out of memory");
    if (err.code == SYNAP_EIO) rc = 2;
done:
    synap_compare_free(&cmp);
    for (size_t k = 0; in && k < nin; k++)
        free(in[k].data);
    free(in);
    synap_graph_free(fg);
    synap_graph_free(qg);
    return rc;
}
