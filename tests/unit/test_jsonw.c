/* The JSON writer: exact bytes, escaping, canonical key order, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/jsonw.h"

static void test_compact_and_pretty(void **state)
{
    (void)state;
    for (int pretty = 0; pretty < 2; pretty++) {
        struct synap_jw w;
        synap_jw_init(&w, pretty);
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "graph");
        synap_jw_arr_begin(&w);
        synap_jw_int(&w, -1);
        synap_jw_num(&w, 0.5);
        synap_jw_num(&w, 1.0 / 0.0);
        synap_jw_arr_end(&w);
        synap_jw_key(&w, "s");
        synap_jw_str(&w, "a\"b\\c\n\x01");
        synap_jw_key(&w, "e");
        synap_jw_obj_begin(&w);
        synap_jw_obj_end(&w);
        synap_jw_key(&w, "t");
        synap_jw_bool(&w, true);
        synap_jw_obj_end(&w);
        size_t n;
        char *s = synap_jw_finish(&w, &n);
        const char *want =
            pretty ? "{\n  \"graph\": [\n    -1,\n    0.5,\n    null\n  ],\n  \"s\": "
                     "\"a\\\"b\\\\c\\n\\u0001\",\n  \"e\": {},\n  \"t\": true\n}\n"
                   : "{\"graph\":[-1,0.5,null],\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"e\":{},\"t\":true}";
        assert_string_equal(s, want);
        assert_int_equal(n, strlen(want));
        free(s);
    }
}

static void test_canonical_sorts_keys_and_round_trips(void **state)
{
    (void)state;
    const char *text = "{\"b\": [1, 2.25, {\"z\": null, \"a\": false}], \"a\": \"x\", \"c\": 1e-7, "
                       "\"d\": {}, \"e\": 58.4, \"f\": 0.1}";
    struct synap_arena *a = synap_arena_new();
    struct synap_err err = {0};
    const struct synap_json *v = synap_json_parse(a, text, strlen(text), "t.json", &err);
    assert_non_null(v);
    struct synap_jw w;
    synap_jw_init(&w, 0);
    synap_jw_canonical(&w, v);
    char *s = synap_jw_finish(&w, NULL);
    assert_string_equal(s, "{\"a\":\"x\",\"b\":[1,2.25,{\"a\":false,\"z\":null}],"
                           "\"c\":1e-07,\"d\":{},\"e\":58.4,\"f\":0.1}");
    const struct synap_json *back = synap_json_parse(a, s, strlen(s), "back.json", &err);
    assert_non_null(back);
    assert_true(synap_json_as_number(synap_json_get(back, "c"), 0) == 1e-7);
    free(s);
    synap_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_and_pretty),
        cmocka_unit_test(test_canonical_sorts_keys_and_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
