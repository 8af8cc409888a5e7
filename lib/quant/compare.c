/* synap-compare's library: runs the float and the quantized IR side by side
 * and measures every layer's output error (see compare.h).
 *
 * Quantized values are dequantized with their tensor's record (per channel
 * where it has one); float16 values are widened. "single" feeds a quantized
 * layer the float run's values of its inputs, quantized with the records
 * of the quantized graph's input tensors (TFLite's rounding, as the
 * kernels), then runs that node alone (synap_plan_run_node). SQNR =
 * 10 log10(sum f^2 / sum (f - q)^2), capped at SYNAP_COMPARE_MAX_DB.
 *
 * A tensor whose only use is an activation that saturates - Relu, Clip,
 * Sigmoid, Tanh - is compared on what that activation keeps: both sides
 * are clamped to [0, inf), Clip's bounds, or the logit range beyond which
 * a Sigmoid/Tanh output of the quantized type does not move by half a
 * step. synap-quant gives such a layer the activation's range (a conv
 * feeding a Relu has no negative values), so comparing the raw values
 * would report the clipping that the activation does anyway. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qmath.h"
#include "quant/compare.h"
#include "quant/quant.h"
#include "runtime/plan.h"
#include "util/jsonw.h"

void synap_compare_metrics(const float *f, const float *q, int64_t n, double *cos, double *sqnr)
{
    double ff = 0, qq = 0, fq = 0, ee = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = f[i], b = q[i];
        ff += a * a;
        qq += b * b;
        fq += a * b;
        ee += (a - b) * (a - b);
    }
    *cos = ff > 0 && qq > 0 ? fq / sqrt(ff * qq) : (ff == qq ? 1.0 : 0.0);
    if (ee == 0)
        *sqnr = SYNAP_COMPARE_MAX_DB;
    else if (ff == 0)
        *sqnr = -SYNAP_COMPARE_MAX_DB;
    else
        *sqnr = fmin(10.0 * log10(ff / ee), SYNAP_COMPARE_MAX_DB);
}

/* A value as float32 (malloc'd): dequantized when q is set. */
static float *to_float(const struct synap_value *v, const struct synap_quant *q)
{
    int64_t n = synap_value_nelem(v);
    float *f = synap_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    if (!q || !synap_dtype_is_int(v->dtype)) {
        synap_convert(SYNAP_DTYPE_FLOAT32, f, v->dtype, v->data, n);
        return f;
    }
    int64_t inner = 1, nch = 1;
    if (q->nparams > 1 && q->axis >= 0 && q->axis < v->rank) {
        nch = v->dims[q->axis];
        for (int d = q->axis + 1; d < v->rank; d++)
            inner *= v->dims[d];
    }
    for (int64_t i = 0; i < n; i++) {
        size_t c = nch > 1 ? (size_t)((i / inner) % nch) : 0;
        if (c >= q->nparams) c = 0;
        f[i] = (float)(synap_q_load(v->dtype, v->data, i) - q->zero_point[c]) * q->scale[c];
    }
    return f;
}

/* Stores float values into v (quantized with q when v is an integer). */
static void from_float(const float *f, struct synap_value *v, const struct synap_quant *q)
{
    int64_t n = synap_value_nelem(v);
    int32_t lo, hi;
    if (q && synap_dtype_is_int(v->dtype) && synap_q_range(v->dtype, &lo, &hi)) {
        for (int64_t i = 0; i < n; i++)
            synap_q_store(v->dtype, v->data, i,
                          synap_q_quantize(f[i], q->scale[0], q->zero_point[0], lo, hi));
        return;
    }
    synap_convert(v->dtype, v->data, SYNAP_DTYPE_FLOAT32, f, n);
}

/* The quantized graph's tensor standing for float tensor `name`: the same
 * name, else "name#type". */
static uint32_t match(const struct synap_graph *qg, const char *name)
{
    size_t len = strlen(name);
    uint32_t alt = SYNAP_NONE;
    for (uint32_t t = 0; t < qg->ntensors; t++) {
        const char *s = qg->tensors[t].name;
        if (!strcmp(s, name)) return t;
        if (alt == SYNAP_NONE && !strncmp(s, name, len) && s[len] == '#' &&
            !strchr(s + len + 1, '#'))
            alt = t;
    }
    return alt;
}

/* The float tensor a quantized tensor name stands for. */
static uint32_t base_in(const struct synap_graph *fg, const char *qname)
{
    uint32_t t = synap_graph_find_tensor(fg, qname);
    if (t != SYNAP_NONE) return t;
    const char *h = strrchr(qname, '#');
    if (!h) return SYNAP_NONE;
    char buf[1024];
    size_t n = (size_t)(h - qname);
    if (n >= sizeof buf) return SYNAP_NONE;
    memcpy(buf, qname, n);
    buf[n] = 0;
    return synap_graph_find_tensor(fg, buf);
}

/* The saturation of the activation that is float tensor ft's only use
 * (see the top): [*lo, *hi], infinite when none. qt: the quantized tensor
 * standing for ft (its width sets the Sigmoid/Tanh output step). */
static void saturation(const struct synap_graph *fg, const struct synap_uses *u, uint32_t ft,
                       const struct synap_tensor *qt, float *lo, float *hi)
{
    *lo = -INFINITY;
    *hi = INFINITY;
    if (u->nuses[ft] != 1 || u->is_output[ft] || u->consumer[ft] < 0) return;
    const struct synap_node *a = &fg->nodes[u->consumer[ft]];
    if (!a->ninputs || a->inputs[0] != ft) return;
    if (a->op == SYNAP_OP_RELU) {
        *lo = 0;
    } else if (a->op == SYNAP_OP_CLIP) {
        const float *v;
        if (a->ninputs > 1 && a->inputs[1] != SYNAP_NONE &&
            (v = synap_const_f32(fg, a->inputs[1], 1, NULL)))
            *lo = *v;
        if (a->ninputs > 2 && a->inputs[2] != SYNAP_NONE &&
            (v = synap_const_f32(fg, a->inputs[2], 1, NULL)))
            *hi = *v;
    } else if ((a->op == SYNAP_OP_SIGMOID || a->op == SYNAP_OP_TANH) &&
               synap_dtype_is_int(qt->dtype)) {
        double L = synap_quant_logit_limit(a->op, (int)synap_dtype_size(qt->dtype) * 8);
        *lo = (float)-L;
        *hi = (float)L;
    }
}

/* Clamps the n values of both a and b to that saturation. */
static void saturate(const struct synap_graph *fg, const struct synap_uses *u, uint32_t ft,
                     const struct synap_tensor *qt, float *a, float *b, int64_t n)
{
    float lo, hi;
    saturation(fg, u, ft, qt, &lo, &hi);
    if (lo == -INFINITY && hi == INFINITY) return;
    for (int64_t i = 0; i < n; i++) {
        a[i] = a[i] < lo ? lo : a[i] > hi ? hi : a[i];
        b[i] = b[i] < lo ? lo : b[i] > hi ? hi : b[i];
    }
}

/* % of the n values f outside what a tensor of type t with record q holds
 * (-1: not integer, or per channel). */
static double clipped(const float *f, int64_t n, enum synap_dtype t, const struct synap_quant *q)
{
    int32_t qmin, qmax;
    if (!q || q->nparams != 1 || !synap_dtype_is_int(t) || !synap_q_range(t, &qmin, &qmax) ||
        n <= 0)
        return -1;
    /* half a step beyond the extreme levels still rounds onto them */
    double s = q->scale[0], lo = (qmin - q->zero_point[0] - 0.5) * s,
           hi = (qmax - q->zero_point[0] + 0.5) * s;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += f[i] < lo || f[i] > hi;
    return 100.0 * (double)c / (double)n;
}

static int cmp_rows(const void *a, const void *b)
{
    const struct synap_compare_row *x = a, *y = b;
    if (x->sqnr_entire != y->sqnr_entire) return x->sqnr_entire < y->sqnr_entire ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void synap_compare_free(struct synap_compare *cmp)
{
    free(cmp->rows);
    cmp->rows = NULL;
    cmp->nrows = 0;
}

int synap_compare_run(const struct synap_graph *fg, const struct synap_graph *qg,
                      const struct synap_value *inputs, struct synap_compare *cmp,
                      struct synap_err *err)
{
    memset(cmp, 0, sizeof *cmp);
    struct synap_plan_opts po = {0};
    struct synap_plan *fp = NULL, *qp = NULL;
    float **fin = NULL;
    int rc = -1;
    fp = synap_plan_new(fg, &po, err);
    if (!fp) {
        synap_err_prefix(err, "float IR");
        goto out;
    }
    qp = synap_plan_new(qg, &po, err);
    if (!qp) {
        synap_err_prefix(err, "quantized IR");
        goto out;
    }
    fin = synap_xcalloc(fg->ninputs + 1, sizeof *fin);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (size_t k = 0; k < fg->ninputs; k++) {
        struct synap_value *v = synap_plan_input(fp, k);
        int64_t n = synap_value_nelem(v);
        fin[k] = synap_xmalloc((size_t)(n > 0 ? n : 1) * sizeof(float));
        if (inputs) {
            if (synap_value_nelem(&inputs[k]) != n) {
                synap_errf(err, "input %zu ('%s'): expected %lld values, got %lld", k,
                           fg->tensors[fg->inputs[k]].name, (long long)n,
                           (long long)synap_value_nelem(&inputs[k]));
                goto out;
            }
            synap_convert(SYNAP_DTYPE_FLOAT32, fin[k], inputs[k].dtype, inputs[k].data, n);
        } else {
            for (int64_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                fin[k][i] = (float)((seed >> 40) * (1.0 / 16777216.0));
            }
        }
        synap_convert(v->dtype, v->data, SYNAP_DTYPE_FLOAT32, fin[k], n);
    }
    for (size_t k = 0; k < qg->ninputs; k++) {
        uint32_t ft = base_in(fg, qg->tensors[qg->inputs[k]].name);
        size_t fk = 0;
        while (fk < fg->ninputs && fg->inputs[fk] != ft)
            fk++;
        if (fk == fg->ninputs) {
            synap_errf(err, "quantized IR input '%s' is not an input of the float IR",
                       qg->tensors[qg->inputs[k]].name);
            goto out;
        }
        struct synap_value *v = synap_plan_input(qp, k);
        if (synap_value_nelem(v) != synap_value_nelem(synap_plan_input(fp, fk))) {
            synap_errf(err, "input '%s': shapes differ between the IRs",
                       qg->tensors[qg->inputs[k]].name);
            goto out;
        }
        from_float(fin[fk], v, qg->tensors[qg->inputs[k]].quant);
    }
    if (synap_plan_run(fp, err) || synap_plan_run(qp, err)) goto out;
    cmp->rows = synap_xcalloc(fg->nnodes + 1, sizeof *cmp->rows);
    uint32_t *qnode = synap_xcalloc(fg->nnodes + 1, sizeof *qnode);
    struct synap_uses u;
    synap_uses_build(fg, &u);
    for (size_t i = 0; i < fg->nnodes; i++) {
        const struct synap_node *n = &fg->nodes[i];
        if (!n->noutputs || n->outputs[0] == SYNAP_NONE) continue;
        uint32_t ft = n->outputs[0];
        if (!synap_dtype_is_float(fg->tensors[ft].dtype)) continue;
        uint32_t qt = match(qg, fg->tensors[ft].name);
        if (qt == SYNAP_NONE) continue;
        const struct synap_value *fv = synap_plan_tensor(fp, ft), *qv = synap_plan_tensor(qp, qt);
        if (!fv || !qv || synap_value_nelem(fv) != synap_value_nelem(qv)) continue;
        struct synap_compare_row *r = &cmp->rows[cmp->nrows];
        r->index = i;
        r->layer = n->name && *n->name ? n->name : fg->tensors[ft].name;
        r->op = synap_op_name(n->op);
        r->tensor = fg->tensors[ft].name;
        float *a = to_float(fv, NULL), *b = to_float(qv, qg->tensors[qt].quant);
        int64_t ne = synap_value_nelem(fv);
        saturate(fg, &u, ft, &qg->tensors[qt], a, b, ne);
        r->clipped = clipped(a, ne, qg->tensors[qt].dtype, qg->tensors[qt].quant);
        synap_compare_metrics(a, b, ne, &r->cos_entire, &r->sqnr_entire);
        free(a);
        free(b);
        /* the quantized layer: output 0 standing for ft. synap-quant may
         * have fused float layers into it (a conv with its BatchNorm, a
         * HardSwish pattern): the row then names the fused layer */
        qnode[cmp->nrows] = SYNAP_NONE;
        r->qtype = synap_dtype_name(qg->tensors[qt].dtype);
        for (uint32_t j = 0; j < qg->nnodes; j++) {
            const struct synap_node *m = &qg->nodes[j];
            if (!m->noutputs || m->outputs[0] == SYNAP_NONE) continue;
            if (m->op == SYNAP_OP_QUANTIZE_LINEAR || m->op == SYNAP_OP_DEQUANTIZE_LINEAR ||
                m->op == SYNAP_OP_CAST)
                continue; /* conversion layers */
            if (base_in(fg, qg->tensors[m->outputs[0]].name) == ft) {
                qnode[cmp->nrows] = j;
                r->qtype = synap_dtype_name(qg->tensors[m->outputs[0]].dtype);
                if (m->op != n->op) {
                    r->layer = m->name && *m->name ? m->name : r->layer;
                    r->op = synap_op_name(m->op);
                }
                break;
            }
        }
        cmp->nrows++;
    }
    /* single: after every entire result is read (this overwrites values) */
    for (size_t k = 0; k < cmp->nrows; k++) {
        struct synap_compare_row *r = &cmp->rows[k];
        if (qnode[k] == SYNAP_NONE) continue;
        const struct synap_node *m = &qg->nodes[qnode[k]];
        bool ok = true;
        for (size_t i = 0; i < m->ninputs && ok; i++) {
            uint32_t t = m->inputs[i];
            if (t == SYNAP_NONE || qg->tensors[t].data) continue;
            uint32_t ft = base_in(fg, qg->tensors[t].name);
            const struct synap_value *fv = ft == SYNAP_NONE ? NULL : synap_plan_tensor(fp, ft);
            struct synap_value *qv = synap_plan_tensor_mut(qp, t);
            if (!fv || !qv || synap_value_nelem(fv) != synap_value_nelem(qv)) {
                ok = false;
                break;
            }
            float *a = to_float(fv, NULL);
            from_float(a, qv, qg->tensors[t].quant);
            free(a);
        }
        if (!ok || synap_plan_run_node(qp, qnode[k], err)) {
            if (!ok) continue;
            free(qnode);
            synap_uses_free(&u);
            goto out;
        }
        uint32_t ft = fg->nodes[r->index].outputs[0];
        const struct synap_value *fv = synap_plan_tensor(fp, ft);
        const struct synap_value *qv = synap_plan_tensor(qp, m->outputs[0]);
        float *a = to_float(fv, NULL), *b = to_float(qv, qg->tensors[m->outputs[0]].quant);
        saturate(fg, &u, ft, &qg->tensors[m->outputs[0]], a, b, synap_value_nelem(fv));
        synap_compare_metrics(a, b, synap_value_nelem(fv), &r->cos_single, &r->sqnr_single);
        r->has_single = true;
        free(a);
        free(b);
    }
    free(qnode);
    synap_uses_free(&u);
    qsort(cmp->rows, cmp->nrows, sizeof *cmp->rows, cmp_rows);
    rc = 0;
out:
    if (rc) synap_compare_free(cmp);
    for (size_t k = 0; fin && k < fg->ninputs; k++)
        free(fin[k]);
    free(fin);
    synap_plan_free(fp);
    synap_plan_free(qp);
    return rc;
}

void synap_compare_print(const struct synap_compare *cmp, FILE *out)
{
    fprintf(out, "%-32s %-18s %-8s %10s %10s %8s %10s %10s\n", "layer (worst first)", "op", "type",
            "cos", "SQNR dB", "clip %", "single cos", "single dB");
    for (size_t i = 0; i < cmp->nrows; i++) {
        const struct synap_compare_row *r = &cmp->rows[i];
        fprintf(out, "%-32s %-18s %-8s %10.6f %10.2f", r->layer, r->op, r->qtype, r->cos_entire,
                r->sqnr_entire);
        if (r->clipped >= 0)
            fprintf(out, " %8.3f", r->clipped);
        else
            fprintf(out, " %8s", "-");
        if (r->has_single)
            fprintf(out, " %10.6f %10.2f\n", r->cos_single, r->sqnr_single);
        else
            fprintf(out, " %10s %10s\n", "-", "-");
    }
}

char *synap_compare_json(const struct synap_compare *cmp, size_t *n)
{
    struct synap_jw w;
    synap_jw_init(&w, 1);
    synap_jw_obj_begin(&w);
    synap_jw_key(&w, "layers");
    synap_jw_arr_begin(&w);
    for (size_t i = 0; i < cmp->nrows; i++) {
        const struct synap_compare_row *r = &cmp->rows[i];
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "id");
        synap_jw_int(&w, (int64_t)r->index);
        synap_jw_key(&w, "layer");
        synap_jw_str(&w, r->layer);
        synap_jw_key(&w, "op");
        synap_jw_str(&w, r->op);
        synap_jw_key(&w, "tensor");
        synap_jw_str(&w, r->tensor);
        synap_jw_key(&w, "type");
        synap_jw_str(&w, r->qtype);
        synap_jw_key(&w, "entire");
        synap_jw_obj_begin(&w);
        synap_jw_key(&w, "cosine");
        synap_jw_num(&w, r->cos_entire);
        synap_jw_key(&w, "sqnr_db");
        synap_jw_num(&w, r->sqnr_entire);
        synap_jw_key(&w, "clipped_percent");
        if (r->clipped >= 0)
            synap_jw_num(&w, r->clipped);
        else
            synap_jw_null(&w);
        synap_jw_obj_end(&w);
        synap_jw_key(&w, "single");
        if (r->has_single) {
            synap_jw_obj_begin(&w);
            synap_jw_key(&w, "cosine");
            synap_jw_num(&w, r->cos_single);
            synap_jw_key(&w, "sqnr_db");
            synap_jw_num(&w, r->sqnr_single);
            synap_jw_obj_end(&w);
        } else {
            synap_jw_null(&w);
        }
        synap_jw_obj_end(&w);
    }
    synap_jw_arr_end(&w);
    synap_jw_obj_end(&w);
    return synap_jw_finish(&w, n);
}
