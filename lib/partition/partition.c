/* Heterogeneous partitioning: a delegate per layer, then greedy subgraphs. */
#include "partition/partition.h"

#include <stdlib.h>
#include <string.h>

#include "meta/pattern.h"

#define MAX_LISTED 20

/* "'x' (Foo), 'y' (Bar) ... and N more" for the flagged nodes; `on` (may be
 * NULL) gives each node's delegate name to append as " on npu". */
static void list_layers(const struct synap_graph *g, const size_t *idx, size_t n,
                        const char *const *on, char *buf, size_t cap)
{
    size_t len = 0, listed = 0;
    buf[0] = 0;
    for (size_t k = 0; k < n; k++) {
        const struct synap_node *nd = &g->nodes[idx[k]];
        char one[400];
        snprintf(one, sizeof one, "%s'%.200s' (%s)%s%s", listed ? ", " : "",
                 nd->name ? nd->name : "", synap_op_name(nd->op), on ? " on " : "",
                 on ? on[k] : "");
        if (listed == MAX_LISTED || len + strlen(one) + 24 >= cap) break;
        memcpy(buf + len, one, strlen(one) + 1);
        len += strlen(one);
        listed++;
    }
    if (n > listed) snprintf(buf + len, cap - len, " and %zu more", n - listed);
}

/* "npu options..." -> index of npu in t, or -2 for "default"; -1 with err. */
static int delegate_index(const struct synap_target *t, const char *name, struct synap_err *err)
{
    char word[16];
    size_t n = 0;
    while (name[n] == ' ' || name[n] == '\t')
        name++;
    while (name[n] && name[n] != ' ' && name[n] != '\t' && n < sizeof word - 1)
        n++;
    memcpy(word, name, n);
    word[n] = 0;
    if (!strcmp(word, "default")) return -2;
    int d = synap_target_delegate(t, word);
    if (d >= 0) return d;
    char list[64] = "";
    size_t len = 0;
    for (size_t i = 0; i < t->ndelegates; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s, ", t->delegates[i]);
    if (strcmp(word, "npu") && strcmp(word, "gpu") && strcmp(word, "cpu"))
        return synap_errf(err, "unknown delegate '%.64s'; valid delegates: %sdefault", name, list);
    return synap_errf(err, "delegate '%s' is not available on %s; its delegates: %sdefault", word,
                      t->name, list);
}

int synap_partition(struct synap_graph *g, const struct synap_target *t,
                    const struct synap_partition_opts *o, char **warning, struct synap_err *err)
{
    size_t nn = g->nnodes;
    int *want = synap_xcalloc(nn + 1, sizeof *want); /* requested: index or -2 default */
    int *dele = synap_xcalloc(nn + 1, sizeof *dele); /* resolved delegate index */
    bool *sel = synap_xcalloc(nn + 1, sizeof *sel);
    size_t *bad = synap_xcalloc(nn + 1, sizeof *bad); /* nodes in error / fallen back */
    const char **bad_on = synap_xcalloc(nn + 1, sizeof *bad_on);
    size_t nbad = 0, nfall = 0;
    size_t *order = NULL, *sub = NULL, *indeg = NULL, *cons_start = NULL, *cons = NULL;
    bool *done = NULL, *ready = NULL;
    int rc = -1;
    if (warning) *warning = NULL;
    if (t->ndelegates == 0) {
        synap_errf(err, "target %s has no delegates", t->name);
        goto out;
    }

    /* 1. requested delegate per layer */
    int base = -2;
    if (o->delegate && (base = delegate_index(t, o->delegate, err)) == -1) goto out;
    for (size_t i = 0; i < nn; i++)
        want[i] = base;
    for (size_t r = 0; r < o->nrules; r++) {
        int d = delegate_index(t, o->rules[r].delegate, err);
        if (d == -1) {
            synap_err_prefix(err, "delegate map entry '%.200s'", o->rules[r].pattern);
            goto out;
        }
        if (synap_pattern_match(g, o->rules[r].pattern, sel, err) < 0) goto out;
        for (size_t i = 0; i < nn; i++)
            if (sel[i]) want[i] = d;
    }

    /* 2. check support: an explicit choice must run the op; "default"
     * falls back to the cpu, and says so */
    int cpu = synap_target_delegate(t, "cpu");
    for (size_t i = 0; i < nn; i++) {
        enum synap_op op = g->nodes[i].op;
        if (want[i] >= 0) {
            dele[i] = want[i];
            if (!t->supported[want[i]][op]) {
                bad_on[nbad] = t->delegates[want[i]];
                bad[nbad++] = i;
            }
            continue;
        }
        dele[i] = 0;
        if (t->supported[0][op]) continue;
        if (cpu < 0 || !t->supported[cpu][op]) {
            bad_on[nbad] = t->delegates[0];
            bad[nbad++] = i;
            continue;
        }
        dele[i] = cpu;
        nfall++;
    }
    if (nbad) {
        char list[800];
        if (nbad == 1) {
            const struct synap_node *nd = &g->nodes[bad[0]];
            synap_errf(err, "layer '%.300s' (%s): delegate %s of %s cannot run %s", nd->name,
                       synap_op_name(nd->op), bad_on[0], t->name, synap_op_name(nd->op));
        } else {
            list_layers(g, bad, nbad, bad_on, list, sizeof list);
            synap_errf(err, "%zu layers cannot run on the delegate chosen for them (%s): %s", nbad,
                       t->name, list);
        }
        goto out;
    }
    if (nfall && warning) {
        size_t k = 0;
        for (size_t i = 0; i < nn; i++)
            if (want[i] == -2 && dele[i] != 0) bad[k++] = i;
        char list[800];
        list_layers(g, bad, k, NULL, list, sizeof list);
        size_t cap = strlen(list) + 64;
        *warning = synap_xmalloc(cap);
        snprintf(*warning, cap, "%zu layer%s run%s on cpu: %s", k, k == 1 ? "" : "s",
                 k == 1 ? "s" : "", list);
    }

    /* 3. greedy subgraphs over the dataflow: consumers of each node, and
     * how many producer edges each node still waits for */
    size_t nt = g->ntensors;
    size_t *producer = synap_xmalloc((nt + 1) * sizeof *producer);
    for (size_t i = 0; i < nt; i++)
        producer[i] = SIZE_MAX;
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].noutputs; j++)
            if (g->nodes[i].outputs[j] < nt) producer[g->nodes[i].outputs[j]] = i;
    indeg = synap_xcalloc(nn + 1, sizeof *indeg);
    cons_start = synap_xcalloc(nn + 2, sizeof *cons_start);
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            uint32_t tt = g->nodes[i].inputs[j];
            if (tt < nt && producer[tt] != SIZE_MAX) {
                indeg[i]++;
                cons_start[producer[tt] + 1]++;
            }
        }
    for (size_t i = 0; i < nn; i++)
        cons_start[i + 1] += cons_start[i];
    size_t nedges = cons_start[nn];
    cons = synap_xmalloc((nedges + 1) * sizeof *cons);
    size_t *fill = synap_xcalloc(nn + 1, sizeof *fill);
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            uint32_t tt = g->nodes[i].inputs[j];
            if (tt < nt && producer[tt] != SIZE_MAX) {
                size_t p = producer[tt];
                cons[cons_start[p] + fill[p]++] = i;
            }
        }
    free(fill);
    free(producer);

    order = synap_xmalloc((nn + 1) * sizeof *order);
    sub = synap_xmalloc((nn + 1) * sizeof *sub);
    done = synap_xcalloc(nn + 1, sizeof *done);
    ready = synap_xcalloc(nn + 1, sizeof *ready);
    for (size_t i = 0; i < nn; i++)
        ready[i] = indeg[i] == 0;
    int cur = -1;
    size_t nsub = 0;
    /* O(n^2) scans keep "lowest index first" obvious; fine for the few
     * thousand layers of the models an NPU runs */
    for (size_t k = 0; k < nn; k++) {
        size_t pick = SIZE_MAX, first = SIZE_MAX;
        for (size_t i = 0; i < nn; i++) {
            if (!ready[i]) continue;
            if (first == SIZE_MAX) first = i;
            if (dele[i] == cur) {
                pick = i;
                break;
            }
        }
        if (first == SIZE_MAX) { /* cannot happen in a verified (acyclic) graph */
            synap_errf(err, "the graph has a cycle");
            goto out;
        }
        if (pick == SIZE_MAX) {
            pick = first;
            cur = dele[pick];
            nsub++;
        }
        ready[pick] = false;
        done[pick] = true;
        order[k] = pick;
        sub[k] = nsub - 1;
        for (size_t e = cons_start[pick]; e < cons_start[pick + 1]; e++)
            if (--indeg[cons[e]] == 0) ready[cons[e]] = true;
    }

    /* 4. write: delegate names live in the graph's arena */
    const char *names[SYNAP_MAX_DELEGATES];
    for (size_t d = 0; d < t->ndelegates; d++)
        names[d] = synap_arena_strdup(g->arena, t->delegates[d]);
    struct synap_node *nodes = synap_xmalloc((nn + 1) * sizeof *nodes);
    for (size_t k = 0; k < nn; k++) {
        nodes[k] = g->nodes[order[k]];
        nodes[k].delegate = names[dele[order[k]]];
        nodes[k].subgraph = (int32_t)sub[k];
    }
    if (nn) memcpy(g->nodes, nodes, nn * sizeof *nodes);
    free(nodes);
    rc = 0;
out:
    if (rc < 0 && warning) {
        free(*warning);
        *warning = NULL;
    }
    free(want);
    free(dele);
    free(sel);
    free(bad);
    free(bad_on);
    free(order);
    free(sub);
    free(indeg);
    free(cons_start);
    free(cons);
    free(done);
    free(ready);
    return rc;
}

/* "PATTERN=DELEGATE" (split at the last '=') */
static int split_rule(const char *s, struct synap_arena *a, struct synap_partition_rule *r,
                      size_t idx, struct synap_err *err)
{
    const char *eq = strrchr(s, '=');
    if (!eq || eq == s || !eq[1])
        return synap_errf(err, "delegate_map[%zu]: '%s': expected PATTERN=DELEGATE", idx, s);
    char *p = synap_arena_memdup(a, s, (size_t)(eq - s) + 1);
    p[eq - s] = 0;
    r->pattern = p;
    r->delegate = eq + 1;
    return 0;
}

static int read_pair(const struct synap_json *v, const char *key, size_t idx, struct synap_arena *a,
                     struct synap_partition_rule *r, struct synap_err *err)
{
    if (synap_json_is_string(v)) return split_rule(v->s, a, r, idx, err);
    const char *p = synap_json_as_string(synap_json_index(v, 0));
    const char *d = synap_json_as_string(synap_json_index(v, 1));
    if (!synap_json_is_array(v) || v->n != 2 || !p || !d)
        return synap_errf(err, "%s[%zu]: expected [\"PATTERN\", \"DELEGATE\"]", key, idx);
    r->pattern = p;
    r->delegate = d;
    return 0;
}

int synap_partition_opts_from_json(const struct synap_json *opts, struct synap_arena *a,
                                   struct synap_partition_opts *o, struct synap_err *err)
{
    memset(o, 0, sizeof *o);
    if (!opts || synap_json_is_null(opts)) return 0;
    if (!synap_json_is_object(opts)) return synap_errf(err, "options: expected an object");
    for (size_t k = 0; k < opts->n; k++)
        if (strcmp(opts->keys[k], "target") && strcmp(opts->keys[k], "delegate") &&
            strcmp(opts->keys[k], "delegate_map"))
            return synap_errf(err,
                              "unknown option '%s'; valid options: delegate, delegate_map, target",
                              opts->keys[k]);
    const struct synap_json *target = synap_json_get(opts, "target");
    if (target && !synap_json_is_string(target))
        return synap_errf(err, "target: expected a string");
    o->target = synap_json_as_string(target);
    const struct synap_json *del = synap_json_get(opts, "delegate");
    const struct synap_json *map = synap_json_get(opts, "delegate_map");
    if (map && !synap_json_is_array(map))
        return synap_errf(err, "delegate_map: expected a list of PATTERN=DELEGATE");
    if (synap_json_is_object(del))
        return synap_errf(err, "delegate: a map must be given as a list of [PATTERN, DELEGATE] "
                               "pairs (JSON objects lose their order)");
    if (del && !synap_json_is_string(del) && !synap_json_is_array(del))
        return synap_errf(err, "delegate: expected a delegate name or a list of "
                               "[PATTERN, DELEGATE] pairs");
    size_t nlist = synap_json_is_array(del) ? del->n : 0;
    size_t nmap = synap_json_length(map);
    struct synap_partition_rule *rules = synap_arena_alloc(a, (nlist + nmap + 1) * sizeof *rules);
    if (synap_json_is_string(del)) o->delegate = del->s;
    for (size_t i = 0; i < nlist; i++)
        if (read_pair(del->items[i], "delegate", i, a, &rules[i], err) < 0) return -1;
    for (size_t i = 0; i < nmap; i++)
        if (read_pair(map->items[i], "delegate_map", i, a, &rules[nlist + i], err) < 0) return -1;
    o->rules = rules;
    o->nrules = nlist + nmap;
    return 0;
}
