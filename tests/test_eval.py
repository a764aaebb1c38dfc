import numpy as np

from hashret import Bundle
from hashret.eval import evaluate_bundle, label_matrix, relevance, scores

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


def test_eval_matches_an_independent_computation(fashion_index, run):
    out, corpus = fashion_index
    b = Bundle.load(out)
    res = evaluate_bundle(b, corpus, k=100, baselines=False)
    m = res["methods"]["hashret-deep"]
    splits = np.asarray(corpus.splits)
    tr, te = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
    d = hamming(b.codes[te], b.codes[tr])
    # precision@100 is fixed by the distances alone, up to ties at the 100th distance
    lab = [corpus.labels[i][0] for i in range(len(corpus))]
    lo, hi = [], []
    for qi, q in enumerate(te):
        order = np.argsort(d[qi], kind="stable")
        cut = d[qi, order[99]]
        same = np.array([lab[tr[j]] == lab[q] for j in range(len(tr))])
        sure = same[d[qi] < cut].sum()
        tied = d[qi] == cut
        room = 100 - (d[qi] < cut).sum()
        lo.append((sure + max(0, room - (tied & ~same).sum())) / 100)
        hi.append((sure + min(room, (tied & same).sum())) / 100)
    assert np.mean(lo) - 1e-9 <= m["precision@100"] <= np.mean(hi) + 1e-9
    r = run("eval", out, "--json")
    assert r.code == 0, r.err
    got = r.json()["methods"]
    assert set(got) == {"hashret-deep", "lsh", "pca-itq", "float-l2"}
    assert got["hashret-deep"]["precision@100"] == round(m["precision@100"], 4)
    # exact float search on pixels beats random guessing (10 classes) clearly
    assert got["float-l2"]["precision@100"] > 0.2      # chance is about 0.1
