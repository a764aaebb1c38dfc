"""Build -> query -> export -> encode -> reload, through the CLI and the library."""
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from hashret import Bundle, Retriever
from hashret.items import codes_from_column
from hashret.search.bits import unpack_bits

from conftest import hamming


def test_cli_build_query_export_fashion(run, tmp_path):
    out = tmp_path / "fm"
    r = run("--quiet", "build", "--dataset", "fashion-mnist", "--bits", "32", "--epochs", "1",
            "--limit", "500", "--out", out)
    assert r.code == 0, r.err
    assert (out / "manifest.json").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_bits"] == 32 and manifest["counts"]["items"] == 500
    assert manifest["bit_order"] == "little" and manifest["model"]["kind"] == "deep"

    r = run("export", out, tmp_path / "out.parquet")
    assert r.code == 0, r.err
    t = pq.read_table(tmp_path / "out.parquet")
    assert t.num_rows == 500
    assert t.schema.field("code").type == pa.binary(4)
    assert t.schema.field("labels").type == pa.list_(pa.string())
    assert t.schema.metadata[b"n_bits"] == b"32" and b"model_hash" in t.schema.metadata
    assert set(t.column("split").to_pylist()) == {"train", "test"}

    first = t.column("id")[0].as_py()
    r = run("query", out, "--id", first, "-k", "5", "--json")
    assert r.code == 0, r.err
    hits = r.json()
    assert len(hits) == 5 and hits[0]["id"] == first and hits[0]["distance"] == 0
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    assert set(hits[0]) == {"id", "distance", "labels", "title"}
    codes = codes_from_column(t.column("code"))
    ids = t.column("id").to_pylist()
    for h in hits:      # the distances are the true Hamming distances between stored codes
        assert hamming(codes[[0]], codes[[ids.index(h["id"])]])[0, 0] == h["distance"]

    r = run("info", out)
    assert r.code == 0 and "32 bits" in r.out and "500" in r.out
    assert re.search(r"validation loss \d+\.\d{4}$", r.out, re.M), r.out
    assert "retrieval agreement" not in r.out
    assert "features    28 x 28 pixels, grey" in r.out
    # the thread count is part of what makes a seeded CPU build reproducible
    assert f"on cpu ({torch.get_num_threads()} threads)" in r.out


def test_query_text_and_readable_table(run, reuters_index):
    out, corpus = reuters_index
    vocabulary = len(json.loads((out / "featurizer.json").read_text())["vocabulary"])
    info = run("info", out).out
    assert f"TF-IDF over {vocabulary:,} terms, tokenizer version 3" in info
    # a deep document model stops by retrieval agreement (images: by the loss)
    assert re.search(r"\(kept \d+; retrieval agreement 0\.\d{3}, highest 0\.\d{3} at epoch "
                     r"\d+\)", info), info
    assert info.count("retrieval agreement") == 1
    r = run("query", out, "--text", "oil prices opec crude output", "-k", "4", "--json")
    assert r.code == 0, r.err
    hits = r.json()
    assert len(hits) == 4 and all(isinstance(h["labels"], list) for h in hits)
    r = run("query", out, "--text", "oil prices", "-k", "3")
    lines = r.out.splitlines()
    assert r.code == 0 and lines[0].split()[:4] == ["rank", "distance", "score", "id"]
    # re-ranked: the score it was ranked by falls down the list, and a line says so
    assert len(lines) == 5 and lines[-1].startswith("ranked by score")
    scores = [float(line.split()[2]) for line in lines[1:4]]
    assert scores == sorted(scores, reverse=True)
    assert "score" not in run("query", out, "--text", "oil prices", "--no-rerank").out
    # --no-rerank: the Hamming order, as Retriever.query(rerank=False) gives it
    from hashret import Retriever
    plain = run("query", out, "--text", "oil prices opec crude output", "-k", "30",
                "--no-rerank", "--json").json()
    expected = Retriever.load(out).query("oil prices opec crude output", k=30, rerank=False)
    assert [h["id"] for h in plain] == [h.id for h in expected]
    assert [h["distance"] for h in plain] == sorted(h["distance"] for h in plain)


def test_query_text_without_a_vocabulary_word_warns(run, reuters_index):
    out, _ = reuters_index
    r = run("query", out, "--text", "zqxjv wkpfh", "-k", "2", "--json")
    assert r.code == 0 and "share no word with the index's vocabulary" in r.err
    r = run("query", out, "--text", "oil prices zqxjv", "-k", "2", "--json")
    assert r.code == 0 and "vocabulary" not in r.err


def test_query_by_file_equals_query_by_text(run, reuters_index, tmp_path):
    out, corpus = reuters_index
    doc = corpus.items[3]
    (tmp_path / "q.txt").write_text(doc)
    by_file = run("query", out, "--file", tmp_path / "q.txt", "--json").json()
    by_text = run("query", out, "--text", doc, "--json").json()
    by_id = run("query", out, "--id", corpus.ids[3], "--json").json()
    assert by_file == by_text
    assert by_id[0]["id"] == corpus.ids[3]
    assert by_text[0]["distance"] == 0     # the document's own code is in the index


def test_radius_returns_everything_within(run, fashion_index):
    out, corpus = fashion_index
    b = Bundle.load(out)
    r = run("query", out, "--id", corpus.ids[0], "--radius", "3", "--json")
    assert r.code == 0, r.err
    got = {h["id"] for h in r.json()}
    d = hamming(b.codes[:1], b.codes)[0]
    assert got == {corpus.ids[i] for i in np.flatnonzero(d <= 3)}


def test_reload_gives_identical_codes_and_results(fashion_index, tmp_path, run):
    out, corpus = fashion_index
    b1, b2 = Bundle.load(out), Bundle.load(out, verify=True)
    codes, emb = b2.model.encode(corpus.take(range(len(corpus))))
    assert np.array_equal(codes, b1.codes)              # re-encoding reproduces the index
    assert np.array_equal(unpack_bits(codes), np.asarray(b1.embeddings()) > 0)
    q = b1.codes[:7]
    assert np.array_equal(b1.index.search(q, 5)[1], b2.index.search(q, 5)[1])
    # `encode` on the same corpus writes the same codes as `export`
    np.save(tmp_path / "x.npy", np.asarray(corpus.take(range(20))))
    assert run("encode", out, tmp_path / "x.npy", tmp_path / "e.parquet",
               "--with-embeddings").code == 0
    t = pq.read_table(tmp_path / "e.parquet")
    assert np.array_equal(codes_from_column(t.column("code")), b1.codes[:20])
    emb = np.stack(t.column("embedding").to_numpy(zero_copy_only=False))
    assert emb.shape == (20, 32) and np.array_equal(emb > 0, unpack_bits(b1.codes[:20]))


def test_image_query_of_other_size_is_resized_with_warning(run, fashion_index, tmp_path):
    from PIL import Image
    out, corpus = fashion_index
    img = np.asarray(corpus.take([0]))[0, :, :, 0]
    Image.fromarray(img).resize((56, 56)).save(tmp_path / "big.png")
    Image.fromarray(img).save(tmp_path / "same.png")
    r = run("query", out, "--image", tmp_path / "big.png", "-k", "3", "--json")
    assert r.code == 0 and "resized" in r.err
    same = run("query", out, "--image", tmp_path / "same.png", "-k", "1", "--json").json()
    assert same[0]["distance"] == 0


def test_library_api(fashion_index):
    out, corpus = fashion_index
    r = Retriever.load(out)
    hits = r.query(np.asarray(corpus.take([5]))[0], k=3)
    assert hits[0].distance == 0 and len(hits) == 3


def test_query_on_the_gpu_says_clearly_when_there_is_none(run, reuters_index):
    import torch

    from hashret.search.gpu import faiss_has_gpu
    out, corpus = reuters_index
    res = run("query", out, "--id", corpus.ids[0], "-k", "3", "--gpu", "--json")
    if faiss_has_gpu() or torch.cuda.is_available():
        assert res.code == 0
        assert res.json() == run("query", out, "--id", corpus.ids[0], "-k", "3",
                                 "--json").json()
    else:
        assert res.code == 2
        assert "CUDA GPU" in res.err and len(res.err.strip().splitlines()) == 1


def test_hit_table_marks_what_it_cuts():
    """Long label lists and titles are cut to the table's columns with "..." so a reader
    knows more is there; short ones are printed whole."""
    from hashret.cli.format import hits_table
    from hashret.retriever import Hit
    labels = ["veg-oil", "linseed", "lin-oil", "soy-oil", "sun-oil", "soybean"]
    long_title = "ARGENTINE 1986/87 GRAIN/OILSEED REGISTRATIONS " * 3
    lines = hits_table([Hit(6, 0, labels, long_title, 0),
                          Hit(7, 2, ["grain"], "SHORT TITLE", 1)]).splitlines()
    assert ",".join(labels)[:27] + "..." in lines[1]
    assert lines[1].endswith(" ".join(long_title.split())[:67] + "...")
    assert "grain " in lines[2] and lines[2].endswith("SHORT TITLE")
    assert "..." not in lines[2]


def _by_id(bundle):
    return {v: r for r, v in enumerate(bundle.items.column("id").to_pylist())}


def test_every_indexed_item_gets_its_nearest_others(run, fashion_index, tmp_path):
    bundle = Bundle.load(fashion_index[0])
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "nb.parquet", "-k", "5")
    assert r.code == 0, r.err
    t = pq.read_table(tmp_path / "nb.parquet").to_pylist()
    assert [row["query_id"] for row in t] == bundle.items.column("id").to_pylist()
    d_all = hamming(bundle.codes, bundle.codes)
    row_of = _by_id(bundle)
    for q, row in enumerate(t):
        rows = [row_of[i] for i in row["neighbour_ids"]]
        assert len(rows) == 5 and q not in rows and len(set(rows)) == 5
        assert row["distances"] == [int(d_all[q, x]) for x in rows]
        others = np.delete(d_all[q], q)
        assert row["distances"] == sorted(others)[:5]


def test_a_corpus_queries_with_the_models_codes(run, fashion_index, tmp_path):
    bundle = Bundle.load(fashion_index[0])
    images = fashion_index[1].take(range(20))
    np.save(tmp_path / "q.npy", images[..., 0])
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "nb.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "4", "--no-rerank")
    assert r.code == 0 and "neighbours of 20 queries" in r.out, r.err
    t = pq.read_table(tmp_path / "nb.parquet")
    assert t.schema.metadata[b"queries"] == b"corpus"
    codes, _ = bundle.model.encode(images)
    d = hamming(codes, bundle.codes)
    row_of = _by_id(bundle)
    for q, row in enumerate(t.to_pylist()):
        assert row["query_id"] == q
        assert row["distances"] == sorted(d[q])[:4]
        assert row["distances"] == [int(d[q, row_of[i]]) for i in row["neighbour_ids"]]
    # re-ranked (the default): what Retriever.query returns for each image
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "rr.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "4")
    assert r.code == 0, r.err
    retriever = Retriever.load(fashion_index[0])
    for q, row in enumerate(pq.read_table(tmp_path / "rr.parquet").to_pylist()):
        hits = retriever.query(images[q, ..., 0], k=4)
        assert row["neighbour_ids"] == [h.id for h in hits]
        assert row["distances"] == [h.distance for h in hits]
    # more neighbours than the index holds: each query gets every item
    r = run("--quiet", "neighbours", fashion_index[0], tmp_path / "all.parquet", "--corpus",
            tmp_path / "q.npy", "-k", "100000")
    assert r.code == 0
    lists = pq.read_table(tmp_path / "all.parquet").column("neighbour_ids").to_pylist()
    assert all(sorted(x) == sorted(row_of) for x in lists)


def test_neighbours_refuses_a_corpus_of_the_other_modality(run, fashion_index, tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a red dress"}\n')
    r = run("neighbours", fashion_index[0], tmp_path / "nb.parquet", "--corpus",
            tmp_path / "d.jsonl")
    assert r.code == 2 and "encodes image but the input is text" in r.err
    assert not (tmp_path / "nb.parquet").exists()
