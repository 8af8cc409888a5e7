/* The conversion metafile: SyNAP's YAML keys parsed, validated, and split into
 * canonical per-stage option fragments. Rules: REFERENCE.md "Conversion
 * metafile"; fragments: convert-design.md §2. */
#include "meta/meta.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"
#include "util/jsonw.h"
#include "util/yaml.h"

struct synap_meta_priv {
    struct synap_arena *a;
    struct synap_yaml *y;       /* kept: custom/options nodes point into it */
    struct synap_yaml *sec_y;   /* the security file, when one was read */
    const char *dequantize_key; /* "dequantize_outputs" or "denormalize_outputs" as written */
};

struct ctx {
    struct synap_meta *m;
    struct synap_arena *a;
    struct synap_yaml *y;
    struct synap_err *err;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers -------------------------------------------------------- */

static struct synap_meta_pos pos_of(const struct synap_yaml_node *n)
{
    struct synap_meta_pos p = {synap_yaml_line(n), synap_yaml_column(n)};
    return p;
}

static const char *type_name(const struct synap_yaml_node *n)
{
    switch (synap_yaml_type(n)) {
    case SYNAP_YAML_SCALAR:
        return "a scalar";
    case SYNAP_YAML_SEQ:
        return "a list";
    case SYNAP_YAML_MAP:
        return "a map";
    default:
        return "nothing";
    }
}

static int one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return (int)i;
    return -1;
}

/* "a, b, c" into buf */
static void join(char *buf, size_t cap, const char *const *list, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && off < cap; i++) {
        int k = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", list[i]);
        if (k < 0) break;
        off += (size_t)k;
    }
}

static char *lower_dup(struct synap_arena *a, const char *s)
{
    char *d = synap_arena_strdup(a, s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static char *trim_dup(struct synap_arena *a, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *d = synap_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* `where` prefixes value messages: "inputs[0].scale"; at the top level it is
 * just the key. */
static void path_join(char *buf, size_t cap, const char *where, const char *key)
{
    if (where && *where)
        snprintf(buf, cap, "%s.%s", where, key);
    else
        snprintf(buf, cap, "%s", key);
}

/* A map whose keys are all in `valid` (and appear once). `where` names it in
 * messages ("inputs[0]"; "" = the top level). */
static int check_keys(struct ctx *c, const struct synap_yaml_node *map, const char *where,
                      const char *const *valid, size_t nvalid)
{
    size_t n = synap_yaml_len(map);
    for (size_t i = 0; i < n; i++) {
        const struct synap_yaml_node *k = synap_yaml_key(map, i);
        const char *ks = synap_yaml_scalar(k);
        if (!ks || synap_yaml_type(k) != SYNAP_YAML_SCALAR)
            return synap_yaml_errf(c->y, k, c->err, "keys must be plain names, got %s%s%s",
                                   type_name(k), *where ? " in " : "", where);
        if (one_of(ks, valid, nvalid) < 0) {
            char list[512];
            join(list, sizeof list, valid, nvalid);
            return synap_yaml_errf(c->y, k, c->err, "unknown key '%s' %s%s; valid keys: %s", ks,
                                   *where ? "in " : "at the top level", where, list);
        }
        for (size_t j = 0; j < i; j++) {
            const char *kj = synap_yaml_scalar(synap_yaml_key(map, j));
            if (kj && !strcmp(kj, ks))
                return synap_yaml_errf(c->y, k, c->err, "duplicate key '%s'%s%s", ks,
                                       *where ? " in " : "", where);
        }
    }
    return 0;
}

static int expect_map(struct ctx *c, const struct synap_yaml_node *n, const char *where)
{
    if (synap_yaml_type(n) == SYNAP_YAML_MAP) return 0;
    return synap_yaml_errf(c->y, n, c->err, "%s: expected a map, got %s", where, type_name(n));
}

/* A value that is present and not null. */
static const struct synap_yaml_node *get(const struct synap_yaml_node *map, const char *key)
{
    const struct synap_yaml_node *v = synap_yaml_get(map, key);
    return synap_yaml_type(v) == SYNAP_YAML_NULL ? NULL : v;
}

static const struct synap_yaml_node *key_node(const struct synap_yaml_node *map, const char *key)
{
    size_t n = synap_yaml_len(map);
    for (size_t i = 0; i < n; i++) {
        const char *k = synap_yaml_scalar(synap_yaml_key(map, i));
        if (k && !strcmp(k, key)) return synap_yaml_key(map, i);
    }
    return NULL;
}

static int get_string(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                      const char **out)
{
    if (synap_yaml_type(v) != SYNAP_YAML_SCALAR)
        return synap_yaml_errf(c->y, v, c->err, "%s: expected a string, got %s", name,
                               type_name(v));
    *out = synap_arena_strdup(c->a, synap_yaml_scalar(v));
    return 0;
}

static int get_choice(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                      const char *const *valid, size_t nvalid, const char **out)
{
    const char *s = NULL;
    if (get_string(c, v, name, &s)) return -1;
    if (one_of(s, valid, nvalid) < 0) {
        char list[256];
        join(list, sizeof list, valid, nvalid);
        return synap_yaml_errf(c->y, v, c->err, "%s: invalid value '%s'; valid values: %s", name, s,
                               list);
    }
    *out = valid[one_of(s, valid, nvalid)];
    return 0;
}

/* A list of positive integers of at least `min_len` items. */
static int get_dims(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                    size_t min_len, int64_t **out, size_t *n)
{
    if (synap_yaml_type(v) != SYNAP_YAML_SEQ)
        return synap_yaml_errf(c->y, v, c->err, "%s: expected a list of integers, got %s", name,
                               type_name(v));
    size_t len = synap_yaml_len(v);
    if (len < min_len)
        return synap_yaml_errf(c->y, v, c->err, "%s: expected at least %zu dimensions, got %zu%s",
                               name, min_len, len,
                               strstr(name, "shape") ? " (the batch dimension comes first)" : "");
    if (len > 16)
        return synap_yaml_errf(c->y, v, c->err, "%s: too many dimensions (%zu)", name, len);
    int64_t *d = synap_arena_alloc(c->a, (len ? len : 1) * sizeof *d);
    for (size_t i = 0; i < len; i++) {
        long long x;
        const struct synap_yaml_node *it = synap_yaml_item(v, i);
        if (synap_yaml_int(c->y, it, name, &x, c->err)) return -1;
        if (x < 1 || x > ((long long)1 << 40))
            return synap_yaml_errf(c->y, it, c->err, "%s: dimension %zu must be positive, got %lld",
                                   name, i, x);
        d[i] = x;
    }
    *out = d;
    *n = len;
    return 0;
}

/* Free-form values (custom, quantization.options) go into JSON fragments:
 * bound their nesting so writing them cannot run away. */
#define MAX_NESTING 32

static int check_nesting(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                         int depth)
{
    if (depth > MAX_NESTING)
        return synap_yaml_errf(c->y, v, c->err, "%s: nested deeper than %d levels", name,
                               MAX_NESTING);
    enum synap_yaml_type t = synap_yaml_type(v);
    if (t != SYNAP_YAML_SEQ && t != SYNAP_YAML_MAP) return 0;
    for (size_t i = 0; i < synap_yaml_len(v); i++) {
        if (t == SYNAP_YAML_MAP && synap_yaml_type(synap_yaml_key(v, i)) != SYNAP_YAML_SCALAR)
            return synap_yaml_errf(c->y, synap_yaml_key(v, i), c->err,
                                   "%s: keys must be plain names, got %s", name,
                                   type_name(synap_yaml_key(v, i)));
        if (t == SYNAP_YAML_MAP)
            for (size_t j = 0; j < i; j++)
                if (!strcmp(synap_yaml_scalar(synap_yaml_key(v, i)),
                            synap_yaml_scalar(synap_yaml_key(v, j))))
                    return synap_yaml_errf(c->y, synap_yaml_key(v, i), c->err,
                                           "%s: duplicate key '%s'", name,
                                           synap_yaml_scalar(synap_yaml_key(v, i)));
        if (check_nesting(c, t == SYNAP_YAML_SEQ ? synap_yaml_item(v, i) : synap_yaml_value(v, i),
                          name, depth + 1))
            return -1;
    }
    return 0;
}

/* ---- ${ENV:NAME} over the whole text -------------------------------------- */

static int subst_env(const char *what, const char *text, size_t n, char **out, size_t *outn,
                     struct synap_err *err)
{
    static const char tag[] = "${ENV:";
    size_t cap = n + 1, len = 0;
    char *buf = synap_xmalloc(cap);
    size_t i = 0;
    int line = 1;
    size_t line_start = 0;
    while (i < n) {
        if (text[i] == '\n') line++, line_start = i + 1;
        if (text[i] == '$' && n - i >= sizeof tag - 1 && !memcmp(text + i, tag, sizeof tag - 1)) {
            size_t s = i + sizeof tag - 1, e = s;
            while (e < n && text[e] != '}' && text[e] != '\n')
                e++;
            int col = (int)(i - line_start) + 1;
            if (e >= n || text[e] != '}') {
                free(buf);
                return synap_errf(err, "%s:%d:%d: unterminated ${ENV:...}", what, line, col);
            }
            char name[256];
            size_t nl = e - s;
            if (!nl || nl >= sizeof name) {
                free(buf);
                return synap_errf(err, "%s:%d:%d: bad environment variable name in ${ENV:%.*s}",
                                  what, line, col, (int)(nl < 200 ? nl : 200), text + s);
            }
            memcpy(name, text + s, nl);
            name[nl] = 0;
            for (size_t k = 0; k < nl; k++)
                if (!(isalnum((unsigned char)name[k]) || name[k] == '_') ||
                    (k == 0 && isdigit((unsigned char)name[k]))) {
                    free(buf);
                    return synap_errf(err, "%s:%d:%d: bad environment variable name '%s'", what,
                                      line, col, name);
                }
            const char *v = getenv(name);
            if (!v) {
                free(buf);
                return synap_errf(err, "%s:%d:%d: environment variable %s is not set (${ENV:%s})",
                                  what, line, col, name, name);
            }
            size_t vl = strlen(v);
            while (len + vl + 1 > cap)
                cap *= 2;
            buf = synap_xrealloc(buf, cap);
            memcpy(buf + len, v, vl);
            len += vl;
            i = e + 1;
            continue;
        }
        if (len + 2 > cap) buf = synap_xrealloc(buf, cap *= 2);
        buf[len++] = text[i++];
    }
    buf[len] = 0;
    *out = buf;
    *outn = len;
    return 0;
}

/* ---- paths ---------------------------------------------------------------- */

static const char *resolve(struct ctx *c, const char *base, const char *p)
{
    if (p[0] == '/' || !strcmp(p, "random")) return synap_arena_strdup(c->a, p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *r = synap_arena_alloc(c->a, n);
    snprintf(r, n, "%s/%s", base, p);
    return r;
}

static int is_file(const char *p)
{
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* ---- format strings -------------------------------------------------------- */

/* ${FILE:path} replaced by the file's trimmed contents. */
static int subst_file(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                      const char *s, const char **out)
{
    static const char tag[] = "${FILE:";
    size_t cap = strlen(s) + 1, len = 0;
    char *buf = synap_xmalloc(cap);
    int rc = -1;
    for (const char *p = s; *p;) {
        if (!strncmp(p, tag, sizeof tag - 1)) {
            const char *b = p + sizeof tag - 1, *e = strchr(b, '}');
            if (!e) {
                synap_yaml_errf(c->y, v, c->err, "%s: unterminated ${FILE:...}", name);
                goto out;
            }
            char *rel = synap_arena_alloc(c->a, (size_t)(e - b) + 1);
            memcpy(rel, b, (size_t)(e - b));
            if (!*rel) {
                synap_yaml_errf(c->y, v, c->err, "%s: empty path in ${FILE:}", name);
                goto out;
            }
            const char *path = resolve(c, c->m->dir, rel);
            struct synap_file f;
            struct synap_err ferr = {0};
            if (!is_file(path) || synap_file_read(path, &f, &ferr)) {
                synap_yaml_errf(c->y, v, c->err, "%s: ${FILE:%s}: cannot read %s", name, rel, path);
                goto out;
            }
            char *t = trim_dup(c->a, (const char *)f.data, f.size);
            synap_file_close(&f);
            size_t tl = strlen(t);
            while (len + tl + 1 > cap)
                cap *= 2;
            buf = synap_xrealloc(buf, cap);
            memcpy(buf + len, t, tl);
            len += tl;
            p = e + 1;
            continue;
        }
        if (len + 2 > cap) buf = synap_xrealloc(buf, cap *= 2);
        buf[len++] = *p++;
    }
    buf[len] = 0;
    *out = trim_dup(c->a, buf, len);
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Splits on whitespace outside [...]; -1 on unbalanced brackets. */
static int tokenize(char *s, char **tok, size_t cap, size_t *n)
{
    *n = 0;
    char *p = s;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            *p++ = 0;
        if (!*p) break;
        if (*n == cap) return -1;
        tok[(*n)++] = p;
        int depth = 0;
        while (*p && (depth > 0 || !isspace((unsigned char)*p))) {
            if (*p == '[') depth++;
            if (*p == ']' && --depth < 0) return -1;
            p++;
        }
        if (depth) return -1;
    }
    return 0;
}

static int parse_int(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return *s && !*end && !errno ? 0 : -1;
}

static int parse_num(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(v) ? 0 : -1;
}

/* `rgb|bgr [keep_proportions=1|0] [fill_color=N]` */
static int check_input_format(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                              const char *fmt)
{
    static const char *const types[] = {"rgb", "bgr"};
    char *s = synap_arena_strdup(c->a, fmt), *tok[64];
    size_t n;
    if (tokenize(s, tok, COUNT(tok), &n))
        return synap_yaml_errf(c->y, v, c->err, "%s: malformed format string '%s'", name, fmt);
    if (!n) return 0;
    if (one_of(tok[0], types, COUNT(types)) < 0)
        return synap_yaml_errf(c->y, v, c->err,
                               "%s: unknown input format '%s'; valid formats: rgb, bgr", name,
                               tok[0]);
    for (size_t i = 1; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        long long x;
        if (!eq)
            return synap_yaml_errf(c->y, v, c->err, "%s: expected key=value, got '%s'", name,
                                   tok[i]);
        *eq = 0;
        const char *val = eq + 1;
        if (!strcmp(tok[i], "keep_proportions")) {
            if (parse_int(val, &x) || (x != 0 && x != 1))
                return synap_yaml_errf(c->y, v, c->err,
                                       "%s: keep_proportions must be 0 or 1, got '%s'", name, val);
        } else if (!strcmp(tok[i], "fill_color")) {
            if (parse_int(val, &x) || x < 0 || x > 255)
                return synap_yaml_errf(c->y, v, c->err,
                                       "%s: fill_color must be an integer 0..255, got '%s'", name,
                                       val);
        } else {
            return synap_yaml_errf(
                c->y, v, c->err,
                "%s: unknown input format key '%s'; valid keys: keep_proportions, "
                "fill_color",
                name, tok[i]);
        }
    }
    return 0;
}

/* `<type> [key=value]...` (REFERENCE "Output format strings"). The types are
 * checked; keys are checked for syntax, and the values of the keys REFERENCE
 * documents are checked too. Other well-formed keys pass: postprocessors
 * ignore what they do not know, and SyNAP's set is not closed. */
static int check_output_format(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                               const char *fmt)
{
    static const char *const types[] = {
        "confidence_array",
        "retinanet_boxes",
        "tflite_detection_boxes",
        "tflite_detection_input",
        "per_class_confidence",
        "tflite_detection",
        "yolov5",
        "yolov8",
    };
    static const char *const ints[] = {"class_index_base", "landmarks"};
    static const char *const flags[] = {"transposed", "bb_normalized"};
    static const char *const nums[] = {"x_scale", "y_scale", "h_scale", "w_scale"};
    char *s = synap_arena_strdup(c->a, fmt), *tok[256];
    size_t n;
    if (tokenize(s, tok, COUNT(tok), &n))
        return synap_yaml_errf(c->y, v, c->err, "%s: malformed format string '%s'", name, fmt);
    if (!n) return 0;
    if (one_of(tok[0], types, COUNT(types)) < 0) {
        char list[512];
        join(list, sizeof list, types, COUNT(types));
        return synap_yaml_errf(c->y, v, c->err, "%s: unknown output format '%s'; valid formats: %s",
                               name, tok[0], list);
    }
    for (size_t i = 1; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        long long x;
        if (!eq || eq == tok[i] || !eq[1])
            return synap_yaml_errf(c->y, v, c->err, "%s: expected key=value, got '%s'", name,
                                   tok[i]);
        *eq = 0;
        const char *key = tok[i], *val = eq + 1;
        for (const char *k = key; *k; k++)
            if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '_'))
                return synap_yaml_errf(c->y, v, c->err, "%s: bad key '%s'", name, key);
        if (one_of(key, ints, COUNT(ints)) >= 0) {
            if (parse_int(val, &x) || (!strcmp(key, "landmarks") && x < 0))
                return synap_yaml_errf(c->y, v, c->err, "%s: %s must be an integer, got '%s'", name,
                                       key, val);
        } else if (one_of(key, flags, COUNT(flags)) >= 0) {
            if (parse_int(val, &x) || (x != 0 && x != 1))
                return synap_yaml_errf(c->y, v, c->err, "%s: %s must be 0 or 1, got '%s'", name,
                                       key, val);
        } else if (one_of(key, nums, COUNT(nums)) >= 0) {
            if (parse_num(val))
                return synap_yaml_errf(c->y, v, c->err, "%s: %s must be a number, got '%s'", name,
                                       key, val);
        } else if (!strcmp(key, "anchors")) {
            if (strcmp(val, "${ANCHORS}") && val[0] != '[')
                return synap_yaml_errf(
                    c->y, v, c->err,
                    "%s: anchors must be a list [[...], ...] or ${ANCHORS}, got '%s'", name, val);
        }
    }
    return 0;
}

static int get_format(struct ctx *c, const struct synap_yaml_node *v, const char *name, int output,
                      int lower, const char **out)
{
    const char *s = NULL;
    if (get_string(c, v, name, &s) || subst_file(c, v, name, s, &s)) return -1;
    if (lower) s = lower_dup(c->a, s);
    if (output ? check_output_format(c, v, name, s) : check_input_format(c, v, name, s)) return -1;
    *out = s;
    return 0;
}

/* ---- layer patterns -------------------------------------------------------- */

static int check_pattern(struct ctx *c, const struct synap_yaml_node *k, const char *where,
                         const char *p, int allow_inputs)
{
    size_t n = strlen(p);
    if (!n) return synap_yaml_errf(c->y, k, c->err, "%s: empty layer pattern", where);
    if (!strcmp(p, "INPUTS") && !allow_inputs)
        return synap_yaml_errf(c->y, k, c->err,
                               "%s: the INPUTS pattern is only valid in quantization data_type",
                               where);
    if (p[0] == '@') {
        if (n == 1 || n > 10) goto bad_id;
        for (size_t i = 1; i < n; i++)
            if (!isdigit((unsigned char)p[i])) goto bad_id;
        return 0;
    bad_id:
        return synap_yaml_errf(
            c->y, k, c->err, "%s: bad layer pattern '%s': '@' takes a layer id (digits)", where, p);
    }
    if (!strcmp(p, "..."))
        return synap_yaml_errf(
            c->y, k, c->err, "%s: bad layer pattern '...': a layer name comes before '...'", where);
    return 0;
}

/* "npu", "gpu options..." -> delegate and options */
static int parse_delegate(struct ctx *c, const struct synap_yaml_node *v, const char *name,
                          const char **del, const char **opts)
{
    static const char *const valid[] = {"npu", "gpu", "cpu", "default"};
    const char *s = NULL;
    if (get_string(c, v, name, &s)) return -1;
    while (*s == ' ')
        s++;
    const char *sp = strchr(s, ' ');
    size_t dl = sp ? (size_t)(sp - s) : strlen(s);
    char *d = synap_arena_alloc(c->a, dl + 1);
    memcpy(d, s, dl);
    if (!*d) {
        *del = "default"; /* SyNAP: an empty delegate is the default one */
    } else {
        int i = one_of(d, valid, COUNT(valid));
        if (i < 0)
            return synap_yaml_errf(
                c->y, v, c->err,
                "%s: invalid delegate '%s'; valid delegates: npu, gpu, cpu, default", name, d);
        *del = valid[i];
    }
    *opts = sp ? trim_dup(c->a, sp, strlen(sp)) : "";
    return 0;
}

/* ---- sections ----------------------------------------------------------------- */

static const char *const input_keys[] = {"name",   "shape",    "means",      "scale",
                                         "format", "security", "preprocess", "custom"};
static const char *const output_keys[] = {"name",   "shape",    "dequantize",
                                          "format", "security", "custom"};
static const char *const preproc_keys[] = {"type", "size", "crop"};
static const char *const preproc_types[] = {"",     "none",    "yuv444",   "yuv420",
                                            "nv12", "nv21",    "gray",     "rgb",
                                            "bgra", "rgb888p", "rgb888p3", "float32"};
static const char *const input_security[] = {"any", "secure", "non-secure"};
static const char *const output_security[] = {"secure-if-input-secure", "any", "secure",
                                              "non-secure"};

static int parse_preprocess(struct ctx *c, const struct synap_yaml_node *k,
                            const struct synap_yaml_node *v, const char *where,
                            struct synap_meta_preprocess *pp)
{
    char name[128];
    pp->present = true;
    pp->pos = pos_of(k);
    if (expect_map(c, v, where) || check_keys(c, v, where, preproc_keys, COUNT(preproc_keys)))
        return -1;
    const struct synap_yaml_node *t = get(v, "type");
    if (!t) return synap_yaml_errf(c->y, v, c->err, "missing key 'type' in %s", where);
    path_join(name, sizeof name, where, "type");
    const char *type = NULL;
    if (get_string(c, t, name, &type)) return -1;
    if (one_of(type, preproc_types, COUNT(preproc_types)) < 0) {
        char list[256];
        join(list, sizeof list, preproc_types + 2, COUNT(preproc_types) - 2);
        return synap_yaml_errf(c->y, t, c->err,
                               "%s: invalid value '%s'; valid values: %s (\"\" or none disables)",
                               name, type, list);
    }
    pp->type = !strcmp(type, "none") ? "" : type;
    const struct synap_yaml_node *sz = get(v, "size");
    if (sz) {
        int64_t *d;
        size_t n;
        path_join(name, sizeof name, where, "size");
        if (get_dims(c, sz, name, 2, &d, &n)) return -1;
        if (n != 2)
            return synap_yaml_errf(c->y, sz, c->err, "%s: expected [H, W], got %zu values", name,
                                   n);
        if (!strcmp(pp->type, "float32"))
            return synap_yaml_errf(c->y, sz, c->err, "%s: float32 preprocessing takes no size",
                                   name);
        pp->has_size = true;
        pp->size[0] = d[0], pp->size[1] = d[1];
    }
    const struct synap_yaml_node *cr = get(v, "crop");
    if (cr) {
        path_join(name, sizeof name, where, "crop");
        if (synap_yaml_bool(c->y, cr, name, &pp->crop, c->err)) return -1;
    }
    return 0;
}

static int parse_input(struct ctx *c, const struct synap_yaml_node *v, size_t idx,
                       struct synap_meta_input *in)
{
    char where[32], name[96];
    snprintf(where, sizeof where, "inputs[%zu]", idx);
    in->pos = pos_of(v);
    in->scale = 1;
    if (synap_yaml_type(v) == SYNAP_YAML_NULL) return 0; /* `- ` : every default */
    if (expect_map(c, v, where) || check_keys(c, v, where, input_keys, COUNT(input_keys)))
        return -1;
    const struct synap_yaml_node *x;
    if ((x = get(v, "name"))) {
        path_join(name, sizeof name, where, "name");
        if (get_string(c, x, name, &in->name)) return -1;
        if (!*in->name) return synap_yaml_errf(c->y, x, c->err, "%s: empty name", name);
    }
    if ((x = get(v, "shape"))) {
        int64_t *d;
        path_join(name, sizeof name, where, "shape");
        if (get_dims(c, x, name, 2, &d, &in->rank)) return -1;
        in->shape = d;
    }
    if (in->name && !in->shape)
        return synap_yaml_errf(c->y, v, c->err,
                               "missing key 'shape' in %s ('name' and 'shape' go together)", where);
    if (in->shape && !in->name)
        return synap_yaml_errf(c->y, v, c->err,
                               "missing key 'name' in %s ('name' and 'shape' go together)", where);
    if ((x = get(v, "means"))) {
        path_join(name, sizeof name, where, "means");
        size_t n = synap_yaml_type(x) == SYNAP_YAML_SEQ ? synap_yaml_len(x) : 1;
        if (synap_yaml_type(x) == SYNAP_YAML_MAP)
            return synap_yaml_errf(c->y, x, c->err,
                                   "%s: expected a number or a list of numbers, got a map", name);
        if (!n) return synap_yaml_errf(c->y, x, c->err, "%s: empty list", name);
        if (n > 4096) return synap_yaml_errf(c->y, x, c->err, "%s: too many values", name);
        double *m = synap_arena_alloc(c->a, n * sizeof *m);
        for (size_t i = 0; i < n; i++) {
            const struct synap_yaml_node *it =
                synap_yaml_type(x) == SYNAP_YAML_SEQ ? synap_yaml_item(x, i) : x;
            if (synap_yaml_double(c->y, it, name, &m[i], c->err)) return -1;
        }
        in->means = m;
        in->nmeans = n;
    }
    if ((x = get(v, "scale"))) {
        path_join(name, sizeof name, where, "scale");
        if (synap_yaml_double(c->y, x, name, &in->scale, c->err)) return -1;
        if (in->scale == 0) return synap_yaml_errf(c->y, x, c->err, "%s: must not be 0", name);
        in->has_scale = true;
    }
    if ((x = get(v, "format"))) {
        path_join(name, sizeof name, where, "format");
        if (get_format(c, x, name, 0, 0, &in->format)) return -1;
    }
    if ((x = get(v, "security"))) {
        path_join(name, sizeof name, where, "security");
        if (get_choice(c, x, name, input_security, COUNT(input_security), &in->security)) return -1;
        in->security_pos = pos_of(key_node(v, "security"));
    }
    if ((x = get(v, "preprocess"))) {
        path_join(name, sizeof name, where, "preprocess");
        if (parse_preprocess(c, key_node(v, "preprocess"), x, name, &in->preprocess)) return -1;
    }
    in->custom = synap_yaml_get(v, "custom");
    path_join(name, sizeof name, where, "custom");
    return in->custom ? check_nesting(c, in->custom, name, 0) : 0;
}

static int parse_output(struct ctx *c, const struct synap_yaml_node *v, size_t idx,
                        struct synap_meta_output *o)
{
    char where[32], name[96];
    snprintf(where, sizeof where, "outputs[%zu]", idx);
    o->pos = pos_of(v);
    if (synap_yaml_type(v) == SYNAP_YAML_NULL) return 0;
    if (expect_map(c, v, where) || check_keys(c, v, where, output_keys, COUNT(output_keys)))
        return -1;
    const struct synap_yaml_node *x;
    if ((x = get(v, "name"))) {
        path_join(name, sizeof name, where, "name");
        if (get_string(c, x, name, &o->name)) return -1;
        if (!*o->name) return synap_yaml_errf(c->y, x, c->err, "%s: empty name", name);
    }
    if ((x = get(v, "shape"))) {
        int64_t *d;
        path_join(name, sizeof name, where, "shape");
        if (get_dims(c, x, name, 1, &d, &o->rank)) return -1;
        o->shape = d;
        o->shape_pos = pos_of(key_node(v, "shape"));
    }
    if ((x = get(v, "dequantize"))) {
        path_join(name, sizeof name, where, "dequantize");
        if (synap_yaml_bool(c->y, x, name, &o->dequantize, c->err)) return -1;
        o->has_dequantize = true;
        o->dequantize_pos = pos_of(key_node(v, "dequantize"));
    }
    if ((x = get(v, "format"))) {
        path_join(name, sizeof name, where, "format");
        if (get_format(c, x, name, 1, 0, &o->format)) return -1;
    }
    if ((x = get(v, "security"))) {
        path_join(name, sizeof name, where, "security");
        if (get_choice(c, x, name, output_security, COUNT(output_security), &o->security))
            return -1;
        o->security_pos = pos_of(key_node(v, "security"));
    }
    o->custom = synap_yaml_get(v, "custom");
    path_join(name, sizeof name, where, "custom");
    return o->custom ? check_nesting(c, o->custom, name, 0) : 0;
}

/* names: all or none, and unique */
static int check_names(struct ctx *c, const struct synap_yaml_node *list, const char *what,
                       const char *const *names, size_t n)
{
    size_t named = 0;
    for (size_t i = 0; i < n; i++)
        named += names[i] != NULL;
    for (size_t i = 0; i < n; i++) {
        const struct synap_yaml_node *it = synap_yaml_item(list, i);
        if (named && !names[i])
            return synap_yaml_errf(
                c->y, it, c->err,
                "missing key 'name' in %s[%zu] (either every %s has a name or none)", what, i,
                strcmp(what, "inputs") ? "output" : "input");
        for (size_t j = 0; names[i] && j < i; j++)
            if (!strcmp(names[i], names[j]))
                return synap_yaml_errf(c->y, it, c->err,
                                       "%s[%zu]: name '%s' is already used by %s[%zu]", what, i,
                                       names[i], what, j);
    }
    return 0;
}

static const char *const dtypes[] = {"uint8", "int8", "int16", "float16"};
static const char *const quant_keys[] = {"data_type", "scheme",  "mode",
                                         "algorithm", "options", "dataset"};
static const char *const schemes[] = {"default", "asymmetric_affine", "dynamic_fixed_point",
                                      "perchannel_symmetric_affine"};
static const char *const modes[] = {"standard", "full"};
static const char *const algorithms[] = {"standard", "kl_divergence", "moving_average",
                                         "auto",     "percentile",    "mse"};

/* SyNAP's scheme/type pairs; NULL when allowed, else the reason. */
static const char *scheme_forbids(const char *scheme, const char *type)
{
    if (!strcmp(type, "float16") || !strcmp(scheme, "default")) return NULL;
    if (!strcmp(scheme, "asymmetric_affine"))
        return strcmp(type, "int16") ? NULL : "asymmetric_affine is for 8-bit types only";
    if (!strcmp(scheme, "dynamic_fixed_point"))
        return strcmp(type, "uint8") ? NULL : "dynamic_fixed_point is for int8 and int16 only";
    return strcmp(type, "int8") ? "perchannel_symmetric_affine is for int8 only" : NULL;
}

static int parse_quant(struct ctx *c, const struct synap_yaml_node *k,
                       const struct synap_yaml_node *v)
{
    struct synap_meta_quant *q = &c->m->quant;
    q->present = true;
    q->pos = pos_of(k);
    q->data_type = "uint8";
    q->scheme = "default";
    q->mode = "standard";
    q->algorithm = "standard";
    if (expect_map(c, v, "quantization") ||
        check_keys(c, v, "quantization", quant_keys, COUNT(quant_keys)))
        return -1;
    const struct synap_yaml_node *x, *scheme_node = get(v, "scheme");
    if (scheme_node &&
        get_choice(c, scheme_node, "quantization.scheme", schemes, COUNT(schemes), &q->scheme))
        return -1;
    if ((x = get(v, "mode")) &&
        get_choice(c, x, "quantization.mode", modes, COUNT(modes), &q->mode))
        return -1;
    if ((x = get(v, "algorithm")) &&
        get_choice(c, x, "quantization.algorithm", algorithms, COUNT(algorithms), &q->algorithm))
        return -1;
    if ((x = get(v, "options"))) {
        if (expect_map(c, x, "quantization.options") ||
            check_nesting(c, x, "quantization.options", 0))
            return -1;
        q->options = x;
    }
    if ((x = get(v, "data_type"))) {
        if (synap_yaml_type(x) == SYNAP_YAML_MAP) {
            size_t n = synap_yaml_len(x);
            struct synap_meta_rule *r = synap_arena_alloc(c->a, (n ? n : 1) * sizeof *r);
            const char *seen8 = NULL, *seen8_pattern = NULL;
            for (size_t i = 0; i < n; i++) {
                const struct synap_yaml_node *pk = synap_yaml_key(x, i),
                                             *pv = synap_yaml_value(x, i);
                if (synap_yaml_type(pk) != SYNAP_YAML_SCALAR)
                    return synap_yaml_errf(
                        c->y, pk, c->err, "quantization.data_type: layer patterns must be strings");
                r[i].pattern = synap_arena_strdup(c->a, synap_yaml_scalar(pk));
                for (size_t j = 0; j < i; j++)
                    if (!strcmp(r[j].pattern, r[i].pattern))
                        return synap_yaml_errf(c->y, pk, c->err,
                                               "duplicate key '%s' in quantization.data_type",
                                               r[i].pattern);
                if (check_pattern(c, pk, "quantization.data_type", r[i].pattern, 1) ||
                    get_choice(c, pv, "quantization.data_type", dtypes, COUNT(dtypes), &r[i].value))
                    return -1;
                r[i].options = "";
                r[i].pos = pos_of(pk);
                if (!strcmp(r[i].value, "uint8") || !strcmp(r[i].value, "int8")) {
                    /* name both patterns: the clash is often far from the line */
                    if (seen8 && strcmp(seen8, r[i].value))
                        return synap_yaml_errf(c->y, pv, c->err,
                                               "quantization.data_type: uint8 and int8 may not be "
                                               "mixed ('%s': %s, '%s': %s)",
                                               seen8_pattern, seen8, r[i].pattern, r[i].value);
                    seen8 = r[i].value;
                    seen8_pattern = r[i].pattern;
                }
                const char *why = scheme_forbids(q->scheme, r[i].value);
                if (why)
                    return synap_yaml_errf(c->y, scheme_node, c->err,
                                           "quantization.scheme: %s (data_type maps '%s' to %s)",
                                           why, r[i].pattern, r[i].value);
            }
            if (!n) return synap_yaml_errf(c->y, x, c->err, "quantization.data_type: empty map");
            q->data_type = NULL;
            q->data_type_map = r;
            q->ndata_type_map = n;
        } else {
            if (get_choice(c, x, "quantization.data_type", dtypes, COUNT(dtypes), &q->data_type))
                return -1;
            if (!strcmp(q->data_type, "float16"))
                return synap_yaml_errf(c->y, x, c->err,
                                       "quantization.data_type: float16 is only allowed inside a "
                                       "map of layer patterns");
        }
    }
    if (q->data_type) {
        const char *why = scheme_forbids(q->scheme, q->data_type);
        if (why)
            return synap_yaml_errf(c->y, scheme_node, c->err,
                                   "quantization.scheme: %s (data_type is %s)", why, q->data_type);
    }
    x = get(v, "dataset");
    if (!x)
        return synap_yaml_errf(c->y, v, c->err,
                               "missing key 'dataset' in quantization (one glob per input, or "
                               "random; remove the section for a float model)");
    size_t n = synap_yaml_type(x) == SYNAP_YAML_SEQ ? synap_yaml_len(x) : 1;
    if (!n || n > 1024)
        return synap_yaml_errf(c->y, x, c->err, "quantization.dataset: expected 1 to 1024 globs");
    struct synap_meta_dataset *d = synap_arena_alloc(c->a, n * sizeof *d);
    for (size_t i = 0; i < n; i++) {
        const struct synap_yaml_node *it =
            synap_yaml_type(x) == SYNAP_YAML_SEQ ? synap_yaml_item(x, i) : x;
        if (get_string(c, it, "quantization.dataset", &d[i].text)) return -1;
        if (!*d[i].text)
            return synap_yaml_errf(c->y, it, c->err, "quantization.dataset: empty glob");
        d[i].path = resolve(c, c->m->dir, d[i].text);
    }
    q->dataset = d;
    q->ndataset = n;
    if (c->m->ninputs && c->m->ninputs != n)
        return synap_yaml_errf(c->y, x, c->err,
                               "quantization.dataset: %zu glob%s for %zu input%s (one per input)",
                               n, n == 1 ? "" : "s", c->m->ninputs, c->m->ninputs == 1 ? "" : "s");
    return 0;
}

static const char *const sec_keys[] = {
    "secure", "file", "encryption_key", "signature_key", "model_certificate", "vendor_certificate"};

static int parse_security(struct ctx *c, const struct synap_yaml_node *k,
                          const struct synap_yaml_node *v)
{
    struct synap_meta_security *s = &c->m->security;
    s->present = true;
    s->pos = pos_of(k);
    s->secure = true;
    if (expect_map(c, v, "security") || check_keys(c, v, "security", sec_keys, COUNT(sec_keys)))
        return -1;
    const struct synap_yaml_node *x;
    if ((x = get(v, "secure")) && synap_yaml_bool(c->y, x, "security.secure", &s->secure, c->err))
        return -1;
    /* the four file keys come from the metafile or from `file` */
    const struct synap_yaml_node *src = v;
    struct synap_yaml *sy = c->y;
    const char *base = c->m->dir;
    const char *where = "security";
    if ((x = get(v, "file"))) {
        if (get_string(c, x, "security.file", &s->file)) return -1;
        for (size_t i = 2; i < COUNT(sec_keys); i++)
            if (key_node(v, sec_keys[i]))
                return synap_yaml_errf(c->y, key_node(v, sec_keys[i]), c->err,
                                       "security: '%s' and 'file' exclude each other", sec_keys[i]);
        if (!s->secure) return 0;
        const char *path = resolve(c, c->m->dir, s->file);
        struct synap_file f;
        struct synap_err ferr = {0};
        if (!is_file(path) || synap_file_read(path, &f, &ferr))
            return synap_yaml_errf(c->y, x, c->err, "security.file: cannot read %s", path);
        struct synap_yaml *y2 = synap_yaml_parse((const char *)f.data, f.size, s->file, c->err);
        synap_file_close(&f);
        if (!y2) return -1;
        c->m->priv->sec_y = y2;
        sy = y2;
        src = synap_yaml_root(y2);
        if (synap_yaml_type(src) != SYNAP_YAML_MAP)
            return synap_yaml_errf(y2, src, c->err, "expected a map of the four security keys");
        char *b = synap_arena_strdup(c->a, path);
        char *slash = strrchr(b, '/');
        if (slash) *slash = 0;
        base = b;
        where = "the security file";
        struct ctx c2 = *c;
        c2.y = y2;
        if (check_keys(&c2, src, where, sec_keys + 2, COUNT(sec_keys) - 2)) return -1;
    }
    if (!s->secure) return 0;
    const char **dst[] = {&s->encryption_key, &s->signature_key, &s->model_certificate,
                          &s->vendor_certificate};
    struct ctx c2 = *c;
    c2.y = sy;
    for (size_t i = 0; i < 4; i++) {
        const char *key = sec_keys[2 + i];
        const struct synap_yaml_node *f = get(src, key);
        char name[64];
        snprintf(name, sizeof name, "security.%s", key);
        if (!f) return synap_yaml_errf(sy, src, c->err, "missing key '%s' in %s", key, where);
        const char *rel = NULL;
        if (get_string(&c2, f, name, &rel)) return -1;
        const char *p = resolve(c, base, rel);
        if (!is_file(p)) return synap_yaml_errf(sy, f, c->err, "%s: file not found: %s", name, rel);
        *dst[i] = p;
    }
    return 0;
}

static const char *const top_keys[] = {
    "inputs",
    "outputs",
    "quantization",
    "delegate",
    "data_layout",
    "input_format",
    "output_format",
    "dequantize_outputs",
    "denormalize_outputs",
    "security",
    "optimize",
    "custom",
};
static const char *const layouts[] = {"default", "nchw", "nhwc"};

static int parse_delegate_key(struct ctx *c, const struct synap_yaml_node *k,
                              const struct synap_yaml_node *v)
{
    struct synap_meta *m = c->m;
    m->delegate_pos = pos_of(k);
    if (synap_yaml_type(v) != SYNAP_YAML_MAP)
        return parse_delegate(c, v, "delegate", &m->delegate, &m->delegate_options);
    size_t n = synap_yaml_len(v);
    if (!n) return synap_yaml_errf(c->y, v, c->err, "delegate: empty map");
    struct synap_meta_rule *r = synap_arena_alloc(c->a, n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        const struct synap_yaml_node *pk = synap_yaml_key(v, i), *pv = synap_yaml_value(v, i);
        if (synap_yaml_type(pk) != SYNAP_YAML_SCALAR)
            return synap_yaml_errf(c->y, pk, c->err, "delegate: layer patterns must be strings");
        r[i].pattern = synap_arena_strdup(c->a, synap_yaml_scalar(pk));
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r[j].pattern, r[i].pattern))
                return synap_yaml_errf(c->y, pk, c->err, "duplicate key '%s' in delegate",
                                       r[i].pattern);
        if (check_pattern(c, pk, "delegate", r[i].pattern, 0) ||
            parse_delegate(c, pv, "delegate", &r[i].value, &r[i].options))
            return -1;
        r[i].pos = pos_of(pk);
    }
    m->delegate_map = r;
    m->ndelegate_map = n;
    return 0;
}

/* channel count(s) of an input tensor under the layout: nchw -> shape[1],
 * nhwc -> shape[last]; "default" (the model format decides) -> either. */
static int channels_match(const struct synap_meta *m, const struct synap_meta_input *in,
                          size_t want)
{
    int64_t cf = in->shape[1], cl = in->shape[in->rank - 1];
    if (!strcmp(m->data_layout, "nchw")) return cf == (int64_t)want;
    if (!strcmp(m->data_layout, "nhwc")) return cl == (int64_t)want;
    return cf == (int64_t)want || cl == (int64_t)want;
}

static int check_inputs_late(struct ctx *c, const struct synap_yaml_node *list)
{
    struct synap_meta *m = c->m;
    for (size_t i = 0; i < m->ninputs; i++) {
        const struct synap_meta_input *in = &m->inputs[i];
        const struct synap_yaml_node *it = synap_yaml_item(list, i);
        if (in->shape && in->nmeans > 1 && !channels_match(m, in, in->nmeans)) {
            char ch[64];
            int64_t cf = in->shape[1], cl = in->shape[in->rank - 1];
            if (!strcmp(m->data_layout, "nchw") || (strcmp(m->data_layout, "nhwc") && cf == cl))
                snprintf(ch, sizeof ch, "%lld", (long long)cf);
            else if (!strcmp(m->data_layout, "nhwc"))
                snprintf(ch, sizeof ch, "%lld", (long long)cl);
            else
                snprintf(ch, sizeof ch, "%lld (nchw) or %lld (nhwc)", (long long)cf, (long long)cl);
            return synap_yaml_errf(
                c->y, synap_yaml_get(it, "means"), c->err,
                "inputs[%zu].means: %zu values; expected 1 or one per channel (%s)", i, in->nmeans,
                ch);
        }
        const struct synap_meta_preprocess *pp = &in->preprocess;
        if (pp->present && !strcmp(pp->type, "float32") && (in->nmeans || in->has_scale))
            return synap_yaml_errf(c->y, synap_yaml_get(synap_yaml_get(it, "preprocess"), "type"),
                                   c->err,
                                   "inputs[%zu].preprocess: float32 takes no means or scale", i);
        if (pp->present && *pp->type && strcmp(pp->type, "float32") && in->shape) {
            size_t want = !strcmp(pp->type, "gray") ? 1 : 3;
            if (!channels_match(m, in, want))
                return synap_yaml_errf(
                    c->y, synap_yaml_get(synap_yaml_get(it, "preprocess"), "type"), c->err,
                    "inputs[%zu].preprocess: %s needs a tensor with %zu channel%s", i, pp->type,
                    want, want == 1 ? "" : "s");
        }
    }
    return 0;
}

static int parse_root(struct ctx *c, const struct synap_yaml_node *root)
{
    struct synap_meta *m = c->m;
    if (!root) return 0;
    if (synap_yaml_type(root) != SYNAP_YAML_MAP)
        return synap_yaml_errf(c->y, root, c->err, "expected a map of metafile keys, got %s",
                               type_name(root));
    if (check_keys(c, root, "", top_keys, COUNT(top_keys))) return -1;
    const struct synap_yaml_node *x;

    if ((x = get(root, "data_layout"))) {
        const char *s = NULL;
        if (get_string(c, x, "data_layout", &s)) return -1;
        s = lower_dup(c->a, s);
        int i = one_of(s, layouts, COUNT(layouts));
        if (i < 0)
            return synap_yaml_errf(
                c->y, x, c->err,
                "data_layout: invalid value '%s'; valid values: default, nchw, nhwc", s);
        m->data_layout = layouts[i];
    }
    const struct synap_yaml_node *ins = get(root, "inputs");
    if (ins) {
        if (synap_yaml_type(ins) != SYNAP_YAML_SEQ)
            return synap_yaml_errf(c->y, ins, c->err, "inputs: expected a list, got %s",
                                   type_name(ins));
        size_t n = synap_yaml_len(ins);
        struct synap_meta_input *in = synap_arena_alloc(c->a, (n ? n : 1) * sizeof *in);
        const char **names = synap_arena_alloc(c->a, (n ? n : 1) * sizeof *names);
        for (size_t i = 0; i < n; i++) {
            if (parse_input(c, synap_yaml_item(ins, i), i, &in[i])) return -1;
            names[i] = in[i].name;
        }
        m->inputs = in;
        m->ninputs = n;
        if (check_names(c, ins, "inputs", names, n)) return -1;
    }
    const struct synap_yaml_node *outs = get(root, "outputs");
    if (outs) {
        if (synap_yaml_type(outs) != SYNAP_YAML_SEQ)
            return synap_yaml_errf(c->y, outs, c->err, "outputs: expected a list, got %s",
                                   type_name(outs));
        size_t n = synap_yaml_len(outs);
        struct synap_meta_output *o = synap_arena_alloc(c->a, (n ? n : 1) * sizeof *o);
        const char **names = synap_arena_alloc(c->a, (n ? n : 1) * sizeof *names);
        for (size_t i = 0; i < n; i++) {
            if (parse_output(c, synap_yaml_item(outs, i), i, &o[i])) return -1;
            names[i] = o[i].name;
        }
        m->outputs = o;
        m->noutputs = n;
        if (check_names(c, outs, "outputs", names, n)) return -1;
    }
    if (ins && check_inputs_late(c, ins)) return -1;
    if ((x = get(root, "quantization")) && parse_quant(c, key_node(root, "quantization"), x))
        return -1;
    if ((x = get(root, "delegate")) && parse_delegate_key(c, key_node(root, "delegate"), x))
        return -1;
    if ((x = get(root, "input_format")) && get_format(c, x, "input_format", 0, 1, &m->input_format))
        return -1;
    if ((x = get(root, "output_format")) &&
        get_format(c, x, "output_format", 1, 1, &m->output_format))
        return -1;
    static const char *const deq[] = {"dequantize_outputs", "denormalize_outputs"};
    for (size_t i = 0; i < 2; i++) {
        if (!(x = get(root, deq[i]))) continue;
        bool b;
        if (synap_yaml_bool(c->y, x, deq[i], &b, c->err)) return -1;
        /* SyNAP ORs the two spellings */
        if (!m->has_dequantize_outputs || b) {
            m->dequantize_outputs = m->dequantize_outputs || b;
            m->dequantize_outputs_pos = pos_of(key_node(root, deq[i]));
            m->priv->dequantize_key = deq[i];
        }
        m->has_dequantize_outputs = true;
    }
    if ((x = get(root, "security")) && parse_security(c, key_node(root, "security"), x)) return -1;
    if ((x = get(root, "optimize"))) {
        if (synap_yaml_bool(c->y, x, "optimize", &m->optimize, c->err)) return -1;
        m->optimize_pos = pos_of(key_node(root, "optimize"));
    }
    m->custom = synap_yaml_get(root, "custom");
    return m->custom ? check_nesting(c, m->custom, "custom", 0) : 0;
}

/* ---- load / free ------------------------------------------------------------------ */

static struct synap_meta *meta_new(const char *what, const char *dir)
{
    struct synap_meta *m = synap_xcalloc(1, sizeof *m);
    m->priv = synap_xcalloc(1, sizeof *m->priv);
    m->priv->a = synap_arena_new();
    m->path = synap_arena_strdup(m->priv->a, what ? what : "");
    char cwd[4096];
    if (!dir || !*dir) dir = ".";
    if (dir[0] == '/') {
        m->dir = synap_arena_strdup(m->priv->a, dir);
    } else if (getcwd(cwd, sizeof cwd)) {
        size_t n = strlen(cwd) + strlen(dir) + 2;
        char *d = synap_arena_alloc(m->priv->a, n);
        if (!strcmp(dir, "."))
            snprintf(d, n, "%s", cwd);
        else
            snprintf(d, n, "%s/%s", cwd, dir);
        m->dir = d;
    } else {
        m->dir = synap_arena_strdup(m->priv->a, dir);
    }
    m->data_layout = "default";
    m->optimize = true;
    m->delegate_options = "";
    return m;
}

void synap_meta_free(struct synap_meta *m)
{
    if (!m) return;
    if (m->priv) {
        synap_yaml_free(m->priv->y);
        synap_yaml_free(m->priv->sec_y);
        synap_arena_free(m->priv->a);
        free(m->priv);
    }
    free(m);
}

struct synap_meta *synap_meta_parse(const char *text, size_t n, const char *what, const char *dir,
                                    struct synap_err *err)
{
    struct synap_meta *m = meta_new(what, dir);
    char *sub = NULL;
    size_t subn = 0;
    if (subst_env(m->path, text, n, &sub, &subn, err)) goto fail;
    m->priv->y = synap_yaml_parse(sub, subn, m->path, err);
    free(sub);
    if (!m->priv->y) goto fail;
    struct ctx c = {m, m->priv->a, m->priv->y, err};
    if (parse_root(&c, synap_yaml_root(m->priv->y))) goto fail;
    return m;
fail:
    synap_meta_free(m);
    return NULL;
}

struct synap_meta *synap_meta_load(const char *path, struct synap_err *err)
{
    if (!path) return meta_new("", NULL);
    struct synap_file f;
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode)) {
        synap_errf(err, "%s: metafile not found", path);
        return NULL;
    }
    if (synap_file_read(path, &f, err)) return NULL;
    char *dir = synap_xstrdup(path), *slash = strrchr(dir, '/');
    if (slash)
        slash == dir ? (void)(slash[1] = 0) : (void)(*slash = 0);
    else
        strcpy(dir, ".");
    struct synap_meta *m = synap_meta_parse((const char *)f.data, f.size, path, dir, err);
    free(dir);
    synap_file_close(&f);
    return m;
}

/* ---- not supported yet -------------------------------------------------------------- */

static void add_line(struct synap_err *err, int *count, const struct synap_meta *m,
                     struct synap_meta_pos p, const char *fmt, ...) SYNAP_PRINTF(5, 6);
static void add_line(struct synap_err *err, int *count, const struct synap_meta *m,
                     struct synap_meta_pos p, const char *fmt, ...)
{
    char msg[512], line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p.line)
        snprintf(line, sizeof line, "%s:%d:%d: %s", m->path, p.line, p.col, msg);
    else
        snprintf(line, sizeof line, "%s: %s", m->path, msg);
    if (!err) {
        (*count)++;
        return;
    }
    if (!*count) {
        synap_errf(err, "%s", line);
    } else {
        size_t off = strlen(err->msg);
        if (off + 1 < sizeof err->msg)
            snprintf(err->msg + off, sizeof err->msg - off, "\n%s", line);
    }
    (*count)++;
}

int synap_meta_check_supported(const struct synap_meta *m, struct synap_err *err)
{
    int count = 0;
    for (size_t i = 0; i < m->ninputs; i++) {
        const struct synap_meta_input *in = &m->inputs[i];
        if (in->security && strcmp(in->security, "any"))
            add_line(err, &count, m, in->security_pos,
                     "inputs[%zu].security: not supported yet (secure inputs arrive with the "
                     "security stage)",
                     i);
        if (in->preprocess.present && *in->preprocess.type)
            add_line(err, &count, m, in->preprocess.pos,
                     "inputs[%zu].preprocess: not supported yet (preprocessing arrives with the "
                     "preprocessing stage)",
                     i);
    }
    for (size_t i = 0; i < m->noutputs; i++) {
        const struct synap_meta_output *o = &m->outputs[i];
        if (o->shape)
            add_line(err, &count, m, o->shape_pos,
                     "outputs[%zu].shape: not supported yet (output shapes come from the model; "
                     "nothing checks a given one yet)",
                     i);
        if (o->dequantize && !m->quant.present)
            add_line(err, &count, m, o->dequantize_pos,
                     "outputs[%zu].dequantize: not supported yet (dequantization needs "
                     "quantization)",
                     i);
        if (o->security && strcmp(o->security, "secure-if-input-secure"))
            add_line(err, &count, m, o->security_pos,
                     "outputs[%zu].security: not supported yet (secure outputs arrive with the "
                     "security stage)",
                     i);
    }
    if (m->delegate && *m->delegate_options)
        add_line(err, &count, m, m->delegate_pos,
                 "delegate: options '%s' not supported yet (no delegate takes options)",
                 m->delegate_options);
    for (size_t i = 0; i < m->ndelegate_map; i++)
        if (*m->delegate_map[i].options)
            add_line(err, &count, m, m->delegate_map[i].pos,
                     "delegate: options '%s' not supported yet (no delegate takes options)",
                     m->delegate_map[i].options);
    if (m->dequantize_outputs && !m->quant.present)
        add_line(err, &count, m, m->dequantize_outputs_pos,
                 "%s: not supported yet (dequantization needs quantization)",
                 m->priv->dequantize_key);
    if (m->security.present && m->security.secure)
        add_line(err, &count, m, m->security.pos,
                 "security: not supported yet (model encryption arrives with the security stage)");
    if (!m->optimize)
        add_line(err, &count, m, m->optimize_pos,
                 "optimize: false is not supported yet (codegen always optimizes)");
    return count ? -1 : 0;
}

/* ---- fragments ------------------------------------------------------------------------ */

static void dims(struct synap_jw *w, const int64_t *d, size_t n)
{
    synap_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        synap_jw_int(w, d[i]);
    synap_jw_arr_end(w);
}

static void frag_import(struct synap_jw *w, const struct synap_meta *m)
{
    size_t named = 0;
    for (size_t i = 0; i < m->ninputs; i++)
        named += m->inputs[i].name != NULL;
    if (!named) return;
    synap_jw_key(w, "input_shapes");
    synap_jw_obj_begin(w);
    for (size_t i = 0; i < m->ninputs; i++) {
        if (!m->inputs[i].name) continue;
        synap_jw_key(w, m->inputs[i].name);
        dims(w, m->inputs[i].shape, m->inputs[i].rank);
    }
    synap_jw_obj_end(w);
}

static void frag_prune(struct synap_jw *w, const struct synap_meta *m)
{
    size_t named = 0;
    for (size_t i = 0; i < m->ninputs; i++)
        named += m->inputs[i].name != NULL;
    if (named) {
        synap_jw_key(w, "inputs");
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->ninputs; i++) {
            synap_jw_obj_begin(w);
            synap_jw_key(w, "name");
            synap_jw_str(w, m->inputs[i].name);
            synap_jw_key(w, "shape");
            dims(w, m->inputs[i].shape, m->inputs[i].rank);
            synap_jw_obj_end(w);
        }
        synap_jw_arr_end(w);
    }
    named = 0;
    for (size_t i = 0; i < m->noutputs; i++)
        named += m->outputs[i].name != NULL;
    if (named) {
        synap_jw_key(w, "outputs");
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->noutputs; i++)
            synap_jw_str(w, m->outputs[i].name);
        synap_jw_arr_end(w);
    }
}

static void frag_partition(struct synap_jw *w, const struct synap_meta *m)
{
    synap_jw_key(w, "delegate");
    if (m->ndelegate_map) {
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->ndelegate_map; i++) {
            synap_jw_arr_begin(w);
            synap_jw_str(w, m->delegate_map[i].pattern);
            synap_jw_str(w, m->delegate_map[i].value);
            synap_jw_arr_end(w);
        }
        synap_jw_arr_end(w);
    } else {
        /* SyNAP: no delegate key = "default" (unsupported ops fall back to cpu) */
        synap_jw_str(w, m->delegate ? m->delegate : "default");
    }
}

/* calib.json: what synap-calib needs to turn the data set into network inputs
 * (convert-design.md §2 and lib/calib/calib.h) and nothing about types or
 * schemes, so that changing those reuses the statistics. */
/* An input's format, means, name and scale, in key order: the part of the
 * calib and pack fragments that describes how pixels are normalized. */
static void input_norm_keys(struct synap_jw *w, const struct synap_meta_input *in)
{
    if (in->format) {
        synap_jw_key(w, "format");
        synap_jw_str(w, in->format);
    }
    if (in->nmeans) {
        synap_jw_key(w, "means");
        synap_jw_arr_begin(w);
        for (size_t k = 0; k < in->nmeans; k++)
            synap_jw_num(w, in->means[k]);
        synap_jw_arr_end(w);
    }
    if (in->name) {
        synap_jw_key(w, "name");
        synap_jw_str(w, in->name);
    }
    if (in->has_scale) {
        synap_jw_key(w, "scale");
        synap_jw_num(w, in->scale);
    }
}

static void frag_calib(struct synap_jw *w, const struct synap_meta *m)
{
    const struct synap_meta_quant *q = &m->quant;
    synap_jw_key(w, "base_dir");
    synap_jw_str(w, m->dir);
    synap_jw_key(w, "dataset");
    synap_jw_arr_begin(w);
    for (size_t i = 0; i < q->ndataset; i++)
        synap_jw_str(w, q->dataset[i].path);
    synap_jw_arr_end(w);
    if (strcmp(m->data_layout, "default")) {
        synap_jw_key(w, "data_layout");
        synap_jw_str(w, m->data_layout);
    }
    if (!m->ninputs) return;
    synap_jw_key(w, "inputs");
    synap_jw_arr_begin(w);
    for (size_t i = 0; i < m->ninputs; i++) {
        const struct synap_meta_input *in = &m->inputs[i];
        synap_jw_obj_begin(w);
        input_norm_keys(w, in);
        synap_jw_obj_end(w);
    }
    synap_jw_arr_end(w);
}

/* A YAML value of quantization.options as JSON: numbers and booleans keep
 * their type (synap-quant reads options.percentile as a number). */
static void yaml_json(struct synap_jw *w, const struct synap_yaml_node *v)
{
    switch (synap_yaml_type(v)) {
    case SYNAP_YAML_NULL:
        synap_jw_null(w);
        return;
    case SYNAP_YAML_SEQ:
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < synap_yaml_len(v); i++)
            yaml_json(w, synap_yaml_item(v, i));
        synap_jw_arr_end(w);
        return;
    case SYNAP_YAML_MAP:
        synap_jw_obj_begin(w);
        for (size_t i = 0; i < synap_yaml_len(v); i++) {
            synap_jw_key(w, synap_yaml_scalar(synap_yaml_key(v, i)));
            yaml_json(w, synap_yaml_value(v, i));
        }
        synap_jw_obj_end(w);
        return;
    case SYNAP_YAML_SCALAR:
        break;
    }
    const char *s = synap_yaml_scalar(v);
    if (!synap_yaml_quoted(v)) {
        if (!strcmp(s, "true") || !strcmp(s, "false")) {
            synap_jw_bool(w, s[0] == 't');
            return;
        }
        char *end;
        double d = strtod(s, &end);
        if (*s && !*end && isfinite(d)) {
            synap_jw_num(w, d);
            return;
        }
    }
    synap_jw_str(w, s);
}

/* quant.json: the keys of lib/quant/quant.h's options (the per-layer map as
 * ordered [PATTERN, TYPE] pairs: later entries win). */
static void frag_quant(struct synap_jw *w, const struct synap_meta *m)
{
    const struct synap_meta_quant *q = &m->quant;
    synap_jw_key(w, "algorithm");
    synap_jw_str(w, q->algorithm);
    synap_jw_key(w, "data_type");
    if (q->data_type) {
        synap_jw_str(w, q->data_type);
    } else {
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < q->ndata_type_map; i++) {
            synap_jw_arr_begin(w);
            synap_jw_str(w, q->data_type_map[i].pattern);
            synap_jw_str(w, q->data_type_map[i].value);
            synap_jw_arr_end(w);
        }
        synap_jw_arr_end(w);
    }
    if (m->has_dequantize_outputs) {
        synap_jw_key(w, "dequantize_outputs");
        synap_jw_bool(w, m->dequantize_outputs);
    }
    synap_jw_key(w, "mode");
    synap_jw_str(w, q->mode);
    if (q->options) {
        synap_jw_key(w, "options");
        yaml_json(w, q->options);
    }
    size_t ndq = 0;
    for (size_t i = 0; i < m->noutputs; i++)
        ndq += m->outputs[i].has_dequantize;
    if (ndq) {
        synap_jw_key(w, "outputs");
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->noutputs; i++) {
            synap_jw_obj_begin(w);
            if (m->outputs[i].has_dequantize) {
                synap_jw_key(w, "dequantize");
                synap_jw_bool(w, m->outputs[i].dequantize);
            }
            synap_jw_obj_end(w);
        }
        synap_jw_arr_end(w);
    }
    synap_jw_key(w, "scheme");
    synap_jw_str(w, q->scheme);
}

static void frag_pack(struct synap_jw *w, const struct synap_meta *m)
{
    if (strcmp(m->data_layout, "default")) {
        synap_jw_key(w, "data_layout");
        synap_jw_str(w, m->data_layout);
    }
    if (m->has_dequantize_outputs) {
        synap_jw_key(w, "dequantize_outputs");
        synap_jw_bool(w, m->dequantize_outputs);
    }
    if (m->input_format) {
        synap_jw_key(w, "input_format");
        synap_jw_str(w, m->input_format);
    }
    if (m->output_format) {
        synap_jw_key(w, "output_format");
        synap_jw_str(w, m->output_format);
    }
    if (m->ninputs) {
        synap_jw_key(w, "inputs");
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->ninputs; i++) {
            const struct synap_meta_input *in = &m->inputs[i];
            synap_jw_obj_begin(w);
            input_norm_keys(w, in);
            if (in->security) {
                synap_jw_key(w, "security");
                synap_jw_str(w, in->security);
            }
            synap_jw_obj_end(w);
        }
        synap_jw_arr_end(w);
    }
    if (m->noutputs) {
        synap_jw_key(w, "outputs");
        synap_jw_arr_begin(w);
        for (size_t i = 0; i < m->noutputs; i++) {
            const struct synap_meta_output *o = &m->outputs[i];
            synap_jw_obj_begin(w);
            if (o->has_dequantize) {
                synap_jw_key(w, "dequantize");
                synap_jw_bool(w, o->dequantize);
            }
            if (o->format) {
                synap_jw_key(w, "format");
                synap_jw_str(w, o->format);
            }
            if (o->name) {
                synap_jw_key(w, "name");
                synap_jw_str(w, o->name);
            }
            if (o->security) {
                synap_jw_key(w, "security");
                synap_jw_str(w, o->security);
            }
            synap_jw_obj_end(w);
        }
        synap_jw_arr_end(w);
    }
    synap_jw_key(w, "profiling");
    synap_jw_bool(w, m->profiling);
    /* the file name only: the outputs must not depend on where the model lies */
    const char *model = m->model ? strrchr(m->model, '/') : NULL;
    model = model ? model + 1 : m->model;
    if (model && *model) {
        synap_jw_key(w, "model");
        synap_jw_str(w, model);
    }
}

int synap_meta_fragment(const struct synap_meta *m, const char *stage, const char *target,
                        const char *out_format, char **bytes, size_t *n, struct synap_err *err)
{
    static const char *const stages[] = {"import", "prune", "partition", "codegen",
                                         "pack",   "calib", "quant"};
    int s = one_of(stage ? stage : "", stages, COUNT(stages));
    if (s < 0) return synap_errf(err, "no metafile fragment for stage '%s'", stage ? stage : "");
    int targeted = s >= 2 && s <= 4;
    if (s >= 5 && !m->quant.present)
        return synap_errf(err, "no %s fragment: the metafile has no quantization section", stage);
    if (targeted && (!target || !*target))
        return synap_errf(err, "the %s fragment needs a target", stage);
    if (!out_format) out_format = "synap";
    if (s == 4 && strcmp(out_format, "synap") && strcmp(out_format, "nb"))
        return synap_errf(err, "--out-format: invalid value '%s'; valid values: synap, nb",
                          out_format);
    struct synap_jw w;
    synap_jw_init(&w, 0);
    synap_jw_obj_begin(&w);
    switch (s) {
    case 0:
        frag_import(&w, m);
        break;
    case 1:
        frag_prune(&w, m);
        break;
    case 2:
        frag_partition(&w, m);
        break;
    case 3:
        if (!m->optimize) {
            synap_jw_key(&w, "optimize");
            synap_jw_bool(&w, false);
        }
        break;
    case 4:
        frag_pack(&w, m);
        synap_jw_key(&w, "out_format");
        synap_jw_str(&w, out_format);
        break;
    case 5:
        frag_calib(&w, m);
        break;
    case 6:
        frag_quant(&w, m);
        break;
    }
    if (targeted) {
        synap_jw_key(&w, "target");
        synap_jw_str(&w, target);
    }
    synap_jw_obj_end(&w);
    size_t rawn;
    char *raw = synap_jw_finish(&w, &rawn);
    /* the canonical form sorts every object's keys (custom values included) */
    struct synap_arena *a = synap_arena_new();
    const struct synap_json *v = synap_json_parse(a, raw, rawn, "fragment", err);
    free(raw);
    if (!v) {
        synap_arena_free(a);
        return -1;
    }
    synap_jw_init(&w, 0);
    synap_jw_canonical(&w, v);
    *bytes = synap_jw_finish(&w, n);
    synap_arena_free(a);
    return 0;
}
