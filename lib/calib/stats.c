/* Reading and writing calibration statistics (20-calib.stats).
 *
 * Format "synap-calib-stats", version 2: one msgpack map, keys sorted, every
 * key present, no others:
 *
 *   "bins":     2048                       SYNAP_CALIB_BINS (a reader refuses another)
 *   "channels": array (in the order synap-calib measured them) of maps:
 *       "absmax":  array of float64        per channel, the largest |x| (>= 0)
 *       "name":    str                     a tensor of the UNPREPARED IR
 *   "format":   "synap-calib-stats"
 *   "nsamples": uint                       samples of the data set
 *   "tensors":  array, sorted by "tensor" (strictly increasing), of maps:
 *       "count":   uint                    finite elements seen over the data set
 *       "hist":    array of 2048 uint      counts; they add up to "count"
 *       "hist_hi": float64                 = "max"
 *       "hist_lo": float64                 = "min"
 *       "ma_max":  float64                 moving average of the per-sample max
 *       "ma_min":  float64                 moving average of the per-sample min
 *       "max":     float64
 *       "min":     float64                 min <= max (both 0 when count is 0)
 *       "name":    str                     the tensor's name in the IR
 *       "tensor":  uint                    its index in the IR (< 2^32)
 *   "version":  2
 *
 * Version 1 is the same without "channels" (5 keys); readers accept it.
 *
 * Integers take msgpack's smallest encoding; floats are always float64
 * (0xcb), so the bytes depend only on the values. Bin b of a tensor holds
 * the finite values x with floor((x - lo) * (2048 / (hi - lo))) == b, computed
 * in double (the last bin also holds hi; everything is in bin 0 when
 * hi == lo) -- lib/calib/calib.c computes it exactly that way. Readers accept any integer encoding
 * and float32 or float64 for the floats, but keys must come sorted. Version bumps go with changes
 * of this comment. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/stats.h"

#define STATS_FORMAT "synap-calib-stats"
#define STATS_VERSION 2

/* ---- writer ----------------------------------------------------------------- */
struct wbuf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct wbuf *b, const void *d, size_t n)
{
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (n > cap - b->n)
            cap *= 2;
        b->p = synap_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_be(struct wbuf *b, uint8_t tag, uint64_t v, int nbytes)
{
    uint8_t t[9];
    t[0] = tag;
    for (int i = 0; i < nbytes; i++)
        t[1 + i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    put(b, t, 1 + (size_t)nbytes);
}

static void put_uint(struct wbuf *b, uint64_t v)
{
    if (v < 128) {
        uint8_t c = (uint8_t)v;
        put(b, &c, 1);
    } else if (v <= 0xff) {
        put_be(b, 0xcc, v, 1);
    } else if (v <= 0xffff) {
        put_be(b, 0xcd, v, 2);
    } else if (v <= 0xffffffffu) {
        put_be(b, 0xce, v, 4);
    } else {
        put_be(b, 0xcf, v, 8);
    }
}

static void put_f64(struct wbuf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_be(b, 0xcb, u, 8);
}

static void put_hdr(struct wbuf *b, uint8_t fix, uint8_t tag16, uint64_t n)
{
    if (n < 16)
        put_be(b, (uint8_t)(fix | n), 0, 0);
    else if (n <= 0xffff)
        put_be(b, tag16, n, 2);
    else
        put_be(b, (uint8_t)(tag16 + 1), n, 4);
}

static void put_str(struct wbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (n < 32)
        put_be(b, (uint8_t)(0xa0 | n), 0, 0);
    else if (n <= 0xff)
        put_be(b, 0xd9, n, 1);
    else if (n <= 0xffff)
        put_be(b, 0xda, n, 2);
    else
        put_be(b, 0xdb, n, 4);
    put(b, s, n);
}

static void put_channels(struct wbuf *b, const struct synap_calib_stats *s)
{
    put_hdr(b, 0x90, 0xdc, s->nchannels);
    for (size_t i = 0; i < s->nchannels; i++) {
        put_hdr(b, 0x80, 0xde, 2);
        put_str(b, "absmax");
        put_hdr(b, 0x90, 0xdc, (uint64_t)s->ch[i].n);
        for (int64_t c = 0; c < s->ch[i].n; c++)
            put_f64(b, s->ch[i].absmax[c]);
        put_str(b, "name");
        put_str(b, s->ch[i].name);
    }
}

void synap_calib_channels_write(const struct synap_calib_stats *s, uint8_t **out, size_t *n)
{
    struct wbuf b = {0};
    put_channels(&b, s);
    *out = b.p;
    *n = b.n;
}

int synap_calib_stats_write(const struct synap_calib_stats *s, uint8_t **out, size_t *n,
                            struct synap_err *err)
{
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < s->ntensors; i++) {
        const struct synap_tensor_stats *t = &s->t[i];
        if (i && t->tensor <= s->t[i - 1].tensor)
            return synap_errf_io(err, "calibration statistics: tensors not sorted");
        if (!t->name || strlen(t->name) > 0xffffffffu)
            return synap_errf_io(err, "calibration statistics: tensor %u has no name", t->tensor);
    }
    if (s->ntensors > 0xffffffffu)
        return synap_errf_io(err, "calibration statistics: too many tensors");
    for (size_t i = 0; i < s->nchannels; i++)
        if (!s->ch[i].name || s->ch[i].n < 0 || (s->ch[i].n && !s->ch[i].absmax))
            return synap_errf_io(err, "calibration statistics: bad channel ranges %zu", i);
    struct wbuf b = {0};
    put_hdr(&b, 0x80, 0xde, 6);
    put_str(&b, "bins");
    put_uint(&b, SYNAP_CALIB_BINS);
    put_str(&b, "channels");
    put_channels(&b, s);
    put_str(&b, "format");
    put_str(&b, STATS_FORMAT);
    put_str(&b, "nsamples");
    put_uint(&b, s->nsamples);
    put_str(&b, "tensors");
    put_hdr(&b, 0x90, 0xdc, s->ntensors);
    for (size_t i = 0; i < s->ntensors; i++) {
        const struct synap_tensor_stats *t = &s->t[i];
        put_hdr(&b, 0x80, 0xde, 10);
        put_str(&b, "count");
        put_uint(&b, t->count);
        put_str(&b, "hist");
        put_hdr(&b, 0x90, 0xdc, SYNAP_CALIB_BINS);
        for (size_t k = 0; k < SYNAP_CALIB_BINS; k++)
            put_uint(&b, t->hist[k]);
        put_str(&b, "hist_hi");
        put_f64(&b, t->hist_hi);
        put_str(&b, "hist_lo");
        put_f64(&b, t->hist_lo);
        put_str(&b, "ma_max");
        put_f64(&b, t->ma_max);
        put_str(&b, "ma_min");
        put_f64(&b, t->ma_min);
        put_str(&b, "max");
        put_f64(&b, t->max);
        put_str(&b, "min");
        put_f64(&b, t->min);
        put_str(&b, "name");
        put_str(&b, t->name);
        put_str(&b, "tensor");
        put_uint(&b, t->tensor);
    }
    put_str(&b, "version");
    put_uint(&b, STATS_VERSION);
    *out = b.p;
    *n = b.n;
    return 0;
}

/* ---- reader: a strict cursor over the bytes, no allocation per object ------ */
struct rd {
    const uint8_t *p;
    size_t n, pos;
    const char *what;
    struct synap_err *err;
};

static int bad(struct rd *r, const char *field, const char *why)
{
    return synap_errf(r->err, "%s: calibration statistics: %s: %s (at byte %zu)", r->what, field,
                      why, r->pos);
}

static int need(struct rd *r, size_t k, const char *field)
{
    if (k > r->n - r->pos) return bad(r, field, "truncated");
    return 0;
}

static uint64_t rbe(struct rd *r, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | r->p[r->pos++];
    return v;
}

/* Map (is_map) or array header: its count. */
static int get_hdr(struct rd *r, int is_map, const char *field, uint64_t *count)
{
    if (need(r, 1, field) < 0) return -1;
    uint8_t b = r->p[r->pos];
    uint8_t fix = is_map ? 0x80 : 0x90, t16 = is_map ? 0xde : 0xdc;
    int k;
    if ((b & 0xf0) == fix) {
        r->pos++;
        *count = b & 0x0f;
        return 0;
    } else if (b == t16) {
        k = 2;
    } else if (b == t16 + 1) {
        k = 4;
    } else {
        return bad(r, field, is_map ? "expected a map" : "expected an array");
    }
    r->pos++;
    if (need(r, (size_t)k, field) < 0) return -1;
    *count = rbe(r, k);
    /* every element takes at least one byte (two for a map entry) */
    if (*count > (r->n - r->pos) / (is_map ? 2 : 1)) return bad(r, field, "count exceeds the data");
    return 0;
}

static int get_uint(struct rd *r, const char *field, uint64_t *v)
{
    if (need(r, 1, field) < 0) return -1;
    uint8_t b = r->p[r->pos];
    if (b < 0x80) {
        r->pos++;
        *v = b;
        return 0;
    }
    int k = b == 0xcc ? 1 : b == 0xcd ? 2 : b == 0xce ? 4 : b == 0xcf ? 8 : 0;
    if (!k) { /* signed encodings of non-negative values are fine too */
        k = b == 0xd0 ? 1 : b == 0xd1 ? 2 : b == 0xd2 ? 4 : b == 0xd3 ? 8 : 0;
        if (!k) return bad(r, field, "expected an unsigned integer");
        r->pos++;
        if (need(r, (size_t)k, field) < 0) return -1;
        uint64_t u = rbe(r, k);
        if (u >> (8 * k - 1) & 1) return bad(r, field, "expected an unsigned integer");
        *v = u;
        return 0;
    }
    r->pos++;
    if (need(r, (size_t)k, field) < 0) return -1;
    *v = rbe(r, k);
    return 0;
}

static int get_f64(struct rd *r, const char *field, double *v)
{
    if (need(r, 1, field) < 0) return -1;
    uint8_t b = r->p[r->pos];
    if (b == 0xcb) {
        r->pos++;
        if (need(r, 8, field) < 0) return -1;
        uint64_t u = rbe(r, 8);
        memcpy(v, &u, 8);
    } else if (b == 0xca) {
        r->pos++;
        if (need(r, 4, field) < 0) return -1;
        uint32_t u = (uint32_t)rbe(r, 4);
        float f;
        memcpy(&f, &u, 4);
        *v = f;
    } else {
        return bad(r, field, "expected a float");
    }
    if (!isfinite(*v)) return bad(r, field, "not a finite number");
    return 0;
}

/* A string: pointer into the data and its length. */
static int get_str(struct rd *r, const char *field, const char **s, size_t *len)
{
    if (need(r, 1, field) < 0) return -1;
    uint8_t b = r->p[r->pos];
    uint64_t n;
    if ((b & 0xe0) == 0xa0) {
        r->pos++;
        n = b & 0x1f;
    } else if (b == 0xd9 || b == 0xda || b == 0xdb) {
        int k = b == 0xd9 ? 1 : b == 0xda ? 2 : 4;
        r->pos++;
        if (need(r, (size_t)k, field) < 0) return -1;
        n = rbe(r, k);
    } else {
        return bad(r, field, "expected a string");
    }
    if (need(r, n, field) < 0) return -1;
    *s = (const char *)r->p + r->pos;
    *len = n;
    r->pos += n;
    return 0;
}

static int key(struct rd *r, const char *want)
{
    const char *s;
    size_t n;
    if (get_str(r, want, &s, &n) < 0) return -1;
    if (n != strlen(want) || memcmp(s, want, n)) {
        struct synap_esc e;
        char why[320];
        snprintf(why, sizeof why, "expected key '%s', found '%s'", want, synap_escn(&e, s, n));
        return bad(r, want, why);
    }
    return 0;
}

/* The key "name" and its string, copied NUL-terminated into a. */
static int get_name(struct rd *r, struct synap_arena *a, const char **out)
{
    const char *name;
    size_t len;
    if (key(r, "name") < 0 || get_str(r, "name", &name, &len) < 0) return -1;
    if (memchr(name, 0, len)) return bad(r, "name", "contains a NUL byte");
    char *nm = synap_arena_alloc(a, len + 1); /* zeroed: terminated */
    memcpy(nm, name, len);
    *out = nm;
    return 0;
}

static int read_tensor(struct rd *r, struct synap_calib_stats *s, size_t i)
{
    struct synap_tensor_stats *t = &s->t[i];
    uint64_t nkeys, nbins, u;
    if (get_hdr(r, 1, "tensors[]", &nkeys) < 0) return -1;
    if (nkeys != 10) return bad(r, "tensors[]", "expected 10 keys");
    if (key(r, "count") < 0 || get_uint(r, "count", &t->count) < 0) return -1;
    if (key(r, "hist") < 0 || get_hdr(r, 0, "hist", &nbins) < 0) return -1;
    if (nbins != SYNAP_CALIB_BINS) return bad(r, "hist", "expected 2048 bins");
    uint64_t sum = 0;
    for (size_t k = 0; k < SYNAP_CALIB_BINS; k++) {
        if (get_uint(r, "hist", &t->hist[k]) < 0) return -1;
        if (t->hist[k] > UINT64_MAX - sum) return bad(r, "hist", "counts overflow");
        sum += t->hist[k];
    }
    if (key(r, "hist_hi") < 0 || get_f64(r, "hist_hi", &t->hist_hi) < 0) return -1;
    if (key(r, "hist_lo") < 0 || get_f64(r, "hist_lo", &t->hist_lo) < 0) return -1;
    if (key(r, "ma_max") < 0 || get_f64(r, "ma_max", &t->ma_max) < 0) return -1;
    if (key(r, "ma_min") < 0 || get_f64(r, "ma_min", &t->ma_min) < 0) return -1;
    if (key(r, "max") < 0 || get_f64(r, "max", &t->max) < 0) return -1;
    if (key(r, "min") < 0 || get_f64(r, "min", &t->min) < 0) return -1;
    if (get_name(r, s->arena, &t->name) < 0) return -1;
    if (key(r, "tensor") < 0 || get_uint(r, "tensor", &u) < 0) return -1;
    if (u > UINT32_MAX - 1) return bad(r, "tensor", "index out of range");
    t->tensor = (uint32_t)u;
    if (i && t->tensor <= s->t[i - 1].tensor) return bad(r, "tensor", "indices not increasing");
    if (sum != t->count) return bad(r, "hist", "counts do not add up to 'count'");
    if (t->min > t->max || t->hist_lo != t->min || t->hist_hi != t->max)
        return bad(r, "min", "inconsistent range (min > max or histogram range != [min, max])");
    return 0;
}

static int read_channels(struct rd *r, struct synap_calib_stats *s)
{
    uint64_t nc, nkeys, nv;
    if (get_hdr(r, 0, "channels", &nc) < 0) return -1;
    s->nchannels = (size_t)nc;
    s->ch = synap_arena_alloc(s->arena, (nc ? nc : 1) * sizeof *s->ch);
    for (size_t i = 0; i < nc; i++) {
        struct synap_chan_stats *c = &s->ch[i];
        if (get_hdr(r, 1, "channels[]", &nkeys) < 0) return -1;
        if (nkeys != 2) return bad(r, "channels[]", "expected 2 keys");
        if (key(r, "absmax") < 0 || get_hdr(r, 0, "absmax", &nv) < 0) return -1;
        c->n = (int64_t)nv;
        c->absmax = synap_arena_alloc(s->arena, (nv ? nv : 1) * sizeof *c->absmax);
        for (size_t k = 0; k < nv; k++) {
            if (get_f64(r, "absmax", &c->absmax[k]) < 0) return -1;
            if (c->absmax[k] < 0) return bad(r, "absmax", "negative");
        }
        if (get_name(r, s->arena, &c->name) < 0) return -1;
    }
    return 0;
}

int synap_calib_stats_read(const uint8_t *data, size_t n, const char *what,
                           struct synap_calib_stats *s, struct synap_err *err)
{
    memset(s, 0, sizeof *s);
    struct rd r = {data, n, 0, what, err};
    uint64_t nkeys, u, nt;
    const char *str;
    size_t len;
    s->arena = synap_arena_new();
    if (get_hdr(&r, 1, "top level", &nkeys) < 0) goto fail;
    if (nkeys != 5 && nkeys != 6) {
        bad(&r, "top level", "expected a map of 6 keys (5 in version 1)");
        goto fail;
    }
    if (key(&r, "bins") < 0 || get_uint(&r, "bins", &u) < 0) goto fail;
    if (u != SYNAP_CALIB_BINS) {
        bad(&r, "bins", "expected 2048");
        goto fail;
    }
    if (nkeys == 6 && (key(&r, "channels") < 0 || read_channels(&r, s) < 0)) goto fail;
    if (key(&r, "format") < 0 || get_str(&r, "format", &str, &len) < 0) goto fail;
    if (len != strlen(STATS_FORMAT) || memcmp(str, STATS_FORMAT, len)) {
        synap_errf(err, "%s: not a calibration statistics file (format is not '%s')", what,
                   STATS_FORMAT);
        goto fail;
    }
    if (key(&r, "nsamples") < 0 || get_uint(&r, "nsamples", &u) < 0) goto fail;
    if (u > SIZE_MAX) {
        bad(&r, "nsamples", "too large");
        goto fail;
    }
    s->nsamples = (size_t)u;
    if (key(&r, "tensors") < 0 || get_hdr(&r, 0, "tensors", &nt) < 0) goto fail;
    /* a tensor entry takes well over 2048 bytes, so nt is bounded by n */
    if (nt > (r.n - r.pos) / SYNAP_CALIB_BINS) {
        bad(&r, "tensors", "count exceeds the data");
        goto fail;
    }
    s->ntensors = (size_t)nt;
    s->t = synap_arena_alloc(s->arena, (s->ntensors ? s->ntensors : 1) * sizeof *s->t);
    for (size_t i = 0; i < s->ntensors; i++)
        if (read_tensor(&r, s, i) < 0) goto fail;
    if (key(&r, "version") < 0 || get_uint(&r, "version", &u) < 0) goto fail;
    if (u != (nkeys == 6 ? STATS_VERSION : 1)) {
        synap_errf(err,
                   "%s: calibration statistics version %llu with the keys of version %d, this "
                   "synap reads versions 1 and %d (rerun synap-calib)",
                   what, (unsigned long long)u, nkeys == 6 ? STATS_VERSION : 1, STATS_VERSION);
        goto fail;
    }
    if (r.pos != r.n) {
        bad(&r, "top level", "trailing bytes");
        goto fail;
    }
    return 0;
fail:
    synap_calib_stats_free(s);
    return -1;
}

int synap_calib_channels_read(const uint8_t *data, size_t n, const char *what,
                              struct synap_calib_stats *s, struct synap_err *err)
{
    memset(s, 0, sizeof *s);
    struct rd r = {data, n, 0, what, err};
    s->arena = synap_arena_new();
    if (read_channels(&r, s) < 0 || (r.pos != r.n && bad(&r, "channels", "trailing bytes"))) {
        synap_calib_stats_free(s);
        return -1;
    }
    return 0;
}

void synap_calib_stats_free(struct synap_calib_stats *s)
{
    synap_arena_free(s->arena);
    memset(s, 0, sizeof *s);
}
