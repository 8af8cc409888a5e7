/* ZIP archives as model.synap uses them: stored entries (no compression),
 * each entry's data 64-byte aligned, no timestamps, byte-reproducible.
 * The reader is bounds-checked and accepts only stored entries. */
#ifndef SYNAP_ZIP_H
#define SYNAP_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

uint32_t synap_crc32(uint32_t crc, const void *data, size_t n); /* crc starts at 0 */

/* Writer: entries in the order added; the archive is built in memory. */
struct synap_zipw;
struct synap_zipw *synap_zipw_new(void);
/* Adds an entry (name: relative, '/'-separated, no "..", <= 255 bytes);
 * data is copied. */
void synap_zipw_add(struct synap_zipw *z, const char *name, const void *data, size_t n);
/* The finished archive (central directory + end record); caller frees *out.
 * The writer is freed. */
void synap_zipw_finish(struct synap_zipw *z, uint8_t **out, size_t *n);

/* Reader over bytes in memory (e.g. a mapped file): entries point into them. */
struct synap_zip_entry {
    const char *name; /* NUL-terminated copy */
    const uint8_t *data;
    size_t size;
};
struct synap_zip {
    struct synap_zip_entry *entries;
    size_t nentries;
};
/* Errors name `what` and the problem ("model.synap: entry 3: data outside the
 * file"); CRCs are verified. Caller frees with synap_zip_free. */
int synap_zip_open(const uint8_t *data, size_t n, const char *what, struct synap_zip *z,
                   struct synap_err *err);
const struct synap_zip_entry *synap_zip_find(const struct synap_zip *z, const char *name);
void synap_zip_free(struct synap_zip *z);

#endif
