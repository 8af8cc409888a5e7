/* A small strict JSON reader (RFC 8259) for test manifests and configs. */
#ifndef SYNAP_JSON_H
#define SYNAP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Deeper nesting is rejected, so hostile input cannot exhaust the stack. */
#define SYNAP_JSON_MAX_DEPTH 128

enum synap_json_type {
    SYNAP_JSON_NULL = 1,
    SYNAP_JSON_BOOL,
    SYNAP_JSON_NUMBER,
    SYNAP_JSON_STRING,
    SYNAP_JSON_ARRAY,
    SYNAP_JSON_OBJECT,
};

/* One value of the tree. Everything (values, strings, arrays) lives in the
 * arena given to the parser and dies with it. */
struct synap_json {
    enum synap_json_type type;
    int line, col; /* where the value starts in the text (1-based), for messages */
    bool b;        /* BOOL */
    double num;    /* NUMBER */
    const char *s; /* STRING: UTF-8, NUL-terminated (may hold \u0000: use slen) */
    size_t slen;   /* STRING: bytes, without the terminator */
    size_t n;      /* ARRAY: elements; OBJECT: members */
    const struct synap_json **items; /* ARRAY elements / OBJECT values, n of them */
    const char **keys;               /* OBJECT keys in file order, n of them (unique) */
};

/* Parses n bytes of text (not necessarily NUL-terminated). `what` (the file
 * name) starts every message, with the line and column of the problem:
 * "case.json:3:14: expected ',' or '}'". Strict: no comments, no trailing
 * commas, no duplicate keys, UTF-8 validated, numbers must fit a double,
 * nesting limited to SYNAP_JSON_MAX_DEPTH. Returns the root (borrowed from
 * the arena) or NULL with err set; on failure the arena may hold garbage
 * that dies with it. */
const struct synap_json *synap_json_parse(struct synap_arena *a, const char *text, size_t n,
                                          const char *what, struct synap_err *err);
/* Reads and parses a file; messages start with path. */
const struct synap_json *synap_json_read(struct synap_arena *a, const char *path,
                                         struct synap_err *err);

/* Accessors. Every one accepts NULL (and a value of the wrong type) and then
 * answers "absent", so lookups chain:
 *   synap_json_as_string(synap_json_get(synap_json_index(inputs, 0), "name")) */
/* Member `key` of an object; NULL when v is not an object or has no such key. */
const struct synap_json *synap_json_get(const struct synap_json *v, const char *key);
/* Element i of an array; NULL when v is not an array or i is out of range. */
const struct synap_json *synap_json_index(const struct synap_json *v, size_t i);
/* Elements of an array or members of an object; 0 for anything else. */
size_t synap_json_length(const struct synap_json *v);
/* The string (borrowed from the arena), or NULL when v is not a string. */
const char *synap_json_as_string(const struct synap_json *v);
/* The number, or def when v is not a number. */
double synap_json_as_number(const struct synap_json *v, double def);
/* The boolean, or def when v is not a boolean. */
bool synap_json_as_bool(const struct synap_json *v, bool def);
/* 0 and *out when v is a number with an integral value within int64 range;
 * -1 otherwise (*out untouched). */
int synap_json_as_int64(const struct synap_json *v, int64_t *out);

static inline bool synap_json_is_null(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_NULL;
}
static inline bool synap_json_is_bool(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_BOOL;
}
static inline bool synap_json_is_number(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_NUMBER;
}
static inline bool synap_json_is_string(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_STRING;
}
static inline bool synap_json_is_array(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_ARRAY;
}
static inline bool synap_json_is_object(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_OBJECT;
}

/* "null", "boolean", "number", "string", "array", "object" (for messages). */
const char *synap_json_type_name(enum synap_json_type t);

#endif
