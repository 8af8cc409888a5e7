/* A small deterministic JSON writer. */
#include "util/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct synap_jw *w, const char *s, size_t n)
{
    if (n + 1 > w->cap - w->n) {
        size_t cap = w->cap ? w->cap : 256;
        while (n + 1 > cap - w->n) cap *= 2;
        w->buf = synap_xrealloc(w->buf, cap);
        w->cap = cap;
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
    w->buf[w->n] = 0;
}

static void puts_(struct synap_jw *w, const char *s) { put(w, s, strlen(s)); }

static void newline(struct synap_jw *w)
{
    if (!w->pretty) return;
    put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++) put(w, "  ", 2);
}

/* before any value or key: the separator its position needs */
static void sep(struct synap_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth]) put(w, ",", 1);
        w->first[w->depth] = 0;
        newline(w);
    }
}

void synap_jw_init(struct synap_jw *w, int pretty)
{
    memset(w, 0, sizeof *w);
    w->pretty = pretty;
}

static void open_(struct synap_jw *w, const char *c)
{
    sep(w);
    puts_(w, c);
    if (w->depth < SYNAP_JSON_MAX_DEPTH) w->depth++;
    w->first[w->depth] = 1;
}

static void close_(struct synap_jw *w, const char *c)
{
    int empty = w->first[w->depth];
    if (w->depth > 0) w->depth--;
    if (!empty) newline(w);
    puts_(w, c);
}

void synap_jw_obj_begin(struct synap_jw *w) { open_(w, "{"); }
void synap_jw_obj_end(struct synap_jw *w) { close_(w, "}"); }
void synap_jw_arr_begin(struct synap_jw *w) { open_(w, "["); }
void synap_jw_arr_end(struct synap_jw *w) { close_(w, "]"); }

static void escaped(struct synap_jw *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char buf[8];
        if (c == '"')
            rep = "\\\"";
        else if (c == '\\')
            rep = "\\\\";
        else if (c == '\n')
            rep = "\\n";
        else if (c == '\t')
            rep = "\\t";
        else if (c == '\r')
            rep = "\\r";
        else if (c < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", c);
            rep = buf;
        }
        if (!rep) continue;
        put(w, s + run, i - run);
        puts_(w, rep);
        run = i + 1;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void synap_jw_key(struct synap_jw *w, const char *key)
{
    sep(w);
    escaped(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = 1;
}

void synap_jw_strn(struct synap_jw *w, const char *s, size_t n)
{
    sep(w);
    escaped(w, s, n);
}

void synap_jw_str(struct synap_jw *w, const char *s) { synap_jw_strn(w, s, strlen(s)); }

void synap_jw_int(struct synap_jw *w, int64_t v)
{
    char buf[32];
    sep(w);
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    puts_(w, buf);
}

void synap_jw_num(struct synap_jw *w, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        synap_jw_null(w);
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        synap_jw_int(w, (int64_t)v);
        return;
    }
    sep(w);
    /* the shortest of %.15g..%.17g that reads back exactly: 58.4, not
     * 58.399999999999999 */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    puts_(w, buf);
}

void synap_jw_bool(struct synap_jw *w, bool v)
{
    sep(w);
    puts_(w, v ? "true" : "false");
}

void synap_jw_null(struct synap_jw *w)
{
    sep(w);
    puts_(w, "null");
}

static int cmp_keys(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

void synap_jw_canonical(struct synap_jw *w, const struct synap_json *v)
{
    switch (v ? v->type : SYNAP_JSON_NULL) {
    case SYNAP_JSON_BOOL: synap_jw_bool(w, v->b); break;
    case SYNAP_JSON_NUMBER: synap_jw_num(w, v->num); break;
    case SYNAP_JSON_STRING: synap_jw_strn(w, v->s, v->slen); break;
    case SYNAP_JSON_ARRAY:
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < v->n; i++) synap_jw_canonical(w, v->items[i]);
        synap_jw_arr_end(w);
        break;
    case SYNAP_JSON_OBJECT: {
        const char **keys = synap_xmalloc((v->n ? v->n : 1) * sizeof *keys);
        if (v->n) memcpy(keys, v->keys, v->n * sizeof *keys); /* keys is NULL for {} */
        qsort(keys, v->n, sizeof *keys, cmp_keys);
        synap_jw_obj_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            synap_jw_key(w, keys[i]);
            synap_jw_canonical(w, synap_json_get(v, keys[i]));
        }
        synap_jw_obj_end(w);
        free(keys);
        break;
    }
    default: synap_jw_null(w); break;
    }
}

char *synap_jw_finish(struct synap_jw *w, size_t *n)
{
    if (w->pretty) put(w, "\n", 1);
    if (!w->buf) put(w, "", 0);
    char *s = w->buf;
    if (n) *n = w->n;
    memset(w, 0, sizeof *w);
    return s;
}
