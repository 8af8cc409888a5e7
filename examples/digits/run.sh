#!/usr/bin/env bash
# The main job on the bundled example: convert digits.onnx for the VS680 into model.synap,
# then run it on the 12 held-out digit images, printing the predicted digit next to the label.
# Usage: examples/digits/run.sh [BUILD_DIR [OUT_DIR]]   (defaults: build, a temporary folder)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
if [ -n "${2:-}" ]; then
  out=$2
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

"$build/tools/synap" convert --model "$here/digits.onnx" --target VS680 --out-dir "$out"
sed -n '/^layers/,/^memory usage/p' "$out/model_info.txt"   # from model_info.txt
right=0 total=0
while read -r file label; do
  pred=$("$build/tools/synap-run" "$out/model.synap" "$here/images/$file" | sed -n 's/^  argmax: //p')
  printf '%-12s label %s  predicted %s\n' "$file" "$label" "$pred"
  total=$((total + 1)); [ "$pred" = "$label" ] && right=$((right + 1))
done <"$here/images/labels.txt"
echo "$right of $total images classified correctly"
"$build/tools/synap-run" "$out/model.synap" "$here/images/918_3.png" -r 10
