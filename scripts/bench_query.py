#!/usr/bin/env python3
"""Query-by-example latency and encoding throughput of a built index.

  python scripts/bench_query.py indexes/reuters [--queries 500]

Measures, on one loaded bundle: single queries by example end to end (featurize, encode,
Hamming search, k=10) with p50/p99 latency; the same for queries by id; batched encoding
throughput of the corpus' own items; and the index file's bytes per item.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from hashret import Retriever
from hashret.sources import reopen_corpus


def percentiles(times):
    t = np.asarray(times) * 1e3
    return {"p50_ms": round(float(np.percentile(t, 50)), 3),
            "p99_ms": round(float(np.percentile(t, 99)), 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("-k", type=int, default=10)
    a = ap.parse_args()
    r = Retriever.load(a.index)
    corpus = reopen_corpus(r.bundle)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(corpus), size=min(a.queries, len(corpus)), replace=False)
    examples = corpus.take(rows)
    r.query(examples[0], a.k)                       # warm-up
    by_example = []
    for ex in examples:
        t = time.perf_counter()
        r.query(ex, a.k)
        by_example.append(time.perf_counter() - t)
    by_id = []
    for row in rows:
        t = time.perf_counter()
        r.query_id(corpus.ids[row], a.k)
        by_id.append(time.perf_counter() - t)
    n = min(len(corpus), 20_000)
    t = time.perf_counter()
    for _, items in corpus.batches(1024, np.arange(n)):
        r.model.encode(items)
    enc = n / (time.perf_counter() - t)
    index_bytes = r.bundle.manifest["files"]["index.faiss"]["size"]
    print(json.dumps({
        "index": a.index, "items": len(corpus), "bits": r.bundle.bits, "k": a.k,
        "query_by_example": percentiles(by_example), "query_by_id": percentiles(by_id),
        "encode_items_per_s": round(enc), "index_bytes_per_item":
            round(index_bytes / len(corpus), 2)}, indent=2))


if __name__ == "__main__":
    main()
