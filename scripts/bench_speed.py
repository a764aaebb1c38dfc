#!/usr/bin/env python3
"""Search speed at scale: every index kind against faiss' IndexBinaryFlat, exact float
search and a bare numpy popcount scan, on synthetic 64-bit codes.

  python scripts/bench_speed.py --sizes 100000 1000000 10000000 [--write]

Data (seeded): ``random`` codes (uniform bits) and ``clustered`` codes (4,096 random centres,
each bit of a member flipped with probability 1/16, like the codes of a trained model);
queries are 1,000 fresh draws from the same distribution, not in the index.

Per size and data: build time, bytes per item (saved file), batched throughput for k = 1,
10, 100 (queries/s over 1,000 queries), single-query p50/p99 at k = 10 and 100, tie-aware
recall@10 of the approximate kinds (a result counts when its distance is within the true
10th distance), and Hamming-ball range search (radius 0..2) latency of ``hash`` (range search
of every kind, up to radius 6: ``scripts/bench_range.py``). Exact kinds are checked to return
the flat scan's distances. ``--write`` puts the table into
docs/BENCHMARKS.md between the speed markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hashret.search.index import BinaryCodeIndex

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"


def make_codes(kind: str, n: int, seed: int, centres: np.ndarray | None = None):
    """``n`` 64-bit codes as (n, 8) uint8; clustered codes flip each bit w.p. 1/16."""
    rng = np.random.default_rng(seed)
    out = np.empty(n, np.uint64)
    step = 1 << 20
    for a in range(0, n, step):
        b = min(n, a + step)
        if kind == "random":
            out[a:b] = rng.integers(0, 2**64, b - a, dtype=np.uint64)
        else:
            noise = rng.integers(0, 2**64, (4, b - a), dtype=np.uint64)
            flips = noise[0] & noise[1] & noise[2] & noise[3]          # P(bit) = 1/16
            out[a:b] = centres[rng.integers(0, len(centres), b - a)] ^ flips
    return out.view(np.uint8).reshape(n, 8)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def single_latency(search, queries, k, count=200):
    times = []
    for i in range(count):
        q = queries[i % len(queries)][None]
        t = time.perf_counter()
        search(q, k)
        times.append(time.perf_counter() - t)
    t = np.asarray(times) * 1e3
    return round(float(np.percentile(t, 50)), 4), round(float(np.percentile(t, 99)), 4)


def batched_qps(search, queries, k):
    _, dt = timed(search, queries, k)
    return round(len(queries) / dt, 1)


def numpy_popcount_knn(db64: np.ndarray, queries: np.ndarray, k: int):
    """The bare scan: XOR + popcount of every code in numpy, then a partial sort."""
    out = []
    for q in queries.view(np.uint64)[:, 0]:
        d = np.bitwise_count(db64 ^ q)
        out.append(np.argpartition(d, k)[:k])
    return out


def bench_one(data: str, n: int, kinds, queries_n: int, seed: int, approx_max: int):
    import faiss
    centres = np.random.default_rng(seed).integers(0, 2**64, 4096, dtype=np.uint64)
    db = make_codes(data, n, seed + 1, centres)
    queries = make_codes(data, queries_n, seed + 2, centres)
    rows = []
    ref = {}
    flat_ref = BinaryCodeIndex.build(db)
    for k in (10,):
        ref[k] = flat_ref.search(queries, k)[0]
    for kind in kinds:
        if kind in ("hnsw", "ivf") and n > approx_max:
            rows.append({"data": data, "n": n, "method": kind,
                         "note": f"not run above {approx_max:,} items (build time)"})
            continue
        index, build_s = timed(BinaryCodeIndex.build, db, None, kind)
        with tempfile.TemporaryDirectory() as tmp:
            index.save(Path(tmp) / "i")
            size = (Path(tmp) / "i").stat().st_size
        row = {"data": data, "n": n, "method": kind, "build_s": round(build_s, 2),
               "bytes_per_item": round(size / n, 2)}
        search = index.search
        search(queries[:4], 10)                                   # warm up (compile, caches)
        for k in (1, 10, 100):
            row[f"qps_k{k}"] = batched_qps(search, queries, k)
        row["p50_ms_k10"], row["p99_ms_k10"] = single_latency(search, queries, 10)
        row["p50_ms_k100"], row["p99_ms_k100"] = single_latency(search, queries, 100)
        d10 = search(queries, 10)[0]
        if index.exact:
            assert np.array_equal(d10, ref[10]), f"{kind} disagrees with the exact scan"
            row["recall_at_10"] = 1.0
        else:
            row["recall_at_10"] = round(float((d10 <= ref[10][:, -1:]).mean()), 4)
        if kind == "hash":
            flat_ranges = flat_ref.range_search(queries[:50], 2)
            for radius in (0, 1, 2):
                got = index.range_search(queries[:50], radius)
                for (da, ia), (db_, ib) in zip(got, flat_ref.range_search(queries[:50], radius)):
                    assert np.array_equal(ia, ib)
                row[f"range_r{radius}_p50_ms"] = single_latency(
                    lambda q, r: index.range_search(q, r), queries, radius)[0]
            row["range_r2_mean_hits"] = round(float(np.mean([len(x[1]) for x in flat_ranges])), 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
        index = None

    # faiss' default flat index (heap-based search)
    fi = faiss.IndexBinaryFlat(64)
    _, build_s = timed(fi.add, db)
    row = {"data": data, "n": n, "method": "faiss IndexBinaryFlat", "build_s": round(build_s, 2),
           "bytes_per_item": 8.0}
    fi.search(queries[:4], 10)
    for k in (1, 10, 100):
        row[f"qps_k{k}"] = batched_qps(lambda q, kk: fi.search(q, kk), queries, k)
    row["p50_ms_k10"], row["p99_ms_k10"] = single_latency(lambda q, k: fi.search(q, k),
                                                          queries, 10)
    row["p50_ms_k100"], row["p99_ms_k100"] = single_latency(lambda q, k: fi.search(q, k),
                                                            queries, 100)
    assert np.array_equal(fi.search(queries, 10)[0], ref[10])
    rows.append(row)
    print(json.dumps(row), flush=True)
    fi = None

    if data == "random":
        # bare numpy popcount scan (single thread, per query)
        db64 = db.view(np.uint64)[:, 0]
        nq = max(10, min(200, int(2e8 / n)))
        row = {"data": data, "n": n, "method": "numpy popcount scan", "bytes_per_item": 8.0}
        for k in (1, 10, 100):
            _, dt = timed(numpy_popcount_knn, db64, queries[:nq], k)
            row[f"qps_k{k}"] = round(nq / dt, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
        # exact float inner-product search over 128-d vectors of the same count
        rng = np.random.default_rng(seed + 3)
        x = np.empty((n, 128), np.float32)
        for a in range(0, n, 1 << 20):
            b = min(n, a + (1 << 20))
            x[a:b] = rng.standard_normal((b - a, 128), dtype=np.float32)
        xq = rng.standard_normal((queries_n, 128), dtype=np.float32)
        ff = faiss.IndexFlatIP(128)
        _, build_s = timed(ff.add, x)
        del x
        nq = max(50, min(queries_n, int(2e9 / n)))
        row = {"data": data, "n": n, "method": "faiss IndexFlatIP float 128-d",
               "build_s": round(build_s, 2), "bytes_per_item": 512.0}
        for k in (1, 10, 100):
            row[f"qps_k{k}"] = batched_qps(lambda q, kk: ff.search(q, kk), xq[:nq], k)
        row["p50_ms_k10"], row["p99_ms_k10"] = single_latency(lambda q, k: ff.search(q, k),
                                                              xq, 10, count=50)
        row["p50_ms_k100"], row["p99_ms_k100"] = single_latency(lambda q, k: ff.search(q, k),
                                                                xq, 100, count=50)
        rows.append(row)
        print(json.dumps(row), flush=True)
        ff = None
    return rows


COLUMNS = ["data", "n", "method", "build_s", "bytes_per_item", "qps_k1", "qps_k10",
           "qps_k100", "p50_ms_k10", "p99_ms_k10", "p50_ms_k100", "p99_ms_k100",
           "recall_at_10", "range_r0_p50_ms", "range_r1_p50_ms", "range_r2_p50_ms", "note"]


def table(rows) -> str:
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(
            f"{r[c]:,}" if isinstance(r.get(c), int) else str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--data", nargs="+", default=["random", "clustered"])
    ap.add_argument("--kinds", nargs="+", default=["flat", "hash", "mih", "hnsw", "ivf"])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--approx-max", type=int, default=1_000_000,
                    help="Largest size at which hnsw/ivf are built.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        for data in args.data:
            rows += bench_one(data, n, args.kinds, args.queries, args.seed, args.approx_max)
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    text = table(rows)
    print(text)
    if args.write:
        machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
                  f"Python {sys.version.split()[0]}"
        body = (f"{BEGIN}\nCommand: `python scripts/bench_speed.py {' '.join(sys.argv[1:])}` "
                f"(seed {args.seed}; machine: {machine}).\n\n{text}\n{END}")
        path = ROOT / "docs" / "BENCHMARKS.md"
        doc = path.read_text()
        if BEGIN in doc:
            doc = doc[:doc.index(BEGIN)] + body + doc[doc.index(END) + len(END):]
        else:
            doc += "\n## Search speed\n\n" + body + "\n"
        path.write_text(doc)


if __name__ == "__main__":
    main()
