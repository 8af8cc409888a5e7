/* synap-calib: run the data set through the float IR and write the
 * calibration statistics (stage "calib"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib/calib.h"
#include "quant/quant.h"
#include "pipeline/stage.h"

/* The data set, expanded once in extra_files (so that every file is in the
 * cache key and the depfile) and used by compute. */
static struct {
    struct synap_graph *g;
    struct synap_calib_opts opts;
    struct synap_calib_dataset ds;
    int nthreads; /* --threads: not an option, so it stays out of the cache key */
    int bar_open;
} st;

static int read_ir(struct synap_stage_ctx *c)
{
    if (st.g) return 0;
    st.g = synap_ir_read_mem(c->input_data[0].data, c->input_data[0].size, c->inputs[0], c->err);
    return st.g ? 0 : -1;
}

static int extra_files(struct synap_stage_ctx *c, const char ***paths, size_t *n)
{
    if (synap_calib_opts_from_json(c->options, c->arena, &st.opts, c->err) < 0) return -1;
    if (read_ir(c) < 0) return -1;
    const char **names = synap_arena_alloc(c->arena, (st.g->ninputs + 1) * sizeof *names);
    for (size_t i = 0; i < st.g->ninputs; i++)
        names[i] = st.g->tensors[st.g->inputs[i]].name;
    if (synap_calib_dataset_expand(&st.opts, names, st.g->ninputs, c->arena, &st.ds, c->err) < 0)
        return -1;
    *paths = st.ds.files;
    *n = st.ds.files ? st.ds.nsamples * st.ds.ninputs : 0;
    return 0;
}

/* One bar per pass, each ending its line when the pass is done. */
static void progress(void *ctx, const char *pass, size_t done, size_t total)
{
    (void)ctx;
    int width = 40, fill = (int)(done * (size_t)width / total);
    fprintf(stderr, "\rsynap-calib: [%.*s%*s] %zu/%zu samples, %s", fill,
            "########################################", width - fill, "", done, total, pass);
    st.bar_open = done != total;
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static int compute(struct synap_stage_ctx *c)
{
    st.opts.nthreads = st.nthreads;
    if (isatty(STDERR_FILENO)) st.opts.progress = progress;
    struct synap_calib_stats s;
    double t0 = synap_now_ms();
    /* the graph synap-quant will quantize: equalized the same way */
    if (synap_calib_run_prepared(st.g, &st.opts, &st.ds, &s, c->err) < 0) {
        if (st.bar_open) fputc('\n', stderr);
        return -1;
    }
    if (c->verbose)
        fprintf(stderr,
                "synap-calib: %zu samples, %zu tensors, %zu measured per channel (depthwise "
                "outputs, for equalization), %.0f ms\n",
                s.nsamples, s.ntensors, s.nchannels, synap_now_ms() - t0);
    int rc = synap_calib_stats_write(&s, &c->out[0], &c->out_n[0], c->err);
    synap_calib_stats_free(&s);
    return rc;
}

static const struct synap_stage_flag flags[] = {
    {"dataset", "dataset", SYNAP_FLAG_LIST,
     "GLOB  the files of one model input (repeat once per input, in order; 'random' = random "
     "samples)"},
    {"means", "means", SYNAP_FLAG_STRING, "M0,M1,M2  per-channel means (single-input models)"},
    {"scale", "scale", SYNAP_FLAG_STRING, "S  norm = (pixel - mean) / S (single-input models)"},
    {"format", "format", SYNAP_FLAG_STRING,
     "'rgb|bgr [keep_proportions=1|0] [fill_color=N]'  image format (single-input models)"},
    {"data-layout", "data_layout", SYNAP_FLAG_STRING, "default|nchw|nhwc  layout of image inputs"},
    {"count", "count", SYNAP_FLAG_INT, "N  samples with --dataset random (default 16)"},
    {"seed", "seed", SYNAP_FLAG_INT, "N  seed of --dataset random (default 0)"},
};

static const struct synap_stage_desc desc = {
    .name = "calib",
    .summary = "run the data set through the float network and collect per-tensor statistics "
               "for synap-quant (and, first, the per-channel ranges of depthwise outputs that "
               "equalization uses); --threads N (or SYNAP_THREADS) sets the workers, default every "
               "core, and never changes the result",
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
    /* --threads N / --threads=N: taken out before the common main, since the
     * result does not depend on it (it must not change the cache key) */
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (i > 0 && !strcmp(a, "--")) {
            while (i < argc)
                argv[n++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--threads") && i + 1 < argc)
            v = argv[++i];
        else if (!strncmp(a, "--threads=", 10))
            v = a + 10;
        if (!v) {
            argv[n++] = argv[i];
            continue;
        }
        char *end;
        long t = strtol(v, &end, 10);
        if (!*v || *end || t < 1 || t > 1024) {
            fprintf(stderr, "synap-calib: bad --threads '%s' (expected 1..1024)\n", v);
            return 1;
        }
        st.nthreads = (int)t;
    }
    argv[n] = NULL;
    int rc = synap_stage_main(&desc, n, argv);
    synap_graph_free(st.g);
    return rc;
}
