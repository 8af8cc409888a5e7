#!/usr/bin/python3
"""Writes two float UNIDIRECTIONAL_SEQUENCE_LSTM (builtin 44) models and their
expected outputs, for tests/tflite/test_tflite.c (test_lstm_float):

  peep_clip: batch-major x [2, 5, 3], 4 units, peepholes, cell_clip 0.4
             (it engages), tanh, non-zero initial output/cell states
             (constant [2, 4] tensors, inputs 18/19).
  cifg_tm:   time-major x [6, 2, 3], 4 units, CIFG (no input gate:
             inputs 1, 5, 9, 12 omitted), no peepholes, no clip, relu,
             zero initial states.

Each NAME.tflite has graph input x and output y; NAME_x.npy is the input the
test feeds and NAME_y.npy the output of a float64 numpy LSTM written from
TFLite's definition (gates input/forget/cell/output; CIFG: i = 1 - f;
c = f*c + i*act(z_c), then clipped to [-cell_clip, cell_clip]; peepholes
use c_{t-1} for i and f and the new c for o; h = o * act(c)).

Built with the flatbuffers runtime's generic Builder and the public TFLite
schema field numbers: Model (version 0, operator_codes 1, subgraphs 2,
buffers 4), OperatorCode (deprecated_builtin_code 0, version 2,
builtin_code 3), SubGraph (tensors 0, inputs 1, outputs 2, operators 3,
name 4), Tensor (shape 0, type 1: FLOAT32 = 0, buffer 2, name 3),
Operator (opcode_index 0, inputs 1, outputs 2, builtin_options_type 3 =
71 UnidirectionalSequenceLSTMOptions, builtin_options 4), Buffer (data 0),
UnidirectionalSequenceLSTMOptions (fused_activation_function 0, cell_clip
1, proj_clip 2, time_major 3); file identifier TFL3.

Run: /usr/bin/python3 tests/data/tflite_lstm/gen.py (numpy + flatbuffers)
"""
import os

import sys

import flatbuffers
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from tflite_builder import finish_one_op, ivec, ovec  # noqa: E402
ACT_RELU, ACT_TANH = 1, 4


def write_model(path, consts, x_shape, y_shape, op_inputs, act, cell_clip, time_major):
    """consts: list of (name, float32 array) or None for an omitted input;
    op_inputs: the op's 24 inputs as indices into consts (-1: omitted)."""
    b = flatbuffers.Builder(4096)

    def tensor(name, shape, buf):
        n = b.CreateString(name)
        s = ivec(b, list(shape))
        b.StartObject(4)
        b.PrependUOffsetTRelativeSlot(0, s, 0)
        b.PrependInt8Slot(1, 0, 0)  # FLOAT32
        b.PrependUint32Slot(2, buf, 0)
        b.PrependUOffsetTRelativeSlot(3, n, 0)
        return b.EndObject()

    # tensors: 0 x, 1 y, then the constants (buffer 1 + k)
    ts = [tensor("x", x_shape, 0), tensor("y", y_shape, 0)]
    datas = []
    for k, (name, arr) in enumerate(consts):
        ts.append(tensor(name, arr.shape, 1 + k))
        datas.append(np.ascontiguousarray(arr, dtype="<f4").tobytes())
    tensors = ovec(b, ts)
    ins = ivec(b, [0])
    outs = ivec(b, [1])
    op_in = ivec(b, [0] + [(-1 if i < 0 else 2 + i) for i in op_inputs[1:]])
    op_out = ivec(b, [1])
    b.StartObject(4)
    b.PrependInt8Slot(0, act, 0)
    b.PrependFloat32Slot(1, cell_clip, 0.0)
    b.PrependBoolSlot(3, time_major, False)
    opts = b.EndObject()
    finish_one_op(b, path, tensors, ins, outs, op_in, op_out, 44, opts, 71, datas)


def reference(x, p, act, cell_clip, time_major, cifg):
    """float64 LSTM in TFLite's gate order; p maps input index -> array."""
    x = x.astype(np.float64)
    if time_major:
        x = x.transpose(1, 0, 2)
    B, S, _ = x.shape
    g = {k: v.astype(np.float64) for k, v in p.items()}
    h, c = g[18].copy(), g[19].copy()
    f_act = np.tanh if act == ACT_TANH else (lambda v: np.maximum(v, 0))
    sig = lambda v: 1 / (1 + np.exp(-v))
    ys, clipped = [], 0
    for t in range(S):
        xt = x[:, t]
        z = lambda k: xt @ g[1 + k].T + h @ g[5 + k].T + g[12 + k]
        zf = z(1) + (g[10] * c if 10 in g else 0)
        f = sig(zf)
        i = 1 - f if cifg else sig(z(0) + (g[9] * c if 9 in g else 0))
        c = f * c + i * f_act(z(2))
        if cell_clip > 0:
            clipped += int((np.abs(c) > cell_clip).sum())
            c = np.clip(c, -cell_clip, cell_clip)
        o = sig(z(3) + (g[11] * c if 11 in g else 0))
        h = o * f_act(c)
        ys.append(h)
    y = np.stack(ys, 1)
    return (y.transpose(1, 0, 2) if time_major else y), clipped


def case(name, rng, B, S, I, H, act, cell_clip, time_major, cifg, peep, zero_state, ramp=False):
    p = {}
    for k in range(4):
        if cifg and k == 0:
            continue
        p[1 + k] = rng.uniform(-0.8, 0.8, (H, I))
        p[5 + k] = rng.uniform(-0.8, 0.8, (H, H))
        p[12 + k] = rng.uniform(-0.5, 0.5, (H,))
    if peep:
        for k in range(3):
            if not (cifg and k == 0):
                p[9 + k] = rng.uniform(-0.5, 0.5, (H,))
    p[18] = np.zeros((B, H)) if zero_state else rng.uniform(-0.9, 0.9, (B, H))
    p[19] = np.zeros((B, H)) if zero_state else rng.uniform(-0.7, 0.7, (B, H))
    if ramp:  # i, f ~ 1; the cell input follows the sign of x[..., 0]
        p[5], p[6], p[7], p[8] = (0.05 * v for v in (p[5], p[6], p[7], p[8]))
        p[12][:] = p[13][:] = 8.0
        p[3][:, 0] = 4.0
        p[14][:] = 0.0
    p = {k: v.astype(np.float32) for k, v in p.items()}
    consts, op_inputs = [], [0] + [-1] * 23
    for k in sorted(p):
        op_inputs[k] = len(consts)
        consts.append(("c%d" % k, p[k]))
    xs = (S, B, I) if time_major else (B, S, I)
    ys = (S, B, H) if time_major else (B, S, H)
    x = rng.uniform(-2, 2, xs).astype(np.float32)
    if ramp:
        x[:, :, 0] = np.where(np.arange(S) < 12, 1.0, -1.0)
    write_model(os.path.join(HERE, name + ".tflite"), consts, xs, ys, op_inputs, act,
                cell_clip, time_major)
    y, clipped = reference(x, p, act, cell_clip, time_major, cifg)
    # the clip must engage somewhere, or the case does not test it
    assert clipped > 0 or cell_clip == 0
    if cell_clip > 0:  # and the outputs show it
        assert np.abs(reference(x, p, act, 0.0, time_major, cifg)[0] - y).max() > 0.1
    np.save(os.path.join(HERE, name + "_x.npy"), x)
    np.save(os.path.join(HERE, name + "_y.npy"), y.astype(np.float32))
    print(name, "y range", float(y.min()), float(y.max()), "cell values clipped", clipped)


rng = np.random.default_rng(5)
case("peep", rng, 2, 5, 3, 4, ACT_TANH, 0.0, False, False, True, False)
case("clip", rng, 2, 22, 2, 3, ACT_TANH, 8.0, False, False, False, True, ramp=True)
case("cifg_tm", rng, 2, 6, 3, 4, ACT_RELU, 0.0, True, True, False, True)
