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
from hashret.models.config import CLASSIC_MODEL_KINDS

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
    ap.add_argument("--section", default="quality",
                    help="name of the BENCHMARKS.md section markers to write between")
    ap.add_argument("--no-baselines", action="store_true")
    a = ap.parse_args()

    global BEGIN, END
    BEGIN, END = f"<!-- {a.section}:begin -->", f"<!-- {a.section}:end -->"
    rows = []
    for name in a.datasets:
        corpus = load_dataset(name) if not Path(name).exists() else read_corpus(name)
        label = name if not Path(name).exists() else Path(name).name
        metric = "mAP@1000" if corpus.modality == "image" else "precision@100"
        for bits in a.bits:
            baselines_done = a.no_baselines
            for spec in a.models:
                # "semi@0.1": a semi-supervised model seeing 10% of the training labels
                kind, _, frac = spec.partition("@")
                options = {"labels_fraction": float(frac)} if frac else {}
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    build_index(corpus, Path(tmp) / "idx", bits=bits, model=kind,
                                epochs=a.epochs, device=a.device, seed=a.seed,
                                model_options=options, progress=False)
                    seconds = time.perf_counter() - t
                    bundle = Bundle.load(Path(tmp) / "idx")
                    res = evaluate_bundle(bundle, corpus, baselines=not baselines_done)
                    baselines_done = True
                    build = bundle.manifest["build"]
                    train = build["train"]
                for method, m in res["methods"].items():
                    is_model = method.startswith("hashret")
                    if is_model and frac:
                        method = f"{method} ({float(frac):.0%} labels)"
                    note = f"{train['seconds']:.0f} s ({train['epochs_run']} " \
                           f"{'it' if kind in CLASSIC_MODEL_KINDS else 'ep'})" \
                        if is_model else ""
                    if is_model and build.get("classifier_accuracy") is not None:
                        note += f"; classifier accuracy {build['classifier_accuracy']:.3f}"
                    # mAP over the ranking depth: 1,000, or the whole database if smaller
                    depth, m_ap = next((k, v) for k, v in m.items() if k.startswith("mAP@"))
                    rows.append((label, bits, method, m["precision@100"], m_ap, note, metric))
                    print(f"{label:14} {bits:4} {method:16} P@100 {m['precision@100']:.4f} "
                          f"{depth} {m_ap:.4f}"
                          + (f"  build {seconds:.0f} s" if is_model else ""), flush=True)

    cmd = "python scripts/bench_quality.py " + " ".join(sys.argv[1:])
    lines = [BEGIN, "", f"Command: `{cmd}`  ", f"Seed {a.seed}; machine: {machine()}; "
             f"run {time.strftime('%Y-%m-%d')}.", "",
             "| corpus | bits | method | precision@100 | mAP@1000 (or over a smaller "
             "database) | training time (iterations "
             "or epochs) |",
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
