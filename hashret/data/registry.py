"""The corpus readers, in the order :func:`hashret.data.read_corpus` tries them.

Each :class:`Reader` has a cheap ``sniff(path, listing)`` — does this path look like mine?
— from names, suffixes and at most a few bytes, and ``read(path, options)``, which reads it
into a :class:`~hashret.data.corpus.Corpus` (``options``: ``text_column``, ``label_column``,
``id_column``, ``embedding_column``). A file is offered to :data:`FILE_READERS`, a folder to
:data:`FOLDER_READERS` (``listing`` holds its files, walked once), an archive's names to
:data:`ARCHIVE_READERS`; the first reader whose sniff says yes reads it. The orders put
the layouts that name themselves (IDX, Reuters, CIFAR, STL-10, MAT-files) before the
general ones (images, tables, text) that would also accept them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

from ..errors import CorpusError, MissingCorpusError
from .archives import ArchiveFiles, is_archive, is_zip, read_folder_archive
from .cifar import cifar_python_files, is_cifar, read_cifar, read_cifar_python
from .corpus import Corpus
from .image_tables import read_image_table_folder
from .images import IMAGE_SUFFIXES, read_idx_corpus, read_image_folder, read_npy, read_npz
from .matlab import MAT_SUFFIX, is_mat_folder, read_mat
from .reuters import read_reuters
from .stl10 import is_stl10, read_stl10
from .table_files import read_table, read_table_folder
from .tables import JSON_TABLE_SUFFIX, LINES_SUFFIX, TABLE_SUFFIXES, is_lines_table
from .text import is_text_file, read_text_folder
from .vectors import FVECS_SUFFIX, read_fvecs

log = logging.getLogger("hashret")

# files that come with a dataset's archive and are not part of it: its notes by their name's
# start, its checksums by name or suffix
COMPANION_STARTS = ("README", "LICENSE", "LICENCE", "COPYING", "NOTICE", "CITATION")
CHECKSUM_NAMES = ("MD5SUMS", "SHA1SUMS", "SHA256SUMS", "SHA512SUMS", "CHECKSUMS")
CHECKSUM_SUFFIXES = (".md5", ".sha1", ".sha256", ".sha512")


@dataclass(frozen=True)
class Reader:
    name: str
    sniff: Callable[..., bool]      # (path) for files, (path, listing) for folders and archives
    read: Callable[..., Corpus]     # (path, options), folders (path, options, listing)


class Listing:
    """A folder's files, walked once and shared by every reader's sniff."""

    def __init__(self, root: Path):
        self.root = root

    @cached_property
    def files(self) -> list[Path]:
        return [f for f in self.root.rglob("*") if f.is_file() and not f.name.startswith(".")]

    @cached_property
    def top(self) -> list[Path]:
        return [f for f in self.root.iterdir() if f.is_file()]

    @cached_property
    def names(self) -> list[str]:
        return [f.name for f in self.files]


def is_companion(f: Path) -> bool:
    name = f.name.upper()
    return name.startswith(COMPANION_STARTS) or f.stem.upper() in CHECKSUM_NAMES or \
        f.suffix.lower() in CHECKSUM_SUFFIXES


def looks_like_idx(p: Path) -> bool:
    return "idx" in p.name and ("ubyte" in p.name or p.suffix in (".gz", ".idx"))


def _suffix(p: Path) -> str:
    return p.suffix.lower()


# --- archives: the names inside decide ----------------------------------------------------

ARCHIVE_READERS = [
    # CIFAR's and Reuters' readers take tars
    Reader("cifar-binary", lambda p, a: not is_zip(p) and is_cifar(a.names),
           lambda p, a, o: read_cifar(p, a)),
    Reader("reuters", lambda p, a: not is_zip(p) and
           any(n.lower().endswith(".sgm") for n in a.names), lambda p, a, o: read_reuters(p)),
    Reader("cifar-python", lambda p, a: bool(cifar_python_files(a.names)),
           lambda p, a, o: read_cifar_python(p, a)),
    Reader("stl10", lambda p, a: is_stl10(a.names), lambda p, a, o: read_stl10(p, a)),
    Reader("folder", lambda p, a: True, lambda p, a, o: read_folder_archive(a, **o)),
]


def read_archive(p: Path, options: dict) -> Corpus:
    archive = ArchiveFiles(p)
    reader = next(r for r in ARCHIVE_READERS if r.sniff(p, archive))
    return reader.read(p, archive, options)


# --- single files ----------------------------------------------------------------------------

FILE_READERS = [
    Reader("table", lambda p, _=None: _suffix(p) in TABLE_SUFFIXES + (JSON_TABLE_SUFFIX,
                                                                      LINES_SUFFIX),
           lambda p, o: read_table(p, **o)),
    Reader("archive", lambda p, _=None: is_archive(p), read_archive),
    Reader("reuters-sgml", lambda p, _=None: p.name.lower().endswith(".sgm"),
           lambda p, o: read_reuters(p)),
    Reader("npy", lambda p, _=None: _suffix(p) == ".npy", lambda p, o: read_npy(p)),
    Reader("npz", lambda p, _=None: _suffix(p) == ".npz", lambda p, o: read_npz(p)),
    Reader("fvecs", lambda p, _=None: _suffix(p) == FVECS_SUFFIX, lambda p, o: read_fvecs(p)),
    Reader("mat", lambda p, _=None: _suffix(p) == MAT_SUFFIX, lambda p, o: read_mat(p)),
    Reader("stl10-bin", lambda p, _=None: _suffix(p) == ".bin" and p.stem.endswith("_X"),
           lambda p, o: read_stl10(p)),
    Reader("cifar-bin", lambda p, _=None: _suffix(p) == ".bin" and
           is_cifar([f.name for f in p.parent.iterdir()]), lambda p, o: read_cifar(p)),
    Reader("idx", lambda p, _=None: looks_like_idx(p), lambda p, o: read_idx_corpus(p)),
]


# --- folders -----------------------------------------------------------------------------------

def _mostly_images(p: Path, ls: Listing) -> bool:
    return sum(_suffix(f) in IMAGE_SUFFIXES for f in ls.files) > len(ls.files) / 2


def _read_images(p: Path, o: dict, ls: Listing) -> Corpus:
    images = [f for f in ls.files if _suffix(f) in IMAGE_SUFFIXES]
    tables = [f for f in ls.files if _suffix(f) in TABLE_SUFFIXES or is_lines_table(f)]
    by_table = read_image_table_folder(p, images, tables, o.get("label_column")) \
        if tables else None
    return by_table or read_image_folder(p)


def _mostly_tables(p: Path, ls: Listing) -> bool:
    """A dataset hub's folder: a few tables (train.csv, test.csv), perhaps beside a README
    and a LICENSE, rather than one file per document."""
    line_tables = sum(map(is_lines_table, ls.files))
    n_tables = sum(_suffix(f) in TABLE_SUFFIXES for f in ls.files) + line_tables
    n_texts = sum(map(is_text_file, ls.files)) - line_tables
    return bool(n_tables) and n_tables >= n_texts


def _download_folder(p: Path, ls: Listing) -> bool:
    """The archive a dataset ships as, beside nothing but its README, licence or checksums
    (two documents and a zip are documents)."""
    archives = [f for f in ls.top if is_archive(f)]
    return len(archives) == 1 and all(f == archives[0] or is_companion(f) for f in ls.files)


def _read_download(p: Path, o: dict, ls: Listing) -> Corpus:
    archive = next(f for f in ls.top if is_archive(f))
    log.info("%s: reading the archive %s in it", p, archive.name)
    return read_archive(archive, o)


def _read_texts(p: Path, o: dict, ls: Listing) -> Corpus:
    archives = [f for f in ls.top if is_archive(f)]
    if archives:
        log.warning("%s: read as a folder of text files; the archive(s) %s in it are not "
                    "read (pass an archive itself to read it)", p,
                    ", ".join(f.name for f in archives[:3]))
    return read_text_folder(p)


FOLDER_READERS = [
    Reader("idx", lambda p, ls: any(looks_like_idx(f) and "images" in f.name for f in ls.top),
           lambda p, o, ls: read_idx_corpus(p)),
    Reader("reuters", lambda p, ls: any(f.name.lower().endswith(".sgm") for f in ls.top),
           lambda p, o, ls: read_reuters(p)),
    Reader("cifar-binary", lambda p, ls: is_cifar(ls.names), lambda p, o, ls: read_cifar(p)),
    Reader("cifar-python", lambda p, ls: bool(cifar_python_files([str(f) for f in ls.files])),
           lambda p, o, ls: read_cifar_python(p)),
    Reader("stl10", lambda p, ls: is_stl10(ls.names), lambda p, o, ls: read_stl10(p)),
    Reader("mat", lambda p, ls: is_mat_folder(ls.files), lambda p, o, ls: read_mat(p)),
    Reader("images", _mostly_images, _read_images),
    Reader("tables", _mostly_tables, lambda p, o, ls: read_table_folder(p, **o)),
    Reader("download", _download_folder, _read_download),
    Reader("texts", lambda p, ls: True, _read_texts),
]


def read_path(p: Path, options: dict) -> Corpus:
    """The corpus at ``p``, read by the first reader that recognises it."""
    if not p.exists():
        raise MissingCorpusError(f"corpus {p} does not exist; check the path (or use "
                                 "{dataset})")
    if p.is_file():
        reader = next((r for r in FILE_READERS if r.sniff(p)), None)
        if reader is not None:
            return reader.read(p, options)
        if _suffix(p) in IMAGE_SUFFIXES:
            raise CorpusError(f"{p} is a single image; put the images in a folder (one "
                              "sub-folder per label) and pass the folder")
        raise CorpusError(f"{p}: unknown corpus type; use a folder, .jsonl, .json, .csv, .tsv, "
                          ".parquet, .txt, .sgm, .npy, .npz, .fvecs, .mat, a CIFAR or STL-10 .bin, an IDX "
                          "file, or a folder's .tar.gz / .zip")
    if not p.is_dir():
        raise CorpusError(f"{p} is neither a file nor a folder")
    listing = Listing(p)
    if not listing.files:
        raise CorpusError(f"corpus folder {p} is empty; add documents or images to it")
    reader = next(r for r in FOLDER_READERS if r.sniff(p, listing))
    return reader.read(p, options, listing)
