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
//                {rows, max_rel_err, ok, flags_ok, tail_ok} or null if
//                absent; tail_ok: ONNX Runtime's tail_probability and the
//                recorded one both read the model's vaejob.tail_table at a
//                score within 1e-4 of the recorded score (null when the
//                model has no tail table)
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

// tailProbability reads a vaejob.tail_table as the Go scorer does: the
// probability of the step whose edges enclose the score, 1/(n+1) beyond the
// last edge, 0 for NaN.
function tailProbability(table, s) {
  if (Number.isNaN(s)) return 0;
  const up = table.upper || [];
  if (up.length === 0) return 1;
  let k = 0;
  while (k < up.length && up[k] < s) k++;
  const n = table.validation_rows;
  return Math.fround(k < up.length ? table.at_least[k] / n : 1 / (n + 1));
}

// tailAgrees reports whether p is the table's probability of some score
// within 1e-4·max(1, |s|) of s (the table falls with the score).
function tailAgrees(table, p, s) {
  if (Number.isNaN(s)) return p === 0;
  const m = Number.isFinite(s) ? 1e-4 * Math.max(1, Math.abs(s)) : 0;
  return p >= tailProbability(table, s + m) && p <= tailProbability(table, s - m);
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
      const table = props['vaejob.tail_table'] ? JSON.parse(props['vaejob.tail_table']) : null;
      let tailOk = table && tv.tail_probability && res.explained.tail_probability ? true : null;
      tvRows.forEach((_, i) => {
        const a = res.score[i];
        const b = tv.scores[i];
        const rel = Math.abs(a - b) / Math.max(1, Math.abs(b));
        maxRel = Math.max(maxRel, rel);
        if (!(rel <= 1e-4)) ok = false;
        if (res.isAnomaly[i] !== (a > thr || Number.isNaN(a))) flagsOk = false;
        if (tailOk !== null && !(tailAgrees(table, res.explained.tail_probability.data[i], b) &&
            tailAgrees(table, Math.fround(tv.tail_probability[i]), b))) tailOk = false;
      });
      testVector = { rows: tvRows.length, max_rel_err: maxRel, ok, flags_ok: flagsOk, tail_ok: tailOk };
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
