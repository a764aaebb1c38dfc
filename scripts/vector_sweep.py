#!/usr/bin/env python3
"""Validation sweep of vector-model settings (docs/studies/2026-12-07-codes-for-vectors.md).

``fashion``: the first 20,000 Fashion-MNIST training images as 784-d vectors; the last
2,000 of them query the first 18,000 (no test image is used). ``clustered``: 4,000
synthetic 48-d vectors around 20 centres, each spread along a 4-d subspace of its own; the
last 500 query the first 3,500. Each setting is a JSON object of HashModel settings
(``options`` for the kind's options); PCA + ITQ at the same length is the reference.
Prints precision@100, mAP@1000 (relevant = same label) and recall@10 of each query's exact
cosine top-10.

  python scripts/vector_sweep.py --set fashion --bits 64 '{}' '{"code_target_weight": 0}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from hashret.data import as_corpus, load_dataset
from hashret.eval import float_ranking, label_matrix, neighbour_recall, pca_itq_encoder
from hashret.models import HashModel
from hashret.models.config import options_for
from hashret.search.metrics import average_precision, hamming_ranking, relevance


def fashion():
    c = load_dataset("fashion-mnist")
    rows = c.indices("train")[:20_000]
    x = np.asarray(c.take(rows)).reshape(len(rows), -1).astype(np.float32)
    return x, [c.labels[i] for i in rows], 18_000


def clustered(n=4000, d=48, clusters=20, rank=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.normal(size=(clusters, d))
    basis = rng.normal(size=(clusters, d, rank))
    lab = rng.integers(0, clusters, n)
    x = centres[lab] + np.einsum("ndr,nr->nd", basis[lab], rng.normal(size=(n, rank))) \
        + 0.3 * rng.normal(size=(n, d))
    return x.astype(np.float32), [[str(v)] for v in lab], 3_500


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=("fashion", "clustered"), default="fashion")
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("settings", nargs="*", default=["{}"])
    args = ap.parse_args()
    x, labels, n_db = fashion() if args.set == "fashion" else clustered()
    q, db = np.arange(n_db, len(x)), np.arange(n_db)
    lab, _ = label_matrix(labels)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    truth = float_ranking(unit[q], unit[db], 10, "cosine")

    def report(name, codes, seconds=None):
        ranking = hamming_ranking(codes[q], codes[db], 1000)
        rel = relevance(ranking, lab[q], lab[db])
        print(f"| {name} | {rel[:, :100].mean():.4f} | {average_precision(rel).mean():.4f} | "
              f"{neighbour_recall(ranking, truth):.4f} |"
              + (f" {seconds:.0f} s |" if seconds else " |"), flush=True)

    print("| setting | P@100 | mAP@1000 | recall@10 | time |\n|---|---|---|---|---|")
    report("PCA + ITQ", pca_itq_encoder(unit[db], args.bits)[0](unit))
    for spec in args.settings:
        kw = json.loads(spec)
        opts = kw.pop("options", None)
        t = time.perf_counter()
        model = HashModel(bits=args.bits, **kw,
                          options=None if opts is None else options_for("deep", opts))
        model.fit(as_corpus(x[db], [labels[i] for i in db]), progress=False)
        report(spec, model.encode(x)[0], time.perf_counter() - t)


if __name__ == "__main__":
    main()
