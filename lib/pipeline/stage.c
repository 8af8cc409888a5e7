/* The common main of every stage tool: arguments, merged options, inputs,
 * the content-addressed cache, atomic outputs, depfile and stage log
 * (contract: convert-design.md §1). This is a tool's main() that happens to
 * live in the library, so it prints its messages and returns exit statuses. */
#include "pipeline/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"
#include "util/jsonw.h"

struct flag_value {
    const struct synap_stage_flag *flag;
    const char *value; /* NULL for BOOL */
};

struct args {
    const char **inputs;
    size_t ninputs;
    const char *outputs[SYNAP_STAGE_MAX_OUTPUTS];
    size_t noutputs;
    const char *options_path, *cache_dir, *depfile, *stage_log;
    int verbose;
    struct flag_value *fv;
    size_t nfv;
};

static int say(const struct synap_stage_desc *d, int code, const char *fmt, ...) SYNAP_PRINTF(3, 4);
static int say(const struct synap_stage_desc *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "synap-%s: ", d->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static int say_err(const struct synap_stage_desc *d, const struct synap_err *err)
{
    return say(d, err->code == SYNAP_EIO ? 2 : 1, "%s", err->msg[0] ? err->msg : "failed");
}

/* ---- help ------------------------------------------------------------------ */
static void print_synopsis(const struct synap_stage_desc *d, FILE *out)
{
    fprintf(out, "usage: synap-%s", d->name);
    if (d->min_inputs == 1 && d->max_inputs == 1) {
        fputs(" [INPUT]", out);
    } else {
        for (size_t i = 0; i < d->min_inputs; i++)
            fputs(" INPUT", out);
        if (d->max_inputs > d->min_inputs) fputs(" [INPUT...]", out);
    }
    if (d->noutputs == 1)
        fputs(" [-o OUTPUT]", out);
    else
        for (size_t i = 0; i < d->noutputs; i++)
            fprintf(out, " -o OUTPUT%zu", i);
    fputs(" [--options FILE.json] [stage options]\n", out);
    fprintf(out,
            "       %*s [--cache-dir DIR] [-M DEPFILE] [--stage-log FILE] [-v]"
            " [--help] [--version]\n",
            (int)strlen(d->name) + 6, "");
}

/* A flag's help is "METAVAR  description" (BOOL flags: the description). */
static void split_help(const struct synap_stage_flag *f, char *meta, size_t cap, const char **desc)
{
    const char *h = f->help ? f->help : "";
    meta[0] = 0;
    *desc = h;
    if (f->kind == SYNAP_FLAG_BOOL) return;
    const char *sep = strstr(h, "  ");
    size_t n = sep ? (size_t)(sep - h) : strlen(h);
    if (n >= cap) n = cap - 1;
    memcpy(meta, h, n);
    meta[n] = 0;
    if (!n) snprintf(meta, cap, "VALUE");
    *desc = sep ? sep : "";
    while (**desc == ' ')
        (*desc)++;
}

static void print_help(const struct synap_stage_desc *d)
{
    print_synopsis(d, stdout);
    printf("\n%s\n", d->summary ? d->summary : "");
    if (d->nflags) printf("\nStage options (each sets one key of the options object):\n");
    for (size_t i = 0; i < d->nflags; i++) {
        char meta[64], left[128];
        const char *desc;
        split_help(&d->flags[i], meta, sizeof meta, &desc);
        snprintf(left, sizeof left, "--%s%s%s", d->flags[i].name, meta[0] ? " " : "", meta);
        printf("  %-26s %s\n", left, desc);
    }
    printf("\nCommon options:\n"
           "  %-26s %s\n  %-26s %s\n  %-26s %s\n  %-26s %s\n  %-26s %s\n  %-26s %s\n"
           "  --help, --version\n",
           "-o FILE", "output file (default '-': stdout, never a terminal)", "--options FILE.json",
           "options object, merged with the stage options above", "--cache-dir DIR",
           "content-addressed result cache (default: $SYNAP_CACHE_DIR)", "-M DEPFILE",
           "write a Makefile-style depfile of every file read", "--stage-log FILE",
           "append '<stage> computed|cached <ms>' to FILE", "-v, --verbose",
           "report the cache key and hit or miss on stderr");
    printf("\nINPUT '-' reads stdin. Exit status: 0 ok, 1 bad input or options, "
           "2 I/O or internal error.\n");
}

/* ---- arguments --------------------------------------------------------------- */
static int unknown_option(const struct synap_stage_desc *d, const char *a)
{
    say(d, 1, "unknown option '%s' (see --help)", a);
    print_synopsis(d, stderr);
    return 1;
}

/* Matches "--name" or "--name=VALUE" against an option name; *inline_val
 * receives VALUE (or NULL). */
static int match_long(const char *a, const char *name, const char **inline_val)
{
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) || strncmp(a + 2, name, n)) return 0;
    if (a[2 + n] == 0) {
        *inline_val = NULL;
        return 1;
    }
    if (a[2 + n] == '=') {
        *inline_val = a + 3 + n;
        return 1;
    }
    return 0;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(const struct synap_stage_desc *d, int argc, char **argv, struct args *a)
{
    static const char *const valued[] = {"options", "cache-dir", "stage-log"};
    int only_inputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = NULL;
        if (only_inputs || s[0] != '-' || !strcmp(s, "-")) {
            a->inputs[a->ninputs++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_inputs = 1;
            continue;
        }
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            print_help(d);
            return 0;
        }
        if (!strcmp(s, "--version")) {
            printf("synap-%s %s\n", d->name, SYNAP_VERSION);
            return 0;
        }
        if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
            a->verbose = 1;
            continue;
        }
        if (!strcmp(s, "-o") || !strcmp(s, "-M")) {
            if (++i == argc) return say(d, 1, "%s needs a file name", s);
            if (s[1] == 'M') {
                a->depfile = argv[i];
            } else {
                if (a->noutputs == d->noutputs || a->noutputs == SYNAP_STAGE_MAX_OUTPUTS)
                    return say(d, 1, "too many outputs: -o given more than %zu time%s", d->noutputs,
                               d->noutputs == 1 ? "" : "s");
                a->outputs[a->noutputs++] = argv[i];
            }
            continue;
        }
        int done = 0;
        for (size_t k = 0; k < sizeof valued / sizeof *valued && !done; k++) {
            if (!match_long(s, valued[k], &val)) continue;
            if (!val) {
                if (++i == argc) return say(d, 1, "--%s needs a value", valued[k]);
                val = argv[i];
            }
            if (k == 0) a->options_path = val;
            if (k == 1) a->cache_dir = val;
            if (k == 2) a->stage_log = val;
            done = 1;
        }
        for (size_t k = 0; k < d->nflags && !done; k++) {
            const struct synap_stage_flag *f = &d->flags[k];
            if (!match_long(s, f->name, &val)) continue;
            if (f->kind == SYNAP_FLAG_BOOL) {
                if (val) return say(d, 1, "--%s takes no value", f->name);
            } else if (!val) {
                if (++i == argc) {
                    char meta[64];
                    const char *desc;
                    split_help(f, meta, sizeof meta, &desc);
                    return say(d, 1, "--%s needs a value (%s)", f->name, meta);
                }
                val = argv[i];
            }
            a->fv[a->nfv].flag = f;
            a->fv[a->nfv].value = val;
            a->nfv++;
            done = 1;
        }
        if (!done) return unknown_option(d, s);
    }
    return -1;
}

/* ---- options ---------------------------------------------------------------- */
static struct synap_json *new_value(struct synap_arena *ar, enum synap_json_type t)
{
    struct synap_json *v = synap_arena_alloc(ar, sizeof *v);
    v->type = t;
    return v;
}

static const struct synap_json *new_string(struct synap_arena *ar, const char *s)
{
    struct synap_json *v = new_value(ar, SYNAP_JSON_STRING);
    v->s = synap_arena_strdup(ar, s);
    v->slen = strlen(s);
    return v;
}

/* The options file's object with every flag applied in order. */
static const struct synap_json *merge_options(const struct synap_stage_desc *d,
                                              const struct args *a, const struct synap_json *base,
                                              struct synap_arena *ar, struct synap_err *err)
{
    size_t cap = synap_json_length(base) + a->nfv + 1;
    const char **keys = synap_arena_alloc(ar, cap * sizeof *keys);
    const struct synap_json **vals = synap_arena_alloc(ar, cap * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; base && i < base->n; i++) {
        keys[n] = base->keys[i];
        vals[n++] = base->items[i];
    }
    for (size_t i = 0; i < a->nfv; i++) {
        const struct synap_stage_flag *f = a->fv[i].flag;
        const char *s = a->fv[i].value;
        size_t k = 0;
        while (k < n && strcmp(keys[k], f->key))
            k++;
        const struct synap_json *v = NULL;
        switch (f->kind) {
        case SYNAP_FLAG_STRING:
            v = new_string(ar, s);
            break;
        case SYNAP_FLAG_BOOL: {
            struct synap_json *b = new_value(ar, SYNAP_JSON_BOOL);
            b->b = true;
            v = b;
            break;
        }
        case SYNAP_FLAG_INT: {
            char *end;
            errno = 0;
            long long x = strtoll(s, &end, 10);
            if (!*s || *end || errno || x > (1LL << 53) || x < -(1LL << 53)) {
                synap_errf(err, "bad --%s '%s' (expected an integer)", f->name, s);
                return NULL;
            }
            struct synap_json *num = new_value(ar, SYNAP_JSON_NUMBER);
            num->num = (double)x;
            v = num;
            break;
        }
        case SYNAP_FLAG_LIST: {
            const struct synap_json *old = k < n ? vals[k] : NULL;
            if (old && !synap_json_is_array(old)) {
                synap_errf(err, "%s: option '%s' is %s %s, --%s cannot add to it",
                           a->options_path ? a->options_path : "options", f->key,
                           old->type == SYNAP_JSON_ARRAY || old->type == SYNAP_JSON_OBJECT ? "an"
                                                                                           : "a",
                           synap_json_type_name(old->type), f->name);
                return NULL;
            }
            size_t m = synap_json_length(old);
            struct synap_json *arr = new_value(ar, SYNAP_JSON_ARRAY);
            const struct synap_json **items = synap_arena_alloc(ar, (m + 1) * sizeof *items);
            for (size_t j = 0; j < m; j++)
                items[j] = old->items[j];
            items[m] = new_string(ar, s);
            arr->items = items;
            arr->n = m + 1;
            v = arr;
            break;
        }
        }
        if (k == n) keys[n++] = f->key;
        vals[k] = v;
    }
    (void)d;
    struct synap_json *obj = new_value(ar, SYNAP_JSON_OBJECT);
    obj->keys = keys;
    obj->items = vals;
    obj->n = n;
    return obj;
}

/* ---- depfile and stage log ------------------------------------------------ */
/* Makefile escaping as ninja's and GNU make's depfile readers undo it. */
static void dep_append(char **buf, size_t *n, size_t *cap, const char *s)
{
    size_t need = *n + 2 * strlen(s) + 4;
    if (need > *cap) {
        *cap = need * 2;
        *buf = synap_xrealloc(*buf, *cap);
    }
    for (; *s; s++) {
        if (*s == ' ' || *s == '#') {
            (*buf)[(*n)++] = '\\';
            (*buf)[(*n)++] = *s;
        } else if (*s == '$') {
            (*buf)[(*n)++] = '$';
            (*buf)[(*n)++] = '$';
        } else {
            (*buf)[(*n)++] = *s;
        }
    }
}

static int write_depfile(const char *path, const char *target, const char *const *files,
                         size_t nfiles, struct synap_err *err)
{
    size_t n = 0, cap = 256;
    char *buf = synap_xmalloc(cap);
    dep_append(&buf, &n, &cap, target);
    buf[n++] = ':';
    for (size_t i = 0; i < nfiles; i++) {
        buf[n++] = ' ';
        dep_append(&buf, &n, &cap, files[i]);
    }
    buf[n++] = '\n';
    int rc = synap_file_write_atomic(path, buf, n, err);
    free(buf);
    return rc;
}

static int append_log(const char *path, const char *line, struct synap_err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) return synap_errf_io(err, "%s: cannot open: %s", path, strerror(errno));
    size_t n = strlen(line);
    ssize_t w = write(fd, line, n); /* one write: lines of concurrent stages never interleave */
    int e = errno;
    if (close(fd) < 0 && w >= 0) {
        w = -1;
        e = errno;
    }
    if (w != (ssize_t)n)
        return synap_errf_io(err, "%s: write error: %s", path, w < 0 ? strerror(e) : "short write");
    return 0;
}

/* ---- warnings ------------------------------------------------------------ */
void synap_stage_warn(struct synap_stage_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) len = 0;
    c->warnings = synap_xrealloc(c->warnings, c->warnings_n + (size_t)len + 2);
    char *line = c->warnings + c->warnings_n;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)len + 1, fmt, ap);
    va_end(ap);
    for (int i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[len] = '\n';
    c->warnings_n += (size_t)len + 1;
}

/* Prints the lines of a warnings buffer, computed or from the cache entry
 * (whose bytes the MANIFEST vouched for; a last line without its newline
 * still prints as one line). */
static void print_warnings(const struct synap_stage_desc *d, const char *w, size_t n)
{
    while (n) {
        const char *nl = memchr(w, '\n', n);
        size_t len = nl ? (size_t)(nl - w) : n;
        fprintf(stderr, "synap-%s: warning: %.*s\n", d->name, (int)len, w);
        if (!nl) break;
        n -= len + 1;
        w = nl + 1;
    }
}

/* ---- main ------------------------------------------------------------------- */
/* SHA-256 of this executable, hex. Hashing the binary costs ~10 ms, so the
 * result is kept in CACHE/exe/<device>-<inode>-<size>-<mtime>: a rebuilt
 * binary has a new name there and is hashed again. Memo failures (a
 * read-only cache) only cost the hashing. -1 when /proc/self/exe is
 * unreadable. */
static int exe_hash(const char *cache_dir, char hex[65])
{
    struct stat st;
    char memo[4096] = "";
    if (cache_dir && stat("/proc/self/exe", &st) == 0)
        snprintf(memo, sizeof memo, "%s/exe/%llx-%llx-%llx-%lld.%09ld", cache_dir,
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
                 (long)st.st_mtim.tv_nsec);
    struct synap_file f;
    struct synap_err ignore = {0};
    if (*memo && synap_file_read(memo, &f, &ignore) == 0) {
        bool ok = f.size == 64;
        for (size_t i = 0; ok && i < 64; i++) {
            char ch = ((const char *)f.data)[i];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        }
        if (ok) {
            memcpy(hex, f.data, 64);
            hex[64] = 0;
        }
        synap_file_close(&f);
        if (ok) return 0;
    }
    if (synap_file_read("/proc/self/exe", &f, &ignore) < 0) return -1;
    synap_sha256_hex(f.data, f.size, hex);
    synap_file_close(&f);
    if (*memo) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/exe", cache_dir);
        if (synap_mkdirs(dir, &ignore) == 0) synap_file_write_atomic(memo, hex, 64, &ignore);
    }
    return 0;
}

int synap_stage_main(const struct synap_stage_desc *d, int argc, char **argv)
{
    double t0 = synap_now_ms();
    struct args a = {0};
    struct synap_err err = {0};
    struct synap_arena *ar = synap_arena_new();
    struct synap_file *in = NULL;
    struct synap_file cached[SYNAP_STAGE_MAX_OUTPUTS], cached_warnings = {0};
    memset(cached, 0, sizeof cached);
    struct synap_cache *cache = NULL;
    char *canon = NULL;
    int hit = 0, corrupt = 0, rc = 2;
    const char **extra = NULL;
    size_t nextra = 0;
    struct synap_stage_ctx ctx = {0};

    if (d->noutputs < 1 || d->noutputs > SYNAP_STAGE_MAX_OUTPUTS) {
        rc = say(d, 2, "internal error: %zu outputs declared", d->noutputs);
        goto out;
    }
    a.inputs = synap_arena_alloc(ar, (size_t)(argc + 1) * sizeof *a.inputs);
    a.fv = synap_arena_alloc(ar, (size_t)(argc + 1) * sizeof *a.fv);
    rc = parse_args(d, argc, argv, &a);
    if (rc >= 0) goto out;

    /* inputs: none given to a one-input stage = stdin (but not a terminal) */
    if (a.ninputs == 0 && d->min_inputs == 1) {
        if (isatty(STDIN_FILENO)) {
            print_synopsis(d, stderr);
            rc = 1;
            goto out;
        }
        a.inputs[a.ninputs++] = "-";
    }
    if (a.ninputs < d->min_inputs || a.ninputs > d->max_inputs) {
        if (d->min_inputs == d->max_inputs)
            rc = say(d, 1, "expected %zu input%s, got %zu", d->min_inputs,
                     d->min_inputs == 1 ? "" : "s", a.ninputs);
        else
            rc = say(d, 1, "expected %zu to %zu inputs, got %zu", d->min_inputs, d->max_inputs,
                     a.ninputs);
        goto out;
    }
    size_t nstdin = 0;
    for (size_t i = 0; i < a.ninputs; i++)
        nstdin += !strcmp(a.inputs[i], "-");
    if (nstdin > 1) {
        rc = say(d, 1, "stdin ('-') given as more than one input");
        goto out;
    }
    /* outputs: a one-output stage writes stdout by default */
    if (a.noutputs == 0 && d->noutputs == 1) a.outputs[a.noutputs++] = "-";
    if (a.noutputs != d->noutputs) {
        rc = say(d, 1, "expected %zu outputs (-o given %zu time%s)", d->noutputs, a.noutputs,
                 a.noutputs == 1 ? "" : "s");
        goto out;
    }
    size_t nstdout = 0;
    for (size_t i = 0; i < a.noutputs; i++)
        nstdout += !strcmp(a.outputs[i], "-");
    if (nstdout > 1) {
        rc = say(d, 1, "stdout ('-') given as more than one output");
        goto out;
    }
    if (nstdout && isatty(STDOUT_FILENO)) {
        rc = say(d, 1, "refusing to write binary output to a terminal (use -o FILE)");
        goto out;
    }

    /* options: the file's object, then the flags, canonicalized */
    const struct synap_json *base = NULL;
    if (a.options_path) {
        base = synap_json_read(ar, a.options_path, &err);
        if (!base) {
            rc = say_err(d, &err);
            goto out;
        }
        if (!synap_json_is_object(base)) {
            rc = say(d, 1, "%s: options must be a JSON object, not %s", a.options_path,
                     synap_json_type_name(base->type));
            goto out;
        }
    }
    const struct synap_json *opts = merge_options(d, &a, base, ar, &err);
    if (!opts) {
        rc = say_err(d, &err);
        goto out;
    }
    struct synap_jw w;
    synap_jw_init(&w, 0);
    synap_jw_canonical(&w, opts);
    size_t canon_n;
    canon = synap_jw_finish(&w, &canon_n);

    /* inputs, read once: the key hashes them and compute uses them */
    in = synap_xcalloc(a.ninputs + 1, sizeof *in);
    for (size_t i = 0; i < a.ninputs; i++) {
        if (synap_file_read(a.inputs[i], &in[i], &err) < 0) {
            rc = say_err(d, &err);
            goto out;
        }
    }
    ctx.inputs = a.inputs;
    ctx.ninputs = a.ninputs;
    ctx.input_data = in;
    ctx.options = opts;
    ctx.arena = ar;
    ctx.err = &err;
    ctx.verbose = a.verbose;

    if (d->extra_files && d->extra_files(&ctx, &extra, &nextra) < 0) {
        rc = say_err(d, &err);
        goto out;
    }
    const char *cache_dir = a.cache_dir;
    if (!cache_dir) {
        const char *e = getenv("SYNAP_CACHE_DIR");
        if (e && *e) cache_dir = e;
    }
    /* the key (hashing every byte read) only when someone uses it */
    char hex[65] = "";
    if (cache_dir || a.verbose) {
        char tool[64];
        snprintf(tool, sizeof tool, "synap-%s", d->name);
        /* the version and the executable's own bytes: a rebuilt tool that
         * computes something else never reuses an older build's entries */
        char version[128], h[65];
        if (exe_hash(cache_dir, h) == 0)
            snprintf(version, sizeof version, "%s %s", SYNAP_VERSION, h);
        else
            snprintf(version, sizeof version, "%s", SYNAP_VERSION);
        struct synap_cache_key key;
        synap_cache_key_init(&key, tool, version, canon, canon_n);
        for (size_t i = 0; i < a.ninputs; i++)
            synap_cache_key_add(&key, in[i].data, in[i].size);
        for (size_t i = 0; i < nextra; i++) {
            struct synap_file f;
            if (synap_file_read(extra[i], &f, &err) < 0) {
                rc = say_err(d, &err);
                goto out;
            }
            synap_cache_key_add(&key, f.data, f.size);
            synap_file_close(&f);
        }
        synap_cache_key_final(&key, hex);
    }
    if (cache_dir) {
        cache = synap_cache_open(cache_dir, &err);
        if (!cache) {
            rc = say_err(d, &err);
            goto out;
        }
        hit = synap_cache_lookup(cache, hex, d->noutputs, cached, &cached_warnings, &corrupt, &err);
        if (hit < 0) {
            rc = say_err(d, &err);
            goto out;
        }
    }
    if (a.verbose)
        fprintf(stderr, "synap-%s: key %s: %s\n", d->name, hex,
                !cache    ? "no cache"
                : hit     ? "cached"
                : corrupt ? "corrupt entry removed, computing"
                          : "computing");
    const uint8_t *outp[SYNAP_STAGE_MAX_OUTPUTS];
    size_t outn[SYNAP_STAGE_MAX_OUTPUTS];
    if (hit) {
        for (size_t i = 0; i < d->noutputs; i++) {
            outp[i] = cached[i].data;
            outn[i] = cached[i].size;
        }
        /* the warnings computing printed, replayed */
        print_warnings(d, (const char *)cached_warnings.data, cached_warnings.size);
    } else {
        int crc = d->compute(&ctx);
        /* what it warned about before failing may explain the failure */
        print_warnings(d, ctx.warnings, ctx.warnings_n);
        if (crc < 0) {
            rc = say_err(d, &err);
            goto out;
        }
        for (size_t i = 0; i < d->noutputs; i++) {
            outp[i] = ctx.out[i] ? ctx.out[i] : (const uint8_t *)"";
            outn[i] = ctx.out[i] ? ctx.out_n[i] : 0;
        }
        /* stored before the outputs are written: a failure leaves no output */
        if (cache && synap_cache_store(cache, hex, d->noutputs, outp, outn, ctx.warnings,
                                       ctx.warnings_n, &err) < 0) {
            rc = say_err(d, &err);
            goto out;
        }
    }
    for (size_t i = 0; i < d->noutputs; i++) {
        if (synap_file_write_atomic(a.outputs[i], outp[i], outn[i], &err) < 0) {
            rc = say(d, 2, "%s", err.msg);
            goto out;
        }
    }
    if (a.depfile) {
        const char **files = synap_arena_alloc(ar, (a.ninputs + nextra + 2) * sizeof *files);
        size_t nf = 0;
        for (size_t i = 0; i < a.ninputs; i++)
            if (strcmp(a.inputs[i], "-")) files[nf++] = a.inputs[i];
        if (a.options_path) files[nf++] = a.options_path;
        for (size_t i = 0; i < nextra; i++)
            files[nf++] = extra[i];
        if (write_depfile(a.depfile, a.outputs[0], files, nf, &err) < 0) {
            rc = say(d, 2, "%s", err.msg);
            goto out;
        }
    }
    if (a.stage_log) {
        char line[128];
        snprintf(line, sizeof line, "%s %s %.1f\n", d->name, hit ? "cached" : "computed",
                 synap_now_ms() - t0);
        if (append_log(a.stage_log, line, &err) < 0) {
            rc = say(d, 2, "%s", err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < SYNAP_STAGE_MAX_OUTPUTS; i++) {
        free(ctx.out[i]);
        synap_file_close(&cached[i]);
    }
    synap_file_close(&cached_warnings);
    free(ctx.warnings);
    for (size_t i = 0; in && i < a.ninputs; i++)
        synap_file_close(&in[i]);
    free(in);
    free(canon);
    synap_cache_close(cache);
    synap_arena_free(ar);
    fflush(stdout);
    return rc;
}
