/* A read-only YAML tree over libyaml's document API, with node positions. */
#include "util/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct synap_yaml_node {
    struct synap_yaml *y;
    yaml_node_t *n;
};

struct synap_yaml {
    yaml_document_t doc;
    int has_doc;
    char *what;
    struct synap_yaml_node *nodes; /* one per document node, same order */
    size_t nnodes;
};

static const struct synap_yaml_node *wrap(const struct synap_yaml *y, int index)
{
    /* libyaml node indices are 1-based */
    if (index < 1 || (size_t)index > y->nnodes) return NULL;
    return &y->nodes[index - 1];
}

void synap_yaml_free(struct synap_yaml *y)
{
    if (!y) return;
    if (y->has_doc) yaml_document_delete(&y->doc);
    free(y->nodes);
    free(y->what);
    free(y);
}

struct synap_yaml *synap_yaml_parse(const char *text, size_t n, const char *what,
                                    struct synap_err *err)
{
    struct synap_yaml *y = synap_xcalloc(1, sizeof *y);
    y->what = synap_xstrdup(what ? what : "<yaml>");
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        synap_errf_io(err, "%s: cannot initialize the YAML parser", y->what);
        goto fail;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
    if (!yaml_parser_load(&p, &y->doc)) {
        const yaml_mark_t *m = p.context ? &p.context_mark : &p.problem_mark;
        if (p.problem_mark.line || p.problem_mark.column) m = &p.problem_mark;
        synap_errf(err, "%s:%zu:%zu: invalid YAML: %s%s%s", y->what, m->line + 1, m->column + 1,
                   p.problem ? p.problem : "parse error", p.context ? " " : "",
                   p.context ? p.context : "");
        yaml_parser_delete(&p);
        goto fail;
    }
    yaml_parser_delete(&p);
    y->has_doc = 1;
    y->nnodes = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
    y->nodes = synap_xcalloc(y->nnodes ? y->nnodes : 1, sizeof *y->nodes);
    for (size_t i = 0; i < y->nnodes; i++) {
        y->nodes[i].y = y;
        y->nodes[i].n = y->doc.nodes.start + i;
    }
    /* an alias makes a node appear twice: refuse it, so that walking the tree
     * is linear in the file size */
    unsigned char *seen = synap_xcalloc(y->nnodes + 1, 1);
    for (size_t i = 0; i < y->nnodes; i++) {
        yaml_node_t *nd = y->nodes[i].n;
        int *kids[2] = {0};
        size_t nk = 0;
        if (nd->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = nd->data.sequence.items.start;
                 it < nd->data.sequence.items.top; it++) {
                if (*it >= 1 && (size_t)*it <= y->nnodes && seen[*it]++) goto alias;
            }
        } else if (nd->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = nd->data.mapping.pairs.start;
                 pr < nd->data.mapping.pairs.top; pr++) {
                kids[0] = &pr->key, kids[1] = &pr->value, nk = 2;
                for (size_t k = 0; k < nk; k++)
                    if (*kids[k] >= 1 && (size_t)*kids[k] <= y->nnodes && seen[*kids[k]]++)
                        goto alias;
            }
        }
        continue;
    alias:
        synap_errf(err, "%s:%zu:%zu: YAML aliases (*name) are not supported", y->what,
                   nd->start_mark.line + 1, nd->start_mark.column + 1);
        free(seen);
        goto fail;
    }
    free(seen);
    return y;
fail:
    synap_yaml_free(y);
    return NULL;
}

const struct synap_yaml_node *synap_yaml_root(const struct synap_yaml *y)
{
    if (!y->has_doc || !y->nnodes) return NULL;
    return wrap(y, 1);
}

const char *synap_yaml_what(const struct synap_yaml *y) { return y->what; }

static int is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

enum synap_yaml_type synap_yaml_type(const struct synap_yaml_node *n)
{
    if (!n) return SYNAP_YAML_NULL;
    switch (n->n->type) {
    case YAML_SCALAR_NODE: return is_null_scalar(n->n) ? SYNAP_YAML_NULL : SYNAP_YAML_SCALAR;
    case YAML_SEQUENCE_NODE: return SYNAP_YAML_SEQ;
    case YAML_MAPPING_NODE: return SYNAP_YAML_MAP;
    default: return SYNAP_YAML_NULL;
    }
}

int synap_yaml_line(const struct synap_yaml_node *n) { return n ? (int)n->n->start_mark.line + 1 : 0; }
int synap_yaml_column(const struct synap_yaml_node *n)
{
    return n ? (int)n->n->start_mark.column + 1 : 0;
}

const char *synap_yaml_scalar(const struct synap_yaml_node *n)
{
    return n && n->n->type == YAML_SCALAR_NODE ? (const char *)n->n->data.scalar.value : NULL;
}

bool synap_yaml_quoted(const struct synap_yaml_node *n)
{
    return n && n->n->type == YAML_SCALAR_NODE &&
           (n->n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            n->n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

size_t synap_yaml_len(const struct synap_yaml_node *n)
{
    if (!n) return 0;
    if (n->n->type == YAML_SEQUENCE_NODE)
        return (size_t)(n->n->data.sequence.items.top - n->n->data.sequence.items.start);
    if (n->n->type == YAML_MAPPING_NODE)
        return (size_t)(n->n->data.mapping.pairs.top - n->n->data.mapping.pairs.start);
    return 0;
}

const struct synap_yaml_node *synap_yaml_item(const struct synap_yaml_node *n, size_t i)
{
    if (!n || n->n->type != YAML_SEQUENCE_NODE || i >= synap_yaml_len(n)) return NULL;
    return wrap(n->y, n->n->data.sequence.items.start[i]);
}

const struct synap_yaml_node *synap_yaml_key(const struct synap_yaml_node *n, size_t i)
{
    if (!n || n->n->type != YAML_MAPPING_NODE || i >= synap_yaml_len(n)) return NULL;
    return wrap(n->y, n->n->data.mapping.pairs.start[i].key);
}

const struct synap_yaml_node *synap_yaml_value(const struct synap_yaml_node *n, size_t i)
{
    if (!n || n->n->type != YAML_MAPPING_NODE || i >= synap_yaml_len(n)) return NULL;
    return wrap(n->y, n->n->data.mapping.pairs.start[i].value);
}

const struct synap_yaml_node *synap_yaml_get(const struct synap_yaml_node *n, const char *key)
{
    size_t len = synap_yaml_len(n);
    if (!n || n->n->type != YAML_MAPPING_NODE) return NULL;
    for (size_t i = 0; i < len; i++) {
        const char *k = synap_yaml_scalar(synap_yaml_key(n, i));
        if (k && !strcmp(k, key)) return synap_yaml_value(n, i);
    }
    return NULL;
}

int synap_yaml_errf(const struct synap_yaml *y, const struct synap_yaml_node *n,
                    struct synap_err *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return synap_errf(err, "%s:%d:%d: %s", y->what, synap_yaml_line(n), synap_yaml_column(n),
                          msg);
    return synap_errf(err, "%s: %s", y->what, msg);
}

int synap_yaml_int(const struct synap_yaml *y, const struct synap_yaml_node *n, const char *name,
                   long long *out, struct synap_err *err)
{
    const char *s = synap_yaml_type(n) == SYNAP_YAML_SCALAR ? synap_yaml_scalar(n) : NULL;
    if (s && *s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*end && !errno) {
            *out = v;
            return 0;
        }
    }
    return synap_yaml_errf(y, n, err, "%s: expected an integer, got '%s'", name, s ? s : "");
}

int synap_yaml_double(const struct synap_yaml *y, const struct synap_yaml_node *n,
                      const char *name, double *out, struct synap_err *err)
{
    const char *s = synap_yaml_type(n) == SYNAP_YAML_SCALAR ? synap_yaml_scalar(n) : NULL;
    if (s && *s && !synap_yaml_quoted(n)) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (!*end && !errno && isfinite(v)) {
            *out = v;
            return 0;
        }
    }
    return synap_yaml_errf(y, n, err, "%s: expected a number, got '%s'", name, s ? s : "");
}

int synap_yaml_bool(const struct synap_yaml *y, const struct synap_yaml_node *n, const char *name,
                    bool *out, struct synap_err *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                 "off", "0"};
    const char *s = synap_yaml_type(n) == SYNAP_YAML_SCALAR ? synap_yaml_scalar(n) : NULL;
    for (size_t i = 0; s && i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = true, 0;
        if (!strcasecmp(s, no[i])) return *out = false, 0;
    }
    return synap_yaml_errf(y, n, err, "%s: expected true or false, got '%s'", name, s ? s : "");
}
