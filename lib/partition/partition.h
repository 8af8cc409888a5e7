/* synap-partition's work: a delegate for every layer (whole-network choice,
 * then the metafile's pattern map, checked against what the target's
 * delegates run) and greedy subgraphs in topological order.
 * Contract: convert-design.md §5, REFERENCE.md "Heterogeneous partitioning". */
#ifndef SYNAP_PARTITION_H
#define SYNAP_PARTITION_H

#include "ir/ir.h"
#include "target/target.h"
#include "util/json.h"

struct synap_partition_rule {
    const char *pattern;  /* '*', NAME, 'NAME...', '@id' (lib/meta/pattern.h) */
    const char *delegate; /* "npu", "gpu", "cpu" or "default" */
};

struct synap_partition_opts {
    const char *target;   /* target name or alias (for the tool; the library takes a target) */
    const char *delegate; /* whole network; NULL = "default" */
    const struct synap_partition_rule *rules; /* applied in order, later wins */
    size_t nrules;
};

/* Assigns node->delegate and node->subgraph on every node of g and reorders
 * the nodes into execution order (subgraph 0 first). Each layer starts with
 * o->delegate (NULL: "default"), then every rule whose pattern selects it
 * overrides it. "default" is the target's first delegate, except that a
 * layer it cannot run goes to the cpu; those layers are described in
 * *warning ("3 layers run on cpu: 'x' (Foo), ..."; malloc'd, caller frees;
 * NULL when none). An explicitly chosen delegate that cannot run a layer's
 * op, a delegate the target lacks, or a pattern naming no layer are errors
 * (-1; g is then unchanged). Subgraphs: from the ready layers, continue with
 * the lowest-index one on the current delegate; when none is ready, start a
 * new subgraph with the lowest-index ready layer. */
int synap_partition(struct synap_graph *g, const struct synap_target *t,
                    const struct synap_partition_opts *o, char **warning, struct synap_err *err);

/* Reads synap-partition's options (partition.json and the tool's flags):
 *   "target": str,
 *   "delegate": "npu" (whole network; words after the first are delegate
 *               options, ignored) | [["PATTERN", "DELEGATE"], ...],
 *   "delegate_map": ["PATTERN=DELEGATE", ...] (the --delegate-map flag;
 *               applied after the "delegate" list).
 * Unknown keys are errors. Strings are borrowed from opts or allocated in a. */
int synap_partition_opts_from_json(const struct synap_json *opts, struct synap_arena *a,
                                   struct synap_partition_opts *o, struct synap_err *err);

#endif
