#!/bin/sh
# Bad inputs to synap-import: each must exit 1 with exactly one line on
# stderr naming the file and the problem, and leave no output file behind.
# usage: run.sh SYNAP_IMPORT TESTS_DATA_DIR
set -u
IMPORT=$1
DATA=$2/onnx
WORK=$(mktemp -d "${TMPDIR:-/tmp}/synap-badinput.XXXXXX") || exit 2
IN=$WORK/in
OUT=$WORK/out
mkdir "$IN" "$OUT"
trap 'rm -rf "$WORK"' EXIT
fails=0
count=0

# expect STATUS MODEL PATTERN [OPTIONS...]
expect() {
    want=$1 model=$2 pattern=$3
    shift 3
    count=$((count + 1))
    "$IMPORT" "$model" -o "$OUT/out.ir" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    got=$?
    problem=
    if [ "$got" -ne "$want" ]; then
        problem="exit status $got, expected $want"
    elif [ "$(wc -l <"$WORK/stderr")" -ne 1 ]; then
        problem="expected exactly one line on stderr"
    elif [ $# -eq 0 ] && ! grep -qF "synap-import: $model: " "$WORK/stderr"; then
        problem="message does not name the file"
    elif ! grep -qF -- "$pattern" "$WORK/stderr"; then
        problem="message lacks '$pattern'"
    elif [ -n "$(ls -A "$OUT")" ]; then
        problem="left files behind: $(ls -A "$OUT")"
    elif [ -s "$WORK/stdout" ]; then
        problem="wrote to stdout"
    fi
    if [ -n "$problem" ]; then
        fails=$((fails + 1))
        echo "FAIL $(basename "$model") $*: $problem"
        sed 's/^/    stderr: /' "$WORK/stderr"
    else
        echo "ok   $(basename "$model") $*: $(cat "$WORK/stderr")"
    fi
    rm -f "$OUT"/* "$OUT"/.[!.]* 2>/dev/null
}

# a real model truncated at several lengths
size=$(wc -c <"$DATA/legacy6.onnx")
for n in 1 2 10 100 500 1000 $((size - 1)); do
    head -c "$n" "$DATA/legacy6.onnx" >"$IN/truncated_$n.onnx"
    expect 1 "$IN/truncated_$n.onnx" "not an ONNX model"
done
: >"$IN/empty.onnx"
expect 1 "$IN/empty.onnx" "not an ONNX model"
expect 1 "$DATA/bad_random.onnx" "not an ONNX model"     # 4096 bytes, fixed seed
expect 1 "$DATA/bad_png.onnx" "not an ONNX model"
expect 1 "$DATA/bad_lfs.onnx" "is a git-lfs pointer file, not the model: run git lfs pull"
expect 1 "$DATA/cycle.onnx" "graph has a cycle through node 'loop_add' (Add)"
expect 1 "$DATA/bad_overflow.onnx" "input 'x': shape [1099511627776, 1099511627776, 1099511627776] has too many elements"
expect 1 "$DATA/bad_overflow_init.onnx" "tensor 'w': shape [1099511627776, 1099511627776, 1099511627776] has too many elements"
expect 1 "$DATA/bad_gather.onnx" "node 'gather' (Gather): input 1: index 5 is out of range"
expect 1 "$DATA/bad_axis.onnx" "node 'softmax' (Softmax): axis 5 out of range"
expect 1 "$DATA/bad_opset.onnx" "unsupported opset 19 (supported: 6-18)"
expect 1 "$DATA/bad_opset5.onnx" "unsupported opset 5 (supported: 6-18)"
expect 1 "$DATA/bad_empty.onnx" "empty graph"
expect 1 "$DATA/bad_size.onnx" "tensor 'w': raw data has 12 bytes, shape [4] needs 16"
expect 1 "$DATA/bad_string.onnx" "string tensors are not supported"
expect 1 "$DATA/bad_external_abs.onnx" "must be a relative path inside the model's folder"
expect 1 "$DATA/bad_external_dotdot.onnx" "must be a relative path inside the model's folder"
expect 1 "$DATA/bad_external_range.onnx" "beyond the end of 'external.bin'"
expect 1 "$DATA/unsupported.onnx" "3 unsupported ops: node 'foo' (FooBar), node 'fc' (com.microsoft.FusedConv), node 'y' (Unique)"
expect 1 "$DATA/dynamic.onnx" "input 'x': dimension 2 is dynamic ('H'); fix it with --input-shape x=1,3,H,8"
expect 1 "$IN/no_such_model.onnx" "cannot open"
# options
expect 1 "$DATA/dynamic.onnx" "bad --input-shape 'x=1,,3'" --input-shape x=1,,3
expect 1 "$DATA/dynamic.onnx" "--input-shape: the model has no input 'nope'" --input-shape nope=1,2
# an output that cannot be written is an I/O error (2), still one line
count=$((count + 1))
"$IMPORT" "$DATA/shape_chain.onnx" -o "$WORK/missing/dir/out.ir" 2>"$WORK/stderr"
if [ $? -ne 2 ] || [ "$(wc -l <"$WORK/stderr")" -ne 1 ]; then
    fails=$((fails + 1))
    echo "FAIL unwritable output: expected exit 2 and one line"
fi

echo "$((count - fails))/$count bad inputs handled"
[ "$fails" -eq 0 ]
