"""Retrieval metrics by Hamming ranking, shared by ``hashret eval`` and by the scores that
choose a model's epoch: faiss' exact ranking, label relevance and average precision."""

from __future__ import annotations

import numpy as np


def hamming_ranking(q_codes: np.ndarray, db_codes: np.ndarray, depth: int) -> np.ndarray:
    """Positions in the packed codes ``db_codes`` of each packed query code's ``depth``
    nearest by Hamming distance, from faiss' ``IndexBinaryFlat`` (ties as faiss orders
    them)."""
    import faiss                      # on first use: opening an index needs no faiss
    index = faiss.IndexBinaryFlat(db_codes.shape[1] * 8)
    index.add(np.ascontiguousarray(db_codes))
    return index.search(np.ascontiguousarray(q_codes), min(depth, len(db_codes)))[1]


def relevance(ranked: np.ndarray, q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """(m, k) booleans: does the j-th retrieved item share a label with query i? (Boolean
    label matrices; a position of -1, nothing retrieved, is not relevant.)"""
    out = np.zeros(ranked.shape, bool)
    for s in range(0, len(ranked), 256):
        ids = ranked[s:s + 256]
        valid = ids >= 0
        hit = (db_labels[np.where(valid, ids, 0)] & q_labels[s:s + 256, None, :]).any(-1)
        out[s:s + 256] = hit & valid
    return out


def average_precision(rel: np.ndarray) -> np.ndarray:
    """Each query's average precision over the ranking depth of ``rel`` (normalised by the
    relevant items retrieved within that depth)."""
    precision = np.cumsum(rel, 1) / np.arange(1, rel.shape[1] + 1)
    return (precision * rel).sum(1) / np.maximum(rel.sum(1), 1)
