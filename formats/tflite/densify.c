/* Sparse TFLite constants (SparsityParameters, a TACO-style format) made
 * dense at import, which is what the DENSIFY op does at run time.
 *
 * A rank-n tensor with k block dimensions is traversed in traversal_order
 * (n + k levels). Dims 0..n-1 are the original dims (divided by their block
 * size when blocked), dims n..n+k-1 the blocks, block b belonging to original
 * dim block_map[b]. Per level, dim_metadata says DENSE (dense_size entries,
 * position = parent * size + i) or SPARSE_CSR (array_segments[parent] ..
 * array_segments[parent + 1] index into array_indices, which hold the
 * coordinates; position = that index). The last level's position indexes
 * the stored values. Every array, position and coordinate is checked. */
#include <stdlib.h>
#include <string.h>

#include "tflite/internal.h"

#define MAX_LEVELS (2 * SYNAP_MAX_RANK)

struct level {
    int dim;    /* expanded dim traversed at this level */
    int sparse; /* SPARSE_CSR */
    int64_t size;
    struct fb_vec seg, idx; /* sparse: segments and indices */
    int seg_type, idx_type;
};

struct dens {
    struct fb_reader *r;
    struct synap_err *err;
    const char *name;
    int n, nlev;
    struct level lev[MAX_LEVELS];
    int64_t exp[MAX_LEVELS];      /* size of each expanded dim */
    int block_of[SYNAP_MAX_RANK]; /* expanded dim of dim i's block, or -1 */
    int64_t block[SYNAP_MAX_RANK];
    int64_t coord[MAX_LEVELS];
    const uint8_t *vals;
    size_t nvals, esz;
    uint8_t *out;
    const int64_t *dims;
};

static int64_t siv_get(struct fb_reader *r, const struct fb_vec *v, int type, uint32_t i)
{
    switch (type) {
    case TFL_SIV_INT32:
        return fb_vec_i32(r, v, i);
    case TFL_SIV_UINT16:
        return fb_vec_u16(r, v, i);
    default:
        return fb_vec_u8(r, v, i);
    }
}

static int read_siv(struct dens *d, const struct fb_table *dm, unsigned tfield, unsigned vfield,
                    struct fb_vec *v, int *type)
{
    *type = fb_u8(d->r, dm, tfield, 0);
    struct fb_table t = fb_table(d->r, dm, vfield);
    uint32_t esz = *type == TFL_SIV_INT32 ? 4 : *type == TFL_SIV_UINT16 ? 2 : 1;
    if (*type < TFL_SIV_INT32 || *type > TFL_SIV_UINT8)
        return synap_errf(d->err, "sparse index vector type %d is not valid", *type);
    *v = fb_vector(d->r, &t, 0, esz);
    return fb_failed(d->r) ? -1 : 0;
}

static int walk(struct dens *d, int l, int64_t pos)
{
    if (l == d->nlev) {
        if (pos < 0 || (size_t)pos >= d->nvals)
            return synap_errf(d->err, "value position %lld beyond the %zu stored values",
                              (long long)pos, d->nvals);
        int64_t flat = 0;
        for (int i = 0; i < d->n; i++) {
            int64_t c = d->coord[i];
            if (d->block_of[i] >= 0) c = c * d->block[i] + d->coord[d->block_of[i]];
            flat = flat * d->dims[i] + c;
        }
        memcpy(d->out + (size_t)flat * d->esz, d->vals + (size_t)pos * d->esz, d->esz);
        return 0;
    }
    struct level *lv = &d->lev[l];
    if (!lv->sparse) {
        for (int64_t i = 0; i < lv->size; i++) {
            d->coord[lv->dim] = i;
            if (walk(d, l + 1, pos * lv->size + i) < 0) return -1;
        }
        return 0;
    }
    if (pos < 0 || (uint64_t)pos + 1 >= lv->seg.len)
        return synap_errf(d->err, "level %d: segment %lld out of range", l, (long long)pos);
    int64_t a = siv_get(d->r, &lv->seg, lv->seg_type, (uint32_t)pos);
    int64_t b = siv_get(d->r, &lv->seg, lv->seg_type, (uint32_t)pos + 1);
    for (int64_t j = a; j < b; j++) {
        int64_t c = siv_get(d->r, &lv->idx, lv->idx_type, (uint32_t)j);
        if (c < 0 || c >= d->exp[lv->dim])
            return synap_errf(d->err, "level %d: coordinate %lld out of range", l, (long long)c);
        d->coord[lv->dim] = c;
        if (walk(d, l + 1, j) < 0) return -1;
    }
    return fb_failed(d->r) ? -1 : 0;
}

int tfl_densify(struct tfl_ctx *c, const struct tfl_tensor *t, void **out, size_t *nbytes)
{
    struct fb_reader *r = tfl_reader(c);
    struct dens d = {.r = r, .err = tfl_err(c), .name = t->name, .n = t->rank, .dims = t->dims};
    *out = NULL;
    d.esz = synap_dtype_size(t->dtype);
    int64_t ne = synap_shape_nelem(t->rank, t->dims);
    if (!d.esz || ne < 0) return synap_errf(d.err, "sparse %s tensor not supported", "this");
    struct fb_vec trav = fb_vector(r, &t->sparsity, TFL_SPARSITY_TRAVERSAL_ORDER, 4);
    struct fb_vec bmap = fb_vector(r, &t->sparsity, TFL_SPARSITY_BLOCK_MAP, 4);
    struct fb_vec meta = fb_vector(r, &t->sparsity, TFL_SPARSITY_DIM_METADATA, 4);
    if (fb_failed(r)) return -1;
    int k = (int)bmap.len;
    if (bmap.len > SYNAP_MAX_RANK || trav.len != (uint32_t)(t->rank + k) || meta.len != trav.len)
        return synap_errf(d.err,
                          "sparsity: traversal order (%u), block map (%u) and dim metadata (%u) "
                          "do not fit rank %d",
                          (unsigned)trav.len, (unsigned)bmap.len, (unsigned)meta.len, t->rank);
    d.nlev = t->rank + k;
    for (int i = 0; i < t->rank; i++) {
        d.block_of[i] = -1;
        d.block[i] = 1;
        d.exp[i] = t->dims[i];
    }
    int seen[MAX_LEVELS] = {0};
    for (int l = 0; l < d.nlev; l++) {
        int32_t dim = fb_vec_i32(r, &trav, (uint32_t)l);
        if (dim < 0 || dim >= d.nlev || seen[dim])
            return synap_errf(d.err, "sparsity: traversal order is not a permutation");
        seen[dim] = 1;
        struct fb_table dm = fb_vec_table(r, &meta, (uint32_t)l);
        struct level *lv = &d.lev[l];
        lv->dim = dim;
        lv->sparse = fb_i8(r, &dm, TFL_DIMMETA_FORMAT, 0) == TFL_DIM_SPARSE_CSR;
        lv->size = fb_i32(r, &dm, TFL_DIMMETA_DENSE_SIZE, 0);
        if (fb_failed(r)) return -1;
        if (lv->sparse && (read_siv(&d, &dm, TFL_DIMMETA_SEGMENTS_TYPE, TFL_DIMMETA_SEGMENTS,
                                    &lv->seg, &lv->seg_type) < 0 ||
                           read_siv(&d, &dm, TFL_DIMMETA_INDICES_TYPE, TFL_DIMMETA_INDICES,
                                    &lv->idx, &lv->idx_type) < 0))
            return -1;
        if (dim >= t->rank) {
            /* a block dim: dense, its size divides the original dim */
            int b = dim - t->rank;
            int32_t orig = fb_vec_i32(r, &bmap, (uint32_t)b);
            if (lv->sparse || lv->size < 1 || orig < 0 || orig >= t->rank ||
                d.block_of[orig] >= 0 || t->dims[orig] % lv->size)
                return synap_errf(d.err, "sparsity: bad block %d", b);
            d.block_of[orig] = dim;
            d.block[orig] = lv->size;
            d.exp[orig] = t->dims[orig] / lv->size;
            d.exp[dim] = lv->size;
        }
    }
    for (int l = 0; l < d.nlev; l++) {
        struct level *lv = &d.lev[l];
        if (!lv->sparse && lv->size != d.exp[lv->dim])
            return synap_errf(d.err, "sparsity: level %d has dense size %lld, expected %lld", l,
                              (long long)lv->size, (long long)d.exp[lv->dim]);
        if (lv->sparse) {
            /* segments never decrease and stay within the indices: every
             * index is visited at most once */
            int64_t prev = 0;
            for (uint32_t q = 0; q < lv->seg.len; q++) {
                int64_t s = siv_get(r, &lv->seg, lv->seg_type, q);
                if (s < prev || s > (int64_t)lv->idx.len)
                    return synap_errf(d.err, "sparsity: level %d: segments out of order", l);
                prev = s;
            }
        }
    }
    d.vals = t->data;
    d.nvals = t->data ? t->nbytes / d.esz : 0;
    *nbytes = (size_t)ne * d.esz;
    d.out = synap_xcalloc(*nbytes + 1, 1);
    if (walk(&d, 0, 0) < 0) {
        free(d.out);
        return -1;
    }
    *out = d.out;
    return 0;
}
