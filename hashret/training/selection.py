"""Scores of how well a document model's codes retrieve, to choose the epoch it keeps.

A document model's validation loss does not follow its retrieval: an unsupervised one's goes
on falling as the model fits the training documents' own words, or turns up while retrieval
still improves; a semi-supervised one's holds the classifier's, which turns up once the
classifier fits its few labelled documents. What is measured instead is retrieval itself:
held-out documents query training documents by Hamming distance, and

- :class:`RetrievalAgreement` (no labels) scores the mean cosine, in the latent semantic
  space the model's neighbour targets come from, between each query and the documents
  ranked in its top ``depth``;
- :class:`LabelledRetrieval` (the labels a semi-supervised model is given) scores the mean
  average precision of the labelled held-out documents querying the labelled training
  documents, a document being relevant when it shares a label with the query.

A run whose score has not risen for a while stops and returns to its highest epoch
(defaults.EPOCH_CHOICE; docs/studies/2026-12-01-choosing-the-epoch-without-labels.md, "Stopping
`semi` document models by labelled retrieval")."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import defaults
from ..data.features import take_rows
from ..search.bits import pack_bits
from ..search.metrics import average_precision, hamming_ranking, relevance
from .neighbours import latent_basis, latent_vectors


def hamming_top(logits: Callable[[np.ndarray], np.ndarray], query_rows: np.ndarray,
                database_rows: np.ndarray, depth: int) -> np.ndarray:
    """Positions in ``database_rows`` of each query row's ``depth`` nearest by Hamming
    distance between the codes ``logits(rows) > 0``."""
    return hamming_ranking(pack_bits(logits(query_rows) > 0),
                           pack_bits(logits(database_rows) > 0), depth)


class _HeldOutRetrieval:
    """Held-out rows querying training rows by Hamming distance to a ``depth``, each row
    with its data (latent vectors, or labels)."""

    needs = "data"

    def __init__(self, query_rows: np.ndarray, query_data: np.ndarray,
                 database_rows: np.ndarray, database_data: np.ndarray, depth: int):
        if len(query_rows) != len(query_data) or len(database_rows) != len(database_data):
            raise ValueError(f"{self.needs} are needed for every query and database row")
        self.query_rows = np.asarray(query_rows, np.int64)
        self.database_rows = np.asarray(database_rows, np.int64)
        self.depth = max(1, min(int(depth), len(database_rows)))


class RetrievalAgreement(_HeldOutRetrieval):
    """Scores codes by the mean latent-space cosine between queries and what they retrieve.

    ``query_vectors`` / ``database_vectors`` are the unit latent vectors of the rows
    ``query_rows`` / ``database_rows`` (row numbers the caller's ``logits`` function takes).
    """

    name = "retrieval agreement"
    needs = "latent vectors"

    def __init__(self, query_rows: np.ndarray, query_vectors: np.ndarray,
                 database_rows: np.ndarray, database_vectors: np.ndarray, depth: int):
        super().__init__(query_rows, query_vectors, database_rows, database_vectors, depth)
        self.query_vectors = np.ascontiguousarray(query_vectors, np.float32)
        self.database_vectors = np.ascontiguousarray(database_vectors, np.float32)

    def score(self, logits: Callable[[np.ndarray], np.ndarray]) -> float:
        """The mean cosine for the codes ``logits(rows) > 0`` of the model as it is now."""
        top = hamming_top(logits, self.query_rows, self.database_rows, self.depth)
        return float(np.einsum("qd,qkd->qk", self.query_vectors,
                               self.database_vectors[top]).mean())


class LabelledRetrieval(_HeldOutRetrieval):
    """Scores codes by the mean average precision, over the top ``depth``, of labelled
    held-out items querying labelled training items (relevant: sharing a label).

    ``query_labels`` / ``database_labels`` are boolean (n, classes) label matrices of the
    rows ``query_rows`` / ``database_rows``.
    """

    name = "labelled retrieval mAP"
    needs = "labels"

    def __init__(self, query_rows: np.ndarray, query_labels: np.ndarray,
                 database_rows: np.ndarray, database_labels: np.ndarray, depth: int):
        super().__init__(query_rows, query_labels, database_rows, database_labels, depth)
        self.query_labels = np.asarray(query_labels, bool)
        self.database_labels = np.asarray(database_labels, bool)

    def score(self, logits: Callable[[np.ndarray], np.ndarray]) -> float:
        """The mean average precision for the codes ``logits(rows) > 0`` of the model as it
        is now (AP normalised by the relevant items retrieved within the depth)."""
        top = hamming_top(logits, self.query_rows, self.database_rows, self.depth)
        return float(average_precision(
            relevance(top, self.query_labels, self.database_labels)).mean())


def epoch_scorer(model, choice: str, feats, tr: np.ndarray, val: np.ndarray, basis,
                 supervision):
    """The score that chooses the epoch a run keeps (defaults.EPOCH_CHOICE), or None
    when the run is not chosen by a score or too few items can be held out for it."""
    if choice == "agreement" and len(val) and len(tr):
        return _retrieval_agreement(model, feats, tr, val, basis)
    if choice == "labels" and supervision is not None:
        y, usable = supervision
        queries, database = _score_sample(model.config.seed, val[usable[val]], tr[usable[tr]])
        if len(queries) and len(database):
            return LabelledRetrieval(queries, y[queries] > 0, database, y[database] > 0,
                                     depth=defaults.agreement_depth(len(database)))
    return None


def _score_sample(seed: int, val: np.ndarray, tr: np.ndarray) -> tuple:
    """The seeded samples of validation rows (queries) and training rows (database)
    that an epoch's score is measured on, each in row order."""
    rng = np.random.default_rng(seed + 2)
    return (np.sort(rng.permutation(val)[:defaults.AGREEMENT_QUERIES]),
            np.sort(rng.permutation(tr)[:defaults.AGREEMENT_DATABASE]))


def _retrieval_agreement(model, feats, tr: np.ndarray, val: np.ndarray,
                         basis) -> RetrievalAgreement:
    """The label-free score that stops a document model's run: a sample of the
    validation documents querying a sample of the training documents (see
    defaults.EPOCH_CHOICE), in the latent space the neighbours were found in."""
    featurizer = model.featurizer
    if basis is None:
        basis = latent_basis(featurizer, feats, defaults.TEXT_NEIGHBOUR_RANK)
    queries, database = _score_sample(model.config.seed, val, tr)

    def vectors(r):
        counts = take_rows(feats, r)
        if basis is None:      # a corpus too small for a latent space: TF-IDF rows,
            return featurizer.weight(counts).toarray()      # already unit length
        return latent_vectors(featurizer, counts, basis)
    return RetrievalAgreement(queries, vectors(queries), database, vectors(database),
                              depth=defaults.agreement_depth(len(database)))
