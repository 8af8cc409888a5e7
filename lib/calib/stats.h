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
    uint32_t tensor;  /* index in the IR the statistics were collected on */
    const char *name; /* its name (checked against the IR by readers) */
    double min, max;  /* over every element of every sample */
    double ma_min,
        ma_max;     /* moving average of the per-sample min/max (momentum 0.01, in sample order) */
    uint64_t count; /* elements seen */
    double hist_lo, hist_hi; /* histogram range = [min, max] of the whole data set */
    uint64_t hist[SYNAP_CALIB_BINS];
};

/* Per-channel ranges of a tensor of the UNPREPARED graph (pass 0 of
 * synap-calib: synap_calib_channel_ranges), for synap_quant_prepare_ranges. */
struct synap_chan_stats {
    const char *name; /* the tensor's name in the unprepared IR */
    int64_t n;        /* channels */
    double *absmax;   /* n values, the largest |x| of each channel */
};

struct synap_calib_stats {
    size_t nsamples;
    size_t ntensors;
    struct synap_tensor_stats *t; /* sorted by tensor index */
    size_t nchannels;             /* entries of ch (version 2) */
    struct synap_chan_stats *ch;
    struct synap_arena *arena; /* owns names and t */
};

int synap_calib_stats_read(const uint8_t *data, size_t n, const char *what,
                           struct synap_calib_stats *s, struct synap_err *err);
int synap_calib_stats_write(const struct synap_calib_stats *s, uint8_t **out, size_t *n,
                            struct synap_err *err);
void synap_calib_stats_free(struct synap_calib_stats *s);
/* Only the "channels" value (msgpack, as in the file): synap-quant keeps it
 * in the quantized IR's "equalization" section, for synap-compare. The
 * reader fills s->ch / s->nchannels (free with synap_calib_stats_free). */
void synap_calib_channels_write(const struct synap_calib_stats *s, uint8_t **out, size_t *n);
int synap_calib_channels_read(const uint8_t *data, size_t n, const char *what,
                              struct synap_calib_stats *s, struct synap_err *err);

#endif
