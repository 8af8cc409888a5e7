/* Case isolation (fork + pipe + alarm), tolerance comparison and
 * expected-failures files for the conformance and real-model runners. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *const status_names[HARNESS_NSTATUS] = {"PASS", "FAIL", "UNSUPPORTED", "CRASH",
                                                          "TIMEOUT"};

const char *harness_status_name(enum harness_status s)
{
    return (unsigned)s < HARNESS_NSTATUS ? status_names[s] : "?";
}

enum harness_status harness_status_parse(const char *s)
{
    size_t n = strcspn(s, ": \t");
    for (int i = 0; i < HARNESS_NSTATUS; i++)
        if (strlen(status_names[i]) == n && !strncmp(s, status_names[i], n))
            return (enum harness_status)i;
    return HARNESS_NSTATUS;
}

void harness_one_line(char *s, size_t n)
{
    if (!n) return;
    size_t len = strnlen(s, n - 1);
    s[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') s[i] = ' ';
}

/* ---- running cases in children ------------------------------------------------ */

/* Results are small: one line well under PIPE_BUF, so the child's single
 * write never blocks even though the parent reads only after the child exits. */
#define LINE_MAX_BYTES 2048

struct slot {
    pid_t pid; /* 0: free */
    int fd;    /* read end of the child's pipe */
    size_t i;  /* case index */
};

struct result {
    enum harness_status status;
    char *reason;
    int done;
};

static void child(size_t i, int fd, unsigned timeout_s, harness_case_fn fn, void *ctx)
{
    /* SIGALRM's default action kills the child; the parent sees the signal. */
    signal(SIGALRM, SIG_DFL);
    alarm(timeout_s);
    char reason[1024] = "";
    enum harness_status s = fn(ctx, i, reason, sizeof reason);
    harness_one_line(reason, sizeof reason);
    char line[LINE_MAX_BYTES];
    int len = snprintf(line, sizeof line, "%s\t%s\n", harness_status_name(s), reason);
    if (len > 0) {
        size_t left = (size_t)len < sizeof line ? (size_t)len : sizeof line - 1;
        const char *p = line;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            p += w;
            left -= (size_t)w;
        }
    }
    close(fd);
    /* exit, not _exit: a leak checker's atexit report then shows up as a
     * non-zero exit status (stdio buffers were flushed before the fork). */
    exit(0);
}

/* Reads what the child wrote (it has exited: the read ends at EOF). */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

static void collect(struct slot *sl, int ws, struct result *res)
{
    char buf[LINE_MAX_BYTES];
    read_all(sl->fd, buf, sizeof buf);
    close(sl->fd);
    struct result *r = &res[sl->i];
    char *tab = strchr(buf, '\t');
    char *nl = strchr(buf, '\n');
    int have_line = tab && nl && nl > tab;
    enum harness_status s = HARNESS_NSTATUS;
    const char *reason = "";
    if (have_line) {
        *tab = 0;
        *nl = 0;
        s = harness_status_parse(buf);
        reason = tab + 1;
    }
    char msg[LINE_MAX_BYTES + 128];
    int clean = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    if (have_line && s != HARNESS_NSTATUS && clean) {
        r->status = s;
        snprintf(msg, sizeof msg, "%s", reason);
    } else if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM && !have_line) {
        r->status = HARNESS_TIMEOUT;
        snprintf(msg, sizeof msg, "no result within the time limit");
    } else {
        char how[96];
        if (WIFSIGNALED(ws))
            snprintf(how, sizeof how, "signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
        else
            snprintf(how, sizeof how, "exit status %d", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
        r->status = HARNESS_CRASH;
        if (have_line)
            snprintf(msg, sizeof msg, "%s after reporting %s: %s", how, buf, reason);
        else
            snprintf(msg, sizeof msg, "%s", how);
    }
    harness_one_line(msg, sizeof msg);
    r->reason = strdup(msg);
    r->done = 1;
    sl->pid = 0;
}

void harness_run(size_t n, int njobs, unsigned timeout_s, harness_case_fn fn, harness_done_fn done,
                 void *ctx)
{
    if (njobs < 1) njobs = 1;
    struct slot *slots = calloc((size_t)njobs, sizeof *slots);
    struct result *res = calloc(n ? n : 1, sizeof *res);
    if (!slots || !res) abort();
    size_t next = 0, reported = 0;
    int running = 0;
    while (reported < n) {
        while (running < njobs && next < n) {
            int fds[2];
            if (pipe(fds) < 0) abort();
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid < 0) abort();
            if (pid == 0) {
                close(fds[0]);
                child(next, fds[1], timeout_s, fn, ctx);
            }
            close(fds[1]);
            for (int k = 0; k < njobs; k++)
                if (!slots[k].pid) {
                    slots[k] = (struct slot){pid, fds[0], next};
                    break;
                }
            running++;
            next++;
        }
        int ws;
        pid_t pid = waitpid(-1, &ws, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            abort(); /* ECHILD with cases outstanding: cannot happen */
        }
        for (int k = 0; k < njobs; k++)
            if (slots[k].pid == pid) {
                collect(&slots[k], ws, res);
                running--;
                break;
            }
        /* report in case order, as soon as the prefix is complete */
        while (reported < n && res[reported].done) {
            done(ctx, reported, res[reported].status, res[reported].reason);
            free(res[reported].reason);
            reported++;
        }
    }
    free(res);
    free(slots);
}

/* ---- comparison ------------------------------------------------------------------ */

enum dclass { DC_FLOAT, DC_INT, DC_BOOL };

static enum dclass dclass_of(enum synap_dtype t)
{
    if (synap_dtype_is_float(t)) return DC_FLOAT;
    if (t == SYNAP_DTYPE_BOOL) return DC_BOOL;
    return DC_INT;
}

static int same_shape(const struct synap_value *a, const struct synap_value *b)
{
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

int harness_compare(const struct synap_value *got, const struct synap_value *want, double atol,
                    double rtol, int64_t int_atol, struct harness_cmp *r)
{
    memset(r, 0, sizeof *r);
    r->first = r->worst = -1;
    if (dclass_of(got->dtype) != dclass_of(want->dtype)) {
        snprintf(r->msg, sizeof r->msg, "dtype %s, expected %s", synap_dtype_name(got->dtype),
                 synap_dtype_name(want->dtype));
        return -1;
    }
    if (!same_shape(got, want)) {
        char a[128], b[128];
        snprintf(r->msg, sizeof r->msg, "shape %s, expected %s",
                 synap_shape_str(got->rank, got->dims, a, sizeof a),
                 synap_shape_str(want->rank, want->dims, b, sizeof b));
        return -1;
    }
    int64_t n = synap_value_nelem(want);
    if (n < 0) {
        snprintf(r->msg, sizeof r->msg, "bad expected shape");
        return -1;
    }
    r->nelem = n;
    if (n && (!got->data || !want->data)) {
        snprintf(r->msg, sizeof r->msg, "no data");
        return -1;
    }
    int isfloat = dclass_of(want->dtype) == DC_FLOAT;
    double worst_excess = -1;
    for (int64_t i = 0; i < n; i++) {
        double g, w, tol, diff;
        int ok;
        if (isfloat) {
            g = synap_value_get_f64(got, i);
            w = synap_value_get_f64(want, i);
            tol = atol + rtol * fabs(w);
            if (isnan(w) || isnan(g)) {
                ok = isnan(w) && isnan(g);
                diff = INFINITY;
            } else if (isinf(w) || isinf(g)) {
                /* atol + rtol * inf would accept anything: infinities must match */
                ok = g == w;
                diff = ok ? 0 : INFINITY;
            } else {
                diff = fabs(g - w);
                ok = diff <= tol;
                if (diff > r->max_abs_diff) r->max_abs_diff = diff;
            }
        } else {
            int64_t gi = synap_value_get_i64(got, i), wi = synap_value_get_i64(want, i);
            /* exact, without overflow: compare in the unsigned domain */
            uint64_t d = gi > wi ? (uint64_t)gi - (uint64_t)wi : (uint64_t)wi - (uint64_t)gi;
            ok = d <= (uint64_t)(int_atol < 0 ? 0 : int_atol);
            g = (double)gi;
            w = (double)wi;
            tol = (double)int_atol;
            diff = (double)d;
            if (diff > r->max_abs_diff) r->max_abs_diff = diff;
        }
        if (ok) continue;
        if (r->first < 0) {
            r->first = i;
            r->first_got = g;
            r->first_want = w;
        }
        r->nbad++;
        double excess = isinf(diff) ? INFINITY : diff - tol;
        if (excess > worst_excess) {
            worst_excess = excess;
            r->worst = i;
            r->worst_got = g;
            r->worst_want = w;
            r->worst_tol = tol;
        }
    }
    return r->nbad ? 1 : 0;
}

const char *harness_index_str(int rank, const int64_t *dims, int64_t i, char *buf, size_t n)
{
    int64_t coord[SYNAP_MAX_RANK] = {0};
    if (rank < 0 || rank > SYNAP_MAX_RANK) rank = 0;
    for (int d = rank - 1; d >= 0; d--) {
        if (dims[d] > 0) {
            coord[d] = i % dims[d];
            i /= dims[d];
        }
    }
    size_t off = 0;
    if (n) buf[0] = 0;
    off += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && off < n; d++)
        off += (size_t)snprintf(buf + off, n - off, "%s%lld", d ? ", " : "", (long long)coord[d]);
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

/* ---- expected-failures files ------------------------------------------------------ */

static int cmp_expect(const void *a, const void *b)
{
    return strcmp(((const struct harness_expect *)a)->id, ((const struct harness_expect *)b)->id);
}

void harness_expect_free(struct harness_expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].id);
        free(e[i].reason);
    }
    free(e);
}

int harness_expect_read(const char *path, struct harness_expect **out, size_t *nout, char *err,
                        size_t nerr)
{
    *out = NULL;
    *nout = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, nerr, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct harness_expect *e = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int lineno = 0, rc = -1;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || !strchr(line, '/') || strchr(line, '/') > tab) {
            snprintf(err, nerr, "%s:%d: expected \"folder/test<TAB>reason\"", path, lineno);
            goto out;
        }
        *tab = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct harness_expect *ne = realloc(e, cap * sizeof *e);
            if (!ne) abort();
            e = ne;
        }
        e[n].id = strdup(line);
        e[n].reason = strdup(tab + 1);
        if (!e[n].id || !e[n].reason) abort();
        e[n].status = harness_status_parse(tab + 1);
        e[n].seen = 0;
        n++;
    }
    if (n) qsort(e, n, sizeof *e, cmp_expect); /* e is NULL for an empty list */
    for (size_t i = 1; i < n; i++)
        if (!strcmp(e[i - 1].id, e[i].id)) {
            snprintf(err, nerr, "%s: '%s' is listed twice", path, e[i].id);
            goto out;
        }
    rc = 0;
out:
    free(line);
    fclose(f);
    if (rc) {
        harness_expect_free(e, n);
        return -1;
    }
    *out = e;
    *nout = n;
    return 0;
}

struct harness_expect *harness_expect_find(struct harness_expect *e, size_t n, const char *id)
{
    struct harness_expect key = {.id = (char *)id};
    return n ? bsearch(&key, e, n, sizeof *e, cmp_expect) : NULL;
}

int harness_expect_judge(struct harness_expect *e, size_t n, const char *id, enum harness_status s,
                         const char **note)
{
    struct harness_expect *x = harness_expect_find(e, n, id);
    if (x) x->seen = 1;
    *note = "";
    if (s == HARNESS_CRASH) return 1;
    if (s == HARNESS_PASS) {
        if (!x) return 0;
        *note = " (listed as failing: remove it from the expected failures)";
        return 1;
    }
    if (!x) {
        *note = " (not in the expected failures)";
        return 1;
    }
    if (x->status != HARNESS_NSTATUS && x->status != s) {
        *note = " (listed with another status)";
        return 1;
    }
    return 0;
}

void harness_expect_note_unseen(const struct harness_expect *e, size_t n, const char *path,
                                const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!e[i].seen)
            printf("note: %s is listed in %s but no such %s ran\n", e[i].id, path, what);
}

int harness_expect_write(const char *path, const char *head, struct harness_expect *e, size_t n,
                         struct synap_err *err)
{
    if (n) qsort(e, n, sizeof *e, cmp_expect);
    size_t len = strlen(head), cap = len + 4096;
    char *buf = synap_xmalloc(cap);
    memcpy(buf, head, len);
    for (size_t i = 0; i < n; i++) {
        char line[2048];
        int r = snprintf(line, sizeof line, "%s\t%s: %s\n", e[i].id,
                         harness_status_name(e[i].status), e[i].reason ? e[i].reason : "");
        if (r < 0) continue;
        size_t ln = (size_t)r < sizeof line ? (size_t)r : sizeof line - 1;
        if (line[ln - 1] != '\n') line[ln - 1] = '\n';
        while (len + ln > cap)
            cap *= 2;
        buf = synap_xrealloc(buf, cap);
        memcpy(buf + len, line, ln);
        len += ln;
    }
    int rc = synap_file_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

void harness_print_counts(const char *label, const size_t counts[HARNESS_NSTATUS])
{
    printf("%s: %zu passed, %zu failed, %zu unsupported", label, counts[HARNESS_PASS],
           counts[HARNESS_FAIL], counts[HARNESS_UNSUPPORTED]);
    if (counts[HARNESS_CRASH]) printf(", %zu crashed", counts[HARNESS_CRASH]);
    if (counts[HARNESS_TIMEOUT]) printf(", %zu timed out", counts[HARNESS_TIMEOUT]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **harness_list_dir(const char *path, size_t *n)
{
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    char **v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            v = synap_xrealloc(v, cap * sizeof *v);
        }
        v[(*n)++] = synap_xstrdup(de->d_name);
    }
    closedir(d);
    if (*n) qsort(v, *n, sizeof *v, cmp_str);
    return v;
}
