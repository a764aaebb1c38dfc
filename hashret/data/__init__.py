"""Corpus readers: turn what users have into a :class:`Corpus`.

:func:`read_corpus` reads a path with the first reader of :mod:`hashret.data.registry`
that recognises it; :func:`load_dataset` opens one of the corpora embedded in the package;
:func:`as_corpus` makes one of a list of texts or an image array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CorpusError, UsageError
from .corpus import IMAGE, TEXT, VECTOR, Corpus, image_arrays_corpus, limit_rows
from .images import as_channels_last, read_idx_corpus
from .registry import read_path
from .reuters import read_reuters
from .tables import label_list
from .text import text_title
from .vectors import check_vectors, vectors_corpus

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
DATASETS = {
    "reuters": (DATASETS_DIR / "reuters" / "reuters21578.tar.gz", read_reuters),
    "fashion-mnist": (DATASETS_DIR / "fashion-mnist", read_idx_corpus),
}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEFAULT_DATASET = "reuters"

__all__ = ["Corpus", "TEXT", "IMAGE", "VECTOR", "as_corpus", "read_corpus", "load_dataset",
           "limit_rows", "DATASETS", "DEFAULT_DATASET"]


def as_corpus(items, labels=None) -> Corpus:
    """``items`` as a :class:`Corpus` of training items: a Corpus is returned as it is;
    a list of strings becomes documents, an array of shape (n, h, w), (n, h, w, c) or
    (n, c, h, w) (or a list of arrays of one shape) images (``uint8``, or floats in [0, 1]),
    and an array of shape (n, d) vectors (embeddings), with ids 0 to n - 1. ``labels``, if
    given, holds one label (or a list of them) per item."""
    if isinstance(items, Corpus):
        if labels is not None:
            raise UsageError("labels are given with a Corpus that has its own; give a list "
                             "of texts or an array with labels, or the Corpus alone")
        return items
    if isinstance(items, (list, tuple)) and len(items) and \
            all(isinstance(t, np.ndarray) for t in items):
        if len({t.shape for t in items}) > 1:
            raise CorpusError("the images of a list must all have one shape; resize them, or "
                              "save them as files and read the folder (read_corpus)")
        items = np.stack(items)
    is_array = isinstance(items, np.ndarray) and items.dtype.kind in "uif"
    if is_array and items.ndim not in (2, 3, 4):
        raise CorpusError(f"an array must have shape (n, d) (vectors), or (n, h, w), "
                          f"(n, h, w, c) or (n, c, h, w) (images), not {items.shape}")
    if not is_array and not (isinstance(items, (list, tuple)) and
                             all(isinstance(t, str) for t in items)):
        raise CorpusError(f"cannot make a corpus of {type(items).__name__}: give a Corpus "
                          "(read_corpus, load_dataset), a list of texts, an image array or "
                          "a vector array")
    n = len(items)
    if labels is None:
        labels = [[] for _ in range(n)]
    else:
        labels = [label_list(list(lab) if isinstance(lab, (set, np.ndarray)) else lab)
                  for lab in labels]
        if len(labels) != n:
            raise CorpusError(f"{len(labels)} labels for {n} items; give one per item")
    splits, titles = ["train"] * n, [f"[{i}]" for i in range(n)]
    if is_array and items.ndim == 2:
        return vectors_corpus("", [("array", check_vectors(items, "the vector array"))],
                              labels, splits, titles)
    if is_array:
        return image_arrays_corpus("", [("array", as_channels_last(items, "the image array"))],
                                   labels, splits, titles)
    texts = list(items)
    return Corpus(TEXT, list(range(n)), texts, labels, splits, [text_title(t) for t in texts])


def load_dataset(name: str) -> Corpus:
    """One of the embedded corpora: ``reuters`` (Reuters-21578 ModApte, 10,794 documents,
    multi-label topics) or ``fashion-mnist`` (70,000 28x28 grey images, 10 classes)."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    path, reader = DATASETS[name]
    corpus = reader(path)
    if name == "fashion-mnist":
        corpus.labels = [[FASHION_MNIST_CLASSES[int(l[0])]] for l in corpus.labels]
    corpus.meta["dataset"] = name
    return corpus


def read_corpus(path, text_column=None, label_column=None, id_column=None,
                embedding_column=None) -> Corpus:
    """Read the corpus at ``path``, choosing the reader from what it holds.

    - a file: ``.jsonl``/``.json``/``.csv``/``.tsv``/``.parquet`` (text table), ``.txt``
      (one document per line, fastText labels), ``.sgm`` (Reuters-21578),
      ``.npy`` / ``.npz`` / ``.mat`` (image arrays), a CIFAR ``.bin`` file, an STL-10
      ``*_X.bin`` file, an IDX file;
    - vectors (embeddings): a 2-D ``.npy`` / ``.npz`` array, an ``.fvecs`` file, or a
      table's column of number lists (``embedding_column``, default: a column named
      ``embedding``, ``vector`` or ``emb`` whose values are number lists);
    - a folder: IDX ``train-*``/``t10k-*`` pairs, ``reut2-*.sgm`` files, CIFAR or STL-10
      binary files, ``.mat`` files, image files or text files (one sub-folder per label),
      or tables (``train.csv`` and ``test.csv``, the split from each file's name; of
      documents, or of encoded images as the Hugging Face Hub publishes them);
    - an archive of a folder (``.tar.gz``, ``.tgz``, ``.tar``, ``.tar.bz2``, ``.tar.xz``,
      ``.zip``): Reuters-21578's and CIFAR's distributions, or any folder above, read
      without unpacking it.
    """
    corpus = read_path(Path(path), dict(text_column=text_column, label_column=label_column,
                                        id_column=id_column, embedding_column=embedding_column))
    # a table's reader records the id column it used, named or found ("id")
    id_column = corpus.meta.pop("id_column", None) or id_column
    corpus.meta["reader"] = {k: v for k, v in (("text_column", text_column),
                                               ("label_column", label_column),
                                               ("id_column", id_column),
                                               ("embedding_column", embedding_column)) if v}
    return corpus
