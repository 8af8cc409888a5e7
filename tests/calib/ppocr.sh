#!/bin/sh
# A real model: PP-OCRv4 det (input 1x3x256x256) calibrated on 20 photos of
# the shared folder with 1 and 2 threads; the statistics must be identical
# and the times are printed (not asserted). Exit 77 (skip) without the files.
# usage: ppocr.sh SYNAP_IMPORT SYNAP_CALIB SHARED_DIR
set -u
IMPORT=$1
CALIB=$2
S=$3
M=$S/models/onnx/ppocr_v4_det/ch_PP-OCRv4_det_infer.onnx
[ -f "$M" ] || { echo "skip: $M absent"; exit 77; }
W=$(mktemp -d "${TMPDIR:-/tmp}/synap-calib-ppocr.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
mkdir "$W/photos"
n=0
for f in "$S"/images/ultraface/*.jpg "$S"/images/opencv-samples/*.jpg "$S"/images/coral/*.jpg; do
    [ -f "$f" ] || continue
    [ $n -lt 20 ] || break
    n=$((n + 1))
    ln -s "$f" "$W/photos/$(printf %02d $n).jpg"
done
[ $n -eq 20 ] || { echo "skip: only $n photos"; exit 77; }
"$IMPORT" "$M" --input-shape x=1,3,256,256 -o "$W/det.ir" || { echo "FAIL import"; exit 1; }
ms() { date +%s%N | cut -c1-13; }
for t in 1 2; do
    t0=$(ms)
    "$CALIB" "$W/det.ir" -o "$W/det$t.stats" --dataset "$W/photos/*.jpg" \
        --means 123.675,116.28,103.53 --scale 58.4 --threads $t || { echo "FAIL calib --threads $t"; exit 1; }
    echo "PP-OCRv4 det, 20 photos, $t thread(s): $(($(ms) - t0)) ms"
done
cmp -s "$W/det1.stats" "$W/det2.stats" || { echo "FAIL 1 and 2 threads differ"; exit 1; }
echo "ok   1 and 2 threads identical ($(wc -c <"$W/det1.stats") bytes)"
