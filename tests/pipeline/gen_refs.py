#!/usr/bin/python3
"""Makes the reference outputs of tests/pipeline/cases.txt (run once; the results are committed).

For each case: onnx.utils.extract_model cuts the ONNX model at the same tensors synap-prune cuts,
ONNX Runtime (onnxruntime-node from bench/node_modules, through ort_run.js) runs the cut model,
and data/<case>/output_K.npy receive its outputs. Cases whose input is an inner tensor get a
seeded random input (numpy RandomState(0), uniform [0, 1): these cuts follow a ReLU) saved as
data/<case>/input_0.npy with batch 1.

usage: /usr/bin/python3 gen_refs.py [SHARED_DIR]   (default ../../../shared)
needs: numpy, onnx, node + bench/node_modules/onnxruntime-node
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.utils

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', '..', 'shared')
    models = os.path.join(shared, 'models', 'onnx')
    with open(os.path.join(HERE, 'cases.txt')) as f:
        lines = [l.rstrip('\n') for l in f if l.strip() and not l.startswith('#')]
    tmp = tempfile.mkdtemp()
    for line in lines:
        case, model, cut_in, outs, inp = line.split('|')
        outs = outs.split(' ')
        src = os.path.join(models, model)
        full = onnx.load(src)
        if cut_in == '-':
            in_names = [i.name for i in full.graph.input
                        if i.name not in {t.name for t in full.graph.initializer}]
        else:
            in_names = [cut_in.rsplit('=', 1)[0]]
        sub = os.path.join(tmp, case + '.onnx')
        onnx.utils.extract_model(src, sub, in_names, outs, check_model=False)
        d = os.path.join(HERE, 'data', case)
        os.makedirs(d, exist_ok=True)
        if inp == 'data':
            dims = [int(x) for x in cut_in.rsplit('=', 1)[1].split(',')]
            dims[0] = 1
            x = np.random.RandomState(0).uniform(0, 1, dims).astype(np.float32)
            inp_path = os.path.join(d, 'input_0.npy')
            np.save(inp_path, x)
        else:
            inp_path = os.path.join(models, inp)
        subprocess.run(['node', os.path.join(HERE, 'ort_run.js'), sub, inp_path, d], check=True)
        print(case, 'ok')


if __name__ == '__main__':
    main()
