/* synap-run: run an IR file or a model.synap on inputs (.npy, .png, raw, random, zero,
 * value:N), time it like synap_cli and optionally profile it per fused layer. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include "image/image.h"
#include "runtime/bundle.h"
#include "runtime/plan.h"
#include "util/npy.h"

static const char usage[] =
    "usage: synap-run MODEL [INPUT...] [options]\n"
    "\n"
    "Runs MODEL (an IR file, or a model.synap archive made by synap convert) with\n"
    "the reference interpreter (float layers in float32, quantized layers on the\n"
    "integer kernels that simulate the NPU) and prints its outputs. A model.synap runs\n"
    "subgraph by subgraph in dependency order; independent subgraphs run concurrently.\n"
    "One INPUT per model input, in order (missing ones are `random`):\n"
    "  FILE.npy   a NumPy array of the input's shape (any numeric dtype: converted)\n"
    "  FILE.png   an 8-bit image whose size matches the input (NCHW or NHWC, 1 or 3\n"
    "             channels); raw pixel values 0..255, no resizing or normalization\n"
    "  FILE       any other file: raw bytes, exactly the input's size, in its dtype\n"
    "  random     uniform values in [0, 1) (integers: 0..9), fixed seed\n"
    "  zero       zeros\n"
    "  value:N    every element N\n"
    "\n"
    "options:\n"
    "  --out-dir DIR, --dump-out DIR\n"
    "                  write output_K.npy (K = output index) into DIR\n"
    "  -r, --repeat N  run N times (default 1)\n"
    "  --profiling FILE\n"
    "                  write the time, estimated cycles and bytes of every fused layer\n"
    "                  (codegen's layers; one per node without codegen) of the last run\n"
    "  --threads N     threads for the kernels (default: SYNAP_THREADS or every core)\n"
    "  --no-arena      ignore codegen's memory plan (every tensor its own buffer)\n"
    "  -q, --quiet     print only the timing line\n"
    "  -h, --help      this text\n"
    "  --version       print the version\n"
    "\n"
    "Prints each input, then `Predict #i: x ms` per run, each output's name, type and\n"
    "shape (and its values when it has at most 32 elements), then\n"
    "  Inference timings (ms):  load: ..  init: ..  min: ..  median: ..  max: ..  stddev: ..  mean: ..\n"
    "load = reading the model, init = preparing the plans (shapes, buffers).\n"
    "Exit status: 0 success, 1 bad input or options, 2 I/O or internal failure.\n";

/* freed on the way out, also on errors */
static struct synap_bundle *loaded;
static struct synap_file model_file;
static double *times;

static void die_err(struct synap_err *e)
{
    synap_bundle_free(loaded);
    synap_file_close(&model_file);
    free(times);
    for (char *c = e->msg; *c; c++) /* one line, whatever a damaged file held */
        if ((unsigned char)*c < 0x20) *c = '?';
    fprintf(stderr, "synap-run: %s\n", e->msg);
    exit(e->code == SYNAP_EIO ? 2 : 1);
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

/* xorshift64*: the same "random" inputs on every machine */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static int fill_input(struct synap_value *in, const char *name, const char *spec,
                      struct synap_err *err)
{
    int64_t n = synap_value_nelem(in);
    size_t nbytes = (size_t)n * synap_dtype_size(in->dtype);
    char a[160], b[160];
    if (!strcmp(spec, "zero")) {
        memset(in->data, 0, nbytes);
        return 0;
    }
    if (!strcmp(spec, "random")) {
        for (int64_t i = 0; i < n; i++) {
            if (synap_dtype_is_float(in->dtype))
                synap_value_set_f64(in, i, (double)(rng_next() >> 11) / 9007199254740992.0);
            else
                synap_value_set_i64(in, i, (int64_t)(rng_next() % 10));
        }
        return 0;
    }
    if (ends_with(spec, ".npy")) {
        struct synap_value v;
        if (synap_npy_read(spec, &v, err) < 0) return -1;
        int64_t vn = synap_value_nelem(&v);
        int same = v.rank == in->rank &&
                   !memcmp(v.dims, in->dims, sizeof(int64_t) * (size_t)in->rank);
        if (!same) {
            free(v.data);
            return synap_errf(err, "%s: shape %s does not match input '%s' %s", spec,
                              synap_shape_str(v.rank, v.dims, a, sizeof a), name,
                              synap_shape_str(in->rank, in->dims, b, sizeof b));
        }
        synap_convert(in->dtype, in->data, v.dtype, v.data, vn);
        free(v.data);
        return 0;
    }
    if (ends_with(spec, ".png")) {
        struct synap_image img;
        if (synap_image_read_png(spec, &img, err) < 0) return -1;
        int64_t h = img.height, w = img.width, c = img.channels;
        int nchw = in->rank == 4 && in->dims[0] == 1 && in->dims[1] == c && in->dims[2] == h &&
                   in->dims[3] == w;
        int nhwc = in->rank == 4 && in->dims[0] == 1 && in->dims[1] == h && in->dims[2] == w &&
                   in->dims[3] == c;
        if (!nchw && !nhwc) {
            synap_image_free(&img);
            return synap_errf(err, "%s: a %lldx%lld image with %lld channel(s) does not fit "
                                   "input '%s' %s",
                              spec, (long long)w, (long long)h, (long long)c, name,
                              synap_shape_str(in->rank, in->dims, b, sizeof b));
        }
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                for (int64_t k = 0; k < c; k++) {
                    int64_t src = (y * w + x) * c + k;
                    int64_t dst = nchw ? (k * h + y) * w + x : src;
                    synap_value_set_f64(in, dst, img.pixels[src]);
                }
        synap_image_free(&img);
        return 0;
    }
    if (!strncmp(spec, "value:", 6)) {
        char *end;
        double x = strtod(spec + 6, &end);
        if (end == spec + 6 || *end || !isfinite(x))
            return synap_errf(err, "%s: expected value:N with N a number", spec);
        for (int64_t i = 0; i < n; i++) {
            if (synap_dtype_is_float(in->dtype) || x != floor(x))
                synap_value_set_f64(in, i, x);
            else
                synap_value_set_i64(in, i, (int64_t)x);
        }
        return 0;
    }
    /* anything else: a raw file of exactly the input's bytes */
    struct synap_file f;
    if (synap_file_read(spec, &f, err) < 0) {
        if (err->code == SYNAP_EIO && access(spec, F_OK) < 0)
            return synap_errf(err, "%s: no such file (an input is FILE.npy, FILE.png, a raw "
                                   "FILE, random, zero or value:N)", spec);
        return -1;
    }
    if (f.size != nbytes) {
        size_t got = f.size;
        synap_file_close(&f);
        return synap_errf(err, "%s: %zu bytes, input '%s' (%s %s) needs exactly %zu", spec, got,
                          name, synap_dtype_name(in->dtype),
                          synap_shape_str(in->rank, in->dims, b, sizeof b), nbytes);
    }
    memcpy(in->data, f.data, nbytes);
    synap_file_close(&f);
    return 0;
}

static void print_output(size_t k, const char *name, const struct synap_value *v)
{
    char s[160];
    printf("Output %zu '%s' %s %s\n", k, name, synap_dtype_name(v->dtype),
           synap_shape_str(v->rank, v->dims, s, sizeof s));
    int64_t n = synap_value_nelem(v);
    if (n > 32 || n == 0) return;
    int is_float = synap_dtype_is_float(v->dtype);
    int64_t best = 0;
    printf("  values:");
    for (int64_t i = 0; i < n; i++) {
        if (is_float)
            printf(" %.6g", synap_value_get_f64(v, i));
        else
            printf(" %lld", (long long)synap_value_get_i64(v, i));
        if (synap_value_get_f64(v, i) > synap_value_get_f64(v, best)) best = i;
    }
    printf("\n");
    if (n > 1) printf("  argmax: %lld\n", (long long)best);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long parse_count(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 1000000) {
        fprintf(stderr, "synap-run: %s: expected a positive number, got '%s'\n", what, s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out-dir", required_argument, 0, 'o'},  {"dump-out", required_argument, 0, 'o'},
        {"repeat", required_argument, 0, 'r'},   {"threads", required_argument, 0, 't'},
        {"profiling", required_argument, 0, 'P'}, {"no-arena", no_argument, 0, 'A'},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0},
    };
    const char *out_dir = NULL, *profiling = NULL;
    long repeat = 1, threads = 0;
    int quiet = 0, no_arena = 0, c;
    while ((c = getopt_long(argc, argv, "r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_dir = optarg; break;
        case 'r': repeat = parse_count(optarg, "--repeat"); break;
        case 't': threads = parse_count(optarg, "--threads"); break;
        case 'P': profiling = optarg; break;
        case 'A': no_arena = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("synap-run %s\n", SYNAP_VERSION); return 0;
        default: fputs(usage, stderr); return 1;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return 1;
    }
    const char *model = argv[optind++];
    struct synap_err err = {0};

    /* IR or model.synap, told apart by content; an IR becomes a bundle of one
     * subgraph so both run, time and profile the same way */
    double t0 = synap_now_ms();
    struct synap_file *f = &model_file;
    if (synap_file_read(model, f, &err) < 0) die_err(&err);
    struct synap_bundle *b;
    if (synap_bundle_is_zip(f->data, f->size)) {
        b = synap_bundle_open_mem(f->data, f->size, model, &err);
    } else {
        struct synap_graph *g = synap_ir_read_mem(f->data, f->size, model, &err);
        if (!g) die_err(&err);
        g->file = *f; /* the graph owns the mapping now */
        memset(f, 0, sizeof *f);
        b = synap_bundle_from_graph(g, model, &err);
    }
    if (!b) die_err(&err);
    loaded = b;
    double t1 = synap_now_ms();
    struct synap_bundle_opts bo = {
        .nthreads = (int)threads, .no_arena = no_arena, .profile = profiling != NULL};
    if (synap_bundle_prepare(b, &bo, &err) < 0) die_err(&err);
    double t2 = synap_now_ms();

    size_t ninputs = synap_bundle_ninputs(b), noutputs = synap_bundle_noutputs(b);
    size_t ngiven = (size_t)(argc - optind);
    if (ngiven > ninputs) {
        fprintf(stderr, "synap-run: %s: %zu inputs given, the model has %zu\n", model, ngiven,
                ninputs);
        synap_bundle_free(b);
        synap_file_close(f);
        return 1;
    }
    for (size_t i = 0; i < ninputs; i++) {
        const char *spec = i < ngiven ? argv[optind + (int)i] : "random";
        const char *name = synap_bundle_input_name(b, i);
        struct synap_value *v = synap_bundle_input(b, i);
        if (fill_input(v, name, spec, &err) < 0) die_err(&err);
        if (!quiet) {
            char s[160];
            printf("Input %zu '%s' %s %s <- %s\n", i, name, synap_dtype_name(v->dtype),
                   synap_shape_str(v->rank, v->dims, s, sizeof s), spec);
        }
    }

    times = synap_xmalloc((size_t)repeat * sizeof *times);
    for (long r = 0; r < repeat; r++) {
        double s = synap_now_ms();
        if (synap_bundle_run(b, &err) < 0) die_err(&err);
        times[r] = synap_now_ms() - s;
        if (!quiet) printf("Predict #%ld: %.2f ms\n", r, times[r]);
    }

    if (out_dir && synap_mkdirs(out_dir, &err) < 0) die_err(&err);
    for (size_t k = 0; k < noutputs; k++) {
        const struct synap_value *v = synap_bundle_output(b, k);
        if (!quiet) print_output(k, synap_bundle_output_name(b, k), v);
        if (out_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/output_%zu.npy", out_dir, k);
            if (synap_npy_write(path, v, &err) < 0) die_err(&err);
        }
    }

    double sum = 0, sq = 0;
    for (long r = 0; r < repeat; r++) sum += times[r];
    if (profiling) {
        char *text = synap_bundle_profile_text(b, (long)getpid(), repeat, sum * 1000.0,
                                               times[repeat - 1] * 1000.0);
        if (synap_file_write_atomic(profiling, text, strlen(text), &err) < 0) die_err(&err);
        free(text);
    }
    double mean = sum / (double)repeat;
    for (long r = 0; r < repeat; r++) sq += (times[r] - mean) * (times[r] - mean);
    qsort(times, (size_t)repeat, sizeof *times, cmp_double);
    double median = repeat % 2 ? times[repeat / 2] : (times[repeat / 2 - 1] + times[repeat / 2]) / 2;
    printf("Inference timings (ms):  load: %.2f  init: %.2f  min: %.2f  median: %.2f  max: %.2f  "
           "stddev: %.2f  mean: %.2f\n",
           t1 - t0, t2 - t1, times[0], median, times[repeat - 1], sqrt(sq / (double)repeat), mean);
    free(times);
    synap_bundle_free(b);
    synap_file_close(f);
    return 0;
}
