// A real Arrow IPC writer and reader (apache-arrow from npm) on either
// side of `vaejob score --input - --output -`, for
// cmd/vaejob/stream_e2e_test.go:
//
//   node stream.mjs write ROWS BATCH   an Arrow IPC stream on stdout: the
//                                      table below in batches of BATCH rows
//   node stream.mjs read               reads an Arrow IPC stream on stdin and
//                                      prints it as JSON (float32 as bits)
//
// The table is defined here and, identically, in stream_e2e_test.go
// (streamRow): integer arithmetic and correctly rounded divisions only, so
// both sides compute the same bits.
import * as arrow from 'apache-arrow'

// row i of the table; streamRow in stream_e2e_test.go is the same.
function row(i) {
  return {
    a: i % 97 === 5 ? null : (((i * 7919) % 10007) - 5003) / 5003,
    b: (((i * 104729) % 10009) - 5004) / 1668,
    tag: 'r' + i,
  }
}

function write(rows, batch) {
  const writer = new arrow.RecordBatchStreamWriter()
  for (let lo = 0; lo < rows; lo += batch) {
    const cols = { a: [], b: [], tag: [] }
    for (let i = lo; i < Math.min(rows, lo + batch); i++) {
      const r = row(i)
      for (const k in cols) cols[k].push(r[k])
    }
    const t = new arrow.Table({
      a: arrow.vectorFromArray(cols.a, new arrow.Float64()),
      b: arrow.vectorFromArray(cols.b, new arrow.Float64()),
      tag: arrow.vectorFromArray(cols.tag, new arrow.Utf8()),
    })
    for (const rb of t.batches) writer.write(rb)
  }
  writer.finish()
  process.stdout.write(writer.toUint8Array(true))
}

// bits gives a float32 as its IEEE bits, so that NaN survives JSON.
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)
function bits(v) {
  if (v === null) return null
  f32[0] = v
  return u32[0]
}

async function read() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  const t = arrow.tableFromIPC(Buffer.concat(chunks))
  const fields = t.schema.fields.map((f) => [f.name, String(f.type)])
  const get = (name) => t.getChild(name)
  const rows = []
  for (let i = 0; i < t.numRows; i++) {
    rows.push([get('tag').get(i), bits(get('score').get(i)), get('is_anomaly').get(i), bits(get('tail_probability').get(i))])
  }
  process.stdout.write(JSON.stringify({ fields, batches: t.batches.length, rows }))
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'write') {
  write(Number(args[0]), Number(args[1]))
} else if (mode === 'read') {
  await read()
} else {
  console.error('usage: node stream.mjs write ROWS BATCH | read')
  process.exit(2)
}
