#!/usr/bin/env python3
"""How far can a fraction of the labels take document retrieval, before any hashing?

On the validation split of `validation_sweep.py` (10% of the training documents query the
other 90%; relevant = shares a label), each method below predicts a distribution over the
labels for every query and database document, and documents are ranked by the cosine
between those distributions. The precision@100 this gives is what codes that encode the
predicted labels perfectly could reach; a `semi` model's codes come from the same labels.

- ``tfidf-cosine``: no labels, exact float TF-IDF cosine (the reference);
- ``linear-F``: a softmax classifier on the TF-IDF vectors, trained on a seeded random
  fraction F of the labelled database documents (full batch, Adam, 400 steps), for a few
  weight decays;
- ``spreading-F``: label spreading (Zhou et al. 2003) of the same labels over the database's
  k-nearest-neighbour TF-IDF graph; a query takes the similarity-weighted mean of its k
  nearest database documents' spread distributions.

  python scripts/label_bound.py --dataset reuters --fractions 0.1 1

The TF-IDF matrix is held dense, so this is for corpora of tens of thousands of documents.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validation_sweep import corpus_parser, load_documents, validation_split  # noqa: E402

from hashret.eval import MAP_DEPTH, float_ranking, label_matrix, relevance, scores  # noqa: E402
from hashret.data.features import TfidfFeaturizer  # noqa: E402


def unit_rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12),
                                np.float32)


def ranked_scores(e_q, e_db, y_q, y_db, k: int = 100) -> dict:
    """precision@k and mAP (to rank 1,000, or the whole database when it is smaller) of
    ranking the rows of ``e_db`` by cosine to each row of ``e_q``."""
    ranked = float_ranking(unit_rows(e_q), unit_rows(e_db), min(MAP_DEPTH, len(e_db)),
                           "cosine")
    s = scores(relevance(ranked, y_q, y_db), k)
    return {name: round(v, 4) for name, v in s.items()}


def top_label_accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return round(float(y[np.arange(len(y)), p.argmax(1)].mean()), 4)


def linear_classifier(x_lab, y_lab, weight_decay, steps=400, seed=0):
    """Softmax regression on the labelled rows; targets are the label sets made uniform."""
    torch.manual_seed(seed)
    x = torch.from_numpy(x_lab)
    y = torch.from_numpy(y_lab.astype(np.float32))
    y = y / y.sum(1, keepdim=True)
    lin = torch.nn.Linear(x.shape[1], y.shape[1])
    opt = torch.optim.Adam(lin.parameters(), lr=0.01, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        (-(torch.log_softmax(lin(x), 1) * y).sum(1).mean()).backward()
        opt.step()

    @torch.no_grad()
    def predict(z):
        return torch.softmax(lin(torch.from_numpy(z)), 1).numpy()
    return predict


def knn(x_q, x_db, k, exclude_self=False):
    import faiss
    index = faiss.IndexFlatIP(x_db.shape[1])
    index.add(x_db)
    sim, ids = index.search(x_q, k + int(exclude_self))
    if exclude_self:
        sim, ids = sim[:, 1:], ids[:, 1:]
    return np.maximum(sim, 0), ids


def label_spreading(x_db, y_seed, k, alpha=0.9, iterations=50):
    """F <- alpha S F + (1 - alpha) Y on the symmetric, normalised k-NN graph."""
    n = len(x_db)
    sim, ids = knn(x_db, x_db, k, exclude_self=True)
    rows = np.repeat(np.arange(n), k)
    idx = torch.from_numpy(np.stack([np.concatenate([rows, ids.ravel()]),
                                     np.concatenate([ids.ravel(), rows])]))
    w = torch.sparse_coo_tensor(idx, torch.from_numpy(np.tile(sim.ravel(), 2)), (n, n),
                                check_invariants=True).coalesce()
    deg = torch.sparse.sum(w, 1).to_dense().clamp_min(1e-12).rsqrt()
    i, v = w.indices(), w.values()
    s = torch.sparse_coo_tensor(i, v * deg[i[0]] * deg[i[1]], (n, n), check_invariants=True)
    y0 = torch.from_numpy(y_seed)
    f = y0.clone()
    for _ in range(iterations):
        f = alpha * torch.sparse.mm(s, f) + (1 - alpha) * y0
    f = f.numpy()
    return f / np.maximum(f.sum(1, keepdims=True), 1e-12)


def main():
    ap = corpus_parser(__doc__)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    ap.add_argument("--weight-decays", type=float, nargs="+", default=[0.0, 1e-5, 1e-4])
    ap.add_argument("--neighbours", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    corpus = load_documents(ap, a)
    queries, db = validation_split(corpus)
    feat = TfidfFeaturizer().fit([corpus.items[i] for i in db])

    def tfidf(rows):
        return feat.weight(feat.transform([corpus.items[i] for i in rows])).toarray()
    x_q, x_db = tfidf(queries), tfidf(db)
    y_db, vocab = label_matrix([corpus.labels[i] for i in db])
    y_q, _ = label_matrix([corpus.labels[i] for i in queries], vocab)

    def report(method, **fields):
        print(json.dumps({"method": method, **fields}), flush=True)

    report("tfidf-cosine", **ranked_scores(x_q, x_db, y_q, y_db))
    labelled = np.flatnonzero(y_db.any(1))
    rng = np.random.default_rng(a.seed)
    for frac in a.fractions:
        keep = np.sort(rng.choice(labelled, max(1, round(frac * len(labelled))), replace=False))
        for wd in a.weight_decays:
            predict = linear_classifier(x_db[keep], y_db[keep], wd)
            p_q, p_db = predict(x_q), predict(x_db)
            report(f"linear-{frac:g}", weight_decay=wd, labelled=len(keep),
                   query_top_label_accuracy=top_label_accuracy(p_q, y_q),
                   **ranked_scores(p_q, p_db, y_q, y_db))
        seed = np.zeros(y_db.shape, np.float32)
        seed[keep] = y_db[keep] / y_db[keep].sum(1, keepdims=True)
        for k in a.neighbours:
            f_db = label_spreading(x_db, seed, k)
            sim, ids = knn(x_q, x_db, k)
            f_q = (sim[:, :, None] * f_db[ids]).sum(1)
            report(f"spreading-{frac:g}", neighbours=k, labelled=len(keep),
                   query_top_label_accuracy=top_label_accuracy(f_q, y_q),
                   **ranked_scores(f_q, f_db, y_q, y_db))


if __name__ == "__main__":
    main()
