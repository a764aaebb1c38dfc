#!/usr/bin/env python3
"""Codes for vectors: hashret's learned codes against sign binarization, PCA + ITQ and exact
float search, on embeddings given as a corpus.

The vectors (TARGETS.md): Fashion-MNIST pixels as 784-d float vectors, the first 20,000
training images and the first 5,000 test images, written as an ``.npz`` (``x_train``,
``y_train``, ``x_test``, ``y_test``); or any vector corpus given with ``--corpus``. For each
code length it runs ``hashret build CORPUS`` and ``hashret eval`` (test vectors query the
training vectors; relevant = same label; recall@10 of each query's exact cosine top-10),
and prints one table per length, every method from the same run.

  python scripts/bench_vectors.py --bits 32 64
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def fashion_vectors(out: Path, n_train: int, n_test: int) -> Path:
    from hashret import load_dataset
    c = load_dataset("fashion-mnist")
    tr, te = c.indices("train")[:n_train], c.indices("test")[:n_test]

    def flat(rows):
        return np.asarray(c.take(rows)).reshape(len(rows), -1).astype(np.float32) / 255

    def lab(rows):
        return np.array([c.labels[i][0] for i in rows])
    path = out / "fashion-vectors.npz"
    np.savez(path, x_train=flat(tr), y_train=lab(tr), x_test=flat(te), y_test=lab(te))
    return path


def hashret(*args) -> str:
    done = subprocess.run([sys.executable, "-m", "hashret.cli", *map(str, args)],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"hashret {' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="a vector corpus (default: Fashion-MNIST "
                    "pixels as vectors)")
    ap.add_argument("--bits", nargs="+", type=int, default=[32, 64])
    ap.add_argument("--train", type=int, default=20_000)
    ap.add_argument("--test", type=int, default=5_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hashret-vectors-") as tmp:
        corpus = args.corpus or fashion_vectors(Path(tmp), args.train, args.test)
        for bits in args.bits:
            out = Path(tmp) / f"idx{bits}"
            t = time.perf_counter()
            hashret("--quiet", "build", corpus, "--bits", bits, "--out", out)
            built = time.perf_counter() - t
            res = json.loads(hashret("eval", out, "--json"))
            print(f"\n{bits} bits: {res['queries']:,} queries, {res['database']:,} training "
                  f"vectors; build {built:.1f} s")
            print("| method | precision@100 | mAP@1000 | recall@10 |\n|---|---|---|---|")
            for name, m in res["methods"].items():
                print(f"| {name} | {m['precision@100']:.4f} | {m['mAP@1000']:.4f} | "
                      f"{m['recall@10']:.4f} |")


if __name__ == "__main__":
    main()
