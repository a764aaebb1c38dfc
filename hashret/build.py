"""Building an index: fit a model on a corpus, encode every item, write the bundle; and
adding the items of another corpus to a built index, or removing items from it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from . import defaults
from .bundle import Bundle
from .items import ItemColumns, corpus_record, id_type
from .data import as_corpus
from .data.corpus import Corpus
from .data.sentences import SentenceFeaturizer
from .errors import CorpusError, UsageError
from .search.health import health_warnings
from .search.index import BinaryCodeIndex, check_index_kind
from .search.shards import ShardedIndex, build_in_shards, build_like
from .models import HashModel, check_bits

log = logging.getLogger("hashret")


def build_index(corpus, out, bits: int = 64, model: str = "deep", epochs=None,
                device: str = "auto", seed: int = 0, index_kind: str = "flat",
                index_params: dict | None = None, model_options: dict | None = None,
                progress: bool = True, verify_on_open: bool = True,
                features: str | None = None, text_encoder: str | None = None,
                shards: int = 1) -> Bundle:
    """Train a ``model`` on the corpus' training split, index every item (both splits) and
    write the bundle to ``out``. Nothing at ``out`` changes unless the build succeeds.
    ``corpus`` may also be a list of texts or an image array (:func:`hashret.data.as_corpus`).
    ``verify_on_open=False`` records that opening the index checks files' sizes and the
    index file only (see :meth:`Bundle.load`), for indexes too large to hash on every open.
    Codes that collapsed onto few values are warned of (:func:`hashret.search.health`).
    ``features`` (documents): ``tfidf`` (the default), ``minilm`` (a sentence encoder's
    vectors) or ``tfidf+minilm`` (TF-IDF, neighbours found with the encoder too; see
    :mod:`hashret.data.sentences`); ``text_encoder``: a local sentence-transformers model
    folder in place of the packaged MiniLM. ``shards`` > 1 splits the index into that many
    shards of contiguous rows (:class:`~hashret.search.shards.ShardedIndex`), searched in
    turn and answering as one index."""
    corpus = as_corpus(corpus)
    check_build(out, bits, model, model_options, index_kind, index_params, features)
    start = time.perf_counter()
    hm = HashModel(kind=model, bits=bits, epochs=epochs, seed=seed,
                   options=dict(model_options or {}), features=features,
                   text_encoder=None if text_encoder is None else
                   str(Path(text_encoder).resolve()))
    hm.fit(corpus, device=device, progress=progress)
    fit_seconds = time.perf_counter() - start
    t = time.perf_counter()
    codes, emb = hm.encode_corpus(corpus, progress=progress)
    encode_seconds = time.perf_counter() - t
    _warn_empty(hm)
    t = time.perf_counter()
    index = build_in_shards(codes, index_kind, shards, **(index_params or {}))
    index.warm_up()
    index_seconds = time.perf_counter() - t
    build = {"train": hm.report.to_dict(), "fit_seconds": round(fit_seconds, 2),
             "encode_seconds": round(encode_seconds, 2),
             "items_per_second_encode": round(len(corpus) / max(encode_seconds, 1e-9), 1),
             "index_seconds": round(index_seconds, 2), "seed": seed}
    if hm.has_classifier:
        test = np.flatnonzero(np.asarray(corpus.splits) == "test")
        rows = test if len(test) else corpus.training_indices()
        acc = hm.classifier_accuracy([corpus.labels[r] for r in rows], codes[rows])
        build["classifier_accuracy"] = None if acc is None else round(acc, 4)
        build["classifier_accuracy_on"] = "test split" if len(test) else "training split"
        build["labelled_training_items"] = hm.config.learned.labelled_items
    Bundle.write(out, hm, codes, emb, ItemColumns.of(corpus), index, corpus_record(corpus),
                 extra={"build": build}, verify_on_open=verify_on_open,
                 sentence_vectors=sentence_vectors(hm, corpus))
    bundle = Bundle.load(out)
    warn_health(bundle.manifest["health"])
    return bundle


def sentence_vectors(model: HashModel, corpus: Corpus) -> np.ndarray | None:
    """The sentence vectors of ``corpus``'s documents when ``model`` reads documents
    through a sentence encoder (just computed to encode them: read from its memo), else
    None."""
    if not isinstance(model.featurizer, SentenceFeaturizer):
        return None
    return np.concatenate([model.featurizer.embed(items)
                           for _, items in corpus.batches(defaults.ENCODE_BATCH_SIZE)])


def warn_health(health: dict) -> None:
    """Log each of :func:`hashret.search.health.health_warnings`."""
    for w in health_warnings(health):
        log.warning("%s", w)


def check_build(out, bits: int = 64, model: str = "deep", model_options: dict | None = None,
                index_kind: str = "flat", index_params: dict | None = None,
                features: str | None = None) -> None:
    """Refuse a build's bad settings (code length, model kind and options, features, index
    kind and parameters, destination) before any corpus is read or model trained."""
    check_bits(bits)
    HashModel(kind=model, bits=bits, options=dict(model_options or {}), features=features)
    check_index_kind(index_kind, index_params)
    Bundle.check_destination(out)


def _warn_empty(model: HashModel) -> None:
    if model.empty_items:
        log.warning("%d document(s) hold no word of the vocabulary (empty or only stop "
                    "words); they all get the same code", model.empty_items)


def add_to_index(path, corpus: Corpus, progress: bool = True) -> Bundle:
    """Encode ``corpus`` with the model of the index at ``path`` and add its items to the
    index. The model is not trained again, so the items already indexed keep their codes;
    a corpus unlike the one the model learnt from is coded less well (rebuild then).

    Ids must be new to the index. Items a reader numbered by row (a table without
    ``id_column`` or an ``id`` column, an array, IDX or CIFAR file) are numbered on from
    the index's largest integer id. Nothing at ``path`` changes unless the whole update succeeds."""
    bundle = Bundle.load(path, verify=True)
    model = bundle.model
    model.check_modality(corpus.modality)
    ids, first_id = new_item_ids(bundle, corpus)
    t = time.perf_counter()
    codes, emb = model.encode_corpus(corpus, progress=progress)
    encode_seconds = time.perf_counter() - t
    _warn_empty(model)
    index = bundle.index
    index.requested_kind = bundle.manifest["index"].get("requested", index.kind)
    index.add(codes)                        # faiss ids are row numbers: they continue
    items = ItemColumns.of_table(bundle.items) + ItemColumns(
        ids, list(corpus.labels), list(corpus.splits), list(corpus.titles))
    change = {"add": {**corpus_record(corpus), "items": len(corpus), "first_id": first_id,
                      "encode_seconds": round(encode_seconds, 2)}}
    kept = bundle.sentence_vectors()
    vectors = None if kept is None else np.concatenate([kept, sentence_vectors(model, corpus)])
    _rewrite(bundle, np.concatenate([bundle.codes, codes]),
             np.concatenate([bundle.embeddings(), emb]) if bundle.keeps_embeddings else None,
             items, index, change, vectors)
    bundle = Bundle.load(path)
    warn_health(bundle.manifest["health"])
    return bundle


def add_corpus(path, corpus_path, columns: dict | None = None,
               progress: bool = True) -> tuple[Bundle, list]:
    """:func:`add_to_index` of the corpus at ``corpus_path`` (read as
    :func:`hashret.data.read_corpus` reads it, with its table ``columns``, after the index
    at ``path`` is found to be one); returns the updated bundle and the ids the new items
    were given."""
    from .data import read_corpus
    Bundle.read_manifest(path)          # a wrong index is said before the corpus is read
    corpus = read_corpus(corpus_path, **(columns or {}))
    bundle = add_to_index(path, corpus, progress=progress)
    return bundle, bundle.items.column("id").to_pylist()[-len(corpus):]


def remove_from_index(path, ids) -> Bundle:
    """Remove the items with the given ids from the index at ``path``; the model and the
    other items' codes do not change. Every id must be in the index: if one is not,
    nothing is removed."""
    bundle = Bundle.load(path, verify=True)
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if not wanted:
        raise UsageError("give the id of at least one item to remove")
    by_id = {str(v): r for r, v in enumerate(bundle.items.column("id").to_pylist())}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise UsageError(f"{len(missing)} id(s) are not in the index {bundle.path} ({shown}); "
                         "nothing was removed")
    keep = np.setdiff1d(np.arange(len(bundle.items)), [by_id[i] for i in wanted])
    if not len(keep):
        raise UsageError(f"that would remove every item of {bundle.path}; build a new index "
                         "instead")
    cols = ItemColumns.of_table(bundle.items)
    items = ItemColumns(*([getattr(cols, f)[r] for r in keep]
                          for f in ("ids", "labels", "splits", "titles")))
    codes = bundle.codes[keep]
    # faiss ids are row numbers, so the index is built again over the rows that remain
    index = build_like(bundle.index, codes)
    index.requested_kind = bundle.manifest["index"].get("requested", index.kind)
    kept = bundle.sentence_vectors()
    _rewrite(bundle, codes,
             np.asarray(bundle.embeddings())[keep] if bundle.keeps_embeddings else None,
             items, index,
             {"remove": wanted}, None if kept is None else np.asarray(kept)[keep])
    return Bundle.load(path)


def _rewrite(bundle: Bundle, codes, embeddings, items: ItemColumns,
             index: BinaryCodeIndex | ShardedIndex, change: dict,
             sentence_vectors=None) -> None:
    """Write ``bundle`` again with other items, recording the change in the manifest so
    ``eval`` and ``check`` can read its items again (see ``sources.reopen_corpus``)."""
    record = dict(bundle.manifest["corpus"])
    record["changes"] = list(record.get("changes", [])) + [change]
    Bundle.write(bundle.path, bundle.model, codes, embeddings, items, index, record,
                 extra={k: bundle.manifest[k] for k in ("build",) if k in bundle.manifest},
                 verify_on_open=Bundle.verifies_on_open(bundle.manifest),
                 sentence_vectors=sentence_vectors)


def new_item_ids(bundle: Bundle, corpus: Corpus) -> tuple[list, int | None]:
    """The ids ``corpus``'s items take in the index at ``bundle`` and, when they were
    renumbered after its largest integer id, the first of them (else None)."""
    old = bundle.items.column("id").to_pylist()
    ids = list(corpus.ids)
    first_id = None
    if bundle.manifest["id_type"] == "int64":
        numbered_by_row = not corpus.meta.get("reader", {}).get("id_column") and \
            ids == list(range(len(ids)))
        if numbered_by_row:
            first_id = max(old, default=-1) + 1
            ids = list(range(first_id, first_id + len(ids)))
        elif id_type(ids) != "int64":
            raise UsageError(f"the index {bundle.path} has integer ids but {corpus.source} "
                             f"has text ids ({ids[0]!r}, ...); give integer ids with "
                             "{id_column}, or rebuild the index from both corpora",
                             option="id_column")
    else:
        ids = [str(i) for i in ids]
    taken = set(map(str, old)).intersection(map(str, ids))
    if taken:
        shown = ", ".join(sorted(taken)[:5]) + (" ..." if len(taken) > 5 else "")
        raise CorpusError(f"{len(taken)} id(s) of {corpus.source} are already in the index "
                          f"{bundle.path} ({shown}); give the new items other ids "
                          "({id_column}), or leave out the ones already indexed")
    return ids, first_id
