#!/usr/bin/env python3
"""The colorize model's pull toward gradient-histogram target bits, on a validation split.

  python scripts/colorize_sweep.py DIR/colour.npz [--bits 64] [--weights default 0]

Reads the arrays ``scripts/bench_colorize.py`` writes and uses only their training part: its
last fifth (seeded) is held out and measured, the test part is not read. For each weight of
the code-target term (``default``: ``defaults.code_target_weight``), trains a colorize model
with the other defaults and prints the held-out images' mean ΔE (and the two answers that
need no model), and retrieval by label of held-out grey images among the training ones.
``--squared`` trains on each pixel's squared chroma error (over 2 sigma^2) instead of its
length.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--weights", nargs="+", default=["default", "0"])
    ap.add_argument("--squared", action="store_true")
    a = ap.parse_args()
    if a.squared:
        import hashret.nets.colorize as colorize_net
        sigma = colorize_net.CHROMA_SIGMA / colorize_net.CHROMA_SCALE
        colorize_net.pixel_error = lambda ab, target: \
            ((ab - target) ** 2).sum(1) / (2 * sigma)
    from hashret import HashModel
    from hashret.colorize import colour_errors
    from hashret.eval import label_matrix, scores
    from hashret.search.metrics import hamming_ranking, relevance
    d = np.load(a.data)
    x, y = d["x_train"], d["y_train"]
    order = np.random.default_rng(0).permutation(len(x))
    held, kept = np.sort(order[:len(x) // 5]), np.sort(order[len(x) // 5:])
    for weight in a.weights:
        t = time.perf_counter()
        extra = {} if weight == "default" else {"code_target_weight": float(weight)}
        model = HashModel(kind="colorize", bits=a.bits, **extra).fit(x[kept], progress=False)
        seconds = time.perf_counter() - t
        errors = colour_errors(model, x[kept], x[held])
        codes, _ = model.encode(x)
        lab, _ = label_matrix([[v] for v in y])
        ranking = hamming_ranking(codes[held], codes[kept], 1000)
        quality = scores(relevance(ranking, lab[held], lab[kept]), 100)
        print(json.dumps({"code_target_weight": weight, "squared": a.squared, "dE": errors,
                          "retrieval": {k: round(v, 4) for k, v in quality.items()},
                          "epochs": model.report.epochs_run, "seconds": round(seconds, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
