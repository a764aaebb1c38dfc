"""Image corpus readers: IDX files (MNIST layout), folders of PNG/JPEG, ``.npy`` / ``.npz``
arrays, CIFAR-10/100 binary files.

Every reader gives items as an array-like of shape ``(n, h, w, c)``; pixel scaling and
resizing are the featurizer's job (:class:`hashret.data.features.ImageFeaturizer`).
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import warnings
import zlib
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import defaults
from ..errors import CorpusError, MissingCorpusError
from .corpus import IMAGE, Corpus, image_arrays_corpus, walk_labelled_folder
from .vectors import npz_vector_arrays, read_vector_npy, read_vector_npz

log = logging.getLogger("hashret")

# What Pillow decodes and image sets ship in; Netpbm's grey .pgm and colour .ppm hold older
# sets such as the ORL / AT&T faces
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".gif", ".webp", ".tif",
                  ".tiff", ".pgm", ".ppm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k", ".avif"}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}


# --- IDX ---------------------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzip or raw) as an array; raw files are memory-mapped, not loaded."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            try:
                with gzip.open(path, "rb") as f:
                    data = f.read()
            except (OSError, EOFError, zlib.error) as e:
                raise CorpusError(f"{path}: not a readable gzip file ({e}); re-download it")\
                    from None
            header = data[:4]
        else:
            with open(path, "rb") as f:
                header = f.read(4)
            data = None
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    if len(header) < 4 or header[0] != 0 or header[1] != 0 or header[2] not in _IDX_TYPES \
            or header[3] == 0:
        raise CorpusError(f"{path}: not an IDX file (bad magic number); expected the MNIST "
                          "IDX format")
    ndim = header[3]
    dtype = np.dtype(_IDX_TYPES[header[2]])
    head_len = 4 + 4 * ndim
    if data is None:
        with open(path, "rb") as f:
            head = f.read(head_len)
        size = path.stat().st_size
    else:
        head, size = data[:head_len], len(data)
    if len(head) < head_len:
        raise CorpusError(f"{path}: truncated IDX header; the file is damaged")
    shape = tuple(int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    need = head_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size != need:
        raise CorpusError(f"{path}: IDX header says shape {shape} ({need} bytes) but the "
                          f"file has {size}; the file is truncated or damaged")
    if data is None:
        return np.memmap(path, dtype=dtype, mode="r", offset=head_len, shape=shape)
    return np.frombuffer(data, dtype=dtype, offset=head_len).reshape(shape)


def _labels_path(images: Path) -> Path | None:
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    candidate = images.with_name(name)
    return candidate if candidate != images and candidate.exists() else None


def _idx_images(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.ndim not in (3, 4):
        raise CorpusError(f"{path}: IDX images must have 3 or 4 dimensions, found shape "
                          f"{arr.shape}")
    return arr if arr.ndim == 4 else arr[..., None]


def read_idx_corpus(path: Path) -> Corpus:
    """An IDX image file with its labels file beside it, or a folder holding ``train-*`` /
    ``t10k-*`` (or ``test-*``) image and label pairs as MNIST-style data is distributed.

    Ids are row numbers: training images first, then test images.
    """
    path = Path(path)
    if path.is_dir():
        parts = []
        for split, prefixes in (("train", ("train",)), ("test", ("t10k", "test"))):
            found = sorted(p for p in path.iterdir() if p.name.startswith(prefixes)
                           and "images" in p.name and "idx" in p.name)
            if found:
                parts.append((split, found[0]))
        if not parts:
            raise CorpusError(f"{path}: no train-images-idx3-ubyte(.gz) or "
                              "t10k-images-idx3-ubyte(.gz) files")
    else:
        parts = [("test" if path.name.startswith(("t10k", "test")) else "train", path)]
    arrays, labels, splits, titles = [], [], [], []
    for split, img_path in parts:
        arr = _idx_images(img_path)
        lab_path = _labels_path(img_path)
        if lab_path is not None:
            lab = read_idx(lab_path)
            if lab.shape[0] != arr.shape[0]:
                raise CorpusError(f"{lab_path}: {lab.shape[0]} labels for {arr.shape[0]} "
                                  f"images in {img_path.name}; the pair does not match")
            labels += [[str(int(v))] for v in np.asarray(lab).reshape(len(lab), -1)[:, 0]]
        else:
            labels += [[] for _ in range(arr.shape[0])]
        splits += [split] * arr.shape[0]
        titles += [f"{img_path.name.split('-')[0]}[{i}]" for i in range(arr.shape[0])]
        arrays.append((img_path.name, arr))
    return image_arrays_corpus(path, arrays, labels, splits, titles)


# --- .npy --------------------------------------------------------------------------------

def read_npy(path: Path) -> Corpus:
    """An array of shape (n, h, w), (n, h, w, c) or (n, c, h, w), memory-mapped; ids are
    row numbers.

    Labels come from ``NAME_labels.npy`` or ``NAME.labels.npy`` beside it, when present.
    """
    path = Path(path)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - numpy's header parser raises many kinds
        raise CorpusError(f"{path}: not a readable .npy array ({str(e)[:100]}); save it with "
                          "numpy.save") from None
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        return read_vector_npy(path, arr, _npy_labels(path, len(arr)))
    if not isinstance(arr, np.ndarray) or arr.ndim not in (3, 4):
        shape = getattr(arr, "shape", "?")
        raise CorpusError(f"{path}: expected an image array of shape (n, h, w), (n, h, w, c) "
                          f"or (n, c, h, w), or vectors of shape (n, d), found shape {shape}")
    if arr.dtype.kind not in "uif" or arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        raise CorpusError(f"{path}: pixel type {arr.dtype} is not numeric")
    arr = as_channels_last(arr, str(path))
    n = arr.shape[0]
    return Corpus(IMAGE, list(range(n)), arr, _npy_labels(path, n), ["train"] * n,
                  [f"{path.name}[{i}]" for i in range(n)], str(path),
                  {"shape": tuple(arr.shape[1:])})


def _npy_labels(path: Path, n: int) -> list[list[str]]:
    """The labels of a ``.npy`` array's rows, from ``NAME_labels.npy`` or
    ``NAME.labels.npy`` beside it; none when neither is there."""
    labels: list[list[str]] = [[] for _ in range(n)]
    for cand in (path.with_name(path.stem + "_labels.npy"),
                 path.with_name(path.stem + ".labels.npy")):
        if cand.exists():
            try:
                lab = np.load(cand, allow_pickle=False)
            except Exception as e:  # noqa: BLE001 - numpy's header parser raises many kinds
                raise CorpusError(f"{cand}: not a readable .npy array ({str(e)[:80]})") \
                    from None
            if len(lab) != n:
                raise CorpusError(f"{cand}: {len(lab)} labels for {n} rows; the label "
                                  "array must have one entry per row")
            labels = [[str(v.item() if hasattr(v, "item") else v)]
                      for v in lab.reshape(n, -1)[:, 0]]
            break
    return labels


def as_channels_last(arr: np.ndarray, what: str) -> np.ndarray:
    """An image array as (n, h, w, c). (n, h, w) gains a channel axis; (n, c, h, w) with 1, 3
    or 4 channels on axis 1 and a last axis that cannot be channels (PyTorch's layout) is
    viewed channels-last, without a copy."""
    if arr.ndim == 3:
        return arr[..., None]
    if arr.shape[3] in (1, 3, 4):
        return arr
    if arr.shape[1] in (1, 3, 4):
        return np.moveaxis(arr, 1, 3)
    raise CorpusError(f"{what}: shape {tuple(arr.shape)} has no axis of 1, 3 or 4 channels; "
                      "give images as (n, h, w), (n, h, w, c) or (n, c, h, w)")


def load_image(path, mode: str | None = None, size: tuple[int, int] | None = None,
               name: str | None = None):
    """Decode one image file (a path, or the file's bytes) into a ``uint8`` array of shape
    (h, w, c).

    ``mode`` is ``"L"`` (grey) or ``"RGB"``; ``size`` is (h, w) to resize to. Images with
    transparency are composited onto white. Errors name the image as ``name`` (default: the
    path).
    """
    from PIL import Image, ImageOps
    name = name or path
    try:
        with warnings.catch_warnings():       # reported once, when the folder was read
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(_openable(path))
        with im:
            turned = _orientation(im) in _QUARTER_TURNS
            if size is not None:
                # a JPEG decodes straight to a fraction (1/2 to 1/8) of its size no smaller
                # than asked for: a phone photo reads several times faster
                im.draft(im.mode, (size[0], size[1]) if turned else (size[1], size[0]))
            im.load()
            if _orientation(im) != 1:              # as a viewer shows it (camera EXIF)
                im = ImageOps.exif_transpose(im)
            if im.mode in _WIDE_GREY_MODES:
                im = _grey_to_8_bits(im)
            if mode is None:
                mode = "L" if im.mode in GREY_MODES else "RGB"
            if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
                # transparent pixels keep arbitrary colours under the alpha channel (often
                # black, sometimes leftovers): show the picture on white, as a viewer does
                im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)),
                                           im.convert("RGBA"))
            im = im.convert(mode)
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError as e:
        raise CorpusError(f"{name}: image too large to decode safely ({e})") from None
    except Exception as e:  # noqa: BLE001 - image plugins raise many kinds on bad bytes
        raise CorpusError(f"{name}: not a readable image ({str(e)[:100]}); remove or replace "
                          "the file") from None
    return arr[..., None] if arr.ndim == 2 else arr


# Pixel values of 16 or 32 bits (scientific and medical scans, depth maps, float TIFFs):
# converting them the way 8-bit images are would clip them to white or round them to black.
_WIDE_GREY_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
GREY_MODES = ("1", "L", "LA") + _WIDE_GREY_MODES


def _grey_to_8_bits(im):
    """A wide grey image on the 0–255 scale: 16-bit values divided by 257 (65,535 becomes
    255); floats in [0, 1] multiplied by 255; values already within 0–255 kept; anything
    else stretched from its minimum to its maximum."""
    from PIL import Image
    x = np.asarray(im, dtype=np.float64)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if im.mode.startswith("I;16") or (im.mode == "I" and 255 < hi <= 65535 and lo >= 0):
        x = x / 257
    elif im.mode == "F" and lo >= 0 and hi <= 1:
        x = x * 255
    elif lo < 0 or hi > 255:
        x = (x - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(x)
    return Image.fromarray(np.rint(np.clip(x, 0, 255)).astype(np.uint8), "L")


_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)          # orientations whose displayed image is turned 90°


def _orientation(im) -> int:
    """The EXIF orientation a camera recorded (1: as stored). Only files that carry EXIF in
    their header are asked: a PNG's ``getexif`` decodes the whole image to look for it."""
    if im.format not in ("JPEG", "MPO", "TIFF") and "exif" not in im.info:
        return 1
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a damaged EXIF block is no orientation
        return 1


def _openable(source):
    """What PIL opens for an image given as a path or as the file's bytes."""
    return io.BytesIO(source) if isinstance(source, bytes) else source


class _LazyImages(Sequence):
    """Images decoded on access to one mode and size, from files or their bytes."""

    def __init__(self, sources, mode, size, names):
        self.sources, self.mode, self.size, self.names = sources, mode, size, names
        self.shape = (len(sources), size[0], size[1], 1 if mode == "L" else 3)
        self.dtype = np.dtype(np.uint8)

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, i):
        if isinstance(i, slice):
            rows = [self[j] for j in range(*i.indices(len(self)))]
            return np.stack(rows) if rows else np.zeros((0,) + self.shape[1:], np.uint8)
        return load_image(self.sources[i], self.mode, self.size, self.names[i])


def image_folder_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The common (h, w) of a folder: the most frequent size, longest side capped at
    ``defaults.MAX_IMAGE_SIDE``."""
    return defaults.capped_image_size(*Counter(sizes).most_common(1)[0][0])


def images_from_sources(sources: list, names: list[str]) -> _LazyImages:
    """Image files (paths or bytes) as images decoded lazily at their common size and mode
    (:func:`image_folder_size`; grey when all are grey). Every file's header is read first
    (cheap: no pixels are decoded), so a file that is not an image stops a build before
    training rather than when the last items are encoded."""
    from PIL import Image
    sizes, grey, huge = [], True, []
    for source, name in zip(sources, names):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", Image.DecompressionBombWarning)
                im = Image.open(_openable(source))
            with im:
                turned = _orientation(im) in _QUARTER_TURNS
                sizes.append((im.width, im.height) if turned else (im.height, im.width))
                grey &= im.mode in GREY_MODES
                if caught:
                    huge.append((name, im.width * im.height))
        except Image.DecompressionBombError as e:
            raise CorpusError(f"{name}: image too large to decode safely ({str(e)[:60]}); "
                              "scale it down or remove it") from None
        except Exception as e:  # noqa: BLE001 - any decoder failure means a bad file
            raise CorpusError(f"{name}: not a readable image ({str(e)[:100]}); remove or "
                              "replace the file") from None
    if huge:
        name, pixels = max(huge, key=lambda h: h[1])
        log.warning("%d image(s) are larger than Pillow's safety size (%s: %.0f megapixels); "
                    "each is decoded whole before it is scaled down, which takes time and "
                    "memory", len(huge), name, pixels / 1e6)
    return _LazyImages(sources, "L" if grey else "RGB", image_folder_size(sizes),
                       names)


def read_image_folder(root: Path) -> Corpus:
    """A folder of image files, one sub-folder per label (``train``/``test`` sub-folders,
    when present, define the split). Images are decoded lazily at a common size."""
    paths, ids, labels, splits = walk_labelled_folder(
        root, lambda p: p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise CorpusError(f"no image files in {root}: expected PNG/JPEG files, one sub-folder "
                          "per label")
    items = images_from_sources(paths, [str(p) for p in paths])
    return Corpus(IMAGE, ids, items, labels, splits, list(ids), str(root),
                  {"shape": items.shape[1:]})


# --- .npz --------------------------------------------------------------------------------

_TEST_KEY = re.compile(r"test", re.I)


def _npz_label_key(key: str, keys: list[str], n_images: int) -> list[str]:
    """Names a label array of image array ``key`` may have: ``y_train`` beside ``x_train``,
    ``train_labels`` beside ``train_images``; ``y``/``labels`` when there is one image array."""
    cands = []
    if key[:1] in "xX":
        cands += ["y" + key[1:], "Y" + key[1:]]
    for a, b in (("images", "labels"), ("image", "label"), ("imgs", "labels"),
                 ("data", "labels"), ("data", "targets"), ("features", "labels"),
                 ("embeddings", "labels"), ("vectors", "labels")):
        if a in key:
            cands.append(key.replace(a, b))
    if n_images == 1:
        cands += ["y", "Y", "labels", "label", "targets", "target"]
    return [c for c in cands if c in keys and c != key]


def read_npz(path: Path) -> Corpus:
    """Arrays saved with ``numpy.savez``: image arrays of shape (n, h, w), (n, h, w, c) or
    (n, c, h, w) and
    their label arrays, as Keras ships its datasets (``x_train``, ``y_train``, ``x_test``,
    ``y_test``) or as ``images`` / ``labels``; without image arrays, 2-D vector arrays
    (``embeddings`` / ``labels``, see :func:`hashret.data.vectors.npz_vector_arrays`). An image array whose name holds ``test`` is the
    test split; the others are training images. The arrays are read into memory (a ``.npz``
    is a zip archive: save a large corpus as ``.npy`` to have it memory-mapped)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - zip and numpy header errors come in many kinds
        raise CorpusError(f"{path}: not a readable .npz archive ({str(e)[:100]}); save it "
                          "with numpy.savez") from None
    keys = list(arrays)
    images = [k for k in keys if arrays[k].ndim in (3, 4) and arrays[k].dtype.kind in "uif"]
    if not images:
        vectors = npz_vector_arrays(arrays)
        if vectors:
            def label_of(k, n):
                return next((arrays[c] for c in _npz_label_key(k, keys, len(vectors))
                             if c in arrays and len(arrays[c]) == n), None)
            return read_vector_npz(path, arrays, vectors, label_of)
        raise CorpusError(f"{path}: no image array of shape (n, h, w), (n, h, w, c) or "
                          f"(n, c, h, w) and no vectors of shape (n, d) among "
                          f"{[(k, arrays[k].shape) for k in keys]}")
    images.sort(key=lambda k: (bool(_TEST_KEY.search(k)), keys.index(k)))
    parts, labels, splits, titles = [], [], [], []
    for k in images:
        arr = as_channels_last(arrays[k], f"{path}: {k!r}")
        n = arr.shape[0]
        lab = next((arrays[c] for c in _npz_label_key(k, keys, len(images))
                    if len(arrays[c]) == n), None)
        if lab is None:
            labels += [[] for _ in range(n)]
        else:
            labels += [[str(v.item())] for v in np.asarray(lab).reshape(n, -1)[:, 0]]
        splits += ["test" if _TEST_KEY.search(k) else "train"] * n
        titles += [f"{k}[{i}]" for i in range(n)]
        parts.append((k, arr))
    return image_arrays_corpus(path, parts, labels, splits, titles)


def read_image_input(path: Path):
    """An image file, a folder of image files, a ``.npy`` array or an IDX file as read for a
    tool that writes one output per input: ``(kind, names, images, source dtype)``, the
    images (n, h, w[, c]) as stored (a list for files, an array otherwise)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CorpusError(f"{path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return "folder", [p.name for p in files], [load_image(p) for p in files], None
    if not path.is_file():
        raise MissingCorpusError(f"input {path} does not exist")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "image", [path.name], [load_image(path)], None
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise CorpusError(f"{path}: not a readable .npy array ({str(e)[:80]})") from None
    else:
        arr = np.asarray(read_idx(path))
    if arr.ndim not in (3, 4) or len(arr) == 0:
        raise CorpusError(f"{path}: expected an array of images (n, h, w[, c]), got shape "
                          f"{arr.shape}")
    kind = "npy" if path.suffix == ".npy" else "idx"
    return kind, [str(i) for i in range(len(arr))], arr, arr.dtype
