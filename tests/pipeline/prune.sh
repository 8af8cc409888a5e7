#!/bin/bash
# synap-prune on real models: each cut of cases.txt (imported, pruned, run with synap-run) gives
# what ONNX Runtime gives on the same cut (data/, made by gen_refs.py); plus the messages for
# bad names, the forced batch dimension, and stdin/stdout piping.
# usage: prune.sh SYNAP-IMPORT SYNAP-PRUNE SYNAP-RUN SYNAP-DUMP HERE SHARED_DIR
set -u
imp=$1 prune=$2 run=$3 dump=$4 here=$5 shared=$6
models=$shared/models/onnx
if [ ! -d "$models/blazeface_front_128" ] || [ ! -d "$models/yunet_n_320" ]; then
    echo "SKIP: the shared models are not in $shared (meson option shared_dir)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

while IFS='|' read -r case model cut outs inp; do
    case $case in '' | '#'*) continue ;; esac
    args=()
    [ "$cut" != - ] && args+=(--input "$cut")
    for o in $outs; do args+=(--output "$o"); done
    if [ "$inp" = data ]; then inp=$here/data/$case/input_0.npy; else inp=$models/$inp; fi
    # a pipe, as in a hand-run pipeline: stdin to stdout
    if ! "$imp" "$models/$model" | "$prune" "${args[@]}" > "$tmp/$case.ir"; then
        bad "$case: import | prune failed"
        continue
    fi
    if ! "$run" "$tmp/$case.ir" "$inp" --out-dir "$tmp/$case" -q > /dev/null; then
        bad "$case: synap-run failed"
        continue
    fi
    k=0
    for o in $outs; do
        python3 "$here/npycmp.py" "$tmp/$case/output_$k.npy" "$here/data/$case/output_$k.npy" \
            1e-4 1e-3 || bad "$case: output $k ($o) differs from ONNX Runtime"
        k=$((k + 1))
    done
    [ -e "$tmp/$case/output_$k.npy" ] && bad "$case: more outputs than the $k asked for"
    # the graph's inputs are exactly the cut (the original input is gone), batch forced to 1
    if [ "$cut" != - ]; then
        name=${cut%=*}
        dims=${cut##*=}
        want="[1, $(echo "${dims#*,}" | sed 's/,/, /g')]"
        "$dump" "$tmp/$case.ir" > "$tmp/$case.txt"
        grep -q "^inputs: %[0-9]* '$name'\$" "$tmp/$case.txt" || bad "$case: inputs are not just '$name'"
        grep -qF "'$name' float32 $want" "$tmp/$case.txt" || bad "$case: input shape is not $want"
    fi
    echo "ok $case"
done < "$here/cases.txt"

# deterministic: the same cut twice gives the same bytes
y=$models/yunet_n_320/yunet_n_320_320.onnx
"$imp" "$y" -o "$tmp/y.ir" || bad "import yunet"
"$prune" "$tmp/y.ir" --output 297 -o "$tmp/a.ir" && "$prune" "$tmp/y.ir" --output 297 -o "$tmp/b.ir" &&
    cmp -s "$tmp/a.ir" "$tmp/b.ir" || bad "two identical cuts differ"

# bad names: exit 1, one clear line, no output file
expect_error() { # expected-message prune-args...
    local want=$1
    shift
    rm -f "$tmp/err.ir"
    "$prune" "$tmp/y.ir" "$@" -o "$tmp/err.ir" 2> "$tmp/err.txt"
    local rc=$?
    [ $rc = 1 ] || bad "prune $*: exit status $rc, expected 1"
    [ "$(cat "$tmp/err.txt")" = "$want" ] || bad "prune $*: message '$(cat "$tmp/err.txt")', expected '$want'"
    [ -e "$tmp/err.ir" ] && bad "prune $*: left an output file"
}
expect_error "synap-prune: output: unknown tensor 'bbox'; candidates: 'bbox_8', 'bbox_16', 'bbox_32'" \
    --output bbox
expect_error "synap-prune: input: 'Relu_4' is a layer, not a tensor; its output is '215'" --input Relu_4=1,2
expect_error "synap-prune: input: unknown tensor 'nope'; candidates: 'input', '458', '211', '212', '461', '215', '216', '217', '464', '220', '221', '467', '224', '225', '470', '228', '229', '473', '232', '233' and 96 more" \
    --input nope
expect_error "synap-prune: inputs[0]: 'x=1,a': expected NAME=D0,D1,..." --input x=1,a
expect_error "synap-prune: input '313' does not feed any output" --input 313 --output 295
exit $fail
