#!/bin/sh
# synap-calib end to end: JPEG/PNG and .npy data sets, identical statistics
# for 1, 2 and 3 threads, the depfile and the cache (adding an image reruns
# calibration), options files with base_dir, and the bad inputs (exit 1, the
# exact message, no output file).
# usage: run.sh SYNAP_IMPORT SYNAP_CALIB DATA_DIR (tests/data/calib)
set -u
IMPORT=$1
CALIB=$2
D=$3
W=$(mktemp -d "${TMPDIR:-/tmp}/synap-calib.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
fails=0
count=0
ok() { count=$((count + 1)); echo "ok   $1"; }
bad() { count=$((count + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# fails NAME "MESSAGE" ARGS...: exit 1, exactly MESSAGE on stderr, no output
fails() {
    name=$1
    want=$2
    shift 2
    rm -f "$W/out.stats"
    "$CALIB" "$@" -o "$W/out.stats" 2>"$W/err"
    rc=$?
    got=$(cat "$W/err")
    if [ $rc -eq 1 ] && [ "$got" = "$want" ] && [ ! -e "$W/out.stats" ]; then
        ok "$name"
    else
        bad "$name (exit $rc)"
        echo "  want: $want"
        echo "  got:  $got"
    fi
}
last_log() { tail -n 1 "$1" | sed 's/ [0-9]*\.[0-9]$//'; }

"$IMPORT" "$D/tiny.onnx" -o "$W/tiny.ir" || { echo "FAIL import tiny.onnx"; exit 1; }
"$IMPORT" "$D/two_inputs.onnx" -o "$W/two.ir" || { echo "FAIL import two_inputs.onnx"; exit 1; }

# ---- images: JPEG and PNG of several sizes, letterboxed into 8x8
for t in 1 2 3; do
    "$CALIB" "$W/tiny.ir" -o "$W/img$t.stats" --dataset "$D/images/*" --means 127.5 --scale 127.5 \
        --format "bgr fill_color=0" --threads $t
    check "images: $t thread(s) exit 0" [ $? -eq 0 ]
done
check "images: 1 and 2 threads identical" cmp -s "$W/img1.stats" "$W/img2.stats"
check "images: 1 and 3 threads identical" cmp -s "$W/img1.stats" "$W/img3.stats"
SYNAP_THREADS=2 "$CALIB" "$W/tiny.ir" -o "$W/img4.stats" --dataset "$D/images/*" --means 127.5 \
    --scale 127.5 --format "bgr fill_color=0"
check "images: SYNAP_THREADS=2 identical" cmp -s "$W/img1.stats" "$W/img4.stats"
"$CALIB" "$W/tiny.ir" -o "$W/rgb.stats" --dataset "$D/images/*" --means 127.5 --scale 127.5 \
    --format "rgb fill_color=0"
check "images: rgb differs from bgr" test -n "$(cmp "$W/img1.stats" "$W/rgb.stats")"
"$CALIB" "$W/tiny.ir" -o "$W/stretch.stats" --dataset "$D/images/*" --means 127.5 --scale 127.5 \
    --format "bgr keep_proportions=0"
check "images: keep_proportions=0 differs" test -n "$(cmp "$W/img1.stats" "$W/stretch.stats")"

# ---- the same through an options file, globs relative to base_dir
cat >"$W/calib.json" <<JSON
{"base_dir": "$D", "dataset": ["images/*"], "data_layout": "nchw",
 "inputs": [{"name": "x", "means": [127.5, 127.5, 127.5], "scale": 127.5, "format": "bgr fill_color=0"}]}
JSON
"$CALIB" "$W/tiny.ir" -o "$W/opt.stats" --options "$W/calib.json" -M "$W/opt.d"
check "options file: exit 0" [ $? -eq 0 ]
check "options file: same statistics as the flags" cmp -s "$W/img1.stats" "$W/opt.stats"
want="$W/opt.stats: $W/tiny.ir $W/calib.json $D/images/img0.jpg $D/images/img1.png $D/images/img2.jpg $D/images/img3.png"
check "depfile: every image read" [ "$(cat "$W/opt.d")" = "$want" ]

# ---- .npy samples used as they are
"$CALIB" "$W/tiny.ir" -o "$W/npy.stats" --dataset "$D/npy/*.npy"
check "npy: exit 0" [ $? -eq 0 ]
check "npy: statistics written" test -s "$W/npy.stats"

# ---- random samples
"$CALIB" "$W/tiny.ir" -o "$W/r1.stats" --dataset random --count 5 --seed 7 --threads 1
"$CALIB" "$W/tiny.ir" -o "$W/r2.stats" --dataset random --count 5 --seed 7 --threads 2
check "random: reproducible across threads" cmp -s "$W/r1.stats" "$W/r2.stats"

# ---- the cache: same data set cached, one more image computed
mkdir -p "$W/set"
cp "$D"/images/* "$W/set/"
C=$W/cache
run_set() { "$CALIB" "$W/tiny.ir" -o "$W/set.stats" --dataset "$W/set/*" --cache-dir "$C" --stage-log "$W/log" "$@"; }
run_set
check "cache: first run computed" [ "$(last_log "$W/log")" = "calib computed" ]
run_set --threads 3
check "cache: second run cached" [ "$(last_log "$W/log")" = "calib cached" ]
"$CALIB" "$W/tiny.ir" -o "$W/set.stats" --dataset "$W/set/*" --cache-dir "$C" --stage-log "$W/log" --threads 2
check "cache: --threads does not change the key" [ "$(last_log "$W/log")" = "calib cached" ]
cp "$D/rgb.jpg" "$W/set/extra.jpg"
run_set
check "cache: an added image reruns calibration" [ "$(last_log "$W/log")" = "calib computed" ]
cp "$D/gray.png" "$W/set/extra.jpg"
run_set
check "cache: a changed image reruns calibration" [ "$(last_log "$W/log")" = "calib computed" ]

# ---- bad input
fails "glob matching nothing" "synap-calib: dataset '$W/none/*.jpg' (input 'x') matches no file" \
    "$W/tiny.ir" --dataset "$W/none/*.jpg"
mkdir -p "$W/x" "$W/y"
cp "$D/npy/s0.npy" "$D/npy/s1.npy" "$W/x/"
cp "$D/npy/s0.npy" "$W/y/"
fails "unequal counts" "synap-calib: dataset: '$W/x/*.npy' (input 'x'): 2 files, '$W/y/*.npy' (input 'y'): 1 file; every input needs the same number of files" \
    "$W/two.ir" --dataset "$W/x/*.npy" --dataset "$W/y/*.npy"
fails "one glob for two inputs" "synap-calib: dataset: 1 glob for a model of 2 inputs (one glob per input)" \
    "$W/two.ir" --dataset "$W/x/*.npy"
fails "corrupt JPEG" "synap-calib: $D/bad/truncated.jpg: corrupt JPEG image (Premature end of JPEG file)" \
    "$W/tiny.ir" --dataset "$D/bad/*.jpg"
fails "npy of the wrong shape" \
    "synap-calib: $D/npy_bad/wrong.npy: float32 [1, 3, 4, 4] does not match input 'x' float32 [1, 3, 8, 8]" \
    "$W/tiny.ir" --dataset "$D/npy_bad/*.npy"
fails "not an image" "synap-calib: $D/make.py: not a JPEG or PNG image" "$W/tiny.ir" --dataset "$D/make.py"
fails "bad format" "synap-calib: options: format: keep_proportions must be 0 or 1" \
    "$W/tiny.ir" --dataset "$D/images/*" --format "rgb keep_proportions=2"
fails "bad --threads" "synap-calib: bad --threads '0' (expected 1..1024)" "$W/tiny.ir" --dataset random --threads 0

echo "$((count - fails))/$count passed"
[ $fails -eq 0 ]
