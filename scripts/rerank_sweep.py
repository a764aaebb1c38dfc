#!/usr/bin/env python3
"""How many Hamming candidates to re-rank by the asymmetric distance (hashret.search.rerank), on a
validation split (that of ``validation_sweep.py``): precision@10 and @100 of the queries'
Hamming neighbours, and of 3 x k, 10 x k and 1,000 Hamming candidates re-ranked.

  python scripts/rerank_sweep.py --dataset reuters --bits 64
"""

from __future__ import annotations

import json

import numpy as np

from hashret import HashModel
from hashret.eval import hamming_ranking, label_matrix, relevance, scores
from hashret.search.rerank import asymmetric_order

from validation_sweep import corpus_parser, load_corpus, validation_split


def main():
    ap = corpus_parser(__doc__)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    corpus = load_corpus(a)
    queries, db = validation_split(corpus)
    model = HashModel(bits=a.bits, seed=a.seed).fit(corpus, rows=db, progress=False)
    codes_q, logits_q = model.encode(corpus.take(queries))
    codes_db, _ = model.encode(corpus.take(db))
    rel_db, vocab = label_matrix([corpus.labels[i] for i in db])
    rel_q, _ = label_matrix([corpus.labels[i] for i in queries], vocab)

    def precision(ranking, k):
        return round(scores(relevance(ranking, rel_q, rel_db), k)[f"precision@{k}"], 4)

    out = {"corpus": a.corpus or a.dataset, "bits": a.bits}
    for k in (10, 100):
        out[f"P@{k} hamming"] = precision(hamming_ranking(codes_q, codes_db, k), k)
        for n in sorted({min(c, len(db)) for c in (3 * k, 10 * k, 1000)}):
            candidates = hamming_ranking(codes_q, codes_db, n)
            order = asymmetric_order(logits_q, candidates, codes_db)
            out[f"P@{k} re-ranking {n}"] = precision(
                np.take_along_axis(candidates, order, 1)[:, :k], k)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
