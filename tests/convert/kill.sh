#!/usr/bin/env bash
# kill -9 in the middle of a convert, then a rerun: exit 0 and the same bytes as
# a clean run, and the shared cache is not corrupt (a later convert into a fresh
# out-dir restores everything from it). PP-OCRv4 det when ../shared is there
# (a convert takes long enough to be cut anywhere), else examples/digits.
. "$(dirname "$0")/lib.sh"

ppocr=models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx
if [ -n "$SHARED" ] && [ -f "$SHARED/$ppocr" ]; then
  M=$SHARED/$ppocr
  printf 'inputs:\n  - name: x\n    shape: [1, 3, 256, 512]\n' >"$W/m.yaml"
  delays="0.05 0.1 0.15 0.2 0.25 0.3"
else
  echo "note: $SHARED/$ppocr absent: using examples/digits"
  M=$DIGITS
  printf 'inputs:\n  - name: input\n    shape: [1, 1, 8, 8]\n' >"$W/m.yaml"
  delays="0.003 0.006 0.01 0.015 0.02"
fi
conv() { "$SYNAP" convert --model "$M" --target VS680 --meta "$W/m.yaml" --silent "$@"; }

conv --out-dir "$W/ref" || bad "clean convert failed"
n=0 cut=0
for t in $delays; do
  n=$((n + 1))
  D=$W/k$n
  C=$W/cache$n # a fresh cache each time, so that every stage computes and can be cut
  if [ $((n % 2)) = 1 ]; then
    # synap alone (ninja and the stages are told to stop)
    conv --out-dir "$D" --cache-dir "$C" &
    pid=$!
    sleep "$t"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    what="synap"
  else
    # the whole process group: synap, ninja and the running stage, mid-write
    setsid bash -c 'exec "$@"' _ "$SYNAP" convert --model "$M" --target VS680 --meta "$W/m.yaml" \
      --silent --out-dir "$D" --cache-dir "$C" &
    pid=$!
    sleep "$t"
    kill -9 -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    what="the process group"
  fi
  [ -e "$D/model.synap" ] || cut=$((cut + 1))
  done_stages=$(awk '{printf "%s%s", (NR > 1 ? "," : ""), $1}' "$D/build/stages.log" 2>/dev/null)
  if conv --out-dir "$D" --cache-dir "$C"; then
    same_file "kill -9 of $what after ${t}s (done: ${done_stages:-none}), rerun: same bytes as a clean run" \
      "$W/ref/model.synap" "$D/model.synap"
    same_file "  and the same model_info.txt" "$W/ref/model_info.txt" "$D/model_info.txt"
  else
    bad "rerun after kill -9 of $what after ${t}s failed"
  fi
  if [ -d "$C/v1/tmp" ] && [ -n "$(ls -A "$C/v1/tmp")" ]; then
    echo "note: left-over temporaries in cache/v1/tmp (never visible as entries): $(ls "$C/v1/tmp" | wc -l)"
  fi
  rm -rf "$W/fresh"
  conv --out-dir "$W/fresh" --cache-dir "$C" || bad "convert from the cache failed"
  check_eq "  the cache restores a fresh out-dir without computing" "$(stages_run "$W/fresh")" \
    "import:cached prune:cached partition:cached codegen:cached pack:cached"
  same_file "  with the clean run's bytes" "$W/ref/model.synap" "$W/fresh/model.synap"
done
echo "$cut of $n converts were cut before model.synap was written"
[ "$cut" -gt 0 ] && ok "at least one convert was cut in the middle" || bad "no convert was cut: the delays are too long for this machine"
finish
