/* Calibration (synap-calib): runs the float interpreter over a data set and
 * collects per-tensor statistics (lib/calib/stats.h) for synap-quant.
 *
 * Options (the stage's JSON object; synap convert writes it from the
 * metafile, the flags of synap-calib build it by hand):
 *   "base_dir":    absolute folder that relative globs resolve against
 *                  (the metafile's); absent: the current directory
 *   "dataset":     [GLOB, ...] one per model input, or a single string;
 *                  "random" (alone) = seeded random samples
 *   "count":       samples when the dataset is "random" (default 16)
 *   "seed":        random seed (default 0)
 *   "inputs":      [{"means": number | [number per channel], "scale": number,
 *                    "format": "rgb|bgr [keep_proportions=1|0] [fill_color=N]",
 *                    "name": str (informative)}, ...] one per model input
 *   "means", "scale", "format": the same for a single-input model (the
 *                  flags --means 1,2,3 --scale 58 --format bgr); strings of
 *                  comma-separated numbers are accepted for means and scale
 *   "data_layout": "default" | "nchw" | "nhwc"
 * Unknown keys are errors.
 *
 * Images (JPEG, PNG; recognised by content) feed rank-4 float32 inputs of
 * batch 1 with 1 or 3 channels: converted to the channel count, resized to
 * the tensor's H x W (lib/image/image.h: letterbox with fill_color, default
 * 128, unless keep_proportions=0), channels reversed for bgr, then
 * (pixel - means[c]) / scale, laid out NCHW or NHWC. The layout is
 * data_layout's; "default" decides from the shape: NCHW when dim 1 is 1 or 3,
 * else NHWC when dim 3 is, else an error. .npy files (recognised by content)
 * are used as they are and must match the input's dtype and shape exactly. */
#ifndef SYNAP_CALIB_H
#define SYNAP_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "calib/stats.h"
#include "ir/ir.h"
#include "kernels/kernel.h"
#include "util/json.h"
#include "util/util.h"

#define SYNAP_CALIB_MAX_CHANNELS 4

enum synap_calib_layout {
    SYNAP_CALIB_LAYOUT_DEFAULT = 0,
    SYNAP_CALIB_LAYOUT_NCHW,
    SYNAP_CALIB_LAYOUT_NHWC,
};

/* How images become one model input. */
struct synap_calib_input {
    double means[SYNAP_CALIB_MAX_CHANNELS]; /* per channel (one value repeats) */
    size_t nmeans;                          /* 0: all 0 */
    double scale;                           /* never 0; default 1 */
    int bgr;                                /* reverse channels */
    int keep_proportions;                   /* default 1 */
    int fill_color;                         /* default 128 */
};

struct synap_calib_opts {
    const char *base_dir; /* NULL: relative to the current directory */
    const char **globs;   /* one per model input (NULL/0 with random) */
    size_t nglobs;
    int random;
    size_t count;                     /* random samples */
    uint64_t seed;                    /* random seed */
    struct synap_calib_input *inputs; /* ninputs entries (defaults past the given ones) */
    size_t ninputs;
    enum synap_calib_layout layout;
    /* run-time only (no effect on the result): */
    int nthreads; /* <= 0: synap_default_threads() */
    /* called after each sample of each pass: `pass` names it ("depthwise
     * channels" - pass 0, only when the graph has depthwise -> conv pairs -,
     * "ranges", "histograms"), done of total samples; from any worker
     * thread, serialized */
    void (*progress)(void *ctx, const char *pass, size_t done, size_t total);
    void *progress_ctx;
};

/* Reads the options object (strings live in a). Errors name the key. */
int synap_calib_opts_from_json(const struct synap_json *o, struct synap_arena *a,
                               struct synap_calib_opts *out, struct synap_err *err);

/* The files of the data set: nsamples rows of ninputs paths, sample-major
 * (files[s * ninputs + i]); each glob expanded and sorted by strcmp.
 * Errors: a glob that matches nothing ("dataset 'GLOB' (input 'x') matches no
 * file", the glob joined to base_dir), unequal counts ("input 'x': 20 files,
 * input 'y': 19 files"), a
 * glob count that differs from the model's inputs. With random: no files,
 * nsamples = count. input_names (the graph's, for messages) may be NULL. */
struct synap_calib_dataset {
    size_t ninputs, nsamples;
    const char **files; /* NULL with random */
};
int synap_calib_dataset_expand(const struct synap_calib_opts *o, const char *const *input_names,
                               size_t ninputs, struct synap_arena *a,
                               struct synap_calib_dataset *ds, struct synap_err *err);

/* Fills v (the buffer of the graph input tensor t: dtype and dims set, data
 * allocated) from one file: an image preprocessed as described above, or a
 * .npy. Errors name the file and the input. */
int synap_calib_load(const struct synap_tensor *t, const struct synap_calib_input *in,
                     enum synap_calib_layout layout, const char *path, struct synap_value *v,
                     struct synap_err *err);

/* Runs the data set through the float interpreter in two streaming passes
 * (ranges and moving averages, then histograms) on o->nthreads workers, each
 * with its own plan; the result is the same, byte for byte, whatever the
 * number of threads. Statistics cover every non-constant float tensor
 * (graph inputs included); values that are not finite are left out of them.
 * out is freed with synap_calib_stats_free. On failure (the first failing
 * sample in data-set order) err names the file. */
int synap_calib_run(const struct synap_graph *g, const struct synap_calib_opts *o,
                    const struct synap_calib_dataset *ds, struct synap_calib_stats *out,
                    struct synap_err *err);

/* Pass 0, for data-aware equalization (synap_quant_prepare_ranges): runs
 * the data set through g (the UNPREPARED graph) and gives, for each of the n
 * float activation tensors (NCHW-like: channels on axis 1), the largest
 * |x| of each channel (absmax[k]: dims[1] values, malloc'd; 0 for a channel
 * never seen). Same threading and error rules as synap_calib_run; the
 * result does not depend on the thread count. */
int synap_calib_channel_ranges(const struct synap_graph *g, const struct synap_calib_opts *o,
                               const struct synap_calib_dataset *ds, const uint32_t *tensors,
                               size_t n, double **absmax, struct synap_err *err);
/* What synap-calib does: pass 0 (synap_calib_channel_ranges) over the
 * tensors synap_quant_range_probes names, then prepares g in place
 * (synap_quant_prepare_ranges with those ranges) and runs synap_calib_run on
 * it; the channel ranges are kept in out (ch, nchannels) so that
 * synap_calib_prepare can prepare the same unprepared IR identically. */
int synap_calib_run_prepared(struct synap_graph *g, const struct synap_calib_opts *o,
                             const struct synap_calib_dataset *ds, struct synap_calib_stats *out,
                             struct synap_err *err);
/* Prepares the unprepared graph g as synap_calib_run_prepared did, from the
 * channel ranges in s (none, or s NULL: synap_quant_prepare). */
int synap_calib_prepare(struct synap_graph *g, const struct synap_calib_stats *s,
                        struct synap_err *err);
#endif
