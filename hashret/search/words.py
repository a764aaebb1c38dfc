"""Codes as machine words, and the bit-counting intrinsics every Hamming kernel uses.

Codes are handled as rows of machine words: a code of ``nbytes`` bytes is viewed as
``nbytes / w`` unsigned words of ``w`` = 8, 4, 2 or 1 bytes (the widest that divides it), so
a 64-bit code is one ``uint64`` and a 16-bit code one ``uint16`` — no padding, and the
distance of two codes is the sum of the popcounts of their XORed words.
"""

from __future__ import annotations

import sys

import numpy as np
from numba.core import types
from numba.extending import intrinsic

if sys.byteorder != "little":                     # word views assume little-endian words
    raise ImportError("hashret's Hamming kernels need a little-endian machine")

BLOCK = 1024                                      # database rows per cache block
MAX_BITS = 16384                                  # the widest code accepted


@intrinsic
def popcount(typingctx, x):
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
def ctz(typingctx, x):
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

