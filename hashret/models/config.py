"""A model's configuration and the files it is saved as, readable without torch, so that
an index can be opened and queried by id, exported or pruned without loading the network.

:class:`ModelConfig` holds the network's sizes and the training settings; its ``options``
are the hyperparameters of its model kind, one typed class per kind (:data:`OPTIONS`);
``learned`` is what training found out about the data (the classes, the teacher's report),
kept apart so that a configuration says what was asked and what was learnt.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from .. import defaults
from ..errors import BundleError, UsageError, plain_reason
from ..nets import CLASSIC_MODEL_KINDS, MODEL_KINDS

__all__ = ["CLASSIC_MODEL_KINDS", "MODEL_KINDS", "ModelConfig", "LearnedState", "OPTIONS",
           "check_bits", "options_for", "read_model_json"]

WEIGHTS_FILE, CONFIG_FILE, FEATURIZER_FILE = "model.safetensors", "config.json", \
    "featurizer.json"


def check_bits(bits: int) -> int:
    """Code lengths are whole bytes, 8 to 256 bits, because codes are stored packed."""
    if not isinstance(bits, (int, np.integer)) or bits % 8 or not 8 <= bits <= 256:
        raise UsageError(f"{{bits:{bits}}} is not a multiple of 8 between 8 and 256; codes are "
                         "stored as whole bytes: use 16, 32, 64 or 128, for example", option="bits")
    return int(bits)


# --- hyperparameters of each model kind --------------------------------------------------

@dataclass
class DeepOptions:
    """``deep``: the binary autoencoder trained by gradients (and what the kinds built on it
    share)."""
    balance: float = 0.0               # weight of a term pulling each bit toward 1/2
    word_dropout: float = 0.0          # documents: share of words dropped from the encoder
    neighbours: int = defaults.TEXT_NEIGHBOURS      # documents: neighbours reconstructed
    neighbour_rank: int = defaults.TEXT_NEIGHBOUR_RANK   # their latent space (0: TF-IDF)
    # the neighbours against the item itself; None: defaults.NEIGHBOUR_WEIGHT
    neighbour_weight: float | None = None


@dataclass
class DenoisingOptions(DeepOptions):
    noise: str | None = None           # KIND:LEVEL; None: defaults.denoising_noise


@dataclass
class SemiOptions(DeepOptions):
    labels_fraction: float | None = None    # share of the training labels used (None: all)
    mirror: float | None = None        # images: share of a batch mirrored after the teacher
    distil: bool | None = None         # train a teacher first (None: defaults.SEMI_TEACHER)
    centre_weight: float | None = None      # None: defaults.SEMI_CENTRE_WEIGHT
    label_smoothing: float | None = None    # single-label: None: defaults.SEMI_LABEL_SMOOTHING
    # bits pulled toward the label pipeline's (None: defaults.SEMI_PIPELINE_TARGET)
    pipeline_target: bool | None = None
    # documents: alpha of the labels spread to those targets (None: defaults.SEMI_LABEL_SPREAD)
    label_spread: float | None = None


@dataclass
class RotationOptions:
    """``linear`` and ``fa``: how a continuous unit becomes a bit."""
    rotation: str = "none"             # none: the unit's median; itq: ITQ-rotated signs


@dataclass
class SparseOptions:
    """``sparse`` has no options of its own."""


@dataclass
class ColorizeOptions:
    """``colorize`` has no options of its own."""


OPTIONS = {"deep": DeepOptions, "denoising": DenoisingOptions, "semi": SemiOptions,
           "linear": RotationOptions, "fa": RotationOptions, "sparse": SparseOptions,
           "colorize": ColorizeOptions}
# an option given to a kind without it: the kinds it belongs to, for the message
_OPTION_KINDS = {"noise": "{model:denoising}", "labels_fraction": "{model:semi}",
                 "mirror": "{model:semi}", "distil": "{model:semi}",
                 "rotation": "{model:linear} or {model:fa}"}
ROTATIONS = ("none", "itq")


def options_for(kind: str, given=None):
    """The typed options of model ``kind`` from a dict (or an options object), checked."""
    if kind not in MODEL_KINDS:
        raise UsageError(f"unknown model kind {kind!r}; choose one of "
                         f"{', '.join(MODEL_KINDS)}", option="model")
    cls = OPTIONS[kind]
    if given is None:
        return cls()
    values = asdict(given) if not isinstance(given, dict) else dict(given)
    if values.get("rotation") == "none" and kind not in ("linear", "fa"):
        del values["rotation"]                 # the default of every kind: nothing asked
    names = {f.name for f in fields(cls)}
    for name in values:
        if name not in names:
            if name in _OPTION_KINDS:
                raise UsageError(f"{{{name}}} is an option of {_OPTION_KINDS[name]}, not of "
                                 f"{{model:{kind}}}", option=name)
            raise UsageError(f"unknown option {name!r} of model kind {kind!r} (options: "
                             f"{', '.join(sorted(names)) or 'none'})", option=name)
    opts = cls(**values)
    _check_options(opts)
    return opts


def _check_options(o) -> None:
    frac = getattr(o, "labels_fraction", None)
    if frac is not None and not 0 < float(frac) <= 1:
        raise UsageError("{labels_fraction} is a fraction in (0, 1] of the training labels "
                         "a semi-supervised model sees", option="labels_fraction")
    mirror = getattr(o, "mirror", None)
    if mirror is not None and not 0 <= float(mirror) <= 1:
        raise UsageError(f"{{mirror:{mirror}}}: the share in [0, 1] of each training batch "
                         "of a semi image model mirrored left to right", option="mirror")
    rotation = getattr(o, "rotation", "none")
    if rotation not in ROTATIONS:
        raise UsageError(f"{{rotation:{rotation}}}: choose none or itq, for the linear and "
                         "fa models (their codes are continuous before thresholding)",
                         option="rotation")


# --- what training learnt ------------------------------------------------------------------

@dataclass
class LearnedState:
    """What a fit found out about its data; saved with the configuration."""
    classes: list = field(default_factory=list)    # a classifier's labels, in output order
    multilabel: bool = False                       # some training item has several labels
    class_weight: float = 1.0                      # the classification term's weight
    labelled_items: int | None = None              # labelled training items used
    teacher: dict | None = None                    # a teacher's report (and "mirror")


_LEARNED = {f.name for f in fields(LearnedState)}


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
    # weight of the pull of a model's bits toward target bits (hashret.training.targets):
    # an image model's toward the ITQ code of its gradient histograms, a document model's
    # toward its neighbours' bits; set from the data when training starts (None in a
    # document model written before the term existed: none)
    code_target_weight: float | None = None
    # documents: what the model reads (hashret.data.sentences.FEATURES; None: tfidf) and
    # the sentence encoder's folder, when not the packaged MiniLM
    features: str | None = None
    text_encoder: str | None = None
    epochs: int | None = None
    batch_size: int = defaults.BATCH_SIZE
    lr: float = defaults.LEARNING_RATE
    seed: int = 0
    options: object = None             # OPTIONS[kind], or a dict of them
    learned: LearnedState = field(default_factory=LearnedState)

    def __post_init__(self):
        if self.options is None or isinstance(self.options, dict):
            self.options = options_for(self.kind, self.options)
        if isinstance(self.learned, dict):
            self.learned = LearnedState(**self.learned)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def network_input(self) -> str:
        """What the network reads: the items' modality, or vectors for documents read
        through a sentence encoder."""
        return "vector" if self.modality == "text" and self.features == "minilm" \
            else self.modality

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """A saved configuration; one written before options and learned state were apart
        holds both in ``extra``."""
        d = dict(d)
        extra = d.pop("extra", None)
        if extra is not None:
            d["learned"] = {k: v for k, v in extra.items() if k in _LEARNED}
            d["options"] = {k: v for k, v in extra.items() if k not in _LEARNED}
        opts = d.get("options")
        if isinstance(opts, dict):       # a saved config never fails on an option's check
            kind = d.get("kind", "deep")
            names = {f.name for f in fields(OPTIONS.get(kind, DeepOptions))}
            d["options"] = OPTIONS.get(kind, DeepOptions)(
                **{k: v for k, v in opts.items() if k in names})
        return cls(**d)


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
        raise BundleError(f"{path}: damaged model configuration: {plain_reason(e)}; rebuild "
                          "the index") from None
    if not isinstance(cfg, dict) or not isinstance(feat, dict):
        raise BundleError(f"{path}: damaged model configuration (not a JSON object); "
                          "rebuild the index")
    return cfg, feat
