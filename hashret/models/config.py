"""A model's configuration and the files it is saved as, readable without torch, so that
an index can be opened and queried by id, exported or pruned without loading the network."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import defaults
from ..errors import BundleError, UsageError

MODEL_KINDS = ("deep", "denoising", "semi", "linear", "fa", "sparse")
# kinds fitted by iterations over the whole training split (alternating least squares, EM,
# dictionary rounds), not by epochs of gradient steps
CLASSIC_MODEL_KINDS = ("linear", "fa", "sparse")
WEIGHTS_FILE, CONFIG_FILE, FEATURIZER_FILE = "model.safetensors", "config.json", \
    "featurizer.json"


def check_bits(bits: int) -> int:
    """Code lengths are whole bytes, 8 to 256 bits, because codes are stored packed."""
    if not isinstance(bits, (int, np.integer)) or bits % 8 or not 8 <= bits <= 256:
        raise UsageError(f"{{bits:{bits}}} is not a multiple of 8 between 8 and 256; codes are "
                         "stored as whole bytes: use 16, 32, 64 or 128, for example", option="bits")
    return int(bits)


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; saved as ``config.json`` beside the
    weights. Fields left at 0/None are derived from the corpus in :mod:`hashret.defaults`."""

    kind: str = "deep"
    bits: int = defaults.DEFAULT_BITS
    modality: str = ""
    n_features: int = 0
    hidden: int = 0
    shape: list | None = None
    channels: list | None = None
    # batch-normalised 3 x 3 convolutions at each scale of the image encoder, max-pooled;
    # 0 = one strided convolution a scale (set from the model kind when training starts;
    # None in a bundle written before there was a choice: 0)
    convs_per_scale: int | None = None
    # weight of the KL term toward fair bits; derived when training starts (documents:
    # from their mean length, defaults.text_kl_weight; images 1)
    kl_weight: float | None = None
    # weight of the image models' oriented-gradient reconstruction; set from the image
    # shape when training starts (None in a bundle written before the term existed: 0)
    gradient_weight: float | None = None
    # cells to the shorter image side of each scale of those histograms (None in a bundle
    # written before there was a choice: one scale of 7)
    gradient_cells: list | None = None
    # weight of the pull of a model's bits toward target bits (hashret.models.code_targets):
    # an image model's toward the ITQ code of its gradient histograms, a document model's
    # toward its neighbours' bits; set from the data when training starts (None in a
    # document model written before the term existed: none)
    code_target_weight: float | None = None
    epochs: int | None = None
    batch_size: int = defaults.BATCH_SIZE
    lr: float = defaults.LEARNING_RATE
    seed: int = 0
    extra: dict = field(default_factory=dict)


def read_model_json(path, featurizer: bool = True) -> tuple[dict, dict]:
    """The ``config.json`` and ``featurizer.json`` objects of a saved model (the second an
    empty object, unread, when not ``featurizer``), or a :class:`BundleError` that says
    which file is missing or damaged."""
    path = Path(path)
    try:
        cfg = json.loads((path / CONFIG_FILE).read_text())
        feat = json.loads((path / FEATURIZER_FILE).read_text()) if featurizer else {}
    except FileNotFoundError as e:
        raise BundleError(f"{path}: missing {Path(e.filename).name}; rebuild the index") \
            from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path}: damaged model configuration ({str(e)[:80]}); rebuild "
                          "the index") from None
    if not isinstance(cfg, dict) or not isinstance(feat, dict):
        raise BundleError(f"{path}: damaged model configuration (not a JSON object); "
                          "rebuild the index")
    return cfg, feat
