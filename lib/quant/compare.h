/* Per-layer error of a quantized IR against its float IR (synap-compare):
 * cosine similarity and SQNR of every layer's output, "entire" (the
 * quantized graph run from the input) and "single" (that one quantized
 * layer fed the float run's inputs). */
#ifndef SYNAP_COMPARE_H
#define SYNAP_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/ir.h"
#include "kernels/kernel.h"

/* SQNR is capped here (an exact match would be +inf). */
#define SYNAP_COMPARE_MAX_DB 200.0

struct synap_compare_row {
    size_t index;      /* layer id in the float graph */
    const char *layer; /* float layer name (borrowed from the float graph) */
    const char *op;
    const char *tensor; /* its output 0 */
    const char *qtype;  /* dtype of that output in the quantized graph */
    double cos_entire, sqnr_entire;
    /* entire: % of the float values outside the range the quantized tensor
     * can hold (what its calibrated range clips); -1 when not integer or
     * quantized per channel */
    double clipped;
    bool has_single; /* the quantized graph has the same layer to run alone */
    double cos_single, sqnr_single;
};

struct synap_compare {
    struct synap_compare_row *rows; /* worst first (lowest entire SQNR) */
    size_t nrows;
};

/* Runs both graphs on `inputs` (one float32 value per float graph input,
 * same shapes; NULL: uniform random in [0, 1) with a fixed seed) and fills
 * cmp (free with synap_compare_free). Tensors are matched by name (a
 * quantized tensor "NAME#type" stands for NAME). -1 with err. */
int synap_compare_run(const struct synap_graph *fg, const struct synap_graph *qg,
                      const struct synap_value *inputs, struct synap_compare *cmp,
                      struct synap_err *err);
void synap_compare_free(struct synap_compare *cmp);

/* The cosine similarity and SQNR (dB) of q against reference f. */
void synap_compare_metrics(const float *f, const float *q, int64_t n, double *cos, double *sqnr);

/* Writes the table (text) or a JSON document. */
void synap_compare_print(const struct synap_compare *cmp, FILE *out);
char *synap_compare_json(const struct synap_compare *cmp, size_t *n);

#endif
