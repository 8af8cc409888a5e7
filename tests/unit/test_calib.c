/* Calibration: exact statistics of a tiny graph on hand-made .npy samples,
 * byte-identical results for 1, 2 and 3 threads, the statistics file's
 * round trip and damage checks, options, and the data-set errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "calib/calib.h"
#include "util/npy.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_npy(const char *name, int rank, const int64_t *dims, const float *v)
{
    struct synap_value val = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = rank, .data = (void *)v};
    memcpy(val.dims, dims, (size_t)rank * sizeof *dims);
    struct synap_err err = {0};
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp_path(name));
    *strrchr(dir, '/') = 0;
    assert_int_equal(synap_mkdirs(dir, &err), 0);
    assert_int_equal(synap_npy_write(tmp_path(name), &val, &err), 0);
}

/* x [1, 4] -> Relu -> a; x + x -> b (output a, b) */
static struct synap_graph *tiny(void)
{
    struct synap_graph *g = synap_graph_new();
    const int64_t d[] = {1, 4};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t a = synap_graph_add_tensor(g, "a", SYNAP_DTYPE_FLOAT32, 2, d);
    uint32_t b = synap_graph_add_tensor(g, "b", SYNAP_DTYPE_FLOAT32, 2, d);
    struct synap_node *n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = x, n->outputs[0] = a;
    n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = x, n->inputs[1] = x, n->outputs[0] = b;
    uint32_t ins[] = {x}, outs[] = {a, b};
    g->inputs = synap_arena_memdup(g->arena, ins, sizeof ins);
    g->ninputs = 1;
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 2;
    return g;
}

static int opts_from(const char *json, struct synap_arena *a, struct synap_calib_opts *o,
                     struct synap_err *err)
{
    const struct synap_json *j = synap_json_parse(a, json, strlen(json), "opts", err);
    assert_non_null(j);
    return synap_calib_opts_from_json(j, a, o, err);
}

static int calibrate(struct synap_graph *g, const char *glob, int nthreads,
                     struct synap_calib_stats *s, struct synap_err *err)
{
    struct synap_arena *a = synap_arena_new();
    char json[1024];
    snprintf(json, sizeof json, "{\"base_dir\": \"%s\", \"dataset\": [\"%s\"]}", tmpdir, glob);
    struct synap_calib_opts o;
    struct synap_calib_dataset ds;
    int rc = opts_from(json, a, &o, err);
    const char *names[] = {"x", "y"};
    if (rc == 0) rc = synap_calib_dataset_expand(&o, names, g->ninputs, a, &ds, err);
    o.nthreads = nthreads;
    if (rc == 0) rc = synap_calib_run(g, &o, &ds, s, err);
    synap_arena_free(a);
    return rc;
}

/* The k runs' serialized statistics are the same bytes; frees them. */
static void same_bytes(uint8_t **b, const size_t *n, int k)
{
    for (int i = 1; i < k; i++) {
        assert_int_equal(n[0], n[i]);
        assert_memory_equal(b[0], b[i], n[0]);
    }
    for (int i = 0; i < k; i++)
        free(b[i]);
}

static size_t bin(double x, double lo, double hi)
{
    double b = floor((x - lo) * (SYNAP_CALIB_BINS / (hi - lo)));
    return b > SYNAP_CALIB_BINS - 1 ? SYNAP_CALIB_BINS - 1 : (size_t)b;
}

static void test_exact(void **state)
{
    (void)state;
    const int64_t d[] = {1, 4};
    write_npy("exact/s0.npy", 2, d, (const float[]){-1, 2, 3, 0.5f});
    write_npy("exact/s1.npy", 2, d, (const float[]){4, -2, 0, 1});
    write_npy("exact/s2.npy", 2, d, (const float[]){0, 0, 0, 0});
    struct synap_graph *g = tiny();
    struct synap_calib_stats s;
    struct synap_err err = {0};
    assert_int_equal(calibrate(g, "exact/*.npy", 1, &s, &err), 0);
    assert_int_equal(s.nsamples, 3);
    assert_int_equal(s.ntensors, 3);
    const struct synap_tensor_stats *x = &s.t[0], *a = &s.t[1], *b = &s.t[2];
    assert_string_equal(x->name, "x");
    assert_string_equal(a->name, "a");
    assert_string_equal(b->name, "b");
    assert_int_equal(x->tensor, 0);
    assert_int_equal(b->tensor, 2);
    /* x: per-sample (min, max) = (-1, 3), (-2, 4), (0, 0) */
    assert_true(x->min == -2 && x->max == 4 && x->hist_lo == -2 && x->hist_hi == 4);
    double ma_min = -1, ma_max = 3;
    ma_min = 0.99 * ma_min + 0.01 * -2, ma_max = 0.99 * ma_max + 0.01 * 4;
    ma_min = 0.99 * ma_min + 0.01 * 0, ma_max = 0.99 * ma_max + 0.01 * 0;
    assert_true(x->ma_min == ma_min);
    assert_true(x->ma_max == ma_max);
    assert_true(ma_min == 0.99 * -1.01); /* -0.9999 within a rounding */
    assert_int_equal(x->count, 12);
    uint64_t want[SYNAP_CALIB_BINS] = {0};
    const float all[] = {-1, 2, 3, 0.5f, 4, -2, 0, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < 12; i++)
        want[bin(all[i], -2, 4)]++;
    assert_memory_equal(x->hist, want, sizeof want);
    assert_int_equal(x->hist[0], 1);                    /* -2 */
    assert_int_equal(x->hist[SYNAP_CALIB_BINS - 1], 1); /* 4, the top edge */
    assert_int_equal(x->hist[682], 5);                  /* the five zeros: 2 * 2048 / 6 */
    /* a = relu(x): (0, 3), (0, 4), (0, 0) */
    assert_true(a->min == 0 && a->max == 4);
    assert_true(a->ma_min == 0);
    assert_int_equal(a->hist[0], 7);
    /* b = 2x */
    assert_true(b->min == -4 && b->max == 8);
    assert_int_equal(b->count, 12);
    synap_calib_stats_free(&s);
    synap_graph_free(g);
}

static void test_threads_identical(void **state)
{
    (void)state;
    const int64_t d[] = {1, 4};
    uint64_t r = 12345;
    for (int i = 0; i < 13; i++) {
        float v[4];
        for (int k = 0; k < 4; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            v[k] = (float)((double)(r >> 40) / (1 << 24) * 20 - 10) * (float)(i + 1);
        }
        char name[64];
        snprintf(name, sizeof name, "many/s%02d.npy", i);
        write_npy(name, 2, d, v);
    }
    struct synap_graph *g = tiny();
    uint8_t *bytes[3];
    size_t n[3];
    for (int t = 1; t <= 3; t++) {
        struct synap_calib_stats s;
        struct synap_err err = {0};
        assert_int_equal(calibrate(g, "many/*.npy", t, &s, &err), 0);
        assert_int_equal(s.nsamples, 13);
        assert_int_equal(synap_calib_stats_write(&s, &bytes[t - 1], &n[t - 1], &err), 0);
        synap_calib_stats_free(&s);
    }
    same_bytes(bytes, n, 3);
    synap_graph_free(g);
}

static void test_file_format(void **state)
{
    (void)state;
    struct synap_calib_stats s = {0};
    s.arena = synap_arena_new();
    s.nsamples = 20;
    s.ntensors = 2;
    s.t = synap_arena_alloc(s.arena, 2 * sizeof *s.t);
    s.t[0] = (struct synap_tensor_stats){.tensor = 3,
                                         .name = "in",
                                         .min = -1.5,
                                         .max = 2.25,
                                         .ma_min = -1.25,
                                         .ma_max = 2,
                                         .count = 300,
                                         .hist_lo = -1.5,
                                         .hist_hi = 2.25};
    s.t[0].hist[0] = 100, s.t[0].hist[1000] = 199, s.t[0].hist[2047] = 1;
    s.t[1] = (struct synap_tensor_stats){.tensor = 70000,
                                         .name = "a rather long tensor name over 32 bytes"};
    uint8_t *buf;
    size_t n;
    struct synap_err err = {0};
    assert_int_equal(synap_calib_stats_write(&s, &buf, &n, &err), 0);
    struct synap_calib_stats r;
    assert_int_equal(synap_calib_stats_read(buf, n, "x.stats", &r, &err), 0);
    assert_int_equal(r.nsamples, 20);
    assert_int_equal(r.ntensors, 2);
    assert_int_equal(r.t[0].tensor, 3);
    assert_string_equal(r.t[0].name, "in");
    assert_true(r.t[0].min == -1.5 && r.t[0].max == 2.25 && r.t[0].ma_min == -1.25);
    assert_memory_equal(r.t[0].hist, s.t[0].hist, sizeof s.t[0].hist);
    assert_int_equal(r.t[1].tensor, 70000);
    assert_string_equal(r.t[1].name, s.t[1].name);
    /* the same bytes again */
    uint8_t *buf2;
    size_t n2;
    assert_int_equal(synap_calib_stats_write(&r, &buf2, &n2, &err), 0);
    assert_int_equal(n, n2);
    assert_memory_equal(buf, buf2, n);
    free(buf2);
    synap_calib_stats_free(&r);
    /* every truncation fails cleanly */
    for (size_t k = 0; k < n; k += 97) {
        assert_int_equal(synap_calib_stats_read(buf, k, "x.stats", &r, &err), -1);
        assert_null(r.t);
    }
    /* counts that do not add up */
    s.t[0].hist[5] = 1;
    free(buf);
    assert_int_equal(synap_calib_stats_write(&s, &buf, &n, &err), 0);
    assert_int_equal(synap_calib_stats_read(buf, n, "x.stats", &r, &err), -1);
    assert_non_null(strstr(err.msg, "x.stats: calibration statistics: hist: counts do not add up"));
    free(buf);
    /* per-channel ranges (version 2): round trip; version 1 (no
     * "channels", 5 keys) still reads */
    s.t[0].hist[5] = 0;
    static double am[3] = {0.5, 0, 1e9};
    struct synap_chan_stats ch = {.name = "d", .n = 3, .absmax = am};
    s.ch = &ch;
    s.nchannels = 1;
    assert_int_equal(synap_calib_stats_write(&s, &buf, &n, &err), 0);
    assert_int_equal(synap_calib_stats_read(buf, n, "x.stats", &r, &err), 0);
    assert_int_equal(r.nchannels, 1);
    assert_string_equal(r.ch[0].name, "d");
    assert_int_equal(r.ch[0].n, 3);
    assert_memory_equal(r.ch[0].absmax, am, sizeof am);
    synap_calib_stats_free(&r);
    for (size_t k = 0; k < 80; k++) /* truncated inside "channels" too */
        assert_int_equal(synap_calib_stats_read(buf, k, "x.stats", &r, &err), -1);
    uint8_t *cb;
    size_t cn;
    synap_calib_channels_write(&s, &cb, &cn); /* the IR section's form */
    assert_int_equal(synap_calib_channels_read(cb, cn, "q.ir", &r, &err), 0);
    assert_memory_equal(r.ch[0].absmax, am, sizeof am);
    synap_calib_stats_free(&r);
    assert_int_equal(synap_calib_channels_read(cb, cn - 1, "q.ir", &r, &err), -1);
    assert_non_null(strstr(err.msg, "q.ir: calibration statistics: "));
    free(cb);
    s.ch = NULL;
    s.nchannels = 0;
    free(buf);
    assert_int_equal(synap_calib_stats_write(&s, &buf, &n, &err), 0);
    static const uint8_t chan0[] = {0xa8, 'c', 'h', 'a', 'n', 'n', 'e', 'l', 's', 0x90};
    uint8_t *at = NULL;
    for (size_t k = 0; !at && k + sizeof chan0 <= n; k++)
        if (!memcmp(buf + k, chan0, sizeof chan0)) at = buf + k;
    assert_non_null(at);
    assert_int_equal(buf[0], 0x86);
    memmove(at, at + sizeof chan0, n - (size_t)(at - buf) - sizeof chan0);
    n -= sizeof chan0;
    buf[0] = 0x85;
    assert_int_equal(buf[n - 1], 2);
    buf[n - 1] = 1;
    assert_int_equal(synap_calib_stats_read(buf, n, "x.stats", &r, &err), 0);
    assert_int_equal(r.nchannels, 0);
    assert_int_equal(r.ntensors, 2);
    synap_calib_stats_free(&r);
    buf[n - 1] = 2; /* version 2 without channels */
    assert_int_equal(synap_calib_stats_read(buf, n, "x.stats", &r, &err), -1);
    assert_string_equal(err.msg, "x.stats: calibration statistics version 2 with the keys of "
                                 "version 1, this synap reads versions 1 and 2 (rerun "
                                 "synap-calib)");
    free(buf);
    /* another file */
    static const uint8_t ir[] = {0x81, 0xa4, 'b', 'i', 'n', 's', 0x01};
    assert_int_equal(synap_calib_stats_read(ir, sizeof ir, "m.ir", &r, &err), -1);
    synap_calib_stats_free(&s);
}

static void test_options(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_opts o;
    struct synap_err err = {0};
    assert_int_equal(opts_from("{\"dataset\": \"d/*.jpg\", \"means\": \"1,2, 3\", \"scale\": "
                               "\"58.5\", \"format\": \"bgr keep_proportions=0 fill_color=0\", "
                               "\"data_layout\": \"nhwc\"}",
                               a, &o, &err),
                     0);
    assert_int_equal(o.nglobs, 1);
    assert_int_equal(o.ninputs, 1);
    assert_int_equal(o.inputs[0].nmeans, 3);
    assert_true(o.inputs[0].means[2] == 3 && o.inputs[0].scale == 58.5);
    assert_int_equal(o.inputs[0].bgr, 1);
    assert_int_equal(o.inputs[0].keep_proportions, 0);
    assert_int_equal(o.inputs[0].fill_color, 0);
    assert_int_equal(o.layout, SYNAP_CALIB_LAYOUT_NHWC);
    assert_int_equal(opts_from("{\"dataset\": [\"a\", \"b\"], \"inputs\": [{\"means\": [127.5], "
                               "\"scale\": 127.5, \"name\": \"x\"}, {\"format\": \"rgb\"}]}",
                               a, &o, &err),
                     0);
    assert_int_equal(o.ninputs, 2);
    assert_int_equal(o.inputs[1].keep_proportions, 1);
    assert_int_equal(o.inputs[1].fill_color, 128);
    assert_int_equal(opts_from("{\"dataset\": \"random\", \"count\": 3}", a, &o, &err), 0);
    assert_int_equal(o.random, 1);
    assert_int_equal(o.count, 3);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{}", "options: no dataset (give one glob per model input, or 'random')"},
        {"{\"dataset\": \"a\", \"scale\": 0}", "options: scale: expected one number, not 0"},
        {"{\"dataset\": \"a\", \"format\": \"rgb fill_color=300\"}",
         "options: format: fill_color must be an integer in 0..255"},
        {"{\"dataset\": \"a\", \"format\": \"yuv\"}",
         "options: format: unknown word 'yuv' (expected rgb or bgr, keep_proportions=0|1, "
         "fill_color=N)"},
        {"{\"dataset\": \"a\", \"dtype\": 1}",
         "options: unknown key 'dtype' (expected base_dir, dataset, count, seed, inputs, means, "
         "scale, format, data_layout)"},
        {"{\"dataset\": \"a\", \"base_dir\": \"rel\"}",
         "options: base_dir: expected an absolute path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(opts_from(bad[i].json, a, &o, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
    }
    synap_arena_free(a);
}

static void test_dataset_errors(void **state)
{
    (void)state;
    const int64_t d[] = {1, 4}, d2[] = {1, 5};
    write_npy("two/x/0.npy", 2, d, (const float[]){0, 1, 2, 3});
    write_npy("two/x/1.npy", 2, d, (const float[]){0, 1, 2, 3});
    write_npy("two/y/0.npy", 2, d, (const float[]){0, 1, 2, 3});
    write_npy("wrong/0.npy", 2, d2, (const float[]){0, 1, 2, 3, 4});
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_opts o;
    struct synap_calib_dataset ds;
    struct synap_err err = {0};
    const char *names[] = {"x", "y"};
    char json[1024], want[1024];
    snprintf(json, sizeof json,
             "{\"base_dir\": \"%s\", \"dataset\": [\"two/x/*.npy\", \"two/y/*.npy\"]}", tmpdir);
    assert_int_equal(opts_from(json, a, &o, &err), 0);
    assert_int_equal(synap_calib_dataset_expand(&o, names, 2, a, &ds, &err), -1);
    snprintf(want, sizeof want,
             "dataset: '%s/two/x/*.npy' (input 'x'): 2 files, '%s/two/y/*.npy' (input 'y'): 1 "
             "file; every input needs the same number of files",
             tmpdir, tmpdir);
    assert_string_equal(err.msg, want);
    assert_int_equal(synap_calib_dataset_expand(&o, names, 1, a, &ds, &err), -1);
    assert_string_equal(err.msg, "dataset: 2 globs for a model of 1 input (one glob per input)");
    snprintf(json, sizeof json, "{\"base_dir\": \"%s\", \"dataset\": \"none/*.jpg\"}", tmpdir);
    assert_int_equal(opts_from(json, a, &o, &err), 0);
    assert_int_equal(synap_calib_dataset_expand(&o, names, 1, a, &ds, &err), -1);
    snprintf(want, sizeof want, "dataset '%s/none/*.jpg' (input 'x') matches no file", tmpdir);
    assert_string_equal(err.msg, want);
    synap_arena_free(a);
    /* the wrong shape, named with the file */
    struct synap_graph *g = tiny();
    struct synap_calib_stats s;
    assert_int_equal(calibrate(g, "wrong/*.npy", 2, &s, &err), -1);
    snprintf(want, sizeof want,
             "%s/wrong/0.npy: float32 [1, 5] does not match input 'x' float32 [1, 4]", tmpdir);
    assert_string_equal(err.msg, want);
    assert_null(s.t);
    synap_graph_free(g);
}

/* The first failing sample in order is the one reported, whatever the threads. */
static void test_first_error_wins(void **state)
{
    (void)state;
    const int64_t d[] = {1, 4}, d2[] = {1, 3};
    for (int i = 0; i < 9; i++) {
        char name[64];
        snprintf(name, sizeof name, "errs/s%d.npy", i);
        if (i == 4 || i == 7)
            write_npy(name, 2, d2, (const float[]){1, 2, 3});
        else
            write_npy(name, 2, d, (const float[]){1, 2, 3, 4});
    }
    struct synap_graph *g = tiny();
    char want[1024];
    snprintf(want, sizeof want,
             "%s/errs/s4.npy: float32 [1, 3] does not match input 'x' float32 [1, 4]", tmpdir);
    for (int t = 1; t <= 4; t++) {
        struct synap_calib_stats s;
        struct synap_err err = {0};
        assert_int_equal(calibrate(g, "errs/*.npy", t, &s, &err), -1);
        assert_string_equal(err.msg, want);
    }
    synap_graph_free(g);
}

static void test_random(void **state)
{
    (void)state;
    struct synap_graph *g = tiny();
    struct synap_arena *a = synap_arena_new();
    struct synap_calib_opts o;
    struct synap_calib_dataset ds;
    struct synap_err err = {0};
    assert_int_equal(opts_from("{\"dataset\": \"random\", \"count\": 5, \"means\": 128, "
                               "\"scale\": 128}",
                               a, &o, &err),
                     0);
    assert_int_equal(synap_calib_dataset_expand(&o, NULL, 1, a, &ds, &err), 0);
    assert_int_equal(ds.nsamples, 5);
    assert_null(ds.files);
    uint8_t *b[2];
    size_t n[2];
    for (int t = 0; t < 2; t++) {
        struct synap_calib_stats s;
        o.nthreads = t + 1;
        assert_int_equal(synap_calib_run(g, &o, &ds, &s, &err), 0);
        assert_true(s.t[0].min >= -1 && s.t[0].max < 1 && s.t[0].min < s.t[0].max);
        assert_int_equal(synap_calib_stats_write(&s, &b[t], &n[t], &err), 0);
        synap_calib_stats_free(&s);
    }
    same_bytes(b, n, 2);
    synap_arena_free(a);
    synap_graph_free(g);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/synap-test-calib-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* synap_calib_run_prepared on x [1, 2, 3, 3] -> depthwise 1x1 (weights 2,
 * -3) -> d -> conv 1x1 -> y: pass 0 measures d's channel ranges exactly
 * (max |w_c x_c|), the graph comes back equalized (d renamed), the
 * statistics carry the ranges, and the bytes are the same for 1, 2 and 3
 * threads; synap_calib_prepare redoes the same equalization on a fresh
 * copy. */
static struct synap_graph *dwnet(void)
{
    struct synap_graph *g = synap_graph_new();
    const int64_t xd[] = {1, 2, 3, 3}, wd[] = {2, 1, 1, 1}, wp[] = {1, 2, 1, 1},
                  yd[] = {1, 1, 3, 3};
    static const float wdv[] = {2, -3}, wpv[] = {0.25f, 4};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t w1 = synap_graph_add_const(g, "wd", SYNAP_DTYPE_FLOAT32, 4, wd, wdv, sizeof wdv);
    uint32_t w2 = synap_graph_add_const(g, "wp", SYNAP_DTYPE_FLOAT32, 4, wp, wpv, sizeof wpv);
    uint32_t d = synap_graph_add_tensor(g, "d", SYNAP_DTYPE_FLOAT32, 4, xd);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 4, yd);
    struct synap_node *n = synap_graph_add_node(g, "dw", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = x, n->inputs[1] = w1, n->outputs[0] = d;
    synap_node_set_int(g, n, "group", 2);
    n = synap_graph_add_node(g, "pw", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = d, n->inputs[1] = w2, n->outputs[0] = y;
    uint32_t ins[] = {x}, outs[] = {y};
    g->inputs = synap_arena_memdup(g->arena, ins, sizeof ins);
    g->ninputs = 1;
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 1;
    return g;
}

/* Records the progress calls: "pass done/total" per call. */
struct progress_log {
    char text[4096];
    size_t len;
};

static void log_progress(void *ctx, const char *pass, size_t done, size_t total)
{
    struct progress_log *l = ctx;
    int k = snprintf(l->text + l->len, sizeof l->text - l->len, "%s %zu/%zu;", pass, done, total);
    if (k > 0 && (size_t)k < sizeof l->text - l->len) l->len += (size_t)k;
}

static void test_channel_ranges(void **state)
{
    (void)state;
    const int64_t d[] = {1, 2, 3, 3};
    double mx[2] = {0, 0};
    uint64_t r = 777;
    for (int i = 0; i < 7; i++) {
        float v[18];
        for (int k = 0; k < 18; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            v[k] = (float)((double)(r >> 40) / (1 << 24) * 2 - 1) * (k < 9 ? 1.0f : 50.0f);
            float p = v[k] * (k < 9 ? 2.0f : -3.0f); /* the conv's float product */
            mx[k / 9] = fmax(mx[k / 9], fabs((double)p));
        }
        char name[64];
        snprintf(name, sizeof name, "dw/s%02d.npy", i);
        write_npy(name, 4, d, v);
    }
    uint8_t *bytes[3];
    size_t n[3];
    for (int t = 1; t <= 3; t++) {
        struct synap_graph *g = dwnet();
        struct synap_arena *a = synap_arena_new();
        char json[1024];
        snprintf(json, sizeof json, "{\"base_dir\": \"%s\", \"dataset\": [\"dw/*.npy\"]}", tmpdir);
        struct synap_calib_opts o;
        struct synap_calib_dataset ds;
        struct synap_err err = {0};
        const char *names[] = {"x"};
        assert_int_equal(opts_from(json, a, &o, &err), 0);
        assert_int_equal(synap_calib_dataset_expand(&o, names, 1, a, &ds, &err), 0);
        o.nthreads = t;
        struct progress_log log = {{0}, 0};
        o.progress = log_progress;
        o.progress_ctx = &log;
        struct synap_calib_stats s;
        assert_int_equal(synap_calib_run_prepared(g, &o, &ds, &s, &err), 0);
        /* every pass reports each sample once, in order, pass 0 included */
        assert_string_equal(log.text,
                            "depthwise channels 1/7;depthwise channels 2/7;depthwise channels 3/7;"
                            "depthwise channels 4/7;depthwise channels 5/7;depthwise channels 6/7;"
                            "depthwise channels 7/7;ranges 1/7;ranges 2/7;ranges 3/7;ranges 4/7;"
                            "ranges 5/7;ranges 6/7;ranges 7/7;histograms 1/7;histograms 2/7;"
                            "histograms 3/7;histograms 4/7;histograms 5/7;histograms 6/7;"
                            "histograms 7/7;");
        assert_int_equal(s.nchannels, 1);
        assert_string_equal(s.ch[0].name, "d");
        assert_int_equal(s.ch[0].n, 2);
        assert_true(s.ch[0].absmax[0] == mx[0]);
        assert_true(s.ch[0].absmax[1] == mx[1]);
        assert_string_equal(g->tensors[g->nodes[0].outputs[0]].name, "d:equalized");
        assert_int_equal(synap_calib_stats_write(&s, &bytes[t - 1], &n[t - 1], &err), 0);
        /* a fresh copy prepared from the statistics: the same weights */
        struct synap_graph *h = dwnet();
        assert_int_equal(synap_calib_prepare(h, &s, &err), 0);
        for (int k = 0; k < 2; k++) {
            int64_t na, nb;
            const float *wa = synap_const_f32(g, g->nodes[k].inputs[1], -1, &na),
                        *wb = synap_const_f32(h, h->nodes[k].inputs[1], -1, &nb);
            assert_int_equal(na, nb);
            assert_memory_equal(wa, wb, (size_t)na * sizeof *wa);
        }
        synap_graph_free(h);
        synap_calib_stats_free(&s);
        synap_arena_free(a);
        synap_graph_free(g);
    }
    same_bytes(bytes, n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_channel_ranges),
        cmocka_unit_test(test_file_format),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_dataset_errors),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
