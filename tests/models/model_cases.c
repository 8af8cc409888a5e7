/* Runs the shared real-model reference cases through an importer and the
 * float interpreter: SHARED/models/onnx/<model>/ref/<case>/case.json (outputs
 * computed by onnxruntime) and SHARED/models/tflite/<model>/ref/<case>/case.json
 * (outputs computed by ArmNN CpuRef). The importer follows the model file:
 * synap_tflite_import for a .tflite, synap_onnx_import otherwise.
 *
 * case.json (see SHARED/models/MANIFEST.md): `model` relative to the case
 * folder; `inputs[k]` {file, name, dtype, shape}; `outputs[k]` {file, name,
 * dtype, shape, atol}; case-level `atol` and `rtol`. An output matches when
 * |got - want| <= atol + rtol |want| elementwise, with the output's atol when
 * it has one, else the case's (integers: atol counts steps).
 *
 * Policy: the graph is imported with the case's input shapes. For ONNX (as
 * in the conformance runner) integer and bool inputs (e.g. Silero VAD's
 * sample rate) are bound as constants: synap compiles static graphs. TFLite
 * integer inputs are data, not shape arguments: every input is fed at run
 * time. Outputs are matched to graph outputs by name (by position when the
 * graph has no output of that name).
 *
 * --ref-dir REF swaps in a second reference: each case's expected outputs
 * are read from REF/<model>/<case>/ (same file names as case.json's) and must
 * match exactly; only the cases with such a folder run. tests/tflite uses it
 * for the TFLite interpreter's outputs (tests/data/tflite_runtime).
 *
 * Each case runs in a forked child (crash -> CRASH, alarm -> TIMEOUT) and
 * prints one line, e.g.
 *   PASS blazeface_front_128/astronaut max_abs_diff=3.1e-06 (atol 2e-04)
 * naming for a FAIL the element furthest outside its tolerance (with both
 * formats in one run, ids start with the format: "onnx/mnist/sample3").
 * Known failures are listed in an expected-failures file per format
 * ("model/case<TAB>STATUS: reason"), so --expected and --write-expected need
 * one --format. The last line is "<P> passed, <F> failed" with F counting
 * unlisted failures, listed cases that pass and crashes; exit 0 when F is 0,
 * 1 otherwise, 77 when the shared folder has no models of the formats asked
 * for, 2 on a usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "onnx/onnx.h"
#include "runtime/plan.h"
#include "tflite/tflite.h"
#include "util/json.h"
#include "util/npy.h"

/* The model formats, each with its folder under SHARED/models and its own
 * expected failures. */
struct format {
    const char *name; /* "onnx": also the folder */
    const char *expected;
    struct harness_expect *expect;
    size_t nexpect;
    size_t counts[HARNESS_NSTATUS];
};
enum { FORMAT_ONNX, FORMAT_TFLITE, NFORMATS };

struct mcase {
    char *id;  /* "blazeface_front_128/astronaut" */
    char *dir; /* the case folder */
    int format;
    enum harness_status status;
    char *reason;
};

struct run {
    struct format formats[NFORMATS];
    int nformats; /* formats that have cases: ids are prefixed when more than one */
    struct mcase *cases;
    size_t ncases;
    int verbose;
    int nthreads;
    size_t nunexpected;
    const char *ref_dir; /* --ref-dir (absolute), or NULL */
};

/* ---- one case, in the child ------------------------------------------------------ */

struct tensor_io {
    const char *name;
    struct synap_value v; /* data malloc'd by synap_npy_read */
    double atol;
};

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads the .npy named by entry `e` of case.json and checks it against the
 * entry's dtype and shape; with ref_dir, the file of that name in
 * ref_dir/<id>/ instead of the case folder's. */
static int read_entry(const struct synap_json *e, const char *what, size_t k, struct tensor_io *t,
                      char *reason, size_t n, const char *ref_dir, const char *id)
{
    const char *file = synap_json_as_string(synap_json_get(e, "file"));
    char alt[8192];
    if (file && ref_dir) {
        const char *base = strrchr(file, '/');
        snprintf(alt, sizeof alt, "%s/%s/%s", ref_dir, id, base ? base + 1 : file);
        file = alt;
    }
    const char *dtype = synap_json_as_string(synap_json_get(e, "dtype"));
    const struct synap_json *shape = synap_json_get(e, "shape");
    t->name = synap_json_as_string(synap_json_get(e, "name"));
    if (!file || !t->name || !dtype || !synap_json_is_array(shape)) {
        snprintf(reason, n, "case.json: %s %zu: needs file, name, dtype and shape", what, k);
        return -1;
    }
    struct synap_err err = {0};
    if (synap_npy_read(file, &t->v, &err)) {
        snprintf(reason, n, "%s", err.msg);
        return -1;
    }
    if (strcmp(synap_dtype_name(t->v.dtype), dtype) != 0) {
        snprintf(reason, n, "%s: dtype %s, case.json says %s", file, synap_dtype_name(t->v.dtype),
                 dtype);
        return -1;
    }
    int ok = synap_json_length(shape) == (size_t)t->v.rank;
    for (int d = 0; ok && d < t->v.rank; d++) {
        int64_t x;
        ok = !synap_json_as_int64(synap_json_index(shape, (size_t)d), &x) && x == t->v.dims[d];
    }
    if (!ok) {
        char s[128];
        snprintf(reason, n, "%s: shape %s does not match case.json", file,
                 synap_shape_str(t->v.rank, t->v.dims, s, sizeof s));
        return -1;
    }
    return 0;
}

static enum harness_status run_case(const struct run *R, const struct mcase *mc, char *reason,
                                    size_t n)
{
    /* relative paths: the model is named relative to the case folder */
    if (chdir(mc->dir)) {
        snprintf(reason, n, "%s: %s", mc->dir, strerror(errno));
        return HARNESS_FAIL;
    }
    enum harness_status st = HARNESS_FAIL;
    struct synap_arena *arena = synap_arena_new();
    struct tensor_io *ins = NULL, *outs = NULL;
    size_t nin = 0, nout = 0;
    struct synap_onnx_shape *shapes = NULL;
    struct synap_onnx_value *values = NULL;
    struct synap_graph *g = NULL;
    struct synap_plan *p = NULL;
    struct synap_err err = {0};

    const struct synap_json *c = synap_json_read(arena, "case.json", &err);
    if (!c) {
        snprintf(reason, n, "%s", err.msg);
        goto out;
    }
    const char *model = synap_json_as_string(synap_json_get(c, "model"));
    const struct synap_json *jin = synap_json_get(c, "inputs"),
                            *jout = synap_json_get(c, "outputs");
    double case_atol = synap_json_as_number(synap_json_get(c, "atol"), NAN);
    double rtol = R->ref_dir ? 0 : synap_json_as_number(synap_json_get(c, "rtol"), NAN);
    if (!model || !synap_json_is_array(jin) || !synap_json_is_array(jout) || isnan(rtol)) {
        snprintf(reason, n, "case.json: needs model, inputs, outputs and rtol");
        goto out;
    }
    nin = synap_json_length(jin);
    nout = synap_json_length(jout);
    ins = calloc(nin + 1, sizeof *ins);
    outs = calloc(nout + 1, sizeof *outs);
    for (size_t k = 0; k < nin; k++)
        if (read_entry(synap_json_index(jin, k), "input", k, &ins[k], reason, n, NULL, NULL))
            goto out;
    for (size_t k = 0; k < nout; k++) {
        const struct synap_json *e = synap_json_index(jout, k);
        if (read_entry(e, "output", k, &outs[k], reason, n, R->ref_dir, mc->id)) goto out;
        if (R->ref_dir) { /* the second reference is matched exactly */
            outs[k].atol = 0;
            continue;
        }
        outs[k].atol = synap_json_as_number(synap_json_get(e, "atol"), case_atol);
        if (isnan(outs[k].atol)) {
            snprintf(reason, n, "case.json: output %zu has no atol (nor has the case)", k);
            goto out;
        }
    }

    /* the model file picks the importer (and whether integer inputs are
     * shape arguments to bind, as in ONNX, or data, as in TFLite) */
    size_t ml = strlen(model);
    int tflite = ml >= 7 && !strcmp(model + ml - 7, ".tflite");
    struct synap_onnx_opts opts = {0};
    shapes = calloc(nin + 1, sizeof *shapes);
    values = calloc(nin + 1, sizeof *values);
    for (size_t k = 0; k < nin; k++) {
        const struct synap_value *v = &ins[k].v;
        if (tflite || synap_dtype_is_float(v->dtype)) {
            shapes[opts.nshapes].name = ins[k].name;
            shapes[opts.nshapes].rank = v->rank;
            memcpy(shapes[opts.nshapes].dims, v->dims, sizeof v->dims);
            opts.nshapes++;
        } else {
            values[opts.nvalues].name = ins[k].name;
            values[opts.nvalues].value = *v;
            opts.nvalues++;
        }
    }
    opts.shapes = shapes;
    opts.values = values;
    g = tflite ? synap_tflite_import(model, &opts, &err) : synap_onnx_import(model, &opts, &err);
    if (!g) {
        snprintf(reason, n, "%s", err.msg);
        st = strstr(err.msg, "unsupported") || strstr(err.msg, "not supported")
                 ? HARNESS_UNSUPPORTED
                 : HARNESS_FAIL;
        goto out;
    }
    struct synap_plan_opts po = {.nthreads = R->nthreads};
    p = synap_plan_new(g, &po, &err);
    if (!p) {
        snprintf(reason, n, "plan: %s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < g->ninputs; i++) {
        const char *name = g->tensors[g->inputs[i]].name;
        const struct synap_value *src = NULL;
        for (size_t k = 0; k < nin; k++)
            if (!strcmp(ins[k].name, name)) src = &ins[k].v;
        struct synap_value *dst = synap_plan_input(p, i);
        if (!src || !dst) {
            snprintf(reason, n, "graph input '%s' is not among the case's inputs", name);
            goto out;
        }
        int64_t ne = synap_value_nelem(src);
        if (ne != synap_value_nelem(dst)) {
            snprintf(reason, n, "graph input '%s': the plan's buffer does not match the data",
                     name);
            goto out;
        }
        synap_convert(dst->dtype, dst->data, src->dtype, src->data, ne);
    }
    double t0 = synap_now_ms();
    if (synap_plan_run(p, &err)) {
        snprintf(reason, n, "run: %s", err.msg);
        goto out;
    }
    double ms = synap_now_ms() - t0;

    /* The summary names the output closest to (or furthest beyond) its atol. */
    double worst_ratio = -1, worst_diff = 0, worst_atol = 0;
    for (size_t k = 0; k < nout; k++) {
        size_t gi = k;
        for (size_t i = 0; i < g->noutputs; i++)
            if (!strcmp(g->tensors[g->outputs[i]].name, outs[k].name)) gi = i;
        if (gi >= g->noutputs) {
            snprintf(reason, n, "output %zu '%s': the graph has only %zu outputs", k, outs[k].name,
                     g->noutputs);
            goto out;
        }
        const struct synap_value *got = synap_plan_output(p, gi);
        struct harness_cmp cmp;
        int64_t int_atol = (int64_t)outs[k].atol;
        int r = got ? harness_compare(got, &outs[k].v, outs[k].atol, rtol, int_atol, &cmp) : -1;
        if (r < 0) {
            snprintf(reason, n, "output %zu '%s': %s", k, outs[k].name, got ? cmp.msg : "no value");
            goto out;
        }
        if (r > 0) {
            char at[160];
            harness_index_str(outs[k].v.rank, outs[k].v.dims, cmp.worst, at, sizeof at);
            snprintf(reason, n,
                     "output %zu '%s' element %s: got %.7g, expected %.7g (|diff| %.3g > tol "
                     "%.3g); %lld of %lld elements outside, max_abs_diff=%.1e (atol %.0e)",
                     k, outs[k].name, at, cmp.worst_got, cmp.worst_want,
                     fabs(cmp.worst_got - cmp.worst_want), cmp.worst_tol, (long long)cmp.nbad,
                     (long long)cmp.nelem, cmp.max_abs_diff, outs[k].atol);
            goto out;
        }
        double ratio = outs[k].atol > 0 ? cmp.max_abs_diff / outs[k].atol : cmp.max_abs_diff;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst_diff = cmp.max_abs_diff;
            worst_atol = outs[k].atol;
        }
    }
    if (R->verbose)
        snprintf(reason, n, "max_abs_diff=%.1e (atol %.0e) run %.0f ms", worst_diff, worst_atol,
                 ms);
    else
        snprintf(reason, n, "max_abs_diff=%.1e (atol %.0e)", worst_diff, worst_atol);
    st = HARNESS_PASS;
out:
    synap_plan_free(p);
    synap_graph_free(g);
    free(shapes);
    free(values);
    for (size_t k = 0; ins && k < nin; k++)
        free(ins[k].v.data);
    for (size_t k = 0; outs && k < nout; k++)
        free(outs[k].v.data);
    free(ins);
    free(outs);
    synap_arena_free(arena);
    return st;
}

static enum harness_status case_fn(void *ctx, size_t i, char *reason, size_t n)
{
    const struct run *R = ctx;
    return run_case(R, &R->cases[i], reason, n);
}

/* ---- the parent ------------------------------------------------------------------ */

static void done_fn(void *ctx, size_t i, enum harness_status s, const char *reason)
{
    struct run *R = ctx;
    struct mcase *mc = &R->cases[i];
    struct format *F = &R->formats[mc->format];
    mc->status = s;
    mc->reason = synap_xstrdup(reason);
    F->counts[s]++;
    const char *note;
    int unexpected = harness_expect_judge(F->expect, F->nexpect, mc->id, s, &note);
    if (!unexpected && s != HARNESS_PASS) note = " (expected)";
    R->nunexpected += (size_t)unexpected;
    /* every case is printed: there are few, and the numbers are the point */
    printf("%s %s%s%s %s%s\n", harness_status_name(s), R->nformats > 1 ? F->name : "",
           R->nformats > 1 ? "/" : "", mc->id, reason, note);
}

/* Appends the cases of SHARED/models/<format>/<model>/ref/<case>/case.json
 * whose id contains one of the filters (all when there are none). */
static void list_cases(struct run *R, const char *root, int format, char **filters, size_t nfilters,
                       size_t *cap)
{
    size_t nm;
    char **models = harness_list_dir(root, &nm);
    for (size_t m = 0; m < nm; m++) {
        char refdir[4400];
        snprintf(refdir, sizeof refdir, "%s/%s/ref", root, models[m]);
        size_t nc;
        char **cases = harness_list_dir(refdir, &nc);
        for (size_t c = 0; c < nc; c++) {
            char id[1024], dir[4800], json[5000];
            snprintf(id, sizeof id, "%s/%s", models[m], cases[c]);
            snprintf(dir, sizeof dir, "%s/%s", refdir, cases[c]);
            snprintf(json, sizeof json, "%s/case.json", dir);
            int match = !nfilters;
            for (size_t f = 0; f < nfilters; f++)
                if (strstr(id, filters[f])) match = 1;
            char alt[8192];
            snprintf(alt, sizeof alt, "%s/%s", R->ref_dir ? R->ref_dir : "", id);
            if (match && is_file(json) && (!R->ref_dir || is_dir(alt))) {
                if (R->ncases == *cap) {
                    *cap = *cap ? 2 * *cap : 64;
                    R->cases = synap_xrealloc(R->cases, *cap * sizeof *R->cases);
                }
                R->cases[R->ncases++] = (struct mcase){
                    .id = synap_xstrdup(id), .dir = synap_xstrdup(dir), .format = format};
            }
            free(cases[c]);
        }
        free(cases);
        free(models[m]);
    }
    free(models);
}

/* Writes the expected-failures file of format F from this run: the cases that
 * did not pass, each with the reason it reported. */
static int write_expected(const struct run *R, int format, const char *path)
{
    char head[512];
    snprintf(head, sizeof head,
             "# Real-model reference cases (SHARED/models/%s/*/ref/*) that do not pass yet:\n"
             "# model/case<TAB>STATUS: reason, sorted. Regenerate with\n"
             "#   model_cases --shared DIR --format %s --write-expected FILE\n",
             R->formats[format].name, R->formats[format].name);
    struct harness_expect *e = synap_xmalloc((R->ncases + 1) * sizeof *e);
    size_t ne = 0;
    for (size_t i = 0; i < R->ncases; i++) {
        const struct mcase *mc = &R->cases[i];
        if (mc->format == format && mc->status != HARNESS_PASS)
            e[ne++] =
                (struct harness_expect){.id = mc->id, .reason = mc->reason, .status = mc->status};
    }
    struct synap_err err = {0};
    int rc = harness_expect_write(path, head, e, ne, &err);
    if (rc) fprintf(stderr, "model_cases: %s\n", err.msg);
    free(e);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: model_cases [--shared DIR] [--format onnx|tflite] [--filter SUBSTR]...\n"
               "                   [--expected FILE] [--write-expected FILE] [-v] [-j N]\n"
               "                   [--threads N] [--timeout S] [--ref-dir REF]\n"
               "Runs every DIR/models/{onnx,tflite}/<model>/ref/<case>/case.json (DIR defaults\n"
               "to ../shared; --format runs one format) and compares the outputs with the\n"
               "reference .npy files. --expected and --write-expected name the file of the\n"
               "format given by --format. --ref-dir takes the expected outputs from\n"
               "REF/<model>/<case>/ instead (same file names), exactly (atol 0), and runs only\n"
               "the cases that have such a folder.\n");
}

int main(int argc, char **argv)
{
    const char *shared = "../shared";
    const char *expected = NULL, *write_to = NULL;
    char **filters = calloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    int njobs = 1, only = -1, rc = 2;
    long timeout_s = 600;
    struct run R = {
        .formats = {[FORMAT_ONNX] = {.name = "onnx"}, [FORMAT_TFLITE] = {.name = "tflite"}}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            R.verbose = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(filters);
            return 0;
        } else if (val && !strcmp(a, "--shared")) {
            shared = argv[++i];
        } else if (val && !strcmp(a, "--format")) {
            only = -1;
            for (int f = 0; f < NFORMATS; f++)
                if (!strcmp(val, R.formats[f].name)) only = f;
            if (only < 0) {
                fprintf(stderr, "model_cases: --format: expected onnx or tflite, got '%s'\n", val);
                free(filters);
                return 2;
            }
            i++;
        } else if (val && !strcmp(a, "--filter")) {
            filters[nfilters++] = argv[++i];
        } else if (val && !strcmp(a, "--ref-dir")) {
            static char ref_dir[4096];
            if (!realpath(val, ref_dir)) {
                fprintf(stderr, "model_cases: --ref-dir %s: %s\n", val, strerror(errno));
                free(filters);
                return 2;
            }
            R.ref_dir = ref_dir;
            i++;
        } else if (val && !strcmp(a, "--expected")) {
            expected = argv[++i];
        } else if (val && !strcmp(a, "--write-expected")) {
            write_to = argv[++i];
        } else if (val &&
                   (!strcmp(a, "-j") || !strcmp(a, "--threads") || !strcmp(a, "--timeout"))) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 100000) {
                fprintf(stderr, "model_cases: %s: expected a positive count, got '%s'\n", a, val);
                free(filters);
                return 2;
            }
            if (!strcmp(a, "-j"))
                njobs = n > 256 ? 256 : (int)n;
            else if (!strcmp(a, "--threads"))
                R.nthreads = n > 256 ? 256 : (int)n;
            else
                timeout_s = n;
            i++;
        } else {
            fprintf(stderr, "model_cases: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            free(filters);
            return 2;
        }
    }
    if ((expected || write_to) && only < 0) {
        fprintf(stderr, "model_cases: --expected and --write-expected need --format (one file "
                        "per format)\n");
        free(filters);
        return 2;
    }
    size_t cap = 0;
    for (int f = 0; f < NFORMATS; f++) {
        struct format *F = &R.formats[f];
        char root[4096];
        snprintf(root, sizeof root, "%s/models/%s", shared, F->name);
        if ((only >= 0 && f != only) || !is_dir(root)) continue;
        if (expected) {
            char err[1024];
            if (harness_expect_read(expected, &F->expect, &F->nexpect, err, sizeof err)) {
                fprintf(stderr, "model_cases: %s\n", err);
                goto out;
            }
            F->expected = expected;
        }
        R.nformats++;
        list_cases(&R, root, f, filters, nfilters, &cap);
    }
    if (!R.nformats) {
        printf("SKIP: %s/models/%s not found\n", shared,
               only >= 0 ? R.formats[only].name : "{onnx,tflite}");
        rc = 77;
        goto out;
    }
    harness_run(R.ncases, njobs, (unsigned)timeout_s, case_fn, done_fn, &R);

    size_t total[HARNESS_NSTATUS] = {0};
    for (int f = 0; f < NFORMATS; f++)
        for (int s = 0; s < HARNESS_NSTATUS; s++)
            total[s] += R.formats[f].counts[s];
    if (R.nformats > 1)
        for (int f = 0; f < NFORMATS; f++) {
            harness_print_counts(R.formats[f].name, R.formats[f].counts);
            printf("\n");
        }
    harness_print_counts("models", total);
    printf(" (%zu cases)\n", R.ncases);
    if (expected && !nfilters)
        harness_expect_note_unseen(R.formats[only].expect, R.formats[only].nexpect, expected,
                                   "case");
    rc = R.nunexpected ? 1 : 0;
    if (write_to && write_expected(&R, only, write_to)) rc = 1;
    printf("%zu passed, %zu failed\n", total[HARNESS_PASS], R.nunexpected);
out:
    for (size_t i = 0; i < R.ncases; i++) {
        free(R.cases[i].id);
        free(R.cases[i].dir);
        free(R.cases[i].reason);
    }
    free(R.cases);
    for (int f = 0; f < NFORMATS; f++)
        harness_expect_free(R.formats[f].expect, R.formats[f].nexpect);
    free(filters);
    return rc;
}
