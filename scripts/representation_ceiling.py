#!/usr/bin/env python3
"""How well float representations of a document corpus retrieve, before any hashing.

A binary code is at best as label-consistent as the representation it compresses. This
script ranks the database by exact float cosine in several unsupervised representations of
the TF-IDF (the same featurizer the document models use), so a model's Hamming precision can
be read against what bag-of-words similarity itself supports:

- ``tfidf``: the L2-normalised log(1 + tf) * idf vectors;
- ``lsa R``: their truncated SVD of rank R (latent semantic analysis), fitted on the database;
- ``diffused R k a``: the rank-R latent vectors diffused over the k-nearest-neighbour graph of
  the database (``E <- (1 - a) E0 + a P E``, ten rounds, P the row-normalised symmetric
  graph); a query's vector is ``(1 - a) e0 + a`` times the mean of its k nearest database
  items' diffused vectors.

  python scripts/representation_ceiling.py --dataset reuters              # validation split
  python scripts/representation_ceiling.py --corpus docs.jsonl --split test

``--split validation`` (default) queries a fixed 10% of the training split against the
rest, as ``scripts/validation_sweep.py`` does; ``--split test`` queries the test split
against the training split (report only, never choose settings on it).
"""

from __future__ import annotations


import faiss
import numpy as np
import torch

from hashret.eval import label_matrix
from hashret.data.features import TfidfFeaturizer

from label_bound import ranked_scores, unit_rows
from validation_sweep import corpus_parser, load_documents, validation_split


def diffuse(eq, edb, k: int, alpha: float, rounds: int = 10):
    """Latent vectors smoothed over the database's k-nearest-neighbour graph."""
    eq, edb = unit_rows(eq), unit_rows(edb)
    index = faiss.IndexFlatIP(edb.shape[1])
    index.add(np.ascontiguousarray(edb))
    _, nq = index.search(np.ascontiguousarray(eq), k)
    _, nd = index.search(np.ascontiguousarray(edb), k + 1)
    n = len(edb)
    rows = np.repeat(np.arange(n), k)
    cols = nd[:, 1:].ravel()
    # the symmetric k-nearest-neighbour graph, each row normalised to sum to one
    pairs = np.unique(np.concatenate([np.stack([rows, cols]), np.stack([cols, rows])], 1),
                      axis=1)
    degree = np.bincount(pairs[0], minlength=n)
    p = torch.sparse_coo_tensor(torch.from_numpy(pairs),
                                torch.from_numpy(1.0 / degree[pairs[0]]), (n, n),
                                check_invariants=True)
    p = p.to(torch.float32).coalesce()
    e = edb.copy()
    for _ in range(rounds):
        e = (1 - alpha) * edb + alpha * torch.sparse.mm(p, torch.from_numpy(e)).numpy()
    return (1 - alpha) * eq + alpha * e[nq].mean(1), e


def main():
    ap = corpus_parser(__doc__)
    ap.add_argument("--split", choices=("validation", "test"), default="validation")
    ap.add_argument("--ranks", type=int, nargs="+", default=[16, 32, 48, 64, 128, 256])
    ap.add_argument("--k", type=int, default=100)
    a = ap.parse_args()
    corpus = load_documents(ap, a)
    if a.split == "validation":
        queries, db = validation_split(corpus)
    else:
        queries, db = corpus.indices("test"), corpus.indices("train")
        if not len(queries):
            ap.error("the corpus has no test split; use --split validation")
    rel_db, vocab = label_matrix([corpus.labels[i] for i in db])
    rel_q, _ = label_matrix([corpus.labels[i] for i in queries], vocab)
    featurizer = TfidfFeaturizer().fit(corpus.take(db))

    def weighted(rows):
        return featurizer.weight(featurizer.transform(corpus.take(rows))).toarray()

    xq, xdb = weighted(queries), weighted(db)
    print(f"{len(queries)} queries, {len(db)} database documents, "
          f"{featurizer.n_features} terms ({a.split} split)")

    def show(name, eq, edb):
        s = ranked_scores(eq, edb, rel_q, rel_db, a.k)
        print(f"{name:28s} " + "  ".join(f"{k.replace('precision', 'P')} {v:.4f}"
                                         for k, v in s.items()), flush=True)

    show("tfidf", xq, xdb)
    ranks = [r for r in a.ranks if r < min(len(db), featurizer.n_features)]
    torch.manual_seed(0)
    _, _, v = torch.svd_lowrank(torch.from_numpy(xdb), q=min(max(ranks) + 10, len(db)),
                                niter=6)
    v = v.numpy()
    for r in ranks:
        show(f"lsa {r}", xq @ v[:, :r], xdb @ v[:, :r])
    r = 64 if 64 in ranks else ranks[-1]
    for k in (10, 20):
        for alpha in (0.5, 0.8):
            show(f"diffused {r} k={k} a={alpha}", *diffuse(xq @ v[:, :r], xdb @ v[:, :r],
                                                          k, alpha))


if __name__ == "__main__":
    main()
