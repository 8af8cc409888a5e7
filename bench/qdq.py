#!/usr/bin/python3
"""Fake-quantizes an ONNX model, for bench/quant_peer.sh: a peer for synap's
quantized arithmetic that quantizes the same tensors but computes everything
else in ONNX Runtime's float32.

  qdq.py expose IN.onnx OUT.onnx
      OUT: IN with every float tensor also a graph output (to measure ranges).
  qdq.py build IN.onnx OUT.onnx [--ranges R.json] [--points FILE]
               [--acts none|u8|i16] [--weights none|u8|pc8|i16] [--headroom H]
      OUT: IN with each activation tensor named in R.json ({name: [min, max]},
      from quant_peer.js minmax) and in FILE (one name per line; default:
      all of R.json) rounded to the grid of its type, and the weights of
      Conv, ConvTranspose, MatMul and Gemm rounded to theirs:
        u8   asymmetric uint8 on [min(lo, 0), max(hi, 0)] (SyNAP's
             asymmetric_affine), per tensor;
        i16  dynamic fixed point int16: step 2^-fl, the largest fl that
             holds H * max(|lo|, |hi|) (activations; H = 1 unless --headroom),
             max |w| (weights), per tensor;
        pc8  (weights) symmetric int8 per output channel.
      A tensor read by one Relu only is rounded on the Relu's range (the
      fused conv + relu of synap and of every NPU). Rounding is
      x_q = (min(max(floor(x / s + z + 0.5), qmin), qmax) - z) * s, written
      with opset-8 operators so that any model version takes it.

Both first turn Constant nodes into initializers and fold a BatchNormalization
that alone reads a Conv's output into that Conv, as synap-import does.
Needs python3-onnx and python3-numpy (Debian; run with /usr/bin/python3).
"""
import argparse
import json
import sys

import google.protobuf.message
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference


def consts_to_inits(g):
    keep = []
    for n in g.node:
        if n.op_type == 'Constant' and len(n.attribute) == 1 and n.attribute[0].name == 'value':
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            g.initializer.append(t)
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)


def users_of(g):
    users = {}
    for n in g.node:
        for x in n.input:
            users.setdefault(x, []).append(n)
    return users


def fold_bn(g):
    inits = {t.name: t for t in g.initializer}
    users = users_of(g)
    producer = {o: n for n in g.node for o in n.output}
    drop = set()
    for n in g.node:
        if n.op_type != 'BatchNormalization' or len(n.input) != 5 or len(n.output) != 1:
            continue
        c = producer.get(n.input[0])
        if c is None or c.op_type != 'Conv' or len(users.get(n.input[0], [])) != 1:
            continue
        if c.input[1] not in inits or (len(c.input) > 2 and c.input[2] not in inits):
            continue
        if any(x not in inits for x in n.input[1:5]):
            continue
        eps = next((a.f for a in n.attribute if a.name == 'epsilon'), 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(inits[x]).astype(np.float64)
                                  for x in n.input[1:5])
        s = gamma / np.sqrt(var + eps)
        w = numpy_helper.to_array(inits[c.input[1]]).astype(np.float64)
        b = numpy_helper.to_array(inits[c.input[2]]).astype(np.float64) if len(c.input) > 2 else 0.0
        wn, bn = n.output[0] + ':weight_bnfold', n.output[0] + ':bias_bnfold'
        shape = (-1,) + (1,) * (w.ndim - 1)
        g.initializer.extend([numpy_helper.from_array((w * s.reshape(shape)).astype(np.float32), wn),
                              numpy_helper.from_array(((b - mean) * s + beta).astype(np.float32), bn)])
        x = c.input[0]
        del c.input[:]
        c.input.extend([x, wn, bn])
        c.output[0] = n.output[0]
        drop.add(id(n))
    keep = [n for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(keep)
    # initializers nobody reads any more (the unfolded weights)
    used = {x for n in g.node for x in n.input}
    keep_i = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_i)


def load(path):
    try:
        m = onnx.load(path)
    except google.protobuf.message.DecodeError as e:
        raise ValueError(f'{path}: not an ONNX model ({e})') from e
    # an old exporter's weights are graph inputs too: only the data stays one
    inits = {t.name for t in m.graph.initializer}
    data = [i for i in m.graph.input if i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(data)
    consts_to_inits(m.graph)
    fold_bn(m.graph)
    return m


def float_tensors(m):
    """The graph inputs and node outputs of type float32, in graph order."""
    g = shape_inference.infer_shapes(m).graph
    types = {v.name: v.type.tensor_type.elem_type
             for v in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {t.name for t in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    names += [o for n in m.graph.node for o in n.output if o]
    return [t for t in names if types.get(t, TensorProto.FLOAT) == TensorProto.FLOAT]


def expose(src, dst):
    m = load(src)
    have = {o.name for o in m.graph.output}
    for t in float_tensors(m):
        if t not in have:
            m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    onnx.save(m, dst)


def u8_grid(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = (hi - lo) / 255.0 if hi > lo else 1.0
    return s, int(np.clip(np.floor(-lo / s + 0.5), 0, 255)), 0.0, 255.0


def i16_grid(lo, hi, headroom=1.0):
    a = max(abs(lo), abs(hi)) * headroom
    fl = int(np.floor(np.log2(32767.0 / a))) if a > 0 else 0
    return 2.0 ** -fl, 0, -32768.0, 32767.0


GRID = {'u8': u8_grid, 'i16': i16_grid}


def fq(w, grid):
    s, z, qmin, qmax = grid
    return (np.clip(np.floor(w / s + z + 0.5), qmin, qmax) - z) * s


def quantize_weights(g, kind):
    inits = {t.name: t for t in g.initializer}
    done = set()
    for n in g.node:
        if n.op_type not in ('Conv', 'ConvTranspose', 'MatMul', 'Gemm') or len(n.input) < 2:
            continue
        if n.input[1] not in inits or n.input[1] in done:  # a shared weight rounds once
            continue
        done.add(n.input[1])
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
        if kind == 'pc8':  # the output-channel axis
            axis = {'ConvTranspose': 1, 'MatMul': w.ndim - 1}.get(n.op_type, 0)
            if n.op_type == 'Gemm':
                axis = 0 if any(a.name == 'transB' and a.i for a in n.attribute) else 1
            red = tuple(i for i in range(w.ndim) if i != axis)
            mx = np.abs(w).max(axis=red, keepdims=True)
            s = np.where(mx > 0, mx / 127.0, 1.0)
            wq = np.clip(np.floor(w / s + 0.5), -127, 127) * s
        else:
            wq = fq(w, GRID[kind](float(w.min()), float(w.max())))
        inits[n.input[1]].CopyFrom(numpy_helper.from_array(wq.astype(np.float32), n.input[1]))
    return len(done)


def build(src, dst, ranges, points, acts, weights, headroom):
    m = load(src)
    g = m.graph
    R = {}
    if ranges:
        try:
            R = {k: [float(v[0]), float(v[1])] for k, v in json.load(open(ranges)).items()}
        except (ValueError, TypeError, IndexError, AttributeError) as e:
            raise ValueError(f'{ranges}: expected {{tensor: [min, max]}} ({e})') from e
    want = None
    if points:
        want = {line.strip() for line in open(points) if line.strip()}
    users = users_of(g)
    outs = {o.name for o in g.output}
    for t, us in users.items():
        if len(us) == 1 and us[0].op_type == 'Relu' and t not in outs and t in R \
                and us[0].output[0] in R:
            R[t] = [0.0, R[us[0].output[0]][1]]
    k = [0]

    def const(v):
        k[0] += 1
        name = f'qdq_c{k[0]}'
        g.initializer.append(numpy_helper.from_array(np.array(v, dtype=np.float32), name))
        return name

    def rounding(x, y, grid):
        s, z, qmin, qmax = grid
        a, b, c, d, e, f = (f'{y}:fq{i}' for i in range(6))
        return [helper.make_node('Div', [x, const(s)], [a]),
                helper.make_node('Add', [a, const(z + 0.5)], [b]),
                helper.make_node('Floor', [b], [c]),
                helper.make_node('Max', [c, const(qmin)], [d]),
                helper.make_node('Min', [d, const(qmax)], [e]),
                helper.make_node('Sub', [e, const(float(z))], [f]),
                helper.make_node('Mul', [f, const(s)], [y])]

    head, after, n_a = [], {}, 0
    if acts != 'none':
        inputs = {i.name for i in g.input}
        for t in float_tensors(m):
            if t not in R or (want is not None and t not in want):
                continue
            grid = u8_grid(*R[t]) if acts == 'u8' else i16_grid(*R[t], headroom)
            if t in inputs:  # the readers take the rounded copy
                for n in g.node:
                    for i, x in enumerate(n.input):
                        if x == t:
                            n.input[i] = t + ':fq'
                head += rounding(t, t + ':fq', grid)
            else:  # the producer writes t:raw, the rounding writes t
                for n in g.node:
                    for i, x in enumerate(n.output):
                        if x == t:
                            n.output[i] = t + ':raw'
                after[t + ':raw'] = rounding(t + ':raw', t, grid)
            n_a += 1
    n_w = quantize_weights(g, weights) if weights != 'none' else 0
    nodes = list(head)
    for n in g.node:
        nodes.append(n)
        for o in n.output:
            nodes += after.get(o, [])
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, dst)
    print(f'{dst}: {n_a} activation tensors rounded ({acts}), {n_w} weights ({weights})',
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('expose')
    e.add_argument('src')
    e.add_argument('dst')
    b = sub.add_parser('build')
    b.add_argument('src')
    b.add_argument('dst')
    b.add_argument('--ranges')
    b.add_argument('--points')
    b.add_argument('--acts', choices=['none', 'u8', 'i16'], default='u8')
    b.add_argument('--weights', choices=['none', 'u8', 'pc8', 'i16'], default='u8')
    b.add_argument('--headroom', type=float, default=1.0)
    a = p.parse_args()
    try:
        if a.cmd == 'expose':
            expose(a.src, a.dst)
        else:
            build(a.src, a.dst, a.ranges, a.points, a.acts, a.weights, a.headroom)
    except (OSError, ValueError) as e:
        sys.exit(f'qdq.py: {e}')


if __name__ == '__main__':
    main()
