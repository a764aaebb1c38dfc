"""Multi-index hashing (Norouzi, Punjani & Fleet, CVPR 2012): the ``mih`` kind's kernels."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .topk import compact, distance, finish, grown
from .words import ctz, popcount

@nb.njit(nogil=True, cache=True)
def substring_keys(db, a, b):
    """Bits ``a..b-1`` of every code as an integer key (bit a is the key's bit 0)."""
    wbits = db.itemsize * 8
    keys = np.zeros(db.shape[0], np.int64)
    for i in range(db.shape[0]):
        key = np.int64(0)
        for bit in range(a, b):
            v = (np.uint64(db[i, bit // wbits]) >> np.uint64(bit % wbits)) & np.uint64(1)
            key |= np.int64(v) << np.int64(bit - a)
        keys[i] = key
    return keys


@nb.njit(nogil=True, cache=True)
def substring_keys_all(db, bounds):
    """:func:`substring_keys` of every substring ``bounds[j]..bounds[j+1]-1``: (n, m)."""
    m = bounds.shape[0] - 1
    keys = np.empty((db.shape[0], m), np.int64)
    for j in range(m):
        keys[:, j] = substring_keys(db, bounds[j], bounds[j + 1])
    return keys


@nb.njit(nogil=True, cache=True)
def _chunk_distances(db, p, q, bounds, dist_j):
    """Hamming distance of each substring of code ``p`` to the query's; returns the sum."""
    wbits = db.itemsize * 8
    total = 0
    for j in range(bounds.shape[0] - 1):
        d = 0
        a, b = bounds[j], bounds[j + 1]
        bit = a
        while bit < b:                      # popcount word pieces of the range [a, b)
            w = bit // wbits
            off = bit % wbits
            take = min(wbits - off, b - bit)
            x = (np.uint64(db[p, w]) ^ np.uint64(q[w])) >> np.uint64(off)
            if take < 64:
                x &= (np.uint64(1) << np.uint64(take)) - np.uint64(1)
            d += np.int64(popcount(x))
            bit += take
        dist_j[j] = d
        total += d
    return total


@nb.njit(nogil=True, cache=True)
def _next_pattern(v):
    """The next larger integer with as many set bits as ``v`` > 0 (Gosper's hack): walks
    the bit flips of one weight in increasing order."""
    tt = v | (v - np.uint64(1))
    return (tt + np.uint64(1)) | \
        (((~tt & (tt + np.uint64(1))) - np.uint64(1)) >> (ctz(v) + np.uint64(1)))


@nb.njit(nogil=True, cache=True)
def mih_knn(codes_j, n, qs, qkeys, bounds, offsets, postings, k, max_work, out_d, out_p,
            out_c):
    """Exact k-NN by multi-index hashing: probe each substring table at growing radius r;
    an item at full distance d has some substring within floor(d / m), so after radius r
    every item with d <= m (r + 1) - 1 has been seen. ``max_work`` bounds the random reads
    of a query (table probes plus the postings they hold): a query whose next radius would
    exceed it, counting the postings an average bucket holds, is left with ``out_c = -1``
    for the caller to scan instead. ``codes_j[j]`` holds the ``n`` codes (as words) in the
    order of table j's postings."""
    m = bounds.shape[0] - 1
    bits = codes_j.shape[2] * codes_j.itemsize * 8
    cap = max(4 * k, 1024)
    cd = np.empty(cap, np.int64)
    cp = np.empty(cap, np.int64)
    hist = np.empty(bits + 2, np.int64)
    dist_j = np.empty(m, np.int64)
    smax = 0
    for j in range(m):
        smax = max(smax, bounds[j + 1] - bounds[j])
    for qi in range(qs.shape[0]):
        q = qs[qi]
        c = 0
        t = bits + 1                       # accept distances <= t
        work = 0
        done = False
        for r in range(smax + 1):
            for j in range(m):
                s = bounds[j + 1] - bounds[j]
                if r > s:
                    continue
                base = offsets[j]
                codes = codes_j[j]         # the codes in this table's posting order
                qk = np.uint64(qkeys[qi, j])
                v = (np.uint64(1) << np.uint64(r)) - np.uint64(1)
                limit = np.uint64(1) << np.uint64(s)
                while v < limit:
                    key = np.int64(qk ^ v)
                    work += 1 + base[key + 1] - base[key]
                    for a in range(base[key], base[key + 1]):   # read in sequence
                        d = distance(codes, a, q)
                        if d > t:
                            continue
                        _chunk_distances(codes, a, q, bounds, dist_j)
                        p = np.int64(postings[j, a])
                        # count p only where first discovered: smallest substring distance
                        # r, at the first table that reaches it
                        first = True
                        for jj in range(m):
                            if dist_j[jj] < r or (dist_j[jj] == r and jj < j):
                                first = False
                                break
                        if not first:
                            continue
                        cd[c] = d
                        cp[c] = p
                        c += 1
                        if c == cap:
                            c, t = compact(cd, cp, c, k, bits, hist)
                    if v == 0:
                        break
                    v = _next_pattern(v)
            covered = m * (r + 1) - 1
            found = 0
            for i in range(c):
                if cd[i] <= covered:
                    found += 1
            if found >= k or r == smax:
                done = True
                break
            nxt = 0.0
            for j in range(m):
                s = bounds[j + 1] - bounds[j]
                if r + 1 <= s:                 # probes, each with an average bucket
                    nxt += _comb(s, r + 1) * (1.0 + n / 2.0 ** s)
            if work + nxt > max_work:
                break
        if not done:
            out_c[qi] = -1
            continue
        out_c[qi] = finish(cd, cp, c, k, bits, hist, out_d, out_p, qi)


def mih_range_radii(bits_per_table, radius: int) -> np.ndarray:
    """Per-table search radii for an exact range query of ``radius`` (Norouzi et al.): with
    radius = m q + a (0 <= a < m), the first a + 1 tables are searched within q and the others
    within q - 1 (-1: not probed). An item no table reaches has distance at least
    sum(s_j + 1) = radius + 1 over the whole code, so every item within the radius is found."""
    m = len(bits_per_table)
    q, a = divmod(int(radius), m)
    radii = np.array([q if j <= a else q - 1 for j in range(m)], np.int64)
    return np.minimum(radii, np.asarray(bits_per_table, np.int64))


def mih_range_cost(bits_per_table, radii, n: int) -> float:
    """Expected random reads of one range query: table probes plus the postings an average
    bucket holds."""
    return float(sum(sum(math.comb(int(s), r) for r in range(int(rj) + 1)) * (1 + n / 2.0 ** s)
                     for s, rj in zip(bits_per_table, radii)))


@nb.njit(nogil=True, cache=True)
def mih_range(codes_j, qs, qkeys, bounds, offsets, postings, radius, radii, max_work,
              out_c):
    """Every item within ``radius`` of each query, by probing table j's buckets within
    ``radii[j]`` of the query's substring (:func:`mih_range_radii`) and checking each
    candidate's full distance. An item is counted at the first table whose radius reaches
    it, so none is counted twice. Returns (distances, positions) of all queries, query
    after query, each ordered by (distance, position), with ``out_c[qi]`` items for query
    qi (positions below 2**40). A query whose probes and postings exceed ``max_work``
    reads gets ``out_c[qi] = -1`` and no items, for the caller to scan instead."""
    m = bounds.shape[0] - 1
    out_d = np.empty(1024, np.int64)
    out_p = np.empty(1024, np.int64)
    n_out = 0
    dist_j = np.empty(m, np.int64)
    for qi in range(qs.shape[0]):
        q = qs[qi]
        start = n_out
        work = 0
        over = False
        for j in range(m):
            s = bounds[j + 1] - bounds[j]
            base = offsets[j]
            codes = codes_j[j]             # the codes in this table's posting order
            qk = np.uint64(qkeys[qi, j])
            limit = np.uint64(1) << np.uint64(s)
            for r in range(radii[j] + 1):
                v = (np.uint64(1) << np.uint64(r)) - np.uint64(1)
                while v < limit:
                    key = np.int64(qk ^ v)
                    work += 1 + base[key + 1] - base[key]
                    for a in range(base[key], base[key + 1]):   # read in sequence
                        d = distance(codes, a, q)
                        if d > radius:
                            continue
                        if j > 0:
                            _chunk_distances(codes, a, q, bounds, dist_j)
                            first = True
                            for jj in range(j):
                                if dist_j[jj] <= radii[jj]:
                                    first = False    # an earlier table reached it
                                    break
                            if not first:
                                continue
                        if n_out == out_d.shape[0]:
                            out_d, out_p = grown(out_d, out_p, n_out)
                        out_d[n_out] = d
                        out_p[n_out] = postings[j, a]
                        n_out += 1
                    if work > max_work:
                        over = True
                        break
                    if v == 0:
                        break
                    v = _next_pattern(v)
                if over:
                    break
            if over:
                break
        if over:
            n_out = start
            out_c[qi] = -1
            continue
        out_c[qi] = n_out - start
        if n_out - start > 1:              # order by (distance, position): one sort of keys
            keys = (out_d[start:n_out] << 40) | out_p[start:n_out]
            keys.sort()
            out_d[start:n_out] = keys >> 40
            out_p[start:n_out] = keys & ((np.int64(1) << 40) - 1)
    return out_d[:n_out], out_p[:n_out]


@nb.njit(nogil=True, cache=True)
def _comb(n, r):
    out = 1
    for i in range(r):
        out = out * (n - i) // (i + 1)
    return out


