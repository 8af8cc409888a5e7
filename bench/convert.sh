#!/usr/bin/env bash
# Times synap convert on PP-OCRv4 det (VS680): a cold convert (empty out-dir and
# cache), a no-op reconvert (nothing changed: metafile parse, fragment compare,
# ninja's no-op), and a fully cached reconvert into a fresh out-dir sharing the
# first one's cache (every stage restored, none computed). Prints the figures;
# the goal for the no-op is <= 50 ms. Asserts nothing about time.
# Usage: bench/convert.sh [BUILD_DIR] [SHARED_DIR] [RUNS]
#        (defaults: build, ../shared beside the source tree, 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tools=$(cd "${1:-$here/../build}" && pwd)/tools
shared=${2:-$here/../../shared}
runs=${3:-5}
model=$shared/models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx
[ -f "$model" ] || { echo "bench/convert.sh: $model not found" >&2; exit 1; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
printf 'inputs:\n  - name: x\n    shape: [1, 3, 256, 512]\n' >"$w/m.yaml"
conv() { "$tools/synap" convert --model "$model" --target VS680 --meta "$w/m.yaml" --silent "$@"; }
ms() { # COMMAND...: wall time in ms
  local t0 t1
  t0=$(date +%s%N)
  "$@"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000)) | awk '{printf "%.1f", $1 / 1000}'
}
median() { tr ' ' '\n' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

cold=$(ms conv --out-dir "$w/out" --cache-dir "$w/cache")
stages=$(awk '{printf "%s%s %s %s ms", (NR > 1 ? ", " : ""), $1, $2, $3}' "$w/out/build/stages.log")
noop="" cached=""
for i in $(seq "$runs"); do
  noop="$noop $(ms conv --out-dir "$w/out" --cache-dir "$w/cache")"
  [ -s "$w/out/build/stages.log" ] && { echo "bench/convert.sh: the no-op reconvert ran a stage" >&2; exit 1; }
  rm -rf "$w/fresh"
  cached="$cached $(ms conv --out-dir "$w/fresh" --cache-dir "$w/cache")"
  grep -q computed "$w/fresh/build/stages.log" && { echo "bench/convert.sh: a cached reconvert computed" >&2; exit 1; }
  cmp -s "$w/out/model.synap" "$w/fresh/model.synap" || { echo "bench/convert.sh: bytes differ" >&2; exit 1; }
done
noop_med=$(echo $noop | median)
cached_med=$(echo $cached | median)
echo "synap convert, PP-OCRv4 det 1x3x256x512, VS680, $(nproc) cores"
printf '  %-44s %9.1f ms   (%s)\n' "cold convert (empty out-dir and cache)" "$cold" "$stages"
printf '  %-44s %9.1f ms   median of %s:%s   goal <= 50 ms: %s\n' "no-op reconvert" "$noop_med" "$runs" "$noop" \
  "$(awk -v t="$noop_med" 'BEGIN {print (t <= 50) ? "met" : "NOT met"}')"
printf '  %-44s %9.1f ms   median of %s:%s\n' "fully cached reconvert into a fresh out-dir" "$cached_med" "$runs" "$cached"
printf '  %-44s %9s      model.synap %s bytes\n' "" "" "$(wc -c <"$w/out/model.synap")"
