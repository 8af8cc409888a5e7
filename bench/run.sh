#!/usr/bin/env bash
# Times synap's float interpreter against ONNX Runtime on the same machine, in the same run.
#
#   bench/run.sh [BUILD_DIR]    (default: build; relative to the current directory or the repo)
#
# Environment: SYNAP_SHARED (default <repo>/../shared) holds models/onnx/; RUNS (default 20) timed
# runs and WARMUP (default 3) ORT warm-up runs per measurement; THREADS (default "1 2"); MODELS
# (default "blazeface ppocr"). Prints a table: model, threads, ORT median ms, synap median ms,
# synap/ORT, and each engine's max |diff| against the reference outputs, which shows both timed runs
# computed the reference result. Timings and differences are reported, never judged: the exit
# status is non-zero only if something failed to run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=${SYNAP_SHARED:-$repo/../shared}
if [[ -d $shared ]]; then shared=$(cd "$shared" && pwd); fi
runs=${RUNS:-20}
warmup=${WARMUP:-3}
threads_list=${THREADS:-1 2}
models=${MODELS:-blazeface ppocr}

build=${1:-build}
if [[ ! -d $build && -d $repo/$build ]]; then build=$repo/$build; fi

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$runs'"
[[ $warmup =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$warmup'"
[[ -d $shared/models/onnx ]] || die "no models in $shared/models/onnx (set SYNAP_SHARED)"
# shellcheck source=bench/ort.sh
. "$here/ort.sh"
ensure_ort "$here"

synap_import=$build/tools/synap-import
synap_run=$build/tools/synap-run
have_synap=1
if [[ ! -x $synap_import || ! -x $synap_run ]]; then
  echo "bench/run.sh: warning: no synap tools in $build/tools (build first: meson setup $build && ninja -C $build);" \
    "timing ONNX Runtime only" >&2
  have_synap=0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name -> model file and reference case (input_0.npy plus output_<i>.npy) under models/onnx/.
model_path() {
  case $1 in
    blazeface) echo "blazeface_front_128/face_detection_front_128x128_barracuda.onnx" ;;
    ppocr) echo "ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx" ;;
    *) die "unknown model '$1' (known: blazeface ppocr)" ;;
  esac
}
model_case() {
  case $1 in
    blazeface) echo "blazeface_front_128/ref/grace_hopper" ;;
    ppocr) echo "ppocr_v4_det/ref/board_topleft_2x" ;;
  esac
}
# Extra synap-import arguments: PP-OCRv4's input has dynamic H and W, fixed here to the case's.
model_import_args() {
  case $1 in
    ppocr) echo "--input-shape x=1,3,256,512" ;;
  esac
}

# Reads one field from the JSON on stdin; the max over outputs for max_abs_diff.
json_field() {
  node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s), f = process.argv[1];
      if (f === "max_abs_diff") {
        const d = j.outputs.filter((o) => "max_abs_diff" in o).map((o) => o.max_abs_diff);
        const m = d.length ? d.reduce((a, b) => (a === "inf" || b === "inf" ? "inf" : Math.max(a, b))) : "-";
        console.log(typeof m === "number" ? m.toExponential(2) : m);
      } else console.log(j[f]);
    });' "$1"
}

# synap-run prints "Inference timings (ms):  load: ..  init: ..  min: ..  median: X  max: ..".
synap_median() {
  sed -n 's/.*Inference timings (ms):.*median:[[:space:]]*\([0-9.eE+-]*\).*/\1/p' | head -n 1
}

status=0
rows=()
row() { printf '%-10s %7s %10s %10s %10s %14s %16s\n' "$@"; }
for m in $models; do
  model=$shared/models/onnx/$(model_path "$m")
  ref=$shared/models/onnx/$(model_case "$m")
  [[ -f $model && -f $ref/input_0.npy ]] || die "missing $model or $ref/input_0.npy"

  ir=$tmp/$m.ir
  imported=0
  if ((have_synap)); then
    read -r -a import_args <<<"$(model_import_args "$m")"
    if "$synap_import" "$model" -o "$ir" "${import_args[@]}" >"$tmp/import.log" 2>&1; then
      imported=1
    else
      echo "bench/run.sh: synap-import failed on $model:" >&2
      sed 's/^/  /' "$tmp/import.log" >&2
      status=1
    fi
  fi

  for t in $threads_list; do
    [[ $t =~ ^[1-9][0-9]*$ ]] || die "THREADS must list positive integers, got '$t'"
    ort_json=$(node "$here/ort_time.js" --model "$model" --input "$ref/input_0.npy" --ref-dir "$ref" \
      --threads "$t" --runs "$runs" --warmup "$warmup") || die "ort_time.js failed on $model"
    ort_ms=$(json_field median_ms <<<"$ort_json")
    ort_diff=$(json_field max_abs_diff <<<"$ort_json")

    synap_ms=n/a
    synap_diff=-
    if ((imported)); then
      # synap-run has no separate warm-up flag: its median over RUNS runs already discounts the first.
      out=$tmp/out-$m-$t
      if "$synap_run" "$ir" "$ref/input_0.npy" -q -r "$runs" --threads "$t" --out-dir "$out" \
        >"$tmp/run.log" 2>&1; then
        synap_ms=$(synap_median <"$tmp/run.log")
        synap_diff=$(node "$here/npy_diff.js" "$out" "$ref") || { synap_diff=failed; status=1; }
        if [[ -z $synap_ms ]]; then
          echo "bench/run.sh: synap-run printed no 'Inference timings' line for $m:" >&2
          sed 's/^/  /' "$tmp/run.log" >&2
          synap_ms=n/a
          status=1
        fi
      else
        echo "bench/run.sh: synap-run failed on $m at $t threads:" >&2
        sed 's/^/  /' "$tmp/run.log" >&2
        synap_ms=failed
        status=1
      fi
    fi

    ratio=-
    if [[ $synap_ms =~ ^[0-9.eE+-]+$ ]]; then
      ratio=$(awk -v s="$synap_ms" -v o="$ort_ms" 'BEGIN { if (o > 0) printf "%.2f", s / o; else print "-" }')
    fi
    rows+=("$(row "$m" "$t" "$ort_ms" "$synap_ms" "$ratio" "$ort_diff" "$synap_diff")")
  done
done

echo
echo "median of $runs runs (ONNX Runtime: after $warmup warm-up) on $(nproc) cores;" \
  "max|diff| against the reference outputs"
row model threads "ORT ms" "synap ms" synap/ORT "ORT max|diff|" "synap max|diff|"
printf '%s\n' "${rows[@]}"
exit $status
