#!/usr/bin/python3
"""Generates the small ONNX models of tests/unit/test_onnx_import.c and
tests/badinput/ (run from anywhere with /usr/bin/python3: numpy + onnx 1.12).
The .onnx files are committed; rerun after changing this script. Golden
values the C test embeds are printed at the end."""
import os
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def save(name, nodes, inputs, outputs, inits=(), opset=13, functions=(), ir=7):
    g = helper.make_graph(nodes, name.replace('.onnx', ''), inputs, outputs, list(inits))
    kw = {}
    if functions:
        kw['functions'] = list(functions)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)], producer_name='gen_models.py', **kw)
    m.ir_version = ir
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(m.SerializeToString())
    return m


# typed fields vs raw_data: same values stored both ways, plus float16 and
# int8 in int32_data, int64_data and double_data.
def initializers():
    vals = np.array([1.5, -2.0, 3.25, 0.0], np.float32)
    raw = numpy_helper.from_array(vals, 'w_raw')
    typed = helper.make_tensor('w_typed', F, [4], vals.tolist())          # float_data
    h = np.array([1.0, -0.5, 65504.0, 2.0 ** -24], np.float16)
    # bit patterns in int32_data, as ONNX stores float16 (make_tensor would convert)
    f16 = TensorProto(name='w_f16', data_type=TensorProto.FLOAT16, dims=[4],
                      int32_data=h.view(np.uint16).tolist())
    i8 = helper.make_tensor('w_i8', TensorProto.INT8, [4], [-128, -1, 0, 127])
    i64 = helper.make_tensor('w_i64', I64, [2], [1, -(2 ** 40)])
    f64 = helper.make_tensor('w_f64', TensorProto.DOUBLE, [2], [0.1, -1e300])
    b = helper.make_tensor('w_bool', TensorProto.BOOL, [3], [1, 0, 1])
    u64 = helper.make_tensor('w_u32', TensorProto.UINT32, [2], [7, 4000000000])
    unused = numpy_helper.from_array(np.ones([3], np.float32), 'w_unused')
    names = ['w_raw', 'w_typed', 'w_f16', 'w_i8', 'w_i64', 'w_f64', 'w_bool', 'w_u32']
    nodes = [helper.make_node('Add', ['x', 'w_raw'], ['a'], name='add'),
             helper.make_node('Add', ['a', 'w_typed'], ['y'], name='add2')]
    # the other constants are graph outputs, so they survive pruning
    outs = [vi('y', [4])] + [vi(n, None) for n in names[2:]]
    for o, n in zip(outs[1:], names[2:]):
        o.type.tensor_type.elem_type = {'w_f16': TensorProto.FLOAT16, 'w_i8': TensorProto.INT8,
                                        'w_i64': I64, 'w_f64': TensorProto.DOUBLE,
                                        'w_bool': TensorProto.BOOL, 'w_u32': TensorProto.UINT32}[n]
    save('initializers.onnx', nodes, [vi('x', [4])], outs,
         [raw, typed, f16, i8, i64, f64, b, u64, unused])


# external data: weights in a file beside the model, at an offset
def external():
    w = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5
    with open(os.path.join(HERE, 'external.bin'), 'wb') as f:
        f.write(b'\xAB' * 16 + w.tobytes() + b'\xCD' * 8)

    def ext(loc, offset=16, length=24):
        t = TensorProto(name='w', data_type=F, dims=[2, 3])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (('location', loc), ('offset', str(offset)), ('length', str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        return t

    nodes = [helper.make_node('Add', ['x', 'w'], ['y'], name='add')]
    save('external.onnx', nodes, [vi('x', [2, 3])], [vi('y', [2, 3])], [ext('external.bin')])
    save('bad_external_abs.onnx', nodes, [vi('x', [2, 3])], [vi('y', [2, 3])], [ext('/etc/passwd')])
    save('bad_external_dotdot.onnx', nodes, [vi('x', [2, 3])], [vi('y', [2, 3])],
         [ext('sub/../../external.bin')])
    save('bad_external_range.onnx', nodes, [vi('x', [2, 3])], [vi('y', [2, 3])],
         [ext('external.bin', offset=32)])


# names kept; an unnamed node takes its first output's name; nodes listed in
# reverse (the importer sorts them)
def names_unsorted():
    nodes = [helper.make_node('Sigmoid', ['t2'], ['y'], name=''),
             helper.make_node('Neg', ['t1'], ['t2'], name='my neg/1'),
             helper.make_node('Relu', ['x'], ['t1'], name='conv1.relu')]
    save('unsorted.onnx', nodes, [vi('x', [2])], [vi('y', [2])])


def cycle():
    nodes = [helper.make_node('Relu', ['x', ], ['a'], name='start'),
             helper.make_node('Add', ['a', 'c'], ['b'], name='loop_add'),
             helper.make_node('Neg', ['b'], ['c'], name='loop_neg'),
             helper.make_node('Relu', ['b'], ['y'], name='end')]
    save('cycle.onnx', nodes, [vi('x', [2])], [vi('y', [2])])


# opset-6 forms: legacy broadcast, Softmax-1 2-D coercion, Pad-2, Clip-6,
# Slice-1, Squeeze/Unsqueeze-1, ReduceSum-1, TopK-1, Split-2, BatchNorm-6,
# Dropout with its mask, Gemm broadcast, PRelu-6 per channel.
def legacy6():
    rng = np.random.RandomState(6)
    b = rng.randn(3).astype(np.float32)
    inits = [numpy_helper.from_array(b, 'bias'),
             numpy_helper.from_array(np.array([1.0, 2.0, 0.5], np.float32), 'bn_scale'),
             numpy_helper.from_array(np.array([0.1, 0.2, 0.3], np.float32), 'bn_b'),
             numpy_helper.from_array(np.array([0.0, 1.0, -1.0], np.float32), 'bn_mean'),
             numpy_helper.from_array(np.array([1.0, 4.0, 0.25], np.float32), 'bn_var'),
             numpy_helper.from_array(np.array([0.25, 0.5, 2.0], np.float32), 'slope')]
    n = helper.make_node
    nodes = [
        n('Add', ['x', 'bias'], ['a'], name='add_axis', broadcast=1, axis=1),          # [2,3,4]
        n('BatchNormalization', ['a', 'bn_scale', 'bn_b', 'bn_mean', 'bn_var'], ['bn'], name='bn',
          is_test=1, epsilon=1e-5, momentum=0.9),
        n('PRelu', ['bn', 'slope'], ['pr'], name='prelu'),
        n('Softmax', ['pr'], ['sm'], name='softmax', axis=1),                           # rows of 12
        n('Dropout', ['sm'], ['dr', 'mask'], name='dropout', is_test=1, ratio=0.5),
        n('Pad', ['dr'], ['pd'], name='pad', pads=[0, 0, 1, 0, 0, 2], value=0.5),        # [2,3,7]
        n('Clip', ['pd'], ['cl'], name='clip', min=0.05, max=0.4),
        n('Slice', ['cl'], ['sl'], name='slice', starts=[1, 0], ends=[3, 6], axes=[1, 2]),  # [2,2,6]
        n('Unsqueeze', ['sl'], ['us'], name='unsqueeze', axes=[0]),                    # [1,2,2,6]
        n('Squeeze', ['us'], ['sq'], name='squeeze', axes=[0]),                        # [2,2,6]
        n('ReduceSum', ['sq'], ['rs'], name='reducesum', axes=[1], keepdims=0),        # [2,6]
        n('Split', ['rs'], ['s0', 's1'], name='split', axis=1, split=[2, 4]),
        n('TopK', ['s1'], ['tv', 'ti'], name='topk', k=2, axis=1),
    ]
    outs = [vi('tv', [2, 2]), vi('ti', [2, 2], I64), vi('s0', [2, 2]),
            vi('mask', [2, 3, 4], TensorProto.BOOL)]
    save('legacy6.onnx', nodes, [vi('x', [2, 3, 4])], outs, inits, opset=6, ir=3)

    x = rng.randn(2, 3, 4).astype(np.float32)
    a = x + b.reshape(3, 1)
    bn = (a - np.array([0, 1, -1], np.float32).reshape(3, 1)) / np.sqrt(
        np.array([1, 4, 0.25], np.float32).reshape(3, 1) + 1e-5) * np.array([1, 2, 0.5], np.float32).reshape(3, 1) \
        + np.array([0.1, 0.2, 0.3], np.float32).reshape(3, 1)
    pr = np.where(bn < 0, bn * np.array([0.25, 0.5, 2], np.float32).reshape(3, 1), bn)
    r = pr.reshape(2, 12)
    e = np.exp(r - r.max(1, keepdims=True))
    sm = (e / e.sum(1, keepdims=True)).reshape(2, 3, 4)
    pd = np.pad(sm, [(0, 0), (0, 0), (1, 2)], constant_values=0.5)
    cl = np.clip(pd, 0.05, 0.4)
    sl = cl[:, 1:3, 0:6]
    rs = sl.sum(1)
    s0, s1 = rs[:, :2], rs[:, 2:]
    ti = np.argsort(-s1, axis=1, kind='stable')[:, :2]
    tv = np.take_along_axis(s1, ti, 1)
    return {'legacy6_x': x, 'legacy6_tv': tv, 'legacy6_ti': ti, 'legacy6_s0': s0}


def upsample_resize():
    n = helper.make_node
    sc = numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), 'scales')
    save('upsample7.onnx', [n('Upsample', ['x'], ['y'], name='up', mode='nearest', scales=[1.0, 1.0, 2.0, 3.0])],
         [vi('x', [1, 1, 2, 2])], [vi('y', [1, 1, 4, 6])], opset=7)
    save('upsample9.onnx', [n('Upsample', ['x', 'scales'], ['y'], name='up', mode='linear')],
         [vi('x', [1, 1, 2, 2])], [vi('y', [1, 1, 4, 6])], [sc], opset=9)
    save('resize10.onnx', [n('Resize', ['x', 'scales'], ['y'], name='rs', mode='nearest')],
         [vi('x', [1, 1, 2, 2])], [vi('y', [1, 1, 4, 6])], [sc], opset=10)


# opset-18 forms back to 17
def opset18():
    n = helper.make_node
    inits = [numpy_helper.from_array(np.array([1], np.int64), 'axes1'),
             numpy_helper.from_array(np.array([1, 2], np.int64), 'pads'),
             numpy_helper.from_array(np.array([2], np.int64), 'padaxes')]
    nodes = [n('ReduceMean', ['x', 'axes1'], ['rm'], name='rmean', keepdims=1),      # [2,1,5]
             n('Split', ['x'], ['p0', 'p1'], name='split', axis=2, num_outputs=2),    # [2,3,3] [2,3,2]
             n('Pad', ['x', 'pads', '', 'padaxes'], ['pd'], name='pad'),           # [2,3,8]
             n('ReduceMax', ['x'], ['rx'], name='rmax', keepdims=0)]                   # scalar
    save('opset18.onnx', nodes, [vi('x', [2, 3, 5])],
         [vi('rm', None), vi('p0', None), vi('p1', None), vi('pd', None), vi('rx', None)], inits,
         opset=18, ir=8)


# If whose condition folds to a constant (from Shape): the then-branch is
# inlined and reads the outer-scope 'x'
def if_inline():
    n = helper.make_node
    one = numpy_helper.from_array(np.array(1.0, np.float32), 'one')
    two = numpy_helper.from_array(np.array(2.0, np.float32), 'two')
    then_g = helper.make_graph([n('Add', ['x', 'one'], ['then_out'], name='then_add')], 'then', [],
                               [vi('then_out', [2, 3])])
    else_g = helper.make_graph([n('Mul', ['x', 'two'], ['else_out'], name='else_mul'),
                                n('Loop', ['x'], ['never'], name='never_loop')], 'else', [],
                               [vi('else_out', [2, 3])])
    idx0 = numpy_helper.from_array(np.array(0, np.int64), 'idx0')
    two_i = numpy_helper.from_array(np.array(2, np.int64), 'two_i')
    nodes = [n('Shape', ['x'], ['shp'], name='shape'),
             n('Gather', ['shp', 'idx0'], ['d0'], name='gather', axis=0),
             n('Equal', ['d0', 'two_i'], ['cond'], name='eq'),
             n('If', ['cond'], ['y'], name='the_if', then_branch=then_g, else_branch=else_g)]
    save('if_inline.onnx', nodes, [vi('x', [2, 3])], [vi('y', [2, 3])], [one, two, idx0, two_i])
    # the condition depends on an input: it can be bound with a value
    nodes = [n('If', ['c'], ['y'], name='the_if', then_branch=then_g, else_branch=else_g)]
    save('if_input.onnx', nodes, [vi('x', [2, 3]), vi('c', [], TensorProto.BOOL)],
         [vi('y', [2, 3])], [one, two])


# a PyTorch-style Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain
def shape_chain():
    n = helper.make_node
    inits = [numpy_helper.from_array(np.array(0, np.int64), 'i0'),
             numpy_helper.from_array(np.array([-1], np.int64), 'minus1')]
    nodes = [n('Shape', ['x'], ['s'], name='Shape_0'),
             n('Gather', ['s', 'i0'], ['b'], name='Gather_1', axis=0),
             n('Unsqueeze', ['b'], ['bu'], name='Unsqueeze_2', axes=[0]),
             n('Concat', ['bu', 'minus1'], ['shape'], name='Concat_3', axis=0),
             n('Reshape', ['x', 'shape'], ['y'], name='Reshape_4')]
    save('shape_chain.onnx', nodes, [vi('x', [1, 3, 4, 4])], [vi('y', [1, 48])], inits, opset=11)


def unsupported():
    n = helper.make_node
    nodes = [n('Relu', ['x'], ['a'], name='relu'),
             n('FooBar', ['a'], ['b'], name='foo'),
             n('FusedConv', ['b'], ['c'], name='fc', domain='com.microsoft'),
             n('Unique', ['c'], ['y'], name='')]
    g = helper.make_graph(nodes, 'unsupported', [vi('x', [2])], [vi('y', [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13),
                                            helper.make_opsetid('com.microsoft', 1)])
    with open(os.path.join(HERE, 'unsupported.onnx'), 'wb') as f:
        f.write(m.SerializeToString())


def dynamic():
    x = helper.make_tensor_value_info('x', F, ['N', 3, 'H', 8])
    save('dynamic.onnx', [helper.make_node('Relu', ['x'], ['y'], name='relu')], [x], [vi('y', None)])
    x = helper.make_tensor_value_info('x', F, ['batch', 3])
    save('dynamic_batch.onnx', [helper.make_node('Relu', ['x'], ['y'], name='relu')], [x], [vi('y', None)])


# a model-local function with an attribute reference (opset-18 exports)
def function():
    n = helper.make_node
    body = [n('Add', ['a', 'b'], ['t']),
            n('Constant', [], ['k'], value_float=0.0),
            n('Mul', ['t', 'k'], ['out'])]
    body[1].attribute[0].ref_attr_name = 'alpha'
    body[1].attribute[0].name = 'value_float'
    f = helper.make_function('custom', 'AddScale', ['a', 'b'], ['out'], body,
                             [helper.make_opsetid('', 18)], ['alpha'])
    nodes = [n('AddScale', ['x', 'x'], ['y'], name='call', domain='custom', alpha=1.5)]
    g = helper.make_graph(nodes, 'function', [vi('x', [3])], [vi('y', [3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 18), helper.make_opsetid('custom', 1)],
                          functions=[f])
    m.ir_version = 8
    with open(os.path.join(HERE, 'function.onnx'), 'wb') as fh:
        fh.write(m.SerializeToString())


# bad inputs (tests/badinput and the unit test)
def bad():
    n = helper.make_node
    save('bad_opset.onnx', [n('Relu', ['x'], ['y'])], [vi('x', [2])], [vi('y', [2])], opset=19)
    save('bad_opset5.onnx', [n('Relu', ['x'], ['y'])], [vi('x', [2])], [vi('y', [2])], opset=5)
    save('bad_overflow.onnx', [n('Relu', ['x'], ['y'], name='relu')],
         [vi('x', [1 << 40, 1 << 40, 1 << 40])], [vi('y', None)])
    big = TensorProto(name='w', data_type=F, dims=[1 << 40, 1 << 40, 1 << 40])
    save('bad_overflow_init.onnx', [n('Add', ['x', 'w'], ['y'], name='add')],
         [vi('x', [2])], [vi('y', None)], [big])
    idx = numpy_helper.from_array(np.array([0, 5], np.int64), 'idx')
    save('bad_gather.onnx', [n('Gather', ['x', 'idx'], ['y'], name='gather', axis=0)],
         [vi('x', [3, 4])], [vi('y', None)], [idx])
    save('bad_axis.onnx', [n('Softmax', ['x'], ['y'], name='softmax', axis=5)],
         [vi('x', [3, 4])], [vi('y', None)])
    t = TensorProto(name='w', data_type=F, dims=[4])
    t.raw_data = b'\0' * 12
    save('bad_size.onnx', [n('Add', ['x', 'w'], ['y'], name='add')], [vi('x', [4])], [vi('y', None)], [t])
    s = helper.make_tensor('w', TensorProto.STRING, [1], [b'hello'])
    save('bad_string.onnx', [n('Identity', ['w'], ['y'], name='id')], [], [vi('y', None)], [s])
    g = helper.make_graph([], 'empty', [vi('x', [2])], [vi('x', [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    with open(os.path.join(HERE, 'bad_empty.onnx'), 'wb') as f:
        f.write(m.SerializeToString())
    with open(os.path.join(HERE, 'bad_lfs.onnx'), 'w') as f:
        f.write('version https://git-lfs.github.com/spec/v1\n'
                'oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n'
                'size 12345\n')
    rng = np.random.RandomState(1234)
    with open(os.path.join(HERE, 'bad_random.onnx'), 'wb') as f:
        f.write(rng.bytes(4096))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data))
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 0, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(b'\0\x10\x20\0\x30\x40')) + chunk(b'IEND', b'')
    with open(os.path.join(HERE, 'bad_png.onnx'), 'wb') as f:
        f.write(png)


# a serialized TensorProto like libonnx-testdata's input_0.pb
def tensor_file():
    t = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5, 'input_0')
    with open(os.path.join(HERE, 'tensor.pb'), 'wb') as f:
        f.write(t.SerializeToString())


if __name__ == '__main__':
    tensor_file()
    initializers()
    external()
    names_unsorted()
    cycle()
    gold = legacy6()
    upsample_resize()
    opset18()
    if_inline()
    shape_chain()
    unsupported()
    dynamic()
    function()
    bad()
    np.set_printoptions(precision=9, floatmode='unique')
    for k, v in gold.items():
        print(k, v.dtype, list(v.shape))
        print('   ', ', '.join(repr(float(x)) if v.dtype.kind == 'f' else str(int(x)) for x in v.ravel()))
