#!/usr/bin/env python3
"""Encoding on Spark against one process, and a sharded index against one index.

  python scripts/bench_spark.py INDEX [--docs 1000000] [--work DIR] [--cores 1 2]
                               [--query-items 10000000] [--shards 2]

1. Writes DOCS synthetic documents (60 to 120 words each, drawn from INDEX's vocabulary by a
   Zipf law) to DIR/docs.parquet, in row groups of 20,000.
2. Times ``hashret encode INDEX docs.parquet`` (one process) and ``hashret encode ... --spark
   --spark-master local[N]`` for each N of --cores (each a fresh process), each run's rows/s,
   and the peak resident memory of the largest Python process (the single process; Spark's
   Python workers, sampled every 0.2 s) and of the whole run.
3. Builds one flat index and a sharded one (--shards; its shards searched one after the other,
   and in as many threads) over QUERY_ITEMS random 64-bit codes and times 200 queries
   (k = 10), one at a time and in one batch, checking that they answer alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def write_documents(index: Path, n: int, out: Path, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from hashret import Bundle
    vocab = np.asarray(Bundle.load(index, with_model=False).featurizer.vocabulary)
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    with pq.ParquetWriter(out, pa.schema([("id", pa.int64()), ("text", pa.string())])) as w:
        for start in range(0, n, 20_000):
            m = min(20_000, n - start)
            lengths = rng.integers(60, 121, m)
            words = vocab[rng.choice(len(vocab), lengths.sum(), p=p)]
            cuts = np.cumsum(lengths)[:-1]
            texts = [" ".join(ws) for ws in np.split(words, cuts)]
            w.write_table(pa.table({"id": np.arange(start, start + m), "text": texts}))


def rss_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def timed(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time, the peak RSS of its largest Python process and of all
    its processes together."""
    peak = {"python": 0, "all": 0}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = [proc.pid] + descendants(proc.pid)
            sizes = {p: rss_of(p) for p in pids}
            py = [s for p, s in sizes.items() if b"python" in _cmdline(p)]
            peak["python"] = max(peak["python"], max(py, default=0))
            peak["all"] = max(peak["all"], sum(sizes.values()))
            time.sleep(0.2)
    t = time.perf_counter()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t
    done.set()
    thread.join()
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_python_mb": round(peak["python"] / 2**20),
            "peak_all_mb": round(peak["all"] / 2**20)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def query_bench(n: int, shards: int, queries: int = 200, k: int = 10) -> dict:
    from hashret.search.index import BinaryCodeIndex
    from hashret.search.shards import ShardedIndex
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    q = codes[rng.choice(n, queries, replace=False)] ^ rng.integers(0, 2, (queries, 8),
                                                                     dtype=np.uint8)
    out = {}
    answers = []
    parts = ShardedIndex.build(codes, shards=shards).shards
    for name, index in (("one index", BinaryCodeIndex.build(codes)),
                        (f"{shards} shards", ShardedIndex(parts)),
                        (f"{shards} shards, {shards} threads", ShardedIndex(parts, shards))):
        index.search(q[:1], k)                     # compiled kernels, warm caches
        t = time.perf_counter()
        for row in q:
            index.search(row[None], k)
        one_by_one = (time.perf_counter() - t) / queries
        t = time.perf_counter()
        answers.append(index.search(q, k))
        batched = (time.perf_counter() - t) / queries
        out[name] = {"ms_per_query": round(one_by_one * 1000, 2),
                     "ms_per_query_batched": round(batched * 1000, 3)}
    out["same_answers"] = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                              for a in answers for b in answers)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("indexes/bench-spark"))
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--query-items", type=int, default=10_000_000)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--skip-encode", action="store_true")
    ap.add_argument("--no-single", action="store_true",
                    help="leave out the one-process run (a corpus too large for its memory)")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    report = {"docs": a.docs}
    if not a.skip_encode:
        docs = a.work / f"docs-{a.docs}.parquet"
        if not docs.exists():
            write_documents(a.index, a.docs, docs)
        print(f"{docs}: {a.docs:,} documents, {docs.stat().st_size / 2**20:.0f} MiB",
              flush=True)
        hashret = [sys.executable, "-m", "hashret.cli", "-q"]
        if not a.no_single:
            run = timed(hashret + ["encode", str(a.index), str(docs),
                                   str(a.work / "one.parquet")])
            run["rows_per_s"] = round(a.docs / run["seconds"])
            report["one process"] = run
            print("one process", run, flush=True)
        env_conf = "--conf spark.sql.files.maxPartitionBytes=16m"
        os.environ["PYSPARK_SUBMIT_ARGS"] = f"{env_conf} --driver-memory 2g pyspark-shell"
        for cores in a.cores:
            run = timed(hashret + ["encode", str(a.index), str(docs),
                                   str(a.work / f"spark{cores}"), "--spark",
                                   "--spark-master", f"local[{cores}]"])
            run["rows_per_s"] = round(a.docs / run["seconds"])
            report[f"spark local[{cores}]"] = run
            print(f"spark local[{cores}]", run, flush=True)
    if a.query_items:
        report["query"] = query_bench(a.query_items, a.shards)
        print("query", report["query"], flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
