"""Fitting the closed-form kinds (``linear``, ``fa``, ``sparse``) on all training rows:
alternating least squares, EM or dictionary rounds, then the binarisation."""

from __future__ import annotations

import time

import numpy as np
import torch

from ..errors import UsageError
from ..nets.classic import FeatureMatrix
from .loop import TrainReport
from .neighbours import torch_sparse

TEXT = "text"


def fit_classic(model, feats):
    """Closed-form / EM fit of the linear, fa and sparse models on all training rows."""
    c = model.config
    start = time.perf_counter()
    if c.network_input == TEXT:
        w = model.featurizer.weight(feats)
        coo = torch_sparse(w).to_sparse_coo().double()
        x = FeatureMatrix(coo)
    else:
        x = FeatureMatrix(torch.from_numpy(np.ascontiguousarray(feats))
                          .reshape(len(feats), -1).double())
    if c.kind == "linear" and c.bits >= x.d:
        raise UsageError(f"a linear autoencoder with {c.bits} bits for {x.d}-dimensional "
                         "input can learn the identity; use fewer bits than input "
                         "dimensions", option="bits")
    if c.kind == "fa" and c.bits >= x.d:
        raise UsageError(f"factor analysis needs fewer factors ({c.bits} bits) than input "
                         f"dimensions ({x.d}); use fewer bits", option="bits")
    if c.kind == "sparse" and c.bits // 2 > x.d:
        raise UsageError(f"sparse coding of {c.bits} bits works on a {c.bits // 2}-"
                         f"dimensional projection of the input, but the input has {x.d} "
                         "dimensions; use fewer bits", option="bits")
    model.module = model.new_network().double()
    # epochs caps the fit's iterations (least-squares rounds, EM steps, dictionary
    # rounds); by default each runs until it converges or its own limit
    history = model.module.fit(x, seed=c.seed, **({} if c.epochs is None
                                                  else {"iters": int(c.epochs)}))
    if c.kind in ("linear", "fa"):
        h = x.mm(model.module.encoder.t())
        model.module.set_binarisation(h, c.options.rotation, seed=c.seed)
    model.module = model.module.float().eval()
    model.report = TrainReport(device="cpu", threads=torch.get_num_threads(),
                               epochs_run=len(history), seconds=time.perf_counter() - start,
                               train_items=len(feats))
    model.report.objective = history
    return model
