"""Featurizers: the fixed transform from a corpus item (a document, an image, a vector) to
the model's input.

A featurizer is fitted on the training split, saved next to the model as JSON and loaded with
it, so a query goes through exactly the transform the corpus went through.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numba as nb
import numpy as np

from .. import defaults
from ..errors import CorpusError

# A short English stop list: function words carry no topic and would crowd the vocabulary.
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
said says say would could may might must shall mr mrs ms inc ltd co corp reuter reuters
""".split())
# How documents are cut into terms. A featurizer records the version it was fitted with and
# keeps reading queries that way, so an index built earlier still finds its own documents.
#   1: words (runs of letters);
#   2: as 1, and runs of Chinese, Japanese or Korean characters as character bigrams;
#   3: as 2, after Unicode NFKC normalisation (ligatures, full-width forms, composed
#      accents), with combining marks kept inside words (the vowel signs of Hindi, Bengali,
#      Tamil and other Indic scripts: before, they split a word into stray letters), and
#      Thai, Lao, Khmer and Myanmar runs as bigrams too (these scripts put no spaces
#      between words either).
TOKENIZER_VERSION = 3
_TOKEN = re.compile(r"[^\W\d_]{2,}")
# Chinese and Japanese put no spaces between words, and Korean words are long runs of
# syllables: to the pattern above a run of their characters is one token, a whole clause,
# that no other document repeats. Such runs become overlapping character bigrams (a lone
# character stays itself), as search engines index these scripts (e.g. Lucene's CJK
# bigram analyzer).
_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK = re.compile(f"([{_CJK_RANGES}]+)")
_NO_SPACES = re.compile(f"([{_CJK_RANGES}\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]+)")


@functools.lru_cache(maxsize=1)
def _mark_patterns() -> tuple[re.Pattern, re.Pattern]:
    """Words (runs of letters and combining marks, Unicode category M as unicodedata lists
    it) and characters with their marks (what a bigram of Thai or Hindi is made of)."""
    ranges, start = [], None
    for cp in range(0x30000):                     # the planes that hold marks
        mark = unicodedata.category(chr(cp))[0] == "M"
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{cp - 1:08x}")
            start = None
    marks = "".join(ranges)
    return re.compile(f"(?:[^\\W\\d_]|[{marks}])+"), re.compile(f".[{marks}]*", re.S)


def tokenize(text: str, version: int = TOKENIZER_VERSION) -> list[str]:
    """Lower-cased alphabetic tokens of two or more characters, stop words removed; runs of
    scripts written without spaces as character bigrams (see ``TOKENIZER_VERSION`` for what
    each version does)."""
    if version >= 3 and text.isascii():       # no marks, nothing to normalise: faster
        words, runs, cluster = _TOKEN.findall(text.lower()), None, None
    elif version >= 3:
        word, cluster = _mark_patterns()
        # each word normalised on its own: symbols between words stay separators (NFKC of
        # a whole text would make "Mastermind™" the word "mastermindtm")
        words = [unicodedata.normalize("NFKC", w).lower() for w in word.findall(text)
                 if len(w) >= 2]
        runs = _NO_SPACES
    else:
        words = _TOKEN.findall(text.lower())
        runs, cluster = (_CJK if version == 2 else None), None
    out = []
    for t in words:
        if runs is None or not runs.search(t):
            if len(t) >= 2 and t not in STOP_WORDS:
                out.append(t)
            continue
        for i, part in enumerate(runs.split(t)):      # odd parts are the runs
            if i % 2:
                chars = cluster.findall(part) if cluster else part
                out.extend([part] if len(chars) == 1 else
                           [chars[j] + chars[j + 1] for j in range(len(chars) - 1)])
            elif len(part) >= 2 and part not in STOP_WORDS:
                out.append(part)
    return out


@dataclass
class SparseRows:
    """Rows of a sparse matrix in CSR form (numpy), the documents' term counts. A row may
    hold a column more than once (a neighbourhood's counts, see
    :class:`~hashret.training.neighbours.NeighbourhoodCounts`); its entries then add up."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_cols: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def mask_values(self, keep: np.ndarray) -> "SparseRows":
        """The same rows with the entries where ``keep`` is False set to zero."""
        return SparseRows(self.indptr, self.indices, self.data * keep, self.n_cols)

    def rows(self, rows) -> "SparseRows":
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # entry j of the result comes from starts[row] + (j - indptr[row])
        take = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[take], self.data[take], self.n_cols)

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(len(self)), np.diff(self.indptr))

    def summed(self) -> "SparseRows":
        """The same matrix with each row's repeated columns added into one entry, kept in
        the order of their first occurrence.

        A model's gradient through a gather of these entries is accumulated by scattered
        atomic adds; with repeated entries the order of those adds, and so the rounding,
        depends on how the threads happen to be scheduled, and a busy machine trained a
        different model from the same seed. Distinct entries make it deterministic."""
        indptr, indices, data = _sum_repeated_columns(
            np.asarray(self.indptr, np.int64), self.indices, self.data, self.n_cols)
        return SparseRows(indptr, indices, data, self.n_cols)

    def toarray(self) -> np.ndarray:
        out = np.zeros((len(self), self.n_cols), np.float32)
        np.add.at(out, (self.row_ids(), self.indices), self.data)    # repeated entries add
        return out


@nb.njit(nogil=True, cache=True)
def _sum_repeated_columns(indptr, indices, data, n_cols):
    # where[c]: the output position of column c in the current row; a position before
    # the row's start (or -1) means the column has not occurred in this row yet, so the
    # array never needs clearing between rows
    where = np.full(n_cols, -1, np.int64)
    out_ptr = np.zeros(len(indptr), np.int64)
    out_indices = np.empty_like(indices)
    out_data = np.empty_like(data)
    n = 0
    for r in range(len(indptr) - 1):
        start = n
        for j in range(indptr[r], indptr[r + 1]):
            c = indices[j]
            if where[c] < start:
                where[c] = n
                out_indices[n] = c
                out_data[n] = data[j]
                n += 1
            else:
                out_data[where[c]] += data[j]
        out_ptr[r + 1] = n
    return out_ptr, out_indices[:n].copy(), out_data[:n].copy()


class TfidfFeaturizer:
    """Bag of words over the most frequent training terms, weighted by TF-IDF.

    ``transform`` gives raw term counts (the decoder's target); ``weight`` turns counts into
    L2-normalised ``log(1 + tf) * idf`` vectors (the encoder's input).
    """

    modality = "text"

    def __init__(self, vocabulary: list[str] | None = None, idf: np.ndarray | None = None,
                 max_features: int = defaults.VOCABULARY_SIZE,
                 tokenizer: int = TOKENIZER_VERSION):
        self.max_features = max_features
        self.tokenizer = tokenizer
        self.vocabulary = list(vocabulary or [])
        self.idf = np.asarray(idf if idf is not None else [], np.float32)
        self._index = {t: i for i, t in enumerate(self.vocabulary)}

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def fit(self, texts: Sequence[str]) -> "TfidfFeaturizer":
        df: Counter = Counter()
        n = 0
        for text in texts:
            df.update(set(tokenize(text, self.tokenizer)))
            n += 1
        if not df:
            raise CorpusError("the training documents hold no words (after removing stop "
                              "words and numbers); give documents with text")
        # Terms seen in one document only are noise when there are enough others.
        min_df = 2 if sum(c >= 2 for c in df.values()) >= min(self.max_features, 100) else 1
        terms = sorted((t for t, c in df.items() if c >= min_df), key=lambda t: (-df[t], t))
        self.vocabulary = terms[:self.max_features]
        self._index = {t: i for i, t in enumerate(self.vocabulary)}
        counts = np.array([df[t] for t in self.vocabulary], np.float64)
        self.idf = (np.log((1 + n) / (1 + counts)) + 1).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> SparseRows:
        """Term counts of each text over the vocabulary (unknown words are dropped)."""
        index = self._index
        indptr, indices, data = [0], [], []
        for text in texts:
            c = Counter(index[t] for t in tokenize(text, self.tokenizer) if t in index)
            cols = sorted(c)
            indices.extend(cols)
            data.extend(c[k] for k in cols)
            indptr.append(len(indices))
        return SparseRows(np.asarray(indptr, np.int64), np.asarray(indices, np.int64),
                          np.asarray(data, np.float32), self.n_features)

    def weight(self, counts: SparseRows) -> SparseRows:
        """L2-normalised TF-IDF rows from term counts."""
        vals = np.log1p(counts.data) * self.idf[counts.indices]
        norms = np.sqrt(np.bincount(counts.row_ids(), weights=vals ** 2, minlength=len(counts)))
        vals = vals / np.repeat(np.maximum(norms, 1e-12), np.diff(counts.indptr))
        return SparseRows(counts.indptr, counts.indices, vals.astype(np.float32),
                          counts.n_cols)

    def top_terms(self, weights: np.ndarray, n: int = 10) -> list[str]:
        order = np.argsort(-weights)[:n]
        return [self.vocabulary[i] for i in order]

    def to_dict(self) -> dict:
        return {"type": "tfidf", "max_features": self.max_features,
                "tokenizer": self.tokenizer,
                "vocabulary": self.vocabulary, "idf": [float(v) for v in self.idf]}

    @classmethod
    def from_dict(cls, d: dict) -> "TfidfFeaturizer":
        # bundles from before the version number say only whether they read bigrams
        version = d.get("tokenizer", 2 if d.get("cjk_bigrams") else 1)
        return cls(d["vocabulary"], np.asarray(d["idf"], np.float32), d["max_features"],
                   int(version))


class ImageFeaturizer:
    """Pixels scaled to [0, 1] as ``float32`` arrays of shape (n, c, h, w).

    The shape (h, w, c) and the scale are learnt from the training images (the longer side
    at most ``defaults.MAX_IMAGE_SIDE``: larger images are scaled down); an image of another
    size is resized (and its channels converted) to the model's shape.
    """

    modality = "image"

    def __init__(self, shape: tuple[int, int, int] | None = None, scale: float = 255.0):
        self.shape = tuple(shape) if shape else None
        self.scale = float(scale)
        self.resized = 0

    @property
    def n_features(self) -> int:
        h, w, c = self.shape
        return h * w * c

    def fit(self, images) -> "ImageFeaturizer":
        arr = np.asarray(images[:min(len(images), 1000)])
        h, w, c = (int(s) for s in arr.shape[1:])
        self.shape = (*defaults.capped_image_size(h, w), c)
        if arr.dtype.kind == "f":
            top = float(np.nanmax(arr)) if arr.size else 1.0
            self.scale = 1.0 if top <= 1.0 else (255.0 if top <= 255.0 else top)
        else:
            self.scale = 255.0 if arr.dtype.itemsize == 1 or arr.max(initial=0) <= 255 \
                else float(np.iinfo(arr.dtype).max)
        return self

    def conform(self, img: np.ndarray) -> np.ndarray:
        """One (h, w, c) image brought to the model's shape and channel count."""
        img = np.asarray(img)
        if img.ndim == 2:
            img = img[..., None]
        h, w, c = self.shape
        if img.shape[2] == 4 and c == 3:
            img = self._on_white(img)
        elif img.shape[2] != c:
            if c == 1:
                img = img[..., :3].mean(axis=2, keepdims=True)
            else:
                img = np.repeat(img[..., :1], c, axis=2)
        if img.shape[:2] != (h, w):
            from PIL import Image
            self.resized += 1
            chans = [np.asarray(Image.fromarray(img[..., k].astype(np.float32), mode="F")
                                .resize((w, h), Image.BILINEAR)) for k in range(c)]
            resized = np.stack(chans, axis=2)
            if img.dtype.kind in "ui":     # keep uint8 pixels uint8: a quarter of the memory
                info = np.iinfo(img.dtype)
                resized = np.clip(np.rint(resized), info.min, info.max).astype(img.dtype)
            img = resized
        return img

    def _on_white(self, img: np.ndarray) -> np.ndarray:
        """An RGBA image's colours composited on a white background, in its own dtype."""
        alpha = img[..., 3:].astype(np.float32) / self.scale
        rgb = img[..., :3].astype(np.float32) * alpha + self.scale * (1 - alpha)
        return np.rint(rgb).astype(img.dtype) if img.dtype.kind in "ui" else \
            rgb.astype(img.dtype)

    def transform(self, images) -> np.ndarray:
        return self.scale_pixels(self.conform_all(images))

    def conform_all(self, images) -> np.ndarray:
        """(n, h, w, c) images in the model's shape, in their own dtype (an array already
        in that shape is returned as it is: a memory-mapped one stays on disk)."""
        arr = images if isinstance(images, np.ndarray) else None
        if arr is None or arr.shape[1:] != self.shape:
            arr = np.stack([self.conform(im) for im in images]) if len(images) else \
                np.zeros((0,) + self.shape, np.float32)
        return arr

    def scale_pixels(self, arr: np.ndarray) -> np.ndarray:
        """(n, h, w, c) conformed images -> float32 (n, c, h, w) in [0, 1]."""
        x = np.asarray(arr, np.float32) / self.scale
        np.clip(x, 0.0, 1.0, out=x)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def to_dict(self) -> dict:
        return {"type": "image", "shape": list(self.shape), "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict) -> "ImageFeaturizer":
        return cls(tuple(d["shape"]), d["scale"])


class ImageRows:
    """Training images as read (``uint8`` pixels take a quarter of the memory of the
    ``float32`` the model takes), scaled a batch at a time: ``rows[i]`` is what
    ``featurizer.transform`` gives for those images."""

    def __init__(self, featurizer: ImageFeaturizer, images):
        self.featurizer = featurizer
        self.raw = featurizer.conform_all(images)

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, rows) -> np.ndarray:
        return self.featurizer.scale_pixels(self.raw[rows])


class VectorFeaturizer:
    """Embeddings as the model takes them: each vector L2-normalised (embeddings are
    compared by cosine), centred on the training vectors' mean and divided by one scale,
    so that a dimension has unit variance on average; float32 (n, d).

    A query vector of another dimension is refused: it comes from another embedding model,
    and its nearest codes would mean nothing."""

    modality = "vector"

    def __init__(self, dim: int | None = None, mean=None, scale: float = 1.0):
        self.dim = None if dim is None else int(dim)
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.scale = float(scale)

    @property
    def n_features(self) -> int:
        return self.dim

    def fit(self, vectors) -> "VectorFeaturizer":
        arr = np.asarray(vectors)
        self.dim = int(arr.shape[1])
        # a sample is enough for d means and one scale; memory-mapped rows stay on disk
        step = max(1, len(arr) // defaults.VECTOR_FIT_SAMPLE)
        unit = self.unit(arr[::step])
        self.mean = unit.mean(0)
        self.scale = float(np.sqrt(np.maximum(unit.var(0).mean(), 1e-12)))
        return self

    def unit(self, vectors) -> np.ndarray:
        """Vectors as float32 rows of unit length (a zero vector stays zero)."""
        x = np.array(vectors, np.float32, copy=True)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            got = x.shape[1] if x.ndim == 2 else f"shape {x.shape} of"
            raise CorpusError(f"vectors of {got} dimensions, but this index's model takes "
                              f"{self.dim}: give vectors from the embedding model the index "
                              "was built from")
        if not np.isfinite(x).all():
            raise CorpusError("a vector holds NaN or infinity; drop or fix it")
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x

    def transform(self, vectors) -> np.ndarray:
        return (self.unit(vectors) - self.mean) / self.scale

    def restore(self, x: np.ndarray) -> np.ndarray:
        """Model-space vectors (a decoder's output) back as unit-scale embeddings."""
        return np.asarray(x, np.float32) * self.scale + self.mean

    def to_dict(self) -> dict:
        return {"type": "vector", "dim": self.dim, "scale": self.scale,
                "mean": [float(v) for v in self.mean]}

    @classmethod
    def from_dict(cls, d: dict) -> "VectorFeaturizer":
        if len(d["mean"]) != int(d["dim"]):
            raise CorpusError("vector featurizer: its mean does not have its dimension")
        return cls(int(d["dim"]), d["mean"], float(d["scale"]))


def featurizer_from_dict(d: dict):
    from .sentences import SentenceFeaturizer
    kinds = {"tfidf": TfidfFeaturizer, "image": ImageFeaturizer, "vector": VectorFeaturizer,
             "sentence": SentenceFeaturizer}
    if d.get("type") not in kinds:
        raise CorpusError(f"unknown featurizer type {d.get('type')!r}")
    return kinds[d["type"]].from_dict(d)


def take_rows(feats, rows):
    """Rows of a feature batch: documents' sparse rows, or images."""
    return feats.rows(rows) if isinstance(feats, SparseRows) else feats[rows]


def dense_rows(featurizer, feats) -> np.ndarray:
    """Featurized items as a dense float32 matrix: the TF-IDF weights of documents' term
    counts, or flattened pixels or vectors."""
    if isinstance(feats, SparseRows):
        return featurizer.weight(feats).toarray().astype(np.float32, copy=False)
    return np.asarray(feats, np.float32).reshape(len(feats), -1)
