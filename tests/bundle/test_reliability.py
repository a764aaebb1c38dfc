"""Faults injected on purpose: flipped bytes, killed builds, code-running pickles, racing
readers, odd corpora. Each test fails if the promise it names is broken."""
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hashret import Bundle, Retriever, build_index, read_corpus
from hashret.bundle import MANIFEST, seal_manifest
from hashret.errors import HashretError
from hashret.fileio import file_sha256


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _rewrite_manifest_entry(folder, name):
    """Make the manifest agree with a file changed on purpose (size and checksum)."""
    m = json.loads((folder / MANIFEST).read_text())
    f = folder / name
    m["files"][name] = {"size": f.stat().st_size, "sha256": file_sha256(f)}
    (folder / MANIFEST).write_text(json.dumps(seal_manifest(m)))


def test_check_catches_a_numpy_encoder_that_disagrees_with_the_network(fashion_index,
                                                                       monkeypatch):
    from hashret.check import check_bundle
    from hashret.models.numpy_encoder import NumpyImageEncoder
    logits = NumpyImageEncoder.logits
    monkeypatch.setattr(NumpyImageEncoder, "logits",
                        lambda self, x: logits(self, x) + np.float32(3.0))
    problems, notes = check_bundle(fashion_index[0])
    assert len(problems) == 1 and "numpy encoder that answers queries" in problems[0]
    assert any("model reproduces the stored codes" in n for n in notes)


def test_flipped_byte_in_every_file_is_named(run, fashion_index, tmp_path):
    names = sorted(p.name for p in fashion_index[0].iterdir())
    assert len(names) == 7
    for name in names:
        copy = _copy(fashion_index[0], tmp_path / name)
        f = copy / name
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0x01
        f.write_bytes(bytes(data))
        r = run("check", copy)
        assert r.code == 1, name
        assert name in r.out, (name, r.out)


def test_check_catches_code_drift(run, fashion_index, tmp_path):
    """Weights that no longer reproduce the stored codes (as after a library change)."""
    from safetensors.torch import load_file, save_file
    copy = _copy(fashion_index[0], tmp_path / "c")
    state = load_file(str(copy / "model.safetensors"))
    last_encoder_bias = [k for k in state if k.startswith("encoder") and k.endswith("bias")][-1]
    state[last_encoder_bias] = state[last_encoder_bias] + 5.0
    save_file(state, str(copy / "model.safetensors"))
    _rewrite_manifest_entry(copy, "model.safetensors")
    r = run("check", copy)
    assert r.code == 1 and "other codes than stored" in r.out


def test_item_count_mismatch(run, fashion_index, tmp_path):
    copy = _copy(fashion_index[0], tmp_path / "c")
    t = pq.read_table(copy / "items.parquet")
    pq.write_table(t.slice(0, len(t) - 1), copy / "items.parquet")
    _rewrite_manifest_entry(copy, "items.parquet")
    r = run("check", copy)
    assert r.code == 1 and "items" in r.out


# --- safe loading ---------------------------------------------------------------------

class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_running_pickle_is_refused(run, fashion_index, tmp_path):
    copy = _copy(fashion_index[0], tmp_path / "c")
    marker = tmp_path / "pwned"
    import torch
    torch.save({"x": _Exploit(marker)}, copy / "model.safetensors")
    with open(copy / "model.safetensors", "ab") as f:
        f.write(pickle.dumps(_Exploit(marker)))
    _rewrite_manifest_entry(copy, "model.safetensors")
    picture = tmp_path / "query.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(picture)
    r = run("query", copy, "--image", picture)       # encoding it loads the weights
    assert r.code == 1 and "model.safetensors" in r.err
    assert not marker.exists()
    r = run("check", copy)
    assert r.code == 1 and not marker.exists()


def test_query_by_id_reads_codes_without_loading_the_network(fashion_index):
    # opening an index and querying it by id needs only its codes: torch (two seconds of
    # a command's start) is not imported, and damaged weights do not stop it
    code = ("import sys\nfrom hashret import Retriever\n"
            f"r = Retriever.load({str(fashion_index[0])!r}, with_model=False)\n"
            "hits = r.query_id(r.bundle.items.column('id')[0].as_py(), 5)\n"
            "assert hits[0].row == 0 and hits[0].distance == 0, hits\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_model_of_a_replaced_index_is_refused(fashion_index, tmp_path):
    # opened without it, the network loads when first needed; if a build has replaced the
    # folder since, its weights would not belong to the codes already read
    copy = _copy(fashion_index[0], tmp_path / "c")
    bundle = Bundle.load(copy, with_model=False)
    m = json.loads((copy / MANIFEST).read_text())
    m["created"] = "2000-01-01T00:00:00+00:00"
    (copy / MANIFEST).write_text(json.dumps(seal_manifest(m)))
    with pytest.raises(HashretError, match="replaced after it was opened"):
        bundle.model
    assert Bundle.load(copy).model.config.bits == bundle.bits


def test_model_loaded_later_shares_the_featurizer_already_read(fashion_index):
    # featurizer.json (a large vocabulary for documents) is parsed once per opening
    bundle = Bundle.load(fashion_index[0], with_model=False)
    assert bundle.model.featurizer is bundle.featurizer


# --- crash-safe builds --------------------------------------------------------------------

BUILD = [sys.executable, "-m", "hashret.cli", "--quiet", "build", "--dataset", "fashion-mnist",
         "--limit", "300", "--bits", "16", "--epochs", "2", "--out"]


def _kill_build_when(out: Path, ready, timeout=60):
    proc = subprocess.Popen(BUILD + [str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ready():
            break
        time.sleep(0.002)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished


@pytest.mark.parametrize("moment", ["starting", "temp-folder", "weights-written"])
def test_killed_build_leaves_previous_index_intact(fashion_index, tmp_path, moment):
    out = _copy(fashion_index[0], tmp_path / "idx")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def temps():
        return [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-")]
    start = time.time()
    ready = {"starting": lambda: time.time() - start > 1.0,
             "temp-folder": lambda: bool(temps()),
             "weights-written": lambda: any((t / "index.faiss").exists() for t in temps())}
    finished = _kill_build_when(out, ready[moment])
    assert not finished, "the build ended before it could be killed"
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before
    Bundle.load(out, verify=True)
    # the next build (its destination check) removes what the killed one left behind
    Bundle.check_destination(out)
    assert not temps()


def test_leftover_old_folder_is_restored(fashion_index, tmp_path):
    """A build killed between moving the old index aside and moving the new one in."""
    from hashret.fileio import recover_dir
    aside = tmp_path / ".idx.old-999999999-abcdef12"
    _copy(fashion_index[0], aside)
    recover_dir(tmp_path / "idx")
    Bundle.load(tmp_path / "idx")
    assert not aside.exists()


# --- concurrency ----------------------------------------------------------------------------

def test_threads_query_like_serial(fashion_index):
    out, corpus = fashion_index
    r = Retriever.load(out)
    ids = corpus.ids[:80]
    serial = [[(h.id, h.distance) for h in r.query_id(i, 10)] for i in ids]
    results = {}

    def worker(chunk):
        for i in chunk:
            results[i] = [(h.id, h.distance) for h in r.query_id(i, 10)]
    threads = [threading.Thread(target=worker, args=(ids[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in ids] == serial


def test_reader_sees_old_or_new_index_whole(tmp_path):
    from hashret import load_dataset
    from hashret.data import limit_rows
    corpus = limit_rows(load_dataset("fashion-mnist"), 200)
    out = tmp_path / "idx"
    build_index(corpus, out, bits=8, epochs=1, progress=False)
    stop, seen, errors = threading.Event(), set(), []

    def reader():
        while not stop.is_set():
            try:
                b = Bundle.load(out)
            except HashretError as e:      # an index is always there: no error allowed
                errors.append(str(e))
                continue
            ok = (b.model.config.bits == b.bits == b.index.bits and
                  len(b.items) == b.index.ntotal == b.manifest["counts"]["items"])
            seen.add((b.bits, ok))
    t = threading.Thread(target=reader)
    t.start()
    try:
        for bits, n in ((16, 150), (8, 200), (24, 120)):
            build_index(limit_rows(corpus, n), out, bits=bits, epochs=1, progress=False)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert all(ok for _, ok in seen) and len(seen) >= 2


# --- odd corpora ------------------------------------------------------------------------------

def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return path


def test_ids_and_titles_with_any_characters_round_trip(run, tmp_path):
    odd = ["../etc/passwd", "/abs/path", "日本語", "tab\there", "new\nline", "😀", "a,b;c",
           "\"quoted\"", " ", "NULL"]
    rows = [{"id": i, "title": i + " title", "text": f"market bank rate {k} loan"}
            for k, i in enumerate(odd)]
    src = _jsonl(tmp_path / "c.jsonl", rows)
    assert run("build", src, "--id-column", "id", "--bits", "8", "--epochs", "1", "--out",
               tmp_path / "x").code == 0
    assert run("export", tmp_path / "x", tmp_path / "o.parquet").code == 0
    t = pq.read_table(tmp_path / "o.parquet")
    assert t.column("id").to_pylist() == odd
    assert t.column("title").to_pylist() == [i + " title" for i in odd]
    for i in odd:
        hits = run("query", tmp_path / "x", "--id", i, "-k", "1", "--json").json()
        assert hits[0]["id"] == i and hits[0]["title"] == i + " title"


def test_edge_corpora(run, tmp_path):
    # one item, counted in the singular
    one = _jsonl(tmp_path / "one.jsonl", [{"text": "only one document here"}])
    r = run("--quiet", "build", one, "--bits", "8", "--epochs", "1", "--out", tmp_path / "one")
    assert r.code == 0 and ": 1 item, 8-bit codes" in r.out and ", 1 epoch;" in r.out, r.out
    assert "1 step " in run("info", tmp_path / "one").out
    assert len(Bundle.load(tmp_path / "one").items) == 1
    # all items identical: all codes identical, and search still returns k items
    same = _jsonl(tmp_path / "same.jsonl", [{"text": "the same words again"}] * 30)
    b = build_index(read_corpus(same), tmp_path / "same", bits=16, epochs=1, progress=False)
    assert len(np.unique(b.codes, axis=0)) == 1
    assert (Retriever(b).query_id(0, 5)[-1].distance == 0)
    # a 10 MB document among short ones, and labels missing on some items
    big = "grain wheat corn harvest " * 420_000
    rows = [{"text": big, "label": "grain"}] + [
        {"text": f"bank loan rate {i}", **({"label": "money"} if i % 2 else {})}
        for i in range(20)]
    corpus = read_corpus(_jsonl(tmp_path / "big.jsonl", rows))
    assert len(corpus.items[0]) > 10_000_000 and corpus.labels[1] == []
    b = build_index(corpus, tmp_path / "big", bits=8, epochs=1, progress=False)
    assert b.manifest["counts"]["labelled"] == 11


def test_very_large_image_is_resized(tmp_path):
    from PIL import Image
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((20, 20), 40 * i, np.uint8)).save(tmp_path / "imgs" / "a" /
                                                                  f"{i}.png")
    Image.fromarray(np.zeros((4000, 5000), np.uint8)).save(tmp_path / "imgs" / "a" / "big.png")
    corpus = read_corpus(tmp_path / "imgs")
    assert corpus.take(range(len(corpus))).shape == (5, 20, 20, 1)
    b = build_index(corpus, tmp_path / "x", bits=8, epochs=1, progress=False)
    assert len(b.items) == 5


def test_encoding_memory_does_not_grow_with_corpus(fashion_index, tmp_path):
    """Peak Python/numpy memory of `encode` for 10x more items stays about the same."""
    import tracemalloc
    from hashret.export import encode_corpus_to_parquet
    bundle = Bundle.load(fashion_index[0])
    peaks = {}
    for n in (4_000, 40_000):
        arr = np.lib.format.open_memmap(tmp_path / f"x{n}.npy", "w+", np.uint8, (n, 28, 28))
        arr[:] = 7
        arr.flush()
        del arr
        corpus = read_corpus(tmp_path / f"x{n}.npy")
        tracemalloc.start()
        encode_corpus_to_parquet(bundle, corpus, tmp_path / f"o{n}.parquet", progress=False)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert pq.read_metadata(tmp_path / f"o{n}.parquet").num_rows == n
    # the corpus' id/label/title lists grow with n (about 150 bytes an item); batches do not
    assert peaks[40_000] < peaks[4_000] + 200 * 36_000, peaks


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b", "..", ".", "",
                                  "c:\\win", "nul\0byte", "new\nline", "x" * 500, "ok.png"])
def test_output_names_stay_inside_their_folder(tmp_path, name):
    from hashret.fileio import safe_child
    out = tmp_path / "out"
    out.mkdir()
    p = safe_child(out, name, ".png")
    assert p.parent == out.resolve() and p.name.endswith(".png")
    p.write_bytes(b"x")
    assert [q.name for q in tmp_path.iterdir()] == ["out"]


def test_encoding_in_row_groups_keeps_every_row_in_order(fashion_index, tmp_path, monkeypatch):
    """Row groups smaller than a batch, and a last partial group: the Parquet file holds
    every item once, in corpus order, with the codes and embeddings of an in-memory encode."""
    from hashret import export
    bundle = Bundle.load(fashion_index[0])
    corpus = fashion_index[1]
    monkeypatch.setattr(export, "ROW_GROUP_ROWS", 70)
    export.encode_corpus_to_parquet(bundle, corpus, tmp_path / "o.parquet",
                                    with_embeddings=True, progress=False)
    meta = pq.read_metadata(tmp_path / "o.parquet")
    assert meta.num_row_groups == -(-len(corpus) // 70)
    t = pq.read_table(tmp_path / "o.parquet")
    codes, emb = bundle.model.encode_corpus(corpus, progress=False)
    assert t.column("id").to_pylist() == list(corpus.ids)
    assert [bytes(c) for c in codes] == t.column("code").to_pylist()
    np.testing.assert_allclose(np.asarray(t.column("embedding").to_pylist()), emb, rtol=1e-6)


def test_check_tells_rounding_at_a_threshold_from_drift(fashion_index, monkeypatch):
    """A bit whose value sits within rounding of 0 may flip on another machine; only a
    flip the value moved for is drift."""
    from hashret.check import ROUNDING, check_bundle
    from hashret.models.hash_model import HashModel
    encode = HashModel.encode

    def flip_first_bit(shift):
        def patched(self, items, *a, **kw):
            codes, emb = encode(self, items, *a, **kw)
            emb = emb.copy()
            emb[:, 0] += shift
            return codes ^ np.uint8(1), emb          # bit 0 of every code flipped
        return patched

    monkeypatch.setattr(HashModel, "encode", flip_first_bit(ROUNDING / 10))
    problems, notes = check_bundle(fashion_index[0])
    assert not problems and any("differ only in bits within" in n for n in notes), notes
    monkeypatch.setattr(HashModel, "encode", flip_first_bit(1.0))
    problems, _ = check_bundle(fashion_index[0])
    assert problems and "other codes than stored" in problems[0]
