#!/usr/bin/python3
"""Regenerates the small calibration test files (committed; rerun by hand):
images of known colors for the JPEG/PNG decoders and the synap-calib tests,
a truncated JPEG, and .npy samples for a 1x3x8x8 input."""
import os

import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))


def path(*p):
    full = os.path.join(here, *p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def halves(w, h, left, right, mode="RGB"):
    """Left half one color, right half another."""
    im = Image.new(mode, (w, h), left)
    im.paste(Image.new(mode, (w - w // 2, h), right), (w // 2, 0))
    return im


# decoder cases: 16x8, left red / right blue; gray 16x8 left 40 / right 200
halves(16, 8, (255, 0, 0), (0, 0, 255)).save(path("rgb.jpg"), quality=95, subsampling=0)
halves(16, 8, (255, 0, 0), (0, 0, 255)).save(path("rgb.png"))
halves(16, 8, 40, 200, "L").save(path("gray.jpg"), quality=95)
halves(16, 8, 40, 200, "L").save(path("gray.png"))
halves(16, 8, (255, 0, 0, 255), (0, 0, 255, 255), "RGBA").save(path("rgba.png"))
halves(16, 8, (255, 0, 0), (0, 0, 255)).convert("P").save(path("palette.png"))
halves(16, 8, (255, 0, 0), (0, 0, 255)).save(path("progressive.jpg"), quality=95, subsampling=0,
                                               progressive=True)

# a truncated JPEG (the first half of a bigger one)
rng = np.random.default_rng(4)
noise = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
noise.save(path("noise.jpg"), quality=90)
with open(path("noise.jpg"), "rb") as f:
    data = f.read()
with open(path("bad", "truncated.jpg"), "wb") as f:
    f.write(data[: len(data) // 2])
os.remove(path("noise.jpg"))

# synap-calib data sets: 4 photos-like images (JPEG and PNG, various sizes)
colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (120, 120, 120)]
sizes = [(32, 16), (16, 32), (24, 24), (40, 10)]
for i, (c, s) in enumerate(zip(colors, sizes)):
    im = halves(s[0], s[1], c, tuple(255 - v for v in c))
    if i % 2:
        im.save(path("images", "img%d.png" % i))
    else:
        im.save(path("images", "img%d.jpg" % i), quality=95, subsampling=0)

# npy samples for a [1, 3, 8, 8] float32 input, and one of a wrong shape
for i in range(3):
    a = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.save(path("npy", "s%d.npy" % i), a)
np.save(path("npy_bad", "wrong.npy"), np.zeros((1, 3, 4, 4), np.float32))

# models: tiny.onnx x[1,3,8,8] -> Conv(3->4, 3x3, pad 1) -> Relu -> y;
# two_inputs.onnx x, y [1,3,8,8] -> Add -> z
import onnx  # noqa: E402  (only this part needs it)
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name[:-5], inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make.py")
    m.ir_version = 7
    with open(path(name), "wb") as f:
        f.write(m.SerializeToString())


F = TensorProto.FLOAT
w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, "w")
b = numpy_helper.from_array(np.array([0.1, -0.2, 0.3, 0.0], np.float32), "b")
save("tiny.onnx",
     [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
      helper.make_node("Relu", ["c"], ["y"], name="relu")],
     [helper.make_tensor_value_info("x", F, [1, 3, 8, 8])],
     [helper.make_tensor_value_info("y", F, [1, 4, 8, 8])], [w, b])
save("two_inputs.onnx", [helper.make_node("Add", ["x", "y"], ["z"], name="add")],
     [helper.make_tensor_value_info("x", F, [1, 3, 8, 8]),
      helper.make_tensor_value_info("y", F, [1, 3, 8, 8])],
     [helper.make_tensor_value_info("z", F, [1, 3, 8, 8])])
