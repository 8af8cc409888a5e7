/* JPEG decoding through libjpeg-turbo, with errors and warnings turned into
 * synap_err values instead of exit() and stderr. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h> /* jpeglib.h needs size_t and FILE first */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image/image.h"

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* libjpeg reports damaged data as warnings (level -1) and goes on with gray
 * blocks; a calibration set must not silently contain half an image. Trace
 * messages (level >= 0) are ignored. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) on_error(cinfo);
}

int synap_image_read_jpeg_mem(const uint8_t *data, size_t n, const char *what,
                              struct synap_image *img, struct synap_err *err)
{
    memset(img, 0, sizeof *img);
    struct jpeg_decompress_struct ci;
    struct jerr je;
    memset(&ci, 0, sizeof ci);
    memset(&je, 0, sizeof je);
    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = on_error;
    je.mgr.emit_message = on_message;
    /* volatile: modified between setjmp and a possible longjmp */
    uint8_t *volatile pixels = NULL;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(pixels);
        return synap_errf(err, "%s: corrupt JPEG image (%s)", what, je.msg);
    }
    jpeg_create_decompress(&ci);
    if (n > (unsigned long)-1) {
        jpeg_destroy_decompress(&ci);
        return synap_errf(err, "%s: JPEG file too large", what);
    }
    jpeg_mem_src(&ci, data, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    int c;
    if (ci.jpeg_color_space == JCS_GRAYSCALE) {
        ci.out_color_space = JCS_GRAYSCALE;
        c = 1;
    } else if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&ci);
        return synap_errf(err, "%s: CMYK JPEG images are not supported (convert it to RGB)", what);
    } else {
        ci.out_color_space = JCS_RGB;
        c = 3;
    }
    size_t w = ci.image_width, h = ci.image_height, nb;
    if (w == 0 || h == 0 || w > 65535 || h > 65535 || synap_mul_overflow(w * h, (size_t)c, &nb)) {
        jpeg_destroy_decompress(&ci);
        return synap_errf(err, "%s: unsupported JPEG size %zux%zu", what, w, h);
    }
    jpeg_start_decompress(&ci);
    if (ci.output_components != c || ci.output_width != w || ci.output_height != h) {
        jpeg_destroy_decompress(&ci);
        return synap_errf_io(err, "%s: JPEG decoder gave an unexpected layout", what);
    }
    pixels = synap_xmalloc(nb);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = pixels + (size_t)ci.output_scanline * w * (size_t)c;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    img->pixels = pixels;
    img->width = (int)w;
    img->height = (int)h;
    img->channels = c;
    return 0;
}

int synap_image_read_jpeg(const char *path, struct synap_image *img, struct synap_err *err)
{
    memset(img, 0, sizeof *img);
    struct synap_file f;
    if (synap_file_read(path, &f, err) < 0) return -1;
    int rc = synap_image_read_jpeg_mem(f.data, f.size, path, img, err);
    synap_file_close(&f);
    return rc;
}

int synap_image_read(const char *path, struct synap_image *img, struct synap_err *err)
{
    memset(img, 0, sizeof *img);
    struct synap_file f;
    if (synap_file_read(path, &f, err) < 0) return -1;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int rc;
    if (f.size >= 3 && f.data[0] == 0xff && f.data[1] == 0xd8 && f.data[2] == 0xff) {
        rc = synap_image_read_jpeg_mem(f.data, f.size, path, img, err);
    } else if (f.size >= 8 && !memcmp(f.data, png_magic, 8)) {
        synap_file_close(&f);
        return synap_image_read_png(path, img, err);
    } else {
        rc = synap_errf(err, "%s: not a JPEG or PNG image", path);
    }
    synap_file_close(&f);
    return rc;
}
