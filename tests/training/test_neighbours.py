"""Neighbour search and neighbourhood targets of the document models, at any corpus size."""

import numpy as np

from hashret.data.features import SparseRows
from hashret.training.neighbours import NeighbourhoodCounts, drop_self, cosine_neighbours


def _random_counts(n, v, rng, empty_every=7):
    dense = rng.poisson(0.4, (n, v)).astype(np.float32)
    dense[::empty_every] = 0                               # some documents with no words
    rows, cols = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return SparseRows(indptr.astype(np.int64), cols.astype(np.int64), dense[rows, cols], v), \
        dense


def test_sparse_rows_selects_any_rows_in_any_order():
    rng = np.random.default_rng(0)
    counts, dense = _random_counts(40, 12, rng)
    pick = rng.integers(0, 40, 100)                         # repeats, empty rows included
    np.testing.assert_array_equal(counts.rows(pick).toarray(), dense[pick])
    assert len(counts.rows([])) == 0


def test_neighbourhood_targets_of_a_batch_are_counts_plus_weighted_neighbour_mean():
    rng = np.random.default_rng(1)
    counts, dense = _random_counts(50, 9, rng)
    nbrs = rng.integers(0, 50, (50, 4))
    targets = NeighbourhoodCounts(counts, nbrs, weight=0.7)
    batch = rng.permutation(50)[:13]
    expected = dense[batch] + 0.7 / 4 * dense[nbrs[batch]].sum(1)
    np.testing.assert_allclose(targets.rows(batch).toarray(), expected, rtol=1e-6)
    full = dense + 0.7 / 4 * dense[nbrs].sum(1)
    np.testing.assert_allclose(targets.mean_words(), full.sum(1).mean(), rtol=1e-6)
    # one entry per word of a row: the gradient of the decoder's gather then adds each
    # entry's share once, in no order that thread scheduling could change
    got = targets.rows(batch)
    for r in range(len(got)):
        cols = got.indices[got.indptr[r]:got.indptr[r + 1]]
        assert len(np.unique(cols)) == len(cols)


def test_summed_rows_add_repeated_columns_in_order_of_first_occurrence():
    rows = SparseRows(np.array([0, 5, 5, 8]), np.array([3, 1, 3, 0, 1, 2, 2, 2]),
                      np.array([1, 2, 4, 8, 16, 1, 2, 4], np.float32), 4)
    got = rows.summed()
    np.testing.assert_array_equal(got.indptr, [0, 3, 3, 4])
    np.testing.assert_array_equal(got.indices, [3, 1, 0, 2])
    np.testing.assert_array_equal(got.data, [5, 18, 8, 7])
    np.testing.assert_array_equal(got.toarray(), rows.toarray())
    counts, dense = _random_counts(30, 7, np.random.default_rng(2))
    repeated = counts.rows(np.repeat(np.arange(30), 3))    # every row three times, as one
    stacked = SparseRows(repeated.indptr[::3].copy(), repeated.indices, repeated.data, 7)
    np.testing.assert_allclose(stacked.summed().toarray(), 3 * dense)


def _clustered_unit_vectors(n, d=16, clusters=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    label = rng.integers(0, clusters, n)
    e = centres[label] + 0.3 * rng.standard_normal((n, d))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32), label


def test_exact_neighbours_are_the_highest_inner_products_never_the_row_itself():
    e, _ = _clustered_unit_vectors(300)
    nbrs = cosine_neighbours(e, 5)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    best = np.sort(sim, 1)[:, ::-1][:, :5]
    found = np.sort(np.take_along_axis(sim, nbrs, 1), 1)[:, ::-1]
    np.testing.assert_allclose(found, best, atol=1e-5)
    assert not (nbrs == np.arange(300)[:, None]).any()


def test_large_corpus_neighbours_are_found_approximately_and_well():
    """Beyond the exact limit, the inverted-file search still finds nearly every exact
    neighbour of clustered data, and never the row itself."""
    e, label = _clustered_unit_vectors(4_000)
    exact = cosine_neighbours(e, 10)
    approx = cosine_neighbours(e, 10, exact_max=1_000)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall > 0.9
    assert (label[approx] == label[:, None]).mean() > 0.95
    assert not (approx == np.arange(4_000)[:, None]).any()


def test_dropping_self_handles_duplicates_and_missing_results():
    found = np.array([[1, 0, 2],       # itself second: dropped
                      [0, 2, 3],       # itself not found (identical rows): last one dropped
                      [2, 2, 1],       # itself twice cannot happen twice: first one dropped
                      [1, -1, -1],     # too few found: repeats its nearest
                      [-1, -1, -1]])   # none found: names itself
    np.testing.assert_array_equal(drop_self(found, 2),
                                  [[1, 2], [0, 2], [2, 1], [1, 1], [4, 4]])


def test_retrieval_agreement_scores_codes_by_how_alike_what_they_retrieve_is():
    """Codes that put each query next to the documents of its own direction score the mean
    cosine of those documents; codes that mix the directions score less; one code for
    every document scores what a plain list of the database does."""
    from hashret.training.selection import RetrievalAgreement
    rng = np.random.default_rng(0)
    directions = np.eye(4, dtype=np.float32)
    group_db, group_q = np.arange(200) % 4, np.arange(20) % 4
    noisy = directions[group_db] + 0.1 * rng.standard_normal((200, 4)).astype(np.float32)
    vec_db = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    vec_q = directions[group_q]
    q_rows, db_rows = np.arange(200, 220), np.arange(200)
    group = np.concatenate([group_db, group_q])
    agreement = RetrievalAgreement(q_rows, vec_q, db_rows, vec_db, depth=20)

    def codes_by(groups):                  # 16 bits: one group's pattern, +-1 logits
        pattern = np.where(rng.random((4, 16)) < 0.5, 1.0, -1.0)
        return lambda rows: pattern[groups[rows]]

    good = agreement.score(codes_by(group))
    mixed = agreement.score(codes_by((group + np.arange(220) % 2) % 4))
    same = agreement.score(lambda rows: np.ones((len(rows), 16)))
    expected = np.mean([vec_db[group_db == g] @ directions[g] for g in range(4)])
    assert abs(good - expected) < 0.02
    assert good > mixed + 0.2 and good > same + 0.5
    assert abs(same - float((vec_q @ vec_db[:20].T).mean())) < 1e-5


def test_labelled_retrieval_scores_the_mean_average_precision_of_labelled_queries():
    from hashret.training.selection import LabelledRetrieval
    # one query, four database items at Hamming distances 0, 1, 2, 3 from it: relevant
    # (sharing a label) at ranks 1 and 3, so AP = (1/1 + 2/3) / 2
    codes = np.array([[-1] * 8, [-1] * 8, [1] + [-1] * 7, [1, 1] + [-1] * 6,
                      [1, 1, 1] + [-1] * 5], float)
    labels = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 0, 1]], bool)
    scorer = LabelledRetrieval([0], labels[[0]], [1, 2, 3, 4], labels[1:], depth=4)
    assert abs(scorer.score(lambda rows: codes[rows]) - (1 + 2 / 3) / 2) < 1e-9
    # codes that keep each class together score 1; codes that mix the classes less
    rng = np.random.default_rng(0)
    group = np.arange(120) % 4
    onehot = np.eye(4, dtype=bool)[group]
    pattern = np.where(rng.random((4, 16)) < 0.5, 1.0, -1.0)
    scorer = LabelledRetrieval(np.arange(100, 120), onehot[100:], np.arange(100),
                               onehot[:100], depth=10)
    assert scorer.score(lambda rows: pattern[group[rows]]) == 1.0
    mixed = (group + np.arange(120) % 2) % 4
    assert scorer.score(lambda rows: pattern[mixed[rows]]) < 0.8
