#!/usr/bin/env bash
# synap convert with a quantization section on bad input (issue 4 item 8): a
# dataset glob matching nothing, unequal file counts across the inputs of a
# two-input model, a corrupt JPEG, a .npy of the wrong shape, uint8 mixed with
# int8, a scheme/type pair SyNAP forbids, a layer pattern naming no layer.
# Each gives exit status 1 and one line "Error: ..." (asserted exactly), leaves
# no model.synap, and a good convert into the same out-dir afterwards produces
# the same bytes as a clean convert (the cache is not poisoned). The failing
# stage tools (synap-calib, synap-quant) are also run by hand on the same input.
# Models: tests/data/quant/convnet.onnx (input 'input' [1,3,16,16]) and
# two_inputs.onnx ('left', 'right' [1,3,16,16]); images from tests/data/calib.
. "$(dirname "$0")/lib.sh"

Q=$SRC/tests/data/quant
ONE=$W/convnet.onnx
TWO=$W/two_inputs.onnx
cp "$Q/convnet.onnx" "$ONE"
cp "$Q/two_inputs.onnx" "$TWO"
mkdir -p "$W/imgs" "$W/l" "$W/r" "$W/r2" "$W/npy"
cp "$SRC"/tests/data/calib/images/* "$W/imgs/" # 2 JPEG + 2 PNG of other sizes than 16x16
cp "$W"/imgs/* "$W/l/"
cp "$W"/imgs/* "$W/r/"
cp "$W/imgs/img0.jpg" "$W/imgs/img3.png" "$W/r2/"
# npy FILE DESCR SHAPE: a .npy of deterministic values (python3, standard library only)
npy() {
  python3 - "$@" <<'EOF'
import struct, sys
path, descr, shape = sys.argv[1], sys.argv[2], tuple(int(d) for d in sys.argv[3].split(","))
n = 1
for d in shape:
    n *= d
head = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(shape))
head += " " * (-(10 + len(head) + 1) % 64) + "\n"
fmt = {"<f4": "f", "<f8": "d"}[descr]
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
    f.write(struct.pack("<%d%s" % (n, fmt), *(((i * 37) % 101) / 100.0 for i in range(n))))
EOF
}
npy "$W/npy/a.npy" "<f4" 1,3,16,16
npy "$W/npy/b.npy" "<f4" 1,3,16,16

# meta1 DATASET [QUANT-LINE...]: the one-input metafile $W/m.yaml
meta1() {
  local ds=$1
  shift
  {
    printf 'inputs:\n  - name: input\n    shape: [1, 3, 16, 16]\nquantization:\n'
    for l in "$@"; do echo "  $l"; done
    echo "  dataset: '$ds'"
  } >"$W/m.yaml"
}
# meta2 LEFT-GLOB RIGHT-GLOB: the two-input metafile $W/m.yaml
meta2() {
  printf 'inputs:\n  - name: left\n    shape: [1, 3, 16, 16]\n  - name: right\n    shape: [1, 3, 16, 16]\nquantization:\n  data_type: uint8\n  dataset: [%s, %s]\n' \
    "'$1'" "'$2'" >"$W/m.yaml"
}
good() { # MODEL OUT: a convert with $W/m.yaml that must succeed
  convert_ok "good convert into $(basename "$2")" --model "$1" --target VS680 --out-dir "$2" \
    --meta "$W/m.yaml"
}
# bad_convert NAME MODEL OUT MESSAGE: exit 1, exactly MESSAGE, and in a fresh OUT no
# model.synap, model_info.txt or quantization_info.yaml
bad_convert() {
  expect_error "$1" "$4" --model "$2" --target VS680 --out-dir "$3" --meta "$W/m.yaml"
  local f left=""
  for f in model.synap model_info.txt quantization_info.yaml; do
    [ -e "$3/$f" ] && left="$left $f"
  done
  if [ -n "$left" ]; then bad "$1: left behind:$left"; else ok "$1: no model.synap nor reports"; fi
}
# recover NAME MODEL OUT REF: a good convert into the failed OUT gives REF's bytes
recover() {
  if convert_ok "$1: then a good convert into the same out-dir" --model "$2" --target VS680 \
    --out-dir "$3" --meta "$W/m.yaml"; then
    same_file "$1: same model.synap as a clean convert" "$3/model.synap" "$4/model.synap"
    same_file "$1: same quantization_info.yaml as a clean convert" "$3/quantization_info.yaml" \
      "$4/quantization_info.yaml"
  fi
}

# ---- clean references
meta1 'imgs/*' "data_type: uint8"
good "$ONE" "$W/ref_img"
meta1 'npy/*.npy' "data_type: uint8"
good "$ONE" "$W/ref_npy"
meta2 'l/*' 'r/*'
good "$TWO" "$W/ref_two"

# ---- a glob that matches nothing, on the only input and on the second of two
meta1 'nope/*.jpg' "data_type: uint8"
bad_convert "glob matching nothing" "$ONE" "$W/o1" \
  "Error: synap-calib: dataset '$W/nope/*.jpg' (input 'input') matches no file"
meta1 'imgs/*' "data_type: uint8"
recover "glob matching nothing" "$ONE" "$W/o1" "$W/ref_img"
meta2 'l/*' 'none/*.png'
bad_convert "second glob matching nothing" "$TWO" "$W/o2" \
  "Error: synap-calib: dataset '$W/none/*.png' (input 'right') matches no file"
meta2 'l/*' 'r/*'
recover "second glob matching nothing" "$TWO" "$W/o2" "$W/ref_two"

# ---- unequal counts across the two inputs
meta2 'l/*' 'r2/*'
bad_convert "unequal file counts" "$TWO" "$W/o3" \
  "Error: synap-calib: dataset: '$W/l/*' (input 'left'): 4 files, '$W/r2/*' (input 'right'): 2 files; every input needs the same number of files"
meta2 'l/*' 'r/*'
recover "unequal file counts" "$TWO" "$W/o3" "$W/ref_two"

# ---- a corrupt image among good ones; removing it recovers
corrupt_case() { # NAME FILE-NAME MESSAGE-TAIL (the file is already in $W/set)
  meta1 'set/*' "data_type: uint8"
  bad_convert "$1" "$ONE" "$W/o-$2" "Error: synap-calib: $W/set/$2: $3"
  rm "$W/set/$2"
  recover "$1" "$ONE" "$W/o-$2" "$W/ref_img"
}
mkdir -p "$W/set"
cp "$W"/imgs/* "$W/set/"
head -c 300 "$W/imgs/img0.jpg" >"$W/set/img0_cut.jpg"
corrupt_case "truncated JPEG" img0_cut.jpg "corrupt JPEG image (Premature end of JPEG file)"
printf 'garbage bytes, not an image\n' >"$W/set/junk.jpg"
corrupt_case "garbage .jpg" junk.jpg "not a JPEG or PNG image"
{ head -c 20 "$W/imgs/img0.jpg" && head -c 300 "$ONE"; } >"$W/set/header_garbage.jpg"
corrupt_case "JPEG header then garbage" header_garbage.jpg \
  "corrupt JPEG image (Premature end of JPEG file)"
: >"$W/set/empty.jpg"
corrupt_case "empty .jpg" empty.jpg "not a JPEG or PNG image"
head -c 40 "$W/imgs/img1.png" >"$W/set/cut.png"
corrupt_case "truncated PNG" cut.png "not a readable PNG image (Read Error)"

# ---- a .npy of the wrong shape (or type) among good ones
npy_case() { # NAME DESCR SHAPE MESSAGE-TAIL
  npy "$W/npy/c.npy" "$2" "$3"
  meta1 'npy/*.npy' "data_type: uint8"
  bad_convert "$1" "$ONE" "$W/o-npy-$3" "Error: synap-calib: $W/npy/c.npy: $4"
  rm "$W/npy/c.npy"
  recover "$1" "$ONE" "$W/o-npy-$3" "$W/ref_npy"
}
npy_case ".npy of the wrong size" "<f4" 1,3,8,8 \
  "float32 [1, 3, 8, 8] does not match input 'input' float32 [1, 3, 16, 16]"
npy_case ".npy in NHWC" "<f4" 1,16,16,3 \
  "float32 [1, 16, 16, 3] does not match input 'input' float32 [1, 3, 16, 16]"
npy_case ".npy without the batch dimension" "<f4" 3,16,16 \
  "float32 [3, 16, 16] does not match input 'input' float32 [1, 3, 16, 16]"
npy_case ".npy of float64" "<f8" 1,3,16,16 \
  "float64 [1, 3, 16, 16] does not match input 'input' float32 [1, 3, 16, 16]"

# ---- metafile errors: uint8 with int8, forbidden scheme/type pairs
M=$W/m.yaml
n=0 # each case in a fresh out-dir
meta_case() { # NAME MESSAGE QUANT-LINE...
  local name=$1 msg=$2
  shift 2
  n=$((n + 1))
  meta1 'imgs/*' "$@"
  bad_convert "$name" "$ONE" "$W/o-meta$n" "Error: $M:$msg"
  meta1 'imgs/*' "data_type: uint8"
  recover "$name" "$ONE" "$W/o-meta$n" "$W/ref_img"
}
meta_case "uint8 mixed with int8" \
  "5:34: quantization.data_type: uint8 and int8 may not be mixed ('*': uint8, 'conv2': int8)" \
  "data_type: {'*': uint8, conv2: int8}"
meta_case "int8 mixed with uint8 (a later entry)" \
  "5:50: quantization.data_type: uint8 and int8 may not be mixed ('*': int8, 'conv1...': uint8)" \
  "data_type: {'*': int8, conv2: int16, conv1...: uint8}"
meta_case "perchannel_symmetric_affine with uint8" \
  "6:11: quantization.scheme: perchannel_symmetric_affine is for int8 only (data_type is uint8)" \
  "data_type: uint8" "scheme: perchannel_symmetric_affine"
meta_case "perchannel_symmetric_affine with int16" \
  "6:11: quantization.scheme: perchannel_symmetric_affine is for int8 only (data_type is int16)" \
  "data_type: int16" "scheme: perchannel_symmetric_affine"
meta_case "perchannel_symmetric_affine with an int16 layer" \
  "6:11: quantization.scheme: perchannel_symmetric_affine is for int8 only (data_type maps 'conv2' to int16)" \
  "data_type: {'*': int8, conv2: int16}" "scheme: perchannel_symmetric_affine"
meta_case "dynamic_fixed_point with uint8" \
  "6:11: quantization.scheme: dynamic_fixed_point is for int8 and int16 only (data_type is uint8)" \
  "data_type: uint8" "scheme: dynamic_fixed_point"
meta_case "asymmetric_affine with int16" \
  "6:11: quantization.scheme: asymmetric_affine is for 8-bit types only (data_type is int16)" \
  "data_type: int16" "scheme: asymmetric_affine"

# ---- a failed convert removes an earlier convert's model from the out-dir
meta1 'imgs/*' "data_type: uint8"
if good "$ONE" "$W/o-stale"; then
  meta1 'imgs/*' "data_type: {'*': uint8, conv2: int8}"
  bad_convert "a failed convert over an earlier one" "$ONE" "$W/o-stale" \
    "Error: $M:5:34: quantization.data_type: uint8 and int8 may not be mixed ('*': uint8, 'conv2': int8)"
  meta1 'imgs/*' "data_type: uint8"
  recover "a failed convert over an earlier one" "$ONE" "$W/o-stale" "$W/ref_img"
fi

# ---- a layer pattern naming no layer (found by synap-quant, which knows the graph)
LAYERS="'conv1', 'relu1', 'conv2', 'relu2', 'add1', 'pool1', 'conv3', 'relu3', 'gap', 'flatten', 'fc'"
pattern_case() { # NAME PATTERN MESSAGE-TAIL
  meta1 'imgs/*' "data_type: {'*': uint8, '$2': int16}"
  n=$((n + 1))
  bad_convert "$1" "$ONE" "$W/o-pattern$n" "Error: synap-quant: data_type: $3"
  meta1 'imgs/*' "data_type: uint8"
  recover "$1" "$ONE" "$W/o-pattern$n" "$W/ref_img"
}
pattern_case "unknown layer name" nope "unknown layer 'nope'; valid layers: $LAYERS"
pattern_case "unknown layer in NAME..." "conv9..." \
  "unknown layer 'conv9' in pattern 'conv9...'; valid layers: $LAYERS"
pattern_case "layer id out of range" "@99" "layer pattern '@99': layer id 99 out of range (0..10)"

# ---- the same input through the stage tools by hand: exit 1, one line, no output file
stage_fails() { # NAME MESSAGE TOOL ARGS...
  local name=$1 want=$2 tool=$3 so se rc
  shift 3
  rm -f "$W/stage.out"
  so=$("$TOOLS/$tool" "$@" -o "$W/stage.out" 2>"$W/stderr")
  rc=$?
  se=$(cat "$W/stderr")
  if [ "$rc" = 1 ] && [ "$se" = "$want" ] && [ -z "$so" ] && [ ! -e "$W/stage.out" ]; then
    ok "$tool: $name"
  else
    bad "$tool: $name: status $rc, stdout [$so], stderr [$se], output file $([ -e "$W/stage.out" ] && echo written || echo absent); want status 1, [$want], no output"
  fi
}
"$TOOLS/synap-import" "$ONE" -o "$W/one.ir" && "$TOOLS/synap-import" "$TWO" -o "$W/two.ir" &&
  "$TOOLS/synap-calib" "$W/one.ir" --dataset "$W/imgs/*" -o "$W/one.stats" ||
  bad "stage tools: import or calibration of the good input failed"
stage_fails "glob matching nothing" "synap-calib: dataset '$W/nope/*.jpg' (input 'input') matches no file" \
  synap-calib "$W/one.ir" --dataset "$W/nope/*.jpg"
stage_fails "unequal file counts" \
  "synap-calib: dataset: '$W/l/*' (input 'left'): 4 files, '$W/r2/*' (input 'right'): 2 files; every input needs the same number of files" \
  synap-calib "$W/two.ir" --dataset "$W/l/*" --dataset "$W/r2/*"
head -c 300 "$W/imgs/img0.jpg" >"$W/set/img0_cut.jpg"
stage_fails "truncated JPEG" \
  "synap-calib: $W/set/img0_cut.jpg: corrupt JPEG image (Premature end of JPEG file)" \
  synap-calib "$W/one.ir" --dataset "$W/set/*"
rm "$W/set/img0_cut.jpg"
npy "$W/npy/c.npy" "<f4" 1,3,8,8
stage_fails ".npy of the wrong shape" \
  "synap-calib: $W/npy/c.npy: float32 [1, 3, 8, 8] does not match input 'input' float32 [1, 3, 16, 16]" \
  synap-calib "$W/one.ir" --dataset "$W/npy/*.npy"
rm "$W/npy/c.npy"
QS=("$W/one.ir" "$W/one.stats")
stage_fails "uint8 mixed with int8" "synap-quant: data_type: uint8 and int8 may not be mixed" \
  synap-quant "${QS[@]}" --type-map '*=uint8' --type-map 'conv2=int8'
stage_fails "perchannel_symmetric_affine with uint8" \
  "synap-quant: scheme: perchannel_symmetric_affine is for int8 only (data_type is uint8)" \
  synap-quant "${QS[@]}" --data-type uint8 --scheme perchannel_symmetric_affine
stage_fails "perchannel_symmetric_affine with int16" \
  "synap-quant: scheme: perchannel_symmetric_affine is for int8 only (data_type is int16)" \
  synap-quant "${QS[@]}" --data-type int16 --scheme perchannel_symmetric_affine
stage_fails "dynamic_fixed_point with uint8" \
  "synap-quant: scheme: dynamic_fixed_point is for int8 and int16 only (data_type is uint8)" \
  synap-quant "${QS[@]}" --data-type uint8 --scheme dynamic_fixed_point
stage_fails "asymmetric_affine with int16" \
  "synap-quant: scheme: asymmetric_affine is for 8-bit types only (data_type is int16)" \
  synap-quant "${QS[@]}" --data-type int16 --scheme asymmetric_affine
stage_fails "unknown layer name" \
  "synap-quant: data_type: unknown layer 'nope'; valid layers: $LAYERS" \
  synap-quant "${QS[@]}" --type-map '*=uint8' --type-map 'nope=int16'
stage_fails "layer id out of range" \
  "synap-quant: data_type: layer pattern '@99': layer id 99 out of range (0..10)" \
  synap-quant "${QS[@]}" --type-map '*=uint8' --type-map '@99=int16'

finish
