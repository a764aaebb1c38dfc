"""``hashret build``, ``add`` and ``remove``: an index of every kind, and adding the items
of another corpus to a built index or removing items from it."""
import hashlib
import json
import re
import shutil

import numpy as np
import pytest

from hashret import Bundle, Retriever, load_dataset
from hashret.build import add_to_index, remove_from_index
from hashret.check import check_bundle
from hashret.data import read_corpus
from hashret.sources import reopen_corpus
from hashret.search.bits import unpack_bits
from hashret.search.index import BinaryCodeIndex

from conftest import hamming

NEW = [{"text": "OPEC ministers agree to cut crude oil output to support prices",
        "labels": ["crude"]},
       {"text": "Wheat and corn exports rise as grain prices fall", "labels": ["grain"]},
       {"text": "The central bank raised its discount rate by half a point",
        "labels": ["interest", "money-fx"]}]


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _files(path):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in path.iterdir()}


@pytest.fixture
def index_copy(reuters_index, tmp_path):
    out = tmp_path / "idx"
    shutil.copytree(reuters_index[0], out)
    return out


def test_added_items_get_the_models_codes_and_the_indexed_ones_keep_theirs(index_copy,
                                                                          tmp_path):
    before = Bundle.load(index_copy)
    old_ids = before.items.column("id").to_pylist()
    old_embeddings = np.array(before.embeddings())
    new = read_corpus(_write_jsonl(tmp_path / "new.jsonl", NEW))
    after = add_to_index(index_copy, new, progress=False)
    n = len(old_ids)
    assert len(after.items) == after.index.ntotal == after.manifest["counts"]["items"] == n + 3
    # the rows numbered 0, 1, 2 by the reader are numbered on after the largest id
    ids = after.items.column("id").to_pylist()
    assert ids[:n] == old_ids and ids[n:] == [max(old_ids) + 1 + i for i in range(3)]
    assert np.array_equal(after.codes[:n], before.codes)
    expected, _ = before.model.encode([r["text"] for r in NEW])
    assert np.array_equal(after.codes[n:], expected)
    assert np.array_equal(after.index.reconstruct(np.arange(n + 3)), after.codes)
    assert after.items.column("labels").to_pylist()[n:] == [["crude"], ["grain"],
                                                          ["interest", "money-fx"]]
    assert np.array_equal(after.embeddings()[:n], old_embeddings)
    # each added item is found by its own code, among the items at distance 0
    dist, rows = after.index.search(after.codes[n:], n + 3)
    for i in range(3):
        assert n + i in rows[i][dist[i] == 0]
    # eval and check read the added corpus again after the first one
    again = reopen_corpus(after)
    assert [str(i) for i in again.ids] == [str(i) for i in ids]
    assert again.items[n + 1] == NEW[1]["text"]
    problems, notes = check_bundle(index_copy)
    assert not problems and any("reproduces" in x for x in notes)
    # a second addition numbers on from the first
    twice = add_to_index(index_copy, new, progress=False)
    assert twice.items.column("id").to_pylist()[-3:] == [max(old_ids) + 4 + i for i in range(3)]
    assert [list(c) for c in twice.manifest["corpus"]["changes"]] == [["add"], ["add"]]


def test_an_added_corpus_keeps_the_ids_of_its_id_column(index_copy, tmp_path):
    old_ids = Bundle.load(index_copy).items.column("id").to_pylist()
    fresh = [max(old_ids) + 100 + i for i in range(3)]
    rows = [dict(r, id=i) for r, i in zip(NEW, fresh)]
    after = add_to_index(index_copy, read_corpus(_write_jsonl(tmp_path / "new.jsonl", rows)),
                         progress=False)
    assert after.items.column("id").to_pylist()[-3:] == fresh
    assert [str(i) for i in reopen_corpus(after).ids[-3:]] == [str(i) for i in fresh]


def test_adding_to_an_approximate_index_keeps_it_searchable(reuters_index, tmp_path):
    from hashret import build_index
    from hashret.data import limit_rows
    corpus = limit_rows(reuters_index[1], 300)
    out = tmp_path / "mih"
    build_index(corpus, out, bits=16, epochs=1, index_kind="mih", progress=False)
    after = add_to_index(out, read_corpus(_write_jsonl(tmp_path / "n.jsonl", NEW)),
                         progress=False)
    assert after.index.kind == "mih" and after.manifest["index"]["requested"] == "mih"
    flat = BinaryCodeIndex.build(after.codes)
    d1, _ = after.index.search(after.codes[-3:], 10)
    d2, _ = flat.search(after.codes[-3:], 10)
    assert np.array_equal(d1, d2)


def test_bad_additions_are_refused_and_leave_the_index_as_it_was(run, index_copy, tmp_path,
                                                                fashion_index):
    files = _files(index_copy)
    _write_jsonl(tmp_path / "dup.jsonl", [{"text": "oil", "id": 7}])
    first_id = Bundle.load(index_copy).items.column("id").to_pylist()[0]
    _write_jsonl(tmp_path / "dup.jsonl", [{"text": "oil", "id": first_id}])
    _write_jsonl(tmp_path / "text_ids.jsonl", [{"text": "oil", "id": "doc-a"}])
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    np.save(tmp_path / "images.npy", np.zeros((2, 8, 8), np.uint8))
    for args, code, message in (
            (["dup.jsonl", "--id-column", "id"], 1, f"already in the index .*\\({first_id}\\)"),
            (["text_ids.jsonl", "--id-column", "id"], 2, "has integer ids but .*text ids"),
            (["bad.jsonl"], 1, "not valid JSON"),
            (["images.npy"], 2, "encodes text but the input is image"),
            (["missing.jsonl"], 2, "does not exist")):
        r = run("add", index_copy, tmp_path / args[0], *args[1:])
        assert r.code == code, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1
        assert re.search(message, r.err), (message, r.err)
        assert _files(index_copy) == files
    r = run("add", tmp_path / "nowhere", tmp_path / "bad.jsonl")
    assert r.code == 2 and "no index at" in r.err


def test_cli_add_reports_the_new_ids(run, index_copy, tmp_path, monkeypatch):
    _write_jsonl(tmp_path / "new.jsonl", NEW)
    n = Bundle.load(index_copy).manifest["counts"]["items"]
    monkeypatch.chdir(tmp_path)          # a relative path is recorded as an absolute one
    r = run("--quiet", "add", index_copy, "new.jsonl")
    assert r.code == 0, r.err
    assert f"added 3 items to {index_copy} (now {n + 3:,}" in r.out
    info = run("info", index_copy)
    assert "added " + str(tmp_path / "new.jsonl") + " (3 items)" in info.out
    q = run("query", index_copy, "--text", NEW[0]["text"], "--radius", "0", "--json")
    assert NEW[0]["text"] in [h["title"] for h in q.json() if h["distance"] == 0]
    # one more item: its one id, in the singular
    _write_jsonl(tmp_path / "one.jsonl", NEW[:1])
    r = run("--quiet", "add", index_copy, "one.jsonl")
    last = Bundle.load(index_copy).items.column("id").to_pylist()[-1]
    assert f"added 1 item to {index_copy} (now {n + 4:,}; id {last})" in r.out, r.out


def test_removed_items_leave_the_index_and_the_others_keep_their_rows_codes_and_ids(
        index_copy, tmp_path):
    add_to_index(index_copy, read_corpus(_write_jsonl(tmp_path / "new.jsonl", NEW)),
                 progress=False)
    before = Bundle.load(index_copy)
    ids = before.items.column("id").to_pylist()
    old_embeddings = np.array(before.embeddings())
    gone = [ids[0], ids[5], ids[-1]]              # one of the first corpus, one added
    after = remove_from_index(index_copy, [str(i) for i in gone])
    keep = [r for r, i in enumerate(ids) if i not in gone]
    assert after.items.column("id").to_pylist() == [ids[r] for r in keep]
    assert np.array_equal(after.codes, before.codes[keep])
    assert np.array_equal(after.index.reconstruct(np.arange(len(keep))), after.codes)
    assert np.array_equal(after.embeddings(), old_embeddings[keep])
    assert after.manifest["counts"]["items"] == after.index.ntotal == len(ids) - 3
    # the items that remain are found by their codes at their new rows
    dist, rows = after.index.search(after.codes[:5], len(keep))
    for i in range(5):
        assert i in rows[i][dist[i] == 0]
    # eval and check read the corpora again without the removed items; an id removed
    # and added again is indexed once more
    again = reopen_corpus(after)
    assert [str(i) for i in again.ids] == [str(i) for i in after.items.column("id").to_pylist()]
    problems, _ = check_bundle(index_copy)
    assert not problems
    _write_jsonl(tmp_path / "back.jsonl", [{"text": "Cocoa exports rise", "id": gone[0]}])
    back = add_to_index(index_copy, read_corpus(tmp_path / "back.jsonl", id_column="id"),
                        progress=False)
    assert back.items.column("id").to_pylist()[-1] == gone[0]
    assert [str(i) for i in reopen_corpus(back).ids][-1] == str(gone[0])


def test_cli_remove_refuses_unknown_ids_and_changes_nothing(run, index_copy, tmp_path):
    files = _files(index_copy)
    ids = Bundle.load(index_copy).items.column("id").to_pylist()
    for args, message in (([str(ids[0]), "no-such-id"],
                           "1 id\\(s\\) are not in the index .*no-such-id.*nothing was removed"),
                          ([], "at least one item"),
                          ([str(i) for i in ids], "remove every item")):
        r = run("remove", index_copy, *args)
        assert r.code == 2 and re.search(message, r.err), r.err
        assert _files(index_copy) == files
    (tmp_path / "ids.txt").write_text(f"{ids[1]}\n\n{ids[2]}\n")
    r = run("remove", index_copy, str(ids[3]), "--ids-file", tmp_path / "ids.txt")
    assert r.code == 0 and f"removed 3 items from {index_copy} (now {len(ids) - 3:,})" in r.out
    assert "removed 3 items" in run("info", index_copy).out


def test_images_of_another_size_are_added_and_eval_says_what_it_cannot_redo(
        run, fashion_index, tmp_path):
    out = tmp_path / "fm"
    shutil.copytree(fashion_index[0], out)
    np.save(tmp_path / "big.npy", np.zeros((3, 32, 32), np.uint8))
    r = run("--quiet", "add", out, tmp_path / "big.npy")
    assert r.code == 0 and "added 3 items" in r.out, r.err
    assert run("eval", out, "--no-baselines").code == 0
    r = run("eval", out)
    assert r.code == 2 and "cannot be read again as one" in r.err and "--no-baselines" in r.err
    r = run("check", out)
    assert r.code == 0 and "codes not re-derived" in r.out


def test_build_with_each_exact_index_kind_answers_like_brute_force(run, tmp_path):
    for kind in ("hash", "mih"):
        out = tmp_path / kind
        r = run("--quiet", "build", "--dataset", "fashion-mnist", "--bits", "16", "--epochs",
                "1", "--limit", "300", "--model", "linear", "--index", kind, "--out", out)
        assert r.code == 0, r.err
        assert run("info", out, "--json").json()["index"]["kind"] == kind
        b = Bundle.load(out)
        first = b.items.column("id")[0].as_py()
        r = run("query", out, "--id", first, "--radius", "2", "--json")
        assert r.code == 0, r.err
        d = hamming(b.codes[:1], b.codes)[0]
        assert sorted(h["distance"] for h in r.json()) == sorted(d[d <= 2].tolist())
        # a query by example re-ranks this kind's exact Hamming candidates: the hits of a
        # brute-force search of the same codes, re-ranked the same way
        # (k = 30 re-ranks 300 candidates: every item, so no tie decides which)
        image = load_dataset("fashion-mnist").take([7])[0]
        retriever = Retriever.load(out)
        hits = retriever.query(image, k=30)
        codes, logits = retriever._encode([image])
        score = (logits[0] * (unpack_bits(b.codes) * 2.0 - 1)).sum(1)
        assert np.allclose(sorted(score[[h.row for h in hits]]), sorted(score)[-30:],
                           atol=1e-4)
        assert [h.distance for h in hits] == hamming(codes, b.codes)[0][
            [h.row for h in hits]].tolist()
    r = run("build", "--out", tmp_path / "x", "--index", "ivf", "--index-param", "M=4")
    assert r.code == 2 and "no parameter 'M'" in r.err
