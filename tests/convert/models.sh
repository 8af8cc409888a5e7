#!/usr/bin/env bash
# Real models from ../shared (skipped when absent): BlazeFace 128 and PP-OCRv4 det
# converted for VS680. model.synap run by synap-run gives the IR interpreter's
# outputs on the imported model; a two-delegate split
# (delegate: {'*': npu, X: cpu, X...: cpu}) gives the unsplit model's outputs;
# model.synap is byte-identical with -j1 and -j2.
. "$(dirname "$0")/lib.sh"

bf=models/onnx/blazeface_front_128
pp=models/onnx/ppocr_v4_det
need_shared "$bf/face_detection_front_128x128_barracuda.onnx" "$pp/ch_PP-OCRv4_det_infer.onnx"

run_outputs() { # MODEL INPUT DIR: synap-run writes DIR/output_K.npy
  rm -rf "$3"
  "$TOOLS/synap-run" "$1" "$2" --out-dir "$3" -q >/dev/null 2>"$W/run.err" ||
    bad "synap-run $1 failed: $(cat "$W/run.err")"
}
compare_dirs() { # NAME DIR-A DIR-B TOL NOUT
  local k worst=ok
  for k in $(seq 0 $(($5 - 1))); do
    if ! r=$(python3 "$SRC/tests/convert/npycmp.py" "$2/output_$k.npy" "$3/output_$k.npy" "$4"); then
      worst="output $k: $r"
    fi
  done
  [ "$worst" = ok ] && ok "$1" || bad "$1: $worst"
}

# TOL: |model.synap - the IR interpreter on the imported model|. The kernels are
# the same, but codegen folds BatchNormalization into the convolutions (new
# weights, rounded once instead of twice), so a model with BatchNorm is not
# bit-identical to its import; against the codegen IR (the graph model.synap
# holds) it must be.
one_model() { # NAME MODEL INPUT NOUT TOL SPLIT-LAYER [META-LINES]
  local name=$1 model=$SHARED/$2 input=$SHARED/$3 nout=$4 TOL=$5 split=$6 meta=${7:-}
  local D=$W/$name
  printf '%s' "$meta" >"$W/$name.yaml"
  convert_ok "$name: convert" --model "$model" --target VS680 --out-dir "$D" --meta "$W/$name.yaml" -j 1
  convert_ok "$name: convert -j2" --model "$model" --target VS680 --out-dir "$D-j2" \
    --meta "$W/$name.yaml" -j 2
  same_file "$name: model.synap identical with -j1 and -j2" "$D/model.synap" "$D-j2/model.synap"

  run_outputs "$D/model.synap" "$input" "$W/$name-synap"
  run_outputs "$D/build/60-codegen.ir" "$input" "$W/$name-codegen"
  compare_dirs "$name: model.synap = IR interpreter on 60-codegen.ir (exact)" "$W/$name-synap" \
    "$W/$name-codegen" 0 "$nout"
  run_outputs "$D/build/00-import.ir" "$input" "$W/$name-ir"
  compare_dirs "$name: model.synap = IR interpreter on 00-import.ir (|diff| <= $TOL)" "$W/$name-synap" \
    "$W/$name-ir" "$TOL" "$nout"
  # and both are what ONNX Runtime computed, within the case's own tolerance
  local atol
  atol=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["atol"])' "$(dirname "$input")/case.json")
  compare_dirs "$name: model.synap = ONNX Runtime (|diff| <= $atol)" "$W/$name-synap" "$(dirname "$input")" \
    "$atol" "$nout"

  # the split: the layer and everything after it on the cpu
  printf '%sdelegate:\n  "*": npu\n  "%s": cpu\n  "%s...": cpu\n' "$meta" "$split" "$split" >"$W/$name-split.yaml"
  convert_ok "$name: convert split at $split" --model "$model" --target VS680 --out-dir "$D-split" \
    --meta "$W/$name-split.yaml"
  local nsub
  nsub=$(sed -n 's/^subgraphs: //p' "$D-split/model_info.txt")
  [ "${nsub:-1}" -ge 2 ] && ok "$name: the split model has $nsub subgraphs" ||
    bad "$name: the split model is not split (subgraphs: ${nsub:-none})"
  run_outputs "$D-split/model.synap" "$input" "$W/$name-split-out"
  compare_dirs "$name: split = unsplit outputs (exact)" "$W/$name-split-out" "$W/$name-synap" 0 "$nout"
}

one_model blazeface "$bf/face_detection_front_128x128_barracuda.onnx" "$bf/ref/astronaut/input_0.npy" 4 1e-6 \
  "StatefulPartitionedCall/functional_1/re_lu_7/Relu"
one_model ppocr "$pp/ch_PP-OCRv4_det_infer.onnx" "$pp/ref/board_topleft_2x/input_0.npy" 1 5e-5 \
  "p2o.Conv.48" "inputs:
  - name: x
    shape: [1, 3, 256, 512]
"
finish
