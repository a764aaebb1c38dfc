"""A label-free measure of how well a document model's codes retrieve, to stop its run.

An unsupervised document model's validation loss does not follow its retrieval (it goes on
falling as the model fits the training documents' own words, or turns up while retrieval
still improves), and there are no labels to measure retrieval with. What can be measured is
whether the documents a code retrieves resemble the query: held-out documents query a sample
of the training documents by Hamming distance, and the score is the mean cosine, in the
latent semantic space the model's neighbour targets come from, between each query and the
documents ranked in its top ``depth``. A run whose score has not risen for a while stops
and returns to its highest epoch (BENCHMARKS.md "Choosing the epoch without labels")."""

from __future__ import annotations

from typing import Callable

import faiss
import numpy as np

from .bits import pack_bits


class RetrievalAgreement:
    """Scores codes by the mean latent-space cosine between queries and what they retrieve.

    ``query_vectors`` / ``database_vectors`` are the unit latent vectors of the rows
    ``query_rows`` / ``database_rows`` (row numbers the caller's ``logits`` function takes).
    """

    def __init__(self, query_rows: np.ndarray, query_vectors: np.ndarray,
                 database_rows: np.ndarray, database_vectors: np.ndarray, depth: int):
        if len(query_rows) != len(query_vectors) or \
                len(database_rows) != len(database_vectors):
            raise ValueError("one latent vector is needed for every query and database row")
        self.query_rows = np.asarray(query_rows, np.int64)
        self.database_rows = np.asarray(database_rows, np.int64)
        self.query_vectors = np.ascontiguousarray(query_vectors, np.float32)
        self.database_vectors = np.ascontiguousarray(database_vectors, np.float32)
        self.depth = max(1, min(int(depth), len(database_rows)))

    def score(self, logits: Callable[[np.ndarray], np.ndarray]) -> float:
        """The mean cosine for the codes ``logits(rows) > 0`` of the model as it is now."""
        q = pack_bits(logits(self.query_rows) > 0)
        db = pack_bits(logits(self.database_rows) > 0)
        index = faiss.IndexBinaryFlat(db.shape[1] * 8)
        index.add(np.ascontiguousarray(db))
        _, top = index.search(np.ascontiguousarray(q), self.depth)
        return float(np.einsum("qd,qkd->qk", self.query_vectors,
                               self.database_vectors[top]).mean())
