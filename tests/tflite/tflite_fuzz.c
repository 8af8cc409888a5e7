/* Mutation test of the TFLite importer: real float models from the shared
 * folder, damaged at random (fixed seed, fixed number of iterations) by byte
 * and bit flips, "interesting" 32-bit values written over offsets and
 * lengths, and truncation, are imported from memory. Each import must
 * either succeed (and give a graph that verifies) or fail with a message
 * naming the model; a crash, a sanitizer report or a leak fails the test
 * (run it under -Db_sanitize=address,undefined).
 *
 * usage: tflite_fuzz [--shared DIR] [--iterations N] [--seed S] [-v]
 * Exit 0 on success, 1 on a failed import contract, 77 when DIR is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tflite/tflite.h"

static const char *const models[] = {
    "tflm_hello_world_float/hello_world_float.tflite",
    "tflm_magic_wand/magic_wand.tflite",
    "mlperf_tiny_kws_float32_hybrid/kws_ref_model_float32.tflite",
    "tf2onnx_regression_model/tf2onnx_regression_model.tflite",
    "mediapipe_face_detection_full_range_sparse/face_detection_full_range_sparse.tflite",
    "mediapipe_selfie_segmentation/selfie_segmentation.tflite",
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64*: the same sequence on every machine */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void put32(uint8_t *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Damages buf[0..*n) in place; may shorten *n. */
static void mutate(uint8_t *buf, size_t *n)
{
    static const uint32_t interesting[] = {
        0,    1,     2,      3,          4,          8,          0x7F,       0x80,
        0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x10000};
    int k = 1 + (int)(rnd() % 8);
    for (int i = 0; i < k && *n >= 8; i++) {
        size_t at = (size_t)(rnd() % *n);
        switch (rnd() % 6) {
        case 0:
            buf[at] = (uint8_t)rnd();
            break;
        case 1:
            buf[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 2:
            /* the FlatBuffer header: root offset or identifier */
            buf[rnd() % 8] = (uint8_t)rnd();
            break;
        case 3:
        case 4:
            if (at + 4 <= *n)
                put32(buf, at & ~(size_t)3,
                      rnd() % 2 ? interesting[rnd() % 16] : (uint32_t)(rnd() % (*n + 64)));
            break;
        default:
            if (rnd() % 4 == 0) *n = (size_t)(rnd() % *n);
            break;
        }
    }
}

int main(int argc, char **argv)
{
    const char *shared = "../shared";
    long iterations = 3000;
    uint64_t seed = 20240611;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shared") && i + 1 < argc)
            shared = argv[++i];
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else {
            fprintf(stderr, "usage: tflite_fuzz [--shared DIR] [--iterations N] [--seed S] [-v]\n");
            return 2;
        }
    }
    char root[4096];
    struct stat st;
    snprintf(root, sizeof root, "%s/models/tflite", shared);
    if (stat(root, &st) || !S_ISDIR(st.st_mode)) {
        printf("SKIP: %s not found\n", root);
        return 77;
    }
    size_t nmodels = sizeof models / sizeof *models;
    struct synap_file files[sizeof models / sizeof *models];
    for (size_t m = 0; m < nmodels; m++) {
        char path[8192];
        struct synap_err err = {0};
        snprintf(path, sizeof path, "%s/%s", root, models[m]);
        if (synap_file_read(path, &files[m], &err)) {
            printf("SKIP: %s\n", err.msg);
            return 77;
        }
    }
    rng_state = seed ? seed : 1;
    long ok = 0, failed = 0, bad = 0;
    for (long it = 0; it < iterations; it++) {
        /* small models more often: they reach the op translations faster */
        size_t m = (size_t)(rnd() % (nmodels + 4));
        if (m >= nmodels) m = m % 2;
        size_t n = files[m].size;
        uint8_t *buf = malloc(n + 1);
        memcpy(buf, files[m].data, n);
        mutate(buf, &n);
        /* an exactly-sized copy: any read past the end is a sanitizer error */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        struct synap_err err = {0};
        struct synap_graph *g = synap_tflite_import_mem(exact, n, "mutant.tflite", NULL, &err);
        if (g) {
            ok++;
            if (synap_graph_verify(g, "mutant.tflite", &err)) {
                printf("iteration %ld (%s): imported graph does not verify: %s\n", it, models[m],
                       err.msg);
                bad++;
            }
            synap_graph_free(g);
        } else {
            failed++;
            if (strncmp(err.msg, "mutant.tflite: ", 15)) {
                printf("iteration %ld (%s): error without the file name: '%s'\n", it, models[m],
                       err.msg);
                bad++;
            } else if (verbose) {
                printf("%ld: %.200s\n", it, err.msg);
            }
        }
        free(exact);
    }
    for (size_t m = 0; m < nmodels; m++)
        synap_file_close(&files[m]);
    printf("tflite_fuzz: %ld iterations (seed %llu): %ld imported, %ld refused with a message, "
           "%ld broke the contract\n",
           iterations, (unsigned long long)seed, ok, failed, bad);
    return bad ? 1 : 0;
}
