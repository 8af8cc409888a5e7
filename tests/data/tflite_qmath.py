"""TFLite's fixed-point requantization in Python integers, shared by the
generators that transcribe TFLite kernels independently of lib/kernels
(tests/data/softmax_int16/gen.py, tests/data/tflite_svdf/gen.py):
QuantizeMultiplier, gemmlowp's SaturatingRoundingDoublingHighMul and
RoundingDivideByPOT, and MultiplyByQuantizedMultiplier built from them (the
double-rounding form of TFLite's reference kernels and TFLM). A generator
imports it with sys.path.insert(0, <tests/data>).
"""
import math


def quantize_multiplier(m):
    """(q, shift): m = q * 2^(shift - 31), q in [2^30, 2^31), rounded half
    away from zero; (0, 0) for 0 or a shift below -31."""
    if m == 0:
        return 0, 0
    q, sh = math.frexp(m)
    qf = int(math.copysign(math.floor(abs(q) * (1 << 31) + 0.5), q))
    if qf == 1 << 31:
        qf //= 2
        sh += 1
    if sh < -31:
        return 0, 0
    return qf, sh


def srdhm(a, b):
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    t = ab + nudge
    q = abs(t) // (1 << 31)  # C division truncates toward zero
    return q if t >= 0 else -q


def rdbpot(x, e):
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def sat32(v):
    return max(-(1 << 31), min((1 << 31) - 1, v))


def mbqm(x, mult, shift):
    """MultiplyByQuantizedMultiplier: the left shift saturates."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(sat32(x * (1 << left)), mult), right)
