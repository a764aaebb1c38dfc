"""Vector indexes through the CLI and the API: build from embeddings, query by vector,
encode a table's embedding column, and eval's baselines and recall."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from hashret import Bundle, Retriever
from hashret.items import codes_from_column
from hashret.serve import create_app

from conftest import hamming


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """Clustered 32-d vectors in an .npz with a test split, and the index built from it."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(12, 32))
    lab = rng.integers(0, 12, 900)
    x = (centres[lab] + 0.8 * rng.normal(size=(900, 32))).astype(np.float32)
    folder = tmp_path_factory.mktemp("vec")
    np.savez(folder / "emb.npz", x_train=x[:800], y_train=lab[:800], x_test=x[800:],
             y_test=lab[800:])
    from hashret.cli import main
    try:
        main(["--quiet", "build", str(folder / "emb.npz"), "--bits", "16", "--epochs", "3",
              "--out", str(folder / "idx")])
    except SystemExit as e:
        assert e.code in (0, None)
    return folder, x, lab


def test_a_vector_query_finds_the_vector_itself_first(run, vectors, tmp_path):
    folder, x, _ = vectors
    np.save(tmp_path / "q.npy", x[17])
    r = run("query", folder / "idx", "--vector", tmp_path / "q.npy", "-k", "5", "--json")
    assert r.code == 0, r.err
    hits = r.json()
    assert hits[0]["distance"] == 0 and 17 in [h["id"] for h in hits if h["distance"] == 0]
    want = Retriever.load(folder / "idx").query(x[17], k=5)
    assert [h["id"] for h in hits] == [h.id for h in want]
    r = run("info", folder / "idx")
    assert "features    32-dimensional vectors, compared by cosine" in r.out


def test_vector_queries_of_the_wrong_kind_or_dimension_are_refused(run, vectors, tmp_path):
    folder, x, _ = vectors
    np.save(tmp_path / "short.npy", x[0, :20])
    r = run("query", folder / "idx", "--vector", tmp_path / "short.npy")
    assert r.code == 1
    assert "vectors of 20 dimensions, but this index's model takes 32" in r.err
    r = run("query", folder / "idx", "--text", "oil prices")
    assert r.code == 2 and "query it with --vector, --file or --id" in r.err
    r = run("query", folder / "idx", "--vector", tmp_path / "none.npy")
    assert r.code == 2 and "does not exist" in r.err


def test_encode_reads_an_embedding_column_into_the_indexs_codes(run, vectors, tmp_path):
    folder, x, _ = vectors
    table = pa.table({"key": [f"k{i}" for i in range(50)],
                      "vec": pa.FixedSizeListArray.from_arrays(pa.array(x[:50].ravel()), 32)})
    pq.write_table(table, tmp_path / "t.parquet")
    r = run("--quiet", "encode", folder / "idx", tmp_path / "t.parquet", tmp_path / "c.parquet",
            "--embedding-column", "vec", "--id-column", "key")
    assert r.code == 0, r.err
    t = pq.read_table(tmp_path / "c.parquet")
    assert t.column("id").to_pylist() == [f"k{i}" for i in range(50)]
    bundle = Bundle.load(folder / "idx", with_model=False)
    got = codes_from_column(t.column("code"))
    assert (hamming(got, bundle.codes[:50]).diagonal() == 0).mean() > 0.95


def test_eval_compares_sign_itq_and_float_with_recall(run, vectors):
    folder, _, _ = vectors
    r = run("eval", folder / "idx", "--json")
    assert r.code == 0, r.err
    res = json.loads(r.out)
    methods = res["methods"]
    assert set(methods) >= {"hashret-deep", "lsh", "pca-itq", "sign-all (32 bits)",
                            "float-cosine"}
    assert methods["float-cosine"]["recall@10"] == 1.0
    assert all(0 <= m["recall@10"] <= 1 for m in methods.values())
    assert res["queries"] == 100 and res["database"] == 800


def test_the_api_answers_a_vector_as_the_library(vectors):
    folder, x, _ = vectors
    client = TestClient(create_app([folder / "idx"]), raise_server_exceptions=False)
    r = client.post("/v1/indexes/idx/search", json={"vector": x[5].tolist(), "k": 4})
    assert r.status_code == 200, r.text
    want = Retriever.load(folder / "idx").query(x[5], k=4)
    assert [h["id"] for h in r.json()["hits"]] == [h.id for h in want]
    r = client.post("/v1/indexes/idx/search", json={"vector": [1.0, 2.0], "k": 4})
    assert r.status_code == 400 and "2 dimensions" in r.json()["error"]
    r = client.post("/v1/indexes/idx/search", json={"text": "oil"})
    assert r.status_code == 400 and 'query it with "vector"' in r.json()["error"]
