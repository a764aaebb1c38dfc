"""Denoising, generation, query grids, evaluation plots and predicted labels."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hashret import Bundle
from hashret.applications import hamming_path, sample_codes
from hashret.data.images import read_idx
from hashret.search.bits import pack_bits, unpack_bits
from hashret.pictures import image_grid, to_uint8


def _reconstruct(model, images):
    codes, _ = model.encode(images)
    return to_uint8(model.decode(codes))


def test_denoise_folder_writes_each_reconstruction_under_its_name(run, tmp_path,
                                                                  fashion_index):
    out, corpus = fashion_index
    model = Bundle.load(out).model
    images = list(corpus.take(np.arange(5)))
    src = tmp_path / "in"
    src.mkdir()
    names = ["a.png", "b.png", "c.jpg", "d.png", "e.png"]
    for name, img in zip(names, images):
        Image.fromarray(np.asarray(img)[..., 0]).save(src / name)
    r = run("denoise", out, src, tmp_path / "clean")
    assert r.code == 0, r.err
    written = sorted(p.name for p in (tmp_path / "clean").iterdir())
    assert written == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    expect = _reconstruct(model, [np.asarray(Image.open(src / n))[..., None] for n in
                                  sorted(names)])
    for name, want in zip(written, expect):
        got = np.asarray(Image.open(tmp_path / "clean" / name))
        assert got.shape == (28, 28) and np.array_equal(got, want[..., 0])


@pytest.fixture(scope="module")
def linear_fashion(tmp_path_factory):
    """A linear model: fitted in closed form, so its bits are balanced even on few items."""
    from hashret import build_index, load_dataset
    from hashret.data import limit_rows
    out = tmp_path_factory.mktemp("lin") / "fm"
    corpus = limit_rows(load_dataset("fashion-mnist"), 400)
    build_index(corpus, out, bits=32, model="linear", progress=False)
    return out, corpus


def test_denoise_arrays_keep_their_format_and_noise_changes_the_input(run, tmp_path,
                                                                       linear_fashion):
    out, corpus = linear_fashion
    arr = np.stack([np.asarray(i)[..., 0] for i in corpus.take(np.arange(8))])
    np.save(tmp_path / "x.npy", arr)
    assert run("denoise", out, tmp_path / "x.npy", tmp_path / "y.npy").code == 0
    y = np.load(tmp_path / "y.npy")
    assert y.shape == arr.shape and y.dtype == np.uint8
    model = Bundle.load(out).model
    np.testing.assert_array_equal(y, _reconstruct(model, list(arr[..., None]))[..., 0])
    assert run("denoise", out, tmp_path / "x.npy", tmp_path / "n.npy", "--noise",
               "saltpepper:0.5").code == 0
    assert not np.array_equal(np.load(tmp_path / "n.npy"), y)
    # IDX in, IDX out, readable by the IDX reader
    from hashret.applications import write_idx
    write_idx(tmp_path / "x-idx", arr)
    assert run("denoise", out, tmp_path / "x-idx", tmp_path / "y-idx").code == 0
    np.testing.assert_array_equal(np.asarray(read_idx(tmp_path / "y-idx")), y)
    r = run("denoise", out, tmp_path / "x.npy", tmp_path / "z.npy", "--noise", "blur:3")
    assert r.code == 2 and "--noise" in r.err and not (tmp_path / "z.npy").exists()


def test_denoise_document_lists_top_terms(run, tmp_path, reuters_index):
    out, _ = reuters_index
    (tmp_path / "doc.txt").write_text("oil prices crude opec barrels output cut")
    assert run("denoise", out, tmp_path / "doc.txt", tmp_path / "terms.txt").code == 0
    lines = (tmp_path / "terms.txt").read_text().splitlines()
    vocab = set(Bundle.load(out).model.featurizer.vocabulary)
    weights = [float(line.split("\t")[1]) for line in lines]
    assert len(lines) == 20 and all(line.split("\t")[0] in vocab for line in lines)
    assert weights == sorted(weights, reverse=True) and sum(weights) <= 1.0001


def test_denoise_a_corpus_of_documents_writes_a_json_line_each(run, tmp_path, reuters_index,
                                                                 fashion_index):
    from hashret.applications import _denoise_documents
    from hashret.data import read_corpus
    out, _ = reuters_index
    docs = ["oil prices crude opec barrels output cut", "wheat corn grain harvest exports",
            "the bank raised its discount rate"]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"id": f"n{i}", "text": d}) + "\n"
                                              for i, d in enumerate(docs)))
    (tmp_path / "doc.txt").write_text(docs[1])
    assert run("denoise", out, tmp_path / "c.jsonl", tmp_path / "r.jsonl").code == 0
    assert run("denoise", out, tmp_path / "doc.txt", tmp_path / "one.txt").code == 0
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["n0", "n1", "n2"] and rows[2]["title"] == docs[2]
    # a document of a corpus is reconstructed as the same text given alone
    alone = [line.split("\t") for line in (tmp_path / "one.txt").read_text().splitlines()]
    assert [t for t, _ in rows[1]["terms"]] == [t for t, _ in alone]
    assert rows[0]["terms"] != rows[1]["terms"]
    # decoding a chunk at a time changes nothing
    model = Bundle.load(out).model
    _denoise_documents(model, read_corpus(tmp_path / "c.jsonl"), tmp_path / "small.jsonl",
                       None, 0, chunk=2)
    assert (tmp_path / "small.jsonl").read_text() == (tmp_path / "r.jsonl").read_text()
    # each model refuses the other modality's input in one line, and writes nothing
    np.save(tmp_path / "a.npy", np.zeros((2, 8, 8), np.uint8))
    for index, src in ((out, tmp_path / "a.npy"), (fashion_index[0], tmp_path / "c.jsonl")):
        r = run("denoise", index, src, tmp_path / "x.out")
        assert r.code == 2 and "but this model encodes" in r.err, r.err
        assert len(r.err.strip().splitlines()) == 1 and not (tmp_path / "x.out").exists()


def test_hamming_path_runs_between_the_two_codes():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 8), dtype=np.uint8)
    path = hamming_path(a, b, 6)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    d_a = [int(unpack_bits((p ^ a)[None]).sum()) for p in path]
    d_b = [int(unpack_bits((p ^ b)[None]).sum()) for p in path]
    assert d_a == sorted(d_a) and d_b == sorted(d_b, reverse=True)
    assert all(x + y == d_a[-1] for x, y in zip(d_a, d_b))   # on a shortest path


def test_sampled_codes_follow_the_bit_frequencies():
    bits = np.zeros((1000, 16), bool)
    bits[:, 0] = True
    bits[:500, 1] = True
    freq = unpack_bits(sample_codes(pack_bits(bits), 4000)).mean(0)
    assert freq[0] == 1 and abs(freq[1] - 0.5) < 0.05 and freq[2:].max() == 0


def test_generate_interpolation_grid_starts_and_ends_at_the_items(run, tmp_path,
                                                                  fashion_index):
    out, corpus = fashion_index
    b = Bundle.load(out)
    a_id, b_id = str(corpus.ids[0]), str(corpus.ids[1])
    r = run("generate", out, "--interpolate", a_id, b_id, "--steps", "5",
            "--out", tmp_path / "path.png")
    assert r.code == 0, r.err
    got = np.asarray(Image.open(tmp_path / "path.png").convert("RGB"))
    codes = hamming_path(b.codes[0], b.codes[1], 5)
    assert np.array_equal(codes[0], b.codes[0]) and np.array_equal(codes[-1], b.codes[1])
    dist = [int(unpack_bits((c ^ b.codes[0])[None]).sum()) for c in codes]
    want = np.asarray(image_grid(b.model.decode(codes), cols=5,
                                 captions=[f"+{d} bits" for d in dist]))
    assert np.array_equal(got, want)
    r = run("generate", out, "--sample", "6", "--out", tmp_path / "s.png")
    assert r.code == 0
    img = Image.open(tmp_path / "s.png")
    assert img.size == (6 * (84 + 4) + 4, 84 + 8)          # 6 tiles of 84 px (28 x 3)
    r = run("generate", out, "--code", "00ff", "--out", tmp_path / "c.png")
    assert r.code == 2 and "32-bit" in r.err and not (tmp_path / "c.png").exists()


def test_generate_document_codes_as_json(run, tmp_path, reuters_index):
    out, _ = reuters_index
    r = run("generate", out, "--code", "ffff", "--out", tmp_path / "g.json")
    assert r.code == 0, r.err
    rows = json.loads((tmp_path / "g.json").read_text())
    assert rows[0]["code"] == "ffff" and len(rows[0]["terms"]) == 20
    # the same rows as JSON lines, and as text: code, then the terms in order
    assert run("generate", out, "--code", "ffff", "--out", tmp_path / "g.jsonl").code == 0
    lines = (tmp_path / "g.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert run("generate", out, "--code", "ffff", "--out", tmp_path / "g.txt").code == 0
    assert (tmp_path / "g.txt").read_text() == \
        "ffff: " + " ".join(t for t, _ in rows[0]["terms"]) + "\n"


def test_query_grid_draws_query_and_neighbours(run, tmp_path, fashion_index):
    out, corpus = fashion_index
    r = run("query", out, "--id", corpus.ids[3], "-k", "4", "--grid", tmp_path / "q.png")
    assert r.code == 0, r.err
    img = np.asarray(Image.open(tmp_path / "q.png").convert("L"))
    assert img.shape == (84 + 8 + 14, 5 * (84 + 4) + 4)
    query_tile = img[4:88:3, 4:88:3]                         # tile 0 = the query item
    assert np.array_equal(query_tile, np.asarray(corpus.take([3])[0])[..., 0])


def test_eval_plot_and_curves_agree_with_the_figures(run, tmp_path, fashion_index):
    from hashret.eval import evaluate_bundle
    out, corpus = fashion_index
    res = evaluate_bundle(Bundle.load(out), corpus, baselines=False, curves=True)
    c = res["curves"]["hashret-deep"]
    assert c["precision_at"][99] == pytest.approx(res["methods"]["hashret-deep"]
                                                  ["precision@100"], abs=1e-4)
    assert np.all(np.diff(c["recall_at"]) >= -1e-12) and c["recall_at"][-1] <= 1
    r = run("eval", out, "--plot", tmp_path / "p.png")
    assert r.code == 0, r.err
    assert Image.open(tmp_path / "p.png").size == (1280, 420)


def test_semi_supervised_export_carries_predicted_labels(run, tmp_path):
    out = tmp_path / "semi"
    r = run("--quiet", "build", "--dataset", "fashion-mnist", "--limit", "300", "--bits",
            "16", "--epochs", "1", "--model", "semi", "--labels-fraction", "0.5", "--out", out)
    assert r.code == 0, r.err
    assert "from a teacher trained first on" in r.out       # half the items unlabelled
    assert "50% of each batch's images mirrored" in r.out
    assert run("export", out, tmp_path / "e.parquet").code == 0
    t = pq.read_table(tmp_path / "e.parquet")
    b = Bundle.load(out)
    assert t.column("predicted_labels").to_pylist() == b.model.predict_labels(b.codes)


def test_captions_fit_their_tile_and_are_cut_after_a_word():
    from PIL import Image, ImageDraw
    from hashret.pictures import _caption_fonts, fit_caption
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    fonts = _caption_fonts()
    text, font = fit_caption(draw, "d=3 [Dress]", 84, fonts)
    assert text == "d=3 [Dress]" and font is fonts[0]           # fits whole, full size
    long = "d=12 [Ankle boot, T-shirt/top, Pullover]"
    text, font = fit_caption(draw, long, 84, fonts)
    assert draw.textlength(text, font=font) <= 84 and text.endswith("...")
    kept = text[:-3]
    assert long.startswith(kept) and long[len(kept)] in " ,"            # cut after a word
    text, font = fit_caption(draw, "x" * 60, 40, fonts)                  # one long word
    assert draw.textlength(text, font=font) <= 40 and text.endswith("...")


def test_a_semi_document_build_says_where_its_target_bits_came_from(run, tmp_path):
    out = tmp_path / "semi"
    r = run("--quiet", "build", "--dataset", "reuters", "--limit", "400", "--bits", "16",
            "--epochs", "1", "--model", "semi", "--labels-fraction", "0.3", "--out", out)
    assert r.code == 0, r.err
    line = next(l for l in r.out.splitlines() if l.startswith("the target bits came from"))
    pipe = Bundle.load(out).manifest["build"]["train"]["pipeline"]
    assert f"of the {pipe['labelled_items']:,} labelled items trained on" in line
    assert "labels spread over the neighbour graph (alpha 0.5)" in line
    assert pipe["spread"] == 0.5 and not pipe["sentence_vectors"]
