"""Exact Hamming k-NN on a GPU: faiss' ``GpuIndexBinaryFlat`` where it works, else a scan
written in torch (which every CUDA install of hashret already has).

Both give the CPU scan's distances. The torch scan also gives its ids, ties included: it
ranks by the key ``distance << 40 | position``, which is the CPU's order (distance, then
position). faiss' ties at the k-th distance come in the GPU's order.

faiss-gpu wheels are built for a list of GPU architectures; on a GPU outside that list
(faiss-gpu-cu12 has no Hopper code, so every H100/H200) its binary search launches no
kernel and returns uninitialised memory without an error. So a faiss GPU index is used only
after it finds a sample of the stored codes at distance 0 from themselves.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import UsageError
from .scan import sort_rows

log = logging.getLogger("hashret")

_POSITION_BITS = 40                  # positions < 2^40; distances <= 16384 fit above them
_BLOCK_ELEMENTS = 1 << 26            # query x code pairs per step: bounds the GPU memory
_M1, _M2, _M4 = 0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F


def _popcount(x):
    """Bits set in each int64 of ``x`` (SWAR: pairs, nibbles, bytes, then byte sums; no
    multiplication, so no signed overflow)."""
    x = x - ((x >> 1) & _M1)
    x = (x & _M2) + ((x >> 2) & _M2)
    x = (x + (x >> 4)) & _M4
    x = x + (x >> 8)
    x = x + (x >> 16)
    x = x + (x >> 32)
    return x & 0x7F


def _as_int64_words(codes: np.ndarray) -> np.ndarray:
    """(n, bytes) uint8 -> (n, words) int64, zero-padded to whole words (zeros add no
    distance)."""
    n, nb = codes.shape
    pad = (-nb) % 8
    if pad:
        codes = np.concatenate([codes, np.zeros((n, pad), np.uint8)], axis=1)
    return np.ascontiguousarray(codes).view(np.int64)


class TorchHammingScan:
    """The stored codes as int64 words on a torch device; ``knn`` scans them exactly."""

    def __init__(self, codes: np.ndarray, device):
        import torch
        self.torch = torch
        self.device = torch.device(device)
        self.words = torch.from_numpy(_as_int64_words(codes)).to(self.device)

    def _keys(self, q, start, stop):
        """(queries, stop - start) keys distance << 40 | position for codes start..stop."""
        torch = self.torch
        block = self.words[start:stop]
        dist = _popcount(q[:, None, 0] ^ block[None, :, 0])
        for w in range(1, block.shape[1]):
            dist += _popcount(q[:, None, w] ^ block[None, :, w])
        pos = torch.arange(start, stop, device=self.device, dtype=torch.int64)
        return (dist << _POSITION_BITS) | pos

    def knn(self, queries: np.ndarray, k: int):
        """``(distances int32 (m, k), positions int64 (m, k))`` ordered by (distance,
        position); missing results (fewer than k codes) have distance 2^31-1, position -1,
        as in the CPU scan."""
        torch = self.torch
        n = self.words.shape[0]
        m = len(queries)
        dist = np.full((m, k), np.iinfo(np.int32).max, np.int32)
        pos = np.full((m, k), -1, np.int64)
        kk = min(k, n)
        if m == 0 or kk == 0:
            return dist, pos
        q_all = torch.from_numpy(_as_int64_words(queries)).to(self.device)
        chunk = min(n, max(kk, _BLOCK_ELEMENTS))          # codes per step
        qb = max(1, _BLOCK_ELEMENTS // chunk)              # queries per step
        for a in range(0, m, qb):
            q = q_all[a:a + qb]
            best = None
            for s in range(0, n, chunk):
                keys = self._keys(q, s, min(n, s + chunk))
                if best is not None:
                    keys = torch.cat([best, keys], dim=1)
                best = torch.topk(keys, min(kk, keys.shape[1]), dim=1, largest=False,
                                  sorted=True).values
            best = best.cpu().numpy()
            dist[a:a + len(q), :kk] = best >> _POSITION_BITS
            pos[a:a + len(q), :kk] = best & ((1 << _POSITION_BITS) - 1)
        return dist, pos


class FaissGpuScan:
    """faiss' ``GpuIndexBinaryFlat`` (needs faiss-gpu)."""

    def __init__(self, codes: np.ndarray):
        import faiss
        self.res = faiss.StandardGpuResources()
        config = faiss.GpuIndexBinaryFlatConfig()
        config.device = 0
        self.index = faiss.GpuIndexBinaryFlat(self.res, codes.shape[1] * 8, config)
        self.index.add(np.ascontiguousarray(codes))

    def works(self, codes: np.ndarray) -> bool:
        """True when the GPU finds the first stored codes at distance 0 from themselves."""
        sample = np.ascontiguousarray(codes[:256])
        d, _ = self.index.search(sample, 1)
        return bool(len(sample) == 0 or (d[:, 0] == 0).all())

    def knn(self, queries: np.ndarray, k: int):
        return sort_rows(*self.index.search(np.ascontiguousarray(queries), k))


def faiss_has_gpu() -> bool:
    try:
        import faiss
    except ImportError:
        return False
    return hasattr(faiss, "GpuIndexBinaryFlat") and faiss.get_num_gpus() > 0


def gpu_scan(codes: np.ndarray):
    """The GPU scan for ``flat`` with ``gpu=1``: faiss' when installed and working on this
    GPU, else the torch scan on CUDA; a clear error when there is no CUDA GPU."""
    if faiss_has_gpu():
        scan = FaissGpuScan(codes)
        if len(codes) == 0 or scan.works(codes):
            return scan
        log.warning("faiss' GPU binary index returned wrong distances on this GPU (its "
                    "build has no code for this GPU's architecture); using the torch GPU "
                    "scan instead")
    import torch
    if not torch.cuda.is_available():
        raise UsageError("gpu=1 needs a CUDA GPU visible to torch (or faiss-gpu); leave the "
                         "flat index on the CPU")
    return TorchHammingScan(codes, "cuda")
