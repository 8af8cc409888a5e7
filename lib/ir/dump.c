/* synap_ir_dump: the IR as stable, diffable text (one line per tensor and node).
 *
 * Everything is printed in full (every dim, attribute value and quant
 * parameter; floats with %.9g, which round-trips float32) except constant
 * contents, which are summarized by size and the first 16 hex digits of
 * their SHA-256, enough to see in a diff that weights changed. */
#include "ir/ir.h"

#include <inttypes.h>
#include <msgpack.h>
#include <string.h>

/* 'name' with quotes, backslashes and control bytes escaped, so that every
 * entry stays on one line whatever the source model called it. */
static void put_quoted(FILE *out, const char *s)
{
    fputc('\'', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '\'' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

static void put_tensor_ref(FILE *out, const struct synap_graph *g, uint32_t t)
{
    fprintf(out, "%%%" PRIu32 " ", t);
    put_quoted(out, t < g->ntensors ? g->tensors[t].name : "?");
}

static void put_float(FILE *out, double f)
{
    fprintf(out, "%.9g", f);
}

static void put_dims(FILE *out, int rank, const int64_t *dims)
{
    fputc('[', out);
    for (int d = 0; d < rank; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "", dims[d]);
    fputc(']', out);
}

static void put_attr(FILE *out, const struct synap_attr *a)
{
    fprintf(out, "%s=", a->name);
    switch (a->type) {
    case SYNAP_ATTR_INT:
        fprintf(out, "%" PRId64, a->i);
        break;
    case SYNAP_ATTR_FLOAT:
        put_float(out, a->f);
        break;
    case SYNAP_ATTR_STRING:
        put_quoted(out, a->s);
        break;
    case SYNAP_ATTR_TENSOR:
        fprintf(out, "%%%" PRId64, a->i);
        break;
    case SYNAP_ATTR_INTS:
    case SYNAP_ATTR_FLOATS:
    case SYNAP_ATTR_STRINGS:
        fputc('[', out);
        for (size_t k = 0; k < a->n; k++) {
            if (k) fputs(", ", out);
            if (a->type == SYNAP_ATTR_INTS)
                fprintf(out, "%" PRId64, a->ints[k]);
            else if (a->type == SYNAP_ATTR_FLOATS)
                put_float(out, a->floats[k]);
            else
                put_quoted(out, a->strings[k]);
        }
        fputc(']', out);
        break;
    default:
        fputs("?", out);
    }
}

/* meta as JSON-like text: keys in file order (the writer of meta chose it). */
static void put_msgpack(FILE *out, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        fputs("nil", out);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", out);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fprintf(out, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fprintf(out, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
        put_float(out, o->via.f64);
        break;
    case MSGPACK_OBJECT_FLOAT64:
        fprintf(out, "%.17g", o->via.f64);
        break;
    case MSGPACK_OBJECT_STR: {
        /* not NUL-terminated: escape byte by byte */
        fputc('\'', out);
        for (uint32_t i = 0; i < o->via.str.size; i++) {
            unsigned char c = (unsigned char)o->via.str.ptr[i];
            if (c == '\'' || c == '\\')
                fprintf(out, "\\%c", c);
            else if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\x%02x", c);
            else
                fputc(c, out);
        }
        fputc('\'', out);
        break;
    }
    case MSGPACK_OBJECT_BIN: {
        char hex[65];
        synap_sha256_hex(o->via.bin.ptr, o->via.bin.size, hex);
        fprintf(out, "<bin %" PRIu32 " bytes sha256:%.16s>", o->via.bin.size, hex);
        break;
    }
    case MSGPACK_OBJECT_EXT:
        fprintf(out, "<ext %d, %" PRIu32 " bytes>", o->via.ext.type, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', out);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) fputs(", ", out);
            put_msgpack(out, &o->via.array.ptr[i]);
        }
        fputc(']', out);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', out);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i) fputs(", ", out);
            put_msgpack(out, &o->via.map.ptr[i].key);
            fputs(": ", out);
            put_msgpack(out, &o->via.map.ptr[i].val);
        }
        fputc('}', out);
        break;
    }
}

static void put_meta(FILE *out, const struct synap_graph *g)
{
    if (!g->meta || !g->meta_nbytes) return;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    fputs("meta: ", out);
    /* msgpack-c recurses at most 32 levels (its own stack limit) */
    if (msgpack_unpack_next(&up, (const char *)g->meta, g->meta_nbytes, &off) ==
        MSGPACK_UNPACK_SUCCESS)
        put_msgpack(out, &up.data);
    else
        fprintf(out, "<%zu bytes of invalid msgpack>", g->meta_nbytes);
    fputc('\n', out);
    msgpack_unpacked_destroy(&up);
}

/* stage sections, one line each: "section codegen: {...}" */
static void put_sections(FILE *out, const struct synap_graph *g)
{
    if (!g->sections || !g->sections_nbytes) return;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, (const char *)g->sections, g->sections_nbytes, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        fprintf(out, "sections: <%zu bytes of invalid msgpack>\n", g->sections_nbytes);
    } else {
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            fputs("section ", out);
            put_msgpack(out, &up.data.via.map.ptr[i].key);
            fputs(": ", out);
            put_msgpack(out, &up.data.via.map.ptr[i].val);
            fputc('\n', out);
        }
    }
    msgpack_unpacked_destroy(&up);
}

static void put_tensor(FILE *out, const struct synap_graph *g, size_t i)
{
    const struct synap_tensor *t = &g->tensors[i];
    fprintf(out, "  %%%zu ", i);
    put_quoted(out, t->name);
    fprintf(out, " %s ", synap_dtype_name(t->dtype));
    put_dims(out, t->rank, t->dims);
    if (t->quant) {
        const struct synap_quant *q = t->quant;
        const char *scheme = synap_qscheme_name(q->scheme);
        fprintf(out, " quant %s scale=[", scheme ? scheme : "?");
        for (size_t k = 0; k < q->nparams; k++) {
            if (k) fputs(", ", out);
            put_float(out, q->scale[k]);
        }
        fputs("] zero_point=[", out);
        for (size_t k = 0; k < q->nparams; k++)
            fprintf(out, "%s%" PRId32, k ? ", " : "", q->zero_point[k]);
        fputc(']', out);
        if (q->axis >= 0) fprintf(out, " axis=%" PRId32, q->axis);
        if (q->scheme == SYNAP_QSCHEME_DYNAMIC_FIXED_POINT || q->fl)
            fprintf(out, " fl=%" PRId32, q->fl);
    }
    if (t->data) {
        char hex[65];
        synap_sha256_hex(t->data, t->nbytes, hex);
        fprintf(out, " const %zu bytes sha256:%.16s", t->nbytes, hex);
    }
    fputc('\n', out);
}

static void put_node(FILE *out, const struct synap_graph *g, size_t i)
{
    const struct synap_node *n = &g->nodes[i];
    const char *op = synap_op_name(n->op);
    fprintf(out, "  #%zu ", i);
    put_quoted(out, n->name);
    fprintf(out, " %s (", op ? op : "?");
    for (size_t k = 0; k < n->ninputs; k++) {
        if (k) fputs(", ", out);
        if (n->inputs[k] == SYNAP_NONE)
            fputc('-', out);
        else
            fprintf(out, "%%%" PRIu32, n->inputs[k]);
    }
    fputs(") -> (", out);
    for (size_t k = 0; k < n->noutputs; k++)
        fprintf(out, "%s%%%" PRIu32, k ? ", " : "", n->outputs[k]);
    fputc(')', out);
    for (size_t k = 0; k < n->nattrs; k++) {
        fputs(k ? " " : "  ", out);
        put_attr(out, &n->attrs[k]);
    }
    /* partition annotations after a bar, apart from the op's own attributes */
    if (n->delegate || n->subgraph >= 0) {
        fputs("  |", out);
        if (n->delegate) {
            fputs(" delegate=", out);
            put_quoted(out, n->delegate);
        }
        if (n->subgraph >= 0) fprintf(out, " subgraph=%" PRId32, n->subgraph);
    }
    fputc('\n', out);
}

int synap_ir_dump(const struct synap_graph *g, FILE *out)
{
    fprintf(out, "synap-ir 2  producer: %s\n", g->producer ? g->producer : "");
    fputs("inputs:", out);
    for (size_t k = 0; k < g->ninputs; k++) {
        fputs(k ? ", " : " ", out);
        put_tensor_ref(out, g, g->inputs[k]);
    }
    fputs("\noutputs:", out);
    for (size_t k = 0; k < g->noutputs; k++) {
        fputs(k ? ", " : " ", out);
        put_tensor_ref(out, g, g->outputs[k]);
    }
    fputc('\n', out);
    put_meta(out, g);
    put_sections(out, g);
    fputs("tensors:\n", out);
    for (size_t i = 0; i < g->ntensors; i++)
        put_tensor(out, g, i);
    fputs("nodes:\n", out);
    for (size_t i = 0; i < g->nnodes; i++)
        put_node(out, g, i);
    return ferror(out) ? -1 : 0;
}
