'use strict';
// Exports the TFLite interpreter's outputs of the quantized cases as a second
// reference for meson test (tests/data/tflite_runtime, checked exactly by
// model_cases --ref-dir): for every ArmNN case of SHARED/models/tflite whose
// outputs are all quantized integers and that the runtime ran, copies
// RUNDIR/<model>/<case>/tfl/tfl_K.npy (matched to case.json's outputs by
// name, else position) to DEST/<model>/<case>/<case.json's file name>.
// usage: node export.js SHARED/models/tflite RUNDIR DEST
const fs = require('fs');
const path = require('path');

const [shared, rundir, dest] = process.argv.slice(2);
if (!dest) {
  console.error('usage: node export.js SHARED/models/tflite RUNDIR DEST');
  process.exit(2);
}
let n = 0;
for (const model of fs.readdirSync(shared).sort()) {
  const refdir = path.join(shared, model, 'ref');
  if (!fs.existsSync(refdir)) continue;
  for (const cs of fs.readdirSync(refdir).sort()) {
    const cj = JSON.parse(fs.readFileSync(path.join(refdir, cs, 'case.json'), 'utf8'));
    if (!/armnn/i.test(cj.engine || '') || !cj.outputs.every(o => o.quant)) continue;
    const tmeta = path.join(rundir, model, cs, 'tfl', 'outputs.json');
    if (!fs.existsSync(tmeta)) continue;
    const tfl = JSON.parse(fs.readFileSync(tmeta, 'utf8'));
    const out = path.join(dest, model, cs);
    fs.mkdirSync(out, {recursive: true});
    cj.outputs.forEach((o, k) => {
      let gi = tfl.findIndex(t => t.name === o.name);
      if (gi < 0) gi = k;
      fs.copyFileSync(path.join(rundir, model, cs, 'tfl', tfl[gi].file), path.join(out, o.file));
    });
    n++;
  }
}
console.error(`export.js: ${n} cases to ${dest}`);
