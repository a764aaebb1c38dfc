"""Building on Spark: a model trained on a sample on the driver, every row encoded on the
executors, a sharded bundle that every command reads as one index."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hashret import Bundle
from hashret.errors import UsageError
from hashret.spark import build_index


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory, reuters_corpus):
    path = tmp_path_factory.mktemp("sparkdocs") / "docs.parquet"
    rows = range(0, len(reuters_corpus), 11)
    pq.write_table(pa.table({
        "id": [str(reuters_corpus.ids[i]) for i in rows],
        "text": [reuters_corpus.items[i] for i in rows],
        "labels": [list(reuters_corpus.labels[i]) for i in rows],
        "split": [reuters_corpus.splits[i] for i in rows]}), path, row_group_size=200)
    return path


@pytest.fixture(scope="module")
def spark_bundle(spark, corpus_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("sparkidx") / "idx"
    build_index(spark, corpus_file, out, bits=16, epochs=3, sample=600, shards=3,
                progress=False)
    return out


def test_every_row_is_coded_by_the_driver_s_model(spark_bundle, corpus_file):
    table = pq.read_table(corpus_file)
    bundle = Bundle.load(spark_bundle)
    assert len(bundle.index.shards) == 3 and bundle.index.ntotal == table.num_rows
    assert bundle.manifest["build"]["spark"]["sample"] == 600
    ids = bundle.items.column("id").to_pylist()
    assert sorted(ids) == sorted(table.column("id").to_pylist())
    # the executors' codes are the model's own codes of each row's text
    text_of = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))
    codes, _ = bundle.model.encode([text_of[i] for i in ids])
    assert np.array_equal(codes, bundle.codes)
    labels_of = dict(zip(table.column("id").to_pylist(), table.column("labels").to_pylist()))
    assert all(ls == labels_of[i] for i, ls in zip(ids, bundle.items.column("labels")
                                                    .to_pylist()))
    assert bundle.manifest["counts"]["test"] == table.column("split").to_pylist().count("test")


def test_the_spark_bundle_serves_every_command(run, spark_bundle, tmp_path):
    bundle = Bundle.load(spark_bundle)
    first = bundle.items.column("id")[0].as_py()
    r = run("query", spark_bundle, "--id", first, "-k", "5", "--json")
    assert r.code == 0 and len(r.json()) == 5
    r = run("query", spark_bundle, "--text", "oil prices rise", "-k", "3", "--json")
    assert r.code == 0 and len(r.json()) == 3
    assert run("check", spark_bundle).code == 0
    assert "in 3 shards" in run("info", spark_bundle).out
    assert run("export", spark_bundle, tmp_path / "c.parquet").code == 0
    r = run("export", spark_bundle, tmp_path / "e.parquet", "--with-embeddings")
    assert r.code == 2 and "no embeddings" in r.err
    assert run("eval", spark_bundle, "--no-baselines").code == 0
    r = run("eval", spark_bundle)
    assert r.code != 0 and "Spark" in r.err and "--no-baselines" in r.err


def test_the_build_command_on_spark_and_its_refusals(spark, run, corpus_file, tmp_path):
    r = run("-q", "build", corpus_file, "--spark", "--spark-master", "local[2]", "--bits", "8",
            "--epochs", "1", "--sample", "300", "--out", tmp_path / "idx")
    assert r.code == 0, r.err
    bundle = Bundle.load(tmp_path / "idx")
    assert bundle.index.ntotal == pq.read_table(corpus_file).num_rows
    r = run("build", corpus_file, "--sample", "10", "--out", tmp_path / "x")
    assert r.code == 2 and "--spark" in r.err
    nameless = tmp_path / "noid.parquet"
    pq.write_table(pa.table({"text": ["a b c", "d e f"]}), nameless)
    with pytest.raises(UsageError, match="needs ids"):
        build_index(spark, nameless, tmp_path / "y", bits=8, epochs=1)
    assert not (tmp_path / "y").exists()
