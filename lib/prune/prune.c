/* Cutting a graph at named tensors (synap-prune). */
#include "prune/prune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LISTED 20

/* case-insensitive "hay contains needle" (strcasestr is not C11/POSIX) */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n)) return 1;
    return n == 0;
}

/* "unknown tensor 'x'; candidates: 'a', 'b', ... and N more": the layer
 * outputs whose name contains x (case-insensitive) when there are some,
 * else every layer output, in graph order. */
static int unknown_tensor(const struct synap_graph *g, const char *what, const char *name,
                          struct synap_err *err)
{
    /* a layer name given where a tensor name is wanted: say which tensor */
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        if (!n->name || strcmp(n->name, name) || !n->noutputs || n->outputs[0] >= g->ntensors)
            continue;
        return synap_errf(err, "%s: '%.200s' is a layer, not a tensor; its output is '%.200s'",
                          what, name, g->tensors[n->outputs[0]].name);
    }
    size_t nsub = 0;
    for (size_t t = 0; t < g->ntensors; t++)
        if (!g->tensors[t].data && g->tensors[t].name && contains(g->tensors[t].name, name)) nsub++;
    char list[700];
    size_t len = 0, listed = 0, total = 0;
    int full = 0;
    list[0] = 0;
    for (size_t t = 0; t < g->ntensors; t++) {
        const char *nm = g->tensors[t].name;
        if (g->tensors[t].data || !nm || !*nm) continue;
        if (nsub && !contains(nm, name)) continue;
        total++;
        if (full || listed == MAX_LISTED) continue;
        if (len + strlen(nm) + 4 >= sizeof list) {
            full = 1;
            continue;
        }
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", listed ? ", " : "", nm);
        listed++;
    }
    char more[48] = "";
    if (total > listed) snprintf(more, sizeof more, " and %zu more", total - listed);
    return synap_errf(err, "%s: unknown tensor '%.200s'; candidates: %s%s", what, name,
                      total ? list : "(none)", more);
}

static int resolve(const struct synap_graph *g, const char *what, const char *name, uint32_t *t,
                   struct synap_err *err)
{
    if (!name || !*name) return synap_errf(err, "%s: empty tensor name", what);
    *t = synap_graph_find_tensor(g, name);
    if (*t == SYNAP_NONE) return unknown_tensor(g, what, name, err);
    if (g->tensors[*t].data)
        return synap_errf(err, "%s: tensor '%s' is a constant, not a layer output", what, name);
    return 0;
}

int synap_prune(struct synap_graph *g, const struct synap_prune_opts *o, struct synap_err *err)
{
    uint32_t *in = synap_xcalloc(o->ninputs + 1, sizeof *in);
    uint32_t *out = synap_xcalloc(o->noutputs + 1, sizeof *out);
    unsigned char *needed = NULL;
    int rc = -1;
    for (size_t i = 0; i < o->ninputs; i++) {
        const struct synap_prune_input *pi = &o->inputs[i];
        if (resolve(g, "input", pi->name, &in[i], err) < 0) goto out;
        for (size_t j = 0; j < i; j++)
            if (in[j] == in[i]) {
                synap_errf(err, "input: tensor '%s' named twice", pi->name);
                goto out;
            }
        if (pi->rank < 0 || pi->rank > SYNAP_MAX_RANK) {
            synap_errf(err, "input '%s': rank %d out of range (1..%d)", pi->name, pi->rank,
                       SYNAP_MAX_RANK);
            goto out;
        }
        for (int d = 1; d < pi->rank; d++)
            if (pi->dims[d] <= 0 || pi->dims[d] > INT32_MAX) {
                synap_errf(err, "input '%s': dimension %d must be in 1..%d, got %lld", pi->name, d,
                           INT32_MAX, (long long)pi->dims[d]);
                goto out;
            }
    }
    for (size_t i = 0; i < o->noutputs; i++) {
        if (resolve(g, "output", o->outputs[i], &out[i], err) < 0) goto out;
        for (size_t j = 0; j < i; j++)
            if (out[j] == out[i]) {
                synap_errf(err, "output: tensor '%s' named twice", o->outputs[i]);
                goto out;
            }
    }

    /* cut: the producer of each new input writes a fresh tensor instead, so
     * that the input keeps its index and name (metafiles refer to it) */
    for (size_t i = 0; i < o->ninputs; i++) {
        const struct synap_prune_input *pi = &o->inputs[i];
        for (size_t k = 0; k < g->nnodes; k++) {
            struct synap_node *n = &g->nodes[k];
            for (size_t j = 0; j < n->noutputs; j++) {
                if (n->outputs[j] != in[i]) continue;
                const struct synap_tensor *ts = &g->tensors[in[i]];
                size_t nl = strlen(ts->name) + 8;
                char *nm = synap_xmalloc(nl);
                snprintf(nm, nl, "%s:cut", ts->name);
                enum synap_dtype dt = ts->dtype;
                int rank = ts->rank;
                int64_t dims[SYNAP_MAX_RANK];
                memcpy(dims, ts->dims, sizeof dims);
                uint32_t fresh = synap_graph_add_tensor(g, nm, dt, rank, dims);
                free(nm);
                g->nodes[k].outputs[j] = fresh;
            }
        }
        if (pi->rank > 0) {
            struct synap_tensor *ts = &g->tensors[in[i]];
            ts->rank = pi->rank;
            memcpy(ts->dims, pi->dims, (size_t)pi->rank * sizeof *pi->dims);
            ts->dims[0] = 1; /* the batch dimension is ignored (REFERENCE.md) */
        }
    }
    if (o->noutputs) {
        g->outputs = synap_arena_memdup(g->arena, out, o->noutputs * sizeof *out);
        g->noutputs = o->noutputs;
    }

    /* what the outputs need, walking back from them (nodes are in
     * topological order); the walk stops at the cuts */
    needed = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
    for (size_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < g->ntensors) needed[g->outputs[i]] = 1;
    for (size_t k = g->nnodes; k-- > 0;) {
        const struct synap_node *n = &g->nodes[k];
        int useful = 0;
        for (size_t j = 0; j < n->noutputs; j++)
            if (n->outputs[j] < g->ntensors && needed[n->outputs[j]]) useful = 1;
        if (!useful) continue;
        for (size_t j = 0; j < n->ninputs; j++)
            if (n->inputs[j] < g->ntensors) needed[n->inputs[j]] = 1;
    }
    for (size_t i = 0; i < o->ninputs; i++)
        if (!needed[in[i]]) {
            synap_errf(err, "input '%s' does not feed any output", o->inputs[i].name);
            goto out;
        }
    /* graph inputs: the named ones in order, then the original ones still needed */
    size_t nin = 0;
    uint32_t *inputs = synap_arena_alloc(g->arena, (o->ninputs + g->ninputs + 1) * sizeof *inputs);
    for (size_t i = 0; i < o->ninputs; i++)
        inputs[nin++] = in[i];
    for (size_t i = 0; i < g->ninputs; i++) {
        uint32_t t = g->inputs[i];
        size_t j = 0;
        while (j < o->ninputs && in[j] != t)
            j++;
        if (j == o->ninputs && t < g->ntensors && needed[t]) inputs[nin++] = t;
    }
    g->inputs = inputs;
    g->ninputs = nin;

    synap_graph_prune_dead(g);
    if (synap_graph_infer(g, true, err) < 0) {
        synap_err_prefix(err, "shape inference after the cut");
        goto out;
    }
    rc = synap_graph_verify(g, "pruned graph", err);
out:
    free(in);
    free(out);
    free(needed);
    return rc;
}

/* "1,3,224,224" -> dims; -1 on anything else */
static int parse_dims(const char *s, struct synap_prune_input *pi)
{
    pi->rank = 0;
    if (!*s) return -1;
    while (*s) {
        if (pi->rank == SYNAP_MAX_RANK || *s < '0' || *s > '9') return -1;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || (*end && *end != ',')) return -1;
        pi->dims[pi->rank++] = v;
        s = *end ? end + 1 : end;
        if (*end && !*s) return -1;
    }
    return 0;
}

static int parse_input(const struct synap_json *v, size_t idx, struct synap_arena *a,
                       struct synap_prune_input *pi, struct synap_err *err)
{
    memset(pi, 0, sizeof *pi);
    if (synap_json_is_string(v)) {
        /* the --input flag: NAME=d0,d1,... (or NAME alone: keep its shape) */
        const char *eq = strrchr(v->s, '=');
        if (!eq) {
            pi->name = v->s;
            return 0;
        }
        pi->name = synap_arena_memdup(a, v->s, (size_t)(eq - v->s) + 1);
        ((char *)pi->name)[eq - v->s] = 0;
        if (parse_dims(eq + 1, pi) < 0)
            return synap_errf(err, "inputs[%zu]: '%s': expected NAME=D0,D1,...", idx, v->s);
        return 0;
    }
    if (!synap_json_is_object(v))
        return synap_errf(err, "inputs[%zu]: expected {\"name\", \"shape\"} or \"NAME=D0,D1,...\"",
                          idx);
    for (size_t k = 0; k < v->n; k++)
        if (strcmp(v->keys[k], "name") && strcmp(v->keys[k], "shape"))
            return synap_errf(err, "inputs[%zu]: unknown key '%s'; valid keys: name, shape", idx,
                              v->keys[k]);
    pi->name = synap_json_as_string(synap_json_get(v, "name"));
    if (!pi->name) return synap_errf(err, "inputs[%zu]: missing string 'name'", idx);
    const struct synap_json *shape = synap_json_get(v, "shape");
    /* absent, null or []: the tensor keeps the shape it has */
    if (!shape || synap_json_is_null(shape) || (synap_json_is_array(shape) && shape->n == 0))
        return 0;
    if (!synap_json_is_array(shape) || shape->n > SYNAP_MAX_RANK)
        return synap_errf(err, "inputs[%zu] '%s': shape must be a list of 1 to %d integers", idx,
                          pi->name, SYNAP_MAX_RANK);
    for (size_t d = 0; d < shape->n; d++)
        if (synap_json_as_int64(shape->items[d], &pi->dims[d]) < 0)
            return synap_errf(err, "inputs[%zu] '%s': shape must be a list of integers", idx,
                              pi->name);
    pi->rank = (int)shape->n;
    return 0;
}

int synap_prune_opts_from_json(const struct synap_json *opts, struct synap_arena *a,
                               struct synap_prune_opts *o, struct synap_err *err)
{
    memset(o, 0, sizeof *o);
    if (!opts || synap_json_is_null(opts)) return 0;
    if (!synap_json_is_object(opts)) return synap_errf(err, "options: expected an object");
    for (size_t k = 0; k < opts->n; k++)
        if (strcmp(opts->keys[k], "inputs") && strcmp(opts->keys[k], "outputs"))
            return synap_errf(err, "unknown option '%s'; valid options: inputs, outputs",
                              opts->keys[k]);
    const struct synap_json *ins = synap_json_get(opts, "inputs");
    const struct synap_json *outs = synap_json_get(opts, "outputs");
    if (ins && !synap_json_is_array(ins)) return synap_errf(err, "inputs: expected a list");
    if (outs && !synap_json_is_array(outs)) return synap_errf(err, "outputs: expected a list");
    size_t nin = synap_json_length(ins), nout = synap_json_length(outs);
    struct synap_prune_input *pi = synap_arena_alloc(a, (nin + 1) * sizeof *pi);
    const char **po = synap_arena_alloc(a, (nout + 1) * sizeof *po);
    for (size_t i = 0; i < nin; i++)
        if (parse_input(ins->items[i], i, a, &pi[i], err) < 0) return -1;
    for (size_t i = 0; i < nout; i++) {
        po[i] = synap_json_as_string(outs->items[i]);
        if (!po[i]) return synap_errf(err, "outputs[%zu]: expected a tensor name", i);
    }
    o->inputs = pi;
    o->ninputs = nin;
    o->outputs = po;
    o->noutputs = nout;
    return 0;
}
