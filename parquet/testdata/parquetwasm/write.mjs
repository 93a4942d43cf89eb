// write.mjs: writes the Parquet fixtures of parquet/realwriter_test.go with
// parquet-wasm (arrow-rs compiled to WebAssembly), a writer that uses
// options arrow-go cannot write: DELTA_BYTE_ARRAY for fixed-length
// decimals and binaries, and the Hadoop-framed LZ4 codec.
//
//   npm install parquet-wasm@0.7.1          (in a scratch folder)
//   node write.mjs <scratch>/node_modules IN.arrows OUTDIR
//
// IN.arrows is an Arrow IPC stream of the fixture's columns, which
// `go test ./parquet -run TestReadParquetWasmFixtures -update` writes and
// passes here (with the node_modules folder from VAEJOB_PARQUET_WASM).
// parquet-wasm 0.7.1's CommonJS build does not load in Node 20, so this
// loads its ES module build and hands it the WebAssembly bytes.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, input, outdir] = process.argv.slice(2);
const esm = path.join(modules, 'parquet-wasm', 'esm');
const pw = await import(pathToFileURL(path.join(esm, 'parquet_wasm.js')).href);
pw.initSync({ module: fs.readFileSync(path.join(esm, 'parquet_wasm_bg.wasm')) });

const ipc = new Uint8Array(fs.readFileSync(input));
const { Compression, Encoding, WriterVersion, WriterPropertiesBuilder } = pw;
const fixed = ['dec', 'dec256', 'fsb'];

function write(name, configure) {
  let b = new WriterPropertiesBuilder()
    .setMaxRowGroupSize(250)
    .setDataPageSizeLimit(512)
    .setWriteBatchSize(64)
    .setCreatedBy('parquet-wasm 0.7.1 (vaejob fixture)');
  b = configure(b);
  const bytes = pw.writeParquet(pw.Table.fromIPCStream(ipc), b.build());
  fs.writeFileSync(path.join(outdir, name), bytes);
}

// Dictionary pages first, then DELTA_BYTE_ARRAY once the dictionary is
// full: arrow-rs's v2 writer falls back so for fixed-length values.
write('flba_dictionary_then_delta_v2.parquet', (b) =>
  b.setWriterVersion(WriterVersion.V2).setCompression(Compression.SNAPPY).setDictionaryPageSizeLimit(100));

// DELTA_BYTE_ARRAY only, data pages v1 and v2.
for (const [version, name, codec] of [[WriterVersion.V1, 'v1', Compression.ZSTD], [WriterVersion.V2, 'v2', Compression.GZIP]]) {
  write(`flba_delta_${name}.parquet`, (b) => {
    b = b.setWriterVersion(version).setCompression(codec);
    for (const c of fixed) b = b.setColumnDictionaryEnabled(c, false).setColumnEncoding(c, Encoding.DELTA_BYTE_ARRAY);
    return b;
  });
}

// The deprecated LZ4 codec: Hadoop-framed blocks.
write('hadoop_lz4.parquet', (b) => b.setWriterVersion(WriterVersion.V1).setCompression(Compression.LZ4));

// LZ4_RAW with BYTE_STREAM_SPLIT floats and DELTA_BINARY_PACKED integers.
write('lz4_raw_byte_stream_split_v2.parquet', (b) =>
  b.setWriterVersion(WriterVersion.V2).setCompression(Compression.LZ4_RAW).setDictionaryEnabled(false)
    .setColumnEncoding('x', Encoding.BYTE_STREAM_SPLIT).setColumnEncoding('k', Encoding.DELTA_BINARY_PACKED)
    .setColumnEncoding('fsb', Encoding.BYTE_STREAM_SPLIT));
