/* A bounds-checked reader of the one FlexBuffer shape custom ops' options
 * take: a root map of numbers (TFLite_Detection_PostProcess's options).
 *
 * The FlexBuffer layout (public format description): the buffer ends with
 * the root value, its packed type byte and its byte width byte. A map's
 * value is an offset back to its values vector; the three words before
 * that vector are the keys vector's offset, the keys' byte width and the
 * element count; after the values come one packed type byte per value
 * (type << 2 | log2 width). Keys are offsets to NUL-terminated strings.
 * Every offset and width is checked against the buffer here. */
#include <string.h>

#include "tflite/internal.h"

enum { FBT_INT = 1, FBT_UINT = 2, FBT_FLOAT = 3, FBT_IND_INT = 6, FBT_IND_UINT = 7,
       FBT_IND_FLOAT = 8, FBT_MAP = 9, FBT_BOOL = 26 };

struct flex {
    const uint8_t *b;
    size_t n;
    int bad;
};

static uint64_t rd_u(struct flex *f, size_t at, size_t w)
{
    if ((w != 1 && w != 2 && w != 4 && w != 8) || at > f->n || w > f->n - at) {
        f->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++)
        v |= (uint64_t)f->b[at + i] << (8 * i);
    return v;
}

static int64_t rd_i(struct flex *f, size_t at, size_t w)
{
    uint64_t u = rd_u(f, at, w);
    if (w < 8 && (u >> (8 * w - 1) & 1)) u |= ~(uint64_t)0 << (8 * w);
    return (int64_t)u;
}

static double rd_f(struct flex *f, size_t at, size_t w)
{
    uint64_t u = rd_u(f, at, w);
    if (w == 4) {
        float x;
        uint32_t v = (uint32_t)u;
        memcpy(&x, &v, 4);
        return x;
    }
    if (w == 8) {
        double x;
        memcpy(&x, &u, 8);
        return x;
    }
    f->bad = 1;
    return 0;
}

/* The position an offset at `at` (width w) points back to. */
static size_t back(struct flex *f, size_t at, size_t w)
{
    uint64_t off = rd_u(f, at, w);
    if (f->bad || off > at) {
        f->bad = 1;
        return 0;
    }
    return at - (size_t)off;
}

int tfl_flex_number(const uint8_t *buf, size_t n, const char *key, double *v,
                    struct synap_err *err)
{
    struct flex f = {buf, n, 0};
    if (n < 3) return synap_errf(err, "custom options: %zu bytes are not a FlexBuffer", n);
    size_t rw = buf[n - 1], rtype = buf[n - 2] >> 2;
    if (rtype != FBT_MAP || (rw != 1 && rw != 2 && rw != 4 && rw != 8) || rw > n - 2)
        return synap_errf(err, "custom options: the FlexBuffer root is not a map");
    size_t vals = back(&f, n - 2 - rw, rw);
    /* the map's own width is the one its offset was written with */
    size_t bw = 1u << (buf[n - 2] & 3);
    if (f.bad || vals < 3 * bw) goto bad;
    size_t keys = back(&f, vals - 3 * bw, bw);
    size_t kw = (size_t)rd_u(&f, vals - 2 * bw, bw);
    uint64_t cnt = rd_u(&f, vals - bw, bw);
    if (f.bad || cnt > n || vals + cnt * bw + cnt > n || (kw != 1 && kw != 2 && kw != 4 && kw != 8))
        goto bad;
    for (size_t i = 0; i < cnt; i++) {
        size_t ks = back(&f, keys + i * kw, kw);
        if (f.bad) goto bad;
        const void *nul = memchr(buf + ks, 0, n - ks);
        if (!nul) goto bad;
        if (strcmp((const char *)buf + ks, key)) continue;
        uint8_t pt = buf[vals + cnt * bw + i];
        size_t t = pt >> 2, w = 1u << (pt & 3), at = vals + i * bw;
        switch (t) {
        case FBT_INT:
        case FBT_BOOL:
            *v = (double)rd_i(&f, at, bw);
            break;
        case FBT_UINT:
            *v = (double)rd_u(&f, at, bw);
            break;
        case FBT_FLOAT:
            *v = rd_f(&f, at, bw);
            break;
        case FBT_IND_INT:
            *v = (double)rd_i(&f, back(&f, at, bw), w);
            break;
        case FBT_IND_UINT:
            *v = (double)rd_u(&f, back(&f, at, bw), w);
            break;
        case FBT_IND_FLOAT:
            *v = rd_f(&f, back(&f, at, bw), w);
            break;
        default:
            return synap_errf(err, "custom options: '%s' is not a number (type %zu)", key, t);
        }
        if (f.bad) goto bad;
        return 1;
    }
    return 0;
bad:
    return synap_errf(err, "custom options: damaged FlexBuffer map");
}
