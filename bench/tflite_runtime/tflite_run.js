'use strict';
// Run one .tflite model through the TFLite interpreter shipped in the npm
// package @tensorflow/tfjs-tflite (emscripten/WASM build of TFLite + the
// TFLite Support "TFLiteWebModelRunner"), in plain node, without tfjs-core.
//
// usage: node tflite_run.js --pkg DIR/node_modules/@tensorflow/tfjs-tflite
//            [--threads N] [--variant cc|cc_simd] [--info]
//            MODEL.tflite OUTDIR input_0.npy [input_1.npy ...]
// Writes OUTDIR/<k>.npy for every model output k (graph order) and
// OUTDIR/outputs.json = [{index, name, dtype, shape, file}], and prints
// the runner's tensor info. Inputs are raw tensors (as fed), graph order.
const fs = require('fs');
const path = require('path');

const {DESCR, readNpy, writeNpy} = require('./npy');

async function main() {
  const a = process.argv.slice(2);
  let pkg = null, threads = 1, variant = 'cc', info = false;
  const pos = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--pkg') pkg = a[++i];
    else if (a[i] === '--threads') threads = Number(a[++i]);
    else if (a[i] === '--variant') variant = a[++i];
    else if (a[i] === '--info') info = true;
    else pos.push(a[i]);
  }
  if (!pkg || pos.length < 2) throw new Error('usage: tflite_run.js --pkg DIR MODEL OUTDIR inputs...');
  const [model, outdir, ...inputs] = pos;
  // the emscripten module: wasm/ (0.0.1-alpha.10) or dist/ (older alphas)
  const wasmDir = ['wasm', 'dist'].map(d => path.join(pkg, d))
      .find(d => fs.existsSync(path.join(d, `tflite_web_api_${variant}.wasm`)));
  if (!wasmDir) throw new Error(`${pkg}: no tflite_web_api_${variant}.wasm`);
  const factory = require(path.join(wasmDir, `tflite_web_api_${variant}.js`));
  const wasmBinary = fs.readFileSync(path.join(wasmDir, `tflite_web_api_${variant}.wasm`));
  const M = await factory({wasmBinary, print: s => process.stderr.write(s + '\n'),
                           printErr: s => process.stderr.write(s + '\n')});
  const mbuf = fs.readFileSync(model);
  const ptr = M._malloc(mbuf.length);
  M.HEAPU8.set(mbuf, ptr);
  const r = M.TFLiteWebModelRunner.CreateFromBufferAndOptions(
      ptr, mbuf.length, {numThreads: threads, enableProfiling: true, maxProfilingBufferEntries: 8192});
  if (!r || !r.ok()) throw new Error('CreateFromBufferAndOptions: ' + (r ? r.errorMessage() : 'null'));
  const runner = r.value();
  const vec = v => { const out = []; for (let i = 0; i < v.size(); i++) out.push(v.get(i)); v.delete(); return out; };
  const ins = vec(runner.GetInputs());
  if (ins.length !== inputs.length)
    throw new Error(`model has ${ins.length} inputs, ${inputs.length} given`);
  for (let k = 0; k < ins.length; k++) {
    const t = ins[k], npy = readNpy(inputs[k]);
    const dst = t.data();
    if (DESCR[t.dataType] !== npy.descr)
      throw new Error(`input ${k} (${t.name}): model ${t.dataType}, file ${npy.descr}`);
    if (dst.byteLength !== npy.bytes.length)
      throw new Error(`input ${k} (${t.name}): model ${dst.byteLength} bytes [${t.shape}], file ${npy.bytes.length} [${npy.shape}]`);
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(npy.bytes);
    if (info) process.stderr.write(`in ${k} ${t.name} ${t.dataType} [${t.shape}]\n`);
  }
  if (!runner.Infer()) throw new Error('Infer failed');
  const outs = vec(runner.GetOutputs());
  fs.mkdirSync(outdir, {recursive: true});
  const meta = [];
  outs.forEach((t, k) => {
    const d = t.data();
    const shape = t.shape === '' ? [] : String(t.shape).split(',').map(Number);
    const file = `tfl_${k}.npy`;
    writeNpy(path.join(outdir, file), t.dataType, shape,
             new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice());
    meta.push({index: k, name: t.name, dtype: t.dataType, shape, file});
    if (info) process.stderr.write(`out ${k} ${t.name} ${t.dataType} [${t.shape}]\n`);
  });
  fs.writeFileSync(path.join(outdir, 'outputs.json'), JSON.stringify(meta) + '\n');
  // which kernels ran: builtin op names, or TfLiteXNNPackDelegate for the
  // nodes the default XNNPACK delegate took over
  const kinds = {};
  try {
    for (const e of vec(runner.GetProfilingResults())) kinds[e.nodeType] = (kinds[e.nodeType] || 0) + 1;
  } catch (e) { kinds['(no profiling)'] = 1; }
  fs.writeFileSync(path.join(outdir, 'nodes.json'), JSON.stringify(kinds) + '\n');
  runner.delete();
  M._free(ptr);
}

main().catch(e => { process.stderr.write('tflite_run: ' + (e && e.stack || e) + '\n'); process.exit(1); });
