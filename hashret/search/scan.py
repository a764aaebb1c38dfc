"""The exact scan: every code's distance to each query, blocked and threaded.

Result order everywhere: by distance, then by position (insertion order). The k-NN scan
keeps, among items tied at the k-th distance, those at the smallest positions, so every
exact kind returns identical results.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .planes import knn_scan_planes
from .topk import distance, finish, take_hits
from .threads import num_threads, parallel_map, splits
from .words import BLOCK, ctz, popcount

SPLIT_MIN = 200_000          # below this many codes one thread answers a query faster

@nb.njit(nogil=True, cache=True)
def _masks1(col, q, t, masks):
    """One-word codes: bit j of ``masks[p]`` is set when code ``64p + j`` of the block is
    below distance ``t``; returns the OR of the masks. One vectorised pass that stores no
    distances: most blocks of a k-NN scan hold no candidate and end here, and the few hits
    are found by their bits instead of by reading the block again."""
    n = col.shape[0]
    anyhit = np.uint64(0)
    for p in range((n + 63) // 64):
        piece = col[p * 64:min(n, p * 64 + 64)]
        m = np.uint64(0)
        for j in range(piece.shape[0]):
            d = np.int64(popcount(piece[j] ^ q))
            m |= np.uint64(d < t) << np.uint64(j)
        masks[p] = m
        anyhit |= m
    return anyhit


@nb.njit(nogil=True, cache=True)
def _masksw(rows, q, t, masks, buf):
    """As :func:`_masks1` for codes of several words. The distances go through ``buf``
    first: the loop over words vectorises only without the mask in it."""
    n = rows.shape[0]
    for j in range(n):
        d = 0
        for w in range(rows.shape[1]):
            d += np.int64(popcount(rows[j, w] ^ q[w]))
        buf[j] = d
    anyhit = np.uint64(0)
    for p in range((n + 63) // 64):
        piece = buf[p * 64:min(n, p * 64 + 64)]
        m = np.uint64(0)
        for j in range(piece.shape[0]):
            m |= np.uint64(piece[j] < t) << np.uint64(j)
        masks[p] = m
        anyhit |= m
    return anyhit


@nb.njit(nogil=True, cache=True)
def _masks(db, flat, b0, b1, q, t, masks, buf):
    if db.shape[1] == 1:
        return _masks1(flat[b0:b1], q[0], np.int64(t), masks)
    return _masksw(db[b0:b1], q, np.int64(t), masks, buf)


@nb.njit(nogil=True, cache=True)
def knn_scan(db, qs, k, lo, hi, out_d, out_p, out_c):
    """Exact k nearest of each query among rows ``lo..hi`` of ``db``; fills ``out_d``,
    ``out_p`` (m, k) sorted by (distance, position) and ``out_c`` (found per query)."""
    m = qs.shape[0]
    bits = db.shape[1] * db.itemsize * 8
    cap = 2 * k + 64               # small: compacting often keeps the threshold tight
    cd = np.empty((m, cap), np.int64)
    cp = np.empty((m, cap), np.int64)
    cnt = np.zeros(m, np.int64)
    thr = np.full(m, bits + 1, np.int64)
    masks = np.zeros(BLOCK // 64, np.uint64)
    buf = np.zeros(BLOCK, np.int64)
    hist = np.empty(bits + 2, np.int64)
    flat = db.reshape(-1)
    for b0 in range(lo, hi, BLOCK):
        b1 = min(hi, b0 + BLOCK)
        for qi in range(m):
            t = thr[qi]
            q = qs[qi]
            if _masks(db, flat, b0, b1, q, t, masks, buf) == 0:
                continue
            for p in range((b1 - b0 + 63) // 64):
                if masks[p] != 0:
                    t = take_hits(db, q, b0 + p * 64, masks[p], t, qi, cnt, cd, cp, k, hist)
            thr[qi] = t
    for qi in range(m):
        out_c[qi] = finish(cd[qi], cp[qi], cnt[qi], k, bits, hist, out_d, out_p, qi)


@nb.njit(nogil=True, cache=True)
def range_scan(db, qs, radius, lo, hi, counts, out_d, out_p, offsets):
    """Rows within ``radius`` of each query among rows ``lo..hi``. First call with
    ``offsets`` of length 0 to count into ``counts``; then with ``offsets`` (m + 1) to fill
    ``out_d``/``out_p`` in position order."""
    m = qs.shape[0]
    masks = np.zeros(BLOCK // 64, np.uint64)
    buf = np.zeros(BLOCK, np.int64)
    flat = db.reshape(-1)
    fill = offsets.shape[0] > 0
    pos = np.zeros(m, np.int64)
    for b0 in range(lo, hi, BLOCK):
        b1 = min(hi, b0 + BLOCK)
        for qi in range(m):
            q = qs[qi]
            if _masks(db, flat, b0, b1, q, radius + 1, masks, buf) == 0:
                continue
            for p in range((b1 - b0 + 63) // 64):
                bitset = masks[p]
                while bitset != 0:                 # set bits come in position order
                    row = b0 + p * 64 + np.int64(ctz(bitset))
                    bitset &= bitset - np.uint64(1)
                    if fill:
                        at = offsets[qi] + pos[qi]
                        out_d[at] = distance(db, row, q)
                        out_p[at] = row
                    pos[qi] += 1
    for qi in range(m):
        counts[qi] = pos[qi]



def scan_knn(db: np.ndarray, qs: np.ndarray, k: int, planes: np.ndarray | None = None):
    """Exact k-NN of word-view queries ``qs`` over word-view codes ``db``: (distances int32,
    positions int64), (m, k), padded with -1 positions; order (distance, position).
    ``planes`` (:func:`bit_planes` of 64-bit codes) selects the bit-sliced scan."""
    m, n = len(qs), len(db)
    threads = num_threads()

    def kernel(q, a, b, d, p, c):
        if planes is None:
            knn_scan(db, q, k, a, b, d, p, c)
        else:
            knn_scan_planes(planes, db, q, k, a, b, d, p, c)

    if m >= threads or n < SPLIT_MIN:
        def run(span):
            a, b = span
            d = np.full((b - a, k), np.iinfo(np.int32).max, np.int64)
            p = np.full((b - a, k), -1, np.int64)
            kernel(qs[a:b], 0, n, d, p, np.zeros(b - a, np.int64))
            return d, p
        parts = parallel_map(run, splits(m, min(threads, m)) if m * n >= SPLIT_MIN
                             else [(0, m)])
        d = np.concatenate([x[0] for x in parts])
        p = np.concatenate([x[1] for x in parts])
        return d.astype(np.int32), p

    def run_part(span):                   # few queries: split the database instead
        a, b = span
        d = np.full((m, k), np.iinfo(np.int32).max, np.int64)
        p = np.full((m, k), -1, np.int64)
        kernel(qs, a, b, d, p, np.zeros(m, np.int64))
        return d, p
    parts = parallel_map(run_part, splits(n, threads))
    d, p = sort_rows(np.concatenate([x[0] for x in parts], axis=1),
                     np.concatenate([x[1] for x in parts], axis=1))
    return d[:, :k], p[:, :k]


def sort_rows(dist: np.ndarray, pos: np.ndarray):
    """Order each row by (distance, position), missing results (-1) last: (int32, int64)."""
    key = np.where(pos < 0, np.iinfo(np.int64).max, pos)
    order = np.lexsort((key, dist), axis=1)
    return (np.take_along_axis(dist, order, 1).astype(np.int32),
            np.take_along_axis(pos, order, 1).astype(np.int64))


def scan_range(db: np.ndarray, qs: np.ndarray, radius: int):
    """Every position within ``radius`` (inclusive) of each query: list of (distances int32,
    positions int64), in (distance, position) order."""
    m, n = len(qs), len(db)
    threads = num_threads()
    spans = splits(n, threads) if n >= SPLIT_MIN else [(0, n)]
    empty = np.zeros(0, np.int64)

    def run(span):
        a, b = span
        counts = np.zeros(m, np.int64)
        range_scan(db, qs, radius, a, b, counts, empty, empty, empty)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        d = np.empty(offsets[-1], np.int64)
        p = np.empty(offsets[-1], np.int64)
        range_scan(db, qs, radius, a, b, counts, d, p, offsets)
        return offsets, d, p
    parts = parallel_map(run, spans)
    out = []
    for qi in range(m):
        d = np.concatenate([o_d[o[qi]:o[qi + 1]] for o, o_d, _ in parts]) if parts else empty
        p = np.concatenate([o_p[o[qi]:o[qi + 1]] for o, _, o_p in parts]) if parts else empty
        order = np.lexsort((p, d))
        out.append((d[order].astype(np.int32), p[order]))
    return out


