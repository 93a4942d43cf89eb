// Writes the interop test's input files: one Parquet or Arrow IPC file per
// (writer, option) case, each holding the same deterministic table, with
// real writers from npm (DuckDB, nodejs-polars, parquet-wasm (arrow-rs),
// hyparquet-writer, apache-arrow). Run by cmd/vaejob/interop_test.go:
//
//   node write.mjs OUTDIR
//
// writes OUTDIR/<case>.parquet|.arrow|.arrows and OUTDIR/manifest.json. The
// manifest lists every case with its writer, its option and what the file
// must show that it exercises (the codec and the encodings per column in the
// Parquet footer, the IPC body's compression); a case a writer cannot
// produce is listed with `na` (why), never left out. The table is defined
// here and, identically, in interop_test.go (interopTableRow): integer
// arithmetic and correctly rounded divisions only, so both sides compute the
// same bits.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'

import * as arrow from 'apache-arrow'
import * as pw from 'parquet-wasm'
import pl from 'nodejs-polars'
import { DuckDBInstance, DuckDBDecimalValue } from '@duckdb/node-api'
import { parquetWriteBuffer } from 'hyparquet-writer'

const require = createRequire(import.meta.url)
const lz4js = require('lz4js')
const { ZstdCodec } = require('zstd-codec')

const ROWS = 4000
const ROW_GROUP = 1000
const DEC_PRECISION = 20 // > 18: every writer stores it as FIXED_LEN_BYTE_ARRAY
const DEC_SCALE = 3

// row i of the table; interopTableRow in interop_test.go is the same.
function row(i) {
  return {
    id: 'r' + String(i).padStart(5, '0'),
    f64: (((i * 7919) % 10007) - 5003) / 7,
    // A few nulls in two features of different physical types, so that
    // definition levels and encoders that skip nulls are read too.
    f32: i % 97 === 5 ? null : Math.fround((((i * 104729) % 9973) - 4986) / 3),
    i32: ((i * 48271) % 2000003) - 1000000,
    i64: i % 89 === 7 ? null : BigInt(i) * 1000003n - 1500000000n,
    dec: BigInt(((i * 69621) % 1000003) - 500000) * 7n, // unscaled, DECIMAL(20,3)
    flag: i % 3 === 0,
  }
}
const rows = Array.from({ length: ROWS }, (_, i) => row(i))
const col = (name) => rows.map((r) => r[name])
const FEATURES = ['f64', 'f32', 'i32', 'i64', 'dec']

const outDir = process.argv[2]
if (!outDir) {
  console.error('usage: node write.mjs OUTDIR')
  process.exit(2)
}
fs.mkdirSync(outDir, { recursive: true })

const zstd = await new Promise((resolve) => ZstdCodec.run((z) => resolve(new z.Simple())))

// ---- the table as Arrow (apache-arrow JS) -------------------------------

function decimalData(values) {
  const words = new Uint32Array(values.length * 4)
  values.forEach((v, i) => {
    let u = BigInt.asUintN(128, v)
    for (let w = 0; w < 4; w++) {
      words[i * 4 + w] = Number(u & 0xffffffffn)
      u >>= 32n
    }
  })
  return arrow.makeData({ type: new arrow.Decimal(DEC_SCALE, DEC_PRECISION, 128), length: values.length, nullCount: 0, data: words })
}

function arrowTable() {
  const batches = []
  for (let start = 0; start < ROWS; start += ROW_GROUP) {
    const part = rows.slice(start, start + ROW_GROUP)
    const pick = (k) => part.map((r) => r[k])
    const vecs = {
      id: arrow.vectorFromArray(pick('id'), new arrow.Utf8()),
      f64: arrow.vectorFromArray(pick('f64'), new arrow.Float64()),
      f32: arrow.vectorFromArray(pick('f32'), new arrow.Float32()),
      i32: arrow.vectorFromArray(pick('i32'), new arrow.Int32()),
      i64: arrow.vectorFromArray(pick('i64'), new arrow.Int64()),
      dec: arrow.makeVector(decimalData(pick('dec'))),
      flag: arrow.vectorFromArray(pick('flag'), new arrow.Bool()),
    }
    batches.push(new arrow.Table(vecs).batches[0])
  }
  return new arrow.Table(batches)
}
const table = arrowTable()

// ---- cases --------------------------------------------------------------

const manifest = { rows: ROWS, row_group: ROW_GROUP, features: FEATURES, cases: [] }

// run writes one case; expect says what the file must show (see interop_test.go).
async function run(c, write) {
  const entry = { name: c.name, writer: c.writer, option: c.option, format: c.format }
  if (c.na) {
    entry.na = c.na
    manifest.cases.push(entry)
    return
  }
  const ext = { parquet: '.parquet', 'arrow-file': '.arrow', 'arrow-stream': '.arrows' }[c.format]
  entry.file = c.name + ext
  entry.expect = c.expect || {}
  try {
    const na = await write(path.join(outDir, entry.file))
    if (typeof na === 'string') {
      fs.rmSync(path.join(outDir, entry.file))
      delete entry.file
      delete entry.expect
      entry.na = na
    }
  } catch (err) {
    // A writer that throws for a case it should make is a finding, not a skip:
    // the Go test reports it as a failure with this message.
    entry.write_error = String(err && err.stack ? err.stack.split('\n')[0] : err)
  }
  manifest.cases.push(entry)
}

const allCols = (encs) => Object.fromEntries(['id', ...FEATURES, 'flag'].map((k) => [k, encs]))

// parquet-wasm (arrow-rs) ----------------------------------------------------
const ipcStream = arrow.tableToIPC(table, 'stream')
function pwWrite(file, configure) {
  const t = pw.Table.fromIPCStream(ipcStream)
  let b = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(ROW_GROUP).setCreatedBy('parquet-wasm (arrow-rs)')
  b = configure(b)
  fs.writeFileSync(file, pw.writeParquet(t, b.build()))
}
const pwCodecs = [
  ['uncompressed', pw.Compression.UNCOMPRESSED, 'UNCOMPRESSED'],
  ['snappy', pw.Compression.SNAPPY, 'SNAPPY'],
  ['gzip', pw.Compression.GZIP, 'GZIP'],
  ['zstd', pw.Compression.ZSTD, 'ZSTD'],
  ['brotli', pw.Compression.BROTLI, 'BROTLI'],
  ['lz4_raw', pw.Compression.LZ4_RAW, 'LZ4_RAW'],
  ['lz4_hadoop', pw.Compression.LZ4, 'LZ4'],
]
for (const [opt, codec, name] of pwCodecs) {
  await run({ name: 'parquet-wasm_' + opt, writer: 'parquet-wasm', option: `compression ${name}${opt === 'lz4_hadoop' ? ' (Hadoop LZ4 framing)' : ''}`, format: 'parquet', expect: { codec: name, min_row_groups: 2 } },
    (f) => pwWrite(f, (b) => b.setCompression(codec)))
}
// Encodings, each in data pages v1 (writer version 1.0) and v2 (2.0).
const pwEncodings = [
  ['plain', 'PLAIN', (b) => b.setDictionaryEnabled(false).setEncoding(pw.Encoding.PLAIN), allCols('PLAIN')],
  // arrow-rs dictionary-encodes the FIXED_LEN_BYTE_ARRAY decimal in v2 only.
  ['dictionary', 'dictionary (RLE_DICTIONARY)', (b) => b.setDictionaryEnabled(true), Object.fromEntries(['id', 'f64', 'f32', 'i32', 'i64'].map((k) => [k, 'RLE_DICTIONARY']))],
  ['rle', 'RLE (booleans)', (b) => b.setDictionaryEnabled(false).setColumnEncoding('flag', pw.Encoding.RLE), { flag: 'RLE' }],
  ['delta', 'DELTA_BINARY_PACKED ints, DELTA_LENGTH_BYTE_ARRAY strings, DELTA_BYTE_ARRAY decimal', (b) => b.setDictionaryEnabled(false)
    .setColumnEncoding('i32', pw.Encoding.DELTA_BINARY_PACKED).setColumnEncoding('i64', pw.Encoding.DELTA_BINARY_PACKED)
    .setColumnEncoding('id', pw.Encoding.DELTA_LENGTH_BYTE_ARRAY).setColumnEncoding('dec', pw.Encoding.DELTA_BYTE_ARRAY),
  { i32: 'DELTA_BINARY_PACKED', i64: 'DELTA_BINARY_PACKED', id: 'DELTA_LENGTH_BYTE_ARRAY', dec: 'DELTA_BYTE_ARRAY' }],
  ['delta_byte_array', 'DELTA_BYTE_ARRAY strings and fixed-length decimal', (b) => b.setDictionaryEnabled(false)
    .setColumnEncoding('id', pw.Encoding.DELTA_BYTE_ARRAY).setColumnEncoding('dec', pw.Encoding.DELTA_BYTE_ARRAY),
  { id: 'DELTA_BYTE_ARRAY', dec: 'DELTA_BYTE_ARRAY' }],
  ['byte_stream_split', 'BYTE_STREAM_SPLIT double, float, int32, int64, fixed-length decimal', (b) => {
    b = b.setDictionaryEnabled(false)
    for (const k of FEATURES) b = b.setColumnEncoding(k, pw.Encoding.BYTE_STREAM_SPLIT)
    return b
  }, Object.fromEntries(FEATURES.map((k) => [k, 'BYTE_STREAM_SPLIT']))],
]
for (const [opt, label, configure, encs] of pwEncodings) {
  for (const [v, version] of [['v1', pw.WriterVersion.V1], ['v2', pw.WriterVersion.V2]]) {
    await run({ name: `parquet-wasm_${opt}_${v}`, writer: 'parquet-wasm', option: `${label}, data page ${v}`, format: 'parquet', expect: { codec: 'SNAPPY', encodings: encs, page_version: v, min_row_groups: 2 } },
      (f) => pwWrite(f, (b) => configure(b.setCompression(pw.Compression.SNAPPY).setWriterVersion(version))))
  }
}
for (const fmt of ['arrow-file', 'arrow-stream']) {
  await run({ name: 'parquet-wasm_' + fmt, writer: 'parquet-wasm', option: 'Arrow IPC', format: fmt, na: 'parquet-wasm writes Parquet; it has no Arrow IPC file writer' }, null)
}

// DuckDB ----------------------------------------------------------------------
const duck = await (await DuckDBInstance.create(':memory:')).connect()
await duck.run(`CREATE TABLE t (id VARCHAR, f64 DOUBLE, f32 FLOAT, i32 INTEGER, i64 BIGINT, dec DECIMAL(${DEC_PRECISION},${DEC_SCALE}), flag BOOLEAN)`)
{
  const ap = await duck.createAppender('t')
  for (const r of rows) {
    ap.appendVarchar(r.id)
    ap.appendDouble(r.f64)
    r.f32 === null ? ap.appendNull() : ap.appendFloat(r.f32)
    ap.appendInteger(r.i32)
    r.i64 === null ? ap.appendNull() : ap.appendBigInt(r.i64)
    ap.appendDecimal(new DuckDBDecimalValue(r.dec, DEC_PRECISION, DEC_SCALE))
    ap.appendBoolean(r.flag)
    ap.endRow()
  }
  ap.closeSync()
}
const sqlPath = (f) => `'${f.replaceAll("'", "''")}'`
const duckCodecs = [
  ['uncompressed', 'uncompressed', 'UNCOMPRESSED'],
  ['snappy', 'snappy', 'SNAPPY'],
  ['gzip', 'gzip', 'GZIP'],
  ['zstd', 'zstd', 'ZSTD'],
  ['brotli', 'brotli', 'BROTLI'],
  ['lz4', 'lz4', 'LZ4_RAW'],
  ['lz4_raw', 'lz4_raw', 'LZ4_RAW'],
]
for (const [opt, duckName, name] of duckCodecs) {
  await run({ name: 'duckdb_' + opt, writer: 'duckdb', option: `COMPRESSION ${duckName}`, format: 'parquet', expect: { codec: name, min_row_groups: 2 } },
    (f) => duck.run(`COPY (SELECT * FROM t ORDER BY id) TO ${sqlPath(f)} (FORMAT parquet, COMPRESSION ${duckName}, ROW_GROUP_SIZE ${ROW_GROUP})`))
}
await run({ name: 'duckdb_lz4_hadoop', writer: 'duckdb', option: 'Hadoop LZ4', format: 'parquet', na: 'DuckDB writes LZ4 only as LZ4_RAW' }, null)
// DuckDB's V2 still writes data page v1.
const duckV2 = { f64: 'BYTE_STREAM_SPLIT', f32: 'BYTE_STREAM_SPLIT', i32: 'DELTA_BINARY_PACKED', i64: 'DELTA_BINARY_PACKED', id: 'DELTA_LENGTH_BYTE_ARRAY' }
await run({ name: 'duckdb_v2', writer: 'duckdb', option: 'PARQUET_VERSION V2 (BYTE_STREAM_SPLIT floats, DELTA ints and strings)', format: 'parquet', expect: { codec: 'SNAPPY', encodings: duckV2, page_version: 'v1', min_row_groups: 2 } },
  (f) => duck.run(`COPY (SELECT * FROM t ORDER BY id) TO ${sqlPath(f)} (FORMAT parquet, PARQUET_VERSION V2, ROW_GROUP_SIZE ${ROW_GROUP})`))
await run({ name: 'duckdb_v2_zstd', writer: 'duckdb', option: 'PARQUET_VERSION V2, COMPRESSION zstd', format: 'parquet', expect: { codec: 'ZSTD', encodings: duckV2, page_version: 'v1', min_row_groups: 2 } },
  (f) => duck.run(`COPY (SELECT * FROM t ORDER BY id) TO ${sqlPath(f)} (FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP})`))
for (const fmt of ['arrow-file', 'arrow-stream']) {
  await run({ name: 'duckdb_' + fmt, writer: 'duckdb', option: 'Arrow IPC', format: fmt, na: 'DuckDB writes Arrow IPC only through its arrow community extension, which is downloaded at run time (not from npm)' }, null)
}

// nodejs-polars ---------------------------------------------------------------
const df = pl.readIPC(Buffer.from(arrow.tableToIPC(table, 'file')))
for (const [opt, name] of [['uncompressed', 'UNCOMPRESSED'], ['snappy', 'SNAPPY'], ['gzip', 'GZIP'], ['zstd', 'ZSTD'], ['brotli', 'BROTLI'], ['lz4', 'LZ4_RAW']]) {
  await run({ name: 'polars_' + opt, writer: 'polars', option: `writeParquet compression ${opt}`, format: 'parquet', expect: { codec: name } },
    (f) => df.writeParquet(f, { compression: opt }))
}
await run({ name: 'polars_lz4_hadoop', writer: 'polars', option: 'Hadoop LZ4', format: 'parquet', na: 'Polars writes lz4 as LZ4_RAW' }, null)
// Polars' lz4 frames carry block checksums (the case that
// github.com/pierrec/lz4/v4 before v4.1.22 rejected).
for (const [opt, magic, label] of [['uncompressed', null, ''], ['lz4', 'lz4', ' (frames with block checksums)'], ['zstd', 'zstd', '']]) {
  const expect = { body: magic, lz4_block_checksums: magic === 'lz4' }
  await run({ name: 'polars_arrow-file_' + opt, writer: 'polars', option: `writeIPC compression ${opt}${label}`, format: 'arrow-file', expect },
    (f) => df.writeIPC(f, { compression: opt }))
  await run({ name: 'polars_arrow-stream_' + opt, writer: 'polars', option: `writeIPCStream compression ${opt}${label}`, format: 'arrow-stream', expect },
    (f) => df.writeIPCStream(f, { compression: opt }))
}

// hyparquet-writer --------------------------------------------------------------
// It ships only a snappy compressor; other codecs take a compressor function:
// node's zlib for gzip and brotli, zstd-codec for zstd.
const hyCompressors = {
  GZIP: (b) => new Uint8Array(zlib.gzipSync(b)),
  BROTLI: (b) => new Uint8Array(zlib.brotliCompressSync(b)),
  ZSTD: (b) => zstd.compress(b),
}
function hyWrite(file, codec, enc) {
  const e = (k) => (enc && enc[k] ? { encoding: enc[k] } : {})
  const dec = (v) => v // bigint: the unscaled value
  const buf = parquetWriteBuffer({
    codec,
    compressors: hyCompressors,
    rowGroupSize: ROW_GROUP,
    columnData: [
      { name: 'id', data: col('id'), ...e('id') },
      { name: 'f64', data: Float64Array.from(col('f64')), ...e('f64') },
      { name: 'f32', data: col('f32'), ...e('f32') },
      { name: 'i32', data: Int32Array.from(col('i32')), ...e('i32') },
      { name: 'i64', data: col('i64'), ...e('i64') },
      { name: 'dec', data: col('dec').map(dec), ...e('dec') },
      { name: 'flag', data: col('flag'), ...e('flag') },
    ],
    schema: [
      { name: 'root', num_children: 7 },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'f64', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'f32', type: 'FLOAT', repetition_type: 'OPTIONAL' },
      { name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' },
      { name: 'i64', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'dec', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 9, converted_type: 'DECIMAL', precision: DEC_PRECISION, scale: DEC_SCALE, logical_type: { type: 'DECIMAL', precision: DEC_PRECISION, scale: DEC_SCALE }, repetition_type: 'OPTIONAL' },
      { name: 'flag', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    ],
  })
  fs.writeFileSync(file, new Uint8Array(buf))
}
for (const [opt, name] of [['uncompressed', 'UNCOMPRESSED'], ['snappy', 'SNAPPY'], ['gzip', 'GZIP'], ['zstd', 'ZSTD'], ['brotli', 'BROTLI']]) {
  await run({ name: 'hyparquet-writer_' + opt, writer: 'hyparquet-writer', option: `codec ${name}`, format: 'parquet', expect: { codec: name, min_row_groups: 2 } },
    (f) => hyWrite(f, name))
}
await run({ name: 'hyparquet-writer_lz4_raw', writer: 'hyparquet-writer', option: 'codec LZ4_RAW', format: 'parquet', na: 'hyparquet-writer takes an LZ4 block compressor from the caller, and the pure-JS one on npm (lz4js) gives up on incompressible pages (LZ4_RAW has no stored-block escape)' }, null)
await run({ name: 'hyparquet-writer_lz4_hadoop', writer: 'hyparquet-writer', option: 'Hadoop LZ4', format: 'parquet', na: 'hyparquet-writer has no Hadoop LZ4 framing' }, null)
const hyEncodings = [
  ['plain', 'PLAIN', allCols('PLAIN')],
  ['dictionary', 'RLE_DICTIONARY', Object.fromEntries(['id', ...FEATURES].map((k) => [k, 'RLE_DICTIONARY']))],
  ['rle', 'RLE (booleans)', { flag: 'RLE' }],
  ['delta', 'DELTA_BINARY_PACKED ints, DELTA_LENGTH_BYTE_ARRAY strings', { i32: 'DELTA_BINARY_PACKED', i64: 'DELTA_BINARY_PACKED', id: 'DELTA_LENGTH_BYTE_ARRAY' }],
  ['delta_byte_array', 'DELTA_BYTE_ARRAY strings', { id: 'DELTA_BYTE_ARRAY' }],
  ['byte_stream_split', 'BYTE_STREAM_SPLIT double, float, int32, int64, fixed-length decimal', Object.fromEntries(FEATURES.map((k) => [k, 'BYTE_STREAM_SPLIT']))],
]
for (const [opt, label, encs] of hyEncodings) {
  await run({ name: 'hyparquet-writer_' + opt, writer: 'hyparquet-writer', option: `${label}, data page v2`, format: 'parquet', expect: { codec: 'SNAPPY', encodings: encs, page_version: 'v2', min_row_groups: 2 } },
    (f) => hyWrite(f, 'SNAPPY', encs))
}
await run({ name: 'hyparquet-writer_delta_byte_array_decimal', writer: 'hyparquet-writer', option: 'DELTA_BYTE_ARRAY fixed-length decimal', format: 'parquet', na: 'hyparquet-writer writes DELTA_BYTE_ARRAY for BYTE_ARRAY columns only' }, null)
await run({ name: 'hyparquet-writer_v1', writer: 'hyparquet-writer', option: 'data page v1', format: 'parquet', na: 'hyparquet-writer writes data page v2 only' }, null)

// apache-arrow JS ------------------------------------------------------------------
// Its IPC writer compresses bodies with a codec registered by the caller:
// lz4js (LZ4 frames) and zstd-codec.
// Each compressed IPC buffer starts with its uncompressed length (int64, or
// -1 for a buffer left uncompressed). apache-arrow 21.2.0's writer puts the
// compressed length there instead, so Polars and arrow-go rightly reject its
// files (and apache-arrow reads them only because it ignores the field).
// checkArrowPrefixes returns why the case cannot be made while that is so,
// and nothing once a fixed apache-arrow writes the right lengths.
function checkArrowPrefixes(buf, type) {
  const decode = { [arrow.CompressionType.LZ4_FRAME]: (b) => lz4js.decompress(b), [arrow.CompressionType.ZSTD]: (b) => zstd.decompress(b) }[type]
  // An IPC file is the stream between an 8-byte magic and the footer.
  const file = new TextDecoder().decode(buf.subarray(0, 6)) === 'ARROW1'
  const reader = new arrow.MessageReader(file ? buf.subarray(8) : buf)
  for (let m = reader.next(); !m.done; m = reader.next()) {
    const msg = m.value
    const body = reader.readMessageBody(msg.bodyLength)
    if (msg.headerType !== arrow.MessageHeader.RecordBatch) continue
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
    for (const b of msg.header().buffers) {
      const off = Number(b.offset)
      const len = Number(b.length)
      if (len < 8) continue
      const prefix = Number(view.getBigInt64(off, true))
      if (prefix === -1) continue
      const actual = decode(body.subarray(off + 8, off + len)).length
      if (prefix !== actual) {
        return `apache-arrow's IPC writer stores a compressed buffer's length where its uncompressed length belongs (${prefix} for a buffer of ${actual} bytes), so the file is invalid (Polars and arrow-go reject it; apache-arrow reads it back only because it ignores the field)`
      }
    }
  }
  return null
}
arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, { encode: (b) => lz4js.compress(b) })
arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, { encode: (b) => zstd.compress(b) })
for (const [opt, type, magic] of [['uncompressed', null, null], ['lz4', arrow.CompressionType.LZ4_FRAME, 'lz4'], ['zstd', arrow.CompressionType.ZSTD, 'zstd']]) {
  for (const [fmt, Writer] of [['arrow-file', arrow.RecordBatchFileWriter], ['arrow-stream', arrow.RecordBatchStreamWriter]]) {
    await run({ name: `apache-arrow_${fmt}_${opt}`, writer: 'apache-arrow', option: `${Writer.name} compressionType ${opt}`, format: fmt, expect: { body: magic, lz4_block_checksums: false } },
      (f) => {
        const w = new Writer({ compressionType: type })
        const buf = w.writeAll(table).toUint8Array(true)
        fs.writeFileSync(f, buf)
        return type === null ? null : checkArrowPrefixes(buf, type)
      })
  }
}
await run({ name: 'apache-arrow_parquet', writer: 'apache-arrow', option: 'Parquet', format: 'parquet', na: 'apache-arrow (JS) has no Parquet writer' }, null)

fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1))
console.log(`wrote ${manifest.cases.filter((c) => c.file && !c.write_error).length} files, ${manifest.cases.filter((c) => c.na).length} cases not applicable, ${manifest.cases.filter((c) => c.write_error).length} writer errors`)
