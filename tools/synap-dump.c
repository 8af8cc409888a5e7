/* synap-dump: print an IR file as stable, diffable text. */
#include "ir/ir.h"

#include <string.h>

static const char usage[] = "usage: synap-dump FILE.ir\n"
                            "Prints the IR in FILE.ir ('-' reads stdin) as text on stdout.\n"
                            "  --help     show this help\n"
                            "  --version  show the version\n";

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            puts("synap-dump " SYNAP_VERSION);
            return 0;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "synap-dump: unknown option '%s'\n%s", a, usage);
            return 1;
        }
        if (path) {
            fprintf(stderr, "synap-dump: more than one file\n%s", usage);
            return 1;
        }
        path = a;
    }
    if (!path) {
        fputs(usage, stderr);
        return 1;
    }

    struct synap_err err = {0};
    /* messages from the library already start with the file name */
    struct synap_graph *g = synap_ir_read(path, &err);
    if (!g) {
        fprintf(stderr, "synap-dump: %s\n", err.msg);
        return err.code == SYNAP_EIO ? 2 : 1;
    }
    int rc = synap_ir_dump(g, stdout);
    synap_graph_free(g);
    if (rc || fflush(stdout)) {
        fputs("synap-dump: <stdout>: write error\n", stderr);
        return 2;
    }
    return 0;
}
