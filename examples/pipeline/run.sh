#!/usr/bin/env bash
# The convert pipeline by hand: the same stage tools `synap convert` runs, joined
# by pipes (`-` is stdin/stdout for every stage). Converts examples/digits for
# VS680 with the last block (conv3, its ReLU, the classifier) on the CPU, then
# runs the result on one image.
# Usage: examples/pipeline/run.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, a temporary folder)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../../build}" && pwd)/tools
if [ -n "${2:-}" ]; then
  mkdir -p "$2"
  out=$(cd "$2" && pwd)
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
model=$here/../digits/digits.onnx

"$bin/synap-import" "$model" --input-shape input=1,1,8,8 |
  "$bin/synap-prune" - --output logits |
  "$bin/synap-partition" - --target VS680 --delegate-map '*=npu' \
    --delegate-map '/conv3/Conv=cpu' --delegate-map '/conv3/Conv...=cpu' |
  "$bin/synap-codegen" - --target VS680 |
  "$bin/synap-pack" - --target VS680 -o "$out/model.synap" -o "$out/model_info.txt"

echo "wrote $out/model.synap ($(wc -c <"$out/model.synap") bytes) and model_info.txt"
grep -E '^(subgraphs|delegate)' "$out/model_info.txt" || true
"$bin/synap-run" "$out/model.synap" "$here/../digits/images/918_3.npy"
