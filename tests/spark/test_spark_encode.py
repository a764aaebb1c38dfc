"""Encoding on Spark (local mode, 2 cores): the same codes as ``hashret encode``, no row lost
or doubled when a task fails and is retried, one clear error for bad input."""
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hashret.errors import CorpusError, UsageError
from hashret.spark import encode, encode_files


def _codes(table_or_df) -> dict:
    rows = table_or_df.collect() if hasattr(table_or_df, "collect") else None
    if rows is not None:
        return {r["id"]: bytes(r["code"]) for r in rows}
    return dict(zip(table_or_df.column("id").to_pylist(),
                    (bytes(c) for c in table_or_df.column("code").to_pylist())))


@pytest.fixture(scope="module")
def documents(tmp_path_factory, reuters_corpus):
    path = tmp_path_factory.mktemp("docs") / "docs.parquet"
    rows = range(0, len(reuters_corpus), 37)
    pq.write_table(pa.table({"id": [str(reuters_corpus.ids[i]) for i in rows],
                             "text": [reuters_corpus.items[i] for i in rows]}), path)
    return path


def test_documents_get_the_codes_of_hashret_encode(spark, run, tmp_path, reuters_index,
                                                   documents):
    out, _ = reuters_index
    assert run("encode", out, documents, tmp_path / "single.parquet").code == 0
    single = _codes(pq.read_table(tmp_path / "single.parquet"))
    df = spark.read.parquet(str(documents)).repartition(3)
    codes = encode(df, out, text_column="text", with_embeddings=True)
    got = codes.collect()
    assert len(got) == len(single) and {r["id"] for r in got} == set(single)
    assert all(bytes(r["code"]) == single[r["id"]] for r in got)
    # the embedding's signs are the code's bits
    from hashret.search.bits import pack_bits
    r = got[0]
    assert pack_bits(np.asarray(r["embedding"])[None] > 0)[0].tobytes() == bytes(r["code"])


def test_images_get_the_codes_of_hashret_encode(spark, run, tmp_path, fashion_index):
    out, corpus = fashion_index
    rows = np.arange(0, len(corpus), 5)
    pngs = []
    for img in corpus.take(rows):
        buf = io.BytesIO()
        Image.fromarray(np.asarray(img)[..., 0]).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    path = tmp_path / "images.parquet"
    pq.write_table(pa.table({"id": rows.astype(np.int64), "image": pngs}), path)
    assert run("encode", out, path, tmp_path / "single.parquet").code == 0
    single = _codes(pq.read_table(tmp_path / "single.parquet"))
    got = _codes(encode(spark.read.parquet(str(path)), out, image_column="image"))
    assert got == single and len(got) == len(rows)


def test_a_failed_task_is_retried_without_losing_or_doubling_rows(spark, reuters_index,
                                                                  documents, tmp_path):
    out, _ = reuters_index
    df = spark.read.parquet(str(documents)).repartition(4)
    flag = tmp_path / "failed-once"

    def fail_first_try(batches):
        from pyspark import TaskContext
        ctx = TaskContext.get()
        if ctx.partitionId() == 1 and ctx.attemptNumber() == 0:
            flag.write_text("x")
            raise RuntimeError("injected failure")
        yield from batches
    flaky = df.mapInArrow(fail_first_try, df.schema)
    ids = [r["id"] for r in encode(flaky, out, text_column="text").collect()]
    assert flag.exists()                                 # the failure did happen
    assert len(ids) == len(set(ids)) == df.count()
    assert set(ids) == {r["id"] for r in df.select("id").collect()}


def test_bad_input_gets_one_clear_error(spark, reuters_index, fashion_index, documents,
                                        tmp_path):
    out, _ = reuters_index
    df = spark.read.parquet(str(documents))
    with pytest.raises(UsageError, match="'body' is not a column|body.*not a column"):
        encode(df, out, text_column="body")
    with pytest.raises(UsageError, match="image_column"):
        encode(df, out, image_column="text")
    numbers = spark.createDataFrame([(1, 5)], "id long, text long")
    with pytest.raises(UsageError, match="holds bigint.*strings"):
        encode(numbers, out, text_column="text")
    with pytest.raises(UsageError, match="id_column"):
        encode(df, out, id_column="doc")
    # an empty DataFrame, and empty partitions, encode to nothing
    empty = df.limit(0).repartition(3)
    assert encode(empty, out).count() == 0
    # a row without its text: the row is named, and nothing is written
    holes = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["oil prices", None]}), holes)
    with pytest.raises(CorpusError, match="'b'"):
        encode_files(spark, out, holes, tmp_path / "codes")
    assert not (tmp_path / "codes").exists()


def test_encode_files_replaces_the_output_with_parts(spark, reuters_index, documents,
                                                     tmp_path):
    out, _ = reuters_index
    target = tmp_path / "codes"
    target.mkdir()
    (target / "old.txt").write_text("old")
    n = encode_files(spark, out, documents, target)
    table = pq.read_table(target)
    assert n == table.num_rows == pq.read_table(documents).num_rows
    assert not (target / "old.txt").exists()
    assert table.schema.field("code").type == pa.binary()


def test_the_encode_command_on_spark(spark, run, tmp_path, reuters_index, documents):
    out, _ = reuters_index
    r = run("-q", "encode", out, documents, tmp_path / "codes", "--spark", "--with-embeddings",
            "--spark-master", "local[2]")
    assert r.code == 0, r.err
    table = pq.read_table(tmp_path / "codes")
    assert table.num_rows == pq.read_table(documents).num_rows
    assert table.column_names == ["id", "code", "embedding"]
    assert run("encode", out, documents, tmp_path / "single.parquet").code == 0
    assert _codes(table) == _codes(pq.read_table(tmp_path / "single.parquet"))
    r = run("encode", out, documents, tmp_path / "x", "--spark", "--text-column", "body")
    assert r.code == 2 and "--text-column body" in r.err and "not a column" in r.err
    r = run("encode", out, documents, tmp_path / "y", "--spark", "--label-column", "topic")
    assert r.code == 2 and "labels" in r.err
