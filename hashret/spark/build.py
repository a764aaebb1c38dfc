"""Building an index on Spark: a model trained on a sample on the driver, every row encoded
on the executors, the codes gathered into a sharded bundle."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..bundle import Bundle
from ..items import ItemColumns
from ..data.corpus import IMAGE, TEXT, VECTOR, Corpus
from ..data.tables import label_list, row_split
from ..errors import CorpusError, UsageError
from .encode import (check_column, default_column, encode_batches, read_frame,
                     require_pyspark, ship_model, task_error)

log = logging.getLogger("hashret")
SAMPLE = 100_000              # rows the model trains on, at most, unless told
LABEL_COLUMNS = ("labels", "label")


def modality_of(df, text_column, image_column, embedding_column) -> tuple[str, str, str]:
    """(modality, items' column, its option) of a DataFrame: from the column named, else
    from the default columns present (documents first)."""
    from pyspark.sql import types as T
    named = [(m, c, o) for m, c, o in ((TEXT, text_column, "text_column"),
                                      (IMAGE, image_column, "image_column"),
                                      (VECTOR, embedding_column, "embedding_column")) if c]
    if len(named) > 1:
        raise UsageError("name one column of items: {text_column}, {image_column} or "
                         "{embedding_column}")
    if named:
        modality, column, option = named[0]
        check_column(df, column, modality, option)
        return modality, column, option
    for modality, option in ((TEXT, "text_column"), (VECTOR, "embedding_column"),
                             (IMAGE, "image_column")):
        column = default_column(df, modality)
        if column is not None and (modality != TEXT or isinstance(
                df.schema[column].dataType, T.StringType)):
            check_column(df, column, modality, option)
            return modality, column, option
    raise UsageError(f"no column of items found among {', '.join(df.columns)}; name it with "
                     "{text_column}, {image_column} or {embedding_column}",
                     option="text_column")


def _labels(table, column: str | None) -> list[list[str]]:
    """Each row's labels, read as the table readers read a label column (none without
    one)."""
    if column is None:
        return [[] for _ in range(table.num_rows)]
    return [label_list(v) for v in table.column(column).to_pylist()]


def _splits(table) -> list[str]:
    """Each row's split, read as the table readers read a ``split`` column (train without
    one)."""
    if "split" not in table.column_names:
        return ["train"] * table.num_rows
    return [row_split({"split": v}, "train") for v in table.column("split").to_pylist()]


def sample_corpus(df, column: str, modality: str, id_column: str, label_column: str | None,
                  n: int, seed: int, source: str) -> Corpus:
    """Up to ``n`` rows of ``df``, drawn at random (seeded), as a corpus on the driver."""
    from ..data.images import images_from_sources
    total = df.count()
    if total == 0:
        raise CorpusError(f"{source} holds no rows")
    if total > n:
        df = df.sample(False, min(1.0, 1.2 * n / total), seed).limit(n)
    cols = [id_column, column] + ([label_column] if label_column else []) + \
        (["split"] if "split" in df.columns else [])
    picked = df.select(*cols)
    if hasattr(picked, "toArrow"):                 # pyspark 4
        table = picked.toArrow()
    else:
        import pyarrow as pa
        table = pa.Table.from_pandas(picked.toPandas(), preserve_index=False)
    ids = table.column(id_column).to_pylist()
    cells = table.column(column).to_pylist()
    if any(c is None for c in cells):
        raise CorpusError(f"{source}: a row has no {column!r}")
    items = cells if modality == TEXT else np.asarray(cells, np.float32) \
        if modality == VECTOR else images_from_sources(cells, [f"id {i}" for i in ids])
    return Corpus(modality, ids, items, _labels(table, label_column), _splits(table),
                  [""] * len(ids), source)


def build_index(spark, corpus, out, *, bits: int = 64, model: str = "deep",
                sample: int = SAMPLE, shards: int | None = None, epochs=None,
                seed: int = 0, device: str = "auto", model_options: dict | None = None,
                index_kind: str = "flat", index_params: dict | None = None,
                text_column: str | None = None, image_column: str | None = None,
                embedding_column: str | None = None, id_column: str | None = None,
                label_column: str | None = None, progress: bool = True) -> Bundle:
    """Build an index of ``corpus`` (Parquet, JSON lines or CSV, a file or a folder, read by
    Spark) at ``out``: a model trained on the driver on ``sample`` rows drawn at random (the
    training split's, when a ``split`` column says), every row encoded on the executors,
    the index written in ``shards`` shards (default: Spark's default parallelism). Rows
    need ids (``id_column``, default ``id``): Spark keeps no row numbers from one read to
    the next. The bundle keeps no embeddings."""
    from ..build import check_build
    from ..fileio import file_sha256
    from ..models import HashModel
    from ..models.config import WEIGHTS_FILE
    from ..search.shards import build_in_shards
    require_pyspark()
    import pyarrow.dataset as ds
    from pyspark.sql import types as T
    check_build(out, bits, model, model_options, index_kind, index_params)
    corpus = Path(corpus)
    df = read_frame(spark, corpus)
    source = str(corpus.resolve())
    modality, column, _ = modality_of(df, text_column, image_column, embedding_column)
    id_column = id_column or "id"
    if id_column not in df.columns:
        raise UsageError(f"{{id_column:{id_column}}} is not a column of {corpus} (columns: "
                         f"{', '.join(df.columns)}); a Spark build needs ids, as Spark keeps "
                         "no row numbers", option="id_column")
    label_column = label_column or next((c for c in LABEL_COLUMNS if c in df.columns), None)
    if label_column and label_column not in df.columns:
        raise UsageError(f"{{label_column:{label_column}}} is not a column of {corpus}",
                         option="label_column")
    start = time.perf_counter()
    train_df = df.filter(df["split"].isNull() | (df["split"] != "test")) \
        if "split" in df.columns else df
    train = sample_corpus(train_df, column, modality, id_column, label_column, sample, seed,
                          source)
    log.info("training on %d rows drawn from %s", len(train), corpus)
    hm = HashModel(kind=model, bits=bits, epochs=epochs, seed=seed,
                   options=dict(model_options or {}))
    hm.fit(train, device=device, progress=progress)
    fit_seconds = time.perf_counter() - start
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.spark.", dir=out.parent))
    try:
        hm.save(work / "model")
        key = ship_model(spark.sparkContext, work / "model",
                         file_sha256(work / "model" / WEIGHTS_FILE))
        keep = tuple(c for c in (label_column, "split") if c and c in df.columns)
        fields = [T.StructField("id", df.schema[id_column].dataType, True),
                  T.StructField("code", T.BinaryType(), False)] + \
            [df.schema[c] for c in keep]
        t = time.perf_counter()
        coded = df.select(id_column, column, *keep).mapInArrow(
            lambda batches: encode_batches(batches, key, id_column, column, modality, False,
                                           keep), T.StructType(fields))
        try:
            coded.write.mode("overwrite").parquet(str(work / "codes"))
        except Exception as e:  # noqa: BLE001 - an executor's error, out of Java's
            raise task_error(e) from None
        encode_seconds = time.perf_counter() - t
        parts = sorted((work / "codes").glob("part-*.parquet"))
        table = ds.dataset([str(p) for p in parts], format="parquet").to_table()
        n = table.num_rows
        codes = np.frombuffer(b"".join(table.column("code").to_pylist()),
                              np.uint8).reshape(n, bits // 8)
        labels, splits = _labels(table, label_column), _splits(table)
        ids = table.column("id").to_pylist()
        if len(set(map(str, ids))) != n:
            raise CorpusError(f"{corpus}: ids repeat in {id_column!r}; give every row its own")
        t = time.perf_counter()
        shards = shards or max(1, min(len(parts), spark.sparkContext.defaultParallelism))
        index = build_in_shards(codes, index_kind, shards, **(index_params or {}))
        index.warm_up()
        build = {"train": hm.report.to_dict(), "fit_seconds": round(fit_seconds, 2),
                 "encode_seconds": round(encode_seconds, 2),
                 "items_per_second_encode": round(n / max(encode_seconds, 1e-9), 1),
                 "index_seconds": round(time.perf_counter() - t, 2), "seed": seed,
                 "spark": {"master": spark.sparkContext.master, "sample": len(train),
                           "parts": len(parts)}}
        record = {"source": source, "dataset": None, "spark": True,
                  "reader": {k: v for k, v in (("text_column", text_column),
                                               ("id_column", id_column),
                                               ("label_column", label_column),
                                               ("embedding_column", embedding_column))
                             if v}}
        Bundle.write(out, hm, codes, None, ItemColumns(ids, labels, splits, [""] * n), index,
                     record, extra={"build": build})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Bundle.load(out)
