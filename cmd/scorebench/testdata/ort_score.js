// ort_score.js: score raw float32 rows with ONNX Runtime (onnxruntime-node)
// for cmd/scorebench, in batches, and time the scoring.
//
//   node ort_score.js MODEL.onnx ROWS.f32 D THREADS SCORES.f32
//
// ROWS.f32 holds n*D little-endian float32 values (row-major). The scores
// are written to SCORES.f32 (n float32 values). Prints one JSON object:
//   {"rows": n, "load_seconds": s, "score_seconds": s}
// where score_seconds covers session.run over every batch (the rows are
// already in memory) and load_seconds reading ROWS.f32.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', '..', 'onnx', 'testdata', 'ort', 'node_modules', 'onnxruntime-node'));

const batchRows = 65536;

async function main() {
  const [model, rowsPath, dArg, threadsArg, outPath] = process.argv.slice(2);
  const d = Number(dArg);
  const threads = Number(threadsArg);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const t0 = process.hrtime.bigint();
  const buf = fs.readFileSync(rowsPath);
  const rows = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = rows.length / d;
  const t1 = process.hrtime.bigint();
  const scores = new Float32Array(n);
  for (let lo = 0; lo < n; lo += batchRows) {
    const hi = Math.min(n, lo + batchRows);
    const x = new ort.Tensor('float32', rows.subarray(lo * d, hi * d), [hi - lo, d]);
    const out = await session.run({ features: x });
    scores.set(out.score.data, lo);
  }
  const t2 = process.hrtime.bigint();
  fs.writeFileSync(outPath, Buffer.from(scores.buffer));
  console.log(JSON.stringify({
    rows: n,
    load_seconds: Number(t1 - t0) / 1e9,
    score_seconds: Number(t2 - t1) / 1e9,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
