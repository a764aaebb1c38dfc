"""A model's encoder run in numpy, so a query by example needs no torch.

Importing torch takes about 2 s on a 2-core CPU, more than the rest of a query from the
command line, and a query only runs the encoder: for documents TF-IDF weights times an
embedding table, summed per document, then two ReLU layers
(:class:`hashret.nets.networks.TextEncoder`); for vectors three dense layers
(:class:`hashret.nets.networks.VectorEncoder`); for images 3 x 3 convolutions at two or
three scales and a dense head (:class:`hashret.nets.networks.ImageEncoder`). Reading
their weights from ``model.safetensors`` with numpy and running them here gives the
network's logits to float rounding (the tests hold the two to each other). The layers are
laid out from the model's configuration exactly as the network lays them out; weights that
do not match that layout (another network: the linear, factor-analysis and sparse-coding
kinds, or a future one) make :func:`load_numpy_encoder` return None, and
:class:`~hashret.models.HashModel` encodes instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import BundleError
from ..search.bits import pack_bits
from .config import CONFIG_FILE

_TEXT_CHUNK = 256       # documents a step: bounds the (terms, hidden) products held at once
_IMAGE_CHUNK = 64       # images a step: bounds the convolution windows held at once
_BN_EPS = 1e-5          # torch.nn.BatchNorm2d's default


def load_numpy_encoder(config: dict, weights_file):
    """The numpy encoder of the model with configuration ``config`` (its ``config.json``)
    and weights ``weights_file`` (:class:`NumpyTextEncoder`, :class:`NumpyVectorEncoder` or
    :class:`NumpyImageEncoder`), or None when its network is not one of those."""
    from safetensors import SafetensorError, safe_open
    path = Path(weights_file)
    try:
        with safe_open(str(path), framework="np") as f:
            names = {k for k in f.keys()
                     if k.startswith("encoder.") and not k.endswith(".num_batches_tracked")}
            reads = "vector" if config.get("features") == "minilm" else config.get("modality")
            cls = {"text": NumpyTextEncoder, "vector": NumpyVectorEncoder}.get(
                reads, NumpyImageEncoder)
            layout = cls.layout(config)
            if layout is None or names != set(layout):
                return None
            weights = {k: f.get_tensor(k) for k in layout}
            if any(weights[k].shape != shape for k, shape in layout.items()):
                return None
        return cls(weights, config)
    except FileNotFoundError:
        raise BundleError(f"{path.parent}: missing {path.name}; rebuild the index") from None
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise BundleError(f"{path.parent}: {path.name} or {CONFIG_FILE} is damaged or does "
                          f"not match the other ({str(e)[:100]}); rebuild the index") from None


def _mlp_layout(config: dict, first: str, first_shape) -> dict | None:
    """The parameters of an encoder laid out as TextEncoder and VectorEncoder lay theirs
    out: an input layer (``first``, of shape ``first_shape(n_features, hidden)``) and its
    bias, then body = ReLU, Dropout, Linear (2), ReLU, Dropout, Linear (5). None for an
    unknown configuration."""
    try:
        n, hidden, bits = (int(config[k]) for k in ("n_features", "hidden", "bits"))
    except (KeyError, TypeError, ValueError):
        return None
    return {first: first_shape(n, hidden), "encoder.inp.bias": (hidden,),
            "encoder.body.2.weight": (hidden, hidden), "encoder.body.2.bias": (hidden,),
            "encoder.body.5.weight": (bits, hidden), "encoder.body.5.bias": (bits,)}


def _linear(x, w, b):
    return x @ w.T + b


class NumpyTextEncoder:
    """Code logits of documents from the weights of a document model's encoder."""

    @staticmethod
    def layout(config: dict) -> dict | None:
        """TextEncoder's parameter names and shapes: the sparse input layer is an embedding
        bag, (n_features, hidden)."""
        return _mlp_layout(config, "encoder.inp.bag.weight", lambda n, hidden: (n, hidden))

    def __init__(self, weights: dict, config: dict | None = None):
        w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
        self.bag, self.bias0 = w["encoder.inp.bag.weight"], w["encoder.inp.bias"]
        self.w1, self.b1 = w["encoder.body.2.weight"], w["encoder.body.2.bias"]
        self.w2, self.b2 = w["encoder.body.5.weight"], w["encoder.body.5.bias"]

    @property
    def bits(self) -> int:
        return self.w2.shape[0]

    def logits(self, indices: np.ndarray, indptr: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Code logits (n, bits), float32, of documents given as CSR rows of their TF-IDF
        weights over the vocabulary (the embedding bag's ``per_sample_weights``)."""
        n = len(indptr) - 1
        h = np.zeros((n, self.bag.shape[1]))
        terms = np.asarray(values, np.float64)[:, None] * self.bag[indices]
        full = np.flatnonzero(np.diff(indptr) > 0)      # rows with a term: sum their slices
        if len(full):
            h[full] = np.add.reduceat(terms, indptr[full], axis=0)
        h = np.maximum(h + self.bias0, 0)
        h = np.maximum(_linear(h, self.w1, self.b1), 0)
        return _linear(h, self.w2, self.b2).astype(np.float32)

    def encode(self, featurizer, texts):
        """``(codes, logits, empty)`` of a list of texts through the index's featurizer:
        packed codes, float32 logits, and how many texts hold no vocabulary word."""
        out, empty = [], 0
        for s in range(0, len(texts), _TEXT_CHUNK):
            feats = featurizer.transform(texts[s:s + _TEXT_CHUNK])
            empty += int((np.diff(feats.indptr) == 0).sum())
            w = featurizer.weight(feats)
            out.append(self.logits(feats.indices, feats.indptr, w.data))
        return _packed(out, self.bits) + (empty,)


class NumpyVectorEncoder:
    """Code logits of vectors from the weights of a vector model's encoder."""

    @staticmethod
    def layout(config: dict) -> dict | None:
        """VectorEncoder's parameter names and shapes: a dense input layer,
        (hidden, n_features)."""
        return _mlp_layout(config, "encoder.inp.weight", lambda n, hidden: (hidden, n))

    def __init__(self, weights: dict, config: dict | None = None):
        self.w = {k.removeprefix("encoder."): np.asarray(v, np.float32)
                  for k, v in weights.items()}

    @property
    def bits(self) -> int:
        return self.w["body.5.weight"].shape[0]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Code logits (n, bits), float32, of featurized vectors (n, d)."""
        w = self.w
        h = np.maximum(_linear(x, w["inp.weight"], w["inp.bias"]), 0)
        h = np.maximum(_linear(h, w["body.2.weight"], w["body.2.bias"]), 0)
        return _linear(h, w["body.5.weight"], w["body.5.bias"]).astype(np.float32)

    def encode(self, featurizer, vectors):
        """``(codes, logits, 0)`` of (n, d) vectors through the index's featurizer."""
        out = [self.logits(featurizer.transform(vectors[s:s + _TEXT_CHUNK]))
               for s in range(0, len(vectors), _TEXT_CHUNK)]
        return _packed(out, self.bits) + (0,)


class NumpyImageEncoder:
    """Code logits of images from the weights of an image model's encoder."""

    @staticmethod
    def layout(config: dict) -> dict | None:
        """The encoder's parameter names and shapes, laid out as ImageEncoder lays out its
        layers: ``features`` (per scale, one per entry of ``channels``: one strided
        convolution and a ReLU, or ``convs_per_scale`` convolutions each with batch norm
        and ReLU, then max-pooling; a flatten) and ``head`` (Linear, ReLU, Linear). None for
        an unknown configuration."""
        try:
            h, w, c = config["shape"]
            bits, hidden = int(config["bits"]), int(config["hidden"])
            channels = [int(v) for v in config["channels"]]
            per_scale = int(config.get("convs_per_scale") or 0)
        except (KeyError, TypeError, ValueError):
            return None
        if not channels:
            return None
        out = {}
        if min(h, w) >= 8:
            i, cin = 0, c
            for cout in channels:
                for _ in range(max(per_scale, 1)):
                    out[f"encoder.features.{i}.weight"] = (cout, cin, 3, 3)
                    out[f"encoder.features.{i}.bias"] = (cout,)
                    if per_scale:
                        for name in ("weight", "bias", "running_mean", "running_var"):
                            out[f"encoder.features.{i + 1}.{name}"] = (cout,)
                        i += 3                  # conv, batch norm, ReLU
                    else:
                        i += 2                  # strided conv, ReLU
                    cin = cout
                if per_scale:
                    i += 1                      # max-pooling
            side = 2 ** len(channels)
            n_flat = channels[-1] * -(-h // side) * -(-w // side)
        else:
            n_flat = h * w * c
        out.update({"encoder.head.0.weight": (hidden, n_flat), "encoder.head.0.bias": (hidden,),
                    "encoder.head.2.weight": (bits, hidden), "encoder.head.2.bias": (bits,)})
        return out

    def __init__(self, weights: dict, config: dict):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        h, w, _ = config["shape"]
        self.conv = min(h, w) >= 8
        self.per_scale = int(config.get("convs_per_scale") or 0)
        self.scales = len(config["channels"])
        self.bits = int(config["bits"])
        # a model trained on mirrored images codes the mean of an image's logits and its
        # mirror image's (HashModel.embed_features)
        learned = config.get("learned") or config.get("extra") or {}   # extra: older configs
        self.mirror = float((learned.get("teacher") or {})
                            .get("mirror", 0.0)) > 0

    def _conv(self, x, i, stride):
        """3 x 3 convolution with padding 1: (n, c, h, w) -> (n, c', h', w')."""
        weight, bias = self.w[f"encoder.features.{i}.weight"], \
            self.w[f"encoder.features.{i}.bias"]
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::stride, ::stride]
        y = np.tensordot(win, weight, axes=([1, 4, 5], [1, 2, 3]))       # (n, h', w', c')
        return (y + bias).transpose(0, 3, 1, 2)

    def _batch_norm(self, x, i):
        p = f"encoder.features.{i}."
        scale = self.w[p + "weight"] / np.sqrt(self.w[p + "running_var"] + _BN_EPS)
        shift = self.w[p + "bias"] - self.w[p + "running_mean"] * scale
        return x * scale[:, None, None] + shift[:, None, None]

    @staticmethod
    def _max_pool(x):
        """2 x 2 max-pooling, rounding up (an odd side's last row or column alone)."""
        n, c, h, w = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), constant_values=-np.inf)
        return xp.reshape(n, c, (h + 1) // 2, 2, (w + 1) // 2, 2).max(axis=(3, 5))

    def _features(self, x):
        if not self.conv:
            return x.reshape(len(x), -1)
        i = 0
        for _ in range(self.scales):
            if self.per_scale:
                for _ in range(self.per_scale):
                    x = np.maximum(self._batch_norm(self._conv(x, i, 1), i + 1), 0)
                    i += 3
                x = self._max_pool(x)
                i += 1
            else:
                x = np.maximum(self._conv(x, i, 2), 0)
                i += 2
        return x.reshape(len(x), -1)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Code logits (n, bits), float32, of (n, c, h, w) images scaled to [0, 1]."""
        def forward(v):
            f = np.maximum(_linear(self._features(v), self.w["encoder.head.0.weight"],
                                   self.w["encoder.head.0.bias"]), 0)
            return _linear(f, self.w["encoder.head.2.weight"], self.w["encoder.head.2.bias"])
        out = forward(x)
        if self.mirror:
            out = (out + forward(x[..., ::-1])) / 2
        return out.astype(np.float32)

    def encode(self, featurizer, images):
        """``(codes, logits, 0)`` of images conformed to the model's shape."""
        out = [self.logits(featurizer.transform(images[s:s + _IMAGE_CHUNK]))
               for s in range(0, len(images), _IMAGE_CHUNK)]
        return _packed(out, self.bits) + (0,)


def _packed(logits: list, bits: int):
    emb = np.concatenate(logits) if logits else np.zeros((0, bits), np.float32)
    return pack_bits(emb > 0), emb
