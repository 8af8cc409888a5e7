/* NumPy .npy files: read versions 1-3, write version 1 byte-identical to numpy.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE in v1, uint32
 * LE in v2/v3), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a final '\n', then the raw little-endian C-order
 * data. v3 only allows UTF-8 in the header, which we never need. */
#include "util/npy.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *descr;
    enum synap_dtype dtype;
} descrs[] = {
    {"<f4", SYNAP_DTYPE_FLOAT32}, {"<f8", SYNAP_DTYPE_FLOAT64}, {"<f2", SYNAP_DTYPE_FLOAT16},
    {"|i1", SYNAP_DTYPE_INT8},    {"|u1", SYNAP_DTYPE_UINT8},   {"<i2", SYNAP_DTYPE_INT16},
    {"<u2", SYNAP_DTYPE_UINT16},  {"<i4", SYNAP_DTYPE_INT32},   {"<u4", SYNAP_DTYPE_UINT32},
    {"<i8", SYNAP_DTYPE_INT64},   {"<u8", SYNAP_DTYPE_UINT64},  {"|b1", SYNAP_DTYPE_BOOL},
};
#define NDESCRS (sizeof descrs / sizeof descrs[0])

/* ---- header dict parser ------------------------------------------------------
 * Just enough Python literal syntax for what numpy writes (and hand-written
 * variants with other spacing or key order): string keys, a string, a bool
 * and a tuple of non-negative ints. */
struct hdr {
    const char *p, *end;
};

static void skip_ws(struct hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int eat(struct hdr *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A quoted string into buf (truncation is an error: no valid value is long). */
static int parse_str(struct hdr *h, char *buf, size_t n)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return -1;
    char q = *h->p++;
    size_t k = 0;
    while (h->p < h->end && *h->p != q) {
        if (k + 1 >= n) return -1;
        buf[k++] = *h->p++;
    }
    if (h->p >= h->end) return -1;
    h->p++;
    buf[k] = '\0';
    return 0;
}

static int parse_word(struct hdr *h, const char *w)
{
    skip_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n)) return -1;
    h->p += n;
    return 0;
}

static int parse_shape(struct hdr *h, int *rank, int64_t *dims, const char **why)
{
    *why = "bad 'shape'";
    if (!eat(h, '(')) return -1;
    *rank = 0;
    for (;;) {
        if (eat(h, ')')) return 0;
        skip_ws(h);
        if (h->p >= h->end || *h->p < '0' || *h->p > '9') return -1;
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            if (v > (INT64_MAX - 9) / 10) {
                *why = "shape overflow";
                return -1;
            }
            v = v * 10 + (*h->p++ - '0');
        }
        if (*rank == SYNAP_MAX_RANK) {
            *why = "rank above 8";
            return -1;
        }
        dims[(*rank)++] = v;
        if (eat(h, ',')) continue;
        if (eat(h, ')')) return 0;
        return -1;
    }
}

/* 0, -1 with *why, or -2 for an unknown dtype (its descr in `descr`). */
static int parse_header(const char *s, size_t n, enum synap_dtype *dtype, int *rank, int64_t *dims,
                        char descr[32], const char **why)
{
    struct hdr h = {s, s + n};
    int have_descr = 0, have_order = 0, have_shape = 0;
    *why = "malformed header";
    if (!eat(&h, '{')) return -1;
    for (;;) {
        char key[32];
        if (eat(&h, '}')) break;
        if (parse_str(&h, key, sizeof key) || !eat(&h, ':')) return -1;
        if (!strcmp(key, "descr")) {
            if (parse_str(&h, descr, 32)) return -1;
            size_t k = 0;
            while (k < NDESCRS && strcmp(descrs[k].descr, descr))
                k++;
            if (k == NDESCRS) return -2;
            *dtype = descrs[k].dtype;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (!parse_word(&h, "False")) {
                have_order = 1;
            } else if (!parse_word(&h, "True")) {
                *why = "Fortran order is not supported";
                return -1;
            } else {
                return -1;
            }
        } else if (!strcmp(key, "shape")) {
            if (parse_shape(&h, rank, dims, why)) return -1;
            *why = "malformed header";
            have_shape = 1;
        } else {
            return -1;
        }
        if (eat(&h, '}')) break;
        if (!eat(&h, ',')) return -1;
    }
    skip_ws(&h);
    if (h.p != h.end) return -1;
    if (!have_descr || !have_order || !have_shape) {
        *why = "header lacks descr, fortran_order or shape";
        return -1;
    }
    return 0;
}

int synap_npy_parse(const void *buf, size_t n, const char *what, struct synap_value *v,
                    struct synap_err *err)
{
    const uint8_t *p = buf;
    memset(v, 0, sizeof *v);
    if (n < 10 || memcmp(p, "\x93NUMPY", 6)) return synap_errf(err, "%s: not a .npy file", what);
    unsigned major = p[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)p[8] | (size_t)p[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) return synap_errf(err, "%s: truncated header", what);
        hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
        start = 12;
    } else {
        return synap_errf(err, "%s: unsupported .npy version %u.%u", what, major, p[7]);
    }
    if (hlen > n - start) return synap_errf(err, "%s: truncated header", what);

    enum synap_dtype dtype = SYNAP_DTYPE_UNDEFINED;
    int rank = 0;
    int64_t dims[SYNAP_MAX_RANK] = {0};
    const char *why;
    char descr[32];
    int rc = parse_header((const char *)p + start, hlen, &dtype, &rank, dims, descr, &why);
    if (rc == -2) return synap_errf(err, "%s: unsupported dtype '%s'", what, descr);
    if (rc) return synap_errf(err, "%s: %s", what, why);

    size_t nelem = 1, nbytes;
    for (int d = 0; d < rank; d++)
        if (synap_mul_overflow(nelem, (size_t)dims[d], &nelem))
            return synap_errf(err, "%s: shape overflow", what);
    if (synap_mul_overflow(nelem, synap_dtype_size(dtype), &nbytes) || nelem > (size_t)INT64_MAX)
        return synap_errf(err, "%s: shape overflow", what);
    size_t avail = n - start - hlen;
    if (avail < nbytes)
        return synap_errf(err, "%s: truncated data: %zu of %zu bytes", what, avail, nbytes);
    if (avail > nbytes)
        return synap_errf(err, "%s: %zu bytes after the data", what, avail - nbytes);

    v->dtype = dtype;
    v->rank = rank;
    memcpy(v->dims, dims, sizeof dims);
    v->data = synap_xaligned(nbytes ? nbytes : 1);
    if (nbytes) memcpy(v->data, p + start + hlen, nbytes);
    return 0;
}

int synap_npy_read(const char *path, struct synap_value *v, struct synap_err *err)
{
    struct synap_file f;
    if (synap_file_read(path, &f, err)) return -1;
    int rc = synap_npy_parse(f.data, f.size, strcmp(path, "-") ? path : "<stdin>", v, err);
    synap_file_close(&f);
    return rc;
}

int synap_npy_write(const char *path, const struct synap_value *v, struct synap_err *err)
{
    const char *descr = NULL;
    for (size_t k = 0; k < NDESCRS; k++)
        if (descrs[k].dtype == v->dtype) descr = descrs[k].descr;
    if (!descr)
        return synap_errf(err, "%s: %s has no .npy dtype", path, synap_dtype_name(v->dtype));
    if (v->rank < 0 || v->rank > SYNAP_MAX_RANK)
        return synap_errf(err, "%s: invalid rank %d", path, v->rank);
    size_t nelem = 1, nbytes;
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d] < 0 || synap_mul_overflow(nelem, (size_t)v->dims[d], &nelem))
            return synap_errf(err, "%s: invalid shape", path);
    if (synap_mul_overflow(nelem, synap_dtype_size(v->dtype), &nbytes))
        return synap_errf(err, "%s: invalid shape", path);
    if (nbytes && !v->data) return synap_errf(err, "%s: no data", path);

    /* exactly numpy 1.24's _write_array_header: sorted keys, repr() values,
     * spare spaces for growing axis 0 (GROWTH_AXIS_MAX_DIGITS = 21), then
     * spaces and '\n' so that the data starts at a multiple of 64 */
    char dict[512];
    int len =
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int d = 0; d < v->rank; d++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%" PRId64, d ? ", " : "",
                        v->dims[d]);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", v->rank == 1 ? "," : "");
    if (v->rank > 0) {
        char d0[24];
        int w = snprintf(d0, sizeof d0, "%" PRId64, v->dims[0]);
        for (int k = w; k < 21; k++)
            dict[len++] = ' ';
    }
    size_t hlen = (size_t)len + 1;         /* + '\n' */
    size_t padlen = 64 - (10 + hlen) % 64; /* 1..64, as numpy does */
    size_t total_hdr = 10 + hlen + padlen;
    size_t total;
    if (synap_add_overflow(total_hdr, nbytes, &total))
        return synap_errf(err, "%s: invalid shape", path);
    uint8_t *buf = synap_xmalloc(total);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((hlen + padlen) & 0xff);
    buf[9] = (uint8_t)((hlen + padlen) >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', padlen);
    buf[total_hdr - 1] = '\n';
    if (nbytes) memcpy(buf + total_hdr, v->data, nbytes);
    int rc = synap_file_write_atomic(path, buf, total, err);
    free(buf);
    return rc;
}
