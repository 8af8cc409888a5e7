#!/usr/bin/env node
// Runs an ONNX model with one input in ONNX Runtime (onnxruntime-node from bench/node_modules)
// and writes output_K.npy (float32) into OUT_DIR, K in the model's output order.
//   node ort_run.js MODEL.onnx INPUT.npy OUT_DIR      (used by gen_refs.py, not by meson test)
'use strict';
const fs = require('fs');
const path = require('path');
const bench = path.join(__dirname, '..', '..', 'bench');
const {readNpy} = require(path.join(bench, 'npy'));
const ort = require(path.join(bench, 'node_modules', 'onnxruntime-node'));

function writeNpy(file, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${
      dims.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(new Float32Array(data).buffer);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [model, input, outDir] = process.argv.slice(2);
  const x = readNpy(input);
  const s = await ort.InferenceSession.create(model, {intraOpNumThreads: 1, logSeverityLevel: 3});
  const out = await s.run({[s.inputNames[0]]: new ort.Tensor(x.type, x.data, x.dims)});
  s.outputNames.forEach((name, k) => {
    writeNpy(path.join(outDir, `output_${k}.npy`), out[name].dims, out[name].data);
  });
}

main().catch((e) => {
  process.stderr.write(`ort_run.js: ${e.message}\n`);
  process.exit(1);
});
