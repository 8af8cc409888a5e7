"""Shared by the one-operator TFLite generators (tests/data/tflite_*/gen.py):
vectors and the model around one operator, written with the flatbuffers
runtime's generic Builder and the public TFLite schema field numbers:
Model (version 0, operator_codes 1, subgraphs 2, buffers 4), OperatorCode
(deprecated_builtin_code 0, version 2, builtin_code 3), SubGraph (tensors 0,
inputs 1, outputs 2, operators 3, name 4), Operator (opcode_index 0,
inputs 1, outputs 2, builtin_options_type 3, builtin_options 4), Buffer
(data 0); file identifier TFL3. A generator imports it with
sys.path.insert(0, <tests/data>).
"""


def ivec(b, vals, size=4):
    """A vector of int32 (size 4) or int64 (size 8)."""
    b.StartVector(size, len(vals), size)
    for v in reversed(vals):
        if size == 8:
            b.PrependInt64(v)
        else:
            b.PrependInt32(v)
    return b.EndVector()


def fvec(b, vals):
    b.StartVector(4, len(vals), 4)
    for v in reversed(vals):
        b.PrependFloat32(v)
    return b.EndVector()


def ovec(b, offs):
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def build_tensors(b, tensors, np_types):
    """The tensor vector of a list of dicts name, shape, type (TensorType),
    data (array or None: no buffer), scale and zp (None: not quantized; one
    per-tensor value each), variable; np_types maps a type to its numpy
    dtype. Returns (vector, datas): tensor k with data uses buffer k' + 1,
    datas[k'] its bytes (finish_one_op's datas)."""
    import numpy as np

    datas, ts = [], []
    for t in tensors:
        buf = 0
        if t.get("data") is not None:
            datas.append(np.ascontiguousarray(t["data"], dtype=np_types[t["type"]]).tobytes())
            buf = len(datas)
        q = None
        if t.get("scale") is not None:
            sc = fvec(b, [t["scale"]])
            zp = ivec(b, [t.get("zp", 0)], 8)
            b.StartObject(7)
            b.PrependUOffsetTRelativeSlot(2, sc, 0)
            b.PrependUOffsetTRelativeSlot(3, zp, 0)
            q = b.EndObject()
        n = b.CreateString(t["name"])
        s = ivec(b, list(t["shape"]))
        b.StartObject(6)
        b.PrependUOffsetTRelativeSlot(0, s, 0)
        b.PrependInt8Slot(1, t["type"], 0)
        b.PrependUint32Slot(2, buf, 0)
        b.PrependUOffsetTRelativeSlot(3, n, 0)
        if q is not None:
            b.PrependUOffsetTRelativeSlot(4, q, 0)
        b.PrependBoolSlot(5, bool(t.get("variable")), False)
        ts.append(b.EndObject())
    return ovec(b, ts), datas


def finish_one_op(b, path, tensors, ins, outs, op_in, op_out, builtin, options=None,
                  options_type=0, datas=()):
    """Writes to path the model of one operator `builtin` (opcode 0) with
    the already built tensor vector, graph input/output and operator
    input/output vectors and builtin options table (None: none); buffer 0
    is empty, buffer k + 1 holds datas[k] (bytes)."""
    b.StartObject(5)
    b.PrependUint32Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, op_in, 0)
    b.PrependUOffsetTRelativeSlot(2, op_out, 0)
    if options is not None:
        b.PrependUint8Slot(3, options_type, 0)
        b.PrependUOffsetTRelativeSlot(4, options, 0)
    op = b.EndObject()
    ops = ovec(b, [op])
    name = b.CreateString("main")
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, ins, 0)
    b.PrependUOffsetTRelativeSlot(2, outs, 0)
    b.PrependUOffsetTRelativeSlot(3, ops, 0)
    b.PrependUOffsetTRelativeSlot(4, name, 0)
    sg = b.EndObject()
    sgs = ovec(b, [sg])
    b.StartObject(4)
    b.PrependInt8Slot(0, builtin, 0)
    b.PrependInt32Slot(2, 1, 1)
    b.PrependInt32Slot(3, builtin, 0)
    oc = b.EndObject()
    ocs = ovec(b, [oc])
    bufs = []
    b.StartObject(1)
    bufs.append(b.EndObject())
    for d in datas:
        v = b.CreateByteVector(d)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, v, 0)
        bufs.append(b.EndObject())
    bufv = ovec(b, bufs)
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, ocs, 0)
    b.PrependUOffsetTRelativeSlot(2, sgs, 0)
    b.PrependUOffsetTRelativeSlot(4, bufv, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(b.Output())
