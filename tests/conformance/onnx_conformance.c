/* Runs the ONNX backend conformance tests (Debian's libonnx-testdata) through
 * the importer and the float interpreter.
 *
 * Data: DIR/{node,pytorch-converted,pytorch-operator,simple}/test_X/ with
 * model.onnx and test_data_set_0/input_K.pb, output_K.pb (TensorProto).
 * input_K feeds the K-th graph input that is not an initializer, output_K is
 * the K-th graph output (the ONNX backend runner's positional convention;
 * the tensors' own names are often empty).
 *
 * Policy: synap compiles static graphs for an NPU, so every shape argument
 * must be a constant at import. Each test is imported with the shapes of its
 * inputs (opts.shapes), and its integer and bool inputs are bound as
 * constants (opts.values): they are almost always shapes, axes, indices or
 * counts (Reshape's shape, Slice's starts, TopK's k, ...). The kernels still
 * compute them, through constant folding at import. Float inputs stay graph
 * inputs and are fed at run time, except when the import then fails saying
 * an input must be constant (a float shape argument: Resize's scales,
 * Range's limits, OneHot's depth): the test is retried once with every input
 * bound, and a PASS says so. bfloat16 data stored as uint16 bit patterns (as
 * ONNX 1.12's generators do) is read as the bfloat16 the model declares.
 *
 * Each test runs in a forked child under alarm(60), so a crash is reported as
 * CRASH (with the signal) and a hang as TIMEOUT; the child sends its one-line
 * result through a pipe. Outcomes:
 *   PASS         every output has the expected dtype class (float / integer /
 *                bool), shape and values: |got - want| <= 1e-5 + 1e-3 |want|,
 *                NaN matches NaN, an infinity only the same infinity,
 *                integers and bools exactly;
 *   FAIL         wrong values (the first mismatch is printed) or an import /
 *                plan / run error;
 *   UNSUPPORTED  the import error says an op, attribute or dtype is not
 *                supported, or a graph input/output is not a tensor;
 *   CRASH, TIMEOUT.
 * An expected-failures file lists "folder/test<TAB>STATUS: reason". The last
 * line printed is "<P> passed, <F> failed" where F counts tests that did not
 * pass and are not listed with that status, listed tests that now pass, and
 * every crash. Exit status: 0 when F is 0, 1 otherwise, 77 (meson's skip)
 * when the data folder is absent, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "onnx/onnx.h"
#include "onnx/onnx.pb-c.h"
#include "runtime/plan.h"

#define TIMEOUT_S 60
#define RTOL 1e-3
#define ATOL 1e-5

static const char *const folders[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
#define NFOLDERS (sizeof folders / sizeof folders[0])

struct test {
    char *id;  /* "node/test_abs" */
    char *dir; /* DATA/node/test_abs */
    size_t folder;
    enum harness_status status;
    char *reason;
    int unexpected;
};

struct run {
    struct test *tests;
    size_t ntests;
    struct harness_expect *expect;
    size_t nexpect;
    int verbose;
    int nthreads;
    size_t counts[NFOLDERS][HARNESS_NSTATUS];
    size_t nunexpected;
};

/* ---- one test, in the child ---------------------------------------------------- */

struct io {
    char name[256];       /* graph input / output name */
    int32_t elem_type;    /* ONNX element type the model declares (0: none) */
    struct synap_value v; /* the .pb tensor (data malloc'd) */
};

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *type_kind(const Onnx__TypeProto *tp)
{
    if (!tp) return "untyped";
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        return "tensor";
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
        return "sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        return "map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
        return "optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        return "sparse tensor";
    default:
        return "untyped";
    }
}

/* ONNX element types synap has no dtype for (string, complex). */
static int unsupported_elem(const Onnx__TypeProto *tp, const char **what)
{
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt || !tt->has_elem_type) return 0;
    switch (tt->elem_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING:
        *what = "string";
        return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64:
        *what = "complex64";
        return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128:
        *what = "complex128";
        return 1;
    default:
        return 0;
    }
}

static int mentions_unsupported(const char *msg)
{
    return strstr(msg, "unsupported") || strstr(msg, "not supported");
}

/* Graph input and output names from the model, checking that each is a
 * tensor of a type synap has. Returns PASS to go on. */
static enum harness_status read_signature(struct io **ins, size_t *nin, struct io **outs,
                                          size_t *nout, char *reason, size_t n)
{
    struct synap_file f;
    struct synap_err err = {0};
    if (synap_file_read("model.onnx", &f, &err)) {
        snprintf(reason, n, "%s", err.msg);
        return HARNESS_FAIL;
    }
    enum harness_status st = HARNESS_PASS;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, f.size, f.data);
    if (!m || !m->graph) {
        snprintf(reason, n, "model.onnx: not an ONNX model");
        st = HARNESS_FAIL;
        goto out;
    }
    const Onnx__GraphProto *g = m->graph;
    *ins = calloc(g->n_input + 1, sizeof **ins);
    *outs = calloc(g->n_output + 1, sizeof **outs);
    *nin = *nout = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        const char *name = vi && vi->name ? vi->name : "";
        int is_init = 0;
        for (size_t k = 0; k < g->n_initializer; k++)
            if (g->initializer[k]->name && !strcmp(g->initializer[k]->name, name)) is_init = 1;
        if (is_init) continue;
        const char *what;
        if (!vi || !vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            snprintf(reason, n, "input '%s' is a %s, not a tensor", name,
                     type_kind(vi ? vi->type : NULL));
            st = HARNESS_UNSUPPORTED;
            goto out;
        }
        if (unsupported_elem(vi->type, &what)) {
            snprintf(reason, n, "input '%s': unsupported dtype %s", name, what);
            st = HARNESS_UNSUPPORTED;
            goto out;
        }
        (*ins)[*nin].elem_type =
            vi->type->tensor_type->has_elem_type ? vi->type->tensor_type->elem_type : 0;
        snprintf((*ins)[(*nin)++].name, sizeof(*ins)->name, "%s", name);
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        const char *name = vi && vi->name ? vi->name : "";
        const char *what;
        /* an untyped output is fine: the expected tensor says what it is */
        if (vi && vi->type && vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            snprintf(reason, n, "output '%s' is a %s, not a tensor", name, type_kind(vi->type));
            st = HARNESS_UNSUPPORTED;
            goto out;
        }
        if (vi && vi->type && unsupported_elem(vi->type, &what)) {
            snprintf(reason, n, "output '%s': unsupported dtype %s", name, what);
            st = HARNESS_UNSUPPORTED;
            goto out;
        }
        if (vi && vi->type && vi->type->tensor_type && vi->type->tensor_type->has_elem_type)
            (*outs)[*nout].elem_type = vi->type->tensor_type->elem_type;
        snprintf((*outs)[(*nout)++].name, sizeof(*outs)->name, "%s", name);
    }
out:
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    synap_file_close(&f);
    return st;
}

static void free_ios(struct io *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].v.data);
    free(v);
}

/* Reads test_data_set_0/<kind>_K.pb for K < n into ios[K].v. */
static enum harness_status read_tensors(const char *kind, struct io *ios, size_t n, char *reason,
                                        size_t nr)
{
    for (size_t k = 0; k < n; k++) {
        char path[64];
        snprintf(path, sizeof path, "test_data_set_0/%s_%zu.pb", kind, k);
        struct synap_err err = {0};
        if (synap_onnx_read_tensor_file(path, &ios[k].v, NULL, &err)) {
            snprintf(reason, nr, "%s", err.msg);
            return mentions_unsupported(err.msg) ? HARNESS_UNSUPPORTED : HARNESS_FAIL;
        }
        /* ONNX's 1.12-era test generators store bfloat16 data as its uint16
         * bit patterns: take the model's word for the type. */
        if (ios[k].elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 &&
            ios[k].v.dtype == SYNAP_DTYPE_UINT16)
            ios[k].v.dtype = SYNAP_DTYPE_BFLOAT16;
    }
    char path[64];
    snprintf(path, sizeof path, "test_data_set_0/%s_%zu.pb", kind, n);
    if (file_exists(path)) {
        snprintf(reason, nr, "%s: more test %ss than the graph has", path, kind);
        return HARNESS_FAIL;
    }
    return HARNESS_PASS;
}

static void describe_mismatch(const struct harness_cmp *c, size_t k, const struct io *o,
                              char *reason, size_t n)
{
    char at[160];
    harness_index_str(o->v.rank, o->v.dims, c->first, at, sizeof at);
    snprintf(reason, n,
             "output %zu '%s': element %s: got %.9g, expected %.9g (%lld of %lld elements "
             "differ, max |diff| %.3g)",
             k, o->name, at, c->first_got, c->first_want, (long long)c->nbad, (long long)c->nelem,
             c->max_abs_diff);
}

/* Imports model.onnx with the test's input shapes, binding integer and bool
 * inputs (or, with all set, every input) as constants. */
static struct synap_graph *import(const struct io *ins, size_t nin, int all,
                                  struct synap_onnx_shape *shapes, struct synap_onnx_value *values,
                                  struct synap_err *err)
{
    struct synap_onnx_opts opts = {.shapes = shapes, .values = values};
    for (size_t k = 0; k < nin; k++) {
        const struct synap_value *v = &ins[k].v;
        shapes[opts.nshapes].name = ins[k].name;
        shapes[opts.nshapes].rank = v->rank;
        memcpy(shapes[opts.nshapes].dims, v->dims, sizeof v->dims);
        opts.nshapes++;
        if (all || !synap_dtype_is_float(v->dtype)) {
            values[opts.nvalues].name = ins[k].name;
            values[opts.nvalues].value = *v;
            opts.nvalues++;
        }
    }
    return synap_onnx_import("model.onnx", &opts, err);
}

static enum harness_status run_test(const struct run *R, const struct test *t, char *reason,
                                    size_t n)
{
    /* relative paths keep the data folder out of messages (and the
     * expected-failures file); the child's cwd does not matter to the parent */
    if (chdir(t->dir)) {
        snprintf(reason, n, "%s: %s", t->dir, strerror(errno));
        return HARNESS_FAIL;
    }
    struct io *ins = NULL, *outs = NULL;
    size_t nin = 0, nout = 0;
    struct synap_graph *g = NULL;
    struct synap_plan *p = NULL;
    struct synap_onnx_shape *shapes = NULL;
    struct synap_onnx_value *values = NULL;
    struct synap_err err = {0};
    enum harness_status st = read_signature(&ins, &nin, &outs, &nout, reason, n);
    if (st != HARNESS_PASS) goto out;
    if ((st = read_tensors("input", ins, nin, reason, n)) != HARNESS_PASS) goto out;
    if ((st = read_tensors("output", outs, nout, reason, n)) != HARNESS_PASS) goto out;

    shapes = calloc(nin + 1, sizeof *shapes);
    values = calloc(nin + 1, sizeof *values);
    int bound_all = 0;
    g = import(ins, nin, 0, shapes, values, &err);
    if (!g && strstr(err.msg, "constant")) {
        /* A float input decides a shape (Resize's scales, Range's limits):
         * retry with every input bound, so the op is still checked. */
        struct synap_err err2 = {0};
        g = import(ins, nin, 1, shapes, values, &err2);
        bound_all = g != NULL;
    }
    if (!g) {
        snprintf(reason, n, "%s", err.msg);
        st = mentions_unsupported(err.msg) ? HARNESS_UNSUPPORTED : HARNESS_FAIL;
        goto out;
    }
    struct synap_plan_opts po = {.nthreads = R->nthreads};
    p = synap_plan_new(g, &po, &err);
    if (!p) {
        snprintf(reason, n, "plan: %s", err.msg);
        st = HARNESS_FAIL;
        goto out;
    }
    for (size_t i = 0; i < g->ninputs; i++) {
        const char *name = g->tensors[g->inputs[i]].name;
        struct synap_value *dst = synap_plan_input(p, i);
        const struct synap_value *src = NULL;
        for (size_t k = 0; k < nin; k++)
            if (!strcmp(ins[k].name, name)) src = &ins[k].v;
        if (!src) {
            snprintf(reason, n, "graph input '%s' has no test data", name);
            st = HARNESS_FAIL;
            goto out;
        }
        int64_t ne = synap_value_nelem(src);
        if (!dst || ne != synap_value_nelem(dst) || dst->rank != src->rank) {
            snprintf(reason, n, "graph input '%s': the plan's buffer does not match the data",
                     name);
            st = HARNESS_FAIL;
            goto out;
        }
        synap_convert(dst->dtype, dst->data, src->dtype, src->data, ne);
    }
    if (synap_plan_run(p, &err)) {
        snprintf(reason, n, "run: %s", err.msg);
        st = HARNESS_FAIL;
        goto out;
    }
    if (g->noutputs != nout) {
        snprintf(reason, n, "the graph has %zu outputs, the test %zu", g->noutputs, nout);
        st = HARNESS_FAIL;
        goto out;
    }
    for (size_t k = 0; k < nout; k++) {
        const struct synap_value *got = synap_plan_output(p, k);
        struct harness_cmp c;
        if (!got) {
            snprintf(reason, n, "output %zu '%s': no value", k, outs[k].name);
            st = HARNESS_FAIL;
            goto out;
        }
        int r = harness_compare(got, &outs[k].v, ATOL, RTOL, 0, &c);
        if (r < 0) {
            snprintf(reason, n, "output %zu '%s': %s", k, outs[k].name, c.msg);
            st = HARNESS_FAIL;
            goto out;
        }
        if (r > 0) {
            describe_mismatch(&c, k, &outs[k], reason, n);
            st = HARNESS_FAIL;
            goto out;
        }
    }
    st = HARNESS_PASS;
    snprintf(reason, n, "%zu output%s%s", nout, nout == 1 ? "" : "s",
             bound_all ? " (every input bound as a constant)" : "");
out:
    synap_plan_free(p);
    synap_graph_free(g);
    free(shapes);
    free(values);
    free_ios(ins, nin);
    free_ios(outs, nout);
    return st;
}

static enum harness_status case_fn(void *ctx, size_t i, char *reason, size_t n)
{
    const struct run *R = ctx;
    return run_test(R, &R->tests[i], reason, n);
}

/* ---- the parent ------------------------------------------------------------------ */

static void done_fn(void *ctx, size_t i, enum harness_status s, const char *reason)
{
    struct run *R = ctx;
    struct test *t = &R->tests[i];
    t->status = s;
    t->reason = strdup(reason);
    R->counts[t->folder][s]++;
    const char *note;
    t->unexpected = harness_expect_judge(R->expect, R->nexpect, t->id, s, &note);
    if (t->unexpected) R->nunexpected++;
    if (R->verbose || t->unexpected)
        printf("%-11s %s: %s%s\n", harness_status_name(s), t->id, reason, note);
}

static int matches(const char *id, char **filters, size_t nfilters)
{
    if (!nfilters) return 1;
    for (size_t i = 0; i < nfilters; i++)
        if (strstr(id, filters[i])) return 1;
    return 0;
}

/* Every test folder of DATA/<folder>, sorted by name. */
static void list_tests(struct run *R, const char *data, char **filters, size_t nfilters)
{
    size_t cap = 0;
    for (size_t f = 0; f < NFOLDERS; f++) {
        char dirpath[4096];
        snprintf(dirpath, sizeof dirpath, "%s/%s", data, folders[f]);
        size_t nn;
        char **names = harness_list_dir(dirpath, &nn);
        for (size_t i = 0; i < nn; i++) {
            char id[1024], dir[8192], model[8300];
            snprintf(id, sizeof id, "%s/%s", folders[f], names[i]);
            snprintf(dir, sizeof dir, "%s/%s", dirpath, names[i]);
            snprintf(model, sizeof model, "%s/model.onnx", dir);
            if (matches(id, filters, nfilters) && file_exists(model)) {
                if (R->ntests == cap) {
                    cap = cap ? 2 * cap : 1024;
                    R->tests = synap_xrealloc(R->tests, cap * sizeof *R->tests);
                }
                R->tests[R->ntests++] =
                    (struct test){.id = synap_xstrdup(id), .dir = synap_xstrdup(dir), .folder = f};
            }
            free(names[i]);
        }
        free(names);
    }
}

/* The list of tests that do not pass, with their reasons, sorted by id. */
static int write_expected(const struct run *R, const char *path)
{
    static const char head[] =
        "# ONNX conformance tests (libonnx-testdata) that do not pass yet:\n"
        "# folder/test<TAB>STATUS: reason, sorted. Regenerate with\n"
        "#   onnx_conformance --data DIR --write-expected FILE\n"
        "# A listed test that passes, a failing test that is not listed (or is\n"
        "# listed with another status) and any CRASH fail the suite.\n";
    struct harness_expect *e = synap_xmalloc((R->ntests + 1) * sizeof *e);
    size_t ne = 0;
    for (size_t i = 0; i < R->ntests; i++) {
        const struct test *t = &R->tests[i];
        if (t->status != HARNESS_PASS)
            e[ne++] =
                (struct harness_expect){.id = t->id, .reason = t->reason, .status = t->status};
    }
    struct synap_err err = {0};
    int rc = harness_expect_write(path, head, e, ne, &err);
    if (rc) fprintf(stderr, "onnx_conformance: %s\n", err.msg);
    free(e);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: onnx_conformance [--data DIR] [--filter SUBSTR]... [--expected FILE]\n"
               "                        [--write-expected FILE] [-v] [-j N] [--threads N]\n"
               "Runs libonnx-testdata's node, pytorch-converted, pytorch-operator and simple\n"
               "tests (DIR defaults to /usr/share/libonnx-testdata/data). Exit 0 when every\n"
               "test passes or is listed in the expected failures with its status.\n");
}

int main(int argc, char **argv)
{
    const char *data = "/usr/share/libonnx-testdata/data";
    const char *expected = NULL, *write_to = NULL;
    char **filters = calloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    int njobs = 2;
    struct run R = {.nthreads = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            R.verbose = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (val && !strcmp(a, "--data")) {
            data = argv[++i];
        } else if (val && !strcmp(a, "--filter")) {
            filters[nfilters++] = argv[++i];
        } else if (val && !strcmp(a, "--expected")) {
            expected = argv[++i];
        } else if (val && !strcmp(a, "--write-expected")) {
            write_to = argv[++i];
        } else if (val && (!strcmp(a, "-j") || !strcmp(a, "--threads"))) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "onnx_conformance: %s: expected a count 1..256, got '%s'\n", a,
                        val);
                return 2;
            }
            if (!strcmp(a, "-j"))
                njobs = (int)n;
            else
                R.nthreads = (int)n;
            i++;
        } else {
            fprintf(stderr, "onnx_conformance: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    struct stat st;
    if (stat(data, &st) || !S_ISDIR(st.st_mode)) {
        printf("SKIP: %s not found (install libonnx-testdata)\n", data);
        free(filters);
        return 77;
    }
    if (expected) {
        char err[1024];
        if (harness_expect_read(expected, &R.expect, &R.nexpect, err, sizeof err)) {
            fprintf(stderr, "onnx_conformance: %s\n", err);
            free(filters);
            return 2;
        }
    }
    list_tests(&R, data, filters, nfilters);
    harness_run(R.ntests, njobs, TIMEOUT_S, case_fn, done_fn, &R);

    size_t total[HARNESS_NSTATUS] = {0};
    for (size_t f = 0; f < NFOLDERS; f++) {
        size_t *c = R.counts[f];
        size_t all = 0;
        for (int s = 0; s < HARNESS_NSTATUS; s++) {
            total[s] += c[s];
            all += c[s];
        }
        if (!all) continue;
        harness_print_counts(folders[f], c);
        printf("\n");
    }
    printf("total: %zu passed, %zu failed, %zu unsupported, %zu crashed, %zu timed out (%zu "
           "tests)\n",
           total[HARNESS_PASS], total[HARNESS_FAIL], total[HARNESS_UNSUPPORTED],
           total[HARNESS_CRASH], total[HARNESS_TIMEOUT], R.ntests);
    /* entries for tests that no longer exist would hide nothing, but rot */
    if (expected && !nfilters) harness_expect_note_unseen(R.expect, R.nexpect, expected, "test");
    int rc = R.nunexpected ? 1 : 0;
    if (write_to && write_expected(&R, write_to)) rc = 1;
    printf("%zu passed, %zu failed\n", total[HARNESS_PASS], R.nunexpected);

    for (size_t i = 0; i < R.ntests; i++) {
        free(R.tests[i].id);
        free(R.tests[i].dir);
        free(R.tests[i].reason);
    }
    free(R.tests);
    harness_expect_free(R.expect, R.nexpect);
    free(filters);
    return rc;
}
