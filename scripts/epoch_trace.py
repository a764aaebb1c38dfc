#!/usr/bin/env python3
"""Follow a document model's retrieval epoch by epoch, with and without labels.

The training split is cut as in ``validation_sweep.py`` (a fixed 10%, at most 1,000
documents, queries the other 90%, on which the model trains). After every epoch the
queries' Hamming top-100 among the training documents is scored two ways:

- with labels: precision@100 and mAP@1000 (shared label = relevant);
- without labels, the signals a stopping rule could read: ``overlap_lsa``, the share of the
  top-100 that is also among the query's 100 nearest documents by cosine in the rank-64
  latent semantic space of the training TF-IDF (the space the model's neighbour targets come
  from); ``cosine_lsa`` and ``cosine_tfidf``, the mean cosine between the query and the
  documents its code retrieves, in that space and in raw TF-IDF.

A label-free signal is of use for stopping only if it peaks where the labelled figures do.

  python scripts/epoch_trace.py --dataset reuters --bits 64 --epochs 70
"""

from __future__ import annotations

import json
import time

import faiss
import numpy as np
import torch

from hashret import HashModel
from hashret.eval import hamming_ranking
from hashret.training.neighbours import latent_basis, latent_vectors, torch_sparse

from validation_sweep import corpus_parser, load_documents, retrieval_scores, validation_split

DEPTH = 100
LATENT_RANK = 64


class LabelFreeReference:
    """The queries' nearest training documents by float cosine, to compare codes with."""

    def __init__(self, model: HashModel, queries, database):
        f = model.featurizer
        counts_q, counts_db = model.features(queries), model.features(database)
        basis = latent_basis(f, counts_db, LATENT_RANK)
        self.eq = latent_vectors(f, counts_q, basis)
        self.ed = latent_vectors(f, counts_db, basis)
        wq, xd = f.weight(counts_q), torch_sparse(f.weight(counts_db)).to_sparse_coo()
        index = faiss.IndexFlatIP(basis.shape[1])
        index.add(self.ed)
        self.lsa_top = index.search(self.eq, DEPTH)[1]
        self.tfidf_cos = torch.sparse.mm(xd, torch.from_numpy(wq.toarray()).t()).t().numpy()

    def signals(self, ranking: np.ndarray) -> dict:
        overlap = np.mean([len(np.intersect1d(r, s)) for r, s in zip(ranking, self.lsa_top)])
        return {"overlap_lsa": overlap / DEPTH,
                "cosine_lsa": float(np.einsum("qd,qkd->qk", self.eq, self.ed[ranking]).mean()),
                "cosine_tfidf": float(np.take_along_axis(self.tfidf_cos, ranking, 1).mean())}


def main():
    ap = corpus_parser(__doc__)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--epochs", type=int, help="default: the model's own run length")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    corpus = load_documents(ap, a)
    queries, db = validation_split(corpus)
    q_items, db_items = corpus.take(queries), corpus.take(db)
    q_labels = [corpus.labels[i] for i in queries]
    db_labels = [corpus.labels[i] for i in db]
    reference, started = None, time.perf_counter()

    def trace(model):
        nonlocal reference
        reference = reference or LabelFreeReference(model, q_items, db_items)
        codes_q, _ = model.encode(q_items)
        codes_db, _ = model.encode(db_items)
        p, m = retrieval_scores(codes_q, q_labels, codes_db, db_labels, k=DEPTH)
        row = {"epoch": len(trace.rows) + 1, "val_p@100": p, "val_mAP@1000": m,
               **reference.signals(hamming_ranking(codes_q, codes_db, DEPTH)),
               "seconds": time.perf_counter() - started}
        trace.rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in row.items()}), flush=True)
    trace.rows = []

    HashModel(bits=a.bits, seed=a.seed, epochs=a.epochs).fit(
        corpus, rows=db, progress=False, on_epoch=trace)
    for key in ("val_p@100", "val_mAP@1000", "overlap_lsa", "cosine_lsa", "cosine_tfidf"):
        best = max(trace.rows, key=lambda r: r[key])
        print(f"highest {key}: epoch {best['epoch']} ({best[key]:.4f}); there val_p@100 "
              f"{best['val_p@100']:.4f}, val_mAP@1000 {best['val_mAP@1000']:.4f}")


if __name__ == "__main__":
    main()
