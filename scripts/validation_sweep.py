#!/usr/bin/env python3
"""Choose model defaults on a validation split, never on the test split.

The training split of a corpus is cut in two: 90% trains the model and is the database,
10% (at most 1,000 items) queries it. Precision@100 (shared label = relevant) is printed for
each setting given on the command line, so defaults can be compared without touching the
test split.

  python scripts/validation_sweep.py --dataset reuters --bits 64 --set kl_weight=0.1,1
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

from hashret import HashModel, load_dataset, read_corpus
from hashret.data import limit_rows
from hashret.eval import MAP_DEPTH, hamming_ranking, label_matrix, relevance, scores


def retrieval_scores(codes_q, labels_q, codes_db, labels_db, k=100):
    """precision@k and mAP@1000 (over the whole database when it is smaller) of the
    queries' Hamming rankings (shared label = relevant), as ``(precision, map)``."""
    db, vocab = label_matrix(labels_db)
    q, _ = label_matrix(labels_q, vocab)
    depth = min(MAP_DEPTH, len(codes_db))
    s = scores(relevance(hamming_ranking(codes_q, codes_db, depth), q, db), k)
    return s[f"precision@{k}"], s[f"mAP@{depth}"]


def validation_split(corpus):
    """(queries, database) rows: a fixed random 10% (at most 1,000) of the training split
    queries the other 90%, on which the models are trained."""
    train = corpus.training_indices()
    perm = np.random.default_rng(1234).permutation(train)
    n_q = min(1000, len(train) // 10)
    return np.sort(perm[:n_q]), np.sort(perm[n_q:])


def corpus_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the corpus options of the validation scripts: ``--dataset``
    (an embedded corpus) or ``--corpus`` (any file or folder hashret reads), one of them."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="an embedded corpus: reuters or fashion-mnist")
    which.add_argument("--corpus", help="a corpus file or folder")
    return ap


def load_corpus(args):
    """The corpus the parsed ``args`` of :func:`corpus_parser` name."""
    return load_dataset(args.dataset) if args.dataset else read_corpus(args.corpus)


def load_documents(parser: argparse.ArgumentParser, args):
    """:func:`load_corpus` for a script that measures document corpora only: another one
    ends the script with a usage error."""
    corpus = load_corpus(args)
    if corpus.modality != "text":
        parser.error("the corpus holds images; this script measures document corpora")
    return corpus


def parse_value(v: str):
    """A ``--set`` value: true / false, a number, a list of integers written ``a/b/c``
    (``channels=32/64/64``), else the string."""
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    if "/" in v and all(p.isdigit() for p in v.split("/")):
        return [int(p) for p in v.split("/")]
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def main():
    ap = corpus_parser(__doc__)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[],
                    help="name=v1,v2 (a ModelConfig field or options.NAME; a list as a/b/c); "
                    "repeat to combine")
    a = ap.parse_args()
    corpus = load_corpus(a)
    corpus = limit_rows(corpus, a.limit, a.seed)
    queries, db = validation_split(corpus)
    grid = [[(k, parse_value(v)) for v in vs.split(",")] for k, vs in
            (s.split("=", 1) for s in a.set)]
    for combo in itertools.product(*grid) if grid else [()]:
        settings, options = {}, {}
        for k, v in combo:
            (options if k.startswith("options.") else settings)[k.removeprefix("options.")] = v
        t = time.perf_counter()
        model = HashModel(bits=a.bits, seed=a.seed, options=options, **settings)
        model.fit(corpus, rows=db, progress=False)
        codes_q, _ = model.encode(corpus.take(queries))
        codes_db, _ = model.encode(corpus.take(db))
        s = retrieval_scores(codes_q, [corpus.labels[i] for i in queries], codes_db,
                             [corpus.labels[i] for i in db])
        print(json.dumps({"settings": dict(combo), "bits": a.bits,
                          "val_p@100": round(s[0], 4),
                          "val_mAP@1000": round(s[1], 4),
                          "epochs": model.report.epochs_run,
                          "best_epoch": model.report.best_epoch,
                          "kept_epoch": model.report.kept_epoch,
                          "seconds": round(time.perf_counter() - t, 1)}), flush=True)


if __name__ == "__main__":
    main()
