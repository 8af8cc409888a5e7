#!/bin/sh
# synap-quant / synap-compare end to end on the test conv net.
# usage: run.sh SYNAP_IMPORT SYNAP_CALIB SYNAP_QUANT SYNAP_COMPARE CONVNET.onnx
set -u
IMPORT=$1
CALIB=$2
QUANT=$3
COMPARE=$4
NET=$5
W=$(mktemp -d "${TMPDIR:-/tmp}/synap-quant.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { fails=$((fails + 1)); echo "FAIL $1"; }

"$IMPORT" "$NET" -o "$W/f.ir" || { echo "FAIL import"; exit 1; }
# uniform [0, 1] samples, like synap-compare's random inputs
"$CALIB" "$W/f.ir" --dataset random --count 32 --scale 255 -o "$W/s.stats" ||
    { echo "FAIL calib"; exit 1; }

# the output's entire SQNR from synap-compare --json (one layer per line)
out_sqnr() {
    "$COMPARE" "$W/f.ir" "$1" --json | tr -d '\n ' | sed 's/},{"id"/}\n{"id"/g' |
        grep '"tensor":"logits"' | sed 's/.*"entire":{"cosine":[^,]*,"sqnr_db":\([-0-9.e+]*\)[,}].*/\1/'
}
# at_least VALUE MIN
at_least() { awk -v v="$1" -v m="$2" 'BEGIN { exit !(v + 0 >= m + 0) }'; }

# ---- every scheme and algorithm: output SQNR (8-bit >= 28 dB, int16 >= 75 dB)
for ts in uint8:default uint8:asymmetric_affine int8:asymmetric_affine int8:dynamic_fixed_point \
          int8:perchannel_symmetric_affine int16:dynamic_fixed_point; do
    t=${ts%%:*}
    s=${ts#*:}
    min=28
    [ "$t" = int16 ] && min=75
    for a in standard kl_divergence moving_average percentile mse; do
        name="$t $s $a"
        if ! "$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/q.ir" --data-type "$t" --scheme "$s" \
            --algorithm "$a" 2>"$W/err"; then
            bad "$name: $(cat "$W/err")"
            continue
        fi
        [ -s "$W/err" ] && { bad "$name: unexpected warnings: $(cat "$W/err")"; continue; }
        v=$(out_sqnr "$W/q.ir")
        if [ -n "$v" ] && at_least "$v" "$min"; then ok "$name: $v dB"; else bad "$name: '$v' dB < $min"; fi
    done
done

# ---- three outputs; kl's entropy file in SyNAP's format
if "$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/q.ir" -o "$W/info.yaml" -o "$W/ent.txt" \
    --algorithm kl_divergence &&
    [ "$(wc -l <"$W/ent.txt")" -eq 12 ] &&
    ! grep -Evq '^@[a-z0-9]+:(out0|weight), (0|1)\.[0-9]{6}$' "$W/ent.txt" &&
    grep -q '^@conv2:weight, ' "$W/ent.txt" && grep -q '^@fc:out0, ' "$W/ent.txt"; then
    ok "kl entropy file"
else
    bad "kl entropy file"
fi
# every layer id of the float IR is listed
ids=$(grep -c '^  - id: ' "$W/info.yaml")
[ "$ids" -eq 11 ] && ok "info lists 11 layer ids" || bad "info lists $ids layer ids"

# ---- a mixed uint8 / int16 split inserts a requantization layer
if "$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/m.ir" -o "$W/m.yaml" --type-map '*=uint8' \
    --type-map conv3=int16 --type-map 'conv3...=int16' --dequantize &&
    grep -q '^  - name: "p1#int16"$' "$W/m.yaml" &&
    grep -A1 '^  - name: "p1#int16"$' "$W/m.yaml" | grep -q 'op: QuantizeLinear'; then
    v=$(out_sqnr "$W/m.ir")
    if at_least "$v" 28; then ok "mixed split: $v dB"; else bad "mixed split: $v dB"; fi
else
    bad "mixed split"
fi
"$COMPARE" "$W/f.ir" "$W/m.ir" >"$W/table.txt" && head -n 1 "$W/table.txt" | grep -q '^layer (worst first)' &&
    [ "$(wc -l <"$W/table.txt")" -eq 12 ] && ok "compare table" || bad "compare table"

# ---- bad input: exit 1, the exact message, no output
expect_fail() {
    name=$1
    want=$2
    shift 2
    rm -f "$W/x.ir"
    "$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/x.ir" "$@" 2>"$W/err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(cat "$W/err")" = "$want" ] && [ ! -e "$W/x.ir" ]; then
        ok "$name"
    else
        bad "$name: rc $rc, '$(cat "$W/err")'"
    fi
}
expect_fail "uint8 mixed with int8" "synap-quant: data_type: uint8 and int8 may not be mixed" \
    --type-map '*=uint8' --type-map conv3=int8
expect_fail "forbidden scheme/type pair" \
    "synap-quant: scheme: asymmetric_affine is for 8-bit types only (data_type is int16)" \
    --data-type int16 --scheme asymmetric_affine
expect_fail "pattern naming no layer" \
    "synap-quant: data_type: unknown layer 'conv9' in pattern 'conv9...'; valid layers: 'conv1', 'relu1', 'conv2', 'relu2', 'add1', 'pool1', 'conv3', 'relu3', 'gap', 'flatten', 'fc'" \
    --type-map '*=uint8' --type-map 'conv9...=int16'
"$COMPARE" "$W/f.ir" 2>/dev/null
[ $? -eq 1 ] && ok "compare usage" || bad "compare usage"

# ---- the stage cache: a second run is a hit with the same bytes
"$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/c1.ir" --cache-dir "$W/cache" --stage-log "$W/log" &&
    "$QUANT" "$W/f.ir" "$W/s.stats" -o "$W/c2.ir" --cache-dir "$W/cache" --stage-log "$W/log" &&
    cmp -s "$W/c1.ir" "$W/c2.ir" && tail -n 1 "$W/log" | grep -q '^quant cached ' &&
    ok "cache hit" || bad "cache hit"

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
