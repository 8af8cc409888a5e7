#!/usr/bin/python3
"""Writes small integer UNIDIRECTIONAL_SEQUENCE_LSTM (builtin 44) models and
their expected outputs, for tests/tflite/test_tflite.c (test_lstm_int):

  q_bm:   batch-major x [2, 6, 5], 4 cells, input zero point -7, hidden
          zero point 3, cell state scale 2^-11, a cell_clip of 1.5 that
          engages, zero initial states (variable tensors without data).
  q_tm:   time-major x [4, 3, 3], 5 cells, hidden zero point -5, cell scale
          2^-12, no clip, non-zero initial states (variable tensors with
          data), large weights so that gate sums saturate int16.
  q_cifg: CIFG (inputs 1 and 5 omitted): must fail with the message
          "integer UNIDIRECTIONAL_SEQUENCE_LSTM with CIFG".

Each NAME.tflite has graph input x (int8) and output y (int8, the hidden
state of every step); NAME_x.npy is the input the test feeds, NAME_y.npy the
expected output: an independent transcription of TFLite's 8x8_16 integer
LSTM (lite/kernels/lstm.cc PopulateQuantizedLstmParams8x8_16 and
PopulatePrecomputedZPTimesWeightsWithBias, lstm_eval.cc LstmStepInteger8x8_16
with the portable tensor_utils, gemmlowp's int16 logistic/tanh), with the
hidden zero point added (the fixed sign, tensorflow PR 56493). The gemmlowp
functions are checked against float sigmoid/tanh over every int16 input, and
each case's result against a float64 LSTM on the dequantized values.

Schema field numbers used (public TFLite schema): Tensor (shape 0, type 1:
INT32 2 INT16 7 INT8 9, buffer 2, name 3, quantization 4, is_variable 5),
QuantizationParameters (scale 2, zero_point 3), Operator builtin_options_type
71 UnidirectionalSequenceLSTMOptions (fused_activation_function 0, cell_clip
1, proj_clip 2, time_major 3); the rest in ../tflite_builder.py.

Run: /usr/bin/python3 tests/data/tflite_lstm_int/gen.py (numpy + flatbuffers)
"""
import math
import os
import sys

import flatbuffers
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from tflite_builder import build_tensors, finish_one_op, ivec  # noqa: E402
from tflite_qmath import mbqm, quantize_multiplier, rdbpot, sat32  # noqa: E402

I32, I16, I8 = 2, 7, 9
NP = {I32: "<i4", I16: "<i2", I8: "i1"}
ACT_TANH = 4

# ---- gemmlowp int16 fixed point (FixedPoint<int16_t, N>) ---------------------


def w16(v):
    return ((v + 32768) & 0xFFFF) - 32768


def sat16(v):
    return max(-32768, min(32767, v))


def srdhm16(a, b):
    if a == b == -32768:
        return 32767
    t = a * b + ((1 << 14) if a * b >= 0 else 1 - (1 << 14))
    q = abs(t) >> 15
    return q if t >= 0 else -q


def srmbpot16(x, e):
    if e < 0:
        return rdbpot(x, -e)
    thr = (1 << (15 - e)) - 1
    return 32767 if x > thr else -32768 if x < -thr else x << e


def k16(v):  # a 32-bit constant rounded to 16 bits
    return rdbpot(v, 16)


def exp_quarter(a):
    ct, third = k16(1895147668), k16(715827883)
    x = w16(a + (1 << 12))
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    t = srmbpot16(w16(srdhm16(w16(srmbpot16(x4, -2) + x3), third) + x2), -1)
    return sat16(ct + srdhm16(ct, w16(x + t)))


EXP_MULT = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535,
            3: 720401, 4: 242}


def exp_neg(a, ib):
    fb = 15 - ib
    quarter = 1 << (fb - 2)
    amq = w16((a & (quarter - 1)) - quarter)
    r = exp_quarter(srmbpot16(amq, ib))
    rem = w16(amq - a)
    for e in range(-2, 5):
        if ib > e and rem & (1 << (fb + e)):
            r = srdhm16(r, k16(EXP_MULT[e]))
    if ib > 5 and a < k16(-(1 << (36 - ib))):
        r = 0
    return 32767 if a == 0 else r


def newton(a, inverse):
    s = a + 32767
    hd = int(math.copysign((abs(s) + 1) // 2, s))  # (s + sign) / 2, C truncation
    x = w16(k16(1515870810) + srdhm16(hd, k16(-1010580540)))
    for _ in range(3):
        x = w16(x + srmbpot16(srdhm16(x, w16((1 << 13) - srdhm16(hd, x))), 2))
    return srmbpot16(x, 1) if inverse else srmbpot16(w16(x - (1 << 13)), 2)


def logistic16(a, ib):
    if a == 0:
        return k16(1 << 30)
    p = newton(exp_neg(w16(-abs(a)) if a > 0 else w16(a), ib), True)
    return p if a > 0 else w16(32767 - p)


def tanh16(a, ib):
    if a == 0:
        return 0
    t = newton(exp_neg(a if a < 0 else w16(-a), ib + 1), False)
    return w16(-t) if a < 0 else t


def check_activations():
    """The transcriptions follow float sigmoid/tanh over every int16 input."""
    for ib in (3, 4):
        worst_s = worst_t = 0.0
        for a in range(-32768, 32768):
            xv = a / (1 << (15 - ib))
            worst_s = max(worst_s, abs(logistic16(a, ib) / 32768 - 1 / (1 + math.exp(-xv))))
            worst_t = max(worst_t, abs(tanh16(a, ib) / 32768 - math.tanh(xv)))
        assert worst_s < 2e-4 and worst_t < 4e-4, (ib, worst_s, worst_t)
        print("Q%d.%d: max |logistic error| %.2g, |tanh error| %.2g" %
              (ib, 15 - ib, worst_s, worst_t))


# ---- TFLite's integer LSTM ------------------------------------------------------


def f32(v):
    return np.float32(v)


def lstm_int(x, W, R, bias, h0, c0, q, time_major, cell_clip, stats):
    """x int8 [B, S, I] or [S, B, I]; W/R lists of 4 (i, f, c, o) int8 arrays;
    bias list of int32 arrays; q: dict of scales/zero points."""
    B, S = (x.shape[1], x.shape[0]) if time_major else (x.shape[0], x.shape[1])
    H = W[0].shape[0]
    cs = int(round(math.log2(q["sc"])))
    m_in = [quantize_multiplier(float(f32(f32(q["sw"][g]) * f32(q["sx"])) / f32(2.0 ** -12)))
            for g in range(4)]
    m_rec = [quantize_multiplier(float(f32(f32(q["sr"][g]) * f32(q["sh"])) / f32(2.0 ** -12)))
             for g in range(4)]
    m_hid = quantize_multiplier(float(f32(2.0 ** -15 / float(f32(q["sh"])) * 2.0 ** -15)))
    qclip = 0
    if cell_clip > 0:
        qclip = int(min(max(f32(cell_clip) / f32(q["sc"]), f32(-32768)), f32(32767)))
    ebias_in = [[int(bias[g][j]) - q["zx"] * int(W[g][j].astype(np.int64).sum()) for j in range(H)]
                for g in range(4)]
    ebias_rec = [[-q["zh"] * int(R[g][j].astype(np.int64).sum()) for j in range(H)]
                 for g in range(4)]
    h = [[int(v) for v in row] for row in h0]
    c = [[int(v) for v in row] for row in c0]
    y = np.zeros(x.shape[:2] + (H,), np.int8)
    for b in range(B):
        for t in range(S):
            xv = [int(v) for v in (x[t, b] if time_major else x[b, t])]
            gates = []
            for g in range(4):
                row = []
                for j in range(H):
                    acc = ebias_in[g][j] + sum(int(W[g][j, k]) * xv[k] for k in range(len(xv)))
                    v = sat16(mbqm(sat32(acc), *m_in[g]))
                    acc = ebias_rec[g][j] + sum(int(R[g][j, k]) * h[b][k] for k in range(H))
                    v2 = mbqm(sat32(acc), *m_rec[g]) + v
                    stats["sat"] += v2 > 32767 or v2 < -32768
                    row.append(sat16(v2))
                gates.append(row)
            hn = []
            for j in range(H):
                i = logistic16(gates[0][j], 3)
                f = logistic16(gates[1][j], 3)
                cc = tanh16(gates[2][j], 3)
                o = logistic16(gates[3][j], 3)
                nc = sat16(rdbpot(f * c[b][j], 15) + rdbpot(i * cc, 30 + cs))
                if qclip > 0:
                    stats["clip"] += abs(nc) > qclip
                    nc = max(-qclip, min(qclip, nc))
                c[b][j] = nc
                v = mbqm(o * tanh16(nc, 15 + cs), *m_hid) + q["zh"]
                hn.append(max(-128, min(127, v)))
            h[b] = hn
            if time_major:
                y[t, b] = hn
            else:
                y[b, t] = hn
    return y


def lstm_float(x, W, R, bias, h0, c0, time_major, cell_clip):
    xs = np.swapaxes(x, 0, 1) if time_major else x  # [B, S, I]
    h, c = h0.copy(), c0.copy()
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ys = []
    for t in range(xs.shape[1]):
        z = [xs[:, t] @ W[g].T + h @ R[g].T + bias[g] for g in range(4)]
        c = sig(z[1]) * c + sig(z[0]) * np.tanh(z[2])
        if cell_clip > 0:
            c = np.clip(c, -cell_clip, cell_clip)
        h = sig(z[3]) * np.tanh(c)
        ys.append(h)
    y = np.stack(ys, 1)
    return np.swapaxes(y, 0, 1) if time_major else y


# ---- the model file -------------------------------------------------------------


def write_model(path, tensors, op_inputs, cell_clip, time_major):
    b = flatbuffers.Builder(8192)
    tensors_v, datas = build_tensors(b, tensors, NP)
    b.StartObject(4)
    b.PrependInt8Slot(0, ACT_TANH, 0)
    b.PrependFloat32Slot(1, cell_clip, 0.0)
    b.PrependBoolSlot(3, time_major, False)
    opts = b.EndObject()
    finish_one_op(b, path, tensors_v, ivec(b, [0]), ivec(b, [1]), ivec(b, op_inputs),
                  ivec(b, [1]), 44, opts, 71, datas)


def qz(a, scale, zp, lo, hi):
    return np.clip(np.round(a / scale) + zp, lo, hi)


def case(name, rng, B, S, I, H, zx, zh, sc, cell_clip, time_major, wmax, zero_state, cifg=False):
    xshape = (S, B, I) if time_major else (B, S, I)
    sx, sh = 2.0 / 255, 1.0 / 128
    x = rng.integers(-128, 128, xshape).astype(np.int8)
    Wf = [rng.uniform(-wmax, wmax, (H, I)) for _ in range(4)]
    Rf = [rng.uniform(-wmax, wmax, (H, H)) for _ in range(4)]
    sw = [float(f32(np.abs(w).max() / 127)) for w in Wf]
    sr = [float(f32(np.abs(r).max() / 127)) for r in Rf]
    W = [qz(Wf[g], sw[g], 0, -127, 127).astype(np.int8) for g in range(4)]
    R = [qz(Rf[g], sr[g], 0, -127, 127).astype(np.int8) for g in range(4)]
    sb = [float(f32(f32(sw[g]) * f32(sx))) for g in range(4)]
    bias = [qz(rng.uniform(0.2, 1.2, H) * (1 if g != 2 else -1), sb[g], 0, -2**31, 2**31 - 1)
            .astype(np.int32) for g in range(4)]
    if zero_state:
        h0 = np.full((B, H), zh, np.int8)
        c0 = np.zeros((B, H), np.int16)
    else:
        h0 = qz(rng.uniform(-0.9, 0.9, (B, H)), sh, zh, -128, 127).astype(np.int8)
        c0 = qz(rng.uniform(-2, 2, (B, H)), sc, 0, -32768, 32767).astype(np.int16)
    q = dict(sx=sx, zx=zx, sh=sh, zh=zh, sc=sc, sw=sw, sr=sr)
    gi = [0, 1, 2, 3]
    if cifg:
        gi = [None, 1, 2, 3]
        y = None
    else:
        stats = dict(sat=0, clip=0)
        y = lstm_int(x, W, R, bias, h0, c0, q, time_major, cell_clip, stats)
        yf = lstm_float((x.astype(np.float64) - zx) * sx, [W[g] * sw[g] for g in range(4)],
                        [R[g] * sr[g] for g in range(4)], [bias[g] * sb[g] for g in range(4)],
                        (h0.astype(np.float64) - zh) * sh, c0 * sc, time_major, cell_clip)
        err = np.abs((y.astype(np.float64) - zh) * sh - yf).max()
        print(name, "saturated gate sums:", stats["sat"], "clipped cells:", stats["clip"],
              "max |int - float| %.4f (%.1f output steps)" % (err, err / sh))
        assert err < 4 * sh
    ts = [dict(name="x", shape=xshape, type=I8, scale=sx, zp=zx),
          dict(name="y", shape=xshape[:2] + (H,), type=I8, scale=sh, zp=zh)]
    idx = {}
    for g, gn in enumerate("ifco"):
        if gi[g] is None:
            continue
        idx["w" + gn] = len(ts)
        ts.append(dict(name="w_" + gn, shape=(H, I), type=I8, data=W[g], scale=sw[g], zp=0))
        idx["r" + gn] = len(ts)
        ts.append(dict(name="r_" + gn, shape=(H, H), type=I8, data=R[g], scale=sr[g], zp=0))
        idx["b" + gn] = len(ts)
        ts.append(dict(name="b_" + gn, shape=(H,), type=I32, data=bias[g], scale=sb[g], zp=0))
    idx["h"] = len(ts)
    ts.append(dict(name="h_state", shape=(B, H), type=I8, scale=sh, zp=zh, variable=True,
                   data=None if zero_state else h0))
    idx["c"] = len(ts)
    ts.append(dict(name="c_state", shape=(B, H), type=I16, scale=sc, zp=0, variable=True,
                   data=None if zero_state else c0))
    op_in = [0] + [idx.get("w" + g, -1) for g in "ifco"] + [idx.get("r" + g, -1) for g in "ifco"]
    op_in += [-1, -1, -1] + [idx.get("b" + g, -1) for g in "ifco"] + [-1, -1, idx["h"], idx["c"]]
    write_model(os.path.join(HERE, name + ".tflite"), ts, op_in, cell_clip, time_major)
    np.save(os.path.join(HERE, name + "_x.npy"), x)
    if y is not None:
        np.save(os.path.join(HERE, name + "_y.npy"), y)
        print(name, "y", y.reshape(-1).tolist())
    return stats if y is not None else None


check_activations()
rng = np.random.default_rng(44)
st = case("q_bm", rng, 2, 6, 5, 4, -7, 3, 2.0 ** -11, 1.5, False, 0.6, True)
assert st["clip"] > 0
st = case("q_tm", rng, 3, 4, 3, 5, 0, -5, 2.0 ** -12, 0.0, True, 6.0, False)
assert st["sat"] > 0
case("q_cifg", rng, 1, 2, 3, 2, 0, 0, 2.0 ** -12, 0.0, False, 0.6, True, cifg=True)
