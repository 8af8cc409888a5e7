/* synap: the front end users type (`synap convert`, `synap help`, `synap version`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/convert.h"

static const char usage[] =
    "usage: synap convert --model M --target T --out-dir D [--meta Y.yaml]\n"
    "                     [--weights W] [--out-format synap|nb] [--profiling] [--preserve]\n"
    "                     [--cache-dir DIR] [-j N] [--verbose|--silent]\n"
    "       synap help\n"
    "       synap version\n"
    "\n"
    "convert: converts the model M (.onnx, .tflite) for target T into D/model.synap and\n"
    "D/model_info.txt (--out-format nb: D/model.nb and D/model.json).\n"
    "  --model M          the source model; the format comes from the extension (.onnx,\n"
    "                     .tflite)\n"
    "  --target T         GENERIC, DVF120, SL1620, VS640 (VS640A0, PLATYPUS), SL1640,\n"
    "                     VS680 (VS680A0, DOLPHIN), SL1680 or HOST; any case\n"
    "  --out-dir D        output folder (created)\n"
    "  --meta Y.yaml      the conversion metafile (inputs, outputs, delegate, ...)\n"
    "  --weights W        Caffe weights (Caffe models are not supported yet)\n"
    "  --out-format F     synap (default) or nb (a single NPU subgraph)\n"
    "  --profiling        build the model for per-layer profiling\n"
    "  --preserve         also write a text dump of every intermediate IR (D/build/NN-stage.txt)\n"
    "  --cache-dir DIR    the stage cache (default $SYNAP_CACHE_DIR, else D/cache); share one\n"
    "                     between out-dirs and a convert restores what was computed before\n"
    "  -j N               stages ninja may run at once (default: ninja's)\n"
    "  --verbose          show ninja's output and the stage commands\n"
    "  --silent           print nothing but errors\n"
    "\n"
    "D/build is always kept: it holds build.ninja, the per-stage option fragments\n"
    "(import.json ... pack.json), the intermediate IR files (00-import.ir ...\n"
    "60-codegen.ir) and stages.log (the stages the last convert ran, computed or\n"
    "cached). It is what makes a reconvert incremental: only the stages an edit\n"
    "reaches run again. The stage tools are found next to this executable; ninja\n"
    "(Debian package ninja-build) in PATH; the rule templates in $SYNAP_RULES_DIR or\n"
    "the installed share/synap/rules.\n"
    "\n"
    "Prints \"Conversion successful\", or \"Error: <message>\" and exits with status 1.\n";

static void print_out(void *ctx, const char *text, size_t n)
{
    (void)ctx;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
}

static int fail(const char *msg)
{
    fflush(stdout);
    fprintf(stderr, "Error: %s\n", msg);
    return 1;
}

static int parse_jobs(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 4096) return -1;
    *out = (int)v;
    return 0;
}

static int convert(int argc, char **argv)
{
    struct synap_convert_opts o = {0};
    int silent = 0;
    char msg[256];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        /* --opt VALUE and --opt=VALUE */
        static const char *const valued[] = {"--model",   "--target",     "--out-dir",   "--meta",
                                             "--weights", "--out-format", "--cache-dir", "-j"};
        const char **dst[] = {&o.model,   &o.target,     &o.out_dir,   &o.meta,
                              &o.weights, &o.out_format, &o.cache_dir, NULL};
        size_t k = 0, nv = sizeof valued / sizeof valued[0];
        const char *val = NULL;
        for (; k < nv; k++) {
            size_t n = strlen(valued[k]);
            if (!strcmp(a, valued[k])) {
                if (i + 1 == argc) {
                    snprintf(msg, sizeof msg, "%s needs a value", a);
                    return fail(msg);
                }
                val = argv[++i];
                break;
            }
            if (!strncmp(a, valued[k], n) && a[n] == '=' && a[0] == '-' && a[1] == '-') {
                val = a + n + 1;
                break;
            }
            if (k == nv - 1 && !strncmp(a, "-j", 2) && a[2]) {
                val = a + 2;
                break;
            }
        }
        if (k < nv) {
            if (!dst[k]) {
                if (parse_jobs(val, &o.jobs) < 0) {
                    snprintf(msg, sizeof msg, "-j: expected a number of jobs >= 1, got '%.100s'",
                             val);
                    return fail(msg);
                }
            } else if (*dst[k]) {
                snprintf(msg, sizeof msg, "%s given twice", valued[k]);
                return fail(msg);
            } else {
                *dst[k] = val;
            }
        } else if (!strcmp(a, "--profiling")) {
            o.profiling = 1;
        } else if (!strcmp(a, "--preserve")) {
            o.preserve = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o.verbose = 1;
        } else if (!strcmp(a, "--silent")) {
            silent = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            snprintf(msg, sizeof msg, "unknown option '%.100s' (see synap help)", a);
            return fail(msg);
        }
    }
    if (o.verbose && silent) return fail("--verbose and --silent exclude each other");
    if (o.verbose) {
        o.output = print_out;
    }
    struct synap_convert_result r;
    struct synap_err err = {0};
    int rc = synap_convert_run(&o, &r, &err);
    if (r.warnings && !silent) {
        fflush(stdout);
        fputs(r.warnings, stderr);
    }
    synap_convert_result_free(&r);
    if (rc < 0) return fail(err.msg);
    if (!silent) puts("Conversion successful");
    return fflush(stdout) ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "convert")) return convert(argc - 2, argv + 2);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        puts("synap " SYNAP_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "image_to_raw") || !strcmp(cmd, "image_from_raw") ||
        !strcmp(cmd, "image_od")) {
        fprintf(stderr, "Error: synap %s is not implemented yet\n", cmd);
        return 1;
    }
    fprintf(stderr, "Error: unknown command '%s' (commands: convert, help, version)\n", cmd);
    return 1;
}
