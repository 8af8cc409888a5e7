#!/usr/bin/env python3
"""End-to-end check of the bundled example: synap-import digits.onnx, synap-run on each of the
12 held-out images (PNG and .npy), and compare the logits with the PyTorch reference in
examples/digits/reference.json (atol 1e-4, every prediction equal to the label).
Standard library only. Usage: digits.py BUILD_TOOLS_DIR EXAMPLE_DIR"""
import json, os, struct, subprocess, sys, tempfile

ATOL = 1e-4

def read_npy_f32(path):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:6] == b'\x93NUMPY', path
    hlen = struct.unpack('<H', data[8:10])[0]
    header = data[10:10 + hlen].decode('latin1')
    assert "'descr': '<f4'" in header, header
    body = data[10 + hlen:]
    return list(struct.unpack('<%df' % (len(body) // 4), body))

def main():
    tools, example = sys.argv[1], sys.argv[2]
    ref = json.load(open(os.path.join(example, 'reference.json')))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        ir = os.path.join(tmp, 'digits.ir')
        subprocess.run([os.path.join(tools, 'synap-import'), os.path.join(example, 'digits.onnx'),
                        '-o', ir], check=True)
        for img in ref['images']:
            for key in ('file', 'npy'):
                out = os.path.join(tmp, img[key])
                subprocess.run([os.path.join(tools, 'synap-run'), ir,
                                os.path.join(example, 'images', img[key]), '-q', '--out-dir', out],
                               check=True, stdout=subprocess.DEVNULL)
                got = read_npy_f32(os.path.join(out, 'output_0.npy'))
                diff = max(abs(a - b) for a, b in zip(got, img['logits']))
                pred = max(range(10), key=lambda i: got[i])
                ok = diff <= ATOL and pred == img['label'] and len(got) == 10
                failures += not ok
                print('%s %-12s max_abs_diff=%.2e predicted=%d label=%d' %
                      ('PASS' if ok else 'FAIL', img[key], diff, pred, img['label']))
    n = 2 * len(ref['images'])
    print('%d passed, %d failed' % (n - failures, failures))
    return 1 if failures else 0

if __name__ == '__main__':
    sys.exit(main())
