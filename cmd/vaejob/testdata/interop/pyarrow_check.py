"""Second opinion with pyarrow and Python ONNX Runtime, where both are
installed (not in CI: pyarrow is not installable on the CI machine).

    CGO_ENABLED=0 go build -o /tmp/vaejob ./cmd/vaejob
    python3 cmd/vaejob/testdata/interop/pyarrow_check.py /tmp/vaejob

For each pyarrow writer option: vaejob train and score the file; pyarrow
reads the score file back (kept columns equal to pyarrow's own read of the
input, same types); Python ONNX Runtime scores the same rows and must give
the same is_anomaly. Prints one JSON line per case and a summary table.
"""
import datetime
import decimal
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

OUT = os.environ.get("OUT", "/tmp/out")
VJ = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".dev/vaejob")
WORK = "/tmp/pa"
os.makedirs(WORK, exist_ok=True)
print("pyarrow", pa.__version__, "onnxruntime", ort.__version__, flush=True)

n = 3000
rng = np.random.default_rng(0)
ids = [f"id{i}" for i in range(n)]
dec = [decimal.Decimal(int(x)).scaleb(-3) for x in rng.integers(-10**9, 10**9, n)]
ts = [datetime.datetime(2026, 12, 3) + datetime.timedelta(seconds=int(s)) for s in rng.integers(0, 86400, n)]
table = pa.table({
    "id": ids,
    "f64": rng.normal(size=n),
    "f32": rng.normal(size=n).astype(np.float32),
    "i32": rng.integers(-1000, 1000, n).astype(np.int32),
    "i64": rng.integers(0, 10**12, n),
    "u32": pa.array(rng.integers(0, 2**32 - 1, n).astype(np.uint32)),
    "dec": pa.array(dec, pa.decimal128(20, 3)),
    "ts": pa.array(ts, pa.timestamp("us")),
    "tsz": pa.array(ts, pa.timestamp("ms", tz="Europe/Berlin")),
    "c": np.full(n, 5.0),  # constant: stays a feature
})
features = "f64,f32,i32,i64,dec,c"
keep = "id,i64,u32,dec,ts,tsz"

cases = [
    ("parquet snappy", "p", dict(compression="snappy")),
    ("parquet gzip", "p", dict(compression="gzip")),
    ("parquet zstd", "p", dict(compression="zstd")),
    ("parquet brotli", "p", dict(compression="brotli")),
    ("parquet lz4 (LZ4_RAW)", "p", dict(compression="lz4")),
    ("parquet none", "p", dict(compression="none")),
    ("parquet byte_stream_split, page v2", "p", dict(use_byte_stream_split=["f64", "f32", "i32", "i64", "dec"], data_page_version="2.0", use_dictionary=False, compression="zstd")),
    ("parquet DELTA encodings", "p", dict(use_dictionary=False, column_encoding={"i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED", "id": "DELTA_BYTE_ARRAY", "dec": "DELTA_BYTE_ARRAY", "f64": "PLAIN"}, compression="snappy")),
    ("parquet INT96 timestamps", "p", dict(use_deprecated_int96_timestamps=True)),
    ("parquet row groups of 500, page v2", "p", dict(row_group_size=500, data_page_version="2.0")),
    ("feather uncompressed", "f", dict(compression="uncompressed")),
    ("feather lz4", "f", dict(compression="lz4")),
    ("feather zstd", "f", dict(compression="zstd")),
]


def run(args):
    p = subprocess.run([VJ] + args, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr.strip().splitlines()[-1:] if p.returncode else []


results = []
for i, (name, kind, opts) in enumerate(cases):
    r = {"case": name}
    path = f"{WORK}/in{i}." + ("parquet" if kind == "p" else "arrow")
    try:
        if kind == "p":
            pq.write_table(table, path, **opts)
        else:
            feather.write_feather(table, path, **opts)
    except Exception as e:  # a writer that cannot make the case
        r["write"] = f"n/a: {e}"
        results.append(r)
        print(json.dumps(r), flush=True)
        continue
    out = f"{WORK}/o{i}"
    rc, err = run(["train", "--input", path, "--out", out, "--features", features, "--steps", "40", "--seed", "0", "--run-id", "r"])
    r["train"] = "ok" if rc == 0 else f"exit {rc}: {err}"
    if rc == 0:
        model = f"{out}/latest/model.onnx"
        scored = f"{WORK}/s{i}.parquet"
        rc, err = run(["score", "--model", model, "--input", path, "--output", scored, "--keep-columns", keep])
        r["score"] = "ok" if rc == 0 else f"exit {rc}: {err}"
        if rc == 0:
            src = pq.read_table(path) if kind == "p" else feather.read_table(path)
            got = pq.read_table(scored)
            diffs = []
            for c in keep.split(","):
                if got.schema.field(c).type != src.schema.field(c).type:
                    diffs.append(f"{c}: type {got.schema.field(c).type} != {src.schema.field(c).type}")
                elif not got.column(c).equals(src.column(c)):
                    diffs.append(f"{c}: values differ")
            md = pq.ParquetFile(scored).metadata
            for c in ("u32", "i64"):
                j = md.schema.names.index(c)
                lo = min(md.row_group(g).column(j).statistics.min for g in range(md.num_row_groups))
                hi = max(md.row_group(g).column(j).statistics.max for g in range(md.num_row_groups))
                col = src.column(c).to_numpy()
                if lo != col.min() or hi != col.max():
                    diffs.append(f"{c}: statistics {lo}..{hi}, values {col.min()}..{col.max()}")
            r["read back by pyarrow"] = "ok" if not diffs else diffs
            sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            names = json.loads(dict(sess.get_modelmeta().custom_metadata_map)["vaejob.feature_names"])
            x = np.stack([src.column(c).cast(pa.float64()).to_numpy().astype(np.float32) for c in names], axis=1)
            score, flag = sess.run(["score", "is_anomaly"], {"features": x})
            vs = got.column("score").to_numpy()
            vf = got.column("is_anomaly").to_numpy()
            rel = np.abs(score - vs) / np.maximum(1, np.abs(vs))
            r["onnxruntime"] = {"flags_differ": int((flag != vf).sum()), "alerts": int(vf.sum()), "max_rel_score_diff": float(rel.max())}
    results.append(r)
    print(json.dumps(r), flush=True)

# An empty partition: the score file has the schema and no rows.
empty = f"{WORK}/empty.parquet"
pq.write_table(table.slice(0, 0), empty)
rc, err = run(["score", "--model", f"{WORK}/o0/latest/model.onnx", "--input", empty, "--output", f"{WORK}/se.parquet", "--keep-columns", keep])
if rc == 0:
    e = pq.read_table(f"{WORK}/se.parquet")
    print(json.dumps({"case": "empty input", "score": "ok", "rows": e.num_rows, "columns": e.schema.names}), flush=True)
else:
    print(json.dumps({"case": "empty input", "score": f"exit {rc}: {err}"}), flush=True)

with open(f"{OUT}/pyarrow_check.json", "w") as f:
    json.dump(results, f, indent=1)
