#!/usr/bin/env bash
# synap convert with TFLite models from ../shared (skipped when absent): a float
# model and a pre-quantized uint8 model convert for VS680; model.synap run by
# synap-run gives the imported model's outputs bit for bit; model.json and
# model_info.txt say nhwc, and the quantized input gets means/scale from its
# zero point and scale. The SSD with TFLite_Detection_PostProcess converts
# whole (the op on the cpu delegate) and cut before it, with ${ANCHORS} filled.
. "$(dirname "$0")/lib.sh"

fl=models/tflite/tflm_hello_world_float/hello_world_float.tflite
mq=models/tflite/mobilenet_v1_0.25_128_quant
ssd=models/tflite/ssd_mobilenet_v1_0.75_pets_quant_postprocess
need_shared "$fl" "$mq/mobilenet_v1_0.25_128_quant.tflite" \
  "$ssd/ssd_mobilenet_v1_0.75_pets_quant_postprocess.tflite"

same_outputs() { # NAME MODEL.synap IMPORTED.ir INPUT NOUT
  local k
  "$TOOLS/synap-run" "$2" "$4" --out-dir "$W/a" -q >/dev/null 2>"$W/run.err" ||
    bad "$1: synap-run $2: $(cat "$W/run.err")"
  "$TOOLS/synap-run" "$3" "$4" --out-dir "$W/b" -q >/dev/null 2>"$W/run.err" ||
    bad "$1: synap-run $3: $(cat "$W/run.err")"
  for k in $(seq 0 $(($5 - 1))); do
    same_file "$1: output $k" "$W/a/output_$k.npy" "$W/b/output_$k.npy"
  done
}

# ---- float: nhwc, no quantization
D=$W/float
convert_ok "float: convert" --model "$SHARED/$fl" --target VS680 --out-dir "$D"
"$TOOLS/synap-import" "$SHARED/$fl" -o "$W/float.ir"
same_outputs "float" "$D/model.synap" "$W/float.ir" random 1
grep -q "^layout: nhwc$" "$D/model_info.txt" && ok "float: layout nhwc" || bad "float: layout"

# ---- pre-quantized uint8: integer kernels, means/scale from the input's parameters
D=$W/quant
m=$SHARED/$mq/mobilenet_v1_0.25_128_quant.tflite
convert_ok "quant: convert" --model "$m" --target VS680 --out-dir "$D"
"$TOOLS/synap-import" "$m" -o "$W/quant.ir"
same_outputs "quant" "$D/model.synap" "$W/quant.ir" "$SHARED/$mq/ref/cat/input_0.npy" 1
info=$(sed -n '/^inputs/,/^outputs/p' "$D/model_info.txt")
check_eq "quant: input type" "$(printf '%s\n' "$info" | grep '^type:')" "type: uint8"
check_eq "quant: means" "$(printf '%s\n' "$info" | grep '^means:')" "means: [128]"
check_eq "quant: scale" "$(printf '%s\n' "$info" | grep '^scale:')" "scale: 128"
check_eq "quant: layout" "$(printf '%s\n' "$info" | grep '^layout:')" "layout: nhwc"
check_eq "quant: quantization" "$(printf '%s\n' "$info" | grep '^quantization:')" \
  "quantization: {scheme: asymmetric_affine, scale: 0.0078125, zero_point: 128}"
# the metafile's means/scale win over the inferred ones
printf 'inputs:\n  - means: [127.5]\n    scale: 127.5\n' >"$W/ms.yaml"
convert_ok "quant: convert with means" --model "$m" --target VS680 --out-dir "$W/ms" --meta "$W/ms.yaml"
grep -q "^means: \[127.5\]$" "$W/ms/model_info.txt" && ok "quant: metafile means kept" ||
  bad "quant: metafile means"
printf 'data_layout: nchw\n' >"$W/nchw.yaml"
expect_error "quant: data_layout nchw" \
  "Error: synap-pack: data_layout nchw: not supported yet (TFLite models are nhwc and no layout conversion is implemented)" \
  --model "$m" --target VS680 --out-dir "$W/nchw" --meta "$W/nchw.yaml"

# ---- SSD: TFLite_Detection_PostProcess on the cpu, or cut before it with ${ANCHORS}
m=$SHARED/$ssd/ssd_mobilenet_v1_0.75_pets_quant_postprocess.tflite
D=$W/ssd
convert_ok "ssd: convert" --model "$m" --target VS680 --out-dir "$D"
check_eq "ssd: two subgraphs" "$(grep -c '^delegate:' "$D/model_info.txt")" 2
check_eq "ssd: postprocess on cpu" "$(grep '^delegate:' "$D/model_info.txt" | tail -n 1)" \
  "delegate: cpu"
"$TOOLS/synap-import" "$m" -o "$W/ssd.ir"
same_outputs "ssd" "$D/model.synap" "$W/ssd.ir" "$SHARED/$ssd/ref/cat/input_0.npy" 4
cat >"$W/cut.yaml" <<'YAML'
outputs:
  - name: concat
    format: tflite_detection_boxes y_scale=10 x_scale=10 h_scale=5 w_scale=5 anchors=${ANCHORS}
  - name: convert_scores
    format: per_class_confidence class_index_base=-1
YAML
convert_ok "ssd cut: convert" --model "$m" --target VS680 --out-dir "$W/cut" --meta "$W/cut.yaml"
check_eq "ssd cut: one subgraph" "$(grep -c '^delegate:' "$W/cut/model_info.txt")" 1
fmt=$(grep '^format: tflite_detection_boxes' "$W/cut/model_info.txt")
case "$fmt" in
"format: tflite_detection_boxes y_scale=10 x_scale=10 h_scale=5 w_scale=5 anchors=[[0.025812,0.025812,0.096796,0.096796],[0.025812,0.025812,0.141967,0.283935],"*"]]")
  ok "ssd cut: \${ANCHORS} filled" ;;
*) bad "ssd cut: \${ANCHORS}: ${fmt:0:200}" ;;
esac
check_eq "ssd cut: 1917 anchors" "$(printf '%s' "$fmt" | grep -o '\],\[' | wc -l)" 1916
printf 'outputs:\n  - name: MobilenetV1/Predictions/Reshape_1\n    format: tflite_detection_boxes anchors=${ANCHORS}\n' >"$W/noanch.yaml"
expect_error "\${ANCHORS} without anchors" \
  "Error: synap-pack: 60-codegen.ir: format 'tflite_detection_boxes anchors=\${ANCHORS}': \${ANCHORS} needs a TFLite model with a TFLite_Detection_PostProcess layer (no anchors in the IR)" \
  --model "$SHARED/$mq/mobilenet_v1_0.25_128_quant.tflite" --target VS680 --out-dir "$W/noanch" \
  --meta "$W/noanch.yaml"

finish
