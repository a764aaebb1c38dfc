"""Corpus readers: turn what users have into a :class:`Corpus`.

:func:`read_corpus` picks the reader from what the path is; :func:`load_dataset` opens one
of the corpora embedded in the package.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import CorpusError, UsageError
from .archives import ArchiveFiles, is_archive, is_zip, read_folder_archive
from .cifar import cifar_python_files, is_cifar, read_cifar, read_cifar_python
from .corpus import IMAGE, TEXT, Corpus, image_arrays_corpus, limit_rows
from .images import (IMAGE_SUFFIXES, as_channels_last, read_idx_corpus, read_image_folder,
                     read_npy, read_npz)
from .image_tables import read_image_table_folder
from .matlab import MAT_SUFFIX, is_mat_folder, read_mat
from .reuters import read_reuters
from .stl10 import is_stl10, read_stl10
from .tables import (JSON_TABLE_SUFFIX, LINES_SUFFIX, TABLE_SUFFIXES, is_lines_table,
                     label_list, read_table, read_table_folder)
from .text import is_text_file, read_text_folder, text_title

log = logging.getLogger("hashret")

# files that come with a dataset's archive and are not part of it: its notes by their name's
# start, its checksums by name or suffix
COMPANION_STARTS = ("README", "LICENSE", "LICENCE", "COPYING", "NOTICE", "CITATION")
CHECKSUM_NAMES = ("MD5SUMS", "SHA1SUMS", "SHA256SUMS", "SHA512SUMS", "CHECKSUMS")
CHECKSUM_SUFFIXES = (".md5", ".sha1", ".sha256", ".sha512")


def _is_companion(f: Path) -> bool:
    name = f.name.upper()
    return name.startswith(COMPANION_STARTS) or f.stem.upper() in CHECKSUM_NAMES or \
        f.suffix.lower() in CHECKSUM_SUFFIXES

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
DATASETS = {
    "reuters": (DATASETS_DIR / "reuters" / "reuters21578.tar.gz", read_reuters),
    "fashion-mnist": (DATASETS_DIR / "fashion-mnist", read_idx_corpus),
}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEFAULT_DATASET = "reuters"

__all__ = ["Corpus", "TEXT", "IMAGE", "as_corpus", "read_corpus", "load_dataset",
           "limit_rows", "DATASETS", "DEFAULT_DATASET"]


def as_corpus(items, labels=None) -> Corpus:
    """``items`` as a :class:`Corpus` of training items: a Corpus is returned as it is;
    a list of strings becomes documents and an array of shape (n, h, w), (n, h, w, c) or
    (n, c, h, w) (or a list of arrays of one shape) images (``uint8``, or floats in [0, 1]),
    with ids 0 to n - 1. ``labels``, if given, holds one label (or a list of them) per
    item."""
    if isinstance(items, Corpus):
        if labels is not None:
            raise UsageError("labels are given with a Corpus that has its own; give a list "
                             "of texts or an image array with labels, or the Corpus alone")
        return items
    if isinstance(items, (list, tuple)) and len(items) and \
            all(isinstance(t, np.ndarray) for t in items):
        if len({t.shape for t in items}) > 1:
            raise CorpusError("the images of a list must all have one shape; resize them, or "
                              "save them as files and read the folder (read_corpus)")
        items = np.stack(items)
    is_images = isinstance(items, np.ndarray) and items.dtype.kind in "uif"
    if is_images and items.ndim not in (3, 4):
        raise CorpusError(f"an image array must have shape (n, h, w), (n, h, w, c) or "
                          f"(n, c, h, w), not {items.shape}")
    if not is_images and not (isinstance(items, (list, tuple)) and
                              all(isinstance(t, str) for t in items)):
        raise CorpusError(f"cannot make a corpus of {type(items).__name__}: give a Corpus "
                          "(read_corpus, load_dataset), a list of texts or an image array")
    n = len(items)
    if labels is None:
        labels = [[] for _ in range(n)]
    else:
        labels = [label_list(list(lab) if isinstance(lab, (set, np.ndarray)) else lab)
                  for lab in labels]
        if len(labels) != n:
            raise CorpusError(f"{len(labels)} labels for {n} items; give one per item")
    splits = ["train"] * n
    if is_images:
        return image_arrays_corpus("", [("array", as_channels_last(items, "the image array"))],
                                   labels, splits, [f"[{i}]" for i in range(n)])
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


def _looks_like_idx(p: Path) -> bool:
    return "idx" in p.name and ("ubyte" in p.name or p.suffix in (".gz", ".idx"))


def read_corpus(path, text_column=None, label_column=None, id_column=None) -> Corpus:
    """Read the corpus at ``path``, choosing the reader from what it holds.

    - a file: ``.jsonl``/``.json``/``.csv``/``.tsv``/``.parquet`` (text table), ``.txt``
      (one document per line, fastText labels), ``.sgm`` (Reuters-21578),
      ``.npy`` / ``.npz`` / ``.mat`` (image arrays), a CIFAR ``.bin`` file, an STL-10
      ``*_X.bin`` file, an IDX file;
    - a folder: IDX ``train-*``/``t10k-*`` pairs, ``reut2-*.sgm`` files, CIFAR or STL-10
      binary files, ``.mat`` files, image files or text files (one sub-folder per label),
      or tables (``train.csv`` and ``test.csv``, the split from each file's name; of
      documents, or of encoded images as the Hugging Face Hub publishes them);
    - an archive of a folder (``.tar.gz``, ``.tgz``, ``.tar``, ``.tar.bz2``, ``.tar.xz``,
      ``.zip``): Reuters-21578's and CIFAR's distributions, or any folder above, read
      without unpacking it.
    """
    corpus = _read_corpus(Path(path), text_column, label_column, id_column)
    # a table's reader records the id column it used, named or found ("id")
    id_column = corpus.meta.pop("id_column", None) or id_column
    corpus.meta["reader"] = {k: v for k, v in (("text_column", text_column),
                                               ("label_column", label_column),
                                               ("id_column", id_column)) if v}
    return corpus


def _read_archive(p: Path, table_opts: dict) -> Corpus:
    archive = ArchiveFiles(p)
    if not is_zip(p):                       # CIFAR's and Reuters' readers take tars
        if is_cifar(archive.names):
            return read_cifar(p, archive)
        if any(n.lower().endswith(".sgm") for n in archive.names):
            return read_reuters(p)
    if cifar_python_files(archive.names):
        return read_cifar_python(p, archive)
    if is_stl10(archive.names):
        return read_stl10(p, archive)
    return read_folder_archive(archive, **table_opts)


def _read_corpus(p: Path, text_column, label_column, id_column) -> Corpus:
    if not p.exists():
        raise CorpusError(f"corpus {p} does not exist; check the path (or use {{dataset}})")
    table_opts = dict(text_column=text_column, label_column=label_column, id_column=id_column)
    if p.is_file():
        name = p.name.lower()
        if p.suffix.lower() in TABLE_SUFFIXES + (JSON_TABLE_SUFFIX, LINES_SUFFIX):
            return read_table(p, **table_opts)
        if is_archive(p):
            return _read_archive(p, table_opts)
        if name.endswith(".sgm"):
            return read_reuters(p)
        if p.suffix.lower() == ".npy":
            return read_npy(p)
        if p.suffix.lower() == ".npz":
            return read_npz(p)
        if p.suffix.lower() == MAT_SUFFIX:
            return read_mat(p)
        if p.suffix.lower() == ".bin" and p.stem.endswith("_X"):
            return read_stl10(p)
        if p.suffix.lower() == ".bin" and is_cifar([f.name for f in p.parent.iterdir()]):
            return read_cifar(p)
        if _looks_like_idx(p):
            return read_idx_corpus(p)
        if p.suffix.lower() in IMAGE_SUFFIXES:
            raise CorpusError(f"{p} is a single image; put the images in a folder (one "
                              "sub-folder per label) and pass the folder")
        raise CorpusError(f"{p}: unknown corpus type; use a folder, .jsonl, .json, .csv, .tsv, "
                          ".parquet, .txt, .sgm, .npy, .npz, .mat, a CIFAR or STL-10 .bin, an IDX "
                          "file, or a folder's .tar.gz / .zip")
    if not p.is_dir():
        raise CorpusError(f"{p} is neither a file nor a folder")
    files = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")]
    if not files:
        raise CorpusError(f"corpus folder {p} is empty; add documents or images to it")
    top = [f for f in p.iterdir() if f.is_file()]
    if any(_looks_like_idx(f) and "images" in f.name for f in top):
        return read_idx_corpus(p)
    if any(f.name.lower().endswith(".sgm") for f in top):
        return read_reuters(p)
    if is_cifar([f.name for f in files]):
        return read_cifar(p)
    if cifar_python_files([str(f) for f in files]):
        return read_cifar_python(p)
    if is_stl10([f.name for f in files]):
        return read_stl10(p)
    if is_mat_folder(files):
        return read_mat(p)
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    if len(images) > len(files) / 2:
        tables = [f for f in files if f.suffix.lower() in TABLE_SUFFIXES or is_lines_table(f)]
        by_table = read_image_table_folder(p, images, tables, label_column) if tables else None
        return by_table or read_image_folder(p)
    # A dataset hub's folder: a few tables (train.csv, test.csv), perhaps beside a README
    # and a LICENSE, rather than one file per document.
    line_tables = sum(map(is_lines_table, files))
    n_tables = sum(f.suffix.lower() in TABLE_SUFFIXES for f in files) + line_tables
    n_texts = sum(map(is_text_file, files)) - line_tables
    if n_tables and n_tables >= n_texts:
        return read_table_folder(p, **table_opts)
    # A download folder: the archive a dataset ships as, beside nothing but its README,
    # licence or checksums (two documents and a zip are documents).
    archives = [f for f in top if is_archive(f)]
    if len(archives) == 1 and all(f == archives[0] or _is_companion(f) for f in files):
        log.info("%s: reading the archive %s in it", p, archives[0].name)
        return _read_archive(archives[0], table_opts)
    if archives:
        log.warning("%s: read as a folder of text files; the archive(s) %s in it are not "
                    "read (pass an archive itself to read it)", p,
                    ", ".join(f.name for f in archives[:3]))
    return read_text_folder(p)
