/* Layer patterns of the metafile ('*', NAME, 'NAME...', '@id', INPUTS)
 * resolved against a graph. Used by partition (delegate maps) and, later,
 * quantization (data_type maps). Syntax per /work/shared/REFERENCE.md
 * "Layer patterns"; the metafile parser validates syntax, this resolves
 * names against the nodes of a real graph. */
#ifndef SYNAP_PATTERN_H
#define SYNAP_PATTERN_H

#include <stdbool.h>

#include "ir/ir.h"

/* INPUTS is only meaningful for quantization maps: callers opt in. */
#define SYNAP_PATTERN_ALLOW_INPUTS 1u

/* How many valid names an "unknown layer" message lists before "and N more". */
#define SYNAP_PATTERN_MAX_LISTED 20

/* Resolves `pattern` against g and sets selected[i] (nnodes entries, every
 * one written) to whether node i matches:
 *   '*'        every node;
 *   NAME       the node(s) named NAME (or, when no node has that name, the
 *              node producing the tensor named NAME);
 *   'NAME...'  every node downstream of NAME in the dataflow (consuming,
 *              transitively, an output of NAME), not NAME itself;
 *   '@id'      node index id (the layer id: index in the node order);
 *   '@id...'   the nodes downstream of node id, not itself;
 *   INPUTS     the nodes consuming a graph input (only with
 *              SYNAP_PATTERN_ALLOW_INPUTS).
 * Leading/trailing blanks are ignored. Errors (-1): empty pattern, bad or
 * out-of-range '@id', INPUTS when not allowed, and an unknown name:
 * "unknown layer 'x'; valid layers: 'a', 'b', ... and N more". The graph
 * must be topologically sorted (as every verified IR is). */
int synap_pattern_match_flags(const struct synap_graph *g, const char *pattern, unsigned flags,
                              bool *selected, struct synap_err *err);
/* The same with flags 0 (INPUTS refused). */
int synap_pattern_match(const struct synap_graph *g, const char *pattern, bool *selected,
                        struct synap_err *err);

#endif
