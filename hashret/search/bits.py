"""Packing bits into codes: one byte order for every part of hashret."""

from __future__ import annotations

import numpy as np


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, K) booleans -> (n, K/8) uint8 codes; bit i is bit i % 8 of byte i // 8
    (little-endian within a byte, the order faiss' binary indexes use)."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=1, bitorder="little")


def unpack_bits(codes: np.ndarray) -> np.ndarray:
    """(n, K/8) uint8 codes -> (n, K) booleans, the inverse of :func:`pack_bits`."""
    return np.unpackbits(np.asarray(codes, np.uint8), axis=1, bitorder="little").astype(bool)
