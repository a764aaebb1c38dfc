"""How healthy a set of codes is: whether its bits carry information, or the codes collapsed
onto a few values (a model trained too little, or items that do not differ).

:func:`code_health` measures, on up to :data:`SAMPLE` codes: the share of distinct codes, the
share of items in the largest bucket (items sharing one code), each bit's share of ones
(balance), the mean absolute correlation between bits, and the entropy of the code
distribution; :func:`health_warnings` says in plain words what looks collapsed and what to
try.
"""

from __future__ import annotations

import numpy as np

from .bits import unpack_bits

SAMPLE = 100_000            # codes measured, drawn with a fixed seed from a larger set
MIN_DISTINCT_SHARE = 0.2    # fewer distinct codes than this share of the items: collapsed
CONSTANT_BIT = 0.01         # a bit set in fewer than 1% of the items, or in more than 99%


def code_health(codes: np.ndarray) -> dict:
    """Health figures of packed ``codes`` (n, bits/8)."""
    codes = np.asarray(codes, np.uint8)
    n = len(codes)
    if n > SAMPLE:
        codes = codes[np.sort(np.random.default_rng(0).choice(n, SAMPLE, replace=False))]
    m, nbytes = codes.shape
    bits = nbytes * 8
    if m == 0:
        return {"items": n, "measured": 0, "bits": bits}
    _, counts = np.unique(codes.view(np.dtype((np.void, nbytes))).ravel(),
                          return_counts=True)
    p = counts / m
    ones = unpack_bits(codes).astype(np.float32)
    balance = ones.mean(0)
    centred = ones - balance
    std = centred.std(0)
    live = std > 0
    corr = np.corrcoef(centred[:, live], rowvar=False) if live.sum() > 1 else np.ones((1, 1))
    corr = np.atleast_2d(corr)
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)]) if len(corr) > 1 else np.zeros(1)
    constant = int(((balance < CONSTANT_BIT) | (balance > 1 - CONSTANT_BIT)).sum())
    return {
        "items": n,
        "measured": m,
        "bits": bits,
        "distinct_codes": int(len(counts)),
        "distinct_share": round(len(counts) / m, 4),
        "largest_bucket_share": round(float(counts.max()) / m, 4),
        "bit_balance_min": round(float(balance.min()), 4),
        "bit_balance_max": round(float(balance.max()), 4),
        "constant_bits": constant,
        "mean_abs_bit_correlation": round(float(off.mean()), 4),
        "entropy_bits": round(float(-(p * np.log2(p)).sum()), 3),
        "max_entropy_bits": round(float(min(bits, np.log2(m))), 3),
    }


def health_warnings(h: dict) -> list[str]:
    """Plain-words warnings for collapsed codes, each with what to try."""
    if not h.get("measured"):
        return []
    out = []
    if h["measured"] >= 50 and h["distinct_share"] < MIN_DISTINCT_SHARE:
        out.append(f"the codes have collapsed: {h['distinct_codes']:,} distinct codes for "
                   f"{h['measured']:,} items ({h['distinct_share']:.0%}), the largest shared by "
                   f"{h['largest_bucket_share']:.0%} of them; train longer (more epochs, no "
                   "limit on the corpus) or check that the items differ")
    if h["constant_bits"]:
        out.append(f"{h['constant_bits']} of {h['bits']} bits are almost constant (set in "
                   f"under {CONSTANT_BIT:.0%} or over {1 - CONSTANT_BIT:.0%} of the items) and "
                   "tell items apart little; train longer or use fewer bits")
    return out
