""":class:`BinaryCodeIndex`: nearest-neighbour search over packed binary codes by Hamming
distance, on Faiss binary indexes.

Codes are ``uint8`` arrays of shape ``(n, bits // 8)``; bit ``i`` is bit ``i % 8`` of byte
``i // 8`` (little-endian within a byte, faiss' order). Ids are ``int64``.

Ties: results are ordered by distance, then by id. Which of several items tied at the k-th
distance make the cut is the underlying faiss index's choice.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .errors import BundleError, UsageError
from .fileio import atomic_file

INDEX_KINDS = ("flat",)


def check_codes(codes, bits: int | None = None) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2:
        raise UsageError(f"codes must be a uint8 array of shape (n, bits/8), got "
                         f"{codes.dtype} {codes.shape}")
    if bits is not None and codes.shape[1] * 8 != bits:
        raise UsageError(f"codes have {codes.shape[1] * 8} bits but the index holds {bits}-bit "
                         "codes; encode with the same model")
    return np.ascontiguousarray(codes)


def check_flat_index_file(path: Path) -> str | None:
    """Check the layout of a saved ``IndexBinaryIDMap2(IndexBinaryFlat)`` before faiss reads
    it (faiss trusts the counts inside the file); returns what is wrong, or None.

    Layout: ``IBM2`` header, ``IBxF`` header, the codes vector, the id vector; a header is
    d (int32), code_size (int32), ntotal (int64), is_trained (uint8), metric (int32); a
    vector is its length (uint64) then its elements.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(66)
    if len(head) < 66:
        return "file too short"
    if head[:4] != b"IBM2" or head[25:29] != b"IBxF":
        return "not an IndexBinaryIDMap2 over IndexBinaryFlat"
    d, code_size = (int.from_bytes(head[4 + 4 * i:8 + 4 * i], "little", signed=True)
                    for i in range(2))
    ntotal = int.from_bytes(head[12:20], "little", signed=True)
    inner = head[29:50]
    if inner[:16] != head[4:20] or d != code_size * 8 or not 0 < code_size <= 4096 \
            or ntotal < 0:
        return "inconsistent header"
    if int.from_bytes(head[50:58], "little") != ntotal * code_size:
        return "code count does not match the header"
    if size != 66 + ntotal * code_size + 8 * ntotal:
        return f"{size} bytes where the header implies {66 + ntotal * (code_size + 8)}"
    with open(path, "rb") as f:
        f.seek(58 + ntotal * code_size)
        if int.from_bytes(f.read(8), "little") != ntotal:
            return "id count does not match the header"
    return None


def _sort_ties(dist: np.ndarray, ids: np.ndarray):
    """Order each row by (distance, id), keeping missing results (-1) last."""
    key_ids = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((key_ids, dist), axis=1)
    return np.take_along_axis(dist, order, 1), np.take_along_axis(ids, order, 1)


class BinaryCodeIndex:
    """Exact (or, for some kinds, approximate) Hamming search over binary codes.

    >>> index = BinaryCodeIndex.build(codes)          # ids 0..n-1
    >>> dist, ids = index.search(query_codes, k=10)
    """

    def __init__(self, faiss_index, kind: str = "flat"):
        self._index = faiss_index
        self.kind = kind
        self._lock = threading.RLock()     # writes exclude searches; searches run together

    @property
    def bits(self) -> int:
        return self._index.d

    @property
    def ntotal(self) -> int:
        return self._index.ntotal

    def __len__(self) -> int:
        return self.ntotal

    @classmethod
    def build(cls, codes, ids=None, kind: str = "flat", **params) -> "BinaryCodeIndex":
        import faiss
        codes = check_codes(codes)
        if kind not in INDEX_KINDS:
            raise UsageError(f"unknown index kind {kind!r}; choose one of "
                             f"{', '.join(INDEX_KINDS)}")
        if params:
            raise UsageError(f"index kind {kind!r} takes no parameters "
                             f"({', '.join(params)})")
        bits = codes.shape[1] * 8
        index = cls(faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(bits)), kind)
        index.add(codes, ids)
        return index

    def add(self, codes, ids=None) -> None:
        codes = check_codes(codes, self.bits)
        if ids is None:
            ids = np.arange(self.ntotal, self.ntotal + len(codes), dtype=np.int64)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(codes):
            raise UsageError(f"{len(ids)} ids for {len(codes)} codes")
        with self._lock:
            self._index.add_with_ids(codes, ids)

    def remove(self, ids) -> int:
        import faiss
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, query_codes, k: int):
        """The ``k`` nearest codes of each query: ``(distances int32 (m, k), ids int64
        (m, k))``; rows have -1 ids where the index holds fewer than ``k`` items."""
        q = check_codes(query_codes, self.bits)
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        kk = min(k, max(self.ntotal, 1))
        dist, ids = self._index.search(q, kk)
        dist, ids = _sort_ties(dist.astype(np.int32), ids.astype(np.int64))
        if kk < k:
            pad = k - kk
            dist = np.pad(dist, ((0, 0), (0, pad)), constant_values=np.iinfo(np.int32).max)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return dist, ids

    def range_search(self, query_codes, radius: int):
        """Every item within ``radius`` bits (inclusive) of each query, as a list of
        ``(distances, ids)`` per query, ordered by distance then id."""
        q = check_codes(query_codes, self.bits)
        # faiss' binary range search keeps distances strictly below the radius.
        lims, dist, ids = self._index.range_search(q, int(radius) + 1)
        out = []
        for i in range(len(q)):
            d, j = dist[lims[i]:lims[i + 1]].astype(np.int32), ids[lims[i]:lims[i + 1]]
            order = np.lexsort((j, d))
            out.append((d[order], j[order].astype(np.int64)))
        return out

    def reconstruct(self, ids) -> np.ndarray:
        return np.stack([self._index.reconstruct(int(i)) for i in ids])

    def save(self, path) -> None:
        import faiss
        with atomic_file(path) as tmp:
            faiss.write_index_binary(self._index, str(tmp))

    @classmethod
    def load(cls, path, mmap: bool = False, kind: str = "flat") -> "BinaryCodeIndex":
        import faiss
        path = Path(path)
        if not path.exists():
            raise BundleError(f"index file {path} is missing; rebuild the index")
        problem = check_flat_index_file(path)
        if problem:
            raise BundleError(f"index file {path} is damaged ({problem}); rebuild the index")
        flags = faiss.IO_FLAG_MMAP if mmap else 0
        try:
            index = faiss.read_index_binary(os.fspath(path), flags)
        except RuntimeError as e:
            msg = str(e).strip().splitlines()[-1][:120] if str(e).strip() else "unreadable"
            raise BundleError(f"index file {path} is damaged ({msg}); rebuild the index") \
                from None
        return cls(index, kind)
