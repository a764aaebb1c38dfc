#!/usr/bin/env python3
"""GPU check: training on CUDA and exact flat search with faiss' GpuIndexBinaryFlat.

Run on a machine with a CUDA GPU, torch built with CUDA and faiss-gpu:

  python scripts/gpu_check.py --out /tmp/gpu-check --sizes 1000000 10000000

1. Search: random and clustered 64-bit codes; ``BinaryCodeIndex.build(codes, kind="flat",
   gpu=1)`` against the CPU flat index on the same codes. Distances must be identical; every
   returned id must sit at its returned distance; ids closer than the k-th distance must be
   the same sets. Reports batched throughput and single-query p50/p99 for both.
2. Training: ``build_index`` of each corpus (default: the embedded Reuters) at 64 bits with
   ``device="cuda"``; reports training time, the device the report names, precision@100 /
   mAP@1000 by the eval protocol, and `hashret check` on the bundle (the CPU re-encodes a
   sample of items and must reproduce the codes trained on the GPU).

Prints one summary table last and writes every figure to OUT/gpu_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

DEVICE = "cuda"


def log(*a):
    print(*a, flush=True)


def machine() -> dict:
    import faiss
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f
                        if ln.startswith("model name")), cpu)
    except OSError:
        pass
    faiss_check = None
    if torch.cuda.is_available():
        from hashret.search.gpu import FaissGpuScan, faiss_has_gpu
        if faiss_has_gpu():
            codes = make_codes(10000, 8, False, seed=3)
            faiss_check = FaissGpuScan(codes).works(codes)
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "faiss": faiss.__version__, "faiss_gpus": faiss.get_num_gpus(),
            "faiss_gpu_self_check_passed": faiss_check}


def make_codes(n, nbytes, clustered, seed):
    rng = np.random.default_rng(seed)
    if not clustered:
        return rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    centres = rng.integers(0, 256, (4096, nbytes), dtype=np.uint8)
    codes = centres[rng.integers(0, len(centres), n)]
    flips = np.unpackbits(codes, axis=1)
    noise = rng.random(flips.shape, dtype=np.float32) < 0.08    # ~5 of 64 bits flipped
    return np.packbits(flips ^ noise, axis=1)


def true_distances(codes, queries, ids):
    """Hamming distance of each (query, id) pair, by numpy, to check returned ids."""
    x = np.bitwise_xor(queries[:, None, :], codes[np.maximum(ids, 0)])
    return np.unpackbits(x, axis=2).sum(axis=2)


def timed(fn, reps=3):
    best = float("inf")
    out = None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def search_check(n, clustered, nq, ks):
    from hashret.search.index import BinaryCodeIndex
    codes = make_codes(n, 8, clustered, seed=1)
    queries = make_codes(nq, 8, clustered, seed=2)
    rows = []
    t = time.perf_counter()
    cpu = BinaryCodeIndex.build(codes, kind="flat")
    cpu_build = time.perf_counter() - t
    t = time.perf_counter()
    gpu = BinaryCodeIndex.build(codes, kind="flat", gpu=1)
    gpu_build = time.perf_counter() - t
    for k in ks:
        gpu.search(queries[:64], k)                            # warm-up
        cpu.search(queries[:64], k)
        (gd, gi), gt = timed(lambda k=k: gpu.search(queries, k), reps=2)
        (cd, ci), ct = timed(lambda k=k: cpu.search(queries, k), reps=1 if n >= 10**7 else 2)
        same_dist = bool(np.array_equal(gd, cd))
        sample = slice(0, min(nq, 500))
        ids_at_dist = bool(np.array_equal(true_distances(codes, queries[sample], gi[sample]),
                                          gd[sample]))
        inner_same = True
        for r in range(min(nq, 2000)):
            kth = gd[r, -1]
            if set(gi[r][gd[r] < kth]) != set(ci[r][cd[r] < kth]):
                inner_same = False
                break
        lat = {}
        for name, ix in (("gpu", gpu), ("cpu", cpu)):
            ts = []
            for i in range(200):
                t = time.perf_counter()
                ix.search(queries[i:i + 1], k)
                ts.append(time.perf_counter() - t)
            lat[name] = (float(np.percentile(ts, 50) * 1e3), float(np.percentile(ts, 99) * 1e3))
        row = {"n": n, "codes": "clustered" if clustered else "random", "k": k, "queries": nq,
               "gpu_qps": nq / gt, "cpu_qps": nq / ct, "gpu_p50_ms": lat["gpu"][0],
               "gpu_p99_ms": lat["gpu"][1], "cpu_p50_ms": lat["cpu"][0],
               "cpu_p99_ms": lat["cpu"][1], "identical_distances": same_dist,
               "ids_at_their_distance": ids_at_dist, "same_ids_inside_kth": inner_same,
               "gpu_build_s": gpu_build, "cpu_build_s": cpu_build}
        log(json.dumps(row))
        rows.append(row)
    return rows


def block_check(n, nq, k, blocks):
    """Throughput of the torch GPU scan at several step sizes (query x code pairs)."""
    from hashret.search import gpu
    codes = make_codes(n, 8, False, seed=1)
    queries = make_codes(nq, 8, False, seed=2)
    scan = gpu.TorchHammingScan(codes, "cuda")
    rows = []
    for b in blocks:
        gpu._BLOCK_ELEMENTS = b
        scan.knn(queries[:64], k)
        _, t = timed(lambda: scan.knn(queries, k))
        rows.append({"n": n, "k": k, "block_elements": b, "qps": nq / t})
        log(json.dumps(rows[-1]))
    gpu._BLOCK_ELEMENTS = 1 << 26
    return rows


def train_check(dataset, bits, out):
    from hashret import build_index, load_dataset
    from hashret.check import check_bundle
    from hashret.eval import evaluate_bundle
    corpus = load_dataset(dataset)
    dest = Path(out) / f"{dataset}-{bits}"
    t = time.perf_counter()
    bundle = build_index(corpus, dest, bits=bits, device=DEVICE, progress=False)
    wall = time.perf_counter() - t
    b = bundle.manifest["build"]
    res = evaluate_bundle(bundle, corpus, k=100, baselines=False)
    problems, _notes = check_bundle(dest)
    row = {"dataset": dataset, "bits": bits, "device": b["train"]["device"],
           "fit_seconds": b["fit_seconds"], "epochs": b["train"].get("epochs_run"),
           "build_wall_s": wall, "encode_items_per_s": b["items_per_second_encode"],
           "quality": res["methods"], "check_problems": problems}
    log(json.dumps(row, default=str))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", nargs="+", type=int, default=[10**6, 10**7])
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--ks", nargs="+", type=int, default=[10, 100])
    ap.add_argument("--datasets", nargs="*", default=["reuters"])
    ap.add_argument("--bits", type=int, default=64)
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "search": [], "blocks": [], "train": [], "errors": []}
    log(json.dumps(report["machine"]))

    def save():
        Path(args.out, "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))

    for n in args.sizes:
        for clustered in (False, True):
            try:
                report["search"] += search_check(n, clustered, args.queries, args.ks)
            except Exception as e:  # noqa: BLE001 -- keep the other figures
                report["errors"].append(f"search n={n}: {type(e).__name__}: {e}")
                log(report["errors"][-1])
            save()
    try:
        report["blocks"] = block_check(max(args.sizes), args.queries, 100,
                                       [1 << 24, 1 << 26, 1 << 28])
    except Exception as e:  # noqa: BLE001 -- keep the other figures
        report["errors"].append(f"blocks: {type(e).__name__}: {e}")
    save()
    for ds in args.datasets:
        try:
            report["train"].append(train_check(ds, args.bits, args.out))
        except Exception as e:  # noqa: BLE001 -- keep the other figures
            report["errors"].append(f"train {ds}: {type(e).__name__}: {e}")
            log(report["errors"][-1])
        save()
    log("\n| n | codes | k | GPU q/s | CPU q/s | GPU p50 ms | CPU p50 ms | same distances |")
    log("|---|---|---|---|---|---|---|---|")
    for r in report["search"]:
        log(f"| {r['n']:,} | {r['codes']} | {r['k']} | {r['gpu_qps']:,.0f} | {r['cpu_qps']:,.0f}"
            f" | {r['gpu_p50_ms']:.3f} | {r['cpu_p50_ms']:.3f} | {r['identical_distances']}"
            f"/{r['ids_at_their_distance']}/{r['same_ids_inside_kth']} |")
    for r in report["train"]:
        log(f"train {r['dataset']} {r['bits']} bits on {r['device']}: fit {r['fit_seconds']} s, "
            f"quality {r['quality']}, check problems {r['check_problems']}")
    for e in report["errors"]:
        log("ERROR", e)


if __name__ == "__main__":
    main()
