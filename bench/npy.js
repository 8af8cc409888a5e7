// .npy reading and comparison shared by ort_time.js and npy_diff.js.
'use strict';

const fs = require('fs');

// .npy reader: format versions 1.0-3.0, little-endian float32/float64/int32/int64/uint8, C order. Throws
// an Error naming the file on anything else; every length read from the file is checked before use.
const NPY_TYPES = {
  '<f4': {type: 'float32', size: 4, array: Float32Array},
  '<f8': {type: 'float64', size: 8, array: Float64Array},
  '<i4': {type: 'int32', size: 4, array: Int32Array},
  '<i8': {type: 'int64', size: 8, array: BigInt64Array},
  '|u1': {type: 'uint8', size: 1, array: Uint8Array},
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const fail = (why) => {
    throw new Error(`${file}: ${why}`);
  };
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail('not a .npy file');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    hlen = buf.readUInt32LE(8);
    hstart = 12;
  } else {
    fail(`unsupported .npy version ${major}`);
  }
  if (hstart + hlen > buf.length) fail('truncated header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail('malformed header');
  if (fortran[1] === 'True') fail('Fortran-order arrays are not supported');
  const t = NPY_TYPES[descr[1]];
  if (!t) fail(`unsupported dtype '${descr[1]}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) fail(`bad dimension '${s}'`);
    return Number(s);
  });
  const nelem = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(nelem)) fail('shape too large');
  const off = hstart + hlen;
  const nbytes = nelem * t.size;
  if (buf.length - off !== nbytes) fail(`expected ${nbytes} data bytes, found ${buf.length - off}`);
  // Copy into a fresh, aligned ArrayBuffer: the data offset in the file need not be a multiple of the size.
  const data = new t.array(nelem);
  Buffer.from(data.buffer).set(buf.subarray(off));
  return {type: t.type, dims, data};
}

// Max |a - b| over all elements; NaN in both at the same place counts as equal, NaN in one as Infinity.
function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]), y = Number(b[i]);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    const d = Math.abs(x - y);
    if (d > m) m = d;
  }
  return m;
}

module.exports = {readNpy, maxAbsDiff};
