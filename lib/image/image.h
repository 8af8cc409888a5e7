/* Decoding images into 8-bit pixel arrays. */
#ifndef SYNAP_IMAGE_H
#define SYNAP_IMAGE_H

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
void synap_image_free(struct synap_image *img);

#endif
