'use strict';
// .npy reading and writing for tflite_run.js and compare.js (version 1/2
// headers, C order, little endian).
const fs = require('fs');

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not .npy');
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hoff = major === 1 ? 10 : 12;
  const h = b.toString('latin1', hoff, hoff + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(h)[1];
  const fortran = /'fortran_order':\s*True/.test(h);
  if (fortran) throw new Error(file + ': fortran order');
  const shp = /'shape':\s*\(([^)]*)\)/.exec(h)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const data = b.subarray(hoff + hlen);
  if (descr[0] === '>') throw new Error(file + ': big endian');
  return {descr: descr.replace(/^[<|=]/, ''), shape: shp, bytes: Buffer.from(data)};
}

const DESCR = {int8: 'i1', uint8: 'u1', int16: 'i2', int32: 'i4', int64: 'i8', uint32: 'u4',
               float32: 'f4', float64: 'f8', bool: 'b1'};

function writeNpy(file, dtype, shape, u8) {
  const d = DESCR[dtype];
  if (!d) throw new Error('cannot write dtype ' + dtype);
  const le = d === 'i1' || d === 'u1' || d === 'b1' ? '|' : '<';
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = `{'descr': '${le}${d}', 'fortran_order': False, 'shape': ${shp}, }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h = h + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(u8)]));
}

// The elements of a readNpy result as an array of Numbers.
function values(npy) {
  const T = {i1: Int8Array, u1: Uint8Array, b1: Uint8Array, i2: Int16Array, u2: Uint16Array,
             i4: Int32Array, u4: Uint32Array, i8: BigInt64Array, f4: Float32Array, f8: Float64Array}[npy.descr];
  if (!T) throw new Error('dtype ' + npy.descr);
  const b = npy.bytes;
  return Array.from(new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), Number);
}

module.exports = {DESCR, readNpy, writeNpy, values};
