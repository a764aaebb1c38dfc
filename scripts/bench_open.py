#!/usr/bin/env python3
"""What it costs to open an index: with every file hashed (the default) and with sizes and
the index file only (an index built with --no-verify-on-open).

  python scripts/bench_open.py indexes/reuters indexes/fm64
  python scripts/bench_open.py --synthetic 10000000 --out /tmp/big

``--synthetic N`` first writes an index of N random 64-bit codes (with their float
embeddings and an item table, as a build writes them) around a small linear model of the
embedded Reuters corpus, to measure the open at a size no embedded corpus has. Each figure is
the best of --repeats opens with the files in the page cache (a first open after a reboot
also reads them from disk). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def synthetic_index(n: int, out: Path) -> Path:
    from hashret import HashModel, load_dataset
    from hashret.bundle import Bundle
    from hashret.items import ItemColumns
    from hashret.data import limit_rows
    from hashret.search.index import BinaryCodeIndex
    model = HashModel(kind="linear", bits=64).fit(limit_rows(load_dataset("reuters"), 500),
                                                  progress=False)
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((n, 64), dtype=np.float32)
    codes = np.packbits(emb > 0, axis=1, bitorder="little")
    items = ItemColumns(list(range(n)), [[] for _ in range(n)], ["train"] * n, [""] * n)
    index = BinaryCodeIndex.build(codes)
    Bundle.write(out, model, codes, emb, items, index, {"source": f"{n:,} random codes"})
    return out


def time_open(path: Path, repeats: int) -> dict:
    from hashret.bundle import Bundle
    out = {"index": str(path), "items": Bundle.read_manifest(path)["counts"]["items"],
           "bytes": sum(f.stat().st_size for f in path.iterdir())}
    for name, verify in (("hashed_s", True), ("sizes_only_s", False)):
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            Bundle.load(path, verify=verify, with_model=False)
            best = min(best, time.perf_counter() - t)
        out[name] = round(best, 3)
    out["hashing_gb_per_s"] = round(out["bytes"] / 1e9 / max(out["hashed_s"] - out["sizes_only_s"],
                                                               1e-9), 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("indexes", nargs="*", type=Path)
    ap.add_argument("--synthetic", type=int, help="also write and open an index of N codes")
    ap.add_argument("--out", type=Path, default=Path("indexes/synthetic-open"))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    paths = list(a.indexes)
    if a.synthetic:
        t = time.perf_counter()
        paths.append(synthetic_index(a.synthetic, a.out))
        print(f"wrote {a.out} in {time.perf_counter() - t:.1f} s", flush=True)
    print("| index | items | files (MB) | open, every file hashed (s) | open, sizes only (s) "
          "| hashing (GB/s) |")
    print("|---|---|---|---|---|---|")
    for p in paths:
        r = time_open(p, a.repeats)
        print(f"| {r['index']} | {r['items']:,} | {r['bytes'] / 1e6:,.1f} | {r['hashed_s']} | "
              f"{r['sizes_only_s']} | {r['hashing_gb_per_s']} |", flush=True)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
