#!/usr/bin/env bash
# The examples: examples/makefile (make converts digits through the stage tools'
# depfiles; a second make does nothing; touching an input reruns what it reaches)
# and examples/pipeline/run.sh (the stages joined by pipes).
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || { echo "SKIP: make not installed"; exit 77; }
O=$W/mk
# a private copy of the target files, so that touching one disturbs no other test
cp -r "$SRC/targets" "$W/targets"
export SYNAP_TARGETS_DIR=$W/targets
mk() { make -C "$SRC/examples/makefile" --no-print-directory SYNAP_BIN="$TOOLS" OUT="$O" "$@"; }
if mk >"$W/make1.txt" 2>&1; then ok "make converts"; else bad "make failed: $(cat "$W/make1.txt")"; fi
[ -s "$O/model.synap" ] && [ -s "$O/model_info.txt" ] && ok "make wrote model.synap" || bad "no model.synap"
check_eq "make ran every stage" "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}' "$O/stages.log")" \
  "import prune partition codegen pack"
for d in 00-import.ir.d 10-prune.ir.d 50-partition.ir.d 60-codegen.ir.d pack.d; do
  [ -s "$O/$d" ] || bad "depfile $d missing"
done
grep -q "vs680.yaml" "$O/50-partition.ir.d" && ok "the partition depfile names the target file" ||
  bad "50-partition.ir.d: $(cat "$O/50-partition.ir.d")"
: >"$O/stages.log"
out=$(mk 2>&1)
check_eq "a second make does nothing" "$out" "make: Nothing to be done for 'all'."
check_eq "  and runs no stage" "$(cat "$O/stages.log")" ""
# a file only the depfile knows about: the target description
sleep 1.1
touch "$W/targets/vs680.yaml"
mk >/dev/null 2>&1
check_eq "touching the target file (known from the depfiles) reruns the stages that read it (pack does not)" \
  "$(awk '{printf "%s%s:%s ", "", $1, $2}' "$O/stages.log")" \
  "partition:cached codegen:cached "

# the same model as synap convert makes with the same options
printf 'inputs:\n  - name: input\n    shape: [1, 1, 8, 8]\noutputs:\n  - name: logits\n' >"$W/m.yaml"
convert_ok "synap convert with the same options" --model "$DIGITS" --target VS680 --out-dir "$W/conv" --meta "$W/m.yaml"
same_file "make and synap convert give the same model.synap" "$O/model.synap" "$W/conv/model.synap"

# the shell pipeline
if "$SRC/examples/pipeline/run.sh" "$TOOLS/.." "$W/pipe" >"$W/pipe.txt" 2>&1; then
  ok "examples/pipeline/run.sh"
else
  bad "examples/pipeline/run.sh: $(cat "$W/pipe.txt")"
fi
grep -q "subgraphs: 2" "$W/pipe/model_info.txt" 2>/dev/null && ok "the pipeline's model has 2 subgraphs" ||
  bad "pipeline model_info.txt"
finish
