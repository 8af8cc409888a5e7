/* json: the strict reader against RFC 8259 examples, edge cases and exact error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/json.h"

/* Parses text from an exactly sized heap copy, so ASan catches any read
 * past the end (the parser must not rely on a terminator). */
static const struct synap_json *parse(struct synap_arena *a, const char *text,
                                      struct synap_err *err)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, text, n);
    const struct synap_json *v = synap_json_parse(a, copy, n, "t.json", err);
    /* The tree must not point into the input buffer. */
    memset(copy, 'X', n);
    free(copy);
    return v;
}

/* Parsing fails with exactly this message. */
static void expect_error(const char *text, const char *msg)
{
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v = parse(a, text, &err);
    assert_null(v);
    assert_int_equal(err.code, SYNAP_EINPUT);
    assert_string_equal(err.msg, msg);
    synap_arena_free(a);
}

static void test_document(void **state)
{
    (void)state;
    static const char doc[] = "{\n"
                              " \"model\": \"../../m.onnx\",\n"
                              " \"inputs\": [ {\"name\": \"x\", \"shape\": [1, 3, 224, 224]} ],\n"
                              " \"rtol\": 0.001, \"atol\": 2e-5,\n"
                              " \"ok\": true, \"bad\": false, \"none\": null,\n"
                              " \"empty\": {}, \"nothing\": []\n"
                              "}\n";
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *root = parse(a, doc, &err);
    assert_non_null(root);
    assert_true(synap_json_is_object(root));
    assert_int_equal(synap_json_length(root), 9);
    assert_int_equal(root->line, 1);
    assert_int_equal(root->col, 1);
    /* keys keep file order */
    assert_string_equal(root->keys[0], "model");
    assert_string_equal(root->keys[8], "nothing");

    assert_string_equal(synap_json_as_string(synap_json_get(root, "model")), "../../m.onnx");
    const struct synap_json *inputs = synap_json_get(root, "inputs");
    assert_true(synap_json_is_array(inputs));
    assert_int_equal(synap_json_length(inputs), 1);
    const struct synap_json *in0 = synap_json_index(inputs, 0);
    assert_int_equal(in0->line, 3);
    assert_int_equal(in0->col, 14);
    assert_string_equal(synap_json_as_string(synap_json_get(in0, "name")), "x");
    const struct synap_json *shape = synap_json_get(in0, "shape");
    assert_int_equal(synap_json_length(shape), 4);
    int64_t d;
    assert_int_equal(synap_json_as_int64(synap_json_index(shape, 3), &d), 0);
    assert_int_equal(d, 224);
    assert_null(synap_json_index(shape, 4));

    assert_true(synap_json_as_number(synap_json_get(root, "rtol"), -1) == 0.001);
    assert_true(synap_json_as_number(synap_json_get(root, "atol"), -1) == 2e-5);
    assert_true(synap_json_as_bool(synap_json_get(root, "ok"), false));
    assert_false(synap_json_as_bool(synap_json_get(root, "bad"), true));
    assert_true(synap_json_is_null(synap_json_get(root, "none")));
    assert_true(synap_json_is_object(synap_json_get(root, "empty")));
    assert_int_equal(synap_json_length(synap_json_get(root, "empty")), 0);
    assert_true(synap_json_is_array(synap_json_get(root, "nothing")));
    assert_int_equal(synap_json_length(synap_json_get(root, "nothing")), 0);

    /* absent and wrong-typed lookups answer "absent", and chain through NULL */
    assert_null(synap_json_get(root, "missing"));
    assert_null(synap_json_get(inputs, "model"));
    assert_null(synap_json_index(root, 0));
    assert_null(synap_json_as_string(synap_json_get(root, "rtol")));
    assert_true(synap_json_as_number(synap_json_get(root, "model"), 7.5) == 7.5);
    assert_true(synap_json_as_bool(NULL, true));
    assert_null(synap_json_as_string(synap_json_get(synap_json_index(NULL, 0), "name")));
    assert_int_equal(synap_json_length(NULL), 0);
    assert_int_equal(synap_json_length(synap_json_get(root, "model")), 0);
    assert_false(synap_json_is_string(NULL));
    synap_arena_free(a);
}

static void test_scalars_at_top_level(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v = parse(a, " \t\r\n 42 \n", &err);
    assert_non_null(v);
    assert_true(v->num == 42.0);
    assert_int_equal(v->line, 2);
    assert_int_equal(v->col, 2);
    v = parse(a, "\"s\"", &err);
    assert_string_equal(v->s, "s");
    v = parse(a, "null", &err);
    assert_true(synap_json_is_null(v));
    v = parse(a, "false", &err);
    assert_true(synap_json_is_bool(v));
    assert_false(v->b);
    synap_arena_free(a);
}

static void test_strings(void **state)
{
    (void)state;
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v;

    v = parse(a, "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", &err);
    assert_non_null(v);
    assert_string_equal(v->s, "\" \\ / \b \f \n \r \t");
    assert_int_equal(v->slen, 15);

    /* \u escapes become UTF-8: U+00E9, U+20AC, U+1F600 (surrogate pair);
     * bytes checked against Python's "\u00e9\u20ac\U0001F600".encode() */
    v = parse(a, "\"\\u00e9\\u20AC\\ud83d\\ude00\"", &err);
    assert_non_null(v);
    assert_int_equal(v->slen, 9);
    assert_memory_equal(v->s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);

    /* raw UTF-8 passes through unchanged */
    v = parse(a, "\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\"", &err);
    assert_non_null(v);
    assert_string_equal(v->s, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");

    /* \u0000 is kept: slen counts it */
    v = parse(a, "\"a\\u0000b\"", &err);
    assert_non_null(v);
    assert_int_equal(v->slen, 3);
    assert_memory_equal(v->s, "a\0b", 4);

    v = parse(a, "\"\"", &err);
    assert_non_null(v);
    assert_int_equal(v->slen, 0);
    assert_string_equal(v->s, "");
    synap_arena_free(a);
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double want;
    } ok[] = {
        {"0", 0.0},
        {"-0", -0.0},
        {"1.5e3", 1500.0},
        {"1E-2", 0.01},
        {"-12.25", -12.25},
        {"1e+2", 100.0},
        {"123456789", 123456789.0},
        {"1e-400", 0.0}, /* underflows to zero: still a number */
        {"1.7976931348623157e308", 1.7976931348623157e308},
    };
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const struct synap_json *v = parse(a, ok[i].text, &err);
        assert_non_null(v);
        assert_true(synap_json_is_number(v));
        assert_true(v->num == ok[i].want);
    }
    assert_true(signbit(parse(a, "-0", &err)->num));

    int64_t x = 0;
    assert_int_equal(synap_json_as_int64(parse(a, "-9223372036854775808", &err), &x), 0);
    assert_true(x == INT64_MIN);
    assert_int_equal(synap_json_as_int64(parse(a, "3.0", &err), &x), 0);
    assert_int_equal(x, 3);
    x = 77;
    assert_int_equal(synap_json_as_int64(parse(a, "3.5", &err), &x), -1);
    assert_int_equal(synap_json_as_int64(parse(a, "9223372036854775808", &err), &x), -1);
    assert_int_equal(synap_json_as_int64(parse(a, "1e19", &err), &x), -1);
    assert_int_equal(synap_json_as_int64(parse(a, "\"3\"", &err), &x), -1);
    assert_int_equal(x, 77);
    synap_arena_free(a);

    expect_error("1e400", "t.json:1:1: number out of range");
    expect_error("-1e400", "t.json:1:1: number out of range");
    expect_error("01", "t.json:1:1: invalid number: leading zero");
    expect_error("-", "t.json:1:2: invalid number: expected a digit");
    expect_error("-a", "t.json:1:2: invalid number: expected a digit");
    expect_error("1.", "t.json:1:3: invalid number: expected a digit after '.'");
    expect_error("1.e3", "t.json:1:3: invalid number: expected a digit after '.'");
    expect_error("1e", "t.json:1:3: invalid number: expected a digit in the exponent");
    expect_error("1e+", "t.json:1:4: invalid number: expected a digit in the exponent");
    expect_error("+1", "t.json:1:1: unexpected '+'");
    expect_error(".5", "t.json:1:1: unexpected '.'");
    expect_error("0x10", "t.json:1:2: unexpected 'x' after the value");
    expect_error("NaN", "t.json:1:1: unexpected 'N'");
    expect_error("Infinity", "t.json:1:1: unexpected 'I'");
    expect_error("-Infinity", "t.json:1:2: invalid number: expected a digit");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("{\n  \"a\": 1,\n  \"b\": 2 \"c\"\n}", "t.json:3:10: expected ',' or '}'");
    expect_error("", "t.json:1:1: unexpected end of input");
    expect_error("  \n ", "t.json:2:2: unexpected end of input");
    expect_error("[1, 2,]", "t.json:1:7: unexpected ']'");
    expect_error("{\"a\": 1,}", "t.json:1:9: expected '\"' (an object key)");
    expect_error("[1 2]", "t.json:1:4: expected ',' or ']'");
    expect_error("[1, 2", "t.json:1:6: expected ',' or ']'");
    expect_error("{\"a\" 1}", "t.json:1:6: expected ':'");
    expect_error("{\"a\": }", "t.json:1:7: unexpected '}'");
    expect_error("{1: 2}", "t.json:1:2: expected '\"' (an object key)");
    expect_error("{'a': 2}", "t.json:1:2: expected '\"' (an object key)");
    expect_error("{\"a\":", "t.json:1:6: unexpected end of input");
    expect_error("1 2", "t.json:1:3: unexpected '2' after the value");
    expect_error("{} x", "t.json:1:4: unexpected 'x' after the value");
    expect_error("tru", "t.json:1:1: unexpected 't'");
    expect_error("nul", "t.json:1:1: unexpected 'n'");
    expect_error("True", "t.json:1:1: unexpected 'T'");
    expect_error("[true false]", "t.json:1:7: expected ',' or ']'");
    expect_error("// c\n1", "t.json:1:1: unexpected '/'");
    expect_error("[\x01]", "t.json:1:2: unexpected byte 0x01");
    expect_error("\xef\xbb\xbf{}", "t.json:1:1: byte order mark not allowed");
    expect_error("{\"a\": 1, \"b\": 2, \"a\": 3}", "t.json:1:1: duplicate key \"a\"");
    expect_error("[{}, {\"k\": [], \"k\": {}}]", "t.json:1:6: duplicate key \"k\"");
    expect_error("{\"a\\u0000b\": 1}", "t.json:1:2: object key contains \\u0000");
}

static void test_string_errors(void **state)
{
    (void)state;
    expect_error("\"abc", "t.json:1:1: unterminated string");
    expect_error("[\"abc\\\"]", "t.json:1:2: unterminated string");
    expect_error("\"a\\", "t.json:1:1: unterminated string");
    expect_error("\"a\nb\"", "t.json:1:3: unescaped control character U+000A in string");
    expect_error("\"a\tb\"", "t.json:1:3: unescaped control character U+0009 in string");
    expect_error("\"\\x41\"", "t.json:1:2: invalid escape '\\' followed by 'x'");
    expect_error("\"\\u12\"", "t.json:1:2: invalid \\u escape");
    expect_error("\"\\u12g4\"", "t.json:1:2: invalid \\u escape");
    expect_error("\"\\ud800\"", "t.json:1:2: unpaired surrogate \\uD800");
    expect_error("\"\\ud800\\u0041\"", "t.json:1:2: unpaired surrogate \\uD800");
    expect_error("\"x\\udc00\"", "t.json:1:3: unpaired surrogate \\uDC00");
    /* overlong '/', an encoded surrogate, beyond U+10FFFF, a lone continuation
     * byte, a truncated sequence */
    expect_error("\"\xc0\xaf\"", "t.json:1:2: invalid UTF-8 in string");
    expect_error("\"\xe0\x80\xaf\"", "t.json:1:2: invalid UTF-8 in string");
    expect_error("\"\xed\xa0\x80\"", "t.json:1:2: invalid UTF-8 in string");
    expect_error("\"\xf4\x90\x80\x80\"", "t.json:1:2: invalid UTF-8 in string");
    expect_error("\"a\x80\"", "t.json:1:3: invalid UTF-8 in string");
    expect_error("\"\xe2\x82\"", "t.json:1:2: invalid UTF-8 in string");
    expect_error("\xc3\xa9", "t.json:1:1: unexpected byte 0xc3");
}

/* Nesting up to SYNAP_JSON_MAX_DEPTH parses; one more level is an error,
 * not a stack overflow. */
static void test_depth_limit(void **state)
{
    (void)state;
    char buf[2 * SYNAP_JSON_MAX_DEPTH + 8];
    for (int extra = 0; extra <= 1; extra++) {
        int depth = SYNAP_JSON_MAX_DEPTH + extra;
        for (int i = 0; i < depth; i++)
            buf[i] = '[';
        for (int i = 0; i < depth; i++)
            buf[depth + i] = ']';
        buf[2 * depth] = 0;
        struct synap_arena *a = synap_arena_new();
        struct synap_err err = {0};
        const struct synap_json *v = parse(a, buf, &err);
        if (!extra) {
            assert_non_null(v);
        } else {
            assert_null(v);
            assert_string_equal(err.msg, "t.json:1:129: nesting deeper than 128");
        }
        synap_arena_free(a);
    }
    /* a deep hostile document fails the same way */
    size_t n = 1000000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[n] = 0;
    expect_error(deep, "t.json:1:129: nesting deeper than 128");
    memset(deep, '{', n);
    expect_error(deep, "t.json:1:2: expected '\"' (an object key)");
    free(deep);
}

/* Large arrays and objects: growth of the item vectors and the duplicate
 * check over many keys. */
static void test_large(void **state)
{
    (void)state;
    size_t n = 20000;
    char *buf = malloc(n * 16 + 16);
    size_t o = 0;
    buf[o++] = '{';
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(buf + o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    buf[o++] = '}';
    buf[o] = 0;
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v = parse(a, buf, &err);
    assert_non_null(v);
    assert_int_equal(synap_json_length(v), n);
    assert_true(synap_json_as_number(synap_json_get(v, "k19999"), -1) == 19999.0);
    assert_true(synap_json_as_number(synap_json_get(v, "k0"), -1) == 0.0);
    synap_arena_free(a);
    free(buf);
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/synap_test_json_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "{\"a\": [1, 2, 3]}";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v = synap_json_read(a, path, &err);
    assert_non_null(v);
    assert_true(synap_json_as_number(synap_json_index(synap_json_get(v, "a"), 2), 0) == 3.0);

    /* errors name the file */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "[1,\n2", 5), 5);
    close(fd);
    char want[256];
    snprintf(want, sizeof want, "%s:2:2: expected ',' or ']'", path);
    assert_null(synap_json_read(a, path, &err));
    assert_string_equal(err.msg, want);
    unlink(path);

    assert_null(synap_json_read(a, path, &err));
    assert_non_null(strstr(err.msg, path));
    synap_arena_free(a);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(synap_json_type_name(SYNAP_JSON_NULL), "null");
    assert_string_equal(synap_json_type_name(SYNAP_JSON_BOOL), "boolean");
    assert_string_equal(synap_json_type_name(SYNAP_JSON_NUMBER), "number");
    assert_string_equal(synap_json_type_name(SYNAP_JSON_STRING), "string");
    assert_string_equal(synap_json_type_name(SYNAP_JSON_ARRAY), "array");
    assert_string_equal(synap_json_type_name(SYNAP_JSON_OBJECT), "object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),      cmocka_unit_test(test_scalars_at_top_level),
        cmocka_unit_test(test_strings),       cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_syntax_errors), cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_large),
        cmocka_unit_test(test_read_file),     cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
