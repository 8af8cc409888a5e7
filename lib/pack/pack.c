/* synap-pack: split the codegen IR per subgraph and write model.synap,
 * model_info.txt (or the legacy model.nb + model.json).
 *
 * THE model.synap FORMAT, VERSION 1
 *
 * A ZIP archive (lib/util/zip.c: stored entries, data 64-byte aligned, no
 * timestamps) with, in this order:
 *   bundle.json        {"graph": [{"inputs": [{"subgraph": k, "out": j}, ...],
 *                                  "model": "i/model.ir", "meta": "i/model.json"}, ...],
 *                       "outputs": [{"subgraph": k, "out": j}, ...]}
 *                      graph[i] is subgraph i, in execution order; input j of a
 *                      subgraph is output "out" of subgraph "subgraph" (< i), or
 *                      network input "out" when "subgraph" is -1. "outputs" are
 *                      the network's outputs, in order, wired the same way.
 *   i/model.ir         subgraph i as a synap IR file (lib/ir/io.c): its nodes in
 *                      execution order, the constants they use, its inputs (the
 *                      tensors it consumes that other subgraphs or the caller
 *                      provide) and its outputs (the tensors it produces that
 *                      a later subgraph consumes or that are network outputs);
 *                      its "codegen" section is synap-codegen's restricted to
 *                      it and renumbered as a one-subgraph model: node and tensor
 *                      indices of this IR, layer ids from 0, subgraph id 0 (and
 *                      every node's "subgraph" is 0); bundle.json says where it sits.
 *   i/model.json       {"delegate", "secure", "Inputs": {name: tensor}, "Outputs": ...}
 *                      tensor = {"name", "shape", "format" (nchw|nhwc), "dtype",
 *                      "data_format" (the metafile's format string or ""),
 *                      "mean" [per channel], "scale", "security", "quantizer"
 *                      (scheme, "none" for float), "quantize" {"qtype", "scale",
 *                      "zero_point", "fl", "min_value", "max_value"} (quantized only)}
 * JSON is pretty-printed (2 spaces), keys in the order above.
 *
 * --out-format nb: model.nb = the single npu subgraph's model.ir bytes and
 * model.json beside it.
 *
 * Compatibility: readers check bundle.json's keys; a change an older reader
 * would misread needs a new key ("version") and this comment updated.
 */
#include "pack/pack.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "util/jsonw.h"
#include "util/zip.h"

#define RULE_WIDTH 100

/* ---- options (pack.json) ------------------------------------------------------ */
struct in_opt {
    const char *name; /* NULL: applies to network input by position */
    const double *means;
    size_t nmeans; /* 0: absent */
    double scale;
    const char *format;   /* NULL: input_format */
    const char *security; /* NULL: "any" */
};
struct out_opt {
    const char *name;
    const char *format;
    const char *security;
};
struct opts {
    const char *target;
    int out_format;
    const char *model; /* file name of the source model, for model_info.txt */
    struct in_opt *in;
    size_t nin;
    struct out_opt *out;
    size_t nout;
    const char *layout; /* "nchw" */
    const char *input_format, *output_format;
    /* per network input: the means / scale a pre-quantized 8-bit input takes
     * from its zero point and scale when the metafile gives neither
     * (auto_scale 0: none) */
    double *auto_mean, *auto_scale;
};

static int check_keys(const struct synap_json *o, const char *where, const char *const *valid,
                      struct synap_err *err)
{
    if (!synap_json_is_object(o))
        return synap_errf(err, "pack options: %s must be an object", where);
    for (size_t i = 0; i < o->n; i++) {
        size_t k = 0;
        while (valid[k] && strcmp(valid[k], o->keys[i]) != 0)
            k++;
        if (valid[k]) continue;
        char list[512];
        size_t off = 0;
        list[0] = 0;
        for (k = 0; valid[k] && off < sizeof list; k++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", k ? ", " : "", valid[k]);
        return synap_errf(err, "pack options: unknown key '%s' in %s; valid keys: %s", o->keys[i],
                          where, list);
    }
    return 0;
}

static int opt_string(const struct synap_json *o, const char *key, const char *where,
                      const char **out, struct synap_err *err)
{
    const struct synap_json *v = synap_json_get(o, key);
    if (!v) return 0;
    if (!synap_json_is_string(v))
        return synap_errf(err, "pack options: %s.%s must be a string, not %s", where, key,
                          synap_json_type_name(v->type));
    *out = v->s;
    return 0;
}

static int opt_bool(const struct synap_json *o, const char *key, const char *where,
                    struct synap_err *err)
{
    const struct synap_json *v = synap_json_get(o, key);
    if (v && !synap_json_is_bool(v))
        return synap_errf(err, "pack options: %s.%s must be true or false, not %s", where, key,
                          synap_json_type_name(v->type));
    return 0;
}

int synap_pack_format_of(const struct synap_json *options, struct synap_err *err)
{
    const struct synap_json *v = synap_json_get(options, "out_format");
    if (!v) return SYNAP_PACK_SYNAP;
    const char *s = synap_json_as_string(v);
    if (s && strcmp(s, "synap") == 0) return SYNAP_PACK_SYNAP;
    if (s && strcmp(s, "nb") == 0) return SYNAP_PACK_NB;
    return synap_errf(err, "pack options: out_format must be \"synap\" or \"nb\"");
}

static int parse_opts(const struct synap_json *o, struct synap_arena *a, struct opts *p,
                      struct synap_err *err)
{
    static const char *const top[] = {"target",
                                      "out_format",
                                      "model",
                                      "inputs",
                                      "outputs",
                                      "data_layout",
                                      "input_format",
                                      "output_format",
                                      "dequantize_outputs",
                                      "profiling",
                                      NULL};
    static const char *const in_keys[] = {"name", "means", "scale", "format", "security", NULL};
    static const char *const out_keys[] = {"name", "format", "dequantize", "security", NULL};
    memset(p, 0, sizeof *p);
    p->layout = "nchw";
    p->input_format = p->output_format = "";
    if (check_keys(o, "the options", top, err)) return -1;
    if (opt_string(o, "target", "options", &p->target, err)) return -1;
    if ((p->out_format = synap_pack_format_of(o, err)) < 0) return -1;
    if (opt_string(o, "model", "options", &p->model, err)) return -1;
    if (opt_string(o, "input_format", "options", &p->input_format, err)) return -1;
    if (opt_string(o, "output_format", "options", &p->output_format, err)) return -1;
    if (opt_bool(o, "dequantize_outputs", "options", err) ||
        opt_bool(o, "profiling", "options", err))
        return -1;
    /* the model's own layout: TFLite (and TF) tensors are NHWC, ONNX and
     * Caffe ones NCHW; no layout conversion is implemented, so data_layout
     * may only confirm it */
    size_t ml = p->model ? strlen(p->model) : 0;
    int nhwc = (ml >= 7 && !strcmp(p->model + ml - 7, ".tflite")) ||
               (ml >= 3 && !strcmp(p->model + ml - 3, ".pb"));
    p->layout = nhwc ? "nhwc" : "nchw";
    const char *layout = NULL;
    if (opt_string(o, "data_layout", "options", &layout, err)) return -1;
    if (layout && strcmp(layout, "default") != 0 && strcmp(layout, "nchw") != 0 &&
        strcmp(layout, "nhwc") != 0)
        return synap_errf(err, "pack options: data_layout must be default, nchw or nhwc, not '%s'",
                          layout);
    if (layout && strcmp(layout, "default") != 0 && strcmp(layout, p->layout) != 0)
        return synap_errf(err,
                          "data_layout %s: not supported yet (%s models are %s and no layout "
                          "conversion is implemented)",
                          layout, nhwc ? "TFLite" : "ONNX", p->layout);
    if (p->model) { /* never a path in the outputs: the file name only */
        const char *slash = strrchr(p->model, '/');
        if (slash) p->model = slash + 1;
    }

    const struct synap_json *ins = synap_json_get(o, "inputs");
    if (ins && !synap_json_is_array(ins))
        return synap_errf(err, "pack options: inputs must be a list");
    p->nin = synap_json_length(ins);
    p->in = synap_arena_alloc(a, (p->nin + 1) * sizeof *p->in);
    for (size_t i = 0; i < p->nin; i++) {
        const struct synap_json *e = synap_json_index(ins, i);
        char where[32];
        snprintf(where, sizeof where, "inputs[%zu]", i);
        struct in_opt *q = &p->in[i];
        q->scale = 1;
        if (check_keys(e, where, in_keys, err) || opt_string(e, "name", where, &q->name, err) ||
            opt_string(e, "format", where, &q->format, err) ||
            opt_string(e, "security", where, &q->security, err))
            return -1;
        const struct synap_json *m = synap_json_get(e, "means");
        if (synap_json_is_number(m)) {
            double *v = synap_arena_alloc(a, sizeof *v);
            v[0] = m->num;
            q->means = v;
            q->nmeans = 1;
        } else if (synap_json_is_array(m)) {
            double *v = synap_arena_alloc(a, (m->n + 1) * sizeof *v);
            for (size_t k = 0; k < m->n; k++) {
                if (!synap_json_is_number(m->items[k]))
                    return synap_errf(err, "pack options: %s.means must hold numbers", where);
                v[k] = m->items[k]->num;
            }
            q->means = v;
            q->nmeans = m->n;
        } else if (m) {
            return synap_errf(err, "pack options: %s.means must be a number or a list of numbers",
                              where);
        }
        const struct synap_json *s = synap_json_get(e, "scale");
        if (s) {
            if (!synap_json_is_number(s) || s->num == 0)
                return synap_errf(err, "pack options: %s.scale must be a number other than 0",
                                  where);
            q->scale = s->num;
        }
    }
    const struct synap_json *outs = synap_json_get(o, "outputs");
    if (outs && !synap_json_is_array(outs))
        return synap_errf(err, "pack options: outputs must be a list");
    p->nout = synap_json_length(outs);
    p->out = synap_arena_alloc(a, (p->nout + 1) * sizeof *p->out);
    for (size_t i = 0; i < p->nout; i++) {
        const struct synap_json *e = synap_json_index(outs, i);
        char where[32];
        snprintf(where, sizeof where, "outputs[%zu]", i);
        struct out_opt *q = &p->out[i];
        if (check_keys(e, where, out_keys, err) || opt_string(e, "name", where, &q->name, err) ||
            opt_string(e, "format", where, &q->format, err) ||
            opt_string(e, "security", where, &q->security, err) ||
            opt_bool(e, "dequantize", where, err))
            return -1;
    }
    return 0;
}

/* ---- the codegen section: lib/codegen/codegen.h reads and writes it ----------- */
typedef struct synap_codegen_info codegen_t;

/* ---- splitting into subgraphs ------------------------------------------------------- */
struct port {
    int32_t subgraph; /* -1: network input */
    uint32_t out;
};
struct sub {
    int32_t id;
    const char *delegate;
    uint32_t *nodes;
    size_t nnodes;
    uint32_t *inputs; /* tensor indices of g */
    struct port *sources;
    size_t ninputs;
    uint32_t *outputs;
    size_t noutputs;
    const struct synap_codegen_subgraph *cg; /* NULL when codegen has no entry */
};
struct split {
    struct sub *subs;
    size_t nsubs;
    struct port *outputs; /* network outputs */
};

static int index_of(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x) return (int)i;
    return -1;
}

static int do_split(const struct synap_graph *g, struct synap_arena *a, struct split *s,
                    struct synap_err *err)
{
    if (g->nnodes == 0) return synap_errf(err, "the graph has no layers to pack");
    int32_t nsubs = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[i];
        if (nd->subgraph < 0 || !nd->delegate)
            return synap_errf(
                err, "node '%s' has no subgraph or delegate (run synap-partition first)", nd->name);
        if (nd->subgraph >= (int32_t)g->nnodes)
            return synap_errf(err, "node '%s': subgraph %d out of range", nd->name,
                              (int)nd->subgraph);
        if (nd->subgraph + 1 > nsubs) nsubs = nd->subgraph + 1;
    }
    s->nsubs = (size_t)nsubs;
    s->subs = synap_arena_alloc(a, s->nsubs * sizeof *s->subs);
    /* producer subgraph of every tensor (-1: none) */
    int32_t *prod = synap_arena_alloc(a, (g->ntensors + 1) * sizeof *prod);
    for (size_t t = 0; t < g->ntensors; t++)
        prod[t] = -1;
    for (size_t i = 0; i < g->nnodes; i++)
        for (size_t k = 0; k < g->nodes[i].noutputs; k++)
            if (g->nodes[i].outputs[k] != SYNAP_NONE)
                prod[g->nodes[i].outputs[k]] = g->nodes[i].subgraph;
    uint8_t *mark = synap_arena_alloc(a, g->ntensors + 1);

    for (int32_t k = 0; k < nsubs; k++) {
        struct sub *sb = &s->subs[k];
        sb->id = k;
        sb->nodes = synap_arena_alloc(a, g->nnodes * sizeof *sb->nodes);
        for (size_t i = 0; i < g->nnodes; i++) {
            const struct synap_node *nd = &g->nodes[i];
            if (nd->subgraph != k) continue;
            if (sb->nnodes && strcmp(sb->delegate, nd->delegate) != 0)
                return synap_errf(err, "subgraph %d mixes delegates %s ('%s') and %s ('%s')",
                                  (int)k, sb->delegate, g->nodes[sb->nodes[0]].name, nd->delegate,
                                  nd->name);
            sb->delegate = nd->delegate;
            sb->nodes[sb->nnodes++] = (uint32_t)i;
        }
        if (!sb->nnodes) return synap_errf(err, "subgraph %d has no layers", (int)k);

        /* inputs: network inputs first (in the network's order), then the
         * other tensors produced elsewhere, in order of first use */
        memset(mark, 0, g->ntensors);
        for (size_t i = 0; i < sb->nnodes; i++) {
            const struct synap_node *nd = &g->nodes[sb->nodes[i]];
            for (size_t j = 0; j < nd->ninputs; j++) {
                uint32_t t = nd->inputs[j];
                if (t != SYNAP_NONE && !g->tensors[t].data && prod[t] != k) mark[t] = 1;
            }
        }
        sb->inputs = synap_arena_alloc(a, (g->ntensors + 1) * sizeof *sb->inputs);
        sb->sources = synap_arena_alloc(a, (g->ntensors + 1) * sizeof *sb->sources);
        for (size_t j = 0; j < g->ninputs; j++) {
            uint32_t t = g->inputs[j];
            if (!mark[t]) continue;
            mark[t] = 0;
            sb->sources[sb->ninputs] = (struct port){-1, (uint32_t)j};
            sb->inputs[sb->ninputs++] = t;
        }
        for (size_t i = 0; i < sb->nnodes; i++) {
            const struct synap_node *nd = &g->nodes[sb->nodes[i]];
            for (size_t j = 0; j < nd->ninputs; j++) {
                uint32_t t = nd->inputs[j];
                if (t == SYNAP_NONE || !mark[t]) continue;
                mark[t] = 0;
                int32_t p = prod[t];
                if (p < 0)
                    return synap_errf(err, "tensor '%s' is neither produced nor a network input",
                                      g->tensors[t].name);
                if (p >= k)
                    return synap_errf(err,
                                      "subgraph %d uses tensor '%s' of the later subgraph %d "
                                      "(subgraphs are not in execution order)",
                                      (int)k, g->tensors[t].name, (int)p);
                int o = index_of(s->subs[p].outputs, s->subs[p].noutputs, t);
                if (o < 0) /* cannot happen: consumers elsewhere make it an output */
                    return synap_errf(err, "tensor '%s' is not an output of subgraph %d",
                                      g->tensors[t].name, (int)p);
                sb->sources[sb->ninputs] = (struct port){p, (uint32_t)o};
                sb->inputs[sb->ninputs++] = t;
            }
        }

        /* outputs: network outputs first (in the network's order), then
         * tensors other subgraphs consume, in production order */
        memset(mark, 0, g->ntensors);
        for (size_t i = 0; i < g->nnodes; i++) {
            const struct synap_node *nd = &g->nodes[i];
            if (nd->subgraph == k) continue;
            for (size_t j = 0; j < nd->ninputs; j++) {
                uint32_t t = nd->inputs[j];
                if (t != SYNAP_NONE && prod[t] == k) mark[t] = 1;
            }
        }
        sb->outputs = synap_arena_alloc(a, (g->ntensors + g->noutputs + 1) * sizeof *sb->outputs);
        for (size_t j = 0; j < g->noutputs; j++) {
            uint32_t t = g->outputs[j];
            if (prod[t] != k || index_of(sb->outputs, sb->noutputs, t) >= 0) continue;
            mark[t] = 0;
            sb->outputs[sb->noutputs++] = t;
        }
        for (size_t i = 0; i < sb->nnodes; i++) {
            const struct synap_node *nd = &g->nodes[sb->nodes[i]];
            for (size_t j = 0; j < nd->noutputs; j++) {
                uint32_t t = nd->outputs[j];
                if (t == SYNAP_NONE || !mark[t]) continue;
                mark[t] = 0;
                sb->outputs[sb->noutputs++] = t;
            }
        }
        if (!sb->noutputs)
            return synap_errf(err, "subgraph %d (%s) produces nothing the model uses", (int)k,
                              sb->delegate);
    }

    s->outputs = synap_arena_alloc(a, (g->noutputs + 1) * sizeof *s->outputs);
    for (size_t j = 0; j < g->noutputs; j++) {
        uint32_t t = g->outputs[j];
        int in = index_of(g->inputs, g->ninputs, t);
        if (g->tensors[t].data)
            return synap_errf(err, "network output '%s' is a constant (nothing computes it)",
                              g->tensors[t].name);
        if (prod[t] < 0 && in >= 0) {
            s->outputs[j] = (struct port){-1, (uint32_t)in};
            continue;
        }
        const struct sub *p = &s->subs[prod[t]];
        s->outputs[j] = (struct port){p->id, (uint32_t)index_of(p->outputs, p->noutputs, t)};
    }
    return 0;
}

/* ---- one IR per subgraph ------------------------------------------------------------ */
/* The codegen section restricted to subgraph sb, renumbered for the new IR:
 * node and tensor indices of the new IR, layer ids from 0, subgraph id 0
 * (the subgraph IR is a one-subgraph model of its own; bundle.json says
 * where it sits). */
static int restricted_section(struct synap_graph *h, const codegen_t *cg, const struct sub *sb,
                              const uint32_t *node_map, const uint32_t *tensor_map,
                              struct synap_err *err)
{
    struct synap_codegen_info r;
    memset(&r, 0, sizeof r);
    r.arena = synap_arena_new();
    r.target = cg->target;
    r.layers = synap_arena_alloc(r.arena, (cg->nlayers + 1) * sizeof *r.layers);
    for (size_t i = 0; i < cg->nlayers; i++) {
        const struct synap_codegen_layer *l = &cg->layers[i];
        if ((int32_t)l->subgraph != sb->id) continue;
        struct synap_codegen_layer *y = &r.layers[r.nlayers];
        *y = *l;
        y->id = (uint32_t)r.nlayers++;
        y->subgraph = 0;
        y->nodes = synap_arena_alloc(r.arena, (l->nnodes + 1) * sizeof *y->nodes);
        for (size_t k = 0; k < l->nnodes; k++)
            y->nodes[k] = node_map[l->nodes[k]];
    }
    r.subgraphs = synap_arena_alloc(r.arena, sizeof *r.subgraphs);
    r.nsubgraphs = 1;
    r.subgraphs[0].id = 0;
    r.subgraphs[0].delegate = sb->delegate;
    if (sb->cg) {
        r.subgraphs[0].arena_bytes = sb->cg->arena_bytes;
        r.subgraphs[0].ntensors = sb->cg->ntensors;
        r.subgraphs[0].tensors =
            synap_arena_alloc(r.arena, (sb->cg->ntensors + 1) * sizeof *r.subgraphs[0].tensors);
        for (size_t i = 0; i < sb->cg->ntensors; i++) {
            r.subgraphs[0].tensors[i] = sb->cg->tensors[i];
            r.subgraphs[0].tensors[i].tensor = tensor_map[sb->cg->tensors[i].tensor];
        }
    }
    int rc = synap_codegen_section_write(h, &r, err);
    synap_codegen_info_free(&r);
    return rc;
}

static int subgraph_ir(const struct synap_graph *g, const codegen_t *cg, const struct sub *sb,
                       uint8_t **out, size_t *nout, struct synap_err *err)
{
    int rc = -1;
    struct synap_graph *h = synap_graph_new();
    uint32_t *tmap = synap_xmalloc((g->ntensors + 1) * sizeof *tmap);
    uint32_t *nmap = synap_xmalloc((g->nnodes + 1) * sizeof *nmap);
    for (size_t t = 0; t < g->ntensors; t++)
        tmap[t] = SYNAP_NONE;
    for (size_t i = 0; i < g->nnodes; i++)
        nmap[i] = SYNAP_NONE;

    /* tensors the subgraph touches, in the whole graph's order */
    for (size_t i = 0; i < sb->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[sb->nodes[i]];
        for (size_t j = 0; j < nd->ninputs; j++)
            if (nd->inputs[j] != SYNAP_NONE) tmap[nd->inputs[j]] = 0;
        for (size_t j = 0; j < nd->noutputs; j++)
            if (nd->outputs[j] != SYNAP_NONE) tmap[nd->outputs[j]] = 0;
        for (size_t j = 0; j < nd->nattrs; j++)
            if (nd->attrs[j].type == SYNAP_ATTR_TENSOR) {
                if (nd->attrs[j].i < 0 || (uint64_t)nd->attrs[j].i >= g->ntensors) {
                    synap_errf(err, "node '%s': attribute '%s' names no tensor", nd->name,
                               nd->attrs[j].name);
                    goto out;
                }
                tmap[nd->attrs[j].i] = 0;
            }
    }
    for (size_t t = 0; t < g->ntensors; t++) {
        if (tmap[t] == SYNAP_NONE) continue;
        const struct synap_tensor *src = &g->tensors[t];
        tmap[t] = synap_graph_add_tensor(h, src->name, src->dtype, src->rank, src->dims);
        struct synap_tensor *dst = &h->tensors[tmap[t]];
        dst->quant = src->quant; /* borrowed from g: h is serialized before g goes */
        dst->data = src->data;   /* likewise: no copy of the weights */
        dst->nbytes = src->nbytes;
    }
    for (size_t i = 0; i < sb->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[sb->nodes[i]];
        nmap[sb->nodes[i]] = (uint32_t)i;
        struct synap_node *m = synap_graph_add_node(h, nd->name, nd->op, nd->ninputs, nd->noutputs);
        for (size_t j = 0; j < nd->ninputs; j++)
            m->inputs[j] = nd->inputs[j] == SYNAP_NONE ? SYNAP_NONE : tmap[nd->inputs[j]];
        for (size_t j = 0; j < nd->noutputs; j++)
            m->outputs[j] = nd->outputs[j] == SYNAP_NONE ? SYNAP_NONE : tmap[nd->outputs[j]];
        if (nd->nattrs) {
            struct synap_attr *at =
                synap_arena_memdup(h->arena, nd->attrs, nd->nattrs * sizeof *at);
            for (size_t j = 0; j < nd->nattrs; j++)
                if (at[j].type == SYNAP_ATTR_TENSOR) at[j].i = tmap[at[j].i];
            m->attrs = at;
            m->nattrs = nd->nattrs;
        }
        m->delegate = nd->delegate;
        m->subgraph = 0; /* the subgraph IR is one subgraph */
    }
    h->inputs = synap_arena_alloc(h->arena, (sb->ninputs + 1) * sizeof *h->inputs);
    for (size_t i = 0; i < sb->ninputs; i++)
        h->inputs[i] = tmap[sb->inputs[i]];
    h->ninputs = sb->ninputs;
    h->outputs = synap_arena_alloc(h->arena, (sb->noutputs + 1) * sizeof *h->outputs);
    for (size_t i = 0; i < sb->noutputs; i++)
        h->outputs[i] = tmap[sb->outputs[i]];
    h->noutputs = sb->noutputs;
    h->producer = "synap-pack " SYNAP_VERSION;
    h->meta = g->meta;
    h->meta_nbytes = g->meta_nbytes;

    if (sb->cg) {
        for (size_t i = 0; i < sb->cg->ntensors; i++) {
            uint32_t t = sb->cg->tensors[i].tensor;
            if (tmap[t] == SYNAP_NONE) {
                synap_errf(err,
                           "codegen section: subgraph %d plans tensor '%s', which it does not use",
                           (int)sb->id, g->tensors[t].name);
                goto out;
            }
        }
    }
    if (restricted_section(h, cg, sb, nmap, tmap, err)) goto out;
    if (synap_ir_serialize(h, out, nout, err)) {
        synap_err_prefix(err, "subgraph %d", (int)sb->id);
        goto out;
    }
    rc = 0;
out:
    free(tmap);
    free(nmap);
    synap_graph_free(h);
    return rc;
}

/* ---- model.json --------------------------------------------------------------------- */
/* The metafile entry of network input j (by name, or by position when the
 * metafile names none). */
static const struct in_opt *input_opt(const struct opts *o, const struct synap_graph *g, size_t j)
{
    for (size_t i = 0; i < o->nin; i++)
        if (o->in[i].name && strcmp(o->in[i].name, g->tensors[g->inputs[j]].name) == 0)
            return &o->in[i];
    if (j < o->nin && !o->in[j].name) return &o->in[j];
    return NULL;
}
static const struct out_opt *output_opt(const struct opts *o, const struct synap_graph *g, size_t j)
{
    for (size_t i = 0; i < o->nout; i++)
        if (o->out[i].name && strcmp(o->out[i].name, g->tensors[g->outputs[j]].name) == 0)
            return &o->out[i];
    if (j < o->nout && !o->out[j].name) return &o->out[j];
    return NULL;
}

static int check_named(const struct opts *o, const struct synap_graph *g, struct synap_err *err)
{
    for (int io = 0; io < 2; io++) {
        size_t n = io ? o->nout : o->nin;
        const uint32_t *list = io ? g->outputs : g->inputs;
        size_t nlist = io ? g->noutputs : g->ninputs;
        for (size_t i = 0; i < n; i++) {
            const char *name = io ? o->out[i].name : o->in[i].name;
            if (!name) continue;
            size_t k = 0;
            while (k < nlist && strcmp(g->tensors[list[k]].name, name) != 0)
                k++;
            if (k < nlist) continue;
            char names[512];
            size_t off = 0;
            names[0] = 0;
            for (k = 0; k < nlist && off < sizeof names; k++)
                off += (size_t)snprintf(names + off, sizeof names - off, "%s%s", k ? ", " : "",
                                        g->tensors[list[k]].name);
            return synap_errf(err, "pack options: %s '%s' is not a network %s (%s: %s)",
                              io ? "output" : "input", name, io ? "output" : "input",
                              io ? "outputs" : "inputs", names);
        }
    }
    return 0;
}

/* What the model.json and model_info.txt say about one boundary tensor. */
struct tinfo {
    const struct synap_tensor *t;
    const char *data_format, *security;
    const double *means;
    size_t nmeans;
    double scale;
    int network_input;
};

static struct tinfo tensor_info(const struct opts *o, const struct synap_graph *g, uint32_t t)
{
    struct tinfo r = {&g->tensors[t], "", "any", NULL, 0, 1, 0};
    int j = index_of(g->inputs, g->ninputs, t);
    if (j >= 0) {
        const struct in_opt *e = input_opt(o, g, (size_t)j);
        r.network_input = 1;
        r.data_format = o->input_format;
        if (e) {
            if (e->format) r.data_format = e->format;
            if (e->security) r.security = e->security;
            r.means = e->means;
            r.nmeans = e->nmeans;
            r.scale = e->scale;
        }
        if (!r.nmeans && r.scale == 1 && o->auto_scale && o->auto_scale[j] != 0) {
            r.means = &o->auto_mean[j];
            r.nmeans = 1;
            r.scale = o->auto_scale[j];
        }
        return r;
    }
    j = index_of(g->outputs, g->noutputs, t);
    if (j >= 0) {
        const struct out_opt *e = output_opt(o, g, (size_t)j);
        r.data_format = o->output_format;
        if (e && e->format) r.data_format = e->format;
        if (e && e->security) r.security = e->security;
    }
    return r;
}

static void json_tensor(struct synap_jw *w, const struct opts *o, const struct tinfo *ti)
{
    const struct synap_tensor *t = ti->t;
    synap_jw_obj_begin(w);
    synap_jw_key(w, "name");
    synap_jw_str(w, t->name);
    synap_jw_key(w, "shape");
    synap_jw_arr_begin(w);
    for (int d = 0; d < t->rank; d++)
        synap_jw_int(w, t->dims[d]);
    synap_jw_arr_end(w);
    synap_jw_key(w, "format");
    synap_jw_str(w, o->layout);
    synap_jw_key(w, "dtype");
    synap_jw_str(w, synap_dtype_name(t->dtype));
    synap_jw_key(w, "data_format");
    synap_jw_str(w, ti->data_format);
    /* mean: one per channel (dimension 1 of an nchw, 3 of an nhwc image tensor) when the
     * metafile gives one number or none; otherwise as given */
    synap_jw_key(w, "mean");
    synap_jw_arr_begin(w);
    int cax = strcmp(o->layout, "nhwc") ? 1 : 3; /* the channel axis */
    size_t channels =
        t->rank == 4 && t->dims[cax] > 0 && t->dims[cax] <= 4096 ? (size_t)t->dims[cax] : 1;
    if (ti->nmeans > 1) {
        for (size_t i = 0; i < ti->nmeans; i++)
            synap_jw_num(w, ti->means[i]);
    } else {
        for (size_t i = 0; i < channels; i++)
            synap_jw_num(w, ti->nmeans ? ti->means[0] : 0);
    }
    synap_jw_arr_end(w);
    synap_jw_key(w, "scale");
    synap_jw_num(w, ti->scale);
    synap_jw_key(w, "security");
    synap_jw_str(w, ti->security);
    synap_jw_key(w, "quantizer");
    synap_jw_str(w, t->quant ? synap_qscheme_name(t->quant->scheme) : "none");
    if (t->quant && t->quant->nparams) {
        const struct synap_quant *q = t->quant;
        synap_jw_key(w, "quantize");
        synap_jw_obj_begin(w);
        synap_jw_key(w, "qtype");
        synap_jw_str(w, synap_dtype_name(t->dtype));
        synap_jw_key(w, "scale");
        synap_jw_num(w, q->scale[0]);
        synap_jw_key(w, "zero_point");
        synap_jw_int(w, q->zero_point[0]);
        synap_jw_key(w, "fl");
        synap_jw_int(w, q->fl);
        /* the float range the integer range represents */
        double lo = 0, hi = 0;
        switch (t->dtype) {
        case SYNAP_DTYPE_UINT8:
            lo = 0, hi = 255;
            break;
        case SYNAP_DTYPE_INT8:
            lo = -128, hi = 127;
            break;
        case SYNAP_DTYPE_INT16:
            lo = -32768, hi = 32767;
            break;
        case SYNAP_DTYPE_UINT16:
            lo = 0, hi = 65535;
            break;
        default:
            break;
        }
        synap_jw_key(w, "min_value");
        synap_jw_num(w, (lo - q->zero_point[0]) * q->scale[0]);
        synap_jw_key(w, "max_value");
        synap_jw_num(w, (hi - q->zero_point[0]) * q->scale[0]);
        synap_jw_obj_end(w);
    }
    synap_jw_obj_end(w);
}

static uint8_t *model_json(const struct opts *o, const struct synap_graph *g, const struct sub *sb,
                           size_t *n)
{
    struct synap_jw w;
    synap_jw_init(&w, 1);
    synap_jw_obj_begin(&w);
    synap_jw_key(&w, "delegate");
    synap_jw_str(&w, sb->delegate);
    synap_jw_key(&w, "secure");
    synap_jw_bool(&w, false);
    for (int io = 0; io < 2; io++) {
        synap_jw_key(&w, io ? "Outputs" : "Inputs");
        synap_jw_obj_begin(&w);
        size_t cnt = io ? sb->noutputs : sb->ninputs;
        for (size_t i = 0; i < cnt; i++) {
            uint32_t t = io ? sb->outputs[i] : sb->inputs[i];
            struct tinfo ti = tensor_info(o, g, t);
            synap_jw_key(&w, g->tensors[t].name);
            json_tensor(&w, o, &ti);
        }
        synap_jw_obj_end(&w);
    }
    synap_jw_obj_end(&w);
    return (uint8_t *)synap_jw_finish(&w, n);
}

static void json_port(struct synap_jw *w, struct port p)
{
    synap_jw_obj_begin(w);
    synap_jw_key(w, "subgraph");
    synap_jw_int(w, p.subgraph);
    synap_jw_key(w, "out");
    synap_jw_int(w, p.out);
    synap_jw_obj_end(w);
}

static uint8_t *bundle_json(const struct split *s, size_t noutputs, size_t *n)
{
    struct synap_jw w;
    synap_jw_init(&w, 1);
    synap_jw_obj_begin(&w);
    synap_jw_key(&w, "graph");
    synap_jw_arr_begin(&w);
    for (size_t k = 0; k < s->nsubs; k++) {
        const struct sub *sb = &s->subs[k];
        char name[32];
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "inputs");
        synap_jw_arr_begin(&w);
        for (size_t i = 0; i < sb->ninputs; i++)
            json_port(&w, sb->sources[i]);
        synap_jw_arr_end(&w);
        synap_jw_key(&w, "model");
        snprintf(name, sizeof name, "%zu/model.ir", k);
        synap_jw_str(&w, name);
        synap_jw_key(&w, "meta");
        snprintf(name, sizeof name, "%zu/model.json", k);
        synap_jw_str(&w, name);
        synap_jw_obj_end(&w);
    }
    synap_jw_arr_end(&w);
    synap_jw_key(&w, "outputs");
    synap_jw_arr_begin(&w);
    for (size_t j = 0; j < noutputs; j++)
        json_port(&w, s->outputs[j]);
    synap_jw_arr_end(&w);
    synap_jw_obj_end(&w);
    return (uint8_t *)synap_jw_finish(&w, n);
}

/* ---- model_info.txt ----------------------------------------------------------------- */
struct text {
    char *p;
    size_t n, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) SYNAP_PRINTF(2, 3);
static void tprintf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len + 1 > t->cap - t->n) {
        while ((size_t)len + 1 > t->cap - t->n)
            t->cap = t->cap ? t->cap * 2 : 4096;
        t->p = synap_xrealloc(t->p, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)len;
}

static void rule(struct text *t, char c)
{
    char line[RULE_WIDTH + 2];
    memset(line, c, RULE_WIDTH);
    line[RULE_WIDTH] = '\n';
    line[RULE_WIDTH + 1] = 0;
    tprintf(t, "%s", line);
}

static void heading(struct text *t, const char *title)
{
    tprintf(t, "\n%s\n", title);
    rule(t, '-');
}

static void info_tensor(struct text *t, const struct opts *o, const struct tinfo *ti)
{
    char shape[256];
    const struct synap_tensor *x = ti->t;
    tprintf(t, "name: %s\n", x->name);
    tprintf(t, "shape: %s\n", synap_shape_str(x->rank, x->dims, shape, sizeof shape));
    tprintf(t, "layout: %s\n", o->layout);
    tprintf(t, "format:%s%s\n", ti->data_format[0] ? " " : "", ti->data_format);
    tprintf(t, "type: %s\n", synap_dtype_name(x->dtype));
    if (ti->network_input && (ti->nmeans || ti->scale != 1)) {
        tprintf(t, "means: [");
        for (size_t i = 0; i < ti->nmeans; i++)
            tprintf(t, "%s%.9g", i ? ", " : "", ti->means[i]);
        tprintf(t, "]\nscale: %.9g\n", ti->scale);
    }
    const struct synap_quant *q = x->quant;
    if (!q || !q->nparams) {
        tprintf(t, "quantization: none\n");
    } else if (q->scheme == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT) {
        tprintf(t, "quantization: {scheme: %s, fractional_length: %d}\n",
                synap_qscheme_name(q->scheme), (int)q->fl);
    } else if (q->nparams == 1) {
        tprintf(t, "quantization: {scheme: %s, scale: %.9g, zero_point: %d}\n",
                synap_qscheme_name(q->scheme), (double)q->scale[0], (int)q->zero_point[0]);
    } else {
        tprintf(t, "quantization: {scheme: %s, axis: %d, channels: %zu}\n",
                synap_qscheme_name(q->scheme), (int)q->axis, q->nparams);
    }
}

static void info_tensors(struct text *t, const struct opts *o, const struct synap_graph *g,
                         const char *title, const uint32_t *list, size_t n)
{
    heading(t, title);
    for (size_t i = 0; i < n; i++) {
        struct tinfo ti = tensor_info(o, g, list[i]);
        if (i) tprintf(t, "\n");
        info_tensor(t, o, &ti);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A table with right-aligned numeric columns; widths from the contents. */
#define NCOLS 7
#define CELL 256
static void info_layers(struct text *t, const codegen_t *cg, const struct sub *sb)
{
    static const char *const head[NCOLS] = {"id",       "type",     "name",  "MACs",
                                            "bytes_rd", "bytes_wr", "cycles"};
    static const int right[NCOLS] = {1, 0, 0, 1, 1, 1, 1};
    size_t nrows = 2; /* header and total */
    for (size_t i = 0; i < cg->nlayers; i++)
        nrows += (int32_t)cg->layers[i].subgraph == sb->id;
    char(*cell)[NCOLS][CELL] = synap_xcalloc(nrows, sizeof *cell);
    uint64_t total[4] = {0, 0, 0, 0};
    for (int c = 0; c < NCOLS; c++)
        snprintf(cell[0][c], CELL, "%s", head[c]);
    size_t r = 1;
    for (size_t i = 0; i < cg->nlayers; i++) {
        const struct synap_codegen_layer *l = &cg->layers[i];
        if ((int32_t)l->subgraph != sb->id) continue;
        snprintf(cell[r][0], CELL, "%" PRIu32, l->id);
        snprintf(cell[r][1], CELL, "%s", l->type);
        snprintf(cell[r][2], CELL, "%s", l->name);
        snprintf(cell[r][3], CELL, "%" PRIu64, l->macs);
        snprintf(cell[r][4], CELL, "%" PRIu64, l->bytes_read);
        snprintf(cell[r][5], CELL, "%" PRIu64, l->bytes_written);
        snprintf(cell[r][6], CELL, "%" PRIu64, l->cycles);
        total[0] += l->macs, total[1] += l->bytes_read, total[2] += l->bytes_written;
        total[3] += l->cycles;
        r++;
    }
    snprintf(cell[r][1], CELL, "total");
    for (int c = 0; c < 4; c++)
        snprintf(cell[r][3 + c], CELL, "%" PRIu64, total[c]);
    int width[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        width[c] = 0;
        for (size_t k = 0; k < nrows; k++)
            if ((int)strlen(cell[k][c]) > width[c]) width[c] = (int)strlen(cell[k][c]);
    }
    heading(t, "layers");
    for (size_t k = 0; k < nrows; k++) {
        struct text line = {0};
        for (int c = 0; c < NCOLS; c++) {
            if (c == 2 && k + 1 == nrows) { /* no name for the total row */
                tprintf(&line, "  %-*s", width[c], "");
                continue;
            }
            if (c) tprintf(&line, "  ");
            if (right[c])
                tprintf(&line, "%*s", width[c], cell[k][c]);
            else
                tprintf(&line, "%-*s", width[c], cell[k][c]);
        }
        while (line.n && line.p[line.n - 1] == ' ')
            line.n--;
        tprintf(t, "%.*s\n", (int)line.n, line.p);
        free(line.p);
    }
    free(cell);
}

static void info_ops(struct text *t, const struct synap_graph *g, const struct sub *sb)
{
    const char **names = synap_xmalloc((sb->nnodes + 1) * sizeof *names);
    for (size_t i = 0; i < sb->nnodes; i++)
        names[i] = synap_op_name(g->nodes[sb->nodes[i]].op);
    qsort(names, sb->nnodes, sizeof *names, cmp_str);
    int width = 0;
    for (size_t i = 0; i < sb->nnodes; i++)
        if ((int)strlen(names[i]) > width) width = (int)strlen(names[i]);
    heading(t, "operations");
    for (size_t i = 0; i < sb->nnodes;) {
        size_t j = i;
        while (j < sb->nnodes && strcmp(names[j], names[i]) == 0)
            j++;
        tprintf(t, "%-*s  %zu\n", width, names[i], j - i);
        i = j;
    }
    free(names);
}

static uint64_t tensor_bytes(const struct synap_tensor *t)
{
    int64_t ne = synap_shape_nelem(t->rank, t->dims);
    return ne < 0 ? 0 : (uint64_t)ne * synap_dtype_size(t->dtype);
}

static void info_memory(struct text *t, const struct synap_graph *g, const struct sub *sb)
{
    /* weights: every distinct constant the subgraph uses */
    uint8_t *seen = synap_xcalloc(g->ntensors + 1, 1);
    uint64_t weights = 0, io = 0;
    for (size_t i = 0; i < sb->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[sb->nodes[i]];
        for (size_t j = 0; j < nd->ninputs + nd->nattrs; j++) {
            uint32_t x = j < nd->ninputs ? nd->inputs[j] : SYNAP_NONE;
            if (j >= nd->ninputs && nd->attrs[j - nd->ninputs].type == SYNAP_ATTR_TENSOR)
                x = (uint32_t)nd->attrs[j - nd->ninputs].i;
            if (x == SYNAP_NONE || x >= g->ntensors || seen[x] || !g->tensors[x].data) continue;
            seen[x] = 1;
            weights += g->tensors[x].nbytes;
        }
    }
    for (size_t i = 0; i < sb->ninputs; i++)
        io += tensor_bytes(&g->tensors[sb->inputs[i]]);
    for (size_t i = 0; i < sb->noutputs; i++)
        io += tensor_bytes(&g->tensors[sb->outputs[i]]);
    free(seen);
    heading(t, "memory usage");
    tprintf(t, "weights: %" PRIu64 " bytes\n", weights);
    tprintf(t, "arena: %" PRIu64 " bytes (intermediate tensors)\n",
            sb->cg ? sb->cg->arena_bytes : 0);
    tprintf(t, "inputs/outputs: %" PRIu64 " bytes\n", io);
}

static uint8_t *model_info(const struct opts *o, const struct synap_graph *g, const codegen_t *cg,
                           const struct split *s, size_t *n)
{
    struct text t = {0};
    tprintf(&t, "Model converted with synap %s\n", SYNAP_VERSION);
    if (o->model) tprintf(&t, "model: %s\n", o->model);
    const char *target = o->target ? o->target : cg->target;
    if (target && target[0]) tprintf(&t, "target: %s\n", target);
    if (s->nsubs > 1) {
        tprintf(&t, "subgraphs: %zu\n", s->nsubs);
        info_tensors(&t, o, g, "inputs", g->inputs, g->ninputs);
        info_tensors(&t, o, g, "outputs", g->outputs, g->noutputs);
    }
    for (size_t k = 0; k < s->nsubs; k++) {
        const struct sub *sb = &s->subs[k];
        tprintf(&t, "\n");
        rule(&t, '=');
        tprintf(&t, "subgraph_%zu\n", k);
        tprintf(&t, "delegate: %s\n", sb->delegate);
        tprintf(&t, "secure: false\n");
        info_tensors(&t, o, g, "inputs", sb->inputs, sb->ninputs);
        info_tensors(&t, o, g, "outputs", sb->outputs, sb->noutputs);
        info_layers(&t, cg, sb);
        info_ops(&t, g, sb);
        info_memory(&t, g, sb);
    }
    *n = t.n;
    return (uint8_t *)t.p;
}

/* ---- the entry point ---------------------------------------------------------------- */
/* REFERENCE: "A pre-quantized 8-bit model without means/scale takes them
 * from the input's zero point and scale": norm = (in - zp) / (1 / s) makes
 * the raw input the quantized value itself. */
static void infer_means(struct opts *o, const struct synap_graph *g, struct synap_arena *a)
{
    o->auto_mean = synap_arena_alloc(a, (g->ninputs + 1) * sizeof *o->auto_mean);
    o->auto_scale = synap_arena_alloc(a, (g->ninputs + 1) * sizeof *o->auto_scale);
    for (size_t j = 0; j < g->ninputs; j++) {
        const struct synap_tensor *t = &g->tensors[g->inputs[j]];
        const struct synap_quant *q = t->quant;
        o->auto_mean[j] = 0;
        o->auto_scale[j] = 0;
        if ((t->dtype == SYNAP_DTYPE_UINT8 || t->dtype == SYNAP_DTYPE_INT8) && q &&
            q->nparams == 1 && q->scale[0] > 0) {
            o->auto_mean[j] = q->zero_point[0];
            o->auto_scale[j] = 1.0 / (double)q->scale[0];
        }
    }
}

/* ${ANCHORS} in a format string becomes the anchors of the model's
 * TFLite_Detection_PostProcess layer, which the TFLite importer left in the
 * IR section "tflite_anchors" (msgpack array of float32, ycenter, xcenter,
 * h, w per anchor): a JSON list of [ycenter, xcenter, h, w] lists, 6
 * decimals. The section survives pruning, so a model cut before the layer
 * still has them. */
static int expand_anchors(const char *fmt, const struct synap_graph *g, struct synap_arena *a,
                          const char **out, struct synap_err *err)
{
    static const char tag[] = "${ANCHORS}";
    const char *at = fmt ? strstr(fmt, tag) : NULL;
    if (!at) return 0;
    const uint8_t *d;
    size_t n;
    int have = synap_ir_section_get(g, "tflite_anchors", &d, &n, err);
    if (have < 0) return -1;
    if (!have)
        return synap_errf(err, "format '%s': ${ANCHORS} needs a TFLite model with a "
                               "TFLite_Detection_PostProcess layer (no anchors in the IR)",
                          fmt);
    size_t cnt = 0, off = 0;
    if (n >= 5 && d[0] == 0xdd) {
        cnt = (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];
        off = 5;
    }
    if (!off || cnt % 4 || cnt > (n - off) / 5)
        return synap_errf(err, "IR section tflite_anchors is damaged");
    size_t cap = strlen(fmt) + cnt * 56 + 16, len = 0; /* %.6f of any float fits 48 */
    char *buf = synap_arena_alloc(a, cap);
    len += (size_t)snprintf(buf, cap, "%.*s[", (int)(at - fmt), fmt);
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *p = d + off + 5 * i;
        if (p[0] != 0xca) return synap_errf(err, "IR section tflite_anchors is damaged");
        uint32_t u = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        float f;
        memcpy(&f, &u, 4);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s%.6f%s", i % 4 ? "," : i ? ",[" : "[",
                                "", (double)f, i % 4 == 3 ? "]" : "");
    }
    snprintf(buf + len, cap - len, "]%s", at + sizeof tag - 1);
    *out = buf;
    return 0;
}

static int fill_anchors(struct opts *o, const struct synap_graph *g, struct synap_arena *a,
                        struct synap_err *err)
{
    if (expand_anchors(o->output_format, g, a, &o->output_format, err)) return -1;
    for (size_t i = 0; i < o->nout; i++)
        if (expand_anchors(o->out[i].format, g, a, &o->out[i].format, err)) return -1;
    return 0;
}

int synap_pack(const struct synap_graph *g, const struct synap_json *options, const char *what,
               struct synap_pack_out *out, struct synap_err *err)
{
    int rc = -1;
    struct synap_arena *a = synap_arena_new();
    struct opts o;
    codegen_t cg;
    struct split s;
    uint8_t **irs = NULL;
    size_t *nirs = NULL;
    memset(out, 0, sizeof *out);
    memset(&s, 0, sizeof s);
    memset(&cg, 0, sizeof cg);

    if (parse_opts(options, a, &o, err)) goto out;
    infer_means(&o, g, a);
    if (fill_anchors(&o, g, a, err)) goto fail_input;
    if (do_split(g, a, &s, err)) goto fail_input;
    int have = synap_codegen_section_read(g, &cg, err);
    if (have < 0) goto fail_input;
    if (have == 0) {
        synap_errf(err, "no codegen section (run synap-codegen first)");
        goto fail_input;
    }
    for (size_t c = 0; c < cg.nlayers; c++) {
        const struct synap_codegen_layer *l = &cg.layers[c];
        for (size_t k = 0; k < l->nnodes; k++)
            if (g->nodes[l->nodes[k]].subgraph != (int32_t)l->subgraph) {
                synap_errf(err, "codegen section: layer %zu: node '%s' is in subgraph %d, not %u",
                           c, g->nodes[l->nodes[k]].name, (int)g->nodes[l->nodes[k]].subgraph,
                           (unsigned)l->subgraph);
                goto fail_input;
            }
    }
    for (size_t k = 0; k < s.nsubs; k++)
        for (size_t c = 0; c < cg.nsubgraphs; c++)
            if (cg.subgraphs[c].id == k) s.subs[k].cg = &cg.subgraphs[c];
    if (check_named(&o, g, err)) goto out;

    if (o.out_format == SYNAP_PACK_NB) {
        if (s.nsubs != 1 || strcmp(s.subs[0].delegate, "npu") != 0) {
            char list[256];
            size_t off = 0;
            for (size_t k = 0; k < s.nsubs && off < sizeof list; k++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", k ? ", " : "",
                                        s.subs[k].delegate);
            synap_errf(err,
                       "--out-format nb needs exactly one npu subgraph, this model has %zu "
                       "subgraph%s (%s)",
                       s.nsubs, s.nsubs == 1 ? "" : "s", list);
            goto out;
        }
    }

    irs = synap_xcalloc(s.nsubs, sizeof *irs);
    nirs = synap_xcalloc(s.nsubs, sizeof *nirs);
    uint64_t total = 0;
    for (size_t k = 0; k < s.nsubs; k++) {
        if (subgraph_ir(g, &cg, &s.subs[k], &irs[k], &nirs[k], err)) goto fail_input;
        total += nirs[k] + 1024;
    }
    if (o.out_format == SYNAP_PACK_NB) {
        out->nout = 3;
        out->data[0] = irs[0];
        out->n[0] = nirs[0];
        irs[0] = NULL;
        out->data[2] = model_json(&o, g, &s.subs[0], &out->n[2]);
    } else {
        /* no ZIP64: every offset must fit 32 bits (with room for the JSON) */
        if (total > 0xf0000000u) {
            synap_errf(err,
                       "the model is too large for model.synap (%" PRIu64 " bytes; ZIP64 is "
                       "not supported)",
                       total);
            goto out;
        }
        struct synap_zipw *z = synap_zipw_new();
        size_t n;
        uint8_t *b = bundle_json(&s, g->noutputs, &n);
        synap_zipw_add(z, "bundle.json", b, n);
        free(b);
        for (size_t k = 0; k < s.nsubs; k++) {
            char name[32];
            snprintf(name, sizeof name, "%zu/model.ir", k);
            synap_zipw_add(z, name, irs[k], nirs[k]);
            b = model_json(&o, g, &s.subs[k], &n);
            snprintf(name, sizeof name, "%zu/model.json", k);
            synap_zipw_add(z, name, b, n);
            free(b);
        }
        out->nout = 2;
        synap_zipw_finish(z, &out->data[0], &out->n[0]);
    }
    out->data[1] = model_info(&o, g, &cg, &s, &out->n[1]);
    rc = 0;
    goto out;
fail_input:
    synap_err_prefix(err, "%s", what);
out:
    if (rc) {
        for (size_t i = 0; i < SYNAP_PACK_MAX_OUTPUTS; i++)
            free(out->data[i]);
        memset(out, 0, sizeof *out);
    }
    for (size_t k = 0; irs && k < s.nsubs; k++)
        free(irs[k]);
    synap_codegen_info_free(&cg);
    free(irs);
    free(nirs);
    synap_arena_free(a);
    return rc;
}
