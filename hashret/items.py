"""What a bundle's ``items.parquet`` holds for each item (its id, code, labels, split and
title), and how a corpus is recorded for reading it again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BIT_ORDER = "little"


def id_type(ids) -> str:
    return "int64" if all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                          for i in ids) else "string"


def items_table(ids, codes: np.ndarray, labels, splits, titles, embeddings=None,
                metadata: dict | None = None, id_kind: str | None = None):
    """The Parquet table of items: ``id``, ``code`` (fixed_size_binary), ``labels``
    (list<string>), ``split``, ``title`` and optionally ``embedding``. ``id_kind``
    (``int64``/``string``) fixes the id type when the table is one batch of many."""
    import pyarrow as pa
    n, width = codes.shape
    kind = id_kind or id_type(ids)
    cols = {
        "id": pa.array([int(i) for i in ids], pa.int64()) if kind == "int64"
        else pa.array([str(i) for i in ids], pa.string()),
        "code": pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(codes).tobytes())]),
        "labels": pa.array([[str(x) for x in ls] for ls in labels], pa.list_(pa.string())),
        "split": pa.array(list(splits), pa.string()),
        "title": pa.array([str(t) for t in titles], pa.string()),
    }
    if embeddings is not None:
        k = embeddings.shape[1]
        flat = pa.array(np.ascontiguousarray(embeddings, np.float32).reshape(-1))
        cols["embedding"] = pa.FixedSizeListArray.from_arrays(flat, k)
    table = pa.table(cols)
    meta = {"n_bits": str(width * 8), "bit_order": BIT_ORDER}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    return table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()})


@dataclass
class ItemColumns:
    """What ``items.parquet`` holds for each item beside its code."""
    ids: list
    labels: list
    splits: list
    titles: list

    @classmethod
    def of(cls, corpus) -> "ItemColumns":
        return cls(list(corpus.ids), list(corpus.labels), list(corpus.splits),
                   list(corpus.titles))

    @classmethod
    def of_table(cls, items) -> "ItemColumns":
        """The columns of a bundle's item table."""
        return cls(items.column("id").to_pylist(), items.column("labels").to_pylist(),
                   items.column("split").to_pylist(), items.column("title").to_pylist())

    def __add__(self, other: "ItemColumns") -> "ItemColumns":
        return ItemColumns(self.ids + other.ids, self.labels + other.labels,
                           self.splits + other.splits, self.titles + other.titles)

    def __len__(self) -> int:
        return len(self.ids)


def corpus_record(corpus) -> dict:
    """How to read ``corpus`` again (``hashret eval`` and ``check`` do), for the manifest:
    a path as an absolute one, so it is found from any working folder."""
    source = corpus.source
    if source and Path(source).exists():
        source = str(Path(source).resolve())
    return {"source": source, "dataset": corpus.meta.get("dataset"),
            "reader": corpus.meta.get("reader", {}), "limit": corpus.meta.get("limit"),
            "limit_seed": corpus.meta.get("limit_seed")}


def codes_from_column(col) -> np.ndarray:
    """A ``fixed_size_binary`` column as a (n, width) uint8 array."""
    col = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    width = col.type.byte_width
    buf = np.frombuffer(col.buffers()[1], np.uint8)
    return buf[col.offset * width:(col.offset + len(col)) * width].reshape(-1, width).copy()
