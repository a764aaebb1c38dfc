"""Vector corpus readers: the float embeddings users already hold, one row an item.

A 2-D array in a ``.npy`` (memory-mapped) or ``.npz`` file, an ``.fvecs`` file (the
TEXMEX layout of ANN benchmarks: each row a little-endian int32 dimension, then that many
float32 values), or a table column of number lists (Parquet ``list<float>`` or
``fixed_size_list``, JSON arrays) as sentence-transformers, autofaiss and embedding-reader
users keep them. Scaling is the featurizer's job
(:class:`hashret.data.features.VectorFeaturizer`).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np

from ..errors import CorpusError, UsageError
from .corpus import VECTOR, ConcatItems, Corpus

log = logging.getLogger("hashret")

FVECS_SUFFIX = ".fvecs"
# names of a table's embedding column, when none is named
EMBEDDING_COLUMNS = ("embedding", "embeddings", "vector", "vectors", "emb")
_LABEL_NAME = re.compile(r"^(y|Y)(_|$)|label|target|class", re.I)
_TEST_KEY = re.compile(r"test", re.I)


def check_vectors(arr, what: str) -> np.ndarray:
    """``arr`` as a 2-D numeric array (n, d), refused with a message saying what it is."""
    if not isinstance(arr, np.ndarray) or arr.ndim != 2:
        raise CorpusError(f"{what}: expected vectors of shape (n, d), found shape "
                          f"{getattr(arr, 'shape', '?')}")
    if arr.dtype.kind not in "uif":
        raise CorpusError(f"{what}: vector type {arr.dtype} is not numeric")
    if arr.shape[1] < 2:
        raise CorpusError(f"{what}: vectors of {arr.shape[1]} dimension; give at least 2")
    return arr


def vectors_corpus(source, parts: list[tuple[str, np.ndarray]], labels: list,
                   splits: list[str], titles: list[str], ids=None, meta=None) -> Corpus:
    """One vector corpus of the ``(name, (n, d) array)`` parts a file or split gave, in
    order; ids are row numbers unless given."""
    dims = {name: a.shape[1] for name, a in parts}
    if len(set(dims.values())) > 1:
        raise CorpusError(f"{source}: the vector arrays differ in dimension ({dims}); give "
                          "every split vectors of one dimension")
    arrays = [a for _, a in parts]
    items = arrays[0] if len(arrays) == 1 else ConcatItems(arrays)
    d = arrays[0].shape[1]
    side = math.isqrt(d)
    if side * side == d and arrays[0].dtype.kind in "ui":
        log.info("%s: read as %d-dimensional vectors; if the rows are %d x %d images, save "
                 "x.reshape(-1, %d, %d) to index them as images", source, d, side, side,
                 side, side)
    n = len(splits)
    return Corpus(VECTOR, list(range(n)) if ids is None else ids, items, labels, splits,
                  titles, str(source), {"dim": int(d), **(meta or {})})


def read_vector_npy(path: Path, arr: np.ndarray, labels: list) -> Corpus:
    """A memory-mapped (n, d) ``.npy`` array, with the labels found beside it."""
    check_vectors(arr, str(path))
    n = len(arr)
    return vectors_corpus(path, [("array", arr)], labels, ["train"] * n,
                          [f"{path.name}[{i}]" for i in range(n)])


def npz_vector_arrays(arrays: dict) -> list[str]:
    """The names of a ``.npz`` archive's vector arrays: 2-D numeric arrays not named as
    labels (``y_train``, ``labels``, ``targets``), test ones last."""
    keys = list(arrays)
    found = [k for k in keys if arrays[k].ndim == 2 and arrays[k].dtype.kind in "uif"
             and arrays[k].shape[1] >= 2 and not _LABEL_NAME.search(k)]
    return sorted(found, key=lambda k: (bool(_TEST_KEY.search(k)), keys.index(k)))


def read_vector_npz(path: Path, arrays: dict, names: list[str], label_of) -> Corpus:
    """The vector arrays ``names`` of a ``.npz`` archive; ``label_of(name, n)`` gives the
    label array of one (or None)."""
    parts, labels, splits, titles = [], [], [], []
    for k in names:
        arr = arrays[k]
        n = len(arr)
        lab = label_of(k, n)
        labels += [[] for _ in range(n)] if lab is None else \
            [[str(v.item())] for v in np.asarray(lab).reshape(n, -1)[:, 0]]
        splits += ["test" if _TEST_KEY.search(k) else "train"] * n
        titles += [f"{k}[{i}]" for i in range(n)]
        parts.append((k, arr))
    return vectors_corpus(path, parts, labels, splits, titles)


def read_fvecs(path: Path) -> Corpus:
    """An ``.fvecs`` file, memory-mapped: every row's leading dimension must agree."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    if len(head) < 4:
        raise CorpusError(f"{path}: empty .fvecs file; it must hold at least one vector")
    d = int(np.frombuffer(head, "<i4")[0])
    row = 4 * (d + 1)
    if d < 2 or d > 1_000_000 or size % row:
        raise CorpusError(f"{path}: not an .fvecs file (a row of dimension {d} does not "
                          f"divide its {size:,} bytes); each row is an int32 dimension then "
                          "that many float32 values")
    raw = np.memmap(path, dtype="<f4", mode="r", shape=(size // row, d + 1))
    dims = raw[:, 0].view("<i4")
    if np.any(dims != d):
        bad = int(np.flatnonzero(dims != d)[0])
        raise CorpusError(f"{path}: row {bad} says dimension {int(dims[bad])}, the first "
                          f"says {d}; every row of an .fvecs file must have one dimension")
    vectors = raw[:, 1:]
    n = len(vectors)
    return vectors_corpus(path, [("fvecs", vectors)], [[] for _ in range(n)], ["train"] * n,
                          [f"{path.name}[{i}]" for i in range(n)])


def find_embedding_column(rows: list[dict], named: str | None, source: str) -> str | None:
    """The column of a table's rows that holds embeddings: ``named``, else one named as
    embeddings usually are (:data:`EMBEDDING_COLUMNS`) whose first value is a list of
    numbers; None when the table holds none."""
    columns = list(rows[0].keys())
    if named is not None:
        if named not in columns:
            raise UsageError(f"{source}: {{embedding_column:{named}}} is not a column; columns "
                             f"are {columns}", option="embedding_column")
        return named
    for c in columns:
        if str(c).lower() in EMBEDDING_COLUMNS and _number_list(rows[0].get(c)):
            return c
    return None


def _number_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and len(value) >= 2 and \
        all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            for v in value[:8])


def column_vectors(rows: list[dict], column: str, source: str) -> np.ndarray:
    """The float32 (n, d) array of a table's embedding column, every row checked."""
    first = rows[0].get(column)
    if not _number_list(first):
        raise CorpusError(f"{source}: column {column!r} holds {type(first).__name__}, not a "
                          "list of numbers; name the embedding column with "
                          "{embedding_column}")
    d = len(first)
    out = np.empty((len(rows), d), np.float32)
    for i, r in enumerate(rows):
        v = r.get(column)
        if v is None or len(v) != d:
            got = "no value" if v is None else f"{len(v)} values"
            raise CorpusError(f"{source}: row {i} of column {column!r} has {got}, the first "
                              f"row {d}; every embedding must have one dimension")
        try:
            out[i] = v
        except (TypeError, ValueError):
            raise CorpusError(f"{source}: row {i} of column {column!r} is not a list of "
                              "numbers") from None
    if not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out).all(1))[0])
        raise CorpusError(f"{source}: row {bad} of column {column!r} holds NaN or infinity; "
                          "drop or fix that row")
    return out


def vector_rows_corpus(rows: list[dict], source: str, column: str, label_column, id_column,
                       file_splits: list[str] | None = None,
                       folder: Path | None = None) -> Corpus:
    """A corpus of the embeddings in a table's ``column``, one per row; labels, ids, splits
    and titles read as for a table of documents."""
    from .tables import check_columns, row_ids, row_labels_and_splits
    columns = list(rows[0].keys())
    check_columns(source, columns, label_column=[label_column], id_column=[id_column])
    vectors = column_vectors(rows, column, source)
    labels, splits = row_labels_and_splits(rows, columns, label_column, file_splits, folder)
    titles = [str(r["title"]) if r.get("title") else f"row {i}" for i, r in enumerate(rows)]
    ids, id_meta = row_ids(rows, columns, id_column, source)
    log.info("%s: %d-dimensional vectors in column %r", source, vectors.shape[1], column)
    return vectors_corpus(source, [(column, vectors)], labels, splits, titles, ids, id_meta)


def read_query_vector(path) -> np.ndarray:
    """One query vector from a file: a ``.npy`` array of one row (or a 1-D one), a JSON
    list of numbers, or numbers separated by spaces, commas or new lines."""
    import json
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"query vector file {path} does not exist", option="vector")
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            text = path.read_text()
            arr = np.asarray(json.loads(text) if text.lstrip().startswith("[") else
                             [float(v) for v in re.split(r"[\s,;]+", text.strip()) if v],
                             np.float32)
    except (OSError, ValueError, TypeError) as e:
        raise CorpusError(f"{path}: not a vector ({str(e)[:80]}); give a .npy array, a JSON "
                          "list or numbers separated by spaces or commas") from None
    if arr.ndim == 2 and len(arr) == 1:
        arr = arr[0]
    if arr.ndim != 1 or arr.dtype.kind not in "uif" or len(arr) < 2:
        raise CorpusError(f"{path}: holds shape {arr.shape}, not one vector; give one row "
                          "(to query with many vectors, use hashret neighbours --corpus)")
    return arr.astype(np.float32)
