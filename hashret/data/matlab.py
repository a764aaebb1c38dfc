"""Images saved as MATLAB ``.mat`` files, as SVHN ships (``train_32x32.mat``,
``test_32x32.mat``: ``X`` of shape 32 x 32 x 3 x n, labels ``y`` of shape n x 1) and as
many image sets from MATLAB work do: MAT-files of versions 5 to 7.2 (a version 7.3 file is
HDF5 and is refused with how to convert it).

In each file the images are the largest numeric array of three or four dimensions, the
labels a vector as long as one of its axes (preferably named ``y``, ``labels``, ``gnd``…);
that axis, else the longest one, runs over the images, so MATLAB's images-last layout and
Python's images-first layout both read."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from ..errors import CorpusError
from .corpus import Corpus, image_arrays_corpus, named_split
from .images import as_channels_last

MAT_SUFFIX = ".mat"
LABEL_NAMES = ("y", "labels", "label", "gnd", "targets", "target", "class", "classes")


# MAT-file level 5 (MATLAB 5 to 7.2), as its format reference describes it: a 128-byte
# header, then data elements, each an 8-byte tag (type, byte count) and its data padded to 8
# bytes; a variable is a miMATRIX element (flags and class, dimensions, name, real part) or
# one zlib-compressed into a miCOMPRESSED element. Read here rather than by scipy, whose
# reader crashes the process (segmentation fault) on damaged files: every length is checked
# against the bytes that are there.
_MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
             12: "i8", 13: "u8"}
_MX_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
               14: "i8", 15: "u8"}
MI_MATRIX, MI_COMPRESSED = 14, 15
MAX_UNCOMPRESSED = 8 << 30        # one compressed variable; more is a zip bomb


class _Damaged(Exception):
    pass


def _elements(buf: memoryview, order: str):
    """``(type, data)`` of each data element in ``buf``."""
    at = 0
    while at + 8 <= len(buf):
        kind, size = np.frombuffer(buf[at:at + 8], order + "u4")
        kind, size = int(kind), int(size)
        if kind >> 16:                    # a small element: type and size in 4 bytes, data in 4
            kind, size, start, end = kind & 0xFFFF, kind >> 16, at + 4, at + 8
            if size > 4:
                raise _Damaged(f"a small element of {size} bytes")
            yield kind, buf[start:start + size]
            at = end
            continue
        start = at + 8
        if start + size > len(buf):
            raise _Damaged(f"an element of {size} bytes where {len(buf) - start} remain")
        yield kind, buf[start:start + size]
        at = start + size if kind == MI_COMPRESSED else start + (size + 7) // 8 * 8
    if at < len(buf) and any(bytes(buf[at:])):
        raise _Damaged("stray bytes after the last element")


def _matrix(data: memoryview, order: str) -> tuple[str, np.ndarray] | None:
    """``(name, array)`` of a miMATRIX element of a numeric class; None for other classes
    (text, cells, structures, sparse matrices) and complex arrays."""
    parts = _elements(data, order)
    kind, flags = next(parts, (None, b""))
    if kind != 6 or len(flags) < 4:
        raise _Damaged("a matrix without its flags")
    word = int(np.frombuffer(flags[:4], order + "u4")[0])
    mx_class, is_complex = word & 0xFF, word & 0x800
    kind, dims = next(parts, (None, b""))
    if kind != 5 or not len(dims) or len(dims) % 4:
        raise _Damaged("a matrix without its dimensions")
    shape = tuple(int(d) for d in np.frombuffer(dims, order + "i4"))
    kind, name = next(parts, (None, b""))
    if kind not in (1, 2) or any(d < 0 for d in shape):
        raise _Damaged("a matrix without its name")
    if mx_class not in _MX_CLASSES or is_complex:
        return None
    kind, real = next(parts, (None, b""))
    if kind not in _MI_TYPES:
        raise _Damaged(f"a numeric matrix with data of type {kind}")
    stored = np.dtype(order + _MI_TYPES[kind])
    count = int(np.prod(shape, dtype=np.int64))
    if len(real) != count * stored.itemsize:
        raise _Damaged(f"{len(real)} bytes of data for a {'x'.join(map(str, shape))} matrix")
    values = np.frombuffer(real, stored).astype(_MX_CLASSES[mx_class], copy=False)
    return bytes(name).decode("latin-1"), values.reshape(shape, order="F")   # column-major


def _decompress(data: memoryview) -> memoryview:
    unzip = zlib.decompressobj()
    out = unzip.decompress(data, MAX_UNCOMPRESSED)
    if unzip.unconsumed_tail:
        raise _Damaged(f"a compressed variable of more than {MAX_UNCOMPRESSED >> 30} GB")
    return memoryview(out)


def _variables(path: Path) -> dict[str, np.ndarray]:
    """The numeric arrays of a MAT-file, by name."""
    raw = memoryview(Path(path).read_bytes())
    header = bytes(raw[:128])
    if len(header) < 128 or header[126:128] not in (b"IM", b"MI"):
        raise CorpusError(f"{path}: not a MATLAB 5 to 7.2 MAT-file; save the arrays with "
                          "MATLAB's save(..., '-v7') or as .npy")
    order = "<" if header[126:128] == b"IM" else ">"
    if int(np.frombuffer(header[124:126], order + "u2")[0]) == 0x0200:
        raise CorpusError(f"{path}: a MATLAB v7.3 (HDF5) file; save it again in MATLAB with "
                          "save(..., '-v7'), or convert the arrays to .npy")
    found = {}
    try:
        for kind, data in _elements(raw[128:], order):
            if kind == MI_COMPRESSED:
                inner = list(_elements(_decompress(data), order))
                if len(inner) != 1:
                    raise _Damaged("a compressed element that is not one variable")
                kind, data = inner[0]
            if kind == MI_MATRIX and (named := _matrix(data, order)):
                found[named[0]] = named[1]
    except (_Damaged, zlib.error) as e:
        raise CorpusError(f"{path}: a damaged MAT-file ({e}); save it again") from None
    return found


def _label_text(values: np.ndarray) -> list[list[str]]:
    if values.dtype.kind == "f" and np.all(np.abs(values) < 2 ** 53) and \
            np.all(values == np.round(values)):
        values = values.astype(np.int64)             # MATLAB keeps class numbers as doubles
    return [[str(v.item())] for v in values]


def _images_and_labels(path: Path) -> tuple[np.ndarray, list[list[str]]]:
    arrays = _variables(path)
    images = [k for k, v in arrays.items() if v.ndim in (3, 4)]
    if not images:
        raise CorpusError(f"{path}: no image array of three or four dimensions among "
                          f"{[(k, v.shape) for k, v in arrays.items()]}")
    key = max(images, key=lambda k: arrays[k].size)
    x = arrays[key]
    vectors = {k: v.reshape(-1) for k, v in arrays.items()
               if k != key and v.size > 1 and v.size == max(v.shape)}
    named = sorted(vectors, key=lambda k: (k.lower() not in LABEL_NAMES, k))
    label_key = next((k for k in named if vectors[k].size in x.shape), None)
    if label_key is not None:
        n = vectors[label_key].size
        axis = max(a for a, length in enumerate(x.shape) if length == n)
    else:
        axis = int(np.argmax(x.shape))
    # one image's pixels together, as every other reader gives them (MATLAB's arrays are
    # column-major, the images axis last)
    x = as_channels_last(np.ascontiguousarray(np.moveaxis(x, axis, 0)), f"{path}: {key!r}")
    labels = _label_text(vectors[label_key]) if label_key else [[] for _ in range(len(x))]
    return x, labels


def is_mat_folder(files: list[Path]) -> bool:
    return sum(f.suffix.lower() == MAT_SUFFIX for f in files) > len(files) / 2


def read_mat(path: Path) -> Corpus:
    """One ``.mat`` file, or a folder of them (``train_32x32.mat``, ``test_32x32.mat``,
    ``extra_32x32.mat``): a file whose name says test (:func:`named_split`) holds test
    images, the others training images; ids are row numbers, training files first. The
    arrays are read into memory."""
    path = Path(path)
    files = [path] if path.is_file() else \
        sorted((f for f in path.rglob("*") if f.suffix.lower() == MAT_SUFFIX),
               key=lambda f: (named_split(f.name) == "test", str(f)))
    parts, labels, splits, titles = [], [], [], []
    for f in files:
        x, lab = _images_and_labels(f)
        parts.append((f.name, x))
        labels += lab
        splits += [named_split(f.name) or "train"] * len(x)
        titles += [f"{f.name}[{i}]" for i in range(len(x))]
    return image_arrays_corpus(path, parts, labels, splits, titles)
