/* The content-addressed cache of stage results: keys, verified lookups,
 * atomic stores by directory rename (layout in cache.h). */
#include "cache/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct synap_cache {
    char *dir; /* as given, for messages */
    char *v1;  /* DIR/v1 */
    char *tmp; /* DIR/v1/tmp */
};

/* ---- keys ------------------------------------------------------------------ */
void synap_cache_key_init(struct synap_cache_key *k, const char *tool, const char *version,
                          const void *options, size_t options_n)
{
    synap_sha256_init(&k->s);
    synap_sha256_update(&k->s, tool, strlen(tool));
    synap_sha256_update(&k->s, "\n", 1);
    synap_sha256_update(&k->s, version, strlen(version));
    synap_sha256_update(&k->s, "\n", 1);
    synap_sha256_update(&k->s, options, options_n);
    synap_sha256_update(&k->s, "\n", 1);
}

void synap_cache_key_add(struct synap_cache_key *k, const void *data, size_t n)
{
    char line[32 + 65 + 2];
    char hex[65];
    synap_sha256_hex(data, n, hex);
    int len = snprintf(line, sizeof line, "%zu\n%s\n", n, hex);
    synap_sha256_update(&k->s, line, (size_t)len);
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = 0;
}

void synap_cache_key_final(struct synap_cache_key *k, char key[65])
{
    uint8_t d[32];
    synap_sha256_final(&k->s, d);
    to_hex(d, 32, key);
}

/* ---- paths and directories ----------------------------------------------- */
static int valid_key(const char *key)
{
    size_t i = 0;
    for (; key[i]; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'))) return 0;
    return i == 64;
}

char *synap_cache_entry_path(const struct synap_cache *c, const char *key)
{
    size_t n = strlen(c->v1) + 70;
    char *p = synap_xmalloc(n);
    snprintf(p, n, "%s/%.2s/%s", c->v1, key, key);
    return p;
}

/* mkdir -p that reports errno (synap_mkdirs hides it; the message here
 * names the cache directory, not the component). */
static int mkdir_p(const char *path)
{
    char *p = synap_xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/') continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *s = c;
        if (!c) break;
    }
    int e = errno;
    free(p);
    if (rc < 0) {
        errno = e;
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Removes a directory tree (entries are flat, but be general). Best effort:
 * returns -1 when something could not be removed. */
static int rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = synap_path_join(path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (rm_rf(p) < 0) rc = -1;
        } else if (unlink(p) < 0 && errno != ENOENT) {
            rc = -1;
        }
        free(p);
    }
    closedir(d);
    if (rmdir(path) < 0 && errno != ENOENT) rc = -1;
    return rc;
}

/* A fresh, empty, private directory DIR/v1/tmp/<key>.<pid>.XXXXXX. */
static char *make_tmpdir(const struct synap_cache *c, const char *key)
{
    size_t n = strlen(c->tmp) + 100;
    char *p = synap_xmalloc(n);
    snprintf(p, n, "%s/%s.%ld.XXXXXX", c->tmp, key, (long)getpid());
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* ---- open ------------------------------------------------------------------ */
struct synap_cache *synap_cache_open(const char *dir, struct synap_err *err)
{
    if (!dir || !*dir) {
        synap_errf(err, "cache directory '' is not writable: empty path");
        return NULL;
    }
    struct synap_cache *c = synap_xcalloc(1, sizeof *c);
    c->dir = synap_xstrdup(dir);
    c->v1 = synap_path_join(dir, "v1");
    c->tmp = synap_path_join(c->v1, "tmp");
    /* access() says yes to root for any mode; the kernel's answer to a real
     * mkdir/rename decides then, and the store reports it. */
    if (mkdir_p(c->tmp) < 0 || access(c->v1, W_OK | X_OK) < 0 || access(c->tmp, W_OK | X_OK) < 0) {
        synap_errf(err, "cache directory %s is not writable: %s", dir, strerror(errno));
        synap_cache_close(c);
        return NULL;
    }
    return c;
}

void synap_cache_close(struct synap_cache *c)
{
    if (!c) return;
    free(c->dir);
    free(c->v1);
    free(c->tmp);
    free(c);
}

/* ---- lookup ------------------------------------------------------------------ */
/* Moves a bad entry out of sight (one rename, so no reader sees it half
 * deleted), then deletes it. Someone else having removed it already is fine. */
static int remove_entry(struct synap_cache *c, const char *key, const char *entry,
                        struct synap_err *err)
{
    char *away = make_tmpdir(c, key);
    if (!away)
        return synap_errf_io(err, "cache directory %s is not writable: %s", c->dir,
                             strerror(errno));
    /* renaming a directory onto an empty one replaces it */
    if (rename(entry, away) < 0 && errno != ENOENT) {
        int e = errno;
        rmdir(away);
        free(away);
        return synap_errf_io(err, "%s: cannot remove corrupt cache entry: %s", entry, strerror(e));
    }
    rm_rf(away);
    free(away);
    return 0;
}

/* The files of an entry: out0 .. out<nout-1>, then "warnings"; slot i's
 * MANIFEST line starts with its index, the warnings' with "warnings". */
static void slot_name(size_t i, size_t nout, char name[32])
{
    if (i < nout)
        snprintf(name, 32, "out%zu", i);
    else
        snprintf(name, 32, "warnings");
}

static void slot_label(size_t i, size_t nout, char label[32])
{
    if (i < nout)
        snprintf(label, 32, "%zu", i);
    else
        snprintf(label, 32, "warnings");
}

/* Parses the MANIFEST: exactly one line "<label> <nbytes> <hex>\n" per slot,
 * in order (nout + 1 slots). */
static int parse_manifest(const struct synap_file *m, size_t nout, size_t *sizes, char (*hex)[65])
{
    const char *p = (const char *)m->data, *end = p + m->size;
    for (size_t i = 0; i <= nout; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return -1;
        char line[160], label[32];
        size_t len = (size_t)(nl - p);
        if (len >= sizeof line) return -1;
        memcpy(line, p, len);
        line[len] = 0;
        slot_label(i, nout, label);
        size_t ll = strlen(label);
        if (strncmp(line, label, ll) || line[ll] != ' ') return -1;
        const char *rest = line + ll + 1;
        unsigned long long nbytes;
        char h[65];
        int used = 0;
        if (sscanf(rest, "%llu %64[0-9a-f]%n", &nbytes, h, &used) != 2 ||
            (size_t)used != strlen(rest) || strlen(h) != 64 || nbytes > SIZE_MAX)
            return -1;
        /* sscanf's %llu accepts signs and spaces; the writer never emits them */
        if (rest[0] < '0' || rest[0] > '9') return -1;
        sizes[i] = (size_t)nbytes;
        memcpy(hex[i], h, 65);
        p = nl + 1;
    }
    return p == end ? 0 : -1;
}

int synap_cache_lookup(struct synap_cache *c, const char *key, size_t nout, struct synap_file *out,
                       struct synap_file *warnings, int *corrupt, struct synap_err *err)
{
    if (corrupt) *corrupt = 0;
    for (size_t i = 0; i < nout; i++)
        memset(&out[i], 0, sizeof out[i]);
    if (warnings) memset(warnings, 0, sizeof *warnings);
    if (!valid_key(key)) return synap_errf_io(err, "invalid cache key '%s'", key);
    char *entry = synap_cache_entry_path(c, key);
    struct stat st;
    if (stat(entry, &st) < 0) {
        int e = errno;
        free(entry);
        if (e == ENOENT || e == ENOTDIR) return 0;
        return synap_errf_io(err, "cache directory %s: %s", c->dir, strerror(e));
    }
    /* slots 0..nout-1 are the outputs, slot nout the warnings */
    size_t nslot = nout + 1;
    size_t *sizes = synap_xcalloc(nslot, sizeof *sizes);
    char(*hex)[65] = synap_xcalloc(nslot, sizeof *hex);
    struct synap_file *files = synap_xcalloc(nslot, sizeof *files);
    struct synap_file m = {0};
    struct synap_err ignored;
    int ok = 0;
    char *mp = synap_path_join(entry, "MANIFEST");
    if (S_ISDIR(st.st_mode) && synap_file_read(mp, &m, &ignored) == 0 &&
        parse_manifest(&m, nout, sizes, hex) == 0) {
        ok = 1;
        for (size_t i = 0; i < nslot && ok; i++) {
            char name[32], h[65];
            slot_name(i, nout, name);
            char *fp = synap_path_join(entry, name);
            if (synap_file_read(fp, &files[i], &ignored) < 0 || files[i].size != sizes[i])
                ok = 0;
            else {
                synap_sha256_hex(files[i].data, files[i].size, h);
                if (strcmp(h, hex[i])) ok = 0;
            }
            free(fp);
        }
    }
    free(mp);
    synap_file_close(&m);
    free(sizes);
    free(hex);
    int rc = 1;
    if (ok) {
        for (size_t i = 0; i < nout; i++)
            out[i] = files[i];
        if (warnings)
            *warnings = files[nout];
        else
            synap_file_close(&files[nout]);
    } else {
        for (size_t i = 0; i < nslot; i++)
            synap_file_close(&files[i]);
        if (corrupt) *corrupt = 1;
        rc = remove_entry(c, key, entry, err) < 0 ? -1 : 0;
    }
    free(files);
    free(entry);
    return rc;
}

/* ---- store ------------------------------------------------------------------ */
static int write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) return -1;
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

int synap_cache_store(struct synap_cache *c, const char *key, size_t nout,
                      const uint8_t *const *out, const size_t *out_n, const void *warnings,
                      size_t warnings_n, struct synap_err *err)
{
    if (!valid_key(key)) return synap_errf_io(err, "invalid cache key '%s'", key);
    char *tmp = make_tmpdir(c, key);
    if (!tmp)
        return synap_errf_io(err, "cache directory %s is not writable: %s", c->dir,
                             strerror(errno));
    /* mkdtemp makes 0700; a shared cache wants the usual permissions */
    mode_t um = umask(0);
    umask(um);
    chmod(tmp, 0777 & ~um);

    char *entry = synap_cache_entry_path(c, key);
    size_t mcap = (nout + 1) * 130 + 1, mlen = 0;
    char *manifest = synap_xmalloc(mcap);
    manifest[0] = 0;
    int rc = -1;
    for (size_t i = 0; i <= nout; i++) {
        const void *data = i < nout ? out[i] : warnings;
        size_t n = i < nout ? out_n[i] : warnings_n;
        if (!data) data = "";
        char name[32], label[32], hex[65];
        slot_name(i, nout, name);
        slot_label(i, nout, label);
        char *fp = synap_path_join(tmp, name);
        int w = write_file(fp, data, n);
        int e = errno;
        free(fp);
        if (w < 0) {
            synap_errf_io(err, "cache directory %s is not writable: %s", c->dir, strerror(e));
            goto out;
        }
        synap_sha256_hex(data, n, hex);
        mlen += (size_t)snprintf(manifest + mlen, mcap - mlen, "%s %zu %s\n", label, n, hex);
    }
    char *mp = synap_path_join(tmp, "MANIFEST");
    int w = write_file(mp, manifest, mlen);
    int e = errno;
    free(mp);
    if (w < 0) {
        synap_errf_io(err, "cache directory %s is not writable: %s", c->dir, strerror(e));
        goto out;
    }
    /* the two-hex-digit fan-out directory */
    char *slash = strrchr(entry, '/');
    *slash = 0;
    if (mkdir(entry, 0777) < 0 && errno != EEXIST) {
        synap_errf_io(err, "cache directory %s is not writable: %s", c->dir, strerror(errno));
        goto out;
    }
    *slash = '/';
    if (rename(tmp, entry) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            synap_errf_io(err, "cache directory %s is not writable: %s", c->dir, strerror(errno));
            goto out;
        }
        /* another process stored the same key first: keep theirs */
    } else {
        free(tmp);
        tmp = NULL;
    }
    rc = 0;
out:
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    free(entry);
    free(manifest);
    return rc;
}
