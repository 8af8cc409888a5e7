/* Calibration: the data set through the float interpreter, streaming, in
 * parallel, with results independent of the thread count.
 *
 * Two passes over the samples. Pass 1 finds each tracked tensor's per-sample
 * min, max and finite-element count; pass 2, with the now-known range,
 * fills the histograms. Memory does not grow with the data set: workers
 * (one interpreter plan each) take samples one at a time from a shared
 * counter, but a worker may only start sample s when s < committed + W (a
 * window of W = 2 x workers slots). Its per-sample results go into slot
 * s % W; whoever finishes a sample commits every consecutive finished
 * sample, in sample order, so the moving averages see exactly the sequence a
 * single thread would. Min/max are exact and the counts integers, so nothing
 * depends on which worker did what. On an error the lowest failing sample
 * wins (samples after it are skipped, those before it still run), so the
 * message is the one a single thread would give.
 *
 * synap_calib_channel_ranges is a pass 0 on the unprepared graph, with the
 * same machinery: the largest |x| of each channel of a few tensors (maxima:
 * exact in any order), for synap-quant's data-aware equalization. */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib.h"
#include "quant/quant.h"
#include "image/image.h"
#include "runtime/plan.h"
#include "util/npy.h"

#define MA_MOMENTUM 0.01
#define DEFAULT_FILL 128
#define DEFAULT_RANDOM_COUNT 16

/* ---- options ---------------------------------------------------------------- */
static void input_defaults(struct synap_calib_input *in)
{
    memset(in, 0, sizeof *in);
    in->scale = 1;
    in->keep_proportions = 1;
    in->fill_color = DEFAULT_FILL;
}

/* "1,2,3" or "1 2 3" into v (at most max); -1 on a bad number. */
static int parse_numbers(const char *s, double *v, size_t max, size_t *n)
{
    *n = 0;
    while (*s) {
        while (*s == ',' || isspace((unsigned char)*s))
            s++;
        if (!*s) break;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || errno || !isfinite(d) || *n == max) return -1;
        v[(*n)++] = d;
        s = end;
        if (*s && *s != ',' && !isspace((unsigned char)*s)) return -1;
    }
    return 0;
}

static int get_means(const struct synap_json *j, const char *what, struct synap_calib_input *in,
                     struct synap_err *err)
{
    if (synap_json_is_number(j)) {
        in->means[0] = j->num;
        in->nmeans = 1;
    } else if (synap_json_is_string(j)) {
        if (parse_numbers(j->s, in->means, SYNAP_CALIB_MAX_CHANNELS, &in->nmeans) < 0 ||
            !in->nmeans)
            return synap_errf(err, "%s: means '%s': expected 1 to %d numbers", what, j->s,
                              SYNAP_CALIB_MAX_CHANNELS);
    } else if (synap_json_is_array(j) && j->n >= 1 && j->n <= SYNAP_CALIB_MAX_CHANNELS) {
        for (size_t i = 0; i < j->n; i++) {
            if (!synap_json_is_number(j->items[i]))
                return synap_errf(err, "%s: means[%zu]: expected a number", what, i);
            in->means[i] = j->items[i]->num;
        }
        in->nmeans = j->n;
    } else {
        return synap_errf(err, "%s: means: expected a number or a list of 1 to %d numbers", what,
                          SYNAP_CALIB_MAX_CHANNELS);
    }
    return 0;
}

static int get_scale(const struct synap_json *j, const char *what, struct synap_calib_input *in,
                     struct synap_err *err)
{
    double v = 0;
    size_t n = 0;
    if (synap_json_is_number(j)) {
        v = j->num;
        n = 1;
    } else if (synap_json_is_string(j)) {
        if (parse_numbers(j->s, &v, 1, &n) < 0) n = 0;
    }
    if (n != 1 || v == 0 || !isfinite(v))
        return synap_errf(err, "%s: scale: expected one number, not 0", what);
    in->scale = v;
    return 0;
}

/* "rgb|bgr [keep_proportions=1|0] [fill_color=N]" */
static int get_format(const struct synap_json *j, const char *what, struct synap_calib_input *in,
                      struct synap_err *err)
{
    const char *s = synap_json_as_string(j);
    if (!s) return synap_errf(err, "%s: format: expected a string", what);
    int first = 1;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s) break;
        const char *e = s;
        while (*e && !isspace((unsigned char)*e))
            e++;
        size_t n = (size_t)(e - s);
        const char *eq = memchr(s, '=', n);
        struct synap_esc es;
        if (first && !eq && (n == 3 && (!memcmp(s, "rgb", 3) || !memcmp(s, "bgr", 3)))) {
            in->bgr = s[0] == 'b';
        } else if (eq && (size_t)(eq - s) == 16 && !memcmp(s, "keep_proportions", 16)) {
            if (n != 18 || (eq[1] != '0' && eq[1] != '1'))
                return synap_errf(err, "%s: format: keep_proportions must be 0 or 1", what);
            in->keep_proportions = eq[1] == '1';
        } else if (eq && (size_t)(eq - s) == 10 && !memcmp(s, "fill_color", 10)) {
            char buf[16];
            size_t vn = n - 11;
            long v = -1;
            if (vn > 0 && vn < sizeof buf) {
                memcpy(buf, eq + 1, vn);
                buf[vn] = 0;
                char *end;
                v = strtol(buf, &end, 10);
                if (*end) v = -1;
            }
            if (v < 0 || v > 255)
                return synap_errf(err, "%s: format: fill_color must be an integer in 0..255", what);
            in->fill_color = (int)v;
        } else {
            return synap_errf(err,
                              "%s: format: unknown word '%s' (expected rgb or bgr, "
                              "keep_proportions=0|1, fill_color=N)",
                              what, synap_escn(&es, s, n));
        }
        first = 0;
        s = e;
    }
    return 0;
}

static int get_input(const struct synap_json *j, size_t i, struct synap_calib_input *in,
                     struct synap_err *err)
{
    char what[48];
    snprintf(what, sizeof what, "inputs[%zu]", i);
    if (!synap_json_is_object(j)) return synap_errf(err, "%s: expected an object", what);
    for (size_t k = 0; k < j->n; k++) {
        const char *key = j->keys[k];
        const struct synap_json *v = j->items[k];
        int rc = 0;
        if (!strcmp(key, "means"))
            rc = get_means(v, what, in, err);
        else if (!strcmp(key, "scale"))
            rc = get_scale(v, what, in, err);
        else if (!strcmp(key, "format"))
            rc = get_format(v, what, in, err);
        else if (!strcmp(key, "name")) {
            if (!synap_json_is_string(v)) rc = synap_errf(err, "%s: name: expected a string", what);
        } else {
            struct synap_esc e;
            rc = synap_errf(err, "%s: unknown key '%s' (expected means, scale, format, name)", what,
                            synap_esc(&e, key));
        }
        if (rc < 0) return -1;
    }
    return 0;
}

int synap_calib_opts_from_json(const struct synap_json *o, struct synap_arena *a,
                               struct synap_calib_opts *out, struct synap_err *err)
{
    memset(out, 0, sizeof *out);
    out->count = DEFAULT_RANDOM_COUNT;
    if (!synap_json_is_object(o)) return synap_errf(err, "options: expected an object");
    const struct synap_json *top_means = NULL, *top_scale = NULL, *top_format = NULL,
                            *inputs = NULL;
    for (size_t k = 0; k < o->n; k++) {
        const char *key = o->keys[k];
        const struct synap_json *v = o->items[k];
        if (!strcmp(key, "base_dir")) {
            if (!synap_json_is_string(v) || v->s[0] != '/')
                return synap_errf(err, "options: base_dir: expected an absolute path");
            out->base_dir = synap_arena_strdup(a, v->s);
        } else if (!strcmp(key, "dataset")) {
            size_t n = synap_json_is_string(v) ? 1 : synap_json_is_array(v) ? v->n : 0;
            if (!n)
                return synap_errf(err, "options: dataset: expected a glob or a list of globs, one "
                                       "per model input");
            out->globs = synap_arena_alloc(a, n * sizeof *out->globs);
            for (size_t i = 0; i < n; i++) {
                const struct synap_json *g = synap_json_is_string(v) ? v : v->items[i];
                if (!synap_json_is_string(g) || !g->s[0])
                    return synap_errf(err, "options: dataset[%zu]: expected a glob", i);
                out->globs[i] = synap_arena_strdup(a, g->s);
                if (!strcmp(g->s, "random")) out->random = 1;
            }
            out->nglobs = n;
            if (out->random && n != 1)
                return synap_errf(err, "options: dataset: 'random' stands alone (it feeds every "
                                       "input)");
        } else if (!strcmp(key, "count")) {
            int64_t c;
            if (synap_json_as_int64(v, &c) < 0 || c < 1 || c > 1000000)
                return synap_errf(err, "options: count: expected an integer in 1..1000000");
            out->count = (size_t)c;
        } else if (!strcmp(key, "seed")) {
            int64_t s;
            if (synap_json_as_int64(v, &s) < 0 || s < 0)
                return synap_errf(err, "options: seed: expected a non-negative integer");
            out->seed = (uint64_t)s;
        } else if (!strcmp(key, "inputs")) {
            if (!synap_json_is_array(v))
                return synap_errf(err, "options: inputs: expected a list of objects");
            inputs = v;
        } else if (!strcmp(key, "means")) {
            top_means = v;
        } else if (!strcmp(key, "scale")) {
            top_scale = v;
        } else if (!strcmp(key, "format")) {
            top_format = v;
        } else if (!strcmp(key, "data_layout")) {
            const char *s = synap_json_as_string(v);
            if (s && !strcmp(s, "nchw"))
                out->layout = SYNAP_CALIB_LAYOUT_NCHW;
            else if (s && !strcmp(s, "nhwc"))
                out->layout = SYNAP_CALIB_LAYOUT_NHWC;
            else if (!s || strcmp(s, "default"))
                return synap_errf(err, "options: data_layout: expected default, nchw or nhwc");
        } else {
            struct synap_esc e;
            return synap_errf(err,
                              "options: unknown key '%s' (expected base_dir, dataset, count, seed, "
                              "inputs, means, scale, format, data_layout)",
                              synap_esc(&e, key));
        }
    }
    if (!out->nglobs)
        return synap_errf(err, "options: no dataset (give one glob per model input, or 'random')");
    int top = top_means || top_scale || top_format;
    if (top && inputs)
        return synap_errf(err, "options: means/scale/format are for a single input; with "
                               "'inputs' give them per input");
    size_t n = inputs ? inputs->n : 1;
    out->inputs = synap_arena_alloc(a, n * sizeof *out->inputs);
    out->ninputs = inputs ? inputs->n : (size_t)top;
    for (size_t i = 0; i < n; i++)
        input_defaults(&out->inputs[i]);
    for (size_t i = 0; inputs && i < inputs->n; i++)
        if (get_input(inputs->items[i], i, &out->inputs[i], err) < 0) return -1;
    if (top_means && get_means(top_means, "options", &out->inputs[0], err) < 0) return -1;
    if (top_scale && get_scale(top_scale, "options", &out->inputs[0], err) < 0) return -1;
    if (top_format && get_format(top_format, "options", &out->inputs[0], err) < 0) return -1;
    return 0;
}

/* ---- the data set ------------------------------------------------------------ */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *input_label(const char *const *names, size_t i, char *buf, size_t n)
{
    struct synap_esc e;
    if (names && names[i])
        snprintf(buf, n, "input '%s'", synap_esc(&e, names[i]));
    else
        snprintf(buf, n, "input %zu", i);
    return buf;
}

int synap_calib_dataset_expand(const struct synap_calib_opts *o, const char *const *input_names,
                               size_t ninputs, struct synap_arena *a,
                               struct synap_calib_dataset *ds, struct synap_err *err)
{
    memset(ds, 0, sizeof *ds);
    ds->ninputs = ninputs;
    if (o->ninputs > ninputs)
        return synap_errf(err,
                          "options: %zu input descriptions (means/scale/format) but the model "
                          "has %zu input%s",
                          o->ninputs, ninputs, ninputs == 1 ? "" : "s");
    if (o->random) {
        ds->nsamples = o->count;
        return 0;
    }
    if (o->nglobs != ninputs)
        return synap_errf(err,
                          "dataset: %zu glob%s for a model of %zu input%s (one glob per input)",
                          o->nglobs, o->nglobs == 1 ? "" : "s", ninputs, ninputs == 1 ? "" : "s");
    char **lists[64];
    const char *pats[64]; /* the globs as matched, for the messages */
    size_t counts[64] = {0};
    if (ninputs > 64) return synap_errf(err, "dataset: more than 64 model inputs");
    int rc = 0;
    size_t done = 0;
    for (size_t i = 0; i < ninputs; i++, done++) {
        const char *pat = o->globs[i];
        char *full = NULL;
        if (pat[0] != '/' && o->base_dir) {
            size_t n = strlen(o->base_dir) + strlen(pat) + 2;
            full = synap_xmalloc(n);
            snprintf(full, n, "%s/%s", o->base_dir, pat);
            pat = full;
        }
        pats[i] = synap_arena_strdup(a, pat);
        glob_t gl;
        memset(&gl, 0, sizeof gl);
        int g = glob(pat, 0, NULL, &gl); /* a missing folder matches nothing */
        char lab[128];
        struct synap_esc e;
        if (g == GLOB_NOMATCH || (g == 0 && gl.gl_pathc == 0)) {
            rc = synap_errf(err, "dataset '%s' (%s) matches no file", synap_esc(&e, pat),
                            input_label(input_names, i, lab, sizeof lab));
        } else if (g != 0) {
            rc = synap_errf_io(err, "dataset '%s' (%s): cannot read the folder: %s",
                               synap_esc(&e, pat), input_label(input_names, i, lab, sizeof lab),
                               g == GLOB_NOSPACE ? "out of memory" : strerror(errno));
        }
        free(full);
        if (rc < 0) {
            globfree(&gl);
            break;
        }
        counts[i] = gl.gl_pathc;
        lists[i] = synap_arena_alloc(a, gl.gl_pathc * sizeof *lists[i]);
        for (size_t k = 0; k < gl.gl_pathc; k++)
            lists[i][k] = synap_arena_strdup(a, gl.gl_pathv[k]);
        globfree(&gl);
        qsort(lists[i], counts[i], sizeof *lists[i], cmp_str);
    }
    if (rc < 0) return -1;
    for (size_t i = 1; i < ninputs; i++) {
        if (counts[i] != counts[0]) {
            char l0[128], li[128];
            struct synap_esc e0, ei;
            return synap_errf(err,
                              "dataset: '%s' (%s): %zu file%s, '%s' (%s): %zu file%s; every input "
                              "needs the same number of files",
                              synap_esc(&e0, pats[0]), input_label(input_names, 0, l0, sizeof l0),
                              counts[0], counts[0] == 1 ? "" : "s", synap_esc(&ei, pats[i]),
                              input_label(input_names, i, li, sizeof li), counts[i],
                              counts[i] == 1 ? "" : "s");
        }
    }
    ds->nsamples = counts[0];
    ds->files = synap_arena_alloc(a, ds->nsamples * ninputs * sizeof *ds->files);
    for (size_t s = 0; s < ds->nsamples; s++)
        for (size_t i = 0; i < ninputs; i++)
            ds->files[s * ninputs + i] = lists[i][s];
    return 0;
}

/* ---- one sample ----------------------------------------------------------------- */
/* The image geometry of an input tensor: -1 with err when it is not one. */
static int image_geometry(const struct synap_tensor *t, enum synap_calib_layout layout, int *nchw,
                          int64_t *c, int64_t *h, int64_t *w, struct synap_err *err)
{
    char sh[96];
    struct synap_esc e;
    if (t->rank != 4 || t->dims[0] != 1)
        return synap_errf(err,
                          "input '%s' %s is not an image tensor (batch 1, rank 4): give .npy "
                          "files",
                          synap_esc(&e, t->name), synap_shape_str(t->rank, t->dims, sh, sizeof sh));
    if (layout == SYNAP_CALIB_LAYOUT_DEFAULT) {
        if (t->dims[1] == 1 || t->dims[1] == 3)
            layout = SYNAP_CALIB_LAYOUT_NCHW;
        else if (t->dims[3] == 1 || t->dims[3] == 3)
            layout = SYNAP_CALIB_LAYOUT_NHWC;
    }
    *nchw = layout == SYNAP_CALIB_LAYOUT_NCHW;
    *c = layout == SYNAP_CALIB_LAYOUT_NCHW ? t->dims[1] : t->dims[3];
    *h = layout == SYNAP_CALIB_LAYOUT_NCHW ? t->dims[2] : t->dims[1];
    *w = layout == SYNAP_CALIB_LAYOUT_NCHW ? t->dims[3] : t->dims[2];
    if (layout == SYNAP_CALIB_LAYOUT_DEFAULT || (*c != 1 && *c != 3))
        return synap_errf(err, "input '%s' %s: images need 1 or 3 channels%s: give .npy files",
                          synap_esc(&e, t->name), synap_shape_str(t->rank, t->dims, sh, sizeof sh),
                          layout == SYNAP_CALIB_LAYOUT_DEFAULT ? " (in dim 1 or 3)"
                          : *nchw                              ? " in dim 1 (nchw)"
                                                               : " in dim 3 (nhwc)");
    if (*h < 1 || *w < 1 || *h > 16384 || *w > 16384)
        return synap_errf(err, "input '%s' %s: unsupported image size", synap_esc(&e, t->name),
                          synap_shape_str(t->rank, t->dims, sh, sizeof sh));
    if (t->dtype != SYNAP_DTYPE_FLOAT32)
        return synap_errf(err, "input '%s' is %s: images feed float32 inputs only: give .npy files",
                          synap_esc(&e, t->name), synap_dtype_name(t->dtype));
    return 0;
}

static double mean_of(const struct synap_calib_input *in, int64_t c)
{
    if (!in->nmeans) return 0;
    return in->nmeans == 1 ? in->means[0] : in->means[c < (int64_t)in->nmeans ? c : 0];
}

/* Normalizes HWC uint8 pixels (channels already in the tensor's order) into
 * the tensor's layout. */
static void normalize(const uint8_t *px, int64_t c, int64_t h, int64_t w, int nchw,
                      const struct synap_calib_input *in, float *out)
{
    for (int64_t k = 0; k < c; k++) {
        double m = mean_of(in, k), s = in->scale;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                float v = (float)((px[(y * w + x) * c + k] - m) / s);
                if (nchw)
                    out[(k * h + y) * w + x] = v;
                else
                    out[(y * w + x) * c + k] = v;
            }
    }
}

int synap_calib_load(const struct synap_tensor *t, const struct synap_calib_input *in,
                     enum synap_calib_layout layout, const char *path, struct synap_value *v,
                     struct synap_err *err)
{
    struct synap_file f;
    struct synap_esc e;
    char sh[96], sh2[96];
    if (synap_file_read(path, &f, err) < 0) return -1;
    int is_npy = f.size >= 6 && !memcmp(f.data, "\x93NUMPY", 6);
    if (is_npy) {
        struct synap_value a;
        int rc = synap_npy_parse(f.data, f.size, path, &a, err);
        synap_file_close(&f);
        if (rc < 0) return -1;
        int same = a.rank == v->rank && a.dtype == v->dtype;
        for (int d = 0; same && d < a.rank; d++)
            same = a.dims[d] == v->dims[d];
        if (!same) {
            rc = synap_errf(
                err, "%s: %s %s does not match input '%s' %s %s", path, synap_dtype_name(a.dtype),
                synap_shape_str(a.rank, a.dims, sh, sizeof sh), synap_esc(&e, t->name),
                synap_dtype_name(v->dtype), synap_shape_str(v->rank, v->dims, sh2, sizeof sh2));
        } else {
            int64_t ne = synap_shape_nelem(a.rank, a.dims);
            memcpy(v->data, a.data, (size_t)ne * synap_dtype_size(a.dtype));
        }
        free(a.data);
        return rc;
    }
    synap_file_close(&f);
    int nchw;
    int64_t c, h, w;
    if (image_geometry(t, layout, &nchw, &c, &h, &w, err) < 0) {
        synap_err_prefix(err, "%s", path);
        return -1;
    }
    struct synap_image img, rs;
    if (synap_image_read(path, &img, err) < 0) return -1;
    synap_image_to_channels(&img, (int)c);
    synap_image_resize(&img, (int)w, (int)h, in->keep_proportions, in->fill_color, &rs);
    synap_image_free(&img);
    if (in->bgr && c == 3) {
        size_t np = (size_t)w * (size_t)h;
        for (size_t i = 0; i < np; i++) {
            uint8_t r = rs.pixels[3 * i];
            rs.pixels[3 * i] = rs.pixels[3 * i + 2];
            rs.pixels[3 * i + 2] = r;
        }
    }
    normalize(rs.pixels, c, h, w, nchw, in, v->data);
    synap_image_free(&rs);
    return 0;
}

/* Random pixels (0..255, then means/scale) for timing-only models: a
 * function of (seed, sample, input) only. */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int load_random(const struct synap_tensor *t, const struct synap_calib_input *in,
                       enum synap_calib_layout layout, uint64_t seed, size_t sample, size_t input,
                       struct synap_value *v, struct synap_err *err)
{
    struct synap_esc e;
    if (v->dtype != SYNAP_DTYPE_FLOAT32)
        return synap_errf(err, "input '%s' is %s: random data feeds float32 inputs only",
                          synap_esc(&e, t->name), synap_dtype_name(v->dtype));
    uint64_t st = seed;
    st = splitmix(&st) ^ (uint64_t)sample;
    st = splitmix(&st) ^ (uint64_t)input;
    int64_t ne = synap_shape_nelem(v->rank, v->dims);
    int nchw;
    int64_t c, h, w;
    struct synap_err ignore = {0};
    float *out = v->data;
    if (image_geometry(t, layout, &nchw, &c, &h, &w, &ignore) == 0) {
        uint8_t *px = synap_xmalloc((size_t)ne);
        for (int64_t i = 0; i < ne; i++)
            px[i] = (uint8_t)(splitmix(&st) >> 56);
        normalize(px, c, h, w, nchw, in, out);
        free(px);
    } else {
        for (int64_t i = 0; i < ne; i++)
            out[i] = (float)(((double)(splitmix(&st) >> 56) - mean_of(in, 0)) / in->scale);
    }
    return 0;
}

/* ---- the run ---------------------------------------------------------------------- */
struct pstat {
    double mn, mx;
    uint64_t n;
};

struct shared {
    const struct synap_graph *g;
    const struct synap_calib_opts *o;
    const struct synap_calib_dataset *ds;
    const struct synap_calib_input *inputs; /* one per graph input */
    size_t ntrack;
    uint32_t *track;  /* tensor of each tracked slot */
    int32_t *slot_of; /* per graph tensor: slot or -1 */
    int pass;         /* 0 (channel ranges), 1 or 2 */
    int64_t *choff;   /* pass 0: per slot, first value in a worker's chan */
    size_t nchan;     /* pass 0: values in a worker's chan */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next, committed, window;
    struct pstat *ring;   /* window x ntrack */
    unsigned char *ready; /* window */
    size_t err_sample;    /* SIZE_MAX: no error */
    struct synap_err err;
    /* pass 1 results, committed in sample order */
    double *mn, *mx, *ma_mn, *ma_mx;
    uint64_t *cnt;
    unsigned char *seen;
    /* pass 2 binning */
    double *inv; /* 2048 / (hi - lo), or 0 */
};

struct worker {
    struct shared *sh;
    struct synap_plan *plan;
    struct pstat *cur;  /* pass 1: this sample's slot */
    uint64_t *hist;     /* pass 2: ntrack x BINS */
    uint64_t *hist_cnt; /* pass 2: finite values binned per slot */
    double *chan;       /* pass 0: per-channel largest |x| */
    struct synap_err err;
    pthread_t th;
};

static inline double elem(const struct synap_value *v, int64_t i)
{
    switch (v->dtype) {
    case SYNAP_DTYPE_FLOAT32:
        return ((const float *)v->data)[i];
    case SYNAP_DTYPE_FLOAT64:
        return ((const double *)v->data)[i];
    case SYNAP_DTYPE_FLOAT16:
        return synap_f16_to_f32(((const uint16_t *)v->data)[i]);
    case SYNAP_DTYPE_BFLOAT16: {
        uint32_t u = (uint32_t)((const uint16_t *)v->data)[i] << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    default:
        return NAN;
    }
}

static void observe_value(struct worker *w, uint32_t tensor, const struct synap_value *v)
{
    struct shared *sh = w->sh;
    int32_t k = sh->slot_of[tensor];
    if (k < 0 || !v->data) return;
    int64_t ne = synap_shape_nelem(v->rank, v->dims);
    if (sh->pass == 0) {
        int64_t nc = sh->choff[k + 1] - sh->choff[k];
        if (v->rank < 2 || v->dims[1] != nc) return; /* the plan's shape: checked below */
        int64_t inner = ne / (v->dims[0] * nc > 0 ? v->dims[0] * nc : 1);
        double *m = w->chan + sh->choff[k];
        for (int64_t i = 0; i < ne; i++) {
            double x = fabs(elem(v, i));
            int64_t c = (i / inner) % nc;
            if (isfinite(x) && x > m[c]) m[c] = x;
        }
        return;
    }
    if (sh->pass == 1) {
        struct pstat *p = &w->cur[k];
        double mn = INFINITY, mx = -INFINITY;
        uint64_t n = 0;
        if (v->dtype == SYNAP_DTYPE_FLOAT32) {
            const float *d = v->data;
            float fmn = INFINITY, fmx = -INFINITY;
            for (int64_t i = 0; i < ne; i++) {
                float x = d[i];
                if (!isfinite(x)) continue;
                n++;
                if (x < fmn) fmn = x;
                if (x > fmx) fmx = x;
            }
            mn = fmn;
            mx = fmx;
        } else {
            for (int64_t i = 0; i < ne; i++) {
                double x = elem(v, i);
                if (!isfinite(x)) continue;
                n++;
                if (x < mn) mn = x;
                if (x > mx) mx = x;
            }
        }
        p->mn = mn;
        p->mx = mx;
        p->n = n;
    } else {
        double lo = sh->mn[k], inv = sh->inv[k];
        uint64_t *h = w->hist + (size_t)k * SYNAP_CALIB_BINS;
        uint64_t n = 0;
        for (int64_t i = 0; i < ne; i++) {
            double x = v->dtype == SYNAP_DTYPE_FLOAT32 ? ((const float *)v->data)[i] : elem(v, i);
            if (!isfinite(x)) continue;
            n++;
            double b = floor((x - lo) * inv);
            int64_t bi = b < 0 ? 0 : b > SYNAP_CALIB_BINS - 1 ? SYNAP_CALIB_BINS - 1 : (int64_t)b;
            h[bi]++;
        }
        w->hist_cnt[k] += n;
    }
}

static void observer(void *ctx, const struct synap_graph *g, size_t node, size_t out,
                     const struct synap_value *v)
{
    observe_value(ctx, g->nodes[node].outputs[out], v);
}

static int process(struct worker *w, size_t s)
{
    struct shared *sh = w->sh;
    const struct synap_graph *g = sh->g;
    for (size_t i = 0; i < g->ninputs; i++) {
        const struct synap_tensor *t = &g->tensors[g->inputs[i]];
        struct synap_value *v = synap_plan_input(w->plan, i);
        int rc = sh->o->random
                     ? load_random(t, &sh->inputs[i], sh->o->layout, sh->o->seed, s, i, v, &w->err)
                     : synap_calib_load(t, &sh->inputs[i], sh->o->layout,
                                        sh->ds->files[s * sh->ds->ninputs + i], v, &w->err);
        if (rc < 0) return -1;
    }
    for (size_t i = 0; i < g->ninputs; i++)
        observe_value(w, g->inputs[i], synap_plan_input(w->plan, i));
    if (synap_plan_run(w->plan, &w->err) < 0) {
        if (!sh->o->random) synap_err_prefix(&w->err, "%s", sh->ds->files[s * sh->ds->ninputs]);
        return -1;
    }
    return 0;
}

/* Under the lock: commits consecutive finished samples in order. */
static void commit(struct shared *sh)
{
    size_t total = sh->ds->nsamples;
    while (sh->committed < total && sh->committed < sh->err_sample &&
           sh->ready[sh->committed % sh->window]) {
        size_t slot = sh->committed % sh->window;
        if (sh->pass == 1) {
            const struct pstat *p = sh->ring + slot * sh->ntrack;
            for (size_t k = 0; k < sh->ntrack; k++) {
                if (!p[k].n) continue;
                sh->cnt[k] += p[k].n;
                if (!sh->seen[k]) {
                    sh->seen[k] = 1;
                    sh->mn[k] = sh->ma_mn[k] = p[k].mn;
                    sh->mx[k] = sh->ma_mx[k] = p[k].mx;
                    continue;
                }
                if (p[k].mn < sh->mn[k]) sh->mn[k] = p[k].mn;
                if (p[k].mx > sh->mx[k]) sh->mx[k] = p[k].mx;
                sh->ma_mn[k] = (1 - MA_MOMENTUM) * sh->ma_mn[k] + MA_MOMENTUM * p[k].mn;
                sh->ma_mx[k] = (1 - MA_MOMENTUM) * sh->ma_mx[k] + MA_MOMENTUM * p[k].mx;
            }
        }
        sh->ready[slot] = 0;
        sh->committed++;
        static const char *const pass_name[] = {"depthwise channels", "ranges", "histograms"};
        if (sh->o->progress)
            sh->o->progress(sh->o->progress_ctx, pass_name[sh->pass], sh->committed, total);
    }
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    size_t total = sh->ds->nsamples;
    pthread_mutex_lock(&sh->mu);
    while (sh->next < total && sh->next < sh->err_sample) {
        size_t s = sh->next++;
        while (s >= sh->committed + sh->window && s < sh->err_sample)
            pthread_cond_wait(&sh->cv, &sh->mu);
        if (s > sh->err_sample) break;
        pthread_mutex_unlock(&sh->mu);
        w->cur = sh->ring + (s % sh->window) * sh->ntrack;
        for (size_t k = 0; sh->pass == 1 && k < sh->ntrack; k++)
            w->cur[k] = (struct pstat){INFINITY, -INFINITY, 0};
        int rc = process(w, s);
        pthread_mutex_lock(&sh->mu);
        if (rc < 0) {
            if (s < sh->err_sample) {
                sh->err_sample = s;
                sh->err = w->err;
            }
        } else {
            sh->ready[s % sh->window] = 1;
            commit(sh);
        }
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

static int run_pass(struct shared *sh, struct worker *ws, size_t nw)
{
    sh->next = sh->committed = 0;
    memset(sh->ready, 0, sh->window);
    size_t started = 0;
    for (; started + 1 < nw; started++)
        if (pthread_create(&ws[started + 1].th, NULL, work, &ws[started + 1]) != 0) break;
    work(&ws[0]); /* the calling thread is worker 0 */
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i + 1].th, NULL);
    return sh->err_sample == SIZE_MAX ? 0 : -1;
}

/* The parts of a calibration run every pass shares: the inputs with their
 * defaults, no tensor tracked yet (slot_of all -1), the lock. Errors of the
 * data set's shape are checked first. */
static int shared_init(struct shared *sh, const struct synap_graph *g,
                       const struct synap_calib_opts *o, const struct synap_calib_dataset *ds,
                       struct synap_err *err)
{
    memset(sh, 0, sizeof *sh);
    if (ds->ninputs != g->ninputs)
        return synap_errf(err, "dataset for %zu inputs, the model has %zu", ds->ninputs,
                          g->ninputs);
    if (!ds->nsamples) return synap_errf(err, "dataset: no samples");
    sh->g = g;
    sh->o = o;
    sh->ds = ds;
    sh->err_sample = SIZE_MAX;
    struct synap_calib_input *ins = synap_xcalloc(g->ninputs ? g->ninputs : 1, sizeof *ins);
    for (size_t i = 0; i < g->ninputs; i++) {
        if (i < o->ninputs)
            ins[i] = o->inputs[i];
        else
            input_defaults(&ins[i]);
    }
    sh->inputs = ins;
    sh->slot_of = synap_xmalloc((g->ntensors ? g->ntensors : 1) * sizeof *sh->slot_of);
    for (size_t t = 0; t < g->ntensors; t++)
        sh->slot_of[t] = -1;
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    return 0;
}

/* Once the tracked slots are known: the window and one worker (with its
 * own interpreter plan) per thread, at most one per sample. *ws and *nw
 * (the workers made) are set even on failure, for shared_free. */
static int workers_new(struct shared *sh, struct worker **ws, size_t *nw, struct synap_err *err)
{
    int nthreads = sh->o->nthreads > 0 ? sh->o->nthreads : synap_default_threads();
    if (nthreads < 1) nthreads = 1;
    size_t n = (size_t)nthreads < sh->ds->nsamples ? (size_t)nthreads : sh->ds->nsamples;
    sh->window = 2 * n;
    sh->ring = synap_xcalloc(sh->window * (sh->ntrack ? sh->ntrack : 1), sizeof *sh->ring);
    sh->ready = synap_xcalloc(sh->window, 1);
    *ws = synap_xcalloc(n, sizeof **ws);
    for (*nw = 0; *nw < n; (*nw)++) {
        struct worker *w = &(*ws)[*nw];
        w->sh = sh;
        struct synap_plan_opts po = {.nthreads = 1, .observer = observer, .observer_ctx = w};
        if (!(w->plan = synap_plan_new(sh->g, &po, err))) return -1;
    }
    return 0;
}

static void shared_free(struct shared *sh, struct worker *ws, size_t nw)
{
    for (size_t i = 0; ws && i < nw; i++) {
        synap_plan_free(ws[i].plan);
        free(ws[i].hist);
        free(ws[i].hist_cnt);
        free(ws[i].chan);
    }
    free(ws);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cv);
    free(sh->ring);
    free(sh->ready);
    free(sh->mn);
    free(sh->mx);
    free(sh->ma_mn);
    free(sh->ma_mx);
    free(sh->inv);
    free(sh->cnt);
    free(sh->seen);
    free(sh->choff);
    free(sh->slot_of);
    free(sh->track);
    free((void *)sh->inputs);
}

int synap_calib_run(const struct synap_graph *g, const struct synap_calib_opts *o,
                    const struct synap_calib_dataset *ds, struct synap_calib_stats *out,
                    struct synap_err *err)
{
    memset(out, 0, sizeof *out);
    struct shared sh;
    if (shared_init(&sh, g, o, ds, err) < 0) return -1;
    /* tracked tensors: float, not constant, a graph input or a node output */
    unsigned char *live = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
    for (size_t i = 0; i < g->ninputs; i++)
        live[g->inputs[i]] = 1;
    for (size_t n = 0; n < g->nnodes; n++)
        for (size_t j = 0; j < g->nodes[n].noutputs; j++)
            if (g->nodes[n].outputs[j] != SYNAP_NONE) live[g->nodes[n].outputs[j]] = 1;
    sh.track = synap_xmalloc((g->ntensors ? g->ntensors : 1) * sizeof *sh.track);
    for (size_t t = 0; t < g->ntensors; t++) {
        const struct synap_tensor *tt = &g->tensors[t];
        if (live[t] && !tt->data && synap_dtype_is_float(tt->dtype)) {
            sh.slot_of[t] = (int32_t)sh.ntrack;
            sh.track[sh.ntrack++] = (uint32_t)t;
        }
    }
    free(live);
    size_t K = sh.ntrack ? sh.ntrack : 1;
    sh.mn = synap_xcalloc(K, sizeof *sh.mn);
    sh.mx = synap_xcalloc(K, sizeof *sh.mx);
    sh.ma_mn = synap_xcalloc(K, sizeof *sh.ma_mn);
    sh.ma_mx = synap_xcalloc(K, sizeof *sh.ma_mx);
    sh.inv = synap_xcalloc(K, sizeof *sh.inv);
    sh.cnt = synap_xcalloc(K, sizeof *sh.cnt);
    sh.seen = synap_xcalloc(K, 1);

    int rc = -1;
    size_t nw = 0;
    struct worker *ws = NULL;
    if (workers_new(&sh, &ws, &nw, err) < 0) goto out;
    for (size_t i = 0; i < nw; i++) {
        ws[i].hist = synap_xcalloc(K * SYNAP_CALIB_BINS, sizeof *ws[i].hist);
        ws[i].hist_cnt = synap_xcalloc(K, sizeof *ws[i].hist_cnt);
    }
    sh.pass = 1;
    if (run_pass(&sh, ws, nw) < 0) {
        *err = sh.err;
        goto out;
    }
    for (size_t k = 0; k < sh.ntrack; k++)
        sh.inv[k] = sh.mx[k] > sh.mn[k] ? SYNAP_CALIB_BINS / (sh.mx[k] - sh.mn[k]) : 0;
    sh.pass = 2;
    if (run_pass(&sh, ws, nw) < 0) {
        *err = sh.err;
        goto out;
    }

    out->nsamples = ds->nsamples;
    out->ntensors = sh.ntrack;
    out->arena = synap_arena_new();
    out->t = synap_arena_alloc(out->arena, K * sizeof *out->t);
    for (size_t k = 0; k < sh.ntrack; k++) {
        struct synap_tensor_stats *t = &out->t[k];
        t->tensor = sh.track[k];
        t->name = synap_arena_strdup(out->arena, g->tensors[sh.track[k]].name);
        t->min = t->hist_lo = sh.mn[k];
        t->max = t->hist_hi = sh.mx[k];
        t->ma_min = sh.ma_mn[k];
        t->ma_max = sh.ma_mx[k];
        t->count = sh.cnt[k];
        uint64_t binned = 0;
        for (size_t i = 0; i < nw; i++) {
            const uint64_t *h = ws[i].hist + k * SYNAP_CALIB_BINS;
            for (size_t b = 0; b < SYNAP_CALIB_BINS; b++)
                t->hist[b] += h[b];
            binned += ws[i].hist_cnt[k];
        }
        if (binned != t->count) {
            struct synap_esc e;
            synap_errf_io(err,
                          "tensor '%s': %llu values in the first pass, %llu in the second "
                          "(did the data set change during calibration?)",
                          synap_esc(&e, t->name), (unsigned long long)t->count,
                          (unsigned long long)binned);
            synap_calib_stats_free(out);
            goto out;
        }
    }
    rc = 0;
out:
    shared_free(&sh, ws, nw);
    return rc;
}

int synap_calib_channel_ranges(const struct synap_graph *g, const struct synap_calib_opts *o,
                               const struct synap_calib_dataset *ds, const uint32_t *tensors,
                               size_t n, double **absmax, struct synap_err *err)
{
    for (size_t k = 0; k < n; k++)
        absmax[k] = NULL;
    if (!n) return 0;
    struct shared sh;
    if (shared_init(&sh, g, o, ds, err) < 0) return -1;
    sh.pass = 0;
    sh.choff = synap_xcalloc(n + 1, sizeof *sh.choff);
    sh.ntrack = n;
    int rc = -1;
    struct worker *ws = NULL;
    size_t nw = 0;
    for (size_t k = 0; k < n; k++) {
        const struct synap_tensor *t = tensors[k] < g->ntensors ? &g->tensors[tensors[k]] : NULL;
        if (!t || t->data || t->rank < 2 || t->dims[1] < 1 || !synap_dtype_is_float(t->dtype)) {
            synap_errf(err, "channel ranges: tensor %u is not a float activation", tensors[k]);
            goto out;
        }
        sh.slot_of[tensors[k]] = (int32_t)k;
        sh.choff[k + 1] = sh.choff[k] + t->dims[1];
    }
    sh.nchan = (size_t)sh.choff[n];
    if (workers_new(&sh, &ws, &nw, err) < 0) goto out;
    for (size_t i = 0; i < nw; i++)
        ws[i].chan = synap_xcalloc(sh.nchan, sizeof *ws[i].chan);
    if (run_pass(&sh, ws, nw) < 0) {
        *err = sh.err;
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        int64_t nc = sh.choff[k + 1] - sh.choff[k];
        absmax[k] = synap_xcalloc((size_t)nc, sizeof **absmax);
        for (size_t i = 0; i < nw; i++)
            for (int64_t c = 0; c < nc; c++)
                if (ws[i].chan[sh.choff[k] + c] > absmax[k][c])
                    absmax[k][c] = ws[i].chan[sh.choff[k] + c];
    }
    rc = 0;
out:
    shared_free(&sh, ws, nw);
    return rc;
}

int synap_calib_run_prepared(struct synap_graph *g, const struct synap_calib_opts *o,
                             const struct synap_calib_dataset *ds, struct synap_calib_stats *out,
                             struct synap_err *err)
{
    memset(out, 0, sizeof *out);
    size_t np = 0;
    uint32_t *probes = synap_quant_range_probes(g, &np, err);
    if (!probes) return -1;
    double **absmax = synap_xcalloc(np ? np : 1, sizeof *absmax);
    const char **names = synap_xcalloc(np ? np : 1, sizeof *names);
    int64_t *nch = synap_xcalloc(np ? np : 1, sizeof *nch);
    int rc = -1;
    if (synap_calib_channel_ranges(g, o, ds, probes, np, absmax, err) < 0) goto out;
    for (size_t k = 0; k < np; k++) {
        names[k] = g->tensors[probes[k]].name;
        nch[k] = g->tensors[probes[k]].dims[1];
    }
    /* (renaming a prepared tensor leaves its old name string in place) */
    struct synap_chan_ranges r = {np, names, nch, (const double *const *)absmax};
    if (synap_quant_prepare_ranges(g, &r, NULL, err) < 0 || synap_calib_run(g, o, ds, out, err) < 0)
        goto out;
    /* the channel ranges go with the statistics */
    out->ch = synap_arena_alloc(out->arena, (np ? np : 1) * sizeof *out->ch);
    out->nchannels = np;
    for (size_t k = 0; k < np; k++) {
        struct synap_chan_stats *c = &out->ch[k];
        c->name = synap_arena_strdup(out->arena, names[k]);
        c->n = nch[k];
        c->absmax = synap_arena_alloc(out->arena, (size_t)(nch[k] ? nch[k] : 1) * sizeof(double));
        memcpy(c->absmax, absmax[k], (size_t)nch[k] * sizeof(double));
    }
    rc = 0;
out:
    for (size_t k = 0; k < np; k++)
        free(absmax[k]);
    free(absmax);
    free(names);
    free(nch);
    free(probes);
    return rc;
}

int synap_calib_prepare(struct synap_graph *g, const struct synap_calib_stats *s,
                        struct synap_err *err)
{
    size_t n = s ? s->nchannels : 0;
    const char **names = synap_xcalloc(n ? n : 1, sizeof *names);
    int64_t *nch = synap_xcalloc(n ? n : 1, sizeof *nch);
    const double **am = synap_xcalloc(n ? n : 1, sizeof *am);
    for (size_t k = 0; k < n; k++) {
        names[k] = s->ch[k].name;
        nch[k] = s->ch[k].n;
        am[k] = s->ch[k].absmax;
    }
    struct synap_chan_ranges r = {n, names, nch, am};
    int rc = synap_quant_prepare_ranges(g, n ? &r : NULL, NULL, err);
    free(names);
    free(nch);
    free(am);
    return rc;
}
