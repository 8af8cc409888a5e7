/* The content-addressed cache of stage results (convert-design.md §1).
 *
 * Layout of a cache directory DIR:
 *   DIR/v1/<key[0:2]>/<key>/out0, out1, ...   the outputs' bytes
 *   DIR/v1/<key[0:2]>/<key>/warnings          the stage's warnings (may be empty)
 *   DIR/v1/<key[0:2]>/<key>/MANIFEST          "<index> <nbytes> <sha256hex>\n" per output,
 *                                             then "warnings <nbytes> <sha256hex>\n"
 *   DIR/v1/tmp/                               entries being built or removed
 * An entry becomes visible in one rename(2) of a complete directory, so a
 * reader never sees a partial one; every read re-hashes the files against the
 * MANIFEST, and an entry that does not match is moved away and deleted. An
 * entry without the warnings line (written before warnings were kept) counts
 * as damaged too: replaying it would lose its warnings. Any number of
 * processes may share a directory. */
#ifndef SYNAP_CACHE_H
#define SYNAP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- keys ------------------------------------------------------------------
 * key = sha256 over "<tool>\n<version>\n<options>\n", then for every input and
 * extra file (in a fixed order) "<nbytes>\n<sha256hex>\n". The stage tools
 * pass "<release> <sha256 of the executable>" as the version (stage.c; the
 * executable's hash is memoized in CACHE/exe). */
struct synap_cache_key {
    struct synap_sha256 s;
};
void synap_cache_key_init(struct synap_cache_key *k, const char *tool, const char *version,
                          const void *options, size_t options_n);
/* Adds one input's contents. */
void synap_cache_key_add(struct synap_cache_key *k, const void *data, size_t n);
/* The key as 64 lower-case hex digits (+ NUL); k is spent. */
void synap_cache_key_final(struct synap_cache_key *k, char key[65]);

/* ---- the cache ----------------------------------------------------------- */
struct synap_cache;

/* Opens DIR, creating DIR/v1/tmp when missing. A directory that cannot be
 * created or written fails with "cache directory DIR is not writable: why"
 * (code SYNAP_EINPUT). Caller closes. */
struct synap_cache *synap_cache_open(const char *dir, struct synap_err *err);
void synap_cache_close(struct synap_cache *c);

/* Looks `key` up for an entry of exactly `nout` outputs. Returns 1 on a hit
 * (out[0..nout) and *warnings filled: mapped or malloc'd; caller closes each
 * with synap_file_close; warnings may be NULL when unwanted, the file is
 * verified all the same), 0 on a miss. An entry that is incomplete or whose
 * bytes do not match its MANIFEST is removed and counts as a miss (*corrupt
 * set to 1 when corrupt is not NULL). -1 on an I/O error other than those.
 * Every byte returned is hashed exactly once, against the MANIFEST. */
int synap_cache_lookup(struct synap_cache *c, const char *key, size_t nout, struct synap_file *out,
                       struct synap_file *warnings, int *corrupt, struct synap_err *err);

/* Stores nout outputs and the stage's warnings (warnings_n bytes, 0 for
 * none; kept as given) under key: written into a private directory under
 * DIR/v1/tmp, then renamed into place. When another process stored the key
 * first, ours is deleted and that is a success. -1 (nothing visible left
 * behind) on an I/O error. */
int synap_cache_store(struct synap_cache *c, const char *key, size_t nout,
                      const uint8_t *const *out, const size_t *out_n, const void *warnings,
                      size_t warnings_n, struct synap_err *err);

/* The directory of key's entry (DIR/v1/ab/abcd...); caller frees. For
 * tests and messages. */
char *synap_cache_entry_path(const struct synap_cache *c, const char *key);

#endif
