/* stage: synap_stage_main in-process with a toy stage: merged options,
 * cache miss/hit, warnings replayed from the cache, stage log, depfile,
 * errors that leave nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/stage.h"
#include "util/jsonw.h"

static char root[256];
static int ncomputed;
static const char *extra_path; /* the toy stage's extra file, when set */

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/synap-test-stage.XXXXXX", t && *t ? t : "/tmp");
    unsetenv("SYNAP_CACHE_DIR");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static char *sub(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, name);
    return buf[k];
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

/* The file's text (static buffer), or NULL when it does not exist. */
static const char *read_text(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* ---- the toy stage: out0 = canonical options + "|" + inputs concatenated;
 * out1 = the number of inputs. Each "warn" item is a warning (before a
 * failure too); option "fail" makes it fail. */
static int toy_compute(struct synap_stage_ctx *c)
{
    ncomputed++;
    const struct synap_json *warn = synap_json_get(c->options, "warn");
    for (size_t i = 0; i < synap_json_length(warn); i++)
        synap_stage_warn(c, "toy says %s", warn->items[i]->s);
    if (synap_json_get(c->options, "fail"))
        return synap_errf(c->err, "%s: the toy stage was told to fail", c->inputs[0]);
    struct synap_jw w;
    synap_jw_init(&w, 0);
    synap_jw_canonical(&w, c->options);
    size_t n;
    char *opts = synap_jw_finish(&w, &n);
    size_t total = n + 1;
    for (size_t i = 0; i < c->ninputs; i++)
        total += c->input_data[i].size;
    uint8_t *o = malloc(total);
    memcpy(o, opts, n);
    o[n] = '|';
    size_t off = n + 1;
    for (size_t i = 0; i < c->ninputs; i++) {
        memcpy(o + off, c->input_data[i].data, c->input_data[i].size);
        off += c->input_data[i].size;
    }
    free(opts);
    c->out[0] = o;
    c->out_n[0] = total;
    char *cnt = malloc(8);
    c->out_n[1] = (size_t)snprintf(cnt, 8, "%zu", c->ninputs);
    c->out[1] = (uint8_t *)cnt;
    return 0;
}

static int toy_extra(struct synap_stage_ctx *c, const char ***paths, size_t *n)
{
    static const char *p[1];
    (void)c;
    p[0] = extra_path;
    *paths = p;
    *n = extra_path ? 1 : 0;
    return 0;
}

static const struct synap_stage_flag toy_flags[] = {
    {"name", "name", SYNAP_FLAG_STRING, "NAME  a string"},
    {"item", "items", SYNAP_FLAG_LIST, "X  appended to items"},
    {"count", "count", SYNAP_FLAG_INT, "N  a number"},
    {"on", "on", SYNAP_FLAG_BOOL, "a boolean"},
    {"fail", "fail", SYNAP_FLAG_BOOL, "fail"},
    {"warn", "warn", SYNAP_FLAG_LIST, "TEXT  a warning (repeatable)"},
};

static const struct synap_stage_desc toy = {
    .name = "toy",
    .summary = "a stage for tests",
    .min_inputs = 1,
    .max_inputs = 2,
    .noutputs = 2,
    .flags = toy_flags,
    .nflags = sizeof toy_flags / sizeof *toy_flags,
    .extra_files = toy_extra,
    .compute = toy_compute,
};

/* Runs the toy stage with a NULL-terminated argument list. */
static int run(const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "synap-toy";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return synap_stage_main(&toy, argc, argv);
}

static void test_options_merge(void **state)
{
    (void)state;
    write_text(sub("in1"), "AB");
    write_text(sub("in2"), "cd");
    write_text(
        sub("o.json"),
        "{\"z\": 2.5, \"items\": [\"p\"], \"name\": \"old\", \"n\": {\"b\": 1, \"a\": null}}");
    assert_int_equal(run(sub("in1"), sub("in2"), "-o", sub("m0"), "-o", sub("m1"), "--options",
                         sub("o.json"), "--name", "new", "--item", "q", "--item=r", "--count", "-7",
                         "--on", NULL),
                     0);
    assert_string_equal(read_text(sub("m0")),
                        "{\"count\":-7,\"items\":[\"p\",\"q\",\"r\"],\"n\":{\"a\":null,\"b\":1},"
                        "\"name\":\"new\",\"on\":true,\"z\":2.5}|ABcd");
    assert_string_equal(read_text(sub("m1")), "2");
    /* no options at all: {} */
    assert_int_equal(run(sub("in1"), "-o", sub("m0"), "-o", sub("m1"), NULL), 0);
    assert_string_equal(read_text(sub("m0")), "{}|AB");
}

static void test_cache_log_depfile(void **state)
{
    (void)state;
    write_text(sub("a b"), "input");
    write_text(sub("opts.json"), "{}");
    write_text(sub("extra.txt"), "E1");
    static char extra_buf[512];
    snprintf(extra_buf, sizeof extra_buf, "%s", sub("extra.txt"));
    extra_path = extra_buf;
    ncomputed = 0;
    for (int i = 0; i < 2; i++)
        assert_int_equal(run(sub("a b"), "-o", sub("x0"), "-o", sub("x1"), "--options",
                             sub("opts.json"), "--cache-dir", sub("cache"), "--stage-log",
                             sub("log"), "-M", sub("x.d"), NULL),
                         0);
    assert_int_equal(ncomputed, 1);
    assert_string_equal(read_text(sub("x0")), "{}|input");
    /* the log: one line per run, "<stage> computed|cached <ms with 1 decimal>" */
    regex_t re;
    assert_int_equal(
        regcomp(&re, "^toy computed [0-9]+\\.[0-9]\ntoy cached [0-9]+\\.[0-9]\n$", REG_EXTENDED),
        0);
    assert_int_equal(regexec(&re, read_text(sub("log")), 0, NULL, 0), 0);
    regfree(&re);
    char want[2048];
    snprintf(want, sizeof want, "%s/x0: %s/a\\ b %s/opts.json %s/extra.txt\n", root, root, root,
             root);
    assert_string_equal(read_text(sub("x.d")), want);

    /* the extra file is part of the key */
    write_text(sub("extra.txt"), "E2");
    assert_int_equal(run(sub("a b"), "-o", sub("x0"), "-o", sub("x1"), "--options",
                         sub("opts.json"), "--cache-dir", sub("cache"), NULL),
                     0);
    assert_int_equal(ncomputed, 2);
    /* so are the options, whichever way they are given; equal options hit */
    write_text(sub("opts2.json"), "{\"name\": \"v\"}");
    assert_int_equal(run(sub("a b"), "-o", sub("x0"), "-o", sub("x1"), "--options",
                         sub("opts2.json"), "--cache-dir", sub("cache"), NULL),
                     0);
    assert_int_equal(ncomputed, 3);
    setenv("SYNAP_CACHE_DIR", sub("cache"), 1);
    assert_int_equal(run(sub("a b"), "-o", sub("x0"), "-o", sub("x1"), "--name", "v", NULL), 0);
    unsetenv("SYNAP_CACHE_DIR");
    assert_int_equal(ncomputed, 3);
    extra_path = NULL;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Runs the toy stage with stderr sent to the file `err_path`. */
static int run_stderr(const char *err_path, const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "synap-toy";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(err_path, "wb");
    assert_non_null(f);
    dup2(fileno(f), 2);
    fclose(f);
    int rc = synap_stage_main(&toy, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

/* Warnings print the same whether computed or restored from the cache; they
 * are part of the entry, so a corrupt warnings file means recomputing. */
static void test_warnings_replayed(void **state)
{
    (void)state;
    const char *want = "synap-toy: warning: toy says one\n"
                       "synap-toy: warning: toy says two lines\n";
    write_text(sub("w_in"), "w");
    ncomputed = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_stderr(sub("w_err"), sub("w_in"), "-o", sub("w0"), "-o", sub("w1"),
                                    "--warn", "one", "--warn", "two\nlines", "--cache-dir",
                                    sub("wcache"), "--stage-log", sub("wlog"), NULL),
                         0);
        assert_string_equal(read_text(sub("w_err")), want);
    }
    assert_int_equal(ncomputed, 1);
    regex_t re;
    assert_int_equal(regcomp(&re, "^toy computed [0-9.]+\ntoy cached [0-9.]+\n$", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, read_text(sub("wlog")), 0, NULL, 0), 0);
    regfree(&re);
    /* without the cache, and without warnings: nothing printed, on a hit too */
    assert_int_equal(run_stderr(sub("w_err"), sub("w_in"), "-o", sub("w0"), "-o", sub("w1"),
                                "--warn", "one", "--warn", "two\nlines", NULL),
                     0);
    assert_string_equal(read_text(sub("w_err")), want);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_stderr(sub("w_err"), sub("w_in"), "-o", sub("w0"), "-o", sub("w1"),
                                    "--cache-dir", sub("wcache"), NULL),
                         0);
        assert_string_equal(read_text(sub("w_err")), "");
    }
    assert_int_equal(ncomputed, 3);
    /* a damaged warnings file: the entry is recomputed, the warnings right */
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "for f in '%s'/v1/*/*/warnings; do [ -s \"$f\" ] && printf X >\"$f\"; done; true",
             sub("wcache"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_stderr(sub("w_err"), sub("w_in"), "-o", sub("w0"), "-o", sub("w1"),
                                "--warn", "one", "--warn", "two\nlines", "--cache-dir",
                                sub("wcache"), NULL),
                     0);
    assert_string_equal(read_text(sub("w_err")), want);
    assert_int_equal(ncomputed, 4);
    /* a failing compute: its warnings, then the error; nothing cached */
    assert_int_equal(run_stderr(sub("w_err"), sub("w_in"), "-o", sub("w0"), "-o", sub("w1"),
                                "--warn", "first", "--fail", "--cache-dir", sub("wcache2"), NULL),
                     1);
    char want_fail[1024];
    snprintf(want_fail, sizeof want_fail,
             "synap-toy: warning: toy says first\nsynap-toy: %s: the toy stage was told to fail\n",
             sub("w_in"));
    assert_string_equal(read_text(sub("w_err")), want_fail);
    assert_int_equal(count_entries(sub("wcache2/v1")), 1); /* tmp only */
}

static void test_errors(void **state)
{
    (void)state;
    write_text(sub("in"), "data");
    write_text(sub("list.json"), "{\"items\": {\"a\": 1}}");
    write_text(sub("arr.json"), "[1]");
    write_text(sub("bad.json"), "{\"a\": }");
    ncomputed = 0;
    /* usage errors: 1, nothing computed or written */
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--bogus", NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "-o", sub("e2"), NULL), 1);
    assert_int_equal(run(sub("in"), sub("in"), sub("in"), "-o", sub("e0"), "-o", sub("e1"), NULL),
                     1);
    assert_int_equal(run("-", "-", "-o", sub("e0"), "-o", sub("e1"), NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--count", "1.5", NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--on=yes", NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--name", NULL), 1);
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--options", sub("list.json"),
                         "--item", "x", NULL),
                     1);
    assert_int_equal(
        run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--options", sub("arr.json"), NULL), 1);
    assert_int_equal(
        run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--options", sub("bad.json"), NULL), 1);
    assert_int_equal(run(sub("missing"), "-o", sub("e0"), "-o", sub("e1"), NULL), 1);
    assert_int_equal(ncomputed, 0);
    /* compute fails: 1, no output, the cache holds no entry */
    assert_int_equal(run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--fail", "--cache-dir",
                         sub("ecache"), "--stage-log", sub("elog"), "-M", sub("e.d"), NULL),
                     1);
    assert_int_equal(ncomputed, 1);
    assert_false(exists(sub("e0")));
    assert_false(exists(sub("e1")));
    assert_false(exists(sub("e.d")));
    assert_false(exists(sub("elog")));
    assert_int_equal(count_entries(sub("ecache/v1")), 1); /* tmp only */
    assert_int_equal(count_entries(sub("ecache/v1/tmp")), 0);
    /* an unusable cache directory: 1 before computing */
    write_text(sub("notadir"), "x");
    assert_int_equal(
        run(sub("in"), "-o", sub("e0"), "-o", sub("e1"), "--cache-dir", sub("notadir"), NULL), 1);
    assert_int_equal(ncomputed, 1);
    assert_false(exists(sub("e0")));
    /* an output in a missing folder: an I/O error, 2 */
    assert_int_equal(run(sub("in"), "-o", sub("nodir/e0"), "-o", sub("e1"), NULL), 2);
    /* help and version succeed */
    assert_int_equal(run("--help", NULL), 0);
    assert_int_equal(run("--version", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_merge),
        cmocka_unit_test(test_cache_log_depfile),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_warnings_replayed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
