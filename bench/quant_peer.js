#!/usr/bin/env node
// ONNX Runtime side of bench/quant_peer.sh (single-input models, float32 input .npy files):
//
//   node quant_peer.js minmax MODEL.onnx OUT.json IN.npy...
//       OUT.json: {tensor: [min, max]} over the inputs, for every float32 output of MODEL
//       (qdq.py expose makes every tensor an output)
//   node quant_peer.js sqnr FLOAT.onnx QUANT.onnx IN.npy...
//       prints {"outputs": {name: dB}, "worst": dB}: per output of FLOAT, the SQNR of QUANT's
//       output against FLOAT's, signal and noise pooled over the inputs (as
//       tests/quant/accuracy.c pools them)
//
// Sessions run without graph optimizations, so the rounding nodes of qdq.py stay as written.
// Exit status 1 on a usage, file or model error (message on stderr).
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');
const {readNpy} = require('./npy');

const opts = {graphOptimizationLevel: 'disabled', logSeverityLevel: 3};

function usage() {
  process.stderr.write('usage: node quant_peer.js minmax MODEL.onnx OUT.json IN.npy...\n' +
                       '       node quant_peer.js sqnr FLOAT.onnx QUANT.onnx IN.npy...\n');
  process.exit(1);
}

function feeds(sess, file) {
  const a = readNpy(file);
  if (a.type !== 'float32') throw new Error(`${file}: expected float32, found ${a.type}`);
  return {[sess.inputNames[0]]: new ort.Tensor('float32', a.data, a.dims)};
}

async function minmax(model, out, inputs) {
  const s = await ort.InferenceSession.create(model, opts);
  const r = {};
  for (const f of inputs) {
    const o = await s.run(feeds(s, f));
    for (const [name, t] of Object.entries(o)) {
      if (t.type !== 'float32') continue;
      let lo = Infinity, hi = -Infinity;
      for (const v of t.data) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(name in r)) r[name] = [lo, hi];
      r[name] = [Math.min(r[name][0], lo), Math.max(r[name][1], hi)];
    }
  }
  fs.writeFileSync(out, JSON.stringify(r));
}

async function sqnr(fmodel, qmodel, inputs) {
  const fs_ = await ort.InferenceSession.create(fmodel, opts);
  const qs = await ort.InferenceSession.create(qmodel, opts);
  const sig = {}, noise = {};
  for (const f of inputs) {
    const fo = await fs_.run(feeds(fs_, f));
    const qo = await qs.run(feeds(qs, f));
    for (const name of fs_.outputNames) {
      if (!qo[name] || qo[name].data.length !== fo[name].data.length)
        throw new Error(`${qmodel}: output '${name}' missing or of another size`);
      const a = fo[name].data, b = qo[name].data;
      let S = 0, N = 0;
      for (let i = 0; i < a.length; i++) {
        S += a[i] * a[i];
        N += (b[i] - a[i]) * (b[i] - a[i]);
      }
      sig[name] = (sig[name] || 0) + S;
      noise[name] = (noise[name] || 0) + N;
    }
  }
  const outputs = {};
  let worst = Infinity;
  for (const name of fs_.outputNames) {
    // capped like synap-compare's SYNAP_COMPARE_MAX_DB when there is no noise
    const db = noise[name] > 0 ? Math.min(10 * Math.log10(sig[name] / noise[name]), 200) : 200;
    outputs[name] = db;
    worst = Math.min(worst, db);
  }
  console.log(JSON.stringify({outputs, worst}));
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'minmax' && a.length >= 3) return minmax(a[0], a[1], a.slice(2));
  if (cmd === 'sqnr' && a.length >= 3) return sqnr(a[0], a[1], a.slice(2));
  usage();
}

main().catch((e) => {
  process.stderr.write(`quant_peer.js: ${e.message}\n`);
  process.exit(1);
});
