/* Loading and running model.synap (layout: runtime/bundle.h, lib/pack/pack.c).
 * Everything read from the archive is validated before use: a damaged archive,
 * bundle.json, model.json, IR or codegen section is an error, never a crash. */
#include "runtime/bundle.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "util/json.h"
#include "util/zip.h"

/* A tensor's source: output `out` of subgraph `sub`, or network input `out`
 * when sub == -1. */
struct link {
    int64_t sub, out;
};

struct sub {
    const char *model; /* entry names, borrowed from the JSON arena */
    const char *meta;
    const char *delegate;
    struct synap_graph *g;
    void *copy; /* aligned copy of the IR entry when the archive did not align it */
    struct link *in;
    size_t nin;
    int level;
    /* codegen's memory plan: per tensor offset or -1; NULL without one */
    int64_t *offsets;
    size_t arena_nbytes;
    struct synap_plan *p;
    /* profiling: time of each node in the last run */
    double *node_us;
    double t_last;
    size_t last_node;
    struct synap_err err; /* of the last run (threads report here) */
};

struct layer_nodes {
    size_t sub;
    size_t *nodes;
    size_t nnodes;
};

struct synap_bundle {
    char *what;
    struct synap_file file; /* when opened from a path */
    struct synap_zip zip;
    struct synap_arena *arena; /* the JSON trees */
    struct sub *subs;
    size_t nsubs;
    struct synap_value *inputs; /* network inputs, own buffers */
    const char **input_names;
    size_t ninputs;
    struct link *outs;
    struct synap_value *out_vals;
    const char **output_names;
    size_t noutputs;
    struct synap_bundle_layer *layers;
    struct layer_nodes *layer_nodes;
    size_t nlayers;
    int *order; /* subgraph indices sorted by level, then index */
    int nlevels;
    bool prepared, profile;
};

bool synap_bundle_is_zip(const void *data, size_t n)
{
    return n >= 4 && !memcmp(data, "PK\003\004", 4);
}

size_t synap_bundle_nsubgraphs(const struct synap_bundle *b) { return b->nsubs; }
size_t synap_bundle_ninputs(const struct synap_bundle *b) { return b->ninputs; }
size_t synap_bundle_noutputs(const struct synap_bundle *b) { return b->noutputs; }

const char *synap_bundle_subgraph_delegate(const struct synap_bundle *b, size_t i)
{
    return i < b->nsubs ? b->subs[i].delegate : NULL;
}

const struct synap_graph *synap_bundle_subgraph_graph(const struct synap_bundle *b, size_t i)
{
    return i < b->nsubs ? b->subs[i].g : NULL;
}

const char *synap_bundle_input_name(const struct synap_bundle *b, size_t i)
{
    return i < b->ninputs ? b->input_names[i] : NULL;
}

const char *synap_bundle_output_name(const struct synap_bundle *b, size_t i)
{
    return i < b->noutputs ? b->output_names[i] : NULL;
}

struct synap_value *synap_bundle_input(struct synap_bundle *b, size_t i)
{
    return i < b->ninputs ? &b->inputs[i] : NULL;
}

const struct synap_value *synap_bundle_output(const struct synap_bundle *b, size_t i)
{
    return i < b->noutputs ? &b->out_vals[i] : NULL;
}

const struct synap_bundle_layer *synap_bundle_layers(const struct synap_bundle *b, size_t *n)
{
    *n = b->nlayers;
    return b->layers;
}

void synap_bundle_free(struct synap_bundle *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nsubs; i++) {
        struct sub *s = &b->subs[i];
        synap_plan_free(s->p);
        synap_graph_free(s->g);
        free(s->copy);
        free(s->in);
        free(s->offsets);
        free(s->node_us);
    }
    free(b->subs);
    for (size_t i = 0; i < b->ninputs; i++) free(b->inputs[i].data);
    free(b->inputs);
    free(b->input_names);
    free(b->outs);
    free(b->out_vals);
    free(b->output_names);
    for (size_t i = 0; i < b->nlayers; i++) free(b->layer_nodes[i].nodes);
    free(b->layers);
    free(b->layer_nodes);
    free(b->order);
    synap_arena_free(b->arena);
    synap_zip_free(&b->zip);
    synap_file_close(&b->file);
    free(b->what);
    free(b);
}

static size_t value_nbytes(const struct synap_value *v)
{
    return (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype);
}

static void tensor_value(const struct synap_tensor *t, struct synap_value *v)
{
    memset(v, 0, sizeof *v);
    v->dtype = t->dtype;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof v->dims);
}

static bool same_type(const struct synap_tensor *a, const struct synap_tensor *b)
{
    return a->dtype == b->dtype && a->rank == b->rank &&
           !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

/* ---- bundle.json --------------------------------------------------------- */

/* {"subgraph": k, "out": j} with -1 <= k, 0 <= j (ranges checked later) */
static int parse_link(const struct synap_json *v, const char *where, struct link *l,
                      struct synap_err *err)
{
    if (!synap_json_is_object(v))
        return synap_errf(err, "bundle.json: %s: expected an object {\"subgraph\", \"out\"}",
                          where);
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], "subgraph") && strcmp(v->keys[i], "out"))
            return synap_errf(err, "bundle.json: %s: unknown key '%s'", where, v->keys[i]);
    if (synap_json_as_int64(synap_json_get(v, "subgraph"), &l->sub) < 0 || l->sub < -1)
        return synap_errf(err, "bundle.json: %s: \"subgraph\" must be an integer >= -1", where);
    if (synap_json_as_int64(synap_json_get(v, "out"), &l->out) < 0 || l->out < 0)
        return synap_errf(err, "bundle.json: %s: \"out\" must be an integer >= 0", where);
    return 0;
}

static int parse_links(const struct synap_json *arr, const char *where, struct link **out,
                       size_t *n, struct synap_err *err)
{
    if (!synap_json_is_array(arr))
        return synap_errf(err, "bundle.json: %s: expected an array", where);
    *n = arr->n;
    *out = synap_xcalloc(arr->n ? arr->n : 1, sizeof **out);
    for (size_t i = 0; i < arr->n; i++) {
        char w[96];
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        if (parse_link(arr->items[i], w, &(*out)[i], err) < 0) return -1;
    }
    return 0;
}

static const struct synap_zip_entry *find_entry(const struct synap_bundle *b, const char *name,
                                                const char *where, struct synap_err *err)
{
    const struct synap_zip_entry *e = synap_zip_find(&b->zip, name);
    if (!e) synap_errf(err, "bundle.json: %s: no entry '%s' in the archive", where, name);
    return e;
}

/* ---- the "codegen" section (lib/codegen/codegen.h) ---------------------------
 * The fused layers (for profiling) and the memory plan of the subgraph; the
 * reader validates every index, offset and overlap against the graph. */

static void add_layer(struct synap_bundle *b, const struct synap_bundle_layer *l, size_t sub,
                      size_t *nodes, size_t nnodes)
{
    b->layers = synap_xrealloc(b->layers, (b->nlayers + 1) * sizeof *b->layers);
    b->layer_nodes = synap_xrealloc(b->layer_nodes, (b->nlayers + 1) * sizeof *b->layer_nodes);
    b->layers[b->nlayers] = *l;
    b->layers[b->nlayers].id = (int64_t)b->nlayers; /* numbered across the subgraphs */
    b->layer_nodes[b->nlayers] = (struct layer_nodes){sub, nodes, nnodes};
    b->nlayers++;
}

/* whole_graph: an unsplit IR (not from an archive): its memory plan is used
 * only when it has a single subgraph (each subgraph has its own arena). */
static int read_codegen(struct synap_bundle *b, size_t si, const char *what, bool whole_graph,
                        struct synap_err *err)
{
    struct sub *s = &b->subs[si];
    const struct synap_graph *g = s->g;
    struct synap_codegen_info info;
    int have = synap_codegen_section_read(g, &info, err);
    if (have < 0) {
        synap_err_prefix(err, "%s", what);
        return -1;
    }
    if (!have) {
        /* no codegen: one layer per node, no memory plan */
        for (size_t i = 0; i < g->nnodes; i++) {
            const struct synap_node *n = &g->nodes[i];
            char type[96];
            snprintf(type, sizeof type, "%sLayer", synap_op_name(n->op));
            struct synap_bundle_layer l = {
                .name = n->name, .type = synap_arena_strdup(b->arena, type),
                .subgraph = (int64_t)si,
            };
            size_t *nodes = synap_xmalloc(sizeof *nodes);
            nodes[0] = i;
            add_layer(b, &l, si, nodes, 1);
        }
        return 0;
    }
    int rc = -1;
    if (info.nsubgraphs > 1 && !whole_graph) {
        synap_errf(err, "%s: codegen section: %zu subgraphs in one subgraph's IR", what,
                   info.nsubgraphs);
        goto out;
    }
    for (size_t i = 0; i < info.nlayers; i++) {
        const struct synap_codegen_layer *cl = &info.layers[i];
        struct synap_bundle_layer l = {
            .name = synap_arena_strdup(b->arena, cl->name),
            .type = synap_arena_strdup(b->arena, cl->type),
            .subgraph = (int64_t)si,
            .macs = (int64_t)cl->macs, .bytes_read = (int64_t)cl->bytes_read,
            .bytes_written = (int64_t)cl->bytes_written, .cycles = (int64_t)cl->cycles,
        };
        size_t *nodes = synap_xmalloc((cl->nnodes ? cl->nnodes : 1) * sizeof *nodes);
        for (size_t k = 0; k < cl->nnodes; k++) nodes[k] = cl->nodes[k];
        add_layer(b, &l, si, nodes, cl->nnodes);
    }
    if (info.nsubgraphs == 1) {
        s->offsets = synap_xmalloc((g->ntensors ? g->ntensors : 1) * sizeof *s->offsets);
        if (synap_codegen_arena_offsets(&info, 0, g->ntensors, s->offsets, &s->arena_nbytes,
                                        err) < 0) {
            synap_err_prefix(err, "%s", what);
            goto out;
        }
    }
    rc = 0;
out:
    synap_codegen_info_free(&info);
    return rc;
}

/* ---- open ---------------------------------------------------------------- */

static int open_sub(struct synap_bundle *b, size_t i, const struct synap_json *gj,
                    struct synap_err *err)
{
    struct sub *s = &b->subs[i];
    char where[64], what[512];
    snprintf(where, sizeof where, "graph[%zu]", i);
    if (!synap_json_is_object(gj))
        return synap_errf(err, "bundle.json: %s: expected an object", where);
    for (size_t k = 0; k < gj->n; k++)
        if (strcmp(gj->keys[k], "inputs") && strcmp(gj->keys[k], "model") &&
            strcmp(gj->keys[k], "meta"))
            return synap_errf(err, "bundle.json: %s: unknown key '%s'", where, gj->keys[k]);
    s->model = synap_json_as_string(synap_json_get(gj, "model"));
    s->meta = synap_json_as_string(synap_json_get(gj, "meta"));
    if (!s->model) return synap_errf(err, "bundle.json: %s: \"model\" must be a string", where);
    if (synap_json_get(gj, "meta") && !s->meta)
        return synap_errf(err, "bundle.json: %s: \"meta\" must be a string", where);
    char w2[96];
    snprintf(w2, sizeof w2, "%s.inputs", where);
    if (parse_links(synap_json_get(gj, "inputs"), w2, &s->in, &s->nin, err) < 0) return -1;

    s->delegate = "";
    if (s->meta) {
        const struct synap_zip_entry *me = find_entry(b, s->meta, where, err);
        if (!me) return -1;
        snprintf(what, sizeof what, "%s", s->meta);
        const struct synap_json *mj =
            synap_json_parse(b->arena, (const char *)me->data, me->size, what, err);
        if (!mj) return -1;
        if (!synap_json_is_object(mj)) return synap_errf(err, "%s: expected an object", what);
        const struct synap_json *d = synap_json_get(mj, "delegate");
        if (d && !synap_json_is_string(d))
            return synap_errf(err, "%s: \"delegate\" must be a string", what);
        if (d) s->delegate = d->s;
    }

    const struct synap_zip_entry *e = find_entry(b, s->model, where, err);
    if (!e) return -1;
    const void *data = e->data;
    if ((uintptr_t)data % 64) {
        /* constants must be aligned for the kernels: a foreign archive gets a copy */
        s->copy = synap_xaligned(e->size ? e->size : 1);
        memcpy(s->copy, e->data, e->size);
        data = s->copy;
    }
    snprintf(what, sizeof what, "%s", s->model);
    s->g = synap_ir_read_mem(data, e->size, what, err);
    if (!s->g) return -1;
    if (s->nin != s->g->ninputs)
        return synap_errf(err, "bundle.json: %s: %zu inputs listed, %s has %zu", where, s->nin,
                          s->model, s->g->ninputs);
    for (size_t t = 0; t < s->g->ninputs; t++) {
        struct synap_value v;
        tensor_value(&s->g->tensors[s->g->inputs[t]], &v);
        if (synap_value_nelem(&v) < 0)
            return synap_errf(err, "%s: input '%s': dynamic or invalid shape", s->model,
                              s->g->tensors[s->g->inputs[t]].name);
    }
    return read_codegen(b, i, s->model, false, err);
}

/* A link's tensor: in the producing subgraph's IR, or the consumer's for a
 * network input (NULL until some subgraph consumes it). */
static int check_link(const struct synap_bundle *b, const struct link *l, const char *where,
                      struct synap_err *err)
{
    if (l->sub >= (int64_t)b->nsubs)
        return synap_errf(err, "bundle.json: %s: subgraph %lld out of range (%zu subgraphs)",
                          where, (long long)l->sub, b->nsubs);
    if (l->sub >= 0 && (uint64_t)l->out >= b->subs[l->sub].g->noutputs)
        return synap_errf(err, "bundle.json: %s: subgraph %lld has no output %lld (it has %zu)",
                          where, (long long)l->sub, (long long)l->out,
                          b->subs[l->sub].g->noutputs);
    if (l->sub < 0 && l->out >= 1 << 20)
        return synap_errf(err, "bundle.json: %s: network input %lld out of range", where,
                          (long long)l->out);
    return 0;
}

static int wire(struct synap_bundle *b, struct synap_err *err)
{
    /* network inputs: their number, dtype and shape from the consumers */
    const struct synap_tensor **in_t = NULL;
    size_t *in_sub = NULL; /* the first subgraph consuming each network input */
    size_t nnet = 0;       /* network inputs seen so far (b->ninputs once allocated) */
    int rc = -1;
    for (size_t i = 0; i < b->nsubs; i++)
        for (size_t m = 0; m < b->subs[i].nin; m++) {
            char where[96];
            snprintf(where, sizeof where, "graph[%zu].inputs[%zu]", i, m);
            const struct link *l = &b->subs[i].in[m];
            if (check_link(b, l, where, err) < 0) goto out;
            if (l->sub == (int64_t)i) {
                synap_errf(err, "bundle.json: %s: subgraph %zu feeds itself", where, i);
                goto out;
            }
            const struct synap_tensor *ct = &b->subs[i].g->tensors[b->subs[i].g->inputs[m]];
            if (l->sub >= 0) {
                const struct synap_graph *pg = b->subs[l->sub].g;
                const struct synap_tensor *pt = &pg->tensors[pg->outputs[l->out]];
                if (!same_type(pt, ct)) {
                    char a[160], c[160];
                    synap_errf(err, "bundle.json: %s: output %lld of subgraph %lld is %s %s, "
                                    "input '%s' of subgraph %zu is %s %s",
                               where, (long long)l->out, (long long)l->sub,
                               synap_dtype_name(pt->dtype), synap_shape_str(pt->rank, pt->dims, a, sizeof a),
                               ct->name, i, synap_dtype_name(ct->dtype),
                               synap_shape_str(ct->rank, ct->dims, c, sizeof c));
                    goto out;
                }
                continue;
            }
            size_t j = (size_t)l->out;
            if (j >= nnet) {
                in_t = synap_xrealloc(in_t, (j + 1) * sizeof *in_t);
                in_sub = synap_xrealloc(in_sub, (j + 1) * sizeof *in_sub);
                for (size_t k = nnet; k <= j; k++) in_t[k] = NULL;
                nnet = j + 1;
            }
            if (!in_t[j]) {
                in_t[j] = ct;
                in_sub[j] = i;
            } else if (!same_type(in_t[j], ct)) {
                char a[160], c[160];
                synap_errf(err, "bundle.json: %s: network input %zu is %s %s ('%s') for "
                                "subgraph %zu and %s %s ('%s') for subgraph %zu",
                           where, j, synap_dtype_name(in_t[j]->dtype),
                           synap_shape_str(in_t[j]->rank, in_t[j]->dims, a, sizeof a),
                           in_t[j]->name, in_sub[j], synap_dtype_name(ct->dtype),
                           synap_shape_str(ct->rank, ct->dims, c, sizeof c), ct->name, i);
                goto out;
            }
        }
    b->ninputs = nnet;
    b->inputs = synap_xcalloc(b->ninputs ? b->ninputs : 1, sizeof *b->inputs);
    b->input_names = synap_xcalloc(b->ninputs ? b->ninputs : 1, sizeof *b->input_names);
    for (size_t j = 0; j < b->ninputs; j++) {
        if (!in_t[j]) {
            synap_errf(err, "bundle.json: network input %zu is used by no subgraph", j);
            goto out;
        }
        tensor_value(in_t[j], &b->inputs[j]);
        size_t nb = value_nbytes(&b->inputs[j]);
        b->inputs[j].data = synap_xaligned(nb ? nb : 1);
        memset(b->inputs[j].data, 0, nb ? nb : 1);
        b->input_names[j] = in_t[j]->name;
    }
    b->out_vals = synap_xcalloc(b->noutputs ? b->noutputs : 1, sizeof *b->out_vals);
    b->output_names = synap_xcalloc(b->noutputs ? b->noutputs : 1, sizeof *b->output_names);
    for (size_t k = 0; k < b->noutputs; k++) {
        char where[64];
        snprintf(where, sizeof where, "outputs[%zu]", k);
        const struct link *l = &b->outs[k];
        if (check_link(b, l, where, err) < 0) goto out;
        if (l->sub < 0) {
            if ((uint64_t)l->out >= b->ninputs) {
                synap_errf(err, "bundle.json: %s: network input %lld is used by no subgraph",
                           where, (long long)l->out);
                goto out;
            }
            b->out_vals[k] = b->inputs[l->out];
            b->output_names[k] = b->input_names[l->out];
        } else {
            const struct synap_graph *pg = b->subs[l->sub].g;
            const struct synap_tensor *t = &pg->tensors[pg->outputs[l->out]];
            tensor_value(t, &b->out_vals[k]);
            b->output_names[k] = t->name;
        }
    }
    /* dependency levels (Kahn): level = 1 + the deepest producer; a cycle
     * leaves subgraphs unplaced */
    for (size_t i = 0; i < b->nsubs; i++) b->subs[i].level = -1;
    size_t placed = 0;
    for (int lvl = 0; placed < b->nsubs; lvl++) {
        size_t now = 0;
        for (size_t i = 0; i < b->nsubs; i++) {
            struct sub *s = &b->subs[i];
            if (s->level >= 0) continue;
            bool ready = true;
            for (size_t m = 0; m < s->nin && ready; m++) {
                int64_t k = s->in[m].sub;
                ready = k < 0 || (b->subs[k].level >= 0 && b->subs[k].level < lvl);
            }
            if (ready) s->level = lvl, now++;
        }
        if (!now) {
            for (size_t i = 0; i < b->nsubs; i++)
                if (b->subs[i].level < 0) {
                    synap_errf(err, "bundle.json: subgraph %zu is part of a dependency cycle",
                               i);
                    goto out;
                }
        }
        placed += now;
        b->nlevels = lvl + 1;
    }
    b->order = synap_xmalloc((b->nsubs ? b->nsubs : 1) * sizeof *b->order);
    size_t k = 0;
    for (int lvl = 0; lvl < b->nlevels; lvl++)
        for (size_t i = 0; i < b->nsubs; i++)
            if (b->subs[i].level == lvl) b->order[k++] = (int)i;
    rc = 0;
out:
    free(in_t);
    free(in_sub);
    return rc;
}

struct synap_bundle *synap_bundle_open_mem(const uint8_t *data, size_t n, const char *what,
                                           struct synap_err *err)
{
    struct synap_bundle *b = synap_xcalloc(1, sizeof *b);
    b->what = synap_xstrdup(what);
    b->arena = synap_arena_new();
    if (synap_zip_open(data, n, what, &b->zip, err) < 0) {
        memset(&b->zip, 0, sizeof b->zip);
        /* names from a damaged archive may hold control characters: keep the
         * message on one line */
        if (err)
            for (char *c = err->msg; *c; c++)
                if ((unsigned char)*c < 0x20) *c = '?';
        goto fail_noprefix;
    }
    const struct synap_zip_entry *be = synap_zip_find(&b->zip, "bundle.json");
    if (!be) {
        synap_errf(err, "no bundle.json in the archive");
        goto fail;
    }
    const struct synap_json *root =
        synap_json_parse(b->arena, (const char *)be->data, be->size, "bundle.json", err);
    if (!root) goto fail;
    if (!synap_json_is_object(root)) {
        synap_errf(err, "bundle.json: expected an object");
        goto fail;
    }
    for (size_t k = 0; k < root->n; k++)
        if (strcmp(root->keys[k], "graph") && strcmp(root->keys[k], "outputs")) {
            synap_errf(err, "bundle.json: unknown key '%s'", root->keys[k]);
            goto fail;
        }
    const struct synap_json *graph = synap_json_get(root, "graph");
    if (!synap_json_is_array(graph) || graph->n == 0) {
        synap_errf(err, "bundle.json: \"graph\" must be a non-empty array");
        goto fail;
    }
    if (parse_links(synap_json_get(root, "outputs"), "outputs", &b->outs, &b->noutputs, err) < 0)
        goto fail;
    b->subs = synap_xcalloc(graph->n, sizeof *b->subs);
    b->nsubs = graph->n;
    for (size_t i = 0; i < graph->n; i++)
        if (open_sub(b, i, graph->items[i], err) < 0) goto fail;
    if (wire(b, err) < 0) goto fail;
    return b;
fail:
    synap_err_prefix(err, "%s", what);
fail_noprefix:
    synap_bundle_free(b);
    return NULL;
}

struct synap_bundle *synap_bundle_open(const char *path, struct synap_err *err)
{
    struct synap_file f;
    if (synap_file_read(path, &f, err) < 0) return NULL;
    struct synap_bundle *b = synap_bundle_open_mem(f.data, f.size, path, err);
    if (!b) {
        synap_file_close(&f);
        return NULL;
    }
    b->file = f;
    return b;
}

struct synap_bundle *synap_bundle_from_graph(struct synap_graph *g, const char *what,
                                             struct synap_err *err)
{
    struct synap_bundle *b = synap_xcalloc(1, sizeof *b);
    b->what = synap_xstrdup(what);
    b->arena = synap_arena_new();
    b->subs = synap_xcalloc(1, sizeof *b->subs);
    b->nsubs = 1;
    struct sub *s = &b->subs[0];
    s->g = g;
    s->model = synap_arena_strdup(b->arena, what);
    s->delegate = g->nnodes && g->nodes[0].delegate ? g->nodes[0].delegate : "";
    s->nin = g->ninputs;
    s->in = synap_xcalloc(g->ninputs ? g->ninputs : 1, sizeof *s->in);
    for (size_t i = 0; i < g->ninputs; i++) s->in[i] = (struct link){-1, (int64_t)i};
    b->noutputs = g->noutputs;
    b->outs = synap_xcalloc(g->noutputs ? g->noutputs : 1, sizeof *b->outs);
    for (size_t i = 0; i < g->noutputs; i++) b->outs[i] = (struct link){0, (int64_t)i};
    for (size_t t = 0; t < g->ninputs; t++) {
        struct synap_value v;
        tensor_value(&g->tensors[g->inputs[t]], &v);
        if (synap_value_nelem(&v) < 0) {
            synap_errf(err, "%s: input '%s': dynamic or invalid shape", what,
                       g->tensors[g->inputs[t]].name);
            goto fail;
        }
    }
    if (read_codegen(b, 0, what, true, err) < 0 || wire(b, err) < 0) goto fail;
    return b;
fail:
    synap_bundle_free(b);
    return NULL;
}

/* ---- prepare and run --------------------------------------------------------- */

/* Node times from the observer: the time since the previous node finished (or
 * since the run started) is charged to the node whose first output arrives. */
static void observe(void *ctx, const struct synap_graph *g, size_t node, size_t out,
                    const struct synap_value *v)
{
    (void)g, (void)out, (void)v;
    struct sub *s = ctx;
    if (node == s->last_node) return;
    double now = synap_now_ms();
    s->node_us[node] += (now - s->t_last) * 1000.0;
    s->t_last = now;
    s->last_node = node;
}

int synap_bundle_prepare(struct synap_bundle *b, const struct synap_bundle_opts *o,
                         struct synap_err *err)
{
    if (b->prepared) return synap_errf(err, "%s: already prepared", b->what);
    int nthreads = o && o->nthreads > 0 ? o->nthreads : synap_default_threads();
    b->profile = o && o->profile;
    for (size_t i = 0; i < b->nsubs; i++) {
        struct sub *s = &b->subs[i];
        size_t width = 0; /* subgraphs that run beside this one */
        for (size_t k = 0; k < b->nsubs; k++) width += b->subs[k].level == s->level;
        struct synap_plan_opts po = {.nthreads = nthreads / (int)width > 0 ? nthreads / (int)width : 1};
        if (s->offsets && !(o && o->no_arena)) {
            po.arena_offsets = s->offsets;
            po.arena_nbytes = s->arena_nbytes;
        }
        if (b->profile) {
            s->node_us = synap_xcalloc(s->g->nnodes ? s->g->nnodes : 1, sizeof *s->node_us);
            po.observer = observe;
            po.observer_ctx = s;
        }
        s->p = synap_plan_new(s->g, &po, err);
        if (!s->p) {
            synap_err_prefix(err, "%s: %s", b->what, s->model);
            return -1;
        }
    }
    for (size_t k = 0; k < b->noutputs; k++)
        if (b->outs[k].sub >= 0)
            b->out_vals[k] = *synap_plan_output(b->subs[b->outs[k].sub].p, (size_t)b->outs[k].out);
    b->prepared = true;
    return 0;
}

struct job {
    struct synap_bundle *b;
    struct sub *s;
    int rc;
};

static void *run_sub(void *arg)
{
    struct job *j = arg;
    struct synap_bundle *b = j->b;
    struct sub *s = j->s;
    for (size_t m = 0; m < s->nin; m++) {
        const struct synap_value *src =
            s->in[m].sub < 0 ? &b->inputs[s->in[m].out]
                             : synap_plan_output(b->subs[s->in[m].sub].p, (size_t)s->in[m].out);
        struct synap_value *dst = synap_plan_input(s->p, m);
        memcpy(dst->data, src->data, value_nbytes(dst));
    }
    if (b->profile) {
        memset(s->node_us, 0, s->g->nnodes * sizeof *s->node_us);
        s->last_node = SIZE_MAX;
        s->t_last = synap_now_ms();
    }
    s->err.code = 0;
    j->rc = synap_plan_run(s->p, &s->err);
    if (j->rc < 0) synap_err_prefix(&s->err, "%s: %s", b->what, s->model);
    return NULL;
}

int synap_bundle_run(struct synap_bundle *b, struct synap_err *err)
{
    if (!b->prepared) return synap_errf(err, "%s: run before prepare", b->what);
    struct job *jobs = synap_xcalloc(b->nsubs, sizeof *jobs);
    pthread_t *th = synap_xcalloc(b->nsubs, sizeof *th);
    bool *started = synap_xcalloc(b->nsubs, sizeof *started);
    int rc = 0;
    size_t k = 0;
    while (k < b->nsubs && rc == 0) {
        size_t first = k;
        int lvl = b->subs[b->order[k]].level;
        while (k < b->nsubs && b->subs[b->order[k]].level == lvl) k++;
        /* the first subgraph of a level runs on this thread, the others on their own */
        for (size_t q = first; q < k; q++) {
            jobs[q] = (struct job){b, &b->subs[b->order[q]], 0};
            started[q] = q > first && pthread_create(&th[q], NULL, run_sub, &jobs[q]) == 0;
        }
        for (size_t q = first; q < k; q++)
            if (!started[q]) run_sub(&jobs[q]);
        for (size_t q = first; q < k; q++)
            if (started[q]) pthread_join(th[q], NULL);
        /* the error of the lowest subgraph index, whatever the timing */
        size_t bad = SIZE_MAX;
        for (size_t q = first; q < k; q++)
            if (jobs[q].rc < 0 && (bad == SIZE_MAX || b->order[q] < b->order[bad])) bad = q;
        if (bad != SIZE_MAX) {
            *err = jobs[bad].s->err;
            rc = -1;
        }
    }
    free(jobs);
    free(th);
    free(started);
    if (rc == 0 && b->profile)
        for (size_t i = 0; i < b->nlayers; i++) {
            const struct layer_nodes *ln = &b->layer_nodes[i];
            double t = 0;
            for (size_t q = 0; q < ln->nnodes; q++) t += b->subs[ln->sub].node_us[ln->nodes[q]];
            b->layers[i].time_us = t;
        }
    return rc;
}

/* ---- profiling text -------------------------------------------------------- */

static void append(char **buf, size_t *n, size_t *cap, const char *fmt, ...)
    SYNAP_PRINTF(4, 5);
static void append(char **buf, size_t *n, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(*buf + *n, *cap - *n, fmt, ap);
        va_end(ap);
        if (w >= 0 && (size_t)w < *cap - *n) {
            *n += (size_t)w;
            return;
        }
        *cap = *cap * 2 + (w > 0 ? (size_t)w : 0) + 64;
        *buf = synap_xrealloc(*buf, *cap);
    }
}

char *synap_bundle_profile_text(const struct synap_bundle *b, long pid, long inference_count,
                                double total_us, double last_us)
{
    size_t n = 0, cap = 1024, iobuf = 0;
    char *s = synap_xmalloc(cap);
    s[0] = 0;
    for (size_t i = 0; i < b->ninputs; i++) iobuf += value_nbytes(&b->inputs[i]);
    for (size_t i = 0; i < b->noutputs; i++) iobuf += value_nbytes(&b->out_vals[i]);
    append(&s, &n, &cap,
           "pid: %ld, nid: 1, inference_count: %ld, inference_time: %.0f, inference_last: %.0f, "
           "iobuf_count: %zu, iobuf_size: %zu, layers: %zu\n",
           pid, inference_count, total_us, last_us, b->ninputs + b->noutputs, iobuf, b->nlayers);
    append(&s, &n, &cap, "| lyr |   cycle | time_us | byte_rd | byte_wr | type\n");
    for (size_t i = 0; i < b->nlayers; i++) {
        const struct synap_bundle_layer *l = &b->layers[i];
        append(&s, &n, &cap, "| %3lld | %7lld | %7.0f | %7lld | %7lld | %s\n", (long long)l->id,
               (long long)l->cycles, l->time_us, (long long)l->bytes_read,
               (long long)l->bytes_written, l->type);
    }
    return s;
}
