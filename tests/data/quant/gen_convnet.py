#!/usr/bin/python3
"""Generates convnet.onnx, the small conv net of the quantization tests:
conv1 (3->8, 3x3) relu1 conv2 (8->8, 3x3) relu2 add1 (relu1 + relu2) pool1
(MaxPool 2x2) conv3 (8->16, 1x1) relu3 gap flatten fc (Gemm 16->10, transB).
Input 'input' [1, 3, 16, 16], output 'logits' [1, 10]. Weights from a fixed
seed, scaled so every activation stays O(1) on inputs in [0, 1).
Usage: /usr/bin/python3 gen_convnet.py [OUT.onnx]"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(4)


def w(name, *shape, fan_in):
    return numpy_helper.from_array(
        (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), name)


def b(name, n):
    return numpy_helper.from_array((rng.standard_normal(n) * 0.1).astype(np.float32), name)


inits = [w("conv1.w", 8, 3, 3, 3, fan_in=27), b("conv1.b", 8),
         w("conv2.w", 8, 8, 3, 3, fan_in=72), b("conv2.b", 8),
         w("conv3.w", 16, 8, 1, 1, fan_in=8), b("conv3.b", 16),
         w("fc.w", 10, 16, fan_in=16), b("fc.b", 10)]
nodes = [
    helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
    helper.make_node("Conv", ["r1", "conv2.w", "conv2.b"], ["c2"], "conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"], "relu2"),
    helper.make_node("Add", ["r1", "r2"], ["a1"], "add1"),
    helper.make_node("MaxPool", ["a1"], ["p1"], "pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "conv3.w", "conv3.b"], ["c3"], "conv3"),
    helper.make_node("Relu", ["c3"], ["r3"], "relu3"),
    helper.make_node("GlobalAveragePool", ["r3"], ["g"], "gap"),
    helper.make_node("Flatten", ["g"], ["f"], "flatten"),
    helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], "fc", transB=1),
]
graph = helper.make_graph(
    nodes, "convnet",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 16])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="synap-tests")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1] if len(sys.argv) > 1 else "convnet.onnx")
