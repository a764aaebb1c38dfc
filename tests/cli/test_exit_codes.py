"""One rule for exit codes, every command: 2 when the command line is wrong (an option
missing, unknown, out of range or of another model kind, a path that does not exist), 1
when what it names is (a damaged index, an empty or unreadable corpus)."""
import shutil

import numpy as np
import pytest

USAGE, DATA = 2, 1


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, fashion_index):
    idx = tmp_path_factory.mktemp("damaged") / "idx"
    shutil.copytree(fashion_index[0], idx)
    data = bytearray((idx / "items.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (idx / "items.parquet").write_bytes(bytes(data))
    return idx


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    (d / "empty.csv").write_text("text,label\n")
    (d / "broken.jsonl").write_text("{not json\n")
    np.save(d / "few.npy", np.zeros((3, 28, 28), np.uint8))
    return d


def _code(run, *args):
    r = run(*args)
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("hashret: error: "), r.err
    return r.code


def test_each_command_tells_usage_from_data_mistakes(run, fashion_index, damaged, files,
                                                     tmp_path):
    ok = fashion_index[0]
    missing = tmp_path / "nothing-here"
    cases = [
        # (expected, args)
        (USAGE, ("build", "--bits", "12", "--out", tmp_path / "b")),
        (USAGE, ("build", missing, "--out", tmp_path / "b")),
        (USAGE, ("build", "--dataset", "fashion-mnist", "--noise", "mask:0.2",
                 "--out", tmp_path / "b")),                   # an option of denoising
        (DATA, ("build", files / "empty.csv", "--out", tmp_path / "b")),
        (USAGE, ("add", ok)),
        (USAGE, ("add", missing, files / "few.npy")),
        (DATA, ("add", damaged, files / "few.npy")),
        (USAGE, ("remove", ok)),
        (DATA, ("remove", damaged, "1")),
        (USAGE, ("query", ok)),
        (USAGE, ("query", ok, "--id", "no-such-item")),
        (USAGE, ("query", ok, "--file", missing)),
        (DATA, ("query", damaged, "--id", "1")),
        (USAGE, ("neighbours", ok, tmp_path / "n.parquet", "-k", "0")),
        (DATA, ("neighbours", damaged, tmp_path / "n.parquet")),
        (USAGE, ("export", ok, tmp_path / "e.csv")),
        (DATA, ("export", damaged, tmp_path / "e.parquet")),
        (USAGE, ("encode", ok, missing, tmp_path / "c.parquet")),
        (DATA, ("encode", ok, files / "broken.jsonl", tmp_path / "c.parquet")),
        (USAGE, ("eval", ok, "--queries", "sideways")),
        (DATA, ("eval", damaged, "--no-baselines")),
        (USAGE, ("denoise", ok, missing, tmp_path / "d.npy")),
        (DATA, ("denoise", damaged, files / "few.npy", tmp_path / "d.npy")),
        (USAGE, ("generate", ok, "--sample", "2", "--out", tmp_path / "g.json")),
        (DATA, ("generate", damaged, "--sample", "2", "--out", tmp_path / "g.png")),
        (USAGE, ("info", ok, "--bogus")),
        (USAGE, ("info", missing)),
        (DATA, ("info", damaged)),
        (USAGE, ("check", missing)),
    ]
    for expected, args in cases:
        assert _code(run, *args) == expected, args
    # a damaged index that check is asked about is its finding, not an error
    r = run("check", damaged)
    assert r.code == 1 and "problem: items.parquet does not match its SHA-256" in r.out
    assert not (tmp_path / "b").exists() and not list(tmp_path.glob("*.parquet"))
