/* Image decoding (JPEG, PNG, by content), channel conversion and the
 * letterbox resize, with exact pixels on tiny cases. Files come from
 * tests/data/calib/make.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/image.h"

static const char *data_path(const char *name)
{
    static char buf[4096];
    const char *d = getenv("SYNAP_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/calib/%s", d ? d : "tests/data", name);
    return buf;
}

static const uint8_t *px(const struct synap_image *im, int x, int y)
{
    return im->pixels + ((size_t)y * (size_t)im->width + (size_t)x) * (size_t)im->channels;
}

/* 16x8: left half red, right half blue (lossy: within tol). */
static void check_halves_rgb(const struct synap_image *im, int tol)
{
    assert_int_equal(im->width, 16);
    assert_int_equal(im->height, 8);
    assert_int_equal(im->channels, 3);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 16; x++) {
            if (x == 7 || x == 8) continue; /* the edge rings in JPEG */
            const uint8_t *p = px(im, x, y);
            int r = x < 8 ? 255 : 0, b = x < 8 ? 0 : 255;
            assert_in_range(p[0], r - tol < 0 ? 0 : r - tol, r + tol > 255 ? 255 : r + tol);
            assert_in_range(p[1], 0, (unsigned)tol);
            assert_in_range(p[2], b - tol < 0 ? 0 : b - tol, b + tol > 255 ? 255 : b + tol);
        }
    }
}

static void test_png(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_image im;
    const char *rgb[] = {"rgb.png", "rgba.png", "palette.png"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(synap_image_read(data_path(rgb[i]), &im, &err), 0);
        check_halves_rgb(&im, 0);
        synap_image_free(&im);
    }
    assert_int_equal(synap_image_read(data_path("gray.png"), &im, &err), 0);
    assert_int_equal(im.channels, 1);
    assert_int_equal(px(&im, 0, 0)[0], 40);
    assert_int_equal(px(&im, 15, 7)[0], 200);
    synap_image_free(&im);
}

static void test_jpeg(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_image im;
    assert_int_equal(synap_image_read_jpeg(data_path("rgb.jpg"), &im, &err), 0);
    check_halves_rgb(&im, 6);
    synap_image_free(&im);
    assert_int_equal(synap_image_read(data_path("progressive.jpg"), &im, &err), 0);
    check_halves_rgb(&im, 6);
    synap_image_free(&im);
    assert_int_equal(synap_image_read(data_path("gray.jpg"), &im, &err), 0);
    assert_int_equal(im.channels, 1);
    assert_int_equal(im.width, 16);
    assert_in_range(px(&im, 1, 1)[0], 37, 43);
    assert_in_range(px(&im, 14, 6)[0], 197, 203);
    synap_image_free(&im);
}

static void test_bad(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_image im;
    char want[4200];
    const char *p = data_path("bad/truncated.jpg");
    assert_int_equal(synap_image_read(p, &im, &err), -1);
    assert_int_equal(err.code, SYNAP_EINPUT);
    snprintf(want, sizeof want, "%s: corrupt JPEG image (", p);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_null(im.pixels);
    /* a PNG is not a JPEG */
    p = data_path("rgb.png");
    assert_int_equal(synap_image_read_jpeg(p, &im, &err), -1);
    snprintf(want, sizeof want, "%s: corrupt JPEG image (", p);
    assert_memory_equal(err.msg, want, strlen(want));
    /* chosen by content: make.py is text */
    p = data_path("make.py");
    assert_int_equal(synap_image_read(p, &im, &err), -1);
    snprintf(want, sizeof want, "%s: not a JPEG or PNG image", p);
    assert_string_equal(err.msg, want);
    /* truncated in memory, down to nothing */
    static const uint8_t soi[] = {0xff, 0xd8, 0xff};
    assert_int_equal(synap_image_read_jpeg_mem(soi, sizeof soi, "x.jpg", &im, &err), -1);
    assert_memory_equal(err.msg, "x.jpg: corrupt JPEG image (", 27);
}

static struct synap_image make(int w, int h, int c, const uint8_t *p)
{
    struct synap_image im = {w, h, c, malloc((size_t)(w * h * c))};
    memcpy(im.pixels, p, (size_t)(w * h * c));
    return im;
}

static void test_channels(void **state)
{
    (void)state;
    struct synap_image im = make(2, 1, 3, (const uint8_t[]){10, 20, 30, 255, 255, 255});
    synap_image_to_channels(&im, 1);
    assert_int_equal(im.channels, 1);
    /* (2990 + 11740 + 3420 + 500) / 1000 = 18 */
    assert_int_equal(im.pixels[0], 18);
    assert_int_equal(im.pixels[1], 255);
    synap_image_to_channels(&im, 3);
    assert_memory_equal(im.pixels, ((const uint8_t[]){18, 18, 18, 255, 255, 255}), 6);
    synap_image_free(&im);
}

static void test_letterbox(void **state)
{
    (void)state;
    struct synap_image src = make(2, 1, 1, (const uint8_t[]){10, 50}), d;
    /* 2x1 into 4x4: scale 2 -> 4x2 centered (top 1), bands of 7 */
    synap_image_resize(&src, 4, 4, 1, 7, &d);
    static const uint8_t want[] = {7,  7,  7,  7,  /**/ 10, 20, 40, 50,
                                   10, 20, 40, 50, /**/ 7,  7,  7,  7};
    assert_memory_equal(d.pixels, want, 16);
    synap_image_free(&d);
    /* stretched: no bands */
    synap_image_resize(&src, 4, 2, 0, 7, &d);
    assert_memory_equal(d.pixels, want + 4, 8);
    synap_image_free(&d);
    /* portrait into landscape: 1x2 -> 3x2 is 1x2 at left (3 - 1) / 2 = 1 */
    struct synap_image tall = make(1, 2, 1, (const uint8_t[]){100, 200});
    synap_image_resize(&tall, 3, 2, 1, 0, &d);
    assert_memory_equal(d.pixels, ((const uint8_t[]){0, 100, 0, 0, 200, 0}), 6);
    synap_image_free(&d);
    synap_image_free(&tall);
    /* 3x1 into 2x2: the width limits, nh = round(1 * 2 / 3) = 1, top 0 */
    struct synap_image three = make(3, 1, 1, (const uint8_t[]){0, 90, 180});
    synap_image_resize(&three, 2, 2, 1, 5, &d);
    /* taps at 0.25 and 1.75: 22.5 -> 23 (halves up), 157.5 -> 158 */
    assert_memory_equal(d.pixels, ((const uint8_t[]){23, 158, 5, 5}), 4);
    synap_image_free(&d);
    synap_image_free(&three);
    /* halves round up: [0, 1] into 1x1 is 0.5 -> 1 */
    struct synap_image two = make(2, 1, 1, (const uint8_t[]){0, 1});
    synap_image_resize(&two, 1, 1, 0, 0, &d);
    assert_int_equal(d.pixels[0], 1);
    synap_image_free(&d);
    synap_image_free(&two);
    /* same size: an exact copy, RGB */
    struct synap_image rgb =
        make(2, 2, 3, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    synap_image_resize(&rgb, 2, 2, 1, 0, &d);
    assert_int_equal(d.channels, 3);
    assert_memory_equal(d.pixels, rgb.pixels, 12);
    synap_image_free(&d);
    synap_image_free(&rgb);
    synap_image_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png),       cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_bad),       cmocka_unit_test(test_channels),
        cmocka_unit_test(test_letterbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
