/* Layer patterns resolved against a graph: which nodes '*', NAME, 'NAME...',
 * '@id' and INPUTS select. */
#include "meta/pattern.h"

#include <stdlib.h>
#include <string.h>

/* The message for an unknown name lists valid names in node order: the
 * first SYNAP_PATTERN_MAX_LISTED (fewer when long names would overflow the
 * error buffer), then how many more there are, so that a 500-layer model
 * still gives one readable line. */
static int unknown_name(const struct synap_graph *g, const char *name, const char *pattern,
                        struct synap_err *err)
{
    char list[720];
    size_t len = 0, listed = 0, total = 0;
    int full = 0;
    list[0] = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        const char *nm = g->nodes[i].name;
        if (!nm || !*nm) continue;
        total++;
        if (full || listed == SYNAP_PATTERN_MAX_LISTED) continue;
        size_t need = strlen(nm) + 4; /* ", 'x'" */
        if (len + need >= sizeof list) {
            full = 1;
            continue;
        }
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", listed ? ", " : "", nm);
        listed++;
    }
    char in_pattern[300] = "";
    if (strcmp(name, pattern))
        snprintf(in_pattern, sizeof in_pattern, " in pattern '%.256s'", pattern);
    if (total == 0)
        return synap_errf(err, "unknown layer '%.256s'%s: the graph has no named layers", name,
                          in_pattern);
    char more[48] = "";
    if (total > listed) snprintf(more, sizeof more, " and %zu more", total - listed);
    return synap_errf(err, "unknown layer '%.256s'%s; valid layers: %s%s", name, in_pattern, list,
                      more);
}

/* Marks the nodes named `name`; when none is, the producer of the tensor of
 * that name (ONNX layer and tensor names often differ, and users copy
 * either from Netron). Returns how many nodes were marked. */
static size_t mark_named(const struct synap_graph *g, const char *name, bool *mark)
{
    size_t found = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].name && !strcmp(g->nodes[i].name, name)) {
            mark[i] = true;
            found++;
        }
    if (found) return found;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->noutputs; j++) {
            uint32_t t = n->outputs[j];
            if (t < g->ntensors && g->tensors[t].name && !strcmp(g->tensors[t].name, name)) {
                mark[i] = true;
                found++;
                break;
            }
        }
    }
    return found;
}

/* selected[i] = node i consumes (transitively) an output of a seed node;
 * nodes are in topological order, so one forward pass suffices. */
static void mark_descendants(const struct synap_graph *g, const bool *seed, bool *selected)
{
    unsigned char *reached = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        bool hit = false;
        for (size_t j = 0; j < n->ninputs && !hit; j++)
            if (n->inputs[j] < g->ntensors && reached[n->inputs[j]]) hit = true;
        selected[i] = hit;
        if (hit || seed[i])
            for (size_t j = 0; j < n->noutputs; j++)
                if (n->outputs[j] < g->ntensors) reached[n->outputs[j]] = 1;
    }
    free(reached);
}

/* "@12" -> node 12 marked in sel; the id text must be digits only */
static int match_id(const struct synap_graph *g, const char *s, const char *pattern, bool *sel,
                    struct synap_err *err)
{
    /* digits only: "@-1", "@+3", "@ 3", "@3x" are all refused */
    size_t id = 0;
    if (!*s) return synap_errf(err, "layer pattern '%s': expected a layer id after '@'", pattern);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return synap_errf(err, "layer pattern '%s': expected a layer id after '@'", pattern);
        if (id > (SIZE_MAX - 9) / 10)
            id = SIZE_MAX; /* saturate: out of range below */
        else
            id = id * 10 + (size_t)(*p - '0');
    }
    if (id >= g->nnodes) {
        if (g->nnodes == 0)
            return synap_errf(err, "layer pattern '%s': the graph has no layers", pattern);
        return synap_errf(err, "layer pattern '%s': layer id %s out of range (0..%zu)", pattern, s,
                          g->nnodes - 1);
    }
    sel[id] = true;
    return 0;
}

/* NAME or '@id' (the part before an optional "...") -> the layers it names */
static int match_one(const struct synap_graph *g, const char *p, const char *pattern, bool *sel,
                     struct synap_err *err)
{
    if (p[0] == '@') return match_id(g, p + 1, pattern, sel, err);
    if (!mark_named(g, p, sel)) return unknown_name(g, p, pattern, err);
    return 0;
}

int synap_pattern_match_flags(const struct synap_graph *g, const char *pattern, unsigned flags,
                              bool *selected, struct synap_err *err)
{
    if (!pattern) return synap_errf(err, "empty layer pattern");
    for (size_t i = 0; i < g->nnodes; i++)
        selected[i] = false;
    /* trim blanks (YAML keeps them inside quotes) */
    size_t len = strlen(pattern);
    const char *s = pattern;
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len) return synap_errf(err, "empty layer pattern");
    char *p = synap_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = 0;
    int rc = 0;
    if (!strcmp(p, "*")) {
        for (size_t i = 0; i < g->nnodes; i++)
            selected[i] = true;
    } else if (!strcmp(p, "INPUTS")) {
        if (!(flags & SYNAP_PATTERN_ALLOW_INPUTS)) {
            rc = synap_errf(err, "layer pattern 'INPUTS' is only valid in quantization maps");
        } else {
            unsigned char *is_in = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
            for (size_t i = 0; i < g->ninputs; i++)
                if (g->inputs[i] < g->ntensors) is_in[g->inputs[i]] = 1;
            for (size_t i = 0; i < g->nnodes; i++)
                for (size_t j = 0; j < g->nodes[i].ninputs; j++)
                    if (g->nodes[i].inputs[j] < g->ntensors && is_in[g->nodes[i].inputs[j]])
                        selected[i] = true;
            free(is_in);
        }
    } else if (len > 3 && !strcmp(p + len - 3, "...")) {
        /* 'NAME...' and '@id...': the layers after it, not itself */
        p[len - 3] = 0;
        bool *seed = synap_xcalloc(g->nnodes ? g->nnodes : 1, sizeof *seed);
        rc = match_one(g, p, pattern, seed, err);
        if (rc == 0) mark_descendants(g, seed, selected);
        free(seed);
    } else {
        rc = match_one(g, p, pattern, selected, err);
    }
    free(p);
    return rc;
}

int synap_pattern_match(const struct synap_graph *g, const char *pattern, bool *selected,
                        struct synap_err *err)
{
    return synap_pattern_match_flags(g, pattern, 0, selected, err);
}
