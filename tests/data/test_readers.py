import gzip
import json

import numpy as np
import pytest
from PIL import Image

from hashret.data import IMAGE, TEXT, limit_rows, read_corpus
from hashret.errors import CorpusError, UsageError


def test_reuters_modapte_split_and_labels(reuters_corpus):
    c = reuters_corpus
    splits = np.asarray(c.splits)
    assert (splits == "train").sum() == 7775 and (splits == "test").sum() == 3019
    assert all(c.labels), "every ModApte document has at least one topic"
    assert any(len(ls) > 1 for ls in c.labels), "topics are multi-label"
    assert c.modality == TEXT and len(set(c.ids)) == len(c)
    first = c.ids.index(1)
    assert c.titles[first] == "BAHIA COCOA REVIEW" and c.labels[first] == ["cocoa"]
    assert c.items[first].startswith("BAHIA COCOA REVIEW\nShowers continued")


def test_text_folder_labels_splits_and_encodings(tmp_path):
    (tmp_path / "train" / "sport").mkdir(parents=True)
    (tmp_path / "train" / "food").mkdir(parents=True)
    (tmp_path / "test" / "food").mkdir(parents=True)
    (tmp_path / "train" / "sport" / "1").write_bytes("Le café au football".encode("latin-1"))
    (tmp_path / "train" / "food" / "2.txt").write_text("Crème brûlée recipe", "utf-8")
    (tmp_path / "test" / "food" / "3.txt").write_text("bread and butter", "utf-8")
    c = read_corpus(tmp_path)
    by_id = dict(zip(c.ids, zip(c.items, c.labels, c.splits)))
    assert by_id["train/sport/1"] == ("Le café au football", ["sport"], "train")
    assert by_id["train/food/2.txt"] == ("Crème brûlée recipe", ["food"], "train")
    assert by_id["test/food/3.txt"][1:] == (["food"], "test")


def test_unsup_and_unlabeled_folders_hold_unlabelled_items(tmp_path):
    # the IMDB reviews' layout: aclImdb/train/{pos,neg,unsup}, aclImdb/test/{pos,neg}
    imdb = tmp_path / "aclImdb"
    for rel, text in (("train/pos/0_9.txt", "a wonderful film"), ("train/neg/1_2.txt", "dull"),
                      ("train/unsup/2_0.txt", "saw it twice"), ("test/pos/3_8.txt", "superb"),
                      ("test/neg/4_1.txt", "awful")):
        (imdb / rel).parent.mkdir(parents=True, exist_ok=True)
        (imdb / rel).write_text(text)
    c = read_corpus(imdb)
    assert dict(zip(c.ids, c.labels)) == {"train/pos/0_9.txt": ["pos"], "train/neg/1_2.txt":
                                          ["neg"], "train/unsup/2_0.txt": [],
                                          "test/pos/3_8.txt": ["pos"], "test/neg/4_1.txt": ["neg"]}
    # the folder it was unpacked into: aclImdb/ wraps everything and is no label
    (tmp_path / "reviews.tar.gz").write_bytes(b"the download, not a document")
    c = read_corpus(tmp_path)
    assert c.labels == [["neg"], ["pos"], [], ["neg"], ["pos"]]
    assert c.splits == ["train"] * 3 + ["test"] * 2 and c.ids[0] == "aclImdb/train/neg/1_2.txt"
    pics = tmp_path / "pics"
    for rel in ("cat/0.png", "Unlabeled/1.png", "dog/2.png", "images/3.png",
                "dog/images/4.png"):
        (pics / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(pics / rel)
    c = read_corpus(pics)
    assert dict(zip(c.ids, c.labels)) == {"cat/0.png": ["cat"], "Unlabeled/1.png": [],
                                          "dog/2.png": ["dog"], "images/3.png": [],
                                          "dog/images/4.png": ["dog"]}


@pytest.mark.parametrize("train,val,test", [("training", None, "testing"),  # mnist_png
                                             ("seg_train", None, "seg_test"),
                                             ("train", "val", "test"),
                                             ("Train", "Validation", "Test")])
def test_split_folders_by_their_common_names(tmp_path, train, val, test):
    for split, label, i in ((train, "0", 0), (val, "1", 1), (test, "1", 2), (train, "1", 3)):
        if split:
            (tmp_path / split / label).mkdir(parents=True, exist_ok=True)
            Image.new("L", (4, 4), i).save(tmp_path / split / label / f"{i}.png")
    c = read_corpus(tmp_path)
    want = {f"{train}/0/0.png": (["0"], "train"), f"{train}/1/3.png": (["1"], "train"),
            f"{test}/1/2.png": (["1"], "test")}
    if val:     # a validation folder holds training items
        want[f"{val}/1/1.png"] = (["1"], "train")
    assert dict(zip(c.ids, zip(c.labels, c.splits))) == want


def test_a_class_named_like_a_split_is_a_class(tmp_path):
    for label in ("test_tube", "beaker", "flask"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a.txt").write_text(f"a {label} on the bench")
    c = read_corpus(tmp_path)
    assert sorted(l for (l,) in c.labels) == ["beaker", "flask", "test_tube"]
    assert set(c.splits) == {"train"}
    teams = tmp_path / "teams"                   # two classes, one named like a split
    for label in ("dev", "ops"):
        (teams / label).mkdir(parents=True)
        (teams / label / "a.txt").write_text(f"a note from {label}")
    assert sorted(l for (l,) in read_corpus(teams).labels) == ["dev", "ops"]


def test_a_text_files_title_is_its_subject_or_first_line(tmp_path):
    (tmp_path / "sci.space").mkdir()
    (tmp_path / "sci.space" / "1").write_text(
        "From: a@example.org\nSubject: Re: orbit of the moon\nLines: 2\n\nThe moon's orbit "
        "is elliptic.\n")
    (tmp_path / "sci.space" / "2").write_text("\n\n  Launch window opens   \nat dawn\n")
    # a Subject after the header block (past its first blank line) is body text
    (tmp_path / "sci.space" / "3").write_text("Note: the meeting moved\n\nSubject: no\n")
    (tmp_path / "sci.space" / "4").write_text("x" * 200)
    (tmp_path / "sci.space" / "5.eml").write_text("Subject: saved from a mail client\n\nhi")
    c = read_corpus(tmp_path)
    titles = dict(zip(c.ids, c.titles))
    assert titles["sci.space/1"] == "Re: orbit of the moon"
    assert titles["sci.space/2"] == "Launch window opens"
    assert titles["sci.space/3"] == "Note: the meeting moved"
    assert titles["sci.space/4"] == "x" * 80
    assert titles["sci.space/5.eml"] == "saved from a mail client"


def test_a_table_rows_title_is_its_title_column_else_subject_or_first_line(tmp_path):
    rows = [{"text": "\n  Markets rally  \nshares rose", "title": None},
            {"text": "From: a@b.org\nSubject: launch\n\nbody"},
            {"text": "plain", "title": "Given title"}]
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    assert list(read_corpus(p).titles) == ["Markets rally", "launch", "Given title"]


def test_markdown_and_html_pages_read_as_their_visible_text(tmp_path):
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "docs" / "web").mkdir(parents=True)
    (tmp_path / "docs" / "guide" / "install.md").write_text("# Installing\n\nRun pip.\n")
    (tmp_path / "docs" / "web" / "page.html").write_text(
        "<html><head><title>Bread &amp; butter</title><style>p {color: red}</style>"
        "<script>var tracking = 1;</script></head><body><h1>Baking</h1><p>Flour, water"
        "<br>and salt &lt;3</p></body></html>")
    c = read_corpus(tmp_path / "docs")
    docs = dict(zip(c.ids, zip(c.items, c.titles)))
    assert docs["guide/install.md"] == ("# Installing\n\nRun pip.\n", "Installing")
    assert docs["web/page.html"] == ("Bread & butter\nBaking\nFlour, water\nand salt <3",
                                     "Bread & butter")
    _pack(tmp_path / "docs", tmp_path / "docs.zip")
    assert list(read_corpus(tmp_path / "docs.zip").items) == list(c.items)


def test_one_document_per_line_files_with_fasttext_labels(tmp_path):
    (tmp_path / "notes.txt").write_text("first note about rockets\n\n  second note  \n")
    c = read_corpus(tmp_path / "notes.txt")
    assert (c.ids, list(c.items), c.labels) == ([0, 1], ["first note about rockets",
                                                       "second note"], [[], []])
    ft = tmp_path / "ag"
    ft.mkdir()
    (ft / "train.txt").write_text("__label__sports __label__news match won\n"
                                  "__label__business shares fell\n")
    (ft / "test.txt").write_text("__label__sports cup final\n")
    (ft / "readme.txt").write_text("AG news in fastText format\n")
    c = read_corpus(ft)
    assert list(c.items) == ["match won", "shares fell", "cup final"]
    assert c.labels == [["sports", "news"], ["business"], ["sports"]]
    assert c.splits == ["train", "train", "test"] and c.ids == [0, 1, 2]


def test_tab_separated_lines_read_as_label_and_text(tmp_path):
    # R8 / R52 / WebKB as preprocessed for text classification: label TAB text, no header
    r8 = tmp_path / "r8"
    r8.mkdir()
    (r8 / "r8-train-all-terms.txt").write_text(
        "earn\tchampion products approves stock split\nacq\tterminal systems completes "
        "sale of \"unit\"\n\nearn\tcobanco year net shr\n")
    (r8 / "r8-test-all-terms.txt").write_text("acq\tbank buys stake\nearn\tqtr net profit\n")
    (r8 / "README.txt").write_text("R8: the eight most frequent classes\nof Reuters-21578\n")
    c = read_corpus(r8 / "r8-train-all-terms.txt")
    assert c.items == ["champion products approves stock split",
                       'terminal systems completes sale of "unit"', "cobanco year net shr"]
    assert c.labels == [["earn"], ["acq"], ["earn"]]
    c = read_corpus(r8)                                   # the folder: its files' splits
    assert c.splits == ["train"] * 3 + ["test"] * 2 and c.labels[3:] == [["acq"], ["earn"]]
    # documents whose first line merely holds a tab stay documents
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"{i}.txt").write_text(f"Title\t{i}\nfirst paragraph\nsecond one\n")
    c = read_corpus(docs)
    assert len(c) == 3 and c.items[0].startswith("Title\t0\nfirst paragraph")


def test_spreadsheet_exports_read_as_tables(tmp_path):
    want = (["orbit, rocket", "bread; butter"], [["space"], ["food"]])
    exports = {  # a byte-order mark, a semicolon separator, tabs, UTF-16
        "excel.csv": "\ufefftext,label\n\"orbit, rocket\",space\n\"bread; butter\",food\n"
                     .encode("utf-8"),
        "europe.csv": "text;label\n\"orbit, rocket\";space\n\"bread; butter\";food\n"
                      .encode("utf-8"),
        "sheet.tsv": "text\tlabel\norbit, rocket\tspace\nbread; butter\tfood\n".encode(),
        "unicode.tsv": "text\tlabel\norbit, rocket\tspace\nbread; butter\tfood\n"
                       .encode("utf-16"),
    }
    for name, raw in exports.items():
        (tmp_path / name).write_bytes(raw)
        c = read_corpus(tmp_path / name)
        assert (list(c.items), c.labels) == want, name


def test_label_lists_written_out_as_text_are_multi_label(tmp_path):
    (tmp_path / "c.csv").write_text('text,labels\n'
                                    'oil and grain,"[\'crude\', \'grain\']"\n'
                                    'gold,"[""gold""]"\n'
                                    'odd,[not a list\n')
    assert read_corpus(tmp_path / "c.csv").labels == [["crude", "grain"], ["gold"],
                                                       ["[not a list"]]


def test_headerless_csv_columns_are_numbered_and_text_columns_join(tmp_path):
    # AG News' layout: class index, title, description; no header row
    (tmp_path / "train.csv").write_text('"3","Wall St. Bears Claw Back","Short-sellers '
                                        'are back."\n"4","New chip","Intel unveiled it."\n')
    c = read_corpus(tmp_path / "train.csv", text_column="2,3", label_column="1")
    assert list(c.items) == ["Wall St. Bears Claw Back\nShort-sellers are back.",
                             "New chip\nIntel unveiled it."]
    assert c.labels == [["3"], ["4"]] and list(c.titles) == ["Wall St. Bears Claw Back",
                                                             "New chip"]
    # unnamed, the columns are derived: a repeated single-word first column is the label,
    # the other columns of words the text
    auto = read_corpus(tmp_path / "train.csv")
    assert (list(auto.items), auto.labels) == (list(c.items), c.labels)
    c = read_corpus(tmp_path / "train.csv", label_column="2")      # named: not derived
    assert c.labels[0] == ["Wall St. Bears Claw Back"] and c.items[0] == "Short-sellers are back."
    # an id first (every value distinct, many rows) is no label; numbers are no text
    rows = "".join(f'{i},"review number {i} of many",{i % 5}\n' for i in range(1, 31))
    (tmp_path / "ids.csv").write_text(rows)
    c = read_corpus(tmp_path / "ids.csv")
    assert c.items[0] == "review number 1 of many" and c.labels == [[]] * 30
    # a spreadsheet's header of questions is a header, long as its names are
    (tmp_path / "form.csv").write_text(
        "Timestamp,What did you like most about the course and why\n"
        "2024-01-05 10:00,the labs were well paced\n2024-01-06 11:00,the notes\n")
    c = read_corpus(tmp_path / "form.csv",
                    text_column="What did you like most about the course and why")
    assert c.items == ["the labs were well paced", "the notes"]
    with pytest.raises(UsageError, match=r"no 'text' column among \['1', '2'\]"):
        (tmp_path / "numbers.csv").write_text("1,2\n3,4\n")
        read_corpus(tmp_path / "numbers.csv")
    # a header naming a column hashret knows stays a header, numbers in it or not
    (tmp_path / "h.csv").write_text("label,2019,text\nx,1,alpha\n")
    assert list(read_corpus(tmp_path / "h.csv").items) == ["alpha"]
    with pytest.raises(UsageError, match="text_column='body' is not a column"):
        read_corpus(tmp_path / "h.csv", text_column="text,body")


def test_json_files_hold_an_array_of_records_or_json_lines(tmp_path):
    rows = [{"text": "orbit rocket", "label": "space"}, {"text": "bread", "label": "food"}]
    (tmp_path / "array.json").write_text(json.dumps(rows, indent=2))
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(r) for r in rows))
    for name in ("array.json", "lines.json"):
        c = read_corpus(tmp_path / name)
        assert (list(c.items), c.labels) == (["orbit rocket", "bread"], [["space"], ["food"]])
    (tmp_path / "wrapped.json").write_text(json.dumps({"data": rows}))
    with pytest.raises(CorpusError, match="wrapped.json: .*array of objects"):
        read_corpus(tmp_path / "wrapped.json")
    # in a dataset folder, .json files are its metadata, not tables
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "train.tsv").write_text("text\tlabel\norbit rocket\tspace\n")
    (hub / "test.tsv").write_text("text\tlabel\nbread\tfood\n")
    (hub / "dataset_info.json").write_text(json.dumps({"features": {"text": "string"}}))
    c = read_corpus(hub)
    assert (list(c.items), c.splits) == (["orbit rocket", "bread"], ["train", "test"])


def test_tables_with_columns(tmp_path):
    rows = [{"doc": "alpha beta", "tag": ["x", "y"], "key": "a"},
            {"doc": "gamma", "tag": "z", "key": "b"}]
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    c = read_corpus(p, text_column="doc", label_column="tag", id_column="key")
    assert c.ids == ["a", "b"] and c.labels == [["x", "y"], ["z"]] and c.items[1] == "gamma"
    csvp = tmp_path / "c.csv"
    csvp.write_text('text,label,split\n"hello, world",greet,train\nbye,part,test\n'
                    'ciao,greet,Testing\nhi,greet,validation\n')
    c = read_corpus(csvp)
    assert c.items[:2] == ["hello, world", "bye"]
    assert c.splits == ["train", "test", "test", "train"]
    assert c.ids == [0, 1, 2, 3]
    csvp.write_text('text,label,split\n"hello, world",greet,train\nbye,part,test\n')
    c = read_corpus(csvp)
    assert c.ids == [0, 1]
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"body": ["one", "two"], "labels": [["a"], []]}),
                   tmp_path / "c.parquet")
    c = read_corpus(tmp_path / "c.parquet", text_column="body")
    assert c.labels == [["a"], []]
    with pytest.raises(UsageError, match="text_column='nope'"):
        read_corpus(p, text_column="nope")


def _write_idx(path, arr, gz):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big")
                                                     for s in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder(tmp_path, gz):
    ext = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    tr, te = rng.integers(0, 255, (5, 6, 7)), rng.integers(0, 255, (3, 6, 7))
    _write_idx(tmp_path / f"train-images-idx3-ubyte{ext}", tr, gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{ext}", np.arange(5), gz)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", te, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", np.array([7, 8, 9]), gz)
    c = read_corpus(tmp_path)
    assert c.modality == IMAGE and len(c) == 8
    assert c.splits == ["train"] * 5 + ["test"] * 3
    assert c.labels[4] == ["4"] and c.labels[5] == ["7"]
    np.testing.assert_array_equal(c.take([6])[0, :, :, 0], te[1])
    np.testing.assert_array_equal(c.take(range(3, 7))[:, :, :, 0], np.concatenate([tr, te])[3:7])


def test_truncated_idx_is_refused(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    _write_idx(p, np.zeros((4, 5, 5)), False)
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(CorpusError, match="truncated"):
        read_corpus(p)


def test_image_folder_and_corrupt_image(tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((10, 12), i * 50, np.uint8)).save(tmp_path / label / f"{i}.png")
    c = read_corpus(tmp_path)
    assert c.modality == IMAGE and len(c) == 6 and c.labels[0] == ["cat"]
    assert c.take([1]).shape == (1, 10, 12, 1) and c.take([1])[0, 0, 0, 0] == 50
    (tmp_path / "dog" / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(CorpusError, match="bad.png.*not a readable image"):
        c = read_corpus(tmp_path)
        c.take(range(len(c)))


def test_netpbm_and_other_image_formats_in_a_folder(tmp_path):
    # the ORL / AT&T faces' layout: s1/1.pgm ... (grey Netpbm), beside other formats Pillow reads
    rng = np.random.default_rng(6)
    grey = rng.integers(0, 256, (4, 10, 12), np.uint8)
    for i, (name, fmt) in enumerate((("s1/1.pgm", "PPM"), ("s1/2.tga", "TGA"),
                                     ("s2/1.jp2", "JPEG2000"), ("s2/2.pnm", "PPM"))):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(grey[i]).save(tmp_path / name, fmt)
    c = read_corpus(tmp_path)
    assert c.ids == ["s1/1.pgm", "s1/2.tga", "s2/1.jp2", "s2/2.pnm"]
    assert c.labels == [["s1"], ["s1"], ["s2"], ["s2"]]
    got = c.take(range(4))[..., 0]
    np.testing.assert_array_equal(got[[0, 1, 3]], grey[[0, 1, 3]])     # lossless formats
    assert np.abs(got[2].astype(int) - grey[2]).mean() < 8                 # JPEG 2000


def test_transparent_pixels_are_shown_on_white_whatever_colour_they_hide(tmp_path):
    """Two icons that look the same on screen (a red square on a transparent background)
    but store different colours under their transparent pixels read as the same image."""
    for name, hidden in (("a.png", (0, 0, 0)), ("b.png", (12, 200, 7))):
        rgba = np.zeros((8, 8, 4), np.uint8)
        rgba[..., :3] = hidden
        rgba[2:6, 2:6] = (255, 0, 0, 255)
        Image.fromarray(rgba, "RGBA").save(tmp_path / name)
    c = read_corpus(tmp_path)
    a, b = c.take([0, 1])
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 8, 3) and tuple(a[0, 0]) == (255, 255, 255)
    assert tuple(a[3, 3]) == (255, 0, 0)


def test_npy_with_labels(tmp_path):
    arr = np.random.default_rng(1).random((4, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", arr)
    np.save(tmp_path / "x_labels.npy", np.array([1, 2, 1, 3]))
    c = read_corpus(tmp_path / "x.npy")
    assert c.ids == [0, 1, 2, 3] and c.labels[3] == ["3"] and c.take([2]).shape == (1, 8, 8, 1)
    np.save(tmp_path / "bad.npy", np.zeros((3, 4, 5, 6, 7)))
    with pytest.raises(CorpusError, match="shape"):
        read_corpus(tmp_path / "bad.npy")


def test_missing_empty_and_duplicate(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty"):
        read_corpus(tmp_path / "empty")
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(CorpusError, match="no rows"):
        read_corpus(tmp_path / "e.jsonl")
    (tmp_path / "d.jsonl").write_text('{"text": "a", "id": 1}\n{"text": "b", "id": 1}\n')
    with pytest.raises(CorpusError, match="duplicate ids .*1"):
        read_corpus(tmp_path / "d.jsonl", id_column="id")


def test_an_id_column_names_the_items_when_it_names_each_one_once(tmp_path):
    rows = [{"id": f"doc-{i}", "text": "alpha beta"} for i in range(3)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    c = read_corpus(tmp_path / "a.jsonl")
    assert c.ids == ["doc-0", "doc-1", "doc-2"]
    # recorded, so that eval, check and add read the corpus again with the same ids
    assert c.meta["reader"] == {"id_column": "id"}
    (tmp_path / "b.csv").write_text("id,text\n7,alpha\n9,beta\n")
    assert read_corpus(tmp_path / "b.csv").ids == ["7", "9"]
    # repeated or missing values: the column is data, and rows are numbered
    (tmp_path / "r.jsonl").write_text('{"text": "a", "id": 1}\n{"text": "b", "id": 1}\n')
    (tmp_path / "m.jsonl").write_text('{"text": "a", "id": 1}\n{"text": "b"}\n')
    for name in ("r.jsonl", "m.jsonl"):
        c = read_corpus(tmp_path / name)
        assert c.ids == [0, 1] and "id_column" not in c.meta["reader"]
    # a named column still wins over "id"
    rows = [{"id": 1, "key": "k1", "text": "a"}, {"id": 2, "key": "k2", "text": "b"}]
    (tmp_path / "k.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert read_corpus(tmp_path / "k.jsonl", id_column="key").ids == ["k1", "k2"]


def test_limit_keeps_both_splits(reuters_corpus):
    c = limit_rows(reuters_corpus, 100)
    assert len(c) == 100
    n_test = sum(s == "test" for s in c.splits)
    assert 20 <= n_test <= 35     # 3,019 / 10,794 of 100 = 28
    assert c.items[0] == reuters_corpus.items[reuters_corpus.ids.index(c.ids[0])]


def test_folder_of_tables_takes_each_files_split_from_its_name(tmp_path):
    """A dataset hub's layout: train/validation/test tables (and a README and LICENSE that
    are not documents); rows of test files are the test split, the others training."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / "data").mkdir()
    for name, texts, labels in (("train-00000-of-00001", ["oil price", "wheat crop"], [0, 1]),
                                ("validation-00000-of-00001", ["oil rig"], [0]),
                                ("test-00000-of-00001", ["crude oil", "grain"], [0, 1])):
        pq.write_table(pa.table({"text": texts, "label": labels}),
                       tmp_path / "data" / f"{name}.parquet")
    (tmp_path / "README.md").write_text("# a dataset card")
    (tmp_path / "LICENSE").write_text("terms")
    c = read_corpus(tmp_path)
    assert c.modality == TEXT and c.ids == [0, 1, 2, 3, 4]
    assert c.splits == ["train"] * 3 + ["test"] * 2
    assert c.items[3:] == ["crude oil", "grain"] and c.labels[4] == ["1"]
    assert sorted(c.items[:3]) == ["oil price", "oil rig", "wheat crop"]
    # train.csv / test.csv, and a name that merely starts with "test" stays training data
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "train.csv").write_text("text,label\nalpha,a\n")
    (flat / "testimonies.csv").write_text("text,label\nbeta,b\n")
    (flat / "test.csv").write_text("text,label\ngamma,a\n")
    (flat / "news_testing.csv").write_text("text,label\ndelta,a\n")
    c = read_corpus(flat)
    assert dict(zip(c.items, c.splits)) == {"alpha": "train", "beta": "train", "gamma": "test",
                                            "delta": "test"}
    (flat / "news_testing.csv").unlink()
    (flat / "test.csv").write_text("body,label\ngamma,a\n")
    with pytest.raises(CorpusError, match="test.csv: columns .* differ"):
        read_corpus(flat)


def test_npz_in_the_keras_layout_and_with_one_image_array(tmp_path):
    rng = np.random.default_rng(2)
    x_tr, x_te = rng.integers(0, 255, (5, 6, 7), np.uint8), rng.integers(0, 255, (3, 6, 7),
                                                                        np.uint8)
    np.savez(tmp_path / "k.npz", x_test=x_te, y_test=np.array([7, 8, 9]), x_train=x_tr,
             y_train=np.arange(5))
    c = read_corpus(tmp_path / "k.npz")
    assert c.modality == IMAGE and c.splits == ["train"] * 5 + ["test"] * 3
    assert c.labels[4] == ["4"] and c.labels[5] == ["7"]
    np.testing.assert_array_equal(c.take(range(3, 7))[..., 0], np.concatenate([x_tr, x_te])[3:7])
    np.savez_compressed(tmp_path / "one.npz", images=rng.random((4, 5, 5, 3)),
                        labels=np.array(["a", "b", "a", "c"]))
    c = read_corpus(tmp_path / "one.npz")
    assert c.splits == ["train"] * 4 and c.labels[3] == ["c"] and c.take([0]).shape == (1, 5, 5, 3)
    np.savez(tmp_path / "flat.npz", x=np.zeros((3, 4)).ravel())
    with pytest.raises(CorpusError, match="no image array .* no vectors"):
        read_corpus(tmp_path / "flat.npz")
    np.savez(tmp_path / "two.npz", x_train=np.zeros((2, 4, 4)), x_test=np.zeros((2, 5, 5)))
    with pytest.raises(CorpusError, match="differ in shape"):
        read_corpus(tmp_path / "two.npz")


def test_channels_first_arrays_read_as_their_channels_last_images(tmp_path):
    rng = np.random.default_rng(4)
    nhwc = rng.integers(0, 255, (4, 6, 5, 3), np.uint8)
    nchw = nhwc.transpose(0, 3, 1, 2)                      # PyTorch's layout
    np.save(tmp_path / "a.npy", nchw)
    np.savez(tmp_path / "b.npz", x_train=nchw[:3], x_test=nchw[3:])
    for name in ("a.npy", "b.npz"):
        c = read_corpus(tmp_path / name)
        assert c.meta["shape"] == (6, 5, 3)
        np.testing.assert_array_equal(c.take(range(4)), nhwc)
    # 3 channels on the last axis win over 3 on axis 1: such arrays stay as they are
    both = rng.integers(0, 255, (2, 3, 4, 3), np.uint8)
    np.save(tmp_path / "c.npy", both)
    np.testing.assert_array_equal(read_corpus(tmp_path / "c.npy").take([0, 1]), both)
    np.save(tmp_path / "d.npy", np.zeros((2, 7, 9, 9), np.uint8))
    with pytest.raises(CorpusError, match="no axis of 1, 3 or 4 channels"):
        read_corpus(tmp_path / "d.npy")


def test_flattened_pixels_are_vectors_and_the_log_says_how_to_read_them_as_images(
        tmp_path, caplog):
    np.save(tmp_path / "grey.npy", np.zeros((3, 784), np.uint8))
    with caplog.at_level("INFO", logger="hashret"):
        c = read_corpus(tmp_path / "grey.npy")
    assert c.modality == "vector" and c.meta["dim"] == 784
    assert "x.reshape(-1, 28, 28)" in caplog.text
    np.savez(tmp_path / "colour.npz", data=np.zeros((3, 3072), np.uint8), labels=np.zeros(3))
    c = read_corpus(tmp_path / "colour.npz")
    assert c.modality == "vector" and c.labels == [["0.0"]] * 3


def _cifar_records(images, labels, label_bytes):
    """CIFAR binary records: label byte(s), then the image channel by channel."""
    out = b""
    for img, lab in zip(images, labels):
        out += bytes([lab % 20] * (label_bytes - 1) + [lab]) + img.transpose(2, 0, 1).tobytes()
    return out


def test_cifar_binary_folder_archive_and_single_file(tmp_path):
    import tarfile
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 255, (7, 32, 32, 3), np.uint8)
    root = tmp_path / "cifar-10-batches-bin"
    root.mkdir()
    (root / "data_batch_1.bin").write_bytes(_cifar_records(imgs[:3], [0, 1, 2], 1))
    (root / "data_batch_2.bin").write_bytes(_cifar_records(imgs[3:5], [2, 1], 1))
    (root / "test_batch.bin").write_bytes(_cifar_records(imgs[5:], [1, 0], 1))
    (root / "batches.meta.txt").write_text("airplane\nautomobile\nbird\n\n")
    with tarfile.open(tmp_path / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(root, arcname=root.name)
    for source in (tmp_path, tmp_path / "cifar-10-binary.tar.gz"):
        c = read_corpus(source)
        assert c.modality == IMAGE and len(c) == 7 and c.meta["shape"] == (32, 32, 3)
        assert c.splits == ["train"] * 5 + ["test"] * 2
        assert [l[0] for l in c.labels] == ["airplane", "automobile", "bird", "bird",
                                             "automobile", "automobile", "airplane"]
        np.testing.assert_array_equal(c.take(range(7)), imgs)
    c = read_corpus(root / "test_batch.bin")
    assert len(c) == 2 and c.splits == ["test"] * 2 and c.labels[0] == ["automobile"]
    # CIFAR-100: coarse and fine label bytes, the fine one named
    c100 = tmp_path / "cifar-100-binary"
    c100.mkdir()
    (c100 / "train.bin").write_bytes(_cifar_records(imgs[:4], [3, 0, 1, 3], 2))
    (c100 / "test.bin").write_bytes(_cifar_records(imgs[4:], [2, 2, 0], 2))
    (c100 / "fine_label_names.txt").write_text("apple\nbee\ncan\ndog\n")
    c = read_corpus(c100)
    assert [l[0] for l in c.labels] == ["dog", "apple", "bee", "dog", "can", "can", "apple"]
    np.testing.assert_array_equal(c.take([4])[0], imgs[4])
    (root / "data_batch_2.bin").write_bytes(_cifar_records(imgs[3:5], [2, 1], 1)[:-5])
    with pytest.raises(CorpusError, match="data_batch_2.bin.*truncated"):
        read_corpus(root)


def _pack(folder, archive):
    """Pack a folder's files under one wrapping folder, as downloads usually are."""
    import tarfile
    import zipfile
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as z:
            for p in files:
                z.write(p, "wrap/" + p.relative_to(folder).as_posix())
            z.writestr("__MACOSX/wrap/._x.txt", "resource fork")
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname="wrap")


def test_archived_text_and_image_folders_read_as_the_folders(tmp_path):
    docs = tmp_path / "docs"
    for split, label, name, text in (("20news-bydate-train", "sport", "1", "goal match"),
                                     ("20news-bydate-train", "food", "2.txt", "crème brûlée"),
                                     ("20news-bydate-test", "food", "3", "bread")):
        (docs / split / label).mkdir(parents=True, exist_ok=True)
        (docs / split / label / name).write_text(text, "utf-8")
    (docs / ".hidden.txt").write_text("not a document")
    imgs = tmp_path / "imgs"
    rng = np.random.default_rng(5)
    for split, label, i in (("train", "cat", 0), ("train", "dog", 1), ("test", "cat", 2)):
        (imgs / split / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (6, 6, 3), np.uint8)).save(
            imgs / split / label / f"{i}.png")
    for folder in (docs, imgs):
        want = read_corpus(folder)
        for suffix in (".zip", ".tar.gz"):
            archive = tmp_path / (folder.name + suffix)
            _pack(folder, archive)
            got = read_corpus(archive)
            assert got.modality == want.modality and got.source == str(archive)
            assert (got.ids, got.labels, got.splits) == (want.ids, want.labels, want.splits)
            assert list(got.titles) == list(want.titles)
            if got.modality == TEXT:
                assert list(got.items) == list(want.items)
            else:
                np.testing.assert_array_equal(got.take(range(len(got))),
                                              want.take(range(len(want))))


def test_a_compressed_tar_is_decompressed_once(tmp_path, monkeypatch):
    import tarfile

    import hashret.data.archives as archives
    docs = tmp_path / "docs"
    for label, name in (("sport", "1"), ("food", "2"), ("food", "3")):
        (docs / label).mkdir(parents=True, exist_ok=True)
        (docs / label / name).write_text(f"text of {name}")
    _pack(docs, tmp_path / "docs.tar.gz")
    cifar = tmp_path / "cifar-10-batches-bin"
    cifar.mkdir()
    imgs = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)
    (cifar / "data_batch_1.bin").write_bytes(_cifar_records(imgs[:1], [0], 1))
    (cifar / "test_batch.bin").write_bytes(_cifar_records(imgs[1:], [1], 1))
    with tarfile.open(tmp_path / "cifar.tar.gz", "w:gz") as tar:
        tar.add(cifar, arcname=cifar.name)
    opened = []
    real_open = tarfile.open

    def counting_open(*args, **kwargs):
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(archives.tarfile, "open", counting_open)     # the module, everywhere
    c = read_corpus(tmp_path / "docs.tar.gz")
    assert sorted(c.items) == ["text of 1", "text of 2", "text of 3"]
    assert len(opened) == 1, "listing and reading share one pass over the archive"
    c = read_corpus(tmp_path / "cifar.tar.gz")
    np.testing.assert_array_equal(c.take([0, 1]), imgs)
    assert len(opened) == 2, "CIFAR's batches are read in the listing pass too"


def test_archived_tables_and_archive_refusals(tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:
        z.writestr("data/train.csv", "text,label\nhello world,a\nfoo bar,b\n")
        z.writestr("data/test.csv", "text,label\nhello there,a\n")
        z.writestr("README.md", "about the data")
        z.writestr("../../escaped.csv", "text,label\nfrom outside,z\n")    # never written
    c = read_corpus(tmp_path / "t.zip")
    assert c.items == ["hello world", "foo bar", "hello there"]
    # tables are unpacked into a temporary folder; ../../ from there is the temp root's parent
    import tempfile
    from pathlib import Path
    temp_root = Path(tempfile.gettempdir())
    assert not (temp_root / "escaped.csv").exists()
    assert not (temp_root.parent / "escaped.csv").exists()
    assert c.splits == ["train", "train", "test"] and c.labels[2] == ["a"]
    with zipfile.ZipFile(tmp_path / "cols.zip", "w") as z:
        z.writestr("train.csv", "body2,label\nhello,a\n")
    with pytest.raises(UsageError, match=r"cols.zip.*no 'text' column"):
        read_corpus(tmp_path / "cols.zip")
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 20)
    with pytest.raises(CorpusError, match="junk.tar.gz: not a readable archive"):
        read_corpus(tmp_path / "junk.tar.gz")
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as z:
        z.writestr("__MACOSX/._a.txt", "x")
    with pytest.raises(CorpusError, match="holds no files"):
        read_corpus(tmp_path / "none.zip")


def test_a_download_folder_is_read_through_its_one_archive(tmp_path, caplog):
    import zipfile
    (tmp_path / "dl").mkdir()
    with zipfile.ZipFile(tmp_path / "dl" / "data.zip", "w") as z:
        z.writestr("data/train.csv", "text,label\nhello world,a\nfoo bar,b\n")
    (tmp_path / "dl" / "README.md").write_text("about the data")
    (tmp_path / "dl" / "LICENSE").write_text("CC BY")
    (tmp_path / "dl" / "data.zip.sha256").write_text("0" * 64)
    c = read_corpus(tmp_path / "dl")
    assert c.items == ["hello world", "foo bar"] and c.source.endswith("data.zip")
    # documents beside an archive are the corpus; the archive is named as not read
    (tmp_path / "dl" / "notes.txt").write_text("a document of mine")
    with caplog.at_level("WARNING", logger="hashret"):
        c = read_corpus(tmp_path / "dl")
    assert len(c) == 3 and "notes.txt" in c.ids          # README, LICENSE and notes
    assert "data.zip" in caplog.text and "not read" in caplog.text
    # a document whose name merely starts like a checksum file's is a document
    (tmp_path / "dl" / "notes.txt").unlink()
    (tmp_path / "dl" / "shakespeare.txt").write_text("to be or not to be")
    assert "shakespeare.txt" in read_corpus(tmp_path / "dl").ids


def test_camera_photos_are_read_as_shown_and_large_jpegs_at_reduced_scale(tmp_path):
    from hashret.data.images import load_image
    # stored 40 wide, 20 high, dark left half; EXIF orientation 6 says "turn 90° clockwise"
    stored = np.full((20, 40, 3), 230, np.uint8)
    stored[:, :20] = 20
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    for i in range(2):
        Image.fromarray(stored).save(tmp_path / "photos" / "cat" / f"{i}.jpg", exif=exif,
                                     quality=95)
    c = read_corpus(tmp_path / "photos")
    img = c.take([0])[0]
    assert img.shape == (40, 20, 3)                        # the displayed height and width
    assert img[:18].mean() < 60 and img[22:].mean() > 200  # the dark half is now on top

    # a large JPEG decoded straight at a fraction of its size gives the picture a full
    # decode and resize gives
    yy, xx = np.mgrid[0:900, 0:1200]
    big = np.stack([xx * 255 // 1199, yy * 255 // 899, (xx + yy) * 255 // 2098], -1)
    Image.fromarray(big.astype(np.uint8)).save(tmp_path / "big.jpg", quality=90)
    small = load_image(tmp_path / "big.jpg", "RGB", (45, 60)).astype(float)
    with Image.open(tmp_path / "big.jpg") as im:
        full = np.asarray(im.convert("RGB").resize((60, 45), Image.BILINEAR), float)
    assert small.shape == (45, 60, 3) and np.abs(small - full).mean() < 3


def test_16_bit_and_float_grey_images_keep_their_tones(tmp_path):
    from hashret.data.images import load_image
    ramp16 = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)    # 0 .. 65,472
    Image.fromarray(ramp16).save(tmp_path / "scan.png")
    ramp01 = (np.arange(32 * 32).reshape(32, 32) / 1023).astype(np.float32)  # 0 .. 1
    Image.fromarray(ramp01).save(tmp_path / "depth.tif")
    np.testing.assert_allclose(load_image(tmp_path / "scan.png")[..., 0],
                               np.rint(ramp16 / 257), atol=1)
    np.testing.assert_allclose(load_image(tmp_path / "depth.tif")[..., 0],
                               np.rint(ramp01 * 255), atol=1)


def _png(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(path)


def test_images_labelled_by_a_table_beside_them(tmp_path):
    # a dog-breed layout: labels.csv (id, breed) and train/<id>.jpg; test/ is unlabelled
    root = tmp_path / "dogs"
    for i, v in enumerate((10, 200, 90)):
        _png(root / "train" / f"a{i}.png", v)
    _png(root / "test" / "q0.png", 50)
    (root / "labels.csv").write_text("id,breed\na0,pug\na1,collie\na2,pug\n")
    (root / "sample_submission.csv").write_text("id,breed\nq0,pug\n")   # not labels
    c = read_corpus(root)
    assert c.ids == ["train/a0.png", "train/a1.png", "train/a2.png"]   # q0 named by none
    assert c.labels == [["pug"], ["collie"], ["pug"]] and c.splits == ["train"] * 3
    assert c.take([1])[0].mean() == 200

    # a hub layout: train.csv and test.csv name images/ files by path, split by file name
    hub = tmp_path / "hub"
    for name, v in (("x.png", 1), ("y.png", 2), ("z.png", 3)):
        _png(hub / "images" / name, v)
    (hub / "train.csv").write_text("image,label\nimages/x.png,cat\nimages/y.png,dog\n")
    (hub / "test.csv").write_text("image,label\nimages/z.png,cat\n")
    c = read_corpus(hub)
    assert (c.labels, c.splits) == ([["cat"], ["dog"], ["cat"]], ["train", "train", "test"])

    # a listing without labels does not override the sub-folders' labels
    folders = tmp_path / "folders"
    _png(folders / "cat" / "1.png", 5)
    _png(folders / "dog" / "2.png", 6)
    (folders / "sizes.csv").write_text("file,width,height\n1.png,8,8\n2.png,8,8\n")
    assert read_corpus(folders).labels == [["cat"], ["dog"]]
    with pytest.raises(UsageError, match="label_column='kind' is not a column"):
        read_corpus(root, label_column="kind")


def test_a_file_that_is_no_image_is_refused_when_the_folder_is_read(tmp_path):
    # past the first few hundred files too: found before a model trains, not after
    for i in range(250):
        _png(tmp_path / "imgs" / "train" / "a" / f"{i:03d}.png", i)
    _png(tmp_path / "imgs" / "test" / "a" / "ok.png", 7)
    (tmp_path / "imgs" / "test" / "a" / "zz.png").write_bytes(b"<html>not an image</html>")
    with pytest.raises(CorpusError, match="zz.png: not a readable image"):
        read_corpus(tmp_path / "imgs")


def test_images_past_pillows_safety_size_are_named_once_or_refused(tmp_path, monkeypatch,
                                                                    caplog):
    from PIL import Image as PILImage
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)     # warns above, refuses at 2x
    _png(tmp_path / "imgs" / "a" / "small.png", 1)                        # 8 x 8
    Image.new("L", (40, 40), 9).save(tmp_path / "imgs" / "a" / "poster.png")   # 1,600 pixels
    with caplog.at_level("WARNING", logger="hashret"):
        c = read_corpus(tmp_path / "imgs")
        assert len(c.take([0, 1])) == 2                   # both decode
    assert [r.getMessage() for r in caplog.records if "safety size" in r.getMessage()] == [
        "1 image(s) are larger than Pillow's safety size (" + str(tmp_path / "imgs" / "a" /
        "poster.png") + ": 0 megapixels); each is decoded whole before it is scaled down, "
        "which takes time and memory"]
    Image.new("L", (50, 50), 9).save(tmp_path / "imgs" / "a" / "bomb.png")     # 2,500 pixels
    with pytest.raises(CorpusError, match="bomb.png: image too large to decode safely"):
        read_corpus(tmp_path / "imgs")


def _cifar_python(folder, hundred=False, n=4, seed=0):
    import pickle
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    key = b"fine_labels" if hundred else b"labels"
    names = ["train", "test"] if hundred else ["data_batch_1", "data_batch_2", "test_batch"]
    batches = {}
    for name in names:
        data = rng.integers(0, 255, (n, 3072), dtype=np.uint8)
        ys = [int(v) for v in rng.integers(0, 3, n)]
        batches[name] = (data, ys)
        files = [f"{name}_{i}.png".encode() for i in range(n)]
        (folder / name).write_bytes(pickle.dumps({b"data": data, key: ys, b"batch_label":
                                                  b"x", b"filenames": files}, protocol=2))
    meta = {b"fine_label_names" if hundred else b"label_names": [b"cat", b"dog", b"frog"]}
    (folder / ("meta" if hundred else "batches.meta")).write_bytes(pickle.dumps(meta, 2))
    return batches


def test_cifar_python_version_folder_and_archive(tmp_path):
    import tarfile
    for hundred, top in ((False, "cifar-10-batches-py"), (True, "cifar-100-python")):
        root = tmp_path / str(hundred)
        batches = _cifar_python(root / top, hundred)
        with tarfile.open(tmp_path / f"{top}.tar.gz", "w:gz") as tar:
            tar.add(root / top, arcname=top)
        for source in (root, tmp_path / f"{top}.tar.gz"):
            c = read_corpus(source)
            order = [k for k in batches if not k.startswith("test")] + \
                [k for k in batches if k.startswith("test")]
            want = np.concatenate([batches[k][0] for k in order])
            assert c.modality == IMAGE and c.meta["shape"] == (32, 32, 3)
            np.testing.assert_array_equal(c.take(range(len(c))),
                                          want.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            assert c.labels == [[["cat", "dog", "frog"][y]] for k in order
                                for y in batches[k][1]]
            assert c.splits == ["train"] * (len(c) - 4) + ["test"] * 4
            assert list(c.titles) == [f"{k}_{i}.png" for k in order for i in range(4)]


def test_cifar_python_pickles_that_ask_for_code_are_refused(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))
    _cifar_python(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(
        pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(CorpusError, match="data_batch_2: not a readable CIFAR python batch "
                                          r"\(it asks for (__builtin__|builtins)\.print"):
        read_corpus(tmp_path)


def _pdf(pages: list[str]) -> bytes:
    """A minimal PDF whose pages hold the given lines of text (Helvetica)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            ("<< /Type /Pages /Kids [%s] /Count %d >>" % (
                " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))), len(pages))).encode(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
            f"({line}) Tj T*" for line in text.split("\n")) + " ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                    f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objs.append(f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream".encode())
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for k, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{k} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_documents_are_read_as_their_pages_text(tmp_path):
    (tmp_path / "docs" / "space").mkdir(parents=True)
    (tmp_path / "docs" / "food").mkdir(parents=True)
    (tmp_path / "docs" / "space" / "a.pdf").write_bytes(
        _pdf(["Orbit of the moon\nrocket launch", "second page"]))
    (tmp_path / "docs" / "food" / "b.txt").write_text("bread and butter")
    c = read_corpus(tmp_path / "docs")
    docs = dict(zip(c.ids, zip(c.items, c.titles)))
    assert docs["space/a.pdf"] == ("Orbit of the moon\nrocket launch\nsecond page",
                                   "Orbit of the moon")
    assert docs["food/b.txt"][0] == "bread and butter"
    (tmp_path / "docs" / "food" / "c.pdf").write_bytes(_pdf(["x"])[:60])     # truncated
    with pytest.raises(CorpusError, match="c.pdf: not a readable PDF"):
        read_corpus(tmp_path / "docs")                  # when read, before any training


def _epub(title: str, chapters: list[str], spine: bool = True) -> bytes:
    """A minimal EPUB: container, package file (title, manifest, spine), XHTML chapters."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile '
                   'full-path="OEBPS/content.opf"/></rootfiles></container>')
        items = "".join(f'<item id="c{i}" href="text/ch{i}.xhtml" '
                        'media-type="application/xhtml+xml"/>' for i in range(len(chapters)))
        # the spine reads the chapters last to first: reading order, not archive order
        refs = "".join(f'<itemref idref="c{i}"/>' for i in reversed(range(len(chapters))))
        z.writestr("OEBPS/content.opf", f"<package><metadata><dc:title>{title}</dc:title>"
                   f"</metadata><manifest>{items}</manifest>"
                   f"<spine>{refs if spine else ''}</spine></package>")
        for i, text in enumerate(chapters):
            z.writestr(f"OEBPS/text/ch{i}.xhtml", f"<html><body><p>{text}</p></body></html>")
    return buf.getvalue()


def test_epub_books_are_read_as_their_title_and_chapters_in_reading_order(tmp_path):
    (tmp_path / "books" / "novels").mkdir(parents=True)
    (tmp_path / "books" / "novels" / "a.epub").write_bytes(
        _epub("Moby Dick", ["Call me Ishmael.", "The whale surfaced."]))
    (tmp_path / "books" / "novels" / "b.epub").write_bytes(
        _epub("No spine", ["first", "second"], spine=False))
    c = read_corpus(tmp_path / "books")
    docs = dict(zip(c.ids, zip(c.items, c.titles)))
    assert docs["novels/a.epub"] == ("Moby Dick\nThe whale surfaced.\nCall me Ishmael.",
                                     "Moby Dick")
    assert docs["novels/b.epub"][0] == "No spine\nfirst\nsecond"       # archive order
    (tmp_path / "books" / "novels" / "c.epub").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(CorpusError, match="c.epub: not a readable EPUB"):
        read_corpus(tmp_path / "books")


def _write_stl10(folder, images, labels, part):
    """STL-10's files: each image channel by channel, each channel column by column."""
    folder.mkdir(exist_ok=True)
    (folder / f"{part}_X.bin").write_bytes(images.transpose(0, 3, 2, 1).tobytes())
    if labels is not None:
        (folder / f"{part}_y.bin").write_bytes(np.asarray(labels, np.uint8).tobytes())


def test_stl10_folder_archive_and_single_file(tmp_path, monkeypatch):
    import tarfile

    from hashret.data import archives
    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, (3, 96, 96, 3), np.uint8)
    test = rng.integers(0, 256, (2, 96, 96, 3), np.uint8)
    folder = tmp_path / "stl10_binary"
    _write_stl10(folder, train, [1, 2, 10], "train")
    _write_stl10(folder, test, [2, 1], "test")
    _write_stl10(folder, rng.integers(0, 256, (4, 96, 96, 3), np.uint8), None, "unlabeled")
    (folder / "class_names.txt").write_text("\n".join(f"c{i}" for i in range(1, 11)) + "\n")
    (folder / "fold_indices.txt").write_text("0 1 2\n")
    archive = tmp_path / "stl10_binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="stl10_binary")
    for source in (folder, archive):
        c = read_corpus(source)
        assert c.modality == IMAGE and c.meta["shape"] == (96, 96, 3)
        assert c.splits == ["train"] * 3 + ["test"] * 2        # the unlabelled left out
        assert c.labels == [["c1"], ["c2"], ["c10"], ["c2"], ["c1"]]
        np.testing.assert_array_equal(c.take(range(5)), np.concatenate([train, test]))
    # a member past the size the listing pass keeps is read by a second pass when wanted
    monkeypatch.setattr(archives, "KEEP_MAX_BYTES", 100_000)
    listing = archives.ArchiveFiles(archive)
    assert "stl10_binary/train_X.bin" in listing._kept
    assert "stl10_binary/unlabeled_X.bin" not in listing._kept      # 110,592 bytes
    big = "stl10_binary/unlabeled_X.bin"
    assert len(listing.read({big})[big]) == 4 * 96 * 96 * 3
    # one file: its labels beside it; the unlabelled images when asked for by name
    c = read_corpus(folder / "test_X.bin")
    assert c.splits == ["test"] * 2 and c.labels == [["c2"], ["c1"]]
    c = read_corpus(folder / "unlabeled_X.bin")
    assert len(c) == 4 and c.labels == [[]] * 4
    (folder / "test_y.bin").write_bytes(bytes([1]))
    with pytest.raises(CorpusError, match="1 labels for the 2 images"):
        read_corpus(folder)
    (folder / "train_X.bin").write_bytes(b"\0" * 1000)
    with pytest.raises(CorpusError, match="truncated or damaged"):
        read_corpus(folder)


def test_mat_files_in_svhns_layout_and_images_first(tmp_path):
    from scipy.io import savemat
    rng = np.random.default_rng(4)
    train = rng.integers(0, 256, (5, 8, 6, 3), np.uint8)
    test = rng.integers(0, 256, (2, 8, 6, 3), np.uint8)
    folder = tmp_path / "svhn"
    folder.mkdir()
    # SVHN: X is height x width x channels x n, y is n x 1 of doubles, 10 for the digit 0
    for name, x, y in (("train_32x32.mat", train, [1, 10, 3, 3, 2]),
                       ("test_32x32.mat", test, [10, 1])):
        savemat(folder / name, {"X": np.moveaxis(x, 0, 3),
                                "y": np.array(y, np.float64)[:, None]})
    c = read_corpus(folder)
    assert c.modality == IMAGE and c.meta["shape"] == (8, 6, 3)
    assert c.splits == ["train"] * 5 + ["test"] * 2
    assert c.labels == [["1"], ["10"], ["3"], ["3"], ["2"], ["10"], ["1"]]
    np.testing.assert_array_equal(c.take(range(7)), np.concatenate([train, test]))
    # images first, grey, labels named gnd as a row vector, in one file
    grey = rng.integers(0, 256, (4, 7, 7), np.uint8)
    savemat(tmp_path / "faces.mat", {"fea": grey, "gnd": np.array([[1, 1, 2, 2]])})
    c = read_corpus(tmp_path / "faces.mat")
    assert c.labels == [["1"], ["1"], ["2"], ["2"]] and c.splits == ["train"] * 4
    np.testing.assert_array_equal(c.take(range(4))[..., 0], grey)
    # a version 7.3 file is HDF5: say how to convert it
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116)
    (tmp_path / "v73.mat").write_bytes(header + b"\0" * 8 + b"\x00\x02IM" + b"\0" * 400)
    with pytest.raises(CorpusError, match="v73.mat: a MATLAB v7.3 .* '-v7'"):
        read_corpus(tmp_path / "v73.mat")
    (tmp_path / "cut.mat").write_bytes((folder / "test_32x32.mat").read_bytes()[:300])
    with pytest.raises(CorpusError, match="cut.mat: a damaged MAT-file"):
        read_corpus(tmp_path / "cut.mat")
    (tmp_path / "notes.mat").write_text("x = [1 2 3]")
    with pytest.raises(CorpusError, match="notes.mat: not a MATLAB 5 to 7.2 MAT-file"):
        read_corpus(tmp_path / "notes.mat")


def test_compressed_mat_files_with_text_cells_and_structures_beside_the_images(tmp_path):
    from scipy.io import savemat
    rng = np.random.default_rng(5)
    x = rng.random((6, 5, 3)).astype(np.float32)          # images-last, grey, single
    savemat(tmp_path / "set.mat", {"images": x, "labels": np.arange(3, dtype=np.int16),
                                   "title": "three images", "meta": {"source": "camera"},
                                   "names": np.array(["a", "b", "c"], dtype=object),
                                   "phase": np.ones(3) * 1j}, do_compression=True)
    c = read_corpus(tmp_path / "set.mat")
    assert c.labels == [["0"], ["1"], ["2"]]
    np.testing.assert_array_equal(c.take(range(3))[..., 0], np.moveaxis(x, 2, 0))


def test_hub_parquet_tables_holding_the_images(tmp_path):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (5, 6, 8, 3), np.uint8)

    def png(a):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "PNG")
        return buf.getvalue()

    # the Hub's layout: {bytes, path} images, class numbers, names in the dataset card
    (tmp_path / "plain_text").mkdir()
    for name, rows, labels in (("train-00000-of-00001", [0, 1, 2], [0, 1, 1]),
                               ("test-00000-of-00001", [3, 4], [1, -1])):
        pq.write_table(pa.table({"img": [{"bytes": png(pixels[i]), "path": f"{i}.png"}
                                         for i in rows],
                                 "fine_label": labels, "coarse_label": [0] * len(rows)}),
                       tmp_path / "plain_text" / f"{name}.parquet")
    (tmp_path / "README.md").write_text(
        "---\ndataset_info:\n  features:\n  - name: img\n    dtype: image\n"
        "  - name: fine_label\n    dtype:\n      class_label:\n        names:\n"
        "          '0': apple\n          '1': aquarium_fish\n"
        "  - name: coarse_label\n    dtype:\n      class_label:\n        names:\n"
        "          '0': fruit\n---\n# CIFAR-like\n")
    c = read_corpus(tmp_path)
    assert c.modality == IMAGE and c.meta["shape"] == (6, 8, 3)
    assert c.splits == ["train"] * 3 + ["test"] * 2
    assert c.labels == [["apple"], ["aquarium_fish"], ["aquarium_fish"], ["aquarium_fish"], []]
    assert list(c.titles) == ["0.png", "1.png", "2.png", "3.png", "4.png"]
    np.testing.assert_array_equal(c.take(range(5)), pixels)
    c = read_corpus(tmp_path / "plain_text" / "test-00000-of-00001.parquet",
                    label_column="coarse_label")                  # one file, card above it
    assert c.labels == [["fruit"], ["fruit"]]
    pq.write_table(pa.table({"img": [{"bytes": png(pixels[0]), "path": None},
                                     {"bytes": b"\x89PNG broken", "path": None}]}),
                   tmp_path / "bad.parquet")
    with pytest.raises(CorpusError, match="bad.parquet: row 1: not a readable image"):
        read_corpus(tmp_path / "bad.parquet")


def test_a_datasets_save_to_disk_folder_of_arrow_files(tmp_path):
    import pyarrow as pa
    # ag_news saved with save_to_disk: <split>/data-00000-of-00001.arrow (Arrow stream),
    # dataset_info.json naming the classes, state.json, dataset_dict.json
    info = {"features": {"text": {"dtype": "string", "_type": "Value"},
                         "label": {"names": ["World", "Sports", "Business", "Sci/Tech"],
                                   "_type": "ClassLabel"}}}
    for split, texts, labels in (("train", ["stocks fall", "cup final won"], [2, 1]),
                                 ("test", ["rocket launched"], [3])):
        (tmp_path / split).mkdir()
        table = pa.table({"text": texts, "label": labels})
        with pa.OSFile(str(tmp_path / split / "data-00000-of-00001.arrow"), "wb") as sink, \
                pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        (tmp_path / split / "dataset_info.json").write_text(json.dumps(info))
        (tmp_path / split / "state.json").write_text('{"_data_files": []}')
    (tmp_path / "dataset_dict.json").write_text('{"splits": ["train", "test"]}')
    c = read_corpus(tmp_path)
    assert c.items == ["stocks fall", "cup final won", "rocket launched"]
    assert c.labels == [["Business"], ["Sports"], ["Sci/Tech"]]
    assert c.splits == ["train", "train", "test"]
    (tmp_path / "train" / "data-00000-of-00001.arrow").write_bytes(b"ARROW1 but cut")
    with pytest.raises(CorpusError, match="data-00000-of-00001.arrow: not a readable Arrow"):
        read_corpus(tmp_path)


def test_tiny_imagenet_layout_folders_and_a_headerless_annotation_table(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    rng = np.random.default_rng(8)

    def save(rel):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), np.uint8)).save(root / rel, "JPEG")

    for wnid in ("n01443537", "n01629819"):
        for i in range(2):
            save(f"train/{wnid}/images/{wnid}_{i}.JPEG")
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text(
            "".join(f"{wnid}_{i}.JPEG\t0\t1\t6\t7\n" for i in range(2)))
    for i in range(3):
        save(f"val/images/val_{i}.JPEG")
        save(f"test/images/test_{i}.JPEG")
    (root / "val" / "val_annotations.txt").write_text(
        "val_0.JPEG\tn01629819\t0\t1\t6\t7\nval_1.JPEG\tn01443537\t2\t2\t5\t5\n"
        "val_2.JPEG\tn01629819\t0\t0\t8\t8\n")
    (root / "wnids.txt").write_text("n01443537\nn01629819\n")
    (root / "words.txt").write_text("n01443537\tgoldfish, Carassius auratus\n"
                                    "n01629819\tEuropean fire salamander\n")
    c = read_corpus(root)
    got = dict(zip(c.ids, zip(c.labels, c.splits)))
    assert got["train/n01443537/images/n01443537_1.JPEG"] == (["n01443537"], "train")
    assert got["val/images/val_0.JPEG"] == (["n01629819"], "train")     # by the table
    assert got["val/images/val_1.JPEG"] == (["n01443537"], "train")
    assert len(c) == 7 and not any("test_" in i for i in c.ids)       # test: no labels
