"""Documents as table rows: JSONL, JSON, CSV / TSV (any separator, with or without a
header row), Parquet, fastText's one document per line, and folders of such tables split
by file name, as dataset hubs publish them."""

from __future__ import annotations

import ast
import csv
import io
import itertools
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


def _is_number(cell) -> bool:
    try:
        float(cell)
        return True
    except (TypeError, ValueError):
        return False


def _headerless_columns(rows: list[dict], source: str, label_column):
    """``(text columns, label column)`` of a table without a header row when none were
    named: the first column is the label when its values are single words (or numbers)
    repeated over the rows (a class: AG News' 1-4, R8's ``earn``); every other column that
    mostly holds words, not numbers, is text, joined in order (AG News' title and
    description)."""
    sample = rows[:2_000]
    columns = list(rows[0].keys())
    if label_column is None:
        first = [str(r.get("1") or "").strip() for r in sample]
        classes = set(first)
        if len(columns) > 1 and all(v and " " not in v and len(v) <= 40 for v in first) and \
                len(classes) <= max(2, len(sample) // 4):     # R52: 52 classes in 6,532
            label_column = "1"
    text = [c for c in columns if c != label_column and
            sum(not _is_number(r.get(c)) and bool(str(r.get(c) or "").strip())
                for r in sample) > len(sample) / 2]
    if not text:
        return None, label_column
    log.info("%s: no header row; reading column%s %s as the text%s (name others with "
             "{text_column} and {label_column})", source, "s" * (len(text) > 1),
             ",".join(text), f" and column {label_column} as the label" if label_column
             else "")
    return ",".join(text), label_column


def row_split(row: dict, default: str) -> str:
    """A table row's split: its ``split`` column, else ``default`` (its file's), read by
    :func:`named_split` (``testing`` is test; ``valid`` and anything else train)."""
    return named_split(str(row.get("split") or default)) or "train"


def text_rows_corpus(rows: list[dict], source: str, text_column, label_column,
                     id_column, file_splits: list[str] | None = None,
                     folder: Path | None = None) -> Corpus:
    """A corpus of documents, one per table row (see :func:`read_table_rows`)."""
    columns = list(rows[0].keys())
    if columns == [str(i + 1) for i in range(len(columns))] and text_column is None:
        text_column, label_column = _headerless_columns(rows, source, label_column)
    if text_column is None:
        text_column = next((c for c in ("text", "body", "content", "document") if c in columns),
                           None)
        if text_column is None:
            raise UsageError(f"{source}: no 'text' column among {columns}; name the column "
                             "(or columns, joined: title,description) with {text_column}",
                             option="text_column")
    # several text columns, comma-separated: a title and a body read as one document
    text_columns = [text_column] if text_column in columns else text_column.split(",")
    check_columns(source, columns, text_column=text_columns, label_column=[label_column],
                  id_column=[id_column])
    labels, splits = row_labels_and_splits(rows, columns, label_column, file_splits, folder)
    texts, titles = [], []
    for row in rows:
        texts.append("\n".join(str(row[c]) for c in text_columns if row.get(c) is not None))
        title = row.get("title")
        titles.append(str(title) if title else text_title(texts[-1]))
    ids, id_meta = row_ids(rows, columns, id_column, source)
    return Corpus(TEXT, ids, texts, labels, splits, titles, source, id_meta)


def check_columns(source: str, columns: list, **named: list) -> None:
    """Refuse a column named for an option (``label_column=[name]``, ...) that the table
    does not have."""
    for name, cols in named.items():
        for col in cols:
            if col is not None and col not in columns:
                raise UsageError(f"{source}: {{{name}:{col}}} is not a column; columns are "
                                 f"{columns}", option=name)


def row_labels_and_splits(rows: list[dict], columns, label_column: str | None,
                          file_splits: list[str] | None, folder: Path | None):
    """Each row's labels (``label_column``, else a ``labels`` or ``label`` column; class
    numbers named by the folder's dataset card) and split (:func:`row_split`)."""
    if label_column is None:
        label_column = next((c for c in ("labels", "label") if c in columns), None)
    classes = class_names(folder).get(label_column, []) if label_column else []
    labels = [named_classes(label_list(r.get(label_column)), classes) if label_column else []
              for r in rows]
    splits = [row_split(r, file_splits[i] if file_splits else "train")
              for i, r in enumerate(rows)]
    return labels, splits


def row_ids(rows: list[dict], columns, id_column: str | None, source: str) -> tuple[list, dict]:
    """The ids of a table's rows: ``id_column``'s values; without it, an ``id`` column's
    when every row has one and no two are equal (a column that cannot name every row
    unambiguously is data, not an id); else the row numbers. Also the corpus meta that
    records the column the ids came from (none for row numbers)."""
    def values(col):
        got = [row.get(col) for row in rows]
        return [i if isinstance(i, int) and not isinstance(i, bool) else
                None if i is None else str(i) for i in got]

    if id_column is not None:
        ids = values(id_column)
        if any(i is None for i in ids):
            raise CorpusError(f"{source}: some rows have no value in id column {id_column!r}; "
                              "fill it or drop {id_column}")
        return ids, {"id_column": id_column}
    if "id" in columns:
        ids = values("id")
        if None not in ids and len(set(ids)) == len(ids):
            return ids, {"id_column": "id"}
        log.info("%s: the 'id' column has missing or repeated values; items are numbered by "
                 "row (name an id column with {id_column})", source)
    return list(range(len(rows))), {}


# .arrow: the Arrow files a Hugging Face dataset's save_to_disk writes
# (train/data-00000-of-00001.arrow)
TABLE_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet", ".arrow")
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


def _tab_separated(text: str) -> bool:
    """Every non-blank line holds a tab: a table without a header row (``earn<TAB>champion
    products ...``, as the R8, R52 and WebKB sets of preprocessed documents ship), not
    one document per line."""
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and not lines[0].startswith(FASTTEXT_LABEL) and \
        all("\t" in line for line in lines)


def _tab_rows(path: Path, text: str) -> list[dict]:
    """The lines of a tab-separated ``.txt`` file as rows keyed by column number; quotes are
    text, as in the documents themselves."""
    cells = [line.split("\t") for line in text.splitlines() if line.strip()]
    width = max(map(len, cells))
    log.info("%s: tab-separated lines, read as a table of %d columns without a header row",
             path.name, width)
    return [{str(i + 1): (row[i] if i < len(row) else "") for i in range(width)}
            for row in cells]


def is_lines_table(path: Path) -> bool:
    """A ``.txt`` file that is a table rather than a document: its first line opens with a
    fastText label, or its first lines are all tab-separated (:func:`_tab_separated`)."""
    if Path(path).suffix.lower() != LINES_SUFFIX:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 14)
    except OSError:
        return False
    if head.startswith(FASTTEXT_LABEL.encode()):
        return True
    lines = head.split(b"\n")
    lines = [line for line in (lines[:-1] or lines) if line.strip()][:5]   # whole lines
    return bool(lines) and all(b"\t" in line for line in lines)


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
        head = list(itertools.islice(csv.reader(io.StringIO(text, newline=""),
                                                delimiter=delimiter), 1_000))
        first = head[0] if head else []
        names = None
        if _is_data_row(first, head[1:]):
            names = [str(i + 1) for i in range(len(first))]
            log.info("%s has no header row: its columns are numbered 1 to %d", path.name,
                     len(first))
        return list(csv.DictReader(io.StringIO(text, newline=""), fieldnames=names,
                                   delimiter=delimiter))
    except csv.Error as e:
        raise CorpusError(f"{path}: not a valid CSV file ({e}); check the quoting") from None


HEADER_MAX_WORDS = 6
_KNOWN_COLUMNS = {"text", "body", "content", "document", "label", "labels", "id", "split",
                  "title", "class", "category", "target"}


def _is_data_row(cells: list[str], rest: list[list[str]]) -> bool:
    """A first row of data, not column names (``rest``: the rows after it): it holds no
    column name hashret knows, and either a bare number, or a sentence (more words than a
    column name has) beside a first cell that the first column repeats below, as a class
    does (``earn``; a spreadsheet's header of questions, ``Timestamp,How did you ...``,
    names its first column once)."""
    names = {c.strip().lower() for c in cells}
    if not cells or names & _KNOWN_COLUMNS:
        return False
    if any(_is_number(c.strip()) for c in cells):
        return True
    return any(len(c.split()) > HEADER_MAX_WORDS for c in cells) and \
        any(row[:1] == cells[:1] for row in rest)


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
            text = decode_text(path.read_bytes())
            return _tab_rows(path, text) if _tab_separated(text) else _line_rows(text)
        if suffix in (".csv", ".tsv"):
            return _csv_rows(path, decode_text(path.read_bytes()), suffix)
        if suffix == ".parquet":
            import pyarrow.parquet as pq
            try:
                return pq.read_table(path).to_pylist()
            except Exception as e:  # noqa: BLE001 - Arrow raises many kinds on bad bytes
                raise CorpusError(f"{path}: not a readable Parquet file ({str(e)[:120]})") \
                    from None
        if suffix == ".arrow":
            return _arrow_rows(path)
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    raise CorpusError(f"{path}: unknown table type {suffix!r}; use .jsonl, .json, .csv, .tsv, "
                      ".parquet or .txt (one document per line)")


def _arrow_rows(path: Path) -> list[dict]:
    """An Arrow IPC file, in the streaming form (save_to_disk's) or the file form."""
    import pyarrow as pa
    errors = []
    for open_ in (pa.ipc.open_stream, pa.ipc.open_file):
        try:
            with pa.memory_map(str(path)) as source:
                return open_(source).read_all().to_pylist()
        except (pa.ArrowInvalid, pa.ArrowException, ValueError) as e:
            errors.append(str(e)[:80])
    raise CorpusError(f"{path}: not a readable Arrow file ({errors[-1]}); save the dataset "
                      "again, or as Parquet")


def class_names(folder: Path | None) -> dict[str, list[str]]:
    """Class names by column, for tables that store class numbers: from the dataset card's
    YAML (``README.md`` in or up to two folders above ``folder``: ``- name: label`` ...
    ``class_label: names: '0': World``), as the Hugging Face Hub writes it, or from a
    ``dataset_info.json`` in ``folder`` or its split folders (``"features": {"label":
    {"names": [...]}}``), as a dataset's save_to_disk writes it."""
    if folder is None:
        return {}
    folder = Path(folder)
    for info in [folder / "dataset_info.json", *sorted(folder.glob("*/dataset_info.json"))]:
        try:
            features = json.loads(info.read_text(encoding="utf-8")).get("features") or {}
        except (OSError, ValueError, AttributeError):      # absent, or not what we know
            continue
        found = {k: [str(n) for n in v["names"]] for k, v in features.items()
                 if isinstance(v, dict) and isinstance(v.get("names"), list)}
        if found:
            return found
    card = next((c / "README.md" for c in (folder, *folder.parents[:2])
                 if (c / "README.md").is_file()), None)
    if card is None:
        return {}
    names: dict[str, dict[int, str]] = {}
    feature = None
    for line in card.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := re.match(r"\s*- name: (\S+)\s*$", line):
            feature = m.group(1)
        elif feature and (m := re.match(r"\s+'?(\d+)'?: (.+?)\s*$", line)):
            names.setdefault(feature, {})[int(m.group(1))] = m.group(2).strip("'\"")
        elif line.startswith("---") and names:
            break                                             # the end of the card's YAML
    return {f: [n[k] for k in sorted(n)] for f, n in names.items()
            if sorted(n) == list(range(len(n)))}


def named_classes(values: list[str], classes: list[str]) -> list[str]:
    """Class numbers as the names ``classes`` gives them; -1, the Hub's "no label", dropped."""
    if not classes:
        return values
    return [classes[int(v)] if v.isdigit() and int(v) < len(classes) else v
            for v in values if v != "-1"]


def table_file_split(path: Path, root: Path) -> str:
    """``test`` for a table whose file name (or a folder between it and ``root``) names the
    test split (:func:`named_split`: ``test.csv``, ``test-00000-of-00001.parquet``,
    ``dbpedia_test.csv``, ``testing/part-0.jsonl``; not ``testimony.csv``), else ``train``:
    training and validation files alike, since a validation part for early stopping is
    carved from the training split anyway."""
    parts = path.relative_to(root).parts
    return "test" if any(named_split(q) == "test" for q in parts) else "train"
