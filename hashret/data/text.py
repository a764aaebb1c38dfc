"""Text corpus readers: folders of plain files, JSONL / CSV / Parquet tables, Reuters-21578."""

from __future__ import annotations

import ast
import csv
import html
import io
import json
import logging
import re
import sys
import tarfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

from ..errors import CorpusError, UsageError
from .corpus import SPLITS, TEXT, Corpus, walk_labelled_folder

log = logging.getLogger("hashret")

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIX = ".pdf"
TEXT_SUFFIXES = {"", ".txt", ".text", ".md", ".markdown", ".rst", PDF_SUFFIX} | HTML_SUFFIXES


def decode_text(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else latin-1 (which never fails); a byte-order
    mark is dropped (spreadsheets write one before a CSV's header) and one of UTF-16 decodes
    as UTF-16 ("Unicode text" exports)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _HtmlText(HTMLParser):
    """The text a browser shows for a page: its title on the first line, then the body's
    text, a line per block; scripts, styles and the head's other content left out."""

    _HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
               "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "header",
               "footer", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.parts, self.hidden, self.in_title = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag in self._HIDDEN:
            self.hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """An HTML page as plain text: the ``<title>`` as its first line, then the visible text,
    one line per block, entities decoded."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    title = " ".join("".join(parser.title).split())
    return "\n".join([title] * bool(title) + [line for line in lines if line])


def pdf_text(raw: bytes, name) -> str:
    """The text of a PDF's pages, a page after another (pypdf reads it; a PDF locked with an
    empty password, as many are, is opened)."""
    from pypdf import PdfReader
    logging.getLogger("pypdf").setLevel(logging.ERROR)    # its notes on damaged objects
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("it is encrypted with a password")
        return "\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    except Exception as e:  # noqa: BLE001 - a damaged PDF raises many kinds
        raise CorpusError(f"{name}: not a readable PDF ({str(e)[:100]}); remove or replace "
                          "the file") from None


def document_text(name, raw: bytes) -> str:
    """A text file's bytes as its document's text (``name``'s suffix says if it is an HTML
    page or a PDF)."""
    suffix = Path(str(name)).suffix.lower()
    if suffix == PDF_SUFFIX:
        return pdf_text(raw, name)
    text = decode_text(raw)
    return html_text(text) if suffix in HTML_SUFFIXES else text


def read_text_file(path: Path) -> str:
    try:
        return document_text(path, Path(path).read_bytes())
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}; check the file exists and is "
                          "readable") from None


class _LazyMap(Sequence):
    """``fn`` of each element of ``base``, computed when accessed: the texts of a folder's
    files (``fn`` reads a path), so large folders stream, or their titles."""

    def __init__(self, fn, base: Sequence):
        self.fn, self.base = fn, base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.fn(x) for x in self.base[i]]
        return self.fn(self.base[i])


_HEADER_LINE = re.compile(r"[A-Za-z][A-Za-z0-9-]*:\s")


def text_title(text: str, limit: int = 80) -> str:
    """What a listing shows for a document: the ``Subject`` of a mail or news message (a
    text that opens with ``Key: value`` header lines), else its first non-empty line, at
    most ``limit`` characters."""
    lines = text.splitlines()
    for line in lines:                       # the header block ends at its first blank line
        if not _HEADER_LINE.match(line):
            break
        key, _, value = line.partition(":")
        if key.lower() == "subject" and value.strip():
            return value.strip()[:limit]
    first = next((line.strip() for line in lines if line.strip()), "")
    return first.lstrip("#").strip()[:limit]    # a Markdown heading without its marks


def is_text_file(p: Path) -> bool:
    return p.suffix.lower() in TEXT_SUFFIXES or p.suffix[1:].isdigit()


def read_text_folder(root: Path) -> Corpus:
    """One file per document, one sub-folder per label (20-Newsgroups layout); a document's
    title is its Subject header or first line (:func:`text_title`).

    ``train``/``test`` sub-folders define the split (see :func:`walk_labelled_folder`).
    """
    paths, ids, labels, splits = walk_labelled_folder(root, is_text_file)
    if not paths:
        raise CorpusError(f"no text files in {root}: expected .txt, .md, .html, .pdf or "
                          "extension-less files, one sub-folder per label")
    if any(p.suffix.lower() == PDF_SUFFIX for p in paths):
        # extracting a PDF's text costs far more than reading a file, and may fail: do it
        # once for every document, before a model is fitted, not at each pass over them
        from ..progress import progress_bar
        texts = [read_text_file(p) for p in progress_bar(paths, desc="reading", unit="doc",
                                                         leave=False)]
    else:
        texts = _LazyMap(read_text_file, paths)
    return Corpus(TEXT, ids, texts, labels, splits, _LazyMap(text_title, texts), str(root))


def label_list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        # a list written out as text, as pandas writes a list column to CSV
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and v != ""]
    return [str(value)]


def _rows_to_corpus(rows: list[dict], source: str, text_column, label_column,
                    id_column, file_splits: list[str] | None = None) -> Corpus:
    if not rows:
        raise CorpusError(f"{source} holds no rows: give a table with at least one document")
    columns = list(rows[0].keys())
    if text_column is None:
        text_column = next((c for c in ("text", "body", "content", "document") if c in columns),
                           None)
        if text_column is None:
            raise UsageError(f"{source}: no 'text' column among {columns}; name the column "
                             "(or columns, joined: title,description) with --text-column")
    # several text columns, comma-separated: a title and a body read as one document
    text_columns = [text_column] if text_column in columns else text_column.split(",")
    for name, cols in (("--text-column", text_columns), ("--label-column", [label_column]),
                       ("--id-column", [id_column])):
        for col in cols:
            if col is not None and col not in columns:
                raise UsageError(f"{source}: {name} {col!r} is not a column; columns are "
                                 f"{columns}")
    if label_column is None:
        label_column = next((c for c in ("labels", "label") if c in columns), None)
    texts, ids, labels, splits, titles = [], [], [], [], []
    for i, row in enumerate(rows):
        texts.append("\n".join(str(row[c]) for c in text_columns if row.get(c) is not None))
        ids.append(row.get(id_column) if id_column else i)
        labels.append(label_list(row.get(label_column)) if label_column else [])
        split = str(row.get("split") or (file_splits[i] if file_splits else "train")).lower()
        splits.append(split if split in SPLITS else "train")
        title = row.get("title")
        titles.append(str(title) if title else text_title(texts[-1]))
    if any(i is None for i in ids):
        raise CorpusError(f"{source}: some rows have no value in id column {id_column!r}; "
                          "fill it or drop --id-column")
    ids = [i if isinstance(i, int) and not isinstance(i, bool) else str(i) for i in ids]
    return Corpus(TEXT, ids, texts, labels, splits, titles, source)


TABLE_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet")
# A lone ``.json`` file is read as a table too (an array of records, or JSON lines); in a
# folder of tables it is not, since dataset folders keep their metadata in ``.json`` files.
JSON_TABLE_SUFFIX = ".json"
_DELIMITERS = (",", ";", "\t", "|")
# A lone ``.txt`` file holds one document per line; in a folder, ``.txt`` files are
# documents, unless they open with a fastText label (``train.txt`` and ``test.txt``).
LINES_SUFFIX = ".txt"
FASTTEXT_LABEL = "__label__"
_TEST_NAME = re.compile(r"test(?![a-z])", re.I)     # test.csv, test-0000…, not testimony.csv


def _line_rows(text: str) -> list[dict]:
    """One document per non-blank line; leading ``__label__NAME`` words are its labels (the
    format fastText reads and many text-classification sets ship in)."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        n = 0
        while n < len(words) and words[n].startswith(FASTTEXT_LABEL):
            n += 1
        if n < len(words):
            rows.append({"text": " ".join(words[n:]),
                         "labels": [w[len(FASTTEXT_LABEL):] for w in words[:n]]})
    return rows


def is_fasttext_file(path: Path) -> bool:
    """A ``.txt`` file whose first line opens with a fastText label."""
    if Path(path).suffix.lower() != LINES_SUFFIX:
        return False
    try:
        with open(path, "rb") as f:
            return f.read(len(FASTTEXT_LABEL)) == FASTTEXT_LABEL.encode()
    except OSError:
        return False


def _json_lines(path: Path, lines) -> list[dict]:
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(decode_text(line) if isinstance(line, bytes) else line)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{path}:{n}: not valid JSON ({e.msg}); each line "
                              "must be one JSON object") from None
        if not isinstance(row, dict):
            raise CorpusError(f"{path}:{n}: a JSON {type(row).__name__}, not an "
                              "object; each line must be one JSON object")
        rows.append(row)
    return rows


def _json_records(path: Path) -> list[dict]:
    """A ``.json`` file: an array of objects, or JSON lines under that suffix."""
    text = decode_text(path.read_bytes())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":                 # one object per line
            return _json_lines(path, text.splitlines())
        raise CorpusError(f"{path}: not valid JSON ({e.msg}, line {e.lineno}); give an "
                          "array of objects, one per document") from None
    if isinstance(data, dict):
        data = [data] if any(not isinstance(v, (list, dict)) for v in data.values()) \
            else None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise CorpusError(f"{path}: a JSON file of documents holds an array of objects, one "
                          "per document (or one object per line); extract that array first")
    return data


def _csv_delimiter(text: str, suffix: str) -> str:
    """``.tsv``: tab. ``.csv``: the separator the header line uses most (outside quotes) of
    comma, semicolon (spreadsheets in locales whose decimal mark is a comma), tab and bar;
    comma when the header is a single column."""
    if suffix == ".tsv":
        return "\t"
    header = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    counts = [header.count(d) for d in _DELIMITERS]
    return _DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _csv_rows(path: Path, text: str, suffix: str) -> list[dict]:
    """A CSV's rows as dicts keyed by its header; a file without a header row (its first row
    holds a bare number and no column name hashret knows, as in the AG News, DBpedia, Yelp
    and Amazon review sets, class index first) has its columns numbered from 1."""
    csv.field_size_limit(sys.maxsize)
    delimiter = _csv_delimiter(text, suffix)
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        names = None
        if _is_data_row(first):
            names = [str(i + 1) for i in range(len(first))]
            log.info("%s has no header row: its columns are numbered 1 to %d (e.g. "
                     "--text-column 2,3 --label-column 1)", path.name, len(first))
        return list(csv.DictReader(io.StringIO(text, newline=""), fieldnames=names,
                                   delimiter=delimiter))
    except csv.Error as e:
        raise CorpusError(f"{path}: not a valid CSV file ({e}); check the quoting") from None


_KNOWN_COLUMNS = {"text", "body", "content", "document", "label", "labels", "id", "split",
                  "title", "class", "category", "target"}


def _is_data_row(cells: list[str]) -> bool:
    def number(c):
        try:
            float(c)
            return True
        except ValueError:
            return False
    names = {c.strip().lower() for c in cells}
    return any(number(c.strip()) for c in cells) and not names & _KNOWN_COLUMNS


def read_table_rows(path: Path) -> list[dict]:
    """The rows of one ``.jsonl``, ``.json``, ``.csv``, ``.tsv`` or ``.parquet`` table, or a
    ``.txt`` file of one document per line, as dicts."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with open(path, "rb") as f:
                return _json_lines(path, f)
        if suffix == JSON_TABLE_SUFFIX:
            return _json_records(path)
        if suffix == LINES_SUFFIX:
            return _line_rows(decode_text(path.read_bytes()))
        if suffix in (".csv", ".tsv"):
            return _csv_rows(path, decode_text(path.read_bytes()), suffix)
        if suffix == ".parquet":
            import pyarrow.parquet as pq
            try:
                return pq.read_table(path).to_pylist()
            except Exception as e:  # noqa: BLE001 - Arrow raises many kinds on bad bytes
                raise CorpusError(f"{path}: not a readable Parquet file ({str(e)[:120]})") \
                    from None
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    raise CorpusError(f"{path}: unknown table type {suffix!r}; use .jsonl, .json, .csv, .tsv, "
                      ".parquet or .txt (one document per line)")


def read_table(path: Path, text_column=None, label_column=None, id_column=None) -> Corpus:
    """A ``.jsonl``, ``.json``, ``.csv``, ``.tsv`` or ``.parquet`` table with one document per
    row.

    Columns default to ``text``, ``label``/``labels`` and the row number as id; a ``split``
    column with ``train``/``test`` values is honoured; a list-valued label column is
    multi-label.
    """
    path = Path(path)
    return _rows_to_corpus(read_table_rows(path), str(path), text_column, label_column, id_column)


def table_file_split(path: Path, root: Path) -> str:
    """``test`` for a table whose file name (or a folder between it and ``root``) starts with
    ``test`` (``test.csv``, ``test-00000-of-00001.parquet``, ``test/part-0.jsonl``), else
    ``train``: training and validation files alike, since a validation part for early
    stopping is carved from the training split anyway."""
    parts = path.relative_to(root).parts
    return "test" if any(_TEST_NAME.match(q) for q in parts) else "train"


def read_table_folder(root: Path, text_column=None, label_column=None,
                      id_column=None) -> Corpus:
    """A folder of ``.jsonl`` / ``.csv`` / ``.parquet`` tables of the same columns, as a
    dataset hub lays out its splits (``train.csv`` and ``test.csv``, or
    ``data/train-00000-of-00001.parquet``): the split comes from each file's name (see
    :func:`table_file_split`) unless its rows have a ``split`` column. Without
    ``--id-column`` ids are row numbers, training files first."""
    root = Path(root)
    files = sorted((f for f in root.rglob("*") if f.is_file() and not f.name.startswith(".")
                    and (f.suffix.lower() in TABLE_SUFFIXES or is_fasttext_file(f))),
                   key=lambda f: (table_file_split(f, root) != "train", str(f)))
    if not files:
        raise CorpusError(f"no .jsonl, .csv, .tsv or .parquet tables in {root}")
    rows: list[dict] = []
    file_splits: list[str] = []
    columns = None
    for f in files:
        part = read_table_rows(f)
        if part and columns is None:
            columns = (f, list(part[0].keys()))
        elif part and set(part[0].keys()) != set(columns[1]):
            raise CorpusError(f"{f}: columns {list(part[0].keys())} differ from "
                              f"{columns[0].name}'s {columns[1]}; the folder's tables must "
                              "share their columns")
        rows += part
        file_splits += [table_file_split(f, root)] * len(part)
    return _rows_to_corpus(rows, str(root), text_column, label_column, id_column, file_splits)


# --- Reuters-21578 --------------------------------------------------------------------

_DOC = re.compile(rb"<REUTERS(?P<attrs>[^>]*)>(?P<body>.*?)</REUTERS>", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_TOPICS = re.compile(rb"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(rb"<D>(.*?)</D>", re.S)
_TITLE = re.compile(rb"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(rb"<BODY>(.*?)</BODY>", re.S)


def _clean(raw: bytes) -> str:
    text = raw.decode("latin-1")
    text = re.sub(r"&#\d+;", " ", text)          # control characters the SGML escapes
    return html.unescape(text).strip()


def parse_reuters_sgml(data: bytes, docs: list) -> None:
    """Append the ModApte documents of one ``reut2-*.sgm`` file to ``docs``.

    ModApte: ``TOPICS="YES"``, ``LEWISSPLIT`` TRAIN or TEST, at least one topic;
    text = TITLE + BODY. Over the 22 files this gives 7,775 train and 3,019 test documents.
    """
    for m in _DOC.finditer(data):
        attrs = dict(_ATTR.findall(m.group("attrs")))
        split = attrs.get(b"LEWISSPLIT", b"").decode("latin-1").lower()
        if attrs.get(b"TOPICS") != b"YES" or split not in SPLITS:
            continue
        body = m.group("body")
        topics_m = _TOPICS.search(body)
        topics = [_clean(t) for t in _D.findall(topics_m.group(1))] if topics_m else []
        if not topics:
            continue
        title = _TITLE.search(body)
        text = _BODY.search(body)
        title = _clean(title.group(1)) if title else ""
        try:
            newid = int(attrs[b"NEWID"])
        except (KeyError, ValueError):
            raise CorpusError(f"Reuters document without a numeric NEWID (near byte "
                              f"{m.start()}); the SGML file is damaged") from None
        docs.append((newid, title, title + "\n" + (_clean(text.group(1))
                                                                   if text else ""),
                     topics, split))


def read_reuters(path: Path) -> Corpus:
    """Reuters-21578 as ``.sgm`` file(s), a folder of them, or the distribution ``.tar.gz``."""
    path = Path(path)
    docs: list = []
    try:
        if path.is_dir():
            files = sorted(path.glob("*.sgm"))
            for f in files:
                parse_reuters_sgml(f.read_bytes(), docs)
        elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
            try:
                with tarfile.open(path) as tar:
                    members = sorted((m for m in tar.getmembers()
                                      if m.isfile() and m.name.endswith(".sgm")),
                                     key=lambda m: m.name)
                    files = members
                    for m in members:
                        parse_reuters_sgml(tar.extractfile(m).read(), docs)
            except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as e:
                raise CorpusError(f"{path}: not a readable tar archive ({e}); re-download "
                                  "the Reuters-21578 distribution") from None
        else:
            files = [path]
            parse_reuters_sgml(path.read_bytes(), docs)
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    if not files:
        raise CorpusError(f"{path}: no reut2-*.sgm files found; point at the Reuters-21578 "
                          "folder or its .tar.gz")
    if not docs:
        raise CorpusError(f"{path}: no ModApte documents (TOPICS=\"YES\", LEWISSPLIT TRAIN/TEST "
                          "with a topic) found; is this Reuters-21578 SGML?")
    docs.sort(key=lambda d: d[0])
    ids, titles, texts, labels, splits = (list(x) for x in zip(*docs))
    return Corpus(TEXT, ids, texts, labels, splits, titles, str(path),
                  {"collection": "reuters21578-modapte"})
