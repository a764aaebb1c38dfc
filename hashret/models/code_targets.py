"""Target bits for an image model's code layer, from the images' gradient histograms.

A binary code that retrieves pictures of one kind together can be had without learning
anything deep: take the images' histograms of oriented gradients, keep their top ``bits``
principal components and rotate those by ITQ (Gong & Lazebnik 2011) before taking signs.
Pulling the autoencoder's bits toward that code (a cross-entropy term, see
:class:`~hashret.models.binary_autoencoder.BinaryAutoencoder`) gives codes that keep the
histograms' shape information in an order that survives binarisation, while the decoder
still reconstructs the pixels; on validation the result beats both the autoencoder without
the term and the ITQ code itself (docs/BENCHMARKS.md, "Gradient-histogram code targets").
"""

from __future__ import annotations

import numpy as np
import torch

from .classic import itq_rotation
from .networks import OrientationHistograms

PCA_SAMPLE = 20_000        # images the principal components and the rotation are fitted on


@torch.no_grad()
def gradient_code_targets(histograms: OrientationHistograms, images: np.ndarray, bits: int,
                          fit_rows: np.ndarray, seed: int = 0,
                          chunk: int = 4_096) -> torch.Tensor:
    """``(len(images), bits)`` target bits in {0, 1}: ITQ on the top ``bits`` principal
    components of ``histograms(images)``, fitted on (a sample of) ``fit_rows`` only."""
    h = torch.cat([histograms(torch.from_numpy(np.ascontiguousarray(images[s:s + chunk])))
                   for s in range(0, len(images), chunk)])
    rng = np.random.default_rng(seed)
    sample = h[torch.from_numpy(np.sort(rng.permutation(fit_rows)[:PCA_SAMPLE]))]
    mean = sample.mean(0)
    q = min(bits, *sample.shape)
    with torch.random.fork_rng():                    # seeded; the caller's RNG untouched
        torch.manual_seed(seed)
        # randomized SVD, 10 extra directions for accuracy, the top q kept
        _, _, v = torch.svd_lowrank(sample - mean, q=min(q + 10, *sample.shape), niter=4)
    proj = v[:, :q]
    z_fit = ((sample - mean) @ proj).double()
    rotation = itq_rotation(z_fit, seed=seed)
    codes = ((((h - mean) @ proj).double() @ rotation) > 0).float()
    if q < bits:                  # fewer histogram values than bits: the rest stay free
        codes = torch.cat([codes, torch.full((len(codes), bits - q), 0.5)], 1)
    return codes
