#!/bin/sh
# The common stage main through the real synap-import: cache miss then hit,
# byte-identical outputs, corrupt and incomplete cache entries, concurrent
# writers, an unusable cache directory, depfiles, stdin/stdout, options in
# both forms, usage errors; warnings replayed from the cache (synap-partition).
# usage: run.sh SYNAP_IMPORT DIGITS.onnx TESTS_DATA_DIR VERSION SHARED_DIR
#               SYNAP_PARTITION FLOOR.onnx
set -u
IMPORT=$1
DIGITS=$2
DATA=$3/onnx
VERSION=$4
SHARED=$5
PARTITION=$6
FLOOR=$7
W=$(mktemp -d "${TMPDIR:-/tmp}/synap-stage.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
fails=0
count=0

ok() { count=$((count + 1)); echo "ok   $1"; }
bad() { count=$((count + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
# check NAME COMMAND...: the command must succeed
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# the last line of the stage log, without the time
last_log() { tail -n 1 "$1" | sed 's/ [0-9]*\.[0-9]$//'; }
differ() { ! cmp -s "$1" "$2"; }
log_format_ok() { ! grep -Evq '^import (computed|cached) [0-9]+\.[0-9]$' "$1"; }
# the single entry directory of a cache (fails when there is not exactly one)
entry() {
    set -- "$1"/v1/[0-9a-f][0-9a-f]/*
    [ $# -eq 1 ] && [ -d "$1" ] && echo "$1"
}

# ---- a reference without the cache
"$IMPORT" "$DIGITS" -o "$W/ref.ir" || { echo "FAIL plain import"; exit 1; }

# ---- miss, then hit with identical bytes
C=$W/cache
"$IMPORT" "$DIGITS" -o "$W/a.ir" --cache-dir "$C" --stage-log "$W/log"
check "miss: exit 0" [ $? -eq 0 ]
check "miss: log says computed" [ "$(last_log "$W/log")" = "import computed" ]
check "miss: output = plain import" cmp -s "$W/a.ir" "$W/ref.ir"
E=$(entry "$C")
check "miss: one entry in the cache" [ -n "$E" ]
check "miss: MANIFEST lines" [ "$(cat "$E/MANIFEST")" = "0 $(wc -c <"$W/ref.ir" | tr -d ' ') $(sha256sum "$W/ref.ir" | cut -d' ' -f1)
warnings 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" ]
check "miss: no warnings: an empty warnings file" [ -f "$E/warnings" ] && [ ! -s "$E/warnings" ]
check "miss: out0 = output" cmp -s "$E/out0" "$W/ref.ir"
"$IMPORT" "$DIGITS" -o "$W/b.ir" --cache-dir "$C" --stage-log "$W/log"
check "hit: exit 0" [ $? -eq 0 ]
check "hit: log says cached" [ "$(last_log "$W/log")" = "import cached" ]
check "hit: output byte-identical" cmp -s "$W/b.ir" "$W/ref.ir"
# the key is the contents, not the path: a copy elsewhere hits
mkdir "$W/elsewhere" && cp "$DIGITS" "$W/elsewhere/m.onnx"
SYNAP_CACHE_DIR=$C "$IMPORT" "$W/elsewhere/m.onnx" -o "$W/c.ir" --stage-log "$W/log"
check "hit: a copy of the model, cache from SYNAP_CACHE_DIR" [ "$(last_log "$W/log")" = "import cached" ]
check "hit: copy output byte-identical" cmp -s "$W/c.ir" "$W/ref.ir"
# an unchanged output is not rewritten (ninja's restat)
before=$(stat -c %y "$W/b.ir")
sleep 0.01
"$IMPORT" "$DIGITS" -o "$W/b.ir" --cache-dir "$C" --stage-log "$W/log"
check "hit: unchanged output keeps its mtime" [ "$(stat -c %y "$W/b.ir")" = "$before" ]

# ---- a corrupted entry: one byte of out0 flipped
printf '\377' | dd of="$E/out0" bs=1 seek=100 conv=notrunc 2>/dev/null
"$IMPORT" "$DIGITS" -o "$W/d.ir" --cache-dir "$C" --stage-log "$W/log" 2>"$W/err"
check "corrupt: exit 0, silent" [ $? -eq 0 ] && [ ! -s "$W/err" ]
check "corrupt: recomputed" [ "$(last_log "$W/log")" = "import computed" ]
check "corrupt: output correct" cmp -s "$W/d.ir" "$W/ref.ir"
check "corrupt: entry replaced" cmp -s "$(entry "$C")/out0" "$W/ref.ir"
"$IMPORT" "$DIGITS" -o "$W/d.ir" --cache-dir "$C" --stage-log "$W/log"
check "corrupt: then cached again" [ "$(last_log "$W/log")" = "import cached" ]
# ---- an entry without its warnings file
rm "$(entry "$C")/warnings"
"$IMPORT" "$DIGITS" -o "$W/d.ir" --cache-dir "$C" --stage-log "$W/log"
check "no warnings file: recomputed" [ "$(last_log "$W/log")" = "import computed" ]
check "no warnings file: entry complete again" [ -f "$(entry "$C")/warnings" ]
# ---- a missing MANIFEST, a truncated output
rm "$(entry "$C")/MANIFEST"
"$IMPORT" "$DIGITS" -o "$W/d.ir" --cache-dir "$C" --stage-log "$W/log"
check "no MANIFEST: recomputed" [ "$(last_log "$W/log")" = "import computed" ]
check "no MANIFEST: output correct" cmp -s "$W/d.ir" "$W/ref.ir"
head -c 1000 "$W/ref.ir" >"$(entry "$C")/out0"
"$IMPORT" "$DIGITS" -o "$W/d.ir" --cache-dir "$C" --stage-log "$W/log"
check "truncated out0: recomputed" [ "$(last_log "$W/log")" = "import computed" ]
check "truncated out0: output correct" cmp -s "$W/d.ir" "$W/ref.ir"
check "no leftovers in v1/tmp" [ -z "$(ls -A "$C/v1/tmp")" ]
check "stage log format" log_format_ok "$W/log"

# ---- concurrent processes filling the same key
C2=$W/cache2
pids=
for i in 1 2 3 4 5 6 7 8; do
    "$IMPORT" "$DIGITS" -o "$W/p$i.ir" --cache-dir "$C2" --stage-log "$W/plog" &
    pids="$pids $!"
done
st=0
for p in $pids; do wait "$p" || st=1; done
check "concurrent: all exit 0" [ $st -eq 0 ]
same=1
for i in 1 2 3 4 5 6 7 8; do cmp -s "$W/p$i.ir" "$W/ref.ir" || same=0; done
check "concurrent: all outputs identical" [ $same -eq 1 ]
check "concurrent: 8 whole log lines" [ "$(wc -l <"$W/plog")" -eq 8 ]
check "concurrent: log format" log_format_ok "$W/plog"
E2=$(entry "$C2")
check "concurrent: exactly one entry" [ -n "$E2" ]
check "concurrent: entry valid" cmp -s "$E2/out0" "$W/ref.ir"
check "concurrent: no leftovers in v1/tmp" [ -z "$(ls -A "$C2/v1/tmp")" ]

# ---- an unusable cache directory: exit 1, one clear line, no output.
# Tests run as root in CI and root ignores chmod 555, so the cache path is a
# regular file (and a path below one), which fails for every user.
: >"$W/cachefile"
for cdir in "$W/cachefile" "$W/cachefile/sub"; do
    "$IMPORT" "$DIGITS" -o "$W/ro.ir" --cache-dir "$cdir" 2>"$W/err"
    st=$?
    check "unwritable cache $(basename "$cdir"): exit 1" [ $st -eq 1 ]
    check "unwritable cache $(basename "$cdir"): message" [ "$(cat "$W/err")" = "synap-import: cache directory $cdir is not writable: Not a directory" ]
    check "unwritable cache $(basename "$cdir"): no output" [ ! -e "$W/ro.ir" ]
done
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$W/ro" && chmod 555 "$W/ro"
    "$IMPORT" "$DIGITS" -o "$W/ro.ir" --cache-dir "$W/ro" 2>"$W/err"
    st=$?
    check "read-only cache (chmod 555): exit 1" [ $st -eq 1 ]
    check "read-only cache (chmod 555): message" [ "$(cat "$W/err")" = "synap-import: cache directory $W/ro is not writable: Permission denied" ]
    chmod 755 "$W/ro"
fi

# ---- -M depfile: the output, then every file read (spaces escaped)
cp "$DIGITS" "$W/my model.onnx"
"$IMPORT" "$W/my model.onnx" -o "$W/dep.ir" -M "$W/dep.d"
check "depfile: contents" [ "$(cat "$W/dep.d")" = "$W/dep.ir: $W/my\\ model.onnx" ]
# options file, --input-value .npy, external data all listed
mkdir "$W/ext" && cp "$DATA/external.onnx" "$DATA/external.bin" "$W/ext/"
printf '{"input_shapes": {}}' >"$W/ext/import.json"
"$IMPORT" "$W/ext/external.onnx" -o "$W/ext.ir" --options "$W/ext/import.json" -M "$W/ext.d" --cache-dir "$C" --stage-log "$W/log"
check "depfile: options and external data" [ "$(cat "$W/ext.d")" = "$W/ext.ir: $W/ext/external.onnx $W/ext/import.json $W/ext/external.bin" ]
# the external data is part of the key: changing it recomputes
"$IMPORT" "$W/ext/external.onnx" -o "$W/ext2.ir" --options "$W/ext/import.json" --cache-dir "$C" --stage-log "$W/log"
check "external data: same bytes hit" [ "$(last_log "$W/log")" = "import cached" ]
printf '\1' | dd of="$W/ext/external.bin" bs=1 seek=20 conv=notrunc 2>/dev/null
"$IMPORT" "$W/ext/external.onnx" -o "$W/ext3.ir" --options "$W/ext/import.json" --cache-dir "$C" --stage-log "$W/log"
check "external data: changed bytes recompute" [ "$(last_log "$W/log")" = "import computed" ]
check "external data: output differs" differ "$W/ext2.ir" "$W/ext3.ir"
# --input-value: the .npy is read, listed and keyed
python3 -c '
import sys
h = "{\x27descr\x27: \x27|b1\x27, \x27fortran_order\x27: False, \x27shape\x27: (), }"
h = h + " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode() + bytes([int(sys.argv[1])]))
' 1 >"$W/c1.npy"
"$IMPORT" "$DATA/if_input.onnx" --input-value "c=$W/c1.npy" -o "$W/if.ir" -M "$W/if.d" --cache-dir "$C" --stage-log "$W/log"
check "input-value: exit 0" [ $? -eq 0 ]
check "input-value: depfile" [ "$(cat "$W/if.d")" = "$W/if.ir: $DATA/if_input.onnx $W/c1.npy" ]
"$IMPORT" "$DATA/if_input.onnx" --input-value "c=$W/c1.npy" -o "$W/if1.ir" --cache-dir "$C" --stage-log "$W/log"
check "input-value: same .npy hits" [ "$(last_log "$W/log")" = "import cached" ]
# condition false selects a branch with an unsupported Loop: a cache hit
# would have succeeded, so the error proves the .npy bytes are in the key
printf '\0' | dd of="$W/c1.npy" bs=1 seek=128 conv=notrunc 2>/dev/null
"$IMPORT" "$DATA/if_input.onnx" --input-value "c=$W/c1.npy" -o "$W/if0.ir" --cache-dir "$C" 2>"$W/err"
check "input-value: a changed .npy recomputes" [ $? -eq 1 ] && [ "$(cat "$W/err")" = "synap-import: $DATA/if_input.onnx: node 'the_if' (If): 1 unsupported op: node 'never_loop' (Loop)" ]
check "input-value: failed run leaves no output" [ ! -e "$W/if0.ir" ]

# ---- options in both forms give the same bytes (and the same key)
printf '{"input_shapes": {"x": [1, 3, 8, 8]}}' >"$W/shape.json"
"$IMPORT" "$DATA/dynamic.onnx" --options "$W/shape.json" -o "$W/dyn1.ir" --cache-dir "$W/c3" --stage-log "$W/log3"
"$IMPORT" "$DATA/dynamic.onnx" --input-shape x=1,3,8,8 -o "$W/dyn2.ir" --cache-dir "$W/c3" --stage-log "$W/log3"
check "input_shapes object = --input-shape" cmp -s "$W/dyn1.ir" "$W/dyn2.ir"
printf '{"input_shapes": ["x=1,3,8,8"]}' >"$W/shape2.json"
"$IMPORT" "$DATA/dynamic.onnx" --options "$W/shape2.json" -o "$W/dyn3.ir" --cache-dir "$W/c3" --stage-log "$W/log3"
check "input_shapes list in a file = the flag (same key)" [ "$(last_log "$W/log3")" = "import cached" ]
check "input_shapes list: same bytes" cmp -s "$W/dyn1.ir" "$W/dyn3.ir"
printf '{"input_shapes": {"x": [1, -3]}}' >"$W/bad.json"
"$IMPORT" "$DATA/dynamic.onnx" --options "$W/bad.json" -o "$W/x.ir" 2>"$W/err"
check "bad options: exit 1 + message" [ $? -eq 1 ] && [ "$(cat "$W/err")" = "synap-import: options: input_shapes['x'][1] must be a non-negative integer" ]
printf '{"input_shape": {}}' >"$W/bad.json"
"$IMPORT" "$DATA/dynamic.onnx" --options "$W/bad.json" -o "$W/x.ir" 2>"$W/err"
check "unknown options key: exit 1 + message" [ $? -eq 1 ] && [ "$(cat "$W/err")" = "synap-import: options: unknown key 'input_shape'; valid keys: input_shapes, input_values" ]
check "bad options: no output" [ ! -e "$W/x.ir" ]

# ---- stdout and stdin
"$IMPORT" "$DIGITS" -o - >"$W/s1.ir"
check "-o - writes stdout" cmp -s "$W/s1.ir" "$W/ref.ir"
"$IMPORT" "$DIGITS" >"$W/s2.ir"
check "stdout by default" cmp -s "$W/s2.ir" "$W/ref.ir"
"$IMPORT" - -o "$W/s3.ir" <"$DIGITS"
check "'-' reads stdin" cmp -s "$W/s3.ir" "$W/ref.ir"
cat "$DIGITS" | "$IMPORT" >"$W/s4.ir"
check "no input + a pipe reads stdin" cmp -s "$W/s4.ir" "$W/ref.ir"
cat "$DIGITS" | "$IMPORT" - --cache-dir "$C" --stage-log "$W/log" >"$W/s5.ir"
check "stdin hits the cache" [ "$(last_log "$W/log")" = "import cached" ]
check "stdin hit output" cmp -s "$W/s5.ir" "$W/ref.ir"
head -c 100 "$DIGITS" | "$IMPORT" - -o "$W/s6.ir" 2>"$W/err"
check "broken model on stdin: exit 1 + message" [ $? -eq 1 ] && [ "$(cat "$W/err")" = "synap-import: <stdin>: not an ONNX model (protobuf parse failed)" ]

# ---- usage
"$IMPORT" "$DIGITS" --bogus -o "$W/u.ir" >"$W/out" 2>"$W/err"
check "unknown flag: exit 1" [ $? -eq 1 ]
check "unknown flag: message" [ "$(head -n 1 "$W/err")" = "synap-import: unknown option '--bogus' (see --help)" ]
check "unknown flag: usage" [ "$(sed -n 2p "$W/err" | cut -c1-33)" = "usage: synap-import [INPUT] [-o O" ]
check "unknown flag: nothing written" [ ! -e "$W/u.ir" ] && [ ! -s "$W/out" ]
"$IMPORT" --help >"$W/out" 2>"$W/err"
check "--help: exit 0" [ $? -eq 0 ] && [ ! -s "$W/err" ]
check "--help: usage and flags" grep -q -- "--input-shape NAME=DIMS" "$W/out"
check "--help: first line" [ "$(head -n 1 "$W/out" | cut -c1-27)" = "usage: synap-import [INPUT]" ]
check "--version" [ "$("$IMPORT" --version)" = "synap-import $VERSION" ]
"$IMPORT" "$DIGITS" "$DIGITS" -o "$W/u.ir" 2>"$W/err"
check "two inputs: exit 1 + message" [ $? -eq 1 ] && [ "$(cat "$W/err")" = "synap-import: expected 1 input, got 2" ]

# ---- warnings: synap-partition's cpu fallback (floor.onnx: Relu, Floor, Relu on
# VS680, whose NPU has no Floor) prints the same on a miss, a hit and without
# a cache; the warnings file of the entry holds it
want_warn="synap-partition: warning: 1 layer runs on cpu: 'floor' (Floor)"
"$IMPORT" "$FLOOR" -o "$W/floor.ir"
"$PARTITION" "$W/floor.ir" --target VS680 -o "$W/fp0.ir" 2>"$W/err"
check "warning: without a cache" [ "$(cat "$W/err")" = "$want_warn" ]
C5=$W/c5
for run in miss hit; do
    "$PARTITION" "$W/floor.ir" --target VS680 -o "$W/fp-$run.ir" --cache-dir "$C5" --stage-log "$W/log5" 2>"$W/err"
    check "warning: $run: exit 0" [ $? -eq 0 ]
    check "warning: $run: printed" [ "$(cat "$W/err")" = "$want_warn" ]
done
check "warning: computed then cached" [ "$(sed 's/ [0-9.]*$//' "$W/log5" | tr '\n' ' ')" = "partition computed partition cached " ]
check "warning: same output on the hit" cmp -s "$W/fp-miss.ir" "$W/fp-hit.ir"
E5=$(entry "$C5")
check "warning: kept in the entry" [ "$(cat "$E5/warnings")" = "1 layer runs on cpu: 'floor' (Floor)" ]
check "warning: listed in the MANIFEST" [ "$(tail -n 1 "$E5/MANIFEST")" = "warnings $(wc -c <"$E5/warnings" | tr -d ' ') $(sha256sum "$E5/warnings" | cut -d' ' -f1)" ]
# a damaged warnings file is corruption: recomputed, and the warning still right
printf 'x' >>"$E5/warnings"
"$PARTITION" "$W/floor.ir" --target VS680 -o "$W/fp-c.ir" --cache-dir "$C5" --stage-log "$W/log5" 2>"$W/err"
check "warning: damaged warnings file: recomputed" [ "$(last_log "$W/log5")" = "partition computed" ]
check "warning: damaged warnings file: printed" [ "$(cat "$W/err")" = "$want_warn" ]
"$PARTITION" "$W/floor.ir" --target VS680 -o "$W/fp-c.ir" --cache-dir "$C5" --stage-log "$W/log5" 2>"$W/err"
check "warning: then cached again" [ "$(last_log "$W/log5")" = "partition cached" ] && [ "$(cat "$W/err")" = "$want_warn" ]

# ---- the tool's identity in the key: its sha256, memoized in CACHE/exe
M=$(ls "$C5"/exe)
check "exe memo: one file" [ "$(echo "$M" | wc -l)" -eq 1 ]
check "exe memo: the binary's sha256" [ "$(cat "$C5/exe/$M")" = "$(sha256sum "$PARTITION" | cut -d' ' -f1)" ]
# a damaged memo is hashed again and rewritten; the entry is still hit
printf 'zz' >"$C5/exe/$M"
"$PARTITION" "$W/floor.ir" --target VS680 -o "$W/fp-m.ir" --cache-dir "$C5" --stage-log "$W/log5" 2>"$W/err"
check "exe memo: damaged memo: still cached" [ "$(last_log "$W/log5")" = "partition cached" ]
check "exe memo: rewritten" [ "$(cat "$C5/exe/$M")" = "$(sha256sum "$PARTITION" | cut -d' ' -f1)" ]

# ---- a real model from the shared folder (skipped when absent)
PP=$SHARED/models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx
if [ -f "$PP" ]; then
    "$IMPORT" "$PP" --input-shape x=1,3,640,640 -o "$W/pp1.ir" --cache-dir "$W/c4" --stage-log "$W/log4"
    "$IMPORT" "$PP" --input-shape x=1,3,640,640 -o "$W/pp2.ir" --cache-dir "$W/c4" --stage-log "$W/log4"
    check "PP-OCRv4 det: computed then cached" [ "$(sed 's/ [0-9.]*$//' "$W/log4" | tr '\n' ' ')" = "import computed import cached " ]
    check "PP-OCRv4 det: identical bytes" cmp -s "$W/pp1.ir" "$W/pp2.ir"
else
    echo "skip PP-OCRv4 det: $PP not found"
fi

echo "$((count - fails))/$count stage checks passed"
[ "$fails" -eq 0 ]
