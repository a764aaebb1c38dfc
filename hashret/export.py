"""Codes (and embeddings) as Parquet features for downstream models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .bundle import Bundle
from .items import id_type, items_table
from .errors import UsageError
from .fileio import atomic_file
from .progress import progress_bar
from .search.rerank import search_reranked

if TYPE_CHECKING:
    from .models import HashModel


# names that promise another format than the Parquet that export, encode and neighbours write
NOT_PARQUET_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".txt", ".npy", ".npz", ".arrow",
                        ".feather")


def parquet_path(out) -> Path:
    """``out`` as a Path, refused when its suffix names another format: a file called
    ``codes.csv`` that holds Parquet would mislead every program that opens it."""
    out = Path(out)
    if out.suffix.lower() in NOT_PARQUET_SUFFIXES:
        raise UsageError(f"{out} names a {out.suffix} file, but hashret writes Parquet; give a "
                         f"name ending in .parquet ({out.with_suffix('.parquet').name})")
    return out


def write_parquet(table, out) -> Path:
    import pyarrow.parquet as pq
    out = parquet_path(out)
    with atomic_file(out) as tmp:
        pq.write_table(table, tmp)
    return out


def _metadata(bundle: Bundle) -> dict:
    return {"model_hash": bundle.manifest["model"]["hash"],
            "model_kind": bundle.manifest["model"]["kind"],
            "format_version": bundle.manifest["format_version"]}


def with_predictions(table, model: HashModel, codes: np.ndarray):
    """Add ``predicted_labels`` (list<string>) from the model's classifier head, if any."""
    import pyarrow as pa
    if not model.has_classifier:
        return table
    return table.append_column("predicted_labels",
                               pa.array(model.predict_labels(codes), pa.list_(pa.string())))


def export_bundle(bundle: Bundle, out, with_embeddings: bool = False) -> Path:
    """One row per indexed item: id, code, labels, split, title (+ embedding; +
    predicted_labels for models with a classifier)."""
    t = bundle.items
    emb = np.asarray(bundle.embeddings()) if with_embeddings else None
    table = items_table(t.column("id").to_pylist(), bundle.codes,
                        t.column("labels").to_pylist(), t.column("split").to_pylist(),
                        t.column("title").to_pylist(), emb, _metadata(bundle))
    if bundle.model_kind == "semi":       # only a model with a classifier predicts labels
        table = with_predictions(table, bundle.model, bundle.codes)
    return write_parquet(table, out)


ROW_GROUP_ROWS = 65_536   # rows per Parquet row group when encoding batch by batch


def encode_corpus_to_parquet(bundle: Bundle, corpus, out, with_embeddings: bool = False,
                             progress: bool = True) -> Path:
    """Encode another corpus with the bundle's model (the index is not changed), batch by
    batch, writing a Parquet row group every ``ROW_GROUP_ROWS`` items.

    Memory stays bounded by the batch and row-group sizes, not the corpus: the codes (and
    embeddings) of the current row group go into buffers allocated once, and its table is
    built only when it is written. (Keeping anything small alive from one batch to the next,
    a table per batch or the writer's metadata of a row group per batch, pins holes between
    the batch-sized buffers of encoding in the C heap, which then grows with the corpus:
    docs/RELIABILITY.md, "Memory while encoding".)"""
    import pyarrow.parquet as pq
    model: HashModel = bundle.model
    out = parquet_path(out)
    id_kind = id_type(corpus.ids)       # once: the same for every row group
    size = min(ROW_GROUP_ROWS, max(1, len(corpus)))
    rows_buf = np.empty(size, np.int64)
    codes_buf = np.empty((size, model.config.bits // 8), np.uint8)
    emb_buf = np.empty((size, model.config.bits), np.float32) if with_embeddings else None
    with atomic_file(out) as tmp:
        writer = None
        held = 0

        def flush():
            nonlocal writer, held
            rows = rows_buf[:held].tolist()
            table = items_table([corpus.ids[r] for r in rows], codes_buf[:held],
                                [corpus.labels[r] for r in rows],
                                [corpus.splits[r] for r in rows],
                                [corpus.titles[r] for r in rows],
                                None if emb_buf is None else emb_buf[:held],
                                _metadata(bundle), id_kind=id_kind)
            table = with_predictions(table, model, codes_buf[:held])
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=size)
            held = 0

        try:
            for rows, codes, emb in model.iter_encode(corpus, progress=progress):
                for a in range(0, len(rows), size):       # a batch larger than a group
                    part = slice(a, min(len(rows), a + size))
                    n = part.stop - part.start
                    if held + n > size:
                        flush()
                    rows_buf[held:held + n] = rows[part]
                    codes_buf[held:held + n] = codes[part]
                    if emb_buf is not None:
                        emb_buf[held:held + n] = emb[part]
                    held += n
            if held or writer is None:
                flush()
        finally:
            if writer is not None:
                writer.close()
    return out


SEARCH_BATCH = 4_096     # queries searched at once when writing neighbour lists


def neighbours_to_parquet(bundle: Bundle, out, k: int = 10, corpus=None,
                          progress: bool = True, rerank: bool = True) -> Path:
    """The ``k`` nearest indexed items of every item of ``corpus`` (encoded by the bundle's
    model), or, without a corpus, of every indexed item among the others (itself left out):
    one Parquet row per query with ``query_id``, ``neighbour_ids`` (list, nearest first;
    ties in row order) and ``distances`` (list<int32>, Hamming). A corpus's items are
    queries by example: with ``rerank`` their Hamming candidates are re-ranked by their
    code logits as :meth:`Retriever.query` does (:mod:`hashret.search.rerank`), the distances
    staying Hamming distances."""
    import pyarrow as pa
    parquet_path(out)                       # before the search, not after
    if k < 1:
        raise UsageError(f"k must be at least 1, got {k}")
    index = bundle.index
    n_q = len(corpus) if corpus is not None else index.ntotal
    k_out = min(k, index.ntotal - (corpus is None))
    found = np.full((n_q, k_out), -1, np.int64)      # k_out >= 0: an index is never empty
    dists = np.zeros((n_q, k_out), np.int32)

    def batches():
        if corpus is not None:
            yield from bundle.model.iter_encode(corpus, progress=progress)
            return
        all_codes = bundle.codes
        for s in progress_bar(range(0, n_q, SEARCH_BATCH), desc="searching", unit="batch",
                      disable=not progress, leave=False):
            rows = np.arange(s, min(s + SEARCH_BATCH, n_q))
            yield rows, all_codes[rows], None

    if k_out > 0:
        for rows, codes, logits in batches():
            if corpus is not None and rerank:
                d, r, _ = search_reranked(index, codes, logits, k_out, bundle.codes)
                found[rows], dists[rows] = r, d
                continue
            d, r = index.search(codes, k_out + (corpus is None))
            if corpus is None:
                # leave the query itself out: at its place among its ties, or the last
                not_self = r != rows[:, None]
                drop_last = not_self.all(1)
                not_self[drop_last, -1] = False
                r = r[not_self].reshape(len(rows), k_out)
                d = d[not_self].reshape(len(rows), k_out)
            found[rows], dists[rows] = r, d
    valid = found >= 0        # hnsw / ivf indexes may find fewer than k: shorter lists
    offsets = np.concatenate([[0], np.cumsum(valid.sum(1))]).astype(np.int32)
    index_ids = bundle.items.column("id").combine_chunks()
    neighbour_ids = index_ids.take(pa.array(found[valid]))
    if corpus is not None:
        q_kind = id_type(corpus.ids)
        query_ids = pa.array([int(i) for i in corpus.ids], pa.int64()) if q_kind == "int64" \
            else pa.array([str(i) for i in corpus.ids], pa.string())
    else:
        query_ids = index_ids
    table = pa.table({
        "query_id": query_ids,
        "neighbour_ids": pa.ListArray.from_arrays(pa.array(offsets), neighbour_ids),
        "distances": pa.ListArray.from_arrays(pa.array(offsets),
                                              pa.array(dists[valid], pa.int32())),
    })
    meta = {**_metadata(bundle), "k": k_out, "n_bits": bundle.bits,
            "queries": "corpus" if corpus is not None else "indexed items, themselves left out"}
    table = table.replace_schema_metadata({a.encode(): str(b).encode() for a, b in meta.items()})
    return write_parquet(table, out)


# --- the same, from an index folder and a corpus path -------------------------------------

def export_index(path, out, with_embeddings: bool = False) -> int:
    """:func:`export_bundle` of the index at ``path``; returns the rows written."""
    bundle = Bundle.load(path, with_model=False)     # the codes; a classifier if any
    export_bundle(bundle, out, with_embeddings)
    return len(bundle.items)


def encode_to_parquet(path, corpus_path, out, with_embeddings: bool = False,
                      columns: dict | None = None, progress: bool = True) -> int:
    """:func:`encode_corpus_to_parquet` of the corpus at ``corpus_path`` (read with the
    table ``columns`` of :func:`hashret.data.read_corpus`) with the model of the index at
    ``path``; returns the rows written."""
    from .data import read_corpus
    bundle = Bundle.load(path)
    corpus = read_corpus(corpus_path, **(columns or {}))
    encode_corpus_to_parquet(bundle, corpus, out, with_embeddings, progress=progress)
    return len(corpus)


def neighbours_of_index(path, out, k: int = 10, corpus_path=None,
                        columns: dict | None = None, rerank: bool = True,
                        progress: bool = True) -> int:
    """:func:`neighbours_to_parquet` of the index at ``path``, queried by the items of the
    corpus at ``corpus_path`` or, without one, by its own items; returns the query count."""
    from .data import read_corpus
    # the graph of the indexed items needs only their codes, not the network
    bundle = Bundle.load(path, with_model=corpus_path is not None)
    corpus = read_corpus(corpus_path, **(columns or {})) if corpus_path else None
    neighbours_to_parquet(bundle, out, k, corpus, progress=progress, rerank=rerank)
    return len(corpus) if corpus is not None else len(bundle.items)
