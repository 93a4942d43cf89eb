// Reads a Parquet file with DuckDB, Polars, parquet-wasm (arrow-rs) and
// hyparquet and prints, per reader, the type each column comes back as and
// its values in one canonical text form (see canonical in
// parquet/keptfixture_test.go), so that a Go test can compare them with
// what was written:
//   integers in decimal; floats as JavaScript prints numbers; decimals as
//   exact decimal text; binaries and UUIDs in lower-case hex; dates as days
//   since the epoch; times of day and timestamps as nanoseconds (since
//   midnight, since the epoch); intervals as months/days/nanoseconds;
//   nulls as null; lists as a JSON array of their elements in that form
//   (the score file's explain columns).
// A reader that throws reports {"error": "..."} instead.
//
// Usage: node read.mjs FILE.parquet
import { readFileSync } from 'node:fs';

const path = process.argv[2];
const hex = (b) => Buffer.from(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength ?? b.length).toString('hex');

// decimalText renders an unscaled bigint with scale digits after the point.
function decimalText(unscaled, scale) {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = digits.slice(0, -scale) + '.' + digits.slice(-scale);
  }
  return (neg ? '-' : '') + digits;
}

const unitNanos = { s: 1000000000n, ms: 1000000n, us: 1000n, ns: 1n };

async function duckdb() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run("SET TimeZone = 'UTC'");
  const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${path.replaceAll("'", "''")}')`);
  const names = reader.columnNames();
  const types = reader.columnTypes();
  const rows = reader.getRows();
  const out = { types: {}, values: {} };
  names.forEach((name, j) => {
    out.types[name] = types[j].toString();
    out.values[name] = rows.map((r) => duckValue(r[j]));
  });
  // The statistics DuckDB reads from the footer (min/max as text), which
  // it uses to skip row groups: they must order as the logical type says.
  const stats = await con.runAndReadAll(
    `SELECT path_in_schema, stats_min_value, stats_max_value FROM parquet_metadata('${path.replaceAll("'", "''")}') WHERE row_group_id = 0`);
  out.stats = {};
  for (const [col, lo, hi] of stats.getRows()) out.stats[String(col)] = [lo === null ? null : String(lo), hi === null ? null : String(hi)];
  con.closeSync?.();
  return out;
}

// listText renders a list's elements, each by render, as a JSON array.
const listText = (items, render) => JSON.stringify(Array.from(items, render));

function duckValue(v) {
  if (v === null || v === undefined) return null;
  if (v.constructor?.name === 'DuckDBListValue') return listText(v.items, duckValue);
  switch (typeof v) {
    case 'bigint': case 'boolean': case 'string': return String(v);
    case 'number': return String(v);
  }
  const name = v.constructor?.name ?? '';
  switch (name) {
    case 'DuckDBDecimalValue': return decimalText(v.value, v.scale);
    case 'DuckDBBlobValue': return hex(v.bytes);
    case 'DuckDBUUIDValue': return v.toUint128().toString(16).padStart(32, '0');
    case 'DuckDBDateValue': return String(v.days);
    case 'DuckDBTimeValue': case 'DuckDBTimeTZValue': return String(v.micros * 1000n);
    case 'DuckDBTimeNSValue': return String(v.nanos);
    case 'DuckDBTimestampValue': case 'DuckDBTimestampTZValue': return String(v.micros * 1000n);
    case 'DuckDBTimestampMillisecondsValue': return String(v.millis * 1000000n);
    case 'DuckDBTimestampNanosecondsValue': return String(v.nanos);
    case 'DuckDBTimestampSecondsValue': return String(v.seconds * 1000000000n);
    case 'DuckDBIntervalValue': return `${v.months}/${v.days}/${v.micros * 1000n}`;
  }
  return `unhandled ${name}: ${String(v)}`;
}

async function polars() {
  const pl = (await import('nodejs-polars')).default;
  const df = pl.readParquet(path);
  const out = { types: {}, values: {} };
  for (const name of df.columns) {
    const s = df.getColumn(name);
    let dt;
    try {
      dt = String(s.dtype).replace(/^DataType\((.*)\)$/s, "$1");
    } catch (e) {
      // nodejs-polars 0.24 has no JavaScript dtype for some Polars types
      // (binary, float16): say so, and read the values as Polars renders
      // them to text or hex.
      out.types[name] = `no JavaScript dtype (${String(e.message ?? e)})`;
      out.values[name] = polarsFallback(pl, df, name);
      continue;
    }
    out.types[name] = dt;
    out.values[name] = polarsValues(pl, s, dt);
  }
  return out;
}

function polarsFallback(pl, df, name) {
  for (const expr of [() => pl.col(name).bin.encode('hex'), () => pl.col(name).cast(pl.Float64), () => pl.col(name).cast(pl.Utf8)]) {
    try {
      return df.select(expr()).getColumn(name).toArray().map((v) => (v === null ? null : String(v)));
    } catch {
      // try the next rendering
    }
  }
  return null;
}

function polarsValues(pl, s, dt) {
  // Through text: toArray gives 64-bit integers as JavaScript numbers,
  // which cannot hold every one.
  const ints = (x, mult) => x.cast(pl.Utf8).toArray().map((v) => (v === null ? null : String(BigInt(v) * mult)));
  if (/^U?Int\d+$/.test(dt)) return ints(s, 1n);
  const dtm = /^Datetime\((\w+),/.exec(dt);
  if (dtm) return ints(s.cast(pl.Int64), unitNanos[dtm[1]]);
  if (dt === 'Date') return ints(s.cast(pl.Int32), 1n);
  if (dt === 'Time') return ints(s.cast(pl.Int64), 1n);
  if (dt.startsWith('Decimal')) return s.cast(pl.Utf8).toArray();
  const value = (v) => {
    if (v === null || v === undefined) return null;
    if (v instanceof Uint8Array) return hex(v);
    return String(v);
  };
  if (dt.startsWith('List')) return s.toArray().map((v) => (v === null ? null : listText(v, value)));
  return s.toArray().map(value);
}

async function parquetWasm() {
  const wasm = await import('parquet-wasm');
  const arrow = await import('apache-arrow');
  const table = arrow.tableFromIPC(wasm.readParquet(readFileSync(path)).intoIPCStream());
  const out = { types: {}, values: {} };
  for (const field of table.schema.fields) {
    const ext = field.metadata.get('ARROW:extension:name');
    out.types[field.name] = String(field.type) + (ext ? ` (${ext})` : '');
    const vec = table.getChild(field.name);
    const values = [];
    for (const data of vec.data) {
      for (let i = 0; i < data.length; i++) values.push(data.getValid(i) ? arrowValue(arrow, data, i) : null);
    }
    out.values[field.name] = values;
  }
  return out;
}

// arrowValue renders entry i of an apache-arrow Data from its buffers, so
// that no unit conversion of the library (e.g. timestamps to milliseconds
// as floats) gets in the way.
function arrowValue(arrow, data, i) {
  const t = data.type;
  const T = arrow.Type;
  const j = data.offset + i;
  const int64 = () => {
    const v = data.values;
    return v instanceof BigInt64Array || v instanceof BigUint64Array ? v[j] : BigInt(v[j]);
  };
  switch (t.typeId) {
    case T.Int: return String(t.bitWidth === 64 ? int64() : data.values[j]);
    case T.Float: {
      if (t.precision === arrow.Precision.HALF) return String(arrow.util.uint16ToFloat64(data.values[j]));
      return String(data.values[j]);
    }
    case T.Bool: return String(arrow.makeVector(data).get(i));
    case T.List: {
      const child = data.children[0];
      const items = [];
      for (let k = data.valueOffsets[j]; k < data.valueOffsets[j + 1]; k++) {
        items.push(child.getValid(k - child.offset) ? arrowValue(arrow, child, k - child.offset) : null);
      }
      return JSON.stringify(items);
    }
    case T.Utf8: case T.LargeUtf8: case T.Dictionary: return String(arrow.makeVector(data).get(i));
    case T.Binary: case T.LargeBinary: case T.FixedSizeBinary: return hex(arrow.makeVector(data).get(i));
    case T.Decimal: {
      const words = t.bitWidth / 32;
      let n = 0n;
      for (let w = words - 1; w >= 0; w--) n = (n << 32n) | BigInt(data.values[j * words + w] >>> 0);
      if (n >= 1n << BigInt(t.bitWidth - 1)) n -= 1n << BigInt(t.bitWidth);
      return decimalText(n, t.scale);
    }
    case T.Date: {
      if (t.unit === arrow.DateUnit.DAY) return String(data.values[j]);
      return String(int64() / 86400000n);
    }
    case T.Time: {
      const mult = [1000000000n, 1000000n, 1000n, 1n][t.unit];
      return String((t.bitWidth === 64 ? int64() : BigInt(data.values[j])) * mult);
    }
    case T.Timestamp: return String(int64() * [1000000000n, 1000000n, 1000n, 1n][t.unit]);
    case T.Interval: {
      const v = data.values;
      if (t.unit === arrow.IntervalUnit.MONTH_DAY_NANO) {
        const dv = new DataView(v.buffer, v.byteOffset + j * 16, 16);
        return `${dv.getInt32(0, true)}/${dv.getInt32(4, true)}/${dv.getBigInt64(8, true)}`;
      }
      if (t.unit === arrow.IntervalUnit.DAY_TIME) return `0/${v[j * 2]}/${BigInt(v[j * 2 + 1]) * 1000000n}`;
      return `${v[j]}/0/0`;
    }
  }
  return `unhandled ${t}`;
}

async function hyparquet() {
  const hp = await import('hyparquet');
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = hp.parquetMetadata(file);
  const out = { types: {}, values: {} };
  const leaves = meta.schema.slice(1);
  for (const el of leaves) {
    const lt = el.logical_type ? JSON.stringify(el.logical_type) : '';
    out.types[el.name] = [el.type, el.converted_type, lt].filter(Boolean).join(' ');
  }
  // Keep raw numbers: hyparquet's default parsers turn timestamps into
  // JavaScript Dates (milliseconds), which cannot show nanoseconds.
  const parsers = {
    timestampFromMilliseconds: (v) => ({ ns: BigInt(v) * 1000000n }),
    timestampFromMicroseconds: (v) => ({ ns: BigInt(v) * 1000n }),
    timestampFromNanoseconds: (v) => ({ ns: BigInt(v) }),
    dateFromDays: (v) => ({ days: v }),
  };
  let rows;
  try {
    rows = await hp.parquetReadObjects({ file, parsers, utf8: false });
  } catch (e) {
    // hyparquet 1.33 throws on the whole file for a column it cannot
    // convert (INTERVAL): record that, and read the other columns.
    out.error = String(e.message ?? e);
    const columns = leaves.filter((el) => el.converted_type !== 'INTERVAL').map((el) => el.name);
    out.skipped = leaves.filter((el) => el.converted_type === 'INTERVAL').map((el) => el.name);
    rows = await hp.parquetReadObjects({ file, parsers, utf8: false, columns });
  }
  for (const el of leaves) {
    if (out.skipped?.includes(el.name)) continue;
    out.values[el.name] = rows.map((r) => hyparquetValue(r[el.name], el));
  }
  return out;
}

function hyparquetValue(v, el) {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return listText(v, (x) => hyparquetValue(x, {}));
  if (typeof v === 'object' && 'ns' in v) return String(v.ns);
  if (typeof v === 'object' && 'days' in v) return String(v.days);
  const lt = el.logical_type?.type;
  if (lt === 'TIME') {
    const mult = { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }[el.logical_type.unit];
    return String(BigInt(v) * mult);
  }
  if (v instanceof Uint8Array) return hex(v);
  if (lt === 'UUID') return v.replaceAll('-', '');
  if (typeof v === 'object' && 'months' in v) return `${v.months}/${v.days}/${BigInt(v.milliseconds) * 1000000n}`;
  return String(v);
}

const result = {};
for (const [name, fn] of Object.entries({ duckdb, polars, 'parquet-wasm': parquetWasm, hyparquet })) {
  try {
    result[name] = await fn();
  } catch (e) {
    result[name] = { error: String(e?.stack ?? e) };
  }
}
process.stdout.write(JSON.stringify(result, null, 1) + '\n');
