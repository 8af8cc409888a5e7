/* synap-import: ONNX model -> synap IR file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx/onnx.h"
#include "util/npy.h"

static const char usage[] =
    "usage: synap-import MODEL.onnx [-o OUT.ir|-] [--input-shape NAME=D0,D1,...]...\n"
    "                    [--input-value NAME=FILE.npy]... [--help] [--version]\n"
    "\n"
    "Imports an ONNX model (opsets 6-18) into the synap IR, with shape inference\n"
    "and constant folding.\n"
    "\n"
    "  -o OUT.ir                 output file (default '-': stdout, never a terminal)\n"
    "  --input-shape NAME=DIMS   fix the shape of graph input NAME (dynamic dims)\n"
    "  --input-value NAME=FILE   bind graph input NAME to the constant in a .npy file\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or options, 2 I/O or internal error.\n";

static int fail(int code, const char *fmt, const char *arg)
{
    fprintf(stderr, "synap-import: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return code;
}

/* "x=1,3,224,224" ("x=" is a scalar). The '=' becomes the name's end. */
static int parse_shape(char *arg, struct synap_onnx_shape *s)
{
    char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) return -1;
    s->name = arg;
    s->rank = 0;
    for (char *p = eq + 1; *p;) {
        if (s->rank == SYNAP_MAX_RANK || *p < '0' || *p > '9') return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || (*end && *end != ',')) return -1;
        s->dims[s->rank++] = v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return -1; /* trailing comma */
    }
    *eq = 0;
    return 0;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *out = "-";
    struct synap_onnx_shape *shapes = calloc((size_t)argc, sizeof *shapes);
    struct synap_onnx_value *values = calloc((size_t)argc, sizeof *values);
    struct synap_onnx_opts opts = {.shapes = shapes, .values = values};
    struct synap_err err = {0};
    struct synap_graph *g = NULL;
    int rc = 1;
    if (!shapes || !values) {
        rc = fail(2, "%s", "out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "--version")) {
            printf("synap-import %s\n", SYNAP_VERSION);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "-o")) {
            if (++i == argc) {
                rc = fail(1, "%s", "-o needs a file name");
                goto out;
            }
            out = argv[i];
        } else if (!strcmp(a, "--input-shape") || !strcmp(a, "--input-value")) {
            if (++i == argc) {
                rc = fail(1, "%s needs NAME=...", a);
                goto out;
            }
            if (a[8] == 's') {
                if (parse_shape(argv[i], &shapes[opts.nshapes]) < 0) {
                    rc = fail(1, "bad --input-shape '%s' (expected NAME=D0,D1,...)", argv[i]);
                    goto out;
                }
                opts.nshapes++;
            } else {
                char *eq = strrchr(argv[i], '=');
                if (!eq || eq == argv[i] || !eq[1]) {
                    rc = fail(1, "bad --input-value '%s' (expected NAME=FILE.npy)", argv[i]);
                    goto out;
                }
                *eq = 0;
                struct synap_onnx_value *v = &values[opts.nvalues];
                v->name = argv[i];
                if (synap_npy_read(eq + 1, &v->value, &err) < 0) {
                    rc = fail(err.code == SYNAP_EIO ? 2 : 1, "%s", err.msg);
                    goto out;
                }
                opts.nvalues++;
            }
        } else if (a[0] == '-' && a[1]) {
            rc = fail(1, "unknown option '%s' (see --help)", a);
            goto out;
        } else if (model) {
            rc = fail(1, "more than one model given ('%s')", a);
            goto out;
        } else {
            model = a;
        }
    }
    if (!model) {
        fputs(usage, stderr);
        goto out;
    }
    if (!strcmp(out, "-") && isatty(STDOUT_FILENO)) {
        rc = fail(1, "%s", "refusing to write a binary IR to a terminal (use -o FILE)");
        goto out;
    }
    g = synap_onnx_import(model, &opts, &err);
    if (!g) {
        rc = fail(err.code == SYNAP_EIO ? 2 : 1, "%s", err.msg);
        goto out;
    }
    if (synap_ir_write(g, out, &err) < 0) {
        rc = fail(2, "%s", err.msg);
        goto out;
    }
    rc = 0;
out:
    synap_graph_free(g);
    for (size_t i = 0; i < opts.nvalues; i++)
        free(values[i].value.data);
    free(shapes);
    free(values);
    return rc;
}
