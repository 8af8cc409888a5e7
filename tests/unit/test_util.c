/* util: SHA-256 against the FIPS 180-4 / NIST test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

/* Expected digests: the NIST examples, confirmed with Python's hashlib. */
static const char *const abc56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const abc112 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                                  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void check_hex(const void *data, size_t n, const char *want)
{
    char hex[65];
    synap_sha256_hex(data, n, hex);
    assert_string_equal(hex, want);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(strlen(abc56), 56);
    check_hex(abc56, 56, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    assert_int_equal(strlen(abc112), 112);
    check_hex(abc112, 112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    check_hex(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Feeding the same bytes in pieces of any size gives the same digest:
 * exercises the partial-block buffer at every boundary. */
static void test_sha256_incremental(void **state)
{
    (void)state;
    uint8_t want[32];
    struct synap_sha256 s;
    synap_sha256_init(&s);
    synap_sha256_update(&s, abc112, 112);
    synap_sha256_final(&s, want);
    for (size_t chunk = 1; chunk <= 112; chunk++) {
        uint8_t got[32];
        synap_sha256_init(&s);
        for (size_t off = 0; off < 112; off += chunk)
            synap_sha256_update(&s, abc112 + off, off + chunk <= 112 ? chunk : 112 - off);
        synap_sha256_final(&s, got);
        assert_memory_equal(got, want, 32);
    }
    /* the million a's in uneven pieces */
    char buf[997];
    memset(buf, 'a', sizeof buf);
    synap_sha256_init(&s);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof buf ? left : sizeof buf;
        synap_sha256_update(&s, buf, n);
        left -= n;
    }
    uint8_t d[32];
    synap_sha256_final(&s, d);
    static const uint8_t million[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92,
                                        0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
                                        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
                                        0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, million, 32);
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes): checked
 * against hashlib.sha256(b"x" * n). */
static void test_sha256_padding_edges(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
    };
    char x[65];
    memset(x, 'x', sizeof x);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_hex(x, cases[k].n, cases[k].hex);
}

/* Every byte value (the big-endian loads must not sign-extend) and whole
 * blocks read straight from the caller's memory at every alignment:
 * hashlib.sha256(bytes((i * 167 + 13) & 255 for i in range(1000))). */
static void test_sha256_bytes_unaligned(void **state)
{
    (void)state;
    uint8_t *buf = malloc(1000 + 8);
    for (size_t off = 0; off < 8; off++) {
        for (size_t i = 0; i < 1000; i++)
            buf[off + i] = (uint8_t)((i * 167 + 13) & 255);
        check_hex(buf + off, 1000,
                  "fa10d4e76ab24b0ff9d6c596a00df178cd2a80a15c70770dee68d374ccb39bc6");
    }
    free(buf);
}

/* Regression: writing "-o /dev/null" once renamed a temporary file over the
 * device, leaving a regular file at /dev/null. */
static void test_write_to_device(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) skip();
    struct synap_err err = {0};
    assert_int_equal(synap_file_write_atomic("/dev/null", "abc", 3, &err), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_sha256_padding_edges),
        cmocka_unit_test(test_sha256_bytes_unaligned),
        cmocka_unit_test(test_write_to_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
