"""The document encoder's forward pass in numpy, so a query by text needs no torch.

Importing torch takes about 2 s on a 2-core CPU, more than the rest of a query from the
command line; a query only runs the encoder, which for documents is small: TF-IDF weights
times an embedding table, summed per document, then two ReLU layers
(:class:`hashret.models.networks.TextEncoder`). Reading its weights from
``model.safetensors`` with numpy and running that here gives the same logits to float
rounding (the tests hold the two to each other). Any other network (images, the linear,
factor-analysis and sparse-coding kinds) is left to :class:`~hashret.models.HashModel`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BundleError
from .bits import pack_bits

# TextEncoder's parameters: the sparse input layer, then body = ReLU, Dropout, Linear (2),
# ReLU, Dropout, Linear (5)
_KEYS = ("encoder.inp.bag.weight", "encoder.inp.bias", "encoder.body.2.weight",
         "encoder.body.2.bias", "encoder.body.5.weight", "encoder.body.5.bias")
_CHUNK = 256            # documents a step: bounds the (terms, hidden) products held at once


class NumpyTextEncoder:
    """Code logits of documents from the weights of a document model's encoder."""

    def __init__(self, weights: dict):
        (self.bag, self.bias0, self.w1, self.b1, self.w2, self.b2) = (
            np.asarray(weights[k], np.float64) for k in _KEYS)
        hidden = self.bag.shape[1]
        if not (self.bias0.shape == (hidden,) and self.w1.shape == (hidden, hidden)
                and self.b1.shape == (hidden,) and self.w2.shape[1] == hidden
                and self.b2.shape == (self.w2.shape[0],)):
            raise ValueError("the encoder's weights do not fit together")

    @classmethod
    def load(cls, weights_file, model: dict) -> "NumpyTextEncoder | None":
        """The encoder of the document model whose manifest entry is ``model``, or None
        when that model is not one this class runs (any network but the text encoder)."""
        if model.get("modality") != "text":
            return None
        from safetensors import SafetensorError, safe_open
        path = Path(weights_file)
        try:
            with safe_open(str(path), framework="np") as f:
                encoder_keys = {k for k in f.keys() if k.startswith("encoder.")}
                if encoder_keys != set(_KEYS):
                    return None
                return cls({k: f.get_tensor(k) for k in _KEYS})
        except FileNotFoundError:
            raise BundleError(f"{path.parent}: missing {path.name}; rebuild the index") from None
        except (SafetensorError, OSError, ValueError) as e:
            raise BundleError(f"{path.parent}: {path.name} is damaged or does not match the "
                              f"configuration ({str(e)[:100]}); rebuild the index") from None

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
        h = np.maximum(h @ self.w1.T + self.b1, 0)
        return (h @ self.w2.T + self.b2).astype(np.float32)

    def encode(self, featurizer, texts):
        """``(codes, logits, empty)`` of a list of texts through the index's featurizer:
        packed codes, float32 logits, and how many texts hold no vocabulary word."""
        out, empty = [], 0
        for s in range(0, len(texts), _CHUNK):
            feats = featurizer.transform(texts[s:s + _CHUNK])
            empty += int((np.diff(feats.indptr) == 0).sum())
            w = featurizer.weight(feats)
            out.append(self.logits(feats.indices, feats.indptr, w.data))
        emb = np.concatenate(out) if out else np.zeros((0, self.bits), np.float32)
        return pack_bits(emb > 0), emb, empty
