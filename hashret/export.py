"""Codes (and embeddings) as Parquet features for downstream models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bundle import Bundle, items_table
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


def export_bundle(bundle: Bundle, out, with_embeddings: bool = False) -> Path:
    """One row per indexed item: id, code, labels, split, title (+ embedding)."""
    t = bundle.items
    emb = np.asarray(bundle.embeddings()) if with_embeddings else None
    table = items_table(t.column("id").to_pylist(), bundle.codes,
                        t.column("labels").to_pylist(), t.column("split").to_pylist(),
                        t.column("title").to_pylist(), emb, _metadata(bundle))
    return write_parquet(table, out)


def encode_corpus_to_parquet(bundle: Bundle, corpus, out, with_embeddings: bool = False,
                             progress: bool = True) -> Path:
    """Encode another corpus with the bundle's model (the index is not changed)."""
    model: HashModel = bundle.model
    codes, emb = model.encode_corpus(corpus, progress=progress)
    table = items_table(corpus.ids, codes, corpus.labels, corpus.splits, corpus.titles,
                        emb if with_embeddings else None, _metadata(bundle))
    return write_parquet(table, out)
