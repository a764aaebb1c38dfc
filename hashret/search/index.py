""":class:`BinaryCodeIndex`: nearest-neighbour and range search over packed binary codes by
Hamming distance.

Codes are ``uint8`` arrays of shape ``(n, bits // 8)``; bit ``i`` is bit ``i % 8`` of byte
``i // 8`` (little-endian within a byte, faiss' order). Ids are ``int64``.

Kinds (``BinaryCodeIndex.build(codes, kind=...)``):

=========  ======  ==========================================================  ===========
kind       exact   how it searches                                             add/remove
=========  ======  ==========================================================  ===========
``flat``   yes     compiled popcount scan of every code (blocked, threaded)    yes / yes
``hash``   yes     Hamming-ball address lookup: probes every address within    yes / yes
                   the radius in a hash table of the distinct codes; scans
                   when the ball has more addresses than scanning costs
``mih``    yes     multi-index hashing (Norouzi et al. 2012): substring        yes / yes
                   tables probed at growing radius until the k-th distance is
                   certified; scans queries whose probes would cost more
``hnsw``   no      faiss ``IndexBinaryHNSW`` graph                             yes / no
``ivf``    no      faiss ``IndexBinaryIVF`` (k-means lists, ``nprobe`` probed)  yes / no
``auto``   --      picks one of the above from the size (:func:`choose_kind`)  --
=========  ======  ==========================================================  ===========

Ordering and ties: results are ordered by distance, then by insertion position (the order
codes were given to ``build`` and ``add``; with default ids, the id order). Of the items
tied at the k-th distance, the exact kinds keep those inserted first, so ``flat``, ``hash``
and ``mih`` return identical ids, not only identical distances. Range searches are exact for
every kind (the approximate kinds answer them with the scan).

``add`` and ``remove`` on ``hash`` and ``mih`` rebuild their tables (batch your changes).
Searches may run from many threads at once; a write swaps in a new state atomically, so a
search sees the index before or after it, never a mix.
"""


from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import BundleError, UsageError
from .approx import FaissApprox
from .container import MAX_CODE_BYTES, read_index_file, write_index_file
from .kinds import HammingBall, MultiIndex, Scan
from . import scan
from .words import MAX_BITS, word_view

INDEX_KINDS = ("flat", "hash", "mih", "hnsw", "ivf", "auto")
EXACT_KINDS = ("flat", "hash", "mih")
KIND_PARAMS = {"flat": ("gpu",), "hash": (), "mih": ("substrings",),
               "hnsw": ("M", "ef_search", "ef_construction"), "ivf": ("nlist", "nprobe")}
AUTO_MIH_MIN_ITEMS = 1_000_000


def choose_kind(n: int, bits: int) -> str:
    """``auto``'s choice. The scan costs about 0.2 ns per code per query on two cores, so
    below a million codes it answers in well under a millisecond and needs no tables;
    above, multi-index hashing is exact and avoids most of the scan on real (clustered)
    codes, and falls back to the scan itself where it would not."""
    return "mih" if n >= AUTO_MIH_MIN_ITEMS and bits <= 256 else "flat"


def check_index_kind(kind: str, params: dict | None = None) -> None:
    """Refuse an unknown kind or parameter before any work is done."""
    if kind not in INDEX_KINDS:
        raise UsageError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    params = params or {}
    if kind == "auto" and params:
        raise UsageError("index kind 'auto' takes no parameters; name a kind to set them")
    allowed = KIND_PARAMS.get(kind, ())
    for name, value in params.items():
        if name not in allowed:
            raise UsageError(f"index kind {kind!r} has no parameter {name!r} (parameters: "
                             f"{', '.join(allowed) or 'none'})")
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise UsageError(f"index parameter {name} must be a positive integer, got "
                             f"{value!r}")


def check_codes(codes, bits: int | None = None) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2:
        raise UsageError(f"codes must be a uint8 array of shape (n, bits/8), got "
                         f"{codes.dtype} {codes.shape}")
    if bits is not None and codes.shape[1] * 8 != bits:
        raise UsageError(f"codes have {codes.shape[1] * 8} bits but the index holds {bits}-bit "
                         "codes; encode with the same model")
    if not 0 < codes.shape[1] <= MAX_CODE_BYTES:
        raise UsageError(f"codes of {codes.shape[1] * 8} bits are not supported; use 8 to "
                         f"{MAX_BITS} bits")
    # numba compiles a kernel once per argument type, and read-only arrays are another
    return np.require(codes, requirements=["C", "W"])


@dataclass(frozen=True)
class _State:
    """Everything a search reads; replaced whole by writes."""
    codes: np.ndarray        # (n, nbytes) uint8, insertion order
    ids: np.ndarray          # (n,) int64
    words: np.ndarray        # codes as (n, W) machine words
    accel: object            # kind-specific structure, or None


class BinaryCodeIndex:
    """Exact (or, for ``hnsw``/``ivf``, approximate) Hamming search over binary codes.

    >>> index = BinaryCodeIndex.build(codes)          # ids 0..n-1, kind "flat"
    >>> dist, ids = index.search(query_codes, k=10)   # int32 (m, k), int64 (m, k)
    >>> index.range_search(query_codes, 2)            # [(distances, ids)] per query
    """

    def __init__(self, codes: np.ndarray, ids: np.ndarray, kind: str = "flat",
                 params: dict | None = None, accel=None):
        if kind not in KIND_PARAMS:
            raise UsageError(f"unknown index kind {kind!r}; choose one of "
                             f"{', '.join(INDEX_KINDS)}")
        self.kind = kind
        self.params = dict(params or {})
        self.bits = codes.shape[1] * 8
        self._write_lock = threading.Lock()
        self._id_lookup = None
        self._state = self._make_state(codes, ids, accel)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def build(cls, codes, ids=None, kind: str = "flat", **params) -> "BinaryCodeIndex":
        codes = check_codes(codes)
        ids = _check_ids(ids, len(codes))
        check_index_kind(kind, params)
        requested = kind
        if kind == "auto":
            kind = choose_kind(len(codes), codes.shape[1] * 8)
        index = cls(codes, ids, kind, {k: int(v) for k, v in params.items()})
        index.requested_kind = requested
        return index

    def warm_up(self) -> None:
        """Run one tiny k-NN and one range query, so that numba compiles the kernels they
        use now and caches them on disk: the first query of a later process then starts
        at once instead of spending seconds compiling (6.6 s for a first query by text of
        a 64-bit flat index on a 2-core CPU, 2 s more for a first range query). The build
        calls it."""
        st = self._state
        if len(st.ids):
            self.search(st.codes[:1], 1)
            self.range_search(st.codes[:1], 1)

    def _make_state(self, codes, ids, accel=None) -> _State:
        words = word_view(codes) if len(codes) else \
            np.zeros((0, max(1, codes.shape[1] // 8)), np.uint64)
        if accel is None and len(codes):
            accel = _ACCELERATORS[self.kind](codes, words, self.params)
        return _State(codes, ids, words, accel)

    @property
    def ntotal(self) -> int:
        return len(self._state.ids)

    def __len__(self) -> int:
        return self.ntotal

    @property
    def ids(self) -> np.ndarray:
        return self._state.ids

    @property
    def exact(self) -> bool:
        return self.kind in EXACT_KINDS

    def describe(self) -> dict:
        """Kind, parameters (the chosen defaults included) and size, for manifests."""
        st = self._state
        params = dict(self.params)
        if st.accel is not None and hasattr(st.accel, "effective_params"):
            params.update(st.accel.effective_params())
        return {"kind": self.kind, "exact": self.exact, "params": params,
                "ntotal": self.ntotal, "bits": self.bits}

    # --- writes ----------------------------------------------------------------------------
    def add(self, codes, ids=None) -> None:
        codes = check_codes(codes, self.bits)
        with self._write_lock:
            st = self._state
            if ids is None:
                start = int(st.ids.max()) + 1 if len(st.ids) else 0
                ids = np.arange(start, start + len(codes), dtype=np.int64)
            ids = _check_ids(ids, len(codes))
            all_codes = np.concatenate([np.asarray(st.codes), codes])
            all_ids = np.concatenate([np.asarray(st.ids), ids])
            accel = None
            if st.accel is not None and hasattr(st.accel, "add"):
                accel = st.accel.add(codes, word_view(codes), len(st.ids))
            self._state = self._make_state(all_codes, all_ids, accel)
            self._id_lookup = None

    def remove(self, ids) -> int:
        if self.kind not in EXACT_KINDS:
            raise UsageError(f"a {self.kind!r} index cannot remove items; rebuild it without "
                             "them, or use a flat, hash or mih index")
        ids = np.ascontiguousarray(ids, dtype=np.int64).ravel()
        with self._write_lock:
            st = self._state
            keep = ~np.isin(st.ids, ids)
            removed = int((~keep).sum())
            if removed:
                self._state = self._make_state(np.ascontiguousarray(st.codes[keep]),
                                               np.ascontiguousarray(st.ids[keep]))
                self._id_lookup = None
            return removed

    # --- searches ----------------------------------------------------------------------------
    def search(self, query_codes, k: int):
        """The ``k`` nearest codes of each query: ``(distances int32 (m, k), ids int64
        (m, k))``, ordered by (distance, insertion position); rows have -1 ids (and
        distance ``INT32_MAX``) where the index holds fewer than ``k`` items."""
        q = check_codes(query_codes, self.bits)
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        st = self._state
        k = int(k)
        kk = min(k, len(st.ids))
        if len(q) == 0 or kk == 0:
            return (np.full((len(q), k), np.iinfo(np.int32).max, np.int32),
                    np.full((len(q), k), -1, np.int64))
        dist, pos = st.accel.knn(st, word_view(q), kk)
        ids = np.where(pos >= 0, st.ids[np.maximum(pos, 0)], -1)
        if kk < k:
            dist = np.pad(dist, ((0, 0), (0, k - kk)), constant_values=np.iinfo(np.int32).max)
            ids = np.pad(ids, ((0, 0), (0, k - kk)), constant_values=-1)
        return dist.astype(np.int32), ids.astype(np.int64)

    def range_search(self, query_codes, radius: int):
        """Every item within ``radius`` bits (inclusive) of each query, as a list of
        ``(distances int32, ids int64)`` per query, ordered by distance then position."""
        q = check_codes(query_codes, self.bits)
        if not isinstance(radius, (int, np.integer)) or radius < 0:
            raise UsageError(f"radius must be a non-negative integer, got {radius!r}")
        st = self._state
        if len(st.ids) == 0:
            return [(np.zeros(0, np.int32), np.zeros(0, np.int64)) for _ in range(len(q))]
        qw = word_view(q)
        finder = getattr(st.accel, "range", None)
        found = finder(st, qw, int(radius)) if finder else \
            scan.scan_range(st.words, qw, int(radius))
        return [(d, st.ids[p]) for d, p in found]

    def reconstruct(self, ids) -> np.ndarray:
        """The stored codes of ``ids``."""
        st = self._state
        lookup = self._id_lookup
        if lookup is None or lookup[0] is not st:
            order = np.argsort(st.ids, kind="stable")
            lookup = self._id_lookup = (st, order, st.ids[order])
        _, order, sorted_ids = lookup
        ids = np.asarray(ids, dtype=np.int64).ravel()
        at = np.searchsorted(sorted_ids, ids)
        bad = (at >= len(sorted_ids)) | (sorted_ids[np.minimum(at, len(sorted_ids) - 1)] != ids)
        if bad.any():
            raise UsageError(f"id {int(ids[bad][0])} is not in the index")
        return np.asarray(st.codes[order[at]])

    # --- persistence ---------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write atomically (see :mod:`hashret.search.container` for the layouts)."""
        st = self._state
        blob = st.accel.serialize() if hasattr(st.accel, "serialize") else b""
        write_index_file(path, self.kind, self.params, st.codes, st.ids, blob)

    @classmethod
    def load(cls, path, mmap: bool = False, gpu: bool = False) -> "BinaryCodeIndex":
        """Read an index saved by :meth:`save`; ``mmap`` maps the codes and ids read-only
        instead of reading them (tables of ``hash``/``mih`` are rebuilt in memory); ``gpu``
        runs a ``flat`` index's k-NN scan on a CUDA GPU (see ``hashret.search.gpu``)."""
        kind, params, codes, ids, blob = read_index_file(path, mmap, KIND_PARAMS)
        if kind == "flat":
            return cls(codes, ids, "flat", {"gpu": 1} if gpu else None)
        if gpu:
            raise UsageError(f"{path} is not a flat index; GPU search is for flat indexes "
                             "(build with {index:flat})", option="gpu")
        accel = None
        if blob:
            try:
                accel = FaissApprox.deserialize(kind, blob, params)
            except RuntimeError:
                raise BundleError(f"index file {path} is damaged (unreadable {kind} graph); "
                                  "rebuild the index") from None
        return cls(codes, ids, kind, params, accel)


def _check_ids(ids, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n, dtype=np.int64)
    ids = np.ascontiguousarray(ids, dtype=np.int64).ravel()
    if len(ids) != n:
        raise UsageError(f"{len(ids)} ids for {n} codes")
    return ids




_ACCELERATORS = {
    "flat": Scan,
    "hash": HammingBall,
    "mih": MultiIndex,
    "hnsw": lambda c, w, p: FaissApprox(c, w, p, "hnsw"),
    "ivf": lambda c, w, p: FaissApprox(c, w, p, "ivf"),
}
