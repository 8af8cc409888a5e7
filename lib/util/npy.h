/* NumPy .npy files (format versions 1-3, little-endian, C order). */
#ifndef SYNAP_NPY_H
#define SYNAP_NPY_H

#include "kernels/kernel.h"

/* Reads path into *v; v->data is malloc'd (64-aligned), caller frees it.
 * Errors name the file: bad magic, unsupported dtype, Fortran order,
 * truncated data, shape overflow. */
int synap_npy_read(const char *path, struct synap_value *v, struct synap_err *err);
/* Parses .npy bytes; v->data is a fresh copy. */
int synap_npy_parse(const void *buf, size_t n, const char *what, struct synap_value *v,
                    struct synap_err *err);
/* Writes v atomically as a version-1 .npy file. */
int synap_npy_write(const char *path, const struct synap_value *v, struct synap_err *err);

#endif
