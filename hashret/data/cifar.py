"""CIFAR-10 and CIFAR-100 as they are downloaded: the binary version (``.bin`` records of a
label byte and a 32x32 RGB image) and the "python version" (``cifar-10-python.tar.gz``,
``cifar-100-python.tar.gz``, the download most code uses: pickled dicts of a ``data``
array, n x 3072, each row an image stored channel by channel, and a list of labels, with
the class names in ``batches.meta`` / ``meta``), as their folders or archives.

A pickle can name any Python function to call while it loads. The python version is read
by an unpickler that builds only dicts, lists, strings, numbers and numpy arrays, and
refuses any file that asks for anything else."""

from __future__ import annotations

import importlib
import io
import pickle
import re
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import CorpusError
from .corpus import IMAGE, Corpus, image_arrays_corpus, name_lines


# --- binary version ----------------------------------------------------------------------

_CIFAR10_FILE = re.compile(r"(data_batch_\d+|test_batch)\.bin$")
_CIFAR100_FILE = re.compile(r"(train|test)\.bin$")


def _cifar_files(names: list[str]) -> tuple[list[str], int, str] | None:
    """(the data files, label bytes per record, the class-names file) of a CIFAR binary
    layout among ``names``, or None. CIFAR-10: ``data_batch_1..5.bin`` and
    ``test_batch.bin``, one label byte; CIFAR-100: ``train.bin`` and ``test.bin`` beside
    ``fine_label_names.txt``, a coarse and a fine label byte (the fine one is used)."""
    base = {Path(n).name: n for n in names}
    test_last = lambda n: (Path(n).name.startswith("test"), n)    # noqa: E731
    ten = sorted((n for b, n in base.items() if _CIFAR10_FILE.fullmatch(b)), key=test_last)
    if ten:
        return ten, 1, base.get("batches.meta.txt", "")
    if "fine_label_names.txt" in base:
        hundred = sorted((n for b, n in base.items() if _CIFAR100_FILE.fullmatch(b)),
                         key=test_last)
        if hundred:
            return hundred, 2, base["fine_label_names.txt"]
    return None


def is_cifar(names: list[str]) -> bool:
    return _cifar_files(names) is not None


def read_cifar(path: Path, archive=None) -> Corpus:
    """CIFAR-10 or CIFAR-100 in its binary version: the folder, one of its ``.bin`` files,
    or the distribution ``.tar.gz`` (``archive``, an
    :class:`~hashret.data.archives.ArchiveFiles` of it). Records are a label byte
    (CIFAR-100: coarse then fine) and a 32x32 RGB image stored channel by channel; labels
    are class names when the folder has them (``batches.meta.txt`` /
    ``fine_label_names.txt``). Training files come first, then the test file; ids are row
    numbers."""
    path = Path(path)
    blobs: dict[str, bytes] = {}          # the files' bytes when they come from an archive
    try:
        if path.is_dir():
            found = _cifar_files([str(f) for f in sorted(path.rglob("*")) if f.is_file()])
        elif path.suffix.lower() == ".bin":       # one file, with the class names beside it
            found = _cifar_files([str(path)] + [str(f) for f in path.parent.glob("*.txt")])
        else:
            if archive is None:
                from .archives import ArchiveFiles
                archive = ArchiveFiles(path)
            found = _cifar_files(archive.names)
            blobs = archive.read({n for n in (found[0] + [found[2]]) if n}) if found else {}
    except OSError as e:                  # an archive's own faults are ArchiveFiles' to report
        raise CorpusError(f"{path}: not a readable CIFAR folder ({e}); re-download the "
                          "binary version") from None
    if found is None:
        raise CorpusError(f"{path}: no CIFAR data_batch_*.bin / test_batch.bin files; use "
                          "the binary version of CIFAR-10 or CIFAR-100")
    files, label_bytes, names_file = found
    class_names = []
    if names_file:
        raw = blobs[names_file] if names_file in blobs else Path(names_file).read_bytes()
        class_names = name_lines(raw)
    record = np.dtype([("label", np.uint8, (label_bytes,)), ("image", np.uint8,
                                                             (3, 32, 32))])
    parts, labels, splits, titles = [], [], [], []
    for f in files:
        size = len(blobs[f]) if f in blobs else Path(f).stat().st_size
        if size == 0 or size % record.itemsize:
            raise CorpusError(f"{f}: {size} bytes is not a whole number of "
                              f"{record.itemsize}-byte CIFAR records; the file is truncated "
                              "or damaged")
        recs = np.frombuffer(blobs[f], record) if f in blobs else \
            np.memmap(f, record, mode="r")
        parts.append((Path(f).name, recs["image"].transpose(0, 2, 3, 1)))   # (n, h, w, c)
        for v in np.asarray(recs["label"][:, -1]):
            labels.append([class_names[v] if v < len(class_names) else str(int(v))])
        n = len(recs)
        splits += ["test" if Path(f).name.startswith("test") else "train"] * n
        titles += [f"{Path(f).name}[{i}]" for i in range(n)]
    return image_arrays_corpus(path, parts, labels, splits, titles)


# --- python version ----------------------------------------------------------------------

_CIFAR10_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
# What a pickled numpy array needs, by the module names numpy 1 and numpy 2 use, and what
# Python 3 writes bytes with under pickle protocol 2 (codecs.encode of a latin-1 string).
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR batch "
                                         "never holds")
        for candidate in (module, module.replace("numpy.core", "numpy._core"),
                          module.replace("numpy._core", "numpy.core")):
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"{module}.{name} is not in this numpy")


def _load(raw: bytes, name: str) -> dict:
    try:
        data = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
    except Exception as e:  # noqa: BLE001 - a damaged pickle raises many kinds
        raise CorpusError(f"{name}: not a readable CIFAR python batch ({str(e)[:100]}); "
                          "re-download it") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{name}: not a CIFAR python batch (a {type(data).__name__}, not "
                          "a dict)")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in data.items()}


def cifar_python_files(names: list[str]) -> tuple[list[str], str, str] | None:
    """(the batch files, training first; the class-names file; the label key) of a CIFAR
    python layout among ``names``, or None."""
    base = {PurePosixPath(n).name: n for n in names}
    if "test_batch" in base and "data_batch_1" in base:
        return ([base[b] for b in _CIFAR10_BATCHES if b in base], base.get("batches.meta", ""),
                "labels")
    folder = PurePosixPath(base.get("meta", "")).parent
    if {"train", "test", "meta"} <= set(base) and "cifar" in folder.name.lower() and \
            PurePosixPath(base["train"]).parent == folder:
        return [base["train"], base["test"]], base["meta"], "fine_labels"
    return None


def read_cifar_python(path: Path, archive=None) -> Corpus:
    """The CIFAR python version as its folder, or its ``.tar.gz`` (``archive``, an
    :class:`~hashret.data.archives.ArchiveFiles` of it); ids are row numbers, training
    images first; labels are class names (CIFAR-100: the fine ones)."""
    path = Path(path)
    if archive is None:
        files = [str(f) for f in sorted(path.rglob("*")) if f.is_file()]
        found = cifar_python_files(files)
        read = lambda n: Path(n).read_bytes()              # noqa: E731
    else:
        found = cifar_python_files(archive.names)
        blobs = archive.read({n for n in (found[0] + [found[1]]) if n}) if found else {}
        read = blobs.__getitem__
    if found is None:
        raise CorpusError(f"{path}: no CIFAR python batches (data_batch_1 ... test_batch, or "
                          "train / test / meta)")
    batches, meta_name, label_key = found
    class_names = []
    if meta_name:
        meta = _load(read(meta_name), meta_name)
        raw = meta.get("label_names") or meta.get("fine_label_names") or []
        class_names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)
                       for n in raw]
    parts, labels, splits, titles = [], [], [], []
    for name in batches:
        batch = _load(read(name), name)
        data, ys = batch.get("data"), batch.get(label_key)
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or \
                ys is None or len(ys) != len(data):
            raise CorpusError(f"{name}: not a CIFAR python batch (expected 'data' of n x 3072 "
                              f"pixels and {len(data) if hasattr(data, '__len__') else 'n'} "
                              f"'{label_key}'); re-download it")
        parts.append(np.asarray(data, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels += [[class_names[y] if 0 <= y < len(class_names) else str(int(y))]
                   for y in map(int, ys)]
        split = "test" if PurePosixPath(name).name.startswith("test") else "train"
        splits += [split] * len(data)
        files = batch.get("filenames")          # the image's original file name, when kept
        titles += [f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)
                   for f in files] if isinstance(files, list) and len(files) == len(data) \
            else [f"{PurePosixPath(name).name}[{i}]" for i in range(len(data))]
    items = np.ascontiguousarray(np.concatenate(parts))
    return Corpus(IMAGE, list(range(len(splits))), items, labels, splits, titles, str(path),
                  {"shape": (32, 32, 3)})
