#!/usr/bin/python3
"""Writes floor_div.tflite: one FLOOR_DIV (builtin 90) of two int32 graph
inputs, a [2, 4] by b [4] (broadcast), output int32 [2, 4]. Used by
tests/unit/test_qmath.c (test_tflite_floor_div_int32), which feeds it and
compares with Python's // (floor division, what TFLite's int32 FloorDiv
computes as floor(double(a) / double(b))).

Built with the flatbuffers runtime's generic Builder and the public TFLite
schema field numbers (Model: version 0, operator_codes 1, subgraphs 2,
buffers 4; OperatorCode: deprecated_builtin_code 0, version 2,
builtin_code 3; SubGraph: tensors 0, inputs 1, outputs 2, operators 3,
name 4; Tensor: shape 0, type 1 (INT32 = 2), buffer 2, name 3; Operator:
opcode_index 0, inputs 1, outputs 2; Buffer: data 0); file identifier TFL3.

Run: /usr/bin/python3 tests/data/tflite_floor_div/gen.py
"""
import os

import flatbuffers

b = flatbuffers.Builder(1024)


def ivec(vals):
    b.StartVector(4, len(vals), 4)
    for v in reversed(vals):
        b.PrependInt32(v)
    return b.EndVector()


def ovec(offs):
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def tensor(name, shape):
    n = b.CreateString(name)
    s = ivec(shape)
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, s, 0)
    b.PrependInt8Slot(1, 2, 0)  # INT32
    b.PrependUint32Slot(2, 0, 0)  # buffer 0: none
    b.PrependUOffsetTRelativeSlot(3, n, 0)
    return b.EndObject()


ts = [tensor("a", [2, 4]), tensor("b", [4]), tensor("q", [2, 4])]
tensors = ovec(ts)
ins = ivec([0, 1])
outs = ivec([2])
op_in = ivec([0, 1])
op_out = ivec([2])
b.StartObject(3)
b.PrependUint32Slot(0, 0, 0)
b.PrependUOffsetTRelativeSlot(1, op_in, 0)
b.PrependUOffsetTRelativeSlot(2, op_out, 0)
op = b.EndObject()
ops = ovec([op])
name = b.CreateString("main")
b.StartObject(5)
b.PrependUOffsetTRelativeSlot(0, tensors, 0)
b.PrependUOffsetTRelativeSlot(1, ins, 0)
b.PrependUOffsetTRelativeSlot(2, outs, 0)
b.PrependUOffsetTRelativeSlot(3, ops, 0)
b.PrependUOffsetTRelativeSlot(4, name, 0)
sg = b.EndObject()
sgs = ovec([sg])
b.StartObject(4)
b.PrependInt8Slot(0, 90, 0)
b.PrependInt32Slot(2, 1, 1)
b.PrependInt32Slot(3, 90, 0)
oc = b.EndObject()
ocs = ovec([oc])
b.StartObject(1)
buf0 = b.EndObject()
bufs = ovec([buf0])
b.StartObject(5)
b.PrependUint32Slot(0, 3, 0)
b.PrependUOffsetTRelativeSlot(1, ocs, 0)
b.PrependUOffsetTRelativeSlot(2, sgs, 0)
b.PrependUOffsetTRelativeSlot(4, bufs, 0)
model = b.EndObject()
b.Finish(model, file_identifier=b"TFL3")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor_div.tflite")
with open(out, "wb") as f:
    f.write(b.Output())

# the values the unit test feeds, and the expected quotients
A = [7, -7, 7, -7, 0, -1, 2147483647, -2147483648]
B = [2, 2, -2, -2]
print("a", A, "b", B)
print("a // b", [a // B[i % 4] for i, a in enumerate(A)])
