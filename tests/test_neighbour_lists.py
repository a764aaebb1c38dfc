"""``hashret neighbours``: the nearest indexed items of many queries, as Parquet."""
import numpy as np
import pyarrow.parquet as pq

from hashret import Bundle, Retriever

from conftest import hamming


def _by_id(bundle):
    return {v: r for r, v in enumerate(bundle.items.column("id").to_pylist())}


def test_every_indexed_item_gets_its_nearest_others(run, fashion_index, tmp_path):
    bundle = Bundle.load(fashion_index[0])
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "nb.parquet", "-k", "5")
    assert r.code == 0, r.err
    t = pq.read_table(tmp_path / "nb.parquet").to_pylist()
    assert [row["query_id"] for row in t] == bundle.items.column("id").to_pylist()
    d_all = hamming(bundle.codes, bundle.codes)
    row_of = _by_id(bundle)
    for q, row in enumerate(t):
        rows = [row_of[i] for i in row["neighbour_ids"]]
        assert len(rows) == 5 and q not in rows and len(set(rows)) == 5
        assert row["distances"] == [int(d_all[q, x]) for x in rows]
        others = np.delete(d_all[q], q)
        assert row["distances"] == sorted(others)[:5]


def test_a_corpus_queries_with_the_models_codes(run, fashion_index, tmp_path):
    bundle = Bundle.load(fashion_index[0])
    images = fashion_index[1].take(range(20))
    np.save(tmp_path / "q.npy", images[..., 0])
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "nb.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "4", "--no-rerank")
    assert r.code == 0 and "neighbours of 20 queries" in r.out, r.err
    t = pq.read_table(tmp_path / "nb.parquet")
    assert t.schema.metadata[b"queries"] == b"corpus"
    codes, _ = bundle.model.encode(images)
    d = hamming(codes, bundle.codes)
    row_of = _by_id(bundle)
    for q, row in enumerate(t.to_pylist()):
        assert row["query_id"] == q
        assert row["distances"] == sorted(d[q])[:4]
        assert row["distances"] == [int(d[q, row_of[i]]) for i in row["neighbour_ids"]]
    # re-ranked (the default): what Retriever.query returns for each image
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "rr.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "4")
    assert r.code == 0, r.err
    retriever = Retriever.load(fashion_index[0])
    for q, row in enumerate(pq.read_table(tmp_path / "rr.parquet").to_pylist()):
        hits = retriever.query(images[q, ..., 0], k=4)
        assert row["neighbour_ids"] == [h.id for h in hits]
        assert row["distances"] == [h.distance for h in hits]
    # more neighbours than the index holds: each query gets every item
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "all.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "100000")
    assert r.code == 0
    lists = pq.read_table(tmp_path / "all.parquet").column("neighbour_ids").to_pylist()
    assert all(sorted(x) == sorted(row_of) for x in lists)


def test_neighbours_refuses_a_corpus_of_the_other_modality(run, fashion_index, tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a red dress"}\n')
    r = run("neighbours", fashion_index[0], tmp_path / "nb.parquet", "--corpus",
            tmp_path / "d.jsonl")
    assert r.code == 2 and "encodes image but the input is text" in r.err
    assert not (tmp_path / "nb.parquet").exists()
