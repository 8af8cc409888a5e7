'use strict';
// Compares, for every reference case, three result sets:
//   TFL  = TFLite interpreter (tfjs-tflite WASM)  RUNDIR/<model>/<case>/tfl/tfl_K.npy + outputs.json
//   SYN  = synap-run                               RUNDIR/<model>/<case>/syn/output_K.npy
//   ARM  = ArmNN 20.08 CpuRef (case folder)        CASEDIR/output_K.npy (matched by name)
// usage: node compare.js SHARED/models/tflite RUNDIR
// Prints one row per case and output: max |diff| (integer outputs: in LSB;
// float outputs: absolute) and the number of differing elements (exact
// inequality) for TFL-SYN, TFL-ARM, SYN-ARM.
const fs = require('fs');
const path = require('path');

const npy = require('./npy');

// {descr, shape, a (Numbers), isFloat} of an .npy file.
function readNpy(file) {
  const n = npy.readNpy(file);
  return {descr: n.descr, shape: n.shape, a: npy.values(n), isFloat: n.descr[0] === 'f'};
}

function diff(x, y) {
  if (!x || !y) return null;
  if (x.a.length !== y.a.length) return {err: `size ${x.a.length} vs ${y.a.length}`};
  let max = 0, n = 0;
  for (let i = 0; i < x.a.length; i++) {
    const d = Math.abs(x.a[i] - y.a[i]);
    if (Number.isNaN(d)) { n++; max = Infinity; continue; }
    if (d !== 0) n++;
    if (d > max) max = d;
  }
  return {max, n, size: x.a.length};
}

function fmt(d, isFloat) {
  if (!d) return 'n/a';
  if (d.err) return d.err;
  const m = isFloat ? (d.max === 0 ? '0' : d.max.toPrecision(2)) : String(d.max);
  return `${m} (${d.n})`;
}

const [shared, rundir] = process.argv.slice(2);
const rows = [];
const tot = {cases: 0, tflOk: 0, synOk: 0};
for (const model of fs.readdirSync(shared).sort()) {
  const refdir = path.join(shared, model, 'ref');
  if (!fs.existsSync(refdir)) continue;
  for (const cs of fs.readdirSync(refdir).sort()) {
    const cdir = path.join(refdir, cs);
    const cj = JSON.parse(fs.readFileSync(path.join(cdir, 'case.json'), 'utf8'));
    if (!/armnn/i.test(cj.engine || '')) continue;
    const rdir = path.join(rundir, model, cs);
    if (!fs.existsSync(rdir)) continue;
    tot.cases++;
    const tmeta = path.join(rdir, 'tfl', 'outputs.json');
    const tfl = fs.existsSync(tmeta) ? JSON.parse(fs.readFileSync(tmeta, 'utf8')) : null;
    const synOk = fs.existsSync(path.join(rdir, 'syn', 'output_0.npy'));
    if (tfl) tot.tflOk++;
    if (synOk) tot.synOk++;
    cj.outputs.forEach((o, k) => {
      const arm = readNpy(path.join(cdir, o.file));
      // graph output index: by name in the TFLite runner's list, else position
      let gi = k;
      if (tfl) { const j = tfl.findIndex(t => t.name === o.name); if (j >= 0) gi = j; }
      const tf = tfl && tfl[gi] ? readNpy(path.join(rdir, 'tfl', tfl[gi].file)) : null;
      const sf = path.join(rdir, 'syn', `output_${gi}.npy`);
      const sy = fs.existsSync(sf) ? readNpy(sf) : null;
      const q = o.quant ? 'q' : '';
      rows.push([`${model}/${cs}`, `${k}${q}`, `${o.dtype}[${arm.a.length}]`,
                 fmt(diff(tf, sy), arm.isFloat), fmt(diff(tf, arm), arm.isFloat),
                 fmt(diff(sy, arm), arm.isFloat), String(o.atol !== undefined ? o.atol : cj.atol)]);
    });
    for (const [tag, f] of [['tfl', 'error.txt'], ['syn', 'error.txt']]) {
      const e = path.join(rdir, tag, f);
      if (fs.existsSync(e)) rows.push([`${model}/${cs}`, tag, 'ERROR', fs.readFileSync(e, 'utf8').trim().split('\n').slice(-1)[0], '', '', '']);
    }
  }
}
const head = ['case', 'out', 'dtype[n]', 'TFL-SYN max(n)', 'TFL-ARM max(n)', 'SYN-ARM max(n)', 'atol'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] || '').length)));
const line = r => r.map((c, i) => (c || '').padEnd(w[i])).join('  ').trimEnd();
console.log(line(head));
rows.forEach(r => console.log(line(r)));
console.log(`${tot.cases} ArmNN cases; TFLite ran ${tot.tflOk}, synap ran ${tot.synOk}. ` +
            'max = max |diff| (integer outputs: LSB, float: absolute), n = differing elements; ' +
            'out "q" = quantized output.');
