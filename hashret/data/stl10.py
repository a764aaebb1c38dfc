"""STL-10 as it is downloaded (``stl10_binary.tar.gz``, or its folder): 96x96 colour images
in ``train_X.bin`` and ``test_X.bin``, each image stored channel by channel and each
channel column by column, their labels (1 to 10, one byte each) in ``train_y.bin`` and
``test_y.bin``, the class names in ``class_names.txt``.

The 100,000 unlabelled images of ``unlabeled_X.bin`` (2.8 GB) are there for unsupervised
pre-training, not retrieval, and would make a build of the 13,000 labelled images ten times
longer: a folder or archive is read without them (a log line says so); pass the file itself
to index them, as training items without labels."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import CorpusError
from .corpus import Corpus, image_arrays_corpus, name_lines

log = logging.getLogger("hashret")

SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE
PARTS = (("train_X.bin", "train_y.bin", "train"), ("test_X.bin", "test_y.bin", "test"))
UNLABELLED = "unlabeled_X.bin"
CLASS_NAMES = "class_names.txt"


def stl10_files(names: list[str]) -> tuple[list[tuple[str, str, str]], str] | None:
    """``([(images file, labels file, split)], class-names file)`` of an STL-10 layout among
    ``names`` (paths or archive members), or None. Labels and class names may be missing
    (``""``)."""
    base = {PurePosixPath(n).name: n for n in names}
    parts = [(base[x], base.get(y, ""), split) for x, y, split in PARTS if x in base]
    if not parts:
        return None
    return parts, base.get(CLASS_NAMES, "")


def is_stl10(names: list[str]) -> bool:
    return stl10_files(names) is not None


def _images(raw, name: str) -> np.ndarray:
    """The images of one ``*_X.bin`` file (bytes or a memory map), ``(n, 96, 96, 3)``."""
    if len(raw) == 0 or len(raw) % IMAGE_BYTES:
        raise CorpusError(f"{name}: {len(raw)} bytes is not a whole number of {SIDE}x{SIDE} "
                          "colour images; the file is truncated or damaged, download it again")
    # (n, channel, column, row) in the file -> (n, row, column, channel)
    return np.frombuffer(raw, np.uint8).reshape(-1, 3, SIDE, SIDE).transpose(0, 3, 2, 1)


def read_stl10(path: Path, archive=None) -> Corpus:
    """STL-10's labelled images from its folder, its ``.tar.gz`` (``archive``, an
    :class:`~hashret.data.archives.ArchiveFiles` of it) or one ``*_X.bin`` file (with its
    ``*_y.bin`` beside it, if any). Training images first, then test images; ids are row
    numbers; labels are class names."""
    path = Path(path)
    if archive is not None:
        found = stl10_files(archive.names)
        skipped = any(PurePosixPath(n).name == UNLABELLED for n in archive.names)
    elif path.is_dir():
        found = stl10_files([str(f) for f in sorted(path.rglob("*")) if f.is_file()])
        skipped = any(path.rglob(UNLABELLED))
    else:                                    # one images file, its labels beside it
        y = path.with_name(path.name.replace("_X", "_y"))
        split = "test" if path.name.startswith("test") else "train"
        names = path.with_name(CLASS_NAMES)
        found = ([(str(path), str(y) if y.exists() and y != path else "", split)],
                 str(names) if names.exists() else "")
        skipped = False
    if found is None:
        raise CorpusError(f"{path}: no STL-10 train_X.bin / test_X.bin files; use the binary "
                          "version (stl10_binary)")
    parts, names_file = found
    wanted = {n for x, y, _ in parts for n in (x, y) if n} | ({names_file} - {""})
    try:
        blobs = archive.read(wanted) if archive is not None else \
            {n: (np.memmap(n, np.uint8, mode="r") if n.endswith("_X.bin")
                 and Path(n).stat().st_size else Path(n).read_bytes()) for n in wanted}
    except OSError as e:                    # an archive's own faults are ArchiveFiles' to report
        raise CorpusError(f"{path}: not a readable STL-10 folder ({e}); download it "
                          "again") from None
    class_names = []
    if names_file:
        class_names = name_lines(blobs[names_file])
    arrays, labels, splits, titles = [], [], [], []
    for x, y, split in parts:
        images = _images(blobs[x], x)
        n = len(images)
        if y:
            values = np.frombuffer(bytes(blobs[y]), np.uint8)
            if len(values) != n:
                raise CorpusError(f"{y}: {len(values)} labels for the {n} images of {x}; "
                                  "the files do not belong together, download them again")
            labels += [[class_names[v - 1] if 1 <= v <= len(class_names) else str(int(v))]
                       for v in values]
        else:
            labels += [[] for _ in range(n)]
        arrays.append((PurePosixPath(x).name, images))
        splits += [split] * n
        titles += [f"{PurePosixPath(x).name}[{i}]" for i in range(n)]
    if skipped:
        log.info("%s: the 100,000 images of %s left out (unlabelled, for pre-training); "
                 "pass that file to index them", path, UNLABELLED)
    return image_arrays_corpus(path, arrays, labels, splits, titles)
