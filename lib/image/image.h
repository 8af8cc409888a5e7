/* Decoding images into 8-bit pixel arrays, and the resize calibration and
 * preprocessing use (letterbox or stretch, bilinear). */
#ifndef SYNAP_IMAGE_H
#define SYNAP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct synap_image {
    int width, height, channels; /* channels: 1 (gray) or 3 (RGB) */
    uint8_t *pixels;             /* height x width x channels, malloc'd */
};

/* Decodes a PNG file (any bit depth / color type; alpha is dropped, palette
 * expanded, 16-bit reduced to 8). Gray images stay 1 channel, others become
 * RGB. Errors name the file. */
int synap_image_read_png(const char *path, struct synap_image *img, struct synap_err *err);
/* Decodes a baseline or progressive JPEG from memory with libjpeg-turbo
 * (`what` names it in messages). Gray stays 1 channel, YCbCr becomes RGB;
 * CMYK is refused. Damaged data is an error, not a gray-filled picture: the
 * warnings libjpeg would print (premature end of data, corrupt entropy
 * data...) fail the decode. */
int synap_image_read_jpeg_mem(const uint8_t *data, size_t n, const char *what,
                              struct synap_image *img, struct synap_err *err);
/* The same from a file. */
int synap_image_read_jpeg(const char *path, struct synap_image *img, struct synap_err *err);
/* Decodes a JPEG or PNG file, chosen by its first bytes (not its name);
 * anything else is "PATH: not a JPEG or PNG image". */
int synap_image_read(const char *path, struct synap_image *img, struct synap_err *err);
void synap_image_free(struct synap_image *img);

/* Converts to 1 or 3 channels in place: gray -> RGB repeats the value;
 * RGB -> gray is BT.601 luma in integers, (299 R + 587 G + 114 B + 500) / 1000. */
void synap_image_to_channels(struct synap_image *img, int channels);

/* Resizes src into dst (dst_w x dst_h, src's channel count; dst->pixels
 * malloc'd, caller frees with synap_image_free), bilinear.
 *
 * keep_proportions = 1 (letterbox): the picture is scaled by
 * min(dst_w / w, dst_h / h) to nw x nh, where the side that limits keeps the
 * full size and the other is round(side * scale) computed in integers (halves
 * up, at least 1); it is centered (left = (dst_w - nw) / 2, top =
 * (dst_h - nh) / 2, rounded down) and the bands around it are fill_color
 * (0..255) in every channel. keep_proportions = 0 stretches to the full size.
 *
 * Sampling: half-pixel centers, src_x = (x + 0.5) * w / nw - 0.5 clamped to
 * [0, w - 1] (the same for y), the four neighbours weighted in double, and
 * the result rounded to nearest with halves up. A same-size resize copies
 * the pixels exactly. */
void synap_image_resize(const struct synap_image *src, int dst_w, int dst_h, int keep_proportions,
                        int fill_color, struct synap_image *dst);

#endif
