#!/usr/bin/env python3
"""How far do the labels a `semi` index saw take its test queries?

On the index's test protocol (test documents query the training documents, relevant =
shares a label), with the labelled training documents the model used:

- ``pipeline``: the label pipeline `hashret eval` reports (a logistic regression's class
  probabilities beside 64 principal components), as float vectors (cosine) and as PCA+ITQ
  codes of 64 and 32 bits;
- ``bound``: each query's predicted class probabilities against a database given by every
  training document's **true** labels (cosine): what the queries' side knows, were the
  database perfect. Predicted by the regression, and by the model's own classifier reading
  the query's code.

``--sentence-vectors`` adds the regression on TF-IDF and the documents' MiniLM vectors
(runs the sentence encoder over the corpus).

  python scripts/semi_query_bound.py indexes/reuters-semi [--sentence-vectors]
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import torch

from hashret import Bundle
from hashret.data.sentences import SentenceFeaturizer
from hashret.eval import (MAP_DEPTH, dense_features, float_ranking, label_matrix,
                          pca_itq_encoder, query_rows, scores)
from hashret.search.metrics import hamming_ranking, relevance
from hashret.sources import reopen_corpus
from hashret.training.targets import LabelPipeline, unit_rows
from hashret.training.teacher import label_targets


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", help="a semi index of documents built with a test split")
    ap.add_argument("--sentence-vectors", action="store_true")
    a = ap.parse_args()
    bundle = Bundle.load(a.index)
    corpus, model = reopen_corpus(bundle), bundle.model
    q, db, leave_one_out = query_rows(bundle, "test")
    train = corpus.training_indices()
    config = copy.deepcopy(model.config)
    y, mask = label_targets(config, [corpus.labels[i] for i in train])
    lab, _ = label_matrix(corpus.labels)
    truth, _ = label_matrix(corpus.labels, {c: i for i, c in enumerate(config.learned.classes)})
    everything = np.arange(len(corpus))
    features = {"tfidf": dense_features(model, corpus, everything)}
    if a.sentence_vectors:
        vectors = SentenceFeaturizer().embed([corpus.items[i] for i in everything])
        features["tfidf+minilm"] = np.hstack([features["tfidf"], vectors])

    def report(name, ranking):
        s = scores(relevance(ranking, lab[q], lab[db]), 100)
        print(json.dumps({"method": name, **{k: round(v, 4) for k, v in s.items()}}),
              flush=True)

    def cosine(xq, xdb):
        return float_ranking(unit_rows(xq).astype(np.float32),
                             unit_rows(xdb).astype(np.float32), MAP_DEPTH, "cosine")

    for name, x in features.items():
        pipe = LabelPipeline(x[train][mask], y[mask], bool(config.learned.multilabel), x[train])
        rep = pipe.represent(x)
        report(f"pipeline ({name}), float", cosine(rep[q], rep[db]))
        for bits in (64, 32):
            encode, _ = pca_itq_encoder(rep[db], bits)
            report(f"pipeline ({name}), {bits} bits",
                   hamming_ranking(encode(rep[q]), encode(rep[db]), MAP_DEPTH))
        report(f"bound: regression ({name}) queries, true-label database",
               cosine(pipe.probabilities(x[q]), truth[db].astype(np.float32)))
    logits = np.concatenate([model.encode(items)[1] for _, items in corpus.batches(4096, q)])
    with torch.no_grad():
        out = model.module.eval().class_logits(torch.from_numpy(logits > 0).float())
        p = torch.sigmoid(out) if config.learned.multilabel else torch.softmax(out, 1)
    report(f"bound: the model's classifier on the {bundle.bits}-bit query code, true-label "
           "database", cosine(p.numpy(), truth[db].astype(np.float32)))
    report(f"the index's own codes ({bundle.bits} bits)",
           hamming_ranking(bundle.codes[q], bundle.codes[db], MAP_DEPTH))


if __name__ == "__main__":
    main()
