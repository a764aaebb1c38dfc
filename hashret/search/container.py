"""The index file on disk.

``flat`` indexes use faiss' ``IndexBinaryIDMap2(IndexBinaryFlat)`` layout, so faiss can read
them; the other kinds a small container: magic, JSON header, codes, ids and, for
``hnsw``/``ivf``, the serialised faiss index. Counts inside a file are checked against its
size before anything reads it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import BundleError
from ..fileio import atomic_file
from .words import MAX_BITS

MAX_CODE_BYTES = MAX_BITS // 8
FLAT_MAGIC = b"IBM2"                 # faiss' IndexBinaryIDMap2 layout, readable by faiss
CONTAINER_MAGIC = b"HRBINIDX"        # our layout for the other kinds
CONTAINER_VERSION = 1


def _flat_layout(head: bytes, size: int):
    """Parse and check the header of an ``IndexBinaryIDMap2(IndexBinaryFlat)`` file of
    ``size`` bytes; returns (bytes per code, count) or a problem.

    Layout: ``IBM2`` header, ``IBxF`` header, the codes vector, the id vector; a header is
    d (int32), code_size (int32), ntotal (int64), is_trained (uint8), metric (int32); a
    vector is its length (uint64) then its elements.
    """
    if len(head) < 58:
        return "file too short"
    if head[:4] != FLAT_MAGIC or head[25:29] != b"IBxF":
        return "not an IndexBinaryIDMap2 over IndexBinaryFlat"
    d, code_size = struct.unpack_from("<ii", head, 4)
    ntotal, = struct.unpack_from("<q", head, 12)
    if head[29:45] != head[4:20] or d != code_size * 8 or \
            not 0 < code_size <= MAX_CODE_BYTES or ntotal < 0:
        return "inconsistent header"
    if struct.unpack_from("<Q", head, 50)[0] != ntotal * code_size:
        return "code count does not match the header"
    if size != 66 + ntotal * (code_size + 8):
        return f"{size} bytes where the header implies {66 + ntotal * (code_size + 8)}"
    return code_size, ntotal


def _flat_file_layout(path: Path):
    """(bytes per code, count) of a saved flat index file, or what is wrong with it (faiss
    trusts the counts inside a file, so they are checked before anything reads it)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        layout = _flat_layout(f.read(58), size)
        if isinstance(layout, str):
            return layout
        code_size, ntotal = layout
        f.seek(58 + ntotal * code_size)
        if struct.unpack("<Q", f.read(8))[0] != ntotal:
            return "id count does not match the header"
    return layout



def _flat_header(bits: int, n: int) -> bytes:
    nb = bits // 8
    inner = struct.pack("<iiqBi", bits, nb, n, 1, 1)
    return FLAT_MAGIC + inner + b"IBxF" + inner + struct.pack("<Q", n * nb)




def write_index_file(path, kind: str, params: dict, codes: np.ndarray, ids: np.ndarray,
                     blob: bytes = b"") -> None:
    """Write an index file atomically (``blob``: a serialised faiss index, or nothing)."""
    bits = codes.shape[1] * 8
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        if kind == "flat":
            f.write(_flat_header(bits, len(ids)))
            f.write(np.ascontiguousarray(codes).tobytes())
            f.write(struct.pack("<Q", len(ids)))
            f.write(np.ascontiguousarray(ids, "<i8").tobytes())
            return
        header = json.dumps({"kind": kind, "params": params, "bits": bits,
                             "ntotal": len(ids), "extra_bytes": len(blob)}).encode()
        f.write(CONTAINER_MAGIC + struct.pack("<II", CONTAINER_VERSION, len(header)))
        f.write(header)
        f.write(np.ascontiguousarray(codes).tobytes())
        f.write(np.ascontiguousarray(ids, "<i8").tobytes())
        f.write(blob)


def read_index_file(path, mmap: bool, kinds):
    """``(kind, params, codes, ids, blob)`` of an index file written by
    :func:`write_index_file`; ``mmap`` maps the codes and ids read-only instead of reading
    them. ``kinds`` are the kind names a container may hold."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"index file {path} is missing; rebuild the index")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:4] == FLAT_MAGIC:
        layout = _flat_file_layout(path)
        if isinstance(layout, str):
            raise BundleError(f"index file {path} is damaged ({layout}); rebuild the index")
        code_size, n = layout
        codes = _read_array(path, 58, (n, code_size), np.uint8, mmap)
        ids = _read_array(path, 66 + n * code_size, (n,), np.dtype("<i8"), mmap)
        return "flat", {}, codes, ids, b""
    if head[:8] != CONTAINER_MAGIC or len(head) < 16:
        raise BundleError(f"index file {path} is damaged (not a hashret index file); "
                          "rebuild the index")
    version, hlen = struct.unpack_from("<II", head, 8)
    if version > CONTAINER_VERSION:
        raise BundleError(f"index file {path} is from a newer hashret; upgrade hashret")
    try:
        with open(path, "rb") as f:
            f.seek(16)
            header = json.loads(f.read(hlen))
        kind, params, bits, n, extra = (header["kind"], dict(header["params"]),
                                        int(header["bits"]), int(header["ntotal"]),
                                        int(header["extra_bytes"]))
        if kind not in kinds or kind == "flat" or bits % 8 or \
                not 0 < bits <= MAX_BITS or n < 0 or extra < 0:
            raise ValueError("bad header")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BundleError(f"index file {path} is damaged (unreadable header); rebuild "
                          "the index") from None
    nb = bits // 8
    start = 16 + hlen
    if size != start + n * (nb + 8) + extra:
        raise BundleError(f"index file {path} is damaged ({size} bytes where the header "
                          f"implies {start + n * (nb + 8) + extra}); rebuild the index")
    codes = _read_array(path, start, (n, nb), np.uint8, mmap)
    ids = _read_array(path, start + n * nb, (n,), np.dtype("<i8"), mmap)
    blob = b""
    if extra:
        with open(path, "rb") as f:
            f.seek(start + n * (nb + 8))
            blob = f.read(extra)
    return kind, params, codes, ids, blob


def _read_array(path: Path, offset: int, shape, dtype, mmap: bool) -> np.ndarray:
    count = int(np.prod(shape))
    if count == 0:
        return np.zeros(shape, dtype)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    with open(path, "rb") as f:
        f.seek(offset)
        return np.fromfile(f, dtype=dtype, count=count).reshape(shape)
