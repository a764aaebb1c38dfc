import numpy as np
import pytest

from hashret.errors import BundleError, UsageError
from hashret.index import BinaryCodeIndex
from hashret.models import pack_bits, unpack_bits

from conftest import hamming


def _codes(n, nbytes, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


def test_bit_order_is_faiss_little_endian():
    bits = np.zeros((2, 16), bool)
    bits[1, 9] = True                      # bit 9 = bit 1 of byte 1
    codes = pack_bits(bits)
    assert codes[1].tolist() == [0, 2]
    np.testing.assert_array_equal(unpack_bits(codes), bits)
    index = BinaryCodeIndex.build(codes[:1])
    dist, _ = index.search(codes[1:], 1)
    assert dist[0, 0] == 1


def test_search_matches_brute_force_and_orders_ties_by_id():
    db, q = _codes(500, 2, 1), _codes(20, 2, 2)
    index = BinaryCodeIndex.build(db)
    dist, ids = index.search(q, 10)
    true = hamming(q, db)
    for i in range(len(q)):
        assert np.array_equal(dist[i], np.sort(true[i])[:10])
        assert np.array_equal(true[i, ids[i]], dist[i])
        for a in range(9):          # ordered by (distance, id)
            assert (dist[i, a], ids[i, a]) < (dist[i, a + 1], ids[i, a + 1])


def test_range_search_is_inclusive_and_exact():
    db, q = _codes(400, 1, 3), _codes(5, 1, 4)
    index = BinaryCodeIndex.build(db, ids=np.arange(400) + 1000)
    true = hamming(q, db)
    for i, (d, ids) in enumerate(index.range_search(q, 2)):
        expect = np.flatnonzero(true[i] <= 2) + 1000
        assert sorted(ids.tolist()) == sorted(expect.tolist())
        assert np.array_equal(d, true[i, ids - 1000])


def test_k_larger_than_index_pads_with_minus_one():
    index = BinaryCodeIndex.build(_codes(3, 1))
    dist, ids = index.search(_codes(1, 1), 5)
    assert sorted(ids[0, :3].tolist()) == [0, 1, 2] and ids[0, 3:].tolist() == [-1, -1]


def test_save_load_add_remove(tmp_path):
    db = _codes(100, 8)
    index = BinaryCodeIndex.build(db)
    index.save(tmp_path / "i.faiss")
    loaded = BinaryCodeIndex.load(tmp_path / "i.faiss")
    assert loaded.bits == 64 and loaded.ntotal == 100
    assert np.array_equal(loaded.search(db[:5], 3)[1], index.search(db[:5], 3)[1])
    assert loaded.remove([0, 1]) == 2 and loaded.ntotal == 98
    assert 0 not in loaded.search(db[:1], 98)[1]
    loaded.add(db[:1], [7777])
    assert loaded.search(db[:1], 1)[1][0, 0] == 7777
    (tmp_path / "bad.faiss").write_bytes(b"garbage")
    with pytest.raises(BundleError, match="damaged"):
        BinaryCodeIndex.load(tmp_path / "bad.faiss")


def test_wrong_code_width_refused():
    index = BinaryCodeIndex.build(_codes(10, 4))
    with pytest.raises(UsageError, match="64 bits but the index holds 32"):
        index.search(_codes(1, 8), 1)
