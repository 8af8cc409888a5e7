/* cache: key bytes, store and verified lookup (outputs and warnings), corrupt
 * entries, races. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/cache.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/synap-test-cache.XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static char *sub(const char *name)
{
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, name);
    return buf[k];
}

static void write_bytes(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    fclose(f);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static const char key_a[] = "7809b9c83ceb832beaab02528eff472f5e6c170885acd82c7725b416f37e8a2b";

/* The key is sha256 over exactly the bytes the contract lists (values from
 * Python's hashlib). */
static void test_key_bytes(void **state)
{
    (void)state;
    struct synap_cache_key k;
    char hex[65];
    synap_cache_key_init(&k, "synap-test", "0.1.0", "{\"a\":1}", 7);
    synap_cache_key_add(&k, "abc", 3);
    synap_cache_key_add(&k, "", 0);
    synap_cache_key_final(&k, hex);
    assert_string_equal(hex, key_a);
    synap_cache_key_init(&k, "synap-test", "0.1.0", "{}", 2);
    synap_cache_key_final(&k, hex);
    assert_string_equal(hex, "c7da0cd52dad8b5f0966c52a811617f92c3bfd71c9ab0bc036e5b9030d6fbe56");
}

static struct synap_cache *open_cache(const char *name)
{
    struct synap_err err = {0};
    struct synap_cache *c = synap_cache_open(sub(name), &err);
    assert_non_null(c);
    return c;
}

/* Two outputs ("hello", "") and one warning line. */
static void store2(struct synap_cache *c, const char *key)
{
    struct synap_err err = {0};
    const uint8_t *out[2] = {(const uint8_t *)"hello", (const uint8_t *)""};
    size_t n[2] = {5, 0};
    assert_int_equal(synap_cache_store(c, key, 2, out, n, "careful\n", 8, &err), 0);
}

static void test_store_lookup(void **state)
{
    (void)state;
    struct synap_cache *c = open_cache("c1");
    struct synap_err err = {0};
    struct synap_file f[2], w;
    int corrupt = -1;
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, &w, &corrupt, &err), 0);
    assert_int_equal(corrupt, 0);
    store2(c, key_a);
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, &w, &corrupt, &err), 1);
    assert_int_equal(corrupt, 0);
    assert_int_equal(f[0].size, 5);
    assert_memory_equal(f[0].data, "hello", 5);
    assert_int_equal(f[1].size, 0);
    assert_int_equal(w.size, 8);
    assert_memory_equal(w.data, "careful\n", 8);
    synap_file_close(&f[0]);
    synap_file_close(&f[1]);
    synap_file_close(&w);
    /* the warnings may be left unread */
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, NULL, &corrupt, &err), 1);
    synap_file_close(&f[0]);
    synap_file_close(&f[1]);
    /* layout and MANIFEST bytes */
    char *e = synap_cache_entry_path(c, key_a);
    char want[512];
    snprintf(want, sizeof want, "%s/v1/78/%s", sub("c1"), key_a);
    assert_string_equal(e, want);
    char mp[600];
    snprintf(mp, sizeof mp, "%s/MANIFEST", e);
    struct synap_file m;
    assert_int_equal(synap_file_read(mp, &m, &err), 0);
    const char *manifest =
        "0 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
        "1 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "warnings 8 f1af476f7f84e818bf9d7b292cfbdd70493f98f50f1d9d5f1fcc967c1e565fcb\n";
    assert_int_equal(m.size, strlen(manifest));
    assert_memory_equal(m.data, manifest, m.size);
    synap_file_close(&m);
    free(e);
    /* storing again is a no-op success; nothing is left in tmp */
    store2(c, key_a);
    assert_int_equal(count_entries(sub("c1/v1/tmp")), 0);
    assert_int_equal(count_entries(sub("c1/v1/78")), 1);
    synap_cache_close(c);
}

/* No warnings: an empty warnings file, still listed and verified. */
static void test_no_warnings(void **state)
{
    (void)state;
    struct synap_cache *c = open_cache("nw");
    struct synap_err err = {0};
    const uint8_t *out[1] = {(const uint8_t *)"x"};
    size_t n[1] = {1};
    assert_int_equal(synap_cache_store(c, key_a, 1, out, n, NULL, 0, &err), 0);
    struct synap_file f[1], w;
    assert_int_equal(synap_cache_lookup(c, key_a, 1, f, &w, NULL, &err), 1);
    assert_int_equal(w.size, 0);
    synap_file_close(&f[0]);
    synap_file_close(&w);
    char *e = synap_cache_entry_path(c, key_a);
    char mp[600];
    snprintf(mp, sizeof mp, "%s/MANIFEST", e);
    struct synap_file m;
    assert_int_equal(synap_file_read(mp, &m, &err), 0);
    const char *manifest =
        "0 1 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\n"
        "warnings 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
    assert_int_equal(m.size, strlen(manifest));
    assert_memory_equal(m.data, manifest, m.size);
    synap_file_close(&m);
    free(e);
    synap_cache_close(c);
}

/* Each kind of damage makes the lookup a miss, removes the entry, and a new
 * store then works. */
static void damage_case(const char *name, void (*damage)(const char *entry))
{
    struct synap_cache *c = open_cache(name);
    struct synap_err err = {0};
    store2(c, key_a);
    char *e = synap_cache_entry_path(c, key_a);
    damage(e);
    struct synap_file f[2], w;
    int corrupt = 0;
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, &w, &corrupt, &err), 0);
    assert_int_equal(corrupt, 1);
    assert_null(w.data);
    struct stat st;
    assert_int_equal(stat(e, &st), -1);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s/v1/tmp", name);
    assert_int_equal(count_entries(sub(tmp)), 0);
    store2(c, key_a);
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, &w, &corrupt, &err), 1);
    assert_memory_equal(f[0].data, "hello", 5);
    assert_memory_equal(w.data, "careful\n", 8);
    synap_file_close(&f[0]);
    synap_file_close(&f[1]);
    synap_file_close(&w);
    free(e);
    synap_cache_close(c);
}

static char fp[600];
static const char *in_entry(const char *e, const char *f)
{
    snprintf(fp, sizeof fp, "%s/%s", e, f);
    return fp;
}
static void flip_byte(const char *e)
{
    write_bytes(in_entry(e, "out0"), "hellp", 5);
}
static void truncate_out(const char *e)
{
    write_bytes(in_entry(e, "out0"), "hell", 4);
}
static void drop_out(const char *e)
{
    assert_int_equal(unlink(in_entry(e, "out1")), 0);
}
static void drop_manifest(const char *e)
{
    assert_int_equal(unlink(in_entry(e, "MANIFEST")), 0);
}
static void manifest_extra_line(const char *e)
{
    FILE *f = fopen(in_entry(e, "MANIFEST"), "ab");
    fputs("2 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", f);
    fclose(f);
}
static void flip_warning(const char *e)
{
    write_bytes(in_entry(e, "warnings"), "carefuL\n", 8);
}
static void drop_warnings(const char *e)
{
    assert_int_equal(unlink(in_entry(e, "warnings")), 0);
}
/* an entry as written before warnings were kept: replaying it would lose them */
static void manifest_no_warnings(const char *e)
{
    const char *m = "0 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
                    "1 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
    write_bytes(in_entry(e, "MANIFEST"), m, strlen(m));
}
static void manifest_warnings_first(const char *e)
{
    const char *m = "warnings 8 f1af476f7f84e818bf9d7b292cfbdd70493f98f50f1d9d5f1fcc967c1e565fcb\n"
                    "0 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
                    "1 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
    write_bytes(in_entry(e, "MANIFEST"), m, strlen(m));
}
static void manifest_garbage(const char *e)
{
    write_bytes(in_entry(e, "MANIFEST"), "\x01\xff", 2);
}
static void manifest_sign(const char *e)
{
    const char *m = "+0 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
                    "1 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                    "warnings 8 f1af476f7f84e818bf9d7b292cfbdd70493f98f50f1d9d5f1fcc967c1e565fcb\n";
    write_bytes(in_entry(e, "MANIFEST"), m, strlen(m));
}

static void test_corrupt(void **state)
{
    (void)state;
    damage_case("d1", flip_byte);
    damage_case("d2", truncate_out);
    damage_case("d3", drop_out);
    damage_case("d4", drop_manifest);
    damage_case("d5", manifest_extra_line);
    damage_case("d6", manifest_garbage);
    damage_case("d7", manifest_sign);
    damage_case("d8", flip_warning);
    damage_case("d9", drop_warnings);
    damage_case("d10", manifest_no_warnings);
    damage_case("d11", manifest_warnings_first);
}

/* An entry with a different number of outputs than asked is not a hit. */
static void test_output_count_mismatch(void **state)
{
    (void)state;
    struct synap_cache *c = open_cache("m1");
    struct synap_err err = {0};
    store2(c, key_a);
    struct synap_file f[3];
    int corrupt = 0;
    assert_int_equal(synap_cache_lookup(c, key_a, 3, f, NULL, &corrupt, &err), 0);
    assert_int_equal(corrupt, 1);
    synap_cache_close(c);
}

static void test_unwritable(void **state)
{
    (void)state;
    struct synap_err err = {0};
    /* a regular file where the directory should be (root ignores modes) */
    write_bytes(sub("plainfile"), "x", 1);
    assert_null(synap_cache_open(sub("plainfile"), &err));
    char want[600];
    snprintf(want, sizeof want, "cache directory %s is not writable: Not a directory",
             sub("plainfile"));
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, SYNAP_EINPUT);
    assert_null(synap_cache_open(sub("plainfile/below"), &err));
    snprintf(want, sizeof want, "cache directory %s is not writable: Not a directory",
             sub("plainfile/below"));
    assert_string_equal(err.msg, want);
    assert_null(synap_cache_open("", &err));
}

static void test_bad_key(void **state)
{
    (void)state;
    struct synap_cache *c = open_cache("k1");
    struct synap_err err = {0};
    struct synap_file f[1];
    assert_int_equal(synap_cache_lookup(c, "../../etc", 1, f, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "invalid cache key '../../etc'");
    const uint8_t *out[1] = {(const uint8_t *)"x"};
    size_t n[1] = {1};
    assert_int_equal(synap_cache_store(c, "ABC", 1, out, n, NULL, 0, &err), -1);
    synap_cache_close(c);
}

/* Many processes storing the same key at once: all succeed, one entry, no
 * leftovers, and it verifies. */
static void test_concurrent_store(void **state)
{
    (void)state;
    struct synap_cache *c = open_cache("r1");
    enum { N = 16 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct synap_err err = {0};
            struct synap_cache *cc = synap_cache_open(sub("r1"), &err);
            const uint8_t *out[2] = {(const uint8_t *)"hello", (const uint8_t *)""};
            size_t n[2] = {5, 0};
            int rc =
                cc && synap_cache_store(cc, key_a, 2, out, n, "careful\n", 8, &err) == 0 ? 0 : 1;
            struct synap_file f[2];
            if (rc == 0 && synap_cache_lookup(cc, key_a, 2, f, NULL, NULL, &err) != 1) rc = 1;
            _exit(rc);
        }
    }
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(count_entries(sub("r1/v1/tmp")), 0);
    assert_int_equal(count_entries(sub("r1/v1/78")), 1);
    struct synap_err err = {0};
    struct synap_file f[2];
    assert_int_equal(synap_cache_lookup(c, key_a, 2, f, NULL, NULL, &err), 1);
    synap_file_close(&f[0]);
    synap_file_close(&f[1]);
    synap_cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_bytes),
        cmocka_unit_test(test_store_lookup),
        cmocka_unit_test(test_no_warnings),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_output_count_mismatch),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_bad_key),
        cmocka_unit_test(test_concurrent_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
