"""Keeping the k best candidates of a query: exact distances of single rows, a candidate
buffer compacted by a distance histogram, and the final (distance, position) order. Shared
by the scan, the bit-plane scan and multi-index hashing."""

from __future__ import annotations

import numba as nb
import numpy as np

from .words import ctz, popcount


@nb.njit(nogil=True, cache=True)
def distance(db, row, q):
    d = 0
    for w in range(db.shape[1]):
        d += np.int64(popcount(db[row, w] ^ q[w]))
    return d


@nb.njit(nogil=True, cache=True)
def compact(cd, cp, cnt, k, bits, hist):
    """Keep the best ``k`` of ``cnt`` candidates (distance, then smallest position); return
    (kept count, the k-th distance)."""
    for i in range(bits + 2):
        hist[i] = 0
    for i in range(cnt):
        hist[cd[i]] += 1
    c = 0
    t = 0
    for t in range(bits + 1):
        c += hist[t]
        if c >= k:
            break
    ties = k - (c - hist[t])
    if hist[t] > ties:                    # keep the smallest positions among the ties
        tied = np.empty(hist[t], np.int64)
        j = 0
        for i in range(cnt):
            if cd[i] == t:
                tied[j] = cp[i]
                j += 1
        tied.sort()
        last = tied[ties - 1]
    else:
        last = np.iinfo(np.int64).max
    j = 0
    for i in range(cnt):
        d = cd[i]
        if d < t or (d == t and cp[i] <= last):
            cd[j] = d
            cp[j] = cp[i]
            j += 1
    return j, t


@nb.njit(nogil=True, cache=True)
def finish(cd, cp, cnt, k, bits, hist, out_d, out_p, qi):
    c = cnt
    if c > k:
        c, _ = compact(cd, cp, c, k, bits, hist)
    key = np.empty(c, np.int64)
    for i in range(c):
        key[i] = cd[i] * (np.int64(1) << 47) + cp[i]
    order = np.argsort(key)
    for i in range(c):
        out_d[qi, i] = cd[order[i]]
        out_p[qi, i] = cp[order[i]]
    return c


@nb.njit(nogil=True, cache=True, inline="always")
def take_hits(db, q, first, bitset, t, qi, cnt, cd, cp, k, hist):
    """Re-measure the codes ``first + j`` for the set bits j of ``bitset`` and add those
    below ``t`` (which may have dropped since the mask was made) to query ``qi``'s
    candidates, compacting when its buffer fills; returns the threshold."""
    c = cnt[qi]
    while bitset != 0:
        row = first + np.int64(ctz(bitset))
        bitset &= bitset - np.uint64(1)
        d = distance(db, row, q)
        if d < t:
            cd[qi, c] = d
            cp[qi, c] = row
            c += 1
            if c == cd.shape[1]:
                c, t = compact(cd[qi], cp[qi], c, k, hist.shape[0] - 2, hist)
    cnt[qi] = c
    return t


@nb.njit(nogil=True, cache=True)
def grown(out_d, out_p, n):
    """Output buffers of distances and positions twice as long, their first ``n`` kept."""
    nd = np.empty(2 * n, np.int64)
    npos = np.empty(2 * n, np.int64)
    nd[:n] = out_d[:n]
    npos[:n] = out_p[:n]
    return nd, npos
