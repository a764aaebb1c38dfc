#!/usr/bin/env python3
"""TF-IDF against the all-MiniLM-L6-v2 sentence encoder, and both, as what a document model
reads (``--features``), unsupervised and ``semi`` with a tenth of the labels.

For each setting it builds an index with default settings (seed 0) and runs the protocol of
``hashret eval`` (test documents query the training documents; relevant = shares a label),
printing precision@100 and mAP@1000 beside PCA + ITQ and exact float search on the same
features from the same run, and the sentence encoder's speed. Every build runs in this one
process, so the corpus goes through the sentence encoder once (``hashret.data.sentences``
keeps the vectors of the texts it has embedded).

  python scripts/bench_text_encoder.py --dataset reuters --bits 64
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from hashret import build_index, load_dataset, read_corpus
from hashret.data.sentences import SentenceFeaturizer
from hashret.eval import evaluate_bundle


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="reuters", help="embedded name or corpus path")
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--features", nargs="+", default=["tfidf", "minilm", "tfidf+minilm"])
    ap.add_argument("--models", nargs="+", default=["deep", "semi"])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    corpus = load_dataset(args.dataset) if not Path(args.dataset).exists() else \
        read_corpus(args.dataset)
    if any("minilm" in f for f in args.features):
        t = time.perf_counter()
        SentenceFeaturizer().embed(list(corpus.items), progress=True)
        seconds = time.perf_counter() - t
        print(f"sentence encoder: {len(corpus):,} documents in {seconds:.0f} s "
              f"({len(corpus) / seconds:.1f} documents/s)")
    print("| features | model | P@100 | mAP@1000 | PCA+ITQ mAP | float mAP | build s |\n"
          "|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="hashret-text-encoder-") as tmp:
        for features in args.features:
            for kind in args.models:
                out = Path(tmp) / f"{features}-{kind}"
                options = {"labels_fraction": 0.1} if kind == "semi" else None
                t = time.perf_counter()
                bundle = build_index(corpus, out, bits=args.bits, model=kind,
                                     model_options=options, features=features,
                                     progress=False)
                built = time.perf_counter() - t
                res = evaluate_bundle(bundle, corpus)
                m = res["methods"]
                own = m[f"hashret-{kind}"]
                floats = next(v for k, v in m.items() if k.startswith("float"))
                print(f"| {features} | {kind}{' (10% labels)' if options else ''} | "
                      f"{own['precision@100']:.4f} | {own['mAP@1000']:.4f} | "
                      f"{m['pca-itq']['mAP@1000']:.4f} | {floats['mAP@1000']:.4f} | "
                      f"{built:.0f} |", flush=True)


if __name__ == "__main__":
    main()
