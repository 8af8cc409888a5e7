/* The TFLM int16 single-op goldens, bit-exactly: every model in
 * SHARED/models/tflite/tflm-int16-ops/seanet/<op>/<name>.tflite is imported,
 * fed <name>_input<K>_int16.csv (comma-separated integers, row-major) and its
 * only output compared with <name>_golden_int16.csv element for element —
 * no tolerance: these goldens come from TFLM's reference integer kernels,
 * which the integer kernels follow (kernels/qmath.h).
 *
 * usage: tflm_goldens [--shared DIR] [--expected FILE] [--filter SUBSTR] [-v]
 * --expected lists "<op>/<name><TAB>reason" lines that may fail (and must:
 * an expected failure that passes is reported so the list shrinks).
 * Exit 0 when every result is as expected, 1 otherwise, 77 when the shared
 * folder is absent. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/plan.h"
#include "tflite/tflite.h"

#define MAX_NAMES 4096

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    size_t k;
    while (s && (k = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += k;
        if (cap - len < 2) {
            char *t = realloc(s, cap *= 2);
            if (!t) {
                free(s);
                s = NULL;
            }
            s = t;
        }
    }
    fclose(f);
    if (s) s[len] = 0;
    return s;
}

/* Integers of a CSV file into a malloc'd array; -1 when absent or malformed. */
static int read_csv(const char *path, int64_t **out, size_t *n)
{
    char *s = read_text(path);
    if (!s) return -1;
    size_t cap = 1024, len = 0;
    int64_t *v = malloc(cap * sizeof *v);
    char *p = s;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (!*p) break;
        char *e;
        errno = 0;
        long long x = strtoll(p, &e, 10);
        if (e == p || errno) {
            free(v);
            free(s);
            return -1;
        }
        if (len == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[len++] = x;
        p = e;
    }
    free(s);
    *out = v;
    *n = len;
    return 0;
}

struct expect {
    char **names;
    size_t n;
};

static void read_expected(const char *path, struct expect *ex)
{
    char *s = path ? read_text(path) : NULL;
    ex->names = calloc(MAX_NAMES, sizeof *ex->names);
    ex->n = 0;
    if (!s) return;
    for (char *line = strtok(s, "\n"); line && ex->n < MAX_NAMES; line = strtok(NULL, "\n")) {
        if (*line == '#' || !*line) continue;
        char *tab = strchr(line, '\t');
        if (tab) *tab = 0;
        ex->names[ex->n++] = strdup(line);
    }
    free(s);
}

static int expected(const struct expect *ex, const char *id)
{
    for (size_t i = 0; i < ex->n; i++)
        if (!strcmp(ex->names[i], id)) return 1;
    return 0;
}

/* The file of dir whose name starts with prefix and ends in ".csv" (the
 * type suffix varies: _int16, _int32) into path; -1 when there is none. */
static int find_csv(const char *dir, const char *prefix, char *path, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int rc = -1;
    size_t lp = strlen(prefix);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > lp + 4 && !strncmp(e->d_name, prefix, lp) && !strcmp(e->d_name + l - 4, ".csv")) {
            snprintf(path, n, "%s/%s", dir, e->d_name);
            rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Runs one model; 0 when bit-exact, else -1 with the reason. Model inputs
 * are the CSVs <name>_input<K>_<type>.csv in the model's input order; short
 * int32 vectors (TRANSPOSE_CONV's output shape) are bound as constants, as a
 * converter would with --input-value. */
static int run_one(const char *dir, const char *name, char *why, size_t nwhy)
{
    char path[8192], pre[1024];
    struct synap_err err = {0};
    int rc = -1;
    struct synap_plan *p = NULL;
    int64_t *gold = NULL, *iv[8] = {0};
    size_t ngold, niv[8];
    struct synap_onnx_value vals[8];
    struct synap_onnx_opts opts = {.values = vals};
    snprintf(path, sizeof path, "%s/%s.tflite", dir, name);
    struct synap_graph *g = synap_tflite_import(path, NULL, &err);
    if (!g) {
        snprintf(why, nwhy, "%s", err.msg);
        return -1;
    }
    size_t nin = g->ninputs;
    if (nin > 8) {
        snprintf(why, nwhy, "%zu inputs", nin);
        goto out;
    }
    for (size_t i = 0; i < nin; i++) {
        snprintf(pre, sizeof pre, "%s_input%zu_", name, i);
        if (find_csv(dir, pre, path, sizeof path) < 0 || read_csv(path, &iv[i], &niv[i]) < 0) {
            snprintf(why, nwhy, "cannot read %.600s/%.200s*.csv", dir, pre);
            goto out;
        }
        const struct synap_tensor *t = &g->tensors[g->inputs[i]];
        if (t->dtype == SYNAP_DTYPE_INT32 && t->rank == 1 && niv[i] <= 8) {
            struct synap_onnx_value *v = &vals[opts.nvalues++];
            memset(v, 0, sizeof *v);
            v->name = t->name;
            v->value.dtype = SYNAP_DTYPE_INT64;
            v->value.rank = t->rank;
            memcpy(v->value.dims, t->dims, sizeof t->dims);
            v->value.data = iv[i];
        }
    }
    if (opts.nvalues) {
        /* re-import with the constants bound (names borrowed from g until then) */
        struct synap_graph *g2;
        snprintf(path, sizeof path, "%s/%s.tflite", dir, name);
        for (size_t k = 0; k < opts.nvalues; k++) {
            int64_t ne = synap_shape_nelem(vals[k].value.rank, vals[k].value.dims);
            vals[k].name = strdup(vals[k].name);
            /* the CSV's integers as the input's own type */
            int32_t *w = calloc((size_t)ne + 1, sizeof *w);
            for (int64_t j = 0; j < ne; j++)
                w[j] = (int32_t)((int64_t *)vals[k].value.data)[j];
            vals[k].value.dtype = SYNAP_DTYPE_INT32;
            vals[k].value.data = w;
        }
        g2 = synap_tflite_import(path, &opts, &err);
        for (size_t k = 0; k < opts.nvalues; k++) {
            free((void *)vals[k].name);
            free(vals[k].value.data);
        }
        synap_graph_free(g);
        g = g2;
        if (!g) {
            snprintf(why, nwhy, "%s", err.msg);
            goto out;
        }
    }
    struct synap_plan_opts po = {.nthreads = 1};
    p = synap_plan_new(g, &po, &err);
    if (!p) {
        snprintf(why, nwhy, "plan: %s", err.msg);
        goto out;
    }
    for (size_t i = 0, k = 0; i < nin; i++) {
        int64_t *v = iv[i];
        size_t nv = niv[i];
        if (k >= g->ninputs) break;
        struct synap_value *dst = synap_plan_input(p, k);
        if ((int64_t)nv != synap_value_nelem(dst) && opts.nvalues) continue; /* a bound one */
        k++;
        if ((int64_t)nv != synap_value_nelem(dst)) {
            snprintf(why, nwhy, "input %zu: %zu values for %lld elements", i, nv,
                     (long long)synap_value_nelem(dst));
            goto out;
        }
        synap_convert(dst->dtype, dst->data, SYNAP_DTYPE_INT64, v, (int64_t)nv);
    }
    if (synap_plan_run(p, &err)) {
        snprintf(why, nwhy, "run: %s", err.msg);
        goto out;
    }
    snprintf(pre, sizeof pre, "%s_golden_", name);
    if (g->noutputs != 1 || find_csv(dir, pre, path, sizeof path) < 0 ||
        read_csv(path, &gold, &ngold) < 0) {
        snprintf(why, nwhy, "%zu outputs or cannot read %.1000s", g->noutputs, path);
        goto out;
    }
    const struct synap_value *y = synap_plan_output(p, 0);
    if ((int64_t)ngold != synap_value_nelem(y)) {
        snprintf(why, nwhy, "output: %lld elements, golden %zu", (long long)synap_value_nelem(y),
                 ngold);
        goto out;
    }
    size_t nbad = 0, first = 0;
    int64_t maxd = 0;
    for (size_t i = 0; i < ngold; i++) {
        int64_t d = synap_value_get_i64(y, (int64_t)i) - gold[i];
        if (d < 0) d = -d;
        if (d && !nbad++) first = i;
        if (d > maxd) maxd = d;
    }
    if (nbad) {
        snprintf(why, nwhy, "%zu of %zu elements differ (max %lld LSB), first [%zu]: got %lld, golden %lld",
                 nbad, ngold, (long long)maxd, first,
                 (long long)synap_value_get_i64(y, (int64_t)first), (long long)gold[first]);
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < 8; i++)
        free(iv[i]);
    free(gold);
    synap_plan_free(p);
    synap_graph_free(g);
    return rc;
}

int main(int argc, char **argv)
{
    const char *shared = "../shared", *exp_path = NULL, *filter = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shared") && i + 1 < argc)
            shared = argv[++i];
        else if (!strcmp(argv[i], "--expected") && i + 1 < argc)
            exp_path = argv[++i];
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else {
            fprintf(stderr, "usage: tflm_goldens [--shared DIR] [--expected FILE] [--filter S] [-v]\n");
            return 2;
        }
    }
    char root[4096];
    snprintf(root, sizeof root, "%s/models/tflite/tflm-int16-ops/seanet", shared);
    DIR *d = opendir(root);
    if (!d) {
        printf("SKIP: %s is absent\n", root);
        return 77;
    }
    char *ops[64];
    size_t nops = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nops < 64)
        if (e->d_name[0] != '.') ops[nops++] = strdup(e->d_name);
    closedir(d);
    qsort(ops, nops, sizeof *ops, cmp_str);
    struct expect ex;
    read_expected(exp_path, &ex);
    size_t npass = 0, nfail = 0, nxfail = 0, nunexp = 0, total = 0;
    for (size_t o = 0; o < nops; o++) {
        char dir[4352];
        snprintf(dir, sizeof dir, "%s/%s", root, ops[o]);
        DIR *od = opendir(dir);
        if (!od) continue;
        char *names[MAX_NAMES];
        size_t nn = 0;
        while ((e = readdir(od)) && nn < MAX_NAMES) {
            size_t l = strlen(e->d_name);
            if (l > 7 && !strcmp(e->d_name + l - 7, ".tflite")) {
                names[nn] = strdup(e->d_name);
                names[nn++][l - 7] = 0;
            }
        }
        closedir(od);
        qsort(names, nn, sizeof *names, cmp_str);
        for (size_t k = 0; k < nn; k++) {
            char id[512], why[1400];
            snprintf(id, sizeof id, "%s/%s", ops[o], names[k]);
            free(names[k]);
            if (filter && !strstr(id, filter)) continue;
            total++;
            int ok = run_one(dir, id + strlen(ops[o]) + 1, why, sizeof why) == 0;
            int xf = expected(&ex, id);
            if (ok && !xf) {
                npass++;
                if (verbose) printf("PASS %s\n", id);
            } else if (ok) {
                nunexp++;
                printf("XPASS %s (listed as an expected failure: remove it)\n", id);
            } else if (xf) {
                nxfail++;
                if (verbose) printf("XFAIL %s %s\n", id, why);
            } else {
                nfail++;
                printf("FAIL %s %s\n", id, why);
            }
        }
    }
    for (size_t o = 0; o < nops; o++)
        free(ops[o]);
    for (size_t i = 0; i < ex.n; i++)
        free(ex.names[i]);
    free(ex.names);
    printf("tflm goldens: %zu models, %zu bit-exact, %zu failed, %zu expected failures, %zu "
           "unexpected passes\n",
           total, npass, nfail, nxfail, nunexp);
    return nfail || nunexp ? 1 : 0;
}
