"""Compiled Hamming-distance kernels (numba) behind every exact index kind.

Codes are handled as rows of machine words: a code of ``nbytes`` bytes is viewed as
``nbytes / w`` unsigned words of ``w`` = 8, 4, 2 or 1 bytes (the widest that divides it), so
a 64-bit code is one ``uint64`` and a 16-bit code one ``uint16`` — no padding, and the
distance of two codes is the sum of the popcounts of their XORed words.

Every kernel is serial and releases the GIL (``nogil``); parallel work is split across a
Python thread pool by :func:`parallel_map`. numba's own threading layers are avoided on
purpose: the default one aborts when two Python threads call a parallel kernel at once,
and concurrent searches on one loaded index must be safe.

Result order everywhere: by distance, then by position (insertion order). The k-NN scan
keeps, among items tied at the k-th distance, those at the smallest positions, so every
exact kind returns identical results.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic

if sys.byteorder != "little":                     # word views assume little-endian words
    raise ImportError("hashret's Hamming kernels need a little-endian machine")

BLOCK = 1024                                      # database rows per cache block
MAX_BITS = 16384                                  # the widest code accepted
SPLIT_MIN = 200_000          # below this many codes one thread answers a query faster


@intrinsic
def _popcount(typingctx, x):
    """Population count of an unsigned integer, as one LLVM ``ctpop`` (vectorised by LLVM)."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.uint64(x)

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        v = args[0]
        if v.type.width < 64:
            v = builder.zext(v, ir.IntType(64))
        return builder.ctpop(v)
    return sig, codegen


@intrinsic
def _ctz(typingctx, x):
    """Count of trailing zero bits of a ``uint64`` (undefined for 0; never called with 0)."""
    if x != types.uint64:
        return None
    sig = types.uint64(x)

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))
    return sig, codegen


def word_view(codes: np.ndarray) -> np.ndarray:
    """``(n, nbytes) uint8`` codes as ``(n, W)`` words of the widest width dividing nbytes."""
    nbytes = codes.shape[1]
    for dt in (np.uint64, np.uint32, np.uint16, np.uint8):
        size = np.dtype(dt).itemsize
        if nbytes % size == 0:
            return np.ascontiguousarray(codes).view(dt).reshape(len(codes), nbytes // size)
    raise AssertionError("unreachable")


# --- scanning ---------------------------------------------------------------------------

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
            d = np.int64(_popcount(piece[j] ^ q))
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
            d += np.int64(_popcount(rows[j, w] ^ q[w]))
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
def _distance(db, row, q):
    d = 0
    for w in range(db.shape[1]):
        d += np.int64(_popcount(db[row, w] ^ q[w]))
    return d


@nb.njit(nogil=True, cache=True)
def _compact(cd, cp, cnt, k, bits, hist):
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
def _finish(cd, cp, cnt, k, bits, hist, out_d, out_p, qi):
    c = cnt
    if c > k:
        c, _ = _compact(cd, cp, c, k, bits, hist)
    key = np.empty(c, np.int64)
    for i in range(c):
        key[i] = cd[i] * (np.int64(1) << 47) + cp[i]
    order = np.argsort(key)
    for i in range(c):
        out_d[qi, i] = cd[order[i]]
        out_p[qi, i] = cp[order[i]]
    return c


@nb.njit(nogil=True, cache=True, inline="always")
def _take_hits(db, q, first, bitset, t, qi, cnt, cd, cp, k, hist):
    """Re-measure the codes ``first + j`` for the set bits j of ``bitset`` and add those
    below ``t`` (which may have dropped since the mask was made) to query ``qi``'s
    candidates, compacting when its buffer fills; returns the threshold."""
    c = cnt[qi]
    while bitset != 0:
        row = first + np.int64(_ctz(bitset))
        bitset &= bitset - np.uint64(1)
        d = _distance(db, row, q)
        if d < t:
            cd[qi, c] = d
            cp[qi, c] = row
            c += 1
            if c == cd.shape[1]:
                c, t = _compact(cd[qi], cp[qi], c, k, hist.shape[0] - 2, hist)
    cnt[qi] = c
    return t


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
                    t = _take_hits(db, q, b0 + p * 64, masks[p], t, qi, cnt, cd, cp, k, hist)
            thr[qi] = t
    for qi in range(m):
        out_c[qi] = _finish(cd[qi], cp[qi], cnt[qi], k, bits, hist, out_d, out_p, qi)


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
                    row = b0 + p * 64 + np.int64(_ctz(bitset))
                    bitset &= bitset - np.uint64(1)
                    if fill:
                        at = offsets[qi] + pos[qi]
                        out_d[at] = _distance(db, row, q)
                        out_p[at] = row
                    pos[qi] += 1
    for qi in range(m):
        counts[qi] = pos[qi]


# --- bit-sliced scan of 64-bit codes -----------------------------------------------------
#
# A "bit-plane" layout of 64-bit codes: codes are taken 256 at a time (a group); plane b of
# a group holds bit b of its 256 codes as four 64-bit lanes (code 64l + j of the group is
# bit j of lane l). A query's distance to all 256 codes of a group is then summed with
# bitwise operations only (a carry-save adder tree over the 64 XORed planes, Harley-Seal
# style), and compared with the threshold bit by bit: about 1.3 vector instructions per
# code, against about 3 for a per-code popcount on AVX2 (no native vector popcount there).

GROUP = 256
PLANE_LANES = GROUP // 64


@intrinsic
def _group_below(typingctx, planes, g, qmask, t, out):
    """``out[l]`` (l < 4) gets bit j set when code ``64l + j`` of group ``g`` is at distance
    below ``t`` from the query whose bits are ``qmask`` (64 words, all ones where the query
    bit is set). ``planes`` is (groups, 64, 4) uint64, C order; ``t`` <= 65."""
    if not (isinstance(planes, types.Array) and planes.ndim == 3 and planes.layout == "C"
            and planes.dtype == types.uint64 and isinstance(out, types.Array)
            and out.dtype == types.uint64 and isinstance(qmask, types.Array)
            and qmask.dtype == types.uint64):
        return None
    sig = types.void(planes, types.int64, qmask, types.int64, out)

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        pa, gv, qa, tv, oa = args
        planes_ = context.make_array(signature.args[0])(context, builder, pa)
        qmask_ = context.make_array(signature.args[2])(context, builder, qa)
        out_ = context.make_array(signature.args[4])(context, builder, oa)
        i64, i32 = ir.IntType(64), ir.IntType(32)
        vt = ir.VectorType(i64, PLANE_LANES)
        base = builder.mul(gv, ir.Constant(i64, 64 * PLANE_LANES))

        def splat(x):
            u = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(i32, 0))
            return builder.shuffle_vector(u, ir.Constant(vt, ir.Undefined),
                                          ir.Constant(ir.VectorType(i32, PLANE_LANES),
                                                      [0] * PLANE_LANES))

        def plane(b):
            at = builder.gep(planes_.data, [builder.add(base, ir.Constant(i64,
                                                                           PLANE_LANES * b))])
            v = builder.load(builder.bitcast(at, vt.as_pointer()), align=8)
            return builder.xor(v, splat(builder.load(builder.gep(qmask_.data,
                                                                 [ir.Constant(i64, b)]))))

        def full_add(a, b, c):                  # (sum, carry) of three bit-sliced bits
            u = builder.xor(a, b)
            return builder.xor(u, c), builder.or_(builder.and_(a, b), builder.and_(u, c))

        zero = ir.Constant(vt, [0] * PLANE_LANES)
        ones_ = ir.Constant(vt, [-1] * PLANE_LANES)
        d1 = d2 = d4 = d8 = d16 = d32 = d64 = zero
        for blk in range(0, 64, 16):            # 16 planes -> one carry of weight 16
            x = [plane(blk + i) for i in range(16)]
            fours = []
            for h in (0, 8):
                twos = []
                for i in (0, 2, 4, 6):
                    d1, c = full_add(d1, x[h + i], x[h + i + 1])
                    twos.append(c)
                d2, c1 = full_add(d2, twos[0], twos[1])
                d2, c2 = full_add(d2, twos[2], twos[3])
                d4, c = full_add(d4, c1, c2)
                fours.append(c)
            d8, c16 = full_add(d8, fours[0], fours[1])
            carry = builder.and_(d16, c16)
            d16 = builder.xor(d16, c16)
            d64 = builder.or_(d64, builder.and_(d32, carry))
            d32 = builder.xor(d32, carry)
        digits = [d1, d2, d4, d8, d16, d32, d64]
        # distance < t, comparing the 7-bit sliced sum with t from its top bit down
        below, equal = zero, ones_
        for j in range(6, -1, -1):
            bit = builder.and_(builder.lshr(tv, ir.Constant(i64, j)), ir.Constant(i64, 1))
            tb = splat(builder.sub(ir.Constant(i64, 0), bit))
            not_d = builder.xor(digits[j], ones_)
            below = builder.or_(below, builder.and_(builder.and_(equal, not_d), tb))
            equal = builder.and_(equal, builder.xor(builder.xor(digits[j], tb), ones_))
        builder.store(below, builder.bitcast(out_.data, vt.as_pointer()), align=8)
        return context.get_dummy_value()
    return sig, codegen


@nb.njit(nogil=True, cache=True)
def _to_planes(col, lo, hi, planes):
    """Write codes ``col[lo:hi]`` (one uint64 each) into their groups' planes (zeroed)."""
    for i in range(lo, hi):
        w = col[i]
        g = i // GROUP
        lane = (i % GROUP) // 64
        bit = np.uint64(1) << np.uint64(i % 64)
        while w != 0:
            b = _ctz(w)
            w &= w - np.uint64(1)
            planes[g, b, lane] |= bit


def bit_planes(col: np.ndarray, threads: int | None = None) -> np.ndarray:
    """The (groups, 64, 4) bit-plane layout of one-word 64-bit codes ``col`` (n,)."""
    n = len(col)
    planes = np.zeros(((n + GROUP - 1) // GROUP, 64, PLANE_LANES), np.uint64)
    spans = [(a * GROUP, min(n, b * GROUP)) for a, b in
             _splits((n + GROUP - 1) // GROUP, threads or num_threads())]
    parallel_map(lambda s: _to_planes(col, s[0], s[1], planes), spans)
    return planes


@nb.njit(nogil=True, cache=True)
def query_masks(qs):
    """(m, 64) words, all ones where bit b of query i is set."""
    out = np.zeros((qs.shape[0], 64), np.uint64)
    for i in range(qs.shape[0]):
        for b in range(64):
            if (qs[i] >> np.uint64(b)) & np.uint64(1):
                out[i, b] = ~np.uint64(0)
    return out


@nb.njit(nogil=True, cache=True)
def _lane_range(first, lo, hi):
    """Bits of a 64-code lane starting at position ``first`` that lie in [lo, hi)."""
    if first >= lo and first + 64 <= hi:
        return ~np.uint64(0)
    m = np.uint64(0)
    for j in range(64):
        if lo <= first + j < hi:
            m |= np.uint64(1) << np.uint64(j)
    return m


@nb.njit(nogil=True, cache=True)
def knn_scan_planes(planes, db, qs, k, lo, hi, out_d, out_p, out_c):
    """:func:`knn_scan` for one-word 64-bit codes (``db`` and ``qs`` as (n, 1) words) over
    their bit planes: the planes say which codes may be below each query's threshold, and
    those are re-measured from ``db``; same results and order."""
    m = qs.shape[0]
    bits = 64
    cap = 2 * k + 64
    cd = np.empty((m, cap), np.int64)
    cp = np.empty((m, cap), np.int64)
    cnt = np.zeros(m, np.int64)
    thr = np.full(m, bits + 1, np.int64)
    hist = np.empty(bits + 2, np.int64)
    qmasks = query_masks(qs[:, 0])
    lanes = np.zeros(PLANE_LANES, np.uint64)
    per_block = BLOCK // GROUP
    g_lo, g_hi = lo // GROUP, (hi + GROUP - 1) // GROUP
    for b0 in range(g_lo, g_hi, per_block):
        b1 = min(g_hi, b0 + per_block)
        for qi in range(m):
            t = thr[qi]
            q = qs[qi]
            qm = qmasks[qi]
            for g in range(b0, b1):
                _group_below(planes, g, qm, t, lanes)
                for lane in range(PLANE_LANES):
                    bitset = lanes[lane]
                    if bitset == 0:
                        continue
                    first = g * GROUP + lane * 64
                    if first < lo or first + 64 > hi:
                        bitset &= _lane_range(first, lo, hi)
                    t = _take_hits(db, q, first, bitset, t, qi, cnt, cd, cp, k, hist)
            thr[qi] = t
    for qi in range(m):
        out_c[qi] = _finish(cd[qi], cp[qi], cnt[qi], k, bits, hist, out_d, out_p, qi)


# --- Hamming-ball address lookup over a hash table of distinct codes ------------------

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
                nd = np.empty(2 * n, np.int64)
                npos = np.empty(2 * n, np.int64)
                nd[:n] = out_d[:n]
                npos[:n] = out_p[:n]
                out_d, out_p = nd, npos
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


# --- multi-index hashing (Norouzi, Punjani & Fleet, CVPR 2012) ------------------------

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
            d += np.int64(_popcount(x))
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
        (((~tt & (tt + np.uint64(1))) - np.uint64(1)) >> (_ctz(v) + np.uint64(1)))


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
                        d = _distance(codes, a, q)
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
                            c, t = _compact(cd, cp, c, k, bits, hist)
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
        out_c[qi] = _finish(cd, cp, c, k, bits, hist, out_d, out_p, qi)


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
                        d = _distance(codes, a, q)
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
                            nd = np.empty(2 * n_out, np.int64)
                            npos = np.empty(2 * n_out, np.int64)
                            nd[:n_out] = out_d[:n_out]
                            npos[:n_out] = out_p[:n_out]
                            out_d, out_p = nd, npos
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


# --- parallel driver ----------------------------------------------------------------------

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def num_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not on Linux
        return max(1, os.cpu_count() or 1)


def parallel_map(fn, tasks):
    """Run ``fn`` over ``tasks`` on a shared thread pool (kernels release the GIL)."""
    global _POOL
    tasks = list(tasks)
    if len(tasks) <= 1:
        return [fn(t) for t in tasks]
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(num_threads(), thread_name_prefix="hashret-search")
    return list(_POOL.map(fn, tasks))


def _splits(n: int, parts: int):
    edges = np.linspace(0, n, parts + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def query_spans(m: int):
    """Spans of ``m`` queries, one per thread; a single query is run where it is asked."""
    return [(0, m)] if m <= 1 else _splits(m, min(num_threads(), m))


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
        parts = parallel_map(run, _splits(m, min(threads, m)) if m * n >= SPLIT_MIN
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
    parts = parallel_map(run_part, _splits(n, threads))
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
    spans = _splits(n, threads) if n >= SPLIT_MIN else [(0, n)]
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


def ball_size(bits: int, radius: int) -> int:
    """Number of addresses within ``radius`` of a ``bits``-bit code."""
    return sum(math.comb(bits, r) for r in range(min(radius, bits) + 1))
