/* synap convert: metafile -> per-stage fragments -> OUT/build/build.ninja -> ninja.
 *
 * The driver computes nothing itself. It writes what each stage needs to
 * know (one canonical JSON fragment per stage, only when its bytes change),
 * concatenates the rules/NAME.ninja templates under a header of variables (tool
 * paths, the model, the cache, the pack outputs), and lets ninja decide what
 * to run: every rule has restat = 1 and a depfile, every stage rewrites its
 * output only when the bytes change, so an edit reruns exactly the stages it
 * reaches. OUT/build is therefore kept between converts: it is the
 * incremental state (SyNAP deletes build/ without --preserve; we do not). */
#define _GNU_SOURCE
#include "pipeline/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta/meta.h"
#include "target/target.h"

#ifndef SYNAP_SOURCE_DIR
#define SYNAP_SOURCE_DIR "."
#endif

/* The stages in pipeline order: the fragment each reads and the template of
 * its edge. calib and quant run only when the metafile has a quantization
 * section; partition then reads 30-quant.ir instead of 10-prune.ir. */
static const char *const float_stages[] = {"import", "prune", "partition", "codegen", "pack"};
static const char *const quant_stages[] = {"import",    "prune",   "calib", "quant",
                                           "partition", "codegen", "pack"};
#define NFLOAT (sizeof float_stages / sizeof float_stages[0])
#define NQUANT (sizeof quant_stages / sizeof quant_stages[0])

/* ---- a growing string ---------------------------------------------------- */

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->s = synap_xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) SYNAP_PRINTF(2, 3);
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    char *tmp = synap_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, tmp, (size_t)n);
    free(tmp);
}

/* ---- paths ------------------------------------------------------------------ */

/* An absolute spelling of p (not resolving links; p need not exist). */
static char *abs_path(const char *p, struct synap_err *err)
{
    if (p[0] == '/') return synap_xstrdup(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        synap_errf_io(err, "cannot get the current directory: %s", strerror(errno));
        return NULL;
    }
    const char *q = p;
    while (q[0] == '.' && q[1] == '/')
        q += 2;
    return synap_path_join(cwd, q);
}

/* The value of a ninja variable holding a path: '$' is ninja's escape. */
static void ninja_value(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '$') sb_add(b, "$", 1);
        sb_add(b, s, 1);
    }
}

/* A word for /bin/sh inside a ninja command: quoted when it holds anything
 * but plain path characters, then ninja-escaped. */
static void shell_word(struct sbuf *b, const char *s)
{
    int plain = *s != 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,+=:@%-", *p))
            plain = 0;
    if (plain) {
        ninja_value(b, s);
        return;
    }
    sb_puts(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_puts(b, "'\\''");
        else if (*p == '$')
            sb_puts(b, "$$");
        else
            sb_add(b, p, 1);
    }
    sb_puts(b, "'");
}

int synap_exe_dir(char *buf, size_t n, struct synap_err *err)
{
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0 || (size_t)k >= n - 1)
        return synap_errf_io(err, "cannot find the synap executable (/proc/self/exe): %s",
                             k < 0 ? strerror(errno) : "path too long");
    buf[k] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash) return synap_errf_io(err, "unexpected executable path '%s'", buf);
    if (slash == buf)
        slash[1] = 0;
    else
        *slash = 0;
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *synap_rules_dir(const char *tools_dir)
{
    static char installed[PATH_MAX];
    const char *env = getenv("SYNAP_RULES_DIR");
    if (env && *env) return env;
    if (tools_dir) {
        snprintf(installed, sizeof installed, "%s/../share/synap/rules", tools_dir);
        if (is_dir(installed)) return installed;
    }
    return SYNAP_SOURCE_DIR "/rules";
}

/* ninja in PATH, or NULL. */
static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n) {
            char *dir = synap_xmalloc(n + 1);
            memcpy(dir, path, n);
            dir[n] = 0;
            char *p = synap_path_join(dir, name);
            free(dir);
            struct stat st;
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) return p;
            free(p);
        }
        path += n + (end != NULL);
    }
    return NULL;
}

/* ---- checks of the options ------------------------------------------------- */

static const char *path_ext(const char *p)
{
    const char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot : "";
}

static int check_model(const char *model, const char *weights, struct synap_err *err)
{
    struct stat st;
    if (stat(model, &st) < 0) return synap_errf(err, "%s: %s", model, strerror(errno));
    if (S_ISDIR(st.st_mode)) return synap_errf(err, "%s: is a directory, not a model", model);
    const char *ext = path_ext(model);
    static const char *const later[] = {".pt", ".pth", ".torchscript", ".pb", ".prototxt"};
    /* synap-import picks the importer by content */
    if (!strcasecmp(ext, ".onnx") || !strcasecmp(ext, ".tflite")) {
        if (weights) return synap_errf(err, "--weights: Caffe models are not supported yet");
        return 0;
    }
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (!strcasecmp(ext, later[i]))
            return synap_errf(err, "%s models are not supported yet", later[i]);
    return synap_errf(err,
                      "%s: unknown model format '%s' (expected .onnx, .tflite, .torchscript, .pt, "
                      ".pth, .pb or .prototxt)",
                      model, ext);
}

/* ---- the build files ------------------------------------------------------- */

static int write_fragments(struct synap_meta *m, const char *build, const char *target,
                           const char *out_format, struct synap_err *err)
{
    int q = synap_meta_has_quantization(m);
    const char *const *stages = q ? quant_stages : float_stages;
    size_t nstages = q ? NQUANT : NFLOAT;
    for (size_t i = 0; i < nstages; i++) {
        char *bytes = NULL;
        size_t n = 0;
        if (synap_meta_fragment(m, stages[i], target, out_format, &bytes, &n, err) < 0) return -1;
        char name[64];
        snprintf(name, sizeof name, "%s.json", stages[i]);
        char *p = synap_path_join(build, name);
        int rc = synap_file_write_atomic(p, bytes, n, err);
        free(p);
        free(bytes);
        if (rc < 0) return -1;
    }
    return 0;
}

/* calib.dataset: the files the dataset globs match now, one per line, glob
 * by glob (rewritten only when the list changes). The calib edge depends on
 * it: ninja's depfile names the images calibration read, so it sees an image
 * change but not a new file appearing in a folder; this list does. Expanding
 * the globs is all the driver does here; synap-calib expands them again
 * itself, checks them and reports a glob that matches nothing. */
static int write_dataset_list(const struct synap_meta *m, const char *build, struct synap_err *err)
{
    struct sbuf b = {0};
    sb_puts(&b, "");
    for (size_t i = 0; i < m->quant.ndataset; i++) {
        const char *pat = m->quant.dataset[i].path;
        sb_printf(&b, "# %s\n", pat);
        if (!strcmp(pat, "random")) continue;
        glob_t gl;
        memset(&gl, 0, sizeof gl);
        if (glob(pat, 0, NULL, &gl) == 0)
            for (size_t k = 0; k < gl.gl_pathc; k++) /* glob sorts them */
                sb_printf(&b, "%s\n", gl.gl_pathv[k]);
        globfree(&gl);
    }
    char *p = synap_path_join(build, "calib.dataset");
    int rc = synap_file_write_atomic(p, b.s, b.n, err);
    free(p);
    free(b.s);
    return rc;
}

struct ninja_vars {
    const char *tools_dir;
    const char *model;     /* absolute */
    const char *cache_dir; /* absolute, or relative to OUT/build */
    int nb;
    int quant;   /* the metafile has a quantization section */
    int entropy; /* ... with algorithm kl_divergence: quantization_entropy.txt */
};

static const char *const tools[] = {"import",    "prune",   "calib", "quant",
                                    "partition", "codegen", "pack",  "dump"};

static int check_tools(const char *tools_dir, struct synap_err *err)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "synap-%s", tools[i]);
        char *p = synap_path_join(tools_dir, name);
        int ok = access(p, X_OK) == 0;
        if (!ok) synap_errf(err, "stage tool %s not found next to synap (in %s)", name, tools_dir);
        free(p);
        if (!ok) return -1;
    }
    return 0;
}

static int append_template(struct sbuf *b, const char *rules, const char *name,
                           struct synap_err *err)
{
    char file[64];
    snprintf(file, sizeof file, "%s.ninja", name);
    char *p = synap_path_join(rules, file);
    struct synap_file f;
    int rc = synap_file_read(p, &f, err);
    if (rc < 0) {
        synap_err_prefix(err, "rule templates (set SYNAP_RULES_DIR)");
        free(p);
        return -1;
    }
    sb_printf(b, "\n# ---- %s\n", file);
    sb_add(b, (const char *)f.data, f.size);
    if (f.size && f.data[f.size - 1] != '\n') sb_puts(b, "\n");
    synap_file_close(&f);
    free(p);
    return 0;
}

static int write_build_ninja(const char *build, const char *rules, const struct ninja_vars *v,
                             int preserve, struct synap_err *err)
{
    struct sbuf b = {0};
    sb_puts(&b,
            "# Written by synap convert from the rules/NAME.ninja templates; rewritten by every\n"
            "# convert. This folder is the incremental state of OUT: keep it.\n"
            "ninja_required_version = 1.10\n\n");
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "synap-%s", tools[i]);
        char *p = synap_path_join(v->tools_dir, name);
        sb_printf(&b, "synap_%s = ", tools[i]);
        shell_word(&b, p);
        sb_printf(&b, "\nsynap_%s_path = ", tools[i]);
        ninja_value(&b, p);
        sb_puts(&b, "\n");
        free(p);
    }
    sb_puts(&b, "model = ");
    ninja_value(&b, v->model);
    sb_puts(&b, "\nstage_flags = --cache-dir ");
    shell_word(&b, v->cache_dir);
    sb_puts(&b, " --stage-log stages.log\n");
    /* synap-pack's outputs, in its -o order */
    static const char *const synap_outs[] = {"../model.synap", "../model_info.txt", NULL};
    static const char *const nb_outs[] = {"../model.nb", "../model_info.txt", "../model.json",
                                          NULL};
    const char *const *outs = v->nb ? nb_outs : synap_outs;
    sb_printf(&b, "pack_out0 = %s\npack_o =", outs[0]);
    for (size_t i = 0; outs[i]; i++)
        sb_printf(&b, " -o %s", outs[i]);
    sb_puts(&b, "\n");
    /* synap-quant's outputs: the IR, quantization_info.yaml, and with
     * kl_divergence quantization_entropy.txt (the number of -o decides) */
    static const char *const q_outs[] = {"30-quant.ir", "../quantization_info.yaml", NULL};
    static const char *const kl_outs[] = {"30-quant.ir", "../quantization_info.yaml",
                                          "../quantization_entropy.txt", NULL};
    const char *const *qouts = v->entropy ? kl_outs : q_outs;
    if (v->quant) {
        sb_puts(&b, "quant_o =");
        for (size_t i = 0; qouts[i]; i++)
            sb_printf(&b, " -o %s", qouts[i]);
        sb_puts(&b, "\n");
    }
    sb_printf(&b, "partition_in = %s\n", v->quant ? "30-quant.ir" : "10-prune.ir");
    size_t start = b.n;
    const char *const *stages = v->quant ? quant_stages : float_stages;
    size_t nstages = v->quant ? NQUANT : NFLOAT;
    for (size_t i = 0; i < nstages; i++)
        if (append_template(&b, rules, stages[i], err) < 0) goto fail;
    if (preserve && append_template(&b, rules, "preserve", err) < 0) goto fail;
    if (preserve && v->quant && append_template(&b, rules, "preserve-quant", err) < 0) goto fail;
    /* the textual substitutions: lists of paths on build lines */
    static const char *const tokens[] = {"@pack_outputs@", "@quant_outputs@"};
    for (size_t t = 0; t < 2; t++) {
        const char *const *list = t ? qouts : outs;
        char *text = synap_xstrdup(b.s + start);
        b.n = start;
        for (const char *s = text; *s;) {
            const char *at = strstr(s, tokens[t]);
            if (!at) {
                sb_puts(&b, s);
                break;
            }
            sb_add(&b, s, (size_t)(at - s));
            for (size_t i = 0; list[i]; i++)
                sb_printf(&b, "%s%s", i ? " " : "", list[i]);
            s = at + strlen(tokens[t]);
        }
        free(text);
    }
    char *p = synap_path_join(build, "build.ninja");
    int rc = synap_file_write_atomic(p, b.s, b.n, err);
    free(p);
    free(b.s);
    return rc;
fail:
    free(b.s);
    return -1;
}

/* ---- running ninja ------------------------------------------------------------ */

static int run_ninja(const char *ninja, const char *build, const struct synap_convert_opts *o,
                     struct sbuf *log, int *status, struct synap_err *err)
{
    char jobs[32];
    const char *argv[8];
    int argc = 0;
    argv[argc++] = ninja;
    argv[argc++] = "-C";
    argv[argc++] = build;
    if (o->jobs > 0) {
        snprintf(jobs, sizeof jobs, "-j%d", o->jobs);
        argv[argc++] = jobs;
    }
    if (o->verbose) argv[argc++] = "-v";
    argv[argc] = NULL;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return synap_errf_io(err, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return synap_errf_io(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* If synap dies (kill -9), ninja is told to stop and stops its stages;
         * their outputs are written atomically, so nothing half-written stays. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execv(ninja, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    for (;;) {
        ssize_t k = read(fds[0], buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        sb_add(log, buf, (size_t)k);
        if (o->output) o->output(o->output_ctx, buf, (size_t)k);
    }
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return synap_errf_io(err, "waitpid: %s", strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !log->n)
        return synap_errf_io(err, "cannot run %s", ninja);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(s, prefix, k);
}

/* A line a stage tool printed about itself: "synap-STAGE: ...". */
static int stage_line(const char *s, size_t n)
{
    if (!starts_with(s, n, "synap-")) return 0;
    for (size_t i = 6; i < n; i++) {
        if (s[i] == ':') return i + 1 < n && s[i + 1] == ' ';
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')) return 0;
    }
    return 0;
}

static int is_warning(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    return colon && starts_with(colon, n - (size_t)(colon - s), ": warning:");
}

/* Splits ninja's output: warnings (kept for the caller) and the failing
 * stages' messages (into msg). */
static void scan_log(const struct sbuf *log, struct sbuf *warnings, struct sbuf *msg,
                     struct sbuf *ninja_errors, struct sbuf *failed)
{
    const char *s = log->s ? log->s : "";
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (stage_line(s, n)) {
            struct sbuf *to = is_warning(s, n) ? warnings : msg;
            if (to->n && to != warnings) sb_puts(to, "\n");
            sb_add(to, s, n);
            if (to == warnings) sb_puts(to, "\n");
        } else if (starts_with(s, n, "ninja: error:")) {
            if (ninja_errors->n) sb_puts(ninja_errors, "\n");
            sb_add(ninja_errors, s, n);
        } else if (starts_with(s, n, "FAILED: ") && !failed->n) {
            sb_add(failed, s + 8, n - 8);
        }
        s += n + (e != NULL);
    }
}

/* ---- the conversion ------------------------------------------------------------ */

void synap_convert_result_free(struct synap_convert_result *r)
{
    if (!r) return;
    free(r->warnings);
    free(r->log);
    memset(r, 0, sizeof *r);
}

static void unlink_in(const char *dir, const char *name)
{
    char *p = synap_path_join(dir, name);
    unlink(p);
    free(p);
}

int synap_convert_run(const struct synap_convert_opts *o, struct synap_convert_result *r,
                      struct synap_err *err)
{
    struct synap_convert_result dummy;
    if (!r) r = &dummy;
    memset(r, 0, sizeof *r);
    int rc = -1, lock = -1;
    struct synap_meta *meta = NULL;
    struct synap_target *target = synap_xcalloc(1, sizeof *target);
    char *model = NULL, *build = NULL, *cache = NULL, *ninja = NULL, *tools_dir = NULL;
    struct sbuf log = {0}, warnings = {0}, msg = {0}, nerr = {0}, failed = {0};

    if (!o->model) {
        synap_errf(err, "--model is required");
        goto out;
    }
    if (!o->target) {
        synap_errf(err, "--target is required");
        goto out;
    }
    if (!o->out_dir || !*o->out_dir) {
        synap_errf(err, "--out-dir is required");
        goto out;
    }
    const char *out_format = o->out_format ? o->out_format : "synap";
    if (strcmp(out_format, "synap") && strcmp(out_format, "nb")) {
        synap_errf(err, "--out-format: expected synap or nb, got '%s'", out_format);
        goto out;
    }
    int nb = !strcmp(out_format, "nb");
    if (check_model(o->model, o->weights, err) < 0) goto out;
    if (synap_target_load(o->target, target, err) < 0) goto out;

    meta = synap_meta_load(o->meta, err);
    if (!meta) goto out;
    if (synap_meta_check_supported(meta, err) < 0) goto out;
    meta->profiling = o->profiling != 0;
    meta->model = o->model; /* model_info.txt names it (pack.json gets the file name) */

    if (o->tools_dir) {
        tools_dir = synap_xstrdup(o->tools_dir);
    } else {
        char dir[PATH_MAX];
        if (synap_exe_dir(dir, sizeof dir, err) < 0) goto out;
        tools_dir = synap_xstrdup(dir);
    }
    if (check_tools(tools_dir, err) < 0) goto out;
    ninja = find_in_path("ninja");
    if (!ninja) {
        synap_errf(err, "ninja not found in PATH (install the Debian package ninja-build)");
        goto out;
    }
    model = realpath(o->model, NULL);
    if (!model) {
        synap_errf(err, "%s: %s", o->model, strerror(errno));
        goto out;
    }
    if (strchr(model, '\n')) {
        synap_errf(err, "%s: a model path may not hold a newline", o->model);
        goto out;
    }

    /* OUT/build and the lock that keeps two converts of one OUT apart. The
     * descriptor is inherited by ninja and the stages (no O_CLOEXEC): after a
     * kill -9 of synap the next convert waits until they are gone too. */
    build = synap_path_join(o->out_dir, "build");
    if (synap_mkdirs(build, err) < 0) goto out;
    {
        char *lp = synap_path_join(build, ".lock");
        lock = open(lp, O_RDWR | O_CREAT, 0644);
        free(lp);
        if (lock < 0 || flock(lock, LOCK_EX) < 0) {
            synap_errf_io(err, "%s/.lock: %s", build, strerror(errno));
            goto out;
        }
    }

    /* The cache: --cache-dir, $SYNAP_CACHE_DIR, else OUT/cache (written
     * relative to OUT/build so that OUT can move). */
    const char *cache_opt = o->cache_dir;
    if (!cache_opt || !*cache_opt) cache_opt = getenv("SYNAP_CACHE_DIR");
    char *cache_check;
    if (cache_opt && *cache_opt) {
        cache = abs_path(cache_opt, err);
        if (!cache) goto out;
        cache_check = synap_xstrdup(cache);
    } else {
        cache = synap_xstrdup("../cache");
        cache_check = synap_path_join(o->out_dir, "cache");
    }
    {
        struct synap_err e2 = {0};
        const char *why = NULL;
        if (synap_mkdirs(cache_check, &e2) < 0) {
            /* "PATH: cannot create directory: REASON" -> REASON */
            const char *colon = strrchr(e2.msg, ':');
            why = colon && colon[1] == ' ' ? colon + 2 : e2.msg;
        } else if (access(cache_check, W_OK) < 0) {
            why = strerror(errno);
        }
        int bad = why != NULL;
        if (bad) synap_errf(err, "cache directory %s is not writable: %s", cache_check, why);
        free(cache_check);
        if (bad) goto out;
    }

    if (write_fragments(meta, build, target->name, out_format, err) < 0) goto out;
    int quant = synap_meta_has_quantization(meta);
    int entropy = quant && !strcmp(meta->quant.algorithm, "kl_divergence");
    if (quant && write_dataset_list(meta, build, err) < 0) goto out;
    struct ninja_vars vars = {.tools_dir = tools_dir,
                              .model = model,
                              .cache_dir = cache,
                              .nb = nb,
                              .quant = quant,
                              .entropy = entropy};
    if (write_build_ninja(build, o->rules_dir ? o->rules_dir : synap_rules_dir(tools_dir), &vars,
                          o->preserve, err) < 0)
        goto out;
    {
        /* stages.log lists the stages this convert ran */
        char *lp = synap_path_join(build, "stages.log");
        int fd = open(lp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        free(lp);
        if (fd < 0) {
            synap_errf_io(err, "%s/stages.log: %s", build, strerror(errno));
            goto out;
        }
        close(fd);
    }

    int status = 0;
    r->ran_ninja = 1;
    if (run_ninja(ninja, build, o, &log, &status, err) < 0) goto out;
    scan_log(&log, &warnings, &msg, &nerr, &failed);
    if (status != 0) {
        if (msg.n)
            synap_errf(err, "%s", msg.s);
        else if (nerr.n)
            synap_errf(err, "%s", nerr.s);
        else if (failed.n)
            synap_errf(err, "stage failed without a message (exit status %d): %s", status,
                       failed.s);
        else
            synap_errf(err, "ninja failed (exit status %d)", status);
        goto out;
    }

    /* Files of another out format or an earlier --preserve would mislead. */
    if (nb) {
        unlink_in(o->out_dir, "model.synap");
    } else {
        unlink_in(o->out_dir, "model.nb");
        unlink_in(o->out_dir, "model.json");
    }
    /* ... and so would the quantization reports of an earlier quantized convert */
    if (!quant) unlink_in(o->out_dir, "quantization_info.yaml");
    if (!entropy) unlink_in(o->out_dir, "quantization_entropy.txt");
    if (!o->preserve || !quant) unlink_in(build, "30-quant.txt");
    if (!o->preserve) {
        static const char *const dumps[] = {"00-import.txt", "10-prune.txt", "50-partition.txt",
                                            "60-codegen.txt"};
        for (size_t i = 0; i < sizeof dumps / sizeof dumps[0]; i++)
            unlink_in(build, dumps[i]);
    }
    rc = 0;
out:
    if (rc != 0 && o->out_dir && *o->out_dir && !(err->code == SYNAP_EIO && lock < 0)) {
        /* A failed convert leaves no model behind: an earlier one in the
         * out-dir would pass for this convert's result (ninja rebuilds the
         * missing files, from the cache, next time). Only in an out-dir an
         * earlier convert made (OUT/build exists), under its lock. */
        char *b = synap_path_join(o->out_dir, "build"), *lp = synap_path_join(b, ".lock");
        struct stat st;
        int fd = lock;
        if (fd < 0 && stat(b, &st) == 0 && S_ISDIR(st.st_mode)) {
            fd = open(lp, O_RDWR | O_CLOEXEC);
            if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
                close(fd);
                fd = -1;
            }
        }
        if (fd >= 0) {
            static const char *const outs[] = {"model.synap",    "model.nb",
                                               "model.json",     "model_info.txt",
                                               "quantization_info.yaml", "quantization_entropy.txt"};
            for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
                unlink_in(o->out_dir, outs[i]);
            if (fd != lock) close(fd);
        }
        free(b);
        free(lp);
    }
    if (r != &dummy) {
        r->warnings = warnings.s;
        warnings.s = NULL;
        r->log = log.s ? log.s : synap_xstrdup("");
        r->nlog = log.n;
        log.s = NULL;
    }
    free(warnings.s);
    free(log.s);
    free(msg.s);
    free(nerr.s);
    free(failed.s);
    if (lock >= 0) close(lock);
    synap_meta_free(meta);
    free(target);
    free(model);
    free(build);
    free(cache);
    free(ninja);
    free(tools_dir);
    return rc;
}
