"""Nearest training documents of each training document, and the neighbourhood targets a
document model's decoder reconstructs.

The neighbours are found by cosine in a latent semantic space (truncated SVD of the TF-IDF
matrix, :func:`tfidf_neighbours`). Up to ``defaults.EXACT_NEIGHBOUR_ITEMS`` documents the
search is exact; beyond, it would grow with the square of the corpus (about 40 minutes for
a million documents on two cores), so an inverted-file index over the latent vectors finds
them approximately in time that grows about as n^1.5 (:func:`cosine_neighbours`).
"""

from __future__ import annotations

import logging
import math
import warnings

import faiss
import numpy as np
import torch

from .. import defaults
from ..data.features import SparseRows, TfidfFeaturizer

log = logging.getLogger("hashret")


def tfidf_neighbours(featurizer: TfidfFeaturizer, counts: SparseRows, k: int,
                     rank: int = 0, chunk: int = 1024, basis: torch.Tensor | None = None,
                     joint: np.ndarray | None = None) -> np.ndarray:
    """``(n, k)`` row numbers of each document's ``k`` nearest other documents by cosine in
    the ``rank``-dimensional truncated SVD of the TF-IDF matrix (``basis``, when it is
    already at hand: :func:`latent_basis`), or by raw TF-IDF cosine, found exactly ``chunk``
    documents at a time, when ``rank`` is 0 or the corpus or vocabulary is too small for one
    latent dimension. ``joint``: unit vectors of the documents from elsewhere (a sentence
    encoder's), compared together with the latent ones (half the cosine each), or alone
    when there is no latent space."""
    n = len(counts)
    k = min(k, n - 1)
    if basis is None and rank:
        basis = latent_basis(featurizer, counts, rank)
    if basis is not None:
        # compare documents in their latent semantic space: words that co-occur count as
        # shared, so neighbours agree more often on topic than by raw TF-IDF cosine
        e = latent_vectors(featurizer, counts, basis)
        if joint is not None:
            e = np.hstack([e, np.asarray(joint, np.float32)]) / np.sqrt(2)
        return cosine_neighbours(e, k)
    if joint is not None:
        return cosine_neighbours(np.asarray(joint, np.float32), k)
    w = featurizer.weight(counts)
    x = torch_sparse(w)
    nbrs = np.zeros((n, k), np.int64)
    for s in range(0, n, chunk):
        t = min(s + chunk, n)
        rows = torch.from_numpy(w.rows(np.arange(s, t)).toarray())
        sim = torch.sparse.mm(x, rows.t()).t()                            # (t - s, n)
        sim[torch.arange(t - s), torch.arange(s, t)] = -2.0               # not itself
        nbrs[s:t] = sim.topk(k, dim=1).indices.numpy()
    return nbrs


def latent_basis(featurizer: TfidfFeaturizer, counts: SparseRows,
                 rank: int) -> torch.Tensor | None:
    """The ``(n_words, q)`` top right singular vectors of the documents' TF-IDF matrix, q =
    ``rank`` or less for a small corpus or vocabulary (a latent semantic space); None when
    not even one dimension fits."""
    w = featurizer.weight(counts)
    q = min(rank, len(counts) - 1, w.n_cols - 1)
    if q < 1:
        return None
    coo = torch_sparse(w).to_sparse_coo()
    with torch.random.fork_rng():               # seeded, and the caller's RNG untouched
        torch.manual_seed(0)
        # randomized SVD, 10 extra directions for accuracy, the top q kept
        _, _, v = torch.svd_lowrank(coo, q=min(q + 10, len(counts), w.n_cols), niter=4)
    return v[:, :q]


def latent_vectors(featurizer: TfidfFeaturizer, counts: SparseRows,
                   basis: torch.Tensor) -> np.ndarray:
    """The documents' unit-length vectors in the latent space of ``basis``."""
    e = torch.sparse.mm(torch_sparse(featurizer.weight(counts)).to_sparse_coo(), basis)
    return (e / e.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()


def cosine_neighbours(e: np.ndarray, k: int,
                      exact_max: int = defaults.EXACT_NEIGHBOUR_ITEMS) -> np.ndarray:
    """``(n, k)`` row numbers of each row's ``k`` nearest other rows of ``e`` (unit rows) by
    inner product: exact up to ``exact_max`` rows, by an inverted-file index beyond."""
    n, d = e.shape
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), np.int64)
    e = np.ascontiguousarray(e, np.float32)
    if n <= exact_max:
        index = faiss.IndexFlatIP(d)
    else:
        # about sqrt(n) lists of about sqrt(n) vectors: a search scans n_probe of them
        n_lists = max(1, round(defaults.NEIGHBOUR_LISTS_PER_SQRT * math.sqrt(n)))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, n_lists, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).permutation(n)[:defaults.NEIGHBOUR_TRAIN_PER_LIST
                                                         * n_lists]
        index.train(e[np.sort(sample)])
        index.nprobe = min(n_lists, defaults.NEIGHBOUR_PROBES)
        log.info("%d documents: neighbours approximate, by an inverted-file index of %d "
                 "lists, %d searched for each", n, n_lists, index.nprobe)
    index.add(e)
    _, found = index.search(e, k + 1)
    return drop_self(found, k)


def drop_self(found: np.ndarray, k: int, own: np.ndarray | None = None) -> np.ndarray:
    """The ``k`` neighbours of each row from ``k + 1`` found ones: the row itself (row
    ``own[i]`` of what was searched, row ``i`` when ``own`` is None) is left out (or, where
    it was not found, e.g. among identical rows, the last one); rows that found fewer (faiss
    marks the missing with -1) repeat their nearest neighbour, or name themselves when they
    found none."""
    n = len(found)
    own = np.arange(n)[:, None] if own is None else np.asarray(own, np.int64)[:, None]
    drop = found == own
    drop[~drop.any(1), -1] = True
    drop[np.cumsum(drop, 1) > 1] = False                  # only the first match goes
    nbrs = found[~drop].reshape(n, k)
    missing = nbrs < 0
    if missing.any():
        nearest = np.where(nbrs[:, :1] >= 0, nbrs[:, :1], own)
        nbrs = np.where(missing, nearest, nbrs)
    return nbrs.astype(np.int64)


class NeighbourhoodCounts:
    """What a document model's decoder reconstructs: each document's counts plus ``weight``
    times the mean counts of its neighbours ``nbrs`` (rows of ``counts``).

    With a document's nearest training documents as ``nbrs`` (:func:`tfidf_neighbours`),
    the decoder reconstructs the neighbourhood as well as the document itself (NbrReg,
    Chaidaroon et al. 2018), so codes follow the documents' local similarity structure, not
    only their own words. The targets are gathered a batch at a time, never for the whole
    corpus: with k neighbours they would hold about k times the corpus' own entries
    (1.3 GB for 200,000 documents of 57 distinct words with 10). A word the document and
    its neighbours share is one entry of a batch's row, their weighted counts added
    (:meth:`SparseRows.summed`), so that training is reproducible on a busy machine.
    """

    def __init__(self, counts: SparseRows, nbrs: np.ndarray, weight: float):
        self.counts = counts
        self.nbrs = np.asarray(nbrs, np.int64)
        self.weight = float(weight)

    def __len__(self) -> int:
        return len(self.counts)

    def rows(self, rows) -> SparseRows:
        rows = np.asarray(rows, np.int64)
        k = self.nbrs.shape[1]
        # each document's own row, then its k neighbours' rows
        parts = self.counts.rows(np.column_stack([rows, self.nbrs[rows]]).reshape(-1))
        scale = np.tile(np.concatenate([[1.0], np.full(k, self.weight / max(k, 1))]),
                        len(rows)).astype(np.float32)
        data = parts.data * np.repeat(scale, np.diff(parts.indptr))
        return SparseRows(parts.indptr[::k + 1].copy(), parts.indices, data,
                          parts.n_cols).summed()

    def mean_words(self) -> float:
        """Mean total count over the documents' targets."""
        words = np.bincount(self.counts.row_ids(), weights=self.counts.data,
                            minlength=len(self.counts))
        k = max(self.nbrs.shape[1], 1)
        return float(words.sum() + self.weight / k * words[self.nbrs].sum()) / \
            max(len(self.counts), 1)

    def toarray(self) -> np.ndarray:
        return self.rows(np.arange(len(self))).toarray()


def torch_sparse(m: SparseRows) -> torch.Tensor:
    """``m`` as a torch CSR tensor (sharing its arrays)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.from_numpy(m.indptr),
                                       torch.from_numpy(m.indices),
                                       torch.from_numpy(m.data), (len(m), m.n_cols))


class VectorNeighbourhood:
    """What a vector model's decoder reconstructs: each vector plus ``weight`` times the
    mean of its neighbours ``nbrs`` (rows of ``feats``), divided by ``1 + weight`` — the
    vector counterpart of :class:`NeighbourhoodCounts`, gathered a batch at a time."""

    def __init__(self, feats: np.ndarray, nbrs: np.ndarray, weight: float):
        self.feats = feats
        self.nbrs = np.asarray(nbrs, np.int64)
        self.weight = float(weight)

    def __len__(self) -> int:
        return len(self.feats)

    def rows(self, rows) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        if not self.nbrs.shape[1]:
            return self.feats[rows]
        mean = self.feats[self.nbrs[rows]].mean(1)
        return (self.feats[rows] + self.weight * mean) / (1 + self.weight)
