#!/usr/bin/env bash
# synap convert with a quantization section, on examples/digits calibrated on
# its 12 bundled PNGs: success, the quantization reports, the quantized
# model.synap's accuracy, incremental behaviour read from OUT/build/stages.log
# (data type -> quant and later, not calib; a new image -> calib), and a
# dataset glob that matches nothing.
. "$(dirname "$0")/lib.sh"

M=$W/digits.onnx
cp "$DIGITS" "$M"
mkdir -p "$W/images"
cp "$SRC"/examples/digits/images/*.png "$W/images/"
write_meta() { # DATA_TYPE [ALGORITHM] [DATASET]
  {
    echo "inputs:"
    echo "  - name: input"
    echo "    shape: [1, 1, 8, 8]"
    echo "outputs:"
    echo "  - name: logits"
    echo "quantization:"
    echo "  data_type: $1"
    [ -n "${2:-}" ] && echo "  algorithm: $2"
    echo "  dataset: '${3:-images/*.png}'"
  } >"$W/m.yaml"
}
conv() { # OUT [ARGS...]
  local d=$1
  shift
  convert_ok "convert into $(basename "$d") $*" --model "$M" --target VS680 --out-dir "$d" \
    --meta "$W/m.yaml" "$@"
}

# ---- a first quantized conversion
write_meta uint8
D=$W/q
conv "$D"
check_eq "first convert runs every stage, calib and quant included" "$(stages_run "$D")" \
  "import:computed prune:computed calib:computed quant:computed partition:computed codegen:computed pack:computed"
[ -s "$D/quantization_info.yaml" ] && ok "quantization_info.yaml written" ||
  bad "no OUT/quantization_info.yaml"
[ -e "$D/quantization_entropy.txt" ] && bad "quantization_entropy.txt without kl_divergence" ||
  ok "no quantization_entropy.txt with the standard algorithm"
check_eq "calib.json: absolute globs, no data type" "$(cat "$D/build/calib.json")" \
  "{\"base_dir\":\"$W\",\"dataset\":[\"$W/images/*.png\"],\"inputs\":[{\"name\":\"input\"}]}"
check_eq "quant.json" "$(cat "$D/build/quant.json")" \
  '{"algorithm":"standard","data_type":"uint8","mode":"standard","scheme":"default"}'
grep -q uint8 "$D/model_info.txt" && ok "model_info.txt shows uint8 tensors" ||
  bad "model_info.txt does not mention uint8"

# ---- the quantized model classifies the 12 images
correct=0
for img in "$SRC"/examples/digits/images/*.png; do
  label=$(basename "$img" .png)
  label=${label#*_}
  got=$("$TOOLS/synap-run" "$D/model.synap" "$img" | awk '/argmax:/ {print $2}')
  [ "$got" = "$label" ] && correct=$((correct + 1))
done
echo "# uint8 model.synap: $correct/12 images classified correctly"
[ "$correct" -ge 11 ] && ok "uint8 model classifies $correct/12 correctly (>= 11)" ||
  bad "uint8 model classifies only $correct/12 correctly"

# ---- incremental
conv "$D"
check_eq "an identical reconvert runs no stage" "$(stage_names "$D")" ""
write_meta int16
conv "$D"
check_eq "uint8 -> int16 reruns quant and later, not calib" "$(stage_names "$D")" \
  "quant partition codegen pack"
write_meta uint8
conv "$D"
check_eq "back to uint8: restored from the cache" "$(stages_run "$D")" \
  "quant:cached partition:cached codegen:cached pack:cached"
cp "$W/images/918_3.png" "$W/images/918_3_copy.png"
conv "$D"
case "$(stage_names "$D")" in
calib*) ok "adding an image reruns calib ($(stage_names "$D"))" ;;
*) bad "adding an image: stages [$(stage_names "$D")], want calib first" ;;
esac
conv "$D"
check_eq "and then nothing" "$(stage_names "$D")" ""
rm "$W/images/918_3_copy.png"
conv "$D"
check_eq "removing it again: calib restored from the cache" "$(stages_run "$D" | cut -d' ' -f1)" \
  "calib:cached"

# ---- kl_divergence writes quantization_entropy.txt; back to float removes the reports
write_meta uint8 kl_divergence
conv "$D"
check_eq "another algorithm reruns quant and later, not calib" "$(stage_names "$D")" \
  "quant partition codegen pack"
grep -q '^@.*:out0, [0-9.]*$' "$D/quantization_entropy.txt" 2>/dev/null &&
  ok "kl_divergence: quantization_entropy.txt written" || bad "no quantization_entropy.txt"
# ---- percentile and mse (synap's own algorithms) reach synap-quant from the metafile
for algo in percentile mse; do
  write_meta uint8 $algo
  conv "$D"
  grep -q "\"algorithm\":\"$algo\"" "$D/build/quant.json" &&
    ok "algorithm: $algo reaches quant.json" || bad "quant.json: $(cat "$D/build/quant.json")"
  check_eq "algorithm: $algo reruns quant and later, not calib" "$(stage_names "$D")" \
    "quant partition codegen pack"
done
write_meta uint8
conv "$D"
[ -e "$D/quantization_entropy.txt" ] && bad "a stale quantization_entropy.txt stays" ||
  ok "standard again: quantization_entropy.txt removed"
printf 'inputs:\n  - name: input\n    shape: [1, 1, 8, 8]\n' >"$W/float.yaml"
convert_ok "a float convert into the same out-dir" --model "$M" --target VS680 --out-dir "$D" \
  --meta "$W/float.yaml"
[ -e "$D/quantization_info.yaml" ] && bad "a stale quantization_info.yaml stays" ||
  ok "float: quantization_info.yaml removed"

# ---- a glob that matches nothing
write_meta uint8 "" "nope/*.png"
expect_error "a dataset glob that matches nothing" \
  "Error: synap-calib: dataset '$W/nope/*.png' (input 'input') matches no file" \
  --model "$M" --target VS680 --out-dir "$W/none" --meta "$W/m.yaml"
[ -e "$W/none/model.synap" ] && bad "model.synap written for an empty data set" ||
  ok "no model.synap for an empty data set"

finish
