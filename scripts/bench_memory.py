#!/usr/bin/env python3
"""Peak memory of `hashret encode` on a synthetic image corpus of N items.

  python scripts/bench_memory.py INDEX_DIR --items 1000000

Writes a memory-mapped .npy of N 28x28 images, encodes it to Parquet with the model of
INDEX_DIR (a 28x28 grey image model), and prints the peak resident memory of the process
(ru_maxrss) before and after, so runs at several N show whether memory grows with N.
"""
import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from hashret import Bundle, read_corpus
from hashret.export import encode_corpus_to_parquet


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index")
    ap.add_argument("--items", type=int, default=1_000_000)
    a = ap.parse_args()
    bundle = Bundle.load(a.index)
    h, w, c = bundle.model.featurizer.shape
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.npy"
        arr = np.lib.format.open_memmap(path, "w+", np.uint8, (a.items, h, w))
        rng = np.random.default_rng(0)
        for s in range(0, a.items, 100_000):
            arr[s:s + 100_000] = rng.integers(0, 256, arr[s:s + 100_000].shape, np.uint8)
        arr.flush()
        del arr
        corpus = read_corpus(path)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        encode_corpus_to_parquet(bundle, corpus, Path(tmp) / "o.parquet", progress=False)
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"items": a.items, "peak_rss_mb_before_encode": round(before / 1024),
                      "peak_rss_mb_after_encode": round(after / 1024),
                      "encode_seconds": round(seconds, 1),
                      "items_per_s": round(a.items / seconds)}))


if __name__ == "__main__":
    main()
