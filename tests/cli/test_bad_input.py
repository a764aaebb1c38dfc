"""Every user mistake: one line on stderr, the right exit code, nothing damaged."""
import json

import numpy as np
import pytest
from PIL import Image

from hashret import build_index, load_dataset
from hashret.data import limit_rows
from hashret.models import hash_model


def _one_line_error(r, code):
    assert r.code == code, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashret: error: "), r.err
    assert "Traceback" not in r.err


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_bits_not_multiple_of_8(run, tmp_path):
    r = run("build", "--bits", "12", "--out", tmp_path / "x")
    _one_line_error(r, 2)
    assert "multiple of 8" in r.err and not (tmp_path / "x").exists()


def test_missing_index_and_missing_corpus(run, tmp_path):
    """A path that does not exist is a mistake of the command line: exit 2, as a missing
    --file is; an index or corpus that exists but is damaged or empty exits 1."""
    _one_line_error(run("query", tmp_path / "none", "--id", "1"), 2)
    _one_line_error(run("export", tmp_path / "none", tmp_path / "o.parquet"), 2)
    r = run("build", tmp_path / "nocorpus", "--out", tmp_path / "x")
    _one_line_error(r, 2)
    assert "does not exist" in r.err


def test_empty_corpus(run, tmp_path):
    (tmp_path / "c.csv").write_text("text,label\n")
    _one_line_error(run("build", tmp_path / "c.csv", "--out", tmp_path / "x"), 1)


def test_usage_mistakes(run, fashion_index):
    out, _ = fashion_index
    _one_line_error(run("query", out), 2)                                   # no example
    _one_line_error(run("query", out, "--id", "1", "--text", "x"), 2)       # two examples
    _one_line_error(run("query", out, "--bogus"), 2)
    r = run("query", out, "--id", "no-such-id")
    _one_line_error(r, 2)
    assert "not in the index" in r.err
    r = run("query", out, "--text", "a shoe")                               # text to images
    _one_line_error(r, 2)
    assert "holds images" in r.err and "--image" in r.err
    for bad in (("--mirror", "1.5"), ("--mirror", "0.5")):      # out of range; not semi
        r = run("build", "--dataset", "fashion-mnist", "--out", out.parent / "m", *bad)
        _one_line_error(r, 2)
        assert "--mirror" in r.err and not (out.parent / "m").exists()


def test_out_is_a_foreign_folder(run, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    r = run("build", "--dataset", "fashion-mnist", "--limit", "50", "--epochs", "1",
            "--out", foreign)
    _one_line_error(r, 2)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_out_below_missing_folders_is_made_and_below_a_file_is_refused(run, tmp_path):
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"text": f"oil grain bank {i}"}) + "\n"
                                              for i in range(12)))
    nested = tmp_path / "a" / "b" / "idx"
    r = run("--quiet", "build", tmp_path / "c.jsonl", "--bits", "8", "--epochs", "1", "--out",
            nested)
    assert r.code == 0, r.err
    assert (nested / "manifest.json").is_file()
    (tmp_path / "plain").write_text("a file")
    r = run("build", tmp_path / "c.jsonl", "--bits", "8", "--epochs", "1", "--out",
            tmp_path / "plain" / "idx")
    _one_line_error(r, 2)
    assert "is a file" in r.err and (tmp_path / "plain").read_text() == "a file"


def test_damaged_bundles(run, fashion_index, tmp_path):
    import shutil
    out, _ = fashion_index
    for name, damage in [("index.faiss", b"x"), ("items.parquet", None),
                         ("model.safetensors", None), ("config.json", None)]:
        copy = tmp_path / name
        shutil.copytree(out, copy)
        f = copy / name
        if damage is None:
            f.unlink()
        else:
            f.write_bytes(f.read_bytes()[:-10] + damage)
        r = run("query", copy, "--id", "0")
        _one_line_error(r, 1)
        assert name in r.err


def test_flipped_byte_caught_by_verify(run, fashion_index, tmp_path):
    import shutil
    copy = tmp_path / "c"
    shutil.copytree(fashion_index[0], copy)
    f = copy / "model.safetensors"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    r = run("info", copy, "--verify")
    _one_line_error(r, 1)
    assert "model.safetensors" in r.err and "checksum" in r.err


def test_newer_format_refused(run, fashion_index, tmp_path):
    import shutil
    copy = tmp_path / "c"
    shutil.copytree(fashion_index[0], copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["format_version"] = 99
    m["versions"]["hashret"] = "9.0"
    (copy / "manifest.json").write_text(json.dumps(m))
    r = run("info", copy)
    _one_line_error(r, 1)
    assert "format 99" in r.err and "9.0" in r.err


def test_failed_build_keeps_existing_index(fashion_index, tmp_path, monkeypatch):
    import shutil
    out = tmp_path / "idx"
    shutil.copytree(fashion_index[0], out)
    before = _snapshot(out)

    def boom(self, path):
        (path / "partial").write_text("half written")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(hash_model.HashModel, "save", boom)
    corpus = limit_rows(load_dataset("fashion-mnist"), 60)
    with pytest.raises(OSError):
        build_index(corpus, out, bits=16, epochs=1, progress=False)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]        # no temporary left


def test_rebuild_replaces_index(fashion_index, tmp_path):
    import shutil
    out = tmp_path / "idx"
    shutil.copytree(fashion_index[0], out)
    corpus = limit_rows(load_dataset("fashion-mnist"), 60)
    b = build_index(corpus, out, bits=16, epochs=1, progress=False)
    assert b.bits == 16 and len(b.items) == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_stop_word_documents_still_get_codes(run, tmp_path):
    docs = [{"text": f"grain wheat harvest report number {i} farmers crop"} for i in range(30)]
    docs += [{"text": "the of and"}, {"text": ""}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    r = run("build", tmp_path / "c.jsonl", "--bits", "8", "--epochs", "1", "--out",
            tmp_path / "x")
    assert r.code == 0, r.err
    assert "2 document(s) hold no word" in r.err
    hits = run("query", tmp_path / "x", "--id", "31", "-k", "32", "--json").json()
    assert len(hits) == 32


def test_an_image_file_is_refused_as_a_query_of_a_document_index(run, reuters_index, tmp_path):
    out, _ = reuters_index
    picture = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(picture)
    r = run("query", out, "--file", picture)
    _one_line_error(r, 2)
    assert "is an image" in r.err and "--text" in r.err
    # --image names what the user meant, whatever the file holds
    for f in (picture, tmp_path / "notes.txt"):
        f.with_suffix(".txt").write_text("oil prices")
        r = run("query", out, "--image", f)
        _one_line_error(r, 2)
        assert "holds documents" in r.err and "--text" in r.err


def test_parquet_outputs_refuse_names_of_other_formats(run, reuters_index, tmp_path):
    out, _ = reuters_index
    (tmp_path / "codes.csv").write_text("mine\n")
    (tmp_path / "q.jsonl").write_text('{"text": "oil prices"}\n')
    for args in (("export", out, tmp_path / "codes.csv"),
                 ("encode", out, tmp_path / "q.jsonl", tmp_path / "e.json"),
                 ("neighbours", out, tmp_path / "n.txt")):
        r = run(*args)
        _one_line_error(r, 2)
        assert "writes Parquet" in r.err and ".parquet" in r.err
    assert (tmp_path / "codes.csv").read_text() == "mine\n"
    assert not (tmp_path / "e.json").exists() and not (tmp_path / "n.txt").exists()
    # a name without a suffix is the user's choice
    assert run("export", out, tmp_path / "codes").code == 0
    assert (tmp_path / "codes").read_bytes()[:4] == b"PAR1"
