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

import json
import math
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hamming
from .errors import BundleError, UsageError
from .fileio import atomic_file

INDEX_KINDS = ("flat", "hash", "mih", "hnsw", "ivf", "auto")
EXACT_KINDS = ("flat", "hash", "mih")
KIND_PARAMS = {"flat": ("gpu",), "hash": (), "mih": ("substrings",),
               "hnsw": ("M", "ef_search", "ef_construction"), "ivf": ("nlist", "nprobe")}
AUTO_MIH_MIN_ITEMS = 1_000_000
MAX_CODE_BYTES = hamming.MAX_BITS // 8

_FLAT_MAGIC = b"IBM2"                 # faiss' IndexBinaryIDMap2 layout, readable by faiss
_CONTAINER_MAGIC = b"HRBINIDX"        # our layout for the other kinds
_CONTAINER_VERSION = 1


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
                         f"{hamming.MAX_BITS} bits")
    return np.ascontiguousarray(codes)


def _flat_layout(head: bytes, size: int):
    """Parse and check the header of an ``IndexBinaryIDMap2(IndexBinaryFlat)`` file of
    ``size`` bytes; returns (bytes per code, count) or a problem.

    Layout: ``IBM2`` header, ``IBxF`` header, the codes vector, the id vector; a header is
    d (int32), code_size (int32), ntotal (int64), is_trained (uint8), metric (int32); a
    vector is its length (uint64) then its elements.
    """
    if len(head) < 58:
        return "file too short"
    if head[:4] != _FLAT_MAGIC or head[25:29] != b"IBxF":
        return "not an IndexBinaryIDMap2 over IndexBinaryFlat"
    d, code_size = struct.unpack_from("<ii", head, 4)
    ntotal, = struct.unpack_from("<q", head, 12)
    if head[29:45] != head[4:20] or d != code_size * 8 or \
            not 0 < code_size <= MAX_CODE_BYTES or ntotal < 0:
        return "inconsistent header"
    if struct.unpack_from("<Q", head, 50)[0] != ntotal * code_size:
        return "code count does not match the header"
    if size != 66 + ntotal * (code_size + 8):
        return f"{size} bytes where the header implies {66 + ntotal * (code_size + 8)}"
    return code_size, ntotal


def _flat_file_layout(path: Path):
    """(bytes per code, count) of a saved flat index file, or what is wrong with it (faiss
    trusts the counts inside a file, so they are checked before anything reads it)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        layout = _flat_layout(f.read(58), size)
        if isinstance(layout, str):
            return layout
        code_size, ntotal = layout
        f.seek(58 + ntotal * code_size)
        if struct.unpack("<Q", f.read(8))[0] != ntotal:
            return "id count does not match the header"
    return layout



def _flat_header(bits: int, n: int) -> bytes:
    nb = bits // 8
    inner = struct.pack("<iiqBi", bits, nb, n, 1, 1)
    return _FLAT_MAGIC + inner + b"IBxF" + inner + struct.pack("<Q", n * nb)


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
        a 64-bit flat index on a 2-core CPU, 2 s more for a first ``--radius``). The build
        calls it."""
        st = self._state
        if len(st.ids):
            self.search(st.codes[:1], 1)
            self.range_search(st.codes[:1], 1)

    def _make_state(self, codes, ids, accel=None) -> _State:
        words = hamming.word_view(codes) if len(codes) else \
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
                accel = st.accel.add(codes, hamming.word_view(codes), len(st.ids))
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
        dist, pos = st.accel.knn(st, hamming.word_view(q), kk)
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
        qw = hamming.word_view(q)
        finder = getattr(st.accel, "range", None)
        found = finder(st, qw, int(radius)) if finder else \
            hamming.scan_range(st.words, qw, int(radius))
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
        """Write atomically. ``flat`` indexes use faiss' ``IndexBinaryIDMap2`` layout (faiss
        can read them); the other kinds a small container: magic, JSON header, codes, ids
        and, for ``hnsw``/``ivf``, the serialised faiss index."""
        st = self._state
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            if self.kind == "flat":
                f.write(_flat_header(self.bits, len(st.ids)))
                f.write(np.ascontiguousarray(st.codes).tobytes())
                f.write(struct.pack("<Q", len(st.ids)))
                f.write(np.ascontiguousarray(st.ids, "<i8").tobytes())
                return
            blob = st.accel.serialize() if hasattr(st.accel, "serialize") else b""
            header = json.dumps({"kind": self.kind, "params": self.params, "bits": self.bits,
                                 "ntotal": len(st.ids), "extra_bytes": len(blob)}).encode()
            f.write(_CONTAINER_MAGIC + struct.pack("<II", _CONTAINER_VERSION, len(header)))
            f.write(header)
            f.write(np.ascontiguousarray(st.codes).tobytes())
            f.write(np.ascontiguousarray(st.ids, "<i8").tobytes())
            f.write(blob)

    @classmethod
    def load(cls, path, mmap: bool = False, gpu: bool = False) -> "BinaryCodeIndex":
        """Read an index saved by :meth:`save`; ``mmap`` maps the codes and ids read-only
        instead of reading them (tables of ``hash``/``mih`` are rebuilt in memory); ``gpu``
        runs a ``flat`` index's k-NN scan on a CUDA GPU (see ``hashret.gpu``)."""
        path = Path(path)
        if not path.is_file():
            raise BundleError(f"index file {path} is missing; rebuild the index")
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(16)
        if head[:4] == _FLAT_MAGIC:
            layout = _flat_file_layout(path)
            if isinstance(layout, str):
                raise BundleError(f"index file {path} is damaged ({layout}); rebuild the index")
            code_size, n = layout
            codes = _read_array(path, 58, (n, code_size), np.uint8, mmap)
            ids = _read_array(path, 66 + n * code_size, (n,), np.dtype("<i8"), mmap)
            return cls(codes, ids, "flat", {"gpu": 1} if gpu else None)
        if gpu:
            raise UsageError(f"{path} is not a flat index; GPU search is for flat indexes "
                             "(build with --index flat)")
        if head[:8] != _CONTAINER_MAGIC or len(head) < 16:
            raise BundleError(f"index file {path} is damaged (not a hashret index file); "
                              "rebuild the index")
        version, hlen = struct.unpack_from("<II", head, 8)
        if version > _CONTAINER_VERSION:
            raise BundleError(f"index file {path} is from a newer hashret; upgrade hashret")
        try:
            with open(path, "rb") as f:
                f.seek(16)
                header = json.loads(f.read(hlen))
            kind, params, bits, n, extra = (header["kind"], dict(header["params"]),
                                            int(header["bits"]), int(header["ntotal"]),
                                            int(header["extra_bytes"]))
            if kind not in KIND_PARAMS or kind == "flat" or bits % 8 or \
                    not 0 < bits <= hamming.MAX_BITS or n < 0 or extra < 0:
                raise ValueError("bad header")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise BundleError(f"index file {path} is damaged (unreadable header); rebuild "
                              "the index") from None
        nb = bits // 8
        start = 16 + hlen
        if size != start + n * (nb + 8) + extra:
            raise BundleError(f"index file {path} is damaged ({size} bytes where the header "
                              f"implies {start + n * (nb + 8) + extra}); rebuild the index")
        codes = _read_array(path, start, (n, nb), np.uint8, mmap)
        ids = _read_array(path, start + n * nb, (n,), np.dtype("<i8"), mmap)
        accel = None
        if extra:
            with open(path, "rb") as f:
                f.seek(start + n * (nb + 8))
                blob = f.read(extra)
            try:
                accel = _FaissApprox.deserialize(kind, blob, params)
            except RuntimeError:
                raise BundleError(f"index file {path} is damaged (unreadable {kind} graph); "
                                  "rebuild the index") from None
        return cls(codes, ids, kind, params, accel)


def _read_array(path: Path, offset: int, shape, dtype, mmap: bool) -> np.ndarray:
    count = int(np.prod(shape))
    if count == 0:
        return np.zeros(shape, dtype)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    with open(path, "rb") as f:
        f.seek(offset)
        return np.fromfile(f, dtype=dtype, count=count).reshape(shape)


def _check_ids(ids, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n, dtype=np.int64)
    ids = np.ascontiguousarray(ids, dtype=np.int64).ravel()
    if len(ids) != n:
        raise UsageError(f"{len(ids)} ids for {n} codes")
    return ids


# --- kind-specific search structures ---------------------------------------------------------

def _bit_planes(codes, words):
    """The bit-plane copy of 64-bit codes held in memory (None otherwise)."""
    if words.shape[1] == 1 and words.dtype == np.uint64 and not isinstance(codes, np.memmap):
        return hamming.bit_planes(words.reshape(-1))
    return None


class _Scan:
    """``flat``: the compiled exact scan. 64-bit codes held in memory are also kept in the
    bit-plane layout (:func:`hashret.hamming.bit_planes`, 8 more bytes per item in RAM, not
    on disk), which the k-NN scan reads about twice as fast; memory-mapped indexes scan the
    codes as stored. With ``gpu=1`` the k-NN scan runs on the GPU (``hashret.gpu``: faiss'
    ``GpuIndexBinaryFlat`` where it works, else a torch scan; same distances; range search
    stays on the CPU)."""

    def __init__(self, codes, words, params):
        self.gpu = self.planes = None
        if params.get("gpu"):
            from .gpu import gpu_scan
            self.gpu = gpu_scan(codes)
        else:
            self.planes = _bit_planes(codes, words)

    def knn(self, st, qw, k):
        if self.gpu is not None:
            q = np.ascontiguousarray(qw).view(np.uint8).reshape(len(qw), -1)
            return self.gpu.knn(q, k)
        return hamming.scan_knn(st.words, qw, k, self.planes)

    def add(self, codes, words, offset):
        # None: the next state builds its own planes or GPU copy of all the codes. Growing
        # these in place would change what searches on the current state see.
        return None


class _HammingBall:
    """``hash``: a hash table from each distinct code to the positions holding it; a range
    query probes every address within the radius, a k-NN query grows the radius until k
    items are found. When the ball has more addresses than scanning costs (about one probe
    per ``SCAN_RATIO`` codes), it scans instead — same results, bounded latency."""

    SCAN_RATIO = 256
    MIN_BUDGET = 4096

    def __init__(self, codes, words, params):
        n, nb = codes.shape
        if words.shape[1] == 1:                  # one machine word: sort integers (fast)
            uniq, inverse = np.unique(words[:, 0], return_inverse=True)
            self.uniq = np.ascontiguousarray(uniq.reshape(-1, 1))
        else:
            rows = np.ascontiguousarray(codes).view(np.dtype((np.void, nb))).ravel()
            uniq, inverse = np.unique(rows, return_inverse=True)
            self.uniq = hamming.word_view(np.frombuffer(uniq.tobytes(), np.uint8)
                                          .reshape(-1, nb))
        inverse = inverse.ravel()
        self.postings = np.argsort(inverse, kind="stable").astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(inverse,
                                                                 minlength=len(uniq)))])
        size = 1 << max(4, int(2 * len(uniq) - 1).bit_length())
        self.slots = hamming.table_build(self.uniq, size)
        self.budget = max(self.MIN_BUDGET, n // self.SCAN_RATIO)

    def effective_params(self):
        return {"distinct_codes": int(len(self.uniq)), "probe_budget": int(self.budget)}

    def _ball(self, q, rmin, rmax):
        return hamming.ball_lookup(self.slots, self.uniq, self.starts, self.postings, q,
                                   rmin, rmax)

    def range(self, st, qw, radius):
        bits = qw.shape[1] * qw.itemsize * 8
        if hamming.ball_size(bits, radius) > self.budget:
            return hamming.scan_range(st.words, qw, radius)

        def run(span):
            out = []
            for i in range(*span):
                d, p = self._ball(qw[i], 0, radius)
                order = np.lexsort((p, d))
                out.append((d[order].astype(np.int32), p[order]))
            return out
        # a span of queries per thread: a task per query costs more than a small ball
        spans = hamming.query_spans(len(qw))
        return [x for part in hamming.parallel_map(run, spans) for x in part]

    def knn(self, st, qw, k):
        bits = qw.shape[1] * qw.itemsize * 8
        radius = 0               # the largest ball whose probes cost less than a scan
        while radius < bits and hamming.ball_size(bits, radius + 1) <= self.budget:
            radius += 1
        dist = np.empty((len(qw), k), np.int32)
        pos = np.empty((len(qw), k), np.int64)
        done = np.zeros(len(qw), np.bool_)

        def run(span):
            a, b = span
            hamming.ball_knn(self.slots, self.uniq, self.starts, self.postings, qw[a:b], k,
                             radius, dist[a:b], pos[a:b], done[a:b])
        hamming.parallel_map(run, hamming.query_spans(len(qw)))
        to_scan = np.flatnonzero(~done)
        if len(to_scan):
            sd, sp = hamming.scan_knn(st.words, qw[to_scan], k)
            dist[to_scan], pos[to_scan] = sd, sp
        return dist, pos


class _MultiIndex:
    """``mih``: ``m`` substring tables (dense offset arrays over each substring's values).
    ``m`` defaults to bits / log2(n) (Norouzi et al.'s choice), with substrings of at most
    ``MAX_SUBSTRING`` bits so a table stays small. k-NN grows the search radius in every
    table; a range query probes each table within its share of the radius."""

    MAX_SUBSTRING = 24
    SCAN_RATIO = 128         # a random read (a probe or a posting) ~ scanning 128 codes
    MIN_BUDGET = 1024

    def __init__(self, codes, words, params):
        n, nb = codes.shape
        bits = nb * 8
        m = params.get("substrings")
        if m is None:
            m = max(math.ceil(bits / self.MAX_SUBSTRING),
                    round(bits / max(math.log2(max(n, 2)), 1.0)))
        if not 1 <= m <= bits or math.ceil(bits / m) > self.MAX_SUBSTRING:
            raise UsageError(f"mih needs between {math.ceil(bits / self.MAX_SUBSTRING)} and "
                             f"{bits} substrings for {bits}-bit codes, got {m}")
        self.m = int(m)
        self.bounds = np.linspace(0, bits, self.m + 1).astype(np.int64)
        smax = int(np.diff(self.bounds).max())
        pos_dtype = np.int32 if n < 2**31 else np.int64
        self.offsets = np.zeros((self.m, (1 << smax) + 1), pos_dtype)
        self.postings = np.empty((self.m, n), pos_dtype)
        # each table's codes again, in posting order, so a bucket's codes are read in
        # sequence instead of at random (8 bytes per item and table for 64-bit codes)
        self.codes_j = np.empty((self.m,) + words.shape, words.dtype)
        for j in range(self.m):
            keys = hamming.substring_keys(words, int(self.bounds[j]), int(self.bounds[j + 1]))
            counts = np.bincount(keys, minlength=1 << smax)
            self.offsets[j, 1:] = np.cumsum(counts)
            self.postings[j] = np.argsort(keys, kind="stable")
            self.codes_j[j] = words[self.postings[j]]
        self.budget = max(self.MIN_BUDGET, n // self.SCAN_RATIO)
        self.planes = _bit_planes(codes, words)     # for the queries handed to the scan
        # radius -> table radii, or False (scan); the tables are built again when items
        # are added or removed, so n is that of the build
        self._range_plans = {}

    def effective_params(self):
        return {"substrings": self.m}

    def range(self, st, qw, radius):
        """Exact range search by multi-index hashing: every item within the radius has a
        substring within its table's radius (:func:`hamming.mih_range_radii`). A radius whose
        probes would cost more than scanning, or a query that meets buckets that large,
        is answered by the scan instead."""
        plan = self._range_plans.get(radius)
        if plan is None:
            n = len(st.words)
            widths = np.diff(self.bounds)
            radii = hamming.mih_range_radii(widths, radius)
            cheap = hamming.mih_range_cost(widths, radii, n) <= self.budget and n < 2**40
            plan = self._range_plans[radius] = radii if cheap else False
        if plan is False:
            return hamming.scan_range(st.words, qw, radius)
        qkeys = hamming.substring_keys_all(qw, self.bounds)

        def run(span):
            a, b = span
            c = np.zeros(b - a, np.int64)
            d, p = hamming.mih_range(self.codes_j, qw[a:b], qkeys[a:b], self.bounds,
                                     self.offsets, self.postings, radius, plan,
                                     2 * self.budget, c)
            return c, d, p
        out = []
        for c, d, p in hamming.parallel_map(run, hamming.query_spans(len(qw))):
            end = 0
            for cnt in c.tolist():
                if cnt < 0:
                    out.append(None)
                else:
                    out.append((d[end:end + cnt].astype(np.int32), p[end:end + cnt]))
                    end += cnt
        missed = [i for i, x in enumerate(out) if x is None]
        if missed:
            for i, found in zip(missed, hamming.scan_range(st.words, qw[missed], radius)):
                out[i] = found
        return out

    def knn(self, st, qw, k):
        qkeys = hamming.substring_keys_all(qw, self.bounds)

        def run(span):
            a, b = span
            d = np.full((b - a, k), np.iinfo(np.int32).max, np.int64)
            p = np.full((b - a, k), -1, np.int64)
            c = np.zeros(b - a, np.int64)
            hamming.mih_knn(self.codes_j, len(st.words), qw[a:b], qkeys[a:b], self.bounds,
                            self.offsets, self.postings, k, self.budget, d, p, c)
            return d, p, c
        parts = hamming.parallel_map(run, hamming.query_spans(len(qw)))
        dist = np.concatenate([x[0] for x in parts])
        pos = np.concatenate([x[1] for x in parts])
        missed = np.flatnonzero(np.concatenate([x[2] for x in parts]) < 0)
        if len(missed):
            dist[missed], pos[missed] = hamming.scan_knn(st.words, qw[missed], k, self.planes)
        return dist.astype(np.int32), pos


class _FaissApprox:
    """``hnsw`` / ``ivf``: faiss' approximate binary indexes over positions."""

    def __init__(self, codes, words, params, kind=None, index=None):
        import faiss
        self.kind = kind
        self.lock = threading.Lock()       # faiss' graph/lists are not safe to grow mid-search
        n, nb = codes.shape
        bits = nb * 8
        self.params = dict(params)
        if index is not None:
            self.index = index
        elif self.kind == "hnsw":
            self.index = faiss.IndexBinaryHNSW(bits, self.params.get("M", 32))
            self.index.hnsw.efConstruction = self.params.get("ef_construction", 64)
            self.index.add(np.ascontiguousarray(codes))
        else:
            nlist = self.params.get("nlist", max(1, min(65536, int(4 * math.sqrt(n)))))
            nlist = min(nlist, n)
            self.params["nlist"] = nlist
            self._quantizer = faiss.IndexBinaryFlat(bits)     # kept alive: not owned
            self.index = faiss.IndexBinaryIVF(self._quantizer, bits, nlist)
            sample = codes if n <= 32 * nlist else \
                codes[np.random.default_rng(0).choice(n, 32 * nlist, replace=False)]
            self.index.train(np.ascontiguousarray(sample))
            self.index.add(np.ascontiguousarray(codes))
        self._tune()

    def _tune(self):
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = self.params.get("ef_search", 128)
        else:
            self.index.nprobe = self.params.get("nprobe", 16)

    def effective_params(self):
        if self.kind == "hnsw":
            return {"M": int(self.index.hnsw.nb_neighbors(1)),
                    "ef_search": int(self.index.hnsw.efSearch),
                    "ef_construction": int(self.index.hnsw.efConstruction)}
        return {"nlist": int(self.index.nlist), "nprobe": int(self.index.nprobe)}

    def knn(self, st, qw, k):
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(self.params.get("ef_search", 128), k)
        q = np.ascontiguousarray(qw).view(np.uint8).reshape(len(qw), -1)
        with self.lock:
            dist, pos = self.index.search(q, k)
        return hamming.sort_rows(dist, pos)

    def add(self, codes, words, offset):
        with self.lock:
            self.index.add(np.ascontiguousarray(codes))
        return self

    def serialize(self) -> bytes:
        import faiss
        return faiss.serialize_index_binary(self.index).tobytes()

    @classmethod
    def deserialize(cls, kind, blob: bytes, params):
        import faiss
        index = faiss.deserialize_index_binary(np.frombuffer(blob, np.uint8))
        expected = faiss.IndexBinaryHNSW if kind == "hnsw" else faiss.IndexBinaryIVF
        if not isinstance(index, expected):
            raise RuntimeError("wrong faiss index type")
        return cls(np.zeros((0, index.code_size), np.uint8), None, params, kind, index)


_ACCELERATORS = {
    "flat": _Scan,
    "hash": _HammingBall,
    "mih": _MultiIndex,
    "hnsw": lambda c, w, p: _FaissApprox(c, w, p, "hnsw"),
    "ivf": lambda c, w, p: _FaissApprox(c, w, p, "ivf"),
}

