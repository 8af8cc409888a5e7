#!/bin/sh
# Independent TFLite-runtime reference for the ArmNN cases of the shared
# TFLite models: runs every SHARED/models/tflite/*/ref/* case whose engine is
# ArmNN through (1) the TFLite interpreter of the npm package
# @tensorflow/tfjs-tflite (WASM build, loaded directly in node, 1 thread) and
# (2) synap-import + synap-run, and prints max |diff| / differing elements for
# TFLite-vs-synap, TFLite-vs-ArmNN and synap-vs-ArmNN (compare.js).
#
# usage: bench/tflite_runtime/run.sh [SCRATCH_DIR]
#   SCRATCH_DIR  where npm installs the package and results go (default $TMPDIR
#                or /tmp; a subfolder tflite_runtime/ is used)
# env: SHARED     shared folder (default ../shared beside the checkout)
#      BUILD      synap build dir (default <repo>/build)
#      TFJS_TFLITE_VERSION (default 0.0.1-alpha.6), TFLITE_VARIANT cc|cc_simd (default cc)
# Versions: 0.0.1-alpha.2 and .6 (TFLite snapshots ~2.5/2.6 and ~2.6/2.7) run
# quantized models on TFLite's builtin kernels (XNNPACK only takes float
# models: "Created TensorFlow Lite XNNPACK delegate" is logged only for them);
# 0.0.1-alpha.10 (~2.12) hands Conv/DepthwiseConv/FC/Add/... of int8 AND uint8
# models to its default XNNPACK delegate (see RUNDIR/.../tfl/nodes.json),
# i.e. XNNPACK's QS8/QU8 requantization, not TFLite's builtin kernels.
# Cost: ~20 s for the 32 cases (+ npm install); node 20, 1 thread.
#      CASES      optional grep -E pattern on "model/case" to run a subset
#      EXPORT     a folder: also copy the runtime's outputs of every quantized
#                 case there (export.js), e.g. EXPORT=tests/data/tflite_runtime
#                 to refresh the second reference meson test checks exactly
# Needs node (>= 18) and npm with registry access; not part of meson test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scratch=${1:-${TMPDIR:-/tmp}}/tflite_runtime
shared=${SHARED:-$repo/../shared}
build=${BUILD:-$repo/build}
ver=${TFJS_TFLITE_VERSION:-0.0.1-alpha.6}
variant=${TFLITE_VARIANT:-cc}
models=$shared/models/tflite

[ -d "$models" ] || { echo "run.sh: no $models" >&2; exit 77; }
for t in synap-import synap-run; do
    [ -x "$build/tools/$t" ] || { echo "run.sh: $build/tools/$t missing (ninja -C $build)" >&2; exit 2; }
done
command -v node >/dev/null && command -v npm >/dev/null || { echo "run.sh: needs node and npm" >&2; exit 2; }

mkdir -p "$scratch/npm-$ver"
pkg=$scratch/npm-$ver/node_modules/@tensorflow/tfjs-tflite
if [ "$(node -p "try{require('$pkg/package.json').version}catch(e){''}")" != "$ver" ]; then
    (cd "$scratch/npm-$ver" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
     npm install --ignore-scripts --no-audit --no-fund --legacy-peer-deps --loglevel=error \
         "@tensorflow/tfjs-tflite@$ver" >&2)
fi
echo "tfjs-tflite $(node -p "require('$pkg/package.json').version"), wasm variant tflite_web_api_$variant" >&2

out=$scratch/run-$ver
rm -rf "$out"
for cj in "$models"/*/ref/*/case.json; do
    grep -q '"engine": *"armnn' "$cj" || continue
    cdir=$(dirname "$cj")
    cs=$(basename "$cdir")
    model=$(basename "$(dirname "$(dirname "$cdir")")")
    [ -z "${CASES:-}" ] || echo "$model/$cs" | grep -Eq "$CASES" || continue
    r=$out/$model/$cs
    mkdir -p "$r/tfl" "$r/syn"
    # model path, graph-order inputs and --input-shape args from case.json
    node -e '
        const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const d = require("path").dirname(process.argv[1]);
        console.log(require("path").resolve(d, c.model));
        console.log(c.inputs.map(i => d + "/" + i.file).join(" "));
        console.log(c.inputs.map(i => "--input-shape " + i.name + "=" + i.shape.join(",")).join(" "));
    ' "$cj" > "$r/args"
    tfl=$(sed -n 1p "$r/args"); ins=$(sed -n 2p "$r/args"); shp=$(sed -n 3p "$r/args")
    echo "== $model/$cs" >&2
    # shellcheck disable=SC2086
    node "$here/tflite_run.js" --pkg "$pkg" --variant "$variant" --threads 1 \
        "$tfl" "$r/tfl" $ins 2> "$r/tfl/log.txt" || cp "$r/tfl/log.txt" "$r/tfl/error.txt"
    # shellcheck disable=SC2086
    { "$build/tools/synap-import" "$tfl" $shp -o "$r/syn/model.ir" &&
      "$build/tools/synap-run" "$r/syn/model.ir" $ins --out-dir "$r/syn" >/dev/null; } \
        2> "$r/syn/log.txt" || cp "$r/syn/log.txt" "$r/syn/error.txt"
done
node "$here/compare.js" "$models" "$out"
[ -z "${EXPORT:-}" ] || node "$here/export.js" "$models" "$out" "$EXPORT"
