#!/usr/bin/env bash
# Times incremental quantization in synap convert on PP-OCRv4 det (VS680,
# input 1x3x256x512, uint8, calibrated on 30 photos of ../shared/images):
#   (a) a cold convert (empty out-dir and cache),
#   (b) a re-quantize: data_type uint8 -> int16 and scheme
#       dynamic_fixed_point, converted again into the same out-dir,
#   (c) a change of the per-layer map only (the DB head, p2o.Concat.0...,
#       in int16),
#   (d) one more photo in the data set (calibration reruns).
# Each of (b), (c), (d) starts from a copy of the out-dir (cache included) as
# the cold convert left it, so every run does the same work; the copy is not
# timed. OUT/build/stages.log proves which stages ran: the script fails when
# calib reruns in (b) or (c), when quant does not rerun there or model.synap
# stays the same, or when calib does not rerun in (d). Prints median wall
# times of RUNS runs and the cold / re-quantize ratio. Asserts nothing about
# time.
# Usage: bench/requant.sh [BUILD_DIR] [SHARED_DIR] [RUNS]
#        (defaults: build, ../shared beside the source tree, 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tools=$(cd "${1:-$here/../build}" && pwd)/tools
die() { echo "bench/requant.sh: $*" >&2; exit 1; }
shared=$(cd "${2:-$here/../../shared}" && pwd) || die "no shared folder ${2:-$here/../../shared}"
runs=${3:-3}
model=$shared/models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx
[ -f "$model" ] || die "$model not found"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# 31 photos, JPEG and PNG, in a fixed order (the digit samples of
# testvectors/ are not photos): 30 in the data set, the 31st for (d).
mkdir "$w/photos"
n=0
while IFS= read -r f; do
  n=$((n + 1))
  if [ "$n" -le 30 ]; then
    ln -s "$shared/images/$f" "$w/photos/$(printf %02d "$n")_${f##*/}"
  else
    extra=$shared/images/$f
    break
  fi
done < <(cd "$shared/images" && find coral misc opencv-samples ort-examples skimage ultraface \
  -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | LC_ALL=C sort)
[ "$n" -eq 31 ] || die "only $n JPEG/PNG photos under $shared/images (need 31)"
extra_link=$w/photos/31_${extra##*/}

meta() { # DATA_TYPE [SCHEME]: PP-OCR det's normalization (BGR, ImageNet means, one scale)
  {
    printf 'inputs:\n  - name: x\n    shape: [1, 3, 256, 512]\n'
    printf '    means: [123.675, 116.28, 103.53]\n    scale: 58.4\n    format: bgr\n'
    printf 'quantization:\n  data_type: %s\n' "$1"
    [ -n "${2:-}" ] && printf '  scheme: %s\n' "$2"
    printf "  dataset: 'photos/*'\n"
  } >"$w/m.yaml"
}
base() { meta "{'*': uint8}"; }
conv() {
  "$tools/synap" convert --model "$model" --target VS680 --meta "$w/m.yaml" --out-dir "$w/out" \
    --silent
}
ms() { # COMMAND...: wall time in ms
  local t0 t1
  t0=$(date +%s%N)
  "$@" || { echo "bench/requant.sh: $* failed" >&2; return 1; }
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000)) | awk '{printf "%.1f", $1 / 1000}'
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ran() { awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}' "$w/out/build/stages.log"; }
detail() { awk '{printf "%s%s %s %.0f", (NR > 1 ? ", " : ""), $1, $2, $3}' "$w/out/build/stages.log"; }
computed() { grep -q "^$1 computed " "$w/out/build/stages.log"; }
# check CASE: what stages.log must show for it
check() {
  case $1 in
  a) { computed calib && computed quant; } || die "(a) cold: calib and quant must compute: $(detail)" ;;
  b | c)
    ! grep -q '^calib ' "$w/out/build/stages.log" || die "($1) calib reran: $(detail)"
    computed quant || die "($1) quant did not rerun: $(detail)"
    ! cmp -s "$w/out/model.synap" "$w/snap/model.synap" || die "($1) model.synap did not change"
    ;;
  d) computed calib || die "(d) an added photo must rerun calib: $(detail)" ;;
  esac
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A times stages
# (a) cold: nothing in the out-dir, its cache included (the default OUT/cache)
for _ in $(seq "$runs"); do
  rm -rf "$w/out"
  base
  times[a]="${times[a]:-} $(ms conv)"
  check a
done
stages[a]=$(detail)
cp -a "$w/out" "$w/snap"

# one timed convert of CASE from the cold state, after SETUP...
from_cold() { # CASE SETUP...
  local c=$1
  shift
  for _ in $(seq "$runs"); do
    rm -rf "$w/out" "$extra_link"
    cp -a "$w/snap" "$w/out"
    base
    "$@"
    times[$c]="${times[$c]:-} $(ms conv)"
    check "$c"
  done
  stages[$c]=$(detail)
  rm -f "$extra_link"
}
from_cold b meta "{'*': int16}" dynamic_fixed_point
from_cold c meta "{'*': uint8, 'p2o.Concat.0...': int16}"
from_cold d ln -s "$extra" "$extra_link"

declare -A med
for c in a b c d; do med[$c]=$(echo "${times[$c]}" | median); done
echo "synap convert, PP-OCRv4 det 1x3x256x512, VS680, 30 photos, $(nproc) cores, load average at start $load0"
row() { # CASE LABEL
  printf '  %-52s %10.1f ms   median of %s:%s\n' "($1) $2" "${med[$1]}" "$runs" "${times[$1]}"
  printf '  %-52s %10s      %s\n' "" "" "${stages[$1]} (ms)"
}
row a "cold convert (empty out-dir and cache)"
row b "re-quantize: uint8 -> int16 dynamic_fixed_point"
row c "per-layer map only: p2o.Concat.0... int16"
row d "one photo added (31): calibration reruns"
awk -v a="${med[a]}" -v b="${med[b]}" -v c="${med[c]}" 'BEGIN {
  printf "  cold / re-quantize (a / b): %.1fx   cold / per-layer map (a / c): %.1fx\n", a / b, a / c }'
