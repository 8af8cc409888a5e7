#!/usr/bin/python3
"""Writes small SVDF (builtin 27) models and their expected outputs, for
tests/tflite/test_tflite.c (test_svdf):

  f_r1:       float, rank 1, no activation, bias, zero initial state
              (a variable tensor without data).
  f_r2_relu:  float, rank 2, relu, no bias (input 3 omitted), a non-zero
              initial state (a variable tensor with data).
  q_s16:      int8 input/output, int8 weights_feature, int16 weights_time
              and state (zero point 0), int32 bias, rank 2, relu (TFLite
              applies none on the integer path), non-zero initial state.
  q_s8:       int8 everywhere (TFLM's 8-bit variant), state zero point -13,
              rank 1, zero initial state (filled with the zero point).

Each NAME.tflite has graph input x [B, I] and output y [B, U]; NAME_x.npy is
the input the test feeds, NAME_y.npy the expected output. Float: a float64
numpy SVDF. Integer: an independent numpy transcription of TFLite's integer
SVDF (EvalIntegerSVDF / TFLM's EvalIntegerSvdfReference): QuantizeMultiplier
of the float32 scale products, MultiplyByQuantizedMultiplier (gemmlowp
SaturatingRoundingDoublingHighMul + RoundingDivideByPOT), state shifted
left by one element, feature dot products into the last column, time
weights dot products, bias + rank sum, rescale, int8 clamp.

Schema field numbers used (public TFLite schema): Model (version 0,
operator_codes 1, subgraphs 2, buffers 4), OperatorCode (deprecated_builtin_
code 0, version 2, builtin_code 3), SubGraph (tensors 0, inputs 1, outputs
2, operators 3, name 4), Tensor (shape 0, type 1: FLOAT32 0 INT32 2 INT16 7
INT8 9, buffer 2, name 3, quantization 4, is_variable 5),
QuantizationParameters (scale 2, zero_point 3), Operator (opcode_index 0,
inputs 1, outputs 2, builtin_options_type 3 = 6 SVDFOptions,
builtin_options 4), SVDFOptions (rank 0, fused_activation_function 1,
asymmetric_quantize_inputs 2), Buffer (data 0); file identifier TFL3.

Run: /usr/bin/python3 tests/data/tflite_svdf/gen.py (numpy + flatbuffers)
"""
import os

import sys

import flatbuffers
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from tflite_builder import build_tensors, finish_one_op, ivec  # noqa: E402
from tflite_qmath import mbqm, quantize_multiplier, sat32  # noqa: E402
F32, I32, I16, I8 = 0, 2, 7, 9
NP = {F32: "<f4", I32: "<i4", I16: "<i2", I8: "i1"}
ACT_NONE, ACT_RELU = 0, 1


def write_model(path, tensors, op_inputs, rank, act):
    """tensors: list of dicts name, shape, type, data (array or None), scale,
    zp, variable; tensor 0 is the graph input x, tensor 1 the output y."""
    b = flatbuffers.Builder(4096)

    tensors_v, datas = build_tensors(b, tensors, NP)
    ins = ivec(b, [0])
    outs = ivec(b, [1])
    op_in = ivec(b, op_inputs)
    op_out = ivec(b, [1])
    b.StartObject(3)
    b.PrependInt32Slot(0, rank, 0)
    b.PrependInt8Slot(1, act, 0)
    opts = b.EndObject()
    finish_one_op(b, path, tensors_v, ins, outs, op_in, op_out, 27, opts, 6, datas)


# ---- float reference --------------------------------------------------------


def svdf_float(x, wf, wt, bias, state, rank, act):
    B, F, M = x.shape[0], wf.shape[0], wt.shape[1]
    s = state.astype(np.float64).reshape(-1)
    s = np.concatenate([s[1:], s[:1]]).reshape(B, F, M)  # shifted left by one
    s[:, :, M - 1] = x.astype(np.float64) @ wf.astype(np.float64).T
    s = s.astype(np.float32).astype(np.float64)  # the state is stored as float
    scratch = (s * wt.astype(np.float64)[None]).sum(-1)  # [B, F]
    y = scratch.reshape(B, F // rank, rank).sum(-1)
    if bias is not None:
        y = y + bias.astype(np.float64)
    return np.maximum(y, 0) if act == ACT_RELU else y


# ---- integer reference: TFLite's fixed-point helpers ------------------------


def svdf_int(x, wf, wt, bias, state, rank, sx, zx, swf, swt, ss, zs, sy, zy, stype):
    f32 = np.float32
    e1 = float(f32(f32(sx) * f32(swf)) / f32(ss))
    e2 = float(f32(f32(ss) * f32(swt)) / f32(sy))
    m1, sh1 = quantize_multiplier(e1)
    m2, sh2 = quantize_multiplier(e2)
    lo, hi = (-32768, 32767) if stype == I16 else (-128, 127)
    B, I = x.shape
    F, M = wt.shape
    s = [int(v) for v in state.reshape(-1)]
    s = s[1:] + s[:1]
    for b in range(B):
        for f in range(F):
            acc = sum(int(wf[f, i]) * (int(x[b, i]) - zx) for i in range(I))
            v = mbqm(sat32(acc), m1, sh1) + zs
            s[(b * F + f) * M + M - 1] = min(max(v, lo), hi)
    y = np.zeros((B, F // rank), np.int8)
    for b in range(B):
        scr = []
        for f in range(F):
            scr.append(sat32(sum(int(wt[f, m]) * (s[(b * F + f) * M + m] - zs) for m in range(M))))
        for u in range(F // rank):
            acc = int(bias[u]) if bias is not None else 0
            acc += sum(scr[u * rank + r] for r in range(rank))
            v = mbqm(sat32(acc), m2, sh2) + zy
            y[b, u] = min(max(v, -128), 127)
    return y


def qz(a, scale, zp, lo, hi):
    return np.clip(np.round(a / scale) + zp, lo, hi)


def float_case(name, rng, B, I, F, M, rank, act, with_bias, zero_state):
    x = rng.uniform(-1, 1, (B, I)).astype(np.float32)
    wf = rng.uniform(-0.7, 0.7, (F, I)).astype(np.float32)
    wt = rng.uniform(-0.7, 0.7, (F, M)).astype(np.float32)
    bias = rng.uniform(-0.3, 0.3, (F // rank,)).astype(np.float32) if with_bias else None
    state = np.zeros((B, M * F), np.float32) if zero_state else \
        rng.uniform(-1, 1, (B, M * F)).astype(np.float32)
    y = svdf_float(x, wf, wt, bias, state, rank, act)
    ts = [dict(name="x", shape=(B, I), type=F32), dict(name="y", shape=(B, F // rank), type=F32),
          dict(name="wf", shape=(F, I), type=F32, data=wf),
          dict(name="wt", shape=(F, M), type=F32, data=wt)]
    if with_bias:
        ts.append(dict(name="bias", shape=(F // rank,), type=F32, data=bias))
    ts.append(dict(name="state", shape=(B, M * F), type=F32, variable=True,
                   data=None if zero_state else state))
    op_in = [0, 2, 3, 4 if with_bias else -1, len(ts) - 1]
    write_model(os.path.join(HERE, name + ".tflite"), ts, op_in, rank, act)
    np.save(os.path.join(HERE, name + "_x.npy"), x)
    np.save(os.path.join(HERE, name + "_y.npy"), y.astype(np.float32))
    if act == ACT_RELU:  # relu must clip something
        assert (svdf_float(x, wf, wt, bias, state, rank, ACT_NONE) < 0).any()
    print(name, "y", y.round(4).tolist())


def int_case(name, rng, B, I, F, M, rank, act, stype, zs, zero_state):
    xf = rng.uniform(-1, 1, (B, I))
    wff = rng.uniform(-0.7, 0.7, (F, I))
    wtf = rng.uniform(-0.7, 0.7, (F, M))
    sx, zx = 2.0 / 255, -3
    swf = float(np.abs(wff).max() / 127)
    qmax = 32767 if stype == I16 else 127
    swt = float(np.abs(wtf).max() / qmax)
    ss = 4.0 / (qmax + 1)  # state range about [-4, 4)
    sb = float(np.float32(np.float32(ss) * np.float32(swt)))
    x = qz(xf, sx, zx, -128, 127).astype(np.int8)
    wf = qz(wff, swf, 0, -127, 127).astype(np.int8)
    wt = qz(wtf, swt, 0, -qmax, qmax).astype(np.int16 if stype == I16 else np.int8)
    bias = qz(rng.uniform(-0.3, 0.3, (F // rank,)), sb, 0, -2**31, 2**31 - 1).astype(np.int32)
    slo, shi = (-32768, 32767) if stype == I16 else (-128, 127)
    if zero_state:
        state = np.full((B, M * F), zs, np.int64)
    else:
        state = qz(rng.uniform(-1.5, 1.5, (B, M * F)), ss, zs, slo, shi).astype(np.int64)
    # the output scale from the float result's range
    yf = svdf_float((x.astype(np.float64) - zx) * sx, wf * swf, wt.astype(np.float64) * swt,
                    bias * sb, (state - zs) * ss, rank, ACT_NONE)
    sy, zy = float(np.float32(np.abs(yf).max() / 100)), 5
    y = svdf_int(x, wf, wt, bias, state, rank, sx, zx, swf, swt, ss, zs, sy, zy, stype)
    # the integer result follows the float one within a few output steps
    assert np.abs((y.astype(np.float64) - zy) * sy - yf).max() < 4 * sy
    ts = [dict(name="x", shape=(B, I), type=I8, scale=sx, zp=zx),
          dict(name="y", shape=(B, F // rank), type=I8, scale=sy, zp=zy),
          dict(name="wf", shape=(F, I), type=I8, data=wf, scale=swf, zp=0),
          dict(name="wt", shape=(F, M), type=stype, data=wt, scale=swt, zp=0),
          dict(name="bias", shape=(F // rank,), type=I32, data=bias, scale=sb, zp=0),
          dict(name="state", shape=(B, M * F), type=stype, variable=True, scale=ss, zp=zs,
               data=None if zero_state else state)]
    write_model(os.path.join(HERE, name + ".tflite"), ts, [0, 2, 3, 4, 5], rank, act)
    np.save(os.path.join(HERE, name + "_x.npy"), x)
    np.save(os.path.join(HERE, name + "_y.npy"), y)
    print(name, "y", y.tolist())


rng = np.random.default_rng(27)
float_case("f_r1", rng, 2, 3, 4, 3, 1, ACT_NONE, True, True)
float_case("f_r2_relu", rng, 2, 4, 6, 5, 2, ACT_RELU, False, False)
int_case("q_s16", rng, 2, 5, 6, 4, 2, ACT_RELU, I16, 0, False)
int_case("q_s8", rng, 3, 4, 4, 3, 1, ACT_NONE, I8, -13, True)
