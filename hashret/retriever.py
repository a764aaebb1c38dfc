""":class:`Retriever`: query a built index by example — a document, an image, a vector, a
file or the id of an item already indexed."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .bundle import Bundle
from .data.corpus import IMAGE, TEXT, VECTOR
from .data.images import IMAGE_SUFFIXES, load_image
from .data.text import read_text_file
from .data.vectors import read_query_vector
from .errors import UsageError
from .search.rerank import search_reranked

log = logging.getLogger("hashret")
# what an index holds, by modality, and the options that query it by example
HOLDS = {TEXT: "documents", IMAGE: "images", VECTOR: "vectors"}
QUERY_OPTIONS = {TEXT: ("text", "file"), IMAGE: ("image", "file"), VECTOR: ("vector", "file")}


@dataclass
class Hit:
    """One search result: the item's id, its Hamming distance to the query, labels, title;
    for a re-ranked query by example, the ``score`` it was ranked by (the query's code
    logits against the item's bits: higher is nearer), else None."""

    id: object
    distance: int
    labels: list
    title: str
    row: int
    score: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """What a user is shown: id, distance, labels, title, and the score when ranked by
        one (not the row, an internal position)."""
        out = {"id": self.id, "distance": self.distance, "labels": self.labels,
               "title": self.title}
        if self.score is not None:
            out["score"] = self.score
        return out


class Retriever:
    """A loaded bundle ready to answer queries.

    >>> r = Retriever.load("indexes/reuters")
    >>> r.query("opec cuts oil output", k=5)
    >>> r.query_id(42, k=5)                  # the item itself comes first, at distance 0
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self._ids = bundle.items.column("id").to_pylist()
        self._labels = bundle.items.column("labels").to_pylist()
        self._titles = bundle.items.column("title").to_pylist()

    @classmethod
    def load(cls, path, verify: bool | None = None, gpu: bool = False,
             with_model: bool = True) -> "Retriever":
        """Open the bundle at ``path``; ``gpu`` runs a flat index's k-NN scan on a CUDA
        GPU; ``with_model=False`` defers loading the network to the first query that
        encodes an example (:meth:`Bundle.load`)."""
        return cls(Bundle.load(path, verify=verify, gpu=gpu, with_model=with_model))

    @property
    def model(self):
        """The bundle's :class:`~hashret.models.HashModel`."""
        return self.bundle.model

    @property
    def modality(self) -> str:
        return self.bundle.modality

    # --- turning examples into codes ---------------------------------------------------
    def load_example(self, path):
        """Read a query file as the model's modality: text, a vector (a ``.npy`` of one
        row, a JSON list or numbers in a text file), or an image at the model's size
        (resized, with a warning, when it differs)."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"query file {path} does not exist", option="file")
        if self.modality == VECTOR:
            return read_query_vector(path)
        if self.modality == TEXT:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                raise UsageError(f"query file {path} is an image, but this index holds "
                                 "documents; query it with a text file, {text} or {item_id}",
                                 option="image")
            return read_text_file(path)
        feat = self.bundle.featurizer
        mode = "L" if feat.shape[2] == 1 else "RGB"
        img = load_image(path, mode)
        if img.shape[:2] != tuple(feat.shape[:2]):
            log.warning("query image %s is %dx%d; resized to the model's %dx%d", path.name,
                        img.shape[1], img.shape[0], feat.shape[1], feat.shape[0])
        return img

    def encode(self, examples) -> np.ndarray:
        """Packed codes for a list of examples (strings, (h, w[, c]) image arrays, or
        (d,) vectors)."""
        return self._encode(examples)[0]

    def _encode(self, examples):
        """``(codes, logits)`` of a list of examples (see :meth:`encode`)."""
        if self.modality == VECTOR:
            if any(isinstance(e, str) for e in examples):
                raise UsageError("this index holds vectors; query it with {vector} or "
                                 "{item_id}, not text", option="text")
            examples = np.stack([np.asarray(e, np.float32).reshape(-1) for e in examples]) \
                if len(examples) else np.zeros((0, self.bundle.featurizer.n_features),
                                               np.float32)
        elif self.modality == IMAGE:
            if any(isinstance(e, str) for e in examples):
                raise UsageError("this index holds images; query it with {image} or {item_id}, "
                                 "not text", option="text")
            examples = [self.bundle.featurizer.conform(e) for e in examples]
            examples = np.stack(examples) if examples else examples
        elif not all(isinstance(e, str) for e in examples):
            raise UsageError("this index holds documents; query it with {text}, {file} or "
                             "{item_id}", option="image")
        else:
            examples = list(examples)
        # the encoder runs in numpy until the network is loaded for something else: a
        # query then never waits for torch to import
        numpy_encoder = None if self.bundle.model_loaded else self.bundle.numpy_encoder()
        if numpy_encoder is not None:
            codes, logits, empty = numpy_encoder.encode(self.bundle.featurizer, examples)
        else:
            codes, logits = self.model.encode(examples)
            empty = self.model.empty_items if self.modality == TEXT else 0
        if empty:
            # a text with no vocabulary word is coded like an empty document: its
            # "neighbours" say nothing about it, so say so rather than return them silently
            log.warning("%d of %d query text(s) share no word with the index's vocabulary "
                        "of %s terms; their neighbours are those of an empty document",
                        empty, len(examples), f"{self.bundle.featurizer.n_features:,}")
        return codes, logits

    # --- searching ---------------------------------------------------------------------
    def _hits(self, dist, rows, scores=None) -> list[Hit]:
        scores = [None] * len(rows) if scores is None else [round(float(s), 3) for s in scores]
        return [Hit(self._ids[r], int(d), list(self._labels[r]), self._titles[r], int(r), s)
                for d, r, s in zip(dist, rows, scores) if r >= 0]

    def search_codes(self, codes: np.ndarray, k: int = 10) -> list[list[Hit]]:
        dist, rows = self.bundle.index.search(codes, k)
        return [self._hits(d, r) for d, r in zip(dist, rows)]

    def query(self, example, k: int = 10, rerank: bool = True) -> list[Hit]:
        """Nearest neighbours of one example: text, an image array or a file path. With
        ``rerank`` (the default) the nearest candidates by Hamming distance are ordered by
        the asymmetric distance of :mod:`hashret.search.rerank` (the example's code logits against
        the items' bits) before the first ``k`` are taken; each hit keeps its Hamming
        distance."""
        return self.query_many([example], k, rerank)[0]

    def query_many(self, examples, k: int = 10, rerank: bool = True) -> list[list[Hit]]:
        """:meth:`query` for many examples at once (a list of texts, a list of image arrays
        or an array of images), encoded and searched as one batch."""
        examples = [self.load_example(e) if isinstance(e, Path) else e for e in examples]
        if not len(examples):
            return []
        codes, logits = self._encode(examples)
        if not rerank:
            return self.search_codes(codes, k)
        dist, rows, scores = search_reranked(self.bundle.index, codes, logits, k,
                                             self.bundle.codes)
        return [self._hits(d, r, s) for d, r, s in zip(dist, rows, scores)]

    def query_id(self, item_id, k: int = 10) -> list[Hit]:
        """Nearest neighbours of an indexed item; the item itself comes first."""
        row = self.bundle.row_of(item_id)
        dist, rows = self.bundle.index.search(self.bundle.codes[row:row + 1], k + 1)
        dist, rows = dist[0], rows[0]
        keep = rows != row
        return self._hits(np.concatenate([[0], dist[keep]])[:k],
                          np.concatenate([[row], rows[keep]])[:k])

    def range(self, example_or_code, radius: int) -> list[Hit]:
        """Every item within ``radius`` bits of an example (or of a packed code)."""
        code = example_or_code if isinstance(example_or_code, np.ndarray) and \
            example_or_code.dtype == np.uint8 and example_or_code.ndim == 2 \
            else self.encode([example_or_code])
        (dist, rows), = self.bundle.index.range_search(code, radius)
        return self._hits(dist, rows)

    def range_id(self, item_id, radius: int) -> list[Hit]:
        """Every item within ``radius`` bits of an indexed item (the item included)."""
        row = self.bundle.row_of(item_id)
        return self.range(self.bundle.codes[row:row + 1], radius)

    def check_fits(self, option: str) -> None:
        """Refuse a query by ``option`` (``text``, ``file``, ``image`` or ``vector``) that
        the index's modality cannot answer, naming the options that can."""
        fits = QUERY_OPTIONS[self.modality]
        if option not in fits:
            raise UsageError(f"{{{option}}} does not fit the index at {self.bundle.path}, "
                             f"which holds {HOLDS[self.modality]}; query it with "
                             f"{', '.join('{' + o + '}' for o in fits)} or {{item_id}}",
                             option=option)

    def query_by(self, text=None, file=None, image=None, item_id=None, k: int = 10,
                 radius: int | None = None, rerank: bool = True, vector=None):
        """Answer one query given as exactly one of ``text``, a ``file`` (a document or an
        image), an ``image`` file, a ``vector`` (an array, or a file holding one) or an
        indexed ``item_id``: its ``k`` nearest items, or every item within ``radius``
        bits. A query by example is re-ranked unless ``rerank`` is false; by id or by
        radius it is in Hamming order. Returns ``(hits, example)``, the example as read
        (None for an id)."""
        given = [n for n, v in (("text", text), ("file", file), ("image", image),
                                ("vector", vector), ("item_id", item_id)) if v is not None]
        if len(given) != 1:
            raise UsageError("give exactly one of {text}, {file}, {image}, {vector} or "
                             "{item_id} (got "
                             f"{', '.join('{' + g + '}' for g in given) or 'none'})")
        if item_id is not None:
            hits = self.query_id(item_id, k) if radius is None else \
                self.range_id(item_id, radius)
            return hits, None
        self.check_fits(given[0])
        if vector is not None:
            example = read_query_vector(vector) if isinstance(vector, (str, Path)) else \
                np.asarray(vector, np.float32)
        else:
            example = text if text is not None else self.load_example(file or image)
        hits = self.range(example, radius) if radius is not None else \
            self.query(example, k, rerank=rerank)
        return hits, example
