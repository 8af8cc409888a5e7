/* Target descriptions: finding targets/<name>.yaml by name or alias and
 * reading its delegates, NPU facts and per-delegate op lists. */
#include "target/target.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/yaml.h"

#ifndef SYNAP_DATA_DIR
#define SYNAP_DATA_DIR "/usr/local/share/synap"
#endif

static const char *const known_delegates[] = {"npu", "gpu", "cpu"};

const char *synap_targets_dir(void)
{
    const char *env = getenv("SYNAP_TARGETS_DIR");
    if (env && *env) return env;
#ifdef SYNAP_SOURCE_DIR
    struct stat st;
    if (stat(SYNAP_SOURCE_DIR "/targets", &st) == 0 && S_ISDIR(st.st_mode))
        return SYNAP_SOURCE_DIR "/targets";
#endif
    return SYNAP_DATA_DIR "/targets";
}

int synap_target_delegate(const struct synap_target *t, const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < t->ndelegates; i++)
        if (!strcmp(t->delegates[i], name)) return (int)i;
    return -1;
}

/* ---- parsing one file ---------------------------------------------------- */

/* "unknown key 'x'; valid keys: a, b" for every key of map m not in `valid`. */
static int check_keys(const struct synap_yaml *y, const struct synap_yaml_node *m,
                      const char *where, const char *const *valid, size_t nvalid,
                      struct synap_err *err)
{
    for (size_t i = 0; i < synap_yaml_len(m); i++) {
        const struct synap_yaml_node *k = synap_yaml_key(m, i);
        const char *ks = synap_yaml_scalar(k);
        size_t j = 0;
        while (ks && j < nvalid && strcmp(ks, valid[j]))
            j++;
        if (ks && j < nvalid) continue;
        char list[256] = "";
        size_t len = 0;
        for (j = 0; j < nvalid; j++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", valid[j]);
        return synap_yaml_errf(y, k, err, "unknown key '%s'%s%s; valid keys: %s",
                               ks ? ks : "(not a scalar)", *where ? " in " : "", where, list);
    }
    return 0;
}

static int get_string(const struct synap_yaml *y, const struct synap_yaml_node *n, const char *key,
                      char *out, size_t cap, struct synap_err *err)
{
    const char *s = synap_yaml_scalar(n);
    if (!s) return synap_yaml_errf(y, n, err, "%s: expected a string", key);
    if (strlen(s) >= cap)
        return synap_yaml_errf(y, n, err, "%s: longer than %zu characters", key, cap - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int get_positive(const struct synap_yaml *y, const struct synap_yaml_node *n,
                        const char *key, double *out, struct synap_err *err)
{
    if (!n) return 0; /* absent: stays 0 */
    if (synap_yaml_double(y, n, key, out, err) < 0) return -1;
    if (!(*out > 0) || *out > 1e12)
        return synap_yaml_errf(y, n, err, "%s: expected a positive number", key);
    return 0;
}

static int parse_npu(const struct synap_yaml *y, const struct synap_yaml_node *npu,
                     struct synap_target *t, struct synap_err *err)
{
    static const char *const keys[] = {"clock_mhz", "macs_per_cycle", "onchip_memory_kb",
                                       "ddr_bandwidth_mb_s"};
    static const char *const mkeys[] = {"int8", "int16", "float16"};
    if (synap_yaml_type(npu) != SYNAP_YAML_MAP)
        return synap_yaml_errf(y, npu, err, "npu: expected a map");
    if (check_keys(y, npu, "npu", keys, 4, err) < 0) return -1;
    const struct synap_yaml_node *clock = synap_yaml_get(npu, "clock_mhz");
    const struct synap_yaml_node *macs = synap_yaml_get(npu, "macs_per_cycle");
    if (!clock) return synap_yaml_errf(y, npu, err, "npu: missing key 'clock_mhz'");
    if (!macs) return synap_yaml_errf(y, npu, err, "npu: missing key 'macs_per_cycle'");
    if (synap_yaml_type(macs) != SYNAP_YAML_MAP)
        return synap_yaml_errf(y, macs, err, "macs_per_cycle: expected a map");
    if (check_keys(y, macs, "npu.macs_per_cycle", mkeys, 3, err) < 0) return -1;
    if (get_positive(y, clock, "clock_mhz", &t->clock_mhz, err) < 0 ||
        get_positive(y, synap_yaml_get(macs, "int8"), "int8", &t->macs_per_cycle_int8, err) < 0 ||
        get_positive(y, synap_yaml_get(macs, "int16"), "int16", &t->macs_per_cycle_int16, err) <
            0 ||
        get_positive(y, synap_yaml_get(macs, "float16"), "float16", &t->macs_per_cycle_float16,
                     err) < 0 ||
        get_positive(y, synap_yaml_get(npu, "onchip_memory_kb"), "onchip_memory_kb",
                     &t->onchip_memory_kb, err) < 0 ||
        get_positive(y, synap_yaml_get(npu, "ddr_bandwidth_mb_s"), "ddr_bandwidth_mb_s",
                     &t->ddr_bandwidth_mb_s, err) < 0)
        return -1;
    if (!t->macs_per_cycle_int8)
        return synap_yaml_errf(y, macs, err, "macs_per_cycle: missing key 'int8'");
    return 0;
}

static int parse_ops(const struct synap_yaml *y, const struct synap_yaml_node *ops,
                     struct synap_target *t, struct synap_err *err)
{
    if (synap_yaml_type(ops) != SYNAP_YAML_MAP)
        return synap_yaml_errf(y, ops, err, "ops: expected a map of delegate to op list");
    bool seen[SYNAP_MAX_DELEGATES] = {0};
    for (size_t i = 0; i < synap_yaml_len(ops); i++) {
        const struct synap_yaml_node *k = synap_yaml_key(ops, i), *v = synap_yaml_value(ops, i);
        int d = synap_target_delegate(t, synap_yaml_scalar(k));
        if (d < 0)
            return synap_yaml_errf(y, k, err, "ops: '%s' is not one of this target's delegates",
                                   synap_yaml_scalar(k) ? synap_yaml_scalar(k) : "?");
        seen[d] = true;
        const char *s = synap_yaml_scalar(v);
        if (s && !strcmp(s, "all")) {
            for (size_t op = 0; op < SYNAP_OP_COUNT; op++)
                t->supported[d][op] = true;
            continue;
        }
        if (synap_yaml_type(v) != SYNAP_YAML_SEQ)
            return synap_yaml_errf(y, v, err, "ops.%s: expected 'all' or a list of op names",
                                   t->delegates[d]);
        for (size_t j = 0; j < synap_yaml_len(v); j++) {
            const struct synap_yaml_node *it = synap_yaml_item(v, j);
            const char *name = synap_yaml_scalar(it);
            enum synap_op op = name ? synap_op_from_name(name) : SYNAP_OP_COUNT;
            if (op == SYNAP_OP_COUNT)
                return synap_yaml_errf(y, it, err, "ops.%s: unknown op '%s'", t->delegates[d],
                                       name ? name : "(not a string)");
            t->supported[d][op] = true;
        }
    }
    for (size_t d = 0; d < t->ndelegates; d++)
        if (!seen[d])
            return synap_yaml_errf(y, ops, err, "ops: missing the op list of delegate '%s'",
                                   t->delegates[d]);
    return 0;
}

/* Parses one target file into t. Also collects the names it answers to
 * (name + aliases, upper-cased) into names[] when names != NULL. */
static int parse_target(const char *path, struct synap_target *t, char (*names)[32], size_t *nnames,
                        size_t cap_names, struct synap_err *err)
{
    static const char *const keys[] = {"name", "aliases", "description", "delegates", "npu", "ops"};
    struct synap_file f;
    struct synap_yaml *y = NULL;
    int rc = -1;
    if (synap_file_read(path, &f, err) < 0) return -1;
    memset(t, 0, sizeof *t);
    if (strlen(path) >= sizeof t->path) {
        synap_errf(err, "%s: path too long", path);
        goto out_file;
    }
    memcpy(t->path, path, strlen(path) + 1);
    y = synap_yaml_parse((const char *)f.data, f.size, path, err);
    if (!y) goto out_file;
    const struct synap_yaml_node *root = synap_yaml_root(y);
    if (synap_yaml_type(root) != SYNAP_YAML_MAP) {
        synap_yaml_errf(y, root, err, "expected a map with keys name, delegates, ops");
        goto out;
    }
    if (check_keys(y, root, "", keys, 6, err) < 0) goto out;
    const struct synap_yaml_node *name = synap_yaml_get(root, "name");
    const struct synap_yaml_node *dels = synap_yaml_get(root, "delegates");
    const struct synap_yaml_node *ops = synap_yaml_get(root, "ops");
    const struct synap_yaml_node *npu = synap_yaml_get(root, "npu");
    const struct synap_yaml_node *aliases = synap_yaml_get(root, "aliases");
    const struct synap_yaml_node *desc = synap_yaml_get(root, "description");
    const char *missing = !name ? "name" : !dels ? "delegates" : !ops ? "ops" : NULL;
    if (missing) {
        synap_yaml_errf(y, root, err, "missing key '%s'", missing);
        goto out;
    }
    if (get_string(y, name, "name", t->name, sizeof t->name, err) < 0) goto out;
    for (char *p = t->name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (desc && get_string(y, desc, "description", t->description, sizeof t->description, err) < 0)
        goto out;
    if (names && *nnames < cap_names) memcpy(names[(*nnames)++], t->name, sizeof t->name);
    if (aliases) {
        if (synap_yaml_type(aliases) != SYNAP_YAML_SEQ) {
            synap_yaml_errf(y, aliases, err, "aliases: expected a list of names");
            goto out;
        }
        for (size_t i = 0; i < synap_yaml_len(aliases); i++) {
            char a[32];
            if (get_string(y, synap_yaml_item(aliases, i), "aliases", a, sizeof a, err) < 0)
                goto out;
            for (char *p = a; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            if (names && *nnames < cap_names) memcpy(names[(*nnames)++], a, sizeof a);
        }
    }
    if (synap_yaml_type(dels) != SYNAP_YAML_SEQ || synap_yaml_len(dels) == 0 ||
        synap_yaml_len(dels) > SYNAP_MAX_DELEGATES) {
        synap_yaml_errf(y, dels, err, "delegates: expected a list of 1 to %d of npu, gpu, cpu",
                        SYNAP_MAX_DELEGATES);
        goto out;
    }
    for (size_t i = 0; i < synap_yaml_len(dels); i++) {
        const struct synap_yaml_node *it = synap_yaml_item(dels, i);
        const char *s = synap_yaml_scalar(it);
        size_t k = 0;
        while (s && k < 3 && strcmp(s, known_delegates[k]))
            k++;
        if (!s || k == 3) {
            synap_yaml_errf(y, it, err, "delegates: unknown delegate '%s'; valid: npu, gpu, cpu",
                            s ? s : "(not a string)");
            goto out;
        }
        if (synap_target_delegate(t, s) >= 0) {
            synap_yaml_errf(y, it, err, "delegates: '%s' listed twice", s);
            goto out;
        }
        memcpy(t->delegates[t->ndelegates++], s, strlen(s) + 1);
    }
    bool has_npu = synap_target_delegate(t, "npu") >= 0;
    if (has_npu && !npu) {
        synap_yaml_errf(y, root, err, "missing key 'npu' (the NPU facts of a target with an npu)");
        goto out;
    }
    if (!has_npu && npu) {
        synap_yaml_errf(y, npu, err, "npu: the target has no npu delegate");
        goto out;
    }
    if (npu && parse_npu(y, npu, t, err) < 0) goto out;
    if (parse_ops(y, ops, t, err) < 0) goto out;
    rc = 0;
out:
    synap_yaml_free(y);
out_file:
    synap_file_close(&f);
    return rc;
}

/* ---- lookup ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The *.yaml files of dir, sorted (deterministic search and messages).
 * Caller frees each and the array. */
static char **list_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 16;
    char **v = synap_xmalloc(cap * sizeof *v);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.') continue;
        if (*n == cap) v = synap_xrealloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = synap_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static bool answers_to(char (*names)[32], size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(names[i], want)) return true;
    return false;
}

int synap_target_load(const char *name, struct synap_target *t, struct synap_err *err)
{
    const char *dir = synap_targets_dir();
    char path[4096];
    char names[16][32];
    size_t nnames;
    if (!name || !*name) return synap_errf(err, "no target given");
    bool plain = strlen(name) < 32;
    for (const char *p = name; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || *p == '_' || *p == '-';
    /* fast path: targets/<lower-case name>.yaml (no directory scan) */
    if (plain) {
        int len = snprintf(path, sizeof path, "%s/", dir);
        for (const char *p = name; *p && len < (int)sizeof path - 6; p++)
            path[len++] = (char)tolower((unsigned char)*p);
        memcpy(path + len, ".yaml", 6);
        struct stat st;
        if (stat(path, &st) == 0) {
            nnames = 0;
            if (parse_target(path, t, names, &nnames, 16, err) < 0) return -1;
            if (answers_to(names, nnames, name)) return 0;
        }
    }
    /* by alias (or a file named differently): read every target file */
    size_t nfiles;
    char **files = list_files(dir, &nfiles);
    if (!files) return synap_errf(err, "cannot read the targets folder %s", dir);
    char(*all)[32] = synap_xcalloc(nfiles * 16 + 1, sizeof *all);
    size_t nall = 0;
    int rc = -1;
    for (size_t i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        nnames = 0;
        if (parse_target(path, t, names, &nnames, 16, err) < 0) goto out;
        if (plain && answers_to(names, nnames, name)) {
            rc = 0;
            goto out;
        }
        memcpy(all + nall, names, nnames * sizeof *names);
        nall += nnames;
    }
    qsort(all, nall, sizeof *all, cmp_name);
    char list[700] = "";
    size_t len = 0;
    for (size_t i = 0; i < nall && len < sizeof list - 40; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", all[i]);
    memset(t, 0, sizeof *t);
    synap_errf(err, "unknown target '%.64s'; valid targets: %s", name,
               nall ? list : "(none: no target files found)");
out:
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    free(all);
    return rc;
}
