#!/usr/bin/python3
"""Generates two_inputs.onnx, the two-input model of the quantization
bad-input tests (tests/convert/quant_bad.sh): left and right [1, 3, 16, 16]
each through a 3x3 conv (conv_left, conv_right: 3->4), added (add), relu,
global average pool (gap), flatten -> 'out' [1, 4]. Weights from a fixed seed.
Usage: /usr/bin/python3 gen_two_inputs.py [OUT.onnx]"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def t(name, *shape, s):
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


inits = [t("conv_left.w", 4, 3, 3, 3, s=0.27), t("conv_left.b", 4, s=0.1),
         t("conv_right.w", 4, 3, 3, 3, s=0.27), t("conv_right.b", 4, s=0.1)]
nodes = [
    helper.make_node("Conv", ["left", "conv_left.w", "conv_left.b"], ["cl"], "conv_left",
                     pads=[1, 1, 1, 1]),
    helper.make_node("Conv", ["right", "conv_right.w", "conv_right.b"], ["cr"], "conv_right",
                     pads=[1, 1, 1, 1]),
    helper.make_node("Add", ["cl", "cr"], ["a"], "add"),
    helper.make_node("Relu", ["a"], ["r"], "relu"),
    helper.make_node("GlobalAveragePool", ["r"], ["g"], "gap"),
    helper.make_node("Flatten", ["g"], ["out"], "flatten"),
]
graph = helper.make_graph(
    nodes, "two_inputs",
    [helper.make_tensor_value_info("left", TensorProto.FLOAT, [1, 3, 16, 16]),
     helper.make_tensor_value_info("right", TensorProto.FLOAT, [1, 3, 16, 16])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="synap-tests")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1] if len(sys.argv) > 1 else "two_inputs.onnx")
