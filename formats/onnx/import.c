/* ONNX ModelProto -> synap graph: reads and checks the file, inlines
 * model-local functions, sorts nodes, translates each node through the op
 * table (ops.c) and runs shape inference and constant folding node by node,
 * so that later translations see shapes and folded constants. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/internal.h"

#define MAX_FUNCTION_DEPTH 16
#define MAX_SUBGRAPH_DEPTH 16

/* ---- a string-keyed hash map (open addressing) ----------------------------
 * Models have thousands of tensors: a linear name search per input would be
 * quadratic. Keys are borrowed (protobuf strings, the graph's or the scratch
 * arena's). */
struct map_entry {
    const char *key;
    uint32_t u;                    /* tensor index or node index */
    const Onnx__TensorProto *init; /* a not yet materialized initializer */
};

struct map {
    struct map_entry *e;
    size_t cap, len;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct map_entry *map_get(const struct map *m, const char *key)
{
    if (!m->cap) return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].key) return NULL;
        if (!strcmp(m->e[i].key, key)) return &m->e[i];
    }
}

/* The entry for key, created (u = SYNAP_NONE) when absent. */
static struct map_entry *map_put(struct map *m, const char *key)
{
    if (2 * (m->len + 1) > m->cap) {
        struct map old = *m;
        m->cap = m->cap ? 2 * m->cap : 256;
        m->e = synap_xcalloc(m->cap, sizeof *m->e);
        m->len = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.e[i].key) *map_put(m, old.e[i].key) = old.e[i];
        free(old.e);
    }
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->e[i].key) {
        if (!strcmp(m->e[i].key, key)) return &m->e[i];
        i = (i + 1) & (m->cap - 1);
    }
    m->e[i].key = key;
    m->e[i].u = SYNAP_NONE;
    m->e[i].init = NULL;
    m->len++;
    return &m->e[i];
}

static void map_free(struct map *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* ---- the import context ---------------------------------------------------- */
struct node_vec {
    struct onnx_node *v;
    size_t n, cap;
};

struct onnx_ctx {
    const char *path;
    char *dir; /* the model's folder: external data resolves against it */
    const Onnx__ModelProto *model;
    struct synap_graph *g;
    struct synap_err *err;
    struct synap_arena *tmp; /* renamed strings, inlined nodes, resolved attributes */
    struct map names;        /* ONNX tensor name -> tensor / initializer */
    struct onnx_extfile *ext;
    int opset;
    int depth; /* If nesting */
};

struct synap_graph *onnx_graph(struct onnx_ctx *c)
{
    return c->g;
}
struct synap_err *onnx_err(struct onnx_ctx *c)
{
    return c->err;
}

static const char *norm_domain(const char *d)
{
    return !d || !strcmp(d, "ai.onnx") ? "" : d;
}

/* "Conv" or "com.microsoft.FusedConv" for messages. */
static const char *op_label(struct onnx_ctx *c, const struct onnx_node *n)
{
    if (!*n->domain) return n->op_type;
    size_t len = strlen(n->domain) + strlen(n->op_type) + 2;
    char *s = synap_arena_alloc(c->tmp, len);
    snprintf(s, len, "%s.%s", n->domain, n->op_type);
    return s;
}

/* ---- attributes ------------------------------------------------------------ */
/* Old exporters leave `type` unset: infer it from the field that holds a value. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return a->type;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

const Onnx__AttributeProto *onnx_attr(const struct onnx_node *n, const char *name)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (n->attrs[i] && n->attrs[i]->name && !strcmp(n->attrs[i]->name, name))
            return n->attrs[i];
    return NULL;
}

int64_t onnx_attr_int(const struct onnx_node *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a) return def;
    int t = attr_type(a);
    if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) return a->i;
    if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) return (int64_t)a->f;
    return def;
}

float onnx_attr_float(const struct onnx_node *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a) return def;
    int t = attr_type(a);
    if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) return a->f;
    if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) return (float)a->i;
    return def;
}

/* protobuf strings are length-counted bytes: NUL-terminate a copy. */
static char *bytes_str(struct synap_arena *a, const ProtobufCBinaryData *b)
{
    char *s = synap_arena_alloc(a, b->len + 1);
    if (b->len) memcpy(s, b->data, b->len);
    return s;
}

/* ---- tensors ------------------------------------------------------------ */
static int materialize(struct onnx_ctx *c, struct map_entry *e)
{
    if (e->u != SYNAP_NONE || !e->init) return 0;
    struct onnx_tdata d;
    if (onnx_tensor_decode(e->init, c->dir, &c->ext, &d, c->err) < 0) return -1;
    e->u = synap_graph_add_const(c->g, e->key, d.dtype, d.rank, d.dims, d.data, d.nbytes);
    e->key = c->g->tensors[e->u].name;
    onnx_tdata_free(&d);
    return 0;
}

/* Tensor of an ONNX name; SYNAP_NONE when unknown, -1 on a bad initializer. */
static int lookup(struct onnx_ctx *c, const char *name, uint32_t *t)
{
    struct map_entry *e = map_get(&c->names, name);
    *t = SYNAP_NONE;
    if (!e) return 0;
    if (materialize(c, e) < 0) return -1;
    *t = e->u;
    return 0;
}

int onnx_input(struct onnx_ctx *c, const struct onnx_node *n, size_t k, uint32_t *t)
{
    *t = SYNAP_NONE;
    if (k >= n->ninputs || !*n->inputs[k]) return 0;
    if (lookup(c, n->inputs[k], t) < 0) return -1;
    if (*t == SYNAP_NONE)
        return synap_errf(c->err,
                          "input %zu '%s' is not produced by any node, graph input or initializer",
                          k, n->inputs[k]);
    return 0;
}

static int define(struct onnx_ctx *c, const char *name, uint32_t t)
{
    struct map_entry *e = map_get(&c->names, name);
    if (e) return synap_errf(c->err, "tensor '%s' is defined twice", name);
    e = map_put(&c->names, c->g->tensors[t].name);
    e->u = t;
    return 0;
}

int onnx_output(struct onnx_ctx *c, const struct onnx_node *n, size_t k, uint32_t *t)
{
    *t = SYNAP_NONE;
    if (k >= n->noutputs || !*n->outputs[k]) return 0;
    if (map_get(&c->names, n->outputs[k]))
        return synap_errf(c->err,
                          "output '%s' is already defined (by another node, a graph "
                          "input or an initializer)",
                          n->outputs[k]);
    *t = synap_graph_add_tensor(c->g, n->outputs[k], SYNAP_DTYPE_UNDEFINED, 0, NULL);
    return define(c, n->outputs[k], *t);
}

/* hint, or hint_1, hint_2, ... when taken. */
static const char *unique_name(struct onnx_ctx *c, const char *hint)
{
    if (!map_get(&c->names, hint)) return hint;
    size_t len = strlen(hint) + 24;
    char *s = synap_arena_alloc(c->tmp, len);
    for (unsigned k = 1;; k++) {
        snprintf(s, len, "%s_%u", hint, k);
        if (!map_get(&c->names, s)) return s;
    }
}

uint32_t onnx_temp(struct onnx_ctx *c, const char *hint)
{
    uint32_t t = synap_graph_add_tensor(c->g, unique_name(c, hint), SYNAP_DTYPE_UNDEFINED, 0, NULL);
    map_put(&c->names, c->g->tensors[t].name)->u = t;
    return t;
}

uint32_t onnx_const(struct onnx_ctx *c, const char *hint, enum synap_dtype dtype, int rank,
                    const int64_t *dims, const void *data, size_t nbytes)
{
    uint32_t t = synap_graph_add_const(c->g, unique_name(c, hint), dtype, rank, dims, data, nbytes);
    map_put(&c->names, c->g->tensors[t].name)->u = t;
    return t;
}

uint32_t onnx_const_i64(struct onnx_ctx *c, const char *hint, const int64_t *v, size_t count)
{
    int64_t dim = (int64_t)count;
    return onnx_const(c, hint, SYNAP_DTYPE_INT64, 1, &dim, v, count * sizeof *v);
}

int onnx_define_const(struct onnx_ctx *c, const char *name, enum synap_dtype dtype, int rank,
                      const int64_t *dims, const void *data, size_t nbytes)
{
    if (map_get(&c->names, name)) return synap_errf(c->err, "output '%s' is already defined", name);
    uint32_t t = synap_graph_add_const(c->g, name, dtype, rank, dims, data, nbytes);
    return define(c, name, t);
}

int onnx_alias(struct onnx_ctx *c, const char *name, uint32_t t)
{
    if (map_get(&c->names, name)) return synap_errf(c->err, "output '%s' is already defined", name);
    map_put(&c->names, synap_arena_strdup(c->tmp, name))->u = t;
    return 0;
}

int onnx_tensor_const(struct onnx_ctx *c, const Onnx__TensorProto *t, const char *name,
                      uint32_t *out)
{
    struct onnx_tdata d;
    if (onnx_tensor_decode(t, c->dir, &c->ext, &d, c->err) < 0) return -1;
    *out = onnx_const(c, name, d.dtype, d.rank, d.dims, d.data, d.nbytes);
    onnx_tdata_free(&d);
    return 0;
}

/* ---- nodes -------------------------------------------------------------- */
size_t onnx_add_node(struct onnx_ctx *c, const char *name, enum synap_op op, const uint32_t *ins,
                     size_t nin, const uint32_t *outs, size_t nout)
{
    struct synap_node *nd = synap_graph_add_node(c->g, name, op, nin, nout);
    for (size_t i = 0; i < nin; i++)
        nd->inputs[i] = ins[i];
    for (size_t i = 0; i < nout; i++)
        nd->outputs[i] = outs[i];
    return c->g->nnodes - 1;
}

static int skipped(const char *name, const char *const *skip)
{
    /* no canonical op has these: opset-1 bookkeeping and graph-level hints */
    if (!strcmp(name, "consumed_inputs")) return 1;
    for (; skip && *skip; skip++)
        if (!strcmp(*skip, "*") || !strcmp(*skip, name)) return 1;
    return 0;
}

int onnx_copy_attrs(struct onnx_ctx *c, size_t i, const struct onnx_node *n,
                    const char *const *skip)
{
    struct synap_graph *g = c->g;
    for (size_t k = 0; k < n->nattrs; k++) {
        const Onnx__AttributeProto *a = n->attrs[k];
        if (!a || !a->name || skipped(a->name, skip)) continue;
        struct synap_node *nd = &g->nodes[i];
        switch (attr_type(a)) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            synap_node_set_int(g, nd, a->name, a->i);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            synap_node_set_float(g, nd, a->name, a->f);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            synap_node_set_string(g, nd, a->name, bytes_str(c->tmp, &a->s));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            synap_node_set_ints(g, nd, a->name, a->ints, a->n_ints);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            synap_node_set_floats(g, nd, a->name, a->floats, a->n_floats);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
            const char **s = synap_arena_alloc(c->tmp, (a->n_strings + 1) * sizeof *s);
            for (size_t j = 0; j < a->n_strings; j++)
                s[j] = bytes_str(c->tmp, &a->strings[j]);
            synap_node_set_strings(g, nd, a->name, s, a->n_strings);
            break;
        }
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
            uint32_t t;
            size_t len = strlen(g->nodes[i].name) + strlen(a->name) + 2;
            char *hint = synap_arena_alloc(c->tmp, len);
            snprintf(hint, len, "%s:%s", g->nodes[i].name, a->name);
            if (onnx_tensor_const(c, a->t, hint, &t) < 0) {
                synap_err_prefix(c->err, "attribute '%s'", a->name);
                return -1;
            }
            synap_node_set_tensor(g, &g->nodes[i], a->name, t);
            break;
        }
        default:
            return synap_errf(c->err, "attribute '%s': this attribute type is not supported",
                              a->name);
        }
    }
    return 0;
}

int onnx_infer(struct onnx_ctx *c, size_t i)
{
    const struct synap_node *nd = &c->g->nodes[i];
    const struct synap_op_info *oi = &synap_op_table[nd->op];
    /* kernels index their inputs by position: check the arity first */
    if (nd->ninputs < oi->min_in || nd->ninputs > oi->max_in)
        return synap_errf(c->err, "%zu inputs, expected %d..%d", nd->ninputs, oi->min_in,
                          oi->max_in);
    if (nd->noutputs < oi->min_out || nd->noutputs > oi->max_out)
        return synap_errf(c->err, "%zu outputs, expected %d..%d", nd->noutputs, oi->min_out,
                          oi->max_out);
    return synap_graph_infer_node(c->g, i, true, c->err) < 0 ? -1 : 0;
}

int onnx_node_begin(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
                    const uint32_t *ins, size_t nin, const char *const *skip, size_t *idx)
{
    /* trailing omitted inputs and outputs are dropped; Split keeps its outputs
     * because their count decides the split */
    while (nin && ins[nin - 1] == SYNAP_NONE)
        nin--;
    size_t nout = n->noutputs;
    if (op != SYNAP_OP_SPLIT)
        while (nout && !*n->outputs[nout - 1])
            nout--;
    uint32_t outs_small[16], *outs = nout > 16 ? synap_xmalloc(nout * sizeof *outs) : outs_small;
    int rc = -1;
    for (size_t k = 0; k < nout; k++)
        if (onnx_output(c, n, k, &outs[k]) < 0) goto out;
    *idx = onnx_add_node(c, n->name, op, ins, nin, outs, nout);
    rc = onnx_copy_attrs(c, *idx, n, skip);
out:
    if (outs != outs_small) free(outs);
    return rc;
}

int onnx_emit_ins(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
                  const uint32_t *ins, size_t nin, const char *const *skip)
{
    size_t idx;
    if (onnx_node_begin(c, n, op, ins, nin, skip, &idx) < 0) return -1;
    return onnx_infer(c, idx);
}

int onnx_emit(struct onnx_ctx *c, const struct onnx_node *n, enum synap_op op,
              const char *const *skip)
{
    uint32_t small[16], *ins = n->ninputs > 16 ? synap_xmalloc(n->ninputs * sizeof *ins) : small;
    int rc = -1;
    for (size_t k = 0; k < n->ninputs; k++)
        if (onnx_input(c, n, k, &ins[k]) < 0) goto out;
    rc = onnx_emit_ins(c, n, op, ins, n->ninputs, skip);
out:
    if (ins != small) free(ins);
    return rc;
}

/* ---- model-local functions ------------------------------------------------ */
static void vec_push(struct node_vec *v, const struct onnx_node *n)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->v = synap_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = *n;
}

static const Onnx__FunctionProto *find_function(struct onnx_ctx *c, const struct onnx_node *n)
{
    for (size_t i = 0; i < c->model->n_functions; i++) {
        const Onnx__FunctionProto *f = c->model->functions[i];
        if (f && f->name && !strcmp(f->name, n->op_type) &&
            !strcmp(norm_domain(f->domain), n->domain))
            return f;
    }
    return NULL;
}

static const char *join(struct synap_arena *a, const char *x, const char *y)
{
    size_t len = strlen(x) + strlen(y) + 2;
    char *s = synap_arena_alloc(a, len);
    snprintf(s, len, "%s/%s", x, y);
    return s;
}

/* A name inside a function body seen from the call site: formal inputs and
 * outputs become the call's names, everything else is made private. */
static const char *rename_in_call(struct onnx_ctx *c, const Onnx__FunctionProto *f,
                                  const struct onnx_node *call, const char *name)
{
    if (!*name) return "";
    for (size_t i = 0; i < f->n_input; i++)
        if (!strcmp(f->input[i], name)) return i < call->ninputs ? call->inputs[i] : "";
    for (size_t i = 0; i < f->n_output; i++)
        if (!strcmp(f->output[i], name) && i < call->noutputs && *call->outputs[i])
            return call->outputs[i];
    return join(c->tmp, call->name, name);
}

static void node_from_proto(const Onnx__NodeProto *p, int opset, struct onnx_node *n)
{
    memset(n, 0, sizeof *n);
    n->op_type = p->op_type ? p->op_type : "";
    n->domain = norm_domain(p->domain);
    n->inputs = (const char **)p->input;
    n->ninputs = p->n_input;
    n->outputs = (const char **)p->output;
    n->noutputs = p->n_output;
    n->attrs = p->attribute;
    n->nattrs = p->n_attribute;
    n->opset = opset;
    /* an unnamed node takes its first output's name (metafiles refer to it) */
    n->name = p->name && *p->name            ? p->name
              : p->n_output && *p->output[0] ? p->output[0]
                                             : n->op_type;
}

static int expand(struct onnx_ctx *c, const struct onnx_node *n, int depth, struct node_vec *out)
{
    const Onnx__FunctionProto *f = find_function(c, n);
    if (!f) {
        vec_push(out, n);
        return 0;
    }
    if (depth >= MAX_FUNCTION_DEPTH)
        return synap_errf(c->err, "node '%s' (%s): functions nest deeper than %d (recursive?)",
                          n->name, n->op_type, MAX_FUNCTION_DEPTH);
    int opset = n->opset;
    for (size_t i = 0; i < f->n_opset_import; i++)
        if (f->opset_import[i] && !*norm_domain(f->opset_import[i]->domain))
            opset = (int)f->opset_import[i]->version;
    for (size_t i = 0; i < f->n_node; i++) {
        const Onnx__NodeProto *p = f->node[i];
        struct onnx_node m;
        node_from_proto(p, opset, &m);
        m.name = join(c->tmp, n->name, m.name);
        const char **ins = synap_arena_alloc(c->tmp, (p->n_input + 1) * sizeof *ins);
        for (size_t k = 0; k < p->n_input; k++)
            ins[k] = rename_in_call(c, f, n, p->input[k]);
        const char **outs = synap_arena_alloc(c->tmp, (p->n_output + 1) * sizeof *outs);
        for (size_t k = 0; k < p->n_output; k++)
            outs[k] = rename_in_call(c, f, n, p->output[k]);
        m.inputs = ins;
        m.outputs = outs;
        /* attributes referring to the caller's (ref_attr_name) take its value */
        Onnx__AttributeProto **attrs =
            synap_arena_alloc(c->tmp, (p->n_attribute + 1) * sizeof *attrs);
        size_t na = 0;
        for (size_t k = 0; k < p->n_attribute; k++) {
            Onnx__AttributeProto *a = p->attribute[k];
            if (!a) continue;
            if (a->ref_attr_name && *a->ref_attr_name) {
                const Onnx__AttributeProto *v = onnx_attr(n, a->ref_attr_name);
                if (!v) continue; /* not given at the call: the op's default applies */
                Onnx__AttributeProto *r = synap_arena_alloc(c->tmp, sizeof *r);
                *r = *v;
                r->name = a->name;
                r->ref_attr_name = NULL;
                a = r;
            }
            attrs[na++] = a;
        }
        m.attrs = attrs;
        m.nattrs = na;
        if (expand(c, &m, depth + 1, out) < 0) return -1;
    }
    return 0;
}

static int collect_nodes(struct onnx_ctx *c, Onnx__NodeProto *const *nodes, size_t nnodes,
                         int opset, struct node_vec *out)
{
    for (size_t i = 0; i < nnodes; i++) {
        if (!nodes[i]) continue;
        struct onnx_node n;
        node_from_proto(nodes[i], opset, &n);
        if (expand(c, &n, 0, out) < 0) return -1;
    }
    return 0;
}

/* Every op that cannot be translated, in one message. */
static int check_supported(struct onnx_ctx *c, const struct node_vec *v)
{
    size_t nbad = 0;
    for (size_t i = 0; i < v->n; i++)
        if (*v->v[i].domain || !onnx_op_find(v->v[i].op_type)) nbad++;
    if (!nbad) return 0;
    char list[sizeof c->err->msg];
    size_t off = 0, shown = 0;
    list[0] = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct onnx_node *n = &v->v[i];
        if (!*n->domain && onnx_op_find(n->op_type)) continue;
        char item[256];
        snprintf(item, sizeof item, "%snode '%s' (%s)", shown ? ", " : "", n->name, op_label(c, n));
        /* keep room for ", ... (N more)" so the message stays one readable line */
        if (off + strlen(item) + 40 >= sizeof list - 200) break;
        off += (size_t)snprintf(list + off, sizeof list - off, "%s", item);
        shown++;
    }
    if (shown < nbad) snprintf(list + off, sizeof list - off, ", ... (%zu more)", nbad - shown);
    return synap_errf(c->err, "%zu unsupported op%s: %s", nbad, nbad == 1 ? "" : "s", list);
}

/* ---- topological order -------------------------------------------------------- */
/* Names a subgraph reads from the enclosing scope (or its own; harmless). */
static void subgraph_names(const Onnx__GraphProto *g, void (*fn)(void *, const char *), void *ctx,
                           int depth)
{
    if (!g || depth > MAX_SUBGRAPH_DEPTH) return;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *p = g->node[i];
        if (!p) continue;
        for (size_t k = 0; k < p->n_input; k++)
            fn(ctx, p->input[k]);
        for (size_t k = 0; k < p->n_attribute; k++) {
            const Onnx__AttributeProto *a = p->attribute[k];
            if (!a) continue;
            subgraph_names(a->g, fn, ctx, depth + 1);
            for (size_t j = 0; j < a->n_graphs; j++)
                subgraph_names(a->graphs[j], fn, ctx, depth + 1);
        }
    }
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i] && g->output[i]->name) fn(ctx, g->output[i]->name);
}

struct deps {
    const struct map *producer;
    size_t self;
    size_t *list;
    size_t n, cap;
};

static void add_dep(void *ctx, const char *name)
{
    struct deps *d = ctx;
    const struct map_entry *e = name && *name ? map_get(d->producer, name) : NULL;
    if (!e) return;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->list = synap_xrealloc(d->list, d->cap * sizeof *d->list);
    }
    d->list[d->n++] = e->u;
}

/* The producers node i waits for (duplicates allowed). */
static void node_deps(const struct node_vec *v, size_t i, struct deps *d)
{
    const struct onnx_node *n = &v->v[i];
    d->n = 0;
    d->self = i;
    for (size_t k = 0; k < n->ninputs; k++)
        add_dep(d, n->inputs[k]);
    for (size_t k = 0; k < n->nattrs; k++) {
        const Onnx__AttributeProto *a = n->attrs[k];
        if (!a) continue;
        subgraph_names(a->g, add_dep, d, 0);
        for (size_t j = 0; j < a->n_graphs; j++)
            subgraph_names(a->graphs[j], add_dep, d, 0);
    }
}

/* Reorders v topologically, keeping the file's order where it can (ONNX
 * models are not always sorted). A cycle is an error naming a node on it. */
static int toposort(struct onnx_ctx *c, struct node_vec *v)
{
    size_t nn = v->n;
    if (!nn) return 0;
    struct map producer = {0};
    for (size_t i = 0; i < nn; i++)
        for (size_t k = 0; k < v->v[i].noutputs; k++) {
            const char *o = v->v[i].outputs[k];
            if (!*o) continue;
            struct map_entry *e = map_put(&producer, o);
            if (e->u == SYNAP_NONE) e->u = (uint32_t)i;
        }
    size_t *indeg = synap_xcalloc(nn, sizeof *indeg);
    size_t *start = synap_xcalloc(nn + 1, sizeof *start);
    struct deps d = {.producer = &producer};
    for (size_t i = 0; i < nn; i++) {
        node_deps(v, i, &d);
        indeg[i] = d.n;
        for (size_t k = 0; k < d.n; k++)
            start[d.list[k] + 1]++;
    }
    for (size_t i = 0; i < nn; i++)
        start[i + 1] += start[i];
    size_t *cons = synap_xmalloc((start[nn] + 1) * sizeof *cons);
    size_t *fill = synap_xcalloc(nn, sizeof *fill);
    for (size_t i = 0; i < nn; i++) {
        node_deps(v, i, &d);
        for (size_t k = 0; k < d.n; k++) {
            size_t p = d.list[k];
            cons[start[p] + fill[p]++] = i;
        }
    }
    size_t *order = synap_xmalloc(nn * sizeof *order);
    size_t no = synap_topo_order(nn, indeg, start, cons, order);
    int rc = 0;
    if (no != nn) {
        /* walk unfinished predecessors until a node repeats: it is on a cycle */
        unsigned char *seen = synap_xcalloc(nn, 1);
        size_t cur = 0;
        while (!indeg[cur])
            cur++;
        while (!seen[cur]) {
            seen[cur] = 1;
            node_deps(v, cur, &d);
            for (size_t k = 0; k < d.n; k++)
                if (indeg[d.list[k]]) {
                    cur = d.list[k];
                    break;
                }
        }
        free(seen);
        rc = synap_errf(c->err, "graph has a cycle through node '%s' (%s)", v->v[cur].name,
                        op_label(c, &v->v[cur]));
    } else {
        struct onnx_node *sorted = synap_xmalloc(nn * sizeof *sorted);
        for (size_t i = 0; i < nn; i++)
            sorted[i] = v->v[order[i]];
        free(v->v);
        v->v = sorted;
        v->cap = nn;
    }
    map_free(&producer);
    free(d.list);
    free(indeg);
    free(start);
    free(cons);
    free(fill);
    free(order);
    return rc;
}

/* ---- translation ------------------------------------------------------------- */
static int translate(struct onnx_ctx *c, const struct onnx_node *n)
{
    const struct onnx_op_entry *e = onnx_op_find(n->op_type);
    int r;
    if (!e || *n->domain)
        r = synap_errf(c->err, "unsupported op");
    else if (e->fn)
        r = e->fn(c, n, e->op);
    else
        r = onnx_emit(c, n, e->op, NULL);
    if (r < 0) {
        /* kernel inference names the node already (by its canonical op) */
        if (strncmp(c->err->msg, "node '", 6))
            synap_err_prefix(c->err, "node '%s' (%s)", n->name, op_label(c, n));
        return -1;
    }
    return 0;
}

static int translate_nodes(struct onnx_ctx *c, Onnx__NodeProto *const *nodes, size_t nnodes,
                           int opset)
{
    struct node_vec v = {0};
    int rc = -1;
    if (collect_nodes(c, nodes, nnodes, opset, &v) < 0) goto out;
    if (check_supported(c, &v) < 0) goto out;
    if (toposort(c, &v) < 0) goto out;
    for (size_t i = 0; i < v.n; i++)
        if (translate(c, &v.v[i]) < 0) goto out;
    rc = 0;
out:
    free(v.v);
    return rc;
}

static int register_initializers(struct onnx_ctx *c, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t) continue;
        if (!t->name || !*t->name) return synap_errf(c->err, "initializer %zu has no name", i);
        if (map_get(&c->names, t->name))
            return synap_errf(c->err, "initializer '%s' is defined twice", t->name);
        map_put(&c->names, t->name)->init = t;
    }
    if (gp->n_sparse_initializer)
        return synap_errf(c->err, "sparse initializers are not supported");
    return 0;
}

int onnx_inline_graph(struct onnx_ctx *c, const struct onnx_node *n, const Onnx__GraphProto *sub)
{
    if (!sub) return synap_errf(c->err, "missing subgraph");
    if (c->depth >= MAX_SUBGRAPH_DEPTH)
        return synap_errf(c->err, "subgraphs nest deeper than %d", MAX_SUBGRAPH_DEPTH);
    if (sub->n_output < n->noutputs)
        return synap_errf(c->err, "the branch has %zu outputs, the node %zu", sub->n_output,
                          n->noutputs);
    c->depth++;
    int rc = -1;
    if (register_initializers(c, sub) < 0) goto out;
    if (translate_nodes(c, sub->node, sub->n_node, n->opset) < 0) goto out;
    /* the branch's results become the node's outputs through Identity nodes,
     * which keeps both names (folded away when constant) */
    for (size_t k = 0; k < n->noutputs; k++) {
        uint32_t src, dst;
        const char *sname = sub->output[k] && sub->output[k]->name ? sub->output[k]->name : "";
        if (lookup(c, sname, &src) < 0) goto out;
        if (src == SYNAP_NONE) {
            synap_errf(c->err, "branch output '%s' is not produced", sname);
            goto out;
        }
        if (onnx_output(c, n, k, &dst) < 0) goto out;
        if (dst == SYNAP_NONE) continue;
        const char *name = k ? join(c->tmp, n->name, n->outputs[k]) : n->name;
        size_t idx = onnx_add_node(c, name, SYNAP_OP_IDENTITY, &src, 1, &dst, 1);
        if (onnx_infer(c, idx) < 0) goto out;
    }
    rc = 0;
out:
    c->depth--;
    return rc;
}

/* ---- graph inputs --------------------------------------------------------------- */
static const struct synap_onnx_shape *opt_shape(const struct synap_onnx_opts *o, const char *name)
{
    for (size_t i = 0; o && i < o->nshapes; i++)
        if (o->shapes[i].name && !strcmp(o->shapes[i].name, name)) return &o->shapes[i];
    return NULL;
}

static const struct synap_onnx_value *opt_value(const struct synap_onnx_opts *o, const char *name)
{
    for (size_t i = 0; o && i < o->nvalues; i++)
        if (o->values[i].name && !strcmp(o->values[i].name, name)) return &o->values[i];
    return NULL;
}

static int is_graph_input(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_input; i++)
        if (gp->input[i] && gp->input[i]->name && !strcmp(gp->input[i]->name, name)) return 1;
    return 0;
}

/* "--input-shape x=1,3,height,width": the known dims, the dynamic ones by name. */
static void shape_hint(const char *name, const Onnx__TensorShapeProto *sp, char *buf, size_t n)
{
    size_t off = (size_t)snprintf(buf, n, "%s=", name);
    for (size_t i = 0; i < sp->n_dim && off < n; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
        const char *sep = i ? "," : "";
        if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            d->dim_value >= 0)
            off += (size_t)snprintf(buf + off, n - off, "%s%" PRId64, sep, d->dim_value);
        else if (i == 0)
            off += (size_t)snprintf(buf + off, n - off, "%s1", sep);
        else if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                 d->dim_param && *d->dim_param)
            off += (size_t)snprintf(buf + off, n - off, "%s%s", sep, d->dim_param);
        else
            off += (size_t)snprintf(buf + off, n - off, "%sN", sep);
    }
}

static int add_input(struct onnx_ctx *c, const Onnx__ValueInfoProto *vi,
                     const struct synap_onnx_opts *opts, uint32_t *out)
{
    const char *name = vi->name;
    *out = SYNAP_NONE;
    const struct synap_onnx_value *val = opt_value(opts, name);
    if (val) {
        const struct synap_value *v = &val->value;
        int64_t ne = synap_shape_nelem(v->rank, v->dims);
        size_t nbytes;
        if (v->rank < 0 || v->rank > SYNAP_MAX_RANK || ne < 0 || synap_dtype_size(v->dtype) == 0 ||
            synap_mul_overflow((size_t)ne, synap_dtype_size(v->dtype), &nbytes))
            return synap_errf(c->err, "input '%s': bad --input-value", name);
        return onnx_define_const(c, name, v->dtype, v->rank, v->dims, v->data, nbytes);
    }
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return synap_errf(c->err, "input '%s': only tensor inputs are supported", name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int32_t et = tt->has_elem_type ? tt->elem_type : 0;
    enum synap_dtype dt = onnx_dtype(et);
    if (dt == SYNAP_DTYPE_UNDEFINED)
        return synap_errf(c->err, "input '%s': %s inputs are not supported", name,
                          onnx_dtype_name(et));
    int rank;
    int64_t dims[SYNAP_MAX_RANK];
    const struct synap_onnx_shape *os = opt_shape(opts, name);
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (os) {
        if (os->rank < 0 || os->rank > SYNAP_MAX_RANK)
            return synap_errf(c->err, "input '%s': --input-shape rank %d outside 0..%d", name,
                              os->rank, SYNAP_MAX_RANK);
        if (sp && sp->n_dim != (size_t)os->rank)
            return synap_errf(c->err,
                              "input '%s': --input-shape gives %d dimensions, the model %zu", name,
                              os->rank, sp->n_dim);
        rank = os->rank;
        for (int i = 0; i < rank; i++) {
            if (os->dims[i] < 0)
                return synap_errf(c->err, "input '%s': --input-shape has a negative dimension",
                                  name);
            dims[i] = os->dims[i];
        }
    } else {
        if (!sp)
            return synap_errf(c->err,
                              "input '%s': the model gives no shape; fix it with "
                              "--input-shape %s=D0,D1,...",
                              name, name);
        if (sp->n_dim > SYNAP_MAX_RANK)
            return synap_errf(c->err, "input '%s': rank %zu exceeds the maximum of %d", name,
                              sp->n_dim, SYNAP_MAX_RANK);
        rank = (int)sp->n_dim;
        for (int i = 0; i < rank; i++) {
            const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
            if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                d->dim_value >= 0) {
                dims[i] = d->dim_value;
            } else if (i == 0) {
                dims[i] = 1; /* a dynamic batch: one sample */
            } else {
                char hint[512];
                shape_hint(name, sp, hint, sizeof hint);
                const char *param =
                    d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                            d->dim_param
                        ? d->dim_param
                        : "";
                return synap_errf(c->err,
                                  "input '%s': dimension %d is dynamic ('%s'); fix it with "
                                  "--input-shape %s",
                                  name, i, param, hint);
            }
        }
    }
    int64_t ne = synap_shape_nelem(rank, dims);
    size_t nbytes;
    if (ne < 0 || synap_mul_overflow((size_t)ne, synap_dtype_size(dt), &nbytes)) {
        char s[256];
        return synap_errf(c->err, "input '%s': shape %s has too many elements", name,
                          synap_shape_str(rank, dims, s, sizeof s));
    }
    *out = synap_graph_add_tensor(c->g, name, dt, rank, dims);
    return define(c, name, *out);
}

/* ---- the model ---------------------------------------------------------------- */
static const char lfs_magic[] = "version https://git-lfs.github.com/spec/";

static int import_graph(struct onnx_ctx *c, const struct synap_onnx_opts *opts)
{
    const Onnx__GraphProto *gp = c->model->graph;
    struct synap_graph *g = c->g;
    if (gp->n_node == 0 || gp->n_output == 0)
        return synap_errf(c->err, "empty graph (%zu nodes, %zu outputs)", gp->n_node, gp->n_output);
    if (register_initializers(c, gp) < 0) return -1;
    /* options must name real inputs: a typo would silently do nothing */
    for (size_t i = 0; opts && i < opts->nshapes; i++)
        if (!opts->shapes[i].name || !is_graph_input(gp, opts->shapes[i].name))
            return synap_errf(c->err, "--input-shape: the model has no input '%s'",
                              opts->shapes[i].name ? opts->shapes[i].name : "");
    for (size_t i = 0; opts && i < opts->nvalues; i++)
        if (!opts->values[i].name || !is_graph_input(gp, opts->values[i].name))
            return synap_errf(c->err, "--input-value: the model has no input '%s'",
                              opts->values[i].name ? opts->values[i].name : "");

    g->inputs = synap_arena_alloc(g->arena, (gp->n_input + 1) * sizeof *g->inputs);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi || !vi->name || !*vi->name)
            return synap_errf(c->err, "graph input %zu has no name", i);
        /* old exporters list initializers among the inputs: they are constants */
        const struct map_entry *e = map_get(&c->names, vi->name);
        if (e && e->init) continue;
        if (e) return synap_errf(c->err, "graph input '%s' is listed twice", vi->name);
        uint32_t t;
        if (add_input(c, vi, opts, &t) < 0) return -1;
        if (t != SYNAP_NONE) g->inputs[g->ninputs++] = t;
    }

    if (translate_nodes(c, gp->node, gp->n_node, c->opset) < 0) return -1;

    g->outputs = synap_arena_alloc(g->arena, gp->n_output * sizeof *g->outputs);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i] && gp->output[i]->name ? gp->output[i]->name : "";
        uint32_t t;
        if (lookup(c, name, &t) < 0) return -1;
        if (t == SYNAP_NONE)
            return synap_errf(c->err, "graph output '%s' is not produced by any node", name);
        g->outputs[g->noutputs++] = t;
    }
    synap_graph_prune_dead(g);
    return 0;
}

struct synap_graph *synap_onnx_import(const char *path, const struct synap_onnx_opts *opts,
                                      struct synap_err *err)
{
    struct synap_err local;
    if (!err) err = &local; /* translations read the message back */
    struct synap_file f;
    if (synap_file_read(path, &f, err) < 0) return NULL;
    struct onnx_ctx c = {.path = path, .err = err};
    struct synap_graph *g = NULL;
    Onnx__ModelProto *model = NULL;
    int ok = 0;
    if (f.size >= sizeof lfs_magic - 1 && !memcmp(f.data, lfs_magic, sizeof lfs_magic - 1)) {
        synap_errf(err, "%s: is a git-lfs pointer file, not the model: run git lfs pull", path);
        goto out;
    }
    model = onnx__model_proto__unpack(NULL, f.size, f.data);
    if (!model) {
        synap_errf(err, "%s: not an ONNX model (protobuf parse failed)", path);
        goto out;
    }
    if (!model->graph || !model->has_ir_version) {
        synap_errf(err, "%s: not an ONNX model (no %s)", path,
                   !model->graph ? "graph" : "IR version");
        goto out;
    }
    int64_t opset = -1;
    for (size_t i = 0; i < model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = model->opset_import[i];
        if (o && !*norm_domain(o->domain)) opset = o->has_version ? o->version : 1;
    }
    if (opset < 0) {
        /* a model of other domains only: its ops get reported as unsupported */
        for (size_t i = 0; i < model->graph->n_node; i++)
            if (model->graph->node[i] && !*norm_domain(model->graph->node[i]->domain)) {
                synap_errf(err, "%s: the model imports no opset for the default domain", path);
                goto out;
            }
        opset = 18;
    }
    if (opset < 6 || opset > 18) {
        synap_errf(err, "%s: unsupported opset %" PRId64 " (supported: 6-18)", path, opset);
        goto out;
    }
    c.model = model;
    c.opset = (int)opset;
    c.dir = synap_xstrdup(path);
    char *slash = strrchr(c.dir, '/');
    if (slash)
        slash[slash == c.dir ? 1 : 0] = 0;
    else
        strcpy(c.dir, ".");
    c.tmp = synap_arena_new();
    c.g = g = synap_graph_new();
    g->producer = synap_arena_strdup(g->arena, "synap-import " SYNAP_VERSION);
    if (import_graph(&c, opts) < 0) {
        synap_err_prefix(err, "%s", path);
        goto out;
    }
    if (synap_graph_verify(g, path, err) < 0) goto out;
    ok = 1;
out:
    if (!ok) {
        synap_graph_free(g);
        g = NULL;
    }
    map_free(&c.names);
    onnx_extfiles_close(&c.ext);
    if (c.tmp) synap_arena_free(c.tmp);
    free(c.dir);
    if (model) onnx__model_proto__free_unpacked(model, NULL);
    synap_file_close(&f);
    return g;
}
