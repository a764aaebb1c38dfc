"""Encoding a Spark DataFrame with an index's model, partition by partition.

The model's files are shipped to the executors once (``SparkContext.addFile``); each Python
worker opens them once, the weights' checksum verified, and encodes Arrow record batches
with the same model and featurizer as ``hashret encode``, so both give the same codes (images
of differing sizes are brought to the common size of their Arrow batch, not of the corpus).
Nothing is collected on the driver: the result is a DataFrame of ``id``, ``code`` (``bits /
8`` bytes) and, if asked, ``embedding``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..bundle import Bundle
from ..models.config import CONFIG_FILE, FEATURIZER_FILE, WEIGHTS_FILE
from ..data.corpus import IMAGE, TEXT, VECTOR
from ..errors import CorpusError, HashretError, UsageError

# the column option each modality reads
COLUMN_OF = {TEXT: "text_column", IMAGE: "image_column", VECTOR: "embedding_column"}
_OPENED: dict = {}            # on a worker: (folder name, weights' SHA-256) -> the model
MODEL_FILES = (CONFIG_FILE, FEATURIZER_FILE, WEIGHTS_FILE)
READERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


def session(master: str = "local[*]", progress: bool = True):
    """A Spark session for the command line: ``master`` (``local[N]``: N cores of this
    machine, its driver on 127.0.0.1 with no web UI) with Spark's console progress bar, its
    Python workers running this Python."""
    require_pyspark()
    from pyspark.sql import SparkSession
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("hashret") \
        .config("spark.ui.showConsoleProgress", str(progress).lower())
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1") \
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # noqa: BLE001 - no Java, a bad master URL: one line
        raise UsageError(f"Spark did not start with master {master!r} ({str(e)[:160]}); "
                         "Spark needs Java 17 or later (e.g. Debian's "
                         "openjdk-17-jre-headless)", option="spark_master") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def require_pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError("Spark support needs pyspark: pip install \"hashret[spark]\" (and "
                         "Java 17 or later, e.g. Debian's openjdk-17-jre-headless)") from None


def check_column(df, name: str, wanted: str, option: str) -> None:
    """Refuse a column the DataFrame lacks or whose type the modality cannot read."""
    from pyspark.sql import types as T
    fields = {f.name: f.dataType for f in df.schema.fields}
    if name not in fields:
        raise UsageError(f"{{{option}:{name}}} is not a column of the DataFrame (columns: "
                         f"{', '.join(fields)})", option=option)
    kind = fields[name]
    ok = {TEXT: isinstance(kind, T.StringType), IMAGE: isinstance(kind, T.BinaryType),
          VECTOR: isinstance(kind, T.ArrayType)
          and isinstance(kind.elementType, (T.FloatType, T.DoubleType))}[wanted]
    if not ok:
        need = {TEXT: "strings", IMAGE: "encoded image bytes (binary)",
                VECTOR: "arrays of floats"}[wanted]
        raise UsageError(f"{{{option}:{name}}} holds {kind.simpleString()}, but this index "
                         f"encodes {wanted} items: give a column of {need}", option=option)


def encode(df, bundle_dir, *, text_column: str | None = None, image_column: str | None = None,
           embedding_column: str | None = None, id_column: str | None = None,
           with_embeddings: bool = False):
    """The codes of the rows of ``df`` under the model of the index at ``bundle_dir``: a
    DataFrame of ``id`` (``id_column``'s values), ``code`` (binary, ``bits / 8`` bytes, the
    export's bit order) and, ``with_embeddings``, ``embedding`` (array of float). The items
    are in ``text_column`` (strings), ``image_column`` (encoded image bytes) or
    ``embedding_column`` (arrays of numbers), whichever the index's modality reads (default:
    :func:`default_column`). Lazy, as Spark is: nothing runs before an action."""
    require_pyspark()
    from pyspark.sql import types as T
    bundle = Bundle.load(bundle_dir, with_model=False)
    modality = bundle.modality
    given = {"text_column": text_column, "image_column": image_column,
             "embedding_column": embedding_column}
    option = COLUMN_OF[modality]
    for other, value in given.items():
        if value is not None and other != option:
            raise UsageError(f"{{{other}:{value}}}: the index at {bundle.path} encodes "
                             f"{modality} items; name their column with {{{option}}}",
                             option=other)
    id_column = id_column or "id"
    column = given[option] or default_column(df, modality)
    if column is None:
        raise UsageError(f"name the DataFrame's column of {modality} items with {{{option}}} "
                         f"(columns: {', '.join(df.columns)})", option=option)
    check_column(df, column, modality, option)
    if id_column not in df.columns:
        raise UsageError(f"{{id_column:{id_column}}} is not a column of the DataFrame "
                         f"(columns: {', '.join(df.columns)})", option="id_column")
    if id_column == column:
        raise UsageError("the {id_column} and the items' column are one column",
                         option="id_column")
    key = ship_model(df.sparkSession.sparkContext, bundle.path, bundle.manifest["model"]["hash"])
    fields = [T.StructField("id", df.schema[id_column].dataType, True),
              T.StructField("code", T.BinaryType(), False)]
    if with_embeddings:
        fields.append(T.StructField("embedding", T.ArrayType(T.FloatType(), False), False))
    schema = T.StructType(fields)

    def run(batches):
        return encode_batches(batches, key, id_column, column, modality, with_embeddings)
    return df.select(id_column, column).mapInArrow(run, schema)


def default_column(df, modality: str) -> str | None:
    """The items' column when none is named: ``text`` for documents; the column named
    ``embedding``, ``embeddings``, ``vector``, ``vectors`` or ``emb`` for vectors; the only
    binary column, or one named ``image``, for images."""
    from pyspark.sql import types as T
    names = {TEXT: ("text",), VECTOR: ("embedding", "embeddings", "vector", "vectors", "emb"),
             IMAGE: ("image",)}[modality]
    found = [c for c in names if c in df.columns]
    if found:
        return found[0]
    binary = [f.name for f in df.schema.fields if isinstance(f.dataType, T.BinaryType)]
    return binary[0] if modality == IMAGE and len(binary) == 1 else None


_SHIPPED: set = set()         # on the driver: (application, folder name) already added
_SHIP_DIR: Path | None = None


def ship_model(sc, folder, weights_hash: str) -> tuple[str, str]:
    """Send a model's files (configuration, featurizer, weights: not an index's codes) to
    the executors once, in a folder named by its weights' SHA-256, so models of two indexes
    never meet under one name; returns the key :func:`_model` opens it by."""
    name = f"hashret-model-{weights_hash[:16]}"
    if (sc.applicationId, name) not in _SHIPPED:
        # executors fetch the files when their tasks start: the copy stays until this
        # process ends
        shipped = _ship_dir() / name
        if not shipped.exists():
            shipped.mkdir()
            for f in MODEL_FILES:
                shutil.copy2(Path(folder) / f, shipped / f)
        sc.addFile(str(shipped), recursive=True)
        _SHIPPED.add((sc.applicationId, name))
    return name, weights_hash


def _ship_dir() -> Path:
    global _SHIP_DIR
    if _SHIP_DIR is None:
        import atexit
        _SHIP_DIR = Path(tempfile.mkdtemp(prefix="hashret-spark-models."))
        atexit.register(shutil.rmtree, _SHIP_DIR, True)
    return _SHIP_DIR


def _model(key):
    """The model on this worker, opened once, its weights checked against their SHA-256."""
    if key not in _OPENED:
        from pyspark import SparkFiles
        from ..fileio import file_sha256
        from ..models import HashModel
        folder = Path(SparkFiles.get(key[0]))
        if file_sha256(folder / WEIGHTS_FILE) != key[1]:
            raise HashretError(f"the model {key[0]} reached this executor damaged; run the "
                               "job again")
        _OPENED[key] = HashModel.load(folder)
    return _OPENED[key]


def encode_batches(batches, key, id_column: str, column: str, modality: str,
                   with_embeddings: bool, keep: tuple = ()):
    """Arrow record batches of ``id_column`` and ``column`` -> record batches of id, code and
    embedding, then the ``keep`` columns as they were (what runs on the executors)."""
    import numpy as np
    import pyarrow as pa
    model = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        model = model or _model(key)
        cells = batch.column(column)
        if cells.null_count:
            first = int(np.flatnonzero(cells.is_null().to_numpy(zero_copy_only=False))[0])
            raise CorpusError(f"row with id {batch.column(id_column)[first].as_py()!r} has no "
                              f"{column!r}")
        items = _items(cells, modality, batch.column(id_column))
        codes, emb = model.encode(items)
        arrays = [batch.column(id_column),
                  pa.array([c.tobytes() for c in codes], pa.binary())]
        names = ["id", "code"]
        if with_embeddings:
            arrays.append(pa.array(list(emb.astype(np.float32)), pa.list_(pa.float32())))
            names.append("embedding")
        arrays += [batch.column(c) for c in keep]
        names += list(keep)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def _items(cells, modality: str, ids):
    """A column's cells as the items the model encodes."""
    import numpy as np
    if modality == TEXT:
        return cells.to_pylist()
    if modality == VECTOR:
        rows = cells.to_pylist()
        lengths = {len(r) for r in rows}
        if len(lengths) != 1:
            raise CorpusError(f"the vectors of column {cells.type} differ in length "
                              f"({sorted(lengths)[:3]})")
        return np.asarray(rows, np.float32)
    from ..data.images import images_from_sources
    return images_from_sources(cells.to_pylist(), [f"id {i}" for i in ids.to_pylist()])


def read_frame(spark, corpus):
    """The DataFrame of a corpus Spark reads: a Parquet, JSON lines or CSV (with a header
    row) file, or a folder of files of one of those kinds."""
    path = Path(corpus)
    if not path.exists():
        raise UsageError(f"corpus {path} does not exist")
    suffixes = {p.suffix.lower() for p in path.iterdir() if p.suffix.lower() in READERS} \
        if path.is_dir() else {path.suffix.lower()}
    kinds = {READERS[s] for s in suffixes if s in READERS}
    if len(kinds) != 1:
        raise UsageError(f"{path}: Spark reads Parquet, JSON lines or CSV corpora (a file, or "
                         "a folder of files of one kind)")
    kind = kinds.pop()
    reader = spark.read.option("header", "true") if kind == "csv" else spark.read
    df = getattr(reader, kind)(str(path))
    if not df.columns:
        raise CorpusError(f"{path} holds no rows")
    return df


def encode_files(spark, bundle_dir, corpus, out, *, text_column: str | None = None,
                 image_column: str | None = None, embedding_column: str | None = None,
                 id_column: str | None = None, with_embeddings: bool = False) -> int:
    """Read ``corpus`` (Parquet, JSON lines or CSV: a file or a folder) with Spark, encode
    it (:func:`encode`) and write the codes to ``out``, a folder of Parquet parts, replaced
    only once every part is written; returns the rows written."""
    require_pyspark()
    out = Path(out)
    codes = encode(read_frame(spark, corpus), bundle_dir, text_column=text_column,
                   image_column=image_column, embedding_column=embedding_column,
                   id_column=id_column, with_embeddings=with_embeddings)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        codes.write.mode("overwrite").parquet(str(tmp / "parts"))
        n = spark.read.parquet(str(tmp / "parts")).count()
        if out.exists():
            old = tmp / "old"
            os.replace(out, old)
        os.replace(tmp / "parts", out)
    except Exception as e:
        raise task_error(e) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n


def task_error(e: Exception) -> Exception:
    """A hashret error raised on an executor, out of the Java exception that carries it;
    any other error as it is."""
    text = str(e)
    for cls in (CorpusError, UsageError, HashretError):
        marker = f"{cls.__module__}.{cls.__name__}: "
        marker_short = f"{cls.__name__}: "
        for m in (marker, marker_short):
            if m in text:
                return cls(text.split(m, 1)[1].splitlines()[0].strip())
    return e
