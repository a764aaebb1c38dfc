#!/usr/bin/env python3
"""Colorization on a colour image corpus: ΔE of a colorize model against two answers that
need no model, and the README's picture.

  python scripts/bench_colorize.py CORPUS [--side 32] [--bits 64] [--epochs N]
                                   [--work DIR] [--picture docs/images/colorize.png]

CORPUS is a colour image folder with train/ and test/ parts (e.g. the emoji corpus of
``scripts/prepare_corpora.py emoji``). Its images are scaled to SIDE x SIDE and composited on
white into DIR/colour.npz; ``hashret build --model colorize`` trains on the training part and
``hashret eval`` measures, on the test part's grey versions, the mean per-pixel ΔE (CIE76)
of the model, of each pixel's mean training chroma and of the grey image copied. The picture
shows eight test images: grey input, the model's colours, the original.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def colour_arrays(corpus_dir: Path, side: int):
    """(images, labels, is_test) of an image folder, scaled to side x side RGB on white."""
    from PIL import Image
    from hashret import read_corpus
    corpus = read_corpus(corpus_dir)
    images = []
    for img in corpus.items:
        rgba = Image.fromarray(np.asarray(img)).convert("RGBA").resize((side, side),
                                                                       Image.LANCZOS)
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        images.append(np.asarray(Image.alpha_composite(white, rgba).convert("RGB")))
    labels = np.array([ls[0] if ls else "" for ls in corpus.labels])
    return np.stack(images), labels, np.asarray(corpus.splits) == "test"


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return done.stdout


def picture(index: Path, x_test: np.ndarray, out: Path, n: int = 8, seed: int = 0) -> None:
    """Rows: grey inputs, the model's colours, the originals, for ``n`` test images."""
    from hashret import Bundle
    from hashret.pictures import image_grid, save_png
    from hashret.nets.colorize import lightness
    import torch
    rows = np.sort(np.random.default_rng(seed).permutation(len(x_test))[:n])
    colour = x_test[rows].astype(np.float32) / 255
    grey = lightness(torch.from_numpy(colour).permute(0, 3, 1, 2))[:, 0].numpy()
    # a grey picture of the same lightness: L of a neutral grey is its own value's L
    from hashret.nets.colorize import lab_to_rgb
    lab = torch.zeros(len(rows), 3, *grey.shape[1:])
    lab[:, 0] = torch.from_numpy(grey) * 100
    grey_rgb = lab_to_rgb(lab).permute(0, 2, 3, 1).numpy()
    model = Bundle.load(index).model
    made = model.colorize((grey_rgb * 255).round().astype(np.uint8))
    grid = np.concatenate([grey_rgb, made, colour])
    captions = ["grey input"] + [""] * (n - 1) + ["colorized"] + [""] * (n - 1) + \
        ["original"] + [""] * (n - 1)
    save_png(image_grid(grid, cols=n, captions=captions), out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--side", type=int, default=32)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--work", type=Path, default=Path("indexes/bench-colorize"))
    ap.add_argument("--picture", type=Path)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    data = a.work / "colour.npz"
    x, y, test = colour_arrays(a.corpus, a.side)
    np.savez(data, x_train=x[~test], y_train=y[~test], x_test=x[test], y_test=y[test])
    print(f"{data}: {int((~test).sum()):,} training and {int(test.sum()):,} test images, "
          f"{a.side} x {a.side}", flush=True)
    index = a.work / f"colorize-{a.bits}"
    t = time.perf_counter()
    build = ["hashret", "-q", "build", str(data), "--model", "colorize", "--bits",
             str(a.bits), "--out", str(index)]
    if a.epochs:
        build += ["--epochs", str(a.epochs)]
    run(build)
    seconds = time.perf_counter() - t
    res = json.loads(run(["hashret", "eval", str(index), "--json"]))
    info = json.loads(run(["hashret", "info", str(index), "--json"]))
    report = {"images": res["colour"], "build_seconds": round(seconds, 1),
              "epochs": info["build"]["train"]["epochs_run"],
              "retrieval": {m: {k: v for k, v in r.items() if k != "seconds"}
                            for m, r in res["methods"].items()}}
    print(json.dumps(report, indent=1))
    if a.picture:
        picture(index, x[test], a.picture)
        print(f"wrote {a.picture}")


if __name__ == "__main__":
    sys.exit(main())
