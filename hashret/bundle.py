"""The on-disk bundle: one folder per index.

::

    manifest.json       format version, bits, bit order, model, counts, checksums, versions
    config.json         model configuration       featurizer.json   vocabulary / image shape
    model.safetensors   weights (tensors only)    index.faiss       the binary code index
                        (a sharded index: index-00000.faiss, index-00001.faiss, ...)
    items.parquet       row, id, code, labels, split, title (faiss ids are the row numbers)
    embeddings.npy      float32 pre-binarisation codes, for exports with embeddings
    sentence_vectors.npy  (documents read through a sentence encoder) their float16 vectors

A bundle is written whole into a temporary folder beside its destination and swapped into
place, so a failed or killed build never leaves a broken index or damages an existing one.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .errors import BundleError, MissingBundleError, UsageError, plain_reason
from .data.features import featurizer_from_dict
from .fileio import file_sha256, files_sha256, fsync_path, recover_dir, replace_dir, temp_sibling
from .search.health import code_health
from .search.index import BinaryCodeIndex
from .search.shards import ShardedIndex
from .items import BIT_ORDER, ItemColumns, codes_from_column, id_type, items_table
from .models.config import WEIGHTS_FILE, read_model_json

if TYPE_CHECKING:
    from .models.hash_model import HashModel

_LAZY_LOCK = threading.Lock()

FORMAT = "hashret-bundle"
FORMAT_VERSION = 1
MANIFEST, INDEX_FILE, ITEMS_FILE, EMBEDDINGS_FILE = "manifest.json", "index.faiss", \
    "items.parquet", "embeddings.npy"
SENTENCE_VECTORS_FILE = "sentence_vectors.npy"
# faiss trusts the sizes written inside an index file (a damaged count can make it try to
# allocate terabytes), so that file's checksum is verified on every load: a hash of 8 bytes
# per item costs little beside reading it. Other files are parsed by strict readers.
ALWAYS_HASHED = {INDEX_FILE}


def shard_file(i: int) -> str:
    """The file of shard ``i`` of a sharded index."""
    return f"index-{i:05d}.faiss"


def always_hashed(name: str) -> bool:
    """Whether a bundle file is hashed on every open: the index file, or a shard's."""
    return name in ALWAYS_HASHED or (name.startswith("index-") and name.endswith(".faiss"))


def library_versions() -> dict:
    import faiss
    import pyarrow
    import torch
    return {"hashret": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "faiss": faiss.__version__, "numpy": np.__version__,
            "pyarrow": pyarrow.__version__}


def manifest_checksum(manifest: dict) -> str:
    """SHA-256 of the manifest's content without its ``checksum`` field (canonical JSON)."""
    import hashlib
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def seal_manifest(manifest: dict) -> dict:
    """Store the manifest's own checksum in it, so a change to it is detected too."""
    manifest["checksum"] = manifest_checksum(manifest)
    return manifest


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


class Bundle:
    """A loaded index folder: manifest, model, faiss index and item table."""

    def __init__(self, path: Path, manifest: dict, index: BinaryCodeIndex | ShardedIndex,
                 items, featurizer, manifest_bytes: bytes | None = None,
                 config: dict | None = None):
        self.path, self.manifest, self.index, self.items = Path(path), manifest, index, items
        self.featurizer = featurizer      # how an item becomes the model's input
        self.config = config or {}        # the model's config.json, as read on opening
        # the model (and torch) loads on first use: a query by id, an export or the
        # neighbour graph reads only the codes. manifest_bytes, the manifest as read when
        # the bundle was opened, tells that load whether the folder still holds the bundle
        self._model, self._manifest_bytes = None, manifest_bytes
        self._numpy_encoder = None
        self._codes = None
        self._row_of = None
        self.verified = False             # every file hashed when it was opened

    def _load_late(self, load):
        """``load()`` of a part read after the bundle was opened, checked to come from the
        bundle that was opened (a build may have replaced the folder since)."""
        try:
            part, error = load(), None
        except BundleError as e:
            part, error = None, e
        if _read_bytes(self.path / MANIFEST) != self._manifest_bytes:
            raise BundleError(f"index {self.path} was replaced after it was opened "
                              "without its model; open it again")
        if error is not None:
            raise error
        return part

    @property
    def model(self) -> HashModel:
        if self._model is None:
            from .models.hash_model import HashModel
            self._model = self._load_late(lambda: HashModel.load(self.path, self.featurizer))
        return self._model

    @property
    def model_loaded(self) -> bool:
        """Whether the network (and torch) has been loaded."""
        return self._model is not None

    def numpy_encoder(self):
        """The model's encoder run in numpy (:mod:`hashret.models.numpy_encoder`), which a
        query by example uses when the network has not been loaded; None for a model whose
        network it does not run."""
        if self._numpy_encoder is None:
            from .models.numpy_encoder import load_numpy_encoder
            self._numpy_encoder = self._load_late(
                lambda: load_numpy_encoder(self.config, self.path / WEIGHTS_FILE)) or False
        return self._numpy_encoder or None

    @property
    def model_kind(self) -> str:
        return self.manifest["model"]["kind"]

    @property
    def modality(self) -> str:
        return self.manifest["model"]["modality"]

    @property
    def bits(self) -> int:
        return int(self.manifest["n_bits"])

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = codes_from_column(self.items.column("code"))
        return self._codes

    def row_of(self, item_id) -> int:
        """The row (faiss id) of an item id; ids given as text match int ids too."""
        if self._row_of is None:
            with _LAZY_LOCK:           # built once, not by every thread that asks first
                if self._row_of is None:
                    self._row_of = {str(v): r for r, v in
                                    enumerate(self.items.column("id").to_pylist())}
        row = self._row_of.get(str(item_id))
        if row is None:
            raise UsageError(f"id {item_id!r} is not in the index {self.path}; an export of "
                             "the index lists its ids", option="item_id")
        return row

    def summary(self, verified: bool | None = None):
        """What this index is, as plain values (:class:`hashret.summary.IndexSummary`):
        what ``hashret info`` and a build's report show."""
        from .summary import summarize
        return summarize(self, verified)

    def sentence_vectors(self) -> np.ndarray | None:
        """The items' sentence vectors (float16) of an index whose documents were read
        through a sentence encoder, so ``eval`` need not run it again; else None."""
        if SENTENCE_VECTORS_FILE not in self.manifest.get("files", {}):
            return None
        return self.embeddings(SENTENCE_VECTORS_FILE)

    @property
    def keeps_embeddings(self) -> bool:
        """Whether the bundle holds its items' embeddings (a Spark build keeps none)."""
        return EMBEDDINGS_FILE in self.manifest.get("files", {EMBEDDINGS_FILE: 0})

    def embeddings(self, name: str = EMBEDDINGS_FILE) -> np.ndarray:
        path = self.path / name
        if name == EMBEDDINGS_FILE and not self.keeps_embeddings:
            raise UsageError(f"the index {self.path} keeps no embeddings (it was built on "
                             "Spark): export its codes without them")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise BundleError(f"{path} is missing or damaged ({str(e)[:80]}); rebuild the "
                              "index") from None

    # --- loading -------------------------------------------------------------------------
    @staticmethod
    def read_manifest(path) -> dict:
        path = Path(path)
        if not path.exists():
            raise MissingBundleError(f"no index at {path}; check the path, or build one there "
                                     "first")
        if not path.is_dir():
            raise BundleError(f"{path} is a file, not an index folder")
        mpath = path / MANIFEST
        if not mpath.exists():
            raise BundleError(f"{path} is not a hashret index (no {MANIFEST}); build one "
                              "there first")
        try:
            manifest = json.loads(mpath.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BundleError(f"{mpath} is damaged: {plain_reason(e)}; rebuild the index") \
                from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleError(f"{mpath} is not a hashret manifest; rebuild the index")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            by = manifest.get("versions", {}).get("hashret", "a newer release")
            raise BundleError(f"{path} uses bundle format {version}, newer than this hashret "
                              f"({__version__}) reads (format {FORMAT_VERSION}); upgrade to "
                              f"hashret {by} or rebuild the index")
        return manifest

    @staticmethod
    def verify_files(path, manifest: dict, hashes: bool = False) -> list[str]:
        """Problems with the bundle's files: missing, wrong size, or a checksum mismatch
        (every file with ``hashes``, else only the index files, :func:`always_hashed`). An
        empty list means the files are as written. Files are hashed in parallel, a megabyte
        at a time."""
        problems = []
        if hashes and manifest.get("checksum") != manifest_checksum(manifest):
            problems.append(f"{MANIFEST} does not match its own checksum")
        to_hash = []
        for name, info in manifest.get("files", {}).items():
            f = Path(path) / name
            if not f.exists():
                problems.append(f"{name} is missing")
            elif f.stat().st_size != info["size"]:
                problems.append(f"{name} has {f.stat().st_size} bytes where the manifest says "
                                f"{info['size']}")
            elif hashes or always_hashed(name):
                to_hash.append((name, f, info["sha256"]))
        for (name, _, want), got in zip(to_hash, files_sha256([f for _, f, _ in to_hash])):
            if got != want:
                problems.append(f"{name} does not match its SHA-256 checksum (the file changed "
                                "after the index was written)")
        return problems

    @staticmethod
    def verifies_on_open(manifest: dict) -> bool:
        """Whether opening this bundle hashes every file (the default; a bundle built with
        ``verify_on_open=False``, for a huge memory-mapped index, hashes only the index
        file and checks the others' sizes)."""
        return manifest.get("verify_on_open", True) is not False

    @classmethod
    def load(cls, path, verify: bool | None = None, mmap: bool = False,
             gpu: bool = False, with_model: bool = True) -> "Bundle":
        """Open a bundle. Every file is checked against the manifest's size and SHA-256
        checksum, once, before anything is read from it, so nothing is ever answered from
        a damaged index; ``verify=False`` checks sizes and the index file only, ``True``
        hashes every file even of a bundle built with ``verify_on_open=False``, and None
        (the default) does what the bundle was built to. ``gpu`` runs a flat index's k-NN
        scan on a CUDA GPU.

        If a build replaces the bundle while it is being read (the manifest changed between
        the start and the end of loading), loading starts again, so the caller gets the old
        bundle or the new one, whole. ``with_model=False`` leaves the network (and torch)
        unloaded until :attr:`model` is first used, for work that needs only the codes (a
        query by id, an export); should a build replace the folder before then, that use
        is refused rather than given another bundle's model."""
        path = Path(path)
        for _ in range(5):
            before = _read_bytes(path / MANIFEST)
            try:
                bundle, error = cls._load_once(path, verify, mmap, gpu, with_model,
                                               before), None
            except BundleError as e:
                bundle, error = None, e
            if _read_bytes(path / MANIFEST) == before:
                if error is not None:
                    raise error
                return bundle
        raise BundleError(f"index {path} kept changing while it was being read; try again "
                          "when the build writing it has finished")

    @classmethod
    def _load_once(cls, path: Path, verify: bool | None, mmap: bool, gpu: bool,
                   with_model: bool, manifest_bytes: bytes | None) -> "Bundle":
        try:
            bundle = cls._load_parts(path, verify, mmap, gpu, manifest_bytes)
            if with_model:
                bundle.model
            return bundle
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BundleError(f"{path / MANIFEST} is incomplete or damaged ({type(e).__name__}"
                              f": {str(e)[:60]}); rebuild the index") from None

    @classmethod
    def _load_parts(cls, path: Path, verify: bool | None, mmap: bool, gpu: bool,
                    manifest_bytes: bytes | None) -> "Bundle":
        import pyarrow as pa
        import pyarrow.parquet as pq
        manifest = cls.read_manifest(path)
        hashes = cls.verifies_on_open(manifest) if verify is None else verify
        problems = cls.verify_files(path, manifest, hashes=hashes)
        if problems:
            raise BundleError(f"index {path} is damaged: {problems[0]}; rebuild the index")
        config, features = read_model_json(path)
        try:
            featurizer = featurizer_from_dict(features)
        except Exception as e:  # noqa: BLE001 - any field of the wrong kind
            raise BundleError(f"{path}: featurizer.json not understood ({type(e).__name__}: "
                              f"{str(e)[:80]}); rebuild the index") from None
        shards = manifest["index"].get("shards_files")
        if shards:
            index = ShardedIndex([BinaryCodeIndex.load(path / f, mmap=mmap, gpu=gpu)
                                  for f in shards])
        else:
            index = BinaryCodeIndex.load(path / INDEX_FILE, mmap=mmap, gpu=gpu)
        try:
            items = pq.read_table(path / ITEMS_FILE)
            missing = {"id", "code", "labels", "split", "title"} - set(items.column_names)
            if missing or not pa.types.is_fixed_size_binary(items.schema.field("code").type):
                raise ValueError(f"columns {sorted(missing) or 'code'} missing or mistyped")
        except Exception as e:  # noqa: BLE001 - Arrow raises many kinds on bad bytes
            raise BundleError(f"{path / ITEMS_FILE} is damaged ({str(e)[:80]}); rebuild the "
                              "index") from None
        if index.bits != manifest["n_bits"] or config.get("bits") != manifest["n_bits"]:
            raise BundleError(f"{path}: the index, model and manifest disagree on the code "
                              "length; rebuild the index")
        if len(items) != index.ntotal:
            raise BundleError(f"{path}: {len(items)} items but the index holds "
                              f"{index.ntotal}; rebuild the index")
        if not isinstance(manifest.get("model"), dict) or \
                config.get("kind") != manifest["model"].get("kind") or \
                config.get("modality") != manifest["model"].get("modality"):
            raise BundleError(f"{path}: the model and the manifest disagree on the kind of "
                              "model; rebuild the index")
        # load() has checked that the manifest read was manifest_bytes throughout
        bundle = cls(path, manifest, index, items, featurizer, manifest_bytes, config)
        bundle.verified = hashes
        return bundle

    # --- writing -------------------------------------------------------------------------
    @staticmethod
    def check_destination(out) -> Path:
        """Refuse an ``out`` that is an existing file, a folder holding other things, or
        a path below a file."""
        out = Path(out)
        recover_dir(out)
        if out.exists():
            if not out.is_dir():
                raise UsageError(f"{{out:{out}}} is an existing file; give a folder name",
                                 option="out")
            if any(out.iterdir()) and not (out / MANIFEST).exists():
                raise UsageError(f"{{out:{out}}} is a folder that is not a hashret index; give a "
                                 "new or empty folder, or an existing index to replace",
                                 option="out")
        # missing folders above it are made when the index is written (after training);
        # a file in their place cannot become one
        above = next((a for a in out.parents if a.exists()), None)
        if above is not None and not above.is_dir():
            raise UsageError(f"{{out:{out}}}: {above} is a file, not a folder; give another "
                             "path", option="out")
        return out

    @classmethod
    def write(cls, out, model: HashModel, codes: np.ndarray, embeddings: np.ndarray,
              items: ItemColumns, index: BinaryCodeIndex, corpus: dict,
              extra: dict | None = None, verify_on_open: bool = True,
              sentence_vectors: np.ndarray | None = None) -> Path:
        """Write a complete bundle of ``items`` to ``out`` (atomically replacing it);
        ``corpus`` says where they were read (:func:`corpus_record`). ``verify_on_open``
        False records that opening it hashes only the index file (a huge memory-mapped
        index; ``hashret check`` still hashes every file). ``sentence_vectors``: the items'
        sentence-encoder vectors, kept as float16 (:meth:`sentence_vectors`)."""
        import pyarrow.parquet as pq
        out = cls.check_destination(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_sibling(out)
        try:
            tmp.mkdir()
            model.save(tmp)
            sharded = isinstance(index, ShardedIndex)
            index_files = [shard_file(i) for i in range(len(index.shards))] if sharded \
                else [INDEX_FILE]
            for name, part in zip(index_files, index.shards if sharded else [index]):
                part.save(tmp / name)
            model_hash = file_sha256(tmp / WEIGHTS_FILE)
            table = items_table(items.ids, codes, items.labels, items.splits, items.titles,
                                metadata={"model_hash": model_hash,
                                          "format_version": FORMAT_VERSION})
            pq.write_table(table, tmp / ITEMS_FILE)
            if embeddings is not None:       # a Spark build keeps none
                np.save(tmp / EMBEDDINGS_FILE, np.ascontiguousarray(embeddings, np.float32))
            if sentence_vectors is not None:
                np.save(tmp / SENTENCE_VECTORS_FILE,
                        np.ascontiguousarray(sentence_vectors, np.float16))
            splits = np.asarray(items.splits)
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "n_bits": model.config.bits, "bit_order": BIT_ORDER,
                "model": {"kind": model.config.kind, "modality": model.modality,
                          "hash": model_hash, "bits_from": model.bits_from(),
                          "options": model.options()},
                "index": {**index.describe(), "file": index_files[0],
                          **({"shards_files": index_files} if sharded else {}),
                          "requested": getattr(index, "requested_kind", index.kind),
                          "bytes_per_item": round(
                              sum((tmp / f).stat().st_size for f in index_files)
                              / max(len(items), 1), 2)},
                "counts": {"items": len(items), "train": int((splits == "train").sum()),
                           "test": int((splits == "test").sum()),
                           "labelled": int(sum(1 for ls in items.labels if ls))},
                "id_type": id_type(items.ids),
                "corpus": corpus,
                "versions": library_versions(),
                "health": code_health(codes),
                "verify_on_open": bool(verify_on_open),
            }
            manifest.update(extra or {})
            written = sorted(tmp.iterdir())
            for f in written:
                fsync_path(f)
            # the weights were hashed for the model hash; the other files are hashed here
            others = [f for f in written if f.name != WEIGHTS_FILE]
            digests = dict(zip(others, files_sha256(others)))
            digests[tmp / WEIGHTS_FILE] = model_hash
            manifest["files"] = {f.name: {"size": f.stat().st_size, "sha256": digests[f]}
                                 for f in written}
            seal_manifest(manifest)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            fsync_path(tmp / MANIFEST)
            replace_dir(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return out
