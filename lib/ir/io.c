/* Reading and writing synap IR files (msgpack), format version 2.
 *
 * THE IR FILE FORMAT, VERSION 2
 *
 * One msgpack document: a map whose keys come in exactly this order.
 *   "format":   "synap-ir"
 *   "version":  2
 *   "producer": str                  the tool that wrote the file ("synap-import 0.1.0")
 *   "graph":    map (below)
 *   "meta":     any msgpack map      g->meta preserved byte for byte; {} when g->meta is NULL
 *   "sections": msgpack map          (version 2) stage sections: str key -> any msgpack value,
 *                                    keys unique and sorted (strcmp); {} when empty
 *   "pad":      bin of 0..63 bytes   zeros, so that the blob payload starts at a file
 *                                    offset that is a multiple of 64
 *   "blob":     bin32                always the 5-byte bin32 header (0xc6 + big-endian
 *                                    length), then every constant's bytes, each at a blob
 *                                    offset that is a multiple of 64, zero padding between
 *
 * graph: map, keys in order
 *   "tensors": [tensor...]           index = tensor id (%i in synap-dump)
 *   "nodes":   [node...]             topological order
 *   "inputs":  [uint...]             tensor indices of the graph inputs
 *   "outputs": [uint...]             tensor indices of the graph outputs
 *
 * tensor: map, keys in order
 *   "name":  str                     the source model's name, exactly
 *   "dtype": str                     synap_dtype_name: "float32", "uint8", ...
 *   "shape": [int...]                rank <= SYNAP_MAX_RANK; [] is a scalar
 *   "quant": map (optional)          {"scheme": str (synap_qscheme_name),
 *                                     "scale": [float32...], "zero_point": [int...],
 *                                     "axis": int (-1 per tensor), "fl": int}
 *                                    scale and zero_point have the same length
 *   "data":  [offset, nbytes]        (optional) a constant: its bytes in the blob;
 *                                    offset is a multiple of 64
 *
 * node: map, keys in order
 *   "name":     str
 *   "op":       str                  synap_op_name: "Conv", ...
 *   "inputs":   [uint or nil...]     nil = omitted optional input (SYNAP_NONE)
 *   "outputs":  [uint or nil...]     nil = an unused optional output (SYNAP_NONE;
 *                                    synap_graph_verify allows it, e.g. MaxPool's Indices)
 *   "attrs":    map name -> [tag, value], keys sorted by name (strcmp), tags:
 *                 "i" int, "f" float32, "s" str, "I" [int...], "F" [float32...],
 *                 "S" [str...], "t" uint (index of a constant tensor)
 *   "delegate": str (optional)       only when set by partitioning
 *   "subgraph": int >= 0 (optional)  only when set by partitioning
 *
 * Every integer is packed in its shortest msgpack form and every float as
 * float32, so writing is deterministic: the same graph gives the same bytes.
 * Readers reject unknown keys, keys out of order, a "format" other than
 * "synap-ir" and a newer "version". Names must not contain NUL bytes.
 *
 * Compatibility: bump the version for any change an older reader would
 * misread; readers refuse files newer than themselves. Version 1 files (no
 * "sections") are still read.
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define IR_FORMAT "synap-ir"
#define IR_VERSION 2
#define IR_ALIGN 64

/* ---- a growable output buffer for msgpack_packer ---------------------------
 * Our own instead of msgpack_sbuffer so that out-of-memory aborts like the
 * rest of libsynap and the result is freed with plain free(). */
struct obuf {
    uint8_t *data;
    size_t n, cap;
};

static int obuf_write(void *ctx, const char *p, size_t n)
{
    struct obuf *b = ctx;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (n > cap - b->n) {
            if (cap > SIZE_MAX / 2) abort(); /* cannot happen before memory runs out */
            cap *= 2;
        }
        b->data = synap_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->n, p, n);
    b->n += n;
    return 0;
}

/* ---- msgpack structure check ------------------------------------------------
 * msgpack-c allocates count * sizeof(msgpack_object) for an array header
 * before it reads the elements, so a damaged count (array32 of 4e9) would ask
 * for ~100 GB. This pass over the raw bytes first checks that the document is
 * well formed and that every count is possible: each pending object needs at
 * least one byte, so the number of pending objects never exceeds the bytes
 * left. Iterative (a pending counter, no stack), so nesting cannot overflow. */
static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Skips one object at *pos; on failure returns -1 with *why and *pos at the
 * offending byte. */
static int mp_skip(const uint8_t *p, size_t n, size_t *pos, const char **why)
{
    uint64_t pending = 1;
    size_t i = *pos;
    while (pending) {
        if (i >= n) goto truncated;
        size_t at = i;
        uint8_t b = p[i++];
        uint64_t children = 0, payload = 0;
        int lenbytes = 0, cntbytes = 0, mapcnt = 0;
        if (b <= 0x7f || b >= 0xe0) {
            /* fixint */
        } else if (b <= 0x8f) {
            children = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            children = b & 0x0f;
        } else if (b <= 0xbf) {
            payload = b & 0x1f;
        } else {
            switch (b) {
            case 0xc0:
            case 0xc2:
            case 0xc3:
                break;
            case 0xc4:
            case 0xd9:
                lenbytes = 1;
                break;
            case 0xc5:
            case 0xda:
                lenbytes = 2;
                break;
            case 0xc6:
            case 0xdb:
                lenbytes = 4;
                break;
            case 0xc7: /* ext: length, then a type byte */
                lenbytes = 1;
                payload = 1;
                break;
            case 0xc8:
                lenbytes = 2;
                payload = 1;
                break;
            case 0xc9:
                lenbytes = 4;
                payload = 1;
                break;
            case 0xca:
                payload = 4;
                break;
            case 0xcb:
                payload = 8;
                break;
            case 0xcc:
            case 0xd0:
                payload = 1;
                break;
            case 0xcd:
            case 0xd1:
                payload = 2;
                break;
            case 0xce:
            case 0xd2:
                payload = 4;
                break;
            case 0xcf:
            case 0xd3:
                payload = 8;
                break;
            case 0xd4:
                payload = 2;
                break;
            case 0xd5:
                payload = 3;
                break;
            case 0xd6:
                payload = 5;
                break;
            case 0xd7:
                payload = 9;
                break;
            case 0xd8:
                payload = 17;
                break;
            case 0xdc:
                cntbytes = 2;
                break;
            case 0xdd:
                cntbytes = 4;
                break;
            case 0xde:
                cntbytes = 2;
                mapcnt = 1;
                break;
            case 0xdf:
                cntbytes = 4;
                mapcnt = 1;
                break;
            default: /* 0xc1 is never used */
                *pos = at;
                *why = "invalid msgpack byte 0xc1";
                return -1;
            }
        }
        if (lenbytes) {
            if ((size_t)lenbytes > n - i) goto truncated;
            payload += be(p + i, lenbytes);
            i += (size_t)lenbytes;
        }
        if (cntbytes) {
            if ((size_t)cntbytes > n - i) goto truncated;
            children = be(p + i, cntbytes) << mapcnt;
            i += (size_t)cntbytes;
        }
        if (payload > n - i) goto truncated;
        i += (size_t)payload;
        pending = pending - 1 + children;
        if (pending > n - i) goto truncated;
    }
    *pos = i;
    return 0;
truncated:
    *pos = n;
    *why = "truncated";
    return -1;
}

/* ---- writing ---------------------------------------------------------------- */
static void pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_key_str(msgpack_packer *pk, const char *k, const char *v)
{
    pack_str(pk, k);
    pack_str(pk, v);
}

static void pack_attr(msgpack_packer *pk, const struct synap_attr *a)
{
    pack_str(pk, a->name);
    msgpack_pack_array(pk, 2);
    switch (a->type) {
    case SYNAP_ATTR_INT:
        pack_str(pk, "i");
        msgpack_pack_int64(pk, a->i);
        break;
    case SYNAP_ATTR_FLOAT:
        pack_str(pk, "f");
        msgpack_pack_float(pk, a->f);
        break;
    case SYNAP_ATTR_STRING:
        pack_str(pk, "s");
        pack_str(pk, a->s);
        break;
    case SYNAP_ATTR_INTS:
        pack_str(pk, "I");
        msgpack_pack_array(pk, a->n);
        for (size_t k = 0; k < a->n; k++)
            msgpack_pack_int64(pk, a->ints[k]);
        break;
    case SYNAP_ATTR_FLOATS:
        pack_str(pk, "F");
        msgpack_pack_array(pk, a->n);
        for (size_t k = 0; k < a->n; k++)
            msgpack_pack_float(pk, a->floats[k]);
        break;
    case SYNAP_ATTR_STRINGS:
        pack_str(pk, "S");
        msgpack_pack_array(pk, a->n);
        for (size_t k = 0; k < a->n; k++)
            pack_str(pk, a->strings[k]);
        break;
    case SYNAP_ATTR_TENSOR:
        pack_str(pk, "t");
        msgpack_pack_uint64(pk, (uint64_t)a->i);
        break;
    }
}

/* What synap_graph_verify leaves to us: the parts of the in-memory graph that
 * only the file format cares about, so that we never write a file that the
 * reader would refuse. */

/* ---- stage sections ------------------------------------------------------
 * One msgpack map, str keys unique and sorted by strcmp, any values. */
static int map_header(const uint8_t *p, size_t n, size_t *pos, size_t *npairs)
{
    if (n < 1) return -1;
    uint8_t b = p[0];
    if (b >= 0x80 && b <= 0x8f) {
        *npairs = b & 0x0f;
        *pos = 1;
    } else if (b == 0xde && n >= 3) {
        *npairs = (size_t)be(p + 1, 2);
        *pos = 3;
    } else if (b == 0xdf && n >= 5) {
        *npairs = (size_t)be(p + 1, 4);
        *pos = 5;
    } else {
        return -1;
    }
    return 0;
}

/* A str at p[*pos]: its bytes and length; advances *pos past it. */
static int str_at(const uint8_t *p, size_t n, size_t *pos, const uint8_t **s, size_t *len)
{
    size_t at = *pos, hdr;
    if (at >= n) return -1;
    uint8_t b = p[at];
    if (b >= 0xa0 && b <= 0xbf)
        *len = b & 0x1f, hdr = 1;
    else if (b == 0xd9 && n - at >= 2)
        *len = p[at + 1], hdr = 2;
    else if (b == 0xda && n - at >= 3)
        *len = (size_t)be(p + at + 1, 2), hdr = 3;
    else if (b == 0xdb && n - at >= 5)
        *len = (size_t)be(p + at + 1, 4), hdr = 5;
    else
        return -1;
    if (*len > n - at - hdr) return -1;
    *s = p + at + hdr;
    *pos = at + hdr + *len;
    return 0;
}

static int key_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int check_sections(const uint8_t *p, size_t n)
{
    size_t pos, npairs;
    const char *why;
    if (map_header(p, n, &pos, &npairs)) return -1;
    const uint8_t *prev = NULL;
    size_t nprev = 0;
    for (size_t i = 0; i < npairs; i++) {
        const uint8_t *k;
        size_t nk;
        if (str_at(p, n, &pos, &k, &nk) || memchr(k, 0, nk)) return -1;
        if (prev && key_cmp(prev, nprev, k, nk) >= 0) return -1;
        prev = k, nprev = nk;
        if (mp_skip(p, n, &pos, &why)) return -1;
    }
    return pos == n ? 0 : -1;
}

int synap_ir_section_get(const struct synap_graph *g, const char *name, const uint8_t **data,
                         size_t *n, struct synap_err *err)
{
    *data = NULL;
    *n = 0;
    if (!g->sections || !g->sections_nbytes) return 0;
    const uint8_t *p = g->sections;
    size_t len = g->sections_nbytes, pos, npairs, nname = strlen(name);
    const char *why;
    if (check_sections(p, len) || map_header(p, len, &pos, &npairs))
        return synap_errf(err, "IR sections are damaged");
    for (size_t i = 0; i < npairs; i++) {
        const uint8_t *k;
        size_t nk;
        str_at(p, len, &pos, &k, &nk);
        size_t start = pos;
        mp_skip(p, len, &pos, &why);
        if (nk == nname && !memcmp(k, name, nk)) {
            *data = p + start;
            *n = pos - start;
            return 1;
        }
    }
    return 0;
}

void synap_ir_section_set(struct synap_graph *g, const char *name, const uint8_t *data, size_t n)
{
    /* rebuild the map: existing entries (checked by every reader and writer,
     * so well formed) merged with the new one in key order */
    struct obuf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, obuf_write);
    const uint8_t *p = g->sections;
    size_t len = g->sections && check_sections(g->sections, g->sections_nbytes) == 0
                     ? g->sections_nbytes
                     : 0;
    size_t pos = 0, npairs = 0, nname = strlen(name), count = 0;
    const char *why;
    if (len) map_header(p, len, &pos, &npairs);
    /* first pass: count the entries that stay */
    size_t scan = pos;
    for (size_t i = 0; i < npairs; i++) {
        const uint8_t *k;
        size_t nk;
        str_at(p, len, &scan, &k, &nk);
        mp_skip(p, len, &scan, &why);
        count += !(nk == nname && !memcmp(k, name, nk));
    }
    msgpack_pack_map(&pk, (uint32_t)(count + (data != NULL)));
    int placed = data == NULL;
    for (size_t i = 0; i < npairs; i++) {
        size_t kstart = pos;
        const uint8_t *k;
        size_t nk;
        str_at(p, len, &pos, &k, &nk);
        mp_skip(p, len, &pos, &why);
        int same = nk == nname && !memcmp(k, name, nk);
        if (!placed && key_cmp((const uint8_t *)name, nname, k, nk) < 0) {
            pack_str(&pk, name);
            obuf_write(&b, (const char *)data, n);
            placed = 1;
        }
        if (same) continue;
        obuf_write(&b, (const char *)p + kstart, pos - kstart);
    }
    if (!placed) {
        pack_str(&pk, name);
        obuf_write(&b, (const char *)data, n);
    }
    if (count == 0 && data == NULL) {
        g->sections = NULL;
        g->sections_nbytes = 0;
    } else {
        g->sections = synap_arena_memdup(g->arena, b.data, b.n);
        g->sections_nbytes = b.n;
    }
    free(b.data);
}

static int check_for_write(const struct synap_graph *g, const char *what, struct synap_err *err)
{
    for (size_t i = 0; i < g->ntensors; i++) {
        const struct synap_tensor *t = &g->tensors[i];
        const struct synap_quant *q = t->quant;
        if (q && q->nparams && (!q->scale || !q->zero_point))
            return synap_errf(err, "%s: tensor %zu: quant has %zu params but no arrays", what, i,
                              q->nparams);
        if (q && (!synap_qscheme_name(q->scheme) ||
                  synap_qscheme_from_name(synap_qscheme_name(q->scheme)) != q->scheme))
            return synap_errf(err, "%s: tensor %zu: invalid quant scheme %d", what, i,
                              (int)q->scheme);
        if (t->data == NULL && t->nbytes)
            return synap_errf(err, "%s: tensor %zu: %zu bytes but no data", what, i, t->nbytes);
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[i];
        for (size_t k = 0; k < nd->nattrs; k++) {
            const struct synap_attr *a = &nd->attrs[k];
            if (!a->name)
                return synap_errf(err, "%s: node %zu: attribute %zu has no name", what, i, k);
            if (k && strcmp(nd->attrs[k - 1].name, a->name) >= 0)
                return synap_errf(err, "%s: node %zu: attributes not sorted at '%s'", what, i,
                                  a->name);
            int ok;
            switch (a->type) {
            case SYNAP_ATTR_INT:
            case SYNAP_ATTR_FLOAT:
                ok = 1;
                break;
            case SYNAP_ATTR_STRING:
                ok = a->s != NULL;
                break;
            case SYNAP_ATTR_INTS:
                ok = !a->n || a->ints;
                break;
            case SYNAP_ATTR_FLOATS:
                ok = !a->n || a->floats;
                break;
            case SYNAP_ATTR_STRINGS:
                ok = !a->n || a->strings;
                break;
            case SYNAP_ATTR_TENSOR:
                ok = a->i >= 0 && (uint64_t)a->i < g->ntensors;
                break;
            default:
                ok = 0;
            }
            if (ok && a->type == SYNAP_ATTR_STRINGS)
                for (size_t j = 0; j < a->n; j++)
                    ok &= a->strings[j] != NULL;
            if (!ok)
                return synap_errf(err, "%s: node %zu: attribute '%s' is invalid", what, i, a->name);
        }
        if (nd->subgraph < -1)
            return synap_errf(err, "%s: node %zu: invalid subgraph %" PRId32, what, i,
                              nd->subgraph);
    }
    if (g->meta && g->meta_nbytes) {
        size_t pos = 0;
        const char *why;
        uint8_t b = g->meta[0];
        int is_map = (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
        if (!is_map || mp_skip(g->meta, g->meta_nbytes, &pos, &why) || pos != g->meta_nbytes)
            return synap_errf(err, "%s: meta is not exactly one msgpack map", what);
    }
    if (g->sections && g->sections_nbytes && check_sections(g->sections, g->sections_nbytes))
        return synap_errf(err, "%s: sections are not one msgpack map with sorted unique string keys",
                          what);
    return 0;
}

static size_t align_up(size_t x)
{
    return (x + IR_ALIGN - 1) & ~(size_t)(IR_ALIGN - 1);
}

static int serialize(const struct synap_graph *g, const char *what, uint8_t **out, size_t *nout,
                     struct synap_err *err)
{
    *out = NULL;
    *nout = 0;
    if (synap_graph_verify(g, what, err)) return -1;
    if (check_for_write(g, what, err)) return -1;

    /* blob layout first: every offset must be known and fit the bin32 */
    size_t *offs = synap_xcalloc(g->ntensors ? g->ntensors : 1, sizeof *offs);
    size_t blob_n = 0;
    for (size_t i = 0; i < g->ntensors; i++) {
        if (!g->tensors[i].data) continue;
        size_t off = align_up(blob_n);
        if (off < blob_n || synap_add_overflow(off, g->tensors[i].nbytes, &blob_n) ||
            blob_n > UINT32_MAX) {
            free(offs);
            return synap_errf(err, "%s: constants exceed the 4 GiB limit of IR version %d", what,
                              IR_VERSION);
        }
        offs[i] = off;
    }

    struct obuf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, obuf_write);

    msgpack_pack_map(&pk, 8);
    pack_key_str(&pk, "format", IR_FORMAT);
    pack_str(&pk, "version");
    msgpack_pack_int(&pk, IR_VERSION);
    pack_key_str(&pk, "producer", g->producer);

    pack_str(&pk, "graph");
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "tensors");
    msgpack_pack_array(&pk, g->ntensors);
    for (size_t i = 0; i < g->ntensors; i++) {
        const struct synap_tensor *t = &g->tensors[i];
        msgpack_pack_map(&pk, 3 + (t->quant != NULL) + (t->data != NULL));
        pack_key_str(&pk, "name", t->name);
        pack_key_str(&pk, "dtype", synap_dtype_name(t->dtype));
        pack_str(&pk, "shape");
        msgpack_pack_array(&pk, (size_t)t->rank);
        for (int d = 0; d < t->rank; d++)
            msgpack_pack_int64(&pk, t->dims[d]);
        if (t->quant) {
            const struct synap_quant *q = t->quant;
            pack_str(&pk, "quant");
            msgpack_pack_map(&pk, 5);
            pack_key_str(&pk, "scheme", synap_qscheme_name(q->scheme));
            pack_str(&pk, "scale");
            msgpack_pack_array(&pk, q->nparams);
            for (size_t k = 0; k < q->nparams; k++)
                msgpack_pack_float(&pk, q->scale[k]);
            pack_str(&pk, "zero_point");
            msgpack_pack_array(&pk, q->nparams);
            for (size_t k = 0; k < q->nparams; k++)
                msgpack_pack_int32(&pk, q->zero_point[k]);
            pack_str(&pk, "axis");
            msgpack_pack_int32(&pk, q->axis);
            pack_str(&pk, "fl");
            msgpack_pack_int32(&pk, q->fl);
        }
        if (t->data) {
            pack_str(&pk, "data");
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, offs[i]);
            msgpack_pack_uint64(&pk, t->nbytes);
        }
    }
    pack_str(&pk, "nodes");
    msgpack_pack_array(&pk, g->nnodes);
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *nd = &g->nodes[i];
        msgpack_pack_map(&pk, 5 + (nd->delegate != NULL) + (nd->subgraph >= 0));
        pack_key_str(&pk, "name", nd->name);
        pack_key_str(&pk, "op", synap_op_name(nd->op));
        pack_str(&pk, "inputs");
        msgpack_pack_array(&pk, nd->ninputs);
        for (size_t k = 0; k < nd->ninputs; k++) {
            if (nd->inputs[k] == SYNAP_NONE)
                msgpack_pack_nil(&pk);
            else
                msgpack_pack_uint32(&pk, nd->inputs[k]);
        }
        pack_str(&pk, "outputs");
        msgpack_pack_array(&pk, nd->noutputs);
        for (size_t k = 0; k < nd->noutputs; k++) {
            if (nd->outputs[k] == SYNAP_NONE)
                msgpack_pack_nil(&pk);
            else
                msgpack_pack_uint32(&pk, nd->outputs[k]);
        }
        pack_str(&pk, "attrs");
        msgpack_pack_map(&pk, nd->nattrs);
        for (size_t k = 0; k < nd->nattrs; k++)
            pack_attr(&pk, &nd->attrs[k]);
        if (nd->delegate) pack_key_str(&pk, "delegate", nd->delegate);
        if (nd->subgraph >= 0) {
            pack_str(&pk, "subgraph");
            msgpack_pack_int32(&pk, nd->subgraph);
        }
    }
    pack_str(&pk, "inputs");
    msgpack_pack_array(&pk, g->ninputs);
    for (size_t k = 0; k < g->ninputs; k++)
        msgpack_pack_uint32(&pk, g->inputs[k]);
    pack_str(&pk, "outputs");
    msgpack_pack_array(&pk, g->noutputs);
    for (size_t k = 0; k < g->noutputs; k++)
        msgpack_pack_uint32(&pk, g->outputs[k]);

    pack_str(&pk, "meta");
    if (g->meta && g->meta_nbytes)
        obuf_write(&b, (const char *)g->meta, g->meta_nbytes);
    else
        msgpack_pack_map(&pk, 0);
    pack_str(&pk, "sections");
    if (g->sections && g->sections_nbytes)
        obuf_write(&b, (const char *)g->sections, g->sections_nbytes);
    else
        msgpack_pack_map(&pk, 0);

    /* "pad" key (4) + bin8 header (2) + pad + "blob" key (5) + bin32 header (5) */
    size_t npad = (IR_ALIGN - (b.n + 16) % IR_ALIGN) % IR_ALIGN;
    static const uint8_t zeros[IR_ALIGN];
    pack_str(&pk, "pad");
    msgpack_pack_bin(&pk, npad);
    msgpack_pack_bin_body(&pk, zeros, npad);
    pack_str(&pk, "blob");
    /* always bin32, whatever the size, so that the layout above holds */
    uint8_t hdr[5] = {0xc6, (uint8_t)(blob_n >> 24), (uint8_t)(blob_n >> 16),
                      (uint8_t)(blob_n >> 8), (uint8_t)blob_n};
    obuf_write(&b, (const char *)hdr, sizeof hdr);
    size_t blob_start = b.n;
    /* reserve the whole blob zeroed, then copy each constant in place */
    size_t total;
    if (synap_add_overflow(b.n, blob_n, &total)) abort();
    if (total > b.cap) {
        b.data = synap_xrealloc(b.data, total ? total : 1);
        b.cap = total;
    }
    memset(b.data + blob_start, 0, blob_n);
    for (size_t i = 0; i < g->ntensors; i++)
        if (g->tensors[i].data && g->tensors[i].nbytes)
            memcpy(b.data + blob_start + offs[i], g->tensors[i].data, g->tensors[i].nbytes);
    b.n = total;
    free(offs);
    *out = b.data;
    *nout = b.n;
    return 0;
}

int synap_ir_serialize(const struct synap_graph *g, uint8_t **out, size_t *n, struct synap_err *err)
{
    return serialize(g, "<graph>", out, n, err);
}

int synap_ir_write(const struct synap_graph *g, const char *path, struct synap_err *err)
{
    uint8_t *buf;
    size_t n;
    const char *what = strcmp(path, "-") ? path : "<stdout>";
    if (serialize(g, what, &buf, &n, err)) return -1;
    int rc = synap_file_write_atomic(path, buf, n, err);
    free(buf);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */
struct rd {
    const char *what;
    struct synap_err *err;
    char ctx[64]; /* "tensor 12", "node 3": where we are, for messages */
    struct synap_graph *g;
    const uint8_t *blob;
    size_t blob_n;
    char *tmp; /* scratch for NUL-terminating strings and collecting arrays */
    size_t tmp_cap;
};

static int fail(struct rd *r, const char *fmt, ...) SYNAP_PRINTF(2, 3);
static int fail(struct rd *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->ctx[0])
        synap_errf(r->err, "%s: %s: %s", r->what, r->ctx, msg);
    else
        synap_errf(r->err, "%s: %s", r->what, msg);
    return -1; /* visibly, so that callers' outputs are not "maybe uninitialized" */
}

/* A string from the file made printable for a one-line message: control
 * bytes, quotes and backslashes as \xNN, cut at 60 bytes. */
static const char *type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "?";
}

static void *tmp_get(struct rd *r, size_t n)
{
    if (n > r->tmp_cap) {
        r->tmp = synap_xrealloc(r->tmp, n);
        r->tmp_cap = n;
    }
    return r->tmp;
}

static int want(struct rd *r, const msgpack_object *o, msgpack_object_type t, const char *field,
                const char *expected)
{
    if (o->type == t) return 0;
    return fail(r, "%s: expected %s, got %s", field, expected, type_name(o));
}

static int get_i64(struct rd *r, const msgpack_object *o, const char *field, int64_t lo, int64_t hi,
                   int64_t *out)
{
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX) goto range;
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return fail(r, "%s: expected int, got %s", field, type_name(o));
    }
    if (v < lo || v > hi) goto range;
    *out = v;
    return 0;
range:
    return fail(r, "%s: integer out of range", field);
}

static int get_f32(struct rd *r, const msgpack_object *o, const char *field, float *out)
{
    if (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64)
        return fail(r, "%s: expected float, got %s", field, type_name(o));
    *out = (float)o->via.f64;
    return 0;
}

/* A msgpack str as a C string: copied into the arena, or into r->tmp when
 * `scratch` (valid until the next call). NUL bytes would silently shorten
 * the name on the next write, so they are refused. */
static int get_str(struct rd *r, const msgpack_object *o, const char *field, int scratch,
                   const char **out)
{
    if (want(r, o, MSGPACK_OBJECT_STR, field, "str")) return -1;
    size_t n = o->via.str.size;
    if (n && memchr(o->via.str.ptr, 0, n)) return fail(r, "%s: string contains a NUL byte", field);
    char *s = scratch ? tmp_get(r, (size_t)n + 1) : synap_arena_alloc(r->g->arena, (size_t)n + 1);
    if (n) memcpy(s, o->via.str.ptr, n);
    s[n] = '\0';
    *out = s;
    return 0;
}

static int str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && !memcmp(o->via.str.ptr, s, n);
}

static int get_index(struct rd *r, const msgpack_object *o, const char *field, uint32_t *out)
{
    int64_t v = 0;
    if (get_i64(r, o, field, 0, INT64_MAX, &v)) return -1;
    if ((uint64_t)v >= r->g->ntensors)
        return fail(r, "%s: tensor index %" PRId64 " out of range (%zu tensors)", field, v,
                    r->g->ntensors);
    *out = (uint32_t)v;
    return 0;
}

/* A map whose keys come in a fixed order, some optional: fills vals[k] with
 * the value of keys[k] or NULL when an optional key is absent. */
struct field {
    const char *key;
    int optional;
};

static int get_fields(struct rd *r, const msgpack_object *o, const char *what,
                      const struct field *f, size_t nf, const msgpack_object **vals)
{
    if (want(r, o, MSGPACK_OBJECT_MAP, what, "map")) return -1;
    for (size_t k = 0; k < nf; k++)
        vals[k] = NULL;
    size_t next = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *key = &o->via.map.ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) return fail(r, "%s: key is not a string", what);
        size_t k = next;
        while (k < nf && !str_is(key, f[k].key))
            k++;
        if (k == nf) {
            int known = 0;
            for (size_t j = 0; j < next; j++)
                known |= str_is(key, f[j].key);
            struct synap_esc e;
            return fail(r, "%s: %s key '%s'", what, known ? "repeated or misplaced" : "unknown",
                        synap_escn(&e, key->via.str.ptr, key->via.str.size));
        }
        for (size_t j = next; j < k; j++)
            if (!f[j].optional) return fail(r, "%s: missing key '%s'", what, f[j].key);
        vals[k] = &o->via.map.ptr[i].val;
        next = k + 1;
    }
    for (size_t j = next; j < nf; j++)
        if (!f[j].optional) return fail(r, "%s: missing key '%s'", what, f[j].key);
    return 0;
}

static int read_quant(struct rd *r, const msgpack_object *o, struct synap_tensor *t)
{
    static const struct field f[] = {
        {"scheme", 0}, {"scale", 0}, {"zero_point", 0}, {"axis", 0}, {"fl", 0}};
    const msgpack_object *v[5];
    const char *scheme;
    if (get_fields(r, o, "quant", f, 5, v)) return -1;
    if (get_str(r, v[0], "quant scheme", 1, &scheme)) return -1;
    enum synap_qscheme s = synap_qscheme_from_name(scheme);
    const char *canon = synap_qscheme_name(s);
    struct synap_esc e;
    if (!canon || strcmp(canon, scheme))
        return fail(r, "unknown quant scheme '%s'", synap_esc(&e, scheme));
    if (want(r, v[1], MSGPACK_OBJECT_ARRAY, "quant scale", "array") ||
        want(r, v[2], MSGPACK_OBJECT_ARRAY, "quant zero_point", "array"))
        return -1;
    size_t np = v[1]->via.array.size;
    if (v[2]->via.array.size != np)
        return fail(r, "quant: %zu scales but %" PRIu32 " zero points", np, v[2]->via.array.size);
    struct synap_quant *q = synap_arena_alloc(r->g->arena, sizeof *q);
    q->scheme = s;
    q->nparams = np;
    q->scale = synap_arena_alloc(r->g->arena, (np ? np : 1) * sizeof *q->scale);
    q->zero_point = synap_arena_alloc(r->g->arena, (np ? np : 1) * sizeof *q->zero_point);
    for (size_t k = 0; k < np; k++) {
        int64_t zp = 0;
        if (get_f32(r, &v[1]->via.array.ptr[k], "quant scale", &q->scale[k]) ||
            get_i64(r, &v[2]->via.array.ptr[k], "quant zero_point", INT32_MIN, INT32_MAX, &zp))
            return -1;
        q->zero_point[k] = (int32_t)zp;
    }
    int64_t axis = 0, fl = 0;
    if (get_i64(r, v[3], "quant axis", -1, SYNAP_MAX_RANK - 1, &axis) ||
        get_i64(r, v[4], "quant fl", INT32_MIN, INT32_MAX, &fl))
        return -1;
    q->axis = (int32_t)axis;
    q->fl = (int32_t)fl;
    t->quant = q;
    return 0;
}

static int read_tensor(struct rd *r, size_t i, const msgpack_object *o)
{
    static const struct field f[] = {
        {"name", 0}, {"dtype", 0}, {"shape", 0}, {"quant", 1}, {"data", 1}};
    const msgpack_object *v[5];
    snprintf(r->ctx, sizeof r->ctx, "tensor %zu", i);
    if (get_fields(r, o, "tensor", f, 5, v)) return -1;

    const char *dname;
    if (get_str(r, v[1], "dtype", 1, &dname)) return -1;
    enum synap_dtype dt = synap_dtype_from_name(dname);
    struct synap_esc e;
    if (dt == SYNAP_DTYPE_UNDEFINED) return fail(r, "unknown dtype '%s'", synap_esc(&e, dname));

    if (want(r, v[2], MSGPACK_OBJECT_ARRAY, "shape", "array")) return -1;
    uint32_t rank = v[2]->via.array.size;
    if (rank > SYNAP_MAX_RANK) return fail(r, "rank %" PRIu32 " > %d", rank, SYNAP_MAX_RANK);
    int64_t dims[SYNAP_MAX_RANK] = {0};
    for (uint32_t d = 0; d < rank; d++)
        if (get_i64(r, &v[2]->via.array.ptr[d], "shape", INT64_MIN, INT64_MAX, &dims[d])) return -1;

    const char *name; /* last: it lives in r->tmp, which the calls above reuse */
    if (get_str(r, v[0], "name", 1, &name)) return -1;
    uint32_t idx = synap_graph_add_tensor(r->g, name, dt, (int)rank, dims);
    if (idx != i) return fail(r, "internal: tensor added at %" PRIu32, idx);
    struct synap_tensor *t = &r->g->tensors[idx];

    if (v[3] && read_quant(r, v[3], t)) return -1;
    if (v[4]) {
        const msgpack_object *d = v[4];
        int64_t off = 0, nb = 0;
        if (want(r, d, MSGPACK_OBJECT_ARRAY, "data", "array")) return -1;
        if (d->via.array.size != 2) return fail(r, "data: expected [offset, nbytes]");
        if (get_i64(r, &d->via.array.ptr[0], "data offset", 0, INT64_MAX, &off) ||
            get_i64(r, &d->via.array.ptr[1], "data nbytes", 0, INT64_MAX, &nb))
            return -1;
        if ((uint64_t)off > r->blob_n || (uint64_t)nb > r->blob_n - (uint64_t)off)
            return fail(r, "data range [%" PRId64 ", %" PRId64 ") outside blob of %zu bytes", off,
                        off + nb, r->blob_n);
        if (off % IR_ALIGN) return fail(r, "data offset %" PRId64 " not a multiple of 64", off);
        t->data = r->blob + off;
        t->nbytes = (size_t)nb;
    }
    return 0;
}

static int read_attr(struct rd *r, struct synap_node *n, const char *name, const msgpack_object *o)
{
    struct synap_graph *g = r->g;
    struct synap_esc e;
    const char *ename = synap_esc(&e, name); /* for messages */
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_STR || o->via.array.ptr[0].via.str.size != 1)
        return fail(r, "attribute '%s': expected [tag, value]", ename);
    char tag = o->via.array.ptr[0].via.str.ptr[0];
    const msgpack_object *v = &o->via.array.ptr[1];
    if (tag && strchr("IFS", tag) && v->type != MSGPACK_OBJECT_ARRAY)
        return fail(r, "attribute '%s': expected array, got %s", ename, type_name(v));
    size_t cnt = v->type == MSGPACK_OBJECT_ARRAY ? v->via.array.size : 0;
    switch (tag) {
    case 'i': {
        int64_t x = 0;
        if (get_i64(r, v, ename, INT64_MIN, INT64_MAX, &x)) return -1;
        synap_node_set_int(g, n, name, x);
        return 0;
    }
    case 'f': {
        float x = 0;
        if (get_f32(r, v, ename, &x)) return -1;
        synap_node_set_float(g, n, name, x);
        return 0;
    }
    case 's': {
        const char *s;
        if (get_str(r, v, ename, 0, &s)) return -1;
        synap_node_set_string(g, n, name, s);
        return 0;
    }
    case 'I': {
        int64_t *xs = synap_arena_alloc(g->arena, (cnt ? cnt : 1) * sizeof *xs);
        for (size_t k = 0; k < cnt; k++)
            if (get_i64(r, &v->via.array.ptr[k], ename, INT64_MIN, INT64_MAX, &xs[k])) return -1;
        synap_node_set_ints(g, n, name, xs, cnt);
        return 0;
    }
    case 'F': {
        float *xs = synap_arena_alloc(g->arena, (cnt ? cnt : 1) * sizeof *xs);
        for (size_t k = 0; k < cnt; k++)
            if (get_f32(r, &v->via.array.ptr[k], ename, &xs[k])) return -1;
        synap_node_set_floats(g, n, name, xs, cnt);
        return 0;
    }
    case 'S': {
        const char **xs = synap_arena_alloc(g->arena, (cnt ? cnt : 1) * sizeof *xs);
        for (size_t k = 0; k < cnt; k++)
            if (get_str(r, &v->via.array.ptr[k], ename, 0, &xs[k])) return -1;
        synap_node_set_strings(g, n, name, xs, cnt);
        return 0;
    }
    case 't': {
        uint32_t t = 0;
        if (get_index(r, v, ename, &t)) return -1;
        synap_node_set_tensor(g, n, name, t);
        return 0;
    }
    }
    return fail(r, "attribute '%s': unknown tag '%c'", ename,
                (tag >= 0x20 && tag < 0x7f) ? tag : '?');
}

static int read_node(struct rd *r, size_t i, const msgpack_object *o)
{
    static const struct field f[] = {{"name", 0},  {"op", 0},       {"inputs", 0},  {"outputs", 0},
                                     {"attrs", 0}, {"delegate", 1}, {"subgraph", 1}};
    const msgpack_object *v[7];
    snprintf(r->ctx, sizeof r->ctx, "node %zu", i);
    if (get_fields(r, o, "node", f, 7, v)) return -1;

    const char *opname;
    if (get_str(r, v[1], "op", 1, &opname)) return -1;
    enum synap_op op = synap_op_from_name(opname);
    struct synap_esc e;
    if (op == SYNAP_OP_COUNT) return fail(r, "unknown op '%s'", synap_esc(&e, opname));
    if (want(r, v[2], MSGPACK_OBJECT_ARRAY, "inputs", "array") ||
        want(r, v[3], MSGPACK_OBJECT_ARRAY, "outputs", "array") ||
        want(r, v[4], MSGPACK_OBJECT_MAP, "attrs", "map"))
        return -1;
    const msgpack_object_array *ins = &v[2]->via.array, *outs = &v[3]->via.array;
    uint32_t *in = synap_arena_alloc(r->g->arena, (ins->size ? ins->size : 1) * sizeof *in);
    uint32_t *out = synap_arena_alloc(r->g->arena, (outs->size ? outs->size : 1) * sizeof *out);
    for (uint32_t k = 0; k < ins->size; k++) {
        char field[32];
        snprintf(field, sizeof field, "input %" PRIu32, k);
        if (ins->ptr[k].type == MSGPACK_OBJECT_NIL)
            in[k] = SYNAP_NONE;
        else if (get_index(r, &ins->ptr[k], field, &in[k]))
            return -1;
    }
    for (uint32_t k = 0; k < outs->size; k++) {
        char field[32];
        snprintf(field, sizeof field, "output %" PRIu32, k);
        if (outs->ptr[k].type == MSGPACK_OBJECT_NIL)
            out[k] = SYNAP_NONE;
        else if (get_index(r, &outs->ptr[k], field, &out[k]))
            return -1;
    }
    const char *delegate = NULL;
    int64_t subgraph = -1;
    if (v[5] && get_str(r, v[5], "delegate", 0, &delegate)) return -1;
    if (v[6] && get_i64(r, v[6], "subgraph", 0, INT32_MAX, &subgraph)) return -1;

    const char *name;
    if (get_str(r, v[0], "name", 1, &name)) return -1;
    struct synap_node *n = synap_graph_add_node(r->g, name, op, ins->size, outs->size);
    memcpy(n->inputs, in, ins->size * sizeof *in);
    memcpy(n->outputs, out, outs->size * sizeof *out);
    n->delegate = delegate;
    n->subgraph = (int32_t)subgraph;

    const msgpack_object_map *attrs = &v[4]->via.map;
    for (uint32_t k = 0; k < attrs->size; k++) {
        const char *aname;
        if (get_str(r, &attrs->ptr[k].key, "attribute name", 0, &aname)) return -1;
        /* the setters would sort silently; a file out of order is damaged */
        if (k && strcmp(n->attrs[n->nattrs - 1].name, aname) >= 0)
            return fail(r, "attribute '%s' out of order or repeated", synap_esc(&e, aname));
        if (read_attr(r, n, aname, &attrs->ptr[k].val)) return -1;
    }
    return 0;
}

static int read_index_list(struct rd *r, const msgpack_object *o, const char *what, uint32_t **out,
                           size_t *n)
{
    if (want(r, o, MSGPACK_OBJECT_ARRAY, what, "array")) return -1;
    size_t cnt = o->via.array.size;
    uint32_t *v = synap_arena_alloc(r->g->arena, (cnt ? cnt : 1) * sizeof *v);
    for (size_t k = 0; k < cnt; k++)
        if (get_index(r, &o->via.array.ptr[k], what, &v[k])) return -1;
    *out = v;
    *n = cnt;
    return 0;
}

static int read_graph(struct rd *r, const msgpack_object *o)
{
    static const struct field f[] = {{"tensors", 0}, {"nodes", 0}, {"inputs", 0}, {"outputs", 0}};
    const msgpack_object *v[4];
    if (get_fields(r, o, "graph", f, 4, v)) return -1;
    if (want(r, v[0], MSGPACK_OBJECT_ARRAY, "graph tensors", "array") ||
        want(r, v[1], MSGPACK_OBJECT_ARRAY, "graph nodes", "array"))
        return -1;
    if (v[0]->via.array.size >= SYNAP_NONE) return fail(r, "too many tensors");
    for (uint32_t i = 0; i < v[0]->via.array.size; i++)
        if (read_tensor(r, i, &v[0]->via.array.ptr[i])) return -1;
    for (uint32_t i = 0; i < v[1]->via.array.size; i++)
        if (read_node(r, i, &v[1]->via.array.ptr[i])) return -1;
    r->ctx[0] = '\0';
    if (read_index_list(r, v[2], "graph inputs", &r->g->inputs, &r->g->ninputs) ||
        read_index_list(r, v[3], "graph outputs", &r->g->outputs, &r->g->noutputs))
        return -1;
    return 0;
}

/* Byte range of the top-level value whose key is the msgpack fixstr `key`
 * (its header byte included), found with mp_skip: msgpack-c does not say
 * where an object starts, and "meta" and "sections" are kept as raw bytes. */
static int find_top(const uint8_t *p, size_t n, const char *key, size_t *start, size_t *end)
{
    size_t klen = strlen(key);
    size_t pos = 0, npairs;
    const char *why;
    uint8_t b = p[0];
    if (b >= 0x80 && b <= 0x8f) {
        npairs = b & 0x0f;
        pos = 1;
    } else if (b == 0xde && n >= 3) {
        npairs = (size_t)be(p + 1, 2);
        pos = 3;
    } else if (b == 0xdf && n >= 5) {
        npairs = (size_t)be(p + 1, 4);
        pos = 5;
    } else {
        return -1;
    }
    for (size_t i = 0; i < npairs; i++) {
        size_t kpos = pos;
        if (mp_skip(p, n, &pos, &why)) return -1;
        size_t val = pos;
        if (mp_skip(p, n, &pos, &why)) return -1;
        if (val - kpos == klen && !memcmp(p + kpos, key, klen)) {
            *start = val;
            *end = pos;
            return 0;
        }
    }
    return -1;
}

struct synap_graph *synap_ir_read_mem(const void *data, size_t n, const char *what,
                                      struct synap_err *err)
{
    const uint8_t *p = data;
    struct rd r = {.what = what, .err = err};
    struct synap_graph *g = NULL;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);

    if (n == 0 || !((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde || p[0] == 0xdf)) {
        synap_errf(err, "%s: not a synap IR file", what);
        goto fail;
    }
    size_t pos = 0;
    const char *why;
    if (mp_skip(p, n, &pos, &why)) {
        if (pos == n)
            synap_errf(err, "%s: truncated file (%zu bytes)", what, n);
        else
            synap_errf(err, "%s: %s at byte %zu", what, why, pos);
        goto fail;
    }
    if (pos != n) {
        synap_errf(err, "%s: %zu bytes of garbage after the IR", what, n - pos);
        goto fail;
    }
    size_t off = 0;
    if (msgpack_unpack_next(&up, data, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n) {
        /* the structure is valid (checked above): only nesting depth is left */
        synap_errf(err, "%s: msgpack nested too deeply", what);
        goto fail;
    }

    g = synap_graph_new();
    r.g = g;
    static const struct field top[] = {{"format", 0}, {"version", 0}, {"producer", 0},
                                       {"graph", 0},  {"meta", 0},    {"sections", 1},
                                       {"pad", 0},    {"blob", 0}};
    const msgpack_object *v[8];
    const msgpack_object *root = &up.data;
    /* the format and version come first so that a foreign or newer file gets
     * that message rather than a complaint about its keys */
    if (root->via.map.size < 2 || !str_is(&root->via.map.ptr[0].key, "format") ||
        !str_is(&root->via.map.ptr[0].val, IR_FORMAT)) {
        synap_errf(err, "%s: not a synap IR file", what);
        goto fail;
    }
    const msgpack_object *ver = &root->via.map.ptr[1].val;
    if (!str_is(&root->via.map.ptr[1].key, "version") ||
        ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ver->via.u64 < 1) {
        synap_errf(err, "%s: invalid IR version", what);
        goto fail;
    }
    if (ver->via.u64 > IR_VERSION) {
        synap_errf(err, "%s: IR version %" PRIu64 " is newer than this tool (%d)", what,
                   ver->via.u64, IR_VERSION);
        goto fail;
    }
    if (get_fields(&r, root, "top level", top, 8, v)) goto fail;
    if (get_str(&r, v[2], "producer", 0, &g->producer)) goto fail;

    if (v[5] && ver->via.u64 < 2) {
        fail(&r, "sections: not allowed in IR version 1");
        goto fail;
    }
    if (want(&r, v[6], MSGPACK_OBJECT_BIN, "pad", "bin") ||
        want(&r, v[7], MSGPACK_OBJECT_BIN, "blob", "bin"))
        goto fail;
    if (v[6]->via.bin.size >= IR_ALIGN) {
        fail(&r, "pad: %" PRIu32 " bytes (at most 63)", v[6]->via.bin.size);
        goto fail;
    }
    r.blob = (const uint8_t *)v[7]->via.bin.ptr;
    r.blob_n = v[7]->via.bin.size;
    /* msgpack-c points bin objects into the caller's buffer; constants rely
     * on it (no copy of the weights), so check rather than assume */
    uintptr_t lo = (uintptr_t)p, at = (uintptr_t)r.blob;
    if (at < lo || r.blob_n > n || at - lo > n - r.blob_n) {
        fail(&r, "blob: not in the file buffer (msgpack-c copied it)");
        goto fail;
    }
    /* an empty blob holds nothing to align (msgpack-c's pointer for an empty
     * bin need not be where its payload would start) */
    if (r.blob_n && (size_t)(r.blob - p) % IR_ALIGN) {
        fail(&r, "blob: starts at file offset %zu, not a multiple of 64", (size_t)(r.blob - p));
        goto fail;
    }

    if (want(&r, v[4], MSGPACK_OBJECT_MAP, "meta", "map")) goto fail;
    if (v[4]->via.map.size) {
        size_t ms, me;
        if (find_top(p, n, "\xa4meta", &ms, &me)) {
            fail(&r, "meta: cannot locate");
            goto fail;
        }
        g->meta = p + ms;
        g->meta_nbytes = me - ms;
    }
    if (v[5] && want(&r, v[5], MSGPACK_OBJECT_MAP, "sections", "map")) goto fail;
    if (v[5] && v[5]->via.map.size) {
        size_t ss, se;
        if (find_top(p, n, "\xa8sections", &ss, &se) || check_sections(p + ss, se - ss)) {
            fail(&r, "sections: not a map with sorted unique string keys");
            goto fail;
        }
        g->sections = p + ss;
        g->sections_nbytes = se - ss;
    }

    if (read_graph(&r, v[3])) goto fail;
    if (synap_graph_verify(g, what, err)) goto fail;
    free(r.tmp);
    msgpack_unpacked_destroy(&up);
    return g;
fail:
    free(r.tmp);
    msgpack_unpacked_destroy(&up);
    synap_graph_free(g);
    return NULL;
}

struct synap_graph *synap_ir_read(const char *path, struct synap_err *err)
{
    struct synap_file f;
    if (synap_file_read(path, &f, err)) return NULL;
    const char *what = strcmp(path, "-") ? path : "<stdin>";
    struct synap_graph *g = synap_ir_read_mem(f.data, f.size, what, err);
    if (!g) {
        synap_file_close(&f);
        return NULL;
    }
    g->file = f;
    return g;
}
