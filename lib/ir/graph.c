/* Graph building, attributes, verification, topological sort and pruning. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

int64_t synap_shape_nelem(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] && n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

const char *synap_shape_str(int rank, const int64_t *dims, char *buf, size_t n)
{
    size_t off = 0;
    if (n == 0) return buf;
    buf[0] = 0;
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (int i = 0; i < rank && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

struct synap_graph *synap_graph_new(void)
{
    struct synap_graph *g = synap_xcalloc(1, sizeof *g);
    g->arena = synap_arena_new();
    return g;
}

void synap_graph_free(struct synap_graph *g)
{
    if (!g) return;
    free(g->tensors);
    free(g->nodes);
    synap_file_close(&g->file);
    synap_arena_free(g->arena);
    free(g);
}

uint32_t synap_graph_add_tensor(struct synap_graph *g, const char *name, enum synap_dtype dtype,
                                int rank, const int64_t *dims)
{
    if (g->ntensors == g->cap_tensors) {
        g->cap_tensors = g->cap_tensors ? g->cap_tensors * 2 : 64;
        g->tensors = synap_xrealloc(g->tensors, g->cap_tensors * sizeof *g->tensors);
    }
    struct synap_tensor *t = &g->tensors[g->ntensors];
    memset(t, 0, sizeof *t);
    t->name = synap_arena_strdup(g->arena, name ? name : "");
    t->dtype = dtype;
    if (rank < 0) rank = 0;
    if (rank > SYNAP_MAX_RANK) rank = SYNAP_MAX_RANK;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    return (uint32_t)g->ntensors++;
}

uint32_t synap_graph_add_const(struct synap_graph *g, const char *name, enum synap_dtype dtype,
                               int rank, const int64_t *dims, const void *data, size_t nbytes)
{
    uint32_t i = synap_graph_add_tensor(g, name, dtype, rank, dims);
    g->tensors[i].data = synap_arena_memdup(g->arena, data, nbytes);
    g->tensors[i].nbytes = nbytes;
    return i;
}

uint32_t synap_graph_find_tensor(const struct synap_graph *g, const char *name)
{
    for (size_t i = 0; i < g->ntensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return (uint32_t)i;
    return SYNAP_NONE;
}

struct synap_node *synap_graph_add_node(struct synap_graph *g, const char *name, enum synap_op op,
                                        size_t nin, size_t nout)
{
    if (g->nnodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 64;
        g->nodes = synap_xrealloc(g->nodes, g->cap_nodes * sizeof *g->nodes);
    }
    struct synap_node *n = &g->nodes[g->nnodes++];
    memset(n, 0, sizeof *n);
    n->name = synap_arena_strdup(g->arena, name ? name : "");
    n->op = op;
    n->ninputs = nin;
    n->noutputs = nout;
    n->inputs = synap_arena_alloc(g->arena, (nin ? nin : 1) * sizeof *n->inputs);
    n->outputs = synap_arena_alloc(g->arena, (nout ? nout : 1) * sizeof *n->outputs);
    for (size_t i = 0; i < nin; i++)
        n->inputs[i] = SYNAP_NONE;
    for (size_t i = 0; i < nout; i++)
        n->outputs[i] = SYNAP_NONE;
    n->subgraph = -1;
    return n;
}

/* ---- attributes ------------------------------------------------------------ */
static struct synap_attr *attr_slot(struct synap_graph *g, struct synap_node *n, const char *name)
{
    size_t lo = 0, hi = n->nattrs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(n->attrs[mid].name, name);
        if (c == 0) {
            memset(&n->attrs[mid], 0, sizeof n->attrs[mid]);
            n->attrs[mid].name = synap_arena_strdup(g->arena, name);
            return &n->attrs[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* arrays live in the arena: grow by copying (attribute lists are short) */
    struct synap_attr *a = synap_arena_alloc(g->arena, (n->nattrs + 1) * sizeof *a);
    if (lo) memcpy(a, n->attrs, lo * sizeof *a);
    if (n->nattrs > lo) memcpy(a + lo + 1, n->attrs + lo, (n->nattrs - lo) * sizeof *a);
    n->attrs = a;
    n->nattrs++;
    a[lo].name = synap_arena_strdup(g->arena, name);
    return &a[lo];
}

void synap_node_set_int(struct synap_graph *g, struct synap_node *n, const char *name, int64_t v)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_INT;
    a->i = v;
}

void synap_node_set_float(struct synap_graph *g, struct synap_node *n, const char *name, float v)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_FLOAT;
    a->f = v;
}

void synap_node_set_string(struct synap_graph *g, struct synap_node *n, const char *name,
                           const char *v)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_STRING;
    a->s = synap_arena_strdup(g->arena, v);
}

void synap_node_set_ints(struct synap_graph *g, struct synap_node *n, const char *name,
                         const int64_t *v, size_t count)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_INTS;
    a->n = count;
    a->ints = synap_arena_memdup(g->arena, v, count * sizeof *v);
}

void synap_node_set_floats(struct synap_graph *g, struct synap_node *n, const char *name,
                           const float *v, size_t count)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_FLOATS;
    a->n = count;
    a->floats = synap_arena_memdup(g->arena, v, count * sizeof *v);
}

void synap_node_set_strings(struct synap_graph *g, struct synap_node *n, const char *name,
                            const char *const *v, size_t count)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_STRINGS;
    a->n = count;
    const char **s = synap_arena_alloc(g->arena, (count ? count : 1) * sizeof *s);
    for (size_t i = 0; i < count; i++)
        s[i] = synap_arena_strdup(g->arena, v[i]);
    a->strings = s;
}

void synap_node_set_tensor(struct synap_graph *g, struct synap_node *n, const char *name,
                           uint32_t tensor)
{
    struct synap_attr *a = attr_slot(g, n, name);
    a->type = SYNAP_ATTR_TENSOR;
    a->i = tensor;
}

void synap_node_remove_attr(struct synap_node *n, const char *name)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].name, name)) {
            memmove(&n->attrs[i], &n->attrs[i + 1], (n->nattrs - i - 1) * sizeof *n->attrs);
            n->nattrs--;
            return;
        }
}

const struct synap_attr *synap_node_attr(const struct synap_node *n, const char *name)
{
    size_t lo = 0, hi = n->nattrs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(n->attrs[mid].name, name);
        if (c == 0) return &n->attrs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int64_t synap_attr_int(const struct synap_node *n, const char *name, int64_t def)
{
    const struct synap_attr *a = synap_node_attr(n, name);
    if (!a) return def;
    if (a->type == SYNAP_ATTR_INT) return a->i;
    if (a->type == SYNAP_ATTR_FLOAT) return (int64_t)a->f;
    return def;
}

float synap_attr_float(const struct synap_node *n, const char *name, float def)
{
    const struct synap_attr *a = synap_node_attr(n, name);
    if (!a) return def;
    if (a->type == SYNAP_ATTR_FLOAT) return a->f;
    if (a->type == SYNAP_ATTR_INT) return (float)a->i;
    return def;
}

const char *synap_attr_string(const struct synap_node *n, const char *name, const char *def)
{
    const struct synap_attr *a = synap_node_attr(n, name);
    return a && a->type == SYNAP_ATTR_STRING ? a->s : def;
}

size_t synap_attr_ints(const struct synap_node *n, const char *name, const int64_t **v)
{
    const struct synap_attr *a = synap_node_attr(n, name);
    if (!a || a->type != SYNAP_ATTR_INTS) {
        *v = NULL;
        return 0;
    }
    *v = a->ints;
    return a->n;
}

size_t synap_attr_floats(const struct synap_node *n, const char *name, const float **v)
{
    const struct synap_attr *a = synap_node_attr(n, name);
    if (!a || a->type != SYNAP_ATTR_FLOATS) {
        *v = NULL;
        return 0;
    }
    *v = a->floats;
    return a->n;
}

/* ---- verification ---------------------------------------------------------- */
int synap_graph_verify(const struct synap_graph *g, const char *what, struct synap_err *err)
{
    const char *w = what ? what : "graph";
    struct synap_esc en, et; /* names from files, made safe for one-line messages */
    if (g->ntensors > UINT32_MAX - 1) return synap_errf(err, "%s: too many tensors", w);
    for (size_t i = 0; i < g->ntensors; i++) {
        const struct synap_tensor *t = &g->tensors[i];
        if (!t->name) return synap_errf(err, "%s: tensor %zu has no name", w, i);
        if (t->dtype <= SYNAP_DTYPE_UNDEFINED || t->dtype >= SYNAP_DTYPE_COUNT)
            return synap_errf(err, "%s: tensor %zu '%s': invalid dtype", w, i,
                              synap_esc(&et, t->name));
        if (t->rank < 0 || t->rank > SYNAP_MAX_RANK)
            return synap_errf(err, "%s: tensor %zu '%s': rank %d outside 0..%d", w, i,
                              synap_esc(&et, t->name), t->rank, SYNAP_MAX_RANK);
        int64_t ne = synap_shape_nelem(t->rank, t->dims);
        if (ne < 0)
            return synap_errf(err,
                              "%s: tensor %zu '%s': negative dimension or element count "
                              "overflows",
                              w, i, synap_esc(&et, t->name));
        size_t nbytes;
        if ((uint64_t)ne > SIZE_MAX ||
            synap_mul_overflow((size_t)ne, synap_dtype_size(t->dtype), &nbytes))
            return synap_errf(err, "%s: tensor %zu '%s': byte size overflows", w, i,
                              synap_esc(&et, t->name));
        if (t->data && t->nbytes != nbytes)
            return synap_errf(err, "%s: tensor %zu '%s': constant has %zu bytes, shape needs %zu",
                              w, i, synap_esc(&et, t->name), t->nbytes, nbytes);
        if (t->quant) {
            const struct synap_quant *q = t->quant;
            if (q->nparams == 0 || !q->scale || !q->zero_point)
                return synap_errf(err, "%s: tensor %zu '%s': quantization without parameters", w, i,
                                  t->name);
            if (q->axis >= 0 && (q->axis >= t->rank || (int64_t)q->nparams != t->dims[q->axis]))
                return synap_errf(err,
                                  "%s: tensor %zu '%s': %zu quantization parameters do not "
                                  "match axis %d",
                                  w, i, synap_esc(&et, t->name), q->nparams, q->axis);
            if (q->axis < 0 && q->nparams != 1)
                return synap_errf(err,
                                  "%s: tensor %zu '%s': per-tensor quantization needs 1 "
                                  "parameter, got %zu",
                                  w, i, synap_esc(&et, t->name), q->nparams);
        }
    }
    /* produced[t]: 1 graph input or constant, 2 produced by a node seen so far */
    unsigned char *avail = synap_xcalloc(g->ntensors ? g->ntensors : 1, 1);
    int rc = -1;
    for (size_t i = 0; i < g->ninputs; i++) {
        if (g->inputs[i] >= g->ntensors) {
            synap_errf(err, "%s: graph input %zu: tensor index %u out of range", w, i,
                       g->inputs[i]);
            goto out;
        }
        avail[g->inputs[i]] = 1;
    }
    for (size_t i = 0; i < g->ntensors; i++)
        if (g->tensors[i].data) avail[i] = 1;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        if ((unsigned)n->op >= SYNAP_OP_COUNT) {
            synap_errf(err, "%s: node %zu: invalid op", w, i);
            goto out;
        }
        const struct synap_op_info *oi = &synap_op_table[n->op];
        const char *nm = synap_esc(&en, n->name ? n->name : "");
        if (n->ninputs < oi->min_in || n->ninputs > oi->max_in) {
            synap_errf(err, "%s: node '%s' (%s): %zu inputs, expected %d..%d", w, nm, oi->name,
                       n->ninputs, oi->min_in, oi->max_in);
            goto out;
        }
        if (n->noutputs < oi->min_out || n->noutputs > oi->max_out) {
            synap_errf(err, "%s: node '%s' (%s): %zu outputs, expected %d..%d", w, nm, oi->name,
                       n->noutputs, oi->min_out, oi->max_out);
            goto out;
        }
        for (size_t j = 0; j < n->ninputs; j++) {
            uint32_t t = n->inputs[j];
            if (t == SYNAP_NONE) continue;
            if (t >= g->ntensors) {
                synap_errf(err, "%s: node '%s' (%s): input %zu: tensor index %u out of range", w,
                           nm, oi->name, j, t);
                goto out;
            }
            if (!avail[t]) {
                synap_errf(err,
                           "%s: node '%s' (%s): input %zu '%s' is not produced before the "
                           "node (graph not topologically sorted, or a cycle)",
                           w, nm, oi->name, j, synap_esc(&et, g->tensors[t].name));
                goto out;
            }
        }
        for (size_t j = 0; j < n->noutputs; j++) {
            uint32_t t = n->outputs[j];
            if (t == SYNAP_NONE) continue;
            if (t >= g->ntensors) {
                synap_errf(err, "%s: node '%s' (%s): output %zu: tensor index %u out of range", w,
                           nm, oi->name, j, t);
                goto out;
            }
            if (avail[t]) {
                synap_errf(err,
                           "%s: node '%s' (%s): output %zu '%s' is already produced "
                           "elsewhere (or a graph input / constant)",
                           w, nm, oi->name, j, synap_esc(&et, g->tensors[t].name));
                goto out;
            }
            avail[t] = 2;
        }
        for (size_t j = 0; j < n->nattrs; j++) {
            const struct synap_attr *a = &n->attrs[j];
            if (!a->name || (j && strcmp(n->attrs[j - 1].name, a->name) >= 0)) {
                synap_errf(err, "%s: node '%s' (%s): attributes not sorted or duplicated", w, nm,
                           oi->name);
                goto out;
            }
            if (a->type == SYNAP_ATTR_TENSOR &&
                (a->i < 0 || (uint64_t)a->i >= g->ntensors || !g->tensors[a->i].data)) {
                synap_errf(err, "%s: node '%s' (%s): attribute '%s': not a constant tensor", w, nm,
                           oi->name, a->name);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < g->noutputs; i++) {
        if (g->outputs[i] >= g->ntensors) {
            synap_errf(err, "%s: graph output %zu: tensor index %u out of range", w, i,
                       g->outputs[i]);
            goto out;
        }
        if (!avail[g->outputs[i]]) {
            synap_errf(err, "%s: graph output '%s' is produced by no node", w,
                       synap_esc(&et, g->tensors[g->outputs[i]].name));
            goto out;
        }
    }
    rc = 0;
out:
    free(avail);
    return rc;
}

/* ---- topological sort (Kahn, smallest original index first) ------------- */
int synap_graph_toposort(struct synap_graph *g, struct synap_err *err)
{
    size_t nn = g->nnodes, nt = g->ntensors;
    if (nn == 0) return 0;
    uint32_t *producer = synap_xmalloc((nt ? nt : 1) * sizeof *producer);
    for (size_t t = 0; t < nt; t++)
        producer[t] = SYNAP_NONE;
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].noutputs; j++) {
            uint32_t t = g->nodes[i].outputs[j];
            if (t < nt) producer[t] = (uint32_t)i;
        }
    size_t *indeg = synap_xcalloc(nn, sizeof *indeg);
    /* consumer lists as CSR */
    size_t *cnt = synap_xcalloc(nn + 1, sizeof *cnt);
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            uint32_t t = g->nodes[i].inputs[j];
            if (t < nt && producer[t] != SYNAP_NONE && !g->tensors[t].data) {
                indeg[i]++;
                cnt[producer[t] + 1]++;
            }
        }
    for (size_t i = 0; i < nn; i++)
        cnt[i + 1] += cnt[i];
    size_t *cons = synap_xmalloc((cnt[nn] ? cnt[nn] : 1) * sizeof *cons);
    size_t *fill = synap_xcalloc(nn, sizeof *fill);
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            uint32_t t = g->nodes[i].inputs[j];
            if (t < nt && producer[t] != SYNAP_NONE && !g->tensors[t].data) {
                size_t p = producer[t];
                cons[cnt[p] + fill[p]++] = i;
            }
        }
    size_t *order = synap_xmalloc(nn * sizeof *order);
    size_t no = synap_topo_order(nn, indeg, cnt, cons, order);
    int rc = 0;
    if (no != nn) {
        size_t bad = 0;
        while (bad < nn && !indeg[bad])
            bad++;
        struct synap_esc e;
        rc = synap_errf(err, "graph has a cycle through node '%s' (%s)",
                        synap_esc(&e, g->nodes[bad].name), synap_op_name(g->nodes[bad].op));
    } else {
        struct synap_node *sorted = synap_xmalloc(nn * sizeof *sorted);
        for (size_t i = 0; i < nn; i++)
            sorted[i] = g->nodes[order[i]];
        memcpy(g->nodes, sorted, nn * sizeof *sorted);
        free(sorted);
    }
    free(producer);
    free(indeg);
    free(cnt);
    free(cons);
    free(fill);
    free(order);
    return rc;
}

/* ---- dead code elimination ----------------------------------------------- */
void synap_graph_prune_dead(struct synap_graph *g)
{
    size_t nt = g->ntensors, nn = g->nnodes;
    unsigned char *needed = synap_xcalloc(nt ? nt : 1, 1);
    unsigned char *keep = synap_xcalloc(nn ? nn : 1, 1);
    for (size_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < nt) needed[g->outputs[i]] = 1;
    /* walk backwards: nodes are topologically sorted */
    for (size_t i = nn; i-- > 0;) {
        const struct synap_node *n = &g->nodes[i];
        int useful = 0, all_const = 1;
        for (size_t j = 0; j < n->noutputs; j++) {
            uint32_t t = n->outputs[j];
            if (t == SYNAP_NONE || t >= nt) continue;
            if (needed[t]) useful = 1;
            if (!g->tensors[t].data) all_const = 0;
        }
        if (!useful || all_const) continue;
        keep[i] = 1;
        for (size_t j = 0; j < n->ninputs; j++)
            if (n->inputs[j] < nt) needed[n->inputs[j]] = 1;
        for (size_t j = 0; j < n->nattrs; j++)
            if (n->attrs[j].type == SYNAP_ATTR_TENSOR && (uint64_t)n->attrs[j].i < nt)
                needed[n->attrs[j].i] = 1;
    }
    for (size_t i = 0; i < g->ninputs; i++)
        if (g->inputs[i] < nt) needed[g->inputs[i]] = 1;
    /* outputs of kept nodes stay (even if unused: the node defines them) */
    for (size_t i = 0; i < nn; i++)
        if (keep[i])
            for (size_t j = 0; j < g->nodes[i].noutputs; j++)
                if (g->nodes[i].outputs[j] < nt) needed[g->nodes[i].outputs[j]] = 1;
    uint32_t *remap = synap_xmalloc((nt ? nt : 1) * sizeof *remap);
    size_t w = 0;
    for (size_t t = 0; t < nt; t++) {
        if (needed[t]) {
            remap[t] = (uint32_t)w;
            g->tensors[w++] = g->tensors[t];
        } else {
            remap[t] = SYNAP_NONE;
        }
    }
    g->ntensors = w;
    size_t wn = 0;
    for (size_t i = 0; i < nn; i++) {
        if (!keep[i]) continue;
        struct synap_node n = g->nodes[i];
        for (size_t j = 0; j < n.ninputs; j++)
            if (n.inputs[j] < nt) n.inputs[j] = remap[n.inputs[j]];
        for (size_t j = 0; j < n.noutputs; j++)
            if (n.outputs[j] < nt) n.outputs[j] = remap[n.outputs[j]];
        for (size_t j = 0; j < n.nattrs; j++)
            if (n.attrs[j].type == SYNAP_ATTR_TENSOR && (uint64_t)n.attrs[j].i < nt)
                n.attrs[j].i = remap[n.attrs[j].i];
        g->nodes[wn++] = n;
    }
    g->nnodes = wn;
    for (size_t i = 0; i < g->ninputs; i++)
        if (g->inputs[i] < nt) g->inputs[i] = remap[g->inputs[i]];
    for (size_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < nt) g->outputs[i] = remap[g->outputs[i]];
    free(needed);
    free(keep);
    free(remap);
}

void synap_uses_build(const struct synap_graph *g, struct synap_uses *u)
{
    size_t nt = g->ntensors ? g->ntensors : 1;
    u->producer = synap_xmalloc(nt * sizeof *u->producer);
    u->consumer = synap_xmalloc(nt * sizeof *u->consumer);
    u->nuses = synap_xcalloc(nt, sizeof *u->nuses);
    u->is_output = synap_xcalloc(nt, 1);
    for (size_t t = 0; t < g->ntensors; t++)
        u->producer[t] = u->consumer[t] = -1;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->noutputs; j++)
            if (n->outputs[j] < g->ntensors) u->producer[n->outputs[j]] = (int64_t)i;
        for (size_t j = 0; j < n->ninputs; j++)
            if (n->inputs[j] < g->ntensors) {
                u->nuses[n->inputs[j]]++;
                u->consumer[n->inputs[j]] = (int64_t)i;
            }
    }
    for (size_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < g->ntensors) u->is_output[g->outputs[i]] = 1;
}

void synap_uses_free(struct synap_uses *u)
{
    free(u->producer);
    free(u->consumer);
    free(u->nuses);
    free(u->is_output);
    memset(u, 0, sizeof *u);
}

const float *synap_const_f32(const struct synap_graph *g, uint32_t t, int64_t nelem, int64_t *count)
{
    if (t >= g->ntensors) return NULL;
    const struct synap_tensor *ts = &g->tensors[t];
    if (!ts->data || ts->dtype != SYNAP_DTYPE_FLOAT32 || ts->quant) return NULL;
    int64_t ne = synap_shape_nelem(ts->rank, ts->dims);
    if (ne < 0 || (nelem >= 0 && ne != nelem) || ts->nbytes != (size_t)ne * 4) return NULL;
    if (count) *count = ne;
    return ts->data;
}
