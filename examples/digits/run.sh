#!/usr/bin/env bash
# The main job on the bundled example: import digits.onnx into the synap IR and run it
# on the 12 held-out digit images, printing the predicted digit next to the true label.
# Usage: examples/digits/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$build/tools/synap-import" "$here/digits.onnx" -o "$out/digits.ir"
echo "imported digits.onnx -> $(wc -c <"$out/digits.ir") bytes of IR"
right=0 total=0
while read -r file label; do
  pred=$("$build/tools/synap-run" "$out/digits.ir" "$here/images/$file" | sed -n 's/^  argmax: //p')
  printf '%-12s label %s  predicted %s\n' "$file" "$label" "$pred"
  total=$((total + 1)); [ "$pred" = "$label" ] && right=$((right + 1))
done <"$here/images/labels.txt"
echo "$right of $total images classified correctly"
"$build/tools/synap-run" "$out/digits.ir" "$here/images/918_3.png"
