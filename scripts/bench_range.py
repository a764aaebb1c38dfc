#!/usr/bin/env python3
"""Range search ("every item within r bits") at scale: the exact flat scan, ``hash`` (probe
every address of the Hamming ball), ``mih`` (multi-index hashing) and faiss'
``IndexBinaryHash`` on synthetic 64-bit codes.

  python scripts/bench_range.py --sizes 100000 1000000 10000000 [--radii 0 1 2 4 6]

Data as ``bench_speed.py`` (seeded ``random`` and ``clustered`` codes; 1,000 fresh queries).
Per size, data, method and radius: single-query p50 / p99 latency in ms (200 queries, one at
a time, through the Python API), batched throughput over the 1,000 queries (best of three
runs), and the mean number of items found. Every method's results are checked against the
flat scan's (same items, same distances). faiss' ``IndexBinaryHash(64, 24)`` (whose range
search keeps distances below its radius, so it is asked for r + 1) probes the 24-bit
prefixes within ``nflip`` = r of the query's, which is exact only for r <= 2 here, so it
runs there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed import make_codes, single_latency  # noqa: E402

from hashret.search.index import BinaryCodeIndex  # noqa: E402


def faiss_hash(db, prefix_bits, nflip):
    import faiss
    fi = faiss.IndexBinaryHash(db.shape[1] * 8, prefix_bits)
    fi.nflip = nflip
    fi.add(db)

    def search(q, r):
        lims, d, i = fi.range_search(q, r + 1)      # faiss keeps distances < radius
        return [(d[lims[j]:lims[j + 1]], i[lims[j]:lims[j + 1]]) for j in range(len(q))]
    return search


def same(found, truth):
    for (d, i), (td, ti) in zip(found, truth):
        order = np.lexsort((i, d))
        if not (np.array_equal(np.asarray(i)[order], ti)
                and np.array_equal(np.asarray(d)[order], td)):
            return False
    return True


def bench_one(data, n, radii, methods, queries_n, seed):
    centres = np.random.default_rng(seed).integers(0, 2**64, 4096, dtype=np.uint64)
    db = make_codes(data, n, seed + 1, centres)
    queries = make_codes(data, queries_n, seed + 2, centres)
    flat = BinaryCodeIndex.build(db)
    truth = {r: flat.range_search(queries, r) for r in radii}
    rows = []
    for method in methods:
        t = time.perf_counter()
        if method == "faiss IndexBinaryHash":
            searches = {r: faiss_hash(db, 24, r) for r in radii if r <= 2}
        else:
            index = flat if method == "flat" else BinaryCodeIndex.build(db, kind=method)
            searches = {r: index.range_search for r in radii}
        build_s = time.perf_counter() - t
        for r, search in searches.items():
            search(queries[:4], r)                                     # warm up
            times = []
            for _ in range(3):                  # best of three: one batch takes milliseconds
                t = time.perf_counter()
                found = search(queries, r)
                times.append(time.perf_counter() - t)
            qps = len(queries) / min(times)
            assert same(found, truth[r]), f"{method} radius {r} differs from the scan"
            p50, p99 = single_latency(search, queries, r)
            row = {"data": data, "n": n, "method": method, "radius": r,
                   "build_s": round(build_s, 2), "p50_ms": p50, "p99_ms": p99,
                   "qps": round(qps, 1),
                   "mean_found": round(float(np.mean([len(x[1]) for x in truth[r]])), 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--data", nargs="+", default=["random", "clustered"])
    ap.add_argument("--radii", type=int, nargs="+", default=[0, 1, 2, 4, 6])
    ap.add_argument("--methods", nargs="+",
                    default=["flat", "hash", "mih", "faiss IndexBinaryHash"])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        for data in args.data:
            rows += bench_one(data, n, args.radii, args.methods, args.queries, args.seed)
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    print("| data | n | method | radius | p50 ms | p99 ms | queries/s | mean found |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['n']:,} | {r['method']} | {r['radius']} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['qps']:,} | {r['mean_found']} |")


if __name__ == "__main__":
    main()
