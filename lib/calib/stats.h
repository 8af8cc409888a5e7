/* Calibration statistics (20-calib.stats): per-tensor ranges, moving
 * averages and histograms collected by synap-calib, read by synap-quant.
 * They do not depend on the data type or scheme, so changing those reuses
 * them. The file format (msgpack, versioned) is specified in stats.c. */
#ifndef SYNAP_CALIB_STATS_H
#define SYNAP_CALIB_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define SYNAP_CALIB_BINS 2048

struct synap_tensor_stats {
    uint32_t tensor;       /* index in the IR the statistics were collected on */
    const char *name;      /* its name (checked against the IR by readers) */
    double min, max;       /* over every element of every sample */
    double ma_min, ma_max; /* moving average of the per-sample min/max (momentum 0.01, in sample order) */
    uint64_t count;        /* elements seen */
    double hist_lo, hist_hi; /* histogram range = [min, max] of the whole data set */
    uint64_t hist[SYNAP_CALIB_BINS];
};

struct synap_calib_stats {
    size_t nsamples;
    size_t ntensors;
    struct synap_tensor_stats *t; /* sorted by tensor index */
    struct synap_arena *arena;    /* owns names and t */
};

int synap_calib_stats_read(const uint8_t *data, size_t n, const char *what,
                           struct synap_calib_stats *s, struct synap_err *err);
int synap_calib_stats_write(const struct synap_calib_stats *s, uint8_t **out, size_t *n,
                            struct synap_err *err);
void synap_calib_stats_free(struct synap_calib_stats *s);

#endif
