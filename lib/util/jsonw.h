/* Writing JSON: deterministic bytes for fragments, bundle.json and model.json. */
#ifndef SYNAP_JSONW_H
#define SYNAP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/json.h"

/* A writer appends to a growing buffer. Keys are written in the order given;
 * commas and (with pretty) newlines and 2-space indentation are automatic.
 * Numbers: integers exactly; other doubles in the shortest of %.15g..%.17g
 * that reads back exactly;
 * non-finite numbers are written as null (JSON has no NaN). Strings are
 * escaped (", \, control characters as \u00XX; UTF-8 passed through). */
struct synap_jw {
    char *buf;
    size_t n, cap;
    int pretty;
    int depth;
    unsigned char first[SYNAP_JSON_MAX_DEPTH + 1]; /* no element written yet at this depth */
    int after_key;
};

void synap_jw_init(struct synap_jw *w, int pretty);
void synap_jw_obj_begin(struct synap_jw *w);
void synap_jw_obj_end(struct synap_jw *w);
void synap_jw_arr_begin(struct synap_jw *w);
void synap_jw_arr_end(struct synap_jw *w);
void synap_jw_key(struct synap_jw *w, const char *key);
void synap_jw_str(struct synap_jw *w, const char *s);
void synap_jw_strn(struct synap_jw *w, const char *s, size_t n);
void synap_jw_int(struct synap_jw *w, int64_t v);
void synap_jw_num(struct synap_jw *w, double v);
void synap_jw_bool(struct synap_jw *w, bool v);
void synap_jw_null(struct synap_jw *w);
/* A parsed value, with object keys sorted (strcmp): the canonical form of a
 * JSON document, so that equal options give equal bytes. */
void synap_jw_canonical(struct synap_jw *w, const struct synap_json *v);
/* The text (NUL-terminated; a final newline when pretty); caller frees.
 * The writer is empty afterwards. */
char *synap_jw_finish(struct synap_jw *w, size_t *n);

#endif
