"""Target bits for a model's code layer: for images, from the images' gradient histograms;
for vectors, from the vectors themselves (:func:`itq_code_targets`, the same PCA + ITQ);
for documents, from the bits their nearest neighbours have (a ``semi`` model's hash
centres of its classes are the network's, :func:`hashret.nets.binary_autoencoder.hash_centres`).

A binary code that retrieves pictures of one kind together can be had without learning
anything deep: take the images' histograms of oriented gradients, keep their top ``bits``
principal components and rotate those by ITQ (Gong & Lazebnik 2011) before taking signs.
Pulling the autoencoder's bits toward that code (a cross-entropy term, see
:class:`~hashret.nets.binary_autoencoder.BinaryAutoencoder`) gives codes that keep the
histograms' shape information in an order that survives binarisation, while the decoder
still reconstructs the pixels; on validation the result beats both the autoencoder without
the term and the ITQ code itself (docs/studies/2026-11-27-gradient-histogram-code-targets-for-images.md).
"""

from __future__ import annotations

import numpy as np
import torch

from .. import defaults

from ..nets.classic import itq_rotation
from ..nets.networks import OrientationHistograms

PCA_SAMPLE = 20_000        # images the principal components and the rotation are fitted on


@torch.no_grad()
def gradient_code_targets(histograms: OrientationHistograms, images: np.ndarray, bits: int,
                          fit_rows: np.ndarray, seed: int = 0,
                          chunk: int = 4_096) -> torch.Tensor:
    """``(len(images), bits)`` target bits in {0, 1}: ITQ on the top ``bits`` principal
    components of ``histograms(images)``, fitted on (a sample of) ``fit_rows`` only
    (:func:`itq_code_targets`)."""
    def of(rows):
        for s in range(0, len(rows), chunk):
            yield histograms(torch.from_numpy(np.ascontiguousarray(images[rows[s:s + chunk]])))
    return itq_code_targets(of, len(images), bits, fit_rows, seed)


@torch.no_grad()
def itq_code_targets(features_of, n: int, bits: int, fit_rows: np.ndarray,
                     seed: int = 0) -> torch.Tensor:
    """``(n, bits)`` target bits in {0, 1}: ITQ on the top ``bits`` principal components
    of the features ``features_of(rows)`` yields chunk by chunk (as float tensors), fitted
    on (a sample of) ``fit_rows`` only. Only one chunk's features besides the sample's are
    held at a time, so memory stays that of the sample whatever the corpus size; bits
    beyond the features' principal directions are 0.5 (left to the autoencoder)."""
    rng = np.random.default_rng(seed)
    sample_rows = np.sort(rng.permutation(fit_rows)[:PCA_SAMPLE])
    sample = torch.cat(list(features_of(sample_rows))).float()
    mean = sample.mean(0)
    sample -= mean
    q = min(bits, *sample.shape)
    with torch.random.fork_rng():                    # seeded; the caller's RNG untouched
        torch.manual_seed(seed)
        # randomized SVD, 10 extra directions for accuracy, the top q kept
        _, _, v = torch.svd_lowrank(sample, q=min(q + 10, *sample.shape), niter=4)
    proj = v[:, :q]
    rotation = itq_rotation((sample @ proj).double(), seed=seed)

    def bits_of(centred):
        return ((centred @ proj).double() @ rotation) > 0

    codes = torch.empty(n, q)
    # the sample's features are at hand: only the other rows' are computed again
    step = 4_096
    for s in range(0, len(sample_rows), step):
        codes[sample_rows[s:s + step]] = bits_of(sample[s:s + step]).float()
    del sample
    rest = np.setdiff1d(np.arange(n), sample_rows)
    done = 0
    for f in features_of(rest):
        codes[rest[done:done + len(f)]] = bits_of(f.float() - mean).float()
        done += len(f)
    if q < bits:        # fewer directions than bits: the rest are left to the autoencoder
        codes = torch.cat([codes, torch.full((len(codes), bits - q), 0.5)], 1)
    return codes


class LabelPipeline:
    """A logistic regression (one-vs-rest sigmoids for multi-label items, else a softmax;
    L2 as scikit-learn's ``C``; L-BFGS) on the labelled items' features ``x`` (dense, float32)
    and multi-hot ``y``, whose representation of an item is its class probabilities (at
    length ``label_weight``) beside its features' top ``components`` principal components
    of ``sample`` (at unit length): what a plain pipeline makes of a few labels."""

    def __init__(self, x: np.ndarray, y: np.ndarray, multilabel: bool, sample: np.ndarray,
                 components: int = defaults.PIPELINE_COMPONENTS, c: float = defaults.PIPELINE_C,
                 label_weight: float = defaults.PIPELINE_LABEL_WEIGHT, seed: int = 0):
        import torch.nn.functional as F
        self.multilabel, self.label_weight = multilabel, label_weight
        xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(y)
        w = torch.zeros(xt.shape[1], yt.shape[1], requires_grad=True)
        b = torch.zeros(yt.shape[1], requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")
        penalty = 1 / (2 * c * len(xt))          # a sum of losses + |w|^2 / 2C, per item

        def closure():
            opt.zero_grad()
            out = xt @ w + b
            loss = F.binary_cross_entropy_with_logits(out, yt, reduction="sum") / len(xt) \
                if multilabel else F.cross_entropy(out, yt.argmax(1))
            loss = loss + penalty * (w ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        self.w, self.b = w.detach().numpy(), b.detach().numpy()
        self.mean = sample.mean(0)
        k = min(components, *sample.shape)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            _, _, v = torch.pca_lowrank(torch.from_numpy(sample - self.mean), q=k,
                                        center=False, niter=4)
        self.proj = v[:, :k].numpy()

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(n, classes) predicted class probabilities of dense features ``x``."""
        logits = x @ self.w + self.b
        if self.multilabel:
            return 1 / (1 + np.exp(-logits))
        p = np.exp(logits - logits.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    def represent(self, x: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """(n, classes + components) float32 representations of dense features ``x``: the
        class probabilities, or the scores ``labels`` given in their place, beside the
        principal components."""
        p = self.probabilities(x) if labels is None else labels
        z = (x - self.mean) @ self.proj
        return np.hstack([self.label_weight * unit_rows(p), unit_rows(z)]).astype(np.float32)


def unit_rows(a: np.ndarray) -> np.ndarray:
    """``a``'s rows at unit length (rows of zeros stay zero)."""
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


@torch.no_grad()
def spread_labels(neighbours: np.ndarray, seeds: np.ndarray,
                  alpha: float = defaults.SEMI_LABEL_SPREAD,
                  iterations: int = defaults.LABEL_SPREAD_ITERATIONS) -> np.ndarray:
    """Label spreading (Zhou et al. 2004) over the symmetric graph of each item's
    ``neighbours`` (n, k): ``F <- alpha S F + (1 - alpha) Y``, S the graph's symmetrically
    normalised adjacency, Y the (n, classes) ``seeds`` (zero rows: unlabelled). Returns F,
    each item's class scores from the labels of the items around it."""
    n, k = neighbours.shape
    src = torch.arange(n).repeat_interleave(k)
    dst = torch.from_numpy(np.asarray(neighbours, np.int64)).reshape(-1)
    edges = torch.unique(torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]), dim=1)
    edges = edges[:, edges[0] != edges[1]]
    degree = torch.bincount(edges[0], minlength=n).float().clamp_min(1)
    weight = (degree[edges[0]] * degree[edges[1]]).rsqrt()
    graph = torch.sparse_coo_tensor(edges, weight, (n, n), check_invariants=False).coalesce()
    y = torch.from_numpy(np.asarray(seeds, np.float32))
    f = y.clone()
    for _ in range(iterations):
        f = alpha * (graph @ f) + (1 - alpha) * y
    return f.numpy()


class NeighbourCodeVotes:
    """Target bits for a document model's code layer: each bit as the document's nearest
    training neighbours (``tfidf_neighbours``) set it, on average, at the end of the last
    epoch.

    Pulling a document's bits toward its neighbours' (a cross-entropy term, the same as the
    image targets') makes documents that share neighbours share bits, in the spirit of the
    neighbour-correlated codes of SNUH (Ou et al. 2021); reconstructing the neighbours' words
    (``NeighbourhoodCounts``) only makes them share what the decoder can read from the code.
    The votes are hard bits: the neighbours' mean probabilities as soft targets gained less
    on validation and, at 10 per bit, collapsed the codes (docs/studies/2026-11-29-neighbour-code-votes-for-documents.md).
    There are no targets until :meth:`update` has been given the bits of every document.
    """

    CHUNK = 32_768                 # documents whose neighbours' bits are gathered at once

    def __init__(self, neighbours: np.ndarray):
        self.neighbours = torch.from_numpy(np.asarray(neighbours, np.int64))
        self.targets: torch.Tensor | None = None

    @torch.no_grad()
    def update(self, probabilities: torch.Tensor) -> None:
        """``probabilities``: (n, bits) bit probabilities of every document, in row order."""
        nbrs = self.neighbours.to(probabilities.device)
        n = len(nbrs)
        targets = torch.empty(probabilities.shape, dtype=torch.bool,     # a byte a bit
                              device=probabilities.device)
        # a chunk at a time: the neighbours' bits of every document at once would take
        # n x k x bits floats (4.6 GB for 900,000 documents, 20 neighbours, 64 bits)
        for s in range(0, n, self.CHUNK):
            targets[s:s + self.CHUNK] = probabilities[nbrs[s:s + self.CHUNK]].mean(1) > 0.5
        self.targets = targets

    def __getitem__(self, rows) -> torch.Tensor | None:
        if self.targets is None:
            return None
        return self.targets[torch.as_tensor(np.asarray(rows),
                                            device=self.targets.device)].float()
