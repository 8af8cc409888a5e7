#!/usr/bin/env python3
"""npycmp.py ACTUAL.npy EXPECTED.npy ATOL RTOL: exit 0 when the shapes are equal and every
element satisfies |a - e| <= ATOL + RTOL * |e| (float32/float64 little-endian, C order);
prints the max difference either way. Standard library only."""
import array
import ast
import sys


def read_npy(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:6] != b'\x93NUMPY':
        sys.exit(f'{path}: not a .npy file')
    major = data[6]
    hlen = int.from_bytes(data[8:10] if major == 1 else data[8:12], 'little')
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode('latin1'))
    codes = {'<f4': 'f', '<f8': 'd'}
    if header['descr'] not in codes or header['fortran_order']:
        sys.exit(f'{path}: unsupported dtype {header["descr"]}')
    values = array.array(codes[header['descr']])
    values.frombytes(data[start + hlen:])
    return tuple(header['shape']), values


def main():
    if len(sys.argv) != 5:
        sys.exit('usage: npycmp.py ACTUAL.npy EXPECTED.npy ATOL RTOL')
    (sa, a), (se, e) = read_npy(sys.argv[1]), read_npy(sys.argv[2])
    atol, rtol = float(sys.argv[3]), float(sys.argv[4])
    if sa != se or len(a) != len(e):
        sys.exit(f'{sys.argv[1]}: shape {list(sa)}, expected {list(se)}')
    worst, bad = 0.0, 0
    for x, y in zip(a, e):
        d = abs(x - y)
        if not d <= atol + rtol * abs(y):  # NaN fails too
            bad += 1
        if d > worst or d != d:
            worst = d
    print(f'{sys.argv[1]}: shape {list(sa)}, max |diff| {worst:.3g}, {bad} outside tolerance')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
