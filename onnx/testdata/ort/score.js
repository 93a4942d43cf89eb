// score.js: score raw feature rows with ONNX Runtime (onnxruntime-node) and
// print the outputs as JSON. Used by the Go tests of package onnx.
//
//   node score.js MODEL.onnx ROWS.f32 D
//
// ROWS.f32 holds n*D little-endian float32 values (row-major; NaN allowed).
// Output (one JSON object on stdout):
//   score_bits   the float32 bits of each score (exact, NaN-safe)
//   is_anomaly   the is_anomaly output as booleans
//   threshold    vaejob.threshold from the model's metadata_props, as text
//   test_vector  the embedded test vector scored by ONNX Runtime:
//                {rows, max_rel_err, ok, flags_ok} or null if absent
//   feature_scores_bits, latent_score_bits, tail_probability_bits
//                the float32 bits of those outputs (feature_scores
//                row-major), or null for a graph without them
//
// onnxruntime-node does not expose a model's metadata_props, so this script
// reads that one field of the ModelProto (field 14) from the file itself.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

// readVarint returns [value, nextOffset]; values fit a double here.
function readVarint(buf, off) {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (off >= buf.length) throw new Error('truncated varint');
    const b = buf[off++];
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, off];
    mul *= 128;
  }
}

// fields calls fn(fieldNumber, wireType, payload) for each field of a
// protobuf message; payload is a Buffer for length-delimited fields.
function fields(buf, fn) {
  let off = 0;
  while (off < buf.length) {
    let tag;
    [tag, off] = readVarint(buf, off);
    const num = Math.floor(tag / 8);
    const wt = tag % 8;
    if (wt === 0) {
      [, off] = readVarint(buf, off);
      fn(num, wt, null);
    } else if (wt === 1) {
      off += 8;
    } else if (wt === 5) {
      off += 4;
    } else if (wt === 2) {
      let len;
      [len, off] = readVarint(buf, off);
      fn(num, wt, buf.subarray(off, off + len));
      off += len;
    } else {
      throw new Error('unsupported wire type ' + wt);
    }
  }
}

function metadataProps(buf) {
  const props = {};
  fields(buf, (num, wt, payload) => {
    if (num !== 14 || wt !== 2) return;
    let key = '';
    let value = '';
    fields(payload, (n, w, p) => {
      if (w !== 2) return;
      if (n === 1) key = p.toString('utf8');
      if (n === 2) value = p.toString('utf8');
    });
    props[key] = value;
  });
  return props;
}

async function score(session, data, n, d) {
  const out = await session.run({ features: new ort.Tensor('float32', data, [n, d]) });
  return {
    score: out.score.data,
    isAnomaly: Array.from(out.is_anomaly.data, (v) => Boolean(v)),
    explained: out,
  };
}

// bits returns the float32 bits of an output, or null when the graph has
// no such output.
function bits(out, name) {
  const t = out[name];
  if (!t) return null;
  return Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
}

async function main() {
  const [modelPath, rowsPath, dText] = process.argv.slice(2);
  if (!modelPath || !rowsPath || !dText) {
    throw new Error('usage: node score.js MODEL.onnx ROWS.f32 D');
  }
  const d = Number(dText);
  const model = fs.readFileSync(modelPath);
  const raw = fs.readFileSync(rowsPath);
  const rows = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  if (rows.length % d !== 0) throw new Error(`${rows.length} values are not rows of ${d}`);
  const n = rows.length / d;

  const session = await ort.InferenceSession.create(model);
  const got = await score(session, rows, n, d);
  const props = metadataProps(model);
  const threshold = props['vaejob.threshold'];

  let testVector = null;
  if (props['vaejob.test_vector']) {
    const tv = JSON.parse(props['vaejob.test_vector']);
    const tvRows = tv.rows || [];
    if (tvRows.length > 0) {
      const flat = new Float32Array(tvRows.flat());
      const res = await score(session, flat, tvRows.length, d);
      const thr = Math.fround(Number(threshold));
      let maxRel = 0;
      let ok = true;
      let flagsOk = true;
      tvRows.forEach((_, i) => {
        const a = res.score[i];
        const b = tv.scores[i];
        const rel = Math.abs(a - b) / Math.max(1, Math.abs(b));
        maxRel = Math.max(maxRel, rel);
        if (!(rel <= 1e-4)) ok = false;
        if (res.isAnomaly[i] !== (a > thr || Number.isNaN(a))) flagsOk = false;
      });
      testVector = { rows: tvRows.length, max_rel_err: maxRel, ok, flags_ok: flagsOk };
    }
  }

  process.stdout.write(JSON.stringify({
    score_bits: Array.from(new Uint32Array(got.score.buffer, got.score.byteOffset, got.score.length)),
    is_anomaly: got.isAnomaly,
    threshold,
    test_vector: testVector,
    feature_scores_bits: bits(got.explained, 'feature_scores'),
    latent_score_bits: bits(got.explained, 'latent_score'),
    tail_probability_bits: bits(got.explained, 'tail_probability'),
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
