"""``hashret generate --prompt``: from words to codes to pictures (or top terms)."""
import json

import numpy as np
from PIL import Image

from hashret import Bundle, Retriever
from hashret.applications import prompt_codes, prompt_rows



def test_a_class_prompt_generates_pictures_of_that_class(run, fashion_index, tmp_path):
    out, corpus = fashion_index
    bundle = Bundle.load(out)
    rows, matched = prompt_rows(bundle, "trouser")
    assert matched == ["Trouser"]
    labels = bundle.items.column("labels").to_pylist()
    assert all(labels[r] == ["Trouser"] for r in rows) and len(rows) > 20
    # a classifier trained on the index: each indexed item's decoded code, labelled; a
    # generated picture takes the majority label of its 10 nearest (squared error)
    known = bundle.model.decode(bundle.codes).reshape(len(labels), -1)
    for prompt, name in (("trouser", "Trouser"), ("Ankle boots", "Ankle boot")):
        codes, _ = prompt_codes(bundle, prompt, 40, seed=1)
        made = bundle.model.decode(codes).reshape(len(codes), -1)
        dist = ((made[:, None, :] - known[None]) ** 2).sum(-1)
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :10]
        votes = [max(set(v), key=v.count) for v in
                 ([labels[j][0] for j in row] for row in nearest)]
        assert votes.count(name) / len(votes) >= 0.5, (prompt, votes)     # chance: 0.1
    r = run("generate", out, "--prompt", "ankle boot", "--sample", "6", "--out",
            tmp_path / "boots.png")
    assert r.code == 0 and "wrote 6 decoded code(s)" in r.out, r.err
    assert Image.open(tmp_path / "boots.png").size[0] > 28


def test_a_prompt_that_names_nothing_lists_the_nearest_labels(run, fashion_index, tmp_path):
    r = run("generate", fashion_index[0], "--prompt", "sandel", "--out", tmp_path / "x.png")
    assert r.code == 2 and "matches no label or title" in r.err and "'Sandal'" in r.err
    r = run("generate", fashion_index[0], "--prompt", "the of", "--out", tmp_path / "x.png")
    assert r.code == 2 and "holds no word" in r.err
    r = run("generate", fashion_index[0], "--prompt", "bag", "--code", "00", "--out",
            tmp_path / "x.png")
    assert r.code == 2 and "exactly one of" in r.err


def test_a_document_prompt_is_read_as_a_document(run, reuters_index, tmp_path):
    out, _ = reuters_index
    r = run("generate", out, "--prompt", "crude oil prices", "--out", tmp_path / "p.json")
    assert r.code == 0, r.err
    rows = json.loads((tmp_path / "p.json").read_text())
    code = Retriever.load(out).encode(["crude oil prices"])
    assert len(rows) == 1 and rows[0]["code"] == code[0].tobytes().hex()
    assert len(rows[0]["terms"]) == 20
