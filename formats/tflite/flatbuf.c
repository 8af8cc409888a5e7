/* Bounds-checked FlatBuffer access (see flatbuf.h for the layout and the
 * sticky-error contract). Every position is a size_t checked against the
 * buffer size before any byte is read; arithmetic is done so it cannot wrap. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tflite/flatbuf.h"

void fb_init(struct fb_reader *r, const void *data, size_t size, struct synap_err *err)
{
    r->data = data;
    r->size = size;
    r->err = err;
    r->failed = 0;
}

int fb_failed(const struct fb_reader *r)
{
    return r->failed;
}

int fb_fail(struct fb_reader *r, const char *fmt, ...)
{
    if (r->failed) return -1; /* keep the first message: it names the cause */
    r->failed = 1;
    if (r->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
        va_end(ap);
        r->err->code = SYNAP_EINPUT;
    }
    return -1;
}

/* n bytes at pos lie inside the buffer. */
static int in_range(const struct fb_reader *r, size_t pos, size_t n)
{
    return pos <= r->size && n <= r->size - pos;
}

static uint16_t rd16(const struct fb_reader *r, size_t pos)
{
    uint8_t b[2];
    memcpy(b, r->data + pos, 2);
    return (uint16_t)(b[0] | (unsigned)b[1] << 8);
}

static uint32_t rd32(const struct fb_reader *r, size_t pos)
{
    uint8_t b[4];
    memcpy(b, r->data + pos, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(const struct fb_reader *r, size_t pos)
{
    return (uint64_t)rd32(r, pos) | (uint64_t)rd32(r, pos + 4) << 32;
}

/* Resolves the table whose start is at pos: its vtable must lie inside the
 * buffer, be at least 4 bytes and even, and the table's inline part too. */
static struct fb_table table_at(struct fb_reader *r, size_t pos)
{
    struct fb_table t = {0, 0, 0, 0};
    if (r->failed) return t;
    if (!in_range(r, pos, 4)) {
        fb_fail(r, "table offset %zu is outside the file (%zu bytes)", pos, r->size);
        return t;
    }
    int32_t so = (int32_t)rd32(r, pos);
    /* vtable = pos - so, computed without wrapping */
    int64_t vt = (int64_t)pos - (int64_t)so;
    if (vt < 0 || (uint64_t)vt > r->size || !in_range(r, (size_t)vt, 4)) {
        fb_fail(r, "table at %zu: vtable offset %lld is outside the file", pos, (long long)vt);
        return t;
    }
    uint16_t vtsize = rd16(r, (size_t)vt), tsize = rd16(r, (size_t)vt + 2);
    if (vtsize < 4 || (vtsize & 1) || !in_range(r, (size_t)vt, vtsize)) {
        fb_fail(r, "table at %zu: bad vtable (%u bytes)", pos, (unsigned)vtsize);
        return t;
    }
    if (tsize < 4 || !in_range(r, pos, tsize)) {
        fb_fail(r, "table at %zu: its %u bytes run past the end of the file", pos, (unsigned)tsize);
        return t;
    }
    t.pos = pos;
    t.vt = (size_t)vt;
    t.vtsize = vtsize;
    t.tsize = tsize;
    return t;
}

struct fb_table fb_root(struct fb_reader *r)
{
    struct fb_table t = {0, 0, 0, 0};
    if (r->failed) return t;
    if (r->size < 8) {
        fb_fail(r, "file too short for a FlatBuffer (%zu bytes)", r->size);
        return t;
    }
    return table_at(r, rd32(r, 0));
}

int fb_has_identifier(const struct fb_reader *r, const char id[4])
{
    return r->size >= 8 && !memcmp(r->data + 4, id, 4);
}

/* Position of field `field` holding n bytes, or 0 when absent (a field can
 * never be at position 0: the table's soffset is there). */
static size_t field_pos(struct fb_reader *r, const struct fb_table *t, unsigned field, size_t n)
{
    if (r->failed || !t->vtsize || field > 32000) return 0;
    size_t slot = 4 + 2 * (size_t)field;
    if (slot + 2 > t->vtsize) return 0;
    uint16_t off = rd16(r, t->vt + slot);
    if (!off) return 0;
    if ((size_t)off + n > t->tsize) {
        fb_fail(r, "table at %zu: field %u lies outside the table", t->pos, field);
        return 0;
    }
    return t->pos + off; /* inside the buffer: the table's extent was checked */
}

int fb_has(struct fb_reader *r, const struct fb_table *t, unsigned field)
{
    return field_pos(r, t, field, 1) != 0;
}

uint8_t fb_u8(struct fb_reader *r, const struct fb_table *t, unsigned field, uint8_t def)
{
    size_t p = field_pos(r, t, field, 1);
    return p ? r->data[p] : def;
}

int8_t fb_i8(struct fb_reader *r, const struct fb_table *t, unsigned field, int8_t def)
{
    size_t p = field_pos(r, t, field, 1);
    return p ? (int8_t)r->data[p] : def;
}

uint16_t fb_u16(struct fb_reader *r, const struct fb_table *t, unsigned field, uint16_t def)
{
    size_t p = field_pos(r, t, field, 2);
    return p ? rd16(r, p) : def;
}

uint32_t fb_u32(struct fb_reader *r, const struct fb_table *t, unsigned field, uint32_t def)
{
    size_t p = field_pos(r, t, field, 4);
    return p ? rd32(r, p) : def;
}

int32_t fb_i32(struct fb_reader *r, const struct fb_table *t, unsigned field, int32_t def)
{
    size_t p = field_pos(r, t, field, 4);
    return p ? (int32_t)rd32(r, p) : def;
}

uint64_t fb_u64(struct fb_reader *r, const struct fb_table *t, unsigned field, uint64_t def)
{
    size_t p = field_pos(r, t, field, 8);
    return p ? rd64(r, p) : def;
}

int64_t fb_i64(struct fb_reader *r, const struct fb_table *t, unsigned field, int64_t def)
{
    size_t p = field_pos(r, t, field, 8);
    return p ? (int64_t)rd64(r, p) : def;
}

float fb_f32(struct fb_reader *r, const struct fb_table *t, unsigned field, float def)
{
    size_t p = field_pos(r, t, field, 4);
    if (!p) return def;
    uint32_t u = rd32(r, p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Follows the uoffset stored at p; 0 on failure. */
static size_t follow(struct fb_reader *r, size_t p, const char *what)
{
    uint32_t off = rd32(r, p);
    if (!off || !in_range(r, p, (size_t)off) || !in_range(r, p + off, 4)) {
        fb_fail(r, "%s at %zu: offset %u points outside the file", what, p, (unsigned)off);
        return 0;
    }
    return p + off;
}

struct fb_table fb_table(struct fb_reader *r, const struct fb_table *t, unsigned field)
{
    struct fb_table none = {0, 0, 0, 0};
    size_t p = field_pos(r, t, field, 4);
    if (!p) return none;
    size_t q = follow(r, p, "table reference");
    return q ? table_at(r, q) : none;
}

/* The vector whose length word is at q. */
static struct fb_vec vector_at(struct fb_reader *r, size_t q, uint32_t esize)
{
    struct fb_vec v = {0, 0, esize};
    uint32_t len = rd32(r, q);
    size_t nbytes;
    if (synap_mul_overflow(len, esize, &nbytes) || !in_range(r, q + 4, nbytes)) {
        fb_fail(r, "vector at %zu: %u elements of %u bytes run past the end of the file", q,
                (unsigned)len, (unsigned)esize);
        return v;
    }
    v.pos = q + 4;
    v.len = len;
    return v;
}

struct fb_vec fb_vector(struct fb_reader *r, const struct fb_table *t, unsigned field,
                        uint32_t esize)
{
    struct fb_vec none = {0, 0, esize};
    size_t p = field_pos(r, t, field, 4);
    if (!p) return none;
    size_t q = follow(r, p, "vector reference");
    return q ? vector_at(r, q, esize) : none;
}

const char *fb_string(struct fb_reader *r, const struct fb_table *t, unsigned field, uint32_t *len)
{
    if (len) *len = 0;
    size_t p = field_pos(r, t, field, 4);
    if (!p) return NULL;
    size_t q = follow(r, p, "string reference");
    if (!q) return NULL;
    struct fb_vec v = vector_at(r, q, 1);
    if (r->failed) return NULL;
    if (!in_range(r, v.pos + v.len, 1) || r->data[v.pos + v.len] != 0) {
        fb_fail(r, "string at %zu is not NUL-terminated", q);
        return NULL;
    }
    if (len) *len = v.len;
    return (const char *)r->data + v.pos;
}

static int elem_ok(struct fb_reader *r, const struct fb_vec *v, uint32_t i, uint32_t esize)
{
    if (r->failed) return 0;
    if (i >= v->len || v->esize != esize) {
        fb_fail(r, "vector element %u of %u (size %u) read as size %u", (unsigned)i,
                (unsigned)v->len, (unsigned)v->esize, (unsigned)esize);
        return 0;
    }
    return 1;
}

struct fb_table fb_vec_table(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    struct fb_table none = {0, 0, 0, 0};
    if (!elem_ok(r, v, i, 4)) return none;
    size_t q = follow(r, v->pos + 4 * (size_t)i, "vector element");
    return q ? table_at(r, q) : none;
}

int32_t fb_vec_i32(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    return elem_ok(r, v, i, 4) ? (int32_t)rd32(r, v->pos + 4 * (size_t)i) : 0;
}

uint32_t fb_vec_u32(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    return elem_ok(r, v, i, 4) ? rd32(r, v->pos + 4 * (size_t)i) : 0;
}

int64_t fb_vec_i64(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    return elem_ok(r, v, i, 8) ? (int64_t)rd64(r, v->pos + 8 * (size_t)i) : 0;
}

uint16_t fb_vec_u16(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    return elem_ok(r, v, i, 2) ? rd16(r, v->pos + 2 * (size_t)i) : 0;
}

uint8_t fb_vec_u8(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    return elem_ok(r, v, i, 1) ? r->data[v->pos + i] : 0;
}

float fb_vec_f32(struct fb_reader *r, const struct fb_vec *v, uint32_t i)
{
    uint32_t u = fb_vec_u32(r, v, i);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

const uint8_t *fb_vec_bytes(const struct fb_reader *r, const struct fb_vec *v)
{
    return v->len ? r->data + v->pos : NULL;
}
