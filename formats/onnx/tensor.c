/* ONNX TensorProto -> element type, shape and bytes: raw_data, the typed
 * repeated fields, and external data files beside the model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/internal.h"

/* raw_data and external data are little-endian; so is every target we run on. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX importer assumes a little-endian host"
#endif

enum synap_dtype onnx_dtype(int32_t t)
{
    /* the generated enum values are ONNX's TensorProto.DataType numbers */
    return synap_dtype_from_onnx(t);
}

const char *onnx_dtype_name(int32_t t)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED:
        return "undefined";
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING:
        return "string";
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64:
        return "complex64";
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128:
        return "complex128";
    default: {
        enum synap_dtype d = onnx_dtype(t);
        return d == SYNAP_DTYPE_UNDEFINED ? "unknown" : synap_dtype_name(d);
    }
    }
}

void onnx_tdata_free(struct onnx_tdata *d)
{
    free(d->owned);
    d->owned = NULL;
    d->data = NULL;
}

void onnx_extfiles_close(struct onnx_extfile **ext)
{
    while (ext && *ext) {
        struct onnx_extfile *e = *ext;
        *ext = e->next;
        synap_file_close(&e->file);
        free(e->path);
        free(e);
    }
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* A location must stay inside the model's folder: relative, no '..'. */
static int safe_relative(const char *p)
{
    if (!*p || p[0] == '/' || p[0] == '\\') return 0;
    for (const char *s = p; *s;) {
        size_t len = strcspn(s, "/\\");
        if (len == 2 && s[0] == '.' && s[1] == '.') return 0;
        s += len;
        if (*s) s++;
    }
    return 1;
}

static int external_data(const Onnx__TensorProto *t, const char *name, const char *dir,
                         struct onnx_extfile **ext, struct onnx_tdata *out, struct synap_err *err)
{
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    int has_length = 0;
    if (!ext) return synap_errf(err, "tensor '%s': external data is not allowed here", name);
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[i];
        if (!kv || !kv->key) continue;
        if (!strcmp(kv->key, "location")) {
            location = kv->value;
        } else if (!strcmp(kv->key, "offset")) {
            if (parse_u64(kv->value, &offset) < 0)
                return synap_errf(err, "tensor '%s': bad external data offset '%s'", name,
                                  kv->value ? kv->value : "");
        } else if (!strcmp(kv->key, "length")) {
            if (parse_u64(kv->value, &length) < 0)
                return synap_errf(err, "tensor '%s': bad external data length '%s'", name,
                                  kv->value ? kv->value : "");
            has_length = 1;
        }
    }
    if (!location) return synap_errf(err, "tensor '%s': external data without a location", name);
    if (!safe_relative(location))
        return synap_errf(err,
                          "tensor '%s': external data location '%s' must be a relative path "
                          "inside the model's folder (no '..')",
                          name, location);
    size_t n = strlen(dir) + strlen(location) + 2;
    char *path = synap_xmalloc(n);
    snprintf(path, n, "%s/%s", dir, location);
    struct onnx_extfile *e = *ext;
    while (e && strcmp(e->path, path))
        e = e->next;
    if (!e) {
        e = synap_xcalloc(1, sizeof *e);
        if (synap_file_read(path, &e->file, err) < 0) {
            free(e);
            free(path);
            synap_err_prefix(err, "tensor '%s': external data", name);
            return -1;
        }
        e->path = path;
        e->next = *ext;
        *ext = e;
    } else {
        free(path);
    }
    if (offset > e->file.size)
        return synap_errf(err,
                          "tensor '%s': external data offset %llu beyond the end of '%s' (%zu "
                          "bytes)",
                          name, (unsigned long long)offset, location, e->file.size);
    if (!has_length) length = e->file.size - offset;
    if (length > e->file.size - offset)
        return synap_errf(err,
                          "tensor '%s': external data [%llu, +%llu) beyond the end of '%s' "
                          "(%zu bytes)",
                          name, (unsigned long long)offset, (unsigned long long)length, location,
                          e->file.size);
    if (length != out->nbytes)
        return synap_errf(err, "tensor '%s': external data has %llu bytes, shape needs %zu", name,
                          (unsigned long long)length, out->nbytes);
    out->data = e->file.data + offset;
    return 0;
}

/* Narrows the int32_data field into elements of `size` bytes (ONNX stores
 * int8..uint16, bool and the 16-bit floats' bit patterns there). */
static void *narrow_i32(const int32_t *v, size_t n, size_t size)
{
    uint8_t *p = synap_xmalloc(n * size + 1);
    for (size_t i = 0; i < n; i++) {
        if (size == 1) {
            p[i] = (uint8_t)v[i];
        } else {
            uint16_t h = (uint16_t)v[i];
            memcpy(p + 2 * i, &h, 2);
        }
    }
    return p;
}

int onnx_tensor_decode(const Onnx__TensorProto *t, const char *dir, struct onnx_extfile **ext,
                       struct onnx_tdata *out, struct synap_err *err)
{
    const char *name = t->name ? t->name : "";
    memset(out, 0, sizeof *out);
    int32_t type = t->has_data_type ? t->data_type : 0;
    out->dtype = onnx_dtype(type);
    if (out->dtype == SYNAP_DTYPE_UNDEFINED)
        return synap_errf(err, "tensor '%s': %s tensors are not supported", name,
                          onnx_dtype_name(type));
    if (t->n_dims > SYNAP_MAX_RANK)
        return synap_errf(err, "tensor '%s': rank %zu exceeds the maximum of %d", name, t->n_dims,
                          SYNAP_MAX_RANK);
    out->rank = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return synap_errf(err, "tensor '%s': negative dimension %lld", name,
                              (long long)t->dims[i]);
        out->dims[i] = t->dims[i];
    }
    int64_t ne = synap_shape_nelem(out->rank, out->dims);
    size_t esize = synap_dtype_size(out->dtype);
    char shape[128];
    synap_shape_str(out->rank, out->dims, shape, sizeof shape);
    if (ne < 0 || (uint64_t)ne > SIZE_MAX || synap_mul_overflow((size_t)ne, esize, &out->nbytes))
        return synap_errf(err, "tensor '%s': shape %s has too many elements", name, shape);
    size_t nelem = (size_t)ne;

    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return external_data(t, name, dir, ext, out, err);
    if (t->has_raw_data) {
        if (t->raw_data.len != out->nbytes)
            return synap_errf(err, "tensor '%s': raw data has %zu bytes, shape %s needs %zu", name,
                              t->raw_data.len, shape, out->nbytes);
        out->data = t->raw_data.data;
        return 0;
    }
    size_t have;
    switch (out->dtype) {
    case SYNAP_DTYPE_FLOAT32:
        have = t->n_float_data;
        out->data = t->float_data;
        break;
    case SYNAP_DTYPE_FLOAT64:
        have = t->n_double_data;
        out->data = t->double_data;
        break;
    case SYNAP_DTYPE_INT64:
        have = t->n_int64_data;
        out->data = t->int64_data;
        break;
    case SYNAP_DTYPE_INT32:
        have = t->n_int32_data;
        out->data = t->int32_data;
        break;
    case SYNAP_DTYPE_UINT64:
        have = t->n_uint64_data;
        out->data = t->uint64_data;
        break;
    case SYNAP_DTYPE_UINT32:
        have = t->n_uint64_data;
        if (have == nelem) {
            uint32_t *p = synap_xmalloc(nelem * 4 + 1);
            for (size_t i = 0; i < nelem; i++)
                p[i] = (uint32_t)t->uint64_data[i];
            out->owned = p;
            out->data = p;
        }
        break;
    default: /* int8, uint8, int16, uint16, bool, float16, bfloat16 */
        have = t->n_int32_data;
        if (have == nelem) {
            out->owned = narrow_i32(t->int32_data, nelem, esize);
            out->data = out->owned;
        }
        break;
    }
    if (have != nelem) {
        onnx_tdata_free(out);
        return synap_errf(err, "tensor '%s': has %zu values, shape %s needs %zu", name, have, shape,
                          nelem);
    }
    if (nelem == 0) out->data = "";
    return 0;
}

int synap_onnx_read_tensor_file(const char *path, struct synap_value *v, char **name,
                                struct synap_err *err)
{
    struct synap_file f;
    memset(v, 0, sizeof *v);
    if (name) *name = NULL;
    if (synap_file_read(path, &f, err) < 0) return -1;
    int rc = -1;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, f.size, f.data);
    if (!t) {
        synap_errf(err, "%s: not a serialized ONNX TensorProto", path);
        goto out;
    }
    struct onnx_tdata d;
    /* external data resolves relative to the tensor file's folder */
    char *dir = synap_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    struct onnx_extfile *ext = NULL;
    int r = onnx_tensor_decode(t, dir, &ext, &d, err);
    free(dir);
    if (r < 0) {
        onnx_extfiles_close(&ext);
        synap_err_prefix(err, "%s", path);
        goto out;
    }
    v->dtype = d.dtype;
    v->rank = d.rank;
    memcpy(v->dims, d.dims, sizeof v->dims);
    v->data = synap_xaligned(d.nbytes ? d.nbytes : 1);
    if (d.nbytes) memcpy(v->data, d.data, d.nbytes);
    onnx_tdata_free(&d);
    onnx_extfiles_close(&ext);
    if (name) *name = synap_xstrdup(t->name ? t->name : "");
    rc = 0;
out:
    if (t) onnx__tensor_proto__free_unpacked(t, NULL);
    synap_file_close(&f);
    return rc;
}
