import numpy as np
import pytest

from hashret.errors import BundleError, UsageError
from hashret.search.index import BinaryCodeIndex
from hashret.search.bits import pack_bits, unpack_bits

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


# --- every kind ------------------------------------------------------------------------------

EXACT = ["flat", "hash", "mih"]
APPROX = ["hnsw", "ivf"]


def _clustered(n, nbytes, centres=20, flip=0.08, seed=0):
    """Codes scattered around a few centres, with exact duplicates: many distance ties."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 2, (centres, nbytes * 8)).astype(bool)
    bits = c[rng.integers(0, centres, n)] ^ (rng.random((n, nbytes * 8)) < flip)
    bits[n // 2: n // 2 + 30] = bits[n // 2]
    return pack_bits(bits)


def _truth(q, db, k):
    """Brute-force k-NN ordered by (distance, position)."""
    d = hamming(q, db)
    order = np.lexsort((np.broadcast_to(np.arange(len(db)), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), order


@pytest.mark.parametrize("kind", EXACT)
@pytest.mark.parametrize("nbytes", [1, 2, 3, 4, 8, 16])
def test_exact_kinds_match_brute_force_including_ties(kind, nbytes):
    db = _clustered(1500, nbytes, seed=nbytes)
    q = np.concatenate([db[[0, 750, 751]], _clustered(7, nbytes, seed=99)])
    index = BinaryCodeIndex.build(db, kind=kind)
    for k in (1, 10, 64):
        dist, ids = index.search(q, k)
        true_d, true_i = _truth(q, db, k)
        np.testing.assert_array_equal(dist, true_d)
        np.testing.assert_array_equal(ids, true_i)   # ties: the first inserted win
    for radius in (0, 2, nbytes * 2):
        for i, (d, ids) in enumerate(index.range_search(q, radius)):
            expect = np.flatnonzero(hamming(q[i:i + 1], db)[0] <= radius)
            assert ids.tolist() == sorted(expect.tolist(), key=lambda j: (
                hamming(q[i:i + 1], db[j:j + 1])[0, 0], j))
            np.testing.assert_array_equal(d, hamming(q[i:i + 1], db[ids])[0])


def test_exact_kinds_fall_back_to_the_scan_with_identical_results(monkeypatch):
    from hashret.search import kinds as index_mod
    db = _clustered(2000, 8, flip=0.3)           # far-apart codes: large radii needed
    q = _clustered(5, 8, seed=5, flip=0.3)
    true_d, true_i = _truth(q, db, 20)
    from hashret.search import scan as hamming_mod
    monkeypatch.setattr(index_mod.HammingBall, "MIN_BUDGET", 10)
    monkeypatch.setattr(index_mod.MultiIndex, "MIN_BUDGET", 1)
    scans = []
    real_scan = hamming_mod.scan_knn
    monkeypatch.setattr(hamming_mod, "scan_knn", lambda *a: scans.append(1) or real_scan(*a))
    for kind in ("hash", "mih"):
        index = BinaryCodeIndex.build(db, kind=kind)
        dist, ids = index.search(q, 20)
        np.testing.assert_array_equal(dist, true_d)
        np.testing.assert_array_equal(ids, true_i)
        assert [len(x[1]) for x in index.range_search(q, 5)] == \
            [int((hamming(q[i:i + 1], db) <= 5).sum()) for i in range(5)]
    assert len(scans) == 2                       # both kinds took the scan path


def test_hash_knn_scans_only_the_queries_its_ball_leaves_short(monkeypatch):
    """In one batch, queries whose ball holds k items are answered from the table and only
    the others are scanned; both kinds of row come back as the brute force orders them."""
    from hashret.search import scan as hamming_mod
    from hashret.search import kinds as index_mod
    db = _clustered(2000, 8, flip=0.3)           # 30 copies of row 1000, the rest apart
    q = np.concatenate([db[[1000, 5]], _clustered(3, 8, seed=5, flip=0.3), db[[1001]]])
    monkeypatch.setattr(index_mod.HammingBall, "MIN_BUDGET", 10)   # radius 0 only
    scanned = []
    real_scan = hamming_mod.scan_knn
    monkeypatch.setattr(hamming_mod, "scan_knn",
                        lambda db_, qs, k, *a: scanned.append(len(qs)) or real_scan(db_, qs, k,
                                                                                   *a))
    dist, ids = BinaryCodeIndex.build(db, kind="hash").search(q, 20)
    true_d, true_i = _truth(q, db, 20)
    np.testing.assert_array_equal(dist, true_d)
    np.testing.assert_array_equal(ids, true_i)
    assert scanned == [4]                        # rows 0 and 5 came from the table
    assert (dist[[0, 5]] == 0).all()


def test_mih_substring_count_is_a_parameter_and_exactness_holds_for_each():
    db = _clustered(1200, 8)
    q = db[:6] ^ 1
    true_d, true_i = _truth(q, db, 15)
    for m in (3, 4, 8, 64):
        index = BinaryCodeIndex.build(db, kind="mih", substrings=m)
        assert index.describe()["params"]["substrings"] == m
        dist, ids = index.search(q, 15)
        np.testing.assert_array_equal(dist, true_d)
        np.testing.assert_array_equal(ids, true_i)
    with pytest.raises(UsageError, match="substrings"):
        BinaryCodeIndex.build(db, kind="mih", substrings=2)     # 32-bit substrings: too big


def _range_truth(q, db, radius):
    d = hamming(q, db)
    return [sorted(np.flatnonzero(row <= radius).tolist(), key=lambda j: (row[j], j))
            for row in d]


def test_mih_range_search_probes_its_tables_and_is_exact(monkeypatch):
    """Range queries of a ``mih`` index are answered from its substring tables (the scan
    must not run), for every substring count and radius: each table's share of the
    radius must still reach every item within it, and an item reached by several tables
    must be listed once."""
    from hashret.search import scan as hamming_mod
    db = _clustered(3000, 8, centres=30, flip=0.06)
    ids = np.arange(3000) * 7 + 3
    near = db[100:112].copy()
    near[:, :2] ^= np.arange(12, dtype=np.uint8)[:, None] * 37      # 0-8 bits away
    q = np.concatenate([db[[0, 1500, 1501]], near, _codes(3, 8, seed=4)])
    from hashret.search import kinds as index_mod
    monkeypatch.setattr(index_mod.MultiIndex, "MIN_BUDGET", 10**9)   # never scan
    monkeypatch.setattr(hamming_mod, "scan_range", lambda *a: pytest.fail("scanned"))
    for m in (3, 4, 8, 16):
        index = BinaryCodeIndex.build(db, ids=ids, kind="mih", substrings=m)
        for radius in (0, 1, 2, 3, 5, 6, 9):
            found = index.range_search(q, radius)
            for i, ((d, got), want) in enumerate(zip(found, _range_truth(q, db, radius))):
                assert got.tolist() == ids[want].tolist()
                assert d.dtype == np.int32
                np.testing.assert_array_equal(d, hamming(q[i:i + 1], db[want])[0])
    # 1,000 queries go to the thread pool in spans; the answers stay in query order
    many = db[::3].copy()
    many[:, 0] ^= 3                                          # two bits from an item
    index = BinaryCodeIndex.build(db, kind="mih")
    found = index.range_search(many, 4)
    truth = _range_truth(many, db, 4)
    assert [x[1].tolist() for x in found] == truth
    assert sum(len(t) for t in truth) > 1000                 # the queries do find items


def test_mih_range_query_meeting_huge_buckets_is_scanned_with_identical_results(monkeypatch):
    """A query whose buckets hold far more items than the index's work budget is handed to
    the scan (bounded latency); the other queries of the batch keep the tables' answer."""
    from hashret.search import scan as hamming_mod
    from hashret.search import kinds as index_mod
    rng = np.random.default_rng(2)
    db = np.concatenate([np.zeros((3000, 8), np.uint8),          # one crowded address
                         rng.integers(0, 256, (3000, 8), dtype=np.uint8)])
    q = np.concatenate([np.zeros((1, 8), np.uint8), db[3000:3004]])
    monkeypatch.setattr(index_mod.MultiIndex, "MIN_BUDGET", 200)
    scanned = []
    real = hamming_mod.scan_range
    monkeypatch.setattr(hamming_mod, "scan_range",
                        lambda db_, qs, r: scanned.append(len(qs)) or real(db_, qs, r))
    index = BinaryCodeIndex.build(db, kind="mih", substrings=4)
    found = index.range_search(q, 3)
    assert scanned == [1]                                     # only the crowded query
    assert [x[1].tolist() for x in found] == _range_truth(q, db, 3)
    assert len(found[0][1]) == 3000


def test_database_split_path_of_the_scan_is_exact():
    from hashret.search.scan import SPLIT_MIN
    db = _codes(SPLIT_MIN + 10, 8, 7)   # one query over this many codes splits the database
    q = _codes(1, 8, 8)
    true_d, true_i = _truth(q, db, 30)
    dist, ids = BinaryCodeIndex.build(db).search(q, 30)
    np.testing.assert_array_equal(dist, true_d)
    np.testing.assert_array_equal(ids, true_i)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 1500])
def test_bit_sliced_scan_of_64_bit_codes_equals_brute_force(n):
    """64-bit flat indexes scan bit planes of 256 codes; partial last groups, ties and
    every threshold must give the brute-force results."""
    from hashret.search import planes as hm
    from hashret.search.words import word_view
    db = _clustered(n, 8, seed=n)
    q = np.concatenate([db[:1], db[n // 2: n // 2 + 1], _clustered(6, 8, seed=5)])
    index = BinaryCodeIndex.build(db)
    assert index._state.accel.planes is not None          # the bit-sliced path is taken
    for k in (1, 7, 64, 300):
        dist, ids = index.search(q, k)
        true_d, true_i = _truth(q, db, min(k, n))
        np.testing.assert_array_equal(dist[:, :min(k, n)], true_d)
        np.testing.assert_array_equal(ids[:, :min(k, n)], true_i)
        assert (ids[:, n:] == -1).all()
    # a span of the database that starts and ends inside groups (threads split spans)
    words = word_view(db)
    lo, hi = min(3, n - 1), max(min(n - 5, 700), min(3, n - 1) + 1)
    d = np.full((len(q), 5), 99, np.int64)
    p = np.full((len(q), 5), -1, np.int64)
    hm.knn_scan_planes(hm.bit_planes(words.reshape(-1)), words, word_view(q), 5, lo, hi,
                       d, p, np.zeros(len(q), np.int64))
    true_d, true_i = _truth(q, db[lo:hi], min(5, hi - lo))
    np.testing.assert_array_equal(d[:, :true_d.shape[1]], true_d)
    np.testing.assert_array_equal(p[:, :true_d.shape[1]], true_i + lo)


@pytest.mark.parametrize("kind", APPROX)
def test_approximate_kinds_find_most_true_neighbours(kind):
    db = _clustered(4000, 8, centres=40, flip=0.05)
    q = _clustered(50, 8, centres=40, flip=0.05, seed=3)
    index = BinaryCodeIndex.build(db, kind=kind)
    dist, ids = index.search(q, 10)
    true_d, _ = _truth(q, db, 10)
    assert not index.exact
    # tie-aware recall: a returned item counts when its distance is within the true k-th
    assert (dist <= true_d[:, -1:]).mean() >= 0.9
    np.testing.assert_array_equal(dist, hamming(q, db)[np.arange(50)[:, None], ids])
    with pytest.raises(UsageError, match="cannot remove"):
        index.remove([0])


@pytest.mark.parametrize("kind", EXACT + APPROX)
@pytest.mark.parametrize("mmap", [False, True])
def test_every_kind_saves_and_loads_with_its_kind(tmp_path, kind, mmap):
    db = _clustered(800, 8)
    index = BinaryCodeIndex.build(db, ids=np.arange(800) * 3 + 5, kind=kind)
    index.save(tmp_path / "i.idx")
    loaded = BinaryCodeIndex.load(tmp_path / "i.idx", mmap=mmap)
    assert loaded.kind == kind and loaded.ntotal == 800 and loaded.bits == 64
    for a, b in zip(loaded.search(db[:9], 7), index.search(db[:9], 7)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.reconstruct([5, 8]), db[:2])
    loaded.add(db[:1] ^ 255, [1])              # writes work on a mapped index too
    assert loaded.search(db[:1] ^ 255, 1)[1][0, 0] == 1


def test_flat_files_stay_readable_by_faiss(tmp_path):
    import faiss
    db = _codes(300, 8)
    BinaryCodeIndex.build(db, ids=np.arange(300) + 10).save(tmp_path / "i.faiss")
    fi = faiss.read_index_binary(str(tmp_path / "i.faiss"))
    _, ids = fi.search(db[:3], 1)
    assert ids[:, 0].tolist() == [10, 11, 12]


@pytest.mark.parametrize("kind", ["hash", "mih", "hnsw"])
def test_damaged_container_files_are_refused(tmp_path, kind):
    BinaryCodeIndex.build(_clustered(500, 8), kind=kind).save(tmp_path / "i.idx")
    raw = (tmp_path / "i.idx").read_bytes()
    for bad in (raw[:-3], raw[:20] + b"}" + raw[21:], b"HRBINIDX" + raw[8:12] + b"\xff" * 4):
        (tmp_path / "b.idx").write_bytes(bad)
        with pytest.raises(BundleError, match="damaged"):
            BinaryCodeIndex.load(tmp_path / "b.idx")


@pytest.mark.parametrize("kind", ["hash", "mih"])
def test_add_and_remove_keep_tables_exact(kind):
    db = _clustered(900, 8)
    index = BinaryCodeIndex.build(db[:600], kind=kind)
    index.add(db[600:], np.arange(600, 900))
    assert index.remove(np.arange(0, 900, 2)) == 450
    keep = np.arange(1, 900, 2)
    true_d, true_i = _truth(db[:5], db[keep], 12)
    dist, ids = index.search(db[:5], 12)
    np.testing.assert_array_equal(dist, true_d)
    np.testing.assert_array_equal(ids, keep[true_i])


def test_auto_picks_from_the_size_and_parameters_are_checked():
    from hashret.search.index import choose_kind
    index = BinaryCodeIndex.build(_codes(100, 8), kind="auto")
    assert index.kind == choose_kind(100, 64) == "flat" and index.requested_kind == "auto"
    assert choose_kind(5_000_000, 64) == "mih"
    with pytest.raises(UsageError, match="no parameter 'nprobe'"):
        BinaryCodeIndex.build(_codes(100, 8), kind="hnsw", nprobe=4)
    with pytest.raises(UsageError, match="unknown index kind"):
        BinaryCodeIndex.build(_codes(100, 8), kind="lsh")
    with pytest.raises(UsageError, match="positive integer"):
        BinaryCodeIndex.build(_codes(100, 8), kind="ivf", nlist=0)


@pytest.mark.parametrize("kind", EXACT + ["hnsw"])
def test_concurrent_searches_match_serial(kind):
    from concurrent.futures import ThreadPoolExecutor
    db = _clustered(3000, 8)
    index = BinaryCodeIndex.build(db, kind=kind)
    queries = [db[i:i + 3] ^ np.uint8(i % 7) for i in range(0, 240, 3)]
    serial = [index.search(q, 10) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda q: index.search(q, 10), queries))
    for (a, b), (c, d) in zip(serial, parallel):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


@pytest.mark.parametrize("nbytes", [1, 3, 8, 16, 25])
def test_torch_gpu_scan_gives_the_cpu_scan_results_ties_included(nbytes, monkeypatch):
    # The GPU scan's arithmetic, run by torch on the CPU: same distances and same ids as
    # the compiled scan, including ties (few distinct codes) and k beyond the item count.
    # Small blocks make it merge across code chunks and query blocks.
    from hashret.search import gpu
    monkeypatch.setattr(gpu, "_BLOCK_ELEMENTS", 64)
    rng = np.random.default_rng(nbytes)
    db = rng.integers(0, 256, (40, nbytes), dtype=np.uint8)[rng.integers(0, 40, 300)]
    db[:5] = 255                                        # sign bit of the int64 words set
    q = np.concatenate([db[:7], rng.integers(0, 256, (6, nbytes), dtype=np.uint8)])
    scan = gpu.TorchHammingScan(db, "cpu")
    cpu = BinaryCodeIndex.build(db)
    for k in (1, 10, 64, 310):
        d, p = scan.knn(q, k)
        cd, cp = cpu.search(q, k)
        np.testing.assert_array_equal(d, cd)
        np.testing.assert_array_equal(p, cp)


def test_gpu_flat_search_needs_a_gpu_and_says_so():
    import torch

    from hashret.search.gpu import faiss_has_gpu
    db = _codes(500, 8)
    if faiss_has_gpu() or torch.cuda.is_available():
        index = BinaryCodeIndex.build(db, kind="flat", gpu=1)
        np.testing.assert_array_equal(index.search(db[:5], 10)[0],
                                      BinaryCodeIndex.build(db).search(db[:5], 10)[0])
    else:
        with pytest.raises(UsageError, match="CUDA GPU"):
            BinaryCodeIndex.build(db, kind="flat", gpu=1)


def test_a_faiss_gpu_index_that_returns_garbage_is_not_used(monkeypatch, caplog):
    # faiss-gpu builds without code for the GPU's architecture return uninitialised memory
    # instead of failing; the self-check must catch that and fall back to the torch scan.
    import torch

    from hashret.search import gpu

    class Garbage:
        def search(self, q, k):
            return (np.full((len(q), k), 7, np.int32), np.zeros((len(q), k), np.int64))

    class FakeFaissScan(gpu.FaissGpuScan):
        def __init__(self, codes):
            self.index = Garbage()

    made = []
    monkeypatch.setattr(gpu, "faiss_has_gpu", lambda: True)
    monkeypatch.setattr(gpu, "FaissGpuScan", FakeFaissScan)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu, "TorchHammingScan",
                        lambda codes, device: made.append(device) or "torch-scan")
    assert gpu.gpu_scan(_codes(300, 8)) == "torch-scan"
    assert made == ["cuda"]
    assert "wrong distances" in caplog.text


def test_gpu_search_on_a_loaded_index(tmp_path):
    import torch

    from hashret.search.gpu import faiss_has_gpu
    db = _codes(400, 8)
    BinaryCodeIndex.build(db).save(tmp_path / "flat")
    BinaryCodeIndex.build(db, kind="hash").save(tmp_path / "hash")
    with pytest.raises(UsageError, match="not a flat index"):
        BinaryCodeIndex.load(tmp_path / "hash", gpu=True)
    if faiss_has_gpu() or torch.cuda.is_available():
        d, _ = BinaryCodeIndex.load(tmp_path / "flat", gpu=True).search(db[:5], 10)
        np.testing.assert_array_equal(d, BinaryCodeIndex.build(db).search(db[:5], 10)[0])
    else:
        with pytest.raises(UsageError, match="CUDA GPU"):
            BinaryCodeIndex.load(tmp_path / "flat", gpu=True)


def test_adding_to_a_gpu_flat_index_keeps_earlier_snapshots_whole(monkeypatch):
    # The GPU copy is rebuilt for the new state, not grown in place: a search that holds
    # the previous state must not see positions it has no ids for.
    from hashret.search import gpu
    made = []

    def scan_on_cpu(codes):
        made.append(len(codes))
        return gpu.TorchHammingScan(codes, "cpu")
    monkeypatch.setattr(gpu, "gpu_scan", scan_on_cpu)
    db = _codes(300, 8)
    index = BinaryCodeIndex.build(db[:200], kind="flat", gpu=1)
    before = index._state
    index.add(db[200:])
    assert made == [200, 300]
    assert before.accel.gpu.words.shape[0] == 200
    d, i = index.search(db[:20], 15)
    cd, ci = BinaryCodeIndex.build(db).search(db[:20], 15)
    np.testing.assert_array_equal(d, cd)
    np.testing.assert_array_equal(i, ci)


@pytest.mark.parametrize("kind", EXACT)
def test_warm_up_runs_the_kernels_of_both_query_kinds(kind, monkeypatch):
    """A build warms the index up so numba compiles (and caches) what a later process's
    first query needs: the k-NN and the range path of this kind, on a stored code."""
    from hashret.search import scan as hamming_mod
    index = BinaryCodeIndex.build(_clustered(600, 8), kind=kind)
    ran = []
    from hashret.search import ball, mih
    for mod, name in ((hamming_mod, "scan_knn"), (hamming_mod, "scan_range"),
                      (mih, "mih_knn"), (mih, "mih_range"), (ball, "ball_knn"),
                      (ball, "ball_lookup")):
        real = getattr(mod, name)
        monkeypatch.setattr(mod, name,
                            lambda *a, _n=name, _f=real: ran.append(_n) or _f(*a))
    index.warm_up()
    expect = {"flat": {"scan_knn", "scan_range"}, "hash": {"ball_knn", "ball_lookup"},
              "mih": {"mih_knn", "mih_range"}}[kind]
    assert expect <= set(ran)
    BinaryCodeIndex.build(np.zeros((0, 8), np.uint8)).warm_up()      # empty: nothing to run


def test_build_warms_its_index_up(tmp_path, monkeypatch):
    from hashret import build_index
    from hashret.data import load_dataset
    warmed = []
    monkeypatch.setattr(BinaryCodeIndex, "warm_up", lambda self: warmed.append(self.ntotal))
    corpus = load_dataset("fashion-mnist").take(list(range(200)))
    build_index(corpus, tmp_path / "i", bits=16, model="linear", progress=False)
    assert warmed == [200]
