/* Error values, allocation, arenas and whole-file I/O. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int verrf(struct synap_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return -1;
}

int synap_errf(struct synap_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verrf(err, SYNAP_EINPUT, fmt, ap);
    va_end(ap);
    return -1;
}

int synap_errf_io(struct synap_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verrf(err, SYNAP_EIO, fmt, ap);
    va_end(ap);
    return -1;
}

void synap_err_prefix(struct synap_err *err, const char *fmt, ...)
{
    if (!err) return;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* the prefix, then as much of the old message as fits */
    size_t off = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    size_t room = sizeof err->msg - off;
    if (room > 2) {
        memcpy(err->msg + off, ": ", 2);
        size_t len = strlen(old);
        if (len > room - 3) len = room - 3;
        memcpy(err->msg + off + 2, old, len);
        err->msg[off + 2 + len] = 0;
    }
    if (!err->code) err->code = SYNAP_EINPUT;
}

static void oom(void)
{
    fputs("synap: out of memory\n", stderr);
    abort();
}

void *synap_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *synap_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void *synap_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) oom();
    return p;
}

char *synap_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(synap_xmalloc(n), s, n);
}

char *synap_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = synap_xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

void *synap_xaligned(size_t n)
{
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz < n) oom();
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (!p) oom();
    return p;
}

int synap_mul_overflow(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

int synap_add_overflow(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return -1;
    *out = a + b;
    return 0;
}

/* ---- arena --------------------------------------------------------------
 * A list of blocks; big requests get a block of their own so that the
 * arena never wastes more than one small block's tail per allocation. */
struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(64) unsigned char data[];
};

struct synap_arena {
    struct arena_block *head;
};

enum { ARENA_BLOCK = 64 * 1024 };

struct synap_arena *synap_arena_new(void)
{
    return synap_xcalloc(1, sizeof(struct synap_arena));
}

void synap_arena_free(struct synap_arena *a)
{
    if (!a) return;
    for (struct arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

static struct arena_block *arena_block_new(size_t size)
{
    size_t total;
    if (synap_add_overflow(sizeof(struct arena_block), size, &total)) oom();
    struct arena_block *b = aligned_alloc(64, (total + 63) & ~(size_t)63);
    if (!b) oom();
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

void *synap_arena_alloc(struct synap_arena *a, size_t n)
{
    size_t align = n >= 64 ? 64 : 16;
    if (n > ARENA_BLOCK / 4) {
        /* a dedicated block, linked behind the current one */
        struct arena_block *b = arena_block_new(n);
        b->used = n;
        if (a->head) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            a->head = b;
        }
        memset(b->data, 0, n);
        return b->data;
    }
    struct arena_block *h = a->head;
    size_t off = h ? (h->used + align - 1) & ~(align - 1) : 0;
    if (!h || off + n > h->size) {
        h = arena_block_new(ARENA_BLOCK);
        h->next = a->head;
        a->head = h;
        off = 0;
    }
    h->used = off + n;
    memset(h->data + off, 0, n);
    return h->data + off;
}

char *synap_arena_strdup(struct synap_arena *a, const char *s)
{
    return synap_arena_memdup(a, s, strlen(s) + 1);
}

void *synap_arena_memdup(struct synap_arena *a, const void *p, size_t n)
{
    void *d = synap_arena_alloc(a, n);
    if (n) memcpy(d, p, n);
    return d;
}

/* ---- files --------------------------------------------------------------- */
static int read_stream(FILE *fp, const char *path, struct synap_file *f, struct synap_err *err)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = synap_xaligned(cap);
    for (;;) {
        if (n == cap) {
            uint8_t *nb = synap_xaligned(cap * 2);
            memcpy(nb, buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0) break;
    }
    if (ferror(fp)) {
        free(buf);
        return synap_errf_io(err, "%s: read error: %s", path, strerror(errno));
    }
    f->data = buf;
    f->size = n;
    f->mapped = 0;
    return 0;
}

int synap_file_read(const char *path, struct synap_file *f, struct synap_err *err)
{
    memset(f, 0, sizeof *f);
    if (!strcmp(path, "-")) return read_stream(stdin, "<stdin>", f, err);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return synap_errf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return synap_errf_io(err, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return synap_errf(err, "%s: is a directory", path);
    }
    if (!S_ISREG(st.st_mode)) {
        FILE *fp = fdopen(fd, "rb");
        if (!fp) {
            close(fd);
            return synap_errf_io(err, "%s: cannot open: %s", path, strerror(errno));
        }
        int rc = read_stream(fp, path, f, err);
        fclose(fp);
        return rc;
    }
    if (st.st_size == 0) {
        close(fd);
        f->data = synap_xaligned(1);
        f->size = 0;
        f->mapped = 0;
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return synap_errf_io(err, "%s: cannot map: %s", path, strerror(errno));
    f->data = p;
    f->size = (size_t)st.st_size;
    f->mapped = 1;
    return 0;
}

void synap_file_close(struct synap_file *f)
{
    if (!f || !f->data) return;
    if (f->mapped)
        munmap((void *)f->data, f->size);
    else
        free((void *)f->data);
    memset(f, 0, sizeof *f);
}

static int same_contents(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    int same = 1;
    unsigned char buf[65536];
    size_t off = 0;
    for (;;) {
        size_t r = fread(buf, 1, sizeof buf, fp);
        if (r == 0) break;
        if (off + r > n || memcmp(buf, (const unsigned char *)data + off, r)) {
            same = 0;
            break;
        }
        off += r;
    }
    if (ferror(fp) || off != n) same = 0;
    fclose(fp);
    return same;
}

int synap_file_write_atomic(const char *path, const void *data, size_t n, struct synap_err *err)
{
    if (!strcmp(path, "-")) {
        if (n && fwrite(data, 1, n, stdout) != n)
            return synap_errf_io(err, "<stdout>: write error: %s", strerror(errno));
        if (fflush(stdout)) return synap_errf_io(err, "<stdout>: write error: %s", strerror(errno));
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device or pipe (-o /dev/null, a FIFO): write into it; renaming a
         * temporary file over it would replace the device itself */
        if (S_ISDIR(st.st_mode)) return synap_errf(err, "%s: is a directory", path);
        int fd = open(path, O_WRONLY | O_TRUNC);
        if (fd < 0) return synap_errf_io(err, "%s: cannot open: %s", path, strerror(errno));
        const unsigned char *q = data;
        for (size_t left = n; left;) {
            ssize_t w = write(fd, q, left);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                int e = errno;
                close(fd);
                return synap_errf_io(err, "%s: write error: %s", path, strerror(e));
            }
            q += w;
            left -= (size_t)w;
        }
        close(fd);
        return 0;
    }
    if (same_contents(path, data, n)) return 0;
    size_t plen = strlen(path);
    char *tmp = synap_xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return synap_errf_io(err, "%s: cannot create: %s", path, strerror(e));
    }
    const unsigned char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return synap_errf_io(err, "%s: write error: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    /* mkstemp creates 0600; give the file the usual permissions */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return synap_errf_io(err, "%s: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

int synap_mkdirs(const char *path, struct synap_err *err)
{
    if (!*path) return synap_errf(err, "empty directory name");
    char *p = synap_xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            int e = errno;
            int rc = synap_errf_io(err, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return rc;
        }
        *s = c;
        if (!c) break;
    }
    struct stat st;
    int isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    return isdir ? 0 : synap_errf_io(err, "%s: not a directory", path);
}

static void heap_push(size_t *heap, size_t *nh, size_t v)
{
    size_t k = (*nh)++;
    heap[k] = v;
    while (k && heap[(k - 1) / 2] > heap[k]) {
        size_t p = (k - 1) / 2, t = heap[p];
        heap[p] = heap[k];
        heap[k] = t;
        k = p;
    }
}

static size_t heap_pop(size_t *heap, size_t *nh)
{
    size_t top = heap[0];
    heap[0] = heap[--*nh];
    for (size_t k = 0;;) {
        size_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < *nh && heap[l] < heap[m]) m = l;
        if (r < *nh && heap[r] < heap[m]) m = r;
        if (m == k) break;
        size_t t = heap[m];
        heap[m] = heap[k];
        heap[k] = t;
        k = m;
    }
    return top;
}

size_t synap_topo_order(size_t n, size_t *indeg, const size_t *start, const size_t *cons,
                        size_t *order)
{
    size_t *heap = synap_xmalloc((n ? n : 1) * sizeof *heap), nh = 0, no = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i]) heap_push(heap, &nh, i);
    while (nh) {
        size_t v = heap_pop(heap, &nh);
        order[no++] = v;
        for (size_t k = start[v]; k < start[v + 1]; k++)
            if (--indeg[cons[k]] == 0) heap_push(heap, &nh, cons[k]);
    }
    free(heap);
    return no;
}

const char *synap_escn(struct synap_esc *e, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n && i < 60; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            e->s[k++] = '\\';
            e->s[k++] = 'x';
            e->s[k++] = hex[c >> 4];
            e->s[k++] = hex[c & 15];
        } else {
            e->s[k++] = (char)c;
        }
    }
    if (n > 60) {
        memcpy(e->s + k, "...", 3);
        k += 3;
    }
    e->s[k] = '\0';
    return e->s;
}

const char *synap_esc(struct synap_esc *e, const char *s)
{
    return synap_escn(e, s, strlen(s));
}

double synap_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int synap_default_threads(void)
{
    const char *e = getenv("SYNAP_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (!*end && v > 0 && v <= 256) return (int)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}
