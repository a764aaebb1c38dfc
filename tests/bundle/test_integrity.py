"""Integrity on every open, code health, and one rule for exit codes."""
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from hashret import Bundle, build_index
from hashret.bundle import MANIFEST
from hashret.data import limit_rows
from hashret.errors import BundleError
from hashret.search.health import code_health, health_warnings

FILES = ["config.json", "embeddings.npy", "featurizer.json", "index.faiss", "items.parquet",
         "model.safetensors"]


def _flip(path, where=0.75):
    """Change one byte of ``path``, at ``where`` of its length (past its header)."""
    data = bytearray(path.read_bytes())
    at = min(len(data) - 1, int(len(data) * where))
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def _one_line(r, code):
    assert r.code == code, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashret: error: "), r.err
    return lines[0]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fashion_index):
    """An image file, an image array and a folder of images to query, encode and denoise."""
    d = tmp_path_factory.mktemp("inputs")
    images = np.stack(fashion_index[1].take(list(range(4)))).squeeze()
    Image.fromarray(images[0].astype(np.uint8)).save(d / "shoe.png")
    np.save(d / "few.npy", images.astype(np.uint8))
    return d


@pytest.mark.parametrize("name", FILES)
def test_a_flipped_byte_in_any_file_stops_every_command(run, fashion_index, inputs, tmp_path,
                                                        name):
    """No command answers from a damaged index: each fails at opening, names the file,
    exits 1, and writes nothing."""
    idx = tmp_path / "idx"
    shutil.copytree(fashion_index[0], idx)
    _flip(idx / name)
    out = tmp_path / "out"
    out.mkdir()
    commands = [
        ("query", idx, "--id", str(fashion_index[1].ids[0])),
        ("query", idx, "--image", inputs / "shoe.png"),
        ("query", idx, "--file", inputs / "shoe.png", "--grid", out / "g.png"),
        ("export", idx, out / "e.parquet"),
        ("encode", idx, inputs / "few.npy", out / "c.parquet"),
        ("neighbours", idx, out / "n.parquet"),
        ("eval", idx, "--no-baselines"),
        ("denoise", idx, inputs / "few.npy", out / "d.npy"),
        ("generate", idx, "--sample", "2", "--out", out / "s.png"),
        ("info", idx),
    ]
    for args in commands:
        line = _one_line(run(*args), 1)
        assert name in line and "rebuild" in line, (args, line)
    assert list(out.iterdir()) == []


def test_a_flipped_byte_stops_a_query_by_text(run, reuters_index, tmp_path):
    idx = tmp_path / "idx"
    shutil.copytree(reuters_index[0], idx)
    _flip(idx / "model.safetensors", 0.9)              # the second half of the weights
    line = _one_line(run("query", idx, "--text", "oil prices"), 1)
    assert "model.safetensors does not match its SHA-256 checksum" in line


def test_an_index_built_not_to_be_hashed_on_open_says_so(tmp_path, fashion_index):
    corpus = limit_rows(fashion_index[1], 200)
    out = tmp_path / "big"
    build_index(corpus, out, bits=16, model="linear", progress=False, verify_on_open=False)
    assert Bundle.load(out).verified is False and Bundle.load(out, verify=True).verified
    _flip(out / "embeddings.npy")
    Bundle.load(out)                                   # sizes agree: opened
    with pytest.raises(BundleError, match="embeddings.npy does not match"):
        Bundle.load(out, verify=True)
    assert Bundle.load(out).summary().verify_on_open is False


def test_info_says_what_opening_checked(run, fashion_index, tmp_path):
    r = run("info", fashion_index[0])
    assert r.code == 0 and "every checksum verified on opening" in r.out
    corpus = limit_rows(fashion_index[1], 200)
    build_index(corpus, tmp_path / "big", bits=16, model="linear", progress=False,
                verify_on_open=False)
    r = run("info", tmp_path / "big")
    assert r.code == 0 and "sizes checked on opening" in r.out
    assert "every checksum verified" in run("info", tmp_path / "big", "--verify").out


def test_a_damaged_manifest_is_said_in_plain_words(run, fashion_index, tmp_path):
    idx = tmp_path / "idx"
    shutil.copytree(fashion_index[0], idx)
    (idx / MANIFEST).write_bytes(b"\xdf\xff" + (idx / MANIFEST).read_bytes())
    line = _one_line(run("query", idx, "--id", "1"), 1)
    assert "not UTF-8 text" in line and "codec" not in line
    (idx / MANIFEST).write_text("{\"format\": ")
    line = _one_line(run("query", idx, "--id", "1"), 1)
    assert "not valid JSON (line 1" in line


# --- code health -------------------------------------------------------------------------

def test_health_figures_of_known_codes():
    rng = np.random.default_rng(0)
    fair = rng.integers(0, 256, (4000, 8), dtype=np.uint8)
    h = code_health(fair)
    assert h["distinct_share"] == 1.0 and h["constant_bits"] == 0
    assert 0.45 < h["bit_balance_min"] <= h["bit_balance_max"] < 0.55
    assert h["mean_abs_bit_correlation"] < 0.05
    assert h["entropy_bits"] == pytest.approx(np.log2(4000), abs=0.01)
    assert health_warnings(h) == []
    collapsed = np.repeat(fair[:5], 800, axis=0)
    collapsed[:, 0] = 0                                 # eight bits never set
    h = code_health(collapsed)
    assert h["distinct_codes"] == 5 and h["largest_bucket_share"] == 0.2
    assert h["constant_bits"] >= 8
    assert h["entropy_bits"] == pytest.approx(np.log2(5), abs=0.01)
    warnings = health_warnings(h)
    assert len(warnings) == 2 and "collapsed" in warnings[0] and "train longer" in warnings[0]
    # a sample of a large set is measured, and says so
    assert code_health(np.repeat(fair, 30, axis=0))["measured"] == 100_000


def test_a_collapsed_build_warns_and_a_healthy_one_does_not(run, tmp_path):
    r = run("build", "--dataset", "fashion-mnist", "--bits", "32", "--epochs", "1",
            "--limit", "600", "--out", tmp_path / "collapsed")
    assert r.code == 0, r.err
    assert "hashret: warning: the codes have collapsed" in r.err
    assert re.search(r"health +\d+ distinct codes for 600 items", r.out)
    # the principal subspace's median bits split the same items evenly
    r = run("build", "--dataset", "fashion-mnist", "--model", "linear", "--bits", "32",
            "--limit", "600", "--out", tmp_path / "healthy")
    assert r.code == 0 and "warning" not in r.err, r.err
    info = run("info", tmp_path / "healthy")
    assert "warning" not in info.out and "health " in info.out
    h = json.loads(run("info", tmp_path / "healthy", "--json").out)["health"]
    assert h["distinct_share"] > 0.9 and h["constant_bits"] == 0
    res = json.loads(run("eval", tmp_path / "collapsed", "--no-baselines", "--json").out)
    assert res["health_warnings"] and res["health"]["distinct_share"] < 0.2
    assert "warning: the codes have collapsed" in run("eval", tmp_path / "collapsed",
                                                      "--no-baselines").out
