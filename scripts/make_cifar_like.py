#!/usr/bin/env python3
"""Write a synthetic corpus in CIFAR-10's binary layout, to time image builds of that size.

  python scripts/make_cifar_like.py OUT_FOLDER [--train 50000] [--test 10000] [--seed 0]

Writes ``data_batch_1..5.bin``, ``test_batch.bin`` and ``batches.meta.txt``: 32x32 RGB
images, each a linear colour gradient whose direction is set by its class (10 classes,
18 degrees apart) plus Gaussian pixel noise (sigma 30). Such classes are easy to tell apart,
so retrieval figures on it only show that the path works; its use is timing and memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def records(n: int, rng) -> bytes:
    """n CIFAR records: a label byte, then the image channel by channel."""
    labels = rng.integers(0, len(CLASSES), n).astype(np.uint8)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    angle = labels[:, None, None] * np.pi / len(CLASSES)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy                     # (n, 32, 32)
    scale = np.arange(1, 4)[None, :, None, None] / 3                    # one per channel
    img = ramp[:, None] * scale * 200 + rng.normal(0, 30, (n, 3, 32, 32))
    out = np.empty((n, 1 + 3 * 32 * 32), np.uint8)
    out[:, 0] = labels
    out[:, 1:] = np.clip(img, 0, 255).astype(np.uint8).reshape(n, -1)
    return out.tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=50_000)
    ap.add_argument("--test", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    per_file = -(-args.train // 5)
    for k in range(5):
        n = min(per_file, args.train - k * per_file)
        if n > 0:
            (out / f"data_batch_{k + 1}.bin").write_bytes(records(n, rng))
    (out / "test_batch.bin").write_bytes(records(args.test, rng))
    (out / "batches.meta.txt").write_text("\n".join(CLASSES) + "\n")
    print(f"wrote {args.train:,} training and {args.test:,} test images to {out}")


if __name__ == "__main__":
    main()
