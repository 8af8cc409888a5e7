#!/usr/bin/python3
"""Golden vectors for the int16 Softmax kernel (lib/kernels/qkernels.c,
TFLite's SoftmaxInt16), pasted into tests/unit/test_qmath.c
(test_softmax_int16_golden).

An independent transcription of TFLite's int16 algorithm in numpy with
Python integers for the fixed-point steps:
  * SoftmaxPrepare: two 513-entry int16 tables by gen_lut, exp over
    [-10, 0] and 1/(1 + x) over [0, 1] (outputs scaled by 32768, each
    entry biased by half the midpoint interpolation error); the input
    multiplier QuantizeMultiplier(s_in / (10 / 65535)).
  * SoftmaxInt16: diff = x - max, MultiplyByQuantizedMultiplier (the
    double-rounding SRDHM + RoundingDivideByPOT form), + 32767, saturated,
    exp table lookup with 7-bit linear interpolation; Q16.15 sum;
    normalized by its leading zeros, - (2^15 + 2^16), 1/(1+x) lookup;
    (e * r + round) >> (31 - clz), clamped to [0, 32767].
Also prints the largest difference from float softmax quantized on 1/32768
(the tolerance the unit test states).

Run: /usr/bin/python3 tests/data/softmax_int16/gen.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tflite_qmath import mbqm, quantize_multiplier  # noqa: E402


def tfl_round(v):
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def gen_lut(func, lo, hi):
    steps = 512
    step = (hi - lo) / steps
    i = np.arange(steps, dtype=np.float64)
    k = 32768.0
    val = func(lo + i * step)
    mid = func(lo + i * step + step / 2)
    nxt = func(lo + (i + 1) * step)
    sample = tfl_round(val * k)
    interp = tfl_round((nxt * k + tfl_round(val * k)) / 2)
    err = interp - tfl_round(mid * k)
    lut = np.clip(sample - tfl_round(err / 2), -32768, 32767)
    last = np.clip(tfl_round(func(np.float64(hi)) * k), -32768, 32767)
    return [int(v) for v in lut] + [int(last)]


def lookup(v, lut):
    index = 256 + (v >> 7)
    offset = v & 0x7F
    slope = lut[index + 1] - lut[index]
    return lut[index] + ((slope * offset + 64) >> 7)


EXP = gen_lut(np.exp, -10.0, 0.0)
INV = gen_lut(lambda v: 1.0 / (1.0 + v), 0.0, 1.0)


def softmax_int16(row, scale):
    mult, shift = quantize_multiplier(float(np.float32(scale)) / (10.0 / 65535.0))
    mx = max(row)
    e = []
    for x in row:
        d = mbqm(int(x) - mx, mult, shift) + 32767
        e.append(lookup(max(-32768, min(32767, d)), EXP))
    s = sum(e)
    hp1 = 32 - s.bit_length()
    shifted = ((s << (hp1 - 1)) + (1 << 13)) >> 14
    sym = max(-32768, min(32767, shifted - ((1 << 15) + (1 << 16))))
    r = lookup(sym, INV)
    rs = 31 - hp1
    return [max(0, min(32767, (v * r + (1 << (rs - 1))) >> rs)) for v in e]


def float_ref(row, scale):
    x = np.float64(np.float32(scale)) * np.asarray(row, dtype=np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    return np.clip(tfl_round(p * 32768), 0, 32767).astype(int)


rng = np.random.RandomState(16)
CASES = [  # (scale, row)
    (0.001, rng.randint(-32768, 32768, 8)),
    (1.0 / 4096, rng.randint(-20000, 20000, 10)),
    (3e-5, rng.randint(-32768, 32768, 12)),
    (0.0005, [100] * 5),
    (0.01, [-32768, 32767, 32700, 32767, 0, 32760]),
]
for scale, row in CASES:
    row = [int(v) for v in row]
    got = softmax_int16(row, scale)
    print(f"scale {scale!r}\n  x {row}\n  y {got}\n  float {list(float_ref(row, scale))}")

# tolerance survey: random rows, many scales
worst = 0
for trial in range(3000):
    n = int(rng.randint(2, 40))
    scale = float(10 ** rng.uniform(-5, -1.5))
    row = [int(v) for v in rng.randint(-32768, 32768, n)]
    d = np.abs(np.array(softmax_int16(row, scale)) - float_ref(row, scale)).max()
    worst = max(worst, int(d))
print("largest |TFLite int16 - float-then-quantize| over 3000 random rows:", worst)
