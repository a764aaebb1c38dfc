"""A sharded index answers exactly as one index over the same codes: the same hits in the
same order, ties included, for k-NN and range search, before and after adding and
removing; a bundle built in shards is one index to every command."""
import numpy as np
import pytest

from hashret.errors import BundleError, UsageError
from hashret.search.index import BinaryCodeIndex
from hashret.search.shards import ShardedIndex, split_rows


def _codes(n, nbytes, seed=0):
    # few distinct codes: most distances are tied
    return np.random.default_rng(seed).integers(0, 4, (n, nbytes), dtype=np.uint8)


@pytest.mark.parametrize("kind", ["flat", "hash", "mih"])
@pytest.mark.parametrize("shards, threads", [(2, 1), (3, 3), (7, 1), (7, 4)])
def test_shards_answer_as_one_index(kind, shards, threads):
    db, q = _codes(301, 2, 1), _codes(25, 2, 2)
    one = BinaryCodeIndex.build(db, kind=kind)
    many = ShardedIndex(ShardedIndex.build(db, kind=kind, shards=shards).shards, threads)
    assert many.ntotal == 301 and len(many.shards) == shards and many.kind == kind
    for k in (1, 10, 400):                           # 400: more than the index holds
        d1, i1 = one.search(q, k)
        d2, i2 = many.search(q, k)
        assert np.array_equal(d1, d2) and np.array_equal(i1, i2)
    for radius in (0, 2, 5):
        for (da, ia), (db_, ib) in zip(one.range_search(q, radius),
                                       many.range_search(q, radius)):
            assert np.array_equal(da, db_) and np.array_equal(ia, ib)
    rows = np.array([300, 0, 150, 7])
    assert np.array_equal(many.reconstruct(rows), one.reconstruct(rows))
    with pytest.raises(UsageError, match="not in the index"):
        many.reconstruct([301])


def test_adding_and_removing_keep_the_answers_of_one_index():
    db, more, q = _codes(200, 1, 3), _codes(40, 1, 4), _codes(10, 1, 5)
    one, many = BinaryCodeIndex.build(db), ShardedIndex.build(db, shards=4)
    one.add(more)
    many.add(more)
    gone = np.array([3, 150, 220, 239])
    assert one.remove(gone) == many.remove(gone) == 4
    for a, b in zip(one.search(q, 50), many.search(q, 50)):
        assert np.array_equal(a, b)


def test_more_shards_than_items_and_bad_counts():
    assert split_rows(3, 5) == [(0, 1), (1, 1), (1, 2), (2, 2), (2, 3)]
    codes = _codes(3, 1)
    many = ShardedIndex.build(codes, shards=5)
    d, i = many.search(codes, 5)
    assert (i[:, 3:] == -1).all() and sorted(i[0, :3]) == [0, 1, 2]
    with pytest.raises(UsageError, match="shards"):
        ShardedIndex.build(codes, shards=0)


@pytest.fixture(scope="module")
def sharded_pair(tmp_path_factory):
    from hashret import build_index, load_dataset
    from hashret.data import limit_rows
    corpus = limit_rows(load_dataset("fashion-mnist"), 500)
    tmp = tmp_path_factory.mktemp("shards")
    build_index(corpus, tmp / "one", bits=16, epochs=2, progress=False)
    build_index(corpus, tmp / "three", bits=16, epochs=2, progress=False, shards=3)
    return tmp / "one", tmp / "three", corpus


def test_a_sharded_bundle_is_one_index_to_every_command(run, sharded_pair, tmp_path):
    import pyarrow.parquet as pq
    one, three, corpus = sharded_pair
    assert sorted(p.name for p in three.glob("index*.faiss")) == \
        ["index-00000.faiss", "index-00001.faiss", "index-00002.faiss"]
    for item in (corpus.ids[0], corpus.ids[77], corpus.ids[499]):
        a = run("query", one, "--id", item, "-k", "30", "--json").json()
        b = run("query", three, "--id", item, "-k", "30", "--json").json()
        assert a == b
        a = run("query", one, "--id", item, "--radius", "2", "--json").json()
        assert a == run("query", three, "--id", item, "--radius", "2", "--json").json()
    assert run("check", three).code == 0
    assert "in 3 shards" in run("info", three).out
    run("export", one, tmp_path / "a.parquet")
    run("export", three, tmp_path / "b.parquet")
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))


def test_a_damaged_shard_is_refused_and_add_keeps_the_shards(run, sharded_pair, tmp_path):
    import shutil
    from hashret import Bundle
    from hashret.build import add_to_index
    _, three, corpus = sharded_pair
    copy = tmp_path / "copy"
    shutil.copytree(three, copy)
    add_to_index(copy, _five(corpus), progress=False)
    bundle = Bundle.load(copy)
    assert len(bundle.index.shards) == 3 and bundle.index.ntotal == 505
    blob = bytearray((copy / "index-00001.faiss").read_bytes())
    blob[-3] ^= 0xFF
    (copy / "index-00001.faiss").write_bytes(bytes(blob))
    with pytest.raises(BundleError, match="index-00001.faiss"):
        Bundle.load(copy, verify=False)
    r = run("query", copy, "--id", corpus.ids[0])
    assert r.code == 1 and "index-00001.faiss" in r.err


def _five(corpus):
    from hashret.data.corpus import Corpus
    rows = np.arange(5)
    return Corpus(corpus.modality, [f"new{i}" if isinstance(corpus.ids[0], str) else 10_000 + i
                                    for i in rows],
                  corpus.take(rows), [corpus.labels[i] for i in rows], ["train"] * 5,
                  ["new"] * 5, "five")
