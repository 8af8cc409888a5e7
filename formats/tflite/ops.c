/* TFLite operators -> canonical ops: the translation table (sorted by
 * builtin code, searched with bsearch) and one function per operator family.
 *
 * Layout: TFLite tensors are NHWC; the canonical Conv, pools, DepthToSpace,
 * LRN, ... are NCHW (ONNX). Those ops get Transpose(0,3,1,2) before and
 * Transpose(0,2,3,1) after, with their fused activation applied in between,
 * and the weights are transposed by a node that constant folding runs at
 * import (OHWI -> OIHW; depthwise [1,H,W,C*M] -> [C*M,1,H,W] with group C).
 * layout.c later removes the Transposes that cancel. Every other op works on
 * the model's layout and keeps its axes. Padding SAME follows TFLite: the
 * total padding is split with the extra pixel at the end. */
#include <stdlib.h>
#include <string.h>

#include "tflite/internal.h"

static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};
static const int64_t ohwi_to_oihw[4] = {0, 3, 1, 2}, xhwy_to_yxhw[4] = {3, 0, 1, 2};

/* ONNX TensorProto data types, for Cast's `to`. */
static int64_t onnx_type(enum synap_dtype t)
{
    switch (t) {
    case SYNAP_DTYPE_FLOAT32:
        return 1;
    case SYNAP_DTYPE_UINT8:
        return 2;
    case SYNAP_DTYPE_INT8:
        return 3;
    case SYNAP_DTYPE_UINT16:
        return 4;
    case SYNAP_DTYPE_INT16:
        return 5;
    case SYNAP_DTYPE_INT32:
        return 6;
    case SYNAP_DTYPE_INT64:
        return 7;
    case SYNAP_DTYPE_BOOL:
        return 9;
    case SYNAP_DTYPE_FLOAT16:
        return 10;
    case SYNAP_DTYPE_FLOAT64:
        return 11;
    case SYNAP_DTYPE_UINT32:
        return 12;
    case SYNAP_DTYPE_UINT64:
        return 13;
    default:
        return 0;
    }
}

static int32_t opt_i32(struct tfl_ctx *c, const struct tfl_op *op, unsigned f, int32_t def)
{
    return fb_i32(tfl_reader(c), &op->opts, f, def);
}
static int opt_i8(struct tfl_ctx *c, const struct tfl_op *op, unsigned f, int def)
{
    return fb_i8(tfl_reader(c), &op->opts, f, (int8_t)def);
}
static float opt_f32(struct tfl_ctx *c, const struct tfl_op *op, unsigned f, float def)
{
    return fb_f32(tfl_reader(c), &op->opts, f, def);
}

static void set_ints(struct tfl_ctx *c, size_t nd, const char *name, const int64_t *v, size_t n)
{
    synap_node_set_ints(tfl_graph(c), &tfl_graph(c)->nodes[nd], name, v, n);
}
static void set_int(struct tfl_ctx *c, size_t nd, const char *name, int64_t v)
{
    synap_node_set_int(tfl_graph(c), &tfl_graph(c)->nodes[nd], name, v);
}
static void set_float(struct tfl_ctx *c, size_t nd, const char *name, float v)
{
    synap_node_set_float(tfl_graph(c), &tfl_graph(c)->nodes[nd], name, v);
}
static void set_string(struct tfl_ctx *c, size_t nd, const char *name, const char *v)
{
    synap_node_set_string(tfl_graph(c), &tfl_graph(c)->nodes[nd], name, v);
}

static int rank_of(struct tfl_ctx *c, uint32_t t)
{
    return tfl_t(c, t)->rank;
}

static int need_rank(struct tfl_ctx *c, uint32_t t, size_t k, int rank)
{
    if (rank_of(c, t) != rank)
        return synap_errf(tfl_err(c), "input %zu: expected rank %d, got %d", k, rank,
                          rank_of(c, t));
    return 0;
}

/* The result y of the main node, after the fused activation, becomes out. */
static int finish(struct tfl_ctx *c, const struct tfl_op *op, int act, uint32_t y, uint32_t out)
{
    uint32_t res;
    if (act == TFL_ACT_NONE) return 0; /* y is out */
    return tfl_activation(c, op, act, y, out, &res);
}

/* ---- convolutions and pools --------------------------------------------------- */

/* TFLite's padding for one spatial dim (tensorflow/lite/kernels/padding.h):
 * SAME gives out = ceil(in / s) and splits the total, the extra at the end. */
static int spatial_pad(struct tfl_ctx *c, int padding, int64_t in, int64_t k, int64_t s, int64_t d,
                       int64_t *b, int64_t *e)
{
    if (s < 1 || d < 1 || k < 1 || s > (1 << 20) || d > (1 << 20))
        return synap_errf(tfl_err(c), "stride %lld, dilation %lld or kernel %lld out of range",
                          (long long)s, (long long)d, (long long)k);
    *b = *e = 0;
    if (padding == TFL_PAD_VALID) return 0;
    if (padding != TFL_PAD_SAME) return synap_errf(tfl_err(c), "padding %d is not valid", padding);
    int64_t dk = (k - 1) * d + 1, out = (in + s - 1) / s;
    int64_t total = (out - 1) * s + dk - in;
    if (total < 0) total = 0;
    *b = total / 2;
    *e = total - *b;
    return 0;
}

/* x (NHWC) -> NCHW op (attrs set by the caller between begin and end). */
static int nchw_begin(struct tfl_ctx *c, const struct tfl_op *op, uint32_t x, uint32_t *xt)
{
    if (need_rank(c, x, 0, 4) < 0) return -1;
    return tfl_transpose(c, op, "to_nchw", x, to_nchw, 4, SYNAP_NONE, xt);
}

static int nchw_end(struct tfl_ctx *c, const struct tfl_op *op, size_t nd, uint32_t y, int act)
{
    uint32_t z, out, res;
    if (tfl_infer(c, nd) < 0) return -1;
    if (tfl_activation(c, op, act, y, SYNAP_NONE, &z) < 0) return -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    return tfl_transpose(c, op, "to_nhwc", z, to_nhwc, 4, out, &res);
}

static int conv_common(struct tfl_ctx *c, const struct tfl_op *op, int depthwise)
{
    uint32_t x, w, b, xt, wt;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_req(c, op, 1, &w) < 0 ||
        tfl_input(c, op, 2, &b) < 0)
        return -1;
    if (need_rank(c, x, 0, 4) < 0 || need_rank(c, w, 1, 4) < 0) return -1;
    int padding = opt_i8(c, op, depthwise ? TFL_DW_PADDING : TFL_CONV_PADDING, 0);
    int64_t sw = opt_i32(c, op, depthwise ? TFL_DW_STRIDE_W : TFL_CONV_STRIDE_W, 1);
    int64_t sh = opt_i32(c, op, depthwise ? TFL_DW_STRIDE_H : TFL_CONV_STRIDE_H, 1);
    int64_t dw = opt_i32(c, op, depthwise ? TFL_DW_DILATION_W : TFL_CONV_DILATION_W, 1);
    int64_t dh = opt_i32(c, op, depthwise ? TFL_DW_DILATION_H : TFL_CONV_DILATION_H, 1);
    int act = opt_i8(c, op, depthwise ? TFL_DW_ACT : TFL_CONV_ACT, 0);
    const int64_t *xd = tfl_t(c, x)->dims, *wd = tfl_t(c, w)->dims;
    int64_t cin = xd[3], group;
    if (depthwise) {
        /* [1, KH, KW, C*M]: one group per input channel */
        if (wd[0] != 1 || cin < 1 || wd[3] % cin)
            return synap_errf(tfl_err(c),
                              "depthwise filter %lld x %lld x %lld x %lld does not fit "
                              "%lld input channels",
                              (long long)wd[0], (long long)wd[1], (long long)wd[2],
                              (long long)wd[3], (long long)cin);
        group = cin;
    } else {
        if (wd[3] < 1 || cin % wd[3])
            return synap_errf(tfl_err(c), "filter depth %lld does not divide %lld input channels",
                              (long long)wd[3], (long long)cin);
        group = cin / wd[3];
    }
    int64_t pads[4], ks[2] = {wd[1], wd[2]}, strides[2] = {sh, sw}, dil[2] = {dh, dw};
    if (spatial_pad(c, padding, xd[1], wd[1], sh, dh, &pads[0], &pads[2]) < 0 ||
        spatial_pad(c, padding, xd[2], wd[2], sw, dw, &pads[1], &pads[3]) < 0)
        return -1;
    if (tfl_transpose(c, op, "weights_oihw", w, depthwise ? xhwy_to_yxhw : ohwi_to_oihw, 4,
                      SYNAP_NONE, &wt) < 0 ||
        nchw_begin(c, op, x, &xt) < 0)
        return -1;
    uint32_t y = tfl_temp(c, op, "nchw");
    uint32_t ins[3] = {xt, wt, b};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CONV, ins, 3, y);
    set_ints(c, nd, "kernel_shape", ks, 2);
    set_ints(c, nd, "strides", strides, 2);
    set_ints(c, nd, "dilations", dil, 2);
    set_ints(c, nd, "pads", pads, 4);
    set_int(c, nd, "group", group);
    return nchw_end(c, op, nd, y, act);
}

static int conv2d(struct tfl_ctx *c, const struct tfl_op *op)
{
    return conv_common(c, op, 0);
}

static int depthwise_conv2d(struct tfl_ctx *c, const struct tfl_op *op)
{
    return conv_common(c, op, 1);
}

static int pool2d(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, xt;
    if (tfl_input_req(c, op, 0, &x) < 0 || need_rank(c, x, 0, 4) < 0) return -1;
    int padding = opt_i8(c, op, TFL_POOL_PADDING, 0);
    int64_t sw = opt_i32(c, op, TFL_POOL_STRIDE_W, 1), sh = opt_i32(c, op, TFL_POOL_STRIDE_H, 1);
    int64_t kw = opt_i32(c, op, TFL_POOL_FILTER_W, 1), kh = opt_i32(c, op, TFL_POOL_FILTER_H, 1);
    int act = opt_i8(c, op, TFL_POOL_ACT, 0);
    const int64_t *xd = tfl_t(c, x)->dims;
    int64_t pads[4], ks[2] = {kh, kw}, strides[2] = {sh, sw};
    if (spatial_pad(c, padding, xd[1], kh, sh, 1, &pads[0], &pads[2]) < 0 ||
        spatial_pad(c, padding, xd[2], kw, sw, 1, &pads[1], &pads[3]) < 0)
        return -1;
    if (nchw_begin(c, op, x, &xt) < 0) return -1;
    uint32_t y = tfl_temp(c, op, "nchw");
    enum synap_op kind = op->code == TFL_OP_MAX_POOL_2D  ? SYNAP_OP_MAX_POOL
                         : op->code == TFL_OP_L2_POOL_2D ? SYNAP_OP_LP_POOL
                                                         : SYNAP_OP_AVERAGE_POOL;
    size_t nd = tfl_node(c, op, NULL, kind, &xt, 1, y);
    set_ints(c, nd, "kernel_shape", ks, 2);
    set_ints(c, nd, "strides", strides, 2);
    set_ints(c, nd, "pads", pads, 4);
    /* TFLite averages over the valid pixels only: count_include_pad = 0 */
    if (kind == SYNAP_OP_LP_POOL) set_int(c, nd, "p", 2);
    return nchw_end(c, op, nd, y, act);
}

/* The transposed convolution of x (NHWC) with OHWI weights into an output of
 * spatial size oh x ow, TFLite's padding: the "before" padding is
 * total / 2 and the output is cropped (or extended) to the requested size. */
static int tconv_common(struct tfl_ctx *c, const struct tfl_op *op, uint32_t x, uint32_t w,
                        uint32_t b, int padding, int64_t sh, int64_t sw, int64_t oh, int64_t ow,
                        int act)
{
    uint32_t xt, wt;
    if (need_rank(c, x, 0, 4) < 0 || need_rank(c, w, 1, 4) < 0) return -1;
    const int64_t *xd = tfl_t(c, x)->dims, *wd = tfl_t(c, w)->dims;
    if (wd[3] != xd[3])
        return synap_errf(tfl_err(c), "filter depth %lld differs from %lld input channels",
                          (long long)wd[3], (long long)xd[3]);
    int64_t in[2] = {xd[1], xd[2]}, k[2] = {wd[1], wd[2]}, s[2] = {sh, sw}, o[2] = {oh, ow};
    int64_t pads[4], outpad[2];
    for (int i = 0; i < 2; i++) {
        if (s[i] < 1 || s[i] > (1 << 20) || o[i] < 1 || o[i] > ((int64_t)1 << 30))
            return synap_errf(tfl_err(c), "stride %lld or output size %lld out of range",
                              (long long)s[i], (long long)o[i]);
        int64_t full = (in[i] - 1) * s[i] + k[i], pb = 0;
        if (padding == TFL_PAD_SAME) {
            int64_t total = full - o[i];
            pb = total > 0 ? total / 2 : 0;
        } else if (padding != TFL_PAD_VALID) {
            return synap_errf(tfl_err(c), "padding %d is not valid", padding);
        }
        int64_t pe = full - pb - o[i];
        outpad[i] = pe < 0 ? -pe : 0;
        pads[i] = pb;
        pads[2 + i] = pe < 0 ? 0 : pe;
    }
    if (tfl_transpose(c, op, "weights_iohw", w, xhwy_to_yxhw, 4, SYNAP_NONE, &wt) < 0 ||
        nchw_begin(c, op, x, &xt) < 0)
        return -1;
    uint32_t y = tfl_temp(c, op, "nchw");
    uint32_t ins[3] = {xt, wt, b};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CONV_TRANSPOSE, ins, 3, y);
    set_ints(c, nd, "kernel_shape", k, 2);
    set_ints(c, nd, "strides", s, 2);
    set_ints(c, nd, "pads", pads, 4);
    if (outpad[0] || outpad[1]) set_ints(c, nd, "output_padding", outpad, 2);
    return nchw_end(c, op, nd, y, act);
}

static int transpose_conv(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t w, x, b;
    int64_t shape[4];
    size_t n;
    /* inputs: output_shape, weights, input, optional bias. An output_shape
     * computed at run time (a graph input in TFLM's tests) is taken from the
     * output tensor's declared static shape. */
    uint32_t st;
    if (tfl_input_req(c, op, 0, &st) < 0) return -1;
    const struct tfl_tensor *ot = tfl_out_tensor(c, op, 0);
    if (!tfl_t(c, st)->data && ot->rank == 4) {
        memcpy(shape, ot->dims, sizeof shape);
        n = 4;
    } else if (tfl_input_ints(c, op, 0, shape, 4, &n) < 0) {
        return -1;
    }
    if (tfl_input_req(c, op, 1, &w) < 0 || tfl_input_req(c, op, 2, &x) < 0 ||
        tfl_input(c, op, 3, &b) < 0)
        return -1;
    if (n != 4) return synap_errf(tfl_err(c), "input 0: expected 4 output dims, got %zu", n);
    return tconv_common(
        c, op, x, w, b, opt_i8(c, op, TFL_TCONV_PADDING, 0), opt_i32(c, op, TFL_TCONV_STRIDE_H, 1),
        opt_i32(c, op, TFL_TCONV_STRIDE_W, 1), shape[1], shape[2], opt_i8(c, op, TFL_TCONV_ACT, 0));
}

/* MediaPipe's Convolution2DTransposeBias: inputs x, OHWI weights, bias; its
 * custom options are TfLiteTransposeConvParams as raw int32s: padding
 * (1 SAME, 2 VALID), stride_width, stride_height. */
static int mp_transpose_conv_bias(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, w, b;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_req(c, op, 1, &w) < 0 ||
        tfl_input(c, op, 2, &b) < 0)
        return -1;
    if (op->ncustom_opts < 12)
        return synap_errf(tfl_err(c), "custom options: %zu bytes, expected 12", op->ncustom_opts);
    int32_t p[3];
    for (int i = 0; i < 3; i++) {
        const uint8_t *q = op->custom_opts + 4 * i;
        p[i] = (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                         (uint32_t)q[3] << 24);
    }
    if (p[0] != 1 && p[0] != 2)
        return synap_errf(tfl_err(c), "custom options: padding %d is not SAME (1) or VALID (2)",
                          (int)p[0]);
    int padding = p[0] == 1 ? TFL_PAD_SAME : TFL_PAD_VALID;
    if (need_rank(c, x, 0, 4) < 0 || need_rank(c, w, 1, 4) < 0) return -1;
    const int64_t *xd = tfl_t(c, x)->dims, *wd = tfl_t(c, w)->dims;
    int64_t sw = p[1], sh = p[2];
    if (sw < 1 || sh < 1 || sw > (1 << 20) || sh > (1 << 20))
        return synap_errf(tfl_err(c), "custom options: strides %d x %d out of range", (int)p[2],
                          (int)p[1]);
    /* output size as MediaPipe computes it: in * s (SAME), (in - 1) * s + k (VALID) */
    int64_t oh = padding == TFL_PAD_SAME ? xd[1] * sh : (xd[1] - 1) * sh + wd[1];
    int64_t ow = padding == TFL_PAD_SAME ? xd[2] * sw : (xd[2] - 1) * sw + wd[2];
    return tconv_common(c, op, x, w, b, padding, sh, sw, oh, ow, TFL_ACT_NONE);
}

/* TFLite_Detection_PostProcess (SSD): the canonical op of the same name
 * (kernels/detect.c) with the custom options as attributes. The anchors,
 * dequantized, are also left for the pack stage as the IR section
 * "tflite_anchors" (a msgpack array of float32, 4 per anchor: ycenter,
 * xcenter, h, w), which fills ${ANCHORS} in output format strings. */
static int detection_postprocess(struct tfl_ctx *c, const struct tfl_op *op)
{
    static const struct {
        const char *key, *attr;
        int is_float;
        double def;
    } opts[] = {
        {"max_detections", "max_detections", 0, 10},
        {"max_classes_per_detection", "max_classes_per_detection", 0, 1},
        {"detections_per_class", "detections_per_class", 0, 100},
        {"use_regular_nms", "use_regular_nms", 0, 0},
        {"nms_score_threshold", "nms_score_threshold", 1, 0},
        {"nms_iou_threshold", "nms_iou_threshold", 1, 0.5},
        {"num_classes", "num_classes", 0, -1},
        {"y_scale", "y_scale", 1, 10},
        {"x_scale", "x_scale", 1, 10},
        {"h_scale", "h_scale", 1, 5},
        {"w_scale", "w_scale", 1, 5},
    };
    uint32_t ins[3], outs[4];
    for (size_t k = 0; k < 3; k++)
        if (tfl_input_req(c, op, k, &ins[k]) < 0) return -1;
    if (op->nout != 4) return synap_errf(tfl_err(c), "%zu outputs, expected 4", op->nout);
    for (size_t k = 0; k < 4; k++)
        if (tfl_output(c, op, k, &outs[k]) < 0) return -1;
    size_t nd = tfl_node_n(c, op, NULL, SYNAP_OP_DETECTION_POST_PROCESS, ins, 3, outs, 4);
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        double v = opts[i].def;
        int r = tfl_flex_number(op->custom_opts, op->ncustom_opts, opts[i].key, &v, tfl_err(c));
        if (r < 0) return -1;
        if (!r && v < 0) return synap_errf(tfl_err(c), "custom options: no '%s'", opts[i].key);
        if (!(v > -1e9 && v < 1e9))
            return synap_errf(tfl_err(c), "custom options: '%s' out of range", opts[i].key);
        if (opts[i].is_float)
            set_float(c, nd, opts[i].attr, (float)v);
        else
            set_int(c, nd, opts[i].attr, (int64_t)v);
    }
    if (tfl_infer(c, nd) < 0) return -1;
    /* the anchors for ${ANCHORS}: constant, [N, 4] */
    const struct synap_tensor *a = tfl_t(c, ins[2]);
    int64_t ne = synap_shape_nelem(a->rank, a->dims);
    const struct synap_quant *q = a->quant;
    if (!a->data || ne < 0 || ne > ((int64_t)1 << 24) || (q && q->nparams != 1)) return 0;
    size_t nb = 5 + (size_t)ne * 5;
    uint8_t *mp = synap_xmalloc(nb), *w = mp;
    *w++ = 0xdd;
    for (int sh = 24; sh >= 0; sh -= 8)
        *w++ = (uint8_t)((uint64_t)ne >> sh);
    struct synap_value v = {.dtype = a->dtype, .rank = a->rank, .data = (void *)a->data};
    memcpy(v.dims, a->dims, sizeof v.dims);
    for (int64_t i = 0; i < ne; i++) {
        double x = synap_value_get_f64(&v, i);
        if (q && synap_dtype_is_int(a->dtype))
            x = (double)q->scale[0] * (x - (double)q->zero_point[0]);
        float f = (float)x;
        uint32_t u;
        memcpy(&u, &f, 4);
        *w++ = 0xca;
        for (int sh = 24; sh >= 0; sh -= 8)
            *w++ = (uint8_t)(u >> sh);
    }
    synap_ir_section_set(tfl_graph(c), "tflite_anchors", mp, (size_t)(w - mp));
    free(mp);
    return 0;
}

static int fully_connected(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, w, b, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_req(c, op, 1, &w) < 0 ||
        tfl_input(c, op, 2, &b) < 0)
        return -1;
    if (opt_i8(c, op, TFL_FC_WEIGHTS_FORMAT, 0) != 0)
        return synap_errf(tfl_err(c), "shuffled weights formats are not supported");
    int act = opt_i8(c, op, TFL_FC_ACT, 0);
    int keep = fb_u8(tfl_reader(c), &op->opts, TFL_FC_KEEP_NUM_DIMS, 0) != 0;
    if (need_rank(c, w, 1, 2) < 0) return -1;
    const struct synap_tensor *xt = tfl_t(c, x);
    int64_t k = tfl_t(c, w)->dims[1], ne = synap_shape_nelem(xt->rank, xt->dims);
    if (k < 1 || ne < 0 || ne % k)
        return synap_errf(tfl_err(c), "input 0: %lld elements are not rows of %lld", (long long)ne,
                          (long long)k);
    int xrank = xt->rank;
    int64_t xdims[SYNAP_MAX_RANK];
    memcpy(xdims, xt->dims, sizeof xdims);
    /* Gemm wants [N, K]: TFLite flattens every leading dim into rows */
    uint32_t a = x;
    if (xrank != 2 || xdims[1] != k) {
        int64_t shp[2] = {-1, k};
        a = tfl_temp(c, op, "rows");
        uint32_t ins[2] = {x, tfl_const_i64(c, op, "rows_shape", shp, 2)};
        if (tfl_emit(c, op, "rows", SYNAP_OP_RESHAPE, ins, 2, a) < 0) return -1;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    int reshape_back = keep && xrank != 2;
    uint32_t y = act || reshape_back ? tfl_temp(c, op, "gemm") : out;
    uint32_t ins[3] = {a, w, b};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_GEMM, ins, 3, y);
    set_int(c, nd, "transB", 1);
    if (tfl_infer(c, nd) < 0) return -1;
    uint32_t z = y;
    if (act && tfl_activation(c, op, act, y, reshape_back ? SYNAP_NONE : out, &z) < 0) return -1;
    if (!reshape_back) return 0;
    int64_t shp[SYNAP_MAX_RANK];
    memcpy(shp, xdims, sizeof shp);
    shp[xrank - 1] = tfl_t(c, w)->dims[0];
    uint32_t ins2[2] = {z, tfl_const_i64(c, op, "out_shape", shp, (size_t)xrank)};
    return tfl_emit(c, op, "keep_dims", SYNAP_OP_RESHAPE, ins2, 2, out);
}

/* ---- elementwise -------------------------------------------------------------- */

static int unary(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    return tfl_emit(c, op, NULL, kind, &x, 1, out);
}

#define UNARY(fn, KIND)                                                                            \
    static int fn(struct tfl_ctx *c, const struct tfl_op *op)                                      \
    {                                                                                              \
        return unary(c, op, SYNAP_OP_##KIND);                                                      \
    }
UNARY(op_relu, RELU)
UNARY(op_logistic, SIGMOID)
UNARY(op_tanh, TANH)
UNARY(op_hard_swish, HARD_SWISH)
UNARY(op_exp, EXP)
UNARY(op_log, LOG)
UNARY(op_sqrt, SQRT)
UNARY(op_abs, ABS)
UNARY(op_neg, NEG)
UNARY(op_floor, FLOOR)
UNARY(op_ceil, CEIL)
UNARY(op_round, ROUND)
UNARY(op_sin, SIN)
UNARY(op_cos, COS)
UNARY(op_sign, SIGN)
UNARY(op_not, NOT)
UNARY(op_elu, ELU)

static int clip(struct tfl_ctx *c, const struct tfl_op *op, float lo, float hi)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[3] = {x, tfl_const_f32(c, op, "min", lo), tfl_const_f32(c, op, "max", hi)};
    return tfl_emit(c, op, NULL, SYNAP_OP_CLIP, ins, 3, out);
}

static int op_relu6(struct tfl_ctx *c, const struct tfl_op *op)
{
    return clip(c, op, 0.0f, 6.0f);
}
static int op_relu_n1_to_1(struct tfl_ctx *c, const struct tfl_op *op)
{
    return clip(c, op, -1.0f, 1.0f);
}
static int op_relu_0_to_1(struct tfl_ctx *c, const struct tfl_op *op)
{
    return clip(c, op, 0.0f, 1.0f);
}

static int op_leaky_relu(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_LEAKY_RELU, &x, 1, out);
    set_float(c, nd, "alpha", opt_f32(c, op, TFL_LEAKY_RELU_ALPHA, 0.0f));
    return tfl_infer(c, nd);
}

static int op_square(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[2] = {x, x};
    return tfl_emit(c, op, NULL, SYNAP_OP_MUL, ins, 2, out);
}

static int op_rsqrt(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out, s;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    s = tfl_temp(c, op, "sqrt");
    if (tfl_emit(c, op, "sqrt", SYNAP_OP_SQRT, &x, 1, s) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_RECIPROCAL, &s, 1, out);
}

/* Binary ops; ADD, SUB, MUL and DIV carry a fused activation (field 0). */
static int binary(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind, int has_act)
{
    uint32_t ins[2], out;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    int act = has_act ? opt_i8(c, op, TFL_ARITH_ACT, 0) : TFL_ACT_NONE;
    uint32_t y = act ? tfl_temp(c, op, "pre_act") : out;
    if (tfl_emit(c, op, NULL, kind, ins, 2, y) < 0) return -1;
    return finish(c, op, act, y, out);
}

#define BINARY(fn, KIND, ACT)                                                                      \
    static int fn(struct tfl_ctx *c, const struct tfl_op *op)                                      \
    {                                                                                              \
        return binary(c, op, SYNAP_OP_##KIND, ACT);                                                \
    }
BINARY(op_add, ADD, 1)
BINARY(op_sub, SUB, 1)
BINARY(op_mul, MUL, 1)
BINARY(op_div, DIV, 1)
BINARY(op_maximum, MAX, 0)
BINARY(op_minimum, MIN, 0)
BINARY(op_pow, POW, 0)
BINARY(op_prelu, PRELU, 0)
BINARY(op_less, LESS, 0)
BINARY(op_less_equal, LESS_OR_EQUAL, 0)
BINARY(op_greater, GREATER, 0)
BINARY(op_greater_equal, GREATER_OR_EQUAL, 0)
BINARY(op_equal, EQUAL, 0)
BINARY(op_logical_and, AND, 0)
BINARY(op_logical_or, OR, 0)

static int op_not_equal(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out, e;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    e = tfl_temp(c, op, "equal");
    if (tfl_emit(c, op, "equal", SYNAP_OP_EQUAL, ins, 2, e) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_NOT, &e, 1, out);
}

static int op_squared_difference(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out, d;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    d = tfl_temp(c, op, "diff");
    if (tfl_emit(c, op, "diff", SYNAP_OP_SUB, ins, 2, d) < 0) return -1;
    uint32_t sq[2] = {d, d};
    return tfl_emit(c, op, NULL, SYNAP_OP_MUL, sq, 2, out);
}

/* FLOOR_DIV: float -> Div then Floor. Integers (TFLite's int32/int16/int8
 * FloorDiv: floor(double(a) / double(b)) on the raw integers, quantization
 * parameters ignored) -> exact integer ops without intermediate overflow:
 * t = Div(a, b) truncates; Mod(a, b) with fmod 0 (sign of b) and fmod 1
 * (sign of a) differ by exactly b when t must step down, else are equal,
 * so floor(a / b) = t - (Mod0 - Mod1) / b. A zero divisor (an error in
 * TFLite) gives 0. */
static int op_floor_div(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out, q;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    const struct synap_tensor *a = tfl_t(c, ins[0]), *b = tfl_t(c, ins[1]);
    if (synap_dtype_is_float(a->dtype)) {
        q = tfl_temp(c, op, "div");
        if (tfl_emit(c, op, "div", SYNAP_OP_DIV, ins, 2, q) < 0) return -1;
        return tfl_emit(c, op, NULL, SYNAP_OP_FLOOR, &q, 1, out);
    }
    if (a->dtype != b->dtype || (a->dtype != SYNAP_DTYPE_INT32 && a->dtype != SYNAP_DTYPE_INT16 &&
                                 a->dtype != SYNAP_DTYPE_INT8))
        return synap_errf(tfl_err(c), "FLOOR_DIV of %s by %s is not supported",
                          synap_dtype_name(a->dtype), synap_dtype_name(b->dtype));
    if (a->quant || b->quant) return synap_errf(tfl_err(c), "quantized FLOOR_DIV is not supported");
    uint32_t t = tfl_temp(c, op, "trunc"), m[2], d = tfl_temp(c, op, "diff"),
             k = tfl_temp(c, op, "step");
    if (tfl_emit(c, op, "trunc", SYNAP_OP_DIV, ins, 2, t) < 0) return -1;
    for (int f = 0; f < 2; f++) {
        m[f] = tfl_temp(c, op, f ? "fmod" : "mod");
        size_t nd = tfl_node(c, op, f ? "fmod" : "mod", SYNAP_OP_MOD, ins, 2, m[f]);
        set_int(c, nd, "fmod", f);
        if (tfl_infer(c, nd) < 0) return -1;
    }
    if (tfl_emit(c, op, "diff", SYNAP_OP_SUB, m, 2, d) < 0) return -1;
    uint32_t kd[2] = {d, ins[1]}, r[2] = {t, k};
    if (tfl_emit(c, op, "step", SYNAP_OP_DIV, kd, 2, k) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_SUB, r, 2, out);
}

static int op_select(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[3], out;
    for (size_t k = 0; k < 3; k++)
        if (tfl_input_req(c, op, k, &ins[k]) < 0) return -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_WHERE, ins, 3, out);
}

static int op_add_n(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[64], out;
    if (op->nin < 1 || op->nin > 64) return synap_errf(tfl_err(c), "%zu inputs", op->nin);
    for (size_t k = 0; k < op->nin; k++)
        if (tfl_input_req(c, op, k, &ins[k]) < 0) return -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_SUM, ins, op->nin, out);
}

static int op_cast(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0) return -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    /* the output tensor's declared type decides */
    enum synap_dtype to = tfl_out_tensor(c, op, 0)->dtype;
    int64_t t = onnx_type(to);
    if (!t) return synap_errf(tfl_err(c), "cast to this type is not supported");
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CAST, &x, 1, out);
    set_int(c, nd, "to", t);
    return tfl_infer(c, nd);
}

/* The scale and zero point of quant record q as constant inputs of a
 * QuantizeLinear / DequantizeLinear (zero point of type zdt); sets the
 * node's axis for per-channel records. */
static void q_params(struct tfl_ctx *c, const struct tfl_op *op, const struct synap_quant *q,
                     enum synap_dtype zdt, uint32_t *scale, uint32_t *zp)
{
    int64_t n = (int64_t)q->nparams;
    size_t esz = synap_dtype_size(zdt);
    uint8_t *z = synap_xcalloc((size_t)n + 1, esz ? esz : 1);
    struct synap_value v = {.dtype = zdt, .rank = 1, .dims = {n}, .data = z};
    for (int64_t i = 0; i < n; i++)
        synap_value_set_f64(&v, i, (double)q->zero_point[i]);
    *scale = tfl_const(c, op, "scale", SYNAP_DTYPE_FLOAT32, n > 1 ? 1 : 0, &n, q->scale,
                       (size_t)n * sizeof(float));
    *zp = tfl_const(c, op, "zero_point", zdt, n > 1 ? 1 : 0, &n, z, (size_t)n * esz);
    free(z);
}

/* QUANTIZE: float -> int (TFLite's AffineQuantize, round half away from
 * zero) or int -> int (TFLite's Requantize) into the output's parameters;
 * QuantizeLinear follows TFLite when its output has a quant record. */
static int op_quantize(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out, s, z;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    const struct synap_tensor *ot = tfl_t(c, out);
    if (!ot->quant || ot->quant->nparams != 1)
        return synap_errf(tfl_err(c), "QUANTIZE to %s: expected a per-tensor quantized output",
                          synap_dtype_name(tfl_out_tensor(c, op, 0)->dtype));
    q_params(c, op, ot->quant, ot->dtype, &s, &z);
    uint32_t ins[3] = {x, s, z};
    return tfl_emit(c, op, NULL, SYNAP_OP_QUANTIZE_LINEAR, ins, 3, out);
}

/* DEQUANTIZE: float16 weights (a Cast that folding runs at import), hybrid
 * int8 constants (already dequantized when materialized), or quantized
 * integers of a pre-quantized model (DequantizeLinear: (q - zp) * scale). */
static int op_dequantize(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0) return -1;
    const struct synap_tensor *xt = tfl_t(c, x);
    if (xt->dtype == SYNAP_DTYPE_FLOAT32) return tfl_alias(c, op, 0, x);
    if (xt->quant && synap_dtype_is_int(xt->dtype)) {
        uint32_t s, z;
        const struct synap_quant *q = xt->quant;
        enum synap_dtype dt = xt->dtype;
        if (tfl_output(c, op, 0, &out) < 0) return -1;
        q_params(c, op, q, dt, &s, &z);
        uint32_t ins[3] = {x, s, z};
        size_t nd = tfl_node(c, op, NULL, SYNAP_OP_DEQUANTIZE_LINEAR, ins, 3, out);
        if (q->nparams > 1) set_int(c, nd, "axis", q->axis);
        return tfl_infer(c, nd);
    }
    if (xt->dtype != SYNAP_DTYPE_FLOAT16)
        return synap_errf(tfl_err(c), "DEQUANTIZE of %s without quantization parameters",
                          synap_dtype_name(xt->dtype));
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CAST, &x, 1, out);
    set_int(c, nd, "to", 1);
    return tfl_infer(c, nd);
}

/* DENSIFY: the sparse constant was made dense when it was materialized. */
static int op_densify(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x;
    if (tfl_input_req(c, op, 0, &x) < 0) return -1;
    return tfl_alias(c, op, 0, x);
}

/* ---- shape and movement ------------------------------------------------------ */

static int op_reshape(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    int64_t shp[SYNAP_MAX_RANK];
    size_t n = 0;
    if (tfl_input_req(c, op, 0, &x) < 0) return -1;
    const struct tfl_tensor *st = tfl_in_tensor(c, op, 1);
    struct fb_vec ns = fb_vector(tfl_reader(c), &op->opts, TFL_RESHAPE_NEW_SHAPE, 4);
    if (fb_failed(tfl_reader(c))) return -1;
    if (st) {
        if (tfl_input_ints(c, op, 1, shp, SYNAP_MAX_RANK, &n) < 0) return -1;
    } else if (ns.len) {
        if (ns.len > SYNAP_MAX_RANK) return synap_errf(tfl_err(c), "new_shape has rank %u", ns.len);
        for (uint32_t i = 0; i < ns.len; i++)
            shp[i] = fb_vec_i32(tfl_reader(c), &ns, i);
        n = ns.len;
    } else {
        /* the output's declared shape */
        const struct tfl_tensor *ot = tfl_out_tensor(c, op, 0);
        n = (size_t)ot->rank;
        memcpy(shp, ot->dims, sizeof shp);
    }
    int has_minus1 = 0;
    for (size_t i = 0; i < n; i++)
        has_minus1 |= shp[i] == -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[2] = {x, tfl_const_i64(c, op, "shape", shp, n)};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_RESHAPE, ins, 2, out);
    /* TFLite has no "0 copies the dim" rule */
    if (!has_minus1) set_int(c, nd, "allowzero", 1);
    return tfl_infer(c, nd);
}

static int op_squeeze(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    struct fb_vec v = fb_vector(tfl_reader(c), &op->opts, TFL_SQUEEZE_DIMS, 4);
    if (fb_failed(tfl_reader(c))) return -1;
    if (v.len > SYNAP_MAX_RANK) return synap_errf(tfl_err(c), "%u squeeze dims", v.len);
    int64_t axes[SYNAP_MAX_RANK];
    for (uint32_t i = 0; i < v.len; i++)
        axes[i] = fb_vec_i32(tfl_reader(c), &v, i);
    uint32_t ins[2] = {x, v.len ? tfl_const_i64(c, op, "axes", axes, v.len) : SYNAP_NONE};
    return tfl_emit(c, op, NULL, SYNAP_OP_SQUEEZE, ins, 2, out);
}

static int op_expand_dims(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    int64_t axis;
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, &axis, 1, &n) < 0) return -1;
    if (n != 1) return synap_errf(tfl_err(c), "input 1: expected one axis");
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[2] = {x, tfl_const_i64(c, op, "axes", &axis, 1)};
    return tfl_emit(c, op, NULL, SYNAP_OP_UNSQUEEZE, ins, 2, out);
}

static int op_transpose(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out, res;
    int64_t perm[SYNAP_MAX_RANK];
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, perm, SYNAP_MAX_RANK, &n) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    return tfl_transpose(c, op, NULL, x, perm, (int)n, out, &res);
}

static int op_concatenation(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[255], out;
    if (op->nin < 1 || op->nin > 255) return synap_errf(tfl_err(c), "%zu inputs", op->nin);
    for (size_t k = 0; k < op->nin; k++)
        if (tfl_input_req(c, op, k, &ins[k]) < 0) return -1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    int act = opt_i8(c, op, TFL_CONCAT_ACT, 0);
    uint32_t y = act ? tfl_temp(c, op, "pre_act") : out;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CONCAT, ins, op->nin, y);
    set_int(c, nd, "axis", opt_i32(c, op, TFL_CONCAT_AXIS, 0));
    if (tfl_infer(c, nd) < 0) return -1;
    return finish(c, op, act, y, out);
}

static int op_pack(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[255], out;
    if (op->nin < 1 || op->nin > 255) return synap_errf(tfl_err(c), "%zu inputs", op->nin);
    int64_t axis = opt_i32(c, op, TFL_PACK_AXIS, 0);
    for (size_t k = 0; k < op->nin; k++) {
        uint32_t x;
        if (tfl_input_req(c, op, k, &x) < 0) return -1;
        int r = rank_of(c, x);
        if (axis < -(r + 1) || axis > r)
            return synap_errf(tfl_err(c), "axis %lld", (long long)axis);
        int64_t a = axis < 0 ? axis + r + 1 : axis;
        ins[k] = tfl_temp(c, op, "unsqueeze");
        uint32_t u[2] = {x, tfl_const_i64(c, op, "axes", &a, 1)};
        if (tfl_emit(c, op, "unsqueeze", SYNAP_OP_UNSQUEEZE, u, 2, ins[k]) < 0) return -1;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CONCAT, ins, op->nin, out);
    set_int(c, nd, "axis", axis);
    return tfl_infer(c, nd);
}

static int op_unpack(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, parts[255];
    if (tfl_input_req(c, op, 0, &x) < 0) return -1;
    if (op->nout > 255) return synap_errf(tfl_err(c), "%zu outputs", op->nout);
    int64_t axis = opt_i32(c, op, TFL_UNPACK_AXIS, 0);
    for (size_t k = 0; k < op->nout; k++)
        parts[k] = tfl_temp(c, op, "part");
    size_t nd = tfl_node_n(c, op, "split", SYNAP_OP_SPLIT, &x, 1, parts, op->nout);
    set_int(c, nd, "axis", axis);
    if (tfl_infer(c, nd) < 0) return -1;
    int r = rank_of(c, x);
    int64_t a = axis < 0 ? axis + r : axis;
    for (size_t k = 0; k < op->nout; k++) {
        uint32_t out;
        if (tfl_output(c, op, k, &out) < 0) return -1;
        uint32_t ins[2] = {parts[k], tfl_const_i64(c, op, "axes", &a, 1)};
        if (tfl_emit(c, op, k ? "squeeze" : NULL, SYNAP_OP_SQUEEZE, ins, 2, out) < 0) return -1;
    }
    return 0;
}

static int split_common(struct tfl_ctx *c, const struct tfl_op *op, uint32_t x, int64_t axis,
                        const int64_t *sizes, size_t nsizes)
{
    uint32_t outs[255];
    if (op->nout < 1 || op->nout > 255) return synap_errf(tfl_err(c), "%zu outputs", op->nout);
    for (size_t k = 0; k < op->nout; k++)
        if (tfl_output(c, op, k, &outs[k]) < 0) return -1;
    uint32_t ins[2] = {x, sizes ? tfl_const_i64(c, op, "split", sizes, nsizes) : SYNAP_NONE};
    size_t nd = tfl_node_n(c, op, NULL, SYNAP_OP_SPLIT, ins, 2, outs, op->nout);
    set_int(c, nd, "axis", axis);
    return tfl_infer(c, nd);
}

static int op_split(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x;
    int64_t axis;
    size_t n;
    /* inputs: axis, value */
    if (tfl_input_ints(c, op, 0, &axis, 1, &n) < 0 || tfl_input_req(c, op, 1, &x) < 0) return -1;
    if (n != 1) return synap_errf(tfl_err(c), "input 0: expected one axis");
    return split_common(c, op, x, axis, NULL, 0);
}

static int op_split_v(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x;
    int64_t axis, sizes[255];
    size_t n, na;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, sizes, 255, &n) < 0 ||
        tfl_input_ints(c, op, 2, &axis, 1, &na) < 0)
        return -1;
    int r = rank_of(c, x);
    if (na != 1 || axis < -r || axis >= r) return synap_errf(tfl_err(c), "bad axis");
    if (axis < 0) axis += r;
    /* one size may be -1: the rest of the axis */
    int64_t total = tfl_t(c, x)->dims[axis], sum = 0, unknown = -1;
    for (size_t i = 0; i < n; i++) {
        if (sizes[i] == -1 && unknown < 0)
            unknown = (int64_t)i;
        else if (sizes[i] < 0)
            return synap_errf(tfl_err(c), "size_splits %lld", (long long)sizes[i]);
        else
            sum += sizes[i];
    }
    if (unknown >= 0) sizes[unknown] = total - sum;
    return split_common(c, op, x, axis, sizes, n);
}

static int pad_common(struct tfl_ctx *c, const struct tfl_op *op, const char *mode)
{
    uint32_t x, v = SYNAP_NONE, out;
    int64_t p[2 * SYNAP_MAX_RANK], pads[2 * SYNAP_MAX_RANK];
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, p, 2 * SYNAP_MAX_RANK, &n) < 0)
        return -1;
    if (op->code == TFL_OP_PADV2 && tfl_input(c, op, 2, &v) < 0) return -1;
    int r = rank_of(c, x);
    if (n != 2 * (size_t)r) return synap_errf(tfl_err(c), "paddings: %zu values for rank %d", n, r);
    /* [[b0, e0], [b1, e1], ...] -> [b0, b1, ..., e0, e1, ...] */
    for (int i = 0; i < r; i++) {
        pads[i] = p[2 * i];
        pads[r + i] = p[2 * i + 1];
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[3] = {x, tfl_const_i64(c, op, "pads", pads, n), v};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_PAD, ins, 3, out);
    if (mode) set_string(c, nd, "mode", mode);
    return tfl_infer(c, nd);
}

static int op_pad(struct tfl_ctx *c, const struct tfl_op *op)
{
    return pad_common(c, op, NULL);
}

static int op_mirror_pad(struct tfl_ctx *c, const struct tfl_op *op)
{
    if (opt_i8(c, op, TFL_MIRROR_PAD_MODE, 0) != 0)
        return synap_errf(tfl_err(c), "SYMMETRIC mirror padding is not supported");
    return pad_common(c, op, "reflect");
}

static int op_slice(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    int64_t b[SYNAP_MAX_RANK], s[SYNAP_MAX_RANK], e[SYNAP_MAX_RANK], axes[SYNAP_MAX_RANK];
    size_t nb, ns;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, b, SYNAP_MAX_RANK, &nb) < 0 ||
        tfl_input_ints(c, op, 2, s, SYNAP_MAX_RANK, &ns) < 0)
        return -1;
    if (nb != ns || nb != (size_t)rank_of(c, x))
        return synap_errf(tfl_err(c), "begin and size must have one value per dim");
    for (size_t i = 0; i < nb; i++) {
        e[i] = s[i] == -1 ? INT64_MAX : b[i] + s[i];
        axes[i] = (int64_t)i;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[4] = {x, tfl_const_i64(c, op, "starts", b, nb),
                       tfl_const_i64(c, op, "ends", e, nb), tfl_const_i64(c, op, "axes", axes, nb)};
    return tfl_emit(c, op, NULL, SYNAP_OP_SLICE, ins, 4, out);
}

static int op_strided_slice(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    int64_t b[SYNAP_MAX_RANK], e[SYNAP_MAX_RANK], s[SYNAP_MAX_RANK], axes[SYNAP_MAX_RANK];
    int64_t shrink[SYNAP_MAX_RANK];
    size_t nb, ne, ns, nshrink = 0;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, b, SYNAP_MAX_RANK, &nb) < 0 ||
        tfl_input_ints(c, op, 2, e, SYNAP_MAX_RANK, &ne) < 0 ||
        tfl_input_ints(c, op, 3, s, SYNAP_MAX_RANK, &ns) < 0)
        return -1;
    int32_t bm = opt_i32(c, op, TFL_SS_BEGIN_MASK, 0), em = opt_i32(c, op, TFL_SS_END_MASK, 0);
    int32_t sm = opt_i32(c, op, TFL_SS_SHRINK_AXIS_MASK, 0);
    int offset = fb_u8(tfl_reader(c), &op->opts, TFL_SS_OFFSET, 0) != 0;
    if (opt_i32(c, op, TFL_SS_ELLIPSIS_MASK, 0) || opt_i32(c, op, TFL_SS_NEW_AXIS_MASK, 0))
        return synap_errf(tfl_err(c), "ellipsis and new-axis masks are not supported");
    const struct synap_tensor *xt = tfl_t(c, x);
    if (nb != ne || nb != ns || nb > (size_t)xt->rank)
        return synap_errf(tfl_err(c), "begin, end and strides must have the same length");
    for (size_t i = 0; i < nb; i++) {
        int64_t dim = xt->dims[i];
        axes[i] = (int64_t)i;
        if (s[i] == 0) return synap_errf(tfl_err(c), "stride 0 on dim %zu", i);
        if (sm >> i & 1) {
            int64_t bi = b[i] < 0 ? b[i] + dim : b[i];
            if (bi < 0 || bi >= dim)
                return synap_errf(tfl_err(c), "dim %zu: index %lld out of range", i,
                                  (long long)b[i]);
            b[i] = bi;
            e[i] = bi + 1;
            s[i] = 1;
            shrink[nshrink++] = (int64_t)i;
            continue;
        }
        if (offset && !(em >> i & 1)) e[i] += b[i];
        if (bm >> i & 1) b[i] = s[i] > 0 ? 0 : INT64_MAX;
        if (em >> i & 1) e[i] = s[i] > 0 ? INT64_MAX : INT64_MIN;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t y = nshrink ? tfl_temp(c, op, "slice") : out;
    uint32_t ins[5] = {x, tfl_const_i64(c, op, "starts", b, nb),
                       tfl_const_i64(c, op, "ends", e, nb), tfl_const_i64(c, op, "axes", axes, nb),
                       tfl_const_i64(c, op, "steps", s, nb)};
    if (tfl_emit(c, op, nshrink ? "slice" : NULL, SYNAP_OP_SLICE, ins, 5, y) < 0) return -1;
    if (!nshrink) return 0;
    uint32_t sq[2] = {y, tfl_const_i64(c, op, "shrink_axes", shrink, nshrink)};
    return tfl_emit(c, op, NULL, SYNAP_OP_SQUEEZE, sq, 2, out);
}

/* x and a constant int list (input 1) -> op(x, list as the named int64 constant) */
static int op_x_ints(struct tfl_ctx *c, const struct tfl_op *op, const char *what,
                     enum synap_op sop)
{
    uint32_t x, out;
    int64_t m[SYNAP_MAX_RANK];
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, m, SYNAP_MAX_RANK, &n) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    uint32_t ins[2] = {x, tfl_const_i64(c, op, what, m, n)};
    return tfl_emit(c, op, NULL, sop, ins, 2, out);
}

static int op_tile(struct tfl_ctx *c, const struct tfl_op *op)
{
    return op_x_ints(c, op, "repeats", SYNAP_OP_TILE);
}

static int op_broadcast_to(struct tfl_ctx *c, const struct tfl_op *op)
{
    return op_x_ints(c, op, "shape", SYNAP_OP_EXPAND);
}

static int op_fill(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t v, out;
    int64_t m[SYNAP_MAX_RANK];
    size_t n;
    if (tfl_input_ints(c, op, 0, m, SYNAP_MAX_RANK, &n) < 0 || tfl_input_req(c, op, 1, &v) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    uint32_t ins[2] = {v, tfl_const_i64(c, op, "shape", m, n)};
    return tfl_emit(c, op, NULL, SYNAP_OP_EXPAND, ins, 2, out);
}

static int op_shape(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out, s;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    int to = opt_i8(c, op, TFL_SHAPE_OUT_TYPE, TFL_INT32);
    if (to == TFL_INT64) return tfl_emit(c, op, NULL, SYNAP_OP_SHAPE, &x, 1, out);
    s = tfl_temp(c, op, "shape64");
    if (tfl_emit(c, op, "shape64", SYNAP_OP_SHAPE, &x, 1, s) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CAST, &s, 1, out);
    set_int(c, nd, "to", 6);
    return tfl_infer(c, nd);
}

static int op_gather(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    if (opt_i32(c, op, TFL_GATHER_BATCH_DIMS, 0) != 0)
        return synap_errf(tfl_err(c), "batch_dims is not supported");
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_GATHER, ins, 2, out);
    set_int(c, nd, "axis", opt_i32(c, op, TFL_GATHER_AXIS, 0));
    return tfl_infer(c, nd);
}

static int op_gather_nd(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out, idx;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &idx) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    ins[1] = tfl_temp(c, op, "indices64");
    size_t nd = tfl_node(c, op, "indices64", SYNAP_OP_CAST, &idx, 1, ins[1]);
    set_int(c, nd, "to", 7);
    if (tfl_infer(c, nd) < 0) return -1;
    return tfl_emit(c, op, NULL, SYNAP_OP_GATHER_ND, ins, 2, out);
}

/* ---- reductions ------------------------------------------------------------------ */

static int reduce(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind)
{
    uint32_t x, out;
    int64_t axes[SYNAP_MAX_RANK];
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, axes, SYNAP_MAX_RANK, &n) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    int keep = fb_u8(tfl_reader(c), &op->opts, TFL_REDUCER_KEEP_DIMS, 0) != 0;
    if (!n) return tfl_alias(c, op, 0, x);
    uint32_t ins[2] = {x, SYNAP_NONE};
    if (kind == SYNAP_OP_REDUCE_SUM) ins[1] = tfl_const_i64(c, op, "axes", axes, n);
    size_t nd = tfl_node(c, op, NULL, kind, ins, 2, out);
    if (kind != SYNAP_OP_REDUCE_SUM) set_ints(c, nd, "axes", axes, n);
    set_int(c, nd, "keepdims", keep);
    return tfl_infer(c, nd);
}

static int op_mean(struct tfl_ctx *c, const struct tfl_op *op)
{
    return reduce(c, op, SYNAP_OP_REDUCE_MEAN);
}
static int op_sum(struct tfl_ctx *c, const struct tfl_op *op)
{
    return reduce(c, op, SYNAP_OP_REDUCE_SUM);
}
static int op_reduce_max(struct tfl_ctx *c, const struct tfl_op *op)
{
    return reduce(c, op, SYNAP_OP_REDUCE_MAX);
}
static int op_reduce_min(struct tfl_ctx *c, const struct tfl_op *op)
{
    return reduce(c, op, SYNAP_OP_REDUCE_MIN);
}
static int op_reduce_prod(struct tfl_ctx *c, const struct tfl_op *op)
{
    return reduce(c, op, SYNAP_OP_REDUCE_PROD);
}

static int arg_minmax(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind)
{
    uint32_t x, out;
    int64_t axis;
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, &axis, 1, &n) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    if (n != 1) return synap_errf(tfl_err(c), "input 1: expected one axis");
    int ot = opt_i8(c, op, TFL_ARGMAX_OUTPUT_TYPE, TFL_INT64);
    uint32_t y = ot == TFL_INT64 ? out : tfl_temp(c, op, "index64");
    size_t nd = tfl_node(c, op, NULL, kind, &x, 1, y);
    set_int(c, nd, "axis", axis);
    set_int(c, nd, "keepdims", 0);
    if (tfl_infer(c, nd) < 0) return -1;
    if (ot == TFL_INT64) return 0;
    if (ot != TFL_INT32) return synap_errf(tfl_err(c), "output type %d is not supported", ot);
    nd = tfl_node(c, op, "cast", SYNAP_OP_CAST, &y, 1, out);
    set_int(c, nd, "to", 6);
    return tfl_infer(c, nd);
}

static int op_arg_max(struct tfl_ctx *c, const struct tfl_op *op)
{
    return arg_minmax(c, op, SYNAP_OP_ARG_MAX);
}
static int op_arg_min(struct tfl_ctx *c, const struct tfl_op *op)
{
    return arg_minmax(c, op, SYNAP_OP_ARG_MIN);
}

static int op_cumsum(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_CUM_SUM, ins, 2, out);
    set_int(c, nd, "exclusive", fb_u8(tfl_reader(c), &op->opts, 0, 0) != 0);
    set_int(c, nd, "reverse", fb_u8(tfl_reader(c), &op->opts, 1, 0) != 0);
    return tfl_infer(c, nd);
}

/* ---- softmax, normalization, matmul --------------------------------------------- */

static int softmax_common(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    float beta = kind == SYNAP_OP_SOFTMAX ? opt_f32(c, op, TFL_SOFTMAX_BETA, 1.0f) : 1.0f;
    if (beta != 1.0f) {
        uint32_t s = tfl_temp(c, op, "beta");
        uint32_t ins[2] = {x, tfl_const_f32(c, op, "beta_value", beta)};
        if (tfl_emit(c, op, "beta", SYNAP_OP_MUL, ins, 2, s) < 0) return -1;
        x = s;
    }
    size_t nd = tfl_node(c, op, NULL, kind, &x, 1, out);
    set_int(c, nd, "axis", -1);
    return tfl_infer(c, nd);
}

static int op_softmax(struct tfl_ctx *c, const struct tfl_op *op)
{
    return softmax_common(c, op, SYNAP_OP_SOFTMAX);
}
static int op_log_softmax(struct tfl_ctx *c, const struct tfl_op *op)
{
    return softmax_common(c, op, SYNAP_OP_LOG_SOFTMAX);
}

static int op_l2_normalization(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_output(c, op, 0, &out) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_LP_NORMALIZATION, &x, 1, out);
    set_int(c, nd, "axis", -1);
    set_int(c, nd, "p", 2);
    return tfl_infer(c, nd);
}

/* TFLite's LRN sums squares over [d - r, d + r] on the last axis with alpha
 * unscaled; ONNX's over size = 2r + 1 channels with alpha / size. */
static int op_lrn(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, xt;
    if (tfl_input_req(c, op, 0, &x) < 0 || nchw_begin(c, op, x, &xt) < 0) return -1;
    int64_t r = opt_i32(c, op, TFL_LRN_RADIUS, 5);
    if (r < 0 || r > 4096) return synap_errf(tfl_err(c), "radius %lld", (long long)r);
    uint32_t y = tfl_temp(c, op, "nchw");
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_LRN, &xt, 1, y);
    set_int(c, nd, "size", 2 * r + 1);
    set_float(c, nd, "alpha", opt_f32(c, op, TFL_LRN_ALPHA, 1.0f) * (float)(2 * r + 1));
    set_float(c, nd, "beta", opt_f32(c, op, TFL_LRN_BETA, 0.5f));
    set_float(c, nd, "bias", opt_f32(c, op, TFL_LRN_BIAS, 1.0f));
    return nchw_end(c, op, nd, y, TFL_ACT_NONE);
}

static int op_batch_matmul(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[2], out;
    if (tfl_input_req(c, op, 0, &ins[0]) < 0 || tfl_input_req(c, op, 1, &ins[1]) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        if (!fb_u8(tfl_reader(c), &op->opts, k ? TFL_BMM_ADJ_Y : TFL_BMM_ADJ_X, 0)) continue;
        int r = rank_of(c, ins[k]);
        if (r < 2) return synap_errf(tfl_err(c), "input %d: adjoint of rank %d", k, r);
        int64_t perm[SYNAP_MAX_RANK];
        for (int i = 0; i < r; i++)
            perm[i] = i;
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        if (tfl_transpose(c, op, k ? "adj_y" : "adj_x", ins[k], perm, r, SYNAP_NONE, &ins[k]) < 0)
            return -1;
    }
    return tfl_emit(c, op, NULL, SYNAP_OP_MATMUL, ins, 2, out);
}

/* ---- resizing and space/depth/batch rearrangements -------------------------------- */

static int resize(struct tfl_ctx *c, const struct tfl_op *op, int bilinear)
{
    uint32_t x, out;
    int64_t hw[2];
    size_t n;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, hw, 2, &n) < 0) return -1;
    if (n != 2 || need_rank(c, x, 0, 4) < 0)
        return synap_errf(tfl_err(c), "expected an NHWC input and a size of 2 values");
    struct fb_reader *r = tfl_reader(c);
    int ac = fb_u8(r, &op->opts,
                   bilinear ? TFL_RESIZE_BILINEAR_ALIGN_CORNERS : TFL_RESIZE_NN_ALIGN_CORNERS, 0);
    int hp = fb_u8(r, &op->opts,
                   bilinear ? TFL_RESIZE_BILINEAR_HALF_PIXEL : TFL_RESIZE_NN_HALF_PIXEL, 0);
    const char *ctm, *nearest = NULL;
    if (ac && hp) return synap_errf(tfl_err(c), "align_corners with half_pixel_centers");
    if (bilinear) {
        ctm = ac ? "align_corners" : hp ? "half_pixel" : "asymmetric";
    } else {
        /* TFLite: floor(x * scale), round (away from zero) with
         * align_corners, floor((x + 0.5) * scale) with half-pixel centers */
        ctm = ac ? "align_corners" : hp ? "tf_half_pixel_for_nn" : "asymmetric";
        nearest = ac ? "round_prefer_ceil" : "floor";
    }
    const int64_t *xd = tfl_t(c, x)->dims;
    int64_t sizes[4] = {xd[0], hw[0], hw[1], xd[3]};
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    uint32_t ins[4] = {x, SYNAP_NONE, SYNAP_NONE, tfl_const_i64(c, op, "sizes", sizes, 4)};
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_RESIZE, ins, 4, out);
    set_string(c, nd, "mode", bilinear ? "linear" : "nearest");
    set_string(c, nd, "coordinate_transformation_mode", ctm);
    if (nearest) set_string(c, nd, "nearest_mode", nearest);
    return tfl_infer(c, nd);
}

static int op_resize_bilinear(struct tfl_ctx *c, const struct tfl_op *op)
{
    return resize(c, op, 1);
}
static int op_resize_nearest(struct tfl_ctx *c, const struct tfl_op *op)
{
    return resize(c, op, 0);
}

/* TF's DepthToSpace on NHWC is ONNX's DCR order on NCHW; SpaceToDepth alike. */
static int space_depth(struct tfl_ctx *c, const struct tfl_op *op, enum synap_op kind)
{
    uint32_t x, xt;
    if (tfl_input_req(c, op, 0, &x) < 0 || nchw_begin(c, op, x, &xt) < 0) return -1;
    uint32_t y = tfl_temp(c, op, "nchw");
    size_t nd = tfl_node(c, op, NULL, kind, &xt, 1, y);
    set_int(c, nd, "blocksize", opt_i32(c, op, TFL_BLOCK_SIZE, 0));
    if (kind == SYNAP_OP_DEPTH_TO_SPACE) set_string(c, nd, "mode", "DCR");
    return nchw_end(c, op, nd, y, TFL_ACT_NONE);
}

static int op_depth_to_space(struct tfl_ctx *c, const struct tfl_op *op)
{
    return space_depth(c, op, SYNAP_OP_DEPTH_TO_SPACE);
}
static int op_space_to_depth(struct tfl_ctx *c, const struct tfl_op *op)
{
    return space_depth(c, op, SYNAP_OP_SPACE_TO_DEPTH);
}

static int reshape_to(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, uint32_t x,
                      const int64_t *shape, int rank, uint32_t out, uint32_t *res)
{
    if (out == SYNAP_NONE) out = tfl_temp(c, op, suffix);
    *res = out;
    uint32_t ins[2] = {x, tfl_const_i64(c, op, suffix, shape, (size_t)rank)};
    return tfl_emit(c, op, suffix, SYNAP_OP_RESHAPE, ins, 2, out);
}

/* SPACE_TO_BATCH_ND on NHWC with block [bh, bw] and paddings:
 * Pad -> [N, H/bh, bh, W/bw, bw, C] -> [bh, bw, N, H/bh, W/bw, C] -> [bh*bw*N, H/bh, W/bw, C]. */
static int op_space_to_batch(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, p, t1, t2, out;
    int64_t blk[2], pd[4];
    size_t nb, np;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, blk, 2, &nb) < 0 ||
        tfl_input_ints(c, op, 2, pd, 4, &np) < 0)
        return -1;
    if (need_rank(c, x, 0, 4) < 0 || nb != 2 || np != 4)
        return synap_errf(tfl_err(c), "only 4-D inputs with 2 block dims are supported");
    int64_t pads[8] = {0, pd[0], pd[2], 0, 0, pd[1], pd[3], 0};
    p = tfl_temp(c, op, "padded");
    uint32_t pins[2] = {x, tfl_const_i64(c, op, "pads", pads, 8)};
    if (tfl_emit(c, op, "pad", SYNAP_OP_PAD, pins, 2, p) < 0) return -1;
    const int64_t *d = tfl_t(c, p)->dims;
    if (blk[0] < 1 || blk[1] < 1 || d[1] % blk[0] || d[2] % blk[1])
        return synap_errf(tfl_err(c), "block %lld x %lld does not divide the padded input",
                          (long long)blk[0], (long long)blk[1]);
    int64_t n = d[0], h = d[1] / blk[0], w = d[2] / blk[1], ch = d[3];
    int64_t s6[6] = {n, h, blk[0], w, blk[1], ch}, perm[6] = {2, 4, 0, 1, 3, 5};
    int64_t s4[4] = {blk[0] * blk[1] * n, h, w, ch};
    if (reshape_to(c, op, "split_blocks", p, s6, 6, SYNAP_NONE, &t1) < 0 ||
        tfl_transpose(c, op, "blocks_first", t1, perm, 6, SYNAP_NONE, &t2) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    return reshape_to(c, op, "to_batch", t2, s4, 4, out, &t1);
}

/* BATCH_TO_SPACE_ND, the inverse: [bh, bw, N, H, W, C] -> [N, H, bh, W, bw, C]
 * -> [N, H*bh, W*bw, C], then the crops are sliced off. */
static int op_batch_to_space(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t x, t1, t2, t3, out;
    int64_t blk[2], cr[4];
    size_t nb, nc;
    if (tfl_input_req(c, op, 0, &x) < 0 || tfl_input_ints(c, op, 1, blk, 2, &nb) < 0 ||
        tfl_input_ints(c, op, 2, cr, 4, &nc) < 0)
        return -1;
    if (need_rank(c, x, 0, 4) < 0 || nb != 2 || nc != 4)
        return synap_errf(tfl_err(c), "only 4-D inputs with 2 block dims are supported");
    const int64_t *d = tfl_t(c, x)->dims;
    if (blk[0] < 1 || blk[1] < 1 || d[0] % (blk[0] * blk[1]))
        return synap_errf(tfl_err(c), "block %lld x %lld does not divide the batch",
                          (long long)blk[0], (long long)blk[1]);
    int64_t n = d[0] / (blk[0] * blk[1]), h = d[1], w = d[2], ch = d[3];
    int64_t s6[6] = {blk[0], blk[1], n, h, w, ch}, perm[6] = {2, 3, 0, 4, 1, 5};
    int64_t s4[4] = {n, h * blk[0], w * blk[1], ch};
    if (reshape_to(c, op, "split_batch", x, s6, 6, SYNAP_NONE, &t1) < 0 ||
        tfl_transpose(c, op, "blocks_inside", t1, perm, 6, SYNAP_NONE, &t2) < 0 ||
        reshape_to(c, op, "to_space", t2, s4, 4, SYNAP_NONE, &t3) < 0 ||
        tfl_output(c, op, 0, &out) < 0)
        return -1;
    int64_t starts[2] = {cr[0], cr[2]}, ends[2] = {s4[1] - cr[1], s4[2] - cr[3]}, axes[2] = {1, 2};
    uint32_t ins[4] = {t3, tfl_const_i64(c, op, "crop_starts", starts, 2),
                       tfl_const_i64(c, op, "crop_ends", ends, 2),
                       tfl_const_i64(c, op, "crop_axes", axes, 2)};
    return tfl_emit(c, op, NULL, SYNAP_OP_SLICE, ins, 4, out);
}

/* ---- recurrent layers --------------------------------------------------------- */

/* UNIDIRECTIONAL_SEQUENCE_LSTM (float) -> the canonical LSTM (ONNX).
 * TFLite inputs: 0 x; 1-4 input-to-{input,forget,cell,output} weights [H, I];
 * 5-8 recurrent-to-{...} [H, H]; 9-11 cell-to-{input,forget,output}
 * peepholes [H]; 12-15 {input,forget,cell,output} gate biases [H]; 16-17
 * projection weights/bias; 18 output state, 19 cell state ([B, H]; omitted
 * means zeros); 20-23 layer-norm coefficients. Options: fused activation
 * (the cell input's and the output's function), cell_clip, proj_clip,
 * time_major, asymmetric_quantize_inputs, diagonal_recurrent_tensors.
 *
 * W/R/B/P are concatenated in ONNX's iofc / iof order (folded at import).
 * Batch-major x [B, S, I] uses layout=1; time-major [S, B, I] layout=0.
 * CIFG (no input gate: i = 1 - f) becomes input_forget=1, whose kernel rule
 * is f = 1 - i: the input slot gets the negated forget weights, bias and
 * peephole, so i = sigmoid(-z_f) = 1 - sigmoid(z_f) and f = 1 - i.
 * TFLite's cell_clip clips the cell state after each step, which ONNX's
 * clip (on gate pre-activations) is not: when the clip can engage (|c0| +
 * S > cell_clip, |c| growing by < 1 per step), the sequence is unrolled into
 * one LSTM node per step with Clip on its Y_c. The clipping step's own
 * output o * tanh(c) then used the unclipped c: with |c| >= clip >= 8 that
 * differs by at most 1 - tanh(8) < 2.3e-7, so only tanh, no peepholes (the
 * output gate's would see the unclipped c) and clips >= 8 are accepted. The
 * output is [B, S, H] ([S, B, H] when time-major). */
enum {
    TFL_LSTM_ACT,
    TFL_LSTM_CELL_CLIP,
    TFL_LSTM_PROJ_CLIP,
    TFL_LSTM_TIME_MAJOR,
    TFL_LSTM_ASYM_INPUTS,
    TFL_LSTM_DIAGONAL
};

static int lstm_zeros(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, int rank,
                      const int64_t *dims, uint32_t *t)
{
    int64_t n = synap_shape_nelem(rank, dims);
    float *z = n >= 0 ? calloc((size_t)n + 1, sizeof *z) : NULL;
    if (!z) return synap_errf(tfl_err(c), "out of memory");
    *t = tfl_const(c, op, suffix, SYNAP_DTYPE_FLOAT32, rank, dims, z, (size_t)n * sizeof *z);
    free(z);
    return 0;
}

static int lstm_reshape(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, uint32_t x,
                        const int64_t *shp, int rank, uint32_t out, uint32_t *res)
{
    *res = out != SYNAP_NONE ? out : tfl_temp(c, op, suffix);
    uint32_t ins[2] = {x, tfl_const_i64(c, op, suffix, shp, (size_t)rank)};
    size_t nd = tfl_node(c, op, suffix, SYNAP_OP_RESHAPE, ins, 2, *res);
    set_int(c, nd, "allowzero", 1);
    return tfl_infer(c, nd);
}

/* Concat(parts, axis 0) into a new temp (one part: itself). */
static int lstm_concat(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix,
                       const uint32_t *parts, size_t n, uint32_t *res)
{
    if (n == 1) return *res = parts[0], 0;
    *res = tfl_temp(c, op, suffix);
    size_t nd = tfl_node(c, op, suffix, SYNAP_OP_CONCAT, parts, n, *res);
    set_int(c, nd, "axis", 0);
    return tfl_infer(c, nd);
}

static int lstm_neg(struct tfl_ctx *c, const struct tfl_op *op, const char *suffix, uint32_t x,
                    uint32_t *res)
{
    *res = tfl_temp(c, op, suffix);
    return tfl_emit(c, op, suffix, SYNAP_OP_NEG, &x, 1, *res);
}

/* Input k, which must be float32 of rank `rank` with the given dims. */
static int lstm_in(struct tfl_ctx *c, const struct tfl_op *op, size_t k, int rank, int64_t d0,
                   int64_t d1, uint32_t *t)
{
    if (tfl_input(c, op, k, t) < 0) return -1;
    if (*t == SYNAP_NONE) return 0;
    const struct synap_tensor *st = tfl_t(c, *t);
    if (st->dtype != SYNAP_DTYPE_FLOAT32 || st->rank != rank || st->dims[0] != d0 ||
        (rank == 2 && st->dims[1] != d1))
        return synap_errf(tfl_err(c), "input %zu: expected float32 [%lld%s%lld]", k, (long long)d0,
                          rank == 2 ? ", " : "", rank == 2 ? (long long)d1 : 0LL);
    return 0;
}

/* Integer UNIDIRECTIONAL_SEQUENCE_LSTM -> TFLiteLSTMInt (kernels/lstm_int.c,
 * TFLite's 8x8_16 arithmetic): int8 input/weights/hidden state, int16 cell
 * state. The variants the shared models use are supported (all gates, no
 * peepholes, projection or layer norm, tanh); the others, and int16
 * activations (16x8), fail naming what. Omitted states are zero (their
 * zero point), TFLite's first invocation, as for the float LSTM. */
/* What neither LSTM translation takes: a projection layer, layer
 * normalization, diagonal recurrent weights (what names the op). */
static int lstm_unsupported(struct tfl_ctx *c, const struct tfl_op *op, const char *what)
{
    if (tfl_in_tensor(c, op, 16) || tfl_in_tensor(c, op, 17))
        return synap_errf(tfl_err(c), "%s with a projection layer (inputs 16-17) is not supported",
                          what);
    for (size_t k = 20; k < op->nin && k < 24; k++)
        if (tfl_in_tensor(c, op, k))
            return synap_errf(tfl_err(c),
                              "%s with layer normalization (inputs 20-23) is not supported", what);
    if (fb_u8(tfl_reader(c), &op->opts, TFL_LSTM_DIAGONAL, 0))
        return synap_errf(tfl_err(c), "%s with diagonal_recurrent_tensors is not supported", what);
    return 0;
}

/* The cell_clip option (0: none), checked. */
static int lstm_cell_clip(struct tfl_ctx *c, const struct tfl_op *op, const char *what, float *clip)
{
    *clip = opt_f32(c, op, TFL_LSTM_CELL_CLIP, 0.0f);
    if (!(*clip >= 0) || *clip > 1e30f)
        return synap_errf(tfl_err(c), "%s: cell_clip %g is not valid", what, (double)*clip);
    return 0;
}

static int op_lstm_int(struct tfl_ctx *c, const struct tfl_op *op)
{
    static const char *const what = "integer UNIDIRECTIONAL_SEQUENCE_LSTM";
    const struct tfl_tensor *tx = tfl_in_tensor(c, op, 0);
    if (tx->dtype == SYNAP_DTYPE_INT16)
        return synap_errf(tfl_err(c), "%s with int16 activations (16x8) is not supported", what);
    if (tx->dtype != SYNAP_DTYPE_INT8)
        return synap_errf(tfl_err(c), "%s with %s input is not supported", what,
                          synap_dtype_name(tx->dtype));
    if (op->nin != 20 && op->nin != 24)
        return synap_errf(tfl_err(c), "%zu inputs, expected 20 or 24", op->nin);
    if (!tfl_in_tensor(c, op, 1) || !tfl_in_tensor(c, op, 5))
        return synap_errf(tfl_err(c), "%s with CIFG (inputs 1 and 5 omitted) is not supported",
                          what);
    if (tfl_in_tensor(c, op, 9) || tfl_in_tensor(c, op, 10) || tfl_in_tensor(c, op, 11))
        return synap_errf(tfl_err(c), "%s with peepholes (inputs 9-11) is not supported", what);
    if (lstm_unsupported(c, op, what) < 0) return -1;
    int act = opt_i8(c, op, TFL_LSTM_ACT, TFL_ACT_TANH);
    if (act != TFL_ACT_TANH)
        return synap_errf(tfl_err(c), "%s with fused activation %d (not tanh) is not supported",
                          what, act);
    float cell_clip;
    if (lstm_cell_clip(c, op, what, &cell_clip) < 0) return -1;
    int time_major = fb_u8(tfl_reader(c), &op->opts, TFL_LSTM_TIME_MAJOR, 0) != 0;
    /* TFLite takes the hidden state's scale and zero point from intermediate
     * 4; the kernel takes the output state's (input 18): they must agree */
    if (op->ninter >= 5 && op->nin > 18 && op->in[18] >= 0) {
        int same = tfl_same_quant(c, op->inter[4], op->in[18]);
        if (same < 0) return -1;
        if (!same)
            return synap_errf(tfl_err(c),
                              "%s whose hidden-state intermediate (4) is quantized unlike its "
                              "output state (input 18) is not supported",
                              what);
    }
    uint32_t ins[20], out;
    for (size_t k = 0; k < 20; k++) {
        if (tfl_input(c, op, k, &ins[k]) < 0) return -1;
        if (k >= 18 && ins[k] == SYNAP_NONE && tfl_zero_state(c, op, k, &ins[k]) < 0) return -1;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_TFLITE_LSTM_INT, ins, 20, out);
    set_int(c, nd, "time_major", time_major);
    struct synap_graph *g = tfl_graph(c);
    synap_node_set_float(g, &g->nodes[nd], "cell_clip", cell_clip);
    return tfl_infer(c, nd);
}

/* The canonical LSTM node nd's attributes, then its shapes. */
static int lstm_attrs(struct tfl_ctx *c, size_t nd, int64_t H, int64_t layout, int cifg,
                      const char *const acts[3])
{
    struct synap_graph *g = tfl_graph(c);
    synap_node_set_int(g, &g->nodes[nd], "hidden_size", H);
    synap_node_set_int(g, &g->nodes[nd], "layout", layout);
    synap_node_set_int(g, &g->nodes[nd], "input_forget", cifg);
    synap_node_set_strings(g, &g->nodes[nd], "activations", acts, 3);
    return tfl_infer(c, nd);
}

static int op_unidirectional_lstm(struct tfl_ctx *c, const struct tfl_op *op)
{
    const struct tfl_tensor *tx = tfl_in_tensor(c, op, 0), *ty = tfl_out_tensor(c, op, 0);
    if (!tx) return synap_errf(tfl_err(c), "input 0 is required");
    if (tx->dtype != SYNAP_DTYPE_FLOAT32 || ty->dtype != SYNAP_DTYPE_FLOAT32)
        return op_lstm_int(c, op);
    if (op->nin < 20) return synap_errf(tfl_err(c), "%zu inputs, expected 20 or 24", op->nin);
    if (lstm_unsupported(c, op, "UNIDIRECTIONAL_SEQUENCE_LSTM") < 0) return -1;
    int act = opt_i8(c, op, TFL_LSTM_ACT, TFL_ACT_TANH);
    int time_major = fb_u8(tfl_reader(c), &op->opts, TFL_LSTM_TIME_MAJOR, 0) != 0;
    const char *act_name = act == TFL_ACT_TANH   ? "Tanh"
                           : act == TFL_ACT_RELU ? "Relu"
                           : act == TFL_ACT_NONE ? "Affine"
                                                 : NULL;
    if (!act_name)
        return synap_errf(
            tfl_err(c), "UNIDIRECTIONAL_SEQUENCE_LSTM: fused activation %d is not supported", act);
    float cell_clip;
    if (lstm_cell_clip(c, op, "UNIDIRECTIONAL_SEQUENCE_LSTM", &cell_clip) < 0) return -1;

    uint32_t x, out;
    if (tfl_input_req(c, op, 0, &x) < 0 || need_rank(c, x, 0, 3) < 0) return -1;
    int64_t xd[3];
    memcpy(xd, tfl_t(c, x)->dims, sizeof xd);
    int64_t S = time_major ? xd[0] : xd[1], B = time_major ? xd[1] : xd[0], I = xd[2];
    uint32_t w[4], r[4], p[3], b[4]; /* TFLite order i, f, c, o */
    if (tfl_input_req(c, op, 2, &w[1]) < 0 || need_rank(c, w[1], 2, 2) < 0) return -1;
    int64_t H = tfl_t(c, w[1])->dims[0];
    if (H < 1 || S < 0 || B < 0 || I < 1)
        return synap_errf(tfl_err(c), "UNIDIRECTIONAL_SEQUENCE_LSTM: bad shapes");
    for (size_t k = 0; k < 4; k++)
        if (lstm_in(c, op, 1 + k, 2, H, I, &w[k]) < 0 ||
            lstm_in(c, op, 5 + k, 2, H, H, &r[k]) < 0 ||
            lstm_in(c, op, 12 + k, 1, H, 0, &b[k]) < 0 ||
            (k < 3 && lstm_in(c, op, 9 + k, 1, H, 0, &p[k]) < 0))
            return -1;
    int cifg = w[0] == SYNAP_NONE;
    if (cifg != (r[0] == SYNAP_NONE))
        return synap_errf(tfl_err(c), "UNIDIRECTIONAL_SEQUENCE_LSTM: input-to-input and "
                                      "recurrent-to-input weights must both be given or omitted");
    for (size_t k = 1; k < 4; k++)
        if (w[k] == SYNAP_NONE || r[k] == SYNAP_NONE)
            return synap_errf(tfl_err(c), "UNIDIRECTIONAL_SEQUENCE_LSTM: input %zu is required",
                              w[k] == SYNAP_NONE ? 1 + k : 5 + k);
    int peep = p[1] != SYNAP_NONE || p[2] != SYNAP_NONE || p[0] != SYNAP_NONE;
    if (peep && (p[1] == SYNAP_NONE || p[2] == SYNAP_NONE || (!cifg && p[0] == SYNAP_NONE)))
        return synap_errf(tfl_err(c), "UNIDIRECTIONAL_SEQUENCE_LSTM: peepholes (inputs 9-11) "
                                      "must be all given or all omitted");
    int64_t hv[1] = {H}, hv4[1] = {4 * H};
    for (size_t k = 0; k < 4; k++)
        if (b[k] == SYNAP_NONE && lstm_zeros(c, op, "zero_bias", 1, hv, &b[k]) < 0) return -1;
    if (cifg) { /* the input slot computes 1 - f (see above) */
        if (lstm_neg(c, op, "cifg_w", w[1], &w[0]) < 0 ||
            lstm_neg(c, op, "cifg_r", r[1], &r[0]) < 0 ||
            lstm_neg(c, op, "cifg_b", b[1], &b[0]) < 0 ||
            (peep && lstm_neg(c, op, "cifg_p", p[1], &p[0]) < 0))
            return -1;
    }

    /* W [1, 4H, I], R [1, 4H, H], B [1, 8H], P [1, 3H] in ONNX order */
    uint32_t W, R, Bias, P = SYNAP_NONE, t, zb;
    uint32_t wp[4] = {w[0], w[3], w[1], w[2]}, rp[4] = {r[0], r[3], r[1], r[2]};
    int64_t ws[3] = {1, 4 * H, I}, rs[3] = {1, 4 * H, H}, bs[2] = {1, 8 * H}, ps[2] = {1, 3 * H};
    if (lstm_concat(c, op, "w_iofc", wp, 4, &t) < 0 ||
        lstm_reshape(c, op, "W", t, ws, 3, SYNAP_NONE, &W) < 0 ||
        lstm_concat(c, op, "r_iofc", rp, 4, &t) < 0 ||
        lstm_reshape(c, op, "R", t, rs, 3, SYNAP_NONE, &R) < 0 ||
        lstm_zeros(c, op, "rb", 1, hv4, &zb) < 0)
        return -1;
    uint32_t bp[5] = {b[0], b[3], b[1], b[2], zb};
    if (lstm_concat(c, op, "b_iofc", bp, 5, &t) < 0 ||
        lstm_reshape(c, op, "B", t, bs, 2, SYNAP_NONE, &Bias) < 0)
        return -1;
    if (peep) {
        uint32_t pp[3] = {p[0], p[2], p[1]};
        if (lstm_concat(c, op, "p_iof", pp, 3, &t) < 0 ||
            lstm_reshape(c, op, "P", t, ps, 2, SYNAP_NONE, &P) < 0)
            return -1;
    }

    /* initial states [B, H] -> [1, B, H] (layout 0) or [B, 1, H] (layout 1) */
    int64_t ss[3] = {time_major ? 1 : B, time_major ? B : 1, H};
    uint32_t st[2];
    double c0max = 0;
    for (size_t k = 0; k < 2; k++) {
        uint32_t s;
        if (lstm_in(c, op, 18 + k, 2, B, H, &s) < 0) return -1;
        st[k] = SYNAP_NONE;
        if (s != SYNAP_NONE &&
            lstm_reshape(c, op, k ? "c0" : "h0", s, ss, 3, SYNAP_NONE, &st[k]) < 0)
            return -1;
        if (k == 1 && s != SYNAP_NONE) {
            const struct synap_tensor *cs = tfl_t(c, s);
            if (!cs->data) c0max = 1e300; /* not a constant: unbounded */
            for (int64_t i = 0; cs->data && i < B * H; i++) {
                double v = ((const float *)cs->data)[i];
                if (v < 0) v = -v;
                if (v > c0max) c0max = v;
            }
        }
    }

    const char *acts[3] = {"Sigmoid", act_name, act_name};
    int64_t layout = time_major ? 0 : 1, ta = time_major ? 0 : 1;
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    int64_t os[3] = {time_major ? S : B, time_major ? B : S, H};
    int unroll = cell_clip > 0 && c0max + (double)S > (double)cell_clip;
    if (!unroll) {
        uint32_t ins[8] = {x, W, R, Bias, SYNAP_NONE, st[0], st[1], P}, y = tfl_temp(c, op, "Y");
        size_t nd = tfl_node(c, op, NULL, SYNAP_OP_LSTM, ins, 8, y);
        if (lstm_attrs(c, nd, H, layout, cifg, acts) < 0) return -1;
        return lstm_reshape(c, op, "out", y, os, 3, out, &t);
    }
    if (act != TFL_ACT_TANH || peep || cell_clip < 8)
        return synap_errf(tfl_err(c),
                          "UNIDIRECTIONAL_SEQUENCE_LSTM: cell_clip %g that can engage is only "
                          "supported with tanh, no peepholes and a clip of at least 8",
                          (double)cell_clip);
    if (S > 255)
        return synap_errf(tfl_err(c),
                          "UNIDIRECTIONAL_SEQUENCE_LSTM: cell_clip with %lld time "
                          "steps (more than 255) is not supported",
                          (long long)S);
    /* one LSTM step per time step, its Y_h is the step's output */
    uint32_t steps[255], hs[255];
    for (int64_t s = 0; s < S; s++)
        steps[s] = tfl_temp(c, op, "x_step");
    size_t nd = tfl_node_n(c, op, "steps", SYNAP_OP_SPLIT, &x, 1, steps, (size_t)S);
    set_int(c, nd, "axis", ta);
    if (tfl_infer(c, nd) < 0) return -1;
    uint32_t h = st[0], cs = st[1];
    uint32_t lo = tfl_const_f32(c, op, "cell_min", -cell_clip);
    uint32_t hi = tfl_const_f32(c, op, "cell_max", cell_clip);
    for (int64_t s = 0; s < S; s++) {
        uint32_t ins[8] = {steps[s], W, R, Bias, SYNAP_NONE, h, cs, P};
        uint32_t outs[3] = {tfl_temp(c, op, "Y"), tfl_temp(c, op, "Y_h"), tfl_temp(c, op, "Y_c")};
        nd = tfl_node_n(c, op, "step", SYNAP_OP_LSTM, ins, 8, outs, 3);
        if (lstm_attrs(c, nd, H, layout, cifg, acts) < 0) return -1;
        hs[s] = h = outs[1];
        if (s + 1 < S) {
            uint32_t ci[3] = {outs[2], lo, hi};
            cs = tfl_temp(c, op, "c_clip");
            if (tfl_emit(c, op, "cell_clip", SYNAP_OP_CLIP, ci, 3, cs) < 0) return -1;
        }
    }
    if (S == 1) return lstm_reshape(c, op, "out", hs[0], os, 3, out, &t);
    nd = tfl_node(c, op, "out", SYNAP_OP_CONCAT, hs, (size_t)S, out);
    set_int(c, nd, "axis", ta);
    return tfl_infer(c, nd);
}

/* SVDF (builtin 27) -> the canonical SVDF (kernels/svdf.c). The state
 * (input 4) is a variable tensor: TFLite starts it at zero and keeps it
 * between invocations; here it is tfl_zero_state's constant, so one run of
 * the graph is TFLite's first invocation (as for LSTM).
 * Float: the fused activation follows as its own node. Integer (int8
 * input, int8/int16 state): TFLite applies no fused activation, only the
 * int8 clamp, so none is added. Hybrid models (float input, int8 weights)
 * get their weights dequantized (tfl_input) and run the float kernel;
 * asymmetric_quantize_inputs only concerns TFLite's hybrid arithmetic. */
enum { TFL_SVDF_RANK, TFL_SVDF_ACT, TFL_SVDF_ASYM_INPUTS };

static int op_svdf(struct tfl_ctx *c, const struct tfl_op *op)
{
    uint32_t ins[5], out, y;
    for (size_t k = 0; k < 3; k++)
        if (tfl_input_req(c, op, k, &ins[k]) < 0) return -1;
    if (tfl_input(c, op, 3, &ins[3]) < 0 || tfl_input(c, op, 4, &ins[4]) < 0) return -1;
    int32_t rank = opt_i32(c, op, TFL_SVDF_RANK, 0);
    int act = opt_i8(c, op, TFL_SVDF_ACT, TFL_ACT_NONE);
    if (rank < 1) return synap_errf(tfl_err(c), "SVDF: rank %d must be at least 1", (int)rank);
    const struct synap_tensor *xt = tfl_t(c, ins[0]);
    int quant = xt->quant && synap_dtype_is_int(xt->dtype);
    if (ins[4] == SYNAP_NONE) {
        const struct tfl_tensor *st = tfl_in_tensor(c, op, 4);
        if (st && st->rank != 2)
            return synap_errf(tfl_err(c), "input 4 (state): expected a [B, M * F] tensor");
        if (tfl_zero_state(c, op, 4, &ins[4]) < 0) return -1;
    }
    if (tfl_output(c, op, 0, &out) < 0) return -1;
    y = quant || act == TFL_ACT_NONE ? out : tfl_temp(c, op, "svdf");
    size_t nd = tfl_node(c, op, NULL, SYNAP_OP_SVDF, ins, 5, y);
    set_int(c, nd, "rank", rank);
    if (tfl_infer(c, nd) < 0) return -1;
    return quant ? 0 : finish(c, op, act, y, out);
}

/* ---- the tables -------------------------------------------------------------------- */

#define E(NAME, fn)                                                                                \
    {                                                                                              \
        TFL_OP_##NAME, fn                                                                          \
    }
const struct tfl_op_entry tfl_op_table[] = {
    E(ADD, op_add),
    E(AVERAGE_POOL_2D, pool2d),
    E(CONCATENATION, op_concatenation),
    E(CONV_2D, conv2d),
    E(DEPTHWISE_CONV_2D, depthwise_conv2d),
    E(DEPTH_TO_SPACE, op_depth_to_space),
    E(DEQUANTIZE, op_dequantize),
    E(FLOOR, op_floor),
    E(FULLY_CONNECTED, fully_connected),
    E(L2_NORMALIZATION, op_l2_normalization),
    E(L2_POOL_2D, pool2d),
    E(LOCAL_RESPONSE_NORMALIZATION, op_lrn),
    E(LOGISTIC, op_logistic),
    E(MAX_POOL_2D, pool2d),
    E(MUL, op_mul),
    E(RELU, op_relu),
    E(RELU_N1_TO_1, op_relu_n1_to_1),
    E(RELU6, op_relu6),
    E(RESHAPE, op_reshape),
    E(RESIZE_BILINEAR, op_resize_bilinear),
    E(SOFTMAX, op_softmax),
    E(SPACE_TO_DEPTH, op_space_to_depth),
    E(SVDF, op_svdf),
    E(TANH, op_tanh),
    E(PAD, op_pad),
    E(GATHER, op_gather),
    E(BATCH_TO_SPACE_ND, op_batch_to_space),
    E(SPACE_TO_BATCH_ND, op_space_to_batch),
    E(TRANSPOSE, op_transpose),
    E(MEAN, op_mean),
    E(SUB, op_sub),
    E(DIV, op_div),
    E(SQUEEZE, op_squeeze),
    E(UNIDIRECTIONAL_SEQUENCE_LSTM, op_unidirectional_lstm),
    E(STRIDED_SLICE, op_strided_slice),
    E(EXP, op_exp),
    E(SPLIT, op_split),
    E(LOG_SOFTMAX, op_log_softmax),
    E(CAST, op_cast),
    E(PRELU, op_prelu),
    E(MAXIMUM, op_maximum),
    E(ARG_MAX, op_arg_max),
    E(MINIMUM, op_minimum),
    E(LESS, op_less),
    E(NEG, op_neg),
    E(PADV2, op_pad),
    E(GREATER, op_greater),
    E(GREATER_EQUAL, op_greater_equal),
    E(LESS_EQUAL, op_less_equal),
    E(SELECT, op_select),
    E(SLICE, op_slice),
    E(SIN, op_sin),
    E(TRANSPOSE_CONV, transpose_conv),
    E(TILE, op_tile),
    E(EXPAND_DIMS, op_expand_dims),
    E(EQUAL, op_equal),
    E(NOT_EQUAL, op_not_equal),
    E(LOG, op_log),
    E(SUM, op_sum),
    E(SQRT, op_sqrt),
    E(RSQRT, op_rsqrt),
    E(SHAPE, op_shape),
    E(POW, op_pow),
    E(ARG_MIN, op_arg_min),
    E(REDUCE_PROD, op_reduce_prod),
    E(REDUCE_MAX, op_reduce_max),
    E(PACK, op_pack),
    E(LOGICAL_OR, op_logical_or),
    E(LOGICAL_AND, op_logical_and),
    E(LOGICAL_NOT, op_not),
    E(UNPACK, op_unpack),
    E(REDUCE_MIN, op_reduce_min),
    E(FLOOR_DIV, op_floor_div),
    E(SQUARE, op_square),
    E(FILL, op_fill),
    E(RESIZE_NEAREST_NEIGHBOR, op_resize_nearest),
    E(LEAKY_RELU, op_leaky_relu),
    E(SQUARED_DIFFERENCE, op_squared_difference),
    E(MIRROR_PAD, op_mirror_pad),
    E(ABS, op_abs),
    E(SPLIT_V, op_split_v),
    E(CEIL, op_ceil),
    E(ADD_N, op_add_n),
    E(GATHER_ND, op_gather_nd),
    E(COS, op_cos),
    E(ELU, op_elu),
    E(QUANTIZE, op_quantize),
    E(ROUND, op_round),
    E(HARD_SWISH, op_hard_swish),
    E(SELECT_V2, op_select),
    E(DENSIFY, op_densify),
    E(BATCH_MATMUL, op_batch_matmul),
    E(CUMSUM, op_cumsum),
    E(BROADCAST_TO, op_broadcast_to),
    E(RELU_0_TO_1, op_relu_0_to_1),
    E(SIGN, op_sign),
};
#undef E
const size_t tfl_op_table_len = sizeof tfl_op_table / sizeof *tfl_op_table;

const struct tfl_custom_entry tfl_custom_table[] = {
    {"Convolution2DTransposeBias", mp_transpose_conv_bias},
    {"TFLite_Detection_PostProcess", detection_postprocess},
};
const size_t tfl_custom_table_len = sizeof tfl_custom_table / sizeof *tfl_custom_table;

static int cmp_code(const void *key, const void *e)
{
    int32_t k = *(const int32_t *)key, v = ((const struct tfl_op_entry *)e)->code;
    return (k > v) - (k < v);
}

const struct tfl_op_entry *tfl_op_find(int32_t code)
{
    return bsearch(&code, tfl_op_table, tfl_op_table_len, sizeof *tfl_op_table, cmp_code);
}

static int cmp_name(const void *key, const void *e)
{
    return strcmp(key, ((const struct tfl_custom_entry *)e)->name);
}

const struct tfl_custom_entry *tfl_custom_find(const char *name)
{
    return name ? bsearch(name, tfl_custom_table, tfl_custom_table_len, sizeof *tfl_custom_table,
                          cmp_name)
                : NULL;
}

const char *tfl_builtin_name(int32_t code)
{
    static const char *const names[] = {
#define X(name, v) [v] = #name,
        TFL_BUILTINS(X)
#undef X
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof *names) return NULL;
    return names[code];
}
