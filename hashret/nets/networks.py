"""The parts a binary autoencoder is built from: encoders, the binary code layer, decoders.

Encoders map a batch to code logits ``(n, bits)``; the code layer turns logits into bits;
decoders map a (relaxed) code back to the input space.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


class SparseLinear(nn.Module):
    """``x @ W + b`` for sparse rows given as (word indices, row offsets, values).

    An embedding bag with sparse gradients: a step touches only the rows of ``W`` for the
    words in the batch, so a 10,000-word vocabulary costs only the documents' own terms,
    forward, backward and in the optimiser (see :func:`hashret.training.loop.make_optimizers`).
    """

    def __init__(self, n_in: int, n_out: int, word_dropout: float = 0.0):
        super().__init__()
        self.word_dropout = word_dropout
        self.bag = nn.EmbeddingBag(n_in, n_out, mode="sum", sparse=True)
        self.bias = nn.Parameter(torch.zeros(n_out))
        bound = 1 / math.sqrt(max(n_in, 1))
        nn.init.uniform_(self.bag.weight, -bound, bound)

    def forward(self, x) -> torch.Tensor:
        indices, offsets, values = x
        if self.training and self.word_dropout > 0:     # denoising: drop whole words
            keep = torch.rand_like(values) >= self.word_dropout
            values = values * keep / (1 - self.word_dropout)
        return self.bag(indices, offsets, per_sample_weights=values) + self.bias


class TextEncoder(nn.Module):
    """TF-IDF vector -> two ReLU layers -> code logits."""

    def __init__(self, n_features: int, hidden: int, bits: int, dropout: float = 0.1,
                 word_dropout: float = 0.0):
        super().__init__()
        self.inp = SparseLinear(n_features, hidden, word_dropout)
        self.body = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                  nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, bits))

    def forward(self, x):
        return self.body(self.inp(x))


class WordDecoder(nn.Module):
    """Code -> log-probabilities of every vocabulary word (a softmax over words)."""

    def __init__(self, bits: int, n_features: int):
        super().__init__()
        self.out = nn.Linear(bits, n_features)

    def forward(self, z):
        return F.log_softmax(self.out(z), dim=-1)


class VectorEncoder(nn.Module):
    """Vector (a featurized embedding) -> two ReLU layers -> code logits; laid out as
    :class:`TextEncoder`'s body, so the numpy encoder reads both alike."""

    def __init__(self, n_features: int, hidden: int, bits: int, dropout: float = 0.1):
        super().__init__()
        self.inp = nn.Linear(n_features, hidden)
        self.body = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                  nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, bits))

    def forward(self, x):
        return self.body(self.inp(x))


class VectorDecoder(nn.Module):
    """Code -> a ReLU layer -> the vector (its mean under a unit-variance Gaussian)."""

    def __init__(self, bits: int, hidden: int, n_features: int):
        super().__init__()
        self.out = nn.Sequential(nn.Linear(bits, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_features))

    def forward(self, z):
        return self.out(z)


def _conv_geometry(h: int, w: int, scales: int) -> tuple[int, int]:
    """Height and width after ``scales`` halvings, each rounding up."""
    return math.ceil(h / 2 ** scales), math.ceil(w / 2 ** scales)


class OrientationHistograms(nn.Module):
    """Histograms of oriented gradients (Dalal & Triggs 2005): a fixed, parameter-free layer.

    Each pixel votes with its gradient magnitude for its gradient orientation (``bins``
    unsigned orientations, linearly interpolated); votes are summed over square cells,
    ``cells`` to the shorter side of the image; each 2 x 2 group of neighbouring cells is
    L2-normalised, clipped at 0.2 and normalised again. ``cells`` may name several scales
    (e.g. ``(7, 10)``): their histograms are concatenated, coarse ones for the outline,
    fine ones for details such as straps, collars and soles. The result does not change with
    brightness or contrast and changes little when an object moves by a pixel or two, which
    is what makes two pictures of the same kind of thing look alike. Colour images use, at
    each pixel, the channel with the strongest gradient.
    """

    def __init__(self, shape, bins: int = 9, cells=(7,)):
        super().__init__()
        h, w, _ = shape
        self.bins = bins
        self.scales = []                               # (cell side, block side) per scale
        self.n_out = 0
        for k in (cells,) if isinstance(cells, int) else cells:
            cell = max(2, round(min(h, w) / k))
            ch, cw = h // cell, w // cell
            block = 2 if min(ch, cw) >= 2 else 1
            if (cell, block) in self.scales:          # small images: scales that coincide
                continue
            self.scales.append((cell, block))
            self.n_out += bins * block ** 2 * (ch - block + 1) * (cw - block + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = F.pad(x, (1, 1, 0, 0), mode="replicate")
        gx = gx[..., 2:] - gx[..., :-2]
        gy = F.pad(x, (0, 0, 1, 1), mode="replicate")
        gy = gy[..., 2:, :] - gy[..., :-2, :]
        mag = (gx ** 2 + gy ** 2).sqrt()
        if x.shape[1] > 1:
            # max() gives the same index as argmax() (the first of equal values) but is an
            # order of magnitude faster over a short channel axis on the CPU: argmax took
            # about a third of a 64 x 64 colour model's training step
            mag, best = mag.max(1, keepdim=True)
            gx, gy = gx.gather(1, best), gy.gather(1, best)
        pos = torch.remainder(torch.atan2(gy, gx), math.pi) * (self.bins / math.pi)
        lo = pos.floor()
        frac = pos - lo
        lo = lo.long() % self.bins
        hist = torch.zeros(x.shape[0], self.bins, *x.shape[2:], device=x.device, dtype=x.dtype)
        hist.scatter_add_(1, lo, mag * (1 - frac))
        hist.scatter_add_(1, (lo + 1) % self.bins, mag * frac)
        return torch.cat([self._blocks(hist, cell, block) for cell, block in self.scales], 1)

    def _blocks(self, hist: torch.Tensor, cell: int, b: int) -> torch.Tensor:
        cells = F.avg_pool2d(hist, cell)                          # (n, bins, ch, cw)
        blocks = cells.unfold(2, b, 1).unfold(3, b, 1)            # (n, bins, bh, bw, b, b)
        blocks = blocks.permute(0, 2, 3, 1, 4, 5).reshape(len(hist), -1, self.bins * b * b)
        blocks = blocks / (blocks.norm(dim=2, keepdim=True) + 1e-6)
        blocks = blocks.clamp(max=0.2)
        blocks = blocks / (blocks.norm(dim=2, keepdim=True) + 1e-6)
        return blocks.reshape(len(hist), -1)


class ImageEncoder(nn.Module):
    """Convolutions at one scale per entry of ``channels`` (that many output channels), each
    scale halving the image, then a dense layer (an MLP for images under 8 pixels).

    ``convs_per_scale`` = 0: one strided 3 x 3 convolution a scale. Otherwise that many
    batch-normalised 3 x 3 convolutions a scale, then 2 x 2 max-pooling (rounding up, so
    odd sides keep the strided geometry): a Fashion-MNIST model then trains 2.5 times as
    long, which pays only when labels train the encoder (see
    :func:`hashret.defaults.image_convs_per_scale`). How many scales an image size gets:
    :func:`hashret.defaults.image_channels`."""

    def __init__(self, shape, bits: int, channels=(32, 64), hidden: int = 512,
                 convs_per_scale: int = 0):
        super().__init__()
        h, w, c = shape
        self.conv = min(h, w) >= 8
        if self.conv:
            layers, cin = [], c
            for cout in channels:
                if convs_per_scale:
                    for _ in range(convs_per_scale):
                        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                                   nn.ReLU()]
                        cin = cout
                    layers.append(nn.MaxPool2d(2, ceil_mode=True))
                else:
                    layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
                    cin = cout
            self.features = nn.Sequential(*layers, nn.Flatten())
            hs, ws = _conv_geometry(h, w, len(channels))
            n_flat = channels[-1] * hs * ws
        else:
            self.features = nn.Flatten()
            n_flat = h * w * c
        self.head = nn.Sequential(nn.Linear(n_flat, hidden), nn.ReLU(), nn.Linear(hidden, bits))

    def forward(self, x):
        return self.head(self.features(x))


class ImageDecoder(nn.Module):
    """Code -> pixel logits of shape (n, c, h, w); mirrors :class:`ImageEncoder`: a dense
    layer to the smallest scale, then one transposed convolution a scale, each doubling the
    image."""

    def __init__(self, shape, bits: int, channels=(32, 64), hidden: int = 512):
        super().__init__()
        self.h, self.w, self.c = shape
        self.conv = min(self.h, self.w) >= 8
        if self.conv:
            self.hs, self.ws = _conv_geometry(self.h, self.w, len(channels))
            self.c_last = channels[-1]
            self.dense = nn.Sequential(nn.Linear(bits, hidden), nn.ReLU(),
                                       nn.Linear(hidden, self.c_last * self.hs * self.ws),
                                       nn.ReLU())
            widths = [*reversed(channels), self.c]
            layers = []
            for a, b in zip(widths[:-1], widths[1:]):
                layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.ReLU()]
            self.up = nn.Sequential(*layers[:-1])          # no ReLU on the pixel logits
        else:
            self.dense = nn.Sequential(nn.Linear(bits, hidden), nn.ReLU(),
                                       nn.Linear(hidden, self.h * self.w * self.c))

    def forward(self, z):
        y = self.dense(z)
        if not self.conv:
            return y.view(-1, self.c, self.h, self.w)
        y = self.up(y.view(-1, self.c_last, self.hs, self.ws))
        if y.shape[-2:] != (self.h, self.w):
            y = y[..., :self.h, :self.w]
        return y


class BinaryCodeLayer(nn.Module):
    """Logits -> bits.

    Training draws each bit from Bernoulli(sigmoid(logit)) and passes the gradient straight
    through to the probability (as in NASH, Shen et al. 2018); the sampling noise forces the
    decoder to rely on bits rather than on precise real values. At inference a bit is set
    when its logit is positive.
    """

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        prob = torch.sigmoid(logits)
        if self.training:
            sample = (torch.rand_like(prob) < prob).to(prob.dtype)
            return prob + (sample - prob).detach()
        return (logits > 0).to(logits.dtype)


def bernoulli_kl_to_uniform(logits: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(sigmoid(l)) || Bernoulli(1/2)) summed over bits, averaged over items."""
    p = torch.sigmoid(logits)
    log_p, log_1p = F.logsigmoid(logits), F.logsigmoid(-logits)
    kl = p * log_p + (1 - p) * log_1p + math.log(2.0)
    return kl.sum(dim=1).mean()


NOISE_KINDS = ("gaussian", "mask", "saltpepper")


def parse_noise(spec: str, modality: str = "image") -> tuple[str, float]:
    """``KIND:LEVEL`` -> (kind, level): gaussian:sigma, mask:p (zero a fraction p of the
    inputs; for text, drop a fraction p of the words), saltpepper:p (set a fraction p of
    the pixels to 0 or 1)."""
    from ..errors import UsageError
    kind, _, level = str(spec).partition(":")
    try:
        value = float(level)
    except ValueError:
        value = -1.0
    if kind not in NOISE_KINDS or not 0 <= value <= (10.0 if kind == "gaussian" else 1.0):
        raise UsageError(f"{{noise:{spec}}} is not understood; write gaussian:SIGMA, mask:P "
                         "or saltpepper:P (P between 0 and 1), e.g. gaussian:0.3",
                         option="noise")
    if modality == "text" and kind != "mask":
        raise UsageError(f"{{noise:{spec}}}: documents are corrupted by dropping words; use "
                         "mask:P", option="noise")
    if modality == "vector" and kind == "saltpepper":
        raise UsageError(f"{{noise:{spec}}}: vectors have no black or white; use "
                         "gaussian:SIGMA or mask:P", option="noise")
    if kind == "mask" and value >= 1:
        raise UsageError(f"{{noise:{spec}}}: a mask level must be below 1", option="noise")
    return kind, value


def corrupt(x: torch.Tensor, kind: str, level: float,
            generator: torch.Generator | None = None, bounded: bool = True) -> torch.Tensor:
    """The noise process q(x'|x) for inputs in [0, 1] (``bounded``), or for vectors whose
    dimensions have unit variance on average."""
    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        return (x + level * noise).clamp(0, 1) if bounded else x + level * noise
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    if kind == "mask":
        return x * (u >= level)
    salt = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device) < 0.5
    return torch.where(u < level, salt.to(x.dtype), x)
