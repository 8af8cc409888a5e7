/* A read-only YAML tree (libyaml's document API) with positions for messages. */
#ifndef SYNAP_YAML_H
#define SYNAP_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

struct synap_yaml;      /* a parsed document */
struct synap_yaml_node; /* borrowed from its document */

enum synap_yaml_type { SYNAP_YAML_NULL, SYNAP_YAML_SCALAR, SYNAP_YAML_SEQ, SYNAP_YAML_MAP };

/* Parses text (a whole document; `what` names it in messages, e.g. the file).
 * An empty document gives a NULL root. Errors: "m.yaml:3:5: <libyaml's problem>".
 * Aliases are refused (no billion-laughs). Caller frees with synap_yaml_free. */
struct synap_yaml *synap_yaml_parse(const char *text, size_t n, const char *what,
                                    struct synap_err *err);
void synap_yaml_free(struct synap_yaml *y);
const struct synap_yaml_node *synap_yaml_root(const struct synap_yaml *y);
const char *synap_yaml_what(const struct synap_yaml *y);

enum synap_yaml_type synap_yaml_type(const struct synap_yaml_node *n);
/* 1-based line and column of the node's start. */
int synap_yaml_line(const struct synap_yaml_node *n);
int synap_yaml_column(const struct synap_yaml_node *n);
/* A scalar's text (NUL-terminated, borrowed); NULL for other types. An
 * explicitly empty or `~`/`null` plain scalar has type SYNAP_YAML_NULL. */
const char *synap_yaml_scalar(const struct synap_yaml_node *n);
/* Whether the scalar was quoted ('...' or "...") in the source. */
bool synap_yaml_quoted(const struct synap_yaml_node *n);
/* Sequences: count and items. Maps: count, keys and values in source order. */
size_t synap_yaml_len(const struct synap_yaml_node *n);
const struct synap_yaml_node *synap_yaml_item(const struct synap_yaml_node *n, size_t i);
const struct synap_yaml_node *synap_yaml_key(const struct synap_yaml_node *n, size_t i);
const struct synap_yaml_node *synap_yaml_value(const struct synap_yaml_node *n, size_t i);
/* The value of a map's scalar key `key`, or NULL (also for non-maps). */
const struct synap_yaml_node *synap_yaml_get(const struct synap_yaml_node *n, const char *key);

/* Typed scalar reads; -1 with "what:line:col: <name>: expected ..." on error. */
int synap_yaml_int(const struct synap_yaml *y, const struct synap_yaml_node *n, const char *name,
                   long long *out, struct synap_err *err);
int synap_yaml_double(const struct synap_yaml *y, const struct synap_yaml_node *n,
                      const char *name, double *out, struct synap_err *err);
/* true/false/yes/no/on/off/1/0 (case-insensitive) */
int synap_yaml_bool(const struct synap_yaml *y, const struct synap_yaml_node *n, const char *name,
                    bool *out, struct synap_err *err);
/* A message located at node n: "what:line:col: <fmt>" (code SYNAP_EINPUT); -1. */
int synap_yaml_errf(const struct synap_yaml *y, const struct synap_yaml_node *n,
                    struct synap_err *err, const char *fmt, ...) SYNAP_PRINTF(4, 5);

#endif
