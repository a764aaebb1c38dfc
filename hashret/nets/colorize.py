""":class:`ColorizingAutoencoder`: grey image -> binary code -> the image's colours.

Colours are handled in CIE Lab (D65 white), where the lightness L is what a grey image keeps
and the two chroma channels a, b are what it loses, and where the Euclidean distance is the
perceptual colour difference ΔE (CIE76). The encoder reads only the lightness, so the code of
a colour image is the code of its grey version: a grey query finds colour neighbours. The
decoder predicts the chroma from the code (the picture's colours at a coarse scale) and the
lightness itself (edges, at full resolution), and the output keeps the input's lightness
exactly.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .networks import BinaryCodeLayer, ImageDecoder, ImageEncoder, bernoulli_kl_to_uniform

# sRGB primaries to CIE XYZ, and the D65 white point they map white to
_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]])
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])
_DELTA = 6 / 29
CHROMA_SCALE = 100.0          # a and b are predicted in units of 100 (they span about ±100)
# each pixel's chroma error is a negative log-likelihood of this scale (in a, b units), so
# it weighs against the KL term as a pixel model's would
CHROMA_SIGMA = 10.0
GUIDE_CHANNELS = 16           # full-resolution features of the lightness
CODE_CHANNELS = 8             # full-resolution features decoded from the code


def opaque_rgb(x: torch.Tensor) -> torch.Tensor:
    """(n, 3 or 4, h, w) in [0, 1] -> (n, 3, h, w): an alpha channel composited on white."""
    if x.shape[1] == 4:
        alpha = x[:, 3:]
        return x[:, :3] * alpha + (1 - alpha)
    return x[:, :3]


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(n, 3, h, w) sRGB in [0, 1] -> (n, 3, h, w) CIE Lab: L in [0, 100], a and b about
    ±100."""
    rgb = rgb.clamp(0, 1)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ.to(rgb), lin) \
        / _WHITE.to(rgb)[None, :, None, None]
    f = torch.where(xyz > _DELTA ** 3, xyz.clamp_min(1e-12) ** (1 / 3),
                    xyz / (3 * _DELTA ** 2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                        200 * (f[:, 1] - f[:, 2])], 1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_lab`, clipped to the sRGB gamut [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    xyz = torch.where(f > _DELTA, f ** 3, 3 * _DELTA ** 2 * (f - 4 / 29)) \
        * _WHITE.to(lab)[None, :, None, None]
    lin = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_XYZ).to(lab), xyz).clamp(0, 1)
    return torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055).clamp(0, 1)


def lightness(x: torch.Tensor) -> torch.Tensor:
    """(n, c, h, w) images in [0, 1] -> (n, 1, h, w) CIE lightness in [0, 1] (L / 100); a
    grey image (one channel, or equal channels) is its own grey value's lightness."""
    rgb = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else opaque_rgb(x)
    return rgb_to_lab(rgb)[:, :1] / 100


def pixel_error(ab: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(n, h, w) each pixel's ΔE itself (the length of its chroma error), not its square: a
    pixel whose colour the grey leaves open is not pulled to the grey of the mean colour
    (2026-12-07-colorization)."""
    return ((ab - target) ** 2).sum(1).add(1e-8).sqrt()


class ColorizingAutoencoder(nn.Module):
    """Encoder: the image's lightness -> strided convolutions -> code logits (laid out as
    :class:`~hashret.nets.networks.ImageEncoder` with one input channel). Decoder: the code ->
    :class:`~hashret.nets.networks.ImageDecoder` features at full resolution, beside
    convolutional features of the lightness -> two 3 x 3 convolutions -> a, b. Loss: the
    length of each pixel's chroma error (ΔE, over :data:`CHROMA_SIGMA`) summed over pixels, plus the
    KL term pulling each bit toward a fair coin and, when given target bits (the images'
    gradient-histogram ITQ code, :mod:`hashret.training.targets`), the bits' cross-entropy
    against them."""

    log_prob_decoder = False
    classifier = None

    def __init__(self, shape, bits: int, channels=(32, 64), hidden: int = 512,
                 kl_weight: float = 1.0, code_target_weight: float = 0.0):
        super().__init__()
        h, w, _ = shape
        self.kl_weight = kl_weight
        self.code_target_weight = code_target_weight
        self.encoder = ImageEncoder((h, w, 1), bits, channels, hidden)
        self.code = BinaryCodeLayer()
        self.decoder = ImageDecoder((h, w, CODE_CHANNELS), bits, channels, hidden)
        self.guide = nn.Sequential(nn.Conv2d(1, GUIDE_CHANNELS, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(GUIDE_CHANNELS, GUIDE_CHANNELS, 3, padding=1),
                                   nn.ReLU())
        self.head = nn.Sequential(
            nn.Conv2d(GUIDE_CHANNELS + CODE_CHANNELS, GUIDE_CHANNELS, 3, padding=1), nn.ReLU(),
            nn.Conv2d(GUIDE_CHANNELS, 2, 3, padding=1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Code logits of images (colour or grey): of their lightness alone."""
        return self.encoder(lightness(x))

    def chroma(self, grey: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(n, 2, h, w) predicted a, b (in units of :data:`CHROMA_SCALE`) for lightness
        ``grey`` (n, 1, h, w) in [0, 1] and codes ``z``."""
        code = torch.relu(self.decoder(z))
        return self.head(torch.cat([self.guide(grey), code], 1))

    def colorize(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, h, w) sRGB in [0, 1]: each image's own lightness with the chroma its code
        and lightness predict."""
        grey = lightness(x)
        z = self.code(self.encoder(grey))
        ab = self.chroma(grey, z) * CHROMA_SCALE
        return lab_to_rgb(torch.cat([grey * 100, ab], 1))

    def loss_terms(self, batch) -> dict:
        x, sup = batch if isinstance(batch, tuple) else (batch, None)
        target = None if sup is None else sup.code
        if self.training:
            # half the images mirrored: a picture's colours do not depend on its side (nor
            # its target bits, which are the unmirrored image's)
            flip = torch.rand(len(x), device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        lab = rgb_to_lab(opaque_rgb(x))
        grey = lab[:, :1] / 100
        logits = self.encoder(grey)
        ab = self.chroma(grey, self.code(logits))
        err = pixel_error(ab, lab[:, 1:] / CHROMA_SCALE)
        terms = {"reconstruction": err.sum() * (CHROMA_SCALE / CHROMA_SIGMA) / len(x),
                 "kl": bernoulli_kl_to_uniform(logits)}
        if target is not None:
            terms["code_target"] = F.binary_cross_entropy_with_logits(
                logits, target, reduction="sum") / len(x)
        return terms

    def reconstruction_loss(self, terms: dict) -> torch.Tensor:
        return terms["reconstruction"]

    def loss(self, batch) -> torch.Tensor:
        terms = self.loss_terms(batch)
        loss = terms["reconstruction"] + self.kl_weight * terms["kl"]
        if "code_target" in terms:
            loss = loss + self.code_target_weight * terms["code_target"]
        return loss
