/* A strict RFC 8259 JSON reader building a read-only tree in an arena.
 *
 * Recursive descent over a byte span that need not be NUL-terminated. Every
 * read is checked against the end of the span; nesting is limited to
 * SYNAP_JSON_MAX_DEPTH so the recursion depth is bounded. Line and column are
 * tracked while skipping whitespace: raw newlines can only occur there (they
 * are rejected inside strings), so the column of any position is its offset
 * from the start of the current line. Columns count bytes, from 1.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

struct parser {
    const char *p, *end;
    const char *line_start;
    int line;
    const char *what;
    struct synap_arena *arena;
    struct synap_err *err;
};

static int col_of(const struct parser *ps, const char *at)
{
    ptrdiff_t c = at - ps->line_start + 1;
    return c > 1000000000 ? 1000000000 : (int)c;
}

/* An error at position `at`: "what:line:col: message". */
SYNAP_PRINTF(3, 4)
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return synap_errf(ps->err, "%s:%d:%d: %s", ps->what, ps->line, col_of(ps, at), msg);
}

/* The byte at p described for a message: 'x', byte 0xNN, or end of input. */
static const char *describe(const struct parser *ps, const char *at, char buf[16])
{
    if (at >= ps->end) return "end of input";
    unsigned char ch = (unsigned char)*at;
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(buf, 16, "'%c'", ch);
    else
        snprintf(buf, 16, "byte 0x%02x", ch);
    return buf;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end) {
        char ch = *ps->p;
        if (ch == '\n') {
            ps->line++;
            ps->line_start = ps->p + 1;
        } else if (ch != ' ' && ch != '\t' && ch != '\r') {
            return;
        }
        ps->p++;
    }
}

static struct synap_json *new_value(struct parser *ps, enum synap_json_type t)
{
    struct synap_json *v = synap_arena_alloc(ps->arena, sizeof *v);
    v->type = t;
    v->line = ps->line;
    v->col = col_of(ps, ps->p);
    return v;
}

/* Matches a literal keyword (true/false/null) at p. */
static int literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        char b[16];
        return fail_at(ps, ps->p, "unexpected %s", describe(ps, ps->p, b));
    }
    ps->p += n;
    return 0;
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* number = [ minus ] int [ frac ] [ exp ]: the grammar is checked here,
 * because strtod alone would accept hex, inf, nan and leading '+'. */
static int parse_number(struct parser *ps, struct synap_json *v)
{
    const char *s = ps->p, *q = ps->p;
    if (q < ps->end && *q == '-') q++;
    if (!is_digit(q, ps->end)) return fail_at(ps, q, "invalid number: expected a digit");
    if (*q == '0') {
        q++;
        if (is_digit(q, ps->end)) return fail_at(ps, s, "invalid number: leading zero");
    } else {
        while (is_digit(q, ps->end))
            q++;
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (!is_digit(q, ps->end))
            return fail_at(ps, q, "invalid number: expected a digit after '.'");
        while (is_digit(q, ps->end))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (!is_digit(q, ps->end))
            return fail_at(ps, q, "invalid number: expected a digit in the exponent");
        while (is_digit(q, ps->end))
            q++;
    }
    /* strtod needs a terminated copy: the text need not be terminated.
     * (It honours LC_NUMERIC; libsynap never calls setlocale.) */
    size_t len = (size_t)(q - s);
    char small[64];
    char *buf = len < sizeof small ? small : synap_xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = 0;
    errno = 0;
    double d = strtod(buf, NULL);
    int range = errno == ERANGE && isinf(d);
    if (buf != small) free(buf);
    /* Underflow to 0 or a denormal is fine; overflow has no double. */
    if (range) return fail_at(ps, s, "number out of range");
    v->num = d;
    ps->p = q;
    return 0;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4) return -1;
    unsigned u = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        u = u * 16 + d;
    }
    *out = u;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* A string at p (which is '"'): decoded into the arena. Decoding never
 * grows the text (an escape of k bytes yields at most k bytes of UTF-8), so
 * the raw span bounds the output. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
    const char *start = ps->p + 1, *q = start;
    /* find the closing quote, skipping escaped characters */
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) return fail_at(ps, ps->p, "unterminated string");
    const char *close = q;
    char *o = synap_arena_alloc(ps->arena, (size_t)(close - start) + 1);
    size_t n = 0;
    for (q = start; q < close;) {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20) return fail_at(ps, q, "unescaped control character U+%04X in string", ch);
        if (ch >= 0x80) {
            size_t k = utf8_len((const unsigned char *)q, (const unsigned char *)close);
            if (!k) return fail_at(ps, q, "invalid UTF-8 in string");
            memcpy(o + n, q, k);
            n += k;
            q += k;
            continue;
        }
        if (ch != '\\') {
            o[n++] = (char)ch;
            q++;
            continue;
        }
        const char *esc = q;
        char e = q[1]; /* q + 1 < close: the scan above never ends on a lone '\\' */
        q += 2;
        switch (e) {
        case '"':
            o[n++] = '"';
            break;
        case '\\':
            o[n++] = '\\';
            break;
        case '/':
            o[n++] = '/';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (hex4(q, close, &cp)) return fail_at(ps, esc, "invalid \\u escape");
            q += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at(ps, esc, "unpaired surrogate \\u%04X", cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (close - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, close, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(ps, esc, "unpaired surrogate \\u%04X", cp);
                q += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default: {
            char b[16];
            return fail_at(ps, esc, "invalid escape '\\' followed by %s", describe(ps, esc + 1, b));
        }
        }
    }
    o[n] = 0;
    *out = o;
    *outlen = n;
    ps->p = close + 1;
    return 0;
}

static int parse_value(struct parser *ps, const struct synap_json **out, int depth);

/* A growable array of pointers, copied into the arena when complete. */
struct vec {
    const void **v;
    size_t n, cap;
};

static void vec_push(struct vec *x, const void *p)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 8;
        x->v = synap_xrealloc(x->v, x->cap * sizeof *x->v);
    }
    x->v[x->n++] = p;
}

static const void **vec_finish(struct parser *ps, struct vec *x)
{
    const void **r = x->n ? synap_arena_memdup(ps->arena, x->v, x->n * sizeof *x->v) : NULL;
    free(x->v);
    x->v = NULL;
    return r;
}

static int parse_array(struct parser *ps, struct synap_json *v, int depth)
{
    struct vec items = {0};
    ps->p++; /* '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        const struct synap_json *item;
        if (parse_value(ps, &item, depth + 1)) goto fail;
        vec_push(&items, item);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        fail_at(ps, ps->p, "expected ',' or ']'");
        goto fail;
    }
    v->n = items.n;
    v->items = (const struct synap_json **)vec_finish(ps, &items);
    return 0;
fail:
    free(items.v);
    return -1;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_object(struct parser *ps, struct synap_json *v, int depth)
{
    struct vec keys = {0}, vals = {0};
    const char **sorted = NULL;
    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"') {
            fail_at(ps, ps->p, "expected '\"' (an object key)");
            goto fail;
        }
        const char *kpos = ps->p, *key;
        size_t klen;
        if (parse_string(ps, &key, &klen)) goto fail;
        /* Keys are looked up as C strings: an embedded NUL would make two
         * different keys compare equal. */
        if (strlen(key) != klen) {
            fail_at(ps, kpos, "object key contains \\u0000");
            goto fail;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail_at(ps, ps->p, "expected ':'");
            goto fail;
        }
        ps->p++;
        skip_ws(ps);
        const struct synap_json *val;
        if (parse_value(ps, &val, depth + 1)) goto fail;
        vec_push(&keys, key);
        vec_push(&vals, val);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        fail_at(ps, ps->p, "expected ',' or '}'");
        goto fail;
    }
    /* Duplicate keys make lookups ambiguous (RFC 8259 §4): reject them,
     * sorting a copy so large objects stay O(n log n). */
    sorted = synap_xmalloc(keys.n * sizeof *sorted);
    memcpy(sorted, keys.v, keys.n * sizeof *sorted);
    qsort(sorted, keys.n, sizeof *sorted, cmp_key);
    for (size_t i = 1; i < keys.n; i++) {
        if (!strcmp(sorted[i - 1], sorted[i])) {
            synap_errf(ps->err, "%s:%d:%d: duplicate key \"%.200s\"", ps->what, v->line, v->col,
                       sorted[i]);
            goto fail;
        }
    }
    free(sorted);
    v->n = keys.n;
    v->keys = (const char **)vec_finish(ps, &keys);
    v->items = (const struct synap_json **)vec_finish(ps, &vals);
    return 0;
fail:
    free(sorted);
    free(keys.v);
    free(vals.v);
    return -1;
}

static int parse_value(struct parser *ps, const struct synap_json **out, int depth)
{
    char b[16];
    if (ps->p >= ps->end) return fail_at(ps, ps->p, "unexpected end of input");
    if (depth > SYNAP_JSON_MAX_DEPTH)
        return fail_at(ps, ps->p, "nesting deeper than %d", SYNAP_JSON_MAX_DEPTH);
    struct synap_json *v;
    int r;
    switch (*ps->p) {
    case '{':
        v = new_value(ps, SYNAP_JSON_OBJECT);
        r = parse_object(ps, v, depth);
        break;
    case '[':
        v = new_value(ps, SYNAP_JSON_ARRAY);
        r = parse_array(ps, v, depth);
        break;
    case '"':
        v = new_value(ps, SYNAP_JSON_STRING);
        r = parse_string(ps, &v->s, &v->slen);
        break;
    case 't':
    case 'f':
        v = new_value(ps, SYNAP_JSON_BOOL);
        v->b = *ps->p == 't';
        r = literal(ps, v->b ? "true" : "false");
        break;
    case 'n':
        v = new_value(ps, SYNAP_JSON_NULL);
        r = literal(ps, "null");
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            v = new_value(ps, SYNAP_JSON_NUMBER);
            r = parse_number(ps, v);
            break;
        }
        return fail_at(ps, ps->p, "unexpected %s", describe(ps, ps->p, b));
    }
    if (r) return -1;
    *out = v;
    return 0;
}

const struct synap_json *synap_json_parse(struct synap_arena *a, const char *text, size_t n,
                                          const char *what, struct synap_err *err)
{
    struct parser ps = {text, text + n, text, 1, what ? what : "<json>", a, err};
    if (n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
        fail_at(&ps, text, "byte order mark not allowed");
        return NULL;
    }
    const struct synap_json *root;
    skip_ws(&ps);
    if (parse_value(&ps, &root, 1)) return NULL;
    skip_ws(&ps);
    if (ps.p < ps.end) {
        char b[16];
        fail_at(&ps, ps.p, "unexpected %s after the value", describe(&ps, ps.p, b));
        return NULL;
    }
    return root;
}

const struct synap_json *synap_json_read(struct synap_arena *a, const char *path,
                                         struct synap_err *err)
{
    struct synap_file f;
    if (synap_file_read(path, &f, err)) return NULL;
    const struct synap_json *r = synap_json_parse(a, (const char *)f.data, f.size, path, err);
    synap_file_close(&f);
    return r;
}

const struct synap_json *synap_json_get(const struct synap_json *v, const char *key)
{
    if (!v || v->type != SYNAP_JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) return v->items[i];
    return NULL;
}

const struct synap_json *synap_json_index(const struct synap_json *v, size_t i)
{
    if (!v || v->type != SYNAP_JSON_ARRAY || i >= v->n) return NULL;
    return v->items[i];
}

size_t synap_json_length(const struct synap_json *v)
{
    if (!v || (v->type != SYNAP_JSON_ARRAY && v->type != SYNAP_JSON_OBJECT)) return 0;
    return v->n;
}

const char *synap_json_as_string(const struct synap_json *v)
{
    return v && v->type == SYNAP_JSON_STRING ? v->s : NULL;
}

double synap_json_as_number(const struct synap_json *v, double def)
{
    return v && v->type == SYNAP_JSON_NUMBER ? v->num : def;
}

bool synap_json_as_bool(const struct synap_json *v, bool def)
{
    return v && v->type == SYNAP_JSON_BOOL ? v->b : def;
}

int synap_json_as_int64(const struct synap_json *v, int64_t *out)
{
    if (!v || v->type != SYNAP_JSON_NUMBER) return -1;
    double d = v->num;
    /* 2^63 is exactly representable; every double below it in magnitude
     * converts without overflow. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return -1;
    *out = (int64_t)d;
    return 0;
}

const char *synap_json_type_name(enum synap_json_type t)
{
    switch (t) {
    case SYNAP_JSON_NULL:
        return "null";
    case SYNAP_JSON_BOOL:
        return "boolean";
    case SYNAP_JSON_NUMBER:
        return "number";
    case SYNAP_JSON_STRING:
        return "string";
    case SYNAP_JSON_ARRAY:
        return "array";
    case SYNAP_JSON_OBJECT:
        return "object";
    }
    return "unknown";
}
