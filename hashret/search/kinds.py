"""The search structure behind each exact index kind: ``flat`` (the scan), ``hash`` (the
Hamming ball over a table of distinct codes) and ``mih`` (multi-index hashing). Each answers
``knn(state, query_words, k)`` and, where it can do better than the scan, ``range``."""

from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from . import ball, mih, scan
from .planes import bit_planes
from .threads import parallel_map, query_spans
from .words import word_view


def plane_copy(codes, words):
    """The bit-plane copy of 64-bit codes held in memory (None otherwise)."""
    if words.shape[1] == 1 and words.dtype == np.uint64 and not isinstance(codes, np.memmap):
        return bit_planes(words.reshape(-1))
    return None


class Scan:
    """``flat``: the compiled exact scan. 64-bit codes held in memory are also kept in the
    bit-plane layout (:func:`hashret.bit_planes`, 8 more bytes per item in RAM, not
    on disk), which the k-NN scan reads about twice as fast; memory-mapped indexes scan the
    codes as stored. With ``gpu=1`` the k-NN scan runs on the GPU (``hashret.search.gpu``: faiss'
    ``GpuIndexBinaryFlat`` where it works, else a torch scan; same distances; range search
    stays on the CPU)."""

    def __init__(self, codes, words, params):
        self.gpu = self.planes = None
        if params.get("gpu"):
            from .gpu import gpu_scan
            self.gpu = gpu_scan(codes)
        else:
            self.planes = plane_copy(codes, words)

    def knn(self, st, qw, k):
        if self.gpu is not None:
            q = np.ascontiguousarray(qw).view(np.uint8).reshape(len(qw), -1)
            return self.gpu.knn(q, k)
        return scan.scan_knn(st.words, qw, k, self.planes)

    def add(self, codes, words, offset):
        # None: the next state builds its own planes or GPU copy of all the codes. Growing
        # these in place would change what searches on the current state see.
        return None


class HammingBall:
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
            self.uniq = word_view(np.frombuffer(uniq.tobytes(), np.uint8)
                                          .reshape(-1, nb))
        inverse = inverse.ravel()
        self.postings = np.argsort(inverse, kind="stable").astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(inverse,
                                                                 minlength=len(uniq)))])
        size = 1 << max(4, int(2 * len(uniq) - 1).bit_length())
        self.slots = ball.table_build(self.uniq, size)
        self.budget = max(self.MIN_BUDGET, n // self.SCAN_RATIO)

    def effective_params(self):
        return {"distinct_codes": int(len(self.uniq)), "probe_budget": int(self.budget)}

    def _ball(self, q, rmin, rmax):
        return ball.ball_lookup(self.slots, self.uniq, self.starts, self.postings, q,
                                   rmin, rmax)

    def range(self, st, qw, radius):
        bits = qw.shape[1] * qw.itemsize * 8
        if ball.ball_size(bits, radius) > self.budget:
            return scan.scan_range(st.words, qw, radius)

        def run(span):
            out = []
            for i in range(*span):
                d, p = self._ball(qw[i], 0, radius)
                order = np.lexsort((p, d))
                out.append((d[order].astype(np.int32), p[order]))
            return out
        # a span of queries per thread: a task per query costs more than a small ball
        spans = query_spans(len(qw))
        return [x for part in parallel_map(run, spans) for x in part]

    def knn(self, st, qw, k):
        bits = qw.shape[1] * qw.itemsize * 8
        radius = 0               # the largest ball whose probes cost less than a scan
        while radius < bits and ball.ball_size(bits, radius + 1) <= self.budget:
            radius += 1
        dist = np.empty((len(qw), k), np.int32)
        pos = np.empty((len(qw), k), np.int64)
        done = np.zeros(len(qw), np.bool_)

        def run(span):
            a, b = span
            ball.ball_knn(self.slots, self.uniq, self.starts, self.postings, qw[a:b], k,
                             radius, dist[a:b], pos[a:b], done[a:b])
        parallel_map(run, query_spans(len(qw)))
        to_scan = np.flatnonzero(~done)
        if len(to_scan):
            sd, sp = scan.scan_knn(st.words, qw[to_scan], k)
            dist[to_scan], pos[to_scan] = sd, sp
        return dist, pos


class MultiIndex:
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
            keys = mih.substring_keys(words, int(self.bounds[j]), int(self.bounds[j + 1]))
            counts = np.bincount(keys, minlength=1 << smax)
            self.offsets[j, 1:] = np.cumsum(counts)
            self.postings[j] = np.argsort(keys, kind="stable")
            self.codes_j[j] = words[self.postings[j]]
        self.budget = max(self.MIN_BUDGET, n // self.SCAN_RATIO)
        self.planes = plane_copy(codes, words)     # for the queries handed to the scan
        # radius -> table radii, or False (scan); the tables are built again when items
        # are added or removed, so n is that of the build
        self._range_plans = {}

    def effective_params(self):
        return {"substrings": self.m}

    def range(self, st, qw, radius):
        """Exact range search by multi-index hashing: every item within the radius has a
        substring within its table's radius (:func:`mih.mih_range_radii`). A radius whose
        probes would cost more than scanning, or a query that meets buckets that large,
        is answered by the scan instead."""
        plan = self._range_plans.get(radius)
        if plan is None:
            n = len(st.words)
            widths = np.diff(self.bounds)
            radii = mih.mih_range_radii(widths, radius)
            cheap = mih.mih_range_cost(widths, radii, n) <= self.budget and n < 2**40
            plan = self._range_plans[radius] = radii if cheap else False
        if plan is False:
            return scan.scan_range(st.words, qw, radius)
        qkeys = mih.substring_keys_all(qw, self.bounds)

        def run(span):
            a, b = span
            c = np.zeros(b - a, np.int64)
            d, p = mih.mih_range(self.codes_j, qw[a:b], qkeys[a:b], self.bounds,
                                     self.offsets, self.postings, radius, plan,
                                     2 * self.budget, c)
            return c, d, p
        out = []
        for c, d, p in parallel_map(run, query_spans(len(qw))):
            end = 0
            for cnt in c.tolist():
                if cnt < 0:
                    out.append(None)
                else:
                    out.append((d[end:end + cnt].astype(np.int32), p[end:end + cnt]))
                    end += cnt
        missed = [i for i, x in enumerate(out) if x is None]
        if missed:
            for i, found in zip(missed, scan.scan_range(st.words, qw[missed], radius)):
                out[i] = found
        return out

    def knn(self, st, qw, k):
        qkeys = mih.substring_keys_all(qw, self.bounds)

        def run(span):
            a, b = span
            d = np.full((b - a, k), np.iinfo(np.int32).max, np.int64)
            p = np.full((b - a, k), -1, np.int64)
            c = np.zeros(b - a, np.int64)
            mih.mih_knn(self.codes_j, len(st.words), qw[a:b], qkeys[a:b], self.bounds,
                            self.offsets, self.postings, k, self.budget, d, p, c)
            return d, p, c
        parts = parallel_map(run, query_spans(len(qw)))
        dist = np.concatenate([x[0] for x in parts])
        pos = np.concatenate([x[1] for x in parts])
        missed = np.flatnonzero(np.concatenate([x[2] for x in parts]) < 0)
        if len(missed):
            dist[missed], pos[missed] = scan.scan_knn(st.words, qw[missed], k, self.planes)
        return dist.astype(np.int32), pos
