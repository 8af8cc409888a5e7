/* Target descriptions (targets/<name>.yaml): delegates, NPU facts, which ops
 * each delegate runs. Contract: /work/notes/convert-design.md §3. */
#ifndef SYNAP_TARGET_H
#define SYNAP_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ops.h"
#include "util/util.h"

#define SYNAP_MAX_DELEGATES 4

struct synap_target {
    char name[32];          /* canonical upper-case name: "VS680" */
    char path[4096];        /* the yaml file it came from (for depfiles and cache keys) */
    char description[256];
    size_t ndelegates;
    char delegates[SYNAP_MAX_DELEGATES][8]; /* "npu", "gpu", "cpu"; [0] = default */
    /* supported[d][op]: delegate d runs canonical op `op` */
    bool supported[SYNAP_MAX_DELEGATES][SYNAP_OP_COUNT];
    /* NPU facts (0 when the target has no NPU) */
    double clock_mhz;
    double macs_per_cycle_int8, macs_per_cycle_int16, macs_per_cycle_float16;
    double onchip_memory_kb;
    double ddr_bandwidth_mb_s;
};

/* The folder of target files: $SYNAP_TARGETS_DIR, else the source tree's
 * targets/ (compiled in as SYNAP_SOURCE_DIR), else <prefix>/share/synap/targets. */
const char *synap_targets_dir(void);
/* Loads a target by name or alias, case-insensitive. Unknown names are an
 * error listing the valid ones; a damaged file is an error with file:line:col. */
int synap_target_load(const char *name, struct synap_target *t, struct synap_err *err);
/* Index of delegate `name` in t->delegates, or -1. */
int synap_target_delegate(const struct synap_target *t, const char *name);

#endif
