"""Vector corpora: embeddings from .npy, .npz, .fvecs and table columns."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hashret.data import as_corpus, read_corpus
from hashret.data.features import VectorFeaturizer
from hashret.data.vectors import read_query_vector
from hashret.errors import CorpusError, UsageError


def _vectors(n=6, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_npy_vectors_with_labels_are_memory_mapped_rows(tmp_path):
    x = _vectors()
    np.save(tmp_path / "emb.npy", x)
    np.save(tmp_path / "emb_labels.npy", np.array(["a", "b", "a", "c", "b", "a"]))
    c = read_corpus(tmp_path / "emb.npy")
    assert c.modality == "vector" and c.meta["dim"] == 5
    assert isinstance(c.items, np.memmap)
    assert c.ids == list(range(6)) and c.labels[3] == ["c"]
    np.testing.assert_array_equal(c.take([4, 1]), x[[4, 1]])


def test_npz_vectors_keep_their_splits_and_labels(tmp_path):
    x = _vectors(8)
    np.savez(tmp_path / "e.npz", x_train=x[:5], y_train=np.arange(5), x_test=x[5:],
             y_test=np.arange(5, 8))
    c = read_corpus(tmp_path / "e.npz")
    assert c.modality == "vector"
    assert c.splits == ["train"] * 5 + ["test"] * 3
    assert [l[0] for l in c.labels] == [str(i) for i in range(8)]
    np.testing.assert_array_equal(c.take(range(8)), x)


def test_fvecs_round_trip_and_a_damaged_file_is_refused(tmp_path):
    x = _vectors(4, 3)
    rows = np.hstack([np.full((4, 1), 3, "<i4").view("<f4"), x.astype("<f4")])
    (tmp_path / "a.fvecs").write_bytes(rows.tobytes())
    c = read_corpus(tmp_path / "a.fvecs")
    assert c.modality == "vector" and len(c) == 4
    np.testing.assert_array_equal(c.take(range(4)), x)
    (tmp_path / "cut.fvecs").write_bytes(rows.tobytes()[:-4])
    with pytest.raises(CorpusError, match="not an .fvecs file"):
        read_corpus(tmp_path / "cut.fvecs")
    bad = rows.copy()
    bad[2, 0] = np.array([7], "<i4").view("<f4")[0]
    (tmp_path / "mixed.fvecs").write_bytes(bad.tobytes())
    with pytest.raises(CorpusError, match="row 2 says dimension 7"):
        read_corpus(tmp_path / "mixed.fvecs")


def test_parquet_embedding_column_round_trips_ids_labels_and_splits(tmp_path):
    x = _vectors(5, 4)
    table = pa.table({"doc": [f"d{i}" for i in range(5)],
                      "emb": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 4),
                      "labels": [["x"], ["y"], ["x", "y"], [], ["y"]],
                      "split": ["train", "train", "train", "test", "test"]})
    pq.write_table(table, tmp_path / "t.parquet")
    c = read_corpus(tmp_path / "t.parquet", embedding_column="emb", id_column="doc")
    assert c.modality == "vector"
    assert c.ids == [f"d{i}" for i in range(5)]
    assert c.labels == [["x"], ["y"], ["x", "y"], [], ["y"]]
    assert c.splits == ["train"] * 3 + ["test"] * 2
    np.testing.assert_allclose(c.take(range(5)), x)
    assert c.meta["reader"]["embedding_column"] == "emb"


def test_jsonl_embedding_column_is_found_by_its_name(tmp_path):
    rows = [{"id": f"q{i}", "embedding": [float(i), 1.0, -1.0], "label": "a"} for i in range(3)]
    (tmp_path / "v.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    c = read_corpus(tmp_path / "v.jsonl")
    assert c.modality == "vector" and c.ids == ["q0", "q1", "q2"]
    assert c.take([2]).tolist() == [[2.0, 1.0, -1.0]]


def test_bad_embedding_columns_say_what_is_wrong(tmp_path):
    def write(rows, name="b.jsonl"):
        (tmp_path / name).write_text("\n".join(json.dumps(r) for r in rows))
        return tmp_path / name
    with pytest.raises(CorpusError, match="row 1 of column 'embedding' has 2 values, the "
                                          "first row 3"):
        read_corpus(write([{"embedding": [1, 2, 3]}, {"embedding": [1, 2]}]))
    with pytest.raises(CorpusError, match="row 1 .* has no value"):
        read_corpus(write([{"embedding": [1, 2, 3]}, {"embedding": None}]))
    with pytest.raises(UsageError) as e:
        read_corpus(write([{"text": "a", "e": [1, 2]}]), embedding_column="vec")
    assert e.value.option == "embedding_column" and "columns are ['text', 'e']" in str(e.value)
    with pytest.raises(CorpusError, match="holds str, not a list of numbers"):
        read_corpus(write([{"text": "a"}]), embedding_column="text")
    with pytest.raises(CorpusError, match="NaN or infinity"):
        read_corpus(write([{"embedding": [1.0, 2.0]}, {"embedding": [1.0, float("nan")]}]))


def test_featurizer_normalises_centres_and_refuses_another_dimension():
    x = _vectors(50, 6) * 10 + 3
    f = VectorFeaturizer().fit(x)
    unit = f.unit(x)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, rtol=1e-5)
    z = f.transform(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    assert abs(z.var(0).mean() - 1) < 1e-4
    np.testing.assert_allclose(f.restore(z), unit, atol=1e-5)
    back = VectorFeaturizer.from_dict(json.loads(json.dumps(f.to_dict())))
    np.testing.assert_array_equal(back.transform(x), z)
    with pytest.raises(CorpusError, match="vectors of 4 dimensions, but this index's model "
                                          "takes 6"):
        f.transform(np.zeros((2, 4)))


def test_a_query_vector_file_holds_one_vector(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(4.0))
    (tmp_path / "one.json").write_text("[0, 1, 2, 3]")
    (tmp_path / "one.txt").write_text("0 1, 2\n3\n")
    for name in ("one.npy", "one.json", "one.txt"):
        assert read_query_vector(tmp_path / name).tolist() == [0.0, 1.0, 2.0, 3.0]
    np.save(tmp_path / "two.npy", np.zeros((2, 4)))
    with pytest.raises(CorpusError, match=r"shape \(2, 4\), not one vector"):
        read_query_vector(tmp_path / "two.npy")


def test_as_corpus_takes_a_vector_array():
    c = as_corpus(_vectors(3), labels=["a", "b", "a"])
    assert c.modality == "vector" and c.labels == [["a"], ["b"], ["a"]]
