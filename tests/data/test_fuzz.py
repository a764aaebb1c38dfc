"""Property-based tests: random and mutated bytes fed to every reader and to bundle loading.

Each input is either read or rejected with a hashret error: never another exception, never
a hang (every example must finish within a few seconds)."""
import gzip
import io
import json
import os
import shutil
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hashret import Bundle, read_corpus
from hashret.bundle import seal_manifest
from hashret.errors import HashretError
from hashret.fileio import file_sha256

# HASHRET_FUZZ_EXAMPLES raises the count for a deeper run (docs/RELIABILITY.md).
FUZZ = settings(max_examples=int(os.environ.get("HASHRET_FUZZ_EXAMPLES", 30)), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SECONDS = 10


def mutations():
    """A list of edits: flip a byte, truncate, or insert bytes at a relative position."""
    edit = st.one_of(
        st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
        st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
        st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=16)))
    return st.lists(edit, min_size=1, max_size=4)


def mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for kind, where, arg in edits:
        pos = int(where * max(len(b) - 1, 0))
        if kind == "flip" and b:
            b[pos] ^= arg
        elif kind == "cut":
            del b[pos:]
        elif kind == "insert":
            b[pos:pos] = arg
    return bytes(b)


def read_all(path: Path):
    """Read a corpus and decode every item (readers are lazy)."""
    start = time.time()
    try:
        c = read_corpus(path)
        for _ in c.batches(64):
            pass
    except HashretError:
        pass
    assert time.time() - start < SECONDS


def _idx(arr) -> bytes:
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def _png(value) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(value) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4))
    return buf.getvalue()


SGML = (b'<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'
        b'<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="5544" '
        b'NEWID="1">\n<DATE>26-FEB-1987</DATE>\n<TOPICS><D>cocoa</D></TOPICS>\n<TEXT>&#2;\n'
        b'<TITLE>BAHIA COCOA REVIEW</TITLE>\n<BODY>Showers continued &lt;throughout&gt; the week'
        b'\n&#3;</BODY></TEXT>\n</REUTERS>\n'
        b'<REUTERS TOPICS="YES" LEWISSPLIT="TEST" CGISPLIT="TRAINING-SET" OLDID="5545" '
        b'NEWID="2">\n<TOPICS><D>grain</D><D>wheat</D></TOPICS>\n<TEXT><TITLE>WHEAT</TITLE>'
        b'<BODY>Wheat prices rose</BODY></TEXT>\n</REUTERS>\n')


def _parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": ["alpha beta", "gamma"], "label": ["a", "b"]}), buf)
    return buf.getvalue()


def _reuters_targz() -> bytes:
    return _targz({"reuters21578/reut2-000.sgm": SGML})


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, x_train=np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4),
                        y_train=np.array([1, 2]), x_test=np.zeros((1, 4, 4), np.uint8),
                        y_test=np.array([3]))
    return buf.getvalue()


def _cifar_bin() -> bytes:
    return b"".join(bytes([k]) + bytes(range(256)) * 12 for k in range(2))


def _cifar_targz() -> bytes:
    return _targz({"cifar-10-batches-bin/" + name: data for name, data in (
        ("data_batch_1.bin", _cifar_bin()), ("test_batch.bin", _cifar_bin()),
        ("batches.meta.txt", b"cat\ndog\n"))})


def _stl10_targz() -> bytes:
    images = bytes(range(256)) * 108                     # one 96 x 96 colour image
    return _targz({"stl10_binary/" + name: data for name, data in (
        ("train_X.bin", images * 2), ("train_y.bin", b"\x01\x02"), ("test_X.bin", images),
        ("test_y.bin", b"\x02"), ("class_names.txt", b"cat\ndog\n"))})


def _hub_images_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq
    buf = io.BytesIO()
    pq.write_table(pa.table({"img": [{"bytes": _png(v), "path": f"{v}.png"} for v in (10, 200)],
                             "label": [0, 1]}), buf)
    return buf.getvalue()


def _svhn_mat() -> bytes:
    from scipy.io import savemat
    buf = io.BytesIO()
    savemat(buf, {"X": np.arange(4 * 4 * 3 * 2, dtype=np.uint8).reshape(4, 4, 3, 2),
                  "y": np.array([[1.0], [10.0]])})
    return buf.getvalue()


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _targz(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _cifar_python_targz() -> bytes:
    import pickle
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251
    batch = pickle.dumps({b"data": data, b"labels": [0, 1]}, protocol=2)
    return _targz({f"cifar-10-batches-py/{n}": batch for n in ("data_batch_1", "test_batch")}
                  | {"cifar-10-batches-py/batches.meta":
                     pickle.dumps({b"label_names": [b"cat", b"dog"]}, protocol=2)})


def _text_zip() -> bytes:
    return _zip({"news/train/sport/1.txt": "goal match referee",
                 "news/train/food/2.txt": "bread butter", "news/test/food/3": "cheese bread"})


def _images_targz() -> bytes:
    return _targz({"pics/cat/a.png": _png(10), "pics/dog/b.jpg": _jpeg(90)})


def _html_zip() -> bytes:
    return _zip({"site/cooking/a.html": "<html><head><title>Bread</title><script>x()</script>"
                                        "</head><body><p>flour &amp; water</p></body></html>",
                 "site/space/b.htm": "<h1>Orbit</h1><p>rocket<br>moon</p>",
                 "site/space/c.md": "# Launch\n\ncountdown"})


SEEDS = {
    "excel.csv": lambda: '\ufefftext;labels\n"alpha; beta";"[\'x\', \'y\']"\ngamma;z\n'
                         .encode("utf-8"),
    "sheet.tsv": lambda: "text\tlabel\nalpha beta\tx\ngamma\ty\n".encode("utf-16"),
    "c.json": lambda: b'[{"text": "alpha beta", "label": "x"}, {"text": "gamma"}]',
    "ft.txt": lambda: b"__label__x __label__y alpha beta\n\n__label__z gamma\nplain line\n",
    "r8.txt": lambda: b"earn\tstock split approved\nacq\tunit sale\t\"q\"\n\n1\t\n",
    "agnews.csv": lambda: b'"3","Wall St. Bears","Short-sellers are back."\n"4","Chip","New."\n',
    "site.zip": _html_zip,
    "c.jsonl": lambda: b'{"text": "alpha beta", "label": ["x"]}\n{"text": "gamma", "id": 3}\n',
    "c.csv": lambda: b'text,label,split\n"alpha, beta",x,train\ngamma,y,test\n',
    "c.parquet": _parquet,
    "reut2-000.sgm": lambda: SGML,
    "reuters21578.tar.gz": _reuters_targz,
    "x.npy": _npy,
    "k.npz": _npz,
    "data_batch_1.bin": _cifar_bin,
    "cifar-10-binary.tar.gz": _cifar_targz,
    "cifar-10-python.tar.gz": _cifar_python_targz,
    "stl10_binary.tar.gz": _stl10_targz,
    "train_32x32.mat": _svhn_mat,
    "train-00000-of-00001.parquet": _hub_images_parquet,
    "news.zip": _text_zip,
    "pics.tar.gz": _images_targz,
    "train-images-idx3-ubyte": lambda: _idx(np.arange(2 * 5 * 5).reshape(2, 5, 5)),
    "train-images-idx3-ubyte.gz": lambda: gzip.compress(_idx(np.zeros((2, 5, 5)))),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_files_are_readable(tmp_path, name):
    (tmp_path / name).write_bytes(SEEDS[name]())
    c = read_corpus(tmp_path / name)
    assert len(c) >= 1


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(edits=mutations())
def test_mutated_files(tmp_path_factory, name, edits):
    d = tmp_path_factory.mktemp("fuzz")
    (d / name).write_bytes(mutate(SEEDS[name](), edits))
    if name.startswith("train-images"):     # give the images a labels file to pair with
        (d / name.replace("images-idx3", "labels-idx1")).write_bytes(
            mutate(_idx(np.array([1, 2])), edits[:1]) if not name.endswith(".gz")
            else gzip.compress(_idx(np.array([1, 2]))))
    read_all(d / name)


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from(sorted(SEEDS)))
def test_random_bytes(tmp_path_factory, data, suffix):
    d = tmp_path_factory.mktemp("rand")
    (d / suffix).write_bytes(data)
    read_all(d / suffix)


def read_folder(tmp_path_factory, files: dict):
    """Write ``files`` (relative path -> bytes) into a new folder and read it."""
    d = tmp_path_factory.mktemp("folder")
    for name, data in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    read_all(d)


@FUZZ
@given(png=mutations(), jpeg=mutations())
def test_mutated_images_in_a_folder(tmp_path_factory, png, jpeg):
    read_folder(tmp_path_factory, {"a/ok.png": _png(10), "a/m.png": mutate(_png(200), png),
                                   "a/m.jpg": mutate(_jpeg(90), jpeg)})


@FUZZ
@given(pdf=mutations(), epub=mutations())
def test_mutated_pdf_and_epub_in_a_folder(tmp_path_factory, pdf, epub):
    from test_readers import _epub, _pdf
    read_folder(tmp_path_factory, {
        "a/ok.txt": b"plain words",
        "a/m.pdf": mutate(_pdf(["Orbit of the moon", "rocket launch"]), pdf),
        "a/m.epub": mutate(_epub("Title", ["one", "two"]), epub)})


@FUZZ
@given(table=mutations(), png=mutations())
def test_mutated_table_labelling_a_folder_of_images(tmp_path_factory, table, png):
    read_folder(tmp_path_factory, {
        "train/a0.png": _png(10), "train/a1.png": mutate(_png(200), png),
        "labels.csv": mutate(b"id,breed\na0,pug\na1,collie\n", table)})


@FUZZ
@given(text=st.text(max_size=200), raw=st.binary(max_size=200))
def test_text_folder_any_content(tmp_path_factory, text, raw):
    d = tmp_path_factory.mktemp("txt")
    (d / "lab").mkdir()
    (d / "lab" / "a.txt").write_text(text, "utf-8", errors="surrogatepass") \
        if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text) else None
    (d / "lab" / "b.txt").write_bytes(raw)
    read_all(d)


BUNDLE_FILES = ["manifest.json", "config.json", "featurizer.json", "model.safetensors",
                "index.faiss", "items.parquet", "embeddings.npy"]


@pytest.mark.parametrize("name", BUNDLE_FILES)
@FUZZ
@given(edits=mutations(), fix_manifest=st.booleans())
def test_mutated_bundle_files(fashion_index, tmp_path_factory, name, edits, fix_manifest):
    """A damaged file, with or without a manifest rewritten to match it, is either loaded
    or refused with a hashret error (a matching manifest sends the bytes to the parsers)."""
    d = tmp_path_factory.mktemp("bundle") / "b"
    shutil.copytree(fashion_index[0], d)
    f = d / name
    f.write_bytes(mutate(f.read_bytes(), edits))
    if fix_manifest and name != "manifest.json":
        m = json.loads((d / "manifest.json").read_text())
        m["files"][name] = {"size": f.stat().st_size, "sha256": file_sha256(f)}
        (d / "manifest.json").write_text(json.dumps(seal_manifest(m)))
    start = time.time()
    try:
        b = Bundle.load(d)
        b.index.search(b.codes[:2], 3)
    except HashretError:
        pass
    finally:
        b = None
        shutil.rmtree(d.parent)      # 20 MB a copy: a deeper run would otherwise fill the disk
    assert time.time() - start < SECONDS
