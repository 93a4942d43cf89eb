#!/usr/bin/env python3
"""Score a partitioned dataset with `vaejob score` on a Dask cluster.

One task per data file: each runs `vaejob score` on its file, on whichever
worker Dask gives it, and writes OUTPUT/part-NNNNN.parquet; part numbers
follow the order in which `vaejob score --input FOLDER` reads the folder
(names sorted within each folder, folders entered where they sort, names
starting with "_" or "." skipped), so the parts, read in name order, hold
the rows of one `vaejob score --input FOLDER` run, row for row. Dask only
orchestrates: no data passes through Python, and the workers need the
vaejob binary, the model and the data at the same paths (a shared or
mounted file system).

    python3 score_partitions.py --vaejob /usr/local/bin/vaejob \\
        --model /srv/models/payments/latest/model.onnx \\
        --input /data/exports/payments --output /data/scores/payments \\
        --scheduler tcp://dask-scheduler:8786 -- --keep-columns transaction_id

Arguments after "--" go to every `vaejob score`. Without --scheduler, a
LocalCluster of --local-workers processes on 127.0.0.1 runs the tasks.
Each vaejob runs with --workers --threads-per-task (default 1: one core per
task; Dask's workers run one task per thread). When every part is
written, OUTPUT/_SUCCESS marks the output complete (vaejob and Spark skip
it when reading the folder). Exit status: 0 when every partition scored;
otherwise each failed partition is reported on stderr with vaejob's exit
code and message, no _SUCCESS is written, and the script exits with the
first failed partition's exit code (3: bad data, 8: a machine fault, ...;
see the README's "Exit codes"), or 1 when a task could not run at all.
"""

import argparse
import os
import subprocess
import sys


def data_files(root):
    """The files `vaejob score --input root` reads, in its order."""
    if not os.path.isdir(root):
        return [root]
    out = []
    for name in sorted(os.listdir(root)):
        if name.startswith(("_", ".")):
            continue
        path = os.path.join(root, name)
        if os.path.islink(path):
            continue
        if os.path.isdir(path):
            out.extend(data_files(path))
        else:
            out.append(path)
    return out


def part_name(i):
    return "part-%05d.parquet" % i


def score_one(vaejob, model, path, part, extra):
    """Runs on a worker: score one file into part; returns what happened."""
    cmd = [vaejob, "score", "--model", model, "--input", path, "--output", part] + extra
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code = res.returncode if res.returncode >= 0 else 128 - res.returncode  # killed by a signal: 128 + its number, as a shell says
    return {"input": path, "part": part, "code": code, "stderr": res.stderr[-2000:]}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vaejob", default="vaejob", help="the vaejob binary, at the same path on every worker")
    p.add_argument("--model", required=True, help="model.onnx, readable by every worker")
    p.add_argument("--input", required=True, help="the dataset: a folder (read recursively) or one file")
    p.add_argument("--output", required=True, help="folder for part-NNNNN.parquet and _SUCCESS")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    p.add_argument("--local-workers", type=int, default=2, help="worker processes of the LocalCluster")
    p.add_argument("--threads-per-task", type=int, default=1, help="vaejob score --workers of each task")
    args = p.parse_args(argv)

    files = data_files(args.input)
    if not files:
        print(f"score_partitions: {args.input} holds no data files", file=sys.stderr)
        return 2
    os.makedirs(args.output, exist_ok=True)
    success = os.path.join(args.output, "_SUCCESS")
    if os.path.exists(success):
        os.remove(success)  # the output is incomplete until this run ends well
    stale = sorted(n for n in os.listdir(args.output)
                   if n.startswith("part-") and n not in {part_name(i) for i in range(len(files))})
    if stale:
        print(f"score_partitions: {args.output} holds parts of another dataset ({', '.join(stale[:3])}...): "
              "choose an empty folder or remove them", file=sys.stderr)
        return 2
    extra = ["--workers", str(args.threads_per_task)] + extra

    from distributed import Client, LocalCluster

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.local_workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(score_one, args.vaejob, os.path.abspath(args.model), os.path.abspath(f),
                                 os.path.abspath(os.path.join(args.output, part_name(i))), extra,
                                 key=f"vaejob-score-{i:05d}", pure=False)
                   for i, f in enumerate(files)]
        results = client.gather(futures, errors="skip")
        failed_tasks = [f for f in futures if f.status != "finished"]
        for f in failed_tasks:
            print(f"score_partitions: task {f.key} did not run: {f.exception()!r}", file=sys.stderr)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    failed = [r for r in results if r["code"] != 0]
    for r in failed:
        print(f"score_partitions: {r['input']}: vaejob score exited {r['code']}:\n{r['stderr']}", file=sys.stderr)
    if failed:
        return failed[0]["code"]
    if failed_tasks:
        return 1
    with open(success, "w"):
        pass
    print(f"scored {len(files)} partitions into {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
