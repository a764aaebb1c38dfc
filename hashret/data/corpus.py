"""The one shape every reader produces: :class:`Corpus`."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import CorpusError

TEXT = "text"
IMAGE = "image"
VECTOR = "vector"
# the modalities whose items are rows of one array (images, vectors), not a list of texts
ARRAY_MODALITIES = (IMAGE, VECTOR)
SPLITS = ("train", "test")
# Sub-folders that hold a split's unlabelled items rather than a class: IMDB reviews'
# ``train/unsup``, many image sets' ``unlabeled``, and a split's plain container of images
# (Tiny ImageNet's ``val/images`` and ``test/images``; its ``train/<class>/images`` keep
# their class).
UNLABELLED_FOLDERS = {"unsup", "unlabeled", "unlabelled", "unsupervised", "images", "imgs"}
# The words that name a split folder, alone or joined to others by -, _, . or a space
# (``20news-bydate-train``, ``seg_test``, ``train_images``). A validation folder holds
# training items: a validation part for early stopping is carved from them anyway.
SPLIT_WORDS = {"train": "train", "training": "train", "trainval": "train", "val": "train",
               "valid": "train", "validation": "train", "dev": "train",
               "test": "test", "testing": "test"}


def named_split(name: str) -> str | None:
    """The split a folder's or file's name, or a ``split`` column's value, says (see
    :data:`SPLIT_WORDS`), or None."""
    said = {SPLIT_WORDS[w] for w in re.split(r"[-_. ]+", name.lower()) if w in SPLIT_WORDS}
    return said.pop() if len(said) == 1 else None


@dataclass
class Corpus:
    """Items with their ids, labels, splits and titles.

    ``items`` is a sequence of strings for text corpora, an array-like of shape
    ``(n, h, w, c)`` (``uint8`` or float in [0, 1]) for image corpora and of shape ``(n, d)``
    for vector corpora (embeddings). Readers keep ``items``
    lazy where they can (files read on access, memory-mapped arrays), so encoding walks a
    corpus larger than memory with :meth:`batches`.
    """

    modality: str
    ids: list
    items: Sequence
    labels: list[list[str]]
    splits: list[str]
    titles: list[str]
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.ids)
        if n == 0:
            raise CorpusError(f"the corpus {self.source or ''} holds no items: point hashret at a "
                              "corpus with at least one document or image".replace("  ", " "))
        for name in ("items", "labels", "splits", "titles"):
            if len(getattr(self, name)) != n:
                raise CorpusError(f"corpus {self.source}: {name} has {len(getattr(self, name))} "
                                  f"entries for {n} ids; the reader is inconsistent")
        bad = sorted(set(self.splits) - set(SPLITS))
        if bad:
            raise CorpusError(f"corpus {self.source}: unknown split {bad[0]!r}; splits are "
                              "'train' or 'test'")
        counts = Counter(self.ids)
        if len(counts) != n:
            dups = [str(i) for i, c in counts.items() if c > 1]
            shown = ", ".join(dups[:5]) + (" ..." if len(dups) > 5 else "")
            raise CorpusError(f"corpus {self.source}: duplicate ids ({len(dups)}): {shown}; "
                              "give every item a unique id (or drop {id_column})")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_labels(self) -> bool:
        return any(self.labels)

    def indices(self, split: str | None = None) -> np.ndarray:
        """Row numbers of one split (all rows when ``split`` is None)."""
        if split is None:
            return np.arange(len(self))
        return np.flatnonzero(np.asarray(self.splits) == split)

    def training_indices(self) -> np.ndarray:
        """Rows to train on: the training split, or every row when the source has no split."""
        train = self.indices("train")
        return train if len(train) else self.indices()

    def take(self, rows) -> Sequence:
        """Items at the given row numbers, as a list (text) or an array (images, vectors)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.modality in ARRAY_MODALITIES:
            if len(rows) and np.all(np.diff(rows) == 1):
                return np.asarray(self.items[int(rows[0]):int(rows[-1]) + 1])
            if len(rows):
                return np.stack([np.asarray(self.items[int(r)]) for r in rows])
            empty = (self.meta.get("dim", 1),) if self.modality == VECTOR else \
                tuple(self.meta.get("shape", (1, 1, 1)))
            return np.zeros((0,) + empty, np.uint8 if self.modality == IMAGE else np.float32)
        return [self.items[int(r)] for r in rows]

    def batches(self, batch_size: int, rows=None) -> Iterator[tuple[np.ndarray, Sequence]]:
        """Yield ``(row_numbers, items)`` in batches, reading only one batch at a time."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            yield chunk, self.take(chunk)

    def subset(self, rows) -> "Corpus":
        """A new corpus holding only the given rows (used by ``limit``)."""
        rows = [int(r) for r in rows]
        items = self.take(rows) if self.modality in ARRAY_MODALITIES else \
            _Subset(self.items, rows)
        return Corpus(self.modality, [self.ids[r] for r in rows], items,
                      [self.labels[r] for r in rows], [self.splits[r] for r in rows],
                      [self.titles[r] for r in rows], self.source, dict(self.meta))


class _Subset(Sequence):
    """A lazy view of some rows of a sequence."""

    def __init__(self, base: Sequence, rows: list[int]):
        self.base, self.rows = base, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.base[self.rows[j]] for j in range(*i.indices(len(self.rows)))]
        return self.base[self.rows[i]]


class ConcatItems(Sequence):
    """The items of several sequences as one, without copying them together: image arrays
    (a slice is one array) or lists of texts (a slice is one list)."""

    def __init__(self, parts):
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(a) for a in parts])
        self.of_arrays = all(hasattr(a, "shape") for a in parts)
        if self.of_arrays:
            self.shape = (int(self.offsets[-1]),) + tuple(parts[0].shape[1:])
            self.dtype = parts[0].dtype

    def __len__(self):
        return int(self.offsets[-1])

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, _ = i.indices(len(self))
            out = []
            for a, off in zip(self.parts, self.offsets):
                lo, hi = max(start - off, 0), min(stop - off, len(a))
                if lo < hi:
                    out.append(np.asarray(a[lo:hi]) if self.of_arrays else list(a[lo:hi]))
            if not self.of_arrays:
                return [t for part in out for t in part]
            return np.concatenate(out) if out else np.zeros((0,) + self.shape[1:], self.dtype)
        i = int(i) + (len(self) if i < 0 else 0)
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.parts[k][i - self.offsets[k]]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self[:], dtype=dtype)


def concat_corpora(corpora: list[Corpus]) -> Corpus:
    """One corpus holding the items of several of the same modality, in order (an index
    with items added to it, read again)."""
    first = corpora[0]
    if len(corpora) == 1:
        return first
    if len({c.modality for c in corpora}) > 1:
        raise CorpusError("the corpora hold different modalities (" +
                          " and ".join(sorted({c.modality for c in corpora})) + ")")
    if first.modality == IMAGE and len({tuple(c.meta.get("shape", ())) for c in corpora}) > 1:
        raise CorpusError("the corpora hold images of different sizes, which cannot be read "
                          "as one array")
    if first.modality == VECTOR and len({c.meta.get("dim") for c in corpora}) > 1:
        raise CorpusError("the corpora hold vectors of different dimensions, which cannot be "
                          "read as one array")
    cat = lambda name: [x for c in corpora for x in getattr(c, name)]   # noqa: E731
    return Corpus(first.modality, cat("ids"), ConcatItems([c.items for c in corpora]),
                  cat("labels"), cat("splits"), cat("titles"),
                  " + ".join(c.source for c in corpora), dict(first.meta))


def limit_rows(corpus: Corpus, limit: int, seed: int = 0) -> Corpus:
    """Keep ``limit`` items, drawn at random but in each split's proportion, in corpus order."""
    if limit is None or limit >= len(corpus):
        return corpus
    if limit < 1:
        raise CorpusError("{limit} must be at least 1", option="limit")
    rng = np.random.default_rng(seed)
    groups = [corpus.indices(split) for split in SPLITS]
    groups = [g for g in groups if len(g)]
    sizes = [len(g) * limit // len(corpus) for g in groups]
    for i in np.argsort([-len(g) for g in groups]):   # hand out what rounding left over
        if sum(sizes) < limit:
            sizes[i] += min(limit - sum(sizes), len(groups[i]) - sizes[i])
    keep = [rng.choice(g, size=n, replace=False) for g, n in zip(groups, sizes)]
    sub = corpus.subset(np.sort(np.concatenate(keep)))
    sub.meta.update(limit=limit, limit_seed=seed)       # so the sample can be drawn again
    return sub


def labelled_layout(rels: Sequence[tuple[str, ...]]) -> list[tuple[int, str, list[str], str]]:
    """Where each file of a folder laid out one sub-folder per label belongs, from the parts
    of its path relative to the folder: ``(position in rels, id, labels, split)`` for the
    files kept, training files first, each split in path order; the id is the relative path.

    Sub-folders named for a split (:func:`named_split`: ``train``, ``training``, ``val``,
    ``test``, ``testing``, ``20news-bydate-train``, ``seg_test``) define the split and hold
    the label folders, when there is a training one and they are at least half the
    sub-folders (and two or more when there are others); the files outside them are left
    out. Without such sub-folders every file
    is in the training split. A file directly in a split's (or the folder's) top has no
    label, nor has one in a sub-folder named ``unsup`` or ``unlabeled``
    (:data:`UNLABELLED_FOLDERS`).
    """
    folders = {parts[0] for parts in rels if len(parts) > 1}
    split_of = {f: named_split(f) for f in folders}
    split_of = {f: s for f, s in split_of.items() if s}
    # a class that happens to be named like a split ("test_tube", "dev") does not make the
    # other classes' folders vanish: split folders need a training one, and as many of them
    # as other folders (a metadata folder beside them), two at least when there are others
    others = len(folders) - len(split_of)
    if "train" not in split_of.values() or len(split_of) < others or \
            (others and len(split_of) < 2):
        split_of = {}
    rows = []
    for i, parts in enumerate(rels):
        if split_of:
            if len(parts) < 2 or parts[0] not in split_of:
                continue
            split, inner = split_of[parts[0]], parts[1:]
        else:
            split, inner = "train", parts
        labelled = len(inner) > 1 and inner[0].lower() not in UNLABELLED_FOLDERS
        rows.append(((split != "train", tuple(parts)), i, "/".join(parts),
                     [inner[0]] if labelled else [], split))
    rows.sort(key=lambda r: r[0])
    return [r[1:] for r in rows]


def name_lines(raw: bytes) -> list[str]:
    """The non-blank lines of a class-names file (CIFAR's ``batches.meta.txt``, STL-10's
    ``class_names.txt``), stripped."""
    return [w.strip() for w in bytes(raw).decode("utf-8", "replace").splitlines() if w.strip()]


def image_arrays_corpus(source, parts: list[tuple[str, np.ndarray]], labels: list,
                        splits: list[str], titles: list[str]) -> Corpus:
    """One image corpus of the ``(name, (n, h, w, c) array)`` parts a file or split each
    gave, in order; ids are row numbers."""
    shapes = {name: tuple(a.shape[1:]) for name, a in parts}
    if len(set(shapes.values())) > 1:
        raise CorpusError(f"{source}: the image arrays differ in shape ({shapes}); give "
                          "every split images of one shape")
    arrays = [a for _, a in parts]
    items = arrays[0] if len(arrays) == 1 else ConcatItems(arrays)
    return Corpus(IMAGE, list(range(len(splits))), items, labels, splits, titles, str(source),
                  {"shape": tuple(arrays[0].shape[1:])})


def below_wrappers(rels: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Each path's parts below the folders that wrap every file (``aclImdb/`` in a folder
    holding only ``aclImdb/train/...`` and ``aclImdb/test/...``), which are no labels."""
    depth = 0
    while rels and all(len(p) > depth + 1 for p in rels) and \
            len({p[depth] for p in rels}) == 1:
        depth += 1
    return [tuple(p[depth:]) for p in rels]


def walk_labelled_folder(root: Path, accept: Callable[[Path], bool]):
    """Files of a folder laid out one sub-folder per label (see :func:`labelled_layout`),
    as ``(paths, ids, labels, splits)``; ids are paths relative to ``root``."""
    root = Path(root)
    files = [p for p in root.rglob("*")
             if p.is_file() and not p.name.startswith(".") and accept(p)]
    layout = labelled_layout(below_wrappers([p.relative_to(root).parts for p in files]))
    paths = [files[i] for i, _, _, _ in layout]
    ids = [str(p.relative_to(root)) for p in paths]
    return paths, ids, [r[2] for r in layout], [r[3] for r in layout]
