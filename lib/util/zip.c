/* ZIP archives for model.synap: a reproducible writer and a bounds-checked reader.
 *
 * THE ZIP SUBSET (PKWARE APPNOTE 6.3.x, no ZIP64, no compression)
 *
 * Archive = for each entry, in the order added:
 *     local file header (30 bytes, little-endian)
 *         0x04034b50, version needed 10, flags 0, method 0 (stored),
 *         DOS time 0, DOS date 0x0021 (1980-01-01), crc32, size, size,
 *         name length, extra length
 *     name (no NUL, '/'-separated, relative, no "..", <= 255 bytes)
 *     extra: one record 0xd935 (the alignment record of Android's zipalign /
 *         apksigner): u16 id, u16 length, u16 alignment (64), zeros, sized so
 *         that the entry's data starts at a file offset that is a multiple of 64
 *     data (stored: exactly the entry's bytes)
 * then the central directory, one 46-byte header per entry (version made by
 * 10 = MS-DOS, so external attributes 0 mean "a plain file"; no extra, no
 * comment), then the 22-byte end-of-central-directory record (no comment).
 * Nothing depends on the clock or the machine, so the same entries give the
 * same bytes; the 64-byte alignment lets a reader use the mapped data in
 * place (weights included).
 *
 * The reader accepts any archive of this subset written by other tools too
 * (any alignment, any local extra field, an archive comment), checks every
 * offset and length against the bytes it has, and verifies every CRC. It
 * refuses compressed or encrypted entries, ZIP64 archives, multi-disk
 * archives, unsafe names (absolute, "..", backslashes, NUL) and duplicates.
 */
#include "util/zip.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_SIG 0x04034b50u
#define CENTRAL_SIG 0x02014b50u
#define END_SIG 0x06054b50u
#define LOCAL_SIZE 30
#define CENTRAL_SIZE 46
#define END_SIZE 22
#define ALIGN 64
#define ALIGN_EXTRA_ID 0xd935u
#define DOS_DATE_1980 0x0021u
#define ZIP_VERSION 10 /* 1.0: stored entries, no features */

/* ---- CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32) ------------ */
/* Slicing-by-16: crc_table[k][b] is the CRC contribution of byte b followed by
 * k zero bytes, so 16 input bytes cost 16 independent table loads instead of
 * 16 dependent steps. Loading a model.synap verifies the CRC of every weight,
 * and this makes that several times faster than one byte per step. The bytes
 * are assembled little-endian by hand (no word loads through casts), so the
 * code is portable and independent of the host's byte order and alignment. */
static uint32_t crc_table[16][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 16; k++) {
            uint32_t c = crc_table[k - 1][i];
            crc_table[k][i] = crc_table[0][c & 0xff] ^ (c >> 8);
        }
}

uint32_t synap_crc32(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t(*t)[256] = crc_table;
    crc = ~crc;
    for (; n >= 16; n -= 16, p += 16) {
        uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24);
        crc = t[15][a & 0xff] ^ t[14][(a >> 8) & 0xff] ^ t[13][(a >> 16) & 0xff] ^ t[12][a >> 24] ^
              t[11][p[4]] ^ t[10][p[5]] ^ t[9][p[6]] ^ t[8][p[7]] ^ t[7][p[8]] ^ t[6][p[9]] ^
              t[5][p[10]] ^ t[4][p[11]] ^ t[3][p[12]] ^ t[2][p[13]] ^ t[1][p[14]] ^ t[0][p[15]];
    }
    while (n--)
        crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian helpers ---------------------------------------------------- */
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct buf {
    uint8_t *data;
    size_t n, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
    if (more <= b->cap - b->n) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (more > cap - b->n) {
        if (cap > SIZE_MAX / 2) abort(); /* cannot happen before memory runs out */
        cap *= 2;
    }
    b->data = synap_xrealloc(b->data, cap);
    b->cap = cap;
}
static void put(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->n, p, n);
    b->n += n;
}
static void put16(struct buf *b, uint32_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, p, 2);
}
static void put32(struct buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, p, 4);
}
static void put_zeros(struct buf *b, size_t n)
{
    buf_reserve(b, n);
    memset(b->data + b->n, 0, n);
    b->n += n;
}

/* ---- writer ------------------------------------------------------------------- */
struct zipw_entry {
    char *name;
    uint32_t crc, size, offset;
};

struct synap_zipw {
    struct buf out; /* local headers and data so far */
    struct zipw_entry *entries;
    size_t nentries, cap;
};

struct synap_zipw *synap_zipw_new(void)
{
    return synap_xcalloc(1, sizeof(struct synap_zipw));
}

/* Without ZIP64 every size and offset must fit 32 bits. Callers (synap-pack)
 * check the total before adding; reaching this is a programming error, and
 * writing a wrong archive would be worse than stopping. */
static uint32_t fit32(size_t v)
{
    if (v > 0xffffffffu) abort();
    return (uint32_t)v;
}

void synap_zipw_add(struct synap_zipw *z, const char *name, const void *data, size_t n)
{
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > 255) abort(); /* the header promises callers' names fit */
    if (z->nentries == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 8;
        z->entries = synap_xrealloc(z->entries, z->cap * sizeof *z->entries);
    }
    struct zipw_entry *e = &z->entries[z->nentries++];
    e->name = synap_xstrdup(name);
    e->crc = synap_crc32(0, data, n);
    e->size = fit32(n);
    e->offset = fit32(z->out.n);

    /* The extra field is one alignment record of at least 6 bytes (id, length,
     * alignment), padded with zeros up to the next multiple of 64. */
    size_t start = z->out.n + LOCAL_SIZE + nlen + 6;
    size_t extra = 6 + (ALIGN - start % ALIGN) % ALIGN;

    struct buf *b = &z->out;
    put32(b, LOCAL_SIG);
    put16(b, ZIP_VERSION);
    put16(b, 0); /* flags */
    put16(b, 0); /* method: stored */
    put16(b, 0); /* time */
    put16(b, DOS_DATE_1980);
    put32(b, e->crc);
    put32(b, e->size);
    put32(b, e->size);
    put16(b, (uint32_t)nlen);
    put16(b, (uint32_t)extra);
    put(b, name, nlen);
    put16(b, ALIGN_EXTRA_ID);
    put16(b, (uint32_t)(extra - 4));
    put16(b, ALIGN);
    put_zeros(b, extra - 6);
    put(b, data, n);
    fit32(b->n);
}

void synap_zipw_finish(struct synap_zipw *z, uint8_t **out, size_t *n)
{
    struct buf *b = &z->out;
    uint32_t cd_offset = fit32(b->n);
    for (size_t i = 0; i < z->nentries; i++) {
        const struct zipw_entry *e = &z->entries[i];
        size_t nlen = strlen(e->name);
        put32(b, CENTRAL_SIG);
        put16(b, ZIP_VERSION); /* made by: MS-DOS, 1.0 */
        put16(b, ZIP_VERSION); /* needed */
        put16(b, 0);           /* flags */
        put16(b, 0);           /* method */
        put16(b, 0);           /* time */
        put16(b, DOS_DATE_1980);
        put32(b, e->crc);
        put32(b, e->size);
        put32(b, e->size);
        put16(b, (uint32_t)nlen);
        put16(b, 0); /* extra */
        put16(b, 0); /* comment */
        put16(b, 0); /* disk */
        put16(b, 0); /* internal attributes */
        put32(b, 0); /* external attributes */
        put32(b, e->offset);
        put(b, e->name, nlen);
        free(e->name);
    }
    uint32_t cd_size = fit32(b->n - cd_offset);
    if (z->nentries > 0xffff) abort(); /* ZIP64 territory: see fit32 */
    put32(b, END_SIG);
    put16(b, 0); /* this disk */
    put16(b, 0); /* disk of the central directory */
    put16(b, (uint32_t)z->nentries);
    put16(b, (uint32_t)z->nentries);
    put32(b, cd_size);
    put32(b, cd_offset);
    put16(b, 0); /* comment length */
    *out = b->data;
    *n = b->n;
    free(z->entries);
    free(z);
}

/* ---- reader ------------------------------------------------------------------- */
void synap_zip_free(struct synap_zip *z)
{
    if (!z) return;
    for (size_t i = 0; i < z->nentries; i++)
        free((char *)z->entries[i].name);
    free(z->entries);
    z->entries = NULL;
    z->nentries = 0;
}

/* A name is safe when extracting it cannot leave the target folder and it
 * reads the same everywhere: relative, '/'-separated, no empty, "." or ".."
 * component, no backslash, no NUL, no control characters. */
static const char *name_problem(const uint8_t *s, size_t n)
{
    if (n == 0) return "empty name";
    if (s[0] == '/') return "absolute name";
    size_t comp = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            size_t len = i - comp;
            if (len == 0 && i != n) return "empty path component";
            if (len == 1 && s[comp] == '.') return "'.' path component";
            if (len == 2 && s[comp] == '.' && s[comp + 1] == '.') return "'..' path component";
            comp = i + 1;
            continue;
        }
        if (s[i] == 0) return "NUL in name";
        if (s[i] == '\\') return "backslash in name";
        if (s[i] < 0x20 || s[i] == 0x7f) return "control character in name";
    }
    return NULL;
}

/* Every error path: the message is already set; nothing half-built survives. */
static int fail(struct synap_zip *z, struct synap_err *err)
{
    (void)err;
    synap_zip_free(z);
    return -1;
}

int synap_zip_open(const uint8_t *data, size_t n, const char *what, struct synap_zip *z,
                   struct synap_err *err)
{
    z->entries = NULL;
    z->nentries = 0;
    if (n < END_SIZE) {
        synap_errf(err, "%s: not a ZIP archive (%zu bytes, too short)", what, n);
        return fail(z, err);
    }
    /* The end record is the last 22 bytes plus its comment (<= 65535 bytes);
     * search backwards for a signature whose comment length reaches the end
     * exactly. */
    size_t end = SIZE_MAX;
    size_t lowest = n - END_SIZE > 0xffff ? n - END_SIZE - 0xffff : 0;
    for (size_t pos = n - END_SIZE + 1; pos-- > lowest;) {
        if (rd32(data + pos) == END_SIG && pos + END_SIZE + rd16(data + pos + 20) == n) {
            end = pos;
            break;
        }
    }
    if (end == SIZE_MAX) {
        synap_errf(err, "%s: not a ZIP archive (no end of central directory record)", what);
        return fail(z, err);
    }
    const uint8_t *e = data + end;
    uint32_t count = rd16(e + 10), cd_size = rd32(e + 12), cd_offset = rd32(e + 16);
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != count) {
        synap_errf(err, "%s: multi-disk ZIP archives are not supported", what);
        return fail(z, err);
    }
    if (count == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
        synap_errf(err, "%s: ZIP64 archives are not supported", what);
        return fail(z, err);
    }
    if (cd_offset > end || cd_size > end - cd_offset) {
        synap_errf(err, "%s: central directory (offset %u, %u bytes) outside the file", what,
                   cd_offset, cd_size);
        return fail(z, err);
    }
    /* Each central header takes at least 46 bytes: a count that cannot fit is
     * damage, found before allocating for it. */
    if ((size_t)count * CENTRAL_SIZE > cd_size) {
        synap_errf(err, "%s: central directory of %u bytes cannot hold %u entries", what, cd_size,
                   count);
        return fail(z, err);
    }
    z->entries = synap_xcalloc(count ? count : 1, sizeof *z->entries);

    size_t pos = cd_offset, cd_end = (size_t)cd_offset + cd_size;
    struct synap_esc esc; /* names come from the file: one line, bounded length */
    for (uint32_t i = 0; i < count; i++) {
        if (cd_end - pos < CENTRAL_SIZE || rd32(data + pos) != CENTRAL_SIG) {
            synap_errf(err, "%s: entry %u: damaged central directory header", what, i);
            return fail(z, err);
        }
        const uint8_t *c = data + pos;
        uint32_t flags = rd16(c + 8), method = rd16(c + 10), crc = rd32(c + 16);
        uint32_t csize = rd32(c + 20), usize = rd32(c + 24);
        uint32_t nlen = rd16(c + 28), xlen = rd16(c + 30), klen = rd16(c + 32);
        uint32_t disk = rd16(c + 34), off = rd32(c + 42);
        if ((size_t)nlen + xlen + klen > cd_end - pos - CENTRAL_SIZE) {
            synap_errf(err, "%s: entry %u: central directory header runs past its end", what, i);
            return fail(z, err);
        }
        const uint8_t *name = c + CENTRAL_SIZE;
        const char *bad = name_problem(name, nlen);
        if (bad) {
            synap_errf(err, "%s: entry %u: unsafe name '%s' (%s)", what, i,
                       synap_escn(&esc, (const char *)name, nlen), bad);
            return fail(z, err);
        }
        char *copy = synap_xmalloc(nlen + 1);
        memcpy(copy, name, nlen);
        copy[nlen] = 0;
        z->entries[i].name = copy;
        z->nentries = i + 1;
        const char *qname = synap_esc(&esc, copy); /* for messages */
        if (method != 0) {
            synap_errf(err,
                       "%s: entry '%s': compressed (method %u); only stored entries are supported",
                       what, qname, method);
            return fail(z, err);
        }
        if (flags & 0x41) { /* bit 0 encrypted, bit 6 strong encryption */
            synap_errf(err, "%s: entry '%s': encrypted entries are not supported", what, qname);
            return fail(z, err);
        }
        if (csize != usize) {
            synap_errf(err, "%s: entry '%s': stored entry with sizes %u and %u", what, qname, csize,
                       usize);
            return fail(z, err);
        }
        if (csize == 0xffffffffu || off == 0xffffffffu || disk != 0) {
            synap_errf(err, "%s: entry '%s': ZIP64 or multi-disk entries are not supported", what,
                       qname);
            return fail(z, err);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(z->entries[j].name, copy) == 0) {
                synap_errf(err, "%s: entry '%s' appears twice", what, qname);
                return fail(z, err);
            }
        }
        /* The local header must lie before the central directory, name the
         * same entry, and its data must end before the central directory. */
        if (off > cd_offset || cd_offset - off < LOCAL_SIZE || rd32(data + off) != LOCAL_SIG) {
            synap_errf(err, "%s: entry '%s': local header at offset %u is missing or damaged", what,
                       qname, off);
            return fail(z, err);
        }
        const uint8_t *l = data + off;
        uint32_t lnlen = rd16(l + 26), lxlen = rd16(l + 28);
        size_t dstart = (size_t)off + LOCAL_SIZE + lnlen + lxlen;
        if (rd16(l + 8) != method || lnlen != nlen || dstart > cd_offset ||
            memcmp(l + LOCAL_SIZE, name, nlen) != 0) {
            synap_errf(err, "%s: entry '%s': local header does not match the central directory",
                       what, qname);
            return fail(z, err);
        }
        if (usize > cd_offset - dstart) {
            synap_errf(err, "%s: entry '%s': data (offset %zu, %u bytes) outside the file", what,
                       qname, dstart, usize);
            return fail(z, err);
        }
        if (synap_crc32(0, data + dstart, usize) != crc) {
            synap_errf(err, "%s: entry '%s': CRC mismatch (damaged data)", what, qname);
            return fail(z, err);
        }
        z->entries[i].data = data + dstart;
        z->entries[i].size = usize;
        pos += CENTRAL_SIZE + (size_t)nlen + xlen + klen;
    }
    return 0;
}

const struct synap_zip_entry *synap_zip_find(const struct synap_zip *z, const char *name)
{
    for (size_t i = 0; i < z->nentries; i++)
        if (strcmp(z->entries[i].name, name) == 0) return &z->entries[i];
    return NULL;
}
