#!/usr/bin/env python3
"""Peak memory of `hashret encode` on a synthetic image corpus of N items.

  python scripts/bench_memory.py INDEX_DIR --items 1000000

Writes a memory-mapped .npy of N 28x28 images, encodes it to Parquet with the model of
INDEX_DIR (a 28x28 grey image model), and prints the process' anonymous resident memory
(RssAnon: heap, not the pages of the memory-mapped file) before encoding and its peak during
encoding, sampled every 20 ms, so runs at several N show whether memory grows with N.
"""
import argparse
import json
import threading
import tempfile
import time
from pathlib import Path

import numpy as np

from hashret import Bundle, read_corpus
from hashret.export import encode_corpus_to_parquet


def rss_anon_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
        before = rss_anon_mb()
        peak, done = [before], threading.Event()

        def sample():
            while not done.wait(0.02):
                peak.append(rss_anon_mb())
        sampler = threading.Thread(target=sample)
        sampler.start()
        t = time.perf_counter()
        encode_corpus_to_parquet(bundle, corpus, Path(tmp) / "o.parquet", progress=False)
        seconds = time.perf_counter() - t
        done.set()
        sampler.join()
    print(json.dumps({"items": a.items, "rss_anon_mb_before_encode": round(before),
                      "rss_anon_mb_peak_during_encode": round(max(peak)),
                      "encode_seconds": round(seconds, 1),
                      "items_per_s": round(a.items / seconds)}))


if __name__ == "__main__":
    main()
