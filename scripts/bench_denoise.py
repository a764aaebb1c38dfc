#!/usr/bin/env python3
"""Denoising benchmark and README pictures.

  python scripts/bench_denoise.py --out indexes/fm-denoising [--pictures docs/images]

Builds (unless ``--out`` already holds one) a 64-bit ``--model denoising`` index on the
Fashion-MNIST IDX folder embedded in the package, writes 50 held-out test images corrupted
with Gaussian noise (sigma 0.3, clipped to [0, 1]) as PNGs, runs ``hashret denoise`` on the
folder, and reports the mean squared error to the clean images of the noisy inputs and of
the denoised outputs. With ``--pictures``, also draws the README's pictures (a query grid,
a before/after denoising strip and a generation grid) with the CLI.
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
from PIL import Image

from hashret.data import read_corpus

DATA = Path(__file__).resolve().parent.parent / "hashret" / "datasets" / "fashion-mnist"


def cli(*args):
    cmd = [sys.executable, "-m", "hashret.cli", *map(str, args)]
    print("$ hashret " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pictures", type=Path)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--sigma", type=float, default=0.3)
    a = ap.parse_args()
    if not (a.out / "manifest.json").exists():
        t = time.perf_counter()
        cli("--quiet", "build", DATA, "--model", "denoising", "--bits", 64, "--out", a.out)
        print(f"build {time.perf_counter() - t:.0f} s", flush=True)
    corpus = read_corpus(DATA)
    test = np.flatnonzero(np.asarray(corpus.splits) == "test")[:a.items]
    clean = np.stack([np.asarray(i)[..., 0] for i in corpus.take(test)]).astype(np.float32) / 255
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + a.sigma * rng.standard_normal(clean.shape), 0, 1)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "noisy", Path(tmp) / "denoised"
        src.mkdir()
        for i, img in enumerate(noisy):
            Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(src / f"{i:03d}.png")
        cli("denoise", a.out, src, dst)
        noisy8 = np.stack([np.asarray(Image.open(src / f"{i:03d}.png")) for i in
                           range(len(test))]).astype(np.float32) / 255
        out = np.stack([np.asarray(Image.open(dst / f"{i:03d}.png")) for i in
                        range(len(test))]).astype(np.float32) / 255
    res = {"items": len(test), "sigma": a.sigma,
           "mse_noisy": round(float(((noisy8 - clean) ** 2).mean()), 5),
           "mse_denoised": round(float(((out - clean) ** 2).mean()), 5)}
    res["ratio"] = round(res["mse_denoised"] / res["mse_noisy"], 3)
    print(json.dumps(res))
    if a.pictures:
        pics = a.pictures
        pics.mkdir(parents=True, exist_ok=True)
        ids = corpus.ids
        cli("query", a.out, "--id", ids[test[0]], "-k", 8, "--grid", pics / "query-grid.png")
        from hashret.pictures import image_grid, save_png
        strip = np.concatenate([clean[:8], noisy8[:8], out[:8]])
        save_png(image_grid(strip, cols=8, tile=56), pics / "denoise.png")
        cli("generate", a.out, "--interpolate", ids[test[0]], ids[test[1]], "--steps", 8,
            "--out", pics / "interpolate.png")
        cli("generate", a.out, "--sample", 8, "--out", pics / "samples.png")


if __name__ == "__main__":
    main()
