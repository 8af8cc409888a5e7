#!/usr/bin/env python3
"""Compares two float32/float64 .npy files (standard library only).

usage: npycmp.py A.npy B.npy [ATOL]   (ATOL 0 = byte-identical data)
Prints the largest absolute difference; exit 1 when shapes differ or a
difference exceeds ATOL (NaN must match NaN)."""
import ast
import array
import math
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen = int.from_bytes(data[8:10], "little")
        start = 10
    else:
        hlen = int.from_bytes(data[8:12], "little")
        start = 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    descr, shape = header["descr"], tuple(header["shape"])
    if header.get("fortran_order"):
        sys.exit(f"{path}: fortran order not supported")
    codes = {"<f4": "f", "<f8": "d", "<i4": "i", "<i8": "q", "|u1": "B", "|i1": "b"}
    if descr not in codes:
        sys.exit(f"{path}: dtype {descr} not supported")
    values = array.array(codes[descr])
    values.frombytes(data[start + hlen:])
    return shape, values


def main():
    a_shape, a = load(sys.argv[1])
    b_shape, b = load(sys.argv[2])
    atol = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    if a_shape != b_shape or len(a) != len(b):
        print(f"shapes differ: {a_shape} vs {b_shape}")
        return 1
    worst = 0.0
    for x, y in zip(a, b):
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                worst = math.inf
            continue
        d = abs(x - y)
        if d > worst:
            worst = d
    print(f"shape {list(a_shape)} max |diff| {worst:.3g}")
    return 0 if worst <= atol else 1


if __name__ == "__main__":
    sys.exit(main())
