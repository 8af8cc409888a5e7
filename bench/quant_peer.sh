#!/usr/bin/env bash
# How accurate can per-tensor 8-bit quantization of these models be? A peer answer, next to synap's.
#
#   bench/quant_peer.sh [BUILD_DIR]     (default: build)
#
# For each model of tests/quant/accuracy.c (MODELS, default: blazeface_front_128 ppocr_v4_det
# ppocr_mobile_v2_cls ultraface_slim320), on its evaluation inputs:
#   synap   quant_accuracy --oracle: synap calibrated on the evaluation inputs themselves, then
#           quantized (uint8 asymmetric_affine, int16 dynamic_fixed_point) and run in its integer
#           kernels; worst output SQNR against float, pooled over the inputs.
#   peer    the same ONNX model in ONNX Runtime, float32 everywhere except that the tensors synap
#           quantizes (the names in its uint8 IR) and the conv/matmul weights are rounded to the
#           grid of their type (bench/qdq.py), on ranges ORT measured on the same inputs: ideal
#           arithmetic, ideal ranges, no equalization. Columns: both rounded; activations only
#           (float weights); weights only; uint8 activations with int8 per-channel weights; int16;
#           int16 with synap's 1.5x headroom on activation ranges.
# Same inputs, same SQNR definition as tests/quant/accuracy.c. Prints a Markdown table. Asserts
# nothing: the exit status is non-zero only when something failed to run.
# Needs: a build of synap, nodejs + npm (ONNX Runtime from npm, see ort.sh), and /usr/bin/python3
# with python3-onnx and python3-numpy. About a minute.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=${SYNAP_SHARED:-$repo/../shared}
models=${MODELS:-blazeface_front_128 ppocr_v4_det ppocr_mobile_v2_cls ultraface_slim320}
build=${1:-build}
if [[ ! -d $build && -d $repo/$build ]]; then build=$repo/$build; fi

die() {
  echo "bench/quant_peer.sh: $*" >&2
  exit 1
}

[[ -d $shared/models/onnx ]] || die "no models in $shared/models/onnx (set SYNAP_SHARED)"
acc=$build/tests/quant/quant_accuracy
dump=$build/tools/synap-dump
[[ -x $acc && -x $dump ]] || die "no quant_accuracy or synap-dump in $build (meson setup $build && ninja -C $build)"
py=/usr/bin/python3
$py -c 'import onnx, numpy' 2>/dev/null || die "$py cannot import onnx and numpy (apt-get install python3-onnx python3-numpy)"
# shellcheck source=bench/ort.sh
. "$here/ort.sh"
ensure_ort "$here"

model_file() {
  case $1 in
    blazeface_front_128) echo blazeface_front_128/face_detection_front_128x128_barracuda.onnx ;;
    ppocr_v4_det) echo ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx ;;
    ppocr_mobile_v2_cls | ppocr_mobile_v2_cls_text) echo ppocr_mobile_v2_cls/ch_ppocr_mobile_v2.0_cls_infer.onnx ;;
    ultraface_slim320) echo ultraface_slim320/version-slim-320.onnx ;;
    *) die "unknown model '$1' (MODELS: ids of tests/quant/accuracy.c, digits excepted)" ;;
  esac
}
for id in $models; do model_file "$id" >/dev/null; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$acc" --shared "$shared" --thresholds "$repo/tests/quant/accuracy_thresholds.txt" \
  --digits "$repo/tests/data/digits" --digits-model "$repo/examples/digits/digits.onnx" \
  --models "${models// /,}" --configs uint8,int16_dfp --oracle --dump "$tmp" \
  >"$tmp/synap.txt" 2>&1 || { cat "$tmp/synap.txt" >&2; die "quant_accuracy failed"; }

# synap's worst output SQNR of model $1, configuration $2, from quant_accuracy's report
synap_db() {
  awk -v m="## $1:" -v c="$2" '
    index($0, "## ") == 1 { on = index($0, m) == 1 }
    on && $1 == c && $2 == "worst" { printf "%.1f\n", $3; exit }' "$tmp/synap.txt"
}

peer_db() { # model id, onnx, acts, weights[, headroom]
  $py "$here/qdq.py" build "$2" "$tmp/q.onnx" --ranges "$tmp/$1.ranges.json" \
    --points "$tmp/$1.points" --acts "$3" --weights "$4" --headroom "${5:-1}" 2>/dev/null
  node "$here/quant_peer.js" sqnr "$tmp/$1.float.onnx" "$tmp/q.onnx" "$tmp/$1".in*.npy |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).worst.toFixed(1)))'
}

echo "Worst output SQNR against float (dB), ranges from the evaluation inputs themselves"
echo
echo "| model | synap uint8 | peer uint8 | peer: uint8 activations only | peer: uint8 weights only | peer: uint8 act., int8 per-ch. weights | synap int16 | peer int16 | peer int16, 1.5x headroom |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for id in $models; do
  onnx=$shared/models/onnx/$(model_file "$id")
  # the tensors synap quantizes: drop its suffixes (equalized copies, conversion layers)
  "$dump" "$tmp/$id.uint8.ir" | sed -n "s/^ *%[0-9]* '\([^']*\)' [a-z0-9]* \[[^]]*\] quant .*/\1/p" |
    sed 's/:equalized$//; s/#[a-z0-9]*$//' | sort -u >"$tmp/$id.points"
  $py "$here/qdq.py" expose "$onnx" "$tmp/$id.all.onnx"
  # the float reference: the same model as qdq.py reads it (weights that are graph inputs dropped
  # from the inputs, Conv + BatchNormalization folded), nothing rounded
  $py "$here/qdq.py" build "$onnx" "$tmp/$id.float.onnx" --acts none --weights none 2>/dev/null
  node "$here/quant_peer.js" minmax "$tmp/$id.all.onnx" "$tmp/$id.ranges.json" "$tmp/$id".in*.npy
  row="| $id | $(synap_db "$id" uint8)"
  for v in "u8 u8" "u8 none" "none u8" "u8 pc8"; do
    read -r acts weights <<<"$v"
    row="$row | $(peer_db "$id" "$onnx" "$acts" "$weights")"
  done
  row="$row | $(synap_db "$id" int16_dfp) | $(peer_db "$id" "$onnx" i16 i16)"
  row="$row | $(peer_db "$id" "$onnx" i16 i16 1.5) |"
  echo "$row"
done
