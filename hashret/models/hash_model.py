""":class:`HashModel`: the estimator. It holds a network, the featurizer that turns items
into its input, and the configuration; it encodes items into K-bit codes, decodes codes,
predicts labels, and saves and loads itself. Fitting is :mod:`hashret.training`'s."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from .. import defaults
from ..data import as_corpus
from ..data.corpus import IMAGE, TEXT, VECTOR, Corpus
from ..data.sentences import FEATURES
from ..errors import BundleError, UsageError
from ..data.features import SparseRows, featurizer_from_dict, take_rows
from ..nets.binary_autoencoder import (BinaryAutoencoder, batch_input, batch_tensors,
                                       predicted_classes)
from ..nets.classic import CLASSIC_KINDS
from ..nets.colorize import ColorizingAutoencoder
from ..nets.networks import parse_noise
from ..progress import progress_bar
from ..search.bits import pack_bits, unpack_bits
from .config import (CONFIG_FILE, FEATURIZER_FILE, WEIGHTS_FILE, ModelConfig, check_bits,
                     options_for, read_model_json)

log = logging.getLogger("hashret")


class HashModel:
    """Learns K-bit binary codes for the items of a corpus.

    >>> model = HashModel(bits=64).fit(corpus)
    >>> codes, embeddings = model.encode(texts_or_images)

    ``options`` are the model kind's hyperparameters (a dict, or the kind's class in
    :data:`hashret.models.config.OPTIONS`)."""

    def __init__(self, config: ModelConfig | None = None, **overrides):
        self.config = config or ModelConfig()
        options = overrides.pop("options", None)
        for k, v in overrides.items():
            if not hasattr(self.config, k):
                raise TypeError(f"unknown model setting {k!r}")
            setattr(self.config, k, v)
        check_bits(self.config.bits)
        c = self.config
        if options is not None or "kind" in overrides:
            c.options = options_for(c.kind, options)
        if c.features not in (None,) + FEATURES:
            raise UsageError(f"{{features:{c.features}}} is not understood; use "
                             f"{', '.join(FEATURES)}", option="features")
        noise = getattr(c.options, "noise", None)
        if noise:
            parse_noise(noise, c.network_input or "image")
        self.featurizer = None
        self.module = None
        self.report = None
        self.device = torch.device("cpu")
        self.empty_items = 0

    # --- features and the network ------------------------------------------------------
    @property
    def modality(self) -> str:
        return self.config.modality

    def features(self, items):
        """Featurize raw items: term counts (text), scaled pixels (images) or normalised
        vectors."""
        if self.featurizer is None:
            raise UsageError("the model is not fitted; call fit() or load() first")
        return self.featurizer.transform(items)

    def new_network(self):
        """An untrained network of this configuration."""
        c = self.config
        o, learned = c.options, c.learned
        shape = tuple(c.shape) if c.shape else None
        if c.kind in CLASSIC_KINDS:
            return CLASSIC_KINDS[c.kind](c.network_input, c.n_features, c.bits, shape)
        if c.kind == "colorize":
            return ColorizingAutoencoder(shape, c.bits, tuple(c.channels), c.hidden,
                                         kl_weight=c.kl_weight,
                                         code_target_weight=c.code_target_weight or 0.0)
        noise = None
        if c.kind == "denoising":
            noise = o.noise or defaults.denoising_noise(c.network_input)
        return BinaryAutoencoder(c.network_input, c.bits, n_features=c.n_features, hidden=c.hidden,
                                 shape=shape,
                                 channels=tuple(c.channels) if c.channels else (32, 64),
                                 kl_weight=c.kl_weight,
                                 balance_weight=float(o.balance),
                                 word_dropout=float(o.word_dropout),
                                 noise=noise, n_classes=len(learned.classes),
                                 multilabel=bool(learned.multilabel),
                                 class_weight=float(learned.class_weight),
                                 gradient_weight=c.gradient_weight or 0.0,
                                 gradient_cells=tuple(c.gradient_cells or (7,)),
                                 code_target_weight=c.code_target_weight or 0.0,
                                 convs_per_scale=c.convs_per_scale or 0,
                                 centre_weight=float(getattr(o, "centre_weight", None) or 0.0),
                                 label_smoothing=float(getattr(o, "label_smoothing", None)
                                                       or 0.0))

    def bits_from(self) -> str:
        """How a bit is read off the model, for manifests and ``hashret info``."""
        c = self.config
        if c.kind in ("linear", "fa"):
            return ("ITQ-rotated centred unit > 0" if c.options.rotation == "itq"
                    else "unit > its training median")
        if c.kind == "sparse":
            return "atom active (lasso coefficient != 0)"
        if self.mirror_share:
            return "mean logit of the image and its mirror image > 0"
        return "logit > 0"

    def options(self) -> dict:
        """The user-facing options of this model kind, defaults filled in."""
        c = self.config
        out = {}
        if c.kind == "denoising":
            out["noise"] = c.options.noise or defaults.denoising_noise(c.network_input)
        if c.kind == "semi":
            out["labels_fraction"] = c.options.labels_fraction or 1.0
            out["classes"] = len(c.learned.classes)
            out["multilabel"] = bool(c.learned.multilabel)
            out["teacher"] = bool(c.learned.teacher)
            out["mirror"] = self.mirror_share
        if c.kind in ("linear", "fa"):
            out["rotation"] = c.options.rotation
        if c.features not in (None, "tfidf"):
            out["features"] = c.features
            if c.text_encoder:
                out["text_encoder"] = c.text_encoder
        return out

    @property
    def is_classic(self) -> bool:
        return self.config.kind in CLASSIC_KINDS

    @property
    def has_classifier(self) -> bool:
        return getattr(self.module, "classifier", None) is not None

    @property
    def mirror_share(self) -> float:
        """Share of each training batch that was mirrored (0: none)."""
        return float((self.config.learned.teacher or {}).get("mirror", 0.0))

    # --- fitting ---------------------------------------------------------------------------
    def fit(self, corpus, rows=None, device: str = "auto",
            progress: bool = True, on_epoch=None) -> "HashModel":
        """Train on ``rows`` of ``corpus`` (default: its training split), holding out a
        validation part for early stopping (see :func:`hashret.training.fit_model`).
        ``corpus`` may also be a list of texts, an image array or a vector array
        (:func:`hashret.data.as_corpus`)."""
        from ..training import fit_model
        corpus = as_corpus(corpus)
        rows = corpus.training_indices() if rows is None else np.asarray(rows)
        self.config.modality = corpus.modality
        if self.config.features not in (None, "tfidf") and corpus.modality != TEXT:
            raise UsageError(f"{{features:{self.config.features}}} reads documents, but the "
                             f"corpus holds {corpus.modality} items; leave it out",
                             option="features")
        return fit_model(self, corpus.take(rows), [corpus.labels[i] for i in rows],
                         device=device, progress=progress, on_epoch=on_epoch)

    # --- inference -----------------------------------------------------------------------
    def _require_module(self):
        if self.module is None:
            raise UsageError("the model is not fitted; call fit() or load() first")

    @torch.no_grad()
    def embed(self, items) -> np.ndarray:
        """The continuous code before binarisation (bit = embedding > 0), float32 (n, K)."""
        return self.embed_features(self.features(items))

    @torch.no_grad()
    def embed_features(self, feats) -> np.ndarray:
        self._require_module()
        self.module.eval()
        batch = batch_tensors(self.featurizer, feats, self.device)
        x = batch_input(batch)
        logits = self._encoding_logits(x)
        if self.mirror_share:
            # a model trained on mirrored images too codes the mean of an image's logits and
            # its mirror image's (see defaults.SEMI_MIRROR): an image and its mirror image
            # get one code, and the two views' errors partly cancel
            logits = (logits + self._encoding_logits(x.flip(-1))) / 2
        return logits.float().cpu().numpy()

    def logits_of(self, feats, rows: np.ndarray) -> np.ndarray:
        """The code logits of ``rows`` of ``feats`` as the model is now, encoded a batch at a
        time; the module's mode is kept."""
        was_training, step = self.module.training, defaults.ENCODE_BATCH_SIZE
        logits = [self.embed_features(take_rows(feats, rows[s:s + step]))
                  for s in range(0, len(rows), step)]
        self.module.train(was_training)
        return np.concatenate(logits) if logits else np.zeros((0, self.config.bits), np.float32)

    def _encoding_logits(self, x) -> torch.Tensor:
        """The module's code logits of ``x``; images on a CPU a small chunk at a time (see
        defaults.IMAGE_FORWARD_CHUNK)."""
        step = defaults.IMAGE_FORWARD_CHUNK
        if isinstance(x, torch.Tensor) and x.dim() == 4 and x.device.type == "cpu" \
                and len(x) > step:
            return torch.cat([self.module.logits(x[s:s + step]) for s in range(0, len(x), step)])
        return self.module.logits(x)

    def classifier_accuracy(self, labels, codes: np.ndarray) -> float | None:
        """Share of the labelled items (``labels``, one list per code) whose predicted labels
        include a true one (single-label: plain accuracy)."""
        if not self.has_classifier:
            return None
        labelled = [i for i, ls in enumerate(labels) if ls]
        if not labelled:
            return None
        pred = self.predict_labels(codes[labelled])
        hits = sum(bool(set(p) & set(labels[i])) if self.config.learned.multilabel
                   else p == list(labels[i]) for p, i in zip(pred, labelled))
        return hits / len(labelled)

    def _embed_counting_empty(self, items) -> np.ndarray:
        """:meth:`embed`, adding the documents with no vocabulary word (coded from biases
        alone) to ``empty_items``."""
        feats = self.features(items)
        if isinstance(feats, SparseRows):
            self.empty_items += int((np.diff(feats.indptr) == 0).sum())
        return self.embed_features(feats)

    def encode(self, items, batch_size: int = defaults.ENCODE_BATCH_SIZE):
        """``(codes, embeddings)``: packed uint8 codes (n, K/8) and float32 (n, K).

        Counts ``empty_items``: documents with no vocabulary word."""
        self.empty_items = 0
        embs = [self._embed_counting_empty(items[s:s + batch_size])
                for s in range(0, len(items), batch_size)]
        emb = np.concatenate(embs) if embs else np.zeros((0, self.config.bits), np.float32)
        return pack_bits(emb > 0), emb

    def iter_encode(self, corpus: Corpus, batch_size: int = defaults.ENCODE_BATCH_SIZE,
                    progress: bool = True):
        """Encode a corpus batch by batch, yielding ``(rows, codes, embeddings)``: only
        one batch of items and features is held at a time.

        Counts ``empty_items``: documents with no vocabulary word (coded from biases
        alone)."""
        self.check_modality(corpus.modality)
        self.empty_items = 0
        with progress_bar(total=len(corpus), desc="encoding", unit="item", disable=not progress,
                          leave=False) as bar:
            for rows, items in corpus.batches(batch_size):
                emb = self._embed_counting_empty(items)
                yield rows, pack_bits(emb > 0), emb
                bar.update(len(rows))

    def encode_corpus(self, corpus: Corpus, batch_size: int = defaults.ENCODE_BATCH_SIZE,
                      progress: bool = True):
        """``(codes, embeddings)`` of a whole corpus, in memory."""
        codes = np.zeros((len(corpus), self.config.bits // 8), np.uint8)
        emb = np.zeros((len(corpus), self.config.bits), np.float32)
        for rows, c, e in self.iter_encode(corpus, batch_size, progress):
            codes[rows], emb[rows] = c, e
        return codes, emb

    def check_modality(self, modality: str):
        """Refuse input of another modality (text for an image model, images for a
        document model, ...)."""
        if modality != self.modality:
            raise UsageError(f"this model encodes {self.modality} but the input is "
                             f"{modality}; give {self.modality} input or build another index")

    @property
    def colorizes(self) -> bool:
        """A ``colorize`` model: its codes decode into colours only beside a grey image."""
        return self.config.kind == "colorize"

    @torch.no_grad()
    def colorize(self, items, batch_size: int = defaults.IMAGE_FORWARD_CHUNK) -> np.ndarray:
        """Colour versions (n, h, w, 3) in [0, 1] of images (grey or colour, in the model's
        size): each image's own lightness with the colours its code predicts."""
        out = [self.colorize_features(self.features(items[s:s + batch_size]))
               for s in range(0, len(items), batch_size)]
        h, w, _ = self.config.shape
        return np.concatenate(out) if out else np.zeros((0, h, w, 3), np.float32)

    @torch.no_grad()
    def colorize_features(self, feats: np.ndarray) -> np.ndarray:
        """:meth:`colorize` of images already featurized, (n, c, h, w)."""
        self._require_module()
        if not self.colorizes:
            raise UsageError(f"this model is a {{model:{self.config.kind}}} model; colours "
                             "come from a {model:colorize} model", option="model")
        self.module.eval()
        x = torch.from_numpy(np.ascontiguousarray(feats)).to(self.device)
        return self.module.colorize(x).permute(0, 2, 3, 1).cpu().numpy()

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Decode packed codes: word probabilities (n, V), vectors (n, d) of unit scale (of
        vector models, and of document models reading sentence vectors) or images
        (n, h, w, c) in [0, 1]."""
        self._require_module()
        if self.colorizes:
            raise UsageError("a {model:colorize} model decodes a code only beside the grey "
                             "image it came from; colorize images instead", option="model")
        z = torch.from_numpy(unpack_bits(codes).astype(np.float32))
        out = self.module.decode(z)
        if self.config.network_input == TEXT:
            return (out.exp() if self.module.log_prob_decoder else out).numpy()
        if self.config.network_input == VECTOR:
            vectors = getattr(self.featurizer, "vectors", self.featurizer)   # sentences'
            return vectors.restore(out.numpy())
        return out.permute(0, 2, 3, 1).numpy()

    @torch.no_grad()
    def predict_labels(self, codes: np.ndarray) -> list[list[str]]:
        """Labels the classifier head predicts from packed codes (semi-supervised models):
        the most likely class, or every class above 1/2 (at least one) when multi-label."""
        if not self.has_classifier:
            raise UsageError("this model has no classifier; build it with {model:semi}",
                             option="model")
        z = torch.from_numpy(unpack_bits(codes).astype(np.float32))
        on = predicted_classes(self.module.class_logits(z), bool(self.config.learned.multilabel))
        classes = self.config.learned.classes
        return [[classes[j] for j in np.flatnonzero(row)] for row in on]

    # --- persistence ---------------------------------------------------------------------
    def save(self, path) -> None:
        """Write ``config.json``, ``featurizer.json`` and ``model.safetensors`` into a folder.

        Weights are safetensors (tensors only), configs JSON: loading never runs code."""
        from safetensors.torch import save_file
        self._require_module()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(path / WEIGHTS_FILE))
        (path / CONFIG_FILE).write_text(json.dumps(self.config.to_dict(), indent=2))
        (path / FEATURIZER_FILE).write_text(json.dumps(self.featurizer.to_dict()))

    @classmethod
    def load(cls, path, featurizer=None) -> "HashModel":
        """The model saved in ``path``; ``featurizer``, when given, is its
        ``featurizer.json`` already read (an index opened without its network has it)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        path = Path(path)
        cfg, feat = read_model_json(path, featurizer=featurizer is None)
        try:
            config = ModelConfig.from_dict(cfg)
            _check_sizes(config)
            model = cls(config)
            model.featurizer = featurizer if featurizer is not None else featurizer_from_dict(feat)
            model.module = model.new_network()
        except Exception as e:  # noqa: BLE001 - any field of the wrong kind or size
            raise BundleError(f"{path}: model configuration not understood "
                              f"({type(e).__name__}: {str(e)[:80]}); it was written by another "
                              "hashret version or damaged: rebuild the index") from None
        try:
            state = load_file(str(path / WEIGHTS_FILE))
            model.module.load_state_dict(state)
        except FileNotFoundError:
            raise BundleError(f"{path}: missing {WEIGHTS_FILE}; rebuild the index") from None
        except (SafetensorError, RuntimeError, OSError, ValueError) as e:
            raise BundleError(f"{path}: {WEIGHTS_FILE} is damaged or does not match the "
                              f"configuration ({str(e)[:100]}); rebuild the index") from None
        model.module.eval()
        return model


def _check_sizes(c: ModelConfig) -> None:
    """Refuse sizes no real model has before allocating them (a damaged config.json must
    not make the loader allocate terabytes)."""
    def ok(v, hi):
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi
    if c.modality not in (TEXT, IMAGE, VECTOR) or not ok(c.n_features, 50_000_000) \
            or not ok(c.hidden, 65_536):
        raise ValueError("modality, n_features or hidden out of range")
    if c.modality == IMAGE and (not isinstance(c.shape, list) or len(c.shape) != 3
                                or not all(ok(v, 8192) and v > 0 for v in c.shape)
                                or not isinstance(c.channels, list) or not 1 <= len(c.channels) <= 6
                                or not all(ok(v, 4096) and v > 0 for v in c.channels)
                                or not (c.convs_per_scale is None or ok(c.convs_per_scale, 8))):
        raise ValueError("image shape, channels or convolutions out of range")
