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
import sys

import flatbuffers

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tflite_builder import finish_one_op, ivec, ovec  # noqa: E402

b = flatbuffers.Builder(1024)


def tensor(name, shape):
    n = b.CreateString(name)
    s = ivec(b, shape)
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, s, 0)
    b.PrependInt8Slot(1, 2, 0)  # INT32
    b.PrependUint32Slot(2, 0, 0)  # buffer 0: none
    b.PrependUOffsetTRelativeSlot(3, n, 0)
    return b.EndObject()


ts = [tensor("a", [2, 4]), tensor("b", [4]), tensor("q", [2, 4])]
tensors = ovec(b, ts)
ins = ivec(b, [0, 1])
outs = ivec(b, [2])
op_in = ivec(b, [0, 1])
op_out = ivec(b, [2])
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor_div.tflite")
finish_one_op(b, out, tensors, ins, outs, op_in, op_out, 90)

# the values the unit test feeds, and the expected quotients
A = [7, -7, 7, -7, 0, -1, 2147483647, -2147483648]
B = [2, 2, -2, -2]
print("a", A, "b", B)
print("a // b", [a // B[i % 4] for i, a in enumerate(A)])
