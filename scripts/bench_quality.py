#!/usr/bin/env python3
"""Retrieval quality benchmark: bits x corpora x {LSH, PCA+ITQ, exact float, hashret models}.

For each corpus and code length, builds a hashret index with default settings (training on
the training split only), evaluates it with the protocol of `hashret eval` (test items query
training items; relevant = shares a label), and writes the table into docs/BENCHMARKS.md
between the quality markers, with the command, seed and machine.

  python scripts/bench_quality.py --datasets reuters fashion-mnist --bits 16 32 64 128
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

from hashret import Bundle, build_index, load_dataset, read_corpus
from hashret.eval import evaluate_bundle
from hashret.models import MODEL_KINDS

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["reuters", "fashion-mnist"],
                    help="embedded dataset names or corpus paths")
    ap.add_argument("--bits", nargs="+", type=int, default=[16, 32, 64, 128])
    ap.add_argument("--models", nargs="+", default=list(MODEL_KINDS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, help="override the derived epoch count")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args()

    rows = []
    for name in a.datasets:
        corpus = load_dataset(name) if not Path(name).exists() else read_corpus(name)
        label = name if not Path(name).exists() else Path(name).name
        metric = "mAP@1000" if corpus.modality == "image" else "precision@100"
        for bits in a.bits:
            baselines_done = False
            for kind in a.models:
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    build_index(corpus, Path(tmp) / "idx", bits=bits, model=kind,
                                epochs=a.epochs, device=a.device, seed=a.seed,
                                progress=False)
                    seconds = time.perf_counter() - t
                    bundle = Bundle.load(Path(tmp) / "idx")
                    res = evaluate_bundle(bundle, corpus, baselines=not baselines_done)
                    baselines_done = True
                    train = bundle.manifest["build"]["train"]
                for method, m in res["methods"].items():
                    is_model = method.startswith("hashret")
                    rows.append((label, bits, method, m["precision@100"], m["mAP@1000"],
                                 f"{train['seconds']:.0f} s ({train['epochs_run']} ep)"
                                 if is_model else "", metric))
                    print(f"{label:14} {bits:4} {method:16} P@100 {m['precision@100']:.4f} "
                          f"mAP@1000 {m['mAP@1000']:.4f}"
                          + (f"  build {seconds:.0f} s" if is_model else ""), flush=True)

    cmd = "python scripts/bench_quality.py " + " ".join(sys.argv[1:])
    lines = [BEGIN, "", f"Command: `{cmd}`  ", f"Seed {a.seed}; machine: {machine()}; "
             f"run {time.strftime('%Y-%m-%d')}.", "",
             "| corpus | bits | method | precision@100 | mAP@1000 | training time |",
             "|---|---|---|---|---|---|"]
    for label, bits, method, p, m, tt, _ in rows:
        lines.append(f"| {label} | {bits} | {method} | {p:.4f} | {m:.4f} | {tt} |")
    lines += ["", END]
    block = "\n".join(lines)
    print(block)
    if not a.no_write:
        text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        if BEGIN in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text,
                          flags=re.S)
        else:
            text += "\n## Retrieval quality\n\n" + block + "\n"
        DOC.write_text(text)


if __name__ == "__main__":
    main()
