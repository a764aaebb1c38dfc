"""Colorization: a ``colorize`` model's colour versions of grey images, and how far they are
from the true colours in CIE Lab (ΔE) beside two answers that need no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .bundle import Bundle
from .applications import check_image_input, write_images_like
from .data.images import read_image_input
from .errors import UsageError
from .models import HashModel
from .nets.colorize import lab_to_rgb, opaque_rgb, rgb_to_lab

CHUNK = 256            # images converted at a time when measuring


def colorize(model: HashModel, inp, out) -> dict:
    """Write colour versions of the images of INPUT (an image file, a folder of images, a
    .npy array or an IDX file; grey or colour, whose colours are ignored) to OUTPUT, of
    the same kind: PNGs, or an (n, h, w, 3) array in the input's dtype and scale."""
    inp, out = Path(inp), Path(out)
    if not model.colorizes:
        raise UsageError(f"this index's model is {{model:{model.config.kind}}}; colorize "
                         "needs an index built with {model:colorize}", option="model")
    check_image_input(inp)
    kind, names, images, _ = read_image_input(inp)
    write_images_like(kind, names, images, model.colorize(images), out, model)
    return {"items": len(names), "output": str(out), "kind": kind}


def colorize_with_index(path, inp, out) -> dict:
    """:func:`colorize` with the model of the index at ``path``."""
    return colorize(Bundle.load(path).model, inp, out)


def _lab(feats: np.ndarray) -> torch.Tensor:
    """(n, 3, h, w) CIE Lab of featurized images (in the model's size), on white."""
    return rgb_to_lab(opaque_rgb(torch.from_numpy(np.ascontiguousarray(feats))))


def mean_chroma(model: HashModel, images) -> torch.Tensor:
    """(2, h, w): the mean a and b at every pixel of ``images`` (training images)."""
    total, n = None, 0
    for s in range(0, len(images), CHUNK):
        ab = _lab(model.features(images[s:s + CHUNK]))[:, 1:]
        total = ab.sum(0) if total is None else total + ab.sum(0)
        n += len(ab)
    if not n:
        raise UsageError("no training images to take the mean chroma of")
    return total / n


def colour_errors(model: HashModel, train_images, test_images) -> dict:
    """Mean per-pixel ΔE (CIE76: the Euclidean distance in CIE Lab) between the colours of
    ``test_images`` and three colour versions of their grey versions: the model's; each
    pixel's mean chroma over ``train_images``; and no chroma (the grey image copied). Each
    answer is an sRGB picture keeping the image's lightness, so gamut clipping counts
    against all three alike. Returns ``{"model": ..., "mean-chroma": ..., "grey-copy":
    ..., "images": n}``."""
    centre = mean_chroma(model, train_images)
    sums = {"model": 0.0, "mean-chroma": 0.0, "grey-copy": 0.0}
    pixels = 0
    for s in range(0, len(test_images), CHUNK):
        feats = model.features(test_images[s:s + CHUNK])
        truth = _lab(feats)
        grey = truth[:, :1]
        answers = {
            "model": torch.from_numpy(model.colorize_features(feats)).permute(0, 3, 1, 2),
            "mean-chroma": lab_to_rgb(torch.cat(
                [grey, centre[None].expand(len(grey), -1, -1, -1)], 1)),
            "grey-copy": lab_to_rgb(torch.cat([grey, torch.zeros_like(truth[:, 1:])], 1))}
        for name, rgb in answers.items():
            sums[name] += float((rgb_to_lab(rgb) - truth).norm(dim=1).sum())
        pixels += grey.numel()
    if not pixels:
        raise UsageError("no test images to measure colours on")
    out = {k: round(v / pixels, 3) for k, v in sums.items()}
    out["images"] = len(test_images)
    return out
