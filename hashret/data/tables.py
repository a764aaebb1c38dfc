"""Documents as table rows: JSONL, JSON, CSV / TSV (any separator, with or without a
header row), Parquet, fastText's one document per line, and folders of such tables split
by file name, as dataset hubs publish them."""

from __future__ import annotations

import ast
import csv
import io
import json
import logging
import re
import sys
from pathlib import Path

from ..errors import CorpusError, UsageError
from .corpus import TEXT, Corpus, named_split
from .text import decode_text, text_title

log = logging.getLogger("hashret")


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
        split = str(row.get("split") or (file_splits[i] if file_splits else "train"))
        splits.append(named_split(split) or "train")     # "testing" too; "valid" is train
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
    """``test`` for a table whose file name (or a folder between it and ``root``) names the
    test split (:func:`named_split`: ``test.csv``, ``test-00000-of-00001.parquet``,
    ``dbpedia_test.csv``, ``testing/part-0.jsonl``; not ``testimony.csv``), else ``train``:
    training and validation files alike, since a validation part for early stopping is
    carved from the training split anyway."""
    parts = path.relative_to(root).parts
    return "test" if any(named_split(q) == "test" for q in parts) else "train"


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
