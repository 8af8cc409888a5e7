/* Shared plumbing for libsynap: error values, allocation, arenas, files, hashing. */
#ifndef SYNAP_UTIL_H
#define SYNAP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define SYNAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SYNAP_PRINTF(a, b)
#endif

/* ---- errors ------------------------------------------------------------
 * Library code never prints or exits on bad input: it returns -1 (or NULL)
 * and fills a struct synap_err. Tools map `code` to the exit status.
 */
enum synap_err_code {
    SYNAP_OK = 0,
    SYNAP_EINPUT = 1, /* the input or the options were wrong */
    SYNAP_EIO = 2,    /* internal or I/O failure */
};

struct synap_err {
    int code;
    char msg[1024];
};

/* Set err (code SYNAP_EINPUT) from a printf format; returns -1. err may be NULL. */
int synap_errf(struct synap_err *err, const char *fmt, ...) SYNAP_PRINTF(2, 3);
/* Same with code SYNAP_EIO. */
int synap_errf_io(struct synap_err *err, const char *fmt, ...) SYNAP_PRINTF(2, 3);
/* Prepend "prefix: " to an error already set (e.g. the file or node name). */
void synap_err_prefix(struct synap_err *err, const char *fmt, ...) SYNAP_PRINTF(2, 3);

/* ---- allocation: out-of-memory is the one thing that aborts ------------ */
void *synap_xmalloc(size_t n);
void *synap_xcalloc(size_t n, size_t size);
void *synap_xrealloc(void *p, size_t n);
char *synap_xstrdup(const char *s);
/* "a/b", malloc'd. */
char *synap_path_join(const char *a, const char *b);
/* 64-byte aligned allocation (weights, activations); free with free(). */
void *synap_xaligned(size_t n);

/* Checked size arithmetic: return 0 and set *out on success, -1 on overflow. */
int synap_mul_overflow(size_t a, size_t b, size_t *out);
int synap_add_overflow(size_t a, size_t b, size_t *out);

/* ---- arena: many small allocations that die together ------------------- */
struct synap_arena;
struct synap_arena *synap_arena_new(void);
void synap_arena_free(struct synap_arena *a);
/* Zeroed, 16-byte aligned (64 for sizes >= 64); valid until synap_arena_free. */
void *synap_arena_alloc(struct synap_arena *a, size_t n);
char *synap_arena_strdup(struct synap_arena *a, const char *s);
void *synap_arena_memdup(struct synap_arena *a, const void *p, size_t n);

/* ---- files -------------------------------------------------------------- */
/* A whole file in memory, either mapped (read-only) or malloc'd (stdin/pipes).
 * `data` is 64-byte aligned in both cases. "-" reads stdin. */
struct synap_file {
    const uint8_t *data;
    size_t size;
    int mapped;
};
int synap_file_read(const char *path, struct synap_file *f, struct synap_err *err);
void synap_file_close(struct synap_file *f);

/* Write `n` bytes to `path` atomically: a temp file beside it, fsync-free
 * rename on success, the temp removed on failure. "-" writes stdout.
 * When the file already holds exactly these bytes it is left untouched
 * (mtime unchanged), so ninja's restat sees no change. */
int synap_file_write_atomic(const char *path, const void *data, size_t n, struct synap_err *err);

/* Creates a directory and its missing parents (like mkdir -p). */
int synap_mkdirs(const char *path, struct synap_err *err);

/* ---- hashing -------------------------------------------------------------- */
struct synap_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
};
void synap_sha256_init(struct synap_sha256 *s);
void synap_sha256_update(struct synap_sha256 *s, const void *data, size_t n);
void synap_sha256_final(struct synap_sha256 *s, uint8_t out[32]);
/* Lower-case hex of the SHA-256 of data; out holds 65 bytes. */
void synap_sha256_hex(const void *data, size_t n, char out[65]);

/* ---- topological order ------------------------------------------------------
 * Kahn's algorithm over n items: indeg[i] counts i's unfinished
 * predecessors; the successors of i are cons[start[i] .. start[i+1]).
 * Among ready items the lowest index goes first, so an already sorted list
 * keeps its order. Fills order[] and returns how many items were ordered
 * (fewer than n: the rest are on or behind a cycle; their indeg stays > 0). */
size_t synap_topo_order(size_t n, size_t *indeg, const size_t *start, const size_t *cons,
                        size_t *order);

/* ---- names from files in messages ----------------------------------------
 * Control characters, quotes and backslashes become \xNN and long names are
 * cut at 60 bytes with "...", so a message stays one line whatever a file
 * holds. The result lives in *e. */
struct synap_esc {
    char s[256];
};
const char *synap_esc(struct synap_esc *e, const char *s);
const char *synap_escn(struct synap_esc *e, const char *p, size_t n);

/* ---- misc ---------------------------------------------------------------- */
double synap_now_ms(void);        /* monotonic clock */
int synap_default_threads(void);  /* SYNAP_THREADS or the number of cores */

#endif
