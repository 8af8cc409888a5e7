/* model.synap at run time: bundles built here (zip writer + JSON writer + IR
 * serializer) give exactly the outputs of the unsplit graph, whatever the split,
 * the thread count or the memory plan; damaged archives are clean errors; and
 * synap-run (when built beside this test) runs them like synap_cli. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>

#include "runtime/bundle.h"
#include "util/jsonw.h"
#include "util/npy.h"
#include "util/zip.h"

/* ---- the network ---------------------------------------------------------
 *   relu:  r = Relu(x)          mul:   m = Mul(x, c)
 *   conv:  v = Conv(r, w)       conv2: u = Conv(m, w)
 *   add:   y = Add(v, u)        sig:   z = Sigmoid(y)
 * outputs z, v. */
static struct synap_graph *full_net(void)
{
    struct synap_graph *g = synap_graph_new();
    int64_t xs[] = {1, 2, 8, 8}, ws[] = {3, 2, 3, 3}, cs[] = {1, 2, 1, 1};
    uint32_t x = synap_graph_add_tensor(g, "x", SYNAP_DTYPE_FLOAT32, 4, xs);
    float c[2] = {0.5f, -1.25f};
    uint32_t ct = synap_graph_add_const(g, "c", SYNAP_DTYPE_FLOAT32, 4, cs, c, sizeof c);
    float w[54];
    for (int i = 0; i < 54; i++) w[i] = (float)((i * 7) % 11 - 5) / 8.0f;
    uint32_t wt = synap_graph_add_const(g, "w", SYNAP_DTYPE_FLOAT32, 4, ws, w, sizeof w);
    uint32_t r = synap_graph_add_tensor(g, "r", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t m = synap_graph_add_tensor(g, "m", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t v = synap_graph_add_tensor(g, "v", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t u = synap_graph_add_tensor(g, "u", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t y = synap_graph_add_tensor(g, "y", SYNAP_DTYPE_FLOAT32, 0, NULL);
    uint32_t z = synap_graph_add_tensor(g, "z", SYNAP_DTYPE_FLOAT32, 0, NULL);
    int64_t pads[] = {1, 1, 1, 1};
    struct synap_node *n = synap_graph_add_node(g, "relu", SYNAP_OP_RELU, 1, 1);
    n->inputs[0] = x, n->outputs[0] = r;
    n = synap_graph_add_node(g, "mul", SYNAP_OP_MUL, 2, 1);
    n->inputs[0] = x, n->inputs[1] = ct, n->outputs[0] = m;
    n = synap_graph_add_node(g, "conv", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = r, n->inputs[1] = wt, n->outputs[0] = v;
    synap_node_set_ints(g, n, "pads", pads, 4);
    n = synap_graph_add_node(g, "conv2", SYNAP_OP_CONV, 2, 1);
    n->inputs[0] = m, n->inputs[1] = wt, n->outputs[0] = u;
    synap_node_set_ints(g, n, "pads", pads, 4);
    n = synap_graph_add_node(g, "add", SYNAP_OP_ADD, 2, 1);
    n->inputs[0] = v, n->inputs[1] = u, n->outputs[0] = y;
    n = synap_graph_add_node(g, "sig", SYNAP_OP_SIGMOID, 1, 1);
    n->inputs[0] = y, n->outputs[0] = z;
    uint32_t outs[] = {z, v};
    g->inputs = synap_arena_memdup(g->arena, &x, sizeof x);
    g->ninputs = 1;
    g->outputs = synap_arena_memdup(g->arena, outs, sizeof outs);
    g->noutputs = 2;
    struct synap_err err = {0};
    assert_int_equal(synap_graph_infer(g, false, &err), 0);
    return g;
}

static uint32_t copy_tensor(struct synap_graph *d, const struct synap_graph *f, const char *name)
{
    uint32_t t = synap_graph_find_tensor(d, name);
    if (t != SYNAP_NONE) return t;
    const struct synap_tensor *ft = &f->tensors[synap_graph_find_tensor(f, name)];
    if (ft->data)
        return synap_graph_add_const(d, name, ft->dtype, ft->rank, ft->dims, ft->data, ft->nbytes);
    return synap_graph_add_tensor(d, name, ft->dtype, ft->rank, ft->dims);
}

/* The subgraph of f made of the named nodes, with the named inputs and outputs. */
static struct synap_graph *sub_net(const struct synap_graph *f, const char *const *nodes,
                                   size_t nn, const char *const *ins, size_t ni,
                                   const char *const *outs, size_t no)
{
    struct synap_graph *g = synap_graph_new();
    uint32_t in_t[4], out_t[4];
    for (size_t i = 0; i < ni; i++) in_t[i] = copy_tensor(g, f, ins[i]);
    for (size_t k = 0; k < nn; k++) {
        const struct synap_node *fn = NULL;
        for (size_t q = 0; q < f->nnodes; q++)
            if (!strcmp(f->nodes[q].name, nodes[k])) fn = &f->nodes[q];
        assert_non_null(fn);
        uint32_t tin[2], tout[1];
        for (size_t j = 0; j < fn->ninputs; j++)
            tin[j] = copy_tensor(g, f, f->tensors[fn->inputs[j]].name);
        tout[0] = copy_tensor(g, f, f->tensors[fn->outputs[0]].name);
        struct synap_node *n = synap_graph_add_node(g, fn->name, fn->op, fn->ninputs, 1);
        memcpy(n->inputs, tin, fn->ninputs * sizeof *tin);
        n->outputs[0] = tout[0];
        for (size_t a = 0; a < fn->nattrs; a++)
            synap_node_set_ints(g, n, fn->attrs[a].name, fn->attrs[a].ints, fn->attrs[a].n);
    }
    for (size_t i = 0; i < no; i++) out_t[i] = copy_tensor(g, f, outs[i]);
    g->inputs = synap_arena_memdup(g->arena, in_t, ni * sizeof *in_t);
    g->ninputs = ni;
    g->outputs = synap_arena_memdup(g->arena, out_t, no * sizeof *out_t);
    g->noutputs = no;
    return g;
}

/* A "codegen" section: one layer per node (a Conv fused with nothing), and a
 * memory plan that puts every intermediate tensor at its own 64-aligned
 * offset. */
static void add_codegen(struct synap_graph *g, int sub)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define STR(s) (msgpack_pack_str(&pk, strlen(s)), msgpack_pack_str_body(&pk, s, strlen(s)))
    msgpack_pack_map(&pk, 4);
    STR("version"), msgpack_pack_int(&pk, 1);
    STR("target"), STR("VS680");
    STR("layers"), msgpack_pack_array(&pk, (uint32_t)g->nnodes);
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct synap_node *n = &g->nodes[i];
        msgpack_pack_map(&pk, 9);
        STR("id"), msgpack_pack_int64(&pk, (int64_t)i);
        STR("name"), STR(n->name);
        STR("type"), STR(n->op == SYNAP_OP_CONV ? "ConvolutionLayer" : "EltwiseLayer");
        STR("subgraph"), msgpack_pack_int(&pk, sub);
        STR("nodes"), msgpack_pack_array(&pk, 1), msgpack_pack_uint64(&pk, i);
        STR("macs"), msgpack_pack_int64(&pk, n->op == SYNAP_OP_CONV ? 3456 : 0);
        STR("bytes_read"), msgpack_pack_int64(&pk, 100 + (int64_t)i);
        STR("bytes_written"), msgpack_pack_int64(&pk, 200 + (int64_t)i);
        STR("cycles"), msgpack_pack_int64(&pk, 1000 * (int64_t)(i + 1));
    }
    size_t nplaced = 0, off = 0;
    uint32_t placed[16];
    int64_t offs[16], nbs[16];
    for (size_t t = 0; t < g->ntensors; t++) {
        int io = 0;
        for (size_t i = 0; i < g->ninputs; i++) io |= g->inputs[i] == t;
        for (size_t i = 0; i < g->noutputs; i++) io |= g->outputs[i] == t;
        if (io || g->tensors[t].data) continue;
        size_t nb = (size_t)synap_shape_nelem(g->tensors[t].rank, g->tensors[t].dims) * 4;
        placed[nplaced] = (uint32_t)t, offs[nplaced] = (int64_t)off, nbs[nplaced++] = (int64_t)nb;
        off += (nb + 63) / 64 * 64;
    }
    STR("subgraphs"), msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 4);
    STR("id"), msgpack_pack_int(&pk, sub);
    STR("delegate"), STR("npu");
    STR("arena_bytes"), msgpack_pack_fix_uint64(&pk, off); /* 0xcf: patched in a test */
    STR("tensors"), msgpack_pack_array(&pk, (uint32_t)nplaced);
    for (size_t i = 0; i < nplaced; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint32(&pk, placed[i]);
        msgpack_pack_int64(&pk, offs[i]);
        msgpack_pack_int64(&pk, nbs[i]);
    }
#undef STR
    synap_ir_section_set(g, "codegen", (const uint8_t *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

struct link {
    int sub, out;
};
struct subspec {
    struct synap_graph *g;
    struct link in[4];
    size_t nin;
    const char *delegate;
};

static char *bundle_json(const struct subspec *subs, size_t n, const struct link *outs, size_t no)
{
    struct synap_jw w;
    synap_jw_init(&w, 1);
    synap_jw_obj_begin(&w);
    synap_jw_key(&w, "graph");
    synap_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "inputs");
        synap_jw_arr_begin(&w);
        for (size_t j = 0; j < subs[i].nin; j++) {
            synap_jw_obj_begin(&w);
            synap_jw_key(&w, "subgraph"), synap_jw_int(&w, subs[i].in[j].sub);
            synap_jw_key(&w, "out"), synap_jw_int(&w, subs[i].in[j].out);
            synap_jw_obj_end(&w);
        }
        synap_jw_arr_end(&w);
        snprintf(name, sizeof name, "%zu/model.ir", i);
        synap_jw_key(&w, "model"), synap_jw_str(&w, name);
        snprintf(name, sizeof name, "%zu/model.json", i);
        synap_jw_key(&w, "meta"), synap_jw_str(&w, name);
        synap_jw_obj_end(&w);
    }
    synap_jw_arr_end(&w);
    synap_jw_key(&w, "outputs");
    synap_jw_arr_begin(&w);
    for (size_t k = 0; k < no; k++) {
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "subgraph"), synap_jw_int(&w, outs[k].sub);
        synap_jw_key(&w, "out"), synap_jw_int(&w, outs[k].out);
        synap_jw_obj_end(&w);
    }
    synap_jw_arr_end(&w);
    synap_jw_obj_end(&w);
    return synap_jw_finish(&w, NULL);
}

/* The archive; `json` replaces bundle.json and `swap_entry` (name) gets
 * `swap` bytes instead of its own when given (for damaged-entry tests). */
static uint8_t *make_archive(const struct subspec *subs, size_t n, const struct link *outs,
                             size_t no, const char *json, const char *swap_entry,
                             const void *swap, size_t swap_n, size_t *size)
{
    struct synap_err err = {0};
    struct synap_zipw *z = synap_zipw_new();
    char *bj = json ? NULL : bundle_json(subs, n, outs, no);
    const char *bjs = json ? json : bj;
    if (swap_entry && !strcmp(swap_entry, "bundle.json"))
        synap_zipw_add(z, "bundle.json", swap, swap_n);
    else
        synap_zipw_add(z, "bundle.json", bjs, strlen(bjs));
    free(bj);
    for (size_t i = 0; i < n; i++) {
        char name[32], meta[64];
        uint8_t *ir;
        size_t irn;
        assert_int_equal(synap_ir_serialize(subs[i].g, &ir, &irn, &err), 0);
        snprintf(name, sizeof name, "%zu/model.ir", i);
        if (swap_entry && !strcmp(swap_entry, name))
            synap_zipw_add(z, name, swap, swap_n);
        else
            synap_zipw_add(z, name, ir, irn);
        free(ir);
        snprintf(name, sizeof name, "%zu/model.json", i);
        int mn = snprintf(meta, sizeof meta, "{\"delegate\": \"%s\", \"secure\": false}",
                          subs[i].delegate);
        if (swap_entry && !strcmp(swap_entry, name))
            synap_zipw_add(z, name, swap, swap_n);
        else
            synap_zipw_add(z, name, meta, (size_t)mn);
    }
    uint8_t *out;
    synap_zipw_finish(z, &out, size);
    return out;
}

/* ---- the three layouts of the same network -------------------------------- */

struct layout {
    struct subspec subs[3];
    size_t nsubs;
    struct link outs[2];
};

static void split1(struct layout *L, const struct synap_graph *f, int with_codegen)
{
    static const char *const nodes[] = {"relu", "mul", "conv", "conv2", "add", "sig"};
    static const char *const ins[] = {"x"}, *const outs[] = {"z", "v"};
    memset(L, 0, sizeof *L);
    L->nsubs = 1;
    L->subs[0] = (struct subspec){sub_net(f, nodes, 6, ins, 1, outs, 2), {{-1, 0}}, 1, "npu"};
    if (with_codegen) add_codegen(L->subs[0].g, 0);
    L->outs[0] = (struct link){0, 0}, L->outs[1] = (struct link){0, 1};
}

static void split2(struct layout *L, const struct synap_graph *f, int with_codegen)
{
    static const char *const n0[] = {"relu", "mul", "conv", "conv2"}, *const n1[] = {"add", "sig"};
    static const char *const i0[] = {"x"}, *const o0[] = {"v", "u"};
    static const char *const i1[] = {"v", "u"}, *const o1[] = {"z"};
    memset(L, 0, sizeof *L);
    L->nsubs = 2;
    L->subs[0] = (struct subspec){sub_net(f, n0, 4, i0, 1, o0, 2), {{-1, 0}}, 1, "npu"};
    L->subs[1] = (struct subspec){sub_net(f, n1, 2, i1, 2, o1, 1), {{0, 0}, {0, 1}}, 2, "cpu"};
    if (with_codegen) add_codegen(L->subs[0].g, 0), add_codegen(L->subs[1].g, 1);
    L->outs[0] = (struct link){1, 0}, L->outs[1] = (struct link){0, 0};
}

/* two independent branches (subgraphs 0 and 1) joined by subgraph 2 */
static void split3(struct layout *L, const struct synap_graph *f, int with_codegen)
{
    static const char *const n0[] = {"relu", "conv"}, *const n1[] = {"mul", "conv2"},
                             *const n2[] = {"add", "sig"};
    static const char *const i0[] = {"x"}, *const o0[] = {"v"}, *const o1[] = {"u"};
    static const char *const i2[] = {"v", "u"}, *const o2[] = {"z"};
    memset(L, 0, sizeof *L);
    L->nsubs = 3;
    L->subs[0] = (struct subspec){sub_net(f, n0, 2, i0, 1, o0, 1), {{-1, 0}}, 1, "npu"};
    L->subs[1] = (struct subspec){sub_net(f, n1, 2, i0, 1, o1, 1), {{-1, 0}}, 1, "gpu"};
    L->subs[2] = (struct subspec){sub_net(f, n2, 2, i2, 2, o2, 1), {{0, 0}, {1, 0}}, 2, "npu"};
    if (with_codegen)
        add_codegen(L->subs[0].g, 0), add_codegen(L->subs[1].g, 1),
            add_codegen(L->subs[2].g, 2);
    L->outs[0] = (struct link){2, 0}, L->outs[1] = (struct link){0, 0};
}

static void layout_free(struct layout *L)
{
    for (size_t i = 0; i < L->nsubs; i++) synap_graph_free(L->subs[i].g);
}

static uint8_t *layout_archive(const struct layout *L, size_t *n)
{
    return make_archive(L->subs, L->nsubs, L->outs, 2, NULL, NULL, NULL, 0, n);
}

static void fill_x(struct synap_value *x)
{
    float *d = x->data;
    for (int i = 0; i < 128; i++) d[i] = (float)((i * 37) % 23 - 11) / 7.0f;
}

/* The reference: the unsplit graph on the plain interpreter. */
static void reference(float z[192], float v[192])
{
    struct synap_err err = {0};
    struct synap_graph *f = full_net();
    struct synap_plan *p = synap_plan_new(f, NULL, &err);
    assert_non_null(p);
    fill_x(synap_plan_input(p, 0));
    assert_int_equal(synap_plan_run(p, &err), 0);
    memcpy(z, synap_plan_output(p, 0)->data, 192 * 4);
    memcpy(v, synap_plan_output(p, 1)->data, 192 * 4);
    synap_plan_free(p);
    synap_graph_free(f);
}

static void run_and_compare(const uint8_t *zip_in, size_t n, int nthreads, int no_arena,
                            int profile)
{
    float zr[192], vr[192];
    reference(zr, vr);
    struct synap_err err = {0};
    /* 64-aligned like a mapped file, so the weights are used in place */
    uint8_t *zip = synap_xaligned(n);
    memcpy(zip, zip_in, n);
    struct synap_bundle *b = synap_bundle_open_mem(zip, n, "model.synap", &err);
    if (!b) fail_msg("%s", err.msg);
    for (size_t s = 0; s < synap_bundle_nsubgraphs(b); s++) {
        const struct synap_graph *g = synap_bundle_subgraph_graph(b, s);
        for (size_t t = 0; t < g->ntensors; t++)
            if (g->tensors[t].data) {
                const uint8_t *d = g->tensors[t].data;
                assert_true(d >= zip && d + g->tensors[t].nbytes <= zip + n);
                assert_int_equal((uintptr_t)d % 64, 0);
            }
    }
    assert_int_equal(synap_bundle_ninputs(b), 1);
    assert_int_equal(synap_bundle_noutputs(b), 2);
    assert_string_equal(synap_bundle_input_name(b, 0), "x");
    assert_string_equal(synap_bundle_output_name(b, 0), "z");
    assert_string_equal(synap_bundle_output_name(b, 1), "v");
    struct synap_bundle_opts o = {.nthreads = nthreads, .no_arena = no_arena, .profile = profile};
    if (synap_bundle_prepare(b, &o, &err) < 0) fail_msg("%s", err.msg);
    fill_x(synap_bundle_input(b, 0));
    for (int r = 0; r < 3; r++) {
        if (synap_bundle_run(b, &err) < 0) fail_msg("%s", err.msg);
        const struct synap_value *z = synap_bundle_output(b, 0), *v = synap_bundle_output(b, 1);
        assert_int_equal(z->rank, 4);
        assert_int_equal(z->dims[1], 3);
        assert_memory_equal(z->data, zr, sizeof zr);
        assert_memory_equal(v->data, vr, sizeof vr);
    }
    synap_bundle_free(b);
    free(zip);
}

static void test_single_subgraph_equals_ir(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    for (int cg = 0; cg < 2; cg++) {
        struct layout L;
        split1(&L, f, cg);
        size_t n;
        uint8_t *zip = layout_archive(&L, &n);
        run_and_compare(zip, n, 1, 0, cg);
        run_and_compare(zip, n, 4, 1, 0);
        free(zip);
        layout_free(&L);
    }
    synap_graph_free(f);
}

static void test_two_subgraphs_equal_single(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    for (int cg = 0; cg < 2; cg++) {
        struct layout L;
        split2(&L, f, cg);
        size_t n;
        uint8_t *zip = layout_archive(&L, &n);
        struct synap_err err = {0};
        struct synap_bundle *b = synap_bundle_open_mem(zip, n, "model.synap", &err);
        if (!b) fail_msg("%s", err.msg);
        assert_int_equal(synap_bundle_nsubgraphs(b), 2);
        assert_string_equal(synap_bundle_subgraph_delegate(b, 0), "npu");
        assert_string_equal(synap_bundle_subgraph_delegate(b, 1), "cpu");
        synap_bundle_free(b);
        run_and_compare(zip, n, 1, 0, 1);
        run_and_compare(zip, n, 3, 0, 0);
        free(zip);
        layout_free(&L);
    }
    synap_graph_free(f);
}

static void test_concurrent_branches_deterministic(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    struct layout L;
    split3(&L, f, 1);
    size_t n;
    uint8_t *zip = layout_archive(&L, &n);
    for (int t = 1; t <= 8; t *= 2)
        for (int rep = 0; rep < 5; rep++) run_and_compare(zip, n, t, rep % 2, rep % 3 == 0);
    free(zip);
    layout_free(&L);
    synap_graph_free(f);
}

static void test_from_graph(void **state)
{
    (void)state;
    float zr[192], vr[192];
    reference(zr, vr);
    struct synap_err err = {0};
    struct synap_graph *f = full_net();
    add_codegen(f, 0);
    struct synap_bundle *b = synap_bundle_from_graph(f, "net.ir", &err);
    if (!b) fail_msg("%s", err.msg);
    struct synap_bundle_opts o = {.nthreads = 2, .profile = true};
    assert_int_equal(synap_bundle_prepare(b, &o, &err), 0);
    fill_x(synap_bundle_input(b, 0));
    assert_int_equal(synap_bundle_run(b, &err), 0);
    assert_memory_equal(synap_bundle_output(b, 0)->data, zr, sizeof zr);
    assert_memory_equal(synap_bundle_output(b, 1)->data, vr, sizeof vr);
    synap_bundle_free(b);
}

/* The profiling table: one row per codegen layer, in subgraph order, with the
 * section's numbers and a measured time. */
static void test_profile(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    struct layout L;
    split2(&L, f, 1);
    size_t n;
    uint8_t *zip = layout_archive(&L, &n);
    struct synap_err err = {0};
    struct synap_bundle *b = synap_bundle_open_mem(zip, n, "model.synap", &err);
    if (!b) fail_msg("%s", err.msg);
    struct synap_bundle_opts o = {.nthreads = 1, .profile = true};
    assert_int_equal(synap_bundle_prepare(b, &o, &err), 0);
    double t0 = synap_now_ms();
    assert_int_equal(synap_bundle_run(b, &err), 0);
    double total_us = (synap_now_ms() - t0) * 1000.0;
    size_t nl;
    const struct synap_bundle_layer *l = synap_bundle_layers(b, &nl);
    assert_int_equal(nl, 6);
    static const char *const names[] = {"relu", "mul", "conv", "conv2", "add", "sig"};
    double sum = 0;
    for (size_t i = 0; i < nl; i++) {
        assert_int_equal(l[i].id, (int64_t)i);
        assert_string_equal(l[i].name, names[i]);
        assert_int_equal(l[i].subgraph, i < 4 ? 0 : 1);
        assert_true(l[i].time_us >= 0);
        sum += l[i].time_us;
    }
    assert_true(sum <= total_us + 1);
    assert_string_equal(l[2].type, "ConvolutionLayer");
    assert_int_equal(l[2].cycles, 3000);
    char *text = synap_bundle_profile_text(b, 42, 1, 1500.4, 1500.4);
    char line[256];
    const char *p = text;
    const char *nl1 = strchr(p, '\n');
    assert_non_null(nl1);
    snprintf(line, sizeof line, "%.*s", (int)(nl1 - p), p);
    /* iobuf: x (512 bytes) + z and v (768 each) */
    assert_string_equal(line, "pid: 42, nid: 1, inference_count: 1, inference_time: 1500, "
                              "inference_last: 1500, iobuf_count: 3, iobuf_size: 2048, layers: 6");
    p = nl1 + 1;
    assert_memory_equal(p, "| lyr |   cycle | time_us | byte_rd | byte_wr | type\n", 53);
    p += 53;
    long long id, cyc, us, rd, wr;
    char type[64];
    assert_int_equal(sscanf(p, "| %lld | %lld | %lld | %lld | %lld | %63s", &id, &cyc, &us, &rd, &wr,
                            type), 6);
    assert_int_equal(id, 0);
    assert_int_equal(cyc, 1000);
    assert_int_equal(rd, 100);
    assert_int_equal(wr, 200);
    assert_string_equal(type, "EltwiseLayer");
    size_t rows = 0;
    for (const char *q = text; *q; q++) rows += *q == '\n';
    assert_int_equal(rows, 2 + 6);
    free(text);
    synap_bundle_free(b);
    free(zip);
    layout_free(&L);
    synap_graph_free(f);
}

/* ---- bad archives: exact messages ------------------------------------------ */

static void expect_error(const uint8_t *zip, size_t n, const char *msg)
{
    struct synap_err err = {0};
    struct synap_bundle *b = synap_bundle_open_mem(zip, n, "m.synap", &err);
    if (b) synap_bundle_free(b);
    assert_null(b);
    assert_string_equal(err.msg, msg);
}

static void test_bad_bundle_json(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    struct layout L;
    split2(&L, f, 0);
    struct {
        const char *json, *msg;
    } cases[] = {
        {"[]", "m.synap: bundle.json: expected an object"},
        {"{\"graph\": [], \"outputs\": []}", "m.synap: bundle.json: \"graph\" must be a non-empty array"},
        {"{\"graph\": [{\"inputs\": [], \"model\": \"0/model.ir\"}], \"outputs\": [], \"x\": 1}",
         "m.synap: bundle.json: unknown key 'x'"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"7/model.ir\"}], "
         "\"outputs\": []}",
         "m.synap: bundle.json: graph[0]: no entry '7/model.ir' in the archive"},
        {"{\"graph\": [{\"inputs\": [], \"model\": \"0/model.ir\"}], \"outputs\": []}",
         "m.synap: bundle.json: graph[0]: 0 inputs listed, 0/model.ir has 1"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -2, \"out\": 0}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": []}",
         "m.synap: bundle.json: graph[0].inputs[0]: \"subgraph\" must be an integer >= -1"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0.5}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": []}",
         "m.synap: bundle.json: graph[0].inputs[0]: \"out\" must be an integer >= 0"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": [{\"subgraph\": 3, \"out\": 0}]}",
         "m.synap: bundle.json: outputs[0]: subgraph 3 out of range (1 subgraphs)"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": [{\"subgraph\": 0, \"out\": 2}]}",
         "m.synap: bundle.json: outputs[0]: subgraph 0 has no output 2 (it has 2)"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 1}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": []}",
         "m.synap: bundle.json: network input 0 is used by no subgraph"},
        /* subgraph 1's inputs are v and u: fed u and v, the types still match
         * (same shape); fed from itself: an error; fed x: a shape mismatch */
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"},"
         "{\"inputs\": [{\"subgraph\": 1, \"out\": 0}, {\"subgraph\": 0, \"out\": 0}], "
         "\"model\": \"1/model.ir\"}], \"outputs\": []}",
         "m.synap: bundle.json: graph[1].inputs[0]: subgraph 1 feeds itself"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"},"
         "{\"inputs\": [{\"subgraph\": -1, \"out\": 0}, {\"subgraph\": 0, \"out\": 0}], "
         "\"model\": \"1/model.ir\"}], \"outputs\": []}",
         "m.synap: bundle.json: graph[1].inputs[0]: network input 0 is float32 [1, 2, 8, 8] ('x') "
         "for subgraph 0 and float32 [1, 3, 8, 8] ('v') for subgraph 1"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": 1, \"out\": 0}, {\"subgraph\": 1, \"out\": 0}], "
         "\"model\": \"1/model.ir\"},"
         "{\"inputs\": [{\"subgraph\": 0, \"out\": 0}, {\"subgraph\": 0, \"out\": 0}], "
         "\"model\": \"1/model.ir\"}], \"outputs\": []}",
         "m.synap: bundle.json: subgraph 0 is part of a dependency cycle"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\", "
         "\"meta\": 3}], \"outputs\": []}",
         "m.synap: bundle.json: graph[0]: \"meta\" must be a string"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"}], "
         "\"outputs\": [{\"subgraph\": -1}]}",
         "m.synap: bundle.json: outputs[0]: \"out\" must be an integer >= 0"},
        {"{\"graph\": [{\"inputs\": [{\"subgraph\": -1, \"out\": 0}], \"model\": \"0/model.ir\"}]",
         "m.synap: bundle.json:1:76: expected ',' or '}'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        uint8_t *zip = make_archive(L.subs, L.nsubs, L.outs, 2, cases[i].json, NULL, NULL, 0, &n);
        expect_error(zip, n, cases[i].msg);
        free(zip);
    }
    layout_free(&L);
    synap_graph_free(f);
}

static void test_bad_entries(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    struct layout L;
    split2(&L, f, 0);
    size_t n;
    uint8_t *zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, "1/model.ir", "hello", 5, &n);
    expect_error(zip, n, "m.synap: 1/model.ir: not a synap IR file");
    free(zip);
    zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, "0/model.json", "{\"delegate\": 1}", 15,
                       &n);
    expect_error(zip, n, "m.synap: 0/model.json: \"delegate\" must be a string");
    free(zip);
    zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, "0/model.json", "{", 1, &n);
    expect_error(zip, n, "m.synap: 0/model.json:1:2: expected '\"' (an object key)");
    free(zip);
    /* a codegen section whose memory plan runs past its arena */
    struct synap_graph *g1 = L.subs[1].g;
    add_codegen(g1, 1);
    const uint8_t *sec;
    size_t secn;
    struct synap_err err = {0};
    assert_int_equal(synap_ir_section_get(g1, "codegen", &sec, &secn, &err), 1);
    uint8_t *bad = malloc(secn);
    memcpy(bad, sec, secn);
    /* arena_bytes is packed as uint64 (0xcf + 8 bytes) after the key: shrink it */
    for (size_t i = 0; i + 20 < secn; i++)
        if (!memcmp(bad + i, "\xab" "arena_bytes" "\xcf", 13)) bad[i + 19] = 0, bad[i + 20] = 64;
    synap_ir_section_set(g1, "codegen", bad, secn);
    free(bad);
    zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, NULL, NULL, 0, &n);
    expect_error(zip, n, "m.synap: 1/model.ir: codegen section: subgraph 1: tensor 'y' at offset 0 "
                         "(768 bytes) is misaligned or outside the 64-byte arena");
    free(zip);
    /* a layer naming a node the subgraph does not have */
    synap_ir_section_set(g1, "codegen", NULL, 0);
    add_codegen(g1, 1);
    assert_int_equal(synap_ir_section_get(g1, "codegen", &sec, &secn, &err), 1);
    bad = malloc(secn);
    memcpy(bad, sec, secn);
    for (size_t i = 0; i + 7 < secn; i++)
        if (!memcmp(bad + i, "\xa5nodes\x91\x01", 8)) bad[i + 7] = 0x09;
    synap_ir_section_set(g1, "codegen", bad, secn);
    free(bad);
    zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, NULL, NULL, 0, &n);
    expect_error(zip, n, "m.synap: 1/model.ir: codegen section: layer 1: node index out of range (2 nodes)");
    free(zip);
    uint8_t junk[64] = "PK\003\004";
    struct synap_bundle *b = synap_bundle_open_mem(junk, sizeof junk, "m.synap", &err);
    assert_null(b);
    assert_true(!strncmp(err.msg, "m.synap: ", 9));
    layout_free(&L);
    synap_graph_free(f);
}

/* Every prefix and every single-byte change of an archive (with its CRCs
 * valid or not) either opens, prepares and runs, or fails with a message:
 * never a crash (the sanitizers watch). */
static void try_open(const uint8_t *data, size_t n)
{
    struct synap_err err = {0};
    /* the mapped file is 64-aligned: keep that for the copy too */
    uint8_t *copy = synap_xaligned(n ? n : 1);
    memcpy(copy, data, n);
    struct synap_bundle *b = synap_bundle_open_mem(copy, n, "f.synap", &err);
    if (!b) {
        assert_true(err.msg[0] != 0);
        if (strchr(err.msg, '\n')) fail_msg("multi-line message: %s", err.msg);
    } else {
        struct synap_bundle_opts o = {.nthreads = 2, .profile = true};
        if (synap_bundle_prepare(b, &o, &err) == 0) {
            for (size_t i = 0; i < synap_bundle_ninputs(b); i++) {
                struct synap_value *v = synap_bundle_input(b, i);
                memset(v->data, 0, (size_t)synap_value_nelem(v) * synap_dtype_size(v->dtype));
            }
            synap_bundle_run(b, &err);
            char *t = synap_bundle_profile_text(b, 1, 1, 0, 0);
            free(t);
        }
        synap_bundle_free(b);
    }
    free(copy);
}

static void test_fuzz_archive(void **state)
{
    (void)state;
    struct synap_graph *f = full_net();
    struct layout L;
    split3(&L, f, 1);
    size_t n;
    uint8_t *zip = layout_archive(&L, &n);
    for (size_t k = 0; k < n; k++) try_open(zip, k);
    uint8_t *m = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(m, zip, n);
        m[i] ^= 0x5a;
        try_open(m, n);
    }
    free(m);
    free(zip);
    /* the same inside the entries, re-archived so the CRCs are right and the
     * JSON, IR and codegen readers see the damage */
    char *bj = bundle_json(L.subs, L.nsubs, L.outs, 2);
    size_t bjn = strlen(bj);
    for (size_t i = 0; i < bjn; i++) {
        char save = bj[i];
        bj[i] = i % 3 == 0 ? '9' : i % 3 == 1 ? '"' : '-';
        zip = make_archive(L.subs, L.nsubs, L.outs, 2, bj, NULL, NULL, 0, &n);
        try_open(zip, n);
        free(zip);
        bj[i] = save;
    }
    free(bj);
    struct synap_err err = {0};
    for (size_t s = 0; s < L.nsubs; s++) {
        char name[32];
        snprintf(name, sizeof name, "%zu/model.ir", s);
        uint8_t *ir;
        size_t irn;
        assert_int_equal(synap_ir_serialize(L.subs[s].g, &ir, &irn, &err), 0);
        uint8_t *mir = malloc(irn);
        for (size_t i = 0; i < irn; i += (s == 2 ? 1 : 3)) {
            memcpy(mir, ir, irn);
            mir[i] ^= (uint8_t)(1u << (i % 8));
            zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, name, mir, irn, &n);
            try_open(zip, n);
            free(zip);
            zip = make_archive(L.subs, L.nsubs, L.outs, 2, NULL, name, ir, i, &n);
            try_open(zip, n);
            free(zip);
        }
        free(mir);
        free(ir);
    }
    layout_free(&L);
    synap_graph_free(f);
}

/* ---- synap-run on an archive (the tool built beside this test) ------------- */

static int tool_path(char *out, size_t n)
{
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0) return -1;
    self[k] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = 0;
    snprintf(out, n, "%s/../tools/synap-run", self);
    return access(out, X_OK);
}

static char *run_cmd(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - 1 - n, p)) > 0) n += k;
    buf[n] = 0;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

static void test_synap_run_tool(void **state)
{
    (void)state;
    char tool[4200];
    if (tool_path(tool, sizeof tool) < 0) skip();
    char dir[] = "/tmp/test_bundle_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct synap_graph *f = full_net();
    struct layout L;
    split3(&L, f, 1);
    size_t n;
    uint8_t *zip = layout_archive(&L, &n);
    char path[4400], cmd[16384], raw[4400];
    struct synap_err err = {0};
    snprintf(path, sizeof path, "%s/model.synap", dir);
    assert_int_equal(synap_file_write_atomic(path, zip, n, &err), 0);
    /* x as a raw file: the same bytes as fill_x */
    float x[128];
    struct synap_value xv = {.dtype = SYNAP_DTYPE_FLOAT32, .rank = 1, .dims = {128}, .data = x};
    fill_x(&xv);
    snprintf(raw, sizeof raw, "%s/x.bin", dir);
    assert_int_equal(synap_file_write_atomic(raw, x, sizeof x, &err), 0);
    int st;
    snprintf(cmd, sizeof cmd,
             "%s %s %s -r 3 --threads 3 --dump-out %s/out --profiling %s/prof.txt 2>&1", tool, path,
             raw, dir, dir);
    char *out = run_cmd(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "Input 0 'x' float32 [1, 2, 8, 8] <- "));
    assert_non_null(strstr(out, "\nPredict #0: "));
    assert_non_null(strstr(out, "\nPredict #2: "));
    assert_non_null(strstr(out, "\nOutput 0 'z' float32 [1, 3, 8, 8]\n"));
    assert_non_null(strstr(out, "\nOutput 1 'v' float32 [1, 3, 8, 8]\n"));
    assert_non_null(strstr(out, "\nInference timings (ms):  load: "));
    free(out);
    float zr[192], vr[192];
    reference(zr, vr);
    struct synap_value z;
    snprintf(path, sizeof path, "%s/out/output_0.npy", dir);
    assert_int_equal(synap_npy_read(path, &z, &err), 0);
    assert_memory_equal(z.data, zr, sizeof zr);
    free(z.data);
    snprintf(path, sizeof path, "%s/out/output_1.npy", dir);
    assert_int_equal(synap_npy_read(path, &z, &err), 0);
    assert_memory_equal(z.data, vr, sizeof vr);
    free(z.data);
    struct synap_file pf;
    snprintf(path, sizeof path, "%s/prof.txt", dir);
    assert_int_equal(synap_file_read(path, &pf, &err), 0);
    assert_non_null(strstr((const char *)pf.data, ", nid: 1, inference_count: 3, inference_time: "));
    assert_non_null(strstr((const char *)pf.data, "iobuf_count: 3, iobuf_size: 2048, layers: 6\n"
                                                  "| lyr |   cycle | time_us | byte_rd | byte_wr | type\n"
                                                  "|   0 |    1000 | "));
    synap_file_close(&pf);

    /* the library's own file loader: the file stays mapped */
    snprintf(path, sizeof path, "%s/model.synap", dir);
    struct synap_bundle *b = synap_bundle_open(path, &err);
    if (!b) fail_msg("%s", err.msg);
    assert_int_equal(synap_bundle_nsubgraphs(b), 3);
    synap_bundle_free(b);
    snprintf(path, sizeof path, "%s/missing.synap", dir);
    assert_null(synap_bundle_open(path, &err));

    /* value:N and the errors */
    snprintf(path, sizeof path, "%s/model.synap", dir);
    snprintf(cmd, sizeof cmd, "%s %s value:0 -q 2>&1", tool, path);
    out = run_cmd(cmd, &st);
    assert_int_equal(st, 0);
    assert_true(!strncmp(out, "Inference timings (ms):  load: ", 31));
    assert_null(strstr(out, "Predict"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s value:abc 2>&1", tool, path);
    out = run_cmd(cmd, &st);
    assert_int_equal(st, 1);
    assert_string_equal(out, "synap-run: value:abc: expected value:N with N a number\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", tool, path, path);
    out = run_cmd(cmd, &st);
    assert_int_equal(st, 1);
    char want[8192];
    snprintf(want, sizeof want,
             "synap-run: %s: %zu bytes, input 'x' (float32 [1, 2, 8, 8]) needs exactly 512\n",
             path, n);
    assert_string_equal(out, want);
    free(out);
    /* a damaged archive: one line, exit 1 */
    zip[n - 10] ^= 0xff;
    snprintf(path, sizeof path, "%s/bad.synap", dir);
    assert_int_equal(synap_file_write_atomic(path, zip, n, &err), 0);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", tool, path);
    out = run_cmd(cmd, &st);
    assert_int_equal(st, 1);
    assert_true(!strncmp(out, "synap-run: ", 11));
    assert_non_null(strstr(out, "bad.synap"));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(zip);
    layout_free(&L);
    synap_graph_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_subgraph_equals_ir),
        cmocka_unit_test(test_two_subgraphs_equal_single),
        cmocka_unit_test(test_concurrent_branches_deterministic),
        cmocka_unit_test(test_from_graph),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_bad_bundle_json),
        cmocka_unit_test(test_bad_entries),
        cmocka_unit_test(test_fuzz_archive),
        cmocka_unit_test(test_synap_run_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
