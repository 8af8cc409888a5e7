#!/usr/bin/env node
// Compares the outputs an engine wrote (GOT_DIR/output_<i>.npy) against a reference case
// (REF_DIR/output_<i>.npy) and prints the max absolute difference over all of them.
//
//   node npy_diff.js GOT_DIR REF_DIR
//
// Prints one line: the max |diff| (NaN-aware: NaN in both places counts as equal, NaN in one as
// "inf"). Exit status 1 if a file is missing or unreadable or the element counts differ: a result
// that cannot be compared is an error, not a difference.
'use strict';

const fs = require('fs');
const path = require('path');
const {readNpy, maxAbsDiff} = require('./npy');

function main(argv) {
  if (argv.length !== 2) throw new Error('usage: node npy_diff.js GOT_DIR REF_DIR');
  const [gotDir, refDir] = argv;
  let worst = 0, n = 0;
  for (let i = 0; fs.existsSync(path.join(refDir, `output_${i}.npy`)); i++, n++) {
    const ref = readNpy(path.join(refDir, `output_${i}.npy`));
    const got = readNpy(path.join(gotDir, `output_${i}.npy`));
    if (got.data.length !== ref.data.length) {
      throw new Error(`output ${i}: ${got.data.length} elements, reference has ${ref.data.length}`);
    }
    worst = Math.max(worst, maxAbsDiff(got.data, ref.data));
  }
  if (n === 0) throw new Error(`${refDir}: no output_0.npy`);
  console.log(worst === Infinity ? 'inf' : worst.toExponential(2));
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`npy_diff.js: ${e.message}\n`);
  process.exit(1);
}
