"""Reading tables into corpora: a table file, or a folder of them, of documents or of
encoded images (as the Hugging Face Hub publishes image sets)."""

from __future__ import annotations

from pathlib import Path

from ..errors import CorpusError
from .corpus import Corpus
from .image_tables import embedded_image_column, embedded_images_corpus
from .vectors import find_embedding_column, vector_rows_corpus
from .tables import TABLE_SUFFIXES, is_lines_table, read_table_rows, table_file_split, \
    text_rows_corpus


def rows_to_corpus(rows: list[dict], source: str, text_column, label_column, id_column,
                   file_splits: list[str] | None = None, folder: Path | None = None,
                   embedding_column=None) -> Corpus:
    """A corpus of a table's rows: vectors when a column holds embeddings (named, or named
    as embeddings are, see :func:`~hashret.data.vectors.find_embedding_column`), images when
    one holds encoded images (and no text column is named), else documents."""
    if not rows:
        raise CorpusError(f"{source} holds no rows: give a table with at least one document")
    vector_col = find_embedding_column(rows, embedding_column, source) \
        if text_column is None or embedding_column is not None else None
    if vector_col is not None:
        return vector_rows_corpus(rows, source, vector_col, label_column, id_column,
                                  file_splits, folder)
    image_col = embedded_image_column(rows) if text_column is None else None
    if image_col is not None:
        return embedded_images_corpus(rows, source, image_col, label_column, id_column,
                                      file_splits, folder)
    return text_rows_corpus(rows, source, text_column, label_column, id_column, file_splits,
                            folder)


def read_table(path: Path, text_column=None, label_column=None, id_column=None,
               embedding_column=None) -> Corpus:
    """A ``.jsonl``, ``.json``, ``.csv``, ``.tsv`` or ``.parquet`` table with one document per
    row.

    Columns default to ``text``, ``label``/``labels`` and the row number as id; a ``split``
    column with ``train``/``test`` values is honoured; a list-valued label column is
    multi-label.
    """
    path = Path(path)
    return rows_to_corpus(read_table_rows(path), str(path), text_column, label_column, id_column,
                          folder=path.parent, embedding_column=embedding_column)


def read_table_folder(root: Path, text_column=None, label_column=None,
                      id_column=None, embedding_column=None) -> Corpus:
    """A folder of ``.jsonl`` / ``.csv`` / ``.parquet`` tables of the same columns, as a
    dataset hub lays out its splits (``train.csv`` and ``test.csv``, or
    ``data/train-00000-of-00001.parquet``): the split comes from each file's name (see
    :func:`table_file_split`) unless its rows have a ``split`` column. Without
    ``id_column`` ids are row numbers, training files first."""
    root = Path(root)
    files = sorted((f for f in root.rglob("*") if f.is_file() and not f.name.startswith(".")
                    and (f.suffix.lower() in TABLE_SUFFIXES or is_lines_table(f))),
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
    return rows_to_corpus(rows, str(root), text_column, label_column, id_column, file_splits,
                          root, embedding_column)
