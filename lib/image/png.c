/* PNG decoding through libpng's simplified API. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int synap_image_read_png(const char *path, struct synap_image *img, struct synap_err *err)
{
    memset(img, 0, sizeof *img);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path))
        return synap_errf(err, "%s: not a readable PNG image (%s)", path, pi.message);
    int gray = !(pi.format & PNG_FORMAT_FLAG_COLOR);
    pi.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    size_t w = pi.width, h = pi.height, c = gray ? 1 : 3, n;
    if (w == 0 || h == 0 || w > 65535 || h > 65535 || synap_mul_overflow(w * h, c, &n)) {
        png_image_free(&pi);
        return synap_errf(err, "%s: unsupported PNG size %zux%zu", path, w, h);
    }
    img->pixels = synap_xmalloc(n);
    if (!png_image_finish_read(&pi, NULL, img->pixels, 0, NULL)) {
        free(img->pixels);
        img->pixels = NULL;
        int rc = synap_errf(err, "%s: corrupt PNG image (%s)", path, pi.message);
        png_image_free(&pi);
        return rc;
    }
    img->width = (int)w;
    img->height = (int)h;
    img->channels = (int)c;
    return 0;
}

void synap_image_free(struct synap_image *img)
{
    free(img->pixels);
    img->pixels = NULL;
}
