#!/usr/bin/env node
// Times one ONNX model in ONNX Runtime (onnxruntime-node); checks its outputs against reference .npy.
//
//   node ort_time.js --model M.onnx --input input_0.npy [--ref-dir DIR]
//                    [--threads T] [--runs N] [--warmup W]
//
// Prints one JSON object on stdout: median/min/max ms of session.run() over N timed runs after W warm-up
// runs, and for every output i with a DIR/output_<i>.npy (DIR defaults to the input's folder) the max
// absolute difference against it, so a bench table also proves the engine computed the reference
// result.
// Exit status 1 on a usage, file or model error (message on stderr), 0 otherwise: the comparison is
// reported, not judged, because timings and tolerances are the reader's call.
'use strict';

const fs = require('fs');
const path = require('path');
const {readNpy, maxAbsDiff} = require('./npy');

function usage(msg) {
  if (msg) process.stderr.write(`ort_time.js: ${msg}\n`);
  process.stderr.write('usage: node ort_time.js --model M.onnx --input input_0.npy [--ref-dir DIR]\n' +
                       '                        [--threads T] [--runs N] [--warmup W]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opt = {model: null, input: null, refDir: null, threads: 1, runs: 20, warmup: 3};
  const ints = {'--threads': 'threads', '--runs': 'runs', '--warmup': 'warmup'};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage();
    if (i + 1 >= argv.length) usage(`option ${a} needs a value`);
    const v = argv[++i];
    if (a === '--model') opt.model = v;
    else if (a === '--input') opt.input = v;
    else if (a === '--ref-dir') opt.refDir = v;
    else if (a in ints) {
      const n = Number(v);
      const min = a === '--warmup' ? 0 : 1;
      if (!Number.isInteger(n) || n < min || n > 100000) {
        usage(`${a}: expected an integer >= ${min}, got '${v}'`);
      }
      opt[ints[a]] = n;
    } else usage(`unknown option '${a}'`);
  }
  if (!opt.model || !opt.input) usage('--model and --input are required');
  if (opt.refDir === null) opt.refDir = path.dirname(opt.input);
  return opt;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const round3 = (x) => Math.round(x * 1000) / 1000;

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    const fix = `run 'npm install --ignore-scripts --no-save' in ${__dirname}`;
    throw new Error(`cannot load onnxruntime-node (${fix}): ${e.message}`);
  }
  const input = readNpy(opt.input);
  // One session per thread count, sequential execution: intra-op threads are the only parallelism, the
  // same knob as synap-run --threads. Spinning is off so idle pool threads do not steal the other core.
  const session = await ort.InferenceSession.create(opt.model, {
    intraOpNumThreads: opt.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: ORT's warnings about unused initializers are noise here
    extra: {session: {intra_op: {allow_spinning: '0'}}},
  });
  if (session.inputNames.length !== 1) {
    throw new Error(`${opt.model}: expected 1 input, model has ${session.inputNames.length}`);
  }
  const feeds = {[session.inputNames[0]]: new ort.Tensor(input.type, input.data, input.dims)};

  let out;
  for (let i = 0; i < opt.warmup; i++) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < opt.runs; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }

  const outputs = session.outputNames.map((name, i) => {
    const r = {name, dims: out[name].dims};
    const refFile = path.join(opt.refDir, `output_${i}.npy`);
    if (fs.existsSync(refFile)) {
      const ref = readNpy(refFile);
      if (ref.data.length !== out[name].data.length) {
        const n = out[name].data.length;
        throw new Error(`${refFile}: ${ref.data.length} elements, output '${name}' has ${n}`);
      }
      r.ref = refFile;
      r.max_abs_diff = maxAbsDiff(out[name].data, ref.data);
    }
    return r;
  });

  const result = {
    engine: `onnxruntime-node ${ort.env.versions.node}`,
    model: opt.model,
    input: opt.input,
    threads: opt.threads,
    warmup: opt.warmup,
    runs: opt.runs,
    median_ms: round3(median(ms)),
    min_ms: round3(Math.min(...ms)),
    max_ms: round3(Math.max(...ms)),
    outputs,
  };
  // JSON has no Infinity: a NaN mismatch prints as the string "inf".
  process.stdout.write(JSON.stringify(result, (k, v) => (v === Infinity ? 'inf' : v)) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_time.js: ${e.message}\n`);
  process.exit(1);
});
