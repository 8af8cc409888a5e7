#!/bin/bash
# synap-partition on real models: a two-delegate split of BlazeFace (and, through codegen, pack
# and synap-run, the same outputs as the unsplit model), the default delegate's cpu fallback
# warning, an explicit delegate that cannot run an op, unknown layers, '@id' and 'NAME...'.
# usage: partition.sh SYNAP-IMPORT SYNAP-PARTITION SYNAP-CODEGEN SYNAP-PACK SYNAP-RUN SYNAP-DUMP
#                     HERE SOURCE_DIR SHARED_DIR
set -u
imp=$1 part=$2 codegen=$3 pack=$4 run=$5 dump=$6 here=$7 src=$8 shared=$9
models=$shared/models/onnx
for m in blazeface_front_128 yunet_n_320 mlsd_tiny_320; do
    if [ ! -d "$models/$m" ]; then
        echo "SKIP: the shared models are not in $shared (meson option shared_dir)"
        exit 77
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export SYNAP_TARGETS_DIR=$src/targets

# "npu:0x74 cpu:1x19": delegate:subgraph x layers, one entry per subgraph in node order
layout() {
    "$dump" "$1" | grep -o "delegate='[a-z]*' subgraph=[0-9]*" | uniq -c |
        sed "s/ *\([0-9]*\) delegate='\([a-z]*\)' subgraph=\([0-9]*\)/\2:\3x\1/" | tr '\n' ' ' |
        sed 's/ $//'
}
expect_layout() { # ir want what
    local got
    got=$(layout "$1")
    [ "$got" = "$2" ] && echo "ok $3" || bad "$3: layout '$got', expected '$2'"
}
expect_error() { # want args...
    local want=$1
    shift
    rm -f "$tmp/err.ir"
    "$part" "$@" -o "$tmp/err.ir" 2> "$tmp/err.txt"
    local rc=$?
    [ $rc = 1 ] || bad "partition $*: exit status $rc, expected 1"
    [ "$(cat "$tmp/err.txt")" = "$want" ] || bad "partition $*: message '$(cat "$tmp/err.txt")', expected '$want'"
    [ -e "$tmp/err.ir" ] && bad "partition $*: left an output file"
    [ $rc = 1 ] && echo "ok error: ${want:0:60}..."
}

bf=$models/blazeface_front_128
"$imp" "$bf/face_detection_front_128x128_barracuda.onnx" -o "$tmp/bf.ir" || bad "import blazeface"
"$imp" "$models/yunet_n_320/yunet_n_320_320.onnx" -o "$tmp/yn.ir" || bad "import yunet"
"$imp" "$models/mlsd_tiny_320/"*.onnx -o "$tmp/ml.ir" || bad "import mlsd"

# 1. two delegates: '*': npu, X: cpu, X...: cpu (the metafile form of REFERENCE.md)
X=StatefulPartitionedCall/functional_1/re_lu_12/Relu
"$part" "$tmp/bf.ir" --target VS680 --delegate-map '*=npu' --delegate-map "$X=cpu" \
    --delegate-map "$X...=cpu" -o "$tmp/split.ir" -M "$tmp/split.d" 2> "$tmp/split.err" ||
    bad "split: $(cat "$tmp/split.err")"
[ -s "$tmp/split.err" ] && bad "split: unexpected messages: $(cat "$tmp/split.err")"
expect_layout "$tmp/split.ir" "npu:0x74 cpu:1x19" "blazeface split"
"$dump" "$tmp/split.ir" | grep -qF "'$X' Relu (%120) -> (%121)  | delegate='cpu'" ||
    bad "split: $X is not on the cpu"
[ "$(cat "$tmp/split.d")" = "$tmp/split.ir: $tmp/bf.ir $src/targets/vs680.yaml" ] ||
    bad "split: depfile '$(cat "$tmp/split.d")'"
# the same from an options file (the fragment synap convert writes), alias and all
printf '{"target": "dolphin", "delegate": [["*", "npu"], ["%s", "cpu"], ["%s...", "cpu"]]}' \
    "$X" "$X" > "$tmp/partition.json"
"$part" "$tmp/bf.ir" --options "$tmp/partition.json" -o "$tmp/split2.ir" &&
    cmp -s "$tmp/split.ir" "$tmp/split2.ir" && echo "ok options file = flags" ||
    bad "options file and flags give different IRs"
# the split model computes what the unsplit one computes
in=$bf/ref/astronaut/input_0.npy
if "$codegen" "$tmp/split.ir" --target VS680 -o "$tmp/split.cg.ir" &&
    "$pack" "$tmp/split.cg.ir" --target VS680 -o "$tmp/split.synap" -o "$tmp/split.txt" &&
    "$run" "$tmp/split.synap" "$in" --out-dir "$tmp/split.out" -q > /dev/null &&
    "$run" "$tmp/bf.ir" "$in" --out-dir "$tmp/whole.out" -q > /dev/null; then
    grep -q '^subgraphs: 2$' "$tmp/split.txt" || bad "model_info.txt does not say 'subgraphs: 2'"
    for k in 0 1 2 3; do
        python3 "$here/npycmp.py" "$tmp/split.out/output_$k.npy" "$tmp/whole.out/output_$k.npy" \
            1e-6 1e-5 > /dev/null || bad "split output $k differs from the unsplit model"
    done
    echo "ok split model = unsplit model"
else
    bad "codegen | pack | run of the split model failed"
fi

# 2. whole-network choices and targets
expect_layout_run() { # want what args...
    local want=$1 what=$2
    shift 2
    "$part" "$@" -o "$tmp/l.ir" 2> "$tmp/l.err" || bad "$what: $(cat "$tmp/l.err")"
    expect_layout "$tmp/l.ir" "$want" "$what"
}
expect_layout_run "npu:0x93" "blazeface default on vs680" "$tmp/bf.ir" --target vs680
expect_layout_run "gpu:0x93" "blazeface default on SL1620" "$tmp/bf.ir" --target SL1620
expect_layout_run "cpu:0x93" "blazeface on GENERIC" "$tmp/bf.ir" --target generic
expect_layout_run "gpu:0x93" "blazeface --delegate gpu" "$tmp/bf.ir" --target platypus --delegate gpu
# '@id' is the node index; 'NAME...' is every later layer but not NAME
expect_layout_run "cpu:0x1 npu:1x114" "yunet @0: cpu" "$tmp/yn.ir" --target VS680 --delegate-map '@0=cpu'
expect_layout_run "npu:0x1 cpu:1x114" "yunet Conv_0...: cpu" "$tmp/yn.ir" --target VS680 \
    --delegate-map 'Conv_0...=cpu'
# greedy order: layers 111 and 112 (cpu) wait until every ready npu layer (113, 114) has run
expect_layout_run "npu:0x113 cpu:1x2" "yunet @111 and @111...: cpu" "$tmp/yn.ir" --target VS680 \
    --delegate-map '@111=cpu' --delegate-map '@111...=cpu'
"$dump" "$tmp/l.ir" | grep -q "^  #114 'Reshape_169' Reshape .* delegate='cpu' subgraph=1$" ||
    bad "yunet @111: Reshape_169 is not the last layer"

# 3. default: the op the npu cannot run goes to the cpu, with a warning that names it
"$part" "$tmp/ml.ir" --target VS680 -o "$tmp/ml.p.ir" 2> "$tmp/ml.err" || bad "mlsd default failed"
want="synap-partition: warning: 1 layer runs on cpu: 'WireFrameModel_with_alpha/Decoder/Equal' (Equal)"
[ "$(cat "$tmp/ml.err")" = "$want" ] && echo "ok fallback warning" ||
    bad "mlsd: message '$(cat "$tmp/ml.err")', expected '$want'"
expect_layout "$tmp/ml.p.ir" "npu:0x97 cpu:1x1 npu:2x2" "mlsd fallback layout"

# 4. errors: exit 1, one line, no output
expect_error "synap-partition: layer 'WireFrameModel_with_alpha/Decoder/Equal' (Equal): delegate npu of VS680 cannot run Equal" \
    "$tmp/ml.ir" --target VS680 --delegate npu
expect_error "synap-partition: unknown layer 'Conv_999'; valid layers: 'Conv_0', 'Relu_1', 'Conv_2', 'Conv_3', 'Relu_4', 'MaxPool_5', 'Conv_6', 'Conv_7', 'Relu_8', 'Conv_9', 'Conv_10', 'Relu_11', 'Conv_12', 'Conv_13', 'Relu_14', 'Conv_15', 'Conv_16', 'Relu_17', 'MaxPool_18', 'Conv_19' and 95 more" \
    "$tmp/yn.ir" --target VS680 --delegate-map 'Conv_999=cpu'
expect_error "synap-partition: unknown layer 'Conv_999' in pattern 'Conv_999...'; valid layers: 'Conv_0', 'Relu_1', 'Conv_2', 'Conv_3', 'Relu_4', 'MaxPool_5', 'Conv_6', 'Conv_7', 'Relu_8', 'Conv_9', 'Conv_10', 'Relu_11', 'Conv_12', 'Conv_13', 'Relu_14', 'Conv_15', 'Conv_16', 'Relu_17', 'MaxPool_18', 'Conv_19' and 95 more" \
    "$tmp/yn.ir" --target VS680 --delegate-map 'Conv_999...=cpu'
expect_error "synap-partition: layer pattern '@115': layer id 115 out of range (0..114)" \
    "$tmp/yn.ir" --target VS680 --delegate-map '@115=cpu'
expect_error "synap-partition: delegate 'npu' is not available on GENERIC; its delegates: cpu, default" \
    "$tmp/yn.ir" --target GENERIC --delegate npu
expect_error "synap-partition: unknown target 'VS681'; valid targets: DOLPHIN, DVF120, GENERIC, HOST, PLATYPUS, SL1620, SL1640, SL1680, VS640, VS640A0, VS680, VS680A0" \
    "$tmp/yn.ir" --target VS681
expect_error "synap-partition: layer pattern 'INPUTS' is only valid in quantization maps" \
    "$tmp/yn.ir" --target VS680 --delegate-map 'INPUTS=cpu'

# 5. deterministic
"$part" "$tmp/yn.ir" --target VS680 --delegate-map 'Conv_12...=gpu' -o "$tmp/d1.ir" &&
    "$part" "$tmp/yn.ir" --target VS680 --delegate-map 'Conv_12...=gpu' -o "$tmp/d2.ir" &&
    cmp -s "$tmp/d1.ir" "$tmp/d2.ir" && echo "ok deterministic" || bad "two identical partitions differ"
exit $fail
