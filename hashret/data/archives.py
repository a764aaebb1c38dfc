"""Labelled folders packed as ``.tar`` (``.gz``, ``.bz2``, ``.xz``) or ``.zip`` archives, read
without unpacking them: corpora as they are downloaded (``20news-bydate.tar.gz``, a ``.zip``
of ``train/<label>/*.jpg``, a dataset hub's ``train.csv`` + ``test.csv`` zipped).

The archive is laid out as the folder would be (:func:`labelled_layout`); a folder that
wraps everything (``aclImdb/train/...``) is looked through. Text files and tables are read
into memory; images are kept as their encoded bytes and decoded when used.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import CorpusError, UsageError
from .corpus import IMAGE, TEXT, Corpus, below_wrappers, labelled_layout
from .images import IMAGE_SUFFIXES, images_from_sources
from .table_files import read_table_folder
from .tables import TABLE_SUFFIXES
from .text import document_text, is_text_file, text_title

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")


def is_archive(path: Path) -> bool:
    return Path(path).name.lower().endswith(ARCHIVE_SUFFIXES)


def is_zip(path: Path) -> bool:
    """A ``.zip`` archive; the other archive suffixes are tars."""
    return Path(path).name.lower().endswith(".zip")


def _unreadable(path: Path, e: Exception) -> CorpusError:
    return CorpusError(f"{path}: not a readable archive ({str(e)[:100]}); download it again, "
                       "or unpack it and pass the folder")


# A member larger than this is not kept by the listing pass but read by a second one if it
# is wanted: STL-10's 2.8 GB of unlabelled images, which its reader leaves out, would
# otherwise be held in memory.
KEEP_MAX_BYTES = 512 << 20


class ArchiveFiles:
    """An archive's regular files: ``names`` in archive order, and their bytes on demand
    (:meth:`read`). A compressed tar can only be decompressed from its start, so the pass that
    lists a tar also keeps the bytes of every visible file a corpus could be made of (text,
    image, table; up to :data:`KEEP_MAX_BYTES` each) and :meth:`read` serves them from
    memory: one decompression, not two. A ``.zip`` lists its files from its directory and
    reads only the ones asked for."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._kept: dict[str, bytes] = {}
        try:
            if is_zip(self.path):
                with zipfile.ZipFile(self.path) as z:
                    self.names = [i.filename for i in z.infolist() if not i.is_dir()]
                return
            self.names = []
            with tarfile.open(self.path) as tar:
                for m in tar:          # sequential: a compressed tar is read once
                    if m.isfile():
                        self.names.append(m.name)
                        if _visible(m.name) and _corpus_file(PurePosixPath(m.name)) \
                                and m.size <= KEEP_MAX_BYTES:
                            self._kept[m.name] = tar.extractfile(m).read()
        except Exception as e:  # noqa: BLE001 - zip, tar and their codecs raise many kinds
            raise _unreadable(self.path, e) from None

    def read(self, names: set[str]) -> dict[str, bytes]:
        """The bytes of the named files (a tar's files not kept by the first pass cost a
        second one)."""
        try:
            if is_zip(self.path):
                with zipfile.ZipFile(self.path) as z:
                    return {n: z.read(n) for n in names}
            missing = set(names) - set(self._kept)
            if missing:
                with tarfile.open(self.path) as tar:
                    for m in tar:
                        if m.isfile() and m.name in missing:
                            self._kept[m.name] = tar.extractfile(m).read()
            return {n: self._kept[n] for n in names}
        except Exception as e:  # noqa: BLE001 - zip, tar and their codecs raise many kinds
            raise _unreadable(self.path, e) from None


def _corpus_file(name: PurePosixPath) -> bool:
    suffix = name.suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix in TABLE_SUFFIXES or is_text_file(name) or \
        suffix == ".bin"                            # CIFAR's binary batches


def _visible(name: str) -> bool:
    """Not hidden, not macOS metadata, not pointing out of the archive's folder (``..``)."""
    parts = PurePosixPath(name).parts
    return not any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _relative_parts(names: list[str]) -> list[tuple[str, ...]]:
    """Each name's path parts below the folders that wrap every file."""
    return below_wrappers([tuple(p for p in PurePosixPath(n).parts if p not in ("/", "."))
                           for n in names])


def read_folder_archive(archive: ArchiveFiles, text_column=None, label_column=None,
                        id_column=None, embedding_column=None) -> Corpus:
    """An archive of a labelled folder of text files, image files or tables (see the module
    docstring). What most of the files are decides, as for a folder."""
    path = archive.path
    names = [n for n in archive.names if _visible(n)]
    if not names:
        raise CorpusError(f"{path}: the archive holds no files; add documents or images")
    rels = _relative_parts(names)
    files = [PurePosixPath(r[-1]) for r in rels]
    images = [f.suffix.lower() in IMAGE_SUFFIXES for f in files]
    tables = [f.suffix.lower() in TABLE_SUFFIXES for f in files]
    texts = [is_text_file(f) for f in files]
    of_images = sum(images) > len(names) / 2
    if not of_images and any(tables) and sum(tables) >= sum(texts):
        return _read_table_archive(archive, [(n, r) for n, r, t in zip(names, rels, tables) if t],
                                   text_column, label_column, id_column, embedding_column)
    keep = [i for i, wanted in enumerate(images if of_images else texts) if wanted]
    layout = labelled_layout([rels[i] for i in keep])
    if not layout:
        raise CorpusError(f"{path}: no text or image files in a labelled layout; expected "
                          "one sub-folder per label (under train/ and test/ when split)")
    members = [names[keep[i]] for i, _, _, _ in layout]
    blobs = archive.read(set(members))
    ids, labels, splits = ([r[k] for r in layout] for k in (1, 2, 3))
    if of_images:
        items = images_from_sources([blobs[m] for m in members],
                                    [f"{path}:{m}" for m in members])
        return Corpus(IMAGE, ids, items, labels, splits, list(ids), str(path),
                      {"shape": items.shape[1:]})
    texts = [document_text(m, blobs[m]) for m in members]
    return Corpus(TEXT, ids, texts, labels, splits, [text_title(t) for t in texts], str(path))


def _read_table_archive(archive: ArchiveFiles, members: list[tuple[str, tuple]], text_column,
                        label_column, id_column, embedding_column=None) -> Corpus:
    """Tables in an archive, ``(name, relative parts)`` each: written to a temporary folder
    under their names and read as a folder of tables (which reads them whole, so the folder
    can go at once)."""
    path = archive.path
    blobs = archive.read({name for name, _ in members})
    with tempfile.TemporaryDirectory(prefix="hashret-tables-") as tmp:
        for name, rel in members:
            target = Path(tmp, *rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs[name])
        try:
            corpus = read_table_folder(Path(tmp), text_column=text_column,
                                       label_column=label_column, id_column=id_column,
                                       embedding_column=embedding_column)
        except (CorpusError, UsageError) as e:     # name the archive, not the folder
            raise type(e)(str(e).replace(str(Path(tmp)) + "/", f"{path}:")
                          .replace(str(Path(tmp)), str(path))) from None
    corpus.source = str(path)
    return corpus
