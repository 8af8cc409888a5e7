#!/usr/bin/python3
"""Writes floor.onnx: input x [1,4,8,8] -> Relu -> Floor -> Relu -> y. The NPUs of
targets/*.yaml do not run Floor: with the default delegate it goes to the CPU with a
warning. Run: /usr/bin/python3 tests/convert/data/gen_floor.py (needs onnx)."""
import os

import onnx
from onnx import TensorProto, helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
nodes = [
    helper.make_node("Relu", ["x"], ["a"], name="relu_in"),
    helper.make_node("Floor", ["a"], ["b"], name="floor"),
    helper.make_node("Relu", ["b"], ["y"], name="relu_out"),
]
graph = helper.make_graph(nodes, "floor", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_floor.py")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor.onnx"))
