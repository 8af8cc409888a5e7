/* The ZIP writer and reader: golden bytes, alignment, damaged archives, and
 * an independent reader (Python's zipfile) accepting what we write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/zip.h"

static void small_archive(uint8_t **out, size_t *n)
{
    struct synap_zipw *z = synap_zipw_new();
    synap_zipw_add(z, "a.txt", "hello\n", 6);
    synap_zipw_add(z, "d/b.bin", "\x00\x01\x02", 3);
    synap_zipw_finish(z, out, n);
}

static void read_golden(const char *name, uint8_t **data, size_t *n)
{
    const char *dir = getenv("SYNAP_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/pack/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *data = malloc(1 << 16);
    *n = fread(*data, 1, 1 << 16, f);
    fclose(f);
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(synap_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(synap_crc32(0, "", 0), 0);
    /* incremental = one shot */
    assert_int_equal(synap_crc32(synap_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

/* The bit-at-a-time definition, independent of zip.c's tables. */
static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* zip.c consumes 16 bytes per step: every start alignment and every tail
 * length, split points anywhere, and a long buffer agree with the
 * definition. */
static void test_crc32_slices(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    uint8_t *b = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len <= 70; len++)
            assert_int_equal(synap_crc32(0, b + off, len), crc32_bitwise(b + off, len));
    for (size_t cut = 0; cut <= 40; cut++)
        assert_int_equal(synap_crc32(synap_crc32(0, b, cut), b + cut, 100 - cut),
                         crc32_bitwise(b, 100));
    assert_int_equal(synap_crc32(0, b + 3, n - 3), crc32_bitwise(b + 3, n - 3));
    memset(b, 0xff, 64);
    assert_int_equal(synap_crc32(0, b, 64), crc32_bitwise(b, 64));
    free(b);
}

/* tests/data/pack/small.zip is built by gen_zip_golden.py from the APPNOTE
 * layout, independently of zip.c. */
static void test_golden_bytes(void **state)
{
    (void)state;
    uint8_t *got, *want;
    size_t ngot, nwant;
    small_archive(&got, &ngot);
    read_golden("small.zip", &want, &nwant);
    assert_int_equal(ngot, 257);
    assert_int_equal(ngot, nwant);
    assert_memory_equal(got, want, ngot);
    free(got);
    free(want);
}

static void test_round_trip_aligned(void **state)
{
    (void)state;
    struct synap_zipw *w = synap_zipw_new();
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    synap_zipw_add(w, "bundle.json", "{}", 2);
    synap_zipw_add(w, "0/model.ir", big, sizeof big);
    synap_zipw_add(w, "0/empty", "", 0);
    synap_zipw_add(w, "10/model.json", "[1]", 3);
    uint8_t *buf;
    size_t n;
    synap_zipw_finish(w, &buf, &n);
    struct synap_zip z;
    struct synap_err err = {0};
    assert_int_equal(synap_zip_open(buf, n, "m.synap", &z, &err), 0);
    assert_int_equal(z.nentries, 4);
    assert_string_equal(z.entries[0].name, "bundle.json");
    assert_string_equal(z.entries[3].name, "10/model.json");
    for (size_t i = 0; i < z.nentries; i++)
        assert_int_equal((size_t)(z.entries[i].data - buf) % 64, 0);
    const struct synap_zip_entry *e = synap_zip_find(&z, "0/model.ir");
    assert_non_null(e);
    assert_int_equal(e->size, sizeof big);
    assert_memory_equal(e->data, big, sizeof big);
    assert_int_equal(synap_zip_find(&z, "0/empty")->size, 0);
    assert_null(synap_zip_find(&z, "nope"));
    synap_zip_free(&z);
    free(buf);
}

static void expect_error(const uint8_t *buf, size_t n, const char *msg)
{
    struct synap_zip z;
    struct synap_err err = {0};
    assert_int_equal(synap_zip_open(buf, n, "m.synap", &z, &err), -1);
    assert_string_equal(err.msg, msg);
    assert_null(z.entries);
    assert_int_equal(z.nentries, 0);
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t n;
    small_archive(&buf, &n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1); /* exact size, so ASan sees overreads */
        memcpy(copy, buf, k);
        struct synap_zip z;
        struct synap_err err = {0};
        assert_int_equal(synap_zip_open(copy, k, "m.synap", &z, &err), -1);
        assert_true(strncmp(err.msg, "m.synap: ", 9) == 0);
        free(copy);
    }
    expect_error(buf, 10, "m.synap: not a ZIP archive (10 bytes, too short)");
    expect_error(buf, n - 1, "m.synap: not a ZIP archive (no end of central directory record)");
    free(buf);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* Offsets in small.zip: local headers at 0 and 70 (data at 64 and 128),
 * central directory at 131 (entry 2's header at 131 + 51 = 182), end
 * record at 235. */
static void test_damaged_archives(void **state)
{
    (void)state;
    uint8_t *buf, *b = malloc(257);
    size_t n;
    small_archive(&buf, &n);
    assert_int_equal(n, 257);

    memcpy(b, buf, n); /* central directory offset past the end */
    wr32(b + 235 + 16, 5000);
    expect_error(b, n, "m.synap: central directory (offset 5000, 104 bytes) outside the file");

    memcpy(b, buf, n); /* more entries than the directory holds */
    b[235 + 8] = b[235 + 10] = 3;
    expect_error(b, n, "m.synap: central directory of 104 bytes cannot hold 3 entries");

    memcpy(b, buf, n); /* entry 2's local header offset points at garbage */
    wr32(b + 182 + 42, 100);
    expect_error(b, n,
                 "m.synap: entry 'd/b.bin': local header at offset 100 is missing or damaged");

    memcpy(b, buf, n); /* entry 2's size runs into the central directory */
    wr32(b + 182 + 20, 50);
    wr32(b + 182 + 24, 50);
    expect_error(b, n, "m.synap: entry 'd/b.bin': data (offset 128, 50 bytes) outside the file");

    memcpy(b, buf, n); /* CRC mismatch: one data byte flipped */
    b[64] ^= 1;
    expect_error(b, n, "m.synap: entry 'a.txt': CRC mismatch (damaged data)");

    memcpy(b, buf, n); /* compressed (deflate) */
    b[131 + 10] = 8;
    b[0 + 8] = 8;
    expect_error(
        b, n, "m.synap: entry 'a.txt': compressed (method 8); only stored entries are supported");

    memcpy(b, buf, n); /* name with "..": same length in both headers */
    memcpy(b + 70 + 30, "../b.bi", 7);
    memcpy(b + 182 + 46, "../b.bi", 7);
    expect_error(b, n, "m.synap: entry 1: unsafe name '../b.bi' ('..' path component)");

    memcpy(b, buf, n); /* absolute name */
    b[182 + 46] = '/';
    expect_error(b, n, "m.synap: entry 1: unsafe name '//b.bin' (absolute name)");

    memcpy(b, buf, n); /* NUL inside a name */
    b[182 + 46 + 1] = 0;
    expect_error(b, n, "m.synap: entry 1: unsafe name 'd\\x00b.bin' (NUL in name)");

    memcpy(b, buf, n); /* a newline inside a name: the message stays one line */
    b[182 + 46 + 1] = '\n';
    expect_error(b, n, "m.synap: entry 1: unsafe name 'd\\x0ab.bin' (control character in name)");

    memcpy(b, buf, n); /* the local header names another entry */
    b[70 + 30] = 'x';
    expect_error(b, n,
                 "m.synap: entry 'd/b.bin': local header does not match the central directory");

    memcpy(b, buf, n); /* encrypted */
    b[131 + 8] = 1;
    expect_error(b, n, "m.synap: entry 'a.txt': encrypted entries are not supported");

    memcpy(b, buf, n); /* name length runs past the directory */
    b[182 + 28] = 200;
    expect_error(b, n, "m.synap: entry 1: central directory header runs past its end");

    memcpy(b, buf, n); /* ZIP64 marker */
    wr32(b + 235 + 16, 0xffffffffu);
    expect_error(b, n, "m.synap: ZIP64 archives are not supported");
    free(b);
    free(buf);
}

/* Any single damaged bit: either an error or an archive whose entries stay
 * inside the buffer (never a crash; ASan checks the reads). */
static void test_every_bit_flip(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t n;
    small_archive(&buf, &n);
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n * 8; i++) {
        memcpy(b, buf, n);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        struct synap_zip z;
        struct synap_err err = {0};
        if (synap_zip_open(b, n, "m.synap", &z, &err) == 0) {
            for (size_t k = 0; k < z.nentries; k++) {
                assert_true(z.entries[k].data >= b);
                assert_true(z.entries[k].data + z.entries[k].size <= b + n);
            }
            synap_zip_free(&z);
        } else {
            assert_true(strncmp(err.msg, "m.synap: ", 9) == 0);
        }
    }
    free(b);
    free(buf);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    struct synap_zipw *w = synap_zipw_new();
    synap_zipw_add(w, "x", "1", 1);
    synap_zipw_add(w, "x", "2", 1);
    uint8_t *buf;
    size_t n;
    synap_zipw_finish(w, &buf, &n);
    expect_error(buf, n, "m.synap: entry 'x' appears twice");
    free(buf);
}

/* Names come from the file: messages quote them escaped (quotes, control
 * characters) and cut long ones, so every message is one short line. */
static void test_names_escaped_in_messages(void **state)
{
    (void)state;
    struct synap_zipw *w = synap_zipw_new();
    synap_zipw_add(w, "it's", "1", 1);
    synap_zipw_add(w, "it's", "2", 1);
    uint8_t *buf;
    size_t n;
    synap_zipw_finish(w, &buf, &n);
    expect_error(buf, n, "m.synap: entry 'it\\x27s' appears twice");
    free(buf);

    char longname[201];
    memset(longname, 'a', 200);
    longname[200] = 0;
    w = synap_zipw_new();
    synap_zipw_add(w, longname, "1", 1);
    synap_zipw_finish(w, &buf, &n);
    buf[256] ^= 1; /* the data byte (after 30 + 200 + 26 header bytes): CRC mismatch */
    char want[256];
    snprintf(want, sizeof want, "m.synap: entry '%.60s...': CRC mismatch (damaged data)", longname);
    expect_error(buf, n, want);
    free(buf);
}

/* An independent reader accepts what we write: Python's zipfile (stdlib). */
static void test_python_zipfile_reads_it(void **state)
{
    (void)state;
    if (system("python3 -c 'import zipfile' >/dev/null 2>&1") != 0) {
        print_message("python3 not available: skipped\n");
        skip();
    }
    uint8_t *buf;
    size_t n;
    small_archive(&buf, &n);
    char path[] = "/tmp/synap-test-zip-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, zipfile\n"
             "z = zipfile.ZipFile(sys.argv[1])\n"
             "assert z.testzip() is None\n"
             "i = z.infolist()\n"
             "assert [x.filename for x in i] == [\"a.txt\", \"d/b.bin\"], i\n"
             "assert all(x.compress_type == zipfile.ZIP_STORED for x in i)\n"
             "assert all(x.date_time == (1980, 1, 1, 0, 0, 0) for x in i)\n"
             "assert z.read(\"a.txt\") == b\"hello\\n\"\n"
             "assert z.read(\"d/b.bin\") == bytes([0, 1, 2])\n"
             "import struct\n"
             "d = open(sys.argv[1], \"rb\").read()\n"
             "for x in i:\n"
             "    nl, el = struct.unpack_from(\"<HH\", d, x.header_offset + 26)\n"
             "    assert (x.header_offset + 30 + nl + el) %% 64 == 0\n"
             "' %s",
             path);
    int rc = system(cmd);
    unlink(path);
    free(buf);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_crc32_slices),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_round_trip_aligned),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_damaged_archives),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_names_escaped_in_messages),
        cmocka_unit_test(test_python_zipfile_reads_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
