/* synap-import: ONNX model -> synap IR file (a stage over synap_stage_main). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "onnx/onnx.h"
#include "tflite/tflite.h"
#include "pipeline/stage.h"
#include "util/npy.h"

static const struct synap_stage_flag flags[] = {
    {"input-shape", "input_shapes", SYNAP_FLAG_LIST,
     "NAME=DIMS  fix the shape of graph input NAME, e.g. x=1,3,224,224 (repeatable)"},
    {"input-value", "input_values", SYNAP_FLAG_LIST,
     "NAME=FILE  bind graph input NAME to the constant in a .npy file (repeatable)"},
};

/* "x=1,3,224,224" ("x=" is a scalar); s is modified: the '=' ends the name. */
static int parse_shape(char *arg, struct synap_onnx_shape *s)
{
    char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) return -1;
    s->name = arg;
    s->rank = 0;
    for (char *p = eq + 1; *p;) {
        if (s->rank == SYNAP_MAX_RANK || *p < '0' || *p > '9') return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || (*end && *end != ',')) return -1;
        s->dims[s->rank++] = v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return -1; /* trailing comma */
    }
    *eq = 0;
    return 0;
}

/* input_shapes: ["NAME=D0,D1", ...] (the flags) or {"NAME": [D0, D1]} (import.json). */
static int get_shapes(struct synap_stage_ctx *c, struct synap_onnx_opts *o)
{
    const struct synap_json *v = synap_json_get(c->options, "input_shapes");
    if (!v) return 0;
    size_t n = synap_json_length(v);
    struct synap_onnx_shape *s = synap_arena_alloc(c->arena, (n + 1) * sizeof *s);
    o->shapes = s;
    if (synap_json_is_array(v)) {
        for (size_t i = 0; i < n; i++) {
            const char *str = synap_json_as_string(v->items[i]);
            if (!str) return synap_errf(c->err, "options: input_shapes[%zu] must be a string", i);
            if (parse_shape(synap_arena_strdup(c->arena, str), &s[i]) < 0)
                return synap_errf(c->err, "bad --input-shape '%s' (expected NAME=D0,D1,...)", str);
        }
    } else if (synap_json_is_object(v)) {
        for (size_t i = 0; i < n; i++) {
            const struct synap_json *dims = v->items[i];
            s[i].name = v->keys[i];
            if (!synap_json_is_array(dims) || dims->n > SYNAP_MAX_RANK)
                return synap_errf(c->err,
                                  "options: input_shapes['%s'] must be a list of at most %d "
                                  "dimensions",
                                  v->keys[i], SYNAP_MAX_RANK);
            s[i].rank = (int)dims->n;
            for (size_t k = 0; k < dims->n; k++) {
                int64_t d;
                if (synap_json_as_int64(dims->items[k], &d) < 0 || d < 0)
                    return synap_errf(c->err,
                                      "options: input_shapes['%s'][%zu] must be a non-negative "
                                      "integer",
                                      v->keys[i], k);
                s[i].dims[k] = d;
            }
        }
    } else {
        return synap_errf(c->err, "options: input_shapes must be a list of \"NAME=D0,D1\" strings "
                                  "or an object {\"NAME\": [D0, D1]}");
    }
    o->nshapes = n;
    return 0;
}

/* input_values: ["NAME=FILE.npy", ...] or {"NAME": "FILE.npy"}; names and files
 * in order (arena). */
static int get_values(struct synap_stage_ctx *c, const char ***names, const char ***files,
                      size_t *n)
{
    const struct synap_json *v = synap_json_get(c->options, "input_values");
    *n = synap_json_length(v);
    *names = synap_arena_alloc(c->arena, (*n + 1) * sizeof **names);
    *files = synap_arena_alloc(c->arena, (*n + 1) * sizeof **files);
    if (!v) return 0;
    if (synap_json_is_array(v)) {
        for (size_t i = 0; i < *n; i++) {
            const char *str = synap_json_as_string(v->items[i]);
            if (!str) return synap_errf(c->err, "options: input_values[%zu] must be a string", i);
            char *copy = synap_arena_strdup(c->arena, str);
            char *eq = strrchr(copy, '=');
            if (!eq || eq == copy || !eq[1])
                return synap_errf(c->err, "bad --input-value '%s' (expected NAME=FILE.npy)", str);
            *eq = 0;
            (*names)[i] = copy;
            (*files)[i] = eq + 1;
        }
    } else if (synap_json_is_object(v)) {
        for (size_t i = 0; i < *n; i++) {
            const char *f = synap_json_as_string(v->items[i]);
            if (!f || !*f)
                return synap_errf(c->err, "options: input_values['%s'] must be a file name",
                                  v->keys[i]);
            (*names)[i] = v->keys[i];
            (*files)[i] = f;
        }
    } else {
        return synap_errf(c->err, "options: input_values must be a list of \"NAME=FILE.npy\" "
                                  "strings or an object {\"NAME\": \"FILE.npy\"}");
    }
    return 0;
}

static int check_keys(struct synap_stage_ctx *c)
{
    const struct synap_json *o = c->options;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], "input_shapes") && strcmp(o->keys[i], "input_values"))
            return synap_errf(c->err,
                              "options: unknown key '%s'; valid keys: input_shapes, "
                              "input_values",
                              o->keys[i]);
    return 0;
}

/* ---- external data: files the importer will read, for the key and depfile ---- */
struct paths {
    const char **v;
    size_t n, cap;
    struct synap_arena *arena;
    const char *dir;
};

static void add_external(struct paths *p, const Onnx__TensorProto *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[i];
        if (!kv || !kv->key || !kv->value || strcmp(kv->key, "location")) continue;
        const char *loc = kv->value;
        /* unsafe locations are the importer's to report; so are missing files */
        if (!*loc || loc[0] == '/' || strstr(loc, "..")) continue;
        size_t len = strlen(p->dir) + strlen(loc) + 2;
        char *path = synap_arena_alloc(p->arena, len);
        snprintf(path, len, "%s/%s", p->dir, loc);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        int seen = 0;
        for (size_t k = 0; k < p->n && !seen; k++)
            seen = !strcmp(p->v[k], path);
        if (seen) continue;
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 8;
            const char **v = synap_arena_alloc(p->arena, cap * sizeof *v);
            if (p->n) memcpy(v, p->v, p->n * sizeof *v);
            p->v = v;
            p->cap = cap;
        }
        p->v[p->n++] = path;
    }
}

static void walk_graph(struct paths *p, const Onnx__GraphProto *g, int depth)
{
    if (!g || depth > 64) return;
    for (size_t i = 0; i < g->n_initializer; i++)
        add_external(p, g->initializer[i]);
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!n) continue;
        for (size_t k = 0; k < n->n_attribute; k++) {
            const Onnx__AttributeProto *a = n->attribute[k];
            if (!a) continue;
            add_external(p, a->t);
            for (size_t j = 0; j < a->n_tensors; j++)
                add_external(p, a->tensors[j]);
            walk_graph(p, a->g, depth + 1);
            for (size_t j = 0; j < a->n_graphs; j++)
                walk_graph(p, a->graphs[j], depth + 1);
        }
    }
}

/* TFLite FlatBuffers carry the file identifier "TFL3" at byte 4; a file
 * named .tflite goes to the TFLite importer too (which says what it is
 * not); anything else is read as ONNX (whose parser reports what it is not). */
static int is_tflite(const struct synap_stage_ctx *c)
{
    const struct synap_file *f = &c->input_data[0];
    const char *name = c->inputs[0];
    size_t n = strlen(name);
    if (n >= 7 && !strcmp(name + n - 7, ".tflite")) return 1;
    return f->size >= 8 && !memcmp(f->data + 4, "TFL3", 4);
}

static int extra_files(struct synap_stage_ctx *c, const char ***out, size_t *n)
{
    struct paths p = {.arena = c->arena};
    const char **names, **files;
    size_t nvalues;
    if (check_keys(c) < 0 || get_values(c, &names, &files, &nvalues) < 0) return -1;
    for (size_t i = 0; i < nvalues; i++) {
        if (p.n == p.cap) {
            size_t cap = p.cap ? 2 * p.cap : 8;
            const char **v = synap_arena_alloc(p.arena, cap * sizeof *v);
            if (p.n) memcpy(v, p.v, p.n * sizeof *v);
            p.v = v;
            p.cap = cap;
        }
        p.v[p.n++] = files[i];
    }
    /* A model from stdin has no folder for external data to live in. */
    const char *model = c->inputs[0];
    if (strcmp(model, "-") && !is_tflite(c)) {
        char *dir = synap_arena_strdup(c->arena, model);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = 0;
        else
            dir = ".";
        p.dir = dir;
        Onnx__ModelProto *m =
            onnx__model_proto__unpack(NULL, c->input_data[0].size, c->input_data[0].data);
        if (m) walk_graph(&p, m->graph, 0); /* a broken model: compute reports it */
        if (m) onnx__model_proto__free_unpacked(m, NULL);
    }
    *out = p.v;
    *n = p.n;
    return 0;
}

/* The importer reads a path; a model from stdin goes through a temporary
 * file, and messages name "<stdin>" instead of it. */
static char *stdin_to_tmpfile(struct synap_stage_ctx *c)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t len = strlen(dir) + 32;
    char *path = synap_xmalloc(len);
    snprintf(path, len, "%s/synap-import.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        synap_errf_io(c->err, "%s: cannot create a temporary file: %s", dir, strerror(errno));
        free(path);
        return NULL;
    }
    const uint8_t *p = c->input_data[0].data;
    size_t left = c->input_data[0].size;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            synap_errf_io(c->err, "%s: write error: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            free(path);
            return NULL;
        }
        p += w;
        left -= (size_t)w;
    }
    close(fd);
    return path;
}

static void replace_prefix(struct synap_err *err, const char *from, const char *to)
{
    char *at = strstr(err->msg, from);
    if (!at) return;
    char rest[sizeof err->msg];
    snprintf(rest, sizeof rest, "%s", at + strlen(from));
    snprintf(at, sizeof err->msg - (size_t)(at - err->msg), "%s%s", to, rest);
}

static int compute(struct synap_stage_ctx *c)
{
    struct synap_onnx_opts opts = {0};
    const char **names, **files;
    size_t nvalues = 0;
    struct synap_onnx_value *values = NULL;
    struct synap_graph *g = NULL;
    char *tmp = NULL;
    int rc = -1;
    if (check_keys(c) < 0 || get_shapes(c, &opts) < 0 ||
        get_values(c, &names, &files, &nvalues) < 0)
        return -1;
    values = synap_xcalloc(nvalues + 1, sizeof *values);
    opts.values = values;
    for (size_t i = 0; i < nvalues; i++) {
        values[i].name = names[i];
        if (synap_npy_read(files[i], &values[i].value, c->err) < 0) goto out;
        opts.nvalues++;
    }
    const char *model = c->inputs[0];
    if (is_tflite(c)) {
        /* the graph may point into the bytes, which live until the tool exits */
        g = synap_tflite_import_mem(c->input_data[0].data, c->input_data[0].size,
                                    strcmp(model, "-") ? model : "<stdin>", &opts, c->err);
        if (!g) goto out;
        if (synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err) < 0) goto out;
        rc = 0;
        goto out;
    }
    if (!strcmp(model, "-")) {
        tmp = stdin_to_tmpfile(c);
        if (!tmp) goto out;
        model = tmp;
    }
    g = synap_onnx_import(model, &opts, c->err);
    if (tmp) {
        unlink(tmp);
        if (!g) replace_prefix(c->err, tmp, "<stdin>");
    }
    if (!g) goto out;
    if (synap_ir_serialize(g, &c->out[0], &c->out_n[0], c->err) < 0) goto out;
    rc = 0;
out:
    synap_graph_free(g);
    for (size_t i = 0; i < opts.nvalues; i++)
        free(values[i].value.data);
    free(values);
    free(tmp);
    return rc;
}

static const struct synap_stage_desc desc = {
    .name = "import",
    .summary = "Imports an ONNX model (opsets 6-18) or a TFLite model (float, float16 weights\n"
               "or pre-quantized uint8/int8/int16, kept quantized) into the synap IR, with\n"
               "shape inference and constant folding.",
    .min_inputs = 1,
    .max_inputs = 1,
    .noutputs = 1,
    .flags = flags,
    .nflags = sizeof flags / sizeof *flags,
    .extra_files = extra_files,
    .compute = compute,
};

int main(int argc, char **argv)
{
    return synap_stage_main(&desc, argc, argv);
}
