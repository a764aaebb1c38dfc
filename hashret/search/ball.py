"""Hamming-ball address lookup over a hash table of the distinct codes (the ``hash`` kind's
kernels)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .topk import grown


@nb.njit(nogil=True, cache=True)
def _hash_words(row):
    h = np.uint64(0x9E3779B97F4A7C15)
    for w in range(row.shape[0]):
        h ^= np.uint64(row[w])
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    return h


@nb.njit(nogil=True, cache=True)
def _same(a, b):
    for w in range(a.shape[0]):
        if a[w] != b[w]:
            return False
    return True


@nb.njit(nogil=True, cache=True)
def table_build(uniq, size):
    """Open-addressing table (linear probing) of the rows of ``uniq``: slot -> row or -1."""
    slots = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for i in range(uniq.shape[0]):
        s = _hash_words(uniq[i]) & mask
        while slots[s] >= 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = i
    return slots


@nb.njit(nogil=True, cache=True)
def _lookup(slots, uniq, probe):
    mask = np.uint64(slots.shape[0] - 1)
    s = _hash_words(probe) & mask
    while True:
        i = slots[s]
        if i < 0:
            return -1
        if _same(uniq[i], probe):
            return i
        s = (s + np.uint64(1)) & mask


@nb.njit(nogil=True, cache=True)
def _flip(row, bit, wbits):
    w = bit // wbits
    row[w] ^= row.dtype.type(1) << row.dtype.type(bit % wbits)


PROBE_BATCH = 64            # addresses whose table slots are read together


@nb.njit(nogil=True, cache=True)
def _probe_batch(slots, uniq, keys, dist, nb, seen, starts, postings, out_d, out_p, n):
    """Look up ``nb`` addresses. Their first slots are read in one loop of independent loads
    first, so the memory system fetches them in parallel: on a table far larger than the
    cache, probing one address after another would wait for each read in turn."""
    mask = np.uint64(slots.shape[0] - 1)
    for j in range(nb):
        seen[j] = slots[_hash_words(keys[j]) & mask]
    for j in range(nb):
        if seen[j] < 0:                 # the common case: an empty slot, nothing there
            continue
        g = _lookup(slots, uniq, keys[j])
        if g < 0:
            continue
        for a in range(starts[g], starts[g + 1]):
            if n == out_d.shape[0]:
                out_d, out_p = grown(out_d, out_p, n)
            out_d[n] = dist[j]
            out_p[n] = postings[a]
            n += 1
    return out_d, out_p, n


@nb.njit(nogil=True, cache=True)
def ball_lookup(slots, uniq, starts, postings, q, rmin, rmax):
    """Every item whose code lies at distance rmin..rmax of ``q``, found by probing each
    address in that shell of the Hamming ball (``PROBE_BATCH`` at a time); returns
    (distances, positions) in probe order."""
    wbits = uniq.itemsize * 8
    bits = uniq.shape[1] * wbits
    probe = q.copy()
    out_d = np.empty(64, np.int64)
    out_p = np.empty(64, np.int64)
    n = 0
    keys = np.empty((PROBE_BATCH, uniq.shape[1]), uniq.dtype)
    dist = np.empty(PROBE_BATCH, np.int64)
    seen = np.empty(PROBE_BATCH, np.int64)
    nb = 0
    idx = np.empty(max(rmax, 1), np.int64)
    for r in range(rmin, rmax + 1):
        if r > bits:
            break
        for i in range(r):
            idx[i] = i
        while True:
            for i in range(r):
                _flip(probe, idx[i], wbits)
            keys[nb] = probe
            dist[nb] = r
            nb += 1
            for i in range(r):
                _flip(probe, idx[i], wbits)
            if nb == PROBE_BATCH:
                out_d, out_p, n = _probe_batch(slots, uniq, keys, dist, nb, seen, starts,
                                               postings, out_d, out_p, n)
                nb = 0
            # next combination of r bit positions out of `bits`, in lexicographic order
            i = r - 1
            while i >= 0 and idx[i] == bits - r + i:
                i -= 1
            if i < 0:
                break
            idx[i] += 1
            for j in range(i + 1, r):
                idx[j] = idx[j - 1] + 1
    if nb:
        out_d, out_p, n = _probe_batch(slots, uniq, keys, dist, nb, seen, starts, postings,
                                       out_d, out_p, n)
    return out_d[:n], out_p[:n]


@nb.njit(nogil=True, cache=True)
def ball_knn(slots, uniq, starts, postings, qs, k, max_radius, out_d, out_p, done):
    """k-NN of each query of ``qs`` by growing its Hamming ball one shell at a time, up to
    ``max_radius``, until it holds k items; rows whose ball stays short of k are left with
    ``done`` False for the caller to scan. A shell's items are all nearer than the next
    shell's, so the k nearest are the whole inner shells and the lowest positions of the
    last (the order of every exact kind)."""
    for i in range(qs.shape[0]):
        d = np.empty(0, np.int64)
        p = np.empty(0, np.int64)
        r = 0
        while r <= max_radius and d.shape[0] < k:
            sd, sp = ball_lookup(slots, uniq, starts, postings, qs[i], r, r)
            d = np.concatenate((d, sd))
            p = np.concatenate((p, sp))
            r += 1
        done[i] = d.shape[0] >= k
        if not done[i]:
            continue
        # order by (distance, position): distances are below 2^14, positions below 2^48
        order = np.argsort(d * (np.int64(1) << 48) + p, kind="mergesort")[:k]
        for j in range(k):
            out_d[i, j] = d[order[j]]
            out_p[i, j] = p[order[j]]



def ball_size(bits: int, radius: int) -> int:
    """Number of addresses within ``radius`` of a ``bits``-bit code."""
    return sum(math.comb(bits, r) for r in range(min(radius, bits) + 1))
