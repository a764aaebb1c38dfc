"""CIFAR-10 and CIFAR-100 in their "python version" (``cifar-10-python.tar.gz``,
``cifar-100-python.tar.gz``, the downloads most code uses): pickled dicts of a ``data``
array (n x 3072, each row a 32x32 RGB image stored channel by channel) and a list of
labels, with the class names in ``batches.meta`` / ``meta``.

A pickle can name any Python function to call while it loads. These are read by an
unpickler that builds only dicts, lists, strings, numbers and numpy arrays, and refuses
any file that asks for anything else."""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import CorpusError
from .corpus import IMAGE, Corpus

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
