/* Shared by the conformance and real-model runners: each case in a forked
 * child (crash and timeout isolation), tolerance comparison, and the
 * expected-failures file. */
#ifndef SYNAP_HARNESS_H
#define SYNAP_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

enum harness_status {
    HARNESS_PASS,
    HARNESS_FAIL,        /* wrong values or a run error */
    HARNESS_UNSUPPORTED, /* an op or dtype the importer does not support */
    HARNESS_CRASH,       /* the child died (signal, sanitizer, abort) */
    HARNESS_TIMEOUT,     /* the child did not finish in time */
    HARNESS_NSTATUS
};

/* "PASS", "FAIL", "UNSUPPORTED", "CRASH", "TIMEOUT". */
const char *harness_status_name(enum harness_status s);
/* The status named by the first word of s (up to ':' or a blank);
 * HARNESS_NSTATUS when none. */
enum harness_status harness_status_parse(const char *s);

/* Runs one case in the child: returns its status and a one-line reason. */
typedef enum harness_status (*harness_case_fn)(void *ctx, size_t i, char *reason, size_t n);
/* Receives each result in case order (whatever order children finish in). */
typedef void (*harness_done_fn)(void *ctx, size_t i, enum harness_status s, const char *reason);

/* Runs cases 0..n-1, up to njobs children at a time, each under
 * alarm(timeout_s). A child that dies without reporting is CRASH (with the
 * signal or exit status) or TIMEOUT (SIGALRM); one that reports and then
 * exits abnormally (a leak report, say) is CRASH too. */
void harness_run(size_t n, int njobs, unsigned timeout_s, harness_case_fn fn, harness_done_fn done,
                 void *ctx);

/* The outcome of comparing one output. */
struct harness_cmp {
    int64_t nelem; /* elements compared */
    int64_t nbad;  /* elements outside the tolerance */
    int64_t first; /* index of the first bad element, -1 if none */
    double first_got, first_want;
    int64_t worst; /* index of the element furthest outside its tolerance, -1 if none */
    double worst_got, worst_want, worst_tol;
    double max_abs_diff; /* over elements where both values are finite */
    char msg[256];       /* dtype or shape mismatch */
};

/* Compares got with want: the same dtype class (float / integer / bool) and
 * shape, then elementwise |got - want| <= atol + rtol * |want| for floats
 * (NaN matches NaN, an infinity only the same infinity) and |got - want| <=
 * int_atol for integers and bools. Returns 0 when everything matches, 1 when
 * values differ, -1 on a dtype or shape mismatch (msg says which). */
int harness_compare(const struct synap_value *got, const struct synap_value *want, double atol,
                    double rtol, int64_t int_atol, struct harness_cmp *r);

/* "[0, 17, 3]": the coordinates of flat index i in a row-major shape. */
const char *harness_index_str(int rank, const int64_t *dims, int64_t i, char *buf, size_t n);

/* One line of an expected-failures file: "folder/test<TAB>STATUS: reason". */
struct harness_expect {
    char *id;
    char *reason;
    enum harness_status status; /* HARNESS_NSTATUS when the reason names none */
    int seen;                   /* set by the runner when the case ran */
};

/* Reads an expected-failures file ('#' comments and blank lines ignored).
 * Returns 0 and a malloc'd array sorted by id; -1 with a message (naming the
 * file and line) in err on a malformed line or a duplicate id. */
int harness_expect_read(const char *path, struct harness_expect **out, size_t *n, char *err,
                        size_t nerr);
/* The entry for id, or NULL (binary search). */
struct harness_expect *harness_expect_find(struct harness_expect *e, size_t n, const char *id);
void harness_expect_free(struct harness_expect *e, size_t n);

/* Makes a reason fit one line of the file: tabs and newlines become spaces,
 * clipped to n - 1 bytes. */
void harness_one_line(char *s, size_t n);

/* Judges one result against the expected failures (the entry for id, if
 * any, is marked seen). Returns 1 when it fails the suite: a crash, a listed
 * case that passes, an unlisted failure or one listed with another status;
 * *note is what to print after the reason ("" when there is nothing to add,
 * which includes a failure listed as expected). */
int harness_expect_judge(struct harness_expect *e, size_t n, const char *id, enum harness_status s,
                         const char **note);

/* Prints "note: ID is listed in PATH but no such WHAT ran" for each entry
 * no case marked seen. */
void harness_expect_note_unseen(const struct harness_expect *e, size_t n, const char *path,
                                const char *what);

/* Writes an expected-failures file atomically: `head` (comment lines, each
 * ending in a newline), then "id<TAB>STATUS: reason" for the n entries
 * sorted by id (e is sorted in place; each line is clipped to 2047 bytes).
 * Returns 0, or -1 with err. */
int harness_expect_write(const char *path, const char *head, struct harness_expect *e, size_t n,
                         struct synap_err *err);

/* Prints "LABEL: P passed, F failed, U unsupported", then ", C crashed" and
 * ", T timed out" when there are any; no newline. */
void harness_print_counts(const char *label, const size_t counts[HARNESS_NSTATUS]);

/* The entries of a folder except dot files, sorted: a malloc'd array of
 * malloc'd names (caller frees each and the array); NULL with *n = 0 when
 * the folder cannot be read. */
char **harness_list_dir(const char *path, size_t *n);

#endif
