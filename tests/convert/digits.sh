#!/usr/bin/env bash
# synap convert on examples/digits (always available): success, byte-identical
# outputs (two runs, -j1 vs -j2, target aliases), incremental behaviour read from
# OUT/build/stages.log, the shared cache, --preserve, --out-format nb, and a
# two-delegate split that gives the same outputs as the unsplit model.
. "$(dirname "$0")/lib.sh"

M=$W/digits.onnx
cp "$DIGITS" "$M"
write_meta() { # FORMAT [DELEGATE]
  {
    echo "inputs:"
    echo "  - name: input"
    echo "    shape: [1, 1, 8, 8]"
    echo "outputs:"
    echo "  - name: logits"
    echo "    format: $1"
    [ -n "${2:-}" ] && echo "delegate: $2"
  } >"$W/m.yaml"
}
write_meta "confidence_array"
conv() { # OUT [ARGS...]
  local d=$1
  shift
  convert_ok "convert into $(basename "$d") $*" --model "$M" --target VS680 --out-dir "$d" \
    --meta "$W/m.yaml" "$@"
}
all_computed="import:computed prune:computed partition:computed codegen:computed pack:computed"
all_cached="import:cached prune:cached partition:cached codegen:cached pack:cached"

# ---- a first conversion
D=$W/a
conv "$D"
check_eq "first convert runs every stage" "$(stages_run "$D")" "$all_computed"
for f in model.synap model_info.txt build/build.ninja build/import.json build/prune.json \
  build/partition.json build/codegen.json build/pack.json build/00-import.ir build/10-prune.ir \
  build/50-partition.ir build/60-codegen.ir; do
  [ -s "$D/$f" ] || bad "OUT/$f missing"
done
[ -d "$D/cache/v1" ] && ok "default cache is OUT/cache" || bad "no OUT/cache/v1"
ls "$D/build"/*.txt >/dev/null 2>&1 && bad "dumps written without --preserve" || ok "no dumps without --preserve"
if grep -q "$W" "$D/model.synap" "$D/model_info.txt"; then
  bad "an absolute path leaked into model.synap or model_info.txt"
else
  ok "no absolute paths in the outputs"
fi

# ---- no-op
conv "$D"
check_eq "a second identical convert runs no stage" "$(stage_names "$D")" ""
conv "$D" -j 1
check_eq "-j does not change the build" "$(stage_names "$D")" ""
convert_ok "convert with the alias 'dolphin'" --model "$M" --target dolphin --out-dir "$D" --meta "$W/m.yaml"
check_eq "an alias of the same target runs no stage" "$(stage_names "$D")" ""

# ---- byte-identical outputs: other out-dirs, own caches, -j1 vs -j2
conv "$W/b" -j 1
conv "$W/c" -j 2
same_file "model.synap identical across runs (-j1)" "$D/model.synap" "$W/b/model.synap"
same_file "model.synap identical with -j1 and -j2" "$W/b/model.synap" "$W/c/model.synap"
same_file "model_info.txt identical across runs" "$D/model_info.txt" "$W/c/model_info.txt"
for ir in 00-import 10-prune 50-partition 60-codegen; do
  same_file "$ir.ir identical across runs" "$D/build/$ir.ir" "$W/c/build/$ir.ir"
done

# ---- incremental: touching the model reruns import only (restat stops there)
sleep 1.1
touch "$M"
conv "$D"
check_eq "touching the model reruns import only" "$(stages_run "$D")" "import:cached"
conv "$D"
check_eq "and then nothing" "$(stage_names "$D")" ""

# ---- model_info.txt names the model by its file name; its folder reaches no output
check_eq "model_info.txt starts with the version and the model's file name" \
  "$(head -n 2 "$D/model_info.txt")" "$(printf 'Model converted with %s\nmodel: digits.onnx' \
  "$("$SYNAP" version)")"
mkdir -p "$W/elsewhere" "$W/frag"
cp "$M" "$W/elsewhere/digits.onnx"
cp "$M" "$W/elsewhere/renamed.onnx"
cp "$D"/build/*.json "$D/model.synap" "$D/model_info.txt" "$W/frag/"
moved() { # what changed between $W/frag and $D: file names, space-separated
  local f g changed=""
  for f in import.json prune.json partition.json codegen.json pack.json model.synap model_info.txt; do
    case $f in *.json) g=$D/build/$f ;; *) g=$D/$f ;; esac
    cmp -s "$W/frag/$f" "$g" || changed="$changed${changed:+ }$f"
  done
  echo "$changed"
}
convert_ok "convert the same model from another folder" --model "$W/elsewhere/digits.onnx" \
  --target VS680 --out-dir "$D" --meta "$W/m.yaml"
check_eq "another folder: no fragment or output changes" "$(moved)" ""
check_eq "another folder: import alone reruns (from the cache)" "$(stages_run "$D")" "import:cached"
convert_ok "convert the model under another name" --model "$W/elsewhere/renamed.onnx" \
  --target VS680 --out-dir "$D" --meta "$W/m.yaml"
check_eq "another name: only pack.json and model_info.txt change" "$(moved)" \
  "pack.json model_info.txt"
check_eq "another name: pack reruns" "$(stages_run "$D")" "import:cached pack:computed"
check_eq "another name: model_info.txt says so" "$(sed -n 2p "$D/model_info.txt")" \
  "model: renamed.onnx"
conv "$D"
check_eq "back to the first model: both restored from the cache" "$(stages_run "$D")" \
  "import:cached pack:cached"

# ---- editing an output's format string reruns only pack
cp "$D/model.synap" "$W/before.synap"
write_meta "confidence_array class_index_base=1"
conv "$D"
check_eq "editing an output format reruns pack only" "$(stages_run "$D")" "pack:computed"
grep -q "class_index_base=1" "$D/model.synap" && ok "the new format is in model.synap" ||
  bad "the new format string is not in model.synap"

# ---- editing the delegate reruns partition, codegen and pack
write_meta "confidence_array class_index_base=1" cpu
conv "$D"
check_eq "editing delegate reruns partition, codegen, pack" "$(stage_names "$D")" "partition codegen pack"
write_meta "confidence_array"
conv "$D"
check_eq "going back restores from the cache" "$(stages_run "$D")" \
  "partition:cached codegen:cached pack:cached"
same_file "and gives the first bytes again" "$D/model.synap" "$W/before.synap"

# ---- --profiling changes pack only
conv "$D" --profiling
check_eq "--profiling reruns pack only" "$(stage_names "$D")" "pack"
conv "$D"
check_eq "and back" "$(stages_run "$D")" "pack:cached"

# ---- a shared cache restores a deleted out-dir without computing
conv "$W/e" --cache-dir "$W/shared-cache"
rm -rf "$W/e"
conv "$W/e" --cache-dir "$W/shared-cache"
check_eq "deleted out-dir, cache elsewhere: every stage cached" "$(stages_run "$W/e")" "$all_cached"
same_file "restored model.synap identical" "$W/e/model.synap" "$D/model.synap"
[ -e "$W/e/cache" ] && bad "OUT/cache created although --cache-dir was given" || ok "no OUT/cache with --cache-dir"
rm -rf "$W/f"
SYNAP_CACHE_DIR=$W/shared-cache "$SYNAP" convert --model "$M" --target vs680 --out-dir "$W/f" \
  --meta "$W/m.yaml" --silent
check_eq "SYNAP_CACHE_DIR is the cache too" "$(stages_run "$W/f")" "$all_cached"

# ---- --preserve writes the text dumps, and they are what synap-dump prints
conv "$D" --preserve
check_eq "--preserve runs no stage" "$(stage_names "$D")" ""
for ir in 00-import 10-prune 50-partition 60-codegen; do
  "$TOOLS/synap-dump" "$D/build/$ir.ir" >"$W/dump.txt"
  same_file "--preserve: $ir.txt" "$D/build/$ir.txt" "$W/dump.txt"
done
conv "$D"
ls "$D/build"/*.txt >/dev/null 2>&1 && bad "dumps left after a convert without --preserve" ||
  ok "dumps removed without --preserve"

# ---- --silent prints nothing; --verbose shows the stage commands
out=$("$SYNAP" convert --model "$M" --target VS680 --out-dir "$D" --meta "$W/m.yaml" --silent 2>&1)
check_eq "--silent prints nothing" "$out" ""
out=$("$SYNAP" convert --model "$M" --target VS680 --out-dir "$W/v" --meta "$W/m.yaml" --verbose 2>&1)
case "$out" in
*synap-partition*"--options partition.json"*"Conversion successful") ok "--verbose shows the commands" ;;
*) bad "--verbose output: $out" ;;
esac

# ---- --out-format nb: model.nb + model.json for one NPU subgraph
write_meta "confidence_array" npu
conv "$W/nb" --out-format nb
[ -s "$W/nb/model.nb" ] && [ -s "$W/nb/model.json" ] && [ ! -e "$W/nb/model.synap" ] &&
  ok "--out-format nb writes model.nb and model.json" || bad "--out-format nb: $(ls "$W/nb")"
conv "$W/nb"
[ -s "$W/nb/model.synap" ] && [ ! -e "$W/nb/model.nb" ] && [ ! -e "$W/nb/model.json" ] &&
  ok "back to synap: the nb files are gone" || bad "after nb -> synap: $(ls "$W/nb")"

# ---- two delegates: the split model gives the unsplit model's outputs
write_meta "confidence_array"
cat >>"$W/m.yaml" <<'EOF'
delegate:
  '*': npu
  /conv3/Conv: cpu
  /conv3/Conv...: cpu
EOF
conv "$W/split"
grep -q "subgraphs: 2" "$W/split/model_info.txt" && ok "the split model has 2 subgraphs" ||
  bad "model_info.txt of the split model does not say 'subgraphs: 2'"
for img in 307_2 918_3 1579_0; do
  in=$SRC/examples/digits/images/$img.npy
  rm -rf "$W/o1" "$W/o2" "$W/o3"
  "$TOOLS/synap-run" "$D/model.synap" "$in" --out-dir "$W/o1" -q >/dev/null &&
    "$TOOLS/synap-run" "$W/split/model.synap" "$in" --out-dir "$W/o2" -q >/dev/null &&
    "$TOOLS/synap-run" "$D/build/00-import.ir" "$in" --out-dir "$W/o3" -q >/dev/null ||
    bad "synap-run failed on $img"
  if python3 "$SRC/tests/convert/npycmp.py" "$W/o1/output_0.npy" "$W/o3/output_0.npy" 1e-6 >/dev/null; then
    ok "$img: model.synap = the IR interpreter"
  else
    bad "$img: model.synap differs from the IR interpreter"
  fi
  same_file "$img: split = unsplit outputs" "$W/o1/output_0.npy" "$W/o2/output_0.npy"
done

finish
