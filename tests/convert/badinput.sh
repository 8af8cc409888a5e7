#!/usr/bin/env bash
# synap convert on bad input: each a clear one-line message, exit status 1,
# no model.synap, and a cache that still works afterwards.
. "$(dirname "$0")/lib.sh"

M=$W/digits.onnx
cp "$DIGITS" "$M"
D=$W/out
run() { "$SYNAP" convert --model "$M" --target VS680 --out-dir "$D" "$@"; }

# ---- the command line
expect_error "no --model" "Error: --model is required" --target VS680 --out-dir "$D"
expect_error "no --target" "Error: --target is required" --model "$M" --out-dir "$D"
expect_error "no --out-dir" "Error: --out-dir is required" --model "$M" --target VS680
expect_error "unknown option" "Error: unknown option '--frobnicate' (see synap help)" \
  --model "$M" --target VS680 --out-dir "$D" --frobnicate
expect_error "bad -j" "Error: -j: expected a number of jobs >= 1, got 'x'" \
  --model "$M" --target VS680 --out-dir "$D" -j x
expect_error "bad --out-format" "Error: --out-format: expected synap or nb, got 'tflite'" \
  --model "$M" --target VS680 --out-dir "$D" --out-format tflite
expect_error "--weights with ONNX" "Error: --weights: Caffe models are not supported yet" \
  --model "$M" --target VS680 --out-dir "$D" --weights "$W/w.caffemodel"
"$SYNAP" frobnicate 2>"$W/err"
check_eq "unknown command: status" "$?" 1
check_eq "unknown command: message" "$(cat "$W/err")" \
  "Error: unknown command 'frobnicate' (commands: convert, help, version)"
check_eq "synap version" "$("$SYNAP" version)" "synap $("$TOOLS/synap-import" --version | awk '{print $2}')"
"$SYNAP" help | grep -q "D/build is always kept" && ok "synap help explains D/build" || bad "synap help"

# ---- the model
expect_error "missing model" "Error: $W/nope.onnx: No such file or directory" \
  --model "$W/nope.onnx" --target VS680 --out-dir "$D"
: >"$W/m.tflite"
expect_error "empty .tflite" \
  "Error: synap-import: $W/m.tflite: not a TFLite model (no TFL3 file identifier)" \
  --model "$W/m.tflite" --target VS680 --out-dir "$D"
for ext in pt pth torchscript pb prototxt; do
  : >"$W/m.$ext"
  expect_error "$ext model" "Error: .$ext models are not supported yet" \
    --model "$W/m.$ext" --target VS680 --out-dir "$D"
done
: >"$W/m.xyz"
expect_error "unknown model format" \
  "Error: $W/m.xyz: unknown model format '.xyz' (expected .onnx, .tflite, .torchscript, .pt, .pth, .pb or .prototxt)" \
  --model "$W/m.xyz" --target VS680 --out-dir "$D"
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 123\n' >"$W/lfs.onnx"
expect_error "git-lfs pointer" \
  "Error: synap-import: $W/lfs.onnx: is a git-lfs pointer file, not the model: run git lfs pull" \
  --model "$W/lfs.onnx" --target VS680 --out-dir "$W/lfs"
echo "not a model" >"$W/junk.onnx"
expect_error "not an ONNX model" \
  "Error: synap-import: $W/junk.onnx: not an ONNX model (protobuf parse failed)" \
  --model "$W/junk.onnx" --target VS680 --out-dir "$W/junk"
[ -e "$W/junk/model.synap" ] && bad "model.synap written for a broken model" || ok "no model.synap for a broken model"

# ---- the target
expect_error "unknown target" \
  "Error: unknown target 'vs999'; valid targets: DOLPHIN, DVF120, GENERIC, HOST, PLATYPUS, SL1620, SL1640, SL1680, VS640, VS640A0, VS680, VS680A0" \
  --model "$M" --target vs999 --out-dir "$D"

# ---- the metafile: each error is one line "Error: FILE:LINE:COL: ..." and status 1
meta_error() { # NAME EXPECTED-MESSAGE YAML
  printf '%s' "$3" >"$W/bad.yaml"
  expect_error "$1" "$2" --model "$M" --target VS680 --out-dir "$W/meta" --meta "$W/bad.yaml"
  [ -e "$W/meta/model.synap" ] && bad "$1: model.synap written"
}
B=$W/bad.yaml
expect_error "missing metafile" "Error: $W/none.yaml: metafile not found" \
  --model "$M" --target VS680 --out-dir "$D" --meta "$W/none.yaml"
meta_error "broken YAML" \
  "Error: $B:3:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence" \
  "inputs:
  - name: [input
"
meta_error "unknown key" \
  "Error: $B:3:5: unknown key 'scal' in inputs[0]; valid keys: name, shape, means, scale, format, security, preprocess, custom" \
  "inputs:
  - name: input
    scal: 1
"
meta_error "wrong value type" "Error: $B:3:12: inputs[0].shape: expected a list of integers, got a scalar" \
  "inputs:
  - name: input
    shape: 12
"
meta_error "unknown top-level key" \
  "Error: $B:1:1: unknown key 'delegates' at the top level; valid keys: inputs, outputs, quantization, delegate, data_layout, input_format, output_format, dequantize_outputs, denormalize_outputs, security, optimize, custom" \
  "delegates: npu
"
meta_error "preprocess not supported yet" \
  "Error: $B:4:5: inputs[0].preprocess: not supported yet (preprocessing arrives with the preprocessing stage)" \
  "inputs:
  - name: input
    shape: [1, 1, 8, 8]
    preprocess:
      type: gray
"
meta_error "unknown layer name in delegate" \
  "Error: synap-partition: unknown layer 'no_such_layer'; valid layers: '/Mul', '/conv1/Conv', '/Relu', '/conv2/Conv', '/Relu_1', '/pool/MaxPool', '/conv3/Conv', '/Relu_2', '/Flatten', '/fc/Gemm'" \
  "delegate:
  '*': npu
  no_such_layer: cpu
"
meta_error "unknown output name" \
  "Error: synap-prune: output: unknown tensor 'no_such_tensor'; candidates: 'input', '/Mul_output_0', '/conv1/Conv_output_0', '/Relu_output_0', '/conv2/Conv_output_0', '/Relu_1_output_0', '/pool/MaxPool_output_0', '/conv3/Conv_output_0', '/Relu_2_output_0', '/Flatten_output_0', 'logits'" \
  "outputs:
  - name: no_such_tensor
"

# ---- an op the NPU cannot run (tests/convert/data/floor.onnx: Relu, Floor, Relu):
# an error with delegate npu; with the default delegate a warning, relayed on stderr
F=$SRC/tests/convert/data/floor.onnx
printf 'delegate: npu\n' >"$W/npu.yaml"
expect_error "explicit npu cannot run Floor" \
  "Error: synap-partition: layer 'floor' (Floor): delegate npu of VS680 cannot run Floor" \
  --model "$F" --target VS680 --out-dir "$W/floor" --meta "$W/npu.yaml"
so=$("$SYNAP" convert --model "$F" --target VS680 --out-dir "$W/floor2" 2>"$W/err")
check_eq "default delegate: success" "$so" "Conversion successful"
check_eq "default delegate: the warning is relayed" "$(cat "$W/err")" \
  "synap-partition: warning: 1 layer runs on cpu: 'floor' (Floor)"
rm -rf "$W/floor2"
"$SYNAP" convert --model "$F" --target VS680 --out-dir "$W/floor2" --cache-dir "$W/fc" --silent 2>"$W/err"
check_eq "--silent hides the warning" "$(cat "$W/err")" ""

# ---- the cache directory: a path whose parent is a regular file cannot be
# created (root ignores chmod, so a read-only folder would not fail in CI)
: >"$W/afile"
expect_error "unwritable cache dir" \
  "Error: cache directory $W/afile/cache is not writable: Not a directory" \
  --model "$M" --target VS680 --out-dir "$D" --cache-dir "$W/afile/cache"
SYNAP_CACHE_DIR=$W/afile/cache2 "$SYNAP" convert --model "$M" --target VS680 --out-dir "$D" 2>"$W/err"
check_eq "unwritable SYNAP_CACHE_DIR: status" "$?" 1
check_eq "unwritable SYNAP_CACHE_DIR: message" "$(cat "$W/err")" \
  "Error: cache directory $W/afile/cache2 is not writable: Not a directory"

# ---- after all that, a good convert still works and later ones hit the cache
convert_ok "a good convert after the failures" --model "$M" --target VS680 --out-dir "$D"
rm -rf "$D/build"
convert_ok "again with build/ deleted" --model "$M" --target VS680 --out-dir "$D"
check_eq "the cache is intact" "$(stages_run "$D")" \
  "import:cached prune:cached partition:cached codegen:cached pack:cached"

# ---- no ninja in PATH
PATH=/nonexistent "$SYNAP" convert --model "$M" --target VS680 --out-dir "$D" 2>"$W/err"
check_eq "no ninja: status" "$?" 1
check_eq "no ninja: message" "$(cat "$W/err")" \
  "Error: ninja not found in PATH (install the Debian package ninja-build)"

finish
