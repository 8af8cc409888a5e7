/* The conversion metafile: every key, every rule's message, substitutions,
 * "not supported yet", and the per-stage fragments' exact bytes.
 * Data: tests/data/meta/ (SYNAP_TEST_DATA=tests/data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta/meta.h"
#include "util/yaml.h"

static char g_dir[4096]; /* tests/data/meta */

static void setup_dir(void)
{
    const char *d = getenv("SYNAP_TEST_DATA");
    if (!d) fail_msg("SYNAP_TEST_DATA is not set (tests/data of the source tree)");
    snprintf(g_dir, sizeof g_dir, "%s/meta", d);
}

static char *slurp(const char *name, size_t *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (fread(b, 1, (size_t)len, f) != (size_t)len) fail_msg("short read %s", path);
    b[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* parse text as "m.yaml" whose folder is tests/data/meta */
static struct synap_meta *parse(const char *text, struct synap_err *err)
{
    return synap_meta_parse(text, strlen(text), "m.yaml", g_dir, err);
}

static char *frag(const struct synap_meta *m, const char *stage)
{
    char *b = NULL;
    size_t n = 0;
    struct synap_err err = {0};
    if (synap_meta_fragment(m, stage, "VS680", "synap", &b, &n, &err))
        fail_msg("fragment %s: %s", stage, err.msg);
    assert_int_equal(strlen(b), n);
    return b;
}

static void test_full(void **state)
{
    (void)state;
    setup_dir();
    size_t n;
    char *text = slurp("full.yaml", &n);
    struct synap_err err = {0};
    struct synap_meta *m = synap_meta_parse(text, n, "m.yaml", g_dir, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(m->path, "m.yaml");
    assert_string_equal(m->dir, g_dir[0] == '/' ? g_dir : m->dir);

    /* top level */
    assert_string_equal(m->data_layout, "nchw");
    assert_string_equal(m->input_format, "rgb keep_proportions=0");
    assert_string_equal(m->output_format, "yolov5 landmarks=5");
    assert_true(m->has_dequantize_outputs);
    assert_true(m->dequantize_outputs); /* denormalize_outputs: true wins (OR) */
    assert_true(m->optimize);
    assert_null(m->delegate);
    assert_int_equal(m->ndelegate_map, 4);
    const char *pat[] = {"*", "Conv_12", "Conv_12...", "@7"}, *del[] = {"npu", "gpu", "cpu", "npu"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(m->delegate_map[i].pattern, pat[i]);
        assert_string_equal(m->delegate_map[i].value, del[i]);
        assert_string_equal(m->delegate_map[i].options, "");
        assert_int_equal(m->delegate_map[i].pos.line, 9 + (int)i);
        assert_int_equal(m->delegate_map[i].pos.col, 3);
    }
    assert_non_null(m->custom);
    assert_string_equal(synap_yaml_scalar(synap_yaml_get(m->custom, "author")), "synap tests");

    /* inputs */
    assert_int_equal(m->ninputs, 1);
    const struct synap_meta_input *in = &m->inputs[0];
    assert_string_equal(in->name, "input.1");
    assert_int_equal(in->rank, 4);
    const int64_t shape[] = {1, 3, 480, 640};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(in->shape[i], shape[i]);
    assert_int_equal(in->nmeans, 3);
    assert_true(in->means[0] == 123.675 && in->means[1] == 116.28 && in->means[2] == 103.53);
    assert_true(in->has_scale && in->scale == 58.4);
    assert_string_equal(in->format, "bgr fill_color=114");
    assert_string_equal(in->security, "secure");
    assert_true(in->preprocess.present);
    assert_string_equal(in->preprocess.type, "nv12");
    assert_true(in->preprocess.has_size);
    assert_int_equal(in->preprocess.size[0], 1080);
    assert_int_equal(in->preprocess.size[1], 1920);
    assert_true(in->preprocess.crop);
    assert_int_equal(in->preprocess.pos.line, 20);
    assert_string_equal(synap_yaml_scalar(synap_yaml_get(in->custom, "camera")), "front");
    assert_int_equal(in->pos.line, 14);
    assert_int_equal(in->pos.col, 5);

    /* outputs */
    assert_int_equal(m->noutputs, 2);
    const struct synap_meta_output *o = &m->outputs[0];
    assert_string_equal(o->name, "boxes");
    assert_int_equal(o->rank, 4);
    assert_int_equal(o->shape[1], 48);
    assert_true(o->has_dequantize && o->dequantize);
    /* ${FILE:anchors.txt}: the file's contents, trimmed */
    assert_string_equal(o->format, "yolov5 landmarks=5 transposed=1 "
                                   "anchors=[[10,13,16,30,33,23],[30,61,62,45,59,119],"
                                   "[116,90,156,198,373,326]]");
    assert_string_equal(o->security, "any");
    assert_int_equal(synap_yaml_len(o->custom), 3);
    assert_string_equal(m->outputs[1].name, "scores");
    assert_string_equal(m->outputs[1].format, "confidence_array class_index_base=-1");
    assert_null(m->outputs[1].security);
    assert_false(m->outputs[1].has_dequantize);
    assert_null(m->outputs[1].shape);

    /* quantization */
    const struct synap_meta_quant *q = &m->quant;
    assert_true(q->present && synap_meta_has_quantization(m));
    assert_int_equal(q->pos.line, 34);
    assert_null(q->data_type);
    assert_int_equal(q->ndata_type_map, 3);
    assert_string_equal(q->data_type_map[1].pattern, "INPUTS");
    assert_string_equal(q->data_type_map[1].value, "int16");
    assert_string_equal(q->data_type_map[2].pattern, "Conv_12...");
    assert_string_equal(q->data_type_map[2].value, "float16");
    assert_string_equal(q->scheme, "dynamic_fixed_point");
    assert_string_equal(q->mode, "full");
    assert_string_equal(q->algorithm, "kl_divergence");
    assert_string_equal(synap_yaml_scalar(synap_yaml_get(q->options, "kl_bins")), "2048");
    assert_int_equal(q->ndataset, 1);
    assert_string_equal(q->dataset[0].text, "calib/*.png");
    char want[4300];
    snprintf(want, sizeof want, "%s/calib/*.png", m->dir);
    assert_string_equal(q->dataset[0].path, want);
    assert_true(q->dataset[0].path[0] == '/');

    /* security: resolved against the metafile's folder */
    assert_true(m->security.present && m->security.secure);
    assert_null(m->security.file);
    snprintf(want, sizeof want, "%s/keys/encryption.key", m->dir);
    assert_string_equal(m->security.encryption_key, want);
    snprintf(want, sizeof want, "%s/keys/vendor.crt", m->dir);
    assert_string_equal(m->security.vendor_certificate, want);

    /* every unsupported key is reported, one line each, in a fixed order */
    assert_int_equal(synap_meta_check_supported(m, &err), -1);
    assert_string_equal(
        err.msg,
        "m.yaml:19:5: inputs[0].security: not supported yet (secure inputs arrive with the "
        "security stage)\n"
        "m.yaml:20:5: inputs[0].preprocess: not supported yet (preprocessing arrives with the "
        "preprocessing stage)\n"
        "m.yaml:27:5: outputs[0].shape: not supported yet (output shapes come from the model; "
        "nothing checks a given one yet)\n"
        "m.yaml:30:5: outputs[0].security: not supported yet (secure outputs arrive with the "
        "security stage)\n"
        "m.yaml:44:1: security: not supported yet (model encryption arrives with the security "
        "stage)");
    synap_meta_free(m);
    free(text);
}

static void test_full_fragments(void **state)
{
    (void)state;
    setup_dir();
    size_t n;
    char *text = slurp("full.yaml", &n);
    struct synap_err err = {0};
    struct synap_meta *m = synap_meta_parse(text, n, "m.yaml", g_dir, &err);
    if (!m) fail_msg("%s", err.msg);
    m->profiling = true;
    m->model = "/home/someone/models/yolo.onnx"; /* pack.json gets the file name only */
    char *f;
    assert_string_equal(f = frag(m, "import"), "{\"input_shapes\":{\"input.1\":[1,3,480,640]}}");
    free(f);
    assert_string_equal(f = frag(m, "prune"),
                        "{\"inputs\":[{\"name\":\"input.1\",\"shape\":[1,3,480,640]}],"
                        "\"outputs\":[\"boxes\",\"scores\"]}");
    free(f);
    assert_string_equal(f = frag(m, "partition"),
                        "{\"delegate\":[[\"*\",\"npu\"],[\"Conv_12\",\"gpu\"],[\"Conv_12...\","
                        "\"cpu\"],[\"@7\",\"npu\"]],\"target\":\"VS680\"}");
    free(f);
    assert_string_equal(f = frag(m, "codegen"), "{\"target\":\"VS680\"}");
    free(f);
    assert_string_equal(
        f = frag(m, "pack"),
        "{\"data_layout\":\"nchw\",\"dequantize_outputs\":true,\"input_format\":\"rgb "
        "keep_proportions=0\",\"inputs\":[{\"format\":\"bgr fill_color=114\",\"means\":"
        "[123.675,116.28,103.53],\"name\":\"input.1\",\"scale\":58.4,"
        "\"security\":\"secure\"}],\"model\":\"yolo.onnx\",\"out_format\":\"synap\",\"output_"
        "format\":\"yolov5 "
        "landmarks=5\",\"outputs\":[{\"dequantize\":true,\"format\":\"yolov5 landmarks=5 "
        "transposed=1 anchors=[[10,13,16,30,33,23],[30,61,62,45,59,119],[116,90,156,198,373,"
        "326]]\",\"name\":\"boxes\",\"security\":\"any\"},{\"format\":\"confidence_array "
        "class_index_base=-1\",\"name\":\"scores\"}],\"profiling\":true,\"target\":"
        "\"VS680\"}");
    free(f);
    /* calib: absolute globs and what turns an image into an input, no types */
    char want[4400];
    snprintf(want, sizeof want,
             "{\"base_dir\":\"%s\",\"data_layout\":\"nchw\",\"dataset\":[\"%s/calib/*.png\"],"
             "\"inputs\":[{\"format\":\"bgr fill_color=114\",\"means\":[123.675,116.28,103.53],"
             "\"name\":\"input.1\",\"scale\":58.4}]}",
             m->dir, m->dir);
    assert_string_equal(f = frag(m, "calib"), want);
    free(f);
    /* quant: the map as ordered pairs, options typed, dequantize per output */
    assert_string_equal(
        f = frag(m, "quant"),
        "{\"algorithm\":\"kl_divergence\",\"data_type\":[[\"*\",\"int8\"],[\"INPUTS\",\"int16\"],"
        "[\"Conv_12...\",\"float16\"]],\"dequantize_outputs\":true,\"mode\":\"full\","
        "\"options\":{\"kl_bins\":2048,\"percentile\":99.9},\"outputs\":[{\"dequantize\":true},"
        "{}],\"scheme\":\"dynamic_fixed_point\"}");
    free(f);
    /* the stage name and target are checked */
    char *b = NULL;
    size_t bn;
    assert_int_equal(synap_meta_fragment(m, "preproc", "VS680", NULL, &b, &bn, &err), -1);
    assert_string_equal(err.msg, "no metafile fragment for stage 'preproc'");
    assert_int_equal(synap_meta_fragment(m, "pack", "VS680", "tflite", &b, &bn, &err), -1);
    assert_string_equal(err.msg, "--out-format: invalid value 'tflite'; valid values: synap, nb");
    assert_int_equal(synap_meta_fragment(m, "codegen", NULL, NULL, &b, &bn, &err), -1);
    assert_string_equal(err.msg, "the codegen fragment needs a target");
    synap_meta_free(m);
    free(text);
}

static void test_defaults(void **state)
{
    (void)state;
    struct synap_err err = {0};
    struct synap_meta *m = synap_meta_load(NULL, &err);
    assert_non_null(m);
    assert_string_equal(m->path, "");
    assert_int_equal(m->ninputs, 0);
    assert_int_equal(m->noutputs, 0);
    assert_false(m->quant.present);
    assert_string_equal(m->data_layout, "default");
    assert_true(m->optimize);
    assert_int_equal(synap_meta_check_supported(m, &err), 0);
    char *f;
    assert_string_equal(f = frag(m, "import"), "{}");
    free(f);
    assert_string_equal(f = frag(m, "prune"), "{}");
    free(f);
    assert_string_equal(f = frag(m, "partition"),
                        "{\"delegate\":\"default\",\"target\":\"VS680\"}");
    free(f);
    assert_string_equal(f = frag(m, "codegen"), "{\"target\":\"VS680\"}");
    free(f);
    assert_string_equal(f = frag(m, "pack"),
                        "{\"out_format\":\"synap\",\"profiling\":false,\"target\":\"VS680\"}");
    free(f);
    /* no quantization section: no calib or quant fragment */
    char *b = NULL;
    size_t bn;
    assert_int_equal(synap_meta_fragment(m, "quant", "VS680", NULL, &b, &bn, &err), -1);
    assert_string_equal(err.msg, "no quant fragment: the metafile has no quantization section");
    synap_meta_free(m);
    /* an empty file and a comment-only file are the defaults too */
    m = parse("# nothing\n", &err);
    assert_non_null(m);
    assert_int_equal(synap_meta_check_supported(m, &err), 0);
    synap_meta_free(m);
}

static void test_real_metafiles(void **state)
{
    (void)state;
    setup_dir();
    char path[4200];
    struct synap_err err = {0};

    snprintf(path, sizeof path, "%s/yolov5_face.yaml", g_dir);
    struct synap_meta *m = synap_meta_load(path, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_int_equal(synap_meta_check_supported(m, &err), 0); /* float: runs today */
    assert_int_equal(m->inputs[0].nmeans, 1);
    assert_true(m->inputs[0].means[0] == 0 && m->inputs[0].scale == 255);
    char *f = frag(m, "partition");
    assert_string_equal(f, "{\"delegate\":[[\"*\",\"npu\"],[\"Concat_200\",\"cpu\"],"
                           "[\"Concat_200...\",\"cpu\"]],\"target\":\"VS680\"}");
    free(f);
    synap_meta_free(m);

    snprintf(path, sizeof path, "%s/heterogeneous.yaml", g_dir);
    m = synap_meta_load(path, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_int_equal(synap_meta_check_supported(m, &err), 0);
    assert_string_equal(f = frag(m, "prune"),
                        "{\"inputs\":[{\"name\":\"MobilenetV2/expanded_conv_1/expand/Relu6\","
                        "\"shape\":[1,112,112,96]}],\"outputs\":["
                        "\"MobilenetV2/expanded_conv_3/expand/Relu6\"]}");
    free(f);
    synap_meta_free(m);

    snprintf(path, sizeof path, "%s/mobilenet_v2.yaml", g_dir);
    m = synap_meta_load(path, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(m->quant.data_type, "uint8");
    assert_string_equal(m->quant.scheme, "default");
    assert_int_equal(synap_meta_check_supported(m, &err), 0); /* quantization runs now */
    char want[4400];
    assert_string_equal(f = frag(m, "quant"), "{\"algorithm\":\"standard\",\"data_type\":"
                                              "\"uint8\",\"mode\":\"standard\",\"scheme\":"
                                              "\"default\"}");
    free(f);
    /* the glob resolved against the metafile's folder, as written (no ..
       folding); means/scale/format of the positional input */
    snprintf(want, sizeof want,
             "{\"base_dir\":\"%s\",\"dataset\":[\"%s/../../../examples/digits/*.png\"],"
             "\"inputs\":[{\"format\":\"rgb\",\"means\":[127.5,127.5,127.5],\"scale\":127.5}]}",
             m->dir, m->dir);
    assert_string_equal(f = frag(m, "calib"), want);
    free(f);
    synap_meta_free(m);

    /* security keys from a separate file, resolved against that file */
    snprintf(path, sizeof path, "%s/security_file.yaml", g_dir);
    m = synap_meta_load(path, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(m->security.file, "sec/sec.yaml");
    snprintf(want, sizeof want, "%s/sec/signature.key", g_dir);
    assert_non_null(strstr(m->security.signature_key, "/sec/signature.key"));
    synap_meta_free(m);

    assert_null(synap_meta_load("/nonexistent/m.yaml", &err));
    assert_string_equal(err.msg, "/nonexistent/m.yaml: metafile not found");
}

struct bad {
    const char *text, *msg;
};

static void test_errors(void **state)
{
    (void)state;
    setup_dir();
    static const struct bad cases[] = {
        {"inputs:\n  - name: x\n    shape: [1, 3]\n    scal: 2\n",
         "m.yaml:4:5: unknown key 'scal' in inputs[0]; valid keys: name, shape, means, scale, "
         "format, security, preprocess, custom"},
        {"inputz: []\n",
         "m.yaml:1:1: unknown key 'inputz' at the top level; valid keys: inputs, outputs, "
         "quantization, delegate, data_layout, input_format, output_format, dequantize_outputs, "
         "denormalize_outputs, security, optimize, custom"},
        {"outputs:\n  - dequantise: true\n",
         "m.yaml:2:5: unknown key 'dequantise' in outputs[0]; valid keys: name, shape, "
         "dequantize, format, security, custom"},
        {"quantization:\n  schema: default\n",
         "m.yaml:2:3: unknown key 'schema' in quantization; valid keys: data_type, scheme, mode, "
         "algorithm, options, dataset"},
        {"security:\n  secur: true\n",
         "m.yaml:2:3: unknown key 'secur' in security; valid keys: secure, file, encryption_key, "
         "signature_key, model_certificate, vendor_certificate"},
        {"inputs:\n  - preprocess: {type: rgb, resize: 1}\n",
         "m.yaml:2:29: unknown key 'resize' in inputs[0].preprocess; valid keys: type, size, crop"},
        {"inputs:\n  - name: x\n",
         "m.yaml:2:5: missing key 'shape' in inputs[0] ('name' and 'shape' go together)"},
        {"inputs:\n  - shape: [1, 3]\n",
         "m.yaml:2:5: missing key 'name' in inputs[0] ('name' and 'shape' go together)"},
        {"inputs:\n  - preprocess: {size: [10, 10]}\n",
         "m.yaml:2:17: missing key 'type' in inputs[0].preprocess"},
        {"quantization:\n  data_type: int8\n",
         "m.yaml:2:3: missing key 'dataset' in quantization (one glob per input, or random; "
         "remove the section for a float model)"},
        {"security:\n  encryption_key: keys/encryption.key\n",
         "m.yaml:2:3: missing key 'signature_key' in security"},
        {"outputs:\n  - name: a\n  - format: yolov8\n",
         "m.yaml:3:5: missing key 'name' in outputs[1] (either every output has a name or none)"},
        {"outputs:\n  - name: a\n  - name: a\n",
         "m.yaml:3:5: outputs[1]: name 'a' is already used by outputs[0]"},
        {"optimize: true\noptimize: false\n", "m.yaml:2:1: duplicate key 'optimize'"},
        {"inputs: {name: x}\n", "m.yaml:1:9: inputs: expected a list, got a map"},
        {"inputs:\n  - [1]\n", "m.yaml:2:5: inputs[0]: expected a map, got a list"},
        {"- a\n", "m.yaml:1:1: expected a map of metafile keys, got a list"},
        {"optimize: maybe\n", "m.yaml:1:11: optimize: expected true or false, got 'maybe'"},
        {"inputs:\n  - scale: 0\n", "m.yaml:2:12: inputs[0].scale: must not be 0"},
        {"inputs:\n  - scale: abc\n", "m.yaml:2:12: inputs[0].scale: expected a number, got 'abc'"},
        {"inputs:\n  - means: {r: 1}\n",
         "m.yaml:2:12: inputs[0].means: expected a number or a list of numbers, got a map"},
        {"inputs:\n  - name: x\n    shape: [1, 3, 8, 8]\n    means: [1, 2]\n",
         "m.yaml:4:12: inputs[0].means: 2 values; expected 1 or one per channel (3 (nchw) or 8 "
         "(nhwc))"},
        {"data_layout: nhwc\ninputs:\n  - name: x\n    shape: [1, 3, 8, 8]\n    means: [1, 2, 3]\n",
         "m.yaml:5:12: inputs[0].means: 3 values; expected 1 or one per channel (8)"},
        {"inputs:\n  - name: x\n    shape: [1, a]\n",
         "m.yaml:3:16: inputs[0].shape: expected an integer, got 'a'"},
        {"inputs:\n  - name: x\n    shape: [3]\n",
         "m.yaml:3:12: inputs[0].shape: expected at least 2 dimensions, got 1 (the batch "
         "dimension comes first)"},
        {"inputs:\n  - name: x\n    shape: [1, 0]\n",
         "m.yaml:3:16: inputs[0].shape: dimension 1 must be positive, got 0"},
        {"data_layout: nwhc\n",
         "m.yaml:1:14: data_layout: invalid value 'nwhc'; valid values: default, nchw, nhwc"},
        {"quantization:\n  data_type: uint8\n  scheme: dynamic_fixed_point\n  dataset: random\n",
         "m.yaml:3:11: quantization.scheme: dynamic_fixed_point is for int8 and int16 only "
         "(data_type is uint8)"},
        {"quantization:\n  data_type: int16\n  scheme: perchannel_symmetric_affine\n  dataset: "
         "random\n",
         "m.yaml:3:11: quantization.scheme: perchannel_symmetric_affine is for int8 only "
         "(data_type is int16)"},
        {"quantization:\n  data_type: {'*': int16}\n  scheme: asymmetric_affine\n  dataset: "
         "random\n",
         "m.yaml:3:11: quantization.scheme: asymmetric_affine is for 8-bit types only (data_type "
         "maps '*' to int16)"},
        {"quantization:\n  data_type: {'*': uint8, conv1: int8}\n  dataset: random\n",
         "m.yaml:2:34: quantization.data_type: uint8 and int8 may not be mixed ('*': uint8, "
         "'conv1': int8)"},
        {"quantization:\n  data_type: float16\n  dataset: random\n",
         "m.yaml:2:14: quantization.data_type: float16 is only allowed inside a map of layer "
         "patterns"},
        {"quantization:\n  data_type: int4\n  dataset: random\n",
         "m.yaml:2:14: quantization.data_type: invalid value 'int4'; valid values: uint8, int8, "
         "int16, float16"},
        {"quantization:\n  algorithm: minmax\n  dataset: random\n",
         "m.yaml:2:14: quantization.algorithm: invalid value 'minmax'; valid values: standard, "
         "kl_divergence, moving_average, auto, percentile, mse"},
        {"quantization:\n  mode: fast\n  dataset: random\n",
         "m.yaml:2:9: quantization.mode: invalid value 'fast'; valid values: standard, full"},
        {"quantization:\n  options: [1]\n  dataset: random\n",
         "m.yaml:2:12: quantization.options: expected a map, got a list"},
        {"quantization:\n  data_type: {'@x': int8}\n  dataset: random\n",
         "m.yaml:2:15: quantization.data_type: bad layer pattern '@x': '@' takes a layer id "
         "(digits)"},
        {"inputs:\n  - scale: 1\nquantization:\n  dataset: [a/*.png, b/*.png]\n",
         "m.yaml:4:12: quantization.dataset: 2 globs for 1 input (one per input)"},
        {"outputs:\n  - format: yolov6 landmarks=5\n",
         "m.yaml:2:13: outputs[0].format: unknown output format 'yolov6'; valid formats: "
         "confidence_array, retinanet_boxes, tflite_detection_boxes, tflite_detection_input, "
         "per_class_confidence, tflite_detection, yolov5, yolov8"},
        {"outputs:\n  - format: yolov5 transposed=2\n",
         "m.yaml:2:13: outputs[0].format: transposed must be 0 or 1, got '2'"},
        {"outputs:\n  - format: yolov5 landmarks\n",
         "m.yaml:2:13: outputs[0].format: expected key=value, got 'landmarks'"},
        {"outputs:\n  - format: \"yolov5 anchors=[[1,2]\"\n",
         "m.yaml:2:13: outputs[0].format: malformed format string 'yolov5 anchors=[[1,2]'"},
        {"output_format: tflite_detection_boxes x_scale=ten\n",
         "m.yaml:1:16: output_format: x_scale must be a number, got 'ten'"},
        {"inputs:\n  - format: rgb keep_proportions=yes\n",
         "m.yaml:2:13: inputs[0].format: keep_proportions must be 0 or 1, got 'yes'"},
        {"inputs:\n  - format: nv12\n",
         "m.yaml:2:13: inputs[0].format: unknown input format 'nv12'; valid formats: rgb, bgr"},
        {"input_format: rgb fill_colour=3\n",
         "m.yaml:1:15: input_format: unknown input format key 'fill_colour'; valid keys: "
         "keep_proportions, fill_color"},
        {"delegate: tpu\n",
         "m.yaml:1:11: delegate: invalid delegate 'tpu'; valid delegates: npu, gpu, cpu, default"},
        {"delegate:\n  INPUTS: cpu\n",
         "m.yaml:2:3: delegate: the INPUTS pattern is only valid in quantization data_type"},
        {"delegate:\n  '@x1': cpu\n",
         "m.yaml:2:3: delegate: bad layer pattern '@x1': '@' takes a layer id (digits)"},
        {"delegate:\n  '...': cpu\n",
         "m.yaml:2:3: delegate: bad layer pattern '...': a layer name comes before '...'"},
        {"delegate:\n  '': cpu\n", "m.yaml:2:3: delegate: empty layer pattern"},
        {"delegate: {}\n", "m.yaml:1:11: delegate: empty map"},
        {"inputs:\n  - preprocess: {type: yuv}\n",
         "m.yaml:2:24: inputs[0].preprocess.type: invalid value 'yuv'; valid values: yuv444, "
         "yuv420, nv12, nv21, gray, rgb, bgra, rgb888p, rgb888p3, float32 (\"\" or none "
         "disables)"},
        {"inputs:\n  - preprocess: {type: nv12, size: [10]}\n",
         "m.yaml:2:36: inputs[0].preprocess.size: expected at least 2 dimensions, got 1"},
        {"inputs:\n  - preprocess: {type: float32, size: [10, 10]}\n",
         "m.yaml:2:39: inputs[0].preprocess.size: float32 preprocessing takes no size"},
        {"inputs:\n  - scale: 2\n    preprocess: {type: float32}\n",
         "m.yaml:3:24: inputs[0].preprocess: float32 takes no means or scale"},
        {"inputs:\n  - name: x\n    shape: [1, 3, 8, 8]\n    preprocess: {type: gray}\n",
         "m.yaml:4:24: inputs[0].preprocess: gray needs a tensor with 1 channel"},
        {"inputs:\n  - preprocess: {type: nv12, crop: 5}\n",
         "m.yaml:2:36: inputs[0].preprocess.crop: expected true or false, got '5'"},
        {"inputs:\n  - security: maybe\n",
         "m.yaml:2:15: inputs[0].security: invalid value 'maybe'; valid values: any, secure, "
         "non-secure"},
        {"security:\n  file: sec/sec.yaml\n  encryption_key: k\n",
         "m.yaml:3:3: security: 'encryption_key' and 'file' exclude each other"},
        {"security:\n  file: nope.yaml\n", NULL}, /* message holds the absolute path: below */
        {"security:\n  secure: true\n  encryption_key: keys/nope.key\n  signature_key: "
         "keys/signature.key\n  model_certificate: keys/model.crt\n  vendor_certificate: "
         "keys/vendor.crt\n",
         "m.yaml:3:19: security.encryption_key: file not found: keys/nope.key"},
        {"inputs:\n  - name: ${ENV:SYNAP_TEST_UNSET_VAR}\n",
         "m.yaml:2:11: environment variable SYNAP_TEST_UNSET_VAR is not set "
         "(${ENV:SYNAP_TEST_UNSET_VAR})"},
        {"custom: 1\noptimize: ${ENV:BAD-NAME}\n",
         "m.yaml:2:11: bad environment variable name 'BAD-NAME'"},
        {"optimize: ${ENV:OPEN\n", "m.yaml:1:11: unterminated ${ENV:...}"},
        {"outputs:\n  - name: ''\n", "m.yaml:2:11: outputs[0].name: empty name"},
        {"custom: {a: 1, a: 2}\n", "m.yaml:1:16: custom: duplicate key 'a'"},
        {"outputs:\n  - custom: {[1]: 2}\n",
         "m.yaml:2:14: outputs[0].custom: keys must be plain names, got a list"},
        {"quantization:\n  options: {a: {b: {c: "
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}\n"
         "  dataset: random\n",
         "m.yaml:2:54: quantization.options: nested deeper than 32 levels"},
        {"outputs:\n  - name: [a]\n",
         "m.yaml:2:11: outputs[0].name: expected a string, got a list"},
    };
    unsetenv("SYNAP_TEST_UNSET_VAR");
    int nfail = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct synap_err err = {0};
        struct synap_meta *m = parse(cases[i].text, &err);
        if (m) fail_msg("case %zu parsed: %s", i, cases[i].text);
        if (cases[i].msg && strcmp(err.msg, cases[i].msg)) {
            print_error("case %zu:\n got  %s\n want %s\n", i, err.msg, cases[i].msg);
            nfail++;
        }
        assert_int_equal(err.code, SYNAP_EINPUT);
    }
    assert_int_equal(nfail, 0);
    /* broken YAML: libyaml's message with the position */
    struct synap_err err = {0};
    assert_null(parse("inputs: [\n", &err));
    assert_int_equal(strncmp(err.msg, "m.yaml:", 7), 0);
    assert_non_null(strstr(err.msg, "invalid YAML"));
    assert_null(parse("security:\n  file: nope.yaml\n", &err));
    char want[4400];
    snprintf(want, sizeof want, "m.yaml:2:9: security.file: cannot read %s/nope.yaml", g_dir);
    assert_string_equal(err.msg, want);
    /* damaged security file: its own name and positions */
    assert_null(parse("security:\n  file: keys/encryption.key\n", &err));
    assert_string_equal(err.msg,
                        "keys/encryption.key:1:1: expected a map of the four security keys");
}

static void test_env_and_file(void **state)
{
    (void)state;
    setup_dir();
    struct synap_err err = {0};
    setenv("SYNAP_TEST_IN", "images", 1);
    setenv("SYNAP_TEST_FMT", "bgr", 1);
    struct synap_meta *m = parse("inputs:\n  - name: ${ENV:SYNAP_TEST_IN}_0\n    shape: [1, 3, 2, "
                                 "2]\n    format: ${ENV:SYNAP_TEST_FMT} keep_proportions=1\n",
                                 &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(m->inputs[0].name, "images_0");
    assert_string_equal(m->inputs[0].format, "bgr keep_proportions=1");
    synap_meta_free(m);
    /* ${ENV:} everywhere, even in keys */
    setenv("SYNAP_TEST_KEY", "optimize", 1);
    m = parse("${ENV:SYNAP_TEST_KEY}: false\n", &err);
    assert_non_null(m);
    assert_false(m->optimize);
    assert_int_equal(synap_meta_check_supported(m, &err), -1);
    assert_string_equal(
        err.msg, "m.yaml:1:1: optimize: false is not supported yet (codegen always optimizes)");
    char *f = frag(m, "codegen");
    assert_string_equal(f, "{\"optimize\":false,\"target\":\"VS680\"}");
    free(f);
    synap_meta_free(m);

    /* ${FILE:} only in format strings; relative to the metafile's folder; trimmed */
    m = parse("output_format: yolov5 anchors=${FILE:anchors.txt}\noutputs:\n  - name: "
              "'${FILE:anchors.txt}'\n",
              &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(m->output_format, "yolov5 anchors=[[10,13,16,30,33,23],[30,61,62,45,59,"
                                          "119],[116,90,156,198,373,326]]");
    assert_string_equal(m->outputs[0].name, "${FILE:anchors.txt}"); /* not a format string */
    synap_meta_free(m);
    assert_null(parse("outputs:\n  - format: ${FILE:nope.txt}\n", &err));
    char want[4400];
    snprintf(want, sizeof want,
             "m.yaml:2:13: outputs[0].format: ${FILE:nope.txt}: cannot read %s/nope.txt", g_dir);
    assert_string_equal(err.msg, want);
    assert_null(parse("outputs:\n  - format: yolov5 ${FILE:anchors.txt\n", &err));
    assert_string_equal(err.msg, "m.yaml:2:13: outputs[0].format: unterminated ${FILE:...}");
    /* the file's contents are validated like the rest of the string */
    assert_null(parse("outputs:\n  - format: ${FILE:keys/model.crt}\n", &err));
    assert_string_equal(err.msg, "m.yaml:2:13: outputs[0].format: unknown output format 'dummy'; "
                                 "valid formats: confidence_array, retinanet_boxes, "
                                 "tflite_detection_boxes, tflite_detection_input, "
                                 "per_class_confidence, tflite_detection, yolov5, yolov8");
}

static void test_supported_cases(void **state)
{
    (void)state;
    setup_dir();
    struct synap_err err = {0};
    /* defaults written explicitly and disabled features are not "used" */
    struct synap_meta *m =
        parse("inputs:\n  - security: any\n    preprocess: {type: none}\noutputs:\n  - dequantize: "
              "false\n    security: secure-if-input-secure\ndequantize_outputs: no\nsecurity:\n  "
              "secure: false\noptimize: true\ndelegate: ''\n",
              &err);
    if (!m) fail_msg("%s", err.msg);
    assert_int_equal(synap_meta_check_supported(m, &err), 0);
    assert_string_equal(m->delegate, "default");
    synap_meta_free(m);
    m = parse("delegate: npu layers=3\n", &err);
    assert_non_null(m);
    assert_string_equal(m->delegate, "npu");
    assert_string_equal(m->delegate_options, "layers=3");
    assert_int_equal(synap_meta_check_supported(m, &err), -1);
    assert_string_equal(err.msg, "m.yaml:1:1: delegate: options 'layers=3' not supported yet (no "
                                 "delegate takes options)");
    char *f = frag(m, "partition");
    assert_string_equal(f, "{\"delegate\":\"npu\",\"target\":\"VS680\"}");
    free(f);
    synap_meta_free(m);
}

/* Editing one key changes only the fragments of the stages that use it. */
static void test_fragment_isolation(void **state)
{
    (void)state;
    setup_dir();
    static const char *const stages[] = {"import", "prune", "partition", "codegen", "pack"};
    const char *base = "inputs:\n  - name: x\n    shape: [1, 3, 8, 8]\n    means: 0\n    "
                       "format: rgb\noutputs:\n  - name: y\n    format: confidence_array\n"
                       "delegate: npu\n";
    struct {
        const char *from, *to;
        const char *changed; /* one char per stage: 1 = differs */
    } edits[] = {
        {"format: confidence_array", "format: confidence_array class_index_base=-1", "00001"},
        {"delegate: npu", "delegate: {'*': npu, x: cpu}", "00100"},
        {"shape: [1, 3, 8, 8]", "shape: [1, 3, 16, 16]", "11000"},
        {"means: 0", "means: 1", "00001"},
        {"format: rgb", "format: bgr", "00001"},
        {"name: y", "name: z", "01001"},
        {"delegate: npu", "delegate: npu\ndata_layout: nchw", "00001"},
        {"delegate: npu", "delegate: npu\n# a comment only", "00000"},
    };
    struct synap_err err = {0};
    struct synap_meta *m0 = parse(base, &err);
    if (!m0) fail_msg("%s", err.msg);
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        const char *at = strstr(base, edits[e].from);
        assert_non_null(at);
        char text[1024];
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base), base, edits[e].to,
                 at + strlen(edits[e].from));
        struct synap_meta *m1 = parse(text, &err);
        if (!m1) fail_msg("edit %zu: %s", e, err.msg);
        for (size_t s = 0; s < 5; s++) {
            char *a = frag(m0, stages[s]), *b = frag(m1, stages[s]);
            int differs = strcmp(a, b) != 0;
            if (differs != (edits[e].changed[s] == '1'))
                fail_msg("edit %zu (%s): stage %s %s", e, edits[e].to, stages[s],
                         differs ? "changed" : "did not change");
            free(a);
            free(b);
        }
        synap_meta_free(m1);
    }
    /* the same metafile gives the same bytes; target/out_format reach only their stages */
    char *a, *b;
    size_t na, nb;
    assert_int_equal(synap_meta_fragment(m0, "pack", "VS680", "nb", &a, &na, &err), 0);
    assert_int_equal(synap_meta_fragment(m0, "pack", "VS680", "synap", &b, &nb, &err), 0);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(synap_meta_fragment(m0, "prune", "VS680", "nb", &a, &na, &err), 0);
    assert_int_equal(synap_meta_fragment(m0, "prune", "SL1680", "synap", &b, &nb, &err), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* The model's file name reaches pack alone; its folder reaches nothing
     * (outputs stay the same on every machine). */
    static const char *const models[][2] = {
        {"/a/digits.onnx", "/b/c/digits.onnx"}, /* same name, other folder */
        {"digits.onnx", "../x/digits.onnx"},
        {"/a/digits.onnx", "/a/digits2.onnx"}, /* another name */
        {NULL, "digits.onnx"},
    };
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        for (size_t s = 0; s < 5; s++) {
            m0->model = models[k][0];
            a = frag(m0, stages[s]);
            m0->model = models[k][1];
            b = frag(m0, stages[s]);
            int differs = strcmp(a, b) != 0;
            int want = k >= 2 && s == 4;
            if (differs != want)
                fail_msg("model %s -> %s: stage %s %s", models[k][0] ? models[k][0] : "(none)",
                         models[k][1], stages[s], differs ? "changed" : "did not change");
            free(a);
            free(b);
        }
    }
    m0->model = "../x/digits.onnx";
    assert_non_null(strstr(a = frag(m0, "pack"), ",\"model\":\"digits.onnx\","));
    free(a);
    m0->model = NULL;
    assert_null(strstr(a = frag(m0, "pack"), "\"model\""));
    free(a);
    synap_meta_free(m0);
}

/* Every prefix of a real metafile either parses or fails with a message:
 * never a crash (run under ASan/UBSan in CI). */
static void test_prefixes(void **state)
{
    (void)state;
    setup_dir();
    size_t n;
    char *text = slurp("full.yaml", &n);
    for (size_t k = 0; k <= n; k++) {
        struct synap_err err = {0};
        struct synap_meta *m = synap_meta_parse(text, k, "m.yaml", g_dir, &err);
        if (!m) {
            assert_true(strncmp(err.msg, "m.yaml", 6) == 0);
            continue;
        }
        (void)synap_meta_check_supported(m, &err);
        static const char *const st[] = {"import", "prune", "partition", "codegen", "pack"};
        for (size_t s = 0; s < 5; s++)
            free(frag(m, st[s]));
        synap_meta_free(m);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_full_fragments),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_real_metafiles),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_env_and_file),
        cmocka_unit_test(test_supported_cases),
        cmocka_unit_test(test_fragment_isolation),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
