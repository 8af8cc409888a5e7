/* A bounds-checked FlatBuffer reader: tables, vectors, strings and scalars
 * of any schema, reached by field number, with every offset, length and
 * vtable checked against the buffer before it is read.
 *
 * The reader is "sticky": the first problem is recorded in the reader (and
 * its synap_err), and every later access on a failed reader, or on a table
 * or vector that could not be resolved, returns an empty table or vector or
 * the field's default. Callers read a whole record and then check
 * fb_failed() once, instead of testing every field; nothing out of bounds
 * is ever touched, whatever the bytes. Scalars are read with memcpy
 * (little-endian files, unaligned offsets allowed).
 *
 * Layout facts (flatbuffers.dev/internals): a uoffset is a uint32 relative to
 * where it is stored; a table starts with an int32 soffset to its vtable
 * (vtable = table - soffset); a vtable is uint16 [vtable bytes, table bytes,
 * field offsets...], field k at slot 4 + 2k, 0 meaning absent; a vector is a
 * uint32 count followed by the elements; a string is a byte vector followed
 * by a NUL.
 */
#ifndef SYNAP_TFLITE_FLATBUF_H
#define SYNAP_TFLITE_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct fb_reader {
    const uint8_t *data; /* borrowed */
    size_t size;
    struct synap_err *err; /* may be NULL */
    int failed;
};

struct fb_table {
    size_t pos;      /* table start; 0 with vtsize 0 for an absent table */
    size_t vt;       /* vtable start */
    uint16_t vtsize; /* bytes of the vtable */
    uint16_t tsize;  /* bytes of the table's inline part */
};

struct fb_vec {
    size_t pos;   /* first element */
    uint32_t len; /* element count (0 for an absent vector) */
    uint32_t esize;
};

/* Starts reading a buffer; err receives the first problem. */
void fb_init(struct fb_reader *r, const void *data, size_t size, struct synap_err *err);
int fb_failed(const struct fb_reader *r);
/* Records a problem found by the caller (e.g. a semantic check); -1. */
int fb_fail(struct fb_reader *r, const char *fmt, ...) SYNAP_PRINTF(2, 3);

/* The root table (uoffset at byte 0). */
struct fb_table fb_root(struct fb_reader *r);
/* The 4-byte file identifier at bytes 4..7 matches id. */
int fb_has_identifier(const struct fb_reader *r, const char id[4]);

/* 1 when the field is present in the table. */
int fb_has(struct fb_reader *r, const struct fb_table *t, unsigned field);
/* Scalar fields (default when absent). */
uint8_t fb_u8(struct fb_reader *r, const struct fb_table *t, unsigned field, uint8_t def);
int8_t fb_i8(struct fb_reader *r, const struct fb_table *t, unsigned field, int8_t def);
uint16_t fb_u16(struct fb_reader *r, const struct fb_table *t, unsigned field, uint16_t def);
int32_t fb_i32(struct fb_reader *r, const struct fb_table *t, unsigned field, int32_t def);
uint32_t fb_u32(struct fb_reader *r, const struct fb_table *t, unsigned field, uint32_t def);
int64_t fb_i64(struct fb_reader *r, const struct fb_table *t, unsigned field, int64_t def);
uint64_t fb_u64(struct fb_reader *r, const struct fb_table *t, unsigned field, uint64_t def);
float fb_f32(struct fb_reader *r, const struct fb_table *t, unsigned field, float def);

/* A sub-table (absent: an empty table whose fields all read as defaults). */
struct fb_table fb_table(struct fb_reader *r, const struct fb_table *t, unsigned field);
/* A vector of elements of esize bytes (scalars or offsets); absent: empty. */
struct fb_vec fb_vector(struct fb_reader *r, const struct fb_table *t, unsigned field,
                        uint32_t esize);
/* A string: pointer into the buffer (NUL-terminated, checked) and its length;
 * NULL when absent or bad. */
const char *fb_string(struct fb_reader *r, const struct fb_table *t, unsigned field, uint32_t *len);

/* Element i of a vector of tables. */
struct fb_table fb_vec_table(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
/* Element i of a scalar vector (i < v->len, else the reader fails). */
int32_t fb_vec_i32(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
int64_t fb_vec_i64(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
uint32_t fb_vec_u32(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
uint16_t fb_vec_u16(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
uint8_t fb_vec_u8(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
float fb_vec_f32(struct fb_reader *r, const struct fb_vec *v, uint32_t i);
/* The raw bytes of a vector (borrowed; len * esize of them). */
const uint8_t *fb_vec_bytes(const struct fb_reader *r, const struct fb_vec *v);

#endif
