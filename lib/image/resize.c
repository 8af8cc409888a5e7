/* Resizing and channel conversion of decoded images (calibration inputs);
 * the exact rules are in image.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void synap_image_to_channels(struct synap_image *img, int channels)
{
    if (img->channels == channels) return;
    size_t np = (size_t)img->width * (size_t)img->height;
    uint8_t *out = synap_xmalloc(np * (size_t)channels);
    const uint8_t *in = img->pixels;
    if (channels == 3) { /* from gray */
        for (size_t i = 0; i < np; i++)
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = in[i];
    } else { /* RGB -> gray */
        for (size_t i = 0; i < np; i++) {
            unsigned v = 299u * in[3 * i] + 587u * in[3 * i + 1] + 114u * in[3 * i + 2] + 500u;
            out[i] = (uint8_t)(v / 1000u);
        }
    }
    free(img->pixels);
    img->pixels = out;
    img->channels = channels;
}

/* Source coordinate of destination index d for a src -> dst scale: the two
 * neighbours and the weight of the second. */
struct tap {
    int i0, i1;
    double a;
};

static void taps(int src, int dst, struct tap *t)
{
    double s = (double)src / dst;
    for (int d = 0; d < dst; d++) {
        double f = (d + 0.5) * s - 0.5;
        if (f < 0) f = 0;
        if (f > src - 1) f = src - 1;
        int i0 = (int)floor(f);
        t[d].i0 = i0;
        t[d].i1 = i0 + 1 < src ? i0 + 1 : src - 1;
        t[d].a = f - i0;
    }
}

/* round(a * b / c) with halves up, in integers (a, b, c < 2^16). */
static int round_ratio(int a, int b, int c)
{
    long long v = ((long long)a * b * 2 + c) / (2LL * c);
    return v < 1 ? 1 : (int)v;
}

void synap_image_resize(const struct synap_image *src, int dst_w, int dst_h, int keep_proportions,
                        int fill_color, struct synap_image *dst)
{
    int w = src->width, h = src->height, c = src->channels;
    int nw = dst_w, nh = dst_h;
    if (keep_proportions) {
        /* dst_w / w <= dst_h / h: the width limits */
        if ((long long)dst_w * h <= (long long)dst_h * w) {
            nh = round_ratio(h, dst_w, w);
            if (nh > dst_h) nh = dst_h;
        } else {
            nw = round_ratio(w, dst_h, h);
            if (nw > dst_w) nw = dst_w;
        }
    }
    int left = (dst_w - nw) / 2, top = (dst_h - nh) / 2;
    size_t row = (size_t)dst_w * (size_t)c;
    dst->width = dst_w;
    dst->height = dst_h;
    dst->channels = c;
    dst->pixels = synap_xmalloc(row * (size_t)dst_h);
    memset(dst->pixels,
           fill_color < 0     ? 0
           : fill_color > 255 ? 255
                              : fill_color,
           row * (size_t)dst_h);
    struct tap *tx = synap_xmalloc((size_t)nw * sizeof *tx);
    struct tap *ty = synap_xmalloc((size_t)nh * sizeof *ty);
    taps(w, nw, tx);
    taps(h, nh, ty);
    size_t srow = (size_t)w * (size_t)c;
    for (int y = 0; y < nh; y++) {
        const uint8_t *r0 = src->pixels + (size_t)ty[y].i0 * srow;
        const uint8_t *r1 = src->pixels + (size_t)ty[y].i1 * srow;
        double ay = ty[y].a;
        uint8_t *o = dst->pixels + (size_t)(top + y) * row + (size_t)left * (size_t)c;
        for (int x = 0; x < nw; x++) {
            size_t x0 = (size_t)tx[x].i0 * (size_t)c, x1 = (size_t)tx[x].i1 * (size_t)c;
            double ax = tx[x].a;
            for (int k = 0; k < c; k++) {
                double top_v = r0[x0 + k] + ax * (r0[x1 + k] - r0[x0 + k]);
                double bot_v = r1[x0 + k] + ax * (r1[x1 + k] - r1[x0 + k]);
                double v = top_v + ay * (bot_v - top_v);
                int iv = (int)floor(v + 0.5);
                *o++ = (uint8_t)(iv < 0 ? 0 : iv > 255 ? 255 : iv);
            }
        }
    }
    free(tx);
    free(ty);
}
