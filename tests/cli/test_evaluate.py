import numpy as np
import pyarrow as pa
import pytest

from hashret import Bundle
from hashret.errors import UsageError
from hashret.eval import (dense_features, encode_in_chunks, evaluate_bundle, float_ranking,
                          float_ranking_in_chunks, label_matrix, pca_itq_encoder, query_rows,
                          relevance, scores)

from conftest import hamming


def test_scores_on_a_hand_made_ranking():
    rel = np.array([[True, False, True, False], [False, False, False, False]])
    s = scores(rel, k=2)
    assert s["precision@2"] == 0.25                     # (1/2 + 0/2) / 2
    assert np.isclose(s["mAP@4"], ((1 + 2 / 3) / 2 + 0) / 2)


def test_relevance_is_shared_label():
    lab, vocab = label_matrix([["a"], ["b", "c"], ["c"], []])
    rel = relevance(np.array([[1, 2, 3, -1]]), lab[[2]], lab)
    assert rel.tolist() == [[True, True, False, False]]


def precision_bounds(d, same, k=100):
    """Lowest and highest mean precision@k that any ordering of ties can give, for queries
    with Hamming distances ``d`` (m, n) to the database and relevance ``same`` (m, n):
    precision@k is fixed by the distances alone, up to ties at the k-th distance."""
    lo, hi = [], []
    for di, si in zip(d, same):
        cut = np.sort(di)[k - 1]
        sure = si[di < cut].sum()
        tied = di == cut
        room = k - (di < cut).sum()
        lo.append((sure + max(0, room - (tied & ~si).sum())) / k)
        hi.append((sure + min(room, (tied & si).sum())) / k)
    return np.mean(lo), np.mean(hi)


def test_eval_matches_an_independent_computation(fashion_index, run):
    out, corpus = fashion_index
    b = Bundle.load(out)
    res = evaluate_bundle(b, corpus, k=100, baselines=False)
    m = res["methods"]["hashret-deep"]
    splits = np.asarray(corpus.splits)
    tr, te = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
    d = hamming(b.codes[te], b.codes[tr])
    lab = np.array([corpus.labels[i][0] for i in range(len(corpus))])
    lo, hi = precision_bounds(d, lab[te][:, None] == lab[tr][None, :])
    assert lo - 1e-9 <= m["precision@100"] <= hi + 1e-9
    r = run("eval", out, "--json")
    assert r.code == 0, r.err
    got = r.json()["methods"]
    assert set(got) == {"hashret-deep", "hashret-deep, re-ranked", "lsh", "pca-itq",
                        "float-l2"}
    assert got["hashret-deep"]["precision@100"] == round(m["precision@100"], 4)
    # exact float search on pixels beats random guessing (10 classes) clearly
    assert got["float-l2"]["precision@100"] > 0.2      # chance is about 0.1


def test_leave_one_out_eval_never_retrieves_the_query_itself(fashion_index, run):
    out, corpus = fashion_index
    b = Bundle.load(out)
    res = evaluate_bundle(b, corpus, k=100, baselines=False, queries="train",
                          max_queries=200)
    assert res["leave_one_out"] and res["queries"] == 200
    tr = np.flatnonzero(np.asarray(corpus.splits) == "train")
    q = query_rows(b, "train", 200)[0]
    assert len(q) == 200 and set(q) <= set(tr)
    lab = np.array([corpus.labels[i][0] for i in range(len(corpus))])
    d = hamming(b.codes[q], b.codes[tr])
    same = lab[q][:, None] == lab[tr][None, :]
    # the query at distance 0 from itself would count as one sure hit: take it out
    own = np.searchsorted(tr, q)
    d[np.arange(len(q)), own] = 10 ** 6
    same[np.arange(len(q)), own] = False
    lo, hi = precision_bounds(d, same)
    assert lo - 1e-9 <= res["methods"]["hashret-deep"]["precision@100"] <= hi + 1e-9
    r = run("eval", out, "--queries", "train", "--max-queries", "200", "--no-baselines")
    assert r.code == 0, r.err
    assert "leave-one-out" in r.out


def test_re_ranking_reorders_the_same_hamming_candidates(fashion_index):
    """The re-ranked row orders each query's top-``depth`` Hamming candidates anew: over the
    whole depth it finds exactly as many relevant items; the order, and so mAP, moves."""
    out, corpus = fashion_index
    b = Bundle.load(out)
    assert "hashret-deep, re-ranked" not in evaluate_bundle(b, None, baselines=False)["methods"]
    n_db = int((np.asarray(corpus.splits) == "train").sum())
    res = evaluate_bundle(b, corpus, k=n_db, baselines=False)
    plain, ranked = res["methods"]["hashret-deep"], res["methods"]["hashret-deep, re-ranked"]
    assert plain[f"precision@{n_db}"] == ranked[f"precision@{n_db}"]
    assert plain[f"mAP@{n_db}"] != ranked[f"mAP@{n_db}"]


class _Items:
    """A bundle as far as eval reads it: the items' splits and labels, and their codes."""

    def __init__(self, splits, labels, codes=None):
        self.items = pa.table({"split": splits, "labels": labels})
        self.path = "X"
        self.codes = codes
        self.bits = 0 if codes is None else codes.shape[1] * 8
        self.manifest = {"model": {"kind": "deep"}}


def test_queries_come_from_the_test_split_when_there_is_one_else_from_training():
    with_test = _Items(["train", "test", "train", "test"], [["a"], ["a"], [], []])
    q, db, loo = query_rows(with_test, "auto")
    assert q.tolist() == [1, 3] and db.tolist() == [0, 2] and not loo
    no_test = _Items(["train"] * 5, [["a"], [], ["b"], ["a"], []])
    q, db, loo = query_rows(no_test, "auto")
    assert loo and q.tolist() == [0, 2, 3] and db.tolist() == [0, 1, 2, 3, 4]
    assert len(query_rows(no_test, "train", max_queries=2)[0]) == 2
    with pytest.raises(UsageError, match="queries='train'") as e:
        query_rows(no_test, "test")
    # the option is data: the command line spells the same message with its flag
    from hashret.cli.options import spell_flag
    assert e.value.option == "queries" and "--queries train" in e.value.render(spell_flag)
    with pytest.raises(UsageError, match="none of the 3 training items has a label"):
        query_rows(_Items(["train"] * 3, [[], [], []]), "auto")
    with pytest.raises(UsageError, match="at least 2 training items; the index has 1"):
        query_rows(_Items(["train"], [["a"]]), "auto")


def test_a_leave_one_out_query_is_ranked_against_the_others_only():
    # items 0 and 1 share a label and are each other's nearest; 2 and 3 are alone in
    # their labels, so their only relevant item would be themselves
    codes = np.array([[0b0000], [0b0001], [0b0111], [0b1111]], np.uint8)
    b = _Items(["train"] * 4, [["a"], ["a"], ["b"], ["c"]], codes)
    res = evaluate_bundle(b, None, k=1, baselines=False, curves=True)
    assert res["leave_one_out"] and res["database"] == 4
    m = res["methods"]["hashret-deep"]
    assert m["precision@1"] == 0.5 and m["mAP@3"] == 0.5
    # recall counts the other relevant items only: 0 and 1 find their one, 2 and 3 have none
    assert res["curves"]["hashret-deep"]["recall_at"][-1] == 0.5
    assert "notes" not in res
    # k beyond the 3 other items ranks all of them for any method: said in a note
    res = evaluate_bundle(b, None, k=5, baselines=False)
    assert res["methods"]["hashret-deep"]["precision@5"] == round(2 / 12, 4)  # 1+1+0+0 of 12
    assert res["notes"] == ["each query ranks 3 items, fewer than k = 5: precision@5 "
                            "counts all of them for every method (use a smaller -k)"]


def test_items_without_labels_are_counted_and_relevant_to_nothing():
    # test query 3 has no label; training item 2 (an unsup review) sits on query 1's code
    codes = np.array([[0b0000], [0b0001], [0b0001], [0b0000], [0b0011]], np.uint8)
    b = _Items(["train", "test", "train", "test", "train"], [["a"], ["a"], [], [], ["a"]],
               codes)
    res = evaluate_bundle(b, None, k=1, baselines=False)
    assert (res["unlabelled_queries"], res["unlabelled_database"]) == (1, 1)
    # query 1's nearest is the unlabelled item 2 (no hit); query 3 scores 0
    assert res["methods"]["hashret-deep"]["precision@1"] == 0.0


def test_baselines_computed_a_chunk_at_a_time_equal_the_whole_corpus_at_once(fashion_index):
    out, corpus = fashion_index
    model = Bundle.load(out).model
    rows = np.arange(len(corpus))
    x = dense_features(model, corpus, rows)
    db, q = rows[::2], rows[1::2]
    encode, _ = pca_itq_encoder(x[db], 16)
    np.testing.assert_array_equal(encode_in_chunks(encode, model, corpus, rows, chunk=97),
                                  encode(x))
    for metric in ("l2", "cosine"):
        whole = float_ranking(x[q], x[db], 50, metric)
        chunked = float_ranking_in_chunks(model, corpus, q, db, 50, metric, chunk=64)
        # the same neighbours in the same order, up to the order of exact ties
        assert (chunked == whole).mean() > 0.99
        assert [set(a) == set(b) for a, b in zip(chunked[:, :10], whole[:, :10])].count(True) \
            >= 0.98 * len(q)


def test_pca_itq_on_features_of_fewer_dimensions_than_bits_codes_what_they_span():
    x = np.random.default_rng(0).standard_normal((300, 3)).astype(np.float32)
    encode, used = pca_itq_encoder(x, 16)
    codes = encode(x)
    assert used == 3 and codes.shape == (300, 2)
    assert not codes[:, 1].any() and not (codes[:, 0] >> 3).any()   # bits 3-15 are 0
    assert len(np.unique(codes[:, 0])) == 8                          # three informative bits


def test_eval_of_a_corpus_with_a_vocabulary_smaller_than_the_code(run, tmp_path):
    corpus = tmp_path / "small.csv"
    words = ["apple", "pear", "plum"]
    corpus.write_text("text,label\n" + "".join(
        f"{words[i % 3]} {words[(i // 3) % 3]},{i % 3}\n" for i in range(90)))
    run("build", corpus, "--out", tmp_path / "idx", "--bits", "16", "--epochs", "3")
    r = run("eval", tmp_path / "idx")
    assert r.code == 0, r.err
    assert "pca-itq sets 3 of the 16 bits" in r.out
    assert "float-cosine" in r.out


def test_a_semi_index_is_measured_against_the_label_pipeline_of_its_own_labels(tmp_path):
    """The pipeline reads the labelled items the model used; with them it codes classes
    better than PCA+ITQ on the same features; an index without a classifier has no such
    row."""
    from hashret import build_index, load_dataset
    from hashret.data import limit_rows
    from hashret.eval import evaluate_index
    corpus = limit_rows(load_dataset("fashion-mnist"), 800)
    build_index(corpus, tmp_path / "semi", bits=16, model="semi", epochs=1,
                model_options={"labels_fraction": 0.2, "distil": False}, progress=False)
    res = evaluate_index(tmp_path / "semi")["methods"]
    name = "classifier + pca-itq (same labels)"
    assert res[name]["precision@100"] > res["pca-itq"]["precision@100"] + 0.03
    build_index(corpus, tmp_path / "deep", bits=16, epochs=1, progress=False)
    assert name not in evaluate_index(tmp_path / "deep")["methods"]
