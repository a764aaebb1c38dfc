"""Re-ranking Hamming candidates by the query's logits against the items' bits."""

import numpy as np

from hashret import defaults
from hashret.search.bits import pack_bits, unpack_bits
from hashret.search.rerank import asymmetric_order, rerank_candidates


def test_candidates_are_ordered_by_logits_against_bits_and_missing_ones_go_last():
    rng = np.random.default_rng(0)
    codes = pack_bits(rng.random((50, 16)) < 0.5)
    logits = rng.standard_normal((3, 16)).astype(np.float32)
    rows = np.stack([rng.permutation(50)[:12] for _ in range(3)])
    rows[1, 4] = -1                                      # fewer candidates than asked
    order = asymmetric_order(logits, rows, codes)
    for q in range(3):
        ranked = rows[q][order[q]]
        found = ranked[ranked >= 0]
        score = (logits[q] * (unpack_bits(codes[found]) * 2.0 - 1)).sum(1)
        assert np.all(np.diff(score) <= 1e-5)            # highest first
        assert sorted(ranked.tolist()) == sorted(rows[q].tolist())   # the same candidates
    assert rows[1][order[1]][-1] == -1


def test_a_confident_bit_outweighs_several_unsure_ones():
    """Hamming distance counts every bit alike; the asymmetric score weighs each by how sure
    the query's code is of it, so the candidate that agrees on the sure bit wins."""
    logits = np.array([[4.0, -0.1, -0.1, -0.1, 0.1, 0.1, 0.1, 0.1]], np.float32)
    query_bits = logits > 0
    near = query_bits.copy()
    near[0, 0] = False                                  # 1 bit off: the sure one
    far = query_bits.copy()
    far[0, 1:4] = True                                  # 3 bits off: unsure ones
    codes = pack_bits(np.concatenate([near, far]))
    order = asymmetric_order(logits, np.array([[0, 1]]), codes)
    assert order[0].tolist() == [1, 0]


def test_enough_candidates_are_re_ranked_for_k_results():
    assert rerank_candidates(10, 1_000_000) == max(defaults.RERANK_MIN_CANDIDATES,
                                                   10 * defaults.RERANK_CANDIDATES_PER_RESULT)
    assert rerank_candidates(100, 50) == 50
    assert rerank_candidates(7, 10_000) >= 7 * defaults.RERANK_CANDIDATES_PER_RESULT


def test_a_query_by_example_returns_re_ranked_hamming_candidates(fashion_index):
    from hashret import Retriever
    r = Retriever.load(fashion_index[0])
    corpus = fashion_index[1]
    reordered = 0
    for image in corpus.take(np.arange(0, 60, 4)):
        plain = r.query(image, k=20, rerank=False)
        hits = r.query(image, k=20)
        codes, logits = r._encode([image])
        n = rerank_candidates(20, r.bundle.index.ntotal)
        pool = {h.row for h in r.query(image, k=n, rerank=False)}
        assert len(hits) == 20 and {h.row for h in hits} <= pool
        score = [(logits[0] * (unpack_bits(r.bundle.codes[[h.row]])[0] * 2.0 - 1)).sum()
                 for h in hits]
        assert np.all(np.diff(score) <= 1e-4)
        assert [h.distance for h in plain] == sorted(h.distance for h in plain)
        # each hit keeps its true Hamming distance to the query
        for h in hits:
            assert h.distance == int(unpack_bits(codes ^ r.bundle.codes[[h.row]]).sum())
        reordered += [h.row for h in hits] != [h.row for h in plain]
    assert reordered >= 3          # the score reorders some queries' Hamming neighbours


def test_a_batch_of_queries_gives_what_each_query_gives_alone(fashion_index):
    from hashret import Retriever
    r = Retriever.load(fashion_index[0])
    images = fashion_index[1].take(np.arange(1, 40, 3))
    for rerank in (True, False):
        batch = r.query_many(images, k=15, rerank=rerank)
        assert len(batch) == len(images)
        for image, hits in zip(images, batch):
            alone = r.query(image, k=15, rerank=rerank)
            assert [(h.row, h.distance) for h in hits] == [(h.row, h.distance) for h in alone]
    assert r.query_many([], k=5) == []
