// read.js: the DuckDB baseline of vaejob's read benchmark (cmd/readbench).
//
//   node read.js GLOB THREADS MODE
//
// MODE "scan" decodes every column of every row (a sum per column, so that
// nothing can be skipped) without keeping the rows; MODE "load" keeps them
// all in an in-memory table, like vaejob's full read into a matrix.
// Prints one JSON object: {rows, seconds}.
'use strict';

const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [glob, threads, mode] = process.argv.slice(2);
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await db.connect();
  const cols = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}')`)).getRows().map((r) => r[0]);
  const start = process.hrtime.bigint();
  let rows;
  if (mode === 'load') {
    await con.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${glob}')`);
    rows = (await con.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0];
  } else {
    const sums = cols.map((c) => `sum("${c}")`).join(', ');
    rows = (await con.runAndReadAll(`SELECT count(*), ${sums} FROM read_parquet('${glob}')`)).getRows()[0][0];
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ rows: Number(rows), seconds }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
