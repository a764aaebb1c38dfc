"""Codes (and embeddings) as Parquet features for downstream models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bundle import Bundle, id_type, items_table
from .fileio import atomic_file
from .models import HashModel


def write_parquet(table, out) -> Path:
    import pyarrow.parquet as pq
    out = Path(out)
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
    return write_parquet(with_predictions(table, bundle.model, bundle.codes), out)


def encode_corpus_to_parquet(bundle: Bundle, corpus, out, with_embeddings: bool = False,
                             progress: bool = True) -> Path:
    """Encode another corpus with the bundle's model (the index is not changed). Rows are
    encoded and written batch by batch, one row group per batch (see docs/RELIABILITY.md
    for the memory this takes on large corpora)."""
    import pyarrow.parquet as pq
    model: HashModel = bundle.model
    out = Path(out)
    id_kind = id_type(corpus.ids)       # once: the same for every batch
    with atomic_file(out) as tmp:
        writer = None
        try:
            for rows, codes, emb in model.iter_encode(corpus, progress=progress):
                rows = rows.tolist()
                table = items_table([corpus.ids[r] for r in rows], codes,
                                    [corpus.labels[r] for r in rows],
                                    [corpus.splits[r] for r in rows],
                                    [corpus.titles[r] for r in rows],
                                    emb if with_embeddings else None, _metadata(bundle),
                                    id_kind=id_kind)
                table = with_predictions(table, model, codes)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    return out
